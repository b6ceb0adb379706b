//! The socket bridge: one per VM, moving frames between the network and the
//! VM's mailbox.
//!
//! Over TCP every pair of VMs shares one connection, used in both
//! directions: the VM with the lower id dials, the other accepts, and each
//! side opens with its hello, so both ends know and trust the other. That
//! halves the sockets and the set-up work of a full mesh (64 VMs: 2,016
//! connections, not 4,032). Each half of a socket is driven by a task of
//! its own (see [`super::transport`]): the reader posts the peer's frames
//! into this bridge's mailbox as [`Inbound`] messages, the writer sends
//! this VM's frames, a burst in one syscall. In virtual time the same
//! frames travel as [`Inbound`] messages straight from bridge to bridge.
//! Outbound, each [`Transmit`] becomes one frame per recipient. Every data frame becomes
//! a [`Deliver`] in the VM's mailbox, so the mailbox is the queue; with a
//! latency model the bridge first holds each message until its delivery
//! time, keeping every link first-in first-out.
//!
//! What each frame means is decided by the pure [`ConnectionTable`]: each
//! connection must open with a [`Frame::Hello`] carrying the protocol
//! version, the run's secret token and the id of a peer not yet connected;
//! anything else is logged as a WARN and the connection is dropped before a
//! single byte of it can reach the VM. The per-link [`DelayLine`] holds
//! messages for the latency model. When a peer's stream ends, the bridge
//! puts [`PeerClosed`] into the mailbox behind that peer's last message.
//! The bridge itself only moves bytes, time and messages between them.
//! Its two other concerns have files of their own: `admission.rs`, the
//! listening side (accepts, handshake deadlines, the stranger cap, rate-
//! limited WARN lines), and `delays.rs`, the incoming links held in their
//! delay lines until delivery time.
//!
//! Strangers are kept within bounds by the pure [`HandshakeGate`]: a
//! connection that has not said a valid hello within
//! [`crate::admission::HANDSHAKE_DEADLINE`] is closed, and a listener
//! holds only so many connections in their handshake (beyond the peers
//! still expected); one more is closed the moment it is accepted. The
//! accept loop pauses after a failure ([`AcceptBackoff`](crate::admission::AcceptBackoff): 10 ms doubling to
//! 1 s), so a process out of file descriptors waits instead of spinning.
//! WARN lines about strangers and failed accepts pass through a
//! [`WarnLimiter`]: the first few in full, then one counted summary per
//! second, so no stranger can make the log grow faster than a fixed bound.
//! When the VM stops, the listener is closed, the strangers still in their
//! handshake with it, and what the limiter still counts is written.
//!
//! An orderly close ends with [`Frame::Bye`]. A stream that ends without
//! one means the peer was lost mid-run: the bridge logs a WARN, closes its
//! own link to that peer (so the peer's side learns it too), and from then
//! on counts every message for that peer as dropped, reporting the count
//! with [`OutgoingClosed`] when the VM stops. Nothing is discarded without
//! being counted.
//!
//! A node of a cluster ([`lc_settings::cluster`]) has one bridge whose peers are
//! in other processes: it dials them by name with retries and proves
//! itself on every connection ([`super::transport::dial`],
//! [`crate::auth`]), and it carries the nodes' two control frames, a
//! [`Frame::Ready`] or [`Frame::Start`] the supervisor asks it to send
//! ([`SendControl`]) and those its peers send, which it passes on to the
//! supervisor as [`ClusterSignal`]s.
//!
//! Faults ([`lc_core::faults`]) reach the bridge in three ways. A partition
//! is decided on the way in: a message that would enter the mailbox while
//! its link is cut waits in the link's delay line until the window ends
//! (mode "hold"), or is dropped and counted against the partition ("drop").
//! A crash of its own VM ([`Crash`]) drops every connection without a
//! goodbye, so the peers see a lost peer; whatever still arrives on those
//! connections is counted as lost. A restart ([`Reconnect`]) dials every
//! peer again; a peer's bridge takes the hello of a peer it lost, and the
//! link is used again only once both hellos are through, so a message is
//! either sent on a live link or counted as dropped, owed to the crash.

