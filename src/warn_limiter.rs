//! WARN lines that no input can multiply: the first few of a kind in full,
//! then one line per interval with a count.
//!
//! Strangers and resource errors are outside the run's control: a flood of
//! connections, or an accept loop out of file descriptors, can happen
//! thousands of times a second, and one WARN line each once grew a log by
//! gigabytes in seconds. A [`WarnLimiter`] stands between such events and
//! the log. Each kind of event (a `noun` such as "connections refused") has
//! its own budget:
//!
//! - the first [`BURST`] occurrences are written in full, with their details;
//! - beyond that, occurrences are only counted, by reason, for one
//!   [`INTERVAL`] from the first one counted, and then written as a single
//!   line: `... and 11234 more connections refused in the last 1.0 s: wrong
//!   run token (8000); handshake timeout (3234)`;
//! - the next interval counts likewise; an interval that ends with nothing
//!   counted restores the full-line budget, so a stranger who comes back
//!   after a quiet spell is reported in full again.
//!
//! So over a span of `T`, one kind writes at most
//! `BURST × (1 + T / (2 × INTERVAL)) + T / INTERVAL + 1` lines (a budget is
//! restored only after an interval with counts and a quiet one), whatever
//! comes in; [`max_lines`] computes it. Nothing is lost: every occurrence is
//! either a full line or counted in a summary, and [`WarnLimiter::flush`]
//! writes what is still counted when the run stops.
//!
//! Pure and generic over the instant type: the bridge drives it with
//! tokio's clock and owns the timer ([`WarnLimiter::arm`] says when one is
//! needed, as [`lc_core::latency::DelayLine`] does); tests drive it with
//! plain durations.

use std::collections::BTreeMap;
use std::ops::{Add, Sub};
use std::time::Duration;

/// Occurrences of one kind written in full before counting starts.
pub const BURST: u32 = 5;
/// How long occurrences are counted before their summary line is written.
pub const INTERVAL: Duration = Duration::from_secs(1);

/// The most lines one kind may write over `span` with `burst` and
/// `interval`: the bound the limiter keeps (see the module's comment).
pub fn max_lines(burst: u32, interval: Duration, span: Duration) -> u64 {
    let intervals = span.as_nanos() / interval.as_nanos().max(1);
    let intervals = u64::try_from(intervals).unwrap_or(u64::MAX);
    u64::from(burst) * (1 + intervals / 2) + intervals + 1
}

/// What the driver writes for one occurrence.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Note {
    /// A summary of an interval that has just ended, to write first.
    pub(crate) summary: Option<String>,
    /// Write this occurrence's own line in full (otherwise it was counted).
    pub(crate) full: bool,
}

/// Occurrences counted since `start`, summarised at `end`.
#[derive(Debug)]
struct Window<I> {
    start: I,
    end: I,
    total: u64,
    by_reason: BTreeMap<String, u64>,
}

/// One kind's budget and counts.
#[derive(Debug)]
struct Kind<I> {
    budget: u32,
    window: Option<Window<I>>,
}

/// Bounded WARN output for every kind of event a driver reports.
#[derive(Debug)]
pub(crate) struct WarnLimiter<I> {
    burst: u32,
    interval: Duration,
    kinds: BTreeMap<&'static str, Kind<I>>,
    timer_armed: bool,
}

impl<I> Default for WarnLimiter<I> {
    fn default() -> Self {
        Self::new(BURST, INTERVAL)
    }
}

impl<I> WarnLimiter<I> {
    pub fn new(burst: u32, interval: Duration) -> Self {
        Self {
            burst,
            interval,
            kinds: BTreeMap::new(),
            timer_armed: false,
        }
    }
}

impl<I: Copy + Ord + Add<Duration, Output = I> + Sub<I, Output = Duration>> WarnLimiter<I> {
    /// One occurrence of `noun` (for example "connections refused") at
    /// `now`, for `reason` (what it is counted under in a summary).
    pub(crate) fn note(&mut self, now: I, noun: &'static str, reason: &str) -> Note {
        let (burst, interval) = (self.burst, self.interval);
        let kind = self.kinds.entry(noun).or_insert(Kind {
            budget: burst,
            window: None,
        });
        let summary = kind.roll(now, noun, interval, burst);
        let full = match &mut kind.window {
            None if kind.budget > 0 => {
                kind.budget -= 1;
                true
            }
            None => {
                let mut window = Window::opening(now, interval);
                window.count(reason);
                kind.window = Some(window);
                false
            }
            Some(window) => {
                window.count(reason);
                false
            }
        };
        Note { summary, full }
    }

    /// When the driver should wake to write a summary: the end of the
    /// earliest interval with counts, unless a timer is already set. Marks
    /// the timer as set.
    pub(crate) fn arm(&mut self) -> Option<I> {
        if self.timer_armed {
            return None;
        }
        let at = self
            .kinds
            .values()
            .filter_map(|k| k.window.as_ref().filter(|w| w.total > 0).map(|w| w.end))
            .min()?;
        self.timer_armed = true;
        Some(at)
    }

