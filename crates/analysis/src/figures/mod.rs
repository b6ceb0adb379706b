//! The running figures of a run, each updated line by line in bounded memory so a run of a
//! million events is analysed in one pass (pure).
//!
//! - `stats.rs`: per-VM figures (rates, jumps, queue lengths) and the message waits.
//! - `quantile.rs`: the bounded quantiles the figures report.
//! - `drift.rs`: the drift grid, each VM's gap to the leading clock.
//! - `series.rs`: downsampled series for the plots.
//! - `trace.rs`: a VM's clock and queue series, cut where it was down and spanned where paused.
//! - `window.rs`: the space-time window the diagram plot draws.

pub(crate) mod drift;
pub(crate) mod quantile;
pub(crate) mod series;
pub(crate) mod stats;
pub(crate) mod trace;
pub(crate) mod window;
