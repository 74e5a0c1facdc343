//! [`Core`]: the one bounded-cache engine every policy is built on.
//!
//! A `Core` owns one hash table, one entry arena, the per-entry weights and the expiry
//! index; a policy is an [`Order`] plugged into it: the per-entry node it keeps and the
//! hooks that maintain its eviction order. So lookup, insert, replace, removal, weight
//! accounting, TTLs and validation are written once, and `Lru`, `Lfu`, `Ttl`, ... are
//! `Core`s with different orders (see the type aliases at the crate root).
//!
//! # Layout
//!
//! - `entries: Arena<Entry>`: dense (no holes): entry `i` is at index `i` for
//!   `i < len`. Removal is `swap_remove`: the last entry moves into the hole and the
//!   table, the order and the wheel are told (`relocate`). No `unsafe` here, no
//!   per-slot discriminant, so an LRU entry for `u64 -> u64` is 24 bytes.
//!   The arena starts on a cache line (an [`aligned_vec::AVec`], aligned to 64), so
//!   that 32-byte entries (S3Fifo's and TinyLfu's for `u64 -> u64`) never straddle two
//!   lines. With `Vec`, a large arena comes from `mmap` 16 bytes past a page start, and
//!   every other 32-byte entry straddles: a hit then touches two lines, not one.
//! - `table: HashTable<u32>`: hashbrown's raw table of arena indices, probed with the
//!   hash the caller hands down (the sharded layer hashes a key once per operation).
//!   Hashes are not stored: removal and relocation re-hash the key. A table that
//!   keeps tags and indices in one 64-byte chunk (Folly's F14 layout, so a probe reads
//!   one line instead of a control group and a bucket) was measured in its place and
//!   lost: at 100K entries hashbrown's control bytes (128 KiB) mostly stay cached, so
//!   the line it saves is rarely a miss, and its probe ran more instructions (a hit of
//!   `benches/compare` workload (b): 104 -> 150 instructions, 0.67 -> 0.63 LL misses).
//!   It is on branch `index-table`.
//! - `weights: Vec<u32>`, parallel to `entries`, only when the weigher is not
//!   [`UnitWeigher`](crate::UnitWeigher) (then every weight is 1 and nothing is stored).
//! - `timers`: the [`wheel`](crate::wheel) column, allocated on the first deadline.
//!
//! # Invariants (checked by [`Core::validate`])
//!
//! - `table` holds exactly the indices `0..len`, each reachable by its key's hash, and no
//!   key twice;
//! - `weight == Σ weight(i) <= capacity`, every weight in `1..=capacity`;
//! - the wheel holds exactly the entries that have deadlines;
//! - the order's own invariants (its `validate`), over all `len` entries.
//!
//! # Panic safety
//!
//! User code runs in five places: `Hash`/`Eq` of the key, the weigher, the closure
//! of `retain`, the `write` of `overwrite_hashed`, and an order's own code on a key
//! (`Prefix`'s [`GroupRule`](crate::GroupRule)), which runs in
//! [`Order::before_insert`], never in [`Order::on_insert`]. The weigher, the clock and
//! `before_insert` run before anything is changed, so a panic in them leaves the cache
//! as it was; except in `overwrite_hashed`, where the weigher weighs what `write`
//! wrote and `before_insert` runs (if the entry got heavier than the room left) after
//! it: if any of them panics there, the entry holds what was written with its old
//! weight and TTL (the stored weights still sum to the total). An insert that replaces
//! a value and must re-add the entry ran `before_insert` before the value was replaced.
//! `Hash`/`Eq` run in table probes, before or between whole steps (a removal hashes
//! the keys it needs before it changes anything), and `retain`'s closure runs between
//! whole removals: a panic in any of them leaves every invariant intact. One
//! exception, as in `std`'s `HashMap` and hashbrown: when an insert makes the table
//! grow or rehash in place, hashbrown hashes every key, and a key whose `Hash` panics
//! there leaves the new entry counted in the arena and the weight but missing from
//! the table (or, in an in-place rehash, other indices dropped from it). That is
//! memory safe, and `validate` reports it. A `Hash` that panics is a bug in the key
//! type; guarding every insert against it would cost a second pass over the table.

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};
use std::marker::PhantomData;
use std::time::Duration;

use hashbrown::HashTable;

use crate::clock::{Clock, SystemClock};
use crate::error::{ConfigError, InsertError, TtlError};
use crate::list::{Idx, Linked, Links, NIL};
use crate::policy::{Evicted, EvictionCause, Evictions, Policy};
use crate::weigher::{UnitWeigher, Weigher};
use crate::wheel::{TimerWheel, deadline_tick, remaining, tick_of};

/// The entry arena: a vector whose buffer starts on a cache line (see the Layout
/// section above).
type Arena<T> = aligned_vec::AVec<T, aligned_vec::ConstAlign<64>>;

/// A shrink gives memory back once a structure has room for this many times what
/// the entries left need: the core's own ([`Core::release_spare`]) and the orders'
/// (TinyLfu's sketch and ghosts, S3Fifo's ghost). Small moves (a shard's reserve, a
/// resize undone within a factor of 2) never reach it, so they keep what they hold.
const SPARE_FACTOR: u64 = 4;
/// ... and, for the core's table and arena, room for more than this many entries
/// (below it, the memory is not worth a reallocation).
const SPARE_MIN: usize = 1024;

/// Whether a structure with room for `room` (entries, fingerprints, ...) should give
/// memory back after a shrink that leaves `needed` of them: [`SPARE_FACTOR`] times as
/// much room or more. The one rule every shrink uses.
#[inline]
pub(crate) fn spare(room: u64, needed: u64) -> bool {
    room >= needed.saturating_mul(SPARE_FACTOR)
}

