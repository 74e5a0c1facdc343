//! [`ByteMap`]: an embedded, concurrent key-value map of bytes, with TTLs in
//! milliseconds, a memory budget in bytes and a choice of eviction policy.
//!
//! ```
//! use bytes::Bytes;
//! use polycache::bytemap::ByteMap;
//!
//! let map = ByteMap::builder(1 << 20).build().unwrap(); // a 1 MiB budget, LRU
//! map.insert_slice(b"user:1", b"alice").unwrap();
//! map.insert(b"user:2", Bytes::from_static(b"bob")).unwrap();
//! assert_eq!(map.get_owned(b"user:1").as_deref(), Some(&b"alice"[..]));
//! assert_eq!(map.get_with(b"user:2", |v| v.len()), Some(3));
//! map.insert_with_ttl(b"session", b"x".to_vec(), 30_000).unwrap(); // 30 s
//! assert!(map.ttl(b"session").unwrap().is_some());
//! ```
//!
//! # Model
//!
//! - **Keys** are byte slices, stored as [`ByteKey`]: inside the entry up to
//!   [`INLINE_KEY_BYTES`] (no allocation, no pointer to follow on a look-up), on the
//!   heap beyond. The empty key is a key like any other (allowed).
//! - **Values** are [`Bytes`]: refcounted, so [`ByteMap::get_owned`] clones the handle
//!   (an atomic increment, no copy) under the shard lock and returns it after the lock
//!   is released; [`ByteMap::get_with`] lends the bytes to a closure instead.
//! - **Budget**: an entry weighs `key.len() + value.len() + `[`ENTRY_OVERHEAD`]; the
//!   weights of all entries never exceed the budget once an operation has returned. The
//!   budget is split across the shards without loss (a few percent of it kept in a reserve
//!   that the shards that fill first borrow from, see [`Sharded::reserve`]); the
//!   largest entry the map takes is [`ByteMap::max_entry_bytes`] (the smallest shard's
//!   guaranteed share): a heavier one is refused with [`ByteMapError::TooLarge`] and
//!   the map is unchanged.
//! - **TTL** in milliseconds, on any write (`*_with_ttl`, [`ByteMap::try_insert`],
//!   [`VacantEntry::insert`]); read with [`ByteMap::ttl`], set on an existing key with
//!   [`ByteMap::expire`], removed with [`ByteMap::persist`]. A plain write clears the
//!   key's TTL, as Redis's `SET` does; an in-place change ([`ByteMap::get_mut`],
//!   [`OccupiedEntry::modify`]) keeps it. A TTL of 0 ms is refused with
//!   [`ByteMapError::ZeroTtl`] (as Redis refuses `PX 0`); one past the clock's range
//!   (about 584 years) with [`ByteMapError::TtlOverflow`]. An entry lives at least its
//!   TTL and less than one tick ([`TICK_NANOS`](crate::policies::TICK_NANOS)) more; an
//!   expired entry is never returned.
//! - **Policy**: chosen at construction ([`ByteMapBuilder::policy`]): Lru (default),
//!   Lfu, Ttl, TinyLfu, S3Fifo, Gdsf, Prefix (see [`BytePolicy`]). With [`PrefixOrder`]
//!   every key of a group lives in one shard and [`ByteMap::remove_prefix`] invalidates
//!   one group (the exact prefix the group rule names, not its sub-groups).
//! - **Routing**: [`ByteMap::route_key`] tells which shard owns a key;
//!   [`ByteMap::prepare_key`] computes it once for the `*_prepared` operations.
//!
//! # Invariants
//!
//! - Every operation holds at most one shard lock, and never runs user code under it
//!   except the closures documented to run there ([`ByteMap::get_with`],
//!   [`ByteMap::get_mut`], [`ByteMap::entry`]); those must not call back into the map.
//! - Values that leave (replaced, evicted, expired, removed) are dropped, and reported
//!   to the eviction listener, after the lock is released. ([`ByteMap::insert_slice`]
//!   may instead overwrite a value in its buffer: only one that no handle shares, so no
//!   reader ever sees bytes change.)
//! - A panic in a closure run under a lock leaves the shard consistent: closures run
//!   before the map is changed.
//! - [`ByteMap::validate`] checks every shard's policy, weights against the budget, and
//!   that every key is in the shard its route names.

mod entry;
mod key;
mod policy;
mod prepared;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use polycache_policies::{
    Clock, Core, Evicted, EvictionCause, Evictions, InsertError, LruOrder, Policy, PrefixOrder,
    SystemClock, Weigher,
};

/// The value types, re-exported: a `ByteMap` user needs no direct `bytes` dependency.
pub use bytes::{Bytes, BytesMut};

pub use self::entry::{Entry, OccupiedEntry, VacantEntry};
pub use self::key::{ByteKey, INLINE_KEY_BYTES, KeyBytes};
pub use self::policy::BytePolicy;
pub use self::prepared::PreparedKey;
use crate::error::BuildError;
pub use crate::selector::Route;
use crate::selector::{ShardSelector, seeded_hasher};
use crate::sharded::{Shard, Sharded, insert_counted, shard_count_for, take_replaced};
use crate::stats::CacheStats;

/// The fixed cost, in bytes, added to every entry's weight on top of its key and value:
/// the arena entry (key and value handles, the policy's node), its table slot, weight
/// and timer column, and the value's shared header.
///
/// It is the same for every policy, so the budget bounds the weights, not the heap to
/// the byte. Measured (`cd benches/compare && cargo run --release --bin memory`: 1M
/// entries of 16-byte keys and 100-byte values, the bytes asked of the allocator), an
/// entry costs 66 bytes beyond its key and value with `Lru`, 74 with `Lfu`, 76 with
/// `S3Fifo` (its ghost) and 92.5 with `TinyLfu` (its sketch and ghosts): the heap is
/// within 1% of the budget with `Lru` and about 15% over it with `TinyLfu`; the
/// tables also grow by doubling, so at other sizes their slack moves these by a few
/// bytes.
pub const ENTRY_OVERHEAD: u64 = 64;

