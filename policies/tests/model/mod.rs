//! A reference model of the policy layer, written plainly (a `BTreeMap` and linear
//! scans), and a driver that runs one sequence of operations against a real policy and
//! the model side by side, comparing every answer and every eviction, and calling
//! `validate()` after every step.
//!
//! Shared by the proptest suite (`tests/model_tests.rs`) and the cargo-fuzz targets
//! (`fuzz/fuzz_targets/{lru,lfu,ttl,s3fifo}.rs`), so both check the same rules.
//!
//! Entries are `u8 -> u32`; the weigher reads the weight from the value's top byte
//! (`value >> 24`, where 0 counts as 1), so random values give random weights.

#![allow(dead_code, unreachable_pub)]

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use polycache_policies::{
    Core, EvictionCause, InsertError, LfuOrder, LruOrder, ManualClock, Order, Policy, S3FifoOrder,
    TtlError, TtlOrder,
};

/// Which policy the model imitates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Lru,
    Lfu,
    Ttl,
    /// S3-FIFO with small's share in percent (`S3FifoOrder::with_small_percent`).
    S3Fifo(u8),
}

impl Kind {
    fn is_s3fifo(self) -> bool {
        matches!(self, Kind::S3Fifo(_))
    }
}

/// S3-FIFO queue of an entry in the model.
const SMALL: u8 = 0;
const MAIN: u8 = 1;
/// Out of the order (a replaced entry while others make room for it).
const OUT: u8 = 2;
/// S3-FIFO: fingerprints per ghost bucket.
const GHOST_WAYS: usize = 8;

/// One step.
#[derive(Clone, Debug)]
pub enum Op {
    Get(u8),
    GetMut(u8, u32),
    Peek(u8),
    Insert {
        key: u8,
        value: u32,
        ttl: Option<u64>,
    },
    Remove(u8),
    Advance(u64),
    /// Moves the clock to `offset` nanoseconds around key's deadline (if it has one and
    /// that is not in the past): lands on expiry boundaries that random steps miss.
    AdvanceNear(u8, i16),
    Purge,
    SetTtl(u8, Option<u64>),
    Ttl(u8),
    Retain(u32),
    Iter,
    Clear,
}

/// The weigher under test: the value's top byte.
pub fn weigh(_: &u8, v: &u32) -> u64 {
    u64::from(v >> 24)
}

const TICK_SHIFT: u32 = 10;

#[derive(Clone, Debug)]
struct E {
    value: u32,
    weight: u64,
    deadline: Option<u64>,
    /// The wheel's time when the deadline was placed (bounds the TTL victim's slot).
    placed_at: u64,
    /// LRU: last access. LFU: when it reached its frequency.
    seq: u64,
    freq: u32,
    /// TTL: order of first insert. S3-FIFO: the generation of its queue items.
    first: u64,
    /// S3-FIFO: the queue it is in.
    queue: u8,
}

/// The reference model.
pub struct Model {
    kind: Kind,
    capacity: u64,
    entries: BTreeMap<u8, E>,
    counter: u64,
    accesses: u64,
    wheel_time: u64,
    wheel_active: bool,
    now: u64,
    /// S3-FIFO: queue items `(key, generation)`; an item whose generation is not its
    /// entry's `first`, or whose entry is in the other queue, is stale and skipped.
    small: VecDeque<(u8, u64)>,
    main: VecDeque<(u8, u64)>,
    /// S3-FIFO: the ghost's buckets of fingerprints, newest first, at most
    /// `GHOST_WAYS` each.
    ghost: Vec<Vec<u32>>,
    /// S3-FIFO: the ghost fingerprint of every key (from the policy's hash).
    fps: Vec<u32>,
}

fn level_for(elapsed: u64, when: u64) -> u32 {
    let masked = (elapsed ^ when) | 63;
    (63 - masked.leading_zeros()) / 6
}

impl Model {
    pub fn new(kind: Kind, capacity: u64) -> Self {
        Model {
            kind,
            capacity,
            entries: BTreeMap::new(),
            counter: 0,
            accesses: 0,
            wheel_time: 0,
            wheel_active: false,
            now: 0,
            small: VecDeque::new(),
            main: VecDeque::new(),
            ghost: Vec::new(),
            fps: Vec::new(),
        }
    }

