//! S3Fifo keeps the hit ratios it has today on the reference traces: at least the better
//! of moka and quick_cache less 0.5 points in the cells listed in `MET`, on each of
//! seeds 42, 7 and 1234 (the seed moves the ghost's fingerprints). A guard against
//! regressions such as plain S3-FIFO's 0% on loop and scan (every newcomer to small,
//! and a ghost bounded by main's count). Skipped, with the reason printed, when
//! `shared/traces` is not beside the repository.

use std::collections::HashMap;

use polycache_sim::reference::parse_table;
use polycache_sim::run::{Kind, run};
use polycache_sim::trace::{self, Trace};

const SEEDS: [u64; 3] = [42, 7, 1234];

/// Cells that meet the bar on all three seeds.
const MET: &[(&str, u64)] = &[
    ("oltp", 1000),
    ("oltp", 2000),
    ("oltp", 5000),
    ("oltp", 10000),
    ("p3", 8192),
    ("p3", 131072),
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

#[test]
fn s3fifo_keeps_its_cells() {
    let Some(dir) = trace::shared_dir() else {
        println!("skipped: ../shared/traces not found beside the repository");
        return;
    };
    let rows = parse_table(&std::fs::read_to_string(dir.join("README.md")).unwrap());
    let mut traces: HashMap<&str, Trace> = HashMap::new();
    let mut failures = Vec::new();
    for &(name, cap) in MET {
        let t = traces.entry(name).or_insert_with(|| {
            trace::read(
                &trace::file_in(&dir, name).expect("trace file named in the table"),
                None,
                |_| {},
            )
            .unwrap()
        });
        let row = rows
            .iter()
            .find(|r| r.trace == name && r.capacity == cap)
            .unwrap_or_else(|| panic!("{name}@{cap} not in the README table"));
        let bar = row.best_peer() - 0.5;
        for seed in SEEDS {
            let hit = run(Kind::S3Fifo, cap, t, seed, None).unwrap().hit_ratio();
            println!("{name}@{cap} seed {seed}: {hit:.2} (bar {bar:.2})");
            if hit < bar {
                failures.push(format!("{name}@{cap} seed {seed}: {hit:.2} < {bar:.2}"));
            }
        }
    }
    assert!(failures.is_empty(), "under the bar: {failures:#?}");
}
