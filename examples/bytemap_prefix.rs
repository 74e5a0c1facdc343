//! Prefix groups: every key of `tenant:<id>:` lives in one shard; a tenant is
//! invalidated at once, and evicted as a whole.
//!
//! ```text
//! cargo run --example bytemap_prefix
//! ```

use polycache::bytemap::ByteMap;
use polycache::policies::PrefixOrder;

fn main() {
    let map = ByteMap::builder(1 << 20)
        .policy(PrefixOrder::default()) // group = up to and including the last ':'
        .shards(4)
        .build()
        .unwrap();
    for tenant in 0..3 {
        for item in 0..5 {
            let k = format!("tenant:{tenant}:{item}");
            map.insert_slice(k.as_bytes(), b"cached").unwrap();
        }
    }
    // One group, one shard.
    let shards: Vec<usize> = (0..5)
        .map(|i| map.route_key(format!("tenant:1:{i}").as_bytes()).shard())
        .collect();
    println!("tenant 1's keys live in shards {shards:?}");

    let removed = map.remove_prefix(b"tenant:1:");
    println!(
        "invalidated tenant 1: {removed} entries; {} left",
        map.len()
    );
    assert!(!map.contains_key(b"tenant:1:0"));
    assert!(map.contains_key(b"tenant:2:0"));
}
