//! The lock-cost section (`--lock-cost`): where a 1-thread operation's time goes.
//!
//! Workloads (a) and (b) of the main table, 1 thread, and (b) again on a cache of 1,024
//! entries (Zipf over those keys), small enough to stay in the core's own caches, so
//! that instructions and the lock set the pace there, not memory; for four caches:
//! polycache's
//! `S3Fifo` policy alone and quick_cache's `unsync::Cache` (each in a `RefCell`: no lock,
//! no shards), then polycache's `Cache` (S3Fifo, no hit counts) and quick_cache's
//! `sync::Cache`. The gap between a policy alone and its concurrent cache is what the
//! sharding and the lock cost a thread that has the cache to itself. Before the table,
//! the cost of the atomic read-modify-writes every lock's read path is made of, on an
//! uncontended line: a pair of them (enter and leave), and one beside a plain store.
//!
//! ```text
//! cd benches/compare && cargo run --release -- --lock-cost [--runs N]
//! ```

use std::cell::RefCell;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use polycache::policies::S3FifoOrder;
use polycache::{Cache, Policy, S3Fifo};

use crate::{
    Bench, CAPACITY, KEYS, Poly, Quick, interleaved, key_of_rank, print_table, runs, zipf_trace,
};

/// The operations of workloads (a) and (b) for one thread; `&self` through a `RefCell`
/// for the caches that take `&mut self`.
trait Single {
    fn get(&self, k: u64) -> Option<u64>;
    fn insert(&self, k: u64, v: u64);
}

struct Bare(RefCell<S3Fifo<u64, u64>>);
struct QuickUnsync(RefCell<quick_cache::unsync::Cache<u64, u64>>);

/// The concurrent caches run through the main table's [`Bench`] wrappers.
impl<C: Bench> Single for C {
    #[inline]
    fn get(&self, k: u64) -> Option<u64> {
        Bench::get(self, k)
    }
    #[inline]
    fn insert(&self, k: u64, v: u64) {
        Bench::insert(self, k, v);
    }
}

impl Single for Bare {
    #[inline]
    fn get(&self, k: u64) -> Option<u64> {
        self.0.borrow_mut().get(&k).copied()
    }
    #[inline]
    fn insert(&self, k: u64, v: u64) {
        let _ = self.0.borrow_mut().insert(k, v);
    }
}

impl Single for QuickUnsync {
    #[inline]
    fn get(&self, k: u64) -> Option<u64> {
        self.0.borrow_mut().get(&k).copied()
    }
    #[inline]
    fn insert(&self, k: u64, v: u64) {
        self.0.borrow_mut().insert(k, v);
    }
}

const NAMES: [&str; 4] = [
    "polycache S3Fifo policy alone (no lock, no shards)",
    "quick_cache unsync (no lock, no shards)",
    "polycache Cache S3Fifo, no hit counts",
    "quick_cache sync",
];
/// quick_cache sync's row: the ratios are to it.
const QUICK_ROW: usize = 3;

/// Entries of the cache-resident column's cache (and keys of its trace).
const SMALL: u64 = 1024;

/// Workload (a), or else (b) on a cache filled with the `fill` keys of its trace's key
/// space: (Mops/s, hit ratio).
fn run<C: Single>(cache: C, a: bool, trace: &[u64], fill: u64) -> (f64, f64) {
    if !a {
        for rank in 0..fill {
            cache.insert(key_of_rank(rank), rank);
        }
    }
    let pass = |cache: &C| {
        let mut hits = 0u64;
        for &k in trace {
            match cache.get(k) {
                Some(v) => {
                    black_box(v);
                    hits += 1;
                }
                None if a => cache.insert(k, k),
                None => {}
            }
        }
        hits
    };
    pass(&cache);
    let start = Instant::now();
    let hits = pass(&cache);
    let secs = start.elapsed().as_secs_f64();
    let ops = trace.len() as f64;
    (ops / secs / 1e6, hits as f64 / ops)
}

/// Nanoseconds per round of `f` on one uncontended atomic, over `n` rounds.
fn atomic_ns(n: u64, f: impl Fn(&AtomicU64, u64)) -> f64 {
    let a = AtomicU64::new(0);
    let start = Instant::now();
    for i in 0..n {
        f(black_box(&a), i);
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

pub(crate) fn main(quick: bool) {
    let runs = runs(quick);
    let n = if quick { 20_000_000 } else { 100_000_000 };
    let two = atomic_ns(n, |a, _| {
        a.fetch_add(1, Ordering::Acquire);
        a.fetch_sub(1, Ordering::Release);
    });
    let one = atomic_ns(n, |a, _| {
        a.fetch_add(1, Ordering::Acquire);
        a.store(0, Ordering::Release);
    });
    let none = atomic_ns(n, |a, i| {
        a.store(i, Ordering::Release);
        a.store(0, Ordering::Release);
    });
    println!(
        "uncontended atomics, ns per enter+leave: 2 read-modify-writes {two:.2}, 1 and a store {one:.2}, 2 stores {none:.2}"
    );
    let per_thread = if quick { 2_000_000 } else { 5_000_000 };
    let trace_a = zipf_trace(KEYS, per_thread, 1);
    let trace_b = zipf_trace(CAPACITY as usize, per_thread, 11);
    let trace_small = zipf_trace(SMALL as usize, per_thread, 13);
    println!(
        "capacity {CAPACITY} (the last column {SMALL}), u64 -> u64, 1 thread, {per_thread} ops per run, median of {runs} runs"
    );
    let results = interleaved(runs, 3, NAMES.len(), |c, i| {
        let (a, trace, capacity) = match c {
            0 => (true, &trace_a, CAPACITY),
            1 => (false, &trace_b, CAPACITY),
            _ => (false, &trace_small, SMALL),
        };
        match i {
            0 => run(
                Bare(RefCell::new(S3Fifo::new(capacity).unwrap())),
                a,
                trace,
                capacity,
            ),
            1 => run(
                QuickUnsync(RefCell::new(quick_cache::unsync::Cache::new(
                    capacity as usize,
                ))),
                a,
                trace,
                capacity,
            ),
            2 => run(
                Poly::<S3Fifo<u64, u64>>(
                    Cache::builder(capacity)
                        .order(S3FifoOrder::default())
                        .count_hits(false)
                        .build()
                        .unwrap(),
                ),
                a,
                trace,
                capacity,
            ),
            _ => run(
                Quick(quick_cache::sync::Cache::new(capacity as usize)),
                a,
                trace,
                capacity,
            ),
        }
    });
    print_table(
        &NAMES,
        &["(a) 1 thread", "(b) 1 thread", "(b) 1 thread, 1K entries"],
        &results,
        QUICK_ROW,
        "(a) hit ratio",
    );
}
