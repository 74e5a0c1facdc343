//! TinyLfu meets the hit-ratio bar on the reference cells where it does today,
//! on each of seeds 42, 7 and 1234: at least the better of moka and quick_cache less 0.5
//! points (README table of `shared/traces`), and on OLTP at 250..2000 the published
//! adaptive W-TinyLFU figure less 0.5. A guard against regressions, not the whole bar:
//! the cells listed in `NOT_YET` still miss it (see the simulator's `--traces` table).
//! S3Fifo keeps the cells it meets today (the better peer less 0.5), on the same seeds.
//! Skipped, with the reason printed, when `shared/traces` is not beside the repository.

use std::collections::HashMap;

use polycache_sim::reference::{MOKA_HELD, PUBLISHED_OLTP, RefRow, read_table};
use polycache_sim::run::{Kind, run};
use polycache_sim::trace::{self, Trace};

const SEEDS: [u64; 3] = [42, 7, 1234];

/// TinyLfu's cells that meet the bar on all three seeds.
const MET: &[(&str, u64)] = &[
    ("oltp", 250),
    ("oltp", 500),
    ("oltp", 750),
    ("oltp", 1000),
    ("oltp", 1250),
    ("oltp", 1500),
    ("oltp", 1750),
    ("oltp", 2000),
    ("oltp", 5000),
    ("oltp", 10000),
    ("p3", 8192),
    ("p3", 32768),
    ("loop", 256),
    ("loop", 1024),
    ("2_pools", 500),
    ("2_pools", 1000),
    ("2_pools", 2000),
    ("2_pools", 5000),
    ("sprite", 500),
    ("sprite", 1000),
    ("multi2", 500),
    ("scan", 250),
    ("scan", 500),
    ("scan", 1000),
    ("zigzag", 250),
    ("zigzag", 500),
    ("zigzag", 1000),
    ("web07", 1000),
    ("web07", 2000),
];

/// Cells that still miss the bar on at least one seed (documentation; not asserted).
/// The climber's sample floor and growing first step (see `tinylfu.rs`) brought
/// oltp@250, oltp@500, loop@256, multi2@500, scan@250, scan@500 and web07 at 1000
/// and 2000 over it on every seed; protected's adaptive share brought p3@131072 from
/// 1.7 to 1.9 points short to over it on seeds 7 and 1234 and 0.06 short on seed 42.
/// sprite@100 is 1.9 to 2.4 points short and sprite@200 2.4 to 2.5, both against
/// moka's figure, which holds 121 and 216 entries on average there (moka applies its
/// policy in batches); held to its capacity moka scores 31.0 and 48.8 (the median of
/// three runs, `reference::MOKA_HELD`), against TinyLfu's 31.7 to 32.2 and 48.2 to
/// 48.4 (`benches/compare`'s `moka_capacity` binary measures moka both ways). loop@512 was 0.4 to 0.5 short until the climber stopped
/// turning around on noise with the window at its floor; it now meets the bar on
/// seed 42 (50.05) and is under 0.01 short on seeds 7 and 1234. multi2 at 1000 and 2000
/// under 0.2 on one seed each. web07@5000 met the bar on every seed while a quirk
/// sized the sketch's period and ghosts for 4,098 entries instead of 5,000 (growth
/// stopped at the first power of two above the capacity); sized for the 5,000
/// entries, it is 0.3 to 0.4 short on seeds 7 and 1234 (62.81 and 62.96 against
/// 63.24) while oltp@10000, which the same quirk sized for 8,194, gains 1.1 points on
/// every seed.
#[allow(dead_code)]
const NOT_YET: &[(&str, u64)] = &[
    ("p3", 131072),
    ("web07", 5000),
    ("loop", 512),
    ("sprite", 100),
    ("sprite", 200),
    ("multi2", 1000),
    ("multi2", 2000),
];

