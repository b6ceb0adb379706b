//! The line parser: one slog-term line of the log contract into a [`Record`]. Pure.
//!
//! Layout: `<timestamp> <LEVEL> <message>, <key>: <value>, ...`. Keys may come in any order and
//! unknown keys are skipped, so the contract can grow (e.g. `dropped` on `stop`) without breaking
//! the analysis. INFO lines are strict (a missing or bad key is an error, because the checks
//! depend on them); WARN/ERRO lines are free-form and only need their timestamp.

use std::time::Duration;

use thiserror::Error;

use super::record::{Action, Body, FaultLine, Level, Record, Tick};
use super::vector_clock::VectorClock;
use lc_contract::timestamp::parse_micros;
use lc_core::faults::{parse_groups, Edge, Fault, FaultId, PartitionMode, RestartClock};

/// Why a line is not a valid line of the log contract. Display is one short phrase.
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
    #[error("`{kind}` line lacks key `{key}`")]
    MissingKey {
        kind: &'static str,
        key: &'static str,
    },
    #[error("bad value for `{key}`: `{value}`")]
    Value { key: &'static str, value: String },
}

/// The values of the keys the contract defines; anything else is ignored.
#[derive(Default)]
struct Fields<'a> {
    vm: Option<&'a str>,
    lc: Option<&'a str>,
    queue: Option<&'a str>,
    to: Option<&'a str>,
    seq: Option<&'a str>,
    from: Option<&'a str>,
    msg_lc: Option<&'a str>,
    rate: Option<&'a str>,
    dropped: Option<&'a str>,
    late_max_us: Option<&'a str>,
    vc: Option<&'a str>,
    msg_vc: Option<&'a str>,
    phase_ms: Option<&'a str>,
    dropped_by_fault: Option<&'a str>,
    fault: Option<&'a str>,
    kind: Option<&'a str>,
    groups: Option<&'a str>,
    from_s: Option<&'a str>,
    until_s: Option<&'a str>,
    mode: Option<&'a str>,
    at_s: Option<&'a str>,
    restart_s: Option<&'a str>,
    clock: Option<&'a str>,
    lost: Option<&'a str>,
}

impl<'a> Fields<'a> {
    /// Records `key: value`; returns false if `part` has no `: `.
    fn take(&mut self, part: &'a str) -> bool {
        let Some((key, value)) = split_once_then_space(part, b':') else {
            return false;
        };
        let slot = match key {
            "vm" => &mut self.vm,
            "lc" => &mut self.lc,
            "queue" => &mut self.queue,
            "to" => &mut self.to,
            "seq" => &mut self.seq,
            "from" => &mut self.from,
            "msg_lc" => &mut self.msg_lc,
            "rate" => &mut self.rate,
            "dropped" => &mut self.dropped,
            "late_max_us" => &mut self.late_max_us,
            "vc" => &mut self.vc,
            "msg_vc" => &mut self.msg_vc,
            "phase_ms" => &mut self.phase_ms,
            "dropped_by_fault" => &mut self.dropped_by_fault,
            "fault" => &mut self.fault,
            "kind" => &mut self.kind,
            "groups" => &mut self.groups,
            "from_s" => &mut self.from_s,
            "until_s" => &mut self.until_s,
            "mode" => &mut self.mode,
            "at_s" => &mut self.at_s,
            "restart_s" => &mut self.restart_s,
            "clock" => &mut self.clock,
            "lost" => &mut self.lost,
            _ => return true,
        };
        *slot = Some(value);
        true
    }
}

