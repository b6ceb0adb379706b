//! Settings that are right get through from every source: environment variables of each kind,
//! `--seed random`, and `log_dir` for `experiment` from the same layers as `run` and `analyze`.
//! Runs the real binary on virtual time, so each run takes a moment.

use crate::common::binary_in;
use std::path::{Path, PathBuf};
use std::process::Output;

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The only directory under `dir`.
fn only_dir(dir: &Path) -> PathBuf {
    let entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    entries.into_iter().next().unwrap()
}

/// The effective settings a run recorded in its run directory.
fn recorded(run_dir: &Path) -> toml::Table {
    let text = std::fs::read_to_string(run_dir.join("settings.toml")).unwrap();
    toml::from_str(&text).unwrap()
}

#[test]
fn environment_variables_of_every_kind_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let output = binary_in(dir.path())
        .args(["--runtime", "1", "--log-dir", "runs"])
        .env("LOGICAL_CLOCKS_VM_COUNT", "4")
        .env("LOGICAL_CLOCKS_RATES", "1,3,6,2")
        .env("LOGICAL_CLOCKS_VIRTUAL_TIME", "true")
        .env("LOGICAL_CLOCKS_INTERNAL_PROBABILITY", "0.5")
        .env("LOGICAL_CLOCKS_LATENCY", "{ kind = \"constant\", ms = 5 }")
        .env("LOGICAL_CLOCKS_SEED", "random")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let settings = recorded(&only_dir(&dir.path().join("runs")));
    assert_eq!(settings["vm_count"].as_integer(), Some(4));
    let rates: Vec<i64> = settings["rates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_integer().unwrap())
        .collect();
    assert_eq!(rates, vec![1, 3, 6, 2]);
    assert_eq!(settings["virtual_time"].as_bool(), Some(true));
    assert_eq!(settings["internal_probability"].as_float(), Some(0.5));
    assert_eq!(settings["latency"]["kind"].as_str(), Some("constant"));
    assert!(
        settings["seed"].is_integer(),
        "a random seed is picked and recorded"
    );
}

#[test]
fn the_seed_flag_takes_random_like_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let output = binary_in(dir.path())
        .args(["--runtime", "1", "--virtual-time", "--seed", "random"])
        .args(["--log-dir", "runs"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let settings = recorded(&only_dir(&dir.path().join("runs")));
    assert!(settings["seed"].is_integer());
}

const TINY_PLAN: &str = r#"
name = "tiny"
seed = 1
trials = 1
runtime = 1
base = { virtual_time = true }

[[variation]]
name = "only"
"#;

/// Runs `experiment plan.toml` in `dir` with `flags` and `env`.
fn study(dir: &Path, flags: &[&str], env: &[(&str, &str)]) -> Output {
    std::fs::write(dir.join("plan.toml"), TINY_PLAN).unwrap();
    let mut command = binary_in(dir);
    command
        .args(["experiment", "plan.toml", "--jobs", "1"])
        .args(flags);
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

/// Runs a study whose log directory is under `blocker`, a regular file, and returns the
/// directory the one-line error names: the study stops before any trial runs, so this shows
/// where the study would have gone, at no cost.
fn study_dir_named(dir: &Path, flags: &[&str], env: &[(&str, &str)]) -> String {
    std::fs::write(dir.join("blocker"), "").unwrap();
    let output = study(dir, flags, env);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let named = stderr
        .split("cannot create the study directory under ")
        .nth(1)
        .unwrap_or_else(|| panic!("{stderr}"));
    named.split_whitespace().next().unwrap().to_string()
}

#[test]
fn experiment_takes_log_dir_from_the_settings_like_run_and_analyze() {
    let dir = tempfile::tempdir().unwrap();
    let settings = |file: &str, log_dir: &str| {
        std::fs::write(dir.path().join(file), format!("log_dir = {log_dir:?}\n")).unwrap()
    };
    settings("Settings.toml", "blocker/from-file");
    settings("other.toml", "blocker/from-config");
    // Settings.toml in the working directory, as `run` and `analyze` read it.
    assert_eq!(study_dir_named(dir.path(), &[], &[]), "blocker/from-file");
    // --config names another file.
    let config = ["--config", "other.toml"];
    assert_eq!(
        study_dir_named(dir.path(), &config, &[]),
        "blocker/from-config"
    );
    // The environment over the file, the flag over both.
    let env = [("LOGICAL_CLOCKS_LOG_DIR", "blocker/from-env")];
    assert_eq!(
        study_dir_named(dir.path(), &config, &env),
        "blocker/from-env"
    );
    let flag = ["--config", "other.toml", "--log-dir", "blocker/from-flag"];
    assert_eq!(
        study_dir_named(dir.path(), &flag, &env),
        "blocker/from-flag"
    );
}

#[test]
fn experiment_refuses_a_bad_settings_file_like_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Settings.toml"), "log_dir = 3\n").unwrap();
    let output = study(dir.path(), &[], &[]);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("`log_dir` = 3 (in Settings.toml, line 1)"),
        "{stderr}"
    );
}

/// Relations between keys (a fault must start within the runtime, rates one per VM) are
/// judged on the settings the run will use, flags included: a flag may make a file's fault
/// schedule fit. A value bad on its own is still refused even when a flag overrides it.
#[test]
fn flags_count_before_keys_are_checked_against_each_other() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("late.toml"),
        "faults = [{ kind = \"pause\", vm = 2, from_s = 100, until_s = 110 }]\nrates = [1, 2]\n",
    )
    .unwrap();
    let output = binary_in(dir.path())
        .args([
            "--config",
            "late.toml",
            "--runtime",
            "200",
            "--vm-count",
            "2",
        ])
        .args(["--virtual-time", "--log-dir", "runs"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let settings = recorded(&only_dir(&dir.path().join("runs")));
    assert_eq!(settings["runtime"].as_float(), Some(200.0));
    assert_eq!(settings["faults"].as_array().map(Vec::len), Some(1));

    std::fs::write(dir.path().join("bad.toml"), "runtime = -5\n").unwrap();
    let output = binary_in(dir.path())
        .args(["--config", "bad.toml", "--runtime", "2", "--virtual-time"])
        .args(["--log-dir", "runs-bad"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains("`runtime` = -5"),
        "{}",
        stderr_of(&output)
    );
}
