//! [`PreparedKey`]: a key that carries its route, so that hot keys are hashed once.
//!
//! A prepared key remembers which map made it; a map handed a prepared key made by
//! another map routes it again instead of trusting the route, so a prepared key is
//! never wrong, only slower, in the wrong map.

use super::{ByteKey, Route};

/// A key with its hash and shard, made by [`ByteMap::prepare_key`](super::ByteMap::prepare_key).
///
/// ```
/// use polycache::bytemap::ByteMap;
/// let map = ByteMap::builder(1 << 20).shards(4).build().unwrap();
/// let k = map.prepare_key(b"user:1");
/// assert_eq!(k.key(), b"user:1");
/// assert!(k.shard() < 4);
/// assert_eq!(k.hash(), map.route_key(b"user:1").hash());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PreparedKey {
    key: ByteKey,
    route: Route,
    owner: u64,
}

impl PreparedKey {
    pub(super) fn new(key: ByteKey, route: Route, owner: u64) -> Self {
        PreparedKey { key, route, owner }
    }

    /// The key's bytes.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The route (hash and shard) in the map that made it.
    pub fn route(&self) -> Route {
        self.route
    }

    /// The shard that owns the key.
    pub fn shard(&self) -> usize {
        self.route.shard
    }

    /// The hash the shard's table uses for the key.
    pub fn hash(&self) -> u64 {
        self.route.hash
    }

    pub(super) fn owner(&self) -> u64 {
        self.owner
    }
}
