//! The study's comparison plots, PNG, drawn with the analysis' bundled font and colours.
//!
//! - `figures.png`: one panel per figure, one horizontal bar per variation (its mean across
//!   healthy trials), a whisker of ± one standard deviation, and a dot per trial, so the
//!   spread is seen, not only summarised. Horizontal, because variation names are long.
//! - `jump_by_rate.png`, `queue_by_rate.png`, `drift_by_rate.png`: every VM of every healthy
//!   trial as a dot at its configured rate, coloured by variation (nudged sideways so the
//!   variations do not hide each other): the model's effects against clock rate.
//! - Every legend stands in a strip beside its panels (`lc_analysis::legend`), never over dots.
//! - `prediction.png` (drawn by `prediction_plot.rs`): the queueing model against the study.
//! - `concurrency.png`: how concurrent the events were, against the internal-event probability
//!   (each healthy trial: its share of concurrent pairs, and the share Lamport clocks order
//!   anyway) and against the clock rates (each VM pair of each healthy trial, at the ratio of
//!   its faster to its slower rate).

use super::concurrency::TrialCausality;
use super::figures::{Figure, VmPoint};
use super::prediction_plot;
use super::record::{TrialRecord, VariationRow};
use super::ExperimentError;
use lc_analysis::legend::{beside, Entry, Key, Layout};
use lc_analysis::plots::{
    bounds, canvas, color, draw_whole, register_font, tidy, xy_chart, XyChart, AXIS, FONT, LABELS,
    TITLE,
};
use lc_analysis::Inputs;
use plotters::coord::ranged1d::{IntoSegmentedCoord, SegmentValue};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// The figures drawn in `figures.png`, one panel each: every figure the study records.
const PANELS: [Figure; 9] = Figure::ALL;
/// Panels per row of `figures.png`.
const PANEL_COLUMNS: usize = 3;

/// What a by-rate plot shows of each VM.
type Pick = fn(&VmPoint) -> f64;

const BY_RATE: [(&str, &str, &str, Pick); 3] = [
    (
        "jump_by_rate.png",
        "Mean clock jump of each VM against its clock rate",
        "mean clock jump (Lamport units per event)",
        |p| p.mean_jump,
    ),
    (
        "queue_by_rate.png",
        "Mean queue of each VM against its clock rate",
        "mean queue length (messages)",
        |p| p.mean_queue,
    ),
    (
        "drift_by_rate.png",
        "Mean drift of each VM against its clock rate",
        "mean gap to the highest clock (Lamport units)",
        |p| p.drift_mean,
    ),
];

/// Draws every plot into `dir`; returns `(file, caption)` for each, in report order. Each is
/// drawn whole or not at all ([`draw_whole`]): a full disk leaves no truncated PNG.
pub(crate) fn draw_all(
    dir: &Path,
    rows: &[VariationRow],
    records: &[TrialRecord],
) -> Result<Vec<(String, String)>, ExperimentError> {
    register_font().map_err(|detail| ExperimentError::Plot {
        path: dir.join("figures.png"),
        detail,
    })?;
    let whole = |file: &str, draw: &dyn Fn(&Path) -> Result<(), String>| {
        draw_whole(&dir.join(file), &Inputs::none(), draw)
    };
    let mut drawn = Vec::new();
    let file = "figures.png";
    whole(file, &|path| figures(path, rows, records))?;
    drawn.push((
        file.to_string(),
        "Each figure by variation: mean, ± one standard deviation, one dot per trial".to_string(),
    ));
    for (file, title, y_desc, pick) in BY_RATE {
        whole(file, &|path| {
            by_rate(path, title, y_desc, rows, records, pick)
        })?;
        drawn.push((file.to_string(), title.to_string()));
    }
    let names: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
    whole(prediction_plot::FILE, &|path| {
        prediction_plot::draw(path, &names, records)
    })?;
    drawn.push((
        prediction_plot::FILE.to_string(),
        prediction_plot::CAPTION.to_string(),
    ));
    let file = "concurrency.png";
    whole(file, &|path| concurrency(path, rows, records))?;
    drawn.push((
        file.to_string(),
        "Concurrent event pairs against the internal-event probability and the clock rates"
            .to_string(),
    ));
    Ok(drawn)
}

/// `concurrency.png`'s size in pixels.
const CONCURRENCY_SIZE: (u32, u32) = (2400, 1000);

fn concurrency(path: &Path, rows: &[VariationRow], records: &[TrialRecord]) -> Result<(), String> {
    let root = BitMapBackend::new(path, CONCURRENCY_SIZE).into_drawing_area();
    concurrency_on(&root, rows, records)?;
    root.present().map_err(|e| e.to_string())
}

