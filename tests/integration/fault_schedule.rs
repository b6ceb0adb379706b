//! Faults injected on purpose (`[[faults]]`): partitions, pauses and
//! crashes, in virtual time (exact, byte-identical per seed) and on real
//! TCP (within a timer's millisecond; the tests allow a noisy machine
//! more). Every assertion reads the run's own log files: fault lines where
//! the schedule puts them, no ticks in a pause, nothing across a held
//! partition, drops attributed to their fault and the books balanced, and
//! a restarted VM back in the mesh.

use crate::common::vid;
use crate::common::{read_logs, Line};
use lc_analysis::FaultSummary;
use lc_core::faults::{Edge, Fault, FaultPlan, PartitionMode, RestartClock};
use lc_core::model::Event;
use lc_core::schedule::draw_tick_leads;
use lc_core::simulation::{FaultEdge, Observer, SimSpec, Simulation, Until};
use lc_core::vector_clock::VectorClock;
use lc_core::vm_core::{Logged, StopSummary};
use lc_core::vm_id::VmId;
use lc_settings::Settings;
use logical_clocks::run::{self, RunOptions, RunOutcome};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

type Logs = BTreeMap<u64, Vec<Line>>;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// Runs 3 VMs at `rates` for `runtime` seconds with `faults`, logs under
/// `dir`; returns the outcome and every VM's lines.
fn run_with(
    dir: &Path,
    rates: [i64; 3],
    runtime: f64,
    faults: Vec<Fault>,
    virtual_time: bool,
    seed: u64,
) -> (RunOutcome, Logs) {
    run_with_p(dir, rates, 0.3, runtime, faults, virtual_time, seed)
}

/// [`run_with`], with the internal-event probability `p`.
fn run_with_p(
    dir: &Path,
    rates: [i64; 3],
    p: f64,
    runtime: f64,
    faults: Vec<Fault>,
    virtual_time: bool,
    seed: u64,
) -> (RunOutcome, Logs) {
    let settings = Settings {
        vm_count: 3,
        runtime,
        base_port: 0,
        log_dir: dir.to_path_buf(),
        rates: rates.to_vec(),
        internal_probability: p,
        virtual_time,
        ..Settings::default()
    };
    let mut spec = settings.resolve(|| seed).unwrap();
    spec.faults = FaultPlan::new(faults);
    let outcome = run::run(spec, RunOptions::default()).unwrap();
    let logs = read_logs(&outcome.run_dir);
    (outcome, logs)
}

/// `analyze` on the run: it must find it healthy (every rule of the model
/// kept, faults included) and it reports each fault.
fn analyzed(outcome: &RunOutcome) -> Vec<FaultSummary> {
    let analysis = crate::common::analyze_without_plots(&outcome.run_dir);
    assert!(analysis.is_healthy(), "{}", analysis.report());
    analysis.summary().faults.clone()
}

/// Event time in seconds since the run's common start. The start is not a
/// line of its own: the supervisor fixes it 5 ms after it starts the VMs,
/// which log `start` as they begin.
struct Clock {
    start_us: i64,
}

/// The supervisor's margin between starting the VMs and their common start.
const START_MARGIN_US: i64 = 5_000;

impl Clock {
    fn of(_outcome: &RunOutcome, logs: &Logs) -> Clock {
        let first_start = logs.values().map(|lines| lines[0].micros()).min().unwrap();
        Clock {
            start_us: first_start + START_MARGIN_US,
        }
    }

    fn at(&self, line: &Line) -> f64 {
        (line.micros() - self.start_us) as f64 / 1e6
    }
}

fn events(lines: &[Line]) -> impl Iterator<Item = &Line> {
    lines
        .iter()
        .filter(|l| matches!(l.message.as_str(), "send" | "receive" | "internal"))
}

fn fault_line<'a>(lines: &'a [Line], edge: &str, fault: u64) -> &'a Line {
    lines
        .iter()
        .find(|l| l.message == edge && l.get("fault") == fault)
        .unwrap_or_else(|| panic!("no {edge} of fault {fault}"))
}

