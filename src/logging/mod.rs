//! The runtime's side of the log contract: the calls that write a VM's
//! lines, and the slog plumbing that carries them to the run's files.
//!
//! The lines themselves, their keys and their layout, are the contract's
//! (`lc_contract::line`): [`log_start`], [`log_event`], [`log_fault`],
//! [`log_stop`], [`log_warning`] and [`log_error`] build its typed event and
//! have its writer spell the line on the VM's thread, into a reused buffer.
//! slog stays the transport: the spelled line travels as a record's message
//! to the run's one drain, which appends the logger's `vm` key. slog-term's
//! own formatting cost more than a microsecond a line on the writer thread
//! and slog-async boxed every key on the VM's thread; a property test keeps
//! the contract's spelling byte for byte equal to slog-term's.
//!
//! The jobs, one module each:
//! - [`drain`]: [`RunDrain`], every record to its VM's file, flushed at
//!   most every `flush_interval`;
//! - [`batching`]: event lines cross to the writer thread in batches;
//! - [`delivery`]: writer thread (real time) or in place (virtual time);
//! - [`failures`]: every failed write, so a run with lost lines fails;
//! - [`clock`]: the event time a line carries, captured by the caller.

mod batching;
mod clock;
mod delivery;
mod drain;
mod failures;

use lc_contract::line::{self as contract, FaultMark, Level, Spread, Stop, Tick};
use lc_contract::timestamp::Rfc3339Cache;
use lc_core::faults::{Edge, Fault, FaultId};
use lc_core::lateness::Lateness;
use lc_core::model::{Event, VmCounters, VmId};
use lc_core::vector_clock::VectorClock;
use slog::{o, Logger};
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::Duration;

use batching::LineText;
pub use clock::EventClock;
pub use delivery::{run_logger, Delivery, LogGuard};
pub use drain::{RunDrain, EVENT_TIME_KEY};
use drain::{EVENT_LINE, OTHER_LINE};
pub(crate) use failures::LogFailure;
pub(crate) use lc_contract::timestamp::EventTime;

/// The default longest time a written line may wait in memory before
/// reaching its file while the run is busy; everything is flushed at
/// shutdown.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(200);

/// The logger of one VM: every line it writes carries `vm`.
pub fn vm_logger(root: &Logger, vm: VmId) -> Logger {
    // slog carries the bare number; the drain reads it back as a VmId.
    root.new(o!(contract::Key::Vm.name() => vm.get()))
}

thread_local! {
    /// Where a VM's thread spells out its lines, reused from line to line,
    /// with the second its lines were last in.
    static LINE: RefCell<(Vec<u8>, Rfc3339Cache)> = RefCell::new(Default::default());
}

/// Spells `event`'s line at `at` with the contract's writer and hands the
/// text to `send`, which logs it.
fn spell(at: EventTime, event: &contract::Event<'_>, send: impl Fn(LineText<'_>)) {
    let spell_into = |(line, times): &mut (Vec<u8>, Rfc3339Cache)| {
        line.clear();
        contract::push_line(line, times, at as i64, event);
        send(LineText(line));
    };
    LINE.with(|line| match line.try_borrow_mut() {
        Ok(mut line) => spell_into(&mut line),
        // Only a drain that logs a line while it writes one gets here.
        Err(_) => spell_into(&mut Default::default()),
    });
}

