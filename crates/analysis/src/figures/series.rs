//! A time series downsampled on the fly to a bounded number of points, for the plots.
//!
//! A million-event run would make a million-point line that is slow to draw and no more
//! readable than two thousand points. [`Series`] keeps at most `cap` points: each point is a
//! bucket of `stride` consecutive samples reduced to its first time and its largest value, and
//! whenever the buffer fills, neighbouring buckets merge and the stride doubles. Keeping the
//! maximum preserves what matters on these plots: queue spikes, drift peaks, the clock's front.

/// A bounded, downsampled series of (seconds, value) points.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    cap: usize,
    stride: usize,
    points: Vec<(f64, f64)>,
    pending: Option<(f64, f64)>,
    pending_len: usize,
}

impl Series {
    /// Default number of points kept per series: enough for a 1280-pixel-wide plot.
    pub(crate) const CAP: usize = 2048;

    pub(crate) fn new(cap: usize) -> Series {
        Series {
            cap: cap.max(2),
            stride: 1,
            points: Vec::new(),
            pending: None,
            pending_len: 0,
        }
    }

    pub(crate) fn push(&mut self, t: f64, v: f64) {
        self.pending = Some(match self.pending {
            Some((t0, v0)) => (t0, v0.max(v)),
            None => (t, v),
        });
        self.pending_len += 1;
        if self.pending_len >= self.stride {
            self.flush_pending();
        }
    }

    /// The points, including a partly filled last bucket.
    pub(crate) fn points(&self) -> Vec<(f64, f64)> {
        let mut out = self.points.clone();
        out.extend(self.pending);
        out
    }

    fn flush_pending(&mut self) {
        if let Some(p) = self.pending.take() {
            self.points.push(p);
        }
        self.pending_len = 0;
        if self.points.len() >= self.cap {
            self.points = self
                .points
                .chunks(2)
                .map(|pair| (pair[0].0, pair.iter().map(|p| p.1).fold(f64::MIN, f64::max)))
                .collect();
            self.stride *= 2;
        }
    }
}

impl Default for Series {
    fn default() -> Self {
        Series::new(Series::CAP)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_series_are_kept_as_is() {
        let mut s = Series::new(8);
        for i in 0..5 {
            s.push(i as f64, (i * 10) as f64);
        }
        assert_eq!(
            s.points(),
            (0..5)
                .map(|i| (i as f64, (i * 10) as f64))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn long_series_stay_bounded_and_keep_peaks() {
        let mut s = Series::new(100);
        for i in 0..1_000_000 {
            let v = if i == 777_777 { 1e9 } else { (i % 10) as f64 };
            s.push(i as f64, v);
        }
        let p = s.points();
        assert!(p.len() <= 101, "{}", p.len());
        assert!(p.len() >= 50, "{}", p.len());
        assert_eq!(p[0].0, 0.0);
        assert!(p.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(p.iter().any(|&(_, v)| v == 1e9));
    }
}
