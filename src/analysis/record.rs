//! One parsed log line, typed after the log contract.
//!
//! A line is either a VM event (`start`, a tick, `stop`) or a free-form notice (WARN, ERRO...).
//! Ticks are the only events with a Lamport clock, so they get their own struct with the fields
//! every tick carries (`lc`, `queue`) and an [`Action`] holding what differs between kinds: the
//! checker and the statistics can then never read a send's `to` off a receive.

/// A parsed line: when it was written, by which VM, and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Microseconds since the Unix epoch.
    pub time_us: i64,
    /// The `vm` key; required on events, optional on notices.
    pub vm: Option<u32>,
    pub body: Body,
}

/// What a line says.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// The VM came up; `rate` is its configured ticks per second.
    Start { rate: Option<f64> },
    /// One tick: exactly one event with a Lamport clock.
    Tick(Tick),
    /// The VM stopped; `queue` messages were left unprocessed in its queue. `late_max_us` is how
    /// late its latest tick fired (absent from logs older than that key).
    Stop {
        queue: u64,
        dropped: u64,
        late_max_us: Option<u64>,
    },
    /// A WARN/ERRO/DEBG/CRIT line: counted and reported, never checked.
    Notice { level: Level, message: String },
    /// An INFO line whose message is not a known event kind (a future extension): skipped.
    Unknown { message: String },
}

/// One tick event: the clock and queue length after it, and what it did.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    pub lc: u64,
    pub queue: u64,
    pub action: Action,
}

/// What a tick did.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// One send event to one or more recipients; one `seq` and one `lc` for all of them.
    Send {
        to: Vec<u32>,
        seq: u64,
    },
    /// Took message `seq` of VM `from` off the queue; `msg_lc` is the clock it carried.
    Receive {
        from: u32,
        seq: u64,
        msg_lc: u64,
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
        match self {
            Kind::Start => "start",
            Kind::Send => "send",
            Kind::Receive => "receive",
            Kind::Internal => "internal",
            Kind::Stop => "stop",
        }
    }
}

impl Action {
    pub fn kind(&self) -> Kind {
        match self {
            Action::Send { .. } => Kind::Send,
            Action::Receive { .. } => Kind::Receive,
            Action::Internal => Kind::Internal,
        }
    }
}

/// slog's levels, as slog-term abbreviates them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warning,
    Error,
    Critical,
}

impl Level {
    pub fn from_abbrev(s: &str) -> Option<Level> {
        Some(match s {
            "TRCE" => Level::Trace,
            "DEBG" => Level::Debug,
            "INFO" => Level::Info,
            "WARN" => Level::Warning,
            "ERRO" => Level::Error,
            "CRIT" => Level::Critical,
            _ => return None,
        })
    }

    pub fn abbrev(self) -> &'static str {
        match self {
            Level::Trace => "TRCE",
            Level::Debug => "DEBG",
            Level::Info => "INFO",
            Level::Warning => "WARN",
            Level::Error => "ERRO",
            Level::Critical => "CRIT",
        }
    }
}
