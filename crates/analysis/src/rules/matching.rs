//! Matching receives to sends: the message edges of happened-before. Pure.
//!
//! A message is (sender, seq, recipient). To stay in bounded memory only sends that still have a
//! recipient to hear from are kept; once every recipient has received, the send is reduced to
//! its seq in a per-sender range set (a handful of ranges, since messages complete roughly in
//! order), which is still enough to call a later receive of it a duplicate. Log timestamps come
//! from different threads, so a receive may be merged before its send: such a receive waits in
//! `early` until the send shows up, and is a violation only if it never does.
//!
//! A VM whose log is missing from the run is *absent*: its sends and receives are unknown, so
//! messages to it and receives from it cannot be matched. They are counted per absent VM rather
//! than reported one by one (as unreceived, or as receives of no send): the missing log is one
//! finding, made by [`settings_check`](crate::rules::settings_check), which quotes these counts.

use lc_core::vm_id::VmId;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};

use super::violation::{At, Rule, Violations};

/// Where and when an event was logged, and its clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub(crate) at: At,
    pub(crate) time_us: i64,
    pub(crate) lc: u64,
}

/// A matched message: the edge from its send to its receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Delivery {
    pub(crate) sender: VmId,
    pub(crate) recipient: VmId,
    pub(crate) seq: u64,
    pub(crate) send: Stamp,
    pub(crate) receive: Stamp,
}

impl Delivery {
    /// How long the message waited: receive time minus send time, in microseconds.
    pub(crate) fn wait_us(&self) -> i64 {
        self.receive.time_us - self.send.time_us
    }
}

/// A send some of whose recipients have not received it yet.
#[derive(Debug)]
struct InFlight {
    send: Stamp,
    to: Vec<VmId>,
    got: Vec<bool>,
    remaining: usize,
}

/// A receive logged before its send, by (sender, seq, recipient).
type EarlyKey = (VmId, u64, VmId);

/// A receive logged before its send.
#[derive(Debug, Clone, Copy)]
struct EarlyReceive {
    stamp: Stamp,
    msg_lc: u64,
}

/// Sends still in flight when the logs ended.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Unreceived {
    /// Messages (one per recipient) never received.
    pub(crate) messages: u64,
    /// Up to [`Matcher::EXAMPLES`] of them, the earliest sent that no stop line accounts for:
    /// the send's position, sender, seq, recipient.
    pub(crate) examples: Vec<(At, VmId, u64, VmId)>,
}

/// What a VM's stop line accounts for among the messages never received.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Settled {
    /// Messages to it left in its queue.
    pub(crate) left_in_queue: u64,
    /// Messages from it it counted as dropped.
    pub(crate) dropped: u64,
}

/// The messages of a VM whose log is missing, which could therefore not be matched.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AbsentPeer {
    /// Messages addressed to it (one per send event that named it).
    pub(crate) sent_to: u64,
    /// Receives of messages it sent.
    pub(crate) received_from: u64,
}

/// Matches receives to sends and checks every message edge.
#[derive(Debug, Default)]
pub(crate) struct Matcher {
    /// The name of each log file, by file index, to cite a send's file and line.
    files: Vec<String>,
    in_flight: HashMap<(VmId, u64), InFlight>,
    completed: HashMap<VmId, SeqRanges>,
    early: HashMap<EarlyKey, EarlyReceive>,
    absent: BTreeMap<VmId, AbsentPeer>,
}

impl Matcher {
    /// How many unreceived messages [`Matcher::finish`] lists.
    pub(crate) const EXAMPLES: usize = 5;

    /// A matcher for a run whose log files (by file index) are named `files` and whose VMs
    /// `absent` have no log.
    pub(crate) fn new(files: Vec<String>, absent: &[VmId]) -> Matcher {
        Matcher {
            files,
            absent: absent
                .iter()
                .map(|&vm| (vm, AbsentPeer::default()))
                .collect(),
            ..Matcher::default()
        }
    }

    /// The messages of each absent VM seen so far.
    pub(crate) fn absent(&self) -> &BTreeMap<VmId, AbsentPeer> {
        &self.absent
    }