/// Two panels: each trial's concurrent share against its internal-event probability, and
/// each VM pair's against the ratio of its rates. Returns where legend and panels went.
fn concurrency_on(
    root: &DrawingArea<BitMapBackend<'_>, Shift>,
    rows: &[VariationRow],
    records: &[TrialRecord],
) -> Result<Layout, String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    // One legend for both panels, beside them: inside a panel it hid dots.
    let (plots, legend) = beside(root, &concurrency_entries(rows))?;
    let panels = plots.split_evenly((1, 2));
    let mut layout = Layout {
        legend,
        panels: Vec::new(),
    };
    let n = rows.len().max(1) as f64;
    let mine = |name: &str| -> Vec<&TrialCausality> {
        records
            .iter()
            .filter(|r| r.variation == name && r.status.is_ok())
            .filter_map(|r| r.causality.as_ref())
            .collect()
    };

    // Variation i's dots sit at p + nudge(i), within ±0.02 of the probability.
    let nudge = |i: usize| ((i as f64 + 0.5) / n - 0.5) * 0.04;
    let by_p: Vec<Vec<(f64, f64, f64)>> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            mine(&row.name)
                .into_iter()
                .filter_map(|c| {
                    let p = c.internal_probability? + nudge(i);
                    Some((p, c.concurrent_fraction, c.lamport_ordered_fraction))
                })
                .collect()
        })
        .collect();
    let (x0, x1) = bounds(by_p.iter().flatten().map(|p| p.0), false);
    let (y0, y1) = bounds(by_p.iter().flatten().map(|p| p.1), true);
    let mut chart = xy_chart(
        &panels[0],
        "Each trial's concurrent pairs",
        ("internal-event probability", "share of all event pairs"),
        (x0 - 0.03)..(x1 + 0.03),
        y0..y1.max(0.05),
    )?;
    for (i, points) in by_p.iter().enumerate() {
        let style = color(i).mix(0.8);
        chart
            .draw_series(
                points
                    .iter()
                    .map(|&(p, c, _)| Circle::new((p, c), 8, style.filled())),
            )
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(
                points
                    .iter()
                    .map(|&(p, _, l)| Circle::new((p, l), 8, style.stroke_width(3))),
            )
            .map_err(|e| e.to_string())?;
    }
    layout.panels.push(chart.plotting_area().get_pixel_range());

    let by_ratio: Vec<Vec<(f64, f64)>> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            mine(&row.name)
                .into_iter()
                .flat_map(|c| &c.pairs)
                .map(|p| {
                    let ratio = p.faster_rate / p.slower_rate.max(f64::MIN_POSITIVE);
                    (ratio + nudge(i) * 5.0, p.concurrent_fraction)
                })
                .collect()
        })
        .collect();
    let (x0, x1) = bounds(by_ratio.iter().flatten().map(|p| p.0), false);
    let (y0, y1) = bounds(by_ratio.iter().flatten().map(|p| p.1), true);
    let mut chart = xy_chart(
        &panels[1],
        "Each VM pair: its concurrent pairs against its rates",
        (
            "faster rate / slower rate of the VM pair",
            "share of the pair's event pairs that are concurrent",
        ),
        (x0 - 0.2)..(x1 + 0.2),
        y0..y1.max(0.05),
    )?;
    variation_dots(&mut chart, &by_ratio)?;
    layout.panels.push(chart.plotting_area().get_pixel_range());
    Ok(layout)
}

