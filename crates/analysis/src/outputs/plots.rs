//! The PNG plots of a run: clock, queue, jumps, drift and the space-time diagram.
//!
//! Text is drawn with the bundled DejaVu Sans (registered once with plotters' ab_glyph
//! backend), so no system font package is needed. Every plot is 1600x900 with large type, a
//! title, axis labels and a legend, readable without zooming. The series arrive already
//! downsampled ([`Series`](crate::figures::series::Series)), so a million-event run plots as fast as a
//! small one. The time-axis plots (clock, queue, drift) shade each fault's window in a light
//! band labelled with its number and kind.

use lc_core::vm_id::VmId;
use std::ops::Range;
use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::legend::{beside, Entry, Key};
use super::safe_write::{Inputs, NewFile};
use crate::analyzer::PlotData;
use crate::error::AnalysisError;
use crate::figures::series::Pieces;
use crate::figures::trace::PauseSpan;
use crate::figures::window::Dot;
use crate::rules::fault_effects::FaultBand;

use super::style::EVENT_KINDS;
pub use super::style::{color, AXIS, FONT, LABELS, TITLE};

const SIZE: (u32, u32) = (1600, 900);
/// Legends list at most this many VMs; more would not fit the plot's height.
const LEGEND_MAX: usize = 16;

/// The plot files, by name.
pub(crate) const FILES: [&str; 5] = [
    "clock.png",
    "queue.png",
    "jumps.png",
    "drift.png",
    "spacetime.png",
];

/// Draws every plot into `dir`, naming VM i `labels[i]` in legends; each is drawn beside its
/// place and renamed over it (see [`safe_write`](super::safe_write)), never over one of `inputs`.
pub(crate) fn draw_all(
    dir: &Path,
    data: &PlotData,
    labels: &[String],
    inputs: &Inputs,
) -> Result<(), AnalysisError> {
    register_font().map_err(|detail| AnalysisError::Plot {
        path: dir.join(FILES[0]),
        detail,
    })?;
    for name in FILES {
        draw_whole(&dir.join(name), inputs, |path| match name {
            "clock.png" => lines(
                path,
                &TimePlot {
                    title: "Lamport clock over time",
                    y_desc: "clock value (Lamport units)",
                    series: &data.clock,
                    pauses: &[],
                },
                labels,
                &data.faults,
            ),
            "queue.png" => lines(
                path,
                &TimePlot {
                    title: "Queue length over time",
                    y_desc: "messages waiting in the queue",
                    series: &steps(&data.queue),
                    pauses: &data.pauses,
                },
                labels,
                &data.faults,
            ),
            "drift.png" => lines(
                path,
                &TimePlot {
                    title: "Drift: gap to the highest clock",
                    y_desc: "leader's clock minus this VM's clock",
                    series: &data.drift,
                    pauses: &[],
                },
                labels,
                &data.faults,
            ),
            "jumps.png" => jumps(path, data, labels),
            _ => spacetime(path, data),
        })?;
    }
    Ok(())
}

/// Draws one plot file whole or not at all: `draw` paints a scratch file beside `path`, which
/// is then renamed over it, never over one of `inputs` (see [`safe_write`](super::safe_write));
/// a failure is one line.
pub fn draw_whole(
    path: &Path,
    inputs: &Inputs,
    draw: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<(), AnalysisError> {
    let file = NewFile::begin(path, inputs)?;
    draw(file.temp_path()).map_err(|detail| plot_error(&file, detail))?;
    file.commit()
}

/// Why `file` could not be drawn, in one line: a failure to write it is told as the
/// operating system tells it (plotters hands it on only as its debug text), anything else as
/// plotters words it.
fn plot_error(file: &NewFile, detail: String) -> AnalysisError {
    match os_error_code(&detail) {
        Some(code) => file.write_error(std::io::Error::from_raw_os_error(code)),
        None => AnalysisError::Plot {
            path: file.path().to_path_buf(),
            detail,
        },
    }
}

/// The OS error number in plotters' debug text of an I/O failure: the image encoder wraps
/// the error either as it is (`Os { code: 28, .. }`) or as its text (`".. (os error 27)"`).
fn os_error_code(detail: &str) -> Option<i32> {
    let (_, rest) = detail
        .split_once("Os { code: ")
        .or_else(|| detail.split_once("(os error "))?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Registers the bundled font with plotters, once per process.
pub fn register_font() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            let bytes: &'static [u8] = include_bytes!("../../../../assets/fonts/DejaVuSans.ttf");
            plotters::style::register_font(FONT, FontStyle::Normal, bytes)
                .map_err(|_| "the bundled font DejaVuSans.ttf is not a valid font".to_string())
        })
        .clone()
}

