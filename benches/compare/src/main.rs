//! Side-by-side throughput of polycache and its peers, in one run, on this machine.
//!
//! ```text
//! cd benches/compare && cargo run --release [-- --quick]
//! cargo run --release -- --only 4,5 --column 2,3 --runs 9   # a few cells, more runs
//! cargo run --release -- --processes 5 --only 4,5   # medians over 5 fresh processes
//! ```
//!
//! Workloads (capacity 100K entries, `u64 -> u64`):
//! - (a) Zipf s=1.0 over 1M keys: `get`, then `insert` on a miss; 1 and 2 threads.
//! - (b) reads only, on a warm cache: every key of a Zipf s=1.0 trace over 100K keys
//!   is present; 1 and 2 threads.
//!
//! Each thread replays its own pre-generated trace (so the generator costs nothing in
//! the timed loop); a first pass warms the cache, the second is timed. Each cell is the
//! median of 5 runs (3 with `--quick`, N with `--runs N`), in millions of operations
//! per second, with the ratio to quick_cache. Runs are interleaved: round after round,
//! every cache runs every workload once, so that the noise of a shared machine is
//! spread over all of them. What interleaving cannot spread is what stays the same for
//! a whole process (where the allocator's pages land): `--processes N` runs the same
//! command in N fresh processes and prints each cell's median over them, with the
//! lowest and highest ratio (`processes.rs`).
//!
//! ByteMap section (`--bytemap` runs it alone): `ByteMap` (Lru, S3Fifo) against quick_cache and
//! moka holding `Bytes -> Bytes` with the same byte weigher (`key + value + 64`), a
//! budget of 100K entries' worth, 16-byte keys and 100-byte values:
//! - (c) Zipf s=1.0 over 1M keys: `get_owned`, then `insert_slice` on a miss;
//! - (d) `get_owned` only, on a warm map (Zipf over the 100K keys present);
//! - (e) `insert_slice` only (Zipf over 1M keys: replaces and evictions);
//!
//! 1 and 2 threads each.
//!
//! Lock-cost section (`--lock-cost`, run alone): workloads (a) and (b) with 1 thread, and
//! (b) on a cache of 1,024 entries that stays in the core's own caches, for polycache's
//! S3Fifo policy and quick_cache's unsync cache (no lock, no shards) beside the two
//! concurrent caches, and the cost of an uncontended atomic read-modify-write: where a
//! thread that has the cache to itself spends its time (`lock_cost.rs`).

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::sync::Barrier;
use std::time::Instant;

use polycache::policies::{LfuOrder, S3FifoOrder, TinyLfu, TinyLfuOrder};
use polycache::{Cache, Lfu, Lru, Policy, S3Fifo};

mod byte_entries;
mod bytemap;
mod lock_cost;
mod processes;

use byte_entries::mix;

const CAPACITY: u64 = 100_000;
const KEYS: usize = 1_000_000;

/// The operations the workloads need, for every cache.
trait Bench: Sync {
    fn get(&self, k: u64) -> Option<u64>;
    fn insert(&self, k: u64, v: u64);
}

/// polycache's `Cache` over any policy `P`.
struct Poly<P>(Cache<u64, u64, P>);
struct Moka(moka::sync::Cache<u64, u64>);
struct Quick(quick_cache::sync::Cache<u64, u64>);
struct MutexLru(parking_lot::Mutex<lru::LruCache<u64, u64>>);

impl<P: Policy<u64, u64> + Send + Sync> Bench for Poly<P> {
    #[inline]
    fn get(&self, k: u64) -> Option<u64> {
        self.0.get(&k)
    }
    #[inline]
    fn insert(&self, k: u64, v: u64) {
        let _ = self.0.insert(k, v);
    }
}

impl Bench for Moka {
    #[inline]
    fn get(&self, k: u64) -> Option<u64> {
        self.0.get(&k)
    }
    #[inline]
    fn insert(&self, k: u64, v: u64) {
        self.0.insert(k, v);
    }
}

