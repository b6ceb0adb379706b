//! `analyze --merge`: a run whose VMs wrote their logs into separate node directories, on hosts
//! whose clocks disagree, analysed as one run.
//!
//! The node directories are made from a real (virtual-time) run of the model: each VM's log
//! goes into its own directory with a copy of the run's `settings.toml`, and the times of some
//! directories are shifted by a known constant, as a host's unsynchronised clock would stamp
//! them. The merged analysis must find that constant within the bounds it reports, remove it,
//! and judge the run as the unsplit run is judged.

use std::fs;
use std::path::{Path, PathBuf};

use lc_analysis::{analyze_merged, AnalyzeOptions, OffsetBasis, RunAnalysis};
use lc_contract::timestamp::{parse_micros, Rfc3339};

const NO_PLOTS: AnalyzeOptions = AnalyzeOptions { plots: false };

/// The shifts of the test: host 2's clock 2.5 s ahead, host 3's 1.7 s behind.
const SHIFTS_US: [i64; 3] = [0, 2_500_000, -1_700_000];

/// A 60-virtual-second run of three VMs.
fn model_run() -> crate::common::Run {
    let run = crate::common::run_model(
        "vm_count = 3\n",
        &["--virtual-time", "--runtime", "60", "--seed", "7"],
    );
    assert!(run.output.status.success(), "{}", run.stderr());
    run
}

/// Splits `run` into one directory per VM under `into` (`node-1`, ...), each with its VM's log,
/// every time shifted by `shifts_us[vm - 1]`, and a copy of `settings.toml`.
fn split(run: &Path, into: &Path, shifts_us: &[i64]) -> Vec<PathBuf> {
    (1..=shifts_us.len())
        .map(|vm| {
            let dir = into.join(format!("node-{vm}"));
            fs::create_dir_all(&dir).unwrap();
            fs::copy(run.join("settings.toml"), dir.join("settings.toml")).unwrap();
            let log = format!("vm-{vm}.log");
            let text = fs::read_to_string(run.join(&log)).unwrap();
            fs::write(dir.join(&log), shift(&text, shifts_us[vm - 1])).unwrap();
            dir
        })
        .collect()
}

/// `log` with every line's time moved by `by_us`.
fn shift(log: &str, by_us: i64) -> String {
    log.lines()
        .map(|line| {
            let (time, rest) = line.split_once(' ').unwrap();
            let moved = parse_micros(time).unwrap() + by_us;
            format!("{} {rest}\n", Rfc3339(moved))
        })
        .collect()
}

/// Asserts that the merged analysis reports one offset per directory, that each estimate lies
/// within its bounds and each true shift too; returns the widest bound's width in seconds.
fn assert_offsets_found(a: &RunAnalysis, true_us: &[i64]) -> f64 {
    let offsets = &a.summary().clock_offsets;
    assert_eq!(offsets.len(), true_us.len());
    assert_eq!(offsets[0].basis, OffsetBasis::Reference);
    assert_eq!(offsets[0].offset_s, 0.0);
    let mut widest: f64 = 0.0;
    for (o, &truth) in offsets.iter().zip(true_us).skip(1) {
        assert_eq!(o.basis, OffsetBasis::Interval, "{o:?}");
        let (lo, hi) = (o.lower_s.unwrap(), o.upper_s.unwrap());
        let truth = truth as f64 / 1e6;
        assert!(lo <= o.offset_s && o.offset_s <= hi, "{o:?}");
        assert!(
            lo <= truth && truth <= hi,
            "true shift {truth} outside {o:?}"
        );
        assert!(o.messages_out > 0 && o.messages_in > 0, "{o:?}");
        widest = widest.max(hi - lo);
    }
    widest
}

