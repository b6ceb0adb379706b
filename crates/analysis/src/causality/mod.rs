//! Causality from the send/receive matching: every tick released after what happened before
//! it, with the vector clock it has by construction, whether or not the logs carry `vc`; and
//! what those clocks tell (pure).
//!
//! - `causal_order.rs`: the ticks released in causal order with their derived vector clocks.
//! - `concurrency.rs`: ordered and concurrent pairs counted from the clocks, and how many of
//!   the concurrent ones the Lamport clocks order anyway.
//! - `causal_cone.rs`: what happened before and after one event.

pub(crate) mod causal_cone;
pub(crate) mod causal_order;
pub(crate) mod concurrency;
