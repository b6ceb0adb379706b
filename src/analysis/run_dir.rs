//! Finding runs and their VM logs on disk.
//!
//! A run is a directory `<log-dir>/<run-id>/` holding `vm-<id>.log` files; run ids sort in time
//! order, so the newest run is the greatest name that has a `vm-1.log`. Kept apart from the
//! streaming so the rest of the analysis never looks at directory listings.

use std::fs;
use std::path::{Path, PathBuf};

use super::error::AnalysisError;

/// One VM's log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmLog {
    pub vm: u32,
    pub path: PathBuf,
}

/// The newest run in `log_dir`: the lexicographically greatest subdirectory with a `vm-1.log`.
pub fn newest_run(log_dir: &Path) -> Result<PathBuf, AnalysisError> {
    if !log_dir.is_dir() {
        return Err(AnalysisError::MissingLogDir(log_dir.to_path_buf()));
    }
    entries(log_dir)?
        .map(|e| e.path())
        .filter(|p| p.join("vm-1.log").is_file())
        .max_by(|a, b| a.file_name().cmp(&b.file_name()))
        .ok_or_else(|| AnalysisError::NoRuns(log_dir.to_path_buf()))
}

/// The run's VM logs, sorted by VM id.
pub fn vm_logs(run_dir: &Path) -> Result<Vec<VmLog>, AnalysisError> {
    if !run_dir.is_dir() {
        return Err(AnalysisError::MissingRunDir(run_dir.to_path_buf()));
    }
    let mut logs: Vec<VmLog> = entries(run_dir)?
        .filter_map(|e| {
            let vm = vm_id(e.file_name().to_str()?)?;
            Some(VmLog { vm, path: e.path() })
        })
        .filter(|log| log.path.is_file())
        .collect();
    if logs.is_empty() {
        return Err(AnalysisError::NoLogs(run_dir.to_path_buf()));
    }
    logs.sort_by_key(|log| log.vm);
    Ok(logs)
}

/// The readable entries of `dir`.
fn entries(dir: &Path) -> Result<impl Iterator<Item = fs::DirEntry>, AnalysisError> {
    let read = fs::read_dir(dir).map_err(|source| AnalysisError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    Ok(read.filter_map(Result::ok))
}

/// `vm-12.log` -> 12; ids are 1-based, so `vm-0.log` is not a VM log.
fn vm_id(file_name: &str) -> Option<u32> {
    let id = file_name.strip_prefix("vm-")?.strip_suffix(".log")?;
    // Digits only and no leading zero, so `vm-01.log` cannot pose as a second VM 1.
    if id.is_empty() || id.starts_with('0') || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_vm_log_names() {
        assert_eq!(vm_id("vm-1.log"), Some(1));
        assert_eq!(vm_id("vm-12.log"), Some(12));
        for name in [
            "vm-0.log",
            "vm-.log",
            "vm-1.txt",
            "vm-+1.log",
            "x-1.log",
            "vm-1.log.bak",
        ] {
            assert_eq!(vm_id(name), None, "{name}");
        }
    }
}
