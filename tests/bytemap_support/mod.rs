//! A reference model of `ByteMap`, and a driver that runs one sequence of operations
//! against a real map (manual clock) and the model side by side.
//!
//! Shared by the proptest suite (`tests/bytemap_model.rs`) and the cargo-fuzz target
//! (`fuzz/fuzz_targets/bytemap.rs`): both decode raw bytes with [`decode`] and call
//! [`run`], so they check the same rules.
//!
//! The model is a `BTreeMap` from key to (value, deadline tick), with the clock in
//! nanoseconds and the wheel's tick arithmetic, so TTLs are exact: an entry written at
//! `t` with a TTL of `d` expires at tick `ceil((t + d) / TICK)`. It does not predict
//! which entries an eviction picks; the map's eviction listener reports every entry that
//! leaves on its own (evicted, expired, replaced in place), and the model checks each
//! report (the key was there, with that value; an expired one was past its deadline; no
//! eviction at all when the budget is large enough for everything) and then follows it.
//! So every answer is checked exactly, in both modes:
//!
//! - reads (`get_owned`, `get_with`, prepared, `contains_key`, `ttl`) return the model's
//!   live value and remaining time;
//! - writes return the replaced live value; `try_insert` only inserts when absent;
//!   `get_mut` and entry `modify` keep the TTL, plain writes clear it; refusals
//!   (`TooLarge`, `ZeroTtl`) leave the map unchanged;
//! - `remove`, entry `remove`, `remove_prefix` remove exactly what the model says;
//! - after every step: `validate()`, `len` and the exact byte weight equal the model's,
//!   and the weight is within the budget.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use polycache::bytemap::{
    ByteMap, ByteMapError, BytePolicy, Bytes, BytesMut, ENTRY_OVERHEAD, Entry,
};
use polycache::policies::{
    GdsfOrder, LfuOrder, LruOrder, PrefixOrder, TICK_NANOS, TinyLfuOrder, default_group_len,
    group_of,
};
use polycache::{EvictionCause, ManualClock};

/// One operation. Keys are indices into a small key space ([`key_bytes`]).
#[derive(Clone, Debug)]
pub enum Op {
    Get(u8),
    GetWith(u8),
    Contains(u8),
    Insert {
        key: u8,
        len: u16,
        ttl: Option<u16>,
    },
    InsertSlice {
        key: u8,
        len: u16,
    },
    TryInsert {
        key: u8,
        len: u16,
        ttl: Option<u16>,
    },
    Remove(u8),
    /// Appends `grow` bytes (or truncates by `-grow`).
    GetMut {
        key: u8,
        grow: i8,
    },
    /// Entry: occupied → insert (plain or with TTL), vacant → insert.
    EntryUpsert {
        key: u8,
        len: u16,
        ttl: Option<u16>,
    },
    EntryRemove(u8),
    Expire {
        key: u8,
        ttl: u16,
    },
    Persist(u8),
    Ttl(u8),
    /// Advances the clock by `ms` milliseconds and `us` microseconds.
    Advance {
        ms: u16,
        us: u16,
    },
    PreparedGet(u8),
    PreparedInsert {
        key: u8,
        len: u16,
        ttl: Option<u16>,
    },
    PreparedRemove(u8),
    RemovePrefix(u8),
    Purge,
    Clear,
}

/// The map's configuration.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// 0 Lru, 1 Lfu, 2 TinyLfu, 3 Gdsf, 4 Prefix.
    pub policy: u8,
    /// A budget large enough for everything (exact, no eviction) or a small one.
    pub large: bool,
    pub shards: usize,
    /// An eviction listener reports what leaves. Only a `large` map may go without:
    /// then nothing is evicted, and the model keeps expired entries until a purge (so
    /// `len` and the weight are bounded, not exact), and `insert_slice` may overwrite
    /// values in place (which it never does with a listener).
    pub listener: bool,
}

const KEYS: u8 = 24;

/// The few value lengths `insert_slice` is biased towards.
pub const SLICE_LENS: [u16; 4] = [4, 16, 100, 600];

/// The bytes of key `k`: the empty key, or `g<k % 5>:<k>` (five prefix groups).
pub fn key_bytes(k: u8) -> Vec<u8> {
    let k = k % KEYS;
    if k == 0 {
        Vec::new()
    } else {
        format!("g{}:{k}", k % 5).into_bytes()
    }
}

