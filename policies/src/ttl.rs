//! [`TtlOrder`]: the entry that expires soonest goes first.
//!
//! Entries with a deadline are taken in deadline order from the expiry index (the timer
//! wheel the core keeps anyway), so the order costs one list and nothing else; entries
//! without a deadline go last, in the order they were first inserted (a later write to
//! the same key does not move it).
//!
//! Deadline order is exact to the wheel's tick (1.024 µs) for deadlines in the wheel's
//! current 64-tick window; farther out the wheel groups deadlines into slots of `64^L`
//! ticks and the victim is the oldest write of the earliest slot, so it expires at most
//! one slot width after the soonest. That keeps every hook O(1) (a heap would be
//! O(log n)); for the common case of one TTL for all writes, write order is deadline
//! order and the choice is exact.
//!
//! Nothing is sized from the capacity: a resize
//! ([`Policy::set_capacity_into`](crate::Policy::set_capacity_into)) keeps the order,
//! and a shrink evicts by the rule above (soonest deadline first).
//!
//! Invariant: the list holds every entry exactly once, in order of first insert.

use crate::core::{Entry, Order, Slots};
use crate::list::{Links, List};

/// The soonest-deadline-first eviction order. See [`Ttl`](crate::Ttl).
#[derive(Clone, Debug, Default)]
pub struct TtlOrder {
    /// Every entry, in order of first insert: the order among entries without a deadline.
    writes: List,
}

impl<K, V> Order<K, V> for TtlOrder {
    type Node = Links;

    #[inline]
    fn on_insert(&mut self, slots: &mut Slots<'_, K, V, Links>, i: u32, _: u64) {
        self.writes.push_back(slots.entries, i);
    }

    #[inline]
    fn on_access(&mut self, _: &mut Slots<'_, K, V, Links>, _: u32, _: u64) {}

    #[inline]
    fn on_remove(&mut self, slots: &mut Slots<'_, K, V, Links>, i: u32) {
        self.writes.remove(slots.entries, i);
    }

    #[inline]
    fn on_relocate(&mut self, slots: &mut Slots<'_, K, V, Links>, from: u32, to: u32) {
        self.writes.relocate(slots.entries, from, to);
    }

    #[inline]
    fn victim(&mut self, slots: &mut Slots<'_, K, V, Links>) -> Option<u32> {
        slots.timers.earliest().or_else(|| self.writes.front())
    }

    fn clear(&mut self) {
        self.writes.clear();
    }

    fn validate(&self, entries: &[Entry<K, V, Links>]) -> Result<(), String> {
        self.writes.validate(entries, |_| Ok(()))?;
        if self.writes.len() != entries.len() {
            return Err(format!(
                "ttl list has {} of {} entries",
                self.writes.len(),
                entries.len()
            ));
        }
        Ok(())
    }
}
