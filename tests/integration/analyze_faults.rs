//! `analyze` and faults (issue 14), on a hand-made three-VM run with every kind of fault, whose
//! every figure is worked out by hand, and on copies of it with one rule broken each.
//!
//! The run (virtual-time-like stamps, seconds after 2000-01-01T00:00:00; every VM at rate 10,
//! first tick at 0.1 s):
//! - fault 1, a held partition 1|2 3 over [0.3, 0.6): VM 1 sends seq 2 to VM 2 at 0.3 and VM 2
//!   sends seq 1 to VM 1 at 0.5, both inside the window; VM 2 takes its message at 0.6 (the end,
//!   just after its `fault_end` line), VM 1 at 0.7. The groups' highest clocks: 2 and 2 at the
//!   start lines, 4 against 2 at 0.4 (the largest gap), 4 and 3 at the end lines; at VM 3's end
//!   line (the last) VM 2 is at 4 again, so the gap is back to 0 at the end.
//! - fault 2, a pause of VM 2 over [0.8, 1.0): its ticks due at 0.8 and 0.9 are skipped.
//! - fault 3, a crash of VM 3 at 1.1 with restart at 1.3 and `clock: reset`: VM 1's seq 4 (sent
//!   at 1.0, waiting in VM 3's queue at the crash) and VM 2's seq 3 (sent at 1.2, while VM 3 is
//!   down) are lost. VM 3 restarts at lc 0: its internal event (lc 1), send (lc 2) and internal
//!   event (lc 3) after the restart each have VM 3's last event before the crash (line 7, lc 7)
//!   in their causal past: three expected clock-condition breaks, owed to fault 3. VM 1's receive
//!   of VM 3's send takes lc 9, above 7: no break.
//! - fault 4, a partition 1|3 in drop mode over [1.5, 1.7): VM 1's seq 5 to VM 3 at 1.6 is lost,
//!   counted at VM 3.
//!
//! Books: 10 messages sent (seq 1 of VM 1 to two VMs), 7 received, 0 left in queues, 3 dropped
//! (VM 3's `stop`: `dropped_by_fault: 3=2 4=1`).

use crate::common::vid;
use std::fs;
use std::path::PathBuf;

use crate::common::{analyze_without_plots as analyze, found, with_line};
use lc_analysis::{FaultSummary, Rule, RunAnalysis};

const VM1: &str = "\
2000-01-01T00:00:00.000000Z INFO start, addr: 127.0.0.1:7001, phase_ms: 100.000000, rate: 10, vm: 1
2000-01-01T00:00:00.100000Z INFO send, to: 2 3, seq: 1, queue: 0, lc: 1, vc: 1 0 0, vm: 1
2000-01-01T00:00:00.200000Z INFO internal, queue: 0, lc: 2, vc: 2 0 0, vm: 1
2000-01-01T00:00:00.300000Z INFO fault_start, fault: 1, kind: partition, groups: 1|2 3, from_s: 0.3, until_s: 0.6, mode: hold, queue: 0, lc: 2, vm: 1
2000-01-01T00:00:00.300000Z INFO send, to: 2, seq: 2, queue: 0, lc: 3, vc: 3 0 0, vm: 1
2000-01-01T00:00:00.400000Z INFO internal, queue: 0, lc: 4, vc: 4 0 0, vm: 1
2000-01-01T00:00:00.600000Z INFO fault_end, fault: 1, kind: partition, groups: 1|2 3, from_s: 0.3, until_s: 0.6, mode: hold, queue: 0, lc: 4, vm: 1
2000-01-01T00:00:00.700000Z INFO receive, from: 2, seq: 1, msg_lc: 3, queue: 0, lc: 5, vc: 5 2 0, vm: 1
2000-01-01T00:00:00.900000Z INFO send, to: 3, seq: 3, queue: 0, lc: 6, vc: 6 2 0, vm: 1
2000-01-01T00:00:01.000000Z INFO send, to: 3, seq: 4, queue: 0, lc: 7, vc: 7 2 0, vm: 1
2000-01-01T00:00:01.100000Z INFO internal, queue: 0, lc: 8, vc: 8 2 0, vm: 1
2000-01-01T00:00:01.500000Z INFO receive, from: 3, seq: 1, msg_lc: 2, queue: 0, lc: 9, vc: 9 2 2, vm: 1
2000-01-01T00:00:01.500000Z INFO fault_start, fault: 4, kind: partition, groups: 1|3, from_s: 1.5, until_s: 1.7, mode: drop, queue: 0, lc: 9, vm: 1
2000-01-01T00:00:01.600000Z INFO send, to: 3, seq: 5, queue: 0, lc: 10, vc: 10 2 2, vm: 1
2000-01-01T00:00:01.700000Z INFO fault_end, fault: 4, kind: partition, groups: 1|3, from_s: 1.5, until_s: 1.7, mode: drop, queue: 0, lc: 10, vm: 1
2000-01-01T00:00:01.800000Z INFO stop, dropped: 0, queue: 0, lc: 10, vm: 1
";

