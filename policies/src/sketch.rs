//! [`FrequencySketch`]: a Count-Min Sketch of 4-bit counters, the popularity estimate
//! behind [`TinyLfu`](crate::TinyLfu).
//!
//! # Layout
//!
//! - Counters are 4 bits, 16 to a `u64`, and live in 64-byte blocks (eight `u64`s,
//!   aligned to a cache line). A key picks one block from its hash, and in it one
//!   counter in each of 4 rows (row `r` owns words `2r` and `2r + 1`): depth 4, and an
//!   increment or an estimate touches one cache line. Every index comes from shifts and
//!   masks of the caller's hash spread by one multiply (block from the low bits,
//!   counters from bits 40..60): no division, no second hash.
//! - **Width**: four counter words per entry the sketch is sized for (rounded up to a
//!   power of two) up to 8,192 entries; larger sketches taper to one word per entry,
//!   Caffeine's width, with a floor of 256 KiB (`words_for` says why).
//! - An optional **doorkeeper** ([`FrequencySketch::with_doorkeeper`], off by default)
//!   is a bloom filter in front of the counters (64 bits per entry; 3 bits in one `u64`
//!   word per key): a key's first increment only sets its doorkeeper bits, and the
//!   estimate is the counters' minimum plus 1 if the doorkeeper holds the key.
//! - **Aging**: after a sample period of increments (`10 ×` the entry count the sketch
//!   was asked for), every counter is halved (and the doorkeeper cleared), so that old
//!   popularity fades.
//! - **Resizing**: [`FrequencySketch::grow_to`] doubles the blocks and keeps every
//!   count; [`FrequencySketch::shrink_to`] halves them, folding each block into its
//!   twin by the larger counter (a count can only rise), and ends exactly as large as
//!   a new sketch of its size.
//! - The hash is mixed with a seed: two sketches with different seeds collide on
//!   different keys.
//!
//! # Guarantees
//!
//! Between two agings, for a key incremented `t` times:
//! - the estimate is never below `min(t, 15)` (never an under-estimate, up to
//!   saturation: a counter stops at 15; 16 with a doorkeeper), a growth or a shrink
//!   between the increments notwithstanding (a shrink that ages the sketch is an
//!   aging);
//! - the over-estimate comes only from other keys sharing a counter in all 4 rows (or
//!   the doorkeeper's false positive): with `N` increments reaching the counters and a
//!   row width of `w = 32 ×` blocks, it is at most `e·N/w + 1` except with small
//!   probability (a Count-Min bound; the tests check it empirically).

/// Increments (samples) between agings, per entry the sketch is sized for.
pub const SAMPLES_PER_ENTRY: u64 = 10;

/// Counter words (16 counters each) per entry of a small sketch (up to
/// [`WIDE_ENTRIES`] entries). Caffeine uses one; four cut the collisions that make
/// equally popular keys look different (and so churn the main space): on the LIRS
/// and ARC traces at capacities of 100 to 2,000 (the sim, seed 42), one word instead of
/// four loses 2.4 points on scan at 1,000, 1.7 on zigzag at 1,000, 0.9 on sprite at
/// 100, and under 1 point elsewhere.
pub(crate) const WORDS_PER_ENTRY: u64 = 4;

/// The most entries that get [`WORDS_PER_ENTRY`] words each. A larger sketch keeps the
/// 32,768 words (256 KiB) this gives until it reaches one word per entry, and then
/// grows by one word per entry: see [`words_for`].
pub(crate) const WIDE_ENTRIES: u64 = 8192;

/// Counter words for a sketch of `entries` entries (a power of two, at least 64):
/// [`WORDS_PER_ENTRY`] per entry up to [`WIDE_ENTRIES`] entries, then 256 KiB until
/// that is one word per entry, then one word per entry (Caffeine's width). A power of
/// two, never smaller for more entries, so growing keeps or doubles the blocks (it
/// keeps them from 8,192 to 32,768 entries).
///
/// Why the taper: past a few thousand entries the sketch is a cache miss per
/// increment or estimate whatever its width, and a wide one fills the caches and the
/// TLB that the table and the entries need. Four words per entry made 4 MiB of
/// counters at 100,000 entries and 32 MiB at 1M: `TinyLfu` held `u64 -> u64` in 86.1
/// bytes per entry at 1M (60.9 with the taper, before the idle window's ghost added
/// one; `cargo run --release --example memory`), and `insert_evict/TinyLfu/100000`
/// of `cargo bench --bench policies` ran 19% to 35% slower (1M: 0 to 10%; 1K: the same). The hit ratio does not need the
/// width there: on `../shared/traces` (the sim, seed 42) the taper changes three
/// cells, the only ones with more than 8,192 entries: p3 at 131,072 gains 0.3 points
/// (48.1% to 48.4%, now above its bar of 48.15), p3 at 32,768 loses 0.6 (18.9% to
/// 18.3%, bar 17.75) and oltp at 10,000 loses 0.2 (62.6% to 62.4%, bar 60.8).
#[inline]
pub(crate) const fn words_for(entries: u64) -> u64 {
    let wide = if entries < WIDE_ENTRIES {
        entries
    } else {
        WIDE_ENTRIES
    };
    let words = wide * WORDS_PER_ENTRY;
    if entries > words { entries } else { words }
}

