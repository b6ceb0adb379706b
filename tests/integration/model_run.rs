//! End-to-end runs of the real binary: real actors, real TCP on free
//! loopback ports, short runtimes. Each test checks the logs event by event.

use crate::common::{check_logs, read_logs, recorded_rates, run_model};
use std::time::{Duration, Instant};

fn settings(vm_count: u32, runtime: f64, rates: &[u32], seed: u64) -> String {
    format!(
        "vm_count = {vm_count}\nruntime = {runtime}\nrates = {rates:?}\nseed = {seed}\n\
         internal_probability = 0.4\n"
    )
}

fn run_and_check(vm_count: u32, runtime: f64, rates: &[u32], seed: u64) -> crate::common::Checked {
    let run = run_model(&settings(vm_count, runtime, rates, seed), &[]);
    assert!(run.output.status.success(), "stderr: {}", run.stderr());
    let run_dir = run.run_dir();
    let rates: Vec<u64> = rates.iter().map(|&r| r.into()).collect();
    assert_eq!(recorded_rates(&run_dir), rates);
    let logs = read_logs(&run_dir);
    assert_eq!(logs.len(), vm_count as usize);
    let checked = check_logs(&run_dir, &logs, &rates, Some(runtime));
    assert!(checked.messages_sent > 0, "no traffic to check");
    assert!(checked.received > 0);
    checked
}

#[test]
fn three_vms_at_the_assignment_rates_follow_every_rule() {
    run_and_check(3, 3.0, &[1, 3, 6], 11);
}

#[test]
fn two_vms_generalise_the_die() {
    run_and_check(2, 2.0, &[20, 50], 5);
}

#[test]
fn eight_vms_lose_nothing() {
    run_and_check(8, 2.0, &[10, 20, 30, 40, 50, 60, 70, 80], 3);
}

#[test]
fn sixteen_vms_lose_nothing() {
    let rates: Vec<u32> = (1..=16).map(|i| i * 5).collect();
    run_and_check(16, 1.5, &rates, 8);
}

#[test]
fn a_slow_vm_builds_a_queue_and_nothing_is_dropped_at_stop() {
    // VM 1 ticks once a second while the others flood it: its queue grows,
    // and what it never takes must show up in its stop line.
    let checked = run_and_check(3, 2.0, &[1, 80, 80], 21);
    assert!(checked.max_queue >= 5, "{checked:?}");
    assert!(checked.left_in_queues > 0, "{checked:?}");
}

#[test]
fn the_run_keeps_its_runtime_limit_and_stops_together() {
    let began = Instant::now();
    let run = run_model(&settings(4, 2.0, &[5, 10, 20, 40], 2), &[]);
    let took = began.elapsed();
    assert!(run.output.status.success(), "stderr: {}", run.stderr());
    // Start-up, 2 s of ticks, the orderly stop: generous for a slow machine.
    assert!(took < Duration::from_secs(8), "took {took:?}");
    let logs = read_logs(&run.run_dir());
    let checked = check_logs(&run.run_dir(), &logs, &[5, 10, 20, 40], Some(2.0));
    let first = checked.stop_times.iter().min().unwrap();
    let last = checked.stop_times.iter().max().unwrap();
    // Together, not one after another (tolerance for a slow, noisy machine).
    assert!(last - first < 300_000, "stops at {:?}", checked.stop_times);
    // Nothing happens past the limit: every event is within the runtime of
    // the first start (plus scheduling slack).
    let start = logs.values().map(|l| l[0].micros()).min().unwrap();
    let latest_event = logs
        .values()
        .flat_map(|l| l.iter().map(|x| x.micros()))
        .max()
        .unwrap();
    assert!(
        latest_event - start < 2_000_000 + 500_000,
        "last event {}us after start",
        latest_event - start
    );
    let stdout = run.stdout();
    assert!(stdout.contains("run directory:"), "{stdout}");
    assert!(stdout.contains("sent ="), "{stdout}");
}

#[test]
fn a_seed_fixes_the_rates_and_no_seed_records_one() {
    let drawn = "vm_count = 5\nruntime = 0.2\nseed = 77\nrate_min = 1\nrate_max = 6\n";
    let a = run_model(drawn, &[]);
    let b = run_model(drawn, &[]);
    assert!(a.output.status.success() && b.output.status.success());
    assert_eq!(recorded_rates(&a.run_dir()), recorded_rates(&b.run_dir()));

    let random = run_model("runtime = 0.2\n", &[]);
    assert!(random.output.status.success(), "{}", random.stderr());
    let text = std::fs::read_to_string(random.run_dir().join("settings.toml")).unwrap();
    let table: toml::Table = toml::from_str(&text).unwrap();
    assert!(table["seed"].is_integer(), "{text}");
}
