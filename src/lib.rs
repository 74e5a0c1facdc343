//! polycache: a policy-pluggable cache toolkit.
//!
//! The policy layer lives in [`polycache_policies`] and is re-exported here.

pub use polycache_policies as policies;
pub use polycache_policies::{
    Clock, ConfigError, Evicted, EvictionCause, Evictions, InsertError, Lfu, Lru, ManualClock,
    Policy, SystemClock, Ttl, TtlError, UnitWeigher, Weigher,
};
