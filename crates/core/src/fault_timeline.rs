//! One VM's timeline under the fault plan: when it must wake next and what
//! for (a tick, a fault's start or end, the stop), which ticks a pause or a
//! crash takes away, and what each fault mark makes the VM do.
//!
//! Timers are inputs here, as in stateright and quinn-proto: the timeline
//! keeps no clock and sets no timer. Its driver (the VM actor on real or
//! virtual time, or [`crate::simulation`]) asks [`VmTimeline::next_wake`]
//! for the next instant, sleeps or jumps there, and hands the instant back
//! ([`VmTimeline::tick_taken`], [`VmTimeline::take_mark`]). Every instant is
//! a [`Duration`] since the run's common start, the unit [`FaultPlan`]
//! speaks, so the actor and the simulation share every decision and only
//! translate instants. What a crash or restart does to the clocks and the
//! queue stays with [`crate::vm_core::VmCore`]; the timeline says when, and
//! which ([`MarkAction`]).

use crate::faults::{Edge, Fault, FaultId, FaultPlan, Mark, Passage, RestartClock};
use crate::model::VmId;
use crate::schedule::{offset, ticks_before};
use std::sync::Arc;
use std::time::Duration;

/// What the VM wakes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The next fault mark ([`VmTimeline::take_mark`]).
    Mark,
    /// The next tick ([`VmTimeline::tick_taken`]).
    Tick,
    /// The stop instant.
    Stop,
}

/// The next instant the VM must wake, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextWake {
    pub at: Duration,
    pub wake: Wake,
}

/// What a fault mark makes the VM do besides logging its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkAction {
    /// Nothing more: a partition acts at the bridge ([`FaultPlan::passage`]),
    /// a pause through the ticks it suppresses.
    Log,
    /// The VM goes down in this crash: its line first (it reports the
    /// queue the crash loses), then [`VmCore::crash`](crate::vm_core::VmCore::crash);
    /// its connections go with it.
    Crash(FaultId),
    /// The VM comes back: [`VmCore::restart`](crate::vm_core::VmCore::restart)
    /// with this clock first (the line reports what the crash lost and the
    /// clock it restarts with), then its line; it connects again.
    Restart(RestartClock),
}

/// A fault mark that is due, the fault it belongs to, and what it does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarkStep<'a> {
    pub mark: Mark,
    pub fault: &'a Fault,
    pub action: MarkAction,
}

/// One VM's ticks and fault marks, in time order.
#[derive(Debug, Clone)]
pub struct VmTimeline {
    vm: VmId,
    plan: Arc<FaultPlan>,
    rate: u32,
    /// How far the tick schedule leads the start (see [`crate::schedule`]).
    lead: Duration,
    /// The number of the next tick (tick `k` is due at `offset(k) - lead`);
    /// `None` once a crash without restart has taken every tick left.
    next_tick: Option<u64>,
    /// The starts and ends of the faults touching this VM, in time order.
    marks: Vec<Mark>,
    /// How many of them have been taken.
    marks_done: usize,
}

impl VmTimeline {
    pub fn new(plan: Arc<FaultPlan>, vm: VmId, rate: u32, lead: Duration) -> Self {
        let marks = plan.marks(vm);
        Self {
            vm,
            plan,
            rate: rate.max(1),
            lead,
            next_tick: Some(1),
            marks,
            marks_done: 0,
        }
    }

    fn due(&self, tick: u64) -> Duration {
        offset(tick, self.rate).saturating_sub(self.lead)
    }

    /// When the next tick is due, unless a crash for good took them all.
    /// Call [`VmTimeline::next_wake`] first: it skips suppressed ticks.
    pub(crate) fn next_tick_due(&self) -> Option<Duration> {
        self.next_tick.map(|k| self.due(k))
    }

    /// The pause or crash that keeps this VM from ticking at `at`, if any.
    pub(crate) fn tick_suppressed(&self, at: Duration) -> Option<FaultId> {
        self.plan.tick_suppressed(self.vm, at)
    }

