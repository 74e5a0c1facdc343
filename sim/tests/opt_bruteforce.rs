//! Belady's OPT with bypass against an exhaustive search on small random traces.

use polycache_sim::opt::{next_uses, opt_hits};

/// The most hits any policy can get: on each miss, try every choice (bypass, or admit
/// evicting any cached key, or admit into free room).
fn brute(keys: &[u64], capacity: usize, i: usize, cache: &mut Vec<u64>) -> u64 {
    let Some(&k) = keys.get(i) else { return 0 };
    if cache.contains(&k) {
        return 1 + brute(keys, capacity, i + 1, cache);
    }
    // Bypass.
    let mut best = brute(keys, capacity, i + 1, cache);
    if cache.len() < capacity {
        cache.push(k);
        best = best.max(brute(keys, capacity, i + 1, cache));
        cache.pop();
    } else {
        for j in 0..cache.len() {
            let old = std::mem::replace(&mut cache[j], k);
            best = best.max(brute(keys, capacity, i + 1, cache));
            cache[j] = old;
        }
    }
    best
}

#[test]
fn opt_matches_exhaustive_search() {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for case in 0..400 {
        let len = 1 + (next() % 13) as usize;
        let distinct = 1 + next() % 6;
        let capacity = 1 + (next() % 4) as usize;
        let keys: Vec<u64> = (0..len).map(|_| next() % distinct).collect();
        let want = brute(&keys, capacity, 0, &mut Vec::new());
        let got = opt_hits(&keys, &next_uses(&keys), capacity);
        assert_eq!(got, want, "case {case}: keys {keys:?} capacity {capacity}");
    }
}

#[test]
fn next_uses_point_at_the_next_request_of_the_key() {
    let keys = [1, 2, 1, 3, 2, 1];
    assert_eq!(
        next_uses(&keys),
        [2, 4, 5, usize::MAX, usize::MAX, usize::MAX]
    );
}
