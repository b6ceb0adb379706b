//! How many open files a run needs, and whether the process's limit allows
//! them: checked before anything starts (before a run directory exists), so
//! a shortage is one clear line naming the limit instead of connections or
//! log files failing mid-start with "Too many open files".
//!
//! A real-time run of N VMs holds, in each process, for each VM it runs
//! (every VM in one process, a node's one VM):
//!
//! - its end of its connection to every other VM: N-1 sockets (so a run in
//!   one process holds both ends of every connection, N(N-1));
//! - its listening socket and its log file;
//! - room on its listener for strangers in their handshake (see
//!   [`crate::admission`]): up to [`STRANGER_CAP`], at least
//!   [`MIN_STRANGER_CAP`];
//!
//! and [`RESERVE`] for everything else (standard streams, the runtime's
//! epoll and wake-up descriptors, signal handling, the run directory). A
//! virtual-time run opens no socket: its log files and the reserve. `cluster`
//! holds, besides the reserve, a handle on every node and, while it picks
//! free ports, a listener per node; its nodes inherit its limit.
//!
//! When the limit is short of the full stranger room, a run still starts
//! with fewer stranger slots per listener (never under the minimum), so a
//! run that fitted before the handshake cap existed still fits. Studies run
//! `--jobs` trials at once in one process, sharing its limit: the trials
//! that may run together must fit side by side. All of it is pure
//! arithmetic.

use crate::admission::{MIN_STRANGER_CAP, STRANGER_CAP};
use lc_core::vm_id::VmId;
use lc_settings::RunSpec;

/// Open files set aside for what is neither a socket nor a log file.
pub(crate) const RESERVE: u64 = 64;

/// Open files a run of `vm_count` VMs, all in one process, needs with
/// `stranger_cap` stranger slots on each listener.
pub(crate) fn needed(vm_count: u32, stranger_cap: usize) -> u64 {
    Footprint::whole(vm_count).needed(stranger_cap)
}

/// What one process of a run holds open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    vm_count: u32,
    holder: Holder,
}

/// Which part of a run the process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holder {
    /// Every VM, on real time.
    Whole,
    /// One node of a cluster: its one VM.
    Node(VmId),
    /// Every VM, on virtual time: log files only.
    Virtual,
    /// `cluster`: the node processes' supervisor.
    Cluster,
}

impl Footprint {
    /// Every VM of a real-time run in this process.
    pub(crate) fn whole(vm_count: u32) -> Self {
        Footprint {
            vm_count,
            holder: Holder::Whole,
        }
    }

    /// The process that runs `spec`.
    pub(crate) fn of(spec: &RunSpec) -> Self {
        let holder = match (&spec.node, spec.virtual_time) {
            (_, true) => Holder::Virtual,
            (Some(node), false) => Holder::Node(node.id),
            (None, false) => Holder::Whole,
        };
        Footprint {
            vm_count: spec.vm_count,
            holder,
        }
    }

    /// The VMs whose sockets and log files this process holds.
    fn local(&self) -> u64 {
        match self.holder {
            Holder::Node(_) => 1,
            Holder::Whole | Holder::Virtual => u64::from(self.vm_count),
            Holder::Cluster => 0,
        }
    }

    /// Open files with `stranger_cap` stranger slots on each listener.
    pub(crate) fn needed(&self, stranger_cap: usize) -> u64 {
        let (n, local) = (u64::from(self.vm_count), self.local());
        match self.holder {
            Holder::Virtual => local + RESERVE,
            Holder::Cluster => 2 * n + RESERVE,
            Holder::Whole | Holder::Node(_) => {
                local * n.saturating_sub(1) + local + local + local * stranger_cap as u64 + RESERVE
            }
        }
    }
}

/// A run (or a cluster) that does not fit under the limit on open files.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FileShortage {
    footprint: Footprint,
    /// The least it needs (with the fewest stranger slots).
    pub(crate) needed: u64,
    /// For a cluster: the least each node needs.
    node_needs: u64,
    pub(crate) limit: u64,
    /// What it needs with full stranger slots: the limit to ask for.
    pub(crate) comfortable: u64,
}

/// One line: who needs what, the limit, and the way out.
impl std::fmt::Display for FileShortage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (n, needed) = (self.footprint.vm_count, self.needed);
        match self.footprint.holder {
            Holder::Whole => write!(f, "{n} VMs need about {needed} open files")?,
            Holder::Virtual => write!(
                f,
                "{n} VMs on virtual time (a log file each) need about {needed} open files"
            )?,
            Holder::Node(id) => write!(
                f,
                "node {id} (one VM of {n}) needs about {needed} open files"
            )?,
            Holder::Cluster => write!(
                f,
                "a cluster of {n} nodes needs about {needed} open files in this process and {} \
                 in each node",
                self.node_needs
            )?,
        }
        write!(
            f,
            " but the limit is {}; raise it (ulimit -n {}) or run fewer VMs",
            self.limit, self.comfortable
        )
    }
}