/// A contract line other than an event's: written at once, never batched.
fn log_other(log: &Logger, at: EventTime, event: &contract::Event<'_>) {
    spell(at, event, |text| match event {
        contract::Event::Notice {
            level: Level::Error,
            ..
        } => slog::error!(log, #OTHER_LINE, "{}", text),
        contract::Event::Notice { .. } => slog::warn!(log, #OTHER_LINE, "{}", text),
        _ => slog::info!(log, #OTHER_LINE, "{}", text),
    });
}

/// `start`: the VM's rate, listening address, and when its first tick
/// falls after the start (`phase_ms`, to the nanosecond).
pub(crate) fn log_start(log: &Logger, at: EventTime, rate: u32, addr: &str, first_tick: Duration) {
    let start = contract::Start {
        rate: Some(rate.into()),
        phase: Some(first_tick),
        addr: Some(Cow::Borrowed(addr)),
    };
    log_other(log, at, &contract::Event::Start(start));
}

/// `send`, `receive` or `internal`, with the clocks after the event (`lc`,
/// and `vc` when the run keeps vector clocks: `vc` is the VM's vector clock
/// after `event`) and the messages still waiting in the VM's queue.
pub fn log_event(log: &Logger, at: EventTime, event: &Event, queue: u64, vc: Option<&VectorClock>) {
    let tick = contract::Event::Tick(Tick::of(event, queue, vc.map(VectorClock::entries)));
    spell(at, &tick, |text| slog::info!(log, #EVENT_LINE, "{}", text));
}

/// What a `fault_start` or `fault_end` line reports besides the fault.
pub(crate) struct FaultLine<'a> {
    pub(crate) edge: Edge,
    pub(crate) id: FaultId,
    pub(crate) fault: &'a Fault,
    /// A crash's end only: the messages the VM lost while down.
    pub(crate) lost: Option<u64>,
    pub(crate) queue: u64,
    /// The VM's clock at that instant (after a reset, the one it restarts with).
    pub(crate) lc: u64,
}

/// `fault_start` or `fault_end`: a fault begins or ends on this VM, with
/// the fault's number, kind and parameters, the VM's queue and clock then.
pub(crate) fn log_fault(log: &Logger, at: EventTime, line: &FaultLine) {
    let mark = FaultMark {
        edge: line.edge,
        fault: line.id,
        spec: Cow::Borrowed(line.fault),
        lost: line.lost,
        queue: line.queue,
        lc: line.lc,
    };
    log_other(log, at, &contract::Event::Fault(mark));
}

/// What a `stop` line reports.
pub(crate) struct StopLine<'a> {
    pub(crate) counters: &'a VmCounters,
    /// Messages never taken from the queue.
    pub(crate) queue: u64,
    /// Messages that ended at this VM's side untaken (see
    /// [`lc_core::accounting::VmReport::dropped`]).
    pub(crate) dropped: u64,
    /// The part of `dropped` owed to each fault.
    pub(crate) dropped_by_fault: &'a BTreeMap<FaultId, u64>,
    /// The final clock.
    pub(crate) lc: u64,
    pub(crate) lateness: &'a Lateness,
    /// Send event to mailbox, for the messages this VM received.
    pub(crate) transit: &'a Lateness,
}

/// p50, p99 and max of a distribution, in µs.
fn spread(of: &Lateness) -> Spread {
    Spread {
        p50_us: Some(of.quantile_us(0.5)),
        p99_us: Some(of.quantile_us(0.99)),
        max_us: Some(of.max_us()),
    }
}

/// `stop`: the VM's totals, what it left and dropped, how late its ticks
/// fired and how long its messages took to arrive (p50, p99 and max, µs).
pub(crate) fn log_stop(log: &Logger, at: EventTime, stop: &StopLine) {
    let counters = stop.counters;
    let by_fault: Vec<(FaultId, u64)> = stop
        .dropped_by_fault
        .iter()
        .map(|(&f, &n)| (f, n))
        .collect();
    let line = Stop {
        ticks: Some(counters.ticks),
        sent: Some(counters.sent),
        received: Some(counters.received),
        internal: Some(counters.internal),
        queue: stop.queue,
        dropped: Some(stop.dropped),
        dropped_by_fault: Cow::Owned(by_fault),
        lc: Some(stop.lc),
        late: spread(stop.lateness),
        transit: spread(stop.transit),
    };
    log_other(log, at, &contract::Event::Stop(line));
}

/// A WARN line in a VM's file; the contract's writer keeps the message one
/// field (`, ` and newlines cannot break the line's keys).
pub(crate) fn log_warning(log: &Logger, at: EventTime, what: &str) {
    let level = Level::Warning;
    let message = Cow::Borrowed(what);
    log_other(log, at, &contract::Event::Notice { level, message });
}

/// An ERRO line in a VM's file.
pub(crate) fn log_error(log: &Logger, at: EventTime, what: &str) {
    let level = Level::Error;
    let message = Cow::Borrowed(what);
    log_other(log, at, &contract::Event::Notice { level, message });
}

#[cfg(test)]
mod tests;
