//! A path of the checker as the log lines that run would have written, in
//! the log contract's format, so `analyze` reads it like any run.
//!
//! Abstract time has no clock, so each step gets its own millisecond from
//! the epoch a virtual-time run starts at (2000-01-01T00:00:00Z): the
//! lines' times give the path's order and nothing more. A delivery writes
//! no line (an arrival in a mailbox never does); a crash writes the
//! `fault_start` and `fault_end` of a crash fault with `clock: reset`, as a
//! run with that fault in its settings would. Each VM's lines end with the
//! `stop` line of its totals where the path ends.
//!
//! A state keeps no events, so the events are the steps replayed: each
//! step taken again from the state before it gives the event it made, the
//! same one the check saw (the rules travel in the state).

use crate::model::{self, Step, CRASH_FAULT};
use crate::state::{Record, SystemState, VmState};
use lc_contract::line::{self, Event, FaultMark, Start, Stop, Tick};
use lc_contract::timestamp::{parse_micros, Rfc3339Cache};
use lc_contract::{run_dir, vm_log};
use lc_core::faults::{Edge, Fault, RestartClock};
use lc_core::model::Event as ModelEvent;
use lc_core::vm_id::VmId;
use std::borrow::Cow;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The start of every counterexample: the virtual-time runs' epoch.
const EPOCH: &str = "2000-01-01T00:00:00Z";
/// The time between two steps.
const STEP: Duration = Duration::from_millis(1);

/// One line of the run: its VM and its text, without the newline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub vm: VmId,
    pub text: String,
}

/// Spells lines with one time cache, as a run's drain does.
struct Writer {
    epoch: i64,
    times: Rfc3339Cache,
    lines: Vec<LogLine>,
}

impl Writer {
    fn push(&mut self, vm: VmId, after: Duration, event: &Event<'_>) {
        let mut text = Vec::new();
        let at = self.epoch + after.as_micros() as i64;
        line::push_line(&mut text, &mut self.times, at, event);
        // Writing into a Vec cannot fail.
        let _ = line::write_vm(&mut text, None, vm);
        let text = String::from_utf8_lossy(&text).into_owned();
        self.lines.push(LogLine { vm, text });
    }
}

/// The lines of the run along `path`, in the order they were written.
pub fn lines(path: &[(SystemState, Option<Step>)]) -> Vec<LogLine> {
    let mut writer = Writer {
        epoch: parse_micros(EPOCH).unwrap_or(0),
        times: Rfc3339Cache::default(),
        lines: Vec::new(),
    };
    let Some((first, _)) = path.first() else {
        return Vec::new();
    };
    for vm in first.ids() {
        let start = Start {
            rate: None,
            phase: None,
            addr: Some(Cow::Borrowed("check")),
        };
        writer.push(vm, Duration::ZERO, &Event::Start(start));
    }
    let mut totals = vec![Totals::default(); first.vms.len()];
    for (i, pair) in path.windows(2).enumerate() {
        let ((before, step), (after, _)) = (&pair[0], &pair[1]);
        let at = STEP * (i as u32 + 1);
        match *step {
            Some(Step::Tick { vm, die }) => {
                let replayed = model::take_step(before, Step::Tick { vm, die });
                if let Some((_, Some(record))) = replayed {
                    let tick = Tick::of(&record.event, record.queue, Some(&record.stamp.vc));
                    writer.push(vm, at, &Event::Tick(tick));
                    totals[vm.index()].count(&record);
                }
            }
            Some(Step::CrashReset { vm }) => {
                totals[vm.index()].lost += before.vm(vm).queue.len() as u64;
                crash_lines(&mut writer, vm, at, before, after);
            }
            Some(Step::Deliver { .. }) | None => {}
        }
    }
    if let Some((last, _)) = path.last() {
        let end = STEP * path.len() as u32;
        for vm in last.ids() {
            let stop = stop(last.vm(vm), &totals[vm.index()]);
            writer.push(vm, end, &Event::Stop(stop));
        }
    }
    writer.lines
}

fn crash_lines(
    writer: &mut Writer,
    vm: VmId,
    at: Duration,
    before: &SystemState,
    after: &SystemState,
) {
    let spec = Fault::Crash {
        vm,
        at,
        restart: Some(at),
        clock: RestartClock::Reset,
    };
    let (down, up) = (before.vm(vm), after.vm(vm));
    let start = FaultMark {
        edge: Edge::Start,
        fault: CRASH_FAULT,
        spec: Cow::Borrowed(&spec),
        lost: None,
        queue: down.queue.len() as u64,
        lc: down.core.clock(),
    };
    writer.push(vm, at, &Event::Fault(start.clone()));
    let end = FaultMark {
        edge: Edge::End,
        lost: Some(down.queue.len() as u64),
        queue: up.queue.len() as u64,
        lc: up.core.clock(),
        ..start
    };
    writer.push(vm, at, &Event::Fault(end));
}

/// What a VM's `stop` line counts, gathered along the replay.
#[derive(Debug, Clone, Default)]
struct Totals {
    ticks: u64,
    sent: u64,
    received: u64,
    internal: u64,
    /// Messages its crash lost from its queue.
    lost: u64,
}

impl Totals {
    fn count(&mut self, record: &Record) {
        self.ticks += 1;
        match &record.event {
            ModelEvent::Send { to, .. } => self.sent += to.len() as u64,
            ModelEvent::Receive { .. } => self.received += 1,
            ModelEvent::Internal { .. } => self.internal += 1,
        }
    }
}

/// The `stop` line of `vm` where the path ends.
fn stop(vm: &VmState, totals: &Totals) -> Stop<'static> {
    Stop {
        ticks: Some(totals.ticks),
        sent: Some(totals.sent),
        received: Some(totals.received),
        internal: Some(totals.internal),
        queue: vm.queue.len() as u64,
        dropped: Some(totals.lost),
        lc: Some(vm.core.clock()),
        ..Stop::default()
    }
}

/// Writes the run along `path` into a fresh directory `<parent>/<prefix><time>/`, one
/// `vm-<id>.log` per VM, and returns the directory.
pub fn write_run(
    parent: &Path,
    prefix: &str,
    path: &[(SystemState, Option<Step>)],
) -> io::Result<PathBuf> {
    let dir = run_dir::fresh(parent, prefix)?;
    let lines = lines(path);
    if let Some((first, _)) = path.first() {
        for vm in first.ids() {
            let mut text = String::new();
            for line in lines.iter().filter(|l| l.vm == vm) {
                text.push_str(&line.text);
                text.push('\n');
            }
            std::fs::write(
                dir.join(vm_log::file_name(vm, vm_log::Storage::Plain)),
                text,
            )?;
        }
    }
    Ok(dir)
}
