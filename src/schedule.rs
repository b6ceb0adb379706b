//! When each tick is due: tick `k` at `start + k / rate`, never drifting.
//!
//! Deadlines are computed from the fixed start, not from the previous tick,
//! so time spent handling a tick (or a late timer) never shifts the ticks
//! after it. Pure arithmetic on instants; the VM actor sleeps until
//! [`TickSchedule::next_due`].

use actix::clock::Instant;
use std::time::Duration;

/// The tick schedule of one VM.
#[derive(Debug, Clone, Copy)]
pub struct TickSchedule {
    start: Instant,
    rate: u32,
    /// The number of the next tick; the first is 1, one period after start.
    next: u64,
}

impl TickSchedule {
    pub fn new(start: Instant, rate: u32) -> Self {
        Self {
            start,
            rate,
            next: 1,
        }
    }

    /// When the next tick is due.
    pub fn next_due(&self) -> Instant {
        self.start + offset(self.next, self.rate)
    }

    /// Moves on to the following tick.
    pub fn advance(&mut self) {
        self.next += 1;
    }
}

/// The offset of tick `k` from the start, exact to the nanosecond.
pub fn offset(k: u64, rate: u32) -> Duration {
    let nanos = u128::from(k) * 1_000_000_000 / u128::from(rate.max(1));
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// How many ticks fall in `(start, start + runtime]`: the ticks a VM at
/// `rate` takes in a run of that length.
pub fn ticks_within(rate: u32, runtime: Duration) -> u64 {
    let ticks = runtime.as_nanos() * u128::from(rate) / 1_000_000_000;
    u64::try_from(ticks).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_evenly_spaced_from_the_start() {
        let start = Instant::now();
        let mut schedule = TickSchedule::new(start, 3);
        let mut due = Vec::new();
        for _ in 0..6 {
            due.push(schedule.next_due() - start);
            schedule.advance();
        }
        assert_eq!(due[0], Duration::from_nanos(333_333_333));
        assert_eq!(due[2], Duration::from_secs(1));
        assert_eq!(due[5], Duration::from_secs(2));
    }

    #[test]
    fn a_run_holds_rate_times_runtime_ticks() {
        assert_eq!(ticks_within(6, Duration::from_secs(60)), 360);
        assert_eq!(ticks_within(1000, Duration::from_millis(2_500)), 2_500);
        assert_eq!(ticks_within(3, Duration::from_millis(999)), 2);
        // The last tick is due exactly at the end, and it counts.
        assert_eq!(
            offset(ticks_within(7, Duration::from_secs(2)), 7),
            Duration::from_secs(2)
        );
    }
}
