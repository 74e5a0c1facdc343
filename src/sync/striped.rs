//! [`StripedRwLock`]: a readers-writer lock whose readers write only their own stripe,
//! while reads come from several threads.
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
//! mod stripes`), so readers on different cores write different lines. Each stripe also
//! carries a caller's payload `S` (the shard's hit and miss counters) that a read guard
//! hands out, so that a look-up that counts writes the line its lock already owns.
//!
//! A writer pays for the stripes: it claims every one. So the lock **adapts**. Stripes
//! 1.. are *open* (readers use their own) or *closed* (every reader uses stripe 0, and a
//! writer claims stripe 0 alone, as with a plain lock):
//! - a writer of an open lock sees, in the values its claims return, which stripes had
//!   reads since the last write. A write that finds reads on fewer than two stripes
//!   (reads from one thread, or none: writes dominate) lowers a score, one that finds
//!   them on two or more raises it (up to [`MAX_SCORE`]); at 0 the writer closes the
//!   stripes.
//! - a reader of a closed lock that finds another reader still inside it as it leaves
//!   (two threads reading at once) opens the stripes, by taking the write lock if it is
//!   free that instant (it never waits for it: a reader must not wait for other
//!   readers). Looking as it leaves, in the value its unlock returns, costs the common
//!   case nothing: one test covers this and the wake-up below.
//!
//! A lock made with one stripe never opens. `Sharded` makes one stripe for policies
//! whose hits take the lock exclusively, and one per core where look-ups share it.
//!
//! # Protocol
//!
//! A stripe's state is one `AtomicU64`: the count of readers that hold (or are trying
//! for) the lock through it in bits 0..32, the [`PARKED`] bit (a thread may be asleep
//! waiting for this stripe's `WRITER` to clear), the [`WRITER`] bit, on stripe 0 the
//! [`WANT`] bit (reads met in a closed lock: the last one out opens it), and above them a
//! tick count of the reads made through it (it wraps harmlessly past bit 63). Each lock
//! also has a `gate`, a mutex and a condition variable, used only to sleep, and its
//! `mode` (open, closed, or single for one stripe), which only a writer holding the
//! lock changes and which readers use only as a hint.
//!
//! - **read**: pick the thread's stripe if the mode says open, else stripe 0;
//!   `fetch_add(TICK + 1, Acquire)` there (`fetch_add(1)` if not open: only an open
//!   lock's writers read the ticks). If the value before had `WRITER`, undo it as
//!   an unlock does, and try again: on stripe 0 if the stripes are now closed, else
//!   once `WRITER` has cleared.
//! - **read unlock**: `fetch_sub(1, Release)` on the same stripe. If the value before
//!   had `WRITER` and a count of 1, this was the last reader a writer is draining: wake
//!   the gate's sleepers. Else, on stripe 0 of a closed lock: with a count above 1 set
//!   `WANT` (`fetch_or`); with a count of 1 and `WANT`, try to open the lock (above).
//!   All of these are off the common path, which tests the value before for exactly
//!   one reader and nothing else.
//! - **write**: claim stripe 0: a `compare_exchange` from 0 to `WRITER`, else `fetch_or(WRITER, Acquire)`, which, if `WRITER` was already
//!   there (another writer holds the lock), waits until it clears and tries again. If
//!   the stripes are open, set `WRITER` on every other stripe (`fetch_add`, `Acquire`;
//!   the bit is clear there). Wait on each claimed stripe whose count was not 0 until
//!   it is (`Acquire` loads).
//! - **write unlock**: store the new mode if it changes; on every stripe after the
//!   first, last to first: if the stripes stay or become open, clear `WRITER`,
//!   `PARKED` and the ticks (`fetch_and`, `Release`); if they close, clear `PARKED` and
//!   the ticks and leave `WRITER` set. Then the same on stripe 0, last, always clearing
//!   `WRITER` and `WANT` (a `compare_exchange` from `WRITER` to 0 when that is all
//!   there is). If any stripe had `PARKED`, wake the sleepers.
//! - **waiting** for a stripe's `WRITER` to clear (a reader, or a writer at stripe 0)
//!   spins a little, then takes the gate's mutex, sets `PARKED` with a
//!   `fetch_or(PARKED, Acquire)` and, if that shows `WRITER` still set (and, for a
//!   reader of stripes 1.., the mode still open), sleeps on the condition variable;
//!   woken, it sets `PARKED` and checks again. **Waiting** for a count to drain (a
//!   writer) spins a little, then sleeps under the gate until a load shows it at 0.
//!
//! # Invariants, and why they hold
//!
//! Every operation that changes a stripe is a read-modify-write, so one stripe's
//! operations are in one total order (its modification order) that every thread agrees
//! on. Nothing here relies on `SeqCst` (which loom does not model), so the loom models
//! below check the protocol as it runs.
//!
//! - **Closed stripes hold no reader.** A writer closes the stripes only while it holds
//!   them all, drained, and leaves their `WRITER` set, so a reader that comes to one
//!   later backs off; while closed, writers leave them alone. The writer that opens them
//!   holds stripe 0, and clears their `WRITER` only in its unlock.
//! - **A reader and a writer never overlap.** A writer claims every stripe a reader
//!   could hold (stripe 0 always; the others while open, and closed ones hold none). On
//!   the reader's stripe, the reader's increment is either before the writer's claim
//!   (the writer then waits until the count is back to 0, so until the reader's
//!   `Release` decrement, which makes the reader's accesses happen before the writer's),
//!   or after it (the increment returns `WRITER` and the reader backs off without
//!   touching the value).
//! - **Two writers never overlap.** Stripe 0's `WRITER` bit is held by one writer at a
//!   time. A writer changes the other stripes and the mode only while it holds stripe
//!   0's bit and clears that bit last, so the next writer, whose claim reads that clear
//!   (`Acquire` from `Release`), finds the other stripes and the mode as the last writer
//!   left them, and everything it did visible.
//! - **A reader sees the last writer's value.** Its increment reads the writer's
//!   `Release` clear of that stripe, or a later read-modify-write in its release
//!   sequence.
//! - **No lost wake-up.** A sleeper checks its condition and sleeps while holding the
//!   gate's mutex, and a waker takes that mutex after changing the state. A reader's
//!   `PARKED` and a writer's clearing `fetch_and` are on one stripe: if the `fetch_or`
//!   comes first it sees `WRITER` and the writer's `fetch_and` sees `PARKED` (so it
//!   wakes); if it comes second, it reads that `Release` write, so it sees `WRITER`
//!   clear, or, on a stripe just closed, the mode stored before it: closed (so it does
//!   not sleep). A writer that drains reads the count under the mutex: if the last
//!   reader's decrement and wake-up came before the writer took the mutex, the mutex
//!   orders the decrement before the load, which sees it; if after, the wake-up finds
//!   the writer asleep. `PARKED` is cleared only by a writer's unlock, in the same
//!   read-modify-write that clears or keeps `WRITER`, so one sleeper cannot hide
//!   another; a stale `PARKED` costs that unlock one needless wake-up.
//! - **`WANT` is a hint.** Exclusion never depends on it: it only makes some unlocks
//!   take the slow path and try to open the lock, which is safe at any time (a try
//!   takes the write lock or does nothing). A stale one (the lock opened, or the
//!   other reader left before the bit was set) costs one slow unlock, which clears it
//!   or opens the lock.
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
//! models at the end of this file (loom's `UnsafeCell` reports any access that the
//! protocol does not order), and by Miri's data-race detector over the threaded unit
//! tests (`cargo +nightly miri test --lib sync::striped`); `.ci/run` runs both.
#![allow(unsafe_code)]

