//! Model tests of `ByteMap`: random operation sequences (every policy, 1 to 4 shards, a
//! budget for everything or a small one, a manual clock) against the reference model
//! of `bytemap_support` (shared with the fuzz target `bytemap`), step by step.

mod bytemap_support;

use bytemap_support::{Config, Op, SLICE_LENS, decode, run};
use proptest::prelude::*;

fn key() -> impl Strategy<Value = u8> {
    0u8..24
}

fn ttl() -> impl Strategy<Value = Option<u16>> {
    prop_oneof![3 => Just(None), 4 => (1u16..300).prop_map(Some), 1 => Just(Some(0))]
}

fn op() -> impl Strategy<Value = Op> {
    let len = || 0u16..520;
    prop_oneof![
        5 => key().prop_map(Op::Get),
        1 => key().prop_map(Op::GetWith),
        1 => key().prop_map(Op::Contains),
        6 => (key(), len(), ttl()).prop_map(|(key, len, ttl)| Op::Insert { key, len, ttl }),
        1 => (key(), len()).prop_map(|(key, len)| Op::InsertSlice { key, len }),
        4 => (key(), 0usize..4).prop_map(|(key, i)| Op::InsertSlice { key, len: SLICE_LENS[i] }),
        2 => (key(), len(), ttl()).prop_map(|(key, len, ttl)| Op::TryInsert { key, len, ttl }),
        2 => key().prop_map(Op::Remove),
        2 => (key(), any::<i8>()).prop_map(|(key, grow)| Op::GetMut { key, grow }),
        2 => (key(), len(), ttl()).prop_map(|(key, len, ttl)| Op::EntryUpsert { key, len, ttl }),
        1 => key().prop_map(Op::EntryRemove),
        1 => (key(), 0u16..300).prop_map(|(key, ttl)| Op::Expire { key, ttl }),
        1 => key().prop_map(Op::Persist),
        2 => key().prop_map(Op::Ttl),
        3 => (0u16..80, 0u16..1000).prop_map(|(ms, us)| Op::Advance { ms, us }),
        2 => key().prop_map(Op::PreparedGet),
        1 => (key(), len(), ttl()).prop_map(|(key, len, ttl)| Op::PreparedInsert { key, len, ttl }),
        1 => key().prop_map(Op::PreparedRemove),
        1 => key().prop_map(Op::RemovePrefix),
        1 => Just(Op::Purge),
        1 => Just(Op::Clear).prop_filter("rare", |_| true),
    ]
}

fn config() -> impl Strategy<Value = Config> {
    (0u8..5, any::<bool>(), 0u32..3, any::<bool>()).prop_map(|(policy, large, s, quiet)| Config {
        policy,
        large,
        shards: 1 << s,
        listener: !(large && quiet),
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn bytemap_matches_the_model(config in config(), ops in proptest::collection::vec(op(), 1..200)) {
        run(config, &ops);
    }

    /// The fuzzer's decoder, on random bytes: same driver, same checks.
    #[test]
    fn decoded_inputs_match_the_model(data in proptest::collection::vec(any::<u8>(), 0..800)) {
        let (config, ops) = decode(&data);
        run(config, &ops);
    }
}

/// Every policy, both budgets, a fixed workload that exercises TTL edges exactly.
#[test]
fn ttl_edges_every_policy() {
    for policy in 0..5 {
        for large in [false, true] {
            let config = Config {
                policy,
                large,
                shards: 2,
                listener: true,
            };
            let mut ops = Vec::new();
            for k in 0..24u8 {
                ops.push(Op::Insert {
                    key: k,
                    len: 40,
                    ttl: Some(u16::from(k % 4) + 1),
                });
                ops.push(Op::Ttl(k));
            }
            for _ in 0..6 {
                ops.push(Op::Advance { ms: 0, us: 999 });
                for k in 0..24u8 {
                    ops.push(Op::Get(k));
                    ops.push(Op::Ttl(k));
                }
                ops.push(Op::Advance { ms: 0, us: 2 });
            }
            ops.push(Op::Purge);
            run(config, &ops);
        }
    }
}

/// Every policy, without a listener (so `insert_slice` overwrites in place): a key
/// rewritten with values of its size, read between writes (the reader's handle is gone
/// by the next write), given a TTL that the next plain write must clear, and rewritten
/// with other sizes, on one shard and on four.
#[test]
fn insert_slice_in_place_every_policy() {
    for policy in 0..5 {
        for shards in [1, 4] {
            let config = Config {
                policy,
                large: true,
                shards,
                listener: false,
            };
            let mut ops = Vec::new();
            for round in 0..6u16 {
                for k in 0..24u8 {
                    let len = SLICE_LENS[usize::from(k) % 4];
                    ops.push(Op::InsertSlice { key: k, len });
                    ops.push(Op::Get(k));
                    if round % 3 == 1 {
                        ops.push(Op::Expire { key: k, ttl: 5 });
                    }
                    ops.push(Op::InsertSlice { key: k, len });
                    ops.push(Op::Ttl(k));
                }
                ops.push(Op::InsertSlice {
                    key: 3,
                    len: 8 * round + 4,
                });
                ops.push(Op::Advance { ms: 3, us: 0 });
            }
            ops.push(Op::Purge);
            run(config, &ops);
        }
    }
}
