//! Whether a VM that restarted after a crash was heard from again.
//!
//! A restart is only a restart if the VM comes back into the run. Its drops
//! while its peers have not taken it back yet are owed to the crash, so the
//! message books balance even when the peers refuse it for good (that is how
//! a cluster whose nodes would not take a restarted node back was once
//! called healthy). The rule, for each crash's `fault_end` line (the
//! restart) of VM v:
//!
//! - v logs at least one more line of the model after it (a tick or its
//!   `stop` line); and
//! - if v sent any message at least [`REJOIN_GRACE`] after its restart, some
//!   peer received at least one of v's messages sent after the restart.
//!
//! The grace leaves the reconnection its time: a message sent in the first
//! moments after the restart may be dropped before the peers have the new
//! connection, and a restart just before the run's end may send nothing
//! that arrives. Kept apart from the other checkers because it is the one
//! rule about a VM's return, and it needs the receives of every other VM.

use super::violation::{At, Rule};
use crate::read::record::Action;
use lc_core::model::VmId;
use std::collections::BTreeMap;

/// How long after its restart a VM's sends may all be lost without the
/// restart counting as failed (microseconds of log time).
pub(crate) const REJOIN_GRACE_US: i64 = 1_000_000;
/// [`REJOIN_GRACE_US`] for people.
pub(crate) const REJOIN_GRACE: &str = "1 s";

/// One VM's latest restart, and what it did after it.
#[derive(Debug, Clone)]
struct Restart {
    at: At,
    t: i64,
    /// Lines of the model the VM logged after the restart.
    lines_after: u64,
    /// The `seq` of its first send after the restart.
    first_seq: Option<u64>,
    sent: u64,
    /// Sends at least the grace after the restart.
    late: u64,
}

/// The restarts of a run and whether each VM was heard from again.
#[derive(Debug, Default)]
pub(crate) struct Rejoins {
    restarts: BTreeMap<VmId, Restart>,
    /// The highest `seq` of each sender that any VM received.
    received: BTreeMap<VmId, u64>,
}

impl Rejoins {
    /// VM `vm` restarted after a crash at log line `at`, time `t`.
    pub(crate) fn restarted(&mut self, vm: VmId, at: At, t: i64) {
        self.restarts.insert(
            vm,
            Restart {
                at,
                t,
                lines_after: 0,
                first_seq: None,
                sent: 0,
                late: 0,
            },
        );
    }

    /// VM `vm` logged a tick doing `action` at `t`.
    pub(crate) fn tick(&mut self, vm: VmId, t: i64, action: &Action) {
        if let Action::Receive { from, seq, .. } = action {
            let highest = self.received.entry(*from).or_default();
            *highest = (*highest).max(*seq);
        }
        let Some(restart) = self.restarts.get_mut(&vm) else {
            return;
        };
        restart.lines_after += 1;
        if let Action::Send { seq, .. } = action {
            restart.first_seq.get_or_insert(*seq);
            restart.sent += 1;
            if t >= restart.t + REJOIN_GRACE_US {
                restart.late += 1;
            }
        }
    }

    /// VM `vm` logged its `stop` line.
    pub(crate) fn stopped(&mut self, vm: VmId) {
        if let Some(restart) = self.restarts.get_mut(&vm) {
            restart.lines_after += 1;
        }
    }

    /// Reports every restart that was not heard from again.
    pub(crate) fn finish(self, mut report: impl FnMut(At, Rule, String)) {
        for (vm, restart) in self.restarts {
            if restart.lines_after == 0 {
                report(
                    restart.at,
                    Rule::RestartNotRejoined,
                    format!("VM {vm} restarted here but logged nothing after it"),
                );
                continue;
            }
            let heard = restart
                .first_seq
                .is_some_and(|first| self.received.get(&vm).is_some_and(|&s| s >= first));
            if restart.late > 0 && !heard {
                report(
                    restart.at,
                    Rule::RestartNotRejoined,
                    format!(
                        "VM {vm} restarted here and sent {} messages after it ({} of them more \
                         than {REJOIN_GRACE} later), but no peer received any: it was never \
                         taken back",
                        restart.sent, restart.late
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vid(n: u32) -> VmId {
        VmId::literal(n)
    }

    fn send(seq: u64) -> Action {
        Action::Send {
            to: vec![vid(1)],
            seq,
        }
    }

    fn receive(from: u32, seq: u64) -> Action {
        Action::Receive {
            from: vid(from),
            seq,
            msg_lc: 1,
            msg_vc: None,
        }
    }

    fn at(line: usize) -> At {
        At { file: 2, line }
    }

    fn findings(rejoins: Rejoins) -> Vec<(usize, String)> {
        let mut found = Vec::new();
        rejoins.finish(|at, rule, detail| {
            assert_eq!(rule, Rule::RestartNotRejoined);
            found.push((at.line, detail));
        });
        found
    }

    const S: i64 = 1_000_000;

    #[test]
    fn a_restarted_vm_whose_later_messages_are_received_rejoined() {
        let mut r = Rejoins::default();
        r.tick(vid(3), 0, &send(1));
        r.restarted(vid(3), at(5), 3 * S);
        r.tick(vid(3), 5 * S, &send(2));
        r.tick(vid(1), 6 * S, &receive(3, 2));
        r.stopped(vid(3));
        assert!(findings(r).is_empty());
    }

    #[test]
    fn a_restarted_vm_whose_later_messages_never_arrive_did_not_rejoin() {
        let mut r = Rejoins::default();
        r.tick(vid(3), 0, &send(1));
        r.tick(vid(1), S, &receive(3, 1));
        r.restarted(vid(3), at(5), 3 * S);
        r.tick(vid(3), 3 * S + 1, &send(2));
        r.tick(vid(3), 5 * S, &send(3));
        let found = findings(r);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, 5);
        assert!(found[0].1.contains("sent 2 messages"), "{}", found[0].1);
        assert!(found[0].1.contains("1 of them"), "{}", found[0].1);
    }

    #[test]
    fn sends_lost_only_within_the_grace_are_no_failed_restart() {
        let mut r = Rejoins::default();
        r.restarted(vid(3), at(5), 3 * S);
        r.tick(vid(3), 3 * S + S / 2, &send(2));
        r.stopped(vid(3));
        assert!(findings(r).is_empty());
    }

    #[test]
    fn a_restart_followed_only_by_its_stop_line_rejoined() {
        // A restart just before the run's end may tick no more; its `stop` line alone shows
        // the VM came back.
        let mut r = Rejoins::default();
        r.restarted(vid(3), at(5), 3 * S);
        r.stopped(vid(3));
        assert!(findings(r).is_empty());
    }

    #[test]
    fn a_restart_with_nothing_after_it_did_not_rejoin() {
        let mut r = Rejoins::default();
        r.restarted(vid(2), at(9), S);
        r.tick(vid(1), 2 * S, &send(1));
        let found = findings(r);
        assert_eq!(found.len(), 1);
        assert!(found[0].1.contains("logged nothing after it"));
    }
}
