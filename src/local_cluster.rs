//! `logical-clocks cluster`: a cluster of N node processes on this machine,
//! the local demonstration of one VM per process and the harness the tests
//! drive nodes with.
//!
//! It writes a cluster file for the run's settings (free ports on the
//! run's host, a fresh random secret, the seed pinned), starts one
//! `logical-clocks node` per VM, each with its own log directory and its
//! output in a file beside it, waits for all of them, and hands back where
//! each node's run directory is, for `analyze --merge`. The nodes run in
//! process groups of their own, so a Ctrl-C at the terminal reaches this
//! process alone, which passes it (or SIGTERM, or SIGHUP: whatever stops a
//! `run`) on once to every node (a second one would tell a node to stop
//! without its orderly end); a node is also told to stop if this process
//! dies without a word (Linux's parent-death signal), so none is orphaned.
//! The nodes are waited for all at once: the first to fail stops the
//! others at once, instead of leaving them to wait out their connect
//! timeout for a peer that is gone. Everything the nodes
//! agree on is in the file; nothing is passed to one node and not another.

use crate::stop_clock::Interrupt;
use futures_util::stream::{self, FuturesUnordered, Stream, StreamExt};
use lc_contract::run_dir;
use lc_core::vm_id::VmId;
use lc_settings::RunSpec;
use std::fmt::Write as _;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use tokio::signal::unix::{signal, SignalKind};

/// The cluster file `cluster` writes into its directory.
pub(crate) const CLUSTER_FILE: &str = "cluster.toml";
/// How long each node waits for its peers (they start within moments of
/// each other here).
const CONNECT_TIMEOUT_SECS: u64 = 30;
/// How long the nodes have to stop in order once a failed node has
/// stopped the cluster; a node told before it watched its signals would
/// otherwise wait out its connect timeout.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Why a local cluster could not be run.
#[derive(Debug, thiserror::Error)]
pub enum LocalClusterError {
    #[error("cannot create the cluster directory under {}: {source}", dir.display())]
    Dir { dir: PathBuf, source: io::Error },
    #[error("cannot find free ports on {host}: {source}")]
    Ports { host: String, source: io::Error },
    #[error("cannot find this program to start the nodes with: {0}")]
    Program(io::Error),
    #[error("cannot start node {id} ({}): {source}", program.display())]
    Spawn {
        id: VmId,
        program: PathBuf,
        source: io::Error,
    },
    #[error("waiting for the nodes failed: {0}")]
    Wait(io::Error),
    #[error(transparent)]
    FileLimit(crate::file_budget::FileShortage),
    #[error(transparent)]
    NotLocal(crate::run::NotLocal),
}

/// One node, once it has exited.
#[derive(Debug)]
pub struct NodeExit {
    pub id: VmId,
    pub status: ExitStatus,
    /// Its run directory, if it made one.
    pub(crate) run_dir: Option<PathBuf>,
    /// The last line it printed: why it failed, when it did.
    pub last_line: Option<String>,
    /// What it printed (stdout and stderr).
    pub output: PathBuf,
}

/// A local cluster that ran.
#[derive(Debug)]
pub struct LocalCluster {
    pub(crate) nodes: Vec<NodeExit>,
    /// The signal (SIGINT, SIGTERM or SIGHUP) passed on to the nodes, if one was.
    pub interrupted: Option<Interrupt>,
    /// The node whose failure made `cluster` stop the others, if one did.
    pub failed_first: Option<VmId>,
}

impl LocalCluster {
    /// Every node's run directory, when every node made one.
    pub fn run_dirs(&self) -> Option<Vec<PathBuf>> {
        self.nodes.iter().map(|n| n.run_dir.clone()).collect()
    }

    /// Whether every node ended well: exit 0, or, once told to stop, the
    /// exit code of a run stopped in order by a signal (129, 130 or 143).
    pub fn all_succeeded(&self) -> bool {
        self.failed_nodes().next().is_none()
    }

    /// The nodes that did not end well (see [`Self::all_succeeded`]).
    pub fn failed_nodes(&self) -> impl Iterator<Item = &NodeExit> {
        let told_to_stop = self.interrupted.is_some() || self.failed_first.is_some();
        self.nodes.iter().filter(move |n| {
            let stopped_in_order = told_to_stop
                && self.failed_first != Some(n.id)
                && matches!(n.status.code(), Some(129 | 130 | 143));
            !(n.status.success() || stopped_in_order)
        })
    }
}

