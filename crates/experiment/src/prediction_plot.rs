//! `prediction.png`: the queueing model's prediction against the measurement, every VM of
//! every healthy trial as a dot coloured by variation, in two panels (queue growth, mean
//! jump), each with the line where prediction and measurement agree. A dot off the line is a
//! miss; a column of dots at one prediction is the seeds' spread. The legend stands beside
//! the panels, so it hides no dot.

use super::record::TrialRecord;
use super::trial_prediction::{Measured, TrialPrediction};
use lc_analysis::legend::{beside, Entry, Key, Layout, PixelRect};
use lc_analysis::plots::{bounds, color, xy_chart, FONT, TITLE};
use lc_core::queueing::VmPrediction;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// The file, and its caption in the report.
pub(crate) const FILE: &str = "prediction.png";
pub(crate) const CAPTION: &str =
    "The queueing model's prediction against the measurement, every VM of every trial";

/// A panel: its title, axis name, and what it takes from a VM's prediction and measurement.
type Panel = (
    &'static str,
    &'static str,
    fn(&VmPrediction, &Measured) -> (f64, f64),
);

const PANELS: [Panel; 2] = [
    ("Queue growth", "queue growth (messages/s)", |p, m| {
        (p.queue_growth, m.queue_growth)
    }),
    (
        "Mean clock jump",
        "mean jump (clock units per event)",
        |p, m| (p.mean_jump, m.mean_jump),
    ),
];

/// Draws `prediction.png` at `path`; the variations are named in plan order.
pub(crate) fn draw(
    path: &Path,
    variations: &[String],
    records: &[TrialRecord],
) -> Result<(), String> {
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    draw_on(&root, variations, records)?;
    root.present().map_err(|e| e.to_string())
}

/// The figure's size in pixels.
const SIZE: (u32, u32) = (2600, 1150);

/// Draws the figure on `root`; returns where its legend and panels went.
fn draw_on(
    root: &DrawingArea<BitMapBackend<'_>, Shift>,
    variations: &[String],
    records: &[TrialRecord],
) -> Result<Layout, String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    // The title's glyphs reach above its baseline box: keep it off the top edge.
    let root = root
        .margin(24, 0, 0, 0)
        .titled(
            "Queueing model: predicted (x) against measured (y)",
            (FONT, TITLE),
        )
        .map_err(|e| e.to_string())?;
    // One legend for both panels, beside them: inside a panel it hid dots.
    let agree = Entry {
        key: Key::Line(BLACK.stroke_width(2)),
        label: "measured = predicted".into(),
    };
    let entries: Vec<Entry> = std::iter::once(agree)
        .chain(variations.iter().enumerate().map(|(i, name)| Entry {
            key: Key::Dot(color(i).mix(0.7).filled()),
            label: name.clone(),
        }))
        .collect();
    let (plots, legend) = beside(&root, &entries)?;
    let halves = plots.split_evenly((1, PANELS.len()));
    let mut layout = Layout {
        legend,
        panels: Vec::new(),
    };
    for (area, panel) in halves.iter().zip(PANELS) {
        layout
            .panels
            .push(scatter(area, panel, variations, records)?);
    }
    Ok(layout)
}

/// One panel; returns its plotting area.
fn scatter(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    (title, axis, pick): Panel,
    variations: &[String],
    records: &[TrialRecord],
) -> Result<PixelRect, String> {
    let points: Vec<Vec<(f64, f64)>> = variations
        .iter()
        .map(|name| {
            records
                .iter()
                .filter(|r| &r.variation == name && r.status.is_ok())
                .filter_map(|r| r.prediction.as_ref())
                .flat_map(|t: &TrialPrediction| &t.vms)
                .map(|c| pick(&c.predicted, &c.measured))
                .collect()
        })
        .collect();
    // One range for both axes, so the agreement line is the diagonal.
    let (lo, hi) = bounds(points.iter().flatten().flat_map(|&(x, y)| [x, y]), true);
    let axes = (&*format!("predicted {axis}"), &*format!("measured {axis}"));
    let mut chart = xy_chart(area, title, axes, lo..hi, lo..hi)?;
    chart
        .draw_series(LineSeries::new([(lo, lo), (hi, hi)], BLACK.stroke_width(2)))
        .map_err(|e| e.to_string())?;
    for (i, points) in points.iter().enumerate() {
        let style = color(i).mix(0.7).filled();
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 8, style)))
            .map_err(|e| e.to_string())?;
    }
    Ok(chart.plotting_area().get_pixel_range())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_legend_hides_no_dot() {
        lc_analysis::plots::register_font().unwrap();
        let names: Vec<String> = (1..=9).map(|i| format!("variation number {i}")).collect();
        let mut pixels = vec![0u8; (SIZE.0 * SIZE.1 * 3) as usize];
        let root = BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area();
        let layout = draw_on(&root, &names, &[]).unwrap();
        assert_eq!(layout.panels.len(), PANELS.len());
        assert!(layout.legend.is_some());
        assert!(layout.legend_is_clear(), "{layout:?}");
    }
}
