//! The semantic cache: values found by the meaning of a question, not its spelling.
//!
//! A [`SemanticCache`] stores values under keys, like any cache, and optionally with an
//! *embedding*: a vector describing what the value answers. A search with a query
//! vector and a cosine threshold returns the best live entry whose embedding is at
//! least that similar ([`SemanticCache::semantic_search`]), the best `k`
//! ([`SemanticCache::semantic_search_top_k`]), or the best entries whose opaque
//! governance metadata a caller's predicate approves
//! ([`SemanticCache::semantic_search_approved`]). Entries may belong to a *scope*
//! (tenant, namespace): a search in one scope never scores another's vectors.
//!
//! ```
//! use std::time::Duration;
//! use polycache::semantic::{Insert, Search, SemanticCache};
//!
//! let cache = SemanticCache::<&str, &str>::builder(1000).build().unwrap();
//! cache.insert_semantic("q1", "Paris", &[0.9, 0.1, 0.0]).unwrap();
//! cache
//!     .insert_semantic_with(
//!         "q2",
//!         "Berlin",
//!         &[0.1, 0.9, 0.0],
//!         &Insert::new().scope("tenant-a").ttl(Duration::from_secs(60)).metadata(*b"public"),
//!     )
//!     .unwrap();
//!
//! let hit = cache.semantic_search(&[1.0, 0.1, 0.0], 0.95).unwrap().unwrap();
//! assert_eq!((hit.key, hit.value), ("q1", "Paris"));
//! assert!(hit.score >= 0.95);
//! // "q2" lives in scope "tenant-a": the default scope does not see it.
//! assert!(cache.semantic_search(&[0.1, 0.9, 0.0], 0.95).unwrap().is_none());
//! let hits = cache.search(&[0.1, 0.9, 0.0], &Search::new(0.95).scope("tenant-a")).unwrap();
//! assert_eq!(hits[0].metadata.as_deref(), Some(&b"public"[..]));
//!
//! // A plain write clears the embedding: the new value was never described by it.
//! cache.insert("q1", "Lyon").unwrap();
//! assert!(cache.semantic_search(&[1.0, 0.1, 0.0], 0.5).unwrap().is_none());
//! assert_eq!(cache.get("q1"), Some("Lyon"));
//! ```
//!
//! # Design
//!
//! The cache is a [`Sharded`] policy (LRU by default) whose values are [`Stored`]:
//! the value, and where its vector lives. Beside each shard's policy, under the same
//! lock, the shard keeps one dense slab of vectors per scope (`store`): rows of
//! `dimension` `f32`s in one `Vec`, removal by `swap_remove`, so a scan is one
//! sequential pass over contiguous memory with a vectorized kernel (`search`).
//! There is no approximate index: every search is an exact scan of the scope's rows.
//!
//! # Invariants
//!
//! - **One critical section**: a key's value, vector and metadata change together under
//!   its shard's lock. Every write reports what it pushed out (replaced, evicted,
//!   expired: the policy's [`Evictions`]), and their rows are removed
//!   before the lock is released: there are no ghost vectors.
//! - **A vector describes its value**: a plain write ([`SemanticCache::insert`]) replaces
//!   the entry with one that has no vector, so no search can return a value with a
//!   vector that did not describe it, nor the new value with the old vector's score.
//! - **Never expired**: a candidate is accepted only if the policy says it is live
//!   (its deadline not reached by the cache's clock), whether or not it was reclaimed.
//! - **Dimension**: fixed at construction ([`SemanticCacheBuilder::dimension`]) or by
//!   the first semantic write; other lengths are refused. Vectors are normalized on
//!   write, queries on search; bad input gets a [`SemanticError`].
//! - **Scopes are hard**: a search visits only its scope's slabs.
//! - **The query cache is never stale**: see the `query_cache` module notes below.
//! - **One lock at a time**: a search visits shards one by one, holding one lock; a
//!   predicate runs under no lock. A search is therefore not an atomic snapshot while
//!   other threads write: each entry it returns was live, with that value and vector,
//!   when its shard was scanned.
//! - **A row is returned only for its own entry**: a search takes a row's value only if
//!   the entry under the row's key points back at that row; any other row is skipped
//!   (in every build, never a panic under the lock) and reported by
//!   [`SemanticCache::validate`].
//!
//! # Panic safety
//!
//! A panic in user code leaves every shard consistent (entries and rows one to one),
//! and the shard lock is released as the panic goes on. Where user code runs under a
//! shard lock:
//!
//! - **The weigher, the key's `Eq` and `Hash`, a policy of one's own**, in a write
//!   ([`SemanticCache::insert_semantic_with`], [`SemanticCache::insert`]): the policy may
//!   already have pushed entries out (reclaimed expired ones, evicted, replaced, or
//!   shrunk for the reserve) when it calls them. A semantic write has also already
//!   added the row of its own entry (the entry must name its row). The write runs
//!   under `catch_unwind`: on a panic, the row of the new entry and the rows of what was
//!   pushed out are removed, those entries are counted in the statistics, and the panic
//!   is resumed. (A policy that panics *after* taking the new entry has broken its own
//!   invariants; [`Policy::validate`] reports that. So has a key whose `Hash` panics
//!   while the policy's table grows, which hashes every key: see the policy layer's
//!   panic-safety notes.)
//! - **The key's `Eq`** in a removal, a search's liveness and value look-ups, and
//!   `validate`: each runs before the only change (or changes nothing).
//! - **The key's and value's `Clone`** in a search: on copies, into the search's own
//!   list; the shard is only read.
//! - **`Drop`** of values: after the lock is released (what a write pushes out, a
//!   removal's value, [`SemanticCache::clear`]'s entries and rows). A key's `Drop` runs
//!   under the lock when its row is removed, once the slab is consistent again; a key
//!   whose `Drop` panics while a write removes *several* rows leaves the later rows as
//!   rows without entries, which searches skip and `validate` reports.
//! - **The clock** (`Clock::now_nanos`): read by the policy before it changes anything.
//! - **The key's `Hash`** for routing: before the lock is taken.
//! - **A search predicate** runs under no lock.
//!
//! # Scores
//!
//! A score is the cosine of the query and the entry's vector, as an `f32` dot product
//! of unit vectors; an entry matches when its score is `>= min_score`. Scores within
//! [`snap_window`]`(dimension)` (about `3e-6` at 384 dimensions) of `1` are reported as
//! exactly `1.0`, so an entry's own vector finds it at `min_score = 1.0`; scores below
//! `-1` are reported as `-1`. No other tolerance: with exact arithmetic the boundary is
//! exact. **Ties** (equal reported scores) go to the most recent semantic write.
//!
//! # The query cache
//!
//! Recent answers of [`SemanticCache::search`] (and the `semantic_search*` forms without
//! a predicate) are kept by exact query (scope, threshold, `k`, the query's bits). An
//! answer carries the generation of its scope's stripe, read before the scan, and the
//! earliest deadline of its hits. Every change to a scope's rows (a semantic write, a
//! plain write over a semantic entry, a removal, a reclaimed expiry, an eviction, a
//! clear) bumps its stripe while the shard lock is held; an answer is served only if
//! its generation is current and its earliest deadline has not come. Time alone can
//! only *remove* hits (by expiring them), which the deadline covers. Turn it off with
//! [`SemanticCacheBuilder::query_cache`]`(0)` or, at run time,
//! [`SemanticCache::set_query_cache_enabled`]. Predicate searches are never cached.

mod error;
mod query_cache;
mod search;
mod store;

use std::borrow::Borrow;
use std::fmt;
use std::hash::Hash;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Arc;
use std::time::Duration;