/// [`ByteMap::insert_slice`] overwrites a value in its buffer, and copies a new one under
/// the shard lock, up to this many bytes; a larger value is copied before the lock is
/// taken, so that no thread waits on a long copy.
pub const IN_PLACE_MAX_BYTES: usize = 1024;

/// The automatic shard count gives each shard at least this many bytes of budget per
/// `MIN_SHARD_CAPACITY` unit (so a shard holds at least 512 × 128 bytes = 64 KiB).
const BYTES_PER_UNIT: u64 = 128;

/// Weighs an entry as `key.len() + value.len() + ENTRY_OVERHEAD`.
#[derive(Clone, Copy, Debug, Default)]
pub struct ByteWeigher;

impl Weigher<ByteKey, Bytes> for ByteWeigher {
    #[inline]
    fn weigh(&self, key: &ByteKey, value: &Bytes) -> u64 {
        weight_of(key.len(), value.len())
    }
}

#[inline]
fn weight_of(key: usize, value: usize) -> u64 {
    (key as u64)
        .saturating_add(value as u64)
        .saturating_add(ENTRY_OVERHEAD)
}

/// One shard's policy.
pub(crate) type ShardPolicy<O, C> = Core<ByteKey, Bytes, O, ByteWeigher, ahash::RandomState, C>;
type Store<O, C> = Sharded<ByteKey, Bytes, ShardPolicy<O, C>>;
type Listener = Box<dyn Fn(&[u8], &Bytes, EvictionCause) + Send + Sync>;

/// A refused write or bad argument. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ByteMapError {
    /// The entry (key + value + [`ENTRY_OVERHEAD`]) is heavier than the largest entry
    /// the map takes ([`ByteMap::max_entry_bytes`]).
    #[error("entry of {weight} bytes is larger than the largest entry, {max} bytes")]
    TooLarge {
        /// The entry's weight.
        weight: u64,
        /// [`ByteMap::max_entry_bytes`].
        max: u64,
    },
    /// A TTL of 0 ms: refused, as Redis refuses `PX 0`.
    #[error("a ttl of 0 ms is refused")]
    ZeroTtl,
    /// The TTL puts the deadline past the clock's range (about 584 years).
    #[error("ttl of {0} ms overflows the clock's range")]
    TtlOverflow(u64),
    /// The map could not be built as configured.
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// Converts a TTL in milliseconds, refusing 0.
#[inline]
fn ttl_of(ms: u64) -> Result<Duration, ByteMapError> {
    if ms == 0 {
        Err(ByteMapError::ZeroTtl)
    } else {
        Ok(Duration::from_millis(ms))
    }
}

#[inline]
fn ttl_opt(ms: Option<u64>) -> Result<Option<Duration>, ByteMapError> {
    ms.map(ttl_of).transpose()
}

/// Maps a refusal of the policy to the map's error (only overflow can get past the
/// map's own checks).
fn refused(err: InsertError<ByteKey, Bytes>, ttl: Option<Duration>, max: u64) -> ByteMapError {
    match err {
        InsertError::Overweight { weight, .. } => ByteMapError::TooLarge { weight, max },
        InsertError::ZeroTtl { .. } => ByteMapError::ZeroTtl,
        _ => ByteMapError::TtlOverflow(ttl.map_or(0, |t| t.as_millis() as u64)),
    }
}

/// Instances get distinct ids, so that a [`PreparedKey`] from another map is noticed.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A concurrent map of byte keys to [`Bytes`] values with TTLs, a byte budget and the
/// eviction order `O` ([`LruOrder`] by default); see the [module docs](self).
///
/// Cloning is cheap (an `Arc`); clones share one store and move freely into threads.
///
/// ```
/// use polycache::bytemap::ByteMap;
/// let map = ByteMap::builder(64 << 10).build().unwrap();
/// let handle = map.clone();
/// std::thread::spawn(move || handle.insert_slice(b"k", b"v").unwrap())
///     .join()
///     .unwrap();
/// assert!(map.contains_key(b"k"));
/// ```
pub struct ByteMap<O: BytePolicy = LruOrder, C: Clock = SystemClock> {
    inner: Arc<Inner<O, C>>,
}

struct Inner<O: BytePolicy, C: Clock> {
    store: Store<O, C>,
    max_entry: u64,
    id: u64,
    listener: Option<Listener>,
}

impl<O: BytePolicy, C: Clock> Clone for ByteMap<O, C> {
    fn clone(&self) -> Self {
        ByteMap {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<O: BytePolicy, C: Clock> std::fmt::Debug for ByteMap<O, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ByteMap")
            .field("budget", &self.inner.store.capacity())
            .field("shards", &self.inner.store.shard_count())
            .finish_non_exhaustive()
    }
}

/// Configures a [`ByteMap`]; start with [`ByteMap::builder`].
///
/// ```
/// use polycache::bytemap::ByteMap;
/// use polycache::policies::PrefixOrder;
/// use polycache::ManualClock;
/// let map = ByteMap::builder(1 << 20)
///     .policy(PrefixOrder::default())
///     .clock(ManualClock::new())
///     .shards(4)
///     .seed(7)
///     .eviction_listener(|_key: &[u8], _value, _cause| {})
///     .build()
///     .unwrap();
/// assert_eq!(map.shard_count(), 4);
/// ```
#[must_use]
pub struct ByteMapBuilder<O = LruOrder, C = SystemClock> {
    budget: u64,
    order: O,
    clock: C,
    shards: Option<usize>,
    seed: Option<u64>,
    listener: Option<Listener>,
    count_hits: bool,
}

impl ByteMap {
    /// A builder for a map of `budget` bytes (LRU, system clock, automatic shard count).
    ///
    /// ```
    /// use polycache::bytemap::ByteMap;
    /// let map = ByteMap::builder(1 << 20).build().unwrap();
    /// assert_eq!(map.budget(), 1 << 20);
    /// ```
    pub fn builder(budget: u64) -> ByteMapBuilder {
        ByteMapBuilder {
            budget,
            order: LruOrder::default(),
            clock: SystemClock::new(),
            shards: None,
            seed: None,
            listener: None,
            count_hits: true,
        }
    }
}

impl<O: BytePolicy, C: Clock> ByteMapBuilder<O, C> {
    /// The eviction order (a configured one, e.g. `PrefixOrder::with_rule(..)`).
    pub fn policy<O2: BytePolicy>(self, order: O2) -> ByteMapBuilder<O2, C> {
        ByteMapBuilder {
            budget: self.budget,
            order,
            clock: self.clock,
            shards: self.shards,
            seed: self.seed,
            listener: self.listener,
            count_hits: self.count_hits,
        }
    }

