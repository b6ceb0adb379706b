//! Drift: each VM's clock against the highest clock at the same instant. Pure.
//!
//! Clocks change at different instants on different VMs, so they are compared on a fixed time
//! grid (every [`Drift::STEP_US`]): at each grid instant every VM's clock is the one after its
//! last event at or before that instant, and its gap is the leader's clock minus its own.
//! Sampling starts once every VM has logged something and ends at the first `stop`, so the
//! start-up and shut-down stagger does not count as drift.

use super::series::Series;

/// Accumulates the drift figures while the merged events advance time.
#[derive(Debug, Clone)]
pub(crate) struct Drift {
    origin_us: i64,
    next_us: Option<i64>,
    clocks: Vec<u64>,
    alive: Vec<bool>,
    waiting_for: usize,
    stopped: bool,
    sums: Vec<u64>,
    maxes: Vec<u64>,
    samples: u64,
    series: Vec<Series>,
}

/// Drift figures of one VM, in clock units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct VmDrift {
    pub(crate) mean: f64,
    pub(crate) max: u64,
}

impl Drift {
    /// The grid step: 10 ms, finer than the fastest VM's tick at the usual rates.
    pub(crate) const STEP_US: i64 = 10_000;
    /// A gap in the timestamps longer than this many grid steps is skipped, not sampled.
    const MAX_STEPS: i64 = 1_000_000;

    /// `vms` VMs; plot times are seconds since `origin_us`.
    pub(crate) fn new(vms: usize, origin_us: i64) -> Drift {
        Drift {
            origin_us,
            next_us: None,
            clocks: vec![0; vms],
            alive: vec![false; vms],
            waiting_for: vms,
            stopped: false,
            sums: vec![0; vms],
            maxes: vec![0; vms],
            samples: 0,
            series: vec![Series::default(); vms],
        }
    }

    /// Samples every grid instant before `time_us` with the clocks as they stand.
    pub(crate) fn advance(&mut self, time_us: i64) {
        if self.stopped {
            return;
        }
        let Some(mut next) = self.next_us else {
            return;
        };
        let steps = (time_us - next + Self::STEP_US - 1) / Self::STEP_US;
        if steps > Self::MAX_STEPS {
            next += (steps - 1) * Self::STEP_US;
        }
        while next < time_us {
            self.sample(next);
            next += Self::STEP_US;
        }
        self.next_us = Some(next);
    }

    /// VM `slot` has logged its first line at `time_us`.
    pub(crate) fn alive(&mut self, slot: usize, time_us: i64) {
        if self.alive[slot] {
            return;
        }
        self.alive[slot] = true;
        self.waiting_for -= 1;
        if self.waiting_for == 0 {
            let offset = (time_us - self.origin_us).max(0);
            let steps = (offset + Self::STEP_US - 1) / Self::STEP_US;
            self.next_us = Some(self.origin_us + steps * Self::STEP_US);
        }
    }

    pub(crate) fn set_clock(&mut self, slot: usize, lc: u64) {
        self.clocks[slot] = lc;
    }

    /// A VM stopped: from now on clocks stop moving one by one, so sampling ends.
    pub(crate) fn stop(&mut self) {
        self.stopped = true;
    }

    pub(crate) fn samples(&self) -> u64 {
        self.samples
    }

    /// Per-VM drift figures (zero if nothing was sampled).
    pub(crate) fn figures(&self) -> Vec<VmDrift> {
        self.sums
            .iter()
            .zip(&self.maxes)
            .map(|(&sum, &max)| VmDrift {
                mean: if self.samples == 0 {
                    0.0
                } else {
                    sum as f64 / self.samples as f64
                },
                max,
            })
            .collect()
    }

    /// Per-VM gap series for the drift plot.
    pub(crate) fn into_series(self) -> Vec<Series> {
        self.series
    }

    fn sample(&mut self, at_us: i64) {
        let leader = self.clocks.iter().copied().max().unwrap_or(0);
        let t = (at_us - self.origin_us) as f64 / 1e6;
        for (slot, &clock) in self.clocks.iter().enumerate() {
            let gap = leader - clock;
            self.sums[slot] += gap;
            self.maxes[slot] = self.maxes[slot].max(gap);
            self.series[slot].push(t, gap as f64);
        }
        self.samples += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_against_the_leader_on_the_grid() {
        // Two VMs from t=0: VM 0 reaches 10 at 5 ms, VM 1 reaches 4 at 15 ms, VM 0 stops at 25 ms.
        let mut d = Drift::new(2, 0);
        d.alive(0, 0);
        d.alive(1, 0);
        d.advance(5_000);
        d.set_clock(0, 10);
        d.advance(15_000);
        d.set_clock(1, 4);
        d.advance(25_000);
        d.stop();
        d.advance(1_000_000);
        // Grid instants 0, 10, 20 ms: gaps of VM 1 are 0, 10, 6; VM 0 always leads.
        assert_eq!(d.samples(), 3);
        let f = d.figures();
        assert_eq!(f[0], VmDrift { mean: 0.0, max: 0 });
        assert_eq!(
            f[1],
            VmDrift {
                mean: 16.0 / 3.0,
                max: 10
            }
        );
    }

    #[test]
    fn sampling_waits_for_every_vm_and_skips_huge_gaps() {
        let mut d = Drift::new(2, 0);
        d.alive(0, 0);
        d.advance(50_000);
        assert_eq!(d.samples(), 0);
        d.alive(1, 50_000);
        d.advance(10_i64.pow(15));
        assert!(d.samples() <= 2, "{}", d.samples());
    }
}