    /// Records a send event; returns deliveries of receives that were logged before it.
    pub(crate) fn send(
        &mut self,
        sender: VmId,
        seq: u64,
        to: &[VmId],
        send: Stamp,
        violations: &mut Violations,
    ) -> Vec<Delivery> {
        let key = (sender, seq);
        let seen = self.in_flight.contains_key(&key)
            || self.completed.get(&sender).is_some_and(|r| r.contains(seq));
        if seen {
            // The program-order check reports the reused seq; keep the first send for matching.
            return Vec::new();
        }
        let mut to = to.to_vec();
        if !self.absent.is_empty() {
            to.retain(|recipient| match self.absent.get_mut(recipient) {
                Some(peer) => {
                    peer.sent_to += 1;
                    false
                }
                None => true,
            });
        }
        let mut flight = InFlight {
            send,
            got: vec![false; to.len()],
            remaining: to.len(),
            to,
        };
        let mut deliveries = Vec::new();
        if !self.early.is_empty() {
            for (i, &recipient) in flight.to.iter().enumerate() {
                if let Some(early) = self.early.remove(&(sender, seq, recipient)) {
                    flight.got[i] = true;
                    flight.remaining -= 1;
                    let edge = Delivery {
                        sender,
                        recipient,
                        seq,
                        send,
                        receive: early.stamp,
                    };
                    check_edge(&self.files, &edge, early.msg_lc, violations);
                    deliveries.push(edge);
                }
            }
        }
        if flight.remaining == 0 {
            self.complete(sender, seq);
        } else {
            self.in_flight.insert(key, flight);
        }
        deliveries
    }

    /// Records a receive event; returns its delivery if its send is known.
    pub(crate) fn receive(
        &mut self,
        recipient: VmId,
        sender: VmId,
        seq: u64,
        msg_lc: u64,
        receive: Stamp,
        violations: &mut Violations,
    ) -> Option<Delivery> {
        if let Some(peer) = self.absent.get_mut(&sender) {
            peer.received_from += 1;
            return None;
        }
        let key = (sender, seq);
        if let Some(flight) = self.in_flight.get_mut(&key) {
            let Some(i) = flight.to.iter().position(|&r| r == recipient) else {
                violations.push(
                    receive.at,
                    Rule::NotAddressed,
                    format!(
                        "receive of vm {sender} seq {seq}, but that send ({}) went to {}",
                        cite(&self.files, flight.send.at),
                        ids(&flight.to)
                    ),
                );
                return None;
            };
            if flight.got[i] {
                violations.push(
                    receive.at,
                    Rule::DuplicateReceive,
                    format!("vm {sender} seq {seq} was already received by vm {recipient}"),
                );
                return None;
            }
            flight.got[i] = true;
            flight.remaining -= 1;
            let send = flight.send;
            if flight.remaining == 0 {
                self.in_flight.remove(&key);
                self.complete(sender, seq);
            }
            let edge = Delivery {
                sender,
                recipient,
                seq,
                send,
                receive,
            };
            check_edge(&self.files, &edge, msg_lc, violations);
            return Some(edge);
        }
        if self.completed.get(&sender).is_some_and(|r| r.contains(seq)) {
            violations.push(
                receive.at,
                Rule::DuplicateReceive,
                format!(
                    "vm {sender} seq {seq} was already received by every recipient (a duplicate, or sent elsewhere)"
                ),
            );
            return None;
        }
        match self.early.entry((sender, seq, recipient)) {
            std::collections::hash_map::Entry::Occupied(_) => violations.push(
                receive.at,
                Rule::DuplicateReceive,
                format!("vm {sender} seq {seq} was already received by vm {recipient}"),
            ),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(EarlyReceive {
                    stamp: receive,
                    msg_lc,
                });
            }
        }
        None
    }

    /// Ends the stream: receives whose send never came are violations; returns what was sent
    /// but never received, its examples chosen among those `settled` (each VM's stop line)
    /// does not account for.
    pub(crate) fn finish(
        self,
        violations: &mut Violations,
        settled: &BTreeMap<VmId, Settled>,
    ) -> Unreceived {
        // The receives still early never met their send. Only the first `KEEP` of them (in file
        // and line order) can be kept in full, so only those are sorted and worded; the rest are
        // counted where they lie. Sorting them all would copy a map that a log of a million
        // receives without sends fills with a million entries.
        let mut first: BinaryHeap<(At, EarlyKey)> = BinaryHeap::new();
        for (key, e) in &self.early {
            first.push((e.stamp.at, *key));
            if first.len() > Violations::KEEP {
                first.pop();
            }
        }
        let first = first.into_sorted_vec();
        for (_, key) in &first {
            let (rule, detail) = self.unmatched(key, &self.early[key]);
            violations.push(self.early[key].stamp.at, rule, detail);
        }
        if self.early.len() > first.len() {
            let worded: HashSet<EarlyKey> = first.iter().map(|(_, key)| *key).collect();
            for key in self.early.keys().filter(|key| !worded.contains(key)) {
                violations.count(self.unmatched_rule(key));
            }
        }
        let mut never = Vec::new();
        let mut unreceived = Unreceived::default();
        for ((sender, seq), f) in self.in_flight {
            unreceived.messages += f.remaining as u64;
            for (&recipient, _) in f.to.iter().zip(&f.got).filter(|(_, &got)| !got) {
                never.push((f.send.time_us, f.send.at, sender, seq, recipient));
            }
        }
        never.sort_unstable_by_key(|&(time_us, at, ..)| (time_us, at));
        let mut kept = vec![true; never.len()];
        // A queue is first in, first out and a link keeps its order: what a
        // VM's queue held at its stop are the earliest messages to it that it
        // never took.
        let mut queued: BTreeMap<VmId, u64> = settled
            .iter()
            .map(|(&vm, s)| (vm, s.left_in_queue))
            .collect();
        for (keep, &(.., recipient)) in kept.iter_mut().zip(&never) {
            if let Some(left) = queued.get_mut(&recipient).filter(|left| **left > 0) {
                *left -= 1;
                *keep = false;
            }
        }
        // A sender drops what it sends after it lost a peer: its latest.
        let mut dropped: BTreeMap<VmId, u64> =
            settled.iter().map(|(&vm, s)| (vm, s.dropped)).collect();
        for (keep, &(_, _, sender, ..)) in kept.iter_mut().zip(&never).rev() {
            if !*keep {
                continue;
            }
            if let Some(left) = dropped.get_mut(&sender).filter(|left| **left > 0) {
                *left -= 1;
                *keep = false;
            }
        }
        unreceived.examples = never
            .into_iter()
            .zip(kept)
            .filter(|(_, keep)| *keep)
            .map(|((_, at, sender, seq, recipient), _)| (at, sender, seq, recipient))
            .take(Self::EXAMPLES)
            .collect();
        unreceived
    }

    /// Which rule a receive that never met its send breaks: its send exists but named other
    /// recipients, or there is no such send.
    fn unmatched_rule(&self, &(sender, seq, _): &EarlyKey) -> Rule {
        let known = self.in_flight.contains_key(&(sender, seq))
            || self.completed.get(&sender).is_some_and(|r| r.contains(seq));
        if known {
            Rule::NotAddressed
        } else {
            Rule::NoMatchingSend
        }
    }

    /// The rule and the finding's words for a receive that never met its send.
    fn unmatched(&self, key: &EarlyKey, e: &EarlyReceive) -> (Rule, String) {
        let &(sender, seq, recipient) = key;
        let rule = self.unmatched_rule(key);
        let detail = match rule {
            Rule::NotAddressed => format!(
                "receive of vm {sender} seq {seq}, but that send was not addressed to vm {recipient}"
            ),
            _ => format!(
                "receive of vm {sender} seq {seq} (msg_lc {}), but vm {sender} logged no such send",
                e.msg_lc
            ),
        };
        (rule, detail)
    }

    fn complete(&mut self, sender: VmId, seq: u64) {
        self.completed.entry(sender).or_default().insert(seq);
    }
}