use std::fmt;
use std::ops::{Deref, DerefMut};

use super::atomic::Ordering::{Acquire, Relaxed, Release};
use super::atomic::{AtomicU8, AtomicU32, AtomicU64};
use super::cell::{ConstPtr, MutPtr, UnsafeCell};
use super::{Condvar, Mutex};

/// One reader, in a stripe's count.
const READER: u64 = 1;
/// The reader count's bits.
const COUNT: u64 = (1 << 32) - 1;
/// The bit of a stripe's state that a thread sets before it sleeps waiting for
/// `WRITER` to clear.
const PARKED: u64 = 1 << 32;
/// The bit of a stripe's state that a writer sets (and leaves set on closed stripes).
const WRITER: u64 = 1 << 33;
/// The bit of stripe 0's state that a reader of a closed lock sets when it leaves
/// with another reader still inside: the last reader out then opens the lock. Cleared
/// by a writer's unlock.
const WANT: u64 = 1 << 34;
/// One read, in a stripe's tick count (the bits above `WANT`).
const TICK: u64 = 1 << 35;
/// The tick count's bits.
const TICKS: u64 = !(TICK - 1);

/// The writers' score at which an open lock closes is 0; it never goes above this, so
/// a change of workload closes the stripes within this many writes.
const MAX_SCORE: u32 = 8;
/// The score a lock starts with, or gets when a reader opens it.
const START_SCORE: u32 = MAX_SCORE / 2;

