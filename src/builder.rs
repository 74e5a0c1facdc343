//! [`CacheBuilder`]: how a [`Cache`] is configured, and [`MakePolicy`], how each shard's
//! policy is made.

use std::hash::Hash;
use std::marker::PhantomData;
use std::time::Duration;

use polycache_policies::{
    Clock, ConfigError, Core, EvictionCause, LruOrder, Order, Policy, SystemClock, UnitWeigher,
    Weigher,
};

use crate::cache::{Cache, Listener};
use crate::error::BuildError;
use crate::selector::{ShardSelector, seeded_hasher};
use crate::sharded::{Sharded, shard_count_for};

/// Makes one shard's policy, given the shard's capacity and the hasher it must use (a
/// clone of the cache's, so that the cache hashes each key once).
///
/// Implemented by [`CoreFactory`] (the built-in policies, configured through the
/// builder's `order`, `weigher` and `clock`) and by [`FnFactory`] (any closure, for a
/// user's own [`Policy`]).
pub trait MakePolicy<K, V> {
    /// The policy made.
    type Policy: Policy<K, V>;

    /// Makes a policy of weight budget `capacity` whose table uses `hasher`.
    fn make(
        &mut self,
        capacity: u64,
        hasher: ahash::RandomState,
    ) -> Result<Self::Policy, ConfigError>;
}

/// Makes a built-in policy ([`Core`] with order `O`, weigher `W` and clock `C`) per
/// shard. Each shard gets clones of the order, weigher and clock.
///
/// ```
/// use polycache::{Cache, Lfu};
/// use polycache::policies::LfuOrder;
/// let cache: Cache<u32, u32, Lfu<u32, u32>> =
///     Cache::builder(100).order(LfuOrder::default()).build().unwrap();
/// cache.insert(1, 1).unwrap();
/// ```
#[derive(Clone, Debug, Default)]
pub struct CoreFactory<O, W, C> {
    order: O,
    weigher: W,
    clock: C,
}

impl<K, V, O, W, C> MakePolicy<K, V> for CoreFactory<O, W, C>
where
    K: Hash + Eq,
    O: Order<K, V> + Clone,
    W: Weigher<K, V> + Clone,
    C: Clock,
{
    type Policy = Core<K, V, O, W, ahash::RandomState, C>;

    fn make(
        &mut self,
        capacity: u64,
        hasher: ahash::RandomState,
    ) -> Result<Self::Policy, ConfigError> {
        Core::<K, V, LruOrder>::builder(capacity)
            .order(self.order.clone())
            .weigher(self.weigher.clone())
            .hasher(hasher)
            .clock(self.clock.clone())
            .build()
    }
}

/// Makes each shard's policy with a closure `(capacity, hasher) -> Result<P, _>`; see
/// [`CacheBuilder::policy_factory`].
#[derive(Clone, Debug)]
pub struct FnFactory<F>(F);

impl<K, V, P, F> MakePolicy<K, V> for FnFactory<F>
where
    P: Policy<K, V>,
    F: FnMut(u64, ahash::RandomState) -> Result<P, ConfigError>,
{
    type Policy = P;

    fn make(&mut self, capacity: u64, hasher: ahash::RandomState) -> Result<P, ConfigError> {
        (self.0)(capacity, hasher)
    }
}

/// Configures and builds a [`Cache`]. Start with [`Cache::builder`].
///
/// ```
/// use std::time::Duration;
/// use polycache::{Cache, ManualClock};
/// let clock = ManualClock::new();
/// let cache = Cache::<String, Vec<u8>>::builder(1 << 20)
///     .weigher(|k: &String, v: &Vec<u8>| (k.len() + v.len()) as u64)
///     .clock(clock.clone())
///     .default_ttl(Duration::from_secs(60))
///     .shards(4)
///     .seed(7)
///     .eviction_listener(|_k: &String, _v: &Vec<u8>, _cause| {})
///     .build()
///     .unwrap();
/// cache.insert("a".into(), vec![0; 10]).unwrap();
/// assert_eq!(cache.weight(), 11);
/// clock.advance(Duration::from_secs(61));
/// assert_eq!(cache.get("a"), None);
/// ```
#[must_use]
pub struct CacheBuilder<K, V, M = CoreFactory<LruOrder, UnitWeigher, SystemClock>> {
    capacity: u64,
    make: M,
    shards: Option<usize>,
    parallelism: Option<usize>,
    hasher: Option<ahash::RandomState>,
    default_ttl: Option<Duration>,
    listener: Option<Listener<K, V>>,
    count_hits: bool,
    _kv: PhantomData<fn(K, V)>,
}