    fn tick(&self) -> u64 {
        self.now >> TICK_SHIFT
    }

    fn expired(&self, e: &E) -> bool {
        e.deadline.is_some_and(|d| self.tick() >= d)
    }

    fn deadline_tick(&self, ttl: u64) -> Option<u64> {
        let at = self
            .now
            .checked_add(ttl)?
            .checked_add((1 << TICK_SHIFT) - 1)?;
        Some((at >> TICK_SHIFT).max(1))
    }

    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    fn weight(&self) -> u64 {
        self.entries.values().map(|e| e.weight).sum()
    }

    fn any_timed(&self) -> bool {
        self.entries.values().any(|e| e.deadline.is_some())
    }

    fn place(&mut self, k: u8, deadline: Option<u64>) {
        if deadline.is_some() && !self.wheel_active {
            self.wheel_active = true;
            self.wheel_time = self.tick();
        }
        let wt = self.wheel_time;
        let e = self.entries.get_mut(&k).unwrap();
        e.deadline = deadline;
        e.placed_at = wt;
    }

    fn count_access(&mut self) {
        if self.kind != Kind::Lfu {
            return;
        }
        self.accesses += 1;
        if self.accesses >= 8 * (self.entries.len() as u64).max(16) {
            self.accesses = 0;
            let mut all: Vec<(u32, u32, u64, u8)> = self
                .entries
                .iter()
                .map(|(&k, e)| (e.freq.div_ceil(2), e.freq, e.seq, k))
                .collect();
            all.sort();
            for (rank, (f, _, _, k)) in all.into_iter().enumerate() {
                let e = self.entries.get_mut(&k).unwrap();
                e.freq = f;
                e.seq = rank as u64;
            }
        }
    }

    fn access(&mut self, k: u8) {
        match self.kind {
            Kind::Lru => {
                let s = self.next();
                self.entries.get_mut(&k).unwrap().seq = s;
            }
            Kind::Lfu => {
                let s = self.next();
                let e = self.entries.get_mut(&k).unwrap();
                e.freq = e.freq.saturating_add(1);
                e.seq = s;
                self.count_access();
            }
            Kind::S3Fifo(_) => {
                let e = self.entries.get_mut(&k).unwrap();
                e.freq = (e.freq + 1).min(3);
            }
            Kind::Ttl => {}
        }
    }

    /// Enters `k` (already in `entries`) into the order as new.
    fn enter(&mut self, k: u8) {
        let s = self.next();
        let e = self.entries.get_mut(&k).unwrap();
        e.seq = s;
        e.freq = 1;
        e.first = s;
        if self.kind.is_s3fifo() {
            e.freq = 0;
            let (small, main) = self.queue_counts();
            // Main while it is below its share (counting the newcomer), or on a ghost hit.
            let to_main = self.ghost_contains(self.fps[usize::from(k)])
                || main < self.main_share(small + main + 1);
            let e = self.entries.get_mut(&k).unwrap();
            e.queue = if to_main { MAIN } else { SMALL };
            let queue = if e.queue == MAIN {
                &mut self.main
            } else {
                &mut self.small
            };
            queue.push_back((k, s));
        }
        self.count_access();
    }

    /// S3-FIFO: the next valid item of `queue`, popped (stale items are dropped).
    fn pop_live(&mut self, queue: u8) -> Option<u8> {
        loop {
            let (k, generation) = if queue == MAIN {
                self.main.pop_front()?
            } else {
                self.small.pop_front()?
            };
            if self
                .entries
                .get(&k)
                .is_some_and(|e| e.first == generation && e.queue == queue)
            {
                return Some(k);
            }
        }
    }

    /// S3-FIFO: how many entries small and main hold.
    fn queue_counts(&self) -> (usize, usize) {
        let count = |q: u8| self.entries.values().filter(|e| e.queue == q).count();
        (count(SMALL), count(MAIN))
    }

    /// S3-FIFO: main's share of `total` entries, rounded down.
    fn main_share(&self, total: usize) -> usize {
        let Kind::S3Fifo(small_percent) = self.kind else {
            unreachable!("S3-FIFO only")
        };
        total * (100 - usize::from(small_percent)) / 100
    }