use polycache_policies::{
    Clock, ConfigError, Evicted, Evictions, InsertError, Lru, Policy, SystemClock, UnitWeigher,
};

use self::query_cache::{Answer, QueryCache, QueryKey};
use self::search::{Threshold, dot, normalize_into};
use self::store::{Row, SemRef, Slabs};
use crate::error::BuildError;
use crate::selector::ShardSelector;
use crate::sharded::{Shard, Sharded, insert_counted, shard_count_for};
use crate::sync::Mutex;
use crate::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

pub use self::error::SemanticError;
pub use self::query_cache::QueryCacheStats;
pub use self::search::{LANES, NORM_TOLERANCE, snap_window};

/// Generation stripes of the query cache: a scope's answers are invalidated by writes
/// to scopes of the same stripe.
pub const STRIPES: usize = 64;

/// Answers the query cache keeps unless told otherwise.
pub const DEFAULT_QUERY_CACHE: usize = 1024;

/// The scope of entries written without one, and of searches without one.
pub const DEFAULT_SCOPE: &str = "";

/// A value as the policy stores it: the value and, if it has one, where its vector is.
///
/// Only needed to name the policy type of a [`SemanticCache`] built with
/// [`SemanticCacheBuilder::build_with`] (for example to weigh entries).
///
/// ```
/// use polycache::semantic::{SemanticCache, Stored};
/// use polycache::{Lru, Policy};
/// let cache = SemanticCache::<u32, String>::builder(100)
///     .build_with(|cap, hasher| {
///         Lru::<u32, Stored<String>>::builder(cap)
///             .hasher(hasher)
///             .weigher(|_: &u32, s: &Stored<String>| 1 + s.value().len() as u64 / 64)
///             .build()
///     })
///     .unwrap();
/// cache.insert_semantic(1, "one".to_string(), &[1.0, 0.0]).unwrap();
/// assert!(cache.has_embedding(&1));
/// ```
#[derive(Debug)]
pub struct Stored<V> {
    value: V,
    sem: Option<SemRef>,
}

impl<V> Stored<V> {
    /// The value.
    ///
    /// ```
    /// # use polycache::semantic::SemanticCache;
    /// let cache = SemanticCache::<u8, u8>::builder(4).build().unwrap();
    /// cache.insert(1, 2).unwrap();
    /// assert_eq!(cache.get(&1), Some(2));
    /// ```
    pub fn value(&self) -> &V {
        &self.value
    }

    /// Whether the entry has a vector.
    ///
    /// ```
    /// # use polycache::semantic::SemanticCache;
    /// let cache = SemanticCache::<u8, u8>::builder(4).build().unwrap();
    /// cache.insert_semantic(1, 2, &[1.0]).unwrap();
    /// assert!(cache.has_embedding(&1));
    /// ```
    pub fn has_embedding(&self) -> bool {
        self.sem.is_some()
    }
}

/// The policy a [`SemanticCache`] uses unless built with
/// [`SemanticCacheBuilder::build_with`]: LRU over entries.
pub type DefaultPolicy<K, V, C = SystemClock> =
    Lru<K, Stored<V>, UnitWeigher, ahash::RandomState, C>;

/// One search result.
///
/// ```
/// use polycache::semantic::SemanticCache;
/// let cache = SemanticCache::<u8, &str>::builder(4).build().unwrap();
/// cache.insert_semantic(7, "seven", &[3.0, 4.0]).unwrap();
/// let hit = cache.semantic_search(&[0.6, 0.8], 0.99).unwrap().unwrap();
/// assert_eq!((hit.key, hit.value, hit.score, hit.metadata), (7, "seven", 1.0, None));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SemanticHit<K, V> {
    /// The entry's key.
    pub key: K,
    /// Its value.
    pub value: V,
    /// The cosine of the query and the entry's vector (see [the rule](self#scores)).
    pub score: f32,
    /// The governance metadata written with the entry, byte for byte.
    pub metadata: Option<Arc<[u8]>>,
}

/// Options of a semantic write: scope, TTL, governance metadata.
///
/// ```
/// use std::time::Duration;
/// use polycache::semantic::Insert;
/// let opts = Insert::new().scope("tenant-7").ttl(Duration::from_secs(30)).metadata(*b"acl=ops");
/// assert_eq!(opts.scope_name(), "tenant-7");
/// ```
#[derive(Clone, Debug, Default)]
pub struct Insert<'a> {
    scope: &'a str,
    ttl: Option<Duration>,
    metadata: Option<Arc<[u8]>>,
}

impl<'a> Insert<'a> {
    /// Default scope, no TTL, no metadata.
    ///
    /// ```
    /// # use polycache::semantic::{Insert, DEFAULT_SCOPE};
    /// assert_eq!(Insert::new().scope_name(), DEFAULT_SCOPE);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts the entry in scope `scope` ([`DEFAULT_SCOPE`], the empty string, by default).
    ///
    /// ```
    /// # use polycache::semantic::Insert;
    /// assert_eq!(Insert::new().scope("a").scope_name(), "a");
    /// ```
    #[must_use]
    pub fn scope(mut self, scope: &'a str) -> Self {
        self.scope = scope;
        self
    }

    /// The entry expires `ttl` from now.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use polycache::semantic::Insert;
    /// let _ = Insert::new().ttl(Duration::from_secs(1));
    /// ```
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Governance metadata: bytes the cache never reads, handed to search predicates and
    /// returned with hits.
    ///
    /// ```
    /// # use polycache::semantic::Insert;
    /// let _ = Insert::new().metadata(vec![1u8, 2, 3]);
    /// ```
    #[must_use]
    pub fn metadata(mut self, metadata: impl Into<Arc<[u8]>>) -> Self {
        self.metadata = Some(metadata.into());
        self
    }

    /// The scope these options name.
    ///
    /// ```
    /// # use polycache::semantic::Insert;
    /// assert_eq!(Insert::new().scope("x").scope_name(), "x");
    /// ```
    pub fn scope_name(&self) -> &'a str {
        self.scope
    }
}

/// What a search asks for: threshold, scope, how many hits.
///
/// ```
/// use polycache::semantic::Search;
/// let s = Search::new(0.8).scope("tenant-1").k(3);
/// assert_eq!((s.min_score(), s.scope_name(), s.limit()), (0.8, "tenant-1", 3));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Search<'a> {
    scope: &'a str,
    min_score: f32,
    k: usize,
}

impl<'a> Search<'a> {
    /// The best hit at or above `min_score` in the default scope.
    ///
    /// ```
    /// # use polycache::semantic::Search;
    /// assert_eq!(Search::new(0.5).limit(), 1);
    /// ```
    pub fn new(min_score: f32) -> Self {
        Search {
            scope: DEFAULT_SCOPE,
            min_score,
            k: 1,
        }
    }

    /// Searches scope `scope` only.
    ///
    /// ```
    /// # use polycache::semantic::Search;
    /// assert_eq!(Search::new(0.5).scope("t").scope_name(), "t");
    /// ```
    #[must_use]
    pub fn scope(mut self, scope: &'a str) -> Self {
        self.scope = scope;
        self
    }

    /// Returns up to `k` hits, best first (`k = 0` returns none).
    ///
    /// ```
    /// # use polycache::semantic::Search;
    /// assert_eq!(Search::new(0.5).k(4).limit(), 4);
    /// ```
    #[must_use]
    pub fn k(mut self, k: usize) -> Self {
        self.k = k;
        self
    }

    /// The threshold.
    ///
    /// ```
    /// # use polycache::semantic::Search;
    /// assert_eq!(Search::new(0.25).min_score(), 0.25);
    /// ```
    pub fn min_score(&self) -> f32 {
        self.min_score
    }

