//! A time series downsampled on the fly to a bounded number of points, for the plots.
//!
//! A million-event run would make a million-point line that is slow to draw and no more
//! readable than two thousand points. [`Series`] keeps at most `cap` points: each point is a
//! bucket of `stride` consecutive samples reduced to its first time and its largest value, and
//! whenever the buffer fills, neighbouring buckets merge and the stride doubles. Keeping the
//! maximum preserves what matters on these plots: queue spikes, drift peaks, the clock's front.
//!
//! A series may be cut ([`Series::cut`]) where nothing is known, a crashed VM's down time say:
//! it then comes in pieces, each drawn as its own line, and no bucket spans a cut, so the
//! plots leave the gap rather than draw a line across it.

/// A bounded, downsampled series of (seconds, value) points, in pieces split at cuts.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    cap: usize,
    stride: usize,
    /// The pieces so far, the open one last (never empty as a list).
    pieces: Vec<Vec<(f64, f64)>>,
    /// Points in all pieces.
    len: usize,
    pending: Option<(f64, f64)>,
    pending_len: usize,
}

/// A series as the plots draw it: pieces of (seconds, value) points, a gap between each two.
pub(crate) type Pieces = Vec<Vec<(f64, f64)>>;

impl Series {
    /// Default number of points kept per series: enough for a 1280-pixel-wide plot.
    pub(crate) const CAP: usize = 2048;

    pub(crate) fn new(cap: usize) -> Series {
        Series {
            cap: cap.max(2),
            stride: 1,
            pieces: vec![Vec::new()],
            len: 0,
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

    /// Ends the current piece: what comes next is drawn apart from what came before.
    pub(crate) fn cut(&mut self) {
        self.flush_pending();
        if self.pieces.last().is_some_and(|p| !p.is_empty()) {
            self.pieces.push(Vec::new());
        }
    }

    /// The pieces, the last with its partly filled bucket; no piece is empty.
    pub(crate) fn pieces(&self) -> Pieces {
        let mut out = self.pieces.clone();
        if let (Some(last), Some(p)) = (out.last_mut(), self.pending) {
            last.push(p);
        }
        out.retain(|p| !p.is_empty());
        out
    }

    fn flush_pending(&mut self) {
        if let Some(p) = self.pending.take() {
            if let Some(last) = self.pieces.last_mut() {
                last.push(p);
                self.len += 1;
            }
        }
        self.pending_len = 0;
        if self.len >= self.cap {
            // Neighbours merge within a piece only, so no point straddles a cut.
            for piece in &mut self.pieces {
                *piece = piece
                    .chunks(2)
                    .map(|pair| (pair[0].0, pair.iter().map(|p| p.1).fold(f64::MIN, f64::max)))
                    .collect();
            }
            self.len = self.pieces.iter().map(Vec::len).sum();
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
            s.pieces(),
            vec![(0..5)
                .map(|i| (i as f64, (i * 10) as f64))
                .collect::<Vec<_>>()]
        );
    }

    #[test]
    fn long_series_stay_bounded_and_keep_peaks() {
        let mut s = Series::new(100);
        for i in 0..1_000_000 {
            let v = if i == 777_777 { 1e9 } else { (i % 10) as f64 };
            s.push(i as f64, v);
        }
        let pieces = s.pieces();
        assert_eq!(pieces.len(), 1);
        let p = &pieces[0];
        assert!(p.len() <= 101, "{}", p.len());
        assert!(p.len() >= 50, "{}", p.len());
        assert_eq!(p[0].0, 0.0);
        assert!(p.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(p.iter().any(|&(_, v)| v == 1e9));
    }

    #[test]
    fn a_cut_splits_the_series_and_no_point_spans_it() {
        let mut s = Series::new(16);
        for i in 0..1000 {
            s.push(i as f64, 1.0);
        }
        s.cut();
        s.cut();
        for i in 2000..3000 {
            s.push(i as f64, 2.0);
        }
        let pieces = s.pieces();
        assert_eq!(pieces.len(), 2, "{pieces:?}");
        assert!(pieces[0].iter().all(|&(t, v)| t < 1000.0 && v == 1.0));
        assert!(pieces[1].iter().all(|&(t, v)| t >= 2000.0 && v == 2.0));
        assert!(pieces.iter().map(Vec::len).sum::<usize>() <= 18);
        assert_eq!(Series::new(4).pieces(), Pieces::new());
    }
}
