//! Resizing a cache in use (`Policy::set_capacity_into`).
//!
//! A proptest runs every policy, with unit weights and with a weigher, through inserts,
//! hits, removals and resizes (to capacities from 0, refused, up to a few hundred,
//! including below one entry's weight) beside a model of its contents: after every
//! step `validate()` passes, the weight is within the capacity, and the cache holds
//! exactly the entries the model holds, with the values last written (so every entry
//! that left was reported, with its value, and nothing else left). A resize evicts
//! only while the weight is over the new capacity (a whole group, for `Prefix`), and
//! for `Lru` exactly the least recent entries.
//!
//! Then known answers: `Lru`'s shrink, `TinyLfu`'s learned state (its frequencies,
//! its window and protected shares, its hill climber) surviving small and large
//! resizes, and its sketch folded to a new cache's size by a large shrink.

use std::collections::BTreeMap;

use polycache_policies::{
    ConfigError, Core, DefaultHashBuilder, Evicted, EvictionCause, Evictions, FrequencySketch,
    GdsfOrder, InsertError, LfuOrder, Lru, LruOrder, Order, Policy, PrefixOrder, S3FifoOrder,
    TinyLfu, TinyLfuOrder, TtlOrder, Weigher,
};
use proptest::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Lru,
    Lfu,
    Ttl,
    TinyLfu,
    S3Fifo,
    Gdsf,
    Prefix,
}

#[derive(Clone, Debug)]
enum Op {
    /// Key, value; with the weigher, the value's top byte is the weight (0 counts as 1).
    Insert(u8, u32),
    Get(u8),
    Remove(u8),
    SetCapacity(u64),
}

type Weigh = fn(&String, &u32) -> u64;

fn weigh(_: &String, v: &u32) -> u64 {
    u64::from(v >> 24)
}

/// Keys fall into 4 prefix groups (`Prefix` evicts a group whole).
fn key(k: u8) -> String {
    format!("g{}:{k}", k % 4)
}

/// The model: key -> (value last written, weight), and for `Lru` the keys from least
/// to most recent.
struct Model {
    entries: BTreeMap<String, (u32, u64)>,
    recency: Vec<String>,
}

impl Model {
    fn weight(&self) -> u64 {
        self.entries.values().map(|e| e.1).sum()
    }

    fn touch(&mut self, k: &str) {
        self.recency.retain(|r| r != k);
        self.recency.push(k.to_string());
    }

    /// A reported departure of a stored entry, with its last value.
    fn depart(&mut self, e: &Evicted<String, u32>, step: usize) -> u64 {
        let stored = self
            .entries
            .remove(&e.key)
            .unwrap_or_else(|| panic!("step {step}: {e:?} was not stored"));
        assert_eq!(
            stored.0, e.value,
            "step {step}: {e:?} is not the last value"
        );
        self.recency.retain(|r| *r != e.key);
        stored.1
    }
}

/// The cache's contents, sorted.
fn contents<P: Policy<String, u32>>(p: &P) -> BTreeMap<String, u32> {
    p.iter().map(|(k, v)| (k.clone(), *v)).collect()
}

