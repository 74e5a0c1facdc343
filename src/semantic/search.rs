//! The numeric core: normalization, the scan kernel, and the score rule.
//!
//! # The kernel
//!
//! [`dot`] multiplies two `f32` slices with [`LANES`] independent accumulators (one
//! per lane of a chunk of `LANES` components), then adds the accumulators pairwise and
//! the tail last. Written so, LLVM keeps the accumulators in vector registers (four
//! 128-bit registers with the baseline x86-64 target, two 256-bit ones with AVX2): the
//! loop is a stream of vector loads, multiplies and adds, without `unsafe` or
//! intrinsics. The order of additions is fixed by the code, not by the target, so a
//! score is the same on every machine (Rust never contracts `a * b + c` into an FMA).
//!
//! # The score rule
//!
//! Stored vectors and queries are unit vectors ([`normalize_into`]), so a score is a
//! dot product. Rounding makes it inexact by at most [`snap_window`]`(dim)`, so:
//!
//! - a raw score at or above `1 - snap_window(dim)` is reported as exactly `1.0` (an
//!   entry's own vector, or a vector parallel to it, finds it at `min_score = 1.0`);
//! - a raw score below `-1.0` is reported as `-1.0`;
//! - otherwise the raw `f32` score is reported as computed;
//! - an entry matches when its *reported* score is `>= min_score`: no other tolerance.
//!
//! So when the arithmetic is exact (components that are multiples of powers of two, as
//! with axis-aligned test vectors) the boundary is exact: a vector at cosine `c` hits at
//! `min_score = c` and misses at the next `f32` above `c`, for any `c` below
//! `1 - snap_window(dim)`; otherwise the boundary is blurred by at most the window.

use super::error::SemanticError;

/// Independent accumulators of the kernel (16 `f32`: four SSE or two AVX registers).
pub const LANES: usize = 16;

/// A vector whose squared norm is within this of `1` is stored as given: rescaling it
/// would change it by less than its own rounding, and keeping it keeps exact inputs
/// exact.
pub const NORM_TOLERANCE: f64 = 1.0 / (1u64 << 22) as f64;

/// The bound on the rounding error of a score between two stored unit vectors of
/// `dim` components: the norm tolerance, plus `u = 2^-24` for each addition on the
/// longest path of the kernel's sum (`ceil(dim / LANES)` per accumulator, the tail,
/// the pairwise reduction), with margin.
///
/// ```
/// use polycache::semantic::snap_window;
/// assert!(snap_window(384) < 4e-6); // about 3.1e-6
/// assert!(snap_window(384) > snap_window(16));
/// ```
pub fn snap_window(dim: usize) -> f32 {
    let u = 1.0 / (1u64 << 24) as f64;
    let steps = dim.div_ceil(LANES) + LANES + 8;
    (NORM_TOLERANCE + steps as f64 * u) as f32
}

/// The dot product of `a` and `b` (equal lengths), with the fixed summation order
/// described in the [module docs](self).
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f32; LANES];
    let ca = a.chunks_exact(LANES);
    let cb = b.chunks_exact(LANES);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    let mut tail = 0.0f32;
    for (x, y) in ra.iter().zip(rb) {
        tail += x * y;
    }
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for i in 0..width {
            acc[i] += acc[i + width];
        }
    }
    acc[0] + tail
}

/// Checks `v` (finite, non-empty, not zero) and writes its unit vector into `out`.
///
/// The squared norm is summed in `f64` (no `f32` vector can overflow or underflow it);
/// a vector already of unit length within [`NORM_TOLERANCE`] is copied as is,
/// otherwise each component is scaled in `f64` and rounded once to `f32`.
pub(crate) fn normalize_into(v: &[f32], out: &mut Vec<f32>) -> Result<(), SemanticError> {
    if v.is_empty() {
        return Err(SemanticError::EmptyEmbedding);
    }
    let mut norm2 = 0.0f64;
    for (index, &x) in v.iter().enumerate() {
        if !x.is_finite() {
            return Err(SemanticError::NonFinite { index });
        }
        norm2 += f64::from(x) * f64::from(x);
    }
    if norm2 == 0.0 {
        return Err(SemanticError::ZeroVector);
    }
    out.clear();
    if (norm2 - 1.0).abs() <= NORM_TOLERANCE {
        out.extend_from_slice(v);
    } else {
        let inv = 1.0 / norm2.sqrt();
        out.extend(v.iter().map(|&x| (f64::from(x) * inv) as f32));
    }
    Ok(())
}

