//! [`PrefixOrder`]: keys belong to groups by prefix; a group is evicted, and removed, as
//! a unit.
//!
//! # The rule
//!
//! - Every key belongs to one group, named by a prefix of the key's bytes: the
//!   [`GroupRule`] returns the prefix's length. By default ([`default_group_len`]) the
//!   prefix runs up to and including the last `:` (`tenant:42:user:7` is in group
//!   `tenant:42:user:`); a key without `:` is a group of its own (the whole key).
//! - Groups are kept in least-recently-used order: an insert, a hit or a write to any
//!   member makes its group the most recent.
//! - When the core needs room, the least recent group is evicted **whole**: the victim
//!   hook hands the core that group's members one by one, and the provided hook
//!   [`Order::keep_evicting`] tells the core to keep going until the group is empty,
//!   even after the new entry fits. So an eviction may free more than it needed to.
//!   (A write that makes an existing entry heavier takes that entry out first: if its
//!   own group is the victim, the rest of the group goes and the rewritten entry stays.)
//! - A resize ([`Policy::set_capacity_into`](crate::Policy::set_capacity_into)) keeps
//!   the groups and their order (nothing is sized from the capacity); a shrink evicts
//!   whole groups by the rule above, so it may leave the cache under its new capacity.
//! - [`Core::remove_prefix`] removes one group (cause `Removed`, or `Expired` for members
//!   already past their deadline) in time proportional to its size.
//!
//! # Structure and cost
//!
//! Each entry's node links it into its group's member list (8 bytes of links and the
//! group's index). Groups live in an arena with a free list; an index (a hashbrown table
//! keyed by a hash of the prefix bytes, with the order's own seeded hasher) finds a
//! group from a prefix; a list orders the groups by recency. Insert hashes the prefix
//! once: O(prefix length); hit, removal and relocation are O(1); a whole-group eviction
//! or removal is O(group size). Each group stores a copy of its prefix.
//!
//! # Invariants (checked by [`Order::validate`])
//!
//! - every live group is in the recency list and in the index exactly once, and has at
//!   least one member; freed groups are on the free list;
//! - every entry is in exactly one group's member list, the one its node names, and its
//!   key's prefix (by the rule) is that group's prefix;
//! - between operations no eviction is in progress.

use std::hash::{BuildHasher, Hash};

use hashbrown::HashTable;

use crate::clock::Clock;
use crate::core::{Core, Entry, Order, Slots};
use crate::list::{Idx, Links, List, NIL, linked_by_field};
use crate::policy::Evictions;
use crate::weigher::Weigher;

/// How a key names its group: the length of the key's prefix that is the group's name
/// (clamped to the key's length).
pub type GroupRule = fn(&[u8]) -> usize;

/// The default [`GroupRule`]: up to and including the last `:`; a key without `:` is a
/// group of its own.
///
/// ```
/// use polycache_policies::default_group_len;
/// assert_eq!(default_group_len(b"tenant:42:user:7"), 15); // "tenant:42:user:"
/// assert_eq!(default_group_len(b"plain"), 5);
/// assert_eq!(default_group_len(b""), 0);
/// ```
pub fn default_group_len(key: &[u8]) -> usize {
    match key.iter().rposition(|&b| b == b':') {
        Some(p) => p + 1,
        None => key.len(),
    }
}

/// The group prefix of `key` under `rule`.
#[inline]
pub fn group_of(rule: GroupRule, key: &[u8]) -> &[u8] {
    &key[..rule(key).min(key.len())]
}

/// An entry's node: its links in its group's member list, and its group.
#[derive(Clone, Copy, Debug)]
pub struct PrefixNode {
    links: Links,
    group: Idx,
}

impl Default for PrefixNode {
    fn default() -> Self {
        PrefixNode {
            links: Links::UNLINKED,
            group: NIL,
        }
    }
}

linked_by_field!(PrefixNode, links);

#[derive(Clone, Debug)]
struct Group {
    prefix: Box<[u8]>,
    hash: u64,
    members: List,
    /// Links in the recency list.
    links: Links,
}

linked_by_field!(Group, links);

