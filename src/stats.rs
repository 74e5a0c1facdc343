//! Hit, miss, insert and eviction counts.
//!
//! Each shard keeps its own plain counters, updated under the shard lock that the
//! operation already holds: no cache line shared by every thread's `get`. Hits and
//! misses of a policy whose hits share the lock (`S3Fifo`) are per-shard atomics beside
//! the lock instead (the shared lock cannot write the plain counters), and can be
//! turned off ([`CacheBuilder::count_hits`](crate::CacheBuilder::count_hits)).
//! [`Cache::stats`](crate::Cache::stats) sums them, visiting shards one at a time, so
//! the sum is not one instant's snapshot while other threads write.

use std::ops::AddAssign;

use polycache_policies::{Evicted, EvictionCause};

/// Counters of a cache (or of one shard).
///
/// ```
/// use polycache::{Cache, CacheStats};
/// let cache = Cache::<u32, u32>::builder(10).build().unwrap();
/// cache.insert(1, 1).unwrap();
/// cache.insert(1, 2).unwrap();
/// assert_eq!(cache.get(&1), Some(2));
/// assert_eq!(cache.get(&2), None);
/// let s: CacheStats = cache.stats();
/// assert_eq!((s.hits, s.misses, s.inserts, s.replaced), (1, 1, 2, 1));
/// assert_eq!(s.hit_ratio(), 0.5);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Look-ups that found a live entry (`get`, `get_with`, `get_or_insert_with`).
    pub hits: u64,
    /// Look-ups that did not.
    pub misses: u64,
    /// Writes stored (inserts and replacements).
    pub inserts: u64,
    /// Entries pushed out to make room.
    pub evicted: u64,
    /// Entries reclaimed after their deadline.
    pub expired: u64,
    /// Values replaced by a write to the same key.
    pub replaced: u64,
    /// Entries removed by the caller (`remove`, `retain`, `clear`, a group removal).
    pub removed: u64,
}

impl CacheStats {
    /// `hits / (hits + misses)`, or 0 before any look-up.
    ///
    /// ```
    /// assert_eq!(polycache::CacheStats::default().hit_ratio(), 0.0);
    /// ```
    pub fn hit_ratio(&self) -> f64 {
        let total = self.hits + self.misses;
        if total == 0 {
            0.0
        } else {
            self.hits as f64 / total as f64
        }
    }

    /// Counts what one write (or removal) reported.
    #[inline]
    pub(crate) fn count_evictions<K, V>(&mut self, out: &[Evicted<K, V>]) {
        for e in out {
            self.count_cause(e.cause);
        }
    }

    #[inline]
    pub(crate) fn count_cause(&mut self, cause: EvictionCause) {
        match cause {
            EvictionCause::Capacity => self.evicted += 1,
            EvictionCause::Expired => self.expired += 1,
            EvictionCause::Replaced => self.replaced += 1,
            _ => self.removed += 1,
        }
    }
}

impl AddAssign for CacheStats {
    fn add_assign(&mut self, o: CacheStats) {
        self.hits += o.hits;
        self.misses += o.misses;
        self.inserts += o.inserts;
        self.evicted += o.evicted;
        self.expired += o.expired;
        self.replaced += o.replaced;
        self.removed += o.removed;
    }
}
