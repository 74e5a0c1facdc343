//! [`LruOrder`]: least recently used.
//!
//! One list over all entries, least recent at the front. A hit or a write moves the
//! entry to the back; the victim is the front. Every hook is O(1).
//!
//! Nothing is sized from the capacity: a resize
//! ([`Policy::set_capacity_into`](crate::Policy::set_capacity_into)) keeps the order,
//! and a shrink evicts the least recent entries.
//!
//! Invariant: the list holds every entry exactly once.

use crate::core::{Entry, Order, Slots};
use crate::list::{Links, List};

/// The least-recently-used eviction order. See [`Lru`](crate::Lru).
#[derive(Clone, Debug, Default)]
pub struct LruOrder {
    list: List,
}

impl<K, V> Order<K, V> for LruOrder {
    type Node = Links;

    #[inline]
    fn on_insert(&mut self, slots: &mut Slots<'_, K, V, Links>, i: u32, _: u64) {
        self.list.push_back(slots.entries, i);
    }

    #[inline]
    fn on_access(&mut self, slots: &mut Slots<'_, K, V, Links>, i: u32, _: u64) {
        self.list.move_to_back(slots.entries, i);
    }

    #[inline]
    fn on_remove(&mut self, slots: &mut Slots<'_, K, V, Links>, i: u32) {
        self.list.remove(slots.entries, i);
    }

    #[inline]
    fn on_relocate(&mut self, slots: &mut Slots<'_, K, V, Links>, from: u32, to: u32) {
        self.list.relocate(slots.entries, from, to);
    }

    #[inline]
    fn victim(&mut self, _: &mut Slots<'_, K, V, Links>) -> Option<u32> {
        self.list.front()
    }

    fn clear(&mut self) {
        self.list.clear();
    }

    fn validate(&self, entries: &[Entry<K, V, Links>]) -> Result<(), String> {
        self.list.validate(entries, |_| Ok(()))?;
        if self.list.len() != entries.len() {
            return Err(format!(
                "lru list has {} of {} entries",
                self.list.len(),
                entries.len()
            ));
        }
        Ok(())
    }
}
