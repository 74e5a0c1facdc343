//! A brute-force reference model of the semantic cache, and a driver that runs one
//! sequence of operations against a real `SemanticCache` and the model side by side.
//!
//! Shared by the proptest suite (`tests/semantic_model.rs`) and the cargo-fuzz target
//! (`fuzz/fuzz_targets/semantic.rs`): both decode raw bytes with [`decode`] and call
//! [`run`], so they check the same rules.
//!
//! The model keeps each key's latest write (value, deadline, vector, scope, metadata,
//! write order) in a `BTreeMap` and answers a search by scoring every entry in `f64`.
//! It does not imitate the eviction order: an entry counts as present when the model
//! has it, it is live by the model's clock, and the cache still has its embedding
//! (`has_embedding`, which does not touch the entry). What is checked after every step:
//!
//! - every hit is the model's current write for its key (the value identifies the
//!   write: values are unique), live, with a vector in the searched scope, present,
//!   approved by the predicate, at or above the threshold within `TOL`, and with a score
//!   within `TOL` of the model's `f64` cosine;
//! - hits are in rank order: score descending, ties to the most recent semantic write;
//! - nothing better was left out: with fewer than `k` hits, no eligible entry is at or
//!   above `threshold + TOL`; with `k` hits, none beats the last hit by more than `TOL`;
//! - plain writes and removes clear the embedding (`has_embedding`), `len <= capacity`,
//!   and `validate()` (slabs and policy in one-to-one correspondence, no ghost rows).
//!
//! Time advances in multiples of the wheel's tick (`UNIT`), so deadlines are exact.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::time::Duration;

use polycache::ManualClock;
use polycache::semantic::{Insert, Search, SemanticCache, SemanticError, SemanticHit};

/// Tolerance between the cache's `f32` scores and the model's `f64` cosines.
pub const TOL: f64 = 1e-5;
/// Dimension of the model's vectors.
pub const DIM: usize = 4;
/// Time unit: a multiple of the wheel's tick (1024 ns), so deadlines fall on ticks.
pub const UNIT: u64 = 1024 * 16;
/// Thresholds searched with (boundary values included on purpose).
pub const THRESHOLDS: [f32; 6] = [-1.0, 0.0, 0.5, 0.7, 0.9, 1.0];
/// Scopes.
pub const SCOPES: [&str; 3] = ["", "a", "b"];
/// Number of pool vectors.
pub const POOL: usize = 24;

