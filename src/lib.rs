//! logical-clocks: a model of a small asynchronous distributed system.

pub mod analysis;
