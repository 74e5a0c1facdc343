//! The lease-store conformance suite, written once over [`LeaseStore`] and run against
//! every backend (`tests/locks_conformance.rs`): scenarios with known answers, plus
//! random operation sequences checked against the reference [`model`].
//!
//! A backend comes with an [`Env`]: how long a time *unit* is, and how to make a unit
//! pass. The in-process table runs on a `ManualClock` (exact: a unit passes instantly);
//! Redis runs on the server's real clock with units of tens of milliseconds, and the
//! scenarios keep every deadline several units away from every check.

#![allow(dead_code, unreachable_pub)]

pub mod model;

use std::time::Duration;

use polycache::locks::{LeaseStore, LockError};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use self::model::{Op, Timing};

/// A backend under test: a fresh, empty store and its notion of time.
pub trait Env: Sync {
    /// The store.
    type Store: LeaseStore + Sync;
    /// The store under test.
    fn store(&self) -> &Self::Store;
    /// The length of one unit of time.
    fn unit(&self) -> Duration;
    /// Makes `units` units pass, and lets blocked acquirers notice.
    fn advance(&self, units: u32);
    /// Exact (manual clock) or real time.
    fn timing(&self) -> Timing;
}

/// A named scenario.
pub type Scenario<E> = (&'static str, fn(&E));

/// Every scenario, by name.
pub fn scenarios<E: Env>() -> Vec<Scenario<E>> {
    vec![
        ("bad_input", bad_input::<E>),
        ("exclusive", exclusive::<E>),
        ("release_compares", release_compares::<E>),
        (
            "expiry_frees_and_never_returns",
            expiry_frees_and_never_returns::<E>,
        ),
        ("renew_extends_from_now", renew_extends_from_now::<E>),
        ("renew_needs_the_token", renew_needs_the_token::<E>),
        ("fences_increase_per_key", fences_increase_per_key::<E>),
        (
            "blocked_acquirer_woken_by_release",
            blocked_acquirer_woken_by_release::<E>,
        ),
        (
            "blocked_acquirer_woken_by_expiry",
            blocked_acquirer_woken_by_expiry::<E>,
        ),
        (
            "blocked_acquirer_times_out",
            blocked_acquirer_times_out::<E>,
        ),
    ]
}

/// Runs every scenario, each on a fresh env from `make`, and then `cases` random
/// operation sequences against the model. Panics on the first failure, naming it.
pub fn conformance<E: Env>(backend: &str, make: impl Fn() -> E, cases: u32) {
    for (name, scenario) in scenarios::<E>() {
        eprintln!("[{backend}] scenario {name}");
        let env = make();
        scenario(&env);
    }
    eprintln!("[{backend}] model, {cases} cases");
    model_cases(make, cases);
}

/// `cases` random operation sequences on fresh envs, checked against the model.
pub fn model_cases<E: Env>(make: impl Fn() -> E, cases: u32) {
    let timing = make().timing();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = match timing {
        Timing::Exact => proptest::collection::vec(exact_op(), 1..120).boxed(),
        Timing::Real => proptest::collection::vec(real_op(), 1..40).boxed(),
    };
    let result = runner.run(&strategy, |ops| {
        let env = make();
        let mut advance = |n: u32| env.advance(n);
        model::run(env.store(), env.unit(), timing, &mut advance, &ops).map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("model disagreement: {e}");
    }
}

/// Any operation; time moves by 0..16 units.
pub fn exact_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(key, token, ttl)| Op::Acquire { key, token, ttl }),
        1 => (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(key, token, ttl)| Op::AcquireNow { key, token, ttl }),
        3 => (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(key, token, ttl)| Op::Renew { key, token, ttl }),
        3 => (any::<u8>(), any::<u8>()).prop_map(|(key, token)| Op::Release { key, token }),
        2 => any::<u8>().prop_map(|key| Op::Holder { key }),
        2 => (0u8..6).prop_map(Op::Advance),
        1 => any::<u8>().prop_map(|kind| Op::Bad { kind }),
    ]
}

