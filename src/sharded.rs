//! [`Sharded`]: any [`Policy`] made concurrent by splitting it into locked shards.
//!
//! # How many shards
//!
//! [`shard_count_for`] picks a power of two from the capacity and the parallelism
//! (`cores`, from [`std::thread::available_parallelism`] unless injected):
//!
//! | capacity | shards |
//! |---|---|
//! | below [`SINGLE_SHARD_BELOW`] (1024) | 1: one policy, exact global eviction order |
//! | from 1024 | the smallest of: the largest power of two `<= capacity / `[`MIN_SHARD_CAPACITY`] (512); the smallest power of two `>= `[`SHARDS_PER_CORE`]` * cores` (4 per core); [`MAX_AUTO_SHARDS`] (256) |
//!
//! So a shard always has at least 512 units of capacity (480 of them guaranteed, the
//! rest in the shared reserve, see below), and a cache never has many more locks than
//! threads can contend for. An explicit count (a power of two, at most
//! [`MAX_SHARDS`], at most the capacity) overrides the rule.
//!
//! # Invariants
//!
//! - **Capacity split, not lost**: a cache of several shards of at least
//!   [`RESERVE_MIN_SHARE`] each keeps [`reserve_for`]`(capacity, n)` (about 6%) in a
//!   reserve that the shards that run out of room first borrow from (see
//!   [`Sharded::reserve`]; the design is in the crate's `reserve` module). The rest is
//!   split: shard `i` of `n` is guaranteed `rest / n`, plus one for the first `rest % n`
//!   shards. The shards' capacities plus the free reserve sum to the capacity whenever
//!   no insert is in flight, and never exceed it. Each policy keeps its weight at most
//!   its own capacity after every call, so the whole cache never holds more than its
//!   capacity once an operation has returned.
//! - **The largest entry is a shard's guaranteed capacity**
//!   ([`Sharded::max_entry_weight`], the smallest): a heavier entry may be refused with
//!   [`InsertError::Overweight`] (whose `capacity` is the shard's at the time).
//! - **One lock at a time**: no operation holds two shard locks; whole-cache operations
//!   (`len`, `clear`, `retain`, `stats`, `validate`, snapshots) visit the shards one by
//!   one, so they are not atomic snapshots while other threads write.
//! - **Routing**: a key lives in shard `selector.shard_of(selector.hash(key))`, and its
//!   policy was built with a clone of the selector's hasher (see
//!   [`ShardSelector`]).
//! - **Nothing leaves under a lock**: writes return what they pushed out
//!   ([`Evictions`]), or append it to a buffer the caller owns (the `*_into` forms),
//!   so the caller reports and drops it after the lock is released.
//! - **Grouped routing** (the `Prefix` policy): with a
//!   [`grouped`](ShardSelector::grouped) selector, byte keys go through the `*_routed`
//!   methods with a [`Route`] from [`Sharded::route`]: every key of a group lives in the
//!   shard of its group's prefix, so a group is never split and
//!   [`Sharded::remove_prefix`] takes one lock. Check such a map with
//!   [`Sharded::validate_routed`].
//! - Each shard is a readers-writer lock padded to 128 bytes, so two shards never share
//!   a cache line (nor a pair of lines the prefetcher fetches together). Writes take it
//!   exclusively. Look-ups that record nothing (`peek`, `contains`, TTL reads, whole-cache
//!   reads) take it shared. A `get` takes it shared when the policy records a hit
//!   through `&self` ([`Policy::SHARED_GET`], the `S3Fifo` policy): then many threads
//!   read one shard at once. Other policies move the entry on a hit (`Lru`'s list) and
//!   take the lock exclusively.
//! - **Readers on different cores write different lines.** The lock is the crate's
//!   striped readers-writer lock (`sync::striped`): with a `SHARED_GET` policy it counts
//!   readers in one stripe per core (up to 8), each on its own 128-byte block, and a
//!   shared `get` counts its hit or miss in its own stripe too. A plain readers-writer
//!   lock makes every read write one shared word, so two cores reading bounce its line
//!   on every look-up: a warm read-only workload ran at about 30 M look-ups/s on two
//!   threads against 62 M/s on one, and runs at 105-125 M/s striped (`cd
//!   benches/compare && cargo run --release -- --only 4,5 --column 2,3`). Writes pay
//!   for the stripes (they claim every one), so the lock adapts: when writes see reads
//!   from fewer than two threads between them, it closes the stripes and works as a
//!   plain lock (one compare-exchange to lock, one to unlock); two readers inside at
//!   once open them again. Other policies, whose reads are writes, get one stripe.

use std::borrow::Borrow;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use polycache_policies::{
    Clock, ConfigError, Core, Evicted, EvictionCause, Evictions, InsertError, Policy, PrefixOrder,
    Weigher,
};

use crate::error::BuildError;
use crate::reserve::{Pool, ShardReserve};
pub use crate::reserve::{RESERVE_DIVISOR, RESERVE_MIN_SHARE, reserve_for};
use crate::selector::{Route, ShardSelector};
use crate::stats::CacheStats;
use crate::sync::{StripedRwLock, stripes_for};

/// Caches below this capacity get one shard (exact global eviction order).
pub const SINGLE_SHARD_BELOW: u64 = 1024;
/// The automatic rule never gives a shard less than this much capacity.
pub const MIN_SHARD_CAPACITY: u64 = 512;
/// The automatic rule allows up to this many shards per core (rounded up to a power of
/// two).
pub const SHARDS_PER_CORE: usize = 4;
/// The automatic rule never picks more shards than this.
pub const MAX_AUTO_SHARDS: usize = 256;
/// The largest explicit shard count.
pub const MAX_SHARDS: usize = 1 << 16;

/// The shard count the automatic rule picks (see the [module docs](self)).
///
/// ```
/// use polycache::sharded::shard_count_for;
/// assert_eq!(shard_count_for(1000, 64), 1); // small: exact order
/// assert_eq!(shard_count_for(1024, 64), 2); // 512 per shard at least
/// assert_eq!(shard_count_for(100_000, 2), 8); // 4 per core
/// assert_eq!(shard_count_for(1 << 30, 1024), 256); // capped
/// ```
pub fn shard_count_for(capacity: u64, cores: usize) -> usize {
    if capacity < SINGLE_SHARD_BELOW {
        return 1;
    }
    let per_capacity = capacity / MIN_SHARD_CAPACITY; // >= 2
    let by_capacity = 1u64 << (63 - per_capacity.leading_zeros());
    let by_cores = cores.max(1).saturating_mul(SHARDS_PER_CORE);
    let by_cores = by_cores
        .checked_next_power_of_two()
        .unwrap_or(MAX_AUTO_SHARDS);
    let n = by_capacity.min(by_cores as u64).min(MAX_AUTO_SHARDS as u64);
    n as usize
}

