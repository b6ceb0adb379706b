//! A VM's decisions, as plain code: what a due tick does, and when a
//! stopping VM may log `stop`.
//!
//! This is the sans-I/O core of the VM actor (the shape of quinn-proto): it
//! owns the [`VmModel`] (clock, die, counters) and the bookkeeping around
//! it, and it is told what happened ("a tick is due and `queued` messages
//! wait", "this message came out of the mailbox", "peer 3 has closed")
//! rather than finding out. It answers with what to log and send. Nothing
//! here knows about actors, timers or sockets, so the same core runs under
//! the actor in real and virtual time, in [`crate::simulation`], and in
//! property tests.
//!
//! The queue itself stays with the driver, because it *is* the driver's
//! mailbox (or, in a simulation, a plain deque): the core is only told how
//! many messages wait. The rule the model is about lives in [`VmCore::tick`]:
//! a tick with a waiting message takes the oldest one; only a tick with an
//! empty queue rolls the die.

use crate::model::{Event, Message, VmCounters, VmId, VmModel};
use crate::vector_clock::VectorClock;
use std::collections::{BTreeSet, VecDeque};

/// Where the VM is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Between ticks.
    Ticking,
    /// A tick is due and must take the message that leaves the queue next.
    AwaitingMessage,
    /// Past the stop instant: no more ticks; waiting for every peer to close.
    Draining,
    Stopped,
}

/// One event to log, with the queue length its line reports: for a
/// `receive`, the messages still waiting after the one taken; for a `send`
/// or `internal`, the queue at the tick's decision, which is always empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub event: Event,
    pub queue: u64,
}

impl Logged {
    /// True when the event took a message off the queue (the driver's
    /// count of waiting messages goes down by one).
    pub fn took_message(&self) -> bool {
        matches!(self.event, Event::Receive { .. })
    }
}

/// What a due tick does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TickOutcome {
    /// The tick's event, decided now.
    Event(Logged),
    /// A message waits in the queue: hand the next one that leaves it to
    /// [`VmCore::deliver`], which completes this tick.
    AwaitMessage,
}

/// What a VM reports when it stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopSummary {
    pub counters: VmCounters,
    pub final_clock: u64,
    /// Messages that arrived but were never taken.
    pub queue_left: u64,
    /// Messages the bridge could not send (their peer was lost).
    pub dropped: u64,
    /// The longest queue any line reported, or the queue left at stop.
    pub max_queue: u64,
}

/// The state of one VM around its model.
#[derive(Debug)]
pub struct VmCore {
    model: VmModel,
    phase: Phase,
    /// Messages that left the mailbox when no tick wanted one. A driver that
    /// holds its mailbox between ticks never causes this; if one does, they
    /// are kept in order and taken by the next ticks rather than lost.
    held: VecDeque<Message>,
    closed_peers: BTreeSet<VmId>,
    /// Set once the bridge has closed its links and counted its drops.
    dropped: Option<u64>,
    max_queue: u64,
}

impl VmCore {
    pub fn new(model: VmModel) -> Self {
        Self {
            model,
            phase: Phase::Ticking,
            held: VecDeque::new(),
            closed_peers: BTreeSet::new(),
            dropped: None,
            max_queue: 0,
        }
    }

    pub fn id(&self) -> VmId {
        self.model.id()
    }

