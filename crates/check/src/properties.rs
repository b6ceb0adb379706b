//! What `check` holds every state to, and what it must find reachable.
//!
//! "Always" properties are the model's guarantees: a state that breaks one
//! is a counterexample, and the shortest path to it is the run to show.
//! "Sometimes" properties guard the checker itself: each names a situation
//! the guarantees are about (two concurrent events that Lamport's order
//! ranks anyway, a queue of two, a receive that jumps the clock), and if
//! none is reachable the model is too narrow for the guarantees to mean
//! much. Happened-before comes from [`Causality`], never from a clock.
//! Each is a question about a [`SystemState`] alone; [`crate::model`]
//! names them to stateright.

use crate::causality::Causality;
use crate::state::SystemState;
use lc_core::model::Event;
use std::collections::BTreeMap;

pub const CLOCK_CONDITION: &str = "clock condition: a -> b implies L(a) < L(b)";
pub const VECTOR_CLOCKS: &str =
    "vector clocks characterise happened-before: a -> b iff V(a) < V(b)";
pub const TICK_TAKES: &str = "a tick with a waiting message takes it";
pub const FIFO: &str = "links are first-in first-out";
pub const CONSERVED: &str = "every message sent is received, queued, in flight or lost in a crash";
pub const CONCURRENT_RANKED: &str = "two concurrent events that Lamport's order ranks";
pub const QUEUE_OF_TWO: &str = "a queue of 2 or more";
pub const JUMP: &str = "a receive that jumps the clock by more than 1";

pub fn clock_condition(state: &SystemState) -> bool {
    let hb = Causality::of(state);
    let events = hb.events().collect::<Vec<_>>();
    events.iter().all(|&a| {
        events
            .iter()
            .all(|&b| !hb.happened_before(a, b) || hb.record(a).stamp.lc < hb.record(b).stamp.lc)
    })
}

/// `a` is below `b`: every entry at most `b`'s, and the two differ.
fn vector_below(a: &[u64], b: &[u64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x <= y) && a != b
}

pub fn vector_clocks_characterise(state: &SystemState) -> bool {
    let hb = Causality::of(state);
    let events = hb.events().collect::<Vec<_>>();
    events.iter().all(|&a| {
        events.iter().all(|&b| {
            let below = vector_below(&hb.record(a).stamp.vc, &hb.record(b).stamp.vc);
            hb.happened_before(a, b) == below
        })
    })
}

pub fn ticks_take_waiting_messages(state: &SystemState) -> bool {
    state
        .vms
        .iter()
        .flat_map(|vm| &vm.history)
        .all(|r| r.waiting == 0 || matches!(r.event, Event::Receive { .. }))
}

/// On every link, what the receiver took, then what waits in its queue,
/// then what is still on the link, is in the order the sender sent it.
pub fn links_are_fifo(state: &SystemState) -> bool {
    state.ids().all(|to| {
        let vm = state.vm(to);
        state.ids().filter(|&from| from != to).all(|from| {
            let taken = vm.history.iter().filter_map(|r| match r.event {
                Event::Receive { from: f, seq, .. } if f == from => Some(seq),
                _ => None,
            });
            let queued = vm.queue.iter().filter(|m| m.from == from).map(|m| m.seq);
            let flying = state.link(from, to).iter().map(|m| m.seq);
            let order: Vec<u64> = taken.chain(queued).chain(flying).collect();
            order.windows(2).all(|w| w[0] < w[1])
        })
    })
}

/// Each (sender, number, receiver) sent is in exactly one place: taken,
/// queued, on its link or lost in the receiver's crash; and nothing is in
/// any of those places that was not sent.
pub fn messages_are_conserved(state: &SystemState) -> bool {
    let mut count: BTreeMap<(u32, u64, u32), i64> = BTreeMap::new();
    for from in state.ids() {
        for record in &state.vm(from).history {
            if let Event::Send { to, seq, .. } = &record.event {
                for peer in to {
                    *count.entry((from.get(), *seq, peer.get())).or_default() += 1;
                }
            }
        }
    }
    for to in state.ids() {
        let vm = state.vm(to);
        let taken = vm.history.iter().filter_map(|r| match r.event {
            Event::Receive { from, seq, .. } => Some((from, seq)),
            _ => None,
        });
        let queued = vm.queue.iter().map(|m| (m.from, m.seq));
        let lost = vm.lost.iter().copied();
        let flying = state
            .ids()
            .flat_map(|from| state.link(from, to).iter().map(|m| (m.from, m.seq)));
        for (from, seq) in taken.chain(queued).chain(lost).chain(flying) {
            *count.entry((from.get(), seq, to.get())).or_default() -= 1;
        }
    }
    count.values().all(|&c| c == 0)
}

pub fn concurrent_but_ranked(state: &SystemState) -> bool {
    let hb = Causality::of(state);
    let events = hb.events().collect::<Vec<_>>();
    events.iter().any(|&a| {
        events
            .iter()
            .any(|&b| hb.concurrent(a, b) && hb.record(a).stamp.lc < hb.record(b).stamp.lc)
    })
}

pub fn queue_of_two(state: &SystemState) -> bool {
    state.vms.iter().any(|vm| vm.queue.len() >= 2)
}

pub fn receive_jumps(state: &SystemState) -> bool {
    state
        .vms
        .iter()
        .flat_map(|vm| &vm.history)
        .any(|r| matches!(r.event, Event::Receive { jump, .. } if jump > 1))
}
