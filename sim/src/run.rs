//! Replaying a trace through a policy: for every key, `get`; on a miss, `insert`.
//!
//! Unit traces use the default weigher (capacity counts entries); sized traces weigh
//! each entry by its size (capacity is a byte budget), and an object larger than the
//! whole capacity is refused by the policy and counted as a miss. Every policy gets the
//! same seeded hasher, so runs are reproducible.

use std::io::{IsTerminal, Write};
use std::time::Instant;

use polycache_policies::{
    Core, DefaultHashBuilder, GdsfOrder, LfuOrder, LruOrder, Order, Policy, S3FifoOrder,
    TinyLfuOrder, TtlOrder,
};

use crate::opt;
use crate::trace::Trace;

/// A policy the simulator replays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Belady's OPT with bypass (unit traces only): the ceiling.
    Opt,
    /// `Lru`.
    Lru,
    /// `Lfu` (with aging).
    Lfu,
    /// `Ttl` with no TTLs: eviction in insertion order, i.e. FIFO.
    Fifo,
    /// `TinyLfu` (W-TinyLFU, adaptive window).
    TinyLfu,
    /// `polycache::Sharded<TinyLfu>` with its default shard count.
    ShardedTinyLfu,
    /// `S3Fifo` (small and main FIFOs, ghost; hits through `&self`).
    S3Fifo,
    /// `Gdsf` (GreedyDual-Size-Frequency): for sized traces. (`Prefix` needs byte keys
    /// with groups; the traces have neither, so it is not replayed.)
    Gdsf,
}

impl Kind {
    /// Every policy, OPT first.
    pub const ALL: [Kind; 8] = [
        Kind::Opt,
        Kind::Lru,
        Kind::Lfu,
        Kind::Fifo,
        Kind::TinyLfu,
        Kind::ShardedTinyLfu,
        Kind::S3Fifo,
        Kind::Gdsf,
    ];

    /// The column label.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Opt => "OPT",
            Kind::Lru => "Lru",
            Kind::Lfu => "Lfu",
            Kind::Fifo => "Ttl(FIFO)",
            Kind::TinyLfu => "TinyLfu",
            Kind::ShardedTinyLfu => "Sharded<TinyLfu>",
            Kind::S3Fifo => "S3Fifo",
            Kind::Gdsf => "Gdsf",
        }
    }
}

/// What one replay measured.
#[derive(Clone, Copy, Debug, Default)]
pub struct Outcome {
    /// Requests replayed.
    pub requests: u64,
    /// Requests that hit.
    pub hits: u64,
    /// Bytes requested (sized traces; else equal to `requests`).
    pub bytes: u64,
    /// Bytes served from the cache.
    pub hit_bytes: u64,
    /// Seconds spent replaying (not reading the trace).
    pub secs: f64,
}

impl Outcome {
    /// Hits per request, in percent.
    pub fn hit_ratio(&self) -> f64 {
        100.0 * self.hits as f64 / self.requests.max(1) as f64
    }

    /// Bytes hit per byte requested, in percent.
    pub fn byte_hit_ratio(&self) -> f64 {
        100.0 * self.hit_bytes as f64 / self.bytes.max(1) as f64
    }

    /// Millions of requests per second.
    pub fn mops(&self) -> f64 {
        self.requests as f64 / self.secs.max(1e-9) / 1e6
    }
}

/// The outcomes of one cell (a policy at a capacity) over one or more seeds, and what
/// the tables show of them: the median, and the spread between the extremes.
#[derive(Clone, Debug, Default)]
pub struct Runs(pub Vec<Outcome>);

impl Runs {
    /// The median hit ratio over the runs, in percent.
    pub fn hit_ratio(&self) -> f64 {
        median(self.0.iter().map(Outcome::hit_ratio))
    }

    /// The median byte hit ratio over the runs, in percent.
    pub fn byte_hit_ratio(&self) -> f64 {
        median(self.0.iter().map(Outcome::byte_hit_ratio))
    }

    /// The highest hit ratio less the lowest, in points (0 for a single run).
    pub fn spread(&self) -> f64 {
        let (lo, hi) = self
            .0
            .iter()
            .map(Outcome::hit_ratio)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), h| {
                (lo.min(h), hi.max(h))
            });
        if self.0.is_empty() { 0.0 } else { hi - lo }
    }

    /// Requests replayed and seconds spent, over every run.
    pub fn totals(&self) -> (u64, f64) {
        self.0
            .iter()
            .fold((0, 0.0), |(n, s), o| (n + o.requests, s + o.secs))
    }
}

