//! The semantic cache's counters and read accessors agree with [`Cache`]'s.

use std::time::Duration;

use polycache::semantic::{Insert, SemanticCache};
use polycache::{Cache, ManualClock};

/// `clear` and `purge_expired` count what they remove exactly as `Cache`'s do: the
/// same operations on both give the same counters.
#[test]
fn clear_and_purge_count_like_cache() {
    let clock = ManualClock::new();
    let sem = SemanticCache::<u32, u32>::builder(16)
        .shards(1)
        .clock(clock.clone())
        .build()
        .unwrap();
    let plain = Cache::<u32, u32>::builder(16)
        .shards(1)
        .clock(clock.clone())
        .build()
        .unwrap();
    let short = Duration::from_secs(1);
    // Round 1: two expire, then purge_expired.
    sem.insert_semantic_with(1, 1, &[1.0, 0.0], &Insert::new().ttl(short))
        .unwrap();
    sem.insert_with_ttl(2, 2, short).unwrap();
    sem.insert_semantic(3, 3, &[0.0, 1.0]).unwrap();
    plain.insert_with_ttl(1, 1, short).unwrap();
    plain.insert_with_ttl(2, 2, short).unwrap();
    plain.insert(3, 3).unwrap();
    clock.advance(Duration::from_secs(5));
    sem.purge_expired();
    plain.purge_expired();
    assert_eq!(sem.stats().expired, 2);
    assert_eq!(sem.stats(), plain.stats());
    assert_eq!((sem.len(), sem.embedded_len()), (1, 1));

    // Round 2: one expired and three live entries, then clear.
    sem.insert_semantic_with(4, 4, &[1.0, 1.0], &Insert::new().ttl(short))
        .unwrap();
    sem.insert_semantic(5, 5, &[1.0, 0.0]).unwrap();
    sem.insert(6, 6).unwrap();
    plain.insert_with_ttl(4, 4, short).unwrap();
    plain.insert(5, 5).unwrap();
    plain.insert(6, 6).unwrap();
    clock.advance(Duration::from_secs(5));
    sem.clear();
    plain.clear();
    let s = sem.stats();
    assert_eq!((s.expired, s.removed), (3, 3));
    assert_eq!(s, plain.stats());
    assert!(sem.is_empty());
    assert_eq!(sem.embedded_len(), 0);
    assert_eq!(sem.validate(), Ok(()));
}

/// `peek` and `contains_key` record no access: the peeked entry stays least recent.
#[test]
fn peek_and_contains_key_do_not_touch() {
    let cache = SemanticCache::<u32, u32>::builder(2)
        .shards(1)
        .build()
        .unwrap();
    cache.insert_semantic(1, 10, &[1.0, 0.0]).unwrap();
    cache.insert(2, 20).unwrap();
    assert_eq!(cache.peek(&1), Some(10));
    assert!(cache.contains_key(&1));
    assert_eq!(cache.peek(&9), None);
    assert!(!cache.contains_key(&9));
    cache.insert(3, 30).unwrap(); // evicts the least recent: 1
    assert!(!cache.contains_key(&1));
    assert_eq!(cache.peek(&2), Some(20));
    assert_eq!(cache.embedded_len(), 0);
    let s = cache.stats();
    assert_eq!((s.hits, s.misses, s.evicted), (0, 0, 1));
}

/// `ttl` reports the time left by the cache's clock, and `None` once expired, even
/// before the entry is reclaimed.
#[test]
fn ttl_counts_down_and_ends() {
    let clock = ManualClock::new();
    let cache = SemanticCache::<u32, u32>::builder(8)
        .clock(clock.clone())
        .build()
        .unwrap();
    let opts = Insert::new().ttl(Duration::from_secs(10));
    cache
        .insert_semantic_with(1, 1, &[1.0, 0.0], &opts)
        .unwrap();
    cache.insert(2, 2).unwrap();
    let left = cache.ttl(&1).unwrap().unwrap();
    assert!(left <= Duration::from_secs(10) && left > Duration::from_secs(9));
    clock.advance(Duration::from_secs(4));
    let left = cache.ttl(&1).unwrap().unwrap();
    assert!(left <= Duration::from_secs(6) && left > Duration::from_secs(5));
    assert_eq!(cache.ttl(&2), Some(None));
    clock.advance(Duration::from_secs(7));
    assert_eq!(cache.ttl(&1), None);
    assert!(!cache.contains_key(&1));
    assert_eq!(cache.len(), 2, "expired, not yet reclaimed");
}
