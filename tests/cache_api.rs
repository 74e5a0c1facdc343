//! Behaviour of the typed `Cache` against a model and known answers.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::Duration;

use polycache::policies::{LfuOrder, S3FifoOrder};
use polycache::{BuildError, Cache, EvictionCause, InsertError, Lfu, ManualClock, S3Fifo};
use rand::{Rng, SeedableRng, rngs::StdRng};

type Log = Arc<Mutex<Vec<(u32, u32, EvictionCause)>>>;

fn logged(capacity: u64) -> (Cache<u32, u32>, Log) {
    let log: Log = Arc::default();
    let sink = log.clone();
    let cache = Cache::builder(capacity)
        .seed(1)
        .eviction_listener(move |k: &u32, v: &u32, c| sink.lock().unwrap().push((*k, *v, c)))
        .build()
        .unwrap();
    (cache, log)
}

/// One shard (capacity < 1024) is an exact LRU: compare every answer and every listener
/// event with a model.
#[test]
fn single_shard_matches_lru_model() {
    let (cache, log) = logged(50);
    assert_eq!(cache.shard_count(), 1);
    let mut model: VecDeque<(u32, u32)> = VecDeque::new(); // front = least recent
    let mut want_log = Vec::new();
    let mut rng = StdRng::seed_from_u64(3);
    for step in 0..20_000u32 {
        let k = rng.random_range(0..120u32);
        match rng.random_range(0..4) {
            0 | 1 => {
                let got = cache.get(&k);
                let pos = model.iter().position(|e| e.0 == k);
                let want = pos.map(|p| {
                    let e = model.remove(p).unwrap();
                    model.push_back(e);
                    e.1
                });
                assert_eq!(got, want, "step {step} get {k}");
            }
            2 => {
                let old = cache.insert(k, step).unwrap();
                let want = match model.iter().position(|e| e.0 == k) {
                    Some(p) => {
                        let e = model.remove(p).unwrap();
                        want_log.push((k, e.1, EvictionCause::Replaced));
                        Some(e.1)
                    }
                    None => {
                        if model.len() == 50 {
                            let (vk, vv) = model.pop_front().unwrap();
                            want_log.push((vk, vv, EvictionCause::Capacity));
                        }
                        None
                    }
                };
                model.push_back((k, step));
                assert_eq!(old, want, "step {step} insert {k}");
            }
            _ => {
                let got = cache.remove(&k);
                let want = model.iter().position(|e| e.0 == k).map(|p| {
                    let e = model.remove(p).unwrap();
                    want_log.push((k, e.1, EvictionCause::Removed));
                    e.1
                });
                assert_eq!(got, want, "step {step} remove {k}");
            }
        }
        assert_eq!(cache.len(), model.len());
    }
    assert_eq!(*log.lock().unwrap(), want_log);
    let mut all: Vec<_> = cache.iter().collect();
    let mut want: Vec<_> = model.iter().copied().collect();
    all.sort();
    want.sort();
    assert_eq!(all, want);
    cache.validate().unwrap();
    let s = cache.stats();
    let count = |c| want_log.iter().filter(|e| e.2 == c).count() as u64;
    assert_eq!(s.evicted, count(EvictionCause::Capacity));
    assert_eq!(s.replaced, count(EvictionCause::Replaced));
    assert_eq!(s.removed, count(EvictionCause::Removed));
}

#[test]
fn many_shards_never_exceed_capacity() {
    for shards in [1, 2, 8, 64] {
        let cache = Cache::<u64, u64>::builder(1000)
            .shards(shards)
            .seed(9)
            .build()
            .unwrap();
        for k in 0..10_000u64 {
            cache.insert(k, k).unwrap();
            assert!(cache.len() <= 1000);
        }
        // Every shard is full: nothing of the capacity was lost in the split.
        assert_eq!(cache.len(), 1000, "{shards} shards");
        assert_eq!(cache.stats().evicted, 9000);
        cache.validate().unwrap();
        for (k, v) in cache.iter() {
            assert_eq!(k, v);
        }
    }
}

#[test]
fn weighted_capacity_bound_and_overweight() {
    let cache = Cache::<u32, Vec<u8>>::builder(4096)
        .shards(4)
        .weigher(|_: &u32, v: &Vec<u8>| v.len() as u64)
        .build()
        .unwrap();
    // The largest entry is a shard's guaranteed capacity ((4096 - 256) / 4), not the
    // total.
    assert_eq!(cache.max_entry_weight(), 960);
    let err = cache.insert(1, vec![0; 961]).unwrap_err();
    assert!(matches!(
        err,
        InsertError::Overweight {
            weight: 961,
            capacity: 960,
            ..
        }
    ));
    assert_eq!(err.into_entry().1.len(), 961);
    cache.insert(1, vec![0; 960]).unwrap();
    let mut rng = StdRng::seed_from_u64(1);
    for k in 0..5000 {
        let n = rng.random_range(1..300);
        cache.insert(k, vec![0; n]).unwrap();
        assert!(cache.weight() <= 4096);
    }
    cache.validate().unwrap();
}

