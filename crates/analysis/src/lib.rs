//! `logical-clocks analyze`: reads a run's VM logs and tells what happened to the clocks.
//!
//! The analysis streams: the per-VM logs are merged in time order and every figure is updated
//! line by line, so a run of a million events takes about a second and bounded memory. The parts,
//! in the order a line passes through them:
//!
//! - `read/`: finding runs and VM logs (plain `vm-<id>.log`, or `vm-<id>.log.gz` as a study
//!   keeps them) and the k-way time merge that is the only reader of logs; `parse.rs` and
//!   `record.rs` (one log line typed after the log contract, through the contract's parser),
//!   `run_settings.rs` (`settings.toml`) and `node_dirs.rs` (a run whose VMs ran on separate
//!   hosts, one run directory per node, opened as one run with `analyze --merge`).
//! - `rules/`: the rules of the model, each a small pure checker fed one VM's lines in file
//!   order, and across VMs the matching of receives to sends and what the faults did;
//!   `vc_order.rs` (a logged `vc` against the rules) and `settings_check.rs` (`settings.toml`
//!   against the logs, so a missing log is one finding rather than a cascade).
//! - `causality/`: the ticks again, released in causal order with the vector clock each has by
//!   send/receive matching; the ordered and concurrent pairs; causal cones (all pure).
//! - `figures/`: the running figures, bounded quantiles, the drift grid, downsampled plot
//!   series, the space-time window (pure).
//! - `analyzer.rs`: routes each merged line to all of the above.
//! - `outputs/`: `summary.json`, the text report, `events.csv`, the PNG plots, the ShiViz log
//!   and `report.html`: the only part that knows an output format; `safe_write.rs` is how each
//!   of them reaches the disk (never over an input, never through a link, never half-written).
//! - `compare.rs`: two runs of the same settings (a real run and its virtual-time twin) compared
//!   tick by tick, timestamps ignored (pure); [`compare_runs`] feeds it both runs' logs.
//! - `error.rs`: why a run could not be analysed.
//!
//! [`analyze_run`] (and [`analyze_merged`], the same for a run split over node directories) and
//! [`export_shiviz`] (one ShiViz log for several runs) are the drivers, and
//! the only places that open output files; [`causal_history`] makes the causal pass alone for
//! one run. [`check_run`] makes the same single pass as `analyze_run` and writes nothing; it is
//! how the integration tests judge the runs they make, so `analyze` and the tests hold runs to
//! one set of rules. [`summarize_run`] is `analyze_run` writing nothing: how a kept run (a
//! study's evidence under `docs/`) is recomputed and compared with the `summary.json` it was
//! kept with, without touching it.

mod analyzer;
mod causality;
mod compare;
mod error;
mod figures;
mod outputs;
mod read;
mod rules;

use lc_core::vm_id::VmId;
pub use outputs::safe_write::{self, Inputs};
pub use outputs::{legend, plots, shiviz, table};
use outputs::{report, summary};
use read::{merge, node_dirs, record, run_dir, run_settings};
use rules::{settings_check, violation};

use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub use causality::causal_cone::{Cone, EventId, History};
pub use compare::{Divergence, Headline, RunComparison, SettingDifference, VmComparison};
pub use error::AnalysisError;
pub use outputs::html::{write_html_report, HtmlReport};
pub use record::{Action, Body, Kind, Level, Record, Tick};
pub use run_dir::{newest_run, vm_logs};
pub use summary::{
    Check, ClockOffset, Concurrency, ExpectedFinding, FaultSummary, FaultVmLines, Messages,
    OffsetBasis, PairCounts, PartitionFigures, Summary, VmPairConcurrency, VmSummary, WaitFigures,
};
pub use violation::{Rule, Violation};

