//! Heap bytes per entry of polycache and its peers, side by side, measured with a
//! counting global allocator.
//!
//! ```text
//! cd benches/compare && cargo run --release --bin memory
//! ```
//!
//! Every cache is built for 1M entries and sent 2M distinct keys, so it is full and
//! has pushed 1M entries out (what grows on eviction, a ghost or a queue, is counted).
//! Then moka runs its pending maintenance, and each row gives the live heap bytes over
//! the entries the cache holds, and the live allocations per entry. The counts are of
//! the bytes asked for: the allocator's own overhead per allocation (8 to 16 bytes in
//! glibc) comes on top, so a cache that allocates once per entry costs more than its
//! bytes say: see the allocations column.
//!
//! - Typed: `u64 -> u64`, a capacity of 1M entries.
//! - Bytes: 16-byte keys, 100-byte values, a byte budget of 1M entries of the ByteMap
//!   section's weight (key + value + `ENTRY_OVERHEAD`), the same weigher for all; the
//!   last column is what an entry costs beyond its 116 bytes of key and value.
//!
//! A separate binary from the throughput comparison, so that the counting allocator
//! slows none of the timed runs.

use std::cell::RefCell;
use std::num::NonZeroUsize;

use bytes::Bytes;
use polycache::bytemap::{ByteMap, BytePolicy};
use polycache::policies::{LfuOrder, LruOrder, Order, S3FifoOrder, TinyLfuOrder};
use polycache::{Cache, Lru, Policy};

#[path = "../byte_entries.rs"]
mod byte_entries;
#[path = "../../../../examples/support/counting_alloc.rs"]
mod counting_alloc;

use byte_entries::{ByteWeighter, VALUE, WEIGHT, byte_weight, key_of};

#[global_allocator]
static GLOBAL: counting_alloc::Counting = counting_alloc::Counting;

/// Entries every cache is built for; each is sent twice as many distinct keys.
const N: u64 = 1_000_000;

/// What a row needs of a cache: take key number `k` (with its value), settle any
/// deferred work, and say how many entries it holds.
trait Fill {
    fn put(&self, k: u64);
    fn settle(&self) {}
    fn held(&self) -> usize;
}

impl<P: Policy<u64, u64> + Send + Sync> Fill for Cache<u64, u64, P> {
    fn put(&self, k: u64) {
        let _ = self.insert(k, k);
    }
    fn held(&self) -> usize {
        self.len()
    }
}

impl Fill for quick_cache::sync::Cache<u64, u64> {
    fn put(&self, k: u64) {
        self.insert(k, k);
    }
    fn held(&self) -> usize {
        self.len()
    }
}

impl Fill for moka::sync::Cache<u64, u64> {
    fn put(&self, k: u64) {
        self.insert(k, k);
    }
    fn settle(&self) {
        self.run_pending_tasks();
    }
    fn held(&self) -> usize {
        self.entry_count() as usize
    }
}

impl Fill for RefCell<Lru<u64, u64>> {
    fn put(&self, k: u64) {
        let _ = self.borrow_mut().insert(k, k);
    }
    fn held(&self) -> usize {
        self.borrow().len()
    }
}

impl Fill for RefCell<lru::LruCache<u64, u64>> {
    fn put(&self, k: u64) {
        self.borrow_mut().put(k, k);
    }
    fn held(&self) -> usize {
        self.borrow().len()
    }
}

/// The value every byte cache stores.
const VALUE_BYTES: [u8; VALUE] = [7; VALUE];

/// Entry `k` as quick_cache and moka hold it: key and value each in its own `Bytes`.
fn byte_entry(k: u64) -> (Bytes, Bytes) {
    (
        Bytes::copy_from_slice(&key_of(k)),
        Bytes::copy_from_slice(&VALUE_BYTES),
    )
}

impl<P: BytePolicy> Fill for ByteMap<P> {
    fn put(&self, k: u64) {
        let _ = self.insert_slice(&key_of(k), &VALUE_BYTES);
    }
    fn held(&self) -> usize {
        self.len()
    }
}

impl Fill for quick_cache::sync::Cache<Bytes, Bytes, ByteWeighter> {
    fn put(&self, k: u64) {
        let (key, value) = byte_entry(k);
        self.insert(key, value);
    }
    fn held(&self) -> usize {
        self.len()
    }
}

