//! Token locks: leases with `SET key token NX PX ttl` semantics, in process
//! ([`LockTable`]) and, with the `redis` feature, on a Redis or Valkey server
//! (`RedisLeases`). Both implement one trait, [`LeaseStore`], and pass one conformance
//! suite (`tests/locks_conformance.rs`).
//!
//! A lease is "key `K` is held by token `T` until deadline `D`". The token is the
//! owner's identity (a worker id, a random string): only the holder, proven by its token,
//! may renew or release. Every successful acquire also returns a **fencing token**, a
//! number strictly greater than every earlier one for that key, so that a resource can
//! refuse a stale holder that paused past its deadline and woke up late.
//!
//! ```
//! use std::time::Duration;
//! use polycache::locks::{LeaseStore, LockTable};
//! use polycache::ManualClock;
//!
//! let clock = ManualClock::new();
//! let locks = LockTable::with_clock(clock.clone());
//! let ttl = Duration::from_secs(5);
//!
//! let fence = locks.try_acquire("job:42", "worker-a", ttl)?.expect("free");
//! assert_eq!(locks.try_acquire("job:42", "worker-b", ttl)?, None); // held
//! assert!(!locks.release("job:42", "worker-b")?); // not the holder: nothing changes
//! clock.advance(Duration::from_secs(3));
//! assert!(locks.renew("job:42", "worker-a", ttl)?); // deadline is now 3 s + 5 s
//! assert_eq!(locks.holder("job:42")?.unwrap().remaining, ttl);
//! clock.advance(Duration::from_secs(5)); // expired: nobody holds it any more
//! assert!(!locks.renew("job:42", "worker-a", ttl)?); // and it is never brought back
//! let later = locks.try_acquire("job:42", "worker-b", ttl)?.expect("expired");
//! assert!(later > fence);
//! # Ok::<(), polycache::locks::LockError>(())
//! ```
//!
//! # Invariants (both backends)
//!
//! - **Mutual exclusion**: a key has at most one holder; a key is held exactly while
//!   `now < deadline`. `try_acquire` succeeds only when the key holds no unexpired lease.
//! - **Only the holder**: `renew` and `release` compare the token and the deadline
//!   atomically with their effect (under the shard lock; inside one Lua script on Redis).
//!   Another token, an expired lease or an absent one answer `false` and change nothing.
//! - **Expired is gone**: expiry is checked on every access; an expired lease is never
//!   renewed, released or reported, and its key is free. `renew` sets the deadline to
//!   `now + ttl` (it may shorten it).
//! - **Fencing**: the fence of a successful acquire is strictly greater than the fence of
//!   every earlier acquire of the same key, across releases and expiries. Fences start
//!   at 1; distinct keys may share a value.
//! - **Never evicted**: a lock table has no capacity and is not a cache: a held lease
//!   is removed only by its release or its expiry (no memory pressure evicts it).
//! - **Bad input is an error, never a panic**: an empty key or token, a zero TTL or one
//!   that overflows the clock give a [`LockError`].
//! - **Blocking acquire** ([`LeaseStore::acquire_timeout`]) waits without spinning or
//!   polling: it sleeps until the lease is released (a notification), until the lease's
//!   own deadline, or until the caller's deadline, whichever comes first, then checks
//!   again. It never waits past the caller's deadline (plus scheduling delay). It is
//!   not fair: a thread that asks right after a release may take the lease before a
//!   woken waiter does, which then waits again (`benches/locks.rs` measures both the
//!   barging and the forced hand-off rates).
//!
//! # Why the table does not ride on `Sharded`
//!
//! [`Sharded`](crate::Sharded) stores entries in an evicting policy, and a held lease must
//! never be evicted, so the table has its own shards: each is a mutex around a plain
//! hash map of leases, plus a condition variable for blocked acquirers. It reuses the
//! [`ShardSelector`](crate::ShardSelector) for routing (seeded hasher, so keys chosen by
//! a user cannot aim at one shard), and never holds two shard locks at once.
//!
//! # Memory
//!
//! - Fences cost nothing per key: each shard keeps one counter, incremented under the
//!   shard lock by every acquire in that shard. A key always lives in the same shard, so
//!   its fences strictly increase, and nothing is kept for a key once its lease is gone.
//! - Expired leases of keys nobody touches again are reclaimed by a sweep that runs when
//!   a shard's map has doubled since the last sweep, so a shard holds at most
//!   `max(64, 2 × the leases alive at its last sweep)` entries, at amortized O(1) per
//!   acquire. [`LockTable::purge_expired`] sweeps on demand.
//! - On Redis, each key ever locked keeps a small counter key (`<prefix>fence:{key}`) for
//!   ever: that is what keeps its fences increasing across expiries. See the `redis`
//!   module for the key layout.

