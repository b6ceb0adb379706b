//! What the run's faults did, read back from their lines (issue 14). Pure.
//!
//! A fault shows in the logs as a `fault_start` and a `fault_end` line in the file of each VM it
//! touches (no end for a crash without restart, or a window that outlasts the run). These lines
//! are no events: they mark a window on the VM's own timeline, in its own program order, and
//! carry the VM's queue and clock at that instant. [`FaultBook`] collects them and judges, with
//! file and line, what the faults promise:
//!
//! - a fault line's `lc` is the VM's clock then: its previous event's, or 0 when a crash's
//!   restart resets it ([`Rule::FaultClock`]);
//! - a paused or crashed VM logs no event inside its window: after its `fault_start` line and
//!   stamped before its `fault_end` line ([`Rule::EventWhileHalted`]). The end is judged by
//!   time, not by line order, because a tick due exactly at the window's end may be logged just
//!   before the `fault_end` line of the same instant;
//! - no message crosses a partition in its window: a message between two of its groups whose
//!   send line lies inside the sender's window (between the sender's `fault_start` and
//!   `fault_end` lines) must be received at or after the receiver's `fault_end` stamp
//!   ([`Rule::CrossedPartition`]), whatever the mode: held, it waits for the end; dropped, it is
//!   never received, unless it reached the link after the window;
//! - a `stop` line's `dropped_by_fault` never adds up to more than its `dropped`
//!   ([`Rule::FaultDropsExceedDropped`]).
//!
//! and measures each fault: its lines per VM (queue and clock at both ends), what it dropped
//! (the `stop` lines' `dropped_by_fault` for it), what a crash lost, the ticks a pause or crash
//! skipped (the VM's ticks due in the window, from its `start` line's `rate` and `phase_ms`),
//! the cross-group messages sent in a partition's window, and how far the groups' clocks drifted
//! apart. [`ResetBreaks`] finds the clock-condition breaks a crash with `clock: reset` causes, as
//! findings owed to that fault rather than violations.

use lc_core::vm_id::VmId;
use std::collections::BTreeMap;
use std::time::Duration;

use super::matching::Delivery;
use super::violation::{At, Rule};
use crate::read::record::{Action, FaultLine, Tick};
use lc_contract::line::Message;
use lc_contract::timestamp::Rfc3339;
use lc_core::faults::{format_secs, Edge, Fault, FaultId, RestartClock};
use lc_core::schedule::offset;
use lc_core::vector_clock::VectorClock;
use serde::{Deserialize, Serialize};

/// What one fault did, from its `fault_start`/`fault_end` lines and the run around them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultSummary {
    /// Its number (its place in the settings, from 1).
    pub fault: usize,
    /// `partition`, `pause` or `crash`.
    pub kind: String,
    /// The VMs it touches.
    pub vms: Vec<VmId>,
    /// Its parameters as its lines give them (`groups: 1|2 3, from_s: 10, ...`).
    pub parameters: String,
    /// Its window as logged, in seconds from the run's start: `from_s` (`at_s` of a crash) and
    /// `until_s` (`restart_s`; `null` for a crash without restart).
    pub from_s: f64,
    pub until_s: Option<f64>,
    /// Its lines in each touched VM's log, with the VM's queue and clock at each.
    pub lines: Vec<FaultVmLines>,
    /// Messages the `stop` lines' `dropped_by_fault` owe to it.
    pub dropped: u64,
    /// A crash: the messages the VM lost while down (its `fault_end`'s `lost`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost: Option<u64>,
    /// A pause or crash with an end: the VM's ticks due in the window, which it skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticks_skipped: Option<u64>,
    /// A partition: what crossed it and how the groups' clocks drifted apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<PartitionFigures>,
    /// Clock-condition breaks a crash with `clock = "reset"` caused: owed to the fault, not
    /// violations. All counted; the first 1,000 listed in `expected`.
    pub expected_findings: u64,
    pub expected: Vec<ExpectedFinding>,
}

/// A fault's lines in one VM's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultVmLines {
    pub vm: VmId,
    /// `vm-1.log:12`: where its `fault_start` and `fault_end` lines are (`null` if absent).
    pub start: Option<String>,
    pub end: Option<String>,
    pub queue_at_start: Option<u64>,
    pub queue_at_end: Option<u64>,
    pub lc_at_start: Option<u64>,
    pub lc_at_end: Option<u64>,
}

