//! Bad input gets a typed error and leaves the cache unchanged; nothing panics.

use std::time::Duration;

use polycache_policies::{
    ConfigError, EvictionCause, Evictions, InsertError, Lfu, Lru, ManualClock, Policy, Ttl,
    TtlError,
};

#[test]
fn zero_capacity_is_a_config_error_for_every_policy() {
    assert_eq!(Lru::<u8, u8>::new(0).err(), Some(ConfigError::ZeroCapacity));
    assert_eq!(Lfu::<u8, u8>::new(0).err(), Some(ConfigError::ZeroCapacity));
    assert_eq!(Ttl::<u8, u8>::new(0).err(), Some(ConfigError::ZeroCapacity));
}

#[test]
fn an_overweight_entry_is_handed_back_and_changes_nothing() {
    let mut cache = Lru::<u32, Vec<u8>>::builder(10)
        .weigher(|_: &u32, v: &Vec<u8>| v.len() as u64)
        .build()
        .unwrap();
    cache.insert(1, vec![1; 4]).unwrap();
    let err = cache.insert(2, vec![2; 11]).unwrap_err();
    assert!(matches!(
        err,
        InsertError::Overweight {
            weight: 11,
            capacity: 10,
            ..
        }
    ));
    assert_eq!(err.into_entry(), (2, vec![2; 11]));
    // A replace that would be overweight is refused too, and the old value stays.
    assert!(cache.insert(1, vec![9; 11]).is_err());
    assert_eq!(cache.peek(&1), Some(&vec![1; 4]));
    assert_eq!((cache.len(), cache.weight()), (1, 4));
    cache.validate().unwrap();
}

#[test]
fn a_refused_insert_leaves_the_callers_buffer_as_it_was() {
    let mut cache = Lru::<u32, Vec<u8>>::builder(10)
        .weigher(|_: &u32, v: &Vec<u8>| v.len() as u64)
        .build()
        .unwrap();
    let mut out = Evictions::new();
    cache
        .insert_hashed_into(cache.hash(&1), 1, vec![1; 6], None, &mut out)
        .unwrap();
    cache
        .insert_hashed_into(cache.hash(&2), 2, vec![2; 6], None, &mut out)
        .unwrap();
    let refusals = [(vec![3; 11], None), (vec![3; 1], Some(Duration::MAX))];
    for (value, ttl) in refusals {
        let err = cache
            .insert_hashed_into(cache.hash(&3), 3, value.clone(), ttl, &mut out)
            .unwrap_err();
        assert_eq!(err.into_entry(), (3, value));
    }
    // Only the one eviction the second write made: kept, nothing added.
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].key, out[0].cause), (1, EvictionCause::Capacity));
    assert_eq!((cache.len(), cache.weight()), (1, 6));
    cache.validate().unwrap();
}

#[test]
fn a_ttl_past_the_clocks_range_is_refused_not_wrapped() {
    let clock = ManualClock::new();
    clock.advance(Duration::from_secs(1));
    let mut cache = Lru::<u32, u32>::builder(4)
        .clock(clock.clone())
        .build()
        .unwrap();
    for ttl in [
        Duration::MAX,
        Duration::from_nanos(u64::MAX),
        Duration::from_secs(u64::MAX),
    ] {
        let err = cache.insert_with_ttl(1, 1, ttl).unwrap_err();
        assert!(
            matches!(err, InsertError::TtlOverflow { .. }),
            "{ttl:?}: {err:?}"
        );
        assert_eq!(err.into_entry(), (1, 1));
    }
    assert!(cache.is_empty());
    cache.insert(1, 1).unwrap();
    assert_eq!(
        cache.set_ttl(&1, Some(Duration::MAX)),
        Err(TtlError::Overflow(Duration::MAX))
    );
    // The largest TTL that fits is accepted and reported back.
    let big = Duration::from_nanos(u64::MAX / 2);
    cache.insert_with_ttl(2, 2, big).unwrap();
    assert!(cache.ttl(&2).unwrap().unwrap() >= big);
    cache.validate().unwrap();
}

/// The shortest TTL there is (a zero one is refused, see `tests/zero_ttl.rs`) lives less
/// than one tick more.
#[test]
fn a_one_nanosecond_ttl_lives_less_than_one_tick_more() {
    let tick = Duration::from_nanos(polycache_policies::TICK_NANOS);
    let clock = ManualClock::new();
    let mut cache = Lru::<u32, u32>::builder(4)
        .clock(clock.clone())
        .build()
        .unwrap();
    for key in 0..3 {
        // At tick boundaries and between them.
        clock.advance(Duration::from_nanos(key * 700));
        cache
            .insert_with_ttl(key as u32, 1, Duration::from_nanos(1))
            .unwrap();
        clock.advance(tick);
        assert_eq!(
            cache.get(&(key as u32)),
            None,
            "key {key} outlived its tick"
        );
    }
    // Each write reclaimed the one before; the last is left for the purge.
    assert_eq!(cache.purge_expired().len(), 1);
    assert!(cache.is_empty());
}
