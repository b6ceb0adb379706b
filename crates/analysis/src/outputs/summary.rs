//! `summary.json`: every figure of a run, machine-readable.
//!
//! The structs here are the file's schema (docs/analyze.md documents each field) and the API
//! that later tools aggregate across runs, so they are plain data with public fields. The
//! parts made below the stream (a fault's figures, the concurrency counts) are defined by their
//! makers, `fault_effects.rs` and `concurrency.rs`, and re-exported here, so the schema reads
//! in one place and no maker depends on this file. They are
//! built from the stream's [`Outcome`] and the run's settings in one pure function, [`build`];
//! [`write`] is the file's only writer.

use lc_core::vm_id::VmId;
use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::analyzer::Outcome;
pub use crate::causality::concurrency::{Concurrency, PairCounts, VmPairConcurrency};
use crate::error::AnalysisError;
use crate::figures::drift::Drift;
use crate::outputs::safe_write::Inputs;
pub use crate::read::clock_offset::Basis as OffsetBasis;
use crate::read::run_settings::RunSettings;
pub use crate::rules::fault_effects::{
    ExpectedFinding, FaultSummary, FaultVmLines, PartitionFigures,
};
use crate::rules::violation::Rule;
use lc_contract::timestamp::Rfc3339;

/// The whole of `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The run directory's name.
    pub run_id: String,
    pub run_dir: String,
    /// The run's settings from its settings.toml, gaps filled from the logs.
    pub settings: RunSettings,
    /// Time of the earliest and latest line of the run (RFC 3339).
    pub first_event: Option<String>,
    pub last_event: Option<String>,
    /// Seconds from the first to the last line; rates are measured over this span.
    pub span_s: f64,
    /// Lines read, valid or not.
    pub lines: u64,
    /// Tick events of all VMs.
    pub ticks: u64,
    pub vms: Vec<VmSummary>,
    pub messages: Messages,
    pub waits: WaitFigures,
    /// The VM with the largest mean drift, if any VM lags at all.
    pub lagging_vm: Option<VmId>,
    pub drift_grid_ms: f64,
    pub drift_samples: u64,
    pub check: Check,
    pub warnings: u64,
    pub errors: u64,
    /// Remarks on the input that are not violations.
    pub notes: Vec<String>,
    /// The files the analysis wrote into the run directory.
    pub files: Vec<String>,
    /// Ordered and concurrent event pairs (added later: absent from older summaries).
    #[serde(default)]
    pub concurrency: Option<Concurrency>,
    /// The run's faults (issue 14), by number: absent from the file when it had none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultSummary>,
    /// A run merged from its nodes' directories (`analyze --merge`): each directory's clock
    /// offset from the first's, as estimated and removed; absent from the file otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clock_offsets: Vec<ClockOffset>,
}

/// One node directory of a merged run and how far its host's clock was from the first
/// directory's (see `clock_offset.rs`). Seconds; every time the analysis shows from this
/// directory's logs had `offset_s` subtracted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClockOffset {
    /// The directory as given on the command line.
    pub dir: String,
    /// The VMs whose logs it holds.
    pub vms: Vec<VmId>,
    /// How far its clock read ahead of the first directory's (negative: behind).
    pub offset_s: f64,
    /// The bounds the messages put on the offset (`null`: unbounded on that side).
    pub lower_s: Option<f64>,
    pub upper_s: Option<f64>,
    /// What the estimate rests on: `reference`, `interval` (the midpoint), `lower-bound-only`
    /// or `upper-bound-only` (the bound), `unbounded` (0), `contradictory` (the midpoint of
    /// crossed bounds).
    pub basis: OffsetBasis,
    /// Messages from its VMs to other directories' VMs, and the other way.
    pub messages_out: u64,
    pub messages_in: u64,
}

