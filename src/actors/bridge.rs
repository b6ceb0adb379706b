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
//! Each connection must open with a [`Frame::Hello`] carrying the protocol
//! version, the run's secret token and the id of a peer not yet connected;
//! anything else is logged as a WARN and the connection is dropped before a
//! single byte of it can reach the VM. When a peer's stream ends, the bridge
//! puts [`PeerClosed`] into the mailbox behind that peer's last message.
//!
//! An orderly close ends with [`Frame::Bye`]. A stream that ends without
//! one means the peer was lost mid-run: the bridge logs a WARN, closes its
//! own link to that peer (so the peer's side learns it too), and from then
//! on counts every message for that peer as dropped, reporting the count
//! with [`OutgoingClosed`] when the VM stops. Nothing is discarded without
//! being counted.

use super::transport::{
    connect, spawn_reader, Inbound, InboundEvent, LinkFailed, OutgoingLink, PeerAddress, TcpLink,
    IN_PROCESS_CONN_BASE,
};
use super::vm::Vm;
use super::VmGauges;
use crate::latency::{Latency, LinkSchedule};
use crate::logging::{self, EventClock};
use crate::messages::{
    check_hello, BridgeReady, CloseOutgoing, Deliver, DropOutgoing, Frame, OutgoingClosed,
    PeerClosed, Transmit, PROTOCOL_VERSION,
};
use crate::model::{Message, VmId};
use actix::clock::Instant;
use actix::prelude::*;
use futures_util::stream;
use rand::rngs::StdRng;
use rand::SeedableRng;
use slog::Logger;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Everything a bridge needs, decided by the supervisor.
pub struct BridgeSetup {
    pub vm_id: VmId,
    /// The VM's listening socket (TCP only), registered with the bridge's
    /// own runtime once it starts (bridges may run on another thread).
    pub listener: Option<std::net::TcpListener>,
    /// Every other VM and where its bridge is.
    pub peers: Vec<(VmId, PeerAddress)>,
    pub token: u64,
    pub latency: Latency,
    /// Seeds the delays this bridge draws for its incoming links.
    pub delay_seed: u64,
    pub vm: Addr<Vm>,
    pub gauges: Arc<VmGauges>,
    pub supervisor: Recipient<BridgeReady>,
    pub log: Logger,
    pub clock: EventClock,
}

/// An inbound connection (over TCP, the reading half of a pair's socket).
struct InboundConn {
    /// Where it came from, for WARN lines.
    origin: String,
    /// The peer this connection must come from, when we dialed it;
    /// `None` for an accepted connection, which may be any lower id.
    expect: Option<VmId>,
    /// The writing half of an accepted socket, kept until the peer's hello
    /// is accepted and it becomes our link to that peer.
    unclaimed_writer: Option<OwnedWriteHalf>,
    /// The peer's id, once its hello has been accepted.
    peer: Option<VmId>,
    /// Whether the peer said goodbye, making the end of its stream orderly.
    said_bye: bool,
    /// The TCP reader task, to abort when the connection is rejected.
    reader: Option<JoinHandle<()>>,
}

/// What a link holds back until its delivery time.
enum Held {
    /// A message and the time of its send event.
    Message(Message, u64),
    /// The end of the peer's stream; `orderly` when it said goodbye.
    End { orderly: bool },
}

/// The messages one incoming link holds back, in delivery order.
#[derive(Default)]
struct HeldLink {
    schedule: LinkSchedule<Instant>,
    queue: VecDeque<(Instant, Held)>,
    timer_armed: bool,
}

