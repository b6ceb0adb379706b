//! The listening side of a bridge: accepting connections, holding strangers
//! to their handshake deadline and the cap, pausing after failed accepts,
//! and writing WARN lines about all of it within the limiter's bound.
//!
//! The decisions are made by the pure [`HandshakeGate`], [`AcceptBackoff`]
//! and [`WarnLimiter`](crate::warn_limiter::WarnLimiter); this part of the
//! bridge only sets their timers, closes what they say to close, and writes
//! what they say to write. Kept in a file of its own because it is a concern
//! of its own: the frames of identified peers never pass through here.

use super::{Bridge, Held};
use crate::admission::{
    out_of_files, refusal_reason, AcceptBackoff, HANDSHAKE_DEADLINE, HANDSHAKE_TIMEOUT, OVER_CAP,
    STOPPED,
};
use crate::connections::{Expect, FrameOutcome, Rejection};
use crate::messages::ConnId;
use actix::clock::Instant;
use actix::prelude::*;
use futures_util::stream;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

/// What the accept loop hands the bridge.
enum Accepted {
    Conn(TcpStream, SocketAddr),
    /// `accept` failed; the loop pauses `pause` before it tries again.
    Failed {
        error: io::Error,
        pause: Duration,
    },
}

/// What WARN lines about strangers and accept errors are counted as.
const REFUSED: &str = "connections refused";
const FAILED_ACCEPTS: &str = "failed accepts";

impl Bridge {
    /// Starts the accept loop on the VM's listener. After a failed accept
    /// the loop sleeps before the next one, as long as [`AcceptBackoff`]
    /// says.
    pub(super) fn start_accepting(&mut self, listener: TcpListener, ctx: &mut Context<Self>) {
        let accepts = stream::unfold(
            (listener, AcceptBackoff::default(), Duration::ZERO),
            |(listener, mut backoff, pause)| async move {
                if !pause.is_zero() {
                    actix::clock::sleep(pause).await;
                }
                let (accepted, pause) = match listener.accept().await {
                    Ok((stream, addr)) => {
                        backoff.succeeded();
                        (Accepted::Conn(stream, addr), Duration::ZERO)
                    }
                    Err(error) => {
                        let pause = backoff.failed();
                        (Accepted::Failed { error, pause }, pause)
                    }
                };
                Some((accepted, (listener, backoff, pause)))
            },
        );
        self.accepting = Some(ctx.add_stream(accepts));
    }

    /// A connection reached the listener: it enters its handshake if the
    /// gate has room, and is closed at once if not.
    pub(super) fn accept(&mut self, stream: TcpStream, addr: SocketAddr, ctx: &mut Context<Self>) {
        let _ = stream.set_nodelay(true);
        let inbox = ctx.address().recipient();
        let tcp = &mut self.tcp;
        let own = self.setup.vm_id;
        let peers: Vec<_> = self.setup.peers.iter().map(|&(id, _)| id).collect();
        let auth = self.setup.dial.auth.clone();
        let admitted = self.gate.admit(Instant::now(), || match auth {
            // A node: any other node of the cluster may prove itself; the
            // connection table then takes a lower id joining, or any peer
            // coming back after it was lost (a restart dials every peer).
            Some(me) => tcp.open_authenticating(
                stream,
                addr.to_string(),
                me,
                move |vm| vm != own && peers.contains(&vm),
                inbox,
            ),
            None => {
                let (read, write) = stream.into_split();
                tcp.open(read, addr.to_string(), Some(write), inbox)
            }
        });
        match admitted {
            Some(conn) => {
                self.table.opened(conn, Expect::LowerId);
                self.arm_deadlines(ctx);
            }
            // The socket was dropped, unread: closed.
            None => {
                let reason = format!("{OVER_CAP} (at most {})", self.gate.capacity());
                self.stranger_refused(&addr.to_string(), &reason, ctx);
            }
        }
    }

    /// Wakes at the earliest handshake deadline and closes every
    /// connection whose deadline has passed.
    pub(super) fn arm_deadlines(&mut self, ctx: &mut Context<Self>) {
        if let Some(at) = self.gate.arm() {
            ctx.run_later(
                at.saturating_duration_since(Instant::now()),
                |bridge, ctx| {
                    bridge.gate.timer_fired();
                    let reason = format!(
                        "no valid hello within {} s ({HANDSHAKE_TIMEOUT})",
                        HANDSHAKE_DEADLINE.as_secs_f64()
                    );
                    for conn in bridge.gate.expired(Instant::now()) {
                        bridge.close_unidentified(conn, &reason, ctx);
                    }
                    bridge.arm_deadlines(ctx);
                },
            );
        }
    }