    /// The scope searched.
    ///
    /// ```
    /// # use polycache::semantic::{Search, DEFAULT_SCOPE};
    /// assert_eq!(Search::new(0.5).scope_name(), DEFAULT_SCOPE);
    /// ```
    pub fn scope_name(&self) -> &'a str {
        self.scope
    }

    /// The most hits returned.
    ///
    /// ```
    /// # use polycache::semantic::Search;
    /// assert_eq!(Search::new(0.5).k(2).limit(), 2);
    /// ```
    pub fn limit(&self) -> usize {
        self.k
    }
}

/// Configures and builds a [`SemanticCache`]; start with [`SemanticCache::builder`].
///
/// ```
/// use polycache::ManualClock;
/// use polycache::semantic::SemanticCache;
/// let cache = SemanticCache::<u64, String>::builder(10_000)
///     .dimension(384)
///     .shards(4)
///     .seed(1)
///     .clock(ManualClock::new())
///     .query_cache(256)
///     .build()
///     .unwrap();
/// assert_eq!(cache.dimension(), Some(384));
/// assert_eq!(cache.shard_count(), 4);
/// ```
#[must_use]
pub struct SemanticCacheBuilder<K, V, C = SystemClock> {
    capacity: u64,
    dimension: Option<usize>,
    shards: Option<usize>,
    seed: Option<u64>,
    clock: C,
    query_cache: usize,
    _kv: PhantomData<fn(K, V)>,
}

impl<K, V, C: Clock> SemanticCacheBuilder<K, V, C> {
    /// Fixes the dimension now (otherwise the first semantic write fixes it).
    ///
    /// ```
    /// # use polycache::semantic::{SemanticCache, SemanticError};
    /// let cache = SemanticCache::<u8, u8>::builder(4).dimension(3).build().unwrap();
    /// assert!(matches!(
    ///     cache.insert_semantic(1, 1, &[1.0]),
    ///     Err(SemanticError::DimensionMismatch { expected: 3, found: 1 })
    /// ));
    /// ```
    pub fn dimension(mut self, dimension: usize) -> Self {
        self.dimension = Some(dimension);
        self
    }

    /// The number of shards (a power of two); by default chosen from the capacity and
    /// the parallelism as for [`Sharded`].
    ///
    /// ```
    /// # use polycache::semantic::SemanticCache;
    /// let cache = SemanticCache::<u8, u8>::builder(64).shards(2).build().unwrap();
    /// assert_eq!(cache.shard_count(), 2);
    /// ```
    pub fn shards(mut self, shards: usize) -> Self {
        self.shards = Some(shards);
        self
    }

    /// Seeds the key hasher (reproducible routing, for tests).
    ///
    /// ```
    /// # use polycache::semantic::SemanticCache;
    /// let _ = SemanticCache::<u8, u8>::builder(4).seed(3).build().unwrap();
    /// ```
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Reads time from `clock` (a [`ManualClock`](crate::ManualClock) in tests).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use polycache::ManualClock;
    /// # use polycache::semantic::{Insert, SemanticCache};
    /// let clock = ManualClock::new();
    /// let cache = SemanticCache::<u8, u8>::builder(4).clock(clock.clone()).build().unwrap();
    /// let opts = Insert::new().ttl(Duration::from_secs(1));
    /// cache.insert_semantic_with(1, 1, &[1.0], &opts).unwrap();
    /// clock.advance(Duration::from_secs(2));
    /// assert!(cache.semantic_search(&[1.0], 0.0).unwrap().is_none());
    /// ```
    pub fn clock<C2: Clock>(self, clock: C2) -> SemanticCacheBuilder<K, V, C2> {
        SemanticCacheBuilder {
            capacity: self.capacity,
            dimension: self.dimension,
            shards: self.shards,
            seed: self.seed,
            clock,
            query_cache: self.query_cache,
            _kv: PhantomData,
        }
    }

    /// Keeps up to `answers` recent query results ([`DEFAULT_QUERY_CACHE`] by default);
    /// `0` turns the query cache off.
    ///
    /// ```
    /// # use polycache::semantic::SemanticCache;
    /// let cache = SemanticCache::<u8, u8>::builder(4).query_cache(0).build().unwrap();
    /// cache.insert_semantic(1, 1, &[1.0]).unwrap();
    /// cache.semantic_search(&[1.0], 0.5).unwrap();
    /// assert_eq!(cache.query_cache_stats().misses, 0);
    /// ```
    pub fn query_cache(mut self, answers: usize) -> Self {
        self.query_cache = answers;
        self
    }

    /// Builds the cache with the default policy (LRU over entries).
    ///
    /// ```
    /// # use polycache::BuildError;
    /// # use polycache::semantic::SemanticCache;
    /// assert_eq!(
    ///     SemanticCache::<u8, u8>::builder(0).build().unwrap_err(),
    ///     BuildError::ZeroCapacity
    /// );
    /// ```
    pub fn build(self) -> Result<SemanticCache<K, V, C>, BuildError>
    where
        K: Hash + Eq + Clone,
        V: Clone,
    {
        let clock = self.clock.clone();
        self.build_with(move |cap, hasher| {
            Lru::<K, Stored<V>>::builder(cap)
                .hasher(hasher)
                .clock(clock.clone())
                .build()
        })
    }

    /// Builds the cache with each shard's policy made by `make(shard_capacity, hasher)`,
    /// which must use that capacity, that hasher, and the builder's clock.
    ///
    /// ```
    /// use polycache::semantic::{SemanticCache, Stored};
    /// use polycache::Lfu;
    /// let cache = SemanticCache::<u8, u8>::builder(8)
    ///     .build_with(|cap, h| Lfu::<u8, Stored<u8>>::builder(cap).hasher(h).build())
    ///     .unwrap();
    /// cache.insert(1, 1).unwrap();
    /// ```
    pub fn build_with<P, F>(self, make: F) -> Result<SemanticCache<K, V, C, P>, BuildError>
    where
        K: Hash + Eq + Clone,
        V: Clone,
        P: Policy<K, Stored<V>>,
        F: FnMut(u64, ahash::RandomState) -> Result<P, ConfigError>,
    {
        if self.dimension == Some(0) {
            return Err(BuildError::Policy(ConfigError::Invalid {
                name: "dimension",
                reason: "must be greater than zero",
            }));
        }
        if self.capacity == 0 {
            return Err(BuildError::ZeroCapacity);
        }
        let shards = match self.shards {
            Some(n) => n,
            None => {
                let cores = crate::sharded::available_cores();
                shard_count_for(self.capacity, cores)
            }
        };
        let selector = match self.seed {
            Some(seed) => ShardSelector::with_seed(shards, seed)?,
            None => ShardSelector::new(shards)?,
        };
        let sharded = Sharded::new(self.capacity, selector, make)?;
        Ok(SemanticCache {
            inner: Arc::new(Inner {
                sharded,
                dim: AtomicUsize::new(self.dimension.unwrap_or(0)),
                seq: AtomicU64::new(1),
                generations: (0..STRIPES).map(|_| AtomicU64::new(0)).collect(),
                clock: self.clock,
                query_cache: QueryCache::new(self.query_cache).map(Mutex::new),
                query_cache_on: AtomicBool::new(true),
            }),
        })
    }
}

/// A concurrent, bounded cache of values with embeddings; see the [module docs](self)
/// for the design and the invariants.
///
/// Cloning gives another handle to the same cache.
///
/// ```
/// use polycache::semantic::SemanticCache;
/// let cache = SemanticCache::<String, String>::builder(100).build().unwrap();
/// let other = cache.clone();
/// other.insert_semantic("k".into(), "v".into(), &[0.0, 1.0]).unwrap();
/// assert_eq!(cache.len(), 1);
/// ```
pub struct SemanticCache<K, V, C = SystemClock, P = DefaultPolicy<K, V, C>> {
    inner: Arc<Inner<K, V, C, P>>,
}

