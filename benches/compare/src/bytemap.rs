//! The ByteMap section: `ByteMap` against quick_cache and moka holding `Bytes -> Bytes`
//! with the same byte weigher, 16-byte keys, 100-byte values, Zipf keys, 1 and 2
//! threads, in one run.

use std::hint::black_box;

use bytes::Bytes;
use polycache::bytemap::{ByteMap, BytePolicy};
use polycache::policies::S3FifoOrder;

use crate::byte_entries::{ByteWeighter, Key, VALUE, WEIGHT, byte_weight, key_of};
use crate::{interleaved, key_of_rank, parallel, print_table, runs, zipf_trace};

const ENTRIES: u64 = 100_000;
const BUDGET: u64 = ENTRIES * WEIGHT;
const KEYS: usize = 1_000_000;

trait ByteBench: Sync {
    fn get_owned(&self, k: &[u8]) -> Option<Bytes>;
    fn insert_slice(&self, k: &[u8], v: &[u8]);
}

struct Poly<P: BytePolicy>(ByteMap<P>);
struct Quick(quick_cache::sync::Cache<Bytes, Bytes, ByteWeighter>);
struct Moka(moka::sync::Cache<Bytes, Bytes>);

impl<P: BytePolicy> ByteBench for Poly<P> {
    #[inline]
    fn get_owned(&self, k: &[u8]) -> Option<Bytes> {
        self.0.get_owned(k)
    }
    #[inline]
    fn insert_slice(&self, k: &[u8], v: &[u8]) {
        let _ = self.0.insert_slice(k, v);
    }
}

impl ByteBench for Quick {
    #[inline]
    fn get_owned(&self, k: &[u8]) -> Option<Bytes> {
        self.0.get(k)
    }
    #[inline]
    fn insert_slice(&self, k: &[u8], v: &[u8]) {
        self.0
            .insert(Bytes::copy_from_slice(k), Bytes::copy_from_slice(v));
    }
}

impl ByteBench for Moka {
    #[inline]
    fn get_owned(&self, k: &[u8]) -> Option<Bytes> {
        self.0.get(k)
    }
    #[inline]
    fn insert_slice(&self, k: &[u8], v: &[u8]) {
        self.0
            .insert(Bytes::copy_from_slice(k), Bytes::copy_from_slice(v));
    }
}

const NAMES: [&str; 5] = [
    "polycache ByteMap (Lru)",
    "polycache ByteMap (S3Fifo)",
    "polycache ByteMap (S3Fifo, no hit counts)",
    "quick_cache",
    "moka",
];
/// quick_cache's row in [`NAMES`]: the ratios are to it.
const QUICK_ROW: usize = 3;

fn make(i: usize) -> Box<dyn ByteBench + Send> {
    match i {
        0 => Box::new(Poly(ByteMap::builder(BUDGET).build().unwrap())),
        // quick_cache and moka count no hits by default; row 2 does not either.
        1 | 2 => Box::new(Poly(
            ByteMap::builder(BUDGET)
                .policy(S3FifoOrder::default())
                .count_hits(i == 1)
                .build()
                .unwrap(),
        )),
        3 => Box::new(Quick(quick_cache::sync::Cache::with_weighter(
            ENTRIES as usize,
            BUDGET,
            ByteWeighter,
        ))),
        _ => Box::new(Moka(
            moka::sync::Cache::builder()
                .max_capacity(BUDGET)
                .weigher(|k: &Bytes, v: &Bytes| byte_weight(k, v) as u32)
                .build(),
        )),
    }
}

fn keys(trace: &[u64]) -> Vec<Key> {
    trace.iter().map(|&k| key_of(k)).collect()
}

/// (c): get_owned, insert_slice on a miss. Warm pass, then timed: (Mops/s, hit ratio).
fn mixed(c: &dyn ByteBench, traces: &[Vec<Key>]) -> (f64, f64) {
    let value = [7u8; VALUE];
    let pass = |trace: &[Key]| {
        let mut hits = 0u64;
        for k in trace {
            match c.get_owned(k) {
                Some(v) => {
                    black_box(v);
                    hits += 1;
                }
                None => c.insert_slice(k, &value),
            }
        }
        hits
    };
    parallel(traces, |_, t| {
        pass(t);
    });
    let hits = std::sync::atomic::AtomicU64::new(0);
    let secs = parallel(traces, |_, t| {
        hits.fetch_add(pass(t), std::sync::atomic::Ordering::Relaxed);
    });
    let ops: usize = traces.iter().map(Vec::len).sum();
    (
        ops as f64 / secs / 1e6,
        hits.into_inner() as f64 / ops as f64,
    )
}

/// (d): every key of the space present; get_owned only.
fn reads(c: &dyn ByteBench, traces: &[Vec<Key>]) -> f64 {
    let value = [7u8; VALUE];
    for rank in 0..ENTRIES {
        c.insert_slice(&key_of(key_of_rank(rank)), &value);
    }
    let pass = |trace: &[Key]| {
        for k in trace {
            black_box(c.get_owned(k));
        }
    };
    parallel(traces, |_, t| pass(t));
    let secs = parallel(traces, |_, t| pass(t));
    let ops: usize = traces.iter().map(Vec::len).sum();
    ops as f64 / secs / 1e6
}

/// (e): insert_slice only.
fn writes(c: &dyn ByteBench, traces: &[Vec<Key>]) -> f64 {
    let value = [7u8; VALUE];
    let pass = |trace: &[Key]| {
        for k in trace {
            c.insert_slice(k, &value);
        }
    };
    parallel(traces, |_, t| pass(t));
    let secs = parallel(traces, |_, t| pass(t));
    let ops: usize = traces.iter().map(Vec::len).sum();
    ops as f64 / secs / 1e6
}

pub(crate) fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let runs = runs(quick);
    let per_thread = if quick { 1_000_000 } else { 3_000_000 };
    let big: Vec<Vec<Key>> = (0..2)
        .map(|t| keys(&zipf_trace(KEYS, per_thread, 21 + t)))
        .collect();
    let warm: Vec<Vec<Key>> = (0..2)
        .map(|t| keys(&zipf_trace(ENTRIES as usize, per_thread, 31 + t)))
        .collect();
    println!(
        "ByteMap section: budget {BUDGET} bytes ({ENTRIES} entries of {WEIGHT} weighed bytes), 16-byte keys, {VALUE}-byte values, {per_thread} ops per thread per run, median of {runs} runs"
    );
    let columns = [
        ("(c) get_owned+insert_slice 1 thr", 'c', 1),
        ("(c) 2 thr", 'c', 2),
        ("(d) get_owned warm 1 thr", 'd', 1),
        ("(d) 2 thr", 'd', 2),
        ("(e) insert_slice 1 thr", 'e', 1),
        ("(e) 2 thr", 'e', 2),
    ];
    let results = interleaved(runs, columns.len(), NAMES.len(), |c, i| {
        let (_, which, threads) = columns[c];
        let cache = make(i);
        match which {
            'c' => mixed(&*cache, &big[..threads]),
            'd' => (reads(&*cache, &warm[..threads]), 1.0),
            _ => (writes(&*cache, &big[..threads]), 1.0),
        }
    });
    let heads: Vec<&str> = columns.iter().map(|c| c.0).collect();
    print_table(&NAMES, &heads, &results, QUICK_ROW, "(c) hit ratio 1 thr");
}
