//! The Prefix policy through the concurrent layer: a group is never split across
//! shards, `remove_prefix` removes exactly its group (against a model), and a group is
//! evicted whole (every eviction report, checked against what the map held).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use polycache::bytemap::ByteMap;
use polycache::policies::{PrefixOrder, default_group_len, group_of};
use polycache::{EvictionCause, Prefix, ShardSelector, Sharded};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn key(rng: &mut StdRng, groups: u32) -> Vec<u8> {
    let g = rng.random_range(0..groups);
    let m = rng.random_range(0..8u32);
    format!("tenant:{g}:item:{m}").into_bytes()
}

fn group(k: &[u8]) -> Vec<u8> {
    group_of(default_group_len, k).to_vec()
}

#[test]
fn a_group_is_never_split_across_shards() {
    let sel = ShardSelector::with_seed(16, 3)
        .unwrap()
        .grouped(default_group_len);
    let s: Sharded<Vec<u8>, u32, Prefix<Vec<u8>, u32>> =
        Sharded::new(1 << 20, sel, |c, h| Prefix::builder(c).hasher(h).build()).unwrap();
    let mut rng = StdRng::seed_from_u64(1);
    for i in 0..5000 {
        let k = key(&mut rng, 200);
        s.insert_routed(s.route(&k), k, i, None).unwrap();
    }
    // Every shard's keys: their groups appear in that shard only.
    let mut home: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
    let mut used = BTreeSet::new();
    for i in 0..s.shard_count() {
        for (k, _) in s.snapshot_shard(i).unwrap() {
            let prev = home.insert(group(&k), i);
            assert!(
                prev.is_none_or(|p| p == i),
                "group of {k:?} in shards {prev:?} and {i}"
            );
            used.insert(i);
        }
    }
    assert!(
        used.len() > 8,
        "200 groups should spread over the 16 shards"
    );
    s.validate_routed().unwrap();
}

#[test]
fn remove_prefix_removes_exactly_the_group() {
    let map = ByteMap::builder(1 << 22)
        .policy(PrefixOrder::default())
        .shards(8)
        .seed(9)
        .build()
        .unwrap();
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut rng = StdRng::seed_from_u64(2);
    for round in 0..400 {
        let k = key(&mut rng, 30);
        let v = format!("{round}").into_bytes();
        map.insert_slice(&k, &v).unwrap();
        model.insert(k, v);
        if round % 20 == 19 {
            let victim = group(&key(&mut rng, 30));
            let want: Vec<_> = model
                .keys()
                .filter(|k| group(k) == victim)
                .cloned()
                .collect();
            assert_eq!(map.remove_prefix(&victim), want.len());
            for k in want {
                model.remove(&k);
            }
            // Exactly the model's contents remain, with their values.
            assert_eq!(map.len(), model.len());
            for (k, v) in &model {
                assert_eq!(map.get_owned(k).as_deref(), Some(v.as_slice()));
            }
            map.validate().unwrap();
        }
    }
    // A prefix that names no group (a parent of groups) removes nothing.
    assert_eq!(map.remove_prefix(b"tenant:"), 0);
    assert_eq!(map.len(), model.len());
}

#[test]
fn a_group_is_evicted_whole() {
    for shards in [1usize, 4] {
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        let map = ByteMap::builder(8192 * shards as u64)
            .policy(PrefixOrder::default())
            .shards(shards)
            .seed(4)
            .eviction_listener(move |k: &[u8], _v, cause| {
                sink.lock().unwrap().push((k.to_vec(), cause));
            })
            .build()
            .unwrap();
        let mut held: BTreeSet<Vec<u8>> = BTreeSet::new();
        let mut rng = StdRng::seed_from_u64(shards as u64);
        let mut evictions = 0;
        for _ in 0..3000 {
            let k = key(&mut rng, 40);
            let len = rng.random_range(0..200);
            if rng.random_bool(0.3) {
                map.get_owned(&k);
            }
            map.insert_slice(&k, &vec![1; len]).unwrap();
            let out = std::mem::take(&mut *events.lock().unwrap());
            let mut gone_groups = BTreeSet::new();
            for (e, cause) in out {
                if cause == EvictionCause::Replaced {
                    // `insert_slice` does not return the old value: the listener gets it.
                    assert_eq!(e, k, "replaced a key not written");
                    continue;
                }
                assert_eq!(cause, EvictionCause::Capacity);
                assert!(held.remove(&e), "evicted {e:?}, which was not held");
                gone_groups.insert(group(&e));
                evictions += 1;
            }
            held.insert(k.clone());
            // No member of an evicted group is left, but the key just written.
            for g in &gone_groups {
                for h in held.iter().filter(|h| &group(h) == g) {
                    assert_eq!(h, &k, "group {g:?} evicted but {h:?} left behind");
                }
            }
            assert_eq!(map.len(), held.len());
            assert!(map.weight() <= map.budget());
        }
        assert!(evictions > 100, "the budget should force evictions");
        map.validate().unwrap();
    }
}