use std::time::Duration;

#[cfg(all(feature = "redis", not(loom)))]
mod redis;
mod table;

#[cfg(all(feature = "redis", not(loom)))]
pub use self::redis::RedisLeases;
pub use self::table::{DEFAULT_LOCK_SHARDS, LockTable};

/// What a lease store answers about a held key: see [`LeaseStore::holder`].
///
/// ```
/// use std::time::Duration;
/// use polycache::locks::{LeaseInfo, LeaseStore, LockTable};
/// use polycache::ManualClock;
/// let locks = LockTable::with_clock(ManualClock::new());
/// let fence = locks.try_acquire("k", "me", Duration::from_millis(100))?.unwrap();
/// let info = locks.holder("k")?.unwrap();
/// assert_eq!(info, LeaseInfo { token: "me".into(), remaining: Duration::from_millis(100), fence });
/// # Ok::<(), polycache::locks::LockError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseInfo {
    /// The holder's token.
    pub token: String,
    /// Time left before the lease expires (never zero: an expired lease is not held).
    /// On Redis this has millisecond resolution.
    pub remaining: Duration,
    /// The fencing token returned by the acquire that created the lease.
    pub fence: u64,
}

/// A lease operation was refused: bad input, or (Redis) the server could not be used.
///
/// ```
/// use std::time::Duration;
/// use polycache::locks::{LeaseStore, LockError, LockTable};
/// let locks = LockTable::new();
/// let ttl = Duration::from_secs(1);
/// assert_eq!(locks.try_acquire("", "t", ttl), Err(LockError::EmptyKey));
/// assert_eq!(locks.try_acquire("k", "", ttl), Err(LockError::EmptyToken));
/// assert_eq!(locks.try_acquire("k", "t", Duration::ZERO), Err(LockError::ZeroTtl));
/// assert_eq!(
///     locks.try_acquire("k", "t", Duration::MAX),
///     Err(LockError::TtlOverflow(Duration::MAX))
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// The key was empty.
    #[error("lock key must not be empty")]
    EmptyKey,
    /// The token was empty: it could not tell one owner from another.
    #[error("lock token must not be empty")]
    EmptyToken,
    /// The TTL was zero: such a lease would be expired when granted.
    #[error("lease ttl must be greater than zero")]
    ZeroTtl,
    /// The TTL puts the deadline past the clock's range (about 584 years).
    #[error("lease ttl {0:?} overflows the clock's range")]
    TtlOverflow(Duration),
    /// The backend (a Redis server) failed: connection, protocol or script error.
    #[error("lease backend: {0}")]
    Backend(String),
}

/// A store of leases with `SET key token NX PX ttl` semantics: the one trait both
/// [`LockTable`] and `RedisLeases` implement. See the [module docs](self) for the
/// invariants every implementation keeps.
///
/// Code written against the trait runs on either backend:
///
/// ```
/// use std::time::Duration;
/// use polycache::locks::{LeaseStore, LockError, LockTable};
///
/// /// Runs `work` under the lease, or returns `None` if someone else holds it.
/// fn exclusively<S: LeaseStore, R>(
///     store: &S,
///     key: &str,
///     me: &str,
///     work: impl FnOnce(u64) -> R,
/// ) -> Result<Option<R>, LockError> {
///     let Some(fence) = store.try_acquire(key, me, Duration::from_secs(10))? else {
///         return Ok(None);
///     };
///     let out = work(fence);
///     store.release(key, me)?;
///     Ok(Some(out))
/// }
///
/// let locks = LockTable::new();
/// assert_eq!(exclusively(&locks, "report", "me", |fence| fence)?, Some(1));
/// assert_eq!(exclusively(&locks, "report", "me", |fence| fence)?, Some(2));
/// # Ok::<(), LockError>(())
/// ```
pub trait LeaseStore {
    /// Takes the lease on `key` for `token` until now + `ttl` if nobody holds it (absent
    /// or expired), and returns its fencing token; `None` if it is held, by anyone,
    /// including `token` itself (like `SET NX`).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use polycache::locks::{LeaseStore, LockTable};
    /// let locks = LockTable::new();
    /// let ttl = Duration::from_secs(30);
    /// assert_eq!(locks.try_acquire("k", "a", ttl)?, Some(1));
    /// assert_eq!(locks.try_acquire("k", "a", ttl)?, None); // not re-entrant
    /// # Ok::<(), polycache::locks::LockError>(())
    /// ```
    fn try_acquire(&self, key: &str, token: &str, ttl: Duration) -> Result<Option<u64>, LockError>;

