//! How the binary behaves as one process among others: a closed terminal
//! (SIGHUP) stops the run in order, and a reader that goes away early
//! (`| head -1`, `| true`) ends the output quietly without cutting the work
//! short.

use crate::common::{
    binary, check_logs, read_logs, run_dirs, signal_stops_the_run_in_order, spawn_model,
};
use std::process::Stdio;

/// A quick run with steady traffic.
const SHORT_RUN: &str = "vm_count = 3\nruntime = 1\nrates = [10, 20, 30]\nseed = 7\n\
                         internal_probability = 0.4\n";

#[cfg(unix)]
#[test]
fn sighup_stops_the_run_in_order_and_says_so() {
    signal_stops_the_run_in_order("HUP", 129, "interrupted by SIGHUP");
}

#[test]
fn a_closed_stdout_ends_the_summary_quietly_and_the_run_completes() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_model(SHORT_RUN, dir.path());
    // The reader is gone before the summary is written: `... | true`.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let runs = run_dirs(&dir.path().join("runs"));
    check_logs(&runs[0], &read_logs(&runs[0]), &[10, 20, 30], Some(1.0));
}

#[test]
fn closed_stdout_and_stderr_still_end_with_the_runs_own_exit_code() {
    // `logical-clocks 2>&1 | head -1`: both streams lead to a closed pipe.
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_model(SHORT_RUN, dir.path());
    drop(child.stdout.take());
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "a panic exits 101");
    let runs = run_dirs(&dir.path().join("runs"));
    check_logs(&runs[0], &read_logs(&runs[0]), &[10, 20, 30], Some(1.0));
}

#[test]
fn analyze_with_a_closed_stdout_still_writes_every_runs_files() {
    let dir = tempfile::tempdir().unwrap();
    let runs_dir = dir.path().join("runs");
    let config = dir.path().join("test-settings.toml");
    std::fs::write(&config, "vm_count = 3\nruntime = 30\nrates = [2, 4, 6]\n").unwrap();
    for seed in 1..=3 {
        let status = binary()
            .arg("--virtual-time")
            .arg("--config")
            .arg(&config)
            .arg("--seed")
            .arg(seed.to_string())
            .arg("--log-dir")
            .arg(&runs_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
    }
    let runs = run_dirs(&runs_dir);
    assert_eq!(runs.len(), 3);
    // `analyze DIR1 DIR2 DIR3 | head -1`, with the reader gone at once.
    let mut child = binary()
        .arg("analyze")
        .arg("--no-plots")
        .args(&runs)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    for run in &runs {
        for file in ["summary.json", "events.csv"] {
            assert!(run.join(file).is_file(), "{} lacks {file}", run.display());
        }
    }
}

#[cfg(target_os = "linux")]
#[test]
fn output_lost_otherwise_fails_a_good_run() {
    // `> out.txt` on a full disk: the results never reached their reader.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("test-settings.toml");
    std::fs::write(&config, "vm_count = 2\nruntime = 10\nrates = [2, 3]\n").unwrap();
    let output = binary()
        .arg("--virtual-time")
        .arg("--config")
        .arg(&config)
        .arg("--log-dir")
        .arg(dir.path().join("runs"))
        .stdout(std::fs::File::create("/dev/full").unwrap())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error: writing the output failed"),
        "{stderr}"
    );
    let runs = run_dirs(&dir.path().join("runs"));
    check_logs(&runs[0], &read_logs(&runs[0]), &[2, 3], Some(10.0));
}
