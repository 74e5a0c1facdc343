//! One conformance suite (`tests/locks_support`) for every lease store:
//!
//! - the in-process [`LockTable`] on a `ManualClock`, always;
//! - [`RedisLeases`](polycache::locks::RedisLeases) on a real server, when built with
//!   `--features redis` and `POLYCACHE_REDIS_URL` names a server that answers (real
//!   time, units of 25 ms). Otherwise the Redis test says why it skipped, on stderr
//!   (visible without `--nocapture`); with `POLYCACHE_REDIS_REQUIRED=1` (set by
//!   `.ci/redis.sh`) it fails instead.
//!
//! ```text
//! cargo test --test locks_conformance
//! POLYCACHE_REDIS_URL=redis://127.0.0.1:6390/ cargo test --features redis --test locks_conformance
//! ```

mod locks_support;

use std::time::Duration;

use locks_support::model::Timing;
use locks_support::{Env, conformance};
use polycache::ManualClock;
use polycache::locks::LockTable;

struct TableEnv {
    clock: ManualClock,
    table: LockTable<ManualClock>,
}

impl TableEnv {
    fn new() -> Self {
        let clock = ManualClock::new();
        let table = LockTable::with_shards(4, 11, clock.clone()).unwrap();
        TableEnv { clock, table }
    }
}

impl Env for TableEnv {
    type Store = LockTable<ManualClock>;

    fn store(&self) -> &Self::Store {
        &self.table
    }

    /// Long, so that a missed wake-up shows as a hang, not as a slightly slow test.
    fn unit(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn advance(&self, units: u32) {
        self.clock.advance(self.unit() * units);
        self.table.wake_waiters();
    }

    fn timing(&self) -> Timing {
        Timing::Exact
    }
}

#[test]
fn table_conformance() {
    conformance("table", TableEnv::new, 256);
}

/// Says why a test did not run, on stderr even while the harness captures output.
fn skip(reason: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED redis conformance: {reason}");
    if std::env::var_os("POLYCACHE_REDIS_REQUIRED").is_some_and(|v| v == "1") {
        panic!("POLYCACHE_REDIS_REQUIRED=1 but the Redis conformance cannot run: {reason}");
    }
}

#[cfg(not(feature = "redis"))]
#[test]
fn redis_conformance() {
    skip("built without the `redis` feature (cargo test --features redis)");
}

#[cfg(feature = "redis")]
mod redis_backend {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use polycache::locks::RedisLeases;

    use super::locks_support::model::Timing;
    use super::locks_support::{Env, conformance};
    use super::skip;

    pub(super) struct RedisEnv {
        store: RedisLeases,
    }

    static NEXT: AtomicU64 = AtomicU64::new(0);

    impl RedisEnv {
        /// A store under a prefix of its own: no two envs (nor two runs) share a key.
        fn new(url: &str) -> Self {
            let run = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let prefix = format!("polycache-test:{}:{run}:{n}:", std::process::id());
            let store = RedisLeases::open(url)
                .expect("the server answered a moment ago")
                .with_prefix(prefix);
            RedisEnv { store }
        }
    }

    impl Env for RedisEnv {
        type Store = RedisLeases;

        fn store(&self) -> &RedisLeases {
            &self.store
        }

        /// Real time on a shared machine: a scenario's margins are whole units (a
        /// renew due 3 units before expiry, say), and this VM stalls a thread for
        /// 100 ms now and then. At 25 ms a unit, one such stall failed CI
        /// (`renew_extends_from_now`); at 100 ms it takes a stall of 300 ms.
        fn unit(&self) -> Duration {
            Duration::from_millis(100)
        }

        fn advance(&self, units: u32) {
            std::thread::sleep(self.unit() * units);
        }

        fn timing(&self) -> Timing {
            Timing::Real
        }
    }

    #[test]
    fn redis_conformance() {
        let Some(url) = std::env::var("POLYCACHE_REDIS_URL")
            .ok()
            .filter(|u| !u.is_empty())
        else {
            return skip("POLYCACHE_REDIS_URL is not set (see .ci/redis.sh)");
        };
        if let Err(e) = RedisLeases::open(&url) {
            return skip(&format!("no Redis server answers at {url}: {e}"));
        }
        conformance("redis", || RedisEnv::new(&url), 12);
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "redis conformance: every scenario and 12 model cases passed against {url}"
        );
    }
}
