//! The two protocols of the model: frames on the wire, and actor messages.
//!
//! On the wire every frame is length-delimited (tokio-util's codec supplies
//! the 4-byte length prefix) and carries one [`Frame`] encoded in a binary
//! layout of fixed-size fields (only a data frame's vector clock varies, and
//! its entry count comes first), so the bridge never merges or splits
//! messages and a reader can reject anything malformed without guessing. Each connection opens
//! with a [`Frame::Hello`] naming the sender (checked by [`check_hello`]);
//! then come [`Frame::Data`] frames, and an orderly close ends with
//! [`Frame::Bye`], so a reader can tell a peer that stopped from a
//! connection that was lost. A data frame ends with the sender's vector
//! clock, its length first, so its size follows the run's VM count; a run
//! without vector clocks sends an empty one, which keeps a single layout
//! for every run (see [`PROTOCOL_VERSION`]).
//!
//! The actor messages below are how the actors talk: the bridge puts
//! [`Deliver`] and [`PeerClosed`] into its VM's mailbox (which *is* the
//! VM's message queue), the VM hands outgoing messages to its bridge with
//! [`Transmit`], the connection tasks report to their bridge with
//! [`Inbound`] and [`LinkEnded`], and VMs and bridges report to the
//! supervisor. Faults add four: the supervisor tells each bridge the common
//! start ([`RunStarted`], from which the fault schedule counts), a crashing
//! VM tells its bridge to drop its links ([`Crash`]) and a restarted one to
//! dial again ([`Reconnect`]), and a bridge tells its VM that a lost peer is
//! back ([`PeerReopened`]). Besides messages, a VM shares counters with its bridge and
//! the supervisor ([`crate::actors::VmGauges`]: the queue length, which no
//! mailbox reports, its clock and the transit times), and the supervisor
//! announces the stop instant on a watch channel, because a VM's mailbox is
//! paused between ticks. Actors hold each other only as `Recipient`s of
//! these messages, so no actor's module names another's type.

use actix::Message as ActixMessage;
use bytes::{BufMut, Bytes, BytesMut};
use lc_core::accounting::Drops;
use lc_core::accounting::VmReport;
use lc_core::faults::FaultId;
use lc_core::model::{Message, VmId};
use std::io;

/// Bumped whenever the frame layout changes. Version 3 added the vector
/// clock at the end of every data frame, version 4 the cluster's [`Frame::Ready`]
/// and [`Frame::Start`]; a hello of any other version is refused (its
/// layout is the same in every version, so it can be read).
pub const PROTOCOL_VERSION: u16 = 4;
/// The most entries a vector clock on the wire may have: one per VM.
const MAX_VC_ENTRIES: usize = lc_settings::MAX_VMS as usize;
/// No valid frame is longer than this (a data frame with the largest vector
/// clock); the codec rejects larger length prefixes.
pub(crate) const MAX_FRAME_LEN: usize = DATA_LEN + 8 * MAX_VC_ENTRIES;

const HELLO_TAG: u8 = 1;
const DATA_TAG: u8 = 2;
const BYE_TAG: u8 = 3;
const READY_TAG: u8 = 4;
const START_TAG: u8 = 5;
const HELLO_LEN: usize = 1 + 2 + 8 + 4;
/// A data frame without its vector clock's entries: tag, from, seq, lc,
/// sent_at, and the number of entries (u16); then 8 bytes per entry.
const DATA_LEN: usize = 1 + 4 + 8 + 8 + 8 + 2;
const BYE_LEN: usize = 1;
const READY_LEN: usize = 1;
/// Tag and the start delay in microseconds.
const START_LEN: usize = 1 + 8;

/// One frame's payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// First frame of every connection: protocol version, the run's secret
    /// token, and the connecting VM's id.
    Hello { version: u16, token: u64, vm: VmId },
    /// A message (its vector clock included), with the time of its send
    /// event (µs since the Unix epoch, on the run's event clock) so the
    /// receiver can measure transit.
    Data { message: Message, sent_at: u64 },
    /// Last frame of an orderly close: nothing more will follow.
    Bye,
    /// A node of a cluster to the lowest id: every one of my peers is
    /// connected ([`lc_settings::cluster`]; never sent within one process).
    Ready,
    /// The lowest id to every other node, once all are ready: start
    /// ticking this long after this frame arrives.
    Start { delay_us: u64 },
}

