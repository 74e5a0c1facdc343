//! Lock table benchmarks (in process, system clock):
//!
//! - `locks/uncontended/acquire_release_same_key`: one thread, `try_acquire` + `release`
//!   of one key; throughput is pairs per second.
//! - `locks/uncontended/acquire_release_1k_keys`: the same over 1024 keys (map look-ups
//!   miss the CPU cache more often).
//! - `locks/contended/2_threads_one_key`: two threads each loop `acquire_timeout` (block
//!   until free) + `release` on one key; throughput is acquisitions per second, and the
//!   run also counts hand-offs (an acquisition by the other thread than the last holder)
//!   and prints hand-offs per second.
//!
//! ```text
//! cargo bench --bench locks
//! ```
// criterion_group! generates an undocumented pub fn.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use polycache::locks::{LeaseStore, LockTable};

const TTL: Duration = Duration::from_secs(30);

fn uncontended(c: &mut Criterion) {
    let mut g = c.benchmark_group("locks/uncontended");
    g.throughput(Throughput::Elements(1));
    let table = LockTable::new();
    g.bench_function("acquire_release_same_key", |b| {
        b.iter(|| {
            let fence = table
                .try_acquire(black_box("job:42"), "worker", TTL)
                .unwrap();
            debug_assert!(fence.is_some());
            table.release("job:42", "worker").unwrap()
        })
    });
    let keys: Vec<String> = (0..1024).map(|i| format!("job:{i}")).collect();
    let mut i = 0;
    g.bench_function("acquire_release_1k_keys", |b| {
        b.iter(|| {
            i = (i + 1) & 1023;
            let key = keys[i].as_str();
            let fence = table.try_acquire(black_box(key), "worker", TTL).unwrap();
            debug_assert!(fence.is_some());
            table.release(key, "worker").unwrap()
        })
    });
    g.finish();
}

/// Two threads, `iters` acquisitions in all: returns the elapsed time and the number of
/// hand-offs (acquisitions by the thread that did not hold the key last).
fn two_threads(iters: u64) -> (Duration, u64) {
    let table = Arc::new(LockTable::new());
    let last = Arc::new(AtomicUsize::new(usize::MAX));
    let handoffs = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..2usize)
        .map(|t| {
            let (table, last, handoffs) = (table.clone(), last.clone(), handoffs.clone());
            let n = iters / 2 + u64::from(t == 0) * (iters % 2);
            std::thread::spawn(move || {
                let me = ["a", "b"][t];
                for _ in 0..n {
                    let fence = table
                        .acquire_timeout("job", me, TTL, Duration::from_secs(60))
                        .unwrap();
                    assert!(fence.is_some());
                    if last.swap(t, Ordering::Relaxed) != t {
                        handoffs.fetch_add(1, Ordering::Relaxed);
                    }
                    table.release("job", me).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    (start.elapsed(), handoffs.load(Ordering::Relaxed))
}

fn contended(c: &mut Criterion) {
    let mut g = c.benchmark_group("locks/contended");
    g.throughput(Throughput::Elements(1));
    g.bench_function("2_threads_one_key", |b| {
        b.iter_custom(|iters| two_threads(iters).0)
    });
    g.finish();
    // Hand-offs per second, from one run of 400k acquisitions.
    let n = 400_000;
    let (elapsed, handoffs) = two_threads(n);
    let secs = elapsed.as_secs_f64();
    println!(
        "locks/contended/2_threads_one_key: {n} acquisitions in {secs:.3} s = {:.0}/s; \
         {handoffs} hand-offs = {:.0} hand-offs/s ({:.1}% of acquisitions)",
        n as f64 / secs,
        handoffs as f64 / secs,
        100.0 * handoffs as f64 / n as f64,
    );
}

criterion_group!(benches, uncontended, contended);
criterion_main!(benches);
