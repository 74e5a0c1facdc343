//! A question-answer cache in front of a (stand-in) LLM, one scope per tenant.
//!
//! Questions are embedded (here: the MiniLM vectors of `../shared/embeddings` when the
//! fixture is there, seeded random vectors otherwise); an answer is cached with its
//! question's vector, in the asking tenant's scope, with a TTL and the question's topic
//! as governance metadata. A new question close enough to a cached one, in the same
//! tenant, on the same topic, gets the cached answer; otherwise the LLM is asked.
//!
//! ```text
//! cargo run --release --example semantic_qa
//! ```

use std::cell::Cell;
use std::path::Path;
use std::time::Duration;

use polycache::semantic::{Insert, Search, SemanticCache};

const THRESHOLD: f32 = 0.8;

struct Question {
    topic: u32,
    kind: String,
    text: String,
    vector: Vec<f32>,
}

/// The fixture's questions, or seeded stand-ins (a base per topic, two paraphrases
/// near it, one flip a bit further).
fn questions() -> (Vec<Question>, &'static str) {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/embeddings"));
    if let (Ok(tsv), Ok(raw)) = (
        std::fs::read_to_string(dir.join("questions.tsv")),
        std::fs::read(dir.join("questions.minilm.f32")),
    ) {
        let floats: Vec<f32> = raw
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let qs = tsv
            .lines()
            .zip(floats.chunks_exact(384))
            .map(|(line, v)| {
                let f: Vec<&str> = line.split('\t').collect();
                Question {
                    topic: f[0].parse().unwrap_or(0),
                    kind: f[1].to_string(),
                    text: f[2].to_string(),
                    vector: v.to_vec(),
                }
            })
            .collect();
        return (qs, "MiniLM fixture");
    }
    let mut seed = 42u64;
    let mut noise = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let mut qs = Vec::new();
    for topic in 1..=10 {
        let base: Vec<f32> = (0..64).map(|_| noise()).collect();
        for (kind, spread) in [("base", 0.0), ("para", 0.08), ("para", 0.08), ("flip", 0.5)] {
            let vector = base.iter().map(|x| x + spread * noise()).collect();
            let text = format!("topic {topic} {kind}");
            qs.push(Question {
                topic,
                kind: kind.into(),
                text,
                vector,
            });
        }
    }
    (qs, "seeded vectors")
}

fn main() {
    let (questions, source) = questions();
    let llm_calls = Cell::new(0);
    let llm = |q: &str| {
        llm_calls.set(llm_calls.get() + 1);
        format!("(LLM answer to {q:?})")
    };
    let cache = SemanticCache::<String, String>::builder(10_000)
        .build()
        .unwrap();

    // Answers a tenant's question: cache first, LLM on a miss.
    let ask = |tenant: &str, q: &Question| -> (String, bool) {
        let topic = q.topic.to_le_bytes();
        let search = Search::new(THRESHOLD).scope(tenant);
        let hit = cache
            .search_approved(&q.vector, &search, |m| m == Some(&topic[..]))
            .unwrap()
            .into_iter()
            .next();
        if let Some(hit) = hit {
            return (hit.value, true);
        }
        let answer = llm(&q.text);
        let opts = Insert::new()
            .scope(tenant)
            .ttl(Duration::from_secs(3600))
            .metadata(topic.to_vec());
        let key = format!("{tenant}/{}", q.text);
        cache
            .insert_semantic_with(key, answer.clone(), &q.vector, &opts)
            .unwrap();
        (answer, false)
    };

    println!(
        "{} questions ({source}), threshold {THRESHOLD}",
        questions.len()
    );
    for q in questions.iter().filter(|q| q.kind == "base") {
        ask("acme", q);
    }
    let warm = llm_calls.get();
    let (mut served, mut asked) = (0, 0);
    for q in questions.iter().filter(|q| q.kind == "para") {
        let (_, hit) = ask("acme", q);
        if hit { served += 1 } else { asked += 1 }
    }
    println!("acme: {warm} base questions sent to the LLM");
    println!("acme: paraphrases served from the cache: {served}, sent to the LLM: {asked}");
    let mut flips_served = 0;
    for q in questions.iter().filter(|q| q.kind == "flip") {
        if ask("acme", q).1 {
            flips_served += 1;
        }
    }
    println!(
        "acme: flips served from the cache (wrong answers a threshold alone lets through): {flips_served}"
    );
    // Another tenant never sees acme's answers, however close the question.
    let before = llm_calls.get();
    let base = questions.iter().find(|q| q.kind == "base").unwrap();
    let (answer, hit) = ask("globex", base);
    assert!(!hit);
    println!(
        "globex asks acme's first question: {answer} (LLM called: {})",
        llm_calls.get() > before
    );
    println!(
        "LLM calls in all: {}; query cache: {:?}",
        llm_calls.get(),
        cache.query_cache_stats()
    );
}
