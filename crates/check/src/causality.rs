//! Happened-before, worked out from the events alone.
//!
//! The properties compare the clocks with the truth, so the truth may not
//! come from a clock: here it is Lamport's definition itself, the smallest
//! relation that holds between consecutive events of one VM and from a send
//! to the receive of its message, closed under transitivity. A check has at
//! most a few dozen events, so each event's causal past is a bit set.

use crate::state::{Record, SystemState};
use lc_core::model::Event;
use lc_core::vm_id::VmId;

/// The most events a [`Causality`] holds: one bit each.
pub const MAX_EVENTS: usize = 64;

/// An event: the VM and its position in that VM's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventRef {
    pub vm: VmId,
    pub index: usize,
}

/// Happened-before over every event of a state.
#[derive(Debug)]
pub struct Causality<'s> {
    state: &'s SystemState,
    /// Where each VM's events start in the numbering.
    offsets: Vec<usize>,
    /// Each event's causal past (the events that happened before it).
    past: Vec<u64>,
}

impl<'s> Causality<'s> {
    /// The relation over the events of `state` (at most [`MAX_EVENTS`],
    /// which [`crate::size::Size`] keeps to).
    pub fn of(state: &'s SystemState) -> Causality<'s> {
        let mut offsets = Vec::with_capacity(state.vms.len());
        let mut total = 0;
        for vm in &state.vms {
            offsets.push(total);
            total += vm.history.len();
        }
        assert!(
            total <= MAX_EVENTS,
            "{total} events: more than a check holds"
        );
        let mut causality = Causality {
            state,
            offsets,
            past: vec![0; total],
        };
        let mut done = vec![false; total];
        for e in causality.events().collect::<Vec<_>>() {
            causality.fill(e, &mut done);
        }
        causality
    }

    /// Every event, VM by VM.
    pub fn events(&self) -> impl Iterator<Item = EventRef> + '_ {
        self.state.ids().flat_map(move |vm| {
            (0..self.state.vm(vm).history.len()).map(move |index| EventRef { vm, index })
        })
    }

    pub fn record(&self, e: EventRef) -> &'s Record {
        &self.state.vm(e.vm).history[e.index]
    }

    /// True when `a` happened before `b`.
    pub fn happened_before(&self, a: EventRef, b: EventRef) -> bool {
        self.past[self.number(b)] & (1 << self.number(a)) != 0
    }

    /// Neither happened before the other (and they are two events).
    pub fn concurrent(&self, a: EventRef, b: EventRef) -> bool {
        a != b && !self.happened_before(a, b) && !self.happened_before(b, a)
    }

    fn number(&self, e: EventRef) -> usize {
        self.offsets[e.vm.index()] + e.index
    }

    /// The events `e` directly follows: its VM's previous event and, for a
    /// receive, the send of its message.
    fn direct(&self, e: EventRef) -> impl Iterator<Item = EventRef> {
        let previous = e
            .index
            .checked_sub(1)
            .map(|index| EventRef { vm: e.vm, index });
        let send = match self.record(e).event {
            Event::Receive { from, seq, .. } => self.send_of(from, seq),
            _ => None,
        };
        previous.into_iter().chain(send)
    }

    /// The send event of message `seq` of VM `from`.
    fn send_of(&self, from: VmId, seq: u64) -> Option<EventRef> {
        let history = &self.state.vm(from).history;
        let index = history
            .iter()
            .position(|r| matches!(r.event, Event::Send { seq: s, .. } if s == seq))?;
        Some(EventRef { vm: from, index })
    }

    /// Works out `e`'s past after those of the events it directly follows
    /// (a send is always older than its receive, so this ends).
    fn fill(&mut self, e: EventRef, done: &mut [bool]) {
        let n = self.number(e);
        if done[n] {
            return;
        }
        let mut past = 0;
        for before in self.direct(e).collect::<Vec<_>>() {
            self.fill(before, done);
            let m = self.number(before);
            past |= self.past[m] | (1 << m);
        }
        self.past[n] = past;
        done[n] = true;
    }
}
