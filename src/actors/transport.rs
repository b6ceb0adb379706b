//! How a bridge's frames travel: over TCP, or in-process in virtual time.
//!
//! The bridge speaks one protocol whatever the transport: encoded
//! [`Frame`]s arriving as [`Inbound`] messages in its mailbox, tagged with
//! the connection they came on, ending with [`InboundEvent::End`]; and
//! frames leaving through an [`OutgoingLink`]. In-process, the sending
//! bridge posts them straight into the receiving bridge's mailbox. A paused
//! tokio clock jumps ahead whenever the runtime is idle, even while real
//! I/O is pending, so under virtual time no frame may ever touch a socket.
//!
//! Over TCP each half of a connection is driven by a small task of its own
//! ([`spawn_reader`], [`TcpLink::spawn`]) rather than by streams and
//! writers registered in the bridge's actor context: actix polls every
//! item of a context whenever the context wakes, so with 63 peers a single
//! frame cost 126 polls, and a 64-VM mesh queued up milliseconds of
//! latency in every burst. A task is woken only for its own socket. The
//! writer task also batches: it writes every frame that is already waiting
//! before it flushes, so a burst leaves in one syscall.
//!
//! Between the nodes of a cluster ([`lc_settings::cluster`]) a peer is a name
//! (`host:port`), looked up at every attempt, and dialing retries with a
//! back-off until the cluster's connect deadline, since nodes start in any
//! order. Every connection then passes the handshake of [`crate::auth`]
//! before its first frame: the dialer's in [`dial`], the acceptor's in the
//! connection's reader task, which hands the writing half to the bridge
//! with [`InboundEvent::Authenticated`] once the peer has proved itself.

use crate::auth::{authenticate, AuthError, Credentials, Role};
use crate::messages::{
    ConnId, Frame, Inbound, InboundEvent, LinkEnded, WriteFailure, MAX_FRAME_LEN,
};
use actix::Recipient;
use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use lc_core::model::VmId;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::codec::{FramedRead, FramedWrite, LengthDelimitedCodec};

/// A listening socket for each VM, bound before anything starts.
pub struct Listeners {
    pub(crate) sockets: Vec<std::net::TcpListener>,
    pub addrs: Vec<SocketAddr>,
    /// Strangers each listener may hold in their handshake at once (see
    /// [`crate::admission`]); sized to the run's file descriptors.
    pub(crate) stranger_cap: usize,
}

/// One VM's listening socket, handed to its bridge.
pub struct Listening {
    pub socket: std::net::TcpListener,
    /// Strangers it may hold in their handshake at once.
    pub stranger_cap: usize,
}

/// How the bridges reach each other.
pub enum Network {
    /// Real TCP, each VM on its own listener.
    Tcp(Listeners),
    /// Frames move in-process (virtual time).
    InProcess,
}

/// Where a peer's bridge can be reached.
#[derive(Clone)]
pub enum PeerAddress {
    /// `host:port`: an address, or a name looked up when dialed.
    Tcp(String),
    /// The peer bridge's inbox (virtual time).
    InProcess(Recipient<Inbound>),
}

/// The codec of every TCP connection: 4-byte length prefix, and no frame
/// longer than any valid one.
pub(crate) fn codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .max_frame_length(MAX_FRAME_LEN)
        .new_codec()
}

/// Initial read buffer of a TCP connection (it grows when a frame needs
/// more): a data frame is 31 bytes plus 8 per VM of its vector clock (163
/// with its length prefix in a 16-VM run, 547 with 64 VMs), and a 64-VM mesh
/// has 4,032 readers, whose default 8 KiB buffers alone would take 32 MB.
const READ_BUFFER: usize = 256;
/// Initial write buffer of a TCP connection: room for a burst of frames;
/// it grows if a larger burst is queued.
const WRITE_BUFFER: usize = 1024;

