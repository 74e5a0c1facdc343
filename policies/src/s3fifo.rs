//! [`S3FifoOrder`]: S3-FIFO (Yang et al., SOSP 2023) with quick_cache's fill rule: two
//! FIFO queues, a ghost, and hits that need no exclusive access.
//!
//! - **Main** holds the entries that proved themselves; its share of the entries is
//!   97% by default (`100 -` [`DEFAULT_SMALL_PERCENT`]). At its front, an entry with a
//!   non-zero counter goes back to the end with its counter decremented (CLOCK); one at
//!   zero is evicted. Main is only evicted from while it is over its share (after a
//!   promotion) or when small is empty.
//! - **Small** takes the other newcomers. At its front, an entry read since it came in
//!   moves to main (its counter reset); one never read is evicted, and its fingerprint
//!   goes to the ghost.
//! - **A newcomer** goes to main if the ghost remembers its fingerprint (it was evicted
//!   from small recently: a second chance), or while main is below its share (the cache
//!   is filling, or entries were removed); else to small.
//! - **Ghost** (8-way buckets of 32-bit fingerprints): fingerprints of the entries
//!   evicted from small, half as many as main's share of the entries (so about 48% of
//!   the entries, quick_cache's default), forgotten oldest first (per bucket of 8).
//!   A ghost as large as main (the paper's) sends too many returning keys straight to
//!   main. Against the better of moka and quick_cache on `../shared/traces`, half that
//!   size cuts the total shortfall from 104 to 60 points (loop, scan, zigzag and sprite
//!   gain 1 to 18 points a cell) but meets 23 cells instead of 26 (p3 at 32,768 loses
//!   4.8 points, where the larger ghost matched moka; multi2 at 500 loses 3.0; OLTP's
//!   small sizes 0.5 to 0.8); on the `benches/compare` Zipf workload (a) the hit ratio
//!   goes from 0.824 to 0.833.
//!
//! The fill rule is what keeps a loop larger than the cache from missing every time
//! (plain S3-FIFO sends every newcomer to small, where a loop's keys are evicted
//! before their next use). The 3% share is quick_cache's; the paper's 10% is
//! [`S3FifoOrder::with_small_percent`]`(10)`. On `../shared/traces` the 3% share meets
//! the better of moka and quick_cache (less 0.5 points) in more cells: loops, scans
//! and p3 gain, OLTP's small capacities lose about a point
//! (`cargo run --release -p polycache-sim -- --traces ../shared/traces --policies s3fifo`).
//!
//! A hit only bumps the entry's 2-bit counter (saturating at 3). The counter is an
//! `AtomicU8` written with relaxed loads and stores, so a hit needs only `&self`:
//! [`Policy::get_shared_hashed`](crate::Policy::get_shared_hashed) serves it, and the
//! sharded layer serves hits under a shared (read) lock. Two racing hits may count as
//! one; that only makes an entry look one access colder, never breaks an invariant.
//! A counter already at 3 is not written again, so hot entries stay in every core's
//! cache in the shared state.
//!
//! Queue shares are counted in entries, not weight (as in the paper), and of the entries
//! held, not of the capacity: a resize
//! ([`Policy::set_capacity_into`](crate::Policy::set_capacity_into)) needs nothing of
//! the order. A shrink evicts as an insert would (small's front while main is within
//! its share, then main's CLOCK); counters and ghost are kept, except that a ghost
//! with room for 4 times what the entries left need is cut down as the shrink evicts
//! (keeping the newest fingerprints that fit).
//!
//! Cost: a hit is O(1) and writes at most one byte. An eviction is amortized O(1): each
//! pass over a main entry spends one of the at most 3 credits its hits gave it, and an
//! entry moves from small to main at most once per insertion.
//!
//! # Invariants (checked by `validate`)
//!
//! - every entry is in exactly one of the two lists, the one its node names;
//! - every counter is at most 3;
//! - the ghost's own invariants.

use std::sync::atomic::{AtomicU8, Ordering::Relaxed};

use crate::core::{Entry, Order, Slots, spare};
use crate::ghost::Ghost;
use crate::list::{Links, List, linked_by_field};

/// A counter saturates here (2 bits).
const MAX_FREQ: u8 = 3;
/// The default share of small, in percent of the entries.
pub const DEFAULT_SMALL_PERCENT: u8 = 3;

const SMALL: u8 = 0;
const MAIN: u8 = 1;

/// S3-FIFO's per-entry state: the links of its queue, the key's fingerprint (for the
/// ghost), the access counter and the queue it is in.
#[derive(Debug, Default)]
pub struct S3FifoNode {
    links: Links,
    fp: u32,
    freq: AtomicU8,
    queue: u8,
}