const VM2: &str = "\
2000-01-01T00:00:00.000000Z INFO start, addr: 127.0.0.1:7002, phase_ms: 100.000000, rate: 10, vm: 2
2000-01-01T00:00:00.200000Z INFO receive, from: 1, seq: 1, msg_lc: 1, queue: 0, lc: 2, vc: 1 1 0, vm: 2
2000-01-01T00:00:00.300000Z INFO fault_start, fault: 1, kind: partition, groups: 1|2 3, from_s: 0.3, until_s: 0.6, mode: hold, queue: 0, lc: 2, vm: 2
2000-01-01T00:00:00.500000Z INFO send, to: 1, seq: 1, queue: 0, lc: 3, vc: 1 2 0, vm: 2
2000-01-01T00:00:00.600000Z INFO fault_end, fault: 1, kind: partition, groups: 1|2 3, from_s: 0.3, until_s: 0.6, mode: hold, queue: 0, lc: 3, vm: 2
2000-01-01T00:00:00.600000Z INFO receive, from: 1, seq: 2, msg_lc: 3, queue: 0, lc: 4, vc: 3 3 0, vm: 2
2000-01-01T00:00:00.700000Z INFO send, to: 3, seq: 2, queue: 0, lc: 5, vc: 3 4 0, vm: 2
2000-01-01T00:00:00.800000Z INFO fault_start, fault: 2, kind: pause, from_s: 0.8, until_s: 1, queue: 0, lc: 5, vm: 2
2000-01-01T00:00:01.000000Z INFO fault_end, fault: 2, kind: pause, from_s: 0.8, until_s: 1, queue: 0, lc: 5, vm: 2
2000-01-01T00:00:01.000000Z INFO internal, queue: 0, lc: 6, vc: 3 5 0, vm: 2
2000-01-01T00:00:01.200000Z INFO send, to: 3, seq: 3, queue: 0, lc: 7, vc: 3 6 0, vm: 2
2000-01-01T00:00:01.800000Z INFO stop, dropped: 0, queue: 0, lc: 7, vm: 2
";

const VM3: &str = "\
2000-01-01T00:00:00.000000Z INFO start, addr: 127.0.0.1:7003, phase_ms: 100.000000, rate: 10, vm: 3
2000-01-01T00:00:00.200000Z INFO receive, from: 1, seq: 1, msg_lc: 1, queue: 0, lc: 2, vc: 1 0 1, vm: 3
2000-01-01T00:00:00.300000Z INFO fault_start, fault: 1, kind: partition, groups: 1|2 3, from_s: 0.3, until_s: 0.6, mode: hold, queue: 0, lc: 2, vm: 3
2000-01-01T00:00:00.400000Z INFO internal, queue: 0, lc: 3, vc: 1 0 2, vm: 3
2000-01-01T00:00:00.600000Z INFO fault_end, fault: 1, kind: partition, groups: 1|2 3, from_s: 0.3, until_s: 0.6, mode: hold, queue: 0, lc: 3, vm: 3
2000-01-01T00:00:00.800000Z INFO receive, from: 2, seq: 2, msg_lc: 5, queue: 0, lc: 6, vc: 3 4 3, vm: 3
2000-01-01T00:00:01.000000Z INFO receive, from: 1, seq: 3, msg_lc: 6, queue: 0, lc: 7, vc: 6 4 4, vm: 3
2000-01-01T00:00:01.100000Z INFO fault_start, fault: 3, kind: crash, at_s: 1.1, restart_s: 1.3, clock: reset, queue: 1, lc: 7, vm: 3
2000-01-01T00:00:01.300000Z INFO fault_end, fault: 3, kind: crash, at_s: 1.1, restart_s: 1.3, clock: reset, lost: 2, queue: 0, lc: 0, vm: 3
2000-01-01T00:00:01.300000Z INFO internal, queue: 0, lc: 1, vc: 0 0 1, vm: 3
2000-01-01T00:00:01.400000Z INFO send, to: 1, seq: 1, queue: 0, lc: 2, vc: 0 0 2, vm: 3
2000-01-01T00:00:01.500000Z INFO fault_start, fault: 4, kind: partition, groups: 1|3, from_s: 1.5, until_s: 1.7, mode: drop, queue: 0, lc: 2, vm: 3
2000-01-01T00:00:01.600000Z INFO internal, queue: 0, lc: 3, vc: 0 0 3, vm: 3
2000-01-01T00:00:01.700000Z INFO fault_end, fault: 4, kind: partition, groups: 1|3, from_s: 1.5, until_s: 1.7, mode: drop, queue: 0, lc: 3, vm: 3
2000-01-01T00:00:01.800000Z INFO stop, dropped_by_fault: 3=2 4=1, dropped: 3, queue: 0, lc: 3, vm: 3
";

