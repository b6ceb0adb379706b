//! The log contract as lines: the words ([`keys`]), the typed events
//! ([`event`]), and the one writer ([`write`]) and one parser ([`parse`])
//! both driven by the words.
//!
//! A run writes its lines through [`write::push_line`]; `analyze` reads them
//! back through [`parse::parse_line`]. A round-trip test below holds the two
//! to each other on every kind of line.

pub(crate) mod event;
pub(crate) mod keys;
pub(crate) mod parse;
pub(crate) mod write;

pub use event::{Action, Event, FaultMark, Line, Spread, Start, Stop, Tick};
pub use keys::{Key, Level, Message};
pub use parse::{parse_line, ParseError};
pub use write::{push_line, write_vm};

#[cfg(test)]
mod tests;
