//! [`Cache`]: the typed, cloneable, thread-safe handle most users hold.
//!
//! # Invariants
//!
//! - Every operation hashes its key once ([`ShardSelector`]) and holds at most one shard
//!   lock, never while user code other than `Hash`/`Eq`/`Clone` of keys and values, the
//!   weigher, or the closures documented as running under the lock ([`Cache::get_with`],
//!   [`Cache::retain`]'s predicate) runs.
//! - After any call returns, the cache holds at most its capacity (entries or weight):
//!   each shard keeps within its share, and the shares sum to the capacity.
//! - The eviction listener is never called while a shard lock is held: what a write
//!   pushes out is collected under the lock and reported (then dropped) after it is
//!   released. So a listener may call back into the cache.
//! - [`Cache::get_or_insert_with`] is single-flight per key (see `flight.rs`): however
//!   many threads miss a key at once, one loader runs and all get its value; a loader
//!   that fails or panics leaves nothing behind, and the next caller runs its own. A
//!   write of the key (insert, remove, `clear`) while it loads supersedes the load: the
//!   loaded value is returned but not stored, so no acknowledged write is overwritten
//!   and no invalidation undone.
//! - A panic in user code (loader, weigher, listener, predicate) leaves every shard
//!   consistent and no waiter blocked.

use std::borrow::Borrow;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use polycache_policies::{Evicted, EvictionCause, Evictions, InsertError, Lru, Policy, TtlError};

use crate::builder::CacheBuilder;
use crate::flight::{Flight, Flights};
use crate::selector::ShardSelector;
use crate::sharded::{Sharded, insert_counted, remove_counted, take_replaced};
use crate::stats::CacheStats;

/// The eviction listener, as stored.
pub(crate) type Listener<K, V> = Box<dyn Fn(&K, &V, EvictionCause) + Send + Sync>;

/// A bounded, concurrent cache with eviction policy `P` (LRU by default).
///
/// Cloning is cheap and every clone is the same cache. Build one with
/// [`Cache::builder`]; the invariants are in the [module docs](self).
///
/// ```
/// use polycache::Cache;
/// let cache = Cache::<String, u64>::builder(1000).build().unwrap();
/// let handle = cache.clone();
/// std::thread::spawn(move || handle.insert("answer".into(), 42).unwrap())
///     .join()
///     .unwrap();
/// assert_eq!(cache.get("answer"), Some(42));
/// ```
pub struct Cache<K, V, P = Lru<K, V>> {
    inner: Arc<Inner<K, V, P>>,
}

struct Inner<K, V, P> {
    map: Sharded<K, V, P, Flights<K, V>>,
    default_ttl: Option<Duration>,
    listener: Option<Listener<K, V>>,
}

impl<K, V, P> Clone for Cache<K, V, P> {
    fn clone(&self) -> Self {
        Cache {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<K, V, P> std::fmt::Debug for Cache<K, V, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("map", &self.inner.map)
            .field("default_ttl", &self.inner.default_ttl)
            .finish_non_exhaustive()
    }
}

impl<K, V> Cache<K, V> {
    /// A builder for a cache of weight budget `capacity` (entries, with the default
    /// weigher), LRU by default; see [`CacheBuilder`].
    ///
    /// ```
    /// use polycache::Cache;
    /// let cache = Cache::<u64, u64>::builder(100).build().unwrap();
    /// assert_eq!(cache.capacity(), 100);
    /// ```
    pub fn builder(capacity: u64) -> CacheBuilder<K, V> {
        CacheBuilder::new(capacity)
    }
}

enum Step<V> {
    Hit(V),
    Wait(Arc<Flight<V>>),
    Lead(Arc<Flight<V>>),
}

/// Abandons a load on drop unless disarmed: unregisters it and wakes its waiters.
struct Abandon<'a, K: Hash + Eq, V: Clone, P: Policy<K, V>> {
    map: &'a Sharded<K, V, P, Flights<K, V>>,
    hash: u64,
    flight: &'a Arc<Flight<V>>,
    armed: bool,
}