/// Why a frame's payload was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("empty frame")]
    Empty,
    #[error("unknown frame tag {0}")]
    UnknownTag(u8),
    #[error("frame with tag {tag} has {len} bytes, expected {expected}")]
    BadLength {
        tag: u8,
        len: usize,
        expected: usize,
    },
    #[error("data frame with a vector clock of {0} entries, more than {MAX_VC_ENTRIES}")]
    TooManyEntries(usize),
    #[error("frame with tag {0} names VM 0; VM ids start at 1")]
    ZeroVm(u8),
}

impl Frame {
    /// The payload bytes (the codec adds the length prefix).
    pub fn encode(&self) -> Bytes {
        match self {
            &Frame::Hello { version, token, vm } => {
                let mut buf = BytesMut::with_capacity(HELLO_LEN);
                buf.put_u8(HELLO_TAG);
                buf.put_u16(version);
                buf.put_u64(token);
                buf.put_u32(vm.get());
                buf.freeze()
            }
            Frame::Data {
                message: Message { from, seq, lc, vc },
                sent_at,
            } => {
                debug_assert!(vc.len() <= MAX_VC_ENTRIES, "{} entries", vc.len());
                let mut buf = BytesMut::with_capacity(DATA_LEN + 8 * vc.len());
                buf.put_u8(DATA_TAG);
                buf.put_u32(from.get());
                buf.put_u64(*seq);
                buf.put_u64(*lc);
                buf.put_u64(*sent_at);
                buf.put_u16(vc.len() as u16);
                for &entry in vc {
                    buf.put_u64(entry);
                }
                buf.freeze()
            }
            Frame::Bye => Bytes::from_static(&[BYE_TAG]),
            Frame::Ready => Bytes::from_static(&[READY_TAG]),
            &Frame::Start { delay_us } => {
                let mut buf = BytesMut::with_capacity(START_LEN);
                buf.put_u8(START_TAG);
                buf.put_u64(delay_us);
                buf.freeze()
            }
        }
    }

    /// Parses one payload; never panics, whatever the bytes.
    pub fn decode(payload: &[u8]) -> Result<Frame, FrameError> {
        let (&tag, body) = payload.split_first().ok_or(FrameError::Empty)?;
        let u16_at = |i: usize| u16::from_be_bytes([body[i], body[i + 1]]);
        let expected = match tag {
            HELLO_TAG => HELLO_LEN,
            // The entry count is the last field before the entries.
            DATA_TAG if payload.len() >= DATA_LEN => {
                let entries = usize::from(u16_at(DATA_LEN - 3));
                if entries > MAX_VC_ENTRIES {
                    return Err(FrameError::TooManyEntries(entries));
                }
                DATA_LEN + 8 * entries
            }
            DATA_TAG => DATA_LEN,
            BYE_TAG => BYE_LEN,
            READY_TAG => READY_LEN,
            START_TAG => START_LEN,
            other => return Err(FrameError::UnknownTag(other)),
        };
        if payload.len() != expected {
            return Err(FrameError::BadLength {
                tag,
                len: payload.len(),
                expected,
            });
        }
        let u32_at = |i: usize| u32::from_be_bytes(body[i..i + 4].try_into().expect("4 bytes"));
        let u64_at = |i: usize| u64::from_be_bytes(body[i..i + 8].try_into().expect("8 bytes"));
        // The wire carries the bare number; 0 is no id, so no frame may name it.
        let vm_at = |i: usize| VmId::new(u32_at(i)).ok_or(FrameError::ZeroVm(tag));
        Ok(match tag {
            HELLO_TAG => Frame::Hello {
                version: u16_at(0),
                token: u64_at(2),
                vm: vm_at(10)?,
            },
            DATA_TAG => Frame::Data {
                message: Message {
                    from: vm_at(0)?,
                    seq: u64_at(4),
                    lc: u64_at(12),
                    vc: (DATA_LEN - 1..body.len()).step_by(8).map(u64_at).collect(),
                },
                sent_at: u64_at(20),
            },
            READY_TAG => Frame::Ready,
            START_TAG => Frame::Start {
                delay_us: u64_at(0),
            },
            _ => Frame::Bye,
        })
    }
}

/// Why a connection's first frame was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HandshakeError {
    #[error("malformed first frame: {0}")]
    Malformed(#[from] FrameError),
    #[error("first frame is {0:?}, not a hello")]
    NotHello(Frame),
    #[error("protocol version {0} refused: this build speaks version {PROTOCOL_VERSION} only")]
    Version(u16),
    #[error("wrong run token")]
    Token,
    #[error("hello from VM id {0}, which is not an expected peer (unknown or already connected)")]
    UnexpectedPeer(VmId),
}