pub fn canvas(path: &Path) -> Result<DrawingArea<BitMapBackend<'_>, Shift>, String> {
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    Ok(root)
}

/// The range covered by `values`, widened so a flat or empty series still gets a visible axis.
pub fn bounds(values: impl Iterator<Item = f64>, from_zero: bool) -> (f64, f64) {
    let (mut lo, mut hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    if from_zero {
        lo = lo.min(0.0);
    }
    if hi - lo < 1e-9 {
        hi = lo + 1.0;
    }
    (lo, hi + (hi - lo) * 0.04)
}

/// Series as steps: a value holds until the next point (a queue length does not slide), within
/// each piece; a gap between pieces stays a gap.
fn steps(series: &[Pieces]) -> Vec<Pieces> {
    series
        .iter()
        .map(|pieces| {
            pieces
                .iter()
                .map(|points| {
                    let mut out = Vec::with_capacity(points.len() * 2);
                    for (i, &(t, v)) in points.iter().enumerate() {
                        if i > 0 {
                            out.push((t, points[i - 1].1));
                        }
                        out.push((t, v));
                    }
                    out
                })
                .collect()
        })
        .collect()
}

/// Axis numbers without a useless `.0`: 600 and 0.5, not 600.0 and 0.5.
pub fn tidy(v: &f64) -> String {
    format!("{}", (v * 1e6).round() / 1e6)
}

/// A chart of numbers against numbers on `root`, with the plots' title, axis descriptions
/// (`axes`: x, then y), label fonts and mesh.
pub fn xy_chart<'a, 'b>(
    root: &'a DrawingArea<BitMapBackend<'b>, Shift>,
    title: &str,
    axes: (&str, &str),
    x: Range<f64>,
    y: Range<f64>,
) -> Result<XyChart<'a, 'b>, String> {
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FONT, TITLE))
        .margin(24)
        .x_label_area_size(70)
        .y_label_area_size(110)
        .build_cartesian_2d(x, y)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc(axes.0)
        .y_desc(axes.1)
        .axis_desc_style((FONT, AXIS))
        .label_style((FONT, LABELS))
        .x_label_formatter(&tidy)
        .y_label_formatter(&tidy)
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(|e| e.to_string())?;
    Ok(chart)
}

/// What [`xy_chart`] builds.
pub type XyChart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A plot of one line per VM over time.
struct TimePlot<'a> {
    title: &'a str,
    y_desc: &'a str,
    /// Per VM, its line in pieces.
    series: &'a [Pieces],
    /// Per VM, the pauses to span (the queue plot's; empty elsewhere).
    pauses: &'a [Vec<PauseSpan>],
}

