//! The model's cores driven by a simulated clock: no actors, no sockets,
//! no runtime.
//!
//! A discrete-event loop moves time from one due moment to the next: a VM's
//! tick (tick `k` of a VM at `rate` is due at `k / rate`, as in
//! [`crate::schedule`]) or a link's delay line releasing what it held. Every
//! decision is made by the same code the actors drive: [`VmCore`] decides
//! each tick, [`DelayLine`] keeps each link first-in first-out under the
//! latency model. Each VM's queue is a plain deque here, where the actor has
//! its mailbox. That makes the simulation the cheap way to get a valid run
//! of any size (the analyzer's benchmark and large test fixtures, written
//! through [`crate::logging`] like any real run) and the ground for property
//! tests of the model's invariants, with an [`Observer`] that sees every
//! arrival and every event.
//!
//! Faults ([`Simulation::with_faults`]) go through the same
//! [`VmTimeline`] the VM actor asks: each VM wakes for its ticks and its
//! fault marks, skips the ticks a pause or a crash takes, and a mark does
//! what the timeline says (a crash loses the queue and whatever reaches the
//! VM while down; a restart keeps or resets the clocks). A message meets
//! the plan where it meets it between actors: one for a VM that is down is
//! dropped by its sender against the crash, one whose arrival falls in a
//! partition waits for the window's end or is dropped by its receiver
//! against the partition ([`FaultPlan::passage`]), and at a crash what the
//! VM's incoming links hold enters its queue, where the crash loses it.
//!
//! It does not promise the same lines as a `--virtual-time` run of the same
//! seed: which of two things due at the same instant goes first is decided
//! here by the order they were scheduled, there by the actor runtime, and
//! the delays come from one seed stream here and one per receiving bridge
//! there. Without a latency model and with ticks out of phase (nothing
//! coincides), each VM's events are the same, faults included
//! (`tests/fault_schedule.rs` holds the two side by side).

use crate::accounting::Drops;
use crate::fault_timeline::{MarkAction, VmTimeline, Wake};
use crate::faults::{Fault, FaultId, FaultPlan, Mark, Passage};
use crate::latency::{DelayLine, Latency};
use crate::model::{derive_seed, Message, VmId, VmModel};
use crate::schedule::{draw_tick_leads, TickPhase};
use crate::vector_clock::VectorClock;
use crate::vm_core::{Logged, StopSummary, TickOutcome, VmCore};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

/// Seed streams of the delay draws, apart from the VMs' own streams.
const DELAY_STREAM: u64 = 1 << 21;

/// What to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct SimSpec {
    /// Ticks per second of each VM (VM `i + 1` has `rates[i]`), each at least 1.
    pub rates: Vec<u32>,
    pub seed: u64,
    pub internal_probability: f64,
    pub latency: Latency,
    /// Where each VM's first tick falls; the leads are drawn from `seed` as
    /// in a real run ([`draw_tick_leads`]).
    pub tick_phase: TickPhase,
    /// Whether every VM keeps a vector clock.
    pub vector_clocks: bool,
}

/// When a simulation ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// Every tick due within this time from the start happens, none after.
    Time(Duration),
    /// After this many tick events over all VMs.
    Events(u64),
}

/// Sees what happens in a simulation, in time order.
pub trait Observer {
    /// A message reached `vm`'s queue.
    fn arrived(&mut self, _vm: VmId, _at: Duration, _message: &Message) {}
    /// `vm` had a tick; `logged` is its event and the queue its line
    /// reports, `vc` its vector clock after the event (if the run keeps one).
    fn event(&mut self, vm: VmId, at: Duration, logged: &Logged, vc: Option<&VectorClock>);
    /// `vm` stopped; every message sent has arrived by now.
    fn stop(&mut self, vm: VmId, at: Duration, summary: &StopSummary);
    /// A fault started or ended on `vm` (its `fault_start` or `fault_end`).
    fn fault(&mut self, _vm: VmId, _at: Duration, _edge: &FaultEdge) {}
    /// A message for `vm` will never be taken, owed to `fault`: a partition
    /// dropped it, or `vm` was down in a crash (or crashed with it queued).
    fn dropped(&mut self, _vm: VmId, _at: Duration, _message: &Message, _fault: FaultId) {}
}

