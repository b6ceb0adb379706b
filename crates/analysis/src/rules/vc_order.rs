//! The rules a logged `vc` must keep along one VM's events. Pure. (The value itself is
//! [`lc_core::vector_clock::VectorClock`], the one the runs keep.)
//!
//! Entry k of a clock counts the events of VM k+1 that happened before or at the event (VM ids
//! are 1-based; the log writes the entries in id order, `vc: 3 0 5`), so an event's own entry is
//! its place among its VM's events. Two clocks order their events exactly as happened-before
//! does, which Lamport clocks cannot: that is what the concurrency counts and the ShiViz export
//! are built on.
//!
//! [`VcProgramOrder`] checks each logged clock against the VM's previous one, as
//! [`check`](super::check) does for Lamport clocks: the own entry grows by exactly 1 per event
//! (1 at the first); a send or internal event changes no other entry; a receive is the
//! entry-wise max of the previous clock and the message's, plus one in its own entry; and a
//! receive's `msg_vc`, when logged, equals its send's `vc`. Each broken line gets one finding,
//! and after a line whose clock is unknown the next is not judged against a guess. After a
//! crash whose restart resets the clocks, the next event is judged against the zero clock
//! ([`VcProgramOrder::reset`]).

use lc_core::vector_clock::VectorClock;
use lc_core::vm_id::VmId;

use crate::read::record::Kind;
use crate::rules::violation::Rule;

/// The checker's memory of one VM: its previous logged clock.
#[derive(Debug, Clone)]
pub(crate) struct VcProgramOrder {
    vm: VmId,
    /// Entries every clock of the run must have: one per VM.
    width: usize,
    prev: VectorClock,
    /// False after a line whose clock is unknown: the next is not judged against `prev`.
    in_step: bool,
}

impl VcProgramOrder {
    /// VM `vm` of a run of `width` VMs, before its first event.
    pub(crate) fn new(vm: VmId, width: usize) -> VcProgramOrder {
        VcProgramOrder {
            vm,
            width,
            prev: VectorClock::zero(width),
            in_step: true,
        }
    }

    /// The VM's previous clock is unknown (an unreadable line, or an event without `vc`): do not
    /// judge the next event against it.
    pub(crate) fn lose_step(&mut self) {
        self.in_step = false;
    }

    /// The VM restarted with its clocks reset (a crash with `clock: reset`): the next event is
    /// judged against the clock of no event, every entry 0.
    pub(crate) fn reset(&mut self) {
        self.prev = VectorClock::zero(self.width);
        self.in_step = true;
    }

    /// Checks the clock `vc` logged by an event of kind `kind`, reporting each broken rule.
    /// For a receive, `logged_msg` is its own `msg_vc` and `send_vc` the `vc` its matched send
    /// logged, each if known; the message's clock is taken from the former, else the latter.
    pub(crate) fn event(
        &mut self,
        kind: Kind,
        vc: &VectorClock,
        logged_msg: Option<&VectorClock>,
        send_vc: Option<&VectorClock>,
        mut report: impl FnMut(Rule, String),
    ) {
        let name = kind.as_str();
        if vc.len() != self.width {
            report(
                Rule::VcSize,
                format!(
                    "{name} has vc `{vc}` with {} entries; the run has {} VMs",
                    vc.len(),
                    self.width
                ),
            );
            self.in_step = false;
            return;
        }
        if let (Some(msg), Some(sent)) = (logged_msg, send_vc) {
            if msg != sent {
                report(
                    Rule::VcMsgMismatch,
                    format!("msg_vc `{msg}` but the send has vc `{sent}`"),
                );
            }
        }
        if self.in_step {
            self.judge(kind, vc, logged_msg.or(send_vc), &mut report);
        }
        self.prev = vc.clone();
        self.in_step = true;
    }