/// The cluster file for `spec` with nodes at `addrs` (node `k` at
/// `addrs[k - 1]`) sharing `secret`.
pub(crate) fn cluster_file(spec: &RunSpec, addrs: &[SocketAddr], secret: &str) -> String {
    let mut settings = spec.effective_settings();
    settings.vm_count = addrs.len() as i64;
    settings.rates.truncate(addrs.len());
    let mut text = format!(
        "# A cluster of {} nodes on this machine, written by `logical-clocks cluster`.\n\
         # Start a node by hand with: logical-clocks node --id K --cluster <this file>\n\
         secret = {secret:?}\n\
         connect_timeout = {CONNECT_TIMEOUT_SECS}\n",
        addrs.len()
    );
    text.push_str(&toml::to_string(&settings).unwrap_or_default());
    for (index, addr) in addrs.iter().enumerate() {
        let _ = write!(text, "\n[[peers]]\nid = {}\naddr = \"{addr}\"\n", index + 1);
    }
    text
}

/// Free ports on `spec.host` for every VM (from `base_port` when it is
/// set, as in a single-process run).
fn node_addrs(spec: &RunSpec) -> io::Result<Vec<SocketAddr>> {
    if spec.base_port != 0 {
        return Ok(VmId::all(spec.vm_count)
            .map(|id| SocketAddr::new(spec.host, spec.port_of(id)))
            .collect());
    }
    // Held together so no two are the same, then released for the nodes.
    let listeners = (0..spec.vm_count)
        .map(|_| TcpListener::bind(SocketAddr::new(spec.host, 0)))
        .collect::<io::Result<Vec<_>>>()?;
    listeners.iter().map(TcpListener::local_addr).collect()
}

/// Runs the cluster: writes its file, starts the nodes, waits for them.
/// `say` gets a line when the nodes start and one as each exits.
pub fn run(spec: &RunSpec, say: &mut dyn FnMut(String)) -> Result<LocalCluster, LocalClusterError> {
    let program = std::env::current_exe().map_err(LocalClusterError::Program)?;
    run_with(&program, spec, say)
}

/// [`run`] with the node program given (tests pass the built binary).
pub(crate) fn run_with(
    program: &Path,
    spec: &RunSpec,
    say: &mut dyn FnMut(String),
) -> Result<LocalCluster, LocalClusterError> {
    // Before the cluster's directory exists: the nodes inherit this limit.
    if let Some(limit) = crate::run::open_file_limit() {
        crate::file_budget::check_cluster(spec.vm_count, limit)
            .map_err(LocalClusterError::FileLimit)?;
    }
    // Nodes listen on every interface, but are dialed at `host`: it must
    // be this machine's, or they would dial some other one.
    crate::run::check_host(spec.host).map_err(LocalClusterError::NotLocal)?;
    let addrs = node_addrs(spec).map_err(|source| LocalClusterError::Ports {
        host: spec.host.to_string(),
        source,
    })?;
    let dir =
        run_dir::fresh(&spec.log_dir, "cluster-").map_err(|source| LocalClusterError::Dir {
            dir: spec.log_dir.clone(),
            source,
        })?;
    let secret = format!("{:032x}", rand::random::<u128>());
    let file = dir.join(CLUSTER_FILE);
    write_private(&file, &cluster_file(spec, &addrs, &secret)).map_err(|source| {
        LocalClusterError::Dir {
            dir: dir.clone(),
            source,
        }
    })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(LocalClusterError::Wait)?;
    runtime.block_on(supervise(program, spec, &dir, &file, say))
}

/// Starts every node and waits for them all: a stopping signal is passed
/// on to every node, and a node that fails stops the others at once.
async fn supervise(
    program: &Path,
    spec: &RunSpec,
    dir: &Path,
    file: &Path,
    say: &mut dyn FnMut(String),
) -> Result<LocalCluster, LocalClusterError> {
    // Watched before any node exists, so no signal finds its default
    // action (the end of this process, the nodes left orphaned).
    let mut signals = stopping_signals();
    let mut nodes = Vec::new();
    let mut waits = FuturesUnordered::new();
    for id in VmId::all(spec.vm_count) {
        let node_dir = dir.join(format!("node-{id}"));
        let output = dir.join(format!("node-{id}.out"));
        let mut child = spawn_node(program, file, id, &node_dir, &output).map_err(|source| {
            LocalClusterError::Spawn {
                id,
                program: program.to_path_buf(),
                source,
            }
        })?;
        let index = nodes.len();
        nodes.push(Running {
            id,
            pid: child.id(),
            node_dir,
            output,
        });
        waits.push(async move { (index, child.wait().await) });
    }
    say(format!(
        "cluster of {} nodes for {}s (seed {}, rates {:?}) in {}",
        spec.vm_count,
        spec.runtime.as_secs_f64(),
        spec.seed,
        spec.rates,
        dir.display()
    ));
    let mut ending = Ending::default();
    // Set once a failed node has stopped the others: any still running
    // then (one that had not yet watched its signals) is killed.
    let mut kill_at: Option<tokio::time::Instant> = None;
    let mut exits: Vec<Option<NodeExit>> = nodes.iter().map(|_| None).collect();
    while exits.iter().any(Option::is_none) {
        tokio::select! {
            Some((index, status)) = waits.next() => {
                let status = status.map_err(LocalClusterError::Wait)?;
                let exit = nodes[index].exited(status);
                nodes[index].pid = None;
                say(format!("node {} exited with {status}", exit.id));
                if ending.is_none() && !exit.status.success() {
                    say(format!(
                        "node {} failed ({}); stopping the others",
                        exit.id,
                        exit.last_line.as_deref().unwrap_or("it printed nothing")
                    ));
                    ending.failed = Some(exit.id);
                    signal_every_node(&nodes, Some(Interrupt::Sigterm));
                    kill_at = Some(tokio::time::Instant::now() + STOP_GRACE);
                }
                exits[index] = Some(exit);
            }
            () = tokio::time::sleep_until(kill_at.unwrap_or_else(tokio::time::Instant::now)),
                if kill_at.is_some() => {
                kill_at = None;
                for node in nodes.iter().filter(|node| node.pid.is_some()) {
                    say(format!(
                        "node {} did not stop within {} s of SIGTERM; killing it",
                        node.id,
                        STOP_GRACE.as_secs()
                    ));
                }
                signal_every_node(&nodes, None);
            }
            Some(interrupt) = signals.next() => {
                if ending.is_none() {
                    ending.interrupted = Some(interrupt);
                    say("interrupted: passing it on to every node".into());
                    signal_every_node(&nodes, Some(interrupt));
                }
            }
        }
    }
    Ok(LocalCluster {
        nodes: exits.into_iter().flatten().collect(),
        interrupted: ending.interrupted,
        failed_first: ending.failed,
    })
}

