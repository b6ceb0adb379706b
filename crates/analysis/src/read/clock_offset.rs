//! How far apart the wall clocks of the hosts of one run were, from the messages between them.
//! Pure.
//!
//! When each VM runs on its own host (`analyze --merge`), every host stamps its log with its own
//! wall clock, and the clocks may be off from each other by seconds. Write `x_h` for host `h`'s
//! offset (its clock reads `x_h` more than true time). A message from host `a` to host `b`,
//! logged sent at `s` on `a`'s clock and received at `r` on `b`'s, was received no earlier than
//! sent, so `r - x_b >= s - x_a`, that is `x_b - x_a <= r - s`: every message bounds the
//! offset of its recipient's host from above, relative to its sender's, and the least `r - s`
//! over all messages `a -> b` is the tightest such bound. Messages the other way bound it from
//! below, as NTP does from a request and its reply.
//!
//! With more than two hosts these pairwise bounds are difference constraints, and the tightest
//! bounds they imply on each host's offset from the first host's (the reference) are shortest
//! paths in the graph with an edge `a -> b` of weight `min(r - s)` (Floyd-Warshall; a few hosts
//! at most, so cubic is nothing): `x_h - x_1 <= dist(1, h)` and `x_h - x_1 >= -dist(h, 1)`. So a
//! host that never talked to the reference is still bounded through the hosts it talked to, and
//! a chain of hosts is bounded as tightly as the messages allow, never by a guess. The estimate
//! is the midpoint of the interval: if the fastest message each way took the same time, it is
//! exact, and it is never off by more than half the interval's width, whatever the transit
//! times were. With bounds on one side only, the bound itself is the estimate (the least
//! correction that puts no receive before its send); with none, the offset is unknown and taken
//! as 0.
//!
//! Clocks that drift apart during the run, or a wrongly stamped log, can make the bounds
//! contradict each other (a cycle of negative weight). The combined bounds then mean nothing,
//! so each host falls back on the messages it exchanged with the reference alone, and a host
//! whose own two bounds cross is marked [`Basis::Contradictory`] (estimate: their midpoint).

use serde::{Deserialize, Serialize};

/// The least send-to-receive time of the messages between each ordered pair of hosts, and
/// their count: all the estimate needs, in memory that does not grow with the run.
#[derive(Debug, Clone)]
pub(crate) struct OffsetBounds {
    hosts: usize,
    /// `least[a * hosts + b]`: the least `receive - send` (microseconds, as stamped) over the
    /// messages from host `a` to host `b`.
    least: Vec<Option<i64>>,
    /// `count[a * hosts + b]`: how many messages went from host `a` to host `b`.
    count: Vec<u64>,
}

/// What an offset estimate rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Basis {
    /// The first host: the others are measured against its clock.
    Reference,
    /// Bounded from both sides; the estimate is the interval's midpoint.
    Interval,
    /// Bounded from below only (messages only into the host, relative to the reference): the
    /// estimate is the bound.
    LowerBoundOnly,
    /// Bounded from above only: the estimate is the bound.
    UpperBoundOnly,
    /// No message ties the host to the reference: the offset is unknown, taken as 0.
    Unbounded,
    /// The host's bounds cross (drifting clocks, or a wrongly stamped log): the estimate is
    /// their midpoint, and some receives may still appear before their sends.
    Contradictory,
}

/// One host's estimated clock offset from the reference host's, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HostOffset {
    /// How much the host's clock reads ahead of the reference's (negative: behind); subtract it
    /// from the host's stamps to put them on the reference's clock.
    pub(crate) offset_us: i64,
    /// The bounds the estimate is derived from (`None`: unbounded on that side).
    pub(crate) lower_us: Option<i64>,
    pub(crate) upper_us: Option<i64>,
    pub(crate) basis: Basis,
    /// Messages from this host's VMs to other hosts, and from other hosts to its VMs.
    pub(crate) sent: u64,
    pub(crate) received: u64,
}

impl OffsetBounds {
    /// No messages yet between `hosts` hosts; host 0 is the reference.
    pub(crate) fn new(hosts: usize) -> OffsetBounds {
        OffsetBounds {
            hosts,
            least: vec![None; hosts * hosts],
            count: vec![0; hosts * hosts],
        }
    }

