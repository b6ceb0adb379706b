//! Virtual time and the latency model: same actors on a paused clock,
//! frames in-process; seeded runs repeat byte for byte, and delays hold.

use crate::common::{check_logs, check_vector_clocks, read_logs, recorded_rates, run_model, Line};
use std::collections::{BTreeMap, HashMap};

fn log_files(run: &crate::common::Run) -> Vec<Vec<u8>> {
    let dir = run.run_dir();
    (1..)
        .map(|id| std::fs::read(dir.join(format!("vm-{id}.log"))))
        .take_while(Result::is_ok)
        .map(Result::unwrap)
        .collect()
}

#[test]
fn a_seed_reproduces_a_virtual_run_byte_for_byte() {
    let settings = "vm_count = 4\nruntime = 600\nseed = 42\nrate_min = 1\nrate_max = 6\n";
    let a = run_model(settings, &["--virtual-time"]);
    let b = run_model(settings, &["--virtual-time"]);
    assert!(a.output.status.success(), "{}", a.stderr());
    assert!(b.output.status.success(), "{}", b.stderr());
    let (files_a, files_b) = (log_files(&a), log_files(&b));
    assert_eq!(files_a.len(), 4);
    assert!(
        files_a == files_b,
        "same seed, same settings: identical logs"
    );
    assert!(
        String::from_utf8_lossy(&files_a[0]).contains(", vc: "),
        "vector clocks included"
    );

    let other = run_model(
        &settings.replace("seed = 42", "seed = 43"),
        &["--virtual-time"],
    );
    assert!(other.output.status.success());
    assert!(
        log_files(&other) != files_a,
        "another seed gives another run"
    );
}

#[test]
fn a_virtual_hour_follows_every_rule() {
    let run = run_model(
        "vm_count = 3\nruntime = 3600\nseed = 9\ninternal_probability = 0.5\n",
        &["--virtual-time"],
    );
    assert!(run.output.status.success(), "{}", run.stderr());
    let rates = recorded_rates(&run.run_dir());
    let logs = read_logs(&run.run_dir());
    let checked = check_logs(&run.run_dir(), &logs, &rates, Some(3600.0));
    assert!(checked.received > 1_000, "{checked:?}");
    // Every event's `vc` obeys the vector-clock rules.
    let ticks: u64 = checked.ticks.values().sum();
    assert_eq!(check_vector_clocks(&logs), ticks);
    // Virtual time starts at its documented epoch.
    assert!(
        logs[&1][0].time.starts_with("2000-01-01T00:00:00"),
        "{:?}",
        logs[&1][0]
    );
}

/// `vector_clocks = false` changes nothing but the lines' `vc` key: the same
/// seed gives the same lines with it taken out.
#[test]
fn without_vector_clocks_a_virtual_run_is_the_same_run_without_vc() {
    let settings = "vm_count = 4\nruntime = 300\nseed = 8\ninternal_probability = 0.4\n";
    let with = run_model(settings, &["--virtual-time"]);
    let without = run_model(
        &format!("{settings}vector_clocks = false\n"),
        &["--virtual-time"],
    );
    assert!(with.output.status.success(), "{}", with.stderr());
    assert!(without.output.status.success(), "{}", without.stderr());
    let (logs_with, logs_without) = (log_files(&with), log_files(&without));
    assert_eq!(logs_with.len(), 4);
    let mut vc_keys = 0;
    for (a, b) in logs_with.iter().zip(&logs_without) {
        let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
        let stripped: Vec<String> = a
            .lines()
            .map(|line| match line.split_once(", vc: ") {
                Some((head, tail)) => {
                    vc_keys += 1;
                    // `vc` is followed by the logger's own `vm`.
                    let (_, rest) = tail.split_once(", vm: ").expect("vm follows vc");
                    format!("{head}, vm: {rest}")
                }
                None => line.to_string(),
            })
            .collect();
        assert_eq!(stripped, b.lines().collect::<Vec<_>>());
        assert!(!b.contains("vc: "));
    }
    assert!(vc_keys > 1_000, "{vc_keys}");
    let recorded = std::fs::read_to_string(without.run_dir().join("settings.toml")).unwrap();
    assert!(recorded.contains("\nvector_clocks = false\n"), "{recorded}");
}

/// Send time of every message, by (sender, seq).
fn send_times(logs: &BTreeMap<u64, Vec<Line>>) -> HashMap<(u64, u64), i64> {
    logs.iter()
        .flat_map(|(&vm, lines)| {
            lines
                .iter()
                .filter(|l| l.message == "send")
                .map(move |l| ((vm, l.get("seq")), l.micros()))
        })
        .collect()
}

