//! The semantic cache on real sentence embeddings: 120 MiniLM vectors of user questions
//! in 30 groups (`../shared/embeddings`: one base, two paraphrases, one "flip" that
//! reads alike but asks something else). Each base is cached; each paraphrase and flip
//! is a query. Skipped, with the reason printed, when the fixture is absent.
//!
//! Run 1 (cosine alone) and run 2 (governance metadata per group, and a predicate
//! approving only the query's own group) are tabulated at several thresholds; the
//! counts are asserted equal to an `f64` brute force over the same vectors, and
//! cross-group false hits are asserted zero in run 2. A flip served from its own
//! group's base is a false hit that no per-group metadata can catch: the table shows
//! how many there are at each threshold, honestly.
//!
//! ```text
//! cargo test --test semantic_embeddings -- --nocapture
//! ```

use std::path::Path;

use polycache::semantic::{Insert, SemanticCache};

const DIM: usize = 384;
const THRESHOLDS: [f32; 8] = [0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95];

struct Question {
    group: u32,
    kind: String,
    vector: Vec<f32>,
}

fn load() -> Option<Vec<Question>> {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/embeddings"));
    let tsv = std::fs::read_to_string(dir.join("questions.tsv")).ok()?;
    let raw = std::fs::read(dir.join("questions.minilm.f32")).ok()?;
    let floats: Vec<f32> = raw
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let lines: Vec<&str> = tsv.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(floats.len(), lines.len() * DIM, "fixture sizes disagree");
    Some(
        lines
            .iter()
            .zip(floats.chunks_exact(DIM))
            .map(|(line, v)| {
                let mut f = line.split('\t');
                Question {
                    group: f.next().unwrap().parse().unwrap(),
                    kind: f.next().unwrap().to_string(),
                    vector: v.to_vec(),
                }
            })
            .collect(),
    )
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let n = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (n(a) * n(b))
}

/// Hits of one kind of query at one threshold: served from the query's own group's
/// base, and served from another group's base.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counts {
    own: usize,
    cross: usize,
}

#[test]
fn real_embeddings_hits_and_false_hits() {
    let Some(questions) = load() else {
        println!("SKIPPED: ../shared/embeddings not found next to the repository");
        return;
    };
    let bases: Vec<&Question> = questions.iter().filter(|q| q.kind == "base").collect();
    let queries =
        |kind: &str| -> Vec<&Question> { questions.iter().filter(|q| q.kind == kind).collect() };
    let (paras, flips) = (queries("para"), queries("flip"));
    assert_eq!((bases.len(), paras.len(), flips.len()), (30, 60, 30));

    let cache = SemanticCache::<u32, String>::builder(1000).build().unwrap();
    for b in &bases {
        let group = b.group.to_string();
        let opts = Insert::new().metadata(group.as_bytes().to_vec());
        cache
            .insert_semantic_with(b.group, format!("answer {group}"), &b.vector, &opts)
            .unwrap();
    }
    cache.set_query_cache_enabled(false);

    // The cache's answers.
    let run = |qs: &[&Question], t: f32, governed: bool| -> Counts {
        let mut c = Counts::default();
        for q in qs {
            let own = q.group.to_string();
            let hit = if governed {
                cache
                    .semantic_search_approved(&q.vector, t, |m| m == Some(own.as_bytes()))
                    .unwrap()
            } else {
                cache.semantic_search(&q.vector, t).unwrap()
            };
            if let Some(h) = hit {
                assert!(h.score >= t);
                assert_eq!(h.value, format!("answer {}", h.key));
                if h.key == q.group {
                    c.own += 1;
                } else {
                    c.cross += 1;
                }
            }
        }
        c
    };
    // The same by brute force in f64.
    let brute = |qs: &[&Question], t: f32, governed: bool| -> Counts {
        let mut c = Counts::default();
        for q in qs {
            let best = bases
                .iter()
                .filter(|b| !governed || b.group == q.group)
                .map(|b| (cosine(&q.vector, &b.vector), b.group))
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .unwrap();
            if best.0 >= f64::from(t) {
                if best.1 == q.group {
                    c.own += 1;
                } else {
                    c.cross += 1;
                }
            }
        }
        c
    };
    // The comparison with brute force is meaningful only if no cosine sits within the
    // kernel's rounding of a threshold.
    for q in paras.iter().chain(&flips) {
        for b in &bases {
            let s = cosine(&q.vector, &b.vector);
            for t in THRESHOLDS {
                assert!(
                    (s - f64::from(t)).abs() > 1e-5,
                    "cosine {s} too close to {t}"
                );
            }
        }
    }

    println!();
    println!(
        "{} bases cached; {} paraphrase and {} flip queries",
        bases.len(),
        paras.len(),
        flips.len()
    );
    println!(
        "| threshold | para served own | para false (other group) | flip false (own group) | flip false (other group) | governed: para own | governed: false other group | governed: flip false (own group) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for t in THRESHOLDS {
        let (p, f) = (run(&paras, t, false), run(&flips, t, false));
        let (gp, gf) = (run(&paras, t, true), run(&flips, t, true));
        assert_eq!(p, brute(&paras, t, false), "paraphrases at {t}");
        assert_eq!(f, brute(&flips, t, false), "flips at {t}");
        assert_eq!(gp, brute(&paras, t, true), "governed paraphrases at {t}");
        assert_eq!(gf, brute(&flips, t, true), "governed flips at {t}");
        // Governance: nothing crosses groups.
        assert_eq!((gp.cross, gf.cross), (0, 0));
        // Governance never loses a paraphrase that cosine alone served from its group.
        assert!(gp.own >= p.own);
        println!(
            "| {t:.2} | {}/60 | {} | {}/30 | {} | {}/60 | {} | {}/30 |",
            p.own,
            p.cross,
            f.own,
            f.cross,
            gp.own,
            gp.cross + gf.cross,
            gf.own
        );
    }
    cache.validate().unwrap();
}
