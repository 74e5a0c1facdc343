//! Drives the typed `Cache` (LRU, manual clock) against a model.
//!
//! The model is one recency list with deadlines; it routes keys with the cache's own
//! selector, so with one shard or four it predicts every answer and every listener event
//! (as a multiset per operation) exactly: a write reclaims the expired entries of its
//! shard, then evicts that shard's least recent entries while the shard is full.
//!
//! After every operation: `validate()`, the capacity bound, and `len`.
#![no_main]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use polycache::sharded::{reserve_for, shard_capacity};
use polycache::{Cache, EvictionCause, ManualClock, ShardSelector};

/// Time unit: a multiple of the wheel's tick, so deadlines fall exactly on ticks.
const UNIT: u64 = 1024 * 16;

#[derive(Arbitrary, Debug)]
enum Op {
    Get(u8),
    Peek(u8),
    Contains(u8),
    Insert(u8, u16),
    InsertTtl(u8, u16, u8),
    Remove(u8),
    Load(u8, u16),
    FailLoad(u8),
    Advance(u8),
    Retain(u8),
    Purge,
    Clear,
}

#[derive(Arbitrary, Debug)]
struct Input {
    capacity: u8,
    sharded: bool,
    ops: Vec<Op>,
}

type Event = (u8, u16, EvictionCause);

struct Model {
    capacity: u64,
    selector: ShardSelector,
    now: u64,
    /// Least recent first: (key, value, deadline in nanos).
    entries: Vec<(u8, u16, Option<u64>)>,
    hits: u64,
    misses: u64,
    inserts: u64,
}

impl Model {
    fn pos(&self, k: u8) -> Option<usize> {
        self.entries.iter().position(|e| e.0 == k)
    }

    fn expired(&self, i: usize) -> bool {
        self.entries[i].2.is_some_and(|d| self.now >= d)
    }

    fn live(&self, k: u8) -> Option<usize> {
        self.pos(k).filter(|&i| !self.expired(i))
    }

    fn touch(&mut self, i: usize) -> u16 {
        let e = self.entries.remove(i);
        self.entries.push(e);
        e.1
    }

    fn shard(&self, k: u8) -> usize {
        self.selector.shard_of(self.selector.hash(&k))
    }

    fn reclaim(&mut self, out: &mut Vec<Event>) {
        self.reclaim_in(None, out);
    }

    /// Reclaims the expired entries of `shard` (all shards with `None`).
    fn reclaim_in(&mut self, shard: Option<usize>, out: &mut Vec<Event>) {
        let now = self.now;
        let sel = self.selector.clone();
        self.entries.retain(|e| {
            let mine = shard.is_none_or(|s| sel.shard_of(sel.hash(&e.0)) == s);
            let gone = mine && e.2.is_some_and(|d| now >= d);
            if gone {
                out.push((e.0, e.1, EvictionCause::Expired));
            }
            !gone
        });
    }

    fn get(&mut self, k: u8) -> Option<u16> {
        match self.live(k) {
            Some(i) => {
                self.hits += 1;
                Some(self.touch(i))
            }
            None => {
                self.misses += 1;
                None
            }
        }
    }

    /// A write into the shard of `k`.
    fn insert(&mut self, k: u8, v: u16, ttl: Option<u64>, out: &mut Vec<Event>) -> Option<u16> {
        self.inserts += 1;
        let shard = self.shard(k);
        self.reclaim_in(Some(shard), out);
        let deadline = ttl.map(|t| self.now + t);
        if let Some(i) = self.pos(k) {
            let old = self.entries.remove(i);
            out.push((k, old.1, EvictionCause::Replaced));
            self.entries.push((k, v, deadline));
            return Some(old.1);
        }
        let n = self.selector.shards();
        // Shares this small keep no reserve (tests/reserve.rs models one): each shard
        // holds exactly its split of the capacity.
        assert_eq!(reserve_for(self.capacity, n), 0, "the model has no reserve");
        let cap = shard_capacity(self.capacity, n, shard) as usize;
        loop {
            let mine: Vec<usize> = (0..self.entries.len())
                .filter(|&i| self.shard(self.entries[i].0) == shard)
                .collect();
            if mine.len() < cap {
                break;
            }
            let (vk, vv, _) = self.entries.remove(mine[0]);
            out.push((vk, vv, EvictionCause::Capacity));
        }
        self.entries.push((k, v, deadline));
        None
    }
}

fn sorted(mut v: Vec<Event>) -> Vec<Event> {
    v.sort_by_key(|e| (e.0, e.1, e.2 as u8));
    v
}

