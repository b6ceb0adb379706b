//! When a run starts and stops, and what an interrupt does to that: pure.
//!
//! Every VM ticks from one common start instant and stops at one common
//! stop instant, `start + runtime`. Ctrl-C, SIGTERM or SIGHUP moves the
//! stop to "now" (an orderly stop that loses nothing); an interrupt that comes
//! before the start makes the run stop as soon as it starts; a second
//! interrupt means the user insists, and the run exits at once. The
//! supervisor carries these answers out; keeping them here, generic over
//! the instant type, lets them be tested without a clock or a signal.

use std::ops::Add;
use std::time::Duration;

/// What stopped a run early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
    /// Ctrl-C.
    Sigint,
    Sigterm,
    /// The terminal went away (window closed, ssh dropped): the run still
    /// owes its logs an orderly end, even with no one left to read the
    /// summary.
    Sighup,
}

impl Interrupt {
    /// The signal's number, to pass it on.
    pub(crate) fn signal_number(self) -> i32 {
        match self {
            Interrupt::Sigint => libc::SIGINT,
            Interrupt::Sigterm => libc::SIGTERM,
            Interrupt::Sighup => libc::SIGHUP,
        }
    }

    /// The shell's exit code for a process ended by this signal: every
    /// subcommand a signal stops in order exits with it.
    pub fn exit_code(self) -> u8 {
        match self {
            Interrupt::Sigint => 130,
            Interrupt::Sigterm => 143,
            Interrupt::Sighup => 129,
        }
    }
}

impl std::fmt::Display for Interrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(match self {
            Interrupt::Sigint => "SIGINT (Ctrl-C)",
            Interrupt::Sigterm => "SIGTERM",
            Interrupt::Sighup => "SIGHUP (terminal closed)",
        })
    }
}

/// What the supervisor does about an interrupt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnInterrupt<I> {
    /// Move every VM's stop instant to this one.
    StopAt(I),
    /// Not started yet: the run will stop as soon as it starts.
    StopAtStart,
    /// Interrupted before: flush the logs and exit with this code now.
    ExitNow(u8),
}

/// The run's start and stop instants.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StopClock<I> {
    runtime: Duration,
    start: Option<I>,
    interrupted: Option<Interrupt>,
}

impl<I: Copy + Add<Duration, Output = I>> StopClock<I> {
    pub fn new(runtime: Duration) -> Self {
        Self {
            runtime,
            start: None,
            interrupted: None,
        }
    }

    /// The VMs start at `start`; returns when they stop.
    pub(crate) fn start(&mut self, start: I) -> I {
        self.start = Some(start);
        if self.interrupted.is_some() {
            start
        } else {
            start + self.runtime
        }
    }

    /// An interrupt arrived at `now`.
    pub(crate) fn interrupt(&mut self, by: Interrupt, now: I) -> OnInterrupt<I> {
        if self.interrupted.is_some() {
            return OnInterrupt::ExitNow(by.exit_code());
        }
        self.interrupted = Some(by);
        match self.start {
            Some(_) => OnInterrupt::StopAt(now),
            None => OnInterrupt::StopAtStart,
        }
    }

    /// The common start instant, once the VMs run.
    pub(crate) fn started(&self) -> Option<I> {
        self.start
    }

    /// The first interrupt, if any.
    pub(crate) fn interrupted(&self) -> Option<Interrupt> {
        self.interrupted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn an_uninterrupted_run_stops_after_its_runtime() {
        let mut clock = StopClock::new(MIN);
        assert_eq!(clock.started(), None);
        assert_eq!(clock.start(secs(5)), secs(65));
        assert_eq!(clock.started(), Some(secs(5)));
        assert_eq!(clock.interrupted(), None);
    }

    #[test]
    fn an_interrupt_stops_now_and_a_second_one_exits() {
        let mut clock = StopClock::new(MIN);
        clock.start(secs(5));
        assert_eq!(
            clock.interrupt(Interrupt::Sigterm, secs(9)),
            OnInterrupt::StopAt(secs(9))
        );
        assert_eq!(clock.interrupted(), Some(Interrupt::Sigterm));
        assert_eq!(
            clock.interrupt(Interrupt::Sigint, secs(10)),
            OnInterrupt::ExitNow(130)
        );
        assert_eq!(
            clock.interrupted(),
            Some(Interrupt::Sigterm),
            "the first counts"
        );
    }

    #[test]
    fn an_interrupt_is_named_and_exits_as_the_shell_expects() {
        assert_eq!(Interrupt::Sigint.to_string(), "SIGINT (Ctrl-C)");
        assert_eq!(Interrupt::Sigterm.to_string(), "SIGTERM");
        assert_eq!(Interrupt::Sighup.to_string(), "SIGHUP (terminal closed)");
        // 128 + the signal's number, as a shell reports a process it ended.
        assert_eq!(Interrupt::Sighup.exit_code(), 128 + 1);
        assert_eq!(Interrupt::Sigint.exit_code(), 128 + 2);
        assert_eq!(Interrupt::Sigterm.exit_code(), 128 + 15);
    }

    #[test]
    fn a_hangup_stops_in_order_like_any_interrupt() {
        let mut clock = StopClock::new(MIN);
        clock.start(secs(5));
        assert_eq!(
            clock.interrupt(Interrupt::Sighup, secs(7)),
            OnInterrupt::StopAt(secs(7))
        );
        assert_eq!(clock.interrupted(), Some(Interrupt::Sighup));
        assert_eq!(
            clock.interrupt(Interrupt::Sighup, secs(8)),
            OnInterrupt::ExitNow(129)
        );
    }

    #[test]
    fn an_interrupt_before_the_start_stops_the_run_at_its_start() {
        let mut clock = StopClock::new(MIN);
        assert_eq!(
            clock.interrupt(Interrupt::Sigint, secs(1)),
            OnInterrupt::StopAtStart
        );
        assert_eq!(clock.start(secs(3)), secs(3));
    }
}
