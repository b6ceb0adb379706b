//! The writer: a typed [`Event`] into its line, byte for byte as slog-term
//! lays it out: `2000-01-01T00:00:00.104000Z INFO internal, queue: 0, lc: 1,
//! vc: 0 0 1 0`.
//!
//! Everything but the `vm` key, which the run's drain appends from the
//! logger that carries it ([`write_vm`]). Key order is the order the lines
//! have always had (slog-term printed a record's keys in reverse order of
//! its macro); a property test in the binary's logging holds every kind to
//! what slog-term writes. Event lines are a run's bulk, so the writer
//! formats numbers with `itoa` into a reused buffer and allocates nothing
//! for them.

use std::io::{self, Write};

use crate::timestamp::Rfc3339Cache;
use lc_core::faults::{format_groups, format_secs, Fault};
use lc_core::vm_id::VmId;

use super::event::{Action, Event, FaultMark, Spread, Start, Stop, Tick};
use super::keys::{Key, Level, Message};
use lc_core::faults::Edge;

/// Appends the line of `event` at `at` (microseconds since the epoch),
/// without the `vm` key and the newline. `times` keeps the date and time of
/// the second of the line before.
pub fn push_line(line: &mut Vec<u8>, times: &mut Rfc3339Cache, at: i64, event: &Event<'_>) {
    times.push(line, at);
    match event {
        Event::Tick(tick) => push_tick(line, tick),
        Event::Start(start) => push_start(line, start),
        Event::Fault(mark) => push_fault(line, mark),
        Event::Stop(stop) => push_stop(line, stop),
        Event::Notice { level, message } => {
            push_head(line, *level, "");
            push_free_form(line, message);
        }
        Event::Unknown { message } => {
            push_head(line, Level::Info, "");
            push_free_form(line, message);
        }
    }
}

/// Writes `, vm: <vm>`, the key that ends every line, after `line` as
/// [`push_line`] wrote it; `None` for a line known to have a message (every
/// event line), which spares reading it.
pub fn write_vm(out: &mut impl Write, line: Option<&[u8]>, vm: VmId) -> io::Result<()> {
    if line.is_none_or(has_message) {
        out.write_all(b", ")?;
    }
    out.write_all(Key::Vm.name().as_bytes())?;
    out.write_all(b": ")?;
    out.write_all(itoa::Buffer::new().format(vm.get()).as_bytes())
}

/// Whether anything follows the level: slog-term separates the first key
/// from the message with `, ` only when there is a message (a warning may
/// be empty). Neither the time nor the level holds a space.
fn has_message(line: &[u8]) -> bool {
    let mut spaces = line.iter().enumerate().filter(|(_, &b)| b == b' ');
    match spaces.nth(1) {
        Some((at, _)) => at + 1 < line.len(),
        None => false,
    }
}

/// ` LEVEL message`.
fn push_head(line: &mut Vec<u8>, level: Level, message: &str) {
    line.push(b' ');
    line.extend_from_slice(level.name().as_bytes());
    line.push(b' ');
    line.extend_from_slice(message.as_bytes());
}

/// A free-form message made safe for the contract: `, ` separates keys, so
/// it may not appear inside a message, nor may a newline.
fn push_free_form(line: &mut Vec<u8>, message: &str) {
    let safe = message.replace(", ", "; ").replace('\n', " ");
    line.extend_from_slice(safe.as_bytes());
}

/// `, key: `
fn push_name(line: &mut Vec<u8>, key: Key) {
    line.extend_from_slice(b", ");
    line.extend_from_slice(key.name().as_bytes());
    line.extend_from_slice(b": ");
}

