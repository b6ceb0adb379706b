//! How the supervisor wires a run: every VM's context and bridge created
//! first (the bridge needs the VM's address, in-process bridges need each
//! other's), then, once every bridge is ready, every VM started with one
//! common start instant, its core, its schedule and the run's stop instant.
//! Kept apart from the supervisor's other work (signals, the stop, the
//! books, the output) because it is the one place that knows how the actors
//! are put together.
//!
//! A node of a cluster builds the same mesh with one VM: its bridge dials
//! the other nodes by name, and the start is agreed between processes
//! whose clocks are not synchronized: each node tells the lowest id when
//! its bridge has every peer ([`Frame::Ready`]); once all have, the lowest
//! id tells every other node to start [`CLUSTER_START_DELAY`] after the
//! word arrives ([`Frame::Start`]), and starts as long after it sent it.
//! The nodes then start apart by no more than the word's one-way transit.
//!
//! In real time, when the process ticks more often than one thread carries
//! with room ([`super::MULTI_THREAD_MIN_TICKS_PER_SECOND`]), the VMs are
//! dealt round one actor thread per core (this one and the supervisor's
//! other `Arbiter`s), each VM on the same thread as its bridge, since they
//! exchange messages every tick. A VM's context
//! cannot leave the thread it is made on, so a VM for another thread is
//! made there, with its bridge, and waits in that thread's [`WAITING_VMS`]
//! until the start. Virtual time keeps every actor on this thread: only
//! its clock is paused.

use super::{Supervisor, STOP_TIMEOUT};
use crate::actors::bridge::{Bridge, BridgeSetup, VmInbox};
use crate::actors::transport::{DialPolicy, Listening, Network, PeerAddress};
use crate::actors::vm::{Vm, VmSetup, PEER_CLOSE_GRACE};
use crate::actors::VmGauges;
use crate::live_progress::{self, LiveProgress};
use crate::logging;
use crate::messages::{ClusterSignal, DropOutgoing, Frame, RunStarted, SendControl};
use actix::clock::Instant;
use actix::prelude::*;
use actix::ArbiterHandle;
use lc_core::model::{derive_seed, VmId, VmModel};
use lc_core::vm_core::VmCore;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// What [`Supervisor::endpoints`] makes: the local VMs' listeners, every VM's address, and
/// the in-process bridges' contexts (none over TCP).
type Endpoints = (
    Vec<Option<Listening>>,
    Vec<PeerAddress>,
    Vec<Context<Bridge>>,
);

/// Time between "every bridge is ready" and the common start instant, so
/// every VM is running before anyone's first tick.
pub(super) const START_MARGIN: Duration = Duration::from_millis(5);
/// The most ticks a second, over the VMs of this process, that wake on
/// their own high-resolution alarm ([`crate::actors::alarm`]); above it
/// they share tokio's 1 ms timer. Each alarm is a wake-up of the actor
/// thread of its own, where tokio's timer wakes every VM due in the same
/// millisecond at once: measured (BENCHMARKS.md), alarms took p99 lateness
/// from about 2 ms to 0.1 to 0.5 ms up to 3,000 ticks/s for some CPU, but
/// at 16,000 ticks/s they saturated the thread (97% against 34%) and made
/// ticks later, not earlier. The limit counts every tick of the process,
/// not of one thread: with the VMs dealt over two threads on two cores,
/// alarms at 3,200 ticks/s a thread (64 VMs at 100/s) competed with the
/// log writer for the cores and made p99 40 ms against 3.6 ms (so alarms
/// and extra threads never go together).
pub(crate) const PRECISE_TIMER_MAX_TICKS_PER_SECOND: u64 = 4_000;
/// How long after the start word the nodes of a cluster start: room for
/// the word to reach every node over a real network.
pub(crate) const CLUSTER_START_DELAY: Duration = Duration::from_millis(250);
/// Seed streams of the bridges' delay draws (VM ids are the model's streams).
const DELAY_STREAM: u64 = 1 << 20;

