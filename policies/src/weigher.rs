//! How much of the capacity an entry uses.
//!
//! Capacity is a weight budget. The default [`UnitWeigher`] makes every entry weigh 1, so
//! capacity counts entries; a byte weigher makes it a memory budget. Weights are computed
//! once, when the entry is written, and stored (or, for the unit weigher, known without
//! storage), so a weigher that is not deterministic cannot corrupt the weight total.

/// Computes an entry's weight when it is written.
///
/// A weight of 0 counts as 1, so that every entry has a cost and a cache stays bounded
/// in entries. An entry heavier than the whole capacity (or than `u32::MAX`) is refused.
///
/// Any `Fn(&K, &V) -> u64` is a weigher:
///
/// ```
/// use polycache_policies::{Lru, Policy};
/// let mut cache = Lru::<String, Vec<u8>>::builder(100)
///     .weigher(|_k: &String, v: &Vec<u8>| v.len() as u64)
///     .build()
///     .unwrap();
/// cache.insert("a".into(), vec![0; 60]).unwrap();
/// cache.insert("b".into(), vec![0; 60]).unwrap(); // pushes "a" out
/// assert_eq!(cache.weight(), 60);
/// assert!(!cache.contains("a"));
/// ```
pub trait Weigher<K, V> {
    /// `true` only for weighers that return 1 for every entry: the core then stores no
    /// per-entry weight at all.
    const UNIT: bool = false;

    /// The weight of `key` holding `value`.
    fn weigh(&self, key: &K, value: &V) -> u64;
}

/// Every entry weighs 1: capacity counts entries. Costs no memory per entry.
#[derive(Clone, Copy, Debug, Default)]
pub struct UnitWeigher;

impl<K, V> Weigher<K, V> for UnitWeigher {
    const UNIT: bool = true;

    #[inline]
    fn weigh(&self, _: &K, _: &V) -> u64 {
        1
    }
}

impl<K, V, F: Fn(&K, &V) -> u64> Weigher<K, V> for F {
    #[inline]
    fn weigh(&self, key: &K, value: &V) -> u64 {
        self(key, value)
    }
}