mod admission;
mod delays;

use super::transport::{
    dial, DialPolicy, LinkWatch, Listening, OutgoingLink, PeerAddress, TcpConns, TcpLink,
};
use super::VmGauges;
use crate::admission::HandshakeGate;
use crate::connections::{ConnectionTable, Expect, FrameOutcome};
use crate::logging::{self, EventClock};
use crate::messages::{
    BridgeReady, CloseOutgoing, ClusterSignal, ConnId, Crash, Deliver, DropOutgoing, Frame,
    Inbound, InboundEvent, LinkEnded, OutgoingClosed, PeerClosed, PeerReopened, Reconnect,
    RunStarted, SendControl, Transmit, WriteFailure, PROTOCOL_VERSION,
};
use crate::warn_limiter::WarnLimiter;
use actix::clock::Instant;
use actix::prelude::*;
use lc_core::faults::{FaultId, FaultPlan};
use lc_core::latency::{DelayLine, Latency};
use lc_core::model::{Message, VmId};
use rand::rngs::StdRng;
use rand::SeedableRng;
use slog::Logger;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpListener;

/// The VM's side of the bridge: the messages its mailbox takes.
pub struct VmInbox {
    pub deliver: Recipient<Deliver>,
    pub peer_closed: Recipient<PeerClosed>,
    pub peer_reopened: Recipient<PeerReopened>,
    pub outgoing_closed: Recipient<OutgoingClosed>,
}

/// Everything a bridge needs, decided by the supervisor.
pub struct BridgeSetup {
    pub vm_id: VmId,
    /// The VM's listening socket (TCP only), registered with the runtime
    /// once the bridge starts.
    pub listener: Option<Listening>,
    /// Every other VM and where its bridge is.
    pub peers: Vec<(VmId, PeerAddress)>,
    pub token: u64,
    /// Whether the run keeps vector clocks: every data frame must then
    /// carry one entry per VM, and none otherwise.
    pub vector_clocks: bool,
    pub latency: Latency,
    /// Seeds the delays this bridge draws for its incoming links.
    pub delay_seed: u64,
    /// The run's fault schedule.
    pub faults: Arc<FaultPlan>,
    pub vm: VmInbox,
    pub gauges: Arc<VmGauges>,
    pub supervisor: Recipient<BridgeReady>,
    /// How peers are dialed: once, or (a node) with retries and the
    /// nodes' handshake.
    pub dial: DialPolicy,
    /// A node's supervisor, which takes its peers' control frames.
    pub cluster: Option<Recipient<ClusterSignal>>,
    pub log: Logger,
    pub clock: EventClock,
}

/// What a link holds back until its delivery time.
enum Held {
    /// A message and the time of its send event.
    Message(Message, u64),
    /// The end of the peer's stream; `orderly` when it said goodbye.
    End { orderly: bool },
}

/// The socket bridge of one VM.
pub struct Bridge {
    setup: BridgeSetup,
    delay_rng: StdRng,
    table: ConnectionTable,
    /// Accepted connections still in their handshake.
    gate: HandshakeGate<ConnId, Instant>,
    /// The accept loop, cancelled (closing the listener) when the VM stops.
    accepting: Option<SpawnHandle>,
    warnings: WarnLimiter<Instant>,
    outgoing: BTreeMap<VmId, OutgoingLink>,
    tcp: TcpConns,
    delays: BTreeMap<VmId, DelayLine<Instant, Held>>,
    /// Set once the VM has stopped: delays no longer matter, so whatever is
    /// held goes straight to the mailbox (to be counted as left there).
    released: bool,
    /// The common start, from which the fault schedule counts.
    start: Option<Instant>,
    /// Links dialed after a restart, waiting for the peer's hello.
    rejoining: BTreeMap<VmId, OutgoingLink>,
    /// The VM asked to close while connections from before its crash were
    /// still open, or its links had yet to write what they held: the drop
    /// count is reported once they have ended.
    closing: bool,
    /// The TCP links closed at the stop: until each has written (or lost,
    /// and counted) what it held, the drop count is not final.
    closed_links: Vec<LinkWatch>,
}