/// The figures of one VM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VmSummary {
    pub vm: VmId,
    /// Ticks per second it was configured with (settings `rates`, else its `start` line).
    pub configured_rate: Option<f64>,
    /// Ticks per second over the run's span.
    pub measured_rate: f64,
    pub ticks: u64,
    /// Send events.
    pub sent: u64,
    /// Messages sent (a send to k recipients counts k).
    pub messages_sent: u64,
    pub received: u64,
    pub internal: u64,
    pub final_clock: u64,
    /// Clock units per second over the run's span.
    pub clock_rate: f64,
    pub mean_jump: f64,
    pub p95_jump: i64,
    pub max_jump: i64,
    /// `[jump, count]` pairs, in jump order.
    pub jump_histogram: Vec<(i64, u64)>,
    pub mean_queue: f64,
    pub max_queue: u64,
    pub final_queue: u64,
    /// Messages left in its queue at stop (`queue` of its `stop` line).
    pub left_in_queue: Option<u64>,
    /// Messages it could not send because their peer was lost (`dropped`).
    pub dropped: u64,
    /// Messages it received that were matched to their send.
    pub waits: u64,
    pub wait_mean_ms: f64,
    pub wait_p95_ms: f64,
    pub wait_max_ms: f64,
    /// Gap to the highest clock on the drift grid, in clock units.
    pub drift_mean: f64,
    pub drift_max: u64,
    pub warnings: u64,
    pub errors: u64,
    pub malformed_lines: u64,
}

/// Message accounting of the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Messages {
    /// Messages sent: the sum over send events of their number of recipients.
    pub sent: u64,
    /// Receive events.
    pub received: u64,
    /// Sum of the `queue` of every `stop` line.
    pub left_in_queues: u64,
    /// Sum of the `dropped` of every `stop` line (peer connections lost).
    pub dropped: u64,
    /// sent - received - left_in_queues - dropped: 0 in a healthy run.
    pub unaccounted: i64,
    /// Messages whose send was logged but no receive (some may be left in queues).
    pub never_received: u64,
}

/// How long messages waited, over all matched messages of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitFigures {
    pub count: u64,
    pub mean_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
    /// Receives stamped before their send (counted with wait 0).
    pub before_send: u64,
}

/// The check of every rule of the model (and of the message accounts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// No violation, no unaccounted message, and every VM's log complete.
    pub healthy: bool,
    pub violations: u64,
    /// Violations per rule name.
    pub by_rule: BTreeMap<String, u64>,
    pub malformed_lines: u64,
    /// The VMs whose log ends without a `stop` line: the run was killed (or is still running),
    /// so its message books cannot be closed and it is not healthy, however they look.
    /// Absent from summaries written before it existed, hence the default.
    #[serde(default)]
    pub incomplete: Vec<VmId>,
}

/// Builds the summary of a run from what its stream yielded.
pub(crate) fn build(
    run_dir: &Path,
    settings: RunSettings,
    outcome: &Outcome,
    files: Vec<String>,
) -> Summary {
    let span_us = match (outcome.first_us, outcome.last_us) {
        (Some(first), Some(last)) => (last - first).max(0),
        _ => 0,
    };
    let span_s = span_us as f64 / 1e6;
    let per_second = |n: u64| if span_us > 0 { n as f64 / span_s } else { 0.0 };

    let vms = vm_summaries(&settings, outcome, per_second);
    let messages = messages(&vms, outcome);
    let incomplete = incomplete(&vms);

    let lagging_vm = vms
        .iter()
        .filter(|v| v.drift_mean > 0.0)
        .max_by(|a, b| a.drift_mean.total_cmp(&b.drift_mean).then(b.vm.cmp(&a.vm)))
        .map(|v| v.vm);

    let settings = fill_settings(settings, &vms);
    let ticks = vms.iter().map(|v| v.ticks).sum();
    let warnings = vms.iter().map(|v| v.warnings).sum();
    let errors = vms.iter().map(|v| v.errors).sum();
    Summary {
        run_id: run_dir
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        run_dir: run_dir.display().to_string(),
        settings,
        first_event: outcome.first_us.map(|t| Rfc3339(t).to_string()),
        last_event: outcome.last_us.map(|t| Rfc3339(t).to_string()),
        span_s,
        lines: outcome.lines,
        ticks,
        vms,
        check: check(outcome, messages.unaccounted, incomplete),
        messages,
        waits: WaitFigures {
            count: outcome.waits.count(),
            mean_ms: outcome.waits.mean_ms(),
            p95_ms: outcome.waits.p95_ms(),
            max_ms: outcome.waits.max_ms(),
            before_send: outcome.waits.negative,
        },
        lagging_vm,
        drift_grid_ms: Drift::STEP_US as f64 / 1000.0,
        drift_samples: outcome.drift_samples,
        warnings,
        errors,
        notes: outcome.notes.clone(),
        files,
        concurrency: Some(outcome.concurrency.clone()),
        faults: outcome.faults.clone(),
        clock_offsets: Vec::new(),
    }
}

