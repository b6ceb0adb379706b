//! Bad settings: each one exits with code 2 before anything starts, with a
//! single line naming the key. Runs the real binary; no run is made.

use crate::common::binary;
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

/// Checks that the settings are refused with exit code 2 and one line naming `key`; returns it.
fn assert_rejected(settings: &str, env: &[(&str, &str)], flags: &[&str], key: &str) -> String {
    let (output, dir) = run_with(settings, env, flags);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
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
    stderr
}

/// Like [`assert_rejected`], and the line says each of `needles` and shows no Rust internals.
fn assert_rejected_saying(settings: &str, env: &[(&str, &str)], flags: &[&str], needles: &[&str]) {
    let stderr = assert_rejected(settings, env, flags, needles[0]);
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "{needle:?} not said for {settings:?} {env:?} {flags:?}: {stderr}"
        );
    }
    for internal in [
        "invalid type",
        "internally tagged",
        "Constant {",
        "Uniform {",
        "Delay",
        "expected i64",
    ] {
        assert!(!stderr.contains(internal), "{internal:?} in {stderr}");
    }
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
        ("seed = \"42\"", "seed"),
        ("vm_count = \"3\"", "vm_count"),
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

#[test]
fn the_file_gets_a_whole_number_where_one_is_expected_and_a_boolean_where_one_is() {
    let whole_vms = "a whole number of VMs from 2 to 128";
    let cases: &[(&str, &[&str])] = &[
        (
            "vm_count = 3.5",
            &["vm_count", "= 3.5", "Settings.toml, line 1", whole_vms],
        ),
        (
            "runtime = 5\nvm_count = true",
            &["vm_count", "= true", "line 2", whole_vms],
        ),
        ("vm_count = 3.0", &["vm_count", "= 3.0 "]),
        (
            "rates = [1.4, 2.6, 3]",
            &["rates", "[1.4, 2.6, 3]", "whole numbers"],
        ),
        (
            "virtual_time = \"yes\"",
            &["virtual_time", "\"yes\"", "true or false"],
        ),
        ("virtual_time = 1", &["virtual_time", "true or false"]),
        (
            "log_flush_ms = 2.5",
            &["log_flush_ms", "whole number of milliseconds"],
        ),
        ("base_port = 1e4", &["base_port", "= 10000.0 "]),
        ("rate_min = 1.0", &["rate_min", "whole number of ticks"]),
        ("runtime = true", &["runtime", "number of seconds"]),
        ("host = 127", &["host", "IP address"]),
    ];
    for (settings, needles) in cases {
        assert_rejected_saying(settings, &[], &[], needles);
    }
}

#[test]
fn environment_variables_must_be_the_exact_kind_and_are_named() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "LOGICAL_CLOCKS_VM_COUNT",
            "3.5",
            &[
                "vm_count",
                "\"3.5\"",
                "LOGICAL_CLOCKS_VM_COUNT",
                "whole number",
            ],
        ),
        (
            "LOGICAL_CLOCKS_VM_COUNT",
            "true",
            &["vm_count", "LOGICAL_CLOCKS_VM_COUNT"],
        ),
        (
            "LOGICAL_CLOCKS_VIRTUAL_TIME",
            "yes",
            &[
                "virtual_time",
                "LOGICAL_CLOCKS_VIRTUAL_TIME",
                "true or false",
            ],
        ),
        (
            "LOGICAL_CLOCKS_VIRTUAL_TIME",
            "1",
            &["virtual_time", "true or false"],
        ),
        (
            "LOGICAL_CLOCKS_RATES",
            "1,2.6,3",
            &["rates", "LOGICAL_CLOCKS_RATES", "comma-separated"],
        ),
        (
            "LOGICAL_CLOCKS_LOG_FLUSH_MS",
            "1e3",
            &["log_flush_ms", "LOGICAL_CLOCKS_LOG_FLUSH_MS"],
        ),
        (
            "LOGICAL_CLOCKS_LATENCY",
            "3",
            &["latency", "LOGICAL_CLOCKS_LATENCY", "kind = \"constant\""],
        ),
        // A value of the right kind out of range also names its variable.
        (
            "LOGICAL_CLOCKS_RUNTIME",
            "0",
            &["runtime", "LOGICAL_CLOCKS_RUNTIME", "more than 0"],
        ),
    ];
    for (name, value, needles) in cases {
        assert_rejected_saying("", &[(name, value)], &[], needles);
    }
}

