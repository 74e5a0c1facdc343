//! [`StripedRwLock`]: a readers-writer lock whose readers write only their own stripe.
//!
//! A plain readers-writer lock counts its readers in one word. When two cores read at
//! once, every read lock and unlock writes that word, so its cache line moves from core
//! to core on every look-up: on this project's machine a warm, read-only workload ran
//! *slower* on two threads (about 30 M look-ups/s in all) than on one (about 62 M/s),
//! for `parking_lot::RwLock` as for quick_cache's shards (`cd benches/compare && cargo
//! run --release -- --only 4,5 --column 2,3`).
//!
//! Here the reader count is split into stripes, each alone on a 128-byte block (a pair
//! of lines the prefetcher fetches together). A thread always uses the same stripe
//! (threads are numbered as they first take such a lock, and thread `n` uses stripe `n
//! mod stripes`), so readers on different cores write different lines, and a read writes
//! nothing another reader reads. Each stripe also carries a caller's payload `S` (the
//! shard's hit and miss counters) that a read guard hands out, so that a look-up that
//! counts writes the one line its lock acquisition already owns. A writer pays for the
//! stripes: it claims every stripe and waits until none has a reader. With one stripe
//! the lock costs a writer what `parking_lot::RwLock` does (one read-modify-write to
//! lock, one to unlock); `Sharded` uses one stripe for policies whose hits take the lock
//! exclusively, and several only where look-ups share it.
//!
//! # Protocol
//!
//! A stripe's state is one `AtomicUsize`: the [`WRITER`] bit, the [`PARKED`] bit (a
//! thread may be asleep waiting for this stripe's `WRITER` to clear), and below them the
//! count of readers that hold (or are trying for) the lock through that stripe. Each
//! lock also has a `gate`, a mutex and a condition variable, used only to sleep.
//!
//! - **read**: `fetch_add(1, Acquire)` on the thread's stripe. If the value before had
//!   `WRITER`, undo it as an unlock does, wait until `WRITER` clears, and try again.
//! - **read unlock**: `fetch_sub(1, Release)` on the same stripe. If the value before
//!   had `WRITER` and a count of 1, this was the last reader a writer is draining: wake
//!   the gate's sleepers.
//! - **write**: claim stripe 0: a `compare_exchange` from 0 to `WRITER` (`Acquire`)
//!   when it is free and has no reader, else `fetch_or(WRITER, Acquire)`, which, if
//!   `WRITER` was already there (another writer holds the lock), waits until it clears
//!   and tries again. Then set `WRITER` on every other stripe (`fetch_add`, `Acquire`;
//!   the bit is clear there), and wait on each stripe whose count was not 0 until it
//!   is (`Acquire` loads).
//! - **write unlock**: clear `WRITER` (`fetch_sub`, `Release`) on every stripe after
//!   the first, last to first, and `PARKED` where it was set; then stripe 0, last: a
//!   `compare_exchange` from `WRITER` to 0 (`Release`), or, if a reader is backing off
//!   or asleep there, `fetch_and(!(WRITER | PARKED), Release)`. If any stripe had
//!   `PARKED`, wake the sleepers.
//! - **waiting** for a stripe's `WRITER` to clear (a reader, or a writer at stripe 0)
//!   spins a little, then takes the gate's mutex, sets `PARKED` with a `fetch_or` and,
//!   if that shows `WRITER` still set, sleeps on the condition variable; woken, it sets
//!   `PARKED` and checks again. **Waiting** for a count to drain (a writer) spins a
//!   little, then sleeps under the gate until a load shows the count at 0.
//!
//! # Invariants, and why they hold
//!
//! Every operation that changes a stripe is a read-modify-write, so one stripe's
//! operations are in one total order (its modification order) that every thread agrees
//! on. Nothing here relies on `SeqCst` (which loom does not model), so the loom model
//! below checks the protocol as it runs.
//!
//! - **A reader and a writer never overlap.** On the reader's stripe, the reader's
//!   increment is either before the writer's `fetch_or` (the writer then waits until the
//!   count is back to 0, so until the reader's `Release` decrement, which makes the
//!   reader's accesses happen before the writer's), or after it (the increment returns
//!   `WRITER` and the reader backs off without touching the value).
//! - **Two writers never overlap.** Stripe 0's `WRITER` bit is held by one writer at a
//!   time. A writer sets the other stripes' bits only while it holds stripe 0's and
//!   clears stripe 0's last, so the next writer, whose `fetch_or` reads that clear
//!   (`Acquire` from `Release`), finds the others clear and everything the last writer
//!   did visible.
//! - **A reader sees the last writer's value.** Its increment reads the writer's
//!   `Release` clear of that stripe, or a later read-modify-write in its release
//!   sequence.
//! - **No lost wake-up.** A sleeper checks its condition and sleeps while holding the
//!   gate's mutex, and a waker takes that mutex after changing the state. A reader's
//!   `PARKED` and the writer's clearing `fetch_and` are on one stripe: if the `fetch_or`
//!   comes first it sees `WRITER` and the writer's `fetch_and` sees `PARKED` (so it
//!   wakes); if it comes second it sees `WRITER` clear (so it does not sleep). A writer
//!   that drains reads the count under the mutex: if the last reader's decrement and
//!   wake-up came before the writer took the mutex, the mutex orders the decrement
//!   before the load, which sees it; if after, the wake-up finds the writer asleep.
//!   `PARKED` is never cleared but by a writer's unlock, so one sleeper cannot hide
//!   another; a stale `PARKED` costs that unlock one needless wake-up.
//! - **Writers are not starved**: once a writer has set a stripe's bit, new readers on
//!   that stripe back off. (Readers can be, by an unbroken stream of writers.)
//!
//! # Waiting
//!
//! A thread that must wait spins for a few dozen iterations (a shard's critical
//! section is one policy operation), then sleeps on the gate; under loom it sleeps at
//! once, so the models explore blocking rather than spinning. A caller's closure run
//! under a read lock (`get_with`) keeps a writer asleep as long as it runs.
//!
//! # Panic safety
//!
//! Guards unlock in `Drop`, so a panic under the lock unwinds through its guard and
//! releases it. There is no poisoning (as with `parking_lot`): the value is left as the
//! panicking code left it, and the policies keep themselves consistent across a
//! panicking user closure (see `Core`'s panic-safety notes).
//!
//! # Unsafe
//!
//! The lock hands out `&T` and `&mut T` from an `UnsafeCell`: the guards' `Deref` and
//! `DerefMut`, and the `Sync` impl, are this module's only `unsafe`, each with its
//! `SAFETY` argument, which rests on the invariants above. They are checked by the loom
//! model at the end of this file (loom's `UnsafeCell` reports any access that the
//! protocol does not order), and by Miri's data-race detector over the threaded unit
//! tests (`cargo +nightly miri test --lib sync::striped`); `.ci/run` runs both.
#![allow(unsafe_code)]

