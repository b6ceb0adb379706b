//! The time a line carries: its event's, not the writer's.
//!
//! The caller captures an event's time when the event happens and hands it
//! with the line, so a line waiting in a channel or a batch keeps the time
//! of what it reports.

use lc_contract::timestamp::{wall_clock_micros, EventTime};

/// Stamps events with the time they happen: a wall-clock epoch taken once,
/// plus the run clock's (tokio's) elapsed time since then. Stamps are
/// therefore monotonic within a run, and they follow tokio's clock
/// wherever it goes.
#[derive(Debug, Clone, Copy)]
pub struct EventClock {
    epoch: EventTime,
    origin: actix::clock::Instant,
}

impl EventClock {
    /// A clock that reads `epoch` now.
    pub fn starting_at(epoch: EventTime) -> Self {
        Self {
            epoch,
            origin: actix::clock::Instant::now(),
        }
    }

    /// A clock that follows the system's wall clock from now on.
    pub fn wall() -> Self {
        Self::starting_at(wall_clock_micros())
    }

    /// The current event time.
    pub(crate) fn now(&self) -> EventTime {
        self.at(actix::clock::Instant::now())
    }

    /// The event time of `instant` (of the run clock): for a caller that has
    /// just read the clock, so one instant serves its lateness, its line and
    /// its messages' send stamps alike.
    pub(crate) fn at(&self, instant: actix::clock::Instant) -> EventTime {
        self.epoch + instant.saturating_duration_since(self.origin).as_micros() as EventTime
    }
}