impl Clone for S3FifoNode {
    fn clone(&self) -> Self {
        S3FifoNode {
            links: self.links,
            fp: self.fp,
            freq: AtomicU8::new(self.freq.load(Relaxed)),
            queue: self.queue,
        }
    }
}

linked_by_field!(S3FifoNode, links);

impl S3FifoNode {
    /// The access counter (0 to 3).
    pub fn freq(&self) -> u8 {
        self.freq.load(Relaxed)
    }

    /// Whether the entry is in the main queue (else in small).
    pub fn in_main(&self) -> bool {
        self.queue == MAIN
    }

    /// Records one access; needs only `&self`. A racing access may be lost.
    #[inline]
    fn touch(&self) {
        let f = self.freq.load(Relaxed);
        if f < MAX_FREQ {
            self.freq.store(f + 1, Relaxed);
        }
    }
}

/// The S3-FIFO eviction order. See [`S3Fifo`](crate::S3Fifo) and the module docs above.
///
/// ```
/// use polycache_policies::{Policy, S3Fifo};
/// let mut cache = S3Fifo::<u32, u32>::new(100).unwrap();
/// for k in 0..100 {
///     cache.insert(k, k).unwrap(); // 97 fill main, 3 go to small
/// }
/// for k in 0..100 {
///     assert_eq!(cache.get_shared(&k), Some(&k)); // a hit through &self
/// }
/// // A scan of keys used once passes through small: the entries that were read stay,
/// // but for the 3 that small held (their promotion to main pushed out as many).
/// for k in 1000..1100 {
///     cache.insert(k, k).unwrap();
/// }
/// assert_eq!((0..100).filter(|k| cache.contains(k)).count(), 97);
/// ```
#[derive(Clone, Debug)]
pub struct S3FifoOrder {
    small: List,
    main: List,
    ghost: Ghost,
    small_percent: u8,
    /// Set by a resize: the next eviction sizes the ghost down if the capacity fell
    /// far ([`S3FifoOrder::fit_ghost`]).
    resized: bool,
}

impl Default for S3FifoOrder {
    fn default() -> Self {
        S3FifoOrder::with_small_percent(DEFAULT_SMALL_PERCENT)
    }
}

impl S3FifoOrder {
    /// An order whose small queue is drained while it holds at least `percent`% of the
    /// entries (clamped to 1..=90; the default is [`DEFAULT_SMALL_PERCENT`]). A smaller
    /// share trusts frequency more (skewed workloads), a larger one recency.
    ///
    /// ```
    /// use polycache_policies::{Policy, S3Fifo, S3FifoOrder};
    /// let mut cache = S3Fifo::<u32, u32>::builder(100)
    ///     .order(S3FifoOrder::with_small_percent(3))
    ///     .build()
    ///     .unwrap();
    /// cache.insert(1, 1).unwrap();
    /// ```
    pub fn with_small_percent(percent: u8) -> Self {
        S3FifoOrder {
            small: List::new(),
            main: List::new(),
            ghost: Ghost::default(),
            small_percent: percent.clamp(1, 90),
            resized: false,
        }
    }

    /// At each eviction of a resize (until the next insert), as the entries held fall
    /// to what the new capacity holds: a ghost with room for 4 times or more the
    /// fingerprints it needs now (`target / 2`, as [`Order::victim`] bounds it) is cut
    /// down to that, keeping what fits. So a large shrink leaves a ghost at most 4
    /// times what a new order of that size would grow, after O(old ghost) work in all;
    /// small moves keep it whole, so a shard's reserve moves do not make it forget.
    #[cold]
    fn fit_ghost(&mut self, target: usize) {
        let want = (target / 2).max(1);
        if spare(self.ghost.slots() as u64, want as u64) {
            self.ghost.shrink_to(want);
        }
    }

    /// The fingerprint the ghost keeps for a key whose table hash is `hash`: 32 bits of
    /// a strong mix of all 64 (the sharded layer fixes some hash bits per shard; the mix
    /// spreads the rest), never 0. Public so that a reference model can follow the
    /// ghost.
    ///
    /// ```
    /// use polycache_policies::S3FifoOrder;
    /// assert_ne!(S3FifoOrder::fingerprint(0), 0);
    /// ```
    #[inline]
    pub fn fingerprint(hash: u64) -> u32 {
        let mut z = hash;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (((z ^ (z >> 31)) >> 32) as u32).max(1)
    }