/// Runs `ops` on `p` beside the model; panics at the first disagreement.
fn check<O, W>(mut p: Core<String, u32, O, W>, kind: Kind, weighted: bool, ops: &[Op])
where
    O: Order<String, u32>,
    W: Weigher<String, u32>,
{
    let weight_of = |v: u32| {
        if weighted {
            weigh(&String::new(), &v).max(1)
        } else {
            1
        }
    };
    let mut m = Model {
        entries: BTreeMap::new(),
        recency: Vec::new(),
    };
    for (step, op) in ops.iter().enumerate() {
        match *op {
            Op::Insert(k, v) => {
                let k = key(k);
                let w = weight_of(v);
                match p.insert(k.clone(), v) {
                    Err(InsertError::Overweight { key, value, .. }) => {
                        assert!(w > p.capacity(), "step {step}: refused a fitting entry");
                        assert_eq!((key, value), (k, v));
                    }
                    Err(e) => panic!("step {step}: unexpected refusal {e}"),
                    Ok(out) => {
                        assert!(w <= p.capacity(), "step {step}: took an overweight entry");
                        for e in &out {
                            match e.cause {
                                EvictionCause::Replaced => {
                                    assert_eq!(e.key, k);
                                    assert_eq!(m.entries.get(&k).map(|s| s.0), Some(e.value));
                                }
                                EvictionCause::Capacity => {
                                    assert_ne!(e.key, k, "step {step}: a write evicted itself");
                                    m.depart(e, step);
                                }
                                other => panic!("step {step}: insert reported {other:?}"),
                            }
                        }
                        m.entries.insert(k.clone(), (v, w));
                        m.touch(&k);
                    }
                }
            }
            Op::Get(k) => {
                let k = key(k);
                let got = p.get(k.as_str()).copied();
                assert_eq!(got, m.entries.get(&k).map(|e| e.0), "step {step}: get {k}");
                if got.is_some() {
                    m.touch(&k);
                }
            }
            Op::Remove(k) => {
                let k = key(k);
                match p.remove_hashed(p.hash(k.as_str()), k.as_str()) {
                    Some(e) => {
                        assert_eq!(e.cause, EvictionCause::Removed);
                        m.depart(&e, step);
                    }
                    None => assert!(!m.entries.contains_key(&k), "step {step}: lost {k}"),
                }
            }
            Op::SetCapacity(c) => {
                let before = (p.len(), p.weight(), p.capacity(), contents(&p));
                let recency = m.recency.clone();
                // A record already in the buffer is kept.
                let mut out: Evictions<String, u32> = Evictions::new();
                out.push(Evicted {
                    key: "earlier".into(),
                    value: 7,
                    cause: EvictionCause::Removed,
                });
                let res = p.set_capacity_into(c, &mut out);
                assert_eq!(out[0].key, "earlier", "step {step}: a kept record went");
                if c == 0 {
                    assert_eq!(res, Err(ConfigError::ZeroCapacity));
                    assert_eq!(out.len(), 1, "step {step}: a refused resize evicted");
                    let after = (p.len(), p.weight(), p.capacity(), contents(&p));
                    assert_eq!(
                        before, after,
                        "step {step}: a refused resize changed the cache"
                    );
                } else {
                    res.unwrap_or_else(|e| panic!("step {step}: resize to {c} refused: {e}"));
                    assert_eq!(p.capacity(), c);
                    let mut last = 0;
                    for e in &out[1..] {
                        assert_eq!(e.cause, EvictionCause::Capacity, "step {step}: {e:?}");
                        last = m.depart(e, step);
                    }
                    let evicted: Vec<&String> = out[1..].iter().map(|e| &e.key).collect();
                    if before.1 <= c {
                        assert!(
                            evicted.is_empty(),
                            "step {step}: evicted {evicted:?} with room"
                        );
                    } else if kind != Kind::Prefix {
                        // No more than needed: the weight did not fit before the last.
                        assert!(
                            p.weight() + last > c,
                            "step {step}: evicted more than needed"
                        );
                    }
                    if kind == Kind::Lru {
                        let oldest: Vec<&String> = recency.iter().take(evicted.len()).collect();
                        assert_eq!(evicted, oldest, "step {step}: not the least recent");
                    }
                }
            }
        }
        p.validate()
            .unwrap_or_else(|e| panic!("step {step} {op:?}: validate: {e}"));
        assert!(p.weight() <= p.capacity(), "step {step}: over capacity");
        assert_eq!(p.len(), m.entries.len(), "step {step} {op:?}: len");
        assert_eq!(p.weight(), m.weight(), "step {step} {op:?}: weight");
        let want: BTreeMap<String, u32> = m.entries.iter().map(|(k, e)| (k.clone(), e.0)).collect();
        assert_eq!(contents(&p), want, "step {step} {op:?}: contents");
    }
}

/// Builds `kind` at `capacity` (fixed hasher; `TinyLfu` seeded) and runs `ops`.
fn run(kind: Kind, weighted: bool, capacity: u64, seed: u64, ops: &[Op]) {
    macro_rules! go {
        ($order:expr) => {{
            let b = Lru::<String, u32>::builder(capacity)
                .hasher(DefaultHashBuilder::with_seeds(seed, 1, 2, 3))
                .order($order);
            if weighted {
                check(
                    b.weigher(weigh as Weigh).build().unwrap(),
                    kind,
                    weighted,
                    ops,
                )
            } else {
                check(b.build().unwrap(), kind, weighted, ops)
            }
        }};
    }
    match kind {
        Kind::Lru => go!(LruOrder::default()),
        Kind::Lfu => go!(LfuOrder::default()),
        Kind::Ttl => go!(TtlOrder::default()),
        Kind::TinyLfu => go!(TinyLfuOrder::with_seed(seed)),
        Kind::S3Fifo => go!(S3FifoOrder::default()),
        Kind::Gdsf => go!(GdsfOrder::default()),
        Kind::Prefix => go!(PrefixOrder::default()),
    }
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0u8..96, 0u32..12, any::<u16>())
            .prop_map(|(k, w, v)| Op::Insert(k, (w << 24) | u32::from(v))),
        6 => (0u8..96).prop_map(Op::Get),
        1 => (0u8..96).prop_map(Op::Remove),
        2 => capacity(true).prop_map(Op::SetCapacity),
    ]
}

