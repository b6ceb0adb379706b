//! Happened-before, kept by the checker beside the model's clocks and never
//! read from them.
//!
//! The properties compare the clocks with the truth, so the truth may not
//! come from a clock. It is Lamport's definition itself: the smallest
//! relation that holds between consecutive events of one VM and from a send
//! to the receive of its message, closed under transitivity. An event's
//! causal past is then a prefix of every VM's history (program order is in
//! the relation), so a [`Past`] holds it as one count per VM, the event
//! itself included: the Fidge-Mattern vector, worked out here in its own few
//! lines rather than by [`lc_core::vector_clock`], which is what is checked.
//! Beside it, the largest Lamport clock in that past: all the clock
//! condition needs of the events before a new one.
//!
//! Keeping only this, instead of every event so far, is what lets two
//! schedules with the same future meet in one state: the past of a VM's
//! next event is the past of its latest event (plus, for a receive, the
//! past of the send), so nothing older is ever asked for.

use lc_core::vm_id::VmId;

/// The causal past of an event: of a VM's latest event (its past so far),
/// or of a send (carried with its message).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Past {
    /// Per VM (by index), how many of its events are in the past.
    pub events: Vec<u64>,
    /// The largest Lamport clock of an event in the past, if it has one.
    pub max_lc: Option<u64>,
}

impl Past {
    /// The past of a VM that has had no event yet.
    pub fn empty(vm_count: usize) -> Past {
        Past {
            events: vec![0; vm_count],
            max_lc: None,
        }
    }

    /// Adds `other` (the past of the send a receive takes): the union of
    /// two pasts, each a prefix of every history, is the longer prefix.
    pub fn merge(&mut self, other: &Past) {
        for (mine, theirs) in self.events.iter_mut().zip(&other.events) {
            *mine = (*mine).max(*theirs);
        }
        self.max_lc = self.max_lc.max(other.max_lc);
    }

    /// Adds a new event of `vm` with Lamport clock `lc`.
    pub fn add_event(&mut self, vm: VmId, lc: u64) {
        self.events[vm.index()] += 1;
        self.max_lc = Some(self.max_lc.map_or(lc, |max| max.max(lc)));
    }

    /// True when the latest event of `vm` (whose past is `self`) and the
    /// latest event of `other_vm` (whose past is `other`) are two events,
    /// neither in the other's past.
    pub fn latest_concurrent(&self, vm: VmId, other: &Past, other_vm: VmId) -> bool {
        let (i, j) = (vm.index(), other_vm.index());
        i != j
            && self.events[i] > 0
            && other.events[j] > 0
            && other.events[i] < self.events[i]
            && self.events[j] < other.events[j]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm(n: u32) -> VmId {
        VmId::literal(n)
    }

    #[test]
    fn a_receive_inherits_the_send_past_and_orders_the_two_latest_events() {
        let mut sender = Past::empty(2);
        sender.add_event(vm(1), 1);
        let carried = sender.clone();
        let mut receiver = Past::empty(2);
        receiver.add_event(vm(2), 1);
        assert!(sender.latest_concurrent(vm(1), &receiver, vm(2)));
        assert!(receiver.latest_concurrent(vm(2), &sender, vm(1)));
        receiver.merge(&carried);
        receiver.add_event(vm(2), 2);
        assert_eq!(receiver.events, [1, 2]);
        assert_eq!(receiver.max_lc, Some(2));
        assert!(!sender.latest_concurrent(vm(1), &receiver, vm(2)));
        assert!(!receiver.latest_concurrent(vm(2), &receiver, vm(2)));
        assert!(!Past::empty(2).latest_concurrent(vm(1), &receiver, vm(2)));
    }
}
