//! Quick hit-cost comparison of `Lru` and `TinyLfu` (not a benchmark: criterion's
//! `cargo bench --bench policies -- get_hit` is the reference). Full caches of `n`
//! entries, reads of keys drawn uniformly and from a 1K hot set, interleaved rounds.
//!
//! `cargo run --release -p polycache-sim --example hitcost`

use std::hint::black_box;
use std::time::Instant;

use polycache_policies::{Lru, Policy, TinyLfu};

fn keys(n: u64, hot: bool) -> Vec<u64> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..1 << 16)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if hot {
                (x % 1024) * (n / 1024).max(1)
            } else {
                x % n
            }
        })
        .collect()
}

fn time<P: Policy<u64, u64>>(cache: &mut P, keys: &[u64], rounds: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..rounds {
        for k in keys {
            black_box(cache.get(k).copied());
        }
    }
    start.elapsed().as_nanos() as f64 / (rounds * keys.len()) as f64
}

fn main() {
    let sizes: Vec<u64> = std::env::var("N").map_or(vec![1_000, 100_000, 1_000_000], |v| {
        v.split(',').map(|s| s.parse().unwrap()).collect()
    });
    for n in sizes {
        let mut lru = Lru::<u64, u64>::new(n).unwrap();
        let mut tiny = TinyLfu::<u64, u64>::new(n).unwrap();
        for k in 0..n {
            lru.insert(k, k).unwrap();
            tiny.insert(k, k).unwrap();
        }
        for hot in [false, true] {
            let ks = keys(n, hot);
            let (mut a, mut b) = (f64::MAX, f64::MAX);
            for _ in 0..7 {
                a = a.min(time(&mut lru, &ks, 20));
                b = b.min(time(&mut tiny, &ks, 20));
            }
            println!(
                "n={n:>8} {:>7}: Lru {a:6.1} ns  TinyLfu {b:6.1} ns  ratio {:.2}",
                if hot { "hot1k" } else { "uniform" },
                b / a
            );
        }
    }
}
