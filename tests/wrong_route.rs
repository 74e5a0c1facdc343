//! `Sharded`'s `*_routed` methods under a route that is not the key's: the entry may be
//! unreachable by its key, but nothing panics and, once it has been evicted, every
//! invariant holds. (A `Route` can no longer be forged with an arbitrary hash: its
//! fields are private, see the `compile_fail` example on `Route`.)

use polycache::{Lru, ShardSelector, Sharded};

#[test]
fn a_key_inserted_under_another_keys_route_is_evicted_cleanly() {
    let sel = ShardSelector::with_seed(1, 1).unwrap();
    let s: Sharded<Vec<u8>, u8, Lru<Vec<u8>, u8>> =
        Sharded::new(4, sel, |c, h| Lru::builder(c).hasher(h).build()).unwrap();
    s.insert(b"k".to_vec(), 1, None).unwrap();
    // "k" under the route of "other": stored beside "k"'s own entry.
    s.insert_routed(s.route(b"other"), b"k".to_vec(), 2, None)
        .unwrap();
    assert_eq!(s.len(), 2);
    assert!(s.validate_routed().is_err());
    assert_eq!(
        s.remove_routed(s.route(b"k"), b"k").map(|e| e.value),
        Some(1)
    );
    // Newcomers push the stray entry out (least recent), then come and go.
    for i in 0..50u8 {
        let k = vec![b'n', i];
        s.insert_routed(s.route(&k), k.clone(), i, None).unwrap();
        if i % 2 == 0 {
            assert!(s.remove_routed(s.route(&k), &k).is_some());
        }
    }
    assert_eq!(s.validate_routed(), Ok(()));
    assert_eq!(s.get_routed_with(s.route(b"k"), b"k", |v| *v), None);
}