/// `mode`: readers use their own stripes.
const OPEN: u8 = 0;
/// `mode`: every reader uses stripe 0; stripes 1.. have `WRITER` set.
const CLOSED: u8 = 1;
/// `mode`: one stripe, nothing to open.
const SINGLE: u8 = 2;

/// What a write's unlock does to stripes 1..: nothing (one stripe, or closed and
/// staying closed).
const KEEP: u8 = 0;
/// ... clear `WRITER` on them: they stay open, or open.
const UNCLAIM: u8 = 1;
/// ... leave `WRITER` on them: they close.
const CLOSE: u8 = 2;

/// The most stripes [`stripes_for`] gives a lock: a writer touches every one.
const MAX_STRIPES: usize = 8;

/// The stripe count for `cores` cores: the next power of two, at most [`MAX_STRIPES`].
/// Threads take stripes in turn, so two threads share one only when more threads than
/// stripes use the lock.
pub(crate) fn stripes_for(cores: usize) -> usize {
    cores.max(1).next_power_of_two().min(MAX_STRIPES)
}

/// One stripe: its state and the caller's payload, alone on a 128-byte block.
#[repr(C, align(128))]
struct Stripe<S> {
    state: AtomicU64,
    /// Stripe 0's: the writers' score (see the module docs), read and written only
    /// under the write lock, on the line the writer owns then.
    score: AtomicU32,
    payload: S,
}

/// A readers-writer lock whose readers each write only their own stripe; see the
/// [module docs](self) for the protocol and its invariants.
pub(crate) struct StripedRwLock<T, S = ()> {
    /// Stripe 0, inline: a writer's fast path touches only it, with no bounds check.
    first: Stripe<S>,
    /// The other stripes: with `first`, a power of two of them.
    rest: Box<[Stripe<S>]>,
    /// `OPEN`, `CLOSED` or `SINGLE`; changed only by a writer holding the lock.
    mode: AtomicU8,
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
    /// least one), each with a default payload; open if it has more than one.
    pub(crate) fn new(value: T, stripes: usize) -> Self {
        let n = stripes.max(1).next_power_of_two();
        let stripe = || Stripe {
            state: AtomicU64::new(0),
            score: AtomicU32::new(START_SCORE),
            payload: S::default(),
        };
        StripedRwLock {
            first: stripe(),
            rest: (1..n).map(|_| stripe()).collect(),
            mode: AtomicU8::new(if n > 1 { OPEN } else { SINGLE }),
            gate: Mutex::new(()),
            wake: Condvar::new(),
            value: UnsafeCell::new(value),
        }
    }
}

impl<T, S> StripedRwLock<T, S> {
    /// The calling thread's own stripe.
    #[inline]
    fn my_stripe(&self) -> &Stripe<S> {
        // There are `rest.len() + 1` stripes, a power of two, so `rest.len()` is the mask.
        match thread_index() & self.rest.len() {
            0 => &self.first,
            i => self.rest.get(i - 1).unwrap_or(&self.first),
        }
    }

