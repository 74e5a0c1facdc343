//! The TinyLfu contents model and driver, shared by the proptest suite
//! (`tests/tinylfu_model.rs`) and the fuzz target (`fuzz/fuzz_targets/tinylfu.rs`).
//!
//! W-TinyLFU's choice of victim depends on a randomized sketch, so the model does not
//! predict *who* is evicted; it checks everything else, exactly: the cache holds
//! precisely the entries the model holds (every departure is reported, with the value
//! last written), a look-up returns the last value written for its key or nothing only
//! when the entry left or expired, the weight stays within the capacity and equals the
//! sum of the entries' weights (and the order's segment accounting agrees), a new entry
//! is never its own write's victim, and `validate()` passes after every step. Resizes
//! (`SetCapacity`) are checked the same way: a zero capacity is refused and changes
//! nothing; otherwise every entry evicted is reported (cause `Capacity`), and the
//! weight fits the new capacity.
//!
//! Entries are `u8 -> u32`; the weight is the value's top byte (0 counts as 1).

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::time::Duration;

use polycache_policies::{
    DefaultHashBuilder, EvictionCause, Evictions, InsertError, ManualClock, Policy, TICK_NANOS,
    TinyLfu, TinyLfuOrder,
};

#[derive(Clone, Debug)]
pub enum Op {
    Get(u8),
    GetMut(u8),
    Peek(u8),
    Insert {
        key: u8,
        value: u32,
        ttl: Option<u64>,
    },
    Remove(u8),
    Advance(u64),
    Purge,
    Retain(u32),
    Clear,
    /// `Policy::set_capacity_into` (0 must be refused and change nothing).
    SetCapacity(u64),
}

/// The weight is in the value's top byte (0 counts as 1).
fn weigh(_: &u8, v: &u32) -> u64 {
    u64::from(v >> 24)
}

type Cache = TinyLfu<u8, u32, fn(&u8, &u32) -> u64, DefaultHashBuilder, ManualClock>;

struct Model {
    /// key -> (value, weight, deadline in nanoseconds)
    entries: BTreeMap<u8, (u32, u64, Option<u64>)>,
    now: u64,
}

impl Model {
    /// Surely live: before its deadline. Surely expired: one tick past it.
    fn surely_live(&self, k: u8) -> bool {
        self.entries
            .get(&k)
            .is_some_and(|e| e.2.is_none_or(|d| self.now < d))
    }

    fn maybe_live(&self, k: u8) -> bool {
        self.entries
            .get(&k)
            .is_some_and(|e| e.2.is_none_or(|d| self.now < d.saturating_add(TICK_NANOS)))
    }

    fn weight(&self) -> u64 {
        self.entries.values().map(|e| e.1).sum()
    }

    /// Applies reported departures: each must be a stored entry with its last value;
    /// an expired one must not be surely live.
    fn depart(&mut self, evs: Evictions<u8, u32>, except: Option<u8>) {
        for e in evs {
            if e.cause == EvictionCause::Replaced {
                continue;
            }
            if e.cause == EvictionCause::Capacity {
                assert_ne!(Some(e.key), except, "the written key was evicted: {e:?}");
            }
            if e.cause == EvictionCause::Expired {
                assert!(
                    !self.surely_live(e.key),
                    "live entry reported expired: {e:?}"
                );
            }
            let stored = self.entries.remove(&e.key).expect("evicted an absent key");
            assert_eq!(stored.0, e.value, "evicted value is not the last written");
        }
    }
}

fn check_get(m: &Model, k: u8, got: Option<u32>) {
    match got {
        Some(v) => {
            assert!(m.maybe_live(k), "returned {k} -> {v}, absent or expired");
            assert_eq!(m.entries[&k].0, v, "value is not the last written for {k}");
        }
        None => assert!(!m.surely_live(k), "lost live key {k}"),
    }
}

