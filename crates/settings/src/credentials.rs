//! What a node of a cluster proves in its handshake: the cluster's secret
//! and the digest of the settings every node must share. They are made from
//! the settings and the cluster file ([`crate::cluster`]); the handshake
//! that proves them lives with the bridges, in the binary.

use lc_core::model::VmId;
use sha2::{Digest, Sha256};
use std::fmt;

const DIGEST_LEN: usize = 32;

/// The cluster's shared secret. Its `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// The secret itself, as the key of the handshake's HMAC.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

/// The SHA-256 digest of the settings a node runs: every node of a cluster
/// must have the same one.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SettingsDigest(pub [u8; DIGEST_LEN]);

impl SettingsDigest {
    /// The digest of a canonical text of the settings.
    pub fn of(canonical: &str) -> Self {
        Self(Sha256::digest(canonical.as_bytes()).into())
    }

    /// A run token made of it: nodes that passed the handshake have
    /// already compared their digests, so it is theirs to share.
    pub fn token(&self) -> u64 {
        u64::from_be_bytes(self.0[..8].try_into().expect("8 bytes"))
    }

    /// Its first 12 hex digits: enough to tell two digests apart in a line.
    pub fn short(&self) -> String {
        self.0[..6].iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for SettingsDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SettingsDigest({})", self.short())
    }
}

/// Who a node is and what it proves.
#[derive(Debug, Clone, PartialEq)]
pub struct Credentials {
    pub vm: VmId,
    pub secret: Secret,
    pub digest: SettingsDigest,
}