use std::fmt;
use std::ops::{Deref, DerefMut};

use super::atomic::AtomicUsize;
use super::atomic::Ordering::{Acquire, Relaxed, Release};
use super::cell::{ConstPtr, MutPtr, UnsafeCell};
use super::{Condvar, Mutex};

/// The bit of a stripe's state that a writer sets.
pub(crate) const WRITER: usize = 1 << (usize::BITS - 1);
/// The bit of a stripe's state that a thread sets before it sleeps waiting for
/// `WRITER` to clear.
pub(crate) const PARKED: usize = 1 << (usize::BITS - 2);
/// The reader count's bits.
const COUNT: usize = PARKED - 1;

/// The most stripes [`stripes_for`] gives a lock: a writer touches every one.
pub(crate) const MAX_STRIPES: usize = 8;

/// The stripe count for `cores` cores: the next power of two, at most [`MAX_STRIPES`].
/// Threads take stripes in turn, so two threads share one only when more threads than
/// stripes use the lock.
pub(crate) fn stripes_for(cores: usize) -> usize {
    cores.max(1).next_power_of_two().min(MAX_STRIPES)
}

/// One stripe: its state and the caller's payload, alone on a 128-byte block.
#[repr(C, align(128))]
struct Stripe<S> {
    state: AtomicUsize,
    payload: S,
}

