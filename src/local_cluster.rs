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
//! process alone, which passes it on once to every node (a second Ctrl-C
//! would tell a node to stop without its orderly end). Everything the nodes
//! agree on is in the file; nothing is passed to one node and not another.

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
}

/// One node, once it has exited.
#[derive(Debug)]
pub struct NodeExit {
    pub id: VmId,
    pub status: ExitStatus,
    /// Its run directory, if it made one.
    pub(crate) run_dir: Option<PathBuf>,
    /// What it printed (stdout and stderr).
    pub output: PathBuf,
}

/// A local cluster that ran.
#[derive(Debug)]
pub struct LocalCluster {
    pub(crate) nodes: Vec<NodeExit>,
    /// Whether Ctrl-C (or SIGTERM) was passed on to the nodes.
    pub interrupted: bool,
}

impl LocalCluster {
    /// Every node's run directory, when every node made one.
    pub fn run_dirs(&self) -> Option<Vec<PathBuf>> {
        self.nodes.iter().map(|n| n.run_dir.clone()).collect()
    }

    /// Whether every node ended well: exit 0, or, once interrupted, the
    /// exit code of a run stopped in order by an interrupt (130 or 143).
    pub fn all_succeeded(&self) -> bool {
        self.failed_nodes().next().is_none()
    }

    /// The nodes that did not end well (see [`Self::all_succeeded`]).
    pub fn failed_nodes(&self) -> impl Iterator<Item = &NodeExit> {
        self.nodes.iter().filter(|n| {
            !(n.status.success()
                || (self.interrupted && matches!(n.status.code(), Some(130 | 143))))
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
    let dir =
        run_dir::fresh(&spec.log_dir, "cluster-").map_err(|source| LocalClusterError::Dir {
            dir: spec.log_dir.clone(),
            source,
        })?;
    let addrs = node_addrs(spec).map_err(|source| LocalClusterError::Ports {
        host: spec.host.to_string(),
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

/// Starts every node and waits for them all, passing Ctrl-C and SIGTERM on.
async fn supervise(
    program: &Path,
    spec: &RunSpec,
    dir: &Path,
    file: &Path,
    say: &mut dyn FnMut(String),
) -> Result<LocalCluster, LocalClusterError> {
    let mut children = Vec::new();
    for id in VmId::all(spec.vm_count) {
        let node_dir = dir.join(format!("node-{id}"));
        let output = dir.join(format!("node-{id}.out"));
        let spawned = std::fs::create_dir_all(&node_dir)
            .and_then(|()| std::fs::File::create(&output))
            .and_then(|out| {
                let err = out.try_clone()?;
                tokio::process::Command::new(program)
                    .arg("node")
                    .arg("--id")
                    .arg(id.to_string())
                    .arg("--cluster")
                    .arg(file)
                    .arg("--log-dir")
                    .arg(&node_dir)
                    .stdin(Stdio::null())
                    .stdout(out)
                    .stderr(err)
                    .process_group(0)
                    .kill_on_drop(true)
                    .spawn()
            });
        match spawned {
            Ok(child) => children.push((id, node_dir, output, child)),
            Err(source) => {
                return Err(LocalClusterError::Spawn {
                    id,
                    program: program.to_path_buf(),
                    source,
                })
            }
        }
    }
    say(format!(
        "cluster of {} nodes for {}s (seed {}, rates {:?}) in {}",
        spec.vm_count,
        spec.runtime.as_secs_f64(),
        spec.seed,
        spec.rates,
        dir.display()
    ));
    let mut interrupts =
        [SignalKind::interrupt(), SignalKind::terminate()].map(|kind| signal(kind).ok());
    let mut interrupted = false;
    let mut nodes = Vec::new();
    // Until waited for, a node's pid stays its own (a zombie at worst).
    let mut unwaited: Vec<u32> = children.iter().filter_map(|c| c.3.id()).collect();
    for (id, node_dir, output, mut child) in children {
        let pid = child.id();
        let status = loop {
            let [sigint, sigterm] = &mut interrupts;
            tokio::select! {
                status = child.wait() => break status.map_err(LocalClusterError::Wait)?,
                Some(()) = recv(sigint) => {}
                Some(()) = recv(sigterm) => {}
            }
            if !interrupted {
                interrupted = true;
                say("interrupted: passing it on to every node".into());
                for &pid in &unwaited {
                    forward_interrupt(pid);
                }
            }
        };
        unwaited.retain(|&other| Some(other) != pid);
        let run_dir = lc_analysis::newest_run(&node_dir).ok();
        say(format!("node {id} exited with {status}"));
        nodes.push(NodeExit {
            id,
            status,
            run_dir,
            output,
        });
    }
    Ok(LocalCluster { nodes, interrupted })
}

async fn recv(signal: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match signal {
        Some(signal) => signal.recv().await,
        None => std::future::pending().await,
    }
}

fn forward_interrupt(pid: u32) {
    // SAFETY: kill(2) with a pid this process started and SIGINT has no
    // memory effects here.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGINT);
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