/// Checks a connection's first frame: a hello of this protocol version,
/// with the run's token, from a peer `expected_peer` accepts. Returns the
/// peer's id. Pure, so it can be tested on arbitrary bytes.
pub(crate) fn check_hello(
    payload: &[u8],
    token: u64,
    expected_peer: impl Fn(VmId) -> bool,
) -> Result<VmId, HandshakeError> {
    match Frame::decode(payload)? {
        Frame::Hello { version, .. } if version != PROTOCOL_VERSION => {
            Err(HandshakeError::Version(version))
        }
        Frame::Hello { token: t, .. } if t != token => Err(HandshakeError::Token),
        Frame::Hello { vm, .. } if !expected_peer(vm) => Err(HandshakeError::UnexpectedPeer(vm)),
        Frame::Hello { vm, .. } => Ok(vm),
        other => Err(HandshakeError::NotHello(other)),
    }
}

/// Bridge → VM: a message arrived and now waits in the VM's mailbox.
#[derive(ActixMessage, Debug, Clone)]
#[rtype(result = "()")]
pub struct Deliver(pub Message);

/// Bridge → VM: the peer's connection reached its end; it sits in the
/// mailbox behind every frame that peer sent, so the VM knows nothing more
/// is on its way from there.
#[derive(ActixMessage, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct PeerClosed(pub VmId);

/// VM → bridge: send one message to these peers.
#[derive(ActixMessage, Debug, Clone)]
#[rtype(result = "()")]
pub struct Transmit {
    pub to: Vec<VmId>,
    pub message: Message,
    /// When the send event happened.
    pub sent_at: u64,
}

/// VM → bridge: the VM has stopped ticking; flush and close every outgoing
/// connection so the peers' readers reach their end.
#[derive(ActixMessage, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct CloseOutgoing;

/// Bridge → VM: every outgoing connection is closed; `dropped` messages
/// ended at this bridge: sent to a peer whose connection was already lost,
/// cut by a partition in drop mode, or arriving on a connection from before
/// the VM's crash.
#[derive(ActixMessage, Debug, Clone)]
#[rtype(result = "()")]
pub struct OutgoingClosed {
    pub dropped: Drops,
}

/// Bridge → VM: a lost peer is connected again (after its crash or the
/// VM's own); its stream's end must be waited for again.
#[derive(ActixMessage, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct PeerReopened(pub VmId);

/// VM → bridge: the VM crashes (fault `fault`): drop every connection
/// without a goodbye, and count what still arrives on them as lost.
#[derive(ActixMessage, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Crash {
    pub(crate) fault: FaultId,
}

/// VM → bridge: the VM has restarted: connect to every peer again.
#[derive(ActixMessage, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Reconnect;

/// Supervisor → bridge: the common start instant, from which the fault
/// schedule's times count.
#[derive(ActixMessage, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub(crate) struct RunStarted(pub actix::clock::Instant);

/// Supervisor → bridge (fault injection for tests): close every outgoing
/// connection abruptly, without the orderly goodbye, as a crash would.
#[derive(ActixMessage, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub(crate) struct DropOutgoing;

/// Supervisor → bridge (a node of a cluster): send this control frame
/// ([`Frame::Ready`] or [`Frame::Start`]) to `peer`.
#[derive(ActixMessage, Debug, Clone)]
#[rtype(result = "()")]
pub(crate) struct SendControl {
    pub(crate) peer: VmId,
    pub(crate) frame: Frame,
}

/// Bridge → supervisor (a node of a cluster): a peer's control frame.
#[derive(ActixMessage, Debug, Clone, Copy, PartialEq, Eq)]
#[rtype(result = "()")]
pub enum ClusterSignal {
    /// This peer has every one of its connections.
    Ready(VmId),
    /// The lowest id says: start this long from now.
    Start(std::time::Duration),
}

/// Bridge → supervisor: this VM's connections are all up (or failed).
#[derive(ActixMessage, Debug)]
#[rtype(result = "()")]
pub struct BridgeReady {
    pub(crate) result: Result<(), String>,
}

/// VM → supervisor: this VM has logged `stop`.
#[derive(ActixMessage, Debug)]
#[rtype(result = "()")]
pub struct VmStopped(pub VmReport);

/// One inbound connection, as the bridge names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConnId {
    /// A TCP connection, numbered by the bridge in the order it opened.
    Tcp(u64),
    /// The in-process link from this VM (virtual time).
    InProcess(VmId),
}

