//! The [`Policy`] trait: what every policy is, a whole single-threaded bounded cache.

use std::borrow::Borrow;
use std::hash::Hash;
use std::time::Duration;

use smallvec::SmallVec;

use crate::error::{ConfigError, InsertError, TtlError};

/// Why an entry left the cache (or, for [`EvictionCause::Replaced`], which value did).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EvictionCause {
    /// Pushed out to make room: the policy chose it.
    Capacity,
    /// Its deadline passed.
    Expired,
    /// A write to the same key replaced this value.
    Replaced,
    /// The caller removed it.
    Removed,
}

/// An entry (or a replaced value) that left the cache, handed back to the caller so that
/// it can be dropped, or reported, outside any lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evicted<K, V> {
    /// The key. For [`EvictionCause::Replaced`], the key of the write that replaced it.
    pub key: K,
    /// The value that left.
    pub value: V,
    /// Why it left.
    pub cause: EvictionCause,
}

/// What one write pushed out. Two records fit inline (a replaced value and one eviction),
/// so the common case does not allocate.
pub type Evictions<K, V> = SmallVec<[Evicted<K, V>; 2]>;

/// A whole single-threaded bounded cache with an eviction policy.
///
/// Every policy in this crate implements it, and so can a user's: the sharded layer and
/// every facade of `polycache` work with any `Policy`.
///
/// # Contract
///
/// - Capacity is a weight budget; after any call returns, [`Policy::weight`] is at most
///   [`Policy::capacity`]. An entry heavier than the capacity is refused with
///   [`InsertError::Overweight`], which hands it back; so is a write with a zero TTL
///   ([`InsertError::ZeroTtl`]: it would be dead on arrival, yet could push out live
///   entries to make room).
/// - An entry whose deadline has passed is never returned by any look-up or iterator.
///   It is *reclaimed* (removed and reported with [`EvictionCause::Expired`]) by the next
///   write, or by [`Policy::purge_expired`]; until then [`Policy::len`] still counts it.
/// - The `*_hashed*` methods take the key's hash from a caller that already computed it
///   with [`Policy::hash`] (the sharded layer hashes once per operation). A hash that is
///   not `self.hash(key)` makes a look-up or removal miss; an insert under it stores an
///   entry that look-ups by its key may not find (beside the key's own entry, if it has
///   one), which [`Policy::validate`] reports until the entry leaves: it still counts
///   towards the capacity and still leaves by eviction, expiry, [`Policy::retain`] or
///   [`Policy::clear`]. It is memory safe, never panics, and every other entry stays
///   as it was, reachable by its key.
/// - Everything is amortized O(1) unless the policy's documentation says otherwise.
pub trait Policy<K, V> {
    /// The hash this policy's table uses for `key`.
    fn hash<Q>(&self, key: &Q) -> u64
    where
        K: Borrow<Q>,
        Q: Hash + ?Sized;