/// What crossed a partition, and the gap between its groups' clocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionFigures {
    /// `hold` or `drop`.
    pub mode: String,
    /// Messages (one per recipient) between two of its groups whose send lies in the sender's
    /// window.
    pub sent_across: u64,
    /// Of those, the ones received at or after the receiver's end of the window.
    pub received_after_end: u64,
    /// The spread of the groups' highest clocks (highest minus lowest group maximum) at the
    /// window's start (the start lines' clocks), its largest until the end, and at the end.
    pub clock_gap_at_start: Option<u64>,
    pub clock_gap_max: Option<u64>,
    pub clock_gap_at_end: Option<u64>,
    /// Seconds from the window's end (its last `fault_end` line) to the first instant the gap
    /// was again at most its value at the start; `null` if it never was within the run.
    pub gap_recovered_after_s: Option<f64>,
}

/// A finding owed to a fault: where, and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectedFinding {
    /// `vm-3.log:60`.
    pub at: String,
    pub detail: String,
}

/// Expected findings kept in full per fault; all are counted.
const EXPECTED_KEPT: usize = 1_000;

/// One of a fault's lines on one VM: where it is, when, and the VM's queue and clock then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mark {
    pub(crate) at: At,
    pub(crate) time_us: i64,
    pub(crate) queue: u64,
    pub(crate) lc: u64,
}

/// A fault on one VM it touches.
#[derive(Debug, Clone, Default)]
struct Touch {
    start: Option<Mark>,
    end: Option<Mark>,
    lost: Option<u64>,
    /// Events logged inside its pause or crash window, judged when the window's end is known.
    halted: Vec<(At, i64, &'static str)>,
    /// Receives by this VM of messages sent in the partition's window, judged against this
    /// VM's end of the window when it is known: where, when, and what to say if too early.
    held: Vec<(At, i64, String)>,
}

impl Touch {
    /// Whether the line at `line` of this VM's file lies inside its window.
    fn holds_line(&self, line: usize) -> bool {
        self.start.is_some_and(|s| s.at.line < line) && self.end.is_none_or(|e| line < e.at.line)
    }

    fn open(&self) -> bool {
        self.start.is_some() && self.end.is_none()
    }
}

/// How far a partition's groups drifted apart: the spread of their highest clocks.
#[derive(Debug, Clone, Default)]
struct Gap {
    at_start: Option<u64>,
    max: u64,
    at_end: Option<u64>,
    end_us: Option<i64>,
    recovered_us: Option<i64>,
}

/// Everything seen of one fault.
#[derive(Debug, Clone)]
struct Seen {
    /// As its first line gave it.
    spec: Fault,
    /// By VM, for the VMs with a log that it touches.
    touches: BTreeMap<VmId, Touch>,
    dropped: u64,
    /// Cross-group messages (one per recipient) sent in a partition's window.
    sent_across: u64,
    /// Those received at or after the receiver's end of the window.
    received_after: u64,
    gap: Gap,
}

/// The faults of one run, fed its lines in time-merge order (each file in its own order).
#[derive(Debug)]
pub(crate) struct FaultBook {
    /// VM id and file name, by file slot.
    vms: Vec<VmId>,
    names: Vec<String>,
    /// Each VM's `rate` and `phase_ms` from its `start` line, by slot.
    schedules: Vec<(Option<f64>, Option<Duration>)>,
    /// Each VM's clock now (after its last event or fault line), by slot.
    clocks: Vec<u64>,
    faults: BTreeMap<FaultId, Seen>,
    /// Drops a `stop` line owes to a fault no line describes.
    unknown_drops: BTreeMap<FaultId, u64>,
    notes: Vec<String>,
}

impl FaultBook {
    /// A book for the VMs `vms`, whose files are named `names`, by slot.
    pub(crate) fn new(vms: Vec<VmId>, names: Vec<String>) -> FaultBook {
        let n = vms.len();
        FaultBook {
            vms,
            names,
            schedules: vec![(None, None); n],
            clocks: vec![0; n],
            faults: BTreeMap::new(),
            unknown_drops: BTreeMap::new(),
            notes: Vec::new(),
        }
    }

    fn place(&self, at: At) -> String {
        format!("{}:{}", self.names[at.file], at.line)
    }