fn check_delays(logs: &BTreeMap<u64, Vec<Line>>, min_wait_us: i64) {
    let sent_at = send_times(logs);
    for (&vm, lines) in logs {
        let mut last_seq_from: HashMap<u64, u64> = HashMap::new();
        for line in lines.iter().filter(|l| l.message == "receive") {
            let (from, seq) = (line.get("from"), line.get("seq"));
            let wait = line.micros() - sent_at[&(from, seq)];
            assert!(
                wait >= min_wait_us,
                "vm {vm} line {}: waited {wait}us",
                line.number
            );
            let last = last_seq_from.insert(from, seq).unwrap_or(0);
            assert!(
                seq > last,
                "vm {vm} line {}: link {from}->{vm} reordered",
                line.number
            );
        }
    }
}

#[test]
fn a_constant_delay_holds_every_message_in_virtual_time() {
    let run = run_model(
        "vm_count = 3\nruntime = 300\nseed = 3\nrates = [2, 5, 9]\n\
         latency = { kind = \"constant\", ms = 400 }\n",
        &["--virtual-time"],
    );
    assert!(run.output.status.success(), "{}", run.stderr());
    let logs = read_logs(&run.run_dir());
    let checked = check_logs(&run.run_dir(), &logs, &[2, 5, 9], Some(300.0));
    assert!(checked.received > 100);
    check_delays(&logs, 400_000);
}

#[test]
fn random_delays_never_reorder_a_link_and_repeat_by_seed() {
    let settings = "vm_count = 3\nruntime = 300\nseed = 4\nrates = [3, 6, 6]\n\
         latency = { kind = \"exponential\", mean_ms = 300 }\n\
         latency_links = [{ from = 1, to = 2, delay = { kind = \"uniform\", min_ms = 50, max_ms = 900 } }]\n";
    let run = run_model(settings, &["--virtual-time"]);
    assert!(run.output.status.success(), "{}", run.stderr());
    let logs = read_logs(&run.run_dir());
    check_logs(&run.run_dir(), &logs, &[3, 6, 6], Some(300.0));
    check_delays(&logs, 0);
    let again = run_model(settings, &["--virtual-time"]);
    assert!(
        log_files(&again) == log_files(&run),
        "delays come from the seed"
    );
}

#[test]
fn a_constant_delay_holds_on_real_tcp_too() {
    let run = run_model(
        "vm_count = 3\nruntime = 2\nrates = [10, 20, 30]\ninternal_probability = 0.3\n\
         latency = { kind = \"constant\", ms = 150 }\n",
        &[],
    );
    assert!(run.output.status.success(), "{}", run.stderr());
    let logs = read_logs(&run.run_dir());
    let checked = check_logs(&run.run_dir(), &logs, &[10, 20, 30], Some(2.0));
    assert!(checked.received > 10, "{checked:?}");
    check_delays(&logs, 150_000);
}

/// A virtual run's runtime has no I/O driver, so its signals are watched on
/// a thread of their own: Ctrl-C must still stop it in order, with every
/// VM's `stop` line and the books balanced.
#[cfg(unix)]
#[test]
fn ctrl_c_stops_a_virtual_run_in_order() {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    // Ten virtual hours at 1000 ticks/s: minutes of work at any speed, so
    // the signal comes long before the end.
    let child = crate::common::spawn_model(
        "vm_count = 3\nruntime = 36000\nrate_min = 1000\nrate_max = 1000\n\
         virtual_time = true\nlog_flush_ms = 0\n",
        dir.path(),
    );
    let runs = dir.path().join("runs");
    let started = Instant::now();
    let has_a_line = || {
        let run = std::fs::read_dir(&runs).ok()?.next()?.ok()?.path();
        Some(std::fs::metadata(run.join("vm-1.log")).ok()?.len() > 0)
    };
    while has_a_line() != Some(true) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the run wrote no line"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let signalled_at = Instant::now();
    crate::common::send_signal(&child, "INT");
    let output = child.wait_with_output().unwrap();
    assert!(signalled_at.elapsed() < Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted by SIGINT"), "{stderr}");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("sent ="),
        "the summary is printed"
    );
    let run = &crate::common::run_dirs(&runs)[0];
    let logs = read_logs(run);
    let checked = check_logs(run, &logs, &[1000, 1000, 1000], None);
    assert!(
        checked.ticks[&1] > 0 && checked.ticks[&1] < 1000 * 36000,
        "stopped early: {checked:?}"
    );
}