/// The prefix-group eviction order. See [`Prefix`](crate::Prefix) and the
/// [module documentation](self).
///
/// ```
/// use polycache_policies::{Policy, Prefix};
/// let mut cache = Prefix::<Vec<u8>, u32>::new(4).unwrap();
/// cache.insert(b"a:1".to_vec(), 1).unwrap();
/// cache.insert(b"a:2".to_vec(), 2).unwrap();
/// cache.insert(b"b:1".to_vec(), 3).unwrap();
/// cache.insert(b"b:2".to_vec(), 4).unwrap();
/// cache.get(b"b:1".as_slice());
/// // Full: the least recent group, "a:", leaves whole.
/// let out = cache.insert(b"c:1".to_vec(), 5).unwrap();
/// assert_eq!(out.len(), 2);
/// assert_eq!(cache.len(), 3);
/// // Invalidate a group.
/// assert_eq!(cache.remove_prefix(b"b:").len(), 2);
/// assert_eq!(cache.len(), 1);
/// cache.validate().unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct PrefixOrder {
    rule: GroupRule,
    hasher: ahash::RandomState,
    index: HashTable<Idx>,
    groups: Vec<Group>,
    free: Vec<Idx>,
    /// Live groups, least recent first.
    recency: List,
    /// The group being evicted, or `NIL`.
    evicting: Idx,
    /// The prefix length the rule gave for the key of the coming
    /// [`Order::on_insert`], computed by [`Order::before_insert`] before the core
    /// changed anything (so that a panicking rule leaves the cache as it was).
    pending: Option<usize>,
}

impl Default for PrefixOrder {
    /// The default rule ([`default_group_len`]) and a randomly seeded index hasher.
    fn default() -> Self {
        Self::with_rule(default_group_len)
    }
}

impl PrefixOrder {
    /// An order whose groups are named by `rule`.
    ///
    /// ```
    /// use polycache_policies::{Policy, Prefix, PrefixOrder};
    /// // Groups of the first two bytes.
    /// let mut cache = Prefix::<Vec<u8>, u8>::builder(10)
    ///     .order(PrefixOrder::with_rule(|k| 2))
    ///     .build()
    ///     .unwrap();
    /// cache.insert(b"ab1".to_vec(), 1).unwrap();
    /// cache.insert(b"ab2".to_vec(), 2).unwrap();
    /// assert_eq!(cache.order().group_len(b"ab"), 2);
    /// ```
    pub fn with_rule(rule: GroupRule) -> Self {
        PrefixOrder {
            rule,
            hasher: ahash::RandomState::new(),
            index: HashTable::new(),
            groups: Vec::new(),
            free: Vec::new(),
            recency: List::new(),
            evicting: NIL,
            pending: None,
        }
    }

    /// The rule naming groups.
    pub fn rule(&self) -> GroupRule {
        self.rule
    }

    /// Number of groups with at least one entry.
    pub fn group_count(&self) -> usize {
        self.recency.len()
    }

    /// Number of entries (expired ones not yet reclaimed included) in the group named
    /// `prefix`.
    pub fn group_len(&self, prefix: &[u8]) -> usize {
        self.find(prefix)
            .map_or(0, |g| self.groups[g as usize].members.len())
    }

    /// The first member of the group named `prefix` (for [`Core::remove_prefix`]).
    fn group_front(&self, prefix: &[u8]) -> Option<Idx> {
        let g = self.find(prefix)?;
        self.groups[g as usize].members.front()
    }

    fn find(&self, prefix: &[u8]) -> Option<Idx> {
        let hash = self.hasher.hash_one(prefix);
        let groups = &self.groups;
        self.index
            .find(hash, |&g| &*groups[g as usize].prefix == prefix)
            .copied()
    }

    /// The group named `prefix`, created (as the most recent) if missing.
    fn find_or_create(&mut self, prefix: &[u8]) -> Idx {
        let hash = self.hasher.hash_one(prefix);
        let groups = &self.groups;
        if let Some(&g) = self
            .index
            .find(hash, |&g| &*groups[g as usize].prefix == prefix)
        {
            return g;
        }
        let group = Group {
            prefix: prefix.into(),
            hash,
            members: List::new(),
            links: Links::UNLINKED,
        };
        let g = match self.free.pop() {
            Some(g) => {
                self.groups[g as usize] = group;
                g
            }
            None => {
                self.groups.push(group);
                (self.groups.len() - 1) as Idx
            }
        };
        let groups = &self.groups;
        self.index
            .insert_unique(hash, g, |&j| groups[j as usize].hash);
        self.recency.push_back(&mut self.groups, g);
        g
    }

