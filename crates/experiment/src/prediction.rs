//! The queueing model's prediction next to what each trial measured, and how well they agree
//! across a variation's trials.
//!
//! [`lc_core::queueing`] predicts, from a trial's rates and internal-event probability alone,
//! each VM's arrival rate, how fast its queue grows, and its mean clock jump, plus the rate
//! the system clock advances at. Each trial measures the same things:
//!
//! - **arrival rate**: the messages that reached the VM (received, plus left in its queue at
//!   stop) per second of its run (its ticks over its rate, so that every VM's second is the
//!   same whatever the log's first and last lines);
//! - **queue growth**: the least-squares slope of the VM's queue length against time over the
//!   second half of the run (from `events.csv`). The second half leaves out the start-up;
//!   a slope, unlike the final queue over the runtime, does not mistake a long but bounded
//!   queue for growth, and it rests on every tick of the half rather than on two queue
//!   lengths that a momentary burst at either end could sway;
//! - **mean jump**: the VM's mean clock jump per event (`summary.json`);
//! - **system clock rate**: the fastest-growing clock's units per second of its run (the
//!   leader's).
//!
//! A variation's table row holds each quantity for the *slowest VM* (as the study's other
//! figures do): the prediction and the measurement, each as mean ± standard deviation across
//! the healthy trials, and the error (measured − predicted, trial by trial). A row is *within
//! the seeds' spread* when the mean error is no larger than the measurement's standard
//! deviation across the trials. Pure code; the driver reads `events.csv` and writes the files.
//!
//! One trial's prediction and measurements are made in `trial_prediction.rs`, below
//! [`TrialRecord`], which holds them; this file is the table over the records.

use super::figures::Spread;
use super::plan::Plan;
use super::record::TrialRecord;
use super::tables::{cell, number};
use super::trial_prediction::{TrialPrediction, VmComparison};
use std::fmt::Write as _;

/// A quantity the model predicts, as the table shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quantity {
    Arrival,
    QueueGrowth,
    MeanJump,
    SystemClock,
}

impl Quantity {
    pub(crate) const ALL: [Quantity; 4] = [
        Quantity::Arrival,
        Quantity::QueueGrowth,
        Quantity::MeanJump,
        Quantity::SystemClock,
    ];

    pub(crate) fn label(self) -> &'static str {
        match self {
            Quantity::Arrival => "arrival rate (messages/s)",
            Quantity::QueueGrowth => "queue growth (messages/s)",
            Quantity::MeanJump => "mean jump",
            Quantity::SystemClock => "system clock rate (units/s)",
        }
    }

    /// `(predicted, measured)` for one VM of a trial; the system clock is the trial's.
    fn of(self, trial: &TrialPrediction, vm: &VmComparison) -> (f64, f64) {
        let (p, m) = (&vm.predicted, &vm.measured);
        match self {
            Quantity::Arrival => (p.arrival, m.arrival),
            Quantity::QueueGrowth => (p.queue_growth, m.queue_growth),
            Quantity::MeanJump => (p.mean_jump, m.mean_jump),
            Quantity::SystemClock => (trial.system_clock_rate, trial.leader_clock_rate),
        }
    }
}

/// One quantity of a variation's slowest VM across its trials.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Agreement {
    pub(crate) quantity: Quantity,
    pub(crate) predicted: Spread,
    pub(crate) measured: Spread,
    /// Measured − predicted, trial by trial.
    pub(crate) error: Spread,
}

impl Agreement {
    /// The mean error is no larger than the measurement's spread across trials; `None` with
    /// a single trial (no spread).
    pub(crate) fn within_spread(&self) -> Option<bool> {
        let sd = self.measured.sd?;
        // A hair of tolerance, so an exact model of an exact measurement (sd 0) counts.
        Some(self.error.mean.abs() <= sd + 1e-9)
    }
}

