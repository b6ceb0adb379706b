//! Each log file is written in time order: no line is stamped before the line above it. Pure.
//!
//! A line's time is the time of its event, taken when it happened, and each VM's lines are
//! written in the order they were logged, so time never goes back within one file, whatever
//! the line's level. (Across files it may: the files come from different threads, which is why
//! the merge keeps each file's own order.) The check compares each readable line with the last
//! readable line above it; an unreadable line has no time and is skipped. Only the line directly
//! above counts, so one wrongly stamped line gives one finding, not one per line after it.

use super::violation::Rule;
use lc_contract::timestamp::Rfc3339;

/// The last stamped line of one file.
#[derive(Debug, Clone, Default)]
pub(crate) struct TimeOrder {
    last: Option<(i64, usize)>,
}

impl TimeOrder {
    /// Checks the line at `line` stamped `time_us` against the line above it.
    pub(crate) fn line(&mut self, line: usize, time_us: i64, mut report: impl FnMut(Rule, String)) {
        if let Some((last, at)) = self.last {
            if time_us < last {
                report(
                    Rule::TimeGoesBack,
                    format!(
                        "stamped {} but line {at} above it is stamped {} ({} us later)",
                        Rfc3339(time_us),
                        Rfc3339(last),
                        last - time_us
                    ),
                );
            }
        }
        self.last = Some((time_us, line));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn back(times: &[i64]) -> Vec<usize> {
        let mut order = TimeOrder::default();
        let mut lines = Vec::new();
        for (i, &t) in times.iter().enumerate() {
            order.line(i + 1, t, |rule, _| {
                assert_eq!(rule, Rule::TimeGoesBack);
                lines.push(i + 1);
            });
        }
        lines
    }

    #[test]
    fn equal_and_increasing_times_pass() {
        assert!(back(&[1, 1, 2, 5, 5, 9]).is_empty());
    }

    #[test]
    fn a_line_stamped_before_the_one_above_is_caught() {
        assert_eq!(back(&[1, 5, 3, 6]), vec![3]);
        // One line stamped far ahead gives one finding, at the line after it.
        assert_eq!(back(&[1, 99, 3, 4, 5, 6]), vec![3]);
    }

    #[test]
    fn the_detail_names_both_times() {
        let mut order = TimeOrder::default();
        let mut details = Vec::new();
        let t = 1_795_626_000_000_000; // 2026-11-25T17:00:00Z
        order.line(4, t + 350_000, |_, d| details.push(d));
        order.line(5, t + 300_000, |_, d| details.push(d));
        assert_eq!(
            details,
            vec![
                "stamped 2026-11-25T17:00:00.300000Z but line 4 above it is stamped 2026-11-25T17:00:00.350000Z (50000 us later)"
            ]
        );
    }
}