    /// Closes a connection that has not said hello, for `reason`.
    pub(super) fn close_unidentified(
        &mut self,
        conn: ConnId,
        reason: &str,
        ctx: &mut Context<Self>,
    ) {
        if let FrameOutcome::Rejected(rejection) = self.table.reject(conn, reason.to_string()) {
            self.rejected(conn, rejection, ctx);
        }
    }

    /// The connection table refused `conn`: close it, and say so.
    pub(super) fn rejected(&mut self, conn: ConnId, rejection: Rejection, ctx: &mut Context<Self>) {
        self.gate.closed(conn);
        let origin = self.tcp.refuse(conn);
        match rejection.peer {
            None => self.stranger_refused(&origin, &rejection.reason, ctx),
            Some(peer) => {
                self.warn(&format!(
                    "closed connection from {origin} (VM {peer}): {}",
                    rejection.reason
                ));
                self.hold(peer, Held::End { orderly: false }, ctx);
            }
        }
    }

    /// A WARN line about a stranger's connection, within the limits.
    pub(super) fn stranger_refused(&mut self, origin: &str, reason: &str, ctx: &mut Context<Self>) {
        self.limited_warn(REFUSED, refusal_reason(reason), ctx, || {
            format!("closed connection from {origin}: {reason}")
        });
    }

    /// One occurrence of `noun`, counted under `reason`: its own line while
    /// the limiter allows, and any summary that is due.
    pub(super) fn limited_warn(
        &mut self,
        noun: &'static str,
        reason: &str,
        ctx: &mut Context<Self>,
        line: impl FnOnce() -> String,
    ) {
        let note = self.warnings.note(Instant::now(), noun, reason);
        if let Some(summary) = note.summary {
            self.warn(&summary);
        }
        if note.full {
            self.warn(&line());
        }
        self.arm_warnings(ctx);
    }

    /// Wakes when the limiter has a summary to write.
    pub(super) fn arm_warnings(&mut self, ctx: &mut Context<Self>) {
        if let Some(at) = self.warnings.arm() {
            ctx.run_later(
                at.saturating_duration_since(Instant::now()),
                |bridge, ctx| {
                    bridge.warnings.timer_fired();
                    for summary in bridge.warnings.due(Instant::now()) {
                        bridge.warn(&summary);
                    }
                    bridge.arm_warnings(ctx);
                },
            );
        }
    }

    pub(super) fn accept_failed(
        &mut self,
        error: &io::Error,
        pause: Duration,
        ctx: &mut Context<Self>,
    ) {
        let hint = if out_of_files(error) {
            " (out of file descriptors: raise ulimit -n or run fewer VMs)"
        } else {
            ""
        };
        self.limited_warn(FAILED_ACCEPTS, &error.to_string(), ctx, || {
            format!(
                "accepting a connection failed: {error}{hint}; pausing accepts for {} ms",
                pause.as_millis()
            )
        });
    }

    /// The VM has stopped: the listener closes, so do the connections still
    /// in their handshake, and whatever the limiter still counts is written
    /// now, ahead of the VM's `stop` line.
    pub(super) fn stop_admitting(&mut self, ctx: &mut Context<Self>) {
        if let Some(accepting) = self.accepting.take() {
            ctx.cancel_future(accepting);
        }
        let reason = format!("{STOPPED} before it said hello");
        for conn in self.gate.close_all() {
            self.close_unidentified(conn, &reason, ctx);
        }
        for summary in self.warnings.flush(Instant::now()) {
            self.warn(&summary);
        }
    }
}

impl StreamHandler<Accepted> for Bridge {
    fn handle(&mut self, accepted: Accepted, ctx: &mut Context<Self>) {
        match accepted {
            Accepted::Conn(stream, addr) => self.accept(stream, addr, ctx),
            Accepted::Failed { error, pause } => self.accept_failed(&error, pause, ctx),
        }
    }

    fn finished(&mut self, _ctx: &mut Context<Self>) {}
}
