//! The atomics of the semantic cache: `std`'s, or loom's under `--cfg loom`, so that the
//! loom models see every load and store of the generation counters (the crate-wide
//! shim, `crate::sync`, wraps only locks).

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