/// The socket bridge of one VM.
pub struct Bridge {
    vm_id: VmId,
    listener: Option<std::net::TcpListener>,
    peers: Vec<(VmId, PeerAddress)>,
    token: u64,
    latency: Latency,
    delay_rng: StdRng,
    vm: Addr<Vm>,
    gauges: Arc<VmGauges>,
    supervisor: Recipient<BridgeReady>,
    log: Logger,
    clock: EventClock,
    outgoing: BTreeMap<VmId, OutgoingLink>,
    inbound: HashMap<u64, InboundConn>,
    next_conn: u64,
    identified: BTreeSet<VmId>,
    held: BTreeMap<VmId, HeldLink>,
    /// Set once the VM has stopped: delays no longer matter, so whatever is
    /// held goes straight to the mailbox (to be counted as left there).
    released: bool,
    /// Peers whose connection was lost; messages for them are dropped.
    lost: BTreeSet<VmId>,
    dropped: u64,
    reported_ready: bool,
}

impl Bridge {
    pub fn new(setup: BridgeSetup) -> Self {
        Self {
            vm_id: setup.vm_id,
            listener: setup.listener,
            peers: setup.peers,
            token: setup.token,
            latency: setup.latency,
            delay_rng: StdRng::seed_from_u64(setup.delay_seed),
            vm: setup.vm,
            gauges: setup.gauges,
            supervisor: setup.supervisor,
            log: setup.log,
            clock: setup.clock,
            outgoing: BTreeMap::new(),
            inbound: HashMap::new(),
            next_conn: 0,
            identified: BTreeSet::new(),
            held: BTreeMap::new(),
            released: false,
            lost: BTreeSet::new(),
            dropped: 0,
            reported_ready: false,
        }
    }

    fn warn(&self, what: &str) {
        logging::log_warning(&self.log, self.clock.now(), what);
    }

    fn report_ready_when_connected(&mut self) {
        if !self.reported_ready
            && self.outgoing.len() == self.peers.len()
            && self.identified.len() == self.peers.len()
        {
            self.reported_ready = true;
            self.supervisor.do_send(BridgeReady {
                vm: self.vm_id,
                result: Ok(()),
            });
        }
    }

    fn hello(&self) -> Frame {
        Frame::Hello {
            version: PROTOCOL_VERSION,
            token: self.token,
            vm: self.vm_id,
        }
    }

