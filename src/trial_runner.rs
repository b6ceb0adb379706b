//! How `experiment` makes its trials' runs: [`lc_experiment`] knows plans,
//! trials and tables but no actors, so the binary hands it this maker, which
//! runs a trial's settings through [`run::run`] like any other run.

use crate::actors::supervisor::signals;
use crate::file_budget;
use crate::run::{self, RunOptions};
use crate::stop_clock::Interrupt;
use lc_experiment::{MadeRun, RunMaker};
use lc_settings::RunSpec;
use std::sync::Mutex;
use tokio::sync::mpsc::UnboundedReceiver;

/// Makes each trial's run with the actors, in this process, and remembers
/// the first signal that stopped one, or that came between runs: the study
/// then exits with that signal's code, as `run` does.
#[derive(Debug, Default)]
pub struct ActorRuns {
    interrupted: Mutex<Option<Interrupt>>,
    /// Every stopping signal, heard for the whole study: one that comes
    /// while no trial runs (its analysis under way) has no run to stop.
    signals: Option<Mutex<UnboundedReceiver<Interrupt>>>,
}

impl ActorRuns {
    /// A maker that hears the stopping signals from now on, between runs
    /// too.
    pub fn watching_signals() -> Self {
        ActorRuns {
            signals: signals::watch_on_a_thread().map(Mutex::new),
            ..ActorRuns::default()
        }
    }

    /// The first signal that stopped a trial's run or came between runs,
    /// if one did.
    pub fn interrupted(&self) -> Option<Interrupt> {
        let mut first = self.interrupted.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(signals) = &self.signals {
            let mut signals = signals.lock().unwrap_or_else(|e| e.into_inner());
            while let Ok(signal) = signals.try_recv() {
                first.get_or_insert(signal);
            }
        }
        *first
    }
}

impl RunMaker for ActorRuns {
    fn stop_requested(&self) -> bool {
        self.interrupted().is_some()
    }

    fn run(&self, spec: RunSpec) -> Result<MadeRun, String> {
        let outcome = run::run(spec, RunOptions::default()).map_err(|e| e.to_string())?;
        if let Some(signal) = outcome.interrupted {
            let mut first = self.interrupted.lock().unwrap_or_else(|e| e.into_inner());
            first.get_or_insert(signal);
        }
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
