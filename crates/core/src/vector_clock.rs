//! Vector clocks: the rules, with nothing else attached.
//!
//! The companion of [`crate::clock`]: where a Lamport clock is one counter
//! that orders events consistently with happened-before, a vector clock
//! keeps one counter per VM and so *characterises* it (an event happened
//! before another exactly when its clock is entry-wise at most the other's
//! and differs). Two rules, kept free of actors, sockets and time so they
//! can be tested alone and reused by every driver:
//! - every event (internal, send, receive) adds one to the VM's own entry,
//!   so the own entry is the number of events the VM has had;
//! - a receive first takes the entry-wise maximum of its clock and the
//!   message's clock (the sender's clock right after its send event).
//!
//! A clock has exactly one entry per VM of the run, in VM id order, and is
//! updated in place: no event allocates. What travels with a message is a
//! copy ([`VectorClock::stamp`]), taken once per send event however many
//! peers it goes to.

use crate::vm_id::VmId;

/// A VM's vector clock: entry `i` counts the events of VM `i + 1` that
/// happened before (or are) this VM's latest event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VectorClock {
    /// Index of the owning VM's entry.
    own: usize,
    entries: Vec<u64>,
}

impl VectorClock {
    /// The clock of VM `own` (1-based) in a run of `vm_count` VMs, all zero.
    pub fn new(own: VmId, vm_count: u32) -> Self {
        debug_assert!((1..=vm_count).contains(&own), "VM {own} of {vm_count}");
        Self {
            own: own as usize - 1,
            entries: vec![0; vm_count as usize],
        }
    }

    /// Every entry, in VM id order.
    pub fn entries(&self) -> &[u64] {
        &self.entries
    }

    /// The owning VM's entry: how many events it has had.
    pub fn own_entry(&self) -> u64 {
        self.entries[self.own]
    }

    /// An internal or send event: the own entry advances by one.
    pub fn tick(&mut self) {
        self.entries[self.own] += 1;
    }

    /// A receive event: every entry becomes the larger of its own and the
    /// message's, then the own entry advances by one. `message` has one
    /// entry per VM, as [`VectorClock::stamp`] gives; the bridge refuses a
    /// frame whose clock has any other length, so a mismatch here is a bug
    /// (debug builds stop on it; release builds merge the common prefix).
    pub fn receive(&mut self, message: &[u64]) {
        debug_assert_eq!(message.len(), self.entries.len(), "a foreign clock");
        for (mine, &theirs) in self.entries.iter_mut().zip(message) {
            *mine = (*mine).max(theirs);
        }
        self.tick();
    }

    /// A copy of the clock, for a message to carry.
    pub fn stamp(&self) -> Vec<u64> {
        self.entries.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_clock_is_all_zero_with_one_entry_per_vm() {
        let clock = VectorClock::new(2, 4);
        assert_eq!(clock.entries(), &[0, 0, 0, 0]);
        assert_eq!(clock.own_entry(), 0);
    }

    #[test]
    fn tick_advances_only_the_own_entry() {
        let mut clock = VectorClock::new(3, 3);
        clock.tick();
        clock.tick();
        assert_eq!(clock.entries(), &[0, 0, 2]);
        assert_eq!(clock.own_entry(), 2);
    }

    #[test]
    fn receive_takes_the_entry_wise_max_then_counts_itself() {
        let mut clock = VectorClock::new(2, 3);
        clock.tick();
        clock.tick();
        // Own entry 2 beats the message's 1; the others come from the message.
        clock.receive(&[5, 1, 7]);
        assert_eq!(clock.entries(), &[5, 3, 7]);
        // An older message changes nothing but the own entry.
        clock.receive(&[4, 0, 6]);
        assert_eq!(clock.entries(), &[5, 4, 7]);
    }

    #[test]
    fn the_stamp_is_the_clock_and_stays_put_when_the_clock_moves_on() {
        let mut clock = VectorClock::new(1, 2);
        clock.tick();
        let stamp = clock.stamp();
        clock.tick();
        assert_eq!(stamp, vec![1, 0]);
        assert_eq!(clock.entries(), &[2, 0]);
    }

    /// The point of vector clocks: a message's send happened before its
    /// receive, and the receiver's clock then dominates the stamp.
    #[test]
    fn a_receive_dominates_the_send_it_took() {
        let mut sender = VectorClock::new(1, 2);
        let mut receiver = VectorClock::new(2, 2);
        for _ in 0..3 {
            receiver.tick();
        }
        sender.tick();
        let stamp = sender.stamp();
        receiver.receive(&stamp);
        let dominates = receiver
            .entries()
            .iter()
            .zip(&stamp)
            .all(|(mine, theirs)| mine >= theirs);
        assert!(dominates && receiver.entries() != stamp.as_slice());
        assert_eq!(receiver.entries(), &[1, 4]);
    }
}
