//! The expiry index: a hierarchical timer wheel over the core's entries.
//!
//! Deadlines are counted in ticks of [`TICK_NANOS`] (1.024 µs): a deadline is rounded
//! *up* to a tick boundary, so an entry lives at least its TTL and less than one tick
//! more, and "expired at `now`" is exactly "deadline tick <= now's tick". That makes
//! reclamation exact: after [`TimerWheel::pop_expired`] has returned `None` for `now`, no
//! entry whose deadline has passed is left.
//!
//! # Layout
//!
//! A side column of [`TimerNode`]s parallel to the entry arena: entry `i` is node
//! `i + SENTINELS`. The first `SENTINELS` nodes are the heads of circular lists, one per
//! wheel slot (9 levels × 64 slots) plus one `PENDING` list. Circular lists with
//! sentinels let a node be unlinked or relocated without knowing which slot holds it.
//! The column is allocated only when the first deadline is set, so a cache without TTLs
//! pays nothing for it.
//!
//! # Invariants
//!
//! - Level `L` slot `s` holds entries whose deadline `t` agrees with `elapsed` on every
//!   bit above `6(L+1)` and differs in the 6-bit digit `L`, which equals `s` (the
//!   placement of tokio's and Kafka's hierarchical wheels). So every entry at level `L`
//!   expires after every entry at a lower level, and the first occupied slot at or after
//!   `elapsed`'s digit is the level's earliest.
//! - Every entry in a slot has `t > elapsed`; entries with `t <= elapsed` are in
//!   `PENDING`, which is drained first.
//! - `occupied[L]` has a bit set for every non-empty slot; a set bit may be stale (its
//!   slot emptied by a removal) and is cleared lazily when found.
//! - A node with no deadline has `deadline == 0` and is in no list.
//!
//! Every operation is O(1) except [`TimerWheel::pop_expired`], which is amortized O(1)
//! per expired entry: an entry moves down at most once per level (9) in its life.

use crate::list::{Idx, NIL};

/// One tick of the wheel, in nanoseconds (2^10 ns ≈ 1.024 µs).
pub const TICK_NANOS: u64 = 1 << TICK_SHIFT;
const TICK_SHIFT: u32 = 10;

const LEVEL_BITS: u32 = 6;
const SLOTS: usize = 1 << LEVEL_BITS;
/// Ticks fit in 64 - 10 = 54 bits, so 9 levels of 6 bits cover them.
const LEVELS: usize = 9;
const PENDING: u32 = (LEVELS * SLOTS) as u32;
const SENTINELS: u32 = PENDING + 1;

#[derive(Clone, Copy, Debug)]
struct TimerNode {
    prev: u32,
    next: u32,
    /// Deadline tick, or 0 for "no deadline".
    deadline: u64,
}

const UNLINKED: TimerNode = TimerNode {
    prev: NIL,
    next: NIL,
    deadline: 0,
};

/// Converts a clock reading to the wheel's tick.
#[inline]
pub(crate) fn tick_of(now_nanos: u64) -> u64 {
    now_nanos >> TICK_SHIFT
}

/// The deadline tick for an entry written at `now_nanos` that must live `ttl`; `None`
/// when it cannot be represented (past `u64::MAX` nanoseconds from the clock's origin).
#[inline]
pub(crate) fn deadline_tick(now_nanos: u64, ttl: std::time::Duration) -> Option<u64> {
    let ttl = u64::try_from(ttl.as_nanos()).ok()?;
    let at = now_nanos.checked_add(ttl)?;
    let rounded = at.checked_add(TICK_NANOS - 1)?;
    Some((rounded >> TICK_SHIFT).max(1))
}

/// Nanoseconds left before `deadline` (a tick), from `now_nanos`.
#[inline]
pub(crate) fn remaining(deadline: u64, now_nanos: u64) -> std::time::Duration {
    std::time::Duration::from_nanos((deadline << TICK_SHIFT).saturating_sub(now_nanos))
}

/// The expiry index. See the module documentation.
#[derive(Clone, Debug, Default)]
pub(crate) struct TimerWheel {
    /// Empty until the first deadline; then `SENTINELS + entries`.
    nodes: Vec<TimerNode>,
    occupied: [u64; LEVELS],
    /// The wheel's time, in ticks: every slot that starts at or before it is processed.
    elapsed: u64,
    /// How many entries have a deadline.
    timed: usize,
}

#[inline]
fn level_for(elapsed: u64, when: u64) -> usize {
    let masked = (elapsed ^ when) | (SLOTS as u64 - 1);
    let significant = 63 - masked.leading_zeros();
    (significant / LEVEL_BITS) as usize
}

