//! ByteMap TTLs (milliseconds) and the byte budget.
//!
//! ```text
//! cargo run --example bytemap_ttl_budget
//! ```

use std::time::Duration;

use polycache::ManualClock;
use polycache::bytemap::{ByteMap, ByteMapError, ENTRY_OVERHEAD};

fn main() -> Result<(), ByteMapError> {
    // A manual clock makes the example deterministic; the default is the system clock.
    let clock = ManualClock::new();
    let map = ByteMap::builder(4096)
        .clock(clock.clone())
        .shards(1)
        .build()?;

    map.insert_with_ttl(b"session:1", b"token".to_vec(), 1_000)?; // 1 s
    map.insert_slice(b"config", b"v1")?; // no TTL
    map.expire(b"config", 5_000)?; // give it one
    println!("session ttl: {:?}", map.ttl(b"session:1"));

    clock.advance(Duration::from_millis(1_001));
    println!("after 1.001 s: session = {:?}", map.get_owned(b"session:1"));

    // A plain write clears the TTL, as Redis's SET does.
    map.insert_slice(b"config", b"v2")?;
    println!("config ttl after a plain write: {:?}", map.ttl(b"config"));

    // Bad input gets a typed error, never a panic.
    println!("ttl 0: {:?}", map.insert_with_ttl(b"x", b"y".to_vec(), 0));
    println!("too big: {:?}", map.insert_slice(b"big", &[0; 5000]));

    // The budget: each entry weighs key + value + ENTRY_OVERHEAD bytes; the map never
    // holds more than its budget (least recently used entries go first).
    for i in 0..100u32 {
        map.insert_slice(format!("item:{i}").as_bytes(), &[0; 100])?;
    }
    println!(
        "{} entries in {} of {} bytes (each weighs {} bytes)",
        map.len(),
        map.weight(),
        map.budget(),
        "item:99".len() as u64 + 100 + ENTRY_OVERHEAD
    );
    assert!(map.weight() <= map.budget());
    Ok(())
}
