//! `logical-clocks experiment`: a study of many runs, repeatable from one plan.
//!
//! A plan names variations of the settings and how many trials of each to run; the study runs
//! every trial (on worker threads when `--jobs` asks), analyses each with
//! [`lc_analysis::analyze_run`], and compares the variations. The parts:
//!
//! - `plan.rs`: the plan file, checked into resolved trial settings before anything runs (pure).
//! - `trials.rs`: runs the trials, several at a time, with progress on stderr.
//! - `trial_run.rs`: one run made through the [`RunMaker`] and analysed, for a trial or its twin.
//! - `record.rs`: what came of each trial, and the per-variation aggregation (pure).
//! - `figures.rs`: the figures taken from a trial's analysis, and their spread (pure).
//! - `kept.rs`: a kept study recomputed from its trials' logs, with the code above, so its
//!   tables can be held against their evidence.
//! - `concurrency.rs`: how concurrent each trial's events were, from its summary (pure).
//! - `trial_fault.rs`: what each trial's faults did, read from its summary (pure);
//!   `fault_table.rs`: their spread per variation, `faults.csv` and the report's section on
//!   them, only for a study with faults (pure).
//! - `progress.rs`: the time-left estimate (pure).
//! - `tables.rs`, `report.rs`: `study.csv`, `variations.csv` and `report.md` as text (pure).
//! - `trial_prediction.rs`: the queueing model's prediction ([`lc_core::queueing`]) next to
//!   one trial's measurement; `prediction.rs`: the report's table of it and `prediction.csv`
//!   (pure).
//! - `plots.rs`: the comparison plots; `prediction_plot.rs`: prediction against measurement.
//! - `twins.rs`: with `--twins`, each real-time trial's virtual-time twin, compared with it;
//!   `twins.csv` and the report's section on them.
//!
//! [`run_study`] is the driver and the one place that writes the study directory:
//! `<log-dir>/study-<UTC timestamp>/` (so studies sort in time order, like runs) holding
//! `plan.toml`, `study.csv`, `variations.csv`, `prediction.csv`, `report.md`, the plots,
//! `faults.csv` when some trial had faults, and under `trials/`
//! every trial's run directory (`trials/<variation>-<n>/<run id>/`), and with `--twins`,
//! `twins.csv` and each twin's run directory (`trials/<variation>-<n>/virtual/<run id>/`).

mod concurrency;
mod fault_table;
mod figures;
mod kept;
mod plan;
mod plots;
mod prediction;
mod prediction_plot;
mod progress;
mod record;
mod report;
mod tables;
mod trial_fault;
mod trial_prediction;
mod trial_run;
mod trials;
mod twins;

pub use kept::{recompute_study, KeptStudy, KeptTrial, KeptTrialError};
pub use plan::{parse as parse_plan, trial_seed, Plan, PlanError, Trial, Variation};
pub(crate) use record::{TrialRecord, VariationRow};
pub use trial_run::MadeRun;
pub(crate) use twins::TWINS_CSV;