impl Bridge {
    pub fn new(setup: BridgeSetup) -> Self {
        let peers = setup.peers.iter().map(|&(id, _)| id).collect();
        // Over TCP only the lower ids dial this VM's listener.
        let dialing_in = setup.peers.iter().filter(|&&(id, _)| id < setup.vm_id);
        let stranger_cap = setup.listener.as_ref().map_or(0, |l| l.stranger_cap);
        Self {
            delay_rng: StdRng::seed_from_u64(setup.delay_seed),
            table: ConnectionTable::new(setup.vm_id, peers, setup.token, setup.vector_clocks),
            gate: HandshakeGate::new(stranger_cap, dialing_in.count()),
            accepting: None,
            warnings: WarnLimiter::default(),
            outgoing: BTreeMap::new(),
            tcp: TcpConns::default(),
            delays: BTreeMap::new(),
            released: false,
            start: None,
            rejoining: BTreeMap::new(),
            closing: false,
            closed_links: Vec::new(),
            setup,
        }
    }

    fn warn(&self, what: &str) {
        logging::log_warning(&self.setup.log, self.setup.clock.now(), what);
    }

    fn report_ready_when_connected(&mut self) {
        if self.table.take_ready() {
            self.setup
                .supervisor
                .do_send(BridgeReady { result: Ok(()) });
        }
    }

    fn connect_to_peers(&mut self, ctx: &mut Context<Self>) {
        let own = self.setup.vm_id;
        for (peer, address) in self.setup.peers.clone() {
            match address {
                PeerAddress::InProcess(bridge) => {
                    self.open_outgoing(peer, OutgoingLink::in_process(own, bridge));
                }
                // A lower id dials us; we answer on its connection.
                PeerAddress::Tcp(_) if peer < own => {}
                PeerAddress::Tcp(addr) => self.dial(
                    peer,
                    addr.clone(),
                    ctx,
                    move |bridge, dialed| match dialed {
                        Ok(link) => bridge.open_outgoing(peer, link),
                        Err(e) => bridge.setup.supervisor.do_send(BridgeReady {
                            result: Err(format!(
                                "VM {own} cannot connect to VM {peer} at {addr}: {e}"
                            )),
                        }),
                    },
                ),
            }
        }
    }

    /// Dials `peer` at `addr`; `then` gets the link (its frames already
    /// read by the bridge) or the error.
    fn dial(
        &mut self,
        peer: VmId,
        addr: String,
        ctx: &mut Context<Self>,
        then: impl FnOnce(&mut Self, Result<OutgoingLink, super::transport::DialError>) + 'static,
    ) {
        let policy = self.setup.dial.clone();
        ctx.spawn(
            async move { dial(&addr, peer, &policy).await }
                .into_actor(self)
                .map(move |result, bridge, ctx| {
                    let dialed = result.map(|stream| bridge.dialed(stream, peer, ctx));
                    then(bridge, dialed);
                }),
        );
    }

    /// A connection this bridge dialed to `peer`: its frames are read, and
    /// its writing half becomes a link.
    fn dialed(
        &mut self,
        stream: tokio::net::TcpStream,
        peer: VmId,
        ctx: &mut Context<Self>,
    ) -> OutgoingLink {
        let origin = stream
            .peer_addr()
            .map_or_else(|_| format!("VM {peer}"), |a| a.to_string());
        let (read, write) = stream.into_split();
        self.read_from(read, origin, Expect::Peer(peer), ctx);
        OutgoingLink::Tcp(TcpLink::spawn(write, peer, ctx.address().recipient()))
    }

