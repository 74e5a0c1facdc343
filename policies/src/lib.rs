//! Single-threaded bounded caches with pluggable eviction policies.
//!
//! This is the policy layer of [polycache](https://docs.rs/polycache): each policy is a
//! whole cache (one hash table, one entry arena, one expiry index) usable on its own,
//! like the `lru` crate, and behind the [`Policy`] trait that polycache's sharded,
//! concurrent layer and facades build on.
//!
//! ```
//! use polycache_policies::{EvictionCause, Lru, Policy};
//!
//! let mut cache = Lru::<&str, u32>::new(2).unwrap();
//! cache.insert("a", 1).unwrap();
//! cache.insert("b", 2).unwrap();
//! cache.get("a"); // "a" is now the most recent
//! let evicted = cache.insert("c", 3).unwrap();
//! assert_eq!(evicted[0].key, "b");
//! assert_eq!(evicted[0].cause, EvictionCause::Capacity);
//! assert_eq!(cache.peek("a"), Some(&1));
//! ```
//!
//! # Policies
//!
//! | type | evicts | per operation |
//! |---|---|---|
//! | [`Lru`] | the least recently used | O(1) |
//! | [`Lfu`] | the least frequently used (ties: least recent), with aging | O(1) |
//! | [`Ttl`] | the soonest deadline (entries without one last) | O(1) |
//! | [`TinyLfu`] | W-TinyLFU: a window candidate enters main only if the frequency sketch rates it above main's victim | O(1) |
//! | [`S3Fifo`] | S3-FIFO: a newcomer never read since it came in, else main's first entry with no access credit left; hits need only `&self` | O(1), an eviction amortized O(1) |
//! | [`Gdsf`] | GreedyDual-Size-Frequency (size-aware): the lowest `L + frequency / weight` (large, rarely used entries first) | O(log n) |
//! | [`Prefix`] | the least recently used key group (by prefix), whole | O(1), a group eviction O(group) |
//!
//! Every policy has a weight budget ([`Weigher`]; by default every entry weighs 1), an
//! optional deadline per entry, and reports what each write pushed out
//! ([`Evictions`], with an [`EvictionCause`]).
//!
//! # Building blocks
//!
//! Written once and shared: the index-linked arena lists, the [`Core`] (table + dense
//! arena + weights), the timer wheel that reclaims expired entries in amortized O(1),
//! the [`FrequencySketch`], the [`Weigher`] and the [`Clock`]. A policy is an [`Order`]
//! plugged into the core; a policy of one's own is either an `Order` (and gets the
//! table, weights and TTLs for free) or a whole [`Policy`] implementation.
//!
//! # Time
//!
//! Deadlines come from a monotonic [`Clock`] ([`SystemClock`] by default,
//! [`ManualClock`] for tests), in ticks of [`TICK_NANOS`]: an entry lives at least its
//! TTL and less than one tick more. A TTL that would put the deadline past the clock's
//! range (about 584 years) is refused with [`InsertError::TtlOverflow`]; a zero TTL
//! (dead on arrival) with [`InsertError::ZeroTtl`], or [`TtlError::Zero`] from
//! [`Policy::set_ttl`].

#![forbid(unsafe_code)]

mod clock;
mod core;
mod error;
mod ghost;
mod list;
mod policy;
mod weigher;
mod wheel;

// The orders' modules are public for their documentation (each states its eviction
// rule, its cost and the invariants it keeps); their items are used from the crate
// root.
pub mod gdsf;
pub mod lfu;
pub mod lru;
pub mod prefix;
pub mod s3fifo;
pub mod sketch;
pub mod tinylfu;
pub mod ttl;