    /// Skips the ticks due in a pause or crash window, up to `stop` (none
    /// after it: a stop that moves earlier must not find ticks taken from
    /// the far side of it); returns how many. A window is skipped in one
    /// step, so a crash for good costs nothing however long the run.
    pub(crate) fn skip_suppressed_ticks(&mut self, stop: Option<Duration>) -> u64 {
        let mut skipped = 0;
        while let Some(tick) = self.next_tick {
            let due = self.due(tick);
            if stop.is_some_and(|stop| due > stop) {
                break;
            }
            let Some(fault) = self.tick_suppressed(due).and_then(|id| self.plan.get(id)) else {
                break;
            };
            // The first tick due at or after the window's end, and the
            // first after the stop: every tick before either is suppressed.
            let after_window = fault.window().1.map(|end| self.first_tick_from(end));
            let after_stop = stop.and_then(|stop| stop.checked_add(Duration::from_nanos(1)));
            let after_stop = after_stop.map(|at| self.first_tick_from(at));
            let next = match (after_window, after_stop) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let next = next.map(|next| next.max(tick + 1));
            skipped += next.map_or(0, |next| next - tick);
            self.next_tick = next;
        }
        skipped
    }

    /// The number of the first tick due at or after `at`.
    fn first_tick_from(&self, at: Duration) -> u64 {
        ticks_before(self.rate, self.lead, at) + 1
    }

    fn pending_mark(&self) -> Option<Mark> {
        self.marks.get(self.marks_done).copied()
    }

    /// The next instant to wake and why, with `stop` the stop instant (none
    /// for a driver that stops on a count): the earliest of the next fault
    /// mark, the next tick and the stop. A mark goes before a tick or a stop
    /// at the same instant; a tick due at the stop instant is still taken.
    /// `None`: nothing is left to wake for.
    pub fn next_wake(&mut self, stop: Option<Duration>) -> Option<NextWake> {
        self.skip_suppressed_ticks(stop);
        let due = self.next_tick_due();
        let not_after = |at: Duration, bound: Option<Duration>| bound.is_none_or(|b| at <= b);
        let first_bound = match (due, stop) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(mark) = self.pending_mark().filter(|m| not_after(m.at, first_bound)) {
            return Some(NextWake {
                at: mark.at,
                wake: Wake::Mark,
            });
        }
        if let Some(due) = due.filter(|&due| not_after(due, stop)) {
            return Some(NextWake {
                at: due,
                wake: Wake::Tick,
            });
        }
        stop.map(|at| NextWake {
            at,
            wake: Wake::Stop,
        })
    }

    /// The tick [`VmTimeline::next_wake`] named has been taken.
    pub fn tick_taken(&mut self) {
        self.next_tick = self.next_tick.map(|k| k + 1);
    }

