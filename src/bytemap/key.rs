//! [`ByteKey`]: how a [`ByteMap`](super::ByteMap) stores a key: inside the entry up to
//! [`INLINE_KEY_BYTES`], on the heap beyond; and [`KeyBytes`], the key it looks up.
//!
//! A look-up compares the key it is given with the stored one. A key behind a pointer
//! (`Box<[u8]>`) costs a cache miss of its own on every look-up that reaches the entry,
//! and an allocation and a free on every write; a short key stored inline costs neither.
//!
//! # Invariants
//!
//! - A `ByteKey` hashes, compares and orders exactly as the `[u8]` it holds, so a map
//!   keyed by `ByteKey` is looked up by `&[u8]` (`Borrow<[u8]>`), or by [`KeyBytes`]
//!   (`Borrow<KeyBytes>`), which hashes and compares as the same `[u8]` too. The map's
//!   hot paths look up by `KeyBytes`: its equality (`bytes_eq`) compares keys of 8
//!   to 16 bytes inline instead of calling `bcmp`.
//! - A key of at most [`INLINE_KEY_BYTES`] bytes is inline ([`ByteKey::is_inline`]).

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use ref_cast::RefCast;
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
#[derive(Clone, Default, Eq, PartialOrd, Ord)]
pub struct ByteKey(SmallVec<[u8; INLINE_KEY_BYTES]>);

impl PartialEq for ByteKey {
    /// As the slices compare (`bytes_eq`).
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        bytes_eq(self, other)
    }
}

/// A key being looked up, as the map's table compares it with stored keys: a `[u8]`
/// whose equality is `bytes_eq`. [`ByteKey`] borrows as one; a `&[u8]` becomes one
/// with [`KeyBytes::new`], at no cost.
///
/// ```
/// use std::borrow::Borrow;
/// use polycache::bytemap::{ByteKey, KeyBytes};
/// let stored = ByteKey::from(&b"user:42"[..]);
/// let seen: &KeyBytes = stored.borrow();
/// assert!(seen == KeyBytes::new(b"user:42"));
/// assert!(seen != KeyBytes::new(b"user:43"));
/// ```
#[derive(RefCast)]
#[repr(transparent)]
pub struct KeyBytes([u8]);

impl KeyBytes {
    /// `bytes` as a key to look up.
    #[inline]
    pub fn new(bytes: &[u8]) -> &KeyBytes {
        KeyBytes::ref_cast(bytes)
    }
}

impl PartialEq for KeyBytes {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        bytes_eq(&self.0, &other.0)
    }
}

impl Eq for KeyBytes {}

impl fmt::Debug for KeyBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

impl Hash for KeyBytes {
    /// As the slice hashes.
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl Borrow<KeyBytes> for ByteKey {
    #[inline]
    fn borrow(&self) -> &KeyBytes {
        KeyBytes::new(self)
    }
}

/// `a == b`, with keys of 8 to 16 bytes compared as two overlapping words, inline.
/// A slice compare of a length known only at run time is a call to `bcmp` (about 20
/// instructions for 16 bytes, and the call); this is about 6. Keep it this small: it is
/// inlined into hashbrown's probe loop, and a second branch (4 to 7 bytes as two `u32`)
/// made that loop too large to inline into a ByteMap hit, which then ran as many
/// instructions as with `bcmp` (220), not 28 fewer (`BYTEMAP=1 COLUMN=2
/// benches/compare/cachegrind.sh`).
#[inline(always)]
fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if (8..=16).contains(&n) {
        let word = |s: &[u8], at: usize| u64::from_ne_bytes(s[at..at + 8].try_into().unwrap());
        return word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8);
    }
    a == b
}

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

    /// `bytes_eq` is `==` of slices: every length to 40, equal, and differing at each
    /// position (so each word of the overlapping compare is seen to matter), and
    /// lengths that differ.
    #[test]
    fn bytes_eq_is_slice_equality() {
        for n in 0..=40usize {
            let a: Vec<u8> = (0..n).map(|i| (i * 7 + 1) as u8).collect();
            assert!(bytes_eq(&a, &a.clone()), "len {n}");
            assert!(KeyBytes::new(&a) == KeyBytes::new(&a.clone()));
            for at in 0..n {
                let mut b = a.clone();
                b[at] ^= 0x80;
                assert!(!bytes_eq(&a, &b), "len {n}, differing at {at}");
                assert!(ByteKey::from(&a[..]) != ByteKey::from(&b[..]));
            }
            assert!(!bytes_eq(&a, &a[..n.saturating_sub(1)]) || n == 0);
        }
    }

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