/// Runs `ops` on a fresh `TinyLfu` of `capacity` (seeded hasher and order) beside the
/// model; panics at the first disagreement.
pub fn run(mut capacity: u64, seed: u64, ops: &[Op]) {
    let clock = ManualClock::new();
    let mut p: Cache = TinyLfu::builder(capacity)
        .weigher(weigh as fn(&u8, &u32) -> u64)
        .hasher(DefaultHashBuilder::with_seeds(seed, 1, 2, 3))
        .clock(clock.clone())
        .order(TinyLfuOrder::with_seed(seed))
        .build()
        .unwrap();
    assert_eq!(p.order().capacity(), capacity);
    let mut m = Model {
        entries: BTreeMap::new(),
        now: 0,
    };
    for (step, op) in ops.iter().enumerate() {
        match *op {
            Op::Get(k) => check_get(&m, k, p.get(&k).copied()),
            Op::GetMut(k) => {
                let got = p.get_mut(&k).map(|v| {
                    let old = *v;
                    // Keep the weight byte: get_mut does not re-weigh.
                    *v = (old & 0xff00_0000) | (old.wrapping_add(1) & 0x00ff_ffff);
                    old
                });
                check_get(&m, k, got);
                if got.is_some() {
                    let e = m.entries.get_mut(&k).unwrap();
                    e.0 = (e.0 & 0xff00_0000) | (e.0.wrapping_add(1) & 0x00ff_ffff);
                }
            }
            Op::Peek(k) => check_get(&m, k, p.peek(&k).copied()),
            Op::Insert { key, value, ttl } => {
                let weight = weigh(&key, &value).max(1);
                let res = match ttl {
                    None => p.insert(key, value),
                    Some(t) => p.insert_with_ttl(key, value, Duration::from_nanos(t)),
                };
                match res {
                    Err(InsertError::Overweight {
                        key: k, value: v, ..
                    }) => {
                        assert!(weight > capacity, "step {step}: refused a fitting entry");
                        assert_eq!((k, v), (key, value));
                    }
                    Err(InsertError::ZeroTtl { key: k, value: v }) => {
                        assert!(weight <= capacity, "step {step}: not refused as Overweight");
                        assert_eq!(ttl, Some(0), "step {step}: refused a live TTL");
                        assert_eq!((k, v), (key, value));
                    }
                    Err(e) => panic!("step {step}: unexpected refusal {e}"),
                    Ok(evs) => {
                        assert!(weight <= capacity);
                        assert_ne!(ttl, Some(0), "step {step}: took a zero TTL");
                        let replaced: Vec<_> = evs
                            .iter()
                            .filter(|e| e.cause == EvictionCause::Replaced)
                            .map(|e| (e.key, e.value))
                            .collect();
                        // A replaced value is the last one written, of a stored entry.
                        if let Some(&(k, v)) = replaced.first() {
                            assert_eq!(k, key);
                            assert_eq!(m.entries.get(&key).map(|e| e.0), Some(v));
                        }
                        m.depart(evs, Some(key));
                        let deadline = ttl.map(|t| m.now.saturating_add(t));
                        m.entries.insert(key, (value, weight, deadline));
                        // Stored, and live (a TTL is at least 1 ns).
                        check_get(&m, key, p.peek(&key).copied());
                    }
                }
            }
            Op::Remove(k) => {
                let got = p.remove_hashed(p.hash(&k), &k);
                let (surely, maybe) = (m.surely_live(k), m.maybe_live(k));
                match got {
                    Some(e) => {
                        let stored = m.entries.remove(&k).expect("removed an absent key");
                        assert_eq!(e.value, stored.0);
                        match e.cause {
                            EvictionCause::Removed => assert!(maybe, "expired, said removed"),
                            EvictionCause::Expired => assert!(!surely, "live, said expired"),
                            other => panic!("step {step}: remove reported {other:?}"),
                        }
                    }
                    None => assert!(!m.entries.contains_key(&k), "step {step}: lost {k}"),
                }
            }
            Op::Advance(ns) => {
                clock.advance(Duration::from_nanos(ns));
                m.now += ns;
            }
            Op::Purge => {
                let evs = p.purge_expired();
                assert!(evs.iter().all(|e| e.cause == EvictionCause::Expired));
                m.depart(evs, None);
                let now = m.now;
                assert!(
                    m.entries
                        .values()
                        .all(|e| e.2.is_none_or(|d| now < d.saturating_add(TICK_NANOS))),
                    "step {step}: purge left a surely expired entry"
                );
            }
            Op::Retain(modulus) => {
                let evs = p.retain(|_, v| *v % modulus != 0);
                m.depart(evs, None);
                assert!(
                    m.entries.values().all(|e| e.0 % modulus != 0),
                    "step {step}: retain"
                );
            }
            Op::Clear => {
                p.clear();
                m.entries.clear();
            }
            Op::SetCapacity(c) => {
                let mut evs = Evictions::new();
                match p.set_capacity_into(c, &mut evs) {
                    Err(_) => assert_eq!(c, 0, "step {step}: refused capacity {c}"),
                    Ok(()) => {
                        assert_ne!(c, 0, "step {step}: took a zero capacity");
                        assert!(evs.iter().all(|e| e.cause == EvictionCause::Capacity));
                        // No more than needed: the weight was over the new capacity
                        // before the last victim went.
                        if let Some(last) = evs.last() {
                            let w = m.entries[&last.key].1;
                            assert!(
                                m.weight() - evs.iter().map(|e| m.entries[&e.key].1).sum::<u64>()
                                    + w
                                    > c,
                                "step {step}: evicted more than needed"
                            );
                        }
                        m.depart(evs, None);
                        capacity = c;
                    }
                }
                assert_eq!(p.capacity(), capacity, "step {step}: capacity");
            }
        }
        assert_eq!(p.len(), m.entries.len(), "step {step} {op:?}: len");
        assert_eq!(p.weight(), m.weight(), "step {step} {op:?}: weight");
        assert!(p.weight() <= capacity, "step {step}: over capacity");
        assert_eq!(
            p.order().weight(),
            p.weight(),
            "step {step}: segment accounting"
        );
        p.validate()
            .unwrap_or_else(|e| panic!("step {step} {op:?}: validate: {e}"));
    }
}