impl<K: Hash + Eq, V: Clone, P: Policy<K, V>> Drop for Abandon<'_, K, V, P> {
    fn drop(&mut self) {
        if self.armed {
            self.map.with_shard(self.hash, |s| {
                s.extra.unregister(self.flight);
            });
            self.flight.finish(None);
        }
    }
}

impl<K, V, P> Cache<K, V, P>
where
    K: Hash + Eq,
    P: Policy<K, V>,
{
    pub(crate) fn from_parts(
        map: Sharded<K, V, P, Flights<K, V>>,
        default_ttl: Option<Duration>,
        listener: Option<Listener<K, V>>,
    ) -> Self {
        Cache {
            inner: Arc::new(Inner {
                map,
                default_ttl,
                listener,
            }),
        }
    }

    /// Reports what left to the listener (no lock held); the caller drops it after.
    #[inline]
    fn report(&self, out: &[Evicted<K, V>]) {
        if let Some(listener) = &self.inner.listener {
            for e in out {
                listener(&e.key, &e.value, e.cause);
            }
        }
    }

    /// A clone of the value of `key`, recording the access (a hit or a miss).
    ///
    /// ```
    /// use polycache::Cache;
    /// let cache = Cache::<String, String>::builder(10).build().unwrap();
    /// cache.insert("k".into(), "v".into()).unwrap();
    /// assert_eq!(cache.get("k").as_deref(), Some("v"));
    /// assert_eq!(cache.get("nope"), None);
    /// ```
    #[inline]
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: Clone,
    {
        self.inner.map.get_with(key, V::clone)
    }

    /// Reads the value of `key` in place with `f`, without cloning it, recording the
    /// access. `f` runs under the shard lock: keep it short, and do not call back into
    /// the cache from it (that would wait for the lock `f` runs under).
    ///
    /// ```
    /// use polycache::Cache;
    /// let cache = Cache::<u8, Vec<u8>>::builder(10).build().unwrap();
    /// cache.insert(1, vec![0; 1000]).unwrap();
    /// assert_eq!(cache.get_with(&1, |v| v.len()), Some(1000));
    /// ```
    #[inline]
    pub fn get_with<Q, R>(&self, key: &Q, f: impl FnOnce(&V) -> R) -> Option<R>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.inner.map.get_with(key, f)
    }

    /// A clone of the value of `key`, without recording the access (no effect on the
    /// eviction order or the statistics).
    ///
    /// ```
    /// use polycache::Cache;
    /// let cache = Cache::<u8, u8>::builder(2).build().unwrap();
    /// cache.insert(1, 1).unwrap();
    /// cache.insert(2, 2).unwrap();
    /// assert_eq!(cache.peek(&1), Some(1)); // 1 stays least recent
    /// cache.insert(3, 3).unwrap();
    /// assert_eq!(cache.peek(&1), None);
    /// ```
    #[inline]
    pub fn peek<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: Clone,
    {
        self.inner.map.peek_with(key, V::clone)
    }

    /// Whether a live entry for `key` is stored (without recording an access).
    ///
    /// ```
    /// use polycache::Cache;
    /// let cache = Cache::<u8, u8>::builder(2).build().unwrap();
    /// cache.insert(1, 1).unwrap();
    /// assert!(cache.contains_key(&1));
    /// assert!(!cache.contains_key(&2));
    /// ```
    #[inline]
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.inner.map.peek_with(key, |_| ()).is_some()
    }

    /// Inserts or replaces `key` (with the default TTL, if one was set) and returns the
    /// value it replaced. What the write pushed out goes to the listener.
    ///
    /// # Errors
    ///
    /// [`InsertError::Overweight`] for an entry heavier than its shard's capacity (at
    /// least [`Cache::max_entry_weight`]), [`InsertError::TtlOverflow`]; the entry is handed
    /// back and the cache is unchanged.
    ///
    /// ```
    /// use polycache::Cache;
    /// let cache = Cache::<u8, u8>::builder(2).build().unwrap();
    /// assert_eq!(cache.insert(1, 1).unwrap(), None);
    /// assert_eq!(cache.insert(1, 2).unwrap(), Some(1));
    /// ```
    #[inline]
    pub fn insert(&self, key: K, value: V) -> Result<Option<V>, InsertError<K, V>> {
        self.insert_inner(key, value, self.inner.default_ttl)
    }

    /// Inserts or replaces `key`; it expires `ttl` from now. Errors as
    /// [`Cache::insert`]'s, and a zero `ttl` is [`InsertError::ZeroTtl`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use polycache::{Cache, InsertError, ManualClock};
    /// let clock = ManualClock::new();
    /// let cache = Cache::<u8, u8>::builder(2).clock(clock.clone()).build().unwrap();
    /// cache.insert_with_ttl(1, 1, Duration::from_millis(10)).unwrap();
    /// assert_eq!(cache.get(&1), Some(1));
    /// clock.advance(Duration::from_millis(11)); // lives its TTL, and < 1µs more
    /// assert_eq!(cache.get(&1), None);
    /// let err = cache.insert_with_ttl(2, 2, Duration::MAX).unwrap_err();
    /// assert!(matches!(err, InsertError::TtlOverflow { .. }));
    /// let err = cache.insert_with_ttl(2, 2, Duration::ZERO).unwrap_err();
    /// assert!(matches!(err, InsertError::ZeroTtl { .. }));
    /// ```
    #[inline]
    pub fn insert_with_ttl(
        &self,
        key: K,
        value: V,
        ttl: Duration,
    ) -> Result<Option<V>, InsertError<K, V>> {
        self.insert_inner(key, value, Some(ttl))
    }

    #[inline]
    fn insert_inner(
        &self,
        key: K,
        value: V,
        ttl: Option<Duration>,
    ) -> Result<Option<V>, InsertError<K, V>> {
        // What the write pushes out is written once, into this buffer outside the lock,
        // and dropped here after the lock is released.
        let mut out = Evictions::new();
        let map = &self.inner.map;
        let hash = map.selector().hash(&key);
        map.with_shard(hash, |s| {
            // A refused write changes nothing, so it supersedes no load.
            let load = s.extra.position(hash, &key);
            insert_counted(s, hash, key, value, ttl, &mut out)?;
            if let Some(at) = load {
                s.extra.supersede_at(at);
            }
            Ok(())
        })?;
        if out.is_empty() {
            return Ok(None);
        }
        self.report(&out);
        Ok(take_replaced(&mut out))
    }

    /// Removes `key` and returns its value if it was live. The listener hears of it
    /// (cause `Removed`, or `Expired` if its deadline had passed; then `None` is
    /// returned).
    ///
    /// ```
    /// use polycache::Cache;
    /// let cache = Cache::<u8, u8>::builder(2).build().unwrap();
    /// cache.insert(1, 1).unwrap();
    /// assert_eq!(cache.remove(&1), Some(1));
    /// assert_eq!(cache.remove(&1), None);
    /// ```
    pub fn remove<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let map = &self.inner.map;
        let hash = map.selector().hash(key);
        let e = map.with_shard(hash, |s| {
            s.extra.supersede(hash, key);
            remove_counted(s, hash, key)
        })?;
        if let Some(listener) = &self.inner.listener {
            listener(&e.key, &e.value, e.cause);
        }
        (e.cause == EvictionCause::Removed).then_some(e.value)
    }

    /// The value of `key`, loaded with `init` and stored (with the default TTL) if
    /// absent. Single-flight: when several threads miss `key` at once, `init` runs once
    /// and all of them get its value. If `init` panics, nothing is stored, the panic
    /// goes on in this thread, and a waiting thread runs its own `init`.
    ///
    /// `init` runs without any lock held, so it may use the cache, but must not load
    /// the same key (it would wait for itself). If the cache refuses the value
    /// (overweight), it is returned all the same, and not stored.
    ///
    /// A write of `key` while `init` runs (an insert that succeeds, a remove, a
    /// [`Cache::clear`], from any thread or from `init` itself) supersedes the load: the
    /// write stands, and the loaded value, read before it, is returned to the callers
    /// that were already waiting but not stored; a caller that comes after the write
    /// runs a load of its own. So an acknowledged insert is never overwritten by an
    /// older load, and an invalidation is never undone by one. ([`Cache::retain`] does
    /// not supersede: the value being loaded is not in the cache for its predicate to
    /// judge.)
    ///
    /// ```
    /// use polycache::Cache;
    /// let cache = Cache::<u8, u8>::builder(10).build().unwrap();
    /// let loaded = cache.get_or_insert_with(1, || {
    ///     cache.insert(1, 2).unwrap(); // a newer write while the load runs
    ///     1
    /// });
    /// assert_eq!((loaded, cache.get(&1)), (1, Some(2)));
    /// ```
    ///
    /// ```
    /// use polycache::Cache;
    /// let cache = Cache::<u8, String>::builder(10).build().unwrap();
    /// assert_eq!(cache.get_or_insert_with(1, || "loaded".into()), "loaded");
    /// assert_eq!(cache.get_or_insert_with(1, || unreachable!()), "loaded");
    /// ```
    pub fn get_or_insert_with<F>(&self, key: K, init: F) -> V
    where
        F: FnOnce() -> V,
        K: Clone,
        V: Clone,
    {
        match self.load(key, || Ok::<V, std::convert::Infallible>(init())) {
            Ok(v) => v,
            Err(never) => match never {},
        }
    }

    /// Like [`Cache::get_or_insert_with`] with a fallible loader: an error is returned
    /// to this caller only, is not cached, and a waiting thread runs its own loader.
    ///
    /// ```
    /// use polycache::Cache;
    /// let cache = Cache::<u8, u8>::builder(10).build().unwrap();
    /// assert_eq!(cache.try_get_or_insert_with(1, || Err("down")), Err("down"));
    /// assert!(!cache.contains_key(&1));
    /// assert_eq!(cache.try_get_or_insert_with(1, || Ok::<_, &str>(5)), Ok(5));
    /// ```
    pub fn try_get_or_insert_with<F, E>(&self, key: K, init: F) -> Result<V, E>
    where
        F: FnOnce() -> Result<V, E>,
        K: Clone,
        V: Clone,
    {
        self.load(key, init)
    }

    fn load<F, E>(&self, key: K, init: F) -> Result<V, E>
    where
        F: FnOnce() -> Result<V, E>,
        K: Clone,
        V: Clone,
    {
        let map = &self.inner.map;
        let hash = map.selector().hash(&key);
        // A hit of a policy whose hits share the lock needs no exclusive lock.
        if let Some(v) = map.get_shared_hit(hash, &key, V::clone) {
            return Ok(v);
        }
        // Only the first look-up counts (a hit or a miss), and only if the map counts.
        let mut first = map.counts_hits();
        loop {
            let step = map.with_shard(hash, |s| {
                if let Some(v) = s.policy.get_hashed(hash, &key) {
                    let v = v.clone();
                    if first {
                        s.stats.hits += 1;
                    }
                    return Step::Hit(v);
                }
                if first {
                    s.stats.misses += 1;
                }
                if let Some(flight) = s.extra.find(hash, &key) {
                    return Step::Wait(Arc::clone(flight));
                }
                let flight = Arc::new(Flight::new());
                s.extra.register(hash, key.clone(), Arc::clone(&flight));
                Step::Lead(flight)
            });
            first = false;
            match step {
                Step::Hit(v) => return Ok(v),
                Step::Wait(flight) => {
                    if let Some(v) = flight.wait() {
                        return Ok(v);
                    }
                    // The leader gave up: start over (maybe as the leader).
                }
                Step::Lead(flight) => {
                    let mut guard = Abandon {
                        map,
                        hash,
                        flight: &flight,
                        armed: true,
                    };
                    // On Err or panic the guard unregisters and wakes the waiters.
                    let value = init()?;
                    let mut out = Evictions::new();
                    // A refused entry (overweight) comes back in the error, dropped here
                    // once the lock is released; `out` is then empty.
                    let _ = map.with_shard(hash, |s| {
                        if s.extra.unregister(&flight) {
                            // A write of this key (or a clear) came after the load
                            // began: it stands, and the loaded value is not stored.
                            return Ok(());
                        }
                        let ttl = self.inner.default_ttl;
                        insert_counted(s, hash, key, value.clone(), ttl, &mut out)
                    });
                    // Unregistered: no thread can take the slot any more, so the count
                    // is the leader's plus the waiters'.
                    let shared = (Arc::strong_count(&flight) > 1).then(|| value.clone());
                    guard.armed = false;
                    if let Some(v) = shared {
                        flight.finish(Some(v));
                    }
                    self.report(&out);
                    return Ok(value);
                }
            }
        }
    }

    /// The time `key` has left: `None` if absent or expired, `Some(None)` if it has no
    /// deadline.
    ///
    /// ```
    /// use polycache::Cache;
    /// let cache = Cache::<u8, u8>::builder(2).build().unwrap();
    /// cache.insert(1, 1).unwrap();
    /// assert_eq!(cache.ttl(&1), Some(None));
    /// assert_eq!(cache.ttl(&2), None);
    /// ```
    pub fn ttl<Q>(&self, key: &Q) -> Option<Option<Duration>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.inner.map.selector().hash(key);
        self.inner
            .map
            .read_shard(hash, |s| s.policy.ttl_hashed(hash, key))
    }

    /// Sets (`Some(ttl)`: it expires `ttl` from now) or removes (`None`: it lives until
    /// evicted) the TTL of a live `key`, keeping its value and its place in the policy
    /// (Redis's `PEXPIRE` and `PERSIST`). `Ok(false)` if the key is absent or expired;
    /// a zero TTL is [`TtlError::Zero`] (whether or not the key is there) and one past
    /// the clock's range [`TtlError::Overflow`]; the entry then keeps the deadline it
    /// had.
    ///
    /// ```
    /// use std::time::Duration;
    /// use polycache::{Cache, ManualClock};
    /// let clock = ManualClock::new();
    /// let cache = Cache::<u8, u8>::builder(4).clock(clock.clone()).build().unwrap();
    /// cache.insert(1, 1).unwrap();
    /// assert_eq!(cache.set_ttl(&1, Some(Duration::from_secs(1))), Ok(true));
    /// let left = cache.ttl(&1).unwrap().unwrap(); // rounded up to the clock's tick
    /// assert!(left >= Duration::from_secs(1) && left < Duration::from_millis(1001));
    /// assert_eq!(cache.set_ttl(&1, None), Ok(true)); // persist
    /// clock.advance(Duration::from_secs(2));
    /// assert_eq!(cache.get(&1), Some(1));
    /// assert_eq!(cache.set_ttl(&2, None), Ok(false));
    /// ```
    pub fn set_ttl<Q>(&self, key: &Q, ttl: Option<Duration>) -> Result<bool, TtlError>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.inner.map.selector().hash(key);
        self.inner
            .map
            .with_shard(hash, |s| s.policy.set_ttl_hashed(hash, key, ttl))
    }

    /// Number of entries stored, summed shard by shard (expired entries not yet
    /// reclaimed included).
    ///
    /// ```
    /// use polycache::Cache;
    /// let cache = Cache::<u8, u8>::builder(2).build().unwrap();
    /// cache.insert(1, 1).unwrap();
    /// assert_eq!(cache.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.inner.map.len()
    }

    /// `true` when nothing is stored.
    ///
    /// ```
    /// use polycache::Cache;
    /// assert!(Cache::<u8, u8>::builder(2).build().unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.inner.map.is_empty()
    }

    /// Total weight stored, summed shard by shard; at most [`Cache::capacity`].
    ///
    /// ```
    /// use polycache::Cache;
    /// let cache = Cache::<u8, String>::builder(100)
    ///     .weigher(|_: &u8, v: &String| v.len() as u64)
    ///     .build()
    ///     .unwrap();
    /// cache.insert(1, "four".into()).unwrap();
    /// assert_eq!(cache.weight(), 4);
    /// ```
    pub fn weight(&self) -> u64 {
        self.inner.map.weight()
    }

    /// The weight budget.
    ///
    /// ```
    /// use polycache::Cache;
    /// assert_eq!(Cache::<u8, u8>::builder(7).build().unwrap().capacity(), 7);
    /// ```
    pub fn capacity(&self) -> u64 {
        self.inner.map.capacity()
    }

    /// The heaviest entry the cache always takes: its smallest shard's guaranteed
    /// capacity ([`Sharded::max_entry_weight`]). A heavier one is refused with
    /// [`InsertError::Overweight`] unless its shard has borrowed enough room from the
    /// reserve.
    ///
    /// ```
    /// use polycache::Cache;
    /// let cache = Cache::<u32, u32>::builder(4096).shards(4).build().unwrap();
    /// // (4096 less a reserve of 256) / 4
    /// assert_eq!(cache.max_entry_weight(), 960);
    /// ```
    pub fn max_entry_weight(&self) -> u64 {
        self.inner.map.max_entry_weight()
    }

    /// The number of shards.
    ///
    /// ```
    /// use polycache::Cache;
    /// assert_eq!(Cache::<u8, u8>::builder(7).build().unwrap().shard_count(), 1);
    /// ```
    pub fn shard_count(&self) -> usize {
        self.inner.map.shard_count()
    }

    /// The hasher and router of this cache.
    ///
    /// ```
    /// use polycache::Cache;
    /// let cache = Cache::<u8, u8>::builder(4096).shards(4).build().unwrap();
    /// assert_eq!(cache.selector().shards(), 4);
    /// ```
    pub fn selector(&self) -> &ShardSelector {
        self.inner.map.selector()
    }

    /// Removes every entry, shard by shard; the listener hears of each (`Removed`, or
    /// `Expired` for one whose deadline had passed). A load running meanwhile is
    /// superseded (see [`Cache::get_or_insert_with`]).
    ///
    /// ```
    /// use polycache::Cache;
    /// let cache = Cache::<u8, u8>::builder(4).build().unwrap();
    /// cache.insert(1, 1).unwrap();
    /// cache.clear();
    /// assert!(cache.is_empty());
    /// ```
    pub fn clear(&self) {
        self.inner.map.retain_in(
            |_, _| false,
            |flights, _| flights.supersede_all(),
            |out| self.report(&out),
        );
    }

    /// Keeps only the entries for which `keep(key, value)` is `true`, shard by shard;
    /// the listener hears of the others after each shard's lock is released. Unlike
    /// [`Cache::remove`] and [`Cache::clear`], it supersedes no load running meanwhile
    /// (the value being loaded is not in the cache for `keep` to judge), so a load
    /// that began before a `retain` used as an invalidation may store its value after
    /// it. `keep` runs under the shard lock: do not call back into the cache from it.
    ///
    /// ```
    /// use polycache::Cache;
    /// let cache = Cache::<u8, u8>::builder(10).build().unwrap();
    /// for k in 0..6 { cache.insert(k, k).unwrap(); }
    /// cache.retain(|k, v| { *v += 1; k % 3 == 0 });
    /// let mut left: Vec<_> = cache.iter().collect();
    /// left.sort();
    /// assert_eq!(left, [(0, 1), (3, 4)]);
    /// ```
    pub fn retain<F>(&self, keep: F)
    where
        F: FnMut(&K, &mut V) -> bool,
    {
        self.inner.map.retain(keep, |out| self.report(&out));
    }

    /// Reclaims every expired entry now (writes also reclaim them, a shard at a time);
    /// the listener hears of each (`Expired`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use polycache::{Cache, ManualClock};
    /// let clock = ManualClock::new();
    /// let cache = Cache::<u8, u8>::builder(4).clock(clock.clone()).build().unwrap();
    /// cache.insert_with_ttl(1, 1, Duration::from_secs(1)).unwrap();
    /// clock.advance(Duration::from_secs(2));
    /// assert_eq!(cache.get(&1), None);
    /// assert_eq!(cache.len(), 1); // expired, not yet reclaimed
    /// cache.purge_expired();
    /// assert_eq!(cache.len(), 0);
    /// assert_eq!(cache.stats().expired, 1);
    /// ```
    pub fn purge_expired(&self) {
        self.inner.map.purge_expired(|out| self.report(&out));
    }

    /// Iterates over copies of the live entries, one shard at a time: each shard is
    /// copied under its lock and yielded after it is released, so the iteration is not
    /// one atomic snapshot while other threads write, and never holds a lock while the
    /// caller runs. (So it may yield more entries than the capacity while others write:
    /// a shard copied before it gave room back to the reserve and one copied after it
    /// borrowed that room. [`Cache::len`] does not: it retries such a count.)
    ///
    /// ```
    /// use polycache::Cache;
    /// let cache = Cache::<u32, u32>::builder(4096).shards(4).build().unwrap();
    /// for k in 0..100 { cache.insert(k, k * k).unwrap(); }
    /// let mut all: Vec<_> = cache.iter().collect();
    /// all.sort();
    /// assert_eq!(all.len(), 100);
    /// assert_eq!(all[9], (9, 81));
    /// ```
    pub fn iter(&self) -> Iter<'_, K, V, P>
    where
        K: Clone,
        V: Clone,
    {
        Iter {
            cache: self,
            next_shard: 0,
            current: Vec::new().into_iter(),
        }
    }

    /// The hit, miss, insert and eviction counters, summed shard by shard.
    ///
    /// ```
    /// use polycache::Cache;
    /// let cache = Cache::<u8, u8>::builder(1).build().unwrap();
    /// cache.insert(1, 1).unwrap();
    /// cache.insert(2, 2).unwrap();
    /// assert_eq!(cache.get(&1), None);
    /// let s = cache.stats();
    /// assert_eq!((s.inserts, s.evicted, s.misses), (2, 1, 1));
    /// ```
    pub fn stats(&self) -> CacheStats {
        self.inner.map.stats()
    }

    /// Checks every shard's invariants, one lock at a time (see [`Sharded::validate`]).
    /// O(n); for tests and fuzzing.
    ///
    /// ```
    /// use polycache::Cache;
    /// let cache = Cache::<u8, u8>::builder(4).build().unwrap();
    /// cache.insert(1, 1).unwrap();
    /// assert_eq!(cache.validate(), Ok(()));
    /// ```
    pub fn validate(&self) -> Result<(), String> {
        self.inner.map.validate()
    }

    /// Number of loads ([`Cache::get_or_insert_with`]) running now, summed shard by
    /// shard.
    ///
    /// ```
    /// use polycache::Cache;
    /// let cache = Cache::<u8, u8>::builder(4).build().unwrap();
    /// assert_eq!(cache.loads_in_flight(), 0);
    /// ```
    pub fn loads_in_flight(&self) -> usize {
        (0..self.shard_count())
            .map(|i| self.inner.map.with_shard_at(i, |s| s.extra.len()))
            .sum()
    }
}

/// Iterator over copies of a [`Cache`]'s live entries, shard by shard; see
/// [`Cache::iter`].
pub struct Iter<'a, K, V, P> {
    cache: &'a Cache<K, V, P>,
    next_shard: usize,
    current: std::vec::IntoIter<(K, V)>,
}

impl<K, V, P> Iterator for Iter<'_, K, V, P>
where
    K: Hash + Eq + Clone,
    V: Clone,
    P: Policy<K, V>,
{
    type Item = (K, V);

    fn next(&mut self) -> Option<(K, V)> {
        loop {
            if let Some(item) = self.current.next() {
                return Some(item);
            }
            let shard = self.cache.inner.map.snapshot_shard(self.next_shard)?;
            self.next_shard += 1;
            self.current = shard.into_iter();
        }
    }
}

impl<K, V, P> std::fmt::Debug for Iter<'_, K, V, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iter")
            .field("next_shard", &self.next_shard)
            .finish_non_exhaustive()
    }
}
