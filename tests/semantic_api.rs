//! Behaviour of the semantic cache with known answers: exact score boundaries, bad
//! input, consistency of values and vectors (plain writes, removes, expiry, eviction),
//! the query cache's invalidation, scopes, and the predicate's double check.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use polycache::ManualClock;
use polycache::semantic::{Insert, Search, SemanticCache, SemanticError, snap_window};

const DIM: usize = 384;

/// xorshift64*, for reproducible vectors without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in [-1, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The next `f32` above `x` (`x` finite).
fn next_up(x: f32) -> f32 {
    if x == 0.0 {
        f32::from_bits(1)
    } else if x > 0.0 {
        f32::from_bits(x.to_bits() + 1)
    } else {
        f32::from_bits(x.to_bits() - 1)
    }
}

fn cache(capacity: u64) -> SemanticCache<u32, u32> {
    SemanticCache::builder(capacity).seed(5).build().unwrap()
}

/// `c·u + sqrt(1-c²)·w` with `u = ±e_i`, `w = ±e_j`: every product and sum of the score
/// is exact, so the boundary is exact: a hit at `min_score = c`, a miss at the next
/// `f32` above it.
#[test]
fn exact_boundaries_with_axis_aligned_vectors() {
    let mut rng = Rng(0x1234_5678);
    let mut cs: Vec<f32> = vec![
        -0.99, -0.5, -1e-3, 0.0, 0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 0.9999,
    ];
    cs.extend((0..200).map(|_| (rng.unit() * 0.9999) as f32));
    let window = snap_window(DIM);
    for (n, &c) in cs.iter().enumerate() {
        assert!(c < 1.0 - window);
        let cache = cache(4);
        let i = rng.below(DIM);
        let j = (i + 1 + rng.below(DIM - 1)) % DIM;
        let su = if rng.next() & 1 == 0 { 1.0 } else { -1.0 };
        let sw = if rng.next() & 1 == 0 { 1.0 } else { -1.0 };
        let s = (1.0 - f64::from(c) * f64::from(c)).sqrt() as f32;
        let mut v = vec![0.0f32; DIM];
        v[i] = su * c;
        v[j] = sw * s;
        let mut u = vec![0.0f32; DIM];
        u[i] = su;
        cache.insert_semantic(n as u32, 7, &v).unwrap();
        let hit = cache.semantic_search(&u, c).unwrap();
        let hit = hit.unwrap_or_else(|| panic!("c = {c}: no hit at min_score = c"));
        assert_eq!(hit.score, c, "c = {c}: score is exact");
        assert_eq!(
            cache.semantic_search(&u, next_up(c)).unwrap(),
            None,
            "c = {c}: hit just above c"
        );
        // The same from the other side, and with the query cache off.
        cache.set_query_cache_enabled(false);
        assert!(cache.semantic_search(&u, c).unwrap().is_some());
        assert!(cache.semantic_search(&u, next_up(c)).unwrap().is_none());
    }
}

/// With general orthonormal `u`, `w` the rounding of the components blurs the boundary,
/// by at most `snap_window(dim)`.
#[test]
fn boundaries_with_general_vectors_within_the_window() {
    let mut rng = Rng(99);
    let window = snap_window(DIM);
    for n in 0..100 {
        let c = rng.unit() * 0.999;
        let u: Vec<f64> = (0..DIM).map(|_| rng.unit()).collect();
        let nu = u.iter().map(|x| x * x).sum::<f64>().sqrt();
        let u: Vec<f64> = u.iter().map(|x| x / nu).collect();
        let w: Vec<f64> = (0..DIM).map(|_| rng.unit()).collect();
        let proj: f64 = w.iter().zip(&u).map(|(a, b)| a * b).sum();
        let w: Vec<f64> = w.iter().zip(&u).map(|(a, b)| a - proj * b).collect();
        let nw = w.iter().map(|x| x * x).sum::<f64>().sqrt();
        let s = (1.0 - c * c).sqrt();
        let v: Vec<f32> = u
            .iter()
            .zip(&w)
            .map(|(a, b)| (c * a + s * b / nw) as f32)
            .collect();
        let q: Vec<f32> = u.iter().map(|&x| x as f32).collect();
        let cache = cache(4);
        cache.insert_semantic(n, 1, &v).unwrap();
        let c = c as f32;
        let hit = cache.semantic_search(&q, c - window).unwrap().unwrap();
        assert!(
            (hit.score - c).abs() <= window,
            "c = {c}, score {}",
            hit.score
        );
        assert!(cache.semantic_search(&q, c + window).unwrap().is_none());
    }
}

