//! The stateright model: from a state, the steps the system may take, and
//! where each leads.
//!
//! A step is one of the choices the real system leaves to chance or to
//! timing: a VM ticks (taking the oldest waiting message, or, with an empty
//! queue, any outcome of the die); a link delivers its oldest message into
//! the receiver's queue; with `--crash-reset`, a VM crashes and restarts,
//! once, with its clocks reset. Every tick goes through
//! [`VmCore::tick_with`], the same rule the actors call, with the outcome
//! the checker chose, and a waiting tick gets its message through
//! [`VmCore::deliver`], as the actor hands over the one leaving its mailbox.

use crate::causality::Past;
use crate::link::{InFlight, Link};
use crate::properties::{self, Moves};
use crate::rules::Rules;
use crate::size::Size;
use crate::state::{Broken, Record, Stamp, SystemState, VmState};
use lc_core::faults::{FaultId, RestartClock};
use lc_core::model::{DieOutcome, Event, Message, VmModel};
use lc_core::vm_core::{TickOutcome, VmCore};
use lc_core::vm_id::VmId;
use stateright::{Model, Property};
use std::collections::VecDeque;

/// The fault number a crash is logged under: a check has one crash at most
/// per VM, and its lines name it as a run's settings would name fault 1.
pub const CRASH_FAULT: FaultId = 1;

/// One step of the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// VM `vm` ticks: with `die: None` it takes the message waiting for it,
    /// otherwise its queue is empty and the die shows `die`.
    Tick { vm: VmId, die: Option<DieOutcome> },
    /// The link from `from` to `to` delivers into `to`'s queue.
    Deliver { from: VmId, to: VmId },
    /// `vm` crashes, losing its queue, and restarts with its clocks reset.
    CrashReset { vm: VmId },
}

/// A system of `size`, following `rules`, with or without a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckModel {
    pub size: Size,
    pub crash_reset: bool,
    pub rules: Rules,
    /// Only this property, when set: the search for its shortest
    /// counterexample has no use for the others.
    pub focus: Option<&'static str>,
}

impl CheckModel {
    /// The model as the command checks it: the sound rules.
    pub fn new(size: Size, crash_reset: bool) -> CheckModel {
        CheckModel {
            size,
            crash_reset,
            rules: Rules::Sound,
            focus: None,
        }
    }

    /// The initial state: every VM at zero with all its ticks to take.
    pub fn initial(&self) -> SystemState {
        let count = self.size.vm_count();
        let vms = VmId::all(count)
            .map(|id| VmState {
                // Seed and internal probability are never used: the checker
                // gives every die outcome. Vector clocks are always kept.
                core: VmCore::new(VmModel::new(id, count, 0, 0.0, true)),
                queue: VecDeque::new(),
                ticks_left: self.size.ticks(),
                crashed: false,
                past: Past::empty(count as usize),
                last_lc: None,
                sends: 0,
                last_taken: vec![0; count as usize],
            })
            .collect();
        SystemState {
            rules: self.rules,
            vms,
            links: vec![Link::default(); (count * count) as usize],
            broken: Broken::default(),
            jumped: false,
        }
    }

    /// The die's outcomes for a VM with `peers` peers. With one peer a
    /// send to all is the same send as to that one, so it is left out
    /// rather than explored twice.
    fn die_outcomes(peers: usize) -> impl Iterator<Item = DieOutcome> {
        let all = (peers > 1).then_some(DieOutcome::SendAll);
        (0..peers)
            .map(DieOutcome::SendOne)
            .chain(all)
            .chain([DieOutcome::Internal])
    }
}

/// Where `step` leads from `state`, and the event it makes (a tick's), if
/// it can be taken: what [`Model::next_state`] explores and what a path's
/// replay prints. The checker's own bookkeeping happens here too: each
/// event's causal past, and the properties decided on the step.
pub fn take_step(state: &SystemState, step: Step) -> Option<(SystemState, Option<Record>)> {
    let mut next = state.clone();
    next.jumped = false;
    let mut moves = Moves::default();
    let record = match step {
        Step::Tick { vm, die } => Some(tick(&mut next, vm, die, &mut moves)),
        Step::Deliver { from, to } => {
            deliver(&mut next, from, to)?;
            None
        }
        Step::CrashReset { vm } => {
            crash_reset(&mut next, vm, &mut moves);
            None
        }
    };
    if !properties::conserved_across(state, &next, &moves) {
        next.broken.conserved = true;
    }
    Some((next, record))
}

