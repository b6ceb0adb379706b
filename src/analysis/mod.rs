//! `logical-clocks analyze`: reads a run's VM logs and tells what happened to the clocks.
//!
//! The analysis streams: the per-VM logs are merged in time order and every figure is updated
//! line by line, so a run of a million events takes about a second and bounded memory. The parts:
//!
//! - `record.rs` and `parse.rs`: one log line typed after the log contract, and its parser (pure).
//! - `run_dir.rs` and `run_settings.rs`: finding runs and VM logs; reading `settings.toml`.
//! - `merge.rs`: the k-way time merge of the per-VM line readers (the only reader of logs).
//! - `check.rs`: Lamport's rules along each VM's program order (pure).
//! - `matching.rs`: receives matched to sends, checking every message edge (pure).
//! - `violation.rs`: broken rules with file and line, capped in memory.
//! - `stats.rs`, `quantile.rs`, `drift.rs`, `series.rs`, `window.rs`: the running figures, the
//!   bounded quantiles, the drift grid, downsampled plot series, the space-time window (pure).
//! - `analyzer.rs`: routes each merged line to all of the above, and writes `events.csv` rows
//!   through `csv.rs`.
//! - `summary.rs`: the `summary.json` schema and its construction; `report.rs`: the text report
//!   and the comparison table.
//! - `plots.rs`: the PNG plots, drawn with a bundled font.
//! - `synthetic.rs`: writes a valid synthetic run of any size, for the benchmark and tests.
//!
//! [`analyze_run`] is the driver: it is the one place that opens output files.

mod analyzer;
mod check;
mod csv;
mod drift;
mod error;
mod matching;
mod merge;
mod parse;
pub(crate) mod plots;
mod quantile;
mod record;
mod report;
mod run_dir;
mod run_settings;
mod series;
mod stats;
mod summary;
pub mod synthetic;
mod violation;
mod window;

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

pub use error::AnalysisError;
pub use parse::{parse_line, ParseError};
pub use record::{Action, Body, Kind, Level, Record, Tick};
pub use run_dir::newest_run;
pub use run_settings::RunSettings;
pub use summary::{Check, Messages, Summary, VmSummary, WaitFigures};
pub use violation::{Rule, Violation};

use analyzer::Analyzer;
use merge::TimeMerge;

/// What `analyze` should produce besides the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnalyzeOptions {
    /// Draw the PNG plots (`--no-plots` turns this off for speed).
    pub plots: bool,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        AnalyzeOptions { plots: true }
    }
}

/// The analysis of one run: its summary, the rules it broke, and the files written.
#[derive(Debug, Clone)]
pub struct RunAnalysis {
    summary: Summary,
    violations: Vec<Violation>,
    /// The first WARN/ERRO/CRIT lines, quoted.
    notices: Vec<String>,
    /// A few messages that were sent but never received, as text.
    unreceived: Vec<String>,
    files: Vec<PathBuf>,
}

impl RunAnalysis {
    /// The human-readable report: per-VM tables, run figures, violations, files written.
    pub fn report(&self) -> String {
        report::render(self)
    }

    /// True when no rule is broken and every message is accounted for.
    pub fn is_healthy(&self) -> bool {
        self.summary.check.healthy
    }

    /// The violations found, in file and line order (the first [`Self::VIOLATIONS_KEPT`]; the
    /// summary counts all of them).
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// Everything `summary.json` holds.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// The files written into the run directory.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// How many violations are kept in full.
    pub const VIOLATIONS_KEPT: usize = violation::Violations::KEEP;
}

/// Analyses the run in `run_dir` and writes `summary.json`, `events.csv` and (if asked) the
/// plots into it.
pub fn analyze_run(run_dir: &Path, opts: &AnalyzeOptions) -> Result<RunAnalysis, AnalysisError> {
    let logs = run_dir::vm_logs(run_dir)?;
    let (settings, settings_note) = run_settings::read_settings(run_dir);
    let mut outcome = stream(&logs, &run_dir.join("events.csv"))?;
    outcome.notes.extend(settings_note);
    outcome.notes.extend(
        settings
            .vm_count
            .and_then(|n| run_dir::missing_logs(&logs, n)),
    );

    let mut files = vec![run_dir.join("summary.json"), run_dir.join("events.csv")];
    if opts.plots {
        files.extend(plots::FILES.iter().map(|name| run_dir.join(name)));
    }
    let names = files.iter().map(|f| file_name(f)).collect();
    let summary = summary::build(run_dir, settings, &outcome, names);
    if opts.plots {
        let labels: Vec<String> = summary
            .vms
            .iter()
            .map(|v| match v.configured_rate {
                Some(rate) => format!("VM {} ({rate} ticks/s)", v.vm),
                None => format!("VM {}", v.vm),
            })
            .collect();
        plots::draw_all(run_dir, &outcome.plot, &labels)?;
    }
    summary::write(&files[0], &summary)?;

    let violations = outcome
        .findings
        .into_iter()
        .map(|f| Violation {
            file: logs[f.at.file].path.clone(),
            line: f.at.line,
            rule: f.rule,
            detail: f.detail,
        })
        .collect();
    let unreceived = outcome
        .unreceived
        .examples
        .iter()
        .map(|(at, sender, seq, recipient)| {
            format!(
                "vm {sender} seq {seq} to vm {recipient} (sent at {}:{})",
                file_name(&logs[at.file].path),
                at.line
            )
        })
        .collect();
    Ok(RunAnalysis {
        summary,
        violations,
        notices: outcome.notices,
        unreceived,
        files,
    })
}

/// The one pass over the logs: merges them in time order into the analyzer, which writes
/// `events.csv` to `csv_path` on the way.
fn stream(logs: &[run_dir::VmLog], csv_path: &Path) -> Result<analyzer::Outcome, AnalysisError> {
    let write_error = |source| AnalysisError::Write {
        path: csv_path.to_path_buf(),
        source,
    };
    let mut merge = TimeMerge::open(logs)?;
    let origin_us = merge.peek_time().unwrap_or(0);
    let csv = BufWriter::with_capacity(1 << 20, File::create(csv_path).map_err(write_error)?);
    let mut analyzer = Analyzer::new(logs.to_vec(), origin_us, csv).map_err(write_error)?;
    while let Some(item) = merge.next_item()? {
        analyzer.feed(item).map_err(write_error)?;
    }
    analyzer.finish().map_err(write_error)
}

/// A table with one row per run, to compare runs.
pub fn comparison_table(runs: &[RunAnalysis]) -> String {
    report::comparison(runs)
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}
