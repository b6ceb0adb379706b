//! The streaming analysis: takes the merged lines one by one and feeds every figure at once.
//!
//! One pass does it all (checks, statistics, drift, the plot series, `events.csv`), so the logs
//! are read once and nothing grows with the run but the findings, which are capped. This file
//! only routes each line to the parts that care about it; the rules live in `check` (Lamport's),
//! `queue_discipline`, `link_order`, `time_order`, `settings_check` and `matching`, the figures
//! in `stats`, `drift`, `series` and `window`. Ticks also pass through `causal_order`, which
//! hands them on in causal order with their derived vector clocks to `vector_clock`'s rules and
//! the `concurrency` counts. Fault lines (`fault_start`, `fault_end`) are no events: they go to
//! `fault_effects`, and a crash's restart tells the per-VM checkers that the queue was lost and,
//! with `clock: reset`, that the clocks start again from 0 (for exactly the next event).

use lc_core::vm_id::VmId;
use std::collections::BTreeMap;
use std::io::{self, Write};

use crate::causality::causal_order::{CausalOrder, Event, Released};
use crate::causality::concurrency::Concurrency;
use crate::causality::concurrency::ConcurrencyCount;
use crate::figures::drift::{Drift, VmDrift};
use crate::figures::quantile::Counts;
use crate::figures::series::{Pieces, Series};
use crate::figures::stats::{VmStats, Waits};
use crate::figures::trace::{Halt, Mark, PauseSpan, Trace, TracePlot};
use crate::figures::window::Spacetime;
use crate::outputs::csv::{EventsCsv, Row};
use crate::read::merge::Merged;
use crate::read::record::{Action, Body, FaultLine, Kind, Level, Record, Tick};
use crate::rules::check::ProgramOrder;
use crate::rules::fault_effects::FaultSummary;
use crate::rules::fault_effects::{FaultBand, FaultBook, ResetBreaks, ResetPoint};
use crate::rules::link_order::LinkOrder;
use crate::rules::matching::{AbsentPeer, Delivery, Matcher, Settled, Stamp, Unreceived};
use crate::rules::queue_discipline::QueueDiscipline;
use crate::rules::rejoin::Rejoins;
use crate::rules::settings_check::SettingsCheck;
use crate::rules::time_order::TimeOrder;
use crate::rules::vc_order::VcProgramOrder;
use crate::rules::violation::{At, Finding, Rule, Violations};
use lc_contract::vm_log::VmLog;
use lc_core::faults::{Edge, Fault, RestartClock};

/// How many WARN/ERRO lines are quoted in full in the report.
const NOTICES_KEPT: usize = 10;

/// What one VM's stream needs besides its figures: the checkers of its program order.
struct VmState {
    order: ProgramOrder,
    discipline: QueueDiscipline,
    links: LinkOrder,
    times: TimeOrder,
    /// The first INFO line of an unknown kind: its line and kind.
    first_unknown: Option<(usize, String)>,
    /// A line was lost since this VM's last tick.
    gap: bool,
    /// A crash's restart reset the clocks since this VM's last tick.
    reset: bool,
    /// The clock and place of its last tick.
    last_tick: Option<(u64, At)>,
    /// Ticks with and without `vc`, and the first without.
    with_vc: u64,
    without_vc: u64,
    first_without_vc: Option<At>,
    stats: VmStats,
    /// Its clock and queue for the plots.
    trace: Trace,
}

/// The streaming analysis of one run.
pub(crate) struct Analyzer<W: Write> {
    logs: Vec<VmLog>,
    slot_of: Vec<Option<usize>>,
    vms: Vec<VmState>,
    settings: SettingsCheck,
    matcher: Matcher,
    causal: CausalOrder,
    causality: Causality,
    faults: FaultBook,
    rejoins: Rejoins,
    violations: Violations,
    drift: Drift,
    window: Spacetime,
    csv: EventsCsv<W>,
    origin_us: i64,
    first_us: Option<i64>,
    last_us: Option<i64>,
    lines: u64,
    waits: Waits,
    notices: Vec<String>,
    notes: Vec<String>,
}