/// `Vec::swap_remove` for the arena: removes element `i` (`< len`), moving the last
/// one into its place (one read of each, one write; no swap).
#[inline]
fn swap_remove<T>(v: &mut Arena<T>, i: usize) -> T {
    let last = v.pop().expect("swap_remove on an empty arena");
    if i < v.len() {
        std::mem::replace(&mut v[i], last)
    } else {
        last
    }
}

/// The default `BuildHasher`: ahash, seeded at random per instance, so that keys chosen
/// by an adversary cannot be aimed at one bucket.
pub type DefaultHashBuilder = ahash::RandomState;

/// At most this many entries in one core (indices are `u32`, with room for the wheel's
/// sentinels).
pub const MAX_ENTRIES: usize = (u32::MAX - 1024) as usize;

/// One stored entry: the key, the value and the order's per-entry node.
#[derive(Clone, Debug)]
pub struct Entry<K, V, N> {
    pub(crate) key: K,
    pub(crate) value: V,
    pub(crate) node: N,
}

impl<K, V, N> Entry<K, V, N> {
    /// The entry's key.
    #[inline]
    pub fn key(&self) -> &K {
        &self.key
    }

    /// The order's node of this entry.
    #[inline]
    pub fn node(&self) -> &N {
        &self.node
    }
}

impl<K, V, N: Linked> Linked for Entry<K, V, N> {
    #[inline]
    fn links(&self) -> &Links {
        self.node.links()
    }
    #[inline]
    fn links_mut(&mut self) -> &mut Links {
        self.node.links_mut()
    }
}

/// What an [`Order`]'s hooks may see and change: the entries (with their nodes), their
/// weights, and the expiry index.
pub struct Slots<'a, K, V, N> {
    pub(crate) entries: &'a mut [Entry<K, V, N>],
    pub(crate) weights: &'a [u32],
    pub(crate) timers: &'a mut TimerWheel,
}

impl<K, V, N> Slots<'_, K, V, N> {
    /// Number of entries.
    #[inline]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `true` when there are no entries.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The key of entry `i`.
    #[inline]
    pub fn key(&self, i: u32) -> &K {
        &self.entries[i as usize].key
    }

    /// The weight of entry `i`.
    #[inline]
    pub fn weight(&self, i: u32) -> u64 {
        weight_in(self.weights, i)
    }

    /// The order's node of entry `i`.
    #[inline]
    pub fn node(&self, i: u32) -> &N {
        &self.entries[i as usize].node
    }

    /// The order's node of entry `i`, mutably.
    #[inline]
    pub fn node_mut(&mut self, i: u32) -> &mut N {
        &mut self.entries[i as usize].node
    }

    /// The deadline of entry `i`, in wheel ticks, if it has one.
    #[inline]
    pub fn deadline(&self, i: u32) -> Option<u64> {
        self.timers.deadline(i)
    }
}

#[inline]
fn weight_in(weights: &[u32], i: Idx) -> u64 {
    // Unit weigher: no weights stored, every entry weighs 1.
    weights.get(i as usize).map_or(1, |&w| u64::from(w))
}

/// An eviction order: the part of a policy that decides who goes.
///
/// The [`Core`] calls these hooks as entries come and go; the order keeps its own
/// structure (lists, buckets, sketch) in `self` and in each entry's [`Order::Node`].
/// Hooks see entries by index, through [`Slots`]; indices are dense and change only
/// through [`Order::on_relocate`].
pub trait Order<K, V> {
    /// The per-entry state this order keeps inside each entry.
    type Node: Default;

