//! A study as it is kept (the studies under `docs/`): every trial judged again from its logs
//! alone, with the code that judged it when it ran, so the kept tables can be held against their
//! evidence.
//!
//! A kept study directory holds `plan.toml` (the plan, with the command that repeats it), the
//! tables and the report, and under `trials/<variation>-<k>/<run id>/` each trial's VM logs
//! (plain, or gzip as `--compress-logs` keeps them), `settings.toml` and `summary.json`.
//! [`recompute_study`] reads the plan, analyses each trial's logs without writing anything
//! ([`lc_analysis::summarize_run`]), judges it with [`TrialRecord::judge`], and rebuilds
//! `study.csv`, `variations.csv`, the report's figures table and, for a study with faults,
//! `faults.csv` and the report's section on them, with the functions
//! [`run_study`](super::run_study) writes them with. Two columns of `study.csv` cannot come
//! back, because no log holds them: each trial's wall time and the path it was first written to.

use std::path::{Path, PathBuf};

use super::plan::Trial;
use super::record::{self, TrialRecord, TrialStatus, VariationRow};
use super::{fault_table, load_plan, report, tables, ExperimentError, PLAN_FILE};
use lc_analysis::{self, AnalysisError, RunAnalysis};

/// Why a kept trial could not be analysed again, in one line.
#[derive(Debug, thiserror::Error)]
pub enum KeptTrialError {
    #[error("{0} holds no run directory")]
    NoRunDir(PathBuf),
    #[error("{dir} holds {count} run directories where a trial has one")]
    SeveralRunDirs { dir: PathBuf, count: usize },
    #[error("cannot read {dir}: {source}")]
    Read {
        dir: PathBuf,
        source: std::io::Error,
    },
    /// The run directory is there but its logs cannot be analysed; a trial kept without its
    /// logs is [`AnalysisError::NoLogs`].
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
}

/// One trial of a kept study.
#[derive(Debug)]
pub struct KeptTrial {
    pub variation: String,
    pub number: u32,
    /// Its run directory and the analysis of its logs, or why there is none.
    pub analysis: Result<(PathBuf, RunAnalysis), KeptTrialError>,
}

/// A kept study, recomputed from its trials' logs.
#[derive(Debug)]
pub struct KeptStudy {
    /// Every trial of the plan, in plan order.
    pub trials: Vec<KeptTrial>,
    /// Each trial's record as its logs judge it (wall time zero: it is not in the logs).
    pub(crate) records: Vec<TrialRecord>,
    pub(crate) rows: Vec<VariationRow>,
}

impl KeptStudy {
    /// `study.csv` as recomputed: equal to the kept one but for the `wall_s` and `run_dir`
    /// columns.
    pub fn study_csv(&self) -> String {
        tables::study_csv(&self.records)
    }

    /// `variations.csv` as recomputed: equal to the kept one.
    pub fn variations_csv(&self) -> String {
        tables::variations_csv(&self.rows)
    }

    /// The figures table of `report.md`, as recomputed: found verbatim in the kept report.
    pub fn figures_table(&self) -> String {
        report::figures_table(&self.rows)
    }

    /// `faults.csv` as recomputed, equal to the kept one; `None` when no trial had a fault (and
    /// the study kept no such file).
    pub fn faults_csv(&self) -> Option<String> {
        fault_table::csv(&self.records)
    }

    /// The report's `## Faults` section as recomputed, found verbatim in the kept report; empty
    /// when no trial had a fault.
    pub fn faults_section(&self) -> String {
        fault_table::report_section(&self.records)
    }
}

/// Recomputes the kept study in `study_dir` from its plan and its trials' logs; writes
/// nothing. An error means the plan itself cannot be read; a trial that cannot be analysed
/// (no run directory, no logs) is recorded in [`KeptTrial::analysis`] and counts as failed.
pub fn recompute_study(study_dir: &Path) -> Result<KeptStudy, ExperimentError> {
    let plan = load_plan(Some(&study_dir.join(PLAN_FILE)))?.plan;
    let trials: Vec<KeptTrial> = plan
        .trials()
        .map(|trial| KeptTrial {
            variation: trial.variation.clone(),
            number: trial.number,
            analysis: analyse(&study_dir.join("trials").join(trial.dir_name())),
        })
        .collect();
    let records: Vec<TrialRecord> = plan
        .trials()
        .zip(&trials)
        .map(|(trial, kept)| kept_record(trial, kept))
        .collect();
    let rows = record::variation_rows(&plan, &records);
    Ok(KeptStudy {
        trials,
        records,
        rows,
    })
}

/// The one run directory in a trial's directory, analysed.
fn analyse(trial_dir: &Path) -> Result<(PathBuf, RunAnalysis), KeptTrialError> {
    let read_error = |source| KeptTrialError::Read {
        dir: trial_dir.to_path_buf(),
        source,
    };
    let mut runs = Vec::new();
    for entry in std::fs::read_dir(trial_dir).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        // A `--twins` study keeps each trial's twin beside its run: not the trial's run.
        if path.is_dir() && !path.ends_with(super::twins::TWIN_DIR) {
            runs.push(path);
        }
    }
    let run_dir = match runs.len() {
        0 => return Err(KeptTrialError::NoRunDir(trial_dir.to_path_buf())),
        1 => runs.remove(0),
        count => {
            return Err(KeptTrialError::SeveralRunDirs {
                dir: trial_dir.to_path_buf(),
                count,
            })
        }
    };
    let analysis = lc_analysis::summarize_run(&run_dir)?;
    Ok((run_dir, analysis))
}

/// A kept trial's record: what the plan says of it, judged by its logs as a fresh trial is.
fn kept_record(trial: &Trial, kept: &KeptTrial) -> TrialRecord {
    let mut record = TrialRecord::not_run(trial);
    match &kept.analysis {
        Ok((run_dir, analysis)) => {
            record.run_dir = Some(run_dir.clone());
            record.judge(analysis, true, &[]);
        }
        Err(why) => record.status = TrialStatus::Failed(why.to_string()),
    }
    record
}