/// `, key: 17`
fn push_number(line: &mut Vec<u8>, key: Key, value: impl itoa::Integer) {
    push_name(line, key);
    line.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// `, key: 17`, or nothing when the line has no such key.
fn push_optional(line: &mut Vec<u8>, key: Key, value: Option<u64>) {
    if let Some(value) = value {
        push_number(line, key, value);
    }
}

/// `, key: text`
fn push_text(line: &mut Vec<u8>, key: Key, text: &str) {
    push_name(line, key);
    line.extend_from_slice(text.as_bytes());
}

/// `, key: 1 2 3`: the contract writes a list (`to`, `vc`) as
/// space-separated numbers, each item's `number`.
fn push_list<T: Copy, N: itoa::Integer>(
    line: &mut Vec<u8>,
    key: Key,
    items: &[T],
    number: impl Fn(T) -> N,
) {
    push_name(line, key);
    let mut digits = itoa::Buffer::new();
    for (i, &item) in items.iter().enumerate() {
        if i > 0 {
            line.push(b' ');
        }
        line.extend_from_slice(digits.format(number(item)).as_bytes());
    }
}

fn push_tick(line: &mut Vec<u8>, tick: &Tick<'_>) {
    match &tick.action {
        Action::Send { to, seq } => {
            push_head(line, Level::Info, Message::Send.name());
            push_list(line, Key::To, to, VmId::get);
            push_number(line, Key::Seq, *seq);
        }
        Action::Receive {
            from,
            seq,
            msg_lc,
            msg_vc,
        } => {
            push_head(line, Level::Info, Message::Receive.name());
            push_number(line, Key::From, from.get());
            push_number(line, Key::Seq, *seq);
            push_number(line, Key::MsgLc, *msg_lc);
            if let Some(msg_vc) = msg_vc {
                push_list(line, Key::MsgVc, msg_vc, u64::from);
            }
        }
        Action::Internal => push_head(line, Level::Info, Message::Internal.name()),
    }
    push_number(line, Key::Queue, tick.queue);
    push_number(line, Key::Lc, tick.lc);
    if let Some(vc) = &tick.vc {
        push_list(line, Key::Vc, vc, u64::from);
    }
}

fn push_start(line: &mut Vec<u8>, start: &Start<'_>) {
    push_head(line, Level::Info, Message::Start.name());
    if let Some(rate) = start.rate {
        push_name(line, Key::Rate);
        let _ = write!(line, "{rate}");
    }
    if let Some(phase) = start.phase {
        push_name(line, Key::PhaseMs);
        let _ = write!(line, "{:.6}", phase.as_nanos() as f64 / 1e6);
    }
    if let Some(addr) = &start.addr {
        push_text(line, Key::Addr, addr);
    }
}

/// The fault's number, kind and parameters as the settings write them,
/// then what the VM had then.
fn push_fault(line: &mut Vec<u8>, mark: &FaultMark<'_>) {
    let message = match mark.edge {
        Edge::Start => Message::FaultStart,
        Edge::End => Message::FaultEnd,
    };
    push_head(line, Level::Info, message.name());
    push_number(line, Key::Fault, mark.fault);
    push_text(line, Key::Kind, mark.spec.kind());
    match &*mark.spec {
        Fault::Partition {
            groups,
            from,
            until,
            mode,
        } => {
            push_text(line, Key::Groups, &format_groups(groups));
            push_text(line, Key::FromS, &format_secs(*from));
            push_text(line, Key::UntilS, &format_secs(*until));
            push_text(line, Key::Mode, mode.name());
        }
        Fault::Pause { from, until, .. } => {
            push_text(line, Key::FromS, &format_secs(*from));
            push_text(line, Key::UntilS, &format_secs(*until));
        }
        Fault::Crash {
            at, restart, clock, ..
        } => {
            push_text(line, Key::AtS, &format_secs(*at));
            if let Some(restart) = restart {
                push_text(line, Key::RestartS, &format_secs(*restart));
            }
            push_text(line, Key::Clock, clock.name());
        }
    }
    push_optional(line, Key::Lost, mark.lost);
    push_number(line, Key::Queue, mark.queue);
    push_number(line, Key::Lc, mark.lc);
}

fn push_stop(line: &mut Vec<u8>, stop: &Stop<'_>) {
    push_head(line, Level::Info, Message::Stop.name());
    push_optional(line, Key::Ticks, stop.ticks);
    push_optional(line, Key::Sent, stop.sent);
    push_optional(line, Key::Received, stop.received);
    push_optional(line, Key::Internal, stop.internal);
    push_number(line, Key::Queue, stop.queue);
    push_optional(line, Key::Dropped, stop.dropped);
    if !stop.dropped_by_fault.is_empty() {
        push_name(line, Key::DroppedByFault);
        for (i, (fault, count)) in stop.dropped_by_fault.iter().enumerate() {
            let _ = write!(line, "{}{fault}={count}", if i > 0 { " " } else { "" });
        }
    }
    push_optional(line, Key::Lc, stop.lc);
    push_spread(
        line,
        [Key::LateP50Us, Key::LateP99Us, Key::LateMaxUs],
        &stop.late,
    );
    let transit = [Key::TransitP50Us, Key::TransitP99Us, Key::TransitMaxUs];
    push_spread(line, transit, &stop.transit);
}

fn push_spread(line: &mut Vec<u8>, [p50, p99, max]: [Key; 3], spread: &Spread) {
    push_optional(line, p50, spread.p50_us);
    push_optional(line, p99, spread.p99_us);
    push_optional(line, max, spread.max_us);
}
