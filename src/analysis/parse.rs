//! The line parser: one slog-term line of the log contract into a [`Record`]. Pure.
//!
//! Layout: `<timestamp> <LEVEL> <message>, <key>: <value>, ...`. Keys may come in any order and
//! unknown keys are skipped, so the contract can grow (e.g. `dropped` on `stop`) without breaking
//! the analysis. INFO lines are strict (a missing or bad key is an error, because the checks
//! depend on them); WARN/ERRO lines are free-form and only need their timestamp.

use thiserror::Error;

use super::record::{Action, Body, Level, Record, Tick};
use crate::timestamp::parse_micros;

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
        },
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
                },
                _ => Action::Internal,
            };
            Body::Tick(Tick {
                lc: number(need(fields.lc, "lc")?, "lc")?,
                queue: number(need(fields.queue, "queue")?, "queue")?,
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
                action: Action::Receive {
                    from: 1,
                    seq: 7,
                    msg_lc: 9
                }
            })
        );
    }

    #[test]
    fn parses_start_stop_and_internal() {
        let start = parse_line(
            "2026-11-25T17:09:39.802378Z INFO start, addr: 127.0.0.1:7001, rate: 4, vm: 3",
        )
        .unwrap();
        assert_eq!(start.body, Body::Start { rate: Some(4.0) });
        let stop = parse_line(
            "2026-11-25T17:09:39.802378Z INFO stop, dropped: 0, queue: 2, internal: 1, received: 2, sent: 3, ticks: 6, vm: 3",
        )
        .unwrap();
        assert_eq!(
            stop.body,
            Body::Stop {
                queue: 2,
                dropped: 0,
                late_max_us: None
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
                late_max_us: Some(1520)
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
}