/// Decodes a configuration and operations from raw bytes (the fuzzer's input).
pub fn decode(data: &[u8]) -> (Config, Vec<Op>) {
    let mut it = data.iter().copied();
    let mut next = move || it.next();
    let c = next().unwrap_or(0);
    let large = (c >> 3) & 1 == 1;
    let config = Config {
        policy: c % 5,
        large,
        shards: 1 << ((c >> 4) % 3),
        listener: !large || (c >> 6) & 1 == 0,
    };
    let mut ops = Vec::new();
    while let Some(tag) = next() {
        let a = next().unwrap_or(0);
        let b = next().unwrap_or(0);
        let t = next().unwrap_or(0);
        let len = u16::from(b) * 2;
        // A TTL of 0 now and then (refused), else 1..=255 ms.
        let ttl = (t & 1 == 1).then_some(u16::from(t >> 1) * 2);
        let op = match tag % 21 {
            0 | 1 => Op::Get(a),
            2 => Op::GetWith(a),
            3 => Op::Contains(a),
            4 | 5 => Op::Insert { key: a, len, ttl },
            // Half the time one of a few lengths, so that a key is often rewritten
            // with a value of the same size (in place, without a listener).
            6 => Op::InsertSlice {
                key: a,
                len: if t & 1 == 0 {
                    SLICE_LENS[usize::from(b) % 4]
                } else {
                    len
                },
            },
            7 => Op::TryInsert { key: a, len, ttl },
            8 => Op::Remove(a),
            9 => Op::GetMut {
                key: a,
                grow: b as i8,
            },
            10 => Op::EntryUpsert { key: a, len, ttl },
            11 => Op::EntryRemove(a),
            12 => Op::Expire {
                key: a,
                ttl: u16::from(t),
            },
            13 => Op::Persist(a),
            14 => Op::Ttl(a),
            15 | 16 => Op::Advance {
                ms: u16::from(a % 64),
                us: u16::from(b) * 4,
            },
            17 => Op::PreparedGet(a),
            18 => Op::PreparedInsert { key: a, len, ttl },
            19 => match t % 8 {
                0 => Op::Clear,
                1 | 2 => Op::Purge,
                3 => Op::PreparedRemove(a),
                _ => Op::RemovePrefix(a),
            },
            _ => Op::Get(a),
        };
        ops.push(op);
    }
    (config, ops)
}

/// Runs `ops` on a map configured by `config` and on the model; panics on the first
/// disagreement.
pub fn run(config: Config, ops: &[Op]) {
    match config.policy % 5 {
        0 => Driver::<LruOrder>::new(config, LruOrder::default(), None).run(ops),
        1 => Driver::<LfuOrder>::new(config, LfuOrder::default(), None).run(ops),
        2 => Driver::<TinyLfuOrder>::new(config, TinyLfuOrder::with_seed(3), None).run(ops),
        3 => Driver::<GdsfOrder>::new(config, GdsfOrder::default(), None).run(ops),
        _ => Driver::<PrefixOrder>::new(
            config,
            PrefixOrder::default(),
            Some(|m: &ByteMap<PrefixOrder, ManualClock>, p: &[u8]| m.remove_prefix(p)),
        )
        .run(ops),
    }
}

type Events = Arc<Mutex<Vec<(Vec<u8>, Bytes, EvictionCause)>>>;
type RemovePrefix<O> = fn(&ByteMap<O, ManualClock>, &[u8]) -> usize;

#[derive(Clone, Debug)]
struct Stored {
    value: Bytes,
    /// Deadline tick, if any.
    deadline: Option<u64>,
}

struct Driver<O: BytePolicy> {
    map: ByteMap<O, ManualClock>,
    clock: ManualClock,
    events: Events,
    model: BTreeMap<Vec<u8>, Stored>,
    now: u64,
    stamp: u32,
    large: bool,
    listener: bool,
    remove_prefix: Option<RemovePrefix<O>>,
}

/// `get_mut`'s change: grow by `4 × grow` bytes while under 512, else shrink by `|grow|`
/// (values stay under 1,024 bytes).
fn mutate(v: &mut BytesMut, grow: i8) {
    if grow >= 0 && v.len() < 512 {
        v.extend(std::iter::repeat_n(0xAB, grow as usize * 4));
    } else {
        v.truncate(v.len().saturating_sub(usize::from(grow.unsigned_abs())));
    }
}

fn weight(k: &[u8], v: &[u8]) -> u64 {
    (k.len() + v.len()) as u64 + ENTRY_OVERHEAD
}