    /// The clock TTLs are measured with (a [`ManualClock`](crate::ManualClock) in
    /// tests).
    pub fn clock<C2: Clock>(self, clock: C2) -> ByteMapBuilder<O, C2> {
        ByteMapBuilder {
            budget: self.budget,
            order: self.order,
            clock,
            shards: self.shards,
            seed: self.seed,
            listener: self.listener,
            count_hits: self.count_hits,
        }
    }

    /// An explicit shard count (a power of two, at most the budget). By default: one
    /// shard per 64 KiB of budget at least, up to 4 per core (see
    /// [`shard_count_for`], in units of 128 bytes).
    pub fn shards(mut self, shards: usize) -> Self {
        self.shards = Some(shards);
        self
    }

    /// Whether reads count hits and misses in the statistics (default `true`). With a
    /// policy whose hits share the shard lock (`S3FifoOrder`), each count is an atomic
    /// increment; turn it off when nobody reads `hits` and `misses`.
    pub fn count_hits(mut self, on: bool) -> Self {
        self.count_hits = on;
        self
    }

    /// Seeds the hasher, for reproducible routes (tests, simulations). By default it is
    /// seeded at random, so keys chosen by a user cannot be aimed at one shard.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Called with every entry that leaves the map other than by a removal the caller
    /// asked for ([`ByteMap::remove`], [`ByteMap::clear`], `remove_prefix`, an entry's
    /// `remove`), and with every value replaced by a write that does not return it
    /// (`get_mut`, `modify`): cause `Capacity`, `Expired` or `Replaced`. Called after the
    /// shard lock is released, so it may call back into the map.
    pub fn eviction_listener(
        mut self,
        listener: impl Fn(&[u8], &Bytes, EvictionCause) + Send + Sync + 'static,
    ) -> Self {
        self.listener = Some(Box::new(listener));
        self
    }

    /// Builds the map.
    ///
    /// # Errors
    ///
    /// [`ByteMapError::Build`]: a zero budget, a shard count that is not a power of
    /// two, or more shards than bytes of budget.
    ///
    /// ```
    /// use polycache::bytemap::{ByteMap, ByteMapError};
    /// use polycache::BuildError;
    /// let err = ByteMap::builder(0).build().unwrap_err();
    /// assert_eq!(err, ByteMapError::Build(BuildError::ZeroCapacity));
    /// ```
    pub fn build(self) -> Result<ByteMap<O, C>, ByteMapError> {
        let shards = match self.shards {
            Some(n) => n,
            None => {
                let cores = crate::sharded::available_cores();
                shard_count_for(self.budget / BYTES_PER_UNIT, cores)
            }
        };
        let hasher = match self.seed {
            Some(seed) => seeded_hasher(seed),
            None => ahash::RandomState::new(),
        };
        let mut selector = ShardSelector::with_hasher(shards, hasher)?;
        if let Some(rule) = self.order.group_rule() {
            selector = selector.grouped(rule);
        }
        let (order, clock) = (self.order, self.clock);
        let store = Sharded::new(self.budget, selector, |cap, hasher| {
            Core::<ByteKey, Bytes, LruOrder>::builder(cap)
                .order(order.clone())
                .weigher(ByteWeigher)
                .hasher(hasher)
                .clock(clock.clone())
                .build()
        })?
        .count_hits(self.count_hits);
        let max_entry = store.max_entry_weight().min(u64::from(u32::MAX));
        Ok(ByteMap {
            inner: Arc::new(Inner {
                store,
                max_entry,
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                listener: self.listener,
            }),
        })
    }
}

impl<O: BytePolicy, C: Clock> ByteMap<O, C> {
    #[inline]
    fn store(&self) -> &Store<O, C> {
        &self.inner.store
    }

    /// Reports what left to the listener (no lock held); the caller drops it after.
    #[inline]
    fn report(&self, out: &[Evicted<ByteKey, Bytes>]) {
        if let Some(listener) = &self.inner.listener {
            for e in out {
                listener(&e.key, &e.value, e.cause);
            }
        }
    }

    #[inline]
    fn check_weight(&self, key: usize, value: usize) -> Result<(), ByteMapError> {
        let weight = weight_of(key, value);
        if weight > self.inner.max_entry {
            return Err(ByteMapError::TooLarge {
                weight,
                max: self.inner.max_entry,
            });
        }
        Ok(())
    }

    /// The route of `key`: its shard and the hash its shard's table uses. With the
    /// Prefix policy the shard is its group's (all keys of a group share it).
    ///
    /// ```
    /// use polycache::bytemap::ByteMap;
    /// let map = ByteMap::builder(1 << 20).shards(8).build().unwrap();
    /// let route = map.route_key(b"k");
    /// assert!(route.shard() < map.shard_count());
    /// assert_eq!(route, map.route_key(b"k"));
    /// ```
    #[inline]
    pub fn route_key(&self, key: &[u8]) -> Route {
        self.store().route(key)
    }