/// The ticks a VM's schedule holds within the run and outside `windows`:
/// tick k at `phase + (k - 1) / rate`.
fn expected_ticks(start: &Line, runtime: f64, windows: &[(f64, f64)]) -> u64 {
    let rate = start.get("rate");
    let phase_ns = (start.keys["phase_ms"].parse::<f64>().unwrap() * 1e6).round() as u64;
    let period_ns = 1_000_000_000 / rate;
    let runtime_ns = (runtime * 1e9).round() as u64;
    let in_window = |t_ns: u64| {
        windows
            .iter()
            .any(|&(from, until)| (from * 1e9) as u64 <= t_ns && t_ns < (until * 1e9) as u64)
    };
    (0..)
        .map(|k| phase_ns + k * period_ns)
        .take_while(|&t| t <= runtime_ns)
        .filter(|&t| !in_window(t))
        .count() as u64
}

/// The run's books, from the `stop` lines: sent = received + queued +
/// dropped, and each fault's attributed drops.
fn books(logs: &Logs) -> (u64, u64, BTreeMap<u64, u64>) {
    let (mut sent, mut rest, mut by_fault) = (0, 0, BTreeMap::new());
    for lines in logs.values() {
        let stop = lines.last().unwrap();
        assert_eq!(stop.message, "stop");
        sent += stop.get("sent");
        rest += stop.get("received") + stop.get("queue") + stop.get("dropped");
        let mut attributed = 0;
        if let Some(pairs) = stop.keys.get("dropped_by_fault") {
            for pair in pairs.split(' ') {
                let (fault, n) = pair.split_once('=').unwrap();
                let n: u64 = n.parse().unwrap();
                attributed += n;
                *by_fault.entry(fault.parse().unwrap()).or_insert(0) += n;
            }
        }
        assert!(attributed <= stop.get("dropped"), "{stop:?}");
    }
    (sent, rest, by_fault)
}

/// Every send line, by (sender, seq): its time and recipients.
fn sends(logs: &Logs, clock: &Clock) -> HashMap<(u64, u64), (f64, Vec<u64>)> {
    let mut sends = HashMap::new();
    for (&vm, lines) in logs {
        for line in lines.iter().filter(|l| l.message == "send") {
            let to = line.keys["to"]
                .split(' ')
                .map(|t| t.parse().unwrap())
                .collect();
            let previous = sends.insert((vm, line.get("seq")), (clock.at(line), to));
            assert!(previous.is_none(), "VM {vm} reused seq {}", line.get("seq"));
        }
    }
    sends
}

/// Within how many seconds of the schedule a fault line must come: exact
/// in virtual time (the 1 ms timer grid aside, and the virtual-time twins of
/// these tests hold the exact instants), a starved machine's slack on real
/// TCP: 0.25 s was once missed with the suite running at nice 19 under a load
/// of 10 on 2 cores. The counts and clocks asserted after it do not depend on
/// timing.
fn slack(virtual_time: bool) -> f64 {
    if virtual_time {
        0.001
    } else {
        1.0
    }
}

