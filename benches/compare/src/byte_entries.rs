//! The byte entries every cache of the ByteMap comparison stores, and their weight:
//! shared by the throughput comparison (`bytemap.rs`) and the memory binary
//! (`bin/memory.rs` includes this file with `#[path]`), so that both measure the same
//! entries under the same weigher.

use bytes::Bytes;
use polycache::bytemap::ENTRY_OVERHEAD;

/// Bytes in every value.
pub(crate) const VALUE: usize = 100;
/// The weight of every entry, for every cache: key + value + ByteMap's overhead.
pub(crate) const WEIGHT: u64 = 16 + VALUE as u64 + ENTRY_OVERHEAD;

/// A 16-byte key.
pub(crate) type Key = [u8; 16];

/// splitmix64: scatters Zipf ranks over the key space (hot keys are not 0, 1, 2...).
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The 16-byte key of `k` (distinct keys for distinct `k`).
pub(crate) fn key_of(k: u64) -> Key {
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&k.to_le_bytes());
    out[8..].copy_from_slice(&mix(k).to_le_bytes());
    out
}

/// The weight ByteMap gives an entry: key + value + [`ENTRY_OVERHEAD`].
pub(crate) fn byte_weight(k: &Bytes, v: &Bytes) -> u64 {
    (k.len() + v.len()) as u64 + ENTRY_OVERHEAD
}

/// quick_cache's weigher: [`byte_weight`].
#[derive(Clone)]
pub(crate) struct ByteWeighter;

impl quick_cache::Weighter<Bytes, Bytes> for ByteWeighter {
    fn weight(&self, k: &Bytes, v: &Bytes) -> u64 {
        byte_weight(k, v)
    }
}
