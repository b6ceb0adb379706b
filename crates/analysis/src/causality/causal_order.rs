//! The run's events in an order where every receive follows its send, with the vector clock
//! each event has by send/receive matching. Pure.
//!
//! Vector clocks are derived, not trusted: a receive's clock needs its message's, so the send must
//! come first. The time merge almost always gives that order, but log timestamps come from
//! different writers (or tools), and a receive may be stamped before its send. So each VM's
//! events queue here in program order, and a VM whose next event is a receive of a message not
//! yet seen waits until the send is released; memory holds only such waits and the clocks of
//! messages some recipient has yet to take.
//!
//! A receive whose send cannot come (its sender has no log, or has already released every send
//! up to that seq) goes ahead without a message clock, as does the head of a queue that grew
//! past [`CausalOrder::HOLD`] events, and, at the end, every receive still waiting (a forged
//! receive, or a cycle only corrupt logs can make). Such a run already breaks a matching rule;
//! its derived clocks then simply leave that edge out. The released order keeps every VM's
//! program order, so derived own entries count 1, 2, 3... along each VM's events.

use lc_core::vm_id::VmId;
use std::collections::{HashMap, VecDeque};

use crate::read::record::{Action, Tick};
use crate::rules::violation::At;
use lc_core::vector_clock::VectorClock;

/// One tick event of one VM, as the log gave it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Event {
    pub(crate) vm: VmId,
    pub(crate) at: At,
    /// A line of this VM just before this event could not be read.
    pub(crate) after_gap: bool,
    /// The VM restarted with its clocks reset (a crash's `fault_end` with `clock: reset`) just
    /// before this event.
    pub(crate) after_reset: bool,
    pub(crate) tick: Tick,
}

/// An event released in causal order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Released<'a> {
    pub(crate) event: Event,
    /// Its vector clock by program order and the matched messages.
    pub(crate) clock: &'a VectorClock,
    /// For a receive whose send was released: the `vc` that send logged, if it logged one.
    pub(crate) send_vc: Option<VectorClock>,
}

/// A message some recipient has not taken yet.
#[derive(Debug)]
struct InFlight {
    derived: VectorClock,
    logged: Option<VectorClock>,
    /// Recipients (with a log) that have not received it.
    to: Vec<VmId>,
}

/// One VM's events waiting for release, and its derived clock so far.
#[derive(Debug)]
struct VmQueue {
    has_log: bool,
    pending: VecDeque<Event>,
    clock: VectorClock,
    /// The highest seq among its released sends.
    last_seq: u64,
    /// The message its head waits for, once registered in `waiting`.
    blocked_on: Option<(VmId, u64)>,
}

/// The reordering and derivation of one run.
#[derive(Debug)]
pub(crate) struct CausalOrder {
    /// Indexed by VM id - 1.
    vms: Vec<VmQueue>,
    in_flight: HashMap<(VmId, u64), InFlight>,
    /// VMs whose head waits for message (sender, seq).
    waiting: HashMap<(VmId, u64), Vec<VmId>>,
}

/// Whether a VM's head event may be released.
enum Readiness {
    Ready,
    Wait((VmId, u64)),
}

impl CausalOrder {
    /// Events a VM may hold back waiting for one send before its head goes ahead anyway.
    pub(crate) const HOLD: usize = 100_000;

    /// A run of `width` VMs (clock entries), of which those in `with_log` have a log.
    pub(crate) fn new(width: usize, with_log: &[VmId]) -> CausalOrder {
        let width = width.max(with_log.iter().map(|vm| vm.index() + 1).max().unwrap_or(0));
        CausalOrder {
            vms: (0..width)
                .map(VmId::from_index)
                .map(|vm| VmQueue {
                    has_log: with_log.contains(&vm),
                    pending: VecDeque::new(),
                    clock: VectorClock::zero(width),
                    last_seq: 0,
                    blocked_on: None,
                })
                .collect(),
            in_flight: HashMap::new(),
            waiting: HashMap::new(),
        }
    }

    /// Takes the next event of a VM (in its program order) and releases every event that may
    /// now go, in causal order.
    pub(crate) fn feed(&mut self, event: Event, out: &mut impl FnMut(Released)) {
        let vm = event.vm;
        let Some(queue) = self.queue(vm) else {
            return;
        };
        if queue.pending.is_empty() {
            // The usual case, without queueing: nothing of this VM waits, and its send came.
            if let Readiness::Ready = self.readiness(&event) {
                let unblocked = self.release(event, out);
                self.drain(unblocked, out);
                return;
            }
        }
        let queue = &mut self.vms[vm.index()];
        queue.pending.push_back(event);
        if queue.blocked_on.is_some() && queue.pending.len() <= Self::HOLD {
            return;
        }
        self.drain(vec![vm], out);
    }

