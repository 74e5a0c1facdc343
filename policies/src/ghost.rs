//! [`Ghost`]: a bounded set of key fingerprints that forgets the oldest first, for
//! orders that remember what they recently evicted (S3-FIFO's ghost).
//!
//! A ghost keeps no key and no value: only a 32-bit fingerprint of the key's hash (never
//! 0, which marks an empty slot). Fingerprints live in buckets of 8 slots; the bucket is
//! chosen by the fingerprint's low bits and is a small FIFO, newest first: adding to a
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
//! O(1)), re-adding the fingerprints oldest first; they never shrink (a smaller bound
//! keeps the slots it has).
//!
//! # Invariants (checked by [`Ghost::validate`])
//!
//! - every fingerprint sits in the bucket its high bits name;
//! - in a bucket, the empty slots come after the fingerprints.

/// Slots per bucket.
const WAYS: usize = 8;

/// One bucket: newest first, then empty slots (0); aligned so that it never straddles
/// two cache lines.
#[derive(Clone, Copy, Debug, Default)]
#[repr(align(32))]
struct Bucket([u32; WAYS]);

/// A bounded set of 32-bit fingerprints, forgetting the oldest of a bucket first.
#[derive(Clone, Debug, Default)]
pub(crate) struct Ghost {
    buckets: Vec<Bucket>,
}

impl Ghost {
    /// The bucket of `fp`: its high bits scaled to the bucket count (Lemire's
    /// multiply-shift range reduction), so any count works.
    #[inline]
    fn bucket_of(&self, fp: u32) -> usize {
        ((u64::from(fp) * self.buckets.len() as u64) >> 32) as usize
    }

    /// Makes room for `bound` fingerprints (rounded up to a whole bucket): grows, never
    /// shrinks. Cheap when the bound does not grow (an order may call it on every
    /// eviction).
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
        let old = std::mem::replace(&mut self.buckets, vec![Bucket::default(); want]);
        // Oldest first, so that each bucket ends up newest first again.
        for age in (0..WAYS).rev() {
            for bucket in &old {
                if bucket.0[age] != 0 {
                    self.insert(bucket.0[age]);
                }
            }
        }
    }

    /// Remembers `fp` (not 0), forgetting the oldest of its bucket if that is full. Does
    /// nothing before the first [`Ghost::set_bound`].
    #[inline]
    pub(crate) fn insert(&mut self, fp: u32) {
        debug_assert!(fp != 0, "0 marks an empty slot");
        if self.buckets.is_empty() {
            return;
        }
        let b = self.bucket_of(fp);
        let bucket = &mut self.buckets[b].0;
        bucket.copy_within(0..WAYS - 1, 1);
        bucket[0] = fp;
    }

    /// Whether `fp` is remembered.
    #[inline]
    pub(crate) fn contains(&self, fp: u32) -> bool {
        !self.buckets.is_empty() && self.buckets[self.bucket_of(fp)].0.contains(&fp)
    }

    /// How many fingerprints it can hold.
    #[cfg(test)]
    pub(crate) fn slots(&self) -> usize {
        self.buckets.len() * WAYS
    }

    /// Forgets every fingerprint (the slots stay).
    pub(crate) fn clear(&mut self) {
        self.buckets.fill(Bucket::default());
    }

    /// Checks the invariants in the module docs.
    pub(crate) fn validate(&self) -> Result<(), String> {
        for (b, Bucket(bucket)) in self.buckets.iter().enumerate() {
            let used = bucket.iter().take_while(|&&fp| fp != 0).count();
            if bucket[used..].iter().any(|&fp| fp != 0) {
                return Err(format!("ghost bucket {b} has a hole: {bucket:?}"));
            }
            if let Some(fp) = bucket[..used].iter().find(|&&fp| self.bucket_of(fp) != b) {
                return Err(format!("ghost fingerprint {fp:#x} in bucket {b}"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Ghost, WAYS};

    /// Against a plain model: one `Vec` per bucket, newest first, cut at `WAYS`.
    #[test]
    fn matches_a_bucket_model() {
        let mut ghost = Ghost::default();
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
        let mut ghost = Ghost::default();
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

    /// A bucket forgets its oldest fingerprint first.
    #[test]
    fn a_full_bucket_forgets_its_oldest() {
        let mut ghost = Ghost::default();
        ghost.set_bound(WAYS); // one bucket
        for fp in 1..=WAYS as u32 + 1 {
            ghost.insert(fp);
        }
        assert!(!ghost.contains(1));
        assert!((2..=WAYS as u32 + 1).all(|fp| ghost.contains(fp)));
    }
}