/// The median of `values` (the mean of the middle two for an even count; NaN for
/// none).
pub fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// Progress on stderr for long traces (a million requests or more): on a terminal, a
/// percentage every 5% on one rewritten line; otherwise one line when a replay ends.
pub struct Progress {
    label: String,
    total: usize,
    step: usize,
    next: usize,
    enabled: bool,
    terminal: bool,
    start: Instant,
}

impl Progress {
    /// Progress for a replay of `total` requests; silent below a million.
    pub fn new(label: String, total: usize) -> Self {
        let step = (total / 20).max(1);
        Progress {
            label,
            total,
            step,
            next: step,
            enabled: total >= 1_000_000,
            terminal: std::io::stderr().is_terminal(),
            start: Instant::now(),
        }
    }

    /// Reports that `done` requests are through (cheap when nothing is due).
    #[inline]
    pub fn tick(&mut self, done: usize) {
        if done >= self.next {
            self.next += self.step;
            if self.enabled && self.terminal {
                eprint!("\r  {} {:3}%", self.label, done * 100 / self.total.max(1));
                std::io::stderr().flush().ok();
            }
        }
    }

    /// Clears the progress line (or, off a terminal, says the replay is done).
    pub fn finish(&self) {
        if !self.enabled {
            return;
        }
        if self.terminal {
            eprint!("\r{:width$}\r", "", width = self.label.len() + 8);
        } else {
            eprintln!(
                "  {} done in {:.1} s",
                self.label,
                self.start.elapsed().as_secs_f64()
            );
        }
    }
}

/// Replays `trace` through `access(key, size)`, which looks the key up, inserts it on a
/// miss, and says whether it was a hit; counts hits and bytes, times the replay and
/// reports progress.
fn replay_with(
    trace: &Trace,
    progress: &mut Progress,
    mut access: impl FnMut(u64, u32) -> bool,
) -> Outcome {
    let mut out = Outcome {
        requests: trace.len() as u64,
        ..Outcome::default()
    };
    let start = Instant::now();
    const CHUNK: usize = 1 << 16;
    for (c, chunk) in trace.keys.chunks(CHUNK).enumerate() {
        let base = c * CHUNK;
        for (j, &k) in chunk.iter().enumerate() {
            let size = trace.sizes.as_ref().map_or(1, |s| s[base + j]);
            if access(k, size) {
                out.hits += 1;
                out.hit_bytes += u64::from(size);
            }
            out.bytes += u64::from(size);
        }
        progress.tick(base + chunk.len());
    }
    out.secs = start.elapsed().as_secs_f64();
    progress.finish();
    out
}

/// Replays `trace` through `policy` (get, then insert on a miss).
pub fn replay<P: Policy<u64, u32>>(
    mut policy: P,
    trace: &Trace,
    progress: &mut Progress,
) -> Outcome {
    replay_with(trace, progress, |k, size| {
        let h = policy.hash(&k);
        if policy.get_hashed(h, &k).is_some() {
            return true;
        }
        // Refused (heavier than the capacity): a miss all the same.
        let _ = policy.insert_hashed(h, k, size, None);
        false
    })
}

/// The weigher of sized traces: the value is the size.
fn by_size(_: &u64, size: &u32) -> u64 {
    u64::from(*size)
}

/// The hasher every replay uses (seeded: reproducible runs).
pub fn hasher(seed: u64) -> DefaultHashBuilder {
    DefaultHashBuilder::with_seeds(seed, 0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e)
}

fn run_order<O: Order<u64, u32>>(
    order: O,
    capacity: u64,
    trace: &Trace,
    seed: u64,
    progress: &mut Progress,
) -> Outcome {
    let builder = Core::<u64, u32, LruOrder>::builder(capacity)
        .order(order)
        .hasher(hasher(seed));
    if trace.sizes.is_some() {
        let p = builder
            .weigher(by_size as fn(&u64, &u32) -> u64)
            .build()
            .expect("capacity > 0");
        replay(p, trace, progress)
    } else {
        replay(builder.build().expect("capacity > 0"), trace, progress)
    }
}

/// Replays `trace` through policy `kind` at `capacity`, `Sharded<TinyLfu>` with the
/// default shard count. OPT on a sized trace counts objects (every size 1): a bound on
/// the object hit ratio of a cache of `capacity` objects, not of bytes; [`run`]
/// returns `None` for it.
pub fn run(
    kind: Kind,
    capacity: u64,
    trace: &Trace,
    seed: u64,
    opt_next: Option<&[usize]>,
) -> Option<Outcome> {
    run_with_shards(kind, capacity, trace, seed, opt_next, None)
}

