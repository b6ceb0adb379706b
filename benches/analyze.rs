//! Times `analyze` on a synthetic, valid run of 1,000,000 events.
//!
//! A plain `main` (harness = false): it writes the run into a temporary directory, then times
//! the analysis without plots (all figures, summary.json and events.csv: the figure the 2 s
//! budget is about) and once more with plots. Run with `cargo bench --bench analyze`; pass an
//! event count as the first argument to try other sizes.

use std::time::Instant;

use lc_analysis::{analyze_run, AnalyzeOptions};
use logical_clocks::synthetic::{write_run, SyntheticRun};

fn main() {
    let events = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<u64>().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let run = dir.path().join("20261125-170000");
    let spec = SyntheticRun {
        events,
        ..SyntheticRun::default()
    };

    let t = Instant::now();
    let written = write_run(&run, &spec).expect("the synthetic run is written");
    let bytes: u64 = std::fs::read_dir(&run)
        .expect("the run directory")
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!(
        "generated {} lines ({:.1} MB, {} VMs) in {:.2} s",
        written.lines,
        bytes as f64 / 1e6,
        spec.rates.len(),
        t.elapsed().as_secs_f64()
    );

    for plots in [false, true] {
        let t = Instant::now();
        let analysis = analyze_run(&run, &AnalyzeOptions { plots }).expect("the analysis");
        let secs = t.elapsed().as_secs_f64();
        let s = analysis.summary();
        assert!(analysis.is_healthy(), "{}", analysis.report());
        assert_eq!(s.ticks, written.ticks);
        assert_eq!(s.lines, written.lines);
        println!(
            "analyze {}: {} lines in {:.3} s = {:.2} M lines/s (healthy: {})",
            if plots {
                "with plots   "
            } else {
                "--no-plots   "
            },
            s.lines,
            secs,
            s.lines as f64 / secs / 1e6,
            analysis.is_healthy()
        );
    }
}
