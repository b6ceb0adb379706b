//! Three nodes on three network stacks: Linux network namespaces joined by
//! veth pairs through a bridge, each node reaching the others by their
//! addresses over real (virtual) network devices, not loopback, with the
//! model's own latency on the link from VM 1 to VM 2.
//!
//! It creates the namespaces itself, as root (CI runs as root), under names
//! that carry this process's id, and removes them when it ends, also when
//! it fails (a guard's `Drop`). Traffic goes only to addresses inside the
//! namespaces it made. This kernel has no `netem`, so the delay comes from
//! the latency model (`latency_links`), which is what the test measures.

use crate::common::{binary, parse_line, Line};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The delay of the link from VM 1 to VM 2, in milliseconds.
const SLOW_LINK_MS: i64 = 40;

/// The namespaces and links of one test, removed when dropped.
struct Network {
    prefix: String,
    names: Vec<String>,
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap_or_else(|e| {
        panic!("cannot run `ip` (Debian's iproute2): {e}");
    });
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Network {
    /// A hub namespace with a bridge, and one namespace per node with a
    /// veth pair to the bridge; node `k` has 10.77.0.`k`/24.
    fn create(nodes: u32) -> Network {
        let prefix = format!("lc{}", std::process::id());
        let mut network = Network {
            names: Vec::new(),
            prefix: prefix.clone(),
        };
        let hub = network.namespace("hub");
        ip(&["-n", &hub, "link", "add", "br0", "type", "bridge"]);
        ip(&["-n", &hub, "link", "set", "br0", "up"]);
        for k in 1..=nodes {
            let ns = network.namespace(&format!("n{k}"));
            // Interface names: at most 15 bytes.
            let inside = format!("{prefix}v{k}");
            let outside = format!("{prefix}h{k}");
            ip(&[
                "link", "add", &inside, "type", "veth", "peer", "name", &outside,
            ]);
            ip(&["link", "set", &inside, "netns", &ns]);
            ip(&["link", "set", &outside, "netns", &hub]);
            ip(&["-n", &hub, "link", "set", &outside, "master", "br0"]);
            ip(&["-n", &hub, "link", "set", &outside, "up"]);
            ip(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("10.77.0.{k}/24"),
                "dev",
                &inside,
            ]);
            ip(&["-n", &ns, "link", "set", &inside, "up"]);
            ip(&["-n", &ns, "link", "set", "lo", "up"]);
        }
        network
    }

    /// Makes (after removing any left over) the namespace `<prefix>-<name>`.
    fn namespace(&mut self, name: &str) -> String {
        let ns = format!("{}-{name}", self.prefix);
        let _ = Command::new("ip").args(["netns", "del", &ns]).output();
        ip(&["netns", "add", &ns]);
        self.names.push(ns.clone());
        ns
    }

    fn node_ns(&self, k: u32) -> String {
        format!("{}-n{k}", self.prefix)
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        // Deleting a namespace deletes the devices in it, and their peers.
        for ns in self.names.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// Node `k` in its namespace.
fn start_node(network: &Network, dir: &Path, file: &Path, k: u32) -> Child {
    let bin = binary().get_program().to_owned();
    Command::new("ip")
        .args(["netns", "exec", &network.node_ns(k)])
        .arg(bin)
        .args(["node", "--id", &k.to_string(), "--cluster"])
        .arg(file)
        .arg("--log-dir")
        .arg(dir.join(format!("node-{k}")))
        .env_remove("LOGICAL_CLOCKS_SECRET")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join(format!("node-{k}.out"))).unwrap())
        .stderr(std::fs::File::create(dir.join(format!("node-{k}.err"))).unwrap())
        .spawn()
        .unwrap()
}

fn node_run(dir: &Path, k: u32) -> PathBuf {
    std::fs::read_dir(dir.join(format!("node-{k}")))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
}

fn lines(dir: &Path, k: u32) -> Vec<Line> {
    std::fs::read_to_string(node_run(dir, k).join(format!("vm-{k}.log")))
        .unwrap()
        .lines()
        .enumerate()
        .map(|(i, l)| parse_line(i + 1, l))
        .collect()
}

