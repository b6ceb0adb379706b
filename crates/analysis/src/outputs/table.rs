//! Plain-text tables for the terminal: the run summary, the analysis
//! report and the comparison of runs all print through [`render`], so they
//! align the same way.

use std::fmt::Write as _;

/// Renders `rows` under `headers`: the first column left-aligned, the
/// others right-aligned, every column as wide as its widest cell.
pub fn render(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (cell, &w)) in row.iter().zip(&widths).enumerate() {
            if i == 0 {
                let _ = write!(line, "{cell:<w$}");
            } else {
                let _ = write!(line, "  {cell:>w$}");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns() {
        let t = render(
            &["run", "n"],
            vec![
                vec!["a".into(), "100".into()],
                vec!["long-name".into(), "2".into()],
            ],
        );
        assert_eq!(t, "run          n\na          100\nlong-name    2\n");
    }
}
