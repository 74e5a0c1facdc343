//! Index-linked doubly-linked lists over a slice: the arena lists every policy uses.
//!
//! Nodes live in a `Vec` owned by someone else (the core's entry arena, the LFU bucket
//! arena, the timer column); a [`List`] holds only its head, tail and length, and links
//! are `u32` indices, so a node costs 8 bytes of links and no allocation of its own.
//!
//! # Invariants
//!
//! For a list `l` over `nodes`:
//! - `l.head == NIL` iff `l.tail == NIL` iff `l.len == 0`;
//! - walking `next` from `head` visits exactly `len` nodes and ends at `tail`, and `prev`
//!   mirrors `next`;
//! - a node that is in no list has both links `NIL` (checked by [`List::validate`] only
//!   for the members, since the list cannot see non-members).
//!
//! The arena may move a node with `swap_remove`: [`List::relocate`] then repairs the
//! moved node's neighbours and the list's ends, so that lists never hold stale indices.

/// Index of a node in an arena.
pub(crate) type Idx = u32;

/// The null index.
pub(crate) const NIL: Idx = Idx::MAX;

/// The two links of a node in one arena list (an order's per-entry node, for orders
/// that keep their entries in one list). Opaque: only the crate's lists change it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Links {
    pub(crate) prev: Idx,
    pub(crate) next: Idx,
}

impl Links {
    /// Links of a node that is in no list.
    pub(crate) const UNLINKED: Links = Links {
        prev: NIL,
        next: NIL,
    };
}

impl Default for Links {
    fn default() -> Self {
        Self::UNLINKED
    }
}

/// A node that carries [`Links`] for one list.
pub(crate) trait Linked {
    fn links(&self) -> &Links;
    fn links_mut(&mut self) -> &mut Links;
}

/// Implements [`Linked`] for a node type whose links are in field `$field`.
macro_rules! linked_by_field {
    ($node:ty, $field:ident) => {
        impl $crate::list::Linked for $node {
            #[inline]
            fn links(&self) -> &$crate::list::Links {
                &self.$field
            }
            #[inline]
            fn links_mut(&mut self) -> &mut $crate::list::Links {
                &mut self.$field
            }
        }
    };
}
pub(crate) use linked_by_field;

impl Linked for Links {
    #[inline]
    fn links(&self) -> &Links {
        self
    }
    #[inline]
    fn links_mut(&mut self) -> &mut Links {
        self
    }
}

/// The ends of one list; the nodes are in a slice passed to every method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct List {
    head: Idx,
    tail: Idx,
    len: u32,
}

impl Default for List {
    fn default() -> Self {
        Self::new()
    }
}

impl List {
    pub(crate) const fn new() -> Self {
        List {
            head: NIL,
            tail: NIL,
            len: 0,
        }
    }

    #[inline]
    pub(crate) fn front(&self) -> Option<Idx> {
        (self.head != NIL).then_some(self.head)
    }

