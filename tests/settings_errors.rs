//! Bad settings: each one exits with code 2 before anything starts, with a
//! single line naming the key. Runs the real binary; no run is made.

mod common;

use common::binary;
use std::process::Output;

fn run_with(settings: &str, env: &[(&str, &str)], flags: &[&str]) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("Settings.toml");
    std::fs::write(&config, settings).unwrap();
    let mut command = binary();
    command
        .arg("--config")
        .arg(&config)
        .arg("--log-dir")
        .arg(dir.path().join("runs"))
        .args(flags);
    for (key, value) in env {
        command.env(key, value);
    }
    (command.output().unwrap(), dir)
}

fn assert_rejected(settings: &str, env: &[(&str, &str)], flags: &[&str], key: &str) {
    let (output, dir) = run_with(settings, env, flags);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{settings:?} {env:?} {flags:?}: {stderr}"
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "one line for {settings:?} {env:?}: {stderr}"
    );
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(
        lines[0].contains(key),
        "{key} not named for {settings:?} {env:?}: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !dir.path().join("runs").exists(),
        "no run directory for a rejected run"
    );
}

#[test]
fn bad_settings_each_name_their_key() {
    let cases: &[(&str, &str)] = &[
        ("vm_count = 1", "vm_count"),
        ("vm_count = 1000", "vm_count"),
        ("vm_count = \"three\"", "vm_count"),
        ("runtime = 0", "runtime"),
        ("runtime = -5", "runtime"),
        ("runtime = \"long\"", "runtime"),
        ("base_port = 70000", "base_port"),
        ("base_port = 65535\nvm_count = 3", "base_port"),
        ("base_port = -1", "base_port"),
        ("host = \"not an ip\"", "host"),
        ("rate_min = 0", "rate_min"),
        ("rate_max = 100000", "rate_max"),
        ("rate_min = 6\nrate_max = 2", "rate_min"),
        ("rates = [1, 2]", "rates"),
        ("rates = [1, 0, 3]", "rates"),
        ("internal_probability = 1.5", "internal_probability"),
        ("internal_probability = -0.1", "internal_probability"),
        ("seed = -4", "seed"),
        ("seed = \"soon\"", "seed"),
        ("log_dir = \"\"", "log_dir"),
        ("vm_cuont = 3", "vm_cuont"),
        ("vm_count = ", "line 1"),
    ];
    for (settings, key) in cases {
        assert_rejected(settings, &[], &[], key);
    }
}

#[test]
fn environment_overrides_are_checked_too() {
    assert_rejected("", &[("LOGICAL_CLOCKS_VM_COUNT", "abc")], &[], "vm_count");
    assert_rejected("", &[("LOGICAL_CLOCKS_RUNTIME", "0")], &[], "runtime");
    assert_rejected("", &[("LOGICAL_CLOCKS_VM_CONT", "3")], &[], "vm_cont");
}

#[test]
fn a_bad_file_value_is_an_error_even_when_a_flag_overrides_it() {
    assert_rejected("vm_count = 0", &[], &["--vm-count", "3"], "vm_count");
    assert_rejected("runtime = -1", &[], &["--runtime", "1"], "runtime");
}

#[test]
fn bad_flags_are_rejected() {
    assert_rejected("", &[], &["--vm-count", "1"], "vm_count");
    assert_rejected("", &[], &["--runtime", "0"], "runtime");
    assert_rejected(
        "",
        &[],
        &["--base-port", "65535", "--vm-count", "2"],
        "base_port",
    );
}

#[test]
fn a_missing_config_file_is_named() {
    let output = binary()
        .args(["--config", "/nonexistent/settings.toml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.contains("/nonexistent/settings.toml"), "{stderr}");
}

#[test]
fn a_port_in_use_is_named_with_a_way_out() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let (output, dir) = run_with("runtime = 1", &[], &["--base-port", &port]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&port), "{stderr}");
    assert!(stderr.contains("--base-port 0"), "{stderr}");
    assert!(
        !dir.path().join("runs").exists(),
        "no run directory for a failed start"
    );
}

#[test]
fn an_unwritable_log_dir_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_dir = dir.path().join("a-file");
    std::fs::write(&not_a_dir, "").unwrap();
    let output = binary()
        .args(["--runtime", "1", "--base-port", "0", "--log-dir"])
        .arg(&not_a_dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("log_dir"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