    /// Entry `i` was just added: its node is `Default`, except when a replace made the
    /// entry heavier than the room left, where the order was told
    /// [`Order::on_remove`] and the node keeps what it held (links unlinked): the
    /// order must set every field it reads.
    fn on_insert(&mut self, slots: &mut Slots<'_, K, V, Self::Node>, i: u32, hash: u64);

    /// An entry for `key` is about to be added: the core calls this before every
    /// [`Order::on_insert`], for the same key, and before it changes anything (on an
    /// insert, before any reclamation or eviction; on a rewrite that re-adds the entry,
    /// before its weight changes). An order that runs user code on the key (`Prefix`'s
    /// [`GroupRule`](crate::GroupRule)) runs it here and keeps the answer for
    /// `on_insert`, so that a panic in that code leaves the cache as it was. It may
    /// also be called for an insert that turns out to add nothing (a replace that fits
    /// in place). Nothing by default.
    #[inline]
    fn before_insert(&mut self, key: &K) {
        let _ = key;
    }

    /// Entry `i` was read (or written again) and is live.
    fn on_access(&mut self, slots: &mut Slots<'_, K, V, Self::Node>, i: u32, hash: u64);

    /// A write replaced entry `i`'s value with one of another weight (now
    /// [`Slots::weight`]; it was `old`), and it still fits: [`Order::on_access`]
    /// follows. An order that accounts weights by segment re-accounts here, so that
    /// its hit path need not compare weights. Nothing by default.
    #[inline]
    fn on_reweigh(&mut self, slots: &mut Slots<'_, K, V, Self::Node>, i: u32, old: u64) {
        let _ = (slots, i, old);
    }

    /// `true` when [`Order::on_shared_access`] records a hit through `&self` (relaxed
    /// atomics in the node), so that [`Policy::get_shared_hashed`] records accesses and
    /// the sharded layer may serve hits under a shared lock. `false` by default: the
    /// order then needs [`Order::on_access`] (`&mut`) to record a hit.
    const SHARED_ACCESS: bool = false;

    /// A shared look-up read the entry whose node is `node`. Called only when
    /// [`Order::SHARED_ACCESS`] is `true`; it may run on many threads at once, each
    /// holding `&self`, so it may change the node only through atomics. A shared
    /// look-up that misses calls nothing: [`Order::on_miss`] is not told of it.
    #[inline]
    fn on_shared_access(&self, node: &Self::Node) {
        let _ = node;
    }

    /// A look-up found no live entry for `hash`.
    #[inline]
    fn on_miss(&mut self, hash: u64) {
        let _ = hash;
    }

    /// Entry `i` is about to be removed: unlink it (it is still at `i`).
    fn on_remove(&mut self, slots: &mut Slots<'_, K, V, Self::Node>, i: u32);

    /// The entry at `from` now lives at `to` (the arena moved it into a hole).
    fn on_relocate(&mut self, slots: &mut Slots<'_, K, V, Self::Node>, from: u32, to: u32);

    /// The entry to evict next, or `None` if the order holds none. The core removes it
    /// (calling [`Order::on_remove`]) and asks again until the new weight fits.
    fn victim(&mut self, slots: &mut Slots<'_, K, V, Self::Node>) -> Option<u32>;

    /// `true` while the order wants the core to keep evicting although the weight
    /// already fits: an eviction in progress that must finish (the `Prefix` order
    /// evicts a whole group, and hands its members out one [`Order::victim`] at a
    /// time). The core keeps asking for victims while this holds; the default, for
    /// orders that evict one entry at a time, is `false`.
    #[inline]
    fn keep_evicting(&self) -> bool {
        false
    }

    /// The core's weight budget, told once when the core is built, before any entry.
    /// Orders that size themselves from it (TinyLfu's window and sketch) override this;
    /// the default ignores it.
    #[inline]
    fn set_capacity(&mut self, capacity: u64) {
        let _ = capacity;
    }

    /// The core's weight budget changed to `capacity` (not zero) while it may hold
    /// entries ([`Policy::set_capacity_into`]); the core then evicts, asking
    /// [`Order::victim`], until its weight fits. Orders that size themselves from the
    /// capacity resize their shares here, keeping what they learned; the default does
    /// nothing.
    #[inline]
    fn on_resize(&mut self, slots: &mut Slots<'_, K, V, Self::Node>, capacity: u64) {
        let _ = (slots, capacity);
    }

    /// Forgets every entry.
    fn clear(&mut self);

    /// Checks this order's invariants over all entries.
    fn validate(&self, entries: &[Entry<K, V, Self::Node>]) -> Result<(), String>;
}

/// A bounded single-threaded cache: one table, one arena, one expiry index, and the
/// eviction [`Order`] `O`. Use it through the aliases [`Lru`](crate::Lru),
/// [`Lfu`](crate::Lfu), [`Ttl`](crate::Ttl), and through the [`Policy`] trait.
pub struct Core<K, V, O: Order<K, V>, W = UnitWeigher, S = DefaultHashBuilder, C = SystemClock> {
    entries: Arena<Entry<K, V, O::Node>>,
    table: HashTable<Idx>,
    weights: Vec<u32>,
    timers: TimerWheel,
    weight: u64,
    capacity: u64,
    order: O,
    weigher: W,
    hasher: S,
    clock: C,
}

/// Builds a [`Core`]: capacity, then optionally a weigher, hasher, clock and order.
///
/// ```
/// use std::time::Duration;
/// use polycache_policies::{Lru, ManualClock, Policy};
/// let clock = ManualClock::new();
/// let mut cache = Lru::<&str, u32>::builder(2).clock(clock.clone()).build().unwrap();
/// cache.insert_with_ttl("a", 1, Duration::from_secs(1)).unwrap();
/// clock.advance(Duration::from_secs(2));
/// assert_eq!(cache.get("a"), None);
/// ```
#[must_use]
pub struct Builder<K, V, O, W = UnitWeigher, S = DefaultHashBuilder, C = SystemClock> {
    capacity: u64,
    order: O,
    weigher: W,
    hasher: S,
    clock: C,
    _kv: PhantomData<fn(K, V)>,
}

impl<K, V, O, W, S, C> Builder<K, V, O, W, S, C> {
    /// Uses `weigher` to weigh entries (capacity becomes a budget in its unit).
    pub fn weigher<W2: Weigher<K, V>>(self, weigher: W2) -> Builder<K, V, O, W2, S, C> {
        Builder {
            capacity: self.capacity,
            order: self.order,
            weigher,
            hasher: self.hasher,
            clock: self.clock,
            _kv: PhantomData,
        }
    }

    /// Uses `hasher` for the table (the sharded layer passes its own, so that it can
    /// hash each key once).
    pub fn hasher<S2: BuildHasher>(self, hasher: S2) -> Builder<K, V, O, W, S2, C> {
        Builder {
            capacity: self.capacity,
            order: self.order,
            weigher: self.weigher,
            hasher,
            clock: self.clock,
            _kv: PhantomData,
        }
    }

    /// Reads time from `clock` (a [`ManualClock`](crate::ManualClock) in tests).
    pub fn clock<C2: Clock>(self, clock: C2) -> Builder<K, V, O, W, S, C2> {
        Builder {
            capacity: self.capacity,
            order: self.order,
            weigher: self.weigher,
            hasher: self.hasher,
            clock,
            _kv: PhantomData,
        }
    }

    /// Uses `order`, configured (for orders with parameters).
    pub fn order<O2: Order<K, V>>(self, order: O2) -> Builder<K, V, O2, W, S, C> {
        Builder {
            capacity: self.capacity,
            order,
            weigher: self.weigher,
            hasher: self.hasher,
            clock: self.clock,
            _kv: PhantomData,
        }
    }

    /// Builds the cache; a zero capacity is refused.
    pub fn build(self) -> Result<Core<K, V, O, W, S, C>, ConfigError>
    where
        O: Order<K, V>,
    {
        if self.capacity == 0 {
            return Err(ConfigError::ZeroCapacity);
        }
        let mut order = self.order;
        order.set_capacity(self.capacity);
        Ok(Core {
            entries: Arena::new(0),
            table: HashTable::new(),
            weights: Vec::new(),
            timers: TimerWheel::default(),
            weight: 0,
            capacity: self.capacity,
            order,
            weigher: self.weigher,
            hasher: self.hasher,
            clock: self.clock,
        })
    }
}

impl<K, V, O: Order<K, V> + Default> Core<K, V, O> {
    /// A cache of `capacity` entries with the default weigher, hasher and clock.
    pub fn new(capacity: u64) -> Result<Self, ConfigError> {
        Self::builder(capacity).build()
    }

    /// A builder for a cache of weight budget `capacity`.
    pub fn builder(capacity: u64) -> Builder<K, V, O> {
        Builder {
            capacity,
            order: O::default(),
            weigher: UnitWeigher,
            hasher: DefaultHashBuilder::new(),
            clock: SystemClock::new(),
            _kv: PhantomData,
        }
    }
}

/// Builds the hooks' view of the arena from disjoint fields of a `Core`.
macro_rules! slots {
    ($core:expr) => {
        Slots {
            entries: &mut $core.entries,
            weights: &$core.weights,
            timers: &mut $core.timers,
        }
    };
}

impl<K, V, O, W, S, C> Core<K, V, O, W, S, C>
where
    K: Hash + Eq,
    O: Order<K, V>,
    W: Weigher<K, V>,
    S: BuildHasher,
    C: Clock,
{
    /// The eviction order, for inspection.
    pub fn order(&self) -> &O {
        &self.order
    }

    /// The clock this cache reads.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    // `always`: each hot path (a hit, a write) must have its probe inlined. With
    // `#[inline]` alone, LLVM outlined `find_live` once `overwrite_hashed` became its
    // fourth caller, and a ByteMap hit ran 28 more instructions (`cachegrind.sh`).
    #[inline(always)]
    fn find<Q>(&self, hash: u64, key: &Q) -> Option<Idx>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let entries = &self.entries;
        self.table
            .find(hash, |&i| entries[i as usize].key.borrow() == key)
            .copied()
    }

    #[inline]
    fn is_expired(&self, i: Idx) -> bool {
        match self.timers.deadline(i) {
            None => false,
            Some(deadline) => tick_of(self.clock.now_nanos()) >= deadline,
        }
    }

    /// The live entry for `key`, if any.
    #[inline(always)]
    fn find_live<Q>(&self, hash: u64, key: &Q) -> Option<Idx>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        self.find(hash, key).filter(|&i| !self.is_expired(i))
    }

    /// Takes entry `i` out of the order, the wheel, the table and the weight total; it
    /// stays in the arena for the caller to remove or overwrite.
    fn detach(&mut self, i: Idx) {
        // Hashed first: a key whose `Hash` panics leaves everything as it was.
        let hash = self.hasher.hash_one(&self.entries[i as usize].key);
        self.order.on_remove(&mut slots!(self), i);
        self.timers.unset(i);
        if let Ok(slot) = self.table.find_entry(hash, |&j| j == i) {
            slot.remove();
        } else {
            self.unlink_stray(i);
        }
        self.weight -= weight_in(&self.weights, i);
    }

    /// Takes index `i` out of the table after the probe by its key's hash missed it:
    /// the entry was stored under a wrong hash (a `*_hashed` caller broke the
    /// contract). A scan of the whole table finds it, so that no stale index stays
    /// behind. O(table size), and only on that path: the probe that missed is the one
    /// every removal makes anyway.
    #[cold]
    #[inline(never)]
    fn unlink_stray(&mut self, i: Idx) {
        self.table.retain(|&mut j| j != i);
    }

    /// Renames index `from` to `to` in the table after the probe by its key's hash
    /// missed it (stored under a wrong hash, as in [`Core::unlink_stray`]): a scan of
    /// the whole table finds it.
    #[cold]
    #[inline(never)]
    fn relocate_stray(&mut self, from: Idx, to: Idx) {
        if let Some(slot) = self.table.iter_mut().find(|j| **j == from) {
            *slot = to;
        }
    }

    /// Removes entry `i` from every structure and returns it. `detached` is an entry
    /// the order does not hold right now (or `NIL`): if it moves, the order is not told.
    fn remove_at(&mut self, i: Idx, detached: Idx) -> (K, V) {
        let last = (self.entries.len() - 1) as Idx;
        // The entry that moves is hashed before anything changes (as `detach` hashes
        // first): a key whose `Hash` panics leaves everything as it was.
        let moved_hash =
            (i != last).then(|| self.hasher.hash_one(&self.entries[last as usize].key));
        self.detach(i);
        let entry = swap_remove(&mut self.entries, i as usize);
        if !W::UNIT {
            self.weights.swap_remove(i as usize);
        }
        self.timers.swap_remove(i);
        if let Some(hash) = moved_hash {
            match self.table.find_mut(hash, |&j| j == last) {
                Some(slot) => *slot = i,
                None => self.relocate_stray(last, i),
            }
            if last != detached {
                self.order.on_relocate(&mut slots!(self), last, i);
            }
        }
        (entry.key, entry.value)
    }

    /// After a shrink, gives back the memory the arena, the weights, the wheel's column
    /// and the table kept for entries no longer held, when they have room for at least
    /// [`SPARE_FACTOR`] times the entries held (and more than [`SPARE_MIN`]): a cache
    /// of 1M entries shrunk to 1,000 keeps 1,000 entries' worth, not 1M. Small moves
    /// (a shard's reserve) keep their memory, so a cache that refills does not
    /// reallocate. O(entries held): the table rehashes them (a key whose `Hash` panics
    /// there leaves the old table as it was: hashbrown resizes into a new one).
    fn release_spare(&mut self) {
        let held = self.entries.len() as u64;
        let roomy = |cap: usize| cap > SPARE_MIN && spare(cap as u64, held);
        if roomy(self.table.capacity()) {
            let entries = &self.entries;
            let hasher = &self.hasher;
            self.table.shrink_to(entries.len(), |&j| {
                hasher.hash_one(&entries[j as usize].key)
            });
        }
        if roomy(self.entries.capacity()) {
            self.entries.shrink_to_fit();
        }
        if roomy(self.weights.capacity()) {
            self.weights.shrink_to_fit();
        }
        self.timers.release_spare(roomy);
    }

    /// Removes every entry whose deadline is at or before `now_tick`.
    fn reclaim(&mut self, now_tick: u64, out: &mut Evictions<K, V>) {
        while let Some(i) = self.timers.pop_expired(now_tick) {
            let (key, value) = self.remove_at(i, NIL);
            out.push(Evicted {
                key,
                value,
                cause: EvictionCause::Expired,
            });
        }
    }

    /// Evicts until `weight <= limit` (and, with `room`, there is room for one more
    /// entry). `follow` is an index the caller holds (or `NIL`): it is never chosen by
    /// the fallback, and its new index is returned if removals moved it.
    fn evict_to(
        &mut self,
        limit: u64,
        room: bool,
        mut follow: Idx,
        out: &mut Evictions<K, V>,
    ) -> Idx {
        while self.weight > limit
            || (room && self.entries.len() >= MAX_ENTRIES)
            || self.order.keep_evicting()
        {
            let last = (self.entries.len() - 1) as Idx;
            let victim = match self.order.victim(&mut slots!(self)) {
                Some(v) => v,
                None => {
                    // Only a broken order gets here; keep the budget all the same.
                    debug_assert!(false, "order has no victim while over budget");
                    match (0..=last).rev().find(|&j| j != follow) {
                        Some(j) => j,
                        None => return follow,
                    }
                }
            };
            let (key, value) = self.remove_at(victim, follow);
            if follow == last {
                follow = victim;
            }
            out.push(Evicted {
                key,
                value,
                cause: EvictionCause::Capacity,
            });
        }
        follow
    }

    /// Evicts until an entry of `weight` fits. The last victim is taken out of the
    /// table, the order and the wheel but left in the arena: its index is returned (or
    /// `NIL` if nothing had to go) for the caller to overwrite.
    fn make_room(&mut self, weight: u64, out: &mut Evictions<K, V>) -> Idx {
        let limit = self.capacity - weight;
        while self.weight > limit || self.entries.len() >= MAX_ENTRIES || self.order.keep_evicting()
        {
            let Some(victim) = self.order.victim(&mut slots!(self)) else {
                // Only a broken order gets here; keep the budget all the same.
                debug_assert!(false, "order has no victim while over budget");
                self.evict_to(limit, true, NIL, out);
                return NIL;
            };
            let victim_weight = weight_in(&self.weights, victim);
            if self.weight - victim_weight <= limit {
                self.detach(victim);
                if self.order.keep_evicting() {
                    // The order's eviction is not finished: the rest goes too, and
                    // the hole may move while it does.
                    return self.evict_to(limit, false, victim, out);
                }
                return victim;
            }
            let (key, value) = self.remove_at(victim, NIL);
            out.push(Evicted {
                key,
                value,
                cause: EvictionCause::Capacity,
            });
        }
        NIL
    }

    /// Removes the entries `next` names, one at a time, until it names none; each
    /// leaves with cause `Removed` (or `Expired` if past its deadline). For an order's
    /// own bulk removal (`Prefix`'s `remove_prefix`): `next` must stop once the set it
    /// removes is empty.
    pub(crate) fn remove_each(
        &mut self,
        mut next: impl FnMut(&O) -> Option<Idx>,
    ) -> Evictions<K, V> {
        let mut out = Evictions::new();
        while let Some(i) = next(&self.order) {
            let cause = if self.is_expired(i) {
                EvictionCause::Expired
            } else {
                EvictionCause::Removed
            };
            let (key, value) = self.remove_at(i, NIL);
            out.push(Evicted { key, value, cause });
        }
        out
    }

    /// What an entry weighs: the weigher's answer, at least 1 (1 for the unit
    /// weigher, which is not asked).
    #[inline]
    fn weigh(&self, key: &K, value: &V) -> u64 {
        if W::UNIT {
            1
        } else {
            self.weigher.weigh(key, value).max(1)
        }
    }

    /// Whether one entry may weigh `weight`: no more than the capacity, and within the
    /// `u32` a weight is stored in.
    #[inline]
    fn fits(&self, weight: u64) -> bool {
        weight <= self.capacity && weight <= u64::from(u32::MAX)
    }

    /// Finishes a replacement of entry `i`'s value, which is already written: its new
    /// `weight` (at most the capacity), its `deadline` (0: none), and the access. If it
    /// got heavier than the room left, others are evicted into `out`.
    ///
    /// `prepared`: [`Order::before_insert`] already ran for this key in this call; if
    /// not, and the entry must be re-added, it runs here before anything changes.
    #[allow(clippy::too_many_arguments)]
    fn rewritten(
        &mut self,
        i: Idx,
        hash: u64,
        weight: u64,
        deadline: u64,
        now_nanos: u64,
        prepared: bool,
        out: &mut Evictions<K, V>,
    ) {
        let old_weight = weight_in(&self.weights, i);
        let heavier = self.weight - old_weight + weight > self.capacity;
        if heavier && !prepared {
            self.order.before_insert(&self.entries[i as usize].key);
        }
        self.weight = self.weight - old_weight + weight;
        if !W::UNIT {
            self.weights[i as usize] = weight as u32;
        }
        if heavier {
            // Heavier than before: take it out of the order and the wheel while
            // others make room, so it cannot be its own victim; it comes back as a
            // new entry.
            self.order.on_remove(&mut slots!(self), i);
            self.timers.unset(i);
            let i = self.evict_to(self.capacity, false, i, out);
            self.set_deadline(i, deadline, now_nanos);
            self.order.on_insert(&mut slots!(self), i, hash);
        } else {
            self.set_deadline(i, deadline, now_nanos);
            if old_weight != weight {
                self.order.on_reweigh(&mut slots!(self), i, old_weight);
            }
            self.order.on_access(&mut slots!(self), i, hash);
        }
    }

    /// Writes a new value into the live entry of `key`, in place, as a replacement
    /// without a TTL: `write` gets the stored value and returns whether it wrote. If it
    /// did, the write is then finished as [`Policy::insert_hashed_into`] finishes a
    /// replacement: the key's TTL is removed, the access recorded, the entry re-weighed
    /// (if it got heavier, others are evicted into `out`; if it now outweighs the whole
    /// capacity, it is evicted itself). Returns `false`, having recorded nothing, when
    /// the key has no live entry or `write` declined (a `write` that declines yet
    /// changes the weight is still finished as a write).
    ///
    /// For values that own a buffer: a write of the same size can reuse it, with no
    /// allocation and no free. No replaced value is reported (there is none left).
    ///
    /// O(1) plus the evictions. If `write` (or the weigher after it) panics, the entry
    /// stays, holding what `write` left in it, with its old weight and TTL: every
    /// invariant still holds.
    ///
    /// ```
    /// use polycache_policies::{Evictions, Lru, Policy};
    /// let mut cache = Lru::<u8, Vec<u8>>::new(4).unwrap();
    /// cache.insert(1, vec![1, 2]).unwrap();
    /// let mut out = Evictions::new();
    /// let h = cache.hash(&1);
    /// assert!(cache.overwrite_hashed(h, &1, &mut out, |v| {
    ///     v.copy_from_slice(&[3, 4]);
    ///     true
    /// }));
    /// assert_eq!(cache.peek(&1), Some(&vec![3, 4]));
    /// assert!(!cache.overwrite_hashed(cache.hash(&2), &2, &mut out, |_| true));
    /// assert!(out.is_empty());
    /// ```
    pub fn overwrite_hashed<Q>(
        &mut self,
        hash: u64,
        key: &Q,
        out: &mut Evictions<K, V>,
        write: impl FnOnce(&mut V) -> bool,
    ) -> bool
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let Some(i) = self.find_live(hash, key) else {
            return false;
        };
        let wrote = write(&mut self.entries[i as usize].value);
        let e = &self.entries[i as usize];
        let weight = self.weigh(&e.key, &e.value);
        if !wrote && weight == weight_in(&self.weights, i) {
            return false;
        }
        if !self.fits(weight) {
            let (key, value) = self.remove_at(i, NIL);
            out.push(Evicted {
                key,
                value,
                cause: EvictionCause::Capacity,
            });
        } else {
            self.rewritten(i, hash, weight, 0, 0, false, out);
        }
        true
    }

    fn set_deadline(&mut self, i: Idx, deadline: u64, now_nanos: u64) {
        if deadline == 0 {
            self.timers.unset(i);
        } else {
            let len = self.entries.len();
            self.timers.set(i, deadline, len, tick_of(now_nanos));
        }
    }
}

impl<K, V, O, W, S, C> Policy<K, V> for Core<K, V, O, W, S, C>
where
    K: Hash + Eq,
    O: Order<K, V>,
    W: Weigher<K, V>,
    S: BuildHasher,
    C: Clock,
{
    #[inline]
    fn hash<Q>(&self, key: &Q) -> u64
    where
        K: Borrow<Q>,
        Q: Hash + ?Sized,
    {
        self.hasher.hash_one(key)
    }

    #[inline]
    fn get_hashed<Q>(&mut self, hash: u64, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        self.get_mut_hashed(hash, key).map(|v| &*v)
    }

    #[inline]
    fn get_mut_hashed<Q>(&mut self, hash: u64, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let Some(i) = self.find_live(hash, key) else {
            self.order.on_miss(hash);
            return None;
        };
        self.order.on_access(&mut slots!(self), i, hash);
        Some(&mut self.entries[i as usize].value)
    }

    #[inline]
    fn peek_hashed<Q>(&self, hash: u64, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        self.find_live(hash, key)
            .map(|i| &self.entries[i as usize].value)
    }

    const SHARED_GET: bool = O::SHARED_ACCESS;

    #[inline]
    fn get_shared_hashed<Q>(&self, hash: u64, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let entry = &self.entries[self.find_live(hash, key)? as usize];
        if O::SHARED_ACCESS {
            self.order.on_shared_access(&entry.node);
        }
        Some(&entry.value)
    }

    fn insert_hashed_into(
        &mut self,
        hash: u64,
        key: K,
        value: V,
        ttl: Option<Duration>,
        out: &mut Evictions<K, V>,
    ) -> Result<(), InsertError<K, V>> {
        let weight = self.weigh(&key, &value);
        if !self.fits(weight) {
            return Err(InsertError::Overweight {
                key,
                value,
                weight,
                capacity: self.capacity,
            });
        }
        let now = (ttl.is_some() || self.timers.timed() > 0).then(|| self.clock.now_nanos());
        let deadline = match (ttl, now) {
            (Some(ttl), Some(_)) if ttl.is_zero() => {
                return Err(InsertError::ZeroTtl { key, value });
            }
            (Some(ttl), Some(now)) => match deadline_tick(now, ttl) {
                Some(d) => d,
                None => return Err(InsertError::TtlOverflow { key, value, ttl }),
            },
            _ => 0,
        };
        // Nothing has changed so far: every refusal above leaves the cache (and `out`)
        // as it was. The order's own code on the key (`Prefix`'s group rule) runs now,
        // while a panic in it still leaves the cache as it was.
        self.order.before_insert(&key);
        if let Some(now) = now {
            self.reclaim(tick_of(now), out);
        }
        if let Some(i) = self.find(hash, &key) {
            let old = std::mem::replace(&mut self.entries[i as usize].value, value);
            out.push(Evicted {
                key,
                value: old,
                cause: EvictionCause::Replaced,
            });
            self.rewritten(i, hash, weight, deadline, now.unwrap_or(0), true, out);
            return Ok(());
        }
        let entry = Entry {
            key,
            value,
            node: O::Node::default(),
        };
        let hole = self.make_room(weight, out);
        let i = if hole == NIL {
            self.entries.push(entry);
            if !W::UNIT {
                self.weights.push(weight as u32);
            }
            self.timers.push();
            (self.entries.len() - 1) as Idx
        } else {
            // The last victim's slot takes the newcomer: nothing moves, nothing is
            // re-hashed.
            let old = std::mem::replace(&mut self.entries[hole as usize], entry);
            if !W::UNIT {
                self.weights[hole as usize] = weight as u32;
            }
            out.push(Evicted {
                key: old.key,
                value: old.value,
                cause: EvictionCause::Capacity,
            });
            hole
        };
        self.weight += weight;
        let entries = &self.entries;
        let hasher = &self.hasher;
        self.table
            .insert_unique(hash, i, |&j| hasher.hash_one(&entries[j as usize].key));
        if deadline != 0 {
            self.set_deadline(i, deadline, now.unwrap_or(0));
        }
        self.order.on_insert(&mut slots!(self), i, hash);
        Ok(())
    }

    fn remove_hashed<Q>(&mut self, hash: u64, key: &Q) -> Option<Evicted<K, V>>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let i = self.find(hash, key)?;
        let cause = if self.is_expired(i) {
            EvictionCause::Expired
        } else {
            EvictionCause::Removed
        };
        let (key, value) = self.remove_at(i, NIL);
        Some(Evicted { key, value, cause })
    }

    fn ttl_hashed<Q>(&self, hash: u64, key: &Q) -> Option<Option<Duration>>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let i = self.find(hash, key)?;
        match self.timers.deadline(i) {
            None => Some(None),
            Some(deadline) => {
                let now = self.clock.now_nanos();
                (tick_of(now) < deadline).then(|| Some(remaining(deadline, now)))
            }
        }
    }

