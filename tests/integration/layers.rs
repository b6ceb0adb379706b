//! The workspace's layers, as the architecture chapter draws them: the pure crates never reach
//! the runtime's crates. Read from `Cargo.lock`, which lists each package's dependencies
//! (normal and dev alike, so the check is, if anything, stricter than `cargo tree -e normal`).

use std::collections::{BTreeMap, BTreeSet};

/// Every package of the lock file with the names of its dependencies.
fn lock_graph() -> BTreeMap<String, Vec<String>> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock")).unwrap();
    let lock: toml::Value = toml::from_str(&text).unwrap();
    let mut graph = BTreeMap::new();
    for package in lock["package"].as_array().unwrap() {
        let name = package["name"].as_str().unwrap().to_string();
        let deps: Vec<String> = package
            .get("dependencies")
            .and_then(|d| d.as_array())
            .map(|d| {
                d.iter()
                    // "name" or "name version" when the lock holds two versions.
                    .map(|v| v.as_str().unwrap().split(' ').next().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default();
        graph.entry(name).or_insert_with(Vec::new).extend(deps);
    }
    graph
}

/// Every package `root` reaches, itself excluded.
fn reached(graph: &BTreeMap<String, Vec<String>>, root: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut next = vec![root.to_string()];
    while let Some(name) = next.pop() {
        for dep in graph.get(&name).into_iter().flatten() {
            if seen.insert(dep.clone()) {
                next.push(dep.clone());
            }
        }
    }
    seen
}

#[test]
fn the_library_crates_never_reach_the_runtime() {
    let graph = lock_graph();
    let runtime = [
        "actix",
        "actix-rt",
        "tokio",
        "slog",
        "slog-async",
        "slog-term",
    ];
    for library in [
        "lc-core",
        "lc-settings",
        "lc-contract",
        "lc-analysis",
        "lc-experiment",
        "lc-check",
    ] {
        let deps = reached(&graph, library);
        assert!(!deps.is_empty(), "{library} is not in Cargo.lock");
        for crate_name in runtime {
            assert!(
                !deps.contains(crate_name),
                "{library} depends on {crate_name}"
            );
        }
    }
    // The model checker sits beside the analysis: on the core and the log contract only.
    let check = reached(&graph, "lc-check");
    for other in ["lc-analysis", "lc-experiment", "logical-clocks"] {
        assert!(!check.contains(other), "lc-check depends on {other}");
    }
    assert!(check.contains("lc-core") && check.contains("lc-contract"));
    // The check can fail: the binary does reach them.
    let binary = reached(&graph, "logical-clocks");
    assert!(runtime.iter().all(|name| binary.contains(*name)));
}

#[test]
fn each_layer_depends_only_on_the_layers_below_it() {
    let graph = lock_graph();
    let order = [
        "lc-core",
        "lc-settings",
        "lc-contract",
        "lc-analysis",
        "lc-experiment",
    ];
    for (i, library) in order.iter().enumerate() {
        let deps = reached(&graph, library);
        for above in &order[i..] {
            assert!(!deps.contains(*above), "{library} depends on {above}");
        }
        assert!(
            !deps.contains("logical-clocks"),
            "{library} depends on the binary"
        );
    }
}