use analyzer::Analyzer;
use causality::causal_order::{CausalOrder, Event, Released};
use lc_contract::vm_log::VmLog;
use merge::{Merged, TimeMerge};
use run_settings::SettingsFile;
use settings_check::SettingsCheck;
use shiviz::ShivizLog;

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
    /// How late the latest tick of any VM fired, from the `stop` lines (`late_max_us`).
    late_max_us: Option<u64>,
    files: Vec<PathBuf>,
    /// The files the analysis read, which none of its outputs may replace.
    inputs: Inputs,
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

    /// How late the latest tick of any VM fired against its schedule, in microseconds: the
    /// largest `late_max_us` of the run's `stop` lines (`None` if no `stop` line has the key).
    /// Not part of `summary.json`, whose schema predates it; the report prints it.
    pub fn late_max_us(&self) -> Option<u64> {
        self.late_max_us
    }

    /// The files written into the run directory.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }
}

/// Analyses the run in `run_dir` and writes `summary.json`, `events.csv` and (if asked) the
/// plots into it.
pub fn analyze_run(run_dir: &Path, opts: &AnalyzeOptions) -> Result<RunAnalysis, AnalysisError> {
    analyze_input(&RunInput::open(run_dir)?, run_dir, opts)
}

/// Analyses the node directories `dirs` (one per VM process, each with its own VMs' logs and
/// the run's `settings.toml`) as one run, as [`analyze_run`] analyses one directory, and writes
/// the same files into the first directory. Each directory's clock offset from the first's is
/// estimated from the messages between them and removed from its lines' times; the summary's
/// `clock_offsets` says by how much, and within what bounds.
pub fn analyze_merged(
    dirs: &[PathBuf],
    opts: &AnalyzeOptions,
) -> Result<RunAnalysis, AnalysisError> {
    let Some(first) = dirs.first() else {
        return Err(AnalysisError::NoNodeDirs);
    };
    analyze_input(&RunInput::merged(dirs)?, first, opts)
}

/// Analyses `run` and writes the output files into `run_dir`.
fn analyze_input(
    run: &RunInput,
    run_dir: &Path,
    opts: &AnalyzeOptions,
) -> Result<RunAnalysis, AnalysisError> {
    let inputs = run.inputs();
    let csv_path = run_dir.join("events.csv");
    let csv_file = safe_write::NewFile::begin(&csv_path, &inputs)?;
    let csv = csv_file.create()?;
    let outcome = stream(run, || Ok(csv), &csv_path)?;
    csv_file.commit()?;

    let mut files = vec![run_dir.join("summary.json"), csv_path];
    if opts.plots {
        files.extend(plots::FILES.iter().map(|name| run_dir.join(name)));
    }
    let (analysis, plot) = run.conclude(run_dir, outcome, files);
    if opts.plots {
        let labels: Vec<String> = analysis
            .summary
            .vms
            .iter()
            .map(|v| match v.configured_rate {
                Some(rate) => format!("VM {} ({rate} ticks/s)", v.vm),
                None => format!("VM {}", v.vm),
            })
            .collect();
        plots::draw_all(run_dir, &plot, &labels, &inputs)?;
    }
    summary::write(&analysis.files[0], &analysis.summary, &inputs)?;
    Ok(analysis)
}

/// Analyses the run in `run_dir` as [`analyze_run`] does and writes nothing: the same figures,
/// violations and summary, except that the summary's `files` is empty (no file was written).
/// This is how a kept run is recomputed from its logs and held against its own `summary.json`.
pub fn summarize_run(run_dir: &Path) -> Result<RunAnalysis, AnalysisError> {
    let run = RunInput::open(run_dir)?;
    let outcome = stream(&run, || Ok(io::sink()), &run_dir.join("events.csv"))?;
    Ok(run.conclude(run_dir, outcome, Vec::new()).0)
}

