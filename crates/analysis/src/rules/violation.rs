//! Broken rules found in a run, each tied to the file and line that shows it.
//!
//! A run can break a rule a million times; [`Violations`] keeps the first
//! [`Violations::KEEP`] in full and counts the rest per rule, so a badly broken run still
//! analyses in bounded memory and the report can say how many were left out.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The rule a violation breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// The line is not a valid line of the log contract (or was cut off).
    MalformedLine,
    /// The line's `vm` key disagrees with the file it is in.
    WrongVm,
    /// A VM's clock did not strictly increase from one event to the next.
    ClockNotIncreasing,
    /// A send or internal event did not add exactly 1 to the clock.
    TickStep,
    /// A receive did not set the clock to max(previous, msg_lc) + 1.
    ReceiveRule,
    /// A VM's send `seq` is not one more than its previous send's.
    SendSeq,
    /// A receive matches no send (the sender never logged a send with that seq).
    NoMatchingSend,
    /// A receive names a send that was not addressed to the receiving VM.
    NotAddressed,
    /// A receive's `msg_lc` differs from the `lc` of its send.
    MsgLcMismatch,
    /// A receive's clock is not greater than its send's clock.
    ReceiveNotAfterSend,
    /// The same message was received twice.
    DuplicateReceive,
    /// A send or internal event was decided with messages waiting (`queue` > 0): a tick with a
    /// waiting message must take it.
    QueueNotEmpty,
    /// An event that is not a receive follows one that left messages waiting: the VM ignored a
    /// waiting message (messages leave a queue only by being received).
    IgnoredWaitingMessage,
    /// A VM received a sender's messages out of `seq` order: links are first-in first-out.
    ReceiveOutOfOrder,
    /// A line is stamped earlier than the line before it in the same file.
    TimeGoesBack,
    /// `settings.toml` names a VM whose log is not in the run directory.
    MissingVmLog,
    /// The run directory holds a log of a VM beyond `settings.toml`'s `vm_count`.
    ExtraVmLog,
    /// A VM's `start` line gives a rate other than the one `settings.toml` pins for it.
    RateMismatch,
    /// An event's own entry in its vector clock is not one more than at the VM's previous event.
    VcOwnStep,
    /// A send or internal event changed an entry of its vector clock other than its own.
    VcTickRule,
    /// A receive's vector clock is not the entry-wise max of the previous clock and the
    /// message's, plus one in its own entry.
    VcReceiveRule,
    /// A receive's `msg_vc` differs from the `vc` of its send.
    VcMsgMismatch,
    /// A `vc` does not have one entry per VM.
    VcSize,
    /// A tick has no `vc` although other ticks of the run carry one.
    VcMissing,
    /// A `fault_start` or `fault_end` line's `lc` is not the VM's clock at that instant (the
    /// `lc` of its previous event; 0 when a crash's restart resets the clock).
    FaultClock,
    /// A message between two groups of a partition, sent in its window, was received before
    /// the window ended.
    CrossedPartition,
    /// A VM logged a send, receive or internal event inside its own pause or crash window.
    EventWhileHalted,
    /// A `stop` line's `dropped_by_fault` adds up to more than its `dropped`.
    FaultDropsExceedDropped,
    /// A VM restarted after a crash and was never heard from again: nothing logged after the
    /// restart, or none of its later messages reached a peer (see `rules/rejoin.rs`).
    RestartNotRejoined,
}

impl Rule {
    /// Every rule, in declaration order.
    pub const ALL: [Rule; 29] = [
        Rule::MalformedLine,
        Rule::WrongVm,
        Rule::ClockNotIncreasing,
        Rule::TickStep,
        Rule::ReceiveRule,
        Rule::SendSeq,
        Rule::NoMatchingSend,
        Rule::NotAddressed,
        Rule::MsgLcMismatch,
        Rule::ReceiveNotAfterSend,
        Rule::DuplicateReceive,
        Rule::QueueNotEmpty,
        Rule::IgnoredWaitingMessage,
        Rule::ReceiveOutOfOrder,
        Rule::TimeGoesBack,
        Rule::MissingVmLog,
        Rule::ExtraVmLog,
        Rule::RateMismatch,
        Rule::VcOwnStep,
        Rule::VcTickRule,
        Rule::VcReceiveRule,
        Rule::VcMsgMismatch,
        Rule::VcSize,
        Rule::VcMissing,
        Rule::FaultClock,
        Rule::CrossedPartition,
        Rule::EventWhileHalted,
        Rule::FaultDropsExceedDropped,
        Rule::RestartNotRejoined,
    ];

