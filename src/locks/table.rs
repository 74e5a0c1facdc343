//! [`LockTable`]: the in-process lease store.
//!
//! Each shard is a mutex around a map `key -> (token, deadline, fence)`, a fence counter
//! and a sweep threshold, plus a condition variable that blocked acquirers wait on. See
//! the [module docs](super) for the invariants and the memory bound.

use std::time::Duration;

use hashbrown::HashTable;
use polycache_policies::{Clock, SystemClock};

use super::{LeaseInfo, LeaseStore, LockError, check_key_token, ttl_nanos};
use crate::error::BuildError;
use crate::selector::ShardSelector;
use crate::sync::Mutex;

/// A shard's map is swept of expired leases when it reaches this many entries at the
/// least (then again whenever it has doubled since the last sweep).
const MIN_SWEEP: usize = 64;

/// The shard count [`LockTable::new`] and [`LockTable::with_clock`] use.
pub const DEFAULT_LOCK_SHARDS: usize = 16;

/// A condition variable with a timed wait: parking_lot's, or loom's (which has no timed
/// wait: under loom a waiter is woken only by a notification, which is what the loom
/// models check).
#[cfg(not(loom))]
mod wait {
    use parking_lot::MutexGuard;
    use std::time::Duration;

    #[derive(Debug, Default)]
    pub(super) struct Condvar(parking_lot::Condvar);

    impl Condvar {
        pub(super) fn wait_for<'a, T>(
            &self,
            mut guard: MutexGuard<'a, T>,
            timeout: Duration,
        ) -> MutexGuard<'a, T> {
            // A timeout past `Instant`'s range waits for a notification only.
            let _ = self.0.wait_for(&mut guard, timeout);
            guard
        }

        pub(super) fn notify_all(&self) {
            self.0.notify_all();
        }
    }
}

#[cfg(loom)]
mod wait {
    use loom::sync::MutexGuard;
    use std::time::Duration;

    #[derive(Debug)]
    pub(super) struct Condvar(loom::sync::Condvar);

    impl Default for Condvar {
        fn default() -> Self {
            Condvar(loom::sync::Condvar::new())
        }
    }

    impl Condvar {
        pub(super) fn wait_for<'a, T>(
            &self,
            guard: MutexGuard<'a, T>,
            _timeout: Duration,
        ) -> MutexGuard<'a, T> {
            self.0.wait(guard).unwrap_or_else(|e| e.into_inner())
        }

        pub(super) fn notify_all(&self) {
            self.0.notify_all();
        }
    }
}

#[derive(Debug)]
struct Lease {
    token: Box<str>,
    /// Held while `now < deadline` (clock nanoseconds).
    deadline: u64,
    fence: u64,
}

#[derive(Debug)]
struct State {
    /// Probed with the selector's hash of the key (the one that chose the shard), so a
    /// key is hashed once per operation.
    leases: HashTable<(Box<str>, Lease)>,
    /// The selector's hasher, to re-hash keys when the table grows.
    hasher: ahash::RandomState,
    /// The last fence handed out in this shard (0: none yet).
    fence: u64,
    /// Sweep expired leases when `leases.len()` reaches this.
    sweep_at: usize,
}

impl State {
    /// Removes every expired lease; returns whether any was removed.
    fn sweep(&mut self, now: u64) -> bool {
        let before = self.leases.len();
        self.leases.retain(|(_, l)| l.deadline > now);
        self.sweep_at = MIN_SWEEP.max(2 * self.leases.len());
        self.leases.len() != before
    }
}

/// One shard, padded so that two shards never share a cache line.
#[derive(Debug)]
#[repr(align(128))]
struct Shard {
    state: Mutex<State>,
    /// Notified when a lease of this shard is released or found expired.
    freed: wait::Condvar,
}

/// What an acquire attempt under the shard lock found.
enum Attempt {
    Acquired(u64),
    /// Held by someone until this deadline.
    Held(u64),
}

/// The in-process lease store: [`LeaseStore`] over sharded maps, with time from a
/// [`Clock`].
///
/// Cloning is not offered: share it with an `Arc` (it is `Send + Sync`).
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use polycache::locks::{LeaseStore, LockTable};
///
/// let locks = Arc::new(LockTable::new());
/// let ttl = Duration::from_secs(10);
/// let handles: Vec<_> = (0..4)
///     .map(|i| {
///         let locks = locks.clone();
///         std::thread::spawn(move || locks.try_acquire("leader", &format!("node-{i}"), ttl))
///     })
///     .collect();
/// let winners = handles
///     .into_iter()
///     .map(|h| h.join().unwrap().unwrap())
///     .filter(Option::is_some)
///     .count();
/// assert_eq!(winners, 1);
/// ```
pub struct LockTable<C: Clock = SystemClock> {
    selector: ShardSelector,
    shards: Box<[Shard]>,
    clock: C,
}

