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

/// The keys `0, 1, 2, ...` that `s` routes to `shard`, in order.
fn keys_in<V, P: Policy<u32, V>>(
    s: &Sharded<u32, V, P>,
    shard: usize,
) -> impl Iterator<Item = u32> + use<V, P> {
    let sel = s.selector().clone();
    (0u32..).filter(move |k| sel.shard_of(sel.hash(k)) == shard)
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
    let zero: Vec<u32> = keys_in(&s, 0).take(600).collect();
    let one: Vec<u32> = keys_in(&s, 1).take(600).collect();
    for &k in &zero {
        s.insert(k, k, None).unwrap();
    }
    // 1024 / 16 = 64 in reserve, 480 guaranteed to each shard. Shard 0 borrowed the
    // whole reserve (480 + 64) and evicted the rest.
    assert_eq!(s.shard_capacities_now(), [544, 480]);
    assert_eq!((s.len(), s.reserve_free()), (544, 0));
    for &k in &one[..500] {
        s.insert(k, k, None).unwrap();
    }
    assert_eq!(s.shard_capacities_now(), [544, 480], "nothing to borrow");
    for &k in &zero[..] {
        s.remove(&k);
    }
    s.insert(zero[0], 0, None).unwrap();
    // Under its guarantee: all it borrowed went back.
    let now = s.shard_capacities_now();
    assert_eq!(now[0], 480, "never under its guarantee");
    assert_eq!(s.reserve_free(), 64);
    for &k in &one[500..] {
        s.insert(k, k, None).unwrap();
    }
    assert_eq!(s.shard_capacities_now(), [480, 544]);
    assert_eq!(s.len(), 1 + 544);
    s.validate().unwrap();
}

