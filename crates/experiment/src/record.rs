//! What came of each trial, and each variation's figures across its trials.
//!
//! The records are plain data shared by the CSV tables, the plots and the report. Two decisions
//! are made here and only here: how a trial is judged from the analysis of its logs
//! ([`TrialRecord::judge`], used both as a trial runs and when a kept trial is recomputed), and
//! which trials count in the aggregation (healthy ones only: an unhealthy run's figures are
//! shown in its own row but kept out of the means). Pure code.

use super::concurrency::{self, TrialCausality};
use super::figures::{aggregate, Figure, Spread, TrialFigures, VmPoint};
use super::plan::{Plan, Trial};
use super::trial_fault::TrialFault;
use super::trial_prediction::TrialPrediction;
use lc_analysis::RunAnalysis;
use lc_core::vm_id::VmId;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// What came of one trial.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TrialRecord {
    pub(crate) variation: String,
    pub(crate) number: u32,
    pub(crate) seed: u64,
    pub(crate) rates: Vec<u32>,
    /// The trial's run directory, once it was made.
    pub(crate) run_dir: Option<PathBuf>,
    pub(crate) status: TrialStatus,
    /// Present when the run was made and analysed (also when unhealthy).
    pub(crate) figures: Option<TrialFigures>,
    /// Every VM of the run, for the plots against clock rate.
    pub(crate) vms: Vec<VmPoint>,
    /// The queueing model's prediction next to the measurement, when the run was analysed.
    pub(crate) prediction: Option<TrialPrediction>,
    /// How concurrent its events were (also when unhealthy, like `figures`).
    pub(crate) causality: Option<TrialCausality>,
    /// What each of its faults did, by number (none for most trials).
    pub(crate) faults: Vec<TrialFault>,
    /// Wall time the trial took, analysis included.
    pub(crate) wall: Duration,
}

/// How a trial ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TrialStatus {
    Ok,
    /// The run was made but broke a clock rule or lost messages; its figures are suspect.
    Unhealthy(String),
    /// No usable run: the reason.
    Failed(String),
    /// Never started (the study was interrupted).
    NotRun,
}

impl TrialRecord {
    /// The record of a trial that has not run (yet): what the plan says of it.
    pub(crate) fn not_run(trial: &Trial) -> TrialRecord {
        TrialRecord {
            variation: trial.variation.clone(),
            number: trial.number,
            seed: trial.spec.seed,
            rates: trial.spec.rates.clone(),
            run_dir: None,
            status: TrialStatus::NotRun,
            figures: None,
            vms: Vec::new(),
            prediction: None,
            causality: None,
            faults: Vec::new(),
            wall: Duration::ZERO,
        }
    }

    /// Takes the trial's figures from the analysis of its logs and says how it went: unhealthy
    /// when its logs break a rule or lose a message, or when the run itself found its books
    /// unbalanced (`run_healthy` false; `never_stopped` names the VMs that never stopped);
    /// failed when it logged no VM; ok otherwise. A kept trial has only its logs: it is judged
    /// with `run_healthy` true and no VM missing.
    pub(crate) fn judge(
        &mut self,
        analysis: &RunAnalysis,
        run_healthy: bool,
        never_stopped: &[VmId],
    ) {
        let summary = analysis.summary();
        self.figures = TrialFigures::of(summary, analysis.late_max_us());
        self.vms = VmPoint::all(summary);
        self.causality = TrialCausality::of(summary);
        self.faults = summary.faults.iter().map(TrialFault::of).collect();
        self.status = if !run_healthy || !analysis.is_healthy() {
            TrialStatus::Unhealthy(format!(
                "{} clock-rule violations, {} messages unaccounted, VMs {never_stopped:?} never stopped",
                summary.check.violations, summary.messages.unaccounted,
            ))
        } else if self.figures.is_none() {
            TrialStatus::Failed("the run logged no VM".into())
        } else {
            TrialStatus::Ok
        };
    }
}