/// [`run`], with `Sharded<TinyLfu>` split into `shards` shards (a power of two) rather
/// than the default count. `None` also when `shards` is more than the capacity, which
/// a sharded cache refuses.
pub fn run_with_shards(
    kind: Kind,
    capacity: u64,
    trace: &Trace,
    seed: u64,
    opt_next: Option<&[usize]>,
    shards: Option<usize>,
) -> Option<Outcome> {
    let mut progress = Progress::new(
        format!("{} {} @{}", trace.name, kind.label(), capacity),
        trace.len(),
    );
    Some(match kind {
        Kind::Opt => {
            if trace.sizes.is_some() {
                return None;
            }
            let start = Instant::now();
            let owned;
            let next = match opt_next {
                Some(n) => n,
                None => {
                    owned = opt::next_uses(&trace.keys);
                    &owned
                }
            };
            let hits = opt::opt_hits(&trace.keys, next, capacity as usize);
            Outcome {
                requests: trace.len() as u64,
                hits,
                bytes: trace.len() as u64,
                hit_bytes: hits,
                secs: start.elapsed().as_secs_f64(),
            }
        }
        Kind::Lru => run_order(LruOrder::default(), capacity, trace, seed, &mut progress),
        Kind::Lfu => run_order(LfuOrder::default(), capacity, trace, seed, &mut progress),
        Kind::Fifo => run_order(TtlOrder::default(), capacity, trace, seed, &mut progress),
        Kind::Gdsf => run_order(GdsfOrder::default(), capacity, trace, seed, &mut progress),
        Kind::S3Fifo => run_order(S3FifoOrder::default(), capacity, trace, seed, &mut progress),
        Kind::TinyLfu => run_order(
            TinyLfuOrder::with_seed(seed),
            capacity,
            trace,
            seed,
            &mut progress,
        ),
        Kind::ShardedTinyLfu => {
            // The default count asks the OS for the cores: only for this kind.
            let shards = shards.unwrap_or_else(|| default_shards(capacity));
            if shards as u64 > capacity {
                return None;
            }
            run_sharded(
                TinyLfuOrder::with_seed(seed),
                capacity,
                shards,
                trace,
                seed,
                &mut progress,
            )
        }
    })
}

/// The shard count `polycache` picks by default for `capacity` on this machine.
pub fn default_shards(capacity: u64) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    polycache::sharded::shard_count_for(capacity, cores)
}

/// Replays through `Sharded<Core<O>>` with `shards` shards, a power of two no larger
/// than `capacity` (get, then insert on a miss, through the sharded handle: one lock
/// per operation).
fn run_sharded<O: Order<u64, u32> + Clone>(
    order: O,
    capacity: u64,
    shards: usize,
    trace: &Trace,
    seed: u64,
    progress: &mut Progress,
) -> Outcome {
    use polycache::{ShardSelector, Sharded};
    let selector = ShardSelector::with_seed(shards, seed).expect("a power of two");
    let make = |cap, hasher| {
        Core::<u64, u32, LruOrder>::builder(cap)
            .order(order.clone())
            .hasher(hasher)
    };
    fn go<P: Policy<u64, u32>>(
        s: Sharded<u64, u32, P>,
        trace: &Trace,
        progress: &mut Progress,
    ) -> Outcome {
        replay_with(trace, progress, |k, size| {
            if s.get_with(&k, |_| ()).is_some() {
                return true;
            }
            let _ = s.insert(k, size, None);
            false
        })
    }
    if trace.sizes.is_some() {
        let s = Sharded::new(capacity, selector, |cap, h| {
            make(cap, h)
                .weigher(by_size as fn(&u64, &u32) -> u64)
                .build()
        })
        .expect("capacity >= shards");
        go(s, trace, progress)
    } else {
        let s = Sharded::new(capacity, selector, |cap, h| make(cap, h).build())
            .expect("capacity >= shards");
        go(s, trace, progress)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(h: u64) -> Outcome {
        Outcome {
            requests: 100,
            hits: h,
            bytes: 100,
            hit_bytes: h,
            secs: 0.5,
        }
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median([3.0, 1.0, 2.0].into_iter()), 2.0);
        assert_eq!(median([4.0, 1.0, 3.0, 2.0].into_iter()), 2.5);
        assert_eq!(median([7.0].into_iter()), 7.0);
        assert!(median(std::iter::empty()).is_nan());
    }

    #[test]
    fn runs_report_median_spread_and_totals() {
        let r = Runs(vec![hits(30), hits(10), hits(25)]);
        assert_eq!(r.hit_ratio(), 25.0);
        assert_eq!(r.byte_hit_ratio(), 25.0);
        assert_eq!(r.spread(), 20.0);
        assert_eq!(r.totals(), (300, 1.5));
        assert_eq!(Runs(vec![hits(40)]).spread(), 0.0);
        assert_eq!(Runs::default().spread(), 0.0);
    }
}
