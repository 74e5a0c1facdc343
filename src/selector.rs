//! [`ShardSelector`]: one hash per operation, and the shard it routes to.
//!
//! # Invariants
//!
//! - A key is hashed once per operation, with a seeded [`ahash::RandomState`]; the same
//!   hash is handed to the shard's policy through the `Policy::*_hashed` methods, so every
//!   shard's policy is built with a clone of this hasher (then `policy.hash(k)` equals
//!   [`ShardSelector::hash`]`(k)`).
//! - The shard index comes from the bits just below the top 7:
//!   `(hash >> (57 - log2(n))) & (n - 1)`. hashbrown picks a bucket from the low bits and
//!   keeps the top 7 bits as its control tag, so keys routed to one shard still spread
//!   over all of that shard's buckets and tags (`tests/routing.rs` checks it).
//! - The default hasher is seeded at random per instance, so keys chosen by a user
//!   cannot be aimed at one shard; [`ShardSelector::with_seed`] is for reproducible tests.
//! - **Grouped routing** (for the `Prefix` policy): a selector made
//!   [`grouped`](ShardSelector::grouped) with a [`GroupRule`] routes a *byte* key
//!   ([`ShardSelector::route_bytes`]) by the hash of its group's prefix, so all keys of
//!   a group live in one shard, and still hands down the hash of the *full* key for the
//!   policy's table (the `Policy` contract: `*_hashed` take the policy's own hash of the
//!   key). That is two hashes per operation, for grouped selectors only: a table hash
//!   built from the prefix hash would put a whole group in one probe sequence, and a
//!   hasher that hashes the prefix and the rest separately would tie the policy's
//!   `BuildHasher` to byte keys. Ungrouped selectors hash once.

use std::hash::Hash;

use polycache_policies::{GroupRule, group_of};

use crate::error::BuildError;
use crate::sharded::MAX_SHARDS;

/// Hashes keys and routes each hash to one of `n` shards (`n` a power of two).
///
/// ```
/// use polycache::ShardSelector;
/// let sel = ShardSelector::with_seed(8, 42).unwrap();
/// let h = sel.hash(&"key");
/// assert_eq!(h, sel.hash(&"key"));
/// assert!(sel.shard_of(h) < 8);
/// assert_eq!(sel.shard_of(h), ((h >> 54) & 7) as usize);
/// ```
#[derive(Clone, Debug)]
pub struct ShardSelector {
    hasher: ahash::RandomState,
    shift: u32,
    mask: u64,
    group: Option<GroupRule>,
}

/// Where a byte key lives: the hash its shard's policy uses, and the shard.
///
/// Made only by [`ShardSelector::route_bytes`] (and the `route` methods built on it);
/// a route is only meaningful for the key, and the selector (or a clone of it), that
/// made it. Its parts are read-only ([`Route::hash`], [`Route::shard`]), so no route
/// carries a made-up hash; a route of *another* key can still be passed, and the
/// `*_routed` methods then behave as the policy layer does for a wrong hash (the
/// entry may be unreachable by its key until it leaves, but nothing else is harmed).
///
/// ```compile_fail
/// // Not constructible outside the crate.
/// let r = polycache::Route { hash: 42, shard: 0 };
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Route {
    /// The hash of the full key (the policy's table hash).
    pub(crate) hash: u64,
    /// The shard index.
    pub(crate) shard: usize,
}

impl Route {
    /// The hash of the full key: the one its shard's policy uses in its table.
    ///
    /// ```
    /// use polycache::ShardSelector;
    /// let sel = ShardSelector::with_seed(8, 3).unwrap();
    /// assert_eq!(sel.route_bytes(b"key").hash(), sel.hash(b"key".as_slice()));
    /// ```
    #[inline]
    pub fn hash(&self) -> u64 {
        self.hash
    }

    /// The shard index, in `0..shards()` of the selector that made the route.
    ///
    /// ```
    /// use polycache::ShardSelector;
    /// let sel = ShardSelector::with_seed(8, 3).unwrap();
    /// assert!(sel.route_bytes(b"key").shard() < 8);
    /// ```
    #[inline]
    pub fn shard(&self) -> usize {
        self.shard
    }
}

