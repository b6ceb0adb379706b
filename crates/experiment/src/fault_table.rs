//! What each trial's faults did, and each variation's faults across its trials: `faults.csv`
//! (one row per trial and fault) and the report's `## Faults` section (one row per variation
//! and fault number), taken from the trials' `summary.json` (`faults`). Pure.
//!
//! Kept apart from [`figures`](super::figures), which sums a trial up by its slowest VM: a fault
//! is its own subject, numbered within the trial's settings, and a trial has any number of them
//! (none in most studies). [`FaultFigure`] lists the figures once, so the CSV, the aggregation
//! and the report agree. Not every figure applies to every fault (a pause crosses no
//! partition), and some are missing where they apply (a partition whose clock gap never came
//! back has no recovery time), so a trial's figure is a [`Reading`], and an aggregate counts
//! how many trials had the figure instead of taking a missing value for 0.
//!
//! A trial's own readings are made in `trial_fault.rs`, below [`TrialRecord`], which holds
//! them; this file is the aggregation and the tables over the records.
//!
//! A study without faults gets neither the file nor the section: [`csv`] gives `None` and
//! [`report_section`] nothing, so its outputs are those of a study before faults existed.

use super::figures::Spread;
use super::record::TrialRecord;
use super::tables::{cell, number, spread_text};
use super::trial_fault::{FaultFigure, Reading, TrialFault};
use lc_core::vm_id::VmId;
use std::fmt::Write as _;

/// One figure of a fault across a variation's healthy trials.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct FaultSpread {
    /// Mean and spread of the trials that gave it.
    pub(crate) spread: Option<Spread>,
    /// Trials that gave it, of the `applicable` ones where it applies to the fault.
    pub(crate) present: usize,
    pub(crate) applicable: usize,
}

impl FaultSpread {
    fn of<'a>(figure: FaultFigure, faults: impl Iterator<Item = &'a TrialFault>) -> FaultSpread {
        let readings: Vec<Reading> = faults
            .map(|f| f.get(figure))
            .filter(|r| *r != Reading::NotThisKind)
            .collect();
        let values: Vec<f64> = readings.iter().filter_map(|r| r.value()).collect();
        FaultSpread {
            spread: Spread::of(&values),
            present: values.len(),
            applicable: readings.len(),
        }
    }
}

/// One fault of one variation, across its healthy trials.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FaultRow {
    pub(crate) variation: String,
    pub(crate) fault: usize,
    pub(crate) kind: String,
    pub(crate) vms: Vec<VmId>,
    pub(crate) parameters: String,
    /// Healthy trials that had this fault (their figures count).
    pub(crate) trials: usize,
    /// In [`FaultFigure::ALL`] order.
    pub(crate) spreads: [FaultSpread; FaultFigure::ALL.len()],
}

/// Whether any trial had a fault: the study then gets `faults.csv` and the report's section.
fn any_faults(records: &[TrialRecord]) -> bool {
    records.iter().any(|r| !r.faults.is_empty())
}

/// One row per variation and fault number, variations in plan order (the records' order),
/// faults by number. A fault that only unhealthy trials had still gets its row, with 0 trials.
pub(crate) fn rows(records: &[TrialRecord]) -> Vec<FaultRow> {
    // Each variation and fault number once, with the fault as one of its trials gave it.
    let mut keys: Vec<(&str, &TrialFault)> = records
        .iter()
        .flat_map(|r| r.faults.iter().map(|f| (r.variation.as_str(), f)))
        .collect();
    let variation_order = |name: &str| records.iter().position(|r| r.variation == name);
    keys.sort_by_key(|&(variation, f)| (variation_order(variation), f.fault));
    keys.dedup_by_key(|&mut (variation, f)| (variation, f.fault));

    keys.into_iter()
        .map(|(variation, any)| {
            let number = any.fault;
            let counted: Vec<&TrialFault> = records
                .iter()
                .filter(|r| r.variation == variation && r.status.is_ok())
                .flat_map(|r| r.faults.iter().filter(|f| f.fault == number))
                .collect();
            FaultRow {
                variation: variation.to_string(),
                fault: number,
                kind: any.kind.clone(),
                vms: any.vms.clone(),
                parameters: any.parameters.clone(),
                trials: counted.len(),
                spreads: FaultFigure::ALL
                    .map(|figure| FaultSpread::of(figure, counted.iter().copied())),
            }
        })
        .collect()
}

