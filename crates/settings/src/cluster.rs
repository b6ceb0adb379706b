//! The cluster file: the VMs of a run spread over processes or hosts, one
//! VM per node (`logical-clocks node --id K --cluster FILE`).
//!
//! A cluster file is a settings file (every key of `Settings.toml`, in the
//! same layers: the file, then `LOGICAL_CLOCKS_*` variables) with three
//! more things: the nodes, `[[peers]]` entries with an `id` and an `addr`
//! (`host:port`, a name or an address), the shared secret (`secret`, or
//! `secret_file`, or the variable `LOGICAL_CLOCKS_SECRET`, which wins), and
//! `connect_timeout`, how long a node waits for all its peers. Every node
//! reads the whole file and checks it the same way, so a node and its
//! peers fail on the same mistake with the same line; what they must agree
//! on (the model's settings and the peer list, never the secret or where
//! a node writes its logs) is digested into a [`SettingsDigest`] that the
//! handshake compares ([`crate::auth`]). For the same reason the seed must
//! be fixed in the file: every node draws every VM's rate and phase from it.
//!
//! Kept apart from the actors: this is where a node's [`NodeSpec`] comes
//! from, checked, and nothing here opens a socket.

use crate::credentials::{Credentials, Secret, SettingsDigest};
use crate::names::{BASE_PORT, HOST, LOG_DIR, LOG_FLUSH_MS, VM_COUNT};
use crate::{Layers, Origin, RunSpec, Seed, SettingsError, MAX_VMS};
use lc_core::model::VmId;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The variable that holds the secret (it wins over the file's).
pub(crate) const SECRET_ENV: &str = "LOGICAL_CLOCKS_SECRET";
/// The keys a cluster file has beyond the settings.
pub(crate) const CLUSTER_KEYS: [&str; 4] = ["peers", "secret", "secret_file", "connect_timeout"];
/// Settings that are each node's own, left out of what nodes must agree
/// on: where a node logs and how often it flushes (and the single-process
/// ports, which a node does not use).
pub const NODE_OWN_SETTINGS: [&str; 4] = [LOG_DIR, LOG_FLUSH_MS, BASE_PORT, HOST];
/// How long a node waits for every peer when the file does not say.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
const MAX_CONNECT_TIMEOUT_SECS: f64 = 3600.0;

/// One node of the cluster: the VM it runs and where it listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Peer {
    pub(crate) id: VmId,
    /// `host:port` as written: the host may be a name, resolved when dialed.
    pub(crate) addr: String,
    pub(crate) port: u16,
}

/// What one node runs: its VM, its peers, and how it proves itself.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSpec {
    pub id: VmId,
    /// Every node of the cluster, this one included, by id.
    pub(crate) peers: Vec<Peer>,
    /// Where this node listens: every interface, at its own entry's port.
    pub listen: SocketAddr,
    pub credentials: Credentials,
    pub connect_timeout: Duration,
}

impl NodeSpec {
    /// Where peer `id` is to be dialed.
    pub fn addr_of(&self, id: VmId) -> Option<&str> {
        self.peers
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.addr.as_str())
    }
}

/// A cluster file that cannot be used, in one line.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ClusterError {
    #[error("{0}")]
    Settings(#[from] SettingsError),
    #[error("cluster file {}: {what}", path.display())]
    File { path: PathBuf, what: String },
    #[error(
        "--id {id} is not a node of cluster file {}: its peers are {ids}",
        path.display()
    )]
    UnknownNode { id: i64, path: PathBuf, ids: String },
}