/// A search threshold, turned into what the scan compares raw scores with.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Threshold {
    /// Raw scores at or above this are reported as `1.0`.
    pub(crate) snap_from: f32,
    /// A row is a candidate when its raw score is at or above this.
    pub(crate) scan: f32,
}

impl Threshold {
    /// Validates `min_score` (in `[-1, 1]`, not NaN) for vectors of `dim` components.
    pub(crate) fn new(min_score: f32, dim: usize) -> Result<Self, SemanticError> {
        if !(-1.0..=1.0).contains(&min_score) {
            return Err(SemanticError::InvalidThreshold(min_score));
        }
        let snap_from = 1.0 - snap_window(dim);
        let scan = if min_score <= -1.0 {
            f32::NEG_INFINITY
        } else {
            min_score.min(snap_from)
        };
        Ok(Threshold { snap_from, scan })
    }

    /// The reported score of raw score `raw` (see the [module docs](self)).
    #[inline]
    pub(crate) fn report(&self, raw: f32) -> f32 {
        if raw >= self.snap_from {
            1.0
        } else if raw < -1.0 {
            -1.0
        } else {
            raw
        }
    }

    /// The raw score a row needs to reach reported score `reported` (or tie with it).
    #[inline]
    pub(crate) fn gate_for(&self, reported: f32) -> f32 {
        if reported >= 1.0 {
            self.snap_from
        } else if reported <= -1.0 {
            f32::NEG_INFINITY
        } else {
            reported.max(self.scan)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], b: &[f32]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| f64::from(*x) * f64::from(*y))
            .sum()
    }

    #[test]
    fn dot_matches_f64_within_the_window() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        for dim in [1, 3, 15, 16, 17, 100, 384, 1000] {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let raw_a: Vec<f32> = (0..dim).map(|_| next()).collect();
            let raw_b: Vec<f32> = (0..dim).map(|_| next()).collect();
            normalize_into(&raw_a, &mut a).unwrap();
            normalize_into(&raw_b, &mut b).unwrap();
            let err = (f64::from(dot(&a, &b)) - naive(&a, &b)).abs();
            assert!(err <= f64::from(snap_window(dim)), "dim {dim}: err {err}");
            let self_dot = dot(&a, &a);
            assert!(self_dot >= 1.0 - snap_window(dim), "dim {dim}: {self_dot}");
        }
    }

    #[test]
    fn thresholds_outside_the_range_are_refused() {
        for bad in [f32::NAN, 1.0001, -1.0001, f32::INFINITY, f32::NEG_INFINITY] {
            assert!(Threshold::new(bad, 4).is_err(), "{bad}");
        }
        let t = Threshold::new(-1.0, 4).unwrap();
        assert_eq!(t.scan, f32::NEG_INFINITY);
        assert_eq!(t.report(-1.5), -1.0);
        let t = Threshold::new(1.0, 4).unwrap();
        assert_eq!(t.report(t.snap_from), 1.0);
        assert!(t.scan < 1.0);
    }

    #[test]
    fn normalization_keeps_unit_vectors_and_scales_others() {
        let mut out = Vec::new();
        normalize_into(&[0.6, 0.8], &mut out).unwrap();
        assert_eq!(out, [0.6, 0.8]);
        normalize_into(&[3.0, 4.0], &mut out).unwrap();
        assert_eq!(out, [0.6, 0.8]);
        normalize_into(&[f32::MAX, f32::MAX], &mut out).unwrap();
        assert!((out[0] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-7);
        normalize_into(&[1e-45, 0.0], &mut out).unwrap();
        assert_eq!(out, [1.0, 0.0]);
        assert_eq!(
            normalize_into(&[], &mut out),
            Err(SemanticError::EmptyEmbedding)
        );
        assert_eq!(
            normalize_into(&[0.0, -0.0], &mut out),
            Err(SemanticError::ZeroVector)
        );
        assert_eq!(
            normalize_into(&[1.0, f32::NEG_INFINITY], &mut out),
            Err(SemanticError::NonFinite { index: 1 })
        );
    }
}
