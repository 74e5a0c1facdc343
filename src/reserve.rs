//! The capacity reserve of a [`Sharded`](crate::Sharded) cache: a slice of its capacity
//! that no shard owns, lent to the shards that run out of room first.
//!
//! # Why
//!
//! A seeded hash splits the keys over the shards unevenly: with `n` shards, a working
//! set of `k` keys puts about `k / n ± sqrt(k / n)` in each. A working set that fits the
//! whole cache may not fit the shards it lands in. The loop trace of
//! `../shared/traces` asks 1,011 keys in a loop at 1,024 entries: over 2 shards of 512,
//! the seeds that put more than 512 keys in one shard make that shard loop, and
//! `Sharded<TinyLfu>` scored 98.1 to 98.3% on them against 99.8% for the bare policy.
//! An even split cannot fix it; letting the fuller shard use the room the other leaves
//! does.
//!
//! # How
//!
//! - [`reserve_for`] sets aside `capacity / `[`RESERVE_DIVISOR`] (about 6%) when the
//!   cache has several shards of at least [`RESERVE_MIN_SHARE`] each (smaller caches
//!   keep the exact even split). The rest is split evenly: each shard is built with its
//!   **guaranteed** capacity, and the reserve starts as the free **pool**.
//! - Under its own lock, before each insert, while the pool has room, a shard weighs
//!   the entry ([`Policy::weight_of`]; a full cache, whose pool is empty, weighs
//!   nothing more). If the entry would not fit its free room (or less than a **chunk**
//!   is free), it borrows what is missing, at least a chunk, growing its policy with
//!   [`Policy::set_capacity_into`]. An entry heavier than the shard's guarantee borrows
//!   nothing.
//! - A shard that borrowed gives it all back, keeping a chunk free, once its weight is
//!   under its guarantee by a margin: a chunk, or the heaviest entry it weighed if
//!   more (after removals, expiry or a `clear`). Neither step evicts anything with the
//!   crate's policies: a shard only ever gives back room it does not use.
//! - That margin is the hysteresis that keeps capacities still once the cache is full.
//!   A full shard's free room swings by an entry's weight with every eviction; a rule
//!   on free room alone (give back beyond two chunks free) had weighted shards give
//!   back and borrow again all the time, and each resize costs `TinyLfu` what it
//!   learned about the room that moved: `Sharded<TinyLfu>` lost 0.4 to 1.7 points on
//!   the adaptsize trace (`cargo run --release -p polycache-sim -- --traces
//!   ../shared/traces --seeds 5`). Borrowing only a chunk at a time, weighted shards
//!   evicted instead of borrowing (entries outweigh chunks) and gave the chunk back on
//!   the next insert: the reserve went mostly unused.
//! - The reserve is 1/16 of the capacity: with 1/32, 16% of seeds still split the loop
//!   trace's 1,011 keys in a 1,024-entry cache over 2 shards more unevenly than the reserve
//!   covered (the seed spread of `Sharded<TinyLfu>` there was 0.87 points over 20
//!   seeds); with 1/16 it covers 2.4 standard deviations of the split (0.00 over 20
//!   seeds), and no other cell of the sim's table moved by more than its noise. The
//!   price is a guaranteed share, and so a largest entry, 6% under an even split.
//! - The chunk is `reserve / (16 × shards)`, at least 1: one entry at a time for the
//!   small caches where one entry matters, fewer pool operations in large ones.
//! - A policy that refuses a resize (the trait's provided `set_capacity_into`), or
//!   grows or shrinks less (or shrinks more) than asked, moves only what its capacity
//!   moved; a shard whose policy cannot grow stops borrowing and still gives back. A
//!   policy must not grow past what it is asked for.