fn pause_makes_no_ticks_and_fills_the_queue(virtual_time: bool) {
    let dir = tempfile::tempdir().unwrap();
    let runtime = if virtual_time { 60.0 } else { 5.0 };
    let (from, until) = if virtual_time {
        (20.0, 40.0)
    } else {
        (1.5, 3.5)
    };
    let pause = Fault::Pause {
        vm: vid(2),
        from: secs(from),
        until: secs(until),
    };
    let (outcome, logs) = run_with(
        dir.path(),
        [6, 4, 8],
        runtime,
        vec![pause],
        virtual_time,
        11,
    );
    assert!(outcome.healthy(), "{:?}", outcome.accounting());
    let clock = Clock::of(&outcome, &logs);
    let vm2 = &logs[&2];
    let start = fault_line(vm2, "fault_start", 1);
    let end = fault_line(vm2, "fault_end", 1);
    assert_eq!(start.keys["kind"], "pause");
    assert!(
        (clock.at(start) - from).abs() <= slack(virtual_time),
        "{start:?}"
    );
    assert!(
        (clock.at(end) - until).abs() <= slack(virtual_time),
        "{end:?}"
    );
    // No event in the window, and the lines between the two are none.
    let inside: Vec<&Line> = events(vm2)
        .filter(|l| l.number > start.number && l.number < end.number)
        .collect();
    assert!(inside.is_empty(), "events during the pause: {inside:?}");
    assert_eq!(end.number, start.number + 1);
    // The clock stood still, the mailbox filled.
    assert_eq!(start.get("lc"), end.get("lc"));
    assert!(
        end.get("queue") > start.get("queue") + 3,
        "{start:?} {end:?}"
    );
    // Every tick outside the window, none made up after it.
    let ticks = events(vm2).count() as u64;
    assert_eq!(ticks, expected_ticks(&vm2[0], runtime, &[(from, until)]));
    assert_eq!(vm2.last().unwrap().get("ticks"), ticks);
    for vm in [1, 3] {
        let lines = &logs[&vm];
        assert!(
            lines.iter().all(|l| !l.message.starts_with("fault")),
            "VM {vm}"
        );
        assert_eq!(
            events(lines).count() as u64,
            expected_ticks(&lines[0], runtime, &[])
        );
    }
    let (sent, rest, by_fault) = books(&logs);
    assert_eq!(sent, rest);
    assert!(by_fault.is_empty(), "a pause drops nothing");
    let reported = analyzed(&outcome);
    let all_ticks = expected_ticks(&vm2[0], runtime, &[]);
    assert_eq!(reported[0].ticks_skipped, Some(all_ticks - ticks));
}

#[test]
fn a_pause_in_virtual_time_skips_exactly_its_ticks() {
    pause_makes_no_ticks_and_fills_the_queue(true);
}

#[test]
fn a_pause_on_tcp_skips_exactly_its_ticks() {
    pause_makes_no_ticks_and_fills_the_queue(false);
}

fn groups() -> Vec<Vec<VmId>> {
    vec![vec![vid(1)], vec![vid(2), vid(3)]]
}

/// A healthy run of VMs at 5, 7 and 9 ticks/s with VM 1 cut off from the
/// others in `window`.
fn partitioned(
    dir: &Path,
    mode: PartitionMode,
    (from, until): (f64, f64),
    runtime: f64,
    virtual_time: bool,
    seed: u64,
) -> (RunOutcome, Logs, Clock) {
    let partition = Fault::Partition {
        groups: groups(),
        from: secs(from),
        until: secs(until),
        mode,
    };
    let (outcome, logs) = run_with(dir, [5, 7, 9], runtime, vec![partition], virtual_time, seed);
    assert!(outcome.healthy(), "{:?}", outcome.accounting());
    let clock = Clock::of(&outcome, &logs);
    (outcome, logs, clock)
}

fn across(a: u64, b: u64) -> bool {
    (a == 1) != (b == 1)
}

fn held_partition_lets_nothing_across(virtual_time: bool) {
    let dir = tempfile::tempdir().unwrap();
    let (from, until) = if virtual_time {
        (10.0, 30.0)
    } else {
        (1.0, 3.0)
    };
    let runtime = if virtual_time { 60.0 } else { 5.0 };
    let (outcome, logs, clock) = partitioned(
        dir.path(),
        PartitionMode::Hold,
        (from, until),
        runtime,
        virtual_time,
        5,
    );
    for lines in logs.values() {
        let start = fault_line(lines, "fault_start", 1);
        assert_eq!(start.keys["groups"], "1|2 3");
        assert_eq!(start.keys["mode"], "hold");
        assert!((clock.at(start) - from).abs() <= slack(virtual_time));
        let end = fault_line(lines, "fault_end", 1);
        assert!((clock.at(end) - until).abs() <= slack(virtual_time));
    }
    let sends = sends(&logs, &clock);
    let mut held = 0;
    for (&vm, lines) in &logs {
        let end = clock.at(fault_line(lines, "fault_end", 1));
        for line in lines.iter().filter(|l| l.message == "receive") {
            let from_vm = line.get("from");
            let (sent_at, _) = sends[&(from_vm, line.get("seq"))];
            if across(vm, from_vm) && sent_at >= from && sent_at < until {
                held += 1;
                assert!(
                    clock.at(line) >= end,
                    "VM {vm} line {}: crossed the partition at {}",
                    line.number,
                    clock.at(line)
                );
            }
        }
    }
    assert!(
        held >= 5,
        "only {held} messages were held: the test proves little"
    );
    let (sent, rest, by_fault) = books(&logs);
    assert_eq!(sent, rest);
    assert!(by_fault.is_empty(), "a held partition drops nothing");
    assert!(logs.values().all(|l| l.last().unwrap().get("dropped") == 0));
    let reported = analyzed(&outcome);
    assert_eq!(reported[0].dropped, 0);
    assert!(reported[0].partition.is_some());
}

