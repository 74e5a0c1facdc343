//! The capacity reserve of a sharded cache (see `Sharded::reserve`): a shard that runs
//! out of room borrows from it, a shard with room to spare gives back, and the shards'
//! capacities and the free reserve always add up to the capacity.

use polycache::policies::TinyLfu;
use polycache::sharded::reserve_for;
use polycache::{Lru, Policy, ShardSelector, Sharded};
use rand::{Rng, SeedableRng, rngs::StdRng};

fn lru(capacity: u64, shards: usize, seed: u64) -> Sharded<u32, u32, Lru<u32, u32>> {
    let sel = ShardSelector::with_seed(shards, seed).unwrap();
    Sharded::new(capacity, sel, |c, h| Lru::builder(c).hasher(h).build()).unwrap()
}

/// How many of `keys` each shard of `s` gets.
fn per_shard<P: Policy<u32, u32>>(
    s: &Sharded<u32, u32, P>,
    keys: std::ops::Range<u32>,
) -> Vec<u64> {
    let sel = s.selector();
    let mut n = vec![0; sel.shards()];
    for k in keys {
        n[sel.shard_of(sel.hash(&k))] += 1;
    }
    n
}

/// A seed that puts more than half of `keys` keys in one of 2 shards, by `excess` or
/// more, but within what the reserve can cover.
fn uneven_seed(capacity: u64, keys: u32, excess: u64) -> u64 {
    (0..1000)
        .find(|&seed| {
            let n = per_shard(&lru(capacity, 2, seed), 0..keys);
            let fuller = n[0].max(n[1]);
            fuller >= capacity / 2 + excess
                && fuller <= (capacity - reserve_for(capacity, 2)) / 2 + reserve_for(capacity, 2)
        })
        .expect("some seed splits the keys unevenly")
}

/// 1,011 keys asked in a loop at 1,024 entries over 2 shards (the loop trace's
/// shape). With the even split, the shard that gets more than 512 keys loops and
/// misses every time; with the reserve, every key is held after the first pass.
#[test]
fn a_working_set_that_fits_the_cache_fits_its_shards() {
    let seed = uneven_seed(1024, 1011, 8);
    let s = lru(1024, 2, seed);
    let n = per_shard(&s, 0..1011);
    assert!(
        n.iter().any(|&k| k > 512),
        "{n:?}: the even split would loop"
    );
    for _ in 0..3 {
        for k in 0..1011 {
            if s.get_with(&k, |v| *v).is_none() {
                s.insert(k, k, None).unwrap();
            }
        }
    }
    assert_eq!(s.len(), 1011);
    let caps = s.shard_capacities_now();
    assert!(caps.iter().zip(&n).all(|(c, k)| c >= k), "{caps:?} {n:?}");
    s.validate().unwrap();

    // The same for TinyLfu, whose resize keeps what it learned.
    let sel = ShardSelector::with_seed(2, seed).unwrap();
    let t: Sharded<u32, u32, TinyLfu<u32, u32>> =
        Sharded::new(1024, sel, |c, h| TinyLfu::builder(c).hasher(h).build()).unwrap();
    let mut hits = 0;
    for pass in 0..20 {
        for k in 0..1011 {
            match t.get_with(&k, |v| *v) {
                Some(_) => hits += u32::from(pass > 0),
                None => {
                    t.insert(k, k, None).unwrap();
                }
            }
        }
    }
    // After warming up TinyLfu holds the whole loop; it may take a few passes to admit
    // the last keys of the fuller shard.
    assert!(hits >= 19 * 1011 - 2 * 1011, "hits {hits} of {}", 19 * 1011);
    t.validate().unwrap();
}

/// Room comes back: after the borrower loses most of its entries, its next insert gives
/// back what it does not use, and the other shard can borrow it.
#[test]
fn room_a_shard_no_longer_uses_goes_back_to_the_reserve() {
    let s = lru(1024, 2, 1);
    let sel = s.selector().clone();
    let of = |shard: usize| {
        let sel = sel.clone();
        (0u32..).filter(move |k| sel.shard_of(sel.hash(k)) == shard)
    };
    let zero: Vec<u32> = of(0).take(600).collect();
    let one: Vec<u32> = of(1).take(600).collect();
    for &k in &zero {
        s.insert(k, k, None).unwrap();
    }
    // Shard 0 borrowed the whole reserve (496 + 32) and evicted the rest.
    assert_eq!(s.shard_capacities_now(), [528, 496]);
    assert_eq!((s.len(), s.reserve_free()), (528, 0));
    for &k in &one[..500] {
        s.insert(k, k, None).unwrap();
    }
    assert_eq!(s.shard_capacities_now(), [528, 496], "nothing to borrow");
    for &k in &zero[..] {
        s.remove(&k);
    }
    s.insert(zero[0], 0, None).unwrap();
    // Under its guarantee: all it borrowed went back.
    let now = s.shard_capacities_now();
    assert_eq!(now[0], 496, "never under its guarantee");
    assert_eq!(s.reserve_free(), 32);
    for &k in &one[500..] {
        s.insert(k, k, None).unwrap();
    }
    assert_eq!(s.shard_capacities_now(), [496, 528]);
    assert_eq!(s.len(), 1 + 528);
    s.validate().unwrap();
}

/// Random inserts, removals and look-ups on caches with and without a reserve: after
/// every step the weight is within the capacity, and after each batch every shard
/// holds at least its guarantee, at most its capacity, and the capacities plus the free
/// reserve are the capacity.
#[test]
fn the_capacity_adds_up_under_random_churn() {
    for (capacity, shards) in [(1024, 2), (4096, 4), (300, 8), (100_000, 8)] {
        let s = lru(capacity, shards, 7);
        let mut rng = StdRng::seed_from_u64(capacity);
        let span = (capacity as u32) * 2;
        for batch in 0..20 {
            for _ in 0..2000 {
                let k = rng.random_range(0..span);
                match rng.random_range(0..10) {
                    0..=5 => {
                        s.insert(k, k, None).unwrap();
                    }
                    6..=7 => {
                        s.remove(&k);
                    }
                    _ => {
                        let _ = s.get_with(&k, |v| *v);
                    }
                }
                assert!(s.weight() <= capacity);
            }
            s.validate()
                .unwrap_or_else(|e| panic!("{capacity}/{shards}, batch {batch}: {e}"));
            let now: u64 = s.shard_capacities_now().iter().sum();
            assert_eq!(now + s.reserve_free(), capacity);
        }
    }
}