#[inline]
fn slot_for(when: u64, level: usize) -> usize {
    ((when >> (level as u32 * LEVEL_BITS)) as usize) & (SLOTS - 1)
}

impl TimerWheel {
    /// Whether any deadline was ever set (the column exists).
    #[inline]
    pub(crate) fn is_active(&self) -> bool {
        !self.nodes.is_empty()
    }

    /// How many entries have a deadline now.
    #[inline]
    pub(crate) fn timed(&self) -> usize {
        self.timed
    }

    /// Creates the column for `entries` existing entries, none of them timed.
    fn activate(&mut self, entries: usize, now_tick: u64) {
        self.nodes.reserve(SENTINELS as usize + entries);
        for s in 0..SENTINELS {
            self.nodes.push(TimerNode {
                prev: s,
                next: s,
                deadline: 0,
            });
        }
        self.nodes.extend(std::iter::repeat_n(UNLINKED, entries));
        self.elapsed = now_tick;
    }

    /// A new entry was pushed at the end of the arena.
    #[inline]
    pub(crate) fn push(&mut self) {
        if self.is_active() {
            self.nodes.push(UNLINKED);
        }
    }

    /// The arena did `swap_remove(i)`: do the same to the column. Entry `i` must have no
    /// deadline (call [`Self::unset`] first).
    #[inline]
    pub(crate) fn swap_remove(&mut self, i: Idx) {
        if !self.is_active() {
            return;
        }
        let at = i + SENTINELS;
        debug_assert_eq!(self.nodes[at as usize].deadline, 0);
        self.nodes.swap_remove(at as usize);
        if let Some(moved) = self.nodes.get(at as usize).copied() {
            if moved.deadline != 0 {
                self.nodes[moved.prev as usize].next = at;
                self.nodes[moved.next as usize].prev = at;
            }
        }
    }

    /// Entry `i`'s deadline tick.
    #[inline]
    pub(crate) fn deadline(&self, i: Idx) -> Option<u64> {
        let d = self.nodes.get((i + SENTINELS) as usize)?.deadline;
        (d != 0).then_some(d)
    }

    /// Sets (or replaces) entry `i`'s deadline tick. `entries` and `now_tick` are used
    /// only to create the column on first use.
    pub(crate) fn set(&mut self, i: Idx, deadline: u64, entries: usize, now_tick: u64) {
        debug_assert!(deadline != 0);
        if !self.is_active() {
            self.activate(entries, now_tick);
        }
        self.unset(i);
        let at = i + SENTINELS;
        self.nodes[at as usize].deadline = deadline;
        self.timed += 1;
        self.place(at, deadline);
    }

    /// Removes entry `i`'s deadline, if it has one.
    #[inline]
    pub(crate) fn unset(&mut self, i: Idx) {
        let at = (i + SENTINELS) as usize;
        if self.nodes.get(at).is_some_and(|n| n.deadline != 0) {
            self.unlink(at as u32);
            self.nodes[at].deadline = 0;
            self.timed -= 1;
        }
    }

    /// Gives back the column's spare room if `roomy(its capacity)` says so (after a
    /// shrink of the cache: see `Core::release_spare`).
    pub(crate) fn release_spare(&mut self, roomy: impl Fn(usize) -> bool) {
        if roomy(self.nodes.capacity()) {
            self.nodes.shrink_to_fit();
        }
    }

    /// Forgets every entry; the column stays allocated (empty).
    pub(crate) fn clear(&mut self) {
        if self.is_active() {
            self.nodes.truncate(SENTINELS as usize);
            for (s, n) in self.nodes.iter_mut().enumerate() {
                n.prev = s as u32;
                n.next = s as u32;
            }
        }
        self.occupied = [0; LEVELS];
        self.timed = 0;
    }

    fn place(&mut self, at: u32, deadline: u64) {
        let head = if deadline <= self.elapsed {
            PENDING
        } else {
            let level = level_for(self.elapsed, deadline);
            let slot = slot_for(deadline, level);
            self.occupied[level] |= 1 << slot;
            (level * SLOTS + slot) as u32
        };
        self.link_back(head, at);
    }

    #[inline]
    fn link_back(&mut self, head: u32, at: u32) {
        let tail = self.nodes[head as usize].prev;
        self.nodes[at as usize].prev = tail;
        self.nodes[at as usize].next = head;
        self.nodes[tail as usize].next = at;
        self.nodes[head as usize].prev = at;
    }