    fn slot(&self, vm: VmId) -> Option<usize> {
        self.vms.iter().position(|&v| v == vm)
    }

    /// VM `slot`'s `start` line.
    pub(crate) fn start(&mut self, slot: usize, rate: Option<f64>, phase: Option<Duration>) {
        self.schedules[slot] = (rate, phase);
    }

    /// A fault line of VM `slot` at `at`, stamped `time_us`; `clock` is the VM's clock before
    /// it, if known.
    pub(crate) fn line(
        &mut self,
        at: At,
        time_us: i64,
        line: &FaultLine,
        clock: Option<u64>,
        mut report: impl FnMut(At, Rule, String),
    ) {
        let slot = at.file;
        let vm = self.vms[slot];
        let restart_reset = line.edge == Edge::End
            && matches!(
                line.spec,
                Fault::Crash {
                    clock: RestartClock::Reset,
                    ..
                }
            );
        let want = if restart_reset { Some(0) } else { clock };
        if let Some(want) = want.filter(|&w| w != line.lc) {
            let why = if restart_reset {
                "a restart with clock reset starts from 0".to_string()
            } else {
                format!("the VM's clock is {want}, the lc of its previous event")
            };
            report(
                at,
                Rule::FaultClock,
                format!(
                    "{} of fault {} has lc {}; {why}",
                    edge_name(line.edge),
                    line.fault,
                    line.lc
                ),
            );
        }
        self.clocks[slot] = line.lc;
        let vms = &self.vms;
        let seen = self.faults.entry(line.fault).or_insert_with(|| Seen {
            spec: line.spec.clone(),
            touches: line
                .spec
                .vms()
                .into_iter()
                .filter(|v| vms.contains(v))
                .map(|v| (v, Touch::default()))
                .collect(),
            dropped: 0,
            sent_across: 0,
            received_after: 0,
            gap: Gap::default(),
        });
        if seen.spec != line.spec && self.notes.len() < 10 {
            self.notes.push(format!(
                "{}:{}: fault {} is described otherwise than by its first line; the first line's description is used",
                self.names[slot], at.line, line.fault
            ));
        }
        let touch = seen.touches.entry(vm).or_default();
        let mark = Mark {
            at,
            time_us,
            queue: line.queue,
            lc: line.lc,
        };
        match line.edge {
            Edge::Start => touch.start = Some(mark),
            Edge::End => {
                touch.end = Some(mark);
                touch.lost = line.lost;
                for (event, t, kind) in std::mem::take(&mut touch.halted) {
                    if t < time_us {
                        let detail = halted_detail(kind, line.fault, &seen.spec);
                        report(event, Rule::EventWhileHalted, detail);
                    }
                }
                let place = format!("{}:{}", self.names[slot], at.line);
                for (receive, t, detail) in std::mem::take(&mut touch.held) {
                    if t < time_us {
                        let detail = format!("{detail} at {} ({place})", Rfc3339(time_us));
                        report(receive, Rule::CrossedPartition, detail);
                    } else {
                        seen.received_after += 1;
                    }
                }
            }
        }
        self.track_gap(line.fault, time_us);
    }

    /// A tick of VM `slot` at `at`, stamped `time_us`.
    pub(crate) fn tick(&mut self, at: At, time_us: i64, tick: &Tick) {
        let slot = at.file;
        let vm = self.vms[slot];
        self.clocks[slot] = tick.lc;
        let kind = tick.action.kind().as_str();
        let mut gaps = Vec::new();
        for (&id, seen) in &mut self.faults {
            let Some(touch) = seen.touches.get_mut(&vm) else {
                continue;
            };
            match &seen.spec {
                Fault::Pause { .. } | Fault::Crash { .. } if touch.open() => {
                    touch.halted.push((at, time_us, kind));
                }
                Fault::Partition { groups, .. } => {
                    if let (Action::Send { to, .. }, true) = (&tick.action, touch.open()) {
                        let across = to.iter().filter(|&&r| across(groups, vm, r)).count();
                        seen.sent_across += across as u64;
                    }
                    gaps.push(id);
                }
                _ => {}
            }
        }
        for id in gaps {
            self.track_gap(id, time_us);
        }
    }

