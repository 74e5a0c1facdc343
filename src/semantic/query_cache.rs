//! The cache of recent exact query results, and why it is never stale.
//!
//! An answer is stored with the generation of its scope's stripe read *before* the scan,
//! and with `valid_until`, the earliest deadline of the hits it returns. It is served
//! only while the stripe's generation is unchanged and the clock is before
//! `valid_until`:
//!
//! - every change to a scope's vectors (a row added or removed: semantic write, plain
//!   write over a semantic entry, remove, expiry reclaimed, eviction, clear) bumps the
//!   scope's stripe while the shard lock is held, so a write that completed before the
//!   look-up either was seen by the scan (it bumped before the scan read the generation)
//!   or changed the generation since (it bumped after);
//! - values change only through writes, and a write to a key with a vector removes the
//!   row, so a value in an answer is current while the generation is;
//! - time changes an answer without a write only by expiring a hit (an entry that was
//!   not a hit cannot become one by time passing, and when a hit expires the answer is
//!   refused from its deadline on), hence `valid_until`.
//!
//! Stripes are shared by scopes (a scope's stripe is a hash of its name), so a write in
//! one scope may invalidate another's answers: that costs a rescan, never a stale
//! answer. Searches with a predicate are not cached (a closure cannot be a key).

use std::hash::{Hash, Hasher};

use polycache_policies::{Lru, Policy};

use super::SemanticHit;

/// A query, as the key of its answer: scope, `k`, threshold and the unit query vector
/// (compared by bits).
#[derive(Debug)]
pub(crate) struct QueryKey {
    pub(crate) scope: Box<str>,
    pub(crate) k: usize,
    pub(crate) min_score: f32,
    pub(crate) query: Vec<f32>,
}

impl PartialEq for QueryKey {
    fn eq(&self, other: &Self) -> bool {
        self.k == other.k
            && self.min_score.to_bits() == other.min_score.to_bits()
            && self.scope == other.scope
            && self.query.len() == other.query.len()
            && self
                .query
                .iter()
                .zip(&other.query)
                .all(|(a, b)| a.to_bits() == b.to_bits())
    }
}

impl Eq for QueryKey {}

impl Hash for QueryKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.scope.hash(state);
        self.k.hash(state);
        self.min_score.to_bits().hash(state);
        for x in &self.query {
            state.write_u32(x.to_bits());
        }
    }
}

/// A cached answer.
pub(crate) struct Answer<K, V> {
    pub(crate) generation: u64,
    pub(crate) valid_until: u64,
    pub(crate) hits: Vec<SemanticHit<K, V>>,
}

/// Hit and miss counts of the query cache.
///
/// ```
/// use polycache::semantic::SemanticCache;
/// let cache = SemanticCache::<u32, &str>::builder(16).build().unwrap();
/// cache.insert_semantic(1, "one", &[1.0, 0.0]).unwrap();
/// cache.semantic_search(&[1.0, 0.0], 0.9).unwrap();
/// cache.semantic_search(&[1.0, 0.0], 0.9).unwrap();
/// let stats = cache.query_cache_stats();
/// assert_eq!((stats.hits, stats.misses), (1, 1));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueryCacheStats {
    /// Searches answered from the query cache.
    pub hits: u64,
    /// Searches that scanned (the query cache on, but no valid answer stored).
    pub misses: u64,
    /// Answers stored (valid or not).
    pub len: usize,
}

pub(crate) struct QueryCache<K, V> {
    answers: Lru<QueryKey, Answer<K, V>>,
    stats: QueryCacheStats,
}

impl<K: Clone, V: Clone> QueryCache<K, V> {
    /// A cache of `capacity` answers, or `None` for zero.
    pub(crate) fn new(capacity: usize) -> Option<Self> {
        let answers = Lru::new(capacity as u64).ok()?;
        Some(QueryCache {
            answers,
            stats: QueryCacheStats::default(),
        })
    }

    /// The stored answer to `key`, if it is still valid at `generation` and `now`.
    pub(crate) fn get(
        &mut self,
        key: &QueryKey,
        generation: u64,
        now: u64,
    ) -> Option<Vec<SemanticHit<K, V>>> {
        match self.answers.get(key) {
            Some(a) if a.generation == generation && now < a.valid_until => {
                self.stats.hits += 1;
                Some(a.hits.clone())
            }
            _ => {
                self.stats.misses += 1;
                None
            }
        }
    }

    pub(crate) fn put(&mut self, key: QueryKey, answer: Answer<K, V>) {
        // A unit weigher never refuses an entry.
        let _ = self.answers.insert(key, answer);
    }

    pub(crate) fn clear(&mut self) {
        self.answers.clear();
    }

    pub(crate) fn stats(&self) -> QueryCacheStats {
        QueryCacheStats {
            len: self.answers.len(),
            ..self.stats
        }
    }
}
