//! How concurrent a trial's events were: its share of concurrent event pairs, the share Lamport
//! clocks nevertheless order, and each VM pair's share against the pair's clock rates, taken
//! from the trial's `summary.json` (`concurrency`). Pure.
//!
//! Kept apart from [`figures`](super::figures), whose figures describe the slowest VM: these
//! describe the whole run and its VM pairs, and the study asks of them how they move with the
//! rates and the internal-event probability (the plot `concurrency.png`).

use super::figures::Spread;
use lc_analysis::Summary;
use lc_core::vm_id::VmId;

/// The columns these figures add to `study.csv` (and, suffixed, to `variations.csv`).
pub(crate) const COLUMNS: [&str; 2] =
    ["concurrent_fraction", "lamport_ordered_concurrent_fraction"];

/// One VM pair of a trial: its two configured rates and how concurrent its events were.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PairPoint {
    pub(crate) slower_rate: f64,
    pub(crate) faster_rate: f64,
    pub(crate) concurrent_fraction: f64,
}

/// A trial's causality figures.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TrialCausality {
    /// The trial's internal-event probability, if its settings say.
    pub(crate) internal_probability: Option<f64>,
    /// Concurrent pairs of events, of all pairs.
    pub(crate) concurrent_fraction: f64,
    /// Concurrent pairs that Lamport clocks put one before the other, of all pairs.
    pub(crate) lamport_ordered_fraction: f64,
    pub(crate) pairs: Vec<PairPoint>,
}

impl TrialCausality {
    /// The figures of a trial from its analysis; `None` if the summary has no `concurrency`.
    pub(crate) fn of(summary: &Summary) -> Option<TrialCausality> {
        let c = summary.concurrency.as_ref()?;
        let rate = |vm: VmId| {
            summary
                .vms
                .iter()
                .find(|v| v.vm == vm)
                .map(|v| v.configured_rate.unwrap_or(v.measured_rate))
        };
        let pairs = c
            .vm_pairs
            .iter()
            .filter_map(|p| {
                let (a, b) = (rate(p.vms[0])?, rate(p.vms[1])?);
                Some(PairPoint {
                    slower_rate: a.min(b),
                    faster_rate: a.max(b),
                    concurrent_fraction: p.counts.concurrent_fraction,
                })
            })
            .collect();
        Some(TrialCausality {
            internal_probability: summary.settings.internal_probability,
            concurrent_fraction: c.counts.concurrent_fraction,
            lamport_ordered_fraction: c.counts.lamport_ordered_concurrent_fraction,
            pairs,
        })
    }

    /// The values of [`COLUMNS`], in order.
    pub(crate) fn values(&self) -> [f64; 2] {
        [self.concurrent_fraction, self.lamport_ordered_fraction]
    }
}

/// Each column's spread over the given trials, in [`COLUMNS`] order.
pub(crate) fn spreads<'a>(trials: impl Iterator<Item = &'a TrialCausality>) -> [Option<Spread>; 2] {
    let values: Vec<[f64; 2]> = trials.map(TrialCausality::values).collect();
    [0, 1].map(|k| Spread::of(&values.iter().map(|v| v[k]).collect::<Vec<_>>()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> Summary {
        let vm = |id: u32, rate: f64| {
            serde_json::json!({
                "vm": id, "configured_rate": rate, "measured_rate": rate, "ticks": 10,
                "sent": 1, "messages_sent": 1, "received": 1, "internal": 8, "final_clock": 60,
                "clock_rate": 6.0, "mean_jump": 1.0, "p95_jump": 1, "max_jump": 1,
                "jump_histogram": [], "mean_queue": 0.5, "max_queue": 2, "final_queue": 0,
                "left_in_queue": 0, "dropped": 0, "waits": 1, "wait_mean_ms": 1.0,
                "wait_p95_ms": 1.0, "wait_max_ms": 1.0, "drift_mean": 3.0, "drift_max": 7,
                "warnings": 0, "errors": 0, "malformed_lines": 0
            })
        };
        let pair = |a: u32, b: u32, fraction: f64| {
            serde_json::json!({
                "vms": [a, b], "pairs": 100, "ordered": 60, "concurrent": 40,
                "concurrent_fraction": fraction, "concurrent_same_lc": 4,
                "lamport_ordered_concurrent": 36, "lamport_ordered_concurrent_fraction": 0.36
            })
        };
        serde_json::from_value(serde_json::json!({
            "run_id": "r", "run_dir": "d",
            "settings": { "internal_probability": 0.3 },
            "first_event": null, "last_event": null, "span_s": 1.0, "lines": 0, "ticks": 20,
            "vms": [vm(1, 6.0), vm(2, 2.0)],
            "messages": { "sent": 0, "received": 0, "left_in_queues": 0, "dropped": 0,
                          "unaccounted": 0, "never_received": 0 },
            "waits": { "count": 0, "mean_ms": 0.0, "p95_ms": 0.0, "max_ms": 0.0,
                       "before_send": 0 },
            "lagging_vm": null, "drift_grid_ms": 10.0, "drift_samples": 0,
            "check": { "healthy": true, "violations": 0, "by_rule": {}, "malformed_lines": 0 },
            "warnings": 0, "errors": 0, "notes": [], "files": [],
            "concurrency": {
                "clocks": "derived", "events": 20, "pairs": 190, "ordered": 150,
                "concurrent": 40, "concurrent_fraction": 0.25, "concurrent_same_lc": 4,
                "lamport_ordered_concurrent": 36, "lamport_ordered_concurrent_fraction": 0.125,
                "vm_pairs": [pair(1, 2, 0.4)]
            }
        }))
        .unwrap()
    }

    #[test]
    fn a_trials_figures_come_from_its_summary() {
        let t = TrialCausality::of(&summary()).unwrap();
        assert_eq!(t.internal_probability, Some(0.3));
        assert_eq!(t.values(), [0.25, 0.125]);
        assert_eq!(
            t.pairs,
            vec![PairPoint {
                slower_rate: 2.0,
                faster_rate: 6.0,
                concurrent_fraction: 0.4
            }]
        );
        let mut older = summary();
        older.concurrency = None;
        assert_eq!(TrialCausality::of(&older), None);
    }

    #[test]
    fn spreads_per_column() {
        let t = TrialCausality::of(&summary()).unwrap();
        let mut u = t.clone();
        u.concurrent_fraction = 0.75;
        let [concurrent, lamport] = spreads([t, u].iter());
        assert_eq!(concurrent.unwrap().mean, 0.5);
        assert_eq!(lamport.unwrap().sd, Some(0.0));
        assert_eq!(spreads([].iter()), [None, None]);
    }
}
