//! Drives the lock table (manual clock, 1 or 8 shards) against the reference model of
//! `tests/locks_support/model.rs`: acquire, blocking acquire with a zero timeout, renew,
//! release, holder, time advancing and bad input. Every answer, every remaining time and
//! every fence is predicted exactly; fences must strictly increase per key.
#![no_main]

use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use polycache::ManualClock;
use polycache::locks::LockTable;

#[path = "../../tests/locks_support/model.rs"]
mod model;

/// The model's operations, as the fuzzer builds them.
#[derive(Arbitrary, Debug)]
enum FuzzOp {
    Acquire(u8, u8, u8),
    AcquireNow(u8, u8, u8),
    Renew(u8, u8, u8),
    Release(u8, u8),
    Holder(u8),
    Advance(u8),
    Bad(u8),
}

impl From<&FuzzOp> for model::Op {
    fn from(op: &FuzzOp) -> Self {
        use model::Op;
        match *op {
            FuzzOp::Acquire(key, token, ttl) => Op::Acquire { key, token, ttl },
            FuzzOp::AcquireNow(key, token, ttl) => Op::AcquireNow { key, token, ttl },
            FuzzOp::Renew(key, token, ttl) => Op::Renew { key, token, ttl },
            FuzzOp::Release(key, token) => Op::Release { key, token },
            FuzzOp::Holder(key) => Op::Holder { key },
            FuzzOp::Advance(n) => Op::Advance(n),
            FuzzOp::Bad(kind) => Op::Bad { kind },
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Input {
    many_shards: bool,
    /// Time unit in nanoseconds (1..=65536): odd units exercise odd deadlines.
    unit: u16,
    ops: Vec<FuzzOp>,
}

fuzz_target!(|input: Input| {
    let clock = ManualClock::new();
    let shards = if input.many_shards { 8 } else { 1 };
    let table = LockTable::with_shards(shards, 9, clock.clone()).unwrap();
    let unit = Duration::from_nanos(u64::from(input.unit) + 1);
    let mut advance = |n: u32| clock.advance(unit * n);
    let ops: Vec<model::Op> = input.ops.iter().map(model::Op::from).collect();
    if let Err(e) = model::run(&table, unit, model::Timing::Exact, &mut advance, &ops) {
        panic!("{e}");
    }
});
