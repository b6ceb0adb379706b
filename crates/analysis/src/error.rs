//! The analysis's typed errors: what stops an analysis before it can say anything about a run.
//!
//! Problems *in* a run (broken clock rules, malformed lines) are findings, reported as
//! [`Violation`](crate::Violation)s, not errors. Every variant names the path it is about and
//! displays as one line, so `main` can print it as is.

use lc_core::vm_id::VmId;
use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// The most VMs a run can have, as the settings table allows for `vm_count`: the bound on every
/// VM id and count read from a run's files, checked before anything is sized from one.
pub(crate) const MAX_VMS: u32 = lc_settings::MAX_VMS as u32;

#[derive(Debug, Error)]
pub enum AnalysisError {
    #[error("run directory {0} does not exist or is not a directory")]
    MissingRunDir(PathBuf),
    #[error("log directory {0} does not exist or is not a directory")]
    MissingLogDir(PathBuf),
    #[error("no run in {0}: no subdirectory holds a vm-1.log (or vm-1.log.gz)")]
    NoRuns(PathBuf),
    #[error("no VM logs (vm-<id>.log or vm-<id>.log.gz) in {0}")]
    NoLogs(PathBuf),
    #[error(
        "run directory {} holds both {plain} and {gzip}: keep one of them \
         (analyze reads either form of a VM's log, not both)",
        run_dir.display()
    )]
    TwoForms {
        run_dir: PathBuf,
        plain: String,
        gzip: String,
    },
    #[error("--merge needs the run directory of every node of the run (none given)")]
    NoNodeDirs,
    #[error(
        "vm-{vm}'s log is in both {} and {}: --merge takes one directory per node, each with \
         its own VMs' logs",
        first.display(), second.display()
    )]
    SameVmTwice {
        vm: VmId,
        first: PathBuf,
        second: PathBuf,
    },
    #[error(
        "settings.toml says {vm_count} VMs but no directory given holds the log of {}: give \
         --merge the run directory of every node",
        missing.iter().map(|vm| format!("vm {vm}")).collect::<Vec<_>>().join(", ")
    )]
    MissingNodeVms { vm_count: u32, missing: Vec<VmId> },
    #[error(
        "{} has no usable settings.toml ({reason}): --merge holds each node's settings.toml \
         against the others' to be sure the directories are of one run",
        dir.display()
    )]
    NodeSettings { dir: PathBuf, reason: String },
    #[error(
        "settings.toml of {} differs from that of {} at `{key}` ({other_value} there, \
         {first_value} in the first): --merge takes the directories of one run, whose settings \
         agree apart from comments",
        other.display(), first.display()
    )]
    SettingsDiffer {
        first: PathBuf,
        other: PathBuf,
        key: String,
        first_value: String,
        other_value: String,
    },
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{}:{line}: not a line of the log contract ({reason}); `analyze` reports every such line", path.display())]
    Unreadable {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error(
        "refusing to write {}: it is {}, which this analysis reads; name another file for the \
         output",
        output.display(), input.display()
    )]
    ReplacesInput { output: PathBuf, input: PathBuf },
    #[error(
        "{}: VM id {id} is out of range: VM logs are vm-1.log to vm-{max}.log (ids 1 to {max}, \
         as many as a run can have)",
        path.display()
    )]
    VmIdOutOfRange { path: PathBuf, id: String, max: u32 },
    #[error(
        "{}: vm_count = {value} is out of range: a run has 1 to {max} VMs",
        path.display()
    )]
    VmCountOutOfRange { path: PathBuf, value: u32, max: u32 },
    #[error(
        "{}:{line}: line longer than {} KiB; no line of the log contract is that long",
        path.display(), max / 1024
    )]
    LineTooLong {
        path: PathBuf,
        line: usize,
        max: usize,
    },
    #[error("cannot draw {path}: {detail}")]
    Plot { path: PathBuf, detail: String },
}