/// Pool vector `i`: small integer components, so duplicates, parallel vectors and
/// exact cosines (0.5, 0, -1, ...) occur often.
pub fn pool_vector(i: usize) -> [f32; DIM] {
    let mut x = (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut v = [0.0f32; DIM];
    for c in &mut v {
        x ^= x >> 29;
        x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        *c = ((x >> 40) % 5) as f32 - 2.0;
    }
    if v.iter().all(|&c| c == 0.0) {
        v[i % DIM] = 1.0;
    }
    v
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

/// One step.
#[derive(Clone, Debug)]
pub enum Op {
    InsertSemantic {
        key: u8,
        vec: usize,
        scope: usize,
        ttl: Option<u64>,
        meta: Option<u8>,
    },
    Insert {
        key: u8,
        ttl: Option<u64>,
    },
    Remove {
        key: u8,
    },
    Search {
        vec: usize,
        scope: usize,
        thr: usize,
        k: usize,
    },
    SearchApproved {
        vec: usize,
        scope: usize,
        thr: usize,
        k: usize,
        allow: u8,
    },
    Advance(u64),
    Purge,
    Clear,
    /// Bad input: wrong dimension, NaN, zero vector, bad threshold. Must be refused and
    /// change nothing.
    Bad(u8),
}

/// How the cache is built.
#[derive(Clone, Debug)]
pub struct Config {
    pub capacity: u64,
    pub shards: usize,
    pub query_cache: usize,
    pub fixed_dim: bool,
}

/// Reads a configuration and operations from raw bytes (every input is valid).
pub fn decode(data: &[u8]) -> (Config, Vec<Op>) {
    let mut it = data.iter().copied();
    let mut next = move || it.next();
    let c0 = next().unwrap_or(0);
    let config = Config {
        capacity: 2 + u64::from(c0 % 15),
        shards: if c0 & 0x10 != 0 { 2 } else { 1 },
        query_cache: if c0 & 0x20 != 0 { 0 } else { 8 },
        fixed_dim: c0 & 0x40 != 0,
    };
    let mut ops: Vec<Op> = Vec::new();
    let mut last_search: Option<Op> = None;
    while let Some(b) = next() {
        let a = usize::from(next().unwrap_or(0));
        let c = next().unwrap_or(0);
        let op = match b % 16 {
            0..=4 => Op::InsertSemantic {
                key: b >> 4,
                vec: a % POOL,
                scope: usize::from(c % 3),
                ttl: (c & 0x08 != 0).then_some(u64::from(c >> 5) + 1),
                meta: (c & 0x04 != 0).then_some(c >> 4),
            },
            5 => Op::Insert {
                key: b >> 4,
                ttl: (c & 1 != 0).then_some(u64::from(c >> 5) + 1),
            },
            6 => Op::Remove { key: b >> 4 },
            // The same search again, so that the query cache answers some.
            10 if last_search.is_some() => last_search.clone().unwrap_or(Op::Purge),
            7..=10 => Op::Search {
                vec: a % POOL,
                scope: usize::from(c % 3),
                thr: usize::from(b >> 4) % THRESHOLDS.len(),
                k: 1 + usize::from(c >> 6),
            },
            11 | 12 => Op::SearchApproved {
                vec: a % POOL,
                scope: usize::from(c % 3),
                thr: usize::from(b >> 4) % THRESHOLDS.len(),
                k: 1 + usize::from((c >> 2) % 3),
                allow: c,
            },
            13 => Op::Advance(u64::from(b >> 4)),
            14 => {
                if b >> 4 == 0 {
                    Op::Clear
                } else {
                    Op::Purge
                }
            }
            _ => Op::Bad(b >> 4),
        };
        if matches!(op, Op::Search { .. }) {
            last_search = Some(op.clone());
        }
        ops.push(op);
    }
    (config, ops)
}

#[derive(Clone, Debug)]
struct Sem {
    vec: usize,
    scope: usize,
    meta: Option<u8>,
    seq: u64,
}

#[derive(Clone, Debug)]
struct Entry {
    value: u64,
    deadline: Option<u64>,
    sem: Option<Sem>,
}

/// What a run saw, for the suites to assert coverage.
#[derive(Clone, Copy, Debug, Default)]
pub struct Seen {
    pub hits: usize,
    pub searches: usize,
    pub query_cache_hits: u64,
}

fn approved(allow: u8, meta: Option<&[u8]>) -> bool {
    match meta {
        None => allow & 1 != 0,
        Some(m) => allow & (1 << (1 + m.first().copied().unwrap_or(0) % 7)) != 0,
    }
}

/// Runs `ops` against a cache built from `config` and the model; `Err` describes the
/// first disagreement.
pub fn run(config: &Config, ops: &[Op]) -> Result<Seen, String> {
    let clock = ManualClock::new();
    let mut builder = SemanticCache::<u8, u64>::builder(config.capacity)
        .shards(config.shards)
        .seed(11)
        .query_cache(config.query_cache)
        .clock(clock.clone());
    if config.fixed_dim {
        builder = builder.dimension(DIM);
    }
    let cache = builder.build().map_err(|e| format!("build: {e}"))?;
    let mut model: BTreeMap<u8, Entry> = BTreeMap::new();
    let mut now = 0u64;
    let mut next_value = 1u64;
    let mut next_seq = 0u64;
    let mut seen = Seen::default();
    let live = |e: &Entry, now: u64| e.deadline.is_none_or(|d| now < d);

    for (step, op) in ops.iter().enumerate() {
        let ctx = |msg: String| format!("step {step} {op:?}: {msg}");
        match *op {
            Op::InsertSemantic {
                key,
                vec,
                scope,
                ttl,
                meta,
            } => {
                let value = next_value;
                next_value += 1;
                let mut opts = Insert::new().scope(SCOPES[scope]);
                if let Some(t) = ttl {
                    opts = opts.ttl(Duration::from_nanos(t * UNIT));
                }
                if let Some(m) = meta {
                    opts = opts.metadata(vec![m]);
                }
                cache
                    .insert_semantic_with(key, value, &pool_vector(vec), &opts)
                    .map_err(|e| ctx(format!("refused: {e}")))?;
                model.insert(
                    key,
                    Entry {
                        value,
                        deadline: ttl.map(|t| now + t * UNIT),
                        sem: Some(Sem {
                            vec,
                            scope,
                            meta,
                            seq: next_seq,
                        }),
                    },
                );
                next_seq += 1;
                if !cache.has_embedding(&key) {
                    return Err(ctx("no embedding right after a semantic write".into()));
                }
            }
            Op::Insert { key, ttl } => {
                let value = next_value;
                next_value += 1;
                match ttl {
                    Some(t) => cache.insert_with_ttl(key, value, Duration::from_nanos(t * UNIT)),
                    None => cache.insert(key, value),
                }
                .map_err(|e| ctx(format!("refused: {e}")))?;
                model.insert(
                    key,
                    Entry {
                        value,
                        deadline: ttl.map(|t| now + t * UNIT),
                        sem: None,
                    },
                );
                if cache.has_embedding(&key) {
                    return Err(ctx("a plain write kept the embedding".into()));
                }
            }
            Op::Remove { key } => {
                let got = cache.remove(&key);
                let m = model.remove(&key);
                if let Some(v) = got {
                    match m {
                        Some(e) if e.value == v && live(&e, now) => {}
                        other => return Err(ctx(format!("removed {v}, model had {other:?}"))),
                    }
                }
                if cache.has_embedding(&key) || cache.get(&key).is_some() {
                    return Err(ctx("still there after remove".into()));
                }
            }
            Op::Search { vec, scope, thr, k } => {
                let q = pool_vector(vec);
                let s = Search::new(THRESHOLDS[thr]).scope(SCOPES[scope]).k(k);
                let hits = cache
                    .search(&q, &s)
                    .map_err(|e| ctx(format!("search: {e}")))?;
                seen.searches += 1;
                seen.hits += hits.len();
                check(&cache, &model, now, &q, scope, thr, k, None, &hits).map_err(ctx)?;
            }
            Op::SearchApproved {
                vec,
                scope,
                thr,
                k,
                allow,
            } => {
                let q = pool_vector(vec);
                let s = Search::new(THRESHOLDS[thr]).scope(SCOPES[scope]).k(k);
                let hits = cache
                    .search_approved(&q, &s, |m| approved(allow, m))
                    .map_err(|e| ctx(format!("search: {e}")))?;
                seen.searches += 1;
                seen.hits += hits.len();
                check(&cache, &model, now, &q, scope, thr, k, Some(allow), &hits).map_err(ctx)?;
            }
            Op::Advance(units) => {
                now += units * UNIT;
                clock.advance(Duration::from_nanos(units * UNIT));
            }
            Op::Purge => cache.purge_expired(),
            Op::Clear => {
                cache.clear();
                model.clear();
            }
            Op::Bad(which) => {
                // Before the dimension is fixed a 5-vector is valid (and would fix it):
                // that case is only tried once the dimension is fixed.
                if which % 6 == 0 && cache.dimension().is_none() {
                    continue;
                }
                let before = cache.embedded_len();
                let err = match which % 6 {
                    0 => cache.insert_semantic(0, 0, &[1.0; DIM + 1]).err(),
                    1 => cache
                        .insert_semantic(0, 0, &[f32::NAN, 0.0, 0.0, 1.0])
                        .err(),
                    2 => cache.insert_semantic(0, 0, &[0.0; DIM]).err(),
                    3 => cache.semantic_search(&pool_vector(0), f32::NAN).err(),
                    4 => cache
                        .semantic_search(&[1.0, 0.0, f32::INFINITY, 0.0], 0.5)
                        .err(),
                    _ => cache.semantic_search(&pool_vector(0), -1.5).err(),
                };
                let expected = match which % 6 {
                    0 => SemanticError::DimensionMismatch {
                        expected: DIM,
                        found: DIM + 1,
                    },
                    1 => SemanticError::NonFinite { index: 0 },
                    2 => SemanticError::ZeroVector,
                    3 => SemanticError::InvalidThreshold(f32::NAN),
                    4 => SemanticError::NonFinite { index: 2 },
                    _ => SemanticError::InvalidThreshold(-1.5),
                };
                let same = match (&err, &expected) {
                    (
                        Some(SemanticError::InvalidThreshold(a)),
                        SemanticError::InvalidThreshold(b),
                    ) => a.to_bits() == b.to_bits(),
                    (Some(a), b) => a == b,
                    (None, _) => false,
                };
                if !same {
                    return Err(ctx(format!("got {err:?}, expected {expected:?}")));
                }
                if cache.embedded_len() != before {
                    return Err(ctx("bad input changed the cache".into()));
                }
            }
        }
        if cache.len() as u64 > config.capacity {
            return Err(ctx(format!("len {} over capacity", cache.len())));
        }
        cache
            .validate()
            .map_err(|e| ctx(format!("validate: {e}")))?;
    }
    seen.query_cache_hits = cache.query_cache_stats().hits;
    Ok(seen)
}

/// Checks one search answer against the model (see the module docs).
#[allow(clippy::too_many_arguments)]
fn check(
    cache: &SemanticCache<u8, u64, ManualClock>,
    model: &BTreeMap<u8, Entry>,
    now: u64,
    query: &[f32],
    scope: usize,
    thr: usize,
    k: usize,
    allow: Option<u8>,
    hits: &[SemanticHit<u8, u64>],
) -> Result<(), String> {
    let t = f64::from(THRESHOLDS[thr]);
    // Eligible: live in the model, with a vector in this scope, still present in the
    // cache, approved.
    let eligible: Vec<(u8, f64, u64, usize)> = model
        .iter()
        .filter_map(|(&key, e)| {
            let s = e.sem.as_ref()?;
            let alive = e.deadline.is_none_or(|d| now < d);
            let ok = alive
                && s.scope == scope
                && cache.has_embedding(&key)
                && allow.is_none_or(|a| approved(a, s.meta.map(|m| [m]).as_ref().map(|m| &m[..])));
            ok.then(|| (key, cosine(query, &pool_vector(s.vec)), s.seq, s.vec))
        })
        .collect();
    if hits.len() > k {
        return Err(format!("{} hits for k = {k}", hits.len()));
    }
    let mut prev: Option<(f32, u64)> = None;
    for h in hits {
        let e = model
            .get(&h.key)
            .ok_or_else(|| format!("hit {} not in the model", h.key))?;
        if e.value != h.value {
            return Err(format!(
                "hit {} has value {}, model {}",
                h.key, h.value, e.value
            ));
        }
        let Some(&(_, score, seq, _)) = eligible.iter().find(|x| x.0 == h.key) else {
            return Err(format!(
                "hit {} not eligible (expired, cleared, other scope, evicted or refused): {e:?}",
                h.key
            ));
        };
        if (f64::from(h.score) - score).abs() > TOL {
            return Err(format!(
                "hit {} score {} but cosine {score}",
                h.key, h.score
            ));
        }
        if score < t - TOL {
            return Err(format!("hit {} cosine {score} below threshold {t}", h.key));
        }
        let meta = e.sem.as_ref().and_then(|s| s.meta);
        if h.metadata.as_deref() != meta.map(|m| [m]).as_ref().map(|m| &m[..]) {
            return Err(format!("hit {} metadata {:?}", h.key, h.metadata));
        }
        if let Some(p) = prev
            && !(h.score < p.0 || (h.score == p.0 && seq < p.1))
        {
            return Err(format!("hit {} out of rank order", h.key));
        }
        prev = Some((h.score, seq));
    }
    for &(key, score, seq, vec) in &eligible {
        if hits.iter().any(|h| h.key == key) {
            continue;
        }
        // Ties: an entry with the very same vector as a hit scores exactly the same, so
        // it may be left out only if it is older (ties go to the most recent write).
        for h in hits {
            let same = model.get(&h.key).and_then(|e| e.sem.as_ref());
            if let Some(hs) = same
                && hs.vec == vec
                && hs.seq < seq
            {
                return Err(format!("left out {key} (newer, same vector) for {}", h.key));
            }
        }
        if hits.len() < k && score >= t + TOL {
            return Err(format!("missed {key} at cosine {score} (threshold {t})"));
        }
        if let Some(last) = hits.last()
            && hits.len() == k
            && score > f64::from(last.score) + TOL
        {
            return Err(format!(
                "missed {key} at cosine {score}, better than the last hit"
            ));
        }
    }
    Ok(())
}
