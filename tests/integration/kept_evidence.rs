//! The evidence a study keeps. A run's VM logs may be kept gzipped (`vm-<id>.log.gz`, as
//! `experiment --compress-logs` writes them) and `analyze` must read them exactly as the plain
//! logs they were. Every study kept under `docs/` must carry its trials' logs, every kept run must
//! analyse as healthy and recompute its `summary.json`, and the study's tables must recompute
//! from those trials with the experiment's own code: so any figure of EngineeringNotebook.md can
//! be checked again from `docs/`.
//!
//! [`check_kept_studies`] is the walker. `kept_study_runs_in_docs_recompute` points it at
//! `docs/` and fails while a kept trial lacks its logs; the study test points it at a small
//! virtual-time study generated here with `--compress-logs`, so the walker is exercised (and
//! shown to catch tampering) whatever `docs/` holds.

use crate::common::binary;
use lc_analysis::{self, AnalysisError, AnalyzeOptions, Rule, Summary};
use lc_contract::vm_log::VmLog;
use lc_experiment::{self, KeptStudy, KeptTrialError};
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------------------------
// The walker

/// What the walk over kept studies found.
#[derive(Debug, Default)]
struct Findings {
    /// Kept run directories that analysed healthy and recomputed their `summary.json`.
    runs_checked: usize,
    /// Studies whose tables recomputed from their trials.
    studies_checked: usize,
    /// Kept run directories with no VM log: nothing in them can be checked again.
    without_logs: Vec<PathBuf>,
    /// Everything else that is wrong, one line each.
    problems: Vec<String>,
}

/// Walks `<dir>/study*/` and checks every kept study there (see [`check_kept_study`]).
fn check_kept_studies(dir: &Path) -> (Vec<PathBuf>, Findings) {
    let mut studies: Vec<PathBuf> = subdirs(dir)
        .into_iter()
        .filter(|d| {
            d.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("study")
        })
        .collect();
    studies.sort();
    let mut findings = Findings::default();
    for study in &studies {
        check_kept_study(study, &mut findings);
    }
    (studies, findings)
}

/// Checks one kept study. Every trial of its plan must have kept its run directory under
/// `trials/<variation>-<k>/` with its logs, and nothing else may be kept there; each run must
/// analyse as healthy, with no finding, and recompute its `summary.json` field by field; then
/// the study's `study.csv`, `variations.csv` and the report's figures table (and, where trials
/// had faults, `faults.csv` and the report's faults section) must recompute from the trials. All of it comes from [`lc_experiment::recompute_study`]: one pass over each run's
/// logs (the pass [`lc_analysis::check_run`] makes; its findings are the analysis's
/// `violations()`), judged and tabulated by the experiment's own code.
fn check_kept_study(study: &Path, findings: &mut Findings) {
    let kept = match lc_experiment::recompute_study(study) {
        Ok(kept) => kept,
        Err(e) => return findings.problems.push(format!("{}: {e}", study.display())),
    };
    for trial_dir in subdirs(&study.join("trials")) {
        let name = trial_dir
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if !kept
            .trials
            .iter()
            .any(|t| format!("{}-{}", t.variation, t.number) == name)
        {
            findings.problems.push(format!(
                "{}: not a trial of the study's plan",
                trial_dir.display()
            ));
        }
    }
    let mut lacking = 0;
    for trial in &kept.trials {
        match &trial.analysis {
            Err(KeptTrialError::Analysis(AnalysisError::NoLogs(run_dir))) => {
                lacking += 1;
                findings.without_logs.push(run_dir.clone());
            }
            Err(e) => findings.problems.push(format!(
                "{}: trial {} #{}: {e}",
                study.display(),
                trial.variation,
                trial.number
            )),
            Ok((run_dir, analysis)) if !analysis.violations().is_empty() => {
                findings.problems.push(format!(
                    "{}: {} findings, the first: {}",
                    run_dir.display(),
                    analysis.summary().check.violations,
                    analysis.violations()[0]
                ))
            }
            Ok((run_dir, analysis)) if !analysis.is_healthy() => findings.problems.push(format!(
                "{}: not healthy: {} messages unaccounted",
                run_dir.display(),
                analysis.summary().messages.unaccounted
            )),
            Ok((run_dir, analysis)) => {
                let before = findings.problems.len();
                check_summary(run_dir, analysis.summary(), &mut findings.problems);
                if findings.problems.len() == before {
                    findings.runs_checked += 1;
                }
            }
        }
    }
    if lacking > 0 {
        findings.problems.push(format!(
            "{}: its tables cannot be recomputed while {lacking} trials lack their logs",
            study.display()
        ));
        return;
    }
    let before = findings.problems.len();
    check_tables(study, &kept, &mut findings.problems);
    if findings.problems.len() == before {
        findings.studies_checked += 1;
    }
}

