//! [`Ghost`]: a bounded set of key fingerprints that forgets the oldest first, for
//! orders that remember what they recently evicted (S3-FIFO's ghost).
//!
//! A ghost keeps no key and no value: only a 32-bit fingerprint of the key's hash (never
//! 0, which marks an empty slot). Fingerprints live in buckets of 8 slots; the bucket is
//! chosen by the fingerprint's high bits and is a small FIFO, newest first: adding to a
//! full bucket forgets its oldest. So `insert` and `contains` touch 32 bytes of one
//! cache line and need no table of positions, where a global FIFO needs a ring and a
//! hash table (two dependent cache misses per operation: with one, `S3Fifo` ran the
//! `benches/compare` workload (a) about 40% slower).
//!
//! The price is that forgetting is per bucket, not global: a fingerprint is forgotten
//! once 8 newer ones have landed in its bucket, which takes `slots` insertions on
//! average, some sooner and some later. On `../shared/traces`, when `S3Fifo`'s ghost
//! was as large as main, this cost loops at the edge of the cache size a few points
//! (loop 512: 44.9% against 49.0% with an exact FIFO) and helped multi2; 8 ways track
//! the exact FIFO better than 4.
//!
//! # Size
//!
//! The slot count is the bound rounded up to a whole bucket (8 slots, at least one
//! bucket): 4 bytes per remembered fingerprint. The bucket count need not be a power of
//! two: a fingerprint's bucket is `fp * buckets >> 32` (its high bits scaled to the
//! count), so the ghost remembers as many fingerprints as it is asked to, not up to
//! twice as many. That size is the ghost's one tuning knob, and rounding it to a power
//! of two made hit ratios jump at capacities that cross one (`S3Fifo`'s remembered
//! anywhere from 1 to 2 times main's entries, depending on the capacity).
//!
//! When the bound outgrows the slots, the buckets grow, to the bound or by a quarter,
//! whichever is more (so a bound that creeps up one entry at a time costs amortized
//! O(1)), re-adding the fingerprints oldest first; a smaller bound keeps the slots it
//! has. Only an explicit `shrink_to` (an order shrunk by a large factor) gives slots
//! back, re-adding what fits the same way.
//!
//! # Two sets in one line
//!
//! A [`GhostPair`] is two ghosts of the same bound whose buckets are laid side by side
//! (64 bytes: 8 slots of each): a fingerprint's two buckets are one cache line, so an
//! order that asks both about each newcomer (`TinyLfu`'s rejected candidates and
//! main's victims) pays one miss instead of two. Each set forgets as its own ghost
//! would: same buckets, same growth.
//!
//! # Invariants (checked by [`Ghost::validate`])
//!
//! - every fingerprint sits in the bucket its high bits name;
//! - in a bucket's FIFO (of each set), the empty slots come after the fingerprints.

/// Slots per bucket (per set).
const WAYS: usize = 8;

/// A bucket: [`Bucket::SETS`] small FIFOs of [`WAYS`] fingerprints side by side, each
/// newest first, then empty slots (0); aligned so that it never straddles two cache
/// lines.
pub(crate) trait Bucket: Copy + Default {
    /// How many independent sets share the buckets.
    const SETS: usize;
    /// The FIFO of `set` in this bucket.
    fn fifo(&self, set: usize) -> &[u32; WAYS];
    /// The FIFO of `set` in this bucket, to change.
    fn fifo_mut(&mut self, set: usize) -> &mut [u32; WAYS];
}

/// A bucket of one set: 32 bytes.
#[derive(Clone, Copy, Debug, Default)]
#[repr(align(32))]
pub(crate) struct One([u32; WAYS]);

/// A bucket of two sets: 64 bytes, one cache line, so that asking both sets about one
/// fingerprint costs one miss.
#[derive(Clone, Copy, Debug, Default)]
#[repr(align(64))]
pub(crate) struct Two([[u32; WAYS]; 2]);

impl Bucket for One {
    const SETS: usize = 1;
    #[inline(always)]
    fn fifo(&self, _: usize) -> &[u32; WAYS] {
        &self.0
    }
    #[inline(always)]
    fn fifo_mut(&mut self, _: usize) -> &mut [u32; WAYS] {
        &mut self.0
    }
}

