//! The socket bridge: one per VM, moving frames between TCP and the VM.
//!
//! Outbound, it holds one connection to every peer and writes each
//! [`Transmit`] as one length-delimited frame per recipient (actix's
//! `FramedWrite` buffers them, so frames written in one turn leave in one
//! syscall). Inbound, it accepts the peers' connections on the VM's
//! listener and reads them with `add_stream(FramedRead)`; every data frame
//! becomes a [`Deliver`] in the VM's mailbox, so the mailbox is the queue.
//!
//! Each connection must open with a [`Frame::Hello`] carrying the protocol
//! version, the run's secret token and the id of a peer not yet connected;
//! anything else is logged as a WARN and the connection is dropped before a
//! single byte of it can reach the VM. When a peer's stream ends, the bridge
//! puts [`PeerClosed`] into the mailbox behind that peer's last frame.
//!
//! An orderly close ends with [`Frame::Bye`]. A stream that ends without
//! one means the peer was lost mid-run: the bridge logs a WARN, closes its
//! own connection to that peer (so the peer's side learns it too), and from
//! then on counts every message for that peer as dropped, reporting the
//! count with [`OutgoingClosed`] when the VM stops. Nothing is discarded
//! without being counted.

use super::vm::Vm;
use super::VmGauges;
use crate::logging::{self, EventClock};
use crate::messages::{
    check_hello, BridgeReady, CloseOutgoing, Deliver, DropOutgoing, Frame, OutgoingClosed,
    PeerClosed, Transmit, MAX_FRAME_LEN, PROTOCOL_VERSION,
};
use crate::model::VmId;
use actix::io::{SinkWrite, WriteHandler};
use actix::prelude::*;
use bytes::{Bytes, BytesMut};
use futures_util::stream::{self, StreamExt};
use slog::Logger;
use std::collections::{BTreeSet, HashMap};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_util::codec::{FramedRead, FramedWrite, LengthDelimitedCodec};

/// One outgoing connection. `SinkWrite` rather than actix's `FramedWrite`:
/// the latter's `close` does not wake its writer, so a connection closed
/// while idle would never send its end of stream.
type Writer = SinkWrite<Bytes, FramedWrite<OwnedWriteHalf, LengthDelimitedCodec>>;

/// The codec of every connection: 4-byte length prefix, and no frame longer
/// than any valid one.
fn codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .max_frame_length(MAX_FRAME_LEN)
        .new_codec()
}

/// Everything a bridge needs, decided by the supervisor.
pub struct BridgeSetup {
    pub vm_id: VmId,
    pub listener: TcpListener,
    /// Every other VM and the address it listens on.
    pub peers: Vec<(VmId, SocketAddr)>,
    pub token: u64,
    pub vm: Addr<Vm>,
    pub gauges: Arc<VmGauges>,
    pub supervisor: Recipient<BridgeReady>,
    pub log: Logger,
    pub clock: EventClock,
}

/// What happened on one inbound connection.
enum InboundEvent {
    Frame(Result<BytesMut, io::Error>),
    End,
}

/// An inbound event, tagged with the connection it came from.
struct Inbound {
    conn: u64,
    event: InboundEvent,
}

/// An accepted connection.
struct InboundConn {
    addr: SocketAddr,
    /// The peer's id, once its hello has been accepted.
    peer: Option<VmId>,
    /// Whether the peer said goodbye, making the end of its stream orderly.
    said_bye: bool,
    reader: SpawnHandle,
}

/// The socket bridge of one VM.
pub struct Bridge {
    vm_id: VmId,
    listener: Option<TcpListener>,
    peers: Vec<(VmId, SocketAddr)>,
    token: u64,
    vm: Addr<Vm>,
    gauges: Arc<VmGauges>,
    supervisor: Recipient<BridgeReady>,
    log: Logger,
    clock: EventClock,
    outgoing: HashMap<VmId, Writer>,
    inbound: HashMap<u64, InboundConn>,
    next_conn: u64,
    identified: BTreeSet<VmId>,
    /// Peers whose connection was lost; messages for them are dropped.
    lost: BTreeSet<VmId>,
    dropped: u64,
    reported_ready: bool,
}

