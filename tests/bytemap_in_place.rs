//! `ByteMap::insert_slice` overwrites a value in its own buffer when it may: same length,
//! no reader holding it, no eviction listener, at most `IN_PLACE_MAX_BYTES`. These tests
//! tell an in-place write from a new buffer by the value's address, and check that a
//! reader's handle never sees a write, and that TTL and statistics are those of any write.

use std::sync::{Arc, Mutex};

use polycache::bytemap::{ByteMap, BytePolicy, IN_PLACE_MAX_BYTES};
use polycache::{Clock, EvictionCause};

/// What the listener was told: key, value, cause.
type Reports = Arc<Mutex<Vec<(Vec<u8>, Vec<u8>, EvictionCause)>>>;

fn address<O: BytePolicy, C: Clock>(map: &ByteMap<O, C>, key: &[u8]) -> usize {
    map.get_with(key, |v| v.as_ptr() as usize)
        .expect("key present")
}

#[test]
fn same_length_unheld_values_are_overwritten_in_their_buffer() {
    let map = ByteMap::builder(1 << 20).build().unwrap();
    assert_eq!(map.insert_slice(b"k", &[1; 100]), Ok(false));
    let at = address(&map, b"k");
    assert_eq!(map.insert_slice(b"k", &[2; 100]), Ok(true));
    assert_eq!(address(&map, b"k"), at, "rewritten in place");
    // A value once handed out (and dropped) is still reused.
    drop(map.get_owned(b"k"));
    assert_eq!(map.insert_slice(b"k", &[3; 100]), Ok(true));
    assert_eq!(address(&map, b"k"), at);
    assert_eq!(map.get_owned(b"k").as_deref(), Some(&[3; 100][..]));

    // A handle a reader holds keeps its bytes: the write goes to a new buffer.
    let held = map.get_owned(b"k").unwrap();
    assert_eq!(map.insert_slice(b"k", &[4; 100]), Ok(true));
    assert_eq!(&held[..], &[3; 100][..]);
    assert_ne!(address(&map, b"k"), at);
    assert_eq!(map.get_owned(b"k").as_deref(), Some(&[4; 100][..]));

    // Another length: a new buffer, and the weight follows it.
    let before = map.weight();
    let at = address(&map, b"k");
    assert_eq!(map.insert_slice(b"k", &[5; 60]), Ok(true));
    assert_ne!(address(&map, b"k"), at);
    assert_eq!(map.weight(), before - 40);

    // Above the in-place limit: always a new buffer.
    let big = vec![6; IN_PLACE_MAX_BYTES + 1];
    map.insert_slice(b"big", &big).unwrap();
    let at = address(&map, b"big");
    assert_eq!(map.insert_slice(b"big", &big), Ok(true));
    assert_ne!(address(&map, b"big"), at);

    // Statistics count every write and every replacement, in place or not.
    let stats = map.stats();
    assert_eq!((stats.inserts, stats.replaced), (7, 5));
    map.validate().unwrap();
}

#[test]
fn an_in_place_write_clears_the_ttl_and_skips_expired_keys() {
    let clock = polycache::ManualClock::new();
    let map = ByteMap::builder(1 << 20)
        .clock(clock.clone())
        .build()
        .unwrap();
    map.insert_slice(b"k", &[1; 10]).unwrap();
    let at = address(&map, b"k");
    assert_eq!(map.expire(b"k", 50), Ok(true));
    assert_eq!(map.insert_slice(b"k", &[2; 10]), Ok(true));
    assert_eq!(address(&map, b"k"), at);
    assert_eq!(map.ttl(b"k"), Some(None), "a plain write clears the TTL");
    // An expired value is not replaced but written anew (and was not live).
    map.expire(b"k", 1).unwrap();
    clock.advance(std::time::Duration::from_millis(2));
    assert_eq!(map.insert_slice(b"k", &[3; 10]), Ok(false));
    assert_eq!(map.get_owned(b"k").as_deref(), Some(&[3; 10][..]));
    map.validate().unwrap();
}

#[test]
fn with_a_listener_the_replaced_value_is_reported_not_overwritten() {
    let seen: Reports = Arc::default();
    let sink = seen.clone();
    let map = ByteMap::builder(1 << 20)
        .eviction_listener(move |k: &[u8], v: &polycache::bytemap::Bytes, cause| {
            sink.lock().unwrap().push((k.to_vec(), v.to_vec(), cause));
        })
        .build()
        .unwrap();
    map.insert_slice(b"k", &[1; 100]).unwrap();
    let at = address(&map, b"k");
    assert_eq!(map.insert_slice(b"k", &[2; 100]), Ok(true));
    assert_ne!(address(&map, b"k"), at);
    assert_eq!(
        *seen.lock().unwrap(),
        vec![(b"k".to_vec(), vec![1; 100], EvictionCause::Replaced)]
    );
}
