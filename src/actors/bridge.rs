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
//!
//! An orderly close ends with [`Frame::Bye`]. A stream that ends without
//! one means the peer was lost mid-run: the bridge logs a WARN, closes its
//! own link to that peer (so the peer's side learns it too), and from then
//! on counts every message for that peer as dropped, reporting the count
//! with [`OutgoingClosed`] when the VM stops. Nothing is discarded without
//! being counted.

use super::transport::{connect, OutgoingLink, PeerAddress, TcpConns, TcpLink};
use super::VmGauges;
use crate::connections::{ConnectionTable, Expect, FrameOutcome};
use crate::latency::{DelayLine, Latency};
use crate::logging::{self, EventClock};
use crate::messages::{
    BridgeReady, CloseOutgoing, Deliver, DropOutgoing, Frame, Inbound, InboundEvent, LinkFailed,
    OutgoingClosed, PeerClosed, Transmit, PROTOCOL_VERSION,
};
use crate::model::{Message, VmId};
use actix::clock::Instant;
use actix::prelude::*;
use futures_util::stream;
use rand::rngs::StdRng;
use rand::SeedableRng;
use slog::Logger;
use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

/// The VM's side of the bridge: the messages its mailbox takes.
pub struct VmInbox {
    pub deliver: Recipient<Deliver>,
    pub peer_closed: Recipient<PeerClosed>,
    pub outgoing_closed: Recipient<OutgoingClosed>,
}

/// Everything a bridge needs, decided by the supervisor.
pub struct BridgeSetup {
    pub vm_id: VmId,
    /// The VM's listening socket (TCP only), registered with the runtime
    /// once the bridge starts.
    pub listener: Option<std::net::TcpListener>,
    /// Every other VM and where its bridge is.
    pub peers: Vec<(VmId, PeerAddress)>,
    pub token: u64,
    pub latency: Latency,
    /// Seeds the delays this bridge draws for its incoming links.
    pub delay_seed: u64,
    pub vm: VmInbox,
    pub gauges: Arc<VmGauges>,
    pub supervisor: Recipient<BridgeReady>,
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
    outgoing: BTreeMap<VmId, OutgoingLink>,
    tcp: TcpConns,
    delays: BTreeMap<VmId, DelayLine<Instant, Held>>,
    /// Set once the VM has stopped: delays no longer matter, so whatever is
    /// held goes straight to the mailbox (to be counted as left there).
    released: bool,
}

impl Bridge {
    pub fn new(setup: BridgeSetup) -> Self {
        let peers = setup.peers.iter().map(|&(id, _)| id).collect();
        Self {
            delay_rng: StdRng::seed_from_u64(setup.delay_seed),
            table: ConnectionTable::new(setup.vm_id, peers, setup.token),
            outgoing: BTreeMap::new(),
            tcp: TcpConns::default(),
            delays: BTreeMap::new(),
            released: false,
            setup,
        }
    }

    fn warn(&self, what: &str) {
        logging::log_warning(&self.setup.log, self.setup.clock.now(), what);
    }

