//! TinyLfu against a model of its contents.
//!
//! W-TinyLFU's choice of victim depends on a randomized sketch, so the model does not
//! predict *who* is evicted; it checks everything else, exactly: the cache holds
//! precisely the entries the model holds (every departure is reported, with the value
//! last written), a look-up returns the last value written for its key or nothing only
//! when the entry left or expired, the weight stays within the capacity and equals the
//! sum of the entries' weights (and the order's segment accounting agrees), a new entry
//! is never its own write's victim, and `validate()` passes after every step.

use std::collections::BTreeMap;
use std::time::Duration;

use polycache_policies::{
    EvictionCause, Evictions, InsertError, ManualClock, Policy, TICK_NANOS, TinyLfu, TinyLfuOrder,
};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
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
}

/// The weight is in the value's top byte (0 counts as 1).
fn weigh(_: &u8, v: &u32) -> u64 {
    u64::from(v >> 24)
}

type Cache = TinyLfu<u8, u32, fn(&u8, &u32) -> u64, ahash::RandomState, ManualClock>;

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

fn run(capacity: u64, seed: u64, ops: &[Op]) {
    let clock = ManualClock::new();
    let mut p: Cache = TinyLfu::builder(capacity)
        .weigher(weigh as fn(&u8, &u32) -> u64)
        .hasher(ahash::RandomState::with_seeds(seed, 1, 2, 3))
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
                    Err(e) => panic!("step {step}: unexpected refusal {e}"),
                    Ok(evs) => {
                        assert!(weight <= capacity);
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
                        assert_eq!(p.peek(&key), Some(&value), "step {step}: write not stored");
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

fn op(keys: u8) -> impl Strategy<Value = Op> {
    let key = 0..keys;
    prop_oneof![
        8 => key.clone().prop_map(Op::Get),
        1 => key.clone().prop_map(Op::GetMut),
        1 => key.clone().prop_map(Op::Peek),
        8 => (key.clone(), 0u32..12, any::<u16>(), proptest::option::weighted(0.2, 0u64..1 << 22))
            .prop_map(|(key, w, v, ttl)| Op::Insert { key, value: (w << 24) | u32::from(v), ttl }),
        1 => key.prop_map(Op::Remove),
        1 => (0u64..1 << 21).prop_map(Op::Advance),
        1 => Just(Op::Purge),
        1 => (2u32..7).prop_map(Op::Retain),
        1 => Just(Op::Clear).prop_filter("rare", |_| true),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Small caches, keys from a small space: many hits, replaces and evictions.
    #[test]
    fn tinylfu_keeps_its_invariants(
        capacity in 1u64..40,
        seed in any::<u64>(),
        ops in proptest::collection::vec(op(48), 1..400),
    ) {
        run(capacity, seed, &ops);
    }
}

/// Long runs: the sketch ages and the hill climber resizes the window many times.
#[test]
fn long_runs_keep_invariants_while_the_window_adapts() {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut ops = Vec::new();
    for phase in 0..6u64 {
        for _ in 0..6000 {
            let r = next();
            // Alternate skewed (frequency wins) and looping (recency loses) phases.
            let k = if phase % 2 == 0 {
                ((r % 200) * (r % 200) / 200) as u8
            } else {
                (ops.len() % 90) as u8
            };
            ops.push(Op::Get(k));
            if r % 3 == 0 {
                let w = if phase >= 4 { (r >> 60) as u32 } else { 1 };
                ops.push(Op::Insert {
                    key: k,
                    value: (w << 24) | (r >> 40) as u32 & 0xffff,
                    ttl: None,
                });
            }
        }
    }
    run(64, 9, &ops);
}

/// The same seed, hasher and operations give the same cache; the climber moves the
/// window; frequency protects a hot set from a scan.
#[test]
fn seeded_runs_are_reproducible_and_resist_scans() {
    let build = || {
        TinyLfu::<u64, u64>::builder(100)
            .hasher(ahash::RandomState::with_seeds(1, 2, 3, 4))
            .order(TinyLfuOrder::with_seed(42))
            .build()
            .unwrap()
    };
    let (mut a, mut b) = (build(), build());
    let mut hits = [0u64; 2];
    let mut scan = 1_000u64;
    for round in 0..200u64 {
        for (i, c) in [&mut a, &mut b].into_iter().enumerate() {
            // A hot set of 50 keys, then a scan of 100 never-seen keys.
            for k in 0..50 {
                if c.get(&k).is_some() {
                    hits[i] += 1;
                } else {
                    c.insert(k, round).unwrap();
                }
            }
            for s in 0..100 {
                if c.get(&(scan + s)).is_none() {
                    c.insert(scan + s, round).unwrap();
                }
            }
        }
        scan += 100;
    }
    assert_eq!(hits[0], hits[1]);
    let ka: Vec<_> = {
        let mut v: Vec<_> = a.iter().map(|(k, _)| *k).collect();
        v.sort();
        v
    };
    let kb: Vec<_> = {
        let mut v: Vec<_> = b.iter().map(|(k, _)| *k).collect();
        v.sort();
        v
    };
    assert_eq!(ka, kb);
    // LRU would hit nothing here (150 distinct keys per round through 100 slots);
    // TinyLfu keeps (nearly) the whole hot set.
    assert!(
        hits[0] > 199 * 50 * 9 / 10,
        "hot-set hits {} of {}",
        hits[0],
        199 * 50
    );
    a.validate().unwrap();
}
