//! What a VM does on one tick, as plain code: no actors, sockets or timers.
//!
//! A driver (the VM actor in real time, or any simulated one) asks the model
//! for exactly one event per tick: [`VmModel::receive`] when a message is
//! waiting, [`VmModel::act`] otherwise. The model owns the Lamport clock
//! (and, unless the run leaves them out, the vector clock), the VM's seeded
//! random source and its counters, so a run is a pure function of the seed
//! and the order in which messages are handed in.
//!
//! The assignment's die (1..=10: 1 sends to one peer, 2 to the other, 3 to
//! both, 4..=10 is internal) is generalised to any number of peers and any
//! internal-event probability `p`: one uniform draw `r` in `[0, 1)` picks a
//! single peer while `r < 2(1-p)/3` (the band split evenly among the peers),
//! a send to all peers while `r < 1-p`, and an internal event otherwise.
//! With three VMs and `p = 0.7` that is the assignment's die exactly.

use crate::clock::LamportClock;
use crate::vector_clock::VectorClock;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

pub use crate::vm_id::VmId;

/// A message on the wire: who sent it, the sender's message number, and the
/// sender's clocks right after the send event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Message {
    pub from: VmId,
    pub seq: u64,
    pub lc: u64,
    /// The sender's vector clock after the send, one entry per VM in id
    /// order; empty when the run keeps no vector clocks.
    pub vc: Vec<u64>,
}

/// What the die decides when no message is waiting. Public so that a
/// driver which enumerates outcomes instead of drawing them (the model
/// checker, `lc_check`) hands one to [`crate::vm_core::VmCore::tick_with`]
/// and goes through the same [`VmModel`] code as a seeded run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DieOutcome {
    /// Send to the peer at this index of the VM's peer list.
    SendOne(usize),
    /// Send one message to every peer (one event, one clock increment).
    SendAll,
    Internal,
}

/// One event of the model, with the clock value after it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Event {
    Receive {
        from: VmId,
        seq: u64,
        msg_lc: u64,
        lc: u64,
        jump: u64,
    },
    Send {
        to: Vec<VmId>,
        seq: u64,
        lc: u64,
        /// The vector clock the message carries (see [`Message::vc`]).
        vc: Vec<u64>,
    },
    Internal {
        lc: u64,
    },
}

impl Event {
    /// The clock value after the event.
    pub fn lc(&self) -> u64 {
        match self {
            Event::Receive { lc, .. } | Event::Send { lc, .. } | Event::Internal { lc } => *lc,
        }
    }
}

/// A VM's running totals, reported in its `stop` line and the run summary.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct VmCounters {
    /// Ticks taken, which is events: one event per tick.
    pub ticks: u64,
    /// Messages sent (a send to all peers counts once per recipient).
    pub sent: u64,
    /// Messages taken from the queue by a tick.
    pub received: u64,
    pub internal: u64,
    /// The largest clock increase of any single event.
    pub max_jump: u64,
}

/// Picks the action for a tick from one uniform draw; see the module docs.
pub(crate) fn choose_action(draw: f64, peer_count: usize, internal_probability: f64) -> DieOutcome {
    let send_probability = 1.0 - internal_probability;
    let single_band = send_probability * 2.0 / 3.0;
    if draw < single_band {
        let peer = (draw / single_band * peer_count as f64) as usize;
        DieOutcome::SendOne(peer.min(peer_count - 1))
    } else if draw < send_probability {
        DieOutcome::SendAll
    } else {
        DieOutcome::Internal
    }
}

