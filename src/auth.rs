//! How two nodes of a cluster prove to each other that they share its
//! secret and its settings, before a single frame of the model passes.
//!
//! When every VM runs in its own process (`logical-clocks node`), their
//! connections cross a real network, where the run's token in the clear
//! (enough between the bridges of one process) would be read by anyone on
//! the path and replayed. So each TCP connection between nodes opens with a
//! challenge and an answer, both length-prefixed like every frame:
//!
//! 1. the dialer sends its hello: protocol version, its VM id, a fresh
//!    random challenge (16 bytes) and the digest of its settings;
//! 2. the acceptor checks the version and that the dialer is a peer it
//!    expects, and answers with its own hello and challenge;
//! 3. the dialer sends its proof: an HMAC-SHA256, keyed with the secret,
//!    over the acceptor's challenge, both ids, its role and its digest;
//! 4. the acceptor checks it and only then sends its own proof over the
//!    dialer's challenge; the dialer checks that.
//!
//! The secret never crosses the network, and every proof answers a
//! challenge its verifier has just drawn, so a recorded handshake proves
//! nothing to anyone later. The acceptor proves itself only to a dialer
//! that has already proved itself, and each proof names its role and both
//! ends, so a node cannot be made to answer a challenge on someone else's
//! behalf. Each proof covers its sender's settings digest, so a peer that
//! runs other settings is told apart, for sure, from one with another
//! secret: both sides learn "your settings differ" (a node refuses to start
//! then) or "that peer does not know the secret" (a WARN; the connection
//! is closed). What follows the handshake is the model's usual protocol
//! ([`crate::messages`]), in the clear: this is authentication, not
//! encryption.
//!
//! The frames and the proof are pure and tested here on their own; the one
//! async function, [`authenticate`], runs the exchange on any byte stream.

use hmac::{Hmac, Mac};
use lc_core::model::VmId;
pub(crate) use lc_settings::credentials::{Credentials, Secret, SettingsDigest};
use sha2::Sha256;
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Bumped whenever the handshake's layout or proof changes.
pub(crate) const AUTH_VERSION: u16 = 1;
const HELLO_TAG: u8 = 0xA1;
const PROOF_TAG: u8 = 0xA2;
const NONCE_LEN: usize = 16;
const MAC_LEN: usize = 32;
/// tag, version, vm, challenge, digest.
const HELLO_LEN: usize = 1 + 2 + 4 + NONCE_LEN + DIGEST_LEN;
const DIGEST_LEN: usize = std::mem::size_of::<SettingsDigest>();
const PROOF_LEN: usize = 1 + MAC_LEN;
/// What every proof's HMAC starts with, so it can mean nothing else.
const PROOF_CONTEXT: &[u8] = b"logical-clocks node proof v1";

type HmacSha256 = Hmac<Sha256>;

/// Which end of the connection a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Dialer,
    Acceptor,
}

/// A fresh random challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Challenge(pub [u8; NONCE_LEN]);

impl Challenge {
    /// Drawn from the thread's cryptographically secure generator.
    pub(crate) fn fresh() -> Self {
        Self(rand::random::<u128>().to_be_bytes())
    }
}

/// One handshake frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuthFrame {
    Hello {
        version: u16,
        vm: VmId,
        challenge: Challenge,
        digest: SettingsDigest,
    },
    Proof([u8; MAC_LEN]),
}

