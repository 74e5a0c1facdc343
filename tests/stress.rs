//! Stress with real threads, bounded in time: mixed operations from several threads on
//! two caches, then `validate()` on every shard, the capacity bound, and no lost write.
//! Run for `Lru` (hits take the shard lock exclusively) and `S3Fifo` (hits take it
//! shared).
//!
//! - `churn`: small capacity, all threads on the same keys, constant eviction; a
//!   watcher thread checks the capacity bound while it runs.
//! - `owned`: capacity far above the keys used, so nothing can be evicted (checked:
//!   zero evictions); each thread owns its keys and keeps a model of them, so every read
//!   must return exactly its own last write.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use polycache::policies::S3FifoOrder;
use polycache::{Cache, Lru, Policy, S3Fifo};
use rand::{Rng, SeedableRng, rngs::StdRng};

const THREADS: u64 = 4;
const RUN_FOR: Duration = Duration::from_millis(1000);
const OWNED_KEYS: u64 = 2000;

#[test]
fn mixed_operations_from_several_threads_lru() {
    let churn = Cache::<u64, u64>::builder(4096).shards(4).build().unwrap();
    let owned = Cache::<u64, u64>::builder(1 << 16)
        .shards(8)
        .build()
        .unwrap();
    stress::<Lru<u64, u64>>(churn, owned);
}

#[test]
fn mixed_operations_from_several_threads_s3fifo() {
    let churn = Cache::<u64, u64>::builder(4096)
        .order(S3FifoOrder::default())
        .shards(4)
        .build()
        .unwrap();
    let owned = Cache::<u64, u64>::builder(1 << 16)
        .order(S3FifoOrder::default())
        .shards(8)
        .build()
        .unwrap();
    stress::<S3Fifo<u64, u64>>(churn, owned);
}

fn stress<P: Policy<u64, u64> + Send + Sync + 'static>(
    churn: Cache<u64, u64, P>,
    owned: Cache<u64, u64, P>,
) {
    let stop = Arc::new(AtomicBool::new(false));
    let start = Arc::new(Barrier::new(THREADS as usize + 1));
    let watcher = {
        let (churn, stop) = (churn.clone(), stop.clone());
        thread::spawn(move || {
            let mut checks = 0u64;
            while !stop.load(Ordering::Relaxed) {
                assert!(churn.len() <= 4096);
                assert!(churn.weight() <= 4096);
                checks += 1;
            }
            checks
        })
    };
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (churn, owned, start) = (churn.clone(), owned.clone(), start.clone());
            thread::spawn(move || {
                let mut rng = StdRng::seed_from_u64(t);
                let mut model: HashMap<u64, u64> = HashMap::new();
                let base = t * OWNED_KEYS;
                start.wait();
                let deadline = Instant::now() + RUN_FOR;
                let mut ops = 0u64;
                while Instant::now() < deadline {
                    for _ in 0..256 {
                        ops += 1;
                        // Shared keys, constant eviction.
                        let k = rng.random_range(0..20_000u64);
                        match rng.random_range(0..10) {
                            0..=3 => {
                                if let Some(v) = churn.get(&k) {
                                    assert_eq!(v % 20_000, k, "value of another key");
                                }
                            }
                            4..=6 => {
                                churn.insert(k, k + 20_000 * (ops % 1000)).unwrap();
                            }
                            7 => {
                                churn.remove(&k);
                            }
                            8 => {
                                let v = churn.get_or_insert_with(k, || k);
                                assert_eq!(v % 20_000, k);
                            }
                            _ => {
                                let _ = churn.peek(&k);
                            }
                        }
                        // Owned keys: exact answers.
                        let k = base + rng.random_range(0..OWNED_KEYS);
                        match rng.random_range(0..8) {
                            0..=2 => assert_eq!(owned.get(&k), model.get(&k).copied(), "key {k}"),
                            3..=5 => {
                                let v = rng.random();
                                let old = owned.insert(k, v).unwrap();
                                assert_eq!(old, model.insert(k, v), "key {k}");
                            }
                            6 => assert_eq!(owned.remove(&k), model.remove(&k), "key {k}"),
                            _ => {
                                let v = owned.get_or_insert_with(k, || ops);
                                assert_eq!(v, *model.entry(k).or_insert(ops), "key {k}");
                            }
                        }
                    }
                }
                (model, ops)
            })
        })
        .collect();
    start.wait();
    let mut total_ops = 0;
    let mut models = Vec::new();
    for w in workers {
        let (model, ops) = w.join().unwrap();
        total_ops += ops;
        models.push(model);
    }
    stop.store(true, Ordering::Relaxed);
    let checks = watcher.join().unwrap();
    assert!(total_ops > 0 && checks > 0);

    churn.validate().unwrap();
    owned.validate().unwrap();
    assert!(churn.len() <= 4096);
    assert!(churn.stats().evicted > 0, "the churn cache never evicted");
    assert_eq!(churn.loads_in_flight(), 0);

    // Nothing could be evicted from `owned`, so no write may be lost.
    assert_eq!(owned.stats().evicted, 0);
    let mut stored: HashMap<u64, u64> = owned.iter().collect();
    for model in models {
        for (k, v) in model {
            assert_eq!(stored.remove(&k), Some(v), "lost write to key {k}");
        }
    }
    assert!(stored.is_empty(), "keys nobody wrote: {}", stored.len());
}
