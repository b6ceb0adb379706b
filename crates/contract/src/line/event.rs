//! One line of the log contract, typed: what the writer is given and what
//! the parser gives back.
//!
//! One type serves both ways, so a field cannot be written that is never
//! read or read that is never written. Lists and the fault borrow while a
//! run writes (an event line allocates nothing) and own while a log is read
//! back: hence the `Cow`s. Keys that older logs lack, or that a run writes
//! only sometimes, are `Option`s: `None` is a key the line does not have.

use std::borrow::Cow;
use std::time::Duration;

use lc_core::faults::{Edge, Fault, FaultId};
use lc_core::model::Event as ModelEvent;
use lc_core::vm_id::VmId;

use super::keys::Level;

/// A line: when it was written, by which VM, and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct Line<'a> {
    /// Microseconds since the Unix epoch.
    pub time_us: i64,
    /// The `vm` key: required on INFO lines, optional on notices.
    pub vm: Option<VmId>,
    pub event: Event<'a>,
}

/// What a line says: its message and the keys that message has.
#[derive(Debug, Clone, PartialEq)]
pub enum Event<'a> {
    /// `start`: the VM came up.
    Start(Start<'a>),
    /// `send`, `receive` or `internal`: one tick's event.
    Tick(Tick<'a>),
    /// `fault_start` or `fault_end`: a fault's window opens or closes on
    /// this VM.
    Fault(FaultMark<'a>),
    /// `stop`: the VM's totals.
    Stop(Stop<'a>),
    /// A WARN, ERRO (or any other non-INFO) line: free-form text.
    Notice { level: Level, message: Cow<'a, str> },
    /// An INFO line whose message the contract does not know (a future
    /// extension): kept aside, never an error.
    Unknown { message: Cow<'a, str> },
}

/// A `start` line.
#[derive(Debug, Clone, PartialEq)]
pub struct Start<'a> {
    /// Ticks per second.
    pub rate: Option<f64>,
    /// When the first tick fell due after the run's start (`phase_ms`, to
    /// the nanosecond); absent from logs older than tick phases.
    pub phase: Option<Duration>,
    /// Where the VM listens.
    pub addr: Option<Cow<'a, str>>,
}

/// A `send`, `receive` or `internal` line: the clocks and queue after the
/// event, and what it did.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick<'a> {
    pub lc: u64,
    pub queue: u64,
    /// The VM's vector clock after the event, in VM id order; absent when
    /// the run keeps none.
    pub vc: Option<Cow<'a, [u64]>>,
    pub action: Action<'a>,
}

impl<'a> Tick<'a> {
    /// The line of one of the model's events, with the messages still
    /// waiting (`queue`) and the vector clock after it, if kept. The one
    /// translation from the core's events to the contract, shared by a
    /// run's drain and the model checker's counterexamples, so both write
    /// the same line for the same event.
    pub fn of(event: &'a ModelEvent, queue: u64, vc: Option<&'a [u64]>) -> Tick<'a> {
        let action = match event {
            ModelEvent::Send { to, seq, .. } => Action::Send {
                to: Cow::Borrowed(to),
                seq: *seq,
            },
            ModelEvent::Receive {
                from, seq, msg_lc, ..
            } => Action::Receive {
                from: *from,
                seq: *seq,
                msg_lc: *msg_lc,
                msg_vc: None,
            },
            ModelEvent::Internal { .. } => Action::Internal,
        };
        Tick {
            lc: event.lc(),
            queue,
            vc: vc.map(Cow::Borrowed),
            action,
        }
    }
}

/// What a tick did.
#[derive(Debug, Clone, PartialEq)]
pub enum Action<'a> {
    /// One send event to one or more recipients.
    Send {
        to: Cow<'a, [VmId]>,
        seq: u64,
    },
    /// Took message `seq` of VM `from` off the queue; `msg_lc` is the clock
    /// it carried, `msg_vc` its vector clock when the line gives it.
    Receive {
        from: VmId,
        seq: u64,
        msg_lc: u64,
        msg_vc: Option<Cow<'a, [u64]>>,
    },
    Internal,
}

/// A `fault_start` or `fault_end` line.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultMark<'a> {
    pub edge: Edge,
    /// The fault's number, from 1.
    pub fault: FaultId,
    /// The fault as the settings give it (a pause's or crash's VM is the
    /// line's).
    pub spec: Cow<'a, Fault>,
    /// A crash's end only: the messages the VM lost while down.
    pub lost: Option<u64>,
    pub queue: u64,
    /// The VM's clock then (after a reset, the one it restarts with).
    pub lc: u64,
}

/// A `stop` line. Only `queue` is required: every other key came later or
/// is read by no check.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stop<'a> {
    pub ticks: Option<u64>,
    pub sent: Option<u64>,
    pub received: Option<u64>,
    pub internal: Option<u64>,
    /// Messages never taken from the queue.
    pub queue: u64,
    pub dropped: Option<u64>,
    /// The part of `dropped` each fault explains, by ascending fault number;
    /// empty writes no key.
    pub dropped_by_fault: Cow<'a, [(FaultId, u64)]>,
    /// The final clock.
    pub lc: Option<u64>,
    /// How late the VM's ticks fired against their schedule.
    pub late: Spread,
    /// How long its received messages took from send event to mailbox.
    pub transit: Spread,
}

/// A distribution in microseconds, as `stop` gives it: median, 99th
/// percentile and maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Spread {
    pub p50_us: Option<u64>,
    pub p99_us: Option<u64>,
    pub max_us: Option<u64>,
}
