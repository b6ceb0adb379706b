//! How a run's lines travel from the logging call to the drain: through
//! slog-async's writer thread (real time) or on the logging thread itself
//! (virtual time).

use slog::{o, Drain, Logger, OwnedKVList, Record};
use std::sync::{Arc, Mutex};

use super::batching::Batching;
use super::drain::RunDrain;

/// Records that may wait in the channel to the writer thread; a full
/// channel makes the logging caller wait, it never drops a line. The
/// channel's slots are allocated and touched up front: 65,536 of them cost
/// about 6 MB of resident memory (the default 3-VM run went from 5.8 MB to
/// 11.7 MB), while 16,384 still cover a second of 16 VMs at 1000 ticks/s.
const CHANNEL_SIZE: usize = 1 << 14;

/// How a run's lines travel from the logging call to [`RunDrain`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Through slog-async's channel to the `log-writer` thread: a VM never
    /// waits on its file, so a slow disk cannot make a tick late. Event
    /// lines go over in batches ([`Batching`]). For real time.
    WriterThread,
    /// Written on the logging thread itself. For virtual time, where no
    /// tick can be late and the hand-off was most of a line's cost: a
    /// record boxed on one thread and freed on the other, and a wake-up of
    /// the writer for nearly every line (BENCHMARKS.md, round 2).
    InPlace,
}

/// Flushes every line when dropped: for [`Delivery::WriterThread`] it hands
/// over the pending batch, then joins the writer thread once the channel is
/// drained; in place, it flushes the files at once. So drop it after the
/// last line: through the writer thread, lines logged afterwards are lost
/// (the supervisor drops it after every `stop`); in place they still reach
/// their files when the last logger is gone.
pub enum LogGuard {
    WriterThread {
        lines: Arc<Batching<WriterThreadDrain>>,
        _writer: slog_async::AsyncGuard,
    },
    InPlace(Arc<Mutex<RunDrain>>),
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        match self {
            // The batch first: the writer thread is joined once the
            // guard's fields drop, after this.
            LogGuard::WriterThread { lines, .. } => lines.hand_over(),
            LogGuard::InPlace(drain) => drain.lock().unwrap_or_else(|e| e.into_inner()).flush_all(),
        }
    }
}

/// slog-async's end of [`Delivery::WriterThread`].
type WriterThreadDrain = slog::IgnoreResult<slog_async::Async>;

/// [`RunDrain`] behind a lock, for loggers on any thread without a writer
/// thread.
struct InPlaceDrain(Arc<Mutex<RunDrain>>);

impl Drain for InPlaceDrain {
    type Ok = ();
    type Err = slog::Never;

    fn log(&self, record: &Record, values: &OwnedKVList) -> Result<(), slog::Never> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .log(record, values)
    }
}

/// The run's root logger and the guard that, when dropped, flushes every
/// line (see [`LogGuard`]).
pub fn run_logger(drain: RunDrain, delivery: Delivery) -> (Logger, LogGuard) {
    match delivery {
        Delivery::WriterThread => {
            let interval = drain.flush_interval;
            let (drain, guard) = slog_async::Async::new(drain)
                .chan_size(CHANNEL_SIZE)
                .overflow_strategy(slog_async::OverflowStrategy::Block)
                .thread_name("log-writer".into())
                .build_with_guard();
            // `ignore_res`, not `fuse`: a record sent after shutdown must not
            // panic the run; the supervisor drops the guard only after every
            // `stop`.
            let lines = Arc::new(Batching::new(drain.ignore_res(), interval));
            (
                Logger::root(lines.clone(), o!()),
                LogGuard::WriterThread {
                    lines,
                    _writer: guard,
                },
            )
        }
        Delivery::InPlace => {
            let drain = Arc::new(Mutex::new(drain));
            (
                Logger::root(InPlaceDrain(drain.clone()), o!()),
                LogGuard::InPlace(drain),
            )
        }
    }
}