    /// The kebab-case name used in reports and in `summary.json`.
    pub fn name(self) -> &'static str {
        match self {
            Rule::MalformedLine => "malformed-line",
            Rule::WrongVm => "wrong-vm",
            Rule::ClockNotIncreasing => "clock-not-increasing",
            Rule::TickStep => "tick-step",
            Rule::ReceiveRule => "receive-rule",
            Rule::SendSeq => "send-seq",
            Rule::NoMatchingSend => "no-matching-send",
            Rule::NotAddressed => "not-addressed",
            Rule::MsgLcMismatch => "msg-lc-mismatch",
            Rule::ReceiveNotAfterSend => "receive-not-after-send",
            Rule::DuplicateReceive => "duplicate-receive",
            Rule::QueueNotEmpty => "queue-not-empty",
            Rule::IgnoredWaitingMessage => "ignored-waiting-message",
            Rule::ReceiveOutOfOrder => "receive-out-of-order",
            Rule::TimeGoesBack => "time-goes-back",
            Rule::MissingVmLog => "missing-vm-log",
            Rule::ExtraVmLog => "extra-vm-log",
            Rule::RateMismatch => "rate-mismatch",
            Rule::VcOwnStep => "vc-own-step",
            Rule::VcTickRule => "vc-tick-rule",
            Rule::VcReceiveRule => "vc-receive-rule",
            Rule::VcMsgMismatch => "vc-msg-mismatch",
            Rule::VcSize => "vc-size",
            Rule::VcMissing => "vc-missing",
            Rule::FaultClock => "fault-clock",
            Rule::CrossedPartition => "crossed-partition",
            Rule::EventWhileHalted => "event-while-halted",
            Rule::FaultDropsExceedDropped => "fault-drops-exceed-dropped",
            Rule::RestartNotRejoined => "restart-not-rejoined",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One broken rule at one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub file: PathBuf,
    /// 1-based line number in `file`.
    pub line: usize,
    pub rule: Rule,
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.file.file_name().map_or_else(
            || self.file.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        write!(f, "{name}:{}: {}: {}", self.line, self.rule, self.detail)
    }
}

/// Where in the input a finding is: an index into the run's file list and a 1-based line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct At {
    pub(crate) file: usize,
    pub(crate) line: usize,
}

/// A finding before it is tied to a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    pub(crate) at: At,
    pub(crate) rule: Rule,
    pub(crate) detail: String,
}

/// The findings of a run: the first [`Violations::KEEP`] in full, all of them counted.
#[derive(Debug, Default)]
pub(crate) struct Violations {
    kept: Vec<Finding>,
    counts: BTreeMap<Rule, u64>,
}

impl Violations {
    /// How many findings are kept in full.
    pub(crate) const KEEP: usize = 10_000;

    pub(crate) fn push(&mut self, at: At, rule: Rule, detail: String) {
        *self.counts.entry(rule).or_default() += 1;
        if self.kept.len() < Self::KEEP {
            self.kept.push(Finding { at, rule, detail });
        }
    }

    /// Counts a finding of `rule` that is not to be kept (the kept ones are full): for a mass
    /// of findings whose words would only be thrown away.
    pub(crate) fn count(&mut self, rule: Rule) {
        *self.counts.entry(rule).or_default() += 1;
    }

    #[cfg(test)]
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// The kept findings in file and line order.
    pub fn into_sorted(mut self) -> (Vec<Finding>, BTreeMap<Rule, u64>) {
        self.kept.sort_by_key(|f| f.at);
        (self.kept, self.counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_as_file_line_rule_detail() {
        let v = Violation {
            file: PathBuf::from("/logs/run/vm-2.log"),
            line: 17,
            rule: Rule::TickStep,
            detail: "lc 9 after 7".into(),
        };
        assert_eq!(v.to_string(), "vm-2.log:17: tick-step: lc 9 after 7");
    }

    #[test]
    fn names_are_the_serialized_names_and_unique() {
        let mut names = std::collections::BTreeSet::new();
        for rule in Rule::ALL {
            let json = serde_json::to_string(&rule).unwrap();
            assert_eq!(json, format!("\"{}\"", rule.name()));
            assert!(names.insert(rule.name()), "{rule:?}");
        }
    }

    #[test]
    fn keeps_a_bounded_number_but_counts_all() {
        let mut v = Violations::default();
        for line in 0..Violations::KEEP + 5 {
            v.push(At { file: 0, line }, Rule::SendSeq, String::new());
        }
        assert_eq!(v.total(), Violations::KEEP as u64 + 5);
        let (kept, counts) = v.into_sorted();
        assert_eq!(kept.len(), Violations::KEEP);
        assert_eq!(counts[&Rule::SendSeq], Violations::KEEP as u64 + 5);
    }
}