/// A fault mark on one VM, as its log line reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultEdge {
    pub mark: Mark,
    pub fault: Fault,
    /// A restart only: the messages the crash lost on this VM.
    pub(crate) lost: Option<u64>,
    /// The VM's queue then (at a crash, the queue it loses).
    pub queue: u64,
    /// The VM's Lamport clock then (after a restart, the one it restarts with).
    pub lc: u64,
}

/// Something due at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Due {
    /// The next tick of this VM (an index into the VMs).
    Tick(usize),
    /// The next fault mark of this VM.
    Mark(usize),
    /// The delay line of the link `from -> to` may release what it holds.
    Release { from: VmId, to: VmId },
}

struct SimVm {
    core: VmCore,
    rate: u32,
    /// How far its schedule leads the start (see [`crate::schedule`]).
    lead: Duration,
    /// Its ticks and fault marks.
    timeline: VmTimeline,
    queue: VecDeque<Message>,
    /// What its bridge counts as dropped: messages it could not send to a
    /// VM that was down, and those a partition cut on their way in.
    bridge_drops: Drops,
}

/// A running simulation.
pub struct Simulation {
    vms: Vec<SimVm>,
    latency: Latency,
    delay_rng: StdRng,
    links: BTreeMap<(VmId, VmId), DelayLine<Duration, Message>>,
    /// What is due, earliest first; among equal times fault marks first (a
    /// window is `[start, end)`: at its end the VM is up again, at its start
    /// already down, whatever else happens at that instant), then first
    /// scheduled first.
    agenda: BinaryHeap<Reverse<(Duration, bool, u64, Due)>>,
    scheduled: u64,
    now: Duration,
    /// The stop instant, for a run that stops on time.
    stop: Option<Duration>,
    events: u64,
}

impl Simulation {
    pub fn new(spec: &SimSpec) -> Self {
        let vm_count = spec.rates.len() as u32;
        let rates: Vec<u32> = spec.rates.iter().map(|&rate| rate.max(1)).collect();
        let leads = draw_tick_leads(spec.seed, &rates, spec.tick_phase);
        let vms = rates
            .iter()
            .zip(leads)
            .enumerate()
            .map(|(i, (&rate, lead))| SimVm {
                core: VmCore::new(VmModel::new(
                    VmId::from_index(i),
                    vm_count,
                    spec.seed,
                    spec.internal_probability,
                    spec.vector_clocks,
                )),
                rate,
                lead,
                timeline: VmTimeline::new(Arc::default(), VmId::from_index(i), rate, lead),
                queue: VecDeque::new(),
                bridge_drops: Drops::default(),
            })
            .collect();
        Self {
            vms,
            latency: spec.latency.clone(),
            delay_rng: StdRng::seed_from_u64(derive_seed(spec.seed, DELAY_STREAM)),
            links: BTreeMap::new(),
            agenda: BinaryHeap::new(),
            scheduled: 0,
            now: Duration::ZERO,
            stop: None,
            events: 0,
        }
    }

    /// The same run under a fault schedule (checked against the run, as
    /// the settings check it).
    pub fn with_faults(mut self, plan: FaultPlan) -> Self {
        let plan = Arc::new(plan);
        for vm in &mut self.vms {
            let id = vm.core.id();
            vm.timeline = VmTimeline::new(plan.clone(), id, vm.rate, vm.lead);
        }
        self
    }

    fn schedule(&mut self, at: Duration, due: Due) {
        self.scheduled += 1;
        let not_a_mark = !matches!(due, Due::Mark(_));
        self.agenda
            .push(Reverse((at, not_a_mark, self.scheduled, due)));
    }