    /// S3-FIFO: the ghost bucket of `fp` among `n`: its high bits scaled to `n`.
    fn ghost_bucket(fp: u32, n: usize) -> usize {
        ((u64::from(fp) * n as u64) >> 32) as usize
    }

    /// S3-FIFO: adds `fp` to the front of its ghost bucket, forgetting the bucket's
    /// oldest beyond `GHOST_WAYS`.
    fn ghost_push(ghost: &mut [Vec<u32>], fp: u32) {
        let n = ghost.len();
        let bucket = &mut ghost[Self::ghost_bucket(fp, n)];
        bucket.insert(0, fp);
        bucket.truncate(GHOST_WAYS);
    }

    /// S3-FIFO: whether the ghost remembers `fp`.
    fn ghost_contains(&self, fp: u32) -> bool {
        let n = self.ghost.len();
        n > 0 && self.ghost[Self::ghost_bucket(fp, n)].contains(&fp)
    }

    /// S3-FIFO: the ghost grows to `bound` rounded up to whole buckets of `GHOST_WAYS`,
    /// and by a quarter at least, re-adding its fingerprints oldest first; it never
    /// shrinks.
    fn ghost_grow(&mut self, bound: usize) {
        let have = self.ghost.len();
        if bound.max(1) <= have * GHOST_WAYS {
            return;
        }
        let want = bound.div_ceil(GHOST_WAYS).max(1).max(have + have / 4);
        let old = std::mem::replace(&mut self.ghost, vec![Vec::new(); want]);
        for age in (0..GHOST_WAYS).rev() {
            for bucket in &old {
                if let Some(&fp) = bucket.get(age) {
                    Self::ghost_push(&mut self.ghost, fp);
                }
            }
        }
    }

    /// S3-FIFO: runs the eviction procedure on the model's queues (promotions, counter
    /// decrements, ghost) and returns the victim.
    fn s3fifo_victim(&mut self) -> Option<u8> {
        loop {
            let (small, main) = self.queue_counts();
            let target = self.main_share(small + main);
            // Small's front, unless main is over its share (after a promotion).
            if small > 0 && main <= target {
                let t = self.pop_live(SMALL)?;
                let e = self.entries.get_mut(&t).unwrap();
                if e.freq > 0 {
                    e.freq = 0;
                    e.queue = MAIN;
                    let generation = e.first;
                    self.main.push_back((t, generation));
                    continue;
                }
                // Half of main's share (see the `s3fifo` module docs).
                self.ghost_grow(target / 2);
                if !self.ghost.is_empty() {
                    Self::ghost_push(&mut self.ghost, self.fps[usize::from(t)]);
                }
                return Some(t);
            }
            let t = self.pop_live(MAIN)?;
            let e = self.entries.get_mut(&t).unwrap();
            if e.freq == 0 {
                return Some(t);
            }
            e.freq -= 1;
            let generation = e.first;
            self.main.push_back((t, generation));
        }
    }

    fn reclaim(&mut self) -> Vec<(u8, u32)> {
        self.wheel_time = self.wheel_time.max(self.tick());
        let gone: Vec<u8> = self
            .entries
            .iter()
            .filter(|(_, e)| self.expired(e))
            .map(|(&k, _)| k)
            .collect();
        gone.into_iter()
            .map(|k| (k, self.entries.remove(&k).unwrap().value))
            .collect()
    }

