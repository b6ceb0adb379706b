//! Event lines handed to the writer thread together, not one by one.
//!
//! Line by line, slog-async boxed every line on the VM's thread and woke
//! the writer for nearly each one: in a real-time run of 3 VMs at 1000
//! ticks/s that futex was an eighth of the actor thread (BENCHMARKS.md,
//! round 2). [`Batching`] gathers them per VM and sends one record each.

use slog::{o, Drain, OwnedKVList, Record, KV};
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::drain::{RoutingKeys, BATCH, EVENT_LINE};

/// Pending event lines, all VMs together, that make [`Batching`] hand them
/// over before their interval is up: the bound on the memory they take.
pub(super) const BATCH_BYTES: usize = 256 * 1024;

/// Gathers event lines on the logging threads and hands them to the writer
/// thread together, one record per VM: once the drain's flush interval
/// after the first of them (so a line waits no longer than it did in the
/// file's buffer), once they pass [`BATCH_BYTES`], before any other line
/// (so every file keeps its order), and when the run's `LogGuard` drops.
pub struct Batching<D> {
    writer: D,
    interval: Duration,
    pending: Mutex<PendingLines>,
    /// The logger values of a batch record: none, its `vm` is its own key.
    no_values: OwnedKVList,
}

#[derive(Default)]
struct PendingLines {
    /// VM `id`'s lines, each ending in its `vm` key and a newline:
    /// `by_vm[id - 1]`. Kept between batches, so their room is reused.
    by_vm: Vec<Vec<u8>>,
    bytes: usize,
    /// When the oldest pending line was logged.
    since: Option<Instant>,
}

/// A line's bytes as a message (every byte the contract's writer writes
/// for an event line is ASCII).
pub(super) struct LineText<'a>(pub(super) &'a [u8]);

impl fmt::Display for LineText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(std::str::from_utf8(self.0).map_err(|_| fmt::Error)?)
    }
}

impl<D: Drain<Ok = (), Err = slog::Never>> Batching<D> {
    pub(super) fn new(writer: D, interval: Duration) -> Self {
        Self {
            writer,
            interval,
            pending: Mutex::new(PendingLines::default()),
            no_values: OwnedKVList::from(o!()),
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, PendingLines> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands every pending line to the writer.
    pub(super) fn hand_over(&self) {
        self.hand_over_pending(&mut self.pending());
    }

    fn hand_over_pending(&self, pending: &mut PendingLines) {
        for (slot, lines) in pending.by_vm.iter_mut().enumerate() {
            if lines.is_empty() {
                continue;
            }
            let vm = slot as u64 + 1;
            let batch = slog::record_static!(slog::Level::Info, BATCH);
            let kv = slog::kv!(lc_contract::line::Key::Vm.name() => vm);
            let _ = self.writer.log(
                &Record::new(
                    &batch,
                    &format_args!("{}", LineText(lines)),
                    slog::BorrowedKV(&kv),
                ),
                &self.no_values,
            );
            lines.clear();
        }
        pending.bytes = 0;
        pending.since = None;
    }
}

impl<D: Drain<Ok = (), Err = slog::Never>> Drain for Batching<D> {
    type Ok = ();
    type Err = slog::Never;

    fn log(&self, record: &Record, values: &OwnedKVList) -> Result<(), slog::Never> {
        let mut pending = self.pending();
        let mut keys = RoutingKeys::default();
        if record.tag() == EVENT_LINE {
            let _ = values.serialize(record, &mut keys);
        }
        let Some(vm) = keys.vm else {
            // Not an event line (or one without its `vm`, which the drain
            // reports): everything before it goes first.
            self.hand_over_pending(&mut pending);
            return self.writer.log(record, values);
        };
        let slot = vm.index();
        if pending.by_vm.len() <= slot {
            pending.by_vm.resize_with(slot + 1, Vec::new);
        }
        let lines = &mut pending.by_vm[slot];
        let before = lines.len();
        let _ = std::io::Write::write_fmt(lines, *record.msg());
        let _ = lc_contract::line::write_vm(lines, None, vm);
        lines.push(b'\n');
        pending.bytes += pending.by_vm[slot].len() - before;
        let since = *pending.since.get_or_insert_with(Instant::now);
        if pending.bytes >= BATCH_BYTES || since.elapsed() >= self.interval {
            self.hand_over_pending(&mut pending);
        }
        Ok(())
    }
}