fn write_run(vm1: &str, vm2: &str, vm3: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("2000-01-01T00-00-00.000000Z");
    fs::create_dir(&run).unwrap();
    for (vm, log) in [(1, vm1), (2, vm2), (3, vm3)] {
        fs::write(run.join(format!("vm-{vm}.log")), log).unwrap();
    }
    fs::write(
        run.join("settings.toml"),
        "vm_count = 3\nrates = [10, 10, 10]\n",
    )
    .unwrap();
    (tmp, run)
}

fn at(file: &str, line: usize, rule: Rule) -> (String, usize, Rule) {
    (file.to_string(), line, rule)
}

fn fault(a: &RunAnalysis, n: usize) -> &FaultSummary {
    a.summary().faults.iter().find(|f| f.fault == n).unwrap()
}

#[test]
fn every_fault_is_summed_up_and_the_run_stays_healthy() {
    let (_tmp, run) = write_run(VM1, VM2, VM3);
    let a = analyze(&run);
    let report = a.report();
    assert!(a.is_healthy(), "{report}");
    assert!(a.violations().is_empty(), "{report}");
    let s = a.summary();
    assert_eq!(
        s.faults.iter().map(|f| f.fault).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );

    let held = fault(&a, 1);
    assert_eq!(
        (held.kind.as_str(), &held.vms[..]),
        ("partition", &[vid(1), vid(2), vid(3)][..])
    );
    assert_eq!(
        held.parameters,
        "groups: 1|2 3, from_s: 0.3, until_s: 0.6, mode: hold"
    );
    assert_eq!((held.from_s, held.until_s), (0.3, Some(0.6)));
    assert_eq!(held.dropped, 0);
    let p = held.partition.as_ref().unwrap();
    assert_eq!(
        (p.mode.as_str(), p.sent_across, p.received_after_end),
        ("hold", 2, 2)
    );
    assert_eq!(
        (p.clock_gap_at_start, p.clock_gap_max, p.clock_gap_at_end),
        (Some(0), Some(2), Some(1))
    );
    assert_eq!(p.gap_recovered_after_s, Some(0.0));
    let lines: Vec<_> = held
        .lines
        .iter()
        .map(|l| {
            (
                l.vm.get(),
                l.start.as_deref(),
                l.end.as_deref(),
                l.lc_at_start,
                l.lc_at_end,
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            (1, Some("vm-1.log:4"), Some("vm-1.log:7"), Some(2), Some(4)),
            (2, Some("vm-2.log:3"), Some("vm-2.log:5"), Some(2), Some(3)),
            (3, Some("vm-3.log:3"), Some("vm-3.log:5"), Some(2), Some(3)),
        ]
    );

    let pause = fault(&a, 2);
    assert_eq!(
        (pause.kind.as_str(), &pause.vms[..]),
        ("pause", &[vid(2)][..])
    );
    assert_eq!(pause.ticks_skipped, Some(2));
    assert!(pause.partition.is_none() && pause.lost.is_none());

    let crash = fault(&a, 3);
    assert_eq!(
        (crash.lost, crash.dropped, crash.ticks_skipped),
        (Some(2), 2, Some(2))
    );
    assert_eq!(
        (crash.lines[0].queue_at_start, crash.lines[0].queue_at_end),
        (Some(1), Some(0))
    );
    let expected: Vec<&str> = crash.expected.iter().map(|e| e.at.as_str()).collect();
    assert_eq!(expected, ["vm-3.log:10", "vm-3.log:11", "vm-3.log:13"]);
    assert_eq!(crash.expected_findings, 3);
    assert_eq!(
        crash.expected[0].detail,
        "lc 1, but vm-3.log:7 (lc 7, VM 3's last event before the crash) happened before it"
    );

    let dropping = fault(&a, 4);
    assert_eq!(dropping.dropped, 1);
    let p = dropping.partition.as_ref().unwrap();
    assert_eq!(
        (p.mode.as_str(), p.sent_across, p.received_after_end),
        ("drop", 1, 0)
    );
    assert_eq!(
        (p.clock_gap_at_start, p.clock_gap_max, p.clock_gap_at_end),
        (Some(7), Some(8), Some(7))
    );

    // The books balance with the drops the faults explain.
    let m = &s.messages;
    assert_eq!(
        (m.sent, m.received, m.left_in_queues, m.dropped),
        (10, 7, 0, 3)
    );
    assert_eq!(m.unaccounted, 0);
    assert!(
        report.contains("dropped 3 (3 of them owed to faults), unaccounted 0"),
        "{report}"
    );
    assert!(report.contains("Faults: 4\n"), "{report}");
    assert!(
        report.contains("    expected findings owed to it (clock condition broken by the reset): 3\n      vm-3.log:10: lc 1, but vm-3.log:7"),
        "{report}"
    );
    assert!(report.contains("Healthy: yes"), "{report}");

    // summary.json carries the faults as written.
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!(json["faults"][2]["expected_findings"], 3);
    assert_eq!(json["faults"][1]["ticks_skipped"], 2);
    assert!(
        json["faults"][0].get("lost").is_none(),
        "only a crash has lost"
    );
}

#[test]
fn a_message_crossing_a_held_partition_inside_its_window_is_a_violation() {
    // VM 2 takes VM 1's held seq 2 at 0.55 s, before its window ends at 0.6 s.
    let vm2 = with_line(
        &with_line(
            VM2,
            5,
            "2000-01-01T00:00:00.550000Z INFO receive, from: 1, seq: 2, msg_lc: 3, queue: 0, lc: 4, vc: 3 3 0, vm: 2",
        ),
        6,
        "2000-01-01T00:00:00.600000Z INFO fault_end, fault: 1, kind: partition, groups: 1|2 3, from_s: 0.3, until_s: 0.6, mode: hold, queue: 0, lc: 4, vm: 2",
    );
    let (_tmp, run) = write_run(VM1, &vm2, VM3);
    let a = analyze(&run);
    assert_eq!(
        found(&a),
        [at("vm-2.log", 5, Rule::CrossedPartition)],
        "{}",
        a.report()
    );
    assert!(!a.is_healthy());
    let v = &a.violations()[0];
    assert!(v.detail.contains("seq 2 from VM 1 (vm-1.log:5"), "{v}");
    let p = fault(&a, 1).partition.clone().unwrap();
    assert_eq!((p.sent_across, p.received_after_end), (2, 1));
}

#[test]
fn a_paused_vm_logs_no_event_inside_its_window_but_may_at_its_end() {
    let end = "2000-01-01T00:00:01.000000Z INFO fault_end, fault: 2, kind: pause, from_s: 0.8, until_s: 1, queue: 0, lc: 6, vm: 2";
    let inside = "2000-01-01T00:00:00.900000Z INFO internal, queue: 0, lc: 6, vc: 3 5 0, vm: 2";
    let vm2 = with_line(&with_line(VM2, 9, inside), 10, end);
    let (_tmp, run) = write_run(VM1, &vm2, VM3);
    let a = analyze(&run);
    assert_eq!(
        found(&a),
        [at("vm-2.log", 9, Rule::EventWhileHalted)],
        "{}",
        a.report()
    );
    assert!(a.violations()[0].detail.contains("fault 2's pause window"));

    // The tick due exactly at the window's end happens, even logged just before the end line.
    let at_end = "2000-01-01T00:00:01.000000Z INFO internal, queue: 0, lc: 6, vc: 3 5 0, vm: 2";
    let vm2 = with_line(&with_line(VM2, 9, at_end), 10, end);
    let (_tmp, run) = write_run(VM1, &vm2, VM3);
    let a = analyze(&run);
    assert!(a.is_healthy(), "{}", a.report());
}

#[test]
fn a_crash_with_reset_owes_its_clock_breaks_to_the_fault_and_only_with_the_reset() {
    // Without the restart's line, VM 3's clock going back from 7 to 1 is a broken rule, and its
    // events after 1.3 s lie in a crash window that never ended.
    let vm3: String = VM3
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != 8)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let (_tmp, run) = write_run(VM1, VM2, &vm3);
    let a = analyze(&run);
    assert!(!a.is_healthy());
    let rules = found(&a);
    assert!(
        rules.contains(&at("vm-3.log", 9, Rule::ClockNotIncreasing)),
        "{rules:?}"
    );
    assert!(
        rules.contains(&at("vm-3.log", 9, Rule::VcOwnStep)),
        "{rules:?}"
    );
    assert!(
        rules.contains(&at("vm-3.log", 9, Rule::EventWhileHalted)),
        "{rules:?}"
    );
    assert_eq!(fault(&a, 3).expected_findings, 0);

    // A crash that keeps its clocks but whose VM comes back at 0 anyway: the restart's line
    // says 0 where the clock is 7, and the next event steps back.
    let keep = VM3.replace("clock: reset", "clock: keep");
    let (_tmp, run) = write_run(VM1, VM2, &keep);
    let rules = found(&analyze(&run));
    assert!(
        rules.contains(&at("vm-3.log", 9, Rule::FaultClock)),
        "{rules:?}"
    );
    assert!(
        rules.contains(&at("vm-3.log", 10, Rule::ClockNotIncreasing)),
        "{rules:?}"
    );
}

