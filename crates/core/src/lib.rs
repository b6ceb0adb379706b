//! The pure model of logical-clocks: everything a run decides, with no
//! actors, sockets, timers or threads (the "sans-I/O" shape of quinn-proto
//! and stateright). The actors of the binary and [`simulation`] drive the
//! same code, on real and on simulated time.
//!
//! From the inside out:
//! - [`vm_id`]: the 1-based VM id and its index into per-VM tables.
//! - [`clock`]: Lamport's two rules, nothing else.
//! - [`vector_clock`]: the vector-clock rules, beside them.
//! - [`model`]: the die and the VM's clock and counters, seeded.
//! - [`vm_core`]: what a due tick does (take the oldest waiting message, or
//!   roll the die) and when a stopping VM may log `stop`.
//! - [`schedule`]: when each tick is due, and each VM's phase.
//! - [`latency`]: the network-delay model and the per-link delay line.
//! - [`faults`]: the fault plan (partitions, pauses, crashes) and the pure
//!   questions asked of it: is this tick suppressed, when may this message
//!   cross, which fault does this lost link owe to.
//! - [`fault_timeline`]: one VM's timeline under that plan: the next wake
//!   (tick, fault mark or stop), the ticks a pause or crash takes away, and
//!   what each mark makes the VM do (crash, restart keeping or resetting).
//! - [`lateness`]: how late ticks fire, in a bounded histogram.
//! - [`accounting`]: each VM's report and the run's books.
//! - [`queueing`]: the queueing model's prediction of arrival rates,
//!   growing queues and mean jumps.
//! - [`simulation`]: the cores driven by a simulated clock.

pub mod accounting;
pub mod clock;
pub mod fault_timeline;
pub mod faults;
pub mod latency;
pub mod lateness;
pub mod model;
pub mod queueing;
pub mod schedule;
pub mod simulation;
pub mod vector_clock;
pub mod vm_core;
pub mod vm_id;
