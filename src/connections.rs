//! A bridge's connections as a pure state machine: who may connect, who
//! has, who was lost, and what was dropped on the way.
//!
//! The socket bridge only moves bytes; every decision about a connection is
//! made here, from events the bridge reports ("connection 7 opened as an
//! accept", "this payload arrived on it", "it ended"), and the answer says
//! what the bridge should do (pass a message on, link a peer, refuse the
//! connection and why). Kept apart from actors and sockets so the rules of
//! the handshake can be tested on any sequence of frames:
//!
//! - every connection must open with a hello of this protocol version,
//!   carrying the run's token and the id of a peer this connection may come
//!   from and that is not connected yet ([`crate::messages::check_hello`]);
//!   nothing from a connection reaches the VM before that;
//! - after the hello only data frames from that same peer and a final
//!   goodbye are allowed, each data frame with a vector clock of the run's
//!   size (one entry per VM, or none in a run without vector clocks);
//!   anything else closes the connection;
//! - a stream that ends after a goodbye is an orderly close, one that ends
//!   without is a lost peer, and messages to a lost peer are dropped and
//!   counted, never silently discarded;
//! - a VM that crashes (an injected fault) keeps reading the connections it
//!   had, now defunct: what still arrives on them is lost to the crash and
//!   counted, their ends are no peer's end. While it is down it lets no
//!   one in; once restarted, every peer is lost until it says hello again,
//!   on any connection, and a peer that lost us takes our hello the same
//!   way: that is how the mesh reconnects;
//! - between the nodes of a cluster, each connection first passes the
//!   handshake of [`crate::auth`] (the bridge runs it on the socket); an
//!   accepted connection that did may then say hello only as the peer it
//!   proved to be, and the nodes' control frames ([`Frame::Ready`],
//!   [`Frame::Start`]) are taken from identified peers only, and a start
//!   only from the lowest id.

use crate::messages::{check_hello, ClusterSignal, ConnId, Frame};
use lc_core::accounting::Drops;
use lc_core::faults::FaultId;
use lc_core::model::{Message, VmId};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Which peer a connection may come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// We dialed this peer: only it may answer.
    Peer(VmId),
    /// Accepted over TCP: only a lower id dials us.
    LowerId,
    /// In-process: any peer not yet connected.
    AnyPeer,
    /// Accepted between nodes, and the peer proved it is this VM: it says
    /// hello as that VM, the first time only if it is a lower id (as for
    /// [`Expect::LowerId`]), and again after it was lost (its restart dials
    /// every peer).
    Proven(VmId),
}

#[derive(Debug)]
struct Conn {
    expect: Expect,
    /// Set once the peer's hello is accepted.
    peer: Option<VmId>,
    /// Whether the peer said goodbye, making the end of its stream orderly.
    said_bye: bool,
    /// Opened before this VM's crash: what arrives on it is lost.
    defunct: bool,
}

/// A connection the table refused, and why; the bridge closes it and
/// writes the reason as a WARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The peer it belonged to, when it had already said hello: that peer
    /// is now lost.
    pub(crate) peer: Option<VmId>,
    pub(crate) reason: String,
}

/// What a frame on a connection means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameOutcome {
    /// The connection is no longer known (already closed): nothing to do.
    Ignored,
    /// The hello was accepted: the connection belongs to this peer now.
    Identified(VmId),
    /// The hello of a peer that was lost (its crash or ours): the link is
    /// back, and the VM must wait for this peer's end again.
    Rejoined(VmId),
    /// A message on a connection from before this VM's crash: lost, and
    /// counted against the crash.
    Lost(VmId),
    /// A message from the connection's peer, for the VM.
    Data {
        peer: VmId,
        message: Message,
        sent_at: u64,
    },
    /// The peer said goodbye; its stream will end next.
    Bye,
    /// A node's control frame, from an identified peer.
    Signal(ClusterSignal),
    /// The connection is refused and forgotten.
    Rejected(Rejection),
}

