//! How a bridge's frames travel: over TCP, or in-process in virtual time.
//!
//! The bridge speaks one protocol whatever the transport: encoded
//! [`Frame`]s arriving as [`Inbound`] events, tagged with the connection
//! they came on, ending with [`InboundEvent::End`]. Over TCP those events
//! come from a `FramedRead` stream; in-process, the sending bridge posts
//! them straight into the receiving bridge's mailbox. A paused tokio clock
//! jumps ahead whenever the runtime is idle, even while real I/O is
//! pending, so under virtual time no frame may ever touch a socket.

use super::bridge::Bridge;
use crate::messages::{Frame, MAX_FRAME_LEN};
use crate::model::VmId;
use actix::io::SinkWrite;
use actix::{Addr, Message};
use bytes::{Bytes, BytesMut};
use std::io;
use std::net::SocketAddr;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpSocket, TcpStream};
use tokio_util::codec::{FramedWrite, LengthDelimitedCodec};

/// Connection ids at or above this are in-process links (`base + sender`);
/// TCP connections count up from zero.
pub const IN_PROCESS_CONN_BASE: u64 = 1 << 32;

/// Where a peer's bridge can be reached.
#[derive(Clone)]
pub enum PeerAddress {
    Tcp(SocketAddr),
    InProcess(Addr<Bridge>),
}

/// What happened on one inbound connection.
#[derive(Debug)]
pub enum InboundEvent {
    Frame(Result<BytesMut, io::Error>),
    End,
}

/// An inbound event, tagged with the connection it came from.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Inbound {
    pub conn: u64,
    pub event: InboundEvent,
}

/// The codec of every TCP connection: 4-byte length prefix, and no frame
/// longer than any valid one.
pub fn codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .max_frame_length(MAX_FRAME_LEN)
        .new_codec()
}

/// A TCP writer. `SinkWrite` rather than actix's `FramedWrite`: the latter's
/// `close` does not wake its writer, so a connection closed while idle would
/// never send its end of stream.
pub type TcpWriter = SinkWrite<Bytes, FramedWrite<OwnedWriteHalf, LengthDelimitedCodec>>;

/// The sending side of one link to a peer.
pub enum OutgoingLink {
    Tcp(TcpWriter),
    InProcess { peer: Addr<Bridge>, conn: u64 },
}

impl OutgoingLink {
    /// An in-process link from VM `from` to the bridge at `peer`.
    pub fn in_process(from: VmId, peer: Addr<Bridge>) -> Self {
        OutgoingLink::InProcess {
            peer,
            conn: IN_PROCESS_CONN_BASE + u64::from(from),
        }
    }

    /// Queues one frame; false when the link no longer takes frames.
    pub fn send(&mut self, frame: Bytes) -> bool {
        match self {
            OutgoingLink::Tcp(writer) => writer.write(frame).is_ok(),
            OutgoingLink::InProcess { peer, conn } => {
                peer.do_send(Inbound {
                    conn: *conn,
                    event: InboundEvent::Frame(Ok(BytesMut::from(&frame[..]))),
                });
                true
            }
        }
    }

    /// Ends the link after what is queued: with a goodbye for an orderly
    /// stop, without one to simulate a crash.
    pub fn close(mut self, farewell: bool) {
        if farewell {
            self.send(Frame::Bye.encode());
        }
        match self {
            OutgoingLink::Tcp(mut writer) => writer.close(),
            OutgoingLink::InProcess { peer, conn } => peer.do_send(Inbound {
                conn,
                event: InboundEvent::End,
            }),
        }
    }
}

/// Connects to a peer's listener: address reuse so a recent run's sockets in
/// TIME_WAIT cannot block us, and no Nagle delay on small frames.
pub async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
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
