//! How the supervisor wires a run: every VM's context and bridge created
//! first (the bridge needs the VM's address, in-process bridges need each
//! other's), then, once every bridge is ready, every VM started with one
//! common start instant, its core, its schedule and the run's stop instant.
//! Kept apart from the supervisor's other work (signals, the stop, the
//! books, the output) because it is the one place that knows how the actors
//! are put together.

use super::{Supervisor, STOP_TIMEOUT};
use crate::actors::bridge::{Bridge, BridgeSetup, VmInbox};
use crate::actors::transport::{Listening, Network, PeerAddress};
use crate::actors::vm::{Vm, VmSetup, PEER_CLOSE_GRACE};
use crate::actors::VmGauges;
use crate::live_progress::{self, LiveProgress};
use crate::logging;
use crate::messages::{DropOutgoing, RunStarted};
use crate::model::{derive_seed, VmId, VmModel};
use crate::vm_core::VmCore;
use actix::clock::Instant;
use actix::prelude::*;
use std::sync::Arc;
use std::time::Duration;

/// Time between "every bridge is ready" and the common start instant, so
/// every VM is running before anyone's first tick.
const START_MARGIN: Duration = Duration::from_millis(5);
/// Seed streams of the bridges' delay draws (VM ids are the model's streams).
const DELAY_STREAM: u64 = 1 << 20;

impl Supervisor {
    /// Creates every VM's context and bridge; the VMs start once every
    /// bridge is ready.
    pub(super) fn build_mesh(&mut self, network: Network, ctx: &mut Context<Self>) {
        let n = self.spec.vm_count as usize;
        let faults = Arc::new(self.spec.faults.clone());
        // In-process bridges are created before they run, so each can be
        // given the others' addresses.
        let mut bridge_contexts: Vec<Context<Bridge>> = Vec::new();
        let (listeners, addresses): (Vec<Option<Listening>>, Vec<PeerAddress>) = match network {
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
                    listeners.addrs.into_iter().map(PeerAddress::Tcp).collect(),
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
        let mut bridge_contexts = bridge_contexts.into_iter();
        for (index, listener) in listeners.into_iter().enumerate() {
            let id = index as VmId + 1;
            let vm_ctx = Context::<Vm>::new();
            let vm = vm_ctx.address();
            let gauges = Arc::new(VmGauges::default());
            let peers = (1..=self.spec.vm_count)
                .filter(|&p| p != id)
                .map(|p| (p, addresses[p as usize - 1].clone()))
                .collect();
            let setup = BridgeSetup {
                vm_id: id,
                listener,
                peers,
                token: self.token,
                vector_clocks: self.spec.vector_clocks,
                latency: self.spec.latency.clone(),
                delay_seed: derive_seed(self.spec.seed, DELAY_STREAM + u64::from(id)),
                faults: faults.clone(),
                vm: VmInbox {
                    deliver: vm.clone().recipient(),
                    peer_closed: vm.clone().recipient(),
                    peer_reopened: vm.clone().recipient(),
                    outgoing_closed: vm.recipient(),
                },
                gauges: gauges.clone(),
                supervisor: ctx.address().recipient(),
                log: logging::vm_logger(&self.output.root_log, id),
                clock: self.clock,
            };
            let bridge = match bridge_contexts.next() {
                Some(bridge_ctx) => bridge_ctx.run(Bridge::new(setup)),
                None => Bridge::new(setup).start(),
            };
            self.mesh.pending.push(vm_ctx);
            self.mesh.bridges.push(bridge);
            self.mesh.gauges.push(gauges);
        }
    }

    /// Starts every VM with one common start instant.
    pub(super) fn start_vms(&mut self, ctx: &mut Context<Self>) {
        let start = Instant::now() + START_MARGIN;
        let stop = self.stop_clock.start(start);
        self.stop_at.send_replace(stop);
        let pending = std::mem::take(&mut self.mesh.pending);
        let faults = Arc::new(self.spec.faults.clone());
        for bridge in &self.mesh.bridges {
            bridge.do_send(RunStarted(start));
        }
        for (index, vm_ctx) in pending.into_iter().enumerate() {
            let id = index as VmId + 1;
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
                rate: self.spec.rates[index],
                addr: self.addrs[index].clone(),
                start,
                lead: self.spec.tick_leads[index],
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
            };
            vm_ctx.run(Vm::new(setup));
        }
        for fault in &self.faults {
            if let Some(bridge) = self.mesh.bridges.get(fault.vm as usize - 1) {
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
