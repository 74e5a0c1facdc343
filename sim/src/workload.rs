//! The built-in synthetic workload: a Zipf mix with scans, from a seeded generator, so
//! that the simulator shows something on a fresh clone with no trace files.
//!
//! Requests come from a Zipf distribution (exponent 0.9) over a key space; now and then
//! a scan of keys never seen before sweeps through (the pattern that flushes an LRU),
//! and half-way through the popular keys change (the pattern that punishes a frequency
//! count that never forgets).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::trace::Trace;

/// Parameters of the synthetic workload.
#[derive(Clone, Debug)]
pub struct Synthetic {
    /// Number of requests.
    pub requests: usize,
    /// Distinct keys of the Zipf part.
    pub keys: usize,
    /// Zipf exponent.
    pub exponent: f64,
    /// A scan starts every this many requests.
    pub scan_every: usize,
    /// Length of each scan (fresh keys).
    pub scan_len: usize,
    /// Seed of the generator.
    pub seed: u64,
}

impl Default for Synthetic {
    fn default() -> Self {
        Synthetic {
            requests: 2_000_000,
            keys: 200_000,
            exponent: 0.9,
            scan_every: 200_000,
            scan_len: 30_000,
            seed: 42,
        }
    }
}

/// splitmix64: scatters key ids so that popular keys are not neighbours.
fn scatter(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Synthetic {
    /// Generates the trace.
    pub fn generate(&self) -> Trace {
        let mut rng = StdRng::seed_from_u64(self.seed);
        // Zipf by inversion: cumulative weights, then a binary search per draw.
        let mut cdf = Vec::with_capacity(self.keys);
        let mut sum = 0.0;
        for rank in 1..=self.keys {
            sum += 1.0 / (rank as f64).powf(self.exponent);
            cdf.push(sum);
        }
        let mut keys = Vec::with_capacity(self.requests);
        let mut fresh = 1u64 << 62;
        let mut since_scan = 0;
        while keys.len() < self.requests {
            if since_scan >= self.scan_every {
                since_scan = 0;
                for _ in 0..self.scan_len.min(self.requests - keys.len()) {
                    keys.push(scatter(fresh));
                    fresh += 1;
                }
                continue;
            }
            let u = rng.random::<f64>() * sum;
            let rank = cdf.partition_point(|&c| c < u) as u64;
            // The second half draws from a shifted popularity ranking.
            let shift = if keys.len() >= self.requests / 2 {
                self.keys as u64 / 3
            } else {
                0
            };
            keys.push(scatter((rank + shift) % self.keys as u64));
            since_scan += 1;
        }
        Trace {
            name: "synthetic".into(),
            keys,
            sizes: None,
            skipped: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_and_skewed() {
        let w = Synthetic {
            requests: 50_000,
            keys: 5_000,
            scan_every: 10_000,
            scan_len: 1_000,
            ..Synthetic::default()
        };
        let a = w.generate();
        assert_eq!(a.keys, w.generate().keys);
        assert_eq!(a.len(), 50_000);
        // The most popular key gets far more than its uniform share (10 of 50_000).
        let top = scatter(0);
        let n = a.keys.iter().filter(|&&k| k == top).count();
        assert!(n > 500, "top key drawn {n} times");
    }
}