    /// Checks that the policy may evict `k` now (all but `except` are candidates).
    fn check_victim(&mut self, k: u8, except: Option<u8>) -> Result<(), String> {
        if self.kind.is_s3fifo() {
            if let Some(e) = except.and_then(|x| self.entries.get_mut(&x)) {
                e.queue = OUT;
            }
            let want = self.s3fifo_victim();
            return (want == Some(k))
                .then_some(())
                .ok_or(format!("evicted {k}, S3-FIFO's victim is {want:?}"));
        }
        let cands = || self.entries.iter().filter(|(kk, _)| Some(**kk) != except);
        let Some(e) = self.entries.get(&k).filter(|_| Some(k) != except) else {
            return Err(format!("evicted {k}, which is not a candidate"));
        };
        match self.kind {
            Kind::S3Fifo(_) => unreachable!("checked above"),
            Kind::Lru => {
                let (&want, _) = cands().min_by_key(|(_, e)| e.seq).unwrap();
                (want == k)
                    .then_some(())
                    .ok_or(format!("evicted {k}, LRU is {want}"))
            }
            Kind::Lfu => {
                let (&want, _) = cands().min_by_key(|(_, e)| (e.freq, e.seq)).unwrap();
                (want == k)
                    .then_some(())
                    .ok_or(format!("evicted {k}, LFU is {want}"))
            }
            Kind::Ttl => {
                let timed: Vec<_> = cands().filter(|(_, e)| e.deadline.is_some()).collect();
                if timed.is_empty() {
                    let (&want, _) = cands().min_by_key(|(_, e)| e.first).unwrap();
                    return (want == k)
                        .then_some(())
                        .ok_or(format!("evicted {k}, first inserted is {want}"));
                }
                let min = timed
                    .iter()
                    .map(|(_, e)| e.deadline.unwrap())
                    .min()
                    .unwrap();
                // The soonest shares its wheel slot with the victim: bound by that width.
                let width = timed
                    .iter()
                    .filter(|(_, e)| e.deadline == Some(min))
                    .map(|(_, e)| {
                        if min <= e.placed_at {
                            1
                        } else {
                            1u64 << (6 * level_for(e.placed_at, min))
                        }
                    })
                    .min()
                    .unwrap();
                match e.deadline {
                    Some(d) if d >= min && d - min < width => Ok(()),
                    other => Err(format!(
                        "evicted {k} (deadline {other:?}), soonest is {min} (slot width {width})"
                    )),
                }
            }
        }
    }
}

type Ev = (u8, u32, EvictionCause);

fn split(evs: &[Ev]) -> (Vec<Ev>, Vec<Ev>, Vec<Ev>) {
    let mut expired: Vec<Ev> = evs
        .iter()
        .filter(|e| e.2 == EvictionCause::Expired)
        .cloned()
        .collect();
    expired.sort_by_key(|e| e.0);
    let replaced = evs
        .iter()
        .filter(|e| e.2 == EvictionCause::Replaced)
        .cloned()
        .collect();
    let capacity = evs
        .iter()
        .filter(|e| e.2 == EvictionCause::Capacity)
        .cloned()
        .collect();
    (expired, replaced, capacity)
}

/// Runs `ops` against a fresh policy of `kind` and the model; panics on the first
/// difference, with the step and both answers.
pub fn run(kind: Kind, capacity: u64, ops: &[Op]) {
    match kind {
        Kind::Lru => run_order(LruOrder::default(), kind, capacity, ops),
        Kind::Lfu => run_order(LfuOrder::default(), kind, capacity, ops),
        Kind::Ttl => run_order(TtlOrder::default(), kind, capacity, ops),
        Kind::S3Fifo(percent) => run_order(
            S3FifoOrder::with_small_percent(percent),
            kind,
            capacity,
            ops,
        ),
    }
}

/// Builds a core with eviction order `O`, the test weigher and a manual clock, and
/// drives it.
fn run_order<O: Order<u8, u32>>(order: O, kind: Kind, capacity: u64, ops: &[Op]) {
    let clock = ManualClock::new();
    // A fixed seed, so that a failing run can be replayed.
    let policy = Core::<u8, u32, LruOrder>::builder(capacity)
        .order(order)
        .hasher(ahash::RandomState::with_seeds(1, 2, 3, 4))
        .weigher(weigh as fn(&u8, &u32) -> u64)
        .clock(clock.clone())
        .build()
        .unwrap();
    drive(policy, clock, kind, capacity, ops)
}

