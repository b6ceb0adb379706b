//! One VM per process: `node` processes started by hand from one cluster
//! file, `cluster`, the nodes' handshake (a wrong secret, other settings),
//! and a node killed mid-run. Everything on loopback, on free ports, and
//! every process is waited for with a deadline, so nothing can hang.

use crate::common::{binary_in, parse_line, Line};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Free ports on loopback, held together so they differ, then released.
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// A cluster file for nodes on `ports` with `settings` on top.
fn cluster_file(dir: &Path, name: &str, ports: &[u16], settings: &str) -> PathBuf {
    let mut text = format!("secret = \"change-me\"\n{settings}\n");
    for (index, port) in ports.iter().enumerate() {
        text.push_str(&format!(
            "[[peers]]\nid = {}\naddr = \"127.0.0.1:{port}\"\n",
            index + 1
        ));
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A temporary directory with a cluster file `cluster.toml` for `n` nodes
/// on free ports, with `settings` on top.
fn new_cluster(n: usize, settings: &str) -> (tempfile::TempDir, Vec<u16>, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let ports = free_ports(n);
    let file = cluster_file(dir.path(), "cluster.toml", &ports, settings);
    (dir, ports, file)
}

/// `cluster --vm-count 3` for `runtime` seconds with `seed`, on free ports,
/// its logs under `dir/logs`.
fn cluster_command(dir: &Path, runtime: u32, seed: u32) -> std::process::Command {
    let mut command = binary_in(dir);
    command
        .args([
            "cluster",
            "--vm-count",
            "3",
            "--runtime",
            &runtime.to_string(),
        ])
        .args([
            "--seed",
            &seed.to_string(),
            "--base-port",
            "0",
            "--no-plots",
        ])
        .arg("--log-dir")
        .arg(dir.join("logs"));
    command
}

/// Starts node `id` from `file`, logging under `dir/node-<id>`.
fn start_node(dir: &Path, file: &Path, id: u32, env: &[(&str, &str)]) -> Child {
    let mut command = binary_in(dir);
    command
        .args(["node", "--id", &id.to_string(), "--cluster"])
        .arg(file)
        .arg("--log-dir")
        .arg(dir.join(format!("node-{id}")))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join(format!("node-{id}.out"))).unwrap())
        .stderr(std::fs::File::create(dir.join(format!("node-{id}.err"))).unwrap());
    for (name, value) in env {
        command.env(name, value);
    }
    command.spawn().unwrap()
}

/// Waits for `child`, killing it and failing the test after `limit`.
fn wait_within(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Node `id`'s single run directory.
fn node_run(dir: &Path, id: u32) -> PathBuf {
    let runs: Vec<PathBuf> = std::fs::read_dir(dir.join(format!("node-{id}")))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1, "node {id}: {runs:?}");
    runs.into_iter().next().unwrap()
}

/// The lines of node `id`'s own VM log.
fn node_lines(dir: &Path, id: u32) -> Vec<Line> {
    read(&node_run(dir, id).join(format!("vm-{id}.log")))
        .lines()
        .enumerate()
        .map(|(i, l)| parse_line(i + 1, l))
        .collect()
}

#[test]
fn three_nodes_started_by_hand_make_one_healthy_run_with_a_common_start() {
    let (dir, ports, file) = new_cluster(
        3,
        "runtime = 2\nseed = 5\nrates = [20, 30, 40]\nconnect_timeout = 20",
    );
    // Out of order: VM 2 first, alone, so its dial to VM 3 backs off
    // (50 ms doubling); VMs 3 and 1 come 1.6 s later, when VM 1 at once has
    // both its peers but VM 2 waits for its next try. VM 1 must wait for VM
    // 2's word before it gives the start.
    let mut nodes = vec![(2, start_node(dir.path(), &file, 2, &[]))];
    std::thread::sleep(Duration::from_millis(1600));
    for id in [3, 1] {
        nodes.push((id, start_node(dir.path(), &file, id, &[])));
    }
    for (id, node) in &mut nodes {
        let status = wait_within(node, Duration::from_secs(40), &format!("node {id}"));
        let err = read(&dir.path().join(format!("node-{id}.err")));
        assert!(status.success(), "node {id}: {status}: {err}");
    }
    let mut starts = Vec::new();
    for id in 1..=3u32 {
        let run = node_run(dir.path(), id);
        let mut files: Vec<String> = std::fs::read_dir(&run)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        assert_eq!(files, ["settings.toml".to_string(), format!("vm-{id}.log")]);
        let lines = node_lines(dir.path(), id);
        assert_eq!(lines[0].message, "start");
        assert_eq!(
            lines[0].keys["addr"],
            format!("127.0.0.1:{}", ports[id as usize - 1])
        );
        assert_eq!(lines.last().unwrap().message, "stop");
        // The start instant: the first tick less its phase (and the tick's
        // lateness, a few ms at most).
        let phase_us = (lines[0].keys["phase_ms"].parse::<f64>().unwrap() * 1000.0) as i64;
        starts.push(lines[1].micros() - phase_us);
    }
    // One host, one clock: the agreed start is one instant, give or take
    // the start word's trip, the first ticks' lateness and a busy machine
    // (the start word says "in 250 ms").
    let spread = starts.iter().max().unwrap() - starts.iter().min().unwrap();
    assert!(spread < 100_000, "starts {spread} us apart: {starts:?}");

    let merged = binary_in(dir.path())
        .args(["analyze", "--no-plots", "--merge"])
        .args((1..=3).map(|id| node_run(dir.path(), id)))
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&merged.stdout);
    assert!(
        merged.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&merged.stderr)
    );
    assert!(report.contains("Healthy: yes"), "{report}");
    assert!(report.contains("unaccounted 0"), "{report}");
    assert!(report.contains("Host clock offsets"), "{report}");
}