/// Series and window for the plots.
#[derive(Debug, Clone)]
pub(crate) struct PlotData {
    pub(crate) vms: Vec<VmId>,
    /// Per VM: its clock, cut where it was down.
    pub(crate) clock: Vec<Pieces>,
    /// Per VM: its queue, cut where it was down or paused.
    pub(crate) queue: Vec<Pieces>,
    /// Per VM: its pauses, with the queue at each end.
    pub(crate) pauses: Vec<Vec<PauseSpan>>,
    pub(crate) drift: Vec<Pieces>,
    pub(crate) jumps: Vec<Counts>,
    pub(crate) window: Spacetime,
    /// The faults' windows, in seconds since the run's first line (`until_s` `None`: it lasted
    /// to the end).
    pub(crate) faults: Vec<FaultBand>,
}

/// Everything the stream yielded.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) vms: Vec<VmStats>,
    pub(crate) drift: Vec<VmDrift>,
    pub(crate) drift_samples: u64,
    pub(crate) findings: Vec<Finding>,
    pub(crate) rule_counts: BTreeMap<Rule, u64>,
    pub(crate) unreceived: Unreceived,
    /// The messages of each VM that `settings.toml` names but whose log is missing.
    pub(crate) absent: BTreeMap<VmId, AbsentPeer>,
    /// Waits of all messages of the run.
    pub(crate) waits: Waits,
    pub(crate) first_us: Option<i64>,
    pub(crate) last_us: Option<i64>,
    pub(crate) lines: u64,
    /// The first WARN/ERRO/CRIT lines, as `vm-1.log:12: WARN text`.
    pub(crate) notices: Vec<String>,
    /// Remarks on the input that are not rule violations.
    pub(crate) notes: Vec<String>,
    pub(crate) plot: PlotData,
    pub(crate) concurrency: Concurrency,
    /// What each fault did (empty for a run without faults).
    pub(crate) faults: Vec<FaultSummary>,
}

/// What the ticks feed once released in causal order: each VM's vector-clock rules, and the
/// concurrency counts on the derived clocks.
struct Causality {
    /// By file slot.
    rules: Vec<VcProgramOrder>,
    count: ConcurrencyCount,
    breaks: ResetBreaks,
}

impl Causality {
    fn released(&mut self, r: Released, violations: &mut Violations) {
        let Released {
            event,
            clock,
            send_vc,
        } = r;
        let rules = &mut self.rules[event.at.file];
        if event.after_reset {
            rules.reset();
        }
        if event.after_gap {
            rules.lose_step();
        }
        match &event.tick.vc {
            Some(vc) => {
                let logged_msg = match &event.tick.action {
                    Action::Receive { msg_vc, .. } => msg_vc.as_ref(),
                    _ => None,
                };
                rules.event(
                    event.tick.action.kind(),
                    vc,
                    logged_msg,
                    send_vc.as_ref(),
                    |rule, detail| violations.push(event.at, rule, detail),
                );
            }
            None => rules.lose_step(),
        }
        self.breaks.released(event.at, event.tick.lc, clock);
        self.count.event(event.vm, event.tick.lc, clock);
    }
}

impl<W: Write> Analyzer<W> {
    /// An analysis of the VMs in `logs`, held to `settings`, with times measured from
    /// `origin_us`, writing `events.csv` to `csv`.
    pub(crate) fn new(
        logs: Vec<VmLog>,
        settings: SettingsCheck,
        origin_us: i64,
        csv: W,
    ) -> io::Result<Analyzer<W>> {
        let table_len = logs.iter().map(|l| l.vm.index() + 1).max().unwrap_or(0);
        let mut slot_of = vec![None; table_len];
        for (slot, log) in logs.iter().enumerate() {
            slot_of[log.vm.index()] = Some(slot);
        }
        let ids: Vec<VmId> = logs.iter().map(|l| l.vm).collect();
        let width = settings.clock_width(&ids);
        let causality = Causality {
            rules: ids
                .iter()
                .map(|&vm| VcProgramOrder::new(vm, width))
                .collect(),
            count: ConcurrencyCount::new(width, &ids),
            breaks: ResetBreaks::new(logs.iter().map(VmLog::name).collect()),
        };
        let vms = logs
            .iter()
            .map(|log| VmState {
                order: ProgramOrder::default(),
                discipline: QueueDiscipline::default(),
                links: LinkOrder::default(),
                times: TimeOrder::default(),
                first_unknown: None,
                gap: false,
                reset: false,
                last_tick: None,
                with_vc: 0,
                without_vc: 0,
                first_without_vc: None,
                stats: VmStats::new(log.vm),
                trace: Trace::default(),
            })
            .collect();
        let names: Vec<String> = logs.iter().map(VmLog::name).collect();
        Ok(Analyzer {
            faults: FaultBook::new(ids.clone(), names.clone()),
            rejoins: Rejoins::default(),
            drift: Drift::new(logs.len(), origin_us),
            slot_of,
            vms,
            logs,
            matcher: Matcher::new(names, settings.missing()),
            causal: CausalOrder::new(width, &ids),
            causality,
            settings,
            violations: Violations::default(),
            window: Spacetime::new(origin_us),
            csv: EventsCsv::new(csv, origin_us)?,
            origin_us,
            first_us: None,
            last_us: None,
            lines: 0,
            waits: Waits::default(),
            notices: Vec::new(),
            notes: Vec::new(),
        })
    }

