//! The events and messages the report page draws, joined with their vector clocks. Pure.
//!
//! The page computes causal pasts and futures itself, from the clocks it embeds, so everything
//! it needs per event travels with the event: VM, place in the VM's program order, time, kind,
//! Lamport clock, vector clock, and what it sent or received. The clocks are not derived here:
//! they come from the analyzer's [`History`] (the one derivation, from send/receive matching),
//! looked up by the event's log line; the message arrows are the analyzer's own [`Matcher`]
//! deliveries, so the page draws exactly the edges `analyze` checked.
//!
//! A page holds at most [`Diagram::MAX_EVENTS`] events: the first ones of the time merge.
//! Since the merge reads each VM's log in order, that cut keeps a prefix of every VM's events,
//! and the causal past of any kept event is then kept whole (a past is a prefix on every VM).

use lc_core::vm_id::VmId;
use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::causality::causal_cone::{EventId, History};
use crate::read::record::{Action, Body, Record};
use crate::rules::matching::{Delivery, Matcher, Stamp};
use crate::rules::violation::{At, Violations};
use lc_core::faults::Edge;

/// One tick event as the page sees it. The JSON keys are short (`i`, `t`, `k`, `p`): a page
/// holds up to [`Diagram::MAX_EVENTS`] of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PageEvent {
    pub(crate) vm: VmId,
    /// Its place among its VM's tick events, from 1: its own entry in its vector clock.
    #[serde(rename = "i")]
    pub(crate) index: u32,
    /// Microseconds since the run's first line.
    #[serde(rename = "t")]
    pub(crate) t_us: i64,
    /// `send`, `receive` or `internal`.
    #[serde(rename = "k")]
    pub(crate) kind: &'static str,
    pub(crate) lc: u64,
    /// Its vector clock, VM 1's entry first.
    pub(crate) vc: Vec<u64>,
    /// A send's recipients, or a receive's sender.
    #[serde(rename = "p", skip_serializing_if = "Vec::is_empty")]
    pub(crate) peers: Vec<VmId>,
    /// A send's seq, or the seq of the message a receive took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) seq: Option<u64>,
}

/// A message drawn as an arrow: indices of its send and receive in [`Diagram::events`],
/// serialized as the pair `[send, receive]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct PageMessage(pub usize, pub usize);

/// What the page embeds: the events in time-merge order and the messages between them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct Diagram {
    pub(crate) events: Vec<PageEvent>,
    pub(crate) messages: Vec<PageMessage>,
    /// Tick events in the run, embedded or not.
    pub(crate) total_events: u64,
    /// Tick lines the analyzer's history has no clock for (none unless a log changed between
    /// the two reads); they are left out.
    pub(crate) without_clock: u64,
    /// The faults' windows, drawn as bands across the lanes of the VMs they touch.
    pub(crate) faults: Vec<PageFault>,
}

/// A fault's window as the page draws it. Times are microseconds since the run's first line;
/// `until` is `None` while a touched VM had not logged its end when the run stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PageFault {
    #[serde(rename = "n")]
    pub(crate) fault: usize,
    #[serde(rename = "k")]
    pub(crate) kind: &'static str,
    pub(crate) vms: Vec<VmId>,
    pub(crate) from: i64,
    pub(crate) until: Option<i64>,
}

impl Diagram {
    /// Events a page embeds at most (about 100 bytes each in the file).
    pub(crate) const MAX_EVENTS: usize = 100_000;
}

/// Builds a [`Diagram`] from the merged lines of a run, one line at a time.
pub(crate) struct DiagramBuilder<'h> {
    history: &'h History,
    /// VM id of each log file, by the merge's file index.
    vm_of_file: Vec<VmId>,
    origin_us: Option<i64>,
    limit: usize,
    matcher: Matcher,
    /// Matching findings are the analyzer's business; they are dropped here.
    findings: Violations,
    place: HashMap<(usize, usize), usize>,
    /// Per fault: its band so far, and the VMs whose start line has no end line yet.
    faults: BTreeMap<usize, (PageFault, Vec<VmId>)>,
    diagram: Diagram,
}

