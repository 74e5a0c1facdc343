//! Semantic search latency against the machine's memory bandwidth, measured in the same
//! run.
//!
//! For 10K, 100K and 1M entries of 384 dimensions: the median latency of a cold search
//! (query cache off; a threshold nothing reaches, so the whole scope is scanned and
//! nothing is cloned), the bytes of vectors scanned per second, and the bound: the
//! bytes per second of a plain pass summing a buffer of the same size (several
//! accumulators, so it is limited by memory, not by the adder). Also the raw kernel
//! over one flat buffer (no shards, no locks), and a repeated query served by the query
//! cache.
//!
//! ```text
//! cargo bench --bench semantic              # all sizes
//! cargo bench --bench semantic -- 100000    # one size
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use polycache::semantic::SemanticCache;

const DIM: usize = 384;

struct Rng(u64);

impl Rng {
    fn next_f32(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }
    fn vector(&mut self) -> Vec<f32> {
        (0..DIM).map(|_| self.next_f32()).collect()
    }
}

/// Sums `data` with 16 accumulators: the bandwidth bound's pass.
fn sum(data: &[f32]) -> f32 {
    let mut acc = [0.0f32; 16];
    let chunks = data.chunks_exact(16);
    let tail: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for i in 0..16 {
            acc[i] += c[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// The scan kernel's shape over one flat buffer: best dot product of `q` with each row.
fn flat_scan(q: &[f32], data: &[f32]) -> f32 {
    let mut best = f32::NEG_INFINITY;
    for row in data.chunks_exact(DIM) {
        let mut acc = [0.0f32; 16];
        for (x, y) in row.chunks_exact(16).zip(q.chunks_exact(16)) {
            for i in 0..16 {
                acc[i] += x[i] * y[i];
            }
        }
        let s: f32 = acc.iter().sum();
        if s > best {
            best = s;
        }
    }
    best
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

/// Runs `f` `reps` times; the median.
fn time(reps: usize, mut f: impl FnMut()) -> Duration {
    f(); // warm
    median(
        (0..reps)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let wanted: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes: Vec<usize> = if wanted.is_empty() {
        vec![10_000, 100_000, 1_000_000]
    } else {
        wanted
    };
    println!(
        "| entries | bytes scanned | cold search (median) | scan GB/s | bound GB/s (sum pass) | % of bound | flat kernel GB/s | % of bound | query-cache hit |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for n in sizes {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ n as u64);
        let cache = SemanticCache::<u32, u32>::builder(n as u64)
            .build()
            .unwrap();
        let mut flat = Vec::with_capacity(n * DIM);
        for k in 0..n {
            let v = rng.vector();
            cache.insert_semantic(k as u32, k as u32, &v).unwrap();
            flat.extend_from_slice(&v);
        }
        let queries: Vec<Vec<f32>> = (0..8).map(|_| rng.vector()).collect();
        let bytes = (n * DIM * 4) as f64;
        let reps = (2_000_000_000 / (n * DIM * 4)).clamp(15, 400);

        cache.set_query_cache_enabled(false);
        let mut qi = 0;
        let mut rounds = Vec::new();
        // Interleave the three measurements, three rounds, so that a neighbour's load
        // hits them alike; keep each one's best round.
        for _ in 0..3 {
            let bound = time(reps, || {
                black_box(sum(black_box(&flat)));
            });
            let search = time(reps, || {
                qi = (qi + 1) % queries.len();
                // 0.99: random vectors never reach it, so every row is scanned.
                black_box(cache.semantic_search(&queries[qi], 0.99).unwrap());
            });
            let kernel = time(reps, || {
                qi = (qi + 1) % queries.len();
                black_box(flat_scan(&queries[qi], black_box(&flat)));
            });
            rounds.push((bound, search, kernel));
        }
        let bound = rounds.iter().map(|r| r.0).min().unwrap();
        let search = rounds.iter().map(|r| r.1).min().unwrap();
        let kernel = rounds.iter().map(|r| r.2).min().unwrap();

        cache.set_query_cache_enabled(true);
        cache.semantic_search(&queries[0], 0.5).unwrap();
        let hot = time(1000, || {
            black_box(cache.semantic_search(&queries[0], 0.5).unwrap());
        });

        let gbs = |d: Duration| bytes / d.as_secs_f64() / 1e9;
        println!(
            "| {n} | {:.1} MB | {:.1} µs | {:.1} | {:.1} | {:.0}% | {:.1} | {:.0}% | {:.2} µs |",
            bytes / 1e6,
            search.as_secs_f64() * 1e6,
            gbs(search),
            gbs(bound),
            100.0 * bound.as_secs_f64() / search.as_secs_f64(),
            gbs(kernel),
            100.0 * bound.as_secs_f64() / kernel.as_secs_f64(),
            hot.as_secs_f64() * 1e6,
        );
    }
}
