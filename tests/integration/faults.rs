//! Faults during a run: strangers on the VMs' ports, Ctrl-C, a peer whose
//! connections drop. The run must stay correct, lose nothing, and say what
//! happened.

use crate::common::{
    check_logs, data_payload as data, framed, hello_payload as hello, hello_payload_of_version,
    read_logs, run_dirs, run_with_lost_peer, signal_stops_the_run_in_order, spawn_model,
    wait_for_addrs,
};
use logical_clocks::messages::PROTOCOL_VERSION;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

/// Everything a stranger might throw at a port.
fn harass(addr: SocketAddr) {
    let attacks: Vec<Vec<u8>> = vec![
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        // A length prefix far over the frame limit.
        vec![0xff, 0xff, 0xff, 0xf0, 1, 2, 3],
        // A well-formed hello with a guessed token, then a data frame.
        [framed(&hello(42, 1)), framed(&data(1))].concat(),
        // A data frame with no hello at all.
        framed(&data(2)),
        // A hello from an id that is not in the run.
        framed(&hello(7, 99)),
        // Half a frame, then an abrupt disconnect.
        vec![0, 0, 0, 21, 2, 0],
        Vec::new(),
    ];
    for bytes in attacks {
        if let Ok(mut stream) = TcpStream::connect(addr) {
            let _ = stream.write_all(&bytes);
            drop(stream);
        }
    }
}

/// A live run of 3 VMs at 10, 20 and 30 ticks/s for 3 s, under `dir`;
/// `visit` is called with every VM's address once all have started. When
/// the run has ended, its logs must pass every check (receives all match
/// sends of the run's own VMs, nothing lost); they are returned.
fn live_run_visited_by(
    dir: &Path,
    visit: impl Fn(SocketAddr),
) -> std::collections::BTreeMap<u64, Vec<crate::common::Line>> {
    let child = spawn_model(
        "vm_count = 3\nruntime = 3\nrates = [10, 20, 30]\ninternal_probability = 0.4\n",
        dir,
    );
    for addr in wait_for_addrs(&dir.join("runs"), 3) {
        visit(addr);
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let runs = run_dirs(&dir.join("runs"));
    assert_eq!(runs.len(), 1);
    let logs = read_logs(&runs[0]);
    check_logs(&runs[0], &logs, &[10, 20, 30], Some(3.0));
    logs
}

#[test]
fn strangers_on_every_port_cannot_reach_a_vm() {
    let dir = tempfile::tempdir().unwrap();
    let logs = live_run_visited_by(dir.path(), harass);
    let warnings: Vec<_> = logs
        .values()
        .flatten()
        .filter(|l| l.level == "WARN")
        .collect();
    assert!(
        warnings.len() >= 3 * 4,
        "each rejected connection is a WARN line: {warnings:?}"
    );
    assert!(warnings
        .iter()
        .any(|l| l.message.contains("wrong run token")));
    assert!(warnings.iter().any(|l| l.message.contains("frame")));
}

/// A peer of the previous protocol (version 2: data frames without vector
/// clocks) says hello to every VM of a live run: each refuses it with one
/// WARN naming both versions, closes the connection, and runs on unharmed.
#[test]
fn a_peer_speaking_the_previous_protocol_is_refused_with_one_warn() {
    let old = PROTOCOL_VERSION - 1;
    let dir = tempfile::tempdir().unwrap();
    let logs = live_run_visited_by(dir.path(), |addr| {
        let mut stream = TcpStream::connect(addr).unwrap();
        // VM 1 is the one id every VM but the first accepts; the token is
        // a guess, but the version is refused before the token is looked at.
        stream
            .write_all(&framed(&hello_payload_of_version(old, 1, 1)))
            .unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
        assert!(rest.is_empty(), "nothing is said to an old peer: {rest:?}");
    });
    let expected = format!(
        "protocol version {old} refused: this build speaks version {PROTOCOL_VERSION} only"
    );
    for (vm, lines) in &logs {
        let warnings: Vec<&str> = lines
            .iter()
            .filter(|l| l.level == "WARN")
            .map(|l| l.message.as_str())
            .collect();
        assert_eq!(warnings.len(), 1, "vm {vm}: {warnings:?}");
        assert!(
            warnings[0].starts_with("closed connection from 127.0.0.1:")
                && warnings[0].ends_with(&expected),
            "vm {vm}: {warnings:?}"
        );
    }
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_the_run_in_order_and_says_so() {
    signal_stops_the_run_in_order("INT", 130, "interrupted");
}

#[test]
fn a_lost_peer_is_reported_and_its_messages_are_counted_as_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = run_with_lost_peer(dir.path(), 3.0, 2, Duration::from_secs(1), 4);
    assert!(
        outcome.accounting().balanced(),
        "{:?}",
        outcome.accounting()
    );
    assert_eq!(outcome.exit_code(), 0);
    // VM 2 lost every peer; the others lost VM 2. All kept ticking.
    for report in &outcome.reports {
        assert_eq!(report.counters.ticks, 60, "{report:?}");
        assert!(report.dropped > 0, "{report:?}");
    }
    let logs = read_logs(&outcome.run_dir);
    let checked = check_logs(&outcome.run_dir, &logs, &[20, 20, 20], Some(3.0));
    assert_eq!(checked.dropped, outcome.accounting().dropped);
    for vm in [1, 3] {
        assert!(
            logs[&vm]
                .iter()
                .any(|l| l.level == "WARN" && l.message.contains("lost the connection from VM 2")),
            "vm {vm} must warn about the lost peer"
        );
    }
}