/// An entry's own vector finds it at `min_score = 1.0`, with score exactly `1.0`,
/// whatever rounding normalization and summation did.
#[test]
fn own_vector_hits_at_one() {
    let mut rng = Rng(7);
    let cache = cache(1000);
    let vectors: Vec<Vec<f32>> = (0..300)
        .map(|i| {
            // Some already unit (stored as given), some not (rescaled).
            let scale = if i % 2 == 0 { 1.0 } else { 37.5 };
            (0..DIM).map(|_| (rng.unit() * scale) as f32).collect()
        })
        .collect();
    for (i, v) in vectors.iter().enumerate() {
        cache.insert_semantic(i as u32, i as u32, v).unwrap();
    }
    cache.set_query_cache_enabled(false);
    for (i, v) in vectors.iter().enumerate() {
        let hit = cache.semantic_search(v, 1.0).unwrap().unwrap();
        assert_eq!((hit.key, hit.score), (i as u32, 1.0));
        // A scaled copy is the same direction.
        let scaled: Vec<f32> = v.iter().map(|x| x * 3.0).collect();
        assert_eq!(
            cache.semantic_search(&scaled, 1.0).unwrap().unwrap().key,
            i as u32
        );
    }
}

#[test]
fn bad_input_is_a_typed_error() {
    let cache = cache(8);
    // Before any vector: queries are still checked, and find nothing.
    assert_eq!(cache.semantic_search(&[1.0, 0.0], 0.5).unwrap(), None);
    assert_eq!(
        cache.semantic_search(&[], 0.5),
        Err(SemanticError::EmptyEmbedding)
    );
    assert_eq!(
        cache.insert_semantic(1, 1, &[]),
        Err(SemanticError::EmptyEmbedding)
    );
    for (bad, index) in [
        (vec![f32::NAN, 1.0, 0.0], 0),
        (vec![1.0, f32::INFINITY, 0.0], 1),
        (vec![1.0, 0.0, f32::NEG_INFINITY], 2),
    ] {
        assert_eq!(
            cache.insert_semantic(1, 1, &bad),
            Err(SemanticError::NonFinite { index })
        );
        assert_eq!(
            cache.semantic_search(&bad, 0.5),
            Err(SemanticError::NonFinite { index })
        );
    }
    assert_eq!(
        cache.insert_semantic(1, 1, &[0.0, -0.0, 0.0]),
        Err(SemanticError::ZeroVector)
    );
    assert_eq!(cache.dimension(), None, "refused writes fix nothing");
    cache.insert_semantic(1, 1, &[1.0, 0.0, 0.0]).unwrap();
    assert_eq!(
        cache.insert_semantic(2, 2, &[1.0, 0.0]),
        Err(SemanticError::DimensionMismatch {
            expected: 3,
            found: 2
        })
    );
    assert_eq!(
        cache.semantic_search(&[1.0, 0.0, 0.0, 0.0], 0.5),
        Err(SemanticError::DimensionMismatch {
            expected: 3,
            found: 4
        })
    );
    for t in [
        f32::NAN,
        1.0 + f32::EPSILON,
        -1.0001,
        f32::INFINITY,
        f32::NEG_INFINITY,
    ] {
        assert!(matches!(
            cache.semantic_search(&[1.0, 0.0, 0.0], t),
            Err(SemanticError::InvalidThreshold(_))
        ));
        assert!(matches!(
            cache.semantic_search_approved(&[1.0, 0.0, 0.0], t, |_| true),
            Err(SemanticError::InvalidThreshold(_))
        ));
    }
    // Extremes that are valid.
    cache
        .insert_semantic(3, 3, &[f32::MAX, f32::MAX, 0.0])
        .unwrap();
    cache.insert_semantic(4, 4, &[1e-45, 0.0, 0.0]).unwrap();
    assert_eq!(
        cache
            .semantic_search(&[1.0, 1.0, 0.0], 1.0)
            .unwrap()
            .unwrap()
            .key,
        3
    );
    assert_eq!(
        cache
            .semantic_search_top_k(&[1.0, 0.0, 0.0], -1.0, 0)
            .unwrap(),
        []
    );
    assert_eq!(
        cache
            .semantic_search_top_k(&[0.0, 0.0, 1.0], -1.0, 10)
            .unwrap()
            .len(),
        3
    );
    // A TTL past the clock's range is refused and changes nothing.
    let before = cache.embedded_len();
    assert_eq!(
        cache.insert_semantic_with(9, 9, &[0.0, 0.0, 1.0], &Insert::new().ttl(Duration::MAX)),
        Err(SemanticError::TtlOverflow(Duration::MAX))
    );
    assert_eq!(cache.embedded_len(), before);
    assert_eq!(cache.get(&9), None);
    cache.validate().unwrap();
    // A zero dimension cannot be configured.
    assert!(
        SemanticCache::<u8, u8>::builder(4)
            .dimension(0)
            .build()
            .is_err()
    );
}