    /// After a restart: dials every peer again. Each new link says hello at
    /// once but carries messages only once the peer's hello is back.
    fn reconnect(&mut self, ctx: &mut Context<Self>) {
        let own = self.setup.vm_id;
        for (peer, address) in self.setup.peers.clone() {
            match address {
                PeerAddress::InProcess(bridge) => {
                    let link = self.say_hello(OutgoingLink::in_process(own, bridge));
                    self.rejoining.insert(peer, link);
                }
                PeerAddress::Tcp(addr) => self.dial(
                    peer,
                    addr.clone(),
                    ctx,
                    move |bridge, dialed| match dialed {
                        Ok(link) => {
                            let link = bridge.say_hello(link);
                            bridge.rejoining.insert(peer, link);
                        }
                        Err(e) => bridge.warn(&format!(
                            "cannot reconnect to VM {peer} at {addr} after the restart: {e}; \
                             messages to VM {peer} stay dropped (and counted)"
                        )),
                    },
                ),
            }
        }
    }

    fn say_hello(&self, mut link: OutgoingLink) -> OutgoingLink {
        link.send(
            Frame::Hello {
                version: PROTOCOL_VERSION,
                token: self.setup.token,
                vm: self.setup.vm_id,
            }
            .encode(),
        );
        link
    }

    fn open_outgoing(&mut self, peer: VmId, link: OutgoingLink) {
        let link = self.say_hello(link);
        self.outgoing.insert(peer, link);
        self.table.linked(peer);
        self.report_ready_when_connected();
    }

    /// A lost peer said hello again: the link to it carries messages again
    /// (the one this bridge dialed after its restart, or a new one on the
    /// peer's connection), and the VM waits for the peer's end again.
    fn rejoined(&mut self, peer: VmId, conn: ConnId, ctx: &mut Context<Self>) {
        if let Some(link) = self.rejoining.remove(&peer) {
            self.outgoing.insert(peer, link);
            self.table.linked(peer);
        } else if let Some(write) = self.tcp.claim_writer(conn) {
            let link = TcpLink::spawn(write, peer, ctx.address().recipient());
            self.open_outgoing(peer, OutgoingLink::Tcp(link));
        } else if let Some(PeerAddress::InProcess(bridge)) = self
            .setup
            .peers
            .iter()
            .find(|(id, _)| *id == peer)
            .map(|(_, address)| address.clone())
        {
            self.open_outgoing(peer, OutgoingLink::in_process(self.setup.vm_id, bridge));
        }
        self.setup.vm.peer_reopened.do_send(PeerReopened(peer));
    }

    /// Time since the common start, for the fault schedule.
    fn since_start(&self) -> Option<std::time::Duration> {
        self.start
            .map(|start| Instant::now().saturating_duration_since(start))
    }

    /// Reports the drop count to the VM once nothing more can be dropped
    /// here: the VM asked to close and no connection from before its crash
    /// is still open.
    fn report_drops_when_closed(&mut self) {
        let written = self.closed_links.iter().all(LinkWatch::ended);
        if self.closing && written && self.table.defunct_open() == 0 {
            self.closing = false;
            self.setup.vm.outgoing_closed.do_send(OutgoingClosed {
                dropped: self.table.dropped().clone(),
            });
        }
    }

    /// Starts reading the frames of a connection this bridge dialed.
    fn read_from(
        &mut self,
        read: OwnedReadHalf,
        origin: String,
        expect: Expect,
        ctx: &mut Context<Self>,
    ) {
        let inbox = ctx.address().recipient();
        let conn = self.tcp.open(read, origin, None, inbox);
        self.table.opened(conn, expect);
    }

