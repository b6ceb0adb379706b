//! The parser: one line of the log contract back into its typed [`Line`].
//!
//! Layout: `<timestamp> <LEVEL> <message>, <key>: <value>, ...`. Keys may
//! come in any order and unknown keys are skipped, so the contract can grow
//! without breaking a reader. INFO lines are strict (a missing or bad key is
//! an error, because checks depend on them); other levels are free-form and
//! only need their timestamp. A line's keys land in a table indexed by
//! [`Key`], the same declaration the writer spells them from.

use std::borrow::Cow;
use std::time::Duration;

use lc_core::faults::{parse_groups, Edge, Fault, FaultId, PartitionMode, RestartClock};
use lc_core::vm_id::VmId;
use thiserror::Error;

use super::event::{Action, Event, FaultMark, Line, Spread, Start, Stop, Tick};
use super::keys::{Key, Level, Message, KEY_COUNT};
use crate::timestamp::parse_micros;

/// Why a line is not a valid line of the log contract. Display is one
/// short phrase.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    #[error("empty line")]
    Empty,
    #[error("bad timestamp `{0}`")]
    Timestamp(String),
    #[error("unknown level `{0}`")]
    Level(String),
    #[error("field `{0}` is not `key: value`")]
    Field(String),
    #[error("`{}` line lacks key `{}`", kind.name(), key.name())]
    MissingKey { kind: Message, key: Key },
    #[error("bad value for `{}`: `{value}`", key.name())]
    Value { key: Key, value: String },
}

/// Parses one line (without its newline).
pub fn parse_line(line: &str) -> Result<Line<'_>, ParseError> {
    let line = line.trim_end();
    if line.is_empty() {
        return Err(ParseError::Empty);
    }
    let (stamp, rest) = line.split_once(' ').unwrap_or((line, ""));
    let time_us = parse_micros(stamp).ok_or_else(|| ParseError::Timestamp(clip(stamp)))?;
    let rest = rest.trim_start();
    let (level_text, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let level = Level::named(level_text).ok_or_else(|| ParseError::Level(clip(level_text)))?;

    let mut parts = pieces(rest);
    let message = parts.next().unwrap_or("");
    let mut keys = Keys::default();
    if level != Level::Info {
        // Free-form: keep what is not `key: value` as part of the message.
        let mut text = Cow::Borrowed(message);
        for part in parts {
            if !keys.take(part) {
                let text = text.to_mut();
                text.push_str(", ");
                text.push_str(part);
            }
        }
        let event = Event::Notice {
            level,
            message: text,
        };
        return Ok(keys.loose_line(time_us, event));
    }
    for part in parts {
        if !keys.take(part) {
            return Err(ParseError::Field(clip(part)));
        }
    }
    let Some(kind) = Message::named(message) else {
        let event = Event::Unknown {
            message: Cow::Borrowed(message),
        };
        return Ok(keys.loose_line(time_us, event));
    };
    let keys = Required { keys, kind };
    let vm: VmId = keys.number(Key::Vm)?;
    let event = match kind {
        Message::Start => Event::Start(start(&keys.keys)?),
        Message::Stop => Event::Stop(stop(&keys)?),
        Message::FaultStart => Event::Fault(fault_mark(Edge::Start, vm, &keys)?),
        Message::FaultEnd => Event::Fault(fault_mark(Edge::End, vm, &keys)?),
        Message::Send | Message::Receive | Message::Internal => Event::Tick(tick(&keys)?),
    };
    Ok(Line {
        time_us,
        vm: Some(vm),
        event,
    })
}

/// The values of a line's known keys, by [`Key`]; unknown keys are skipped.
struct Keys<'a>([Option<&'a str>; KEY_COUNT]);

impl Default for Keys<'_> {
    fn default() -> Self {
        Keys([None; KEY_COUNT])
    }
}

impl<'a> Keys<'a> {
    /// Records `key: value`; false if `part` has no `: `.
    fn take(&mut self, part: &'a str) -> bool {
        let Some((name, value)) = split_once_then_space(part, b':') else {
            return false;
        };
        if let Some(key) = Key::named(name) {
            self.0[key as usize] = Some(value);
        }
        true
    }

    fn get(&self, key: Key) -> Option<&'a str> {
        self.0[key as usize]
    }

    /// An optional key's value, read with `read` when present.
    fn optional<T>(
        &self,
        key: Key,
        read: impl FnOnce(&str) -> Option<T>,
    ) -> Result<Option<T>, ParseError> {
        self.get(key)
            .map(|v| read(v).ok_or_else(|| bad(key, v)))
            .transpose()
    }

    fn optional_number<T: std::str::FromStr>(&self, key: Key) -> Result<Option<T>, ParseError> {
        self.optional(key, |v| v.trim().parse().ok())
    }

    /// A line that needs no keys: its `vm` when it has a readable one.
    fn loose_line(&self, time_us: i64, event: Event<'a>) -> Line<'a> {
        let vm = self.get(Key::Vm).and_then(|v| v.trim().parse().ok());
        Line { time_us, vm, event }
    }
}