    /// A message from host `from` to host `to`, stamped `send_us` by the sender's host and
    /// `receive_us` by the recipient's. A message within one host says nothing about offsets.
    pub(crate) fn message(&mut self, from: usize, to: usize, send_us: i64, receive_us: i64) {
        if from == to {
            return;
        }
        let i = from * self.hosts + to;
        let gap = receive_us - send_us;
        self.least[i] = Some(self.least[i].map_or(gap, |least| least.min(gap)));
        self.count[i] += 1;
    }

    /// Each host's estimated offset from host 0's clock, host 0 first.
    pub(crate) fn estimate(&self) -> Vec<HostOffset> {
        let n = self.hosts;
        let combined = shortest_paths(n, &self.least);
        let consistent = (0..n).all(|h| combined[h * n + h].is_none_or(|d| d >= 0));
        // Without a consistent system, only each host's own messages with the reference count.
        let dist = if consistent {
            combined
        } else {
            self.least.clone()
        };
        (0..n)
            .map(|h| {
                let (sent, received) = (0..n).filter(|&o| o != h).fold((0, 0), |(s, r), o| {
                    (s + self.count[h * n + o], r + self.count[o * n + h])
                });
                if h == 0 {
                    return HostOffset {
                        offset_us: 0,
                        lower_us: Some(0),
                        upper_us: Some(0),
                        basis: Basis::Reference,
                        sent,
                        received,
                    };
                }
                let upper_us = dist[h];
                let lower_us = dist[h * n].map(|d| -d);
                let (offset_us, basis) = match (lower_us, upper_us) {
                    (Some(lo), Some(hi)) if lo <= hi => (midpoint(lo, hi), Basis::Interval),
                    (Some(lo), Some(hi)) => (midpoint(lo, hi), Basis::Contradictory),
                    (Some(lo), None) => (lo, Basis::LowerBoundOnly),
                    (None, Some(hi)) => (hi, Basis::UpperBoundOnly),
                    (None, None) => (0, Basis::Unbounded),
                };
                HostOffset {
                    offset_us,
                    lower_us,
                    upper_us,
                    basis,
                    sent,
                    received,
                }
            })
            .collect()
    }
}

/// The midpoint of `lo` and `hi`, rounded towards negative infinity, without overflow.
fn midpoint(lo: i64, hi: i64) -> i64 {
    ((i128::from(lo) + i128::from(hi)).div_euclid(2)) as i64
}