/// Reads and checks `path` for node `id`: the settings (with the
/// environment over them) and the cluster's own keys.
pub fn load(path: &Path, id: i64) -> Result<RunSpec, ClusterError> {
    let file_error = |what: String| ClusterError::File {
        path: path.to_path_buf(),
        what,
    };
    if !path.is_file() {
        return Err(SettingsError::Read {
            path: path.to_path_buf(),
            reason: "it does not exist or is not a file".into(),
        }
        .into());
    }
    let mut layers = Layers::default();
    layers.read_file_except(path, &CLUSTER_KEYS)?;
    layers.read_environment(std::env::vars_os())?;
    // The settings layer has read the text: it is UTF-8 and valid TOML.
    let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| file_error(e.to_string()))?;
    let peers = peers(table.get("peers")).map_err(file_error)?;
    let secret = secret(&table, std::env::var_os(SECRET_ENV), path).map_err(file_error)?;
    let connect_timeout = connect_timeout(table.get("connect_timeout")).map_err(file_error)?;
    let ids = || {
        peers
            .iter()
            .map(|p| p.id.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(own) = peers.iter().find(|p| i64::from(p.id.get()) == id) else {
        return Err(ClusterError::UnknownNode {
            id,
            path: path.to_path_buf(),
            ids: ids(),
        });
    };
    let settings = layers.settings();
    if settings.seed == Seed::Random {
        return Err(file_error(
            "`seed` must be fixed (a number): every node draws every VM's rate and phase \
             from it"
                .into(),
        ));
    }
    if settings.virtual_time {
        return Err(file_error(
            "`virtual_time` = true is not allowed: virtual time runs in one process, a node \
             runs on real time and a real network"
                .into(),
        ));
    }
    let count = peers.len() as i64;
    if settings.vm_count != count && !matches!(layers.origin(VM_COUNT), Some(Origin::Default)) {
        return Err(file_error(format!(
            "`vm_count` = {} but the file names {count} peers; leave `vm_count` out, the \
             peers are the VMs",
            settings.vm_count
        )));
    }
    layers.set(VM_COUNT, toml::Value::Integer(count), Origin::Default)?;
    // The seed is fixed: nothing is picked.
    let mut spec = layers.resolve(|| 0)?;
    // Every interface of the family its own address names: IPv4 unless
    // it is an IPv6 literal (`[::1]:10000`).
    let every_interface = if own.addr.starts_with('[') {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    };
    let listen = SocketAddr::new(every_interface, own.port);
    let digest = digest(&spec, &peers);
    spec.node = Some(NodeSpec {
        id: own.id,
        listen,
        credentials: Credentials {
            vm: own.id,
            secret,
            digest,
        },
        connect_timeout,
        peers,
    });
    Ok(spec)
}

/// What a node of `spec` is, in one line (what `node --check` prints):
/// `node 2 of 3 (3 VMs for 30s, seed 7, rates [5, 6, 2]), listening on
/// 0.0.0.0:10002; settings digest 22f06a870297`.
pub fn describe(spec: &RunSpec) -> String {
    let Some(node) = &spec.node else {
        return format!("not a node ({} VMs in one process)", spec.vm_count);
    };
    format!(
        "node {} of {} ({} VMs for {}s, seed {}, rates {:?}), listening on {}; settings digest {}",
        node.id,
        node.peers.len(),
        spec.vm_count,
        spec.runtime.as_secs_f64(),
        spec.seed,
        spec.rates,
        node.listen,
        node.credentials.digest.short()
    )
}

/// What every node must agree on, digested: the model's settings as a run
/// writes them back, less what is each node's own (where it logs, how
/// often it flushes), and the peer list.
pub(crate) fn digest(spec: &RunSpec, peers: &[Peer]) -> SettingsDigest {
    let mut settings = toml::Table::try_from(spec.effective_settings()).unwrap_or_default();
    for key in NODE_OWN_SETTINGS {
        settings.remove(key);
    }
    let mut canonical = settings.to_string();
    for peer in peers {
        canonical.push_str(&format!("peer {} = {}\n", peer.id, peer.addr));
    }
    SettingsDigest::of(&canonical)
}

const PEERS_SHAPE: &str =
    "`peers` must be entries `[[peers]]`, each with `id` (1, 2, ...) and `addr` (\"host:port\")";

/// The `[[peers]]` entries: ids exactly 1..=N, each with a `host:port`.
fn peers(value: Option<&toml::Value>) -> Result<Vec<Peer>, String> {
    let Some(toml::Value::Array(entries)) = value else {
        return Err(match value {
            None => format!("no `peers`: {PEERS_SHAPE}"),
            Some(_) => PEERS_SHAPE.to_string(),
        });
    };
    let mut peers = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let n = index + 1;
        let toml::Value::Table(entry) = entry else {
            return Err(format!("`peers` entry {n} is not a table: {PEERS_SHAPE}"));
        };
        if let Some(key) = entry.keys().find(|k| *k != "id" && *k != "addr") {
            return Err(format!(
                "`peers` entry {n}: unknown key `{key}`; an entry has `id` and `addr` only"
            ));
        }
        let Some(value) = entry.get("id") else {
            return Err(format!("`peers` entry {n} has no `id`"));
        };
        let in_range = value
            .as_integer()
            .and_then(|id| VmId::in_run(id, MAX_VMS as u32));
        let Some(id) = in_range else {
            return Err(format!(
                "`peers` entry {n}: `id` = {value} is not allowed: a whole number from 1 \
                 to {MAX_VMS}"
            ));
        };
        let addr = match entry.get("addr") {
            Some(toml::Value::String(addr)) => addr.clone(),
            Some(other) => {
                return Err(format!(
                    "`peers` entry {n}: `addr` = {other} is not allowed: \"host:port\" as text"
                ))
            }
            None => return Err(format!("`peers` entry {n} has no `addr`")),
        };
        let port = port_of(&addr).ok_or_else(|| {
            format!(
                "`peers` entry {n}: `addr` = {addr:?} is not allowed: \"host:port\" with a host \
                 name or address and a port from 1 to 65535"
            )
        })?;
        if peers.iter().any(|p: &Peer| p.id == id) {
            return Err(format!("`peers` entry {n}: id {id} is given twice"));
        }
        peers.push(Peer { id, addr, port });
    }
    if peers.len() < 2 {
        return Err(format!(
            "{} peers: a cluster needs at least 2 (one VM has no one to talk to)",
            peers.len()
        ));
    }
    peers.sort_by_key(|p| p.id);
    let count = peers.len() as u32;
    if let Some(missing) = VmId::all(count).find(|id| peers.iter().all(|p| p.id != *id)) {
        return Err(format!(
            "the peers' ids must be 1 to {count}, each once: {missing} is missing"
        ));
    }
    Ok(peers)
}

