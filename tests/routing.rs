//! Routing: keys that land in one shard still spread evenly over that shard's hash
//! table, because the shard index uses bits that hashbrown uses for neither the bucket
//! (low bits) nor the control tag (top 7 bits).

use polycache::{Cache, Policy, ShardSelector};

/// Pearson's chi-square of `counts` against a uniform distribution.
fn chi_square(counts: &[u64]) -> f64 {
    let total: u64 = counts.iter().sum();
    let expected = total as f64 / counts.len() as f64;
    counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum()
}

/// A generous bound: the mean of chi-square is df, its standard deviation sqrt(2 df);
/// 6 deviations above the mean.
fn bound(buckets: usize) -> f64 {
    let df = (buckets - 1) as f64;
    df + 6.0 * (2.0 * df).sqrt()
}

/// The hashes of the keys that `route` sends to `shard`.
fn routed(sel: &ShardSelector, route: impl Fn(u64) -> usize, shard: usize) -> Vec<u64> {
    (0..1_600_000u64)
        .map(|k| sel.hash(&k))
        .filter(|&h| route(h) == shard)
        .collect()
}

fn bucket_counts(hashes: &[u64], buckets: usize, of: impl Fn(u64) -> usize) -> Vec<u64> {
    let mut counts = vec![0u64; buckets];
    for &h in hashes {
        counts[of(h) % buckets] += 1;
    }
    counts
}

#[test]
fn keys_of_one_shard_spread_over_buckets_and_tags() {
    for shards in [2usize, 8, 64] {
        let sel = ShardSelector::with_seed(shards, 11).unwrap();
        let shard = shards - 1;
        let hashes = routed(&sel, |h| sel.shard_of(h), shard);
        let share = hashes.len() as f64 / 1_600_000.0;
        assert!(
            (share - 1.0 / shards as f64).abs() < 0.2 / shards as f64,
            "{shards} shards: shard {shard} got {share}"
        );
        // Bucket index of a 1024-bucket table: the low 10 bits.
        let low = chi_square(&bucket_counts(&hashes, 1024, |h| (h & 1023) as usize));
        assert!(low < bound(1024), "{shards} shards: low bits chi2 {low}");
        // hashbrown's control tag: the top 7 bits.
        let tag = chi_square(&bucket_counts(&hashes, 128, |h| (h >> 57) as usize));
        assert!(tag < bound(128), "{shards} shards: tag bits chi2 {tag}");
    }
}

/// The same statistic catches a router that shares the table's bits: routing on the low
/// bits leaves most buckets of a shard's table empty.
#[test]
fn the_check_catches_a_router_on_shared_bits() {
    let sel = ShardSelector::with_seed(8, 11).unwrap();
    let hashes = routed(&sel, |h| (h & 7) as usize, 5);
    let low = chi_square(&bucket_counts(&hashes, 1024, |h| (h & 1023) as usize));
    assert!(low > 10.0 * bound(1024), "low-bit router not caught: {low}");
    let hashes = routed(&sel, |h| (h >> 61) as usize, 5);
    let tag = chi_square(&bucket_counts(&hashes, 128, |h| (h >> 57) as usize));
    assert!(tag > 10.0 * bound(128), "tag-bit router not caught: {tag}");
}

/// A key lives in the shard its hash routes to, and the policy hashes it exactly as the
/// selector does (one hash per operation).
#[test]
fn cache_stores_each_key_where_it_routes() {
    let cache = Cache::<u64, u64>::builder(1 << 16)
        .shards(16)
        .seed(3)
        .build()
        .unwrap();
    for k in 0..20_000 {
        cache.insert(k, k).unwrap();
    }
    cache.validate().unwrap();
    let sel = cache.selector().clone();
    let probe = polycache::Lru::<u64, u64>::builder(1)
        .hasher(sel.hasher().clone())
        .build()
        .unwrap();
    for k in [0u64, 1, 99, u64::MAX] {
        assert_eq!(probe.hash(&k), sel.hash(&k));
    }
    // Shards fill evenly too.
    let mut per_shard = vec![0u64; 16];
    for (k, _) in cache.iter() {
        per_shard[sel.shard_of(sel.hash(&k))] += 1;
    }
    assert!(chi_square(&per_shard) < bound(16), "{per_shard:?}");
}