/// One line per VM over time, each in pieces with gaps where nothing is known, each pause as
/// the span its queue rose through, the faults' windows as bands labelled above the data, and
/// the legend beside the plot.
fn lines(
    path: &Path,
    plot: &TimePlot,
    labels: &[String],
    faults: &[FaultBand],
) -> Result<(), String> {
    let root = canvas(path)?;
    let series = plot.series;
    let paused = plot.pauses.iter().any(|p| !p.is_empty());
    let mut entries: Vec<Entry> = labels
        .iter()
        .take(series.len().min(LEGEND_MAX))
        .enumerate()
        .map(|(i, label)| Entry {
            key: Key::Line(line_style(i, series.len())),
            label: label.clone(),
        })
        .collect();
    if paused {
        entries.push(Entry {
            key: Key::Box(BLACK.mix(0.12).filled()),
            label: "paused: queue rose within the box".into(),
        });
    }
    let (area, _) = beside(&root, &entries)?;
    let points = || series.iter().flatten().flatten();
    let span_values = plot
        .pauses
        .iter()
        .flatten()
        .flat_map(|p| [p.queue_from as f64, p.queue_until as f64]);
    let (x0, x1) = bounds(points().map(|p| p.0), false);
    let (y0, y1) = bounds(points().map(|p| p.1).chain(span_values), true);
    let top = if faults.is_empty() {
        y1
    } else {
        y1 + (y1 - y0) * HEAD_ROOM
    };
    let axes = ("time since the run's first line (s)", plot.y_desc);
    let mut chart = xy_chart(&area, plot.title, axes, x0..x1, y0..top)?;
    fault_bands(&mut chart, faults, (x0, x1), (y0, y1, top))?;
    for (i, pauses) in plot.pauses.iter().enumerate() {
        let c = color(i);
        chart
            .draw_series(pauses.iter().flat_map(|p| {
                let corners = [
                    (p.from_s, p.queue_from as f64),
                    (p.until_s, p.queue_until as f64),
                ];
                [
                    Rectangle::new(corners, c.mix(0.15).filled()),
                    Rectangle::new(corners, c.stroke_width(2)),
                ]
            }))
            .map_err(|e| e.to_string())?;
    }
    for (i, pieces) in series.iter().enumerate() {
        let style = line_style(i, series.len());
        // One path per segment: plotters joins a wide polyline with miters, which shoot far
        // out of the plot where a dense series zig-zags.
        for points in pieces {
            let segments = points
                .windows(2)
                .map(|w| PathElement::new(vec![w[0], w[1]], style));
            let single = (points.len() == 1).then(|| Circle::new(points[0], 3, style.filled()));
            chart.draw_series(single).map_err(|e| e.to_string())?;
            chart.draw_series(segments).map_err(|e| e.to_string())?;
        }
    }
    root.present().map_err(|e| e.to_string())
}

/// VM `i`'s line among `n`.
fn line_style(i: usize, n: usize) -> ShapeStyle {
    ShapeStyle::from(color(i)).stroke_width(stroke_width(i, n))
}

/// The colour of fault bands: a light amber, under the VMs' lines.
const FAULT_BAND: RGBColor = RGBColor(255, 190, 60);

/// Head room above the highest value, as a share of the values' range, for the fault labels.
const HEAD_ROOM: f64 = 0.16;
/// Rows of fault labels in the head room.
const LABEL_ROWS: usize = 3;

