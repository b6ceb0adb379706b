//! Running figures of one VM (and of message waits), updated event by event. Pure.
//!
//! Everything here is a sum, a count, a maximum or a bounded histogram, so a VM's figures cost
//! the same memory for ten events as for ten million.

use super::quantile::{Counts, LogHistogram};
use crate::read::record::{Action, Tick};
use lc_core::vm_id::VmId;

/// The figures of one VM, accumulated over its log.
#[derive(Debug, Clone)]
pub(crate) struct VmStats {
    pub(crate) vm: VmId,
    /// The `rate` of the VM's `start` line, if it logged one.
    pub(crate) start_rate: Option<f64>,
    pub(crate) ticks: u64,
    pub(crate) sends: u64,
    /// Messages sent: a send to k recipients counts k.
    pub(crate) messages_sent: u64,
    pub(crate) receives: u64,
    pub(crate) internals: u64,
    /// The clock after the VM's last event.
    pub(crate) final_clock: u64,
    pub(crate) jumps: Counts,
    queue_sum: u64,
    pub(crate) queue_max: u64,
    /// The queue length after the last tick.
    pub(crate) queue_last: u64,
    /// Waits of the messages this VM received.
    pub(crate) waits: Waits,
    /// The `queue` of the VM's `stop` line: messages it never took off its queue.
    pub(crate) left_in_queue: Option<u64>,
    /// The `dropped` of the VM's `stop` line: messages for a lost peer.
    pub(crate) dropped: u64,
    /// The `late_max_us` of the VM's `stop` line: how late its latest tick fired.
    pub(crate) late_max_us: Option<u64>,
    pub(crate) warnings: u64,
    pub(crate) errors: u64,
    pub(crate) malformed: u64,
    /// INFO lines with a message that is not a known event kind.
    pub(crate) unknown: u64,
    pub(crate) first_tick_us: Option<i64>,
    pub(crate) last_tick_us: Option<i64>,
}

impl VmStats {
    pub(crate) fn new(vm: VmId) -> VmStats {
        // Every figure starts at its zero; the id has none, hence no Default.
        VmStats {
            vm,
            start_rate: Default::default(),
            ticks: Default::default(),
            sends: Default::default(),
            messages_sent: Default::default(),
            receives: Default::default(),
            internals: Default::default(),
            final_clock: Default::default(),
            jumps: Default::default(),
            queue_sum: Default::default(),
            queue_max: Default::default(),
            queue_last: Default::default(),
            waits: Default::default(),
            left_in_queue: Default::default(),
            dropped: Default::default(),
            late_max_us: Default::default(),
            warnings: Default::default(),
            errors: Default::default(),
            malformed: Default::default(),
            unknown: Default::default(),
            first_tick_us: Default::default(),
            last_tick_us: Default::default(),
        }
    }

    /// Counts one tick whose clock jumped by `jump`.
    pub(crate) fn tick(&mut self, time_us: i64, tick: &Tick, jump: i64) {
        self.ticks += 1;
        match &tick.action {
            Action::Send { to, .. } => {
                self.sends += 1;
                self.messages_sent += to.len() as u64;
            }
            Action::Receive { .. } => self.receives += 1,
            Action::Internal => self.internals += 1,
        }
        self.final_clock = tick.lc;
        self.jumps.add(jump);
        self.queue_sum += tick.queue;
        self.queue_max = self.queue_max.max(tick.queue);
        self.queue_last = tick.queue;
        self.first_tick_us.get_or_insert(time_us);
        self.last_tick_us = Some(time_us);
    }

    /// Mean queue length after a tick. Ticks are evenly spaced in time, so this is also the
    /// queue length's average over the VM's run.
    pub(crate) fn mean_queue(&self) -> f64 {
        if self.ticks == 0 {
            0.0
        } else {
            self.queue_sum as f64 / self.ticks as f64
        }
    }
}

/// How long messages waited between their send and their receive.
#[derive(Debug, Clone, Default)]
pub(crate) struct Waits {
    sum_us: i128,
    max_us: Option<i64>,
    hist: LogHistogram,
    /// Receives logged before their send (timestamps out of causal order); counted as 0 wait.
    pub(crate) negative: u64,
}

impl Waits {
    pub(crate) fn add(&mut self, wait_us: i64) {
        if wait_us < 0 {
            self.negative += 1;
        }
        let w = wait_us.max(0);
        self.sum_us += i128::from(w);
        self.max_us = Some(self.max_us.map_or(w, |m| m.max(w)));
        self.hist.add(w as u64);
    }

    pub(crate) fn count(&self) -> u64 {
        self.hist.total()
    }

    pub(crate) fn mean_ms(&self) -> f64 {
        match self.count() {
            0 => 0.0,
            n => self.sum_us as f64 / n as f64 / 1000.0,
        }
    }

    pub(crate) fn p95_ms(&self) -> f64 {
        self.hist
            .quantile(0.95)
            .map_or(0.0, |us| us as f64 / 1000.0)
    }

    pub(crate) fn max_ms(&self) -> f64 {
        self.max_us.map_or(0.0, |us| us as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VM id written in a test.
    fn vid(n: u32) -> VmId {
        VmId::literal(n)
    }

    #[test]
    fn counts_kinds_jumps_and_queue() {
        let mut s = VmStats::new(vid(1));
        let ticks = [
            (Action::Internal, 1, 0, 1),
            (
                Action::Send {
                    to: vec![vid(2), vid(3)],
                    seq: 1,
                },
                2,
                2,
                1,
            ),
            (
                Action::Receive {
                    from: vid(2),
                    seq: 1,
                    msg_lc: 9,
                    msg_vc: None,
                },
                10,
                1,
                8,
            ),
        ];
        for (i, (action, lc, queue, jump)) in ticks.into_iter().enumerate() {
            s.tick(
                i as i64,
                &Tick {
                    lc,
                    queue,
                    vc: None,
                    action,
                },
                jump,
            );
        }
        assert_eq!(
            (s.ticks, s.sends, s.messages_sent, s.receives, s.internals),
            (3, 1, 2, 1, 1)
        );
        assert_eq!(s.final_clock, 10);
        assert_eq!(s.jumps.max(), Some(8));
        assert_eq!((s.queue_max, s.queue_last), (2, 1));
        assert!((s.mean_queue() - 1.0).abs() < 1e-12);
        assert_eq!((s.first_tick_us, s.last_tick_us), (Some(0), Some(2)));
    }

    #[test]
    fn waits_in_milliseconds() {
        let mut w = Waits::default();
        for us in [1_000, 3_000, -500] {
            w.add(us);
        }
        assert_eq!(w.count(), 3);
        assert_eq!(w.negative, 1);
        assert!((w.mean_ms() - 4.0 / 3.0).abs() < 1e-9);
        assert_eq!(w.max_ms(), 3.0);
        assert!((w.p95_ms() - 3.0).abs() < 0.05);
    }
}