/// Checks one message edge: the receive carries the send's clock (`msg_lc`) and comes after it.
fn check_edge(files: &[String], edge: &Delivery, msg_lc: u64, violations: &mut Violations) {
    let Delivery { send, receive, .. } = *edge;
    if msg_lc != send.lc {
        violations.push(
            receive.at,
            Rule::MsgLcMismatch,
            format!(
                "msg_lc {msg_lc} but the send ({}) has lc {}",
                cite(files, send.at),
                send.lc
            ),
        );
    }
    if receive.lc <= send.lc {
        violations.push(
            receive.at,
            Rule::ReceiveNotAfterSend,
            format!(
                "receive lc {} is not after its send's lc {} ({})",
                receive.lc,
                send.lc,
                cite(files, send.at)
            ),
        );
    }
}

/// `vm-1.log.gz:12`: the file (as named on disk) and line of an event.
fn cite(files: &[String], at: At) -> String {
    let file = files.get(at.file).map_or("?", String::as_str);
    format!("{file}:{}", at.line)
}

fn ids(to: &[VmId]) -> String {
    let list: Vec<String> = to.iter().map(VmId::to_string).collect();
    format!("vm {}", list.join(" "))
}

/// A set of seqs kept as disjoint inclusive ranges, start -> end.
#[derive(Debug, Default)]
struct SeqRanges(BTreeMap<u64, u64>);

impl SeqRanges {
    fn contains(&self, seq: u64) -> bool {
        self.0
            .range(..=seq)
            .next_back()
            .is_some_and(|(_, &end)| seq <= end)
    }

