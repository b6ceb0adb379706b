//! What went wrong writing a run's log files.
//!
//! A write or flush that fails (a full disk) cannot stop the VMs, which
//! keep their books in memory, but it makes the files lie: lines are lost
//! and the last ones are cut mid-line. So the drain records every failure
//! here, the run reads it once the drain is gone, and a run with incomplete
//! logs is a failed run.

use std::fmt;
use std::io;
use std::sync::{Arc, Mutex};

/// What went wrong writing a run's log files: the first error, where it
/// happened, and every file that lost lines. Plain data; the drain builds it
/// on the writer thread through [`LogFailures`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFailure {
    /// The file of the first failed write (`vm-2.log`).
    pub(crate) first_file: String,
    /// The error of the first failed write.
    pub(crate) first_error: String,
    /// Every file with a failed write, in the order they first failed.
    pub(crate) files: Vec<String>,
}

impl LogFailure {
    /// Adds a failed write of `file` to what failed so far. The first error
    /// is the one kept: later ones are usually its echo (the disk is still
    /// full).
    pub(crate) fn record(failure: &mut Option<LogFailure>, file: &str, error: &io::Error) {
        let failure = failure.get_or_insert_with(|| LogFailure {
            first_file: file.to_string(),
            first_error: error.to_string(),
            files: Vec::new(),
        });
        if !failure.files.iter().any(|f| f == file) {
            failure.files.push(file.to_string());
        }
    }
}

impl fmt::Display for LogFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "writing {} failed: {}",
            self.first_file, self.first_error
        )?;
        let others: Vec<&str> = self
            .files
            .iter()
            .filter(|file| **file != self.first_file)
            .map(String::as_str)
            .collect();
        if !others.is_empty() {
            write!(f, "; {} lost lines too", others.join(", "))?;
        }
        Ok(())
    }
}

/// The run's log-write failures, shared between the drain, which records
/// them on the writer thread, and the run, which reads them once the drain
/// has been dropped (its guard joins the writer thread, so by then every
/// line has had its last flush).
#[derive(Debug, Clone, Default)]
pub(crate) struct LogFailures(Arc<Mutex<Option<LogFailure>>>);

impl LogFailures {
    pub(super) fn record(&self, file: &str, error: &io::Error) {
        let mut failure = self.0.lock().unwrap_or_else(|e| e.into_inner());
        LogFailure::record(&mut failure, file, error);
    }

    /// What failed so far; `None` while every line reached its file.
    pub(crate) fn get(&self) -> Option<LogFailure> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_failure_keeps_the_first_error_and_every_file() {
        let full = io::Error::from(io::ErrorKind::StorageFull);
        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        let mut failure = None;
        LogFailure::record(&mut failure, "vm-2.log", &full);
        LogFailure::record(&mut failure, "vm-2.log", &full);
        LogFailure::record(&mut failure, "vm-1.log", &denied);
        let failure = failure.unwrap();
        assert_eq!(failure.first_file, "vm-2.log");
        assert_eq!(failure.first_error, full.to_string());
        assert_eq!(failure.files, ["vm-2.log", "vm-1.log"]);
        assert_eq!(
            failure.to_string(),
            format!("writing vm-2.log failed: {full}; vm-1.log lost lines too")
        );
    }

    #[test]
    fn a_log_failure_in_one_file_names_only_that_file() {
        let mut failure = None;
        LogFailure::record(&mut failure, "vm-3.log", &io::Error::other("no space left"));
        assert_eq!(
            failure.unwrap().to_string(),
            "writing vm-3.log failed: no space left"
        );
    }
}