#[test]
fn a_held_partition_in_virtual_time_lets_nothing_across() {
    held_partition_lets_nothing_across(true);
}

#[test]
fn a_held_partition_on_tcp_lets_nothing_across() {
    held_partition_lets_nothing_across(false);
}

fn dropping_partition_counts_what_it_drops(virtual_time: bool) {
    let dir = tempfile::tempdir().unwrap();
    let (from, until) = if virtual_time {
        (5.0, 20.0)
    } else {
        (1.0, 2.5)
    };
    let runtime = if virtual_time { 30.0 } else { 4.0 };
    let (outcome, logs, clock) = partitioned(
        dir.path(),
        PartitionMode::Drop,
        (from, until),
        runtime,
        virtual_time,
        8,
    );
    let sends = sends(&logs, &clock);
    let crossing: u64 = sends
        .iter()
        .filter(|&(_, &(at, _))| at >= from && at < until)
        .map(|(&(vm, _), (_, to))| to.iter().filter(|&&t| across(vm, t)).count() as u64)
        .sum();
    let mut received_across: Vec<(u64, f64)> = Vec::new();
    for (&vm, lines) in &logs {
        for l in lines.iter().filter(|l| l.message == "receive") {
            let sent_at = sends[&(l.get("from"), l.get("seq"))].0;
            if across(vm, l.get("from")) && sent_at >= from && sent_at < until {
                received_across.push((vm, sent_at));
            }
        }
    }
    let (sent, rest, by_fault) = books(&logs);
    assert_eq!(sent, rest);
    let dropped: u64 = logs
        .values()
        .map(|l| l.last().unwrap().get("dropped"))
        .sum();
    assert_eq!(
        by_fault.get(&1).copied().unwrap_or(0),
        dropped,
        "all owed to fault 1"
    );
    assert!(dropped >= 5, "only {dropped} dropped");
    assert_eq!(analyzed(&outcome)[0].dropped, dropped);
    if virtual_time {
        // No delay: a message arrives the instant it is sent, so exactly
        // the messages sent across the cut in the window are lost.
        assert!(received_across.is_empty(), "{received_across:?}");
        assert_eq!(dropped, crossing);
    } else {
        // A message sent just before the window's end may arrive after it.
        let late: Vec<_> = received_across
            .iter()
            .filter(|(_, at)| *at < until - 0.05)
            .collect();
        assert!(late.is_empty(), "crossed the cut: {late:?}");
        assert!(
            dropped <= crossing + 3 && dropped + 3 >= crossing,
            "{dropped} of {crossing}"
        );
    }
}

#[test]
fn a_dropping_partition_in_virtual_time_loses_exactly_what_would_cross() {
    dropping_partition_counts_what_it_drops(true);
}

#[test]
fn a_dropping_partition_on_tcp_counts_what_it_drops() {
    dropping_partition_counts_what_it_drops(false);
}