/// Reads one connection's frames into `bridge`'s mailbox as [`Inbound`]
/// events, in order, ending with [`InboundEvent::End`]. Abort the returned
/// task to drop the connection.
pub(crate) fn spawn_reader(
    read: OwnedReadHalf,
    conn: ConnId,
    bridge: Recipient<Inbound>,
) -> JoinHandle<()> {
    actix::spawn(read_frames(read, conn, bridge))
}

async fn read_frames(read: OwnedReadHalf, conn: ConnId, bridge: Recipient<Inbound>) {
    let mut frames = FramedRead::with_capacity(read, codec(), READ_BUFFER);
    while let Some(frame) = frames.next().await {
        let failed = frame.is_err();
        bridge.do_send(Inbound {
            conn,
            event: InboundEvent::Frame(frame),
        });
        if failed {
            break;
        }
    }
    bridge.do_send(Inbound {
        conn,
        event: InboundEvent::End,
    });
}

/// An accepted node connection: the acceptor's side of the handshake,
/// then its frames as [`spawn_reader`] reads them. Ends with
/// [`InboundEvent::AuthFailed`] if the peer does not prove itself.
fn spawn_authenticating_reader(
    mut stream: TcpStream,
    conn: ConnId,
    me: Arc<Credentials>,
    may_dial: impl Fn(VmId) -> bool + 'static,
    bridge: Recipient<Inbound>,
) -> JoinHandle<()> {
    actix::spawn(async move {
        match authenticate(&mut stream, &me, Role::Acceptor, may_dial).await {
            Ok(peer) => {
                let (read, writer) = stream.into_split();
                bridge.do_send(Inbound {
                    conn,
                    event: InboundEvent::Authenticated { peer, writer },
                });
                read_frames(read, conn, bridge).await;
            }
            Err(error) => bridge.do_send(Inbound {
                conn,
                event: InboundEvent::AuthFailed(error),
            }),
        }
    })
}

/// What the bridge asks of a TCP writer task.
enum LinkCommand {
    /// A frame; `message` when it carries one of the VM's messages, which
    /// a failed write must count as dropped (control frames are not
    /// messages).
    Send { frame: Bytes, message: bool },
    /// Flush what is queued, then shut the write half down.
    Close,
}

/// What waits for a TCP writer task, shared with the bridge that feeds it.
/// Both run on the same actor thread, so a cell and a [`Notify`] do what a
/// channel did: a tokio channel per link took about 1.5 KB before its first
/// frame, 6 MB of a 64-VM mesh's 4,032 links (BENCHMARKS.md, round 2).
#[derive(Default)]
struct LinkQueue {
    commands: RefCell<VecDeque<LinkCommand>>,
    /// Woken for every command and for the link's drop.
    ready: Notify,
    /// The bridge dropped its end: what is queued goes out, then the link
    /// closes.
    dropped: Cell<bool>,
    /// The writer task has ended (a write failed, or the link closed): the
    /// link takes nothing more.
    ended: Cell<bool>,
}

/// The sending half of a TCP connection, driven by its own task.
pub(crate) struct TcpLink {
    queue: Rc<LinkQueue>,
}

