//! One run of the model, in real or virtual time, from checked settings to
//! the reports.
//!
//! Everything that can fail because of the machine (a port in use, too few
//! file descriptors, an unwritable log directory) is tried before a single
//! actor starts, so a failed start leaves no VM running and no run
//! directory that looks like a run.

use crate::actors::supervisor::{ConnectionDrop, Finished, Interrupt, Supervisor};
use crate::actors::transport::{Listeners, Network};
use crate::file_budget;
use crate::logging::{self, LogFailure, RunDrain};
use lc_contract::run_dir;
use lc_core::accounting::{Accounting, VmReport};
use lc_core::model::VmId;
use lc_core::schedule::ticks_within;
use lc_settings::RunSpec;
use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;
use tokio::net::TcpSocket;

/// Why a run could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(
        "cannot listen on {addr} for VM {vm}: {source}; choose another --base-port, \
         or --base-port 0 to let the OS pick free ports"
    )]
    Bind {
        vm: VmId,
        addr: SocketAddr,
        source: io::Error,
    },
    #[error("cannot listen on {addr} for VM {vm}: {source}")]
    NotLocal {
        vm: VmId,
        addr: SocketAddr,
        source: NotLocal,
    },
    #[error(
        "cannot listen on {addr} for VM {vm} (the port of its entry in the cluster file): \
         {source}"
    )]
    NodeBind {
        vm: VmId,
        addr: SocketAddr,
        source: io::Error,
    },
    #[error(transparent)]
    FileLimit(file_budget::FileShortage),
    #[error("cannot create the run directory under {dir} (setting `log_dir`): {source}")]
    RunDir { dir: PathBuf, source: io::Error },
    #[error("cannot start the actor system: {0}")]
    Runtime(io::Error),
    #[error("the run failed: {0}")]
    Failed(String),
}

/// The run's `host` is not an address of this machine: no port would do,
/// so the way out is another host, not another `--base-port`.
#[derive(Debug, thiserror::Error)]
#[error(
    "{host} (setting `host`) is not an address of this machine; use one of its own, \
     such as 127.0.0.1, or 0.0.0.0 for all of them"
)]
pub struct NotLocal {
    pub host: IpAddr,
}

impl NotLocal {
    /// Whether binding to `host` failed with `error` because it is not
    /// this machine's (EADDRNOTAVAIL).
    fn from_bind(host: IpAddr, error: &io::Error) -> Option<Self> {
        (error.kind() == io::ErrorKind::AddrNotAvailable).then_some(NotLocal { host })
    }
}

/// Checks that `host` is an address of this machine, by binding a socket
/// on it (any port). Other failures are left to the real bind to report.
pub fn check_host(host: IpAddr) -> Result<(), NotLocal> {
    match std::net::TcpListener::bind(SocketAddr::new(host, 0)) {
        Err(error) => NotLocal::from_bind(host, &error).map_or(Ok(()), Err),
        Ok(_) => Ok(()),
    }
}

/// A finished run.
#[derive(Debug)]
pub struct RunOutcome {
    pub(crate) spec: RunSpec,
    pub run_dir: PathBuf,
    pub reports: Vec<VmReport>,
    pub interrupted: Option<Interrupt>,
    pub missing: Vec<VmId>,
    /// Set when some log lines never reached their files (a full disk): the
    /// books below are then right in memory but not in the logs.
    pub log_failure: Option<LogFailure>,
    pub elapsed: Duration,
    /// From building the mesh to every VM connected and ticking.
    pub(crate) startup: Duration,
}

impl RunOutcome {
    pub fn accounting(&self) -> Accounting {
        Accounting::of(&self.reports)
    }

    /// A run is healthy when every VM stopped, no message is missing, and
    /// its log files hold every line: a run is its logs, and logs cut short
    /// cannot be analysed or trusted.
    pub fn healthy(&self) -> bool {
        self.missing.is_empty() && self.books_balance() && self.log_failure.is_none()
    }

