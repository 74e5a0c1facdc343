//! [`GdsfOrder`]: GreedyDual-Size-Frequency, for entries of very different weights.
//!
//! # The rule
//!
//! Every entry has a priority
//!
//! ```text
//! priority = L + frequency × cost / weight        (cost = 1)
//! ```
//!
//! - `weight` is the entry's weight from the core's weigher (its size, with a byte
//!   weigher); `frequency` starts at 1 on insert and grows by 1 on every hit or write to
//!   the stored key (saturating).
//! - The victim is the entry of lowest priority (ties: the one whose priority was set
//!   first). `L` (the *inflation*) becomes the victim's priority each time one is
//!   chosen, so every later insert or hit starts from the level of the last eviction:
//!   entries that stop being used sink below newcomers and leave, and the cache does not
//!   freeze with old popular entries (Cherkasova, "Improving WWW Proxies Performance
//!   with Greedy-Dual-Size-Frequency Caching Policy", HP Labs 1998).
//! - With a unit cost the rule maximizes the *object* hit ratio: it prefers to evict
//!   large, rarely used entries. With the unit weigher it is LFU with aging by inflation.
//! - An explicit removal or an expiry does not change `L`.
//! - A write that changes an entry's weight recomputes its priority with the new weight.
//! - A resize ([`Policy::set_capacity_into`](crate::Policy::set_capacity_into)) keeps
//!   every priority and `L` (nothing is sized from the capacity); a shrink evicts by
//!   the rule above, and `L` rises with each victim as it does for an insert.
//!
//! # Cost
//!
//! O(log n) per insert, hit, write and removal: the entries sit in an *indexed binary
//! min-heap* (`Vec<u32>` of entry indices); each entry's node holds its position in the
//! heap, so a hit or a removal finds its entry's place in O(1) and sifts it in
//! O(log n). When the core moves an entry in its arena ([`Order::on_relocate`]), the
//! heap slot named by the moved node is pointed at the new index. `victim` is O(1).
//!
//! # Invariants (checked by [`Order::validate`])
//!
//! - the heap holds every entry exactly once, and `entries[heap[p]].node.pos == p`;
//! - heap order: no entry's `(priority, stamp)` is below its parent's;
//! - every frequency is at least 1, every priority is finite and at least 0.

use std::cmp::Ordering;

use crate::core::{Entry, Order, Slots};

/// An entry's GDSF state: its heap position, frequency, priority and a tie-break stamp.
#[derive(Clone, Copy, Debug)]
pub struct GdsfNode {
    pos: u32,
    freq: u32,
    priority: f64,
    stamp: u64,
}

impl Default for GdsfNode {
    fn default() -> Self {
        GdsfNode {
            pos: u32::MAX,
            freq: 0,
            priority: 0.0,
            stamp: 0,
        }
    }
}

impl GdsfNode {
    /// How often the entry was used (1 on insert, +1 per hit or rewrite).
    pub fn frequency(&self) -> u32 {
        self.freq
    }

    /// Its current priority (`L + frequency / weight` when last set).
    pub fn priority(&self) -> f64 {
        self.priority
    }

    #[inline]
    fn key(&self) -> (f64, u64) {
        (self.priority, self.stamp)
    }
}

#[inline]
fn less(a: (f64, u64), b: (f64, u64)) -> bool {
    match a.0.total_cmp(&b.0) {
        Ordering::Less => true,
        Ordering::Greater => false,
        Ordering::Equal => a.1 < b.1,
    }
}

/// The GreedyDual-Size-Frequency eviction order. See [`Gdsf`](crate::Gdsf) and the
/// [module documentation](self) for the rule and the cost.
///
/// ```
/// use polycache_policies::{Policy, Gdsf};
/// // A 100-byte budget; the weight is the value's length.
/// let mut cache = Gdsf::<u32, Vec<u8>>::builder(100)
///     .weigher(|_: &u32, v: &Vec<u8>| v.len() as u64)
///     .build()
///     .unwrap();
/// cache.insert(1, vec![0; 60]).unwrap(); // large
/// cache.insert(2, vec![0; 10]).unwrap(); // small
/// cache.get(&1);
/// cache.insert(3, vec![0; 35]).unwrap(); // needs room: 1 (2/60) < 2 (1/10) goes
/// assert!(!cache.contains(&1));
/// assert!(cache.contains(&2) && cache.contains(&3));
/// cache.validate().unwrap();
/// ```
#[derive(Clone, Debug, Default)]
pub struct GdsfOrder {
    /// Entry indices, a min-heap on `(priority, stamp)`.
    heap: Vec<u32>,
    /// The inflation `L`: the priority of the last victim.
    inflation: f64,
    /// Counter for the tie-break stamps.
    clock: u64,
}