    /// The logs ended: releases everything still held, each waiting receive without its
    /// message, in VM order.
    pub(crate) fn finish(mut self, out: &mut impl FnMut(Released)) {
        while let Some(vm) = self.vms.iter().position(|q| !q.pending.is_empty()) {
            let vm = VmId::from_index(vm);
            let mut work = self.release_head(vm, out);
            work.push(vm);
            self.drain(work, out);
        }
    }

    fn queue(&mut self, vm: VmId) -> Option<&mut VmQueue> {
        self.vms.get_mut(vm.index())
    }

    /// Releases what may go from the queues of the VMs in `work`, and from every queue a
    /// released send unblocks.
    fn drain(&mut self, mut work: Vec<VmId>, out: &mut impl FnMut(Released)) {
        while let Some(vm) = work.pop() {
            loop {
                let i = vm.index();
                let Some(head) = self.vms[i].pending.front() else {
                    break;
                };
                match self.readiness(head) {
                    Readiness::Wait(key) if self.vms[i].pending.len() <= Self::HOLD => {
                        if self.vms[i].blocked_on != Some(key) {
                            self.vms[i].blocked_on = Some(key);
                            self.waiting.entry(key).or_default().push(vm);
                        }
                        break;
                    }
                    _ => work.extend(self.release_head(vm, out)),
                }
            }
        }
    }

    fn readiness(&self, head: &Event) -> Readiness {
        let Action::Receive { from, seq, .. } = head.tick.action else {
            return Readiness::Ready;
        };
        let key = (from, seq);
        let sender = self.vms.get(from.index()).filter(|q| q.has_log);
        match sender {
            // The send is gone, never existed, or its sender has no log: it cannot come.
            None => Readiness::Ready,
            Some(_) if from == head.vm || self.in_flight.contains_key(&key) => Readiness::Ready,
            Some(q) if q.last_seq >= seq => Readiness::Ready,
            Some(_) => Readiness::Wait(key),
        }
    }

    /// Releases the head of `vm`'s queue; returns the VMs whose wait it ended.
    fn release_head(&mut self, vm: VmId, out: &mut impl FnMut(Released)) -> Vec<VmId> {
        let i = vm.index();
        self.vms[i].blocked_on = None;
        match self.vms[i].pending.pop_front() {
            Some(event) => self.release(event, out),
            None => Vec::new(),
        }
    }

    /// Releases `event`, the next of its VM; returns the VMs whose wait it ended.
    fn release(&mut self, event: Event, out: &mut impl FnMut(Released)) -> Vec<VmId> {
        let vm = event.vm;
        let i = vm.index();
        let mut send_vc = None;
        let mut unblocked = Vec::new();
        match &event.tick.action {
            Action::Receive { from, seq, .. } => {
                let key = (*from, *seq);
                if let Some(flight) = self.in_flight.get_mut(&key) {
                    self.vms[i].clock.merge(&flight.derived);
                    flight.to.retain(|&r| r != vm);
                    if flight.to.is_empty() {
                        send_vc = self.in_flight.remove(&key).and_then(|f| f.logged);
                    } else {
                        send_vc = flight.logged.clone();
                    }
                }
                self.vms[i].clock.tick(vm);
            }
            Action::Send { to, seq } => {
                self.vms[i].clock.tick(vm);
                self.vms[i].last_seq = self.vms[i].last_seq.max(*seq);
                let to: Vec<VmId> = to
                    .iter()
                    .copied()
                    .filter(|&r| r != vm && self.has_log(r))
                    .collect();
                if !to.is_empty() {
                    self.in_flight.insert(
                        (vm, *seq),
                        InFlight {
                            derived: self.vms[i].clock.clone(),
                            logged: event.tick.vc.clone(),
                            to,
                        },
                    );
                }
                // Waits for this seq, or for a seq this send passed (it will never come).
                if !self.waiting.is_empty() {
                    let last = self.vms[i].last_seq;
                    let passed: Vec<(VmId, u64)> = self
                        .waiting
                        .keys()
                        .filter(|&&(sender, s)| sender == vm && s <= last)
                        .copied()
                        .collect();
                    for key in passed {
                        unblocked.extend(self.waiting.remove(&key).unwrap_or_default());
                    }
                }
            }
            Action::Internal => self.vms[i].clock.tick(vm),
        }
        out(Released {
            clock: &self.vms[i].clock,
            event,
            send_vc,
        });
        unblocked
    }