impl Bench for Quick {
    #[inline]
    fn get(&self, k: u64) -> Option<u64> {
        self.0.get(&k)
    }
    #[inline]
    fn insert(&self, k: u64, v: u64) {
        self.0.insert(k, v);
    }
}

impl Bench for MutexLru {
    #[inline]
    fn get(&self, k: u64) -> Option<u64> {
        self.0.lock().get(&k).copied()
    }
    #[inline]
    fn insert(&self, k: u64, v: u64) {
        self.0.lock().put(k, v);
    }
}

const NAMES: [&str; 8] = [
    "polycache Lru",
    "polycache Lfu",
    "polycache TinyLfu",
    "polycache S3Fifo",
    "polycache S3Fifo, no hit counts",
    "quick_cache",
    "moka",
    "Mutex<lru>",
];
/// quick_cache's row in [`NAMES`]: the ratios are to it.
const QUICK_ROW: usize = 5;

fn make(i: usize) -> Box<dyn FnOnce() -> Outcome> {
    // Boxed only at construction; the timed loops are monomorphized per cache.
    match i {
        0 => Box::new(|| {
            Outcome::of(Poly::<Lru<u64, u64>>(
                Cache::builder(CAPACITY).build().unwrap(),
            ))
        }),
        1 => Box::new(|| {
            Outcome::of(Poly::<Lfu<u64, u64>>(
                Cache::builder(CAPACITY)
                    .order(LfuOrder::default())
                    .build()
                    .unwrap(),
            ))
        }),
        2 => Box::new(|| {
            Outcome::of(Poly::<TinyLfu<u64, u64>>(
                Cache::builder(CAPACITY)
                    .order(TinyLfuOrder::default())
                    .build()
                    .unwrap(),
            ))
        }),
        // quick_cache and moka count no hits by default; row 4 does not either.
        3 | 4 => Box::new(move || {
            Outcome::of(Poly::<S3Fifo<u64, u64>>(
                Cache::builder(CAPACITY)
                    .order(S3FifoOrder::default())
                    .count_hits(i == 3)
                    .build()
                    .unwrap(),
            ))
        }),
        5 => Box::new(|| Outcome::of(Quick(quick_cache::sync::Cache::new(CAPACITY as usize)))),
        6 => Box::new(|| Outcome::of(Moka(moka::sync::Cache::new(CAPACITY)))),
        _ => Box::new(|| {
            Outcome::of(MutexLru(parking_lot::Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(CAPACITY as usize).unwrap(),
            ))))
        }),
    }
}

/// Runs workload (a) on some traces: (Mops/s, hit ratio).
type RunA = Box<dyn Fn(&[Vec<u64>]) -> (f64, f64) + Sync>;
/// Runs workload (b) on some traces: Mops/s.
type RunB = Box<dyn Fn(&[Vec<u64>]) -> f64 + Sync>;

/// A cache ready to run, type-erased behind closures that run whole workloads.
struct Outcome {
    run_a: RunA,
    run_b: RunB,
}

impl Outcome {
    fn of<C: Bench + Send + 'static>(cache: C) -> Outcome {
        let cache = std::sync::Arc::new(cache);
        let b = cache.clone();
        Outcome {
            run_a: Box::new(move |traces| get_or_insert(&*cache, traces)),
            run_b: Box::new(move |traces| read_only(&*b, traces)),
        }
    }
}

/// `len` keys drawn from Zipf(s = 1.0) over `n` ranks (inverse CDF, binary search).
fn zipf_trace(n: usize, len: usize, seed: u64) -> Vec<u64> {
    let mut cdf = Vec::with_capacity(n);
    let mut sum = 0.0f64;
    for rank in 1..=n {
        sum += 1.0 / rank as f64;
        cdf.push(sum);
    }
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = mix(state);
            let u = (state >> 11) as f64 / (1u64 << 53) as f64 * sum;
            let rank = cdf.partition_point(|&c| c < u).min(n - 1);
            key_of_rank(rank as u64)
        })
        .collect()
}

/// The key of Zipf rank `rank` in every trace: a workload that fills a cache with
/// ranks `0..n` holds exactly the keys of a trace over `n` ranks.
fn key_of_rank(rank: u64) -> u64 {
    mix(rank ^ 0xA5A5_A5A5)
}