    #[cfg(test)]
    pub(crate) fn back(&self) -> Option<Idx> {
        (self.tail != NIL).then_some(self.tail)
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `i`, which must be in no list.
    #[inline]
    pub(crate) fn push_back<N: Linked>(&mut self, nodes: &mut [N], i: Idx) {
        debug_assert_eq!(*nodes[i as usize].links(), Links::UNLINKED);
        let tail = self.tail;
        *nodes[i as usize].links_mut() = Links {
            prev: tail,
            next: NIL,
        };
        if tail == NIL {
            self.head = i;
        } else {
            nodes[tail as usize].links_mut().next = i;
        }
        self.tail = i;
        self.len += 1;
    }

    /// Prepends `i`, which must be in no list.
    #[inline]
    pub(crate) fn push_front<N: Linked>(&mut self, nodes: &mut [N], i: Idx) {
        debug_assert_eq!(*nodes[i as usize].links(), Links::UNLINKED);
        let head = self.head;
        *nodes[i as usize].links_mut() = Links {
            prev: NIL,
            next: head,
        };
        if head == NIL {
            self.tail = i;
        } else {
            nodes[head as usize].links_mut().prev = i;
        }
        self.head = i;
        self.len += 1;
    }

    /// Inserts `i` (in no list) right after `at` (a member).
    #[inline]
    pub(crate) fn insert_after<N: Linked>(&mut self, nodes: &mut [N], at: Idx, i: Idx) {
        let next = nodes[at as usize].links().next;
        *nodes[i as usize].links_mut() = Links { prev: at, next };
        nodes[at as usize].links_mut().next = i;
        if next == NIL {
            self.tail = i;
        } else {
            nodes[next as usize].links_mut().prev = i;
        }
        self.len += 1;
    }

    /// Unlinks member `i` and leaves it with no links.
    #[inline]
    pub(crate) fn remove<N: Linked>(&mut self, nodes: &mut [N], i: Idx) {
        let Links { prev, next } = *nodes[i as usize].links();
        if prev == NIL {
            debug_assert_eq!(self.head, i);
            self.head = next;
        } else {
            nodes[prev as usize].links_mut().next = next;
        }
        if next == NIL {
            debug_assert_eq!(self.tail, i);
            self.tail = prev;
        } else {
            nodes[next as usize].links_mut().prev = prev;
        }
        *nodes[i as usize].links_mut() = Links::UNLINKED;
        self.len -= 1;
    }

    /// Removes and returns the first member.
    #[inline]
    pub(crate) fn pop_front<N: Linked>(&mut self, nodes: &mut [N]) -> Option<Idx> {
        let i = self.front()?;
        self.remove(nodes, i);
        Some(i)
    }

    /// Moves member `i` to the back.
    ///
    /// The same list as `remove` then `push_back`, written out: `i` is not the tail, so
    /// it has a next, and the length does not change.
    #[inline]
    pub(crate) fn move_to_back<N: Linked>(&mut self, nodes: &mut [N], i: Idx) {
        self.move_to_back_with::<N, false>(nodes, i);
    }

    /// [`List::move_to_back`] with no branch on whether `i` is the front: when it is,
    /// the write meant for its predecessor goes to the tail's `next` (which the append
    /// overwrites at once) and the head is selected arithmetically.
    ///
    /// For a list whose hits fall on its front about as often as not, as in a segment
    /// that holds just the hot set (TinyLfu's protected segment when a loop or a cyclic
    /// sequence covers it). There the branch of `move_to_back` is one the CPU cannot
    /// predict (45% mispredicted, by callgrind's branch simulation), and it hangs on
    /// the entry's links, a load that may miss the cache: each misprediction throws
    /// away the next look-up's loads too. `get_hit/TinyLfu/uniform/100000` (`cargo bench
    /// --bench policies`), which cycles 65,536 keys over a protected segment holding
    /// just those, ran at 34 ns against 21 for `Lru`. Where the front is rarely hit
    /// (an LRU list holds its coldest entries there), the branch predicts well and
    /// this costs about 10 instructions more.
    #[inline]
    pub(crate) fn move_to_back_unpredictable<N: Linked>(&mut self, nodes: &mut [N], i: Idx) {
        self.move_to_back_with::<N, true>(nodes, i);
    }

    /// The body of both moves to the back; `BRANCH_FREE` picks how the front is
    /// handled (a constant, so each caller compiles to one of the two).
    #[inline(always)]
    fn move_to_back_with<N: Linked, const BRANCH_FREE: bool>(&mut self, nodes: &mut [N], i: Idx) {
        let tail = self.tail;
        if tail == i {
            return;
        }
        let Links { prev, next } = *nodes[i as usize].links();
        nodes[next as usize].links_mut().prev = prev;
        if BRANCH_FREE {
            // All ones if `i` is the front (`prev` is NIL, `u32::MAX`), else 0: from the
            // carry of `prev + 1`, which the compiler does not turn back into a branch
            // (it does with `prev == NIL`).
            let front = 0u32.wrapping_sub(((u64::from(prev) + 1) >> 32) as u32);
            let before = prev ^ ((prev ^ tail) & front);
            nodes[before as usize].links_mut().next = next;
            self.head ^= (self.head ^ next) & front;
        } else if prev == NIL {
            self.head = next;
        } else {
            nodes[prev as usize].links_mut().next = next;
        }
        nodes[tail as usize].links_mut().next = i;
        *nodes[i as usize].links_mut() = Links {
            prev: tail,
            next: NIL,
        };
        self.tail = i;
    }

    /// Moves the members before `at` (a member) to the back, in their order, so that
    /// `at` is the front: the same list as `move_to_back` of each of them in turn, in
    /// O(1) and touching 4 nodes, not 3 per member moved. A CLOCK hand that passes
    /// several entries rotates once.
    #[inline]
    pub(crate) fn rotate_to<N: Linked>(&mut self, nodes: &mut [N], at: Idx) {
        if at == self.head {
            return;
        }
        let (old_head, old_tail) = (self.head, self.tail);
        let last = nodes[at as usize].links().prev;
        nodes[at as usize].links_mut().prev = NIL;
        nodes[last as usize].links_mut().next = NIL;
        nodes[old_tail as usize].links_mut().next = old_head;
        nodes[old_head as usize].links_mut().prev = old_tail;
        self.head = at;
        self.tail = last;
    }

    /// The member after `i`, if any.
    #[inline]
    pub(crate) fn next<N: Linked>(&self, nodes: &[N], i: Idx) -> Option<Idx> {
        let next = nodes[i as usize].links().next;
        (next != NIL).then_some(next)
    }

    /// The node at `from`, a member, now lives at `to` (the arena did `swap_remove(to)`):
    /// point its neighbours and this list's ends at `to`.
    #[inline]
    pub(crate) fn relocate<N: Linked>(&mut self, nodes: &mut [N], from: Idx, to: Idx) {
        let Links { prev, next } = *nodes[to as usize].links();
        if prev == NIL {
            self.head = to;
        } else {
            nodes[prev as usize].links_mut().next = to;
        }
        if next == NIL {
            self.tail = to;
        } else {
            nodes[next as usize].links_mut().prev = to;
        }
        let _ = from;
    }

    /// Forgets every member without touching the nodes (the caller drops them).
    pub(crate) fn clear(&mut self) {
        *self = List::new();
    }

    /// Iterates over the members, front to back.
    #[cfg(test)]
    pub(crate) fn iter<'a, N: Linked>(&self, nodes: &'a [N]) -> ListIter<'a, N> {
        ListIter {
            nodes,
            cur: self.head,
            left: self.len,
        }
    }

    /// Checks this list's invariants over `nodes`; calls `member(i)` for each member.
    pub(crate) fn validate<N: Linked>(
        &self,
        nodes: &[N],
        mut member: impl FnMut(Idx) -> Result<(), String>,
    ) -> Result<(), String> {
        if (self.head == NIL) != (self.tail == NIL) || (self.head == NIL) != (self.len == 0) {
            return Err(format!("list ends disagree: {self:?}"));
        }
        let mut prev = NIL;
        let mut cur = self.head;
        let mut seen = 0u32;
        while cur != NIL {
            let Some(node) = nodes.get(cur as usize) else {
                return Err(format!("list link {cur} out of bounds ({})", nodes.len()));
            };
            if node.links().prev != prev {
                return Err(format!("node {cur}: prev {} != {prev}", node.links().prev));
            }
            seen += 1;
            if seen > self.len {
                return Err(format!("list longer than its len {} (cycle?)", self.len));
            }
            member(cur)?;
            prev = cur;
            cur = node.links().next;
        }
        if prev != self.tail {
            return Err(format!("list tail {} != last node {prev}", self.tail));
        }
        if seen != self.len {
            return Err(format!("list len {} != {seen} members", self.len));
        }
        Ok(())
    }
}