    /// A matched message: checked against every partition it crosses.
    pub(crate) fn delivery(&mut self, d: &Delivery, mut report: impl FnMut(At, Rule, String)) {
        let names = &self.names;
        for (&id, seen) in &mut self.faults {
            let Fault::Partition { groups, mode, .. } = &seen.spec else {
                continue;
            };
            if !across(groups, d.sender, d.recipient) {
                continue;
            }
            let in_window = seen
                .touches
                .get(&d.sender)
                .is_some_and(|t| t.holds_line(d.send.at.line));
            if !in_window {
                continue;
            }
            let detail = format!(
                "message seq {} from VM {} ({}:{}) was sent in fault {id}'s window (partition, {}) \
                 and received before the window ended",
                d.seq,
                d.sender,
                names[d.send.at.file],
                d.send.at.line,
                mode.name()
            );
            match seen.touches.get_mut(&d.recipient) {
                Some(Touch { end: Some(end), .. }) => {
                    if d.receive.time_us < end.time_us {
                        let detail = format!(
                            "{detail} at {} ({}:{})",
                            Rfc3339(end.time_us),
                            names[end.at.file],
                            end.at.line
                        );
                        report(d.receive.at, Rule::CrossedPartition, detail);
                    } else {
                        seen.received_after += 1;
                    }
                }
                // Its end is not logged yet: judged when it is (a receive stamped with the very
                // instant of the end may come just before the end's line).
                Some(touch) => touch.held.push((d.receive.at, d.receive.time_us, detail)),
                None => report(d.receive.at, Rule::CrossedPartition, detail),
            }
        }
    }

    /// VM `slot`'s `stop` line at `at`: its drops, and those it owes to faults.
    pub(crate) fn stop(
        &mut self,
        at: At,
        dropped: u64,
        by_fault: &[(FaultId, u64)],
        mut report: impl FnMut(At, Rule, String),
    ) {
        let owed: u64 = by_fault.iter().map(|(_, n)| n).sum();
        if owed > dropped {
            report(
                at,
                Rule::FaultDropsExceedDropped,
                format!("dropped_by_fault adds up to {owed}, more than dropped ({dropped})"),
            );
        }
        for &(id, n) in by_fault {
            match self.faults.get_mut(&id) {
                Some(seen) => seen.dropped += n,
                None => *self.unknown_drops.entry(id).or_default() += n,
            }
        }
    }

    /// Follows partition `id`'s clock gap at `time_us`: its value at the window's start (the
    /// start lines' clocks, once every touched VM logged one), its largest until the end, its
    /// value at the end, and when it first came back within its start value.
    fn track_gap(&mut self, id: FaultId, time_us: i64) {
        let Some(seen) = self.faults.get(&id) else {
            return;
        };
        let Fault::Partition { groups, .. } = &seen.spec else {
            return;
        };
        let all = |f: fn(&Touch) -> Option<Mark>| seen.touches.values().all(|t| f(t).is_some());
        if !all(|t| t.start) {
            return;
        }
        let ended = all(|t| t.end);
        let at_marks = |pick: fn(&Touch) -> Option<Mark>| {
            spread(groups, |vm| {
                seen.touches.get(&vm).and_then(pick).map(|m| m.lc)
            })
        };
        let now = spread(groups, |vm| self.slot(vm).map(|s| self.clocks[s]));
        let mut gap = seen.gap.clone();
        if gap.at_start.is_none() {
            gap.at_start = at_marks(|t| t.start);
        }
        if gap.at_end.is_none() {
            gap.max = gap.max.max(gap.at_start.unwrap_or(0)).max(now.unwrap_or(0));
            if ended {
                gap.at_end = at_marks(|t| t.end);
                gap.max = gap.max.max(gap.at_end.unwrap_or(0));
                gap.end_us = seen
                    .touches
                    .values()
                    .filter_map(|t| t.end)
                    .map(|m| m.time_us)
                    .max();
            }
        }
        if gap.at_end.is_some() && gap.recovered_us.is_none() && now <= gap.at_start {
            gap.recovered_us = Some(time_us);
        }
        if let Some(seen) = self.faults.get_mut(&id) {
            seen.gap = gap;
        }
    }