#[test]
fn shifted_node_directories_merge_into_the_run_they_were_split_from() {
    let run = model_run();
    let whole = crate::common::analyze_without_plots(&run.run_dir());
    assert!(whole.is_healthy(), "{}", whole.report());
    let nodes = tempfile::tempdir().unwrap();
    let dirs = split(&run.run_dir(), nodes.path(), &SHIFTS_US);

    let merged = analyze_merged(&dirs, &NO_PLOTS).unwrap();
    let (m, w) = (merged.summary(), whole.summary());
    assert!(merged.is_healthy(), "{}", merged.report());
    assert!(merged.violations().is_empty());
    assert_eq!(m.messages, w.messages);
    assert_eq!(m.messages.unaccounted, 0);
    assert_eq!((m.ticks, m.lines), (w.ticks, w.lines));
    assert_eq!(
        m.concurrency, w.concurrency,
        "causality needs no wall clock"
    );
    let widest = assert_offsets_found(&merged, &SHIFTS_US);
    assert!(widest < 0.2, "bounds {widest} s wide");
    // Each wait is off by at most the two hosts' estimate errors, each within its bounds.
    assert_eq!(m.waits.count, w.waits.count);
    assert!(
        (m.waits.max_ms - w.waits.max_ms).abs() <= 2.0 * widest * 1e3,
        "max wait {} ms merged, {} ms whole",
        m.waits.max_ms,
        w.waits.max_ms
    );

    // The output is the first directory's, and says what was removed.
    let written = fs::read_to_string(dirs[0].join("summary.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&written).unwrap();
    assert_eq!(json["clock_offsets"].as_array().unwrap().len(), 3);
    assert_eq!(json["clock_offsets"][1]["basis"], "interval");
    assert_eq!(json["clock_offsets"][2]["vms"], serde_json::json!([3]));
    assert!(dirs[0].join("events.csv").is_file());
    let report = merged.report();
    assert!(report.contains("Host clock offsets (estimated"), "{report}");
    let line = report
        .lines()
        .find(|l| l.contains("node-2 (vm 2): +2.5"))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(line.contains(" s (bounds +2."), "{line}");
}

#[test]
fn without_the_correction_the_skew_shows_as_receives_before_their_sends() {
    let run = model_run();
    let nodes = tempfile::tempdir().unwrap();
    let dirs = split(&run.run_dir(), nodes.path(), &SHIFTS_US);
    // The shifted logs in one directory, analysed as one host's run: no offset is removed.
    let together = nodes.path().join("together");
    fs::create_dir(&together).unwrap();
    for (vm, dir) in dirs.iter().enumerate() {
        let log = format!("vm-{}.log", vm + 1);
        fs::copy(dir.join(&log), together.join(&log)).unwrap();
    }
    fs::copy(
        dirs[0].join("settings.toml"),
        together.join("settings.toml"),
    )
    .unwrap();
    let naive = crate::common::analyze_without_plots(&together);
    let merged = analyze_merged(&dirs, &NO_PLOTS).unwrap();

    let (n, m) = (&naive.summary().waits, &merged.summary().waits);
    // Host 3 is 1.7 s behind: what it receives from host 2 looks 4.2 s early.
    assert!(
        n.before_send > m.before_send + 10,
        "{} vs {}",
        n.before_send,
        m.before_send
    );
    assert!(naive
        .summary()
        .notes
        .iter()
        .any(|note| note.contains("stamped before their send")));
    // The longest waits are VM 3's, whose host is 1.7 s behind: uncorrected, they shrink by
    // as much; corrected, they are the unsplit run's to within the bounds.
    let whole = crate::common::analyze_without_plots(&run.run_dir())
        .summary()
        .waits
        .max_ms;
    assert!(
        (n.max_ms - whole).abs() > 1_000.0,
        "{} vs {whole}",
        n.max_ms
    );
    assert!((m.max_ms - whole).abs() < 400.0, "{} vs {whole}", m.max_ms);
}

#[test]
fn an_unshifted_split_has_offsets_near_zero() {
    let run = model_run();
    let nodes = tempfile::tempdir().unwrap();
    let dirs = split(&run.run_dir(), nodes.path(), &[0, 0, 0]);
    let merged = analyze_merged(&dirs, &NO_PLOTS).unwrap();
    assert!(merged.is_healthy(), "{}", merged.report());
    assert_offsets_found(&merged, &[0, 0, 0]);
    for o in &merged.summary().clock_offsets {
        assert!(o.offset_s.abs() < 0.1, "{o:?}");
    }
}

/// The binary's `analyze` with `args`: exit code and stderr.
fn analyze(args: &[&Path]) -> (Option<i32>, String) {
    let out = crate::common::binary()
        .args(["analyze", "--no-plots"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn directories_that_do_not_make_one_run_are_refused_in_one_line() {
    let run = model_run();
    let nodes = tempfile::tempdir().unwrap();
    let dirs = split(&run.run_dir(), nodes.path(), &SHIFTS_US);
    let merge = Path::new("--merge");
    let one_line = |(code, stderr): (Option<i32>, String)| {
        assert_eq!(code, Some(2), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        stderr
    };

    let missing = one_line(analyze(&[merge, &dirs[0], &dirs[1]]));
    assert!(
        missing.contains("settings.toml says 3 VMs but no directory given holds the log of vm 3"),
        "{missing}"
    );

    let twice = nodes.path().join("twice");
    fs::create_dir(&twice).unwrap();
    fs::copy(dirs[1].join("vm-2.log"), twice.join("vm-2.log")).unwrap();
    fs::copy(dirs[1].join("settings.toml"), twice.join("settings.toml")).unwrap();
    let same = one_line(analyze(&[merge, &dirs[0], &dirs[1], &dirs[2], &twice]));
    assert!(
        same.contains(&format!(
            "vm-2's log is in both {} and {}",
            dirs[1].display(),
            twice.display()
        )),
        "{same}"
    );

    // Comments do not count; a value does.
    let settings = dirs[2].join("settings.toml");
    let text = fs::read_to_string(&settings).unwrap();
    fs::write(&settings, format!("# node 3 of 3\n{text}")).unwrap();
    assert_eq!(analyze(&[merge, &dirs[0], &dirs[1], &dirs[2]]).0, Some(0));
    fs::write(&settings, text.replace("seed = 7", "seed = 8")).unwrap();
    let differ = one_line(analyze(&[merge, &dirs[0], &dirs[1], &dirs[2]]));
    assert!(
        differ.contains(&format!(
            "settings.toml of {} differs from that of {} at `seed` (8 there, 7 in the first)",
            dirs[2].display(),
            dirs[0].display()
        )),
        "{differ}"
    );

    let html = one_line(analyze(&[merge, Path::new("--html"), &dirs[0]]));
    assert!(
        html.contains("--merge cannot be combined with --html"),
        "{html}"
    );
    let none = one_line(analyze(&[merge]));
    assert!(
        none.contains("--merge needs the run directory of every node"),
        "{none}"
    );
}