/// Checks the run in `run_dir` against every rule of the model and writes nothing: the same
/// rules, in the same single pass, as [`analyze_run`]. Returns the violations in the order the
/// report lists them (the first [`RunAnalysis::VIOLATIONS_KEPT`]); empty for a sound run.
/// A message lost without a trace breaks no rule of any line: it shows only in the message
/// accounts of [`analyze_run`]'s [`Summary`].
pub fn check_run(run_dir: &Path) -> Result<Vec<Violation>, AnalysisError> {
    Ok(summarize_run(run_dir)?.violations)
}

/// A run directory opened for checking: its VM logs and its `settings.toml`; or the node
/// directories of one run, opened together, with their clocks' offsets.
struct RunInput {
    logs: Vec<VmLog>,
    settings: SettingsFile,
    settings_path: PathBuf,
    check: SettingsCheck,
    /// Subtracted from each log's times (by log index): 0 but in a merged run.
    shifts: Vec<i64>,
    /// A merged run's directories and their offsets; empty for one directory.
    clock_offsets: Vec<ClockOffset>,
}

impl RunInput {
    fn open(run_dir: &Path) -> Result<RunInput, AnalysisError> {
        let logs = run_dir::vm_logs(run_dir)?;
        let settings = run_settings::read_settings(run_dir);
        settings.bounded(&run_dir.join("settings.toml"))?;
        let check = SettingsCheck::new(&settings.settings, &logs);
        Ok(RunInput {
            shifts: vec![0; logs.len()],
            logs,
            settings,
            settings_path: run_dir.join("settings.toml"),
            check,
            clock_offsets: Vec::new(),
        })
    }

    /// The node directories `dirs` as one run (see [`node_dirs`]); the first directory's
    /// `settings.toml` speaks for all, as they agree.
    fn merged(dirs: &[PathBuf]) -> Result<RunInput, AnalysisError> {
        let nodes = node_dirs::open(dirs)?;
        let settings = run_settings::read_settings(&dirs[0]);
        settings.bounded(&dirs[0].join("settings.toml"))?;
        let offsets = node_dirs::measure(&nodes)?;
        let check = SettingsCheck::new(&settings.settings, &nodes.logs);
        Ok(RunInput {
            shifts: nodes
                .host_of
                .iter()
                .map(|&h| offsets[h].offset_us)
                .collect(),
            clock_offsets: node_dirs::describe(&nodes, &offsets),
            logs: nodes.logs,
            settings,
            settings_path: dirs[0].join("settings.toml"),
            check,
        })
    }

    /// The files this run is read from: every VM log and the `settings.toml` beside each (in a
    /// merged run, every node's).
    fn inputs(&self) -> Inputs {
        let mut paths: Vec<PathBuf> = self.logs.iter().map(|log| log.path.clone()).collect();
        let mut settings: Vec<PathBuf> = self
            .logs
            .iter()
            .filter_map(|log| log.path.parent())
            .map(|dir| dir.join("settings.toml"))
            .chain([self.settings_path.clone()])
            .collect();
        settings.sort();
        settings.dedup();
        paths.extend(settings);
        Inputs::of(paths)
    }

    /// The analysis from the stream's `outcome`, naming `files` as written, and the plot data.
    fn conclude(
        &self,
        run_dir: &Path,
        mut outcome: analyzer::Outcome,
        files: Vec<PathBuf>,
    ) -> (RunAnalysis, analyzer::PlotData) {
        let violations = self.violations(&mut outcome);
        outcome.notes.extend(self.settings.note.clone());
        let names = files.iter().map(|f| file_name(f)).collect();
        let mut summary = summary::build(run_dir, self.settings.settings.clone(), &outcome, names);
        summary.clock_offsets = self.clock_offsets.clone();
        let unreceived = outcome
            .unreceived
            .examples
            .iter()
            .map(|(at, sender, seq, recipient)| {
                format!(
                    "vm {sender} seq {seq} to vm {recipient} (sent at {}:{})",
                    self.logs[at.file].name(),
                    at.line
                )
            })
            .collect();
        let late_max_us = outcome.vms.iter().filter_map(|v| v.late_max_us).max();
        let analysis = RunAnalysis {
            summary,
            violations,
            notices: outcome.notices,
            unreceived,
            late_max_us,
            files,
            inputs: self.inputs(),
        };
        (analysis, outcome.plot)
    }