#[test]
fn only_the_first_event_after_a_reset_may_step_back() {
    // VM 3's internal event at 1.6 s goes back to lc 1 (vc 0 0 1) after lc 2: a real violation,
    // reset or not.
    let vm3 = with_line(
        VM3,
        13,
        "2000-01-01T00:00:01.600000Z INFO internal, queue: 0, lc: 2, vc: 0 0 2, vm: 3",
    );
    let vm3 = with_line(
        &vm3,
        14,
        "2000-01-01T00:00:01.700000Z INFO fault_end, fault: 4, kind: partition, groups: 1|3, from_s: 1.5, until_s: 1.7, mode: drop, queue: 0, lc: 2, vm: 3",
    );
    let vm3 = with_line(
        &vm3,
        15,
        "2000-01-01T00:00:01.800000Z INFO stop, dropped_by_fault: 3=2 4=1, dropped: 3, queue: 0, lc: 2, vm: 3",
    );
    let (_tmp, run) = write_run(VM1, VM2, &vm3);
    let a = analyze(&run);
    assert_eq!(
        found(&a),
        [
            at("vm-3.log", 13, Rule::ClockNotIncreasing),
            at("vm-3.log", 13, Rule::VcOwnStep)
        ],
        "{}",
        a.report()
    );
}

