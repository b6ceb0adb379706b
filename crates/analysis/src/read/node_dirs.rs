//! The run directories of a run's nodes, opened as one run (`analyze --merge`).
//!
//! When each VM runs in its own process, possibly on its own host, each node writes its own
//! run directory: its VM's log and the whole run's `settings.toml`. Put together they are one
//! run, but only if they really belong together, so [`open`] refuses, in one line each, a VM
//! whose log is in two directories, a VM that `settings.toml` names and no directory holds
//! (the other analysis would make that one finding among many; here it is almost always a
//! directory left off the command line), and settings that differ (compared as TOML values, so
//! comments and layout do not count). The hosts' wall clocks are not synchronised, so
//! [`measure`] makes a first pass over the logs, matches every message through the same
//! [`Matcher`] the analysis uses, and gives each message between two directories to
//! [`OffsetBounds`] (see `clock_offset.rs` for what the bounds mean and why the estimate is the
//! midpoint). The analysis then reads every line of a directory with its offset removed.

use lc_core::vm_id::VmId;
use std::path::{Path, PathBuf};

use crate::error::AnalysisError;
use crate::outputs::summary::ClockOffset;
use crate::read::clock_offset::{HostOffset, OffsetBounds};
use crate::read::merge::{Merged, TimeMerge};
use crate::read::record::{Action, Body};
use crate::read::run_dir;
use crate::read::run_settings;
use crate::rules::matching::{Delivery, Matcher, Stamp};
use crate::rules::violation::{At, Violations};
use lc_contract::vm_log::VmLog;
use lc_settings::names::VM_COUNT;

/// The node directories of one run, their logs together.
#[derive(Debug, Clone)]
pub(crate) struct NodeRun {
    /// Every directory's VM logs, in VM id order.
    pub(crate) logs: Vec<VmLog>,
    /// For each log, the index of its directory in `dirs`.
    pub(crate) host_of: Vec<usize>,
    pub(crate) dirs: Vec<PathBuf>,
}

/// Opens the node directories `dirs` as one run, checking that they belong together.
pub(crate) fn open(dirs: &[PathBuf]) -> Result<NodeRun, AnalysisError> {
    let mut found: Vec<(VmLog, usize)> = Vec::new();
    for (host, dir) in dirs.iter().enumerate() {
        for log in run_dir::vm_logs(dir)? {
            if let Some((_, other)) = found.iter().find(|(l, _)| l.vm == log.vm) {
                return Err(AnalysisError::SameVmTwice {
                    vm: log.vm,
                    first: dirs[*other].clone(),
                    second: dir.clone(),
                });
            }
            found.push((log, host));
        }
    }
    let first = settings_table(&dirs[0])?;
    for dir in &dirs[1..] {
        if let Some((key, first_value, other_value)) =
            first_difference(&first, &settings_table(dir)?)
        {
            return Err(AnalysisError::SettingsDiffer {
                first: dirs[0].clone(),
                other: dir.clone(),
                key,
                first_value,
                other_value,
            });
        }
    }
    let vm_count = first.get(VM_COUNT).and_then(toml::Value::as_integer);
    if let Some(n) = vm_count.and_then(|n| u32::try_from(n).ok()) {
        let missing: Vec<VmId> = VmId::all(n)
            .filter(|&vm| !found.iter().any(|(l, _)| l.vm == vm))
            .collect();
        if !missing.is_empty() {
            return Err(AnalysisError::MissingNodeVms {
                vm_count: n,
                missing,
            });
        }
    }
    found.sort_by_key(|(log, _)| log.vm);
    let (logs, host_of) = found.into_iter().unzip();
    Ok(NodeRun {
        logs,
        host_of,
        dirs: dirs.to_vec(),
    })
}

