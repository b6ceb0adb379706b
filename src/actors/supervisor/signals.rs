//! How the supervisor hears SIGINT, SIGTERM and SIGHUP, in either clock.
//!
//! tokio's signals are delivered by a runtime's I/O driver. A real-time run
//! has one, and its signals arrive on the supervisor's own thread. A
//! virtual-time run's runtime is built without one (`run.rs`): with a
//! driver, every timer a VM sets wrote to the driver's eventfd to wake it,
//! a system call per tick and a fifth of a virtual run's time (BENCHMARKS.md,
//! round 2). There the signals are awaited on a small thread with a runtime
//! of its own and handed over through a channel; the thread ends when the
//! supervisor, and with it the channel, is gone. Either way the supervisor
//! sees one stream of [`Interrupt`]s. `experiment` watches the same way for
//! its whole study ([`watch_on_a_thread`]): once a run has watched a signal,
//! its default action is gone for good, so one that came while no trial
//! ran (its analysis under way) would otherwise be lost.

use super::Supervisor;
use crate::stop_clock::Interrupt;
use actix::prelude::*;
use futures_util::stream::{self, StreamExt};
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::mpsc;

/// The signals that stop a run, and what each is called.
fn stopping_signals() -> [(SignalKind, Interrupt); 3] {
    [
        (SignalKind::interrupt(), Interrupt::Sigint),
        (SignalKind::terminate(), Interrupt::Sigterm),
        (SignalKind::hangup(), Interrupt::Sighup),
    ]
}

/// Every delivery of `signal`, as `interrupt`.
fn deliveries(signal: Signal, interrupt: Interrupt) -> impl Stream<Item = Interrupt> {
    stream::unfold(signal, |mut signal| async move {
        signal.recv().await?;
        Some(((), signal))
    })
    .map(move |()| interrupt)
}

/// Hands every stopping signal to the supervisor as an [`Interrupt`].
/// `runtime_has_io` says whether the supervisor's runtime has an I/O driver
/// to deliver them; without one they are awaited on a thread of their own.
pub(crate) fn watch(ctx: &mut Context<Supervisor>, runtime_has_io: bool) {
    if runtime_has_io {
        for (kind, interrupt) in stopping_signals() {
            // A signal that cannot be watched (none known) keeps its default.
            if let Ok(signal) = signal(kind) {
                ctx.add_stream(deliveries(signal, interrupt));
            }
        }
        return;
    }
    if let Some(receiver) = watch_on_a_thread() {
        ctx.add_stream(stream::unfold(receiver, |mut receiver| async move {
            let interrupt = receiver.recv().await?;
            Some((interrupt, receiver))
        }));
    }
}

/// Every stopping signal from now on, through a channel fed by a thread of
/// its own, which ends once the receiver is gone; `None` when no thread
/// could be started (the signals then keep their default).
pub(crate) fn watch_on_a_thread() -> Option<mpsc::UnboundedReceiver<Interrupt>> {
    let (sender, receiver) = mpsc::unbounded_channel();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || watch_on_this_thread(sender))
        .ok()?;
    Some(receiver)
}

/// Runs until the supervisor's end of `sender` is gone, sending every
/// stopping signal through it.
fn watch_on_this_thread(sender: mpsc::UnboundedSender<Interrupt>) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
    else {
        return;
    };
    runtime.block_on(async {
        let signals = stopping_signals()
            .into_iter()
            .filter_map(|(kind, interrupt)| {
                Some(deliveries(signal(kind).ok()?, interrupt).boxed())
            });
        let mut interrupts = stream::select_all(signals);
        loop {
            tokio::select! {
                Some(interrupt) = interrupts.next() => {
                    if sender.send(interrupt).is_err() {
                        return;
                    }
                }
                () = sender.closed() => return,
            }
        }
    });
}