impl<'h> DiagramBuilder<'h> {
    /// A builder over logs whose files belong to the VMs `vm_of_file`; `absent` are the VMs
    /// without a log. It keeps the first `limit` tick events.
    pub(crate) fn new(
        history: &'h History,
        vm_of_file: Vec<VmId>,
        absent: &[VmId],
        limit: usize,
    ) -> DiagramBuilder<'h> {
        DiagramBuilder {
            history,
            origin_us: None,
            limit,
            // Its findings are the analysis's business, not the diagram's: the file
            // names only label them.
            matcher: Matcher::new(
                vm_of_file.iter().map(|vm| format!("vm-{vm}")).collect(),
                absent,
            ),
            findings: Violations::default(),
            place: HashMap::new(),
            faults: BTreeMap::new(),
            diagram: Diagram::default(),
            vm_of_file,
        }
    }

    /// Takes the next merged line of file `file` at `line`.
    pub(crate) fn record(&mut self, file: usize, line: usize, record: &Record) {
        let origin = *self.origin_us.get_or_insert(record.time_us);
        if let (Body::Fault(f), Some(&vm)) = (&record.body, self.vm_of_file.get(file)) {
            let t = record.time_us - origin;
            let (band, open) = self.faults.entry(f.fault).or_insert_with(|| {
                let band = PageFault {
                    fault: f.fault,
                    kind: f.spec.kind(),
                    vms: f.spec.vms(),
                    from: t,
                    until: None,
                };
                (band, Vec::new())
            });
            match f.edge {
                Edge::Start => {
                    band.from = band.from.min(t);
                    open.push(vm);
                }
                Edge::End => {
                    open.retain(|&v| v != vm);
                    band.until = Some(band.until.map_or(t, |u| u.max(t)));
                }
            }
            return;
        }
        let Body::Tick(tick) = &record.body else {
            return;
        };
        self.diagram.total_events += 1;
        if self.diagram.events.len() >= self.limit {
            return;
        }
        let Some(&vm) = self.vm_of_file.get(file) else {
            return;
        };
        let Some(id) = self.history.event_at_line(vm, line) else {
            self.diagram.without_clock += 1;
            return;
        };
        let vc = self
            .history
            .clock(id)
            .map_or_else(Vec::new, |c| c.entries().to_vec());
        let (peers, seq) = match &tick.action {
            Action::Send { to, seq } => (to.clone(), Some(*seq)),
            Action::Receive { from, seq, .. } => (vec![*from], Some(*seq)),
            Action::Internal => (Vec::new(), None),
        };
        let EventId { vm, index } = id;
        self.place.insert((file, line), self.diagram.events.len());
        self.diagram.events.push(PageEvent {
            vm,
            index,
            t_us: record.time_us - origin,
            kind: tick.action.kind().as_str(),
            lc: tick.lc,
            vc,
            peers,
            seq,
        });
        let stamp = Stamp {
            at: At { file, line },
            time_us: record.time_us,
            lc: tick.lc,
        };
        match &tick.action {
            Action::Send { to, seq } => {
                for d in self.matcher.send(vm, *seq, to, stamp, &mut self.findings) {
                    self.link(&d);
                }
            }
            Action::Receive {
                from, seq, msg_lc, ..
            } => {
                let delivery =
                    self.matcher
                        .receive(vm, *from, *seq, *msg_lc, stamp, &mut self.findings);
                if let Some(d) = delivery {
                    self.link(&d);
                }
            }
            Action::Internal => {}
        }
    }

    fn link(&mut self, d: &Delivery) {
        let index = |at: At| self.place.get(&(at.file, at.line)).copied();
        if let (Some(send), Some(receive)) = (index(d.send.at), index(d.receive.at)) {
            self.diagram.messages.push(PageMessage(send, receive));
        }
    }

    pub(crate) fn finish(mut self) -> Diagram {
        self.diagram.faults = self
            .faults
            .into_values()
            .map(|(band, open)| PageFault {
                until: band.until.filter(|_| open.is_empty()),
                ..band
            })
            .collect();
        self.diagram
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::record::Tick;

    /// A VM id written in a test.
    fn vid(n: u32) -> VmId {
        VmId::literal(n)
    }

    fn tick(time_us: i64, vm: u32, lc: u64, action: Action) -> Record {
        Record {
            time_us,
            vm: Some(vid(vm)),
            body: Body::Tick(Tick {
                lc,
                queue: 0,
                vc: None,
                action,
            }),
        }
    }
    fn send(to: &[u32], seq: u64) -> Action {
        Action::Send {
            to: to.iter().copied().map(vid).collect(),
            seq,
        }
    }
    fn receive(from: u32, seq: u64, msg_lc: u64) -> Action {
        Action::Receive {
            from: vid(from),
            seq,
            msg_lc,
            msg_vc: None,
        }
    }

    /// VM 1 (file 0) sends to 2 and 3, then works; VM 2 (file 1) receives, then sends to VM 1;
    /// VM 3 (file 2) receives late. Lines: (file, line, record), in merge order.
    fn run() -> (History, Vec<(usize, usize, Record)>) {
        let lines = vec![
            (
                0,
                1,
                Record {
                    time_us: 1_000,
                    vm: Some(vid(1)),
                    body: Body::Start {
                        rate: Some(1.0),
                        phase: None,
                    },
                },
            ),
            (0, 2, tick(2_000, 1, 1, send(&[2, 3], 1))),
            (1, 2, tick(3_000, 2, 2, receive(1, 1, 1))),
            (1, 3, tick(4_000, 2, 3, send(&[1], 1))),
            (0, 3, tick(5_000, 1, 2, Action::Internal)),
            (0, 4, tick(6_000, 1, 4, receive(2, 1, 3))),
            (2, 2, tick(7_000, 3, 2, receive(1, 1, 1))),
        ];
        let mut history = History::default();
        for (vm, line, clock) in [
            (1, 2, "1 0 0"),
            (2, 2, "1 1 0"),
            (2, 3, "1 2 0"),
            (1, 3, "2 0 0"),
            (1, 4, "3 2 0"),
            (3, 2, "1 0 1"),
        ] {
            history.record(vid(vm), line, &clock.parse().unwrap());
        }
        (history, lines)
    }

    fn build(limit: usize) -> Diagram {
        let (history, lines) = run();
        let mut builder = DiagramBuilder::new(&history, vec![vid(1), vid(2), vid(3)], &[], limit);
        for (file, line, record) in &lines {
            builder.record(*file, *line, record);
        }
        builder.finish()
    }

    #[test]
    fn events_carry_their_history_clock_and_messages_link_send_to_receive() {
        let d = build(Diagram::MAX_EVENTS);
        assert_eq!(d.total_events, 6);
        let got: Vec<(u32, u32, i64, &str, Vec<u64>)> = d
            .events
            .iter()
            .map(|e| (e.vm.get(), e.index, e.t_us, e.kind, e.vc.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, 1, 1_000, "send", vec![1, 0, 0]),
                (2, 1, 2_000, "receive", vec![1, 1, 0]),
                (2, 2, 3_000, "send", vec![1, 2, 0]),
                (1, 2, 4_000, "internal", vec![2, 0, 0]),
                (1, 3, 5_000, "receive", vec![3, 2, 0]),
                (3, 1, 6_000, "receive", vec![1, 0, 1]),
            ]
        );
        assert_eq!(
            (d.events[0].peers.clone(), d.events[0].seq),
            (vec![vid(2), vid(3)], Some(1))
        );
        assert_eq!(
            (d.events[4].peers.clone(), d.events[4].seq),
            (vec![vid(2)], Some(1))
        );
        let links: Vec<(usize, usize)> = d.messages.iter().map(|m| (m.0, m.1)).collect();
        assert_eq!(links, vec![(0, 1), (2, 4), (0, 5)]);
        assert_eq!(d.without_clock, 0);
    }

    #[test]
    fn a_page_keeps_the_first_events_and_counts_the_rest() {
        let d = build(3);
        assert_eq!(d.total_events, 6);
        assert_eq!(d.events.len(), 3);
        // Only messages with both ends kept are drawn.
        let links: Vec<(usize, usize)> = d.messages.iter().map(|m| (m.0, m.1)).collect();
        assert_eq!(links, vec![(0, 1)]);
    }

    #[test]
    fn a_tick_the_history_does_not_know_is_left_out_and_counted() {
        let (history, mut lines) = run();
        lines.push((2, 9, tick(8_000, 3, 3, Action::Internal)));
        let mut builder = DiagramBuilder::new(&history, vec![vid(1), vid(2), vid(3)], &[], 100);
        for (file, line, record) in &lines {
            builder.record(*file, *line, record);
        }
        let d = builder.finish();
        assert_eq!((d.events.len(), d.total_events, d.without_clock), (6, 7, 1));
    }
}