/// One variation's row of the prediction table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PredictionRow {
    pub(crate) variation: String,
    /// Healthy trials with a prediction.
    pub(crate) trials: usize,
    /// In [`Quantity::ALL`] order; empty when no trial counts.
    pub(crate) agreements: Vec<Agreement>,
}

/// The slowest VM's comparison in each healthy trial of the variation.
fn slowest_of<'a>(
    records: &'a [TrialRecord],
    variation: &'a str,
) -> impl Iterator<Item = (&'a TrialPrediction, &'a VmComparison)> + Clone + 'a {
    records
        .iter()
        .filter(move |r| r.variation == variation && r.status.is_ok())
        .filter_map(|r| {
            let trial = r.prediction.as_ref()?;
            Some((trial, trial.vm(r.figures.as_ref()?.slowest_vm)?))
        })
}

/// One row per variation of the plan.
pub(crate) fn rows(plan: &Plan, records: &[TrialRecord]) -> Vec<PredictionRow> {
    plan.variations
        .iter()
        .map(|variation| {
            let slowest = slowest_of(records, &variation.name);
            let agreements = Quantity::ALL
                .iter()
                .filter_map(|&quantity| {
                    let pairs: Vec<(f64, f64)> =
                        slowest.clone().map(|(t, vm)| quantity.of(t, vm)).collect();
                    let column =
                        |f: fn(&(f64, f64)) -> f64| -> Vec<f64> { pairs.iter().map(f).collect() };
                    Some(Agreement {
                        quantity,
                        predicted: Spread::of(&column(|p| p.0))?,
                        measured: Spread::of(&column(|p| p.1))?,
                        error: Spread::of(&column(|p| p.1 - p.0))?,
                    })
                })
                .collect();
            PredictionRow {
                variation: variation.name.clone(),
                trials: slowest.count(),
                agreements,
            }
        })
        .collect()
}

/// The report's prediction table: one line per variation and quantity.
pub(crate) fn markdown_table(rows: &[PredictionRow]) -> String {
    let mut out = String::from(
        "| variation | slowest VM's | trials | predicted | measured | measured − predicted | \
         within spread |\n|---|---|---:|---:|---:|---:|---|\n",
    );
    for row in rows {
        if row.agreements.is_empty() {
            let _ = writeln!(out, "| {} | – | 0 | | | | |", row.variation);
        }
        for a in &row.agreements {
            let verdict = match a.within_spread() {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "–",
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {verdict} |",
                row.variation,
                a.quantity.label(),
                row.trials,
                spread_text(a.predicted),
                spread_text(a.measured),
                spread_text(a.error),
            );
        }
    }
    out
}

fn spread_text(s: Spread) -> String {
    let round = |v: f64| format!("{}", (v * 1000.0).round() / 1000.0 + 0.0);
    match s.sd {
        Some(sd) => format!("{} ± {}", round(s.mean), round(sd)),
        None => round(s.mean),
    }
}

/// `prediction.csv`: one row per VM of every trial with a prediction.
pub(crate) fn csv(records: &[TrialRecord]) -> String {
    let mut out = String::from(
        "variation,trial,status,vm,rate,internal_probability,slowest,\
         predicted_arrival,measured_arrival,predicted_load,measured_load,\
         predicted_queue_growth,measured_queue_growth,predicted_mean_jump,measured_mean_jump,\
         predicted_system_clock_rate,measured_leader_clock_rate\n",
    );
    for r in records {
        let Some(trial) = &r.prediction else { continue };
        let slowest = r.figures.as_ref().map(|f| f.slowest_vm);
        for c in &trial.vms {
            let (p, m) = (&c.predicted, &c.measured);
            let cells = [
                r.variation.clone(),
                r.number.to_string(),
                cell(&r.status.to_string()),
                c.vm.to_string(),
                figure(p.rate),
                figure(trial.internal_probability),
                (slowest == Some(c.vm)).to_string(),
                figure(p.arrival),
                figure(m.arrival),
                figure(p.load),
                figure(m.arrival / p.rate),
                figure(p.queue_growth),
                figure(m.queue_growth),
                figure(p.mean_jump),
                figure(m.mean_jump),
                figure(trial.system_clock_rate),
                figure(trial.leader_clock_rate),
            ];
            out.push_str(&cells.join(","));
            out.push('\n');
        }
    }
    out
}