impl<O: BytePolicy> Driver<O> {
    fn new(config: Config, order: O, remove_prefix: Option<RemovePrefix<O>>) -> Self {
        let clock = ManualClock::new();
        let events: Events = Arc::default();
        let sink = events.clone();
        // Large: every key at its largest value fits in each shard. Small: a few.
        let budget = if config.large {
            (KEYS as u64 * (1100 + ENTRY_OVERHEAD)) * config.shards as u64
        } else {
            1000 * config.shards as u64
        };
        assert!(
            config.listener || config.large,
            "no listener needs a large budget"
        );
        let mut builder = ByteMap::builder(budget)
            .policy(order)
            .clock(clock.clone())
            .shards(config.shards)
            .seed(11);
        if config.listener {
            builder = builder.eviction_listener(move |k: &[u8], v: &Bytes, cause| {
                sink.lock().unwrap().push((k.to_vec(), v.clone(), cause));
            });
        }
        let map = builder.build().unwrap();
        Driver {
            map,
            clock,
            events,
            model: BTreeMap::new(),
            now: 0,
            stamp: 0,
            large: config.large,
            listener: config.listener,
            remove_prefix,
        }
    }

    fn tick(&self) -> u64 {
        self.now / TICK_NANOS
    }

    fn live(&self, k: &[u8]) -> Option<&Stored> {
        let now = self.tick();
        self.model
            .get(k)
            .filter(|s| s.deadline.is_none_or(|d| now < d))
    }

    fn deadline(&self, ttl_ms: u64) -> u64 {
        (self.now + ttl_ms * 1_000_000).div_ceil(TICK_NANOS).max(1)
    }

    /// A fresh value of `len` bytes (at least 4: a unique stamp).
    fn value(&mut self, len: u16) -> Bytes {
        self.stamp += 1;
        let mut v = self.stamp.to_le_bytes().to_vec();
        v.resize(usize::from(len).max(4), (self.stamp % 251) as u8);
        Bytes::from(v)
    }

    /// Applies the listener's reports to the model, checking each.
    fn drain(&mut self) {
        let events = std::mem::take(&mut *self.events.lock().unwrap());
        for (k, v, cause) in events {
            let Some(s) = self.model.get(&k) else {
                panic!("{cause:?} reported for {k:?}, which the model does not hold");
            };
            assert_eq!(s.value, v, "{cause:?} of {k:?} reported another value");
            match cause {
                EvictionCause::Capacity => {
                    assert!(
                        !self.large,
                        "eviction of {k:?} with a budget for everything"
                    );
                    self.model.remove(&k);
                }
                EvictionCause::Expired => {
                    let now = self.tick();
                    assert!(
                        s.deadline.is_some_and(|d| now >= d),
                        "{k:?} reported expired before its deadline"
                    );
                    self.model.remove(&k);
                }
                // An in-place change: the op updates the model.
                EvictionCause::Replaced => {}
                other => panic!("unexpected report {other:?} for {k:?}"),
            }
        }
    }

    fn check_invariants(&self) {
        self.map.validate().unwrap();
        assert!(self.map.weight() <= self.map.budget());
        let w: u64 = self.model.iter().map(|(k, s)| weight(k, &s.value)).sum();
        if self.listener {
            assert_eq!(self.map.len(), self.model.len(), "len");
            assert_eq!(self.map.weight(), w, "byte weight");
        } else {
            // The map holds every live entry and some of the expired ones.
            let live: Vec<_> = self
                .model
                .keys()
                .filter(|k| self.live(k).is_some())
                .collect();
            let live_w: u64 = live.iter().map(|k| weight(k, &self.model[*k].value)).sum();
            assert!(
                (live.len()..=self.model.len()).contains(&self.map.len()),
                "len"
            );
            assert!((live_w..=w).contains(&self.map.weight()), "byte weight");
        }
    }

    /// The model's answer to a write of `len` bytes with `ttl`: the refusal, if any.
    fn refusal(&self, k: &[u8], len: usize, ttl: Option<u16>) -> Option<ByteMapError> {
        if ttl == Some(0) {
            return Some(ByteMapError::ZeroTtl);
        }
        let w = weight(k, &vec![0; len]);
        (w > self.map.max_entry_bytes()).then(|| ByteMapError::TooLarge {
            weight: w,
            max: self.map.max_entry_bytes(),
        })
    }

