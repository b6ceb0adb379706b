//! Who may hold one of a VM's sockets before proving it belongs to the run,
//! and for how long; and how the accept loop yields when the machine is out
//! of resources.
//!
//! A connection costs a file descriptor, a reader task and a slot in the
//! bridge's tables from the moment it is accepted, while it has proved
//! nothing. Left alone, an idle stranger holds all that for the whole run,
//! and enough of them exhaust the process's file descriptors, after which
//! `accept` fails at once, forever, and a loop around it spins. The rules,
//! all decided here so they can be tested without sockets:
//!
//! - [`HandshakeGate`]: a connection still in its handshake (no valid hello
//!   yet) is closed at [`HANDSHAKE_DEADLINE`]; and at most a fixed number of
//!   strangers may be in their handshake at once on one listener. A new
//!   connection beyond that cap is closed at once. The peers that still have
//!   to dial in get room of their own on top of the cap, because before
//!   their hello they look exactly like strangers: with 128 VMs, 127 peers
//!   may dial one listener in the same millisecond.
//! - [`AcceptBackoff`]: after a failed accept the loop pauses, 10 ms at
//!   first and twice as long after each further failure up to 1 s, so a
//!   process out of file descriptors waits for some to be freed instead of
//!   spinning.
//! - [`refusal_reason`] and [`out_of_files`] name what happened in the few
//!   words a WARN summary counts it under.

use std::collections::BTreeMap;
use std::io;
use std::ops::Add;
use std::time::Duration;

/// How long a connection may take to send a valid hello before it is
/// closed. A real peer sends its hello the moment it connects.
pub const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(3);
/// Strangers (connections that have not said hello, beyond the peers still
/// expected) one listener keeps in their handshake at once, at most.
pub const STRANGER_CAP: usize = 64;
/// The fewest such slots a run is started with when file descriptors are
/// short (see [`crate::file_budget`]).
pub(crate) const MIN_STRANGER_CAP: usize = 8;
/// The first pause after a failed accept.
pub const FIRST_ACCEPT_PAUSE: Duration = Duration::from_millis(10);
/// The longest pause between accepts while they keep failing.
pub const MAX_ACCEPT_PAUSE: Duration = Duration::from_secs(1);

/// The connections of one listener that are still in their handshake,
/// keyed by the driver's connection id `K`, with their deadlines.
#[derive(Debug)]
pub(crate) struct HandshakeGate<K, I> {
    stranger_cap: usize,
    /// Peers that may still dial this listener.
    expected: usize,
    deadline: Duration,
    pending: BTreeMap<K, I>,
    timer_armed: bool,
    over_cap: u64,
    timed_out: u64,
}

impl<K: Ord + Copy, I: Copy + Ord + Add<Duration, Output = I>> HandshakeGate<K, I> {
    /// A listener that `expected` peers will dial, which holds at most
    /// `stranger_cap` strangers besides them.
    pub fn new(stranger_cap: usize, expected: usize) -> Self {
        Self::with_deadline(stranger_cap, expected, HANDSHAKE_DEADLINE)
    }

    pub(crate) fn with_deadline(stranger_cap: usize, expected: usize, deadline: Duration) -> Self {
        Self {
            stranger_cap,
            expected,
            deadline,
            pending: BTreeMap::new(),
            timer_armed: false,
            over_cap: 0,
            timed_out: 0,
        }
    }

    /// Connections the listener keeps in their handshake at once: the
    /// strangers' cap plus the peers still expected.
    pub(crate) fn capacity(&self) -> usize {
        self.stranger_cap + self.expected
    }

    /// A connection was accepted at `now`. With room, `open` registers it
    /// and returns its id, and its deadline starts; without, `open` is never
    /// called, the refusal is counted and the driver closes the socket.
    pub(crate) fn admit(&mut self, now: I, open: impl FnOnce() -> K) -> Option<K> {
        if self.pending.len() >= self.capacity() {
            self.over_cap += 1;
            return None;
        }
        let conn = open();
        self.pending.insert(conn, now + self.deadline);
        Some(conn)
    }

