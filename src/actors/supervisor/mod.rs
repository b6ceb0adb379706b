//! The supervisor: starts the VMs and bridges, keeps the runtime limit, and
//! owns the log output until the last line is on disk.
//!
//! Start-up is two-phase so that no VM ticks before the mesh is complete:
//! each VM's context is created first (its address is what the bridge
//! delivers to), the bridges connect, and only when every bridge reports
//! ready are the VMs started, all with the same start instant. The stop
//! instant reaches the VMs through a watch channel rather than their
//! mailboxes (which are paused between ticks): set once at start to
//! `start + runtime`, and moved to "now" by Ctrl-C, SIGTERM or SIGHUP.
//! When every VM has reported its `stop`, the supervisor drops the log
//! guard, which flushes every file, and hands the reports back. How the
//! VMs and bridges are wired together is in `mesh.rs`.

mod mesh;
pub(crate) mod signals;

use super::bridge::Bridge;
use super::transport::Network;
use super::VmGauges;
use crate::live_progress::LiveProgress;
use crate::logging::{self, EventClock};
use crate::messages::{BridgeReady, VmStopped};
use crate::stop_clock::{OnInterrupt, StopClock};
use actix::clock::Instant;
use actix::prelude::*;
use lc_core::accounting::{Accounting, VmReport};
use lc_core::model::VmId;
use lc_settings::RunSpec;
use slog::Logger;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{oneshot, watch};

pub(crate) use crate::stop_clock::Interrupt;

/// How long the mesh may take to connect before the run is abandoned.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a node waits for the start word past its connect timeout.
const START_WORD_GRACE: Duration = Duration::from_secs(3);
/// Extra time, past the VMs' own grace period, before the supervisor gives
/// up on a VM that never reported its stop.
const STOP_TIMEOUT: Duration = Duration::from_secs(3);

/// Above this many ticks a second over the VMs of this process, they are
/// dealt round one actor thread per core; at or below it they all share
/// this one. Measured on 2 cores (BENCHMARKS.md, round 2): one thread ran
/// 16,000 ticks/s in 31% of a core, where a second thread only added
/// cross-core contention (p99 lateness up, CPU up by 5 to 15 points), while
/// at 64,000 ticks/s one thread was saturated and two took p99 from about
/// 1 s to 70 ms and peak memory from 95 to 47 MB.
pub(crate) const MULTI_THREAD_MIN_TICKS_PER_SECOND: u64 = 24_000;

/// Ticks a second over the VMs this process runs.
pub(crate) fn ticks_per_second(spec: &RunSpec) -> u64 {
    spec.local_vms()
        .iter()
        .map(|&id| u64::from(spec.rates[id.index()]))
        .sum()
}

/// How many actor threads a run of `spec` uses on `cores` cores: one, or
/// one per core (at most one per VM) above
/// [`MULTI_THREAD_MIN_TICKS_PER_SECOND`] in real time.
pub(crate) fn actor_threads(spec: &RunSpec, cores: usize) -> usize {
    if spec.virtual_time || ticks_per_second(spec) <= MULTI_THREAD_MIN_TICKS_PER_SECOND {
        1
    } else {
        cores.clamp(1, spec.local_vms().len())
    }
}

/// Whether the VMs of a run of `spec` wake on their own alarms: in real
/// time, up to [`mesh::PRECISE_TIMER_MAX_TICKS_PER_SECOND`].
pub(crate) fn precise_timer(spec: &RunSpec) -> bool {
    !spec.virtual_time && ticks_per_second(spec) <= mesh::PRECISE_TIMER_MAX_TICKS_PER_SECOND
}

/// The supervisor's result: every VM's report, or why the run failed.
#[derive(Debug)]
pub struct Finished {
    pub reports: Vec<VmReport>,
    pub(crate) interrupted: Option<Interrupt>,
    /// VMs that never reported a stop (the run is then a failure).
    pub missing: Vec<VmId>,
    /// Ticking time: from the start instant to the last `stop`.
    pub elapsed: Duration,
    /// The run's other actor threads, told to stop: join them.
    pub(crate) threads: Vec<Arbiter>,
    /// From the supervisor's start to every VM connected and starting.
    pub(crate) startup: Duration,
}

/// A fault to inject into a run (for tests of the model's robustness):
/// `after` the start, VM `vm`'s bridge drops its outgoing connections
/// abruptly, as if that VM had crashed from its peers' point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionDrop {
    pub vm: VmId,
    pub after: Duration,
}

/// The fixed epoch of virtual time: event times in a virtual run are this
/// instant plus the virtual time elapsed, so seeded runs repeat exactly.
pub(crate) const VIRTUAL_EPOCH: &str = "2000-01-01T00:00:00Z";

fn virtual_epoch_micros() -> logging::EventTime {
    lc_contract::timestamp::parse_micros(VIRTUAL_EPOCH).map_or(0, |t| t as u64)
}