pub use crate::clock::{Clock, ManualClock, SystemClock};
pub use crate::core::{Builder, Core, DefaultHashBuilder, Entry, MAX_ENTRIES, Order, Slots};
pub use crate::error::{ConfigError, InsertError, TtlError};
pub use crate::gdsf::{GdsfNode, GdsfOrder};
pub use crate::lfu::{AGING_PERIOD_PER_ENTRY, LfuNode, LfuOrder};
pub use crate::list::Links;
pub use crate::lru::LruOrder;
pub use crate::policy::{Evicted, EvictionCause, Evictions, Policy};
pub use crate::prefix::{GroupRule, PrefixNode, PrefixOrder, default_group_len, group_of};
pub use crate::s3fifo::{DEFAULT_SMALL_PERCENT, S3FifoNode, S3FifoOrder};
pub use crate::sketch::{FrequencySketch, SAMPLES_PER_ENTRY};
pub use crate::tinylfu::{TRANSFER_LIMIT, TinyLfuNode, TinyLfuOrder};
pub use crate::ttl::TtlOrder;
pub use crate::weigher::{UnitWeigher, Weigher};
pub use crate::wheel::TICK_NANOS;

/// Least recently used. See [`LruOrder`].
pub type Lru<K, V, W = UnitWeigher, S = DefaultHashBuilder, C = SystemClock> =
    Core<K, V, LruOrder, W, S, C>;

/// Least frequently used, O(1), with aging. See [`LfuOrder`] for the exact rule.
pub type Lfu<K, V, W = UnitWeigher, S = DefaultHashBuilder, C = SystemClock> =
    Core<K, V, LfuOrder, W, S, C>;

/// Soonest deadline first; entries without a deadline last. See [`TtlOrder`].
pub type Ttl<K, V, W = UnitWeigher, S = DefaultHashBuilder, C = SystemClock> =
    Core<K, V, TtlOrder, W, S, C>;

/// W-TinyLFU: an adaptive admission window, a segmented main space and a frequency
/// sketch that admits a newcomer only if it is more popular than the victim. See
/// [`TinyLfuOrder`].
pub type TinyLfu<K, V, W = UnitWeigher, S = DefaultHashBuilder, C = SystemClock> =
    Core<K, V, TinyLfuOrder, W, S, C>;

/// S3-FIFO: a small FIFO for newcomers, a main FIFO with 2-bit access counters (CLOCK),
/// and a ghost of recent evictions. A hit needs only `&self`
/// ([`Policy::get_shared`]), so a concurrent cache serves hits under a shared lock. See
/// [`S3FifoOrder`].
pub type S3Fifo<K, V, W = UnitWeigher, S = DefaultHashBuilder, C = SystemClock> =
    Core<K, V, S3FifoOrder, W, S, C>;

/// GreedyDual-Size-Frequency: size-aware eviction for entries of very different weights,
/// O(log n). See [`GdsfOrder`].
///
/// (It was `Sized`, which shadowed the `std::marker::Sized` trait for anyone who
/// glob-imported this crate: `T: ?Sized` bounds then failed to compile.)
///
/// ```
/// use polycache_policies::*; // shadows no std name
/// fn len<T: ?Sized + AsRef<[u8]>>(t: &T) -> usize {
///     t.as_ref().len()
/// }
/// let mut cache = Gdsf::<u32, Vec<u8>>::builder(10)
///     .weigher(|_: &u32, v: &Vec<u8>| v.len() as u64)
///     .build()
///     .unwrap();
/// cache.insert(1, vec![0; 4]).unwrap();
/// assert_eq!(len(cache.get(&1).unwrap()), 4);
/// ```
pub type Gdsf<K, V, W = UnitWeigher, S = DefaultHashBuilder, C = SystemClock> =
    Core<K, V, GdsfOrder, W, S, C>;

/// Keys grouped by prefix; the least recently used group is evicted whole, and
/// [`Core::remove_prefix`] invalidates a group. Keys are byte-like (`K: AsRef<[u8]>`).
/// See [`PrefixOrder`].
pub type Prefix<K, V, W = UnitWeigher, S = DefaultHashBuilder, C = SystemClock> =
    Core<K, V, PrefixOrder, W, S, C>;