    fn on_inbound(&mut self, Inbound { conn, event }: Inbound, ctx: &mut Context<Self>) {
        let outcome = match event {
            InboundEvent::Frame(Ok(payload)) => self.table.frame(conn, &payload),
            InboundEvent::Frame(Err(e)) => self.table.reject(conn, format!("read failed: {e}")),
            InboundEvent::Authenticated { peer, writer } => {
                self.tcp.authenticated(conn, writer);
                self.table.authenticated(conn, peer);
                return;
            }
            InboundEvent::AuthFailed(error) => {
                if error.is_fatal() && self.start.is_none() {
                    self.setup.supervisor.do_send(BridgeReady {
                        result: Err(format!("VM {}: {error}", self.setup.vm_id)),
                    });
                }
                self.table.reject(conn, error.to_string())
            }
            InboundEvent::End => {
                self.gate.closed(conn);
                self.tcp.ended(conn);
                if let Some((peer, orderly)) = self.table.ended(conn) {
                    self.hold(peer, Held::End { orderly }, ctx);
                }
                self.report_drops_when_closed();
                return;
            }
        };
        match outcome {
            FrameOutcome::Ignored | FrameOutcome::Bye | FrameOutcome::Lost(_) => {}
            FrameOutcome::Signal(signal) => {
                if let Some(cluster) = &self.setup.cluster {
                    cluster.do_send(signal);
                }
            }
            FrameOutcome::Rejoined(peer) => {
                self.gate.identified(conn);
                self.rejoined(peer, conn, ctx);
            }
            FrameOutcome::Data {
                peer,
                message,
                sent_at,
            } => self.hold(peer, Held::Message(message, sent_at), ctx),
            FrameOutcome::Identified(peer) => {
                self.gate.identified(conn);
                // An accepted TCP connection becomes our link to its peer too.
                if let Some(write) = self.tcp.claim_writer(conn) {
                    let link = TcpLink::spawn(write, peer, ctx.address().recipient());
                    self.open_outgoing(peer, OutgoingLink::Tcp(link));
                }
                self.report_ready_when_connected();
            }
            FrameOutcome::Rejected(rejection) => self.rejected(conn, rejection, ctx),
        }
    }

    /// Stop talking to a lost peer, and tell the VM nothing more will come
    /// from there.
    fn lose_peer(&mut self, peer: VmId) {
        let cause = self
            .since_start()
            .and_then(|t| self.setup.faults.loss_cause(peer, t));
        self.table.lose(peer, cause);
        // It may dial this listener again once it is back.
        self.gate.expect_again();
        if let Some(link) = self.outgoing.remove(&peer) {
            // Orderly on our side: the peer's bridge may still be reading.
            link.close(true);
        }
        self.setup.vm.peer_closed.do_send(PeerClosed(peer));
    }

    /// Closes every link this bridge sends on, those still waiting for a
    /// rejoining peer's hello included.
    fn close_outgoing(&mut self, farewell: bool) {
        let links = std::mem::take(&mut self.outgoing).into_values();
        for link in links.chain(std::mem::take(&mut self.rejoining).into_values()) {
            self.closed_links.extend(link.close(farewell));
        }
    }
}

impl Actor for Bridge {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if let Some(listening) = self.setup.listener.take() {
            let listener = match TcpListener::from_std(listening.socket) {
                Ok(listener) => listener,
                Err(e) => {
                    self.setup.supervisor.do_send(BridgeReady {
                        result: Err(format!("VM {} cannot listen: {e}", self.setup.vm_id)),
                    });
                    return;
                }
            };
            self.start_accepting(listener, ctx);
        }
        self.connect_to_peers(ctx);
    }
}

/// Frames from a connection's reader task, or from an in-process link.
impl Handler<Inbound> for Bridge {
    type Result = ();

    fn handle(&mut self, inbound: Inbound, ctx: &mut Context<Self>) {
        self.on_inbound(inbound, ctx);
    }
}

