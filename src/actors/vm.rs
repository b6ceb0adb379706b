//! The VM actor: a [`VmCore`] driven by a tick timer, with its mailbox as
//! the message queue.
//!
//! Between ticks the actor is always inside `ctx.wait(sleep until the next
//! tick)`, and while a context waits actix handles no mailbox message: frames
//! the bridge delivers pile up in the mailbox, which is exactly the queue the
//! model describes. When a tick is due the actor tells the core how many
//! messages wait (actix cannot report a mailbox's length, so the bridge
//! counts what it puts in, [`VmGauges::queued`]); the core decides. With a
//! message waiting the actor lets the mailbox run until one [`Deliver`]
//! arrives, hands it to the core, and goes back to waiting; otherwise the
//! core has already rolled the die. Either way exactly one event per tick,
//! at `start - lead + k / rate` (the lead is the VM's phase, see
//! [`lc_core::schedule`]).
//!
//! Stopping cannot be a mailbox message (it would sit behind the wait), so
//! the stop instant comes through a watch channel the wait also listens to.
//! At the stop instant the VM stops ticking, asks its bridge to close its
//! outgoing connections, and lets the mailbox drain: frames still in flight
//! land behind the data already queued, each peer's [`PeerClosed`] marker
//! follows its last frame, and once the core says every peer has closed
//! (and the bridge has reported what it dropped, [`OutgoingClosed`]) the VM
//! logs `stop` with the number of messages it never took.
//!
//! Faults ([`lc_core::faults`]) are marks on the same timeline, and the
//! timeline is the core's ([`VmTimeline`], which [`lc_core::simulation`]
//! drives too): it says when to wake next (a fault's start or end before a
//! tick due at the same instant, the tick, the stop), which ticks a pause or
//! crash window skips (not made up later) and what each mark does; the
//! actor sleeps, logs and carries out. A pause keeps the mailbox paused,
//! so it fills; a crash is the one time the VM waits with its mailbox
//! running, because every message that leaves it then is lost (and
//! counted, by the core). At a crash the VM tells its bridge to drop its
//! connections ([`Crash`]); at the restart, to connect again ([`Reconnect`]).

use super::alarm::Alarm;
use super::VmGauges;
use crate::logging::{self, EventClock, EventTime};
use crate::messages::{
    CloseOutgoing, Crash, Deliver, OutgoingClosed, PeerClosed, PeerReopened, Reconnect, Transmit,
    VmStopped,
};
use actix::clock::{sleep_until, Instant};
use actix::prelude::*;
use lc_core::accounting::VmReport;
use lc_core::fault_timeline::{MarkAction, VmTimeline, Wake};
use lc_core::faults::{Fault, FaultPlan, Mark};
use lc_core::lateness::Lateness;
use lc_core::model::{Event, Message};
use lc_core::schedule::first_tick_after;
use lc_core::vm_core::{Logged, TickOutcome, VmCore};
use slog::Logger;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How long after its stop instant a VM waits for peers that never close
/// (a crashed peer) before it logs `stop` anyway.
pub(crate) const PEER_CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Everything a VM needs to run, decided by the supervisor.
pub struct VmSetup {
    pub core: VmCore,
    pub rate: u32,
    /// Where the VM listens, as its `start` line says.
    pub addr: String,
    pub start: Instant,
    /// How far the VM's tick schedule leads the start (its phase).
    pub lead: Duration,
    pub stop_at: watch::Receiver<Instant>,
    /// Its bridge, for outgoing messages and for closing its links.
    pub transmit: Recipient<Transmit>,
    pub close_outgoing: Recipient<CloseOutgoing>,
    pub crash: Recipient<Crash>,
    pub reconnect: Recipient<Reconnect>,
    /// The run's fault schedule; the VM acts on the faults that touch it.
    pub faults: Arc<FaultPlan>,
    pub supervisor: Recipient<VmStopped>,
    pub gauges: Arc<VmGauges>,
    pub log: Logger,
    pub clock: EventClock,
    /// Wake for ticks with a high-resolution [`Alarm`] (real time), not
    /// tokio's 1 ms timer (which virtual time must keep).
    pub precise_timer: bool,
}

/// One virtual machine of the model.
pub struct Vm {
    setup: VmSetup,
    /// Its alarm clock, when it has one (see [`VmSetup::precise_timer`]).
    alarm: Option<Rc<Alarm>>,
    /// Its ticks and fault marks: every decision about when to wake and
    /// what a mark does is the timeline's; the actor sleeps and carries out.
    timeline: VmTimeline,
    lateness: Lateness,
}

impl Vm {
    pub fn new(setup: VmSetup) -> Self {
        let timeline = VmTimeline::new(
            setup.faults.clone(),
            setup.core.id(),
            setup.rate,
            setup.lead,
        );
        Self {
            setup,
            alarm: None,
            timeline,
            lateness: Lateness::default(),
        }
    }

    /// The run clock's instant `since_start` after the common start.
    fn instant(&self, since_start: Duration) -> Instant {
        self.setup.start + since_start
    }