fn crash_and_restart(virtual_time: bool, clock_on_restart: RestartClock) {
    let dir = tempfile::tempdir().unwrap();
    let runtime = if virtual_time { 40.0 } else { 6.0 };
    let (at, restart) = if virtual_time {
        (10.0, 20.0)
    } else {
        (1.5, 3.0)
    };
    let crash = Fault::Crash {
        vm: vid(3),
        at: secs(at),
        restart: Some(secs(restart)),
        clock: clock_on_restart,
    };
    // No VM overloaded, so every VM keeps sending to every other.
    let (outcome, logs) = run_with_p(
        dir.path(),
        [10, 9, 10],
        0.5,
        runtime,
        vec![crash],
        virtual_time,
        3,
    );
    assert!(outcome.healthy(), "{:?}", outcome.accounting());
    let clock = Clock::of(&outcome, &logs);
    let vm3 = &logs[&3];
    let down = fault_line(vm3, "fault_start", 1);
    let up = fault_line(vm3, "fault_end", 1);
    assert_eq!(down.keys["kind"], "crash");
    assert!((clock.at(down) - at).abs() <= slack(virtual_time));
    assert!((clock.at(up) - restart).abs() <= slack(virtual_time));
    assert!(events(vm3).all(|l| l.number < down.number || l.number > up.number));
    assert_eq!(
        events(vm3).count() as u64,
        expected_ticks(&vm3[0], runtime, &[(at, restart)])
    );
    // The clock it comes back with, and its first event after.
    let first_after = events(vm3).find(|l| l.number > up.number).unwrap();
    match clock_on_restart {
        RestartClock::Reset => {
            assert_eq!(up.get("lc"), 0);
            let expected = match first_after.message.as_str() {
                "receive" => first_after.get("msg_lc") + 1,
                _ => 1,
            };
            assert_eq!(first_after.get("lc"), expected, "{first_after:?}");
        }
        RestartClock::Keep => {
            assert_eq!(up.get("lc"), down.get("lc"));
            assert!(first_after.get("lc") > up.get("lc"));
        }
    }
    assert_eq!(up.get("queue"), 0, "it comes back with an empty queue");
    // What it held at the crash, and what came while it was down, is lost.
    let lost = up.get("lost");
    assert!(lost >= down.get("queue"), "{down:?} {up:?}");
    // Its peers saw a lost peer, and it is back in the mesh afterwards:
    // each peer receives from it, and it from each peer.
    for vm in [1, 2] {
        let lines = &logs[&vm];
        assert!(
            lines.iter().any(|l| l.level == "WARN"
                && l.message.contains("lost the connection from VM 3")
                && clock.at(l) >= at - slack(virtual_time)),
            "VM {vm} saw no lost peer: {:?}",
            lines
                .iter()
                .filter(|l| l.level == "WARN")
                .collect::<Vec<_>>()
        );
        assert!(
            lines.iter().all(|l| !l.message.starts_with("fault")),
            "VM {vm}"
        );
        let from3_after = lines
            .iter()
            .filter(|l| l.message == "receive" && l.get("from") == 3)
            .filter(|l| clock.at(l) > restart)
            .count();
        assert!(
            from3_after > 0,
            "VM {vm} heard nothing from VM 3 after its restart"
        );
        let to3_after = events(vm3)
            .filter(|l| l.message == "receive" && l.get("from") == vm && l.number > up.number)
            .count();
        assert!(
            to3_after > 0,
            "VM 3 heard nothing from VM {vm} after its restart"
        );
    }
    // The books balance, every drop owed to the crash.
    let (sent, rest, by_fault) = books(&logs);
    assert_eq!(sent, rest);
    let dropped: u64 = logs
        .values()
        .map(|l| l.last().unwrap().get("dropped"))
        .sum();
    assert_eq!(by_fault.get(&1).copied().unwrap_or(0), dropped);
    assert!(dropped >= lost, "dropped {dropped}, lost {lost}");
    if virtual_time {
        // Its peers learn of the crash at once: nothing arrives while it
        // is down, so what it lost is the queue it held.
        assert_eq!(lost, down.get("queue"));
    }
    // Message numbers go on across the crash.
    let _ = sends(&logs, &clock);
    // The analyzer owes the reset's clock-condition breaks to the crash,
    // and finds the run healthy all the same.
    let reported = analyzed(&outcome);
    assert_eq!(reported[0].dropped, dropped);
    assert_eq!(reported[0].lost, Some(lost));
    match clock_on_restart {
        RestartClock::Reset => assert!(reported[0].expected_findings > 0, "{:?}", reported[0]),
        RestartClock::Keep => assert_eq!(reported[0].expected_findings, 0),
    }
}