fn tick(state: &mut SystemState, id: VmId, die: Option<DieOutcome>, moves: &mut Moves) -> Record {
    let rules = state.rules;
    let vm = state.vm_mut(id);
    let waiting = vm.queue.len() as u64;
    let queued = if rules == Rules::DieFirst { 0 } else { waiting };
    let (logged, carried) = match vm
        .core
        .tick_with(queued, die.unwrap_or(DieOutcome::Internal))
    {
        TickOutcome::Event(logged) => (logged, None),
        TickOutcome::AwaitMessage => {
            let taken = match rules {
                Rules::TakeNewest => vm.queue.pop_back(),
                _ => vm.queue.pop_front(),
            };
            let taken = taken.expect("a tick waits only for a queued message");
            let logged = take(&mut vm.core, taken.message, queued, rules);
            (logged, Some(taken.past))
        }
    };
    vm.ticks_left -= 1;
    let vc = vm
        .core
        .vector_clock()
        .map_or_else(Vec::new, |vc| vc.entries().to_vec());
    let record = Record {
        stamp: Stamp {
            lc: logged.event.lc(),
            vc,
        },
        event: logged.event,
        queue: logged.queue,
        waiting,
    };
    witness(state, id, &record, carried.as_ref());
    match &record.event {
        Event::Send { to, seq, lc, vc } => {
            let past = state.vm(id).past.clone();
            for &peer in to {
                moves.sent.push((id, *seq, peer));
                state.link_mut(id, peer).send(InFlight {
                    message: Message {
                        from: id,
                        seq: *seq,
                        lc: *lc,
                        vc: vc.clone(),
                    },
                    past: past.clone(),
                });
            }
        }
        Event::Receive { from, seq, .. } => moves.gone.push((*from, *seq, id)),
        Event::Internal { .. } => {}
    }
    record
}

/// The checker's side of a new event of `id`: its causal past (with
/// `carried`, the past of the send a receive takes), and the "always"
/// properties that are decided on the event, each against that past.
fn witness(state: &mut SystemState, id: VmId, record: &Record, carried: Option<&Past>) {
    let vm = state.vm_mut(id);
    let mut past = vm.past.clone();
    if let Some(sent) = carried {
        past.merge(sent);
    }
    let lc = record.stamp.lc;
    let mut broken = Broken {
        clock_condition: !properties::clock_condition_at(&past, lc),
        tick_takes: !properties::tick_takes_at(record),
        ..Broken::default()
    };
    past.add_event(id, lc);
    broken.vector_clocks = !properties::vector_clock_at(&past, &record.stamp.vc);
    let mut jumped = false;
    match record.event {
        Event::Receive {
            from, seq, jump, ..
        } => {
            let last = &mut vm.last_taken[from.index()];
            broken.fifo_take = !properties::taken_in_order(*last, seq);
            *last = seq;
            jumped = jump > 1;
        }
        Event::Send { .. } => vm.sends += 1,
        Event::Internal { .. } => {}
    }
    vm.past = past;
    vm.last_lc = Some(lc);
    state.broken = state.broken.or(broken);
    state.jumped = jumped;
}

fn deliver(state: &mut SystemState, from: VmId, to: VmId) -> Option<()> {
    let rules = state.rules;
    let link = state.link_mut(from, to);
    let message = match rules {
        Rules::DeliverOutOfOrder => link.deliver_newest(),
        _ => link.deliver_oldest(),
    }?;
    if rules != Rules::LoseOnDelivery {
        state.vm_mut(to).queue.push_back(message);
    }
    Some(())
}

/// The crash and the restart, as the actor goes through them: what
/// leaves the mailbox while the VM is down is handed to the core, which
/// loses it; then the clocks restart from zero. The VM's causal past goes
/// on: its events before the crash still happened before its next.
fn crash_reset(state: &mut SystemState, id: VmId, moves: &mut Moves) {
    let vm = state.vm_mut(id);
    vm.core.crash(CRASH_FAULT);
    while let Some(lost) = vm.queue.pop_front() {
        let queued = vm.queue.len() as u64 + 1;
        moves.gone.push((lost.message.from, lost.message.seq, id));
        let taken = vm.core.deliver(lost.message, queued);
        debug_assert!(taken.is_none(), "a VM that is down takes nothing");
    }
    vm.core.restart(RestartClock::Reset);
    for peer in vm.core.peers().to_vec() {
        vm.core.peer_reopened(peer);
    }
    vm.crashed = true;
}

