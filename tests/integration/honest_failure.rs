//! A run whose logs cannot be written is a failed run: a full disk must not
//! end in a summary that looks good, exit code 0 and logs cut mid-line.
//!
//! The full disk is real: a small tmpfs mounted for the test (as root). Where
//! mounting is not allowed, a per-file size limit on the child (RLIMIT_FSIZE,
//! with SIGXFSZ ignored so the write fails instead of killing the process)
//! makes the log writes fail the same way, mid-run.

use crate::common::{binary, run_dirs};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A directory that fills up after a few tens of kilobytes.
struct SmallDisk {
    /// Holds the settings file, outside the small disk.
    dir: tempfile::TempDir,
    /// Where the small disk is mounted, if mounting was allowed.
    mounted: Option<PathBuf>,
}

/// The per-file limit when no tmpfs can be mounted, in 512-byte blocks
/// (`sh`'s `ulimit -f` unit): 32 KiB.
const FILE_LIMIT_BLOCKS: u32 = 64;

impl SmallDisk {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("small-disk");
        std::fs::create_dir(&target).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=40k", "tmpfs"])
            .arg(&target)
            .output()
            .is_ok_and(|o| o.status.success())
            .then_some(target);
        if mounted.is_none() {
            eprintln!("cannot mount a tmpfs here: limiting the file size instead");
        }
        SmallDisk { dir, mounted }
    }

    /// Where the run's logs go: on the small disk, or under the file-size
    /// limit.
    fn log_dir(&self) -> PathBuf {
        self.dir.path().join("small-disk").join("runs")
    }

    /// The binary with `args`, run so that its log writes fail once the
    /// small disk is full.
    fn run(&self, args: &[&str]) -> Output {
        let mut command = if self.mounted.is_some() {
            binary()
        } else {
            let mut sh = Command::new("sh");
            sh.arg("-c")
                .arg(format!(
                    "trap '' XFSZ; ulimit -f {FILE_LIMIT_BLOCKS}; exec \"$0\" \"$@\""
                ))
                .arg(env!("CARGO_BIN_EXE_logical-clocks"));
            sh
        };
        command.args(args).output().unwrap()
    }

    fn settings(&self, text: &str) -> PathBuf {
        let path = self.dir.path().join("test-settings.toml");
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        if let Some(target) = &self.mounted {
            let unmounted = Command::new("umount")
                .arg(target)
                .status()
                .is_ok_and(|s| s.success());
            if !unmounted {
                // Still busy: detach it now, the kernel frees it when idle.
                let _ = Command::new("umount").arg("-l").arg(target).status();
            }
        }
    }
}

/// Three VMs at 200 ticks/s for 3 s: about 55 KiB of log per VM, more than
/// the small disk (or the file-size limit) takes.
const FLOOD: &str = "vm_count = 3\nruntime = 3\nrates = [200, 200, 200]\nseed = 3\n\
                     internal_probability = 0.4\n";

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn a_run_whose_logs_cannot_be_written_fails_and_says_where() {
    let disk = SmallDisk::new();
    let config = disk.settings(FLOOD);
    let log_dir = disk.log_dir();
    let output = disk.run(&[
        "--config",
        path_str(&config),
        "--base-port",
        "0",
        "--log-dir",
        path_str(&log_dir),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");

    let runs = run_dirs(&log_dir);
    assert_eq!(runs.len(), 1);
    let run_dir = runs[0].display().to_string();
    // One clear error: the logs are incomplete, where they are, and why.
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("incomplete"), "{stderr}");
    assert!(errors[0].contains(&run_dir), "{stderr}");
    assert!(errors[0].contains("vm-"), "names a file: {stderr}");
    assert!(
        errors[0].contains("No space left on device") || errors[0].contains("File too large"),
        "{stderr}"
    );
    // The books are still printed, but not as if the files held them.
    let books = stdout
        .lines()
        .find(|l| l.starts_with("messages:"))
        .unwrap_or_else(|| panic!("no books line: {stdout}"));
    assert!(books.contains("NOT IN THE LOG FILES"), "{books}");
}

#[test]
fn a_trial_whose_logs_cannot_be_written_is_a_failed_trial() {
    // A full disk would stop the study from writing its own files too; a
    // per-file limit fails only the trial's large log files.
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        "name = \"full\"\nseed = 1\ntrials = 1\nruntime = 200\n\
         base = { vm_count = 2, rates = [60, 60] }\n[[variation]]\nname = \"base\"\n",
    )
    .unwrap();
    let log_dir = dir.path().join("studies");
    let output = Command::new("sh")
        .arg("-c")
        // 512 KiB per file: the study's own files and plots fit, the
        // trial's logs (about 940 KiB per VM) do not.
        .arg("trap '' XFSZ; ulimit -f 1024; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_logical-clocks"))
        .arg("experiment")
        .arg(&plan)
        .arg("--virtual-time")
        .arg("--log-dir")
        .arg(&log_dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let study = run_dirs(&log_dir).pop().unwrap();
    let csv = std::fs::read_to_string(study.join("study.csv")).unwrap();
    let row = csv.lines().nth(1).unwrap_or_else(|| panic!("{csv}"));
    assert!(
        row.contains("failed: the logs are incomplete"),
        "the trial's row says why: {row}"
    );
}