/// The keys of an INFO line of a known kind, which names what is missing.
struct Required<'a> {
    keys: Keys<'a>,
    kind: Message,
}

impl<'a> Required<'a> {
    fn need(&self, key: Key) -> Result<&'a str, ParseError> {
        self.keys.get(key).ok_or(ParseError::MissingKey {
            kind: self.kind,
            key,
        })
    }

    fn number<T: std::str::FromStr>(&self, key: Key) -> Result<T, ParseError> {
        let value = self.need(key)?;
        value.trim().parse().map_err(|_| bad(key, value))
    }

    fn secs(&self, key: Key) -> Result<Duration, ParseError> {
        let value = self.need(key)?;
        secs(value).ok_or_else(|| bad(key, value))
    }
}

fn start<'a>(keys: &Keys<'a>) -> Result<Start<'a>, ParseError> {
    Ok(Start {
        rate: keys.optional(Key::Rate, |r| {
            r.trim().parse::<f64>().ok().filter(|r| r.is_finite())
        })?,
        // Added to the contract with tick phases: older logs have no `phase_ms`.
        phase: keys.optional(Key::PhaseMs, millis)?,
        addr: keys.get(Key::Addr).map(Cow::Borrowed),
    })
}

fn stop<'a>(keys: &Required<'a>) -> Result<Stop<'a>, ParseError> {
    let queue = keys.number(Key::Queue)?;
    let keys = &keys.keys;
    let spread = |[p50, p99, max]: [Key; 3]| -> Result<Spread, ParseError> {
        Ok(Spread {
            p50_us: keys.optional_number(p50)?,
            p99_us: keys.optional_number(p99)?,
            max_us: keys.optional_number(max)?,
        })
    };
    Ok(Stop {
        ticks: keys.optional_number(Key::Ticks)?,
        sent: keys.optional_number(Key::Sent)?,
        received: keys.optional_number(Key::Received)?,
        internal: keys.optional_number(Key::Internal)?,
        queue,
        // Added to the contract later: older logs have no `dropped`.
        dropped: keys.optional_number(Key::Dropped)?,
        // Added with faults (issue 14): only on a VM that counted a drop owed to one.
        dropped_by_fault: Cow::Owned(
            keys.optional(Key::DroppedByFault, by_fault)?
                .unwrap_or_default(),
        ),
        lc: keys.optional_number(Key::Lc)?,
        late: spread([Key::LateP50Us, Key::LateP99Us, Key::LateMaxUs])?,
        transit: spread([Key::TransitP50Us, Key::TransitP99Us, Key::TransitMaxUs])?,
    })
}

fn tick<'a>(keys: &Required<'a>) -> Result<Tick<'a>, ParseError> {
    let action = match keys.kind {
        Message::Send => Action::Send {
            to: Cow::Owned(recipients(keys.need(Key::To)?)?),
            seq: keys.number(Key::Seq)?,
        },
        Message::Receive => Action::Receive {
            from: keys.number(Key::From)?,
            seq: keys.number(Key::Seq)?,
            msg_lc: keys.number(Key::MsgLc)?,
            msg_vc: keys.keys.optional(Key::MsgVc, clock)?.map(Cow::Owned),
        },
        _ => Action::Internal,
    };
    Ok(Tick {
        lc: keys.number(Key::Lc)?,
        queue: keys.number(Key::Queue)?,
        // Added to the contract later (and optional by setting): older logs have no `vc`.
        vc: keys.keys.optional(Key::Vc, clock)?.map(Cow::Owned),
        action,
    })
}

/// A fault mark of VM `vm`: the fault rebuilt from its parameters.
fn fault_mark<'a>(edge: Edge, vm: VmId, keys: &Required<'a>) -> Result<FaultMark<'a>, ParseError> {
    let fault_kind = keys.need(Key::Kind)?;
    let spec = match fault_kind {
        "partition" => {
            let groups = keys.need(Key::Groups)?;
            let mode = keys.need(Key::Mode)?;
            Fault::Partition {
                groups: parse_groups(groups).ok_or_else(|| bad(Key::Groups, groups))?,
                from: keys.secs(Key::FromS)?,
                until: keys.secs(Key::UntilS)?,
                mode: PartitionMode::named(mode).ok_or_else(|| bad(Key::Mode, mode))?,
            }
        }
        "pause" => Fault::Pause {
            vm,
            from: keys.secs(Key::FromS)?,
            until: keys.secs(Key::UntilS)?,
        },
        "crash" => {
            let clock = keys.need(Key::Clock)?;
            Fault::Crash {
                vm,
                at: keys.secs(Key::AtS)?,
                restart: keys.keys.optional(Key::RestartS, secs)?,
                clock: RestartClock::named(clock).ok_or_else(|| bad(Key::Clock, clock))?,
            }
        }
        other => return Err(bad(Key::Kind, other)),
    };
    let fault: FaultId = keys.number(Key::Fault)?;
    if fault == 0 {
        return Err(bad(Key::Fault, "0"));
    }
    Ok(FaultMark {
        edge,
        fault,
        spec: Cow::Owned(spec),
        queue: keys.number(Key::Queue)?,
        lc: keys.number(Key::Lc)?,
        lost: keys.keys.optional_number(Key::Lost)?,
    })
}