    /// Every violation of the run: those about `settings.toml` first (they explain the rest),
    /// then the logs' in file and line order. Counts the former into `outcome`'s rule counts.
    fn violations(&self, outcome: &mut analyzer::Outcome) -> Vec<Violation> {
        let mut violations: Vec<Violation> = self
            .check
            .findings(&outcome.absent)
            .into_iter()
            .map(|f| Violation {
                file: self.settings_path.clone(),
                line: self.settings.line_of(f.key),
                rule: f.rule,
                detail: f.detail,
            })
            .collect();
        for v in &violations {
            *outcome.rule_counts.entry(v.rule).or_default() += 1;
        }
        violations.extend(outcome.findings.drain(..).map(|f| Violation {
            file: self.logs[f.at.file].path.clone(),
            line: f.at.line,
            rule: f.rule,
            detail: f.detail,
        }));
        violations
    }
}

/// The one pass over the logs: merges them in time order into the analyzer, which writes
/// `events.csv` rows on the way to what `csv` opens once every log is open (`csv_path` names
/// it in errors).
fn stream<W: Write>(
    run: &RunInput,
    csv: impl FnOnce() -> io::Result<W>,
    csv_path: &Path,
) -> Result<analyzer::Outcome, AnalysisError> {
    let write_error = |source| AnalysisError::Write {
        path: csv_path.to_path_buf(),
        source,
    };
    let mut merge = TimeMerge::open_shifted(&run.logs, &run.shifts)?;
    let origin_us = merge.peek_time().unwrap_or(0);
    let csv = csv().map_err(write_error)?;
    let mut analyzer =
        Analyzer::new(run.logs.clone(), run.check.clone(), origin_us, csv).map_err(write_error)?;
    while let Some(item) = merge.next_item()? {
        analyzer.feed(item).map_err(write_error)?;
    }
    analyzer.finish().map_err(write_error)
}

/// What [`export_shiviz`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShivizExport {
    pub path: PathBuf,
    /// Each run's execution label, in the order given.
    pub executions: Vec<String>,
    /// Events written, all runs together.
    pub events: u64,
}

/// Writes the runs in `run_dirs` to `path` as one ShiViz log (see [`shiviz`]): one execution
/// per run, every tick event with its vector clock as derived from the send/receive matching.
pub fn export_shiviz(run_dirs: &[PathBuf], path: &Path) -> Result<ShivizExport, AnalysisError> {
    let write_error = |source| AnalysisError::Write {
        path: path.to_path_buf(),
        source,
    };
    // Every run is opened first, so a bad directory is told before anything is written.
    let runs = run_dirs
        .iter()
        .map(|dir| RunInput::open(dir))
        .collect::<Result<Vec<_>, _>>()?;
    let mut inputs = Inputs::none();
    for run in &runs {
        inputs.extend(run.inputs());
    }
    let file = safe_write::NewFile::begin(path, &inputs)?;
    let mut log = ShivizLog::new(file.create()?, runs.len() > 1).map_err(write_error)?;
    let mut executions = Vec::new();
    for (run, dir) in runs.iter().zip(run_dirs) {
        executions.push(log.execution(&file_name(dir)).map_err(write_error)?);
        let mut written = Ok(());
        causal_pass(run, |r| {
            if written.is_ok() {
                // The file as it is on disk: `vm-2.log.gz:17` for a kept run.
                let place = format!("{}:{}", run.logs[r.event.at.file].name(), r.event.at.line);
                let description = shiviz::describe(&r.event.tick, &place);
                written = log.event(r.event.vm, r.clock, &description);
            }
        })?;
        written.map_err(write_error)?;
    }
    let events = log.events();
    log.finish().map_err(write_error)?;
    file.commit()?;
    Ok(ShivizExport {
        path: path.to_path_buf(),
        executions,
        events,
    })
}