impl AuthFrame {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HELLO_LEN);
        match self {
            AuthFrame::Hello {
                version,
                vm,
                challenge,
                digest,
            } => {
                out.push(HELLO_TAG);
                out.extend_from_slice(&version.to_be_bytes());
                out.extend_from_slice(&vm.get().to_be_bytes());
                out.extend_from_slice(&challenge.0);
                out.extend_from_slice(&digest.0);
            }
            AuthFrame::Proof(mac) => {
                out.push(PROOF_TAG);
                out.extend_from_slice(mac);
            }
        }
        out
    }

    /// Parses one payload; never panics, whatever the bytes. A hello of
    /// another version is read as far as its version, so that peer can be
    /// told which version this build speaks.
    pub(crate) fn decode(payload: &[u8]) -> Result<AuthFrame, AuthError> {
        let malformed = |what: &str| AuthError::Malformed(what.to_string());
        match payload.first() {
            Some(&HELLO_TAG) if payload.len() >= 3 => {
                let version = u16::from_be_bytes([payload[1], payload[2]]);
                if version != AUTH_VERSION {
                    return Err(AuthError::Version(version));
                }
                if payload.len() != HELLO_LEN {
                    return Err(malformed("a hello of the wrong length"));
                }
                let vm = u32::from_be_bytes(payload[3..7].try_into().expect("4 bytes"));
                let vm =
                    VmId::new(vm).ok_or_else(|| malformed("a hello from VM 0 (ids start at 1)"))?;
                Ok(AuthFrame::Hello {
                    version,
                    vm,
                    challenge: Challenge(payload[7..7 + NONCE_LEN].try_into().expect("16 bytes")),
                    digest: SettingsDigest(payload[7 + NONCE_LEN..].try_into().expect("32 bytes")),
                })
            }
            Some(&PROOF_TAG) if payload.len() == PROOF_LEN => {
                Ok(AuthFrame::Proof(payload[1..].try_into().expect("32 bytes")))
            }
            Some(&PROOF_TAG) => Err(malformed("a proof of the wrong length")),
            Some(_) => Err(malformed("not a node handshake frame")),
            None => Err(malformed("an empty frame")),
        }
    }
}

/// Why a handshake failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the connection failed during the handshake: {0}")]
    Io(#[from] io::Error),
    #[error("malformed handshake: {0}")]
    Malformed(String),
    #[error("handshake version {0} refused: this build speaks version {AUTH_VERSION} only")]
    Version(u16),
    #[error("hello from VM id {0}, which is not an expected peer (unknown, this node, or already connected)")]
    UnexpectedPeer(VmId),
    #[error("VM {0} could not prove it knows the cluster's secret (does it have another secret?)")]
    BadProof(VmId),
    #[error(
        "VM {0} closed the connection on this node's proof: it does not take this node's \
         secret (do the two have different secrets?)"
    )]
    ProofRefused(VmId),
    #[error(
        "VM {peer} runs other settings (digest {theirs} against this node's {ours}): \
         every node must run the same cluster file"
    )]
    SettingsDiffer {
        peer: VmId,
        ours: String,
        theirs: String,
    },
}

impl AuthError {
    /// Whether the error means this node must not start: a peer that
    /// proved itself but runs other settings.
    pub(crate) fn is_fatal(&self) -> bool {
        matches!(self, AuthError::SettingsDiffer { .. })
    }
}

/// What a proof asserts: `prover`, in `role`, answers `verifier`'s own
/// `challenge` and runs the settings of `digest`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Claim<'a> {
    pub(crate) role: Role,
    pub(crate) prover: VmId,
    pub(crate) verifier: VmId,
    pub(crate) challenge: &'a Challenge,
    pub(crate) digest: &'a SettingsDigest,
}

impl Claim<'_> {
    /// The proof of this claim, keyed with `secret`.
    pub(crate) fn prove(&self, secret: &Secret) -> [u8; MAC_LEN] {
        self.mac(secret).finalize().into_bytes().into()
    }

    /// Whether `tag` proves this claim with `secret` (checked in constant
    /// time).
    pub(crate) fn verify(&self, secret: &Secret, tag: &[u8; MAC_LEN]) -> bool {
        self.mac(secret).verify_slice(tag).is_ok()
    }

    fn mac(&self, secret: &Secret) -> HmacSha256 {
        let mut mac =
            HmacSha256::new_from_slice(secret.bytes()).expect("HMAC takes a key of any length");
        mac.update(PROOF_CONTEXT);
        mac.update(&[match self.role {
            Role::Dialer => 1,
            Role::Acceptor => 2,
        }]);
        mac.update(&self.prover.get().to_be_bytes());
        mac.update(&self.verifier.get().to_be_bytes());
        mac.update(&self.challenge.0);
        mac.update(&self.digest.0);
        mac
    }
}