/// The run's summary, recomputed from its logs without writing anything, against its kept
/// `summary.json`: every field kept must come back equal. Two fields say where and how the
/// analysis once wrote, not what it found, and are skipped: `run_dir` (the path the run was
/// first written to) and `files` (a recomputation writes none). Fields the kept file lacks are
/// newer than it and not compared (the schema only grows). A place in a log (a fault's lines,
/// its expected findings: `vm-2.log:9`) was written before `--compress-logs` gzipped the log, so
/// recomputed from the kept `vm-2.log.gz` it reads `vm-2.log.gz:9`: the same line of the same
/// log, and taken as equal.
fn check_summary(run_dir: &Path, recomputed: &Summary, problems: &mut Vec<String>) {
    let file = run_dir.join("summary.json");
    let kept: Value = match fs::read_to_string(&file).map(|t| serde_json::from_str(&t)) {
        Ok(Ok(kept)) => kept,
        Ok(Err(e)) => return problems.push(format!("{}: {e}", file.display())),
        Err(e) => return problems.push(format!("{}: {e}", file.display())),
    };
    // Through the same text form as the kept file, so numbers compare as written.
    let recomputed: Value =
        serde_json::from_str(&serde_json::to_string(recomputed).unwrap()).unwrap();
    let Value::Object(kept) = kept else {
        return problems.push(format!("{}: not a JSON object", file.display()));
    };
    let mut differences = Vec::new();
    for (key, value) in &kept {
        if key == "run_dir" || key == "files" {
            continue;
        }
        differ(key, value, recomputed.get(key), &mut differences);
    }
    for difference in differences {
        problems.push(format!("{}: {difference}", file.display()));
    }
}

/// Names every field of `kept` that `recomputed` does not reproduce exactly.
fn differ(path: &str, kept: &Value, recomputed: Option<&Value>, out: &mut Vec<String>) {
    match (kept, recomputed) {
        (Value::Object(k), Some(Value::Object(r))) => {
            for (key, value) in k {
                differ(&format!("{path}.{key}"), value, r.get(key), out);
            }
        }
        (Value::Array(k), Some(Value::Array(r))) if k.len() == r.len() => {
            for (i, (kv, rv)) in k.iter().zip(r).enumerate() {
                differ(&format!("{path}[{i}]"), kv, Some(rv), out);
            }
        }
        (k, Some(r)) if k == r => {}
        (Value::String(k), Some(Value::String(r))) if *k == r.replace(".log.gz:", ".log:") => {}
        (k, Some(r)) => out.push(format!("`{path}` is {k} as kept but {r} recomputed")),
        (k, None) => out.push(format!("`{path}` is {k} as kept but is not recomputed")),
    }
}

