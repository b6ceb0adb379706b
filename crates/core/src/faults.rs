//! Faults injected on purpose, as plain data and plain questions about time.
//!
//! A run may carry a fault schedule (`[[faults]]` in the settings): a
//! partition that cuts the links between groups of VMs for a window, a
//! pause that stops one VM's ticks for a window while its mailbox keeps
//! filling, a crash that stops one VM for good or until it restarts (with
//! its clocks kept or reset). Every node of a run knows the whole schedule,
//! so every decision about a fault is a pure function of the schedule and
//! the time since the common start: whether a tick is suppressed, when a
//! message on a cut link may be delivered (or that it is dropped), which
//! fault a lost peer is owed to. The actors only ask. That is what makes
//! faults exact in virtual time, where the run stays byte-identical per
//! seed, and within a timer's millisecond on real TCP.
//!
//! Faults are numbered from 1 in the order the settings list them; logs,
//! `stop` lines and `summary.json` name them by that number.

use crate::model::VmId;
use crate::schedule::{ticks_before, ticks_within};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The words a fault is written with, in a settings file's `[[faults]]` entry and again on
/// its `fault_start`/`fault_end` log lines: one spelling each, shared by the settings
/// reader, [`Fault::parameters`] and the log contract's keys.
pub mod key {
    pub const KIND: &str = "kind";
    pub const VM: &str = "vm";
    pub const GROUPS: &str = "groups";
    pub const FROM_S: &str = "from_s";
    pub const UNTIL_S: &str = "until_s";
    pub const AT_S: &str = "at_s";
    pub const RESTART_S: &str = "restart_s";
    pub const MODE: &str = "mode";
    pub const CLOCK: &str = "clock";
}

/// A fault's number: its 1-based position in the schedule.
pub type FaultId = usize;

/// What a partition does with a message that would cross it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PartitionMode {
    /// The message waits and is delivered when the window ends.
    #[default]
    Hold,
    /// The message is lost, and counted against the partition.
    Drop,
}

impl PartitionMode {
    /// The words a settings file uses.
    pub const NAMES: [&'static str; 2] = ["hold", "drop"];

    pub fn name(self) -> &'static str {
        match self {
            PartitionMode::Hold => "hold",
            PartitionMode::Drop => "drop",
        }
    }

    /// The mode a settings word names, if any.
    pub fn named(word: &str) -> Option<Self> {
        [PartitionMode::Hold, PartitionMode::Drop]
            .into_iter()
            .find(|mode| mode.name() == word)
    }
}

/// What a crashed VM's clocks are when it restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RestartClock {
    /// Where they were at the crash (as if kept on stable storage).
    #[default]
    Keep,
    /// From zero, Lamport and vector clock alike (as if kept in memory).
    Reset,
}

impl RestartClock {
    /// The words a settings file uses.
    pub const NAMES: [&'static str; 2] = ["keep", "reset"];

    pub fn name(self) -> &'static str {
        match self {
            RestartClock::Keep => "keep",
            RestartClock::Reset => "reset",
        }
    }

    /// The choice a settings word names, if any.
    pub fn named(word: &str) -> Option<Self> {
        [RestartClock::Keep, RestartClock::Reset]
            .into_iter()
            .find(|clock| clock.name() == word)
    }
}

/// One fault, its times measured from the run's common start.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Links between VMs of different groups carry nothing in `[from,
    /// until)`; a VM in no group is not touched.
    Partition {
        groups: Vec<Vec<VmId>>,
        from: Duration,
        until: Duration,
        mode: PartitionMode,
    },
    /// The VM takes no tick due in `[from, until)`; messages keep arriving.
    Pause {
        vm: VmId,
        from: Duration,
        until: Duration,
    },
    /// The VM stops at `at`, losing its queue and its connections; with a
    /// `restart` it comes back then, with an empty queue.
    Crash {
        vm: VmId,
        at: Duration,
        restart: Option<Duration>,
        clock: RestartClock,
    },
}