    /// The number of shards.
    ///
    /// ```
    /// use polycache::bytemap::ByteMap;
    /// assert_eq!(ByteMap::builder(1 << 20).shards(2).build().unwrap().shard_count(), 2);
    /// ```
    #[inline]
    pub fn shard_count(&self) -> usize {
        self.store().shard_count()
    }

    /// The budget in bytes.
    ///
    /// ```
    /// use polycache::bytemap::ByteMap;
    /// assert_eq!(ByteMap::builder(4096).build().unwrap().budget(), 4096);
    /// ```
    #[inline]
    pub fn budget(&self) -> u64 {
        self.store().capacity()
    }

    /// The heaviest entry the map takes: the smallest shard's guaranteed share of the
    /// budget ([`Sharded::max_entry_weight`]: `budget / shards` less the shard's part of
    /// the reserve), and at most `u32::MAX`.
    ///
    /// ```
    /// use polycache::bytemap::{ByteMap, ByteMapError, ENTRY_OVERHEAD};
    /// let map = ByteMap::builder(100).shards(2).build().unwrap();
    /// assert_eq!(map.max_entry_bytes(), 50); // shares this small keep no reserve
    /// let map = ByteMap::builder(1000).shards(2).build().unwrap();
    /// assert_eq!(map.max_entry_bytes(), 469); // (1000 - 62) / 2: 62 in reserve
    /// let err = map.insert_slice(b"k", &[0; 469]).unwrap_err();
    /// assert_eq!(err, ByteMapError::TooLarge { weight: 470 + ENTRY_OVERHEAD, max: 469 });
    /// ```
    #[inline]
    pub fn max_entry_bytes(&self) -> u64 {
        self.inner.max_entry
    }

    /// The bytes in use (the sum of the entries' weights), shard by shard.
    ///
    /// ```
    /// use polycache::bytemap::{ByteMap, ENTRY_OVERHEAD};
    /// let map = ByteMap::builder(1 << 20).build().unwrap();
    /// map.insert_slice(b"ab", b"cde").unwrap();
    /// assert_eq!(map.weight(), 5 + ENTRY_OVERHEAD);
    /// ```
    pub fn weight(&self) -> u64 {
        self.store().weight()
    }

    /// Number of entries (expired ones not yet reclaimed included), shard by shard.
    ///
    /// ```
    /// use polycache::bytemap::ByteMap;
    /// let map = ByteMap::builder(1 << 20).build().unwrap();
    /// map.insert_slice(b"a", b"1").unwrap();
    /// assert_eq!(map.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.store().len()
    }

    /// `true` when nothing is stored.
    ///
    /// ```
    /// use polycache::bytemap::ByteMap;
    /// assert!(ByteMap::builder(1 << 20).build().unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes everything, shard by shard (not reported to the listener).
    ///
    /// ```
    /// use polycache::bytemap::ByteMap;
    /// let map = ByteMap::builder(1 << 20).build().unwrap();
    /// map.insert_slice(b"a", b"1").unwrap();
    /// map.clear();
    /// assert!(map.is_empty());
    /// ```
    pub fn clear(&self) {
        self.store().clear();
    }

    /// Reclaims every expired entry now (they are otherwise reclaimed by later writes),
    /// reporting them to the listener.
    ///
    /// ```
    /// use polycache::bytemap::ByteMap;
    /// use polycache::ManualClock;
    /// let clock = ManualClock::new();
    /// let map = ByteMap::builder(1 << 20).clock(clock.clone()).build().unwrap();
    /// map.insert_with_ttl(b"a", b"1".to_vec(), 5).unwrap();
    /// clock.advance(std::time::Duration::from_millis(6)); // 5 ms and a tick
    /// assert_eq!(map.len(), 1);
    /// map.purge_expired();
    /// assert_eq!(map.len(), 0);
    /// ```
    pub fn purge_expired(&self) {
        self.store().purge_expired(|out| self.report(&out));
    }

    /// The counters (hits, misses, inserts, evictions...), summed shard by shard.
    ///
    /// ```
    /// use polycache::bytemap::ByteMap;
    /// let map = ByteMap::builder(1 << 20).build().unwrap();
    /// map.insert_slice(b"a", b"1").unwrap();
    /// map.get_owned(b"a");
    /// map.get_owned(b"b");
    /// let s = map.stats();
    /// assert_eq!((s.hits, s.misses, s.inserts), (1, 1, 1));
    /// ```
    pub fn stats(&self) -> CacheStats {
        self.store().stats()
    }

    /// Checks every shard: the policy's invariants, the weights within each shard's
    /// share of the budget, every key in the shard its route names. O(n); for tests.
    ///
    /// ```
    /// use polycache::bytemap::ByteMap;
    /// let map = ByteMap::builder(1 << 20).build().unwrap();
    /// map.insert_slice(b"a", b"1").unwrap();
    /// assert_eq!(map.validate(), Ok(()));
    /// ```
    pub fn validate(&self) -> Result<(), String> {
        self.store().validate_routed()?;
        let weight = self.weight();
        if weight > self.budget() {
            return Err(format!("weight {weight} over budget {}", self.budget()));
        }
        Ok(())
    }

    // ---- reads -------------------------------------------------------------------

    /// The value of `key` (a refcounted handle: no copy), recording the access. The
    /// handle is cloned under the shard lock and returned after it is released.
    ///
    /// ```
    /// use polycache::bytemap::ByteMap;
    /// let map = ByteMap::builder(1 << 20).build().unwrap();
    /// map.insert_slice(b"k", b"v").unwrap();
    /// assert_eq!(map.get_owned(b"k").as_deref(), Some(&b"v"[..]));
    /// assert_eq!(map.get_owned(b"nope"), None);
    /// ```
    #[inline]
    pub fn get_owned(&self, key: &[u8]) -> Option<Bytes> {
        self.get_owned_routed(self.route_key(key), key)
    }

