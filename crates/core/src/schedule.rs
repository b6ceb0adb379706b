//! When each tick is due: tick `k` at `origin + k / rate`, never drifting.
//!
//! Deadlines are computed from a fixed origin, not from the previous tick,
//! so time spent handling a tick (or a late timer) never shifts the ticks
//! after it. Pure arithmetic on instants; the VM actor sleeps until
//! the tick's due instant, which the fault timeline
//! ([`crate::fault_timeline`]) reads through [`offset`].
//!
//! **Phases.** Machines that start at different moments tick out of step:
//! a VM's first tick falls anywhere within its first period. So each VM's
//! origin lies a *lead* before the run's common start, drawn from the run
//! seed in `[0, period)` ([`TickPhase::Random`], the default), and its first
//! tick comes `period - lead` after the start. [`TickPhase::Aligned`] keeps
//! every lead at zero: every VM's first tick one period after the start, so
//! VMs at equal rates tick at the very same instants and never see a message
//! arrive between their ticks (a special case, kept for comparison).
//! A lead shorter than a period never changes how many ticks a run holds:
//! `rate x runtime` when that is whole ([`ticks_within`]).

use crate::model::derive_seed;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Where each VM's first tick falls within its first period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TickPhase {
    /// At a random offset drawn from the run seed, as on machines started
    /// at different moments.
    #[default]
    Random,
    /// One period after the common start, for every VM.
    Aligned,
}

