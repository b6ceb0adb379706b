//! Every schedule of a small system, checked: the logical-clocks model
//! explored exhaustively with stateright.
//!
//! Sampling (examples, property tests, `analyze` on every run) shows the
//! clock rules hold on the schedules it happens to draw; for two or three
//! VMs and a few ticks each, every interleaving of ticks, die outcomes and
//! deliveries can be enumerated instead. The checker drives the same
//! [`lc_core::vm_core::VmCore`] as the actors, with the die's outcome and the
//! order of deliveries as its choices, and the core's own
//! [`lc_core::latency::DelayLine`] as each link, in abstract time.
//!
//! From the inside out:
//! - [`size`]: how big a system may be checked, refused with one line past it.
//! - [`rules`]: the model's rules, or one of them broken on purpose.
//! - [`causality`]: happened-before, kept by the checker beside the clocks.
//! - [`link`]: a link in abstract time, first in first out.
//! - [`state`]: one state of the system: every VM, every link, what broke.
//! - [`symmetry`]: states equal up to renaming the VMs are one state.
//! - [`properties`]: what must always hold and what must be reachable.
//! - [`model`]: the stateright model: the actions and where each leads.
//! - [`counterexample`]: a path as the log lines that run would write.
//! - [`run`]: the check itself, its figures and its results.
//! - [`explore`]: stateright's Explorer served for the same model.

pub mod causality;
pub mod counterexample;
pub mod explore;
pub mod link;
pub mod model;
pub mod properties;
pub mod rules;
pub mod run;
pub mod size;
pub mod state;
pub mod symmetry;

pub use model::{CheckModel, Step};
pub use rules::Rules;
pub use run::{check, CheckReport, Outcome, PropertyResult};
pub use size::{Size, SizeError};