/// A shard gives back all it borrowed once it is under its guarantee by the margin (a
/// chunk, 2 here, as the entries weigh 1), keeping a chunk free: its capacity is its
/// guarantee again. One entry short of the margin, it keeps what it borrowed.
#[test]
fn a_shard_under_its_guarantee_by_the_margin_gives_all_back() {
    let s = lru(1024, 2, 1);
    let zero: Vec<u32> = keys_in(&s, 0).take(546).collect();
    for &k in &zero[..544] {
        s.insert(k, k, None).unwrap();
    }
    assert_eq!((s.shard_capacities_now()[0], s.reserve_free()), (544, 0));
    for k in &zero[..65] {
        s.remove(k);
    }
    s.insert(zero[544], 0, None).unwrap(); // 479 held before: within the margin
    assert_eq!((s.shard_capacities_now()[0], s.reserve_free()), (544, 0));
    for k in &zero[65..67] {
        s.remove(k);
    }
    s.insert(zero[545], 0, None).unwrap(); // 478 held before: 2 under
    assert_eq!((s.shard_capacities_now()[0], s.reserve_free()), (480, 64));
    assert_eq!(s.len(), 479);
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

mod model {
    //! `Sharded<Lru>` with a reserve against a reference model: each shard an LRU list
    //! with its own capacity, and the reserve's rule written out plainly (borrow a chunk
    //! when less than one is free; give back all that was borrowed when under the
    //! guarantee, keeping a chunk free). Contents, every reported departure and every
    //! shard's capacity must match exactly after each step.

    use super::lru;
    use polycache::sharded::reserve_for;
    use polycache::{EvictionCause, Evictions};
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u32, u32),
        Remove(u32),
        /// Removes keys `start..start + len`: shards fall under their guarantee.
        RemoveRange(u32, u32),
        Get(u32),
        Clear,
    }

    struct Shard {
        /// Least recent first.
        lru: Vec<(u32, u32)>,
        cap: u64,
        guaranteed: u64,
    }

    struct Model {
        shards: Vec<Shard>,
        pool: u64,
        chunk: u64,
    }

    impl Model {
        fn new(guaranteed: &[u64], reserve: u64) -> Self {
            let shards = guaranteed
                .iter()
                .map(|&g| Shard {
                    lru: Vec::new(),
                    cap: g,
                    guaranteed: g,
                })
                .collect::<Vec<_>>();
            let chunk = (reserve / (16 * shards.len() as u64)).max(1);
            Model {
                shards,
                pool: reserve,
                chunk,
            }
        }

        /// Removes `k` from shard `s`, returning its value.
        fn remove(&mut self, s: usize, k: u32) -> Option<u32> {
            let lru = &mut self.shards[s].lru;
            lru.iter().position(|e| e.0 == k).map(|i| lru.remove(i).1)
        }

        fn insert(&mut self, s: usize, k: u32, v: u32) -> Vec<(u32, u32, EvictionCause)> {
            let chunk = self.chunk;
            let sh = &mut self.shards[s];
            let len = sh.lru.len() as u64;
            if sh.cap - len < chunk {
                let got = self.pool.min(chunk);
                sh.cap += got;
                self.pool -= got;
            } else if sh.cap > sh.guaranteed && len < sh.guaranteed {
                let keep = sh.guaranteed.max(len + chunk).min(sh.cap);
                self.pool += sh.cap - keep;
                sh.cap = keep;
            }
            let mut out = Vec::new();
            if let Some(i) = sh.lru.iter().position(|e| e.0 == k) {
                let (_, old) = sh.lru.remove(i);
                out.push((k, old, EvictionCause::Replaced));
            } else if sh.lru.len() as u64 == sh.cap {
                let (ek, ev) = sh.lru.remove(0);
                out.push((ek, ev, EvictionCause::Capacity));
            }
            sh.lru.push((k, v));
            out
        }
    }

    fn op(keys: u32) -> impl Strategy<Value = Op> {
        prop_oneof![
            // A clear every thousand steps or so: the cache fills between them.
            600 => (0..keys, any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
            150 => (0..keys).prop_map(Op::Remove),
            3 => (0..keys, 0..keys / 3).prop_map(|(start, len)| Op::RemoveRange(start, len)),
            250 => (0..keys).prop_map(Op::Get),
            1 => Just(Op::Clear),
        ]
    }

    fn case() -> impl Strategy<Value = (u64, u64, Vec<Op>)> {
        (128u64..700, any::<u64>()).prop_flat_map(|(capacity, seed)| {
            let keys = (capacity * 5 / 4) as u32;
            (
                Just(capacity),
                Just(seed),
                proptest::collection::vec(op(keys), 0..(capacity as usize * 6)),
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn sharded_lru_with_a_reserve_matches_the_model((capacity, seed, ops) in case()) {
            let s = lru(capacity, 2, seed);
            prop_assert!(reserve_for(capacity, 2) > 0);
            let mut m = Model::new(&s.shard_capacities(), s.reserve());
            let sel = s.selector().clone();
            for (step, op) in ops.into_iter().enumerate() {
                match op {
                    Op::Insert(k, v) => {
                        let got: Evictions<u32, u32> = s.insert(k, v, None).unwrap();
                        let got: Vec<_> = got.into_iter().map(|e| (e.key, e.value, e.cause)).collect();
                        let want = m.insert(sel.shard_of(sel.hash(&k)), k, v);
                        prop_assert_eq!(got, want, "step {}", step);
                    }
                    Op::Remove(k) => {
                        let want = m.remove(sel.shard_of(sel.hash(&k)), k);
                        prop_assert_eq!(s.remove(&k).map(|e| e.value), want, "step {}", step);
                    }
                    Op::RemoveRange(start, len) => {
                        for k in start..start + len {
                            let want = m.remove(sel.shard_of(sel.hash(&k)), k);
                            prop_assert_eq!(s.remove(&k).map(|e| e.value), want, "step {}", step);
                        }
                    }
                    Op::Get(k) => {
                        let sh = &mut m.shards[sel.shard_of(sel.hash(&k))];
                        let want = sh.lru.iter().position(|e| e.0 == k).map(|i| {
                            let e = sh.lru.remove(i);
                            sh.lru.push(e);
                            e.1
                        });
                        prop_assert_eq!(s.get_with(&k, |v| *v), want, "step {}", step);
                    }
                    Op::Clear => {
                        s.clear();
                        m.shards.iter_mut().for_each(|sh| sh.lru.clear());
                    }
                }
                let caps: Vec<u64> = m.shards.iter().map(|sh| sh.cap).collect();
                prop_assert_eq!(s.shard_capacities_now(), caps, "step {}", step);
                prop_assert_eq!(s.reserve_free(), m.pool, "step {}", step);
                prop_assert_eq!(s.len(), m.shards.iter().map(|sh| sh.lru.len()).sum::<usize>());
            }
            s.validate().map_err(TestCaseError::fail)?;
        }
    }
}

mod stubborn {
    //! A policy of one's own that refuses resizes (the trait's provided
    //! `set_capacity_into`), or grows but never shrinks: the reserve must neither lose
    //! nor create capacity with it.

    use std::borrow::Borrow;
    use std::hash::Hash;
    use std::time::Duration;

    use polycache::policies::TtlError;
    use polycache::{
        ConfigError, Evicted, Evictions, InsertError, Lru, Policy, ShardSelector, Sharded,
    };

    struct Stubborn {
        inner: Lru<u32, u32, polycache::UnitWeigher, ahash::RandomState>,
        grows: bool,
    }

    impl Policy<u32, u32> for Stubborn {
        fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64
        where
            u32: Borrow<Q>,
        {
            self.inner.hash(key)
        }
        fn get_hashed<Q: Eq + ?Sized>(&mut self, hash: u64, key: &Q) -> Option<&u32>
        where
            u32: Borrow<Q>,
        {
            self.inner.get_hashed(hash, key)
        }
        fn get_mut_hashed<Q: Eq + ?Sized>(&mut self, hash: u64, key: &Q) -> Option<&mut u32>
        where
            u32: Borrow<Q>,
        {
            self.inner.get_mut_hashed(hash, key)
        }
        fn peek_hashed<Q: Eq + ?Sized>(&self, hash: u64, key: &Q) -> Option<&u32>
        where
            u32: Borrow<Q>,
        {
            self.inner.peek_hashed(hash, key)
        }
        fn insert_hashed_into(
            &mut self,
            hash: u64,
            key: u32,
            value: u32,
            ttl: Option<Duration>,
            out: &mut Evictions<u32, u32>,
        ) -> Result<(), InsertError<u32, u32>> {
            self.inner.insert_hashed_into(hash, key, value, ttl, out)
        }
        fn remove_hashed<Q: Eq + ?Sized>(&mut self, hash: u64, key: &Q) -> Option<Evicted<u32, u32>>
        where
            u32: Borrow<Q>,
        {
            self.inner.remove_hashed(hash, key)
        }
        fn ttl_hashed<Q: Eq + ?Sized>(&self, hash: u64, key: &Q) -> Option<Option<Duration>>
        where
            u32: Borrow<Q>,
        {
            self.inner.ttl_hashed(hash, key)
        }
        fn set_ttl_hashed<Q: Eq + ?Sized>(
            &mut self,
            hash: u64,
            key: &Q,
            ttl: Option<Duration>,
        ) -> Result<bool, TtlError>
        where
            u32: Borrow<Q>,
        {
            self.inner.set_ttl_hashed(hash, key, ttl)
        }
        fn purge_expired(&mut self) -> Evictions<u32, u32> {
            self.inner.purge_expired()
        }
        fn retain<F: FnMut(&u32, &mut u32) -> bool>(&mut self, keep: F) -> Evictions<u32, u32> {
            self.inner.retain(keep)
        }
        fn len(&self) -> usize {
            self.inner.len()
        }
        fn weight(&self) -> u64 {
            self.inner.weight()
        }
        fn capacity(&self) -> u64 {
            self.inner.capacity()
        }
        fn set_capacity_into(
            &mut self,
            capacity: u64,
            out: &mut Evictions<u32, u32>,
        ) -> Result<(), ConfigError> {
            if self.grows && capacity > self.inner.capacity() {
                self.inner.set_capacity_into(capacity, out)
            } else {
                Err(ConfigError::Invalid {
                    name: "capacity",
                    reason: "stubborn",
                })
            }
        }
        fn clear(&mut self) {
            self.inner.clear()
        }
        fn iter<'a>(&'a self) -> impl Iterator<Item = (&'a u32, &'a u32)>
        where
            u32: 'a,
        {
            self.inner.iter()
        }
        fn validate(&self) -> Result<(), String> {
            self.inner.validate()
        }
    }

    #[test]
    fn a_policy_that_refuses_resizes_loses_and_creates_no_capacity() {
        for grows in [false, true] {
            let sel = ShardSelector::with_seed(2, 1).unwrap();
            let s: Sharded<u32, u32, Stubborn> = Sharded::new(1024, sel, |c, h| {
                Ok(Stubborn {
                    inner: Lru::builder(c).hasher(h).build()?,
                    grows,
                })
            })
            .unwrap();
            for round in 0..3u32 {
                for k in 0..1500 {
                    s.insert(k + round * 7, k, None).unwrap();
                }
                // Under the guarantee: a grown shard would give back (and cannot).
                for k in 0..1400 {
                    s.remove(&(k + round * 7));
                }
                s.validate()
                    .unwrap_or_else(|e| panic!("grows {grows}: {e}"));
                assert!(s.weight() <= 1024);
            }
            let caps = s.shard_capacities_now();
            assert_eq!(caps.iter().sum::<u64>() + s.reserve_free(), 1024);
            if !grows {
                assert_eq!((caps, s.reserve_free()), (vec![480, 480], 64));
            }
        }
    }
}

/// An entry heavier than the guarantee borrows nothing and sets no give-back margin:
/// after one is refused (even one weighing `u64::MAX`), the shard still gives back what
/// it borrowed once its weight falls under its guarantee.
#[test]
fn a_refused_heavy_entry_leaves_the_reserve_alone() {
    type Weighed = Lru<u32, u64, fn(&u32, &u64) -> u64, ahash::RandomState>;
    let sel = ShardSelector::with_seed(2, 1).unwrap();
    let s: Sharded<u32, u64, Weighed> = Sharded::new(1024, sel, |c, h| {
        Lru::builder(c)
            .weigher((|_: &u32, v: &u64| *v) as fn(&u32, &u64) -> u64)
            .hasher(h)
            .build()
    })
    .unwrap();
    let zero: Vec<u32> = keys_in(&s, 0).take(503).collect();
    for &k in &zero[..500] {
        s.insert(k, 1, None).unwrap();
    }
    let borrowed = s.shard_capacities_now()[0];
    assert!(borrowed >= 500 && s.reserve_free() == 1024 - 480 - borrowed);
    for heavy in [600, u64::MAX] {
        assert!(s.insert(zero[500], heavy, None).is_err());
        assert_eq!(s.shard_capacities_now()[0], borrowed, "borrowed nothing");
    }
    for k in &zero[..100] {
        s.remove(k);
    }
    s.insert(zero[501], 1, None).unwrap();
    assert_eq!((s.shard_capacities_now()[0], s.reserve_free()), (480, 64));
    s.validate().unwrap();
}