    /// Takes the next item of the merged stream.
    pub(crate) fn feed(&mut self, item: Merged) -> io::Result<()> {
        match item {
            Merged::Record { file, line, record } => self.record(At { file, line }, record),
            Merged::Malformed { file, line, reason } => {
                self.lines += 1;
                self.violations
                    .push(At { file, line }, Rule::MalformedLine, reason);
                let vm = &mut self.vms[file];
                vm.order.lose_step();
                vm.discipline.lose_step();
                vm.gap = true;
                vm.stats.malformed += 1;
                Ok(())
            }
            Merged::Unterminated { file, line } => {
                self.notes.push(format!(
                    "{}:{line}: last line has no newline (the log may have been cut off)",
                    self.file_name(file)
                ));
                Ok(())
            }
        }
    }

    fn record(&mut self, at: At, record: Record) -> io::Result<()> {
        self.lines += 1;
        let slot = at.file;
        let vm = self.logs[slot].vm;
        let t = record.time_us;
        self.first_us = Some(self.first_us.map_or(t, |f| f.min(t)));
        self.last_us = Some(self.last_us.map_or(t, |l| l.max(t)));
        let violations = &mut self.violations;
        self.vms[slot]
            .times
            .line(at.line, t, |rule, detail| violations.push(at, rule, detail));

        if let Body::Notice { level, message } = &record.body {
            let stats = &mut self.vms[slot].stats;
            match level {
                Level::Warning => stats.warnings += 1,
                Level::Error | Level::Critical => stats.errors += 1,
                _ => return Ok(()),
            }
            if self.notices.len() < NOTICES_KEPT {
                self.notices.push(format!(
                    "{}:{}: {} {message}",
                    self.file_name(slot),
                    at.line,
                    level.name()
                ));
            }
            return Ok(());
        }
        if let Some(logged) = record.vm.filter(|&v| v != vm) {
            self.violations.push(
                at,
                Rule::WrongVm,
                format!("line says vm {logged} in the log of vm {vm}"),
            );
        }

        self.drift.advance(t);
        match record.body {
            Body::Start { rate, phase } => {
                if let Some(detail) = self.settings.start_rate(vm, rate) {
                    self.violations.push(at, Rule::RateMismatch, detail);
                }
                self.faults.start(slot, rate, phase);
                self.vms[slot].stats.start_rate = rate;
                self.drift.alive(slot, t);
                self.csv.row(t, vm, Kind::Start, Row::default())
            }
            Body::Stop {
                queue,
                dropped,
                late_max_us,
                dropped_by_fault,
            } => {
                let violations = &mut self.violations;
                self.faults
                    .stop(at, dropped, &dropped_by_fault, |at, rule, detail| {
                        violations.push(at, rule, detail)
                    });
                self.rejoins.stopped(vm);
                self.vms[slot].stats.left_in_queue = Some(queue);
                self.vms[slot].stats.dropped = dropped;
                self.vms[slot].stats.late_max_us = late_max_us;
                self.drift.stop();
                let row = Row {
                    queue: Some(queue),
                    ..Row::default()
                };
                self.csv.row(t, vm, Kind::Stop, row)
            }
            Body::Tick(tick) => self.tick(at, t, vm, tick),
            Body::Fault(line) => {
                self.fault_line(at, t, vm, &line);
                Ok(())
            }
            Body::Unknown { message } => {
                let state = &mut self.vms[slot];
                state.stats.unknown += 1;
                state.first_unknown.get_or_insert((at.line, message));
                Ok(())
            }
            Body::Notice { .. } => Ok(()),
        }
    }