impl GdsfOrder {
    /// The inflation `L`: the priority of the last entry chosen as a victim (0 before).
    pub fn inflation(&self) -> f64 {
        self.inflation
    }

    fn set_priority<K, V>(&mut self, slots: &mut Slots<'_, K, V, GdsfNode>, i: u32) {
        let weight = slots.weight(i).max(1) as f64;
        self.clock += 1;
        let inflation = self.inflation;
        let node = slots.node_mut(i);
        node.priority = inflation + f64::from(node.freq) / weight;
        node.stamp = self.clock;
    }

    #[inline]
    fn key_at<K, V>(&self, slots: &Slots<'_, K, V, GdsfNode>, p: usize) -> (f64, u64) {
        slots.node(self.heap[p]).key()
    }

    #[inline]
    fn place<K, V>(&mut self, slots: &mut Slots<'_, K, V, GdsfNode>, p: usize, i: u32) {
        self.heap[p] = i;
        slots.node_mut(i).pos = p as u32;
    }

    fn sift_up<K, V>(&mut self, slots: &mut Slots<'_, K, V, GdsfNode>, mut p: usize) -> usize {
        let i = self.heap[p];
        let key = slots.node(i).key();
        while p > 0 {
            let parent = (p - 1) / 2;
            if !less(key, self.key_at(slots, parent)) {
                break;
            }
            let up = self.heap[parent];
            self.place(slots, p, up);
            p = parent;
        }
        self.place(slots, p, i);
        p
    }

    fn sift_down<K, V>(&mut self, slots: &mut Slots<'_, K, V, GdsfNode>, mut p: usize) {
        let i = self.heap[p];
        let key = slots.node(i).key();
        let n = self.heap.len();
        loop {
            let l = 2 * p + 1;
            if l >= n {
                break;
            }
            let r = l + 1;
            let c = if r < n && less(self.key_at(slots, r), self.key_at(slots, l)) {
                r
            } else {
                l
            };
            if !less(self.key_at(slots, c), key) {
                break;
            }
            let down = self.heap[c];
            self.place(slots, p, down);
            p = c;
        }
        self.place(slots, p, i);
    }

    /// Restores heap order around position `p` after its key changed either way.
    fn fix<K, V>(&mut self, slots: &mut Slots<'_, K, V, GdsfNode>, p: usize) {
        let p = self.sift_up(slots, p);
        self.sift_down(slots, p);
    }
}

impl<K, V> Order<K, V> for GdsfOrder {
    type Node = GdsfNode;

    fn on_insert(&mut self, slots: &mut Slots<'_, K, V, GdsfNode>, i: u32, _: u64) {
        slots.node_mut(i).freq = 1;
        self.set_priority(slots, i);
        self.heap.push(i);
        let p = self.heap.len() - 1;
        slots.node_mut(i).pos = p as u32;
        self.sift_up(slots, p);
    }

    fn on_access(&mut self, slots: &mut Slots<'_, K, V, GdsfNode>, i: u32, _: u64) {
        let node = slots.node_mut(i);
        node.freq = node.freq.saturating_add(1);
        self.set_priority(slots, i);
        let p = slots.node(i).pos as usize;
        // The priority only grows, unless a rewrite made the entry heavier.
        self.fix(slots, p);
    }

    fn on_remove(&mut self, slots: &mut Slots<'_, K, V, GdsfNode>, i: u32) {
        let p = slots.node(i).pos as usize;
        *slots.node_mut(i) = GdsfNode::default();
        let last = self.heap.len() - 1;
        let moved = self.heap[last];
        self.heap.pop();
        if p != last {
            self.place(slots, p, moved);
            self.fix(slots, p);
        }
    }

    #[inline]
    fn on_relocate(&mut self, slots: &mut Slots<'_, K, V, GdsfNode>, _from: u32, to: u32) {
        let p = slots.node(to).pos as usize;
        self.heap[p] = to;
    }