//! # Invariants
//!
//! - **The capacity is kept**: the shards' capacities plus the pool never exceed the
//!   cache's capacity, and equal it when no insert is in flight. A shard takes from the
//!   pool (one atomic compare-exchange that never takes the pool below zero) before it
//!   grows, and shrinks before it gives back. Since each policy keeps its weight within
//!   its own capacity, the whole cache never holds more than its capacity.
//! - **A shard's guaranteed capacity is its own**: a shard's capacity never goes under
//!   the capacity it was built with, so an entry that fits the smallest guaranteed
//!   capacity ([`Sharded::max_entry_weight`](crate::Sharded::max_entry_weight)) is
//!   never refused as too heavy. A heavier one may fit a shard that has borrowed.
//! - **One lock at a time**: a shard borrows and gives back under its own lock only;
//!   the pool is the only state shared between shards, a single atomic counter. Its
//!   modification order alone keeps the first invariant.
//! - **A count is never over the capacity**: `len` and `weight` add the shards up one
//!   lock at a time. With shard capacities that move, such a sum could count a shard
//!   before it gave room back and another after it borrowed that room, and exceed the
//!   capacity the cache never exceeded. So the pool also counts give-backs, and a sum
//!   is retried when one happened while it was taken (see `Pool::returns`; after a few
//!   tries it is capped at the capacity, which the true count is under).
//! - **Nothing is lost to a panic**: the pool changes only by the amounts the policy's
//!   capacity changes by. The weigher runs (through [`Policy::weight_of`]) before the
//!   pool is touched, and resizing the crate's policies calls no user code (no weigher,
//!   no listener). A policy of one's own whose `set_capacity_into` panics after a
//!   borrow loses what was borrowed from the cache's capacity (never more).
//!
//! # What it does not do
//!
//! The reserve goes to the shards that fill first and comes back only as room they no
//! longer use (after removals, expiry, or a `clear`). A shard that borrowed and stays
//! full keeps what it borrowed: with keys spread by a seeded hash, every shard sees the
//! same workload, so this is where the room is needed. Reclaiming borrowed room that is
//! in use would mean evicting from one shard for another's sake, which no operation
//! holding one lock can do.

use std::sync::Arc;

use polycache_policies::{Evictions, Policy};

use crate::sync::atomic::{
    AtomicU64,
    Ordering::{Acquire, Relaxed, Release},
};

/// The reserve is `capacity / RESERVE_DIVISOR` (see [`reserve_for`]).
pub const RESERVE_DIVISOR: u64 = 16;

/// Caches whose shards would get less than this much capacity each (and caches of one
/// shard) keep no reserve.
pub const RESERVE_MIN_SHARE: u64 = 64;

/// Chunks per shard in the reserve (see the [module docs](self)).
const CHUNKS_PER_SHARD: u64 = 16;

/// The capacity a cache of `capacity` split over `shards` keeps in reserve: 0 for one
/// shard or shares under [`RESERVE_MIN_SHARE`], else `capacity / `[`RESERVE_DIVISOR`].
///
/// ```
/// use polycache::sharded::reserve_for;
/// assert_eq!(reserve_for(1000, 1), 0); // one shard: exact order, no reserve
/// assert_eq!(reserve_for(100, 4), 0); // shares of 25: too small to lend
/// assert_eq!(reserve_for(1024, 2), 64);
/// assert_eq!(reserve_for(1 << 20, 8), 1 << 16);
/// ```
pub fn reserve_for(capacity: u64, shards: usize) -> u64 {
    let n = shards as u64;
    if n <= 1 || capacity / n < RESERVE_MIN_SHARE {
        0
    } else {
        capacity / RESERVE_DIVISOR
    }
}

/// The free part of the reserve, shared by the shards, and a count of the times a
/// shard gave room back.
#[derive(Debug)]
pub(crate) struct Pool {
    free: AtomicU64,
    /// Bumped before each give-back reaches `free` (see [`Pool::returns`]).
    returns: AtomicU64,
}

impl Pool {
    /// Takes up to `want` from the pool; returns what it took (0 if empty).
    #[inline]
    fn take(&self, want: u64) -> u64 {
        let mut free = self.free.load(Relaxed);
        loop {
            if free == 0 {
                return 0;
            }
            let got = free.min(want);
            // Acquire: a give-back this takes from, and the bump of `returns` before
            // it, happen before the borrower's unlock (see `Pool::returns`).
            match self
                .free
                .compare_exchange_weak(free, free - got, Acquire, Relaxed)
            {
                Ok(_) => return got,
                Err(now) => free = now,
            }
        }
    }

    /// What is free now.
    #[inline]
    pub(crate) fn free(&self) -> u64 {
        self.free.load(Relaxed)
    }

    /// Hands `give` back to the pool, after the shard shrank by as much.
    #[inline]
    fn give_back(&self, give: u64) {
        self.returns.fetch_add(1, Relaxed);
        self.free.fetch_add(give, Release);
    }

    /// How many times a shard gave room back so far. A sum over the shards read one
    /// lock at a time between two equal readings of this count is at most the
    /// capacity: with no give-back in between, no shard's capacity went down while the
    /// others were read, and what they borrowed meanwhile was free before the first
    /// read. (A borrower that took room given back has, through the pool's
    /// release/acquire pair, the bump before it; the reader that locks that shard after
    /// it sees the bump on its second reading.)
    #[inline]
    pub(crate) fn returns(&self) -> u64 {
        self.returns.load(Acquire)
    }
}