/// What happened on one inbound connection.
#[derive(Debug)]
pub enum InboundEvent {
    /// One frame's payload, or the read error that ends the connection.
    Frame(Result<BytesMut, io::Error>),
    /// A node's connection passed the handshake of [`crate::auth`]: it
    /// comes from `peer`, and its writing half is here.
    Authenticated {
        peer: VmId,
        writer: tokio::net::tcp::OwnedWriteHalf,
    },
    /// A node's connection failed that handshake; its reader has ended.
    AuthFailed(crate::auth::AuthError),
    End,
}

/// Connection → bridge: an inbound event, tagged with its connection.
#[derive(ActixMessage, Debug)]
#[rtype(result = "()")]
pub struct Inbound {
    pub conn: ConnId,
    pub event: InboundEvent,
}

/// A TCP writer's task → bridge: the link to `peer` has ended, every frame
/// written, or not (`failure`).
#[derive(ActixMessage, Debug)]
#[rtype(result = "()")]
pub(crate) struct LinkEnded {
    pub(crate) peer: VmId,
    pub(crate) failure: Option<WriteFailure>,
}

/// Why a link's writing failed, and the messages it lost: each one is
/// counted as dropped.
#[derive(Debug)]
pub(crate) struct WriteFailure {
    pub(crate) error: io::Error,
    pub(crate) lost: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VM id written in a test.
    fn vid(n: u32) -> VmId {
        VmId::literal(n)
    }

    #[test]
    fn frames_round_trip() {
        let frames = [
            Frame::Hello {
                version: PROTOCOL_VERSION,
                token: u64::MAX - 3,
                vm: vid(7),
            },
            Frame::Data {
                message: Message {
                    from: vid(3),
                    seq: 1 << 40,
                    lc: 99,
                    vc: vec![7, u64::MAX, 0],
                },
                sent_at: 1_795_626_579_802_378,
            },
            // A run without vector clocks sends an empty one.
            Frame::Data {
                message: Message {
                    from: vid(2),
                    seq: 1,
                    lc: 1,
                    vc: Vec::new(),
                },
                sent_at: 0,
            },
            // The largest: one entry for each of the most VMs a run may have.
            Frame::Data {
                message: Message {
                    from: vid(128),
                    seq: 5,
                    lc: 9,
                    vc: (0..MAX_VC_ENTRIES as u64).collect(),
                },
                sent_at: 3,
            },
            Frame::Bye,
            Frame::Ready,
            Frame::Start { delay_us: 250_000 },
        ];
        for frame in frames {
            let bytes = frame.encode();
            assert!(bytes.len() <= MAX_FRAME_LEN);
            assert_eq!(Frame::decode(&bytes), Ok(frame));
        }
    }

    #[test]
    fn a_data_frame_grows_by_eight_bytes_per_vector_clock_entry() {
        let data = |vc: Vec<u64>| Frame::Data {
            message: Message {
                from: vid(1),
                seq: 1,
                lc: 1,
                vc,
            },
            sent_at: 0,
        };
        assert_eq!(data(Vec::new()).encode().len(), DATA_LEN);
        assert_eq!(data(vec![1, 2, 3]).encode().len(), DATA_LEN + 24);
        assert_eq!(
            data((0..MAX_VC_ENTRIES as u64).collect()).encode().len(),
            MAX_FRAME_LEN
        );
    }

    #[test]
    fn malformed_payloads_are_rejected() {
        assert_eq!(Frame::decode(&[]), Err(FrameError::Empty));
        assert_eq!(Frame::decode(&[9, 0, 0]), Err(FrameError::UnknownTag(9)));
        let data = Frame::Data {
            message: Message {
                from: vid(1),
                seq: 1,
                lc: 1,
                vc: vec![1, 0],
            },
            sent_at: 0,
        }
        .encode();
        assert!(matches!(
            Frame::decode(&data[..data.len() - 1]),
            Err(FrameError::BadLength { .. })
        ));
        // Cut before the entry count, too.
        assert!(matches!(
            Frame::decode(&data[..DATA_LEN - 1]),
            Err(FrameError::BadLength { .. })
        ));
        let mut longer = data.to_vec();
        longer.push(0);
        assert!(Frame::decode(&longer).is_err());
        // An entry count that claims more entries than any run has VMs.
        let mut crowded = data.to_vec();
        crowded[DATA_LEN - 2..DATA_LEN].copy_from_slice(&1000u16.to_be_bytes());
        assert_eq!(
            Frame::decode(&crowded),
            Err(FrameError::TooManyEntries(1000))
        );
    }