/// Parses one line (without its newline).
pub fn parse_line(line: &str) -> Result<Record, ParseError> {
    let line = line.trim_end();
    if line.is_empty() {
        return Err(ParseError::Empty);
    }
    let (stamp, rest) = line.split_once(' ').unwrap_or((line, ""));
    let time_us = parse_micros(stamp).ok_or_else(|| ParseError::Timestamp(clip(stamp)))?;
    let rest = rest.trim_start();
    let (level_text, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let level =
        Level::from_abbrev(level_text).ok_or_else(|| ParseError::Level(clip(level_text)))?;

    let mut parts = fields(rest);
    let message = parts.next().unwrap_or("");
    let mut fields = Fields::default();

    if level != Level::Info {
        // Free-form: keep what is not `key: value` as part of the message.
        let mut text = message.to_string();
        for part in parts {
            if !fields.take(part) {
                text.push_str(", ");
                text.push_str(part);
            }
        }
        let vm = fields.vm.and_then(|v| v.trim().parse().ok());
        return Ok(Record {
            time_us,
            vm,
            body: Body::Notice {
                level,
                message: text,
            },
        });
    }

    for part in parts {
        if !fields.take(part) {
            return Err(ParseError::Field(clip(part)));
        }
    }
    let kind: &'static str = match message {
        "start" => "start",
        "send" => "send",
        "receive" => "receive",
        "internal" => "internal",
        "stop" => "stop",
        "fault_start" => "fault_start",
        "fault_end" => "fault_end",
        other => {
            let vm = fields.vm.and_then(|v| v.trim().parse().ok());
            return Ok(Record {
                time_us,
                vm,
                body: Body::Unknown {
                    message: other.to_string(),
                },
            });
        }
    };
    let need = |value, key| need(value, kind, key);
    let vm = number(need(fields.vm, "vm")?, "vm")?;

    let body = match kind {
        "start" => Body::Start {
            rate: match fields.rate {
                Some(r) => Some(
                    r.trim()
                        .parse::<f64>()
                        .ok()
                        .filter(|r| r.is_finite())
                        .ok_or_else(|| bad("rate", r))?,
                ),
                None => None,
            },
            // Added to the contract with tick phases: older logs have no `phase_ms`.
            phase: fields
                .phase_ms
                .map(|p| millis(p).ok_or_else(|| bad("phase_ms", p)))
                .transpose()?,
        },
        "stop" => Body::Stop {
            queue: number(need(fields.queue, "queue")?, "queue")?,
            // Added to the contract later: older logs have no `dropped`.
            dropped: fields
                .dropped
                .map(|d| number(d, "dropped"))
                .transpose()?
                .unwrap_or(0),
            late_max_us: fields
                .late_max_us
                .map(|l| number(l, "late_max_us"))
                .transpose()?,
            // Added with faults (issue 14): only on a VM that counted a drop owed to one.
            dropped_by_fault: fields
                .dropped_by_fault
                .map(by_fault)
                .transpose()?
                .unwrap_or_default(),
        },
        "fault_start" | "fault_end" => Body::Fault(fault_line(kind, vm, &fields)?),
        _ => {
            let action = match kind {
                "send" => Action::Send {
                    to: recipients(need(fields.to, "to")?)?,
                    seq: number(need(fields.seq, "seq")?, "seq")?,
                },
                "receive" => Action::Receive {
                    from: number(need(fields.from, "from")?, "from")?,
                    seq: number(need(fields.seq, "seq")?, "seq")?,
                    msg_lc: number(need(fields.msg_lc, "msg_lc")?, "msg_lc")?,
                    msg_vc: clock(fields.msg_vc, "msg_vc")?,
                },
                _ => Action::Internal,
            };
            Body::Tick(Tick {
                lc: number(need(fields.lc, "lc")?, "lc")?,
                queue: number(need(fields.queue, "queue")?, "queue")?,
                // Added to the contract later (and optional by setting): older logs have no `vc`.
                vc: clock(fields.vc, "vc")?,
                action,
            })
        }
    };
    Ok(Record {
        time_us,
        vm: Some(vm),
        body,
    })
}