    #[inline]
    fn unlink(&mut self, at: u32) {
        let TimerNode { prev, next, .. } = self.nodes[at as usize];
        self.nodes[prev as usize].next = next;
        self.nodes[next as usize].prev = prev;
        self.nodes[at as usize].prev = NIL;
        self.nodes[at as usize].next = NIL;
    }

    #[inline]
    fn is_empty_list(&self, head: u32) -> bool {
        self.nodes[head as usize].next == head
    }

    /// The earliest non-empty slot: `(level, slot, start tick)`. Clears stale bits.
    fn next_slot(&mut self) -> Option<(usize, usize, u64)> {
        for level in 0..LEVELS {
            loop {
                let occupied = self.occupied[level];
                if occupied == 0 {
                    break;
                }
                let shift = level as u32 * LEVEL_BITS;
                let now_slot = ((self.elapsed >> shift) as usize) & (SLOTS - 1);
                let zeros = occupied.rotate_right(now_slot as u32).trailing_zeros() as usize;
                let slot = (now_slot + zeros) & (SLOTS - 1);
                if self.is_empty_list((level * SLOTS + slot) as u32) {
                    self.occupied[level] &= !(1 << slot);
                    continue;
                }
                let level_range = 1u64 << (shift + LEVEL_BITS);
                let level_start = self.elapsed & !(level_range - 1);
                return Some((level, slot, level_start + ((slot as u64) << shift)));
            }
        }
        None
    }

    /// Takes one entry whose deadline is at or before `now_tick` out of the wheel (its
    /// deadline is unset) and returns it; `None` once there is none left. Call until
    /// `None`: the wheel's time then is `now_tick`.
    pub(crate) fn pop_expired(&mut self, now_tick: u64) -> Option<Idx> {
        if self.timed == 0 {
            self.elapsed = self.elapsed.max(now_tick);
            return None;
        }
        loop {
            let first = self.nodes[PENDING as usize].next;
            if first != PENDING {
                let deadline = self.nodes[first as usize].deadline;
                self.unlink(first);
                if deadline <= now_tick {
                    self.nodes[first as usize].deadline = 0;
                    self.timed -= 1;
                    return Some(first - SENTINELS);
                }
                // Cascade: re-place relative to the wheel's new time.
                self.place(first, deadline);
                continue;
            }
            match self.next_slot() {
                Some((level, slot, start)) if start <= now_tick => {
                    let head = (level * SLOTS + slot) as u32;
                    // Splice the whole slot into the (empty) PENDING list.
                    let (f, l) = (
                        self.nodes[head as usize].next,
                        self.nodes[head as usize].prev,
                    );
                    self.nodes[PENDING as usize].next = f;
                    self.nodes[PENDING as usize].prev = l;
                    self.nodes[f as usize].prev = PENDING;
                    self.nodes[l as usize].next = PENDING;
                    self.nodes[head as usize].next = head;
                    self.nodes[head as usize].prev = head;
                    self.occupied[level] &= !(1 << slot);
                    self.elapsed = self.elapsed.max(start);
                }
                _ => {
                    self.elapsed = self.elapsed.max(now_tick);
                    return None;
                }
            }
        }
    }

    /// The timed entry that expires first, at the wheel's resolution: the first entry of
    /// the earliest non-empty slot. Exact to the tick within 64 ticks of the wheel's
    /// time; farther out, a slot at level `L` spans `64^L` ticks and the entry returned
    /// expires at most that much later than the soonest.
    pub(crate) fn earliest(&mut self) -> Option<Idx> {
        if self.timed == 0 {
            return None;
        }
        let first = self.nodes[PENDING as usize].next;
        if first != PENDING {
            return Some(first - SENTINELS);
        }
        let (level, slot, _) = self.next_slot()?;
        Some(self.nodes[level * SLOTS + slot].next - SENTINELS)
    }

