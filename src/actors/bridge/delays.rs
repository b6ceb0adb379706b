//! A bridge's incoming links under the latency model: each message (and
//! the end of each stream) waits in its link's [`DelayLine`] until its
//! delivery time, never overtaking what the link already holds, then enters
//! the VM's mailbox. The delay line decides; this part of the bridge draws
//! the delays, sets the timers and passes items on.

use super::{Bridge, Held};
use crate::messages::{Deliver, PeerClosed};
use actix::clock::Instant;
use actix::prelude::*;
use lc_core::faults::Passage;
use lc_core::latency::DelayLine;
use lc_core::model::VmId;
use std::sync::atomic::Ordering;
use std::time::Duration;

impl Bridge {
    /// Passes a message or the end of a stream on to the VM after the
    /// link's delay, never ahead of what the link already holds.
    ///
    /// A message that would arrive while a partition cuts its link waits
    /// for the window's end, or is dropped and counted (see
    /// [`FaultPlan::passage`](lc_core::faults::FaultPlan::passage)).
    pub(super) fn hold(&mut self, peer: VmId, item: Held, ctx: &mut Context<Self>) {
        let mut delay = match item {
            Held::Message(..) if !self.released => self
                .setup
                .latency
                .of_link(peer, self.setup.vm_id)
                .sample(&mut self.delay_rng),
            _ => Duration::ZERO,
        };
        let now = Instant::now();
        if let (Held::Message(..), false, Some(start)) = (&item, self.released, self.start) {
            let arrival = (now + delay).saturating_duration_since(start);
            match self.setup.faults.passage(peer, self.setup.vm_id, arrival) {
                Passage::DeliverAt(at) => delay = (start + at).saturating_duration_since(now),
                Passage::Dropped(fault) => {
                    self.table.dropped_by(fault);
                    return;
                }
            }
        }
        let line = self.delays.entry(peer).or_default();
        match line.push(now, delay, item) {
            Some(item) => self.pass_on(peer, item, now),
            None => self.arm(peer, ctx),
        }
    }

    pub(super) fn arm(&mut self, peer: VmId, ctx: &mut Context<Self>) {
        if let Some(at) = self.delays.get_mut(&peer).and_then(DelayLine::arm) {
            ctx.run_later(
                at.saturating_duration_since(Instant::now()),
                move |bridge, ctx| {
                    if let Some(line) = bridge.delays.get_mut(&peer) {
                        line.timer_fired();
                    }
                    bridge.release_due(peer, ctx);
                },
            );
        }
    }

    /// Passes on everything on the link that is due (or everything, once
    /// the VM has stopped), then waits for the next.
    pub(super) fn release_due(&mut self, peer: VmId, ctx: &mut Context<Self>) {
        self.release(peer, self.released, ctx);
    }

    /// Passes on what every link holds: what is due, or with `everything`
    /// all of it (the VM has stopped or crashed, so delays no longer matter).
    pub(super) fn release_every_link(&mut self, everything: bool, ctx: &mut Context<Self>) {
        let peers: Vec<VmId> = self.delays.keys().copied().collect();
        for peer in peers {
            self.release(peer, everything, ctx);
        }
    }

    fn release(&mut self, peer: VmId, everything: bool, ctx: &mut Context<Self>) {
        let now = Instant::now();
        while let Some(item) = self
            .delays
            .get_mut(&peer)
            .and_then(|line| line.pop_due(now, everything))
        {
            self.pass_on(peer, item, now);
        }
        self.arm(peer, ctx);
    }

    /// Hands `item` to the VM; `now` is the run clock's instant the caller
    /// read, to stamp the message's transit.
    pub(super) fn pass_on(&mut self, peer: VmId, item: Held, now: Instant) {
        let gauges = &self.setup.gauges;
        match item {
            Held::Message(message, sent_at) => {
                let transit = self.setup.clock.at(now).saturating_sub(sent_at);
                gauges
                    .transit
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .record(Duration::from_micros(transit));
                // Count first: the VM trusts the gauge to know a message
                // is in its mailbox (or on its way there).
                gauges.queued.fetch_add(1, Ordering::AcqRel);
                self.setup.vm.deliver.do_send(Deliver(message));
            }
            Held::End { orderly: true } => self.setup.vm.peer_closed.do_send(PeerClosed(peer)),
            Held::End { orderly: false } => {
                self.warn(&format!(
                    "lost the connection from VM {peer}: it ended without a goodbye; \
                     messages to VM {peer} are dropped (and counted) from now on"
                ));
                self.lose_peer(peer);
            }
        }
    }
}