impl TrialStatus {
    pub(crate) fn is_ok(&self) -> bool {
        *self == TrialStatus::Ok
    }
}

impl fmt::Display for TrialStatus {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            TrialStatus::Ok => f.write_str("ok"),
            TrialStatus::Unhealthy(why) => write!(f, "unhealthy: {why}"),
            TrialStatus::Failed(why) => write!(f, "failed: {why}"),
            TrialStatus::NotRun => f.write_str("not run (study interrupted)"),
        }
    }
}

/// One variation's figures across its healthy trials.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct VariationRow {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    /// Its own overrides, `key = value` each.
    pub(crate) overrides: Vec<String>,
    pub(crate) trials: usize,
    /// Trials whose figures count.
    pub(crate) ok: usize,
    /// Each figure's mean and spread, in [`Figure::ALL`] order.
    pub(crate) spreads: Vec<(Figure, Option<Spread>)>,
    /// The causality figures' mean and spread, in [`concurrency::COLUMNS`] order.
    pub(crate) causality: [Option<Spread>; 2],
}

/// One row per variation of the plan, from the trials' records.
pub(crate) fn variation_rows(plan: &Plan, records: &[TrialRecord]) -> Vec<VariationRow> {
    plan.variations
        .iter()
        .map(|variation| {
            let mine = records.iter().filter(|r| r.variation == variation.name);
            let counted = mine
                .clone()
                .filter(|r| r.status.is_ok())
                .filter_map(|r| r.figures.as_ref());
            let causality = concurrency::spreads(
                mine.clone()
                    .filter(|r| r.status.is_ok())
                    .filter_map(|r| r.causality.as_ref()),
            );
            VariationRow {
                name: variation.name.clone(),
                description: variation.description.clone(),
                overrides: variation.overrides.clone(),
                trials: mine.count(),
                ok: counted.clone().count(),
                spreads: aggregate(counted),
                causality,
            }
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::plan;

    /// A record with every figure set to `value`.
    pub(crate) fn record(
        variation: &str,
        number: u32,
        status: TrialStatus,
        value: f64,
    ) -> TrialRecord {
        TrialRecord {
            variation: variation.into(),
            number,
            seed: 11,
            rates: vec![1, 3, 6],
            run_dir: Some(PathBuf::from(format!(
                "study/trials/{variation}-{number}/run"
            ))),
            figures: matches!(status, TrialStatus::Ok | TrialStatus::Unhealthy(_))
                .then(|| TrialFigures::uniform(VmId::literal(1), 1.0, value)),
            status,
            vms: Vec::new(),
            prediction: None,
            causality: None,
            faults: Vec::new(),
            wall: Duration::from_secs(2),
        }
    }

    pub(crate) const PLAN: &str = r#"
        seed = 1
        trials = 2
        runtime = 1
        [[variation]]
        name = "a"
        description = "first"
        [[variation]]
        name = "b"
        rate_min = 2
    "#;

    #[test]
    fn only_healthy_trials_count() {
        let plan = plan::parse(PLAN).unwrap();
        let records = [
            record("a", 1, TrialStatus::Ok, 2.0),
            record("a", 2, TrialStatus::Ok, 4.0),
            record("b", 1, TrialStatus::Unhealthy("lost one".into()), 100.0),
            record("b", 2, TrialStatus::Ok, 5.0),
        ];
        let rows = variation_rows(&plan, &records);
        assert_eq!((rows[0].trials, rows[0].ok), (2, 2));
        assert_eq!(rows[0].spreads[0].1.unwrap().mean, 3.0);
        assert_eq!((rows[1].trials, rows[1].ok), (2, 1));
        assert_eq!(
            rows[1].spreads[0].1.unwrap(),
            Spread {
                mean: 5.0,
                sd: None
            }
        );
        assert_eq!(rows[1].overrides, vec!["rate_min = 2"]);
    }
}