    /// A fault's line: for the fault book, and at a crash's restart for the VM's checkers.
    fn fault_line(&mut self, at: At, t: i64, vm: VmId, line: &FaultLine) {
        let state = &mut self.vms[at.file];
        let violations = &mut self.violations;
        self.faults
            .line(at, t, line, state.order.clock(), |at, rule, detail| {
                violations.push(at, rule, detail)
            });
        let halt = match line.spec {
            Fault::Pause { .. } => Some(Halt::Pause),
            Fault::Crash { .. } => Some(Halt::Crash),
            Fault::Partition { .. } => None,
        };
        if let Some(halt) = halt {
            let mark = Mark {
                secs: (t - self.origin_us) as f64 / 1e6,
                lc: line.lc,
                queue: line.queue,
            };
            match line.edge {
                Edge::Start => state.trace.halt(halt, mark),
                Edge::End => state.trace.resume(halt, mark),
            }
        }
        let Fault::Crash { clock, .. } = line.spec else {
            return;
        };
        if line.edge != Edge::End {
            return;
        }
        self.rejoins.restarted(vm, at, t);
        // The queue was lost in the crash; the restart's line says what waits now.
        state.discipline.restart(at.line, line.queue);
        if clock == RestartClock::Reset {
            state.order.reset_clock();
            state.reset = true;
            if let Some((before_lc, before)) = state.last_tick {
                self.causality.breaks.restart(ResetPoint {
                    fault: line.fault,
                    vm,
                    index: state.stats.ticks as u32 + 1,
                    before_lc,
                    before,
                });
            }
        }
    }

    fn tick(&mut self, at: At, t: i64, vm: VmId, tick: Tick) -> io::Result<()> {
        let slot = at.file;
        let violations = &mut self.violations;
        let state = &mut self.vms[slot];
        let mut report = |rule, detail| violations.push(at, rule, detail);
        let jump = state.order.tick(&tick, &mut report);
        state.discipline.tick(at.line, &tick, &mut report);
        if let Action::Receive { from, seq, .. } = tick.action {
            state.links.receive(at.line, from, seq, &mut report);
        }
        state.stats.tick(t, &tick, jump);
        state.last_tick = Some((tick.lc, at));
        self.faults.tick(at, t, &tick);
        self.rejoins.tick(vm, t, &tick.action);
        let secs = (t - self.origin_us) as f64 / 1e6;
        state.trace.tick(Mark {
            secs,
            lc: tick.lc,
            queue: tick.queue,
        });
        self.drift.alive(slot, t);
        self.drift.set_clock(slot, tick.lc);
        self.window.tick(t, vm, tick.action.kind(), tick.lc);

        let stamp = Stamp {
            at,
            time_us: t,
            lc: tick.lc,
        };
        match &tick.action {
            Action::Send { to, seq } => {
                for d in self.matcher.send(vm, *seq, to, stamp, &mut self.violations) {
                    self.deliver(&d);
                }
            }
            Action::Receive {
                from, seq, msg_lc, ..
            } => {
                if let Some(d) =
                    self.matcher
                        .receive(vm, *from, *seq, *msg_lc, stamp, &mut self.violations)
                {
                    self.deliver(&d);
                }
            }
            Action::Internal => {}
        }
        let row = Row {
            lc: Some(tick.lc),
            queue: Some(tick.queue),
            action: Some(&tick.action),
            jump: Some(jump),
        };
        let written = self.csv.row(t, vm, tick.action.kind(), row);

        let state = &mut self.vms[slot];
        if tick.vc.is_some() {
            state.with_vc += 1;
        } else {
            state.without_vc += 1;
            state.first_without_vc.get_or_insert(at);
        }
        let event = Event {
            vm,
            at,
            after_gap: std::mem::take(&mut state.gap),
            after_reset: std::mem::take(&mut state.reset),
            tick,
        };
        let (causality, violations) = (&mut self.causality, &mut self.violations);
        self.causal
            .feed(event, &mut |r| causality.released(r, violations));
        written
    }

