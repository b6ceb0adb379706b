//! One state of the checked system: every VM and every link, and no more
//! than decides what can happen next and whether a property holds.
//!
//! A VM is its [`VmCore`] (the same core the actors drive), the queue its
//! driver keeps (the actor's mailbox), the ticks it has left and the
//! checker's own record of its causal past ([`Past`]). Its events are *not*
//! kept: every "always" property is checked on the step that makes an event
//! (the verdict kept in [`Broken`]), from what the past holds, so two
//! schedules whose futures are equal reach the same state and are explored
//! once. That is what keeps three VMs checkable; a history per VM made
//! every order of independent steps a state of its own.
//!
//! The events of a path are still there to print: stateright rebuilds a
//! path by replaying its steps from the initial state, and
//! [`crate::model::take_step`] gives each step's event as it replays
//! ([`crate::counterexample`]). The rules the system follows are part of
//! the state for that reason: a path replays by itself.

use crate::causality::Past;
use crate::link::{InFlight, Link};
use crate::rules::Rules;
use lc_core::model::Event;
use lc_core::vm_core::VmCore;
use lc_core::vm_id::VmId;
use std::collections::VecDeque;

/// The clocks an event's line reports.
///
/// Lamport and vector clock today. The hybrid logical clock, once the model
/// has one, is a third field here (and in the core's events), with its
/// properties beside the others in [`crate::properties`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Stamp {
    pub lc: u64,
    pub vc: Vec<u64>,
}

/// One event of a VM, as its line would report it: what a tick step makes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Record {
    pub event: Event,
    /// The queue the line reports: what still waits after the event.
    pub queue: u64,
    /// The messages waiting when the tick fell due.
    pub waiting: u64,
    pub stamp: Stamp,
}

/// The "always" properties a step has broken so far. Sticky: a state
/// breaks a property when the run that reached it did, as a state holding
/// that run's events would.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Broken {
    pub clock_condition: bool,
    pub vector_clocks: bool,
    pub tick_takes: bool,
    /// A receive took a message older than one already taken on its link
    /// (the rest of first-in first-out is read from the queues and links).
    pub fifo_take: bool,
    pub conserved: bool,
}

impl Broken {
    /// Broken here or there.
    pub fn or(self, other: Broken) -> Broken {
        Broken {
            clock_condition: self.clock_condition || other.clock_condition,
            vector_clocks: self.vector_clocks || other.vector_clocks,
            tick_takes: self.tick_takes || other.tick_takes,
            fifo_take: self.fifo_take || other.fifo_take,
            conserved: self.conserved || other.conserved,
        }
    }
}

/// One VM: its core, its queue and its causal past.
#[derive(Debug, Clone)]
pub struct VmState {
    pub core: VmCore,
    /// Messages delivered and not yet taken, oldest first.
    pub queue: VecDeque<InFlight>,
    pub ticks_left: u32,
    /// Whether it has crashed (and restarted) already: a VM crashes once.
    pub crashed: bool,
    /// The causal past of its latest event (empty before the first).
    pub past: Past,
    /// The Lamport clock of its latest event: after a reset the core's
    /// clock is 0 until the next event, and the latest event kept its own.
    pub last_lc: Option<u64>,
    /// Messages it has sent: the core numbers the next one from this, and
    /// the core does not say.
    pub sends: u64,
    /// Per sender (by index), the number of the last message taken from it
    /// (0 before any: message numbers start at 1).
    pub last_taken: Vec<u64>,
}

/// The whole system: every VM, every link from one VM to another, and what
/// the steps so far have broken.
///
/// Two states are equal (and hash alike) when one is the other with the
/// VMs renamed ([`crate::symmetry`]), comparing everything that decides
/// what a VM does next and every property. Of a core that is its clocks
/// and its message number (in [`VmState::sends`]); its counters only feed
/// its `stop` line, which the replay of a path writes; its phase is always
/// "between ticks" between two steps, it holds no message (the checker
/// hands one over only to a tick that waits for it), and its die is never
/// rolled (the checker gives every outcome).
#[derive(Debug, Clone)]
pub struct SystemState {
    /// The same in every state of a check.
    pub rules: Rules,
    pub vms: Vec<VmState>,
    /// The link from VM `a` to VM `b` at `a.index() * vm_count + b.index()`
    /// (a VM's link to itself stays empty).
    pub links: Vec<Link>,
    pub broken: Broken,
    /// The step into this state was a receive that jumped the clock by more
    /// than 1. Not sticky: it only has to be seen once.
    pub jumped: bool,
}

impl SystemState {
    pub fn vm(&self, id: VmId) -> &VmState {
        &self.vms[id.index()]
    }

    pub fn vm_mut(&mut self, id: VmId) -> &mut VmState {
        &mut self.vms[id.index()]
    }

    pub fn link(&self, from: VmId, to: VmId) -> &Link {
        &self.links[from.index() * self.vms.len() + to.index()]
    }

    pub fn link_mut(&mut self, from: VmId, to: VmId) -> &mut Link {
        let count = self.vms.len();
        &mut self.links[from.index() * count + to.index()]
    }

    /// Every VM's id, in order.
    pub fn ids(&self) -> impl Iterator<Item = VmId> + Clone {
        VmId::all(self.vms.len() as u32)
    }
}