/// The capacity of shard `i` of `shards` when `capacity` is split: the remainder goes
/// one unit each to the first shards.
///
/// ```
/// use polycache::sharded::shard_capacity;
/// let caps: Vec<u64> = (0..4).map(|i| shard_capacity(10, 4, i)).collect();
/// assert_eq!(caps, [3, 3, 2, 2]);
/// ```
pub fn shard_capacity(capacity: u64, shards: usize, i: usize) -> u64 {
    let n = shards as u64;
    capacity / n + u64::from((i as u64) < capacity % n)
}

/// The guaranteed capacity of shard `i` of `shards`: its split of `capacity` less the
/// reserve ([`reserve_for`]).
fn guaranteed_capacity(capacity: u64, shards: usize, i: usize) -> u64 {
    shard_capacity(capacity - reserve_for(capacity, shards), shards, i)
}

/// The cores this process may run on ([`std::thread::available_parallelism`], 1 if
/// unknown): what the automatic shard count and the shard lock's stripes are sized by.
pub(crate) fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The stripes of a shard lock whose look-ups share it: one per core (see
/// [`StripedRwLock`]'s docs). Two under loom, so that the models cover readers on
/// different stripes.
fn reader_stripes() -> usize {
    stripes_for(if cfg!(loom) { 2 } else { available_cores() })
}

/// One shard's lock: a [`StripedRwLock`] around the shard, whose stripes carry the
/// counts of the look-ups made under the shared lock (which cannot write the counters
/// inside the shard). The lock is 128-byte aligned (its stripes are), so two shards
/// never share a cache line. A reader's counts live on its own stripe, beside the word its
/// lock acquisition writes, so a shared `get` writes that one line and no line another
/// reader writes.
type Slot<P, X> = StripedRwLock<Shard<P, X>, SharedCounts>;

/// The hits and misses counted under the shared lock, per stripe.
#[derive(Debug, Default)]
struct SharedCounts {
    hits: AtomicU64,
    misses: AtomicU64,
}

/// One shard: a policy, its counters, and per-shard state `X` of the layer above (the
/// typed cache keeps its in-flight loads there, under the same lock).
#[derive(Debug)]
pub(crate) struct Shard<P, X> {
    pub(crate) policy: P,
    pub(crate) stats: CacheStats,
    pub(crate) extra: X,
    /// What this shard may borrow from the cache's reserve, and its guarantee.
    reserve: ShardReserve,
}

/// `N` shards, each a lock around one policy `P`; see the [module docs](self) for the
/// invariants and the shard-count rule.
///
/// `X` is per-shard state kept under the same lock by the layer above (`()` by
/// default).
///
/// ```
/// use polycache::{Lru, Policy, ShardSelector, Sharded};
/// let sel = ShardSelector::with_seed(4, 1).unwrap();
/// let sharded: Sharded<u64, u64, Lru<u64, u64>> =
///     Sharded::new(10, sel, |cap, hasher| Lru::builder(cap).hasher(hasher).build()).unwrap();
/// assert_eq!(sharded.shard_capacities(), vec![3, 3, 2, 2]);
/// for k in 0..100 {
///     let _evicted = sharded.insert(k, k * 2, None).unwrap();
/// }
/// assert!(sharded.len() <= 10);
/// assert_eq!(sharded.get_with(&99, |v| *v), Some(198));
/// sharded.validate().unwrap();
/// ```
pub struct Sharded<K, V, P, X = ()> {
    shards: Box<[Slot<P, X>]>,
    selector: ShardSelector,
    capacity: u64,
    /// The reserve's free part, shared by the shards (`None`: no reserve).
    pool: Option<Arc<Pool>>,
    count_hits: bool,
    _kv: PhantomData<fn(K, V)>,
}

impl<K, V, P, X> Sharded<K, V, P, X>
where
    K: Hash + Eq,
    P: Policy<K, V>,
{
    /// Builds `selector.shards()` shards splitting `capacity` (less the reserve, see
    /// [`reserve_for`]); `make(shard_capacity, hasher)` builds each shard's policy, and
    /// must build it with that capacity and hasher (a clone of the selector's: the
    /// policy's table uses the selector's hash). The policy must support
    /// [`Policy::set_capacity_into`] when there is a reserve: a shard grows and shrinks
    /// its policy as it borrows and gives back.
    ///
    /// ```
    /// use polycache::{BuildError, Lru, ShardSelector, Sharded};
    /// let make = |cap, h| Lru::<u8, u8>::builder(cap).hasher(h).build();
    /// let sel = ShardSelector::with_seed(8, 1).unwrap();
    /// let err = Sharded::<u8, u8, _>::new(4, sel, make).err().unwrap();
    /// assert_eq!(err, BuildError::CapacityBelowShards { capacity: 4, shards: 8 });
    /// ```
    pub fn new<F>(capacity: u64, selector: ShardSelector, mut make: F) -> Result<Self, BuildError>
    where
        F: FnMut(u64, ahash::RandomState) -> Result<P, ConfigError>,
        X: Default,
    {
        if capacity == 0 {
            return Err(BuildError::ZeroCapacity);
        }
        let n = selector.shards();
        if capacity < n as u64 {
            return Err(BuildError::CapacityBelowShards {
                capacity,
                shards: n,
            });
        }
        // Readers get a stripe each only where they share the lock; elsewhere one stripe
        // keeps a write as cheap as a plain lock's.
        let stripes = if P::SHARED_GET { reader_stripes() } else { 1 };
        let (reserves, pool) =
            ShardReserve::split(capacity, n, |i| guaranteed_capacity(capacity, n, i));
        let mut shards = Vec::with_capacity(n);
        for reserve in reserves {
            let cap = reserve.guaranteed();
            let policy = make(cap, selector.hasher().clone())?;
            if policy.capacity() != cap {
                return Err(BuildError::Policy(ConfigError::Invalid {
                    name: "policy factory",
                    reason: "must build each policy with the shard capacity it is given",
                }));
            }
            let shard = Shard {
                policy,
                stats: CacheStats::default(),
                extra: X::default(),
                reserve,
            };
            shards.push(StripedRwLock::new(shard, stripes));
        }
        Ok(Sharded {
            shards: shards.into_boxed_slice(),
            selector,
            capacity,
            pool,
            count_hits: true,
            _kv: PhantomData,
        })
    }

    /// Whether look-ups count hits and misses in [`Sharded::stats`] (`true` unless
    /// turned off). With a policy whose hits take the lock shared
    /// ([`Policy::SHARED_GET`]), each count is an atomic increment: on this machine
    /// about 15% of a warm hit's cost (`benches/compare`, workload (b)). Turn it off
    /// when nobody reads the hit and miss counts; the other counters stay.
    ///
    /// ```
    /// # use polycache::{S3Fifo, ShardSelector, Sharded};
    /// # let sel = ShardSelector::with_seed(1, 1).unwrap();
    /// let s: Sharded<u8, u8, S3Fifo<u8, u8>> =
    ///     Sharded::new(4, sel, |c, h| S3Fifo::builder(c).hasher(h).build()).unwrap();
    /// let s = s.count_hits(false);
    /// s.insert(1, 1, None).unwrap();
    /// assert_eq!(s.get_with(&1, |v| *v), Some(1));
    /// assert_eq!((s.stats().hits, s.stats().inserts), (0, 1));
    /// ```
    #[must_use]
    pub fn count_hits(mut self, on: bool) -> Self {
        self.count_hits = on;
        self
    }

    /// Whether look-ups count hits and misses (see [`Sharded::count_hits`]).
    #[inline]
    pub(crate) fn counts_hits(&self) -> bool {
        self.count_hits
    }

    /// The selector (hasher and routing).
    ///
    /// ```
    /// # use polycache::{Lru, ShardSelector, Sharded};
    /// # let sel = ShardSelector::with_seed(2, 1).unwrap();
    /// # let s: Sharded<u8, u8, Lru<u8, u8>> = Sharded::new(4, sel, |c, h| Lru::builder(c).hasher(h).build()).unwrap();
    /// assert_eq!(s.selector().shards(), s.shard_count());
    /// ```
    #[inline]
    pub fn selector(&self) -> &ShardSelector {
        &self.selector
    }

    /// The number of shards.
    ///
    /// ```
    /// # use polycache::{Lru, ShardSelector, Sharded};
    /// # let sel = ShardSelector::with_seed(2, 1).unwrap();
    /// # let s: Sharded<u8, u8, Lru<u8, u8>> = Sharded::new(4, sel, |c, h| Lru::builder(c).hasher(h).build()).unwrap();
    /// assert_eq!(s.shard_count(), 2);
    /// ```
    #[inline]
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// The total capacity (weight budget).
    ///
    /// ```
    /// # use polycache::{Lru, ShardSelector, Sharded};
    /// # let sel = ShardSelector::with_seed(2, 1).unwrap();
    /// # let s: Sharded<u8, u8, Lru<u8, u8>> = Sharded::new(5, sel, |c, h| Lru::builder(c).hasher(h).build()).unwrap();
    /// assert_eq!(s.capacity(), 5);
    /// assert_eq!(s.shard_capacities().iter().sum::<u64>(), 5);
    /// ```
    #[inline]
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Each shard's guaranteed capacity, the capacity its policy was built with; they
    /// sum with [`Sharded::reserve`] to [`Sharded::capacity`]. A shard may hold more,
    /// borrowed from the reserve ([`Sharded::shard_capacities_now`]).
    ///
    /// ```
    /// # use polycache::{Lru, ShardSelector, Sharded};
    /// # let sel = ShardSelector::with_seed(2, 1).unwrap();
    /// # let s: Sharded<u8, u8, Lru<u8, u8>> = Sharded::new(5, sel, |c, h| Lru::builder(c).hasher(h).build()).unwrap();
    /// assert_eq!(s.shard_capacities(), vec![3, 2]);
    /// ```
    pub fn shard_capacities(&self) -> Vec<u64> {
        let n = self.shards.len();
        (0..n)
            .map(|i| guaranteed_capacity(self.capacity, n, i))
            .collect()
    }

    /// Each shard's capacity now: its guaranteed capacity plus what it has borrowed
    /// from the reserve, read one lock at a time.
    ///
    /// ```
    /// # use polycache::{Lru, ShardSelector, Sharded};
    /// let sel = ShardSelector::with_seed(2, 1).unwrap();
    /// let s: Sharded<u32, u32, Lru<u32, u32>> =
    ///     Sharded::new(1024, sel, |c, h| Lru::builder(c).hasher(h).build()).unwrap();
    /// assert_eq!(s.shard_capacities_now(), s.shard_capacities());
    /// for k in 0..1024 {
    ///     s.insert(k, k, None).unwrap();
    /// }
    /// // The fuller shard borrowed; all of the reserve is in use.
    /// let now = s.shard_capacities_now();
    /// assert_eq!((now.iter().sum::<u64>(), s.reserve_free()), (1024, 0));
    /// ```
    pub fn shard_capacities_now(&self) -> Vec<u64> {
        (0..self.shards.len())
            .map(|i| self.read_shard_at(i, |s| s.policy.capacity()))
            .collect()
    }

    /// The capacity kept in reserve for the shards that run out of room first
    /// ([`reserve_for`]): 0 with one shard or small shards.
    ///
    /// ```
    /// # use polycache::{Lru, ShardSelector, Sharded};
    /// let sel = ShardSelector::with_seed(2, 1).unwrap();
    /// let s: Sharded<u32, u32, Lru<u32, u32>> =
    ///     Sharded::new(1024, sel, |c, h| Lru::builder(c).hasher(h).build()).unwrap();
    /// assert_eq!((s.reserve(), s.shard_capacities()), (64, vec![480, 480]));
    /// ```
    #[inline]
    pub fn reserve(&self) -> u64 {
        reserve_for(self.capacity, self.shards.len())
    }

    /// The part of the reserve no shard has borrowed.
    #[inline]
    pub fn reserve_free(&self) -> u64 {
        self.pool.as_ref().map_or(0, |p| p.free())
    }

    /// The heaviest entry every shard takes: the smallest guaranteed capacity. A heavier
    /// one is refused with [`InsertError::Overweight`] unless its shard has borrowed
    /// enough from the reserve.
    ///
    /// ```
    /// # use polycache::{Lru, ShardSelector, Sharded};
    /// # let sel = ShardSelector::with_seed(2, 1).unwrap();
    /// # let s: Sharded<u8, u8, Lru<u8, u8>> = Sharded::new(5, sel, |c, h| Lru::builder(c).hasher(h).build()).unwrap();
    /// assert_eq!(s.max_entry_weight(), 2);
    /// ```
    pub fn max_entry_weight(&self) -> u64 {
        let n = self.shards.len();
        guaranteed_capacity(self.capacity, n, n - 1)
    }

    /// Runs `f` on the shard of `hash`, under its lock.
    #[inline]
    pub(crate) fn with_shard<R>(&self, hash: u64, f: impl FnOnce(&mut Shard<P, X>) -> R) -> R {
        self.with_shard_at(self.selector.shard_of(hash), f)
    }

    /// Runs `f` on shard `i`, under its lock (exclusive).
    #[inline]
    pub(crate) fn with_shard_at<R>(&self, i: usize, f: impl FnOnce(&mut Shard<P, X>) -> R) -> R {
        let mut guard = self.shards[i].write();
        f(&mut guard)
    }

    /// Runs `f` on the shard of `hash`, under its lock shared with other readers.
    #[inline]
    pub(crate) fn read_shard<R>(&self, hash: u64, f: impl FnOnce(&Shard<P, X>) -> R) -> R {
        self.read_shard_at(self.selector.shard_of(hash), f)
    }

    /// Runs `f` on shard `i`, under its lock shared with other readers.
    #[inline]
    pub(crate) fn read_shard_at<R>(&self, i: usize, f: impl FnOnce(&Shard<P, X>) -> R) -> R {
        let guard = self.shards[i].read();
        f(&guard)
    }

    /// Looks `key` up, records the access (and a hit or a miss), and maps the value with
    /// `f` under the shard lock. `f` must not call back into this `Sharded`: under an
    /// exclusive lock that deadlocks at once; under a shared one (`S3Fifo`) it deadlocks
    /// whenever a writer is waiting, so a test may pass and production hang.
    ///
    /// ```
    /// # use polycache::{Lru, ShardSelector, Sharded};
    /// # let sel = ShardSelector::with_seed(2, 1).unwrap();
    /// let s: Sharded<String, Vec<u8>, Lru<String, Vec<u8>>> =
    ///     Sharded::new(4, sel, |c, h| Lru::builder(c).hasher(h).build()).unwrap();
    /// s.insert("k".to_string(), vec![1, 2, 3], None).unwrap();
    /// assert_eq!(s.get_with("k", |v| v.len()), Some(3));
    /// ```
    #[inline]
    pub fn get_with<Q, R>(&self, key: &Q, f: impl FnOnce(&V) -> R) -> Option<R>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.selector.hash(key);
        self.get_at(self.selector.shard_of(hash), hash, key, f)
    }

    /// Looks `key` (whose policy hash is `hash`) up in shard `i`, records the access and
    /// a hit or a miss, and maps the value with `f` under the lock: shared when the
    /// policy records a hit through `&self`, else exclusive.
    #[inline]
    fn get_at<Q, R>(&self, i: usize, hash: u64, key: &Q, f: impl FnOnce(&V) -> R) -> Option<R>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        if P::SHARED_GET {
            return self.shared_lookup(i, hash, key, true, f);
        }
        self.with_shard_at(i, |s| {
            let found = s.policy.get_hashed(hash, key);
            if self.count_hits {
                match found {
                    Some(_) => s.stats.hits += 1,
                    None => s.stats.misses += 1,
                }
            }
            found.map(f)
        })
    }

    /// For a policy whose hits share the lock ([`Policy::SHARED_GET`]): looks `key` up
    /// in its shard under the shared lock, recording and counting a hit; a miss is
    /// neither recorded nor counted (the caller goes on to a path under the exclusive
    /// lock that counts it). `None` at once for other policies.
    #[inline]
    pub(crate) fn get_shared_hit<Q, R>(
        &self,
        hash: u64,
        key: &Q,
        f: impl FnOnce(&V) -> R,
    ) -> Option<R>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        if !P::SHARED_GET {
            return None;
        }
        self.shared_lookup(self.selector.shard_of(hash), hash, key, false, f)
    }

    /// A look-up in shard `i` under the shared lock through
    /// [`Policy::get_shared_hashed`], counting a hit (and a miss if `count_miss`) in the
    /// shard's atomics unless counting is off; `f` maps the value under the lock.
    #[inline]
    fn shared_lookup<Q, R>(
        &self,
        i: usize,
        hash: u64,
        key: &Q,
        count_miss: bool,
        f: impl FnOnce(&V) -> R,
    ) -> Option<R>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let guard = self.shards[i].read();
        let found = guard.policy.get_shared_hashed(hash, key);
        if self.count_hits {
            let counts = guard.stripe();
            match found {
                Some(_) => counts.hits.fetch_add(1, Relaxed),
                None if count_miss => counts.misses.fetch_add(1, Relaxed),
                None => 0,
            };
        }
        found.map(f)
    }

    /// Looks `key` up without recording the access, mapping the value with `f` under
    /// the shard lock (same rule as [`Sharded::get_with`]).
    ///
    /// ```
    /// # use polycache::{Lru, ShardSelector, Sharded};
    /// # let sel = ShardSelector::with_seed(1, 1).unwrap();
    /// # let s: Sharded<u8, u8, Lru<u8, u8>> = Sharded::new(4, sel, |c, h| Lru::builder(c).hasher(h).build()).unwrap();
    /// s.insert(1, 10, None).unwrap();
    /// assert_eq!(s.peek_with(&1, |v| *v), Some(10));
    /// assert_eq!(s.peek_with(&2, |v| *v), None);
    /// ```
    #[inline]
    pub fn peek_with<Q, R>(&self, key: &Q, f: impl FnOnce(&V) -> R) -> Option<R>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.selector.hash(key);
        self.read_shard(hash, |s| s.policy.peek_hashed(hash, key).map(f))
    }

    /// Inserts or replaces `key` (with a TTL or none) and returns what left the shard,
    /// for the caller to report and drop after the lock is released.
    ///
    /// ```
    /// # use polycache::{Lru, ShardSelector, Sharded, EvictionCause};
    /// # let sel = ShardSelector::with_seed(1, 1).unwrap();
    /// # let s: Sharded<u8, u8, Lru<u8, u8>> = Sharded::new(4, sel, |c, h| Lru::builder(c).hasher(h).build()).unwrap();
    /// s.insert(1, 10, None).unwrap();
    /// let out = s.insert(1, 11, None).unwrap();
    /// assert_eq!(out[0].cause, EvictionCause::Replaced);
    /// assert_eq!(out[0].value, 10);
    /// ```
    #[inline]
    pub fn insert(
        &self,
        key: K,
        value: V,
        ttl: Option<Duration>,
    ) -> Result<Evictions<K, V>, InsertError<K, V>> {
        let mut out = Evictions::new();
        self.insert_into(key, value, ttl, &mut out)?;
        Ok(out)
    }

    /// [`Sharded::insert`] into a buffer the caller owns: what left the shard is
    /// appended to `out` (records already there are kept), written once under the lock
    /// and never moved, for the caller to report and drop after the lock is released.
    /// On `Err`, nothing was inserted, and `out` is unchanged with the crate's policies
    /// (a policy of one's own that evicts when the shard resizes it for the reserve may
    /// have appended what it pushed out).
    ///
    /// ```
    /// # use polycache::{Evictions, Lru, ShardSelector, Sharded, EvictionCause};
    /// # let sel = ShardSelector::with_seed(1, 1).unwrap();
    /// # let s: Sharded<u8, u8, Lru<u8, u8>> = Sharded::new(4, sel, |c, h| Lru::builder(c).hasher(h).build()).unwrap();
    /// let mut out = Evictions::new();
    /// s.insert_into(1, 10, None, &mut out).unwrap();
    /// assert!(out.is_empty());
    /// s.insert_into(1, 11, None, &mut out).unwrap();
    /// assert_eq!((out[0].cause, out[0].value), (EvictionCause::Replaced, 10));
    /// ```
    #[inline]
    pub fn insert_into(
        &self,
        key: K,
        value: V,
        ttl: Option<Duration>,
        out: &mut Evictions<K, V>,
    ) -> Result<(), InsertError<K, V>> {
        let hash = self.selector.hash(&key);
        self.with_shard(hash, |s| insert_counted(s, hash, key, value, ttl, out))
    }

    /// Removes `key`; the entry comes back with cause `Removed`, or `Expired` if its
    /// deadline had passed.
    ///
    /// ```
    /// # use polycache::{Lru, ShardSelector, Sharded, EvictionCause};
    /// # let sel = ShardSelector::with_seed(1, 1).unwrap();
    /// # let s: Sharded<u8, u8, Lru<u8, u8>> = Sharded::new(4, sel, |c, h| Lru::builder(c).hasher(h).build()).unwrap();
    /// s.insert(1, 10, None).unwrap();
    /// assert_eq!(s.remove(&1).map(|e| (e.value, e.cause)), Some((10, EvictionCause::Removed)));
    /// assert!(s.remove(&1).is_none());
    /// ```
    pub fn remove<Q>(&self, key: &Q) -> Option<Evicted<K, V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.selector.hash(key);
        self.with_shard(hash, |s| remove_counted(s, hash, key))
    }

    /// Number of entries stored (expired ones not yet reclaimed included), summed shard
    /// by shard.
    ///
    /// ```
    /// # use polycache::{Lru, ShardSelector, Sharded};
    /// # let sel = ShardSelector::with_seed(2, 1).unwrap();
    /// # let s: Sharded<u8, u8, Lru<u8, u8>> = Sharded::new(4, sel, |c, h| Lru::builder(c).hasher(h).build()).unwrap();
    /// assert_eq!(s.len(), 0);
    /// s.insert(1, 1, None).unwrap();
    /// assert_eq!(s.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        // Each entry weighs at least 1, so the count is within the capacity too.
        self.sum_within_capacity(|s| s.policy.len() as u64) as usize
    }

    /// `true` when no shard holds anything.
    ///
    /// ```
    /// # use polycache::{Lru, ShardSelector, Sharded};
    /// # let sel = ShardSelector::with_seed(2, 1).unwrap();
    /// # let s: Sharded<u8, u8, Lru<u8, u8>> = Sharded::new(4, sel, |c, h| Lru::builder(c).hasher(h).build()).unwrap();
    /// assert!(s.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total weight stored, summed shard by shard.
    ///
    /// ```
    /// # use polycache::{Lru, ShardSelector, Sharded};
    /// # let sel = ShardSelector::with_seed(2, 1).unwrap();
    /// # let s: Sharded<u8, u8, Lru<u8, u8>> = Sharded::new(4, sel, |c, h| Lru::builder(c).hasher(h).build()).unwrap();
    /// s.insert(1, 1, None).unwrap();
    /// assert_eq!(s.weight(), 1);
    /// ```
    pub fn weight(&self) -> u64 {
        self.sum_within_capacity(|s| s.policy.weight())
    }

    /// Sums `f` over the shards, one lock at a time, for a quantity the whole cache
    /// keeps within its capacity: retried while a shard gave room back to the reserve
    /// during the sum (which could count the same room twice, see the `reserve`
    /// module), and capped at the capacity after a few tries.
    fn sum_within_capacity(&self, f: impl Fn(&Shard<P, X>) -> u64) -> u64 {
        const TRIES: usize = 4;
        let Some(pool) = &self.pool else {
            return self.fold(0, |n, s| n + f(s));
        };
        let mut sum = 0;
        for _ in 0..TRIES {
            let before = pool.returns();
            sum = self.fold(0, |n, s| n + f(s));
            if pool.returns() == before {
                return sum;
            }
        }
        sum.min(self.capacity)
    }

    /// Removes everything, shard by shard. Each entry is counted in the stats (as
    /// removed, or expired if its deadline had passed) and dropped after its shard's
    /// lock is released; use [`Sharded::retain`] to see them.
    ///
    /// ```
    /// # use polycache::{Lru, ShardSelector, Sharded};
    /// # let sel = ShardSelector::with_seed(2, 1).unwrap();
    /// # let s: Sharded<u8, u8, Lru<u8, u8>> = Sharded::new(4, sel, |c, h| Lru::builder(c).hasher(h).build()).unwrap();
    /// s.insert(1, 1, None).unwrap();
    /// s.clear();
    /// assert!(s.is_empty());
    /// ```
    pub fn clear(&self) {
        self.retain(|_, _| false, drop);
    }

    /// Keeps only the entries for which `keep` returns `true`, shard by shard; `sink`
    /// receives each shard's removed (and expired) entries after its lock is released.
    /// `keep` runs under the shard lock and must not call back into this `Sharded`.
    ///
    /// ```
    /// # use polycache::{Lru, ShardSelector, Sharded};
    /// # let sel = ShardSelector::with_seed(2, 1).unwrap();
    /// # let s: Sharded<u8, u8, Lru<u8, u8>> = Sharded::new(8, sel, |c, h| Lru::builder(c).hasher(h).build()).unwrap();
    /// for k in 0..4 { s.insert(k, k, None).unwrap(); }
    /// let mut gone = 0;
    /// s.retain(|k, _| k % 2 == 0, |out| gone += out.len());
    /// assert_eq!((s.len(), gone), (2, 2));
    /// ```
    pub fn retain<F, S>(&self, keep: F, sink: S)
    where
        F: FnMut(&K, &mut V) -> bool,
        S: FnMut(Evictions<K, V>),
    {
        self.retain_in(keep, |_, _| {}, sink);
    }

    /// [`Sharded::retain`], also running `each` on every shard's extra state and what
    /// left it, under the same lock (a facade's bookkeeping that must change with the
    /// entries).
    pub(crate) fn retain_in<F, E, S>(&self, mut keep: F, mut each: E, mut sink: S)
    where
        F: FnMut(&K, &mut V) -> bool,
        E: FnMut(&mut X, &[Evicted<K, V>]),
        S: FnMut(Evictions<K, V>),
    {
        for i in 0..self.shards.len() {
            let out = self.with_shard_at(i, |s| {
                let out = s.policy.retain(&mut keep);
                s.stats.count_evictions(&out);
                each(&mut s.extra, &out);
                out
            });
            sink(out);
        }
    }

    /// Reclaims every expired entry, shard by shard; `sink` receives them after each
    /// shard's lock is released.
    ///
    /// ```
    /// # use polycache::{Lru, ShardSelector, Sharded};
    /// # let sel = ShardSelector::with_seed(2, 1).unwrap();
    /// # let s: Sharded<u8, u8, Lru<u8, u8>> = Sharded::new(8, sel, |c, h| Lru::builder(c).hasher(h).build()).unwrap();
    /// s.purge_expired(|out| assert!(out.is_empty()));
    /// ```
    pub fn purge_expired<S>(&self, sink: S)
    where
        S: FnMut(Evictions<K, V>),
    {
        self.purge_expired_in(|_, _| {}, sink);
    }

    /// [`Sharded::purge_expired`], also running `each` on every shard's extra state and
    /// what was reclaimed, under the same lock (as [`Sharded::retain_in`]).
    pub(crate) fn purge_expired_in<E, S>(&self, mut each: E, mut sink: S)
    where
        E: FnMut(&mut X, &[Evicted<K, V>]),
        S: FnMut(Evictions<K, V>),
    {
        for i in 0..self.shards.len() {
            let out = self.with_shard_at(i, |s| {
                let out = s.policy.purge_expired();
                s.stats.count_evictions(&out);
                each(&mut s.extra, &out);
                out
            });
            sink(out);
        }
    }

    /// A copy of shard `i`'s live entries (taken under its lock, returned after), or
    /// `None` if there is no shard `i`.
    ///
    /// ```
    /// # use polycache::{Lru, ShardSelector, Sharded};
    /// # let sel = ShardSelector::with_seed(1, 1).unwrap();
    /// # let s: Sharded<u8, u8, Lru<u8, u8>> = Sharded::new(8, sel, |c, h| Lru::builder(c).hasher(h).build()).unwrap();
    /// s.insert(1, 2, None).unwrap();
    /// assert_eq!(s.snapshot_shard(0), Some(vec![(1, 2)]));
    /// assert_eq!(s.snapshot_shard(1), None);
    /// ```
    pub fn snapshot_shard(&self, i: usize) -> Option<Vec<(K, V)>>
    where
        K: Clone,
        V: Clone,
    {
        (i < self.shards.len()).then(|| {
            self.read_shard_at(i, |s| {
                s.policy
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
        })
    }

    /// The counters, summed shard by shard.
    ///
    /// ```
    /// # use polycache::{Lru, ShardSelector, Sharded};
    /// # let sel = ShardSelector::with_seed(2, 1).unwrap();
    /// # let s: Sharded<u8, u8, Lru<u8, u8>> = Sharded::new(8, sel, |c, h| Lru::builder(c).hasher(h).build()).unwrap();
    /// s.get_with(&1, |_| ());
    /// assert_eq!(s.stats().misses, 1);
    /// ```
    pub fn stats(&self) -> crate::CacheStats {
        let mut acc = self.fold(CacheStats::default(), |mut acc, s| {
            acc += s.stats;
            acc
        });
        for counts in self.shards.iter().flat_map(|slot| slot.payloads()) {
            acc.hits += counts.hits.load(Relaxed);
            acc.misses += counts.misses.load(Relaxed);
        }
        acc
    }

    /// Checks every shard, one lock at a time: its policy's own invariants, its
    /// capacity at least its guaranteed one, its weight within its capacity, and every
    /// key stored in the shard its hash routes to; then that the shards' capacities and
    /// the free reserve sum to the capacity. O(n); for tests and fuzzing, with no insert
    /// in flight (a shard borrowing between two reads would upset the sum).
    ///
    /// ```
    /// # use polycache::{Lru, ShardSelector, Sharded};
    /// # let sel = ShardSelector::with_seed(2, 1).unwrap();
    /// # let s: Sharded<u8, u8, Lru<u8, u8>> = Sharded::new(8, sel, |c, h| Lru::builder(c).hasher(h).build()).unwrap();
    /// s.insert(3, 3, None).unwrap();
    /// assert_eq!(s.validate(), Ok(()));
    /// ```
    pub fn validate(&self) -> Result<(), String> {
        self.validate_by(|k| self.selector.shard_of(self.selector.hash(k)))
    }

    /// [`Sharded::validate`], with `shard_of` telling which shard each key belongs in.
    pub(crate) fn validate_by(&self, shard_of: impl Fn(&K) -> usize) -> Result<(), String> {
        let guaranteed = self.shard_capacities();
        let mut held = 0;
        for (i, &floor) in guaranteed.iter().enumerate() {
            held += self.read_shard_at(i, |s| {
                s.policy.validate().map_err(|e| format!("shard {i}: {e}"))?;
                let cap = s.policy.capacity();
                if cap < floor || s.reserve.guaranteed() != floor {
                    return Err(format!(
                        "shard {i}: capacity {cap}, guaranteed {} instead of {floor}",
                        s.reserve.guaranteed()
                    ));
                }
                if s.policy.weight() > cap {
                    return Err(format!(
                        "shard {i}: weight {} over capacity {cap}",
                        s.policy.weight()
                    ));
                }
                for (k, _) in s.policy.iter() {
                    let h = self.selector.hash(k);
                    if shard_of(k) != i {
                        return Err(format!("shard {i}: holds a key routed elsewhere"));
                    }
                    if s.policy.hash(k) != h {
                        return Err(format!("shard {i}: policy hasher differs from selector"));
                    }
                }
                Ok(cap)
            })?;
        }
        if held + self.reserve_free() != self.capacity {
            return Err(format!(
                "shards hold {held} and the reserve {} free: not the capacity {}",
                self.reserve_free(),
                self.capacity
            ));
        }
        Ok(())
    }

    fn fold<A>(&self, init: A, mut f: impl FnMut(A, &Shard<P, X>) -> A) -> A {
        let mut acc = init;
        for shard in self.shards.iter() {
            let guard = shard.read();
            acc = f(acc, &guard);
        }
        acc
    }
}

/// Byte keys, routed by [`Route`]: with a [`grouped`](ShardSelector::grouped) selector
/// (the `Prefix` policy) these are the methods that keep a group in one shard.
impl<K, V, P, X> Sharded<K, V, P, X>
where
    K: Hash + Eq + Borrow<[u8]>,
    P: Policy<K, V>,
{
    /// The route of `key` ([`ShardSelector::route_bytes`]): compute it once, use it for
    /// any number of `*_routed` calls on the same key.
    ///
    /// ```
    /// # use polycache::{Lru, ShardSelector, Sharded};
    /// # let sel = ShardSelector::with_seed(4, 1).unwrap();
    /// let s: Sharded<Vec<u8>, u8, Lru<Vec<u8>, u8>> =
    ///     Sharded::new(8, sel, |c, h| Lru::builder(c).hasher(h).build()).unwrap();
    /// let r = s.route(b"k");
    /// s.insert_routed(r, b"k".to_vec(), 1, None).unwrap();
    /// assert_eq!(s.get_routed_with(r, b"k", |v| *v), Some(1));
    /// assert_eq!(s.remove_routed(r, b"k").map(|e| e.value), Some(1));
    /// ```
    #[inline]
    pub fn route(&self, key: &[u8]) -> Route {
        self.selector.route_bytes(key)
    }

    /// [`Sharded::get_with`] for a routed byte key. A route that is not `key`'s makes the
    /// look-up miss (memory safe, never a panic).
    #[inline]
    pub fn get_routed_with<R>(
        &self,
        route: Route,
        key: &[u8],
        f: impl FnOnce(&V) -> R,
    ) -> Option<R> {
        self.get_routed_as(route, key, f)
    }

    /// [`Sharded::get_routed_with`] with the key in a form `K` borrows as, for a facade
    /// whose look-up type compares faster than `[u8]` (ByteMap's `KeyBytes`).
    #[inline]
    pub(crate) fn get_routed_as<Q, R>(
        &self,
        route: Route,
        key: &Q,
        f: impl FnOnce(&V) -> R,
    ) -> Option<R>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        self.get_at(route.shard & self.mask(), route.hash, key, f)
    }

    /// [`Sharded::insert`] for a routed byte key. The route must be `key`'s (from
    /// [`Sharded::route`]): under another key's route the entry may be stored where
    /// look-ups by its key do not find it, as the `Policy` contract says of a wrong
    /// hash (memory safe, never a panic; `validate_routed` reports it).
    #[inline]
    pub fn insert_routed(
        &self,
        route: Route,
        key: K,
        value: V,
        ttl: Option<Duration>,
    ) -> Result<Evictions<K, V>, InsertError<K, V>> {
        let mut out = Evictions::new();
        self.insert_routed_into(route, key, value, ttl, &mut out)?;
        Ok(out)
    }

    /// [`Sharded::insert_into`] for a routed byte key (the route must be `key`'s: see
    /// [`Sharded::insert_routed`]).
    #[inline]
    pub fn insert_routed_into(
        &self,
        route: Route,
        key: K,
        value: V,
        ttl: Option<Duration>,
        out: &mut Evictions<K, V>,
    ) -> Result<(), InsertError<K, V>> {
        self.with_shard_at(route.shard & self.mask(), |s| {
            insert_counted(s, route.hash, key, value, ttl, out)
        })
    }

    /// [`Sharded::remove`] for a routed byte key. A route that is not `key`'s makes the
    /// removal miss (memory safe, never a panic).
    pub fn remove_routed(&self, route: Route, key: &[u8]) -> Option<Evicted<K, V>> {
        self.with_shard_at(route.shard & self.mask(), |s| {
            let out = s.policy.remove_hashed(route.hash, key);
            if let Some(e) = &out {
                s.stats.count_cause(e.cause);
            }
            out
        })
    }

    /// [`Sharded::validate`] for a map of routed byte keys: every key must be in the
    /// shard [`Sharded::route`] names (its group's, with a grouped selector).
    ///
    /// ```
    /// # use polycache::{Prefix, ShardSelector, Sharded};
    /// use polycache::policies::default_group_len;
    /// let sel = ShardSelector::with_seed(4, 1).unwrap().grouped(default_group_len);
    /// let s: Sharded<Vec<u8>, u8, Prefix<Vec<u8>, u8>> =
    ///     Sharded::new(64, sel, |c, h| Prefix::builder(c).hasher(h).build()).unwrap();
    /// for k in [&b"a:1"[..], b"a:2", b"b:1"] {
    ///     s.insert_routed(s.route(k), k.to_vec(), 0, None).unwrap();
    /// }
    /// assert_eq!(s.validate_routed(), Ok(()));
    /// ```
    pub fn validate_routed(&self) -> Result<(), String> {
        self.validate_by(|k| self.selector.route_bytes(k.borrow()).shard)
    }

    #[inline]
    fn mask(&self) -> usize {
        self.shards.len() - 1
    }
}