impl<K, V> CacheBuilder<K, V> {
    pub(crate) fn new(capacity: u64) -> Self {
        CacheBuilder {
            capacity,
            make: CoreFactory {
                order: LruOrder::default(),
                weigher: UnitWeigher,
                clock: SystemClock::new(),
            },
            shards: None,
            parallelism: None,
            hasher: None,
            default_ttl: None,
            listener: None,
            count_hits: true,
            _kv: PhantomData,
        }
    }
}

impl<K, V, M> CacheBuilder<K, V, M> {
    fn map_make<M2>(self, f: impl FnOnce(M) -> M2) -> CacheBuilder<K, V, M2> {
        CacheBuilder {
            capacity: self.capacity,
            make: f(self.make),
            shards: self.shards,
            parallelism: self.parallelism,
            hasher: self.hasher,
            default_ttl: self.default_ttl,
            listener: self.listener,
            count_hits: self.count_hits,
            _kv: PhantomData,
        }
    }

    /// Whether `get` counts hits and misses in [`Cache::stats`](crate::Cache::stats)
    /// (default `true`). With a policy whose hits share the shard lock (`S3Fifo`), each
    /// count is an atomic increment, about 15% of a warm hit on this machine; turn it
    /// off when nobody reads `hits` and `misses` (the other counters stay).
    ///
    /// ```
    /// use polycache::Cache;
    /// use polycache::policies::S3FifoOrder;
    /// let cache = Cache::<u8, u8>::builder(8)
    ///     .order(S3FifoOrder::default())
    ///     .count_hits(false)
    ///     .build()
    ///     .unwrap();
    /// cache.insert(1, 1).unwrap();
    /// assert_eq!(cache.get(&1), Some(1));
    /// assert_eq!((cache.stats().hits, cache.stats().inserts), (0, 1));
    /// ```
    pub fn count_hits(mut self, on: bool) -> Self {
        self.count_hits = on;
        self
    }

    /// Uses exactly `shards` shards (a power of two, at most the capacity) instead of
    /// the automatic rule ([`shard_count_for`]).
    ///
    /// ```
    /// use polycache::Cache;
    /// let cache = Cache::<u8, u8>::builder(64).shards(8).build().unwrap();
    /// assert_eq!(cache.shard_count(), 8);
    /// ```
    pub fn shards(mut self, shards: usize) -> Self {
        self.shards = Some(shards);
        self
    }

    /// The core count the automatic shard rule assumes (default: the machine's
    /// available parallelism).
    ///
    /// ```
    /// use polycache::Cache;
    /// let cache = Cache::<u8, u8>::builder(100_000).parallelism(2).build().unwrap();
    /// assert_eq!(cache.shard_count(), 8);
    /// ```
    pub fn parallelism(mut self, cores: usize) -> Self {
        self.parallelism = Some(cores);
        self
    }

    /// Seeds the hasher from `seed`: same seed, same routing (for tests). The default
    /// is a random seed per cache.
    ///
    /// ```
    /// use polycache::Cache;
    /// let a = Cache::<u8, u8>::builder(4096).shards(4).seed(1).build().unwrap();
    /// let b = Cache::<u8, u8>::builder(4096).shards(4).seed(1).build().unwrap();
    /// assert_eq!(a.selector().hash(&9u8), b.selector().hash(&9u8));
    /// ```
    pub fn seed(mut self, seed: u64) -> Self {
        self.hasher = Some(seeded_hasher(seed));
        self
    }