#[test]
fn a_plain_write_clears_the_embedding() {
    let cache = cache(8);
    cache.insert_semantic(1, 10, &[1.0, 0.0]).unwrap();
    assert_eq!(
        cache
            .semantic_search(&[1.0, 0.0], 0.9)
            .unwrap()
            .unwrap()
            .value,
        10
    );
    cache.insert(1, 11).unwrap();
    assert!(!cache.has_embedding(&1));
    assert_eq!(cache.embedded_len(), 0);
    assert_eq!(cache.semantic_search(&[1.0, 0.0], -1.0).unwrap(), None);
    assert_eq!(cache.get(&1), Some(11));
    // A semantic write over it gives it a vector again; a remove drops both.
    cache.insert_semantic(1, 12, &[0.0, 1.0]).unwrap();
    assert_eq!(cache.semantic_search(&[1.0, 0.0], 0.5).unwrap(), None);
    assert_eq!(
        cache
            .semantic_search(&[0.0, 1.0], 0.5)
            .unwrap()
            .unwrap()
            .value,
        12
    );
    assert_eq!(cache.remove(&1), Some(12));
    assert_eq!(cache.embedded_len(), 0);
    assert_eq!(cache.semantic_search(&[0.0, 1.0], -1.0).unwrap(), None);
    cache.validate().unwrap();
}

#[test]
fn expired_entries_are_never_returned_swept_or_not() {
    let clock = ManualClock::new();
    let cache = SemanticCache::<u32, u32>::builder(8)
        .clock(clock.clone())
        .build()
        .unwrap();
    let short = Insert::new().ttl(Duration::from_millis(10));
    cache
        .insert_semantic_with(1, 1, &[1.0, 0.0], &short)
        .unwrap();
    cache.insert_semantic(2, 2, &[0.9, 0.1]).unwrap();
    let q = [1.0, 0.0];
    assert_eq!(cache.semantic_search(&q, 0.5).unwrap().unwrap().key, 1);
    assert_eq!(cache.semantic_search(&q, 0.5).unwrap().unwrap().key, 1); // from the query cache
    assert_eq!(cache.query_cache_stats().hits, 1);
    // Deadlines are rounded up to the wheel's tick (1024 ns): step past it.
    clock.advance(Duration::from_millis(11));
    // Not reclaimed yet: still stored, never returned, not even from the query cache.
    assert_eq!(cache.embedded_len(), 2);
    assert_eq!(cache.semantic_search(&q, 0.5).unwrap().unwrap().key, 2);
    assert_eq!(cache.semantic_search_top_k(&q, -1.0, 5).unwrap().len(), 1);
    assert!(
        cache
            .semantic_search_approved(&q, 0.995, |_| true)
            .unwrap()
            .is_none()
    );
    cache.purge_expired();
    assert_eq!(cache.embedded_len(), 1);
    cache.validate().unwrap();
}

