//! Belady's clairvoyant policy with bypass: the ceiling no policy can beat.
//!
//! With every entry of size 1, evicting the entry whose next use is farthest is
//! optimal; with bypass, a newcomer whose own next use is farther than every cached
//! entry's (or that is never used again) is not admitted at all. Next uses are
//! precomputed in one backward pass; the cache is a `BTreeSet` keyed by next use, so a
//! request costs O(log capacity).

use std::collections::{BTreeSet, HashMap};

/// "Never used again".
const NEVER: usize = usize::MAX;

/// For each request, the index of the next request of the same key (`usize::MAX` if
/// none).
pub fn next_uses(keys: &[u64]) -> Vec<usize> {
    let mut next = vec![NEVER; keys.len()];
    let mut last: HashMap<u64, usize> = HashMap::with_capacity(keys.len() / 4);
    for (i, k) in keys.iter().enumerate().rev() {
        if let Some(j) = last.insert(*k, i) {
            next[i] = j;
        }
    }
    next
}

/// The number of hits of Belady's OPT with bypass on `keys` with room for `capacity`
/// entries, given `next` from [`next_uses`].
pub fn opt_hits(keys: &[u64], next: &[usize], capacity: usize) -> u64 {
    assert_eq!(keys.len(), next.len());
    if capacity == 0 {
        return 0;
    }
    // key -> its next use, for cached keys; the set orders them by next use.
    let mut cached: HashMap<u64, usize> = HashMap::with_capacity(capacity * 2);
    let mut by_next: BTreeSet<(usize, u64)> = BTreeSet::new();
    let mut hits = 0;
    for (i, (&k, &n)) in keys.iter().zip(next).enumerate() {
        if let Some(at) = cached.get_mut(&k) {
            // This request is `at` (== i): hit; the key's next use moves on.
            debug_assert_eq!(*at, i);
            hits += 1;
            by_next.remove(&(*at, k));
            if n == NEVER {
                cached.remove(&k);
            } else {
                *at = n;
                by_next.insert((n, k));
            }
            continue;
        }
        if n == NEVER {
            continue; // bypass: never used again
        }
        if cached.len() == capacity {
            let &(far, victim) = by_next.last().expect("full cache has a last entry");
            if far <= n {
                continue; // bypass: every cached entry is needed sooner
            }
            by_next.pop_last();
            cached.remove(&victim);
        }
        cached.insert(k, n);
        by_next.insert((n, k));
    }
    hits
}

/// Convenience: OPT's hit ratio on `keys` at `capacity`.
pub fn opt_hit_ratio(keys: &[u64], capacity: usize) -> f64 {
    if keys.is_empty() {
        return 0.0;
    }
    opt_hits(keys, &next_uses(keys), capacity) as f64 / keys.len() as f64
}
