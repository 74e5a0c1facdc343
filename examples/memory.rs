//! Heap bytes per entry of each policy for `u64 -> u64` at 1M entries, measured with a
//! counting global allocator, on a full cache after another 1M inserts pushed 1M
//! entries out (so what grows on eviction, S3Fifo's ghost, is counted).
//!
//! Run: `cargo run --release --example memory`

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use polycache::{Lfu, Lru, Policy, S3Fifo, Ttl};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// The allocator only counts and forwards to `System`; no `unsafe` code of ours runs
// beyond the trait's required signatures, which `System` implements.
#[allow(unsafe_code)]
// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// `System`'s guarantees hold; the counter is a plain atomic.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged; `ptr` came from `alloc` with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged; the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const N: u64 = 1_000_000;

fn measure<P: Policy<u64, u64>>(name: &str, make: impl FnOnce() -> P, ttl: bool) {
    let before = LIVE.load(Ordering::Relaxed);
    let mut cache = make();
    for k in 0..2 * N {
        let hash = cache.hash(&k);
        let ttl = ttl.then_some(std::time::Duration::from_secs(3600));
        cache.insert_hashed(hash, k, k, ttl).unwrap();
    }
    assert_eq!(cache.len() as u64, N);
    let bytes = LIVE.load(Ordering::Relaxed) - before;
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
