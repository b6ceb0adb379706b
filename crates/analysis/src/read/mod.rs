//! Reading a run: finding its directory and VM logs, and merging the logs' lines into one
//! time-ordered stream, which is all any other part sees of the files.
//!
//! Its siblings at the crate's top level belong here too, and stay there only while they are
//! being rewritten: `parse.rs` and `record.rs` (one line, typed after the log contract),
//! `run_settings.rs` (`settings.toml`) and `node_dirs.rs` (one run split over node
//! directories, `analyze --merge`).
//!
//! - `run_dir.rs`: the run directories and their VM logs, plain or gzipped.
//! - `merge.rs`: the k-way time merge of the per-VM line readers, the only reader of logs.
//! - `clock_offset.rs`: each node's clock offset, estimated from the messages between nodes
//!   (pure), so a merged run's lines can be put on one time axis before they are merged.

pub(crate) mod clock_offset;
pub(crate) mod merge;
pub(crate) mod run_dir;
