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
//! average, some sooner and some later. On `../shared/traces` this costs loops at the
//! edge of the cache size a few points (loop 512: 44.9% against 49.0% with an exact
//! FIFO) and helps multi2; 8 ways track the exact FIFO better than 4.
//!
//! # Size
//!
//! The slot count is the bound rounded up to a power of two (at least 8, one bucket),
//! so 4 to 8 bytes per remembered fingerprint. When the bound outgrows it, the buckets double,
//! re-adding the fingerprints oldest first; they never shrink (a smaller bound keeps
//! the slots it has).
//!
//! # Invariants (checked by [`Ghost::validate`])
//!
//! - the bucket count is 0 or a power of two;
//! - every fingerprint sits in the bucket its low bits name;
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
    #[inline]
    fn bucket_of(&self, fp: u32) -> usize {
        fp as usize & (self.buckets.len() - 1)
    }

    /// Makes room for about `bound` fingerprints: grows (never shrinks) to the bound
    /// rounded up to a power of two.
    /// Cheap when the bound does not grow (an order may call it on every eviction).
    #[inline]
    pub(crate) fn set_bound(&mut self, bound: usize) {
        if bound.max(1) > self.buckets.len() * WAYS {
            self.grow(bound);
        }
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self, bound: usize) {
        let want = bound.max(WAYS).next_power_of_two() / WAYS;
        if want <= self.buckets.len() {
            return;
        }
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

    /// Forgets every fingerprint (the slots stay).
    pub(crate) fn clear(&mut self) {
        self.buckets.fill(Bucket::default());
    }

    /// Checks the invariants in the module docs.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let n = self.buckets.len();
        if n != 0 && !n.is_power_of_two() {
            return Err(format!("ghost has {n} buckets, not a power of two"));
        }
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
        let mut state = 7u64;
        for step in 0..20_000u32 {
            if step % 5000 == 0 {
                // Grow the bound now and then; the model re-adds oldest first.
                let bound = [3usize, 50, 10, 200][(step / 5000) as usize];
                let want = bound.max(WAYS).next_power_of_two() / WAYS;
                if want > model.len() {
                    let old = std::mem::replace(&mut model, vec![Vec::new(); want]);
                    for age in (0..WAYS).rev() {
                        for b in &old {
                            if let Some(&fp) = b.get(age) {
                                model[fp as usize % want].insert(0, fp);
                                model[fp as usize % want].truncate(WAYS);
                            }
                        }
                    }
                }
                ghost.set_bound(bound);
            }
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let fp = ((state >> 33) % 300) as u32 + 1;
            let b = fp as usize % model.len();
            model[b].insert(0, fp);
            model[b].truncate(WAYS);
            ghost.insert(fp);
            let probe = ((state >> 13) % 300) as u32 + 1;
            let want = model[probe as usize % model.len()].contains(&probe);
            assert_eq!(ghost.contains(probe), want, "step {step}");
            ghost.validate().unwrap();
        }
        ghost.clear();
        assert!(!ghost.contains(1));
        ghost.validate().unwrap();
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