/// Each VM's figures from its stream state and drift, its configured rate from the settings
/// (else its `start` line's).
fn vm_summaries(
    settings: &RunSettings,
    outcome: &Outcome,
    per_second: impl Fn(u64) -> f64,
) -> Vec<VmSummary> {
    outcome
        .vms
        .iter()
        .zip(&outcome.drift)
        .map(|(s, d)| VmSummary {
            vm: s.vm,
            configured_rate: settings
                .rates
                .as_ref()
                .and_then(|r| r.get(s.vm.index()).copied())
                .or(s.start_rate),
            measured_rate: per_second(s.ticks),
            ticks: s.ticks,
            sent: s.sends,
            messages_sent: s.messages_sent,
            received: s.receives,
            internal: s.internals,
            final_clock: s.final_clock,
            clock_rate: per_second(s.final_clock),
            mean_jump: s.jumps.mean(),
            p95_jump: s.jumps.quantile(0.95).unwrap_or(0),
            max_jump: s.jumps.max().unwrap_or(0),
            jump_histogram: s.jumps.iter().collect(),
            mean_queue: s.mean_queue(),
            max_queue: s.queue_max,
            final_queue: s.queue_last,
            left_in_queue: s.left_in_queue,
            dropped: s.dropped,
            waits: s.waits.count(),
            wait_mean_ms: s.waits.mean_ms(),
            wait_p95_ms: s.waits.p95_ms(),
            wait_max_ms: s.waits.max_ms(),
            drift_mean: d.mean,
            drift_max: d.max,
            warnings: s.warnings,
            errors: s.errors,
            malformed_lines: s.malformed,
        })
        .collect()
}

/// The run's message accounts: what was sent against where it went.
fn messages(vms: &[VmSummary], outcome: &Outcome) -> Messages {
    let sent: u64 = vms.iter().map(|v| v.messages_sent).sum();
    let received: u64 = vms.iter().map(|v| v.received).sum();
    let left_in_queues: u64 = vms.iter().filter_map(|v| v.left_in_queue).sum();
    let dropped: u64 = vms.iter().map(|v| v.dropped).sum();
    Messages {
        sent,
        received,
        left_in_queues,
        dropped,
        unaccounted: sent as i64 - received as i64 - left_in_queues as i64 - dropped as i64,
        never_received: outcome.unreceived.messages,
    }
}

/// The VMs whose log has no `stop` line (only a `stop` line gives `left_in_queue`).
fn incomplete(vms: &[VmSummary]) -> Vec<VmId> {
    vms.iter()
        .filter(|v| v.left_in_queue.is_none())
        .map(|v| v.vm)
        .collect()
}

/// The check of every rule: healthy when nothing is broken, every message is accounted for and
/// no log was cut short of its `stop` line.
fn check(outcome: &Outcome, unaccounted: i64, incomplete: Vec<VmId>) -> Check {
    let violations: u64 = outcome.rule_counts.values().sum();
    Check {
        healthy: violations == 0 && unaccounted == 0 && incomplete.is_empty(),
        incomplete,
        violations,
        by_rule: outcome
            .rule_counts
            .iter()
            .map(|(rule, &n)| (rule.name().to_string(), n))
            .collect(),
        malformed_lines: outcome
            .rule_counts
            .get(&Rule::MalformedLine)
            .copied()
            .unwrap_or(0),
    }
}