    fn has_log(&self, vm: VmId) -> bool {
        self.vms.get(vm.index()).is_some_and(|q| q.has_log)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VM id written in a test.
    fn vid(n: u32) -> VmId {
        VmId::literal(n)
    }

    fn event(vm: u32, line: usize, action: Action) -> Event {
        Event {
            vm: vid(vm),
            at: At {
                file: vid(vm).index(),
                line,
            },
            after_gap: false,
            after_reset: false,
            tick: Tick {
                lc: 0,
                queue: 0,
                vc: None,
                action,
            },
        }
    }
    fn send(vm: u32, line: usize, to: &[u32], seq: u64) -> Event {
        event(
            vm,
            line,
            Action::Send {
                to: to.iter().copied().map(vid).collect(),
                seq,
            },
        )
    }
    fn receive(vm: u32, line: usize, from: u32, seq: u64) -> Event {
        event(
            vm,
            line,
            Action::Receive {
                from: vid(from),
                seq,
                msg_lc: 0,
                msg_vc: None,
            },
        )
    }
    fn internal(vm: u32, line: usize) -> Event {
        event(vm, line, Action::Internal)
    }

    /// Feeds `events` in the given order; returns (vm, line, clock) in release order.
    fn run(order: &mut CausalOrder, events: Vec<Event>) -> Vec<(u32, usize, String)> {
        let mut released = Vec::new();
        let mut out = |r: Released| {
            released.push((r.event.vm.get(), r.event.at.line, r.clock.to_string()));
        };
        for e in events {
            order.feed(e, &mut out);
        }
        std::mem::replace(order, CausalOrder::new(0, &[])).finish(&mut out);
        released
    }

    #[test]
    fn a_receive_stamped_before_its_send_waits_for_it() {
        let mut order = CausalOrder::new(2, &[vid(1), vid(2)]);
        let released = run(
            &mut order,
            vec![
                receive(2, 2, 1, 1), // merged first: VM 2 waits
                internal(2, 3),      // held behind it
                internal(1, 2),
                send(1, 3, &[2], 1), // releases VM 2's receive, then its internal event
                internal(1, 4),
            ],
        );
        assert_eq!(
            released,
            vec![
                (1, 2, "1 0".to_string()),
                (1, 3, "2 0".to_string()),
                (2, 2, "2 1".to_string()),
                (2, 3, "2 2".to_string()),
                (1, 4, "3 0".to_string()),
            ]
        );
    }

    #[test]
    fn a_broadcast_reaches_each_recipient_and_is_then_forgotten() {
        let mut order = CausalOrder::new(3, &[vid(1), vid(2), vid(3)]);
        let released = run(
            &mut order,
            vec![
                send(1, 2, &[2, 3], 1),
                receive(3, 2, 1, 1),
                receive(2, 2, 1, 1),
                send(2, 3, &[3], 1),
                receive(3, 3, 2, 1),
            ],
        );
        let clocks: Vec<&str> = released.iter().map(|r| r.2.as_str()).collect();
        assert_eq!(clocks, vec!["1 0 0", "1 0 1", "1 1 0", "1 2 0", "1 2 2"]);
        assert!(order.in_flight.is_empty() && order.waiting.is_empty());
    }

    #[test]
    fn receives_whose_send_cannot_come_go_ahead_without_it() {
        // VM 3 has no log; VM 1's seq 5 is passed once VM 1 released seq 6.
        let mut order = CausalOrder::new(3, &[vid(1), vid(2)]);
        let released = run(
            &mut order,
            vec![
                receive(2, 2, 3, 1),
                receive(2, 3, 1, 5),
                send(1, 2, &[2, 3], 6),
                receive(2, 4, 1, 6),
            ],
        );
        let got: Vec<(u32, usize, &str)> =
            released.iter().map(|r| (r.0, r.1, r.2.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (2, 2, "0 1 0"),
                (1, 2, "1 0 0"),
                (2, 3, "0 2 0"),
                (2, 4, "1 3 0"),
            ]
        );
    }

    #[test]
    fn what_still_waits_at_the_end_is_released_in_program_order() {
        // A cycle only corrupt logs can make: each VM first receives what the other sends later.
        let mut order = CausalOrder::new(2, &[vid(1), vid(2)]);
        let released = run(
            &mut order,
            vec![
                receive(1, 2, 2, 1),
                send(1, 3, &[2], 1),
                receive(2, 2, 1, 1),
                send(2, 3, &[1], 1),
            ],
        );
        let got: Vec<(u32, usize)> = released.iter().map(|r| (r.0, r.1)).collect();
        assert_eq!(got, vec![(1, 2), (1, 3), (2, 2), (2, 3)]);
        // VM 1's receive went without its message; VM 2's got VM 1's send.
        assert_eq!(released[0].2, "1 0");
        assert_eq!(released[2].2, "2 1");
    }
}