#[test]
fn a_crash_with_reset_in_virtual_time_loses_its_queue_and_rejoins() {
    crash_and_restart(true, RestartClock::Reset);
}

#[test]
fn a_crash_keeping_its_clock_in_virtual_time_rejoins() {
    crash_and_restart(true, RestartClock::Keep);
}

#[test]
fn a_crash_with_reset_on_tcp_loses_its_queue_and_rejoins() {
    crash_and_restart(false, RestartClock::Reset);
}

fn crash_for_good(virtual_time: bool) {
    let dir = tempfile::tempdir().unwrap();
    let runtime = if virtual_time { 30.0 } else { 4.0 };
    let at = if virtual_time { 10.0 } else { 1.5 };
    let crash = Fault::Crash {
        vm: vid(1),
        at: secs(at),
        restart: None,
        clock: RestartClock::Keep,
    };
    // VM 1 is slow and overloaded: it has a queue to lose.
    let (outcome, logs) = run_with(dir.path(), [2, 8, 7], runtime, vec![crash], virtual_time, 9);
    assert!(outcome.healthy(), "{:?}", outcome.accounting());
    let clock = Clock::of(&outcome, &logs);
    let vm1 = &logs[&1];
    let down = fault_line(vm1, "fault_start", 1);
    assert!(vm1.iter().all(|l| l.message != "fault_end"));
    assert!(events(vm1).all(|l| l.number < down.number));
    let stop1 = vm1.last().unwrap();
    assert!(down.get("queue") > 0, "{down:?}");
    assert_eq!(stop1.get("queue"), 0, "the queue went down with the VM");
    assert!(stop1.get("dropped") >= down.get("queue"), "{stop1:?}");
    // Every VM still stops with the run, the crashed one included.
    for lines in logs.values() {
        let stop = lines.last().unwrap();
        assert!(
            (clock.at(stop) - runtime).abs() <= slack(virtual_time) + 0.5,
            "{stop:?}"
        );
    }
    let (sent, rest, by_fault) = books(&logs);
    assert_eq!(sent, rest);
    let dropped: u64 = logs
        .values()
        .map(|l| l.last().unwrap().get("dropped"))
        .sum();
    assert_eq!(by_fault.get(&1).copied().unwrap_or(0), dropped);
    // Its peers kept sending to it and counted what they sent as dropped.
    let peers_dropped: u64 = [2, 3]
        .iter()
        .map(|vm| logs[vm].last().unwrap().get("dropped"))
        .sum();
    assert!(peers_dropped > 0);
}

#[test]
fn a_crash_for_good_in_virtual_time_is_a_lost_peer_with_its_drops_counted() {
    crash_for_good(true);
}

#[test]
fn a_crash_for_good_on_tcp_is_a_lost_peer_with_its_drops_counted() {
    crash_for_good(false);
}

/// All three kinds at once, twice with one seed: the same bytes.
#[test]
fn a_run_with_faults_in_virtual_time_is_byte_identical_per_seed() {
    let faults = || {
        vec![
            Fault::Partition {
                groups: groups(),
                from: secs(5.0),
                until: secs(15.0),
                mode: PartitionMode::Hold,
            },
            Fault::Pause {
                vm: vid(2),
                from: secs(20.0),
                until: secs(25.0),
            },
            Fault::Crash {
                vm: vid(3),
                at: secs(30.0),
                restart: Some(secs(35.0)),
                clock: RestartClock::Reset,
            },
            Fault::Partition {
                groups: vec![vec![vid(1), vid(2)], vec![vid(3)]],
                from: secs(40.0),
                until: secs(45.0),
                mode: PartitionMode::Drop,
            },
        ]
    };
    let texts = |dir: &Path| {
        let (outcome, _) = run_with(dir, [6, 2, 5], 60.0, faults(), true, 21);
        assert!(outcome.healthy());
        assert_eq!(analyzed(&outcome).len(), 4);
        (1..=3)
            .map(|vm| {
                std::fs::read_to_string(outcome.run_dir.join(format!("vm-{vm}.log"))).unwrap()
            })
            .collect::<Vec<_>>()
    };
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = texts(a.path());
    assert_eq!(first, texts(b.path()));
    for (vm, text) in first.iter().enumerate() {
        let kinds = ["fault_start", "fault_end"];
        for kind in kinds {
            assert!(text.contains(kind), "VM {} has no {kind}", vm + 1);
        }
    }
}

