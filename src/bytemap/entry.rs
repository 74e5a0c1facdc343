//! The entry API of [`ByteMap`](super::ByteMap): one key's slot, looked at and changed
//! under its shard lock ([`ByteMap::entry`](super::ByteMap::entry)).
//!
//! An [`Entry`] borrows the locked shard for the duration of the caller's closure, so
//! "look, then act" is atomic with respect to every other operation on the map. What
//! its operations push out (replaced values, evictions, expired entries) is collected
//! and dropped, and reported to the listener, after the lock is released.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use polycache_policies::{Clock, EvictionCause, Evictions, Policy};

use super::{ByteKey, ByteMapError, BytePolicy, ShardPolicy, ttl_opt, write_locked};
use crate::sharded::Shard;

static EMPTY: Bytes = Bytes::new();

/// A key's slot in a [`ByteMap`](super::ByteMap): holding a live value, or not.
pub enum Entry<'a, O: BytePolicy, C: Clock> {
    /// A live entry is stored for the key.
    Occupied(OccupiedEntry<'a, O, C>),
    /// No live entry (absent, or expired).
    Vacant(VacantEntry<'a, O, C>),
}

/// What every entry holds: the locked shard and where the key is.
struct Slot<'a, O: BytePolicy, C: Clock> {
    shard: &'a mut Shard<ShardPolicy<O, C>, ()>,
    hash: u64,
    key: &'a [u8],
    max_entry: u64,
    out: &'a mut Evictions<ByteKey, Bytes>,
}

impl<O: BytePolicy, C: Clock> Slot<'_, O, C> {
    fn write(&mut self, value: Bytes, ttl: Option<Duration>) -> Result<(), ByteMapError> {
        write_locked(
            self.shard,
            self.hash,
            self.key.into(),
            value,
            ttl,
            self.max_entry,
            self.out,
        )
    }
}

/// A live entry, under its shard lock.
pub struct OccupiedEntry<'a, O: BytePolicy, C: Clock> {
    slot: Slot<'a, O, C>,
}

/// An absent key, under its shard lock.
pub struct VacantEntry<'a, O: BytePolicy, C: Clock> {
    slot: Slot<'a, O, C>,
}

impl<'a, O: BytePolicy, C: Clock> Entry<'a, O, C> {
    pub(super) fn new(
        shard: &'a mut Shard<ShardPolicy<O, C>, ()>,
        hash: u64,
        key: &'a [u8],
        max_entry: u64,
        out: &'a mut Evictions<ByteKey, Bytes>,
    ) -> Self {
        let live = shard.policy.peek_hashed(hash, key).is_some();
        let slot = Slot {
            shard,
            hash,
            key,
            max_entry,
            out,
        };
        if live {
            Entry::Occupied(OccupiedEntry { slot })
        } else {
            Entry::Vacant(VacantEntry { slot })
        }
    }

    /// The key.
    ///
    /// ```
    /// use polycache::bytemap::ByteMap;
    /// let map = ByteMap::builder(1 << 20).build().unwrap();
    /// assert_eq!(map.entry(b"k", |e| e.key().to_vec()), b"k");
    /// ```
    pub fn key(&self) -> &[u8] {
        match self {
            Entry::Occupied(o) => o.slot.key,
            Entry::Vacant(v) => v.slot.key,
        }
    }
}

