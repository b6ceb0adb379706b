//! Legends drawn beside the plots, never over them.
//!
//! plotters draws a legend inside the plotting area, in a corner, over whatever data lies
//! there: on `prediction.png` and `concurrency.png` it hid dots, on `queue.png` it could hide a
//! spike. Rather than guess which corner is empty, [`beside`] splits the figure: a strip on
//! the right, as wide as the longest label needs, holds the legend, and the plots get the
//! rest, so no mark of data can fall under it. A figure of several panels that share their
//! series (one colour per variation) gets one legend for all of them.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::{FONT, LABELS};

/// How an entry's series looks, drawn as its key.
#[derive(Debug, Clone, Copy)]
pub enum Key {
    Line(ShapeStyle),
    Dot(ShapeStyle),
    Ring(ShapeStyle),
    Box(ShapeStyle),
}

/// One line of a legend: its key and its label.
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: Key,
    pub label: String,
}

/// A rectangle in pixels: (x range, y range), as plotters gives them.
pub type PixelRect = (Range<i32>, Range<i32>);

/// Height of a legend line, in pixels.
const ROW: i32 = LABELS as i32 + 14;
/// Room for a key and the gap after it, in pixels.
const KEY: i32 = 48;
/// Padding inside the legend's frame and between the strip and the plots, in pixels.
const PAD: i32 = 14;

/// Splits `area` into the area for the plots, on the left, and a strip on the right in which
/// the legend of `entries` is drawn; returns the plots' area and the legend's frame. With no
/// entries, the plots get the whole area.
pub fn beside<'a>(
    area: &DrawingArea<BitMapBackend<'a>, Shift>,
    entries: &[Entry],
) -> Result<(DrawingArea<BitMapBackend<'a>, Shift>, Option<PixelRect>), String> {
    if entries.is_empty() {
        return Ok((area.clone(), None));
    }
    let font = (FONT, LABELS).into_font().color(&BLACK);
    let text = entries
        .iter()
        .map(|e| {
            area.estimate_text_size(&e.label, &font)
                .map(|(w, _)| w as i32)
        })
        .collect::<Result<Vec<i32>, _>>()
        .map_err(|e| e.to_string())?;
    let widest = text.into_iter().max().unwrap_or(0);
    let frame_width = PAD + KEY + widest + PAD;
    let (width, _) = area.dim_in_pixel();
    let strip = (frame_width + 2 * PAD).min(width as i32 / 2).max(0) as u32;
    let (plots, side) = area.split_horizontally(width - strip);
    let (xs, ys) = side.get_pixel_range();
    let frame = (
        xs.start + PAD..xs.start + PAD + frame_width,
        ys.start + 3 * PAD..ys.start + 3 * PAD + PAD + ROW * entries.len() as i32 + PAD,
    );
    draw(area, entries, &frame)?;
    Ok((plots, Some(frame)))
}

/// The legend in `frame`, one entry a row, in `area`'s pixel space.
fn draw(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    entries: &[Entry],
    frame: &PixelRect,
) -> Result<(), String> {
    let (left, top) = area.get_base_pixel();
    let at = |x: i32, y: i32| (x - left, y - top);
    let corners = [
        at(frame.0.start, frame.1.start),
        at(frame.0.end, frame.1.end),
    ];
    area.draw(&Rectangle::new(corners, WHITE.filled()))
        .and_then(|_| area.draw(&Rectangle::new(corners, BLACK.stroke_width(1))))
        .map_err(|e| e.to_string())?;
    let font = (FONT, LABELS).into_font().color(&BLACK);
    for (i, entry) in entries.iter().enumerate() {
        let middle = frame.1.start + PAD + ROW * i as i32 + ROW / 2;
        let (x, y) = at(frame.0.start + PAD, middle);
        let drawn = match entry.key {
            Key::Line(style) => area.draw(&PathElement::new(vec![(x, y), (x + 32, y)], style)),
            Key::Dot(style) => area.draw(&Circle::new((x + 16, y), 8, style.filled())),
            Key::Ring(style) => area.draw(&Circle::new((x + 16, y), 8, style.stroke_width(3))),
            Key::Box(style) => area.draw(&Rectangle::new([(x, y - 9), (x + 32, y + 9)], style)),
        };
        drawn.map_err(|e| e.to_string())?;
        let text = Text::new(
            entry.label.clone(),
            (x + KEY, y - LABELS as i32 / 2 - 2),
            font.clone(),
        );
        area.draw(&text).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Where a figure's legend and its panels' plotting areas went, in pixels: what a test needs
/// to see that no data can fall under the legend.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Layout {
    pub legend: Option<PixelRect>,
    pub panels: Vec<PixelRect>,
}

impl Layout {
    /// The legend shares no pixel with any panel's plotting area.
    pub fn legend_is_clear(&self) -> bool {
        self.legend
            .as_ref()
            .is_none_or(|l| self.panels.iter().all(|p| !overlap(l, p)))
    }
}

/// Whether two pixel rectangles share a pixel.
pub fn overlap(a: &PixelRect, b: &PixelRect) -> bool {
    a.0.start < b.0.end && b.0.start < a.0.end && a.1.start < b.1.end && b.1.start < a.1.end
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outputs::plots::{register_font, xy_chart};

    #[test]
    fn the_legend_lies_beside_the_plotting_area_whatever_its_labels() {
        register_font().unwrap();
        for (width, label) in [
            (1600, "VM 1"),
            (1600, "a rather long variation name, 60 chars"),
            (900, "x"),
        ] {
            let mut pixels = vec![0u8; width as usize * 900 * 3];
            let root = BitMapBackend::with_buffer(&mut pixels, (width, 900)).into_drawing_area();
            let entries: Vec<Entry> = (0..12)
                .map(|i| Entry {
                    key: Key::Dot(BLACK.into()),
                    label: format!("{label} {i}"),
                })
                .collect();
            let (plots, frame) = beside(&root, &entries).unwrap();
            let frame = frame.unwrap();
            let chart = xy_chart(&plots, "t", ("x", "y"), 0.0..1.0, 0.0..1.0).unwrap();
            let data = chart.plotting_area().get_pixel_range();
            assert!(!overlap(&frame, &data), "{frame:?} over {data:?}");
            assert!(
                frame.0.end <= width as i32 && frame.1.end <= 900,
                "{frame:?}"
            );
            assert!(data.0.end - data.0.start > width as i32 / 3, "{data:?}");
        }
    }

    #[test]
    fn no_entries_no_strip() {
        let mut pixels = vec![0u8; 100 * 100 * 3];
        let root = BitMapBackend::with_buffer(&mut pixels, (100, 100)).into_drawing_area();
        let (plots, frame) = beside(&root, &[]).unwrap();
        assert_eq!(frame, None);
        assert_eq!(plots.dim_in_pixel(), (100, 100));
    }
}