    /// Whether the books balance, where they can: a node of a cluster holds
    /// only its own VM's part (what it received was sent by its peers), so
    /// its books balance only with theirs, in `analyze --merge`.
    pub fn books_balance(&self) -> bool {
        self.spec.node.is_some() || self.accounting().balanced()
    }

    /// The exit code: 0, 130 after Ctrl-C, 143 after SIGTERM, 129 after
    /// SIGHUP, 1 when something was lost or the logs are incomplete.
    pub fn exit_code(&self) -> u8 {
        match (self.healthy(), self.interrupted) {
            (false, _) => 1,
            (true, Some(interrupt)) => interrupt.exit_code(),
            (true, None) => 0,
        }
    }

    /// The run's figures beyond the table: start-up and message transit.
    pub fn timing_line(&self) -> String {
        let mut transit = lc_core::lateness::Lateness::default();
        for r in &self.reports {
            transit.merge(&r.transit);
        }
        format!(
            "mesh connected in {:.1} ms; message transit (send event to mailbox) p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            self.startup.as_secs_f64() * 1000.0,
            transit.quantile_us(0.5) as f64 / 1000.0,
            transit.quantile_us(0.99) as f64 / 1000.0,
            transit.max_us() as f64 / 1000.0
        )
    }

    /// The ticks a VM's schedule holds in the run, less those its pauses
    /// and crashes take away.
    fn expected_ticks(&self, report: &VmReport) -> u64 {
        let lead = self.spec.tick_leads[report.vm.index()];
        ticks_within(report.rate, self.spec.runtime, lead)
            - self
                .spec
                .faults
                .suppressed_ticks(report.vm, report.rate, self.spec.runtime, lead)
    }

    /// The per-VM summary table printed at the end of a run.
    pub fn summary_table(&self) -> String {
        const HEADERS: [&str; 12] = [
            "vm",
            "rate",
            "ticks",
            "expected",
            "sent",
            "received",
            "internal",
            "dropped",
            "clock",
            "max queue",
            "max jump",
            "p99 late ms",
        ];
        let rows = self
            .reports
            .iter()
            .map(|r| {
                let c = &r.counters;
                vec![
                    r.vm.to_string(),
                    r.rate.to_string(),
                    c.ticks.to_string(),
                    self.expected_ticks(r).to_string(),
                    c.sent.to_string(),
                    c.received.to_string(),
                    c.internal.to_string(),
                    r.dropped.to_string(),
                    r.final_clock.to_string(),
                    r.max_queue.to_string(),
                    c.max_jump.to_string(),
                    format!("{:.3}", r.lateness.quantile_us(0.99) as f64 / 1000.0),
                ]
            })
            .collect();
        let mut out = lc_analysis::table::render(&HEADERS, rows);
        let a = self.accounting();
        let _ = writeln!(
            out,
            "messages: {} sent = {} received + {} left in queues + {} dropped{}{}",
            a.sent,
            a.received,
            a.left_in_queues,
            a.dropped,
            match (&self.spec.node, a.balanced()) {
                (Some(_), _) =>
                    "  (this node's part: the books balance across the nodes, in analyze --merge)",
                (None, true) => "",
                (None, false) => "  (DOES NOT BALANCE)",
            },
            if self.log_failure.is_some() {
                "  (NOT IN THE LOG FILES: writing them failed)"
            } else {
                ""
            }
        );
        out
    }
}

/// How to run, beyond the settings.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Draw a live progress line on stderr.
    pub show_progress: bool,
    /// Say on stderr what is running (seed, rates, run directory) once the
    /// run has really started, so a failed start prints only its error.
    pub announce: bool,
    /// Faults to inject (tests only; never set from the command line).
    pub faults: Vec<ConnectionDrop>,
}

