//! `analyze` against its own inputs and outputs: an output never replaces a file it reads nor
//! writes through a link planted in a run directory; ids and counts read from files are bounded
//! before anything is sized from them; a run killed before its stop lines is incomplete, not
//! healthy; and every user mistake (a missing `--config`, a stdout that cannot be written) is
//! one line with its own exit code.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{binary, binary_in, run_dirs, spawn_model};

const VM1: &str = "\
2026-11-25T17:00:00.000000Z INFO start, addr: 127.0.0.1:7001, rate: 10, vm: 1
2026-11-25T17:00:00.100000Z INFO send, to: 2, seq: 1, queue: 0, lc: 1, vm: 1
2026-11-25T17:00:00.200000Z INFO internal, queue: 0, lc: 2, vm: 1
2026-11-25T17:00:00.400000Z INFO receive, from: 2, seq: 1, msg_lc: 3, queue: 0, lc: 4, vm: 1
2026-11-25T17:00:00.600000Z INFO stop, queue: 0, internal: 1, received: 1, sent: 1, ticks: 3, vm: 1
";

const VM2: &str = "\
2026-11-25T17:00:00.000000Z INFO start, addr: 127.0.0.1:7002, rate: 4, vm: 2
2026-11-25T17:00:00.250000Z INFO receive, from: 1, seq: 1, msg_lc: 1, queue: 0, lc: 2, vm: 2
2026-11-25T17:00:00.350000Z INFO send, to: 1, seq: 1, queue: 0, lc: 3, vm: 2
2026-11-25T17:00:00.600000Z INFO stop, queue: 0, internal: 0, received: 1, sent: 1, ticks: 2, vm: 2
";

const SETTINGS: &str = "vm_count = 2\nruntime = 0.6\nseed = 42\nrates = [10, 4]\n";

/// A sound two-VM run in a fresh directory.
fn handmade(vm1: &str, vm2: &str, settings: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("20261125-170000");
    fs::create_dir(&run).unwrap();
    fs::write(run.join("vm-1.log"), vm1).unwrap();
    fs::write(run.join("vm-2.log"), vm2).unwrap();
    fs::write(run.join("settings.toml"), settings).unwrap();
    (tmp, run)
}

