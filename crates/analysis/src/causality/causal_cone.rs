//! One event's causal past and future: the events that happened before it and after it. Pure.
//!
//! A [`History`] holds every tick event of a run with its derived vector clock (built by
//! [`causal_history`](crate::causal_history) from a run directory). With the clocks, both sets
//! are ranges on each VM and need no graph search: the past of event e on VM j is j's first
//! vc_e[j] events (e itself excluded), and its future on j ≠ e's VM is every event of j whose
//! entry for e's VM is at least e's own, a suffix found by binary search since that entry
//! never decreases along j's events. Everything else is concurrent with e.
//!
//! It keeps a clock per event (VM count × 4 bytes each, stored flat), so it suits the runs
//! one looks at event by event, not hour-long runs of a hundred VMs.

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

/// One VM's tick events in program order: the line each was logged at, and their clocks
/// side by side in one flat vector of `width` entries each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Lane {
    lines: Vec<usize>,
    clocks: Vec<u32>,
}

/// Every tick event of a run with its vector clock, per VM in program order.
///
/// The clocks are stored flat, 4 bytes an entry: a run's derived clock entry counts events
/// of one VM, which the event ids already bound to `u32`. A clock per event as its own
/// `VectorClock` (a vector of `u64` and its allocation) took about three times the memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// Indexed by VM id - 1.
    vms: Vec<Lane>,
    /// Entries per clock: the first recorded clock's length (every clock of a run has one).
    width: usize,
}

impl History {
    /// Records the next event of VM `vm`, logged at `line` of its file, with its clock. Events
    /// of one VM come in program order; every clock has the width of the first.
    pub(crate) fn record(&mut self, vm: VmId, line: usize, clock: &VectorClock) {
        if self.vms.is_empty() && self.width == 0 {
            self.width = clock.len();
        }
        let i = vm.index();
        if self.vms.len() <= i {
            self.vms.resize(i + 1, Lane::default());
        }
        let lane = &mut self.vms[i];
        lane.lines.push(line);
        let entries = clock
            .entries()
            .iter()
            .map(|&e| u32::try_from(e).unwrap_or(u32::MAX));
        lane.clocks
            .extend(entries.chain(std::iter::repeat(0)).take(self.width));
    }

    /// Every event: its id, the line of its VM's log it was logged at, and its clock; in VM
    /// and then program order.
    pub fn events(&self) -> impl Iterator<Item = (EventId, usize, VectorClock)> + '_ {
        self.vms.iter().enumerate().flat_map(move |(i, lane)| {
            lane.lines.iter().enumerate().map(move |(k, &line)| {
                let id = EventId {
                    vm: VmId::from_index(i),
                    index: k as u32 + 1,
                };
                (
                    id,
                    line,
                    VectorClock::from_entries(self.entries(lane, k).iter().copied()),
                )
            })
        })
    }

    /// How many tick events VM `vm` logged.
    pub fn len_of(&self, vm: VmId) -> usize {
        self.vms.get(vm.index()).map_or(0, |lane| lane.lines.len())
    }

    /// The vector clock of `event`, if the run has it.
    pub fn clock(&self, event: EventId) -> Option<VectorClock> {
        let (lane, k) = self.get(event)?;
        Some(VectorClock::from_entries(
            self.entries(lane, k).iter().copied(),
        ))
    }

    /// The event VM `vm` logged at `line` of its log, if that line is a tick event.
    pub fn event_at_line(&self, vm: VmId, line: usize) -> Option<EventId> {
        let k = self.vms.get(vm.index())?.lines.binary_search(&line).ok()?;
        Some(EventId {
            vm,
            index: k as u32 + 1,
        })
    }

    /// True when `a` happened before `b` (false for unknown events and for `a` = `b`).
    pub fn happened_before(&self, a: EventId, b: EventId) -> bool {
        match (self.get(a), self.get(b)) {
            (Some(_), Some((lane, k))) => a != b && a.index <= self.entry(lane, k, a.vm),
            _ => false,
        }
    }

    /// The causal past and future of `event`; `None` if the run has no such event.
    pub fn cone(&self, event: EventId) -> Option<Cone> {
        let (own_lane, own_k) = self.get(event)?;
        let mut cone = Cone::default();
        for (i, lane) in self.vms.iter().enumerate() {
            let vm = VmId::from_index(i);
            let ids = |range: std::ops::Range<usize>| {
                range.map(move |k| EventId {
                    vm,
                    index: k as u32 + 1,
                })
            };
            let count = lane.lines.len();
            if vm == event.vm {
                let k = event.index as usize;
                cone.past.extend(ids(0..k - 1));
                cone.future.extend(ids(k..count));
            } else {
                let before = (self.entry(own_lane, own_k, vm) as usize).min(count);
                cone.past.extend(ids(0..before));
                let first_after =
                    partition_point(count, |k| self.entry(lane, k, event.vm) < event.index);
                cone.future.extend(ids(first_after..count));
            }
        }
        Some(cone)
    }

    /// The clock of the `k`-th (from 0) event of `lane`.
    fn entries<'a>(&self, lane: &'a Lane, k: usize) -> &'a [u32] {
        &lane.clocks[k * self.width..(k + 1) * self.width]
    }

    /// The entry for `vm` in the clock of the `k`-th event of `lane` (0 past the width).
    fn entry(&self, lane: &Lane, k: usize, vm: VmId) -> u32 {
        self.entries(lane, k).get(vm.index()).copied().unwrap_or(0)
    }

    /// The lane of `event` and its place in it.
    fn get(&self, event: EventId) -> Option<(&Lane, usize)> {
        let lane = self.vms.get(event.vm.index())?;
        let k = (event.index as usize).checked_sub(1)?;
        (k < lane.lines.len()).then_some((lane, k))
    }
}

/// The first of `0..count` for which `before` is false, `before` being true on a prefix.
fn partition_point(count: usize, before: impl Fn(usize) -> bool) -> usize {
    let (mut low, mut high) = (0, count);
    while low < high {
        let mid = low + (high - low) / 2;
        if before(mid) {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    low
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
            h.record(vid(vm), line, &clock.parse().unwrap());
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
        assert_eq!(h.get(id(3, 1)).map(|(lane, k)| lane.lines[k]), Some(5));
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