impl Supervisor {
    /// Creates every VM's context and bridge; the VMs start once every
    /// bridge is ready.
    pub(super) fn build_mesh(&mut self, network: Network, ctx: &mut Context<Self>) {
        let faults = Arc::new(self.spec.faults.clone());
        let node = self.spec.node.clone();
        let (listeners, addresses, bridge_contexts) = self.endpoints(network);
        let mut bridge_contexts = bridge_contexts.into_iter();
        let dial = DialPolicy {
            auth: node.as_ref().map(|node| Arc::new(node.credentials.clone())),
            retry_until: node
                .as_ref()
                .map(|node| Instant::now() + node.connect_timeout),
        };
        let local = self.local.clone();
        for (index, (listener, id)) in listeners.into_iter().zip(local).enumerate() {
            let gauges = Arc::new(VmGauges::default());
            let peers = VmId::all(self.spec.vm_count)
                .filter(|&p| p != id)
                .map(|p| (p, addresses[p.index()].clone()))
                .collect();
            // Everything but the VM's inbox, decided here; the bridge is
            // made where its VM lives.
            let (token, vector_clocks, clock) = (self.token, self.spec.vector_clocks, self.clock);
            let latency = self.spec.latency.clone();
            let delay_seed = derive_seed(self.spec.seed, DELAY_STREAM + u64::from(id));
            let (faults, gauges_of_vm, dial) = (faults.clone(), gauges.clone(), dial.clone());
            let supervisor = ctx.address().recipient();
            let cluster = node.as_ref().map(|_| ctx.address().recipient());
            let log = logging::vm_logger(&self.output.root_log, id);
            let setup = move |vm: VmInbox| BridgeSetup {
                vm_id: id,
                listener,
                peers,
                token,
                vector_clocks,
                latency,
                delay_seed,
                faults,
                vm,
                gauges: gauges_of_vm,
                supervisor,
                dial,
                cluster,
                log,
                clock,
            };
            let (bridge, pending) = match (bridge_contexts.next(), self.thread_of(index)) {
                (Some(bridge_ctx), _) => {
                    let (vm_ctx, inbox) = new_vm();
                    (
                        bridge_ctx.run(Bridge::new(setup(inbox))),
                        PendingVm::Here(vm_ctx),
                    )
                }
                (None, None) => {
                    let (vm_ctx, inbox) = new_vm();
                    (Bridge::new(setup(inbox)).start(), PendingVm::Here(vm_ctx))
                }
                (None, Some(arbiter)) => {
                    let (sent, bridge) = std::sync::mpsc::sync_channel(1);
                    arbiter.spawn_fn(move || {
                        let (vm_ctx, inbox) = new_vm();
                        let bridge = Bridge::new(setup(inbox)).start();
                        WAITING_VMS.with(|waiting| waiting.borrow_mut().insert(id, vm_ctx));
                        let _ = sent.send(bridge);
                    });
                    match bridge.recv() {
                        Ok(bridge) => (bridge, PendingVm::On(arbiter, id)),
                        Err(_) => {
                            self.fail(format!("the thread of VM {id} stopped before it started"));
                            return;
                        }
                    }
                }
            };
            self.mesh.pending.push(pending);
            self.mesh.bridges.push(bridge);
            self.mesh.gauges.push(gauges);
        }
    }

    /// Each local VM's listener (TCP) and every VM's address, and for an in-process mesh the
    /// bridges' contexts, made before the bridges run so that each is given the others'
    /// addresses.
    fn endpoints(&self, network: Network) -> Endpoints {
        let n = self.spec.vm_count as usize;
        let mut bridge_contexts: Vec<Context<Bridge>> = Vec::new();
        let (listeners, addresses) = match network {
            Network::Tcp(listeners) => {
                let stranger_cap = listeners.stranger_cap;
                (
                    listeners
                        .sockets
                        .into_iter()
                        .map(|socket| {
                            Some(Listening {
                                socket,
                                stranger_cap,
                            })
                        })
                        .collect(),
                    match &self.spec.node {
                        Some(node) => VmId::all(self.spec.vm_count)
                            .map(|id| PeerAddress::Tcp(node.addr_of(id).unwrap_or("").into()))
                            .collect(),
                        None => listeners
                            .addrs
                            .iter()
                            .map(|addr| PeerAddress::Tcp(addr.to_string()))
                            .collect(),
                    },
                )
            }
            Network::InProcess => {
                bridge_contexts = (0..n).map(|_| Context::new()).collect();
                let addresses = bridge_contexts
                    .iter()
                    .map(|c| PeerAddress::InProcess(c.address().recipient()))
                    .collect();
                ((0..n).map(|_| None).collect(), addresses)
            }
        };
        (listeners, addresses, bridge_contexts)
    }

