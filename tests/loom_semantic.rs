//! loom models of the semantic cache: every interleaving (up to a preemption bound) of
//! the real code, with loom's Mutex (the crate's sync shim) and loom's atomics (the
//! semantic module's generation counters, dimension and sequence numbers).
//!
//! Run (well under a minute):
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --test loom_semantic
//! ```
#![cfg(loom)]

use loom::thread;
use polycache::semantic::SemanticCache;

mod loom_support;

/// Every interleaving up to the preemption bound (2 by default).
fn model<F: Fn() + Sync + Send + 'static>(f: F) {
    loom_support::model(2, f);
}

const OLD: [f32; 2] = [1.0, 0.0];
const NEW: [f32; 2] = [0.0, 1.0];

fn cache(shards: usize) -> SemanticCache<u32, u32> {
    SemanticCache::builder(4)
        .shards(shards)
        .seed(3)
        .query_cache(4)
        .build()
        .unwrap()
}

/// A search racing a plain write to the same key finds the old value with the old
/// vector's score, or nothing: never the new value. Two searches in a row (the second
/// may be served by the query cache), then, after the write, a search sees nothing.
#[test]
fn search_racing_a_plain_write_never_returns_the_new_value() {
    model(|| {
        let cache = cache(1);
        cache.insert_semantic(1, 10, &OLD).unwrap();
        let writer = {
            let cache = cache.clone();
            thread::spawn(move || cache.insert(1, 20).unwrap())
        };
        for _ in 0..2 {
            if let Some(hit) = cache.semantic_search(&OLD, 0.9).unwrap() {
                assert_eq!((hit.key, hit.value, hit.score), (1, 10, 1.0));
            }
        }
        writer.join().unwrap();
        assert_eq!(cache.semantic_search(&OLD, 0.9).unwrap(), None);
        assert_eq!(cache.get(&1), Some(20));
        cache.validate().unwrap();
    });
}

/// A search racing a semantic rewrite of the key (new value, new vector) sees the old
/// pair or the new pair, never a value with the other's vector; after the write, the
/// old query finds nothing and the new one finds the new value.
#[test]
fn search_racing_a_semantic_rewrite_sees_old_pair_or_new_pair() {
    model(|| {
        let cache = cache(1);
        cache.insert_semantic(1, 10, &OLD).unwrap();
        let writer = {
            let cache = cache.clone();
            thread::spawn(move || cache.insert_semantic(1, 20, &NEW).unwrap())
        };
        if let Some(hit) = cache.semantic_search(&OLD, 0.9).unwrap() {
            assert_eq!(hit.value, 10);
        }
        if let Some(hit) = cache.semantic_search(&NEW, 0.9).unwrap() {
            assert_eq!(hit.value, 20);
        }
        writer.join().unwrap();
        assert_eq!(cache.semantic_search(&OLD, 0.9).unwrap(), None);
        assert_eq!(cache.semantic_search(&NEW, 0.9).unwrap().unwrap().value, 20);
    });
}

/// Across two shards, a search that populates the query cache while a write lands on
/// the other shard never leaves a stale answer behind: once the write has returned, the
/// better entry it wrote is found.
#[test]
fn query_cache_answer_raced_by_a_write_is_not_stale_afterwards() {
    model(|| {
        let cache = cache(2);
        cache.insert_semantic(1, 10, &[0.9, 0.1]).unwrap();
        let writer = {
            let cache = cache.clone();
            thread::spawn(move || cache.insert_semantic(2, 20, &OLD).unwrap())
        };
        let first = cache.semantic_search(&OLD, 0.5).unwrap().unwrap();
        assert!(first.value == 10 || first.value == 20);
        writer.join().unwrap();
        assert_eq!(cache.semantic_search(&OLD, 0.5).unwrap().unwrap().value, 20);
    });
}
