//! `logical-clocks experiment` end to end: a tiny plan runs (real time and virtual time) and
//! writes the study; bad plans are refused with exit code 2 before anything runs.

mod common;

use common::{binary, run_experiment as experiment};
use std::path::{Path, PathBuf};

fn only_entry(dir: &Path) -> PathBuf {
    let entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    entries.into_iter().next().unwrap()
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
    let again = logical_clocks::experiment::parse_plan(&copied).unwrap();
    assert_eq!(again, logical_clocks::experiment::parse_plan(TINY).unwrap());
}

#[test]
fn virtual_time_flag_runs_every_trial_on_the_virtual_clock() {
    let plan = TINY.replace("runtime = 2", "runtime = 30");
    let (output, dir) = experiment(&plan, &["--virtual-time"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let study = only_entry(&dir.path().join("studies"));
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