#[test]
fn flags_are_checked_like_every_other_source_and_named() {
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--runtime", "-5"],
            &["runtime", "= -5", "--runtime", "more than 0"],
        ),
        (
            &["--runtime", "soon"],
            &["runtime", "--runtime", "number of seconds"],
        ),
        (
            &["--vm-count", "3.5"],
            &["vm_count", "--vm-count", "whole number of VMs"],
        ),
        (
            &["--vm-count", "1"],
            &["vm_count", "--vm-count", "from 2 to 128"],
        ),
        (&["--base-port", "-1"], &["base_port", "--base-port"]),
        (
            &["--seed", "-4"],
            &["seed", "--seed", "\"random\" or a whole number"],
        ),
        (&["--seed", "soon"], &["seed", "--seed"]),
    ];
    for (flags, needles) in cases {
        assert_rejected_saying("", &[], flags, needles);
    }
}

#[test]
fn range_errors_name_the_file_and_line_of_the_value() {
    assert_rejected_saying(
        "runtime = 5\n\nvm_count = 1",
        &[],
        &[],
        &["vm_count", "Settings.toml, line 3", "from 2 to 128"],
    );
}

#[test]
fn delays_are_refused_in_the_settings_words() {
    let needs_ms = "kind = \"constant\" needs ms from 0 to 3600000";
    let cases: &[(&str, &[&str])] = &[
        ("latency = { kind = \"constant\", ms = -5 }", &["latency", "ms = -5", needs_ms]),
        ("latency = { kind = \"constant\" }", &["latency", "needs ms"]),
        ("latency = { kind = \"constant\", mss = 5 }", &["latency", "needs ms"]),
        ("latency = { kind = \"gauss\" }", &["latency", "\"exponential\""]),
        ("latency = 3", &["latency", "kind = \"none\""]),
        (
            "latency_links = [{ from = 1, to = 2, delay = { kind = \"uniform\", min_ms = 5, max_ms = 1 } }]",
            &["latency_links", "min_ms <= max_ms"],
        ),
        ("latency_links = [{ from = 1, to = 2 }]", &["latency_links", "entry 1 needs `delay`"]),
    ];
    for (settings, needles) in cases {
        assert_rejected_saying(settings, &[], &[], needles);
    }
}

#[test]
fn huge_numbers_are_printed_compactly() {
    let stderr = assert_rejected("runtime = 1e300", &[], &[], "runtime");
    assert!(stderr.contains("`runtime` = 1e300 "), "{stderr}");
    assert!(stderr.len() < 200, "{stderr}");
}

#[test]
fn a_link_given_twice_is_refused_naming_both_entries() {
    let links = "latency_links = [\n\
        { from = 1, to = 2, delay = { kind = \"constant\", ms = 5 } },\n\
        { from = 2, to = 1, delay = { kind = \"constant\", ms = 5 } },\n\
        { from = 1, to = 2, delay = { kind = \"constant\", ms = 9 } },\n]";
    assert_rejected_saying(
        links,
        &[],
        &[],
        &[
            "latency_links",
            "entries 1 and 3",
            "from = 1, to = 2",
            "one entry per link",
        ],
    );
}

/// A file this process cannot read: a file with no permissions, or, for root (who reads it
/// anyway), a kernel file that refuses even root. `None` when neither works here.
fn unreadable_file(dir: &std::path::Path) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("locked.toml");
    std::fs::write(&path, "vm_count = 3\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&path).is_err() {
        return Some(path);
    }
    let refuses_root = std::path::PathBuf::from("/proc/sys/vm/compact_memory");
    (refuses_root.is_file() && std::fs::read(&refuses_root).is_err()).then_some(refuses_root)
}

#[test]
fn an_unreadable_config_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let not_utf8 = dir.path().join("latin1.toml");
    std::fs::write(&not_utf8, b"host = \"caf\xe9\"\n").unwrap();
    let mut files = vec![not_utf8];
    match unreadable_file(dir.path()) {
        Some(file) => files.push(file),
        None => eprintln!("no unreadable file on this machine; checking the non-UTF-8 file only"),
    }
    for file in files {
        let output = binary().arg("--config").arg(&file).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains(&format!("cannot read config file {}", file.display())),
            "{stderr}"
        );
    }
}