    fn judge(
        &self,
        kind: Kind,
        vc: &VectorClock,
        message: Option<&VectorClock>,
        report: &mut impl FnMut(Rule, String),
    ) {
        let name = kind.as_str();
        let prev = &self.prev;
        let mut want = prev.clone();
        if let (Kind::Receive, Some(message)) = (kind, message) {
            want.merge(message);
        }
        want.tick(self.vm);
        if *vc == want {
            return;
        }
        let (own, want_own) = (vc.get(self.vm), want.get(self.vm));
        if own != want_own {
            report(
                Rule::VcOwnStep,
                format!(
                    "{name} has own entry {own} in vc `{vc}` after `{prev}`; expected {want_own}"
                ),
            );
        } else if kind == Kind::Receive {
            // Without the message's clock only the own entry can be judged, and it was right.
            if let Some(message) = message {
                report(
                    Rule::VcReceiveRule,
                    format!(
                        "receive set vc `{vc}` after `{prev}` with message vc `{message}`; expected `{want}`"
                    ),
                );
            }
        } else {
            report(
                Rule::VcTickRule,
                format!("{name} set vc `{vc}` after `{prev}`; only its own entry may change, to `{want}`"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VM id written in a test.
    fn vid(n: u32) -> VmId {
        VmId::literal(n)
    }

    fn vc(s: &str) -> VectorClock {
        s.parse().unwrap()
    }

    /// Feeds (kind, vc, msg_vc, send vc) of VM 2 in a run of 3 VMs; returns the rules broken.
    fn run(events: &[(Kind, &str, Option<&str>, Option<&str>)]) -> Vec<Rule> {
        let mut order = VcProgramOrder::new(vid(2), 3);
        let mut rules = Vec::new();
        for (kind, clock, msg, sent) in events {
            let (msg, sent) = (msg.map(vc), sent.map(vc));
            order.event(*kind, &vc(clock), msg.as_ref(), sent.as_ref(), |rule, _| {
                rules.push(rule)
            });
        }
        rules
    }

    #[test]
    fn a_valid_sequence_passes() {
        let rules = run(&[
            (Kind::Internal, "0 1 0", None, None),
            (Kind::Receive, "2 2 0", None, Some("2 0 0")),
            (Kind::Send, "2 3 0", None, None),
            (Kind::Receive, "2 4 4", Some("1 1 4"), Some("1 1 4")),
            // The message knew less than the VM: only the own entry moves.
            (Kind::Receive, "2 5 4", Some("1 0 3"), None),
        ]);
        assert!(rules.is_empty(), "{rules:?}");
    }

    #[test]
    fn each_rule_is_caught_once_per_line() {
        use Kind::*;
        assert_eq!(
            run(&[(Internal, "0 2 0", None, None)]),
            vec![Rule::VcOwnStep]
        );
        assert_eq!(
            run(&[(Internal, "0 1 0", None, None), (Send, "0 1 0", None, None)]),
            vec![Rule::VcOwnStep]
        );
        assert_eq!(run(&[(Send, "1 1 0", None, None)]), vec![Rule::VcTickRule]);
        // A receive that kept its previous clock instead of taking the message's entries.
        assert_eq!(
            run(&[(Receive, "0 1 0", None, Some("3 0 0"))]),
            vec![Rule::VcReceiveRule]
        );
        // One that took more than the message knew.
        assert_eq!(
            run(&[(Receive, "3 1 1", None, Some("3 0 0"))]),
            vec![Rule::VcReceiveRule]
        );
        assert_eq!(
            run(&[(Receive, "3 2 0", None, Some("3 0 0"))]),
            vec![Rule::VcOwnStep]
        );
        assert_eq!(
            run(&[(Receive, "3 1 0", Some("3 0 0"), Some("2 0 0"))]),
            vec![Rule::VcMsgMismatch]
        );
        assert_eq!(run(&[(Send, "0 1", None, None)]), vec![Rule::VcSize]);
    }

    #[test]
    fn without_the_message_only_the_own_entry_is_judged() {
        assert!(run(&[(Kind::Receive, "7 1 3", None, None)]).is_empty());
        assert_eq!(
            run(&[(Kind::Receive, "7 3 3", None, None)]),
            vec![Rule::VcOwnStep]
        );
    }

    #[test]
    fn after_a_lost_step_the_next_event_is_not_judged() {
        let mut order = VcProgramOrder::new(vid(1), 2);
        let mut rules = Vec::new();
        order.event(Kind::Internal, &vc("1 0"), None, None, |r, _| rules.push(r));
        order.lose_step();
        order.event(Kind::Internal, &vc("3 0"), None, None, |r, _| rules.push(r));
        order.event(Kind::Internal, &vc("4 0"), None, None, |r, _| rules.push(r));
        assert!(rules.is_empty(), "{rules:?}");
        // A clock of the wrong size is a lost step too.
        order.event(Kind::Internal, &vc("5"), None, None, |r, _| rules.push(r));
        order.event(Kind::Internal, &vc("9 0"), None, None, |r, _| rules.push(r));
        assert_eq!(rules, vec![Rule::VcSize]);
    }
}
