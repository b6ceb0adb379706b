//! The figures a study compares: each trial's, taken from the analysis of its logs (its
//! `summary.json`, and the `stop` lines' tick lateness), and their mean and spread across a
//! variation's trials. Nothing comes from the run's memory, so a kept trial's figures can be
//! recomputed from its logs alone.
//!
//! A trial is summed up by its *slowest VM* (lowest configured rate; ties go to the lowest id),
//! because that is where the model's effects concentrate: its clock is dragged forward in big
//! jumps by faster peers, it trails the leader, and its queue grows. [`Figure`] lists the
//! figures once, so the CSV columns, the aggregation, the plots and the report can never
//! disagree about them. Pure code: no files, no clocks.

use lc_analysis::{Summary, VmSummary};
use lc_core::vm_id::VmId;

/// One figure of a trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Figure {
    MaxJump,
    MeanJump,
    DriftMean,
    DriftMax,
    MaxQueue,
    MeanQueue,
    WaitMean,
    WaitP95,
    LateMax,
}

impl Figure {
    pub(crate) const ALL: [Figure; 9] = [
        Figure::MaxJump,
        Figure::MeanJump,
        Figure::DriftMean,
        Figure::DriftMax,
        Figure::MaxQueue,
        Figure::MeanQueue,
        Figure::WaitMean,
        Figure::WaitP95,
        Figure::LateMax,
    ];

    /// The figures every view shows (plots, the report's trial table); the CSV has them all.
    pub(crate) const HEADLINE: [Figure; 6] = [
        Figure::MaxJump,
        Figure::MeanJump,
        Figure::DriftMean,
        Figure::MaxQueue,
        Figure::MeanQueue,
        Figure::WaitMean,
    ];

    /// The CSV column (and, suffixed, the aggregate columns).
    pub(crate) fn column(self) -> &'static str {
        match self {
            Figure::MaxJump => "max_jump",
            Figure::MeanJump => "mean_jump",
            Figure::DriftMean => "drift_mean",
            Figure::DriftMax => "drift_max",
            Figure::MaxQueue => "max_queue",
            Figure::MeanQueue => "mean_queue",
            Figure::WaitMean => "wait_mean_ms",
            Figure::WaitP95 => "wait_p95_ms",
            Figure::LateMax => "late_max_ms",
        }
    }

    /// What it measures, for plots and the report.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Figure::MaxJump => "largest clock jump of the slowest VM",
            Figure::MeanJump => "mean clock jump of the slowest VM",
            Figure::DriftMean => "mean drift of the slowest VM (clock units behind the leader)",
            Figure::DriftMax => "largest drift of the slowest VM (clock units)",
            Figure::MaxQueue => "longest queue of the slowest VM (messages)",
            Figure::MeanQueue => "mean queue of the slowest VM (messages)",
            Figure::WaitMean => "mean message wait, send to receive, all VMs (ms)",
            Figure::WaitP95 => "p95 message wait, all VMs (ms)",
            Figure::LateMax => "latest tick against its schedule, all VMs (ms)",
        }
    }
}

/// The figures of one trial, indexed by [`Figure`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TrialFigures {
    pub(crate) slowest_vm: VmId,
    pub(crate) slowest_rate: f64,
    values: [f64; Figure::ALL.len()],
}

impl TrialFigures {
    /// The figures of a trial from its analysis: its summary and, for tick lateness, the
    /// latest tick of its `stop` lines ([`lc_analysis::RunAnalysis::late_max_us`]).
    /// `None` when the summary has no VM.
    pub(crate) fn of(summary: &Summary, late_max_us: Option<u64>) -> Option<TrialFigures> {
        let slow = slowest(&summary.vms)?;
        let late_max_ms = late_max_us.unwrap_or(0) as f64 / 1000.0;
        let values = Figure::ALL.map(|figure| match figure {
            Figure::MaxJump => slow.max_jump as f64,
            Figure::MeanJump => slow.mean_jump,
            Figure::DriftMean => slow.drift_mean,
            Figure::DriftMax => slow.drift_max as f64,
            Figure::MaxQueue => slow.max_queue as f64,
            Figure::MeanQueue => slow.mean_queue,
            Figure::WaitMean => summary.waits.mean_ms,
            Figure::WaitP95 => summary.waits.p95_ms,
            Figure::LateMax => late_max_ms,
        });
        Some(TrialFigures {
            slowest_vm: slow.vm,
            slowest_rate: rate_of(slow),
            values,
        })
    }

    pub(crate) fn get(&self, figure: Figure) -> f64 {
        self.values[figure as usize]
    }