impl Fault {
    /// The name of its kind, as settings and logs write it.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Partition { .. } => "partition",
            Fault::Pause { .. } => "pause",
            Fault::Crash { .. } => "crash",
        }
    }

    /// When it starts, and when it ends (never, for a crash without restart).
    pub fn window(&self) -> (Duration, Option<Duration>) {
        match *self {
            Fault::Partition { from, until, .. } | Fault::Pause { from, until, .. } => {
                (from, Some(until))
            }
            Fault::Crash { at, restart, .. } => (at, restart),
        }
    }

    /// Whether `at` falls in its window (start included, end excluded).
    pub(crate) fn active_at(&self, at: Duration) -> bool {
        let (start, end) = self.window();
        start <= at && end.is_none_or(|end| at < end)
    }

    /// The VMs it touches, in id order.
    pub fn vms(&self) -> Vec<VmId> {
        match self {
            Fault::Partition { groups, .. } => {
                let mut vms: Vec<VmId> = groups.iter().flatten().copied().collect();
                vms.sort_unstable();
                vms
            }
            Fault::Pause { vm, .. } | Fault::Crash { vm, .. } => vec![*vm],
        }
    }

    /// Whether the link `from -> to` is cut by this fault (ignoring time):
    /// a partition with the two VMs in different groups.
    fn cuts(&self, from: VmId, to: VmId) -> bool {
        let Fault::Partition { groups, .. } = self else {
            return false;
        };
        let group_of = |vm| groups.iter().position(|g| g.contains(&vm));
        matches!((group_of(from), group_of(to)), (Some(a), Some(b)) if a != b)
    }

    /// Its parameters as `key: value` pairs for its log lines, in the order
    /// the settings write them: `groups` as `1|2 3` (groups split by `|`,
    /// members by spaces, like `to: 2 3`), seconds as plain numbers.
    pub fn parameters(&self) -> Vec<(&'static str, String)> {
        let secs = |d: &Duration| format_secs(*d);
        match self {
            Fault::Partition {
                groups,
                from,
                until,
                mode,
            } => vec![
                (key::GROUPS, format_groups(groups)),
                (key::FROM_S, secs(from)),
                (key::UNTIL_S, secs(until)),
                (key::MODE, mode.name().to_string()),
            ],
            Fault::Pause { from, until, .. } => {
                vec![(key::FROM_S, secs(from)), (key::UNTIL_S, secs(until))]
            }
            Fault::Crash {
                at, restart, clock, ..
            } => {
                let mut pairs = vec![(key::AT_S, secs(at))];
                if let Some(restart) = restart {
                    pairs.push((key::RESTART_S, secs(restart)));
                }
                pairs.push((key::CLOCK, clock.name().to_string()));
                pairs
            }
        }
    }
}

/// Seconds as the shortest plain number that reads back the same: `10`,
/// `2.5`, `0.001`.
pub fn format_secs(d: Duration) -> String {
    let text = format!("{}", d.as_secs_f64());
    text.strip_suffix(".0").map(str::to_string).unwrap_or(text)
}

/// Groups as a log writes them: `1|2 3`.
pub fn format_groups(groups: &[Vec<VmId>]) -> String {
    groups
        .iter()
        .map(|g| {
            g.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("|")
}

/// Groups as a log writes them, read back; `None` if malformed.
pub fn parse_groups(text: &str) -> Option<Vec<Vec<VmId>>> {
    text.split('|')
        .map(|g| {
            let members: Option<Vec<VmId>> = g.split_whitespace().map(|m| m.parse().ok()).collect();
            members.filter(|m| !m.is_empty())
        })
        .collect()
}

/// What happens to a message that reaches a link's end at some moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Passage {
    /// It may enter the receiver's queue at this time (the moment asked
    /// about, or the end of the held partitions it met).
    DeliverAt(Duration),
    /// A partition in drop mode lost it.
    Dropped(FaultId),
}

/// Which side of a fault's window a mark is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Edge {
    /// Listed first: at an instant where one fault ends and another
    /// starts, the end is logged first.
    End,
    Start,
}

/// A fault's start or end on one VM's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mark {
    pub at: Duration,
    pub edge: Edge,
    pub fault: FaultId,
}

/// A run's fault schedule.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FaultPlan {
    faults: Vec<Fault>,
}

impl FaultPlan {
    /// The schedule, in settings order (fault `k` is `faults[k - 1]`).
    /// Checking it against the run (ids, times, overlaps) is the settings'
    /// job; the questions below assume a checked plan.
    pub fn new(faults: Vec<Fault>) -> Self {
        Self { faults }
    }

    pub fn is_empty(&self) -> bool {
        self.faults.is_empty()
    }