    fn insert(&mut self, seq: u64) {
        if self.contains(seq) {
            return;
        }
        let mut start = seq;
        let mut end = seq;
        if let Some((&s, &e)) = self.0.range(..seq).next_back() {
            if e + 1 == seq {
                start = s;
            }
        }
        if let Some(&e) = self.0.get(&(seq + 1)) {
            self.0.remove(&(seq + 1));
            end = e;
        }
        self.0.insert(start, end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VM id written in a test.
    fn vid(n: u32) -> VmId {
        VmId::literal(n)
    }

    fn stamp(file: usize, line: usize, time_us: i64, lc: u64) -> Stamp {
        Stamp {
            at: At { file, line },
            time_us,
            lc,
        }
    }

    #[test]
    fn seq_ranges_merge() {
        let mut r = SeqRanges::default();
        for s in [1, 3, 2, 5, 7, 6] {
            r.insert(s);
        }
        assert_eq!(r.0.len(), 2);
        assert!(r.contains(1) && r.contains(3) && r.contains(7));
        assert!(!r.contains(4) && !r.contains(8) && !r.contains(0));
    }

    #[test]
    fn a_send_to_two_matches_two_receives_and_measures_waits() {
        let mut m = Matcher::default();
        let mut v = Violations::default();
        assert!(m
            .send(vid(1), 1, &[vid(2), vid(3)], stamp(0, 2, 1_000, 5), &mut v)
            .is_empty());
        let d = m
            .receive(vid(2), vid(1), 1, 5, stamp(1, 3, 4_000, 6), &mut v)
            .unwrap();
        assert_eq!(d.wait_us(), 3_000);
        let d = m
            .receive(vid(3), vid(1), 1, 5, stamp(2, 3, 11_000, 9), &mut v)
            .unwrap();
        assert_eq!(d.wait_us(), 10_000);
        assert_eq!(v.total(), 0);
        assert_eq!(m.finish(&mut v, &BTreeMap::new()), Unreceived::default());
        assert_eq!(v.total(), 0);
    }

    #[test]
    fn a_receive_before_its_send_is_matched_later() {
        let mut m = Matcher::default();
        let mut v = Violations::default();
        assert!(m
            .receive(vid(2), vid(1), 1, 5, stamp(1, 2, 900, 6), &mut v)
            .is_none());
        let d = m.send(vid(1), 1, &[vid(2)], stamp(0, 2, 1_000, 5), &mut v);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].wait_us(), -100);
        assert_eq!(v.total(), 0);
        m.finish(&mut v, &BTreeMap::new());
        assert_eq!(v.total(), 0);
    }

    #[test]
    fn broken_edges_are_reported_at_the_receive() {
        let files = ["vm-1.log.gz", "vm-2.log", "vm-3.log", "vm-4.log"];
        let mut m = Matcher::new(files.map(String::from).to_vec(), &[]);
        let mut v = Violations::default();
        m.send(vid(1), 1, &[vid(2)], stamp(0, 2, 0, 5), &mut v);
        m.send(vid(1), 2, &[vid(2), vid(3)], stamp(0, 3, 0, 6), &mut v);
        m.receive(vid(2), vid(1), 1, 4, stamp(1, 5, 1, 7), &mut v); // msg_lc differs
        m.receive(vid(2), vid(1), 1, 5, stamp(1, 6, 2, 8), &mut v); // duplicate, after completion
        m.receive(vid(4), vid(1), 2, 6, stamp(3, 7, 3, 9), &mut v); // not addressed
        m.receive(vid(2), vid(1), 2, 6, stamp(1, 8, 4, 6), &mut v); // not after send
        m.receive(vid(2), vid(1), 2, 6, stamp(1, 9, 5, 10), &mut v); // duplicate, in flight
        m.receive(vid(3), vid(1), 9, 6, stamp(2, 4, 6, 10), &mut v); // no such send
        let unreceived = m.finish(&mut v, &BTreeMap::new());
        let (kept, _) = v.into_sorted();
        let got: Vec<_> = kept
            .iter()
            .map(|f| (f.at.file, f.at.line, f.rule))
            .collect();
        // A send is cited in the file as it is named on disk.
        assert_eq!(
            kept[0].detail,
            "msg_lc 4 but the send (vm-1.log.gz:2) has lc 5"
        );
        assert_eq!(
            got,
            vec![
                (1, 5, Rule::MsgLcMismatch),
                (1, 6, Rule::DuplicateReceive),
                (1, 8, Rule::ReceiveNotAfterSend),
                (1, 9, Rule::DuplicateReceive),
                (2, 4, Rule::NoMatchingSend),
                (3, 7, Rule::NotAddressed),
            ]
        );
        assert_eq!(unreceived.messages, 1);
        assert_eq!(
            unreceived.examples,
            vec![(At { file: 0, line: 3 }, vid(1), 2, vid(3))]
        );
    }