/// The message a waiting tick takes, through the core's receive rule (or,
/// with [`Rules::SkipMaxOnReceive`], as if the message carried clock 0, so
/// the rule never takes its maximum, and with [`Rules::SkipVectorMerge`] as
/// if it carried a zero vector clock; the line still reports the clock the
/// message carried, as a log of that bug would).
fn take(
    core: &mut VmCore,
    message: Message,
    queued: u64,
    rules: Rules,
) -> lc_core::vm_core::Logged {
    let carried = message.lc;
    let message = match rules {
        Rules::SkipMaxOnReceive => Message { lc: 0, ..message },
        Rules::SkipVectorMerge => Message {
            vc: vec![0; message.vc.len()],
            ..message
        },
        _ => message,
    };
    let mut logged = core
        .deliver(message, queued)
        .expect("a tick that waits takes the message handed to it");
    if let Event::Receive { msg_lc, .. } = &mut logged.event {
        *msg_lc = carried;
    }
    logged
}

/// Every property, "always" ones first.
fn all_properties() -> Vec<Property<CheckModel>> {
    vec![
        Property::always(properties::CLOCK_CONDITION, |_, s| {
            properties::clock_condition(s)
        }),
        Property::always(properties::VECTOR_CLOCKS, |_, s| {
            properties::vector_clocks_characterise(s)
        }),
        Property::always(properties::TICK_TAKES, |_, s| {
            properties::ticks_take_waiting_messages(s)
        }),
        Property::always(properties::FIFO, |_, s| properties::links_are_fifo(s)),
        Property::always(properties::CONSERVED, |_, s| {
            properties::messages_are_conserved(s)
        }),
        Property::sometimes(properties::CONCURRENT_RANKED, |_, s| {
            properties::concurrent_but_ranked(s)
        }),
        Property::sometimes(properties::QUEUE_OF_TWO, |_, s| properties::queue_of_two(s)),
        Property::sometimes(properties::JUMP, |_, s| properties::receive_jumps(s)),
    ]
}

impl Model for CheckModel {
    type State = SystemState;
    type Action = Step;

    fn init_states(&self) -> Vec<SystemState> {
        vec![self.initial()]
    }

    fn actions(&self, state: &SystemState, actions: &mut Vec<Step>) {
        for id in state.ids() {
            let vm = state.vm(id);
            if vm.ticks_left == 0 {
                continue;
            }
            if vm.queue.is_empty() || self.rules == Rules::DieFirst {
                let peers = vm.core.peers().len();
                actions.extend(Self::die_outcomes(peers).map(|die| Step::Tick {
                    vm: id,
                    die: Some(die),
                }));
            } else {
                actions.push(Step::Tick { vm: id, die: None });
            }
        }
        for from in state.ids() {
            for to in state.ids() {
                if !state.link(from, to).is_empty() {
                    actions.push(Step::Deliver { from, to });
                }
            }
        }
        if self.crash_reset {
            for id in state.ids() {
                let vm = state.vm(id);
                if !vm.crashed && vm.ticks_left > 0 {
                    actions.push(Step::CrashReset { vm: id });
                }
            }
        }
    }

    fn next_state(&self, last: &SystemState, step: Step) -> Option<SystemState> {
        take_step(last, step).map(|(next, _)| next)
    }

    fn format_action(&self, step: &Step) -> String {
        match *step {
            Step::Tick { vm, die: None } => format!("VM {vm} ticks and takes its oldest message"),
            Step::Tick { vm, die: Some(die) } => {
                format!("VM {vm} ticks with an empty queue; the die says {die:?}")
            }
            Step::Deliver { from, to } => {
                format!("the link {from} -> {to} delivers its oldest message")
            }
            Step::CrashReset { vm } => {
                format!("VM {vm} crashes and restarts with its clocks reset")
            }
        }
    }

    fn properties(&self) -> Vec<Property<Self>> {
        let mut all = all_properties();
        if let Some(name) = self.focus {
            all.retain(|p| p.name == name);
        }
        all
    }
}
