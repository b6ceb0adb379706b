//! The drain, its deliveries and the contract's spelling, end to end: lines
//! reach the right files, in order, whole, and byte for byte as slog-term
//! writes them.

use super::batching::BATCH_BYTES;
use super::drain::CLOCK_READ_EVERY;
use super::*;
use lc_core::faults::{PartitionMode, RestartClock};
use std::path::Path;
use std::time::Instant;

/// A VM id written in a test.
fn vid(n: u32) -> VmId {
    VmId::literal(n)
}

fn lines_of(dir: &Path, vm: VmId) -> Vec<String> {
    std::fs::read_to_string(dir.join(format!("vm-{vm}.log")))
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn lines_follow_the_contract_and_route_by_vm() {
    for delivery in [Delivery::WriterThread, Delivery::InPlace] {
        lines_follow_the_contract_and_route_by_vm_with(delivery);
    }
}

fn lines_follow_the_contract_and_route_by_vm_with(delivery: Delivery) {
    let dir = tempfile::tempdir().unwrap();
    let (root, guard) = run_logger(
        RunDrain::create(dir.path(), 2, FLUSH_INTERVAL).unwrap(),
        delivery,
    );
    let one = vm_logger(&root, vid(1));
    let two = vm_logger(&root, vid(2));
    // 2026-11-25T17:09:39.802378Z
    let at = 1_795_626_579_802_378;
    let send = Event::Send {
        to: vec![vid(2), vid(3)],
        seq: 4,
        lc: 17,
        vc: Vec::new(),
    };
    // VM 1 of 3 after a receive of [0, 4, 2] and a send.
    let mut vc = VectorClock::zero(3);
    vc.receive(vid(1), &[0, 4, 2]);
    vc.tick(vid(1));
    log_event(&one, at, &send, 0, Some(&vc));
    log_event(&two, at + 1, &Event::Internal { lc: 1 }, 2, None);
    let receive = Event::Receive {
        from: vid(1),
        seq: 4,
        msg_lc: 17,
        lc: 18,
        jump: 17,
    };
    log_event(&two, at + 2, &receive, 0, Some(&vc));
    drop(guard);

    assert_eq!(
        lines_of(dir.path(), vid(1)),
        [
            "2026-11-25T17:09:39.802378Z INFO send, to: 2 3, seq: 4, queue: 0, lc: 17, \
             vc: 2 4 2, vm: 1"
        ]
    );
    assert_eq!(
        lines_of(dir.path(), vid(2)),
        [
            "2026-11-25T17:09:39.802379Z INFO internal, queue: 2, lc: 1, vm: 2",
            "2026-11-25T17:09:39.802380Z INFO receive, from: 1, seq: 4, msg_lc: 17, \
             queue: 0, lc: 18, vc: 2 4 2, vm: 2"
        ]
    );
}

/// Every line as slog-term writes it from the contract's keys, as every
/// line was written before the contract spelled them: the drain formats
/// these records itself, and the contract's lines must match byte for byte.
/// Keys are listed backwards in the macros: slog-term prints a record's
/// keys in reverse, then the logger's own `vm`.
mod through_slog_term {
    use super::*;
    use contract::Key;
    use slog::{Key as SlogKey, Record, KV};

    struct List<'a, T>(&'a [T]);

    impl<T: itoa::Integer + Copy> slog::Value for List<'_, T> {
        fn serialize(
            &self,
            _: &Record,
            key: SlogKey,
            serializer: &mut dyn slog::Serializer,
        ) -> slog::Result {
            let mut text = String::new();
            let mut digits = itoa::Buffer::new();
            for (i, &item) in self.0.iter().enumerate() {
                if i > 0 {
                    text.push(' ');
                }
                text.push_str(digits.format(item));
            }
            serializer.emit_str(key, &text)
        }
    }

    struct Vc<'a>(Option<&'a VectorClock>);

    impl KV for Vc<'_> {
        fn serialize(
            &self,
            record: &Record,
            serializer: &mut dyn slog::Serializer,
        ) -> slog::Result {
            match self.0 {
                Some(vc) => {
                    slog::Value::serialize(&List(vc.entries()), record, Key::Vc.name(), serializer)
                }
                None => Ok(()),
            }
        }
    }

    pub(crate) fn log_event(
        log: &Logger,
        at: EventTime,
        event: &Event,
        queue: u64,
        vc: Option<&VectorClock>,
    ) {
        let vc = Vc(vc);
        match event {
            Event::Send { to, seq, lc, .. } => {
                slog::info!(log, "{}", contract::Message::Send.name();
                EVENT_TIME_KEY => at, vc, Key::Lc.name() => lc, Key::Queue.name() => queue,
                Key::Seq.name() => seq, Key::To.name() => List(&to.iter().map(|vm| vm.get()).collect::<Vec<_>>()))
            }
            Event::Receive {
                from,
                seq,
                msg_lc,
                lc,
                ..
            } => slog::info!(log, "{}", contract::Message::Receive.name();
                EVENT_TIME_KEY => at, vc, Key::Lc.name() => lc, Key::Queue.name() => queue,
                Key::MsgLc.name() => msg_lc, Key::Seq.name() => seq, Key::From.name() => from.get()),
            Event::Internal { lc } => slog::info!(log, "{}", contract::Message::Internal.name();
                EVENT_TIME_KEY => at, vc, Key::Lc.name() => lc, Key::Queue.name() => queue),
        }
    }

    pub(crate) fn log_start(
        log: &Logger,
        at: EventTime,
        rate: u32,
        addr: &str,
        first_tick: Duration,
    ) {
        let phase_ms = format!("{:.6}", first_tick.as_nanos() as f64 / 1e6);
        slog::info!(log, "{}", contract::Message::Start.name(); EVENT_TIME_KEY => at,
            Key::Addr.name() => addr, Key::PhaseMs.name() => phase_ms, Key::Rate.name() => rate);
    }

    /// A fault's own keys, in the order a line shows them: its number, its
    /// kind, its parameters as the settings write them.
    struct FaultKeys<'a>(FaultId, &'a Fault);

    impl KV for FaultKeys<'_> {
        fn serialize(&self, _: &Record, serializer: &mut dyn slog::Serializer) -> slog::Result {
            serializer.emit_usize(Key::Fault.name(), self.0)?;
            serializer.emit_str(Key::Kind.name(), self.1.kind())?;
            for (key, value) in self.1.parameters() {
                serializer.emit_str(key, &value)?;
            }
            Ok(())
        }
    }

    /// An optional count: the key with its value, or no key at all.
    struct OptionalCount(&'static str, Option<u64>);

    impl KV for OptionalCount {
        fn serialize(&self, _: &Record, serializer: &mut dyn slog::Serializer) -> slog::Result {
            match self.1 {
                Some(n) => serializer.emit_u64(self.0, n),
                None => Ok(()),
            }
        }
    }

    pub(crate) fn log_fault(log: &Logger, at: EventTime, line: &FaultLine) {
        let name = match line.edge {
            Edge::Start => contract::Message::FaultStart,
            Edge::End => contract::Message::FaultEnd,
        };
        slog::info!(log, "{}", name.name();
            EVENT_TIME_KEY => at, Key::Lc.name() => line.lc, Key::Queue.name() => line.queue,
            OptionalCount(Key::Lost.name(), line.lost), FaultKeys(line.id, line.fault));
    }

    /// `dropped_by_fault: 1=3 3=14`, or no key when no fault dropped anything.
    struct DroppedByFault<'a>(&'a BTreeMap<FaultId, u64>);

    impl KV for DroppedByFault<'_> {
        fn serialize(&self, _: &Record, serializer: &mut dyn slog::Serializer) -> slog::Result {
            if self.0.is_empty() {
                return Ok(());
            }
            let text: Vec<String> = self.0.iter().map(|(f, n)| format!("{f}={n}")).collect();
            serializer.emit_str(Key::DroppedByFault.name(), &text.join(" "))
        }
    }

    pub(crate) fn log_stop(log: &Logger, at: EventTime, stop: &StopLine) {
        let counters = stop.counters;
        slog::info!(log, "{}", contract::Message::Stop.name();
            EVENT_TIME_KEY => at,
            Key::TransitMaxUs.name() => stop.transit.max_us(),
            Key::TransitP99Us.name() => stop.transit.quantile_us(0.99),
            Key::TransitP50Us.name() => stop.transit.quantile_us(0.5),
            Key::LateMaxUs.name() => stop.lateness.max_us(),
            Key::LateP99Us.name() => stop.lateness.quantile_us(0.99),
            Key::LateP50Us.name() => stop.lateness.quantile_us(0.5),
            Key::Lc.name() => stop.lc, DroppedByFault(stop.dropped_by_fault),
            Key::Dropped.name() => stop.dropped, Key::Queue.name() => stop.queue,
            Key::Internal.name() => counters.internal, Key::Received.name() => counters.received,
            Key::Sent.name() => counters.sent, Key::Ticks.name() => counters.ticks);
    }

    /// A free-form message made safe for the contract, as the runtime did.
    fn one_field(what: &str) -> String {
        what.replace(", ", "; ").replace('\n', " ")
    }

    pub(crate) fn log_warning(log: &Logger, at: EventTime, what: &str) {
        slog::warn!(log, "{}", one_field(what); EVENT_TIME_KEY => at);
    }

    pub(crate) fn log_error(log: &Logger, at: EventTime, what: &str) {
        slog::error!(log, "{}", one_field(what); EVENT_TIME_KEY => at);
    }
}