fn drive<P: Policy<u8, u32>>(mut p: P, clock: ManualClock, kind: Kind, capacity: u64, ops: &[Op]) {
    let mut m = Model::new(kind, capacity);
    m.fps = (0..=255u8)
        .map(|k| S3FifoOrder::fingerprint(p.hash(&k)))
        .collect();
    for (step, op) in ops.iter().enumerate() {
        let ctx = |msg: String| format!("{kind:?} cap {capacity} step {step} {op:?}: {msg}");
        match *op {
            Op::Get(k) | Op::GetMut(k, _) => {
                let want = match m.entries.get(&k) {
                    Some(e) if !m.expired(e) => {
                        let v = e.value;
                        m.access(k);
                        Some(v)
                    }
                    _ => None,
                };
                let got = if let Op::GetMut(_, delta) = *op {
                    let got = p.get_mut(&k).map(|v| {
                        let old = *v;
                        *v = v.wrapping_add(delta);
                        old
                    });
                    if let Some(e) = m.entries.get_mut(&k).filter(|_| want.is_some()) {
                        e.value = e.value.wrapping_add(delta);
                    }
                    got
                } else if kind.is_s3fifo() && k % 2 == 1 {
                    // Both look-ups record the access; the shared one through `&self`.
                    p.get_shared(&k).copied()
                } else {
                    p.get(&k).copied()
                };
                assert_eq!(got, want, "{}", ctx("get".into()));
            }
            Op::Peek(k) => {
                let want = m.entries.get(&k).filter(|e| !m.expired(e)).map(|e| e.value);
                assert_eq!(p.peek(&k).copied(), want, "{}", ctx("peek".into()));
                assert_eq!(p.contains(&k), want.is_some(), "{}", ctx("contains".into()));
            }
            Op::Insert { key, value, ttl } => {
                let weight = weigh(&key, &value).max(1);
                let result = match ttl {
                    None => p.insert(key, value),
                    Some(t) => p.insert_with_ttl(key, value, Duration::from_nanos(t)),
                };
                if weight > capacity {
                    match result {
                        Err(InsertError::Overweight {
                            key: k, value: v, ..
                        }) => {
                            assert_eq!((k, v), (key, value), "{}", ctx("handed back".into()))
                        }
                        other => panic!("{}", ctx(format!("want Overweight, got {other:?}"))),
                    }
                    continue;
                }
                if ttl == Some(0) {
                    // Dead on arrival: refused, and the entry handed back.
                    match result {
                        Err(InsertError::ZeroTtl { key: k, value: v }) => {
                            assert_eq!((k, v), (key, value), "{}", ctx("handed back".into()))
                        }
                        other => panic!("{}", ctx(format!("want ZeroTtl, got {other:?}"))),
                    }
                    continue;
                }
                let deadline = match ttl {
                    None => None,
                    Some(t) => match m.deadline_tick(t) {
                        Some(d) => Some(d),
                        None => {
                            assert!(
                                matches!(result, Err(InsertError::TtlOverflow { .. })),
                                "{}",
                                ctx(format!("want TtlOverflow, got {result:?}"))
                            );
                            continue;
                        }
                    },
                };
                let evs: Vec<Ev> = result
                    .unwrap_or_else(|e| panic!("{}", ctx(format!("refused: {e}"))))
                    .into_iter()
                    .map(|e| (e.key, e.value, e.cause))
                    .collect();
                let (expired, replaced, evicted) = split(&evs);
                // 1. Expired entries are reclaimed first.
                let mut want_expired: Vec<Ev> = if ttl.is_some() || m.any_timed() {
                    m.reclaim()
                        .into_iter()
                        .map(|(k, v)| (k, v, EvictionCause::Expired))
                        .collect()
                } else {
                    Vec::new()
                };
                want_expired.sort_by_key(|e| e.0);
                assert_eq!(expired, want_expired, "{}", ctx("expired".into()));
                // 2. Replace or make room.
                let mut evicted = evicted.into_iter();
                if let Some(e) = m.entries.get_mut(&key) {
                    assert_eq!(
                        replaced,
                        vec![(key, e.value, EvictionCause::Replaced)],
                        "{}",
                        ctx("replaced".into())
                    );
                    e.value = value;
                    e.weight = weight;
                    if m.weight() > capacity {
                        while m.weight() > capacity {
                            let (k, _, _) = evicted
                                .next()
                                .unwrap_or_else(|| panic!("{}", ctx("too few evictions".into())));
                            m.check_victim(k, Some(key))
                                .unwrap_or_else(|e| panic!("{}", ctx(e)));
                            m.entries.remove(&k);
                        }
                        m.place(key, deadline);
                        m.enter(key);
                    } else {
                        m.place(key, deadline);
                        m.access(key);
                    }
                } else {
                    assert!(replaced.is_empty(), "{}", ctx("replaced a new key".into()));
                    while m.weight() + weight > capacity {
                        let (k, v, _) = evicted
                            .next()
                            .unwrap_or_else(|| panic!("{}", ctx("too few evictions".into())));
                        assert_eq!(
                            m.entries.get(&k).map(|e| e.value),
                            Some(v),
                            "{}",
                            ctx("value".into())
                        );
                        m.check_victim(k, None)
                            .unwrap_or_else(|e| panic!("{}", ctx(e)));
                        m.entries.remove(&k);
                    }
                    m.entries.insert(
                        key,
                        E {
                            value,
                            weight,
                            deadline: None,
                            placed_at: 0,
                            seq: 0,
                            freq: 1,
                            first: 0,
                            queue: OUT,
                        },
                    );
                    m.place(key, deadline);
                    m.enter(key);
                }
                let extra: Vec<_> = evicted.collect();
                assert!(
                    extra.is_empty(),
                    "{}",
                    ctx(format!("evicted more than needed: {extra:?}"))
                );
            }
            Op::Remove(k) => {
                let want = m.entries.get(&k).map(|e| {
                    let cause = if m.expired(e) {
                        EvictionCause::Expired
                    } else {
                        EvictionCause::Removed
                    };
                    (k, e.value, cause)
                });
                m.entries.remove(&k);
                let hash = p.hash(&k);
                let got = p.remove_hashed(hash, &k).map(|e| (e.key, e.value, e.cause));
                assert_eq!(got, want, "{}", ctx("remove".into()));
            }
            Op::Advance(by) => {
                clock.advance(Duration::from_nanos(by));
                m.now = m.now.saturating_add(by);
            }
            Op::AdvanceNear(k, offset) => {
                if let Some(d) = m.entries.get(&k).and_then(|e| e.deadline) {
                    let target = (d << TICK_SHIFT).saturating_add_signed(i64::from(offset));
                    if target > m.now {
                        clock.advance(Duration::from_nanos(target - m.now));
                        m.now = target;
                    }
                }
            }
            Op::Purge => {
                let got = split(
                    &p.purge_expired()
                        .into_iter()
                        .map(|e| (e.key, e.value, e.cause))
                        .collect::<Vec<_>>(),
                )
                .0;
                let mut want: Vec<Ev> = if m.any_timed() {
                    m.reclaim()
                        .into_iter()
                        .map(|(k, v)| (k, v, EvictionCause::Expired))
                        .collect()
                } else {
                    Vec::new()
                };
                want.sort_by_key(|e| e.0);
                assert_eq!(got, want, "{}", ctx("purge".into()));
            }
            Op::SetTtl(k, ttl) => {
                let live = m.entries.get(&k).is_some_and(|e| !m.expired(e));
                let got = p.set_ttl(&k, ttl.map(Duration::from_nanos));
                let want = if ttl == Some(0) {
                    Err(TtlError::Zero)
                } else if !live {
                    Ok(false)
                } else {
                    match ttl {
                        None => {
                            m.place(k, None);
                            Ok(true)
                        }
                        Some(t) => match m.deadline_tick(t) {
                            Some(d) => {
                                m.place(k, Some(d));
                                Ok(true)
                            }
                            None => Err(TtlError::Overflow(Duration::from_nanos(t))),
                        },
                    }
                };
                assert_eq!(got, want, "{}", ctx("set_ttl".into()));
            }
            Op::Ttl(k) => {
                let want = m.entries.get(&k).filter(|e| !m.expired(e)).map(|e| {
                    e.deadline
                        .map(|d| Duration::from_nanos((d << TICK_SHIFT).saturating_sub(m.now)))
                });
                assert_eq!(p.ttl(&k), want, "{}", ctx("ttl".into()));
            }
            Op::Retain(modulus) => {
                let modulus = modulus.max(1);
                let evs: Vec<Ev> = p
                    .retain(|_, v| *v % modulus != 0)
                    .into_iter()
                    .map(|e| (e.key, e.value, e.cause))
                    .collect();
                let mut want: Vec<Ev> = if m.any_timed() {
                    m.reclaim()
                        .into_iter()
                        .map(|(k, v)| (k, v, EvictionCause::Expired))
                        .collect()
                } else {
                    Vec::new()
                };
                let dropped: Vec<u8> = m
                    .entries
                    .iter()
                    .filter(|(_, e)| e.value % modulus == 0)
                    .map(|(&k, _)| k)
                    .collect();
                for k in dropped {
                    let e = m.entries.remove(&k).unwrap();
                    want.push((k, e.value, EvictionCause::Removed));
                }
                let mut got = evs;
                got.sort_by_key(|e| (e.0, e.2 as u8));
                want.sort_by_key(|e| (e.0, e.2 as u8));
                assert_eq!(got, want, "{}", ctx("retain".into()));
            }
            Op::Iter => {
                let mut got: Vec<(u8, u32)> = p.iter().map(|(k, v)| (*k, *v)).collect();
                got.sort();
                let want: Vec<(u8, u32)> = m
                    .entries
                    .iter()
                    .filter(|(_, e)| !m.expired(e))
                    .map(|(&k, e)| (k, e.value))
                    .collect();
                assert_eq!(got, want, "{}", ctx("iter".into()));
            }
            Op::Clear => {
                p.clear();
                m.entries.clear();
                m.accesses = 0;
                m.small.clear();
                m.main.clear();
                m.ghost.iter_mut().for_each(Vec::clear);
            }
        }
        assert_eq!(p.len(), m.entries.len(), "{}", ctx("len".into()));
        assert_eq!(p.weight(), m.weight(), "{}", ctx("weight".into()));
        assert!(p.weight() <= capacity, "{}", ctx("over capacity".into()));
        p.validate()
            .unwrap_or_else(|e| panic!("{}", ctx(format!("validate: {e}"))));
    }
}