impl LockTable<SystemClock> {
    /// A table on the system clock with [`DEFAULT_LOCK_SHARDS`] shards.
    ///
    /// ```
    /// use polycache::locks::LockTable;
    /// assert_eq!(LockTable::new().shard_count(), polycache::locks::DEFAULT_LOCK_SHARDS);
    /// ```
    pub fn new() -> Self {
        Self::with_clock(SystemClock::new())
    }
}

impl Default for LockTable<SystemClock> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: Clock> LockTable<C> {
    /// A table reading time from `clock` (a [`ManualClock`](crate::ManualClock) in
    /// tests), with [`DEFAULT_LOCK_SHARDS`] shards.
    ///
    /// ```
    /// use std::time::Duration;
    /// use polycache::locks::{LeaseStore, LockTable};
    /// use polycache::ManualClock;
    /// let clock = ManualClock::new();
    /// let locks = LockTable::with_clock(clock.clone());
    /// locks.try_acquire("k", "a", Duration::from_secs(1))?.unwrap();
    /// clock.advance(Duration::from_secs(1));
    /// assert_eq!(locks.holder("k")?, None);
    /// # Ok::<(), polycache::locks::LockError>(())
    /// ```
    pub fn with_clock(clock: C) -> Self {
        let selector = ShardSelector::new(DEFAULT_LOCK_SHARDS)
            .expect("DEFAULT_LOCK_SHARDS is a valid shard count");
        Self::with_selector(selector, clock)
    }

    /// A table with `shards` shards (a power of two) routed by a hasher seeded from
    /// `seed` (reproducible routing, for tests and models).
    ///
    /// ```
    /// use polycache::locks::LockTable;
    /// use polycache::{BuildError, ManualClock};
    /// assert_eq!(LockTable::with_shards(4, 7, ManualClock::new())?.shard_count(), 4);
    /// assert_eq!(
    ///     LockTable::with_shards(3, 7, ManualClock::new()).err(),
    ///     Some(BuildError::ShardCount(3))
    /// );
    /// # Ok::<(), BuildError>(())
    /// ```
    pub fn with_shards(shards: usize, seed: u64, clock: C) -> Result<Self, BuildError> {
        Ok(Self::with_selector(
            ShardSelector::with_seed(shards, seed)?,
            clock,
        ))
    }

    /// A table routed by `selector`.
    ///
    /// ```
    /// use polycache::locks::LockTable;
    /// use polycache::{ShardSelector, SystemClock};
    /// let sel = ShardSelector::new(64).unwrap();
    /// assert_eq!(LockTable::with_selector(sel, SystemClock::new()).shard_count(), 64);
    /// ```
    pub fn with_selector(selector: ShardSelector, clock: C) -> Self {
        let shards = (0..selector.shards())
            .map(|_| Shard {
                state: Mutex::new(State {
                    leases: HashTable::new(),
                    hasher: selector.hasher().clone(),
                    fence: 0,
                    sweep_at: MIN_SWEEP,
                }),
                freed: wait::Condvar::default(),
            })
            .collect();
        LockTable {
            selector,
            shards,
            clock,
        }
    }