fn any_event() -> impl proptest::strategy::Strategy<Value = Event> {
    use proptest::prelude::*;
    prop_oneof![
        (
            prop::collection::vec((1..=64u32).prop_map(VmId::literal), 1..4),
            any::<u64>(),
            any::<u64>()
        )
            .prop_map(|(to, seq, lc)| Event::Send {
                to,
                seq,
                lc,
                vc: Vec::new()
            }),
        (
            (1..=64u32).prop_map(VmId::literal),
            any::<u64>(),
            any::<u64>(),
            any::<u64>()
        )
            .prop_map(|(from, seq, msg_lc, lc)| Event::Receive {
                from,
                seq,
                msg_lc,
                lc,
                jump: 0
            }),
        any::<u64>().prop_map(|lc| Event::Internal { lc }),
    ]
}

/// One call of the runtime's logging API, of any kind of line.
#[derive(Debug, Clone)]
enum Logged {
    Event(Event, u64, Option<Vec<u64>>),
    Start(u32, Duration),
    Fault(Edge, FaultId, Fault, Option<u64>, u64, u64),
    Stop(
        VmCounters,
        u64,
        u64,
        BTreeMap<FaultId, u64>,
        u64,
        Vec<u64>,
        Vec<u64>,
    ),
    Warning(String),
    Error(String),
}

