//! The model's rules, or one of them broken on purpose.
//!
//! A checker that never fails proves nothing about itself. Each broken
//! variant breaks one rule the way a plausible bug would, and the tests
//! show `check` finds the property that rule keeps, with a counterexample.
//! The command line only ever checks [`Rules::Sound`]; the broken variants
//! are for tests (here and in the integration suite), which is why they are
//! part of the library and not of the command.

/// Which rules the checked system follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Rules {
    /// The model as the actors run it.
    #[default]
    Sound,
    /// A receive forgets the message's Lamport clock: `lc + 1` instead of
    /// `max(lc, msg_lc) + 1` (the vector clock is still merged), which
    /// breaks the clock condition.
    SkipMaxOnReceive,
    /// A tick takes the newest waiting message instead of the oldest, which
    /// breaks the links' first-in first-out order.
    TakeNewest,
    /// A link delivers its newest message instead of its oldest, which
    /// breaks first-in first-out too, before any tick sees it.
    DeliverOutOfOrder,
    /// A tick rolls the die even with a message waiting, which breaks "a
    /// tick with a waiting message takes it".
    DieFirst,
    /// A receive forgets the message's vector clock (merges nothing, only
    /// steps its own entry), which breaks "vector clocks characterise
    /// happened-before" and leaves the Lamport clocks right.
    SkipVectorMerge,
    /// A link loses the message it delivers instead of queueing it, and
    /// counts it nowhere, which breaks "every message sent is received,
    /// queued, in flight or lost in a crash".
    LoseOnDelivery,
}