#[test]
fn eviction_drops_vectors_and_invalidates_answers() {
    let cache = SemanticCache::<u32, u32>::builder(4)
        .shards(1)
        .build()
        .unwrap();
    let q = [1.0, 0.0, 0.0];
    cache.insert_semantic(0, 0, &q).unwrap();
    assert_eq!(cache.semantic_search(&q, 0.99).unwrap().unwrap().key, 0);
    for k in 1..=4 {
        cache.insert_semantic(k, k, &[0.0, 1.0, k as f32]).unwrap();
    }
    // Key 0 was the least recent: evicted with its vector, and its answer with it.
    assert_eq!(cache.get(&0), None);
    assert_eq!(cache.embedded_len(), 4);
    assert_eq!(cache.semantic_search(&q, 0.99).unwrap(), None);
    // Plain writes evict semantic entries too.
    for k in 10..14 {
        cache.insert(k, k).unwrap();
    }
    assert_eq!(cache.embedded_len(), 0);
    assert_eq!(cache.semantic_search(&[0.0, 1.0, 1.0], -1.0).unwrap(), None);
    cache.validate().unwrap();
}

#[test]
fn search_hits_keep_their_entries_warm() {
    let cache = SemanticCache::<u32, u32>::builder(3)
        .shards(1)
        .build()
        .unwrap();
    cache.insert_semantic(0, 0, &[1.0, 0.0]).unwrap();
    cache.insert(1, 1).unwrap();
    cache.insert(2, 2).unwrap();
    // Served twice (once from the query cache): 0 is now the most recent.
    cache.semantic_search(&[1.0, 0.0], 0.9).unwrap().unwrap();
    cache.semantic_search(&[1.0, 0.0], 0.9).unwrap().unwrap();
    cache.insert(3, 3).unwrap();
    assert_eq!(cache.get(&1), None);
    assert_eq!(cache.get(&0), Some(0));
}

#[test]
fn the_query_cache_never_serves_a_stale_answer() {
    let cache = cache(64);
    let q = [1.0, 0.0];
    cache.insert_semantic(1, 1, &[0.9, 0.1]).unwrap();
    assert_eq!(cache.semantic_search(&q, 0.5).unwrap().unwrap().key, 1);
    // A better entry appears.
    cache.insert_semantic(2, 2, &[1.0, 0.0]).unwrap();
    assert_eq!(cache.semantic_search(&q, 0.5).unwrap().unwrap().key, 2);
    assert_eq!(cache.semantic_search(&q, 0.5).unwrap().unwrap().key, 2);
    // Its value changes (with the same vector): the new value, not the cached one.
    cache.insert_semantic(2, 22, &[1.0, 0.0]).unwrap();
    assert_eq!(cache.semantic_search(&q, 0.5).unwrap().unwrap().value, 22);
    // A plain write removes it from answers.
    cache.insert(2, 23).unwrap();
    assert_eq!(cache.semantic_search(&q, 0.5).unwrap().unwrap().key, 1);
    cache.remove(&1);
    assert_eq!(cache.semantic_search(&q, 0.5).unwrap(), None);
    cache.clear();
    assert_eq!(cache.semantic_search(&q, 0.5).unwrap(), None);
    let stats = cache.query_cache_stats();
    assert_eq!(stats.hits, 1, "{stats:?}");
}

#[test]
fn scopes_are_hard_partitions() {
    let cache = cache(64);
    let v = [1.0, 0.0];
    for (k, scope) in [(1, "a"), (2, "a"), (3, "b"), (4, "")] {
        cache
            .insert_semantic_with(
                k,
                k,
                &v,
                &Insert::new().scope(scope).metadata(vec![k as u8]),
            )
            .unwrap();
    }
    let keys = |scope| {
        let mut offered = Vec::new();
        let hits = cache
            .search_approved(&v, &Search::new(-1.0).scope(scope).k(10), |m| {
                offered.push(m.map_or(0, |m| m[0]));
                true
            })
            .unwrap();
        offered.sort_unstable();
        offered.dedup();
        (hits.iter().map(|h| h.key).collect::<Vec<_>>(), offered)
    };
    // Ties (same vector) go to the most recent write first. The predicate is offered
    // only this scope's entries: the others are never scored.
    assert_eq!(keys("a"), (vec![2, 1], vec![1, 2]));
    assert_eq!(keys("b"), (vec![3], vec![3]));
    assert_eq!(keys(""), (vec![4], vec![4]));
    assert_eq!(keys("c"), (vec![], vec![]));
    let top = cache.search(&v, &Search::new(0.0).scope("a").k(3)).unwrap();
    assert_eq!(top.iter().map(|h| h.key).collect::<Vec<_>>(), [2, 1]);
    // Moving a key to another scope takes its vector along.
    cache
        .insert_semantic_with(2, 2, &v, &Insert::new().scope("b"))
        .unwrap();
    assert_eq!(keys("a").0, [1]);
    assert_eq!(keys("b").0, [2, 3]);
    cache.validate().unwrap();
}

