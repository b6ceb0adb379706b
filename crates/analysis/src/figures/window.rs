//! The window of the run shown on the space-time (Lamport) diagram. Pure.
//!
//! A diagram is only readable for a few hundred events, so this keeps the first
//! [`Spacetime::MAX_EVENTS`] ticks, or the first [`Spacetime::MAX_SPAN_US`] of the run if that
//! comes sooner, together with the messages whose send and receive both fall inside.

use crate::read::record::Kind;
use crate::rules::matching::Delivery;
use lc_core::vm_id::VmId;

/// An event on the diagram.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Dot {
    /// Seconds since the run's first line.
    pub(crate) t: f64,
    pub(crate) vm: VmId,
    pub(crate) kind: Kind,
    pub(crate) lc: u64,
}

/// A message on the diagram, from its send to its receive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Arrow {
    pub(crate) from_vm: VmId,
    pub(crate) send_t: f64,
    pub(crate) to_vm: VmId,
    pub(crate) receive_t: f64,
}

/// The first events of a run and the messages between them.
#[derive(Debug, Clone)]
pub(crate) struct Spacetime {
    origin_us: i64,
    start_us: Option<i64>,
    end_us: i64,
    open: bool,
    pub(crate) dots: Vec<Dot>,
    pub(crate) arrows: Vec<Arrow>,
}

impl Spacetime {
    pub(crate) const MAX_EVENTS: usize = 200;
    pub(crate) const MAX_SPAN_US: i64 = 5_000_000;

    pub(crate) fn new(origin_us: i64) -> Spacetime {
        Spacetime {
            origin_us,
            start_us: None,
            end_us: i64::MIN,
            open: true,
            dots: Vec::new(),
            arrows: Vec::new(),
        }
    }

    /// Offers a tick to the window.
    pub(crate) fn tick(&mut self, time_us: i64, vm: VmId, kind: Kind, lc: u64) {
        if !self.open {
            return;
        }
        let start = *self.start_us.get_or_insert(time_us);
        if self.dots.len() >= Self::MAX_EVENTS || time_us - start > Self::MAX_SPAN_US {
            self.open = false;
            return;
        }
        self.end_us = self.end_us.max(time_us);
        self.dots.push(Dot {
            t: self.seconds(time_us),
            vm,
            kind,
            lc,
        });
    }

    /// Offers a matched message; it is drawn if both its ends are inside the window.
    pub(crate) fn delivery(&mut self, d: &Delivery) {
        let Some(start) = self.start_us else {
            return;
        };
        let inside = |t: i64| t >= start && t <= self.end_us;
        if inside(d.send.time_us) && inside(d.receive.time_us) {
            self.arrows.push(Arrow {
                from_vm: d.sender,
                send_t: self.seconds(d.send.time_us),
                to_vm: d.recipient,
                receive_t: self.seconds(d.receive.time_us),
            });
        }
    }

    fn seconds(&self, time_us: i64) -> f64 {
        (time_us - self.origin_us) as f64 / 1e6
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::matching::Stamp;
    use crate::rules::violation::At;

    /// A VM id written in a test.
    fn vid(n: u32) -> VmId {
        VmId::literal(n)
    }

    fn stamp(time_us: i64) -> Stamp {
        Stamp {
            at: At { file: 0, line: 1 },
            time_us,
            lc: 1,
        }
    }

    #[test]
    fn keeps_a_bounded_prefix_and_the_messages_inside_it() {
        let mut w = Spacetime::new(0);
        for i in 0..1000 {
            w.tick(i * 1000, vid(1), Kind::Internal, i as u64);
        }
        assert_eq!(w.dots.len(), Spacetime::MAX_EVENTS);
        let d = |s, r| Delivery {
            sender: vid(1),
            recipient: vid(2),
            seq: 1,
            send: stamp(s),
            receive: stamp(r),
        };
        w.delivery(&d(1_000, 5_000));
        w.delivery(&d(1_000, 900_000));
        assert_eq!(w.arrows.len(), 1);
        assert_eq!(w.arrows[0].receive_t, 0.005);
    }

    #[test]
    fn the_window_closes_after_five_seconds() {
        let mut w = Spacetime::new(0);
        for i in 0..20 {
            w.tick(i * 1_000_000, vid(1), Kind::Internal, i as u64);
        }
        assert_eq!(w.dots.len(), 6);
    }
}