/// Each fault's window as a light band over the whole height, labelled `fault 1: partition` in
/// the head room above the values (`y1` up to `top`), where no line runs; a window still open
/// at the end of the run reaches the plot's right edge.
fn fault_bands(
    chart: &mut XyChart,
    faults: &[FaultBand],
    (x0, x1): (f64, f64),
    (y0, y1, top): (f64, f64, f64),
) -> Result<(), String> {
    let visible: Vec<(&FaultBand, f64, f64)> = faults
        .iter()
        .map(|b| (b, b.from_s.max(x0), b.until_s.unwrap_or(x1).min(x1)))
        .filter(|(_, from, until)| from <= until)
        .collect();
    chart
        .draw_series(visible.iter().map(|(_, from, until)| {
            Rectangle::new([(*from, y0), (*until, top)], FAULT_BAND.mix(0.25).filled())
        }))
        .map_err(|e| e.to_string())?;
    let font = (FONT, LABELS).into_font().color(&RGBColor(140, 80, 0));
    let texts: Vec<String> = visible
        .iter()
        .map(|(b, _, _)| format!("fault {}: {}", b.fault, b.kind))
        .collect();
    let area = chart.plotting_area();
    let mut spans = Vec::with_capacity(texts.len());
    for ((_, from, _), text) in visible.iter().zip(&texts) {
        let (width, _) = area
            .estimate_text_size(text, &font)
            .map_err(|e| e.to_string())?;
        spans.push((chart.backend_coord(&(*from, y1)).0, width as i32));
    }
    let px = chart.backend_coord(&(x0, y0)).1 - chart.backend_coord(&(x0, top)).1;
    let text_height = (top - y0) * f64::from(LABELS) / f64::from(px.max(1));
    let places = label_places(&spans, (y1, top), text_height);
    chart
        .draw_series(
            visible
                .iter()
                .zip(texts)
                .zip(places)
                .map(|(((_, from, _), text), y)| Text::new(text, (*from, y), font.clone())),
        )
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Where each fault label's top goes, on the value axis: labels start at their band's left
/// edge (`spans`: pixel x and text width), in [`LABEL_ROWS`] rows that fill the head room
/// between the highest value `y1` and the axis' `top`, the lowest row's text ending above
/// `y1`. Each label takes the lowest row in which it clears the labels already there.
fn label_places(spans: &[(i32, i32)], (y1, top): (f64, f64), text_height: f64) -> Vec<f64> {
    const GAP: i32 = 12;
    let row_height = (top - y1) / LABEL_ROWS as f64;
    let mut ends = [i32::MIN; LABEL_ROWS];
    spans
        .iter()
        .enumerate()
        .map(|(i, &(x, width))| {
            let row = (0..LABEL_ROWS)
                .find(|&r| ends[r] <= x)
                .unwrap_or(i % LABEL_ROWS);
            ends[row] = ends[row].max(x + width + GAP);
            y1 + row_height * row as f64 + text_height.min(row_height) + row_height * 0.1
        })
        .collect()
}

/// The line width of series `i` of `n`: the first widest, each later one narrower and drawn
/// on top, so VMs whose lines coincide (equal rates give equal clocks) still all show, as
/// nested stripes. From the sixth series on the width stays at the narrowest.
fn stroke_width(i: usize, n: usize) -> u32 {
    const NARROWEST: usize = 2;
    const STEP: usize = 3;
    const NESTED: usize = 5;
    (NARROWEST + STEP * n.min(NESTED).saturating_sub(i + 1)) as u32
}

/// Draws the legend of the labelled series at `position`.
pub fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(position)
        .label_font((FONT, LABELS))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .margin(12)
        .legend_area_size(40)
        .draw()
        .map_err(|e| e.to_string())
}