/// Iterator over a [`List`]'s members.
#[cfg(test)]
pub(crate) struct ListIter<'a, N> {
    nodes: &'a [N],
    cur: Idx,
    left: u32,
}

#[cfg(test)]
impl<N: Linked> Iterator for ListIter<'_, N> {
    type Item = Idx;

    fn next(&mut self) -> Option<Idx> {
        if self.cur == NIL || self.left == 0 {
            return None;
        }
        let i = self.cur;
        self.cur = self.nodes[i as usize].links().next;
        self.left -= 1;
        Some(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(l: &List, nodes: &[Links]) -> Vec<Idx> {
        l.iter(nodes).collect()
    }

    /// `rotate_to` is `move_to_back` of every member before the target, in turn.
    #[test]
    fn rotate_to_matches_moves_to_back() {
        for len in 1..7u32 {
            for at in 0..len {
                let mut a = vec![Links::UNLINKED; len as usize];
                let mut b = a.clone();
                let (mut la, mut lb) = (List::new(), List::new());
                for i in 0..len {
                    la.push_back(&mut a, i);
                    lb.push_back(&mut b, i);
                }
                la.rotate_to(&mut a, at);
                for i in 0..at {
                    lb.move_to_back(&mut b, i);
                }
                assert_eq!(collect(&la, &a), collect(&lb, &b), "len {len} at {at}");
                assert_eq!(la.front(), Some(at));
                la.validate(&a, |_| Ok(())).unwrap();
                // After `at`: the next member, or else the first one moved to the back.
                let want = if at + 1 < len {
                    Some(at + 1)
                } else {
                    (at > 0).then_some(0)
                };
                assert_eq!(la.next(&a, at), want);
            }
        }
    }

    /// Twin lists `0..len`, each with its nodes.
    fn twin_lists(len: u32) -> ((List, Vec<Links>), (List, Vec<Links>)) {
        let mut nodes = vec![Links::UNLINKED; len as usize];
        let mut l = List::new();
        for j in 0..len {
            l.push_back(&mut nodes, j);
        }
        ((l, nodes.clone()), (l, nodes))
    }

    #[test]
    fn move_to_back_is_remove_then_push_back() {
        for len in 1..7u32 {
            for i in 0..len {
                let ((mut la, mut a), (mut lb, mut b)) = twin_lists(len);
                la.move_to_back(&mut a, i);
                lb.remove(&mut b, i);
                lb.push_back(&mut b, i);
                assert_eq!(collect(&la, &a), collect(&lb, &b), "len {len}, moved {i}");
                assert_eq!(a, b, "len {len}, moved {i}: the links themselves");
                assert_eq!(la, lb, "len {len}, moved {i}: the ends and the length");
                la.validate(&a, |_| Ok(())).unwrap();
            }
        }
    }

    #[test]
    fn both_moves_to_the_back_agree() {
        for len in 1..7u32 {
            for i in 0..len {
                let ((mut la, mut a), (mut lb, mut b)) = twin_lists(len);
                la.move_to_back_unpredictable(&mut a, i);
                lb.move_to_back(&mut b, i);
                assert_eq!((a.clone(), la), (b.clone(), lb), "len {len}, moved {i}");
                la.validate(&a, |_| Ok(())).unwrap();
            }
        }
    }

    #[test]
    fn push_remove_move_and_relocate_keep_order() {
        let mut nodes = vec![Links::UNLINKED; 5];
        let mut l = List::new();
        for i in 0..5 {
            l.push_back(&mut nodes, i);
        }
        assert_eq!(collect(&l, &nodes), [0, 1, 2, 3, 4]);
        l.move_to_back(&mut nodes, 1);
        l.remove(&mut nodes, 3);
        assert_eq!(collect(&l, &nodes), [0, 2, 4, 1]);
        // The arena swap_removes node 3 (unlinked): node 4 moves to index 3.
        nodes.swap_remove(3);
        l.relocate(&mut nodes, 4, 3);
        assert_eq!(collect(&l, &nodes), [0, 2, 3, 1]);
        l.validate(&nodes, |_| Ok(())).unwrap();
        // Relocating the head and the tail.
        l.remove(&mut nodes, 0);
        nodes.swap_remove(0); // node 3 moves to 0
        l.relocate(&mut nodes, 3, 0);
        assert_eq!(collect(&l, &nodes), [2, 0, 1]);
        nodes.push(Links::UNLINKED);
        l.push_front(&mut nodes, 3);
        assert_eq!(collect(&l, &nodes), [3, 2, 0, 1]);
        nodes.push(Links::UNLINKED);
        l.insert_after(&mut nodes, 1, 4);
        assert_eq!(l.pop_front(&mut nodes), Some(3));
        assert_eq!(collect(&l, &nodes), [2, 0, 1, 4]);
        assert_eq!((l.front(), l.back(), l.len()), (Some(2), Some(4), 4));
        l.validate(&nodes, |_| Ok(())).unwrap();
    }

    #[test]
    fn validate_catches_a_broken_link() {
        let mut nodes = vec![Links::UNLINKED; 3];
        let mut l = List::new();
        for i in 0..3 {
            l.push_back(&mut nodes, i);
        }
        nodes[1].prev = 2;
        assert!(l.validate(&nodes, |_| Ok(())).is_err());
    }
}