/// The port of `host:port` (`[v6]:port` for an IPv6 literal), if the
/// whole is well formed.
fn port_of(addr: &str) -> Option<u16> {
    let (host, port) = addr.rsplit_once(':')?;
    let host_ok = if let Some(inner) = host.strip_prefix('[') {
        inner
            .strip_suffix(']')
            .is_some_and(|v6| v6.parse::<Ipv6Addr>().is_ok())
    } else {
        !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
    };
    let port: u16 = port.parse().ok()?;
    (host_ok && port != 0).then_some(port)
}

/// The secret: the variable, else `secret` or `secret_file` (not both).
fn secret(
    table: &toml::Table,
    from_env: Option<std::ffi::OsString>,
    path: &Path,
) -> Result<Secret, String> {
    let nonempty = |bytes: Vec<u8>, from: &str| {
        if bytes.is_empty() {
            Err(format!("the secret from {from} is empty"))
        } else {
            Ok(Secret::new(bytes))
        }
    };
    if let Some(value) = from_env {
        return nonempty(value.into_encoded_bytes(), SECRET_ENV);
    }
    match (table.get("secret"), table.get("secret_file")) {
        (Some(_), Some(_)) => Err("give `secret` or `secret_file`, not both".into()),
        (Some(toml::Value::String(secret)), None) => {
            nonempty(secret.clone().into_bytes(), "`secret`")
        }
        (None, Some(toml::Value::String(file))) => {
            // Relative to the cluster file, like any path a file names.
            let file = path.parent().unwrap_or(Path::new(".")).join(file);
            let bytes = std::fs::read(&file)
                .map_err(|e| format!("cannot read `secret_file` {}: {e}", file.display()))?;
            let trimmed = bytes.trim_ascii_end().to_vec();
            nonempty(trimmed, &format!("`secret_file` {}", file.display()))
        }
        (Some(other), None) | (None, Some(other)) => {
            Err(format!("the secret must be text, not {other}"))
        }
        (None, None) => Err(format!(
            "no secret: set `secret` or `secret_file` in the file, or the variable {SECRET_ENV}"
        )),
    }
}