/// Grouped bars: for each jump size (or bin of sizes), one bar per VM, on a log count axis.
fn jumps(path: &Path, data: &PlotData, labels: &[String]) -> Result<(), String> {
    let canvas = canvas(path)?;
    let entries: Vec<Entry> = labels
        .iter()
        .take(data.jumps.len().min(LEGEND_MAX))
        .enumerate()
        .map(|(i, label)| Entry {
            key: Key::Box(color(i).filled()),
            label: label.clone(),
        })
        .collect();
    let (root, _) = beside(&canvas, &entries)?;
    let max_jump = data
        .jumps
        .iter()
        .filter_map(|c| c.max())
        .max()
        .unwrap_or(1)
        .max(1);
    // At most 40 bins: jump sizes are grouped `width` at a time.
    let width = (max_jump + 39) / 40;
    let bins = (max_jump + width - 1) / width;
    let bin_of = |jump: i64| ((jump.max(1) - 1) / width) as usize;
    let counts: Vec<Vec<u64>> = data
        .jumps
        .iter()
        .map(|c| {
            let mut bins = vec![0u64; bins as usize];
            let last = bins.len() - 1;
            for (jump, n) in c.iter() {
                bins[bin_of(jump).min(last)] += n;
            }
            bins
        })
        .collect();
    let top = counts.iter().flatten().copied().max().unwrap_or(1).max(1) as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption("Clock jump sizes (clock increase per event)", (FONT, TITLE))
        .margin(24)
        .x_label_area_size(70)
        .y_label_area_size(120)
        .build_cartesian_2d(0.5f64..bins as f64 + 0.5, (0.8f64..top * 2.0).log_scale())
        .map_err(|e| e.to_string())?;
    let x_desc = if width == 1 {
        "clock jump (Lamport units)".to_string()
    } else {
        format!("clock jump (Lamport units, bins of {width})")
    };
    let label_of = move |x: &f64| {
        let bin = x.round();
        if (x - bin).abs() > 1e-6 || bin < 1.0 {
            return String::new();
        }
        let low = (bin as i64 - 1) * width + 1;
        if width == 1 {
            low.to_string()
        } else {
            format!("{low}-{}", low + width - 1)
        }
    };
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc("events (log scale)")
        .axis_desc_style((FONT, AXIS))
        .label_style((FONT, LABELS))
        .x_labels(bins.min(20) as usize)
        .x_label_formatter(&label_of)
        .y_label_formatter(&|y| format!("{y:.0}"))
        .disable_x_mesh()
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(|e| e.to_string())?;
    let n = data.vms.len().max(1) as f64;
    let bar = 0.8 / n;
    for (i, (bins, _)) in counts.iter().zip(labels).enumerate() {
        let fill = color(i).filled();
        let left = -0.4 + bar * i as f64;
        let bars = bins
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(b, &c)| {
                let x = b as f64 + 1.0 + left;
                Rectangle::new([(x, 0.8), (x + bar, c as f64)], fill)
            });
        chart.draw_series(bars).map_err(|e| e.to_string())?;
    }
    canvas.present().map_err(|e| e.to_string())
}

/// The Lamport diagram of the run's first events: one lane per VM, events as dots labelled
/// with their clock, messages as arrows from send to receive.
fn spacetime(path: &Path, data: &PlotData) -> Result<(), String> {
    let root = canvas(path)?;
    let w = &data.window;
    let lanes = data.vms.len().max(1);
    let lane_of = |vm: VmId| data.vms.iter().position(|&v| v == vm).unwrap_or(0) as f64 + 1.0;
    let (x0, x1) = bounds(w.dots.iter().map(|d| d.t), false);
    let pad = (x1 - x0) * 0.02;
    let top = lane_top(lanes);
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("Space-time diagram: the first {} events", w.dots.len()),
            (FONT, TITLE),
        )
        .margin(24)
        .x_label_area_size(70)
        .y_label_area_size(110)
        .build_cartesian_2d(x0 - pad..x1 + pad, lane_axis(lanes, top))
        .map_err(|e| e.to_string())?;
    let vms = data.vms.clone();
    let lane_label = move |y: &f64| {
        let lane = y.round();
        match (lane as usize).checked_sub(1).and_then(|i| vms.get(i)) {
            Some(vm) if (y - lane).abs() < 1e-6 && lane >= 1.0 => format!("VM {vm}"),
            _ => String::new(),
        }
    };
    chart
        .configure_mesh()
        .x_desc("time since the run's first line (s)")
        .y_desc("VM (one lane each)")
        .axis_desc_style((FONT, AXIS))
        .label_style((FONT, LABELS))
        .x_label_formatter(&tidy)
        .y_labels(lanes * 2 + 1)
        .y_label_formatter(&lane_label)
        .disable_y_mesh()
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(|e| e.to_string())?;

    let lane_style = ShapeStyle::from(BLACK.mix(0.35)).stroke_width(2);
    chart
        .draw_series((1..=lanes).map(|l| {
            PathElement::new(vec![(x0 - pad, l as f64), (x1 + pad, l as f64)], lane_style)
        }))
        .map_err(|e| e.to_string())?;

    let arrow_color = RGBColor(90, 90, 90);
    let arrow_style = ShapeStyle::from(arrow_color).stroke_width(2);
    chart
        .draw_series(w.arrows.iter().map(|a| {
            PathElement::new(
                vec![
                    (a.send_t, lane_of(a.from_vm)),
                    (a.receive_t, lane_of(a.to_vm)),
                ],
                arrow_style,
            )
        }))
        .map_err(|e| e.to_string())?
        .label("message (send to receive)")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 30, y)], arrow_style));
    // Arrowheads in pixel space, so they keep their shape whatever the axes' scales.
    for a in &w.arrows {
        let from = chart.backend_coord(&(a.send_t, lane_of(a.from_vm)));
        let to = chart.backend_coord(&(a.receive_t, lane_of(a.to_vm)));
        root.draw(&Polygon::new(arrowhead(from, to), arrow_color.filled()))
            .map_err(|e| e.to_string())?;
    }

    event_dots(&mut chart, &w.dots, lane_of)?;
    legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    root.present().map_err(|e| e.to_string())
}

