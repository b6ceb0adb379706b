//! One run of a study, made through the binary's [`RunMaker`] and analysed: what the trial
//! runner and the twins both do, so a trial and its twin are made alike.
//!
//! Kept below `trials.rs` and `twins.rs` so that the trial runner can call a twin and the
//! twin can make its run without the two naming each other both ways.

use crate::RunMaker;
use lc_analysis::{self, AnalyzeOptions, RunAnalysis};
use lc_core::model::VmId;
use lc_settings::{Overrides, RunSpec};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use super::plan::Trial;

/// What a run left behind, as a study needs it: the binary's [`RunMaker`] makes it.
#[derive(Debug, Clone, PartialEq)]
pub struct MadeRun {
    /// The run directory with its logs and `settings.toml`.
    pub run_dir: PathBuf,
    /// Every VM stopped in order and the books balance.
    pub healthy: bool,
    /// VMs whose reports never came.
    pub missing: Vec<VmId>,
    /// The signal that interrupted the run, if one did (its name).
    pub interrupted: Option<String>,
    /// Why the logs are known to be incomplete, if they are.
    pub log_failure: Option<String>,
}

/// How to run the trials.
#[derive(Clone)]
pub(crate) struct Runner<'a> {
    /// Makes each run: the binary's actors.
    pub(crate) maker: &'a dyn RunMaker,
    /// Trials at once (at least 1).
    pub(crate) jobs: usize,
    /// Run every trial on virtual time, whatever its settings say.
    pub(crate) virtual_time: bool,
    /// Trial `n` of variation `v` writes its run directory under `<trials_dir>/<v>-<n>/`.
    pub(crate) trials_dir: PathBuf,
    /// Gzip each trial's VM logs once it is analysed.
    pub(crate) compress_logs: bool,
    /// After each real-time trial, run its virtual-time twin and compare the two.
    pub(crate) twins: bool,
}

/// A run made, and the analysis of its logs or why there is none.
pub(crate) type AnalysedRun = (MadeRun, Result<RunAnalysis, String>);

/// Runs `trial`'s settings with `overrides` and analyses the logs. A run that cannot start, or
/// panics, is the error; the trial's twin is made by the same call.
pub(crate) fn make_run(
    maker: &dyn RunMaker,
    trial: &Trial,
    overrides: &Overrides,
) -> Result<AnalysedRun, String> {
    let attempt = panic::catch_unwind(AssertUnwindSafe(|| {
        let spec: RunSpec = trial
            .settings
            .with_overrides(overrides)
            .resolve(|| trial.spec.seed)
            .map_err(|e| e.to_string())?;
        let outcome = maker.run(spec)?;
        // Logs known to be incomplete are not analysed: the figures could
        // not be trusted, and on a full disk the analysis's own files
        // would fail too, hiding the cause.
        let analysis = match &outcome.log_failure {
            Some(failure) => Err(format!("the logs are incomplete: {failure}")),
            None => lc_analysis::analyze_run(&outcome.run_dir, &AnalyzeOptions::default())
                .map_err(|e| format!("analysis of {}: {e}", outcome.run_dir.display())),
        };
        Ok::<_, String>((outcome, analysis))
    }));
    match attempt {
        Err(panic) => Err(format!("the run panicked: {}", panic_text(&panic))),
        Ok(made) => made,
    }
}

/// Puts the run's VM logs in their kept form, gzip, whatever became of the trial: a failed
/// trial's logs are evidence too.
pub(crate) fn compress_logs(run_dir: &Path) -> Result<(), String> {
    for log in lc_analysis::vm_logs(run_dir).map_err(|e| e.to_string())? {
        log.compress().map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into())
}