impl Fill for moka::sync::Cache<Bytes, Bytes> {
    fn put(&self, k: u64) {
        let (key, value) = byte_entry(k);
        self.insert(key, value);
    }
    fn settle(&self) {
        self.run_pending_tasks();
    }
    fn held(&self) -> usize {
        self.entry_count() as usize
    }
}

/// Builds a cache with `build`, sends it keys `0..2N`, lets it settle, and prints a
/// table row: heap bytes and allocations per entry held, and the bytes per entry
/// beyond `payload` (key and value bytes) if non-zero.
fn row<C: Fill>(name: &str, payload: u64, build: impl FnOnce() -> C) {
    let (bytes0, allocs0) = counting_alloc::live();
    let cache = build();
    for k in 0..2 * N {
        cache.put(k);
    }
    cache.settle();
    let held = cache.held().max(1) as f64;
    let (bytes1, allocs1) = counting_alloc::live();
    let bytes = bytes1.wrapping_sub(bytes0) as f64;
    let allocs = allocs1.wrapping_sub(allocs0) as f64;
    print!(
        "| {name} | {held:.0} | {:.1} | {:.2} |",
        bytes / held,
        allocs / held
    );
    if payload > 0 {
        print!(" {:.1} |", bytes / held - payload as f64);
    }
    println!();
    drop(cache);
}

/// A typed `Cache` of capacity `N` over `order`.
fn cache<O>(order: O) -> impl Fill
where
    O: Order<u64, u64> + Clone + Send + Sync,
    O::Node: Send + Sync,
{
    Cache::builder(N).order(order).build().unwrap()
}

/// A `ByteMap` of `budget` bytes over `order`.
fn byte_map<O: BytePolicy>(budget: u64, order: O) -> ByteMap<O> {
    ByteMap::builder(budget).policy(order).build().unwrap()
}

fn typed() {
    println!(
        "Typed: u64 -> u64, capacity {N} entries, after {} inserts of distinct keys",
        2 * N
    );
    println!();
    println!("| cache | entries held | heap bytes/entry | allocations/entry |");
    println!("|---|---|---|---|");
    row("polycache Cache (Lru)", 0, || cache(LruOrder::default()));
    row("polycache Cache (Lfu)", 0, || cache(LfuOrder::default()));
    row("polycache Cache (TinyLfu)", 0, || {
        cache(TinyLfuOrder::default())
    });
    row("polycache Cache (S3Fifo)", 0, || {
        cache(S3FifoOrder::default())
    });
    row("quick_cache (sync)", 0, || {
        quick_cache::sync::Cache::<u64, u64>::new(N as usize)
    });
    row("moka (sync)", 0, || moka::sync::Cache::<u64, u64>::new(N));
    // The single-threaded pair: no locks, no shards.
    row("polycache Lru (bare Policy)", 0, || {
        RefCell::new(Lru::<u64, u64>::builder(N).build().unwrap())
    });
    row("lru::LruCache", 0, || {
        RefCell::new(lru::LruCache::<u64, u64>::new(
            NonZeroUsize::new(N as usize).unwrap(),
        ))
    });
}

fn bytes() {
    let budget = N * WEIGHT;
    println!();
    println!(
        "Bytes: 16-byte keys, {VALUE}-byte values, a budget of {budget} bytes ({N} entries of {WEIGHT} weighed bytes), after {} inserts of distinct keys",
        2 * N
    );
    println!();
    println!(
        "| cache | entries held | heap bytes/entry | allocations/entry | bytes/entry beyond key and value |"
    );
    println!("|---|---|---|---|---|");
    let payload = 16 + VALUE as u64;
    row("polycache ByteMap (Lru)", payload, || {
        byte_map(budget, LruOrder::default())
    });
    row("polycache ByteMap (Lfu)", payload, || {
        byte_map(budget, LfuOrder::default())
    });
    row("polycache ByteMap (TinyLfu)", payload, || {
        byte_map(budget, TinyLfuOrder::default())
    });
    row("polycache ByteMap (S3Fifo)", payload, || {
        byte_map(budget, S3FifoOrder::default())
    });
    row("quick_cache (sync)", payload, || {
        quick_cache::sync::Cache::with_weighter(N as usize, budget, ByteWeighter)
    });
    row("moka (sync)", payload, || {
        moka::sync::Cache::builder()
            .max_capacity(budget)
            .weigher(|k: &Bytes, v: &Bytes| byte_weight(k, v) as u32)
            .build()
    });
}

fn main() {
    typed();
    bytes();
}
