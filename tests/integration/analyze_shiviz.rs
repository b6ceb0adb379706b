//! `analyze --shiviz FILE`: the file is read back the way ShiViz's upload reads it (line 1 the
//! parser expression, line 2 the execution delimiter, the log after; executions split at the
//! delimiter and labelled by its `trace` group; events found by the parser's `host`, `clock`
//! and `event` groups, the clock parsed as JSON), held to the checks ShiViz's model makes
//! (own entry present, starting at 1 and growing by 1 per event; every entry a known host,
//! within its event count), and the happened-before relation its clocks encode is recomputed
//! and compared, pair by pair, with a brute-force search of the logs and with the library's
//! causal history.

use crate::common::vid;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common::happened_before::Order;
use lc_analysis::{causal_history, EventId};
use regex::Regex;

/// One event as ShiViz parses it.
#[derive(Debug)]
struct ShivizEvent {
    host: String,
    clock: BTreeMap<String, u32>,
    event: String,
}

#[derive(Debug)]
struct Execution {
    label: String,
    events: Vec<ShivizEvent>,
}

/// Reads a ShiViz upload: the header lines, then each execution's events.
fn read_shiviz(text: &str) -> Vec<Execution> {
    let (parser, rest) = text.split_once('\n').expect("a parser line");
    let (delimiter, log) = rest.split_once('\n').expect("a delimiter line");
    // ShiViz compiles both with the multi-line flag, and trims the log.
    let parser = Regex::new(&format!("(?m){parser}")).expect("the parser expression compiles");
    let log = log.trim();
    let mut chunks: Vec<(String, &str)> = Vec::new();
    if delimiter.trim().is_empty() {
        chunks.push((String::new(), log));
    } else {
        let delimiter = Regex::new(&format!("(?m){}", delimiter.trim())).unwrap();
        let mut label = String::new();
        let mut start = 0;
        for found in delimiter.captures_iter(log) {
            let whole = found.get(0).unwrap();
            chunks.push((label, &log[start..whole.start()]));
            label = found["trace"].to_string();
            start = whole.end();
        }
        chunks.push((label, &log[start..]));
        // Text before the first delimiter counts only if it holds something.
        chunks.retain(|(_, text)| !text.trim().is_empty());
    }
    chunks
        .into_iter()
        .map(|(label, text)| {
            let events: Vec<ShivizEvent> = parser
                .captures_iter(text)
                .map(|c| ShivizEvent {
                    host: c["host"].to_string(),
                    clock: serde_json::from_str(&c["clock"]).expect("the clock is JSON"),
                    event: c["event"].to_string(),
                })
                .collect();
            let lines = text.lines().filter(|l| !l.trim().is_empty()).count();
            assert_eq!(events.len(), lines, "every line of {label:?} is an event");
            Execution { label, events }
        })
        .collect()
}

/// ShiViz's model checks; returns each event's (VM, own entry).
fn check_as_shiviz_does(exec: &Execution) -> Vec<(u32, u32)> {
    let mut count: BTreeMap<&str, u32> = BTreeMap::new();
    let mut ids = Vec::new();
    for e in &exec.events {
        let own = *e
            .clock
            .get(&e.host)
            .expect("the host's own entry is present");
        let n = count.entry(&e.host).or_default();
        *n += 1;
        assert_eq!(own, *n, "{}: own entries count 1, 2, 3...", e.host);
        let vm: u32 = e.host.strip_prefix("vm").unwrap().parse().unwrap();
        ids.push((vm, own));
    }
    for e in &exec.events {
        for (host, &time) in &e.clock {
            let events = count.get(host.as_str()).copied().unwrap_or(0);
            assert!(events > 0, "{host} is not a host of {:?}", exec.label);
            assert!(
                (1..=events).contains(&time),
                "{host}: {time} not in 1..={events}"
            );
        }
    }
    ids
}

/// What the clocks say: a before b when every entry of a is at most b's and they differ.
fn clock_before(a: &BTreeMap<String, u32>, b: &BTreeMap<String, u32>) -> bool {
    a != b && a.iter().all(|(h, &t)| t <= b.get(h).copied().unwrap_or(0))
}