    /// Main's share of `total` entries.
    #[inline]
    fn main_target(&self, total: usize) -> usize {
        total * (100 - usize::from(self.small_percent)) / 100
    }

    fn list(&mut self, queue: u8) -> &mut List {
        if queue == MAIN {
            &mut self.main
        } else {
            &mut self.small
        }
    }
}

impl<K, V> Order<K, V> for S3FifoOrder {
    type Node = S3FifoNode;

    const SHARED_ACCESS: bool = true;

    #[inline]
    fn on_insert(&mut self, slots: &mut Slots<'_, K, V, S3FifoNode>, i: u32, hash: u64) {
        // A resize's evictions are over.
        self.resized = false;
        let fp = S3FifoOrder::fingerprint(hash);
        let total = self.small.len() + self.main.len() + 1;
        let queue = if self.ghost.contains(fp) || self.main.len() < self.main_target(total) {
            MAIN
        } else {
            SMALL
        };
        let node = slots.node_mut(i);
        node.fp = fp;
        node.queue = queue;
        *node.freq.get_mut() = 0;
        self.list(queue).push_back(slots.entries, i);
    }

    #[inline]
    fn on_access(&mut self, slots: &mut Slots<'_, K, V, S3FifoNode>, i: u32, _: u64) {
        slots.node(i).touch();
    }

    #[inline]
    fn on_shared_access(&self, node: &S3FifoNode) {
        node.touch();
    }

    #[inline]
    fn on_remove(&mut self, slots: &mut Slots<'_, K, V, S3FifoNode>, i: u32) {
        let queue = slots.node(i).queue;
        self.list(queue).remove(slots.entries, i);
    }

    #[inline]
    fn on_relocate(&mut self, slots: &mut Slots<'_, K, V, S3FifoNode>, from: u32, to: u32) {
        let queue = slots.node(to).queue;
        self.list(queue).relocate(slots.entries, from, to);
    }

    fn victim(&mut self, slots: &mut Slots<'_, K, V, S3FifoNode>) -> Option<u32> {
        loop {
            let target = self.main_target(self.small.len() + self.main.len());
            if self.resized {
                self.fit_ghost(target);
            }
            if !self.small.is_empty() && self.main.len() <= target {
                let t = self.small.front()?;
                let node = slots.node_mut(t);
                if *node.freq.get_mut() > 0 {
                    // Read while in small: promote, with its credit spent.
                    *node.freq.get_mut() = 0;
                    node.queue = MAIN;
                    self.small.remove(slots.entries, t);
                    self.main.push_back(slots.entries, t);
                    continue;
                }
                let fp = node.fp;
                // Half of what main holds when the cache is full (not of main's count
                // now, which may be far below its share).
                self.ghost.set_bound(target / 2);
                self.ghost.insert(fp);
                return Some(t);
            }
            // CLOCK: the hand passes entries with credit left, spending one each, and
            // stops at the first without; the passed ones go to the back in one
            // rotation (as many moves to the back, without relinking each).
            let mut t = self.main.front()?;
            loop {
                let freq = slots.node_mut(t).freq.get_mut();
                if *freq == 0 {
                    break;
                }
                *freq -= 1;
                // Past the end, every entry has been passed once: the order is as it
                // was, and the hand starts again from the front.
                t = self
                    .main
                    .next(slots.entries, t)
                    .unwrap_or_else(|| self.main.front().unwrap_or(t));
            }
            self.main.rotate_to(slots.entries, t);
            return Some(t);
        }
    }

    fn on_resize(&mut self, _: &mut Slots<'_, K, V, S3FifoNode>, _: u64) {
        self.resized = true;
    }

    fn clear(&mut self) {
        self.small.clear();
        self.main.clear();
        self.ghost.clear();
        self.resized = false;
    }

    fn validate(&self, entries: &[Entry<K, V, S3FifoNode>]) -> Result<(), String> {
        let in_queue = |queue: u8| {
            move |i: u32| {
                let node = &entries[i as usize].node;
                if node.queue != queue {
                    return Err(format!(
                        "entry {i} is in queue {queue}, its node says {}",
                        node.queue
                    ));
                }
                if node.freq() > MAX_FREQ {
                    return Err(format!("entry {i} has counter {}", node.freq()));
                }
                Ok(())
            }
        };
        self.small.validate(entries, in_queue(SMALL))?;
        self.main.validate(entries, in_queue(MAIN))?;
        if self.small.len() + self.main.len() != entries.len() {
            return Err(format!(
                "s3fifo queues hold {} + {} of {} entries",
                self.small.len(),
                self.main.len(),
                entries.len()
            ));
        }
        self.ghost.validate()
    }
}