/// Runs `f(thread, trace)` on one thread per trace, all started together; returns the
/// wall time in seconds.
fn parallel<T: Sync, F: Fn(usize, &[T]) + Sync>(traces: &[Vec<T>], f: F) -> f64 {
    let barrier = Barrier::new(traces.len() + 1);
    std::thread::scope(|s| {
        for (t, trace) in traces.iter().enumerate() {
            let (f, barrier) = (&f, &barrier);
            s.spawn(move || {
                barrier.wait();
                f(t, trace);
                barrier.wait();
            });
        }
        barrier.wait();
        let start = Instant::now();
        barrier.wait();
        start.elapsed().as_secs_f64()
    })
}

/// Workload (a): warm pass, then a timed pass; returns (Mops/s, hit ratio).
fn get_or_insert<C: Bench>(cache: &C, traces: &[Vec<u64>]) -> (f64, f64) {
    let pass = |_: usize, trace: &[u64]| {
        let mut hits = 0u64;
        for &k in trace {
            match cache.get(k) {
                Some(v) => hits += black_box(v) & 1 | 1,
                None => cache.insert(k, k),
            }
        }
        black_box(hits);
    };
    parallel(traces, pass);
    let hits = std::sync::atomic::AtomicU64::new(0);
    let secs = parallel(traces, |_, trace| {
        let mut h = 0u64;
        for &k in trace {
            match cache.get(k) {
                Some(v) => {
                    black_box(v);
                    h += 1;
                }
                None => cache.insert(k, k),
            }
        }
        hits.fetch_add(h, std::sync::atomic::Ordering::Relaxed);
    });
    let ops: usize = traces.iter().map(Vec::len).sum();
    (
        ops as f64 / secs / 1e6,
        hits.into_inner() as f64 / ops as f64,
    )
}

/// Workload (b): fill with every key of the trace's key space, then reads only.
fn read_only<C: Bench>(cache: &C, traces: &[Vec<u64>]) -> f64 {
    for rank in 0..CAPACITY {
        cache.insert(key_of_rank(rank), rank);
    }
    parallel(traces, |_, trace| {
        for &k in trace {
            black_box(cache.get(k));
        }
    });
    let secs = parallel(traces, |_, trace| {
        for &k in trace {
            black_box(cache.get(k));
        }
    });
    let ops: usize = traces.iter().map(Vec::len).sum();
    ops as f64 / secs / 1e6
}

/// Prints `results[cache][column] = (Mops/s, hit ratio)` as a markdown table, each cell
/// with its ratio to row `quick_row` (quick_cache), then the first column's hit ratio.
fn print_table(
    names: &[&str],
    columns: &[&str],
    results: &[Vec<(f64, f64)>],
    quick_row: usize,
    hit_label: &str,
) {
    print!("| cache |");
    for name in columns {
        print!(" {name} Mops/s (x quick_cache) |");
    }
    println!(" {hit_label} |");
    print!("|---|");
    for _ in columns {
        print!("---|");
    }
    println!("---|");
    for (i, name) in names.iter().enumerate() {
        if results[i].iter().all(|&(m, _)| m == 0.0) {
            continue; // not run (`--only`)
        }
        print!("| {name} |");
        for (c, &(m, _)) in results[i].iter().enumerate() {
            let quick = results[quick_row][c].0;
            if m == 0.0 {
                print!(" - |");
            } else if quick == 0.0 {
                print!(" {m:.2} |");
            } else {
                print!(" {m:.2} ({:.2}x) |", m / quick);
            }
        }
        match results[i][0] {
            (0.0, _) => println!(" - |"),
            (_, hit) => println!(" {hit:.3} |"),
        }
    }
}

/// The numbers after command-line flag `name`, comma-separated (`--only 4,5`), if
/// given.
fn flag_list(name: &str) -> Option<Vec<usize>> {
    let mut args = std::env::args().skip_while(|a| a != name);
    let list = args.nth(1)?;
    Some(
        list.split(',')
            .filter_map(|n| n.trim().parse().ok())
            .collect(),
    )
}