/// `Sharded<Prefix>`: invalidating a group.
impl<K, V, W, C, X> Sharded<K, V, Core<K, V, PrefixOrder, W, ahash::RandomState, C>, X>
where
    K: Hash + Eq + AsRef<[u8]>,
    W: Weigher<K, V>,
    C: Clock,
{
    /// Removes the group named `prefix` (see `Core::remove_prefix`). With a
    /// [`grouped`](ShardSelector::grouped) selector whose rule is the order's, the group
    /// lives in one shard: one lock, time proportional to the group's size. Without
    /// one, every shard is visited, one lock at a time. `sink` receives what left after
    /// each lock is released.
    ///
    /// ```
    /// use polycache::{Prefix, ShardSelector, Sharded};
    /// use polycache::policies::default_group_len;
    /// let sel = ShardSelector::with_seed(4, 1).unwrap().grouped(default_group_len);
    /// let s: Sharded<Vec<u8>, u8, Prefix<Vec<u8>, u8>> =
    ///     Sharded::new(64, sel, |c, h| Prefix::builder(c).hasher(h).build()).unwrap();
    /// for k in [&b"a:1"[..], b"a:2", b"b:1"] {
    ///     s.insert_routed(s.route(k), k.to_vec(), 0, None).unwrap();
    /// }
    /// let mut gone = 0;
    /// s.remove_prefix(b"a:", |out| gone += out.len());
    /// assert_eq!((gone, s.len()), (2, 1));
    /// ```
    pub fn remove_prefix<S>(&self, prefix: &[u8], mut sink: S)
    where
        S: FnMut(Evictions<K, V>),
    {
        let one = |i: usize| {
            self.with_shard_at(i, |s| {
                let out = s.policy.remove_prefix(prefix);
                s.stats.count_evictions(&out);
                out
            })
        };
        if self.selector.group_rule().is_some() {
            sink(one(self.selector.shard_of_group(prefix)));
        } else {
            for i in 0..self.shards.len() {
                sink(one(i));
            }
        }
    }
}

