//! The words of the log lines, each spelled once: every key, every message
//! (event kind) and every level a line may carry.
//!
//! The writer ([`super::write`]) and the parser ([`super::parse`]) both
//! name keys through [`Key`], so a key cannot be written under one spelling
//! and read under another; adding a key is one row here plus the field that
//! carries it. The table is a macro so the enum, its names and the reverse
//! look-up cannot drift apart.

use lc_core::faults::key::{AT_S, CLOCK, FROM_S, GROUPS, KIND, MODE, RESTART_S, UNTIL_S};

/// Declares an enum of words with its spelling both ways: each spelling a string literal
/// or a `&str` constant in scope (a fault's keys are spelled by the core's
/// [`lc_core::faults::key`], the same words its settings entry uses).
macro_rules! words {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:tt,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// Every word, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The word as a line spells it.
            pub const fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            /// The word spelled `text`, if the contract has it.
            pub fn named(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

words! {
    /// The keys of the contract, on any line.
    Key {
        /// The VM's 1-based id: on every line, last.
        Vm = "vm",
        Lc = "lc",
        Queue = "queue",
        To = "to",
        Seq = "seq",
        From = "from",
        MsgLc = "msg_lc",
        Vc = "vc",
        /// Read, never written: the vector clock a received message carried.
        MsgVc = "msg_vc",
        Rate = "rate",
        PhaseMs = "phase_ms",
        Addr = "addr",
        Ticks = "ticks",
        Sent = "sent",
        Received = "received",
        Internal = "internal",
        Dropped = "dropped",
        DroppedByFault = "dropped_by_fault",
        LateP50Us = "late_p50_us",
        LateP99Us = "late_p99_us",
        LateMaxUs = "late_max_us",
        TransitP50Us = "transit_p50_us",
        TransitP99Us = "transit_p99_us",
        TransitMaxUs = "transit_max_us",
        Fault = "fault",
        Kind = KIND,
        Groups = GROUPS,
        FromS = FROM_S,
        UntilS = UNTIL_S,
        Mode = MODE,
        AtS = AT_S,
        RestartS = RESTART_S,
        Clock = CLOCK,
        Lost = "lost",
    }
}

words! {
    /// The messages of INFO lines: the event kinds and the fault marks.
    Message {
        Start = "start",
        Send = "send",
        Receive = "receive",
        Internal = "internal",
        Stop = "stop",
        FaultStart = "fault_start",
        FaultEnd = "fault_end",
    }
}

words! {
    /// slog's levels, as slog-term abbreviates them.
    Level {
        Trace = "TRCE",
        Debug = "DEBG",
        Info = "INFO",
        Warning = "WARN",
        Error = "ERRO",
        Critical = "CRIT",
    }
}

/// How many keys the contract has: the size of a parsed line's key table.
pub const KEY_COUNT: usize = Key::ALL.len();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_reads_back_as_itself() {
        for &key in Key::ALL {
            assert_eq!(Key::named(key.name()), Some(key));
        }
        for &message in Message::ALL {
            assert_eq!(Message::named(message.name()), Some(message));
        }
        for &level in Level::ALL {
            assert_eq!(Level::named(level.name()), Some(level));
        }
        assert_eq!(Key::named("extra"), None);
    }

    #[test]
    fn keys_are_the_index_of_their_slot() {
        for (i, &key) in Key::ALL.iter().enumerate() {
            assert_eq!(key as usize, i);
        }
        assert_eq!(KEY_COUNT, Key::ALL.len());
    }
}
