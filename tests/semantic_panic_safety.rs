//! A panicking user closure (weigher, a key's `Eq`) during a write leaves the semantic
//! cache consistent: no row without its entry, no search returning a value with a
//! vector that never described it.

use std::cell::Cell;
use std::hash::{Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use polycache::semantic::{Insert, Search, SemanticCache, Stored};
use polycache::{Lru, ManualClock, Policy, SystemClock};

/// A cache whose weigher panics on the value "boom".
fn refusing_weigher() -> SemanticCache<u32, String, SystemClock, impl Policy<u32, Stored<String>>> {
    SemanticCache::<u32, String>::builder(100)
        .query_cache(0)
        .build_with(|cap, h| {
            Lru::<u32, Stored<String>>::builder(cap)
                .hasher(h)
                .weigher(|_: &u32, s: &Stored<String>| {
                    assert!(s.value() != "boom", "weigher refuses");
                    1
                })
                .build()
        })
        .unwrap()
}

/// Review finding F2: the row of a semantic write whose weigher panicked stayed in the
/// slab, so a search for the refused vector returned key 1's *old* value (release) or
/// tripped a debug assertion under the shard lock (debug).
#[test]
fn a_panicking_weigher_leaves_no_ghost_row() {
    let cache = refusing_weigher();
    cache.insert_semantic(1, "old".into(), &[1.0, 0.0]).unwrap();
    let r = catch_unwind(AssertUnwindSafe(|| {
        cache.insert_semantic(1, "boom".into(), &[0.0, 1.0])
    }));
    assert!(r.is_err(), "the weigher panics");

    assert_eq!(cache.len(), 1);
    assert_eq!(cache.embedded_len(), 1, "the refused vector's row is gone");
    assert_eq!(cache.validate(), Ok(()));
    // The refused vector describes nothing stored.
    assert_eq!(cache.semantic_search(&[0.0, 1.0], 0.99).unwrap(), None);
    let approved = cache
        .search_approved(&[0.0, 1.0], &Search::new(0.99).k(4), |_| true)
        .unwrap();
    assert!(approved.is_empty(), "released {approved:?}");
    // The old entry is untouched, vector and all.
    assert_eq!(cache.get(&1).as_deref(), Some("old"));
    let hit = cache.semantic_search(&[1.0, 0.0], 0.99).unwrap().unwrap();
    assert_eq!((hit.key, hit.value.as_str()), (1, "old"));
    // And the cache keeps working.
    cache.insert_semantic(1, "new".into(), &[0.0, 1.0]).unwrap();
    assert_eq!(
        cache
            .semantic_search(&[0.0, 1.0], 0.99)
            .unwrap()
            .unwrap()
            .value,
        "new"
    );
    assert_eq!(cache.validate(), Ok(()));
}

thread_local! {
    /// While set, comparing two [`Touchy`] keys panics.
    static REFUSE_EQ: Cell<bool> = const { Cell::new(false) };
}

/// A key whose `Eq` panics on demand.
#[derive(Clone, Debug)]
struct Touchy(u32);

impl PartialEq for Touchy {
    fn eq(&self, other: &Self) -> bool {
        assert!(!REFUSE_EQ.get(), "Eq refuses");
        self.0 == other.0
    }
}

impl Eq for Touchy {}

impl Hash for Touchy {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

/// A one-shard cache holding `a` (semantic, expired) and `b` (semantic, live): the next
/// write reclaims `a` before it looks `b` up.
fn expired_beside_live(clock: &ManualClock) -> SemanticCache<Touchy, u32, ManualClock> {
    let cache = SemanticCache::<Touchy, u32>::builder(8)
        .shards(1)
        .query_cache(0)
        .clock(clock.clone())
        .build()
        .unwrap();
    let short = Insert::new().ttl(Duration::from_secs(1));
    cache
        .insert_semantic_with(Touchy(1), 1, &[1.0, 0.0], &short)
        .unwrap();
    cache.insert_semantic(Touchy(2), 2, &[0.0, 1.0]).unwrap();
    clock.advance(Duration::from_secs(5));
    cache
}

/// A write that panics in the key's `Eq` *after* the policy reclaimed an expired entry
/// (reported in the write's evictions) must still remove that entry's row.
#[test]
fn a_panicking_key_eq_after_a_reclaim_leaves_no_ghost_row() {
    for semantic in [false, true] {
        let clock = ManualClock::new();
        let cache = expired_beside_live(&clock);
        REFUSE_EQ.set(true);
        let r = catch_unwind(AssertUnwindSafe(|| {
            if semantic {
                cache.insert_semantic(Touchy(2), 20, &[0.6, 0.8])
            } else {
                cache.insert(Touchy(2), 20)
            }
        }));
        REFUSE_EQ.set(false);
        assert!(r.is_err(), "Eq panics (semantic: {semantic})");

        assert_eq!(cache.len(), 1, "the expired entry was reclaimed");
        assert_eq!(
            cache.embedded_len(),
            1,
            "only key 2's row is left (semantic: {semantic})"
        );
        assert_eq!(cache.validate(), Ok(()), "semantic: {semantic}");
        let hit = cache.semantic_search(&[0.0, 1.0], 0.99).unwrap().unwrap();
        assert_eq!((hit.key.0, hit.value), (2, 2));
        assert_eq!(cache.semantic_search(&[0.6, 0.8], 0.99).unwrap(), None);
    }
}
