//! The actors of a run, one per file.
//!
//! - [`supervisor::Supervisor`] starts everything, enforces the runtime
//!   limit, collects every VM's report and owns the log output.
//! - [`vm::Vm`] is one virtual machine: a tick timer driving the pure model,
//!   with its mailbox serving as its message queue.
//! - [`bridge::Bridge`] moves frames between TCP and its VM's mailbox.
//! - [`transport`] is how bridges reach each other: TCP, or in-process
//!   under virtual time.
//! - [`alarm`] wakes a VM for its ticks in real time, on a high-resolution
//!   timer.

pub(crate) mod alarm;
pub mod bridge;
pub mod supervisor;
pub mod transport;
pub mod vm;

use lc_core::lateness::Lateness;
use std::sync::atomic::AtomicU64;
use std::sync::Mutex;

/// Counters a VM shares with its bridge and the supervisor.
///
/// `queued` exists because an actix address cannot report its mailbox's
/// length: the bridge adds one for every message it delivers, the VM takes
/// one off for every message a tick receives, so it is the queue length.
#[derive(Debug, Default)]
pub struct VmGauges {
    pub queued: AtomicU64,
    /// The VM's clock after its latest event (for the progress line).
    pub(crate) clock: AtomicU64,
    /// How long messages took from their send event to this VM's mailbox;
    /// written by the bridge, read by the VM when it stops.
    pub(crate) transit: Mutex<Lateness>,
}
