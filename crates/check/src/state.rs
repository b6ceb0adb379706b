//! One state of the checked system: every VM and every link.
//!
//! A VM is its [`VmCore`] (the same core the actors drive), the queue its
//! driver keeps (the actor's mailbox), the ticks it has left and the events
//! it has had. The events are kept per VM, not in one global order, so two
//! schedules that differ only in the order of independent steps reach the
//! *same* state and are explored once; every property is a question about
//! these per-VM histories, which is all a log holds too.
//!
//! The clocks each event carries are a [`Stamp`]: Lamport and vector clock
//! today. The hybrid logical clock, once the model has one, is a third
//! field there (and in the core's events), with its properties beside the
//! others in [`crate::properties`]; nothing else in the state changes.

use crate::link::Link;
use lc_core::model::{Event, Message};
use lc_core::vm_core::VmCore;
use lc_core::vm_id::VmId;
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};

/// The clocks an event's line reports.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Stamp {
    pub lc: u64,
    pub vc: Vec<u64>,
}

/// One event of a VM, as its line would report it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Record {
    pub event: Event,
    /// The queue the line reports: what still waits after the event.
    pub queue: u64,
    /// The messages waiting when the tick fell due.
    pub waiting: u64,
    pub stamp: Stamp,
}

/// One VM: its core, its queue and what it has done.
#[derive(Debug, Clone)]
pub struct VmState {
    pub core: VmCore,
    /// Messages delivered and not yet taken, oldest first.
    pub queue: VecDeque<Message>,
    pub ticks_left: u32,
    /// Whether it has crashed (and restarted) already: a VM crashes once.
    pub crashed: bool,
    pub history: Vec<Record>,
    /// Messages (sender, number) its crash lost from its queue.
    pub lost: Vec<(VmId, u64)>,
}

impl VmState {
    /// The clocks the VM has now (after a reset, zero: not its last event's).
    fn clocks(&self) -> (u64, Option<&[u64]>) {
        (
            self.core.clock(),
            self.core.vector_clock().map(|vc| vc.entries()),
        )
    }
}

/// Two VMs are the same state when everything that decides what they do
/// next, and every property, is the same. Of the core that is its clocks:
/// its counters and message numbers follow from the history; its phase is
/// always "between ticks" between two steps, it holds no message (the
/// checker hands one over only to a tick that waits for it), and its die is
/// never rolled (the checker gives every outcome).
impl PartialEq for VmState {
    fn eq(&self, other: &Self) -> bool {
        self.clocks() == other.clocks()
            && self.queue == other.queue
            && self.ticks_left == other.ticks_left
            && self.crashed == other.crashed
            && self.history == other.history
            && self.lost == other.lost
    }
}

impl Eq for VmState {}

/// Hashes exactly what [`PartialEq`] compares.
impl Hash for VmState {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.clocks().hash(state);
        self.queue.hash(state);
        self.ticks_left.hash(state);
        self.crashed.hash(state);
        self.history.hash(state);
        self.lost.hash(state);
    }
}

/// The whole system: every VM, and every link from one VM to another.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SystemState {
    pub vms: Vec<VmState>,
    /// The link from VM `a` to VM `b` at `a.index() * vm_count + b.index()`
    /// (a VM's link to itself stays empty).
    pub links: Vec<Link>,
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
