//! How `experiment` makes its trials' runs: [`lc_experiment`] knows plans,
//! trials and tables but no actors, so the binary hands it this maker, which
//! runs a trial's settings through [`run::run`] like any other run.

use crate::file_budget;
use crate::run::{self, RunOptions};
use lc_experiment::{MadeRun, RunMaker};
use lc_settings::RunSpec;

/// Makes each trial's run with the actors, in this process.
pub struct ActorRuns;

impl RunMaker for ActorRuns {
    fn run(&self, spec: RunSpec) -> Result<MadeRun, String> {
        let outcome = run::run(spec, RunOptions::default()).map_err(|e| e.to_string())?;
        Ok(MadeRun {
            healthy: outcome.healthy(),
            run_dir: outcome.run_dir,
            missing: outcome.missing,
            interrupted: outcome.interrupted.map(|signal| format!("{signal:?}")),
            log_failure: outcome.log_failure.map(|failure| failure.to_string()),
        })
    }

    fn check_side_by_side(&self, vm_counts: &[u32], jobs: usize) -> Result<(), String> {
        let Some(limit) = run::open_file_limit() else {
            return Ok(());
        };
        file_budget::check_study(vm_counts, jobs, limit).map_err(|shortfall| shortfall.to_string())
    }
}