impl Bucket for Two {
    const SETS: usize = 2;
    #[inline(always)]
    fn fifo(&self, set: usize) -> &[u32; WAYS] {
        &self.0[set]
    }
    #[inline(always)]
    fn fifo_mut(&mut self, set: usize) -> &mut [u32; WAYS] {
        &mut self.0[set]
    }
}

/// A bounded set of 32-bit fingerprints, forgetting the oldest of a bucket first; with
/// [`Two`] buckets, two such sets of the same bound that share their buckets (a
/// [`GhostPair`]).
#[derive(Clone, Debug, Default)]
pub(crate) struct Ghost<B: Bucket = One> {
    buckets: Vec<B>,
}

/// Two ghosts of the same bound in one: set 0 and set 1 of a fingerprint sit in the
/// same cache line. Each set behaves exactly as a [`Ghost`] of that bound would.
pub(crate) type GhostPair = Ghost<Two>;

impl<B: Bucket> Ghost<B> {
    /// The bucket of `fp`: its high bits scaled to the bucket count (Lemire's
    /// multiply-shift range reduction), so any count works.
    #[inline]
    fn bucket_of(&self, fp: u32) -> usize {
        ((u64::from(fp) * self.buckets.len() as u64) >> 32) as usize
    }

    /// Makes room for `bound` fingerprints per set (rounded up to a whole bucket):
    /// grows, never shrinks. Cheap when the bound does not grow (an order may call it
    /// on every eviction).
    #[inline]
    pub(crate) fn set_bound(&mut self, bound: usize) {
        if bound.max(1) > self.buckets.len() * WAYS {
            self.grow(bound);
        }
    }

    /// Grows to `bound` (more than the slots now) or by a quarter, whichever is more.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, bound: usize) {
        let want = bound
            .div_ceil(WAYS)
            .max(1)
            .max(self.buckets.len() + self.buckets.len() / 4);
        self.rebuild(want);
    }

    /// Shrinks to `bound` fingerprints per set (rounded up to a whole bucket, as a
    /// ghost first given that bound has), if it holds more slots than that; keeps
    /// what fits. Buckets are re-filled oldest first as when growing, so each new
    /// bucket keeps the newest of the fingerprints that fall in it by their age in
    /// their old buckets (forgetting stays per bucket, so this is approximate).
    /// O(old slots), for a rare event (an order shrunk by a large factor).
    pub(crate) fn shrink_to(&mut self, bound: usize) {
        let want = bound.div_ceil(WAYS).max(1);
        if want < self.buckets.len() {
            self.rebuild(want);
        }
    }

    /// Moves the fingerprints into `want` new buckets, oldest first.
    fn rebuild(&mut self, want: usize) {
        let old = std::mem::replace(&mut self.buckets, vec![B::default(); want]);
        // Oldest first, so that each bucket ends up newest first again.
        for set in 0..B::SETS {
            for age in (0..WAYS).rev() {
                for bucket in &old {
                    let fp = bucket.fifo(set)[age];
                    if fp != 0 {
                        self.insert_in(set, fp);
                    }
                }
            }
        }
    }

    /// Remembers `fp` (not 0) in `set`, forgetting the oldest of its bucket's FIFO if
    /// that is full. Does nothing before the first [`Ghost::set_bound`].
    #[inline]
    pub(crate) fn insert_in(&mut self, set: usize, fp: u32) {
        debug_assert!(fp != 0, "0 marks an empty slot");
        debug_assert!(set < B::SETS, "set {set} of {}", B::SETS);
        if self.buckets.is_empty() {
            return;
        }
        let b = self.bucket_of(fp);
        let fifo = self.buckets[b].fifo_mut(set);
        fifo.copy_within(0..WAYS - 1, 1);
        fifo[0] = fp;
    }

    /// Whether `set` remembers `fp`.
    #[inline]
    pub(crate) fn contains_in(&self, set: usize, fp: u32) -> bool {
        debug_assert!(
            fp != 0,
            "0 marks an empty slot: every bucket would contain it"
        );
        debug_assert!(set < B::SETS, "set {set} of {}", B::SETS);
        !self.buckets.is_empty() && self.buckets[self.bucket_of(fp)].fifo(set).contains(&fp)
    }

    /// How many fingerprints each set can hold.
    pub(crate) fn slots(&self) -> usize {
        self.buckets.len() * WAYS
    }

    /// Forgets every fingerprint (the slots stay).
    pub(crate) fn clear(&mut self) {
        self.buckets.fill(B::default());
    }

    /// Checks the invariants in the module docs.
    pub(crate) fn validate(&self) -> Result<(), String> {
        for (b, bucket) in self.buckets.iter().enumerate() {
            for set in 0..B::SETS {
                let fifo = bucket.fifo(set);
                let used = fifo.iter().take_while(|&&fp| fp != 0).count();
                if fifo[used..].iter().any(|&fp| fp != 0) {
                    return Err(format!("ghost bucket {b} set {set} has a hole: {fifo:?}"));
                }
                if let Some(fp) = fifo[..used].iter().find(|&&fp| self.bucket_of(fp) != b) {
                    return Err(format!("ghost fingerprint {fp:#x} in bucket {b}"));
                }
            }
        }
        Ok(())
    }
}