/// The study's tables against their recomputation from the kept trials.
fn check_tables(study: &Path, kept: &KeptStudy, problems: &mut Vec<String>) {
    // study.csv: every column but the last two, wall time and the path first written to,
    // which no log holds.
    let file = study.join("study.csv");
    match fs::read_to_string(&file) {
        Err(e) => problems.push(format!("{}: {e}", file.display())),
        Ok(text) => {
            let recomputed = kept.study_csv();
            let (kept_rows, new_rows) = (without_last_two(&text), without_last_two(&recomputed));
            if kept_rows.len() != new_rows.len() {
                problems.push(format!(
                    "{}: {} rows kept, {} recomputed",
                    file.display(),
                    kept_rows.len(),
                    new_rows.len()
                ));
            }
            for (i, (k, r)) in kept_rows.iter().zip(&new_rows).enumerate() {
                if k != r {
                    problems.push(format!(
                        "{} line {}: kept `{k}` but recomputed `{r}`",
                        file.display(),
                        i + 1
                    ));
                }
            }
        }
    }

    // variations.csv, where kept, entirely.
    let file = study.join("variations.csv");
    if let Ok(text) = fs::read_to_string(&file) {
        same_lines(&file, &text, &kept.variations_csv(), problems);
    }

    // The report's figures table: the means the notebook quotes.
    let file = study.join("report.md");
    match fs::read_to_string(&file) {
        Err(e) => problems.push(format!("{}: {e}", file.display())),
        Ok(text) if !text.contains(&kept.figures_table()) => problems.push(format!(
            "{}: its figures table does not recompute; recomputed:\n{}",
            file.display(),
            kept.figures_table()
        )),
        Ok(text) if !text.contains(&kept.faults_section()) => problems.push(format!(
            "{}: its faults section does not recompute; recomputed:{}",
            file.display(),
            kept.faults_section()
        )),
        Ok(_) => {}
    }

    // faults.csv, entirely, where some trial had faults; nowhere else.
    let file = study.join(lc_experiment::FAULTS_CSV);
    match (fs::read_to_string(&file), kept.faults_csv()) {
        (Ok(_), None) => problems.push(format!(
            "{}: kept, but no trial of the study had a fault",
            file.display()
        )),
        (Err(e), Some(_)) => problems.push(format!(
            "{}: {e}, but trials of the study had faults",
            file.display()
        )),
        (Ok(text), Some(recomputed)) => same_lines(&file, &text, &recomputed, problems),
        (Err(_), None) => {}
    }
}

/// A kept table against its recomputation, line by line.
fn same_lines(file: &Path, kept: &str, recomputed: &str, problems: &mut Vec<String>) {
    for (i, (k, r)) in kept.lines().zip(recomputed.lines()).enumerate() {
        if k != r {
            problems.push(format!(
                "{} line {}: kept `{k}` but recomputed `{r}`",
                file.display(),
                i + 1
            ));
        }
    }
    if kept.lines().count() != recomputed.lines().count() {
        problems.push(format!("{}: row count differs", file.display()));
    }
}

/// Each CSV line without its last two cells (`wall_s`, `run_dir`; neither holds a comma).
fn without_last_two(csv: &str) -> Vec<String> {
    csv.lines()
        .map(|line| line.rsplitn(3, ',').last().unwrap_or_default().to_string())
        .collect()
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn listed(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| format!("  {}", p.display()))
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------------------------------------
// The studies kept in docs/

#[test]
fn kept_study_runs_in_docs_recompute() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let (studies, findings) = check_kept_studies(&docs);
    assert!(!studies.is_empty(), "no study under {}", docs.display());
    assert!(
        findings.without_logs.is_empty(),
        "{} kept trial run directories lack their VM logs, so the figures drawn from them \
         cannot be checked again; regenerate the studies with `logical-clocks experiment \
         PLAN --compress-logs ...` (see docs/experiment.md, Keeping a study):\n{}",
        findings.without_logs.len(),
        listed(&findings.without_logs)
    );
    assert!(
        findings.problems.is_empty(),
        "kept studies that do not recompute:\n{}",
        findings.problems.join("\n")
    );
    assert!(findings.runs_checked > 0 && findings.studies_checked == studies.len());
}

// ---------------------------------------------------------------------------------------------
// A study generated here and kept with compressed logs

const PLAN: &str = r#"
name = "kept"
seed = 7
trials = 2
runtime = 5

