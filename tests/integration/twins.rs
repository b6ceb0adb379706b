//! Real runs and their virtual-time twins: `analyze --compare` on hand-made runs with known
//! answers, `experiment --twins` end to end on loopback, and the refusals. Whether a real run
//! matches its twin depends on timing, so the study test asserts the shape of `twins.csv` and
//! that it agrees with `--compare`, never the verdict itself.

use crate::common::{binary, run_experiment as experiment};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

/// Two VMs; VM 2's message (seq 1, lc 2) is waiting for VM 1's third tick.
const VM1: &str = "\
2026-11-25T17:00:00.000000Z INFO start, addr: 127.0.0.1:7001, rate: 10, vm: 1
2026-11-25T17:00:00.100000Z INFO internal, queue: 0, lc: 1, vm: 1
2026-11-25T17:00:00.200000Z INFO send, to: 2, seq: 1, queue: 0, lc: 2, vm: 1
2026-11-25T17:00:00.300000Z INFO receive, from: 2, seq: 1, msg_lc: 5, queue: 0, lc: 6, vm: 1
2026-11-25T17:00:00.400000Z INFO internal, queue: 0, lc: 7, vm: 1
2026-11-25T17:00:00.500000Z INFO stop, queue: 0, internal: 2, received: 1, sent: 1, ticks: 4, vm: 1
";

const VM2: &str = "\
2026-11-25T17:00:00.000000Z INFO start, addr: 127.0.0.1:7002, rate: 5, vm: 2
2026-11-25T17:00:00.200000Z INFO internal, queue: 0, lc: 4, vm: 2
2026-11-25T17:00:00.250000Z INFO send, to: 1, seq: 1, queue: 0, lc: 5, vm: 2
2026-11-25T17:00:00.400000Z INFO receive, from: 1, seq: 1, msg_lc: 2, queue: 0, lc: 6, vm: 2
2026-11-25T17:00:00.500000Z INFO stop, queue: 0, internal: 1, received: 1, sent: 1, ticks: 3, vm: 2
";

/// VM 1 when VM 2's message arrives just after its third tick: that tick is internal, and the
/// receive moves to the fourth.
const VM1_LATE: &str = "\
2026-11-25T17:00:00.000000Z INFO start, addr: 127.0.0.1:7001, rate: 10, vm: 1
2026-11-25T17:00:00.100000Z INFO internal, queue: 0, lc: 1, vm: 1
2026-11-25T17:00:00.200000Z INFO send, to: 2, seq: 1, queue: 0, lc: 2, vm: 1
2026-11-25T17:00:00.300000Z INFO internal, queue: 0, lc: 3, vm: 1
2026-11-25T17:00:00.400000Z INFO receive, from: 2, seq: 1, msg_lc: 5, queue: 0, lc: 6, vm: 1
2026-11-25T17:00:00.500000Z INFO stop, queue: 0, internal: 2, received: 1, sent: 1, ticks: 4, vm: 1
";

/// Writes a run directory `name` under `dir`.
fn write_run(dir: &Path, name: &str, vm1: &str, vm2: &str) -> PathBuf {
    let run = dir.join(name);
    fs::create_dir_all(&run).unwrap();
    fs::write(run.join("vm-1.log"), vm1).unwrap();
    fs::write(run.join("vm-2.log"), vm2).unwrap();
    run
}

/// The same text with every timestamp moved to another day, as a virtual run's would be.
fn elsewhere_in_time(log: &str) -> String {
    log.replace("2026-11-25T17:00:00", "2000-01-01T00:00:00")
}

fn compare(a: &Path, b: &Path) -> Output {
    binary()
        .args(["analyze", "--compare"])
        .args([a, b])
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn compare_finds_runs_identical_whatever_their_timestamps() {
    let tmp = tempfile::tempdir().unwrap();
    let a = write_run(tmp.path(), "a", VM1, VM2);
    let b = write_run(
        tmp.path(),
        "b",
        &elsewhere_in_time(VM1),
        &elsewhere_in_time(VM2),
    );
    let output = compare(&a, &b);
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        text(&output.stderr)
    );
    assert!(
        stdout.contains("Identical: every VM made the same 7 events in both runs."),
        "{stdout}"
    );
    assert!(
        fs::read_dir(&b).unwrap().count() == 2,
        "--compare writes nothing"
    );
}