/// Runs the handshake on `stream` as `role`; returns the authenticated
/// peer. `dialed` is the peer a dialer called; an acceptor takes any peer
/// `expected` accepts. Reads exactly the handshake's bytes, so the stream
/// goes on with the model's frames.
pub(crate) async fn authenticate<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    me: &Credentials,
    role: Role,
    expected: impl Fn(VmId) -> bool,
) -> Result<VmId, AuthError> {
    let mine = Challenge::fresh();
    let hello = AuthFrame::Hello {
        version: AUTH_VERSION,
        vm: me.vm,
        challenge: mine,
        digest: me.digest,
    };
    if role == Role::Dialer {
        write_frame(stream, &hello).await?;
    }
    let (peer, theirs, their_digest) = match read_frame(stream).await? {
        AuthFrame::Hello {
            vm,
            challenge,
            digest,
            ..
        } if vm != me.vm && expected(vm) => (vm, challenge, digest),
        AuthFrame::Hello { vm, .. } => return Err(AuthError::UnexpectedPeer(vm)),
        AuthFrame::Proof(_) => return Err(AuthError::Malformed("a proof before the hello".into())),
    };
    let my_proof = || {
        AuthFrame::Proof(
            Claim {
                role,
                prover: me.vm,
                verifier: peer,
                challenge: &theirs,
                digest: &me.digest,
            }
            .prove(&me.secret),
        )
    };
    match role {
        Role::Dialer => write_frame(stream, &my_proof()).await?,
        Role::Acceptor => write_frame(stream, &hello).await?,
    }
    let their_role = match role {
        Role::Dialer => Role::Acceptor,
        Role::Acceptor => Role::Dialer,
    };
    let answer = match read_frame(stream).await {
        // An acceptor that refuses a proof closes without its own (the
        // close can arrive as a reset, when it had not read everything).
        Err(AuthError::Io(e))
            if role == Role::Dialer
                && matches!(
                    e.kind(),
                    io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset
                ) =>
        {
            return Err(AuthError::ProofRefused(peer))
        }
        other => other?,
    };
    match answer {
        AuthFrame::Proof(tag)
            if Claim {
                role: their_role,
                prover: peer,
                verifier: me.vm,
                challenge: &mine,
                digest: &their_digest,
            }
            .verify(&me.secret, &tag) => {}
        AuthFrame::Proof(_) => return Err(AuthError::BadProof(peer)),
        AuthFrame::Hello { .. } => return Err(AuthError::Malformed("a second hello".into())),
    }
    if role == Role::Acceptor {
        write_frame(stream, &my_proof()).await?;
    }
    if their_digest != me.digest {
        return Err(AuthError::SettingsDiffer {
            peer,
            ours: me.digest.short(),
            theirs: their_digest.short(),
        });
    }
    Ok(peer)
}

async fn write_frame<S: AsyncWrite + Unpin>(stream: &mut S, frame: &AuthFrame) -> io::Result<()> {
    let payload = frame.encode();
    let mut bytes = (payload.len() as u32).to_be_bytes().to_vec();
    bytes.extend_from_slice(&payload);
    stream.write_all(&bytes).await?;
    stream.flush().await
}