/// A `fault_start` or `fault_end` line of VM `vm`: the fault rebuilt from its parameters.
fn fault_line(kind: &'static str, vm: u32, fields: &Fields) -> Result<FaultLine, ParseError> {
    let need = |value, key| need(value, kind, key);
    let secs = |key: &'static str, value: &str| {
        value
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .ok_or_else(|| bad(key, value))
    };
    let fault_kind = need(fields.kind, "kind")?;
    let spec = match fault_kind {
        "partition" => {
            let groups = need(fields.groups, "groups")?;
            let mode = need(fields.mode, "mode")?;
            Fault::Partition {
                groups: parse_groups(groups).ok_or_else(|| bad("groups", groups))?,
                from: secs("from_s", need(fields.from_s, "from_s")?)?,
                until: secs("until_s", need(fields.until_s, "until_s")?)?,
                mode: match mode {
                    "hold" => PartitionMode::Hold,
                    "drop" => PartitionMode::Drop,
                    _ => return Err(bad("mode", mode)),
                },
            }
        }
        "pause" => Fault::Pause {
            vm,
            from: secs("from_s", need(fields.from_s, "from_s")?)?,
            until: secs("until_s", need(fields.until_s, "until_s")?)?,
        },
        "crash" => {
            let clock = need(fields.clock, "clock")?;
            Fault::Crash {
                vm,
                at: secs("at_s", need(fields.at_s, "at_s")?)?,
                restart: fields.restart_s.map(|r| secs("restart_s", r)).transpose()?,
                clock: match clock {
                    "keep" => RestartClock::Keep,
                    "reset" => RestartClock::Reset,
                    _ => return Err(bad("clock", clock)),
                },
            }
        }
        other => return Err(bad("kind", other)),
    };
    let fault: FaultId = number(need(fields.fault, "fault")?, "fault")?;
    if fault == 0 {
        return Err(bad("fault", "0"));
    }
    Ok(FaultLine {
        fault,
        edge: if kind == "fault_start" {
            Edge::Start
        } else {
            Edge::End
        },
        spec,
        queue: number(need(fields.queue, "queue")?, "queue")?,
        lc: number(need(fields.lc, "lc")?, "lc")?,
        lost: fields.lost.map(|l| number(l, "lost")).transpose()?,
    })
}

/// `dropped_by_fault: 1=3 3=14`: fault number = count pairs.
fn by_fault(value: &str) -> Result<Vec<(FaultId, u64)>, ParseError> {
    value
        .split_ascii_whitespace()
        .map(|pair| {
            let (fault, count) = pair
                .split_once('=')
                .ok_or_else(|| bad("dropped_by_fault", value))?;
            match (fault.parse::<FaultId>(), count.parse::<u64>()) {
                (Ok(fault), Ok(count)) if fault > 0 => Ok((fault, count)),
                _ => Err(bad("dropped_by_fault", value)),
            }
        })
        .collect()
}

/// Milliseconds written with up to six decimals (`phase_ms: 83.333333`), exact to the
/// nanosecond; further decimals are cut.
fn millis(value: &str) -> Option<Duration> {
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

/// Splits at the first `sep` followed by a space (`", "`, `": "`). Hand-rolled: `split(", ")`
/// runs a general substring search and `find(',')` a memchr set-up, both slow on fields of ten
/// bytes; together they were the parser's largest cost.
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
fn fields(s: &str) -> impl Iterator<Item = &str> {
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

fn need<'a>(
    value: Option<&'a str>,
    kind: &'static str,
    key: &'static str,
) -> Result<&'a str, ParseError> {
    value.ok_or(ParseError::MissingKey { kind, key })
}

fn number<T: std::str::FromStr>(value: &str, key: &'static str) -> Result<T, ParseError> {
    value.trim().parse().map_err(|_| bad(key, value))
}

/// An optional vector clock: space-separated whole numbers.
fn clock(value: Option<&str>, key: &'static str) -> Result<Option<VectorClock>, ParseError> {
    value
        .map(|v| v.parse().map_err(|_| bad(key, v)))
        .transpose()
}