/// Keeps 3 bits of every nibble: `(word >> 1) & RESET_MASK` halves 16 counters at once.
const RESET_MASK: u64 = 0x7777_7777_7777_7777;
/// The lowest bit of every nibble.
const ONE_MASK: u64 = 0x1111_1111_1111_1111;

/// The larger of each pair of 4-bit counters of `a` and `b` (16 pairs, SWAR): the
/// even nibbles and the odd ones are compared in 8-bit lanes, where a subtraction
/// borrows from a lane's bit 4 only if `a`'s counter is the smaller.
#[inline]
fn nibble_max(a: u64, b: u64) -> u64 {
    const LOW: u64 = 0x0f0f_0f0f_0f0f_0f0f;
    const BIT4: u64 = 0x1010_1010_1010_1010;
    let lanes = |a: u64, b: u64| {
        // Bit 4 of a lane stays set iff a >= b; spread it to the lane's low nibble.
        let ge = (((a | BIT4) - b) & BIT4) >> 4;
        let mask = ge * 0xf;
        (a & mask) | (b & !mask & LOW)
    };
    lanes(a & LOW, b & LOW) | (lanes((a >> 4) & LOW, (b >> 4) & LOW) << 4)
}

/// One cache line of counters: 4 rows of 32 counters.
#[derive(Clone, Copy, Debug, Default)]
#[repr(align(64))]
struct Block([u64; 8]);

/// A Count-Min Sketch of 4-bit counters (depth 4, one 64-byte block per key), with a
/// doorkeeper and periodic halving. See the [module documentation](self).
#[derive(Clone, Debug)]
pub struct FrequencySketch {
    blocks: Vec<Block>,
    block_mask: u64,
    /// Empty unless the doorkeeper is on ([`FrequencySketch::with_doorkeeper`]).
    doorkeeper: Vec<u64>,
    door_mask: u64,
    seed: u64,
    /// Entries the sketch is sized for.
    entries: u64,
    /// Increments since the last aging.
    samples: u64,
    /// Increments between agings.
    period: u64,
    /// Number of agings so far.
    resets: u64,
}

