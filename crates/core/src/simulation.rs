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
//! It does not promise the same lines as a `--virtual-time` run of the same
//! seed: which of two things due at the same instant goes first is decided
//! here by the order they were scheduled, there by the actor runtime.

use crate::latency::{DelayLine, Latency};
use crate::model::{derive_seed, Message, VmId, VmModel};
use crate::schedule::{draw_tick_leads, offset, TickPhase};
use crate::vector_clock::VectorClock;
use crate::vm_core::{Logged, StopSummary, TickOutcome, VmCore};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
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
}

/// Something due at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Due {
    /// The next tick of this VM (an index into the VMs).
    Tick(usize),
    /// The delay line of the link `from -> to` may release what it holds.
    Release { from: VmId, to: VmId },
}

struct SimVm {
    core: VmCore,
    rate: u32,
    /// How far its schedule leads the start (see [`crate::schedule`]).
    lead: Duration,
    /// Ticks taken so far.
    ticks: u64,
    queue: VecDeque<Message>,
}

/// A running simulation.
pub struct Simulation {
    vms: Vec<SimVm>,
    latency: Latency,
    delay_rng: StdRng,
    links: BTreeMap<(VmId, VmId), DelayLine<Duration, Message>>,
    /// What is due, earliest first; among equal times, first scheduled first.
    agenda: BinaryHeap<Reverse<(Duration, u64, Due)>>,
    scheduled: u64,
    now: Duration,
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
                    i as VmId + 1,
                    vm_count,
                    spec.seed,
                    spec.internal_probability,
                    spec.vector_clocks,
                )),
                rate,
                lead,
                ticks: 0,
                queue: VecDeque::new(),
            })
            .collect();
        let mut simulation = Self {
            vms,
            latency: spec.latency.clone(),
            delay_rng: StdRng::seed_from_u64(derive_seed(spec.seed, DELAY_STREAM)),
            links: BTreeMap::new(),
            agenda: BinaryHeap::new(),
            scheduled: 0,
            now: Duration::ZERO,
            events: 0,
        };
        for index in 0..simulation.vms.len() {
            simulation.schedule_tick(index);
        }
        simulation
    }

    fn schedule(&mut self, at: Duration, due: Due) {
        self.scheduled += 1;
        self.agenda.push(Reverse((at, self.scheduled, due)));
    }

    fn schedule_tick(&mut self, index: usize) {
        let vm = &self.vms[index];
        let due = offset(vm.ticks + 1, vm.rate).saturating_sub(vm.lead);
        self.schedule(due, Due::Tick(index));
    }

    /// Runs until `until`, then stops every VM; returns the time of the stop.
    pub fn run(mut self, until: Until, observer: &mut impl Observer) -> Duration {
        while let Some(&Reverse((at, _, due))) = self.agenda.peek() {
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
        vm.ticks += 1;
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
        self.schedule_tick(index);
    }

    /// A message enters the link to `to`, which passes it on after its delay.
    fn transmit(&mut self, message: Message, to: VmId, observer: &mut impl Observer) {
        let delay = self
            .latency
            .of_link(message.from, to)
            .sample(&mut self.delay_rng);
        let line = self.links.entry((message.from, to)).or_default();
        let from = message.from;
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
        observer.arrived(to, self.now, &message);
        self.vms[to as usize - 1].queue.push_back(message);
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
            vm.core.outgoing_closed(Default::default());
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
        assert_eq!(times.0[&2].len(), 60);
        assert_eq!(times.0[&3][2], Duration::from_secs(1));
        assert_eq!(*times.0[&1].last().unwrap(), Duration::from_secs(10));
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
            let ticks = &times.0[&(i as VmId + 1)];
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