impl ShardSelector {
    /// A selector over `shards` shards with a randomly seeded hasher.
    ///
    /// ```
    /// use polycache::{BuildError, ShardSelector};
    /// assert_eq!(ShardSelector::new(4).unwrap().shards(), 4);
    /// assert_eq!(ShardSelector::new(6).unwrap_err(), BuildError::ShardCount(6));
    /// ```
    pub fn new(shards: usize) -> Result<Self, BuildError> {
        Self::with_hasher(shards, ahash::RandomState::new())
    }

    /// A selector whose hasher is seeded from `seed`: the same seed gives the same
    /// hashes and routes in every run (for tests and simulations).
    ///
    /// ```
    /// use polycache::ShardSelector;
    /// let a = ShardSelector::with_seed(16, 7).unwrap();
    /// let b = ShardSelector::with_seed(16, 7).unwrap();
    /// assert_eq!(a.hash(&123u64), b.hash(&123u64));
    /// ```
    pub fn with_seed(shards: usize, seed: u64) -> Result<Self, BuildError> {
        Self::with_hasher(shards, seeded_hasher(seed))
    }

    /// A selector using `hasher` (cloned into every shard's policy).
    ///
    /// ```
    /// use polycache::ShardSelector;
    /// let sel = ShardSelector::with_hasher(2, ahash::RandomState::with_seeds(1, 2, 3, 4)).unwrap();
    /// assert_eq!(sel.shards(), 2);
    /// ```
    pub fn with_hasher(shards: usize, hasher: ahash::RandomState) -> Result<Self, BuildError> {
        if shards == 0 || !shards.is_power_of_two() {
            return Err(BuildError::ShardCount(shards));
        }
        if shards > MAX_SHARDS {
            return Err(BuildError::TooManyShards {
                shards,
                max: MAX_SHARDS,
            });
        }
        let bits = shards.trailing_zeros();
        Ok(ShardSelector {
            hasher,
            shift: 57 - bits,
            mask: (shards - 1) as u64,
            group: None,
        })
    }

    /// This selector, routing byte keys by their group (the prefix `rule` names) in
    /// [`ShardSelector::route_bytes`]: all keys of a group go to one shard.
    ///
    /// Only byte routes see the groups: [`ShardSelector::shard_of`] of a key's hash,
    /// and so `Sharded`'s methods keyed by any `Hash` type, still route by the full
    /// key. A grouped map goes through `Sharded::route` and the `*_routed` methods (as
    /// `ByteMap` does).
    ///
    /// ```
    /// use polycache::ShardSelector;
    /// use polycache::policies::default_group_len;
    /// let sel = ShardSelector::with_seed(64, 1).unwrap().grouped(default_group_len);
    /// let a = sel.route_bytes(b"tenant:7:a");
    /// let b = sel.route_bytes(b"tenant:7:b");
    /// assert_eq!(a.shard(), b.shard());
    /// assert_eq!(a.shard(), sel.shard_of_group(b"tenant:7:"));
    /// assert_eq!(a.hash(), sel.hash(b"tenant:7:a".as_slice())); // the full key's hash
    /// ```
    #[must_use]
    pub fn grouped(mut self, rule: GroupRule) -> Self {
        self.group = Some(rule);
        self
    }

    /// The group rule, for a [`grouped`](ShardSelector::grouped) selector.
    ///
    /// ```
    /// use polycache::ShardSelector;
    /// assert!(ShardSelector::with_seed(2, 1).unwrap().group_rule().is_none());
    /// ```
    #[inline]
    pub fn group_rule(&self) -> Option<GroupRule> {
        self.group
    }

    /// The route of a byte key: the full key's hash, and the shard of its group (grouped
    /// selector: two hashes) or of that hash (one hash).
    ///
    /// ```
    /// use polycache::ShardSelector;
    /// let sel = ShardSelector::with_seed(8, 3).unwrap();
    /// let r = sel.route_bytes(b"key");
    /// assert_eq!(r.hash(), sel.hash(b"key".as_slice()));
    /// assert_eq!(r.shard(), sel.shard_of(r.hash()));
    /// ```
    #[inline]
    pub fn route_bytes(&self, key: &[u8]) -> Route {
        let hash = self.hash(key);
        let shard = match self.group {
            None => self.shard_of(hash),
            Some(rule) => self.shard_of_group(group_of(rule, key)),
        };
        Route { hash, shard }
    }

