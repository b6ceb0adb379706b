//! What `check` holds every state to, and what it must find reachable.
//!
//! "Always" properties are the model's guarantees: a state that breaks one
//! is a counterexample, and the shortest path to it is the run to show.
//! "Sometimes" properties guard the checker itself: each names a situation
//! the guarantees are about (two concurrent events that Lamport's order
//! ranks, a queue of two, a receive that jumps the clock), and if none is
//! reachable the model is too narrow for the guarantees to mean much.
//! Happened-before comes from the checker's [`Past`], never from a clock.
//!
//! A state keeps no events ([`crate::state`]), so a property about pairs
//! of events is decided on the step that makes the second of the pair,
//! against the first one's trace in the new event's past; the functions
//! named `..._at` are those decisions, and a state breaks the property when
//! a step on its way did ([`crate::state::Broken`]). Each is exactly the
//! pairwise property over the events so far: every pair has a later event,
//! and is looked at once, when that event is made. [`crate::model`] names
//! the properties to stateright.

use crate::causality::Past;
use crate::state::{Record, SystemState};
use lc_core::model::Event;
use lc_core::vm_id::VmId;

pub const CLOCK_CONDITION: &str = "clock condition: a -> b implies L(a) < L(b)";
pub const VECTOR_CLOCKS: &str =
    "vector clocks characterise happened-before: a -> b iff V(a) < V(b)";
pub const TICK_TAKES: &str = "a tick with a waiting message takes it";
pub const FIFO: &str = "links are first-in first-out";
pub const CONSERVED: &str = "every message sent is received, queued, in flight or lost in a crash";
pub const CONCURRENT_RANKED: &str = "two concurrent events that Lamport's order ranks";
pub const QUEUE_OF_TWO: &str = "a queue of 2 or more";
pub const JUMP: &str = "a receive that jumps the clock by more than 1";

/// A message to one receiver: (sender, number, receiver).
pub type Addressed = (VmId, u64, VmId);

/// The messages a step sent, and those it took or lost (which leave the
/// queues and links for good, as they should).
#[derive(Debug, Default)]
pub struct Moves {
    pub sent: Vec<Addressed>,
    pub gone: Vec<Addressed>,
}

/// At a new event with Lamport clock `lc`, whose causal past (without it)
/// is `before`: every `a -> b` with `b` the new event has `a` in `before`,
/// so `L(a) < L(b)` for all of them is `max L(before) < lc`.
pub fn clock_condition_at(before: &Past, lc: u64) -> bool {
    before.max_lc.is_none_or(|max| max < lc)
}

/// At a new event whose causal past (with it) is `past`, its vector clock
/// `vc` is the count of each VM's events in that past.
///
/// Why that settles "a -> b iff V(a) < V(b)" for every pair: write G(e)
/// for those counts. A past is a prefix of each VM's history, so a -> b
/// puts a's past strictly inside b's (b is in b's past only): G(a) < G(b).
/// Conversely G(a) <= G(b) with a != b says b's past holds as many events of
/// a's VM as a's does, so it holds a: a -> b. So when every event's clock is
/// its G, as checked here event by event, the iff holds for every pair. It
/// asks for a little more than the iff (a clock with every entry doubled
/// would pass the iff and fail here): it holds the model's vector clock to
/// the Fidge-Mattern clock it claims to be.
pub fn vector_clock_at(past: &Past, vc: &[u64]) -> bool {
    past.events == vc
}

/// A tick with messages waiting made a receive.
pub fn tick_takes_at(record: &Record) -> bool {
    record.waiting == 0 || matches!(record.event, Event::Receive { .. })
}

/// A receive of message `seq` on a link where `last` was the last taken (0
/// for none): what it takes comes after.
pub fn taken_in_order(last: u64, seq: u64) -> bool {
    seq > last
}

/// The messages in queues and on links, sorted.
fn located(state: &SystemState) -> Vec<Addressed> {
    let mut all = Vec::new();
    for to in state.ids() {
        let queued = state.vm(to).queue.iter().map(|m| &m.message);
        let flying = state.ids().flat_map(|from| state.link(from, to).iter());
        all.extend(queued.chain(flying).map(|m| (m.from, m.seq, to)));
    }
    all.sort_unstable();
    all
}

/// Across one step from `before` to `after`: what is in the queues and on
/// the links changed by exactly what the step sent, took and lost. From the
/// initial state, where nothing is anywhere, that is at every step "each
/// message sent is in exactly one place (taken, queued, on its link or lost)
/// and nothing is anywhere that was not sent".
pub fn conserved_across(before: &SystemState, after: &SystemState, moves: &Moves) -> bool {
    let mut was = located(before);
    was.extend(&moves.sent);
    was.sort_unstable();
    let mut is = located(after);
    is.extend(&moves.gone);
    is.sort_unstable();
    was == is
}

pub fn clock_condition(state: &SystemState) -> bool {
    !state.broken.clock_condition
}

pub fn vector_clocks_characterise(state: &SystemState) -> bool {
    !state.broken.vector_clocks
}

pub fn ticks_take_waiting_messages(state: &SystemState) -> bool {
    !state.broken.tick_takes
}

/// On every link, the last message the receiver took, then what waits in
/// its queue, then what is still on the link, is in the order the sender
/// sent it; and every take came after the one before ([`taken_in_order`]).
pub fn links_are_fifo(state: &SystemState) -> bool {
    !state.broken.fifo_take
        && state.ids().all(|to| {
            let vm = state.vm(to);
            state.ids().filter(|&from| from != to).all(|from| {
                let last = Some(vm.last_taken[from.index()]).filter(|&seq| seq > 0);
                let queued = vm
                    .queue
                    .iter()
                    .filter(|m| m.message.from == from)
                    .map(|m| m.message.seq);
                let flying = state.link(from, to).iter().map(|m| m.seq);
                let order: Vec<u64> = last.into_iter().chain(queued).chain(flying).collect();
                order.windows(2).all(|w| w[0] < w[1])
            })
        })
}

pub fn messages_are_conserved(state: &SystemState) -> bool {
    !state.broken.conserved
}

/// Two VMs whose latest events are concurrent and carry different Lamport
/// clocks. A witness, not a census: only latest events are looked at (when
/// the later of two concurrent events is made, the other VM's latest event
/// is concurrent with it too, though its clock may be another), so this is
/// reached no sooner than the property over every pair, and what it reaches
/// is a real such pair.
pub fn concurrent_but_ranked(state: &SystemState) -> bool {
    state.ids().any(|a| {
        state.ids().any(|b| {
            let (va, vb) = (state.vm(a), state.vm(b));
            va.past.latest_concurrent(a, &vb.past, b) && va.last_lc != vb.last_lc
        })
    })
}

pub fn queue_of_two(state: &SystemState) -> bool {
    state.vms.iter().any(|vm| vm.queue.len() >= 2)
}

pub fn receive_jumps(state: &SystemState) -> bool {
    state.jumped
}