    /// Like [`try_acquire`](Self::try_acquire), but while the key is held, waits until
    /// it is released or expires, at most `timeout`; `None` if the timeout passed first.
    /// A zero `timeout` tries once. Waiting neither spins nor polls: see the
    /// [module docs](self).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use polycache::locks::{LeaseStore, LockTable};
    /// let locks = LockTable::new();
    /// let ttl = Duration::from_secs(30);
    /// locks.try_acquire("k", "a", ttl)?.unwrap();
    /// std::thread::scope(|s| {
    ///     let waiter = s.spawn(|| locks.acquire_timeout("k", "b", ttl, Duration::from_secs(30)));
    ///     locks.release("k", "a").unwrap(); // wakes the waiter
    ///     assert_eq!(waiter.join().unwrap(), Ok(Some(2)));
    /// });
    /// # Ok::<(), polycache::locks::LockError>(())
    /// ```
    fn acquire_timeout(
        &self,
        key: &str,
        token: &str,
        ttl: Duration,
        timeout: Duration,
    ) -> Result<Option<u64>, LockError>;

    /// Extends the lease to now + `ttl` if `token` holds it and it has not expired;
    /// `false` (and no change) otherwise. An expired lease is never brought back.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use polycache::locks::{LeaseStore, LockTable};
    /// let locks = LockTable::new();
    /// let ttl = Duration::from_secs(30);
    /// locks.try_acquire("k", "a", ttl)?.unwrap();
    /// assert!(locks.renew("k", "a", ttl)?);
    /// assert!(!locks.renew("k", "b", ttl)?);
    /// assert!(!locks.renew("absent", "a", ttl)?);
    /// # Ok::<(), polycache::locks::LockError>(())
    /// ```
    fn renew(&self, key: &str, token: &str, ttl: Duration) -> Result<bool, LockError>;

    /// Compare and delete: removes the lease if `token` holds it and it has not expired,
    /// and wakes blocked acquirers; `false` (and no change) for another token, an
    /// expired or an absent lease.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use polycache::locks::{LeaseStore, LockTable};
    /// let locks = LockTable::new();
    /// locks.try_acquire("k", "a", Duration::from_secs(30))?.unwrap();
    /// assert!(!locks.release("k", "b")?);
    /// assert!(locks.release("k", "a")?);
    /// assert!(!locks.release("k", "a")?);
    /// # Ok::<(), polycache::locks::LockError>(())
    /// ```
    fn release(&self, key: &str, token: &str) -> Result<bool, LockError>;

    /// The current holder of `key`, its remaining time and its fence; `None` if the key
    /// is free (absent or expired).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use polycache::locks::{LeaseStore, LockTable};
    /// let locks = LockTable::new();
    /// assert_eq!(locks.holder("k")?, None);
    /// locks.try_acquire("k", "a", Duration::from_secs(30))?.unwrap();
    /// assert_eq!(locks.holder("k")?.unwrap().token, "a");
    /// # Ok::<(), polycache::locks::LockError>(())
    /// ```
    fn holder(&self, key: &str) -> Result<Option<LeaseInfo>, LockError>;
}

/// Checks a key and a token.
pub(crate) fn check_key_token(key: &str, token: &str) -> Result<(), LockError> {
    if key.is_empty() {
        return Err(LockError::EmptyKey);
    }
    if token.is_empty() {
        return Err(LockError::EmptyToken);
    }
    Ok(())
}

/// Checks a TTL and returns it in nanoseconds: non-zero, and representable by a clock
/// (at most `u64::MAX` nanoseconds); the deadline is checked against `now` by the
/// backend.
pub(crate) fn ttl_nanos(ttl: Duration) -> Result<u64, LockError> {
    if ttl.is_zero() {
        return Err(LockError::ZeroTtl);
    }
    u64::try_from(ttl.as_nanos()).map_err(|_| LockError::TtlOverflow(ttl))
}
