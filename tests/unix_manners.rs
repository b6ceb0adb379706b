//! How the binary behaves as one process among others: a closed terminal
//! (SIGHUP) stops the run in order, and a reader that goes away early
//! (`| head -1`, `| true`) ends the output quietly without cutting the work
//! short.

mod common;

use common::{check_logs, read_logs, run_dirs, send_signal, spawn_model, wait_for_addrs};
use std::time::{Duration, Instant};

#[cfg(unix)]
#[test]
fn sighup_stops_the_run_in_order_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let child = spawn_model(
        "vm_count = 4\nruntime = 60\nrates = [5, 10, 20, 40]\ninternal_probability = 0.4\n",
        dir.path(),
    );
    wait_for_addrs(&dir.path().join("runs"), 4);
    std::thread::sleep(Duration::from_millis(800));
    let hung_up_at = Instant::now();
    send_signal(&child, "HUP");
    let output = child.wait_with_output().unwrap();
    assert!(hung_up_at.elapsed() < Duration::from_secs(10));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(129), "{stderr}");
    assert!(stderr.contains("interrupted by SIGHUP"), "{stderr}");
    assert!(
        stdout.contains("sent ="),
        "the summary is printed: {stdout}"
    );
    let runs = run_dirs(&dir.path().join("runs"));
    assert_eq!(runs.len(), 1);
    // Every VM logged `stop` and the books balance, line by line.
    let logs = read_logs(&runs[0]);
    assert_eq!(logs.len(), 4);
    let checked = check_logs(&logs, &[5, 10, 20, 40], None);
    assert!(
        checked.ticks[&4] > 0 && checked.ticks[&4] < 40 * 30,
        "{checked:?}"
    );
}