    /// The wire carries ids as bare numbers; a frame naming VM 0 names no
    /// VM, so it is malformed rather than an id the table would look up.
    #[test]
    fn a_frame_naming_vm_0_is_malformed() {
        let mut hello = hello(PROTOCOL_VERSION, 7, 5).to_vec();
        let at = hello.len() - 4;
        hello[at..].copy_from_slice(&0u32.to_be_bytes());
        assert_eq!(Frame::decode(&hello), Err(FrameError::ZeroVm(HELLO_TAG)));
        assert_eq!(
            check_hello(&hello, 7, |_| true),
            Err(HandshakeError::Malformed(FrameError::ZeroVm(HELLO_TAG)))
        );
        let data = Frame::Data {
            message: Message {
                from: vid(4),
                seq: 1,
                lc: 1,
                vc: Vec::new(),
            },
            sent_at: 0,
        };
        let mut data = data.encode().to_vec();
        data[1..5].copy_from_slice(&0u32.to_be_bytes());
        assert_eq!(Frame::decode(&data), Err(FrameError::ZeroVm(DATA_TAG)));
        assert_eq!(
            FrameError::ZeroVm(DATA_TAG).to_string(),
            "frame with tag 2 names VM 0; VM ids start at 1"
        );
    }

    /// A peer of the previous protocol (without the nodes' control frames)
    /// says hello in the same layout, so its version can be read and named.
    #[test]
    fn a_hello_of_the_previous_version_is_refused_naming_both_versions() {
        let old = PROTOCOL_VERSION - 1;
        assert_eq!(old, 3);
        let error = check_hello(&hello(old, 7, 2), 7, |_| true).unwrap_err();
        assert_eq!(error, HandshakeError::Version(3));
        assert_eq!(
            error.to_string(),
            "protocol version 3 refused: this build speaks version 4 only"
        );
        // Version comes first: the old peer is told so even with a wrong token.
        assert_eq!(
            check_hello(&hello(old, 8, 2), 7, |_| true),
            Err(HandshakeError::Version(3))
        );
    }

    fn hello(version: u16, token: u64, vm: u32) -> Bytes {
        Frame::Hello {
            version,
            token,
            vm: vid(vm),
        }
        .encode()
    }

    #[test]
    fn the_handshake_accepts_only_an_expected_peer_with_the_token() {
        let expected = |vm| vm == vid(2) || vm == vid(3);
        assert_eq!(
            check_hello(&hello(PROTOCOL_VERSION, 7, 2), 7, expected),
            Ok(vid(2))
        );
        assert_eq!(
            check_hello(&hello(PROTOCOL_VERSION, 8, 2), 7, expected),
            Err(HandshakeError::Token)
        );
        assert_eq!(
            check_hello(&hello(PROTOCOL_VERSION + 1, 7, 2), 7, expected),
            Err(HandshakeError::Version(PROTOCOL_VERSION + 1))
        );
        assert_eq!(
            check_hello(&hello(PROTOCOL_VERSION, 7, 9), 7, expected),
            Err(HandshakeError::UnexpectedPeer(vid(9)))
        );
        assert!(matches!(
            check_hello(&Frame::Bye.encode(), 7, expected),
            Err(HandshakeError::NotHello(Frame::Bye))
        ));
    }

    /// Random bytes, through the same length-delimited codec the bridge
    /// uses: nothing panics, and nothing but a genuine hello gets in.
    #[test]
    fn random_bytes_never_panic_and_never_pass_the_handshake() {
        use rand::{rngs::StdRng, RngExt, SeedableRng};
        use tokio_util::codec::{Decoder, LengthDelimitedCodec};
        let mut rng = StdRng::seed_from_u64(2026);
        let token: u64 = rng.random();
        let mut accepted = 0;
        for round in 0..20_000 {
            let len = rng.random_range(0..80);
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            if round % 4 == 0 && len > 0 {
                // Make the length prefix plausible more often than chance.
                bytes.splice(0..0, (len as u32).to_be_bytes());
            }
            let mut codec = LengthDelimitedCodec::builder()
                .max_frame_length(MAX_FRAME_LEN)
                .new_codec();
            let mut buf = BytesMut::from(&bytes[..]);
            while let Ok(Some(frame)) = codec.decode(&mut buf) {
                let _ = Frame::decode(&frame);
                if check_hello(&frame, token, |_| true).is_ok() {
                    accepted += 1;
                }
            }
        }
        assert_eq!(accepted, 0, "random bytes guessed the token");
    }
}
