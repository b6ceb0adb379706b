//! logical-clocks: a model of a small asynchronous distributed system.
//!
//! Virtual machines tick at different rates, talk over real TCP on
//! loopback, order their events with Lamport clocks (and vector clocks)
//! and log every event.
//! The parts, from the pure core outwards:
//!
//! - [`clock`]: Lamport's two rules, nothing else.
//! - [`vector_clock`]: the vector-clock rules, beside them.
//! - [`model`]: the die and the VM's clock and counters, seeded and free of
//!   I/O.
//! - [`vm_core`]: what a due tick does (take the oldest waiting message, or
//!   roll the die) and when a stopping VM may log `stop`.
//! - [`connections`]: the handshake and connection table of a bridge.
//! - [`auth`]: how two nodes of a cluster prove they share its secret and
//!   its settings (a challenge and an HMAC), before any frame passes.
//! - [`admission`]: who may hold a socket before its hello, and for how
//!   long; the accept loop's back-off when resources run out.
//! - [`warn_limiter`]: WARN lines about strangers and resource errors, the
//!   first few in full, then one counted summary per interval.
//! - [`faults`]: the fault schedule (partitions, pauses, crashes) and the
//!   pure questions the actors ask it: is this tick suppressed, when may
//!   this message cross, which fault does this lost link owe to.
//! - [`file_budget`]: the open files a run (or a study's parallel trials)
//!   needs, checked against the limit before anything starts.
//! - [`schedule`]: when each tick is due (`start + phase + (k - 1) / rate`), and each VM's phase.
//! - [`stop_clock`]: the run's start and stop instants, and interrupts.
//! - [`lateness`]: how late ticks fire, kept in a bounded histogram.
//! - [`latency`]: the network-delay model and the per-link delay line,
//!   first-in first-out.
//! - [`accounting`]: each VM's report and the run's books (sent = received
//!   + queued + dropped).
//! - [`queueing`]: the queueing model: arrival rates from the fixed point of
//!   "a VM sends only on idle ticks", which queues grow, and mean jumps.
//! - [`simulation`]: the cores driven by a simulated clock with no actors:
//!   synthetic runs and property tests.
//! - [`cluster`]: the cluster file of a run spread over nodes, one VM per
//!   process or host: peers, secret, and the settings digest they share.
//! - [`settings`]: `Settings.toml`, environment and flags, checked into a
//!   [`settings::RunSpec`] before anything runs.
//! - [`messages`]: wire frames and the messages the actors exchange.
//! - [`logging`]: the log contract and the single drain that writes it.
//! - [`actors`]: the supervisor, one VM actor and one socket bridge per VM;
//!   drivers that move time, frames and mailbox messages into the cores.
//! - [`live_progress`]: the progress line of a real-time run.
//! - [`run_dir`]: the per-run output directory.
//! - [`vm_log`]: a VM's log file on disk, plain as a run writes it or gzip
//!   as a study keeps it: the one place that names, opens and compresses it.
//! - [`table`]: plain-text tables for the terminal.
//! - [`timestamp`]: the log contract's RFC 3339 time format, both ways.
//! - [`local_cluster`]: `cluster`: N node processes on this machine, their
//!   Ctrl-C passed on, their run directories gathered.
//! - [`run`]: one run (real or virtual time), from a spec to the VMs' reports.
//! - [`analysis`]: reads a run directory back through the log contract:
//!   statistics, the clock-condition check, `summary.json`, plots.
//! - [`experiment`]: a study from a plan: variations of the settings, several
//!   trials each, analysed and compared in tables, plots and a report.

pub mod accounting;
pub mod actors;
pub mod admission;
pub mod analysis;
pub mod auth;
pub mod clock;
pub mod cluster;
pub mod connections;
pub mod experiment;
pub mod faults;
pub mod file_budget;
pub mod latency;
pub mod lateness;
pub mod live_progress;
pub mod local_cluster;
pub mod logging;
pub mod messages;
pub mod model;
pub mod queueing;
pub mod run;
pub mod run_dir;
pub mod schedule;
pub mod settings;
pub mod simulation;
pub mod stop_clock;
pub mod table;
pub mod timestamp;
pub mod vector_clock;
pub mod vm_core;
pub mod vm_log;
pub mod warn_limiter;
