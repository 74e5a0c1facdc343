//! A `GroupRule` that panics leaves a `Prefix` policy as it was: the rule runs before
//! the core changes anything (`Order::before_insert`), never after the entry is in the
//! arena and the table.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};

use polycache_policies::{Evictions, Policy, Prefix, PrefixOrder};

/// Groups up to and including the first `/`; a key without one is refused (panics).
fn slash_rule(k: &[u8]) -> usize {
    k.iter().position(|&b| b == b'/').expect("key without '/'") + 1
}

#[test]
fn a_panicking_rule_on_a_new_key_leaves_the_policy_unchanged() {
    let mut c = Prefix::<Vec<u8>, u8>::builder(2)
        .order(PrefixOrder::with_rule(slash_rule))
        .build()
        .unwrap();
    c.insert(b"a/1".to_vec(), 1).unwrap();
    c.insert(b"b/1".to_vec(), 2).unwrap();
    // Full: had the rule run after the core made room, group "a/" would be gone.
    let r = catch_unwind(AssertUnwindSafe(|| c.insert(b"plain".to_vec(), 3)));
    assert!(r.is_err());
    c.validate().unwrap();
    assert_eq!(c.len(), 2);
    assert_eq!(c.order().group_count(), 2);
    assert_eq!(c.peek(b"a/1".as_slice()), Some(&1));
    assert_eq!(c.peek(b"b/1".as_slice()), Some(&2));
    assert!(!c.contains(b"plain".as_slice()));
    // Removal and eviction still work.
    assert_eq!(c.remove(b"a/1".as_slice()), Some(1));
    c.insert(b"c/1".to_vec(), 4).unwrap();
    let out = c.insert(b"d/1".to_vec(), 5).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].key, b"b/1".to_vec());
    c.validate().unwrap();
}

/// Panics on every key while set: a rule that stops agreeing with itself.
static REFUSE: AtomicBool = AtomicBool::new(false);

fn flaky_rule(k: &[u8]) -> usize {
    assert!(!REFUSE.load(Ordering::Relaxed), "rule refuses");
    k.iter().position(|&b| b == b'/').map_or(k.len(), |p| p + 1)
}

/// A replace that makes the entry heavier than the room left re-adds it to the order,
/// which runs the rule again: through `insert` (before the value is replaced) and
/// through `overwrite_hashed` (after `write`, before the weight changes), a panic there
/// leaves every invariant intact.
#[test]
fn a_panicking_rule_on_a_heavier_rewrite_keeps_every_invariant() {
    let mut c = Prefix::<Vec<u8>, Vec<u8>>::builder(10)
        .order(PrefixOrder::with_rule(flaky_rule))
        .weigher(|_: &Vec<u8>, v: &Vec<u8>| v.len() as u64)
        .build()
        .unwrap();
    c.insert(b"a/1".to_vec(), vec![0; 3]).unwrap();
    c.insert(b"b/1".to_vec(), vec![0; 3]).unwrap();
    REFUSE.store(true, Ordering::Relaxed);
    let r = catch_unwind(AssertUnwindSafe(|| c.insert(b"a/1".to_vec(), vec![1; 8])));
    REFUSE.store(false, Ordering::Relaxed); // `validate` runs the rule too
    assert!(r.is_err());
    c.validate().unwrap();
    assert_eq!(c.peek(b"a/1".as_slice()), Some(&vec![0; 3]));
    assert_eq!((c.len(), c.weight()), (2, 6));
    REFUSE.store(true, Ordering::Relaxed);
    let r = catch_unwind(AssertUnwindSafe(|| {
        let h = c.hash(b"b/1".as_slice());
        c.overwrite_hashed(h, b"b/1".as_slice(), &mut Evictions::new(), |v| {
            v.resize(8, 2);
            true
        })
    }));
    REFUSE.store(false, Ordering::Relaxed);
    assert!(r.is_err());
    c.validate().unwrap();
    // The write stays, at its old weight (as for a weigher that panics there).
    assert_eq!(
        c.peek(b"b/1".as_slice()),
        Some(&vec![0, 0, 0, 2, 2, 2, 2, 2])
    );
    assert_eq!((c.len(), c.weight()), (2, 6));
    assert!(c.remove(b"b/1".as_slice()).is_some());
    assert!(c.remove(b"a/1".as_slice()).is_some());
    c.validate().unwrap();
}