/// The stranger slots per listener the process of `footprint` gets under
/// `limit` open files: as many as fit, up to [`STRANGER_CAP`] (0 on
/// virtual time, which has no listener).
pub(crate) fn stranger_cap(footprint: Footprint, limit: u64) -> Result<usize, FileShortage> {
    let shortage = || FileShortage {
        footprint,
        needed: footprint.needed(MIN_STRANGER_CAP),
        node_needs: 0,
        limit,
        comfortable: footprint.needed(STRANGER_CAP),
    };
    if footprint.holder == Holder::Virtual {
        return if footprint.needed(0) <= limit {
            Ok(0)
        } else {
            Err(FileShortage {
                needed: footprint.needed(0),
                comfortable: footprint.needed(0),
                ..shortage()
            })
        };
    }
    let bare = footprint.needed(0);
    let per_listener = limit.saturating_sub(bare) / footprint.local().max(1);
    let cap = per_listener.min(STRANGER_CAP as u64) as usize;
    if cap < MIN_STRANGER_CAP {
        return Err(shortage());
    }
    Ok(cap)
}

/// Checks that `cluster` of `vm_count` nodes and each of its nodes (which
/// inherit its limit) fit under `limit`.
pub(crate) fn check_cluster(vm_count: u32, limit: u64) -> Result<(), FileShortage> {
    let own = Footprint {
        vm_count,
        holder: Holder::Cluster,
    };
    let node = Footprint {
        vm_count,
        holder: Holder::Node(VmId::literal(1)),
    };
    let needed = own.needed(0).max(node.needed(MIN_STRANGER_CAP));
    if needed <= limit {
        return Ok(());
    }
    Err(FileShortage {
        footprint: own,
        needed: own.needed(0),
        node_needs: node.needed(MIN_STRANGER_CAP),
        limit,
        comfortable: own.needed(0).max(node.needed(STRANGER_CAP)),
    })
}

/// A study whose trials, `jobs` at a time, do not fit under the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StudyShortfall {
    pub(crate) jobs: usize,
    pub(crate) limit: u64,
    /// The VM counts of the trials that need the most, as many as run at
    /// once, largest first.
    pub(crate) together: Vec<u32>,
    /// What they need side by side (each with the fewest stranger slots).
    pub(crate) needed: u64,
    /// What they need with full stranger slots.
    pub(crate) comfortable: u64,
    /// The most trials at once that fit under the limit (0: not even one).
    pub(crate) jobs_that_fit: usize,
}

/// Checks a study: `vm_counts` of its real-time trials, `jobs` run at once.
/// The worst case is the `jobs` largest trials running together.
pub(crate) fn check_study(
    vm_counts: &[u32],
    jobs: usize,
    limit: u64,
) -> Result<(), StudyShortfall> {
    let mut largest = vm_counts.to_vec();
    largest.sort_unstable_by(|a, b| b.cmp(a));
    let sum = |trials: &[u32], cap: usize| -> u64 { trials.iter().map(|&n| needed(n, cap)).sum() };
    let together = &largest[..jobs.max(1).min(largest.len())];
    let needed = sum(together, MIN_STRANGER_CAP);
    if needed <= limit {
        return Ok(());
    }
    let jobs_that_fit = (0..together.len())
        .take_while(|&k| sum(&largest[..=k], MIN_STRANGER_CAP) <= limit)
        .count();
    Err(StudyShortfall {
        jobs,
        limit,
        together: together.to_vec(),
        needed,
        comfortable: sum(together, STRANGER_CAP),
        jobs_that_fit,
    })
}