/// The number after command-line flag `name` (`--runs 7`), if given and a number.
fn flag(name: &str) -> Option<usize> {
    flag_list(name)?.first().copied()
}

/// Runs per cell: `--runs N`, else 3 with `--quick`, else 5.
fn runs(quick: bool) -> usize {
    flag("--runs").unwrap_or(if quick { 3 } else { 5 }).max(1)
}

/// The median of `v`, which it leaves sorted.
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs `measure(column, row)` `runs` times for every cell and returns
/// `results[row][column] = (median Mops/s, hit ratio of the last run)`; a cell not run
/// stays `(0.0, 0.0)`. Runs are interleaved (every cache once per round, round after
/// round) so that a slow spell of a shared machine falls on all caches alike, not on
/// one. `--only 4,5` runs those rows alone and `--column 2,3` those columns alone
/// (for a closer look at a few cells with more runs, or for profiling; a ratio needs
/// quick_cache's row among them; neither runs the ByteMap section after the typed
/// one).
fn interleaved(
    runs: usize,
    columns: usize,
    rows: usize,
    mut measure: impl FnMut(usize, usize) -> (f64, f64),
) -> Vec<Vec<(f64, f64)>> {
    let (only, only_column) = (flag_list("--only"), flag_list("--column"));
    let mut results = vec![vec![(0.0, 0.0); columns]; rows];
    let mut samples = vec![vec![Vec::new(); columns]; rows];
    for _ in 0..runs {
        for c in (0..columns).filter(|c| only_column.as_ref().is_none_or(|o| o.contains(c))) {
            for i in (0..rows).filter(|i| only.as_ref().is_none_or(|o| o.contains(i))) {
                let (m, hit) = measure(c, i);
                samples[i][c].push(m);
                results[i][c].1 = hit;
            }
        }
    }
    for (row, samples) in results.iter_mut().zip(samples) {
        for (cell, mut s) in row.iter_mut().zip(samples) {
            if !s.is_empty() {
                cell.0 = median(&mut s);
            }
        }
    }
    results
}

fn main() {
    if let Some(n) = flag("--processes") {
        // The children get the same arguments, less this flag and its number.
        let args: Vec<String> = std::env::args().skip(1).collect();
        let at = args.iter().position(|a| a == "--processes").unwrap_or(0);
        let rest = [&args[..at], &args[(at + 2).min(args.len())..]].concat();
        processes::main(n.max(1), &rest);
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    if std::env::args().any(|a| a == "--bytemap") {
        bytemap::main();
        return;
    }
    if std::env::args().any(|a| a == "--lock-cost") {
        lock_cost::main(quick);
        return;
    }
    let runs = runs(quick);
    let per_thread = if quick { 2_000_000 } else { 5_000_000 };
    let traces_a: Vec<Vec<u64>> = (0..2)
        .map(|t| zipf_trace(KEYS, per_thread, 1 + t))
        .collect();
    let traces_b: Vec<Vec<u64>> = (0..2)
        .map(|t| zipf_trace(CAPACITY as usize, per_thread, 11 + t))
        .collect();
    println!(
        "capacity {CAPACITY}, u64 -> u64, {per_thread} ops per thread per run, median of {runs} runs, {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let columns = [
        ("(a) 1 thread", 'a', 1),
        ("(a) 2 threads", 'a', 2),
        ("(b) 1 thread", 'b', 1),
        ("(b) 2 threads", 'b', 2),
    ];
    let results = interleaved(runs, columns.len(), NAMES.len(), |c, i| {
        let (_, which, threads) = columns[c];
        let cache = make(i)();
        if which == 'a' {
            (cache.run_a)(&traces_a[..threads])
        } else {
            ((cache.run_b)(&traces_b[..threads]), 1.0)
        }
    });
    let heads: Vec<&str> = columns.iter().map(|c| c.0).collect();
    print_table(&NAMES, &heads, &results, QUICK_ROW, "(a) hit ratio 1 thr");
    if flag_list("--only").is_none() && flag_list("--column").is_none() {
        println!();
        bytemap::main();
    }
}
