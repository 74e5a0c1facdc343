//! Drives `S3Fifo` with a manual clock against the reference model of
//! `policies/tests/model`: same answers, same evictions, `validate()` after every step.
#![no_main]

#[path = "../../policies/tests/model/mod.rs"]
mod model;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (capacity, ops) = model::decode(data);
    // Small's share from the capacity byte: the default 3%, the paper's 10%, or half.
    let percent = [3, 10, 50][capacity as usize % 3];
    model::run(model::Kind::S3Fifo(percent), capacity, &ops);
});