/// One line: what runs at once, what it needs, the limit, and the way out.
impl std::fmt::Display for StudyShortfall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let vms: Vec<String> = self.together.iter().map(ToString::to_string).collect();
        let (needed, limit, comfortable) = (self.needed, self.limit, self.comfortable);
        if self.together.len() == 1 {
            write!(f, "a trial of {} VMs needs", vms[0])?;
        } else {
            write!(
                f,
                "--jobs {} runs up to {} trials at once ({} VMs), which need",
                self.jobs,
                self.together.len(),
                vms.join(" + ")
            )?;
        }
        write!(f, " about {needed} open files but the limit is {limit}; ")?;
        match self.jobs_that_fit {
            0 => write!(f, "raise it (ulimit -n {comfortable}) or use fewer VMs"),
            fit => write!(
                f,
                "run fewer trials at once (--jobs {fit} fits) or raise the limit (ulimit -n {comfortable})"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_needs_both_ends_of_every_connection_listeners_logs_and_stranger_room() {
        // 3 VMs: 6 sockets for 3 connections, 3 listeners, 3 logs.
        assert_eq!(needed(3, 0), 6 + 3 + 3 + RESERVE);
        assert_eq!(needed(3, 64), 6 + 3 + 3 + 3 * 64 + RESERVE);
        // 64 VMs: 2,016 connections.
        assert_eq!(needed(64, 0), 4032 + 128 + RESERVE);
    }

    /// The least and the comfortable need of a refused run.
    fn refused(footprint: Footprint, limit: u64) -> (u64, u64) {
        let short = stranger_cap(footprint, limit).unwrap_err();
        (short.needed, short.comfortable)
    }

    #[test]
    fn stranger_room_shrinks_to_fit_and_a_run_is_refused_below_the_minimum() {
        let whole = Footprint::whole;
        assert_eq!(stranger_cap(whole(3), 20_000), Ok(STRANGER_CAP));
        // 128 VMs under 20,000: 16,576 without strangers, 26 slots each fit.
        assert_eq!(stranger_cap(whole(128), 20_000), Ok(26));
        assert_eq!(stranger_cap(whole(10), needed(10, 8)), Ok(8));
        assert_eq!(
            refused(whole(10), needed(10, 8) - 1),
            (needed(10, 8), needed(10, 64))
        );
        assert_eq!(refused(whole(3), 64), (100, 268));
    }

    #[test]
    fn a_node_budgets_for_its_one_vm_and_virtual_time_for_its_logs() {
        let node = Footprint {
            vm_count: 30,
            holder: Holder::Node(VmId::literal(2)),
        };
        // 29 connections, a listener, a log, 8 to 64 strangers, the reserve.
        assert_eq!(node.needed(8), 29 + 1 + 1 + 8 + RESERVE);
        assert_eq!(stranger_cap(node, 200), Ok(64));
        assert_eq!(stranger_cap(node, 103), Ok(8));
        assert_eq!(refused(node, 102), (103, 159));
        assert_eq!(
            stranger_cap(node, 102).unwrap_err().to_string(),
            "node 2 (one VM of 30) needs about 103 open files but the limit is 102; \
             raise it (ulimit -n 159) or run fewer VMs"
        );
        let virtual_time = Footprint {
            vm_count: 60,
            holder: Holder::Virtual,
        };
        assert_eq!(stranger_cap(virtual_time, 124), Ok(0));
        assert_eq!(refused(virtual_time, 123), (124, 124));
    }

    #[test]
    fn a_cluster_fits_itself_and_each_of_its_nodes() {
        assert_eq!(check_cluster(5, 78), Ok(()), "each node needs 78");
        assert_eq!(check_cluster(5, 77).unwrap_err().node_needs, 78);
        // 100 nodes: the cluster's own 264 outweigh a node's 173.
        let short = check_cluster(100, 263).unwrap_err();
        assert_eq!((short.needed, short.node_needs), (264, 99 + 2 + 8 + 64));
        assert_eq!(check_cluster(100, 264), Ok(()));
    }

    #[test]
    fn a_study_must_fit_its_largest_trials_side_by_side() {
        let one = needed(100, MIN_STRANGER_CAP);
        // Two 100-VM trials at once do not fit under 20,000; one does.
        let short = check_study(&[3, 100, 5, 100], 2, 20_000).unwrap_err();
        assert_eq!(short.together, vec![100, 100]);
        assert_eq!(short.needed, 2 * one);
        assert_eq!(short.comfortable, 2 * needed(100, STRANGER_CAP));
        assert_eq!(short.jobs_that_fit, 1);
        assert_eq!(check_study(&[3, 100, 5, 100], 1, 20_000), Ok(()));
        // More jobs than trials: all of them at once.
        assert_eq!(check_study(&[3, 3], 8, 2 * needed(3, 8)), Ok(()));
        assert_eq!(
            check_study(&[3, 3], 8, 2 * needed(3, 8) - 1)
                .unwrap_err()
                .jobs_that_fit,
            1
        );
        assert_eq!(check_study(&[], 4, 0), Ok(()), "nothing on real time");
        assert_eq!(check_study(&[3], 1, 10).unwrap_err().jobs_that_fit, 0);
    }

    #[test]
    fn a_study_shortfall_is_one_line_naming_the_numbers_and_the_way_out() {
        let short = check_study(&[100, 100, 3], 3, 20_000).unwrap_err();
        assert_eq!(
            short.to_string(),
            format!(
                "--jobs 3 runs up to 3 trials at once (100 + 100 + 3 VMs), which need about {} \
                 open files but the limit is 20000; run fewer trials at once (--jobs 1 fits) \
                 or raise the limit (ulimit -n {})",
                2 * needed(100, 8) + needed(3, 8),
                2 * needed(100, 64) + needed(3, 64)
            )
        );
        let short = check_study(&[10], 4, 100).unwrap_err();
        assert_eq!(
            short.to_string(),
            format!(
                "a trial of 10 VMs needs about {} open files but the limit is 100; \
                 raise it (ulimit -n {}) or use fewer VMs",
                needed(10, 8),
                needed(10, 64)
            )
        );
    }
}