#[test]
fn the_cluster_command_starts_the_nodes_and_analyses_their_runs_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = cluster_command(dir.path(), 2, 11).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stderr.contains("cluster of 3 nodes for 2s (seed 11"),
        "{stderr}"
    );
    for id in 1..=3 {
        assert!(
            stderr.contains(&format!("node {id} exited with exit status: 0")),
            "{stderr}"
        );
    }
    assert_eq!(
        stdout.matches("node run directory: ").count(),
        3,
        "{stdout}"
    );
    assert!(stdout.contains("Healthy: yes"), "{stdout}");
    assert!(stdout.contains("unaccounted 0"), "{stdout}");
    // The cluster file it wrote holds the secret: its owner's only.
    let cluster_dir = std::fs::read_dir(dir.path().join("logs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(cluster_dir.join("cluster.toml"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn a_node_without_the_secret_is_refused_and_no_node_hangs() {
    let (dir, _, file) = new_cluster(3, "runtime = 2\nseed = 5\nconnect_timeout = 2");
    let mut nodes: Vec<(u32, Child)> = (1..=3)
        .map(|id| {
            let env: &[(&str, &str)] = if id == 2 {
                &[("LOGICAL_CLOCKS_SECRET", "not-the-secret")]
            } else {
                &[]
            };
            (id, start_node(dir.path(), &file, id, env))
        })
        .collect();
    for (id, node) in &mut nodes {
        let status = wait_within(node, Duration::from_secs(30), &format!("node {id}"));
        let err = read(&dir.path().join(format!("node-{id}.err")));
        assert_eq!(status.code(), Some(1), "node {id}: {err}");
        assert_eq!(
            err.lines().count(),
            2,
            "an announcement and one error line: {err}"
        );
        // Each says why: its proof was refused, or not every peer came.
        assert!(
            err.contains("does not take this node's secret")
                || err.contains("did not all connect within"),
            "node {id}: {err}"
        );
    }
    // VM 2 dials VM 3, which checks its proof and refuses it, saying why.
    let lines = node_lines(dir.path(), 3);
    assert!(
        lines.iter().any(|l| l.level == "WARN"
            && l.message
                .contains("VM 2 could not prove it knows the cluster's secret")),
        "{lines:?}"
    );
    assert!(lines.iter().all(|l| l.message != "start"), "no VM started");
    // The secret is never written anywhere.
    for id in 1..=3 {
        let log = read(&node_run(dir.path(), id).join(format!("vm-{id}.log")));
        let settings = read(&node_run(dir.path(), id).join("settings.toml"));
        for text in [log, settings] {
            assert!(!text.contains("change-me") && !text.contains("not-the-secret"));
        }
    }
}

#[test]
fn nodes_with_other_settings_refuse_to_start_at_once_naming_both_digests() {
    let settings = "runtime = 2\nseed = 5\nconnect_timeout = 20";
    let (dir, ports, file) = new_cluster(2, settings);
    let other = cluster_file(
        dir.path(),
        "other.toml",
        &ports,
        &settings.replace("seed = 5", "seed = 6"),
    );
    let started = Instant::now();
    let mut one = start_node(dir.path(), &file, 1, &[]);
    let mut two = start_node(dir.path(), &other, 2, &[]);
    for (id, node) in [(1, &mut one), (2, &mut two)] {
        let status = wait_within(node, Duration::from_secs(30), &format!("node {id}"));
        let err = read(&dir.path().join(format!("node-{id}.err")));
        assert_eq!(status.code(), Some(1), "{err}");
        assert!(
            err.contains("runs other settings (digest"),
            "node {id}: {err}"
        );
        assert!(
            err.contains("every node must run the same cluster file"),
            "{err}"
        );
    }
    // Refused as soon as they met, long before the 20 s connect timeout.
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_node_killed_mid_run_is_a_lost_peer_and_the_others_finish_in_order() {
    let (dir, _, file) = new_cluster(
        3,
        "runtime = 5\nseed = 3\nrates = [50, 50, 50]\ninternal_probability = 0.2\n\
         connect_timeout = 20",
    );
    let mut nodes: Vec<(u32, Child)> = (1..=3)
        .map(|id| (id, start_node(dir.path(), &file, id, &[])))
        .collect();
    // Once VM 2 has ticked a while, its process dies at once (SIGKILL).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let log = std::fs::read_dir(dir.path().join("node-2"))
            .ok()
            .and_then(|mut runs| runs.next())
            .map(|run| read(&run.unwrap().path().join("vm-2.log")))
            .unwrap_or_default();
        if log.lines().count() >= 40 {
            break;
        }
        assert!(Instant::now() < deadline, "VM 2 never ticked");
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed_at = Instant::now();
    let (_, mut victim) = nodes.remove(1);
    victim.kill().unwrap();
    let status = victim.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    for (id, node) in &mut nodes {
        let status = wait_within(node, Duration::from_secs(30), &format!("node {id}"));
        let err = read(&dir.path().join(format!("node-{id}.err")));
        assert!(status.success(), "node {id}: {status}: {err}");
        let lines = node_lines(dir.path(), *id);
        assert!(
            lines
                .iter()
                .any(|l| l.level == "WARN" && l.message.contains("lost the connection from VM 2")),
            "node {id}: no WARN about VM 2"
        );
        let stop = lines.last().unwrap();
        assert_eq!(stop.message, "stop", "node {id} ends with its stop line");
        assert!(
            stop.get("dropped") > 0,
            "node {id}: messages to the dead VM 2 are counted: {stop:?}"
        );
        // Nothing after the loss was sent to VM 2 uncounted: every send
        // to it is received by no one, so it is dropped or was in flight.
        let sent_to_2 = lines
            .iter()
            .filter(|l| l.message == "send" && l.keys["to"].split(' ').any(|to| to == "2"))
            .count() as u64;
        assert!(stop.get("dropped") <= sent_to_2);
    }
    // The others ran their whole runtime, and stopped soon after it.
    assert!(killed_at.elapsed() < Duration::from_secs(20));
}

/// Waits (up to 30 s) until each of the three nodes of the cluster under
/// `dir` has logged a few lines of its VM.
fn wait_until_every_node_logged(dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let logged = || {
        let Ok(mut clusters) = std::fs::read_dir(dir.join("logs")) else {
            return 0;
        };
        let Some(Ok(cluster)) = clusters.next() else {
            return 0;
        };
        (1..=3)
            .filter(|id| {
                std::fs::read_dir(cluster.path().join(format!("node-{id}")))
                    .ok()
                    .and_then(|mut runs| runs.next())
                    .map(|run| read(&run.unwrap().path().join(format!("vm-{id}.log"))))
                    .is_some_and(|log| log.lines().count() >= 3)
            })
            .count()
    };
    while logged() < 3 {
        assert!(Instant::now() < deadline, "the nodes never ran");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn ctrl_c_to_the_cluster_command_stops_every_node_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = cluster_command(dir.path(), 60, 4)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once every node's VM has logged a few events, Ctrl-C to `cluster` alone.
    wait_until_every_node_logged(dir.path());
    let interrupted_at = Instant::now();
    unsafe {
        libc::kill(cluster.id() as libc::pid_t, libc::SIGINT);
    }
    let status = wait_within(&mut cluster, Duration::from_secs(30), "cluster");
    let out = cluster.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.code(), Some(130), "{stdout}{stderr}");
    assert!(interrupted_at.elapsed() < Duration::from_secs(20));
    assert!(stderr.contains("passing it on to every node"), "{stderr}");
    // Each node was told once (a second Ctrl-C would have cut it short)
    // and stopped in order: the merged run is whole.
    assert!(!stderr.contains("error"), "{stderr}");
    assert!(stdout.contains("Healthy: yes"), "{stdout}");
}

/// Whether any process still runs with `needle` in its command line
/// (a node of a cluster whose directory it names).
#[cfg(target_os = "linux")]
fn processes_naming(needle: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .map(|cmd| String::from_utf8_lossy(&cmd).replace('\0', " "))
        .filter(|cmd| cmd.contains(needle) && cmd.contains(" node "))
        .collect()
}

/// `signal` to a running `cluster`: every node stops in order, none is
/// left running, the merged analysis is printed, and `cluster` exits with
/// the code `run` gives for that signal.
#[cfg(target_os = "linux")]
fn a_signal_stops_the_cluster_and_every_node(signal: libc::c_int, code: i32, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = cluster_command(dir.path(), 60, 4)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until_every_node_logged(dir.path());
    unsafe {
        libc::kill(cluster.id() as libc::pid_t, signal);
    }
    let status = wait_within(&mut cluster, Duration::from_secs(30), "cluster");
    let out = cluster.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.code(), Some(code), "{name}: {stdout}{stderr}");
    assert!(stderr.contains("passing it on to every node"), "{stderr}");
    for id in 1..=3 {
        assert!(
            stderr.contains(&format!("node {id} exited with exit status: {code}")),
            "{name}: {stderr}"
        );
    }
    assert!(stdout.contains("Healthy: yes"), "{name}: {stdout}");
    let left = processes_naming(&dir.path().display().to_string());
    assert!(left.is_empty(), "{name} left nodes running: {left:?}");
}

#[cfg(target_os = "linux")]
#[test]
fn sighup_stops_the_cluster_and_every_node_with_129() {
    a_signal_stops_the_cluster_and_every_node(libc::SIGHUP, 129, "SIGHUP");
}

#[cfg(target_os = "linux")]
#[test]
fn sigterm_stops_the_cluster_and_every_node_with_143() {
    a_signal_stops_the_cluster_and_every_node(libc::SIGTERM, 143, "SIGTERM");
}

/// SIGKILL cannot be passed on: the nodes are told by the kernel instead
/// (their parent-death signal) and stop in order on their own.
#[cfg(target_os = "linux")]
#[test]
fn a_killed_cluster_leaves_no_node_running() {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = cluster_command(dir.path(), 60, 4)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let needle = dir.path().display().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    while processes_naming(&needle).len() < 3 {
        assert!(Instant::now() < deadline, "the nodes never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    cluster.kill().unwrap();
    cluster.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !processes_naming(&needle).is_empty() {
        assert!(
            Instant::now() < deadline,
            "nodes outlived their cluster: {:?}",
            processes_naming(&needle)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A node that cannot start (its port is taken) ends the cluster at once:
/// the others are stopped instead of waiting out their connect timeout,
/// and the error names the node and what it said.
#[test]
fn a_node_that_fails_stops_the_others_at_once_and_is_named() {
    let dir = tempfile::tempdir().unwrap();
    // Two free ports in a row, the second held by this test.
    let (base, _held) = loop {
        let first = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = first.local_addr().unwrap().port();
        if port == u16::MAX {
            continue;
        }
        if let Ok(second) = TcpListener::bind(("127.0.0.1", port + 1)) {
            drop(first);
            break (port, second);
        }
    };
    let started = Instant::now();
    let out = binary_in(dir.path())
        .args(["cluster", "--vm-count", "3", "--runtime", "5", "--no-plots"])
        .args(["--base-port", &base.to_string(), "--log-dir"])
        .arg(dir.path().join("logs"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("node 2 failed (error: "),
        "the failed node and its last line: {stderr}"
    );
    assert!(stderr.contains("stopping the others"), "{stderr}");
    assert!(
        stderr.contains("error: node 2 exited with exit status: 2 (error: "),
        "{stderr}"
    );
    // Well short of the 30 s connect timeout the others would wait out.
    assert!(started.elapsed() < Duration::from_secs(25), "{stderr}");
}

/// A `host` that is not an address of this machine is named as such, by
/// `run` and by `cluster`, before anything starts or any directory exists:
/// another port would not help. 192.0.2.1 is TEST-NET-1, never local.
#[test]
fn a_host_that_is_not_this_machines_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    for command in [&["run"][..], &["cluster", "--no-plots"][..]] {
        for base_port in ["0", "10000"] {
            let out = binary_in(dir.path())
                .args(command)
                .args(["--vm-count", "3", "--runtime", "1"])
                .args(["--base-port", base_port, "--log-dir"])
                .arg(&logs)
                .env("LOGICAL_CLOCKS_HOST", "192.0.2.1")
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{command:?}: {stderr}");
            assert_eq!(stderr.lines().count(), 1, "{command:?}: {stderr}");
            assert!(
                stderr.contains(
                    "192.0.2.1 (setting `host`) is not an address of this machine; \
                     use one of its own, such as 127.0.0.1, or 0.0.0.0 for all of them"
                ),
                "{command:?} --base-port {base_port}: {stderr}"
            );
            assert!(!stderr.contains("--base-port"), "{stderr}");
            assert!(!logs.exists(), "{command:?}: nothing made");
        }
    }
}
