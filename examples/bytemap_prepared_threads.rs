//! Prepared keys across threads: hash a hot key once, then get/insert without hashing;
//! `route_key` to partition work by shard.
//!
//! ```text
//! cargo run --release --example bytemap_prepared_threads
//! ```

use polycache::bytemap::ByteMap;

fn main() {
    let map = ByteMap::builder(16 << 20).shards(8).build().unwrap();
    let hot: Vec<_> = (0..64)
        .map(|i| map.prepare_key(format!("hot:{i:04}").as_bytes()))
        .collect();

    std::thread::scope(|s| {
        for t in 0..4 {
            let (map, hot) = (map.clone(), &hot);
            s.spawn(move || {
                for round in 0..10_000usize {
                    let k = &hot[(round * 7 + t) % hot.len()];
                    if map.get_owned_prepared(k).is_none() {
                        map.insert_prepared(k, vec![t as u8; 100], None).unwrap();
                    }
                }
            });
        }
    });

    // Which shard owns which key: for callers who partition work by shard.
    let mut per_shard = vec![0; map.shard_count()];
    for k in &hot {
        assert_eq!(k.route(), map.route_key(k.key()));
        per_shard[k.shard()] += 1;
    }
    println!("hot keys per shard: {per_shard:?}");
    let s = map.stats();
    println!("hits {} misses {} entries {}", s.hits, s.misses, map.len());
}
