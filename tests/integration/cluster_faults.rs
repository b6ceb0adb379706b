//! Every fault kind in `cluster` mode, one VM per process, behaving as in
//! one process: a crashed VM that restarts is taken back by its peers, a
//! paused one catches up, a partition heals, and the merged analysis calls
//! each run healthy. The evidence is in the nodes' own logs: the faulted
//! VM's messages sent after its fault ended reach its peers.

use crate::common::{binary_in, parse_line, Line};
use std::path::{Path, PathBuf};
use std::process::Output;

/// `cluster --vm-count 3` for `runtime` seconds with the fault schedule
/// `faults` (as LOGICAL_CLOCKS_FAULTS), on free ports, under `dir`.
fn cluster_with_faults(dir: &Path, faults: &str, runtime: u32) -> Output {
    binary_in(dir)
        .env("LOGICAL_CLOCKS_FAULTS", faults)
        .args([
            "cluster",
            "--vm-count",
            "3",
            "--seed",
            "2",
            "--base-port",
            "0",
        ])
        .args(["--runtime", &runtime.to_string(), "--no-plots", "--log-dir"])
        .arg(dir.join("logs"))
        .output()
        .unwrap()
}

/// The log of VM `id`, from its node's run directory under `dir/logs`.
fn vm_lines(dir: &Path, id: u32) -> Vec<Line> {
    let cluster: PathBuf = std::fs::read_dir(dir.join("logs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let run = std::fs::read_dir(cluster.join(format!("node-{id}")))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::read_to_string(run.join(format!("vm-{id}.log")))
        .unwrap()
        .lines()
        .enumerate()
        .map(|(i, l)| parse_line(i + 1, l))
        .collect()
}

/// The `seq` of every message VM `from` sent after its `fault_end` line
/// (after its stop line if `from` has no fault), and how many of them each
/// other VM received.
fn received_after_the_fault(dir: &Path, from: u32) -> (Vec<u64>, Vec<usize>) {
    let lines = vm_lines(dir, from);
    let end = lines
        .iter()
        .position(|l| l.message == "fault_end")
        .expect("the faulted VM logs the fault's end");
    let sent: Vec<u64> = lines[end..]
        .iter()
        .filter(|l| l.message == "send")
        .map(|l| l.keys["seq"].parse().unwrap())
        .collect();
    let received = (1..=3)
        .filter(|&id| id != from)
        .map(|id| {
            vm_lines(dir, id)
                .iter()
                .filter(|l| l.message == "receive" && l.keys["from"] == from.to_string())
                .filter(|l| sent.contains(&l.keys["seq"].parse().unwrap()))
                .count()
        })
        .collect();
    (sent, received)
}

/// Runs `faults` in `cluster` mode and checks the run ended well: every
/// node exits 0, the merged run is healthy, and VM `faulted`'s messages
/// after its fault reached both peers.
fn heals_in_cluster_mode(faults: &str, faulted: u32) {
    let dir = tempfile::tempdir().unwrap();
    let out = cluster_with_faults(dir.path(), faults, 7);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("Healthy: yes"), "{stdout}");
    assert!(!stderr.contains("not an expected peer"), "{stderr}");
    let (sent, received) = received_after_the_fault(dir.path(), faulted);
    assert!(
        !sent.is_empty(),
        "VM {faulted} sent nothing after its fault"
    );
    for (peer, count) in received.iter().enumerate() {
        assert!(
            *count > 0,
            "peer #{peer} of VM {faulted} received none of {sent:?}\n{stdout}{stderr}"
        );
    }
}

#[test]
fn a_crashed_node_that_restarts_with_its_clock_kept_is_taken_back() {
    heals_in_cluster_mode(
        r#"[{kind="crash",vm=3,at_s=2,restart_s=3,clock="keep"}]"#,
        3,
    );
}

#[test]
fn a_crashed_node_that_restarts_with_its_clock_reset_is_taken_back() {
    heals_in_cluster_mode(
        r#"[{kind="crash",vm=1,at_s=2,restart_s=3,clock="reset"}]"#,
        1,
    );
}

#[test]
fn a_paused_node_catches_up_in_cluster_mode() {
    heals_in_cluster_mode(r#"[{kind="pause",vm=3,from_s=1,until_s=2}]"#, 3);
}

#[test]
fn a_held_partition_heals_in_cluster_mode() {
    heals_in_cluster_mode(
        r#"[{kind="partition",groups=[[1],[2,3]],from_s=2,until_s=3,mode="hold"}]"#,
        1,
    );
}

#[test]
fn a_dropping_partition_heals_in_cluster_mode() {
    heals_in_cluster_mode(
        r#"[{kind="partition",groups=[[1],[2,3]],from_s=2,until_s=3,mode="drop"}]"#,
        1,
    );
}

/// The three node directories of a run made before restarted nodes were
/// taken back (`data/never_rejoined`, `cluster` with VM 3 crashing at 3 s
/// and restarting at 4 s): its peers refused VM 3 to the end, every drop
/// was owed to the crash, and the books balanced. Such a run is not healthy.
#[test]
fn a_merged_run_whose_restarted_vm_was_never_taken_back_is_not_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/data/never_rejoined");
    let nodes: Vec<PathBuf> = (1..=3)
        .map(|id| {
            let node = dir.path().join(format!("node-{id}"));
            std::fs::create_dir_all(&node).unwrap();
            for file in ["settings.toml", &format!("vm-{id}.log")] {
                std::fs::copy(data.join(format!("node-{id}")).join(file), node.join(file)).unwrap();
            }
            node
        })
        .collect();
    let out = binary_in(dir.path())
        .args(["analyze", "--merge", "--no-plots"])
        .args(&nodes)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("unaccounted 0"), "{stdout}");
    assert!(stdout.contains("Healthy: NO"), "{stdout}");
    assert!(
        stdout
            .contains("vm-3.log:21: restart-not-rejoined: VM 3 restarted here and sent 7 messages"),
        "{stdout}"
    );
}