    /// Checks the wheel against the entry count of the arena.
    pub(crate) fn validate(&self, entries: usize) -> Result<(), String> {
        if !self.is_active() {
            return if self.timed == 0 {
                Ok(())
            } else {
                Err("inactive wheel with timed entries".into())
            };
        }
        if self.nodes.len() != SENTINELS as usize + entries {
            return Err(format!(
                "timer column has {} nodes for {entries} entries",
                self.nodes.len() - SENTINELS as usize
            ));
        }
        let mut linked = 0usize;
        for head in 0..SENTINELS {
            let (level, slot) = ((head as usize) / SLOTS, (head as usize) % SLOTS);
            let mut prev = head;
            let mut cur = self.nodes[head as usize].next;
            let mut steps = 0usize;
            while cur != head {
                if cur < SENTINELS || cur as usize >= self.nodes.len() {
                    return Err(format!("slot {head}: bad link {cur}"));
                }
                let n = self.nodes[cur as usize];
                if n.prev != prev {
                    return Err(format!("slot {head}: node {cur} prev {} != {prev}", n.prev));
                }
                if n.deadline == 0 {
                    return Err(format!("slot {head}: node {cur} has no deadline"));
                }
                if head != PENDING {
                    if n.deadline <= self.elapsed {
                        return Err(format!(
                            "node {cur} deadline {} not after wheel time {}",
                            n.deadline, self.elapsed
                        ));
                    }
                    if self.occupied[level] & (1 << slot) == 0 {
                        return Err(format!("slot {head} non-empty but not marked occupied"));
                    }
                    let lvl = level_for(self.elapsed, n.deadline);
                    // The level may only have dropped as the wheel's time moved on.
                    if lvl > level || (lvl == level && slot_for(n.deadline, level) != slot) {
                        return Err(format!(
                            "node {cur} deadline {} misplaced at level {level} slot {slot}",
                            n.deadline
                        ));
                    }
                }
                steps += 1;
                if steps > entries {
                    return Err(format!("slot {head}: cycle"));
                }
                prev = cur;
                cur = n.next;
            }
            if self.nodes[head as usize].prev != prev {
                return Err(format!("slot {head}: sentinel prev is not the last node"));
            }
            linked += steps;
        }
        let with_deadline = self.nodes[SENTINELS as usize..]
            .iter()
            .filter(|n| n.deadline != 0)
            .count();
        if linked != self.timed || with_deadline != self.timed {
            return Err(format!(
                "timed {} but {linked} linked and {with_deadline} with deadlines",
                self.timed
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Drives the wheel and a sorted model with pseudo-random deadlines spanning every
    /// level, relocating entries as the arena would; checks they expire exactly.
    #[test]
    fn expires_exactly_what_a_sorted_model_expires() {
        let mut w = TimerWheel::default();
        // entry -> (deadline, width of the slot it was placed in)
        let mut model: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
        let mut len = 0u32;
        let mut now = 1_000u64;
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for step in 0..20_000 {
            match rnd() % 10 {
                0..=4 => {
                    // push an entry, maybe with a deadline at a random scale
                    w.push();
                    let scale = 1u64 << (rnd() % 40);
                    let d = now + 1 + rnd() % scale;
                    w.set(len, d, len as usize + 1, now);
                    model.insert(len, (d, 1 << (6 * level_for(now, d))));
                    len += 1;
                }
                5 if len > 0 => {
                    // remove a random entry, arena-style (swap_remove)
                    let i = (rnd() % len as u64) as u32;
                    w.unset(i);
                    model.remove(&i);
                    w.swap_remove(i);
                    len -= 1;
                    if i != len {
                        if let Some(d) = model.remove(&len) {
                            model.insert(i, d);
                        }
                    }
                }
                _ => {
                    now += rnd() % (1 << (rnd() % 30));
                    while let Some(i) = w.pop_expired(now) {
                        let (d, _) = model.remove(&i).expect("expired entry is in the model");
                        assert!(d <= now, "step {step}: deadline {d} > now {now}");
                        w.swap_remove(i);
                        len -= 1;
                        if i != len {
                            if let Some(d) = model.remove(&len) {
                                model.insert(i, d);
                            }
                        }
                    }
                    assert!(
                        model.values().all(|&(d, _)| d > now),
                        "step {step}: left expired"
                    );
                }
            }
            if step % 97 == 0 {
                w.validate(len as usize).unwrap();
                if let Some(e) = w.earliest() {
                    // The soonest entry shares the earliest slot with the one returned.
                    let (min, width) = *model.values().min().unwrap();
                    let (d, _) = model[&e];
                    assert!(
                        d >= min && d - min < width,
                        "step {step}: {d} vs soonest {min}"
                    );
                }
            }
        }
        assert_eq!(w.timed(), model.len());
    }

    #[test]
    fn deadlines_round_up_and_overflow_is_none() {
        use std::time::Duration;
        assert_eq!(deadline_tick(0, Duration::from_nanos(1)), Some(1));
        assert_eq!(deadline_tick(1024, Duration::from_nanos(1024)), Some(2));
        assert_eq!(deadline_tick(1025, Duration::from_nanos(1024)), Some(3));
        assert_eq!(deadline_tick(u64::MAX - 5, Duration::from_nanos(10)), None);
        assert_eq!(deadline_tick(0, Duration::MAX), None);
        assert_eq!(remaining(3, 2048), Duration::from_nanos(1024));
    }
}