#[test]
fn bad_input_is_a_typed_error() {
    assert_eq!(
        Cache::<u8, u8>::builder(0).build().unwrap_err(),
        BuildError::ZeroCapacity
    );
    for n in [0, 3, 6, 100] {
        assert_eq!(
            Cache::<u8, u8>::builder(1000)
                .shards(n)
                .build()
                .unwrap_err(),
            BuildError::ShardCount(n)
        );
    }
    assert_eq!(
        Cache::<u8, u8>::builder(4).shards(8).build().unwrap_err(),
        BuildError::CapacityBelowShards {
            capacity: 4,
            shards: 8
        }
    );
    assert!(matches!(
        Cache::<u8, u8>::builder(1 << 20).shards(1 << 20).build(),
        Err(BuildError::TooManyShards { .. })
    ));
    assert_eq!(
        Cache::<u8, u8>::builder(4)
            .default_ttl(Duration::MAX)
            .build()
            .unwrap_err(),
        BuildError::TtlOverflow(Duration::MAX)
    );
    // A factory that ignores the shard capacity would break the global bound.
    let err = Cache::<u8, u8>::builder(4)
        .policy_factory(|_cap, h| polycache::Lru::builder(100).hasher(h).build())
        .build()
        .unwrap_err();
    assert!(matches!(err, BuildError::Policy(_)));
    let cache = Cache::<u8, u8>::builder(4).build().unwrap();
    assert!(matches!(
        cache.insert_with_ttl(1, 1, Duration::MAX),
        Err(InsertError::TtlOverflow { .. })
    ));
    assert!(cache.is_empty());
}

#[test]
fn ttl_default_and_expiry_reported() {
    let clock = ManualClock::new();
    let (tx, rx) = mpsc::channel();
    let cache = Cache::<u32, u32>::builder(10)
        .clock(clock.clone())
        .default_ttl(Duration::from_secs(10))
        .eviction_listener(move |k: &u32, _: &u32, c| tx.send((*k, c)).unwrap())
        .build()
        .unwrap();
    cache.insert(1, 1).unwrap();
    cache
        .insert_with_ttl(2, 2, Duration::from_secs(100))
        .unwrap();
    clock.advance(Duration::from_secs(11));
    assert_eq!(cache.get(&1), None);
    assert_eq!(cache.get(&2), Some(2));
    assert_eq!(cache.get_or_insert_with(3, || 3), 3); // a write reclaims 1
    assert_eq!(rx.try_recv(), Ok((1, EvictionCause::Expired)));
    assert_eq!(cache.len(), 2);
    assert_eq!(cache.stats().expired, 1);
}

#[test]
fn lfu_through_the_builder() {
    let cache: Cache<u32, u32, Lfu<u32, u32>> = Cache::builder(2)
        .order(LfuOrder::default())
        .build()
        .unwrap();
    cache.insert(1, 1).unwrap();
    cache.insert(2, 2).unwrap();
    for _ in 0..5 {
        cache.get(&1);
    }
    cache.get(&2);
    cache.insert(3, 3).unwrap(); // 2 is the least frequent
    assert!(cache.contains_key(&1));
    assert!(!cache.contains_key(&2));
}

/// S3Fifo serves `get` and the hit of `get_or_insert_with` under the shared lock; the
/// counts are the same as under the exclusive one, and `count_hits(false)` drops only
/// the hit and miss counts.
#[test]
fn s3fifo_hits_share_the_lock_and_count_exactly() {
    for count in [true, false] {
        let cache: Cache<u32, u32, S3Fifo<u32, u32>> = Cache::builder(64)
            .order(S3FifoOrder::default())
            .count_hits(count)
            .build()
            .unwrap();
        let mut loads = 0;
        for round in 0..3 {
            for k in 0..10 {
                let v = cache.get_or_insert_with(k, || {
                    loads += 1;
                    k * 2
                });
                assert_eq!(v, k * 2);
                assert_eq!(cache.get(&k), Some(k * 2), "round {round}");
            }
        }
        assert_eq!(cache.get(&99), None);
        assert_eq!(cache.peek(&3), Some(6));
        assert_eq!(loads, 10);
        let s = cache.stats();
        let (hits, misses) = if count { (50, 11) } else { (0, 0) };
        assert_eq!((s.hits, s.misses, s.inserts), (hits, misses, 10));
        cache.validate().unwrap();
    }
}