    pub fn peers(&self) -> &[VmId] {
        self.model.peers()
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The vector clock after the latest event (what that event's line
    /// reports as `vc`), if the run keeps one. Read it before the next tick:
    /// it moves with every event, which is why no event carries a copy.
    pub fn vector_clock(&self) -> Option<&VectorClock> {
        self.model.vector_clock()
    }

    /// A tick is due and `queued` messages wait (every message handed to
    /// the VM and not yet taken, held ones included). Exactly one event per
    /// tick: decided now, or by the [`VmCore::deliver`] that follows.
    pub fn tick(&mut self, queued: u64) -> TickOutcome {
        if let Some(message) = self.held.pop_front() {
            return TickOutcome::Event(self.take(message, queued));
        }
        if queued > 0 {
            self.phase = Phase::AwaitingMessage;
            return TickOutcome::AwaitMessage;
        }
        let event = self.model.act();
        TickOutcome::Event(self.logged(event, queued))
    }

    /// A message left the queue; `queued` still counts it. Returns the
    /// receive when a tick was waiting for it. Between ticks it is held for
    /// the next tick; once the VM is stopping it stays counted as left in
    /// the queue.
    pub fn deliver(&mut self, message: Message, queued: u64) -> Option<Logged> {
        match self.phase {
            Phase::AwaitingMessage => {
                self.phase = Phase::Ticking;
                Some(self.take(message, queued))
            }
            Phase::Ticking => {
                self.held.push_back(message);
                None
            }
            Phase::Draining | Phase::Stopped => None,
        }
    }

    fn take(&mut self, message: Message, queued: u64) -> Logged {
        let event = self.model.receive(message);
        self.logged(event, queued.saturating_sub(1))
    }

    fn logged(&mut self, event: Event, queue: u64) -> Logged {
        self.max_queue = self.max_queue.max(queue);
        Logged { event, queue }
    }

    /// The stop instant has come: no tick from now on.
    pub fn begin_stop(&mut self) {
        if self.phase != Phase::Stopped {
            self.phase = Phase::Draining;
        }
    }

    /// A peer's stream has ended (after its last message). True when the
    /// VM may now log `stop`.
    pub fn peer_closed(&mut self, peer: VmId) -> bool {
        self.closed_peers.insert(peer);
        self.may_stop()
    }

    /// The bridge has closed its outgoing links; `dropped` messages could
    /// not be sent. True when the VM may now log `stop`.
    pub fn outgoing_closed(&mut self, dropped: u64) -> bool {
        self.dropped = Some(dropped);
        self.may_stop()
    }

    /// Stopping, every peer closed and the drops counted: nothing more can
    /// arrive or leave, so `stop` can count the queue for good.
    pub fn may_stop(&self) -> bool {
        self.phase == Phase::Draining
            && self.dropped.is_some()
            && self.peers().iter().all(|p| self.closed_peers.contains(p))
    }

    /// Peers whose stream has not ended yet, for a VM that gives up waiting.
    pub fn open_peers(&self) -> Vec<VmId> {
        self.peers()
            .iter()
            .copied()
            .filter(|p| !self.closed_peers.contains(p))
            .collect()
    }

    /// Whether the bridge has reported its dropped messages.
    pub fn drops_known(&self) -> bool {
        self.dropped.is_some()
    }

    /// Stops the VM with `queue_left` messages never taken; what its `stop`
    /// line and report say.
    pub fn stop(&mut self, queue_left: u64) -> StopSummary {
        self.phase = Phase::Stopped;
        StopSummary {
            counters: self.model.counters(),
            final_clock: self.model.clock(),
            queue_left,
            dropped: self.dropped.unwrap_or(0),
            max_queue: self.max_queue.max(queue_left),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn core(id: VmId, vm_count: u32, internal: f64) -> VmCore {
        VmCore::new(VmModel::new(id, vm_count, 9, internal, false))
    }

    fn message(from: VmId, seq: u64, lc: u64) -> Message {
        Message {
            from,
            seq,
            lc,
            vc: Vec::new(),
        }
    }

    fn event(outcome: TickOutcome) -> Logged {
        match outcome {
            TickOutcome::Event(logged) => logged,
            TickOutcome::AwaitMessage => panic!("expected an event"),
        }
    }

    #[test]
    fn an_empty_queue_rolls_the_die_and_reports_queue_zero() {
        let mut vm = core(1, 3, 0.5);
        for _ in 0..100 {
            let logged = event(vm.tick(0));
            assert!(!logged.took_message());
            assert_eq!(logged.queue, 0);
        }
        assert_eq!(vm.stop(0).counters.ticks, 100);
    }

    #[test]
    fn a_waiting_message_is_always_taken_even_by_a_vm_that_would_send() {
        // Internal probability 0: the die would always send.
        let mut vm = core(1, 3, 0.0);
        assert_eq!(vm.tick(1), TickOutcome::AwaitMessage);
        assert_eq!(vm.phase(), Phase::AwaitingMessage);
        let logged = vm.deliver(message(2, 1, 40), 1).expect("the tick takes it");
        assert!(logged.took_message());
        assert_eq!(logged.event.lc(), 41);
        assert_eq!(logged.queue, 0);
        assert_eq!(vm.phase(), Phase::Ticking);
    }

    #[test]
    fn a_receive_reports_what_is_still_waiting() {
        let mut vm = core(2, 3, 0.7);
        assert_eq!(vm.tick(5), TickOutcome::AwaitMessage);
        assert_eq!(vm.deliver(message(1, 1, 1), 5).unwrap().queue, 4);
        assert_eq!(vm.stop(4).max_queue, 4);
    }

    #[test]
    fn a_message_between_ticks_is_held_and_taken_first_in_order() {
        let mut vm = core(1, 3, 0.7);
        assert_eq!(vm.deliver(message(2, 1, 5), 2), None);
        assert_eq!(vm.deliver(message(3, 1, 9), 2), None);
        let first = event(vm.tick(2));
        let second = event(vm.tick(1));
        assert!(matches!(first.event, Event::Receive { from: 2, lc: 6, .. }));
        assert_eq!(first.queue, 1);
        assert!(matches!(
            second.event,
            Event::Receive {
                from: 3,
                lc: 10,
                ..
            }
        ));
        assert_eq!(second.queue, 0);
    }

    #[test]
    fn stop_waits_for_every_peer_and_the_drop_count() {
        let mut vm = core(2, 3, 0.7);
        assert!(!vm.peer_closed(1), "not stopping yet");
        vm.begin_stop();
        assert_eq!(vm.open_peers(), vec![3]);
        assert!(!vm.outgoing_closed(2));
        assert!(vm.drops_known());
        assert!(vm.peer_closed(3));
        let summary = vm.stop(3);
        assert_eq!((summary.dropped, summary.queue_left), (2, 3));
        assert_eq!(vm.phase(), Phase::Stopped);
        assert!(!vm.may_stop(), "stops once");
    }

    #[test]
    fn stop_needs_the_drop_count_even_with_every_peer_closed() {
        let mut vm = core(1, 2, 0.7);
        vm.begin_stop();
        assert!(!vm.drops_known());
        assert!(!vm.peer_closed(2));
        assert!(vm.outgoing_closed(0));
        assert!(vm.drops_known());
    }

    #[test]
    fn a_new_core_is_ticking_with_its_models_id_and_peers() {
        let vm = core(3, 4, 0.7);
        assert_eq!(vm.id(), 3);
        assert_eq!(vm.peers(), &[4, 1, 2]);
        assert_eq!(vm.phase(), Phase::Ticking);
    }

    #[test]
    fn the_vector_clock_after_a_tick_is_the_one_its_line_reports() {
        let mut vm = VmCore::new(VmModel::new(1, 2, 9, 1.0, true));
        event(vm.tick(0));
        assert_eq!(vm.vector_clock().unwrap().entries(), &[1, 0]);
        assert_eq!(vm.tick(1), TickOutcome::AwaitMessage);
        let arrived = Message {
            vc: vec![0, 4],
            ..message(2, 1, 4)
        };
        vm.deliver(arrived, 1).expect("the tick takes it");
        assert_eq!(vm.vector_clock().unwrap().entries(), &[2, 4]);
        assert_eq!(core(1, 2, 0.7).vector_clock(), None);
    }

    #[test]
    fn a_stopping_vm_takes_nothing_more() {
        let mut vm = core(1, 2, 0.7);
        vm.begin_stop();
        assert_eq!(vm.deliver(message(2, 1, 1), 1), None);
        let summary = vm.stop(1);
        assert_eq!(summary.counters.received, 0);
        assert_eq!(summary.queue_left, 1);
    }
}