    #[inline]
    fn get_owned_routed(&self, route: Route, key: &[u8]) -> Option<Bytes> {
        self.store()
            .get_routed_as(route, KeyBytes::new(key), Bytes::clone)
    }

    /// Lends the value of `key` to `f`, without copying or cloning it, recording the
    /// access. `f` runs under the shard lock: keep it short and do not call into the map.
    ///
    /// ```
    /// use polycache::bytemap::ByteMap;
    /// let map = ByteMap::builder(1 << 20).build().unwrap();
    /// map.insert_slice(b"k", b"hello").unwrap();
    /// assert_eq!(map.get_with(b"k", |v| v.starts_with(b"he")), Some(true));
    /// ```
    #[inline]
    pub fn get_with<R>(&self, key: &[u8], f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        self.store()
            .get_routed_as(self.route_key(key), KeyBytes::new(key), |v| f(v))
    }

    /// Whether a live entry for `key` is stored (not an access).
    ///
    /// ```
    /// use polycache::bytemap::ByteMap;
    /// let map = ByteMap::builder(1 << 20).build().unwrap();
    /// map.insert_slice(b"", b"empty keys are keys").unwrap();
    /// assert!(map.contains_key(b""));
    /// assert!(!map.contains_key(b"x"));
    /// ```
    #[inline]
    pub fn contains_key(&self, key: &[u8]) -> bool {
        let route = self.route_key(key);
        self.store().read_shard_at(route.shard, |s| {
            s.policy
                .peek_hashed(route.hash, KeyBytes::new(key))
                .is_some()
        })
    }

    /// The time `key` has left: `None` if absent or expired, `Some(None)` if it has no
    /// TTL.
    ///
    /// ```
    /// use std::time::Duration;
    /// use polycache::bytemap::ByteMap;
    /// use polycache::ManualClock;
    /// let clock = ManualClock::new();
    /// let map = ByteMap::builder(1 << 20).clock(clock.clone()).build().unwrap();
    /// map.insert_with_ttl(b"a", b"1".to_vec(), 100).unwrap();
    /// map.insert_slice(b"b", b"2").unwrap();
    /// clock.advance(Duration::from_millis(40));
    /// let left = map.ttl(b"a").unwrap().unwrap();
    /// // At least the TTL, less than one tick (1.024 µs) more.
    /// assert!(left >= Duration::from_millis(60) && left < Duration::from_micros(60_002));
    /// assert_eq!(map.ttl(b"b"), Some(None));
    /// assert_eq!(map.ttl(b"c"), None);
    /// ```
    pub fn ttl(&self, key: &[u8]) -> Option<Option<Duration>> {
        let route = self.route_key(key);
        self.store()
            .read_shard_at(route.shard, |s| s.policy.ttl_hashed(route.hash, key))
    }

    // ---- writes ------------------------------------------------------------------

    fn write_routed(
        &self,
        route: Route,
        key: &[u8],
        value: Bytes,
        ttl: Option<Duration>,
    ) -> Result<Option<Bytes>, ByteMapError> {
        self.check_weight(key.len(), value.len())?;
        // Written once, into this buffer outside the lock; dropped here after it.
        let mut out = Evictions::new();
        self.write_routed_into(route, key, value, ttl, &mut out)?;
        let old = take_replaced(&mut out);
        self.report(&out);
        Ok(old)
    }

    /// Writes a value whose weight was checked, appending what left to `out`.
    #[inline]
    fn write_routed_into(
        &self,
        route: Route,
        key: &[u8],
        value: Bytes,
        ttl: Option<Duration>,
        out: &mut Evictions<ByteKey, Bytes>,
    ) -> Result<(), ByteMapError> {
        self.store()
            .insert_routed_into(route, key.into(), value, ttl, out)
            .map_err(|e| refused(e, ttl, self.inner.max_entry))
    }

    /// Inserts or replaces `key` with `value` (no TTL: a plain write clears the key's
    /// TTL); returns the value it replaced.
    ///
    /// # Errors
    ///
    /// [`ByteMapError::TooLarge`]; the map is then unchanged.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use polycache::bytemap::ByteMap;
    /// let map = ByteMap::builder(1 << 20).build().unwrap();
    /// assert_eq!(map.insert(b"k", Bytes::from_static(b"1")).unwrap(), None);
    /// let old = map.insert(b"k", b"2".to_vec()).unwrap();
    /// assert_eq!(old.as_deref(), Some(&b"1"[..]));
    /// ```
    #[inline]
    pub fn insert(
        &self,
        key: &[u8],
        value: impl Into<Bytes>,
    ) -> Result<Option<Bytes>, ByteMapError> {
        self.write_routed(self.route_key(key), key, value.into(), None)
    }

