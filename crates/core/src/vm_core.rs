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

use crate::accounting::Drops;
use crate::faults::{FaultId, RestartClock};
use crate::model::{DieOutcome, Event, Message, VmCounters, VmId, VmModel};
use crate::vector_clock::VectorClock;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopSummary {
    pub counters: VmCounters,
    pub final_clock: u64,
    /// Messages that arrived but were never taken.
    pub queue_left: u64,
    /// Messages this VM counts as dropped: those its bridge could not
    /// send or deliver, and those it lost in a crash.
    pub dropped: u64,
    /// The part of `dropped` owed to each fault.
    pub dropped_by_fault: BTreeMap<FaultId, u64>,
    /// The longest queue any line reported, or the queue left at stop.
    pub max_queue: u64,
}

/// The state of one VM around its model. Cloned by the model checker,
/// which keeps one copy per state it explores.
#[derive(Debug, Clone)]
pub struct VmCore {
    model: VmModel,
    phase: Phase,
    /// Messages that left the mailbox when no tick wanted one. A driver that
    /// holds its mailbox between ticks never causes this; if one does, they
    /// are kept in order and taken by the next ticks rather than lost.
    held: VecDeque<Message>,
    closed_peers: BTreeSet<VmId>,
    /// Set once the bridge has closed its links and counted its drops.
    dropped: Option<Drops>,
    /// The crash the VM is down in, if it is.
    down: Option<FaultId>,
    /// Messages lost to crashes: the queue at the crash and every arrival
    /// while down.
    lost: Drops,
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
            down: None,
            lost: Drops::default(),
            max_queue: 0,
        }
    }

    pub fn id(&self) -> VmId {
        self.model.id()
    }

    /// Every other VM, in the order a [`DieOutcome::SendOne`] indexes.
    pub fn peers(&self) -> &[VmId] {
        self.model.peers()
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The Lamport clock after the latest event.
    pub fn clock(&self) -> u64 {
        self.model.clock()
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
        self.tick_deciding(queued, VmModel::roll)
    }

    /// [`VmCore::tick`] with the die's outcome given instead of drawn: the
    /// model checker's way in, which tries every outcome. The outcome is
    /// used only if the queue is empty, exactly where `tick` would draw.
    pub fn tick_with(&mut self, queued: u64, outcome: DieOutcome) -> TickOutcome {
        self.tick_deciding(queued, |_| outcome)
    }

    /// The tick rule, with the die a parameter: `die` is asked only when no
    /// message waits, so a seeded run draws exactly as it always has.
    fn tick_deciding(
        &mut self,
        queued: u64,
        die: impl FnOnce(&mut VmModel) -> DieOutcome,
    ) -> TickOutcome {
        if let Some(message) = self.held.pop_front() {
            return TickOutcome::Event(self.take(message, queued));
        }
        if queued > 0 {
            self.phase = Phase::AwaitingMessage;
            return TickOutcome::AwaitMessage;
        }
        let outcome = die(&mut self.model);
        let event = self.model.act_on(outcome);
        TickOutcome::Event(self.logged(event, queued))
    }

    /// A message left the queue; `queued` still counts it. Returns the
    /// receive when a tick was waiting for it. Between ticks it is held for
    /// the next tick; once the VM is stopping it stays counted as left in
    /// the queue.
    ///
    /// A VM that is down (crashed) loses it: counted against the crash.
    /// The driver takes it off its queue count either way it left.
    pub fn deliver(&mut self, message: Message, queued: u64) -> Option<Logged> {
        if self.down.is_some() {
            self.lose(1);
            return None;
        }
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

    fn lose(&mut self, messages: u64) {
        for _ in 0..messages {
            self.lost.count(self.down);
        }
    }

    /// Whether the VM is down in a crash (and which).
    pub fn down(&self) -> Option<FaultId> {
        self.down
    }

    /// The VM crashes (fault `fault`): it takes no tick until it restarts,
    /// every message it holds is lost, and every peer's stream counts as
    /// ended (its connections are gone). Messages that leave its mailbox
    /// while it is down are lost too ([`VmCore::deliver`]).
    pub fn crash(&mut self, fault: FaultId) {
        self.down = Some(fault);
        let held = self.held.len() as u64;
        self.held.clear();
        self.lose(held);
        if self.phase == Phase::AwaitingMessage {
            self.phase = Phase::Ticking;
        }
        self.closed_peers.extend(self.model.peers().iter().copied());
    }

    /// The VM restarts after its crash, with an empty queue and its clocks
    /// kept or reset; returns how many messages the crash lost here.
    pub fn restart(&mut self, clock: RestartClock) -> u64 {
        let Some(fault) = self.down.take() else {
            return 0;
        };
        if clock == RestartClock::Reset {
            self.model.reset_clocks();
        }
        self.lost.by_fault.get(&fault).copied().unwrap_or(0)
    }

    /// A peer's stream is open again (after a crash, its or ours): the VM
    /// waits for its end again before it stops.
    pub fn peer_reopened(&mut self, peer: VmId) {
        self.closed_peers.remove(&peer);
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
    pub fn outgoing_closed(&mut self, dropped: Drops) -> bool {
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
        let mut drops = self.dropped.clone().unwrap_or_default();
        drops.add(&self.lost);
        StopSummary {
            counters: self.model.counters(),
            final_clock: self.model.clock(),
            queue_left,
            dropped: drops.total,
            dropped_by_fault: drops.by_fault,
            max_queue: self.max_queue.max(queue_left),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VM id written in a test.
    fn id(n: u32) -> VmId {
        VmId::literal(n)
    }

    fn core(vm: u32, vm_count: u32, internal: f64) -> VmCore {
        VmCore::new(VmModel::new(
            VmId::literal(vm),
            vm_count,
            9,
            internal,
            false,
        ))
    }

    fn message(from: u32, seq: u64, lc: u64) -> Message {
        Message {
            from: VmId::literal(from),
            seq,
            lc,
            vc: Vec::new(),
        }
    }

    fn drops(total: u64) -> Drops {
        Drops {
            total,
            ..Drops::default()
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
    fn a_crash_ends_the_tick_that_was_waiting_for_its_message() {
        let mut vm = core(1, 3, 0.0);
        assert_eq!(vm.tick(1), TickOutcome::AwaitMessage);
        vm.crash(1);
        assert_eq!(vm.phase(), Phase::Ticking);
        vm.restart(RestartClock::Keep);
        // After the restart a message waits for the next tick: the crashed tick is gone, and
        // taking it now would be an event without a tick.
        assert_eq!(vm.deliver(message(2, 1, 40), 1), None);
        assert!(event(vm.tick(1)).took_message());
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
        assert!(matches!(first.event, Event::Receive { from, lc: 6, .. } if from == id(2)));
        assert_eq!(first.queue, 1);
        assert!(matches!(
            second.event,
            Event::Receive {
                from,
                lc: 10,
                ..
            } if from == id(3)
        ));
        assert_eq!(second.queue, 0);
    }

    #[test]
    fn stop_waits_for_every_peer_and_the_drop_count() {
        let mut vm = core(2, 3, 0.7);
        assert!(!vm.peer_closed(id(1)), "not stopping yet");
        vm.begin_stop();
        assert_eq!(vm.open_peers(), vec![id(3)]);
        assert!(!vm.outgoing_closed(drops(2)));
        assert!(vm.drops_known());
        assert!(vm.peer_closed(id(3)));
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
        assert!(!vm.peer_closed(id(2)));
        assert!(vm.outgoing_closed(drops(0)));
        assert!(vm.drops_known());
    }

    #[test]
    fn a_new_core_is_ticking_with_its_models_id_and_peers() {
        let vm = core(3, 4, 0.7);
        assert_eq!(vm.id(), id(3));
        assert_eq!(vm.peers(), &[id(4), id(1), id(2)]);
        assert_eq!(vm.phase(), Phase::Ticking);
    }

    #[test]
    fn the_vector_clock_after_a_tick_is_the_one_its_line_reports() {
        let mut vm = VmCore::new(VmModel::new(id(1), 2, 9, 1.0, true));
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

    /// A crash loses what the VM holds and whatever leaves its mailbox
    /// while it is down, counted against the crash; a restart with reset
    /// starts both clocks from zero and keeps the message numbers going.
    #[test]
    fn a_crash_loses_the_queue_and_a_reset_restart_starts_the_clocks_again() {
        let mut vm = VmCore::new(VmModel::new(id(1), 3, 9, 0.0, true));
        for _ in 0..5 {
            event(vm.tick(0));
        }
        assert_eq!(vm.deliver(message(2, 1, 40), 2), None, "held between ticks");
        vm.crash(4);
        assert_eq!(vm.down(), Some(4));
        assert_eq!(vm.deliver(message(3, 1, 50), 1), None);
        assert_eq!(vm.restart(RestartClock::Reset), 2);
        assert_eq!(vm.down(), None);
        assert_eq!(vm.clock(), 0);
        assert_eq!(vm.vector_clock().unwrap().entries(), &[0, 0, 0]);
        // p = 0: every act sends; seq 6 follows the five before the crash.
        match event(vm.tick(0)).event {
            Event::Send { seq, lc, .. } => assert_eq!((seq, lc), (6, 1)),
            other => panic!("{other:?}"),
        }
        vm.begin_stop();
        assert!(
            vm.outgoing_closed(drops(3)),
            "no peer reopened: nothing can arrive"
        );
        let summary = vm.stop(0);
        assert_eq!(summary.dropped, 5);
        assert_eq!(summary.dropped_by_fault, BTreeMap::from([(4, 2)]));
    }

    #[test]
    fn a_crash_closes_every_peer_until_each_reopens() {
        let mut vm = core(2, 3, 0.7);
        vm.crash(1);
        assert_eq!(vm.restart(RestartClock::Keep), 0);
        vm.peer_reopened(id(3));
        vm.begin_stop();
        assert_eq!(vm.open_peers(), vec![id(3)]);
        assert!(!vm.outgoing_closed(drops(0)));
        assert!(vm.peer_closed(id(3)));
    }
}
