//! Bad input to `ByteMap` gets a typed error (or a documented answer), never a panic,
//! and a refused write leaves the map unchanged.

use polycache::BuildError;
use polycache::bytemap::{ByteMap, ByteMapError, ENTRY_OVERHEAD, Entry};

fn map() -> ByteMap {
    ByteMap::builder(4096).shards(2).seed(1).build().unwrap()
}

#[test]
fn bad_configurations_are_refused() {
    let err = |r: Result<ByteMap, ByteMapError>| r.unwrap_err();
    assert_eq!(
        err(ByteMap::builder(0).build()),
        ByteMapError::Build(BuildError::ZeroCapacity)
    );
    assert_eq!(
        err(ByteMap::builder(100).shards(3).build()),
        ByteMapError::Build(BuildError::ShardCount(3))
    );
    assert_eq!(
        err(ByteMap::builder(2).shards(4).build()),
        ByteMapError::Build(BuildError::CapacityBelowShards {
            capacity: 2,
            shards: 4
        })
    );
}

#[test]
fn empty_keys_and_values_are_allowed() {
    let m = map();
    m.insert_slice(b"", b"").unwrap();
    assert_eq!(m.get_owned(b"").as_deref(), Some(&b""[..]));
    assert_eq!(m.weight(), ENTRY_OVERHEAD);
    assert_eq!(m.remove(b"").as_deref(), Some(&b""[..]));
}

#[test]
fn too_large_is_refused_on_every_write_path_and_changes_nothing() {
    let m = map();
    m.insert_slice(b"k", b"small").unwrap();
    let max = m.max_entry_bytes();
    // 4096 less its reserve of 256, over 2 shards.
    assert_eq!(max, (4096 - 256) / 2);
    let big = vec![0u8; max as usize];
    let want = ByteMapError::TooLarge {
        weight: 1 + max + ENTRY_OVERHEAD,
        max,
    };
    assert_eq!(m.insert_slice(b"k", &big), Err(want.clone()));
    assert_eq!(m.insert(b"k", big.clone()), Err(want.clone()));
    assert_eq!(m.insert_with_ttl(b"k", big.clone(), 10), Err(want.clone()));
    assert_eq!(m.try_insert(b"x", big.clone(), None), Err(want.clone()));
    let p = m.prepare_key(b"k");
    assert_eq!(m.insert_prepared(&p, big.clone(), None), Err(want.clone()));
    // An in-place change that grows too much keeps the old value.
    let grown = m.get_mut(b"k", |v| v.extend_from_slice(&big));
    assert!(matches!(grown, Err(ByteMapError::TooLarge { .. })));
    let via_entry = m.entry(b"k", |e| match e {
        Entry::Occupied(o) => o.insert(big.clone(), None).map(|_| ()),
        Entry::Vacant(v) => v.insert(big.clone(), None),
    });
    assert_eq!(via_entry, Err(want));
    assert_eq!(m.get_owned(b"k").as_deref(), Some(&b"small"[..]));
    assert_eq!(m.len(), 1);
    // A value of u32::MAX bytes and more cannot even be weighed: refused, not wrapped.
    assert!(m.max_entry_bytes() <= u64::from(u32::MAX));
    m.validate().unwrap();
}

#[test]
fn zero_and_overflowing_ttls_are_refused() {
    let m = map();
    assert_eq!(
        m.insert_with_ttl(b"k", b"v".to_vec(), 0),
        Err(ByteMapError::ZeroTtl)
    );
    assert_eq!(
        m.try_insert(b"k", b"v".to_vec(), Some(0)),
        Err(ByteMapError::ZeroTtl)
    );
    assert!(m.is_empty());
    assert_eq!(
        m.insert_with_ttl(b"k", b"v".to_vec(), u64::MAX),
        Err(ByteMapError::TtlOverflow(u64::MAX))
    );
    assert!(m.is_empty());
    m.insert_slice(b"k", b"v").unwrap();
    assert_eq!(m.expire(b"k", 0), Err(ByteMapError::ZeroTtl));
    assert_eq!(
        m.expire(b"k", u64::MAX),
        Err(ByteMapError::TtlOverflow(u64::MAX))
    );
    assert_eq!(m.ttl(b"k"), Some(None));
    // The largest TTL that fits is accepted.
    assert_eq!(m.expire(b"k", 365 * 24 * 3600 * 1000 * 500), Ok(true));
    assert!(!m.persist(b"absent"));
}

#[test]
fn a_prepared_key_from_another_map_is_routed_again() {
    let a = ByteMap::builder(1 << 20)
        .shards(64)
        .seed(1)
        .build()
        .unwrap();
    let b = ByteMap::builder(1 << 20)
        .shards(64)
        .seed(2)
        .build()
        .unwrap();
    for i in 0..200u32 {
        let k = i.to_le_bytes();
        let pa = a.prepare_key(&k);
        b.insert_prepared(&pa, k.to_vec(), None).unwrap();
        assert_eq!(b.get_owned(&k).as_deref(), Some(&k[..]));
        assert_eq!(b.get_owned_prepared(&pa).as_deref(), Some(&k[..]));
    }
    b.validate().unwrap();
}