/// Why the nodes were told to stop early, if they were.
#[derive(Debug, Default)]
struct Ending {
    interrupted: Option<Interrupt>,
    /// The node whose failure stopped the others.
    failed: Option<VmId>,
}

impl Ending {
    fn is_none(&self) -> bool {
        self.interrupted.is_none() && self.failed.is_none()
    }
}

/// A node that was started.
struct Running {
    id: VmId,
    /// Until it has been waited for, its pid is its own (a zombie at worst).
    pid: Option<u32>,
    node_dir: PathBuf,
    output: PathBuf,
}

impl Running {
    fn exited(&self, status: ExitStatus) -> NodeExit {
        NodeExit {
            id: self.id,
            status,
            run_dir: lc_analysis::newest_run(&self.node_dir).ok(),
            last_line: last_line(&self.output),
            output: self.output.clone(),
        }
    }
}

/// The last line a node printed that says something.
fn last_line(output: &Path) -> Option<String> {
    let text = std::fs::read_to_string(output).ok()?;
    text.lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .map(str::to_string)
}

/// Starts node `id` in a process group of its own (the terminal's Ctrl-C
/// reaches `cluster` alone), told to stop if `cluster` dies without
/// passing anything on (SIGKILL): no node outlives it.
fn spawn_node(
    program: &Path,
    file: &Path,
    id: VmId,
    node_dir: &Path,
    output: &Path,
) -> io::Result<tokio::process::Child> {
    std::fs::create_dir_all(node_dir)?;
    let out = std::fs::File::create(output)?;
    let err = out.try_clone()?;
    let mut command = tokio::process::Command::new(program);
    command
        .arg("node")
        .arg("--id")
        .arg(id.to_string())
        .arg("--cluster")
        .arg(file)
        .arg("--log-dir")
        .arg(node_dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .kill_on_drop(true);
    #[cfg(target_os = "linux")]
    // SAFETY: prctl(2) is async-signal-safe and touches no memory of the
    // parent; it runs in the child between fork and exec.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.spawn()
}

/// Every signal that stops a `run`, as one stream of [`Interrupt`]s.
fn stopping_signals() -> impl Stream<Item = Interrupt> + Unpin {
    let kinds = [
        (SignalKind::interrupt(), Interrupt::Sigint),
        (SignalKind::terminate(), Interrupt::Sigterm),
        (SignalKind::hangup(), Interrupt::Sighup),
    ];
    // A signal that cannot be watched (none known) keeps its default.
    stream::select_all(kinds.into_iter().filter_map(|(kind, interrupt)| {
        let signal = signal(kind).ok()?;
        Some(
            stream::unfold(signal, |mut signal| async move {
                signal.recv().await?;
                Some(((), signal))
            })
            .map(move |()| interrupt)
            .boxed(),
        )
    }))
}

/// Passes `interrupt` on, once, to every node still running; `None`
/// kills them (SIGKILL).
fn signal_every_node(nodes: &[Running], interrupt: Option<Interrupt>) {
    let number = interrupt.map_or(libc::SIGKILL, Interrupt::signal_number);
    for pid in nodes.iter().filter_map(|node| node.pid) {
        // SAFETY: kill(2) with a pid this process started and has not
        // waited for yet, so it is still that node's.
        unsafe {
            libc::kill(pid as libc::pid_t, number);
        }
    }
}

/// Writes the cluster file readable by its owner only: it holds the secret.
fn write_private(path: &Path, text: &str) -> io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}