/// A figure as the other tables write it, without the `-0` of a tiny negative slope.
fn figure(value: f64) -> String {
    match number(value) {
        zero if zero == "-0" => "0".to_string(),
        text => text,
    }
}

/// The report's section: the paragraph that explains the table, and the table.
pub(crate) fn report_section(plan: &Plan, records: &[TrialRecord]) -> String {
    format!(
        "\n## Prediction against measurement\n\n{EXPLANATION}\n\n{}",
        markdown_table(&rows(plan, records))
    )
}

/// The paragraph that introduces the table in the report.
const EXPLANATION: &str = "The queueing model (`src/queueing.rs`) predicts from a trial's \
rates and internal-event probability alone: a VM sends only on ticks with an empty queue, so \
each VM's arrival rate is the fixed point of `λ_j = Σ_i q · r_i · (1 − min(λ_i / r_i, 1))` \
over the other VMs `i`, where `q` is what an idle tick sends to each peer on average. A VM \
whose arrivals exceed its rate (load above 1) never idles, and its queue grows by `λ − r` \
messages a second. Its mean jump is `L / λ` (it works through its queue oldest first, so its \
clock follows the system clock of a while ago), and that of a VM that keeps up is `L / r`, \
with the system clock rate `L` taken as the top tick rate. Measured: the arrival rate is the \
messages that reached the VM over the run; the queue growth is the least-squares slope of its \
queue over the run's second half; the mean jump is from `summary.json`; the system clock rate \
is the fastest clock's growth. Each cell is the slowest VM's mean ± standard deviation across \
the healthy trials; *within spread* says the mean error is no larger than the measurement's \
standard deviation across the trials. The error's own ± is its scatter from seed to seed: a \
mean error well beyond it is a systematic miss, however small. Every VM of every trial is in `prediction.csv` and `prediction.png`.";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan;
    use crate::record::tests::{record, PLAN};
    use crate::record::TrialStatus;
    use crate::trial_prediction::{queue_growth, EventsError};
    use lc_analysis::Summary;
    use lc_core::vm_id::VmId;
    use std::collections::BTreeMap;

    const EVENTS: &str = "time,t_s,vm,kind,lc,queue,peer,seq,msg_lc,jump\n\
        2000-01-01T00:00:00.000000Z,0.000000,1,start,,,,,,\n\
        2000-01-01T00:00:01.000000Z,1.000000,1,receive,3,9,2,1,2,3\n\
        2000-01-01T00:00:02.000000Z,2.000000,1,receive,4,1,2,2,2,1\n\
        2000-01-01T00:00:02.000000Z,2.000000,2,send,5,0,1,3,,1\n\
        2000-01-01T00:00:03.000000Z,3.000000,1,receive,5,2,2,3,5,1\n\
        2000-01-01T00:00:03.500000Z,3.500000,2,internal,6,0,,,,1\n\
        2000-01-01T00:00:04.000000Z,4.000000,1,receive,6,3,2,4,5,1\n\
        2000-01-01T00:00:04.000000Z,4.000000,2,internal,7,0,,,,1\n\
        2000-01-01T00:00:04.100000Z,4.100000,1,stop,,40,,,,\n";

    #[test]
    fn queue_growth_is_the_slope_over_the_second_half() {
        // From t = 2: VM 1's queue goes 1, 2, 3 at t = 2, 3, 4 (the 9 at t = 1 and the stop
        // line's 40 do not count); VM 2 stays empty.
        let growth = queue_growth(EVENTS.as_bytes(), 2.0).unwrap();
        assert_eq!(growth.len(), 2);
        assert!(
            (growth[&VmId::literal(1)] - 1.0).abs() < 1e-12,
            "{growth:?}"
        );
        assert_eq!(growth[&VmId::literal(2)], 0.0);
        // Over the whole run the early 9 pulls the slope down.
        assert!(queue_growth(EVENTS.as_bytes(), 0.0).unwrap()[&VmId::literal(1)] < 0.0);
        // A single point has no slope.
        assert_eq!(
            queue_growth(EVENTS.as_bytes(), 4.0).unwrap()[&VmId::literal(1)],
            0.0
        );
    }

    #[test]
    fn a_broken_events_file_is_named() {
        let no_queue = "time,t_s,vm,kind\n";
        assert!(matches!(
            queue_growth(no_queue.as_bytes(), 0.0),
            Err(EventsError::Column("queue"))
        ));
        let bad = "t_s,vm,kind,queue\n1.0,1,send,x\n";
        assert_eq!(
            queue_growth(bad.as_bytes(), 0.0).unwrap_err().to_string(),
            "events.csv line 2: queue is not a number"
        );
    }

    /// A 600-second run of rates 1, 6, 6 whose leader (VM 3) gained 6.1 clock units a second.
    fn summary(received: u64, left: u64, mean_jump: f64) -> Summary {
        let vm = |id: u32, ticks: u64, received: u64, left: u64, jump: f64, clock: u64| {
            serde_json::json!({
                "vm": id, "configured_rate": 1.0, "measured_rate": 1.0, "ticks": ticks,
                "sent": 0, "messages_sent": 0, "received": received, "internal": 0,
                "final_clock": clock, "clock_rate": 0.0, "mean_jump": jump, "p95_jump": 1,
                "max_jump": 1,
                "jump_histogram": [], "mean_queue": 0.0, "max_queue": 0, "final_queue": left,
                "left_in_queue": left, "dropped": 0, "waits": 0, "wait_mean_ms": 0.0,
                "wait_p95_ms": 0.0, "wait_max_ms": 0.0, "drift_mean": 0.0, "drift_max": 0,
                "warnings": 0, "errors": 0, "malformed_lines": 0
            })
        };
        serde_json::from_value(serde_json::json!({
            "run_id": "r", "run_dir": "r", "settings": {}, "first_event": null,
            "last_event": null, "span_s": 600.0, "lines": 0, "ticks": 0,
            "vms": [
                vm(1, 600, received, left, mean_jump, (600.0 * mean_jump) as u64),
                vm(2, 3_600, 600, 0, 1.0, 3_600),
                vm(3, 3_600, 600, 0, 1.0, 3_660),
            ],
            "messages": { "sent": 0, "received": 0, "left_in_queues": 0, "dropped": 0,
                          "unaccounted": 0, "never_received": 0 },
            "waits": { "count": 0, "mean_ms": 0.0, "p95_ms": 0.0, "max_ms": 0.0,
                       "before_send": 0 },
            "lagging_vm": null, "drift_grid_ms": 10.0, "drift_samples": 0,
            "check": { "healthy": true, "violations": 0, "by_rule": {}, "malformed_lines": 0 },
            "warnings": 0, "errors": 0, "notes": [], "files": []
        }))
        .unwrap()
    }

    /// A trial of rates 1, 6, 6 at p = 0.7 whose slow VM got `arrived` messages in 600 s and
    /// whose queue grew at `growth`.
    fn trial(arrived: u64, growth: f64, jump: f64) -> TrialPrediction {
        let growths = BTreeMap::from([
            (VmId::literal(1), growth),
            (VmId::literal(2), 0.0),
            (VmId::literal(3), 0.0),
        ]);
        TrialPrediction::of(
            &[1, 6, 6],
            0.7,
            &summary(600, arrived - 600, jump),
            &growths,
        )
        .unwrap()
    }

    #[test]
    fn a_trial_holds_the_model_against_its_measurements() {
        let t = trial(1_200, 1.01, 2.9);
        let slow = t.vm(VmId::literal(1)).unwrap();
        assert_eq!(slow.predicted.arrival, 2.0);
        assert_eq!(slow.measured.arrival, 2.0);
        assert_eq!(slow.predicted.queue_growth, 1.0);
        assert_eq!(slow.measured.queue_growth, 1.01);
        assert_eq!(slow.measured.mean_jump, 2.9);
        assert_eq!(t.system_clock_rate, 6.0);
        assert!((t.leader_clock_rate - 6.1).abs() < 1e-12);
        // No measurement for a VM, or a run of one VM: no comparison.
        let summary = summary(600, 0, 1.0);
        assert!(TrialPrediction::of(&[1, 6, 6], 0.7, &summary, &BTreeMap::new()).is_none());
        assert!(TrialPrediction::of(&[1], 0.7, &summary, &BTreeMap::new()).is_none());
    }

    fn with_prediction(mut r: TrialRecord, t: TrialPrediction) -> TrialRecord {
        r.prediction = Some(t);
        r
    }

    #[test]
    fn rows_compare_the_slowest_vm_over_healthy_trials() {
        let plan = plan::parse(PLAN).unwrap();
        let records = [
            with_prediction(record("a", 1, TrialStatus::Ok, 1.0), trial(1_200, 0.9, 3.0)),
            with_prediction(record("a", 2, TrialStatus::Ok, 1.0), trial(1_260, 1.1, 3.2)),
            // Unhealthy: left out.
            with_prediction(
                record("a", 3, TrialStatus::Unhealthy("x".into()), 1.0),
                trial(6_000, 9.0, 9.0),
            ),
            record("b", 1, TrialStatus::Ok, 1.0),
        ];
        let rows = rows(&plan, &records);
        assert_eq!((rows[0].trials, rows[1].trials), (2, 0));
        assert!(rows[1].agreements.is_empty());
        let growth = rows[0].agreements[1];
        assert_eq!(growth.quantity, Quantity::QueueGrowth);
        assert_eq!(growth.predicted.mean, 1.0);
        assert!((growth.measured.mean - 1.0).abs() < 1e-12);
        assert!((growth.error.mean).abs() < 1e-12);
        assert_eq!(growth.within_spread(), Some(true));
        // Jumps 3.0 and 3.2 against 3 predicted: error 0.1 ± 0.14, measured sd 0.14.
        let jump = rows[0].agreements[2];
        assert!((jump.error.mean - 0.1).abs() < 1e-12);
        assert_eq!(jump.within_spread(), Some(true));
        // The system clock: 6 predicted, 6.1 measured every time, with no spread: a miss.
        let clock = rows[0].agreements[3];
        assert!((clock.error.mean - 0.1).abs() < 1e-12);
        assert_eq!(clock.within_spread(), Some(false));

        let table = markdown_table(&rows);
        assert!(
            table.contains(
                "| a | queue growth (messages/s) | 2 | 1 ± 0 | 1 ± 0.141 | 0 ± 0.141 | yes |"
            ),
            "{table}"
        );
        assert!(table.contains("| **no** |"), "{table}");
        assert!(table.contains("| b | – | 0 |"), "{table}");

        let csv = csv(&records);
        let lines: Vec<&str> = csv.lines().collect();
        // 3 trials with a prediction, 3 VMs each; columns line up.
        assert_eq!(lines.len(), 1 + 9);
        let columns = lines[0].split(',').count();
        assert!(lines.iter().all(|l| l.split(',').count() == columns));
        assert!(
            lines[1].starts_with("a,1,ok,1,1,0.7,true,2,2,2,2,1,0.9,3,3,6,6.1"),
            "{}",
            lines[1]
        );
    }
}
