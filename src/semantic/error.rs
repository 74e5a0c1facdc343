//! [`SemanticError`]: every bad input to the semantic cache is refused with one of these,
//! never with a panic.

use std::time::Duration;

/// A semantic write or search was refused; nothing was changed.
///
/// ```
/// use polycache::semantic::{SemanticCache, SemanticError};
/// let cache = SemanticCache::<u32, &str>::builder(16).dimension(2).build().unwrap();
/// assert_eq!(
///     cache.insert_semantic(1, "a", &[f32::NAN, 1.0]),
///     Err(SemanticError::NonFinite { index: 0 })
/// );
/// assert_eq!(cache.insert_semantic(1, "a", &[0.0, 0.0]), Err(SemanticError::ZeroVector));
/// assert_eq!(
///     cache.insert_semantic(1, "a", &[1.0, 0.0, 0.0]),
///     Err(SemanticError::DimensionMismatch { expected: 2, found: 3 })
/// );
/// assert!(matches!(
///     cache.semantic_search(&[1.0, 0.0], 1.5),
///     Err(SemanticError::InvalidThreshold(_))
/// ));
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SemanticError {
    /// The embedding (or query) had no components.
    #[error("embedding is empty")]
    EmptyEmbedding,
    /// A component was NaN or infinite.
    #[error("embedding component {index} is NaN or infinite")]
    NonFinite {
        /// The index of the first such component.
        index: usize,
    },
    /// Every component was zero: such a vector has no direction.
    #[error("embedding is the zero vector")]
    ZeroVector,
    /// The embedding's length is not the cache's dimension (fixed at construction, or
    /// by the first semantic insert).
    #[error("embedding has {found} dimensions, the cache holds {expected}")]
    DimensionMismatch {
        /// The cache's dimension.
        expected: usize,
        /// The embedding's length.
        found: usize,
    },
    /// A search threshold was NaN or outside `[-1, 1]`.
    #[error("threshold {0} is not a cosine in [-1, 1]")]
    InvalidThreshold(f32),
    /// The entry weighs more than its shard's capacity (its guaranteed share, or more
    /// if it has borrowed from the reserve).
    #[error("entry weighs {weight}, more than the capacity {capacity}")]
    Overweight {
        /// Its weight.
        weight: u64,
        /// The capacity of the shard it routes to.
        capacity: u64,
    },
    /// The TTL puts the deadline past what the clock can represent.
    #[error("ttl {0:?} overflows the clock's range")]
    TtlOverflow(Duration),
    /// A TTL of zero: the entry would be dead on arrival (and could push a live one
    /// out), so it is refused, as the other facades refuse it.
    #[error("ttl must be greater than zero")]
    ZeroTtl,
}