    /// Starts every VM of this process, `delay` from now: one common start
    /// instant.
    pub(super) fn start_vms(&mut self, delay: Duration, ctx: &mut Context<Self>) {
        let start = Instant::now() + delay;
        let stop = self.stop_clock.start(start);
        self.stop_at.send_replace(stop);
        let pending = std::mem::take(&mut self.mesh.pending);
        // Virtual time runs on tokio's paused timer; real time on alarms
        // while this process's ticks are few enough to wake one by one.
        let precise_timer = super::precise_timer(&self.spec);
        let faults = Arc::new(self.spec.faults.clone());
        for bridge in &self.mesh.bridges {
            bridge.do_send(RunStarted(start));
        }
        for (index, pending) in pending.into_iter().enumerate() {
            let id = self.local[index];
            let bridge = &self.mesh.bridges[index];
            let model = VmModel::new(
                id,
                self.spec.vm_count,
                self.spec.seed,
                self.spec.internal_probability,
                self.spec.vector_clocks,
            );
            let setup = VmSetup {
                core: VmCore::new(model),
                rate: self.spec.rates[id.index()],
                addr: self.addrs[index].clone(),
                start,
                lead: self.spec.tick_leads[id.index()],
                stop_at: self.stop_at.subscribe(),
                transmit: bridge.clone().recipient(),
                close_outgoing: bridge.clone().recipient(),
                crash: bridge.clone().recipient(),
                reconnect: bridge.clone().recipient(),
                faults: faults.clone(),
                supervisor: ctx.address().recipient(),
                gauges: self.mesh.gauges[index].clone(),
                log: logging::vm_logger(&self.output.root_log, id),
                clock: self.clock,
                precise_timer,
            };
            match pending {
                PendingVm::Here(vm_ctx) => {
                    vm_ctx.run(Vm::new(setup));
                }
                PendingVm::On(arbiter, id) => {
                    arbiter.spawn_fn(move || {
                        let vm_ctx = WAITING_VMS.with(|waiting| waiting.borrow_mut().remove(&id));
                        if let Some(vm_ctx) = vm_ctx {
                            vm_ctx.run(Vm::new(setup));
                        }
                    });
                }
            }
        }
        for fault in &self.faults {
            let local = self.local.iter().position(|&id| id == fault.vm);
            if let Some(bridge) = local.and_then(|index| self.mesh.bridges.get(index)) {
                let bridge = bridge.clone();
                let at = (start + fault.after).saturating_duration_since(Instant::now());
                ctx.run_later(at, move |_, _| bridge.do_send(DropOutgoing));
            }
        }
        let give_up_after = (stop - Instant::now()) + PEER_CLOSE_GRACE + STOP_TIMEOUT;
        ctx.run_later(give_up_after, |supervisor, _| supervisor.finish());
        if self.output.show_progress {
            let progress = LiveProgress::new(self.spec.runtime, self.mesh.gauges.clone());
            self.output.progress = Some(progress);
            ctx.run_interval(live_progress::INTERVAL, move |supervisor, _| {
                if let Some(progress) = &supervisor.output.progress {
                    progress.show(start.elapsed());
                }
            });
        }
    }
}

/// The lowest id of a run: the node that announces the start.
const LEADER: VmId = VmId::literal(1);

