//! [`LfuOrder`]: least frequently used, in O(1), with aging.
//!
//! The classic O(1) LFU layout (Shah, Mitra & Matani, 2010): a list of frequency
//! buckets in ascending frequency, each holding the list of its entries; an entry knows
//! its bucket. A hit moves the entry to the bucket of the next frequency (created next
//! to its own if missing), so no hook ever searches.
//!
//! # The rule
//!
//! - A new entry has frequency 1. A hit, or a write to a stored key, adds 1.
//! - The victim is the entry of lowest frequency; among equals, the one that reached
//!   that frequency first (the least recently promoted: ties broken by recency).
//! - **Aging**: after `8 × max(len, 16)` accesses (inserts and hits) since the last
//!   aging, every frequency `f` becomes `(f + 1) / 2`, so old popularity fades. Buckets
//!   that meet are merged in ascending order of their old frequency, so an entry that
//!   was less frequent stays ahead (evicted sooner) of one that was more frequent. Aging
//!   costs O(len) once per O(len) accesses: O(1) amortized.
//! - A write that makes an entry heavier than the room left re-inserts it as new
//!   (frequency 1) after the others have made room.
//! - A resize ([`Policy::set_capacity_into`](crate::Policy::set_capacity_into)) keeps
//!   every frequency (nothing is sized from the capacity: the aging period follows the
//!   entries held); a shrink evicts by the rule above.
//!
//! # Invariants
//!
//! - bucket frequencies strictly increase along the bucket list, and no bucket is empty;
//! - every entry is in exactly one bucket, the one its node names.

use crate::core::{Entry, Order, Slots};
use crate::list::{Idx, Links, List, NIL, linked_by_field};

/// Accesses between agings, per entry stored (at least 16 entries are assumed).
pub const AGING_PERIOD_PER_ENTRY: u64 = 8;

/// An entry's LFU state: its links in its bucket, and its bucket.
#[derive(Clone, Copy, Debug)]
pub struct LfuNode {
    links: Links,
    bucket: Idx,
}

impl Default for LfuNode {
    fn default() -> Self {
        LfuNode {
            links: Links::UNLINKED,
            bucket: NIL,
        }
    }
}

linked_by_field!(LfuNode, links);

#[derive(Clone, Debug)]
struct Bucket {
    freq: u32,
    members: List,
    /// Links in the bucket list.
    links: Links,
}

linked_by_field!(Bucket, links);

/// The least-frequently-used eviction order. See [`Lfu`](crate::Lfu).
#[derive(Clone, Debug, Default)]
pub struct LfuOrder {
    buckets: Vec<Bucket>,
    free: Vec<Idx>,
    /// Buckets in ascending frequency.
    by_freq: List,
    accesses: u64,
}

impl LfuOrder {
    fn new_bucket(&mut self, freq: u32) -> Idx {
        let bucket = Bucket {
            freq,
            members: List::new(),
            links: Links::UNLINKED,
        };
        match self.free.pop() {
            Some(b) => {
                self.buckets[b as usize] = bucket;
                b
            }
            None => {
                self.buckets.push(bucket);
                (self.buckets.len() - 1) as Idx
            }
        }
    }

    fn drop_bucket_if_empty(&mut self, b: Idx) {
        if self.buckets[b as usize].members.is_empty() {
            self.by_freq.remove(&mut self.buckets, b);
            self.free.push(b);
        }
    }

    /// Puts entry `i` (in no bucket) at the back of a bucket of frequency `freq` that
    /// follows `after` (or is the first, with `after == NIL`).
    fn place<K, V>(&mut self, slots: &mut Slots<'_, K, V, LfuNode>, i: Idx, freq: u32, after: Idx) {
        let next = if after == NIL {
            self.by_freq.front().unwrap_or(NIL)
        } else {
            self.buckets[after as usize].links.next
        };
        let b = if next != NIL && self.buckets[next as usize].freq == freq {
            next
        } else {
            let b = self.new_bucket(freq);
            if after == NIL {
                self.by_freq.push_front(&mut self.buckets, b);
            } else {
                self.by_freq.insert_after(&mut self.buckets, after, b);
            }
            b
        };
        self.buckets[b as usize].members.push_back(slots.entries, i);
        slots.node_mut(i).bucket = b;
    }