#[test]
fn a_fault_line_must_carry_the_clock_of_its_vm() {
    let vm1 = VM1.replace(
        "mode: hold, queue: 0, lc: 2, vm: 1",
        "mode: hold, queue: 0, lc: 3, vm: 1",
    );
    let (_tmp, run) = write_run(&vm1, VM2, VM3);
    let a = analyze(&run);
    assert_eq!(
        found(&a),
        [at("vm-1.log", 4, Rule::FaultClock)],
        "{}",
        a.report()
    );
}

#[test]
fn drops_owed_to_faults_never_exceed_the_drops() {
    let vm3 = with_line(
        VM3,
        15,
        "2000-01-01T00:00:01.800000Z INFO stop, dropped_by_fault: 3=2 4=1, dropped: 2, queue: 0, lc: 3, vm: 3",
    );
    let (_tmp, run) = write_run(VM1, VM2, &vm3);
    let a = analyze(&run);
    assert_eq!(
        found(&a),
        [at("vm-3.log", 15, Rule::FaultDropsExceedDropped)],
        "{}",
        a.report()
    );
    assert_eq!(a.summary().messages.unaccounted, 1);
}

#[test]
fn a_run_without_faults_reports_none() {
    // VM 1 and VM 2 of the run before fault 1, without fault lines.
    let vm1: String = VM1
        .lines()
        .take(3)
        .map(|l| format!("{l}\n"))
        .collect::<String>()
        + "2000-01-01T00:00:00.300000Z INFO stop, dropped: 0, queue: 0, lc: 2, vm: 1\n";
    let vm2: String = VM2
        .lines()
        .take(2)
        .map(|l| format!("{l}\n"))
        .collect::<String>()
        + "2000-01-01T00:00:00.300000Z INFO stop, dropped: 0, queue: 0, lc: 2, vm: 2\n";
    let vm3: String = VM3
        .lines()
        .take(2)
        .map(|l| format!("{l}\n"))
        .collect::<String>()
        + "2000-01-01T00:00:00.300000Z INFO stop, dropped: 0, queue: 0, lc: 2, vm: 3\n";
    let (_tmp, run) = write_run(&vm1, &vm2, &vm3);
    let a = analyze(&run);
    assert!(a.is_healthy(), "{}", a.report());
    assert!(a.summary().faults.is_empty());
    assert!(!a.report().contains("Fault"), "{}", a.report());
    assert!(!a.report().contains("owed to faults"));
    let json = fs::read_to_string(run.join("summary.json")).unwrap();
    assert!(!json.contains("\"faults\""), "{json}");
}