/// Every tick event of the run in `run_dir` with its vector clock (derived from the
/// send/receive matching, whether or not the logs carry `vc`), for asking what happened before
/// and after one event ([`History::cone`]).
pub fn causal_history(run_dir: &Path) -> Result<History, AnalysisError> {
    let run = RunInput::open(run_dir)?;
    let mut history = History::default();
    causal_pass(&run, |r| {
        history.record(r.event.vm, r.event.at.line, r.clock);
    })?;
    Ok(history)
}

/// Reads the run's ticks in time order and hands them on in causal order with their derived
/// vector clocks: the part of [`stream`] that causality needs, for the exports.
fn causal_pass(run: &RunInput, mut out: impl FnMut(Released)) -> Result<(), AnalysisError> {
    let ids: Vec<VmId> = run.logs.iter().map(|l| l.vm).collect();
    let mut order = CausalOrder::new(run.check.clock_width(&ids), &ids);
    let mut gap = vec![false; ids.len()];
    let mut merge = TimeMerge::open_shifted(&run.logs, &run.shifts)?;
    while let Some(item) = merge.next_item()? {
        match item {
            Merged::Record { file, line, record } => {
                if let record::Body::Tick(tick) = record.body {
                    let event = Event {
                        vm: ids[file],
                        at: violation::At { file, line },
                        after_gap: std::mem::take(&mut gap[file]),
                        // The exports use the derived clocks only, which no reset changes.
                        after_reset: false,
                        tick,
                    };
                    order.feed(event, &mut out);
                }
            }
            Merged::Malformed { file, .. } => gap[file] = true,
            Merged::Unterminated { .. } => {}
        }
    }
    order.finish(&mut out);
    Ok(())
}

/// Compares two runs tick by tick, timestamps ignored (see [`RunComparison`]): each VM's two logs
/// are read in lockstep, one tick of each at a time, so memory does not grow with the runs. A
/// VM only one run has counts every tick as differing. Times are seconds since each run's first
/// line, as in `events.csv`.
pub fn compare_runs(a: &Path, b: &Path) -> Result<RunComparison, AnalysisError> {
    let logs = [run_dir::vm_logs(a)?, run_dir::vm_logs(b)?];
    let origins = [
        TimeMerge::open(&logs[0])?.peek_time().unwrap_or(0),
        TimeMerge::open(&logs[1])?.peek_time().unwrap_or(0),
    ];
    let mut ids: Vec<VmId> = logs.iter().flatten().map(|log| log.vm).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut vms = Vec::with_capacity(ids.len());
    for vm in ids {
        let open = |side: usize| {
            logs[side]
                .iter()
                .find(|log| log.vm == vm)
                .map(merge::Ticks::open)
                .transpose()
        };
        let mut readers = [open(0)?, open(1)?];
        let mut differ = compare::VmDiffer::new(vm);
        loop {
            let mut next = [None, None];
            for (slot, reader) in next.iter_mut().zip(&mut readers) {
                if let Some(reader) = reader {
                    *slot = reader.next_tick()?;
                }
            }
            if next.iter().all(Option::is_none) {
                break;
            }
            let [a, b] = &next;
            differ.pair([
                a.as_ref().map(|(t, tick)| (t - origins[0], tick)),
                b.as_ref().map(|(t, tick)| (t - origins[1], tick)),
            ]);
        }
        vms.push(differ.finish());
    }
    let [settings_a, settings_b] = [a, b].map(run_settings::settings_table);
    Ok(RunComparison {
        runs: [a.to_path_buf(), b.to_path_buf()],
        vms,
        settings: compare::setting_differences(&settings_a, &settings_b),
    })
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
