//! What a few tests need that a laptop may lack: headless Chromium and root.
//!
//! Such a test asks here first. Where the thing is missing, it says so in one
//! line on stderr and returns without running, so `cargo test` passes on an
//! ordinary machine; under CI (the `CI` variable set) a missing prerequisite
//! is a failure instead, since `.ci/run` installs Chromium and runs as root,
//! and a silent skip there would hide a test that never ran.

use std::io::Write as _;
use std::path::PathBuf;

/// Whether this run is CI's, where nothing may be skipped.
fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// Reports `what` missing: a one-line skip on a laptop, a failure under CI.
fn missing(test: &str, what: &str) {
    let line = format!("{test}: skipped, it needs {what}");
    if in_ci() {
        panic!("{line}, and CI must have it (.ci/run installs it)");
    }
    // Written to the stderr handle, not with eprintln!, which the test harness captures and
    // shows only for failing tests: the skip must be seen.
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The `chromium` binary on PATH, or `None` after the skip line.
pub fn chromium(test: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .map(|dir| dir.join("chromium"))
        .find(|p| p.is_file());
    if found.is_none() {
        missing(
            test,
            "headless Chromium (`chromium` on PATH: apt-get install -y chromium)",
        );
    }
    found
}

/// Whether the test runs as root; if not, after the skip line.
pub fn root(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        missing(test, "root (it creates network namespaces)");
    }
    root
}