impl Bridge {
    pub fn new(setup: BridgeSetup) -> Self {
        Self {
            vm_id: setup.vm_id,
            listener: Some(setup.listener),
            peers: setup.peers,
            token: setup.token,
            vm: setup.vm,
            gauges: setup.gauges,
            supervisor: setup.supervisor,
            log: setup.log,
            clock: setup.clock,
            outgoing: HashMap::new(),
            inbound: HashMap::new(),
            next_conn: 0,
            identified: BTreeSet::new(),
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

    fn connect_to_peers(&mut self, ctx: &mut Context<Self>) {
        for &(peer, addr) in &self.peers {
            ctx.spawn(connect(addr).into_actor(self).map(
                move |result, bridge, ctx| match result {
                    Ok(stream) => bridge.open_outgoing(peer, stream, ctx),
                    Err(e) => bridge.supervisor.do_send(BridgeReady {
                        vm: bridge.vm_id,
                        result: Err(format!(
                            "VM {} cannot connect to VM {peer} at {addr}: {e}",
                            bridge.vm_id
                        )),
                    }),
                },
            ));
        }
    }

    fn open_outgoing(&mut self, peer: VmId, stream: TcpStream, ctx: &mut Context<Self>) {
        let (_read, write) = stream.into_split();
        let mut writer = SinkWrite::new(FramedWrite::new(write, codec()), ctx);
        let hello = Frame::Hello {
            version: PROTOCOL_VERSION,
            token: self.token,
            vm: self.vm_id,
        };
        // A fresh writer is never closing, so the write cannot be refused.
        let _ = writer.write(hello.encode());
        self.outgoing.insert(peer, writer);
        self.report_ready_when_connected();
    }

    fn accept(&mut self, stream: TcpStream, addr: SocketAddr, ctx: &mut Context<Self>) {
        let _ = stream.set_nodelay(true);
        let (read, _write) = stream.into_split();
        let conn = self.next_conn;
        self.next_conn += 1;
        let frames = FramedRead::new(read, codec())
            .map(move |frame| Inbound {
                conn,
                event: InboundEvent::Frame(frame),
            })
            .chain(stream::once(async move {
                Inbound {
                    conn,
                    event: InboundEvent::End,
                }
            }));
        let reader = ctx.add_stream(frames);
        self.inbound.insert(
            conn,
            InboundConn {
                addr,
                peer: None,
                said_bye: false,
                reader,
            },
        );
    }

    /// Closes an inbound connection for a reason worth a WARN line.
    fn reject(&mut self, conn: u64, reason: &str, ctx: &mut Context<Self>) {
        if let Some(c) = self.inbound.remove(&conn) {
            ctx.cancel_future(c.reader);
            let who = c.peer.map_or(String::new(), |p| format!(" (VM {p})"));
            self.warn(&format!("closed connection from {}{who}: {reason}", c.addr));
            if let Some(peer) = c.peer {
                self.lose_peer(peer);
            }
        }
    }

    /// The inbound stream from `peer` ended without a goodbye: stop talking
    /// to it, and tell the VM nothing more will come from there.
    fn lose_peer(&mut self, peer: VmId) {
        self.lost.insert(peer);
        if let Some(mut writer) = self.outgoing.remove(&peer) {
            // Orderly on our side: the peer's bridge may still be reading.
            let _ = writer.write(Frame::Bye.encode());
            writer.close();
        }
        self.vm.do_send(PeerClosed(peer));
    }

    fn close_outgoing(&mut self, farewell: bool) {
        for (_, mut writer) in self.outgoing.drain() {
            if farewell {
                let _ = writer.write(Frame::Bye.encode());
            }
            writer.close();
        }
    }

    fn on_frame(&mut self, conn: u64, payload: &[u8], ctx: &mut Context<Self>) {
        let Some(peer) = self.inbound.get(&conn).map(|c| c.peer) else {
            return;
        };
        let Some(peer) = peer else {
            let identified = &self.identified;
            let expected =
                |vm| !identified.contains(&vm) && self.peers.iter().any(|&(p, _)| p == vm);
            match check_hello(payload, self.token, expected) {
                Ok(vm) => {
                    if let Some(c) = self.inbound.get_mut(&conn) {
                        c.peer = Some(vm);
                    }
                    self.identified.insert(vm);
                    self.report_ready_when_connected();
                }
                Err(e) => self.reject(conn, &e.to_string(), ctx),
            }
            return;
        };
        match Frame::decode(payload) {
            Ok(Frame::Data(message)) if message.from == peer => {
                // Count first: the VM trusts the gauge to know a message
                // is in its mailbox (or on its way there).
                self.gauges.queued.fetch_add(1, Ordering::AcqRel);
                self.vm.do_send(Deliver(message));
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
}

/// Connects to a peer's listener: address reuse so a recent run's sockets in
/// TIME_WAIT cannot block us, and no Nagle delay on small frames.
async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

impl Actor for Bridge {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if let Some(listener) = self.listener.take() {
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

impl StreamHandler<Inbound> for Bridge {
    fn handle(&mut self, Inbound { conn, event }: Inbound, ctx: &mut Context<Self>) {
        match event {
            InboundEvent::Frame(Ok(payload)) => self.on_frame(conn, &payload, ctx),
            InboundEvent::Frame(Err(e)) => self.reject(conn, &format!("read failed: {e}"), ctx),
            InboundEvent::End => match self.inbound.remove(&conn) {
                Some(InboundConn {
                    peer: Some(peer),
                    said_bye: true,
                    ..
                }) => self.vm.do_send(PeerClosed(peer)),
                Some(InboundConn {
                    peer: Some(peer), ..
                }) => {
                    self.warn(&format!(
                        "lost the connection from VM {peer}: it ended without a goodbye; \
                         messages to VM {peer} are dropped (and counted) from now on"
                    ));
                    self.lose_peer(peer);
                }
                _ => {}
            },
        }
    }

    fn finished(&mut self, _ctx: &mut Context<Self>) {}
}

impl WriteHandler<io::Error> for Bridge {
    fn error(&mut self, err: io::Error, _ctx: &mut Context<Self>) -> Running {
        self.warn(&format!("writing to a peer failed: {err}"));
        Running::Continue
    }

    fn finished(&mut self, _ctx: &mut Context<Self>) {}
}

impl Handler<Transmit> for Bridge {
    type Result = ();

    fn handle(&mut self, Transmit { to, message }: Transmit, _ctx: &mut Context<Self>) {
        let frame = Frame::Data(message).encode();
        for peer in to {
            let sent = match self.outgoing.get_mut(&peer) {
                Some(writer) => writer.write(frame.clone()).is_ok(),
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

    fn handle(&mut self, _: CloseOutgoing, _ctx: &mut Context<Self>) {
        self.close_outgoing(true);
        self.vm.do_send(OutgoingClosed {
            dropped: self.dropped,
        });
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
