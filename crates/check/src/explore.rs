//! stateright's Explorer, served for the same model `check` checks, so a
//! user can step through schedules in a browser.
//!
//! The Explorer binds with `unwrap` and serves until the process ends, so
//! the address is settled here first: it must be loopback unless the user
//! insists (the Explorer has no authentication, and it lets anyone who
//! reaches it drive the checker), and it is bound once here, so a taken
//! port or a bad address is one clear line instead of a panic. Port 0 is
//! resolved to a free port by that bind, because the Explorer never says
//! which port it got: the URL printed is the one it serves.

use crate::model::CheckModel;
use stateright::Model;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use thiserror::Error;

/// Why the Explorer cannot be served where it was asked.
#[derive(Debug, Error)]
pub enum ExploreError {
    #[error("--explore {0}: not an address; give HOST:PORT, e.g. 127.0.0.1:3000 (port 0 picks a free one)")]
    Address(String),
    #[error("--explore {0}: not a loopback address; the Explorer has no login, so it listens on 127.0.0.1 or [::1] unless --explore-remote is given")]
    NotLoopback(String),
    #[error("--explore {address}: cannot listen there: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
}

/// The address the Explorer will serve on, with a port 0 made concrete.
pub fn settle(address: &str, remote: bool) -> Result<SocketAddr, ExploreError> {
    let wanted = address
        .to_socket_addrs()
        .ok()
        .and_then(|mut all| all.next())
        .ok_or_else(|| ExploreError::Address(address.to_string()))?;
    if !remote && !wanted.ip().is_loopback() {
        return Err(ExploreError::NotLoopback(address.to_string()));
    }
    let listener = TcpListener::bind(wanted).map_err(|source| ExploreError::Bind {
        address: address.to_string(),
        source,
    })?;
    listener.local_addr().map_err(|source| ExploreError::Bind {
        address: address.to_string(),
        source,
    })
}

/// Serves the Explorer on `address` (from [`settle`]) until the process
/// ends; the checker explores on demand, as the browser asks.
pub fn serve(model: CheckModel, address: SocketAddr) {
    let _checker = model.checker().serve(address);
}
