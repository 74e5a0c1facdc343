//! [`RedisLeases`]: the [`LeaseStore`] on a Redis (or Valkey) server, behind the `redis`
//! cargo feature.
//!
//! # Keys
//!
//! For a lock key `K` and the store's prefix `P` (`polycache:` by default):
//!
//! | key | type | what |
//! |---|---|---|
//! | `P` `lock:{K}` | string | the holder's token, with the lease's TTL as the key's expiry |
//! | `P` `fence:{K}` | integer | the last fence handed out for `K` (kept for ever: that is what keeps fences increasing across expiries) |
//! | `P` `wake:{K}` | list | one element pushed by a release, popped by one blocked acquirer (expires after a second) |
//!
//! The braces are a Redis Cluster hash tag: the three keys of one lock share a slot, so
//! every script touches one slot.
//!
//! # Operations
//!
//! Each is one Lua script (`EVALSHA`, falling back to `EVAL` when the server does not
//! have it cached), so each is atomic on the server:
//!
//! - acquire: `SET lock token NX PX ttl`, and on success `INCR fence` (acquire and fence
//!   are one atomic step); on failure it answers the lease's `PTTL`;
//! - renew: `GET lock == token` then `PEXPIRE lock ttl` (compare and expire);
//! - release: `GET lock == token` then `DEL lock`, and push one wake-up to `wake`
//!   (compare and delete);
//! - holder: `GET lock`, `PTTL lock`, `GET fence`.
//!
//! The server's clock decides expiry (millisecond resolution: a TTL is rounded up to a
//! whole millisecond). A blocked acquirer ([`LeaseStore::acquire_timeout`]) waits with
//! `BLPOP wake` for at most the lease's remaining time and its own, so it wakes on a
//! release, on the expiry, or at its deadline, and never polls.
//!
//! Connections are kept in a small pool; a connection that saw an error is dropped.

use std::time::{Duration, Instant};

use redis::{Connection, RedisError, Script};

use super::{LeaseInfo, LeaseStore, LockError, check_key_token, ttl_nanos};

/// How long a release's wake-up waits in the list for a blocked acquirer.
const WAKE_TTL_MS: u64 = 1000;
/// Idle connections kept for reuse.
const POOL_IDLE: usize = 16;
/// The longest single `BLPOP` (a waiter with no deadline wakes this often at most).
const MAX_BLOCK: Duration = Duration::from_secs(3600);

const ACQUIRE: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('INCR', KEYS[2])}
end
return {0, redis.call('PTTL', KEYS[1])}
";

const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
";

const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('DEL', KEYS[2])
  redis.call('RPUSH', KEYS[2], '1')
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
  return 1
end
return 0
";

const HOLDER: &str = r"
local t = redis.call('GET', KEYS[1])
if not t then return false end
return {t, redis.call('PTTL', KEYS[1]), tonumber(redis.call('GET', KEYS[2]) or '0')}
";

/// The lease store on a Redis or Valkey server (feature `redis`).
///
/// ```no_run
/// use std::time::Duration;
/// use polycache::locks::{LeaseStore, RedisLeases};
///
/// let leases = RedisLeases::open("redis://127.0.0.1:6379/")?.with_prefix("myapp:");
/// if let Some(fence) = leases.try_acquire("job:42", "worker-a", Duration::from_secs(5))? {
///     // ... write to the resource, passing `fence` along ...
///     leases.release("job:42", "worker-a")?;
/// }
/// # Ok::<(), polycache::locks::LockError>(())
/// ```
pub struct RedisLeases {
    client: redis::Client,
    pool: parking_lot::Mutex<Vec<Connection>>,
    prefix: String,
    io_timeout: Duration,
    acquire: Script,
    renew: Script,
    release: Script,
    holder: Script,
}

fn backend(e: RedisError) -> LockError {
    LockError::Backend(e.to_string())
}

/// A TTL in whole milliseconds, rounded up (checked like the in-process table's).
fn ttl_millis(ttl: Duration) -> Result<u64, LockError> {
    Ok(ttl_nanos(ttl)?.div_ceil(1_000_000))
}

impl RedisLeases {
    /// Connects to the server at `url` (for example `redis://127.0.0.1:6379/0`) and checks
    /// that it answers a `PING`, within 2 seconds.
    ///
    /// ```no_run
    /// use polycache::locks::RedisLeases;
    /// let leases = RedisLeases::open("redis://127.0.0.1:6379/")?;
    /// # Ok::<(), polycache::locks::LockError>(())
    /// ```
    pub fn open(url: &str) -> Result<Self, LockError> {
        let client = redis::Client::open(url).map_err(backend)?;
        let store = RedisLeases {
            client,
            pool: parking_lot::Mutex::new(Vec::new()),
            prefix: "polycache:".to_owned(),
            io_timeout: Duration::from_secs(10),
            acquire: Script::new(ACQUIRE),
            renew: Script::new(RENEW),
            release: Script::new(RELEASE),
            holder: Script::new(HOLDER),
        };
        let mut con = store.connect(Duration::from_secs(2))?;
        redis::cmd("PING")
            .query::<String>(&mut con)
            .map_err(backend)?;
        store.pool.lock().push(con);
        Ok(store)
    }