    /// The number of shards.
    ///
    /// ```
    /// # use polycache::locks::LockTable;
    /// # use polycache::ManualClock;
    /// assert_eq!(LockTable::with_shards(1, 0, ManualClock::new()).unwrap().shard_count(), 1);
    /// ```
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// The clock.
    ///
    /// ```
    /// # use polycache::locks::LockTable;
    /// use polycache::{Clock, ManualClock};
    /// let locks = LockTable::with_clock(ManualClock::new());
    /// assert_eq!(locks.clock().now_nanos(), 0);
    /// ```
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// The number of leases held now (visits the shards one by one: not a snapshot while
    /// other threads write).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use polycache::locks::{LeaseStore, LockTable};
    /// use polycache::ManualClock;
    /// let clock = ManualClock::new();
    /// let locks = LockTable::with_clock(clock.clone());
    /// locks.try_acquire("a", "t", Duration::from_secs(1))?.unwrap();
    /// locks.try_acquire("b", "t", Duration::from_secs(2))?.unwrap();
    /// assert_eq!(locks.held(), 2);
    /// clock.advance(Duration::from_secs(1));
    /// assert_eq!(locks.held(), 1);
    /// # Ok::<(), polycache::locks::LockError>(())
    /// ```
    pub fn held(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                let now = self.clock.now_nanos();
                let st = s.state.lock();
                st.leases.iter().filter(|(_, l)| l.deadline > now).count()
            })
            .sum()
    }

    /// The number of entries stored, expired ones not yet reclaimed included (what the
    /// memory bound in the [module docs](super) is about).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use polycache::locks::{LeaseStore, LockTable};
    /// use polycache::ManualClock;
    /// let clock = ManualClock::new();
    /// let locks = LockTable::with_clock(clock.clone());
    /// locks.try_acquire("a", "t", Duration::from_secs(1))?.unwrap();
    /// clock.advance(Duration::from_secs(1));
    /// assert_eq!(locks.stored(), 1);
    /// locks.purge_expired();
    /// assert_eq!(locks.stored(), 0);
    /// # Ok::<(), polycache::locks::LockError>(())
    /// ```
    pub fn stored(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.state.lock().leases.len())
            .sum()
    }

    /// Reclaims every expired lease now (shard by shard). Not needed for correctness:
    /// expiry is checked on every access, and a shard sweeps itself when its map
    /// doubles.
    ///
    /// ```
    /// # use polycache::locks::LockTable;
    /// LockTable::new().purge_expired();
    /// ```
    pub fn purge_expired(&self) {
        for shard in self.shards.iter() {
            let now = self.clock.now_nanos();
            let freed = shard.state.lock().sweep(now);
            if freed {
                shard.freed.notify_all();
            }
        }
    }

    /// Wakes every blocked acquirer to check the clock again.
    ///
    /// Never needed with a real clock: a waiter times its own wake to the lease's
    /// deadline. A [`ManualClock`](crate::ManualClock) moves without real time passing,
    /// so a test that advances it past a lease's deadline calls this to let waiters see
    /// it (they would otherwise wake only after that much real time).
    ///
    /// ```
    /// use std::time::Duration;
    /// use polycache::locks::{LeaseStore, LockTable};
    /// use polycache::ManualClock;
    /// let clock = ManualClock::new();
    /// let locks = LockTable::with_clock(clock.clone());
    /// let hour = Duration::from_secs(3600);
    /// locks.try_acquire("k", "a", hour)?.unwrap();
    /// std::thread::scope(|s| {
    ///     let waiter = s.spawn(|| locks.acquire_timeout("k", "b", hour, 2 * hour));
    ///     clock.advance(hour); // "a" expires
    ///     locks.wake_waiters();
    ///     assert_eq!(waiter.join().unwrap(), Ok(Some(2)));
    /// });
    /// # Ok::<(), polycache::locks::LockError>(())
    /// ```
    pub fn wake_waiters(&self) {
        for shard in self.shards.iter() {
            // Taking the lock orders this wake after any waiter's read of the clock
            // (a waiter holds the lock from its read until it waits), so none misses it.
            drop(shard.state.lock());
            shard.freed.notify_all();
        }
    }

    /// The shard that owns `key`, and the key's hash (which its table is probed with).
    #[inline]
    fn shard(&self, key: &str) -> (&Shard, u64) {
        let hash = self.selector.hash(key);
        (&self.shards[self.selector.shard_of(hash)], hash)
    }

    /// One acquire attempt under the shard lock. An expired lease found on the key is
    /// replaced; a new key may trigger the shard's sweep.
    fn attempt(
        st: &mut State,
        hash: u64,
        key: &str,
        token: &str,
        ttl: u64,
        now: u64,
    ) -> Result<Attempt, LockError> {
        let existing = st
            .leases
            .find_mut(hash, |(k, _)| **k == *key)
            .map(|(_, l)| l);
        if let Some(lease) = &existing {
            if lease.deadline > now {
                return Ok(Attempt::Held(lease.deadline));
            }
        }
        let deadline = now
            .checked_add(ttl)
            .ok_or(LockError::TtlOverflow(Duration::from_nanos(ttl)))?;
        st.fence += 1;
        let fence = st.fence;
        match existing {
            Some(lease) => {
                lease.token = token.into();
                lease.deadline = deadline;
                lease.fence = fence;
            }
            None => {
                if st.leases.len() >= st.sweep_at {
                    st.sweep(now);
                }
                let lease = Lease {
                    token: token.into(),
                    deadline,
                    fence,
                };
                let hasher = &st.hasher;
                st.leases
                    .insert_unique(hash, (key.into(), lease), |(k, _)| hasher.hash_one(&**k));
            }
        }
        Ok(Attempt::Acquired(fence))
    }
}