/// Runs the model once, in real or virtual time, and returns when every
/// log is flushed.
pub fn run(spec: RunSpec, options: RunOptions) -> Result<RunOutcome, RunError> {
    let stranger_cap = ensure_file_limit(&spec)?;
    let system = actix_system(spec.virtual_time);
    let result = system.block_on(async {
        let network = if spec.virtual_time {
            Network::InProcess
        } else {
            let mut listeners = bind_listeners(&spec)?;
            listeners.stranger_cap = stranger_cap;
            Network::Tcp(listeners)
        };
        let run_dir = run_dir::create(&spec.log_dir, &spec).map_err(|source| RunError::RunDir {
            dir: spec.log_dir.clone(),
            source,
        })?;
        let drain =
            RunDrain::create_for(&run_dir, spec.local_vms(), spec.log_flush).map_err(|source| {
                RunError::RunDir {
                    dir: run_dir.clone(),
                    source,
                }
            })?;
        let log_failures = drain.failures();
        if options.announce {
            announce(&spec, &run_dir);
        }
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        actix::Actor::start(Supervisor::new(
            spec.clone(),
            network,
            logging::run_logger(
                drain,
                if spec.virtual_time {
                    logging::Delivery::InPlace
                } else {
                    logging::Delivery::WriterThread
                },
            ),
            options.show_progress && !spec.virtual_time,
            options.faults,
            done_tx,
        ));
        let mut finished: Finished = done_rx
            .await
            .map_err(|_| RunError::Failed("the supervisor stopped without a result".into()))?
            .map_err(RunError::Failed)?;
        // The VMs' other threads were told to stop with the run.
        for thread in std::mem::take(&mut finished.threads) {
            let _ = thread.join();
        }
        Ok(RunOutcome {
            spec: spec.clone(),
            run_dir,
            reports: finished.reports,
            interrupted: finished.interrupted,
            missing: finished.missing,
            // The supervisor has dropped the log guard: every line has had
            // its last flush.
            log_failure: log_failures.get(),
            elapsed: finished.elapsed,
            startup: finished.startup,
        })
    });
    result
}

/// The actix system a run is driven by: on virtual time, a current-thread runtime whose clock
/// is paused.
fn actix_system(virtual_time: bool) -> actix::SystemRunner {
    if virtual_time {
        // A paused clock jumps to the next timer whenever the runtime is
        // idle: a virtual hour passes in moments. No I/O driver: nothing
        // here opens a socket, and with one, every timer a VM set woke the
        // driver through its eventfd (the supervisor's signals are awaited
        // on their own thread: `supervisor/signals.rs`).
        actix::System::with_tokio_rt(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .expect("a current-thread tokio runtime")
        })
    } else {
        actix::System::new()
    }
}

/// The line on stderr that says what is about to run and where its logs go.
fn announce(spec: &RunSpec, run_dir: &std::path::Path) {
    // Not `eprintln!`: a closed stderr (`2>&1 | head -1`) must not
    // panic a run that has its logs to finish.
    let _ = writeln!(
        std::io::stderr(),
        "{}running {} VMs for {}s{} (seed {}, rates {:?}) into {}",
        match &spec.node {
            Some(node) => format!(
                "node {}: waiting up to {}s for its {} peers, then ",
                node.id,
                node.connect_timeout.as_secs_f64(),
                spec.vm_count - 1
            ),
            None => String::new(),
        },
        spec.vm_count,
        spec.runtime.as_secs_f64(),
        if spec.virtual_time {
            " of virtual time"
        } else {
            ""
        },
        spec.seed,
        spec.rates,
        run_dir.display()
    );
}