    /// Looks `key` up and records the access.
    fn get_hashed<Q>(&mut self, hash: u64, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized;

    /// Looks `key` up mutably and records the access. The entry's weight is not
    /// recomputed: write the value again if its weight changes.
    fn get_mut_hashed<Q>(&mut self, hash: u64, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized;

    /// Looks `key` up without recording the access.
    fn peek_hashed<Q>(&self, hash: u64, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized;

    /// `true` when [`Policy::get_shared_hashed`] records the access it makes (through
    /// atomics, with `&self` only): then a concurrent wrapper may serve hits under a
    /// shared lock, many readers at once. `false` by default.
    const SHARED_GET: bool = false;

    /// Looks `key` up through `&self`. When [`Policy::SHARED_GET`] is `true` the access
    /// is recorded (as [`Policy::get_hashed`] records it, except that racing accesses
    /// may count as one); otherwise this is [`Policy::peek_hashed`] and records nothing.
    /// A miss is never recorded.
    #[inline]
    fn get_shared_hashed<Q>(&self, hash: u64, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        self.peek_hashed(hash, key)
    }

    /// Inserts or replaces `key`, with a TTL or none, and appends what left to `out`:
    /// the replaced value, entries pushed out for room, entries found expired. Records
    /// already in `out` are kept. Returns the entry in the error when it is refused; the
    /// cache and `out` are then unchanged.
    ///
    /// This is the form a policy implements, and the one for hot paths: the records are
    /// written once, into a buffer the caller owns (and may keep outside a lock), rather
    /// than returned by value and moved up through every layer, as
    /// [`Policy::insert_hashed`] does.
    ///
    /// ```
    /// use polycache_policies::{EvictionCause, Evictions, Lru, Policy};
    /// let mut cache = Lru::<u8, u8>::new(1).unwrap();
    /// let mut out = Evictions::new();
    /// cache.insert_hashed_into(cache.hash(&1), 1, 10, None, &mut out).unwrap();
    /// cache.insert_hashed_into(cache.hash(&2), 2, 20, None, &mut out).unwrap();
    /// assert_eq!(out.len(), 1);
    /// assert_eq!((out[0].key, out[0].cause), (1, EvictionCause::Capacity));
    /// ```
    fn insert_hashed_into(
        &mut self,
        hash: u64,
        key: K,
        value: V,
        ttl: Option<Duration>,
        out: &mut Evictions<K, V>,
    ) -> Result<(), InsertError<K, V>>;

    /// Inserts or replaces `key`, with a TTL or none, and returns what left: the
    /// replaced value, entries pushed out for room, entries found expired. Returns the
    /// entry in the error when it is refused; the cache is then unchanged.
    ///
    /// Provided: [`Policy::insert_hashed_into`] with a new buffer, which it returns.
    #[inline]
    fn insert_hashed(
        &mut self,
        hash: u64,
        key: K,
        value: V,
        ttl: Option<Duration>,
    ) -> Result<Evictions<K, V>, InsertError<K, V>> {
        let mut out = Evictions::new();
        self.insert_hashed_into(hash, key, value, ttl, &mut out)?;
        Ok(out)
    }

    /// Removes `key`. Returns the entry with [`EvictionCause::Removed`], or with
    /// [`EvictionCause::Expired`] if it had expired (it is removed either way).
    fn remove_hashed<Q>(&mut self, hash: u64, key: &Q) -> Option<Evicted<K, V>>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized;

    /// The time `key` has left: `None` if absent or expired, `Some(None)` if it has no
    /// deadline.
    fn ttl_hashed<Q>(&self, hash: u64, key: &Q) -> Option<Option<Duration>>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized;

    /// Sets (`Some`) or removes (`None`) the TTL of a live `key`; `Ok(false)` if absent.
    /// A zero TTL is refused with [`TtlError::Zero`], whether or not the key is there
    /// (as `ByteMap::expire` refuses it); for a live key, one past the clock's range
    /// with [`TtlError::Overflow`]. A refused call changes nothing.
    fn set_ttl_hashed<Q>(
        &mut self,
        hash: u64,
        key: &Q,
        ttl: Option<Duration>,
    ) -> Result<bool, TtlError>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized;

    /// Removes every expired entry and returns them.
    fn purge_expired(&mut self) -> Evictions<K, V>;

    /// Keeps only the live entries for which `keep` returns `true`; returns the others
    /// (cause [`EvictionCause::Removed`]) and any expired ones found on the way.
    fn retain<F>(&mut self, keep: F) -> Evictions<K, V>
    where
        F: FnMut(&K, &mut V) -> bool;

    /// Number of entries stored (including expired ones not yet reclaimed).
    fn len(&self) -> usize;

    /// Total weight of the entries stored.
    fn weight(&self) -> u64;

    /// The weight budget.
    fn capacity(&self) -> u64;

    /// What an entry of `key` and `value` would weigh here (at least 1), as an insert
    /// would weigh it. Provided: 1, for policies of your own without weights.
    ///
    /// ```
    /// use polycache_policies::{Lru, Policy};
    /// let cache = Lru::<u8, String>::builder(100)
    ///     .weigher(|_: &u8, v: &String| v.len() as u64)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(cache.weight_of(&1, &"four".to_string()), 4);
    /// assert_eq!(cache.weight_of(&1, &String::new()), 1);
    /// ```
    fn weight_of(&self, key: &K, value: &V) -> u64 {
        let _ = (key, value);
        1
    }

    /// Changes the weight budget to `capacity`, appending to `out` the entries that no
    /// longer fit (cause [`EvictionCause::Capacity`], chosen by the policy's own order,
    /// as an insert would choose them). Records already in `out` are kept. What the
    /// policy learned (recency, frequencies, a window's size) is kept: a cache that
    /// grows by a few entries behaves as it did, with room for a few more. Entries
    /// heavier than the new capacity are among those evicted, and later inserts are
    /// measured against it. O(1) plus the evictions.
    ///
    /// A shrink gives memory back once the table, the arena or an order's own
    /// structures (sketch, ghosts) have room for 4 times or more what the entries left
    /// need: a cache of 200,000 entries shrunk to 1,000 holds about what one built at
    /// 1,000 holds (`tests/shrink_memory.rs`); small moves keep their memory.
    ///
    /// A zero capacity is refused with [`ConfigError::ZeroCapacity`]; the cache is
    /// then unchanged. Provided, for policies of your own: refuses every resize with
    /// [`ConfigError::Invalid`] (a sharded cache of such a policy then keeps its
    /// reserve unused); the crate's policies all implement it.
    ///
    /// ```
    /// use polycache_policies::{EvictionCause, Evictions, Lru, Policy};
    /// let mut cache = Lru::<u8, u8>::new(4).unwrap();
    /// for k in 0..4 {
    ///     cache.insert(k, k).unwrap();
    /// }
    /// let mut out = Evictions::new();
    /// cache.set_capacity_into(2, &mut out).unwrap();
    /// assert_eq!((cache.capacity(), cache.len()), (2, 2));
    /// // The least recently used went.
    /// assert_eq!(out.iter().map(|e| (e.key, e.cause)).collect::<Vec<_>>(),
    ///            [(0, EvictionCause::Capacity), (1, EvictionCause::Capacity)]);
    /// cache.set_capacity_into(3, &mut out).unwrap();
    /// cache.insert(9, 9).unwrap();
    /// assert_eq!(cache.len(), 3);
    /// assert!(cache.set_capacity_into(0, &mut out).is_err());
    /// ```
    fn set_capacity_into(
        &mut self,
        capacity: u64,
        out: &mut Evictions<K, V>,
    ) -> Result<(), ConfigError> {
        let _ = (capacity, out);
        Err(ConfigError::Invalid {
            name: "capacity",
            reason: "this policy cannot be resized",
        })
    }

    /// [`Policy::set_capacity_into`] with a new buffer, which it returns.
    fn set_capacity(&mut self, capacity: u64) -> Result<Evictions<K, V>, ConfigError> {
        let mut out = Evictions::new();
        self.set_capacity_into(capacity, &mut out)?;
        Ok(out)
    }

    /// Removes everything (without reporting).
    fn clear(&mut self);

    /// Iterates over the live entries, in no particular order.
    fn iter<'a>(&'a self) -> impl Iterator<Item = (&'a K, &'a V)>
    where
        K: 'a,
        V: 'a;

    /// Checks every internal invariant (links, weight sum, table and arena agree);
    /// O(n), meant for tests and fuzzing. `Err` describes the first violation.
    fn validate(&self) -> Result<(), String>;

    // Convenience forms that hash the key themselves.

    /// `true` when nothing is stored.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Looks `key` up and records the access.
    fn get<Q>(&mut self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        self.get_hashed(hash, key)
    }

    /// Looks `key` up mutably and records the access.
    fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        self.get_mut_hashed(hash, key)
    }

    /// Looks `key` up without recording the access.
    fn peek<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.peek_hashed(self.hash(key), key)
    }

