//! The reference model of a lease store, and a driver that runs a sequence of operations
//! against any [`LeaseStore`] and the model side by side. Shared by the conformance tests
//! (`tests/locks_conformance.rs`) and the fuzz target (`fuzz/fuzz_targets/locks.rs`), so
//! it depends on nothing but polycache and std.
//!
//! Time is counted in *units* (a `Duration` chosen by the caller). With an exact clock
//! (a `ManualClock` advanced by whole units) every answer is predicted exactly, remaining
//! times included. With a real clock (Redis) the caller keeps every deadline far from
//! every instant it looks at (see [`Timing::Real`]) and remaining times are checked
//! within bounds.

#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::time::Duration;

use polycache::locks::{LeaseInfo, LeaseStore, LockError};

/// One operation. Keys, tokens and TTLs are small so that collisions are frequent.
#[derive(Clone, Debug)]
pub enum Op {
    /// `try_acquire(key, token, ttl units)`.
    Acquire { key: u8, token: u8, ttl: u8 },
    /// `acquire_timeout(key, token, ttl units, 0)`: must answer like `try_acquire`.
    AcquireNow { key: u8, token: u8, ttl: u8 },
    /// `renew(key, token, ttl units)`.
    Renew { key: u8, token: u8, ttl: u8 },
    /// `release(key, token)`.
    Release { key: u8, token: u8 },
    /// `holder(key)`.
    Holder { key: u8 },
    /// Time moves this many units.
    Advance(u8),
    /// A bad input: which one by `kind % 6`.
    Bad { kind: u8 },
}

/// How the backend's time relates to the model's.
#[derive(Clone, Copy, Debug)]
pub enum Timing {
    /// Time moves only by `Advance`, exactly (a manual clock).
    Exact,
    /// Real time: `Advance` sleeps at least that long and operations take time too. The
    /// operations must keep every lease's deadline at least one unit away from any
    /// instant an operation runs at (the generator's job), and remaining times are
    /// checked to be within `(0, ttl]`.
    Real,
}

#[derive(Clone, Debug)]
struct Lease {
    token: u8,
    deadline: u64,
    ttl: u64,
    fence: u64,
}

/// The reference: a map of leases with deadlines, and the last fence seen per key.
#[derive(Debug, Default)]
pub struct Model {
    now: u64,
    leases: HashMap<u8, Lease>,
    last_fence: HashMap<u8, u64>,
}

pub fn key_name(key: u8) -> String {
    format!("k{}", key % 4)
}

pub fn token_name(token: u8) -> String {
    format!("t{}", token % 3)
}

fn ttl_units(ttl: u8) -> u64 {
    u64::from(ttl % 8) + 1
}

impl Model {
    fn live(&self, key: u8) -> Option<&Lease> {
        self.leases.get(&key).filter(|l| l.deadline > self.now)
    }

    /// Checks an acquire's answer and records its effect.
    fn acquire(&mut self, key: u8, token: u8, ttl: u64, got: Option<u64>) -> Result<(), String> {
        let free = self.live(key).is_none();
        match (free, got) {
            (true, Some(fence)) => {
                if let Some(&last) = self.last_fence.get(&key) {
                    if fence <= last {
                        return Err(format!("fence {fence} not above the last {last} of {key}"));
                    }
                }
                self.last_fence.insert(key, fence);
                self.leases.insert(
                    key,
                    Lease {
                        token,
                        deadline: self.now + ttl,
                        ttl,
                        fence,
                    },
                );
                Ok(())
            }
            (false, None) => Ok(()),
            (free, got) => Err(format!("acquire of a key free={free} answered {got:?}")),
        }
    }
}

/// Runs `ops` against `store` and the model. `advance(units)` moves the backend's time.
/// Returns the first disagreement.
pub fn run<S: LeaseStore + ?Sized>(
    store: &S,
    unit: Duration,
    timing: Timing,
    advance: &mut dyn FnMut(u32),
    ops: &[Op],
) -> Result<(), String> {
    let mut m = Model::default();
    for (i, op) in ops.iter().enumerate() {
        step(store, unit, timing, advance, &mut m, op)
            .map_err(|e| format!("op {i} {op:?}: {e}"))?;
    }
    Ok(())
}