/// Binds every VM's listener up front, so a port in use fails the run
/// before anything starts.
pub fn bind_listeners(spec: &RunSpec) -> Result<Listeners, RunError> {
    let mut sockets = Vec::new();
    let mut addrs = Vec::new();
    for id in spec.local_vms() {
        let addr = match &spec.node {
            Some(node) => node.listen,
            None => SocketAddr::new(spec.host, spec.port_of(id)),
        };
        let bind = || -> io::Result<_> {
            let socket = if addr.is_ipv4() {
                TcpSocket::new_v4()?
            } else {
                TcpSocket::new_v6()?
            };
            socket.set_reuseaddr(true)?;
            socket.bind(addr)?;
            let listener = socket.listen(1024)?;
            let local = listener.local_addr()?;
            // Handed to the bridge's thread, which registers it there.
            let listener = listener.into_std()?;
            listener.set_nonblocking(true)?;
            Ok((listener, local))
        };
        let (listener, local) = bind().map_err(|source| match spec.node {
            Some(_) => RunError::NodeBind {
                vm: id,
                addr,
                source,
            },
            None => match NotLocal::from_bind(spec.host, &source) {
                Some(not_local) => RunError::NotLocal {
                    vm: id,
                    addr,
                    source: not_local,
                },
                None => RunError::Bind {
                    vm: id,
                    addr,
                    source,
                },
            },
        })?;
        sockets.push(listener);
        addrs.push(local);
    }
    Ok(Listeners {
        sockets,
        addrs,
        stranger_cap: crate::admission::STRANGER_CAP,
    })
}

/// Raises the soft limit on open files to the hard limit (the most this
/// process may ask for) and returns it; `None` when the platform will not
/// say, and then nothing is checked.
pub(crate) fn open_file_limit() -> Option<u64> {
    rlimit::increase_nofile_limit(u64::MAX).ok()
}

/// Refuses a run whose sockets and log files would not fit under the limit
/// on open files (see [`file_budget`]); returns how many strangers each
/// listener may hold in their handshake.
fn ensure_file_limit(spec: &RunSpec) -> Result<usize, RunError> {
    let Some(limit) = open_file_limit() else {
        return Ok(crate::admission::STRANGER_CAP);
    };
    file_budget::stranger_cap(file_budget::Footprint::of(spec), limit).map_err(RunError::FileLimit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lc_settings::Settings;

    /// A run with no VM reports: its books balance, at zero.
    fn outcome(interrupted: Option<Interrupt>, log_failure: Option<LogFailure>) -> RunOutcome {
        RunOutcome {
            spec: Settings::default().resolve(|| 1).unwrap(),
            run_dir: PathBuf::from("logs/run"),
            reports: Vec::new(),
            interrupted,
            missing: Vec::new(),
            log_failure,
            elapsed: Duration::ZERO,
            startup: Duration::ZERO,
        }
    }

    fn disk_full() -> Option<LogFailure> {
        let mut failure = None;
        LogFailure::record(
            &mut failure,
            "vm-1.log",
            &io::Error::from(io::ErrorKind::StorageFull),
        );
        failure
    }

    #[test]
    fn a_run_with_every_line_written_is_judged_by_its_books() {
        let good = outcome(None, None);
        assert!(good.healthy());
        assert_eq!(good.exit_code(), 0);
        assert!(!good.summary_table().contains("NOT IN THE LOG FILES"));
        assert_eq!(outcome(Some(Interrupt::Sighup), None).exit_code(), 129);
    }

    #[test]
    fn incomplete_logs_fail_the_run_whatever_its_books_say() {
        let cut = outcome(None, disk_full());
        assert!(cut.accounting().balanced(), "balanced in memory");
        assert!(!cut.healthy());
        assert_eq!(cut.exit_code(), 1);
        let books = cut
            .summary_table()
            .lines()
            .find(|l| l.starts_with("messages:"))
            .map(String::from)
            .unwrap();
        assert!(
            books.ends_with("dropped  (NOT IN THE LOG FILES: writing them failed)"),
            "{books}"
        );
        assert_eq!(
            outcome(Some(Interrupt::Sigterm), disk_full()).exit_code(),
            1,
            "a failure outranks the interrupt"
        );
    }
}