/// The connection table of one bridge.
#[derive(Debug)]
pub struct ConnectionTable {
    own: VmId,
    peers: Vec<VmId>,
    token: u64,
    /// Entries every data frame's vector clock must have.
    vc_entries: usize,
    conns: HashMap<ConnId, Conn>,
    /// Peers whose hello was accepted on an inbound connection.
    identified: BTreeSet<VmId>,
    /// Peers we have an outgoing link to.
    linked: BTreeSet<VmId>,
    /// Peers whose connection was lost, with the fault that explains it;
    /// messages for them are dropped.
    lost: BTreeMap<VmId, Option<FaultId>>,
    dropped: Drops,
    /// The crash this VM is down in, if it is.
    down: Option<FaultId>,
    reported_ready: bool,
}

impl ConnectionTable {
    /// The table of VM `own`, which expects exactly `peers` (every other VM
    /// of the run), all proving they belong to the run with `token`, and
    /// sending vector clocks if the run keeps them (`vector_clocks`).
    pub fn new(own: VmId, peers: Vec<VmId>, token: u64, vector_clocks: bool) -> Self {
        Self {
            own,
            vc_entries: if vector_clocks { peers.len() + 1 } else { 0 },
            peers,
            token,
            conns: HashMap::new(),
            identified: BTreeSet::new(),
            linked: BTreeSet::new(),
            lost: BTreeMap::new(),
            dropped: Drops::default(),
            down: None,
            reported_ready: false,
        }
    }

    /// A new inbound connection, before its hello.
    pub fn opened(&mut self, conn: ConnId, expect: Expect) {
        self.conns.insert(
            conn,
            Conn {
                expect,
                peer: None,
                said_bye: false,
                defunct: false,
            },
        );
    }

    /// The lowest id of the run: the node that announces the start.
    fn lowest_id(&self) -> VmId {
        self.peers
            .iter()
            .copied()
            .chain([self.own])
            .min()
            .unwrap_or(self.own)
    }

