//! The plots' and report.html's look, declared once: fonts, the VMs' colours and the event
//! kinds' colours.
//!
//! Colours live here rather than beside each drawing so the PNGs and the page cannot drift
//! apart (they did: `spacetime.png` drew receives red, the page green). Every colour is for
//! marks on white, so each must stand out against it: the tests hold the whole VM palette,
//! all 128 VMs a run may have, to a WCAG contrast ratio of at least 3:1, the floor for
//! graphics that carry meaning.

use plotters::style::RGBColor;

use crate::read::record::Kind;

pub const FONT: &str = "sans-serif";
pub const TITLE: u32 = 40;
pub const AXIS: u32 = 28;
pub const LABELS: u32 = 22;

/// The first VMs' colours: "tab10" with its four light colours (orange, pink, olive, cyan)
/// darkened to 3:1 on white, then six more as far from those as a dark colour can be.
const FIRST: [RGBColor; 16] = [
    RGBColor(31, 119, 180),
    RGBColor(217, 95, 2),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(197, 27, 125),
    RGBColor(127, 127, 127),
    RGBColor(128, 128, 0),
    RGBColor(0, 131, 143),
    RGBColor(20, 40, 110),
    RGBColor(155, 115, 0),
    RGBColor(90, 30, 130),
    RGBColor(0, 100, 0),
    RGBColor(240, 2, 127),
    RGBColor(0, 0, 0),
];

/// The least contrast on white a VM's colour may have (WCAG's floor for graphics).
pub const MIN_CONTRAST: f64 = 3.0;

/// The colour of the i-th VM: the sixteen of [`FIRST`], then hues a golden angle apart,
/// each darkened until it has [`MIN_CONTRAST`] on white (light hues such as yellow need it).
pub fn color(i: usize) -> RGBColor {
    if let Some(&c) = FIRST.get(i) {
        return c;
    }
    let hue = (i as f64 * 137.507_764) % 360.0;
    let mut lightness: f64 = 0.45;
    let mut c = hsl(hue, 0.7, lightness);
    while contrast_on_white(c) < MIN_CONTRAST + 0.1 && lightness > 0.05 {
        lightness -= 0.02;
        c = hsl(hue, 0.7, lightness);
    }
    c
}

/// The colour of hue `h` (degrees), saturation `s` and lightness `l` (0 to 1).
fn hsl(h: f64, s: f64, l: f64) -> RGBColor {
    let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
    let x = c * (1.0 - ((h / 60.0) % 2.0 - 1.0).abs());
    let (r, g, b) = match (h / 60.0) as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = l - c / 2.0;
    let byte = |v: f64| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    RGBColor(byte(r), byte(g), byte(b))
}

/// The colour of each event kind, wherever events are drawn: `spacetime.png` and the diagram
/// of `report.html` (which gets them as the CSS variables of [`css_variables`]). Internal
/// events are grey, so the sends and receives that make causality stand out.
pub const EVENT_KINDS: [(Kind, RGBColor); 3] = [
    (Kind::Send, RGBColor(49, 130, 189)),
    (Kind::Receive, RGBColor(49, 163, 84)),
    (Kind::Internal, RGBColor(189, 189, 189)),
];

/// [`EVENT_KINDS`] as CSS custom properties (`--ev-send: #3182bd;`), for the page's style.
pub(crate) fn css_variables() -> String {
    let vars: String = EVENT_KINDS
        .iter()
        .map(|(kind, c)| {
            format!(
                " --ev-{}: #{:02x}{:02x}{:02x};",
                kind.as_str(),
                c.0,
                c.1,
                c.2
            )
        })
        .collect();
    format!(":root {{{vars} }}\n")
}

/// The WCAG 2 contrast ratio of `c` against white: 1 (invisible) to 21 (black).
pub fn contrast_on_white(c: RGBColor) -> f64 {
    let channel = |v: u8| {
        let s = f64::from(v) / 255.0;
        if s <= 0.04045 {
            s / 12.92
        } else {
            ((s + 0.055) / 1.055).powf(2.4)
        }
    };
    let luminance = 0.2126 * channel(c.0) + 0.7152 * channel(c.1) + 0.0722 * channel(c.2);
    1.05 / (luminance + 0.05)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The most VMs a run may have (`vm_count`'s upper bound).
    const MOST_VMS: usize = 128;

    #[test]
    fn every_vm_colour_stands_out_on_white() {
        let faint: Vec<(usize, RGBColor, f64)> = (0..MOST_VMS)
            .map(|i| (i, color(i), contrast_on_white(color(i))))
            .filter(|&(_, _, ratio)| ratio < MIN_CONTRAST)
            .collect();
        assert!(faint.is_empty(), "VM colours under 3:1 on white: {faint:?}");
    }

    #[test]
    fn vm_colours_are_all_different() {
        let colours: Vec<RGBColor> = (0..MOST_VMS).map(color).collect();
        for (i, a) in colours.iter().enumerate() {
            for (j, b) in colours.iter().enumerate().skip(i + 1) {
                assert_ne!(a, b, "VM {} and VM {} share a colour", i + 1, j + 1);
            }
        }
    }

    #[test]
    fn contrast_matches_known_values() {
        assert!((contrast_on_white(RGBColor(0, 0, 0)) - 21.0).abs() < 1e-9);
        assert!((contrast_on_white(RGBColor(255, 255, 255)) - 1.0).abs() < 1e-9);
        // #767676, the lightest grey with 4.5:1 on white.
        assert!((contrast_on_white(RGBColor(118, 118, 118)) - 4.54).abs() < 0.01);
    }
}