/// For real time: every TTL is 8 units and time either stands (the next operations run
/// within a fraction of a unit) or jumps 10 units, past every deadline; so no check ever
/// runs within a unit of a deadline.
pub fn real_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<u8>(), any::<u8>()).prop_map(|(key, token)| Op::Acquire { key, token, ttl: 7 }),
        1 => (any::<u8>(), any::<u8>()).prop_map(|(key, token)| Op::AcquireNow { key, token, ttl: 7 }),
        3 => (any::<u8>(), any::<u8>()).prop_map(|(key, token)| Op::Renew { key, token, ttl: 7 }),
        3 => (any::<u8>(), any::<u8>()).prop_map(|(key, token)| Op::Release { key, token }),
        2 => any::<u8>().prop_map(|key| Op::Holder { key }),
        1 => Just(Op::Advance(10)),
        1 => any::<u8>().prop_map(|kind| Op::Bad { kind }),
    ]
}

fn units<E: Env>(env: &E, n: u32) -> Duration {
    env.unit() * n
}

/// Empty key or token, zero or overflowing TTL: typed errors from every operation.
pub fn bad_input<E: Env>(env: &E) {
    let s = env.store();
    let ttl = units(env, 10);
    let t = Duration::ZERO;
    assert_eq!(s.try_acquire("", "t", ttl), Err(LockError::EmptyKey));
    assert_eq!(s.try_acquire("k", "", ttl), Err(LockError::EmptyToken));
    assert_eq!(
        s.try_acquire("k", "t", Duration::ZERO),
        Err(LockError::ZeroTtl)
    );
    assert_eq!(
        s.try_acquire("k", "t", Duration::MAX),
        Err(LockError::TtlOverflow(Duration::MAX))
    );
    let big = Duration::from_nanos(u64::MAX) + Duration::from_nanos(1);
    assert_eq!(
        s.try_acquire("k", "t", big),
        Err(LockError::TtlOverflow(big))
    );
    assert_eq!(s.acquire_timeout("", "t", ttl, t), Err(LockError::EmptyKey));
    assert_eq!(
        s.acquire_timeout("k", "", ttl, t),
        Err(LockError::EmptyToken)
    );
    assert_eq!(
        s.acquire_timeout("k", "t", Duration::ZERO, t),
        Err(LockError::ZeroTtl)
    );
    assert_eq!(s.renew("", "t", ttl), Err(LockError::EmptyKey));
    assert_eq!(s.renew("k", "", ttl), Err(LockError::EmptyToken));
    assert_eq!(s.renew("k", "t", Duration::ZERO), Err(LockError::ZeroTtl));
    assert_eq!(s.release("", "t"), Err(LockError::EmptyKey));
    assert_eq!(s.release("k", ""), Err(LockError::EmptyToken));
    assert_eq!(s.holder(""), Err(LockError::EmptyKey));
    // None of that took the key.
    assert_eq!(s.holder("k"), Ok(None));
    assert!(s.try_acquire("k", "t", ttl).unwrap().is_some());
    // A bad renew of a held lease changes nothing.
    assert_eq!(
        s.renew("k", "t", Duration::MAX),
        Err(LockError::TtlOverflow(Duration::MAX))
    );
    assert_eq!(s.holder("k").unwrap().unwrap().token, "t");
}

/// One holder at a time, not re-entrant; the holder is reported with its fence.
pub fn exclusive<E: Env>(env: &E) {
    let s = env.store();
    let ttl = units(env, 10);
    let fence = s.try_acquire("job", "a", ttl).unwrap().expect("free key");
    assert_eq!(s.try_acquire("job", "b", ttl), Ok(None));
    assert_eq!(s.try_acquire("job", "a", ttl), Ok(None), "not re-entrant");
    assert_eq!(s.acquire_timeout("job", "b", ttl, Duration::ZERO), Ok(None));
    let info = s.holder("job").unwrap().expect("held");
    assert_eq!(info.token, "a");
    assert_eq!(info.fence, fence);
    assert!(
        !info.remaining.is_zero() && info.remaining <= ttl,
        "{info:?}"
    );
    if let Timing::Exact = env.timing() {
        assert_eq!(info.remaining, ttl);
        env.advance(3);
        assert_eq!(s.holder("job").unwrap().unwrap().remaining, units(env, 7));
    }
    // Another key is independent.
    assert!(s.try_acquire("other", "b", ttl).unwrap().is_some());
    assert_eq!(s.holder("job").unwrap().unwrap().token, "a");
}

