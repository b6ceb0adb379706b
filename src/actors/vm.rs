//! The VM actor: a [`VmModel`] driven by a tick timer, with its mailbox as
//! the message queue.
//!
//! Between ticks the actor is always inside `ctx.wait(sleep until the next
//! tick)`, and while a context waits actix handles no mailbox message: frames
//! the bridge delivers pile up in the mailbox, which is exactly the queue the
//! model describes. When a tick is due the actor checks the queue gauge
//! (actix cannot report a mailbox's length, so the bridge counts what it
//! puts in): with a message waiting it lets the mailbox run until one
//! [`Deliver`] arrives, takes it, and goes back to waiting; otherwise it rolls
//! the die. Either way exactly one event per tick, at `start + k / rate`.
//!
//! Stopping cannot be a mailbox message (it would sit behind the wait), so
//! the stop instant comes through a watch channel the wait also listens to.
//! At the stop instant the VM stops ticking, asks its bridge to close its
//! outgoing connections, and lets the mailbox drain: frames still in flight
//! land behind the data already queued, each peer's [`PeerClosed`] marker
//! follows its last frame, and once every peer has closed (and the bridge
//! has reported what it dropped, [`OutgoingClosed`]) the VM logs `stop` with
//! the number of messages it never took.

use super::bridge::Bridge;
use super::VmGauges;
use crate::lateness::Lateness;
use crate::logging::{self, EventClock, EventTime};
use crate::messages::{
    CloseOutgoing, Deliver, OutgoingClosed, PeerClosed, Transmit, VmReport, VmStopped,
};
use crate::model::{Event, Message, VmId, VmModel};
use crate::schedule::TickSchedule;
use actix::clock::{sleep_until, Instant};
use actix::prelude::*;
use slog::Logger;
use std::collections::{BTreeSet, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How long after its stop instant a VM waits for peers that never close
/// (a crashed peer) before it logs `stop` anyway.
pub const PEER_CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Where the VM is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the next tick; the mailbox is paused.
    Ticking,
    /// A tick is due and a message is on its way out of the mailbox.
    AwaitingMessage,
    /// Past the stop instant: counting what is left until every peer closes.
    Draining,
    Stopped,
}

/// Everything a VM needs to run, decided by the supervisor.
pub struct VmSetup {
    pub model: VmModel,
    pub rate: u32,
    /// Where the VM listens, as its `start` line says.
    pub addr: String,
    pub start: Instant,
    pub stop_at: watch::Receiver<Instant>,
    pub bridge: Addr<Bridge>,
    pub supervisor: Recipient<VmStopped>,
    pub gauges: Arc<VmGauges>,
    pub log: Logger,
    pub clock: EventClock,
}

/// One virtual machine of the model.
pub struct Vm {
    setup: VmSetup,
    schedule: TickSchedule,
    phase: Phase,
    /// Messages the mailbox handed over when no tick wanted one. The wait
    /// protocol should make this impossible; if it ever happens they are
    /// kept, in order, and taken by the next ticks rather than lost.
    held: VecDeque<Message>,
    closed_peers: BTreeSet<VmId>,
    /// Messages the bridge dropped, once it has closed its connections.
    dropped: Option<u64>,
    max_queue: u64,
    lateness: Lateness,
}

impl Vm {
    pub fn new(setup: VmSetup) -> Self {
        let schedule = TickSchedule::new(setup.start, setup.rate);
        Self {
            setup,
            schedule,
            phase: Phase::Ticking,
            held: VecDeque::new(),
            closed_peers: BTreeSet::new(),
            dropped: None,
            max_queue: 0,
            lateness: Lateness::default(),
        }
    }

    fn id(&self) -> VmId {
        self.setup.model.id()
    }

    fn queued(&self) -> u64 {
        self.setup.gauges.queued.load(Ordering::Acquire)
    }

    /// Pauses the mailbox until the next tick, or until the stop instant
    /// moves (an interrupt); then decides what the tick does.
    fn wait_for_next_tick(&mut self, ctx: &mut Context<Self>) {
        let stop_at = *self.setup.stop_at.borrow_and_update();
        let due = self.schedule.next_due();
        if due > stop_at {
            self.begin_stop(ctx);
            return;
        }
        let mut stop_changes = self.setup.stop_at.clone();
        let wait = async move {
            tokio::select! {
                _ = sleep_until(due) => true,
                changed = stop_changes.changed() => {
                    if changed.is_err() {
                        // The supervisor is gone; keep to the schedule.
                        sleep_until(due).await;
                        return true;
                    }
                    false
                }
            }
        };
        ctx.wait(wait.into_actor(self).map(move |tick_due, vm, ctx| {
            if tick_due {
                vm.lateness
                    .record(Instant::now().saturating_duration_since(due));
                vm.tick(ctx);
            } else {
                vm.wait_for_next_tick(ctx);
            }
        }));
    }

