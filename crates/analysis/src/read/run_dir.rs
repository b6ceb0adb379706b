//! Finding runs and their VM logs on disk.
//!
//! A run is a directory `<log-dir>/<run-id>/` holding one log per VM, `vm-<id>.log` as the run
//! wrote it or `vm-<id>.log.gz` as a study keeps it ([`lc_contract::vm_log`]); run ids sort in time
//! order, so the newest run is the greatest name that has a VM's log. Kept apart from the
//! streaming so the rest of the analysis never looks at directory listings.

use lc_core::vm_id::VmId;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{AnalysisError, MAX_VMS};
use lc_contract::vm_log::{Storage, VmLog};

/// The newest run in `log_dir`: the lexicographically greatest subdirectory with a VM's log
/// (a node of a cluster writes only its own VM's).
pub fn newest_run(log_dir: &Path) -> Result<PathBuf, AnalysisError> {
    if !log_dir.is_dir() {
        return Err(AnalysisError::MissingLogDir(log_dir.to_path_buf()));
    }
    entries(log_dir)?
        .map(|e| e.path())
        .filter(|p| has_a_vm_log(p))
        .max_by(|a, b| a.file_name().cmp(&b.file_name()))
        .ok_or_else(|| AnalysisError::NoRuns(log_dir.to_path_buf()))
}

/// Whether `dir` holds the log of some VM.
fn has_a_vm_log(dir: &Path) -> bool {
    fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| VmLog::at(&e.path()).is_some_and(|log| log.path.is_file()))
    })
}

/// The run's VM logs, sorted by VM id. A VM with both a plain and a gzip log is an error: which
/// one is the evidence cannot be guessed. So is a file named like a VM log whose id is no id of
/// a run (`vm-0.log`, `vm-01.log`, `vm-4294967295.log`): skipping it would hide a VM, and the
/// per-VM tables are sized from the ids, so none may exceed the VM limit.
pub fn vm_logs(run_dir: &Path) -> Result<Vec<VmLog>, AnalysisError> {
    if !run_dir.is_dir() {
        return Err(AnalysisError::MissingRunDir(run_dir.to_path_buf()));
    }
    let mut by_vm: BTreeMap<VmId, VmLog> = BTreeMap::new();
    for entry in entries(run_dir)? {
        let path = entry.path();
        let Some(log) = bounded_log(&path)? else {
            continue;
        };
        if !log.path.is_file() {
            continue;
        }
        if let Some(other) = by_vm.insert(log.vm, log.clone()) {
            let (plain, gzip) = if other.storage == Storage::Plain {
                (other, log)
            } else {
                (log, other)
            };
            return Err(AnalysisError::TwoForms {
                run_dir: run_dir.to_path_buf(),
                plain: plain.name(),
                gzip: gzip.name(),
            });
        }
    }
    if by_vm.is_empty() {
        return Err(AnalysisError::NoLogs(run_dir.to_path_buf()));
    }
    Ok(by_vm.into_values().collect())
}

/// The VM log at `path` if its name is one, refusing a name of the form `vm-<digits>.log` (or
/// `.log.gz`) whose number is not an id from 1 to the VM limit.
fn bounded_log(path: &Path) -> Result<Option<VmLog>, AnalysisError> {
    let Some(id) = claimed_id(path) else {
        return Ok(None);
    };
    match VmLog::at(path) {
        Some(log) if log.vm.get() <= MAX_VMS => Ok(Some(log)),
        _ => Err(AnalysisError::VmIdOutOfRange {
            path: path.to_path_buf(),
            id: id.to_string(),
            max: MAX_VMS,
        }),
    }
}

/// The digits of a file name of the form `vm-<digits>.log` or `vm-<digits>.log.gz`.
fn claimed_id(path: &Path) -> Option<&str> {
    let rest = path.file_name()?.to_str()?.strip_prefix("vm-")?;
    let id = rest
        .strip_suffix(".log")
        .or_else(|| rest.strip_suffix(".log.gz"))?;
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())).then_some(id)
}

/// The readable entries of `dir`.
fn entries(dir: &Path) -> Result<impl Iterator<Item = fs::DirEntry>, AnalysisError> {
    let read = fs::read_dir(dir).map_err(|source| AnalysisError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    Ok(read.filter_map(Result::ok))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for file in files {
            fs::write(dir.path().join(file), "").unwrap();
        }
        dir
    }

    #[test]
    fn plain_and_gzip_logs_are_listed_together_in_vm_order() {
        let dir = run(&["vm-2.log.gz", "vm-10.log", "vm-1.log", "notes.txt"]);
        let logs: Vec<String> = vm_logs(dir.path())
            .unwrap()
            .iter()
            .map(VmLog::name)
            .collect();
        assert_eq!(logs, ["vm-1.log", "vm-2.log.gz", "vm-10.log"]);
    }

    #[test]
    fn both_forms_of_one_log_are_refused_in_one_line() {
        let dir = run(&["vm-1.log", "vm-2.log", "vm-2.log.gz"]);
        let error = vm_logs(dir.path()).unwrap_err().to_string();
        assert_eq!(
            error,
            format!(
                "run directory {} holds both vm-2.log and vm-2.log.gz: keep one of them \
                 (analyze reads either form of a VM's log, not both)",
                dir.path().display()
            )
        );
        assert!(!error.contains('\n'));
    }

    #[test]
    fn names_of_no_vm_id_are_refused_not_skipped() {
        for bad in [
            "vm-0.log",
            "vm-01.log.gz",
            "vm-129.log",
            "vm-4294967296.log",
        ] {
            let dir = run(&["vm-1.log", bad]);
            let error = vm_logs(dir.path()).unwrap_err().to_string();
            assert!(error.contains(bad), "{error}");
            assert!(error.contains("ids 1 to 128"), "{error}");
        }
        let dir = run(&["vm-1.log", "vm-128.log", "vm-x.log", "vm-1.log.txt"]);
        assert_eq!(vm_logs(dir.path()).unwrap().len(), 2);
    }

    #[test]
    fn the_newest_run_may_keep_its_logs_compressed() {
        let logs = tempfile::tempdir().unwrap();
        for (run, file) in [("2026-01-01", "vm-1.log"), ("2026-02-01", "vm-1.log.gz")] {
            fs::create_dir(logs.path().join(run)).unwrap();
            fs::write(logs.path().join(run).join(file), "").unwrap();
        }
        fs::create_dir(logs.path().join("2026-03-01")).unwrap();
        assert_eq!(
            newest_run(logs.path()).unwrap(),
            logs.path().join("2026-02-01")
        );
    }
}