    /// Uses `hasher` for routing and for every shard's table.
    ///
    /// ```
    /// use polycache::Cache;
    /// let cache = Cache::<u8, u8>::builder(8)
    ///     .hasher(ahash::RandomState::with_seeds(1, 2, 3, 4))
    ///     .build()
    ///     .unwrap();
    /// # let _ = cache;
    /// ```
    pub fn hasher(mut self, hasher: ahash::RandomState) -> Self {
        self.hasher = Some(hasher);
        self
    }

    /// Every write without an explicit TTL ([`Cache::insert`],
    /// [`Cache::get_or_insert_with`]) expires `ttl` after it. A zero `ttl` is refused
    /// by [`CacheBuilder::build`] with [`BuildError::ZeroTtl`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use polycache::Cache;
    /// let cache = Cache::<u8, u8>::builder(8).default_ttl(Duration::from_secs(5)).build().unwrap();
    /// cache.insert(1, 1).unwrap();
    /// assert!(cache.ttl(&1).unwrap().unwrap() <= Duration::from_secs(5));
    /// ```
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.default_ttl = Some(ttl);
        self
    }

    /// Calls `listener(key, value, cause)` for every entry that leaves the cache:
    /// pushed out ([`EvictionCause::Capacity`]), reclaimed after its deadline
    /// (`Expired`), overwritten (`Replaced`: the old value, with the key), or removed
    /// (`Removed`, by `remove`, `retain` or `clear`). It is never called while a shard
    /// lock is held, so it may call back into the cache; it runs on the thread whose
    /// operation caused the eviction.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use polycache::{Cache, EvictionCause};
    /// let log = Arc::new(Mutex::new(Vec::new()));
    /// let sink = log.clone();
    /// let cache = Cache::<u8, u8>::builder(1)
    ///     .eviction_listener(move |k: &u8, v: &u8, cause| sink.lock().unwrap().push((*k, *v, cause)))
    ///     .build()
    ///     .unwrap();
    /// cache.insert(1, 10).unwrap();
    /// cache.insert(2, 20).unwrap();
    /// assert_eq!(*log.lock().unwrap(), [(1, 10, EvictionCause::Capacity)]);
    /// ```
    pub fn eviction_listener<F>(mut self, listener: F) -> Self
    where
        F: Fn(&K, &V, EvictionCause) + Send + Sync + 'static,
    {
        self.listener = Some(Box::new(listener));
        self
    }

    /// Makes each shard's policy with `make(shard_capacity, hasher)`: any
    /// [`Policy`], including a user's. The policy must have exactly that capacity and
    /// hash with that hasher.
    ///
    /// ```
    /// use polycache::{Cache, Ttl};
    /// let cache: Cache<u32, u32, Ttl<u32, u32>> = Cache::builder(10)
    ///     .policy_factory(|cap, hasher| Ttl::builder(cap).hasher(hasher).build())
    ///     .build()
    ///     .unwrap();
    /// cache.insert(1, 2).unwrap();
    /// assert_eq!(cache.get(&1), Some(2));
    /// ```
    pub fn policy_factory<P, F>(self, make: F) -> CacheBuilder<K, V, FnFactory<F>>
    where
        P: Policy<K, V>,
        F: FnMut(u64, ahash::RandomState) -> Result<P, ConfigError>,
    {
        self.map_make(|_| FnFactory(make))
    }

    /// Builds the cache.
    ///
    /// # Errors
    ///
    /// [`BuildError::ZeroCapacity`], [`BuildError::ShardCount`] (zero or not a power of
    /// two), [`BuildError::TooManyShards`], [`BuildError::CapacityBelowShards`],
    /// [`BuildError::TtlOverflow`] for a default TTL past the clock's range,
    /// [`BuildError::ZeroTtl`] for a zero one, or the policy's own refusal.
    ///
    /// ```
    /// use std::time::Duration;
    /// use polycache::{BuildError, Cache};
    /// assert_eq!(Cache::<u8, u8>::builder(8).shards(0).build().unwrap_err(), BuildError::ShardCount(0));
    /// assert_eq!(
    ///     Cache::<u8, u8>::builder(8).default_ttl(Duration::MAX).build().unwrap_err(),
    ///     BuildError::TtlOverflow(Duration::MAX)
    /// );
    /// assert_eq!(
    ///     Cache::<u8, u8>::builder(8).default_ttl(Duration::ZERO).build().unwrap_err(),
    ///     BuildError::ZeroTtl
    /// );
    /// ```
    pub fn build(mut self) -> Result<Cache<K, V, M::Policy>, BuildError>
    where
        K: Hash + Eq,
        M: MakePolicy<K, V>,
    {
        if self.capacity == 0 {
            return Err(BuildError::ZeroCapacity);
        }
        if let Some(ttl) = self.default_ttl {
            if ttl.is_zero() {
                return Err(BuildError::ZeroTtl);
            }
            if u64::try_from(ttl.as_nanos()).is_err() {
                return Err(BuildError::TtlOverflow(ttl));
            }
        }
        let shards = match self.shards {
            Some(n) => n,
            None => {
                let cores = self
                    .parallelism
                    .unwrap_or_else(crate::sharded::available_cores);
                shard_count_for(self.capacity, cores)
            }
        };
        let hasher = self.hasher.take().unwrap_or_default();
        let selector = ShardSelector::with_hasher(shards, hasher)?;
        let make = &mut self.make;
        let map = Sharded::new(self.capacity, selector, |cap, h| make.make(cap, h))?
            .count_hits(self.count_hits);
        Ok(Cache::from_parts(map, self.default_ttl, self.listener))
    }
}

