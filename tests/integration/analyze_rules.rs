//! The model's rules beyond Lamport's, each broken alone in a hand-made run: `analyze` must exit
//! 1 and name the file and line, and `check_run` must find that rule and no other.
//!
//! The run (times are seconds after 17:00:00): VM 1 (10 ticks/s) sends seq 1 to VM 2, seq 2 to
//! VMs 2 and 3, seq 3 to VM 3, and receives VM 3's seq 1 at 0.9. VM 3 (5 ticks/s) receives
//! VM 1's seq 2 and seq 3, then sends seq 1 to VMs 1 and 2. VM 2 (2 ticks/s) is slow: at each
//! of its two ticks a message is still waiting behind the one it takes, and VM 3's message is
//! left in its queue at the stop.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use lc_analysis::{analyze_run, check_run, AnalyzeOptions, Rule, Violation};

const VM1: &str = "\
2026-11-25T17:00:00.000000Z INFO start, addr: 127.0.0.1:7001, rate: 10, vm: 1
2026-11-25T17:00:00.100000Z INFO send, to: 2, seq: 1, queue: 0, lc: 1, vm: 1
2026-11-25T17:00:00.200000Z INFO send, to: 2 3, seq: 2, queue: 0, lc: 2, vm: 1
2026-11-25T17:00:00.300000Z INFO internal, queue: 0, lc: 3, vm: 1
2026-11-25T17:00:00.400000Z INFO send, to: 3, seq: 3, queue: 0, lc: 4, vm: 1
2026-11-25T17:00:00.500000Z INFO internal, queue: 0, lc: 5, vm: 1
2026-11-25T17:00:00.600000Z INFO internal, queue: 0, lc: 6, vm: 1
2026-11-25T17:00:00.700000Z INFO internal, queue: 0, lc: 7, vm: 1
2026-11-25T17:00:00.800000Z INFO internal, queue: 0, lc: 8, vm: 1
2026-11-25T17:00:00.900000Z INFO receive, from: 3, seq: 1, msg_lc: 6, queue: 0, lc: 9, vm: 1
2026-11-25T17:00:01.000000Z INFO internal, queue: 0, lc: 10, vm: 1
2026-11-25T17:00:01.100000Z INFO internal, queue: 0, lc: 11, vm: 1
2026-11-25T17:00:01.200000Z INFO stop, dropped: 0, queue: 0, internal: 7, received: 1, sent: 4, ticks: 11, vm: 1
";

const VM2: &str = "\
2026-11-25T17:00:00.000000Z INFO start, addr: 127.0.0.1:7002, rate: 2, vm: 2
2026-11-25T17:00:00.500000Z INFO receive, from: 1, seq: 1, msg_lc: 1, queue: 1, lc: 2, vm: 2
2026-11-25T17:00:01.000000Z INFO receive, from: 1, seq: 2, msg_lc: 2, queue: 1, lc: 3, vm: 2
2026-11-25T17:00:01.200000Z INFO stop, dropped: 0, queue: 1, internal: 0, received: 2, sent: 0, ticks: 2, vm: 2
";

const VM3: &str = "\
2026-11-25T17:00:00.000000Z INFO start, addr: 127.0.0.1:7003, rate: 5, vm: 3
2026-11-25T17:00:00.200000Z INFO internal, queue: 0, lc: 1, vm: 3
2026-11-25T17:00:00.400000Z INFO receive, from: 1, seq: 2, msg_lc: 2, queue: 0, lc: 3, vm: 3
2026-11-25T17:00:00.600000Z INFO receive, from: 1, seq: 3, msg_lc: 4, queue: 0, lc: 5, vm: 3
2026-11-25T17:00:00.800000Z INFO send, to: 1 2, seq: 1, queue: 0, lc: 6, vm: 3
2026-11-25T17:00:01.000000Z INFO internal, queue: 0, lc: 7, vm: 3
2026-11-25T17:00:01.200000Z INFO stop, dropped: 0, queue: 0, internal: 2, received: 2, sent: 2, ticks: 5, vm: 3
";

/// `vm_count` is on line 3, `rates` on line 6.
const SETTINGS: &str = "\
# The effective settings of this run.
seed = 7
vm_count = 3
runtime = 1.2
internal_probability = 0.7
rates = [10, 2, 5]
";

/// A run directory holding `logs` (VM 1 first; `None` leaves that VM's log out) and `settings`.
fn write_run(logs: [Option<&str>; 3], settings: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("20261125-170000");
    fs::create_dir(&run).unwrap();
    for (i, log) in logs.iter().enumerate() {
        if let Some(text) = log {
            fs::write(run.join(format!("vm-{}.log", i + 1)), text).unwrap();
        }
    }
    fs::write(run.join("settings.toml"), settings).unwrap();
    (tmp, run)
}

