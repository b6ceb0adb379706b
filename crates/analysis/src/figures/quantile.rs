//! Quantiles of a stream in bounded memory.
//!
//! Two shapes of data need a p95: clock jumps, which are small integers, so an exact count map
//! ([`Counts`]) costs a few entries; and message waits, which are continuous, so
//! [`LogHistogram`] buckets them with under 1.6% relative error (64 buckets per power of two,
//! the idea of HDR histograms) in a fixed 3.8k-bucket table, whatever the run length.

use std::collections::BTreeMap;

/// Exact counts of integer values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Counts(BTreeMap<i64, u64>);

impl Counts {
    pub(crate) fn add(&mut self, value: i64) {
        *self.0.entry(value).or_default() += 1;
    }

    pub(crate) fn total(&self) -> u64 {
        self.0.values().sum()
    }

    pub(crate) fn mean(&self) -> f64 {
        let total = self.total();
        if total == 0 {
            return 0.0;
        }
        let sum: f64 = self.0.iter().map(|(&v, &n)| v as f64 * n as f64).sum();
        sum / total as f64
    }

    pub(crate) fn max(&self) -> Option<i64> {
        self.0.keys().next_back().copied()
    }

    /// The nearest-rank quantile `q` in 0..=1.
    pub(crate) fn quantile(&self, q: f64) -> Option<i64> {
        let rank = rank(self.total(), q)?;
        let mut seen = 0;
        for (&v, &n) in &self.0 {
            seen += n;
            if seen >= rank {
                return Some(v);
            }
        }
        None
    }

    /// (value, count) pairs in value order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (i64, u64)> + '_ {
        self.0.iter().map(|(&v, &n)| (v, n))
    }
}

/// Log-bucketed histogram of non-negative integers (microseconds here).
#[derive(Debug, Clone, Default)]
pub(crate) struct LogHistogram {
    counts: Vec<u64>,
    total: u64,
    min: u64,
    max: u64,
}

/// Values below 2^SUB_BITS get a bucket each; above, each power of two is split in 2^(SUB_BITS-1).
const SUB_BITS: u32 = 7;
const LINEAR: u64 = 1 << SUB_BITS;
const HALF: u64 = LINEAR / 2;
const BUCKETS: usize = (LINEAR + (64 - SUB_BITS as u64) * HALF) as usize;

impl LogHistogram {
    pub(crate) fn add(&mut self, value: u64) {
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS];
        }
        self.counts[bucket(value)] += 1;
        self.min = if self.total == 0 {
            value
        } else {
            self.min.min(value)
        };
        self.total += 1;
        self.max = self.max.max(value);
    }

    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    /// The nearest-rank quantile `q` in 0..=1, within a bucket's width, and never outside the
    /// smallest and largest value seen (so a run of equal values gives that value exactly).
    pub(crate) fn quantile(&self, q: f64) -> Option<u64> {
        let rank = rank(self.total, q)?;
        let mut seen = 0;
        for (i, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Some(midpoint(i).clamp(self.min, self.max));
            }
        }
        None
    }
}

fn rank(total: u64, q: f64) -> Option<u64> {
    if total == 0 {
        return None;
    }
    Some(((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).clamp(1, total))
}

fn bucket(v: u64) -> usize {
    if v < LINEAR {
        return v as usize;
    }
    let e = 63 - v.leading_zeros(); // >= SUB_BITS
    let sub = v >> (e - SUB_BITS + 1); // in HALF..LINEAR
    (LINEAR + u64::from(e - SUB_BITS) * HALF + (sub - HALF)) as usize
}

fn midpoint(i: usize) -> u64 {
    let i = i as u64;
    if i < LINEAR {
        return i;
    }
    let k = i - LINEAR;
    let shift = k / HALF + 1;
    let low = (k % HALF + HALF) << shift;
    low + ((1u64 << shift) >> 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_give_exact_figures() {
        let mut c = Counts::default();
        for v in (1..=100).chain([1000]) {
            c.add(v);
        }
        assert_eq!(c.total(), 101);
        assert_eq!(c.max(), Some(1000));
        assert_eq!(c.quantile(0.95), Some(96));
        assert_eq!(c.quantile(1.0), Some(1000));
        assert!((c.mean() - 6050.0 / 101.0).abs() < 1e-9);
        assert_eq!(Counts::default().quantile(0.5), None);
    }

    #[test]
    fn buckets_are_monotone_and_cover_u64() {
        let mut last = 0;
        for v in (0..5000u64).chain([u64::MAX / 2, u64::MAX]) {
            let b = bucket(v);
            assert!(b >= last && b < BUCKETS, "{v}");
            last = b;
        }
    }

    #[test]
    fn histogram_quantiles_are_within_two_percent() {
        let mut h = LogHistogram::default();
        for v in 1..=100_000u64 {
            h.add(v * 7);
        }
        for (q, exact) in [(0.5, 350_000.0), (0.95, 665_000.0), (1.0, 700_000.0)] {
            let got = h.quantile(q).unwrap() as f64;
            assert!((got - exact).abs() / exact < 0.02, "q{q}: {got} vs {exact}");
        }
        assert_eq!(h.quantile(1.0), Some(700_000));
    }

    #[test]
    fn equal_values_give_that_value() {
        let mut h = LogHistogram::default();
        h.add(50_000);
        h.add(50_000);
        assert_eq!(h.quantile(0.95), Some(50_000));
    }

    #[test]
    fn small_values_are_exact() {
        let mut h = LogHistogram::default();
        for v in [3, 3, 3, 9, 120] {
            h.add(v);
        }
        assert_eq!(h.quantile(0.5), Some(3));
        assert_eq!(h.quantile(0.95), Some(120));
    }
}
