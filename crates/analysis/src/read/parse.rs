//! A line of the log contract into analysis's [`Record`]. Pure.
//!
//! The contract's parser (`lc_contract::line`) reads the line into its typed event, against
//! the same declaration of keys the runs write with; this module only reshapes that event for
//! the checks: a `stop`'s missing `dropped` is 0, clocks become [`VectorClock`]s, and the keys
//! no check reads are left behind.

pub(crate) use lc_contract::line::ParseError;
use lc_contract::line::{self as contract, Event};
use lc_core::vector_clock::VectorClock;

use crate::read::record::{Action, Body, FaultLine, Record, Tick};

/// Parses one line (without its newline).
pub(crate) fn parse_line(line: &str) -> Result<Record, ParseError> {
    let line = contract::parse_line(line)?;
    Ok(Record {
        time_us: line.time_us,
        vm: line.vm,
        body: body(line.event),
    })
}

/// What the checks need of a typed event.
fn body(event: Event<'_>) -> Body {
    match event {
        Event::Start(start) => Body::Start {
            rate: start.rate,
            phase: start.phase,
        },
        Event::Tick(tick) => Body::Tick(Tick {
            lc: tick.lc,
            queue: tick.queue,
            vc: tick.vc.map(|vc| VectorClock::from_entries(vc.into_owned())),
            action: match tick.action {
                contract::Action::Send { to, seq } => Action::Send {
                    to: to.into_owned(),
                    seq,
                },
                contract::Action::Receive {
                    from,
                    seq,
                    msg_lc,
                    msg_vc,
                } => Action::Receive {
                    from,
                    seq,
                    msg_lc,
                    msg_vc: msg_vc.map(|vc| VectorClock::from_entries(vc.into_owned())),
                },
                contract::Action::Internal => Action::Internal,
            },
        }),
        Event::Fault(mark) => Body::Fault(FaultLine {
            fault: mark.fault,
            edge: mark.edge,
            spec: mark.spec.into_owned(),
            queue: mark.queue,
            lc: mark.lc,
            lost: mark.lost,
        }),
        Event::Stop(stop) => Body::Stop {
            queue: stop.queue,
            // Added to the contract later: older logs have no `dropped`.
            dropped: stop.dropped.unwrap_or(0),
            late_max_us: stop.late.max_us,
            dropped_by_fault: stop.dropped_by_fault.into_owned(),
        },
        Event::Notice { level, message } => Body::Notice {
            level,
            message: message.into_owned(),
        },
        Event::Unknown { message } => Body::Unknown {
            message: message.into_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::record::Level;
    use lc_contract::line::{Key, Message};
    use lc_core::faults::{Edge, Fault, PartitionMode, RestartClock};
    use lc_core::vm_id::VmId;
    use std::time::Duration;

    /// A VM id written in a test.
    fn vid(n: u32) -> VmId {
        VmId::literal(n)
    }

    const T: i64 = 1_795_626_579_802_378; // 2026-11-25T17:09:39.802378Z

    #[test]
    fn parses_a_send_to_two_recipients() {
        let r = parse_line(
            "2026-11-25T17:09:39.802378Z INFO send, to: 2 3, seq: 4, queue: 0, lc: 17, vm: 1",
        )
        .unwrap();
        assert_eq!(r.time_us, T);
        assert_eq!(r.vm, Some(vid(1)));
        assert_eq!(
            r.body,
            Body::Tick(Tick {
                lc: 17,
                queue: 0,
                vc: None,
                action: Action::Send {
                    to: vec![vid(2), vid(3)],
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
                    from: vid(1),
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
                from: vid(1),
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
                key: Key::Vc,
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
        assert_eq!(r.vm, Some(vid(1)));
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
                    kind: Message::Internal,
                    key: Key::Vm,
                },
            ),
            (
                "2026-11-25T17:09:39.802378Z INFO send, to: 2, lc: 5, queue: 0, vm: 1",
                ParseError::MissingKey {
                    kind: Message::Send,
                    key: Key::Seq,
                },
            ),
            (
                "2026-11-25T17:09:39.802378Z INFO internal, lc: x, queue: 0, vm: 1",
                ParseError::Value {
                    key: Key::Lc,
                    value: "x".into(),
                },
            ),
            (
                "2026-11-25T17:09:39.802378Z INFO send, to: , seq: 1, lc: 5, queue: 0, vm: 1",
                ParseError::Value {
                    key: Key::To,
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
                groups: vec![vec![vid(1)], vec![vid(2), vid(3)]],
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
                vm: vid(3),
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
        assert_eq!(f.spec.vms(), vec![vid(2)]);
        for (text, key) in [
            ("fault_start, fault: 1, kind: quake, queue: 0, lc: 1, vm: 1", Key::Kind),
            ("fault_start, fault: 1, kind: pause, from_s: x, until_s: 1, queue: 0, lc: 1, vm: 1", Key::FromS),
            ("fault_start, fault: 0, kind: pause, from_s: 0, until_s: 1, queue: 0, lc: 1, vm: 1", Key::Fault),
            ("fault_start, fault: 1, kind: crash, at_s: 1, clock: later, queue: 0, lc: 1, vm: 1", Key::Clock),
            ("fault_start, fault: 1, kind: partition, groups: 1||2, from_s: 0, until_s: 1, mode: hold, queue: 0, lc: 1, vm: 1", Key::Groups),
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
                kind: Message::FaultEnd,
                key: Key::Queue
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
    }
}
