//! The cluster files shipped in `deploy/` pass the program's own checks
//! (`node --check`) for every node they name, and every node of one file
//! gets one settings digest: a user who starts from them starts from files
//! the nodes accept. The manifests around them are checked by
//! `deploy/check.sh` (rendered and validated offline).

use crate::common::binary_in;
use std::path::Path;

/// `node --check --id <id> --cluster <file>` in the repository, with the
/// secret in the variable the Kubernetes and compose files take it from.
fn node_check(file: &str, id: u32) -> std::process::Output {
    binary_in(Path::new(env!("CARGO_MANIFEST_DIR")))
        .args([
            "node",
            "--check",
            "--id",
            &id.to_string(),
            "--cluster",
            file,
        ])
        .env("LOGICAL_CLOCKS_SECRET", "test-secret")
        .output()
        .unwrap()
}

/// `node --check` of `file` as node `id`; returns the digest.
fn check(file: &str, id: u32) -> String {
    let out = node_check(file, id);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{file} as node {id}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(&format!("node {id} of 3")), "{stdout}");
    stdout
        .trim_end()
        .rsplit_once("settings digest ")
        .map(|(_, digest)| digest.to_string())
        .unwrap_or_else(|| panic!("no digest in {stdout:?}"))
}

#[test]
fn every_shipped_cluster_file_is_accepted_for_each_of_its_nodes_with_one_digest() {
    for file in [
        "deploy/cluster.example.toml",
        "deploy/cluster.compose.toml",
        "deploy/kubernetes/cluster.toml",
    ] {
        let digests: Vec<String> = (1..=3).map(|id| check(file, id)).collect();
        assert!(
            digests.iter().all(|d| *d == digests[0]),
            "{file}: {digests:?}"
        );
        assert_eq!(digests[0].len(), 12);
    }
}

#[test]
fn a_node_id_the_file_does_not_name_is_refused_in_one_line() {
    let out = node_check("deploy/cluster.example.toml", 4);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("--id 4 is not a node") && err.contains("1, 2, 3"),
        "{err}"
    );
}