impl Supervisor {
    /// Every bridge of this process is connected: start now, or (a node)
    /// take part in the cluster's start.
    pub(super) fn bridges_ready(&mut self, ctx: &mut Context<Self>) {
        let Some(node) = &self.spec.node else {
            self.start_vms(START_MARGIN, ctx);
            return;
        };
        if node.id == LEADER {
            self.mesh.nodes_ready.insert(LEADER);
            self.start_cluster_when_ready(ctx);
        } else if let Some(bridge) = self.mesh.bridges.first() {
            bridge.do_send(SendControl {
                peer: LEADER,
                frame: Frame::Ready,
            });
        }
    }

    /// The lowest id, once every node is ready: the start word to every
    /// other node, and its own start as long after.
    fn start_cluster_when_ready(&mut self, ctx: &mut Context<Self>) {
        let all = self.mesh.nodes_ready.len() == self.spec.vm_count as usize;
        if !all || self.stop_clock.started().is_some() {
            return;
        }
        if let Some(bridge) = self.mesh.bridges.first() {
            for peer in VmId::all(self.spec.vm_count).filter(|&p| p != LEADER) {
                bridge.do_send(SendControl {
                    peer,
                    frame: Frame::Start {
                        delay_us: CLUSTER_START_DELAY.as_micros() as u64,
                    },
                });
            }
        }
        self.start_vms(CLUSTER_START_DELAY, ctx);
    }

    /// What a node still waits for before its start, for the error when
    /// the connect timeout passes first.
    pub(super) fn waiting_for(&self) -> String {
        let Some(node) = &self.spec.node else {
            return format!("{} of {} bridges ready", self.mesh.ready, self.local.len());
        };
        if self.mesh.ready < self.local.len() {
            return format!("VM {} is not connected to every peer yet", node.id);
        }
        if node.id != LEADER {
            return format!(
                "VM {} has every peer but no start word from VM {LEADER}",
                node.id
            );
        }
        let waiting: Vec<String> = VmId::all(self.spec.vm_count)
            .filter(|id| !self.mesh.nodes_ready.contains(id))
            .map(|id| id.to_string())
            .collect();
        format!(
            "VM {LEADER} waits for VM(s) {} to be ready",
            waiting.join(", ")
        )
    }
}

impl Handler<ClusterSignal> for Supervisor {
    type Result = ();

    fn handle(&mut self, signal: ClusterSignal, ctx: &mut Context<Self>) {
        match signal {
            ClusterSignal::Ready(peer) => {
                self.mesh.nodes_ready.insert(peer);
                if self.mesh.nodes_ready.contains(&LEADER) {
                    self.start_cluster_when_ready(ctx);
                }
            }
            ClusterSignal::Start(delay) => {
                if self.stop_clock.started().is_none() && self.mesh.ready == self.local.len() {
                    self.start_vms(delay, ctx);
                }
            }
        }
    }
}

/// A VM created but not started: its context on this thread, or waiting
/// on another thread's arbiter (in [`WAITING_VMS`] there).
pub(super) enum PendingVm {
    Here(Context<Vm>),
    On(ArbiterHandle, VmId),
}

thread_local! {
    /// The VM contexts created on this arbiter's thread, waiting for the
    /// start: a context cannot leave the thread it belongs to.
    static WAITING_VMS: RefCell<HashMap<VmId, Context<Vm>>> = RefCell::new(HashMap::new());
}

/// A new VM context and the inbox its bridge delivers to.
fn new_vm() -> (Context<Vm>, VmInbox) {
    let vm_ctx = Context::<Vm>::new();
    let vm = vm_ctx.address();
    let inbox = VmInbox {
        deliver: vm.clone().recipient(),
        peer_closed: vm.clone().recipient(),
        peer_reopened: vm.clone().recipient(),
        outgoing_closed: vm.recipient(),
    };
    (vm_ctx, inbox)
}

impl Supervisor {
    /// The arbiter that runs the VM at `index` among this process's VMs
    /// (with its bridge), or `None` for this thread: VMs are dealt round
    /// the threads.
    fn thread_of(&self, index: usize) -> Option<ArbiterHandle> {
        let threads = self.threads.len() + 1;
        match index % threads {
            0 => None,
            k => Some(self.threads[k - 1].handle()),
        }
    }
}