/// Writes `summary` as pretty JSON to `path`, which must not be one of `inputs`.
pub(crate) fn write(path: &Path, summary: &Summary, inputs: &Inputs) -> Result<(), AnalysisError> {
    let json = serde_json::to_vec_pretty(summary).map_err(|e| AnalysisError::Write {
        path: path.to_path_buf(),
        source: e.into(),
    })?;
    super::safe_write::write_bytes(path, inputs, &json)
}

/// Fills what settings.toml did not say from the logs: the VM count and each VM's rate.
fn fill_settings(mut settings: RunSettings, vms: &[VmSummary]) -> RunSettings {
    if settings.vm_count.is_none() {
        settings.vm_count = vms.iter().map(|v| v.vm.get()).max();
    }
    if settings.rates.is_none() {
        settings.rates = vms.iter().map(|v| v.configured_rate).collect();
    }
    settings
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const VM1: &str = "\
2026-11-25T17:00:00.000000Z INFO start, addr: 127.0.0.1:7001, rate: 10, vm: 1
2026-11-25T17:00:00.100000Z INFO send, to: 2, seq: 1, queue: 0, lc: 1, vm: 1
2026-11-25T17:00:00.300000Z INFO send, to: 2, seq: 2, queue: 0, lc: 2, vm: 1
2026-11-25T17:00:00.400000Z INFO receive, from: 2, seq: 1, msg_lc: 3, queue: 0, lc: 4, vm: 1
2026-11-25T17:00:00.600000Z INFO stop, queue: 0, internal: 0, received: 1, sent: 2, ticks: 3, vm: 1
";

    const VM2: &str = "\
2026-11-25T17:00:00.000000Z INFO start, addr: 127.0.0.1:7002, rate: 4, vm: 2
2026-11-25T17:00:00.250000Z INFO receive, from: 1, seq: 1, msg_lc: 1, queue: 0, lc: 2, vm: 2
2026-11-25T17:00:00.350000Z INFO send, to: 1, seq: 1, queue: 0, lc: 3, vm: 2
2026-11-25T17:00:00.450000Z INFO receive, from: 1, seq: 2, msg_lc: 2, queue: 0, lc: 4, vm: 2
2026-11-25T17:00:00.600000Z INFO stop, dropped: 0, queue: 0, internal: 0, received: 2, sent: 1, ticks: 3, vm: 2
";

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    fn summary_of(vm1: &str, vm2: &str) -> Summary {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("vm-1.log"), vm1).unwrap();
        fs::write(dir.path().join("vm-2.log"), vm2).unwrap();
        crate::summarize_run(dir.path()).unwrap().summary().clone()
    }

    #[test]
    fn a_run_whose_logs_all_stop_and_balance_is_healthy() {
        let s = summary_of(VM1, VM2);
        assert!(s.check.healthy, "{:?}", s.check);
        assert!(s.check.incomplete.is_empty());
        assert_eq!((s.messages.sent, s.messages.received), (3, 3));
        assert_eq!(s.messages.unaccounted, 0);
        // No settings.toml: the count and the rates come from the logs.
        assert_eq!(s.settings.vm_count, Some(2));
        assert_eq!(s.settings.rates, Some(vec![10.0, 4.0]));
        // 0.6 s; VM 1 ticks 3 times, VM 2's clock reaches 4.
        assert!(close(s.span_s, 0.6), "{}", s.span_s);
        assert!(close(s.vms[0].measured_rate, 5.0));
        assert!(close(s.vms[1].clock_rate, 4.0 / 0.6));
        // On the 10 ms grid from 0 to 0.59 s, VM 1 trails by 1 for 10 samples (0.25 to 0.29,
        // 0.35 to 0.39), VM 2 for 20 (0.10 to 0.24, 0.40 to 0.44): VM 2 lags most.
        assert!(close(s.drift_grid_ms, 10.0));
        assert!(close(s.vms[0].drift_mean, 10.0 / 60.0));
        assert!(close(s.vms[1].drift_mean, 20.0 / 60.0));
        assert_eq!(s.lagging_vm, Some(VmId::literal(2)));
    }

    /// Two VMs that tick at the same instants with the same clocks and never send.
    fn twins(times: [&str; 3]) -> Summary {
        let log = |vm: u32| {
            format!(
                "2026-11-25T17:00:{}Z INFO start, addr: 127.0.0.1:700{vm}, rate: 10, vm: {vm}\n\
                 2026-11-25T17:00:{}Z INFO internal, queue: 0, lc: 1, vm: {vm}\n\
                 2026-11-25T17:00:{}Z INFO stop, queue: 0, internal: 1, received: 0, sent: 0, \
                 ticks: 1, vm: {vm}\n",
                times[0], times[1], times[2]
            )
        };
        summary_of(&log(1), &log(2))
    }

    #[test]
    fn the_summary_written_reads_back_the_same() {
        let s = summary_of(VM1, VM2);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.json");
        write(&path, &s, &Inputs::none()).unwrap();
        let back: Summary = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        // Floats are compared elsewhere: JSON may round their last bit.
        assert_eq!(
            (back.run_id, back.check, back.messages, back.lagging_vm),
            (s.run_id, s.check, s.messages, s.lagging_vm)
        );
    }

    #[test]
    fn vms_that_never_trail_leave_no_lagging_vm() {
        let s = twins(["00.000000", "00.100000", "00.200000"]);
        assert!(s.check.healthy, "{:?}", s.check);
        assert!(s.vms.iter().all(|v| v.drift_mean == 0.0));
        assert_eq!(s.lagging_vm, None);
        assert!(close(s.vms[0].measured_rate, 5.0));
    }

    #[test]
    fn a_run_of_one_instant_has_no_rates() {
        let s = twins(["00.000000"; 3]);
        assert_eq!(s.span_s, 0.0);
        assert!(s
            .vms
            .iter()
            .all(|v| v.measured_rate == 0.0 && v.clock_rate == 0.0));
    }

    #[test]
    fn a_log_cut_before_its_stop_line_makes_the_run_unhealthy_alone() {
        let cut = VM2.rsplit_once("2026-11-25T17:00:00.600000Z").unwrap().0;
        let s = summary_of(VM1, cut);
        assert_eq!(s.check.incomplete, vec![VmId::literal(2)]);
        assert_eq!((s.check.violations, s.messages.unaccounted), (0, 0));
        assert!(!s.check.healthy);
    }

    #[test]
    fn messages_dropped_or_left_in_a_queue_are_accounted_for() {
        let vm1 = VM1.replace(
            "2026-11-25T17:00:00.600000Z INFO stop, queue: 0, internal: 0, received: 1, sent: 2, ticks: 3",
            "2026-11-25T17:00:00.500000Z INFO send, to: 2, seq: 3, queue: 0, lc: 5, vm: 1\n\
             2026-11-25T17:00:00.600000Z INFO stop, queue: 0, internal: 0, received: 1, sent: 3, ticks: 4",
        );
        let dropped = summary_of(&vm1, &VM2.replace("dropped: 0", "dropped: 1"));
        assert_eq!((dropped.messages.sent, dropped.messages.dropped), (4, 1));
        let left = summary_of(
            &vm1,
            &VM2.replace("dropped: 0, queue: 0", "dropped: 0, queue: 1"),
        );
        assert_eq!((left.messages.sent, left.messages.left_in_queues), (4, 1));
        for s in [dropped, left] {
            assert_eq!(s.messages.unaccounted, 0);
            assert!(s.check.healthy, "{:?}", s.check);
        }
    }
}