struct Inner<K, V, C, P> {
    sharded: Sharded<K, Stored<V>, P, Slabs<K>>,
    /// The dimension, `0` until fixed.
    dim: AtomicUsize,
    /// The next semantic write's sequence number.
    seq: AtomicU64,
    generations: Box<[AtomicU64]>,
    clock: C,
    query_cache: Option<Mutex<QueryCache<K, V>>>,
    query_cache_on: AtomicBool,
}

impl<K, V, C, P> Clone for SemanticCache<K, V, C, P> {
    fn clone(&self) -> Self {
        SemanticCache {
            inner: self.inner.clone(),
        }
    }
}

impl<K, V, C, P> fmt::Debug for SemanticCache<K, V, C, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemanticCache")
            .field("dimension", &self.inner.dim.load(Ordering::Relaxed))
            .field("sharded", &self.inner.sharded)
            .finish_non_exhaustive()
    }
}

impl<K, V> SemanticCache<K, V> {
    /// A builder for a cache of `capacity` entries.
    ///
    /// ```
    /// # use polycache::semantic::SemanticCache;
    /// let cache = SemanticCache::<u8, u8>::builder(10).build().unwrap();
    /// assert_eq!(cache.capacity(), 10);
    /// ```
    pub fn builder(capacity: u64) -> SemanticCacheBuilder<K, V> {
        SemanticCacheBuilder {
            capacity,
            dimension: None,
            shards: None,
            seed: None,
            clock: SystemClock::new(),
            query_cache: DEFAULT_QUERY_CACHE,
            _kv: PhantomData,
        }
    }
}

/// The generation stripe of scope `name` (FNV-1a).
fn stripe_of(name: &str) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in name.as_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h >> 58) as usize % STRIPES
}

/// A candidate of a search, with what the hit needs.
struct Cand<K, V> {
    seq: u64,
    deadline: u64,
    hit: SemanticHit<K, V>,
}

/// `a` ranks before `b`: higher score, then newer write.
#[inline]
fn ranks_before(a: (f32, u64), b: (f32, u64)) -> bool {
    a.0 > b.0 || (a.0 == b.0 && a.1 > b.1)
}

/// The best `k` candidates so far, best first.
struct Top<K, V> {
    k: usize,
    items: Vec<Cand<K, V>>,
}

impl<K, V> Top<K, V> {
    #[inline]
    fn admits(&self, score: f32, seq: u64) -> bool {
        match self.items.last() {
            Some(last) if self.items.len() >= self.k => {
                ranks_before((score, seq), (last.hit.score, last.seq))
            }
            _ => true,
        }
    }

    /// The raw score a row needs to be considered.
    #[inline]
    fn gate(&self, thr: &Threshold) -> f32 {
        match self.items.last() {
            Some(last) if self.items.len() >= self.k => thr.gate_for(last.hit.score),
            _ => thr.scan,
        }
    }

    fn push(&mut self, c: Cand<K, V>) {
        let at = self
            .items
            .iter()
            .position(|x| ranks_before((c.hit.score, c.seq), (x.hit.score, x.seq)))
            .unwrap_or(self.items.len());
        self.items.insert(at, c);
        self.items.truncate(self.k);
    }
}

/// A candidate of a predicate search, before its value is fetched.
struct Pending {
    score: f32,
    seq: u64,
    shard: usize,
    at: SemRef,
    metadata: Option<Arc<[u8]>>,
}

/// Deadline in clock nanoseconds from a remaining TTL read at or after `now`.
#[inline]
fn deadline_of(now: u64, ttl: Option<Duration>) -> u64 {
    match ttl {
        None => u64::MAX,
        Some(left) => now.saturating_add(u64::try_from(left.as_nanos()).unwrap_or(u64::MAX)),
    }
}

fn insert_error<K, V>(e: InsertError<K, V>) -> SemanticError {
    match e {
        InsertError::TtlOverflow { ttl, .. } => SemanticError::TtlOverflow(ttl),
        InsertError::ZeroTtl { .. } => SemanticError::ZeroTtl,
        InsertError::Overweight {
            weight, capacity, ..
        } => SemanticError::Overweight { weight, capacity },
        // `InsertError` is non-exhaustive; a future refusal is reported as overweight
        // rather than a panic.
        _ => SemanticError::Overweight {
            weight: 0,
            capacity: 0,
        },
    }
}