[[variation]]
name = "baseline"

[[variation]]
name = "narrow"
rate_min = 3
rate_max = 4
internal_probability = 0.3
"#;

/// Runs `experiment` on `plan_text` on virtual time with extra flags; returns the study
/// directory.
fn study(dir: &Path, plan_text: &str, flags: &[&str]) -> PathBuf {
    let plan = dir.join("plan.toml");
    fs::write(&plan, plan_text).unwrap();
    let studies = dir.join("studies");
    let output = binary()
        .arg("experiment")
        .arg(&plan)
        .args(["--virtual-time", "--jobs", "2", "--log-dir"])
        .arg(&studies)
        .args(flags)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let found = subdirs(&studies);
    assert_eq!(found.len(), 1, "{found:?}");
    found.into_iter().next().unwrap()
}

/// The kept run directories of a study.
fn run_dirs(study: &Path) -> Vec<PathBuf> {
    subdirs(&study.join("trials"))
        .iter()
        .flat_map(|trial| subdirs(trial))
        .collect()
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_study_kept_with_compressed_logs_recomputes_and_tampering_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let study = study(dir.path(), PLAN, &["--compress-logs"]);
    let runs = run_dirs(&study);
    assert_eq!(runs.len(), 4, "{runs:?}");
    for run in &runs {
        let names = file_names(run);
        let logs: Vec<&String> = names.iter().filter(|n| n.starts_with("vm-")).collect();
        assert_eq!(
            logs,
            ["vm-1.log.gz", "vm-2.log.gz", "vm-3.log.gz"],
            "{}",
            run.display()
        );
        assert!(names.contains(&"summary.json".to_string()));
    }
    let copied = fs::read_to_string(study.join("plan.toml")).unwrap();
    assert!(copied.contains("--compress-logs"), "{copied}");

    let mut findings = Findings::default();
    check_kept_study(&study, &mut findings);
    assert!(findings.problems.is_empty(), "{:#?}", findings.problems);
    assert!(findings.without_logs.is_empty());
    assert_eq!((findings.runs_checked, findings.studies_checked), (4, 1));

    // The walker is not a rubber stamp: a figure changed in study.csv, a field changed in a
    // summary.json and a trial kept without its logs are each caught.
    let csv = fs::read_to_string(study.join("study.csv")).unwrap();
    let mut lines: Vec<String> = csv.lines().map(String::from).collect();
    let mut cells: Vec<String> = lines[2].split(',').map(String::from).collect();
    let max_jump = 7; // variation,trial,seed,rates,status,slowest_vm,slowest_rate,max_jump
    cells[max_jump] = format!("{}0", cells[max_jump]);
    lines[2] = cells.join(",");
    fs::write(study.join("study.csv"), lines.join("\n") + "\n").unwrap();

    let summary_file = runs[0].join("summary.json");
    let mut summary: Value =
        serde_json::from_str(&fs::read_to_string(&summary_file).unwrap()).unwrap();
    summary["vms"][1]["mean_queue"] = Value::from(1234.5);
    fs::write(
        &summary_file,
        serde_json::to_string_pretty(&summary).unwrap(),
    )
    .unwrap();

    let mut findings = Findings::default();
    check_kept_study(&study, &mut findings);
    assert_eq!(findings.problems.len(), 2, "{:#?}", findings.problems);
    assert!(
        findings.problems[0].contains("`vms[1].mean_queue` is 1234.5 as kept but"),
        "{}",
        findings.problems[0]
    );
    assert!(
        findings.problems[1].contains("study.csv line 3: kept"),
        "{}",
        findings.problems[1]
    );

    for log in lc_analysis::vm_logs(&runs[3]).unwrap() {
        fs::remove_file(log.path).unwrap();
    }
    fs::create_dir_all(study.join("trials/stray-1/run")).unwrap();
    let mut findings = Findings::default();
    check_kept_study(&study, &mut findings);
    assert_eq!(findings.without_logs, [runs[3].clone()]);
    let says = |end: &str| findings.problems.iter().any(|p| p.ends_with(end));
    assert!(
        says("stray-1: not a trial of the study's plan"),
        "{:#?}",
        findings.problems
    );
    assert!(says(
        "its tables cannot be recomputed while 1 trials lack their logs"
    ));
}