/// Compare and delete: only the holder's token releases; then the key is free.
pub fn release_compares<E: Env>(env: &E) {
    let s = env.store();
    let ttl = units(env, 10);
    assert_eq!(s.release("job", "a"), Ok(false), "absent");
    let f1 = s.try_acquire("job", "a", ttl).unwrap().unwrap();
    assert_eq!(s.release("job", "b"), Ok(false), "wrong token");
    let info = s.holder("job").unwrap().unwrap();
    assert_eq!((info.token.as_str(), info.fence), ("a", f1));
    assert_eq!(s.try_acquire("job", "b", ttl), Ok(None));
    assert_eq!(s.release("job", "a"), Ok(true));
    assert_eq!(s.release("job", "a"), Ok(false), "already released");
    assert_eq!(s.holder("job"), Ok(None));
    let f2 = s.try_acquire("job", "b", ttl).unwrap().unwrap();
    assert!(f2 > f1, "{f2} > {f1}");
    assert_eq!(s.holder("job").unwrap().unwrap().token, "b");
}

/// An expired lease frees its key, is not reported, cannot be renewed or released.
pub fn expiry_frees_and_never_returns<E: Env>(env: &E) {
    let s = env.store();
    let f1 = s.try_acquire("job", "a", units(env, 4)).unwrap().unwrap();
    env.advance(6);
    assert_eq!(s.holder("job"), Ok(None));
    assert_eq!(
        s.renew("job", "a", units(env, 100)),
        Ok(false),
        "never brought back"
    );
    assert_eq!(s.holder("job"), Ok(None));
    assert_eq!(s.release("job", "a"), Ok(false), "expired");
    let f2 = s.try_acquire("job", "b", units(env, 10)).unwrap().unwrap();
    assert!(f2 > f1, "{f2} > {f1}");
    // Expired and never touched again, then taken by someone else: same story.
    let f3 = s.try_acquire("job2", "a", units(env, 4)).unwrap().unwrap();
    env.advance(6);
    let f4 = s.try_acquire("job2", "c", units(env, 4)).unwrap().unwrap();
    assert!(f4 > f3);
    assert_eq!(
        s.release("job2", "a"),
        Ok(false),
        "the old holder cannot release the new"
    );
    assert_eq!(s.holder("job2").unwrap().unwrap().token, "c");
}

/// Renew sets the deadline to now + ttl.
pub fn renew_extends_from_now<E: Env>(env: &E) {
    let s = env.store();
    s.try_acquire("job", "a", units(env, 8)).unwrap().unwrap();
    env.advance(5);
    assert_eq!(s.renew("job", "a", units(env, 8)), Ok(true));
    if let Timing::Exact = env.timing() {
        assert_eq!(s.holder("job").unwrap().unwrap().remaining, units(env, 8));
    }
    env.advance(5); // 10 units after the acquire, 5 after the renew: held
    assert_eq!(s.holder("job").unwrap().unwrap().token, "a");
    assert_eq!(s.try_acquire("job", "b", units(env, 8)), Ok(None));
    env.advance(5); // 10 after the renew: expired
    assert_eq!(s.holder("job"), Ok(None));
    // Renew may also shorten.
    s.try_acquire("job", "b", units(env, 100)).unwrap().unwrap();
    assert_eq!(s.renew("job", "b", units(env, 3)), Ok(true));
    env.advance(5);
    assert_eq!(s.holder("job"), Ok(None));
}

/// Renew with another token, or of an absent key, changes nothing.
pub fn renew_needs_the_token<E: Env>(env: &E) {
    let s = env.store();
    assert_eq!(s.renew("job", "a", units(env, 4)), Ok(false), "absent");
    assert_eq!(s.holder("job"), Ok(None), "renew does not create");
    s.try_acquire("job", "a", units(env, 4)).unwrap().unwrap();
    assert_eq!(s.renew("job", "b", units(env, 100)), Ok(false));
    env.advance(6);
    assert_eq!(s.holder("job"), Ok(None), "the wrong renew did not extend");
}