/// Writes into a locked shard, appends what left to `out` (a buffer of the caller,
/// dropped after the lock is released) and counts what happened: the records this write
/// added, not those `out` already held.
#[inline]
pub(crate) fn insert_counted<K, V, P: Policy<K, V>, X>(
    s: &mut Shard<P, X>,
    hash: u64,
    key: K,
    value: V,
    ttl: Option<Duration>,
    out: &mut Evictions<K, V>,
) -> Result<(), InsertError<K, V>> {
    let before = out.len();
    s.reserve.before_insert(&mut s.policy, &key, &value, out);
    let inserted = s.policy.insert_hashed_into(hash, key, value, ttl, out);
    // Counted on `Err` too: a resize for the reserve may have pushed entries out
    // first (only a policy of one's own does; see `ShardReserve::before_insert`).
    s.stats.count_evictions(&out[before..]);
    inserted?;
    s.stats.inserts += 1;
    Ok(())
}

/// Removes `key` from a locked shard and counts it (`Removed`, or `Expired` if its
/// deadline had passed).
#[inline]
pub(crate) fn remove_counted<K, V, P: Policy<K, V>, X, Q>(
    s: &mut Shard<P, X>,
    hash: u64,
    key: &Q,
) -> Option<Evicted<K, V>>
where
    K: Borrow<Q>,
    Q: Hash + Eq + ?Sized,
{
    let out = s.policy.remove_hashed(hash, key);
    if let Some(e) = &out {
        s.stats.count_cause(e.cause);
    }
    out
}