/// Capacities from 1 to a few hundred, most of them small (below the weight of one
/// entry, at times), and now and then 0.
fn capacity(zero: bool) -> impl Strategy<Value = u64> {
    prop_oneof![
        if zero { 1 } else { 0 } => Just(0u64),
        3 => 1u64..12,
        2 => 1u64..64,
        2 => 1u64..400,
    ]
    .prop_map(move |c| if zero { c } else { c.max(1) })
}

fn case() -> impl Strategy<Value = (u64, bool, u64, Vec<Op>)> {
    (
        capacity(false),
        any::<bool>(),
        any::<u64>(),
        proptest::collection::vec(op(), 1..300),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    fn lru_resizes((capacity, weighted, seed, ops) in case()) {
        run(Kind::Lru, weighted, capacity, seed, &ops);
    }

    #[test]
    fn lfu_resizes((capacity, weighted, seed, ops) in case()) {
        run(Kind::Lfu, weighted, capacity, seed, &ops);
    }

    #[test]
    fn ttl_resizes((capacity, weighted, seed, ops) in case()) {
        run(Kind::Ttl, weighted, capacity, seed, &ops);
    }

    #[test]
    fn tinylfu_resizes((capacity, weighted, seed, ops) in case()) {
        run(Kind::TinyLfu, weighted, capacity, seed, &ops);
    }

    #[test]
    fn s3fifo_resizes((capacity, weighted, seed, ops) in case()) {
        run(Kind::S3Fifo, weighted, capacity, seed, &ops);
    }

    #[test]
    fn sized_resizes((capacity, weighted, seed, ops) in case()) {
        run(Kind::Gdsf, weighted, capacity, seed, &ops);
    }

    #[test]
    fn prefix_resizes((capacity, weighted, seed, ops) in case()) {
        run(Kind::Prefix, weighted, capacity, seed, &ops);
    }
}

/// `Lru`: a shrink evicts the least recent entries, oldest first, as inserts would;
/// a growth evicts nothing and makes room; an entry heavier than the new capacity goes
/// even if it is the most recent.
#[test]
fn lru_shrink_evicts_the_least_recent() {
    let mut c = Lru::<u32, u32>::new(10).unwrap();
    for k in 0..10 {
        c.insert(k, k).unwrap();
    }
    for k in [0, 1, 2] {
        c.get(&k);
    }
    let out = c.set_capacity(5).unwrap();
    let gone: Vec<(u32, EvictionCause)> = out.iter().map(|e| (e.key, e.cause)).collect();
    assert_eq!(
        gone,
        (3..8)
            .map(|k| (k, EvictionCause::Capacity))
            .collect::<Vec<_>>()
    );
    let mut kept: Vec<u32> = c.iter().map(|(k, _)| *k).collect();
    kept.sort_unstable();
    assert_eq!(kept, [0, 1, 2, 8, 9]);
    assert!(c.set_capacity(7).unwrap().is_empty());
    c.insert(20, 0).unwrap();
    assert!(c.insert(21, 0).unwrap().is_empty());
    assert_eq!(c.len(), 7);
    // The least recent is now 8.
    assert_eq!(c.insert(22, 0).unwrap()[0].key, 8);
    c.validate().unwrap();

    // Weighted: the value is the weight. The most recent entry weighs 6; below that
    // it goes, and so do the least recent others until the weight fits.
    let mut c = Lru::<u32, u32>::builder(10)
        .weigher(|_: &u32, v: &u32| u64::from(*v))
        .build()
        .unwrap();
    c.insert(1, 2).unwrap();
    c.insert(2, 2).unwrap();
    c.insert(3, 6).unwrap();
    let out = c.set_capacity(5).unwrap();
    let gone: Vec<u32> = out.iter().map(|e| e.key).collect();
    assert_eq!(gone, [1, 2, 3]);
    assert_eq!((c.len(), c.weight()), (0, 0));
    assert!(c.insert(4, 6).is_err());
    c.validate().unwrap();
}

/// A seeded `TinyLfu` of `capacity` with a fixed hasher.
fn seeded(capacity: u64, seed: u64) -> TinyLfu<u64, u64> {
    TinyLfu::<u64, u64>::builder(capacity)
        .hasher(DefaultHashBuilder::with_seeds(seed, 2, 3, 4))
        .order(TinyLfuOrder::with_seed(seed))
        .build()
        .unwrap()
}

/// Asks `k`; inserts it on a miss. Returns whether it hit.
fn play(c: &mut TinyLfu<u64, u64>, k: u64) -> bool {
    if c.get(&k).is_some() {
        true
    } else {
        c.insert(k, k).unwrap();
        false
    }
}

/// A stream of pseudo-random numbers.
fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ seed;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

/// Hot keys 0..300, each asked 40 times (more than 16 per sketch period, so that
/// their counts reach the sketch, not only their nodes), among 1,000 one-off keys
/// (which fill the cache).
fn learn(c: &mut TinyLfu<u64, u64>) {
    for round in 0..40 {
        for k in 0..300 {
            play(c, k);
        }
        for k in 0..25 {
            play(c, 1_000 + round * 25 + k);
        }
    }
}

/// Challengers, each asked 6 times in a row: each beats a victim the sketch knows
/// little of (6 > 4 + 1) and loses to a hot one. Returns how many of the hot keys are
/// still cached at the end.
fn challenge(c: &mut TinyLfu<u64, u64>) -> u64 {
    for k in 1_000_000..1_001_000 {
        for _ in 0..6 {
            play(c, k);
        }
    }
    c.validate().unwrap();
    (0..300).filter(|k| c.contains(k)).count() as u64
}

/// Every estimate of `sketch` for the 2^24 keys TinyLfu gives it (24 bits of each
/// entry's hash), and their sum.
fn estimates(sketch: &FrequencySketch) -> (Vec<u8>, u64) {
    let all: Vec<u8> = (0..1u64 << 24).map(|h| sketch.estimate(h) as u8).collect();
    let sum = all.iter().map(|&e| u64::from(e)).sum();
    (all, sum)
}

/// What `TinyLfu` learned of its keys' frequencies survives a resize. A cache of 300
/// hot keys asked 40 times each among one-off keys is shrunk by 5% and grown back: its
/// sketch is the sketch of the same cache never resized (not a count lower; only the
/// 50 evicted entries' held-back hits are added), and against challengers asked 6
/// times each (one-off keys prove nothing: a newcomer asked once never beats even an
/// unknown victim) it keeps its hot keys as that cache does, where the same keys
/// without their history (a fresh cache given each once) lose most of them.
#[test]
fn tinylfu_keeps_its_frequencies_across_a_resize() {
    let mut resized = seeded(1000, 7);
    learn(&mut resized);
    let out = resized.set_capacity(950).unwrap();
    assert_eq!((out.len(), resized.len()), (50, 950));
    assert!(resized.set_capacity(1000).unwrap().is_empty());
    resized.validate().unwrap();
    let mut never_resized = seeded(1000, 7);
    learn(&mut never_resized);

    let (want, learned) = estimates(never_resized.order().sketch());
    assert!(learned > 300 * 4 * 4, "the sketch learned only {learned}");
    let (got, _) = estimates(resized.order().sketch());
    let lost = want.iter().zip(&got).filter(|(w, g)| g < w).count();
    let changed = want.iter().zip(&got).filter(|(w, g)| g != w).count();
    assert_eq!(lost, 0, "{lost} estimates fell");
    assert!(changed <= 50, "{changed} estimates changed");

    let kept_hot = challenge(&mut resized);
    let steady = challenge(&mut never_resized);
    let mut no_history = seeded(1000, 7);
    for k in 0..1000 {
        play(&mut no_history, k);
    }
    let forgotten = challenge(&mut no_history);
    assert!(
        kept_hot >= 295 && steady >= 295,
        "resized: {kept_hot} hot keys kept, never resized: {steady}"
    );
    assert!(forgotten < 100, "no history: {forgotten} hot keys kept");
}

/// A skewed request: key `n * u^3` for `u` uniform in [0, 1) (the low keys are hot).
fn skewed(next: &mut impl FnMut() -> u64, n: u64) -> u64 {
    let u = (next() >> 11) as f64 / (1u64 << 53) as f64;
    (n as f64 * u * u * u) as u64
}

/// Checks the shares the module docs promise: the window at least 1, main at least
/// `main_min`, protected within main.
fn assert_shares(c: &TinyLfu<u64, u64>, window: std::ops::RangeInclusive<u64>, what: &str) {
    let o = c.order();
    let cap = c.capacity();
    assert_eq!(o.capacity(), cap, "{what}: the order's capacity");
    assert!(
        window.contains(&o.window_max()),
        "{what}: window {} not in {window:?}",
        o.window_max()
    );
    assert!(
        o.protected_max() <= cap - o.window_max(),
        "{what}: protected {} over main {}",
        o.protected_max(),
        cap - o.window_max()
    );
    c.validate().unwrap_or_else(|e| panic!("{what}: {e}"));
}

/// Large resizes keep the shares within their bounds, near the initial ones: 10,000
/// entries to 10 and back, and a cache built at 10 grown to 10,000; the cache then
/// works at its new size (it fills, its sketch grows to it, hot keys hit).
#[test]
fn tinylfu_shares_stay_in_bounds_across_large_resizes() {
    let mut next = xorshift(3);
    let mut c = seeded(10_000, 5);
    for _ in 0..200_000 {
        let k = skewed(&mut next, 50_000);
        play(&mut c, k);
    }
    assert_shares(&c, 1..=10_000, "at 10,000");
    let before = (c.order().window_max(), c.order().protected_max());
    let out = c.set_capacity(10).unwrap();
    assert_eq!((out.len(), c.len()), (9_990, 10));
    // The window keeps at most twice its fraction (rounded up), main at least half.
    let most = (before.0 * 10).div_ceil(10_000) * 2;
    assert_shares(&c, 1..=most.min(5), "10,000 -> 10");
    for _ in 0..1_000 {
        let k = skewed(&mut next, 50_000);
        play(&mut c, k);
    }
    assert_shares(&c, 1..=5, "at 10");
    assert!(c.set_capacity(10_000).unwrap().is_empty());
    // From 10 entries, the window takes at least its initial 3% (rounding at 10 said
    // nothing of a window for 10,000), and at most twice its fraction at 10.
    assert_shares(
        &c,
        300..=2 * 1_000 * c.order().window_max().max(1),
        "10 -> 10,000",
    );

    let mut small = seeded(10, 5);
    for _ in 0..1_000 {
        let k = skewed(&mut next, 100);
        play(&mut small, k);
    }
    let (window, protected) = (small.order().window_max(), small.order().protected_max());
    assert!(protected > 0);
    assert!(small.set_capacity(10_000).unwrap().is_empty());
    assert_shares(&small, 300..=2_000 * window, "built at 10, grown to 10,000");
    // Protected keeps at least half its fraction of main.
    let main = 10_000 - small.order().window_max();
    assert!(
        small.order().protected_max() >= protected * main / (10 - window) / 2,
        "protected {} of {main}, from {protected} of {}",
        small.order().protected_max(),
        10 - window
    );
    let mut hits = 0;
    for t in 0..300_000u64 {
        let k = skewed(&mut next, 50_000);
        if play(&mut small, k) && t >= 200_000 {
            hits += 1;
        }
        if t % 10_000 == 0 {
            small.validate().unwrap();
        }
    }
    assert_eq!(small.len(), 10_000);
    let sketch = small.order().sketch();
    assert_eq!((sketch.asked(), sketch.entries()), (10_000, 16_384));
    assert_shares(&small, 1..=10_000, "grown, then used");
    let mut fresh = seeded(10_000, 5);
    let mut next = xorshift(3);
    let mut fresh_hits = 0;
    for t in 0..300_000u64 {
        let k = skewed(&mut next, 50_000);
        if play(&mut fresh, k) && t >= 200_000 {
            fresh_hits += 1;
        }
    }
    assert!(
        hits * 100 >= fresh_hits * 98,
        "grown to 10,000: {hits} hits, built at 10,000: {fresh_hits}"
    );
}

/// The hill climber works after a resize: on a skewed workload, a cache of 1,000
/// entries grown to 2,000 after 100,000 requests keeps adapting its window (it moves
/// after the resize) and gets as many hits over the last 200,000 of 400,000 requests
/// as a cache built at 2,000.
#[test]
fn tinylfu_climbs_after_a_resize() {
    for seed in [1u64, 2, 3] {
        let (mut resized, mut fresh) = (seeded(1000, seed), seeded(2000, seed));
        let mut next = xorshift(seed);
        let mut hits = [0u64; 2];
        let mut windows = std::collections::BTreeSet::new();
        for t in 0..400_000u64 {
            if t == 100_000 {
                resized.set_capacity(2000).unwrap();
                resized.validate().unwrap();
            }
            if t >= 100_000 {
                windows.insert(resized.order().window_max());
            }
            let k = skewed(&mut next, 20_000);
            for (c, hits) in [&mut resized, &mut fresh].into_iter().zip(&mut hits) {
                if play(c, k) && t >= 200_000 {
                    *hits += 1;
                }
            }
        }
        resized.validate().unwrap();
        let [hits, fresh_hits] = hits;
        assert!(
            windows.len() >= 2,
            "seed {seed}: the window stayed at {windows:?} after the resize"
        );
        assert!(
            hits >= 85_000 && hits * 100 >= fresh_hits * 98,
            "seed {seed}: {hits} hits after the resize, {fresh_hits} built at 2,000"
        );
    }
}

/// A shard lending capacity: every 500 requests the capacity moves to a random value
/// within 5% of 1,000 (and twice to 8,000 and back). Every invariant holds at every
/// resize, and the hit ratio stays within 6% of a cache that kept 1,000 throughout.
///
/// Measured: before the fillers went to probation's front, 7% to 9% fewer hits (seeds
/// 1 and 2: 0.930 and 0.917 of the fixed cache's hits; 0.917 to 1.006 over seeds 1 to
/// 12, 0.947 in all). Each growth reopens room, which newcomers take without facing
/// the admission filter, and the next shrink evicted main's oldest entries, not them.
/// Now those fillers are main's first victims: 0.985 and 0.954 (0.947 to 1.061 over
/// seeds 1 to 12, 0.991 in all). `S3Fifo` loses 4.5% on this schedule and `Lru` and
/// `Lfu` nothing.
#[test]
fn tinylfu_lends_capacity_without_forgetting() {
    for seed in [1u64, 2] {
        let (mut lent, mut fixed) = (seeded(1000, seed), seeded(1000, seed));
        let mut next = xorshift(seed);
        let mut sizes = xorshift(seed + 100);
        let mut hits = [0u64; 2];
        for t in 0..400_000u64 {
            if t % 500 == 0 && t > 0 {
                let capacity = if t % 100_000 == 50_000 {
                    8_000
                } else {
                    950 + sizes() % 101
                };
                lent.set_capacity(capacity).unwrap();
                lent.validate()
                    .unwrap_or_else(|e| panic!("seed {seed}, {t}: resized to {capacity}: {e}"));
                assert!(lent.weight() <= capacity);
            }
            let k = skewed(&mut next, 20_000);
            for (c, hits) in [&mut lent, &mut fixed].into_iter().zip(&mut hits) {
                if play(c, k) {
                    *hits += 1;
                }
            }
        }
        let [lent_hits, fixed_hits] = hits;
        assert!(
            lent_hits * 100 >= fixed_hits * 94,
            "seed {seed}: {lent_hits} hits lending capacity, {fixed_hits} at a fixed one"
        );
    }
}

/// The sketch's shape: what it was asked for, its entries, period and width.
fn shape(o: &TinyLfuOrder) -> (u64, u64, u64, u64) {
    let s = o.sketch();
    (s.asked(), s.entries(), s.sample_period(), s.row_width())
}

/// A cache of 100,000 entries shrunk to 1,000 folds its sketch to the shape of a cache
/// built at 1,000 (so its memory falls and old popularity fades at that cache's pace),
/// and on a hot set that moves after the shrink it gets as many hits as that cache
/// given the same requests.
///
/// Measured, hits over the last 100,000 of the 200,000 requests after the shrink:
/// before the fold the shrunken cache kept a sketch for 100,000 entries (period
/// 1,000,000, and so a climber's sample as long: its window stayed put) and got 30.9%,
/// 30.8% and 30.9% (seeds 1, 2, 3) where the cache built at 1,000 got 32.2%, 34.7% and
/// 34.8% (0.89 to 0.96 of its hits); folded, 34.7%, 34.7% and 34.2% (0.98 to 1.08).
#[test]
fn tinylfu_shrink_folds_its_sketch() {
    for seed in [1u64, 2, 3] {
        let (mut shrunk, mut fresh) = (seeded(100_000, seed), seeded(1_000, seed));
        let mut next = xorshift(seed);
        for _ in 0..300_000 {
            let k = skewed(&mut next, 500_000);
            play(&mut shrunk, k);
            play(&mut fresh, k);
        }
        assert_eq!(
            shape(shrunk.order()),
            (100_000, 131_072, 1_000_000, 524_288)
        );
        let out = shrunk.set_capacity(1_000).unwrap();
        assert_eq!((out.len(), shrunk.len()), (99_000, 1_000));
        shrunk.validate().unwrap();
        assert_eq!(shape(shrunk.order()), shape(fresh.order()), "seed {seed}");
        assert_eq!(shape(fresh.order()), (1_000, 1_024, 10_000, 16_384));
        // A new hot set.
        let mut hits = [0u64; 2];
        for t in 0..200_000u64 {
            let k = (1 << 40) + skewed(&mut next, 20_000);
            for (c, hits) in [&mut shrunk, &mut fresh].into_iter().zip(&mut hits) {
                if play(c, k) && t >= 100_000 {
                    *hits += 1;
                }
            }
        }
        shrunk.validate().unwrap();
        let [hits, fresh_hits] = hits;
        assert!(
            hits * 100 >= fresh_hits * 97,
            "seed {seed}: {hits} hits after the shrink, {fresh_hits} built at 1,000"
        );
    }
}

/// The fold's threshold: a shrink folds only to a quarter of the entries sketched or
/// less, so that a resize by a factor under 4 (a shard's reserve moves of a few
/// percent, a growth undone) keeps every count; a cache of 4,000 shrunk to 1,001 keeps
/// its sketch, to 1,000 folds it. With a weigher, the entries are those that fit the
/// new capacity at their mean weight.
#[test]
fn tinylfu_folds_only_a_sketch_four_times_too_large() {
    let full = |capacity: u64| {
        let mut c = seeded(capacity, 3);
        for k in 0..2 * capacity {
            play(&mut c, k % (capacity + 100));
        }
        assert_eq!(c.order().sketch().asked(), capacity);
        c
    };
    let mut kept = full(4_000);
    let before = estimates(kept.order().sketch()).0;
    kept.set_capacity(1_001).unwrap();
    kept.validate().unwrap();
    assert_eq!(shape(kept.order()).0, 4_000);
    let after = estimates(kept.order().sketch()).0;
    assert!(
        before.iter().zip(&after).all(|(b, a)| a >= b),
        "a kept sketch lost a count"
    );
    let mut folded = full(4_000);
    folded.set_capacity(1_000).unwrap();
    folded.validate().unwrap();
    assert_eq!(shape(folded.order()), shape(seeded(1_000, 3).order()));
    // Grown to 8,000, filled, and shrunk back: kept.
    let mut lent = full(4_000);
    lent.set_capacity(8_000).unwrap();
    for k in 0..8_000 {
        play(&mut lent, 1_000_000 + k);
    }
    assert_eq!(shape(lent.order()).0, 8_000);
    lent.set_capacity(4_000).unwrap();
    assert_eq!(shape(lent.order()).0, 8_000);

    // 10,000 entries of weight 10 in 100,000; shrunk to 10,000, a thousand fit: the
    // sketch is that of a new cache holding them.
    let weighted = |capacity: u64| {
        TinyLfu::<u64, u64>::builder(capacity)
            .hasher(DefaultHashBuilder::with_seeds(3, 2, 3, 4))
            .order(TinyLfuOrder::with_seed(3))
            .weigher(|_: &u64, _: &u64| 10)
            .build()
            .unwrap()
    };
    let mut c = weighted(100_000);
    for k in 0..10_000 {
        c.insert(k, k).unwrap();
    }
    assert_eq!(shape(c.order()).0, 16_384);
    c.set_capacity(10_000).unwrap();
    c.validate().unwrap();
    assert_eq!(c.len(), 1_000);
    let mut fresh = weighted(10_000);
    for k in 0..1_000 {
        fresh.insert(k, k).unwrap();
    }
    assert_eq!(shape(c.order()), shape(fresh.order()));
    assert_eq!(shape(fresh.order()).0, 1_024);
}
