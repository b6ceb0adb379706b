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
//! A clock has one entry per VM of the run, in VM id order, and is updated
//! in place: no event allocates. What travels with a message is a copy
//! ([`VectorClock::stamp`]), taken once per send event however many peers
//! it goes to.
//!
//! The same type is the value `analyze` reads back from a log's `vc` and
//! rebuilds from the events: it knows no owner (each rule names the VM
//! that ticks), it is compared, ordered by happened-before, and written
//! and read as the log spells it (`12 2 5`).

use std::fmt;
use std::str::FromStr;

use crate::vm_id::VmId;

/// A vector clock: entry `i` counts the events of VM `i + 1` that happened
/// before (or are) the event it stamps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct VectorClock(Vec<u64>);

impl VectorClock {
    /// The clock before any event of a run of `vm_count` VMs: every entry 0.
    pub fn zero(vm_count: usize) -> Self {
        Self(vec![0; vm_count])
    }

    /// A clock of these entries, VM 1's first.
    pub fn from_entries<E: Into<u64>>(entries: impl IntoIterator<Item = E>) -> Self {
        Self(entries.into_iter().map(Into::into).collect())
    }

    /// Every entry, in VM id order.
    pub fn entries(&self) -> &[u64] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// VM `vm`'s entry: how many of its events this clock has seen; 0 for a
    /// VM the clock has no entry for.
    pub fn get(&self, vm: VmId) -> u64 {
        self.0.get(vm.index()).copied().unwrap_or(0)
    }

    /// An event of VM `vm` (internal or send): its entry advances by one
    /// (the clock grows if it has no entry for `vm`).
    pub fn tick(&mut self, vm: VmId) {
        let i = vm.index();
        if self.0.len() <= i {
            self.0.resize(i + 1, 0);
        }
        self.0[i] += 1;
    }

    /// Entry-wise maximum with `other`, a clock or a message's stamp (the
    /// clock grows to its length).
    pub fn merge(&mut self, other: impl AsRef<[u64]>) {
        let other = other.as_ref();
        if self.0.len() < other.len() {
            self.0.resize(other.len(), 0);
        }
        for (mine, &theirs) in self.0.iter_mut().zip(other) {
            *mine = (*mine).max(theirs);
        }
    }

    /// A receive event of VM `vm`: every entry becomes the larger of its own
    /// and the message's, then `vm`'s entry advances by one. `message` has
    /// one entry per VM, as [`VectorClock::stamp`] gives; the bridge refuses
    /// a frame whose clock has any other length, so a mismatch here is a
    /// bug (debug builds stop on it).
    pub fn receive(&mut self, vm: VmId, message: &[u64]) {
        debug_assert_eq!(message.len(), self.0.len(), "a foreign clock");
        self.merge(message);
        self.tick(vm);
    }

    /// A copy of the clock, for a message to carry.
    pub(crate) fn stamp(&self) -> Vec<u64> {
        self.0.clone()
    }

    /// True when the event with this clock happened before the event with
    /// `other`: every entry at most `other`'s, and the clocks differ.
    #[cfg(test)]
    pub(crate) fn happened_before(&self, other: &VectorClock) -> bool {
        let width = self.0.len().max(other.0.len());
        let at = |c: &VectorClock, i: usize| c.0.get(i).copied().unwrap_or(0);
        (0..width).all(|i| at(self, i) <= at(other, i)) && self != other
    }

    /// The sum of the entries: the event and every event before it.
    pub fn sum(&self) -> u64 {
        self.0.iter().sum()
    }
}

impl AsRef<[u64]> for VectorClock {
    fn as_ref(&self) -> &[u64] {
        &self.0
    }
}

/// As the log writes it: entries separated by spaces.
impl fmt::Display for VectorClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, entry) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{entry}")?;
        }
        Ok(())
    }
}

/// Why a `vc` value does not read as a vector clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAClock;

impl FromStr for VectorClock {
    type Err = NotAClock;

