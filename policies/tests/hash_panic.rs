//! A key whose `Hash` panics while an entry is removed leaves the cache as it was: the
//! core hashes every key it needs before it changes anything (`Core::detach`,
//! `Core::remove_at`). (A panic while the table grows is the documented exception: see
//! the core's panic-safety notes.)

use std::hash::{Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};

use polycache_policies::{Lru, Policy};

/// The key whose `Hash` panics (`u64::MAX`: none).
static BOMB: AtomicU64 = AtomicU64::new(u64::MAX);

#[derive(PartialEq, Eq, Clone, Debug)]
struct K(u64);

impl Hash for K {
    fn hash<H: Hasher>(&self, h: &mut H) {
        assert!(
            self.0 != BOMB.load(Ordering::SeqCst),
            "Hash of key {}",
            self.0
        );
        self.0.hash(h);
    }
}

#[test]
fn a_hash_that_panics_in_a_removal_changes_nothing() {
    let mut c = Lru::<K, u64>::new(10).unwrap();
    for k in 0..3 {
        c.insert(K(k), k).unwrap();
    }
    // The removed key's own hash (in `detach`), then the hash of the entry that moves
    // into its slot (key 2, the last one, in `remove_at`).
    for bomb in [0, 2] {
        let h = c.hash(&K(0));
        BOMB.store(bomb, Ordering::SeqCst);
        let r = catch_unwind(AssertUnwindSafe(|| c.remove_hashed(h, &K(0))));
        BOMB.store(u64::MAX, Ordering::SeqCst);
        assert!(r.is_err(), "bomb {bomb}: no panic");
        c.validate().unwrap();
        assert_eq!(c.len(), 3, "bomb {bomb}");
        for k in 0..3 {
            assert_eq!(c.peek(&K(k)), Some(&k), "bomb {bomb}");
        }
    }
    assert_eq!(c.remove(&K(0)), Some(0));
    c.validate().unwrap();
}