/// Takes the `Replaced` record (the old value) out of what a write reported, for the
/// facades that hand the old value back.
#[inline]
pub(crate) fn take_replaced<K, V>(out: &mut Evictions<K, V>) -> Option<V> {
    let i = out
        .iter()
        .position(|e| e.cause == EvictionCause::Replaced)?;
    Some(out.remove(i).value)
}

impl<K, V, P, X> std::fmt::Debug for Sharded<K, V, P, X> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sharded")
            .field("shards", &self.shards.len())
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_table() {
        // capacity, cores, shards
        let cases = [
            (1, 8, 1),
            (1023, 8, 1),
            (1024, 8, 2),
            (2047, 8, 2),
            (2048, 8, 4),
            (100_000, 1, 4),
            (100_000, 2, 8),
            (100_000, 3, 16),
            (100_000, 64, 128),
            (1 << 40, 64, 256),
            (1 << 40, 0, 4),
            (u64::MAX, usize::MAX, 256),
        ];
        for (cap, cores, want) in cases {
            assert_eq!(shard_count_for(cap, cores), want, "cap {cap} cores {cores}");
        }
    }

    #[test]
    fn split_keeps_remainder() {
        for cap in [1u64, 7, 8, 9, 1000, 100_003] {
            for n in [1usize, 2, 4, 8] {
                if cap < n as u64 {
                    continue;
                }
                let caps: Vec<u64> = (0..n).map(|i| shard_capacity(cap, n, i)).collect();
                assert_eq!(caps.iter().sum::<u64>(), cap);
                let (lo, hi) = (caps.iter().min().unwrap(), caps.iter().max().unwrap());
                assert!(hi - lo <= 1);
            }
        }
    }

    #[test]
    fn insert_into_counts_only_the_records_it_adds() {
        use polycache_policies::{EvictionCause, Lru};
        let sel = ShardSelector::with_seed(1, 1).unwrap();
        let s: Sharded<u8, u8, Lru<u8, u8>> =
            Sharded::new(1, sel, |c, h| Lru::builder(c).hasher(h).build()).unwrap();
        let mut out = Evictions::new();
        s.insert_into(1, 1, None, &mut out).unwrap();
        s.insert_into(2, 2, None, &mut out).unwrap();
        s.insert_into(2, 3, None, &mut out).unwrap();
        let got: Vec<_> = out.iter().map(|e| (e.key, e.value, e.cause)).collect();
        assert_eq!(
            got,
            [
                (1, 1, EvictionCause::Capacity),
                (2, 2, EvictionCause::Replaced)
            ]
        );
        let st = s.stats();
        assert_eq!((st.inserts, st.evicted, st.replaced), (3, 1, 1));
    }

    #[test]
    fn padded_is_128() {
        assert_eq!(std::mem::align_of::<Slot<u8, ()>>(), 128);
        assert_eq!(std::mem::size_of::<Slot<u8, ()>>() % 128, 0);
    }
}