impl<C: Clock> LeaseStore for LockTable<C> {
    fn try_acquire(&self, key: &str, token: &str, ttl: Duration) -> Result<Option<u64>, LockError> {
        check_key_token(key, token)?;
        let ttl = ttl_nanos(ttl)?;
        let (shard, hash) = self.shard(key);
        let mut st = shard.state.lock();
        let now = self.clock.now_nanos();
        Ok(match Self::attempt(&mut st, hash, key, token, ttl, now)? {
            Attempt::Acquired(fence) => Some(fence),
            Attempt::Held(_) => None,
        })
    }

    fn acquire_timeout(
        &self,
        key: &str,
        token: &str,
        ttl: Duration,
        timeout: Duration,
    ) -> Result<Option<u64>, LockError> {
        check_key_token(key, token)?;
        let ttl = ttl_nanos(ttl)?;
        let timeout = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        let (shard, hash) = self.shard(key);
        let mut st = shard.state.lock();
        let start = self.clock.now_nanos();
        // A deadline past the clock's range is "wait as long as it takes".
        let give_up = start.saturating_add(timeout);
        loop {
            let now = self.clock.now_nanos();
            match Self::attempt(&mut st, hash, key, token, ttl, now)? {
                Attempt::Acquired(fence) => return Ok(Some(fence)),
                Attempt::Held(until) => {
                    if now >= give_up {
                        return Ok(None);
                    }
                    // Sleep until the lease's deadline or ours, unless a release (or a
                    // wake_waiters) comes first; then check again.
                    let wake = until.min(give_up);
                    st = shard.freed.wait_for(st, Duration::from_nanos(wake - now));
                }
            }
        }
    }

    fn renew(&self, key: &str, token: &str, ttl: Duration) -> Result<bool, LockError> {
        check_key_token(key, token)?;
        let ttl = ttl_nanos(ttl)?;
        let (shard, hash) = self.shard(key);
        let mut st = shard.state.lock();
        let now = self.clock.now_nanos();
        let Ok(entry) = st.leases.find_entry(hash, |(k, _)| **k == *key) else {
            return Ok(false);
        };
        if entry.get().1.deadline <= now {
            let _ = entry.remove();
            drop(st);
            shard.freed.notify_all();
            return Ok(false);
        }
        let lease = &mut entry.into_mut().1;
        if *lease.token != *token {
            return Ok(false);
        }
        lease.deadline = now
            .checked_add(ttl)
            .ok_or(LockError::TtlOverflow(Duration::from_nanos(ttl)))?;
        Ok(true)
    }

    fn release(&self, key: &str, token: &str) -> Result<bool, LockError> {
        check_key_token(key, token)?;
        let (shard, hash) = self.shard(key);
        let mut st = shard.state.lock();
        let now = self.clock.now_nanos();
        let Ok(entry) = st.leases.find_entry(hash, |(k, _)| **k == *key) else {
            return Ok(false);
        };
        let lease = &entry.get().1;
        let expired = lease.deadline <= now;
        let mine = !expired && *lease.token == *token;
        if expired || mine {
            let _ = entry.remove();
            drop(st);
            shard.freed.notify_all();
        }
        Ok(mine)
    }

    fn holder(&self, key: &str) -> Result<Option<LeaseInfo>, LockError> {
        if key.is_empty() {
            return Err(LockError::EmptyKey);
        }
        let (shard, hash) = self.shard(key);
        let mut st = shard.state.lock();
        let now = self.clock.now_nanos();
        let Ok(entry) = st.leases.find_entry(hash, |(k, _)| **k == *key) else {
            return Ok(None);
        };
        let lease = &entry.get().1;
        if lease.deadline <= now {
            let _ = entry.remove();
            drop(st);
            shard.freed.notify_all();
            return Ok(None);
        }
        Ok(Some(LeaseInfo {
            token: lease.token.to_string(),
            remaining: Duration::from_nanos(lease.deadline - now),
            fence: lease.fence,
        }))
    }
}

impl<C: Clock> std::fmt::Debug for LockTable<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockTable")
            .field("shards", &self.shards.len())
            .finish_non_exhaustive()
    }
}