/// A readers-writer lock whose readers each write only their own stripe; see the
/// [module docs](self) for the protocol and its invariants.
pub(crate) struct StripedRwLock<T, S = ()> {
    /// Stripe 0, inline: a writer's fast path touches only it, with no bounds check.
    first: Stripe<S>,
    /// The other stripes: with `first`, a power of two of them.
    rest: Box<[Stripe<S>]>,
    /// Where waiting threads sleep; its mutex orders their checks against wake-ups.
    gate: Mutex<()>,
    wake: Condvar,
    value: UnsafeCell<T>,
}

// SAFETY: the lock gives `&T` to any number of threads at once (so `T: Sync`) and
// `&mut T` to one thread at a time, possibly not the one that put the value in (so
// `T: Send`), exactly as `std::sync::RwLock` requires. Every thread may reach the
// payloads through `&S` (so `S: Sync`). Exclusion is the protocol's (module docs).
unsafe impl<T: Send + Sync, S: Sync> Sync for StripedRwLock<T, S> {}

impl<T, S: Default> StripedRwLock<T, S> {
    /// A lock around `value` with `stripes` stripes (rounded up to a power of two; at
    /// least one), each with a default payload.
    pub(crate) fn new(value: T, stripes: usize) -> Self {
        let n = stripes.max(1).next_power_of_two();
        let stripe = || Stripe {
            state: AtomicUsize::new(0),
            payload: S::default(),
        };
        StripedRwLock {
            first: stripe(),
            rest: (1..n).map(|_| stripe()).collect(),
            gate: Mutex::new(()),
            wake: Condvar::new(),
            value: UnsafeCell::new(value),
        }
    }
}

impl<T, S> StripedRwLock<T, S> {
    /// The calling thread's stripe.
    #[inline]
    fn my_stripe(&self) -> &Stripe<S> {
        // There are `rest.len() + 1` stripes, a power of two, so `rest.len()` is the mask.
        match thread_index() & self.rest.len() {
            0 => &self.first,
            i => self.rest.get(i - 1).unwrap_or(&self.first),
        }
    }