    /// One try at a read: counts this reader on the stripe the mode gives it (its own
    /// if open, else stripe 0). Returns the stripe and its state before.
    #[inline]
    fn enter(&self) -> (&Stripe<S>, u64) {
        let mode = self.mode.load(Relaxed);
        let (stripe, add) = if mode == OPEN {
            // Ticks matter only to the writers of an open lock (and keep its stripe 0
            // off the writers' one-instruction fast path).
            (self.my_stripe(), TICK + READER)
        } else {
            (&self.first, READER)
        };
        (stripe, stripe.state.fetch_add(add, Acquire))
    }

    /// Locks shared: many readers at once, no writer.
    #[inline]
    pub(crate) fn read(&self) -> ReadGuard<'_, T, S> {
        let (mut stripe, before) = self.enter();
        if before & WRITER != 0 {
            stripe = self.read_slow(stripe);
        }
        ReadGuard {
            value: self.value.get(),
            held: HeldRead { lock: self, stripe },
        }
    }

    /// A read whose try met a writer (or closed stripes): back off, wait, try again.
    /// Returns the stripe the read holds.
    #[cold]
    #[inline(never)]
    fn read_slow<'a>(&'a self, mut stripe: &'a Stripe<S>) -> &'a Stripe<S> {
        loop {
            // The try guarded nothing, but its undo may be the decrement a draining
            // writer waits for: it is an unlock.
            self.unlock_read(stripe);
            let on_rest = !std::ptr::eq(stripe, &self.first);
            if !(on_rest && self.mode.load(Relaxed) != OPEN) {
                self.wait_writer_gone(&stripe.state, on_rest);
            }
            let (next, before) = self.enter();
            stripe = next;
            if before & WRITER == 0 {
                return stripe;
            }
        }
    }

    /// Drops one reader from `stripe`, waking a writer that waits for the last one, and
    /// opening a closed lock where two reads met (module docs).
    #[inline]
    fn unlock_read(&self, stripe: &Stripe<S>) {
        let before = stripe.state.fetch_sub(READER, Release);
        // One test for the common case: no writer, no other reader, no `WANT`.
        if before & (WRITER | COUNT | WANT) != READER {
            self.unlock_read_slow(stripe, before);
        }
    }

    /// The rest of a read unlock whose stripe, before it, showed a writer, another
    /// reader, or `WANT`: wakes a draining writer for the last reader; in a closed
    /// lock, asks the last reader out to open it, or, as that reader, tries to.
    #[cold]
    #[inline(never)]
    fn unlock_read_slow(&self, stripe: &Stripe<S>, before: u64) {
        if before & WRITER != 0 {
            if before & COUNT == READER {
                self.wake_all();
            }
            return;
        }
        if !std::ptr::eq(stripe, &self.first) {
            // Another reader of this thread's stripe: more threads than stripes.
            return;
        }
        if self.mode.load(Relaxed) != CLOSED {
            // `WANT` left from a lock that has opened since (or a single stripe's
            // readers, which never open it): clear it, once, off the fast path.
            if before & WANT != 0 {
                stripe.state.fetch_and(!WANT, Relaxed);
            }
        } else if before & COUNT != READER {
            // Another reader is still inside: reads come from several threads at once.
            if before & WANT == 0 {
                stripe.state.fetch_or(WANT, Relaxed);
            }
        } else {
            // The last reader out of a lock where reads met.
            self.try_open();
        }
    }

    /// Locks exclusively: no reader, no other writer.
    #[inline]
    pub(crate) fn write(&self) -> WriteGuard<'_, T, S> {
        self.write_then(None)
    }

    /// Opens (`true`) or closes the stripes, under the write lock; nothing for a lock
    /// of one stripe.
    #[cfg(all(test, loom))]
    pub(crate) fn set_open(&self, open: bool) {
        drop(self.write_then(Some(if open { OPEN } else { CLOSED })));
    }

    /// Opens closed stripes if the lock is free this instant; else does nothing (a
    /// later reader that meets another will try again). It never waits: it runs as a
    /// read unlocks, and a reader must not wait for other readers (one of them may be
    /// waiting for this thread).
    #[cold]
    #[inline(never)]
    fn try_open(&self) {
        let now = self.first.state.load(Relaxed);
        if now & (WRITER | PARKED | COUNT) == 0
            && self.mode.load(Relaxed) == CLOSED
            && self
                .first
                .state
                .compare_exchange(now, now | WRITER, Acquire, Relaxed)
                .is_ok()
        {
            // Holding stripe 0 of a closed lock is holding it all, and `mode` is exact
            // now. If another thread opened the lock meanwhile, there is nothing to do
            // but let stripe 0 go (this touched no value, so nothing needed draining).
            if self.mode.load(Relaxed) == CLOSED {
                self.unlock_write(OPEN, UNCLAIM);
            } else {
                self.unlock_write(OPEN, KEEP);
            }
        }
    }

    /// Locks exclusively, and leaves the lock in mode `next` at unlock (or in the mode
    /// the writers' score picks).
    #[inline]
    fn write_then(&self, next: Option<u8>) -> WriteGuard<'_, T, S> {
        // The common case, one compare-exchange: stripe 0 free, no reader on it, no
        // ticks (which only an open lock's readers add).
        let before = match self
            .first
            .state
            .compare_exchange(0, WRITER, Acquire, Relaxed)
        {
            Ok(before) => before,
            Err(_) => self.claim_first(),
        };
        // Only a writer holding stripe 0 changes the mode, so this is the mode.
        let mode = self.mode.load(Relaxed);
        // A single stripe, or closed ones (holding stripe 0 is holding them all):
        // nothing more to claim, and no call. Closed stripes stay closed unless the
        // caller opens them.
        let (next, rest) = match (mode, next) {
            (SINGLE, _) => (SINGLE, KEEP),
            (CLOSED, Some(OPEN)) => (OPEN, UNCLAIM),
            (CLOSED, _) => (CLOSED, KEEP),
            _ => self.claim_rest(before, next),
        };
        WriteGuard {
            value: self.value.get_mut(),
            _held: HeldWrite {
                lock: self,
                next,
                rest,
            },
        }
    }

    /// Claims stripe 0 where the fast path could not: waits for another writer that
    /// holds it, then drains it of readers. Returns its state before the claim.
    #[cold]
    #[inline(never)]
    fn claim_first(&self) -> u64 {
        let first = &self.first.state;
        loop {
            let before = first.fetch_or(WRITER, Acquire);
            if before & WRITER == 0 {
                if before & COUNT != 0 {
                    self.drain(first);
                }
                return before;
            }
            // Another writer holds the lock.
            self.wait_writer_gone(first, false);
        }
    }

    /// With stripe 0 of an open lock held: claims and drains the other stripes, and
    /// picks the mode to leave at unlock: `next` if given, else by the writers' score.
    /// Returns that mode and what the unlock does to the other stripes.
    #[inline(never)]
    fn claim_rest(&self, first_before: u64, next: Option<u8>) -> (u8, u8) {
        let mut read = u32::from(first_before & TICKS != 0);
        for s in self.rest.iter() {
            // The bit is clear on open stripes, so adding it sets it, in one `lock
            // xadd`. Readers counted here came before the claim; later ones back off.
            let before = s.state.fetch_add(WRITER, Acquire);
            read += u32::from(before & TICKS != 0);
            if before & COUNT != 0 {
                self.drain(&s.state);
            }
        }
        if let Some(next) = next {
            return (next, if next == OPEN { UNCLAIM } else { CLOSE });
        }
        // Reads on two stripes or more since the last write: several threads read.
        let score = self.first.score.load(Relaxed);
        let score = if read >= 2 {
            (score + 1).min(MAX_SCORE)
        } else {
            score.saturating_sub(1)
        };
        self.first.score.store(score, Relaxed);
        if score == 0 {
            (CLOSED, CLOSE)
        } else {
            (OPEN, UNCLAIM)
        }
    }

    /// Unlocks a write, leaving the lock in mode `next`, and doing `rest` (`KEEP`,
    /// `UNCLAIM` or `CLOSE`) to the other stripes.
    #[inline]
    fn unlock_write(&self, next: u8, rest: u8) {
        let mut parked = 0;
        if rest != KEEP {
            parked = self.unlock_rest(next, rest);
        }
        // The common case, one compare-exchange: nobody asleep, no reader backing off,
        // no ticks, no `WANT` (which a write answers: the reads that met came before
        // it, and the next ones will say again).
        let first = &self.first.state;
        if first.compare_exchange(WRITER, 0, Release, Relaxed).is_err() {
            parked |= first.fetch_and(!(WRITER | PARKED | WANT | TICKS), Release);
        }
        if parked & PARKED != 0 {
            self.wake_all();
        }
    }

    /// Unclaims or closes the other stripes (stripe 0 still held, so no other writer
    /// touches them meanwhile), last to first, after storing mode `next`; returns
    /// their states before, or-ed together (for `PARKED`).
    #[inline(never)]
    fn unlock_rest(&self, next: u8, rest: u8) -> u64 {
        if self.mode.load(Relaxed) != next {
            if next == OPEN {
                self.first.score.store(START_SCORE, Relaxed);
            }
            // Before the stripes' `Release`: a reader that reads one of them sees it.
            self.mode.store(next, Relaxed);
        }
        // Closing leaves `WRITER`, so no reader holds these stripes from now on.
        let clear = if rest == CLOSE {
            PARKED | TICKS
        } else {
            WRITER | PARKED | TICKS
        };
        let mut parked = 0;
        for s in self.rest.iter().rev() {
            parked |= s.state.fetch_and(!clear, Release);
        }
        parked
    }

    /// Waits until `state` shows no `WRITER` (or, for a reader of stripes 1.., until
    /// the stripes are closed): spins a little, then sleeps on the gate, with `PARKED`
    /// set so that the writer's unlock wakes it.
    #[cold]
    #[inline(never)]
    fn wait_writer_gone(&self, state: &AtomicU64, on_rest: bool) {
        let mut spin = Spin::default();
        while state.load(Relaxed) & WRITER != 0 {
            if !spin.once() {
                let mut gate = self.gate.lock();
                while state.fetch_or(PARKED, Acquire) & WRITER != 0
                    && !(on_rest && self.mode.load(Relaxed) != OPEN)
                {
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
    fn drain(&self, state: &AtomicU64) {
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

    /// Whether readers use their own stripes.
    #[cfg(test)]
    fn is_open(&self) -> bool {
        self.mode.load(Relaxed) == OPEN
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
            .field("mode", &self.mode.load(Relaxed))
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

/// A read held on a stripe; dropping it unlocks (and may open the stripes: see
/// `unlock_read`).
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
    /// The payload of the stripe this read holds: a line no other thread's reads write
    /// while the stripes are open.
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

/// Exclusive access to the value. The fields drop in order: the pointer, then `held`
/// (`_held`), which unlocks.
pub(crate) struct WriteGuard<'a, T, S> {
    value: MutPtr<T>,
    _held: HeldWrite<'a, T, S>,
}

/// The lock held exclusively; dropping it unlocks, leaving the lock in mode `next`
/// and doing `rest` to stripes 1.. (see `unlock_write`).
struct HeldWrite<'a, T, S> {
    lock: &'a StripedRwLock<T, S>,
    next: u8,
    rest: u8,
}

impl<T, S> Drop for HeldWrite<'_, T, S> {
    #[inline]
    fn drop(&mut self) {
        self.lock.unlock_write(self.next, self.rest);
    }
}

impl<T, S> Deref for WriteGuard<'_, T, S> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: this guard holds the lock exclusively (every stripe a reader could
        // hold claimed and drained) until it drops: no other reference to the value
        // exists. The shared reference borrows `&self`, so no `&mut T` from
        // `deref_mut` can coexist.
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
            let state = s.state.load(Relaxed);
            assert_eq!(
                state & (COUNT | WRITER),
                0,
                "every guard released its stripe"
            );
        }
    }

    /// Writes with reads from one thread between them close the stripes within
    /// `START_SCORE` writes (a writer then claims stripe 0 alone); two readers inside
    /// at once open them again.
    #[test]
    fn the_stripes_close_for_one_reader_and_open_for_two() {
        let lock = Arc::new(StripedRwLock::<u32>::new(0, 4));
        assert!(lock.is_open());
        for i in 0..START_SCORE {
            assert!(lock.is_open(), "closed after {i} writes");
            drop(lock.read());
            *lock.write() += 1;
        }
        assert!(!lock.is_open(), "one reading thread: closed");
        for s in lock.rest.iter() {
            assert_ne!(
                s.state.load(Relaxed) & WRITER,
                0,
                "a closed stripe keeps WRITER"
            );
        }
        // Writes alone keep it closed, and cost stripe 0 alone.
        for _ in 0..3 * MAX_SCORE {
            *lock.write() += 1;
        }
        assert!(!lock.is_open());
        // Two threads inside at once: the one that leaves last opens the stripes (the
        // first to leave finds the other still inside, and does not wait for it).
        let held = lock.read();
        let other = lock.clone();
        std::thread::spawn(move || assert_eq!(*other.read(), 3 * MAX_SCORE + START_SCORE))
            .join()
            .unwrap();
        assert!(
            !lock.is_open(),
            "the lock was not free: no waiting, no opening"
        );
        assert_ne!(
            lock.first.state.load(Relaxed) & WANT,
            0,
            "the reader that left first asks the last one out to open"
        );
        let (first, second) = (lock.read(), lock.read());
        drop(first);
        drop(held);
        drop(second);
        assert!(
            lock.is_open(),
            "a reader that met another opened the stripes"
        );
        for s in lock.stripes() {
            assert_eq!(s.state.load(Relaxed) & (COUNT | WRITER | PARKED | WANT), 0);
        }
        *lock.write() += 1;
        assert_eq!(*lock.read(), 3 * MAX_SCORE + START_SCORE + 1);
        assert!(lock.is_open());
    }

    /// A `WANT` left behind where the lock is not closed (here one stripe, which never
    /// opens) goes at the next read of stripe 0, which then opens nothing and leaves
    /// the fast path to the reads after it.
    #[test]
    fn a_stale_want_goes_at_the_next_read() {
        let lock = StripedRwLock::<u32>::new(7, 1);
        lock.first.state.fetch_or(WANT, Relaxed);
        assert_eq!(*lock.read(), 7);
        assert_eq!(lock.first.state.load(Relaxed), 0);
        assert_eq!(lock.mode.load(Relaxed), SINGLE);
    }

    /// Reads from two threads (on different stripes) between writes keep the stripes
    /// open.
    #[test]
    fn reads_from_two_threads_keep_the_stripes_open() {
        use std::sync::mpsc::channel;
        let lock = Arc::new(StripedRwLock::<u32>::new(0, 2));
        let mine = thread_index() & 1;
        // Threads are numbered as they first lock, and other tests run meanwhile: spawn
        // readers until one has the other stripe.
        let (reader, go, done) = loop {
            let (go, wait_go) = channel::<()>();
            let (tell_done, done) = channel::<bool>();
            let other = lock.clone();
            let reader = std::thread::spawn(move || {
                let usable = thread_index() & 1 != mine;
                tell_done.send(usable).unwrap();
                while usable && wait_go.recv().is_ok() {
                    drop(other.read());
                    tell_done.send(true).unwrap();
                }
            });
            if done.recv().unwrap() {
                break (reader, go, done);
            }
            reader.join().unwrap();
        };
        for _ in 0..4 * MAX_SCORE {
            drop(lock.read());
            go.send(()).unwrap();
            done.recv().unwrap();
            *lock.write() += 1;
        }
        drop(go);
        reader.join().unwrap();
        assert!(lock.is_open());
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
        builder.check(f);
    }

    type Pair = StripedRwLock<(u32, u32)>;

    /// Checks that a read of `lock` sees the pair whole: (0, 0) before the write,
    /// (1, 1) after.
    fn read_whole(lock: &Pair) {
        let g = lock.read();
        assert!(*g == (0, 0) || *g == (1, 1), "torn: {:?}", *g);
    }

    /// Races a spawned reader and a spawned `write` (which sets the pair to (1, 1))
    /// against a read on this thread; joins both.
    fn race_readers_and(lock: &Arc<Pair>, write: impl FnOnce(&Pair) + Send + 'static) {
        let l1 = lock.clone();
        let reader = loom::thread::spawn(move || read_whole(&l1));
        let l2 = lock.clone();
        let writer = loom::thread::spawn(move || write(&l2));
        read_whole(lock);
        reader.join().unwrap();
        writer.join().unwrap();
    }

    fn set_pair(mut g: WriteGuard<'_, (u32, u32), ()>) {
        g.0 = 1;
        g.1 = 1;
    }

    /// A writer against readers on both stripes (threads 0 and 2 share stripe 0,
    /// thread 1 has stripe 1): every reader sees the pair whole, old or new.
    #[test]
    fn readers_on_two_stripes_race_a_writer() {
        model(|| {
            let lock = Arc::new(Pair::new((0, 0), 2));
            race_readers_and(&lock, |l| set_pair(l.write()));
            assert_eq!(*lock.read(), (1, 1));
        });
    }

    /// Two readers share the only stripe while a writer drains it: the writer sleeps
    /// until the last reader leaves, a reader that met the writer sleeps until it
    /// unlocks (`PARKED`), and each sees the pair whole.
    #[test]
    fn two_readers_on_one_stripe_race_a_writer() {
        model(|| {
            let lock = Arc::new(Pair::new((0, 0), 1));
            race_readers_and(&lock, |l| set_pair(l.write()));
        });
    }

    /// A writer closes the stripes while a reader of stripe 1 and one of stripe 0 come
    /// and go: each sees the pair whole, a reader asleep on stripe 1 is woken and moves
    /// to stripe 0, and afterwards the lock is closed (or, if the two readers met on
    /// stripe 0, open again), its stripes agree with its mode, and it works.
    #[test]
    fn closing_races_readers_on_both_stripes() {
        model(|| {
            let lock = Arc::new(Pair::new((0, 0), 2));
            drop(lock.read()); // the main thread takes stripe 0
            race_readers_and(&lock, |l| set_pair(l.write_then(Some(CLOSED))));
            assert_stripes_match_mode(&lock);
            assert_eq!(*lock.read(), (1, 1));
        });
    }

    /// In a closed lock, two readers meet on stripe 0 while a writer writes: each sees
    /// the pair whole; the first out sets `WANT` and the last out tries to open, as
    /// the writer comes and goes (its unlock clears `WANT`); afterwards the stripes
    /// agree with the mode, and the lock works.
    #[test]
    fn readers_that_meet_in_a_closed_lock_race_a_writer() {
        model(|| {
            let lock = Arc::new(Pair::new((0, 0), 2));
            lock.set_open(false);
            race_readers_and(&lock, |l| set_pair(l.write()));
            assert_stripes_match_mode(&lock);
            assert_eq!(*lock.read(), (1, 1));
        });
    }

    /// Open stripes have `WRITER` clear, closed ones set.
    fn assert_stripes_match_mode(lock: &Pair) {
        let open = lock.is_open();
        for s in lock.rest.iter() {
            assert_eq!(
                s.state.load(Relaxed) & WRITER == 0,
                open,
                "stripes match mode"
            );
        }
    }

    /// From closed, a reader's `try_open` races a writer and a reader of stripe 1 with
    /// a stale hint: the pair is never torn, no write is lost.
    #[test]
    fn opening_races_a_writer_and_a_reader() {
        model(|| {
            let lock = Arc::new(StripedRwLock::<(u32, u32)>::new((0, 0), 2));
            drop(lock.read()); // the main thread takes stripe 0
            lock.set_open(false);
            let l1 = lock.clone();
            let opener = loom::thread::spawn(move || l1.try_open());
            let l2 = lock.clone();
            let reader = loom::thread::spawn(move || {
                let g = l2.read();
                assert_eq!(g.0, g.1, "torn");
            });
            {
                let mut g = lock.write();
                g.0 += 1;
                g.1 += 1;
            }
            opener.join().unwrap();
            reader.join().unwrap();
            assert_eq!(*lock.read(), (1, 1));
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