/// A tick due just before a partition's end may fire with it (here on the
/// same 1 ms timer step): the end line comes first, so no event stamped at
/// or after the window's end stands before it, where a message the
/// partition held would look as if it had crossed.
#[test]
fn a_partition_end_is_logged_before_a_tick_that_fires_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        vm_count: 3,
        runtime: 12.0,
        log_dir: dir.path().to_path_buf(),
        rates: vec![3, 3, 3],
        internal_probability: 0.3,
        virtual_time: true,
        tick_phase: lc_core::schedule::TickPhase::Aligned,
        ..Settings::default()
    };
    let mut spec = settings.resolve(|| 4).unwrap();
    // Tick 31 of every VM is due at 10.33333 s, a sixth of a millisecond
    // before the end: both wait for the same millisecond step of the timer.
    spec.faults = FaultPlan::new(vec![Fault::Partition {
        groups: groups(),
        from: secs(5.0),
        until: secs(10.3335),
        mode: PartitionMode::Hold,
    }]);
    let outcome = run::run(spec, RunOptions::default()).unwrap();
    assert!(outcome.healthy());
    for (vm, lines) in read_logs(&outcome.run_dir) {
        let end = fault_line(&lines, "fault_end", 1);
        let early: Vec<&Line> = events(&lines)
            .filter(|l| l.number < end.number && l.micros() >= end.micros())
            .collect();
        assert!(early.is_empty(), "VM {vm}: {early:?} before {end:?}");
        let tick_31 = events(&lines).nth(30).unwrap();
        assert!(
            tick_31.number > end.number,
            "VM {vm}: the tick fired apart from the end: {} {} / {} {}",
            tick_31.time,
            tick_31.message,
            end.time,
            end.message
        );
    }
}

/// What one VM did, in order: each event as (kind, Lamport clock) and each
/// fault mark as (`fault_start`/`fault_end`, fault, Lamport clock).
type Trace = Vec<(String, u64, u64)>;

/// Records a simulated run as [`Trace`]s and its drops by fault.
#[derive(Default)]
struct Traces {
    by_vm: BTreeMap<u64, Trace>,
    dropped_by_fault: BTreeMap<u64, u64>,
}

impl Observer for Traces {
    fn event(&mut self, vm: VmId, _: Duration, logged: &Logged, _: Option<&VectorClock>) {
        let kind = match logged.event {
            Event::Send { .. } => "send",
            Event::Receive { .. } => "receive",
            Event::Internal { .. } => "internal",
        };
        let trace = self.by_vm.entry(u64::from(vm)).or_default();
        trace.push((kind.to_string(), 0, logged.event.lc()));
    }
    fn stop(&mut self, _: VmId, _: Duration, summary: &StopSummary) {
        for (&fault, &n) in &summary.dropped_by_fault {
            *self.dropped_by_fault.entry(fault as u64).or_default() += n;
        }
    }
    fn fault(&mut self, vm: VmId, _: Duration, edge: &FaultEdge) {
        let kind = match edge.mark.edge {
            Edge::Start => "fault_start",
            Edge::End => "fault_end",
        };
        let trace = self.by_vm.entry(u64::from(vm)).or_default();
        trace.push((kind.to_string(), edge.mark.fault as u64, edge.lc));
    }
}