    fn free_group(&mut self, g: Idx) {
        let hash = self.groups[g as usize].hash;
        if let Ok(slot) = self.index.find_entry(hash, |&j| j == g) {
            slot.remove();
        }
        self.recency.remove(&mut self.groups, g);
        self.groups[g as usize].prefix = Box::default();
        self.free.push(g);
        if self.evicting == g {
            self.evicting = NIL;
        }
    }
}

impl<K: AsRef<[u8]>, V> Order<K, V> for PrefixOrder {
    type Node = PrefixNode;

    /// Runs the rule on `key`, for the [`Order::on_insert`] that follows.
    #[inline]
    fn before_insert(&mut self, key: &K) {
        let key = key.as_ref();
        self.pending = Some((self.rule)(key).min(key.len()));
    }

    fn on_insert(&mut self, slots: &mut Slots<'_, K, V, PrefixNode>, i: u32, _: u64) {
        let key = slots.key(i).as_ref();
        let len = match self.pending.take() {
            Some(len) => len.min(key.len()),
            None => {
                debug_assert!(false, "on_insert without before_insert");
                (self.rule)(key).min(key.len())
            }
        };
        let g = self.find_or_create(&key[..len]);
        self.groups[g as usize].members.push_back(slots.entries, i);
        slots.node_mut(i).group = g;
        self.recency.move_to_back(&mut self.groups, g);
    }

    #[inline]
    fn on_access(&mut self, slots: &mut Slots<'_, K, V, PrefixNode>, i: u32, _: u64) {
        let g = slots.node(i).group;
        self.recency.move_to_back(&mut self.groups, g);
    }

    fn on_remove(&mut self, slots: &mut Slots<'_, K, V, PrefixNode>, i: u32) {
        let g = slots.node(i).group;
        self.groups[g as usize].members.remove(slots.entries, i);
        slots.node_mut(i).group = NIL;
        if self.groups[g as usize].members.is_empty() {
            self.free_group(g);
        }
    }

    #[inline]
    fn on_relocate(&mut self, slots: &mut Slots<'_, K, V, PrefixNode>, from: u32, to: u32) {
        let g = slots.node(to).group;
        self.groups[g as usize]
            .members
            .relocate(slots.entries, from, to);
    }

    fn victim(&mut self, _: &mut Slots<'_, K, V, PrefixNode>) -> Option<u32> {
        if self.evicting == NIL {
            self.evicting = self.recency.front()?;
        }
        self.groups[self.evicting as usize].members.front()
    }

    /// `true` while the group being evicted still has members.
    #[inline]
    fn keep_evicting(&self) -> bool {
        self.evicting != NIL
    }

    fn clear(&mut self) {
        *self = PrefixOrder {
            hasher: self.hasher.clone(),
            ..PrefixOrder::with_rule(self.rule)
        };
    }

    fn validate(&self, entries: &[Entry<K, V, PrefixNode>]) -> Result<(), String> {
        if self.evicting != NIL {
            return Err(format!(
                "eviction of group {} left unfinished",
                self.evicting
            ));
        }
        let mut members = 0usize;
        self.recency.validate(&self.groups, |g| {
            let group = &self.groups[g as usize];
            if group.members.is_empty() {
                return Err(format!("group {g} is empty"));
            }
            if self.find(&group.prefix) != Some(g) {
                return Err(format!("group {g} not found by its prefix"));
            }
            members += group.members.len();
            group.members.validate(entries, |i| {
                let e = &entries[i as usize];
                if e.node.group != g {
                    return Err(format!("entry {i} in group {g} names {}", e.node.group));
                }
                if group_of(self.rule, e.key().as_ref()) != &*group.prefix {
                    return Err(format!("entry {i} is not of group {g}'s prefix"));
                }
                Ok(())
            })
        })?;
        if members != entries.len() {
            return Err(format!(
                "groups hold {members} of {} entries",
                entries.len()
            ));
        }
        if self.index.len() != self.recency.len()
            || self.recency.len() + self.free.len() != self.groups.len()
        {
            return Err("group index, recency list and free list disagree".into());
        }
        Ok(())
    }
}