impl TickPhase {
    /// The words a settings file uses.
    pub const NAMES: [&'static str; 2] = ["random", "aligned"];
}

/// The seed stream of the phase draw, apart from the rates' (0), the VMs'
/// (their ids) and the delays'.
const PHASE_STREAM: u64 = 1 << 22;

/// Each VM's lead (see the module comment) for the given rates: drawn
/// uniformly in whole nanoseconds from `[0, period)` with the run seed, or
/// all zero when aligned. Its own seed stream, so the rates, the die rolls
/// and the delays stay what they were.
pub fn draw_tick_leads(run_seed: u64, rates: &[u32], phase: TickPhase) -> Vec<Duration> {
    match phase {
        TickPhase::Aligned => vec![Duration::ZERO; rates.len()],
        TickPhase::Random => {
            let mut rng = StdRng::seed_from_u64(derive_seed(run_seed, PHASE_STREAM));
            rates
                .iter()
                .map(|&rate| {
                    let period = offset(1, rate).as_nanos() as u64;
                    Duration::from_nanos(rng.random_range(0..period.max(1)))
                })
                .collect()
        }
    }
}

/// When the first tick falls after the start, for a VM with this lead.
pub fn first_tick_after(rate: u32, lead: Duration) -> Duration {
    offset(1, rate).saturating_sub(lead)
}

/// The offset of tick `k` from the start, exact to the nanosecond.
pub fn offset(k: u64, rate: u32) -> Duration {
    let nanos = u128::from(k) * 1_000_000_000 / u128::from(rate.max(1));
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// How many ticks fall in `(start, start + runtime]` for a VM at `rate`
/// whose schedule leads the start by `lead`: the ticks it takes in a run of
/// that length (tick `k` is due at `offset(k) - lead`).
pub fn ticks_within(rate: u32, runtime: Duration, lead: Duration) -> u64 {
    let ticks = (runtime + lead).as_nanos() * u128::from(rate) / 1_000_000_000;
    u64::try_from(ticks).unwrap_or(u64::MAX)
}

/// How many ticks fall before `at` (measured from the start, excluded) for
/// a VM at `rate` whose schedule leads the start by `lead`: the count of
/// `k >= 1` with `offset(k) - lead < at`.
pub(crate) fn ticks_before(rate: u32, lead: Duration, at: Duration) -> u64 {
    // offset(k) = floor(k * 1e9 / rate) ns is below x exactly when
    // k * 1e9 / rate is, that is k < x * rate / 1e9.
    let x = (at + lead).as_nanos() * u128::from(rate.max(1));
    let below = x.div_ceil(1_000_000_000).saturating_sub(1);
    u64::try_from(below).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_evenly_spaced_from_the_start() {
        let due: Vec<Duration> = (1..=6).map(|k| offset(k, 3)).collect();
        assert_eq!(due[0], Duration::from_nanos(333_333_333));
        assert_eq!(due[2], Duration::from_secs(1));
        assert_eq!(due[5], Duration::from_secs(2));
    }

    #[test]
    fn a_run_holds_rate_times_runtime_ticks() {
        let aligned = Duration::ZERO;
        assert_eq!(ticks_within(6, Duration::from_secs(60), aligned), 360);
        assert_eq!(
            ticks_within(1000, Duration::from_millis(2_500), aligned),
            2_500
        );
        assert_eq!(ticks_within(3, Duration::from_millis(999), aligned), 2);
        // The last tick is due exactly at the end, and it counts.
        assert_eq!(
            offset(ticks_within(7, Duration::from_secs(2), aligned), 7),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn a_lead_moves_the_ticks_earlier_but_keeps_their_count() {
        let lead = Duration::from_millis(100);
        assert_eq!(first_tick_after(4, lead), Duration::from_millis(150));
        assert_eq!(offset(2, 4) - lead, Duration::from_millis(400));
        // 4 ticks/s for 10 s: 40 ticks whatever the lead, the last at 9.9 s.
        for lead_ms in [0, 1, 100, 249] {
            let lead = Duration::from_millis(lead_ms);
            assert_eq!(ticks_within(4, Duration::from_secs(10), lead), 40);
        }
        // A fractional run: 4 ticks/s for 1.1 s holds a fifth tick only if
        // it falls by 1.1 s, that is with a lead of at least 150 ms.
        assert_eq!(ticks_within(4, Duration::from_millis(1_100), lead), 4);
        let lead = Duration::from_millis(150);
        assert_eq!(ticks_within(4, Duration::from_millis(1_100), lead), 5);
    }

    #[test]
    fn ticks_before_counts_what_the_schedule_holds_before_an_instant() {
        for (rate, lead_ns) in [(1, 0), (3, 0), (3, 123_456_789), (7, 5), (1000, 999_999)] {
            let lead = Duration::from_nanos(lead_ns);
            let due: Vec<Duration> = (1..200).map(|k| offset(k, rate) - lead).collect();
            let horizon = *due.last().unwrap();
            for at_ms in (0..20_000).step_by(37) {
                let at = Duration::from_millis(at_ms);
                if at > horizon {
                    break;
                }
                let brute = due.iter().filter(|&&t| t < at).count() as u64;
                assert_eq!(ticks_before(rate, lead, at), brute, "rate {rate} at {at:?}");
            }
            // At a tick's own instant it is not yet counted.
            assert_eq!(ticks_before(rate, lead, due[4]), 4);
        }
    }

    #[test]
    fn leads_fall_within_a_period_and_follow_the_seed() {
        let rates = [1, 3, 6, 1000, 10_000];
        let leads = draw_tick_leads(7, &rates, TickPhase::Random);
        for (&rate, lead) in rates.iter().zip(&leads) {
            assert!(*lead < offset(1, rate), "rate {rate}: lead {lead:?}");
        }
        assert_eq!(leads, draw_tick_leads(7, &rates, TickPhase::Random));
        assert_ne!(leads, draw_tick_leads(8, &rates, TickPhase::Random));
        assert!(draw_tick_leads(7, &rates, TickPhase::Aligned)
            .iter()
            .all(Duration::is_zero));
        // Spread over the period, not stuck at one end: 200 draws at rate 1
        // fall in each tenth of the second about 20 times.
        let many = draw_tick_leads(1, &[1; 200], TickPhase::Random);
        for tenth in 0..10u64 {
            let range =
                Duration::from_millis(100 * tenth)..Duration::from_millis(100 * tenth + 100);
            let hits = many.iter().filter(|l| range.contains(*l)).count();
            assert!((5..=40).contains(&hits), "tenth {tenth}: {hits} of 200");
        }
    }
}
