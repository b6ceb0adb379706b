//! The model's rules, checked: each checker is small and pure, fed one VM's lines in file order
//! (or, across VMs, the message edges), and reports broken rules as findings with file and line.
//!
//! - `vc_order.rs`: a logged `vc` against the vector-clock rules.
//! - `settings_check.rs`: `settings.toml` against the logs (VM count, missing logs, rates).
//! - `violation.rs`: the [`Rule`](violation::Rule)s and the broken rules, capped in memory;
//!   the vocabulary every checker reports in.
//! - `check.rs`: Lamport's clock rules and the send seqs.
//! - `queue_discipline.rs`: a waiting message is taken first.
//! - `link_order.rs`: links are FIFO.
//! - `time_order.rs`: no line is stamped before the one above it.
//! - `matching.rs`: receives matched to sends, every message edge checked.
//! - `fault_effects.rs`: what the run's faults did: their rules (no event in a pause, nothing
//!   across a partition in its window), their figures, and the clock-condition breaks a crash
//!   with clock reset owes.
//! - `rejoin.rs`: a VM that restarted after a crash was heard from again.

pub(crate) mod check;
pub(crate) mod fault_effects;
pub(crate) mod link_order;
pub(crate) mod matching;
pub(crate) mod queue_discipline;
pub(crate) mod rejoin;
pub(crate) mod settings_check;
pub(crate) mod time_order;
pub(crate) mod vc_order;
pub(crate) mod violation;
