//! The check itself: stateright's breadth-first search over every state,
//! its figures and each property's result.
//!
//! One thread, on purpose: the machine is shared, and the figures of a
//! single thread are the same on every run. stateright's search keeps
//! checking a property after it broke and keeps the *last* state that broke
//! it, not the first, so the path it reports may be long; the shortest run
//! that breaks a property is the one worth reading, so it is found
//! afterwards by iterative deepening on that property alone (a bounded
//! search of depth 1, 2, ... until the first break: the first depth that
//! breaks it is the shortest there is). A check that runs longer than a
//! moment reports its progress about once a second, so a user can tell it
//! is working.

use crate::model::{CheckModel, Step};
use crate::state::SystemState;
use stateright::report::{ReportData, ReportDiscovery, Reporter};
use stateright::{Checker, Expectation, HasDiscoveries, Model};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How long a check runs before it reports progress, and how often after.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// The figures of a check, so far or at its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Figures {
    /// States generated, repeats included.
    pub states: usize,
    pub unique: usize,
    /// The longest path explored, in steps.
    pub depth: usize,
    pub elapsed: Duration,
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} states explored, {} unique, depth {}, {:.2}s",
            self.states,
            self.unique,
            self.depth,
            self.elapsed.as_secs_f64()
        )
    }
}

/// What a property came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An "always" property held in every state.
    Held,
    /// An "always" property broke: the shortest path to a state that breaks it.
    Broken(Vec<(SystemState, Option<Step>)>),
    /// A "sometimes" property was reached: the shortest path to it.
    Reached(Vec<(SystemState, Option<Step>)>),
    /// A "sometimes" property was reached in no state.
    Unreached,
}

/// One property and what it came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyResult {
    pub name: &'static str,
    pub outcome: Outcome,
}

impl PropertyResult {
    /// One line: what the property came to, and its name.
    pub fn headline(&self) -> String {
        let steps = |path: &Vec<_>| path.len().saturating_sub(1);
        match &self.outcome {
            Outcome::Held => format!("holds:     {}", self.name),
            Outcome::Broken(path) => format!(
                "BROKEN:    {}; the shortest run that breaks it, {} steps:",
                self.name,
                steps(path)
            ),
            Outcome::Reached(path) => {
                format!("reached:   {} (a run of {} steps)", self.name, steps(path))
            }
            Outcome::Unreached => format!(
                "UNREACHED: {}; no schedule reaches it, so the model is too narrow",
                self.name
            ),
        }
    }

    /// True unless the property is a failure of the model (broken) or of
    /// the checker's reach (unreached).
    pub fn passed(&self) -> bool {
        matches!(self.outcome, Outcome::Held | Outcome::Reached(_))
    }
}

/// A finished check.
#[derive(Debug, Clone)]
pub struct CheckReport {
    pub figures: Figures,
    pub properties: Vec<PropertyResult>,
}

impl CheckReport {
    pub fn passed(&self) -> bool {
        self.properties.iter().all(PropertyResult::passed)
    }

    /// The result of the property called `name`, if the model has it.
    pub fn property(&self, name: &str) -> Option<&PropertyResult> {
        self.properties.iter().find(|p| p.name == name)
    }
}

/// Passes progress on, once the check has run [`PROGRESS_EVERY`] and then
/// about as often; the final figures are taken from the checker itself.
struct Progress<'a> {
    started: Instant,
    last: Option<Instant>,
    report: &'a mut dyn FnMut(Figures),
}

impl Reporter<CheckModel> for Progress<'_> {
    fn report_checking(&mut self, data: ReportData) {
        let now = Instant::now();
        let due = self.last.unwrap_or(self.started) + PROGRESS_EVERY;
        if data.done || now < due {
            return;
        }
        self.last = Some(now);
        (self.report)(Figures {
            states: data.total_states,
            unique: data.unique_states,
            depth: data.max_depth,
            elapsed: data.duration,
        });
    }

    fn report_discoveries(
        &mut self,
        _: &CheckModel,
        _: BTreeMap<&'static str, ReportDiscovery<CheckModel>>,
    ) {
    }

    /// Polled often, so a small check is not held up waiting for the poll.
    fn delay(&self) -> Duration {
        Duration::from_millis(20)
    }
}

/// Checks every state of `model`; `progress` hears how far a long check has
/// come.
pub fn check(model: CheckModel, progress: &mut dyn FnMut(Figures)) -> CheckReport {
    let started = Instant::now();
    let properties = model.properties();
    let mut reporter = Progress {
        started,
        last: None,
        report: progress,
    };
    let checker = model.checker().spawn_bfs().report(&mut reporter).join();
    let figures = Figures {
        states: checker.state_count(),
        unique: checker.unique_state_count(),
        depth: checker.max_depth(),
        elapsed: started.elapsed(),
    };
    let mut found = checker.discoveries();
    let properties = properties
        .into_iter()
        .map(|p| {
            let path = found.remove(p.name).map(|path| path.into_vec());
            let outcome = match (p.expectation, path) {
                (Expectation::Sometimes, Some(path)) => Outcome::Reached(path),
                (Expectation::Sometimes, None) => Outcome::Unreached,
                (_, Some(path)) => Outcome::Broken(shortest(model, p.name, path)),
                (_, None) => Outcome::Held,
            };
            PropertyResult {
                name: p.name,
                outcome,
            }
        })
        .collect();
    CheckReport {
        figures,
        properties,
    }
}

/// The shortest path to a state that breaks `name`, given one path that does.
fn shortest(
    model: CheckModel,
    name: &'static str,
    found: Vec<(SystemState, Option<Step>)>,
) -> Vec<(SystemState, Option<Step>)> {
    let focused = CheckModel {
        focus: Some(name),
        ..model
    };
    // stateright counts the initial state as depth 1 and explores states
    // shallower than the target: a target of `steps + 2` reaches every
    // state `steps` steps away.
    for steps in 0..found.len().saturating_sub(1) {
        let checker = focused
            .checker()
            .target_max_depth(steps + 2)
            .finish_when(HasDiscoveries::AnyFailures)
            .spawn_bfs()
            .join();
        if let Some(path) = checker.discovery(name) {
            return path.into_vec();
        }
    }
    found
}