use lc_contract::run_dir;
use lc_settings::RunSpec;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The default plan, used when no PLAN is given (a copy of `experiments/assignment.toml`, built
/// in so the command works from any directory).
pub(crate) const DEFAULT_PLAN: &str = include_str!("../../../experiments/assignment.toml");
/// Where the default plan lives in the repository.
pub(crate) const DEFAULT_PLAN_PATH: &str = "experiments/assignment.toml";

/// Why a study could not be made, in one line.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    #[error("cannot read plan {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("plan {origin}: {source}")]
    Plan { origin: String, source: PlanError },
    #[error("{0}")]
    FileLimit(String),
    #[error("cannot create the study directory under {dir} (--log-dir): {source}")]
    StudyDir { dir: PathBuf, source: io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot draw {path}: {detail}")]
    Plot { path: PathBuf, detail: String },
    /// A study file that could not be written (the writer names it and the reason).
    #[error(transparent)]
    Output(#[from] lc_analysis::AnalysisError),
    #[error("--twins compares each real-time trial with a virtual-time twin, so it cannot be used with --virtual-time (which runs every trial on virtual time); drop one of them")]
    TwinsOnVirtualTime,
}

/// A checked plan, with its text (copied into the study) and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedPlan {
    pub(crate) plan: Plan,
    pub(crate) text: String,
    pub(crate) origin: String,
}

/// Reads and checks the plan at `path`, or the built-in default plan.
pub fn load_plan(path: Option<&Path>) -> Result<LoadedPlan, ExperimentError> {
    let (text, origin) = match path {
        Some(path) => (
            std::fs::read_to_string(path).map_err(|source| ExperimentError::Read {
                path: path.to_path_buf(),
                source,
            })?,
            path.display().to_string(),
        ),
        None => (
            DEFAULT_PLAN.to_string(),
            format!("the built-in copy of {DEFAULT_PLAN_PATH}"),
        ),
    };
    let plan = plan::parse(&text).map_err(|source| ExperimentError::Plan {
        origin: origin.clone(),
        source,
    })?;
    Ok(LoadedPlan { plan, text, origin })
}

/// How a study makes its runs. The binary supplies it, with its actors and sockets, so this
/// crate needs neither: a trial is settings in, a run directory and its health out.
pub trait RunMaker: Sync {
    /// Runs `spec` to its end; the error is one line (the run could not start).
    fn run(&self, spec: RunSpec) -> Result<MadeRun, String>;
    /// Refuses, before anything runs, real-time trials that could not run `jobs` at a time (their
    /// VM counts given): one line saying why. Virtual-time trials are not asked about.
    fn check_side_by_side(&self, vm_counts: &[u32], jobs: usize) -> Result<(), String>;
    /// Whether a signal has asked the study to stop: no trial (or twin) starts after it, even
    /// when it came while no run was there to hear it.
    fn stop_requested(&self) -> bool {
        false
    }
}

/// How to run a study.
#[derive(Debug, Clone)]
pub struct StudyOptions {
    /// Trials run at once (at least 1).
    pub jobs: usize,
    /// Run every trial on virtual time.
    pub virtual_time: bool,
    /// The study directory is made under this one.
    pub log_dir: PathBuf,
    /// After each real-time trial, run its virtual-time twin and compare the two (`twins.csv`).
    pub twins: bool,
    /// Keep each trial's VM logs gzipped (`vm-<id>.log.gz`), compressed once the trial is
    /// analysed; `analyze` reads them as they are.
    pub compress_logs: bool,
}

/// A finished study.
#[derive(Debug, Clone)]
pub struct Study {
    pub dir: PathBuf,
    pub(crate) records: Vec<TrialRecord>,
    pub(crate) rows: Vec<VariationRow>,
}

impl Study {
    /// True when every trial ran and was healthy.
    pub fn all_ok(&self) -> bool {
        self.records.iter().all(|r| r.status.is_ok())
    }

    /// The variations' figures, as the report's Markdown table.
    pub fn table(&self) -> String {
        report::figures_table(&self.rows)
    }
}

/// The study directory's files, besides the plots and `trials/`.
pub(crate) const PLAN_FILE: &str = "plan.toml";
pub(crate) const STUDY_CSV: &str = "study.csv";
pub(crate) const VARIATIONS_CSV: &str = "variations.csv";
pub(crate) const PREDICTION_CSV: &str = "prediction.csv";
/// Written only when some trial had faults.
pub const FAULTS_CSV: &str = "faults.csv";
pub(crate) const REPORT: &str = "report.md";

/// Runs every trial of the plan and writes the study directory. Failed trials are recorded,
/// not fatal; an error here means the study directory itself could not be written.
pub fn run_study(
    loaded: &LoadedPlan,
    options: &StudyOptions,
    maker: &dyn RunMaker,
) -> Result<Study, ExperimentError> {
    if options.twins && options.virtual_time {
        return Err(ExperimentError::TwinsOnVirtualTime);
    }
    check_file_limit(&loaded.plan, options, maker)?;
    let began = Instant::now();
    let started =
        lc_contract::timestamp::Rfc3339(lc_contract::timestamp::wall_clock_micros() as i64)
            .to_string();
    let dir =
        run_dir::fresh(&options.log_dir, "study-").map_err(|source| ExperimentError::StudyDir {
            dir: options.log_dir.clone(),
            source,
        })?;
    // Through analyze's one writer: whole or not at all, so a full disk leaves no truncated
    // report that looks finished. The study directory is fresh, so nothing in it is an input.
    let write = |name: &str, text: &str| {
        lc_analysis::safe_write::write_bytes(
            &dir.join(name),
            &lc_analysis::Inputs::none(),
            text.as_bytes(),
        )?;
        Ok::<_, ExperimentError>(())
    };
    let flags = flags(options);
    write(
        PLAN_FILE,
        &format!(
            "# The plan of this study, copied from {}. Repeat the study with\n\
             #   logical-clocks experiment {} {flags}\n{}",
            loaded.origin,
            dir.join(PLAN_FILE).display(),
            loaded.text
        ),
    )?;
    let plan = &loaded.plan;
    // Not eprintln!: a closed stderr must not panic the study.
    let _ = writeln!(
        std::io::stderr(),
        "study {}: {} variations, {} trials, {} at a time, into {}",
        plan.name,
        plan.variations.len(),
        plan.trials().count(),
        options.jobs.max(1),
        dir.display()
    );

    let trials: Vec<&Trial> = plan.trials().collect();
    let runner = trial_run::Runner {
        maker,
        jobs: options.jobs.max(1),
        virtual_time: options.virtual_time,
        trials_dir: dir.join("trials"),
        twins: options.twins,
        compress_logs: options.compress_logs,
    };
    let (records, twins) = trials::run_all(&trials, &runner);
    let rows = record::variation_rows(plan, &records);

    write(STUDY_CSV, &tables::study_csv(&records))?;
    write(VARIATIONS_CSV, &tables::variations_csv(&rows))?;
    write(PREDICTION_CSV, &prediction::csv(&records))?;
    if let Some(csv) = fault_table::csv(&records) {
        write(FAULTS_CSV, &csv)?;
    }
    let plots = plots::draw_all(&dir, &rows, &records)?;
    let context = report::Context {
        plan,
        plan_origin: &loaded.origin,
        jobs: options.jobs.max(1),
        virtual_time: options.virtual_time,
        flags: &flags,
        study_dir: &dir,
        plots: &plots,
        started: &started,
        wall_s: began.elapsed().as_secs_f64(),
    };
    let mut report = report::render(&context, &rows, &records);
    if options.twins {
        write(TWINS_CSV, &twins::twins_csv(&twins))?;
        report.push_str(&twins::report_section(&twins, &dir));
    }
    write(REPORT, &report)?;
    Ok(Study { dir, records, rows })
}

/// Refuses, before anything runs, a study whose trials would run out of
/// file descriptors: `--jobs` trials run at once in this one process and
/// share its limit, so the largest that may run together must fit side by
/// side (virtual-time trials open no socket).
fn check_file_limit(
    plan: &Plan,
    options: &StudyOptions,
    maker: &dyn RunMaker,
) -> Result<(), ExperimentError> {
    let real_time: Vec<u32> = plan
        .trials()
        .filter(|t| !(options.virtual_time || t.spec.virtual_time))
        .map(|t| t.spec.vm_count)
        .collect();
    if real_time.is_empty() {
        return Ok(());
    }
    maker
        .check_side_by_side(&real_time, options.jobs.max(1))
        .map_err(ExperimentError::FileLimit)
}

/// The command-line flags that repeat these options.
fn flags(options: &StudyOptions) -> String {
    let mut flags = format!("--jobs {}", options.jobs.max(1));
    if options.virtual_time {
        flags.push_str(" --virtual-time");
    }
    if options.twins {
        flags.push_str(" --twins");
    }
    if options.compress_logs {
        flags.push_str(" --compress-logs");
    }
    flags
}