    /// Whole numbers separated by spaces, at least one.
    fn from_str(s: &str) -> Result<VectorClock, NotAClock> {
        let entries = s
            .split_ascii_whitespace()
            .map(|e| e.parse::<u64>().map_err(|_| NotAClock))
            .collect::<Result<Vec<_>, _>>()?;
        if entries.is_empty() {
            return Err(NotAClock);
        }
        Ok(VectorClock(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VM id written in a test.
    fn id(n: u32) -> VmId {
        VmId::literal(n)
    }

    #[test]
    fn a_new_clock_is_all_zero_with_one_entry_per_vm() {
        let clock = VectorClock::zero(4);
        assert_eq!(clock.entries(), &[0, 0, 0, 0]);
        assert_eq!(clock.get(id(2)), 0);
    }

    #[test]
    fn tick_advances_only_the_own_entry() {
        let mut clock = VectorClock::zero(3);
        clock.tick(id(3));
        clock.tick(id(3));
        assert_eq!(clock.entries(), &[0, 0, 2]);
        assert_eq!(clock.get(id(3)), 2);
    }

    #[test]
    fn receive_takes_the_entry_wise_max_then_counts_itself() {
        let mut clock = VectorClock::zero(3);
        clock.tick(id(2));
        clock.tick(id(2));
        // Own entry 2 beats the message's 1; the others come from the message.
        clock.receive(id(2), &[5, 1, 7]);
        assert_eq!(clock.entries(), &[5, 3, 7]);
        // An older message changes nothing but the own entry.
        clock.receive(id(2), &[4, 0, 6]);
        assert_eq!(clock.entries(), &[5, 4, 7]);
    }

    #[test]
    fn the_stamp_is_the_clock_and_stays_put_when_the_clock_moves_on() {
        let mut clock = VectorClock::zero(2);
        clock.tick(id(1));
        let stamp = clock.stamp();
        clock.tick(id(1));
        assert_eq!(stamp, vec![1, 0]);
        assert_eq!(clock.entries(), &[2, 0]);
    }

    /// The point of vector clocks: a message's send happened before its
    /// receive, and the receiver's clock then dominates the stamp.
    #[test]
    fn a_receive_dominates_the_send_it_took() {
        let mut sender = VectorClock::zero(2);
        let mut receiver = VectorClock::zero(2);
        for _ in 0..3 {
            receiver.tick(id(2));
        }
        sender.tick(id(1));
        let stamp = sender.stamp();
        receiver.receive(id(2), &stamp);
        let dominates = receiver
            .entries()
            .iter()
            .zip(&stamp)
            .all(|(mine, theirs)| mine >= theirs);
        assert!(dominates && receiver.entries() != stamp.as_slice());
        assert_eq!(receiver.entries(), &[1, 4]);
    }

    fn vc(s: &str) -> VectorClock {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_prints_space_separated_entries() {
        assert_eq!(vc("3 0 5").entries(), &[3, 0, 5]);
        assert_eq!(vc(" 3  0 5 ").to_string(), "3 0 5");
        for bad in ["", " ", "1 x 2", "-1 2", "1.5"] {
            assert_eq!(bad.parse::<VectorClock>(), Err(NotAClock), "{bad:?}");
        }
    }

    #[test]
    fn merge_tick_and_order() {
        let mut a = vc("1 0 2");
        a.merge(vc("0 3 1"));
        assert_eq!(a, vc("1 3 2"));
        a.tick(id(2));
        assert_eq!(a, vc("1 4 2"));
        assert_eq!(a.get(id(3)), 2);
        assert_eq!(a.get(id(4)), 0);
        // No `get` of VM 0: a VmId cannot hold it (see vm_id.rs).
        assert_eq!(a.sum(), 7);
        assert!(vc("1 3 2").happened_before(&a));
        assert!(!a.happened_before(&a));
        assert!(!vc("2 0 0").happened_before(&vc("1 5 5")));
        assert!(!vc("1 5 5").happened_before(&vc("2 0 0")));
        let mut short = VectorClock::default();
        short.tick(id(2));
        assert_eq!(short, vc("0 1"));
    }
}
