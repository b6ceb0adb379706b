//! The model's tick decision, read back from the log: a waiting message is taken first. Pure.
//!
//! A tick with a message in its queue must receive it; only a tick with an empty queue may roll
//! the die. The log shows this in two ways, and each broken line gets exactly one finding:
//! - a `send` or `internal` line carries the queue length at the tick's decision, which must be
//!   0 ([`Rule::QueueNotEmpty`]);
//! - messages leave a queue only by being received, so an event after one that left `queue > 0`
//!   must be a `receive` ([`Rule::IgnoredWaitingMessage`]). This is the clearer account of a VM
//!   that ignored a waiting message, so when both apply to one line only it is reported.
//!
//! After a line that could not be read the queue the previous event left is unknown, so the next
//! event is judged only on its own `queue`.

use super::violation::Rule;
use crate::read::record::{Action, Tick};

/// What the previous event of one VM left in its queue.
#[derive(Debug, Clone, Default)]
pub(crate) struct QueueDiscipline {
    /// The previous event's `queue` and line, if it is known.
    left: Option<(u64, usize)>,
}

impl QueueDiscipline {
    /// A line of this VM could not be read: the queue it left is unknown.
    pub(crate) fn lose_step(&mut self) {
        self.left = None;
    }

    /// The VM restarted after a crash with `queue` messages waiting (its line is `line`): the
    /// queue the last event before the crash left was lost with it.
    pub(crate) fn restart(&mut self, line: usize, queue: u64) {
        self.left = Some((queue, line));
    }

    /// Checks the tick at `line` against the queue the previous one left.
    pub(crate) fn tick(&mut self, line: usize, tick: &Tick, mut report: impl FnMut(Rule, String)) {
        let kind = tick.action.kind().as_str();
        let receive = matches!(tick.action, Action::Receive { .. });
        match self.left {
            Some((waiting, at)) if waiting > 0 && !receive => report(
                Rule::IgnoredWaitingMessage,
                format!(
                    "{kind} after line {at} left {} waiting; a tick with a waiting message must receive it",
                    messages(waiting)
                ),
            ),
            _ if !receive && tick.queue > 0 => report(
                Rule::QueueNotEmpty,
                format!(
                    "{kind} decided with {} waiting (queue {}); a tick with a waiting message must receive it",
                    messages(tick.queue),
                    tick.queue
                ),
            ),
            _ => {}
        }
        self.left = Some((tick.queue, line));
    }
}

fn messages(n: u64) -> String {
    if n == 1 {
        "1 message".to_string()
    } else {
        format!("{n} messages")
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

    fn tick(queue: u64, action: Action) -> Tick {
        Tick {
            lc: 1,
            queue,
            vc: None,
            action,
        }
    }
    fn send(queue: u64) -> Tick {
        tick(
            queue,
            Action::Send {
                to: vec![vid(2)],
                seq: 1,
            },
        )
    }
    fn internal(queue: u64) -> Tick {
        tick(queue, Action::Internal)
    }
    fn receive(queue: u64) -> Tick {
        tick(
            queue,
            Action::Receive {
                from: vid(2),
                seq: 1,
                msg_lc: 1,
                msg_vc: None,
            },
        )
    }

    /// The rules broken, one entry per tick (None: the tick is fine).
    fn run(ticks: &[Tick]) -> Vec<Option<Rule>> {
        let mut discipline = QueueDiscipline::default();
        ticks
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let mut found = Vec::new();
                discipline.tick(i + 1, t, |rule, _| found.push(rule));
                assert!(found.len() <= 1, "one finding per line: {found:?}");
                found.pop()
            })
            .collect()
    }

    #[test]
    fn a_queue_drained_one_receive_per_tick_passes() {
        let ticks = [
            internal(0),
            receive(2),
            receive(1),
            receive(0),
            send(0),
            receive(0),
        ];
        assert_eq!(run(&ticks), vec![None; 6]);
    }

    #[test]
    fn a_send_or_internal_decided_with_a_waiting_message_is_caught() {
        assert_eq!(
            run(&[send(1), receive(0), internal(3), receive(2)]),
            vec![
                Some(Rule::QueueNotEmpty),
                None,
                Some(Rule::QueueNotEmpty),
                None
            ]
        );
    }

    #[test]
    fn an_event_after_messages_were_left_waiting_must_be_a_receive() {
        assert_eq!(
            run(&[receive(1), internal(0), receive(1), send(0), receive(0)]),
            vec![
                None,
                Some(Rule::IgnoredWaitingMessage),
                None,
                Some(Rule::IgnoredWaitingMessage),
                None
            ]
        );
    }

    #[test]
    fn a_line_that_breaks_both_is_reported_once_as_ignored() {
        assert_eq!(
            run(&[receive(2), send(1)]),
            vec![None, Some(Rule::IgnoredWaitingMessage)]
        );
    }

    #[test]
    fn the_detail_names_the_line_that_left_the_queue() {
        let mut discipline = QueueDiscipline::default();
        let mut details = Vec::new();
        discipline.tick(4, &receive(1), |_, d| details.push(d));
        discipline.tick(5, &internal(0), |_, d| details.push(d));
        assert_eq!(
            details,
            vec![
                "internal after line 4 left 1 message waiting; a tick with a waiting message must receive it"
            ]
        );
    }

    #[test]
    fn a_restart_forgets_the_queue_lost_in_the_crash() {
        let mut discipline = QueueDiscipline::default();
        let mut found = Vec::new();
        discipline.tick(1, &receive(3), |r, _| found.push(r));
        discipline.restart(2, 0);
        discipline.tick(3, &internal(0), |r, _| found.push(r));
        assert!(found.is_empty(), "{found:?}");
        discipline.restart(4, 2);
        discipline.tick(5, &internal(0), |r, _| found.push(r));
        assert_eq!(found, vec![Rule::IgnoredWaitingMessage]);
    }

    #[test]
    fn after_a_lost_line_only_the_event_itself_is_judged() {
        let mut discipline = QueueDiscipline::default();
        let mut found = Vec::new();
        discipline.tick(1, &receive(3), |r, _| found.push(r));
        discipline.lose_step();
        discipline.tick(3, &internal(0), |r, _| found.push(r));
        discipline.lose_step();
        discipline.tick(5, &send(1), |r, _| found.push(r));
        assert_eq!(found, vec![Rule::QueueNotEmpty]);
    }
}
