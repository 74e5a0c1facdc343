//! [`Ghost`]: a bounded FIFO set of key fingerprints, for orders that remember what
//! they recently evicted (S3-FIFO's ghost queue).
//!
//! A ghost keeps no key and no value: only a 32-bit fingerprint of the key's hash, in
//! insertion order, with a hashbrown table of positions for O(1) membership. When it
//! holds `bound` fingerprints, adding one forgets the oldest. A fingerprint may be
//! present twice (a key evicted twice within the window); each copy ages out on its
//! own.
//!
//! Cost: about 10 bytes per remembered fingerprint (4 in the FIFO, 4 plus a control
//! byte in the table, at hashbrown's load factor).
//!
//! # Invariants (checked by [`Ghost::validate`])
//!
//! - the table holds exactly the sequence numbers `head .. head + fifo.len()`
//!   (wrapping), each reachable by the hash of its fingerprint;
//! - `fifo.len() <= max(bound, 1)` after every `insert`.

use std::collections::VecDeque;

use hashbrown::HashTable;

/// A bounded FIFO set of 32-bit fingerprints.
#[derive(Clone, Debug, Default)]
pub(crate) struct Ghost {
    /// Fingerprints, oldest at the front.
    fifo: VecDeque<u32>,
    /// Sequence numbers of the fingerprints in `fifo`: `seq - head` is the position.
    table: HashTable<u32>,
    /// Sequence number of `fifo.front()`.
    head: u32,
    /// How many fingerprints to keep.
    bound: usize,
}

/// The table hash of a fingerprint: spread over all 64 bits, so that hashbrown's bucket
/// bits and tag bits both vary.
#[inline]
fn spread(fp: u32) -> u64 {
    (u64::from(fp) | (u64::from(fp) << 32)).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

impl Ghost {
    /// Sets how many fingerprints to keep; a smaller bound takes effect at the next
    /// [`Ghost::insert`].
    #[inline]
    pub(crate) fn set_bound(&mut self, bound: usize) {
        self.bound = bound;
    }

    /// Number of fingerprints held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.fifo.len()
    }

    /// Remembers `fp`, forgetting the oldest fingerprints beyond the bound.
    pub(crate) fn insert(&mut self, fp: u32) {
        while !self.fifo.is_empty() && self.fifo.len() >= self.bound.max(1) {
            self.pop_oldest();
        }
        let Ghost {
            fifo, table, head, ..
        } = self;
        let seq = head.wrapping_add(fifo.len() as u32);
        fifo.push_back(fp);
        let (fifo, head) = (&*fifo, *head);
        table.insert_unique(spread(fp), seq, |&s| {
            spread(fifo[s.wrapping_sub(head) as usize])
        });
    }

    /// Whether `fp` is remembered.
    #[inline]
    pub(crate) fn contains(&self, fp: u32) -> bool {
        let (fifo, head) = (&self.fifo, self.head);
        self.table
            .find(spread(fp), |&s| fifo[s.wrapping_sub(head) as usize] == fp)
            .is_some()
    }

    fn pop_oldest(&mut self) {
        let Some(fp) = self.fifo.pop_front() else {
            return;
        };
        let head = self.head;
        match self.table.find_entry(spread(fp), |&s| s == head) {
            Ok(slot) => {
                slot.remove();
            }
            Err(_) => debug_assert!(false, "ghost fingerprint {fp:#x} missing from its table"),
        }
        self.head = head.wrapping_add(1);
    }

    /// Forgets everything (the bound stays).
    pub(crate) fn clear(&mut self) {
        self.fifo.clear();
        self.table.clear();
        self.head = 0;
    }

    /// Checks the invariants in the module docs.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.table.len() != self.fifo.len() {
            return Err(format!(
                "ghost table holds {} of {} fingerprints",
                self.table.len(),
                self.fifo.len()
            ));
        }
        for (pos, &fp) in self.fifo.iter().enumerate() {
            let seq = self.head.wrapping_add(pos as u32);
            if self.table.find(spread(fp), |&s| s == seq).is_none() {
                return Err(format!("ghost position {pos} unreachable from its table"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Ghost;
    use std::collections::VecDeque;

    /// Against a plain `VecDeque` model: same membership after every step.
    #[test]
    fn matches_a_fifo_model() {
        let mut ghost = Ghost::default();
        let mut model: VecDeque<u32> = VecDeque::new();
        let mut state = 7u64;
        for step in 0..20_000u32 {
            if step % 5000 == 0 {
                let bound = [3usize, 50, 1, 200][(step / 5000) as usize];
                ghost.set_bound(bound);
            }
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let fp = ((state >> 33) % 300) as u32;
            let bound = ghost.bound.max(1);
            while model.len() >= bound {
                model.pop_front();
            }
            model.push_back(fp);
            ghost.insert(fp);
            assert_eq!(ghost.len(), model.len(), "step {step}");
            let probe = ((state >> 13) % 300) as u32;
            assert_eq!(ghost.contains(probe), model.contains(&probe), "step {step}");
            ghost.validate().unwrap();
        }
        ghost.clear();
        assert!(!ghost.contains(0));
        ghost.validate().unwrap();
    }

    /// Sequence numbers wrap around `u32::MAX` without losing positions.
    #[test]
    fn sequence_numbers_wrap() {
        let mut ghost = Ghost {
            head: u32::MAX - 2,
            ..Ghost::default()
        };
        ghost.set_bound(4);
        for fp in 0..10 {
            ghost.insert(fp);
            ghost.validate().unwrap();
        }
        assert!((6..10).all(|fp| ghost.contains(fp)));
        assert!((0..6).all(|fp| !ghost.contains(fp)));
    }
}
