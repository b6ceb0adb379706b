//! One event's causal past and future: the events that happened before it and after it. Pure.
//!
//! A [`History`] holds every tick event of a run with its derived vector clock (built by
//! [`causal_history`](crate::causal_history) from a run directory). With the clocks, both sets
//! are ranges on each VM and need no graph search: the past of event e on VM j is j's first
//! vc_e[j] events (e itself excluded), and its future on j ≠ e's VM is every event of j whose
//! entry for e's VM is at least e's own, a suffix found by binary search since that entry
//! never decreases along j's events. Everything else is concurrent with e.
//!
//! It keeps a clock per event (VM count × 4 bytes each), so it suits the runs one looks at
//! event by event, not hour-long runs of a hundred VMs.

use lc_core::vector_clock::VectorClock;
use lc_core::vm_id::VmId;

/// A tick event of a run: its VM and its place among that VM's tick events (1 for the VM's
/// first send, receive or internal event), which is also its own entry in its vector clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId {
    pub vm: VmId,
    pub index: u32,
}

/// An event's causal past (the events that happened before it) and future (the events it
/// happened before), each in VM and then program order. Events in neither are concurrent
/// with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cone {
    pub past: Vec<EventId>,
    pub future: Vec<EventId>,
}

/// One recorded event.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Recorded {
    line: usize,
    clock: VectorClock,
}

/// Every tick event of a run with its vector clock, per VM in program order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// Indexed by VM id - 1.
    vms: Vec<Vec<Recorded>>,
}

impl History {
    /// Records the next event of VM `vm`, logged at `line` of its file, with its clock. Events
    /// of one VM come in program order.
    pub(crate) fn record(&mut self, vm: VmId, line: usize, clock: VectorClock) {
        let i = vm.index();
        if self.vms.len() <= i {
            self.vms.resize(i + 1, Vec::new());
        }
        self.vms[i].push(Recorded { line, clock });
    }

    /// Every event: its id, the line of its VM's log it was logged at, and its clock; in VM
    /// and then program order.
    pub fn events(&self) -> impl Iterator<Item = (EventId, usize, &VectorClock)> {
        self.vms.iter().enumerate().flat_map(|(i, events)| {
            events.iter().enumerate().map(move |(k, e)| {
                let id = EventId {
                    vm: VmId::from_index(i),
                    index: k as u32 + 1,
                };
                (id, e.line, &e.clock)
            })
        })
    }

    /// How many tick events VM `vm` logged.
    pub fn len_of(&self, vm: VmId) -> usize {
        self.of(vm).len()
    }

    /// The vector clock of `event`, if the run has it.
    pub fn clock(&self, event: EventId) -> Option<&VectorClock> {
        self.get(event).map(|e| &e.clock)
    }

    /// The event VM `vm` logged at `line` of its log, if that line is a tick event.
    pub fn event_at_line(&self, vm: VmId, line: usize) -> Option<EventId> {
        let k = self.of(vm).binary_search_by_key(&line, |e| e.line).ok()?;
        Some(EventId {
            vm,
            index: k as u32 + 1,
        })
    }

    /// True when `a` happened before `b` (false for unknown events and for `a` = `b`).
    pub fn happened_before(&self, a: EventId, b: EventId) -> bool {
        match (self.get(a), self.get(b)) {
            (Some(_), Some(eb)) => a != b && u64::from(a.index) <= eb.clock.get(a.vm),
            _ => false,
        }
    }

    /// The causal past and future of `event`; `None` if the run has no such event.
    pub fn cone(&self, event: EventId) -> Option<Cone> {
        let clock = &self.get(event)?.clock;
        let mut cone = Cone::default();
        for (i, events) in self.vms.iter().enumerate() {
            let vm = VmId::from_index(i);
            let ids = |range: std::ops::Range<usize>| {
                range.map(move |k| EventId {
                    vm,
                    index: k as u32 + 1,
                })
            };
            if vm == event.vm {
                let k = event.index as usize;
                cone.past.extend(ids(0..k - 1));
                cone.future.extend(ids(k..events.len()));
            } else {
                let before = (clock.get(vm) as usize).min(events.len());
                cone.past.extend(ids(0..before));
                let first_after =
                    events.partition_point(|e| e.clock.get(event.vm) < u64::from(event.index));
                cone.future.extend(ids(first_after..events.len()));
            }
        }
        Some(cone)
    }

    fn of(&self, vm: VmId) -> &[Recorded] {
        self.vms.get(vm.index()).map_or(&[], Vec::as_slice)
    }

    fn get(&self, event: EventId) -> Option<&Recorded> {
        self.of(event.vm)
            .get((event.index as usize).checked_sub(1)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VM id written in a test.
    fn vid(n: u32) -> VmId {
        VmId::literal(n)
    }

    fn id(vm: u32, index: u32) -> EventId {
        EventId { vm: vid(vm), index }
    }

    /// VM 1: a (1 0 0), b receives VM 2's c (2 1 0). VM 2: c sends (0 1 0), d (0 2 0).
    /// VM 3: e receives VM 1's b (2 1 1).
    fn history() -> History {
        let mut h = History::default();
        for (vm, line, clock) in [
            (1, 2, "1 0 0"),
            (2, 2, "0 1 0"),
            (1, 3, "2 1 0"),
            (2, 3, "0 2 0"),
            (3, 5, "2 1 1"),
        ] {
            h.record(vid(vm), line, clock.parse().unwrap());
        }
        h
    }

    #[test]
    fn past_and_future_follow_the_clocks() {
        let h = history();
        let b = h.cone(id(1, 2)).unwrap();
        assert_eq!(b.past, vec![id(1, 1), id(2, 1)]);
        assert_eq!(b.future, vec![id(3, 1)]);
        let c = h.cone(id(2, 1)).unwrap();
        assert_eq!(c.past, vec![]);
        assert_eq!(c.future, vec![id(1, 2), id(2, 2), id(3, 1)]);
        let d = h.cone(id(2, 2)).unwrap();
        assert_eq!((d.past, d.future), (vec![id(2, 1)], vec![]));
        assert_eq!(h.cone(id(3, 2)), None);
        assert_eq!(h.cone(id(4, 1)), None);
    }

    #[test]
    fn lookups_by_line_and_order() {
        let h = history();
        assert_eq!(h.event_at_line(vid(1), 3), Some(id(1, 2)));
        assert_eq!(h.event_at_line(vid(1), 4), None);
        assert_eq!(h.get(id(3, 1)).map(|e| e.line), Some(5));
        assert_eq!(h.len_of(vid(2)), 2);
        assert_eq!(h.len_of(vid(9)), 0);
        assert!(h.happened_before(id(2, 1), id(3, 1)));
        assert!(!h.happened_before(id(2, 2), id(3, 1)));
        assert!(!h.happened_before(id(1, 1), id(1, 1)));
        assert_eq!(h.events().count(), 5);
        // The cone agrees with happened-before for every pair.
        for (a, _, _) in h.events() {
            let cone = h.cone(a).unwrap();
            for (b, _, _) in h.events() {
                assert_eq!(
                    cone.past.contains(&b),
                    h.happened_before(b, a),
                    "{a:?} {b:?}"
                );
                assert_eq!(
                    cone.future.contains(&b),
                    h.happened_before(a, b),
                    "{a:?} {b:?}"
                );
            }
        }
    }
}
