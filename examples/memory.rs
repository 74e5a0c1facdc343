//! Heap bytes per entry of each policy for `u64 -> u64` at 1M entries, measured with a
//! counting global allocator, on a full cache after another 1M inserts pushed 1M
//! entries out (so what grows on eviction, S3Fifo's ghost, is counted).
//!
//! Run: `cargo run --release --example memory`

use polycache::{Lfu, Lru, Policy, S3Fifo, Ttl};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

#[global_allocator]
static GLOBAL: counting_alloc::Counting = counting_alloc::Counting;

const N: u64 = 1_000_000;

fn measure<P: Policy<u64, u64>>(name: &str, make: impl FnOnce() -> P, ttl: bool) {
    let (before, _) = counting_alloc::live();
    let mut cache = make();
    for k in 0..2 * N {
        let hash = cache.hash(&k);
        let ttl = ttl.then_some(std::time::Duration::from_secs(3600));
        cache.insert_hashed(hash, k, k, ttl).unwrap();
    }
    assert_eq!(cache.len() as u64, N);
    let bytes = counting_alloc::live().0 - before;
    println!(
        "{name:<16} {:>6.1} bytes/entry  ({:.1} MiB for {N} entries)",
        bytes as f64 / N as f64,
        bytes as f64 / (1 << 20) as f64
    );
    drop(cache);
}

fn main() {
    println!("heap bytes per entry, u64 -> u64, {N} entries (capacity {N}):");
    measure("Lru", || Lru::<u64, u64>::new(N).unwrap(), false);
    measure("Lfu", || Lfu::<u64, u64>::new(N).unwrap(), false);
    measure("Ttl", || Ttl::<u64, u64>::new(N).unwrap(), false);
    measure(
        "TinyLfu",
        || polycache::policies::TinyLfu::<u64, u64>::new(N).unwrap(),
        false,
    );
    measure("S3Fifo", || S3Fifo::<u64, u64>::new(N).unwrap(), false);
    measure("Lru + TTLs", || Lru::<u64, u64>::new(N).unwrap(), true);
}
