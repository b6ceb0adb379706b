//! Virtual time and the latency model: same actors on a paused clock,
//! frames in-process; seeded runs repeat byte for byte, and delays hold.

mod common;

use common::{check_logs, read_logs, recorded_rates, run_model, Line};
use std::collections::{BTreeMap, HashMap};

fn log_files(run: &common::Run) -> Vec<Vec<u8>> {
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
    // Virtual time starts at its documented epoch.
    assert!(
        logs[&1][0].time.starts_with("2000-01-01T00:00:00"),
        "{:?}",
        logs[&1][0]
    );
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