    fn connect_to_peers(&mut self, ctx: &mut Context<Self>) {
        for (peer, address) in self.peers.clone() {
            match address {
                PeerAddress::InProcess(bridge) => {
                    self.open_outgoing(peer, OutgoingLink::in_process(self.vm_id, bridge));
                }
                // A lower id dials us; we answer on its connection.
                PeerAddress::Tcp(_) if peer < self.vm_id => {}
                PeerAddress::Tcp(addr) => {
                    ctx.spawn(
                        connect(addr).into_actor(self).map(
                            move |result, bridge, ctx| match result {
                                Ok(stream) => {
                                    let (read, write) = stream.into_split();
                                    bridge.read_from(read, addr.to_string(), Some(peer), None, ctx);
                                    let link = TcpLink::spawn(write, peer, ctx.address());
                                    bridge.open_outgoing(peer, OutgoingLink::Tcp(link));
                                }
                                Err(e) => bridge.supervisor.do_send(BridgeReady {
                                    vm: bridge.vm_id,
                                    result: Err(format!(
                                        "VM {} cannot connect to VM {peer} at {addr}: {e}",
                                        bridge.vm_id
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
        link.send(self.hello().encode());
        self.outgoing.insert(peer, link);
        self.report_ready_when_connected();
    }

    fn accept(&mut self, stream: TcpStream, addr: SocketAddr, ctx: &mut Context<Self>) {
        let _ = stream.set_nodelay(true);
        let (read, write) = stream.into_split();
        self.read_from(read, addr.to_string(), None, Some(write), ctx);
    }

    /// Starts reading one TCP connection's frames.
    fn read_from(
        &mut self,
        read: OwnedReadHalf,
        origin: String,
        expect: Option<VmId>,
        unclaimed_writer: Option<OwnedWriteHalf>,
        ctx: &mut Context<Self>,
    ) {
        let conn = self.next_conn;
        self.next_conn += 1;
        let reader = spawn_reader(read, conn, ctx.address());
        self.inbound.insert(
            conn,
            InboundConn {
                origin,
                expect,
                unclaimed_writer,
                peer: None,
                said_bye: false,
                reader: Some(reader),
            },
        );
    }

    fn on_inbound(&mut self, Inbound { conn, event }: Inbound, ctx: &mut Context<Self>) {
        if conn >= IN_PROCESS_CONN_BASE {
            self.inbound.entry(conn).or_insert_with(|| InboundConn {
                origin: "in-process".into(),
                expect: None,
                unclaimed_writer: None,
                peer: None,
                said_bye: false,
                reader: None,
            });
        }
        match event {
            InboundEvent::Frame(Ok(payload)) => self.on_frame(conn, &payload, ctx),
            InboundEvent::Frame(Err(e)) => self.reject(conn, &format!("read failed: {e}"), ctx),
            InboundEvent::End => {
                if let Some(InboundConn {
                    peer: Some(peer),
                    said_bye,
                    ..
                }) = self.inbound.remove(&conn)
                {
                    self.hold(peer, Held::End { orderly: said_bye }, ctx);
                }
            }
        }
    }

    /// Closes an inbound connection for a reason worth a WARN line.
    fn reject(&mut self, conn: u64, reason: &str, ctx: &mut Context<Self>) {
        if let Some(c) = self.inbound.remove(&conn) {
            if let Some(reader) = c.reader {
                reader.abort();
            }
            let who = c.peer.map_or(String::new(), |p| format!(" (VM {p})"));
            self.warn(&format!(
                "closed connection from {}{who}: {reason}",
                c.origin
            ));
            if let Some(peer) = c.peer {
                self.hold(peer, Held::End { orderly: false }, ctx);
            }
        }
    }

    fn on_frame(&mut self, conn: u64, payload: &[u8], ctx: &mut Context<Self>) {
        let Some(peer) = self.inbound.get(&conn).map(|c| c.peer) else {
            return;
        };
        let Some(peer) = peer else {
            self.on_hello(conn, payload, ctx);
            return;
        };
        match Frame::decode(payload) {
            Ok(Frame::Data { message, sent_at }) if message.from == peer => {
                self.hold(peer, Held::Message(message, sent_at), ctx);
            }
            Ok(Frame::Bye) => {
                if let Some(c) = self.inbound.get_mut(&conn) {
                    c.said_bye = true;
                }
            }
            Ok(frame) => {
                self.reject(
                    conn,
                    &format!("unexpected frame from VM {peer}: {frame:?}"),
                    ctx,
                );
            }
            Err(e) => self.reject(conn, &format!("malformed frame: {e}"), ctx),
        }
    }

    /// The first frame of a connection: it must be a hello from a peer we
    /// expect on it. An accepted TCP connection then becomes our link to
    /// that peer too, and we answer with our own hello.
    fn on_hello(&mut self, conn: u64, payload: &[u8], ctx: &mut Context<Self>) {
        let Some(expect) = self.inbound.get(&conn).map(|c| c.expect) else {
            return;
        };
        let tcp = conn < IN_PROCESS_CONN_BASE;
        let own_id = self.vm_id;
        let identified = &self.identified;
        let expected = |vm: VmId| {
            !identified.contains(&vm)
                && self.peers.iter().any(|&(p, _)| p == vm)
                && match (expect, tcp) {
                    (Some(dialed), _) => vm == dialed,
                    // Over TCP only a lower id dials us.
                    (None, true) => vm < own_id,
                    (None, false) => true,
                }
        };
        match check_hello(payload, self.token, expected) {
            Ok(vm) => {
                let writer = self.inbound.get_mut(&conn).and_then(|c| {
                    c.peer = Some(vm);
                    c.unclaimed_writer.take()
                });
                self.identified.insert(vm);
                if let Some(write) = writer {
                    let link = TcpLink::spawn(write, vm, ctx.address());
                    self.open_outgoing(vm, OutgoingLink::Tcp(link));
                }
                self.report_ready_when_connected();
            }
            Err(e) => self.reject(conn, &e.to_string(), ctx),
        }
    }

    /// Passes a message or the end of a stream on to the VM after the
    /// link's delay, never ahead of what the link already holds.
    fn hold(&mut self, peer: VmId, item: Held, ctx: &mut Context<Self>) {
        let delay = match item {
            Held::Message(..) if !self.released => self
                .latency
                .of_link(peer, self.vm_id)
                .sample(&mut self.delay_rng),
            _ => std::time::Duration::ZERO,
        };
        let link = self.held.entry(peer).or_default();
        if delay.is_zero() && link.queue.is_empty() {
            self.pass_on(peer, item);
            return;
        }
        let at = link.schedule.deliver_at(Instant::now() + delay);
        link.queue.push_back((at, item));
        self.arm(peer, ctx);
    }

    fn arm(&mut self, peer: VmId, ctx: &mut Context<Self>) {
        let Some(link) = self.held.get_mut(&peer) else {
            return;
        };
        if link.timer_armed {
            return;
        }
        if let Some(&(at, _)) = link.queue.front() {
            link.timer_armed = true;
            ctx.run_later(
                at.saturating_duration_since(Instant::now()),
                move |bridge, ctx| {
                    if let Some(link) = bridge.held.get_mut(&peer) {
                        link.timer_armed = false;
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
        while let Some(link) = self.held.get_mut(&peer) {
            match link.queue.front() {
                Some(&(at, _)) if self.released || at <= now => {
                    let (_, item) = link.queue.pop_front().expect("front exists");
                    self.pass_on(peer, item);
                }
                _ => break,
            }
        }
        self.arm(peer, ctx);
    }

    fn pass_on(&mut self, peer: VmId, item: Held) {
        match item {
            Held::Message(message, sent_at) => {
                let transit = self.clock.now().saturating_sub(sent_at);
                self.gauges
                    .transit
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .record(std::time::Duration::from_micros(transit));
                // Count first: the VM trusts the gauge to know a message
                // is in its mailbox (or on its way there).
                self.gauges.queued.fetch_add(1, Ordering::AcqRel);
                self.vm.do_send(Deliver(message));
            }
            Held::End { orderly: true } => self.vm.do_send(PeerClosed(peer)),
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
        self.lost.insert(peer);
        if let Some(link) = self.outgoing.remove(&peer) {
            // Orderly on our side: the peer's bridge may still be reading.
            link.close(true);
        }
        self.vm.do_send(PeerClosed(peer));
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
        if let Some(listener) = self.listener.take() {
            let listener = match TcpListener::from_std(listener) {
                Ok(listener) => listener,
                Err(e) => {
                    self.supervisor.do_send(BridgeReady {
                        vm: self.vm_id,
                        result: Err(format!("VM {} cannot listen: {e}", self.vm_id)),
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
            let sent = match self.outgoing.get_mut(&peer) {
                Some(link) => link.send(frame.clone()),
                None => false,
            };
            if !sent {
                self.dropped += 1;
                if !self.lost.contains(&peer) {
                    self.warn(&format!(
                        "no open connection to VM {peer}; message {} dropped",
                        message.seq
                    ));
                }
            }
        }
    }
}

impl Handler<CloseOutgoing> for Bridge {
    type Result = ();

    fn handle(&mut self, _: CloseOutgoing, ctx: &mut Context<Self>) {
        self.close_outgoing(true);
        self.vm.do_send(OutgoingClosed {
            dropped: self.dropped,
        });
        // The VM no longer ticks: whatever is held may enter its mailbox
        // now, where its stop line counts it.
        self.released = true;
        let peers: Vec<VmId> = self.held.keys().copied().collect();
        for peer in peers {
            self.release_due(peer, ctx);
        }
    }
}

impl Handler<DropOutgoing> for Bridge {
    type Result = ();

    fn handle(&mut self, _: DropOutgoing, _ctx: &mut Context<Self>) {
        self.warn("fault injected: dropping every outgoing connection without a goodbye");
        self.lost.extend(self.outgoing.keys().copied());
        self.close_outgoing(false);
    }
}
