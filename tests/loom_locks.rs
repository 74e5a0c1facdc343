//! loom models of the lock table: every interleaving (up to a preemption bound) of the
//! real `LockTable` code, with loom's Mutex/Condvar swapped in by the crate's sync shim.
//!
//! Run (about a minute):
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --test loom_locks
//! ```
//!
//! loom has no timed waits, so under loom a blocked acquirer wakes only when notified:
//! the model "a blocked acquirer is woken by a release" therefore checks that the release
//! notifies (a lost wake-up is a deadlock loom reports). Timeouts and expiry wake-ups are
//! tested with real threads in `tests/locks_conformance.rs` and `tests/locks_table.rs`.
//! The clock is a `ManualClock` that no model advances: no lease expires here.
#![cfg(loom)]

use std::time::Duration;

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use polycache::ManualClock;
use polycache::locks::{LeaseStore, LockTable};

const TTL: Duration = Duration::from_secs(60);
const FOREVER: Duration = Duration::from_secs(3600);

mod loom_support;

/// Every interleaving up to the preemption bound (2 by default).
fn model<F: Fn() + Sync + Send + 'static>(f: F) {
    loom_support::model(2, f);
}

fn table() -> Arc<LockTable<ManualClock>> {
    Arc::new(LockTable::with_shards(1, 3, ManualClock::new()).unwrap())
}

/// Three threads try to take one key, hold it a moment, release it: at most one holds
/// it at any time (a loom-tracked counter of holders never exceeds one), and the first
/// attempt of some thread always succeeds (the key starts free).
#[test]
fn mutual_exclusion() {
    model(|| {
        let locks = table();
        let holders = Arc::new(AtomicUsize::new(0));
        let wins = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = ["a", "b", "c"]
            .into_iter()
            .map(|me| {
                let (locks, holders, wins) = (locks.clone(), holders.clone(), wins.clone());
                thread::spawn(move || {
                    if locks.try_acquire("k", me, TTL).unwrap().is_some() {
                        assert_eq!(holders.fetch_add(1, Ordering::SeqCst), 0, "two holders");
                        wins.fetch_add(1, Ordering::SeqCst);
                        assert_eq!(locks.holder("k").unwrap().unwrap().token, me);
                        holders.fetch_sub(1, Ordering::SeqCst);
                        assert!(locks.release("k", me).unwrap());
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert!(wins.load(Ordering::SeqCst) >= 1);
        assert_eq!(locks.holder("k").unwrap(), None);
    });
}

/// Fences handed out to racing acquirers of one key are distinct and, in the order the
/// acquires took effect, increasing.
#[test]
fn fences_are_unique_under_races() {
    model(|| {
        let locks = table();
        let handles: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|me| {
                let locks = locks.clone();
                thread::spawn(move || {
                    let fence = locks.try_acquire("k", me, TTL).unwrap();
                    if fence.is_some() {
                        assert!(locks.release("k", me).unwrap());
                    }
                    fence
                })
            })
            .collect();
        let mut fences: Vec<u64> = handles
            .into_iter()
            .filter_map(|h| h.join().unwrap())
            .collect();
        fences.sort_unstable();
        fences.dedup();
        let after = locks.try_acquire("k", "z", TTL).unwrap().unwrap();
        assert!(fences.iter().all(|&f| f < after));
        assert!(!fences.is_empty());
    });
}

/// A release with the wrong token, racing the holder's reads and renew, changes
/// nothing: the holder keeps the lease and can still release it.
#[test]
fn wrong_token_release_changes_nothing() {
    model(|| {
        let locks = table();
        let fence = locks.try_acquire("k", "owner", TTL).unwrap().unwrap();
        let intruder = {
            let locks = locks.clone();
            thread::spawn(move || {
                assert!(!locks.release("k", "intruder").unwrap());
                assert!(!locks.renew("k", "intruder", TTL).unwrap());
                assert_eq!(locks.try_acquire("k", "intruder", TTL).unwrap(), None);
            })
        };
        assert!(locks.renew("k", "owner", TTL).unwrap());
        let info = locks.holder("k").unwrap().unwrap();
        assert_eq!((info.token.as_str(), info.fence), ("owner", fence));
        intruder.join().unwrap();
        assert!(locks.release("k", "owner").unwrap());
    });
}

/// A blocked acquirer is woken by the release (under loom it waits for a notification
/// only, so a missed one deadlocks the model).
#[test]
fn blocked_acquirer_woken_by_release() {
    model(|| {
        let locks = table();
        let first = locks.try_acquire("k", "a", TTL).unwrap().unwrap();
        let waiter = {
            let locks = locks.clone();
            thread::spawn(move || locks.acquire_timeout("k", "b", TTL, FOREVER).unwrap())
        };
        assert!(locks.release("k", "a").unwrap());
        let got = waiter.join().unwrap().expect("woken and acquired");
        assert!(got > first);
        assert_eq!(locks.holder("k").unwrap().unwrap().token, "b");
    });
}

/// Two blocked acquirers and a holder that releases: both eventually get the lease in
/// turn (each releases after taking it), and no wake-up is lost.
#[test]
fn two_waiters_hand_off() {
    model(|| {
        let locks = table();
        locks.try_acquire("k", "a", TTL).unwrap().unwrap();
        let waiters: Vec<_> = ["b", "c"]
            .into_iter()
            .map(|me| {
                let locks = locks.clone();
                thread::spawn(move || {
                    let fence = locks.acquire_timeout("k", me, TTL, FOREVER).unwrap();
                    assert!(locks.release("k", me).unwrap());
                    fence.expect("acquired")
                })
            })
            .collect();
        assert!(locks.release("k", "a").unwrap());
        let mut fences: Vec<u64> = waiters.into_iter().map(|h| h.join().unwrap()).collect();
        fences.sort_unstable();
        fences.dedup();
        assert_eq!(fences.len(), 2);
    });
}
