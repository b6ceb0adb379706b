//! How many open files a run needs, and whether the process's limit allows
//! them: checked before anything starts, so a shortage is one clear line
//! instead of connections failing mid-start with "Too many open files".
//!
//! A real-time run of N VMs holds, all in this one process:
//!
//! - both ends of every connection of the full mesh: N(N-1) sockets (one
//!   connection per pair of VMs);
//! - N listening sockets and N log files;
//! - room on every listener for strangers in their handshake (see
//!   [`crate::admission`]): up to [`STRANGER_CAP`] each, at least
//!   [`MIN_STRANGER_CAP`];
//! - [`RESERVE`] for everything else (standard streams, the runtime's
//!   epoll and wake-up descriptors, signal handling, the run directory).
//!
//! When the limit is short of the full stranger room, a run still starts
//! with fewer stranger slots per listener (never under the minimum), so a
//! run that fitted before the handshake cap existed still fits. Studies run
//! `--jobs` trials at once in one process, sharing its limit: the trials
//! that may run together must fit side by side. Virtual-time runs open no
//! socket and are not counted. All of it is pure arithmetic.

use crate::admission::{MIN_STRANGER_CAP, STRANGER_CAP};

/// Open files set aside for what is neither a socket nor a log file.
pub(crate) const RESERVE: u64 = 64;

/// Open files a run of `vm_count` VMs needs with `stranger_cap` stranger
/// slots on each listener.
pub(crate) fn needed(vm_count: u32, stranger_cap: usize) -> u64 {
    let n = u64::from(vm_count);
    let mesh = n * n.saturating_sub(1);
    mesh + n + n + n * stranger_cap as u64 + RESERVE
}

/// A run that does not fit under the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shortfall {
    /// The least it needs (with the fewest stranger slots).
    pub(crate) needed: u64,
    /// What it needs with full stranger slots: the limit to ask for.
    pub(crate) comfortable: u64,
}

/// The stranger slots per listener a run of `vm_count` VMs gets under
/// `limit` open files: as many as fit, up to [`STRANGER_CAP`].
pub(crate) fn stranger_cap(vm_count: u32, limit: u64) -> Result<usize, Shortfall> {
    let bare = needed(vm_count, 0);
    let per_listener = limit.saturating_sub(bare) / u64::from(vm_count.max(1));
    let cap = per_listener.min(STRANGER_CAP as u64) as usize;
    if cap < MIN_STRANGER_CAP {
        return Err(Shortfall {
            needed: needed(vm_count, MIN_STRANGER_CAP),
            comfortable: needed(vm_count, STRANGER_CAP),
        });
    }
    Ok(cap)
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

    #[test]
    fn stranger_room_shrinks_to_fit_and_a_run_is_refused_below_the_minimum() {
        assert_eq!(stranger_cap(3, 20_000), Ok(STRANGER_CAP));
        // 128 VMs under 20,000: 16,576 without strangers, 26 slots each fit.
        assert_eq!(stranger_cap(128, 20_000), Ok(26));
        assert_eq!(stranger_cap(10, needed(10, 8)), Ok(8));
        assert_eq!(
            stranger_cap(10, needed(10, 8) - 1),
            Err(Shortfall {
                needed: needed(10, 8),
                comfortable: needed(10, 64)
            })
        );
        assert_eq!(
            stranger_cap(3, 64),
            Err(Shortfall {
                needed: 100,
                comfortable: 268
            })
        );
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