/// Seconds as the settings write them (`50.5`).
fn secs(value: &str) -> Option<Duration> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
}

/// `dropped_by_fault: 1=3 3=14`: fault number = count pairs.
fn by_fault(value: &str) -> Option<Vec<(FaultId, u64)>> {
    value
        .split_ascii_whitespace()
        .map(|pair| {
            let (fault, count) = pair.split_once('=')?;
            match (fault.parse::<FaultId>(), count.parse::<u64>()) {
                (Ok(fault), Ok(count)) if fault > 0 => Some((fault, count)),
                _ => None,
            }
        })
        .collect()
}

/// Milliseconds written with up to six decimals (`phase_ms: 83.333333`),
/// exact to the nanosecond; further decimals are cut.
pub(crate) fn millis(value: &str) -> Option<Duration> {
    let value = value.trim();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (whole, frac) = match value.split_once('.') {
        Some((whole, frac)) if digits(frac) => (whole, frac),
        Some(_) => return None,
        None => (value, ""),
    };
    if !digits(whole) {
        return None;
    }
    let ms: u64 = whole.parse().ok()?;
    let ns_text: String = frac.chars().chain(std::iter::repeat('0')).take(6).collect();
    let ns: u64 = ns_text.parse().ok()?;
    Some(Duration::from_millis(ms) + Duration::from_nanos(ns))
}

/// A vector clock: whole numbers separated by spaces, at least one.
pub(crate) fn clock(value: &str) -> Option<Vec<u64>> {
    let entries: Vec<u64> = value
        .split_ascii_whitespace()
        .map(|entry| entry.parse().ok())
        .collect::<Option<_>>()?;
    (!entries.is_empty()).then_some(entries)
}

fn recipients(value: &str) -> Result<Vec<VmId>, ParseError> {
    let to = value
        .split_ascii_whitespace()
        .map(|id| id.parse::<VmId>().map_err(|_| bad(Key::To, value)))
        .collect::<Result<Vec<_>, _>>()?;
    if to.is_empty() {
        return Err(bad(Key::To, value));
    }
    Ok(to)
}

/// Splits at the first `sep` followed by a space (`", "`, `": "`).
/// Hand-rolled: `split(", ")` runs a general substring search and
/// `find(',')` a memchr set-up, both slow on fields of ten bytes; together
/// they were the parser's largest cost.
fn split_once_then_space(s: &str, sep: u8) -> Option<(&str, &str)> {
    let bytes = s.as_bytes();
    let mut from = 0;
    while let Some(i) = bytes[from..].iter().position(|&b| b == sep) {
        let at = from + i;
        if bytes.get(at + 1) == Some(&b' ') {
            return Some((&s[..at], &s[at + 2..]));
        }
        from = at + 1;
    }
    None
}

/// The `, `-separated pieces of `s`.
fn pieces(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let r = rest?;
        match split_once_then_space(r, b',') {
            Some((head, tail)) => {
                rest = Some(tail);
                Some(head)
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

fn bad(key: Key, value: &str) -> ParseError {
    ParseError::Value {
        key,
        value: clip(value),
    }
}

/// At most 40 characters of a bad piece, so an error message stays one
/// readable line.
fn clip(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_split_on_comma_space_only() {
        let parts: Vec<&str> = pieces("send, to: 2 3, a,b: c, seq: 4").collect();
        assert_eq!(parts, vec!["send", "to: 2 3", "a,b: c", "seq: 4"]);
        assert_eq!(pieces("").collect::<Vec<_>>(), vec![""]);
        assert_eq!(split_once_then_space("a:b: c", b':'), Some(("a:b", "c")));
        assert_eq!(split_once_then_space("abc", b':'), None);
    }

    #[test]
    fn milliseconds_read_to_the_nanosecond() {
        assert_eq!(millis("250"), Some(Duration::from_millis(250)));
        assert_eq!(millis("0.5"), Some(Duration::from_micros(500)));
        assert_eq!(millis("83.3333339"), Some(Duration::from_nanos(83_333_333)));
        for bad in ["", ".5", "1.", "-1", "1.2.3", "x"] {
            assert_eq!(millis(bad), None, "{bad:?}");
        }
    }
}