impl Handler<LinkEnded> for Bridge {
    type Result = ();

    fn handle(&mut self, LinkEnded { peer, failure }: LinkEnded, _ctx: &mut Context<Self>) {
        if let Some(WriteFailure { error, lost }) = failure {
            // The peer takes nothing more on this link: what it lost and
            // every later message for it are dropped, and counted.
            if self
                .outgoing
                .get(&peer)
                .is_some_and(|link| link.tcp_ended())
            {
                self.outgoing.remove(&peer);
            }
            let cause = self
                .since_start()
                .and_then(|t| self.setup.faults.loss_cause(peer, t));
            self.table.write_failed(peer, cause, lost);
            self.warn(&format!(
                "writing to VM {peer} failed: {error}; {lost} message(s) for it dropped, \
                 and every later one"
            ));
        }
        self.report_drops_when_closed();
    }
}

impl Handler<Transmit> for Bridge {
    type Result = ();

    fn handle(&mut self, transmit: Transmit, _ctx: &mut Context<Self>) {
        let Transmit {
            to,
            message,
            sent_at,
        } = transmit;
        let seq = message.seq;
        let frame = Frame::Data { message, sent_at }.encode();
        for peer in to {
            let sent = self
                .outgoing
                .get_mut(&peer)
                .is_some_and(|link| link.send_message(frame.clone()));
            if !sent && self.table.undeliverable(peer) {
                self.warn(&format!(
                    "no open connection to VM {peer}; message {seq} dropped"
                ));
            }
        }
    }
}

impl Handler<SendControl> for Bridge {
    type Result = ();

    fn handle(&mut self, SendControl { peer, frame }: SendControl, _ctx: &mut Context<Self>) {
        let sent = self
            .outgoing
            .get_mut(&peer)
            .is_some_and(|link| link.send(frame.encode()));
        if !sent {
            self.warn(&format!(
                "no open connection to VM {peer}: {frame:?} not sent"
            ));
        }
    }
}

impl Handler<CloseOutgoing> for Bridge {
    type Result = ();

    fn handle(&mut self, _: CloseOutgoing, ctx: &mut Context<Self>) {
        self.stop_admitting(ctx);
        self.close_outgoing(true);
        self.closing = true;
        self.report_drops_when_closed();
        // The VM no longer ticks: whatever is held may enter its mailbox
        // now, where its stop line counts it.
        self.released = true;
        self.release_every_link(true, ctx);
    }
}

impl Handler<DropOutgoing> for Bridge {
    type Result = ();

    fn handle(&mut self, _: DropOutgoing, _ctx: &mut Context<Self>) {
        self.warn("fault injected: dropping every outgoing connection without a goodbye");
        for &peer in self.outgoing.keys() {
            self.table.lose(peer, None);
        }
        self.close_outgoing(false);
    }
}

impl Handler<RunStarted> for Bridge {
    type Result = ();

    fn handle(&mut self, RunStarted(start): RunStarted, _ctx: &mut Context<Self>) {
        self.start = Some(start);
    }
}

impl Handler<Crash> for Bridge {
    type Result = ();

    fn handle(&mut self, Crash { fault }: Crash, ctx: &mut Context<Self>) {
        self.crash(fault, ctx);
    }
}

impl Handler<Reconnect> for Bridge {
    type Result = ();

    fn handle(&mut self, _: Reconnect, ctx: &mut Context<Self>) {
        self.table.restarted();
        self.reconnect(ctx);
    }
}

impl Bridge {
    /// Its VM crashed: every connection goes without a goodbye, and what
    /// the links still hold enters the mailbox now, where the VM (down)
    /// counts it as lost with its queue.
    fn crash(&mut self, fault: FaultId, ctx: &mut Context<Self>) {
        self.table.crashed(fault);
        self.close_outgoing(false);
        self.release_every_link(true, ctx);
    }
}
