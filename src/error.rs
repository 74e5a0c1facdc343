//! Typed errors of the concurrent layer: bad configuration is refused with a
//! [`BuildError`], a refused write with the policy layer's [`InsertError`], never with a
//! panic.

use std::time::Duration;

use polycache_policies::ConfigError;

pub use polycache_policies::InsertError;

/// A [`Cache`](crate::Cache) or [`Sharded`](crate::Sharded) could not be built as
/// configured.
///
/// ```
/// use polycache::{BuildError, Cache};
/// let err = Cache::<u64, u64>::builder(0).build().unwrap_err();
/// assert_eq!(err, BuildError::ZeroCapacity);
/// let err = Cache::<u64, u64>::builder(100).shards(3).build().unwrap_err();
/// assert_eq!(err, BuildError::ShardCount(3));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The capacity (weight budget) was zero: such a cache could hold nothing.
    #[error("capacity must be greater than zero")]
    ZeroCapacity,
    /// The shard count asked for was zero or not a power of two.
    #[error("shard count {0} must be a power of two greater than zero")]
    ShardCount(usize),
    /// The shard count asked for was above [`MAX_SHARDS`](crate::sharded::MAX_SHARDS).
    #[error("shard count {shards} is above the maximum {max}")]
    TooManyShards {
        /// The shard count asked for.
        shards: usize,
        /// The largest allowed.
        max: usize,
    },
    /// The capacity is smaller than the shard count: some shard would have no capacity.
    #[error("capacity {capacity} is smaller than the shard count {shards}")]
    CapacityBelowShards {
        /// The total capacity.
        capacity: u64,
        /// The shard count.
        shards: usize,
    },
    /// The default TTL cannot be represented by the clock (more than about 584 years).
    #[error("default ttl {0:?} overflows the clock's range")]
    TtlOverflow(Duration),
    /// The default TTL was zero: every write would be dead on arrival.
    #[error("default ttl must be greater than zero")]
    ZeroTtl,
    /// The policy factory refused its configuration.
    #[error("policy: {0}")]
    Policy(#[from] ConfigError),
}
