//! Model tests: random operation sequences run against each policy and the reference
//! model in `model/mod.rs`, compared step by step (returned values, evicted keys and
//! causes, len, weight), with `validate()` after every step.

mod model;

use model::{Kind, Op, run};
use proptest::prelude::*;

/// Keys from a small space so that hits, replaces and evictions are frequent.
fn key() -> impl Strategy<Value = u8> {
    0u8..24
}

/// A TTL in nanoseconds, at scales from below one wheel tick to every wheel level, and
/// now and then one that overflows the clock.
fn ttl() -> impl Strategy<Value = u64> {
    prop_oneof![
        8 => (0u32..34).prop_flat_map(|bits| 0u64..(1u64 << bits)),
        1 => Just(u64::MAX),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => key().prop_map(Op::Get),
        1 => (key(), any::<u32>()).prop_map(|(k, d)| Op::GetMut(k, d & 0xff)),
        2 => key().prop_map(Op::Peek),
        // Weight in the top byte: mostly light, sometimes heavier than the capacity.
        8 => (key(), 0u32..20, any::<u16>(), proptest::option::weighted(0.4, ttl()))
            .prop_map(|(key, w, v, ttl)| Op::Insert { key, value: (w << 24) | u32::from(v), ttl }),
        2 => key().prop_map(Op::Remove),
        3 => (0u32..36).prop_flat_map(|bits| 0u64..(1u64 << bits)).prop_map(Op::Advance),
        2 => (key(), -2048i16..2048).prop_map(|(k, o)| Op::AdvanceNear(k, o)),
        1 => Just(Op::Purge),
        1 => (key(), proptest::option::of(ttl())).prop_map(|(k, t)| Op::SetTtl(k, t)),
        1 => key().prop_map(Op::Ttl),
        1 => (1u32..7).prop_map(Op::Retain),
        1 => Just(Op::Iter),
        1 => Just(Op::Clear).prop_filter("rare", |_| true),
    ]
}

fn case() -> impl Strategy<Value = (u64, Vec<Op>)> {
    (1u64..48, proptest::collection::vec(op(), 1..300))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    #[test]
    fn lru_matches_model((capacity, ops) in case()) {
        run(Kind::Lru, capacity, &ops);
    }

    #[test]
    fn lfu_matches_model((capacity, ops) in case()) {
        run(Kind::Lfu, capacity, &ops);
    }

    #[test]
    fn ttl_matches_model((capacity, ops) in case()) {
        run(Kind::Ttl, capacity, &ops);
    }

    /// Small's share at the default (3%), the paper's (10%) and half: with at most 24
    /// keys, only the larger shares give small more than one entry.
    #[test]
    fn s3fifo_matches_model((capacity, ops) in case(), percent in prop_oneof![Just(3u8), Just(10), Just(50)]) {
        run(Kind::S3Fifo(percent), capacity, &ops);
    }
}

/// Long runs with many accesses, so that LFU ages several times.
#[test]
fn lfu_ages_like_the_model_over_long_runs() {
    let mut ops = Vec::new();
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // Skewed keys: low keys are hot.
        let k = ((x % 24) * (x % 24) / 24) as u8;
        ops.push(if x % 3 == 0 {
            Op::Insert {
                key: k,
                value: (x >> 40) as u32 & 0x00ff_ffff,
                ttl: None,
            }
        } else {
            Op::Get(k)
        });
    }
    run(Kind::Lfu, 12, &ops);
}

/// Aging halves rounding up: an entry at frequency 3 ages to 2 and so outlives the
/// entries at 1, new ones included. (Rounding down would make it 1 and evict it first.)
#[test]
fn lfu_aging_halves_rounding_up() {
    let ins = |key: u8| Op::Insert {
        key,
        value: u32::from(key),
        ttl: None,
    };
    // 16 inserts and 2 hits on key 0: 18 accesses, key 0 at frequency 3.
    let mut ops: Vec<Op> = (0..16).map(ins).collect();
    ops.extend([Op::Get(0), Op::Get(0)]);
    // 110 hits on key 1 bring the count to 128 = 8 × 16: exactly one aging.
    ops.extend(std::iter::repeat_n(Op::Get(1), 110));
    // Replace keys 2..15 (frequency 1) with 16..29, then one more: the victim is 16.
    ops.extend((16..31).map(ins));
    run(Kind::Lfu, 16, &ops);
}

/// The fuzzers' decoder yields runnable cases for arbitrary bytes.
#[test]
fn decoded_byte_strings_run_against_the_model() {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for len in 0..200usize {
        let data: Vec<u8> = (0..len * 4)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let (capacity, ops) = model::decode(&data);
        for kind in [
            Kind::Lru,
            Kind::Lfu,
            Kind::Ttl,
            Kind::S3Fifo(3),
            Kind::S3Fifo(50),
        ] {
            run(kind, capacity, &ops);
        }
    }
}
