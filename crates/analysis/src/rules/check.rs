//! Lamport's rules along one VM's program order. Pure.
//!
//! Each VM's events are checked against the event before it in the same file: the clock strictly
//! increases, a send or internal event adds exactly 1, a receive sets max(previous, msg_lc) + 1,
//! and send sequence numbers count up from 1. The message edges of happened-before are checked in
//! [`matching`](super::matching). After a line that could not be read the previous clock is
//! unknown, so the next event is not checked against a guess (one bad line gives one finding).
//! A crash whose restart resets the clock (a `fault_end` with `clock: reset`) starts the VM's
//! clock again from 0: [`ProgramOrder::reset_clock`] makes exactly the next event be judged
//! against 0, and nothing else changes (send seqs go on across a crash).

use super::violation::Rule;
use crate::read::record::{Action, Tick};

/// The checker's memory of one VM: its last clock and last send seq.
#[derive(Debug, Clone)]
pub(crate) struct ProgramOrder {
    prev_lc: u64,
    last_seq: u64,
    /// False after an unreadable line: the next event is not checked against `prev_lc`.
    in_step: bool,
}

impl Default for ProgramOrder {
    /// A VM before its first event: the clock starts at 0 and no message was sent yet.
    fn default() -> Self {
        ProgramOrder {
            prev_lc: 0,
            last_seq: 0,
            in_step: true,
        }
    }
}

impl ProgramOrder {
    /// A line of this VM could not be read: do not check the next event against the one before.
    pub(crate) fn lose_step(&mut self) {
        self.in_step = false;
    }

    /// The VM's clock now (the `lc` of its previous event, 0 before the first), if known.
    pub(crate) fn clock(&self) -> Option<u64> {
        self.in_step.then_some(self.prev_lc)
    }

    /// The VM restarted with its clock reset: the next event is judged against 0.
    pub(crate) fn reset_clock(&mut self) {
        self.prev_lc = 0;
        self.in_step = true;
    }

    /// Checks one tick against the previous one, reporting each broken rule, and returns the
    /// clock jump (`lc` minus the previous `lc`, which is 0 before the first event).
    pub(crate) fn tick(&mut self, tick: &Tick, mut report: impl FnMut(Rule, String)) -> i64 {
        let prev = self.prev_lc;
        if self.in_step {
            let kind = tick.action.kind().as_str();
            if tick.lc <= prev {
                report(
                    Rule::ClockNotIncreasing,
                    format!("{kind} has lc {} after lc {prev}", tick.lc),
                );
            } else if let Action::Receive { msg_lc, .. } = tick.action {
                let want = prev.max(msg_lc) + 1;
                if tick.lc != want {
                    report(
                        Rule::ReceiveRule,
                        format!(
                            "receive set lc {} after lc {prev} with msg_lc {msg_lc}; expected {want}",
                            tick.lc
                        ),
                    );
                }
            } else if tick.lc != prev + 1 {
                report(
                    Rule::TickStep,
                    format!(
                        "{kind} set lc {} after lc {prev}; expected {}",
                        tick.lc,
                        prev + 1
                    ),
                );
            }
        }
        if let Action::Send { seq, .. } = tick.action {
            if self.in_step && seq != self.last_seq + 1 {
                report(
                    Rule::SendSeq,
                    format!(
                        "send seq {seq} after seq {}; expected {}",
                        self.last_seq,
                        self.last_seq + 1
                    ),
                );
            }
            self.last_seq = seq;
        }
        self.prev_lc = tick.lc;
        self.in_step = true;
        tick.lc as i64 - prev as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lc_core::vm_id::VmId;

    /// A VM id written in a test.
    fn vid(n: u32) -> VmId {
        VmId::literal(n)
    }

    fn internal(lc: u64) -> Tick {
        Tick {
            lc,
            queue: 0,
            vc: None,
            action: Action::Internal,
        }
    }
    fn send(lc: u64, seq: u64) -> Tick {
        Tick {
            lc,
            queue: 0,
            vc: None,
            action: Action::Send {
                to: vec![vid(2)],
                seq,
            },
        }
    }
    fn receive(lc: u64, msg_lc: u64) -> Tick {
        Tick {
            lc,
            queue: 0,
            vc: None,
            action: Action::Receive {
                from: vid(2),
                seq: 1,
                msg_lc,
                msg_vc: None,
            },
        }
    }

    fn run(ticks: &[Tick]) -> (Vec<i64>, Vec<Rule>) {
        let mut order = ProgramOrder::default();
        let mut rules = Vec::new();
        let jumps = ticks
            .iter()
            .map(|t| order.tick(t, |rule, _| rules.push(rule)))
            .collect();
        (jumps, rules)
    }

    #[test]
    fn a_valid_sequence_passes_and_yields_its_jumps() {
        let (jumps, rules) = run(&[
            internal(1),
            send(2, 1),
            receive(8, 7),
            receive(9, 3),
            send(10, 2),
        ]);
        assert_eq!(jumps, vec![1, 1, 6, 1, 1]);
        assert!(rules.is_empty(), "{rules:?}");
    }

    #[test]
    fn each_rule_is_caught() {
        assert_eq!(run(&[internal(2)]).1, vec![Rule::TickStep]);
        assert_eq!(
            run(&[internal(1), send(1, 1)]).1,
            vec![Rule::ClockNotIncreasing]
        );
        assert_eq!(
            run(&[internal(1), receive(5, 2)]).1,
            vec![Rule::ReceiveRule]
        );
        assert_eq!(
            run(&[internal(1), receive(2, 5)]).1,
            vec![Rule::ReceiveRule]
        );
        assert_eq!(run(&[send(1, 2)]).1, vec![Rule::SendSeq]);
        assert_eq!(run(&[send(1, 1), send(2, 1)]).1, vec![Rule::SendSeq]);
    }

    #[test]
    fn a_reset_clock_accepts_a_restart_from_zero_once() {
        let mut order = ProgramOrder::default();
        let mut rules = Vec::new();
        order.tick(&internal(1), |r, _| rules.push(r));
        order.tick(&send(2, 1), |r, _| rules.push(r));
        assert_eq!(order.clock(), Some(2));
        order.reset_clock();
        assert_eq!(order.clock(), Some(0));
        assert_eq!(order.tick(&send(1, 2), |r, _| rules.push(r)), 1);
        order.tick(&receive(4, 3), |r, _| rules.push(r));
        assert!(rules.is_empty(), "{rules:?}");
        // Without a reset the same step back is a broken rule.
        order.tick(&internal(1), |r, _| rules.push(r));
        assert_eq!(rules, vec![Rule::ClockNotIncreasing]);
    }

    #[test]
    fn after_a_lost_line_the_next_event_is_not_judged() {
        let mut order = ProgramOrder::default();
        let mut rules = Vec::new();
        order.tick(&internal(1), |r, _| rules.push(r));
        order.lose_step();
        order.tick(&send(3, 2), |r, _| rules.push(r));
        order.tick(&internal(5), |r, _| rules.push(r));
        assert_eq!(rules, vec![Rule::TickStep]);
    }
}