/// Each directory's clock offset from the first directory's, from the messages between them:
/// one pass over the logs, matched as the analysis matches them.
pub(crate) fn measure(run: &NodeRun) -> Result<Vec<HostOffset>, AnalysisError> {
    let names = run.logs.iter().map(VmLog::name).collect();
    let mut matcher = Matcher::new(names, &[]);
    // The analysis proper reports what is wrong with the messages; here only their times count.
    let mut ignored = Violations::default();
    let mut bounds = OffsetBounds::new(run.dirs.len());
    let mut observe = |d: Delivery| {
        bounds.message(
            run.host_of[d.send.at.file],
            run.host_of[d.receive.at.file],
            d.send.time_us,
            d.receive.time_us,
        )
    };
    let mut merge = TimeMerge::open(&run.logs)?;
    while let Some(item) = merge.next_item()? {
        let Merged::Record { file, line, record } = item else {
            continue;
        };
        let Body::Tick(tick) = record.body else {
            continue;
        };
        let vm = run.logs[file].vm;
        let stamp = Stamp {
            at: At { file, line },
            time_us: record.time_us,
            lc: tick.lc,
        };
        match tick.action {
            Action::Send { to, seq } => {
                for d in matcher.send(vm, seq, &to, stamp, &mut ignored) {
                    observe(d);
                }
            }
            Action::Receive {
                from, seq, msg_lc, ..
            } => {
                if let Some(d) = matcher.receive(vm, from, seq, msg_lc, stamp, &mut ignored) {
                    observe(d);
                }
            }
            Action::Internal => {}
        }
    }
    Ok(bounds.estimate())
}

/// The offsets as `summary.json` and the report give them, one per directory in `run`'s order.
pub(crate) fn describe(run: &NodeRun, offsets: &[HostOffset]) -> Vec<ClockOffset> {
    let seconds = |us: i64| us as f64 / 1e6;
    run.dirs
        .iter()
        .zip(offsets)
        .enumerate()
        .map(|(host, (dir, o))| ClockOffset {
            dir: dir.display().to_string(),
            vms: run
                .logs
                .iter()
                .zip(&run.host_of)
                .filter(|(_, &h)| h == host)
                .map(|(l, _)| l.vm)
                .collect(),
            offset_s: seconds(o.offset_us),
            lower_s: o.lower_us.map(seconds),
            upper_s: o.upper_us.map(seconds),
            basis: o.basis,
            messages_out: o.sent,
            messages_in: o.received,
        })
        .collect()
}

/// `dir`'s `settings.toml` as TOML values, which is what two directories must agree on.
fn settings_table(dir: &Path) -> Result<toml::Table, AnalysisError> {
    let fail = |reason: String| AnalysisError::NodeSettings {
        dir: dir.to_path_buf(),
        reason,
    };
    let text =
        std::fs::read_to_string(dir.join("settings.toml")).map_err(|e| fail(e.to_string()))?;
    text.parse::<toml::Table>()
        .map_err(|e| fail(run_settings::one_line(e.message())))
}

/// The first top-level key (in name order) whose value differs between `a` and `b`, with both
/// values as TOML (`absent` where a side lacks the key), but for the settings that are each
/// node's own ([`lc_settings::cluster::NODE_OWN_SETTINGS`]).
fn first_difference(a: &toml::Table, b: &toml::Table) -> Option<(String, String, String)> {
    // Each node's own settings (where it logs) may differ.
    let mut keys: Vec<&String> = a
        .keys()
        .chain(b.keys())
        .filter(|key| !lc_settings::cluster::NODE_OWN_SETTINGS.contains(&key.as_str()))
        .collect();
    keys.sort();
    keys.dedup();
    let show =
        |v: Option<&toml::Value>| v.map_or_else(|| "absent".to_string(), ToString::to_string);
    keys.into_iter().find_map(|key| {
        let (x, y) = (a.get(key), b.get(key));
        (x != y).then(|| (key.clone(), show(x), show(y)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lc_settings::names;

    fn table(text: &str) -> toml::Table {
        text.parse().unwrap()
    }

    #[test]
    fn settings_that_differ_only_in_comments_and_layout_agree() {
        let a = table("# node 1\nvm_count = 3\nseed = 42\n[latency]\nkind = \"none\"\n");
        let b = table("seed   = 42 # same\nvm_count = 3\n\n[latency]\n# x\nkind = \"none\"\n");
        assert_eq!(first_difference(&a, &b), None);
    }

    #[test]
    fn the_first_differing_key_is_named_with_both_values() {
        let a = table("vm_count = 3\nseed = 42\nruntime = 10\n");
        let b = table("vm_count = 3\nseed = 43\n");
        assert_eq!(
            first_difference(&a, &b),
            Some((names::RUNTIME.into(), "10".into(), "absent".into()))
        );
        let b = table("vm_count = 3\nseed = 43\nruntime = 10\n");
        assert_eq!(
            first_difference(&a, &b),
            Some((names::SEED.into(), "42".into(), "43".into()))
        );
    }
}