    #[test]
    fn a_mass_of_receives_without_sends_keeps_the_first_in_line_order_and_counts_all() {
        let mut m = Matcher::new(vec!["vm-1.log".into(), "vm-2.log".into()], &[]);
        let mut v = Violations::default();
        let n = Violations::KEEP + 7;
        // Fed latest line first, so a keeper that took them as they came would keep the last.
        for seq in (1..=n as u64).rev() {
            let line = seq as usize + 1;
            m.receive(vid(2), vid(1), seq, 1, stamp(1, line, 0, 2), &mut v);
        }
        m.send(vid(1), 3, &[vid(3)], stamp(0, 2, 0, 1), &mut v);
        m.finish(&mut v, &BTreeMap::new());
        let (kept, counts) = v.into_sorted();
        assert_eq!(
            counts[&Rule::NoMatchingSend] + counts[&Rule::NotAddressed],
            n as u64
        );
        assert_eq!(counts[&Rule::NotAddressed], 1, "seq 3 was sent, to vm 3");
        assert_eq!(kept.len(), Violations::KEEP);
        let lines: Vec<usize> = kept.iter().map(|f| f.at.line).collect();
        assert_eq!(lines, (2..2 + Violations::KEEP).collect::<Vec<_>>());
        assert_eq!(kept[2].rule, Rule::NotAddressed);
    }

    #[test]
    fn examples_leave_out_what_the_stop_lines_account_for() {
        let mut m = Matcher::new(Vec::new(), &[]);
        let mut v = Violations::default();
        // VM 1 sends 1..=4 to VM 2, which took none and held two in its
        // queue at its stop: the earliest two. VM 2 sends 1..=3 to VM 1,
        // which never got them; VM 2 counted the last one as dropped.
        for seq in 1..=4 {
            m.send(
                vid(1),
                seq,
                &[vid(2)],
                stamp(0, seq as usize, 10 * seq as i64, seq),
                &mut v,
            );
        }
        for seq in 1..=3 {
            m.send(
                vid(2),
                seq,
                &[vid(1)],
                stamp(1, seq as usize, 5 + 10 * seq as i64, seq),
                &mut v,
            );
        }
        let settled = BTreeMap::from([
            (
                vid(1),
                Settled {
                    left_in_queue: 0,
                    dropped: 0,
                },
            ),
            (
                vid(2),
                Settled {
                    left_in_queue: 2,
                    dropped: 1,
                },
            ),
        ]);
        let unreceived = m.finish(&mut v, &settled);
        assert_eq!(unreceived.messages, 7, "every one is counted");
        let named: Vec<_> = unreceived.examples.iter().map(|e| (e.1, e.2)).collect();
        assert_eq!(
            named,
            vec![(vid(2), 1), (vid(2), 2), (vid(1), 3), (vid(1), 4)],
            "in the order sent, without VM 2's queue (1 seq 1, 2) and its drop (2 seq 3)"
        );
    }

    #[test]
    fn messages_of_an_absent_vm_are_counted_not_reported() {
        let mut m = Matcher::new(Vec::new(), &[vid(3)]);
        let mut v = Violations::default();
        // To 2 and the absent 3: only the message to 2 is waited for.
        m.send(vid(1), 1, &[vid(2), vid(3)], stamp(0, 2, 0, 1), &mut v);
        m.send(vid(1), 2, &[vid(3)], stamp(0, 3, 0, 2), &mut v);
        m.send(vid(1), 3, &[vid(3)], stamp(0, 4, 0, 3), &mut v);
        assert!(m
            .receive(vid(1), vid(3), 1, 4, stamp(0, 5, 1, 5), &mut v)
            .is_none());
        assert!(m
            .receive(vid(2), vid(1), 1, 1, stamp(1, 2, 1, 2), &mut v)
            .is_some());
        assert_eq!(
            m.absent()[&vid(3)],
            AbsentPeer {
                sent_to: 3,
                received_from: 1
            }
        );
        // A stray receive of a message that only went to the absent VM is still caught.
        m.receive(vid(2), vid(1), 2, 2, stamp(1, 3, 2, 3), &mut v);
        assert_eq!(m.finish(&mut v, &BTreeMap::new()), Unreceived::default());
        let (kept, _) = v.into_sorted();
        let rules: Vec<_> = kept.iter().map(|f| f.rule).collect();
        assert_eq!(rules, vec![Rule::DuplicateReceive]);
    }
}
