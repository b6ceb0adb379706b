//! What `analyze` writes and prints, made from the figures and findings: the only part that
//! knows the output formats, so the rules and figures below stay free of them.
//!
//! - `summary.rs`: the `summary.json` schema and its construction.
//! - `report.rs`: the text report and the comparison table; `table.rs`: the plain-text table
//!   they are laid out in.
//! - `csv.rs`: the `events.csv` rows.
//! - `plots.rs`: the PNG plots, drawn with a bundled font.
//! - `legend.rs`: legends in a strip beside the plots, never over their data.
//! - `style.rs`: fonts and colours, shared by the plots and `report.html`.
//! - `shiviz.rs`: the ShiViz log format (pure).
//! - `safe_write.rs`: how every one of these files reaches the disk: refused if it would
//!   replace an input, else written beside its place and renamed over it.
//! - `html/`: `report.html`, the run's interactive space-time diagram with its causal cones,
//!   the report and the plots in one self-contained page (`analyze --html`).

pub(crate) mod csv;
pub(crate) mod html;
pub mod legend;
pub mod plots;
pub mod report;
pub mod safe_write;
pub mod shiviz;
pub mod style;
pub mod summary;
pub mod table;
