//! Links are first-in first-out: one receiver takes each sender's messages in `seq` order. Pure.
//!
//! A sender's `seq` counts all of its send events, and some go to other peers (or are dropped
//! with a lost peer), so the seqs one receiver sees from one sender need not be consecutive; they
//! must only strictly increase. The checker keeps, per sender, the highest seq received so far
//! and the line that received it: memory grows with the number of peers, not with the run.
//! Receiving the same seq twice is a duplicate, which [`matching`](super::matching) reports; it
//! is not reported here a second time.

use lc_core::vm_id::VmId;
use std::collections::HashMap;

use super::violation::Rule;

/// One receiver's memory of each link into it.
#[derive(Debug, Clone, Default)]
pub(crate) struct LinkOrder {
    /// Sender -> the highest seq received from it, and the line of that receive.
    highest: HashMap<VmId, (u64, usize)>,
}

impl LinkOrder {
    /// Checks a receive, at `line`, of message `seq` from `sender`.
    pub(crate) fn receive(
        &mut self,
        line: usize,
        sender: VmId,
        seq: u64,
        mut report: impl FnMut(Rule, String),
    ) {
        match self.highest.get_mut(&sender) {
            Some((highest, at)) => {
                if seq < *highest {
                    report(
                        Rule::ReceiveOutOfOrder,
                        format!(
                            "receive of vm {sender} seq {seq} after its seq {highest} (line {at}); links are first-in first-out"
                        ),
                    );
                } else if seq > *highest {
                    *highest = seq;
                    *at = line;
                }
            }
            None => {
                self.highest.insert(sender, (seq, line));
            }
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

    /// The lines (1-based) reported out of order among `receives` of (sender, seq).
    fn out_of_order(receives: &[(u32, u64)]) -> Vec<usize> {
        let mut order = LinkOrder::default();
        let mut lines = Vec::new();
        for (i, &(sender, seq)) in receives.iter().enumerate() {
            order.receive(i + 1, vid(sender), seq, |rule, _| {
                assert_eq!(rule, Rule::ReceiveOutOfOrder);
                lines.push(i + 1);
            });
        }
        lines
    }

    #[test]
    fn increasing_seqs_with_gaps_pass_and_links_are_independent() {
        assert!(out_of_order(&[(1, 1), (3, 7), (1, 4), (3, 8), (1, 9), (2, 1)]).is_empty());
    }

    #[test]
    fn a_message_overtaken_on_its_link_is_caught_at_the_later_receive() {
        assert_eq!(out_of_order(&[(1, 2), (1, 1), (1, 3)]), vec![2]);
        // Both messages received after seq 5 are out of order.
        assert_eq!(out_of_order(&[(1, 5), (1, 3), (1, 4), (1, 6)]), vec![2, 3]);
    }

    #[test]
    fn the_same_seq_twice_is_left_to_the_duplicate_check() {
        assert!(out_of_order(&[(1, 2), (1, 2)]).is_empty());
    }

    #[test]
    fn the_detail_names_the_receive_it_came_after() {
        let mut order = LinkOrder::default();
        let mut details = Vec::new();
        order.receive(7, vid(2), 5, |_, d| details.push(d));
        order.receive(9, vid(2), 3, |_, d| details.push(d));
        assert_eq!(
            details,
            vec!["receive of vm 2 seq 3 after its seq 5 (line 7); links are first-in first-out"]
        );
    }
}