#[test]
fn the_predicate_is_asked_best_first_and_again_on_the_released_hit() {
    let cache = cache(64);
    let meta = |m: &'static [u8]| Insert::new().metadata(m);
    cache
        .insert_semantic_with(1, 1, &[1.0, 0.0], &meta(b"x"))
        .unwrap();
    cache
        .insert_semantic_with(2, 2, &[0.9, 0.3], &meta(b"y"))
        .unwrap();
    cache
        .insert_semantic_with(3, 3, &[0.5, 0.5], &meta(b"z"))
        .unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    // Approves "x" the first time only (say, a permission revoked in between), and "y".
    let approve = |m: Option<&[u8]>| {
        let m = m.unwrap();
        let mut log = log.lock().unwrap();
        let seen_x = log.iter().any(|l: &Vec<u8>| l == b"x");
        log.push(m.to_vec());
        match m {
            b"x" => !seen_x,
            b"y" => true,
            _ => false,
        }
    };
    let hit = cache
        .semantic_search_approved(&[1.0, 0.0], 0.1, approve)
        .unwrap()
        .unwrap();
    assert_eq!(hit.key, 2);
    assert_eq!(hit.metadata.as_deref(), Some(&b"y"[..]));
    let log = log.lock().unwrap().clone();
    assert_eq!(
        log,
        [b"x".to_vec(), b"x".to_vec(), b"y".to_vec(), b"y".to_vec()]
    );
}

#[test]
fn top_k_is_ranked_with_ties_to_the_newest() {
    let cache = cache(64);
    for k in 1..=3 {
        cache.insert_semantic(k, k, &[1.0, 1.0]).unwrap();
    }
    cache.insert_semantic(4, 4, &[1.0, 0.0]).unwrap();
    let hits = cache.semantic_search_top_k(&[1.0, 1.0], 0.0, 10).unwrap();
    let ranked: Vec<(u32, f32)> = hits.iter().map(|h| (h.key, h.score)).collect();
    assert_eq!(ranked[..3], [(3, 1.0), (2, 1.0), (1, 1.0)]);
    assert_eq!(ranked[3].0, 4);
    assert!((ranked[3].1 - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
    let two = cache.semantic_search_top_k(&[1.0, 1.0], 0.0, 2).unwrap();
    assert_eq!(two.iter().map(|h| h.key).collect::<Vec<_>>(), [3, 2]);
}

/// Writers and searchers on several threads: every hit's value is one its vector
/// described (each key's value encodes which vector it was written with).
#[test]
fn concurrent_writers_and_searchers_stay_consistent() {
    let cache = SemanticCache::<u32, u32>::builder(256)
        .shards(4)
        .build()
        .unwrap();
    let dims = 8;
    let vector = |dir: u32| {
        let mut v = vec![0.0f32; dims];
        v[dir as usize % dims] = 1.0;
        v
    };
    std::thread::scope(|s| {
        for t in 0..2u32 {
            let cache = &cache;
            s.spawn(move || {
                for i in 0..5000u32 {
                    let key = (i * 7 + t) % 300;
                    let dir = i % dims as u32;
                    if i % 5 == 0 {
                        cache.insert(key, u32::MAX).unwrap();
                    } else {
                        cache.insert_semantic(key, dir, &vector(dir)).unwrap();
                    }
                }
            });
        }
        let cache = &cache;
        s.spawn(move || {
            for i in 0..3000u32 {
                let dir = i % dims as u32;
                for hit in cache.semantic_search_top_k(&vector(dir), 0.99, 4).unwrap() {
                    assert_eq!(hit.value, dir, "a value its vector did not describe");
                }
            }
        });
    });
    cache.validate().unwrap();
    assert!(cache.len() <= 256);
}
