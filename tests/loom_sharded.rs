//! loom models of the concurrent core: every interleaving (up to a preemption bound) of
//! the real `Cache`/`Sharded` code, with loom's Mutex/Condvar swapped in by the crate's
//! sync shim.
//!
//! Run (a few minutes at most):
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p polycache --release --test loom_sharded
//! ```
//!
//! The preemption bound is 3 unless `LOOM_MAX_PREEMPTIONS` says otherwise.
#![cfg(loom)]

use std::sync::Mutex as StdMutex;

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use polycache::policies::S3FifoOrder;
use polycache::{Cache, EvictionCause, S3Fifo};

mod loom_support;

/// Every interleaving up to the preemption bound (3 by default).
fn model<F: Fn() + Sync + Send + 'static>(f: F) {
    loom_support::model(3, f);
}

fn cache(capacity: u64, shards: usize) -> Cache<u32, u32> {
    Cache::builder(capacity)
        .shards(shards)
        .seed(7)
        .build()
        .unwrap()
}

/// One shard of S3Fifo: hits take the shard lock shared.
fn s3fifo_cache(capacity: u64) -> Cache<u32, u32, S3Fifo<u32, u32>> {
    Cache::builder(capacity)
        .order(S3FifoOrder::default())
        .seed(7)
        .build()
        .unwrap()
}

/// A reader racing a writer on one key sees the old or the new value, never anything
/// else (nor a miss).
#[test]
fn reader_sees_old_or_new() {
    model(|| {
        let cache = cache(4, 1);
        cache.insert(1, 10).unwrap();
        let writer = {
            let cache = cache.clone();
            thread::spawn(move || {
                assert_eq!(cache.insert(1, 20).unwrap(), Some(10));
            })
        };
        let seen = cache.get(&1);
        assert!(seen == Some(10) || seen == Some(20), "saw {seen:?}");
        let peeked = cache.peek(&1);
        assert!(
            peeked == Some(10) || peeked == Some(20),
            "peeked {peeked:?}"
        );
        writer.join().unwrap();
        assert_eq!(cache.get(&1), Some(20));
    });
}

/// S3Fifo serves hits under the shard lock taken shared: two readers at once, racing a
/// writer that replaces the key and then pushes it out. Each reader sees the old value,
/// the new one or (once pushed out) nothing; the shared look-ups count every hit and
/// miss exactly; the shard is intact afterwards.
#[test]
fn shared_readers_race_a_writer() {
    model(|| {
        let cache = s3fifo_cache(1);
        cache.insert(1, 10).unwrap();
        let reader = |cache: Cache<u32, u32, S3Fifo<u32, u32>>| {
            thread::spawn(move || {
                let seen = cache.get(&1);
                assert!(matches!(seen, Some(10 | 20) | None), "saw {seen:?}");
                u64::from(seen.is_some())
            })
        };
        let (a, b) = (reader(cache.clone()), reader(cache.clone()));
        cache.insert(1, 20).unwrap();
        cache.insert(2, 30).unwrap(); // capacity 1: pushes key 1 out
        let hits = a.join().unwrap() + b.join().unwrap();
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses), (hits, 2 - hits));
        assert_eq!(cache.get(&2), Some(30));
        cache.validate().unwrap();
    });
}

/// With S3Fifo, `get_or_insert_with` first looks under the shared lock, then falls back
/// to the exclusive path: two threads missing at once still load once, and every call
/// counts exactly one hit or one miss.
#[test]
fn shared_first_get_or_insert_with_loads_once() {
    model(|| {
        let cache = s3fifo_cache(4);
        let calls = Arc::new(AtomicUsize::new(0));
        let load = |cache: &Cache<u32, u32, S3Fifo<u32, u32>>, calls: &AtomicUsize| {
            cache.get_or_insert_with(5, || {
                calls.fetch_add(1, Ordering::SeqCst);
                50
            })
        };
        let other = {
            let (cache, calls) = (cache.clone(), calls.clone());
            thread::spawn(move || load(&cache, &calls))
        };
        assert_eq!(load(&cache, &calls), 50);
        assert_eq!(other.join().unwrap(), 50);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let stats = cache.stats();
        assert_eq!(stats.hits + stats.misses, 2);
        assert!(stats.misses >= 1);
        assert_eq!(cache.loads_in_flight(), 0);
    });
}

/// Concurrent inserts into two one-entry shards never leave the cache over capacity,
/// at any point another thread can observe.
#[test]
fn concurrent_inserts_stay_within_capacity() {
    model(|| {
        let cache = cache(2, 2);
        let spawn = |keys: [u32; 2]| {
            let cache = cache.clone();
            thread::spawn(move || {
                for k in keys {
                    cache.insert(k, k).unwrap();
                    assert!(cache.len() <= 2);
                    assert!(cache.weight() <= 2);
                }
            })
        };
        let a = spawn([1, 2]);
        let b = spawn([3, 4]);
        a.join().unwrap();
        b.join().unwrap();
        assert!(cache.len() <= 2);
        cache.validate().unwrap();
        let s = cache.stats();
        assert_eq!(s.inserts, 4);
        assert_eq!(s.inserts - s.evicted, cache.len() as u64);
    });
}

/// Three threads miss one key at once: the loader runs exactly once and everyone gets
/// its value.
#[test]
fn get_or_insert_with_loads_once() {
    model(|| {
        let cache = cache(4, 1);
        let calls = Arc::new(AtomicUsize::new(0));
        let spawn = || {
            let (cache, calls) = (cache.clone(), calls.clone());
            thread::spawn(move || {
                cache.get_or_insert_with(5, || {
                    calls.fetch_add(1, Ordering::SeqCst);
                    50
                })
            })
        };
        let a = spawn();
        let b = spawn();
        let mine = cache.get_or_insert_with(5, || {
            calls.fetch_add(1, Ordering::SeqCst);
            50
        });
        assert_eq!(mine, 50);
        assert_eq!(a.join().unwrap(), 50);
        assert_eq!(b.join().unwrap(), 50);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(cache.loads_in_flight(), 0);
    });
}

