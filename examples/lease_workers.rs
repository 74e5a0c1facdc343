//! A worker pool that shares jobs through leases.
//!
//! Four workers scan one list of jobs. A worker takes a job by acquiring its lease (the
//! job id is the key, the worker's name is the token), renews the lease while it works,
//! and writes the result to a "store" that checks the fencing token: a write carrying a
//! fence lower than one already seen for that job is refused. One worker is made to
//! stall past its lease on its first job; another worker takes the job over, and the
//! stalled worker's late write is refused by its stale fence. At the end every job is
//! done exactly once (by the holder of its highest fence).
//!
//! ```text
//! cargo run --example lease_workers
//! ```
//!
//! Swap `LockTable::new()` for `RedisLeases::open(url)?` (feature `redis`) and the same
//! code coordinates workers in different processes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use polycache::locks::{LeaseStore, LockTable};

const JOBS: usize = 12;
const TTL: Duration = Duration::from_millis(60);

/// The resource the jobs write to: it remembers the highest fence per job and refuses
/// writes with a lower one (fencing).
#[derive(Default)]
struct FencedStore {
    results: Mutex<HashMap<usize, (u64, String)>>,
}

impl FencedStore {
    fn write(&self, job: usize, fence: u64, worker: &str) -> Result<(), String> {
        let mut results = self.results.lock().unwrap();
        if let Some((seen, by)) = results.get(&job) {
            if *seen > fence {
                return Err(format!(
                    "job {job}: fence {fence} from {worker} is stale ({by} wrote with {seen})"
                ));
            }
        }
        results.insert(job, (fence, worker.to_owned()));
        Ok(())
    }
}

/// Works on `job` for `steps` steps of 20 ms, renewing the lease between steps; returns
/// false if the lease was lost.
fn work(locks: &impl LeaseStore, key: &str, me: &str, steps: u32) -> bool {
    for _ in 0..steps {
        thread::sleep(Duration::from_millis(20));
        if !locks.renew(key, me, TTL).expect("valid input") {
            return false;
        }
    }
    true
}

fn worker(id: usize, locks: Arc<LockTable>, store: Arc<FencedStore>, done: Arc<Mutex<Vec<bool>>>) {
    let me = format!("worker-{id}");
    let mut stalled = false;
    loop {
        let pending: Vec<usize> = {
            let done = done.lock().unwrap();
            (0..JOBS).filter(|&j| !done[j]).collect()
        };
        if pending.is_empty() {
            return;
        }
        let mut took_any = false;
        for job in pending {
            let key = format!("job:{job}");
            // Wait a little for a busy job rather than skipping it at once.
            let Some(fence) = locks
                .acquire_timeout(&key, &me, TTL, Duration::from_millis(5))
                .expect("valid input")
            else {
                continue;
            };
            if done.lock().unwrap()[job] {
                locks.release(&key, &me).expect("valid input");
                continue;
            }
            took_any = true;
            if id == 0 && !stalled {
                // Worker 0 stalls (a long GC pause, a swapped-out process) without
                // renewing: its lease expires and someone else takes the job.
                stalled = true;
                println!("{me}: took {key} (fence {fence}), stalling");
                thread::sleep(TTL * 5);
                match store.write(job, fence, &me) {
                    Ok(()) => println!("{me}: late write accepted (nobody took {key} meanwhile)"),
                    Err(e) => println!("{me}: late write refused: {e}"),
                }
                assert!(
                    !locks.release(&key, &me).expect("valid input"),
                    "lease expired"
                );
                continue;
            }
            if !work(&*locks, &key, &me, 3) {
                println!("{me}: lost {key}");
                continue;
            }
            store
                .write(job, fence, &me)
                .expect("the holder's fence is the newest");
            done.lock().unwrap()[job] = true;
            assert!(locks.release(&key, &me).expect("valid input"));
            println!("{me}: did {key} with fence {fence}");
            // Rescan from the first job: jobs whose holder vanished come back first.
            break;
        }
        if !took_any {
            thread::sleep(Duration::from_millis(5));
        }
    }
}

fn main() {
    let locks = Arc::new(LockTable::new());
    let store = Arc::new(FencedStore::default());
    let done = Arc::new(Mutex::new(vec![false; JOBS]));
    let workers: Vec<_> = (0..4)
        .map(|id| {
            let (locks, store, done) = (locks.clone(), store.clone(), done.clone());
            thread::spawn(move || worker(id, locks, store, done))
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let results = store.results.lock().unwrap();
    assert_eq!(results.len(), JOBS);
    let mut by_worker: HashMap<&str, usize> = HashMap::new();
    for (_, by) in results.values() {
        *by_worker.entry(by.as_str()).or_default() += 1;
    }
    let mut by_worker: Vec<_> = by_worker.into_iter().collect();
    by_worker.sort();
    println!("all {JOBS} jobs done; results by worker: {by_worker:?}");
    assert_eq!(locks.held(), 0);
}
