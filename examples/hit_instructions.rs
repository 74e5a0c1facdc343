//! One million `get` hits on a full, warm cache of `n` entries (`u64 -> u64`, uniform keys),
//! for counting the instructions per hit under callgrind: the cost a policy's code adds,
//! apart from the memory latency that wall-clock time at 1M entries is mostly made of.
//! `benches/hit_instructions.sh` runs it for every policy at 1K, 100K and 1M entries.
//!
//! Run: `cargo run --release --example hit_instructions -- POLICY N`, with POLICY one
//! of `lru`, `lfu`, `ttl` (every entry with a one-hour TTL), `tinylfu`, `s3fifo`.

use std::hint::black_box;
use std::time::Duration;

use polycache::policies::TinyLfu;
use polycache::{Lfu, Lru, Policy, S3Fifo, Ttl};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Gets replayed.
const GETS: usize = 1_000_000;

/// `count` keys drawn uniformly from `0..n` (seeded: the same keys every run).
fn keys(n: u64, count: usize) -> Vec<u64> {
    let mut rng = SmallRng::seed_from_u64(7);
    (0..count).map(|_| rng.random_range(0..n)).collect()
}

/// The measured loop (its inclusive cost is what the script reads): one `get` per key.
#[inline(never)]
fn replay_gets<P: Policy<u64, u64>>(cache: &mut P, keys: &[u64]) -> usize {
    keys.iter().filter(|k| cache.get(k).is_some()).count()
}

/// Fills `cache` with `0..n` (every write with `ttl`), reads every key once, then
/// replays the gets. The warm-up read matters for policies whose first hit on an
/// entry does more than the next ones (TinyLfu promotes it from probation): without
/// it, 1M gets on 1M entries would mostly be first hits, and 1M gets on 1K entries
/// mostly not.
fn run<P: Policy<u64, u64>>(mut cache: P, n: u64, ttl: Option<Duration>) {
    for k in 0..n {
        let hash = cache.hash(&k);
        cache.insert_hashed(hash, k, k, ttl).expect("fits");
    }
    for k in 0..n {
        black_box(cache.get(&k));
    }
    let hits = black_box(replay_gets(&mut cache, &keys(n, GETS)));
    assert_eq!(hits, GETS, "every get is a hit on a full cache");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(policy), Some(Ok(n))) = (args.first(), args.get(1).map(|s| s.parse::<u64>())) else {
        eprintln!("usage: hit_instructions POLICY N (POLICY: lru lfu ttl tinylfu s3fifo)");
        std::process::exit(2);
    };
    let hour = Some(Duration::from_secs(3600));
    match policy.as_str() {
        "lru" => run(Lru::<u64, u64>::new(n).unwrap(), n, None),
        "lfu" => run(Lfu::<u64, u64>::new(n).unwrap(), n, None),
        "ttl" => run(Ttl::<u64, u64>::new(n).unwrap(), n, hour),
        "tinylfu" => run(TinyLfu::<u64, u64>::new(n).unwrap(), n, None),
        "s3fifo" => run(S3Fifo::<u64, u64>::new(n).unwrap(), n, None),
        other => {
            eprintln!("unknown policy {other}");
            std::process::exit(2);
        }
    }
}