fuzz_target!(|input: Input| {
    let shards = if input.sharded { 4 } else { 1 };
    let capacity = if input.sharded {
        4 + usize::from(input.capacity % 60)
    } else {
        1 + usize::from(input.capacity % 16)
    };
    let clock = ManualClock::new();
    let events: Arc<Mutex<Vec<Event>>> = Arc::default();
    let sink = events.clone();
    let cache = Cache::<u8, u16>::builder(capacity as u64)
        .shards(shards)
        .seed(5)
        .clock(clock.clone())
        .eviction_listener(move |k: &u8, v: &u16, c| sink.lock().unwrap().push((*k, *v, c)))
        .build()
        .unwrap();
    let mut m = Model {
        capacity: capacity as u64,
        selector: cache.selector().clone(),
        now: 0,
        entries: Vec::new(),
        hits: 0,
        misses: 0,
        inserts: 0,
    };
    for op in input.ops {
        let mut want: Vec<Event> = Vec::new();
        match op {
            Op::Get(k) => assert_eq!(cache.get(&k), m.get(k), "get {k}"),
            Op::Peek(k) => {
                let want = m.live(k).map(|i| m.entries[i].1);
                assert_eq!(cache.peek(&k), want, "peek {k}");
            }
            Op::Contains(k) => assert_eq!(cache.contains_key(&k), m.live(k).is_some()),
            Op::Insert(k, v) => {
                let old = cache.insert(k, v).unwrap();
                assert_eq!(old, m.insert(k, v, None, &mut want), "insert {k}");
            }
            Op::InsertTtl(k, v, t) => {
                let ttl = (u64::from(t) + 1) * UNIT;
                let old = cache
                    .insert_with_ttl(k, v, Duration::from_nanos(ttl))
                    .unwrap();
                assert_eq!(old, m.insert(k, v, Some(ttl), &mut want), "insert_ttl {k}");
            }
            Op::Remove(k) => {
                let got = cache.remove(&k);
                let wanted = m.pos(k).and_then(|i| {
                    let expired = m.expired(i);
                    let (k, v, _) = m.entries.remove(i);
                    let cause = if expired {
                        EvictionCause::Expired
                    } else {
                        EvictionCause::Removed
                    };
                    want.push((k, v, cause));
                    (!expired).then_some(v)
                });
                assert_eq!(got, wanted, "remove {k}");
            }
            Op::Load(k, v) => {
                let got = cache.get_or_insert_with(k, || v);
                let wanted = match m.get(k) {
                    Some(old) => old,
                    None => {
                        m.insert(k, v, None, &mut want);
                        v
                    }
                };
                assert_eq!(got, wanted, "load {k}");
            }
            Op::FailLoad(k) => {
                let got = cache.try_get_or_insert_with(k, || Err(()));
                assert_eq!(got.ok(), m.get(k), "failed load {k}");
            }
            Op::Advance(a) => {
                let by = u64::from(a) * UNIT;
                clock.advance(Duration::from_nanos(by));
                m.now += by;
            }
            Op::Retain(d) => {
                let d = d % 4 + 2;
                cache.retain(|k, _| k % d != 0);
                m.reclaim(&mut want);
                m.entries.retain(|e| {
                    let keep = e.0 % d != 0;
                    if !keep {
                        want.push((e.0, e.1, EvictionCause::Removed));
                    }
                    keep
                });
            }
            Op::Purge => {
                cache.purge_expired();
                m.reclaim(&mut want);
            }
            Op::Clear => {
                cache.clear();
                m.reclaim(&mut want);
                for (k, v, _) in m.entries.drain(..) {
                    want.push((k, v, EvictionCause::Removed));
                }
            }
        }
        let got: Vec<Event> = std::mem::take(&mut *events.lock().unwrap());
        assert_eq!(sorted(got), sorted(want), "listener events");
        assert_eq!(cache.len(), m.entries.len(), "len");
        assert!(cache.len() <= capacity);
        cache.validate().unwrap();
    }
    let mut live: Vec<(u8, u16)> = cache.iter().collect();
    live.sort();
    let mut want: Vec<(u8, u16)> = (0..m.entries.len())
        .filter(|&i| !m.expired(i))
        .map(|i| (m.entries[i].0, m.entries[i].1))
        .collect();
    want.sort();
    assert_eq!(live, want, "iter");
    let s = cache.stats();
    assert_eq!((s.hits, s.misses, s.inserts), (m.hits, m.misses, m.inserts));
    assert_eq!(cache.loads_in_flight(), 0);
});