impl Ghost<One> {
    /// Remembers `fp` (not 0): [`Ghost::insert_in`] of its one set.
    #[inline]
    pub(crate) fn insert(&mut self, fp: u32) {
        self.insert_in(0, fp);
    }

    /// Whether `fp` is remembered.
    #[inline]
    pub(crate) fn contains(&self, fp: u32) -> bool {
        self.contains_in(0, fp)
    }
}

#[cfg(test)]
mod tests {
    use super::{Ghost, GhostPair, WAYS};

    /// Against a plain model: one `Vec` per bucket, newest first, cut at `WAYS`.
    #[test]
    fn matches_a_bucket_model() {
        let mut ghost: Ghost = Ghost::default();
        assert!(!ghost.contains(5));
        ghost.insert(5); // before any bound: ignored
        assert!(!ghost.contains(5));
        let mut model: Vec<Vec<u32>> = Vec::new();
        // The documented bucket of a fingerprint among `n`.
        let bucket = |fp: u32, n: usize| ((u64::from(fp) * n as u64) >> 32) as usize;
        let mut state = 7u64;
        for step in 0..20_000u32 {
            if step % 5000 == 0 {
                // Grow the bound now and then; the model re-adds oldest first.
                ghost.set_bound([3usize, 50, 10, 200][(step / 5000) as usize]);
                let want = ghost.slots() / WAYS;
                if want > model.len() {
                    let old = std::mem::replace(&mut model, vec![Vec::new(); want]);
                    for age in (0..WAYS).rev() {
                        for b in &old {
                            if let Some(&fp) = b.get(age) {
                                model[bucket(fp, want)].insert(0, fp);
                                model[bucket(fp, want)].truncate(WAYS);
                            }
                        }
                    }
                }
            }
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            // 300 distinct fingerprints spread over all 32 bits (an odd multiplier is a
            // bijection, so none is 0).
            let spread = |x: u64| ((x % 300) as u32 + 1).wrapping_mul(0x9E37_79B1);
            let fp = spread(state >> 33);
            let b = bucket(fp, model.len());
            model[b].insert(0, fp);
            model[b].truncate(WAYS);
            ghost.insert(fp);
            let probe = spread(state >> 13);
            let want = model[bucket(probe, model.len())].contains(&probe);
            assert_eq!(ghost.contains(probe), want, "step {step}");
            ghost.validate().unwrap();
        }
        ghost.clear();
        assert!(!ghost.contains(1));
        ghost.validate().unwrap();
    }

    /// The slots are the bound rounded up to a whole bucket; a bound that creeps up
    /// grows them by a quarter at least; a smaller bound keeps them.
    #[test]
    fn sized_to_the_bound() {
        let mut ghost: Ghost = Ghost::default();
        assert_eq!(ghost.slots(), 0);
        for (bound, slots) in [
            (0, 8),
            (3, 8),
            (50, 56),
            (10, 56),
            (200, 200),
            (201, 248),
            (1000, 1000),
        ] {
            ghost.set_bound(bound);
            assert_eq!(ghost.slots(), slots, "bound {bound}");
        }
    }