impl TcpLink {
    /// Starts the writer task for the link to `peer`; its end is reported
    /// to `bridge` as [`LinkEnded`], with the messages a failed write lost:
    /// those not yet flushed (a peer gone takes nothing more) and those
    /// still queued.
    pub(crate) fn spawn(write: OwnedWriteHalf, peer: VmId, bridge: Recipient<LinkEnded>) -> Self {
        let queue = Rc::new(LinkQueue::default());
        let tasks_queue = queue.clone();
        actix::spawn(async move {
            let queue = tasks_queue;
            let mut sink = FramedWrite::with_capacity(write, codec(), WRITE_BUFFER);
            // Messages fed to the sink since its last successful flush.
            let unflushed = Cell::new(0u64);
            let result: io::Result<()> = async {
                let mut dirty = false;
                loop {
                    let next = queue.commands.borrow_mut().pop_front();
                    match next {
                        Some(LinkCommand::Send { frame, message }) => {
                            // Counted before the feed: a feed that fails
                            // lost its frame too.
                            unflushed.set(unflushed.get() + u64::from(message));
                            sink.feed(frame).await?;
                            dirty = true;
                        }
                        Some(LinkCommand::Close) => {
                            SinkExt::<Bytes>::close(&mut sink).await?;
                            unflushed.set(0);
                            return Ok(());
                        }
                        // Everything that was waiting goes out in one flush.
                        None if dirty => {
                            SinkExt::<Bytes>::flush(&mut sink).await?;
                            unflushed.set(0);
                            dirty = false;
                        }
                        None if queue.dropped.get() => {
                            return SinkExt::<Bytes>::close(&mut sink).await
                        }
                        None => queue.ready.notified().await,
                    }
                }
            }
            .await;
            queue.ended.set(true);
            let queued = std::mem::take(&mut *queue.commands.borrow_mut());
            let failure = result.err().map(|error| WriteFailure {
                error,
                lost: unflushed.get()
                    + queued
                        .iter()
                        .filter(|c| matches!(c, LinkCommand::Send { message: true, .. }))
                        .count() as u64,
            });
            bridge.do_send(LinkEnded { peer, failure });
        });
        Self { queue }
    }

    /// Whether the writer task has ended (every frame written, or lost and
    /// reported).
    pub(crate) fn ended(&self) -> bool {
        self.queue.ended.get()
    }

    /// A watch on the writer task, kept once the link itself is given up.
    fn watch(&self) -> LinkWatch {
        LinkWatch(self.queue.clone())
    }

    /// Queues `command`; false once the writer task has ended.
    fn queue(&self, command: LinkCommand) -> bool {
        if self.queue.ended.get() {
            return false;
        }
        self.queue.commands.borrow_mut().push_back(command);
        self.queue.ready.notify_one();
        true
    }
}

/// Tells whether a closed TCP link's writer has ended: until it has, what
/// it may still lose is not known.
pub(crate) struct LinkWatch(Rc<LinkQueue>);

impl LinkWatch {
    pub(crate) fn ended(&self) -> bool {
        self.0.ended.get()
    }
}

impl Drop for TcpLink {
    fn drop(&mut self) {
        self.queue.dropped.set(true);
        self.queue.ready.notify_one();
    }
}

/// The sending side of one link to a peer.
pub(crate) enum OutgoingLink {
    Tcp(TcpLink),
    InProcess {
        peer: Recipient<Inbound>,
        conn: ConnId,
    },
}

impl OutgoingLink {
    /// An in-process link from VM `from` to the bridge at `peer`.
    pub(crate) fn in_process(from: VmId, peer: Recipient<Inbound>) -> Self {
        OutgoingLink::InProcess {
            peer,
            conn: ConnId::InProcess(from),
        }
    }

    /// Queues one control frame; false when the link no longer takes frames.
    pub(crate) fn send(&mut self, frame: Bytes) -> bool {
        self.queue_frame(frame, false)
    }

    /// Queues one frame carrying a VM's message; false when the link no
    /// longer takes frames.
    pub(crate) fn send_message(&mut self, frame: Bytes) -> bool {
        self.queue_frame(frame, true)
    }

    /// Whether this is a TCP link whose writer has ended.
    pub(crate) fn tcp_ended(&self) -> bool {
        matches!(self, OutgoingLink::Tcp(link) if link.ended())
    }