    /// Model of a successful write; returns the replaced live value.
    fn write(&mut self, k: &[u8], value: Bytes, ttl: Option<u16>) -> Option<Bytes> {
        let old = self.live(k).map(|s| s.value.clone());
        let deadline = ttl.map(|t| self.deadline(u64::from(t)));
        self.model.insert(k.to_vec(), Stored { value, deadline });
        old
    }

    fn run(mut self, ops: &[Op]) {
        for (step, op) in ops.iter().enumerate() {
            self.step(op);
            self.drain_unexpected(step, op);
            self.check_invariants();
        }
    }

    fn drain_unexpected(&mut self, step: usize, op: &Op) {
        let left = self.events.lock().unwrap().len();
        assert_eq!(left, 0, "step {step} {op:?}: reports not accounted for");
    }

    fn ttl_left(&self, k: &[u8]) -> Option<Option<Duration>> {
        self.live(k).map(|s| {
            s.deadline
                .map(|d| Duration::from_nanos(d * TICK_NANOS - self.now))
        })
    }

    fn step(&mut self, op: &Op) {
        match *op {
            Op::Get(k) => {
                let k = key_bytes(k);
                let got = self.map.get_owned(&k);
                self.drain();
                assert_eq!(got, self.live(&k).map(|s| s.value.clone()), "get {k:?}");
            }
            Op::GetWith(k) => {
                let k = key_bytes(k);
                let got = self.map.get_with(&k, |v| v.to_vec());
                self.drain();
                assert_eq!(got, self.live(&k).map(|s| s.value.to_vec()), "get_with");
            }
            Op::PreparedGet(k) => {
                let k = key_bytes(k);
                let p = self.map.prepare_key(&k);
                assert_eq!(p.route(), self.map.route_key(&k));
                let got = self.map.get_owned_prepared(&p);
                self.drain();
                assert_eq!(got, self.live(&k).map(|s| s.value.clone()), "prepared get");
            }
            Op::Contains(k) => {
                let k = key_bytes(k);
                assert_eq!(self.map.contains_key(&k), self.live(&k).is_some());
            }
            Op::Ttl(k) => {
                let k = key_bytes(k);
                assert_eq!(self.map.ttl(&k), self.ttl_left(&k), "ttl {k:?}");
            }
            Op::Insert { key, len, ttl } | Op::PreparedInsert { key, len, ttl } => {
                let k = key_bytes(key);
                let v = self.value(len);
                let want = self.refusal(&k, v.len(), ttl);
                let got = match (op, ttl) {
                    (Op::PreparedInsert { .. }, _) => {
                        let p = self.map.prepare_key(&k);
                        self.map.insert_prepared(&p, v.clone(), ttl.map(u64::from))
                    }
                    (_, None) => self.map.insert(&k, v.clone()),
                    (_, Some(t)) => self.map.insert_with_ttl(&k, v.clone(), u64::from(t)),
                };
                self.drain();
                match want {
                    Some(e) => assert_eq!(got, Err(e)),
                    None => {
                        let old = self.write(&k, v, ttl);
                        assert_eq!(got, Ok(old), "insert {k:?}");
                    }
                }
            }
            Op::InsertSlice { key, len } => {
                let k = key_bytes(key);
                let v = self.value(len);
                let want = self.refusal(&k, v.len(), None);
                let got = self.map.insert_slice(&k, &v);
                self.drain();
                match want {
                    Some(e) => assert_eq!(got, Err(e)),
                    None => {
                        let old = self.write(&k, v, None);
                        assert_eq!(got, Ok(old.is_some()), "insert_slice {k:?}");
                    }
                }
            }
            Op::TryInsert { key, len, ttl } => {
                let k = key_bytes(key);
                let v = self.value(len);
                let got = self.map.try_insert(&k, v.clone(), ttl.map(u64::from));
                self.drain();
                if ttl == Some(0) {
                    // Bad input is refused whether or not the key is there.
                    assert_eq!(got, Err(ByteMapError::ZeroTtl), "try_insert with ttl 0");
                } else if self.live(&k).is_some() {
                    assert_eq!(got, Ok(false), "try_insert over a live key");
                } else if let Some(e) = self.refusal(&k, v.len(), ttl) {
                    assert_eq!(got, Err(e));
                } else {
                    assert_eq!(got, Ok(true));
                    self.write(&k, v, ttl);
                }
            }
            Op::Remove(k) | Op::PreparedRemove(k) => {
                let k = key_bytes(k);
                let got = if matches!(op, Op::Remove(_)) {
                    self.map.remove(&k)
                } else {
                    let p = self.map.prepare_key(&k);
                    self.map.remove_prepared(&p)
                };
                self.drain(); // an expired entry is reported as such
                let want = self.live(&k).map(|s| s.value.clone());
                assert_eq!(got, want, "remove {k:?}");
                if want.is_some() {
                    self.model.remove(&k);
                }
            }
            Op::GetMut { key, grow } => {
                let k = key_bytes(key);
                let before = self.live(&k).cloned();
                let got = self.map.get_mut(&k, |v: &mut BytesMut| {
                    mutate(v, grow);
                    v.len()
                });
                let Some(before) = before else {
                    self.drain();
                    assert_eq!(got, Ok(None), "get_mut of an absent key");
                    return;
                };
                let mut new = BytesMut::from(&before.value[..]);
                mutate(&mut new, grow);
                self.drain();
                match self.refusal(&k, new.len(), None) {
                    Some(e) => assert_eq!(got, Err(e)),
                    None => {
                        assert_eq!(got, Ok(Some(new.len())));
                        self.model.insert(
                            k.clone(),
                            Stored {
                                value: new.freeze(),
                                deadline: before.deadline,
                            },
                        );
                    }
                }
            }
            Op::EntryUpsert { key, len, ttl } => {
                let k = key_bytes(key);
                let v = self.value(len);
                let got = self.map.entry(&k, |e| match e {
                    Entry::Occupied(o) => o.insert(v.clone(), ttl.map(u64::from)).map(Some),
                    Entry::Vacant(vac) => vac.insert(v.clone(), ttl.map(u64::from)).map(|()| None),
                });
                self.drain();
                match self.refusal(&k, v.len(), ttl) {
                    Some(e) => assert_eq!(got, Err(e)),
                    None => {
                        let old = self.write(&k, v, ttl);
                        assert_eq!(got, Ok(old), "entry upsert {k:?}");
                    }
                }
            }
            Op::EntryRemove(k) => {
                let k = key_bytes(k);
                let got = self.map.entry(&k, |e| match e {
                    Entry::Occupied(o) => Some(o.remove()),
                    Entry::Vacant(_) => None,
                });
                self.drain();
                let want = self.live(&k).map(|s| s.value.clone());
                assert_eq!(got, want, "entry remove");
                if want.is_some() {
                    self.model.remove(&k);
                }
            }
            Op::Expire { key, ttl } => {
                let k = key_bytes(key);
                let got = self.map.expire(&k, u64::from(ttl));
                if ttl == 0 {
                    assert_eq!(got, Err(ByteMapError::ZeroTtl));
                } else if self.live(&k).is_some() {
                    assert_eq!(got, Ok(true));
                    let d = self.deadline(u64::from(ttl));
                    self.model.get_mut(&k).unwrap().deadline = Some(d);
                } else {
                    assert_eq!(got, Ok(false));
                }
            }
            Op::Persist(k) => {
                let k = key_bytes(k);
                let got = self.map.persist(&k);
                assert_eq!(got, self.live(&k).is_some());
                if got {
                    self.model.get_mut(&k).unwrap().deadline = None;
                }
            }
            Op::Advance { ms, us } => {
                let d = Duration::from_millis(u64::from(ms)) + Duration::from_micros(u64::from(us));
                self.clock.advance(d);
                self.now += d.as_nanos() as u64;
            }
            Op::RemovePrefix(k) => {
                let Some(remove_prefix) = self.remove_prefix else {
                    return;
                };
                let k = key_bytes(k);
                let prefix = group_of(default_group_len, &k).to_vec();
                let got = remove_prefix(&self.map, &prefix);
                self.drain(); // expired members
                let members: Vec<Vec<u8>> = self
                    .model
                    .keys()
                    .filter(|m| group_of(default_group_len, m) == prefix.as_slice())
                    .cloned()
                    .collect();
                let live = members.iter().filter(|m| self.live(m).is_some()).count();
                assert_eq!(got, live, "remove_prefix {prefix:?}");
                for m in members {
                    self.model.remove(&m);
                }
            }
            Op::Purge => {
                self.map.purge_expired();
                self.drain();
                let now = self.tick();
                if !self.listener {
                    // Unreported, but gone now.
                    self.model.retain(|_, s| s.deadline.is_none_or(|d| now < d));
                }
                assert!(
                    self.model
                        .values()
                        .all(|s| s.deadline.is_none_or(|d| now < d)),
                    "purge left an expired entry"
                );
            }
            Op::Clear => {
                self.map.clear();
                self.model.clear();
            }
        }
    }
}