#[test]
fn loader_runs_once_for_many_threads() {
    let cache = Cache::<u32, String>::builder(100).build().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (cache, calls, barrier) = (cache.clone(), calls.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                cache.get_or_insert_with(7, || {
                    calls.fetch_add(1, Ordering::SeqCst);
                    thread::sleep(Duration::from_millis(100));
                    "seven".to_string()
                })
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), "seven");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(cache.loads_in_flight(), 0);
    let s = cache.stats();
    assert_eq!(s.hits + s.misses, 8);
    assert_eq!(s.inserts, 1);
}

#[test]
fn panicking_loader_leaves_nothing_and_waiters_retry() {
    let cache = Cache::<u32, u32>::builder(100).build().unwrap();
    let started = Arc::new(Barrier::new(2));
    let leader = {
        let (cache, started) = (cache.clone(), started.clone());
        thread::spawn(move || {
            catch_unwind(AssertUnwindSafe(|| {
                cache.get_or_insert_with(1, || {
                    started.wait();
                    thread::sleep(Duration::from_millis(100));
                    panic!("loader fails")
                })
            }))
            .is_err()
        })
    };
    started.wait(); // the leader is loading: this caller waits, then runs its own
    let v = cache.get_or_insert_with(1, || 42);
    assert!(leader.join().unwrap());
    assert_eq!(v, 42);
    assert_eq!(cache.get(&1), Some(42));
    assert_eq!(cache.loads_in_flight(), 0);
    cache.validate().unwrap();
}

/// A write of a key while its load runs stands: the loaded value (read before the
/// write) is returned to the loader's caller but not stored over an acknowledged insert,
/// nor stored back after a remove or a clear that invalidated the key.
#[test]
fn a_write_during_a_load_supersedes_it() {
    let cache = Cache::<u32, u32>::builder(100).build().unwrap();
    // An insert during the load: the acknowledged write of 2 stays.
    let v = cache.get_or_insert_with(7, || {
        assert_eq!(cache.insert(7, 2).unwrap(), None);
        1
    });
    assert_eq!((v, cache.get(&7)), (1, Some(2)));
    // A remove (an invalidation) during the load: nothing is stored.
    let v = cache.get_or_insert_with(8, || {
        assert_eq!(cache.remove(&8), None);
        1
    });
    assert_eq!((v, cache.get(&8)), (1, None));
    // A clear during the load: the same.
    let v = cache.get_or_insert_with(9, || {
        cache.clear();
        1
    });
    assert_eq!((v, cache.get(&9)), (1, None));
    // A write of another key does not supersede the load.
    let v = cache.get_or_insert_with(10, || {
        cache.insert(11, 11).unwrap();
        cache.remove(&12);
        1
    });
    assert_eq!((v, cache.get(&10)), (1, Some(1)));
    assert_eq!(cache.loads_in_flight(), 0);
    // The next load of a superseded key runs afresh and is stored.
    assert_eq!(cache.get_or_insert_with(8, || 3), 3);
    assert_eq!(cache.get(&8), Some(3));
    cache.validate().unwrap();
}

/// The same across threads: a writer's insert while a leader loads wins, and the
/// waiters get the leader's value (their calls overlap the write).
#[test]
fn a_write_from_another_thread_during_a_load_stands() {
    let cache = Cache::<u32, u32>::builder(100).build().unwrap();
    let (loading_tx, loading_rx) = mpsc::channel();
    let (written_tx, written_rx) = mpsc::channel::<()>();
    let leader = {
        let cache = cache.clone();
        thread::spawn(move || {
            cache.get_or_insert_with(5, || {
                loading_tx.send(()).unwrap();
                written_rx.recv().unwrap(); // the writer's insert has returned
                1
            })
        })
    };
    loading_rx.recv().unwrap();
    assert_eq!(cache.insert(5, 2).unwrap(), None);
    written_tx.send(()).unwrap();
    assert_eq!(leader.join().unwrap(), 1);
    assert_eq!(cache.get(&5), Some(2));
    assert_eq!(cache.loads_in_flight(), 0);
    cache.validate().unwrap();
}

