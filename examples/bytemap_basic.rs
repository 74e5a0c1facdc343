//! ByteMap basics: byte keys, refcounted values, the entry API, statistics.
//!
//! ```text
//! cargo run --example bytemap_basic
//! ```

use polycache::bytemap::{ByteMap, Bytes, Entry};

fn main() -> Result<(), polycache::ByteMapError> {
    // A 1 MiB budget; LRU by default. Clones share the store.
    let map = ByteMap::builder(1 << 20).build()?;

    map.insert_slice(b"greeting", b"hello")?;
    map.insert(b"static", Bytes::from_static(b"no copy at all"))?;

    // `get_owned` hands out a refcounted handle (no copy of the bytes).
    let v = map.get_owned(b"greeting").expect("just inserted");
    println!("greeting = {}", String::from_utf8_lossy(&v));

    // A borrowed look, under the shard lock, for callers who need no handle.
    let len = map.get_with(b"static", |v| v.len());
    println!("static is {len:?} bytes");

    // `try_insert` writes only if absent (SET NX).
    assert!(!map.try_insert(b"greeting", b"ignored".to_vec(), None)?);

    // In-place change: the closure edits a copy, which is written back and re-weighed.
    map.get_mut(b"greeting", |v| v.extend_from_slice(b", world"))?;

    // The entry API: look and act atomically.
    for word in ["a", "b", "c"] {
        map.entry(b"letters", |e| match e {
            Entry::Occupied(o) => o
                .modify(|v| v.extend_from_slice(word.as_bytes()))
                .map(|_| ()),
            Entry::Vacant(v) => v.insert(word.as_bytes().to_vec(), None),
        })?;
    }
    println!(
        "letters = {}",
        String::from_utf8_lossy(&map.get_owned(b"letters").unwrap_or_default())
    );

    assert_eq!(
        map.remove(b"static").as_deref(),
        Some(&b"no copy at all"[..])
    );
    let s = map.stats();
    println!(
        "{} entries, {} bytes of {}; hits {} misses {}",
        map.len(),
        map.weight(),
        map.budget(),
        s.hits,
        s.misses
    );
    Ok(())
}