/// S3Fifo's cells that meet the peers' bar on all three seeds. (p3@131072 left with
/// the half-size ghost: 48.06 against a bar of 48.15; loop, scan and zigzag gained.)
const S3FIFO_MET: &[(&str, u64)] = &[
    ("oltp", 1000),
    ("oltp", 2000),
    ("oltp", 5000),
    ("oltp", 10000),
    ("p3", 8192),
    ("loop", 256),
    ("loop", 1024),
    ("2_pools", 500),
    ("2_pools", 1000),
    ("2_pools", 2000),
    ("2_pools", 5000),
    ("sprite", 500),
    ("sprite", 1000),
    ("multi2", 2000),
    ("scan", 250),
    ("scan", 500),
    ("web07", 1000),
    ("web07", 2000),
    ("web07", 5000),
];

/// The bar of a cell: the better peer less 0.5, or with `published`, the published
/// OLTP figure less 0.5 where there is one.
fn bar(rows: &[RefRow], name: &str, cap: u64, published: bool) -> f64 {
    if let Some(&(_, p)) = PUBLISHED_OLTP
        .iter()
        .find(|p| published && name == "oltp" && p.0 == cap)
    {
        return p - 0.5;
    }
    let row = rows
        .iter()
        .find(|r| r.trace == name && r.capacity == cap)
        .unwrap_or_else(|| panic!("{name}@{cap} not in the README table"));
    row.best_peer() - 0.5
}

/// Replays `kind` on every cell of `cells` with each seed and asserts it clears the
/// cell's bar (see [`bar`]). Skips, saying why, without `shared/traces`.
fn assert_cells(kind: Kind, cells: &[(&str, u64)], published: bool) {
    let Some(dir) = trace::shared_dir() else {
        println!("skipped: ../shared/traces not found beside the repository");
        return;
    };
    let rows = read_table(&dir).unwrap();
    let mut traces: HashMap<&str, Trace> = HashMap::new();
    let mut failures = Vec::new();
    for &(name, cap) in cells {
        let t = traces.entry(name).or_insert_with(|| {
            trace::read(
                &trace::file_in(&dir, name).expect("trace file named in the table"),
                None,
                |_| {},
            )
            .unwrap()
        });
        let bar = bar(&rows, name, cap, published);
        for seed in SEEDS {
            let hit = run(kind, cap, t, seed, None).unwrap().hit_ratio();
            println!("{kind:?} {name}@{cap} seed {seed}: {hit:.2} (bar {bar:.2})");
            if hit < bar {
                failures.push(format!("{name}@{cap} seed {seed}: {hit:.2} < {bar:.2}"));
            }
        }
    }
    assert!(failures.is_empty(), "{kind:?} under the bar: {failures:#?}");
}

/// The sim's "moka held" figures cover exactly the cells of the README's table, so
/// that its equal-footprint check has a bar wherever the README's check has one.
#[test]
fn moka_held_covers_the_reference_table() {
    let Some(dir) = trace::shared_dir() else {
        println!("skipped: ../shared/traces not found beside the repository");
        return;
    };
    let rows = read_table(&dir).unwrap();
    let mut table: Vec<(&str, u64)> = rows
        .iter()
        .map(|r| (r.trace.as_str(), r.capacity))
        .collect();
    let mut held: Vec<(&str, u64)> = MOKA_HELD.iter().map(|m| (m.0, m.1)).collect();
    table.sort_unstable();
    held.sort_unstable();
    assert_eq!(held, table);
}

#[test]
fn tinylfu_meets_the_bar_where_it_does() {
    assert_cells(Kind::TinyLfu, MET, true);
}

/// A guard against regressions such as plain S3-FIFO's 0% on loop and scan (every
/// newcomer to small, and a ghost bounded by main's count). The seed moves the ghost's
/// fingerprints.
#[test]
fn s3fifo_keeps_its_cells() {
    assert_cells(Kind::S3Fifo, S3FIFO_MET, false);
}
