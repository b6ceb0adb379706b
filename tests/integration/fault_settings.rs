//! The `faults` setting through the real binary: a bad schedule stops it before anything runs,
//! in one line naming the entry, the key and where it was written; a good one from the
//! environment is recorded in the run's `settings.toml`, which reads back to the same schedule.

use crate::common::binary_in;
use crate::common::vid;
use lc_core::faults::{Fault, RestartClock};
use lc_settings::Settings;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

/// The binary with no stray `LOGICAL_CLOCKS_*` from the test's own environment, writing under
/// `dir/runs` from `dir` (which holds no `Settings.toml` of its own), for a 1 s virtual-time run.
fn short_run(dir: &Path) -> Command {
    let mut command = binary_in(dir);
    command
        .arg("--virtual-time")
        .arg("--runtime")
        .arg("1")
        .arg("--seed")
        .arg("4")
        .arg("--log-dir")
        .arg(dir.join("runs"));
    command
}

/// Runs with `settings` as the `--config` file; checks it was refused before anything ran, in
/// one line, and returns that line.
fn refused(settings: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("faults.toml");
    std::fs::write(&config, settings).unwrap();
    let output = short_run(dir.path())
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    let line = one_error_line(&output, settings);
    assert!(
        !dir.path().join("runs").exists(),
        "no run directory for a refused schedule: {line}"
    );
    line.replace(&config.display().to_string(), "FILE")
}

fn one_error_line(output: &Output, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{what}: {stderr}");
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{what}: {stderr}");
    assert!(lines[0].starts_with("error: "), "{what}: {stderr}");
    lines[0].to_string()
}

#[test]
fn a_bad_fault_stops_the_run_in_one_line_naming_entry_key_and_line() {
    let overlap = "vm_count = 3\n\n[[faults]]\nkind = \"pause\"\nvm = 2\nfrom_s = 0.2\n\
                   until_s = 0.6\n\n[[faults]]\nkind = \"crash\"\nvm = 2\nat_s = 0.5\n";
    assert_eq!(
        refused(overlap),
        "error: setting `faults` entry 2 (crash): `at_s` = 0.5 (in FILE, line 3) is not allowed: \
         VM 2 is held by entry 1 (pause) from 0.2 s to 0.6 s; one VM's pause and crash windows \
         may not overlap"
    );
    let stray_key = "[[faults]]\nkind = \"partition\"\ngroups = [[1], [2, 3]]\nfrom_s = 0.1\n\
                     until_s = 0.5\nvm = 2\n";
    assert_eq!(
        refused(stray_key),
        "error: setting `faults` entry 1 (partition): `vm` = 2 (in FILE, line 1) is not allowed: \
         not a key of a partition; a partition takes groups, from_s and until_s, and may have mode"
    );
    // Right for the file's 60 s, but --runtime 1 ends the run before it starts.
    let too_late = "faults = [{ kind = \"crash\", vm = 1, at_s = 10 }]\n";
    assert_eq!(
        refused(too_late),
        "error: setting `faults` entry 1 (crash): `at_s` = 10 (in FILE, line 1) is not allowed: \
         less than runtime (1): a fault starts during the run"
    );
}

#[test]
fn no_shape_of_faults_makes_it_panic() {
    for settings in [
        "faults = \"pause\"\n",
        "faults = [[1, 2]]\n",
        "faults = [{}]\n",
        "faults = [{ kind = 3 }]\n",
        "faults = [{ kind = \"pause\" }]\n",
        "faults = [{ kind = \"pause\", vm = 9223372036854775807, from_s = 0, until_s = 1 }]\n",
        "faults = [{ kind = \"pause\", vm = 1, from_s = 0, until_s = 1e308 }]\n",
        "faults = [{ kind = \"pause\", vm = 1, from_s = -0.0, until_s = -inf }]\n",
        "faults = [{ kind = \"crash\", vm = 1, at_s = 1979-05-27 }]\n",
        "faults = [{ kind = \"partition\", groups = [[-1], [1]], from_s = 0, until_s = 1 }]\n",
        "faults = [{ kind = \"partition\", groups = [], from_s = 0, until_s = 1 }]\n",
        "faults = [{ kind = \"partition\", groups = [[1], [2]], from_s = 0, until_s = 1, mode = 1 }]\n",
        "[[faults]]\nkind = \"crash\"\nvm = 1\nat_s = 0\nrestart_s = nan\n",
        "[faults]\nkind = \"crash\"\n",
    ] {
        let line = refused(settings);
        assert!(line.contains("`faults`"), "{settings}: {line}");
    }
}

#[test]
fn faults_from_the_environment_are_recorded_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let faults = "[{ kind = \"pause\", vm = 2, from_s = 0.25, until_s = 0.5 }, \
                  { kind = \"crash\", vm = 3, at_s = 0.5, restart_s = 2 }]";
    let output = short_run(dir.path())
        .env("LOGICAL_CLOCKS_FAULTS", faults)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let runs: Vec<_> = std::fs::read_dir(dir.path().join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let text = std::fs::read_to_string(runs[0].join("settings.toml")).unwrap();
    let recorded: Settings = toml::from_str(&text).unwrap();
    let spec = recorded
        .resolve(|| unreachable!("the seed is pinned"))
        .unwrap();
    let s = Duration::from_secs_f64;
    assert_eq!(
        spec.faults.faults(),
        [
            Fault::Pause {
                vm: vid(2),
                from: s(0.25),
                until: s(0.5),
            },
            Fault::Crash {
                vm: vid(3),
                at: s(0.5),
                restart: Some(s(2.0)),
                clock: RestartClock::Keep,
            },
        ],
        "{text}"
    );

    let output = short_run(dir.path())
        .env(
            "LOGICAL_CLOCKS_FAULTS",
            "[{ kind = \"pause\", vm = 7, from_s = 0, until_s = 1 }]",
        )
        .output()
        .unwrap();
    assert_eq!(
        one_error_line(&output, "vm 7"),
        "error: setting `faults` entry 1 (pause): `vm` = 7 (from environment variable \
         LOGICAL_CLOCKS_FAULTS) is not allowed: a VM id from 1 to 3 (vm_count)"
    );
}