    /// The driver's timer went off.
    pub(crate) fn timer_fired(&mut self) {
        self.timer_armed = false;
    }

    /// The summaries of every interval that has ended by `now`.
    pub(crate) fn due(&mut self, now: I) -> Vec<String> {
        let (burst, interval) = (self.burst, self.interval);
        self.kinds
            .iter_mut()
            .filter_map(|(noun, kind)| kind.roll(now, noun, interval, burst))
            .collect()
    }

    /// The summaries of everything still counted, intervals over or not
    /// (the run is stopping); every kind starts afresh.
    pub(crate) fn flush(&mut self, now: I) -> Vec<String> {
        let burst = self.burst;
        self.kinds
            .iter_mut()
            .filter_map(|(noun, kind)| {
                kind.budget = burst;
                let window = kind.window.take()?;
                let over = now.max(window.start) - window.start;
                window.summary(noun, over)
            })
            .collect()
    }
}

impl<I: Copy + Ord + Add<Duration, Output = I> + Sub<I, Output = Duration>> Kind<I> {
    /// Closes the interval if it has ended by `now`: its summary if it
    /// counted anything (the next interval then counts on), or, after a
    /// quiet interval, a fresh budget of full lines.
    fn roll(&mut self, now: I, noun: &str, interval: Duration, burst: u32) -> Option<String> {
        let mut summary = None;
        while let Some(window) = self.window.take_if(|w| now >= w.end) {
            if window.total == 0 {
                self.budget = burst;
                break;
            }
            self.window = Some(Window::opening(window.end, interval));
            summary = window.summary(noun, window.end - window.start);
        }
        summary
    }
}

impl<I: Copy + Add<Duration, Output = I>> Window<I> {
    fn opening(start: I, interval: Duration) -> Self {
        Window {
            start,
            end: start + interval,
            total: 0,
            by_reason: BTreeMap::new(),
        }
    }

    fn count(&mut self, reason: &str) {
        self.total += 1;
        match self.by_reason.get_mut(reason) {
            Some(n) => *n += 1,
            None => {
                self.by_reason.insert(reason.to_string(), 1);
            }
        }
    }

