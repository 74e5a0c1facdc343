//! loom models of `ByteMap`: every interleaving (up to a preemption bound) of the real
//! map code, with loom's Mutex swapped in by the crate's sync shim.
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --test loom_bytemap
//! ```
//!
//! The preemption bound is 2 unless `LOOM_MAX_PREEMPTIONS` says otherwise.
#![cfg(loom)]

use loom::thread;
use polycache::ManualClock;
use polycache::bytemap::{ByteMap, ByteMapError, Entry};
use polycache::policies::PrefixOrder;

mod loom_support;

/// Every interleaving up to the preemption bound (2 by default).
fn model<F: Fn() + Sync + Send + 'static>(f: F) {
    loom_support::model(2, f);
}

fn lru(shards: usize) -> ByteMap<polycache::policies::LruOrder, ManualClock> {
    ByteMap::builder(4096)
        .clock(ManualClock::new())
        .shards(shards)
        .seed(5)
        .build()
        .unwrap()
}

/// A one-shard Lru map holding `k` = "old", and a thread writing `k` = "new" with
/// `insert_slice` (its result is what the thread returns).
fn old_and_a_writer_of_new() -> (
    ByteMap<polycache::policies::LruOrder, ManualClock>,
    thread::JoinHandle<Result<bool, ByteMapError>>,
) {
    let map = lru(1);
    map.insert_slice(b"k", b"old").unwrap();
    let writer = {
        let map = map.clone();
        thread::spawn(move || map.insert_slice(b"k", b"new"))
    };
    (map, writer)
}

/// `remove_prefix` racing an insert into the same group: whatever the order, no entry
/// written before the removal survives it; the racing insert is either removed with the
/// group (it came first) or stays (it came after); the group never straddles shards.
#[test]
fn remove_prefix_races_an_insert_into_the_group() {
    model(|| {
        let map = ByteMap::builder(4096)
            .policy(PrefixOrder::default())
            .clock(ManualClock::new())
            .shards(2)
            .seed(5)
            .build()
            .unwrap();
        map.insert_slice(b"t:1:a", b"old").unwrap();
        map.insert_slice(b"t:1:b", b"old").unwrap();
        map.insert_slice(b"t:2:a", b"other").unwrap();
        let writer = {
            let map = map.clone();
            thread::spawn(move || {
                map.insert_slice(b"t:1:c", b"new").unwrap();
            })
        };
        let removed = map.remove_prefix(b"t:1:");
        writer.join().unwrap();
        assert!(!map.contains_key(b"t:1:a") && !map.contains_key(b"t:1:b"));
        let survived = map.contains_key(b"t:1:c");
        // 2 removed: the insert came after (and survives); 3: it came before.
        assert_eq!(
            (removed, survived),
            if removed == 3 { (3, false) } else { (2, true) }
        );
        assert!(map.contains_key(b"t:2:a"));
        map.validate().unwrap();
    });
}

/// `get_mut` racing an insert of the same key: the in-place change applies to the value
/// it found, and the insert is never lost: "new" (the insert came last) or "new+" (the
/// change came last, on the inserted value). Never "old+".
#[test]
fn get_mut_races_an_insert() {
    model(|| {
        let (map, writer) = old_and_a_writer_of_new();
        let changed = map.get_mut(b"k", |v| v.extend_from_slice(b"+")).unwrap();
        assert_eq!(writer.join().unwrap(), Ok(true));
        assert_eq!(changed, Some(()));
        let v = map.get_owned(b"k").unwrap();
        assert!(&v[..] == b"new" || &v[..] == b"new+", "saw {v:?}");
        map.validate().unwrap();
    });
}

/// `insert_slice` of a value of the stored one's length (which it writes into the old
/// buffer when no reader holds it) racing a reader that keeps what it got: the reader
/// sees "old" or "new", whole, and its bytes never change after it got them, whichever
/// came first. The map ends with "new".
#[test]
fn an_in_place_write_races_a_reader() {
    model(|| {
        let (map, writer) = old_and_a_writer_of_new();
        let got = map.get_owned(b"k").unwrap();
        let first = got.to_vec();
        assert!(first == b"old" || first == b"new", "saw {first:?}");
        assert_eq!(writer.join().unwrap(), Ok(true));
        assert_eq!(got[..], first[..], "a value changed in its reader's hands");
        assert_eq!(map.get_owned(b"k").as_deref(), Some(&b"new"[..]));
        map.validate().unwrap();
    });
}

/// An entry (append if present, else create) racing an insert of the same key: the
/// check and the act are atomic, so the result is "ins" (entry first, then the insert)
/// or "ins!" (insert first, then the entry appended), never "mine" or "mine!".
#[test]
fn entry_races_an_insert() {
    model(|| {
        let map = lru(2);
        let writer = {
            let map = map.clone();
            thread::spawn(move || {
                map.insert_slice(b"k", b"ins").unwrap();
            })
        };
        map.entry(b"k", |e| match e {
            Entry::Occupied(o) => o.modify(|v| v.extend_from_slice(b"!")).map(|_| ()),
            Entry::Vacant(v) => v.insert(b"mine".to_vec(), None),
        })
        .unwrap();
        writer.join().unwrap();
        let v = map.get_owned(b"k").unwrap();
        assert!(&v[..] == b"ins" || &v[..] == b"ins!", "saw {v:?}");
        assert_eq!(map.len(), 1);
        map.validate().unwrap();
    });
}

/// Two `try_insert`s of one key: exactly one wins, and its value is the one stored.
#[test]
fn try_insert_once() {
    model(|| {
        let map = lru(1);
        let other = {
            let map = map.clone();
            thread::spawn(move || map.try_insert(b"k", b"b".to_vec(), None).unwrap())
        };
        let mine = map.try_insert(b"k", b"a".to_vec(), None).unwrap();
        let theirs = other.join().unwrap();
        assert!(mine ^ theirs);
        let want: &[u8] = if mine { b"a" } else { b"b" };
        assert_eq!(map.get_owned(b"k").as_deref(), Some(want));
    });
}
