//! Drives the semantic cache (1 or 2 shards, manual clock, query cache on or off)
//! against the brute-force model shared with the proptest suite
//! (`tests/semantic_support`): semantic and plain writes, removes, top-k searches with
//! and without a predicate, clock steps, purges, clears and bad input; every answer is
//! checked against the model, and `validate()` runs after every step.
#![no_main]

#[path = "../../tests/semantic_support/mod.rs"]
mod semantic_support;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (config, ops) = semantic_support::decode(data);
    if let Err(e) = semantic_support::run(&config, &ops) {
        panic!("{e}\nconfig {config:?}\nops {ops:#?}");
    }
});