fn figures(path: &Path, rows: &[VariationRow], records: &[TrialRecord]) -> Result<(), String> {
    let root = BitMapBackend::new(path, (2700, 2000)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    // The title's glyphs reach above its baseline box: keep it off the top edge.
    let root = root
        .margin(24, 0, 0, 0)
        .titled(
            "Figures by variation (slowest VM; waits: all VMs)",
            (FONT, TITLE),
        )
        .map_err(|e| e.to_string())?;
    let panels = root.split_evenly((PANELS.len().div_ceil(PANEL_COLUMNS), PANEL_COLUMNS));
    for (panel, figure) in panels.iter().zip(PANELS) {
        bars(panel, figure, rows, records)?;
    }
    root.present().map_err(|e| e.to_string())
}

/// One panel: a bar per variation, first variation on top.
fn bars(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    figure: Figure,
    rows: &[VariationRow],
    records: &[TrialRecord],
) -> Result<(), String> {
    let n = rows.len();
    // Row i is drawn in segment n - 1 - i, so the plan's order reads top to bottom.
    let slot = |i: usize| n - 1 - i;
    let trial_values = |name: &str| -> Vec<f64> {
        records
            .iter()
            .filter(|r| r.variation == name && r.status.is_ok())
            .filter_map(|r| r.figures.as_ref().map(|f| f.get(figure)))
            .collect()
    };
    let spread = |row: &VariationRow| {
        row.spreads
            .iter()
            .find(|(f, _)| *f == figure)
            .and_then(|(_, s)| *s)
    };
    let extent = rows
        .iter()
        .flat_map(|row| {
            let mut values = trial_values(&row.name);
            if let Some(s) = spread(row) {
                values.push(s.mean + s.sd.unwrap_or(0.0));
            }
            values
        })
        .chain([0.0]);
    let (x0, x1) = bounds(extent, true);
    let names: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
    let mut chart = ChartBuilder::on(area)
        .caption(figure.label(), (FONT, AXIS))
        .margin(18)
        .x_label_area_size(50)
        .y_label_area_size(260)
        // An integer range includes its end: 0..n-1 makes exactly n segments.
        .build_cartesian_2d(x0..x1, (0..n.saturating_sub(1)).into_segmented())
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n + 1)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(s) if *s < n => names[n - 1 - s].clone(),
            _ => String::new(),
        })
        .x_label_formatter(&tidy)
        .label_style((FONT, LABELS))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(|e| e.to_string())?;
    for (i, row) in rows.iter().enumerate() {
        let colour = color(i);
        let s = slot(i);
        if let Some(spread) = spread(row) {
            let mut bar = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(s)),
                    (spread.mean, SegmentValue::Exact(s + 1)),
                ],
                colour.mix(0.55).filled(),
            );
            bar.set_margin(8, 8, 0, 0);
            chart.draw_series([bar]).map_err(|e| e.to_string())?;
            if let Some(sd) = spread.sd {
                let whisker = PathElement::new(
                    vec![
                        (spread.mean - sd, SegmentValue::CenterOf(s)),
                        (spread.mean + sd, SegmentValue::CenterOf(s)),
                    ],
                    BLACK.stroke_width(3),
                );
                chart.draw_series([whisker]).map_err(|e| e.to_string())?;
            }
        }
        let dots = trial_values(&row.name)
            .into_iter()
            .map(|v| Circle::new((v, SegmentValue::CenterOf(s)), 6, colour.filled()));
        chart.draw_series(dots).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn by_rate(
    path: &Path,
    title: &str,
    y_desc: &str,
    rows: &[VariationRow],
    records: &[TrialRecord],
    pick: Pick,
) -> Result<(), String> {
    let root = canvas(path)?;
    let (area, _) = beside(&root, &variation_entries(rows))?;
    // Variation i's dots sit at rate + nudge(i), within ±0.3 of the rate.
    let n = rows.len().max(1) as f64;
    let nudge = |i: usize| (i as f64 + 0.5) / n * 0.6 - 0.3;
    let points: Vec<Vec<(f64, f64)>> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            records
                .iter()
                .filter(|r| r.variation == row.name && r.status.is_ok())
                .flat_map(|r| &r.vms)
                .map(|p| (p.rate + nudge(i), pick(p)))
                .collect()
        })
        .collect();
    let (x0, x1) = bounds(points.iter().flatten().map(|p| p.0), false);
    let (y0, y1) = bounds(points.iter().flatten().map(|p| p.1), true);
    let axes = ("configured clock rate (ticks per second)", y_desc);
    let mut chart = xy_chart(&area, title, axes, (x0 - 0.2)..(x1 + 0.2), y0..y1)?;
    variation_dots(&mut chart, &points)?;
    root.present().map_err(|e| e.to_string())
}

/// Each variation's points as dots of its colour.
fn variation_dots(chart: &mut XyChart<'_, '_>, points: &[Vec<(f64, f64)>]) -> Result<(), String> {
    for (i, points) in points.iter().enumerate() {
        let style = color(i).mix(0.8).filled();
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 7, style)))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// `concurrency.png`'s legend: the variations, then what the left panel's dot and ring are.
fn concurrency_entries(rows: &[VariationRow]) -> Vec<Entry> {
    let mut entries = variation_entries(rows);
    entries.extend([
        Entry {
            key: Key::Dot(BLACK.into()),
            label: "left: concurrent pairs".into(),
        },
        Entry {
            key: Key::Ring(BLACK.into()),
            label: "left: of them, Lamport-ordered".into(),
        },
    ]);
    entries
}

/// The legend's entries naming the variations, each as a dot of its colour.
fn variation_entries(rows: &[VariationRow]) -> Vec<Entry> {
    rows.iter()
        .enumerate()
        .map(|(i, row)| Entry {
            key: Key::Dot(color(i).mix(0.8).filled()),
            label: row.name.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A variation named `name`, with no figures.
    fn row(name: &str) -> VariationRow {
        VariationRow {
            name: name.to_string(),
            description: None,
            overrides: Vec::new(),
            trials: 0,
            ok: 0,
            spreads: Vec::new(),
            causality: [None, None],
        }
    }

    #[test]
    fn the_concurrency_legend_hides_no_dot() {
        register_font().unwrap();
        let rows: Vec<VariationRow> = (1..=9).map(|i| row(&format!("variation {i}"))).collect();
        let (w, h) = CONCURRENCY_SIZE;
        let mut pixels = vec![0u8; (w * h * 3) as usize];
        let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        let layout = concurrency_on(&root, &rows, &[]).unwrap();
        assert_eq!(layout.panels.len(), 2);
        assert!(layout.legend.is_some());
        assert!(layout.legend_is_clear(), "{layout:?}");
    }

    #[test]
    fn figures_png_has_a_panel_for_every_recorded_figure() {
        for figure in Figure::ALL {
            assert!(PANELS.contains(&figure), "{figure:?} has no panel");
        }
        assert_eq!(PANELS.len(), Figure::ALL.len());
    }
}
