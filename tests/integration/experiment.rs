//! `logical-clocks experiment` end to end: a tiny plan runs (real time and virtual time) and
//! writes the study; a plan with faults gets its fault table; bad plans are refused with exit
//! code 2 before anything runs.

use crate::common::{binary, run_experiment as experiment};
use lc_analysis::Summary;
use std::path::{Path, PathBuf};

fn only_entry(dir: &Path) -> PathBuf {
    let entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    entries.into_iter().next().unwrap()
}

/// Runs `experiment` on `plan` and expects it to succeed: the temporary directory (kept while
/// the study is read) and the study directory.
fn successful_study(plan: &str, flags: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let (output, dir) = experiment(plan, flags);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let study = only_entry(&dir.path().join("studies"));
    (dir, study)
}

const TINY: &str = r#"
name = "tiny"
seed = 3
trials = 2
runtime = 2

[[variation]]
name = "real"
description = "real time, rates 1..=6"

[[variation]]
name = "virtual-narrow"
virtual_time = true
rate_min = 3
rate_max = 4
internal_probability = 0.3
"#;

#[test]
fn a_tiny_plan_runs_end_to_end_and_writes_the_study() {
    let (output, dir) = experiment(TINY, &["--jobs", "2"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stderr}\n{stdout}");
    assert!(stdout.contains("| real |") && stdout.contains("| virtual-narrow |"));
    assert!(stderr.contains("[1/4] start real #1"), "{stderr}");
    assert!(stderr.contains("ok virtual-narrow #2"), "{stderr}");

    let study = only_entry(&dir.path().join("studies"));
    let name = study.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("study-"), "{name}");
    for file in [
        "plan.toml",
        "study.csv",
        "variations.csv",
        "prediction.csv",
        "report.md",
        "figures.png",
        "jump_by_rate.png",
        "queue_by_rate.png",
        "drift_by_rate.png",
        "prediction.png",
        "concurrency.png",
    ] {
        let path = study.join(file);
        assert!(
            path.is_file() && path.metadata().unwrap().len() > 0,
            "{file}"
        );
    }

    let csv = std::fs::read_to_string(study.join("study.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    let header = &rows[0];
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    assert_eq!(rows.len(), 5, "{csv}");
    let trials: Vec<(&str, &str)> = rows[1..]
        .iter()
        .map(|r| (r[col("variation")], r[col("trial")]))
        .collect();
    assert_eq!(
        trials,
        [
            ("real", "1"),
            ("real", "2"),
            ("virtual-narrow", "1"),
            ("virtual-narrow", "2")
        ]
    );
    for row in &rows[1..] {
        assert_eq!(row[col("status")], "ok", "{csv}");
        let max_jump: f64 = row[col("max_jump")].parse().unwrap();
        assert!(max_jump >= 1.0, "{csv}");
        let concurrent: f64 = row[col("concurrent_fraction")].parse().unwrap();
        let lamport: f64 = row[col("lamport_ordered_concurrent_fraction")]
            .parse()
            .unwrap();
        assert!(
            (0.0..=1.0).contains(&concurrent) && lamport <= concurrent,
            "{csv}"
        );
        let run_dir = PathBuf::from(row[col("run_dir")]);
        assert!(run_dir.starts_with(study.join("trials")), "{run_dir:?}");
        assert!(run_dir.join("summary.json").is_file(), "{run_dir:?}");
        assert!(run_dir.join("vm-1.log").is_file(), "{run_dir:?}");
    }
    // Trial k of every variation shares its seed.
    assert_eq!(rows[1][col("seed")], rows[3][col("seed")]);
    assert_ne!(rows[1][col("seed")], rows[2][col("seed")]);
    // The virtual trials ran on the virtual clock: their logs start at the fixed epoch.
    let virtual_run = PathBuf::from(rows[3][col("run_dir")]);
    let log = std::fs::read_to_string(virtual_run.join("vm-1.log")).unwrap();
    assert!(log.starts_with("2000-01-01T00:00:00"), "{log}");

    let variations = std::fs::read_to_string(study.join("variations.csv")).unwrap();
    let lines: Vec<&str> = variations.lines().collect();
    assert_eq!(lines.len(), 3, "{variations}");
    assert!(lines[0].contains("max_jump_mean,max_jump_sd"));
    assert!(lines[1].starts_with("real,2,2,"), "{variations}");
    assert!(lines[2].starts_with("virtual-narrow,2,2,"), "{variations}");

    let report = std::fs::read_to_string(study.join("report.md")).unwrap();
    assert!(report.starts_with("# Study: tiny"));
    // No trial had a fault: no fault table anywhere.
    assert!(!report.contains("## Faults"), "{report}");
    assert!(!study.join("faults.csv").exists());
    assert!(report.contains("**Trials: 4 ok, 0 unhealthy, 0 failed, 0 not run.**"));
    assert!(report.contains("logical-clocks experiment plan.toml --jobs 2"));
    assert!(report.contains("![Each figure by variation"));
    assert!(report.contains("(jump_by_rate.png)"));
    assert!(report.contains("(concurrency.png)"));
    assert!(
        report.contains("| virtual-narrow | `internal_probability = 0.3`"),
        "{report}"
    );

    // The copied plan repeats the study: same trials, same seeds.
    let copied = std::fs::read_to_string(study.join("plan.toml")).unwrap();
    assert!(copied.contains("logical-clocks experiment"));
    let again = lc_experiment::parse_plan(&copied).unwrap();
    assert_eq!(again, lc_experiment::parse_plan(TINY).unwrap());
}

#[test]
fn virtual_time_flag_runs_every_trial_on_the_virtual_clock() {
    let plan = TINY.replace("runtime = 2", "runtime = 30");
    let (_dir, study) = successful_study(&plan, &["--virtual-time"]);
    let report = std::fs::read_to_string(study.join("report.md")).unwrap();
    assert!(report.contains("4 trials on virtual time"), "{report}");
    assert!(report.contains("plan.toml --jobs 1 --virtual-time"));

    // The queueing model's prediction sits next to every VM's measurement: 4 trials of 3 VMs.
    assert!(
        report.contains("## Prediction against measurement"),
        "{report}"
    );
    assert!(
        report.contains("| real | arrival rate (messages/s) | 2 |"),
        "{report}"
    );
    let csv = std::fs::read_to_string(study.join("prediction.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    let col = |name: &str| rows[0].iter().position(|h| *h == name).unwrap();
    assert_eq!(rows.len(), 1 + 4 * 3, "{csv}");
    for row in &rows[1..] {
        let value = |name: &str| row[col(name)].parse::<f64>().unwrap();
        // Thirty virtual seconds hold 30 to 120 arrivals per VM: near the model, not on it.
        let (predicted, measured) = (value("predicted_arrival"), value("measured_arrival"));
        assert!(
            (measured - predicted).abs() < 0.4 * predicted + 0.1,
            "arrivals {measured} against {predicted}: {csv}"
        );
        assert!(value("measured_mean_jump") >= 1.0, "{csv}");
    }
}

/// Two variations on virtual time, one with a pause and a held partition, one without faults.
const FAULTY: &str = r#"
name = "faulty"
seed = 4
trials = 2
runtime = 20
base = { virtual_time = true, rates = [2, 3, 4] }

[[variation]]
name = "cut"
faults = [
    { kind = "pause", vm = 1, from_s = 4, until_s = 8 },
    { kind = "partition", groups = [[1], [2, 3]], from_s = 10, until_s = 15 },
]

[[variation]]
name = "calm"
"#;

/// The cells of a CSV line, quoted cells unquoted (RFC 4180, as the study writes them).
fn csv_cells(line: &str) -> Vec<String> {
    let (mut cells, mut cell, mut quoted, mut chars) =
        (Vec::new(), String::new(), false, line.chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => cells.push(std::mem::take(&mut cell)),
            (c, _) => cell.push(c),
        }
    }
    cells.push(cell);
    cells
}

#[test]
fn a_fault_study_tabulates_each_trials_faults_from_its_summary() {
    let (_dir, study) = successful_study(FAULTY, &["--jobs", "2"]);

    // Each trial's run directory, from study.csv.
    let study_csv = std::fs::read_to_string(study.join("study.csv")).unwrap();
    let trials: Vec<Vec<String>> = study_csv.lines().map(csv_cells).collect();
    let at = |name: &str| trials[0].iter().position(|h| h == name).unwrap();
    let run_dir = |variation: &str, trial: &str| {
        let row = trials[1..]
            .iter()
            .find(|r| r[at("variation")] == variation && r[at("trial")] == trial)
            .unwrap();
        PathBuf::from(&row[at("run_dir")])
    };

    let csv = std::fs::read_to_string(study.join("faults.csv")).unwrap();
    let rows: Vec<Vec<String>> = csv.lines().map(csv_cells).collect();
    let col = |name: &str| rows[0].iter().position(|h| h == name).unwrap();
    assert_eq!(rows[0].len(), 18, "{csv}");
    let keys: Vec<(&str, &str, &str)> = rows[1..]
        .iter()
        .map(|r| (&*r[col("variation")], &*r[col("trial")], &*r[col("fault")]))
        .collect();
    // Two trials of two faults each; the variation without faults has no row.
    assert_eq!(
        keys,
        [
            ("cut", "1", "1"),
            ("cut", "1", "2"),
            ("cut", "2", "1"),
            ("cut", "2", "2")
        ],
        "{csv}"
    );

    for row in &rows[1..] {
        let run = run_dir(&row[col("variation")], &row[col("trial")]);
        let text = std::fs::read_to_string(run.join("summary.json")).unwrap();
        let summary: Summary = serde_json::from_str(&text).unwrap();
        let number: usize = row[col("fault")].parse().unwrap();
        let fault = summary.faults.iter().find(|f| f.fault == number).unwrap();
        assert_eq!(row[col("status")], "ok", "{csv}");
        assert_eq!(row[col("kind")], fault.kind);
        assert_eq!(row[col("parameters")], fault.parameters);
        let vms: Vec<String> = fault.vms.iter().map(ToString::to_string).collect();
        assert_eq!(row[col("vms")], vms.join(" "));
        // Each figure is the summary's, or an empty cell where the summary has none.
        let same = |column: &str, expected: Option<f64>| {
            let cell = &row[col(column)];
            match expected {
                None => assert_eq!(cell, "", "{column}: {csv}"),
                Some(v) => {
                    let got: f64 = cell.parse().unwrap();
                    assert!((got - v).abs() < 1e-4, "{column}: {got} against {v}");
                }
            }
        };
        let count = |n: u64| Some(n as f64);
        same("dropped", count(fault.dropped));
        same("lost", fault.lost.map(|n| n as f64));
        same("ticks_skipped", fault.ticks_skipped.map(|n| n as f64));
        same("expected_findings", count(fault.expected_findings));
        let queue = fault.lines.iter().filter_map(|l| l.queue_at_end).max();
        same("queue_at_end", queue.map(|n| n as f64));
        let p = fault.partition.as_ref();
        same("sent_across", p.map(|p| p.sent_across as f64));
        same("received_after_end", p.map(|p| p.received_after_end as f64));
        same(
            "clock_gap_max",
            p.and_then(|p| p.clock_gap_max).map(|n| n as f64),
        );
        same(
            "clock_gap_at_end",
            p.and_then(|p| p.clock_gap_at_end).map(|n| n as f64),
        );
        same(
            "gap_recovered_after_s",
            p.and_then(|p| p.gap_recovered_after_s),
        );
        match number {
            // VM 1 at 2 ticks/s skips the 8 ticks due in [4, 8).
            1 => {
                assert_eq!((&*fault.kind, fault.ticks_skipped), ("pause", Some(8)));
                assert!(p.is_none() && row[col("sent_across")].is_empty());
            }
            // Held, not dropped: what crossed in the window arrived after it.
            _ => {
                let p = p.unwrap();
                assert_eq!((&*fault.kind, fault.dropped), ("partition", 0));
                assert!(p.sent_across > 0 && p.received_after_end <= p.sent_across);
            }
        }
    }

    let report = std::fs::read_to_string(study.join("report.md")).unwrap();
    let section = &report[report.find("\n## Faults\n").expect("a faults section")..];
    let section = &section[..section[1..]
        .find("\n## ")
        .map_or(section.len(), |end| end + 1)];
    let table: Vec<&str> = section
        .lines()
        .filter(|l| l.starts_with("| cut "))
        .collect();
    assert_eq!(table.len(), 2, "{section}");
    assert!(
        table[0].starts_with("| cut | 1 | pause | 1 | from_s: 4, until_s: 8 | 2 |")
            && table[0].contains("| 8 ± 0 |"),
        "{section}"
    );
    assert!(
        table[1].starts_with(
            "| cut | 2 | partition | 1 2 3 | groups: 1\\|2 3, from_s: 10, until_s: 15, mode: hold | 2 |"
        ) && table[1].ends_with(" of 2) |"),
        "{section}"
    );
    assert!(!section.contains("| calm "), "{section}");
}

fn assert_refused(plan: &str, names: &[&str]) {
    let (output, dir) = experiment(plan, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{plan}: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(lines[0].starts_with("error: plan "), "{stderr}");
    for name in names {
        assert!(lines[0].contains(name), "{name} not named: {stderr}");
    }
    assert!(
        !dir.path().join("studies").exists(),
        "nothing runs for a refused plan"
    );
}

#[test]
fn a_bad_plan_is_refused_before_anything_runs() {
    let broken = |from: &str, to: &str| {
        let plan = TINY.replace(from, to);
        assert_ne!(plan, TINY, "{from}");
        plan
    };
    assert_refused(
        &broken("rate_max = 4", "rate_max = 4\nvm_count = 1"),
        &["variation `virtual-narrow`", "`vm_count` = 1"],
    );
    assert_refused(
        &broken("rate_min = 3", "rate_minimum = 3"),
        &["variation `virtual-narrow`", "`rate_minimum`"],
    );
    assert_refused(
        &broken(
            "description = \"real time, rates 1..=6\"",
            "description = \"x\"\ntrials = 0",
        ),
        &["variation `real`", "`trials` = 0"],
    );
    assert_refused(
        &broken("internal_probability = 0.3", "internal_probability = 3"),
        &["variation `virtual-narrow`", "`internal_probability` = 3"],
    );
    assert_refused(&broken("seed = 3", "sead = 3"), &["`sead`"]);
    assert_refused("seed = [", &["plan"]);
}

#[test]
fn a_missing_plan_file_is_a_usage_error() {
    let output = binary()
        .args(["experiment", "/nonexistent/plan.toml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("error: cannot read plan /nonexistent/plan.toml"));
}

/// Each signal that stops a `run` stops a study the same way: the trial
/// running stops in order, the study is written, and `experiment` exits
/// with the code `run` gives for that signal (not 1).
#[cfg(unix)]
#[test]
fn every_stopping_signal_ends_a_study_with_the_code_run_gives() {
    use std::time::{Duration, Instant};
    let plan = "name = \"long\"\nseed = 3\ntrials = 1\nruntime = 60\n\n\
                [[variation]]\nname = \"real\"\n";
    for (signal, code) in [
        (libc::SIGINT, 130),
        (libc::SIGTERM, 143),
        (libc::SIGHUP, 129),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let child = spawn_study(dir.path(), plan, &[]);
        // Once the trial's VMs have logged, the run is under way.
        let deadline = Instant::now() + Duration::from_secs(30);
        let running = || {
            walk(&dir.path().join("studies"))
                .iter()
                .filter(|p| p.extension().is_some_and(|e| e == "log"))
                .any(|p| std::fs::read_to_string(p).is_ok_and(|t| t.lines().count() >= 3))
        };
        while !running() {
            assert!(Instant::now() < deadline, "the trial never ran");
            std::thread::sleep(Duration::from_millis(50));
        }
        unsafe {
            libc::kill(child.id() as libc::pid_t, signal);
        }
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "signal {signal}: {stderr}");
        assert!(stderr.contains("interrupted by"), "{stderr}");
    }
}

/// A signal that comes while no trial runs (a trial's run is over, its
/// analysis under way) stops the study as well: the trials after it are not
/// run, the study is written, and the exit code is the signal's, also after
/// the last trial, when no run is left to hear it.
#[cfg(unix)]
#[test]
fn a_signal_between_trials_stops_the_study_too() {
    for trials in [3, 1] {
        let (code, stderr, csv) = signal_after_the_first_run(trials);
        assert_eq!(code, Some(143), "{trials} trials: {stderr}");
        assert!(stderr.contains("interrupted by"), "{stderr}");
        assert_eq!(
            csv.matches("not run (study interrupted)").count(),
            trials - 1,
            "the trials after the signal are not run: {csv}"
        );
        assert!(!csv.contains("interrupted by"), "no run heard it: {csv}");
    }
}

/// Runs a study of `trials` virtual-time trials, one at a time, and sends it
/// SIGTERM once the first trial's run is over: its exit code, its stderr and
/// its `study.csv`.
#[cfg(unix)]
fn signal_after_the_first_run(trials: usize) -> (Option<i32>, String, String) {
    use std::time::{Duration, Instant};
    // Virtual time: each run is over in moments, and its analysis (of
    // long logs) takes longer than the run.
    let plan = format!(
        "name = \"gap\"\nseed = 3\ntrials = {trials}\nruntime = 900\nbase = {{ vm_count = 6 }}\n\n\
         [[variation]]\nname = \"v\"\nvirtual_time = true\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let child = spawn_study(dir.path(), &plan, &["--jobs", "1"]);
    // Once every VM log of the trial has its stop line, its run is over.
    let deadline = Instant::now() + Duration::from_secs(120);
    let run_over = || {
        let logs: Vec<PathBuf> = walk(&dir.path().join("studies"))
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .collect();
        logs.len() == 6
            && logs
                .iter()
                .all(|p| std::fs::read_to_string(p).is_ok_and(|t| t.contains(" INFO stop, ")))
    };
    while !run_over() {
        assert!(Instant::now() < deadline, "the first trial never ended");
        std::thread::sleep(Duration::from_millis(20));
    }
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let out = child.wait_with_output().unwrap();
    let csv = walk(&dir.path().join("studies"))
        .into_iter()
        .find(|p| p.ends_with("study.csv"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .unwrap_or_default();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code(), stderr, csv)
}

/// Starts `experiment` on `plan` (written into `dir`) with `flags`, its
/// studies under `dir/studies`, its output piped.
#[cfg(unix)]
fn spawn_study(dir: &Path, plan: &str, flags: &[&str]) -> std::process::Child {
    let plan_file = dir.join("plan.toml");
    std::fs::write(&plan_file, plan).unwrap();
    binary()
        .arg("experiment")
        .args(flags)
        .arg(&plan_file)
        .arg("--log-dir")
        .arg(dir.join("studies"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|e| {
            let path = e.path();
            if path.is_dir() {
                walk(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}