    fn set_ttl_hashed<Q>(
        &mut self,
        hash: u64,
        key: &Q,
        ttl: Option<Duration>,
    ) -> Result<bool, TtlError>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        // Bad input is refused whatever the cache holds.
        if ttl.is_some_and(|t| t.is_zero()) {
            return Err(TtlError::Zero);
        }
        let Some(i) = self.find_live(hash, key) else {
            return Ok(false);
        };
        match ttl {
            None => self.timers.unset(i),
            Some(ttl) => {
                let now = self.clock.now_nanos();
                let deadline = deadline_tick(now, ttl).ok_or(TtlError::Overflow(ttl))?;
                self.set_deadline(i, deadline, now);
            }
        }
        Ok(true)
    }

    fn purge_expired(&mut self) -> Evictions<K, V> {
        let mut out = Evictions::new();
        if self.timers.timed() > 0 {
            let now = self.clock.now_nanos();
            self.reclaim(tick_of(now), &mut out);
        }
        out
    }

    fn retain<F>(&mut self, mut keep: F) -> Evictions<K, V>
    where
        F: FnMut(&K, &mut V) -> bool,
    {
        let mut out = self.purge_expired();
        let mut i = 0;
        while i < self.entries.len() {
            let e = &mut self.entries[i];
            if keep(&e.key, &mut e.value) {
                i += 1;
            } else {
                // The last entry moves into `i`: look at `i` again.
                let (key, value) = self.remove_at(i as Idx, NIL);
                out.push(Evicted {
                    key,
                    value,
                    cause: EvictionCause::Removed,
                });
            }
        }
        out
    }

    #[inline]
    fn len(&self) -> usize {
        self.entries.len()
    }

    #[inline]
    fn weight(&self) -> u64 {
        self.weight
    }

    #[inline]
    fn capacity(&self) -> u64 {
        self.capacity
    }

    #[inline]
    fn weight_of(&self, key: &K, value: &V) -> u64 {
        self.weigh(key, value)
    }

    fn set_capacity_into(
        &mut self,
        capacity: u64,
        out: &mut Evictions<K, V>,
    ) -> Result<(), ConfigError> {
        if capacity == 0 {
            return Err(ConfigError::ZeroCapacity);
        }
        let shrink = capacity < self.capacity;
        self.capacity = capacity;
        self.order.on_resize(&mut slots!(self), capacity);
        self.evict_to(capacity, false, NIL, out);
        if shrink {
            self.release_spare();
        }
        Ok(())
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.table.clear();
        self.weights.clear();
        self.timers.clear();
        self.order.clear();
        self.weight = 0;
    }

    fn iter<'a>(&'a self) -> impl Iterator<Item = (&'a K, &'a V)>
    where
        K: 'a,
        V: 'a,
    {
        let now = (self.timers.timed() > 0).then(|| tick_of(self.clock.now_nanos()));
        let timers = &self.timers;
        self.entries
            .iter()
            .enumerate()
            .filter(move |&(i, _)| match (now, timers.deadline(i as Idx)) {
                (Some(now), Some(deadline)) => now < deadline,
                _ => true,
            })
            .map(|(_, e)| (&e.key, &e.value))
    }

    fn validate(&self) -> Result<(), String> {
        let len = self.entries.len();
        if self.table.len() != len {
            return Err(format!(
                "table has {} indices, arena {len}",
                self.table.len()
            ));
        }
        for (i, e) in self.entries.iter().enumerate() {
            let hash = self.hasher.hash_one(&e.key);
            match self.find(hash, &e.key) {
                Some(j) if j as usize == i => {}
                other => return Err(format!("entry {i}: table finds its key at {other:?}")),
            }
        }
        if !W::UNIT && self.weights.len() != len {
            return Err(format!("{} weights for {len} entries", self.weights.len()));
        }
        let mut sum = 0u64;
        for i in 0..len {
            let w = weight_in(&self.weights, i as Idx);
            if w == 0 || w > self.capacity {
                return Err(format!("entry {i} weighs {w} (capacity {})", self.capacity));
            }
            sum += w;
        }
        if sum != self.weight {
            return Err(format!("weights sum to {sum}, total says {}", self.weight));
        }
        if self.weight > self.capacity {
            return Err(format!(
                "weight {} over capacity {}",
                self.weight, self.capacity
            ));
        }
        self.timers.validate(len)?;
        self.order.validate(&self.entries)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Core, Order};
    use crate::{EvictionCause, Evictions, Lru, ManualClock, Policy, S3Fifo, TinyLfu};

    /// `overwrite_hashed` against its contract, with values weighed by their length
    /// (capacity 10): same weight, heavier (others make room), heavier than the whole
    /// capacity (it goes itself), declined, expired, and a TTL cleared.
    #[test]
    fn overwrite_in_place_finishes_as_a_replacement() {
        let clock = ManualClock::new();
        let mut c = Lru::<u8, Vec<u8>>::builder(10)
            .weigher(|_: &u8, v: &Vec<u8>| v.len() as u64)
            .clock(clock.clone())
            .build()
            .unwrap();
        for k in 1..=3 {
            c.insert(k, vec![0; 3]).unwrap();
        }
        let mut out = Evictions::new();
        let mut overwrite =
            |c: &mut Core<_, _, _, _, _, _>, k: u8, f: &dyn Fn(&mut Vec<u8>) -> bool| {
                out.clear();
                let wrote = c.overwrite_hashed(c.hash(&k), &k, &mut out, f);
                c.validate().unwrap();
                let left: Vec<(u8, EvictionCause)> = out.iter().map(|e| (e.key, e.cause)).collect();
                (wrote, left)
            };
        // Same weight: nothing leaves, and 1 becomes the most recent.
        assert_eq!(
            overwrite(&mut c, 1, &|v| {
                v.fill(7);
                true
            }),
            (true, vec![])
        );
        assert_eq!((c.peek(&1), c.weight()), (Some(&vec![7; 3]), 9));
        // Heavier: the least recent other entry (2) makes room.
        assert_eq!(
            overwrite(&mut c, 1, &|v| {
                v.resize(5, 8);
                true
            }),
            (true, vec![(2, EvictionCause::Capacity)])
        );
        assert_eq!((c.peek(&1), c.weight()), (Some(&vec![7, 7, 7, 8, 8]), 8));
        // Heavier than the capacity: it is evicted itself.
        assert_eq!(
            overwrite(&mut c, 1, &|v| {
                v.resize(11, 0);
                true
            }),
            (true, vec![(1, EvictionCause::Capacity)])
        );
        assert_eq!((c.len(), c.weight()), (1, 3));
        // Declined, and absent: nothing happens.
        assert_eq!(overwrite(&mut c, 3, &|_| false), (false, vec![]));
        assert_eq!(overwrite(&mut c, 9, &|_| true), (false, vec![]));
        // A declined write that changed the weight is still finished as a write.
        assert_eq!(
            overwrite(&mut c, 3, &|v| {
                v.pop();
                false
            }),
            (true, vec![])
        );
        assert_eq!(c.weight(), 2);
        // An expired entry is not live: declined, even though it is still stored.
        c.insert_with_ttl(4, vec![0; 2], Duration::from_millis(1))
            .unwrap();
        clock.advance(Duration::from_millis(2));
        assert_eq!(overwrite(&mut c, 4, &|_| true), (false, vec![]));
        // A plain write clears the TTL.
        c.insert_with_ttl(5, vec![0; 2], Duration::from_secs(9))
            .unwrap();
        assert_eq!(
            overwrite(&mut c, 5, &|v| {
                v.fill(1);
                true
            }),
            (true, vec![])
        );
        assert_eq!(c.ttl(&5), Some(None));
        // A `write` that panics halfway leaves every invariant intact.
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let h = c.hash(&5);
            c.overwrite_hashed(h, &5, &mut Evictions::new(), |v| {
                v.push(9);
                panic!("a write that fails halfway")
            })
        }));
        assert!(panicked.is_err());
        c.validate().unwrap();
        // 3 and 5 are left (4 expired, reclaimed by 5's insert); 5 holds what was
        // written, at its old weight.
        assert_eq!((c.len(), c.weight()), (2, 4));
        assert_eq!(c.peek(&5), Some(&vec![1, 1, 9]));
    }

    /// The arena starts on a cache line, so a 32-byte entry sits in one line (a `Vec`
    /// this large comes from `mmap`, 16 bytes into a page, and every other 32-byte
    /// entry would straddle two). 100K entries: large enough for the `mmap` path.
    #[test]
    fn arena_keeps_32_byte_entries_in_one_line() {
        /// Fills `core` with 100K entries; returns its arena's address and entry size.
        fn filled<O: Order<u64, u64>>(mut core: Core<u64, u64, O>) -> (usize, usize) {
            for k in 0..100_000u64 {
                core.insert(k, k).unwrap();
            }
            (
                core.entries.as_ptr() as usize,
                size_of_val(&core.entries[0]),
            )
        }
        let arenas = [
            ("S3Fifo", filled(S3Fifo::new(100_000).unwrap()), 32),
            ("TinyLfu", filled(TinyLfu::new(100_000).unwrap()), 32),
            // Lru's entry stays 24 bytes: the alignment is the buffer's, not the entry's.
            ("Lru", filled(Lru::new(100_000).unwrap()), 24),
        ];
        for (name, (ptr, size), want) in arenas {
            assert_eq!(ptr % 64, 0, "{name} arena at {ptr:#x}");
            assert_eq!(size, want, "{name} entry size");
            if size == 32 {
                for i in 0..100_000 {
                    let start = ptr + i * size;
                    assert_eq!(
                        start / 64,
                        (start + size - 1) / 64,
                        "{name} entry {i} straddles"
                    );
                }
            }
        }
    }
}
