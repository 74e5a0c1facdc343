//! Monotonic time for deadlines.
//!
//! Policies read time only through a [`Clock`], and only when an entry has a deadline, so
//! a cache that never uses TTLs never reads the clock. Time is a count of nanoseconds
//! since an origin that the clock (and all its clones) share; it never goes backwards.
//! Deadlines are never wall-clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A source of monotonic time, in nanoseconds since an origin shared by all clones.
///
/// Implementations must be monotonic: a later call, on this clock or on any clone, never
/// returns less than an earlier one. Clones are handed to each shard of a sharded cache,
/// so they must share one origin.
pub trait Clock: Clone {
    /// Nanoseconds since this clock's origin.
    fn now_nanos(&self) -> u64;
}

/// The default clock: [`std::time::Instant`], measured from the clock's creation.
///
/// ```
/// use polycache_policies::{Clock, SystemClock};
/// let clock = SystemClock::new();
/// let a = clock.now_nanos();
/// assert!(clock.clone().now_nanos() >= a);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A clock whose origin is now.
    pub fn new() -> Self {
        SystemClock {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    #[inline]
    fn now_nanos(&self) -> u64 {
        // Saturates after 584 years of uptime.
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// A clock that moves only when told to: for tests, fuzzing and simulation.
///
/// Clones share the same time, so a test keeps one clone and advances it while the cache
/// (or every shard of it) holds the others.
///
/// ```
/// use std::time::Duration;
/// use polycache_policies::{Clock, ManualClock};
/// let clock = ManualClock::new();
/// let shard_view = clock.clone();
/// clock.advance(Duration::from_millis(5));
/// assert_eq!(shard_view.now_nanos(), 5_000_000);
/// ```
#[derive(Clone, Debug, Default)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock at time zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves time forward by `by` (saturating at `u64::MAX` nanoseconds).
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        // fetch_update never fails with a closure that always returns Some.
        let _ = self
            .nanos
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                Some(t.saturating_add(by))
            });
    }

    /// Moves time forward to `nanos`; earlier times are ignored, so time never goes back.
    pub fn advance_to(&self, nanos: u64) {
        self.nanos.fetch_max(nanos, Ordering::AcqRel);
    }
}

impl Clock for ManualClock {
    #[inline]
    fn now_nanos(&self) -> u64 {
        self.nanos.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_is_shared_and_never_goes_back() {
        let c = ManualClock::new();
        let d = c.clone();
        c.advance(Duration::from_nanos(10));
        d.advance_to(5);
        assert_eq!(c.now_nanos(), 10);
        d.advance_to(20);
        assert_eq!(c.now_nanos(), 20);
        c.advance(Duration::MAX);
        assert_eq!(d.now_nanos(), u64::MAX);
    }
}