/// A caller that comes after an invalidation must not join the superseded load (and
/// get a value read before the invalidation): it leads a load of its own.
#[test]
fn a_caller_after_an_invalidation_does_not_join_the_superseded_load() {
    let cache = Cache::<u32, u32>::builder(100).build().unwrap();
    let (loading_tx, loading_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let leader = {
        let cache = cache.clone();
        thread::spawn(move || {
            cache.get_or_insert_with(5, || {
                loading_tx.send(()).unwrap();
                go_rx.recv().unwrap();
                1 // read before the invalidation
            })
        })
    };
    loading_rx.recv().unwrap();
    assert_eq!(cache.remove(&5), None); // the source changed: invalidate
    // Called after the remove returned, while the old load still runs. Were it to join
    // that load it would wait for it: let the load finish after a while, and see.
    let (late_tx, late_rx) = mpsc::channel();
    let late = {
        let cache = cache.clone();
        thread::spawn(move || late_tx.send(cache.get_or_insert_with(5, || 2)).unwrap())
    };
    let got = match late_rx.recv_timeout(Duration::from_secs(5)) {
        Ok(v) => v,
        Err(_) => {
            go_tx.send(()).unwrap();
            late_rx.recv().unwrap()
        }
    };
    assert_eq!(
        got, 2,
        "a caller after the invalidation got the value read before it"
    );
    late.join().unwrap();
    let _ = go_tx.send(());
    assert_eq!(leader.join().unwrap(), 1);
    assert_eq!(cache.get(&5), Some(2));
    assert_eq!(cache.loads_in_flight(), 0);
    cache.validate().unwrap();
}

/// A refused write changes nothing, so it supersedes no load.
#[test]
fn a_refused_write_during_a_load_does_not_supersede_it() {
    let cache = Cache::<u32, u32>::builder(100).build().unwrap();
    let v = cache.get_or_insert_with(7, || {
        let refused = cache.insert_with_ttl(7, 2, Duration::ZERO).unwrap_err();
        assert!(matches!(refused, InsertError::ZeroTtl { .. }));
        1
    });
    assert_eq!((v, cache.get(&7)), (1, Some(1)));
}

#[test]
fn errors_are_not_cached() {
    let cache = Cache::<u32, u32>::builder(100).build().unwrap();
    let calls = AtomicUsize::new(0);
    for _ in 0..3 {
        let r: Result<u32, &str> = cache.try_get_or_insert_with(1, || {
            calls.fetch_add(1, Ordering::SeqCst);
            Err("no")
        });
        assert_eq!(r, Err("no"));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(cache.loads_in_flight(), 0);
    assert_eq!(cache.try_get_or_insert_with(1, || Ok::<_, ()>(5)), Ok(5));
    assert_eq!(cache.try_get_or_insert_with(1, || Err(())), Ok(5));
}

/// A listener that calls back into the cache (every shard) must not deadlock: run it in
/// a thread and give up after a generous time.
#[test]
fn listener_may_call_back_into_the_cache() {
    let slot: Arc<Mutex<Option<Cache<u32, u32>>>> = Arc::default();
    let seen = Arc::new(AtomicUsize::new(0));
    let (slot2, seen2) = (slot.clone(), seen.clone());
    let cache = Cache::<u32, u32>::builder(2048)
        .shards(2)
        .eviction_listener(move |k: &u32, _: &u32, _| {
            let c = slot2.lock().unwrap().clone();
            if let Some(c) = c {
                // Visits every shard, including the one that evicted.
                let _ = c.len();
                let _ = c.get(k);
                seen2.fetch_add(1, Ordering::SeqCst);
            }
        })
        .build()
        .unwrap();
    *slot.lock().unwrap() = Some(cache.clone());
    let (tx, rx) = mpsc::channel();
    let worker = {
        let cache = cache.clone();
        thread::spawn(move || {
            for k in 0..5000 {
                cache.insert(k, k).unwrap();
            }
            cache.remove(&4999);
            cache.clear();
            tx.send(()).unwrap();
        })
    };
    rx.recv_timeout(Duration::from_secs(60))
        .expect("listener deadlocked");
    worker.join().unwrap();
    assert!(seen.load(Ordering::SeqCst) >= 5000);
    *slot.lock().unwrap() = None; // break the cycle
}

#[test]
fn retain_and_clear_report_removed() {
    let (cache, log) = logged(100);
    for k in 0..10 {
        cache.insert(k, k * 10).unwrap();
    }
    cache.retain(|k, _| *k < 5);
    assert_eq!(cache.len(), 5);
    cache.clear();
    assert!(cache.is_empty());
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 10);
    assert!(
        log.iter()
            .all(|e| e.2 == EvictionCause::Removed && e.1 == e.0 * 10)
    );
    assert_eq!(cache.stats().removed, 10);
}

#[test]
fn cache_is_send_sync_clone() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<Cache<String, Vec<u8>>>();
    check::<Cache<u64, u64, Lfu<u64, u64>>>();
    check::<Cache<u64, u64, S3Fifo<u64, u64>>>();
    check::<polycache::ByteMap>();
    check::<polycache::ByteMap<S3FifoOrder>>();
}
