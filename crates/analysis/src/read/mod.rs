//! Reading a run: finding its directory and VM logs, and merging the logs' lines into one
//! time-ordered stream, which is all any other part sees of the files.
//!
//! - `parse.rs` and `record.rs`: one line, read through the contract's parser and typed as the
//!   rules want it.
//! - `run_settings.rs`: the run's `settings.toml`.
//! - `node_dirs.rs`: one run split over node directories (`analyze --merge`).
//! - `run_dir.rs`: the run directories and their VM logs, plain or gzipped.
//! - `merge.rs`: the k-way time merge of the per-VM line readers, the only reader of logs.
//! - `clock_offset.rs`: each node's clock offset, estimated from the messages between nodes
//!   (pure), so a merged run's lines can be put on one time axis before they are merged.

pub(crate) mod clock_offset;
pub(crate) mod merge;
pub(crate) mod node_dirs;
pub(crate) mod parse;
pub(crate) mod record;
pub(crate) mod run_dir;
pub(crate) mod run_settings;