/// A study with faults in one variation: a pause and a held partition, short of any crash (whose
/// reset would owe findings to it).
const FAULT_PLAN: &str = r#"
name = "kept-faults"
seed = 9
trials = 2
runtime = 12

[[variation]]
name = "cut"
faults = [
    { kind = "pause", vm = 2, from_s = 2, until_s = 4 },
    { kind = "partition", groups = [[1], [2, 3]], from_s = 5, until_s = 8 },
]

[[variation]]
name = "calm"
"#;

#[test]
fn a_kept_fault_study_recomputes_its_faults_table_and_tampering_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let study = study(dir.path(), FAULT_PLAN, &["--compress-logs"]);
    let mut findings = Findings::default();
    check_kept_study(&study, &mut findings);
    assert!(findings.problems.is_empty(), "{:#?}", findings.problems);
    assert_eq!((findings.runs_checked, findings.studies_checked), (4, 1));

    // A figure changed in faults.csv, and a report whose faults section was cut, are caught.
    let file = study.join(lc_experiment::FAULTS_CSV);
    let csv = fs::read_to_string(&file).unwrap();
    let mut lines: Vec<String> = csv.lines().map(String::from).collect();
    lines[1].push('7'); // its last figure
    fs::write(&file, lines.join("\n") + "\n").unwrap();
    let report_file = study.join("report.md");
    let report = fs::read_to_string(&report_file).unwrap();
    let section = report.find("\n## Faults\n").unwrap();
    let after = report[section + 1..].find("\n## ").unwrap() + section + 1;
    fs::write(
        &report_file,
        format!("{}{}", &report[..section], &report[after..]),
    )
    .unwrap();

    let mut findings = Findings::default();
    check_kept_study(&study, &mut findings);
    assert_eq!(findings.problems.len(), 2, "{:#?}", findings.problems);
    assert!(
        findings.problems[0].contains("its faults section does not recompute"),
        "{}",
        findings.problems[0]
    );
    assert!(
        findings.problems[1].contains("faults.csv line 2: kept"),
        "{}",
        findings.problems[1]
    );

    // A fault study kept without its faults.csv is caught too.
    fs::remove_file(&file).unwrap();
    fs::write(&report_file, &report).unwrap();
    let mut findings = Findings::default();
    check_kept_study(&study, &mut findings);
    assert_eq!(findings.problems.len(), 1, "{:#?}", findings.problems);
    assert!(findings.problems[0].contains("but trials of the study had faults"));
}

// ---------------------------------------------------------------------------------------------
// analyze on compressed logs

/// A synthetic run in `<parent>/run`, its logs plain.
fn synthetic_run(parent: &Path) -> PathBuf {
    let run = parent.join("run");
    logical_clocks::synthetic::write_run(
        &run,
        &logical_clocks::synthetic::SyntheticRun {
            rates: vec![5, 3, 2],
            events: 1_500,
            ..Default::default()
        },
    )
    .unwrap();
    run
}

fn compress_all(run: &Path) {
    for log in lc_analysis::vm_logs(run).unwrap() {
        log.compress().unwrap();
    }
}

