//! One trial's faults, read from its `summary.json` (`faults`): each fault's figures as
//! [`Reading`]s, [`FaultFigure`] listing the figures once so the CSV, the aggregation and the
//! report agree. Pure.
//!
//! Apart from `fault_table.rs`, which aggregates these across a variation's trials, because a
//! trial's record holds its faults: this part sits below [`TrialRecord`](crate::TrialRecord)
//! and the tables above it.

use lc_analysis::FaultSummary;
use lc_core::vm_id::VmId;

/// One figure of a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultFigure {
    Dropped,
    Lost,
    TicksSkipped,
    ExpectedFindings,
    QueueAtEnd,
    SentAcross,
    ReceivedAfterEnd,
    ClockGapMax,
    ClockGapAtEnd,
    GapRecoveredAfter,
}

impl FaultFigure {
    pub(crate) const ALL: [FaultFigure; 10] = [
        FaultFigure::Dropped,
        FaultFigure::Lost,
        FaultFigure::TicksSkipped,
        FaultFigure::ExpectedFindings,
        FaultFigure::QueueAtEnd,
        FaultFigure::SentAcross,
        FaultFigure::ReceivedAfterEnd,
        FaultFigure::ClockGapMax,
        FaultFigure::ClockGapAtEnd,
        FaultFigure::GapRecoveredAfter,
    ];

    /// The `faults.csv` column.
    pub(crate) fn column(self) -> &'static str {
        match self {
            FaultFigure::Dropped => "dropped",
            FaultFigure::Lost => "lost",
            FaultFigure::TicksSkipped => "ticks_skipped",
            FaultFigure::ExpectedFindings => "expected_findings",
            FaultFigure::QueueAtEnd => "queue_at_end",
            FaultFigure::SentAcross => "sent_across",
            FaultFigure::ReceivedAfterEnd => "received_after_end",
            FaultFigure::ClockGapMax => "clock_gap_max",
            FaultFigure::ClockGapAtEnd => "clock_gap_at_end",
            FaultFigure::GapRecoveredAfter => "gap_recovered_after_s",
        }
    }

    /// The report's column header.
    pub(crate) fn header(self) -> &'static str {
        match self {
            FaultFigure::Dropped => "dropped",
            FaultFigure::Lost => "lost",
            FaultFigure::TicksSkipped => "ticks skipped",
            FaultFigure::ExpectedFindings => "expected findings",
            FaultFigure::QueueAtEnd => "queue at end",
            FaultFigure::SentAcross => "sent across",
            FaultFigure::ReceivedAfterEnd => "received after end",
            FaultFigure::ClockGapMax => "gap max",
            FaultFigure::ClockGapAtEnd => "gap at end",
            FaultFigure::GapRecoveredAfter => "gap back after s",
        }
    }

    /// The figure of one fault, from its summary.
    fn read(self, fault: &FaultSummary) -> Reading {
        let count = |n: u64| Reading::Value(n as f64);
        let given = |value: Option<u64>| value.map_or(Reading::Absent, count);
        match (self, &fault.partition) {
            (FaultFigure::Dropped, _) => count(fault.dropped),
            // Only a crash with a restart logs `lost`, only a pause or such a crash has ticks
            // skipped: the summary leaves them out where they do not apply.
            (FaultFigure::Lost, _) => fault.lost.map_or(Reading::NotThisKind, count),
            (FaultFigure::TicksSkipped, _) => {
                fault.ticks_skipped.map_or(Reading::NotThisKind, count)
            }
            (FaultFigure::ExpectedFindings, _) => count(fault.expected_findings),
            (FaultFigure::QueueAtEnd, _) => {
                given(fault.lines.iter().filter_map(|l| l.queue_at_end).max())
            }
            (_, None) => Reading::NotThisKind,
            (FaultFigure::SentAcross, Some(p)) => count(p.sent_across),
            (FaultFigure::ReceivedAfterEnd, Some(p)) => count(p.received_after_end),
            (FaultFigure::ClockGapMax, Some(p)) => given(p.clock_gap_max),
            (FaultFigure::ClockGapAtEnd, Some(p)) => given(p.clock_gap_at_end),
            (FaultFigure::GapRecoveredAfter, Some(p)) => p
                .gap_recovered_after_s
                .map_or(Reading::Absent, Reading::Value),
        }
    }
}

/// One figure of one fault in one trial.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Reading {
    /// The figure says nothing of this kind of fault (a pause's messages sent across).
    NotThisKind,
    /// It applies but the run did not give it: no `fault_end` line within the run, or a
    /// partition's clock gap that never came back.
    Absent,
    Value(f64),
}

impl Reading {
    pub(crate) fn value(self) -> Option<f64> {
        match self {
            Reading::Value(v) => Some(v),
            _ => None,
        }
    }
}

/// One fault of one trial.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TrialFault {
    /// Its number in the trial's settings, from 1.
    pub(crate) fault: usize,
    pub(crate) kind: String,
    pub(crate) vms: Vec<VmId>,
    pub(crate) parameters: String,
    readings: [Reading; FaultFigure::ALL.len()],
}

impl TrialFault {
    pub(crate) fn of(fault: &FaultSummary) -> TrialFault {
        TrialFault {
            fault: fault.fault,
            kind: fault.kind.clone(),
            vms: fault.vms.clone(),
            parameters: fault.parameters.clone(),
            readings: FaultFigure::ALL.map(|figure| figure.read(fault)),
        }
    }

    pub(crate) fn get(&self, figure: FaultFigure) -> Reading {
        self.readings[figure as usize]
    }
}