/// Derives an independent seed for one stream (a VM, the rate draw) from the
/// run seed, so changing the VM count does not reshuffle every other stream.
/// This is SplitMix64's finaliser: cheap and well mixed.
pub fn derive_seed(run_seed: u64, stream: u64) -> u64 {
    let mut z = run_seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Draws each VM's clock rate from `min..=max` with the run's seed.
pub fn draw_rates(run_seed: u64, vm_count: usize, min: u32, max: u32) -> Vec<u32> {
    let mut rng = StdRng::seed_from_u64(derive_seed(run_seed, 0));
    (0..vm_count).map(|_| rng.random_range(min..=max)).collect()
}

/// A VM's die: its seeded random source, and what it takes to copy it.
///
/// The generator itself cannot be cloned (rand 0.10 keeps a stream from
/// being duplicated by accident), but a copy of a VM must roll what the
/// original would (the model checker clones a core at every state), so a
/// copy is seeded alike and replays the draws made so far. No run clones a
/// VM; the checker never rolls, so its copies replay nothing.
#[derive(Debug)]
struct Die {
    seed: u64,
    draws: u64,
    rng: StdRng,
}

impl Die {
    fn new(seed: u64) -> Self {
        Die {
            seed,
            draws: 0,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// One uniform draw in `[0, 1)`.
    fn draw(&mut self) -> f64 {
        self.draws += 1;
        self.rng.random()
    }
}

impl Clone for Die {
    fn clone(&self) -> Self {
        let mut copy = Die::new(self.seed);
        for _ in 0..self.draws {
            copy.draw();
        }
        copy
    }
}

/// The state of one VM: its clocks, random source and counters.
#[derive(Debug, Clone)]
pub struct VmModel {
    id: VmId,
    peers: Vec<VmId>,
    clock: LamportClock,
    /// `None` when the run leaves vector clocks out.
    vector: Option<VectorClock>,
    die: Die,
    internal_probability: f64,
    last_seq: u64,
    counters: VmCounters,
}

impl VmModel {
    /// A VM `id` of `vm_count` (ids are 1..=vm_count), seeded from the run
    /// seed; it keeps a vector clock when `vector_clocks` is set.
    pub fn new(
        id: VmId,
        vm_count: u32,
        run_seed: u64,
        internal_probability: f64,
        vector_clocks: bool,
    ) -> Self {
        // Peers in ring order starting after this VM, so "the next VM" is
        // always index 0 whatever the id.
        let count = vm_count as usize;
        let peers = (1..count)
            .map(|k| VmId::from_index((id.index() + k) % count))
            .collect();
        Self {
            id,
            peers,
            clock: LamportClock::new(),
            vector: vector_clocks.then(|| VectorClock::zero(vm_count as usize)),
            die: Die::new(derive_seed(run_seed, u64::from(id))),
            internal_probability,
            last_seq: 0,
            counters: VmCounters::default(),
        }
    }

    pub fn id(&self) -> VmId {
        self.id
    }

    pub(crate) fn peers(&self) -> &[VmId] {
        &self.peers
    }

    pub fn clock(&self) -> u64 {
        self.clock.value()
    }

    pub(crate) fn counters(&self) -> VmCounters {
        self.counters
    }

    /// The vector clock after the latest event, if the run keeps one.
    pub fn vector_clock(&self) -> Option<&VectorClock> {
        self.vector.as_ref()
    }

    /// Both clocks back to zero, as a VM that restarts without the clocks
    /// it had (a crash with `clock = "reset"`); message numbers go on, so a
    /// (sender, number) pair still names one message.
    pub(crate) fn reset_clocks(&mut self) {
        self.clock = LamportClock::new();
        if let Some(vector) = &mut self.vector {
            *vector = VectorClock::zero(self.peers.len() + 1);
        }
    }

    /// A tick with a message waiting: take it and apply the receive rule.
    pub(crate) fn receive(&mut self, message: Message) -> Event {
        let (lc, jump) = self.clock.receive(message.lc);
        if let Some(vector) = &mut self.vector {
            vector.receive(self.id, &message.vc);
        }
        self.record_tick(jump);
        self.counters.received += 1;
        Event::Receive {
            from: message.from,
            seq: message.seq,
            msg_lc: message.lc,
            lc,
            jump,
        }
    }

    /// A tick with an empty queue: roll the die and act on it. Drivers go
    /// through [`crate::vm_core::VmCore`], which rolls only when it must;
    /// the tests here want both in one call.
    #[cfg(test)]
    pub(crate) fn act(&mut self) -> Event {
        let outcome = self.roll();
        self.act_on(outcome)
    }

    /// One roll of the VM's die: the only draw a tick makes, and only when
    /// its queue is empty, so a seeded run draws the same numbers whoever
    /// acts on them.
    pub(crate) fn roll(&mut self) -> DieOutcome {
        let draw = self.die.draw();
        choose_action(draw, self.peers.len(), self.internal_probability)
    }

    /// What a tick with an empty queue does once the die has fallen: the
    /// rule itself, shared by the seeded run ([`VmModel::act`]) and the
    /// model checker, which chooses every outcome in turn. A single send to
    /// a peer index beyond the peer list is the caller's bug.
    pub(crate) fn act_on(&mut self, outcome: DieOutcome) -> Event {
        let to = match outcome {
            DieOutcome::SendOne(index) => vec![self.peers[index]],
            DieOutcome::SendAll => self.peers.clone(),
            DieOutcome::Internal => {
                let lc = self.clock.tick();
                if let Some(vector) = &mut self.vector {
                    vector.tick(self.id);
                }
                self.record_tick(1);
                self.counters.internal += 1;
                return Event::Internal { lc };
            }
        };
        let lc = self.clock.tick();
        // The message carries the clock after the send event: tick, then stamp.
        let vc = self.vector.as_mut().map_or_else(Vec::new, |vector| {
            vector.tick(self.id);
            vector.stamp()
        });
        self.record_tick(1);
        self.last_seq += 1;
        self.counters.sent += to.len() as u64;
        Event::Send {
            to,
            seq: self.last_seq,
            lc,
            vc,
        }
    }

    fn record_tick(&mut self, jump: u64) {
        self.counters.ticks += 1;
        self.counters.max_jump = self.counters.max_jump.max(jump);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VM id written in a test.
    fn id(n: u32) -> VmId {
        VmId::literal(n)
    }

    /// The assignment's die: value d covers draws in [(d-1)/10, d/10).
    fn die_face(face: u32) -> f64 {
        (f64::from(face) - 0.5) / 10.0
    }

    #[test]
    fn default_probability_reproduces_the_assignment_die_for_three_vms() {
        assert_eq!(choose_action(die_face(1), 2, 0.7), DieOutcome::SendOne(0));
        assert_eq!(choose_action(die_face(2), 2, 0.7), DieOutcome::SendOne(1));
        assert_eq!(choose_action(die_face(3), 2, 0.7), DieOutcome::SendAll);
        for face in 4..=10 {
            assert_eq!(choose_action(die_face(face), 2, 0.7), DieOutcome::Internal);
        }
    }

    #[test]
    fn each_band_holds_its_lower_edge_and_not_its_upper_edge() {
        // p = 0.25: single sends on [0, 0.5), sends to all on [0.5, 0.75),
        // internal events on [0.75, 1); all three edges are exact in binary.
        assert_eq!(choose_action(0.0, 2, 0.25), DieOutcome::SendOne(0));
        assert_eq!(choose_action(0.25, 2, 0.25), DieOutcome::SendOne(1));
        assert_eq!(choose_action(0.5, 2, 0.25), DieOutcome::SendAll);
        assert_eq!(choose_action(0.75, 2, 0.25), DieOutcome::Internal);
    }

    #[test]
    fn single_sends_spread_evenly_over_many_peers() {
        let mut hits = [0u32; 7];
        let steps = 70_000;
        for i in 0..steps {
            let draw = f64::from(i) / f64::from(steps);
            if let DieOutcome::SendOne(peer) = choose_action(draw, 7, 0.0) {
                hits[peer] += 1;
            }
        }
        // p = 0: two thirds of draws are single sends, split over 7 peers.
        for count in hits {
            assert!((6_600..=6_740).contains(&count), "{hits:?}");
        }
    }

    #[test]
    fn probability_one_is_always_internal_and_zero_never() {
        for i in 0..100 {
            let draw = f64::from(i) / 100.0;
            assert_eq!(choose_action(draw, 3, 1.0), DieOutcome::Internal);
            assert_ne!(choose_action(draw, 3, 0.0), DieOutcome::Internal);
        }
    }

    #[test]
    fn peers_are_every_other_vm_in_ring_order() {
        assert_eq!(VmModel::new(id(3), 4, 0, 0.7, false).id(), id(3));
        assert_eq!(
            VmModel::new(id(1), 3, 0, 0.7, false).peers(),
            &[id(2), id(3)]
        );
        assert_eq!(
            VmModel::new(id(3), 3, 0, 0.7, false).peers(),
            &[id(1), id(2)]
        );
        assert_eq!(VmModel::new(id(2), 2, 0, 0.7, false).peers(), &[id(1)]);
    }

    #[test]
    fn events_follow_lamport_rules_and_counters_add_up() {
        let mut vm = VmModel::new(id(1), 4, 42, 0.5, false);
        let mut last = 0;
        let mut seq = 0;
        for step in 0..1_000u64 {
            let event = if step % 5 == 0 {
                vm.receive(Message {
                    from: id(2),
                    seq: step,
                    lc: step * 2,
                    vc: Vec::new(),
                })
            } else {
                vm.act()
            };
            match &event {
                Event::Receive { msg_lc, lc, .. } => assert_eq!(*lc, last.max(*msg_lc) + 1),
                Event::Send { to, seq: s, lc, vc } => {
                    assert!(vc.is_empty(), "no vector clock kept, none sent");
                    assert_eq!(*lc, last + 1);
                    assert!(!to.is_empty() && !to.contains(&id(1)));
                    seq += 1;
                    assert_eq!(*s, seq);
                }
                Event::Internal { lc } => assert_eq!(*lc, last + 1),
            }
            last = event.lc();
        }
        let c = vm.counters();
        assert_eq!(c.ticks, 1_000);
        assert_eq!(c.received, 200);
        assert!(c.internal > 300 && c.sent >= seq, "{c:?}");
        assert_eq!(vm.clock(), last);
        assert_eq!(vm.vector_clock(), None);
    }

    /// The vector clock rides along every event: the own entry counts the
    /// events, a send's message carries the clock after the send, and a
    /// receive merges the message's clock before counting itself.
    #[test]
    fn the_vector_clock_follows_its_rules_through_every_kind_of_event() {
        let mut vm = VmModel::new(id(2), 3, 7, 0.5, true);
        let mut before = vec![0u64; 3];
        for step in 1..=600u64 {
            let event = if step % 4 == 0 {
                vm.receive(Message {
                    from: id(3),
                    seq: step,
                    lc: step,
                    vc: vec![step / 2, 1, step],
                })
            } else {
                vm.act()
            };
            let after = vm.vector_clock().expect("kept").entries().to_vec();
            let mut expected = before.clone();
            match &event {
                Event::Receive { .. } => {
                    let message = [step / 2, 1, step];
                    for (e, m) in expected.iter_mut().zip(message) {
                        *e = (*e).max(m);
                    }
                }
                Event::Send { vc, .. } => {
                    assert_eq!(vc, &after, "the message carries the send's clock")
                }
                Event::Internal { .. } => {}
            }
            expected[1] += 1;
            assert_eq!(after, expected, "step {step}: {event:?}");
            assert_eq!(after[1], step, "the own entry counts the events");
            before = after;
        }
    }

    #[test]
    fn a_copy_of_a_vm_rolls_what_the_original_rolls() {
        let mut vm = VmModel::new(id(1), 3, 11, 0.5, true);
        for _ in 0..17 {
            vm.act();
        }
        let mut copy = vm.clone();
        let ahead: Vec<Event> = (0..50).map(|_| vm.act()).collect();
        let copied: Vec<Event> = (0..50).map(|_| copy.act()).collect();
        assert_eq!(ahead, copied);
    }

    #[test]
    fn same_seed_same_choices_different_seed_different_choices() {
        let run = |seed| {
            let mut vm = VmModel::new(id(2), 3, seed, 0.7, true);
            (0..200).map(|_| vm.act()).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    /// Stream seeds are SplitMix64's: with run seed 0, stream k gets the
    /// k-th output of the reference generator seeded with 0, so a seed
    /// names the same run in every build.
    #[test]
    fn stream_seeds_follow_the_splitmix64_reference() {
        assert_eq!(derive_seed(0, 1), 0xE220_A839_7B1D_CDAF);
        assert_eq!(derive_seed(0, 2), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(derive_seed(0, 3), 0x06C4_5D18_8009_454F);
        assert_eq!(derive_seed(0, 4), 0xF88B_B8A8_724C_81EC);
    }

    #[test]
    fn every_stream_of_a_run_gets_its_own_seed_whatever_the_run_seed() {
        for run_seed in [0, 1, 0x5EED, u64::MAX] {
            let seeds: std::collections::BTreeSet<u64> = (0..100)
                .map(|stream| derive_seed(run_seed, stream))
                .collect();
            assert_eq!(seeds.len(), 100, "run seed {run_seed:#x}");
        }
        assert_ne!(derive_seed(1, 5), derive_seed(2, 5));
    }

    #[test]
    fn rates_stay_in_range_and_depend_on_the_seed() {
        let rates = draw_rates(5, 64, 1, 6);
        assert!(rates.iter().all(|r| (1..=6).contains(r)));
        assert_eq!(rates, draw_rates(5, 64, 1, 6));
        assert_ne!(rates, draw_rates(6, 64, 1, 6));
        assert_eq!(draw_rates(9, 3, 4, 4), vec![4, 4, 4]);
    }
}
