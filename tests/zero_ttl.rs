//! `Cache` refuses a zero TTL: per write with `InsertError::ZeroTtl` (the policy's
//! refusal, handed up), as a default with `BuildError::ZeroTtl` at build. Accepted, a
//! zero TTL made every such write dead on arrival, pushing out live entries for it.

use std::time::Duration;

use polycache::{BuildError, Cache, InsertError, ManualClock};

#[test]
fn a_zero_ttl_write_is_refused_and_the_live_entry_stays() {
    let clock = ManualClock::new();
    clock.advance(Duration::from_nanos(1024)); // on a tick boundary
    let cache = Cache::<u8, u8>::builder(1)
        .clock(clock.clone())
        .build()
        .unwrap();
    cache.insert(1, 1).unwrap();
    let err = cache.insert_with_ttl(2, 2, Duration::ZERO).unwrap_err();
    assert!(matches!(err, InsertError::ZeroTtl { key: 2, value: 2 }));
    assert_eq!((cache.get(&1), cache.get(&2)), (Some(1), None));
}

#[test]
fn a_zero_default_ttl_is_refused_at_build() {
    let err = Cache::<u8, u8>::builder(4)
        .default_ttl(Duration::ZERO)
        .build()
        .unwrap_err();
    assert_eq!(err, BuildError::ZeroTtl);
    assert_eq!(err.to_string(), "default ttl must be greater than zero");
    // The smallest non-zero default is taken.
    let clock = ManualClock::new();
    let cache = Cache::<u8, u8>::builder(4)
        .clock(clock)
        .default_ttl(Duration::from_nanos(1))
        .build()
        .unwrap();
    cache.insert(1, 1).unwrap();
    assert_eq!(cache.get(&1), Some(1));
}