    /// The windows of the faults, for the plots: number, kind, and the first start and last end
    /// stamp of their lines in seconds after `origin_us` (no end: it lasted to the end of the
    /// run).
    pub(crate) fn bands(&self, origin_us: i64) -> Vec<FaultBand> {
        let secs = |us: i64| (us - origin_us) as f64 / 1e6;
        self.faults
            .iter()
            .filter_map(|(&fault, seen)| {
                let marks = |f: fn(&Touch) -> Option<Mark>| seen.touches.values().filter_map(f);
                let from_us = marks(|t| t.start).map(|m| m.time_us).min()?;
                let ended = seen.touches.values().all(|t| t.end.is_some());
                Some(FaultBand {
                    fault,
                    kind: seen.spec.kind(),
                    from_s: secs(from_us),
                    until_s: ended
                        .then(|| marks(|t| t.end).map(|m| m.time_us).max())
                        .flatten()
                        .map(secs),
                })
            })
            .collect()
    }

    /// Ends the run: judges what waited for a window's end that never came, and sums up each
    /// fault, with the expected findings `breaks` owes to it.
    pub(crate) fn finish(
        mut self,
        breaks: ResetBreaks,
        mut report: impl FnMut(At, Rule, String),
    ) -> (Vec<FaultSummary>, Vec<String>) {
        let mut expected = breaks.found;
        let mut summaries = Vec::new();
        self.report_unended(&mut report);
        for (&id, seen) in &self.faults {
            let (from, until) = seen.spec.window();
            let lines: Vec<FaultVmLines> = seen
                .touches
                .iter()
                .map(|(&vm, t)| FaultVmLines {
                    vm,
                    start: t.start.map(|m| self.place(m.at)),
                    end: t.end.map(|m| self.place(m.at)),
                    queue_at_start: t.start.map(|m| m.queue),
                    queue_at_end: t.end.map(|m| m.queue),
                    lc_at_start: t.start.map(|m| m.lc),
                    lc_at_end: t.end.map(|m| m.lc),
                })
                .collect();
            let halted = match &seen.spec {
                Fault::Pause { vm, .. } | Fault::Crash { vm, .. } => Some(*vm),
                Fault::Partition { .. } => None,
            };
            let ticks_skipped = halted.and_then(|vm| {
                let (rate, phase) = self.schedules[self.slot(vm)?];
                ticks_due(rate?, phase, from, until?)
            });
            let lost = match seen.spec {
                Fault::Crash { .. } => seen.touches.values().find_map(|t| t.lost),
                _ => None,
            };
            let partition = partition_figures(seen);
            let (count, kept) = expected.remove(&id).unwrap_or_default();
            summaries.push(FaultSummary {
                fault: id,
                kind: seen.spec.kind().to_string(),
                vms: seen.spec.vms(),
                parameters: seen
                    .spec
                    .parameters()
                    .iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                from_s: from.as_secs_f64(),
                until_s: until.map(|u| u.as_secs_f64()),
                lines,
                dropped: seen.dropped,
                lost,
                ticks_skipped,
                partition,
                expected_findings: count,
                expected: kept
                    .into_iter()
                    .map(|(at, detail)| ExpectedFinding {
                        at: self.place(at),
                        detail,
                    })
                    .collect(),
            });
        }
        let mut notes = self.notes;
        for (id, n) in &self.unknown_drops {
            notes.push(format!(
                "stop lines owe {n} drops to fault {id}, which no fault line describes"
            ));
        }
        (summaries, notes)
    }

    /// The windows that never ended in a VM's log: what was judged against their end is
    /// reported against the log's end instead.
    fn report_unended(&mut self, report: &mut impl FnMut(At, Rule, String)) {
        for (&id, seen) in &mut self.faults {
            for touch in seen.touches.values_mut() {
                for (event, _, kind) in std::mem::take(&mut touch.halted) {
                    let detail = format!(
                        "{}; the window never ended in this log",
                        halted_detail(kind, id, &seen.spec)
                    );
                    report(event, Rule::EventWhileHalted, detail);
                }
                for (receive, _, detail) in std::mem::take(&mut touch.held) {
                    let detail = format!("{detail}: the receiver never logged its end");
                    report(receive, Rule::CrossedPartition, detail);
                }
            }
        }
    }
}

/// What crossed a partition and its groups' clock gap; `None` for the other faults.
fn partition_figures(seen: &Seen) -> Option<PartitionFigures> {
    match &seen.spec {
        Fault::Partition { mode, .. } => Some(PartitionFigures {
            mode: mode.name().to_string(),
            sent_across: seen.sent_across,
            received_after_end: seen.received_after,
            clock_gap_at_start: seen.gap.at_start,
            clock_gap_max: seen.gap.at_start.map(|_| seen.gap.max),
            clock_gap_at_end: seen.gap.at_end,
            gap_recovered_after_s: match (seen.gap.recovered_us, seen.gap.end_us) {
                (Some(back), Some(end)) => Some((back - end).max(0) as f64 / 1e6),
                _ => None,
            },
        }),
        _ => None,
    }
}

/// A fault's window on the plots' time axis, in seconds since the run's first line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FaultBand {
    pub(crate) fault: FaultId,
    pub(crate) kind: &'static str,
    pub(crate) from_s: f64,
    /// `None`: it had not ended when the run did.
    pub(crate) until_s: Option<f64>,
}

