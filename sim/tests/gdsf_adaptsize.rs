//! `Gdsf` (GreedyDual-Size-Frequency) on the AdaptSize CDN trace, with a byte weigher:
//! its object hit ratio beats `Lru`'s at three budgets (1.5%, 6% and 24% of the trace's
//! distinct bytes). Prints object and byte hit ratios of Gdsf, Lru and TinyLfu.
//! Skipped, with the reason printed, when `shared/traces` is not beside the repository.

use polycache_sim::run::{Kind, run};
use polycache_sim::trace;

const BUDGETS: [u64; 3] = [4 << 20, 16 << 20, 64 << 20];

#[test]
fn sized_beats_lru_object_hit_ratio_on_adaptsize() {
    let Some(file) = trace::shared_dir().and_then(|d| trace::file_in(&d, "adaptsize")) else {
        println!("skipped: ../shared/traces/adaptsize.sized.gz not found beside the repository");
        return;
    };
    let t = trace::read(&file, None, |_| {}).unwrap();
    assert!(t.sizes.is_some(), "adaptsize is a sized trace");
    println!("| budget | policy | object hit % | byte hit % |");
    println!("|---|---|---|---|");
    let mut failures = Vec::new();
    for budget in BUDGETS {
        let mut object = [0.0; 3];
        for (i, kind) in [Kind::Gdsf, Kind::Lru, Kind::TinyLfu]
            .into_iter()
            .enumerate()
        {
            let o = run(kind, budget, &t, 42, None).unwrap();
            object[i] = o.hit_ratio();
            println!(
                "| {} MiB | {} | {:.2} | {:.2} |",
                budget >> 20,
                kind.label(),
                o.hit_ratio(),
                o.byte_hit_ratio()
            );
        }
        if object[0] <= object[1] {
            failures.push(format!(
                "{} MiB: Gdsf {:.2} <= Lru {:.2}",
                budget >> 20,
                object[0],
                object[1]
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}