fn recipients(value: &str) -> Result<Vec<u32>, ParseError> {
    let to = value
        .split_ascii_whitespace()
        .map(|id| id.parse::<u32>().map_err(|_| bad("to", value)))
        .collect::<Result<Vec<_>, _>>()?;
    if to.is_empty() {
        return Err(bad("to", value));
    }
    Ok(to)
}

fn bad(key: &'static str, value: &str) -> ParseError {
    ParseError::Value {
        key,
        value: clip(value),
    }
}

/// At most 40 characters of a bad piece, so an error message stays one readable line.
fn clip(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_795_626_579_802_378; // 2026-11-25T17:09:39.802378Z

    #[test]
    fn parses_a_send_to_two_recipients() {
        let r = parse_line(
            "2026-11-25T17:09:39.802378Z INFO send, to: 2 3, seq: 4, queue: 0, lc: 17, vm: 1",
        )
        .unwrap();
        assert_eq!(r.time_us, T);
        assert_eq!(r.vm, Some(1));
        assert_eq!(
            r.body,
            Body::Tick(Tick {
                lc: 17,
                queue: 0,
                vc: None,
                action: Action::Send {
                    to: vec![2, 3],
                    seq: 4
                }
            })
        );
    }

    #[test]
    fn key_order_is_free_and_unknown_keys_are_skipped() {
        let r = parse_line(
            "2026-11-25T17:09:39.802378Z INFO receive, vm: 2, msg_lc: 9, extra: x y, lc: 10, from: 1, queue: 3, seq: 7",
        )
        .unwrap();
        assert_eq!(
            r.body,
            Body::Tick(Tick {
                lc: 10,
                queue: 3,
                vc: None,
                action: Action::Receive {
                    from: 1,
                    seq: 7,
                    msg_lc: 9,
                    msg_vc: None
                }
            })
        );
    }

    #[test]
    fn reads_vector_clocks_where_given() {
        let r = parse_line(
            "2026-11-25T17:09:39.802378Z INFO receive, from: 1, seq: 7, msg_lc: 9, msg_vc: 4 0 1, queue: 0, lc: 10, vc: 4 3 1, vm: 2",
        )
        .unwrap();
        let vc = |s: &str| Some(s.parse::<VectorClock>().unwrap());
        let Body::Tick(tick) = r.body else {
            panic!("{:?}", r.body)
        };
        assert_eq!(tick.vc, vc("4 3 1"));
        assert_eq!(
            tick.action,
            Action::Receive {
                from: 1,
                seq: 7,
                msg_lc: 9,
                msg_vc: vc("4 0 1")
            }
        );
        assert_eq!(
            parse_line(
                "2026-11-25T17:09:39.802378Z INFO internal, lc: 1, vc: 1 x, queue: 0, vm: 1"
            ),
            Err(ParseError::Value {
                key: "vc",
                value: "1 x".into()
            })
        );
    }

    #[test]
    fn parses_start_stop_and_internal() {
        let start = parse_line(
            "2026-11-25T17:09:39.802378Z INFO start, addr: 127.0.0.1:7001, rate: 4, vm: 3",
        )
        .unwrap();
        assert_eq!(
            start.body,
            Body::Start {
                rate: Some(4.0),
                phase: None
            }
        );
        let stop = parse_line(
            "2026-11-25T17:09:39.802378Z INFO stop, dropped: 0, queue: 2, internal: 1, received: 2, sent: 3, ticks: 6, vm: 3",
        )
        .unwrap();
        assert_eq!(
            stop.body,
            Body::Stop {
                queue: 2,
                dropped: 0,
                late_max_us: None,
                dropped_by_fault: Vec::new()
            }
        );
        let stop = parse_line(
            "2026-11-25T17:09:39.802378Z INFO stop, ticks: 6, late_max_us: 1520, late_p50_us: 90, queue: 0, vm: 3",
        )
        .unwrap();
        assert_eq!(
            stop.body,
            Body::Stop {
                queue: 0,
                dropped: 0,
                late_max_us: Some(1520),
                dropped_by_fault: Vec::new()
            }
        );
        let internal =
            parse_line("2026-11-25T17:09:39.802378Z INFO internal, queue: 0, lc: 1, vm: 3")
                .unwrap();
        assert!(matches!(
            internal.body,
            Body::Tick(Tick {
                action: Action::Internal,
                ..
            })
        ));
    }

    #[test]
    fn warnings_are_free_form() {
        let r = parse_line(
            "2026-11-25T17:09:39.802378Z WARN peer 2 closed, retrying soon, vm: 1, peer: 2",
        )
        .unwrap();
        assert_eq!(r.vm, Some(1));
        assert_eq!(
            r.body,
            Body::Notice {
                level: Level::Warning,
                message: "peer 2 closed, retrying soon".into()
            }
        );
        let r = parse_line("2026-11-25T17:09:39.802378Z ERRO disk full").unwrap();
        assert_eq!(r.vm, None);
    }

    #[test]
    fn rejects_broken_lines_with_a_reason() {
        let cases = [
            ("", ParseError::Empty),
            (
                "yesterday INFO internal, lc: 1, queue: 0, vm: 1",
                ParseError::Timestamp("yesterday".into()),
            ),
            (
                "2026-11-25T17:09:39.802378Z NOTE internal, lc: 1, queue: 0, vm: 1",
                ParseError::Level("NOTE".into()),
            ),
            (
                "2026-11-25T17:09:39.802378Z INFO internal, lc: 1, queue: 0",
                ParseError::MissingKey {
                    kind: "internal",
                    key: "vm",
                },
            ),
            (
                "2026-11-25T17:09:39.802378Z INFO send, to: 2, lc: 5, queue: 0, vm: 1",
                ParseError::MissingKey {
                    kind: "send",
                    key: "seq",
                },
            ),
            (
                "2026-11-25T17:09:39.802378Z INFO internal, lc: x, queue: 0, vm: 1",
                ParseError::Value {
                    key: "lc",
                    value: "x".into(),
                },
            ),
            (
                "2026-11-25T17:09:39.802378Z INFO send, to: , seq: 1, lc: 5, queue: 0, vm: 1",
                ParseError::Value {
                    key: "to",
                    value: "".into(),
                },
            ),
            (
                "2026-11-25T17:09:39.802378Z INFO internal, lc: 1, queue: 0, v",
                ParseError::Field("v".into()),
            ),
        ];
        for (line, want) in cases {
            assert_eq!(parse_line(line), Err(want), "{line}");
        }
    }

    #[test]
    fn fields_split_on_comma_space_only() {
        let parts: Vec<&str> = fields("send, to: 2 3, a,b: c, seq: 4").collect();
        assert_eq!(parts, vec!["send", "to: 2 3", "a,b: c", "seq: 4"]);
        assert_eq!(fields("").collect::<Vec<_>>(), vec![""]);
        assert_eq!(split_once_then_space("a:b: c", b':'), Some(("a:b", "c")));
        assert_eq!(split_once_then_space("abc", b':'), None);
    }

    #[test]
    fn unknown_info_messages_are_kept_aside() {
        let r = parse_line("2026-11-25T17:09:39.802378Z INFO resync, vm: 2").unwrap();
        assert_eq!(
            r.body,
            Body::Unknown {
                message: "resync".into()
            }
        );
    }

    #[test]
    fn reads_fault_lines_into_the_fault_they_describe() {
        let line = |text: &str| parse_line(&format!("2000-01-01T00:00:10.000000Z INFO {text}"));
        let Body::Fault(f) = line(
            "fault_start, fault: 1, kind: partition, groups: 1|2 3, from_s: 10, until_s: 25, mode: hold, queue: 0, lc: 31, vm: 1",
        )
        .unwrap()
        .body
        else {
            panic!("not a fault line")
        };
        assert_eq!(
            (f.fault, f.edge, f.queue, f.lc, f.lost),
            (1, Edge::Start, 0, 31, None)
        );
        assert_eq!(
            f.spec,
            Fault::Partition {
                groups: vec![vec![1], vec![2, 3]],
                from: Duration::from_secs(10),
                until: Duration::from_secs(25),
                mode: PartitionMode::Hold
            }
        );
        let Body::Fault(f) = line(
            "fault_end, fault: 3, kind: crash, at_s: 45, restart_s: 50.5, clock: reset, lost: 19, queue: 0, lc: 0, vm: 3",
        )
        .unwrap()
        .body
        else {
            panic!("not a fault line")
        };
        assert_eq!((f.edge, f.lost), (Edge::End, Some(19)));
        assert_eq!(
            f.spec,
            Fault::Crash {
                vm: 3,
                at: Duration::from_secs(45),
                restart: Some(Duration::from_millis(50_500)),
                clock: RestartClock::Reset
            }
        );
        let Body::Fault(f) = line(
            "fault_start, fault: 2, kind: pause, from_s: 0.25, until_s: 1, queue: 4, lc: 8, vm: 2",
        )
        .unwrap()
        .body
        else {
            panic!("not a fault line")
        };
        assert_eq!(f.spec.window().0, Duration::from_millis(250));
        assert_eq!(f.spec.vms(), vec![2]);
        for (text, key) in [
            ("fault_start, fault: 1, kind: quake, queue: 0, lc: 1, vm: 1", "kind"),
            ("fault_start, fault: 1, kind: pause, from_s: x, until_s: 1, queue: 0, lc: 1, vm: 1", "from_s"),
            ("fault_start, fault: 0, kind: pause, from_s: 0, until_s: 1, queue: 0, lc: 1, vm: 1", "fault"),
            ("fault_start, fault: 1, kind: crash, at_s: 1, clock: later, queue: 0, lc: 1, vm: 1", "clock"),
            ("fault_start, fault: 1, kind: partition, groups: 1||2, from_s: 0, until_s: 1, mode: hold, queue: 0, lc: 1, vm: 1", "groups"),
        ] {
            assert!(
                matches!(line(text), Err(ParseError::Value { key: k, .. }) if k == key),
                "{text}: {:?}",
                line(text)
            );
        }
        assert_eq!(
            line("fault_end, fault: 1, kind: pause, from_s: 0, until_s: 1, lc: 1, vm: 1"),
            Err(ParseError::MissingKey {
                kind: "fault_end",
                key: "queue"
            })
        );
    }

    #[test]
    fn reads_drops_by_fault_and_the_tick_phase() {
        let stop = parse_line(
            "2000-01-01T00:00:10.000000Z INFO stop, dropped_by_fault: 1=3 3=14, dropped: 20, queue: 0, vm: 3",
        )
        .unwrap();
        let Body::Stop {
            dropped,
            dropped_by_fault,
            ..
        } = stop.body
        else {
            panic!("not a stop line")
        };
        assert_eq!((dropped, dropped_by_fault), (20, vec![(1, 3), (3, 14)]));
        assert!(parse_line(
            "2000-01-01T00:00:10.000000Z INFO stop, dropped_by_fault: 1:3, dropped: 20, queue: 0, vm: 3"
        )
        .is_err());
        let start = parse_line(
            "2000-01-01T00:00:00.000000Z INFO start, addr: x, phase_ms: 83.333333, rate: 12, vm: 1",
        )
        .unwrap();
        assert_eq!(
            start.body,
            Body::Start {
                rate: Some(12.0),
                phase: Some(Duration::from_nanos(83_333_333))
            }
        );
        assert_eq!(millis("250"), Some(Duration::from_millis(250)));
        assert_eq!(millis("0.5"), Some(Duration::from_micros(500)));
        for bad in ["", ".5", "1.", "-1", "1.2.3", "x"] {
            assert_eq!(millis(bad), None, "{bad:?}");
        }
    }
}