#[test]
fn compare_names_the_first_diverging_receive_and_what_it_moved() {
    let tmp = tempfile::tempdir().unwrap();
    let a = write_run(tmp.path(), "a", VM1, VM2);
    let b = write_run(tmp.path(), "b", VM1_LATE, VM2);
    let output = compare(&a, &b);
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{stdout}{}",
        text(&output.stderr)
    );
    // VM 1's third and fourth events differ; the first at 0.3 s after the run's first line.
    assert!(
        stdout.contains("Different: 2 of 7 events differ; the first at 0.300 s (VM 1, event 3)."),
        "{stdout}"
    );
    let row = |vm: &str| {
        stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(vm))
            .unwrap_or_else(|| panic!("no row for VM {vm}: {stdout}"))
            .to_string()
    };
    // Jumps 1, 1, 4, 1 against 1, 1, 1, 3: max jump 4 -> 3, final clock 7 -> 6, one receive
    // in both.
    let vm1 = row("1");
    assert!(vm1.contains("event 3 at 0.300 s"), "{vm1}");
    assert!(vm1.contains("1.75 -> 1.5"), "{vm1}");
    assert!(vm1.contains("4 -> 3"), "{vm1}");
    assert!(vm1.contains("7 -> 6"), "{vm1}");
    assert!(vm1.ends_with("  1"), "{vm1}");
    assert!(row("2").contains(" - "), "VM 2 does not differ: {stdout}");
}

#[test]
fn compare_counts_the_events_only_one_run_has() {
    let tmp = tempfile::tempdir().unwrap();
    let a = write_run(tmp.path(), "a", VM1, VM2);
    let short: String = VM2.lines().take(3).map(|l| format!("{l}\n")).collect();
    let b = write_run(tmp.path(), "b", VM1, &short);
    let output = compare(&a, &b);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("Different: 1 of 7 events differ; the first at 0.400 s (VM 2, event 3)."),
        "{stdout}"
    );
    assert!(stdout.contains("3 / 2"), "{stdout}");
}

#[test]
fn compare_refuses_what_it_cannot_read_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let a = write_run(tmp.path(), "a", VM1, VM2);
    let broken = VM2.replace("lc: 5, vm: 2", "lc: five, vm: 2");
    let b = write_run(tmp.path(), "b", VM1, &broken);
    for (output, needle) in [
        (compare(&a, &tmp.path().join("missing")), "does not exist"),
        (
            compare(&a, &b),
            "vm-2.log:3: not a line of the log contract",
        ),
        (
            binary()
                .args(["analyze", "--compare"])
                .args([&a, &a, &b])
                .output()
                .unwrap(),
            "--compare takes exactly two run directories",
        ),
    ] {
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(needle), "{stderr}");
    }
}

const TINY: &str = r#"
name = "twins"
seed = 5
trials = 2
runtime = 2

[[variation]]
name = "real"

[[variation]]
name = "already-virtual"
trials = 1
virtual_time = true
"#;

/// Tick events (send, receive, internal) in a run, as its `events.csv` lists them.
fn ticks_in(run: &Path) -> usize {
    fs::read_to_string(run.join("events.csv"))
        .unwrap()
        .lines()
        .filter(|row| {
            let kind = row.split(',').nth(3).unwrap_or("");
            ["send", "receive", "internal"].contains(&kind)
        })
        .count()
}

