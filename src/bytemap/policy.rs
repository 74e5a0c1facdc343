//! The eviction policies a [`ByteMap`](super::ByteMap) can be built with.
//!
//! The map is generic over the eviction [`Order`] (no dynamic dispatch on the hot path):
//! every order of the policy layer that works on byte keys implements [`BytePolicy`],
//! which adds the one thing the map must know about it, how it routes keys to shards.

use bytes::Bytes;
use polycache_policies::{
    GdsfOrder, GroupRule, LfuOrder, LruOrder, Order, PrefixOrder, S3FifoOrder, TinyLfuOrder,
    TtlOrder,
};

use super::ByteKey;

/// An eviction order a [`ByteMap`](super::ByteMap) can use: [`LruOrder`] (the default),
/// [`LfuOrder`], [`TinyLfuOrder`], [`S3FifoOrder`] (its hits take the shard lock
/// shared), [`GdsfOrder`], [`PrefixOrder`], [`TtlOrder`].
///
/// ```
/// use polycache::bytemap::ByteMap;
/// use polycache::policies::{GdsfOrder, TinyLfuOrder};
/// let tiny = ByteMap::builder(1 << 20).policy(TinyLfuOrder::default()).build().unwrap();
/// let sized = ByteMap::builder(1 << 20).policy(GdsfOrder::default()).build().unwrap();
/// tiny.insert_slice(b"k", b"v").unwrap();
/// sized.insert_slice(b"k", b"v").unwrap();
/// ```
pub trait BytePolicy:
    Order<ByteKey, Bytes, Node: Send + Sync> + Clone + Send + Sync + 'static
{
    /// The rule grouping keys, if this order evicts groups: the map then routes every
    /// key of a group to one shard. `None` (the default) routes each key by its own hash.
    fn group_rule(&self) -> Option<GroupRule> {
        None
    }
}

impl BytePolicy for LruOrder {}
impl BytePolicy for LfuOrder {}
impl BytePolicy for TtlOrder {}
impl BytePolicy for TinyLfuOrder {}
impl BytePolicy for S3FifoOrder {}
impl BytePolicy for GdsfOrder {}

impl BytePolicy for PrefixOrder {
    fn group_rule(&self) -> Option<GroupRule> {
        Some(self.rule())
    }
}
