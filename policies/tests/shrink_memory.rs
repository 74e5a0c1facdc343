//! A cache shrunk by a large factor gives its memory back: it holds about what a cache
//! built at the smaller capacity holds, not what it held at its peak. Heap bytes are
//! counted by the allocator the memory example uses. One test in this binary, so that
//! no other test allocates while it counts.

#[path = "../../examples/support/counting_alloc.rs"]
mod counting_alloc;

use polycache_policies::{Lfu, Lru, Policy, S3Fifo, TinyLfu};

#[global_allocator]
static ALLOC: counting_alloc::Counting = counting_alloc::Counting;

fn heap() -> usize {
    counting_alloc::live().0
}

/// Heap bytes a policy built by `make` holds with `n` entries inserted, or after
/// `shrink_from` entries were inserted and it was shrunk to `n` (then refilled to `n`
/// with fresh keys, so that both hold `n` entries).
fn held<P: Policy<u64, u64>>(make: &dyn Fn(u64) -> P, n: u64, shrink_from: Option<u64>) -> usize {
    let before = heap();
    let mut p = make(shrink_from.unwrap_or(n));
    for k in 0..shrink_from.unwrap_or(n) {
        p.insert(k, k).unwrap();
    }
    if shrink_from.is_some() {
        p.set_capacity(n).unwrap();
        for k in 0..n {
            p.insert(u64::MAX - k, k).unwrap();
        }
    }
    assert_eq!(p.len() as u64, n);
    p.validate().unwrap();
    let bytes = heap() - before;
    drop(p);
    bytes
}

fn check<P: Policy<u64, u64>>(name: &str, make: &dyn Fn(u64) -> P) {
    let fresh = held(make, 1_000, None);
    let shrunk = held(make, 1_000, Some(200_000));
    let peak = held(make, 200_000, None);
    println!(
        "{name}: fresh at 1,000 {fresh} B, shrunk from 200,000 {shrunk} B, at 200,000 {peak} B"
    );
    assert!(
        shrunk <= 2 * fresh,
        "{name}: shrunk to 1,000 it holds {shrunk} bytes, a fresh one {fresh} (at 200,000: {peak})"
    );
}

#[test]
fn a_large_shrink_gives_the_memory_back() {
    check("Lru", &|c| Lru::new(c).unwrap());
    check("Lfu", &|c| Lfu::new(c).unwrap());
    check("S3Fifo", &|c| S3Fifo::new(c).unwrap());
    check("TinyLfu", &|c| TinyLfu::new(c).unwrap());
}