#[test]
fn twins_run_beside_every_real_trial_and_are_compared() {
    let (output, dir) = experiment(TINY, &["--jobs", "2", "--twins", "--compress-logs"]);
    let stderr = text(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stderr}{}",
        text(&output.stdout)
    );
    assert!(stderr.contains("twin of real #1: "), "{stderr}");
    let study = fs::read_dir(dir.path().join("studies"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();

    let csv = fs::read_to_string(study.join("twins.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 4, "a header and one row per trial: {csv}");
    let header = &rows[0];
    let col = |row: &[&str], name: &str| {
        row[header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("{name}"))]
        .to_string()
    };
    for row in &rows {
        assert_eq!(row.len(), header.len(), "{csv}");
    }

    for (k, row) in rows[1..3].iter().enumerate() {
        assert_eq!(col(row, "variation"), "real");
        assert_eq!(col(row, "trial"), (k + 1).to_string());
        assert_eq!(col(row, "status"), "compared", "{csv}");
        let real = PathBuf::from(col(row, "run_dir"));
        let twin = PathBuf::from(col(row, "twin_dir"));
        let trial_dir = study.join("trials").join(format!("real-{}", k + 1));
        assert_eq!(real.parent(), Some(trial_dir.as_path()), "{csv}");
        assert_eq!(
            twin.parent(),
            Some(trial_dir.join("virtual").as_path()),
            "{csv}"
        );
        // The twin ran on the virtual clock, was analysed like a trial, and its logs were
        // kept gzipped like the trial's.
        let events_csv = fs::read_to_string(twin.join("events.csv")).unwrap();
        let first_row = events_csv.lines().nth(1).unwrap();
        assert!(first_row.starts_with("2000-01-01T00:00:00"), "{first_row}");
        assert!(twin.join("summary.json").is_file());
        for run in [&real, &twin] {
            assert!(run.join("vm-1.log.gz").is_file(), "{run:?}");
        }
        // Same settings: same seed and rates.
        let settings = |run: &Path| {
            let text = fs::read_to_string(run.join("settings.toml")).unwrap();
            text.lines()
                .filter(|l| l.starts_with("seed") || l.starts_with("rates"))
                .map(String::from)
                .collect::<Vec<_>>()
        };
        assert_eq!(settings(&real), settings(&twin));

        let events: usize = col(row, "events").parse().unwrap();
        assert_eq!(events, ticks_in(&real), "{csv}");
        let differing: usize = col(row, "events_differing").parse().unwrap();
        let identical = col(row, "identical");
        assert_eq!(identical == "yes", differing == 0, "{csv}");
        assert_eq!(
            identical == "yes",
            col(row, "first_divergence_s").is_empty()
        );
        assert!(!col(row, "slowest_vm").is_empty(), "{csv}");
        let d_final_lc: f64 = col(row, "d_final_lc").parse().unwrap();
        if identical == "yes" {
            assert_eq!(d_final_lc, 0.0, "{csv}");
        }
        // `analyze --compare` gives the same verdict on the same pair.
        let compared = compare(&real, &twin);
        let expected = if identical == "yes" { 0 } else { 1 };
        assert_eq!(
            compared.status.code(),
            Some(expected),
            "{}",
            text(&compared.stdout)
        );

        // A virtual run is its own twin: the twin against itself, and against a fresh run of
        // its settings, is identical.
        assert_eq!(compare(&twin, &twin).status.code(), Some(0));
        let again_dir = dir.path().join(format!("again-{k}"));
        let again = binary()
            .arg("--config")
            .arg(twin.join("settings.toml"))
            .arg("--log-dir")
            .arg(&again_dir)
            .output()
            .unwrap();
        assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
        let again_run = fs::read_dir(&again_dir)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let same = compare(&twin, &again_run);
        assert_eq!(same.status.code(), Some(0), "{}", text(&same.stdout));
    }

    let virtual_row = &rows[3];
    assert_eq!(col(virtual_row, "variation"), "already-virtual");
    assert_eq!(
        col(virtual_row, "status"),
        "no twin: the trial itself ran on virtual time"
    );
    assert_eq!(col(virtual_row, "identical"), "");

    let report = fs::read_to_string(study.join("report.md")).unwrap();
    assert!(
        report.contains("## Real runs and their virtual-time twins"),
        "{report}"
    );
    assert!(
        report.contains(" of 2 compared trials identical to their twin.**"),
        "{report}"
    );
    assert!(report.contains("logical-clocks experiment"));
    assert!(
        report.contains("--twins"),
        "the repeat command keeps --twins: {report}"
    );

    // A kept study with twins recomputes from each trial's own run, not its twin.
    let kept = lc_experiment::recompute_study(&study).unwrap();
    assert_eq!(kept.trials.len(), 3);
    for trial in &kept.trials {
        let (run_dir, analysis) = trial.analysis.as_ref().unwrap();
        assert!(!run_dir.ends_with("virtual"), "{run_dir:?}");
        assert!(analysis.is_healthy(), "{run_dir:?}");
    }
}

#[test]
fn twins_and_virtual_time_together_are_refused_in_one_line() {
    let (output, dir) = experiment(TINY, &["--twins", "--virtual-time"]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--twins") && stderr.contains("--virtual-time"),
        "{stderr}"
    );
    assert!(!dir.path().join("studies").exists(), "nothing ran");
}