    fn count_access<K, V>(&mut self, slots: &mut Slots<'_, K, V, LfuNode>) {
        self.accesses += 1;
        let period = AGING_PERIOD_PER_ENTRY * (slots.len() as u64).max(16);
        if self.accesses >= period {
            self.accesses = 0;
            self.age(slots);
        }
    }

    /// Halves every frequency (rounding up), merging buckets that meet.
    fn age<K, V>(&mut self, slots: &mut Slots<'_, K, V, LfuNode>) {
        let mut prev = NIL;
        let mut cur = self.by_freq.front().unwrap_or(NIL);
        while cur != NIL {
            let next = self.buckets[cur as usize].links.next;
            let freq = self.buckets[cur as usize].freq.div_ceil(2);
            if prev != NIL && self.buckets[prev as usize].freq == freq {
                // Merge: this bucket's members follow the previous bucket's.
                while let Some(i) = self.buckets[cur as usize].members.pop_front(slots.entries) {
                    self.buckets[prev as usize]
                        .members
                        .push_back(slots.entries, i);
                    slots.node_mut(i).bucket = prev;
                }
                self.drop_bucket_if_empty(cur);
            } else {
                self.buckets[cur as usize].freq = freq;
                prev = cur;
            }
            cur = next;
        }
    }

    /// The frequency of the entry whose node is `node` (for tests and inspection).
    pub fn frequency(&self, node: &LfuNode) -> Option<u32> {
        self.buckets.get(node.bucket as usize).map(|b| b.freq)
    }
}

impl<K, V> Order<K, V> for LfuOrder {
    type Node = LfuNode;

    fn on_insert(&mut self, slots: &mut Slots<'_, K, V, LfuNode>, i: u32, _: u64) {
        self.place(slots, i, 1, NIL);
        self.count_access(slots);
    }

    fn on_access(&mut self, slots: &mut Slots<'_, K, V, LfuNode>, i: u32, _: u64) {
        let b = slots.node(i).bucket;
        let freq = self.buckets[b as usize].freq;
        if freq == u32::MAX {
            self.buckets[b as usize]
                .members
                .move_to_back(slots.entries, i);
        } else {
            self.buckets[b as usize].members.remove(slots.entries, i);
            self.place(slots, i, freq + 1, b);
            self.drop_bucket_if_empty(b);
        }
        self.count_access(slots);
    }

    fn on_remove(&mut self, slots: &mut Slots<'_, K, V, LfuNode>, i: u32) {
        let b = slots.node(i).bucket;
        self.buckets[b as usize].members.remove(slots.entries, i);
        slots.node_mut(i).bucket = NIL;
        self.drop_bucket_if_empty(b);
    }

    fn on_relocate(&mut self, slots: &mut Slots<'_, K, V, LfuNode>, from: u32, to: u32) {
        let b = slots.node(to).bucket;
        self.buckets[b as usize]
            .members
            .relocate(slots.entries, from, to);
    }

    #[inline]
    fn victim(&mut self, _: &mut Slots<'_, K, V, LfuNode>) -> Option<u32> {
        let b = self.by_freq.front()?;
        self.buckets[b as usize].members.front()
    }

    fn clear(&mut self) {
        *self = LfuOrder::default();
    }

    fn validate(&self, entries: &[Entry<K, V, LfuNode>]) -> Result<(), String> {
        let mut last_freq = 0u32;
        let mut members = 0usize;
        self.by_freq.validate(&self.buckets, |b| {
            let bucket = &self.buckets[b as usize];
            if bucket.freq <= last_freq {
                return Err(format!("bucket {b} freq {} after {last_freq}", bucket.freq));
            }
            last_freq = bucket.freq;
            if bucket.members.is_empty() {
                return Err(format!("bucket {b} is empty"));
            }
            members += bucket.members.len();
            bucket.members.validate(entries, |i| {
                if entries[i as usize].node.bucket == b {
                    Ok(())
                } else {
                    Err(format!(
                        "entry {i} in bucket {b} names {}",
                        entries[i as usize].node.bucket
                    ))
                }
            })
        })?;
        if members != entries.len() {
            return Err(format!(
                "buckets hold {members} of {} entries",
                entries.len()
            ));
        }
        if self.by_freq.len() + self.free.len() != self.buckets.len() {
            return Err("bucket arena and free list disagree".into());
        }
        Ok(())
    }
}
