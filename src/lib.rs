//! logical-clocks: the runtime of a model of a small asynchronous
//! distributed system.
//!
//! Virtual machines tick at different rates, talk over real TCP, order their
//! events with Lamport clocks (and vector clocks) and log every event. The
//! model itself is pure and lives in the workspace's library crates:
//! `lc_core` (clocks, the tick rule, schedules, latency, faults, the
//! simulation), `lc_settings` (settings and the cluster file),
//! `lc_contract` (the log files), `lc_analysis` (`analyze`) and
//! `lc_experiment` (`experiment`). This crate drives them with actors,
//! sockets, timers and slog:
//!
//! - [`messages`]: wire frames and the messages the actors exchange.
//! - [`actors`]: the supervisor, one VM actor and one socket bridge per VM;
//!   drivers that move time, frames and mailbox messages into the cores.
//! - [`connections`]: the handshake and connection table of a bridge.
//! - [`auth`]: how two nodes of a cluster prove they share its secret and
//!   its settings (a challenge and an HMAC), before any frame passes.
//! - [`admission`]: who may hold a socket before its hello, and for how
//!   long; the accept loop's back-off when resources run out.
//! - [`warn_limiter`]: WARN lines about strangers and resource errors, the
//!   first few in full, then one counted summary per interval.
//! - [`file_budget`]: the open files a run (or a study's parallel trials)
//!   needs, checked against the limit before anything starts.
//! - [`stop_clock`]: the run's start and stop instants, and interrupts.
//! - [`logging`]: the single slog drain that writes the log contract.
//! - [`live_progress`]: the progress line of a real-time run.
//! - [`run`]: one run (real or virtual time), from a spec to the VMs' reports.
//! - [`synthetic`]: a run's logs written from the simulation, with no actors.
//! - [`local_cluster`]: `cluster`: N node processes on this machine, their
//!   Ctrl-C passed on, their run directories gathered.
//! - [`trial_runner`]: how `experiment` makes its trials' runs.

pub mod actors;
pub mod admission;
pub(crate) mod auth;
pub mod connections;
pub(crate) mod file_budget;
pub(crate) mod live_progress;
pub mod local_cluster;
pub mod logging;
pub mod messages;
pub mod run;
pub(crate) mod stop_clock;
pub mod synthetic;
pub mod trial_runner;
pub mod warn_limiter;