    /// Logs the next fault mark, stamped `at`, and carries out what the
    /// timeline says it does: a crash takes the VM down and its connections
    /// with it, a restart brings both back.
    fn on_mark(&mut self, at: EventTime) {
        let Some(step) = self.timeline.take_mark() else {
            return;
        };
        let (mark, fault) = (step.mark, step.fault.clone());
        match step.action {
            MarkAction::Crash(id) => {
                // Logged first: the line reports the queue the crash loses.
                self.log_fault(at, mark, &fault, None);
                self.setup.core.crash(id);
                self.setup.crash.do_send(Crash { fault: id });
            }
            MarkAction::Restart(clock) => {
                let lost = self.setup.core.restart(clock);
                self.setup.reconnect.do_send(Reconnect);
                self.log_fault(at, mark, &fault, Some(lost));
            }
            MarkAction::Log => self.log_fault(at, mark, &fault, None),
        }
    }

    /// Logs the partition ends a late tick has passed, before its event
    /// (see [`VmTimeline::partition_end_passed`]), stamped with the tick's
    /// own instant: a later reading of the clock would put them after the
    /// event that follows them in the file.
    fn log_partition_ends_passed(&mut self, now: Instant) {
        let since_start = now.saturating_duration_since(self.setup.start);
        let at = self.setup.clock.at(now);
        while self.timeline.partition_end_passed(since_start) {
            self.on_mark(at);
        }
    }

    fn log_fault(&self, at: EventTime, mark: Mark, fault: &Fault, lost: Option<u64>) {
        logging::log_fault(
            &self.setup.log,
            at,
            &logging::FaultLine {
                edge: mark.edge,
                id: mark.fault,
                fault,
                lost,
                queue: self.queued(),
                lc: self.setup.core.clock(),
            },
        );
    }

    fn queued(&self) -> u64 {
        self.setup.gauges.queued.load(Ordering::Acquire)
    }

    /// What to wake for next and when, as the timeline decides it; a stop
    /// instant before the run's start (an interrupt that early) is a stop
    /// before anything else.
    fn next_wake(&mut self, stop_at: Instant) -> (Instant, Wake) {
        let Some(stop) = stop_at.checked_duration_since(self.setup.start) else {
            return (stop_at, Wake::Stop);
        };
        match self.timeline.next_wake(Some(stop)) {
            Some(next) => (self.instant(next.at), next.wake),
            None => (stop_at, Wake::Stop),
        }
    }

    /// Pauses the mailbox until the next tick, or until the stop instant
    /// moves (an interrupt); then lets the core decide what the tick does.
    ///
    /// After its last tick a VM still waits, mailbox paused, until the stop
    /// instant itself: out of phase, its last tick may fall up to a period
    /// before it, and every VM stops at the same instant.
    ///
    /// Fault marks come first at an equal instant; while the VM is down in
    /// a crash it waits with its mailbox running (see the module docs).
    fn wait_for_next_tick(&mut self, ctx: &mut Context<Self>) {
        let stop_at = *self.setup.stop_at.borrow_and_update();
        let (wake_at, wake) = self.next_wake(stop_at);
        if wake == Wake::Stop && Instant::now() >= stop_at {
            self.begin_stop(ctx);
            return;
        }
        let mut stop_changes = self.setup.stop_at.clone();
        let alarm = self.alarm.clone();
        let wait = async move {
            tokio::select! {
                _ = sleep(alarm.as_deref(), wake_at) => true,
                changed = stop_changes.changed() => {
                    if changed.is_err() {
                        // The supervisor is gone; keep to the schedule.
                        sleep(alarm.as_deref(), wake_at).await;
                        return true;
                    }
                    false
                }
            }
        };
        let woke = wait.into_actor(self).map(move |woke_on_time, vm, ctx| {
            if !woke_on_time {
                // The stop instant moved (an interrupt): decide again.
                vm.wait_for_next_tick(ctx);
                return;
            }
            match wake {
                Wake::Mark => {
                    let at = vm.setup.clock.now();
                    vm.on_mark(at);
                    vm.wait_for_next_tick(ctx);
                }
                Wake::Tick => vm.on_tick(wake_at, ctx),
                Wake::Stop => vm.begin_stop(ctx),
            }
        });
        if self.setup.core.down().is_some() {
            ctx.spawn(woke);
        } else {
            ctx.wait(woke);
        }
    }

    /// The tick due at `due` fires.
    fn on_tick(&mut self, due: Instant, ctx: &mut Context<Self>) {
        let now = Instant::now();
        self.log_partition_ends_passed(now);
        self.lateness.record(now.saturating_duration_since(due));
        self.timeline.tick_taken();
        match self.setup.core.tick(self.queued()) {
            TickOutcome::Event(logged) => self.carry_out(logged, now, ctx),
            // Let the mailbox run; the `Deliver` handler finishes the tick.
            TickOutcome::AwaitMessage => {}
        }
    }

