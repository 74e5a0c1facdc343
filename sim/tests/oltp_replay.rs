//! Replays the OLTP trace (when `shared/traces` is beside the repository) and asserts
//! floors under TinyLfu's hit ratio, set about 2 points under the published adaptive
//! W-TinyLFU figures (the goal is 0.5 under; the simulator's `--traces` table
//! shows where we stand), and 2 points above LRU. Skipped, with the reason printed,
//! when the trace is absent (a fresh clone).

use std::path::PathBuf;

use polycache_sim::run::{Kind, run};
use polycache_sim::trace;

fn oltp_path() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/traces/oltp.arc.gz");
    p.exists().then_some(p)
}

#[test]
fn tinylfu_clears_the_floor_on_oltp() {
    let Some(path) = oltp_path() else {
        println!("skipped: ../shared/traces/oltp.arc.gz not found beside the repository");
        return;
    };
    let t = trace::read(&path, None, |_| {}).unwrap();
    assert_eq!(t.len(), 914_145, "the README's request count");
    // (capacity, published adaptive W-TinyLFU, our floor)
    for (cap, published, floor) in [(250, 24.88, 22.0), (1000, 40.01, 38.5), (2000, 46.09, 44.0)] {
        let tiny = run(Kind::TinyLfu, cap, &t, 42, None).unwrap().hit_ratio();
        let lru = run(Kind::Lru, cap, &t, 42, None).unwrap().hit_ratio();
        println!("oltp @{cap}: TinyLfu {tiny:.2}, Lru {lru:.2}, published {published}");
        assert!(
            tiny >= floor,
            "oltp @{cap}: {tiny:.2} under the floor {floor}"
        );
        assert!(
            tiny >= lru + 2.0,
            "oltp @{cap}: TinyLfu {tiny:.2} not 2 above Lru {lru:.2}"
        );
    }
}