/// One shard's side of the reserve, kept under the shard's lock.
#[derive(Debug)]
pub(crate) struct ShardReserve {
    /// The pool, or `None` when the cache keeps no reserve.
    pool: Option<Arc<Pool>>,
    /// The capacity the shard was built with; it never goes under it.
    guaranteed: u64,
    /// What the shard borrows at once (at least), and keeps free when it gives back.
    chunk: u64,
    /// The heaviest entry (within the guarantee) weighed since the shard last gave
    /// back: a weighted shard gives back only when its weight is under its guarantee by
    /// that much, so that a full shard whose free room swings by an entry with each
    /// eviction keeps what it borrowed.
    heaviest: u64,
    /// `false` once the policy refused to grow (a policy of one's own): the shard
    /// stops borrowing, and still gives back.
    can_grow: bool,
}

impl ShardReserve {
    /// The reserves of the shards of a cache of `capacity` over `shards`, and the pool
    /// they share (`None` without a reserve); `guaranteed(i)` is shard `i`'s guaranteed
    /// capacity.
    pub(crate) fn split(
        capacity: u64,
        shards: usize,
        guaranteed: impl Fn(usize) -> u64,
    ) -> (Vec<ShardReserve>, Option<Arc<Pool>>) {
        let reserve = reserve_for(capacity, shards);
        let pool = (reserve > 0).then(|| {
            Arc::new(Pool {
                free: AtomicU64::new(reserve),
                returns: AtomicU64::new(0),
            })
        });
        let chunk = (reserve / (CHUNKS_PER_SHARD * shards as u64)).max(1);
        let shards = (0..shards)
            .map(|i| ShardReserve {
                pool: pool.clone(),
                guaranteed: guaranteed(i),
                chunk,
                heaviest: 0,
                can_grow: true,
            })
            .collect();
        (shards, pool)
    }

    /// The capacity the shard was built with.
    #[inline]
    pub(crate) fn guaranteed(&self) -> u64 {
        self.guaranteed
    }

    /// Before an insert of `key` and `value` into `policy`, under the shard's lock:
    /// while the pool has room, borrows when the entry would not fit the free room (at
    /// least a chunk); else gives back what the shard borrowed when its weight is under
    /// its guarantee by a margin (a chunk, or the heaviest entry it has weighed if more;
    /// it keeps a chunk free). Resizes that a policy refuses or limits move only what
    /// its capacity moved; what a resize pushes out (never, with this crate's policies:
    /// they never shrink under their weight) goes to `out`.
    #[inline]
    pub(crate) fn before_insert<K, V, P: Policy<K, V>>(
        &mut self,
        policy: &mut P,
        key: &K,
        value: &V,
        out: &mut Evictions<K, V>,
    ) {
        let Some(pool) = &self.pool else {
            return;
        };
        let capacity = policy.capacity();
        let weight = policy.weight();
        let free = capacity.saturating_sub(weight);
        // Weighed only while the pool has room: a full cache pays nothing more. An
        // entry heavier than the guarantee borrows nothing and sets no margin: the
        // reserve is for working sets split unevenly, not for entries no shard is sure
        // to take.
        let mut short = None;
        if self.can_grow && pool.free() > 0 {
            let w = policy.weight_of(key, value);
            if w <= self.guaranteed {
                self.heaviest = self.heaviest.max(w);
                if free < w.max(self.chunk) {
                    short = Some(self.chunk.max(w - free.min(w)));
                }
            }
        }
        if let Some(want) = short {
            let got = pool.take(want);
            if got > 0 {
                let now = resize(policy, capacity + got, out);
                settle(pool, capacity, got, now);
                if now <= capacity {
                    // A policy that cannot grow: stop trying (its share of the pool
                    // stays there for the others; it still gives back).
                    self.can_grow = false;
                }
            }
        } else if capacity > self.guaranteed
            && weight.saturating_add(self.chunk.max(self.heaviest)) <= self.guaranteed
        {
            let keep = self.guaranteed.max(weight + self.chunk).min(capacity);
            let now = resize(policy, keep, out);
            settle(pool, capacity, 0, now);
            // The margin is measured afresh for the next borrowing.
            self.heaviest = 0;
        }
    }
}

/// A shard's policy went from capacity `before` to `now`, having taken `got` from the
/// pool for it: the pool gets back what the shard did not keep. A policy must not grow
/// past what it was asked for (that would create capacity; the crate's never do).
#[inline]
fn settle(pool: &Pool, before: u64, got: u64, now: u64) {
    debug_assert!(
        now <= before + got,
        "a policy grew past the capacity asked for"
    );
    let unused = (before + got).saturating_sub(now);
    if unused > 0 {
        pool.give_back(unused);
    }
}

/// Asks `policy` for `capacity`, with what leaves going to `out`; returns its capacity
/// after (unchanged if it refused).
#[inline]
fn resize<K, V, P: Policy<K, V>>(policy: &mut P, capacity: u64, out: &mut Evictions<K, V>) -> u64 {
    let _refused = policy.set_capacity_into(capacity, out);
    policy.capacity()
}
