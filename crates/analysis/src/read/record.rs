//! One parsed log line, typed after the log contract.
//!
//! A line is either a VM event (`start`, a tick, `stop`) or a free-form notice (WARN, ERRO...).
//! Ticks are the only events with a Lamport clock, so they get their own struct with the fields
//! every tick carries (`lc`, `queue`) and an [`Action`] holding what differs between kinds: the
//! checker and the statistics can then never read a send's `to` off a receive. The vector clock
//! (`vc`) was added to the contract later, so it is optional on every tick. A fault's
//! `fault_start` and `fault_end` lines (issue 14) are no events: they mark a window on the VM's
//! timeline and carry the fault as the settings gave it, read back into a [`Fault`].

use lc_core::vm_id::VmId;
use std::time::Duration;

use lc_contract::line::Message;
use lc_core::faults::{Edge, Fault, FaultId};
use lc_core::vector_clock::VectorClock;

/// A parsed line: when it was written, by which VM, and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Microseconds since the Unix epoch.
    pub(crate) time_us: i64,
    /// The `vm` key; required on events, optional on notices.
    pub(crate) vm: Option<VmId>,
    pub(crate) body: Body,
}

/// What a line says.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// The VM came up; `rate` is its configured ticks per second, `phase` how long after the
    /// run's start its first tick was due (`phase_ms`, absent from older logs).
    Start {
        rate: Option<f64>,
        phase: Option<Duration>,
    },
    /// One tick: exactly one event with a Lamport clock.
    Tick(Tick),
    /// The VM stopped; `queue` messages were left unprocessed in its queue. `late_max_us` is how
    /// late its latest tick fired (absent from logs older than that key).
    /// `dropped_by_fault` is the part of `dropped` each fault explains, by ascending fault
    /// number (empty when the line has no such key).
    Stop {
        queue: u64,
        dropped: u64,
        late_max_us: Option<u64>,
        dropped_by_fault: Vec<(FaultId, u64)>,
    },
    /// A fault started or ended on this VM (`fault_start`, `fault_end`).
    Fault(FaultLine),
    /// A WARN/ERRO/DEBG/CRIT line: counted and reported, never checked.
    Notice { level: Level, message: String },
    /// An INFO line whose message is not a known event kind (a future extension): skipped.
    Unknown { message: String },
}

/// A `fault_start` or `fault_end` line: which fault, as its lines describe it, and the VM's
/// queue and clock at that instant.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultLine {
    pub(crate) fault: FaultId,
    pub(crate) edge: Edge,
    /// The fault, rebuilt from the line's parameters (a pause's or crash's VM is the line's).
    pub(crate) spec: Fault,
    pub(crate) queue: u64,
    /// The VM's Lamport clock; on a crash's `fault_end`, the clock it restarts with.
    pub(crate) lc: u64,
    /// A crash's `fault_end`: the messages the VM lost while down.
    pub(crate) lost: Option<u64>,
}

/// One tick event: the clock and queue length after it, and what it did.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    pub(crate) lc: u64,
    pub(crate) queue: u64,
    /// The VM's vector clock after the event, when the log carries one.
    pub(crate) vc: Option<VectorClock>,
    pub(crate) action: Action,
}

/// What a tick did.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// One send event to one or more recipients; one `seq` and one `lc` for all of them.
    Send {
        to: Vec<VmId>,
        seq: u64,
    },
    /// Took message `seq` of VM `from` off the queue; `msg_lc` is the clock it carried, and
    /// `msg_vc` the vector clock, when the line gives it.
    Receive {
        from: VmId,
        seq: u64,
        msg_lc: u64,
        msg_vc: Option<VectorClock>,
    },
    Internal,
}

/// Event kinds as they are named in the log and in `events.csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Start,
    Send,
    Receive,
    Internal,
    Stop,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        let message = match self {
            Kind::Start => Message::Start,
            Kind::Send => Message::Send,
            Kind::Receive => Message::Receive,
            Kind::Internal => Message::Internal,
            Kind::Stop => Message::Stop,
        };
        message.name()
    }
}

impl Action {
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Action::Send { .. } => Kind::Send,
            Action::Receive { .. } => Kind::Receive,
            Action::Internal => Kind::Internal,
        }
    }
}

/// slog's levels, as slog-term abbreviates them: the contract's.
pub use lc_contract::line::Level;
