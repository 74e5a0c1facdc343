//! Drives `ByteMap` (every policy, 1 to 4 shards, a budget for everything or a small
//! one, a manual clock) against the reference model of `tests/bytemap_support`: exact
//! answers, TTLs to the tick, every eviction reported and checked, the byte weight and
//! `validate()` after every step.
#![no_main]

#[path = "../../tests/bytemap_support/mod.rs"]
mod bytemap_support;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (config, ops) = bytemap_support::decode(data);
    bytemap_support::run(config, &ops);
});