fn step<S: LeaseStore + ?Sized>(
    store: &S,
    unit: Duration,
    timing: Timing,
    advance: &mut dyn FnMut(u32),
    m: &mut Model,
    op: &Op,
) -> Result<(), String> {
    let k = |key: u8| key % 4;
    let t = |token: u8| token % 3;
    let err = |e: LockError| format!("unexpected error {e}");
    match *op {
        Op::Acquire { key, token, ttl } => {
            let ttl = ttl_units(ttl);
            let got = store
                .try_acquire(&key_name(key), &token_name(token), unit * ttl as u32)
                .map_err(err)?;
            m.acquire(k(key), t(token), ttl, got)
        }
        Op::AcquireNow { key, token, ttl } => {
            let ttl = ttl_units(ttl);
            let got = store
                .acquire_timeout(
                    &key_name(key),
                    &token_name(token),
                    unit * ttl as u32,
                    Duration::ZERO,
                )
                .map_err(err)?;
            m.acquire(k(key), t(token), ttl, got)
        }
        Op::Renew { key, token, ttl } => {
            let ttl = ttl_units(ttl);
            let got = store
                .renew(&key_name(key), &token_name(token), unit * ttl as u32)
                .map_err(err)?;
            let now = m.now;
            let want = match m.leases.get_mut(&k(key)) {
                Some(l) if l.deadline > now && l.token == t(token) => {
                    l.deadline = now + ttl;
                    l.ttl = ttl;
                    true
                }
                _ => false,
            };
            if got != want {
                return Err(format!("renew answered {got}, model {want}"));
            }
            Ok(())
        }
        Op::Release { key, token } => {
            let got = store
                .release(&key_name(key), &token_name(token))
                .map_err(err)?;
            let want = m.live(k(key)).is_some_and(|l| l.token == t(token));
            if want {
                m.leases.remove(&k(key));
            }
            if got != want {
                return Err(format!("release answered {got}, model {want}"));
            }
            Ok(())
        }
        Op::Holder { key } => {
            let got = store.holder(&key_name(key)).map_err(err)?;
            let want = m.live(k(key)).cloned();
            match (got, want) {
                (None, None) => Ok(()),
                (
                    Some(LeaseInfo {
                        token,
                        remaining,
                        fence,
                    }),
                    Some(l),
                ) => {
                    if token != token_name(l.token) || fence != l.fence {
                        return Err(format!("holder ({token}, fence {fence}), model {l:?}"));
                    }
                    let ok = match timing {
                        Timing::Exact => remaining == unit * (l.deadline - m.now) as u32,
                        Timing::Real => !remaining.is_zero() && remaining <= unit * l.ttl as u32,
                    };
                    if !ok {
                        return Err(format!("remaining {remaining:?}, model {l:?} at {}", m.now));
                    }
                    Ok(())
                }
                (got, want) => Err(format!("holder {got:?}, model {want:?}")),
            }
        }
        Op::Advance(n) => {
            let n = u32::from(n % 16);
            advance(n);
            m.now += u64::from(n);
            Ok(())
        }
        Op::Bad { kind } => {
            let ttl = unit;
            let (got, want) = match kind % 6 {
                0 => (
                    store.try_acquire("", "t", ttl).map(drop),
                    LockError::EmptyKey,
                ),
                1 => (
                    store.try_acquire("k0", "", ttl).map(drop),
                    LockError::EmptyToken,
                ),
                2 => (
                    store.renew("k0", "t0", Duration::ZERO).map(drop),
                    LockError::ZeroTtl,
                ),
                3 => (
                    store.renew("k0", "t0", Duration::MAX).map(drop),
                    LockError::TtlOverflow(Duration::MAX),
                ),
                4 => (store.release("k0", "").map(drop), LockError::EmptyToken),
                _ => (store.holder("").map(drop), LockError::EmptyKey),
            };
            match got {
                Err(e) if e == want => Ok(()),
                other => Err(format!("bad input answered {other:?}, want {want:?}")),
            }
        }
    }
}