/// Fences strictly increase per key across release and expiry, keys interleaved.
pub fn fences_increase_per_key<E: Env>(env: &E) {
    let s = env.store();
    let mut last = [0u64; 3];
    let keys = ["f0", "f1", "f2"];
    for round in 0..4 {
        for (i, key) in keys.iter().enumerate() {
            let fence = s.try_acquire(key, "a", units(env, 4)).unwrap().unwrap();
            assert!(fence > last[i], "{key}: {fence} > {}", last[i]);
            last[i] = fence;
            if (round + i) % 2 == 0 {
                assert_eq!(s.release(key, "a"), Ok(true));
            }
        }
        env.advance(6); // the unreleased ones expire
    }
}

/// A blocked acquirer gets the lease when the holder releases it.
pub fn blocked_acquirer_woken_by_release<E: Env>(env: &E) {
    let s = env.store();
    let f1 = s
        .try_acquire("job", "a", units(env, 1000))
        .unwrap()
        .unwrap();
    std::thread::scope(|scope| {
        let waiter =
            scope.spawn(|| s.acquire_timeout("job", "b", units(env, 100), units(env, 1000)));
        // Real time, not clock time: give the waiter a chance to block first (it is
        // correct either way).
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(s.release("job", "a"), Ok(true));
        let got = waiter
            .join()
            .unwrap()
            .unwrap()
            .expect("woken by the release");
        assert!(got > f1);
    });
    assert_eq!(s.holder("job").unwrap().unwrap().token, "b");
}

/// A blocked acquirer gets the lease when the holder's lease expires.
pub fn blocked_acquirer_woken_by_expiry<E: Env>(env: &E) {
    let s = env.store();
    s.try_acquire("job", "a", units(env, 5)).unwrap().unwrap();
    std::thread::scope(|scope| {
        let waiter =
            scope.spawn(|| s.acquire_timeout("job", "b", units(env, 100), units(env, 1000)));
        std::thread::sleep(Duration::from_millis(20));
        env.advance(6);
        waiter
            .join()
            .unwrap()
            .unwrap()
            .expect("woken by the expiry");
    });
    assert_eq!(s.holder("job").unwrap().unwrap().token, "b");
}

/// A blocked acquirer gives up at its deadline, and the holder keeps the lease.
pub fn blocked_acquirer_times_out<E: Env>(env: &E) {
    let s = env.store();
    s.try_acquire("job", "a", units(env, 1000))
        .unwrap()
        .unwrap();
    assert_eq!(
        s.acquire_timeout("job", "b", units(env, 10), Duration::ZERO),
        Ok(None)
    );
    std::thread::scope(|scope| {
        let waiter = scope.spawn(|| s.acquire_timeout("job", "b", units(env, 10), units(env, 3)));
        // Keep time moving until the waiter gives up (with a manual clock, a waiter that
        // started after one advance needs another).
        for _ in 0..100 {
            if waiter.is_finished() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
            env.advance(4);
        }
        assert_eq!(waiter.join().unwrap(), Ok(None));
    });
    assert_eq!(s.holder("job").unwrap().unwrap().token, "a");
}

/// Four threads race for one key (try and blocking acquires, then release): a flag
/// catches two holders at once, and the fences they saw strictly increase in the order
/// they held the key.
pub fn racing_threads_exclusive<E: Env>(env: &E) {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};
    let s = env.store();
    let busy = AtomicBool::new(false);
    let fences = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for t in 0..4 {
            let (busy, fences) = (&busy, &fences);
            scope.spawn(move || {
                let me = format!("racer-{t}");
                for i in 0..50 {
                    let ttl = units(env, 1000);
                    let got = if i % 2 == 0 {
                        s.acquire_timeout("race", &me, ttl, units(env, 1000))
                            .unwrap()
                    } else {
                        s.try_acquire("race", &me, ttl).unwrap()
                    };
                    let Some(fence) = got else { continue };
                    assert!(!busy.swap(true, Ordering::SeqCst), "two holders at once");
                    fences.lock().unwrap().push(fence);
                    busy.store(false, Ordering::SeqCst);
                    assert_eq!(s.release("race", &me), Ok(true));
                }
            });
        }
    });
    let fences = fences.into_inner().unwrap();
    assert!(
        fences.len() >= 100,
        "every blocking acquire succeeds: {}",
        fences.len()
    );
    assert!(fences.windows(2).all(|w| w[0] < w[1]), "{fences:?}");
}