#[test]
fn a_compressed_run_analyses_exactly_as_its_plain_logs() {
    let dir = tempfile::tempdir().unwrap();
    let run = synthetic_run(dir.path());
    let options = AnalyzeOptions { plots: true };
    let from_plain = lc_analysis::analyze_run(&run, &options).unwrap();
    let written: Vec<Vec<u8>> = from_plain
        .files()
        .iter()
        .map(|f| fs::read(f).unwrap())
        .collect();

    compress_all(&run);
    assert!(file_names(&run).iter().all(|n| !n.ends_with(".log")));
    let from_kept = lc_analysis::analyze_run(&run, &options).unwrap();
    assert!(from_kept.is_healthy());
    assert_eq!(from_kept.summary(), from_plain.summary());
    assert_eq!(from_kept.late_max_us(), from_plain.late_max_us());
    assert_eq!(from_kept.report(), from_plain.report());
    // summary.json, events.csv and every plot, byte for byte.
    assert_eq!(from_kept.files(), from_plain.files());
    for (file, before) in from_kept.files().iter().zip(&written) {
        assert_eq!(&fs::read(file).unwrap(), before, "{}", file.display());
    }
    assert!(lc_analysis::check_run(&run).unwrap().is_empty());

    // The command line reads it too, as the newest run of its log directory.
    let output = binary()
        .args(["analyze", "--no-plots", "--log-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains("Rules of the model: OK"));
}

#[test]
fn findings_in_a_compressed_log_cite_the_compressed_file() {
    let dir = tempfile::tempdir().unwrap();
    let run = synthetic_run(dir.path());
    let vm2 = run.join("vm-2.log");
    let mut lines: Vec<String> = fs::read_to_string(&vm2)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    // VM 2's first send claims a clock 1000 ahead: a broken tick step there, and a msg_lc
    // mismatch at its receive, which cites the send by its file and line.
    let send = lines.iter().position(|l| l.contains(" INFO send")).unwrap();
    lines[send] = lines[send]
        .split(", ")
        .map(|part| match part.strip_prefix("lc: ") {
            Some(lc) => format!("lc: {}", lc.parse::<u64>().unwrap() + 1000),
            None => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    // And a line of a kind this analysis does not know, after the stop line.
    let stamp = lines.last().unwrap().split(' ').next().unwrap().to_string();
    lines.push(format!("{stamp} INFO resync, vm: 2"));
    fs::write(&vm2, lines.join("\n") + "\n").unwrap();
    compress_all(&run);
    let (send_line, resync_line) = (send + 1, lines.len());

    let violations = lc_analysis::check_run(&run).unwrap();
    let at_send = violations
        .iter()
        .find(|v| v.line == send_line && v.file == run.join("vm-2.log.gz"))
        .expect("a finding at the send");
    assert_eq!(at_send.rule, Rule::TickStep);
    assert!(
        at_send
            .to_string()
            .starts_with(&format!("vm-2.log.gz:{send_line}: tick-step: ")),
        "{at_send}"
    );
    let cited = format!("(vm-2.log.gz:{send_line})");
    assert!(
        violations
            .iter()
            .any(|v| v.rule == Rule::MsgLcMismatch && v.detail.contains(&cited)),
        "{violations:#?}"
    );
    assert!(violations
        .iter()
        .all(|v| v.file.to_string_lossy().ends_with(".log.gz")));

    let output = binary()
        .args(["analyze", "--no-plots"])
        .arg(&run)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("vm-2.log.gz:{send_line}: tick-step")),
        "{stdout}"
    );
    assert!(stdout.contains(&cited), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "vm-2.log.gz:{resync_line}: INFO line of unknown kind `resync` skipped"
        )),
        "{stdout}"
    );
    assert!(!stdout.contains(".log:"), "a plain name cited: {stdout}");
}

#[test]
fn a_log_kept_in_both_forms_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let run = synthetic_run(dir.path());
    let plain = run.join("vm-3.log");
    let text = fs::read(&plain).unwrap();
    VmLog::at(&plain).unwrap().compress().unwrap();
    fs::write(&plain, text).unwrap();

    let output = binary()
        .args(["analyze", "--no-plots"])
        .arg(&run)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!(
            "error: run directory {} holds both vm-3.log and vm-3.log.gz: keep one of them \
             (analyze reads either form of a VM's log, not both)",
            run.display()
        )
    );
    assert!(matches!(
        lc_analysis::check_run(&run),
        Err(AnalysisError::TwoForms { .. })
    ));
}