impl<K, V, C, P> SemanticCache<K, V, C, P>
where
    K: Hash + Eq + Clone,
    V: Clone,
    C: Clock,
    P: Policy<K, Stored<V>>,
{
    /// Bumps the generation of `stripe` (under the shard lock of the change).
    #[inline]
    fn bump(&self, stripe: usize) {
        self.inner.generations[stripe].fetch_add(1, Ordering::AcqRel);
    }

    /// Removes the rows of entries that left, in the same critical section.
    fn unlink(&self, slabs: &mut Slabs<K>, out: &[Evicted<K, Stored<V>>]) {
        if out.iter().all(|e| e.value.sem.is_none()) {
            return;
        }
        let dim = self.inner.dim.load(Ordering::Acquire);
        for e in out {
            if let Some(at) = e.value.sem
                && let Some(stripe) = slabs.remove(at, dim)
            {
                self.bump(stripe);
            }
        }
    }

    /// Runs `write` on a locked shard: a write to the policy, which runs user code (the
    /// weigher, the key's `Eq`, a policy of one's own) after it may already have pushed
    /// entries out into `out`. If `write` unwinds, the shard is made consistent before
    /// the panic goes on: the rows of the entries it pushed out are removed (and those
    /// entries counted, as a returning write counts them), and so is `pushed`, the row
    /// added beforehand for the entry being written, which the policy did not take.
    fn unwind_safe<R>(
        &self,
        s: &mut Shard<P, Slabs<K>>,
        out: &mut Evictions<K, Stored<V>>,
        pushed: Option<SemRef>,
        write: impl FnOnce(&mut Shard<P, Slabs<K>>, &mut Evictions<K, Stored<V>>) -> R,
    ) -> R {
        let before = out.len();
        match catch_unwind(AssertUnwindSafe(|| write(s, out))) {
            Ok(r) => r,
            Err(panic) => {
                if let Some(at) = pushed {
                    let dim = self.inner.dim.load(Ordering::Acquire);
                    if let Some(stripe) = s.extra.remove(at, dim) {
                        self.bump(stripe);
                    }
                }
                s.stats.count_evictions(&out[before..]);
                self.unlink(&mut s.extra, &out[before..]);
                resume_unwind(panic)
            }
        }
    }

    /// Fixes the dimension to `n` if unset; refuses another.
    fn claim_dimension(&self, n: usize) -> Result<usize, SemanticError> {
        match self
            .inner
            .dim
            .compare_exchange(0, n, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => Ok(n),
            Err(d) if d == n => Ok(n),
            Err(d) => Err(SemanticError::DimensionMismatch {
                expected: d,
                found: n,
            }),
        }
    }

    /// Stores `value` under `key` with `embedding`, in the default scope, without TTL or
    /// metadata. Replaces whatever `key` held (value and vector).
    ///
    /// ```
    /// # use polycache::semantic::SemanticCache;
    /// let cache = SemanticCache::<&str, u32>::builder(8).build().unwrap();
    /// cache.insert_semantic("a", 1, &[1.0, 2.0, 2.0]).unwrap();
    /// assert_eq!(cache.dimension(), Some(3));
    /// assert_eq!(cache.semantic_search(&[1.0, 2.0, 2.0], 1.0).unwrap().unwrap().value, 1);
    /// ```
    pub fn insert_semantic(
        &self,
        key: K,
        value: V,
        embedding: &[f32],
    ) -> Result<(), SemanticError> {
        self.insert_semantic_with(key, value, embedding, &Insert::new())
    }

    /// Stores `value` under `key` with `embedding` and the options `opts` (scope, TTL,
    /// metadata). The embedding is normalized; the first semantic write fixes the
    /// dimension. On error nothing changed (except that a valid embedding of a first
    /// write fixes the dimension even if the entry is then refused).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use polycache::semantic::{Insert, Search, SemanticCache};
    /// let cache = SemanticCache::<u32, &str>::builder(8).build().unwrap();
    /// let opts = Insert::new().scope("t1").metadata(*b"ok");
    /// cache.insert_semantic_with(1, "one", &[0.0, 5.0], &opts).unwrap();
    /// let hits = cache.search(&[0.0, 1.0], &Search::new(0.9).scope("t1")).unwrap();
    /// assert_eq!(hits[0].key, 1);
    /// ```
    pub fn insert_semantic_with(
        &self,
        key: K,
        value: V,
        embedding: &[f32],
        opts: &Insert<'_>,
    ) -> Result<(), SemanticError> {
        let mut unit = Vec::with_capacity(embedding.len());
        normalize_into(embedding, &mut unit)?;
        self.claim_dimension(unit.len())?;
        let sharded = &self.inner.sharded;
        let hash = sharded.selector().hash(&key);
        let seq = self.inner.seq.fetch_add(1, Ordering::Relaxed);
        let row = Row {
            key: key.clone(),
            hash,
            id: 0,
            seq,
            meta: opts.metadata.clone(),
        };
        let stripe = stripe_of(opts.scope);
        // What leaves is dropped with `out`, after the lock is released.
        let mut out = Evictions::new();
        sharded.with_shard(hash, |s| {
            // The row goes in first (the entry must say where it is); if the policy
            // refuses the entry or unwinds, the row comes out again before the lock is
            // released.
            let at = s.extra.push(opts.scope, stripe, &unit, row);
            let stored = Stored {
                value,
                sem: Some(at),
            };
            let inserted = self.unwind_safe(s, &mut out, Some(at), |s, out| {
                insert_counted(s, hash, key, stored, opts.ttl, out)
            });
            match inserted {
                Ok(()) => {
                    self.unlink(&mut s.extra, &out);
                    self.bump(stripe);
                    Ok(())
                }
                Err(e) => {
                    s.extra.remove(at, unit.len());
                    // What a resize for the shard's reserve pushed out before the
                    // refusal (only a policy of one's own does).
                    self.unlink(&mut s.extra, &out);
                    Err(insert_error(e))
                }
            }
        })
    }

    fn insert_plain(&self, key: K, value: V, ttl: Option<Duration>) -> Result<(), SemanticError> {
        let sharded = &self.inner.sharded;
        let hash = sharded.selector().hash(&key);
        let stored = Stored { value, sem: None };
        // What leaves is dropped with `out`, after the lock is released.
        let mut out = Evictions::new();
        sharded.with_shard(hash, |s| {
            let inserted = self.unwind_safe(s, &mut out, None, |s, out| {
                insert_counted(s, hash, key, stored, ttl, out)
            });
            // Also on `Err`: see `insert_semantic`.
            self.unlink(&mut s.extra, &out);
            inserted.map_err(insert_error)
        })
    }

    /// A plain write: stores `value` under `key` *without* an embedding. If `key` had
    /// one, it is dropped in the same critical section: no search can find this value.
    ///
    /// ```
    /// # use polycache::semantic::SemanticCache;
    /// let cache = SemanticCache::<u8, &str>::builder(8).build().unwrap();
    /// cache.insert_semantic(1, "old", &[1.0, 0.0]).unwrap();
    /// cache.insert(1, "new").unwrap();
    /// assert!(!cache.has_embedding(&1));
    /// assert!(cache.semantic_search(&[1.0, 0.0], 0.0).unwrap().is_none());
    /// ```
    pub fn insert(&self, key: K, value: V) -> Result<(), SemanticError> {
        self.insert_plain(key, value, None)
    }

    /// A plain write that expires `ttl` from now (see [`SemanticCache::insert`]); a zero
    /// `ttl` is [`SemanticError::ZeroTtl`].
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use polycache::ManualClock;
    /// # use polycache::semantic::{SemanticCache, SemanticError};
    /// let clock = ManualClock::new();
    /// let cache = SemanticCache::<u8, u8>::builder(8).clock(clock.clone()).build().unwrap();
    /// cache.insert_with_ttl(1, 1, Duration::from_secs(1)).unwrap();
    /// clock.advance(Duration::from_secs(2));
    /// assert_eq!(cache.get(&1), None);
    /// let err = cache.insert_with_ttl(2, 2, Duration::ZERO).unwrap_err();
    /// assert!(matches!(err, SemanticError::ZeroTtl));
    /// ```
    pub fn insert_with_ttl(&self, key: K, value: V, ttl: Duration) -> Result<(), SemanticError> {
        self.insert_plain(key, value, Some(ttl))
    }

    /// The value of `key`, if live; records the access.
    ///
    /// ```
    /// # use polycache::semantic::SemanticCache;
    /// let cache = SemanticCache::<u8, u8>::builder(8).build().unwrap();
    /// cache.insert(1, 10).unwrap();
    /// assert_eq!(cache.get(&1), Some(10));
    /// assert_eq!(cache.get(&2), None);
    /// ```
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.inner.sharded.get_with(key, |s| s.value.clone())
    }

    /// A clone of the value of `key`, if live, without recording the access (no effect
    /// on the eviction order or the statistics).
    ///
    /// ```
    /// # use polycache::semantic::SemanticCache;
    /// let cache = SemanticCache::<u8, u8>::builder(2).shards(1).build().unwrap();
    /// cache.insert(1, 1).unwrap();
    /// cache.insert(2, 2).unwrap();
    /// assert_eq!(cache.peek(&1), Some(1)); // 1 stays least recent
    /// cache.insert(3, 3).unwrap();
    /// assert_eq!(cache.peek(&1), None);
    /// ```
    pub fn peek<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.inner.sharded.peek_with(key, |s| s.value.clone())
    }

    /// Whether a live entry for `key` is stored, with an embedding or not (without
    /// recording an access).
    ///
    /// ```
    /// # use polycache::semantic::SemanticCache;
    /// let cache = SemanticCache::<u8, u8>::builder(8).build().unwrap();
    /// cache.insert(1, 1).unwrap();
    /// assert!(cache.contains_key(&1));
    /// assert!(!cache.contains_key(&2));
    /// ```
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.inner.sharded.peek_with(key, |_| ()).is_some()
    }

    /// The time `key` has left: `None` if absent or expired, `Some(None)` if it has no
    /// deadline.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use polycache::ManualClock;
    /// # use polycache::semantic::{Insert, SemanticCache};
    /// let clock = ManualClock::new();
    /// let cache = SemanticCache::<u8, u8>::builder(8).clock(clock.clone()).build().unwrap();
    /// cache.insert(1, 1).unwrap();
    /// let opts = Insert::new().ttl(Duration::from_secs(10));
    /// cache.insert_semantic_with(2, 2, &[1.0], &opts).unwrap();
    /// clock.advance(Duration::from_secs(4));
    /// assert_eq!(cache.ttl(&1), Some(None));
    /// assert!(cache.ttl(&2).unwrap().unwrap() <= Duration::from_secs(6));
    /// assert_eq!(cache.ttl(&3), None);
    /// ```
    pub fn ttl<Q>(&self, key: &Q) -> Option<Option<Duration>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let sharded = &self.inner.sharded;
        let hash = sharded.selector().hash(key);
        sharded.read_shard(hash, |s| s.policy.ttl_hashed(hash, key))
    }

    /// Whether `key` is live and has an embedding.
    ///
    /// ```
    /// # use polycache::semantic::SemanticCache;
    /// let cache = SemanticCache::<u8, u8>::builder(8).build().unwrap();
    /// cache.insert(1, 10).unwrap();
    /// assert!(!cache.has_embedding(&1));
    /// ```
    pub fn has_embedding<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.inner.sharded.peek_with(key, |s| s.sem.is_some()) == Some(true)
    }

    /// Removes `key` (value, vector and metadata together); returns the value if it was
    /// live.
    ///
    /// ```
    /// # use polycache::semantic::SemanticCache;
    /// let cache = SemanticCache::<u8, u8>::builder(8).build().unwrap();
    /// cache.insert_semantic(1, 10, &[1.0]).unwrap();
    /// assert_eq!(cache.remove(&1), Some(10));
    /// assert_eq!(cache.embedded_len(), 0);
    /// ```
    pub fn remove<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let sharded = &self.inner.sharded;
        let hash = sharded.selector().hash(key);
        let gone = sharded.with_shard(hash, |s| {
            let gone = s.policy.remove_hashed(hash, key)?;
            s.stats.count_cause(gone.cause);
            if let Some(at) = gone.value.sem {
                let dim = self.inner.dim.load(Ordering::Acquire);
                if let Some(stripe) = s.extra.remove(at, dim) {
                    self.bump(stripe);
                }
            }
            Some(gone)
        })?;
        (gone.cause == crate::EvictionCause::Removed).then_some(gone.value.value)
    }

    /// Reclaims every expired entry now (they are never returned either way); each is
    /// counted as `expired` in [`SemanticCache::stats`].
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use polycache::ManualClock;
    /// # use polycache::semantic::{Insert, SemanticCache};
    /// let clock = ManualClock::new();
    /// let cache = SemanticCache::<u8, u8>::builder(8).clock(clock.clone()).build().unwrap();
    /// let opts = Insert::new().ttl(Duration::from_secs(1));
    /// cache.insert_semantic_with(1, 1, &[1.0], &opts).unwrap();
    /// clock.advance(Duration::from_secs(5));
    /// assert_eq!(cache.embedded_len(), 1); // not reclaimed yet, but never returned
    /// cache.purge_expired();
    /// assert_eq!(cache.embedded_len(), 0);
    /// ```
    pub fn purge_expired(&self) {
        // The rows go in the same critical section as their entries; what was
        // reclaimed is dropped after the lock is released.
        self.inner
            .sharded
            .purge_expired_in(|rows, out| self.unlink(rows, out), drop);
    }

    /// Removes everything (the dimension stays fixed). Counted in [`SemanticCache::stats`]
    /// as [`Cache::clear`](crate::Cache::clear) counts: expired entries as `expired`,
    /// the others as `removed`.
    ///
    /// ```
    /// # use polycache::semantic::SemanticCache;
    /// let cache = SemanticCache::<u8, u8>::builder(8).build().unwrap();
    /// cache.insert_semantic(1, 1, &[1.0]).unwrap();
    /// cache.clear();
    /// assert!(cache.is_empty());
    /// assert_eq!(cache.stats().removed, 1);
    /// ```
    pub fn clear(&self) {
        let sharded = &self.inner.sharded;
        for i in 0..sharded.shard_count() {
            // Not `Sharded::clear`: the rows must go in the same critical section as
            // their entries. Entries and rows are dropped after the lock is released.
            let gone = sharded.with_shard_at(i, |s| {
                let out = s.policy.retain(|_, _| false);
                s.stats.count_evictions(&out);
                let rows = s.extra.take();
                for stripe in 0..STRIPES {
                    self.bump(stripe);
                }
                (out, rows)
            });
            drop(gone);
        }
        if let Some(qc) = &self.inner.query_cache {
            qc.lock().clear();
        }
    }

    /// Entries stored (including expired ones not yet reclaimed).
    ///
    /// ```
    /// # use polycache::semantic::SemanticCache;
    /// let cache = SemanticCache::<u8, u8>::builder(8).build().unwrap();
    /// cache.insert(1, 1).unwrap();
    /// assert_eq!(cache.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.inner.sharded.len()
    }

    /// `true` when nothing is stored.
    ///
    /// ```
    /// # use polycache::semantic::SemanticCache;
    /// assert!(SemanticCache::<u8, u8>::builder(8).build().unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries with an embedding (including expired ones not yet reclaimed).
    ///
    /// ```
    /// # use polycache::semantic::SemanticCache;
    /// let cache = SemanticCache::<u8, u8>::builder(8).build().unwrap();
    /// cache.insert(1, 1).unwrap();
    /// cache.insert_semantic(2, 2, &[1.0]).unwrap();
    /// assert_eq!(cache.embedded_len(), 1);
    /// ```
    pub fn embedded_len(&self) -> usize {
        let sharded = &self.inner.sharded;
        (0..sharded.shard_count())
            .map(|i| sharded.with_shard_at(i, |s| s.extra.rows()))
            .sum()
    }

    /// The capacity (entries, or weight with a weighing policy).
    ///
    /// ```
    /// # use polycache::semantic::SemanticCache;
    /// assert_eq!(SemanticCache::<u8, u8>::builder(8).build().unwrap().capacity(), 8);
    /// ```
    pub fn capacity(&self) -> u64 {
        self.inner.sharded.capacity()
    }

    /// The number of shards.
    ///
    /// ```
    /// # use polycache::semantic::SemanticCache;
    /// assert_eq!(SemanticCache::<u8, u8>::builder(8).build().unwrap().shard_count(), 1);
    /// ```
    pub fn shard_count(&self) -> usize {
        self.inner.sharded.shard_count()
    }

    /// The dimension, once fixed.
    ///
    /// ```
    /// # use polycache::semantic::SemanticCache;
    /// let cache = SemanticCache::<u8, u8>::builder(8).build().unwrap();
    /// assert_eq!(cache.dimension(), None);
    /// cache.insert_semantic(1, 1, &[1.0, 1.0]).unwrap();
    /// assert_eq!(cache.dimension(), Some(2));
    /// ```
    pub fn dimension(&self) -> Option<usize> {
        match self.inner.dim.load(Ordering::Acquire) {
            0 => None,
            d => Some(d),
        }
    }

    /// Turns the query cache on or off at run time (it starts on, if it was built with a
    /// non-zero capacity). Off, every search scans: for measuring the cold path.
    ///
    /// ```
    /// # use polycache::semantic::SemanticCache;
    /// let cache = SemanticCache::<u8, u8>::builder(8).build().unwrap();
    /// cache.insert_semantic(1, 1, &[1.0]).unwrap();
    /// cache.set_query_cache_enabled(false);
    /// cache.semantic_search(&[1.0], 0.5).unwrap();
    /// assert_eq!(cache.query_cache_stats().misses, 0);
    /// ```
    pub fn set_query_cache_enabled(&self, on: bool) {
        self.inner.query_cache_on.store(on, Ordering::Relaxed);
    }

    /// The hit, miss, insert and eviction counters, summed shard by shard (see
    /// [`CacheStats`](crate::CacheStats)). Hits and misses count key look-ups
    /// ([`SemanticCache::get`]); searches are not counted here (see
    /// [`SemanticCache::query_cache_stats`]).
    ///
    /// ```
    /// # use polycache::semantic::SemanticCache;
    /// let cache = SemanticCache::<u8, u8>::builder(1).build().unwrap();
    /// cache.insert_semantic(1, 1, &[1.0]).unwrap();
    /// cache.insert(2, 2).unwrap();
    /// assert_eq!(cache.get(&1), None);
    /// let s = cache.stats();
    /// assert_eq!((s.inserts, s.evicted, s.misses), (2, 1, 1));
    /// ```
    pub fn stats(&self) -> crate::CacheStats {
        self.inner.sharded.stats()
    }

    /// Hits and misses of the query cache.
    ///
    /// ```
    /// # use polycache::semantic::SemanticCache;
    /// let cache = SemanticCache::<u8, u8>::builder(8).build().unwrap();
    /// assert_eq!(cache.query_cache_stats().hits, 0);
    /// ```
    pub fn query_cache_stats(&self) -> QueryCacheStats {
        self.inner
            .query_cache
            .as_ref()
            .map(|qc| qc.lock().stats())
            .unwrap_or_default()
    }

    /// The best live entry of the default scope whose score is `>= min_score`.
    ///
    /// ```
    /// # use polycache::semantic::SemanticCache;
    /// let cache = SemanticCache::<u8, &str>::builder(8).build().unwrap();
    /// cache.insert_semantic(1, "x", &[1.0, 0.0]).unwrap();
    /// cache.insert_semantic(2, "y", &[0.8, 0.6]).unwrap();
    /// let hit = cache.semantic_search(&[0.8, 0.6], 0.5).unwrap().unwrap();
    /// assert_eq!(hit.key, 2);
    /// assert!(cache.semantic_search(&[0.0, -1.0], 0.1).unwrap().is_none());
    /// ```
    pub fn semantic_search(
        &self,
        query: &[f32],
        min_score: f32,
    ) -> Result<Option<SemanticHit<K, V>>, SemanticError> {
        Ok(self
            .search(query, &Search::new(min_score))?
            .into_iter()
            .next())
    }

    /// The best `k` live entries of the default scope with score `>= min_score`, best
    /// first.
    ///
    /// ```
    /// # use polycache::semantic::SemanticCache;
    /// let cache = SemanticCache::<u8, u8>::builder(8).build().unwrap();
    /// for (k, v) in [(1, [1.0, 0.0]), (2, [0.6, 0.8]), (3, [0.0, 1.0])] {
    ///     cache.insert_semantic(k, k, &v).unwrap();
    /// }
    /// let hits = cache.semantic_search_top_k(&[1.0, 0.0], 0.0, 2).unwrap();
    /// assert_eq!(hits.iter().map(|h| h.key).collect::<Vec<_>>(), [1, 2]);
    /// ```
    pub fn semantic_search_top_k(
        &self,
        query: &[f32],
        min_score: f32,
        k: usize,
    ) -> Result<Vec<SemanticHit<K, V>>, SemanticError> {
        self.search(query, &Search::new(min_score).k(k))
    }

    /// The best live entry of the default scope with score `>= min_score` whose metadata
    /// `approve` accepts: candidates are offered best first, and the one released is
    /// offered again after its value is fetched (it must still be approved).
    ///
    /// ```
    /// # use polycache::semantic::{Insert, SemanticCache};
    /// let cache = SemanticCache::<u8, &str>::builder(8).build().unwrap();
    /// let secret = Insert::new().metadata(*b"secret");
    /// cache.insert_semantic_with(1, "classified", &[1.0, 0.0], &secret).unwrap();
    /// cache.insert_semantic(2, "public", &[0.9, 0.1]).unwrap();
    /// let hit = cache
    ///     .semantic_search_approved(&[1.0, 0.0], 0.5, |m| m != Some(&b"secret"[..]))
    ///     .unwrap()
    ///     .unwrap();
    /// assert_eq!(hit.value, "public");
    /// ```
    pub fn semantic_search_approved<F>(
        &self,
        query: &[f32],
        min_score: f32,
        approve: F,
    ) -> Result<Option<SemanticHit<K, V>>, SemanticError>
    where
        F: FnMut(Option<&[u8]>) -> bool,
    {
        Ok(self
            .search_approved(query, &Search::new(min_score), approve)?
            .into_iter()
            .next())
    }

    /// Checks the query and threshold; `None` when the cache never held a vector.
    fn prepare(
        &self,
        query: &[f32],
        min_score: f32,
    ) -> Result<(Vec<f32>, Threshold, Option<usize>), SemanticError> {
        let mut unit = Vec::with_capacity(query.len());
        normalize_into(query, &mut unit)?;
        let thr = Threshold::new(min_score, unit.len())?;
        let dim = match self.inner.dim.load(Ordering::Acquire) {
            0 => None,
            d if d == unit.len() => Some(d),
            d => {
                return Err(SemanticError::DimensionMismatch {
                    expected: d,
                    found: unit.len(),
                });
            }
        };
        Ok((unit, thr, dim))
    }

    /// Records an access to each released hit (so that hits keep their entries warm).
    fn touch(&self, hits: &[SemanticHit<K, V>]) {
        for h in hits {
            let hash = self.inner.sharded.selector().hash(&h.key);
            self.inner.sharded.with_shard(hash, |s| {
                s.policy.get_hashed(hash, &h.key);
            });
        }
    }

    /// The best `search.limit()` live entries of `search`'s scope with score
    /// `>= search.min_score()`, best first (ties: most recent write first).
    ///
    /// Served from the query cache when an answer to the same query is stored and still
    /// valid (see [the module docs](self#the-query-cache)).
    ///
    /// ```
    /// # use polycache::semantic::{Insert, Search, SemanticCache};
    /// let cache = SemanticCache::<u8, u8>::builder(8).build().unwrap();
    /// cache.insert_semantic_with(1, 1, &[1.0, 0.0], &Insert::new().scope("a")).unwrap();
    /// cache.insert_semantic_with(2, 2, &[1.0, 0.0], &Insert::new().scope("b")).unwrap();
    /// let hits = cache.search(&[1.0, 0.0], &Search::new(0.9).scope("b").k(5)).unwrap();
    /// assert_eq!(hits.len(), 1);
    /// assert_eq!(hits[0].key, 2);
    /// ```
    pub fn search(
        &self,
        query: &[f32],
        search: &Search<'_>,
    ) -> Result<Vec<SemanticHit<K, V>>, SemanticError> {
        let (unit, thr, dim) = self.prepare(query, search.min_score)?;
        let Some(dim) = dim else {
            return Ok(Vec::new());
        };
        if search.k == 0 {
            return Ok(Vec::new());
        }
        let stripe = stripe_of(search.scope);
        let cached = self
            .inner
            .query_cache
            .as_ref()
            .filter(|_| self.inner.query_cache_on.load(Ordering::Relaxed));
        // Read before the scan: an answer is valid only while this is current.
        let generation = self.inner.generations[stripe].load(Ordering::Acquire);
        let now = self.inner.clock.now_nanos();
        let key = QueryKey {
            scope: search.scope.into(),
            k: search.k,
            min_score: search.min_score,
            query: unit,
        };
        if let Some(qc) = cached
            && let Some(hits) = qc.lock().get(&key, generation, now)
        {
            self.touch(&hits);
            return Ok(hits);
        }
        let mut top = Top {
            k: search.k,
            items: Vec::new(),
        };
        let query = &key.query;
        let sharded = &self.inner.sharded;
        for i in 0..sharded.shard_count() {
            sharded.with_shard_at(i, |s| {
                let Shard { policy, extra, .. } = &*s;
                let Some((scope, slab)) = extra.find(search.scope) else {
                    return;
                };
                let mut gate = top.gate(&thr);
                for (r, v) in slab.vectors.chunks_exact(dim).enumerate() {
                    let raw = dot(query, v);
                    if raw < gate {
                        continue;
                    }
                    let row = &slab.rows[r];
                    let score = thr.report(raw);
                    if !top.admits(score, row.seq) {
                        continue;
                    }
                    // Live by the policy's clock, with its deadline; then the value.
                    let Some(ttl) = policy.ttl_hashed(row.hash, &row.key) else {
                        continue;
                    };
                    let Some(stored) = policy.peek_hashed(row.hash, &row.key) else {
                        continue;
                    };
                    if stored.sem != Some(SemRef { scope, id: row.id }) {
                        // Not this entry's row (an invariant broken, which `validate`
                        // reports): its vector does not describe this value.
                        continue;
                    }
                    top.push(Cand {
                        seq: row.seq,
                        deadline: deadline_of(now, ttl),
                        hit: SemanticHit {
                            key: row.key.clone(),
                            value: stored.value.clone(),
                            score,
                            metadata: row.meta.clone(),
                        },
                    });
                    gate = top.gate(&thr);
                }
            });
        }
        let valid_until = top
            .items
            .iter()
            .map(|c| c.deadline)
            .min()
            .unwrap_or(u64::MAX);
        let hits: Vec<SemanticHit<K, V>> = top.items.into_iter().map(|c| c.hit).collect();
        self.touch(&hits);
        if let Some(qc) = cached
            && self.inner.generations[stripe].load(Ordering::Acquire) == generation
        {
            qc.lock().put(
                key,
                Answer {
                    generation,
                    valid_until,
                    hits: hits.clone(),
                },
            );
        }
        Ok(hits)
    }

    /// Like [`SemanticCache::search`], but only entries whose metadata `approve` accepts
    /// are released. Candidates (live, score `>= min_score`, in the scope) are offered to
    /// `approve` best first; an approved one has its value fetched under its shard's
    /// lock (if it is still there, unchanged and live), and is offered again with that
    /// hit's metadata: only if approved twice is it released. Stops at `k` hits.
    ///
    /// `approve` runs under no lock, so it may use the cache. Not served from, nor stored
    /// in, the query cache. Costs memory for every candidate above the threshold.
    ///
    /// ```
    /// # use polycache::semantic::{Insert, Search, SemanticCache};
    /// let cache = SemanticCache::<u8, u8>::builder(8).build().unwrap();
    /// for k in 0..4u8 {
    ///     let opts = Insert::new().metadata(vec![k % 2]);
    ///     cache.insert_semantic_with(k, k, &[1.0, f32::from(k) * 0.01], &opts).unwrap();
    /// }
    /// let odd = cache
    ///     .search_approved(&[1.0, 0.0], &Search::new(0.9).k(10), |m| m == Some(&[1u8][..]))
    ///     .unwrap();
    /// assert_eq!(odd.iter().map(|h| h.key).collect::<Vec<_>>(), [1, 3]);
    /// ```
    pub fn search_approved<F>(
        &self,
        query: &[f32],
        search: &Search<'_>,
        mut approve: F,
    ) -> Result<Vec<SemanticHit<K, V>>, SemanticError>
    where
        F: FnMut(Option<&[u8]>) -> bool,
    {
        let (unit, thr, dim) = self.prepare(query, search.min_score)?;
        let Some(dim) = dim else {
            return Ok(Vec::new());
        };
        if search.k == 0 {
            return Ok(Vec::new());
        }
        let sharded = &self.inner.sharded;
        let mut pending = Vec::new();
        for shard in 0..sharded.shard_count() {
            sharded.with_shard_at(shard, |s| {
                let Shard { policy, extra, .. } = &*s;
                let Some((scope, slab)) = extra.find(search.scope) else {
                    return;
                };
                for (r, v) in slab.vectors.chunks_exact(dim).enumerate() {
                    let raw = dot(&unit, v);
                    if raw < thr.scan {
                        continue;
                    }
                    let row = &slab.rows[r];
                    let at = SemRef { scope, id: row.id };
                    if policy.ttl_hashed(row.hash, &row.key).is_none()
                        || policy.peek_hashed(row.hash, &row.key).map(|s| s.sem) != Some(Some(at))
                    {
                        // Expired, or not this entry's row (see `search`).
                        continue;
                    }
                    pending.push(Pending {
                        score: thr.report(raw),
                        seq: row.seq,
                        shard,
                        at,
                        metadata: row.meta.clone(),
                    });
                }
            });
        }
        pending
            .sort_unstable_by(|a, b| b.score.total_cmp(&a.score).then_with(|| b.seq.cmp(&a.seq)));
        let mut hits = Vec::new();
        for p in pending {
            if hits.len() >= search.k {
                break;
            }
            if !approve(p.metadata.as_deref()) {
                continue;
            }
            let fetched = sharded.with_shard_at(p.shard, |s| {
                let Shard { policy, extra, .. } = s;
                let slab = extra.at(p.at.scope)?;
                let row = &slab.rows[slab.row_of(p.at.id)?];
                if row.seq != p.seq {
                    return None; // replaced since the scan
                }
                policy.ttl_hashed(row.hash, &row.key)?;
                if policy.peek_hashed(row.hash, &row.key)?.sem != Some(p.at) {
                    return None; // not this entry's row (see `search`)
                }
                let stored = policy.get_hashed(row.hash, &row.key)?;
                Some(SemanticHit {
                    key: row.key.clone(),
                    value: stored.value.clone(),
                    score: p.score,
                    metadata: row.meta.clone(),
                })
            });
            if let Some(hit) = fetched
                && approve(hit.metadata.as_deref())
            {
                hits.push(hit);
            }
        }
        Ok(hits)
    }

    /// Checks every invariant: the policy's, the slabs', and that every live entry with
    /// a vector points at a row naming its key. That entries with vectors and rows
    /// correspond one to one (no ghost rows) is checked for each shard that holds no
    /// expired entry awaiting reclamation (the policy does not show those; a write to the
    /// shard or [`SemanticCache::purge_expired`] reclaims them). Changes nothing. O(n);
    /// for tests and fuzzing.
    ///
    /// ```
    /// # use polycache::semantic::SemanticCache;
    /// let cache = SemanticCache::<u8, u8>::builder(8).build().unwrap();
    /// cache.insert_semantic(1, 1, &[1.0]).unwrap();
    /// cache.insert(1, 2).unwrap();
    /// assert_eq!(cache.validate(), Ok(()));
    /// ```
    pub fn validate(&self) -> Result<(), String> {
        let sharded = &self.inner.sharded;
        sharded.validate()?;
        let dim = self.inner.dim.load(Ordering::Acquire);
        for i in 0..sharded.shard_count() {
            sharded.with_shard_at(i, |s| {
                s.extra
                    .validate(dim)
                    .map_err(|e| format!("shard {i}: {e}"))?;
                let mut with_vectors = 0;
                let mut live = 0;
                for (k, stored) in s.policy.iter() {
                    live += 1;
                    let Some(at) = stored.sem else { continue };
                    with_vectors += 1;
                    let slab = s
                        .extra
                        .at(at.scope)
                        .ok_or_else(|| format!("shard {i}: entry points at a free scope"))?;
                    let r = slab
                        .row_of(at.id)
                        .ok_or_else(|| format!("shard {i}: entry points at a free row"))?;
                    let row = &slab.rows[r];
                    if row.key != *k || row.hash != sharded.selector().hash(k) {
                        return Err(format!("shard {i}: row {r} names another key"));
                    }
                }
                let rows = s.extra.rows();
                if live == s.policy.len() && with_vectors != rows {
                    return Err(format!(
                        "shard {i}: {with_vectors} entries with vectors, {rows} rows"
                    ));
                }
                Ok(())
            })?;
        }
        Ok(())
    }
}