impl<K, V, W, S, C> Core<K, V, PrefixOrder, W, S, C>
where
    K: Hash + Eq + AsRef<[u8]>,
    W: Weigher<K, V>,
    S: BuildHasher,
    C: Clock,
{
    /// Removes every entry of the group named `prefix` (exactly that prefix, as the
    /// rule names it: `b"tenant:42:"`, not its sub-groups), in time proportional to the
    /// group's size. Live entries leave with cause `Removed`, those past their deadline
    /// with `Expired`.
    ///
    /// ```
    /// use polycache_policies::{EvictionCause, Policy, Prefix};
    /// let mut cache = Prefix::<String, u8>::new(10).unwrap();
    /// cache.insert("t:1:a".into(), 1).unwrap();
    /// cache.insert("t:1:b".into(), 2).unwrap();
    /// cache.insert("t:2:a".into(), 3).unwrap();
    /// let out = cache.remove_prefix(b"t:1:");
    /// assert_eq!(out.len(), 2);
    /// assert!(out.iter().all(|e| e.cause == EvictionCause::Removed));
    /// assert!(cache.contains("t:2:a"));
    /// assert!(cache.remove_prefix(b"t:").is_empty()); // no key is in group "t:"
    /// ```
    pub fn remove_prefix(&mut self, prefix: &[u8]) -> Evictions<K, V> {
        self.remove_each(|order| order.group_front(prefix))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use crate::{EvictionCause, Policy, Prefix};

    fn keys<W: crate::Weigher<String, u32>>(c: &Prefix<String, u32, W>) -> BTreeSet<String> {
        c.iter().map(|(k, _)| k.clone()).collect()
    }

    #[test]
    fn evicts_the_least_recent_group_whole() {
        let mut c = Prefix::<String, u32>::new(6).unwrap();
        for k in ["a:1", "a:2", "a:3", "b:1", "b:2", "c:1"] {
            c.insert(k.into(), 0).unwrap();
        }
        c.get("a:2"); // a is now the most recent group; b is the least
        let out = c.insert("d:1".into(), 0).unwrap();
        let gone: BTreeSet<_> = out.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(gone, BTreeSet::from(["b:1", "b:2"]));
        assert!(out.iter().all(|e| e.cause == EvictionCause::Capacity));
        assert_eq!(
            keys(&c),
            ["a:1", "a:2", "a:3", "c:1", "d:1"].map(String::from).into()
        );
        c.validate().unwrap();
    }

    #[test]
    fn remove_prefix_removes_exactly_the_group() {
        let mut c = Prefix::<String, u32>::new(100).unwrap();
        for t in 0..5 {
            for u in 0..(t + 1) {
                c.insert(format!("t:{t}:{u}"), u).unwrap();
            }
        }
        c.insert("t:".into(), 9).unwrap(); // group "t:" holds only this key
        let before = keys(&c);
        let out = c.remove_prefix(b"t:3:");
        let gone: BTreeSet<_> = out.iter().map(|e| e.key.clone()).collect();
        let want: BTreeSet<_> = before
            .iter()
            .filter(|k| k.starts_with("t:3:"))
            .cloned()
            .collect();
        assert_eq!(gone, want);
        assert_eq!(keys(&c), &before - &want);
        assert_eq!(c.order().group_len(b"t:3:"), 0);
        assert_eq!(c.remove_prefix(b"t:").len(), 1);
        c.validate().unwrap();
    }

    #[test]
    fn a_rewrite_heavier_than_the_room_keeps_the_groups_whole() {
        let mut c = Prefix::<String, u32>::builder(10)
            .weigher(|_: &String, v: &u32| u64::from(*v))
            .build()
            .unwrap();
        c.insert("a:1".into(), 2).unwrap();
        c.insert("a:2".into(), 2).unwrap();
        c.insert("b:1".into(), 3).unwrap();
        c.insert("b:2".into(), 3).unwrap();
        // b:1 grows to 6: room is needed, group a (least recent) goes whole.
        let out = c.insert("b:1".into(), 6).unwrap();
        let gone: BTreeSet<_> = out
            .iter()
            .filter(|e| e.cause == EvictionCause::Capacity)
            .map(|e| e.key.as_str())
            .collect();
        assert_eq!(gone, BTreeSet::from(["a:1", "a:2"]));
        c.validate().unwrap();
        // Grows to 9: its own group is the victim; the rest of it goes, it stays.
        let out = c.insert("b:1".into(), 9).unwrap();
        assert!(out.iter().any(|e| e.key == "b:2"));
        assert_eq!(keys(&c), BTreeSet::from(["b:1".to_string()]));
        c.validate().unwrap();
    }
}