    /// Puts the VM's next wake on the agenda, as its timeline decides it;
    /// the stop itself is the run's, not the VM's.
    fn schedule_wake(&mut self, index: usize) {
        let stop = self.stop;
        match self.vms[index].timeline.next_wake(stop) {
            Some(next) if next.wake == Wake::Tick => self.schedule(next.at, Due::Tick(index)),
            Some(next) if next.wake == Wake::Mark => self.schedule(next.at, Due::Mark(index)),
            _ => {}
        }
    }

    /// Runs until `until`, then stops every VM; returns the time of the stop.
    pub fn run(mut self, until: Until, observer: &mut impl Observer) -> Duration {
        self.stop = match until {
            Until::Time(end) => Some(end),
            Until::Events(_) => None,
        };
        for index in 0..self.vms.len() {
            self.schedule_wake(index);
        }
        while let Some(&Reverse((at, _, _, due))) = self.agenda.peek() {
            let more = match until {
                Until::Time(end) => at <= end,
                Until::Events(n) => self.events < n,
            };
            if !more {
                break;
            }
            self.agenda.pop();
            self.now = at;
            match due {
                Due::Tick(index) => self.tick(index, observer),
                Due::Mark(index) => self.mark(index, observer),
                Due::Release { from, to } => self.release_due(from, to, false, observer),
            }
        }
        if let Until::Time(end) = until {
            self.now = self.now.max(end);
        }
        self.stop(observer)
    }

    fn tick(&mut self, index: usize, observer: &mut impl Observer) {
        let vm = &mut self.vms[index];
        vm.timeline.tick_taken();
        self.events += 1;
        let logged = match vm.core.tick(vm.queue.len() as u64) {
            TickOutcome::Event(logged) => logged,
            TickOutcome::AwaitMessage => {
                let queued = vm.queue.len() as u64;
                let message = vm.queue.pop_front().expect("a message waits");
                vm.core
                    .deliver(message, queued)
                    .expect("a tick awaiting a message takes it")
            }
        };
        let id = vm.core.id();
        observer.event(id, self.now, &logged, vm.core.vector_clock());
        if let crate::model::Event::Send { to, seq, lc, vc } = logged.event {
            let message = Message {
                from: id,
                seq,
                lc,
                vc,
            };
            for &recipient in &to {
                self.transmit(message.clone(), recipient, observer);
            }
        }
        self.schedule_wake(index);
    }

    /// The VM's next fault mark: its line, and what the timeline says the
    /// mark does.
    fn mark(&mut self, index: usize, observer: &mut impl Observer) {
        let vm = &mut self.vms[index];
        let id = vm.core.id();
        let Some(step) = vm.timeline.take_mark() else {
            return;
        };
        let (mark, action) = (step.mark, step.action);
        let mut edge = FaultEdge {
            mark,
            fault: step.fault.clone(),
            lost: None,
            queue: vm.queue.len() as u64,
            lc: vm.core.clock(),
        };
        match action {
            MarkAction::Log => observer.fault(id, self.now, &edge),
            MarkAction::Crash(fault) => {
                // The line first: it reports the queue the crash loses.
                observer.fault(id, self.now, &edge);
                vm.core.crash(fault);
                self.lose_incoming(index, observer);
            }
            MarkAction::Restart(clock) => {
                edge.lost = Some(vm.core.restart(clock));
                edge.lc = vm.core.clock();
                observer.fault(id, self.now, &edge);
            }
        }
        self.schedule_wake(index);
    }

    /// A VM that just crashed loses its queue, and what its incoming links
    /// hold enters it (and is lost) too, as its bridge passes it on.
    fn lose_incoming(&mut self, index: usize, observer: &mut impl Observer) {
        let vm = &mut self.vms[index];
        let to = vm.core.id();
        while let Some(message) = vm.queue.pop_front() {
            Self::lose(vm, message, self.now, observer);
        }
        let links: Vec<(VmId, VmId)> = self.links.keys().filter(|l| l.1 == to).copied().collect();
        for (from, to) in links {
            self.release_due(from, to, true, observer);
        }
    }

