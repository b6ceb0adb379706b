//! The log contract of logical-clocks, as files: what other tools read.
//!
//! - [`timestamp`]: the lines' RFC 3339 time format, both ways, and the
//!   wall clock in the contract's unit.
//! - [`line`]: one line of a VM's log, typed: its keys spelled once,
//!   the writer a run uses and the parser `analyze` uses.
//! - [`run_dir`]: a run's directory, named by its start, with the
//!   effective `settings.toml` that repeats it.
//! - [`vm_log`]: a VM's log file, plain as a run writes it or gzip as a
//!   study keeps it: the one place that names, opens and compresses it.

pub mod line;
pub mod run_dir;
pub mod timestamp;
pub mod vm_log;