/// Floyd-Warshall over `n` nodes with edge weights `w` (`None`: no edge), row-major; the
/// diagonal is 0 unless a negative cycle runs through it.
fn shortest_paths(n: usize, w: &[Option<i64>]) -> Vec<Option<i64>> {
    let mut d = w.to_vec();
    for h in 0..n {
        d[h * n + h] = Some(d[h * n + h].map_or(0, |x| x.min(0)));
    }
    for k in 0..n {
        for i in 0..n {
            let Some(ik) = d[i * n + k] else { continue };
            for j in 0..n {
                if let Some(kj) = d[k * n + j] {
                    let through = ik.saturating_add(kj);
                    let slot = &mut d[i * n + j];
                    *slot = Some(slot.map_or(through, |x| x.min(through)));
                }
            }
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hosts whose clocks read `offsets` (microseconds) ahead of true time, and messages
    /// `(from, to, true send time, transit)`: what the logs would show.
    fn observe(offsets: &[i64], messages: &[(usize, usize, i64, i64)]) -> Vec<HostOffset> {
        let mut bounds = OffsetBounds::new(offsets.len());
        for &(from, to, sent, transit) in messages {
            bounds.message(from, to, sent + offsets[from], sent + transit + offsets[to]);
        }
        bounds.estimate()
    }

    #[test]
    fn two_hosts_talking_both_ways_bound_the_offset_from_both_sides() {
        // Host 1 is 2.5 s ahead; the fastest message each way took 3 ms and 5 ms.
        let est = observe(
            &[0, 2_500_000],
            &[
                (0, 1, 0, 9_000),
                (0, 1, 100, 3_000),
                (1, 0, 50, 5_000),
                (1, 0, 70, 8_000),
            ],
        );
        assert_eq!(est[0].basis, Basis::Reference);
        assert_eq!((est[0].sent, est[0].received), (2, 2));
        let b = est[1];
        assert_eq!(b.basis, Basis::Interval);
        assert_eq!(b.upper_us, Some(2_500_000 + 3_000));
        assert_eq!(b.lower_us, Some(2_500_000 - 5_000));
        assert_eq!(b.offset_us, 2_499_000);
        assert_eq!((b.sent, b.received), (2, 2));
    }

    #[test]
    fn the_true_offset_always_lies_within_the_bounds() {
        for offset in [-1_700_000, -1, 0, 1, 2_500_000] {
            let est = observe(&[0, offset], &[(0, 1, 10, 7), (1, 0, 20, 0), (1, 0, 30, 2)]);
            let (lo, hi) = (est[1].lower_us.unwrap(), est[1].upper_us.unwrap());
            assert!(lo <= offset && offset <= hi, "{offset} not in {lo}..{hi}");
            assert!(lo <= est[1].offset_us && est[1].offset_us <= hi);
        }
    }

    #[test]
    fn messages_one_way_give_a_one_sided_bound_that_is_the_estimate() {
        let into = observe(&[0, -1_700_000], &[(0, 1, 0, 400), (0, 1, 9, 300)]);
        assert_eq!(into[1].basis, Basis::UpperBoundOnly);
        assert_eq!(into[1].upper_us, Some(-1_700_000 + 300));
        assert_eq!(into[1].lower_us, None);
        assert_eq!(into[1].offset_us, -1_700_000 + 300);

        let out = observe(&[0, 42], &[(1, 0, 0, 10)]);
        assert_eq!(out[1].basis, Basis::LowerBoundOnly);
        assert_eq!(
            (out[1].lower_us, out[1].upper_us, out[1].offset_us),
            (Some(32), None, 32)
        );
    }

    #[test]
    fn a_host_that_no_message_ties_to_the_reference_is_unbounded() {
        let est = observe(&[0, 5, 7], &[(0, 1, 0, 1), (1, 0, 0, 1)]);
        assert_eq!(est[2].basis, Basis::Unbounded);
        assert_eq!((est[2].offset_us, est[2].sent, est[2].received), (0, 0, 0));
        // Messages within one host say nothing.
        let mut bounds = OffsetBounds::new(2);
        bounds.message(1, 1, 0, 100);
        assert_eq!(bounds.estimate()[1].basis, Basis::Unbounded);
    }

    #[test]
    fn a_host_is_bounded_through_the_hosts_it_talked_to() {
        // Host 2 talks only to host 1, which talks to the reference.
        let offsets = [0, 1_000_000, -3_000_000];
        let est = observe(
            &offsets,
            &[(0, 1, 0, 10), (1, 0, 0, 20), (1, 2, 0, 30), (2, 1, 0, 40)],
        );
        let c = est[2];
        assert_eq!(c.basis, Basis::Interval);
        // Upper: 0 -> 1 -> 2 adds both transits; lower likewise the other way.
        assert_eq!(c.upper_us, Some(-3_000_000 + 10 + 30));
        assert_eq!(c.lower_us, Some(-3_000_000 - 20 - 40));
        assert_eq!((c.sent, c.received), (1, 1));
    }

    #[test]
    fn a_tighter_chain_beats_a_looser_direct_bound() {
        // The direct messages 0 <-> 2 were slow; through host 1 they were fast.
        let est = observe(
            &[0, 0, 500],
            &[
                (0, 2, 0, 1_000),
                (2, 0, 0, 1_000),
                (0, 1, 0, 1),
                (1, 0, 0, 1),
                (1, 2, 0, 1),
                (2, 1, 0, 1),
            ],
        );
        assert_eq!((est[2].lower_us, est[2].upper_us), (Some(498), Some(502)));
        assert_eq!(est[2].offset_us, 500);
    }

    #[test]
    fn crossing_bounds_are_marked_and_fall_back_on_the_direct_messages() {
        // Stamps no constant offset explains: host 1's receive precedes the send by 100 us
        // one way and the other way too.
        let mut bounds = OffsetBounds::new(3);
        bounds.message(0, 1, 1_000, 900);
        bounds.message(1, 0, 1_000, 900);
        bounds.message(0, 2, 0, 10);
        bounds.message(2, 0, 0, 30);
        let est = bounds.estimate();
        assert_eq!(est[1].basis, Basis::Contradictory);
        assert_eq!((est[1].lower_us, est[1].upper_us), (Some(100), Some(-100)));
        assert_eq!(est[1].offset_us, 0);
        // Host 2's own bounds are sound and stay so.
        assert_eq!(est[2].basis, Basis::Interval);
        assert_eq!((est[2].lower_us, est[2].upper_us), (Some(-30), Some(10)));
        assert_eq!(est[2].offset_us, -10);
    }

    #[test]
    fn the_midpoint_does_not_overflow() {
        assert_eq!(midpoint(i64::MAX, i64::MAX), i64::MAX);
        assert_eq!(midpoint(-3, 0), -2);
    }
}
