//! The writer and the parser held to each other, and to lines as runs
//! write them.

use std::borrow::Cow;
use std::time::Duration;

use lc_core::faults::{Edge, Fault, PartitionMode, RestartClock};
use lc_core::vm_id::VmId;
use proptest::prelude::*;

use super::*;
use crate::timestamp::Rfc3339Cache;

/// The line of `event` by VM `vm`, as a run's drain completes it.
/// A VM id written in a test.
fn id(n: u32) -> VmId {
    VmId::literal(n)
}

/// Any VM id: any number but 0.
fn any_vm() -> impl Strategy<Value = VmId> {
    (1..=u32::MAX).prop_map(VmId::literal)
}

fn written(at: i64, event: &Event<'_>, vm: VmId) -> String {
    let mut line = Vec::new();
    push_line(&mut line, &mut Rfc3339Cache::default(), at, event);
    let text = line.clone();
    write_vm(&mut line, Some(&text), vm).unwrap();
    String::from_utf8(line).unwrap()
}

/// Lines copied from runs (virtual time, seed 1, with faults).
#[test]
fn writes_every_kind_as_runs_write_it() {
    let crash = Fault::Crash {
        vm: id(1),
        at: Duration::from_secs(100),
        restart: None,
        clock: RestartClock::Keep,
    };
    let cases = [
        (
            Event::Start(Start {
                rate: Some(3.0),
                phase: Some(Duration::from_nanos(217_115_638)),
                addr: Some(Cow::Borrowed("in-process")),
            }),
            "2000-01-01T00:00:00.000000Z INFO start, rate: 3, phase_ms: 217.115638, addr: in-process, vm: 1",
        ),
        (
            Event::Tick(Tick {
                lc: 1,
                queue: 0,
                vc: Some(Cow::Owned(vec![0, 0, 1, 0])),
                action: Action::Internal,
            }),
            "2000-01-01T00:00:00.000000Z INFO internal, queue: 0, lc: 1, vc: 0 0 1 0, vm: 1",
        ),
        (
            Event::Fault(FaultMark {
                edge: Edge::Start,
                fault: 6,
                spec: Cow::Owned(crash),
                lost: None,
                queue: 0,
                lc: 409,
            }),
            "2000-01-01T00:00:00.000000Z INFO fault_start, fault: 6, kind: crash, at_s: 100, clock: keep, queue: 0, lc: 409, vm: 1",
        ),
        (
            Event::Stop(Stop {
                ticks: Some(300),
                sent: Some(97),
                received: Some(112),
                internal: Some(125),
                queue: 0,
                dropped: Some(10),
                dropped_by_fault: Cow::Owned(vec![(2, 3), (4, 3), (5, 4)]),
                lc: Some(409),
                late: Spread { p50_us: Some(560), p99_us: Some(884), max_us: Some(884) },
                transit: Spread { p50_us: Some(50000), p99_us: Some(14368000), max_us: Some(14368000) },
            }),
            "2000-01-01T00:00:00.000000Z INFO stop, ticks: 300, sent: 97, received: 112, internal: 125, queue: 0, dropped: 10, dropped_by_fault: 2=3 4=3 5=4, lc: 409, late_p50_us: 560, late_p99_us: 884, late_max_us: 884, transit_p50_us: 50000, transit_p99_us: 14368000, transit_max_us: 14368000, vm: 1",
        ),
        (
            Event::Notice {
                level: Level::Warning,
                message: Cow::Borrowed("bad frame Data { from: 2, seq: 0 }\nand more"),
            },
            "2000-01-01T00:00:00.000000Z WARN bad frame Data { from: 2; seq: 0 } and more, vm: 1",
        ),
    ];
    for (event, line) in cases {
        assert_eq!(written(946_684_800_000_000, &event, id(1)), line);
    }
}

/// slog-term puts no separator between an empty message and the first key.
#[test]
fn an_empty_warning_runs_into_its_vm_key() {
    let notice = |message: &str| Event::Notice {
        level: Level::Warning,
        message: Cow::Owned(message.to_string()),
    };
    assert_eq!(
        written(0, &notice(""), id(1)),
        "1970-01-01T00:00:00.000000Z WARN vm: 1"
    );
    assert_eq!(
        written(0, &notice(" "), id(1)),
        "1970-01-01T00:00:00.000000Z WARN  , vm: 1"
    );
    assert_eq!(
        written(0, &notice("WARN "), id(1)),
        "1970-01-01T00:00:00.000000Z WARN WARN , vm: 1"
    );
}

#[test]
fn a_fault_line_spells_the_parameters_as_the_settings_do() {
    let fault = Fault::Partition {
        groups: vec![vec![id(1)], vec![id(2), id(3)]],
        from: Duration::from_secs(10),
        until: Duration::from_millis(25_500),
        mode: PartitionMode::Drop,
    };
    let parameters: String = fault
        .parameters()
        .iter()
        .map(|(k, v)| format!(", {k}: {v}"))
        .collect();
    let mark = Event::Fault(FaultMark {
        edge: Edge::End,
        fault: 1,
        spec: Cow::Borrowed(&fault),
        lost: Some(3),
        queue: 0,
        lc: 5,
    });
    assert_eq!(
        written(0, &mark, id(2)),
        format!(
            "1970-01-01T00:00:00.000000Z INFO fault_end, fault: 1, kind: partition{parameters}, lost: 3, queue: 0, lc: 5, vm: 2"
        )
    );
}