    /// `conn` said a valid hello: it is a peer, no longer a stranger.
    pub(crate) fn identified(&mut self, conn: K) {
        if self.pending.remove(&conn).is_some() {
            self.expected = self.expected.saturating_sub(1);
        }
    }

    /// A peer that was lost may dial this listener again: room for one
    /// more handshake beyond the strangers' cap.
    pub(crate) fn expect_again(&mut self) {
        self.expected += 1;
    }

    /// `conn` was closed, or ended, before a valid hello.
    pub(crate) fn closed(&mut self, conn: K) {
        self.pending.remove(&conn);
    }

    /// The connections whose deadline has passed by `now`, forgotten here;
    /// the driver closes them.
    pub(crate) fn expired(&mut self, now: I) -> Vec<K> {
        let due: Vec<K> = self
            .pending
            .iter()
            .filter(|&(_, &deadline)| deadline <= now)
            .map(|(&conn, _)| conn)
            .collect();
        for conn in &due {
            self.pending.remove(conn);
        }
        self.timed_out += due.len() as u64;
        due
    }

    /// Every connection still in its handshake (the VM is stopping).
    pub(crate) fn close_all(&mut self) -> Vec<K> {
        std::mem::take(&mut self.pending).into_keys().collect()
    }

    /// When the driver should wake to close connections: the earliest
    /// deadline, unless a timer is already set (deadlines only grow, so it
    /// is never too late). Marks the timer as set.
    pub(crate) fn arm(&mut self) -> Option<I> {
        if self.timer_armed {
            return None;
        }
        let at = self.pending.values().min().copied()?;
        self.timer_armed = true;
        Some(at)
    }

    /// The driver's timer went off.
    pub(crate) fn timer_fired(&mut self) {
        self.timer_armed = false;
    }

    #[cfg(test)]
    /// Connections in their handshake now.
    pub(crate) fn pending(&self) -> usize {
        self.pending.len()
    }

    #[cfg(test)]
    /// Connections closed at once because the listener was full.
    pub(crate) fn over_cap(&self) -> u64 {
        self.over_cap
    }

    #[cfg(test)]
    /// Connections closed at their deadline.
    pub(crate) fn timed_out(&self) -> u64 {
        self.timed_out
    }
}

/// How long the accept loop pauses after a failure: doubling from
/// [`FIRST_ACCEPT_PAUSE`] to [`MAX_ACCEPT_PAUSE`], and back to nothing after
/// a success.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AcceptBackoff {
    next: Duration,
}

impl Default for AcceptBackoff {
    fn default() -> Self {
        Self {
            next: FIRST_ACCEPT_PAUSE,
        }
    }
}

impl AcceptBackoff {
    /// An accept failed: how long to pause before the next one.
    pub(crate) fn failed(&mut self) -> Duration {
        let pause = self.next;
        self.next = (self.next * 2).min(MAX_ACCEPT_PAUSE);
        pause
    }

    /// An accept succeeded: the next failure pauses briefly again.
    pub(crate) fn succeeded(&mut self) {
        self.next = FIRST_ACCEPT_PAUSE;
    }
}

/// What a refusal is counted under in a WARN summary: the kind of the
/// connection table's reason, without the details (addresses, ids, bytes)
/// that make every refusal's text different.
pub(crate) fn refusal_reason(reason: &str) -> &'static str {
    // The connection table gives its reasons as text; these are the
    // phrases its texts start with or contain (tests keep them in step).
    const KINDS: [(&str, &str); 10] = [
        ("wrong run token", "wrong run token"),
        ("not a hello", "first frame not a hello"),
        ("protocol version", "wrong protocol version"),
        ("not an expected peer", "unexpected VM id"),
        ("malformed first frame", "malformed first frame"),
        ("frame size too big", "frame over the size limit"),
        ("read failed", "read failed"),
        (HANDSHAKE_TIMEOUT, HANDSHAKE_TIMEOUT),
        (OVER_CAP, OVER_CAP),
        (STOPPED, STOPPED),
    ];
    KINDS
        .iter()
        .find(|(phrase, _)| reason.contains(phrase))
        .map_or("other", |&(_, kind)| kind)
}