    pub fn faults(&self) -> &[Fault] {
        &self.faults
    }

    /// Fault number `id`.
    pub fn get(&self, id: FaultId) -> Option<&Fault> {
        id.checked_sub(1).and_then(|i| self.faults.get(i))
    }

    fn numbered(&self) -> impl Iterator<Item = (FaultId, &Fault)> {
        self.faults.iter().enumerate().map(|(i, f)| (i + 1, f))
    }

    /// Every start and end of a fault touching `vm`, in time order (ends
    /// before starts at the same instant, then by fault number). A crash
    /// without restart has no end.
    pub fn marks(&self, vm: VmId) -> Vec<Mark> {
        let mut marks: Vec<Mark> = self
            .numbered()
            .filter(|(_, f)| f.vms().contains(&vm))
            .flat_map(|(fault, f)| {
                let (start, end) = f.window();
                let start = Some(Mark {
                    at: start,
                    edge: Edge::Start,
                    fault,
                });
                let end = end.map(|at| Mark {
                    at,
                    edge: Edge::End,
                    fault,
                });
                start.into_iter().chain(end)
            })
            .collect();
        marks.sort();
        marks
    }

    /// The pause or crash that keeps `vm` from ticking at `at`, if any.
    pub fn tick_suppressed(&self, vm: VmId, at: Duration) -> Option<FaultId> {
        self.numbered()
            .find(|(_, f)| {
                matches!(f, Fault::Pause { vm: v, .. } | Fault::Crash { vm: v, .. } if *v == vm)
                    && f.active_at(at)
            })
            .map(|(id, _)| id)
    }

    /// How many of the ticks of `vm` (at `rate`, leading the start by
    /// `lead`) in a run of `runtime` fall in its pause and crash windows:
    /// the ticks it does not take. Windows of one VM never overlap (the
    /// settings refuse that).
    pub fn suppressed_ticks(&self, vm: VmId, rate: u32, runtime: Duration, lead: Duration) -> u64 {
        let within = ticks_within(rate, runtime, lead);
        self.faults
            .iter()
            .filter(|f| matches!(f, Fault::Pause { vm: v, .. } | Fault::Crash { vm: v, .. } if *v == vm))
            .map(|f| {
                let (start, end) = f.window();
                let before_start = ticks_before(rate, lead, start).min(within);
                let before_end = end.map_or(within, |end| ticks_before(rate, lead, end).min(within));
                before_end.saturating_sub(before_start)
            })
            .sum()
    }

    /// The crash of `vm` under way at `at`, if any.
    pub fn crashed(&self, vm: VmId, at: Duration) -> Option<FaultId> {
        self.numbered()
            .find(|(_, f)| matches!(f, Fault::Crash { vm: v, .. } if *v == vm) && f.active_at(at))
            .map(|(id, _)| id)
    }

