//! polycache: a policy-pluggable, concurrent cache toolkit.
//!
//! The policy layer (single-threaded caches behind the [`Policy`] trait) lives in
//! [`polycache_policies`] and is re-exported here. This crate makes any policy
//! concurrent ([`ShardSelector`], [`Sharded`]) and gives Rust code the handle it holds,
//! [`Cache`].
//!
//! ```
//! use polycache::{Cache, EvictionCause};
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use std::sync::Arc;
//!
//! let evicted = Arc::new(AtomicU64::new(0));
//! let counter = evicted.clone();
//! let cache = Cache::<u64, String>::builder(2)
//!     .eviction_listener(move |_k: &u64, _v: &String, cause| {
//!         if cause == EvictionCause::Capacity {
//!             counter.fetch_add(1, Ordering::Relaxed);
//!         }
//!     })
//!     .build()
//!     .unwrap();
//! cache.insert(1, "one".into()).unwrap();
//! cache.insert(2, "two".into()).unwrap();
//! cache.get(&1);
//! cache.insert(3, "three".into()).unwrap(); // 2 is least recent
//! assert_eq!(cache.get(&2), None);
//! assert_eq!(evicted.load(Ordering::Relaxed), 1);
//! assert_eq!(cache.get_or_insert_with(4, || "four".into()), "four");
//! ```
//!
//! # Layers
//!
//! - [`ShardSelector`] hashes a key once and picks its shard from bits the policy's
//!   table does not use ([`selector`]).
//! - [`Sharded`] holds the shards, one lock at a time, capacity split without loss,
//!   with a small reserve the shards that fill first borrow from ([`sharded`], with
//!   the shard-count table).
//! - [`Cache`] adds single-flight loading, the eviction listener, default TTL and
//!   statistics ([`cache`]).
//!
//! # Facades
//!
//! - [`ByteMap`]: byte keys, refcounted byte values, TTLs in milliseconds, a memory
//!   budget, prepared keys and prefix invalidation ([`bytemap`]).
//! - [`LockTable`]: leases with `SET key token NX PX` semantics and fencing tokens; the
//!   same [`LeaseStore`] trait on Redis behind the `redis` feature ([`locks`]).
//! - [`SemanticCache`]: embedding search with TTL, scopes and governance metadata
//!   ([`semantic`]).

pub mod builder;
pub mod bytemap;
pub mod cache;
mod error;
mod flight;
pub mod locks;
mod reserve;
pub mod selector;
pub mod semantic;
pub mod sharded;
mod stats;
mod sync;

pub use crate::builder::{CacheBuilder, CoreFactory, FnFactory, MakePolicy};
pub use crate::bytemap::{ByteMap, ByteMapError};
pub use crate::cache::{Cache, Iter};
pub use crate::error::{BuildError, InsertError};
pub use crate::locks::{LeaseInfo, LeaseStore, LockError, LockTable};
pub use crate::selector::{Route, ShardSelector};
pub use crate::semantic::{SemanticCache, SemanticError, SemanticHit};
pub use crate::sharded::Sharded;
pub use crate::stats::CacheStats;
pub use polycache_policies::{Gdsf, Prefix};

pub use polycache_policies as policies;
pub use polycache_policies::{
    Clock, ConfigError, Evicted, EvictionCause, Evictions, Lfu, Lru, ManualClock, Policy, S3Fifo,
    SystemClock, TinyLfu, Ttl, TtlError, UnitWeigher, Weigher,
};

/// The README's examples, compiled and run as doc tests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
