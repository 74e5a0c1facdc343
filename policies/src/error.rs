//! Typed errors: bad input is refused with one of these, never with a panic.

use std::fmt;
use std::time::Duration;

/// A cache could not be built as configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The capacity (weight budget) was zero: such a cache could hold nothing.
    #[error("capacity must be greater than zero")]
    ZeroCapacity,
    /// A parameter was outside its documented range.
    #[error("invalid {name}: {reason}")]
    Invalid {
        /// Which parameter.
        name: &'static str,
        /// Why it was refused.
        reason: &'static str,
    },
}

/// A write was refused; the entry is handed back unchanged.
///
/// ```
/// use polycache_policies::{InsertError, Lru, Policy};
/// let mut cache = Lru::<u32, String>::builder(4)
///     .weigher(|_: &u32, v: &String| v.len() as u64)
///     .build()
///     .unwrap();
/// let err = cache.insert(1, "too long".to_string()).unwrap_err();
/// assert!(matches!(err, InsertError::Overweight { weight: 8, capacity: 4, .. }));
/// assert_eq!(err.into_entry(), (1, "too long".to_string()));
/// ```
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InsertError<K, V> {
    /// The entry weighs more than the whole capacity (or more than `u32::MAX`).
    #[error("entry weighs {weight}, more than the capacity {capacity}")]
    Overweight {
        /// The refused key.
        key: K,
        /// The refused value.
        value: V,
        /// Its weight, from the cache's weigher.
        weight: u64,
        /// The cache's capacity.
        capacity: u64,
    },
    /// The TTL puts the deadline past what the clock can represent (about 584 years
    /// after the clock's origin).
    #[error("ttl {ttl:?} overflows the clock's range")]
    TtlOverflow {
        /// The refused key.
        key: K,
        /// The refused value.
        value: V,
        /// The TTL asked for.
        ttl: Duration,
    },
    /// The TTL was zero: the entry would be dead on arrival (and could push out a live
    /// one to make room for it).
    #[error("ttl must be greater than zero")]
    ZeroTtl {
        /// The refused key.
        key: K,
        /// The refused value.
        value: V,
    },
}

impl<K, V> InsertError<K, V> {
    /// The refused entry, handed back.
    pub fn into_entry(self) -> (K, V) {
        match self {
            InsertError::Overweight { key, value, .. }
            | InsertError::TtlOverflow { key, value, .. }
            | InsertError::ZeroTtl { key, value } => (key, value),
        }
    }
}

impl<K, V> fmt::Debug for InsertError<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InsertError::Overweight {
                weight, capacity, ..
            } => f
                .debug_struct("Overweight")
                .field("weight", weight)
                .field("capacity", capacity)
                .finish_non_exhaustive(),
            InsertError::TtlOverflow { ttl, .. } => f
                .debug_struct("TtlOverflow")
                .field("ttl", ttl)
                .finish_non_exhaustive(),
            InsertError::ZeroTtl { .. } => f.debug_struct("ZeroTtl").finish_non_exhaustive(),
        }
    }
}

/// A TTL could not be set on an existing entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TtlError {
    /// The TTL puts the deadline past what the clock can represent.
    #[error("ttl {0:?} overflows the clock's range")]
    Overflow(Duration),
    /// The TTL was zero: the entry would expire as it is set. (Remove the entry to
    /// drop it now, or pass `None` to clear its TTL.)
    #[error("ttl must be greater than zero")]
    Zero,
}
