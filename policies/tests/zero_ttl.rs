//! A zero TTL is refused with a typed error, as the byte map and the lock table refuse
//! it: accepted, the entry would be dead on arrival, and on a full cache it would push
//! out a live entry to make room for itself.

use std::time::Duration;

use polycache_policies::{InsertError, Lru, ManualClock, Policy, Prefix, TtlError};

#[test]
fn a_zero_ttl_insert_is_refused_and_evicts_nothing() {
    let clock = ManualClock::new();
    clock.advance(Duration::from_nanos(1024)); // on a tick boundary
    let mut c = Lru::<u8, u8>::builder(1)
        .clock(clock.clone())
        .build()
        .unwrap();
    c.insert(1, 1).unwrap();
    let err = c.insert_with_ttl(2, 2, Duration::ZERO).unwrap_err();
    assert!(matches!(err, InsertError::ZeroTtl { key: 2, value: 2 }));
    assert_eq!(format!("{err:?}"), "ZeroTtl { .. }");
    assert_eq!(err.to_string(), "ttl must be greater than zero");
    assert_eq!(err.into_entry(), (2, 2));
    assert_eq!(c.get(&1), Some(&1));
    assert_eq!(c.len(), 1);
    // A replace with a zero TTL is refused too: the old value stays, with its TTL.
    c.insert_with_ttl(1, 3, Duration::from_secs(5)).unwrap();
    let left = c.ttl(&1);
    assert!(matches!(
        c.insert_with_ttl(1, 4, Duration::ZERO),
        Err(InsertError::ZeroTtl { key: 1, value: 4 })
    ));
    assert_eq!(c.peek(&1), Some(&3));
    assert_eq!(c.ttl(&1), left);
    c.validate().unwrap();
    // The smallest TTL there is still lives until the clock moves.
    c.insert_with_ttl(2, 2, Duration::from_nanos(1)).unwrap();
    assert_eq!(c.get(&2), Some(&2));
}

#[test]
fn a_zero_ttl_through_insert_hashed_into_leaves_out_unchanged() {
    let mut c = Prefix::<Vec<u8>, u8>::new(1).unwrap();
    c.insert(b"a:1".to_vec(), 1).unwrap();
    let mut out = polycache_policies::Evictions::new();
    let h = c.hash(b"b:1".as_slice());
    let r = c.insert_hashed_into(h, b"b:1".to_vec(), 2, Some(Duration::ZERO), &mut out);
    assert!(matches!(r, Err(InsertError::ZeroTtl { .. })));
    assert!(out.is_empty());
    assert!(c.contains(b"a:1".as_slice()));
    c.validate().unwrap();
}

#[test]
fn set_ttl_of_zero_is_refused_and_keeps_the_entry() {
    let clock = ManualClock::new();
    let mut c = Lru::<u8, u8>::builder(4)
        .clock(clock.clone())
        .build()
        .unwrap();
    c.insert(1, 1).unwrap();
    assert_eq!(c.set_ttl(&1, Some(Duration::ZERO)), Err(TtlError::Zero));
    assert_eq!(TtlError::Zero.to_string(), "ttl must be greater than zero");
    assert_eq!(c.ttl(&1), Some(None));
    assert_eq!(c.get(&1), Some(&1));
    // Bad input is refused for an absent key too.
    assert_eq!(c.set_ttl(&9, Some(Duration::ZERO)), Err(TtlError::Zero));
    c.validate().unwrap();
}