fn vm_list(vms: &[VmId]) -> String {
    vms.iter()
        .map(VmId::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `faults.csv`: one row per fault of every analysed trial, in plan order; `None` when no trial
/// had a fault. A figure that does not apply or that the run did not give is an empty cell.
pub(crate) fn csv(records: &[TrialRecord]) -> Option<String> {
    if !any_faults(records) {
        return None;
    }
    let mut out = String::from("variation,trial,seed,status,fault,kind,vms,parameters");
    for figure in FaultFigure::ALL {
        let _ = write!(out, ",{}", figure.column());
    }
    out.push('\n');
    for r in records {
        for f in &r.faults {
            let mut cells = vec![
                cell(&r.variation),
                r.number.to_string(),
                r.seed.to_string(),
                cell(&r.status.to_string()),
                f.fault.to_string(),
                cell(&f.kind),
                vm_list(&f.vms),
                cell(&f.parameters),
            ];
            cells.extend(
                FaultFigure::ALL
                    .map(|figure| f.get(figure).value().map(number).unwrap_or_default()),
            );
            out.push_str(&cells.join(","));
            out.push('\n');
        }
    }
    Some(out)
}

/// The paragraph that introduces the report's table.
const LEGEND: &str = "One row per variation and fault (numbered in its settings' order), from \
each trial's `summary.json` (`faults`); every trial's own figures are in `faults.csv`. Each \
cell is the mean ± standard deviation across the variation's healthy trials. *dropped*: \
messages the `stop` lines' `dropped_by_fault` owe to the fault; *lost*: a crash's messages lost \
while the VM was down (its queue at the crash and every arrival until the restart); *ticks \
skipped*: ticks of a paused or crashed VM due in its window; *expected findings*: \
clock-condition breaks a crash with `clock = \"reset\"` causes, owed to it and not violations; \
*queue at end*: the largest queue of the VMs it touched at its `fault_end` lines. For a \
partition: *sent across*: messages between two of its groups sent in the window; *received \
after end*: those of them received at or after the window's end; *gap max* and *gap at end*: \
the spread of the groups' highest Lamport clocks, at most during the window and at its end; \
*gap back after s*: seconds from the window's end until the gap was again no larger than at \
its start, over the trials where it came back, with how many of the trials that was (*k of \
n*). A figure missing from some trials (a window still open when the run stopped) is \
averaged over those that gave it, with *k of n* again; an empty cell does not apply to the \
fault's kind, and – means no trial gave it.";

/// The report's `## Faults` section, or nothing when no trial had a fault.
pub(crate) fn report_section(records: &[TrialRecord]) -> String {
    if !any_faults(records) {
        return String::new();
    }
    let mut out = format!(
        "\n## Faults\n\n{LEGEND}\n\n| variation | fault | kind | VMs | parameters | trials |"
    );
    for figure in FaultFigure::ALL {
        let _ = write!(out, " {} |", figure.header());
    }
    out.push_str("\n|---|---:|---|---|---|---:|");
    out.push_str(&"---:|".repeat(FaultFigure::ALL.len()));
    out.push('\n');
    for row in rows(records) {
        let _ = write!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            row.variation,
            row.fault,
            row.kind,
            vm_list(&row.vms),
            // A partition's groups are split by `|`, which would end the table's cell.
            row.parameters.replace('|', "\\|"),
            row.trials
        );
        for (figure, spread) in FaultFigure::ALL.iter().zip(&row.spreads) {
            let always_count = *figure == FaultFigure::GapRecoveredAfter;
            let _ = write!(out, " {} |", spread_cell(spread, always_count));
        }
        out.push('\n');
    }
    out
}

/// A cell of the report's table: blank where the figure does not apply, the spread, and how
/// many trials gave it when not all did (or always, with `always_count`).
fn spread_cell(spread: &FaultSpread, always_count: bool) -> String {
    if spread.applicable == 0 {
        return String::new();
    }
    let text = spread_text(spread.spread);
    if always_count || spread.present < spread.applicable {
        format!("{text} ({} of {})", spread.present, spread.applicable)
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::tests::record;
    use crate::record::TrialStatus;
    use lc_analysis::FaultSummary;

    fn partition(dropped: u64, gap_max: u64, recovered: Option<f64>) -> FaultSummary {
        serde_json::from_value(serde_json::json!({
            "fault": 1, "kind": "partition", "vms": [1, 2, 3],
            "parameters": "groups: 1|2 3, from_s: 10, until_s: 25, mode: hold",
            "from_s": 10.0, "until_s": 25.0,
            "lines": [
                { "vm": 1, "start": "vm-1.log:4", "end": "vm-1.log:9", "queue_at_start": 0,
                  "queue_at_end": 2, "lc_at_start": 3, "lc_at_end": 9 },
                { "vm": 2, "start": "vm-2.log:4", "end": "vm-2.log:9", "queue_at_start": 0,
                  "queue_at_end": 5, "lc_at_start": 3, "lc_at_end": 30 }
            ],
            "dropped": dropped,
            "partition": { "mode": "hold", "sent_across": 12, "received_after_end": 12,
                           "clock_gap_at_start": 0, "clock_gap_max": gap_max,
                           "clock_gap_at_end": gap_max, "gap_recovered_after_s": recovered },
            "expected_findings": 0, "expected": []
        }))
        .unwrap()
    }

    fn pause(ended: bool) -> FaultSummary {
        serde_json::from_value(serde_json::json!({
            "fault": 2, "kind": "pause", "vms": [2],
            "parameters": "from_s: 30, until_s: 40", "from_s": 30.0, "until_s": 40.0,
            "lines": [{ "vm": 2, "start": "vm-2.log:20", "end": ended.then_some("vm-2.log:21"),
                        "queue_at_start": 0, "queue_at_end": ended.then_some(37),
                        "lc_at_start": 80, "lc_at_end": ended.then_some(80) }],
            "dropped": 0, "ticks_skipped": 40, "expected_findings": 0, "expected": []
        }))
        .unwrap()
    }

    fn with_faults(number: u32, status: TrialStatus, faults: &[FaultSummary]) -> TrialRecord {
        let mut r = record("cut", number, status, 1.0);
        r.faults = faults.iter().map(TrialFault::of).collect();
        r
    }

    #[test]
    fn a_trials_figures_come_from_its_summary() {
        let p = TrialFault::of(&partition(3, 40, Some(2.5)));
        assert_eq!(p.get(FaultFigure::Dropped), Reading::Value(3.0));
        assert_eq!(p.get(FaultFigure::QueueAtEnd), Reading::Value(5.0));
        assert_eq!(p.get(FaultFigure::SentAcross), Reading::Value(12.0));
        assert_eq!(p.get(FaultFigure::GapRecoveredAfter), Reading::Value(2.5));
        assert_eq!(p.get(FaultFigure::Lost), Reading::NotThisKind);
        assert_eq!(p.get(FaultFigure::TicksSkipped), Reading::NotThisKind);
        let never = TrialFault::of(&partition(0, 40, None));
        assert_eq!(never.get(FaultFigure::GapRecoveredAfter), Reading::Absent);
        let q = TrialFault::of(&pause(true));
        assert_eq!(q.get(FaultFigure::TicksSkipped), Reading::Value(40.0));
        assert_eq!(q.get(FaultFigure::SentAcross), Reading::NotThisKind);
        assert_eq!(
            TrialFault::of(&pause(false)).get(FaultFigure::QueueAtEnd),
            Reading::Absent
        );
    }

    #[test]
    fn a_variations_faults_spread_over_its_healthy_trials() {
        let records = [
            with_faults(
                1,
                TrialStatus::Ok,
                &[partition(2, 40, Some(2.0)), pause(true)],
            ),
            with_faults(2, TrialStatus::Ok, &[partition(4, 60, None), pause(true)]),
            with_faults(
                3,
                TrialStatus::Ok,
                &[partition(6, 80, Some(4.0)), pause(false)],
            ),
            with_faults(
                4,
                TrialStatus::Unhealthy("x".into()),
                &[partition(100, 1, None)],
            ),
        ];
        let rows = rows(&records);
        assert_eq!(rows.len(), 2);
        let (cut, paused) = (&rows[0], &rows[1]);
        assert_eq!(
            (cut.fault, cut.trials, paused.fault, paused.trials),
            (1, 3, 2, 3)
        );
        let dropped = cut.spreads[FaultFigure::Dropped as usize];
        assert_eq!(
            dropped.spread,
            Some(Spread {
                mean: 4.0,
                sd: Some(2.0)
            })
        );
        // The partition that never recovered is counted, not averaged in as 0.
        let back = cut.spreads[FaultFigure::GapRecoveredAfter as usize];
        assert_eq!((back.present, back.applicable), (2, 3));
        assert_eq!(back.spread.unwrap().mean, 3.0);
        assert_eq!(
            cut.spreads[FaultFigure::Lost as usize].applicable,
            0,
            "no crash"
        );
        let queue = paused.spreads[FaultFigure::QueueAtEnd as usize];
        assert_eq!((queue.present, queue.applicable), (2, 3));
        assert_eq!(queue.spread.unwrap().mean, 37.0);

        let section = report_section(&records);
        assert!(section.starts_with("\n## Faults\n\n"), "{section}");
        assert!(
            section.contains(
                "| cut | 1 | partition | 1 2 3 | groups: 1\\|2 3, from_s: 10, until_s: 25, mode: hold | 3 | 4 ± 2 |  |  | 0 ± 0 | 5 ± 0 | 12 ± 0 | 12 ± 0 | 60 ± 20 | 60 ± 20 | 3 ± 1.41 (2 of 3) |"
            ),
            "{section}"
        );
        assert!(
            section.contains("| cut | 2 | pause | 2 | from_s: 30, until_s: 40 | 3 | 0 ± 0 |  | 40 ± 0 | 0 ± 0 | 37 ± 0 (2 of 3) |  |  |  |  |  |"),
            "{section}"
        );
    }

    #[test]
    fn faults_csv_has_a_row_per_trial_and_fault() {
        let records = [
            with_faults(1, TrialStatus::Ok, &[partition(2, 40, None), pause(false)]),
            record("control", 1, TrialStatus::Ok, 1.0),
        ];
        let csv = csv(&records).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3, "{csv}");
        assert_eq!(
            lines[0],
            "variation,trial,seed,status,fault,kind,vms,parameters,dropped,lost,ticks_skipped,\
             expected_findings,queue_at_end,sent_across,received_after_end,clock_gap_max,\
             clock_gap_at_end,gap_recovered_after_s"
        );
        assert_eq!(
            lines[1],
            "cut,1,11,ok,1,partition,1 2 3,\"groups: 1|2 3, from_s: 10, until_s: 25, mode: hold\",\
             2,,,0,5,12,12,40,40,"
        );
        assert_eq!(
            lines[2],
            "cut,1,11,ok,2,pause,2,\"from_s: 30, until_s: 40\",0,,40,0,,,,,,"
        );
    }

    #[test]
    fn a_study_without_faults_gets_no_table() {
        let records = [
            record("a", 1, TrialStatus::Ok, 1.0),
            record("b", 1, TrialStatus::Failed("no".into()), 0.0),
        ];
        assert_eq!(csv(&records), None);
        assert_eq!(report_section(&records), "");
        assert!(rows(&records).is_empty());
    }
}
