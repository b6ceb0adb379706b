//! `analyze` on runs the model really made: real TCP, virtual time, a lost
//! peer, and a log corrupted on purpose after the fact.

use crate::common::{binary, run_model, run_with_lost_peer};
use lc_analysis::{self, AnalyzeOptions, Rule};
use std::time::Duration;

#[test]
fn a_real_run_is_healthy_and_its_figures_match_the_stop_lines() {
    let run = run_model(
        "vm_count = 3\nruntime = 2\nrates = [5, 20, 40]\ninternal_probability = 0.4\n",
        &[],
    );
    assert!(run.output.status.success(), "{}", run.stderr());
    let dir = run.run_dir();
    let output = binary().arg("analyze").arg(&dir).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("Healthy: yes"), "{stdout}");
    for file in [
        "summary.json",
        "events.csv",
        "clock.png",
        "queue.png",
        "jumps.png",
        "drift.png",
        "spacetime.png",
    ] {
        assert!(dir.join(file).is_file(), "{file} written");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let ticks: Vec<u64> = summary["vms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["ticks"].as_u64().unwrap())
        .collect();
    assert_eq!(ticks, [10, 40, 80]);
    assert_eq!(summary["messages"]["unaccounted"], 0);
    // Without an argument it picks the newest run in the log directory.
    let newest = binary()
        .args(["analyze", "--no-plots", "--log-dir"])
        .arg(dir.parent().unwrap())
        .output()
        .unwrap();
    assert!(newest.status.success());
}

#[test]
fn a_broken_clock_in_a_real_log_is_caught_with_its_line() {
    let run = run_model(
        "vm_count = 3\nruntime = 1\nrates = [10, 10, 10]\nseed = 2\n",
        &["--virtual-time"],
    );
    assert!(run.output.status.success());
    let dir = run.run_dir();
    let log = dir.join("vm-2.log");
    let text = std::fs::read_to_string(&log).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    // Line 6 (the fifth event) claims a clock 5 too high.
    let lc = lines[5]
        .split("lc: ")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_string();
    let bumped = (lc.parse::<u64>().unwrap() + 5).to_string();
    lines[5] = lines[5].replace(&format!("lc: {lc},"), &format!("lc: {bumped},"));
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    let output = binary()
        .args(["analyze", "--no-plots"])
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("vm-2.log:6:"), "{stdout}");
}

#[test]
fn dropped_messages_are_accounted_for() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = run_with_lost_peer(dir.path(), 2.0, 3, Duration::from_millis(700), 1);
    let analysis =
        lc_analysis::analyze_run(&outcome.run_dir, &AnalyzeOptions { plots: false }).unwrap();
    let messages = &analysis.summary().messages;
    assert!(messages.dropped > 0);
    assert_eq!(messages.dropped, outcome.accounting().dropped);
    assert_eq!(messages.unaccounted, 0);
    assert!(analysis.is_healthy(), "{}", analysis.report());
    assert!(analysis
        .violations()
        .iter()
        .all(|v| v.rule != Rule::DuplicateReceive));
}

#[test]
fn a_missing_run_directory_is_one_clear_line() {
    let output = binary()
        .args(["analyze", "/nonexistent/run"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("/nonexistent/run"), "{stderr}");
}