/// The execution's order equals the brute-force order of the run's logs and the library's
/// causal history, and each event names its log line.
fn encodes_the_runs_order(exec: &Execution, run: &Path, vms: u32) {
    let ids = check_as_shiviz_does(exec);
    let order = Order::of_run(run, vms);
    let history = causal_history(run).unwrap();
    assert_eq!(exec.events.len(), order.ticks.len());
    let positions: Vec<usize> = ids
        .iter()
        .map(|&(vm, index)| order.position(vm, index).expect("a tick of the logs"))
        .collect();
    for (e, &p) in exec.events.iter().zip(&positions) {
        let tick = &order.ticks[p];
        let place = format!("(vm-{}.log:{})", tick.vm, tick.line);
        assert!(e.event.ends_with(&place), "{} vs {place}", e.event);
        assert!(e.event.contains(&format!("lc {}", tick.lc)), "{}", e.event);
    }
    for (a, (ea, &pa)) in exec.events.iter().zip(&positions).enumerate() {
        for (b, (eb, &pb)) in exec.events.iter().zip(&positions).enumerate() {
            let shiviz = clock_before(&ea.clock, &eb.clock);
            assert_eq!(shiviz, order.happened_before(pa, pb), "events {a} and {b}");
            let (ia, ib) = (ids[a], ids[b]);
            let library = history.happened_before(
                EventId {
                    vm: vid(ia.0),
                    index: ia.1,
                },
                EventId {
                    vm: vid(ib.0),
                    index: ib.1,
                },
            );
            assert_eq!(shiviz, library, "events {a} and {b}");
        }
    }
}

/// A virtual-time run of the model.
fn model_run(vms: u32, seconds: u32, seed: u32) -> crate::common::Run {
    let run = crate::common::run_model(
        &format!("vm_count = {vms}\n"),
        &[
            "--virtual-time",
            "--runtime",
            &seconds.to_string(),
            "--seed",
            &seed.to_string(),
        ],
    );
    assert!(run.output.status.success(), "{}", run.stderr());
    run
}

fn analyze_with_shiviz(file: &Path, runs: &[PathBuf]) -> std::process::Output {
    crate::common::binary()
        .args(["analyze", "--no-plots", "--shiviz"])
        .arg(file)
        .args(runs)
        .output()
        .unwrap()
}

#[test]
fn one_run_is_one_execution_that_encodes_its_order() {
    let run = model_run(3, 15, 11);
    let dir = run.run_dir();
    let file = run.log_dir.path().join("one.shiviz");
    let out = analyze_with_shiviz(&file, std::slice::from_ref(&dir));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("ShiViz log: "), "{stdout}");
    assert!(stdout.contains("in 1 execution)"), "{stdout}");

    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], lc_analysis::shiviz::PARSER);
    assert_eq!(lines[1], "", "one execution: no delimiter");
    let executions = read_shiviz(&text);
    assert_eq!(executions.len(), 1);
    assert!(executions[0].events.len() > 50);
    encodes_the_runs_order(&executions[0], &dir, 3);
}

#[test]
fn several_runs_are_labelled_executions_of_one_file() {
    let first = model_run(3, 6, 21);
    let second = model_run(4, 5, 22);
    let dirs = [first.run_dir(), second.run_dir()];
    let file = first.log_dir.path().join("two.shiviz");
    let out = analyze_with_shiviz(&file, &dirs);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("in 2 executions)"));

    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.lines().nth(1), Some(lc_analysis::shiviz::DELIMITER));
    let executions = read_shiviz(&text);
    let labels: Vec<&str> = executions.iter().map(|e| e.label.as_str()).collect();
    let names: Vec<String> = dirs
        .iter()
        .map(|d| d.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(labels, names);
    encodes_the_runs_order(&executions[0], &dirs[0], 3);
    encodes_the_runs_order(&executions[1], &dirs[1], 4);
}

#[test]
fn an_unwritable_shiviz_file_is_one_line_and_exit_2() {
    let run = model_run(2, 2, 31);
    let out = analyze_with_shiviz(Path::new("/nonexistent-dir/x.shiviz"), &[run.run_dir()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: cannot write /nonexistent-dir/x.shiviz: "),
        "{stderr}"
    );
}