/// `text` with each `(from, to)` applied; every `from` must occur exactly once, so an edit
/// cannot silently miss or hit a second line.
fn edited(text: &str, edits: &[(&str, &str)]) -> String {
    edits.iter().fold(text.to_string(), |text, (from, to)| {
        assert_eq!(text.matches(from).count(), 1, "`{from}` in\n{text}");
        text.replacen(from, to, 1)
    })
}

/// `logical-clocks analyze --no-plots RUN`: exit code and stdout.
fn analyze_cli(run: &Path) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_logical-clocks"))
        .args(["analyze", "--no-plots"])
        .arg(run)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// (file name, line, rule) of each violation.
fn found(violations: &[Violation]) -> Vec<(String, usize, Rule)> {
    violations
        .iter()
        .map(|v| {
            let name = v.file.file_name().unwrap().to_string_lossy().into_owned();
            (name, v.line, v.rule)
        })
        .collect()
}

/// Checks that the run breaks exactly `rule`, once, at `file:line`: through the library, and
/// through the command line, which must exit 1 and print the violation. Returns it.
fn breaks_only(run: &Path, file: &str, line: usize, rule: Rule) -> Violation {
    let violations = check_run(run).unwrap();
    assert_eq!(
        found(&violations),
        vec![(file.to_string(), line, rule)],
        "{violations:#?}"
    );
    let (code, stdout) = analyze_cli(run);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("{file}:{line}: {}: ", rule.name())),
        "{stdout}"
    );
    assert!(stdout.contains("Healthy: NO"), "{stdout}");
    let summary: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["check"]["by_rule"][rule.name()], 1, "{summary:#}");
    assert_eq!(summary["check"]["violations"], 1);
    violations.into_iter().next().unwrap()
}

#[test]
fn the_clean_run_keeps_every_rule() {
    let (_tmp, run) = write_run([Some(VM1), Some(VM2), Some(VM3)], SETTINGS);
    assert_eq!(check_run(&run).unwrap(), Vec::new());
    let (code, stdout) = analyze_cli(&run);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("Healthy: yes"), "{stdout}");
    let a = analyze_run(&run, &AnalyzeOptions { plots: false }).unwrap();
    let m = &a.summary().messages;
    assert_eq!((m.sent, m.received, m.left_in_queues), (6, 5, 1));
    assert_eq!(m.unaccounted, 0);
    assert_eq!(a.summary().vms[1].max_queue, 1);
}

#[test]
fn a_send_or_internal_decided_with_a_message_waiting_is_queue_not_empty() {
    // VM 3's last tick claims a message was waiting, yet it did an internal event.
    let vm3 = edited(
        VM3,
        &[("internal, queue: 0, lc: 7", "internal, queue: 1, lc: 7")],
    );
    let (_tmp, run) = write_run([Some(VM1), Some(VM2), Some(&vm3)], SETTINGS);
    let v = breaks_only(&run, "vm-3.log", 6, Rule::QueueNotEmpty);
    assert_eq!(
        v.detail,
        "internal decided with 1 message waiting (queue 1); a tick with a waiting message must receive it"
    );
}

#[test]
fn a_vm_that_ignored_a_waiting_message_is_reported_as_such() {
    // VM 2's second tick does an internal event although VM 1's seq 2 was waiting (its first
    // tick left queue 1); both messages are then left in its queue at the stop.
    let vm2 = edited(
        VM2,
        &[
            (
                "receive, from: 1, seq: 2, msg_lc: 2, queue: 1, lc: 3",
                "internal, queue: 2, lc: 3",
            ),
            (
                "stop, dropped: 0, queue: 1, internal: 0, received: 2",
                "stop, dropped: 0, queue: 2, internal: 1, received: 1",
            ),
        ],
    );
    let (_tmp, run) = write_run([Some(VM1), Some(&vm2), Some(VM3)], SETTINGS);
    let v = breaks_only(&run, "vm-2.log", 3, Rule::IgnoredWaitingMessage);
    assert_eq!(
        v.to_string(),
        "vm-2.log:3: ignored-waiting-message: internal after line 2 left 1 message waiting; \
         a tick with a waiting message must receive it"
    );
}

#[test]
fn messages_of_one_link_received_out_of_seq_order_are_caught() {
    // VM 3 takes VM 1's seq 3 before its seq 2; clocks are recomputed so only the order is wrong.
    let vm3 = edited(
        VM3,
        &[
            (
                "seq: 2, msg_lc: 2, queue: 0, lc: 3",
                "seq: 3, msg_lc: 4, queue: 0, lc: 5",
            ),
            (
                "seq: 3, msg_lc: 4, queue: 0, lc: 5, vm: 3\n2026-11-25T17:00:00.8",
                "seq: 2, msg_lc: 2, queue: 0, lc: 6, vm: 3\n2026-11-25T17:00:00.8",
            ),
            ("seq: 1, queue: 0, lc: 6", "seq: 1, queue: 0, lc: 7"),
            ("internal, queue: 0, lc: 7", "internal, queue: 0, lc: 8"),
        ],
    );
    let vm1 = edited(
        VM1,
        &[("msg_lc: 6, queue: 0, lc: 9", "msg_lc: 7, queue: 0, lc: 9")],
    );
    let (_tmp, run) = write_run([Some(&vm1), Some(VM2), Some(&vm3)], SETTINGS);
    let v = breaks_only(&run, "vm-3.log", 4, Rule::ReceiveOutOfOrder);
    assert_eq!(
        v.detail,
        "receive of vm 1 seq 2 after its seq 3 (line 3); links are first-in first-out"
    );
}

