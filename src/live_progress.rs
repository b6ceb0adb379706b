//! The live progress line of a real-time run: elapsed time, and each VM's
//! clock and queue, redrawn a few times a second on stderr.
//!
//! It reads the gauges the VMs and bridges already keep, so drawing it
//! costs the ticks nothing; indicatif draws nothing when stderr is not a
//! terminal, which keeps logs of scripted runs clean.

use crate::actors::VmGauges;
use indicatif::{ProgressBar, ProgressStyle};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// How often the line is redrawn.
pub(crate) const INTERVAL: Duration = Duration::from_millis(250);
/// The line shows at most this many VMs.
const SHOWN_VMS: usize = 8;

/// The progress line of one run.
pub(crate) struct LiveProgress {
    bar: ProgressBar,
    gauges: Vec<Arc<VmGauges>>,
}

impl LiveProgress {
    /// A line for a run of `runtime`, showing the VMs behind `gauges`.
    pub fn new(runtime: Duration, gauges: Vec<Arc<VmGauges>>) -> Self {
        let bar = ProgressBar::new(runtime.as_millis() as u64);
        bar.set_style(
            ProgressStyle::with_template("{elapsed:>4} / {prefix} [{bar:20}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_prefix(format!("{:.0}s", runtime.as_secs_f64()));
        Self { bar, gauges }
    }

    /// Redraws the line, `elapsed` into the run.
    pub(crate) fn show(&self, elapsed: Duration) {
        self.bar.set_position(elapsed.as_millis() as u64);
        self.bar.set_message(vm_states(&self.gauges));
    }

    /// Removes the line, so the summary prints on a clean terminal.
    pub(crate) fn clear(self) {
        self.bar.finish_and_clear();
    }
}

/// `vm1 lc 12 q 0 | vm2 lc 9 q 1 | +3 more`.
fn vm_states(gauges: &[Arc<VmGauges>]) -> String {
    let mut vms: Vec<String> = gauges
        .iter()
        .take(SHOWN_VMS)
        .enumerate()
        .map(|(i, g)| {
            format!(
                "vm{} lc {} q {}",
                i + 1,
                g.clock.load(Ordering::Relaxed),
                g.queued.load(Ordering::Relaxed)
            )
        })
        .collect();
    if gauges.len() > SHOWN_VMS {
        vms.push(format!("+{} more", gauges.len() - SHOWN_VMS));
    }
    vms.join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_each_vms_clock_and_queue_and_counts_the_rest() {
        let gauges: Vec<Arc<VmGauges>> = (0..10).map(|_| Arc::default()).collect();
        gauges[0].clock.store(12, Ordering::Relaxed);
        gauges[1].queued.store(3, Ordering::Relaxed);
        let line = vm_states(&gauges);
        assert!(
            line.starts_with("vm1 lc 12 q 0 | vm2 lc 0 q 3 | vm3"),
            "{line}"
        );
        assert!(line.ends_with("vm8 lc 0 q 0 | +2 more"), "{line}");
    }
}
