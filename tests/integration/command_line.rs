//! The command line as documented: `--help` gives the valid ranges and the
//! `LOGICAL_CLOCKS_` variables, and every synopsis of `run`, `analyze` and `experiment` in the
//! chapters that hold them (docs/running.md, the command line of every subcommand; docs/analyze.md
//! and docs/experiment.md, each its own) lists every flag the command really has.

use crate::common::binary;

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

/// Every synopsis of `command` in a chapter (a code line starting with its invocation, and
/// its continuation lines).
fn synopses(chapter: &str, invocation: &str) -> Vec<String> {
    let lines: Vec<&str> = chapter.lines().collect();
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

/// The chapter with the command line of every subcommand.
const RUNNING: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/running.md");
/// The `analyze` guide, which opens with its synopsis.
const ANALYZE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/analyze.md");
/// The `experiment` guide, which opens with its synopsis.
const EXPERIMENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/experiment.md");

#[test]
fn every_documented_synopsis_lists_every_flag() {
    for (command, invocation, chapters) in [
        (&[][..], "logical-clocks [run]", &[RUNNING][..]),
        (
            &["analyze"][..],
            "logical-clocks analyze [",
            &[RUNNING, ANALYZE][..],
        ),
        (
            &["experiment"][..],
            "logical-clocks experiment [",
            &[RUNNING, EXPERIMENT][..],
        ),
    ] {
        let flags = flags_of(command);
        assert!(flags.len() >= 3, "{command:?}: {flags:?}");
        for chapter in chapters {
            let text = std::fs::read_to_string(chapter)
                .unwrap_or_else(|e| panic!("cannot read {chapter}: {e}"));
            let synopses = synopses(&text, invocation);
            assert!(
                !synopses.is_empty(),
                "no synopsis for {invocation} in {chapter}"
            );
            for synopsis in synopses {
                for flag in &flags {
                    assert!(
                        synopsis.contains(&format!("[{flag}")),
                        "{chapter}: synopsis lacks {flag}: {synopsis}"
                    );
                }
            }
        }
    }
}