    /// `message` reached `vm` while it was down: the core counts it lost.
    fn lose(vm: &mut SimVm, message: Message, now: Duration, observer: &mut impl Observer) {
        let fault = vm.core.down().expect("only a VM that is down loses");
        observer.dropped(vm.core.id(), now, &message, fault);
        vm.core.deliver(message, vm.queue.len() as u64 + 1);
    }

    /// A message enters the link to `to`, which passes it on after its delay:
    /// unless `to` is down (its sender's bridge drops it against the crash),
    /// or its arrival falls in a partition that holds it or drops it.
    fn transmit(&mut self, message: Message, to: VmId, observer: &mut impl Observer) {
        let from = message.from;
        if let Some(fault) = self.vms[to.index()].core.down() {
            observer.dropped(to, self.now, &message, fault);
            self.vms[from.index()].bridge_drops.count(Some(fault));
            return;
        }
        let mut delay = self.latency.of_link(from, to).sample(&mut self.delay_rng);
        let receiver = &mut self.vms[to.index()];
        match receiver.timeline.passage_in(from, self.now + delay) {
            Passage::DeliverAt(at) => delay = at.saturating_sub(self.now),
            Passage::Dropped(fault) => {
                observer.dropped(to, self.now, &message, fault);
                receiver.bridge_drops.count(Some(fault));
                return;
            }
        }
        let line = self.links.entry((from, to)).or_default();
        match line.push(self.now, delay, message) {
            Some(message) => self.arrive(to, message, observer),
            None => self.arm(from, to),
        }
    }

    fn arm(&mut self, from: VmId, to: VmId) {
        if let Some(at) = self.links.get_mut(&(from, to)).and_then(DelayLine::arm) {
            self.schedule(at, Due::Release { from, to });
        }
    }

    fn release_due(&mut self, from: VmId, to: VmId, all: bool, observer: &mut impl Observer) {
        let now = self.now;
        if let Some(line) = self.links.get_mut(&(from, to)) {
            line.timer_fired();
        }
        while let Some(message) = self
            .links
            .get_mut(&(from, to))
            .and_then(|line| line.pop_due(now, all))
        {
            self.arrive(to, message, observer);
        }
        if !all {
            self.arm(from, to);
        }
    }

    fn arrive(&mut self, to: VmId, message: Message, observer: &mut impl Observer) {
        let vm = &mut self.vms[to.index()];
        if vm.core.down().is_some() {
            Self::lose(vm, message, self.now, observer);
            return;
        }
        observer.arrived(to, self.now, &message);
        vm.queue.push_back(message);
    }

