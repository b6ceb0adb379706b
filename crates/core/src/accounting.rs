//! What each VM reports when it stops, and the run's books that sum them.
//!
//! The model promises that nothing is lost: every message sent was taken by
//! a tick, is still waiting in its receiver's queue, or was dropped (and
//! counted) because its peer's connection was gone, a partition dropped it
//! or a crash lost it. [`Drops`] is such a count with the part owed to each
//! fault, [`VmReport`] is a VM's `stop` line as data, and [`Accounting`]
//! adds the reports up and says whether the books balance. They live here, beside each other and apart from the
//! actors and the run driver, so the supervisor (which checks the books when
//! a run ends) and the run's outcome (which prints them) share one
//! definition without importing each other.

use crate::faults::FaultId;
use crate::lateness::Lateness;
use crate::model::{VmCounters, VmId};
use std::collections::BTreeMap;

/// What a VM reports when it has stopped: its `stop` line, as data.
#[derive(Debug, Clone)]
pub struct VmReport {
    pub vm: VmId,
    pub rate: u32,
    pub addr: String,
    pub counters: VmCounters,
    pub final_clock: u64,
    /// Messages that arrived but were never taken by a tick.
    pub queue_left: u64,
    /// Messages that ended at this VM's side without being taken: sent to a
    /// peer whose connection was lost, cut by a partition in drop mode on
    /// their way in, or lost in this VM's crash.
    pub dropped: u64,
    /// The part of `dropped` owed to each fault, by fault number.
    pub dropped_by_fault: BTreeMap<FaultId, u64>,
    /// How late its ticks fired against their schedule.
    pub lateness: Lateness,
    /// How long its incoming messages took from send event to mailbox.
    pub transit: Lateness,
    pub max_queue: u64,
}

/// Messages that ended untaken at one place (a bridge, or a VM's crash):
/// in total, and the part owed to each fault. Summed into a VM's report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drops {
    pub total: u64,
    pub by_fault: BTreeMap<FaultId, u64>,
}

impl Drops {
    /// One more drop, owed to `fault` if a fault explains it.
    pub fn count(&mut self, fault: Option<FaultId>) {
        self.total += 1;
        if let Some(fault) = fault {
            *self.by_fault.entry(fault).or_default() += 1;
        }
    }

    /// Adds another count to this one.
    pub(crate) fn add(&mut self, other: &Drops) {
        self.total += other.total;
        for (&fault, &n) in &other.by_fault {
            *self.by_fault.entry(fault).or_default() += n;
        }
    }
}

/// Totals of the whole run: every message sent was received by a tick,
/// is still in its receiver's queue, or was dropped (and counted) because
/// its peer's connection was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accounting {
    pub sent: u64,
    pub received: u64,
    pub left_in_queues: u64,
    pub dropped: u64,
}

impl Accounting {
    /// The run's totals from its VMs' reports.
    pub fn of(reports: &[VmReport]) -> Self {
        let sum = |f: fn(&VmReport) -> u64| reports.iter().map(f).sum();
        Accounting {
            sent: sum(|r| r.counters.sent),
            received: sum(|r| r.counters.received),
            left_in_queues: sum(|r| r.queue_left),
            dropped: sum(|r| r.dropped),
        }
    }

    /// True when every message sent is accounted for, exactly once.
    pub fn balanced(&self) -> bool {
        self.sent == self.received + self.left_in_queues + self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(vm: u32, sent: u64, received: u64, queue_left: u64, dropped: u64) -> VmReport {
        VmReport {
            vm: VmId::literal(vm),
            rate: 1,
            addr: String::new(),
            counters: VmCounters {
                sent,
                received,
                ..VmCounters::default()
            },
            final_clock: 0,
            queue_left,
            dropped,
            dropped_by_fault: BTreeMap::new(),
            lateness: Lateness::default(),
            transit: Lateness::default(),
            max_queue: 0,
        }
    }

    #[test]
    fn sums_every_column_over_the_vms() {
        let a = Accounting::of(&[report(1, 10, 4, 1, 2), report(2, 5, 7, 1, 0)]);
        assert_eq!(
            a,
            Accounting {
                sent: 15,
                received: 11,
                left_in_queues: 2,
                dropped: 2
            }
        );
        assert!(a.balanced());
    }

    #[test]
    fn each_dropped_message_counts_once() {
        // 10 sent: 6 taken, 1 still queued, 3 dropped on a lost link.
        assert!(Accounting::of(&[report(1, 10, 6, 1, 3)]).balanced());
        assert!(!Accounting::of(&[report(1, 10, 6, 1, 2)]).balanced());
        assert!(!Accounting::of(&[report(1, 10, 6, 1, 4)]).balanced());
    }

    #[test]
    fn a_message_missing_or_counted_twice_unbalances_the_books() {
        // One message missing, one counted twice.
        assert!(!Accounting::of(&[report(1, 10, 4, 1, 2), report(2, 5, 7, 0, 0)]).balanced());
        assert!(!Accounting::of(&[report(1, 10, 4, 1, 2), report(2, 5, 7, 2, 0)]).balanced());
        assert!(Accounting::of(&[]).balanced());
    }
}
