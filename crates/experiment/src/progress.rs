//! How much of a study is left, for the progress lines on stderr.
//!
//! The estimate is list scheduling, as the runner does it: the running trials keep their
//! slots, and each queued trial takes the slot that frees first. A trial's length is its
//! configured runtime times the study's *pace* (wall seconds per configured second, measured
//! on the trials finished so far: a little over 1 in real time, far under 1 on virtual time).
//! Pure: the runner supplies the times.

use std::time::Duration;

/// Wall time until the last trial ends, in seconds.
///
/// `running_left`: seconds each running trial still needs; `queued`: configured runtimes of the
/// trials not started, in start order; `jobs`: trials run at once (at least 1).
pub(crate) fn time_left(running_left: &[f64], queued: &[f64], jobs: usize, pace: f64) -> f64 {
    let mut slots: Vec<f64> = running_left.iter().map(|s| s.max(0.0)).collect();
    slots.resize(jobs.max(1).max(slots.len()), 0.0);
    for runtime in queued {
        let first_free = slots
            .iter_mut()
            .min_by(|a, b| a.total_cmp(b))
            .expect("at least one slot");
        *first_free += runtime * pace;
    }
    slots.into_iter().fold(0.0, f64::max)
}

/// Wall seconds per configured second over the finished trials; `None` before the first.
pub(crate) fn pace(finished: &[(f64, Duration)]) -> Option<f64> {
    let runtime: f64 = finished.iter().map(|(r, _)| r).sum();
    let wall: f64 = finished.iter().map(|(_, w)| w.as_secs_f64()).sum();
    (runtime > 0.0).then(|| wall / runtime)
}

/// A duration for people: `42s`, `9m05s`, `1h02m`.
pub(crate) fn human(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_trials_fill_the_first_free_slot() {
        // 25 trials of 60 s on 3 slots: 9 rounds.
        assert_eq!(time_left(&[], &[60.0; 25], 3, 1.0), 540.0);
        // Two running with 10 s and 50 s left; one queued goes after the 10 s one.
        assert_eq!(time_left(&[10.0, 50.0], &[60.0], 2, 1.0), 70.0);
        assert_eq!(time_left(&[10.0], &[], 4, 1.0), 10.0);
        assert!((time_left(&[], &[600.0; 4], 1, 0.001) - 2.4).abs() < 1e-9);
        assert_eq!(time_left(&[], &[], 0, 1.0), 0.0);
    }

    #[test]
    fn pace_and_human_durations() {
        assert_eq!(pace(&[]), None);
        assert_eq!(pace(&[(60.0, Duration::from_secs(63))]), Some(1.05));
        assert_eq!(human(42.4), "42s");
        assert_eq!(human(545.0), "9m05s");
        assert_eq!(human(3720.0), "1h02m");
    }
}