    #[inline]
    fn victim(&mut self, slots: &mut Slots<'_, K, V, GdsfNode>) -> Option<u32> {
        let i = *self.heap.first()?;
        // The core removes the victim it is handed: the level of eviction rises to it.
        self.inflation = self.inflation.max(slots.node(i).priority);
        Some(i)
    }

    fn clear(&mut self) {
        self.heap.clear();
        self.inflation = 0.0;
    }

    fn validate(&self, entries: &[Entry<K, V, GdsfNode>]) -> Result<(), String> {
        if self.heap.len() != entries.len() {
            return Err(format!(
                "sized heap has {} of {} entries",
                self.heap.len(),
                entries.len()
            ));
        }
        let mut seen = vec![false; entries.len()];
        for (p, &i) in self.heap.iter().enumerate() {
            let Some(e) = entries.get(i as usize) else {
                return Err(format!("heap slot {p} names entry {i}, out of bounds"));
            };
            if std::mem::replace(&mut seen[i as usize], true) {
                return Err(format!("entry {i} twice in the heap"));
            }
            if e.node.pos as usize != p {
                return Err(format!("entry {i} at heap slot {p} says {}", e.node.pos));
            }
            if e.node.freq == 0 || !e.node.priority.is_finite() || e.node.priority < 0.0 {
                return Err(format!("entry {i}: bad node {:?}", e.node));
            }
            if p > 0 {
                let parent = &entries[self.heap[(p - 1) / 2] as usize].node;
                if less(e.node.key(), parent.key()) {
                    return Err(format!("heap order broken at slot {p}"));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{EvictionCause, Gdsf, Policy};

    fn by_value(_: &u32, v: &u32) -> u64 {
        u64::from(*v)
    }

    fn cache(cap: u64) -> Gdsf<u32, u32, fn(&u32, &u32) -> u64> {
        // The value is the weight.
        Gdsf::<u32, u32>::builder(cap)
            .weigher(by_value as fn(&u32, &u32) -> u64)
            .build()
            .unwrap()
    }

    #[test]
    fn prefers_to_evict_large_rare_entries() {
        let mut c = cache(100);
        c.insert(1, 50).unwrap(); // 1/50
        c.insert(2, 10).unwrap(); // 1/10
        c.insert(3, 10).unwrap(); // 1/10
        let out = c.insert(4, 40).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].key, out[0].cause), (1, EvictionCause::Capacity));
        c.validate().unwrap();
    }

    #[test]
    fn frequency_protects_and_inflation_ages() {
        let mut c = cache(30);
        c.insert(1, 10).unwrap();
        for _ in 0..5 {
            c.get(&1);
        }
        c.insert(2, 10).unwrap();
        c.insert(3, 10).unwrap();
        // 2 is the oldest of the priority-0.1 pair: it goes, 1 (0.6) stays.
        let out = c.insert(4, 10).unwrap();
        assert_eq!(out[0].key, 2);
        assert!((c.order().inflation() - 0.1).abs() < 1e-12);
        // Newcomers now start at L = 0.1, L rises with each eviction: after enough
        // churn, 1 (0.6, never used again) is evicted too.
        let mut gone = false;
        for k in 10..200 {
            for e in c.insert(k, 10).unwrap() {
                gone |= e.key == 1;
            }
            c.validate().unwrap();
        }
        assert!(gone, "an unused popular entry never aged out");
    }

    #[test]
    fn relocation_keeps_the_heap_valid() {
        let mut c = cache(1000);
        for k in 0..50 {
            c.insert(k, 1 + k % 7).unwrap();
        }
        for k in (0..50).step_by(3) {
            c.remove(&k);
            c.validate().unwrap();
        }
        for k in 0..50 {
            c.get(&k);
            c.insert(k + 100, 1 + k % 5).unwrap();
            c.validate().unwrap();
        }
        c.retain(|k, _| k % 2 == 0);
        c.validate().unwrap();
    }

    #[test]
    fn heavier_rewrite_recomputes_priority() {
        let mut c = cache(100);
        c.insert(1, 10).unwrap();
        c.insert(2, 10).unwrap();
        c.insert(1, 60).unwrap(); // 1: freq 2, 2/60 < 1/10
        let out = c.insert(3, 40).unwrap();
        assert_eq!(out[0].key, 1);
        c.validate().unwrap();
    }
}