/// A strong 64-bit mixer (the splitmix64 finalizer).
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl FrequencySketch {
    /// A sketch for about `entries` distinct popular keys (at least 64), with its hash
    /// mixed with `seed`. It takes 32 bytes per entry up to 8,192 entries, then 256 KiB
    /// until that is 8 bytes per entry, then 8 bytes per entry (entries rounded up to a
    /// power of two; see `words_for`), and 8 bytes more per entry with a doorkeeper.
    pub fn new(entries: u64, seed: u64) -> Self {
        let asked = entries.clamp(1, 1 << 40);
        let entries = entries.clamp(64, 1 << 40).next_power_of_two();
        // Words of 16 counters, 8 words per block.
        let blocks = (words_for(entries) / 8) as usize;
        FrequencySketch {
            blocks: vec![Block::default(); blocks],
            block_mask: blocks as u64 - 1,
            doorkeeper: Vec::new(),
            door_mask: 0,
            seed: mix(seed ^ 0x6a09_e667_f3bc_c908),
            entries,
            samples: 0,
            period: asked * SAMPLES_PER_ENTRY,
            resets: 0,
        }
    }

    /// This sketch with a doorkeeper (64 bits per entry) in front of its counters: a
    /// key's first sighting after an aging only sets its doorkeeper bits. Off by
    /// default: clearing it at every aging makes keys seen since then look one more
    /// popular than equally popular keys not yet seen again, which churns W-TinyLFU's
    /// main space (zigzag, scan) and costs a second cache line per increment.
    #[must_use]
    pub fn with_doorkeeper(mut self) -> Self {
        self.doorkeeper = vec![0; self.entries as usize];
        self.door_mask = self.entries - 1;
        self
    }

    /// Whether this sketch has a doorkeeper.
    pub fn has_doorkeeper(&self) -> bool {
        !self.doorkeeper.is_empty()
    }

    /// The number of entries this sketch is sized for (a power of two).
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// The entries it was asked to size for (the largest that `new` and
    /// [`FrequencySketch::grow_to`] were given since it was last
    /// [shrunk](FrequencySketch::shrink_to), or what that was given), before rounding
    /// up to a power of two.
    ///
    /// ```
    /// use polycache_policies::FrequencySketch;
    /// let mut sketch = FrequencySketch::new(100, 7);
    /// assert_eq!((sketch.asked(), sketch.entries()), (100, 128));
    /// sketch.grow_to(1000);
    /// sketch.grow_to(500); // never shrinks
    /// assert_eq!((sketch.asked(), sketch.entries()), (1000, 1024));
    /// ```
    pub fn asked(&self) -> u64 {
        self.period / SAMPLES_PER_ENTRY
    }

    /// Increments between two agings.
    pub fn sample_period(&self) -> u64 {
        self.period
    }

    /// Increments since the last aging.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// How many times the sketch has aged (halved its counters).
    pub fn resets(&self) -> u64 {
        self.resets
    }

    /// The width of one row (counters per row): `32 ×` the number of blocks.
    pub fn row_width(&self) -> u64 {
        self.blocks.len() as u64 * 32
    }

    /// The spread hash of a key: one multiply, then the high half folded into the low.
    /// The block comes from the low bits, the counters from bits 40..60: a key's 4
    /// counters are picked independently of its block even when the caller's hash has
    /// only 24 bits of entropy (TinyLfu keeps 24 bits per entry). Callers hand in a
    /// well-mixed hash; this is a spreader, not a hash function.
    #[inline(always)]
    fn spread(&self, hash: u64) -> u64 {
        let h = (hash ^ self.seed).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        h ^ (h >> 32)
    }

    /// The doorkeeper word and bits of a spread hash.
    #[inline(always)]
    fn door(&self, h: u64) -> (usize, u64) {
        let word = ((h >> 7) & self.door_mask) as usize;
        let bits = (1u64 << ((h >> 40) & 63)) | (1 << ((h >> 46) & 63)) | (1 << ((h >> 52) & 63));
        (word, bits)
    }

    /// The block of a spread hash.
    #[inline(always)]
    fn block(&self, h: u64) -> usize {
        (h & self.block_mask) as usize
    }

    /// Word (in the block) and bit shift of row `r`'s counter.
    #[inline(always)]
    fn counter(h: u64, r: u32) -> (usize, u32) {
        let c = (h >> (40 + 5 * r)) & 31;
        ((2 * r as u64 + (c & 1)) as usize, ((c >> 1) as u32) << 2)
    }

    /// Records one occurrence of the key with this `hash`: [`FrequencySketch::add`]
    /// of 1 and [`FrequencySketch::sample`]. Returns `true` if this aged the sketch.
    #[inline(always)]
    pub fn increment(&mut self, hash: u64) -> bool {
        self.add(hash, 1);
        self.sample()
    }

    /// Counts one sample (an occurrence of some key) toward the sample period, and
    /// ages the sketch when the period is reached: returns `true` if it did. A caller
    /// that keeps a few occurrences of a key aside (TinyLfu keeps a resident entry's
    /// recent hits in its node) counts each one here when it happens and hands the
    /// counts in later with [`FrequencySketch::add`]. O(1), except the aging itself:
    /// O(size) once per period, so O(1) amortized.
    #[inline(always)]
    pub fn sample(&mut self) -> bool {
        self.sample_many(1)
    }

    /// Counts `n` samples at once: the same as `n` calls of [`FrequencySketch::sample`]
    /// when `n` is at most [`FrequencySketch::samples_to_aging`] (the aging, if any, is
    /// the last of them), so that a caller can count its samples in a register-cheap
    /// countdown and hand them in when the sketch is due. Larger `n` ages once.
    #[inline]
    pub fn sample_many(&mut self, n: u64) -> bool {
        self.samples += n;
        if self.samples >= self.period {
            self.reset();
            return true;
        }
        false
    }

    /// Samples left until the next aging (at least 1).
    #[inline]
    pub fn samples_to_aging(&self) -> u64 {
        self.period.saturating_sub(self.samples).max(1)
    }

    /// Adds `n` occurrences of the key with this `hash` to its counters (each
    /// saturating at 15), without counting samples. Branch-free on the counters:
    /// one 64-byte block, four words (one per row).
    #[inline(always)]
    pub fn add(&mut self, hash: u64, n: u32) {
        let h = self.spread(hash);
        let mut n = u64::from(n.min(16));
        if n == 0 {
            return;
        }
        if !self.doorkeeper.is_empty() && self.absorb(h) {
            n -= 1;
        }
        let b = self.block(h);
        let block = &mut self.blocks[b].0;
        for r in 0..4 {
            let (w, shift) = Self::counter(h, r);
            let word = block[w];
            let c = (word >> shift) & 0xf;
            block[w] = word + (((c + n).min(15) - c) << shift);
        }
    }

    /// Sets the doorkeeper bits of `h`; `true` if they were not all set (a first
    /// sighting, which the counters do not see).
    #[inline]
    fn absorb(&mut self, h: u64) -> bool {
        let (word, bits) = self.door(h);
        let door = &mut self.doorkeeper[word];
        let first = *door & bits != bits;
        *door |= bits;
        first
    }

    /// The estimated number of occurrences of the key with this `hash` since the last
    /// aging (up to halvings before it), in `0..=15` (`0..=16` with a doorkeeper).
    #[inline]
    pub fn estimate(&self, hash: u64) -> u32 {
        let h = self.spread(hash);
        if self.doorkeeper.is_empty() {
            return self.counters(h);
        }
        let (word, bits) = self.door(h);
        if self.doorkeeper[word] & bits != bits {
            // Not even seen once since the doorkeeper was cleared: whatever the
            // counters hold is history (halved).
            return self.counters(h);
        }
        1 + self.counters(h)
    }

    #[inline]
    fn counters(&self, h: u64) -> u32 {
        let block = &self.blocks[self.block(h)].0;
        let mut min = 15;
        for r in 0..4 {
            let (w, shift) = Self::counter(h, r);
            min = min.min(((block[w] >> shift) & 0xf) as u32);
        }
        min
    }

    /// Ages the sketch now: halves every counter, clears the doorkeeper, and halves the
    /// sample count (less the remainders lost in the halving).
    #[cold]
    #[inline(never)]
    pub fn reset(&mut self) {
        // The counters that were odd lose half a count each: sum their low bits with
        // SWAR adds (a block's 8 words give nibbles of at most 8, then bytes of at most
        // 16, then one byte sum of at most 128) rather than a popcount per word, which
        // the baseline x86-64 target has no instruction for.
        const BYTE_LOW: u64 = 0x0f0f_0f0f_0f0f_0f0f;
        const BYTE_ONES: u64 = 0x0101_0101_0101_0101;
        let mut odd = 0u64;
        for block in &mut self.blocks {
            let mut nibbles = 0u64;
            for w in &mut block.0 {
                nibbles += *w & ONE_MASK;
                *w = (*w >> 1) & RESET_MASK;
            }
            let bytes = (nibbles & BYTE_LOW) + ((nibbles >> 4) & BYTE_LOW);
            odd += bytes.wrapping_mul(BYTE_ONES) >> 56;
        }
        self.doorkeeper.fill(0);
        self.samples = (self.samples / 2).saturating_sub(odd / 4);
        self.resets += 1;
    }

    /// Grows the sketch (never shrinks it) to hold about `entries` keys, without losing
    /// any count: each doubling of the blocks copies every block into its new twin (the
    /// doorkeeper doubles with every doubling of the entries), and a key's new block is
    /// either its old one or that twin. The sample period grows with it. O(new size).
    pub fn grow_to(&mut self, entries: u64) {
        // The doubling test below compares widths, not the blocks held: they agree.
        debug_assert_eq!(self.blocks.len() as u64 * 8, words_for(self.entries));
        let asked = entries.clamp(1, 1 << 40);
        self.period = self.period.max(asked * SAMPLES_PER_ENTRY);
        let target = entries.clamp(64, 1 << 40).next_power_of_two();
        while self.entries < target {
            if words_for(self.entries * 2) > words_for(self.entries) {
                self.blocks.extend_from_within(..);
            }
            self.doorkeeper.extend_from_within(..);
            self.block_mask = self.blocks.len() as u64 - 1;
            self.door_mask = (self.doorkeeper.len() as u64).saturating_sub(1);
            self.entries *= 2;
        }
    }

    /// Shrinks the sketch (never grows it) to hold about `entries` keys, the way
    /// [`FrequencySketch::new`] would size it: the blocks, the doorkeeper and the
    /// sample period become exactly those of `FrequencySketch::new(entries, _)` (the
    /// width follows `words_for`'s taper, so a shrink across it may keep the blocks
    /// while the entries halve, as a growth across it does). Does nothing unless
    /// `entries` (at least 1) is fewer than [`FrequencySketch::asked`].
    ///
    /// The counts are **folded**, not forgotten: each halving of the blocks merges
    /// block `i + half` into block `i`, taking the larger of each pair of counters
    /// (and the union of the doorkeeper's halves). A key's block is the low bits of
    /// its spread hash, so its new block is exactly that merge of its old one and the
    /// twin that now shares it, and its counters sit at the same places within it. A
    /// counter only ever rises in the fold, so no estimate falls: the guarantee
    /// against under-estimates holds across it. The maximum rather than the sum: a
    /// large sketch spreads its increments thinly, and the sum of the 2^k twins that
    /// a large shrink merges would saturate most counters (a sketch of 100,000 entries
    /// folded to 1,000 merges 32 blocks into each), leaving every key at 15; the
    /// maximum inflates a cold key only to its most popular twin per row, and the
    /// minimum over the 4 rows does the rest.
    ///
    /// The sample period becomes `10 ×` the new entries. If the samples since the
    /// last aging already reach it, the sketch ages now (once: the counts were of a
    /// longer period, and halving them is what the shorter one would have done by
    /// now) and then keeps at most half a period of samples, as a sketch of the new
    /// period just aged would; it returns `true` then (a caller holding counts aside
    /// halves them too, as after [`FrequencySketch::sample`] returns `true`).
    ///
    /// O(old size), once, for a rare event (a cache shrunk by a large factor).
    ///
    /// ```
    /// use polycache_policies::FrequencySketch;
    /// let mut sketch = FrequencySketch::new(100_000, 7);
    /// for _ in 0..5 {
    ///     sketch.increment(42);
    /// }
    /// sketch.shrink_to(1_000);
    /// let fresh = FrequencySketch::new(1_000, 7);
    /// assert_eq!(
    ///     (sketch.entries(), sketch.asked(), sketch.row_width(), sketch.sample_period()),
    ///     (fresh.entries(), fresh.asked(), fresh.row_width(), fresh.sample_period()),
    /// );
    /// assert!(sketch.estimate(42) >= 5, "the fold never lowers an estimate");
    /// ```
    pub fn shrink_to(&mut self, entries: u64) -> bool {
        let asked = entries.clamp(1, 1 << 40);
        if asked >= self.asked() {
            return false;
        }
        let target = entries.clamp(64, 1 << 40).next_power_of_two();
        while self.entries > target {
            if words_for(self.entries / 2) < words_for(self.entries) {
                let half = self.blocks.len() / 2;
                let (low, high) = self.blocks.split_at_mut(half);
                for (a, b) in low.iter_mut().zip(high.iter()) {
                    for (x, y) in a.0.iter_mut().zip(b.0) {
                        *x = nibble_max(*x, y);
                    }
                }
                self.blocks.truncate(half);
            }
            let half = self.doorkeeper.len() / 2;
            let (low, high) = self.doorkeeper.split_at_mut(half);
            for (a, b) in low.iter_mut().zip(high.iter()) {
                *a |= b;
            }
            self.doorkeeper.truncate(half);
            self.block_mask = self.blocks.len() as u64 - 1;
            self.door_mask = (self.doorkeeper.len() as u64).saturating_sub(1);
            self.entries /= 2;
        }
        self.blocks.shrink_to_fit();
        self.doorkeeper.shrink_to_fit();
        debug_assert_eq!(self.blocks.len() as u64 * 8, words_for(self.entries));
        self.period = asked * SAMPLES_PER_ENTRY;
        if self.samples < self.period {
            return false;
        }
        self.reset();
        self.samples = self.samples.min(self.period / 2);
        true
    }

    /// Forgets everything (counters, doorkeeper and samples).
    pub fn clear(&mut self) {
        self.blocks.fill(Block::default());
        self.doorkeeper.fill(0);
        self.samples = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic stream of key hashes.
    fn keys(n: u64, seed: u64) -> impl Iterator<Item = u64> {
        (0..n).map(move |i| mix(i.wrapping_add(seed.wrapping_mul(0x9e37_79b9))))
    }

    #[test]
    fn counts_and_saturates() {
        let mut s = FrequencySketch::new(1024, 7);
        assert!(!s.has_doorkeeper());
        assert_eq!(s.estimate(42), 0);
        for t in 1..=15 {
            s.increment(42);
            assert!(s.estimate(42) >= t, "estimate below {t}");
        }
        for _ in 0..10 {
            s.increment(42);
        }
        assert_eq!(s.estimate(42), 15);
    }

    #[test]
    fn doorkeeper_absorbs_first_sightings() {
        let mut s = FrequencySketch::new(1024, 7).with_doorkeeper();
        assert!(s.has_doorkeeper());
        assert_eq!(s.estimate(42), 0);
        s.increment(42);
        assert_eq!(s.estimate(42), 1);
        assert_eq!(
            s.counters(s.spread(42)),
            0,
            "the first sighting stays in the doorkeeper"
        );
        for t in 2..=16 {
            s.increment(42);
            assert!(s.estimate(42) >= t, "estimate below {t}");
        }
        for _ in 0..10 {
            s.increment(42);
        }
        assert_eq!(s.estimate(42), 16);
        s.grow_to(4096);
        assert_eq!(s.estimate(42), 16);
        s.reset();
        assert_eq!(s.estimate(42), 7, "halved, doorkeeper cleared");
    }

    #[test]
    fn reset_halves_counters_and_discounts_odd_ones() {
        let mut s = FrequencySketch::new(512, 3);
        for h in keys(3000, 9) {
            for _ in 0..(h % 7) {
                s.add(h, 1);
            }
        }
        let before = s.blocks.clone();
        // Counted the slow way: one popcount per word.
        let odd: u64 = before
            .iter()
            .flat_map(|b| b.0)
            .map(|w| u64::from((w & ONE_MASK).count_ones()))
            .sum();
        assert!(odd > 1000, "the test needs many odd counters, has {odd}");
        s.sample_many(s.samples_to_aging() - 1);
        let samples = s.samples();
        s.reset();
        assert_eq!(s.samples(), (samples / 2).saturating_sub(odd / 4));
        for (old, new) in before.iter().zip(&s.blocks) {
            for (o, n) in old.0.iter().zip(new.0) {
                for c in 0..16 {
                    assert_eq!((n >> (4 * c)) & 0xf, ((o >> (4 * c)) & 0xf) / 2);
                }
            }
        }
    }

    #[test]
    fn sample_many_ages_where_single_samples_would() {
        let mut one = FrequencySketch::new(256, 5);
        let mut many = one.clone();
        let mut aged_one = Vec::new();
        for i in 0..3 * one.sample_period() {
            if one.sample() {
                aged_one.push(i);
            }
        }
        let mut aged_many = Vec::new();
        let mut i = 0;
        let end = 3 * many.sample_period();
        while i < end {
            // Never past the next aging, as callers must.
            let n = many.samples_to_aging().min(1 + i % 37).min(end - i);
            i += n;
            if many.sample_many(n) {
                aged_many.push(i - 1);
            }
        }
        assert_eq!(aged_one, aged_many);
        assert_eq!(one.samples(), many.samples());
    }

    #[test]
    fn never_underestimates_between_resets() {
        let mut s = FrequencySketch::new(4096, 1);
        let mut truth = std::collections::HashMap::new();
        // Zipf-ish: key k occurs about 64/k times; stays under one sample period.
        let mut n = 0u64;
        for k in 1..2000u64 {
            let h = mix(k);
            for _ in 0..(64 / k).max(1) {
                s.increment(h);
                *truth.entry(h).or_insert(0u32) += 1;
                n += 1;
            }
        }
        assert!(n < s.sample_period(), "test must not age the sketch");
        assert_eq!(s.resets(), 0);
        for (&h, &t) in &truth {
            assert!(
                s.estimate(h) >= t.min(15),
                "key {h:x}: {} < {t}",
                s.estimate(h)
            );
        }
    }

    #[test]
    fn overestimate_within_count_min_bound() {
        // Fill a small sketch with many distinct keys, each incremented twice (so all
        // reach the counters), then measure the error on fresh keys incremented twice.
        let mut s = FrequencySketch::new(256, 3);
        let mut counted = 0u64;
        for h in keys(1000, 11) {
            s.increment(h);
            s.increment(h);
            counted += 1; // the second increment reaches the counters
        }
        assert_eq!(s.resets(), 0);
        let w = s.row_width() as f64;
        let bound = (std::f64::consts::E * counted as f64 / w).ceil() as u32 + 1;
        let mut over = 0;
        let probes: Vec<u64> = keys(250, 99).collect();
        for &h in &probes {
            s.increment(h);
            s.increment(h);
            let e = s.estimate(h);
            assert!(e >= 2);
            if e - 2 > bound {
                over += 1;
            }
        }
        assert_eq!(s.resets(), 0, "test must not age the sketch");
        // Count-Min: each row exceeds e·N/w with probability <= 1/e; 4 rows: e^-4 ≈ 2%.
        assert!(
            over * 100 <= probes.len() * 5,
            "{over} of {} above {bound}",
            probes.len()
        );
    }

    #[test]
    fn ages_after_the_sample_period() {
        let mut s = FrequencySketch::new(64, 5);
        let period = s.sample_period();
        for _ in 0..15 {
            s.increment(1);
        }
        assert!(s.estimate(1) >= 15);
        for h in keys(period - 15 - 1, 3) {
            s.increment(h | 1 << 63);
        }
        assert_eq!(s.resets(), 0);
        s.increment(2);
        assert_eq!(s.resets(), 1);
        assert!(s.samples() < period / 2 + 1);
        // Key 1 had 15 increments in its counters, plus collisions: halved.
        let e = s.estimate(1);
        assert!((7..15).contains(&e), "halved estimate {e}");
    }

    #[test]
    fn growing_keeps_every_count() {
        let mut s = FrequencySketch::new(64, 9);
        let hs: Vec<u64> = keys(300, 5).collect();
        for (n, &h) in hs.iter().enumerate() {
            for _ in 0..n % 5 {
                s.increment(h);
            }
        }
        let before: Vec<u32> = hs.iter().map(|&h| s.estimate(h)).collect();
        s.grow_to(1000);
        assert_eq!(s.entries(), 1024);
        assert_eq!(s.sample_period(), 10000);
        let after: Vec<u32> = hs.iter().map(|&h| s.estimate(h)).collect();
        assert_eq!(before, after);
    }

    #[test]
    fn width_tapers_from_four_words_to_one() {
        // Known answers: 4 words per entry up to 8,192 entries, 32,768 words until that
        // is one per entry, then one per entry.
        for (entries, words) in [
            (64, 256),
            (4096, 16384),
            (8192, 32768),
            (16384, 32768),
            (32768, 32768),
            (65536, 65536),
            (1 << 20, 1 << 20),
        ] {
            assert_eq!(words_for(entries), words, "{entries} entries");
            assert_eq!(FrequencySketch::new(entries, 1).row_width(), words * 4);
        }
        // Growing only ever keeps or doubles the blocks.
        let mut e = 64;
        while e < 1 << 40 {
            let (a, b) = (words_for(e), words_for(2 * e));
            assert!(b == a || b == 2 * a, "{e}: {a} -> {b} words");
            e *= 2;
        }
    }

    #[test]
    fn growing_across_the_taper_keeps_every_count() {
        let mut s = FrequencySketch::new(4096, 3).with_doorkeeper();
        let hs: Vec<u64> = keys(3000, 8).collect();
        for (n, &h) in hs.iter().enumerate() {
            for _ in 0..n % 7 {
                s.increment(h);
            }
        }
        assert_eq!(s.resets(), 0, "test must not age the sketch");
        let before: Vec<u32> = hs.iter().map(|&h| s.estimate(h)).collect();
        for entries in [10_000, 20_000, 40_000, 100_000] {
            s.grow_to(entries);
            assert_eq!(s.row_width(), 4 * words_for(s.entries()));
            let after: Vec<u32> = hs.iter().map(|&h| s.estimate(h)).collect();
            assert_eq!(before, after, "grown to {entries}");
        }
    }

    /// Every counter of `word`, lowest first.
    fn nibbles(word: u64) -> impl Iterator<Item = u64> {
        (0..16).map(move |c| (word >> (4 * c)) & 0xf)
    }

    #[test]
    fn nibble_max_is_the_max_of_each_counter() {
        let words: Vec<u64> = keys(2000, 4)
            .chain([0, u64::MAX, RESET_MASK, ONE_MASK, 0x0123_4567_89ab_cdef])
            .collect();
        for pair in words.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            for (a, b) in [(a, b), (b, a), (a, a)] {
                let want = nibbles(a).zip(nibbles(b)).map(|(x, y)| x.max(y));
                assert!(nibbles(nibble_max(a, b)).eq(want), "{a:x} {b:x}");
            }
        }
    }

    /// A sketch of `entries`, with a doorkeeper or not, whose counters hold 3 to 9
    /// adds of each of 20,000 keys (not counted as samples: no aging).
    fn filled(entries: u64, doorkeeper: bool) -> (FrequencySketch, Vec<u64>) {
        let mut s = FrequencySketch::new(entries, 5);
        if doorkeeper {
            s = s.with_doorkeeper();
        }
        let hs: Vec<u64> = keys(20_000, 6).collect();
        for (n, &h) in hs.iter().enumerate() {
            for _ in 0..3 + n % 7 {
                s.add(h, 1);
            }
        }
        assert_eq!((s.samples(), s.resets()), (0, 0));
        (s, hs)
    }

    #[test]
    fn shrinking_never_lowers_an_estimate() {
        for doorkeeper in [false, true] {
            for (from, to) in [
                (100_000, 1_000),
                (20_000, 8_000),
                (4_096, 64),
                (1 << 20, 100),
            ] {
                let (mut s, hs) = filled(from, doorkeeper);
                // The keys counted, and as many never counted (their estimates come
                // from collisions, and must not fall either).
                let probes: Vec<u64> = hs.iter().copied().chain(keys(20_000, 77)).collect();
                let before: Vec<u32> = probes.iter().map(|&h| s.estimate(h)).collect();
                assert!(!s.shrink_to(to), "no samples: no aging");
                for (&h, &b) in probes.iter().zip(&before) {
                    let e = s.estimate(h);
                    assert!(e >= b, "{from} -> {to}: key {h:x} fell from {b} to {e}");
                }
                for (n, &h) in hs.iter().enumerate() {
                    let t = 3 + n as u32 % 7;
                    assert!(s.estimate(h) >= t, "{from} -> {to}: key {h:x} below {t}");
                }
            }
        }
    }

    #[test]
    fn shrinking_sizes_the_sketch_as_new_would() {
        for doorkeeper in [false, true] {
            for (from, to) in [
                (1 << 20, 1_000),
                (1 << 20, 16_384),
                (100_000, 10_000),
                (40_000, 9_000),
                (16_384, 8_192),
                (8_192, 2_000),
                (1_000, 1),
                (5_000, 4_000),
            ] {
                let (mut s, _) = filled(from, doorkeeper);
                s.shrink_to(to);
                let mut fresh = FrequencySketch::new(to, 5);
                if doorkeeper {
                    fresh = fresh.with_doorkeeper();
                }
                assert_eq!(s.blocks.len(), fresh.blocks.len(), "{from} -> {to}");
                assert_eq!(s.blocks.capacity(), fresh.blocks.len(), "{from} -> {to}");
                assert_eq!(s.doorkeeper.len(), fresh.doorkeeper.len(), "{from} -> {to}");
                assert_eq!(
                    (s.entries(), s.asked(), s.sample_period(), s.row_width()),
                    (
                        fresh.entries(),
                        fresh.asked(),
                        fresh.sample_period(),
                        fresh.row_width()
                    ),
                    "{from} -> {to}"
                );
                assert_eq!(
                    (s.block_mask, s.door_mask),
                    (fresh.block_mask, fresh.door_mask)
                );
            }
        }
        // Never grows, and a larger or equal size changes nothing.
        let (mut s, hs) = filled(1_000, false);
        let before: Vec<u32> = hs.iter().map(|&h| s.estimate(h)).collect();
        for to in [1_000, 5_000] {
            assert!(!s.shrink_to(to));
            assert_eq!(
                (s.asked(), s.entries(), s.blocks.len()),
                (1_000, 1_024, 512)
            );
        }
        assert!(hs.iter().map(|&h| s.estimate(h)).eq(before));
    }

    #[test]
    fn a_fold_merges_each_block_with_its_twin() {
        let (mut s, _) = filled(2_048, false);
        let before = s.blocks.clone();
        let half = before.len() / 2;
        s.shrink_to(1_024);
        assert_eq!(s.blocks.len(), half);
        for (i, block) in s.blocks.iter().enumerate() {
            for w in 0..8 {
                let (a, b) = (before[i].0[w], before[i + half].0[w]);
                let want = nibbles(a).zip(nibbles(b)).map(|(x, y)| x.max(y));
                assert!(nibbles(block.0[w]).eq(want), "block {i} word {w}");
            }
        }
    }

    #[test]
    fn shrinking_past_the_samples_ages_once() {
        let mut s = FrequencySketch::new(100_000, 2);
        for _ in 0..15 {
            s.increment(42);
        }
        s.sample_many(30_000);
        let samples = s.samples();
        // The new period (10,000) is not reached: no aging.
        let mut kept = s.clone();
        assert!(!kept.shrink_to(5_000));
        assert_eq!((kept.samples(), kept.resets()), (samples, 0));
        assert_eq!(kept.estimate(42), 15);
        // It is: the sketch ages once, and keeps at most half the new period.
        assert!(s.shrink_to(1_000));
        assert_eq!(s.resets(), 1);
        assert!(s.samples() <= s.sample_period() / 2);
        assert_eq!(s.estimate(42), 7);
        assert_eq!(s.samples_to_aging(), s.sample_period() - s.samples());
    }

    #[test]
    fn seeds_change_collisions() {
        let a = FrequencySketch::new(64, 1);
        let b = FrequencySketch::new(64, 2);
        let same = (0..1000u64)
            .filter(|&h| a.block(a.spread(h)) == b.block(b.spread(h)))
            .count();
        assert!(same < 200, "{same} keys share a block under both seeds");
    }
}