/// The simulation drives the fault timeline the VM actor drives: a virtual
/// run and a simulated run of the same spec, with every kind of fault, no
/// latency and ticks out of phase (so nothing coincides), show each VM
/// doing the same things in the same order, with the same Lamport clocks,
/// and the same drops owed to each fault.
#[test]
fn a_simulated_run_with_every_fault_kind_matches_the_virtual_run() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        vm_count: 4,
        runtime: 60.0,
        log_dir: dir.path().to_path_buf(),
        rates: vec![5, 2, 6, 3],
        internal_probability: 0.4,
        virtual_time: true,
        ..Settings::default()
    };
    let mut spec = settings.resolve(|| 17).unwrap();
    let at = |s: f64| secs(s);
    spec.faults = FaultPlan::new(vec![
        Fault::Partition {
            groups: vec![vec![vid(1)], vec![vid(2), vid(3), vid(4)]],
            from: at(5.0),
            until: at(12.0),
            mode: PartitionMode::Hold,
        },
        Fault::Partition {
            groups: vec![vec![vid(1), vid(2)], vec![vid(3), vid(4)]],
            from: at(14.0),
            until: at(18.0),
            mode: PartitionMode::Drop,
        },
        Fault::Pause {
            vm: vid(2),
            from: at(20.0),
            until: at(26.0),
        },
        Fault::Crash {
            vm: vid(3),
            at: at(28.0),
            restart: Some(at(33.0)),
            clock: RestartClock::Reset,
        },
        Fault::Crash {
            vm: vid(4),
            at: at(36.0),
            restart: Some(at(41.0)),
            clock: RestartClock::Keep,
        },
        Fault::Crash {
            vm: vid(1),
            at: at(50.0),
            restart: None,
            clock: RestartClock::Keep,
        },
    ]);
    let sim_spec = SimSpec {
        rates: spec.rates.clone(),
        seed: spec.seed,
        internal_probability: spec.internal_probability,
        latency: spec.latency.clone(),
        tick_phase: spec.tick_phase,
        vector_clocks: spec.vector_clocks,
    };
    let leads = draw_tick_leads(spec.seed, &spec.rates, spec.tick_phase);
    assert_eq!(
        leads, spec.tick_leads,
        "the simulation draws the run's phases"
    );
    let mut simulated = Traces::default();
    Simulation::new(&sim_spec)
        .with_faults(spec.faults.clone())
        .run(Until::Time(spec.runtime), &mut simulated);

    let outcome = run::run(spec, RunOptions::default()).unwrap();
    assert!(outcome.healthy());
    let logs = read_logs(&outcome.run_dir);
    let traced: BTreeMap<u64, Trace> = logs
        .iter()
        .map(|(&vm, lines)| {
            let trace = lines
                .iter()
                .filter_map(|l| match l.message.as_str() {
                    "send" | "receive" | "internal" => Some((l.message.clone(), 0, l.get("lc"))),
                    "fault_start" | "fault_end" => {
                        Some((l.message.clone(), l.get("fault"), l.get("lc")))
                    }
                    _ => None,
                })
                .collect();
            (vm, trace)
        })
        .collect();
    for (vm, trace) in &traced {
        let simulated = &simulated.by_vm[vm];
        let kinds = |t: &Trace, kind: &str| t.iter().filter(|e| e.0 == kind).count();
        for kind in ["receive", "fault_start"] {
            assert!(kinds(trace, kind) > 0, "VM {vm} has no {kind}");
        }
        let first_apart = trace.iter().zip(simulated).position(|(a, b)| a != b);
        assert!(
            first_apart.is_none() && trace.len() == simulated.len(),
            "VM {vm}: the runs part at entry {first_apart:?} of {} (actors) and {} (simulated): {:?} / {:?}",
            trace.len(),
            simulated.len(),
            first_apart.map(|i| &trace[i]),
            first_apart.map(|i| &simulated[i]),
        );
    }
    let (_, _, dropped_by_fault) = books(&logs);
    assert_eq!(dropped_by_fault, simulated.dropped_by_fault);
    assert!(
        dropped_by_fault.contains_key(&2),
        "the drop partition dropped"
    );
}