    fn deliver(&mut self, d: &Delivery) {
        let wait = d.wait_us();
        self.waits.add(wait);
        if let Some(slot) = self.slot_of.get(d.recipient.index()).copied().flatten() {
            self.vms[slot].stats.waits.add(wait);
        }
        self.window.delivery(d);
        let violations = &mut self.violations;
        self.faults
            .delivery(d, |at, rule, detail| violations.push(at, rule, detail));
    }

    /// The file as it is on disk (`vm-2.log.gz` for a kept log), as findings cite it.
    fn file_name(&self, slot: usize) -> String {
        self.logs[slot].name()
    }

    /// What each VM's stop line accounts for among the messages never received.
    fn settled(&self) -> BTreeMap<VmId, Settled> {
        self.vms
            .iter()
            .map(|vm| {
                let settled = Settled {
                    left_in_queue: vm.stats.left_in_queue.unwrap_or(0),
                    dropped: vm.stats.dropped,
                };
                (vm.stats.vm, settled)
            })
            .collect()
    }

    /// Ends the stream: settles unmatched messages, flushes `events.csv` and hands back every
    /// figure.
    pub(crate) fn finish(mut self) -> io::Result<Outcome> {
        let absent = self.matcher.absent().clone();
        let settled = self.settled();
        let unreceived = self.matcher.finish(&mut self.violations, &settled);
        let (mut causality, violations) = (self.causality, &mut self.violations);
        self.causal
            .finish(&mut |r| causality.released(r, violations));
        let logged = self.vms.iter().any(|v| v.with_vc > 0);
        if logged {
            for vm in &self.vms {
                if let Some(at) = vm.first_without_vc {
                    let more = vm.without_vc - 1;
                    self.violations.push(
                        at,
                        Rule::VcMissing,
                        format!(
                            "tick without vc although other ticks of the run carry one ({more} more in this file)"
                        ),
                    );
                }
            }
        }
        let concurrency = causality
            .count
            .finish(if logged { "logged" } else { "derived" });
        let bands = self.faults.bands(self.origin_us);
        let violations = &mut self.violations;
        let (faults, fault_notes) = self.faults.finish(causality.breaks, |at, rule, detail| {
            violations.push(at, rule, detail)
        });
        self.notes.extend(fault_notes);
        let violations = &mut self.violations;
        self.rejoins
            .finish(|at, rule, detail| violations.push(at, rule, detail));
        for (vm, log) in self.vms.iter().zip(&self.logs) {
            let file = log.name();
            if let Some((line, kind)) = &vm.first_unknown {
                let kind: String = kind.chars().take(40).collect();
                self.notes.push(format!(
                    "{file}:{line}: INFO line of unknown kind `{kind}` skipped ({} such lines in this file)",
                    vm.stats.unknown
                ));
            }
            if vm.stats.left_in_queue.is_none() {
                self.notes.push(format!(
                    "{file} has no stop line: its queue at the end is unknown (run cut short?)"
                ));
            }
        }
        if self.waits.negative > 0 {
            self.notes.push(format!(
                "{} receives are stamped before their send (clock skew between log writers); their wait counts as 0",
                self.waits.negative
            ));
        }
        self.csv.finish()?;
        let (findings, rule_counts) = self.violations.into_sorted();
        let drift = self.drift.figures();
        let drift_samples = self.drift.samples();
        let traces: Vec<TracePlot> = self
            .vms
            .iter_mut()
            .map(|v| std::mem::take(&mut v.trace).finish())
            .collect();
        let plot = PlotData {
            vms: self.logs.iter().map(|l| l.vm).collect(),
            clock: traces.iter().map(|t| t.clock.clone()).collect(),
            queue: traces.iter().map(|t| t.queue.clone()).collect(),
            pauses: traces.into_iter().map(|t| t.pauses).collect(),
            drift: self
                .drift
                .into_series()
                .iter()
                .map(Series::pieces)
                .collect(),
            jumps: self.vms.iter().map(|v| v.stats.jumps.clone()).collect(),
            window: self.window,
            faults: bands,
        };
        let outcome = Outcome {
            vms: self.vms.into_iter().map(|v| v.stats).collect(),
            drift,
            drift_samples,
            findings,
            rule_counts,
            unreceived,
            absent,
            waits: self.waits,
            first_us: self.first_us,
            last_us: self.last_us,
            lines: self.lines,
            notices: self.notices,
            notes: self.notes,
            plot,
            concurrency,
            faults,
        };
        Ok(outcome)
    }
}