    /// Puts every key this store uses under `prefix` (default `polycache:`), so that
    /// several applications, or test runs, can share a server.
    ///
    /// ```no_run
    /// use polycache::locks::RedisLeases;
    /// let leases = RedisLeases::open("redis://127.0.0.1:6379/")?.with_prefix("billing:");
    /// assert_eq!(leases.prefix(), "billing:");
    /// # Ok::<(), polycache::locks::LockError>(())
    /// ```
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The key prefix.
    ///
    /// ```no_run
    /// # use polycache::locks::RedisLeases;
    /// let leases = RedisLeases::open("redis://127.0.0.1:6379/")?;
    /// assert_eq!(leases.prefix(), "polycache:");
    /// # Ok::<(), polycache::locks::LockError>(())
    /// ```
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn connect(&self, timeout: Duration) -> Result<Connection, LockError> {
        let con = self
            .client
            .get_connection_with_timeout(timeout)
            .map_err(backend)?;
        con.set_read_timeout(Some(self.io_timeout))
            .map_err(backend)?;
        con.set_write_timeout(Some(self.io_timeout))
            .map_err(backend)?;
        Ok(con)
    }

    /// Runs `f` on a pooled connection; the connection goes back to the pool only if
    /// `f` succeeded.
    fn with_con<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, RedisError>,
    ) -> Result<T, LockError> {
        let pooled = self.pool.lock().pop();
        let mut con = match pooled {
            Some(con) => con,
            None => self.connect(self.io_timeout)?,
        };
        let out = f(&mut con).map_err(backend)?;
        let mut pool = self.pool.lock();
        if pool.len() < POOL_IDLE {
            pool.push(con);
        }
        Ok(out)
    }

    fn key(&self, kind: &str, key: &str) -> String {
        format!("{}{kind}:{{{key}}}", self.prefix)
    }

    /// One acquire attempt: `Ok(fence)` or `Err(pttl)` of the lease in the way.
    fn attempt(&self, key: &str, token: &str, ttl_ms: u64) -> Result<Result<u64, i64>, LockError> {
        let (lock, fence) = (self.key("lock", key), self.key("fence", key));
        let (won, n): (i64, i64) = self.with_con(|con| {
            self.acquire
                .key(&lock)
                .key(&fence)
                .arg(token)
                .arg(ttl_ms)
                .invoke(con)
        })?;
        Ok(if won == 1 {
            Ok(u64::try_from(n).unwrap_or(0))
        } else {
            Err(n)
        })
    }
}

impl LeaseStore for RedisLeases {
    fn try_acquire(&self, key: &str, token: &str, ttl: Duration) -> Result<Option<u64>, LockError> {
        check_key_token(key, token)?;
        let ttl_ms = ttl_millis(ttl)?;
        Ok(self.attempt(key, token, ttl_ms)?.ok())
    }

    fn acquire_timeout(
        &self,
        key: &str,
        token: &str,
        ttl: Duration,
        timeout: Duration,
    ) -> Result<Option<u64>, LockError> {
        check_key_token(key, token)?;
        let ttl_ms = ttl_millis(ttl)?;
        let give_up = Instant::now().checked_add(timeout);
        let wake = self.key("wake", key);
        loop {
            let pttl = match self.attempt(key, token, ttl_ms)? {
                Ok(fence) => return Ok(Some(fence)),
                Err(pttl) => pttl,
            };
            let now = Instant::now();
            let left = match give_up {
                Some(at) if now >= at => return Ok(None),
                Some(at) => at - now,
                None => MAX_BLOCK,
            };
            let lease_left = match u64::try_from(pttl) {
                Ok(ms) => Duration::from_millis(ms),
                // -1: a key without expiry (not set by this store): wait for a release.
                Err(_) if pttl == -1 => MAX_BLOCK,
                // -2: gone already: try again at once (after the shortest block).
                Err(_) => Duration::ZERO,
            };
            // BLPOP's timeout 0 means "for ever": block at least a millisecond.
            let block = left
                .min(lease_left)
                .min(MAX_BLOCK)
                .max(Duration::from_millis(1));
            let io = self.io_timeout;
            self.with_con(|con| {
                con.set_read_timeout(Some(block + io))?;
                let _: Option<(String, String)> = redis::cmd("BLPOP")
                    .arg(&wake)
                    .arg(block.as_secs_f64())
                    .query(con)?;
                con.set_read_timeout(Some(io))
            })?;
        }
    }

    fn renew(&self, key: &str, token: &str, ttl: Duration) -> Result<bool, LockError> {
        check_key_token(key, token)?;
        let ttl_ms = ttl_millis(ttl)?;
        let lock = self.key("lock", key);
        let done: i64 =
            self.with_con(|con| self.renew.key(&lock).arg(token).arg(ttl_ms).invoke(con))?;
        Ok(done == 1)
    }

    fn release(&self, key: &str, token: &str) -> Result<bool, LockError> {
        check_key_token(key, token)?;
        let (lock, wake) = (self.key("lock", key), self.key("wake", key));
        let done: i64 = self.with_con(|con| {
            self.release
                .key(&lock)
                .key(&wake)
                .arg(token)
                .arg(WAKE_TTL_MS)
                .invoke(con)
        })?;
        Ok(done == 1)
    }

    fn holder(&self, key: &str) -> Result<Option<LeaseInfo>, LockError> {
        if key.is_empty() {
            return Err(LockError::EmptyKey);
        }
        let (lock, fence) = (self.key("lock", key), self.key("fence", key));
        let found: Option<(String, i64, i64)> =
            self.with_con(|con| self.holder.key(&lock).key(&fence).invoke(con))?;
        Ok(found.map(|(token, pttl, fence)| LeaseInfo {
            token,
            // Less than a millisecond left reads as 1 ms (the lease is still held); a
            // key without expiry (not set by this store) as the longest duration.
            remaining: match u64::try_from(pttl) {
                Ok(ms) => Duration::from_millis(ms.max(1)),
                Err(_) => Duration::MAX,
            },
            fence: u64::try_from(fence).unwrap_or(0),
        }))
    }
}

impl std::fmt::Debug for RedisLeases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLeases")
            .field(
                "server",
                &self.client.get_connection_info().addr().to_string(),
            )
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}