fn connect_timeout(value: Option<&toml::Value>) -> Result<Duration, String> {
    let secs = match value {
        None => return Ok(DEFAULT_CONNECT_TIMEOUT),
        Some(toml::Value::Integer(n)) => Some(*n as f64),
        Some(toml::Value::Float(x)) => Some(*x),
        Some(_) => None,
    };
    match secs {
        Some(secs) if secs > 0.0 && secs <= MAX_CONNECT_TIMEOUT_SECS => {
            Ok(Duration::from_secs_f64(secs))
        }
        _ => Err(format!(
            "`connect_timeout` = {} is not allowed: seconds, more than 0 and at most \
             {MAX_CONNECT_TIMEOUT_SECS}",
            value.map(|v| v.to_string()).unwrap_or_default()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    const THREE: &str = r#"
runtime = 5
seed = 7
secret = "change-me"
[[peers]]
id = 1
addr = "127.0.0.1:10001"
[[peers]]
id = 3
addr = "host-c.example:10003"
[[peers]]
id = 2
addr = "[::1]:10002"
"#;

    #[test]
    fn a_node_gets_the_cluster_settings_its_peers_and_where_to_listen() {
        let f = file(THREE);
        let spec = load(f.path(), 2).unwrap();
        assert_eq!(spec.vm_count, 3);
        assert_eq!(spec.seed, 7);
        let node = spec.node.as_ref().unwrap();
        assert_eq!(node.id, VmId::literal(2));
        assert_eq!(node.listen, "[::]:10002".parse().unwrap());
        assert_eq!(node.addr_of(VmId::literal(3)), Some("host-c.example:10003"));
        assert_eq!(node.credentials.secret, Secret::new(b"change-me".to_vec()));
        assert_eq!(node.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
        let other = load(f.path(), 1).unwrap();
        assert_eq!(
            other.node.unwrap().credentials.digest,
            node.credentials.digest,
            "every node of one file has one digest"
        );
        assert_eq!(
            load(f.path(), 1).unwrap().node.unwrap().listen,
            "0.0.0.0:10001".parse().unwrap()
        );
    }

    #[test]
    fn the_digest_follows_the_model_and_the_peers_not_the_logs_or_the_secret() {
        let base = load(file(THREE).path(), 1).unwrap().node.unwrap();
        let same = [
            THREE.replace("change-me", "other"),
            format!("log_dir = \"elsewhere\"\nlog_flush_ms = 5\n{THREE}"),
        ];
        for text in same {
            let node = load(file(&text).path(), 1).unwrap().node.unwrap();
            assert_eq!(node.credentials.digest, base.credentials.digest, "{text}");
        }
        let differ = [
            THREE.replace("seed = 7", "seed = 8"),
            THREE.replace("runtime = 5", "runtime = 6"),
            THREE.replace("10003", "10004"),
            format!("internal_probability = 0.5\n{THREE}"),
        ];
        for text in differ {
            let node = load(file(&text).path(), 1).unwrap().node.unwrap();
            assert_ne!(node.credentials.digest, base.credentials.digest, "{text}");
        }
    }

    #[test]
    fn every_mistake_is_one_line_naming_what_and_what_is_allowed() {
        let cases: [(String, &str); 12] = [
            (THREE.replace("seed = 7\n", ""), "`seed` must be fixed"),
            (THREE.replace("secret = \"change-me\"\n", ""), "no secret"),
            (THREE.replace("\"change-me\"", "\"\""), "is empty"),
            (format!("secret_file = \"x\"\n{THREE}"), "not both"),
            (THREE.replace("id = 3", "id = 4"), "3 is missing"),
            (THREE.replace("id = 3", "id = 2"), "id 2 is given twice"),
            (THREE.replace(":10003", ""), "\"host:port\""),
            (THREE.replace(":10003", ":0"), "port from 1 to 65535"),
            (format!("vm_count = 5\n{THREE}"), "leave `vm_count` out"),
            (
                format!("virtual_time = true\n{THREE}"),
                "virtual time runs in one process",
            ),
            (
                format!("connect_timeout = -3\n{THREE}"),
                "`connect_timeout` = -3",
            ),
            (
                THREE.replace(
                    "addr = \"127.0.0.1:10001\"",
                    "addr = \"127.0.0.1:10001\"\nport = 3",
                ),
                "unknown key `port`",
            ),
        ];
        for (text, expected) in cases {
            let error = load(file(&text).path(), 1).unwrap_err().to_string();
            assert!(error.contains(expected), "{expected:?} not in {error:?}");
            assert_eq!(error.lines().count(), 1, "{error}");
        }
        let error = load(file(THREE).path(), 9).unwrap_err().to_string();
        assert!(
            error.contains("--id 9 is not a node") && error.contains("1, 2, 3"),
            "{error}"
        );
        let error = load(Path::new("/nonexistent/cluster.toml"), 1)
            .unwrap_err()
            .to_string();
        assert!(error.contains("does not exist"), "{error}");
        // A key of neither kind is still an unknown setting.
        let error = load(file(&format!("nodes = 3\n{THREE}")).path(), 1)
            .unwrap_err()
            .to_string();
        assert!(error.contains("unknown setting `nodes`"), "{error}");
    }

    #[test]
    fn a_secret_file_is_read_relative_to_the_cluster_file_without_its_newline() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("lc-secret"), "s3cret\n").unwrap();
        let cluster = dir.path().join("cluster.toml");
        let text = THREE.replace("secret = \"change-me\"", "secret_file = \"lc-secret\"");
        std::fs::write(&cluster, text).unwrap();
        let node = load(&cluster, 1).unwrap().node.unwrap();
        assert_eq!(node.credentials.secret, Secret::new(b"s3cret".to_vec()));
    }

    #[test]
    fn the_environment_secret_wins_over_the_file() {
        let table: toml::Table = toml::from_str(THREE).unwrap();
        let secret = secret(&table, Some("from-env".into()), Path::new("c.toml")).unwrap();
        assert_eq!(secret, Secret::new(b"from-env".to_vec()));
    }
}