/// The events as dots on their VMs' lanes, one colour per kind (the style table's, which
/// report.html's diagram uses too), with their Lamport clocks when few enough to read.
fn event_dots<'a, 'b: 'a>(
    chart: &mut LaneChart<'a, 'b>,
    dots: &[Dot],
    lane_of: impl Fn(VmId) -> f64,
) -> Result<(), String> {
    let show_lc = dots.len() <= 120;
    // A dark ring round every dot, as on report.html: the grey of internal events is light.
    let ring = ShapeStyle::from(RGBColor(34, 34, 34)).stroke_width(1);
    for (kind, c) in EVENT_KINDS {
        let name = kind.as_str();
        let style = c.filled();
        let mine = || dots.iter().filter(move |d| d.kind == kind);
        chart
            .draw_series(mine().map(|d| Circle::new((d.t, lane_of(d.vm)), 7, style)))
            .map_err(|e| e.to_string())?
            .label(format!("{name} event"))
            .legend(move |(x, y)| {
                EmptyElement::at((x + 15, y))
                    + Circle::new((0, 0), 7, style)
                    + Circle::new((0, 0), 7, ring)
            });
        chart
            .draw_series(mine().map(|d| Circle::new((d.t, lane_of(d.vm)), 7, ring)))
            .map_err(|e| e.to_string())?;
        if show_lc {
            let font = (FONT, 18).into_font().color(&BLACK);
            chart
                .draw_series(mine().map(|d| {
                    Text::new(d.lc.to_string(), (d.t, lane_of(d.vm) + 0.12), font.clone())
                }))
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// The top of the space-time diagram's lane axis: head room above the top lane for the
/// legend (about a fifth of the plot's height).
fn lane_top(lanes: usize) -> f64 {
    lanes as f64 + 0.6 + 0.3 * (lanes as f64 + 0.2)
}

/// The space-time diagram's vertical axis, lane 1 at 1, ticked at the lanes and nowhere
/// else: plotters' own ticks fell between and above the lanes, as marks without a label.
fn lane_axis(lanes: usize, top: f64) -> LaneAxis {
    LaneAxis {
        span: (0.4f64..top).into(),
        lanes,
    }
}

/// The space-time diagram's vertical axis: a number axis whose only ticks are the lanes.
struct LaneAxis {
    span: RangedCoordf64,
    lanes: usize,
}

impl Ranged for LaneAxis {
    // Lanes are named by the mesh's label formatter, so plotters' default formatting suffices.
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.span.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        (1..=self.lanes).map(|l| l as f64).collect()
    }

    fn range(&self) -> Range<f64> {
        self.span.range()
    }
}

/// The space-time diagram: time against lanes.
type LaneChart<'a, 'b> = ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, LaneAxis>>;

/// A filled triangle at `to`, pointing away from `from`.
fn arrowhead(from: (i32, i32), to: (i32, i32)) -> Vec<(i32, i32)> {
    let (dx, dy) = ((to.0 - from.0) as f64, (to.1 - from.1) as f64);
    let len = (dx * dx + dy * dy).sqrt().max(1e-9);
    let (ux, uy) = (dx / len, dy / len);
    let (l, h) = (16.0, 6.0);
    let base = (to.0 as f64 - ux * l, to.1 as f64 - uy * l);
    vec![
        to,
        ((base.0 - uy * h) as i32, (base.1 + ux * h) as i32),
        ((base.0 + uy * h) as i32, (base.1 - ux * h) as i32),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What is in `dir`, by name.
    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_plot_is_drawn_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("figure.png");
        let failed = draw_whole(&target, &Inputs::none(), |path| {
            std::fs::write(path, b"half a picture").unwrap();
            Err("the drawing broke".into())
        });
        assert!(failed
            .unwrap_err()
            .to_string()
            .contains("the drawing broke"));
        assert!(
            names_in(dir.path()).is_empty(),
            "{:?}",
            names_in(dir.path())
        );
        draw_whole(&target, &Inputs::none(), |path| {
            std::fs::write(path, b"a picture").map_err(|e| e.to_string())
        })
        .unwrap();
        assert_eq!(names_in(dir.path()), vec!["figure.png".to_string()]);
        assert_eq!(std::fs::read(&target).unwrap(), b"a picture");
        let refused = draw_whole(&target, &Inputs::of([target.clone()]), |_| Ok(()));
        assert!(matches!(refused, Err(AnalysisError::ReplacesInput { .. })));
        assert_eq!(std::fs::read(&target).unwrap(), b"a picture");
    }

    #[test]
    fn the_lane_axis_ticks_exactly_the_lanes() {
        for lanes in [1, 2, 3, 7, 16] {
            let top = lane_top(lanes);
            let ticks = lane_axis(lanes, top).key_points(lanes * 2 + 1);
            let want: Vec<f64> = (1..=lanes).map(|l| l as f64).collect();
            assert_eq!(ticks, want, "{lanes} lanes");
        }
    }

    #[test]
    fn fault_labels_sit_above_every_value_and_clear_each_other() {
        // Values up to 4 on an axis to 4.64; labels 0.8 high in value units; the second and
        // third bands start within the first's label, the fourth well after.
        let spans = [(100, 180), (150, 180), (200, 180), (900, 180)];
        let (y1, top, text) = (4.0, 4.64, 0.05);
        let places = label_places(&spans, (y1, top), text);
        assert_eq!(places.len(), 4);
        for (i, &y) in places.iter().enumerate() {
            // A label's top is `y`, its foot `y - text`: both inside the head room.
            assert!(
                y - text >= y1 && y <= top,
                "label {i} at {y}: over the values"
            );
        }
        let rows: Vec<usize> = places
            .iter()
            .map(|&y| ((y - y1) / ((top - y1) / LABEL_ROWS as f64)) as usize)
            .collect();
        assert_eq!(rows, vec![0, 1, 2, 0], "{places:?}");
    }

    #[test]
    fn coinciding_lines_all_show_as_nested_stripes() {
        // Each line narrower than the one drawn before it, by a visible step.
        for n in 1..=5 {
            let widths: Vec<u32> = (0..n).map(|i| stroke_width(i, n)).collect();
            assert!(widths.windows(2).all(|w| w[0] >= w[1] + 3), "{widths:?}");
            assert_eq!(widths[n - 1], 2);
        }
        assert_eq!(stroke_width(0, 3), 8);
        assert!((0..64).all(|i| (2..=14).contains(&stroke_width(i, 64))));
    }

    #[test]
    fn a_write_failure_inside_plotters_text_is_found() {
        let wrapped = "backend error: Drawing backend error: ImageError(IoError(Custom { kind: \
                       Other, error: \"File too large (os error 27)\" }))";
        assert_eq!(os_error_code(wrapped), Some(27));
        let plain =
            "ImageError(IoError(Os { code: 28, kind: StorageFull, message: \"No space\" }))";
        assert_eq!(os_error_code(plain), Some(28));
        assert_eq!(os_error_code("backend error: bad font"), None);
    }
}