    fn queue_frame(&mut self, frame: Bytes, message: bool) -> bool {
        match self {
            OutgoingLink::Tcp(link) => link.queue(LinkCommand::Send { frame, message }),
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
    /// stop, without one to simulate a crash. A TCP link hands back a
    /// watch on its writer, which has yet to write what is queued.
    pub(crate) fn close(mut self, farewell: bool) -> Option<LinkWatch> {
        if farewell {
            self.send(Frame::Bye.encode());
        }
        match self {
            OutgoingLink::Tcp(link) => {
                link.queue(LinkCommand::Close);
                Some(link.watch())
            }
            OutgoingLink::InProcess { peer, conn } => {
                peer.do_send(Inbound {
                    conn,
                    event: InboundEvent::End,
                });
                None
            }
        }
    }
}

/// How a bridge dials its peers.
#[derive(Debug, Clone, Default)]
pub struct DialPolicy {
    /// A node of a cluster proves itself with these after connecting.
    pub(crate) auth: Option<Arc<Credentials>>,
    /// Keep trying (a peer's node may not be up yet) until this instant;
    /// `None`: one attempt.
    pub(crate) retry_until: Option<actix::clock::Instant>,
}

/// The first pause between two attempts to dial a node, doubled after each
/// failure up to [`MAX_DIAL_PAUSE`].
const FIRST_DIAL_PAUSE: Duration = Duration::from_millis(50);
const MAX_DIAL_PAUSE: Duration = Duration::from_secs(2);

/// Why dialing a peer failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DialError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("{0}")]
    Auth(#[from] AuthError),
}

impl DialError {
    /// A peer that proved itself with other settings: this node must not start.
    pub(crate) fn is_fatal(&self) -> bool {
        matches!(self, DialError::Auth(e) if e.is_fatal())
    }

    /// Whether the peer said something (refused a proof, or sent a bad
    /// one), rather than the connection failing.
    fn is_telling(&self) -> bool {
        matches!(self, DialError::Auth(e) if !matches!(e, AuthError::Io(_)))
    }
}

/// Dials `peer` at `addr` (`host:port`) as `policy` says: looked up and
/// connected, and through the nodes' handshake when it has credentials;
/// over and over with a back-off until its deadline, but for a peer that
/// proved it runs other settings.
pub(crate) async fn dial(
    addr: &str,
    peer: VmId,
    policy: &DialPolicy,
) -> Result<TcpStream, DialError> {
    let mut pause = FIRST_DIAL_PAUSE;
    let mut telling: Option<DialError> = None;
    loop {
        let attempt = async {
            let mut stream = connect(addr).await?;
            if let Some(me) = &policy.auth {
                authenticate(&mut stream, me, Role::Dialer, |vm| vm == peer).await?;
            }
            Ok::<_, DialError>(stream)
        };
        let error = match attempt.await {
            Ok(stream) => return Ok(stream),
            Err(e) if e.is_fatal() => return Err(e),
            Err(e) => e,
        };
        // What a peer said in a handshake tells more than a connection
        // lost or refused later (it may have given up on us by then).
        if error.is_telling() || !telling.as_ref().is_some_and(DialError::is_telling) {
            telling = Some(error);
        }
        match policy.retry_until {
            Some(until) if actix::clock::Instant::now() + pause < until => {
                actix::clock::sleep(pause).await;
                pause = (pause * 2).min(MAX_DIAL_PAUSE);
            }
            _ => {
                return Err(telling
                    .unwrap_or_else(|| DialError::Io(io::Error::other("no attempt was made"))))
            }
        }
    }
}

/// Connects to `addr` (`host:port`, looked up; each address it names is
/// tried in turn): address reuse so a recent run's sockets in TIME_WAIT
/// cannot block us, and no Nagle delay on small frames.
async fn connect(addr: &str) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{addr} names no address"));
    for resolved in tokio::net::lookup_host(addr).await? {
        match connect_to(resolved).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(last)
}

async fn connect_to(addr: SocketAddr) -> io::Result<TcpStream> {
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

/// The socket side of one inbound TCP connection (what it means is the
/// connection table's business).
struct TcpConn {
    /// Where it came from, for WARN lines.
    origin: String,
    /// The writing half of an accepted socket, kept until the peer's hello
    /// is accepted and it becomes our link to that peer.
    unclaimed_writer: Option<OwnedWriteHalf>,
    /// The reader task, to abort when the connection is refused.
    reader: JoinHandle<()>,
}

/// A bridge's open inbound TCP connections, numbered as they open.
#[derive(Default)]
pub(crate) struct TcpConns {
    open: HashMap<u64, TcpConn>,
    next: u64,
}

impl TcpConns {
    /// Starts reading a connection's frames into `bridge`; returns its id.
    /// An accepted socket's `unclaimed_writer` waits for [`Self::claim_writer`].
    pub(crate) fn open(
        &mut self,
        read: OwnedReadHalf,
        origin: String,
        unclaimed_writer: Option<OwnedWriteHalf>,
        bridge: Recipient<Inbound>,
    ) -> ConnId {
        self.register(origin, unclaimed_writer, |conn| {
            spawn_reader(read, conn, bridge)
        })
    }

    /// Numbers a new connection and keeps it with the reader `start` gives it.
    fn register(
        &mut self,
        origin: String,
        unclaimed_writer: Option<OwnedWriteHalf>,
        start: impl FnOnce(ConnId) -> JoinHandle<()>,
    ) -> ConnId {
        let number = self.next;
        self.next += 1;
        let conn = ConnId::Tcp(number);
        let reader = start(conn);
        self.open.insert(
            number,
            TcpConn {
                origin,
                unclaimed_writer,
                reader,
            },
        );
        conn
    }

    /// Like [`Self::open`], for a node's accepted connection: the nodes'
    /// handshake first (a peer `may_dial` accepts), and the writing half
    /// comes back with [`InboundEvent::Authenticated`] for
    /// [`Self::authenticated`].
    pub(crate) fn open_authenticating(
        &mut self,
        stream: TcpStream,
        origin: String,
        me: Arc<Credentials>,
        may_dial: impl Fn(VmId) -> bool + 'static,
        bridge: Recipient<Inbound>,
    ) -> ConnId {
        self.register(origin, None, |conn| {
            spawn_authenticating_reader(stream, conn, me, may_dial, bridge)
        })
    }

    /// A node's accepted connection passed the handshake: its writing half
    /// waits for [`Self::claim_writer`].
    pub(crate) fn authenticated(&mut self, conn: ConnId, writer: OwnedWriteHalf) {
        if let ConnId::Tcp(number) = conn {
            if let Some(tcp) = self.open.get_mut(&number) {
                tcp.unclaimed_writer = Some(writer);
            }
        }
    }

    /// The writing half of an accepted connection whose peer is now known.
    pub(crate) fn claim_writer(&mut self, conn: ConnId) -> Option<OwnedWriteHalf> {
        match conn {
            ConnId::Tcp(number) => self.open.get_mut(&number)?.unclaimed_writer.take(),
            ConnId::InProcess(_) => None,
        }
    }

    /// Forgets a connection whose stream has ended.
    pub(crate) fn ended(&mut self, conn: ConnId) {
        if let ConnId::Tcp(number) = conn {
            self.open.remove(&number);
        }
    }

    /// Drops a refused connection; returns where it came from.
    pub(crate) fn refuse(&mut self, conn: ConnId) -> String {
        match conn {
            ConnId::Tcp(number) => match self.open.remove(&number) {
                Some(tcp) => {
                    tcp.reader.abort();
                    tcp.origin
                }
                None => "an unknown connection".into(),
            },
            ConnId::InProcess(_) => "in-process".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix::prelude::*;

    /// A VM id written in a test.
    fn vid(n: u32) -> VmId {
        VmId::literal(n)
    }

    /// Counts the link failures it is told of, and the messages they lost.
    #[derive(Default)]
    struct Failures(Rc<Cell<usize>>, Rc<Cell<u64>>);

    impl Actor for Failures {
        type Context = Context<Self>;
    }

    impl Handler<LinkEnded> for Failures {
        type Result = ();
        fn handle(&mut self, ended: LinkEnded, _: &mut Context<Self>) {
            if let Some(failure) = ended.failure {
                self.0.set(self.0.get() + 1);
                self.1.set(self.1.get() + failure.lost);
            }
        }
    }

    /// A loopback connection: the dialer's writing half, and the accepted
    /// end, whose reads are what the link wrote.
    async fn connection() -> (OwnedWriteHalf, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dialed = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        (dialed.into_split().1, accepted)
    }

    /// Every frame until the end of the stream, or a failure after 10 s.
    async fn frames_until_end(stream: TcpStream) -> Vec<Vec<u8>> {
        let frames = FramedRead::new(stream, codec())
            .map(|frame| frame.unwrap().to_vec())
            .collect();
        tokio::time::timeout(Duration::from_secs(10), frames)
            .await
            .expect("the link ends its stream")
    }

    fn frame(i: u8) -> LinkCommand {
        LinkCommand::Send {
            frame: Bytes::from(vec![i; 10]),
            message: true,
        }
    }

    #[test]
    fn a_write_to_a_peer_gone_counts_every_message_it_lost() {
        actix::System::new().block_on(async {
            let (write, accepted) = connection().await;
            let failures = Failures::default();
            let (failed, lost) = (failures.0.clone(), failures.1.clone());
            let link = TcpLink::spawn(write, vid(2), failures.start().recipient());
            // The peer goes away; the first write after reaches its kernel,
            // which answers with a reset.
            drop(accepted);
            assert!(link.queue(frame(0)));
            for _ in 0..1000 {
                tokio::time::sleep(Duration::from_millis(5)).await;
                if link.queue.commands.borrow().is_empty() {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            // 50 messages and a control frame: the write fails, the 50 are lost.
            for i in 1..=50 {
                assert!(link.queue(frame(i)));
            }
            assert!(link.queue(LinkCommand::Send {
                frame: Frame::Bye.encode(),
                message: false
            }));
            for _ in 0..2000 {
                if failed.get() > 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            assert_eq!(failed.get(), 1, "the write fails once");
            assert_eq!(
                lost.get(),
                50,
                "every message after the reset, no control frame"
            );
            assert!(!link.queue(frame(51)), "a failed link takes nothing more");
        });
    }

    #[test]
    fn a_dropped_link_writes_everything_queued_in_order_then_ends() {
        actix::System::new().block_on(async {
            let (write, accepted) = connection().await;
            let failures = Failures::default();
            let failed = failures.0.clone();
            let link = TcpLink::spawn(write, vid(2), failures.start().recipient());
            for i in 0..100 {
                assert!(link.queue(frame(i)));
            }
            drop(link);
            let frames = frames_until_end(accepted).await;
            let expected: Vec<Vec<u8>> = (0..100).map(|i| vec![i; 10]).collect();
            assert_eq!(frames, expected);
            assert_eq!(failed.get(), 0);
        });
    }

    #[test]
    fn a_closed_link_writes_what_came_before_the_close_then_takes_nothing() {
        actix::System::new().block_on(async {
            let (write, accepted) = connection().await;
            let link = TcpLink::spawn(write, vid(2), Failures::default().start().recipient());
            for i in 0..3 {
                assert!(link.queue(frame(i)));
            }
            assert!(link.queue(LinkCommand::Close));
            link.queue(frame(9));
            let frames = frames_until_end(accepted).await;
            assert_eq!(frames, [vec![0; 10], vec![1; 10], vec![2; 10]]);
            // The writer task ends right after the stream does.
            let mut refused = false;
            for _ in 0..1000 {
                if !link.queue(frame(10)) {
                    refused = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            assert!(refused, "an ended link still takes frames");
        });
    }

    #[test]
    fn frames_queued_while_the_writer_waits_wake_it() {
        actix::System::new().block_on(async {
            let (write, accepted) = connection().await;
            let link = TcpLink::spawn(write, vid(2), Failures::default().start().recipient());
            let mut frames = FramedRead::new(accepted, codec());
            for i in 0..5 {
                // The writer has flushed and gone back to waiting.
                tokio::time::sleep(Duration::from_millis(5)).await;
                assert!(link.queue(frame(i)));
                let next = tokio::time::timeout(Duration::from_secs(10), frames.next())
                    .await
                    .expect("the frame is written while the link stays open");
                assert_eq!(next.unwrap().unwrap().to_vec(), vec![i; 10]);
            }
        });
    }
}