/// Decodes a fuzzer's bytes into a capacity and a sequence of operations (a total
/// function: every byte string is a valid case).
pub fn decode(data: &[u8]) -> (u64, Vec<Op>) {
    let mut bytes = data.iter().copied();
    let mut byte = move || bytes.next();
    let capacity = u64::from(byte().unwrap_or(7) % 48) + 1;
    let mut ops = Vec::new();
    let u16_of = |b: &mut dyn FnMut() -> Option<u8>| {
        u16::from(b().unwrap_or(0)) << 8 | u16::from(b().unwrap_or(0))
    };
    let ttl_of = |b: &mut dyn FnMut() -> Option<u8>| {
        let scale = b().unwrap_or(0);
        if scale == 255 {
            u64::MAX
        } else {
            let mant = u64::from(u16_of(b));
            (mant << (scale % 34)) >> 16
        }
    };
    while let Some(tag) = byte() {
        let key = byte().unwrap_or(0) % 24;
        let op = match tag % 14 {
            0..=2 => Op::Get(key),
            3 => Op::GetMut(key, u32::from(byte().unwrap_or(1))),
            4 => Op::Peek(key),
            5..=7 => {
                let weight = u32::from(byte().unwrap_or(1) % 20);
                let value = (weight << 24) | u32::from(u16_of(&mut byte));
                let ttl = (tag & 0x80 != 0).then(|| ttl_of(&mut byte));
                Op::Insert { key, value, ttl }
            }
            8 => Op::Remove(key),
            9 => Op::Advance(ttl_of(&mut byte) >> 2),
            10 => Op::AdvanceNear(key, u16_of(&mut byte) as i16 / 16),
            11 => match tag >> 4 {
                0..=7 => Op::SetTtl(key, (tag & 0x40 != 0).then(|| ttl_of(&mut byte))),
                _ => Op::Ttl(key),
            },
            12 => match tag >> 5 {
                0..=3 => Op::Purge,
                4..=5 => Op::Iter,
                6 => Op::Retain(u32::from(key % 6) + 1),
                _ => Op::Clear,
            },
            _ => Op::Get(key),
        };
        ops.push(op);
    }
    (capacity, ops)
}