impl<O: BytePolicy, C: Clock> OccupiedEntry<'_, O, C> {
    /// The key.
    pub fn key(&self) -> &[u8] {
        self.slot.key
    }

    /// The value (not recorded as an access).
    ///
    /// ```
    /// use polycache::bytemap::{ByteMap, Entry};
    /// let map = ByteMap::builder(1 << 20).build().unwrap();
    /// map.insert_slice(b"k", b"v").unwrap();
    /// let v = map.entry(b"k", |e| match e {
    ///     Entry::Occupied(o) => o.get().clone(),
    ///     Entry::Vacant(_) => unreachable!(),
    /// });
    /// assert_eq!(&v[..], b"v");
    /// ```
    pub fn get(&self) -> &Bytes {
        let s = &self.slot;
        s.shard.policy.peek_hashed(s.hash, s.key).unwrap_or(&EMPTY)
    }

    /// The time the entry has left (`None`: no TTL).
    pub fn ttl(&self) -> Option<Duration> {
        let s = &self.slot;
        s.shard.policy.ttl_hashed(s.hash, s.key).flatten()
    }

    /// Replaces the value, with a TTL or none (a plain write clears the TTL); returns
    /// the old value.
    ///
    /// # Errors
    ///
    /// [`ByteMapError::TooLarge`], [`ByteMapError::ZeroTtl`],
    /// [`ByteMapError::TtlOverflow`]; the entry is then unchanged.
    ///
    /// ```
    /// use polycache::bytemap::{ByteMap, Entry};
    /// let map = ByteMap::builder(1 << 20).build().unwrap();
    /// map.insert_with_ttl(b"k", b"1".to_vec(), 1000).unwrap();
    /// map.entry(b"k", |e| match e {
    ///     Entry::Occupied(o) => assert_eq!(&o.insert(b"2".to_vec(), None).unwrap()[..], b"1"),
    ///     Entry::Vacant(_) => unreachable!(),
    /// });
    /// assert_eq!(map.ttl(b"k"), Some(None));
    /// ```
    pub fn insert(
        mut self,
        value: impl Into<Bytes>,
        ttl_ms: Option<u64>,
    ) -> Result<Bytes, ByteMapError> {
        let ttl = ttl_opt(ttl_ms)?;
        let old = self.get().clone();
        self.slot.write(value.into(), ttl)?;
        // The replaced value is returned, not reported.
        if let Some(i) = self
            .slot
            .out
            .iter()
            .rposition(|e| e.cause == EvictionCause::Replaced)
        {
            self.slot.out.remove(i);
        }
        Ok(old)
    }

    /// Changes the value in place: `f` gets a mutable copy, and what it leaves is
    /// written back (re-weighed, the TTL kept, recorded as an access). Returns `f`'s
    /// result. If `f` panics, the entry is unchanged.
    ///
    /// # Errors
    ///
    /// [`ByteMapError::TooLarge`] if the new value is too heavy; the old value stays.
    ///
    /// ```
    /// use polycache::bytemap::{ByteMap, Entry};
    /// let map = ByteMap::builder(1 << 20).build().unwrap();
    /// map.insert_slice(b"k", b"abc").unwrap();
    /// let len = map.entry(b"k", |e| match e {
    ///     Entry::Occupied(o) => o.modify(|v| { v.truncate(1); v.len() }),
    ///     Entry::Vacant(_) => Ok(0),
    /// });
    /// assert_eq!(len, Ok(1));
    /// assert_eq!(map.get_owned(b"k").as_deref(), Some(&b"a"[..]));
    /// ```
    pub fn modify<R>(mut self, f: impl FnOnce(&mut BytesMut) -> R) -> Result<R, ByteMapError> {
        let ttl = self.ttl();
        let mut buf = BytesMut::from(&self.get()[..]);
        let r = f(&mut buf);
        self.slot.write(buf.freeze(), ttl)?;
        Ok(r)
    }

    /// Removes the entry and returns its value.
    ///
    /// ```
    /// use polycache::bytemap::{ByteMap, Entry};
    /// let map = ByteMap::builder(1 << 20).build().unwrap();
    /// map.insert_slice(b"k", b"v").unwrap();
    /// map.entry(b"k", |e| {
    ///     if let Entry::Occupied(o) = e {
    ///         assert_eq!(&o.remove()[..], b"v");
    ///     }
    /// });
    /// assert!(map.is_empty());
    /// ```
    pub fn remove(self) -> Bytes {
        let s = self.slot;
        match s.shard.policy.remove_hashed(s.hash, s.key) {
            Some(e) => {
                s.shard.stats.count_cause(e.cause);
                e.value
            }
            None => Bytes::new(),
        }
    }
}

impl<O: BytePolicy, C: Clock> VacantEntry<'_, O, C> {
    /// The key.
    pub fn key(&self) -> &[u8] {
        self.slot.key
    }

    /// Inserts the value, with a TTL or none.
    ///
    /// # Errors
    ///
    /// [`ByteMapError::TooLarge`], [`ByteMapError::ZeroTtl`],
    /// [`ByteMapError::TtlOverflow`]; the map is then unchanged.
    ///
    /// ```
    /// use polycache::bytemap::{ByteMap, Entry};
    /// let map = ByteMap::builder(1 << 20).build().unwrap();
    /// map.entry(b"k", |e| match e {
    ///     Entry::Vacant(v) => v.insert(b"v".to_vec(), Some(500)),
    ///     Entry::Occupied(_) => Ok(()),
    /// })
    /// .unwrap();
    /// assert!(map.ttl(b"k").unwrap().is_some());
    /// ```
    pub fn insert(
        mut self,
        value: impl Into<Bytes>,
        ttl_ms: Option<u64>,
    ) -> Result<(), ByteMapError> {
        let ttl = ttl_opt(ttl_ms)?;
        self.slot.write(value.into(), ttl)
    }
}
