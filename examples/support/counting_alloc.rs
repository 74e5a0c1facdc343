//! A global allocator that counts the live heap bytes and allocations and forwards
//! everything to `System`; shared by `examples/memory.rs` and the side-by-side
//! `benches/compare/src/bin/memory.rs` (each includes this file with `#[path]`), so
//! that both count alike.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Live heap bytes (as asked for; the allocator's own overhead is not counted).
pub(crate) static BYTES: AtomicUsize = AtomicUsize::new(0);
/// Live allocations.
pub(crate) static ALLOCS: AtomicUsize = AtomicUsize::new(0);

/// The counting allocator; install it with `#[global_allocator]`.
pub(crate) struct Counting;

/// `(live bytes, live allocations)` now.
pub(crate) fn live() -> (usize, usize) {
    (BYTES.load(Relaxed), ALLOCS.load(Relaxed))
}

// The allocator only counts and forwards to `System`; no `unsafe` code of ours runs
// beyond the trait's required signatures, which `System` implements.
#[allow(unsafe_code)]
// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// `System`'s guarantees hold; the counters are plain atomics and never touch memory
// the allocator hands out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        BYTES.fetch_add(layout.size(), Relaxed);
        ALLOCS.fetch_add(1, Relaxed);
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        BYTES.fetch_add(layout.size(), Relaxed);
        ALLOCS.fetch_add(1, Relaxed);
        // SAFETY: forwarded unchanged; the caller upholds `alloc_zeroed`'s contract.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        BYTES.fetch_sub(layout.size(), Relaxed);
        ALLOCS.fetch_sub(1, Relaxed);
        // SAFETY: forwarded unchanged; `ptr` came from this allocator with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        BYTES.fetch_add(new_size, Relaxed);
        BYTES.fetch_sub(layout.size(), Relaxed);
        // SAFETY: forwarded unchanged; the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