    /// The shard of the group named `prefix` (for a grouped selector).
    ///
    /// ```
    /// use polycache::ShardSelector;
    /// let sel = ShardSelector::with_seed(8, 3).unwrap();
    /// assert_eq!(sel.shard_of_group(b"a:"), sel.shard_of(sel.hash(b"a:".as_slice())));
    /// ```
    #[inline]
    pub fn shard_of_group(&self, prefix: &[u8]) -> usize {
        self.shard_of(self.hash(prefix))
    }

    /// The 64-bit hash of `key`: the one both the routing and the policy's table use.
    ///
    /// ```
    /// use polycache::ShardSelector;
    /// let sel = ShardSelector::with_seed(1, 0).unwrap();
    /// // `Borrow` forms hash alike: a `String` key and its `&str` route the same way.
    /// assert_eq!(sel.hash("abc"), sel.hash(&String::from("abc")));
    /// ```
    #[inline]
    pub fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The shard index of `hash`, in `0..shards()`.
    ///
    /// ```
    /// use polycache::ShardSelector;
    /// let sel = ShardSelector::with_seed(4, 0).unwrap();
    /// assert_eq!(sel.shard_of(u64::MAX), 3);
    /// assert_eq!(sel.shard_of(0xff), 0); // low bits never matter
    /// assert_eq!(sel.shard_of(0xfe00_0000_0000_0000), 0); // nor do the top 7
    /// ```
    #[inline]
    pub fn shard_of(&self, hash: u64) -> usize {
        ((hash >> self.shift) & self.mask) as usize
    }

    /// The number of shards routed to.
    ///
    /// ```
    /// use polycache::ShardSelector;
    /// assert_eq!(ShardSelector::with_seed(32, 0).unwrap().shards(), 32);
    /// ```
    #[inline]
    pub fn shards(&self) -> usize {
        self.mask as usize + 1
    }

    /// The hasher; every shard's policy holds a clone.
    ///
    /// ```
    /// use std::hash::BuildHasher;
    /// use polycache::ShardSelector;
    /// let sel = ShardSelector::with_seed(2, 9).unwrap();
    /// assert_eq!(sel.hasher().hash_one(5u32), sel.hash(&5u32));
    /// ```
    #[inline]
    pub fn hasher(&self) -> &ahash::RandomState {
        &self.hasher
    }
}

/// A hasher seeded deterministically from `seed`.
pub(crate) fn seeded_hasher(seed: u64) -> ahash::RandomState {
    // Four distinct 64-bit seeds from one (splitmix64 steps).
    let mut s = seed;
    let mut next = || {
        s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    ahash::RandomState::with_seeds(next(), next(), next(), next())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_bits_are_below_the_tag() {
        for shards in [1usize, 2, 4, 64, MAX_SHARDS] {
            let sel = ShardSelector::with_seed(shards, 1).unwrap();
            // Only bits 57-log2(n) .. 57 matter.
            let low = (1u64 << (57 - shards.trailing_zeros())) - 1;
            let tag = 0x7fu64 << 57;
            assert_eq!(sel.shard_of(low | tag), 0);
            assert_eq!(sel.shard_of(!(low | tag)), shards - 1);
        }
        assert_eq!(
            ShardSelector::with_seed(MAX_SHARDS * 2, 1).unwrap_err(),
            BuildError::TooManyShards {
                shards: MAX_SHARDS * 2,
                max: MAX_SHARDS
            }
        );
        assert_eq!(
            ShardSelector::with_seed(0, 1).unwrap_err(),
            BuildError::ShardCount(0)
        );
    }

    #[test]
    fn seeds_differ() {
        let a = ShardSelector::with_seed(1, 1).unwrap();
        let b = ShardSelector::with_seed(1, 2).unwrap();
        assert_ne!(a.hash(&0u64), b.hash(&0u64));
    }
}