    /// Locks shared: many readers at once, no writer.
    #[inline]
    pub(crate) fn read(&self) -> ReadGuard<'_, T, S> {
        let stripe = self.my_stripe();
        if stripe.state.fetch_add(1, Acquire) & WRITER != 0 {
            self.read_slow(stripe);
        }
        ReadGuard {
            value: self.value.get(),
            held: HeldRead { lock: self, stripe },
        }
    }

    /// A read whose first try met a writer: back off, wait for the writer, try again.
    #[cold]
    #[inline(never)]
    fn read_slow(&self, stripe: &Stripe<S>) {
        loop {
            // The try guarded nothing, but its undo may be the decrement a draining
            // writer waits for: it is an unlock.
            self.unlock_read(stripe);
            self.wait_writer_gone(&stripe.state);
            if stripe.state.fetch_add(1, Acquire) & WRITER == 0 {
                return;
            }
        }
    }

    /// Drops one reader from `stripe`, waking a writer that waits for the last one.
    #[inline]
    fn unlock_read(&self, stripe: &Stripe<S>) {
        let before = stripe.state.fetch_sub(1, Release);
        if before & WRITER != 0 && before & COUNT == 1 {
            self.wake_all();
        }
    }

    /// Locks exclusively: no reader, no other writer.
    #[inline]
    pub(crate) fn write(&self) -> WriteGuard<'_, T, S> {
        // The common case, one compare-exchange: stripe 0 free, no reader on it. With
        // one stripe, that is the whole lock.
        if self
            .first
            .state
            .compare_exchange(0, WRITER, Acquire, Relaxed)
            .is_err()
        {
            self.claim_first();
        }
        if !self.rest.is_empty() {
            self.claim_rest();
        }
        WriteGuard {
            value: self.value.get_mut(),
            _held: HeldWrite(self),
        }
    }

    /// Claims stripe 0 where the fast path could not: waits for another writer that
    /// holds it, then drains it of readers.
    #[cold]
    #[inline(never)]
    fn claim_first(&self) {
        let first = &self.first.state;
        while first.fetch_or(WRITER, Acquire) & WRITER != 0 {
            self.wait_writer_gone(first);
        }
        if first.load(Acquire) & COUNT != 0 {
            self.drain(first);
        }
    }

    /// Claims the stripes after the first (stripe 0 held) and drains them of readers.
    /// Their `WRITER` bits are clear (only stripe 0's holder sets them, and it clears
    /// them before it lets stripe 0 go), so adding the bit sets it, in one `lock xadd`.
    #[inline(never)]
    fn claim_rest(&self) {
        for s in self.rest.iter() {
            // Readers counted here came before the claim; later ones back off.
            if s.state.fetch_add(WRITER, Acquire) & COUNT != 0 {
                self.drain(&s.state);
            }
        }
    }

    /// Unlocks a write: clears every stripe, stripe 0 last, and wakes the sleepers if
    /// any stripe had one.
    #[inline]
    fn unlock_write(&self) {
        let mut parked = !self.rest.is_empty() && self.unlock_rest();
        // The common case, one compare-exchange: nobody asleep, no reader backing off.
        let first = &self.first.state;
        if first.compare_exchange(WRITER, 0, Release, Relaxed).is_err() {
            parked |= first.fetch_and(!(WRITER | PARKED), Release) & PARKED != 0;
        }
        if parked {
            self.wake_all();
        }
    }

    /// Clears the stripes after the first, last to first, while stripe 0 is still
    /// held (so no other writer can set their bits meanwhile); whether any had a
    /// sleeper.
    #[inline(never)]
    fn unlock_rest(&self) -> bool {
        let mut parked = false;
        for s in self.rest.iter().rev() {
            if s.state.fetch_sub(WRITER, Release) & PARKED != 0 {
                // Only this writer could have set `WRITER` again here, so clearing
                // `PARKED` apart hides no later sleeper.
                s.state.fetch_and(!PARKED, Relaxed);
                parked = true;
            }
        }
        parked
    }

    /// Waits until `state` shows no `WRITER`: spins a little, then sleeps on the gate,
    /// with `PARKED` set so that the writer's unlock wakes it.
    #[cold]
    #[inline(never)]
    fn wait_writer_gone(&self, state: &AtomicUsize) {
        let mut spin = Spin::default();
        while state.load(Relaxed) & WRITER != 0 {
            if !spin.once() {
                let mut gate = self.gate.lock();
                while state.fetch_or(PARKED, Relaxed) & WRITER != 0 {
                    gate = self.wake.wait(gate);
                }
                return;
            }
        }
    }

    /// Waits until a claimed stripe has no reader left: spins a little, then sleeps on
    /// the gate until the last reader's unlock wakes it.
    #[cold]
    #[inline(never)]
    fn drain(&self, state: &AtomicUsize) {
        let mut spin = Spin::default();
        while state.load(Acquire) & COUNT != 0 {
            if !spin.once() {
                let mut gate = self.gate.lock();
                while state.load(Acquire) & COUNT != 0 {
                    gate = self.wake.wait(gate);
                }
                return;
            }
        }
    }

    /// Wakes every sleeper; each checks its condition again. Taking the mutex first
    /// means a sleeper is either asleep already or will see the new state.
    #[cold]
    #[inline(never)]
    fn wake_all(&self) {
        let gate = self.gate.lock();
        self.wake.notify_all();
        drop(gate);
    }

    /// The payloads of every stripe (for a total over them).
    pub(crate) fn payloads(&self) -> impl Iterator<Item = &S> {
        self.stripes().map(|s| &s.payload)
    }

    /// Every stripe, stripe 0 first.
    fn stripes(&self) -> impl Iterator<Item = &Stripe<S>> {
        std::iter::once(&self.first).chain(self.rest.iter())
    }

    /// The number of stripes.
    #[cfg(all(test, not(loom)))]
    fn stripe_count(&self) -> usize {
        self.rest.len() + 1
    }
}