/// A load racing an insert of its key never overwrites the insert: whichever comes
/// first, the acknowledged write is what the cache holds at the end (the load either
/// finds it, or is superseded by it, or is replaced by it).
#[test]
fn a_load_never_overwrites_a_concurrent_insert() {
    model(|| {
        let cache = cache(4, 1);
        let loader = {
            let cache = cache.clone();
            thread::spawn(move || cache.get_or_insert_with(5, || 1))
        };
        assert!(cache.insert(5, 2).is_ok());
        let loaded = loader.join().unwrap();
        assert!(loaded == 1 || loaded == 2);
        assert_eq!(cache.get(&5), Some(2));
        assert_eq!(cache.loads_in_flight(), 0);
    });
}

/// A failing loader caches nothing: the other thread runs its own loader, so there
/// are exactly two calls, and the value stored is the successful one.
#[test]
fn failed_load_is_retried_not_cached() {
    model(|| {
        let cache = cache(4, 1);
        let calls = Arc::new(AtomicUsize::new(0));
        let failing = {
            let (cache, calls) = (cache.clone(), calls.clone());
            thread::spawn(move || {
                cache.try_get_or_insert_with(5, || {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Err::<u32, ()>(())
                })
            })
        };
        let ok = cache.try_get_or_insert_with(5, || {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok::<u32, ()>(50)
        });
        assert_eq!(ok, Ok(50));
        // The failing caller either failed, or found the good value first.
        let other = failing.join().unwrap();
        assert!(other == Err(()) || other == Ok(50));
        let want = if other.is_err() { 2 } else { 1 };
        assert_eq!(calls.load(Ordering::SeqCst), want);
        assert_eq!(cache.get(&5), Some(50));
        assert_eq!(cache.loads_in_flight(), 0);
    });
}

/// The listener calls back into the cache (every shard, through `len`): if it ever ran
/// under a shard lock, loom would report the deadlock.
#[test]
fn listener_is_never_called_under_a_lock() {
    model(|| {
        let slot: Arc<StdMutex<Option<Cache<u32, u32>>>> = Arc::new(StdMutex::new(None));
        let heard = Arc::new(AtomicUsize::new(0));
        let built = {
            let (slot, heard) = (slot.clone(), heard.clone());
            Cache::builder(2)
                .shards(2)
                .seed(7)
                .eviction_listener(move |k: &u32, _: &u32, cause| {
                    assert_eq!(cause, EvictionCause::Capacity);
                    let cache = slot.lock().unwrap().clone();
                    if let Some(cache) = cache {
                        assert!(cache.len() <= 2);
                        let _ = cache.contains_key(k);
                        heard.fetch_add(1, Ordering::SeqCst);
                    }
                })
                .build()
                .unwrap()
        };
        *slot.lock().unwrap() = Some(built.clone());
        let other = {
            let cache = built.clone();
            thread::spawn(move || {
                cache.insert(1, 1).unwrap();
                cache.insert(2, 2).unwrap();
            })
        };
        built.insert(3, 3).unwrap();
        built.get_or_insert_with(4, || 4);
        other.join().unwrap();
        // Four writes into two one-entry shards: exactly two evictions were heard.
        assert_eq!(heard.load(Ordering::SeqCst), 2);
        *slot.lock().unwrap() = None;
    });
}

/// The capacity reserve (a cache of 2 shards of at least 64 keeps 1/16 of its capacity
/// for the shards that fill first). One shard gives borrowed room back while the other
/// borrows it, and a third thread counts: the count, taken one shard at a time, must
/// not count the same room twice (which a plain sum does when it reads the giver before
/// it gave and the borrower after it borrowed). Afterwards the shards and the free
/// reserve still add up to the capacity.
#[test]
fn room_given_back_and_borrowed_is_counted_once() {
    // Filling the cache takes about 1,000 of loom's steps before the threads start.
    loom_support::model_long(3, 20_000, || {
        let cache = cache(128, 2); // 8 in reserve, 60 guaranteed to each shard
        let sel = cache.selector().clone();
        let in_shard = |shard: usize| {
            let sel = sel.clone();
            (0u32..).filter(move |k| sel.shard_of(sel.hash(k)) == shard)
        };
        let zero: Vec<u32> = in_shard(0).take(69).collect();
        let one: Vec<u32> = in_shard(1).take(61).collect();
        // Shard 0 takes its 60 and the whole reserve; shard 1 its 60.
        for &k in &zero[..68] {
            cache.insert(k, k).unwrap();
        }
        for &k in &one[..60] {
            cache.insert(k, k).unwrap();
        }
        assert_eq!((cache.len(), cache.weight()), (128, 128));
        let giver = {
            let (cache, zero) = (cache.clone(), zero.clone());
            thread::spawn(move || {
                for k in &zero[..9] {
                    cache.remove(k);
                }
                // Under its guarantee (59 of 60): the 8 it borrowed go back to the
                // reserve before this insert.
                cache.insert(zero[68], 0).unwrap();
            })
        };
        let borrower = {
            let cache = cache.clone();
            thread::spawn(move || {
                // Full at its guarantee: borrows 1 if the reserve has it.
                cache.insert(one[60], 0).unwrap();
            })
        };
        assert!(cache.len() <= 128, "counted {}", cache.len());
        assert!(cache.weight() <= 128);
        giver.join().unwrap();
        borrower.join().unwrap();
        assert!(cache.len() <= 128);
        cache.validate().unwrap();
    });
}
