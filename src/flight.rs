//! Single-flight loading for [`Cache::get_or_insert_with`](crate::Cache::get_or_insert_with).
//!
//! # Protocol
//!
//! - Each shard keeps, under its own lock, the list of keys being loaded ([`Flights`]),
//!   each with a shared [`Flight`] slot.
//! - A caller that misses looks in that list under the same lock: if the key is being
//!   loaded it takes the slot and waits on it (no shard lock held); otherwise it
//!   registers a new slot and becomes the leader.
//! - The leader runs the loader outside any lock. On success it takes the shard lock
//!   once to store the value *and* unregister the slot (so a later caller finds either
//!   the slot or the value, never neither while a load is running), then publishes the
//!   value to the waiters.
//! - On an error or a panic (a drop guard), the leader unregisters the slot and marks it
//!   abandoned; waiters wake and start over, so one of them runs its own loader. Nothing
//!   is cached.
//! - **A write supersedes a load.** An insert of the key that succeeds, a remove of
//!   it, or a `clear`, while its load runs, marks the slot *superseded* (under the
//!   shard lock, in the same critical section as the write). The leader then stores
//!   nothing: its value was read before that write, and storing it would overwrite an
//!   acknowledged insert or undo an invalidation. A superseded slot is no longer found:
//!   a caller that comes after the write leads a load of its own. The leader and the
//!   waiters that joined before the write still get the loaded value: their calls
//!   overlap the write, so they read as if they happened just before it.

use std::borrow::Borrow;
use std::sync::Arc;

use crate::sync::{Condvar, Mutex};

enum State<V> {
    Running,
    Done(V),
    Abandoned,
}

/// The slot waiters block on while a leader loads one key.
pub(crate) struct Flight<V> {
    state: Mutex<State<V>>,
    changed: Condvar,
}

impl<V: Clone> Flight<V> {
    pub(crate) fn new() -> Self {
        Flight {
            state: Mutex::new(State::Running),
            changed: Condvar::new(),
        }
    }

    /// Blocks until the leader finishes: `Some(value)`, or `None` if it gave up.
    pub(crate) fn wait(&self) -> Option<V> {
        let mut state = self.state.lock();
        loop {
            match &*state {
                State::Running => state = self.changed.wait(state),
                State::Done(v) => return Some(v.clone()),
                State::Abandoned => return None,
            }
        }
    }

    /// Publishes the outcome and wakes every waiter.
    pub(crate) fn finish(&self, outcome: Option<V>) {
        *self.state.lock() = match outcome {
            Some(v) => State::Done(v),
            None => State::Abandoned,
        };
        self.changed.notify_all();
    }
}

/// One load under way: the key's hash, the key, its slot, and whether a write has
/// superseded it.
struct Running<K, V> {
    hash: u64,
    key: K,
    flight: Arc<Flight<V>>,
    superseded: bool,
}

/// The keys being loaded in one shard. Few at a time (at most one per loading thread),
/// so a vector scanned by hash is enough.
pub(crate) struct Flights<K, V> {
    running: Vec<Running<K, V>>,
}

impl<K, V> Default for Flights<K, V> {
    fn default() -> Self {
        Flights {
            running: Vec::new(),
        }
    }
}

impl<K: Eq, V> Flights<K, V> {
    /// The slot of `key`, if it is being loaded and no write has superseded the load
    /// (a caller that comes after the write must not get a value read before it: it
    /// leads a load of its own).
    #[inline]
    pub(crate) fn find(&self, hash: u64, key: &K) -> Option<&Arc<Flight<V>>> {
        self.position(hash, key).map(|at| &self.running[at].flight)
    }

    /// Where the live (not superseded) load of `key` is in this shard's list, if one
    /// runs: stable until the shard lock is released. For a write that supersedes the
    /// load only if it succeeds ([`Flights::supersede_at`]).
    #[inline]
    pub(crate) fn position(&self, hash: u64, key: &K) -> Option<usize> {
        self.running
            .iter()
            .position(|r| !r.superseded && r.hash == hash && r.key == *key)
    }

    /// Marks the load at `at` (from [`Flights::position`], under the same lock) as
    /// superseded.
    #[inline]
    pub(crate) fn supersede_at(&mut self, at: usize) {
        self.running[at].superseded = true;
    }

    pub(crate) fn register(&mut self, hash: u64, key: K, flight: Arc<Flight<V>>) {
        self.running.push(Running {
            hash,
            key,
            flight,
            superseded: false,
        });
    }

    /// Marks the load of `key`, if one runs, as superseded by a write: its leader will
    /// store nothing. Called under the shard lock by every write of `key`.
    #[inline]
    pub(crate) fn supersede<Q>(&mut self, hash: u64, key: &Q)
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        // Nearly always empty: one branch.
        for r in &mut self.running {
            if r.hash == hash && r.key.borrow() == key {
                r.superseded = true;
            }
        }
    }

    /// Marks every load of this shard as superseded (a `clear`).
    pub(crate) fn supersede_all(&mut self) {
        for r in &mut self.running {
            r.superseded = true;
        }
    }

    /// Unregisters `flight` (by identity); `true` if a write superseded it meanwhile
    /// (its value must not be stored).
    pub(crate) fn unregister(&mut self, flight: &Arc<Flight<V>>) -> bool {
        match self
            .running
            .iter()
            .position(|r| Arc::ptr_eq(&r.flight, flight))
        {
            Some(i) => self.running.swap_remove(i).superseded,
            None => false,
        }
    }

    /// Number of loads running in this shard.
    pub(crate) fn len(&self) -> usize {
        self.running.len()
    }
}