/// The reason a connection is closed at its deadline.
pub(crate) const HANDSHAKE_TIMEOUT: &str = "handshake timeout";
/// The reason a connection is closed at once: the listener is full.
pub(crate) const OVER_CAP: &str = "too many connections in their handshake";
/// The reason a connection is closed when its VM stops.
pub(crate) const STOPPED: &str = "the VM stopped";

/// True when an error means the process (EMFILE) or the whole system
/// (ENFILE) has no file descriptor left.
pub(crate) fn out_of_files(error: &io::Error) -> bool {
    // EMFILE and ENFILE are 24 and 23 on Linux, macOS and the BSDs.
    matches!(error.raw_os_error(), Some(23 | 24))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connections::{ConnectionTable, Expect, FrameOutcome};
    use crate::messages::{ConnId, Frame, HandshakeError, PROTOCOL_VERSION};
    use lc_core::vm_id::VmId;

    /// A VM id written in a test.
    fn vid(n: u32) -> VmId {
        VmId::literal(n)
    }

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn strangers_beyond_the_cap_are_refused_and_counted() {
        let mut gate: HandshakeGate<u32, Duration> = HandshakeGate::new(2, 0);
        let mut next = 0;
        let mut open = || {
            next += 1;
            next
        };
        assert_eq!(gate.admit(s(0), &mut open), Some(1));
        assert_eq!(gate.admit(s(0), &mut open), Some(2));
        assert_eq!(gate.admit(s(0), &mut open), None, "full");
        assert_eq!(gate.admit(s(0), &mut open), None);
        assert_eq!(gate.over_cap(), 2);
        gate.closed(1);
        assert_eq!(gate.admit(s(1), &mut open), Some(3), "room again");
        assert_eq!(next, 3, "`open` runs only for admitted connections");
    }

    #[test]
    fn peers_still_expected_have_room_beyond_the_cap() {
        let mut gate: HandshakeGate<u32, Duration> = HandshakeGate::new(1, 3);
        for conn in 1..=4 {
            assert_eq!(gate.admit(s(0), || conn), Some(conn));
        }
        assert_eq!(gate.admit(s(0), || 5), None);
        // Two of them were peers: the room kept for peers shrinks, the
        // strangers' cap stays.
        gate.identified(1);
        gate.identified(2);
        assert_eq!(gate.capacity(), 2);
        assert_eq!(gate.pending(), 2);
        assert_eq!(gate.admit(s(0), || 6), None);
        // A connection identified twice, or never pending, changes nothing.
        gate.identified(1);
        gate.identified(99);
        assert_eq!(gate.capacity(), 2);
    }

    /// A lost peer that will dial again (after its crash) gets its room
    /// back, even with no room left for strangers.
    #[test]
    fn a_lost_peer_expected_again_has_room_beyond_a_full_cap() {
        let mut gate: HandshakeGate<u32, Duration> = HandshakeGate::new(0, 1);
        assert_eq!(gate.admit(s(0), || 1), Some(1));
        gate.identified(1);
        assert_eq!(gate.admit(s(0), || 2), None);
        gate.expect_again();
        assert_eq!(gate.admit(s(0), || 3), Some(3));
    }

    #[test]
    fn a_connection_without_a_hello_is_closed_at_its_deadline() {
        let mut gate: HandshakeGate<u32, Duration> = HandshakeGate::new(64, 0);
        gate.admit(s(10), || 1);
        gate.admit(s(11), || 2);
        gate.admit(s(12), || 3);
        gate.identified(2);
        assert_eq!(gate.arm(), Some(s(13)));
        assert_eq!(gate.arm(), None, "armed once");
        assert!(gate.expired(s(12)).is_empty());
        gate.timer_fired();
        assert_eq!(gate.expired(s(13)), vec![1]);
        assert_eq!(gate.arm(), Some(s(15)));
        gate.timer_fired();
        gate.closed(3);
        assert!(gate.expired(s(15)).is_empty());
        assert_eq!(gate.arm(), None, "nothing pending: no timer");
        assert_eq!(gate.timed_out(), 1);
    }

    #[test]
    fn stopping_closes_everything_still_in_its_handshake() {
        let mut gate: HandshakeGate<u32, Duration> = HandshakeGate::new(64, 1);
        gate.admit(s(0), || 7);
        gate.admit(s(0), || 8);
        assert_eq!(gate.close_all(), vec![7, 8]);
        assert_eq!(gate.pending(), 0);
        assert!(gate.expired(s(100)).is_empty());
    }

    #[test]
    fn accept_failures_back_off_doubling_to_a_second_and_reset_on_success() {
        let mut b = AcceptBackoff::default();
        let pauses: Vec<u64> = (0..10).map(|_| b.failed().as_millis() as u64).collect();
        assert_eq!(pauses, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
        b.succeeded();
        assert_eq!(b.failed(), FIRST_ACCEPT_PAUSE);
    }

    #[test]
    fn file_descriptor_exhaustion_is_recognised() {
        assert!(out_of_files(&io::Error::from_raw_os_error(24)));
        assert!(out_of_files(&io::Error::from_raw_os_error(23)));
        assert!(!out_of_files(&io::Error::from_raw_os_error(104)));
        assert!(!out_of_files(&io::Error::other("x")));
    }

    /// The connection table's refusals, as the bridge sees them.
    fn refusal(payload: &[u8]) -> String {
        let mut table = ConnectionTable::new(vid(2), vec![vid(1), vid(3)], 7, true);
        table.opened(ConnId::Tcp(0), Expect::LowerId);
        match table.frame(ConnId::Tcp(0), payload) {
            FrameOutcome::Rejected(r) => r.reason,
            other => panic!("{other:?}"),
        }
    }

    fn hello(version: u16, token: u64, vm: u32) -> Vec<u8> {
        Frame::Hello {
            version,
            token,
            vm: vid(vm),
        }
        .encode()
        .to_vec()
    }

    #[test]
    fn every_refusal_of_the_connection_table_has_a_short_reason() {
        let cases = [
            (refusal(&hello(PROTOCOL_VERSION, 8, 1)), "wrong run token"),
            (refusal(&Frame::Bye.encode()), "first frame not a hello"),
            (
                refusal(&hello(PROTOCOL_VERSION + 1, 7, 1)),
                "wrong protocol version",
            ),
            (refusal(&hello(PROTOCOL_VERSION, 7, 3)), "unexpected VM id"),
            (refusal(&hello(PROTOCOL_VERSION, 7, 99)), "unexpected VM id"),
            (refusal(b""), "malformed first frame"),
            (refusal(&[0xee, 1, 2]), "malformed first frame"),
            (
                format!(
                    "read failed: {}",
                    io::Error::new(io::ErrorKind::InvalidData, "frame size too big")
                ),
                "frame over the size limit",
            ),
            (
                format!("read failed: {}", io::Error::from_raw_os_error(104)),
                "read failed",
            ),
            (
                format!("no hello within 3 s ({HANDSHAKE_TIMEOUT})"),
                HANDSHAKE_TIMEOUT,
            ),
            (OVER_CAP.to_string(), OVER_CAP),
            (format!("{STOPPED} before it said hello"), STOPPED),
            ("something new".to_string(), "other"),
        ];
        for (reason, kind) in cases {
            assert_eq!(refusal_reason(&reason), kind, "{reason}");
        }
        // The texts behind them, straight from the handshake's errors.
        assert_eq!(
            refusal_reason(&HandshakeError::Token.to_string()),
            "wrong run token"
        );
    }
}