    /// The orderly stop: every message still on a link lands in its queue,
    /// then each VM stops with what it never took.
    fn stop(mut self, observer: &mut impl Observer) -> Duration {
        let links: Vec<(VmId, VmId)> = self.links.keys().copied().collect();
        for (from, to) in links {
            self.release_due(from, to, true, observer);
        }
        for vm in &mut self.vms {
            vm.core.begin_stop();
            vm.core
                .outgoing_closed(std::mem::take(&mut vm.bridge_drops));
            for peer in vm.core.peers().to_vec() {
                vm.core.peer_closed(peer);
            }
            debug_assert!(vm.core.may_stop() || vm.core.peers().is_empty());
            let summary = vm.core.stop(vm.queue.len() as u64);
            observer.stop(vm.core.id(), self.now, &summary);
        }
        self.now
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::latency::Delay;
    use crate::model::Event;
    use crate::schedule::offset;

    /// A VM id written in a test.
    fn id(n: u32) -> VmId {
        VmId::literal(n)
    }

    /// Keeps every line, to compare runs.
    #[derive(Default)]
    struct Transcript(Vec<String>);

    impl Observer for Transcript {
        fn event(&mut self, vm: VmId, at: Duration, logged: &Logged, vc: Option<&VectorClock>) {
            self.0.push(format!("{at:?} {vm} {logged:?} {vc:?}"));
        }
        fn stop(&mut self, vm: VmId, at: Duration, summary: &StopSummary) {
            self.0.push(format!("{at:?} {vm} stop {summary:?}"));
        }
    }

    fn spec(seed: u64) -> SimSpec {
        SimSpec {
            rates: vec![1, 6, 3],
            seed,
            internal_probability: 0.4,
            latency: Latency {
                default: Delay::Exponential { mean_ms: 200.0 },
                ..Latency::default()
            },
            tick_phase: TickPhase::Aligned,
            vector_clocks: true,
        }
    }

    #[test]
    fn a_seed_gives_the_same_run_and_another_seed_another() {
        let run = |seed| {
            let mut t = Transcript::default();
            Simulation::new(&spec(seed)).run(Until::Time(Duration::from_secs(60)), &mut t);
            t.0
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
    }

    #[test]
    fn ticks_fall_on_the_schedule_and_stop_with_the_runtime() {
        #[derive(Default)]
        struct Times(BTreeMap<VmId, Vec<Duration>>);
        impl Observer for Times {
            fn event(&mut self, vm: VmId, at: Duration, _: &Logged, _: Option<&VectorClock>) {
                self.0.entry(vm).or_default().push(at);
            }
            fn stop(&mut self, _: VmId, at: Duration, _: &StopSummary) {
                assert_eq!(at, Duration::from_secs(10));
            }
        }
        let mut times = Times::default();
        Simulation::new(&spec(1)).run(Until::Time(Duration::from_secs(10)), &mut times);
        assert_eq!(times.0[&id(2)].len(), 60);
        assert_eq!(times.0[&id(3)][2], Duration::from_secs(1));
        assert_eq!(*times.0[&id(1)].last().unwrap(), Duration::from_secs(10));
    }

    #[test]
    fn random_phases_shift_each_first_tick_within_its_period_and_keep_the_count() {
        #[derive(Default)]
        struct Times(BTreeMap<VmId, Vec<Duration>>);
        impl Observer for Times {
            fn event(&mut self, vm: VmId, at: Duration, _: &Logged, _: Option<&VectorClock>) {
                self.0.entry(vm).or_default().push(at);
            }
            fn stop(&mut self, _: VmId, _: Duration, _: &StopSummary) {}
        }
        let spec = SimSpec {
            tick_phase: TickPhase::Random,
            ..spec(1)
        };
        let leads = draw_tick_leads(spec.seed, &spec.rates, TickPhase::Random);
        let mut times = Times::default();
        Simulation::new(&spec).run(Until::Time(Duration::from_secs(10)), &mut times);
        for (i, &rate) in spec.rates.iter().enumerate() {
            let ticks = &times.0[&(VmId::from_index(i))];
            assert_eq!(ticks.len() as u64, 10 * u64::from(rate), "rate {rate}");
            assert_eq!(ticks[0], offset(1, rate) - leads[i]);
            assert!(ticks
                .windows(2)
                .all(|w| w[1] - w[0] <= offset(1, rate) + Duration::from_nanos(1)));
        }
        // Out of step: no two VMs share their first tick's instant.
        let firsts: std::collections::BTreeSet<_> = times.0.values().map(|t| t[0]).collect();
        assert_eq!(firsts.len(), spec.rates.len());
    }

    #[test]
    fn an_event_budget_stops_after_that_many_ticks() {
        struct Count(u64, u64);
        impl Observer for Count {
            fn event(&mut self, _: VmId, _: Duration, logged: &Logged, _: Option<&VectorClock>) {
                self.0 += 1;
                if let Event::Receive { .. } = logged.event {
                    self.1 += 1;
                }
            }
            fn stop(&mut self, _: VmId, _: Duration, _: &StopSummary) {}
        }
        let mut count = Count(0, 0);
        Simulation::new(&spec(2)).run(Until::Events(1_000), &mut count);
        assert_eq!(count.0, 1_000);
        assert!(count.1 > 0, "messages were received");
    }
}
