//! The command line as documented: `--help` gives the valid ranges and the
//! `LOGICAL_CLOCKS_` variables, and every synopsis in README.md lists every flag the command
//! really has.

mod common;

use common::binary;

fn help(args: &[&str]) -> String {
    let output = binary().args(args).arg("--help").output().unwrap();
    assert!(output.status.success());
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn help_gives_the_ranges_and_the_environment_variables() {
    for help in [help(&[]), help(&["run"])] {
        for needle in [
            "from 2 to 128",
            "at most 604800",
            "from 1 to 65535",
            "\"random\" or a whole number",
            "LOGICAL_CLOCKS_VM_COUNT",
            "LOGICAL_CLOCKS_RUNTIME",
            "LOGICAL_CLOCKS_RATES",
            "comma-separated",
            "LOGICAL_CLOCKS_VIRTUAL_TIME",
            "from 1 to 10000",
            "from 0.0 to 1.0",
            "from 0 to 3600000",
        ] {
            assert!(help.contains(needle), "{needle:?} not in:\n{help}");
        }
    }
    for command in ["analyze", "experiment"] {
        assert!(
            help(&[command]).contains("LOGICAL_CLOCKS_LOG_DIR"),
            "{command}"
        );
    }
}

/// The long flags a command's `--help` lists, but `--help` and `--version`.
fn flags_of(command: &[&str]) -> Vec<String> {
    let mut flags: Vec<String> = help(command)
        .lines()
        .filter_map(|line| {
            let line = line.trim_start();
            let start = line.find("--")?;
            // Only option lines: the flag comes first (after an optional short form).
            (start <= 4).then(|| {
                line[start..]
                    .split(|c: char| c.is_whitespace() || c == ',')
                    .next()
                    .unwrap()
                    .to_string()
            })
        })
        .filter(|flag| flag != "--help" && flag != "--version")
        .collect();
    flags.dedup();
    flags
}

/// Every synopsis of `command` in the README (a code line starting with its invocation, and
/// its continuation lines).
fn synopses(readme: &str, invocation: &str) -> Vec<String> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with(invocation) {
            let mut text = line.to_string();
            for next in &lines[i + 1..] {
                if !next.starts_with("  ") {
                    break;
                }
                text.push_str(next);
            }
            found.push(text);
        }
    }
    found
}

#[test]
fn every_readme_synopsis_lists_every_flag() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for (command, invocation) in [
        (&[][..], "logical-clocks [run]"),
        (&["analyze"][..], "logical-clocks analyze ["),
        (&["experiment"][..], "logical-clocks experiment ["),
    ] {
        let flags = flags_of(command);
        assert!(flags.len() >= 3, "{command:?}: {flags:?}");
        let synopses = synopses(&readme, invocation);
        assert!(!synopses.is_empty(), "no synopsis for {invocation}");
        for synopsis in synopses {
            for flag in &flags {
                assert!(
                    synopsis.contains(&format!("[{flag}")),
                    "README synopsis lacks {flag}: {synopsis}"
                );
            }
        }
    }
}
