//! The `*_hashed` contract: an entry inserted under a hash that is not its key's is
//! unreachable by its key, but never panics, never leaves a stale index in the table,
//! and once it has left (evicted, retained out, cleared) `validate` passes again.

use polycache_policies::{Gdsf, Lfu, Lru, Policy, S3Fifo, TinyLfu, Ttl};

/// Inserts key 1 under a wrong hash into `c` (capacity 2), then evictions, removals and
/// relocations around it, checking the invariants after it has left.
fn evicted_after_a_wrong_hash<P: Policy<u64, u64>>(name: &str, mut c: P) {
    let wrong = !c.hash(&1);
    c.insert_hashed(wrong, 1, 1, None).unwrap();
    assert!(c.validate().is_err(), "{name}: the stray entry is reported");
    assert_eq!(c.peek(&1), None, "{name}: unreachable by its key");
    for k in 2..200u64 {
        c.insert(k, k).unwrap();
        if k % 3 == 0 {
            c.remove(&(k - 1));
        }
    }
    // Evicted by now, except by an order that admits by frequency (TinyLfu may keep
    // it out of the newcomers' way): then `retain` takes it out.
    if c.iter().any(|(&k, _)| k == 1) {
        assert_eq!(name, "TinyLfu");
        assert_eq!(c.retain(|&k, _| k != 1).len(), 1, "{name}");
    }
    c.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
    for k in 0..200u64 {
        c.insert(k, k).unwrap();
        assert_eq!(c.remove(&k), Some(k), "{name}");
    }
    c.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
}

#[test]
fn an_entry_stored_under_a_wrong_hash_is_evicted_cleanly_by_every_policy() {
    evicted_after_a_wrong_hash("Lru", Lru::new(2).unwrap());
    evicted_after_a_wrong_hash("Lfu", Lfu::new(2).unwrap());
    evicted_after_a_wrong_hash("Ttl", Ttl::new(2).unwrap());
    evicted_after_a_wrong_hash("S3Fifo", S3Fifo::new(2).unwrap());
    evicted_after_a_wrong_hash("TinyLfu", TinyLfu::new(2).unwrap());
    evicted_after_a_wrong_hash("Gdsf", Gdsf::new(2).unwrap());
}

/// The stray entry is the last in the arena when another is removed: it moves into the
/// hole, and its index in the table must follow it.
#[test]
fn a_stray_entry_that_moves_keeps_the_table_consistent() {
    let mut c = Lru::<u64, u64>::new(10).unwrap();
    c.insert(0, 0).unwrap();
    c.insert(2, 2).unwrap();
    let wrong = !c.hash(&1);
    c.insert_hashed(wrong, 1, 1, None).unwrap(); // entry 2, the last
    assert_eq!(c.remove(&0), Some(0)); // 1 moves to index 0
    assert!(c.validate().is_err());
    // A second entry for key 1, under its own hash: the key is stored twice.
    c.insert(1, 10).unwrap();
    assert_eq!(c.len(), 3);
    assert_eq!(c.peek(&1), Some(&10));
    // Both copies go (retain sees every entry, stray or not).
    let out = c.retain(|&k, _| k != 1);
    assert_eq!(out.len(), 2);
    c.validate().unwrap();
    assert_eq!(
        c.iter().map(|(&k, &v)| (k, v)).collect::<Vec<_>>(),
        [(2, 2)]
    );
    // Many more moves and removals, and the table still agrees with the arena.
    for k in 10..100u64 {
        c.insert(k, k).unwrap();
        c.remove(&(k - 5));
    }
    c.validate().unwrap();
}
