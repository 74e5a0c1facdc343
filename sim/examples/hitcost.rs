//! Quick hit-cost comparison of `Lru` and `TinyLfu` (not a benchmark: criterion's
//! `cargo bench --bench policies -- get_hit` is the reference). Caches of `n` entries;
//! reads of present keys drawn uniformly and from a 1K hot set. Two states: `fresh`
//! (filled to capacity, nothing evicted yet: what the criterion bench measures) and
//! `evicted` (then `n / 2` more inserts: TinyLfu's climber and admission are live).
//! Timings are interleaved short runs (4,096 reads, well under a scheduler slice), and
//! the minimum is kept, so that a loaded machine disturbs them less.
//!
//! `cargo run --release -p polycache-sim --example hitcost` (`N=1000,100000` to pick
//! sizes, `REPS=60` for more repetitions).

use std::hint::black_box;
use std::time::Instant;

use polycache_policies::{Lru, Policy, TinyLfu};

/// Reads per timed run.
const CHUNK: usize = 4096;

fn draw(present: &[u64], hot: bool) -> Vec<u64> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let n = present.len() as u64;
    (0..1 << 16)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let i = if hot {
                (x % 1024) * (n / 1024).max(1) % n
            } else {
                x % n
            };
            present[i as usize]
        })
        .collect()
}

fn time<P: Policy<u64, u64>>(cache: &mut P, keys: &[u64]) -> f64 {
    let start = Instant::now();
    for k in keys {
        black_box(cache.get(k).copied());
    }
    start.elapsed().as_nanos() as f64 / keys.len() as f64
}

fn present<P: Policy<u64, u64>>(cache: &P) -> Vec<u64> {
    let mut keys: Vec<u64> = cache.iter().map(|(k, _)| *k).collect();
    keys.sort_unstable();
    keys
}

fn main() {
    let sizes: Vec<u64> = std::env::var("N").map_or(vec![1_000, 100_000, 1_000_000], |v| {
        v.split(',').map(|s| s.parse().unwrap()).collect()
    });
    let reps: usize = std::env::var("REPS").map_or(10, |v| v.parse().unwrap());
    for n in sizes {
        for evicted in [false, true] {
            let mut lru = Lru::<u64, u64>::new(n).unwrap();
            let mut tiny = TinyLfu::<u64, u64>::new(n).unwrap();
            let more = if evicted { n + n / 2 } else { n };
            for k in 0..more {
                lru.insert(k, k).unwrap();
                tiny.insert(k, k).unwrap();
            }
            let (lk, tk) = (present(&lru), present(&tiny));
            for hot in [false, true] {
                let (lks, tks) = (draw(&lk, hot), draw(&tk, hot));
                let (mut a, mut b) = (f64::MAX, f64::MAX);
                for _ in 0..reps {
                    for (l, t) in lks.chunks(CHUNK).zip(tks.chunks(CHUNK)) {
                        a = a.min(time(&mut lru, l));
                        b = b.min(time(&mut tiny, t));
                    }
                }
                println!(
                    "n={n:>8} {:>7} {:>7}: Lru {a:6.1} ns  TinyLfu {b:6.1} ns  ratio {:.2}",
                    if evicted { "evicted" } else { "fresh" },
                    if hot { "hot1k" } else { "uniform" },
                    b / a
                );
            }
        }
    }
}
