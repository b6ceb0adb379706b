//! A hand-made two-VM run whose every figure is worked out by hand, and corrupted copies of it
//! that must each be caught at the right file and line.
//!
//! The run (times are seconds after 17:00:00; VM 1 ticks every 0.1 s, VM 2 less regularly):
//! VM 1 sends seq 1 at 0.10 (lc 1), does internal events at 0.15 and 0.20, sends seq 2 at 0.30
//! (lc 4), receives VM 2's seq 1 at 0.40 (lc 5) and does an internal event at 0.50 (lc 6).
//! VM 2 receives seq 1 at 0.25 (lc 2), sends seq 1 to VM 1 at 0.35 (lc 3), receives seq 2 at
//! 0.45 (lc 5). Both stop at 0.60 with empty queues. Every message is taken at the first tick
//! after it arrives, so no event is logged with a message waiting.

use crate::common::vid;
use std::fs;
use std::path::PathBuf;

use crate::common::{analyze_without_plots as analyze, found, with_line};
use lc_analysis::Rule;

const VM1: &str = "\
2026-11-25T17:00:00.000000Z INFO start, addr: 127.0.0.1:7001, rate: 10, vm: 1
2026-11-25T17:00:00.100000Z INFO send, to: 2, seq: 1, queue: 0, lc: 1, vm: 1
2026-11-25T17:00:00.150000Z INFO internal, queue: 0, lc: 2, vm: 1
2026-11-25T17:00:00.200000Z INFO internal, queue: 0, lc: 3, vm: 1
2026-11-25T17:00:00.300000Z INFO send, to: 2, seq: 2, queue: 0, lc: 4, vm: 1
2026-11-25T17:00:00.400000Z INFO receive, from: 2, seq: 1, msg_lc: 3, queue: 0, lc: 5, vm: 1
2026-11-25T17:00:00.500000Z INFO internal, queue: 0, lc: 6, vm: 1
2026-11-25T17:00:00.600000Z INFO stop, queue: 0, internal: 3, received: 1, sent: 2, ticks: 6, vm: 1
";

const VM2: &str = "\
2026-11-25T17:00:00.000000Z INFO start, addr: 127.0.0.1:7002, rate: 4, vm: 2
2026-11-25T17:00:00.250000Z INFO receive, from: 1, seq: 1, msg_lc: 1, queue: 0, lc: 2, vm: 2
2026-11-25T17:00:00.350000Z INFO send, to: 1, seq: 1, queue: 0, lc: 3, vm: 2
2026-11-25T17:00:00.450000Z INFO receive, vm: 2, lc: 5, queue: 0, msg_lc: 4, seq: 2, from: 1
2026-11-25T17:00:00.500000Z WARN peer 1 slow, retrying, vm: 2
2026-11-25T17:00:00.600000Z INFO stop, dropped: 0, queue: 0, internal: 0, received: 2, sent: 1, ticks: 3, vm: 2
";

const SETTINGS: &str = "\
vm_count = 2
runtime = 0.6
seed = 42
rates = [10, 4]
internal_probability = 0.7
a_future_key = true
";

fn write_run(vm1: &str, vm2: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("20261125-170000");
    fs::create_dir(&run).unwrap();
    fs::write(run.join("vm-1.log"), vm1).unwrap();
    fs::write(run.join("vm-2.log"), vm2).unwrap();
    fs::write(run.join("settings.toml"), SETTINGS).unwrap();
    (tmp, run)
}