    /// An accepted connection passed the nodes' handshake as `peer`: only
    /// that peer may say hello on it.
    pub(crate) fn authenticated(&mut self, conn: ConnId, peer: VmId) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.expect = Expect::Proven(peer);
        }
    }

    /// A frame arrived on `conn`. In-process links open on their first frame.
    pub fn frame(&mut self, conn: ConnId, payload: &[u8]) -> FrameOutcome {
        if let ConnId::InProcess(_) = conn {
            if !self.conns.contains_key(&conn) {
                self.opened(conn, Expect::AnyPeer);
            }
        }
        let Some(c) = self.conns.get_mut(&conn) else {
            return FrameOutcome::Ignored;
        };
        let Some(peer) = c.peer else {
            return self.hello(conn, payload);
        };
        let vc_entries = self.vc_entries;
        if c.defunct {
            return match Frame::decode(payload) {
                Ok(Frame::Data { .. }) => {
                    self.dropped
                        .count(self.down.or(self.lost.get(&peer).copied().flatten()));
                    FrameOutcome::Lost(peer)
                }
                _ => FrameOutcome::Ignored,
            };
        }
        match Frame::decode(payload) {
            Ok(Frame::Data { message, .. })
                if message.from == peer && message.vc.len() != vc_entries =>
            {
                let entries = message.vc.len();
                self.reject(
                    conn,
                    format!(
                        "data frame from VM {peer} with a vector clock of {entries} entries, \
                         expected {vc_entries}"
                    ),
                )
            }
            Ok(Frame::Data { message, sent_at }) if message.from == peer => FrameOutcome::Data {
                peer,
                message,
                sent_at,
            },
            Ok(Frame::Bye) => {
                c.said_bye = true;
                FrameOutcome::Bye
            }
            Ok(Frame::Ready) => FrameOutcome::Signal(ClusterSignal::Ready(peer)),
            Ok(Frame::Start { delay_us }) if peer == self.lowest_id() && peer != self.own => {
                FrameOutcome::Signal(ClusterSignal::Start(std::time::Duration::from_micros(
                    delay_us,
                )))
            }
            Ok(frame) => self.reject(conn, format!("unexpected frame from VM {peer}: {frame:?}")),
            Err(e) => self.reject(conn, format!("malformed frame: {e}")),
        }
    }

    /// A connection's first frame: a hello from a peer it may come from.
    fn hello(&mut self, conn: ConnId, payload: &[u8]) -> FrameOutcome {
        let Some(expect) = self.conns.get(&conn).map(|c| c.expect) else {
            return FrameOutcome::Ignored;
        };
        let down = self.down.is_some();
        let expected = |vm: VmId| {
            let from_dialed = match expect {
                Expect::Peer(dialed) | Expect::Proven(dialed) => vm == dialed,
                Expect::LowerId | Expect::AnyPeer => true,
            };
            let first_time = !self.identified.contains(&vm)
                && match expect {
                    Expect::LowerId | Expect::Proven(_) => from_dialed && vm < self.own,
                    Expect::Peer(_) | Expect::AnyPeer => from_dialed,
                };
            // A lost peer may come back on any connection it may come from.
            let rejoining = self.lost.contains_key(&vm) && from_dialed;
            !down && self.peers.contains(&vm) && (first_time || rejoining)
        };
        match check_hello(payload, self.token, expected) {
            Ok(vm) => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.peer = Some(vm);
                }
                self.identified.insert(vm);
                if self.lost.remove(&vm).is_some() {
                    FrameOutcome::Rejoined(vm)
                } else {
                    FrameOutcome::Identified(vm)
                }
            }
            Err(e) => self.reject(conn, e.to_string()),
        }
    }

    /// Refuses and forgets `conn` (for example after a failed read).
    pub(crate) fn reject(&mut self, conn: ConnId, reason: String) -> FrameOutcome {
        match self.conns.remove(&conn) {
            Some(c) => FrameOutcome::Rejected(Rejection {
                peer: c.peer,
                reason,
            }),
            None => FrameOutcome::Ignored,
        }
    }

    /// `conn`'s stream ended. Returns its peer and whether the end was
    /// orderly (a goodbye came first), if it ever said hello.
    /// A defunct connection's end is no peer's end: `None`.
    pub(crate) fn ended(&mut self, conn: ConnId) -> Option<(VmId, bool)> {
        let c = self.conns.remove(&conn)?;
        if c.defunct {
            return None;
        }
        Some((c.peer?, c.said_bye))
    }

    /// Connections from before this VM's crash that have not ended yet.
    pub(crate) fn defunct_open(&self) -> usize {
        self.conns.values().filter(|c| c.defunct).count()
    }

    /// This VM crashes (fault `fault`): every connection it has becomes
    /// defunct, every peer is lost (owed to this crash), and no hello is
    /// taken until [`ConnectionTable::restarted`].
    pub(crate) fn crashed(&mut self, fault: FaultId) {
        self.down = Some(fault);
        for c in self.conns.values_mut() {
            c.defunct = true;
        }
        self.linked.clear();
        for &peer in &self.peers {
            self.lost.insert(peer, Some(fault));
        }
    }

    /// This VM is back: its peers stay lost (messages for them are still
    /// owed to the crash) until each says hello again.
    pub(crate) fn restarted(&mut self) {
        self.down = None;
    }

    #[cfg(test)]
    /// Whether `peer` is lost (its messages are dropped).
    pub(crate) fn is_lost(&self, peer: VmId) -> bool {
        self.lost.contains_key(&peer)
    }

    /// An outgoing link to `peer` is open.
    pub(crate) fn linked(&mut self, peer: VmId) {
        self.linked.insert(peer);
    }

    /// True exactly once: when every peer has both an outgoing link and an
    /// identified inbound connection.
    pub(crate) fn take_ready(&mut self) -> bool {
        let all = |set: &BTreeSet<VmId>| self.peers.iter().all(|p| set.contains(p));
        if self.reported_ready || !all(&self.linked) || !all(&self.identified) {
            return false;
        }
        self.reported_ready = true;
        true
    }

    /// `peer`'s connection is gone: from now on its messages are dropped,
    /// owed to `cause` (the fault that explains the loss, if one does).
    pub(crate) fn lose(&mut self, peer: VmId, cause: Option<FaultId>) {
        self.lost.entry(peer).or_insert(cause);
        self.linked.remove(&peer);
    }

    /// A message for `peer` could not be sent: it is counted as dropped,
    /// owed to whatever lost the peer. True when that deserves a WARN (the
    /// peer was not known to be lost, whose drops its loss WARN already
    /// announced).
    pub(crate) fn undeliverable(&mut self, peer: VmId) -> bool {
        let lost = self.lost.get(&peer).copied();
        self.dropped.count(lost.flatten());
        lost.is_none()
    }

    /// Writing to `peer` failed: `lost` messages for it never left, and it
    /// is lost, so every later one is dropped too; all owed to `cause`.
    pub(crate) fn write_failed(&mut self, peer: VmId, cause: Option<FaultId>, lost: u64) {
        self.lose(peer, cause);
        let owed = self.lost.get(&peer).copied().flatten();
        for _ in 0..lost {
            self.dropped.count(owed);
        }
    }

    /// A message this VM's side lost for `fault` (a partition in drop mode).
    pub(crate) fn dropped_by(&mut self, fault: FaultId) {
        self.dropped.count(Some(fault));
    }

    /// Messages dropped so far, and the part owed to each fault.
    pub(crate) fn dropped(&self) -> &Drops {
        &self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::PROTOCOL_VERSION;

    /// A VM id written in a test.
    fn vid(n: u32) -> VmId {
        VmId::literal(n)
    }

    const TOKEN: u64 = 0xfeed;

    fn hello(vm: u32) -> Vec<u8> {
        Frame::Hello {
            version: PROTOCOL_VERSION,
            token: TOKEN,
            vm: vid(vm),
        }
        .encode()
        .to_vec()
    }

    /// A data frame with a vector clock for a run of 3 VMs.
    fn data(from: u32, seq: u64) -> Vec<u8> {
        data_with_vc(from, seq, vec![seq, 0, 0])
    }

    fn data_with_vc(from: u32, seq: u64, vc: Vec<u64>) -> Vec<u8> {
        Frame::Data {
            message: Message {
                from: vid(from),
                seq,
                lc: seq,
                vc,
            },
            sent_at: 0,
        }
        .encode()
        .to_vec()
    }

    fn rejected(outcome: FrameOutcome) -> Rejection {
        match outcome {
            FrameOutcome::Rejected(r) => r,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    /// VM 2 of 3: VM 1 dials it, it dials VM 3.
    fn table() -> ConnectionTable {
        ConnectionTable::new(vid(2), vec![vid(1), vid(3)], TOKEN, true)
    }

    #[test]
    fn a_full_handshake_makes_the_table_ready_once() {
        let mut t = table();
        t.opened(ConnId::Tcp(0), Expect::LowerId);
        t.opened(ConnId::Tcp(1), Expect::Peer(vid(3)));
        assert_eq!(
            t.frame(ConnId::Tcp(0), &hello(1)),
            FrameOutcome::Identified(vid(1))
        );
        t.linked(vid(1));
        assert!(!t.take_ready());
        t.linked(vid(3));
        assert!(!t.take_ready(), "VM 3 has not said hello yet");
        assert_eq!(
            t.frame(ConnId::Tcp(1), &hello(3)),
            FrameOutcome::Identified(vid(3))
        );
        assert!(t.take_ready());
        assert!(!t.take_ready());
    }

    #[test]
    fn data_flows_only_after_the_hello_and_only_from_its_peer() {
        let mut t = table();
        t.opened(ConnId::Tcp(0), Expect::LowerId);
        let before = rejected(t.frame(ConnId::Tcp(0), &data(1, 1)));
        assert_eq!(before.peer, None);
        assert!(before.reason.contains("not a hello"), "{}", before.reason);
        assert_eq!(t.frame(ConnId::Tcp(0), &data(1, 2)), FrameOutcome::Ignored);

        t.opened(ConnId::Tcp(1), Expect::LowerId);
        t.frame(ConnId::Tcp(1), &hello(1));
        assert_eq!(
            t.frame(ConnId::Tcp(1), &data(1, 5)),
            FrameOutcome::Data {
                peer: vid(1),
                message: Message {
                    from: vid(1),
                    seq: 5,
                    lc: 5,
                    vc: vec![5, 0, 0]
                },
                sent_at: 0
            }
        );
        let spoofed = rejected(t.frame(ConnId::Tcp(1), &data(3, 6)));
        assert_eq!(spoofed.peer, Some(vid(1)));
        assert!(spoofed.reason.contains("unexpected frame from VM 1"));
    }

    #[test]
    fn a_vector_clock_of_the_wrong_size_closes_the_connection() {
        let mut t = table();
        t.frame(ConnId::InProcess(vid(1)), &hello(1));
        t.frame(ConnId::InProcess(vid(3)), &hello(3));
        let short = rejected(t.frame(ConnId::InProcess(vid(1)), &data_with_vc(1, 1, vec![1, 0])));
        assert_eq!(short.peer, Some(vid(1)));
        assert_eq!(
            short.reason,
            "data frame from VM 1 with a vector clock of 2 entries, expected 3"
        );
        let none = rejected(t.frame(ConnId::InProcess(vid(3)), &data_with_vc(3, 1, Vec::new())));
        assert!(
            none.reason.contains("of 0 entries, expected 3"),
            "{}",
            none.reason
        );
        // A run without vector clocks takes only empty ones.
        let mut off = ConnectionTable::new(vid(2), vec![vid(1), vid(3)], TOKEN, false);
        off.frame(ConnId::InProcess(vid(1)), &hello(1));
        assert!(matches!(
            off.frame(ConnId::InProcess(vid(1)), &data_with_vc(1, 1, Vec::new())),
            FrameOutcome::Data { .. }
        ));
        assert!(rejected(off.frame(ConnId::InProcess(vid(1)), &data(1, 2)))
            .reason
            .contains("of 3 entries, expected 0"));
    }

    #[test]
    fn the_hello_must_name_a_peer_this_connection_may_come_from() {
        let mut t = table();
        // Over TCP only a lower id dials VM 2.
        t.opened(ConnId::Tcp(0), Expect::LowerId);
        assert!(rejected(t.frame(ConnId::Tcp(0), &hello(3)))
            .reason
            .contains("not an expected peer"));
        // A dialed connection must be answered by the peer dialed.
        t.opened(ConnId::Tcp(1), Expect::Peer(vid(3)));
        rejected(t.frame(ConnId::Tcp(1), &hello(1)));
        // Itself, a stranger, or a wrong token.
        t.opened(ConnId::Tcp(2), Expect::AnyPeer);
        rejected(t.frame(ConnId::Tcp(2), &hello(2)));
        t.opened(ConnId::Tcp(3), Expect::AnyPeer);
        rejected(t.frame(ConnId::Tcp(3), &hello(9)));
        t.opened(ConnId::Tcp(4), Expect::AnyPeer);
        let mut wrong_token = hello(1);
        wrong_token[4] ^= 1;
        assert!(rejected(t.frame(ConnId::Tcp(4), &wrong_token))
            .reason
            .contains("token"));
    }

    #[test]
    fn a_peer_connects_once() {
        let mut t = table();
        assert_eq!(
            t.frame(ConnId::InProcess(vid(1)), &hello(1)),
            FrameOutcome::Identified(vid(1))
        );
        t.opened(ConnId::Tcp(0), Expect::AnyPeer);
        rejected(t.frame(ConnId::Tcp(0), &hello(1)));
    }

    #[test]
    fn a_goodbye_makes_the_end_orderly_and_its_absence_a_lost_peer() {
        let mut t = table();
        t.frame(ConnId::InProcess(vid(1)), &hello(1));
        t.frame(ConnId::InProcess(vid(3)), &hello(3));
        assert_eq!(
            t.frame(ConnId::InProcess(vid(1)), &Frame::Bye.encode()),
            FrameOutcome::Bye
        );
        assert_eq!(t.ended(ConnId::InProcess(vid(1))), Some((vid(1), true)));
        assert_eq!(t.ended(ConnId::InProcess(vid(3))), Some((vid(3), false)));
        assert_eq!(t.ended(ConnId::InProcess(vid(3))), None, "ends once");
        t.opened(ConnId::Tcp(0), Expect::LowerId);
        assert_eq!(t.ended(ConnId::Tcp(0)), None, "never said hello: no peer");
    }

    #[test]
    fn malformed_frames_and_failed_reads_close_the_connection() {
        let mut t = table();
        t.frame(ConnId::InProcess(vid(1)), &hello(1));
        let r = rejected(t.frame(ConnId::InProcess(vid(1)), &[2, 0]));
        assert_eq!(r.peer, Some(vid(1)));
        assert!(r.reason.starts_with("malformed frame"));
        t.opened(ConnId::Tcp(5), Expect::LowerId);
        assert_eq!(
            rejected(t.reject(ConnId::Tcp(5), "read failed".into())).reason,
            "read failed"
        );
        assert_eq!(
            t.reject(ConnId::Tcp(5), "again".into()),
            FrameOutcome::Ignored
        );
    }

    #[test]
    fn every_undeliverable_message_is_counted_and_warned_unless_its_peer_is_lost() {
        let mut t = table();
        assert!(t.undeliverable(vid(3)));
        t.lose(vid(3), None);
        assert!(!t.undeliverable(vid(3)));
        assert!(!t.undeliverable(vid(3)));
        assert_eq!(t.dropped().total, 3);
        assert!(t.dropped().by_fault.is_empty());
    }

    #[test]
    fn drops_are_owed_to_the_fault_that_lost_the_peer() {
        let mut t = table();
        t.lose(vid(1), Some(4));
        t.lose(vid(3), None);
        t.undeliverable(vid(1));
        t.undeliverable(vid(1));
        t.undeliverable(vid(3));
        t.dropped_by(2);
        assert_eq!(t.dropped().total, 4);
        assert_eq!(t.dropped().by_fault, BTreeMap::from([(2, 1), (4, 2)]));
    }

    /// VM 2 crashes with both peers connected: what still arrives on its old
    /// connections is lost to the crash, their ends are no peer's end, no
    /// hello gets in while it is down, and after the restart each peer
    /// comes back with a hello on a new connection.
    #[test]
    fn a_crashed_vm_counts_what_arrives_on_its_old_links_and_rejoins_after_restart() {
        let mut t = table();
        t.opened(ConnId::Tcp(0), Expect::LowerId);
        t.opened(ConnId::Tcp(1), Expect::Peer(vid(3)));
        assert_eq!(
            t.frame(ConnId::Tcp(0), &hello(1)),
            FrameOutcome::Identified(vid(1))
        );
        assert_eq!(
            t.frame(ConnId::Tcp(1), &hello(3)),
            FrameOutcome::Identified(vid(3))
        );
        t.crashed(7);
        assert_eq!(
            t.frame(ConnId::Tcp(0), &data(1, 9)),
            FrameOutcome::Lost(vid(1))
        );
        assert_eq!(
            t.frame(ConnId::Tcp(0), &Frame::Bye.encode()),
            FrameOutcome::Ignored
        );
        assert_eq!(t.defunct_open(), 2);
        assert_eq!(t.ended(ConnId::Tcp(0)), None);
        assert_eq!(t.defunct_open(), 1);
        // Down: even a lost peer's hello is refused.
        t.opened(ConnId::Tcp(2), Expect::LowerId);
        assert!(matches!(
            t.frame(ConnId::Tcp(2), &hello(1)),
            FrameOutcome::Rejected(_)
        ));
        // Messages for the lost peers are owed to the crash until they rejoin.
        t.restarted();
        assert!(!t.undeliverable(vid(3)));
        t.opened(ConnId::Tcp(3), Expect::Peer(vid(3)));
        t.opened(ConnId::Tcp(4), Expect::LowerId);
        assert_eq!(
            t.frame(ConnId::Tcp(3), &hello(3)),
            FrameOutcome::Rejoined(vid(3))
        );
        assert_eq!(
            t.frame(ConnId::Tcp(4), &hello(1)),
            FrameOutcome::Rejoined(vid(1))
        );
        assert!(!t.is_lost(vid(1)) && !t.is_lost(vid(3)));
        assert!(
            t.undeliverable(vid(3)),
            "a rejoined peer's drops are news again"
        );
        assert_eq!(t.dropped().by_fault, BTreeMap::from([(7, 2)]));
        assert_eq!(t.dropped().total, 3);
        // A peer that has not been lost cannot say hello twice.
        t.opened(ConnId::Tcp(5), Expect::LowerId);
        assert!(matches!(
            t.frame(ConnId::Tcp(5), &hello(1)),
            FrameOutcome::Rejected(_)
        ));
    }

    /// VM 2 lost VM 3 (a crash there): VM 3 may come back by dialing VM 2,
    /// although over TCP only lower ids dial.
    #[test]
    fn a_lost_peer_may_say_hello_again_on_a_connection_it_dials() {
        let mut t = table();
        t.opened(ConnId::Tcp(1), Expect::Peer(vid(3)));
        assert_eq!(
            t.frame(ConnId::Tcp(1), &hello(3)),
            FrameOutcome::Identified(vid(3))
        );
        assert_eq!(t.ended(ConnId::Tcp(1)), Some((vid(3), false)));
        t.lose(vid(3), Some(1));
        t.opened(ConnId::Tcp(2), Expect::LowerId);
        assert_eq!(
            t.frame(ConnId::Tcp(2), &hello(3)),
            FrameOutcome::Rejoined(vid(3))
        );
        assert_eq!(
            t.frame(ConnId::Tcp(2), &data(3, 1)),
            FrameOutcome::Data {
                peer: vid(3),
                message: Message {
                    from: vid(3),
                    seq: 1,
                    lc: 1,
                    vc: vec![1, 0, 0]
                },
                sent_at: 0,
            }
        );
    }

    #[test]
    fn a_lost_peer_is_no_longer_linked() {
        let mut t = ConnectionTable::new(vid(1), vec![vid(2)], TOKEN, true);
        t.linked(vid(2));
        t.lose(vid(2), None);
        t.frame(ConnId::InProcess(vid(2)), &hello(2));
        assert!(!t.take_ready());
    }

    #[test]
    fn control_frames_come_from_identified_peers_and_a_start_from_the_lowest_id_only() {
        let mut t = table();
        t.opened(ConnId::Tcp(0), Expect::LowerId);
        t.opened(ConnId::Tcp(1), Expect::Peer(vid(3)));
        let ready = Frame::Ready.encode();
        let start = Frame::Start { delay_us: 250_000 }.encode();
        // Before its hello, a control frame is no hello: refused.
        assert!(matches!(
            t.frame(ConnId::Tcp(1), &ready),
            FrameOutcome::Rejected(_)
        ));
        t.opened(ConnId::Tcp(1), Expect::Peer(vid(3)));
        t.frame(ConnId::Tcp(0), &hello(1));
        t.frame(ConnId::Tcp(1), &hello(3));
        assert_eq!(
            t.frame(ConnId::Tcp(1), &ready),
            FrameOutcome::Signal(ClusterSignal::Ready(vid(3)))
        );
        assert_eq!(
            t.frame(ConnId::Tcp(0), &start),
            FrameOutcome::Signal(ClusterSignal::Start(std::time::Duration::from_millis(250)))
        );
        // VM 3 is not the lowest id: its start word closes its connection.
        let refused = rejected(t.frame(ConnId::Tcp(1), &start));
        assert_eq!(refused.peer, Some(vid(3)));
        // The lowest id takes no start word from anyone.
        let mut lowest = ConnectionTable::new(vid(1), vec![vid(2)], TOKEN, true);
        lowest.opened(ConnId::Tcp(0), Expect::Peer(vid(2)));
        lowest.frame(ConnId::Tcp(0), &hello(2));
        assert!(matches!(
            lowest.frame(ConnId::Tcp(0), &start),
            FrameOutcome::Rejected(_)
        ));
    }

    #[test]
    fn an_authenticated_connection_may_say_hello_only_as_the_peer_it_proved_to_be() {
        let mut t = ConnectionTable::new(vid(3), vec![vid(1), vid(2)], TOKEN, true);
        t.opened(ConnId::Tcp(0), Expect::LowerId);
        t.authenticated(ConnId::Tcp(0), vid(1));
        let refused = rejected(t.frame(ConnId::Tcp(0), &hello(2)));
        assert!(
            refused.reason.contains("not an expected peer"),
            "{}",
            refused.reason
        );
        t.opened(ConnId::Tcp(1), Expect::LowerId);
        t.authenticated(ConnId::Tcp(1), vid(1));
        assert_eq!(
            t.frame(ConnId::Tcp(1), &hello(1)),
            FrameOutcome::Identified(vid(1))
        );
    }

    /// Between nodes every accepted connection first proves its peer. VM 3
    /// does not dial VM 2 to join (only lower ids do), but after its crash
    /// it dials every peer: VM 2 must take it back then, and only then.
    #[test]
    fn a_proven_higher_id_is_taken_only_when_it_comes_back_from_a_loss() {
        let mut t = table();
        t.opened(ConnId::Tcp(0), Expect::LowerId);
        t.authenticated(ConnId::Tcp(0), vid(3));
        let refused = rejected(t.frame(ConnId::Tcp(0), &hello(3)));
        assert!(refused.reason.contains("not an expected peer"));
        t.opened(ConnId::Tcp(1), Expect::Peer(vid(3)));
        assert_eq!(
            t.frame(ConnId::Tcp(1), &hello(3)),
            FrameOutcome::Identified(vid(3))
        );
        assert_eq!(t.ended(ConnId::Tcp(1)), Some((vid(3), false)));
        t.lose(vid(3), Some(1));
        t.opened(ConnId::Tcp(2), Expect::LowerId);
        t.authenticated(ConnId::Tcp(2), vid(3));
        assert_eq!(
            t.frame(ConnId::Tcp(2), &hello(3)),
            FrameOutcome::Rejoined(vid(3))
        );
        // Back, it is connected again: a further hello is refused.
        t.opened(ConnId::Tcp(3), Expect::LowerId);
        t.authenticated(ConnId::Tcp(3), vid(3));
        assert!(matches!(
            t.frame(ConnId::Tcp(3), &hello(3)),
            FrameOutcome::Rejected(_)
        ));
    }
}