fn edge_name(edge: Edge) -> &'static str {
    let message = match edge {
        Edge::Start => Message::FaultStart,
        Edge::End => Message::FaultEnd,
    };
    message.name()
}

fn halted_detail(kind: &str, id: FaultId, spec: &Fault) -> String {
    let (from, until) = spec.window();
    let until = until.map_or_else(
        || "the end".to_string(),
        |u| format!("{} s", format_secs(u)),
    );
    format!(
        "{kind} logged inside fault {id}'s {} window ({} s to {until})",
        spec.kind(),
        format_secs(from)
    )
}

/// Whether `a` and `b` are in different groups.
fn across(groups: &[Vec<VmId>], a: VmId, b: VmId) -> bool {
    let group_of = |vm| groups.iter().position(|g| g.contains(&vm));
    matches!((group_of(a), group_of(b)), (Some(x), Some(y)) if x != y)
}

/// The spread of the highest clocks of `groups`: the highest group maximum minus the lowest,
/// with each VM's clock from `clock_of` (`None`: a VM without a log, left out).
fn spread(groups: &[Vec<VmId>], clock_of: impl Fn(VmId) -> Option<u64>) -> Option<u64> {
    let maxima: Vec<u64> = groups
        .iter()
        .filter_map(|g| g.iter().filter_map(|&vm| clock_of(vm)).max())
        .collect();
    Some(maxima.iter().max()? - maxima.iter().min()?)
}

/// The ticks a VM at `rate` whose first tick was due `phase` after the start (one period
/// without it, as in logs older than `phase_ms`) had due in `[from, until)`: tick `k` is due at
/// `offset(k) - lead`, `lead = offset(1) - phase` (see `lc_core::schedule`). `None` for a rate
/// that is not a whole positive number.
pub(crate) fn ticks_due(
    rate: f64,
    phase: Option<Duration>,
    from: Duration,
    until: Duration,
) -> Option<u64> {
    if !(rate >= 1.0 && rate.fract() == 0.0 && rate <= f64::from(u32::MAX)) {
        return None;
    }
    let rate = rate as u32;
    let period = offset(1, rate);
    let lead = period.saturating_sub(phase.unwrap_or(period));
    // Ticks k >= 1 due before `x`: k * 1e9 / rate (floored, in ns) < x + lead, that is
    // k * 1e9 < (x + lead) * rate.
    let before = |x: Duration| {
        let scaled = (x + lead).as_nanos() * u128::from(rate);
        u64::try_from(scaled.saturating_sub(1) / 1_000_000_000).unwrap_or(u64::MAX)
    };
    Some(before(until).saturating_sub(before(from)))
}

/// Where a crash with `clock: reset` restarted VM `vm`: its first event after the restart is
/// its `index`-th (its own entry in a derived vector clock), and its last event before the crash
/// had clock `before_lc` at `before`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ResetPoint {
    pub(crate) fault: FaultId,
    pub(crate) vm: VmId,
    pub(crate) index: u32,
    pub(crate) before_lc: u64,
    pub(crate) before: At,
}

/// The clock-condition breaks the resets cause: an event `b` with the restarted VM's first
/// event after the reset in its causal past or equal to it (its derived clock has at least
/// `index` in the VM's entry), whose `lc` is at most that of the VM's last event before the
/// crash, which happened before it. The pair (that event, `b`) then breaks "a -> b implies
/// C(a) < C(b)", and so does every earlier event with a clock at least `b`'s; `b` is listed
/// once per reset it follows, with that witness.
#[derive(Debug, Default)]
pub(crate) struct ResetBreaks {
    points: Vec<ResetPoint>,
    /// Per fault: every break counted, the first [`EXPECTED_KEPT`] kept.
    found: BTreeMap<FaultId, (u64, Vec<(At, String)>)>,
    names: Vec<String>,
}