/// Milliseconds from each send on the link `from` → `to` to its receive.
/// The namespaces share the host's clock, so the times compare directly.
fn link_waits_ms(logs: &[Vec<Line>], from: u32, to: u32) -> Vec<f64> {
    let sent: std::collections::HashMap<u64, i64> = logs[from as usize - 1]
        .iter()
        .filter(|l| l.message == "send" && l.keys["to"].split(' ').any(|t| t == to.to_string()))
        .map(|l| (l.get("seq"), l.micros()))
        .collect();
    logs[to as usize - 1]
        .iter()
        .filter(|l| l.message == "receive" && l.get("from") == u64::from(from))
        .map(|l| (l.micros() - sent[&l.get("seq")]) as f64 / 1000.0)
        .collect()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

#[test]
fn three_nodes_in_three_network_namespaces_run_healthy_and_the_slow_link_shows_its_delay() {
    if !crate::common::needs::root(
        "three_nodes_in_three_network_namespaces_run_healthy_and_the_slow_link_shows_its_delay",
    ) {
        return;
    }
    let network = Network::create(3);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cluster.toml");
    let mut text = format!(
        "runtime = 3\nseed = 21\nrates = [100, 100, 100]\nconnect_timeout = 20\n\
         secret = \"netns-test\"\n\
         latency_links = [{{ from = 1, to = 2, delay = {{ kind = \"constant\", ms = {SLOW_LINK_MS} }} }}]\n"
    );
    for k in 1..=3 {
        text.push_str(&format!(
            "[[peers]]\nid = {k}\naddr = \"10.77.0.{k}:10000\"\n"
        ));
    }
    std::fs::write(&file, text).unwrap();
    let mut nodes: Vec<(u32, Child)> = (1..=3)
        .map(|k| (k, start_node(&network, dir.path(), &file, k)))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    for (k, node) in &mut nodes {
        let status = loop {
            if let Some(status) = node.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = node.kill();
                panic!("node {k} did not exit within 60 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let err = std::fs::read_to_string(dir.path().join(format!("node-{k}.err"))).unwrap();
        assert!(status.success(), "node {k}: {status}: {err}");
        // Its peers knew it by its address in its own namespace.
        assert!(err.contains(&format!("node {k}: waiting")), "{err}");
    }
    let logs: Vec<Vec<Line>> = (1..=3).map(|k| lines(dir.path(), k)).collect();
    for (k, log) in logs.iter().enumerate() {
        assert_eq!(log[0].keys["addr"], format!("10.77.0.{}:10000", k + 1));
        assert_eq!(log.last().unwrap().message, "stop");
    }

    let merged = binary()
        .args(["analyze", "--no-plots", "--merge"])
        .args((1..=3).map(|k| node_run(dir.path(), k)))
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&merged.stdout);
    assert!(merged.status.success(), "{report}");
    assert!(
        report.contains("Healthy: yes") && report.contains("unaccounted 0"),
        "{report}"
    );

    // Every message on the slow link took at least its delay; on the other
    // links most took far less (the next tick is 10 ms away at most).
    let slow = link_waits_ms(&logs, 1, 2);
    assert!(
        slow.len() >= 20,
        "only {} messages from VM 1 to VM 2",
        slow.len()
    );
    let fastest = slow.iter().copied().fold(f64::INFINITY, f64::min);
    assert!(
        fastest >= SLOW_LINK_MS as f64,
        "a message from VM 1 reached VM 2 in {fastest} ms, under the link's {SLOW_LINK_MS} ms"
    );
    eprintln!(
        "1->2: {} messages, fastest {fastest:.3} ms, median {:.3} ms",
        slow.len(),
        median(slow.clone())
    );
    for (from, to) in [(2, 1), (1, 3), (3, 1), (2, 3), (3, 2)] {
        let waits = link_waits_ms(&logs, from, to);
        assert!(waits.len() >= 20, "{from}->{to}: {} messages", waits.len());
        let count = waits.len();
        let typical = median(waits);
        eprintln!("{from}->{to}: {count} messages, median {typical:.3} ms");
        assert!(
            typical < SLOW_LINK_MS as f64 / 2.0,
            "{from}->{to}: median {typical} ms, as slow as the slow link"
        );
    }
    drop(network);
    let left: String = String::from_utf8_lossy(
        &Command::new("ip")
            .args(["netns", "list"])
            .output()
            .unwrap()
            .stdout,
    )
    .into_owned();
    assert!(
        !left.contains(&format!("lc{}-", std::process::id())),
        "namespaces left behind: {left}"
    );
}