/// The VMs and bridges, from their creation until the VMs start.
#[derive(Default)]
struct Mesh {
    /// VMs waiting for every bridge to be ready.
    pending: Vec<mesh::PendingVm>,
    bridges: Vec<Addr<Bridge>>,
    gauges: Vec<Arc<VmGauges>>,
    ready: usize,
    /// A node of a cluster, at the lowest id: the nodes that have every
    /// peer connected.
    nodes_ready: std::collections::BTreeSet<VmId>,
}

/// Where the run's output goes, until the last line is on disk.
struct Output {
    root_log: Logger,
    /// Dropping it flushes every log line (and joins the writer thread,
    /// if there is one).
    log_guard: Option<logging::LogGuard>,
    show_progress: bool,
    progress: Option<LiveProgress>,
}

/// Starts, watches and stops one run.
pub struct Supervisor {
    spec: RunSpec,
    /// The VMs this process runs: all of them, or a node's own.
    local: Vec<VmId>,
    /// Actor threads besides this one, over which the VMs (each with its
    /// bridge) are dealt in real time: one per core in all.
    threads: Vec<Arbiter>,
    token: u64,
    network: Option<Network>,
    /// What each VM's `start` line gives as its address.
    addrs: Vec<String>,
    clock: EventClock,
    output: Output,
    mesh: Mesh,
    stop_clock: StopClock<Instant>,
    stop_at: watch::Sender<Instant>,
    /// When the supervisor started building the mesh.
    created: Instant,
    reports: BTreeMap<VmId, VmReport>,
    faults: Vec<ConnectionDrop>,
    done: Option<oneshot::Sender<Result<Finished, String>>>,
}

impl Supervisor {
    pub fn new(
        spec: RunSpec,
        network: Network,
        (root_log, log_guard): (Logger, logging::LogGuard),
        show_progress: bool,
        faults: Vec<ConnectionDrop>,
        done: oneshot::Sender<Result<Finished, String>>,
    ) -> Self {
        let far_future = Instant::now() + Duration::from_secs(365 * 24 * 3600);
        let node = spec.node.as_ref();
        Self {
            local: spec.local_vms(),
            // Virtual time stays on this thread: only its clock is paused.
            threads: (1..actor_threads(
                &spec,
                std::thread::available_parallelism().map_or(1, |n| n.get()),
            ))
                .map(|_| Arbiter::new())
                .collect(),
            addrs: match (&network, node) {
                // A node's peers know it by its entry in the cluster file.
                (Network::Tcp(_), Some(node)) => {
                    vec![node.addr_of(node.id).unwrap_or_default().to_string()]
                }
                (Network::Tcp(listeners), None) => {
                    listeners.addrs.iter().map(ToString::to_string).collect()
                }
                (Network::InProcess, _) => {
                    (1..=spec.vm_count).map(|_| "in-process".into()).collect()
                }
            },
            clock: match network {
                Network::Tcp(_) => EventClock::wall(),
                Network::InProcess => EventClock::starting_at(virtual_epoch_micros()),
            },
            network: Some(network),
            // Nodes share theirs: it is their settings' digest, which their
            // handshake has already compared.
            token: node.map_or_else(rand::random, |node| node.credentials.digest.token()),
            output: Output {
                root_log,
                log_guard: Some(log_guard),
                show_progress,
                progress: None,
            },
            mesh: Mesh::default(),
            stop_clock: StopClock::new(spec.runtime),
            stop_at: watch::Sender::new(far_future),
            created: Instant::now(),
            reports: BTreeMap::new(),
            faults,
            done: Some(done),
            spec,
        }
    }

    /// The first interrupt stops the run in order; a second one (the user
    /// insisting) flushes the logs and exits at once.
    fn interrupt(&mut self, by: Interrupt) {
        match self.stop_clock.interrupt(by, Instant::now()) {
            OnInterrupt::StopAt(now) => {
                self.stop_at.send_replace(now);
            }
            OnInterrupt::StopAtStart => {}
            OnInterrupt::ExitNow(code) => {
                self.release_output();
                // Not `eprintln!`: after SIGHUP stderr may lead nowhere, and
                // a panic here would skip the exit code.
                let _ = writeln!(
                    std::io::stderr(),
                    "interrupted again: exiting without waiting for the orderly stop"
                );
                std::process::exit(code.into());
            }
        }
    }

    /// Flushes the logs and hands back the reports; the run is over.
    fn finish(&mut self) {
        let Some(done) = self.done.take() else {
            return;
        };
        let missing: Vec<VmId> = self
            .local
            .iter()
            .copied()
            .filter(|id| !self.reports.contains_key(id))
            .collect();
        let root_log = &self.output.root_log;
        if !missing.is_empty() {
            logging::log_error(
                &logging::vm_logger(root_log, missing[0]),
                self.clock.now(),
                &format!("VM(s) {missing:?} never reported their stop"),
            );
        }
        let reports: Vec<VmReport> = std::mem::take(&mut self.reports).into_values().collect();
        let accounting = Accounting::of(&reports);
        // A node's books balance only with its peers' (`analyze --merge`).
        if self.spec.node.is_none() && !accounting.balanced() {
            logging::log_error(
                &logging::vm_logger(root_log, VmId::literal(1)),
                self.clock.now(),
                &format!("message accounting does not balance: {accounting:?}"),
            );
        }
        self.release_output();
        let threads = self.stop_threads();
        let start = self.stop_clock.started();
        let _ = done.send(Ok(Finished {
            threads,
            reports,
            interrupted: self.stop_clock.interrupted(),
            missing,
            elapsed: start.map_or(Duration::ZERO, |s| s.elapsed()),
            startup: start.map_or(Duration::ZERO, |s| {
                s.saturating_duration_since(self.created)
            }),
        }));
    }

