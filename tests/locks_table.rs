//! Tests of the in-process [`LockTable`] beyond the shared conformance suite: the model
//! at other shard counts, the memory bound of the expiry sweep, real-clock timeouts and
//! expiry wake-ups, that a blocked acquirer does not burn CPU, and a bounded stress run
//! of mutual exclusion and fences with real threads.

mod locks_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use locks_support::model::{self, Timing};
use polycache::locks::{LeaseStore, LockTable};
use polycache::{ManualClock, SystemClock};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    /// The model, with one shard (every key shares one fence counter and one map) and
    /// with 64 (every key alone).
    #[test]
    fn model_at_shard_counts(
        shards in prop_oneof![Just(1usize), Just(64)],
        ops in proptest::collection::vec(locks_support::exact_op(), 1..200),
    ) {
        let clock = ManualClock::new();
        let table = LockTable::with_shards(shards, 5, clock.clone()).unwrap();
        let unit = Duration::from_millis(7);
        let mut advance = |n: u32| clock.advance(unit * n);
        model::run(&table, unit, Timing::Exact, &mut advance, &ops).map_err(TestCaseError::fail)?;
    }
}

/// Keys that are locked once and never touched again are reclaimed: with at most 100
/// leases alive at once, 10 000 distinct keys never make the table store more than the
/// documented bound (per shard `max(64, 2 x live at the last sweep)`).
#[test]
fn sweep_bounds_memory_under_churn() {
    let clock = ManualClock::new();
    let shards = 4;
    let table = LockTable::with_shards(shards, 1, clock.clone()).unwrap();
    let unit = Duration::from_secs(1);
    let mut max_stored = 0;
    for round in 0..100 {
        for i in 0..100 {
            let key = format!("job:{round}:{i}");
            assert!(table.try_acquire(&key, "w", unit).unwrap().is_some());
            max_stored = max_stored.max(table.stored());
        }
        assert_eq!(table.held(), 100);
        clock.advance(2 * unit);
        assert_eq!(table.held(), 0);
    }
    let bound = shards * 64 + 2 * 100;
    assert!(
        max_stored <= bound,
        "stored up to {max_stored}, bound {bound}"
    );
    table.purge_expired();
    assert_eq!(table.stored(), 0);
}

/// Real clock: a waiter gives up at its timeout, not before and not much after.
#[test]
fn real_clock_timeout() {
    let table = LockTable::new();
    table
        .try_acquire("k", "a", Duration::from_secs(60))
        .unwrap()
        .unwrap();
    let start = Instant::now();
    let got = table
        .acquire_timeout("k", "b", Duration::from_secs(1), Duration::from_millis(60))
        .unwrap();
    let waited = start.elapsed();
    assert_eq!(got, None);
    assert!(waited >= Duration::from_millis(60), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    assert_eq!(table.holder("k").unwrap().unwrap().token, "a");
}

/// Real clock: nobody releases, nobody calls `wake_waiters`: the waiter wakes at the
/// lease's own deadline and takes it.
#[test]
fn real_clock_expiry_wakes_the_waiter() {
    let table = LockTable::with_clock(SystemClock::new());
    let first = table
        .try_acquire("k", "a", Duration::from_millis(80))
        .unwrap()
        .unwrap();
    let start = Instant::now();
    let got = table
        .acquire_timeout("k", "b", Duration::from_secs(1), Duration::from_secs(10))
        .unwrap()
        .expect("acquired at expiry");
    let waited = start.elapsed();
    assert!(got > first);
    assert!(waited >= Duration::from_millis(70), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
}

/// CPU time this thread has used, from /proc (Linux), in clock ticks.
#[cfg(target_os = "linux")]
fn thread_cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the parenthesized command: state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// A blocked acquirer sleeps: over half a second of waiting (real clock) it uses almost
/// no CPU, where a spinning or polling waiter would use most of it.
#[cfg(target_os = "linux")]
#[test]
fn blocked_acquirer_does_not_spin() {
    let table = LockTable::new();
    table
        .try_acquire("k", "a", Duration::from_secs(60))
        .unwrap()
        .unwrap();
    let (got, ticks) = std::thread::scope(|s| {
        s.spawn(|| {
            let before = thread_cpu_ticks();
            let got = table
                .acquire_timeout("k", "b", Duration::from_secs(1), Duration::from_millis(500))
                .unwrap();
            (got, before.zip(thread_cpu_ticks()).map(|(b, a)| a - b))
        })
        .join()
        .unwrap()
    });
    assert_eq!(got, None);
    if let Some(ticks) = ticks {
        // Clock ticks are usually 10 ms: a spinning waiter would show about 50.
        assert!(ticks <= 5, "the waiter used {ticks} ticks of CPU in 500 ms");
    }
}

/// Real threads, real clock: 4 threads take turns on 2 keys (try and blocking acquires);
/// a per-key flag catches two holders at once; every fence of a key is distinct and
/// increases in the order the holders saw them.
#[test]
fn stress_mutual_exclusion_and_fences() {
    let table = Arc::new(LockTable::new());
    let busy = Arc::new([AtomicBool::new(false), AtomicBool::new(false)]);
    let fences = Arc::new(parking_lot::Mutex::new([Vec::new(), Vec::new()]));
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let (table, busy, fences) = (table.clone(), busy.clone(), fences.clone());
            std::thread::spawn(move || {
                let me = format!("thread-{t}");
                for i in 0..2000 {
                    let k = (i + t) % 2;
                    let key = ["left", "right"][k];
                    let ttl = Duration::from_secs(30);
                    let got = if i % 3 == 0 {
                        table
                            .acquire_timeout(key, &me, ttl, Duration::from_secs(10))
                            .unwrap()
                    } else {
                        table.try_acquire(key, &me, ttl).unwrap()
                    };
                    let Some(fence) = got else { continue };
                    assert!(
                        !busy[k].swap(true, Ordering::SeqCst),
                        "two holders of {key}"
                    );
                    {
                        let mut f = fences.lock();
                        if let Some(&last) = f[k].last() {
                            assert!(fence > last, "{key}: fence {fence} after {last}");
                        }
                        f[k].push(fence);
                    }
                    busy[k].store(false, Ordering::SeqCst);
                    assert!(table.release(key, &me).unwrap());
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let f = fences.lock();
    assert!(
        f[0].len() >= 1000 && f[1].len() >= 1000,
        "{} {}",
        f[0].len(),
        f[1].len()
    );
}
