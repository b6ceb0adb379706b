//! One trial's queueing-model prediction ([`lc_core::queueing`]) held against what the trial
//! measured: arrival rate, queue growth (from `events.csv`), mean jump, system clock rate. Pure.
//!
//! Apart from `prediction.rs`, which tabulates these across a variation's trials, because a
//! trial's record holds its prediction: this part sits below [`TrialRecord`](crate::TrialRecord)
//! and the table above it.

use lc_analysis::{Kind, Summary};
use lc_core::queueing::{self, VmPrediction};
use lc_core::vm_id::VmId;
use std::collections::BTreeMap;
use std::io::BufRead;

/// What a trial measured of one VM, the quantities the model predicts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Measured {
    /// Messages that reached its queue per second.
    pub(crate) arrival: f64,
    /// Slope of its queue length over the run's second half, messages per second.
    pub(crate) queue_growth: f64,
    pub(crate) mean_jump: f64,
}

/// One VM of one trial: the model's prediction and the measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct VmComparison {
    pub(crate) vm: VmId,
    pub(crate) predicted: VmPrediction,
    pub(crate) measured: Measured,
}

/// A trial's prediction and measurement, every VM.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TrialPrediction {
    pub(crate) internal_probability: f64,
    /// The model's system clock rate (the top tick rate).
    pub(crate) system_clock_rate: f64,
    /// The fastest-growing clock of the run, units per second.
    pub(crate) leader_clock_rate: f64,
    pub(crate) vms: Vec<VmComparison>,
}

impl TrialPrediction {
    /// The prediction for VMs ticking at `rates` (VM 1 first) held against the trial's
    /// summary and the queue growth measured per VM (`(vm, slope)` pairs). `None` when the
    /// model cannot be applied (fewer than two VMs) or a VM has no measurement.
    pub(crate) fn of(
        rates: &[u32],
        internal_probability: f64,
        summary: &Summary,
        queue_growth: &BTreeMap<VmId, f64>,
    ) -> Option<TrialPrediction> {
        let rates: Vec<f64> = rates.iter().map(|&r| f64::from(r)).collect();
        let model = queueing::predict(&rates, internal_probability).ok()?;
        let mut leader_clock_rate: f64 = 0.0;
        let vms = summary
            .vms
            .iter()
            .map(|v| {
                let predicted = *model.vms.get(v.vm.index())?;
                // Seconds of its run: tick k is due at k / rate, whatever else the log holds.
                let seconds = (v.ticks > 0).then(|| v.ticks as f64 / predicted.rate)?;
                leader_clock_rate = leader_clock_rate.max(v.final_clock as f64 / seconds);
                let reached = v.received + v.left_in_queue.unwrap_or(v.final_queue);
                Some(VmComparison {
                    vm: v.vm,
                    predicted,
                    measured: Measured {
                        arrival: reached as f64 / seconds,
                        queue_growth: *queue_growth.get(&v.vm)?,
                        mean_jump: v.mean_jump,
                    },
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(TrialPrediction {
            internal_probability,
            system_clock_rate: model.system_clock_rate,
            leader_clock_rate,
            vms,
        })
    }

    pub(crate) fn vm(&self, vm: VmId) -> Option<&VmComparison> {
        self.vms.iter().find(|c| c.vm == vm)
    }
}

/// Why `events.csv` could not give the queue growth.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EventsError {
    #[error("cannot read events.csv: {0}")]
    Read(#[from] std::io::Error),
    #[error("events.csv has no `{0}` column")]
    Column(&'static str),
    #[error("events.csv line {line}: {detail}")]
    Row { line: usize, detail: String },
}

/// Each VM's queue growth: the least-squares slope of its queue length against time (`t_s`)
/// over its ticks at or after `from_s` seconds, read from `events.csv`. A VM with fewer than
/// two such ticks gets slope 0.
pub(crate) fn queue_growth(
    events_csv: impl BufRead,
    from_s: f64,
) -> Result<BTreeMap<VmId, f64>, EventsError> {
    let mut lines = events_csv.lines();
    let header = lines.next().transpose()?.unwrap_or_default();
    let columns: Vec<&str> = header.split(',').collect();
    let column = |name: &'static str| {
        columns
            .iter()
            .position(|c| *c == name)
            .ok_or(EventsError::Column(name))
    };
    let (t_col, vm_col, kind_col, queue_col) = (
        column("t_s")?,
        column("vm")?,
        column("kind")?,
        column("queue")?,
    );
    let ticks = [Kind::Send, Kind::Receive, Kind::Internal].map(Kind::as_str);
    let mut trends: BTreeMap<VmId, Trend> = BTreeMap::new();
    for (i, line) in lines.enumerate() {
        let line = line?;
        let cells: Vec<&str> = line.split(',').collect();
        let cell = |at: usize| cells.get(at).copied().unwrap_or("");
        if !ticks.contains(&cell(kind_col)) {
            continue;
        }
        let bad = |what: &str| EventsError::Row {
            line: i + 2,
            detail: format!("{what} is not a number"),
        };
        let t: f64 = cell(t_col).parse().map_err(|_| bad("t_s"))?;
        if t < from_s {
            continue;
        }
        let vm: VmId = cell(vm_col).parse().map_err(|_| bad("vm"))?;
        let queue: u64 = cell(queue_col).parse().map_err(|_| bad("queue"))?;
        trends.entry(vm).or_default().add(t - from_s, queue as f64);
    }
    Ok(trends.into_iter().map(|(vm, t)| (vm, t.slope())).collect())
}

/// Running sums for a least-squares line through `(t, y)` points.
#[derive(Debug, Default, Clone, Copy)]
struct Trend {
    n: f64,
    t: f64,
    y: f64,
    tt: f64,
    ty: f64,
}

impl Trend {
    fn add(&mut self, t: f64, y: f64) {
        self.n += 1.0;
        self.t += t;
        self.y += y;
        self.tt += t * t;
        self.ty += t * y;
    }

    fn slope(&self) -> f64 {
        let spread = self.n * self.tt - self.t * self.t;
        if self.n < 2.0 || spread <= 0.0 {
            0.0
        } else {
            (self.n * self.ty - self.t * self.y) / spread
        }
    }
}