    /// Inserts or replaces `key` with a copy of `value` (no TTL: a plain write clears
    /// the key's TTL), as `SET` does; returns whether it replaced a live value. It does
    /// not hand the old value back (use [`ByteMap::insert`] for that): so a value of the
    /// same length that no reader holds any more is overwritten in its buffer, with no
    /// allocation and no free. That is done when the map has no eviction listener (which
    /// gets every replaced value of a write that does not return it) and the value is at
    /// most [`IN_PLACE_MAX_BYTES`]; otherwise, and for a new key, the copy is a new
    /// buffer (made under the shard lock up to that size, before it above).
    ///
    /// # Errors
    ///
    /// [`ByteMapError::TooLarge`]; the map is then unchanged.
    ///
    /// ```
    /// use polycache::bytemap::ByteMap;
    /// let map = ByteMap::builder(1 << 20).build().unwrap();
    /// assert_eq!(map.insert_slice(b"k", &[7; 100]), Ok(false));
    /// let held = map.get_owned(b"k").unwrap();
    /// assert_eq!(map.insert_slice(b"k", &[8; 100]), Ok(true)); // `held` keeps the old bytes
    /// drop(held);
    /// assert_eq!(map.insert_slice(b"k", &[9; 100]), Ok(true)); // written in place
    /// assert_eq!(map.get_with(b"k", |v| (v.len(), v[0])), Some((100, 9)));
    /// ```
    #[inline]
    pub fn insert_slice(&self, key: &[u8], value: &[u8]) -> Result<bool, ByteMapError> {
        self.check_weight(key.len(), value.len())?;
        let route = self.route_key(key);
        let mut out = Evictions::new();
        let in_place = if self.inner.listener.is_some() || value.len() > IN_PLACE_MAX_BYTES {
            self.write_routed_into(route, key, Bytes::copy_from_slice(value), None, &mut out)?;
            false
        } else {
            self.store().with_shard_at(route.shard, |s| {
                if s.policy
                    .overwrite_hashed(route.hash, KeyBytes::new(key), &mut out, |v| {
                        overwrite(v, value)
                    })
                {
                    s.stats.inserts += 1;
                    s.stats.count_cause(EvictionCause::Replaced);
                    s.stats.count_evictions(&out);
                    return Ok(true);
                }
                // Not in place: a new key (probed a second time by the insert, as
                // `Policy` has no insert that takes a probe's result), another length,
                // or a value someone holds.
                let value = Bytes::copy_from_slice(value);
                insert_counted(s, route.hash, key.into(), value, None, &mut out)
                    .map(|()| false)
                    .map_err(|e| refused(e, None, self.inner.max_entry))
            })?
        };
        let replaced = in_place || out.iter().any(|e| e.cause == EvictionCause::Replaced);
        // What left (evicted, expired, the replaced value) goes to the listener, and
        // is dropped, here: unlocked.
        self.report(&out);
        Ok(replaced)
    }

    /// Inserts or replaces `key`; it expires `ttl_ms` milliseconds from now.
    ///
    /// # Errors
    ///
    /// [`ByteMapError::TooLarge`], [`ByteMapError::ZeroTtl`],
    /// [`ByteMapError::TtlOverflow`]; the map is then unchanged.
    ///
    /// ```
    /// use std::time::Duration;
    /// use polycache::bytemap::{ByteMap, ByteMapError};
    /// use polycache::ManualClock;
    /// let clock = ManualClock::new();
    /// let map = ByteMap::builder(1 << 20).clock(clock.clone()).build().unwrap();
    /// map.insert_with_ttl(b"k", b"v".to_vec(), 10).unwrap();
    /// assert_eq!(map.insert_with_ttl(b"k", b"v".to_vec(), 0), Err(ByteMapError::ZeroTtl));
    /// clock.advance(Duration::from_millis(10));
    /// assert!(map.get_owned(b"k").is_some()); // lives at least its TTL...
    /// clock.advance(Duration::from_micros(2));
    /// assert_eq!(map.get_owned(b"k"), None); // ...and less than one tick more
    /// ```
    #[inline]
    pub fn insert_with_ttl(
        &self,
        key: &[u8],
        value: impl Into<Bytes>,
        ttl_ms: u64,
    ) -> Result<Option<Bytes>, ByteMapError> {
        let ttl = ttl_of(ttl_ms)?;
        self.write_routed(self.route_key(key), key, value.into(), Some(ttl))
    }

    /// Inserts `key` only if no live entry has it (`SET NX`), with a TTL or none.
    /// Returns `true` if it was inserted, `false` if the key was present (unchanged).
    /// A zero TTL is [`ByteMapError::ZeroTtl`] whether or not the key is present.
    ///
    /// ```
    /// use polycache::bytemap::{ByteMap, ByteMapError};
    /// let map = ByteMap::builder(1 << 20).build().unwrap();
    /// assert!(map.try_insert(b"k", b"1".to_vec(), None).unwrap());
    /// assert!(!map.try_insert(b"k", b"2".to_vec(), Some(1000)).unwrap());
    /// assert_eq!(map.get_owned(b"k").as_deref(), Some(&b"1"[..]));
    /// assert_eq!(map.try_insert(b"k", b"3".to_vec(), Some(0)), Err(ByteMapError::ZeroTtl));
    /// ```
    pub fn try_insert(
        &self,
        key: &[u8],
        value: impl Into<Bytes>,
        ttl_ms: Option<u64>,
    ) -> Result<bool, ByteMapError> {
        // Bad input is refused whatever the map holds, not only when the key is absent.
        ttl_opt(ttl_ms)?;
        let inserted = self.entry(key, |e| match e {
            Entry::Occupied(_) => Ok(false),
            Entry::Vacant(v) => v.insert(value, ttl_ms).map(|()| true),
        })?;
        Ok(inserted)
    }

    /// Removes `key` and returns its value if it was live.
    ///
    /// ```
    /// use polycache::bytemap::ByteMap;
    /// let map = ByteMap::builder(1 << 20).build().unwrap();
    /// map.insert_slice(b"k", b"v").unwrap();
    /// assert_eq!(map.remove(b"k").as_deref(), Some(&b"v"[..]));
    /// assert_eq!(map.remove(b"k"), None);
    /// ```
    #[inline]
    pub fn remove(&self, key: &[u8]) -> Option<Bytes> {
        self.remove_routed(self.route_key(key), key)
    }

    fn remove_routed(&self, route: Route, key: &[u8]) -> Option<Bytes> {
        let e = self.store().remove_routed(route, key)?;
        match e.cause {
            EvictionCause::Removed => Some(e.value),
            _ => {
                self.report(std::slice::from_ref(&e));
                None
            }
        }
    }