#[test]
fn a_line_stamped_before_the_line_above_it_is_caught_at_any_level() {
    // A WARN line in VM 2's log stamped before the receive above it.
    let vm2 = edited(
        VM2,
        &[(
            "queue: 1, lc: 2, vm: 2\n",
            "queue: 1, lc: 2, vm: 2\n2026-11-25T17:00:00.400000Z WARN peer 3 slow, vm: 2\n",
        )],
    );
    let (_tmp, run) = write_run([Some(VM1), Some(&vm2), Some(VM3)], SETTINGS);
    let v = breaks_only(&run, "vm-2.log", 3, Rule::TimeGoesBack);
    assert!(v.detail.contains("line 2 above it"), "{}", v.detail);

    // An event line of VM 1 stamped before the one above it.
    let vm1 = edited(
        VM1,
        &[(
            "00.600000Z INFO internal, queue: 0, lc: 6",
            "00.450000Z INFO internal, queue: 0, lc: 6",
        )],
    );
    let (_tmp, run) = write_run([Some(&vm1), Some(VM2), Some(VM3)], SETTINGS);
    breaks_only(&run, "vm-1.log", 7, Rule::TimeGoesBack);
}

#[test]
fn a_missing_vm_log_is_one_finding_not_a_cascade() {
    let (_tmp, run) = write_run([Some(VM1), Some(VM2), None], SETTINGS);
    let v = breaks_only(&run, "settings.toml", 3, Rule::MissingVmLog);
    assert_eq!(
        v.detail,
        "settings.toml says 3 VMs but vm-3.log is missing; 2 messages to vm 3 and 1 receive \
         from it could not be matched"
    );
    // Messages to the missing VM are not listed one by one as never received.
    let (_, stdout) = analyze_cli(&run);
    assert!(!stdout.contains("never received"), "{stdout}");
    assert!(!stdout.contains("no-matching-send"), "{stdout}");
}

#[test]
fn a_vm_log_beyond_the_vm_count_is_caught() {
    let settings = edited(
        SETTINGS,
        &[("vm_count = 3", "vm_count = 2"), ("[10, 2, 5]", "[10, 2]")],
    );
    let (_tmp, run) = write_run([Some(VM1), Some(VM2), Some(VM3)], &settings);
    let v = breaks_only(&run, "settings.toml", 3, Rule::ExtraVmLog);
    assert_eq!(
        v.detail,
        "vm-3.log is in the run directory but settings.toml says 2 VMs"
    );
}

#[test]
fn a_start_rate_other_than_the_pinned_one_is_caught() {
    let settings = edited(SETTINGS, &[("[10, 2, 5]", "[10, 3, 5]")]);
    let (_tmp, run) = write_run([Some(VM1), Some(VM2), Some(VM3)], &settings);
    let v = breaks_only(&run, "vm-2.log", 1, Rule::RateMismatch);
    assert_eq!(
        v.detail,
        "start line says rate 2 but settings.toml pins rate 3 for vm 2"
    );

    // A rates list that does not have one rate per VM points at the `rates` key.
    let settings = edited(SETTINGS, &[("[10, 2, 5]", "[10, 2]")]);
    let (_tmp, run) = write_run([Some(VM1), Some(VM2), Some(VM3)], &settings);
    breaks_only(&run, "settings.toml", 6, Rule::RateMismatch);
}

#[test]
fn info_lines_of_an_unknown_kind_are_a_note_with_file_and_line() {
    let vm2 = edited(
        VM2,
        &[
            (
                "queue: 1, lc: 2, vm: 2\n",
                "queue: 1, lc: 2, vm: 2\n2026-11-25T17:00:00.700000Z INFO resync, peer: 1, vm: 2\n",
            ),
            (
                "queue: 1, lc: 3, vm: 2\n",
                "queue: 1, lc: 3, vm: 2\n2026-11-25T17:00:01.100000Z INFO rebalance, vm: 2\n",
            ),
        ],
    );
    let (_tmp, run) = write_run([Some(VM1), Some(&vm2), Some(VM3)], SETTINGS);
    assert_eq!(check_run(&run).unwrap(), Vec::new());
    let (code, stdout) = analyze_cli(&run);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains(
            "Note: vm-2.log:3: INFO line of unknown kind `resync` skipped (2 such lines in this file)"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("Healthy: yes"), "{stdout}");
}