fn analyze(args: &[&Path]) -> Output {
    let mut command = binary();
    command.arg("analyze");
    for arg in args {
        command.arg(arg);
    }
    command.output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The output was refused (or failed) with exit 2 and exactly one line on stderr, which
/// contains every one of `says`.
fn assert_one_line(output: &Output, says: &[&str]) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    for word in says {
        assert!(err.contains(word), "no `{word}` in: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn shiviz_never_overwrites_a_file_of_the_run() {
    let (_tmp, run) = handmade(VM1, VM2, SETTINGS);
    for input in ["vm-1.log", "settings.toml"] {
        let target = run.join(input);
        let before = fs::read(&target).unwrap();
        let output = analyze(&[
            &run,
            Path::new("--no-plots"),
            Path::new("--shiviz"),
            &target,
        ]);
        assert_one_line(&output, &[&target.display().to_string(), "reads"]);
        assert_eq!(fs::read(&target).unwrap(), before, "{input} was changed");
    }
    // The run is as sound as before.
    let output = analyze(&[&run, Path::new("--no-plots")]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn an_input_reached_through_another_name_is_refused_too() {
    let (tmp, run) = handmade(VM1, VM2, SETTINGS);
    let alias = tmp.path().join("alias");
    std::os::unix::fs::symlink(&run, &alias).unwrap();
    let output = analyze(&[
        &run,
        Path::new("--no-plots"),
        Path::new("--shiviz"),
        &alias.join("vm-2.log"),
    ]);
    assert_one_line(&output, &["vm-2.log"]);
    assert_eq!(fs::read_to_string(run.join("vm-2.log")).unwrap(), VM2);
}

#[test]
fn links_planted_in_a_run_directory_are_replaced_not_followed() {
    let (tmp, run) = handmade(VM1, VM2, SETTINGS);
    let mut planted = Vec::new();
    for name in ["summary.json", "events.csv", "clock.png", "report.html"] {
        let target = tmp.path().join(format!("elsewhere-{name}"));
        fs::write(&target, "precious").unwrap();
        std::os::unix::fs::symlink(&target, run.join(name)).unwrap();
        planted.push((name, target));
    }
    let output = analyze(&[&run, Path::new("--html")]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    for (name, target) in planted {
        assert_eq!(fs::read_to_string(&target).unwrap(), "precious", "{name}");
        let entry = fs::symlink_metadata(run.join(name)).unwrap();
        assert!(entry.is_file(), "{name} is still a link");
    }
    let hidden: Vec<_> = fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "scratch left behind: {hidden:?}");
}

#[test]
fn ids_and_counts_beyond_the_vm_limit_are_refused_before_use() {
    let (_tmp, run) = handmade(VM1, VM2, SETTINGS);
    let huge = run.join("vm-4294967295.log");
    fs::write(&huge, VM2.replace("vm: 2", "vm: 4294967295")).unwrap();
    let output = analyze(&[&run, Path::new("--no-plots")]);
    assert_one_line(&output, &["vm-4294967295.log", "4294967295", "1 to 128"]);
    fs::remove_file(&huge).unwrap();

    for count in ["100000000", "30000", "129"] {
        let (_tmp, run) = handmade(
            VM1,
            VM2,
            &SETTINGS.replace("vm_count = 2", &format!("vm_count = {count}")),
        );
        let output = analyze(&[&run, Path::new("--no-plots")]);
        assert_one_line(&output, &["settings.toml", "vm_count", count, "1 to 128"]);
    }
}

#[test]
fn a_log_named_for_vm_0_is_refused_not_skipped() {
    let (_tmp, run) = handmade(VM1, VM2, SETTINGS);
    fs::write(run.join("vm-0.log"), VM2).unwrap();
    let output = analyze(&[&run, Path::new("--no-plots")]);
    assert_one_line(&output, &["vm-0.log", "1 to 128"]);
}

#[test]
fn a_line_longer_than_the_reader_takes_is_one_error() {
    let long = format!(
        "2026-11-25T17:00:00.300000Z WARN {}, vm: 1\n",
        "x".repeat(200_000)
    );
    let vm1 = crate::common::with_line(VM1, 3, long.trim_end());
    let (_tmp, run) = handmade(&vm1, VM2, SETTINGS);
    let output = analyze(&[&run, Path::new("--no-plots")]);
    assert_one_line(&output, &["vm-1.log:3", "KiB"]);
}

#[test]
fn logs_without_stop_lines_are_an_incomplete_run_and_not_healthy() {
    let cut = |log: &str| {
        log.lines()
            .filter(|l| !l.contains(" stop, "))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    };
    let (_tmp, run) = handmade(&cut(VM1), &cut(VM2), SETTINGS);
    let output = analyze(&[&run, Path::new("--no-plots")]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("Healthy: NO"), "{stdout}");
    let incomplete: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("Incomplete:"))
        .collect();
    assert_eq!(incomplete.len(), 1, "{stdout}");
    assert!(incomplete[0].contains("vm 1, vm 2"), "{stdout}");
    let summary: serde_json::Value =
        serde_json::from_slice(&fs::read(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["check"]["healthy"], false);
    assert_eq!(summary["check"]["incomplete"], serde_json::json!([1, 2]));
}

#[test]
fn a_killed_run_is_reported_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_model("vm_count = 3\nruntime = 120\n", dir.path());
    // Wait until every VM has logged a few lines, then kill without warning.
    let deadline = Instant::now() + Duration::from_secs(60);
    let run = loop {
        assert!(Instant::now() < deadline, "the run never logged");
        let ready = dir.path().join("runs").is_dir()
            && run_dirs(&dir.path().join("runs"))
                .first()
                .is_some_and(|run| {
                    (1..=3).all(|vm| {
                        fs::read_to_string(run.join(format!("vm-{vm}.log")))
                            .is_ok_and(|t| t.lines().count() >= 3)
                    })
                });
        if ready {
            break run_dirs(&dir.path().join("runs")).remove(0);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    let output = analyze(&[&run, Path::new("--no-plots")]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("Healthy: NO"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("Incomplete:") && l.contains("vm 1, vm 2, vm 3")),
        "{stdout}"
    );
}

#[test]
fn a_config_that_does_not_exist_is_refused() {
    let (tmp, run) = handmade(VM1, VM2, SETTINGS);
    let missing = tmp.path().join("nonexistent.toml");
    let output = analyze(&[
        Path::new("--config"),
        &missing,
        &run,
        Path::new("--no-plots"),
    ]);
    assert_one_line(&output, &["nonexistent.toml"]);
    let output = binary_in(tmp.path())
        .args(["experiment", "--log-dir"])
        .arg(tmp.path().join("studies"))
        .arg("--config")
        .arg(&missing)
        .output()
        .unwrap();
    assert_one_line(&output, &["nonexistent.toml"]);
    assert!(!tmp.path().join("studies").exists());
}

/// The binary with `args`, its stdout on a device that is always full.
fn to_full_device(args: &[&Path]) -> Output {
    let mut command = binary();
    for arg in args {
        command.arg(arg);
    }
    command
        .stdout(fs::File::create("/dev/full").unwrap())
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_stdout_that_cannot_be_written_is_an_error_of_its_own() {
    let output = to_full_device(&[Path::new("--help")]);
    assert_one_line(&output, &["writing the output failed"]);
    let (_tmp, run) = handmade(VM1, VM2, SETTINGS);
    let output = to_full_device(&[Path::new("analyze"), Path::new("--compare"), &run, &run]);
    assert_one_line(&output, &["writing the output failed"]);
}

#[test]
fn compare_says_first_which_settings_differ() {
    let (_a, run_a) = handmade(VM1, VM2, SETTINGS);
    let (_b, run_b) = handmade(
        VM1,
        &VM2.replace("rate: 4", "rate: 5"),
        "vm_count = 2\nruntime = 0.6\nseed = 7\nrates = [10, 5]\n",
    );
    let output = analyze(&[Path::new("--compare"), &run_a, &run_b]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let differ: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("Settings differ:"))
        .collect();
    assert_eq!(differ.len(), 2, "{stdout}");
    assert!(lines[differ[0]].contains("rates"), "{stdout}");
    assert!(
        lines[differ[1]].contains("seed = 42 in a, 7 in b"),
        "{stdout}"
    );
    let verdict = lines
        .iter()
        .position(|l| l.starts_with("Identical") || l.starts_with("Different"));
    assert!(verdict.unwrap() > differ[1], "{stdout}");
}

#[test]
fn compare_counts_no_more_differences_than_events() {
    let (_a, run_a) = handmade(VM1, VM2, SETTINGS);
    let more = VM2.replace(
        "2026-11-25T17:00:00.600000Z INFO stop",
        "2026-11-25T17:00:00.500000Z INFO internal, queue: 0, lc: 4, vm: 2\n\
         2026-11-25T17:00:00.550000Z INFO internal, queue: 0, lc: 5, vm: 2\n\
         2026-11-25T17:00:00.600000Z INFO stop",
    );
    let (_b, run_b) = handmade(VM1, &more, SETTINGS);
    let output = analyze(&[Path::new("--compare"), &run_a, &run_b]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("Different: 2 of 7 events differ"),
        "{stdout}"
    );
    assert!(stdout.contains("a has 5 events, b has 7"), "{stdout}");
}

#[test]
fn a_disk_that_fills_leaves_no_truncated_output_and_one_line() {
    let (_tmp, run) = handmade(VM1, VM2, SETTINGS);
    // A per-file size limit (SIGXFSZ ignored, so the write fails with EFBIG) of 16 KiB: the
    // small text outputs fit, the first plot does not.
    let output = Command::new("sh")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 32; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_logical-clocks"))
        .arg("analyze")
        .arg(&run)
        .output()
        .unwrap();
    assert_one_line(&output, &["clock.png", "File too large"]);
    let err = stderr(&output);
    assert!(!err.contains("IoError"), "{err}");
    for name in ["clock.png", "summary.json"] {
        assert!(!run.join(name).exists(), "{name} left behind");
    }
    let left: Vec<_> = fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.iter().all(|n| !n.starts_with('.')), "{left:?}");
}
