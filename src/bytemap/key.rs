//! [`ByteKey`]: how a [`ByteMap`](super::ByteMap) stores a key: inside the entry up to
//! [`INLINE_KEY_BYTES`], on the heap beyond.
//!
//! A look-up compares the key it is given with the stored one. A key behind a pointer
//! (`Box<[u8]>`) costs a cache miss of its own on every look-up that reaches the entry,
//! and an allocation and a free on every write; a short key stored inline costs neither.
//!
//! # Invariants
//!
//! - A `ByteKey` hashes, compares and orders exactly as the `[u8]` it holds, so a map
//!   keyed by `ByteKey` is looked up by `&[u8]` (`Borrow<[u8]>`).
//! - A key of at most [`INLINE_KEY_BYTES`] bytes is inline ([`ByteKey::is_inline`]).

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use smallvec::SmallVec;

/// Keys up to this many bytes live inside the map's entry: no allocation, and no
/// pointer to follow on a look-up. Longer keys are allocated once, when written.
pub const INLINE_KEY_BYTES: usize = 16;

/// A stored key: its bytes, inline up to [`INLINE_KEY_BYTES`]. Read it as a `&[u8]`
/// (`Deref`); it hashes and compares as that slice.
///
/// ```
/// use polycache::bytemap::ByteKey;
/// let short = ByteKey::from(&b"user:1"[..]);
/// assert!(short.is_inline());
/// assert_eq!(&*short, b"user:1");
/// let long = ByteKey::from(&b"a key longer than sixteen bytes"[..]);
/// assert!(!long.is_inline());
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteKey(SmallVec<[u8; INLINE_KEY_BYTES]>);

impl ByteKey {
    /// The key's bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// `true` when the bytes live inside the key (no heap allocation).
    #[inline]
    pub fn is_inline(&self) -> bool {
        !self.0.spilled()
    }
}

impl From<&[u8]> for ByteKey {
    #[inline]
    fn from(bytes: &[u8]) -> Self {
        ByteKey(SmallVec::from_slice(bytes))
    }
}

impl Deref for ByteKey {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for ByteKey {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Borrow<[u8]> for ByteKey {
    #[inline]
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

impl Hash for ByteKey {
    /// As the slice hashes (`Borrow<[u8]>` requires it).
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl fmt::Debug for ByteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.as_bytes().escape_ascii())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_compares_as_its_slice() {
        let hasher = ahash::RandomState::with_seeds(1, 2, 3, 4);
        for len in [0, 1, 15, 16, 17, 100] {
            let bytes: Vec<u8> = (0..len as u8).collect();
            let key = ByteKey::from(&bytes[..]);
            assert_eq!(key.is_inline(), len <= INLINE_KEY_BYTES, "len {len}");
            assert_eq!(&*key, &bytes[..]);
            assert_eq!(hasher.hash_one(&key), hasher.hash_one(&bytes[..]));
            let other = ByteKey::from(&[len as u8 + 1][..]);
            assert_eq!(key.cmp(&other), bytes[..].cmp(&[len as u8 + 1][..]));
        }
        assert_eq!(
            format!("{:?}", ByteKey::from(&b"a\"\x01"[..])),
            "b\"a\\\"\\x01\""
        );
    }
}
