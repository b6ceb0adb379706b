//! Lamport's logical clock rules, with nothing else attached.
//!
//! Kept free of actors, sockets and time so that the two rules every other
//! part of the project relies on (a local event or send adds one; a receive
//! takes `max(local, message) + 1`) can be unit-tested on their own and
//! reused unchanged by the real-time and any simulated driver.

/// A Lamport clock: a counter that only moves forward.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LamportClock {
    value: u64,
}

impl LamportClock {
    /// A clock at zero, as every VM starts.
    pub fn new() -> Self {
        Self::default()
    }

    /// The clock's current value.
    pub(crate) fn value(&self) -> u64 {
        self.value
    }

    /// An internal or send event: the clock advances by exactly one.
    /// Returns the new value, which is also what a sent message carries.
    pub fn tick(&mut self) -> u64 {
        self.value += 1;
        self.value
    }

    /// A receive event: `lc = max(lc, msg_lc) + 1`.
    /// Returns the new value and the jump (how far the clock moved).
    pub(crate) fn receive(&mut self, msg_lc: u64) -> (u64, u64) {
        let before = self.value;
        self.value = before.max(msg_lc) + 1;
        (self.value, self.value - before)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_adds_exactly_one() {
        let mut clock = LamportClock::new();
        assert_eq!(clock.tick(), 1);
        assert_eq!(clock.tick(), 2);
        assert_eq!(clock.value(), 2);
    }

    #[test]
    fn receive_from_the_future_jumps_past_the_message() {
        let mut clock = LamportClock::new();
        clock.tick();
        assert_eq!(clock.receive(10), (11, 10));
    }

    #[test]
    fn receive_from_the_past_still_advances_by_one() {
        let mut clock = LamportClock::new();
        for _ in 0..5 {
            clock.tick();
        }
        assert_eq!(clock.receive(2), (6, 1));
        assert_eq!(clock.receive(6), (7, 1));
    }
}