    /// Every figure set to `value` (tests of the tables and the report).
    #[cfg(test)]
    pub(crate) fn uniform(slowest_vm: VmId, slowest_rate: f64, value: f64) -> TrialFigures {
        TrialFigures {
            slowest_vm,
            slowest_rate,
            values: [value; Figure::ALL.len()],
        }
    }
}

/// One VM of one trial, for the plots of figures against clock rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VmPoint {
    pub rate: f64,
    pub mean_jump: f64,
    pub mean_queue: f64,
    pub drift_mean: f64,
}

impl VmPoint {
    pub fn all(summary: &Summary) -> Vec<VmPoint> {
        summary
            .vms
            .iter()
            .map(|v| VmPoint {
                rate: rate_of(v),
                mean_jump: v.mean_jump,
                mean_queue: v.mean_queue,
                drift_mean: v.drift_mean,
            })
            .collect()
    }
}

/// The configured rate, or the measured one for a run whose settings lack it.
fn rate_of(vm: &VmSummary) -> f64 {
    vm.configured_rate.unwrap_or(vm.measured_rate)
}

/// The VM with the lowest rate; ties go to the lowest id.
pub fn slowest(vms: &[VmSummary]) -> Option<&VmSummary> {
    vms.iter()
        .min_by(|a, b| rate_of(a).total_cmp(&rate_of(b)).then(a.vm.cmp(&b.vm)))
}

/// Mean and sample standard deviation of a figure across trials.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub mean: f64,
    /// `None` with a single trial.
    pub sd: Option<f64>,
}

impl Spread {
    /// `None` for no values.
    pub fn of(values: &[f64]) -> Option<Spread> {
        if values.is_empty() {
            return None;
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let sd = (values.len() > 1).then(|| {
            let squares: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
            (squares / (n - 1.0)).sqrt()
        });
        Some(Spread { mean, sd })
    }
}

/// Each figure's spread over the given trials' figures, in [`Figure::ALL`] order.
pub fn aggregate<'a>(
    trials: impl Iterator<Item = &'a TrialFigures> + Clone,
) -> Vec<(Figure, Option<Spread>)> {
    Figure::ALL
        .iter()
        .map(|&figure| {
            let values: Vec<f64> = trials.clone().map(|t| t.get(figure)).collect();
            (figure, Spread::of(&values))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm(id: u32, rate: f64, max_jump: i64) -> VmSummary {
        serde_json::from_value(serde_json::json!({
            "vm": id, "configured_rate": rate, "measured_rate": rate, "ticks": 10, "sent": 1,
            "messages_sent": 1, "received": 1, "internal": 8, "final_clock": 60,
            "clock_rate": 6.0, "mean_jump": max_jump as f64 / 2.0, "p95_jump": max_jump,
            "max_jump": max_jump, "jump_histogram": [], "mean_queue": 0.5, "max_queue": 2,
            "final_queue": 0, "left_in_queue": 0, "dropped": 0, "waits": 1,
            "wait_mean_ms": 1.0, "wait_p95_ms": 1.0, "wait_max_ms": 1.0, "drift_mean": 3.0,
            "drift_max": 7, "warnings": 0, "errors": 0, "malformed_lines": 0
        }))
        .unwrap()
    }

    #[test]
    fn the_slowest_vm_has_the_lowest_rate_and_then_the_lowest_id() {
        let vms = [vm(1, 4.0, 1), vm(2, 2.0, 9), vm(3, 2.0, 5)];
        assert_eq!(slowest(&vms).unwrap().vm, VmId::literal(2));
        assert!(slowest(&[]).is_none());
    }

    #[test]
    fn spread_is_the_mean_and_sample_deviation() {
        let s = Spread::of(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert_eq!(s.mean, 5.0);
        assert!((s.sd.unwrap() - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert_eq!(Spread::of(&[3.0]).unwrap().sd, None);
        assert_eq!(Spread::of(&[]), None);
    }

    #[test]
    fn aggregate_covers_every_figure() {
        let figures = |max_jump: f64| TrialFigures {
            slowest_vm: VmId::literal(1),
            slowest_rate: 1.0,
            values: Figure::ALL.map(|f| if f == Figure::MaxJump { max_jump } else { 1.0 }),
        };
        let trials = [figures(4.0), figures(8.0)];
        let rows = aggregate(trials.iter());
        assert_eq!(rows.len(), Figure::ALL.len());
        assert_eq!(rows[0].1.unwrap().mean, 6.0);
        assert_eq!(rows[1].1.unwrap().sd, Some(0.0));
        assert!(aggregate([].iter()).iter().all(|(_, s)| s.is_none()));
    }
}
