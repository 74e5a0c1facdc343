//! Model test of the semantic cache: random semantic and plain writes, removes, searches
//! (top-k, with and without a predicate, in three scopes), clock steps, purges, clears
//! and bad input against the brute-force model of `semantic_support` (shared with the
//! fuzz target `fuzz/fuzz_targets/semantic.rs`).

mod semantic_support;

use proptest::prelude::*;
use semantic_support::{Config, Op, decode, run};

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn semantic_cache_matches_the_model(data in prop::collection::vec(any::<u8>(), 1..900)) {
        let (config, ops) = decode(&data);
        if let Err(e) = run(&config, &ops) {
            panic!("{e}\nconfig {config:?}\nops {ops:#?}");
        }
    }
}

/// The suite reaches what it claims to check: hits, query-cache hits, evictions.
#[test]
fn the_model_run_exercises_hits_and_the_query_cache() {
    let mut total = semantic_support::Seen::default();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..64 {
        let data: Vec<u8> = (0..600)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed >> 32) as u8
            })
            .collect();
        let (config, ops) = decode(&data);
        let seen = run(&config, &ops).unwrap_or_else(|e| panic!("{e}"));
        total.hits += seen.hits;
        total.searches += seen.searches;
        total.query_cache_hits += seen.query_cache_hits;
    }
    println!("{total:?}");
    assert!(total.hits > 1000, "{total:?}");
    assert!(total.query_cache_hits > 100, "{total:?}");
}

/// A hand-written sequence: expiry between two identical searches must not be served
/// from the query cache.
#[test]
fn expiry_between_identical_searches() {
    let config = Config {
        capacity: 8,
        shards: 1,
        query_cache: 8,
        fixed_dim: true,
    };
    let ops = vec![
        Op::InsertSemantic {
            key: 1,
            vec: 3,
            scope: 0,
            ttl: Some(2),
            meta: None,
        },
        Op::InsertSemantic {
            key: 2,
            vec: 3,
            scope: 0,
            ttl: None,
            meta: None,
        },
        Op::Search {
            vec: 3,
            scope: 0,
            thr: 5,
            k: 2,
        },
        Op::Search {
            vec: 3,
            scope: 0,
            thr: 5,
            k: 2,
        },
        Op::Advance(2),
        Op::Search {
            vec: 3,
            scope: 0,
            thr: 5,
            k: 2,
        },
        Op::Search {
            vec: 3,
            scope: 0,
            thr: 5,
            k: 1,
        },
    ];
    let seen = run(&config, &ops).unwrap();
    assert_eq!(seen.hits, 2 + 2 + 1 + 1);
    assert_eq!(seen.query_cache_hits, 1);
}