    /// One tick: take a waiting message, or roll the die.
    fn tick(&mut self, ctx: &mut Context<Self>) {
        self.schedule.advance();
        if let Some(message) = self.held.pop_front() {
            self.receive(message, ctx);
        } else if self.queued() > 0 {
            // Let the mailbox run; the `Deliver` handler finishes the tick.
            self.phase = Phase::AwaitingMessage;
        } else {
            let event = self.setup.model.act();
            let at = self.record(&event);
            if let Event::Send { to, seq, lc } = event {
                self.setup.bridge.do_send(Transmit {
                    to,
                    message: Message {
                        from: self.id(),
                        seq,
                        lc,
                    },
                    sent_at: at,
                });
            }
            self.wait_for_next_tick(ctx);
        }
    }

    fn receive(&mut self, message: Message, ctx: &mut Context<Self>) {
        self.setup.gauges.queued.fetch_sub(1, Ordering::AcqRel);
        let event = self.setup.model.receive(message);
        self.record(&event);
        self.phase = Phase::Ticking;
        self.wait_for_next_tick(ctx);
    }

    /// Logs an event and publishes the VM's state for the progress line;
    /// returns the event's time.
    fn record(&mut self, event: &Event) -> EventTime {
        let queue = self.queued();
        self.max_queue = self.max_queue.max(queue);
        self.setup.gauges.clock.store(event.lc(), Ordering::Relaxed);
        let at = self.setup.clock.now();
        logging::log_event(&self.setup.log, at, event, queue);
        at
    }

    fn begin_stop(&mut self, ctx: &mut Context<Self>) {
        self.phase = Phase::Draining;
        self.setup.bridge.do_send(CloseOutgoing);
        ctx.run_later(PEER_CLOSE_GRACE, |vm, ctx| {
            if vm.phase == Phase::Draining {
                let missing: Vec<String> = vm
                    .setup
                    .model
                    .peers()
                    .iter()
                    .filter(|p| !vm.closed_peers.contains(p))
                    .map(ToString::to_string)
                    .collect();
                logging::log_warning(
                    &vm.setup.log,
                    vm.setup.clock.now(),
                    &format!(
                        "stopping after {}s without the end of the stream from peer(s) [{}]{}",
                        PEER_CLOSE_GRACE.as_secs(),
                        missing.join(" "),
                        if vm.dropped.is_none() {
                            " or the bridge's count of dropped messages"
                        } else {
                            ""
                        }
                    ),
                );
                vm.finish_stop(ctx);
            }
        });
        self.finish_stop_if_drained(ctx);
    }

    fn finish_stop_if_drained(&mut self, ctx: &mut Context<Self>) {
        if self.phase == Phase::Draining
            && self.dropped.is_some()
            && self.closed_peers.len() == self.setup.model.peers().len()
        {
            self.finish_stop(ctx);
        }
    }

    fn finish_stop(&mut self, ctx: &mut Context<Self>) {
        self.phase = Phase::Stopped;
        let queue_left = self.queued();
        let counters = self.setup.model.counters();
        let final_clock = self.setup.model.clock();
        let dropped = self.dropped.unwrap_or(0);
        let transit = self
            .setup
            .gauges
            .transit
            .lock()
            .map_or_else(|e| e.into_inner().clone(), |t| t.clone());
        logging::log_stop(
            &self.setup.log,
            self.setup.clock.now(),
            &logging::StopLine {
                counters: &counters,
                queue: queue_left,
                dropped,
                lc: final_clock,
                lateness: &self.lateness,
                transit: &transit,
            },
        );
        self.setup.supervisor.do_send(VmStopped(VmReport {
            vm: self.id(),
            rate: self.setup.rate,
            addr: self.setup.addr.clone(),
            counters,
            final_clock,
            queue_left,
            dropped,
            lateness: self.lateness.clone(),
            transit,
            max_queue: self.max_queue.max(queue_left),
        }));
        ctx.stop();
    }
}

impl Actor for Vm {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // Frames can reach the mailbox before the first tick; the default
        // capacity only limits `try_send`, and the bridge uses `do_send`.
        logging::log_start(
            &self.setup.log,
            self.setup.clock.now(),
            self.setup.rate,
            &self.setup.addr,
        );
        self.wait_for_next_tick(ctx);
    }
}

impl Handler<Deliver> for Vm {
    type Result = ();

    fn handle(&mut self, Deliver(message): Deliver, ctx: &mut Context<Self>) {
        match self.phase {
            Phase::AwaitingMessage => self.receive(message, ctx),
            // Past the stop instant: it stays counted in the queue gauge.
            Phase::Draining | Phase::Stopped => {}
            Phase::Ticking => self.held.push_back(message),
        }
    }
}

impl Handler<PeerClosed> for Vm {
    type Result = ();

    fn handle(&mut self, PeerClosed(peer): PeerClosed, ctx: &mut Context<Self>) {
        self.closed_peers.insert(peer);
        self.finish_stop_if_drained(ctx);
    }
}

impl Handler<OutgoingClosed> for Vm {
    type Result = ();

    fn handle(&mut self, closed: OutgoingClosed, ctx: &mut Context<Self>) {
        self.dropped = Some(closed.dropped);
        self.finish_stop_if_drained(ctx);
    }
}
