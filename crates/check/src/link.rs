//! A link in abstract time: the core's delay line, where every message is
//! due whenever the checker chooses.
//!
//! The actors and the simulation hold each link's messages in
//! [`DelayLine`], which keeps a link first-in first-out under any delays.
//! The checker uses the same line with an instant type that has one value
//! ([`Whenever`]): every held message is due at once, so *when* it is
//! delivered is purely the checker's choice, and the line's own order is
//! what decides *which*. That is the abstraction `check` proves things in:
//! every interleaving, not only those some rates and delays would allow.
//!
//! Each message travels with the causal past of its send ([`InFlight`]),
//! which the checker keeps beside the clocks the message carries, so the
//! receive can be held to the truth rather than to those clocks.

use crate::causality::Past;
use lc_core::latency::DelayLine;
use lc_core::model::Message;
use std::ops::Add;
use std::time::Duration;

/// The one instant of abstract time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Whenever;

impl Add<Duration> for Whenever {
    type Output = Whenever;

    fn add(self, _: Duration) -> Whenever {
        Whenever
    }
}

/// Any delay at all: a message with none would pass straight through the
/// line into the receiver's queue, and in abstract time a send and its
/// arrival are two steps, so that every interleaving with other steps is
/// explored.
const IN_FLIGHT: Duration = Duration::from_nanos(1);

/// A message and the causal past of its send.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InFlight {
    pub message: Message,
    pub past: Past,
}

/// The messages on one link, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Link(DelayLine<Whenever, InFlight>);

impl Link {
    /// A message leaves its sender and is on the link.
    pub fn send(&mut self, message: InFlight) {
        let passed = self.0.push(Whenever, IN_FLIGHT, message);
        debug_assert!(passed.is_none(), "a delayed message is always held");
    }

    /// The message the line releases next: its oldest.
    pub fn deliver_oldest(&mut self) -> Option<InFlight> {
        self.0.pop_due(Whenever, false)
    }

    /// The newest message, as a broken link would deliver it; the rest stay
    /// in order.
    pub fn deliver_newest(&mut self) -> Option<InFlight> {
        let mut held: Vec<InFlight> = std::iter::from_fn(|| self.deliver_oldest()).collect();
        let newest = held.pop();
        for message in held {
            self.send(message);
        }
        newest
    }

    /// The messages in flight, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Message> {
        self.0.iter().map(|m| &m.message)
    }

    /// The messages in flight with the pasts of their sends, oldest first.
    pub fn iter_in_flight(&self) -> impl Iterator<Item = &InFlight> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lc_core::vm_id::VmId;

    fn message(seq: u64) -> InFlight {
        InFlight {
            message: Message {
                from: VmId::literal(1),
                seq,
                lc: seq,
                vc: vec![seq, 0],
            },
            past: Past::empty(2),
        }
    }

    #[test]
    fn a_link_holds_every_message_and_releases_the_oldest_first() {
        let mut link = Link::default();
        for seq in 1..=3 {
            link.send(message(seq));
        }
        assert_eq!(link.iter().map(|m| m.seq).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(link.deliver_oldest().unwrap().message.seq, 1);
        assert_eq!(link.deliver_newest().unwrap().message.seq, 3);
        assert_eq!(link.deliver_oldest().unwrap().message.seq, 2);
        assert!(link.is_empty());
        assert_eq!(link.deliver_oldest(), None);
        assert_eq!(link.deliver_newest(), None);
    }
}