    /// Logs the tick's event, hands a send to the bridge, and waits for the
    /// next tick. Takes the event by value so a send's recipients and
    /// vector clock move to the bridge rather than being copied on every
    /// send.
    fn carry_out(&mut self, logged: Logged, now: Instant, ctx: &mut Context<Self>) {
        if logged.took_message() {
            self.setup.gauges.queued.fetch_sub(1, Ordering::AcqRel);
        }
        self.setup
            .gauges
            .clock
            .store(logged.event.lc(), Ordering::Relaxed);
        let at = self.setup.clock.at(now);
        logging::log_event(
            &self.setup.log,
            at,
            &logged.event,
            logged.queue,
            self.setup.core.vector_clock(),
        );
        if let Event::Send { to, seq, lc, vc } = logged.event {
            self.setup.transmit.do_send(Transmit {
                to,
                message: Message {
                    from: self.setup.core.id(),
                    seq,
                    lc,
                    vc,
                },
                sent_at: at,
            });
        }
        self.wait_for_next_tick(ctx);
    }

    fn begin_stop(&mut self, ctx: &mut Context<Self>) {
        self.setup.core.begin_stop();
        self.setup.close_outgoing.do_send(CloseOutgoing);
        ctx.run_later(PEER_CLOSE_GRACE, |vm, ctx| {
            let core = &vm.setup.core;
            if core.phase() != lc_core::vm_core::Phase::Draining {
                return;
            }
            let missing: Vec<String> = core.open_peers().iter().map(ToString::to_string).collect();
            logging::log_warning(
                &vm.setup.log,
                vm.setup.clock.now(),
                &format!(
                    "stopping after {}s without the end of the stream from peer(s) [{}]{}",
                    PEER_CLOSE_GRACE.as_secs(),
                    missing.join(" "),
                    if core.drops_known() {
                        ""
                    } else {
                        " or the bridge's count of dropped messages"
                    }
                ),
            );
            vm.finish_stop(ctx);
        });
        if self.setup.core.may_stop() {
            self.finish_stop(ctx);
        }
    }

    fn finish_stop(&mut self, ctx: &mut Context<Self>) {
        let summary = self.setup.core.stop(self.queued());
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
                counters: &summary.counters,
                queue: summary.queue_left,
                dropped: summary.dropped,
                dropped_by_fault: &summary.dropped_by_fault,
                lc: summary.final_clock,
                lateness: &self.lateness,
                transit: &transit,
            },
        );
        self.setup.supervisor.do_send(VmStopped(VmReport {
            vm: self.setup.core.id(),
            rate: self.setup.rate,
            addr: self.setup.addr.clone(),
            counters: summary.counters,
            final_clock: summary.final_clock,
            queue_left: summary.queue_left,
            dropped: summary.dropped,
            dropped_by_fault: summary.dropped_by_fault,
            lateness: self.lateness.clone(),
            transit,
            max_queue: summary.max_queue,
        }));
        ctx.stop();
    }
}

/// Sleeps until `at`: on the alarm when there is one (tokio's timer if the
/// alarm fails), else on tokio's timer.
async fn sleep(alarm: Option<&Alarm>, at: Instant) {
    if let Some(alarm) = alarm {
        if alarm.sleep_until(at).await.is_ok() {
            return;
        }
    }
    sleep_until(at).await;
}

impl Actor for Vm {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if self.setup.precise_timer {
            match Alarm::new() {
                Ok(alarm) => self.alarm = Some(Rc::new(alarm)),
                Err(e) => logging::log_warning(
                    &self.setup.log,
                    self.setup.clock.now(),
                    &format!("no high-resolution timer ({e}); ticks wake on tokio's 1 ms timer"),
                ),
            }
        }
        // Frames can reach the mailbox before the first tick; the default
        // capacity only limits `try_send`, and the bridge uses `do_send`.
        logging::log_start(
            &self.setup.log,
            self.setup.clock.now(),
            self.setup.rate,
            &self.setup.addr,
            first_tick_after(self.setup.rate, self.setup.lead),
        );
        self.wait_for_next_tick(ctx);
    }
}

impl Handler<Deliver> for Vm {
    type Result = ();

    fn handle(&mut self, Deliver(message): Deliver, ctx: &mut Context<Self>) {
        let down = self.setup.core.down().is_some();
        if let Some(logged) = self.setup.core.deliver(message, self.queued()) {
            self.carry_out(logged, Instant::now(), ctx);
        } else if down {
            // Lost in the crash (the core counted it): no longer queued.
            self.setup.gauges.queued.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Handler<PeerReopened> for Vm {
    type Result = ();

    fn handle(&mut self, PeerReopened(peer): PeerReopened, _ctx: &mut Context<Self>) {
        self.setup.core.peer_reopened(peer);
    }
}

impl Handler<PeerClosed> for Vm {
    type Result = ();

    fn handle(&mut self, PeerClosed(peer): PeerClosed, ctx: &mut Context<Self>) {
        if self.setup.core.peer_closed(peer) {
            self.finish_stop(ctx);
        }
    }
}

impl Handler<OutgoingClosed> for Vm {
    type Result = ();

    fn handle(&mut self, closed: OutgoingClosed, ctx: &mut Context<Self>) {
        if self.setup.core.outgoing_closed(closed.dropped) {
            self.finish_stop(ctx);
        }
    }
}