fn any_fault() -> impl proptest::strategy::Strategy<Value = Fault> {
    use proptest::prelude::*;
    let secs = || (0..1_000_000u64).prop_map(Duration::from_millis);
    prop_oneof![
        (secs(), secs(), any::<bool>()).prop_map(|(from, until, hold)| Fault::Partition {
            groups: vec![vec![vid(1)], vec![vid(2), vid(3)]],
            from,
            until,
            mode: if hold {
                PartitionMode::Hold
            } else {
                PartitionMode::Drop
            },
        }),
        (secs(), secs()).prop_map(|(from, until)| Fault::Pause {
            vm: vid(1),
            from,
            until
        }),
        (secs(), proptest::option::of(secs()), any::<bool>()).prop_map(|(at, restart, keep)| {
            Fault::Crash {
                vm: vid(1),
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

fn any_logged() -> impl proptest::strategy::Strategy<Value = Logged> {
    use proptest::prelude::*;
    let samples = || prop::collection::vec(0..10_000_000u64, 0..5);
    let counters = (any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>()).prop_map(
        |(ticks, sent, received, internal)| VmCounters {
            ticks,
            sent,
            received,
            internal,
            max_jump: 0,
        },
    );
    prop_oneof![
        8 => (any_event(), any::<u64>(), proptest::option::of(prop::collection::vec(any::<u64>(), 1..17)))
            .prop_map(|(e, q, vc)| Logged::Event(e, q, vc)),
        1 => (1..=10_000u32, 0..10_000_000_000u64)
            .prop_map(|(rate, ns)| Logged::Start(rate, Duration::from_nanos(ns))),
        1 => (any::<bool>(), 1..50usize, any_fault(), proptest::option::of(any::<u64>()), any::<u64>(), any::<u64>())
            .prop_map(|(start, id, fault, lost, queue, lc)| {
                let edge = if start { Edge::Start } else { Edge::End };
                Logged::Fault(edge, id, fault, lost, queue, lc)
            }),
        1 => (counters, any::<u64>(), any::<u64>(), prop::collection::btree_map(1..50usize, any::<u64>(), 0..4),
              any::<u64>(), samples(), samples())
            .prop_map(|(c, queue, dropped, by_fault, lc, late, transit)| {
                Logged::Stop(c, queue, dropped, by_fault, lc, late, transit)
            }),
        1 => "[a-z ,\n{}:]{0,40}".prop_map(Logged::Warning),
        1 => "[a-z ,\n{}:]{0,40}".prop_map(Logged::Error),
    ]
}

fn lateness(samples: &[u64]) -> Lateness {
    let mut of = Lateness::default();
    for &us in samples {
        of.record(Duration::from_micros(us));
    }
    of
}

/// Logs `logged` through the runtime's API (`reference` false) or through
/// slog-term's formatting of the same keys (`reference` true).
fn log_either(log: &Logger, at: EventTime, logged: &Logged, reference: bool) {
    use through_slog_term as slog_term;
    match logged {
        Logged::Event(event, queue, vc) => {
            let vc = vc
                .as_ref()
                .map(|entries| VectorClock::from_entries(entries.iter().copied()));
            let log_event = if reference {
                slog_term::log_event
            } else {
                super::log_event
            };
            log_event(log, at, event, *queue, vc.as_ref());
        }
        Logged::Start(rate, phase) => {
            let log_start = if reference {
                slog_term::log_start
            } else {
                super::log_start
            };
            log_start(log, at, *rate, "in-process", *phase);
        }
        Logged::Fault(edge, id, fault, lost, queue, lc) => {
            let line = FaultLine {
                edge: *edge,
                id: *id,
                fault,
                lost: *lost,
                queue: *queue,
                lc: *lc,
            };
            let log_fault = if reference {
                slog_term::log_fault
            } else {
                super::log_fault
            };
            log_fault(log, at, &line);
        }
        Logged::Stop(counters, queue, dropped, by_fault, lc, late, transit) => {
            let (lateness, transit) = (lateness(late), lateness(transit));
            let line = StopLine {
                counters,
                queue: *queue,
                dropped: *dropped,
                dropped_by_fault: by_fault,
                lc: *lc,
                lateness: &lateness,
                transit: &transit,
            };
            let log_stop = if reference {
                slog_term::log_stop
            } else {
                super::log_stop
            };
            log_stop(log, at, &line);
        }
        Logged::Warning(what) => {
            let log_warning = if reference {
                slog_term::log_warning
            } else {
                super::log_warning
            };
            log_warning(log, at, what);
        }
        Logged::Error(what) => {
            let log_error = if reference {
                slog_term::log_error
            } else {
                super::log_error
            };
            log_error(log, at, what);
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// Every line the contract spells is the line slog-term writes from the
    /// same keys, of every kind, in either delivery, times from the epoch
    /// to the year 9999.
    #[test]
    fn lines_spelled_by_the_contract_match_slog_term(
        lines in proptest::collection::vec(
            (0..253_402_300_799_999_999u64, any_logged()),
            1..20),
        in_place in proptest::prelude::any::<bool>(),
        vm in proptest::strategy::Strategy::prop_map(1..=3u32, VmId::literal),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let delivery = if in_place { Delivery::InPlace } else { Delivery::WriterThread };
        let (root, guard) = run_logger(RunDrain::create(dir.path(), 3, FLUSH_INTERVAL).unwrap(), delivery);
        let log = vm_logger(&root, vm);
        for (at, logged) in &lines {
            log_either(&log, *at, logged, false);
            log_either(&log, *at, logged, true);
        }
        drop(guard);
        let written = lines_of(dir.path(), vm);
        proptest::prop_assert_eq!(written.len(), 2 * lines.len());
        for pair in written.chunks(2) {
            proptest::prop_assert_eq!(&pair[0], &pair[1]);
        }
    }
}

#[test]
fn warnings_never_break_the_key_separator() {
    let dir = tempfile::tempdir().unwrap();
    let (root, guard) = run_logger(
        RunDrain::create(dir.path(), 1, FLUSH_INTERVAL).unwrap(),
        Delivery::WriterThread,
    );
    log_warning(
        &vm_logger(&root, vid(1)),
        0,
        "bad frame Data { from: 2, seq: 0 }\nand more",
    );
    drop(guard);
    let lines = lines_of(dir.path(), vid(1));
    assert_eq!(
        lines,
        ["1970-01-01T00:00:00.000000Z WARN bad frame Data { from: 2; seq: 0 } and more, vm: 1"]
    );
}

#[test]
fn a_drain_that_writes_every_line_records_no_failure() {
    let dir = tempfile::tempdir().unwrap();
    let drain = RunDrain::create(dir.path(), 1, FLUSH_INTERVAL).unwrap();
    let failures = drain.failures();
    let (root, guard) = run_logger(drain, Delivery::WriterThread);
    log_event(
        &vm_logger(&root, vid(1)),
        1,
        &Event::Internal { lc: 1 },
        0,
        None,
    );
    drop(guard);
    assert_eq!(failures.get(), None);
}

/// `/dev/full` fails every write with "No space left on device": a full
/// disk for one file. Written at once (interval zero) the line fails
/// while the run goes on; buffered (the default) it fails in the last
/// flush, when the drain is dropped.
#[cfg(target_os = "linux")]
#[test]
fn a_drain_on_a_full_disk_records_the_failure_for_the_run() {
    for (interval, delivery) in [
        (Duration::ZERO, Delivery::WriterThread),
        (FLUSH_INTERVAL, Delivery::WriterThread),
        (Duration::ZERO, Delivery::InPlace),
        (FLUSH_INTERVAL, Delivery::InPlace),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/dev/full", dir.path().join("vm-2.log")).unwrap();
        let drain = RunDrain::create(dir.path(), 2, interval).unwrap();
        let failures = drain.failures();
        let (root, guard) = run_logger(drain, delivery);
        for vm in VmId::all(2) {
            log_event(
                &vm_logger(&root, vm),
                1,
                &Event::Internal { lc: 1 },
                0,
                None,
            );
        }
        drop(guard);
        let failure = failures.get().expect("the failed writes are recorded");
        assert_eq!(failure.first_file, "vm-2.log");
        assert_eq!(failure.files, ["vm-2.log"], "vm-1.log was written");
        assert!(
            failure.first_error.contains("No space left on device"),
            "{failure:?}"
        );
        assert_eq!(lines_of(dir.path(), vid(1)).len(), 1);
    }
}

/// Waits, at most ten seconds, until VM 1's file holds `count` lines
/// while the run goes on, and returns them.
fn wait_for_lines(dir: &Path, count: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let lines = lines_of(dir, vid(1));
        if lines.len() >= count || Instant::now() > deadline {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn batched_event_lines_reach_the_file_before_the_run_ends() {
    // Interval zero: every line at once (`tail -f` sees it).
    let dir = tempfile::tempdir().unwrap();
    let (root, guard) = run_logger(
        RunDrain::create(dir.path(), 1, Duration::ZERO).unwrap(),
        Delivery::WriterThread,
    );
    let log = vm_logger(&root, vid(1));
    log_event(&log, 1, &Event::Internal { lc: 1 }, 0, None);
    assert_eq!(wait_for_lines(dir.path(), 1).len(), 1, "the line waited");
    log_event(&log, 2, &Event::Internal { lc: 2 }, 0, None);
    assert_eq!(wait_for_lines(dir.path(), 2).len(), 2, "the second waited");
    drop(guard);

    // An interval of an hour: the lines wait for the next other line,
    // which they precede, or for their bound in bytes.
    let dir = tempfile::tempdir().unwrap();
    let (root, guard) = run_logger(
        RunDrain::create(dir.path(), 1, Duration::from_secs(3600)).unwrap(),
        Delivery::WriterThread,
    );
    let log = vm_logger(&root, vid(1));
    log_event(&log, 1, &Event::Internal { lc: 1 }, 0, None);
    log_warning(&log, 2, "a warning");
    let lines = wait_for_lines(dir.path(), 1);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].ends_with("INFO internal, queue: 0, lc: 1, vm: 1"));
    let before_the_bound = (1..).take_while(|lc| lc * 50 < BATCH_BYTES as u64);
    let mut logged = 1;
    for lc in before_the_bound.chain(1..=100) {
        log_event(&log, 3, &Event::Internal { lc }, 0, None);
        logged += 1;
    }
    assert!(wait_for_lines(dir.path(), logged / 2).len() >= logged / 2);
    drop(guard);
    let lines = lines_of(dir.path(), vid(1));
    assert_eq!(lines.len(), logged + 1);
    assert!(lines[1].ends_with("WARN a warning, vm: 1"), "{lines:?}");
    assert!(lines[2].ends_with("INFO internal, queue: 0, lc: 1, vm: 1"));
}

#[test]
fn in_place_lines_are_flushed_within_a_bounded_count_of_lines_once_due() {
    let dir = tempfile::tempdir().unwrap();
    let interval = Duration::from_millis(1);
    let (root, guard) = run_logger(
        RunDrain::create(dir.path(), 1, interval).unwrap(),
        Delivery::InPlace,
    );
    let log = vm_logger(&root, vid(1));
    log_event(&log, 1, &Event::Internal { lc: 1 }, 0, None);
    std::thread::sleep(interval * 10);
    // Due now, but the drain reads the clock only every
    // `CLOCK_READ_EVERY` lines: they stay in its buffer until the last.
    for lc in 2..CLOCK_READ_EVERY as u64 {
        log_event(&log, lc, &Event::Internal { lc }, 0, None);
    }
    assert_eq!(
        lines_of(dir.path(), vid(1)).len(),
        0,
        "flushed before the count"
    );
    log_event(&log, 100, &Event::Internal { lc: 100 }, 0, None);
    assert_eq!(
        lines_of(dir.path(), vid(1)).len(),
        CLOCK_READ_EVERY as usize,
        "the line that completes the count flushes every line"
    );
    drop(guard);
}

#[test]
fn a_flood_of_lines_is_never_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let (root, guard) = run_logger(
        RunDrain::create(dir.path(), 1, FLUSH_INTERVAL).unwrap(),
        Delivery::WriterThread,
    );
    let log = vm_logger(&root, vid(1));
    let mut vc = VectorClock::zero(16);
    for lc in 1..=200_000 {
        vc.tick(vid(1));
        log_event(&log, lc, &Event::Internal { lc }, 0, Some(&vc));
    }
    drop(guard);
    let lines = lines_of(dir.path(), vid(1));
    assert_eq!(lines.len(), 200_000);
    assert!(lines[199_999].contains("lc: 200000, vc: 200000 0 0 0 "));
}
