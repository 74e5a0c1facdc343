//! Drives `TinyLfu` with a manual clock against the contents model of
//! `policies/tests/tinylfu_support`: values, departures, weights, segment accounting,
//! `validate()` after every step.
#![no_main]

#[path = "../../policies/tests/tinylfu_support/mod.rs"]
mod tinylfu_support;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (capacity, seed, ops) = tinylfu_support::decode(data);
    tinylfu_support::run(capacity, seed, &ops);
});