    /// `... and 12 more connections refused in the last 1.0 s: wrong run
    /// token (8); handshake timeout (4)`, the commonest reason first.
    fn summary(&self, noun: &str, over: Duration) -> Option<String> {
        if self.total == 0 {
            return None;
        }
        let mut reasons: Vec<(&String, &u64)> = self.by_reason.iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let reasons: Vec<String> = reasons
            .iter()
            .map(|(reason, n)| format!("{reason} ({n})"))
            .collect();
        Some(format!(
            "... and {} more {noun} in the last {:.1} s: {}",
            self.total,
            over.as_secs_f64(),
            reasons.join("; ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REFUSED: &str = "connections refused";
    const FAILED: &str = "failed accepts";

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn limiter() -> WarnLimiter<Duration> {
        WarnLimiter::new(5, Duration::from_secs(1))
    }

    #[test]
    fn the_first_few_are_written_in_full_then_counted_into_one_line_per_interval() {
        let mut l = limiter();
        for i in 0..5 {
            assert_eq!(
                l.note(ms(i), REFUSED, "wrong run token"),
                Note {
                    summary: None,
                    full: true
                }
            );
        }
        assert_eq!(l.arm(), None, "nothing counted: no timer");
        for i in 0..8000 {
            let n = l.note(ms(10 + i / 10), REFUSED, "wrong run token");
            assert!(!n.full && n.summary.is_none());
        }
        for i in 0..3234 {
            l.note(ms(20 + i / 10), REFUSED, "handshake timeout");
        }
        // The interval began with the first counted occurrence, at 10 ms.
        assert_eq!(l.arm(), Some(ms(1010)));
        assert_eq!(l.arm(), None, "armed once");
        assert!(l.due(ms(1009)).is_empty());
        l.timer_fired();
        assert_eq!(
            l.due(ms(1010)),
            vec!["... and 11234 more connections refused in the last 1.0 s: \
                  wrong run token (8000); handshake timeout (3234)"
                .to_string()]
        );
        assert_eq!(l.arm(), None, "the next interval has counted nothing yet");
    }

    /// Drives a limiter like the bridge does: a timer armed when asked
    /// for, fired on time; collects every line written.
    struct Driver {
        limiter: WarnLimiter<Duration>,
        timer: Option<Duration>,
        lines: Vec<String>,
    }

    impl Driver {
        fn new() -> Self {
            Self {
                limiter: limiter(),
                timer: None,
                lines: Vec::new(),
            }
        }

        fn at(&mut self, now: Duration) {
            if self.timer.is_some_and(|at| at <= now) {
                self.timer = None;
                self.limiter.timer_fired();
                self.lines.extend(self.limiter.due(now));
            }
        }

        fn note(&mut self, now: Duration, reason: &str) {
            self.at(now);
            let note = self.limiter.note(now, REFUSED, reason);
            self.lines.extend(note.summary);
            if note.full {
                self.lines.push(format!("full: {reason}"));
            }
            if let Some(at) = self.limiter.arm() {
                self.timer = Some(at);
            }
        }

        fn stop(&mut self, now: Duration) {
            self.at(now);
            self.lines.extend(self.limiter.flush(now));
        }

        /// Occurrences written in full plus those counted in summaries.
        fn occurrences(&self) -> u64 {
            self.lines
                .iter()
                .map(|line| match line.strip_prefix("... and ") {
                    Some(rest) => rest.split(' ').next().unwrap().parse().unwrap(),
                    None => 1,
                })
                .sum()
        }
    }

    #[test]
    fn a_flood_writes_one_summary_per_interval_and_every_occurrence_is_counted() {
        let mut d = Driver::new();
        // 1,000 occurrences a second for ten seconds.
        for i in 0..10_000u64 {
            d.note(ms(i), "wrong run token");
        }
        d.stop(ms(10_000));
        assert_eq!(d.occurrences(), 10_000, "{:?}", d.lines);
        assert_eq!(d.lines.iter().filter(|l| l.starts_with("full")).count(), 5);
        // Intervals from 5 ms: ten summaries, the last one at the stop.
        assert_eq!(d.lines.len(), 5 + 10, "{:?}", d.lines);
        assert!(d.lines[5].contains("1000 more connections refused in the last 1.0 s"));
    }

    #[test]
    fn no_input_writes_more_than_the_bound() {
        // Adversarial rhythms: bursts around the budget, then silences of
        // every length around the interval.
        for gap in [0, 1, 999, 1000, 1001, 1999, 2000, 2001, 3000] {
            for per_burst in [1, 5, 6, 7, 50] {
                let mut d = Driver::new();
                let mut now = ms(0);
                let mut sent = 0;
                while now < ms(20_000) {
                    for _ in 0..per_burst {
                        d.note(now, if sent % 3 == 0 { "a" } else { "b" });
                        sent += 1;
                        now += ms(1);
                    }
                    now += ms(gap);
                    d.at(now);
                }
                d.stop(now);
                let bound = max_lines(5, Duration::from_secs(1), now);
                let lines = d.lines.len() as u64;
                assert!(
                    lines <= bound,
                    "gap {gap}, burst {per_burst}: {lines} > {bound}"
                );
                assert_eq!(d.occurrences(), sent, "gap {gap}, burst {per_burst}");
            }
        }
    }

    #[test]
    fn a_quiet_interval_restores_the_full_lines() {
        let mut l = limiter();
        for i in 0..6 {
            l.note(ms(i), REFUSED, "wrong run token");
        }
        // Counted at 5 ms: its interval ends at 1005 ms, the next (quiet)
        // one at 2005 ms.
        let n = l.note(ms(1500), REFUSED, "wrong run token");
        assert!(!n.full);
        assert_eq!(
            n.summary.as_deref(),
            Some("... and 1 more connections refused in the last 1.0 s: wrong run token (1)"),
            "a late timer: the ended interval's summary comes with the next occurrence"
        );
        assert!(l.due(ms(2505)).iter().any(|s| s.contains("(1)")));
        // 2505..3505 counted nothing: full lines again.
        assert!(l.note(ms(3600), REFUSED, "wrong run token").full);
    }

    #[test]
    fn kinds_have_their_own_budgets() {
        let mut l = limiter();
        for i in 0..6 {
            l.note(ms(i), REFUSED, "wrong run token");
        }
        assert!(l.note(ms(10), FAILED, "Too many open files").full);
        let lines = l.due(ms(2000));
        assert_eq!(lines.len(), 1);
        assert!(lines[0].contains("connections refused"));
    }

    #[test]
    fn flush_writes_what_is_still_counted_and_leaves_nothing() {
        let mut l = limiter();
        for i in 0..7 {
            l.note(ms(100 * i), FAILED, "Too many open files (os error 24)");
        }
        // Counted from 500 ms; the run stops at 800 ms.
        assert_eq!(
            l.flush(ms(800)),
            vec!["... and 2 more failed accepts in the last 0.3 s: \
                  Too many open files (os error 24) (2)"
                .to_string()]
        );
        assert!(l.flush(ms(900)).is_empty());
        assert!(l.due(ms(5000)).is_empty());
        assert!(l.note(ms(5000), FAILED, "x").full, "a fresh budget");
    }

    #[test]
    fn the_bound_grows_with_the_span() {
        let s = Duration::from_secs(1);
        assert_eq!(max_lines(5, s, Duration::ZERO), 6);
        assert_eq!(max_lines(5, s, Duration::from_secs(10)), 5 * 6 + 10 + 1);
        assert_eq!(max_lines(0, s, Duration::from_millis(2500)), 3);
    }
}