impl ResetBreaks {
    /// Breaks of a run whose files are named `names`, by slot.
    pub(crate) fn new(names: Vec<String>) -> ResetBreaks {
        ResetBreaks {
            names,
            ..ResetBreaks::default()
        }
    }

    pub(crate) fn restart(&mut self, point: ResetPoint) {
        self.points.push(point);
    }

    /// An event released in causal order, at `at`, with Lamport clock `lc` and derived vector
    /// clock `clock`.
    pub(crate) fn released(&mut self, at: At, lc: u64, clock: &VectorClock) {
        for p in &self.points {
            if clock.get(p.vm) < u64::from(p.index) || lc > p.before_lc {
                continue;
            }
            let (count, kept) = self.found.entry(p.fault).or_default();
            *count += 1;
            if kept.len() < EXPECTED_KEPT {
                let detail = format!(
                    "lc {lc}, but {}:{} (lc {}, VM {}'s last event before the crash) happened before it",
                    self.names[p.before.file], p.before.line, p.before_lc, p.vm
                );
                kept.push((at, detail));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VM id written in a test.
    fn vid(n: u32) -> VmId {
        VmId::literal(n)
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_ticks_due_in_a_window_hold_its_start_and_not_its_end() {
        // Rate 10, aligned: ticks at 100, 200, ... ms.
        let aligned = Some(ms(100));
        assert_eq!(ticks_due(10.0, aligned, ms(300), ms(700)), Some(4)); // 300..600
        assert_eq!(ticks_due(10.0, aligned, ms(301), ms(700)), Some(3));
        assert_eq!(ticks_due(10.0, aligned, ms(300), ms(701)), Some(5));
        assert_eq!(ticks_due(10.0, None, ms(300), ms(700)), Some(4), "old logs");
        // A phase of 30 ms: ticks at 30, 130, 230, ...
        assert_eq!(ticks_due(10.0, Some(ms(30)), ms(0), ms(230)), Some(2));
        assert_eq!(ticks_due(10.0, Some(ms(30)), ms(30), ms(231)), Some(3));
        // Rate 3: ticks at 333.333333, 666.666666, 1000 ms.
        let third = Some(Duration::from_nanos(333_333_333));
        assert_eq!(ticks_due(3.0, third, ms(0), ms(1000)), Some(2));
        assert_eq!(
            ticks_due(3.0, third, ms(0), Duration::from_nanos(1_000_000_001)),
            Some(3)
        );
        assert_eq!(ticks_due(2.5, None, ms(0), ms(1000)), None);
    }

    #[test]
    fn groups_are_crossed_only_between_two_of_them() {
        let groups = vec![vec![vid(1)], vec![vid(2), vid(3)]];
        assert!(across(&groups, vid(1), vid(3)));
        assert!(across(&groups, vid(2), vid(1)));
        assert!(!across(&groups, vid(2), vid(3)));
        assert!(
            !across(&groups, vid(1), vid(4)),
            "a VM in no group is not touched"
        );
    }

    #[test]
    fn a_reset_break_needs_the_restart_in_the_past_and_a_clock_not_above_the_crash() {
        let at = |line| At { file: 2, line };
        let mut breaks = ResetBreaks::new(vec!["a".into(), "b".into(), "vm-3.log".into()]);
        breaks.restart(ResetPoint {
            fault: 3,
            vm: vid(3),
            index: 5,
            before_lc: 9,
            before: at(8),
        });
        let vc = |s: &str| s.parse::<VectorClock>().unwrap();
        breaks.released(at(7), 9, &vc("0 0 4"));
        breaks.released(at(10), 1, &vc("0 0 5"));
        breaks.released(at(11), 10, &vc("0 0 6"));
        breaks.released(At { file: 0, line: 3 }, 9, &vc("2 0 5"));
        let (count, kept) = &breaks.found[&3];
        assert_eq!(*count, 2);
        assert_eq!(kept[0].0, at(10));
        assert_eq!(kept[1].0, At { file: 0, line: 3 });
        assert_eq!(
            kept[0].1,
            "lc 1, but vm-3.log:8 (lc 9, VM 3's last event before the crash) happened before it"
        );
    }
}