/// Inserts `line` so that it becomes line `n`.
fn with_inserted(text: &str, n: usize, line: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(n - 1, line);
    lines.join("\n") + "\n"
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn the_clean_run_is_healthy_with_the_hand_worked_figures() {
    let (_tmp, run) = write_run(VM1, VM2);
    let a = analyze(&run);
    assert!(a.is_healthy(), "{}", a.report());
    assert!(a.violations().is_empty());
    let s = a.summary();

    assert_eq!(s.run_id, "20261125-170000");
    assert_eq!(s.settings.seed, Some(42));
    assert_eq!(s.settings.vm_count, Some(2));
    assert_eq!(s.settings.rates, Some(vec![10.0, 4.0]));
    assert_eq!(s.lines, 14);
    assert_eq!(s.ticks, 9);
    assert!(close(s.span_s, 0.6));
    assert_eq!(
        s.first_event.as_deref(),
        Some("2026-11-25T17:00:00.000000Z")
    );
    assert_eq!(s.warnings, 1);

    let (v1, v2) = (&s.vms[0], &s.vms[1]);
    assert_eq!((v1.vm, v2.vm), (vid(1), vid(2)));
    assert_eq!(
        (v1.configured_rate, v2.configured_rate),
        (Some(10.0), Some(4.0))
    );
    assert!(close(v1.measured_rate, 10.0) && close(v2.measured_rate, 5.0));
    assert_eq!((v1.ticks, v1.sent, v1.received, v1.internal), (6, 2, 1, 3));
    assert_eq!((v2.ticks, v2.sent, v2.received, v2.internal), (3, 1, 2, 0));
    assert_eq!((v1.final_clock, v2.final_clock), (6, 5));
    assert!(close(v2.clock_rate, 5.0 / 0.6));

    // Jumps: VM 1 always 1; VM 2 jumps 2, 1, 2.
    assert_eq!((v1.max_jump, v1.p95_jump), (1, 1));
    assert!(close(v1.mean_jump, 1.0));
    assert_eq!((v2.max_jump, v2.p95_jump), (2, 2));
    assert!(close(v2.mean_jump, 5.0 / 3.0));
    assert_eq!(v2.jump_histogram, vec![(1, 1), (2, 2)]);

    // Queue: no message ever waited for a second tick.
    assert_eq!(
        (v2.max_queue, v2.final_queue, v2.left_in_queue),
        (0, 0, Some(0))
    );
    assert!(close(v2.mean_queue, 0.0));

    // Waits: VM 2 waited 150 ms for both of its messages, VM 1 50 ms for its one.
    assert!(close(v2.wait_mean_ms, 150.0) && close(v2.wait_max_ms, 150.0));
    assert!(close(v2.wait_p95_ms, 150.0));
    assert!(close(v1.wait_mean_ms, 50.0) && close(v1.wait_max_ms, 50.0));
    assert!(close(v1.wait_p95_ms, 50.0));
    assert_eq!(s.waits.count, 3);
    assert!(close(s.waits.mean_ms, 350.0 / 3.0));

    // Drift on the 10 ms grid from 0 to 0.59 s: VM 1 never trails; VM 2 trails by 70 clock
    // units in total over 60 samples, at most 3 (between 0.20 and 0.25 s).
    assert_eq!(s.drift_samples, 60);
    assert!(close(v1.drift_mean, 0.0) && v1.drift_max == 0);
    assert!(close(v2.drift_mean, 70.0 / 60.0), "{}", v2.drift_mean);
    assert_eq!(v2.drift_max, 3);
    assert_eq!(s.lagging_vm, Some(vid(2)));

    let m = &s.messages;
    assert_eq!(
        (m.sent, m.received, m.left_in_queues, m.unaccounted),
        (3, 3, 0, 0)
    );
    assert!(s.check.healthy);
}

#[test]
fn events_csv_holds_every_event_in_time_order() {
    let (_tmp, run) = write_run(VM1, VM2);
    analyze(&run);
    let csv = fs::read_to_string(run.join("events.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows[0], "time,t_s,vm,kind,lc,queue,peer,seq,msg_lc,jump");
    assert_eq!(rows.len(), 1 + 13, "{csv}");
    assert_eq!(
        rows[1],
        "2026-11-25T17:00:00.000000Z,0.000000,1,start,,,,,,"
    );
    assert_eq!(
        rows[2],
        "2026-11-25T17:00:00.000000Z,0.000000,2,start,,,,,,"
    );
    assert_eq!(
        rows[3],
        "2026-11-25T17:00:00.100000Z,0.100000,1,send,1,0,2,1,,1"
    );
    assert_eq!(
        rows[6],
        "2026-11-25T17:00:00.250000Z,0.250000,2,receive,2,0,1,1,1,2"
    );
    assert_eq!(
        rows[13],
        "2026-11-25T17:00:00.600000Z,0.600000,2,stop,,0,,,,"
    );
    let times: Vec<&str> = rows[1..]
        .iter()
        .map(|r| r.split(',').next().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn summary_json_is_written_and_reads_back() {
    let (_tmp, run) = write_run(VM1, VM2);
    let a = analyze(&run);
    let text = fs::read_to_string(run.join("summary.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["vms"][1]["max_jump"], 2);
    assert_eq!(json["messages"]["unaccounted"], 0);
    assert_eq!(json["settings"]["seed"], 42);
    assert_eq!(json["lagging_vm"], 2);
    assert_eq!(json["check"]["healthy"], true);
    let back: lc_analysis::Summary = serde_json::from_value(json).unwrap();
    let s = a.summary();
    assert_eq!(back.messages, s.messages);
    assert_eq!(back.check, s.check);
    assert_eq!(back.vms[1].jump_histogram, s.vms[1].jump_histogram);
    assert_eq!(back.files, vec!["summary.json", "events.csv"]);
}

#[test]
fn a_broken_tick_step_is_caught_at_its_line() {
    let vm1 = with_line(
        VM1,
        7,
        "2026-11-25T17:00:00.500000Z INFO internal, queue: 0, lc: 8, vm: 1",
    );
    let (_tmp, run) = write_run(&vm1, VM2);
    let a = analyze(&run);
    assert!(!a.is_healthy());
    assert_eq!(found(&a), vec![("vm-1.log".into(), 7, Rule::TickStep)]);
    assert_eq!(
        a.violations()[0].to_string(),
        "vm-1.log:7: tick-step: internal set lc 8 after lc 5; expected 6"
    );
    assert!(a.report().contains("vm-1.log:7: tick-step"));
}

#[test]
fn a_broken_receive_rule_is_caught_at_its_line() {
    let vm2 = with_line(
        VM2,
        4,
        "2026-11-25T17:00:00.450000Z INFO receive, from: 1, seq: 2, msg_lc: 4, queue: 0, lc: 4, vm: 2",
    );
    let (_tmp, run) = write_run(VM1, &vm2);
    let a = analyze(&run);
    assert_eq!(
        found(&a),
        vec![
            ("vm-2.log".into(), 4, Rule::ReceiveRule),
            ("vm-2.log".into(), 4, Rule::ReceiveNotAfterSend),
        ]
    );
}

#[test]
fn a_receive_with_no_send_is_caught() {
    let vm1 = with_line(
        VM1,
        6,
        "2026-11-25T17:00:00.400000Z INFO receive, from: 2, seq: 9, msg_lc: 3, queue: 0, lc: 5, vm: 1",
    );
    let (_tmp, run) = write_run(&vm1, VM2);
    let a = analyze(&run);
    assert!(!a.is_healthy());
    assert_eq!(
        found(&a),
        vec![("vm-1.log".into(), 6, Rule::NoMatchingSend)]
    );
}

#[test]
fn a_duplicated_receive_is_caught_and_unbalances_the_accounts() {
    let vm2 = with_inserted(
        VM2,
        5,
        "2026-11-25T17:00:00.460000Z INFO receive, from: 1, seq: 2, msg_lc: 4, queue: 0, lc: 6, vm: 2",
    );
    let (_tmp, run) = write_run(VM1, &vm2);
    let a = analyze(&run);
    assert!(!a.is_healthy());
    assert_eq!(
        found(&a),
        vec![("vm-2.log".into(), 5, Rule::DuplicateReceive)]
    );
    assert_eq!(a.summary().messages.received, 4);
    assert_eq!(a.summary().messages.unaccounted, -1);
}

#[test]
fn a_msg_lc_that_differs_from_its_send_is_caught() {
    let vm2 = with_line(
        VM2,
        2,
        "2026-11-25T17:00:00.250000Z INFO receive, from: 1, seq: 1, msg_lc: 0, queue: 0, lc: 1, vm: 2",
    );
    let vm2 = with_line(
        &vm2,
        3,
        "2026-11-25T17:00:00.350000Z INFO send, to: 1, seq: 1, queue: 0, lc: 2, vm: 2",
    );
    let vm2 = with_line(
        &vm2,
        4,
        "2026-11-25T17:00:00.450000Z INFO receive, from: 1, seq: 2, msg_lc: 4, queue: 0, lc: 5, vm: 2",
    );
    let vm1 = with_line(
        VM1,
        6,
        "2026-11-25T17:00:00.400000Z INFO receive, from: 2, seq: 1, msg_lc: 2, queue: 0, lc: 5, vm: 1",
    );
    let (_tmp, run) = write_run(&vm1, &vm2);
    let a = analyze(&run);
    assert_eq!(
        found(&a),
        vec![
            ("vm-2.log".into(), 2, Rule::MsgLcMismatch),
            ("vm-2.log".into(), 2, Rule::ReceiveNotAfterSend),
        ]
    );
}

#[test]
fn a_receive_by_a_vm_that_was_not_addressed_is_caught() {
    let vm1 = with_line(
        VM1,
        2,
        "2026-11-25T17:00:00.100000Z INFO send, to: 3, seq: 1, queue: 0, lc: 1, vm: 1",
    );
    let (_tmp, run) = write_run(&vm1, VM2);
    let a = analyze(&run);
    assert_eq!(found(&a), vec![("vm-2.log".into(), 2, Rule::NotAddressed)]);
    // The message to VM 3 was never received; the counts still balance, because VM 2's stray
    // receive stands in for it.
    assert_eq!(a.summary().messages.unaccounted, 0);
    assert_eq!(a.summary().messages.never_received, 1);
}

#[test]
fn a_malformed_line_is_reported_and_the_rest_still_analysed() {
    let vm2 = with_line(
        VM2,
        3,
        "2026-11-25T17:00:00.350000Z INFO send, to: 1, seq: one, queue: 0, lc: 3, vm: 2",
    );
    let (_tmp, run) = write_run(VM1, &vm2);
    let a = analyze(&run);
    assert!(!a.is_healthy());
    // The lost send also leaves VM 1's receive of it without a send; VM 2's next receive is
    // not judged against a clock it cannot know.
    assert_eq!(
        found(&a),
        vec![
            ("vm-1.log".into(), 6, Rule::NoMatchingSend),
            ("vm-2.log".into(), 3, Rule::MalformedLine),
        ]
    );
    let bad = &a.violations()[1];
    assert_eq!(
        bad.to_string(),
        "vm-2.log:3: malformed-line: bad value for `seq`: `one`"
    );
    assert_eq!(a.summary().check.malformed_lines, 1);
    assert_eq!(a.summary().vms[1].malformed_lines, 1);
    assert_eq!(a.summary().vms[1].ticks, 2);
}

#[test]
fn garbage_lines_never_panic() {
    let vm2 = with_inserted(VM2, 3, "\u{fffd}\u{0}garbage, : , ,, :: \t");
    let vm2 = with_inserted(
        &vm2,
        3,
        "2026-99-99T99:99:99Z INFO internal, lc: 1, queue: 0, vm: 2",
    );
    let vm2 = with_inserted(&vm2, 3, "");
    let (_tmp, run) = write_run(VM1, &vm2);
    fs::write(run.join("vm-3.log"), [0xff, 0xfe, b'\n', b'x']).unwrap();
    let a = analyze(&run);
    let malformed: Vec<_> = found(&a)
        .into_iter()
        .filter(|f| f.2 == Rule::MalformedLine)
        .collect();
    assert_eq!(
        malformed,
        vec![
            ("vm-2.log".into(), 3, Rule::MalformedLine),
            ("vm-2.log".into(), 4, Rule::MalformedLine),
            ("vm-2.log".into(), 5, Rule::MalformedLine),
            ("vm-3.log".into(), 1, Rule::MalformedLine),
            ("vm-3.log".into(), 2, Rule::MalformedLine),
        ]
    );
}

#[test]
fn a_truncated_last_line_is_reported() {
    let cut = &VM1[..VM1.len() - 40];
    assert!(!cut.ends_with('\n'));
    let (_tmp, run) = write_run(cut, VM2);
    let a = analyze(&run);
    assert!(!a.is_healthy());
    assert_eq!(found(&a), vec![("vm-1.log".into(), 8, Rule::MalformedLine)]);
    assert!(a.violations()[0].detail.starts_with("truncated last line"));
    assert!(a
        .summary()
        .notes
        .iter()
        .any(|n| n.contains("vm-1.log has no stop line")));
}

#[test]
fn a_last_line_without_newline_that_parses_is_used_and_noted() {
    let (_tmp, run) = write_run(VM1.trim_end(), VM2);
    let a = analyze(&run);
    assert!(a.is_healthy(), "{}", a.report());
    assert!(a
        .summary()
        .notes
        .iter()
        .any(|n| n.starts_with("vm-1.log:8: last line has no newline")));
}

#[test]
fn lines_of_an_unknown_kind_are_skipped_and_noted() {
    let vm2 = with_inserted(
        VM2,
        3,
        "2026-11-25T17:00:00.300000Z INFO resync, peer: 1, vm: 2",
    );
    let (_tmp, run) = write_run(VM1, &vm2);
    let a = analyze(&run);
    assert!(a.is_healthy(), "{}", a.report());
    assert!(a.violations().is_empty());
    assert!(a.summary().notes.contains(
        &"vm-2.log:3: INFO line of unknown kind `resync` skipped (1 such lines in this file)"
            .to_string()
    ));
}

#[test]
fn a_line_in_the_wrong_file_is_caught() {
    let vm1 = with_line(
        VM1,
        3,
        "2026-11-25T17:00:00.150000Z INFO internal, queue: 0, lc: 2, vm: 7",
    );
    let (_tmp, run) = write_run(&vm1, VM2);
    let a = analyze(&run);
    assert_eq!(found(&a), vec![("vm-1.log".into(), 3, Rule::WrongVm)]);
}

#[test]
fn messages_lost_without_a_trace_are_unaccounted() {
    // VM 1's second message never arrives and VM 2's stop does not count it in its queue.
    let vm2 = with_line(
        VM2,
        4,
        "2026-11-25T17:00:00.450000Z INFO internal, queue: 0, lc: 4, vm: 2",
    );
    let (_tmp, run) = write_run(VM1, &vm2);
    let a = analyze(&run);
    assert!(a.violations().is_empty());
    assert!(!a.is_healthy());
    assert_eq!(a.summary().messages.unaccounted, 1);
    let report = a.report();
    assert!(report.contains("unaccounted 1"), "{report}");
    assert!(
        report.contains("vm 1 seq 2 to vm 2 (sent at vm-1.log:5)"),
        "{report}"
    );
}
