//! One VM's clock and queue as the plots draw them: the ticks' values, and what the fault
//! lines say where there are no ticks. Pure.
//!
//! Ticks alone mislead where a VM is halted. A crashed VM has no events between its crash and
//! its restart, so a line from its last tick to its first after would draw a clock (and a
//! queue) it never had: both series are cut there, and the gap is the crash. A paused VM keeps
//! its clock (the `fault_start` and `fault_end` lines both give it, so the clock line runs
//! flat and true through the pause), but its mailbox fills while nothing takes from it: only
//! the queue at the pause's start and at its end is logged. Its queue series is cut at the
//! pause and the pause kept as a [`PauseSpan`], which the queue plot draws as the range the
//! queue rose through, without inventing the path it took.

use super::series::{Pieces, Series};

/// A paused VM's queue over its pause: it only grew, from `queue_from` to `queue_until`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PauseSpan {
    pub(crate) from_s: f64,
    pub(crate) until_s: f64,
    pub(crate) queue_from: u64,
    pub(crate) queue_until: u64,
}

/// How a fault halts a VM, for its trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Halt {
    Pause,
    Crash,
}

/// A VM's state at one of its lines: seconds on the plots' axis, its clock and queue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Mark {
    pub(crate) secs: f64,
    pub(crate) lc: u64,
    pub(crate) queue: u64,
}

/// The clock and queue series of one VM, built line by line.
#[derive(Debug, Clone, Default)]
pub(crate) struct Trace {
    clock: Series,
    queue: Series,
    /// The start of a pause under way.
    paused: Option<Mark>,
    pauses: Vec<PauseSpan>,
}

/// A VM's trace, ready to draw.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TracePlot {
    pub(crate) clock: Pieces,
    pub(crate) queue: Pieces,
    pub(crate) pauses: Vec<PauseSpan>,
}

impl Trace {
    /// A tick: its clock and the queue after it.
    pub(crate) fn tick(&mut self, at: Mark) {
        self.clock.push(at.secs, at.lc as f64);
        self.queue.push(at.secs, at.queue as f64);
    }

    /// A pause's or crash's `fault_start` line.
    pub(crate) fn halt(&mut self, halt: Halt, at: Mark) {
        self.tick(at);
        self.queue.cut();
        match halt {
            Halt::Pause => self.paused = Some(at),
            Halt::Crash => self.clock.cut(),
        }
    }

    /// A pause's or crash's `fault_end` line: the VM goes on from what it says.
    pub(crate) fn resume(&mut self, halt: Halt, at: Mark) {
        if let (Halt::Pause, Some(from)) = (halt, self.paused.take()) {
            self.pauses.push(PauseSpan {
                from_s: from.secs,
                until_s: at.secs,
                queue_from: from.queue,
                queue_until: at.queue,
            });
        }
        // A restarted VM's clock starts a new piece even if its crash line went missing.
        if halt == Halt::Crash {
            self.clock.cut();
            self.queue.cut();
        }
        self.tick(at);
    }

    pub(crate) fn finish(self) -> TracePlot {
        TracePlot {
            clock: self.clock.pieces(),
            queue: self.queue.pieces(),
            pauses: self.pauses,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(secs: f64, lc: u64, queue: u64) -> Mark {
        Mark { secs, lc, queue }
    }

    #[test]
    fn a_crash_leaves_a_gap_in_clock_and_queue() {
        let mut t = Trace::default();
        t.tick(mark(1.0, 10, 0));
        t.halt(Halt::Crash, mark(2.0, 10, 1));
        t.resume(Halt::Crash, mark(6.0, 0, 0));
        t.tick(mark(7.0, 1, 0));
        let plot = t.finish();
        let down = |pieces: &Pieces| {
            pieces
                .iter()
                .flat_map(|p| p.windows(2))
                .any(|w| w[0].0 <= 2.0 && w[1].0 >= 6.0)
        };
        assert!(
            !down(&plot.clock),
            "a clock line crosses the crash: {plot:?}"
        );
        assert!(
            !down(&plot.queue),
            "a queue line crosses the crash: {plot:?}"
        );
        assert_eq!(
            plot.clock,
            vec![vec![(1.0, 10.0), (2.0, 10.0)], vec![(6.0, 0.0), (7.0, 1.0)]]
        );
        assert!(plot.pauses.is_empty());
    }

    #[test]
    fn a_pause_keeps_the_clock_and_spans_the_queue_it_filled() {
        let mut t = Trace::default();
        t.tick(mark(1.0, 5, 0));
        t.halt(Halt::Pause, mark(2.0, 5, 0));
        t.resume(Halt::Pause, mark(6.0, 5, 4));
        t.tick(mark(6.2, 9, 3));
        let plot = t.finish();
        // The clock is known all through: one flat piece.
        assert_eq!(
            plot.clock,
            vec![vec![(1.0, 5.0), (2.0, 5.0), (6.0, 5.0), (6.2, 9.0)]]
        );
        // The queue is known at the pause's ends only, and not drawn as 0 in between.
        assert_eq!(
            plot.queue,
            vec![vec![(1.0, 0.0), (2.0, 0.0)], vec![(6.0, 4.0), (6.2, 3.0)]]
        );
        assert_eq!(
            plot.pauses,
            vec![PauseSpan {
                from_s: 2.0,
                until_s: 6.0,
                queue_from: 0,
                queue_until: 4
            }]
        );
    }
}