/// Reads one length-prefixed handshake frame, and not a byte more.
async fn read_frame<S: AsyncRead + Unpin>(stream: &mut S) -> Result<AuthFrame, AuthError> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len == 0 || len > HELLO_LEN {
        return Err(AuthError::Malformed(format!(
            "a frame of {len} bytes (a handshake frame has at most {HELLO_LEN})"
        )));
    }
    let mut payload = vec![0u8; len];
    stream.read_exact(&mut payload).await?;
    AuthFrame::decode(&payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::duplex;

    /// A VM id written in a test.
    fn vid(n: u32) -> VmId {
        VmId::literal(n)
    }

    fn credentials(vm: VmId, secret: &str, settings: &str) -> Credentials {
        Credentials {
            vm,
            secret: Secret::new(secret.as_bytes()),
            digest: SettingsDigest::of(settings),
        }
    }

    /// Runs a handshake between a dialer and an acceptor over an in-memory
    /// pipe; returns what each side concluded.
    async fn shake(
        dialer: Credentials,
        acceptor: Credentials,
    ) -> (Result<VmId, AuthError>, Result<VmId, AuthError>) {
        // Each side owns its end, so its end closes when it gives up.
        let (mut a, mut b) = duplex(1024);
        let dialed = acceptor.vm;
        let accepting = acceptor.vm;
        tokio::join!(
            async move { authenticate(&mut a, &dialer, Role::Dialer, |vm| vm == dialed).await },
            async move { authenticate(&mut b, &acceptor, Role::Acceptor, |vm| vm < accepting).await },
        )
    }

    #[tokio::test]
    async fn two_nodes_with_the_secret_and_the_settings_know_each_other() {
        let (d, a) = shake(credentials(vid(1), "s", "x"), credentials(vid(2), "s", "x")).await;
        assert_eq!(d.unwrap(), vid(2));
        assert_eq!(a.unwrap(), vid(1));
    }

    #[tokio::test]
    async fn another_secret_is_refused_and_the_acceptor_never_answers_it() {
        let (d, a) = shake(
            credentials(vid(1), "wrong", "x"),
            credentials(vid(2), "s", "x"),
        )
        .await;
        assert!(
            matches!(a, Err(AuthError::BadProof(vm)) if vm == vid(1)),
            "{a:?}"
        );
        // The acceptor closed without its proof: the dialer learns only that.
        assert!(
            matches!(d, Err(AuthError::ProofRefused(vm)) if vm == vid(2)),
            "{d:?}"
        );
        let (d, a) = shake(
            credentials(vid(1), "s", "x"),
            credentials(vid(2), "wrong", "x"),
        )
        .await;
        assert!(
            matches!(a, Err(AuthError::BadProof(vm)) if vm == vid(1)),
            "{a:?}"
        );
        assert!(d.is_err());
    }

    #[tokio::test]
    async fn other_settings_are_fatal_on_both_sides_and_name_both_digests() {
        let (d, a) = shake(credentials(vid(1), "s", "x"), credentials(vid(2), "s", "y")).await;
        for result in [&d, &a] {
            let error = result.as_ref().unwrap_err();
            assert!(error.is_fatal(), "{error}");
        }
        let line = d.unwrap_err().to_string();
        let ours = SettingsDigest::of("x").short();
        let theirs = SettingsDigest::of("y").short();
        assert!(line.contains(&ours) && line.contains(&theirs), "{line}");
    }

    #[tokio::test]
    async fn an_unexpected_peer_is_refused_before_any_proof() {
        // VM 3 may not dial VM 2 (only lower ids do).
        let (d, a) = shake(credentials(vid(3), "s", "x"), credentials(vid(2), "s", "x")).await;
        assert!(
            matches!(a, Err(AuthError::UnexpectedPeer(vm)) if vm == vid(3)),
            "{a:?}"
        );
        assert!(d.is_err());
    }

    #[test]
    fn a_proof_answers_one_challenge_one_role_one_pair_only() {
        let secret = Secret::new(b"s".to_vec());
        let digest = SettingsDigest::of("x");
        let challenge = Challenge::fresh();
        let claim = Claim {
            role: Role::Dialer,
            prover: vid(1),
            verifier: vid(2),
            challenge: &challenge,
            digest: &digest,
        };
        let tag = claim.prove(&secret);
        assert!(claim.verify(&secret, &tag));
        // A recorded proof, replayed against a fresh challenge.
        let fresh = Challenge::fresh();
        assert_ne!(fresh, challenge);
        let other = SettingsDigest::of("y");
        let others = [
            Claim {
                challenge: &fresh,
                ..claim
            },
            // Reflected in the other role, or between other ids.
            Claim {
                role: Role::Acceptor,
                ..claim
            },
            Claim {
                prover: vid(2),
                verifier: vid(1),
                ..claim
            },
            // Over other settings.
            Claim {
                digest: &other,
                ..claim
            },
        ];
        for other in others {
            assert!(!other.verify(&secret, &tag), "{other:?}");
        }
        // With another secret.
        assert!(!claim.verify(&Secret::new(b"t".to_vec()), &tag));
    }

    /// A dialer that replays the frames of a recorded, successful handshake.
    #[tokio::test]
    async fn a_recorded_handshake_cannot_be_replayed() {
        let secret = "s";
        let settings = "x";
        // Record what a genuine dialer sent in one handshake.
        let (mut a, mut b) = duplex(1024);
        let dialer = credentials(vid(1), secret, settings);
        let acceptor = credentials(vid(2), secret, settings);
        let (recorded, accepted) = tokio::join!(
            async {
                let mut recorder = Recorder {
                    inner: &mut a,
                    sent: Vec::new(),
                };
                let result =
                    authenticate(&mut recorder, &dialer, Role::Dialer, |vm| vm == vid(2)).await;
                assert_eq!(result.unwrap(), vid(2));
                recorder.sent
            },
            authenticate(&mut b, &acceptor, Role::Acceptor, |vm| vm == vid(1)),
        );
        assert_eq!(accepted.unwrap(), vid(1));
        // Replay those bytes to a new handshake of the same acceptor.
        let (mut a, mut b) = duplex(1024);
        let (_, replayed) = tokio::join!(
            async move {
                a.write_all(&recorded).await.unwrap();
                let mut sink = Vec::new();
                let _ = a.read_to_end(&mut sink).await;
            },
            async move { authenticate(&mut b, &acceptor, Role::Acceptor, |vm| vm == vid(1)).await },
        );
        assert!(
            matches!(replayed, Err(AuthError::BadProof(vm)) if vm == vid(1)),
            "{replayed:?}"
        );
    }

    #[test]
    fn frames_round_trip_and_junk_never_panics() {
        let hello = AuthFrame::Hello {
            version: AUTH_VERSION,
            vm: vid(7),
            challenge: Challenge::fresh(),
            digest: SettingsDigest::of("x"),
        };
        assert_eq!(AuthFrame::decode(&hello.encode()).unwrap(), hello);
        let proof = AuthFrame::Proof([9; MAC_LEN]);
        assert_eq!(AuthFrame::decode(&proof.encode()).unwrap(), proof);
        let mut old = hello.encode();
        old[2] = 0;
        assert!(matches!(
            AuthFrame::decode(&old),
            Err(AuthError::Version(0))
        ));
        for len in 0..80 {
            for fill in [0u8, HELLO_TAG, PROOF_TAG, 0xff] {
                let _ = AuthFrame::decode(&vec![fill; len]);
            }
        }
    }

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let c = credentials(vid(1), "hunter2", "x");
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    /// Passes bytes through, keeping a copy of everything written.
    struct Recorder<'a, S> {
        inner: &'a mut S,
        sent: Vec<u8>,
    }

    impl<S: AsyncRead + Unpin> AsyncRead for Recorder<'_, S> {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            std::pin::Pin::new(&mut *self.inner).poll_read(cx, buf)
        }
    }

    impl<S: AsyncWrite + Unpin> AsyncWrite for Recorder<'_, S> {
        fn poll_write(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<io::Result<usize>> {
            let this = &mut *self;
            let poll = std::pin::Pin::new(&mut *this.inner).poll_write(cx, buf);
            if let std::task::Poll::Ready(Ok(n)) = &poll {
                this.sent.extend_from_slice(&buf[..*n]);
            }
            poll
        }

        fn poll_flush(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            std::pin::Pin::new(&mut *self.inner).poll_flush(cx)
        }

        fn poll_shutdown(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            std::pin::Pin::new(&mut *self.inner).poll_shutdown(cx)
        }
    }
}