    /// What becomes of a message on the link `from -> to` that would reach
    /// the receiver's queue at `at`: a partition in hold mode moves it to
    /// the end of its window (again and again, if windows follow each
    /// other), one in drop mode loses it.
    pub fn passage(&self, from: VmId, to: VmId, mut at: Duration) -> Passage {
        // Each step moves `at` to a later window end, so this ends.
        'moved: loop {
            for (id, fault) in self.numbered() {
                if !fault.cuts(from, to) || !fault.active_at(at) {
                    continue;
                }
                match fault {
                    Fault::Partition {
                        mode: PartitionMode::Drop,
                        ..
                    } => return Passage::Dropped(id),
                    Fault::Partition { until, .. } => {
                        at = *until;
                        continue 'moved;
                    }
                    _ => unreachable!("only partitions cut links"),
                }
            }
            return Passage::DeliverAt(at);
        }
    }

    /// The fault a link to `peer` lost at `at` is owed to: a crash of that
    /// peer under way then. `None` is a loss no fault explains.
    pub fn loss_cause(&self, peer: VmId, at: Duration) -> Option<FaultId> {
        self.crashed(peer, at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_lists_its_faults_and_knows_when_it_has_none() {
        let pause = Fault::Pause {
            vm: VmId::literal(2),
            from: Duration::from_secs(1),
            until: Duration::from_secs(2),
        };
        assert!(FaultPlan::new(vec![]).is_empty());
        let plan = FaultPlan::new(vec![pause.clone()]);
        assert!(!plan.is_empty());
        assert_eq!(plan.faults(), &[pause][..]);
    }

    #[test]
    fn settings_words_name_their_modes_and_clocks() {
        for mode in [PartitionMode::Hold, PartitionMode::Drop] {
            assert_eq!(PartitionMode::named(mode.name()), Some(mode));
        }
        assert_eq!(PartitionMode::named("drop"), Some(PartitionMode::Drop));
        for clock in [RestartClock::Keep, RestartClock::Reset] {
            assert_eq!(RestartClock::named(clock.name()), Some(clock));
        }
        assert_eq!(RestartClock::named("reset"), Some(RestartClock::Reset));
        for word in ["", "Hold", "keep ", "drops"] {
            assert_eq!(PartitionMode::named(word), None, "{word:?}");
        }
        for word in ["", "Reset", "hold"] {
            assert_eq!(RestartClock::named(word), None, "{word:?}");
        }
    }

    /// A VM id written in a test.
    fn id(n: u32) -> VmId {
        VmId::literal(n)
    }

    fn s(secs: f64) -> Duration {
        Duration::from_secs_f64(secs)
    }

    fn plan() -> FaultPlan {
        FaultPlan::new(vec![
            Fault::Partition {
                groups: vec![vec![id(1)], vec![id(2), id(3)]],
                from: s(10.0),
                until: s(25.0),
                mode: PartitionMode::Hold,
            },
            Fault::Pause {
                vm: id(2),
                from: s(30.0),
                until: s(40.0),
            },
            Fault::Crash {
                vm: id(3),
                at: s(45.0),
                restart: Some(s(50.0)),
                clock: RestartClock::Reset,
            },
            Fault::Partition {
                groups: vec![vec![id(1), id(2)], vec![id(3)]],
                from: s(25.0),
                until: s(28.0),
                mode: PartitionMode::Hold,
            },
            Fault::Partition {
                groups: vec![vec![id(1)], vec![id(3)]],
                from: s(52.0),
                until: s(55.0),
                mode: PartitionMode::Drop,
            },
        ])
    }

    #[test]
    fn windows_hold_their_start_and_not_their_end() {
        let plan = plan();
        assert_eq!(plan.tick_suppressed(id(2), s(29.999)), None);
        assert_eq!(plan.tick_suppressed(id(2), s(30.0)), Some(2));
        assert_eq!(plan.tick_suppressed(id(2), s(39.999)), Some(2));
        assert_eq!(plan.tick_suppressed(id(2), s(40.0)), None);
        assert_eq!(plan.tick_suppressed(id(1), s(35.0)), None, "another VM");
        assert_eq!(plan.tick_suppressed(id(3), s(45.0)), Some(3));
        assert_eq!(plan.tick_suppressed(id(3), s(50.0)), None, "restarted");
        assert_eq!(plan.crashed(id(2), s(35.0)), None, "a pause is no crash");
    }

    #[test]
    fn a_crash_without_restart_lasts_to_the_end() {
        let plan = FaultPlan::new(vec![Fault::Crash {
            vm: id(1),
            at: s(5.0),
            restart: None,
            clock: RestartClock::Keep,
        }]);
        assert_eq!(plan.tick_suppressed(id(1), s(1e6)), Some(1));
        assert_eq!(plan.loss_cause(id(1), s(5.0)), Some(1));
        assert_eq!(plan.loss_cause(id(1), s(4.9)), None);
        assert_eq!(plan.marks(id(1)).len(), 1);
    }

    #[test]
    fn only_links_between_groups_are_cut_and_only_in_the_window() {
        let plan = plan();
        let hold_end = Passage::DeliverAt(s(25.0));
        assert_eq!(plan.passage(id(1), id(2), s(10.0)), hold_end);
        assert_eq!(
            plan.passage(id(3), id(1), s(24.0)),
            Passage::DeliverAt(s(28.0))
        );
        assert_eq!(
            plan.passage(id(2), id(3), s(12.0)),
            Passage::DeliverAt(s(12.0))
        );
        assert_eq!(
            plan.passage(id(1), id(2), s(9.999)),
            Passage::DeliverAt(s(9.999))
        );
        assert_eq!(
            plan.passage(id(2), id(1), s(25.0)),
            Passage::DeliverAt(s(25.0))
        );
    }

    #[test]
    fn a_held_message_waits_through_windows_that_follow_each_other() {
        // 1 -> 3 is cut by fault 1 until 25 s, then by fault 4 until 28 s.
        assert_eq!(
            plan().passage(id(1), id(3), s(11.0)),
            Passage::DeliverAt(s(28.0))
        );
        // 2 -> 3 only by fault 4.
        assert_eq!(
            plan().passage(id(2), id(3), s(26.0)),
            Passage::DeliverAt(s(28.0))
        );
    }

    #[test]
    fn a_partition_in_drop_mode_loses_what_would_cross_it() {
        let plan = plan();
        assert_eq!(plan.passage(id(3), id(1), s(53.0)), Passage::Dropped(5));
        assert_eq!(plan.passage(id(1), id(3), s(52.0)), Passage::Dropped(5));
        assert_eq!(
            plan.passage(id(2), id(3), s(53.0)),
            Passage::DeliverAt(s(53.0))
        );
        assert_eq!(
            plan.passage(id(1), id(3), s(55.0)),
            Passage::DeliverAt(s(55.0))
        );
    }

    #[test]
    fn marks_come_in_time_order_with_ends_before_starts() {
        let marks = plan().marks(id(3));
        let seen: Vec<(f64, Edge, FaultId)> = marks
            .iter()
            .map(|m| (m.at.as_secs_f64(), m.edge, m.fault))
            .collect();
        assert_eq!(
            seen,
            vec![
                (10.0, Edge::Start, 1),
                (25.0, Edge::End, 1),
                (25.0, Edge::Start, 4),
                (28.0, Edge::End, 4),
                (45.0, Edge::Start, 3),
                (50.0, Edge::End, 3),
                (52.0, Edge::Start, 5),
                (55.0, Edge::End, 5),
            ]
        );
        assert!(plan().marks(id(4)).is_empty());
    }

    #[test]
    fn suppressed_ticks_are_the_ticks_due_in_the_windows() {
        use crate::schedule::offset;
        let plan = plan();
        for (rate, lead_ns) in [(1, 0), (6, 0), (4, 100_000_000), (7, 3)] {
            let lead = Duration::from_nanos(lead_ns);
            for runtime in [s(35.0), s(47.5), s(60.0)] {
                for vm in VmId::all(3) {
                    let brute = (1..)
                        .map(|k| offset(k, rate) - lead)
                        .take_while(|&t| t <= runtime)
                        .filter(|&t| plan.tick_suppressed(vm, t).is_some())
                        .count() as u64;
                    assert_eq!(
                        plan.suppressed_ticks(vm, rate, runtime, lead),
                        brute,
                        "VM {vm} rate {rate} runtime {runtime:?}"
                    );
                }
            }
        }
        // VM 2's pause of 10 s at 6 ticks/s, aligned: 60 ticks.
        assert_eq!(plan.suppressed_ticks(id(2), 6, s(60.0), Duration::ZERO), 60);
    }

    #[test]
    fn lost_links_are_owed_to_the_crash_under_way() {
        let plan = plan();
        assert_eq!(plan.loss_cause(id(3), s(45.0)), Some(3));
        assert_eq!(plan.loss_cause(id(3), s(49.0)), Some(3));
        assert_eq!(plan.loss_cause(id(3), s(50.0)), None);
        assert_eq!(plan.loss_cause(id(2), s(46.0)), None);
    }

    #[test]
    fn parameters_read_as_the_settings_write_them() {
        let plan = plan();
        let text = |id| {
            plan.get(id)
                .unwrap()
                .parameters()
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        assert_eq!(
            text(1),
            "groups: 1|2 3, from_s: 10, until_s: 25, mode: hold"
        );
        assert_eq!(text(2), "from_s: 30, until_s: 40");
        assert_eq!(text(3), "at_s: 45, restart_s: 50, clock: reset");
        assert_eq!(format_secs(s(2.5)), "2.5");
        assert_eq!(
            parse_groups("1|2 3"),
            Some(vec![vec![id(1)], vec![id(2), id(3)]])
        );
        assert_eq!(parse_groups("1||2"), None);
        assert_eq!(plan.get(0), None);
        assert_eq!(plan.get(6), None);
        assert_eq!(plan.get(2).unwrap().vms(), vec![id(2)]);
        assert_eq!(plan.get(1).unwrap().kind(), "partition");
    }
}