impl<K, V, O, W, C> CacheBuilder<K, V, CoreFactory<O, W, C>> {
    /// Uses eviction order `o` (for example `LfuOrder::default()`); each shard gets a
    /// clone.
    ///
    /// ```
    /// use polycache::{Cache, Ttl};
    /// use polycache::policies::TtlOrder;
    /// let cache: Cache<u8, u8, Ttl<u8, u8>> = Cache::builder(4).order(TtlOrder::default()).build().unwrap();
    /// # let _ = cache;
    /// ```
    pub fn order<O2>(self, order: O2) -> CacheBuilder<K, V, CoreFactory<O2, W, C>> {
        self.map_make(|m| CoreFactory {
            order,
            weigher: m.weigher,
            clock: m.clock,
        })
    }

    /// Weighs entries with `weigher` (capacity becomes a budget in its unit). The
    /// largest entry a cache always takes is its smallest shard's guaranteed capacity
    /// ([`Cache::max_entry_weight`](crate::Cache::max_entry_weight)).
    ///
    /// ```
    /// use polycache::{Cache, InsertError};
    /// let cache = Cache::<u8, String>::builder(4)
    ///     .weigher(|_: &u8, v: &String| v.len() as u64)
    ///     .build()
    ///     .unwrap();
    /// let err = cache.insert(1, "too long".into()).unwrap_err();
    /// assert!(matches!(err, InsertError::Overweight { weight: 8, capacity: 4, .. }));
    /// ```
    pub fn weigher<W2>(self, weigher: W2) -> CacheBuilder<K, V, CoreFactory<O, W2, C>>
    where
        W2: Weigher<K, V> + Clone,
    {
        self.map_make(|m| CoreFactory {
            order: m.order,
            weigher,
            clock: m.clock,
        })
    }

    /// Reads time from `clock` (a [`ManualClock`](crate::ManualClock) in tests); every
    /// shard gets a clone.
    ///
    /// ```
    /// use polycache::{Cache, ManualClock};
    /// let cache = Cache::<u8, u8>::builder(4).clock(ManualClock::new()).build().unwrap();
    /// # let _ = cache;
    /// ```
    pub fn clock<C2: Clock>(self, clock: C2) -> CacheBuilder<K, V, CoreFactory<O, W, C2>> {
        self.map_make(|m| CoreFactory {
            order: m.order,
            weigher: m.weigher,
            clock,
        })
    }
}