    /// Changes the value of `key` in place: `f` gets a mutable copy of the bytes, and
    /// what it leaves is written back (re-weighed; the TTL is kept). Returns `f`'s
    /// result, or `None` if the key is absent. `f` runs under the shard lock (do not
    /// call into the map from it); if it panics, the value is unchanged.
    ///
    /// # Errors
    ///
    /// [`ByteMapError::TooLarge`] if the new value is too heavy; the old value stays.
    ///
    /// ```
    /// use polycache::bytemap::ByteMap;
    /// let map = ByteMap::builder(1 << 20).build().unwrap();
    /// map.insert_slice(b"counter", b"41").unwrap();
    /// let n = map.get_mut(b"counter", |v| {
    ///     let n: u32 = std::str::from_utf8(v).unwrap().parse().unwrap();
    ///     v.clear();
    ///     v.extend_from_slice((n + 1).to_string().as_bytes());
    ///     n + 1
    /// });
    /// assert_eq!(n, Ok(Some(42)));
    /// assert_eq!(map.get_owned(b"counter").as_deref(), Some(&b"42"[..]));
    /// assert_eq!(map.get_mut(b"nope", |_| ()), Ok(None));
    /// ```
    pub fn get_mut<R>(
        &self,
        key: &[u8],
        f: impl FnOnce(&mut BytesMut) -> R,
    ) -> Result<Option<R>, ByteMapError> {
        self.entry(key, |e| match e {
            Entry::Vacant(_) => Ok(None),
            Entry::Occupied(o) => o.modify(f).map(Some),
        })
    }

    /// Sets the TTL of a live `key` to `ttl_ms` from now (`PEXPIRE`); `false` if absent.
    ///
    /// ```
    /// use polycache::bytemap::ByteMap;
    /// let map = ByteMap::builder(1 << 20).build().unwrap();
    /// map.insert_slice(b"k", b"v").unwrap();
    /// assert_eq!(map.expire(b"k", 500), Ok(true));
    /// assert!(map.ttl(b"k").unwrap().is_some());
    /// assert_eq!(map.expire(b"x", 500), Ok(false));
    /// ```
    pub fn expire(&self, key: &[u8], ttl_ms: u64) -> Result<bool, ByteMapError> {
        let ttl = ttl_of(ttl_ms)?;
        let route = self.route_key(key);
        self.store()
            .with_shard_at(route.shard, |s| {
                s.policy.set_ttl_hashed(route.hash, key, Some(ttl))
            })
            .map_err(|_| ByteMapError::TtlOverflow(ttl_ms))
    }

    /// Removes the TTL of a live `key` (`PERSIST`); `false` if absent.
    ///
    /// ```
    /// use polycache::bytemap::ByteMap;
    /// let map = ByteMap::builder(1 << 20).build().unwrap();
    /// map.insert_with_ttl(b"k", b"v".to_vec(), 500).unwrap();
    /// assert!(map.persist(b"k"));
    /// assert_eq!(map.ttl(b"k"), Some(None));
    /// ```
    pub fn persist(&self, key: &[u8]) -> bool {
        let route = self.route_key(key);
        self.store().with_shard_at(route.shard, |s| {
            s.policy
                .set_ttl_hashed(route.hash, key, None)
                .unwrap_or(false)
        })
    }

