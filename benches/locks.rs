//! Lock table benchmarks (in process, system clock):
//!
//! - `locks/uncontended/acquire_release_same_key`: one thread, `try_acquire` + `release`
//!   of one key; throughput is pairs per second.
//! - `locks/uncontended/acquire_release_1k_keys`: the same over 1024 keys (map look-ups
//!   miss the CPU cache more often).
//! - `locks/contended/2_threads_one_key`: two threads each loop `acquire_timeout` (block
//!   until free) + `release` on one key; throughput is acquisitions per second. The run
//!   also counts hand-offs (an acquisition by the other thread than the last holder) and
//!   prints them: the lock is not fair, a releasing thread usually takes it straight
//!   back, so most of these acquisitions are not hand-offs.
//! - `locks/contended/2_threads_forced_handoff`: every blocking acquisition is a
//!   hand-off: two threads pass keys to each other, strictly alternating (see
//!   `forced_handoffs`), each waiting in `acquire_timeout` for the other's release
//!   (usually parked, woken by it). Throughput is hand-offs per second.
//! - `locks/contended/baseline_condvar_pingpong`: the floor for any blocking hand-off on
//!   this machine: two threads alternate a turn flag under a `parking_lot` mutex and
//!   condition variable, nothing else.
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

/// Forced hand-offs: `iters` keys, each handed from one thread to the other, the
/// threads alternating. Returns the elapsed time.
///
/// Key `c` is given by thread `c % 2` to the other. The giver of `c` takes the next key
/// it will give (`c + 2`, fresh) before it releases `c`, then blocks taking `c + 1`,
/// which the other thread holds until it has taken `c`. So every `acquire_timeout`
/// waits for the other thread's release, and since no key is ever used twice, a
/// releasing thread cannot take its key straight back.
fn forced_handoffs(iters: u64) -> Duration {
    let n = iters.max(2);
    let table = Arc::new(LockTable::new());
    let key = |c: u64| format!("k{c}");
    table.try_acquire(&key(0), "t0", TTL).unwrap().unwrap();
    table.try_acquire(&key(1), "t1", TTL).unwrap().unwrap();
    let wait = Duration::from_secs(60);
    let start = Instant::now();
    let handles: Vec<_> = [0u64, 1]
        .into_iter()
        .map(|parity| {
            let table = table.clone();
            std::thread::spawn(move || {
                let me = ["t0", "t1"][parity as usize];
                let take = |c: u64| {
                    let got = table.acquire_timeout(&key(c), me, TTL, wait).unwrap();
                    assert!(got.is_some(), "hand-off of k{c} timed out");
                    assert!(table.release(&key(c), me).unwrap());
                };
                if parity == 1 {
                    take(0);
                }
                let mut c = parity;
                while c < n {
                    if c + 2 < n {
                        assert!(table.try_acquire(&key(c + 2), me, TTL).unwrap().is_some());
                    }
                    assert!(table.release(&key(c), me).unwrap());
                    if c + 1 >= n {
                        break;
                    }
                    take(c + 1);
                    c += 2;
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    start.elapsed()
}

/// Two threads alternate a turn flag, `iters` turns in all: the cost of waking a parked
/// thread and switching to it, with no lock table.
fn condvar_pingpong(iters: u64) -> Duration {
    let pair = Arc::new((parking_lot::Mutex::new(0u64), parking_lot::Condvar::new()));
    let start = Instant::now();
    let handles: Vec<_> = (0..2u64)
        .map(|t| {
            let pair = pair.clone();
            std::thread::spawn(move || {
                let (turn, cv) = &*pair;
                let mut turn = turn.lock();
                loop {
                    while *turn < iters && *turn % 2 != t {
                        cv.wait(&mut turn);
                    }
                    if *turn >= iters {
                        cv.notify_all();
                        return;
                    }
                    *turn += 1;
                    cv.notify_all();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    start.elapsed()
}

fn contended(c: &mut Criterion) {
    let mut g = c.benchmark_group("locks/contended");
    g.throughput(Throughput::Elements(1));
    g.bench_function("2_threads_one_key", |b| {
        b.iter_custom(|iters| two_threads(iters).0)
    });
    g.bench_function("2_threads_forced_handoff", |b| {
        b.iter_custom(forced_handoffs)
    });
    g.bench_function("baseline_condvar_pingpong", |b| {
        b.iter_custom(condvar_pingpong)
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
    let n = 100_000;
    let secs = forced_handoffs(n).as_secs_f64();
    println!(
        "locks/contended/2_threads_forced_handoff: {n} hand-offs in {secs:.3} s = {:.0} hand-offs/s",
        n as f64 / secs,
    );
    let secs = condvar_pingpong(n).as_secs_f64();
    println!(
        "locks/contended/baseline_condvar_pingpong: {n} turns in {secs:.3} s = {:.0} turns/s",
        n as f64 / secs,
    );
}

criterion_group!(benches, uncontended, contended);
criterion_main!(benches);
