//! Cost per operation of each policy, single-threaded, at 1K, 100K and 1M entries.
//!
//! - `get_hit`: a full cache of `n` entries, keys drawn from a pre-generated sequence
//!   over `0..n`: uniform, Zipf s=1.0 (the skew real caches see), and `hot1k`: 1,024
//!   keys spread over the cache, the same hot set at every size (what stays constant
//!   is the memory touched, so growth here would be the policy's own);
//! - `insert_evict`: a full cache, every insert a new key that pushes one out.
//!
//! Run: `cargo bench --bench policies` (add `-- get_hit/Lru` to filter). The
//! instructions per hit at the same sizes, without the memory latency:
//! `benches/hit_instructions.sh`.

// criterion's macros generate undocumented items.
#![allow(missing_docs)]

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use polycache::{Lfu, Lru, Policy, S3Fifo, Ttl};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const SIZES: [u64; 3] = [1_000, 100_000, 1_000_000];
const SEQ: usize = 1 << 16;

/// Zipf(s = 1.0) ranks in `0..n` by inverse-CDF on the harmonic numbers.
fn zipf_keys(n: u64, count: usize, rng: &mut SmallRng) -> Vec<u64> {
    let h: f64 = (1..=n).map(|k| 1.0 / k as f64).sum();
    let mut cdf = Vec::with_capacity(n as usize);
    let mut acc = 0.0;
    for k in 1..=n {
        acc += 1.0 / (k as f64 * h);
        cdf.push(acc);
    }
    (0..count)
        .map(|_| {
            let u: f64 = rng.random();
            cdf.partition_point(|&c| c < u).min(n as usize - 1) as u64
        })
        // Scatter ranks over the key space so hot keys are not neighbours in memory.
        .map(|r| r.wrapping_mul(0x9E37_79B9_7F4A_7C15) % n)
        .collect()
}

/// Inserts `k -> k` with `ttl`; returns how many entries left.
fn put<P: Policy<u64, u64>>(cache: &mut P, k: u64, ttl: Option<Duration>) -> usize {
    let hash = cache.hash(&k);
    cache.insert_hashed(hash, k, k, ttl).unwrap().len()
}

/// Benchmarks one policy; every write carries `ttl`.
/// A sequence over 1,024 keys spread evenly over `0..n`.
fn hot_keys(n: u64, rng: &mut SmallRng) -> Vec<u64> {
    let stride = (n / 1024).max(1);
    (0..SEQ)
        .map(|_| rng.random_range(0..1024u64.min(n)) * stride)
        .collect()
}

fn bench_policy<P, F>(c: &mut Criterion, name: &str, make: F, ttl: Option<Duration>)
where
    P: Policy<u64, u64>,
    F: Fn(u64) -> P,
{
    let mut rng = SmallRng::seed_from_u64(7);
    let mut group = c.benchmark_group("get_hit");
    group.throughput(Throughput::Elements(1));
    for &n in &SIZES {
        let mut cache = make(n);
        for k in 0..n {
            put(&mut cache, k, ttl);
        }
        let uniform: Vec<u64> = (0..SEQ).map(|_| rng.random_range(0..n)).collect();
        let zipf = zipf_keys(n, SEQ, &mut rng);
        let hot = hot_keys(n, &mut rng);
        for (dist, keys) in [("uniform", &uniform), ("zipf", &zipf), ("hot1k", &hot)] {
            group.bench_with_input(
                BenchmarkId::new(format!("{name}/{dist}"), n),
                keys,
                |b, keys| {
                    let mut i = 0;
                    b.iter(|| {
                        i = (i + 1) & (SEQ - 1);
                        black_box(cache.get(&keys[i]).copied())
                    })
                },
            );
        }
    }
    group.finish();

    let mut group = c.benchmark_group("insert_evict");
    group.throughput(Throughput::Elements(1));
    for &n in &SIZES {
        let mut cache = make(n);
        for k in 0..n {
            put(&mut cache, k, ttl);
        }
        let mut next = n;
        group.bench_function(BenchmarkId::new(name, n), |b| {
            b.iter(|| {
                next += 1;
                black_box(put(&mut cache, next, ttl))
            })
        });
    }
    group.finish();
}

/// The memory-bound floor: a plain `HashMap` look-up (same hasher family, same key
/// sequences, no policy). Growth from 1K to 1M that this shows too is the memory
/// hierarchy (1K entries fit in L1, 1M do not fit in L3), not the policy.
fn baseline(c: &mut Criterion) {
    let mut rng = SmallRng::seed_from_u64(7);
    let mut group = c.benchmark_group("get_hit");
    group.throughput(Throughput::Elements(1));
    for &n in &SIZES {
        let map: HashMap<u64, u64, ahash::RandomState> = (0..n).map(|k| (k, k)).collect();
        let uniform: Vec<u64> = (0..SEQ).map(|_| rng.random_range(0..n)).collect();
        let zipf = zipf_keys(n, SEQ, &mut rng);
        let hot = hot_keys(n, &mut rng);
        for (dist, keys) in [("uniform", &uniform), ("zipf", &zipf), ("hot1k", &hot)] {
            group.bench_with_input(
                BenchmarkId::new(format!("HashMap/{dist}"), n),
                keys,
                |b, keys| {
                    let mut i = 0;
                    b.iter(|| {
                        i = (i + 1) & (SEQ - 1);
                        black_box(map.get(&keys[i]).copied())
                    })
                },
            );
        }
    }
    group.finish();
}

fn policies(c: &mut Criterion) {
    bench_policy(c, "Lru", |n| Lru::<u64, u64>::new(n).unwrap(), None);
    bench_policy(c, "Lfu", |n| Lfu::<u64, u64>::new(n).unwrap(), None);
    bench_policy(
        c,
        "TinyLfu",
        |n| polycache::policies::TinyLfu::<u64, u64>::new(n).unwrap(),
        None,
    );
    bench_policy(c, "S3Fifo", |n| S3Fifo::<u64, u64>::new(n).unwrap(), None);
    // Ttl with a deadline on every entry, so the timer wheel is on the measured path.
    bench_policy(
        c,
        "Ttl",
        |n| Ttl::<u64, u64>::new(n).unwrap(),
        Some(Duration::from_secs(3600)),
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = baseline, policies
}
criterion_main!(benches);