    /// `shrink_to` gives slots back (to what a ghost first given that bound has) and
    /// keeps what fits: against the bucket model, a ghost of 1,000 shrunk to 100
    /// remembers, in each new bucket, the newest of the fingerprints that land there
    /// by their age in their old buckets; a larger bound changes nothing.
    #[test]
    fn shrinking_keeps_what_fits() {
        let mut ghost: Ghost = Ghost::default();
        ghost.set_bound(1000);
        let fps: Vec<u32> = (1..=3000u32).map(|x| x.wrapping_mul(0x9E37_79B1)).collect();
        for &fp in &fps {
            ghost.insert(fp);
        }
        let old = ghost.buckets.clone();
        ghost.shrink_to(5000);
        assert_eq!(ghost.slots(), 1000);
        ghost.shrink_to(100);
        let mut fresh: Ghost = Ghost::default();
        fresh.set_bound(100);
        assert_eq!(ghost.slots(), fresh.slots());
        assert_eq!(ghost.buckets.capacity(), ghost.buckets.len());
        ghost.validate().unwrap();
        // The model: re-add oldest first into the new buckets.
        let n = ghost.buckets.len();
        let mut model: Vec<Vec<u32>> = vec![Vec::new(); n];
        for age in (0..WAYS).rev() {
            for b in &old {
                let fp = b.0[age];
                if fp != 0 {
                    let m = &mut model[((u64::from(fp) * n as u64) >> 32) as usize];
                    m.insert(0, fp);
                    m.truncate(WAYS);
                }
            }
        }
        let got: Vec<Vec<u32>> = ghost
            .buckets
            .iter()
            .map(|b| b.0.iter().copied().filter(|&fp| fp != 0).collect())
            .collect();
        assert_eq!(got, model);
        // Full (3,000 went in), and all of it was remembered before.
        assert_eq!(got.iter().map(Vec::len).sum::<usize>(), fresh.slots());
        let remembered = fps.iter().filter(|&&fp| ghost.contains(fp)).count();
        assert_eq!(remembered, fresh.slots());
    }

    /// A bucket forgets its oldest fingerprint first.
    #[test]
    fn a_full_bucket_forgets_its_oldest() {
        let mut ghost: Ghost = Ghost::default();
        ghost.set_bound(WAYS); // one bucket
        for fp in 1..=WAYS as u32 + 1 {
            ghost.insert(fp);
        }
        assert!(!ghost.contains(1));
        assert!((2..=WAYS as u32 + 1).all(|fp| ghost.contains(fp)));
    }

    /// Each set of a pair is the ghost it would be alone: random inserts into either
    /// set and probes of both, against two single ghosts given the same bounds.
    #[test]
    fn a_pair_is_two_ghosts() {
        let mut pair = GhostPair::default();
        let mut alone: [Ghost; 2] = Default::default();
        let mut state = 11u64;
        for step in 0..30_000u32 {
            if step % 6000 == 0 {
                let bound = [5usize, 60, 20, 300, 301][(step / 6000) as usize];
                pair.set_bound(bound);
                alone.iter_mut().for_each(|g| g.set_bound(bound));
            }
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let spread = |x: u64| ((x % 500) as u32 + 1).wrapping_mul(0x9E37_79B1);
            let set = (state >> 60) as usize & 1;
            let fp = spread(state >> 33);
            pair.insert_in(set, fp);
            alone[set].insert(fp);
            let probe = spread(state >> 13);
            for (s, ghost) in alone.iter().enumerate() {
                assert_eq!(
                    pair.contains_in(s, probe),
                    ghost.contains(probe),
                    "step {step}"
                );
            }
            pair.validate().unwrap();
        }
        assert_eq!(std::mem::size_of::<super::Two>(), 64);
        assert_eq!(std::mem::align_of::<super::Two>(), 64);
    }
}