impl<T, S> fmt::Debug for StripedRwLock<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripedRwLock")
            .field("stripes", &(self.rest.len() + 1))
            .finish_non_exhaustive()
    }
}

/// Shared access to the value, and to the reader's stripe payload.
///
/// The fields drop in order: first the pointer (under loom, the end of the tracked
/// read), then `held`, which unlocks.
pub(crate) struct ReadGuard<'a, T, S> {
    value: ConstPtr<T>,
    held: HeldRead<'a, T, S>,
}

/// A read held on a stripe; dropping it unlocks.
struct HeldRead<'a, T, S> {
    lock: &'a StripedRwLock<T, S>,
    stripe: &'a Stripe<S>,
}

impl<T, S> Drop for HeldRead<'_, T, S> {
    #[inline]
    fn drop(&mut self) {
        self.lock.unlock_read(self.stripe);
    }
}

impl<T, S> ReadGuard<'_, T, S> {
    /// The payload of the stripe this read holds: a line no other thread's reads write.
    #[inline]
    pub(crate) fn stripe(&self) -> &S {
        &self.held.stripe.payload
    }
}

impl<T, S> Deref for ReadGuard<'_, T, S> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: this guard holds a read on its stripe, so no writer holds the lock
        // until the guard drops (module docs, "a reader and a writer never overlap"),
        // and readers only take `&T`. The reference lives no longer than `&self`.
        unsafe { self.value.deref() }
    }
}

/// Exclusive access to the value. The fields drop in order: the pointer, then `held`,
/// (`_held`), which unlocks.
pub(crate) struct WriteGuard<'a, T, S> {
    value: MutPtr<T>,
    _held: HeldWrite<'a, T, S>,
}

/// The lock held exclusively (every stripe claimed); dropping it unlocks.
struct HeldWrite<'a, T, S>(&'a StripedRwLock<T, S>);

impl<T, S> Drop for HeldWrite<'_, T, S> {
    #[inline]
    fn drop(&mut self) {
        self.0.unlock_write();
    }
}

impl<T, S> Deref for WriteGuard<'_, T, S> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: this guard holds the lock exclusively (every stripe claimed and
        // drained) until it drops: no other reference to the value exists. The shared
        // reference borrows `&self`, so no `&mut T` from `deref_mut` can coexist.
        unsafe { &*self.value.deref() }
    }
}

impl<T, S> DerefMut for WriteGuard<'_, T, S> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as for `deref`: exclusive until the guard drops; the reference
        // borrows `&mut self`, so it is the only one.
        unsafe { self.value.deref() }
    }
}

/// A short spin before sleeping: doubling runs of `spin_loop`, six of them (63
/// iterations in all). Under loom there is no spin: a waiter sleeps at once.
#[derive(Default)]
struct Spin(u32);

impl Spin {
    const STEPS: u32 = 6;

    /// Spins once more; `false` when the spin is over and the caller should sleep.
    fn once(&mut self) -> bool {
        if cfg!(loom) || self.0 >= Self::STEPS {
            return false;
        }
        for _ in 0..1u32 << self.0 {
            std::hint::spin_loop();
        }
        self.0 += 1;
        true
    }
}

/// This thread's number: threads are numbered in the order they first ask.
#[cfg(not(loom))]
#[inline]
fn thread_index() -> usize {
    use std::cell::Cell;
    use std::sync::atomic::AtomicUsize;

    const UNSET: usize = usize::MAX;
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static INDEX: Cell<usize> = const { Cell::new(UNSET) };
    }
    // During thread-local destruction the slot is gone: stripe 0 is as good as any.
    INDEX
        .try_with(|i| match i.get() {
            UNSET => {
                let n = NEXT.fetch_add(1, Relaxed) & (UNSET >> 1);
                i.set(n);
                n
            }
            n => n,
        })
        .unwrap_or(0)
}