    /// Runs `f` on the [`Entry`] of `key` under its shard lock: look at it, then insert,
    /// replace, modify or remove it, atomically with respect to every other operation on
    /// the map. `f` must not call into the map (it would wait for the lock it holds).
    /// What the entry's operations push out is dropped (and reported) after the lock is
    /// released.
    ///
    /// ```
    /// use polycache::bytemap::{ByteMap, Entry};
    /// let map = ByteMap::builder(1 << 20).build().unwrap();
    /// // Append to a value, or create it.
    /// for _ in 0..3 {
    ///     map.entry(b"log", |e| match e {
    ///         Entry::Occupied(o) => o.modify(|v| v.extend_from_slice(b"+")).map(|_| ()),
    ///         Entry::Vacant(v) => v.insert(b"+".to_vec(), None),
    ///     })
    ///     .unwrap();
    /// }
    /// assert_eq!(map.get_owned(b"log").as_deref(), Some(&b"+++"[..]));
    /// ```
    pub fn entry<R>(&self, key: &[u8], f: impl FnOnce(Entry<'_, O, C>) -> R) -> R {
        self.entry_routed(self.route_key(key), key, f)
    }

    fn entry_routed<R>(&self, route: Route, key: &[u8], f: impl FnOnce(Entry<'_, O, C>) -> R) -> R {
        let mut out = Evictions::new();
        let max_entry = self.inner.max_entry;
        let r = self.store().with_shard_at(route.shard, |s| {
            f(Entry::new(s, route.hash, key, max_entry, &mut out))
        });
        self.report(&out);
        r
    }

    // ---- prepared keys -----------------------------------------------------------

    /// A copy of `key` with its route, for the `*_prepared` operations: they skip
    /// hashing. A prepared key belongs to this map (and its clones); handed to another
    /// map it is routed again there, so it is never wrong, only slower.
    ///
    /// ```
    /// use polycache::bytemap::ByteMap;
    /// let map = ByteMap::builder(1 << 20).build().unwrap();
    /// let k = map.prepare_key(b"hot");
    /// assert_eq!(k.route(), map.route_key(b"hot"));
    /// map.insert_prepared(&k, b"v".to_vec(), None).unwrap();
    /// assert_eq!(map.get_owned_prepared(&k).as_deref(), Some(&b"v"[..]));
    /// assert_eq!(map.remove_prepared(&k).as_deref(), Some(&b"v"[..]));
    /// ```
    pub fn prepare_key(&self, key: &[u8]) -> PreparedKey {
        PreparedKey::new(key.into(), self.route_key(key), self.inner.id)
    }

    #[inline]
    fn route_of(&self, key: &PreparedKey) -> Route {
        if key.owner() == self.inner.id {
            key.route()
        } else {
            self.route_key(key.key())
        }
    }

    /// [`ByteMap::get_owned`] of a prepared key.
    #[inline]
    pub fn get_owned_prepared(&self, key: &PreparedKey) -> Option<Bytes> {
        self.get_owned_routed(self.route_of(key), key.key())
    }

    /// [`ByteMap::get_with`] of a prepared key.
    ///
    /// ```
    /// use polycache::bytemap::ByteMap;
    /// let map = ByteMap::builder(1 << 20).build().unwrap();
    /// let k = map.prepare_key(b"k");
    /// map.insert_prepared(&k, b"abc".to_vec(), None).unwrap();
    /// assert_eq!(map.get_with_prepared(&k, |v| v.len()), Some(3));
    /// ```
    #[inline]
    pub fn get_with_prepared<R>(&self, key: &PreparedKey, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        self.store()
            .get_routed_as(self.route_of(key), KeyBytes::new(key.key()), |v| f(v))
    }

    /// [`ByteMap::insert`] (`ttl_ms: None`) or [`ByteMap::insert_with_ttl`] of a
    /// prepared key.
    #[inline]
    pub fn insert_prepared(
        &self,
        key: &PreparedKey,
        value: impl Into<Bytes>,
        ttl_ms: Option<u64>,
    ) -> Result<Option<Bytes>, ByteMapError> {
        let ttl = ttl_opt(ttl_ms)?;
        self.write_routed(self.route_of(key), key.key(), value.into(), ttl)
    }

    /// [`ByteMap::remove`] of a prepared key.
    #[inline]
    pub fn remove_prepared(&self, key: &PreparedKey) -> Option<Bytes> {
        self.remove_routed(self.route_of(key), key.key())
    }

    /// [`ByteMap::entry`] of a prepared key.
    ///
    /// ```
    /// use polycache::bytemap::{ByteMap, Entry};
    /// let map = ByteMap::builder(1 << 20).build().unwrap();
    /// let k = map.prepare_key(b"k");
    /// let fresh = map.entry_prepared(&k, |e| matches!(e, Entry::Vacant(_)));
    /// assert!(fresh);
    /// ```
    pub fn entry_prepared<R>(&self, key: &PreparedKey, f: impl FnOnce(Entry<'_, O, C>) -> R) -> R {
        self.entry_routed(self.route_of(key), key.key(), f)
    }
}

impl<C: Clock> ByteMap<PrefixOrder, C> {
    /// Removes every key of the group named `prefix` (the whole prefix as the order's
    /// rule names it, e.g. `b"tenant:42:"`), under one shard lock, in time proportional
    /// to the group's size; returns how many live entries it removed. It is not a
    /// prefix match: with the default rule (a key's group runs to its last `:`),
    /// `tenant:42:user:7` is in group `tenant:42:user:`, which `remove_prefix(b"tenant:42:")`
    /// leaves alone. Members already
    /// expired are removed too and go to the listener as expired.
    ///
    /// ```
    /// use polycache::bytemap::ByteMap;
    /// use polycache::policies::PrefixOrder;
    /// let map = ByteMap::builder(1 << 20).policy(PrefixOrder::default()).build().unwrap();
    /// map.insert_slice(b"tenant:1:a", b"x").unwrap();
    /// map.insert_slice(b"tenant:1:b", b"y").unwrap();
    /// map.insert_slice(b"tenant:2:a", b"z").unwrap();
    /// assert_eq!(map.remove_prefix(b"tenant:1:"), 2);
    /// assert_eq!(map.len(), 1);
    /// map.insert_slice(b"tenant:2:user:7", b"u").unwrap(); // group "tenant:2:user:"
    /// assert_eq!(map.remove_prefix(b"tenant:2:"), 1); // "tenant:2:a" only
    /// assert_eq!(map.remove_prefix(b"tenant:2:user:"), 1);
    /// ```
    pub fn remove_prefix(&self, prefix: &[u8]) -> usize {
        let mut removed = 0;
        self.store().remove_prefix(prefix, |out| {
            let mut expired = Evictions::new();
            for e in out {
                if e.cause == EvictionCause::Removed {
                    removed += 1;
                } else {
                    expired.push(e);
                }
            }
            self.report(&expired);
        });
        removed
    }
}

/// Writes `value` over the stored bytes `stored` when they have the same length and no
/// other handle shares them (so the write is seen by no reader); `false` otherwise,
/// leaving `stored` as it was.
#[inline]
fn overwrite(stored: &mut Bytes, value: &[u8]) -> bool {
    if stored.len() != value.len() {
        return false;
    }
    // `try_into_mut` is the uniqueness check: it hands the buffer over only if no
    // other handle shares it.
    match std::mem::take(stored).try_into_mut() {
        Ok(mut buf) => {
            buf.copy_from_slice(value);
            *stored = buf.freeze();
            true
        }
        Err(shared) => {
            *stored = shared;
            false
        }
    }
}

/// Writes into a locked shard (for the entry API), appending what left to `out`.
#[inline]
pub(crate) fn write_locked<O: BytePolicy, C: Clock>(
    s: &mut Shard<ShardPolicy<O, C>, ()>,
    hash: u64,
    key: ByteKey,
    value: Bytes,
    ttl: Option<Duration>,
    max_entry: u64,
    out: &mut Evictions<ByteKey, Bytes>,
) -> Result<(), ByteMapError> {
    let weight = weight_of(key.len(), value.len());
    if weight > max_entry {
        return Err(ByteMapError::TooLarge {
            weight,
            max: max_entry,
        });
    }
    insert_counted(s, hash, key, value, ttl, out).map_err(|e| refused(e, ttl, max_entry))
}