    /// Takes the next fault mark (the one [`Wake::Mark`] named): what its
    /// line is about and what the VM must do.
    pub fn take_mark(&mut self) -> Option<MarkStep<'_>> {
        let mark = self.pending_mark()?;
        self.marks_done += 1;
        let fault = self.plan.get(mark.fault)?;
        let action = match (fault, mark.edge) {
            (Fault::Crash { .. }, Edge::Start) => MarkAction::Crash(mark.fault),
            (Fault::Crash { clock, .. }, Edge::End) => MarkAction::Restart(*clock),
            _ => MarkAction::Log,
        };
        Some(MarkStep {
            mark,
            fault,
            action,
        })
    }

    /// Whether the next mark is a partition's end that has passed by `now`.
    /// A tick that fires late may fire after such an end: its line goes
    /// first, so no event stamped after the window's end stands before it
    /// (messages the partition held may already be queued). Only partition
    /// ends: a pause or crash changes what the tick may do, and a tick due
    /// before their start still belongs before it.
    pub fn partition_end_passed(&self, now: Duration) -> bool {
        self.pending_mark().is_some_and(|mark| {
            mark.edge == Edge::End
                && mark.at <= now
                && matches!(self.plan.get(mark.fault), Some(Fault::Partition { .. }))
        })
    }

    /// What becomes of a message from `from` that would reach this VM's
    /// queue at `at` ([`FaultPlan::passage`]).
    pub(crate) fn passage_in(&self, from: VmId, at: Duration) -> Passage {
        self.plan.passage(from, self.vm, at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::PartitionMode;

    /// A VM id written in a test.
    fn id(n: u32) -> VmId {
        VmId::literal(n)
    }

    fn s(secs: f64) -> Duration {
        Duration::from_secs_f64(secs)
    }

    /// The ticks a brute-force walk finds due in `[from, to]`, and the first due after `to`.
    fn brute(t: &VmTimeline, from: Duration, to: Duration) -> (u64, u64) {
        let due: Vec<(u64, Duration)> = (1..100_000).map(|k| (k, t.due(k))).collect();
        let inside = due.iter().filter(|(_, d)| *d >= from && *d <= to).count() as u64;
        let next = due.iter().find(|(_, d)| *d > to).unwrap().0;
        (inside, next)
    }

    #[test]
    fn the_first_tick_from_an_instant_is_the_first_due_at_or_after_it() {
        // Leads within the first period, as the schedule draws them.
        for (rate, lead_us) in [(4, 100_000), (3, 0), (7, 33_000), (1000, 999)] {
            let t = VmTimeline::new(plan(), id(1), rate, Duration::from_micros(lead_us));
            for at_ms in (0..5_000).step_by(37) {
                let at = Duration::from_millis(at_ms);
                let first = t.first_tick_from(at);
                assert!(
                    t.due(first) >= at,
                    "rate {rate}: tick {first} before {at:?}"
                );
                assert!(
                    first == 1 || t.due(first - 1) < at,
                    "rate {rate}: {first} not the first"
                );
            }
        }
    }

    #[test]
    fn a_window_is_skipped_in_one_step_and_exactly_its_ticks_are_counted() {
        // (4, 0) puts a tick exactly on the stop (2.5 s): it is skipped, the next is not.
        for (rate, lead_us) in [(4, 100_000), (4, 0), (3, 0), (7, 33_000), (1000, 999)] {
            let pause = Arc::new(FaultPlan::new(vec![Fault::Pause {
                vm: id(1),
                from: s(2.0),
                until: s(3.0),
            }]));
            let lead = Duration::from_micros(lead_us);
            // Up to the window's end, with no stop.
            let mut t = VmTimeline::new(pause.clone(), id(1), rate, lead);
            t.next_tick = Some(t.first_tick_from(s(2.0)));
            let (inside, next) = brute(&t, s(2.0), s(3.0) - Duration::from_nanos(1));
            assert_eq!(t.skip_suppressed_ticks(None), inside, "rate {rate}");
            assert_eq!(t.next_tick, Some(next), "rate {rate}");
            // A stop inside the window: nothing after it is taken.
            let mut t = VmTimeline::new(pause, id(1), rate, lead);
            t.next_tick = Some(t.first_tick_from(s(2.0)));
            let (inside, next) = brute(&t, s(2.0), s(2.5));
            assert_eq!(t.skip_suppressed_ticks(Some(s(2.5))), inside, "rate {rate}");
            assert_eq!(t.next_tick, Some(next), "rate {rate}");
        }
        // A tick due exactly at the stop is still the run's: suppressed, so skipped.
        let pause = Arc::new(FaultPlan::new(vec![Fault::Pause {
            vm: id(1),
            from: s(2.0),
            until: s(3.0),
        }]));
        let mut t = VmTimeline::new(pause, id(1), 4, Duration::ZERO);
        t.next_tick = Some(10);
        assert_eq!(t.due(10), s(2.5));
        assert_eq!(t.skip_suppressed_ticks(Some(s(2.5))), 1);
        assert_eq!(t.next_tick, Some(11));
    }

    fn plan() -> Arc<FaultPlan> {
        Arc::new(FaultPlan::new(vec![
            Fault::Pause {
                vm: id(1),
                from: s(2.0),
                until: s(3.0),
            },
            Fault::Partition {
                groups: vec![vec![id(1)], vec![id(2)]],
                from: s(3.0),
                until: s(4.5),
                mode: PartitionMode::Hold,
            },
            Fault::Crash {
                vm: id(1),
                at: s(5.0),
                restart: Some(s(6.0)),
                clock: RestartClock::Reset,
            },
            Fault::Crash {
                vm: id(1),
                at: s(8.0),
                restart: None,
                clock: RestartClock::Keep,
            },
        ]))
    }

    /// Drives a timeline to `stop` as a driver would; returns what it woke
    /// for, in order, with the instant.
    fn walk(timeline: &mut VmTimeline, stop: Duration) -> Vec<(Duration, Wake)> {
        let mut seen = Vec::new();
        while let Some(next) = timeline.next_wake(Some(stop)) {
            seen.push((next.at, next.wake));
            match next.wake {
                Wake::Mark => {
                    timeline.take_mark();
                }
                Wake::Tick => timeline.tick_taken(),
                Wake::Stop => break,
            }
        }
        seen
    }

    #[test]
    fn ticks_in_a_pause_or_crash_are_skipped_and_marks_come_first() {
        let mut timeline = VmTimeline::new(plan(), id(1), 2, Duration::ZERO);
        let seen = walk(&mut timeline, s(10.0));
        let ticks: Vec<f64> = seen
            .iter()
            .filter(|(_, w)| *w == Wake::Tick)
            .map(|(at, _)| at.as_secs_f64())
            .collect();
        // Two a second; none in [2, 3), [5, 6) or from 8 on.
        assert_eq!(
            ticks,
            vec![0.5, 1.0, 1.5, 3.0, 3.5, 4.0, 4.5, 6.0, 6.5, 7.0, 7.5]
        );
        let marks = seen.iter().filter(|(_, w)| *w == Wake::Mark).count();
        assert_eq!(marks, 7, "3 windows with two edges, a crash for good");
        // At 3 s the pause's end, then the partition's start, then the tick.
        let at_three: Vec<Wake> = seen
            .iter()
            .filter(|(at, _)| *at == s(3.0))
            .map(|(_, w)| *w)
            .collect();
        assert_eq!(at_three, vec![Wake::Mark, Wake::Mark, Wake::Tick]);
        assert_eq!(seen.last(), Some(&(s(10.0), Wake::Stop)));
    }

    #[test]
    fn skipped_ticks_are_the_plans_suppressed_ticks() {
        for (rate, lead_ns) in [(1, 0), (3, 0), (7, 123_456_789), (40, 5)] {
            let lead = Duration::from_nanos(lead_ns);
            let mut timeline = VmTimeline::new(plan(), id(1), rate, lead);
            let stop = s(9.7);
            let ticks = walk(&mut timeline, stop)
                .iter()
                .filter(|(_, w)| *w == Wake::Tick)
                .count() as u64;
            let expected = crate::schedule::ticks_within(rate, stop, lead)
                - plan().suppressed_ticks(id(1), rate, stop, lead);
            assert_eq!(ticks, expected, "rate {rate}");
        }
    }

    #[test]
    fn without_a_stop_a_crash_for_good_leaves_only_its_mark() {
        let mut timeline = VmTimeline::new(plan(), id(1), 5, Duration::ZERO);
        let mut last = None;
        while let Some(next) = timeline.next_wake(None) {
            last = Some(next);
            match next.wake {
                Wake::Mark => {
                    timeline.take_mark();
                }
                Wake::Tick => timeline.tick_taken(),
                Wake::Stop => unreachable!("no stop was given"),
            }
        }
        assert_eq!(
            last,
            Some(NextWake {
                at: s(8.0),
                wake: Wake::Mark
            })
        );
        assert_eq!(timeline.next_tick_due(), None);
    }

    #[test]
    fn each_mark_says_what_the_vm_does() {
        let mut timeline = VmTimeline::new(plan(), id(1), 1, Duration::ZERO);
        let mut actions = Vec::new();
        while let Some(step) = timeline.take_mark() {
            actions.push((step.mark.fault, step.mark.edge, step.action));
        }
        use MarkAction::*;
        assert_eq!(
            actions,
            vec![
                (1, Edge::Start, Log),
                (1, Edge::End, Log),
                (2, Edge::Start, Log),
                (2, Edge::End, Log),
                (3, Edge::Start, Crash(3)),
                (3, Edge::End, Restart(RestartClock::Reset)),
                (4, Edge::Start, Crash(4)),
            ]
        );
    }

    #[test]
    fn only_a_partition_end_that_has_passed_goes_before_a_late_tick() {
        let mut timeline = VmTimeline::new(plan(), id(1), 1, Duration::ZERO);
        for _ in 0..3 {
            timeline.take_mark();
        }
        assert!(!timeline.partition_end_passed(s(4.4)));
        assert!(timeline.partition_end_passed(s(4.5)));
        timeline.take_mark();
        assert!(!timeline.partition_end_passed(s(5.5)), "a crash's start");
        assert_eq!(
            timeline.passage_in(id(2), s(3.5)),
            Passage::DeliverAt(s(4.5))
        );
    }

    #[test]
    fn a_stop_before_the_first_tick_wakes_only_for_the_stop() {
        let mut timeline = VmTimeline::new(plan(), id(2), 1, Duration::ZERO);
        let next = timeline.next_wake(Some(s(0.5)));
        assert_eq!(
            next,
            Some(NextWake {
                at: s(0.5),
                wake: Wake::Stop
            })
        );
    }
}
