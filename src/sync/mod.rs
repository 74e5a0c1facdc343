//! Crate-private synchronization shim.
//!
//! Normal builds use `parking_lot`; with `--cfg loom` the same names are loom's, so the
//! loom models in `tests/loom_*.rs` explore every interleaving of the real code. Only
//! what the crate uses is wrapped, with one API for both: `Mutex::lock` returns the
//! guard (loom's poisoning is ignored, as parking_lot has none) and `Condvar::wait`
//! takes and returns the guard; `atomic` and `cell` are the atomics and the
//! `UnsafeCell` of the crate's own protocols.
//!
//! The shards' lock is the crate's own [`StripedRwLock`] (module `striped`), written
//! over this shim's `atomic` and `cell`, so that loom checks its protocol too.

#[cfg(not(loom))]
mod imp {
    use parking_lot::MutexGuard;

    /// A mutex: `parking_lot::Mutex`.
    #[derive(Debug, Default)]
    pub(crate) struct Mutex<T>(parking_lot::Mutex<T>);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Mutex(parking_lot::Mutex::new(value))
        }

        #[inline]
        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            self.0.lock()
        }
    }

    /// A condition variable: `parking_lot::Condvar`.
    #[derive(Debug, Default)]
    pub(crate) struct Condvar(parking_lot::Condvar);

    impl Condvar {
        pub(crate) fn new() -> Self {
            Condvar(parking_lot::Condvar::new())
        }

        pub(crate) fn wait<'a, T>(&self, mut guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
            self.0.wait(&mut guard);
            guard
        }

        pub(crate) fn notify_all(&self) {
            self.0.notify_all();
        }
    }
}

#[cfg(loom)]
mod imp {
    use loom::sync::MutexGuard;

    /// A mutex: `loom::sync::Mutex`, poisoning ignored.
    #[derive(Debug)]
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Mutex(loom::sync::Mutex::new(value))
        }

        #[inline]
        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            self.0.lock().unwrap_or_else(|e| e.into_inner())
        }
    }

    /// A condition variable: `loom::sync::Condvar`.
    #[derive(Debug)]
    pub(crate) struct Condvar(loom::sync::Condvar);

    impl Condvar {
        pub(crate) fn new() -> Self {
            Condvar(loom::sync::Condvar::new())
        }

        pub(crate) fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
            self.0.wait(guard).unwrap_or_else(|e| e.into_inner())
        }

        pub(crate) fn notify_all(&self) {
            self.0.notify_all();
        }
    }
}

pub(crate) use imp::{Condvar, Mutex};

/// The atomics of the crate's own protocols (the shard lock, the semantic cache's
/// generation counters): `std`'s, or loom's under `--cfg loom`, so that the loom models
/// see every load and store.
pub(crate) mod atomic {
    #[cfg(not(loom))]
    pub(crate) use std::sync::atomic::{
        AtomicBool, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering,
    };

    #[cfg(loom)]
    pub(crate) use loom::sync::atomic::{
        AtomicBool, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering,
    };
}

/// An `UnsafeCell` with loom's API (`get` and `get_mut` return pointers whose `deref`
/// is `unsafe`), so that one lock implementation runs in both builds and loom tracks
/// every access made through a guard (the pattern loom's docs give). Its `unsafe` is
/// the two `deref`s, whose callers (the lock's guards) carry the proof.
#[allow(unsafe_code)]
pub(crate) mod cell {
    #[cfg(loom)]
    pub(crate) use loom::cell::{ConstPtr, MutPtr, UnsafeCell};

    #[cfg(not(loom))]
    mod imp {
        /// `std::cell::UnsafeCell` behind loom's API.
        #[derive(Debug)]
        pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

        /// A pointer for shared access (loom's `ConstPtr`).
        #[derive(Debug)]
        pub(crate) struct ConstPtr<T>(*const T);

        /// A pointer for exclusive access (loom's `MutPtr`).
        #[derive(Debug)]
        pub(crate) struct MutPtr<T>(*mut T);

        impl<T> UnsafeCell<T> {
            pub(crate) const fn new(value: T) -> Self {
                UnsafeCell(std::cell::UnsafeCell::new(value))
            }

            #[inline(always)]
            pub(crate) fn get(&self) -> ConstPtr<T> {
                ConstPtr(self.0.get())
            }

            #[inline(always)]
            pub(crate) fn get_mut(&self) -> MutPtr<T> {
                MutPtr(self.0.get())
            }
        }

        impl<T> ConstPtr<T> {
            /// # Safety
            ///
            /// No `&mut T` to the value may exist while the returned reference lives.
            #[inline(always)]
            pub(crate) unsafe fn deref(&self) -> &T {
                // SAFETY: the pointer comes from a live `UnsafeCell` (the lock outlives
                // its guards); the caller rules out a concurrent `&mut T`.
                unsafe { &*self.0 }
            }
        }

        impl<T> MutPtr<T> {
            /// # Safety
            ///
            /// No other reference to the value may exist while the returned one lives.
            #[inline(always)]
            #[allow(clippy::mut_from_ref)]
            pub(crate) unsafe fn deref(&self) -> &mut T {
                // SAFETY: the pointer comes from a live `UnsafeCell` (the lock outlives
                // its guards); the caller rules out every other reference.
                unsafe { &mut *self.0 }
            }
        }
    }

    #[cfg(not(loom))]
    pub(crate) use imp::{ConstPtr, MutPtr, UnsafeCell};
}

mod striped;
pub(crate) use striped::{StripedRwLock, stripes_for};