    /// Looks `key` up through `&self`; see [`Policy::get_shared_hashed`].
    fn get_shared<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get_shared_hashed(self.hash(key), key)
    }

    /// Whether a live entry for `key` is stored; does not record an access.
    fn contains<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.peek(key).is_some()
    }

    /// Inserts or replaces `key` with no deadline.
    fn insert(&mut self, key: K, value: V) -> Result<Evictions<K, V>, InsertError<K, V>>
    where
        K: Hash,
    {
        let hash = self.hash(&key);
        self.insert_hashed(hash, key, value, None)
    }

    /// Inserts or replaces `key`; it expires `ttl` from now. A zero `ttl` is refused
    /// with [`InsertError::ZeroTtl`], one past the clock's range with
    /// [`InsertError::TtlOverflow`].
    fn insert_with_ttl(
        &mut self,
        key: K,
        value: V,
        ttl: Duration,
    ) -> Result<Evictions<K, V>, InsertError<K, V>>
    where
        K: Hash,
    {
        let hash = self.hash(&key);
        self.insert_hashed(hash, key, value, Some(ttl))
    }

    /// Removes `key` and returns its value if it was live.
    fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        self.remove_hashed(hash, key)
            .filter(|e| e.cause == EvictionCause::Removed)
            .map(|e| e.value)
    }

    /// The time `key` has left; see [`Policy::ttl_hashed`].
    fn ttl<Q>(&self, key: &Q) -> Option<Option<Duration>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.ttl_hashed(self.hash(key), key)
    }

    /// Sets or removes the TTL of `key`; see [`Policy::set_ttl_hashed`].
    fn set_ttl<Q>(&mut self, key: &Q, ttl: Option<Duration>) -> Result<bool, TtlError>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        self.set_ttl_hashed(hash, key, ttl)
    }
}