    /// The end of a run, whichever way it ends: clears the progress line
    /// and flushes every log line (dropping the guard joins the writer
    /// thread).
    fn release_output(&mut self) {
        if let Some(progress) = self.output.progress.take() {
            progress.clear();
        }
        self.output.log_guard.take();
    }

    /// Tells the other actor threads to stop, and hands them over to be
    /// joined.
    fn stop_threads(&mut self) -> Vec<Arbiter> {
        let threads = std::mem::take(&mut self.threads);
        for thread in &threads {
            thread.stop();
        }
        threads
    }

    fn fail(&mut self, why: String) {
        if let Some(done) = self.done.take() {
            self.release_output();
            // Stopped; nothing waits for them.
            self.stop_threads();
            let _ = done.send(Err(why));
        }
    }
}

impl Actor for Supervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let Some(network) = self.network.take() else {
            return;
        };
        self.created = Instant::now();
        self.build_mesh(network, ctx);
        // A node's dials retry until its connect timeout; the start word
        // may take a moment longer.
        let connect_timeout = self.spec.node.as_ref().map_or(CONNECT_TIMEOUT, |node| {
            node.connect_timeout + START_WORD_GRACE
        });
        ctx.run_later(connect_timeout, move |supervisor, _| {
            if supervisor.stop_clock.started().is_none() {
                supervisor.fail(format!(
                    "the VMs did not all connect within {}s ({})",
                    connect_timeout.as_secs(),
                    supervisor.waiting_for()
                ));
            }
        });
        // Virtual time's runtime has no I/O driver (see `run.rs`).
        signals::watch(ctx, !self.spec.virtual_time);
    }
}

impl StreamHandler<Interrupt> for Supervisor {
    fn handle(&mut self, by: Interrupt, _ctx: &mut Context<Self>) {
        self.interrupt(by);
    }

    fn finished(&mut self, _ctx: &mut Context<Self>) {}
}

impl Handler<BridgeReady> for Supervisor {
    type Result = ();

    fn handle(&mut self, ready: BridgeReady, ctx: &mut Context<Self>) {
        match ready.result {
            Err(why) => self.fail(why),
            Ok(()) => {
                self.mesh.ready += 1;
                let all_ready = self.mesh.ready == self.local.len();
                if all_ready && self.stop_clock.started().is_none() {
                    self.bridges_ready(ctx);
                }
            }
        }
    }
}

impl Handler<VmStopped> for Supervisor {
    type Result = ();

    fn handle(&mut self, VmStopped(report): VmStopped, _ctx: &mut Context<Self>) {
        self.reports.insert(report.vm, report);
        if self.reports.len() == self.local.len() {
            self.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lc_settings::Settings;

    /// A spec of `n` VMs at `rate` ticks/s each.
    fn spec(n: i64, rate: i64, virtual_time: bool) -> RunSpec {
        Settings {
            vm_count: n,
            rates: vec![rate; n as usize],
            virtual_time,
            ..Settings::default()
        }
        .resolve(|| 1)
        .unwrap()
    }

    #[test]
    fn alarms_wake_real_time_runs_of_up_to_4000_ticks_a_second_only() {
        assert!(precise_timer(&spec(3, 6, false)));
        assert!(precise_timer(&spec(4, 1000, false)), "4,000 ticks/s");
        assert!(!precise_timer(&spec(5, 1000, false)), "5,000 ticks/s");
        assert!(!precise_timer(&spec(3, 6, true)), "virtual time");
    }

    #[test]
    fn more_actor_threads_only_above_24000_real_ticks_a_second() {
        assert_eq!(
            actor_threads(&spec(16, 1500, false), 2),
            1,
            "24,000 ticks/s"
        );
        assert_eq!(actor_threads(&spec(64, 1000, false), 2), 2);
        assert_eq!(actor_threads(&spec(64, 1000, false), 8), 8);
        assert_eq!(
            actor_threads(&spec(3, 10_000, false), 8),
            3,
            "one VM a thread at most"
        );
        assert_eq!(actor_threads(&spec(64, 1000, true), 2), 1, "virtual time");
        assert_eq!(actor_threads(&spec(64, 1000, false), 0), 1);
    }

    #[test]
    fn alarms_and_extra_threads_never_meet() {
        for rate in [1, 100, 1000, 5000, 10_000] {
            for n in [2, 16, 64] {
                let spec = spec(n, rate, false);
                assert!(
                    !(precise_timer(&spec) && actor_threads(&spec, 64) > 1),
                    "{n} x {rate}"
                );
            }
        }
    }
}