/// Decodes a fuzzer's bytes into a capacity, a seed and operations (total: every byte
/// string is a case).
pub fn decode(data: &[u8]) -> (u64, u64, Vec<Op>) {
    let mut bytes = data.iter().copied();
    let mut byte = move || bytes.next().unwrap_or(0);
    let capacity = u64::from(byte() % 40) + 1;
    let seed = u64::from(byte());
    let mut ops = Vec::new();
    let mut left = data.len().saturating_sub(2);
    while left > 0 {
        let tag = byte();
        let key = byte() % 48;
        let arg = u16::from(byte()) << 8 | u16::from(byte());
        left = left.saturating_sub(4);
        ops.push(match tag % 16 {
            0..=5 => Op::Get(key),
            6 => Op::GetMut(key),
            7 => Op::Peek(key),
            8..=11 => Op::Insert {
                key,
                value: (u32::from(tag >> 4) % 12) << 24 | u32::from(arg),
                ttl: (tag & 0x80 != 0).then_some(u64::from(arg) << 6),
            },
            12 => Op::Remove(key),
            13 => Op::Advance(u64::from(arg) << 5),
            14 => match key % 4 {
                0 => Op::Purge,
                1 => Op::Retain(u32::from(key % 5) + 2),
                2 => Op::Clear,
                _ => Op::SetCapacity(u64::from(arg % 41)),
            },
            _ => Op::Get(key),
        });
    }
    (capacity, seed, ops)
}
