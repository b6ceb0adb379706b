//! How late ticks fire against their schedule, in bounded memory.
//!
//! A VM at 1000 ticks/s makes 60,000 ticks a minute; keeping each lateness
//! would grow without bound. Instead ticks are counted in 10 µs buckets up
//! to 20 ms, then in 10 ms buckets up to 10 s (beyond that only the count
//! and the maximum are kept): exact enough for the p50/p99 figures the
//! `stop` line and the benchmarks report, and still meaningful when an
//! overloaded machine runs far behind, at 12 KB per histogram.

use std::time::Duration;

/// Fine buckets: 10 µs wide, up to 20 ms.
const FINE_US: u64 = 10;
const FINE: usize = 2_000;
/// Coarse buckets: 10 ms wide, from 20 ms up to 10 s.
const COARSE_US: u64 = 10_000;
const COARSE: usize = 998;
const FINE_END_US: u64 = FINE_US * FINE as u64;

/// A histogram of tick lateness.
#[derive(Debug, Clone)]
pub struct Lateness {
    buckets: Vec<u32>,
    beyond: u64,
    count: u64,
    max_us: u64,
}

impl Default for Lateness {
    fn default() -> Self {
        Self {
            buckets: vec![0; FINE + COARSE],
            beyond: 0,
            count: 0,
            max_us: 0,
        }
    }
}

impl Lateness {
    /// Records one tick that fired `late` after its due time.
    pub fn record(&mut self, late: Duration) {
        let us = late.as_micros().min(u128::from(u64::MAX)) as u64;
        match self.buckets.get_mut(Self::bucket_of(us)) {
            Some(bucket) => *bucket += 1,
            None => self.beyond += 1,
        }
        self.count += 1;
        self.max_us = self.max_us.max(us);
    }

    /// The lateness (µs, rounded up to the bucket) that a fraction `q` of
    /// ticks did not exceed; 0 with no ticks.
    pub fn quantile_us(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (i, &n) in self.buckets.iter().enumerate() {
            seen += u64::from(n);
            if seen >= rank {
                return Self::upper_edge_us(i).min(self.max_us);
            }
        }
        self.max_us
    }

    fn bucket_of(us: u64) -> usize {
        if us < FINE_END_US {
            (us / FINE_US) as usize
        } else {
            FINE + ((us - FINE_END_US) / COARSE_US) as usize
        }
    }

    /// The largest lateness bucket `i` holds.
    fn upper_edge_us(i: usize) -> u64 {
        if i < FINE {
            (i as u64 + 1) * FINE_US
        } else {
            FINE_END_US + (i - FINE + 1) as u64 * COARSE_US
        }
    }

    /// Adds another histogram's ticks to this one.
    pub fn merge(&mut self, other: &Lateness) {
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            *mine += theirs;
        }
        self.beyond += other.beyond;
        self.count += other.count;
        self.max_us = self.max_us.max(other.max_us);
    }

    pub fn max_us(&self) -> u64 {
        self.max_us
    }

    pub fn count(&self) -> u64 {
        self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_from_the_recorded_ticks() {
        let mut lateness = Lateness::default();
        for us in 0..100u64 {
            lateness.record(Duration::from_micros(us * 10 + 5));
        }
        assert_eq!(lateness.count(), 100);
        assert_eq!(lateness.quantile_us(0.5), 500);
        assert_eq!(lateness.quantile_us(0.99), 990);
        assert_eq!(lateness.max_us(), 995);
        assert_eq!(lateness.quantile_us(1.0), 995);
    }

    #[test]
    fn very_late_ticks_count_beyond_the_buckets() {
        let mut lateness = Lateness::default();
        lateness.record(Duration::from_micros(3));
        lateness.record(Duration::from_secs(1));
        // Rounded up to its 10 µs bucket.
        assert_eq!(lateness.quantile_us(0.5), 10);
        assert_eq!(lateness.quantile_us(0.99), 1_000_000);
        assert_eq!(Lateness::default().quantile_us(0.99), 0);
    }

    #[test]
    fn an_overloaded_run_still_has_a_median() {
        let mut lateness = Lateness::default();
        for ms in 100..200 {
            lateness.record(Duration::from_millis(ms));
        }
        lateness.record(Duration::from_secs(30));
        // Within one 10 ms bucket of the true median (150 ms).
        let p50 = lateness.quantile_us(0.5);
        assert!((150_000..=160_000).contains(&p50), "{p50}");
        assert_eq!(lateness.quantile_us(1.0), 30_000_000);
    }

    #[test]
    fn merged_histograms_count_both() {
        let mut a = Lateness::default();
        let mut b = Lateness::default();
        a.record(Duration::from_micros(15));
        b.record(Duration::from_micros(995));
        b.record(Duration::from_secs(2));
        a.merge(&b);
        assert_eq!(a.count(), 3);
        assert_eq!(a.quantile_us(0.5), 1_000);
        assert_eq!(a.max_us(), 2_000_000);
    }
}