fn list<T: std::fmt::Debug + Clone + Arbitrary + 'static>(
    len: std::ops::Range<usize>,
) -> impl Strategy<Value = Cow<'static, [T]>> {
    prop::collection::vec(any::<T>(), len).prop_map(Cow::Owned)
}

fn any_action() -> impl Strategy<Value = Action<'static>> {
    prop_oneof![
        (prop::collection::vec(any_vm(), 1..4), any::<u64>()).prop_map(|(to, seq)| Action::Send {
            to: Cow::Owned(to),
            seq
        }),
        (
            any_vm(),
            any::<u64>(),
            any::<u64>(),
            prop::option::of(list::<u64>(1..5))
        )
            .prop_map(|(from, seq, msg_lc, msg_vc)| Action::Receive {
                from,
                seq,
                msg_lc,
                msg_vc
            }),
        Just(Action::Internal),
    ]
}

fn any_spread() -> impl Strategy<Value = Spread> {
    let count = || prop::option::of(any::<u64>());
    (count(), count(), count()).prop_map(|(p50_us, p99_us, max_us)| Spread {
        p50_us,
        p99_us,
        max_us,
    })
}

fn any_fault() -> impl Strategy<Value = Fault> {
    let secs = || (0..100_000u64).prop_map(Duration::from_millis);
    prop_oneof![
        (secs(), secs(), any::<bool>()).prop_map(|(from, until, hold)| Fault::Partition {
            groups: vec![vec![id(1), id(4)], vec![id(2)], vec![id(3)]],
            from,
            until,
            mode: if hold {
                PartitionMode::Hold
            } else {
                PartitionMode::Drop
            },
        }),
        (secs(), secs()).prop_map(|(from, until)| Fault::Pause {
            vm: id(7),
            from,
            until
        }),
        (secs(), prop::option::of(secs()), any::<bool>()).prop_map(|(at, restart, keep)| {
            Fault::Crash {
                vm: id(7),
                at,
                restart,
                clock: if keep {
                    RestartClock::Keep
                } else {
                    RestartClock::Reset
                },
            }
        }),
    ]
}

fn any_event() -> impl Strategy<Value = Event<'static>> {
    let count = || prop::option::of(any::<u64>());
    prop_oneof![
        (
            any::<u64>(),
            any::<u64>(),
            prop::option::of(list::<u64>(1..17)),
            any_action()
        )
            .prop_map(|(lc, queue, vc, action)| Event::Tick(Tick {
                lc,
                queue,
                vc,
                action
            })),
        (
            prop::option::of(1..=10_000u32),
            prop::option::of(0..10_000_000_000u64)
        )
            .prop_map(|(rate, phase)| Event::Start(Start {
                rate: rate.map(f64::from),
                phase: phase.map(Duration::from_nanos),
                addr: Some(Cow::Borrowed("127.0.0.1:7001")),
            })),
        (
            any::<bool>(),
            1..100usize,
            any_fault(),
            count(),
            any::<u64>(),
            any::<u64>()
        )
            .prop_map(
                |(start, fault, spec, lost, queue, lc)| Event::Fault(FaultMark {
                    edge: if start { Edge::Start } else { Edge::End },
                    fault,
                    spec: Cow::Owned(spec),
                    lost,
                    queue,
                    lc,
                })
            ),
        (
            (count(), count(), count(), count()),
            (
                any::<u64>(),
                count(),
                prop::collection::vec((1..100usize, any::<u64>()), 0..4)
            ),
            (count(), any_spread(), any_spread())
        )
            .prop_map(
                |(
                    (ticks, sent, received, internal),
                    (queue, dropped, by_fault),
                    (lc, late, transit),
                )| {
                    Event::Stop(Stop {
                        ticks,
                        sent,
                        received,
                        internal,
                        queue,
                        dropped,
                        dropped_by_fault: Cow::Owned(by_fault),
                        lc,
                        late,
                        transit,
                    })
                }
            ),
        (
            "[a-z ]{1,30}",
            prop_oneof![Just(Level::Warning), Just(Level::Error)]
        )
            .prop_map(|(message, level)| Event::Notice {
                level,
                message: Cow::Owned(message)
            }),
    ]
}

proptest! {
    /// Whatever the writer writes, the parser reads back as the same event.
    #[test]
    fn every_written_line_reads_back_as_its_event(
        at in 0..253_402_300_799_999_999i64,
        mut event in any_event(),
        vm in (1..=64u32).prop_map(VmId::literal),
    ) {
        // A pause's or crash's VM is the line's.
        if let Event::Fault(mark) = &mut event {
            if let Fault::Pause { vm: of, .. } | Fault::Crash { vm: of, .. } = mark.spec.to_mut() {
                *of = vm;
            }
        }
        let line = written(at, &event, vm);
        let parsed = parse_line(&line).unwrap();
        prop_assert_eq!(parsed, Line { time_us: at, vm: Some(vm), event });
    }
}

#[test]
fn missing_and_bad_keys_are_named() {
    let line = "2026-11-25T17:09:39.802378Z INFO send, to: 2, lc: 5, queue: 0, vm: 1";
    let missing = parse_line(line).unwrap_err();
    assert_eq!(
        missing,
        ParseError::MissingKey {
            kind: Message::Send,
            key: Key::Seq
        }
    );
    assert_eq!(missing.to_string(), "`send` line lacks key `seq`");
    let line = "2026-11-25T17:09:39.802378Z INFO internal, lc: 1, vc: 1 x, queue: 0, vm: 1";
    let bad = parse_line(line).unwrap_err();
    assert_eq!(bad.to_string(), "bad value for `vc`: `1 x`");
}