    fn report_ready_when_connected(&mut self) {
        if self.table.take_ready() {
            self.setup.supervisor.do_send(BridgeReady {
                vm: self.setup.vm_id,
                result: Ok(()),
            });
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
                PeerAddress::Tcp(addr) => {
                    ctx.spawn(
                        connect(addr).into_actor(self).map(
                            move |result, bridge, ctx| match result {
                                Ok(stream) => {
                                    let (read, write) = stream.into_split();
                                    let origin = addr.to_string();
                                    bridge.read_from(read, origin, Expect::Peer(peer), None, ctx);
                                    let link =
                                        TcpLink::spawn(write, peer, ctx.address().recipient());
                                    bridge.open_outgoing(peer, OutgoingLink::Tcp(link));
                                }
                                Err(e) => bridge.setup.supervisor.do_send(BridgeReady {
                                    vm: own,
                                    result: Err(format!(
                                        "VM {own} cannot connect to VM {peer} at {addr}: {e}"
                                    )),
                                }),
                            },
                        ),
                    );
                }
            }
        }
    }

    fn open_outgoing(&mut self, peer: VmId, mut link: OutgoingLink) {
        link.send(
            Frame::Hello {
                version: PROTOCOL_VERSION,
                token: self.setup.token,
                vm: self.setup.vm_id,
            }
            .encode(),
        );
        self.outgoing.insert(peer, link);
        self.table.linked(peer);
        self.report_ready_when_connected();
    }

    fn accept(&mut self, stream: TcpStream, addr: SocketAddr, ctx: &mut Context<Self>) {
        let _ = stream.set_nodelay(true);
        let (read, write) = stream.into_split();
        self.read_from(read, addr.to_string(), Expect::LowerId, Some(write), ctx);
    }

    /// Starts reading one TCP connection's frames.
    fn read_from(
        &mut self,
        read: OwnedReadHalf,
        origin: String,
        expect: Expect,
        unclaimed_writer: Option<OwnedWriteHalf>,
        ctx: &mut Context<Self>,
    ) {
        let inbox = ctx.address().recipient();
        let conn = self.tcp.open(read, origin, unclaimed_writer, inbox);
        self.table.opened(conn, expect);
    }

    fn on_inbound(&mut self, Inbound { conn, event }: Inbound, ctx: &mut Context<Self>) {
        let outcome = match event {
            InboundEvent::Frame(Ok(payload)) => self.table.frame(conn, &payload),
            InboundEvent::Frame(Err(e)) => self.table.reject(conn, format!("read failed: {e}")),
            InboundEvent::End => {
                self.tcp.ended(conn);
                if let Some((peer, orderly)) = self.table.ended(conn) {
                    self.hold(peer, Held::End { orderly }, ctx);
                }
                return;
            }
        };
        match outcome {
            FrameOutcome::Ignored | FrameOutcome::Bye => {}
            FrameOutcome::Data {
                peer,
                message,
                sent_at,
            } => self.hold(peer, Held::Message(message, sent_at), ctx),
            FrameOutcome::Identified(peer) => {
                // An accepted TCP connection becomes our link to its peer too.
                if let Some(write) = self.tcp.claim_writer(conn) {
                    let link = TcpLink::spawn(write, peer, ctx.address().recipient());
                    self.open_outgoing(peer, OutgoingLink::Tcp(link));
                }
                self.report_ready_when_connected();
            }
            FrameOutcome::Rejected(rejection) => {
                let origin = self.tcp.refuse(conn);
                let who = rejection
                    .peer
                    .map_or(String::new(), |p| format!(" (VM {p})"));
                self.warn(&format!(
                    "closed connection from {origin}{who}: {}",
                    rejection.reason
                ));
                if let Some(peer) = rejection.peer {
                    self.hold(peer, Held::End { orderly: false }, ctx);
                }
            }
        }
    }

    /// Passes a message or the end of a stream on to the VM after the
    /// link's delay, never ahead of what the link already holds.
    fn hold(&mut self, peer: VmId, item: Held, ctx: &mut Context<Self>) {
        let delay = match item {
            Held::Message(..) if !self.released => self
                .setup
                .latency
                .of_link(peer, self.setup.vm_id)
                .sample(&mut self.delay_rng),
            _ => Duration::ZERO,
        };
        let line = self.delays.entry(peer).or_default();
        match line.push(Instant::now(), delay, item) {
            Some(item) => self.pass_on(peer, item),
            None => self.arm(peer, ctx),
        }
    }

    fn arm(&mut self, peer: VmId, ctx: &mut Context<Self>) {
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
    fn release_due(&mut self, peer: VmId, ctx: &mut Context<Self>) {
        let now = Instant::now();
        let released = self.released;
        while let Some(item) = self
            .delays
            .get_mut(&peer)
            .and_then(|line| line.pop_due(now, released))
        {
            self.pass_on(peer, item);
        }
        self.arm(peer, ctx);
    }

    fn pass_on(&mut self, peer: VmId, item: Held) {
        let gauges = &self.setup.gauges;
        match item {
            Held::Message(message, sent_at) => {
                let transit = self.setup.clock.now().saturating_sub(sent_at);
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

    /// Stop talking to a lost peer, and tell the VM nothing more will come
    /// from there.
    fn lose_peer(&mut self, peer: VmId) {
        self.table.lose(peer);
        if let Some(link) = self.outgoing.remove(&peer) {
            // Orderly on our side: the peer's bridge may still be reading.
            link.close(true);
        }
        self.setup.vm.peer_closed.do_send(PeerClosed(peer));
    }

    fn close_outgoing(&mut self, farewell: bool) {
        for (_, link) in std::mem::take(&mut self.outgoing) {
            link.close(farewell);
        }
    }
}

impl Actor for Bridge {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if let Some(listener) = self.setup.listener.take() {
            let listener = match TcpListener::from_std(listener) {
                Ok(listener) => listener,
                Err(e) => {
                    self.setup.supervisor.do_send(BridgeReady {
                        vm: self.setup.vm_id,
                        result: Err(format!("VM {} cannot listen: {e}", self.setup.vm_id)),
                    });
                    return;
                }
            };
            let accepts = stream::unfold(listener, |listener| async move {
                let accepted = listener.accept().await;
                Some((accepted, listener))
            });
            ctx.add_stream(accepts);
        }
        self.connect_to_peers(ctx);
    }
}

impl StreamHandler<io::Result<(TcpStream, SocketAddr)>> for Bridge {
    fn handle(&mut self, accepted: io::Result<(TcpStream, SocketAddr)>, ctx: &mut Context<Self>) {
        match accepted {
            Ok((stream, addr)) => self.accept(stream, addr, ctx),
            Err(e) => self.warn(&format!("accepting a connection failed: {e}")),
        }
    }

    fn finished(&mut self, _ctx: &mut Context<Self>) {}
}

/// Frames from a connection's reader task, or from an in-process link.
impl Handler<Inbound> for Bridge {
    type Result = ();

    fn handle(&mut self, inbound: Inbound, ctx: &mut Context<Self>) {
        self.on_inbound(inbound, ctx);
    }
}

impl Handler<LinkFailed> for Bridge {
    type Result = ();

    fn handle(&mut self, LinkFailed { peer, error }: LinkFailed, _ctx: &mut Context<Self>) {
        self.warn(&format!("writing to VM {peer} failed: {error}"));
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
        let frame = Frame::Data { message, sent_at }.encode();
        for peer in to {
            let sent = self
                .outgoing
                .get_mut(&peer)
                .is_some_and(|link| link.send(frame.clone()));
            if !sent && self.table.undeliverable(peer) {
                self.warn(&format!(
                    "no open connection to VM {peer}; message {} dropped",
                    message.seq
                ));
            }
        }
    }
}

impl Handler<CloseOutgoing> for Bridge {
    type Result = ();

    fn handle(&mut self, _: CloseOutgoing, ctx: &mut Context<Self>) {
        self.close_outgoing(true);
        self.setup.vm.outgoing_closed.do_send(OutgoingClosed {
            dropped: self.table.dropped(),
        });
        // The VM no longer ticks: whatever is held may enter its mailbox
        // now, where its stop line counts it.
        self.released = true;
        let peers: Vec<VmId> = self.delays.keys().copied().collect();
        for peer in peers {
            self.release_due(peer, ctx);
        }
    }
}

impl Handler<DropOutgoing> for Bridge {
    type Result = ();

    fn handle(&mut self, _: DropOutgoing, _ctx: &mut Context<Self>) {
        self.warn("fault injected: dropping every outgoing connection without a goodbye");
        for &peer in self.outgoing.keys() {
            self.table.lose(peer);
        }
        self.close_outgoing(false);
    }
}