/// This thread's number, under loom: per model execution, so that runs replay.
#[cfg(loom)]
fn thread_index() -> usize {
    use std::cell::Cell;

    loom::lazy_static! {
        static ref NEXT: loom::sync::atomic::AtomicUsize = loom::sync::atomic::AtomicUsize::new(0);
    }
    loom::thread_local! {
        static INDEX: Cell<Option<usize>> = Cell::new(None);
    }
    INDEX.with(|i| {
        *i.get().get_or_insert_with(|| {
            let n = NEXT.fetch_add(1, Relaxed);
            i.set(Some(n));
            n
        })
    })
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicU64;

    /// Iterations per thread: Miri interprets every step, so it gets fewer.
    const ROUNDS: usize = if cfg!(miri) { 40 } else { 20_000 };

    #[test]
    fn stripe_counts() {
        assert_eq!(stripes_for(0), 1);
        assert_eq!(stripes_for(1), 1);
        assert_eq!(stripes_for(2), 2);
        assert_eq!(stripes_for(3), 4);
        assert_eq!(stripes_for(64), MAX_STRIPES);
        assert_eq!(StripedRwLock::<u8>::new(0, 3).stripe_count(), 4);
        assert_eq!(StripedRwLock::<u8>::new(0, 0).stripe_count(), 1);
    }

    #[test]
    fn layout_keeps_stripes_apart() {
        assert_eq!(std::mem::align_of::<Stripe<[AtomicU64; 2]>>(), 128);
        assert_eq!(std::mem::size_of::<Stripe<[AtomicU64; 2]>>(), 128);
    }

    #[test]
    fn guards_release_and_payloads_stay_per_stripe() {
        let lock: StripedRwLock<Vec<u32>, AtomicU64> = StripedRwLock::new(vec![1], 4);
        {
            let a = lock.read();
            let b = lock.read(); // a thread may hold several reads
            a.stripe().fetch_add(1, Relaxed);
            assert_eq!((a[0], b[0]), (1, 1));
        }
        lock.write().push(2);
        assert_eq!(*lock.read(), [1, 2]);
        let total: u64 = lock.payloads().map(|p| p.load(Relaxed)).sum();
        assert_eq!(total, 1);
        for s in lock.stripes() {
            assert_eq!(s.state.load(Relaxed), 0, "every guard released its stripe");
        }
    }

    #[test]
    fn a_panic_under_the_lock_releases_it() {
        let lock: StripedRwLock<u32> = StripedRwLock::new(0, 2);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut g = lock.write();
            *g = 1;
            panic!("user code");
        }));
        assert!(r.is_err());
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _g = lock.read();
            panic!("user code");
        }));
        assert!(r.is_err());
        *lock.write() += 1;
        assert_eq!(*lock.read(), 2);
    }

    /// Writers keep two plain (non-atomic) fields equal, readers check them: a reader
    /// overlapping a writer, or two writers overlapping, shows as a torn pair or a lost
    /// increment, and under Miri as a data race.
    #[test]
    fn readers_and_writers_exclude_each_other() {
        let lock = Arc::new(StripedRwLock::<(u64, u64), AtomicU64>::new((0, 0), 4));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let lock = lock.clone();
                std::thread::spawn(move || {
                    for i in 0..ROUNDS {
                        if (i + t) % 3 == 0 {
                            let mut g = lock.write();
                            g.0 += 1;
                            std::hint::black_box(&mut *g);
                            g.1 += 1;
                        } else {
                            let g = lock.read();
                            let (a, b) = *g;
                            assert_eq!(a, b, "a reader saw a write half done");
                            g.stripe().fetch_add(1, Relaxed);
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let writes = (0..4)
            .map(|t| (0..ROUNDS).filter(|i| (i + t) % 3 == 0).count() as u64)
            .sum::<u64>();
        assert_eq!(*lock.read(), (writes, writes), "no write was lost");
        let reads: u64 = lock.payloads().map(|p| p.load(Relaxed)).sum();
        assert_eq!(reads, 4 * ROUNDS as u64 - writes);
    }
}

#[cfg(all(test, loom))]
mod loom_model {
    //! `RUSTFLAGS="--cfg loom" cargo test --release --lib sync::striped`: every
    //! interleaving (up to the preemption bound) of two stripes' worth of readers and a
    //! writer. loom's `UnsafeCell` fails the model on any access to the value that the
    //! protocol leaves unordered.
    use super::*;
    use loom::sync::Arc;

    fn model(f: impl Fn() + Sync + Send + 'static) {
        let mut builder = loom::model::Builder::new();
        if builder.preemption_bound.is_none() {
            builder.preemption_bound = Some(3);
        }
        builder.max_branches = 400;
        builder.check(f);
    }

    /// A writer against readers on both stripes (threads 0 and 2 share stripe 0,
    /// thread 1 has stripe 1): every reader sees the pair whole, old or new.
    #[test]
    fn readers_on_two_stripes_race_a_writer() {
        model(|| {
            let lock = Arc::new(StripedRwLock::<(u32, u32)>::new((0, 0), 2));
            let l1 = lock.clone();
            let reader = loom::thread::spawn(move || {
                let g = l1.read();
                assert!(*g == (0, 0) || *g == (1, 1), "torn: {:?}", *g);
            });
            let l2 = lock.clone();
            let writer = loom::thread::spawn(move || {
                let mut g = l2.write();
                g.0 = 1;
                g.1 = 1;
            });
            {
                let g = lock.read();
                assert!(*g == (0, 0) || *g == (1, 1), "torn: {:?}", *g);
            }
            reader.join().unwrap();
            writer.join().unwrap();
            assert_eq!(*lock.read(), (1, 1));
        });
    }

    /// Two readers share the only stripe while a writer drains it: the writer sleeps
    /// until the last reader leaves, a reader that met the writer sleeps until it
    /// unlocks (`PARKED`), and each sees the pair whole.
    #[test]
    fn two_readers_on_one_stripe_race_a_writer() {
        model(|| {
            let lock = Arc::new(StripedRwLock::<(u32, u32)>::new((0, 0), 1));
            let l1 = lock.clone();
            let reader = loom::thread::spawn(move || {
                let g = l1.read();
                assert!(*g == (0, 0) || *g == (1, 1), "torn: {:?}", *g);
            });
            let l2 = lock.clone();
            let writer = loom::thread::spawn(move || {
                let mut g = l2.write();
                g.0 = 1;
                g.1 = 1;
            });
            {
                let g = lock.read();
                assert!(*g == (0, 0) || *g == (1, 1), "torn: {:?}", *g);
            }
            reader.join().unwrap();
            writer.join().unwrap();
        });
    }

    /// Two writers, one at a time, and a reader on stripe 1 (the main thread takes
    /// stripe 0 first): no increment is lost, and the reader never meets a write half
    /// done, also when one writer hands the lock to the other (which is why an unlock
    /// releases stripe 0 last).
    #[test]
    fn writers_exclude_each_other_and_readers() {
        model(|| {
            let lock = Arc::new(StripedRwLock::<(u32, u32)>::new((0, 0), 2));
            drop(lock.read());
            let bump = |lock: &StripedRwLock<(u32, u32)>| {
                let mut g = lock.write();
                g.0 += 1;
                g.1 += 1;
            };
            let l1 = lock.clone();
            let other = loom::thread::spawn(move || bump(&l1));
            let l2 = lock.clone();
            let reader = loom::thread::spawn(move || {
                let g = l2.read();
                assert_eq!(g.0, g.1, "torn");
            });
            bump(&lock);
            other.join().unwrap();
            reader.join().unwrap();
            assert_eq!(*lock.read(), (2, 2));
        });
    }
}
