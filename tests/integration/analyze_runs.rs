//! Finding runs, the errors a user sees, a larger synthetic run end to end (with plots), and
//! the comparison table.

use crate::common::vid;
use std::fs;
use std::path::Path;

use lc_analysis::{analyze_run, comparison_table, newest_run, AnalysisError, AnalyzeOptions};
use logical_clocks::synthetic::{write_run, SyntheticRun};

const NO_PLOTS: AnalyzeOptions = AnalyzeOptions { plots: false };

#[test]
fn the_newest_run_is_the_greatest_name_with_a_vm_1_log() {
    let tmp = tempfile::tempdir().unwrap();
    for (dir, has_log) in [
        ("20261125-100000", true),
        ("20261126-090000", true),
        ("20261127-000000", false),
    ] {
        let run = tmp.path().join(dir);
        fs::create_dir(&run).unwrap();
        if has_log {
            fs::write(run.join("vm-1.log"), "").unwrap();
        }
    }
    fs::write(tmp.path().join("zzz-not-a-run"), "").unwrap();
    assert_eq!(
        newest_run(tmp.path()).unwrap(),
        tmp.path().join("20261126-090000")
    );
}

#[test]
fn missing_or_empty_directories_give_one_line_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let nowhere = tmp.path().join("nowhere");
    let errors = [
        newest_run(&nowhere).unwrap_err(),
        newest_run(tmp.path()).unwrap_err(),
        analyze_run(&nowhere, &NO_PLOTS).unwrap_err(),
        analyze_run(tmp.path(), &NO_PLOTS).unwrap_err(),
    ];
    assert!(matches!(errors[0], AnalysisError::MissingLogDir(_)));
    assert!(matches!(errors[1], AnalysisError::NoRuns(_)));
    assert!(matches!(errors[2], AnalysisError::MissingRunDir(_)));
    assert!(matches!(errors[3], AnalysisError::NoLogs(_)));
    for e in &errors {
        let text = e.to_string();
        assert!(!text.contains('\n'), "{text}");
        assert!(text.contains(&tmp.path().display().to_string()), "{text}");
    }
}

#[test]
fn a_run_with_empty_logs_and_no_settings_is_analysed_and_plotted_without_figures() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("vm-1.log"), "").unwrap();
    let a = analyze_run(tmp.path(), &AnalyzeOptions { plots: true }).unwrap();
    assert!(tmp.path().join("spacetime.png").is_file());
    let s = a.summary();
    assert_eq!((s.ticks, s.lines, s.span_s), (0, 0, 0.0));
    assert_eq!(s.settings.vm_count, Some(1));
    assert_eq!(s.lagging_vm, None);
}

#[test]
fn a_bad_settings_file_is_a_note_not_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    write_run(tmp.path(), &SyntheticRun::default()).unwrap();
    fs::write(tmp.path().join("settings.toml"), "vm_count = [").unwrap();
    let a = analyze_run(tmp.path(), &NO_PLOTS).unwrap();
    assert!(a.is_healthy());
    assert!(a
        .summary()
        .notes
        .iter()
        .any(|n| n.starts_with("settings.toml ignored")));
    // The rates then come from the start lines.
    assert_eq!(a.summary().vms[2].configured_rate, Some(400.0));
}

fn png_size(path: &Path) -> (u32, u32) {
    let bytes = fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
    let word = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (word(16), word(20))
}

#[test]
fn a_synthetic_run_is_healthy_and_every_output_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("20261125-170000");
    let spec = SyntheticRun {
        rates: vec![50, 20, 5, 2],
        events: 20_000,
        seed: 3,
        latency_us: 2_000,
    };
    let written = write_run(&run, &spec).unwrap();
    let a = analyze_run(&run, &AnalyzeOptions { plots: true }).unwrap();
    assert!(a.is_healthy(), "{}", a.report());
    let s = a.summary();
    assert_eq!(s.ticks, written.ticks);
    assert_eq!(s.lines, written.lines);
    assert_eq!(s.messages.sent, written.messages);
    assert_eq!(s.messages.received, written.received);
    assert_eq!(s.messages.left_in_queues, written.left_in_queues);
    assert_eq!(s.settings.seed, Some(3));
    // The slowest VM falls furthest behind.
    assert_eq!(s.lagging_vm, Some(vid(4)));
    for v in &s.vms {
        let rate = v.configured_rate.unwrap();
        assert!((v.measured_rate - rate).abs() / rate < 0.05, "{v:?}");
        assert!(v.p95_jump <= v.max_jump && v.mean_jump >= 1.0);
    }

    for name in [
        "clock.png",
        "queue.png",
        "jumps.png",
        "drift.png",
        "spacetime.png",
    ] {
        let path = run.join(name);
        assert!(a.files().contains(&path), "{name}");
        assert_eq!(png_size(&path), (1600, 900), "{name}");
    }
    let csv = fs::read_to_string(run.join("events.csv")).unwrap();
    assert_eq!(csv.lines().count() as u64, 1 + written.lines);
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!(json["files"].as_array().unwrap().len(), 7);
    let report = a.report();
    assert!(report.contains("Healthy: yes"), "{report}");
    assert!(report.contains("clock.png"), "{report}");
}

#[test]
fn the_comparison_table_has_one_row_per_run() {
    let tmp = tempfile::tempdir().unwrap();
    let runs: Vec<_> = [1u64, 2]
        .iter()
        .map(|&seed| {
            let dir = tmp.path().join(format!("run-{seed}"));
            let spec = SyntheticRun {
                seed,
                events: 2_000,
                ..SyntheticRun::default()
            };
            write_run(&dir, &spec).unwrap();
            analyze_run(&dir, &NO_PLOTS).unwrap()
        })
        .collect();
    let table = comparison_table(&runs);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[0].starts_with("run"));
    assert!(lines[1].starts_with("run-1") && lines[2].starts_with("run-2"));
    assert!(lines[1].ends_with("yes"), "{table}");
}
