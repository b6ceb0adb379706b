//! The log contract, and the one drain that writes it.
//!
//! Every line of a run is written here: [`log_start`], [`log_event`] and
//! [`log_stop`] are the only places that choose a line's message and keys, so
//! the contract other tools parse lives in one file. slog-term prints a
//! record's keys in reverse order of the macro, then the logger's own `vm`:
//! the macros below list keys backwards so lines read in the natural order.
//!
//! Output flows through a single slog-async channel (blocking, never
//! dropping) into [`RunDrain`], which routes each record to its VM's file by
//! the `vm` key and formats it with slog-term's full format. Event lines, a
//! run's bulk, are the exception: [`log_event`] spells its line out itself
//! ([`push_event_line`]) and hands it over as one message, which the drain
//! writes as it is. slog-term's formatting cost more than a microsecond a
//! line on the writer thread and slog-async boxed every key on the VM's
//! thread; a property test keeps the two spellings byte for byte equal.
//! Those lines cross the channel in batches, one record per VM and flush
//! interval ([`Batching`]), not one each: a wake-up of the writer thread
//! per line cost the VMs' thread more than the line itself. Virtual time
//! skips the channel and writes on the VMs' thread ([`Delivery::InPlace`]).
//! Two details matter for exact timing:
//! - The time of a line is the time of its *event*, captured by the caller
//!   and carried in the record under [`EVENT_TIME_KEY`]. slog-term's own
//!   timestamp hook runs later on the writer thread; here it only prints the
//!   carried time, and the key itself is hidden from the line.
//! - slog-term flushes after every record. The files sit behind a buffer
//!   whose flush is deferred (at most every `flush_interval`, 200 ms by
//!   default, and at shutdown), so a busy run makes one write per buffer,
//!   not one per line. An interval of zero writes every line at once.
//!
//! A write or flush that fails (a full disk) cannot stop the VMs, which
//! keep their books in memory, but it makes the files lie: lines are lost
//! and the last ones are cut mid-line. So every failure is recorded in
//! [`LogFailures`], which the run reads once the drain is gone, and a run
//! with incomplete logs is a failed run.

use lc_contract::timestamp::Rfc3339Cache;
use lc_core::faults::{Edge, Fault, FaultId};
use lc_core::lateness::Lateness;
use lc_core::model::{Event, VmCounters, VmId};
use lc_core::vector_clock::VectorClock;
use slog::{o, Drain, Key, Logger, OwnedKVList, Record, RecordStatic, KV};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The record key that carries an event's time (microseconds since the Unix
/// epoch) from the event to the formatter; never printed.
pub const EVENT_TIME_KEY: &str = "event_time_us";
/// The default longest time a written line may wait in memory before
/// reaching its file while the run is busy; everything is flushed at
/// shutdown.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(200);
/// Records that may wait in the channel to the writer thread; a full
/// channel makes the logging caller wait, it never drops a line. The
/// channel's slots are allocated and touched up front: 65,536 of them cost
/// about 6 MB of resident memory (the default 3-VM run went from 5.8 MB to
/// 11.7 MB), while 16,384 still cover a second of 16 VMs at 1000 ticks/s.
const CHANNEL_SIZE: usize = 1 << 14;

pub use lc_contract::timestamp::{wall_clock_micros, EventTime};

/// The tag of a record whose message is already its whole line but for the
/// logger's own `vm` key, which the drain appends: event lines take this
/// path (see [`push_event_line`]).
const PREFORMATTED: &str = "line";
/// The tag of a record whose message is whole lines of one VM, `vm` key
/// and newlines included, gathered by [`Batching`]: the drain writes it as
/// it is and flushes its file.
const BATCH: &str = "lines";
/// Pending event lines, all VMs together, that make [`Batching`] hand them
/// over before their interval is up: the bound on the memory they take.
const BATCH_BYTES: usize = 256 * 1024;

thread_local! {
    /// The event time of the record being formatted on this thread.
    static FORMATTING_TIME: Cell<EventTime> = const { Cell::new(0) };
}

/// Writes the event time that [`RunDrain`] put aside for this record.
fn write_event_time(out: &mut dyn Write) -> io::Result<()> {
    let micros = FORMATTING_TIME.with(Cell::get);
    let mut text = Vec::with_capacity(32);
    lc_contract::timestamp::push_rfc3339(&mut text, micros as i64);
    out.write_all(&text)
}

type VmFormat = slog_term::FullFormat<slog_term::PlainDecorator<SharedFile>>;

/// What went wrong writing a run's log files: the first error, where it
/// happened, and every file that lost lines. Plain data; the drain builds it
/// on the writer thread through [`LogFailures`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFailure {
    /// The file of the first failed write (`vm-2.log`).
    pub first_file: String,
    /// The error of the first failed write.
    pub first_error: String,
    /// Every file with a failed write, in the order they first failed.
    pub files: Vec<String>,
}

impl LogFailure {
    /// Adds a failed write of `file` to what failed so far. The first error
    /// is the one kept: later ones are usually its echo (the disk is still
    /// full).
    pub fn record(failure: &mut Option<LogFailure>, file: &str, error: &io::Error) {
        let failure = failure.get_or_insert_with(|| LogFailure {
            first_file: file.to_string(),
            first_error: error.to_string(),
            files: Vec::new(),
        });
        if !failure.files.iter().any(|f| f == file) {
            failure.files.push(file.to_string());
        }
    }
}

impl fmt::Display for LogFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "writing {} failed: {}",
            self.first_file, self.first_error
        )?;
        let others: Vec<&str> = self
            .files
            .iter()
            .filter(|file| **file != self.first_file)
            .map(String::as_str)
            .collect();
        if !others.is_empty() {
            write!(f, "; {} lost lines too", others.join(", "))?;
        }
        Ok(())
    }
}

/// The run's log-write failures, shared between the drain, which records
/// them on the writer thread, and the run, which reads them once the drain
/// has been dropped (its guard joins the writer thread, so by then every
/// line has had its last flush).
#[derive(Debug, Clone, Default)]
pub struct LogFailures(Arc<Mutex<Option<LogFailure>>>);

impl LogFailures {
    fn record(&self, file: &str, error: &io::Error) {
        let mut failure = self.0.lock().unwrap_or_else(|e| e.into_inner());
        LogFailure::record(&mut failure, file, error);
    }

    /// What failed so far; `None` while every line reached its file.
    pub fn get(&self) -> Option<LogFailure> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A buffered log file shared by its formatter, which writes lines, and
/// [`RunDrain`], which decides when they reach the disk. Its `flush` is a
/// no-op because slog-term flushes after every line, which would cost one
/// syscall per event. Only the writer thread ever touches it.
#[derive(Clone)]
struct SharedFile(Arc<Mutex<BufWriter<File>>>);

impl Write for SharedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.lock().write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.lock().write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl SharedFile {
    fn lock(&self) -> std::sync::MutexGuard<'_, BufWriter<File>> {
        // A poisoned lock only means another formatter panicked mid-line;
        // the buffer itself is still usable.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn flush_now(&self) -> io::Result<()> {
        self.lock().flush()
    }
}

/// The run's single collecting drain: one formatter and file per VM.
pub struct RunDrain {
    /// Where VM `id`'s file is among the others: `slots[id - 1]`.
    slots: Vec<Option<usize>>,
    formats: Vec<VmFormat>,
    files: Vec<SharedFile>,
    /// Each file's name, to say which one failed.
    names: Vec<String>,
    last_flush: Mutex<Instant>,
    flush_interval: Duration,
    /// Event lines written in place since the clock was last read for
    /// [`flush_when_due`](Self::flush_when_due) (see [`CLOCK_READ_EVERY`]).
    lines_unchecked: AtomicU32,
    failures: LogFailures,
}

/// Written in place (virtual time), event lines come a microsecond apart:
/// the drain reads the real clock to see whether a flush is due only every
/// this many of them, which cost it 5% of a virtual run's time when it read
/// it for each. A flush is then late by at most this many lines, and the
/// last lines are flushed when the run's [`LogGuard`] drops.
const CLOCK_READ_EVERY: u32 = 64;

impl RunDrain {
    /// Creates `vm-<id>.log` for ids `1..=vm_count` in `dir`; lines reach
    /// the disk at least every `flush_interval` (zero: after every line),
    /// event lines written in place at most [`CLOCK_READ_EVERY`] lines later.
    pub fn create(dir: &Path, vm_count: u32, flush_interval: Duration) -> io::Result<Self> {
        Self::create_for(dir, 1..=vm_count, flush_interval)
    }

    /// Creates `vm-<id>.log` in `dir` for the VMs of this process only (a
    /// node of a cluster has one).
    pub fn create_for(
        dir: &Path,
        vms: impl IntoIterator<Item = VmId>,
        flush_interval: Duration,
    ) -> io::Result<Self> {
        let mut slots = Vec::new();
        let mut formats = Vec::new();
        let mut files = Vec::new();
        let mut names = Vec::new();
        for id in vms {
            let slot = id as usize - 1;
            if slots.len() <= slot {
                slots.resize(slot + 1, None);
            }
            slots[slot] = Some(files.len());
            let name = lc_contract::vm_log::file_name(id, lc_contract::vm_log::Storage::Plain);
            let file = File::create(dir.join(&name))?;
            names.push(name);
            let shared = SharedFile(Arc::new(Mutex::new(BufWriter::with_capacity(
                64 * 1024,
                file,
            ))));
            let decorator = slog_term::PlainDecorator::new(shared.clone());
            formats.push(
                slog_term::FullFormat::new(decorator)
                    .use_custom_timestamp(write_event_time)
                    .build(),
            );
            files.push(shared);
        }
        Ok(Self {
            slots,
            formats,
            files,
            names,
            last_flush: Mutex::new(Instant::now()),
            flush_interval,
            lines_unchecked: AtomicU32::new(0),
            failures: LogFailures::default(),
        })
    }

    /// Where this drain records its failed writes; read it after the drain
    /// is dropped (see [`LogFailures`]).
    pub fn failures(&self) -> LogFailures {
        self.failures.clone()
    }

    /// Flushes every file, each one even when another fails, so a file
    /// that can still be written loses nothing.
    fn flush_all(&self) {
        for (index, file) in self.files.iter().enumerate() {
            if let Err(e) = file.flush_now() {
                self.failures.record(&self.names[index], &e);
            }
        }
    }
}

impl Drop for RunDrain {
    fn drop(&mut self) {
        self.flush_all();
    }
}

/// Finds the `vm` and event-time keys of a record.
#[derive(Default)]
struct RoutingKeys {
    vm: Option<u64>,
    time: Option<EventTime>,
}

impl slog::Serializer for RoutingKeys {
    fn emit_arguments(&mut self, _key: Key, _val: &fmt::Arguments<'_>) -> slog::Result {
        Ok(())
    }
    fn emit_u32(&mut self, key: Key, val: u32) -> slog::Result {
        self.emit_u64(key, val.into())
    }
    fn emit_u64(&mut self, key: Key, val: u64) -> slog::Result {
        match key {
            "vm" => self.vm = Some(val),
            EVENT_TIME_KEY => self.time = Some(val),
            _ => {}
        }
        Ok(())
    }
}

/// A record's key-value pairs without the event-time key.
struct WithoutEventTime<'a>(&'a dyn KV);

impl KV for WithoutEventTime<'_> {
    fn serialize(&self, record: &Record, serializer: &mut dyn slog::Serializer) -> slog::Result {
        self.0.serialize(record, &mut SkipEventTime(serializer))
    }
}

struct SkipEventTime<'a>(&'a mut dyn slog::Serializer);

impl slog::Serializer for SkipEventTime<'_> {
    fn emit_arguments(&mut self, key: Key, val: &fmt::Arguments<'_>) -> slog::Result {
        self.0.emit_arguments(key, val)
    }
    fn emit_u64(&mut self, key: Key, val: u64) -> slog::Result {
        if key == EVENT_TIME_KEY {
            return Ok(());
        }
        self.0.emit_u64(key, val)
    }
    fn emit_u32(&mut self, key: Key, val: u32) -> slog::Result {
        self.0.emit_u32(key, val)
    }
    fn emit_usize(&mut self, key: Key, val: usize) -> slog::Result {
        self.0.emit_usize(key, val)
    }
    fn emit_str(&mut self, key: Key, val: &str) -> slog::Result {
        self.0.emit_str(key, val)
    }
}

impl Drain for RunDrain {
    type Ok = ();
    type Err = slog::Never;

    fn log(&self, record: &Record, values: &OwnedKVList) -> Result<(), slog::Never> {
        let mut keys = RoutingKeys::default();
        let _ = record.kv().serialize(record, &mut keys);
        let _ = values.serialize(record, &mut keys);
        let Some(index) = keys
            .vm
            .and_then(|vm| usize::try_from(vm).ok()?.checked_sub(1))
            .and_then(|slot| *self.slots.get(slot)?)
        else {
            // Every contract line carries `vm`; anything else is a bug in
            // this crate, so say so instead of writing it nowhere.
            // (Not `eprintln!`, which panics on a closed stderr.)
            let _ = writeln!(
                io::stderr(),
                "warning: log record without a valid vm key: {}",
                record.msg()
            );
            return Ok(());
        };
        if record.tag() == BATCH {
            let file = &self.files[index];
            let written = file.lock().write_fmt(*record.msg());
            if let Err(e) = written.and_then(|()| file.flush_now()) {
                self.failures.record(&self.names[index], &e);
            }
            return Ok(());
        }
        if record.tag() == PREFORMATTED {
            let written = write_preformatted(&self.files[index], record.msg(), keys.vm);
            if let Err(e) = written {
                self.failures.record(&self.names[index], &e);
            }
            let unchecked = self.lines_unchecked.fetch_add(1, Ordering::Relaxed) + 1;
            if unchecked >= CLOCK_READ_EVERY || self.flush_interval.is_zero() {
                self.lines_unchecked.store(0, Ordering::Relaxed);
                self.flush_when_due();
            }
            return Ok(());
        }
        FORMATTING_TIME.with(|t| t.set(keys.time.unwrap_or_else(wall_clock_micros)));
        let kv = WithoutEventTime(&record.kv());
        let rstatic = RecordStatic {
            location: record.location(),
            tag: record.tag(),
            level: record.level(),
        };
        let stripped = Record::new(&rstatic, record.msg(), slog::BorrowedKV(&kv));
        if let Err(e) = self.formats[index].log(&stripped, values) {
            self.failures.record(&self.names[index], &e);
        }
        self.flush_when_due();
        Ok(())
    }
}

impl RunDrain {
    /// Flushes every file if the last flush is `flush_interval` old.
    fn flush_when_due(&self) {
        let mut last_flush = self.last_flush.lock().unwrap_or_else(|e| e.into_inner());
        if last_flush.elapsed() >= self.flush_interval {
            *last_flush = Instant::now();
            self.flush_all();
        }
    }
}

/// Writes a preformatted line and the `vm` key slog-term would have put
/// last.
fn write_preformatted(
    file: &SharedFile,
    line: &fmt::Arguments<'_>,
    vm: Option<u64>,
) -> io::Result<()> {
    let mut file = file.lock();
    file.write_fmt(*line)?;
    if let Some(vm) = vm {
        file.write_all(b", vm: ")?;
        file.write_all(itoa::Buffer::new().format(vm).as_bytes())?;
    }
    file.write_all(b"\n")
}

/// Stamps events with the time they happen: a wall-clock epoch taken once,
/// plus the run clock's (tokio's) elapsed time since then. Stamps are
/// therefore monotonic within a run, and they follow tokio's clock
/// wherever it goes.
#[derive(Debug, Clone, Copy)]
pub struct EventClock {
    epoch: EventTime,
    origin: actix::clock::Instant,
}

impl EventClock {
    /// A clock that reads `epoch` now.
    pub fn starting_at(epoch: EventTime) -> Self {
        Self {
            epoch,
            origin: actix::clock::Instant::now(),
        }
    }

    /// A clock that follows the system's wall clock from now on.
    pub fn wall() -> Self {
        Self::starting_at(wall_clock_micros())
    }

    /// The current event time.
    pub fn now(&self) -> EventTime {
        self.at(actix::clock::Instant::now())
    }

    /// The event time of `instant` (of the run clock): for a caller that has
    /// just read the clock, so one instant serves its lateness, its line and
    /// its messages' send stamps alike.
    pub fn at(&self, instant: actix::clock::Instant) -> EventTime {
        self.epoch + instant.saturating_duration_since(self.origin).as_micros() as EventTime
    }
}

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

/// Gathers event lines on the logging threads and hands them to the writer
/// thread together, one record per VM: once [`RunDrain`]'s flush interval
/// after the first of them (so a line waits no longer than it did in the
/// file's buffer), once they pass [`BATCH_BYTES`], before any other line
/// (so every file keeps its order), and when the run's [`LogGuard`] drops.
/// Line by line, slog-async boxed every line on the VM's thread and woke
/// the writer for nearly each one: in a real-time run of 3 VMs at 1000
/// ticks/s that futex was an eighth of the actor thread (BENCHMARKS.md,
/// round 2).
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
    by_vm: Vec<String>,
    bytes: usize,
    /// When the oldest pending line was logged.
    since: Option<Instant>,
}

impl<D: Drain<Ok = (), Err = slog::Never>> Batching<D> {
    fn new(writer: D, interval: Duration) -> Self {
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
    fn hand_over(&self) {
        self.hand_over_pending(&mut self.pending());
    }

    fn hand_over_pending(&self, pending: &mut PendingLines) {
        for (slot, lines) in pending.by_vm.iter_mut().enumerate() {
            if lines.is_empty() {
                continue;
            }
            let vm = slot as u64 + 1;
            let batch = slog::record_static!(slog::Level::Info, BATCH);
            let kv = slog::kv!("vm" => vm);
            let _ = self.writer.log(
                &Record::new(&batch, &format_args!("{lines}"), slog::BorrowedKV(&kv)),
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
        if record.tag() == PREFORMATTED {
            let _ = values.serialize(record, &mut keys);
        }
        let slot = keys
            .vm
            .and_then(|vm| usize::try_from(vm).ok()?.checked_sub(1));
        let Some(slot) = slot else {
            // Not an event line (or one without its `vm`, which the drain
            // reports): everything before it goes first.
            self.hand_over_pending(&mut pending);
            return self.writer.log(record, values);
        };
        if pending.by_vm.len() <= slot {
            pending.by_vm.resize_with(slot + 1, String::new);
        }
        let lines = &mut pending.by_vm[slot];
        let before = lines.len();
        let _ = fmt::Write::write_fmt(lines, *record.msg());
        lines.push_str(", vm: ");
        lines.push_str(itoa::Buffer::new().format(slot + 1));
        lines.push('\n');
        pending.bytes += pending.by_vm[slot].len() - before;
        let since = *pending.since.get_or_insert_with(Instant::now);
        if pending.bytes >= BATCH_BYTES || since.elapsed() >= self.interval {
            self.hand_over_pending(&mut pending);
        }
        Ok(())
    }
}

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

/// The logger of one VM: every line it writes carries `vm`.
pub fn vm_logger(root: &Logger, vm: VmId) -> Logger {
    root.new(o!("vm" => vm))
}

/// Appends `, key: value`, as slog-term writes a key.
fn push_key(line: &mut Vec<u8>, key: &str, value: impl itoa::Integer) {
    line.extend_from_slice(b", ");
    line.extend_from_slice(key.as_bytes());
    line.extend_from_slice(b": ");
    line.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// Appends `, key: 1 2 3`: the contract writes a list (`to`, `vc`) as
/// space-separated numbers.
fn push_list<T: itoa::Integer + Copy>(line: &mut Vec<u8>, key: &str, items: &[T]) {
    line.extend_from_slice(b", ");
    line.extend_from_slice(key.as_bytes());
    line.extend_from_slice(b": ");
    let mut digits = itoa::Buffer::new();
    for (i, &item) in items.iter().enumerate() {
        if i > 0 {
            line.push(b' ');
        }
        line.extend_from_slice(digits.format(item).as_bytes());
    }
}

/// Appends an event's line, all of it but the `vm` key the drain adds:
/// `2026-11-25T17:09:39.802378Z INFO send, to: 2 3, seq: 4, queue: 0,
/// lc: 17, vc: 2 4 2`. The keys and their order are the contract's, as
/// slog-term would print them (a test holds the two equal). `times` keeps
/// the date and time of the second of the line before.
pub fn push_event_line(
    line: &mut Vec<u8>,
    times: &mut Rfc3339Cache,
    at: EventTime,
    event: &Event,
    queue: u64,
    vc: Option<&VectorClock>,
) {
    times.push(line, at as i64);
    match event {
        Event::Send { to, seq, lc, .. } => {
            line.extend_from_slice(b" INFO send");
            push_list(line, "to", to);
            push_key(line, "seq", *seq);
            push_key(line, "queue", queue);
            push_key(line, "lc", *lc);
        }
        Event::Receive {
            from,
            seq,
            msg_lc,
            lc,
            ..
        } => {
            line.extend_from_slice(b" INFO receive");
            push_key(line, "from", *from);
            push_key(line, "seq", *seq);
            push_key(line, "msg_lc", *msg_lc);
            push_key(line, "queue", queue);
            push_key(line, "lc", *lc);
        }
        Event::Internal { lc } => {
            line.extend_from_slice(b" INFO internal");
            push_key(line, "queue", queue);
            push_key(line, "lc", *lc);
        }
    }
    if let Some(vc) = vc {
        push_list(line, "vc", vc.entries());
    }
}

/// A line's bytes as a message (every byte [`push_event_line`] writes is
/// ASCII).
struct LineText<'a>(&'a [u8]);

impl fmt::Display for LineText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(std::str::from_utf8(self.0).map_err(|_| fmt::Error)?)
    }
}

thread_local! {
    /// Where a VM's thread spells out its event lines, reused from line to
    /// line, with the second its lines were last in.
    static LINE: RefCell<(Vec<u8>, Rfc3339Cache)> = RefCell::new(Default::default());
}

/// `start`: the VM's rate, listening address, and when its first tick
/// falls after the start (`phase_ms`, to the nanosecond).
pub fn log_start(log: &Logger, at: EventTime, rate: u32, addr: &str, first_tick: Duration) {
    let phase_ms = format!("{:.6}", first_tick.as_nanos() as f64 / 1e6);
    slog::info!(log, "start"; EVENT_TIME_KEY => at, "addr" => addr, "phase_ms" => phase_ms, "rate" => rate);
}

/// `send`, `receive` or `internal`, with the clocks after the event (`lc`,
/// and `vc` when the run keeps vector clocks: `vc` is the VM's vector clock
/// after `event`) and the messages still waiting in the VM's queue.
pub fn log_event(log: &Logger, at: EventTime, event: &Event, queue: u64, vc: Option<&VectorClock>) {
    let log_line = |(line, times): &mut (Vec<u8>, Rfc3339Cache)| {
        line.clear();
        push_event_line(line, times, at, event, queue, vc);
        slog::info!(log, #PREFORMATTED, "{}", LineText(line));
    };
    LINE.with(|line| match line.try_borrow_mut() {
        Ok(mut line) => log_line(&mut line),
        // Only a drain that logs an event while it writes one gets here.
        Err(_) => log_line(&mut Default::default()),
    });
}

/// A fault's own keys, in the order a line shows them: its number, its
/// kind, its parameters as the settings write them.
struct FaultKeys<'a>(FaultId, &'a Fault);

impl KV for FaultKeys<'_> {
    fn serialize(&self, _: &Record, serializer: &mut dyn slog::Serializer) -> slog::Result {
        serializer.emit_usize("fault", self.0)?;
        serializer.emit_str("kind", self.1.kind())?;
        for (key, value) in self.1.parameters() {
            serializer.emit_str(key, &value)?;
        }
        Ok(())
    }
}

/// An optional count: the key with its value, or no key at all.
struct OptionalCount(&'static str, Option<u64>);

impl KV for OptionalCount {
    fn serialize(&self, _: &Record, serializer: &mut dyn slog::Serializer) -> slog::Result {
        match self.1 {
            Some(n) => serializer.emit_u64(self.0, n),
            None => Ok(()),
        }
    }
}

/// What a `fault_start` or `fault_end` line reports besides the fault.
pub struct FaultLine<'a> {
    pub edge: Edge,
    pub id: FaultId,
    pub fault: &'a Fault,
    /// A crash's end only: the messages the VM lost while down.
    pub lost: Option<u64>,
    pub queue: u64,
    /// The VM's clock at that instant (after a reset, the one it restarts with).
    pub lc: u64,
}

/// `fault_start` or `fault_end`: a fault begins or ends on this VM, with
/// the fault's number, kind and parameters, the VM's queue and clock then.
pub fn log_fault(log: &Logger, at: EventTime, line: &FaultLine) {
    let name = match line.edge {
        Edge::Start => "fault_start",
        Edge::End => "fault_end",
    };
    slog::info!(log, "{}", name;
        EVENT_TIME_KEY => at, "lc" => line.lc, "queue" => line.queue,
        OptionalCount("lost", line.lost), FaultKeys(line.id, line.fault));
}

/// `dropped_by_fault: 1=3 3=14`, or no key when no fault dropped anything.
struct DroppedByFault<'a>(&'a BTreeMap<FaultId, u64>);

impl KV for DroppedByFault<'_> {
    fn serialize(&self, _: &Record, serializer: &mut dyn slog::Serializer) -> slog::Result {
        if self.0.is_empty() {
            return Ok(());
        }
        let text: Vec<String> = self.0.iter().map(|(f, n)| format!("{f}={n}")).collect();
        serializer.emit_str("dropped_by_fault", &text.join(" "))
    }
}

/// What a `stop` line reports.
pub struct StopLine<'a> {
    pub counters: &'a VmCounters,
    /// Messages never taken from the queue.
    pub queue: u64,
    /// Messages that ended at this VM's side untaken (see
    /// [`lc_core::accounting::VmReport::dropped`]).
    pub dropped: u64,
    /// The part of `dropped` owed to each fault.
    pub dropped_by_fault: &'a BTreeMap<FaultId, u64>,
    /// The final clock.
    pub lc: u64,
    pub lateness: &'a Lateness,
    /// Send event to mailbox, for the messages this VM received.
    pub transit: &'a Lateness,
}

/// `stop`: the VM's totals, what it left and dropped, how late its ticks
/// fired and how long its messages took to arrive (p50, p99 and max, µs).
pub fn log_stop(log: &Logger, at: EventTime, stop: &StopLine) {
    let counters = stop.counters;
    slog::info!(log, "stop";
        EVENT_TIME_KEY => at,
        "transit_max_us" => stop.transit.max_us(),
        "transit_p99_us" => stop.transit.quantile_us(0.99),
        "transit_p50_us" => stop.transit.quantile_us(0.5),
        "late_max_us" => stop.lateness.max_us(),
        "late_p99_us" => stop.lateness.quantile_us(0.99),
        "late_p50_us" => stop.lateness.quantile_us(0.5),
        "lc" => stop.lc, DroppedByFault(stop.dropped_by_fault), "dropped" => stop.dropped,
        "queue" => stop.queue,
        "internal" => counters.internal,
        "received" => counters.received, "sent" => counters.sent, "ticks" => counters.ticks);
}

/// A free-form message made safe for the contract: `, ` separates keys, so
/// it may not appear inside a message.
fn one_field(what: &str) -> String {
    what.replace(", ", "; ").replace('\n', " ")
}

/// A WARN line in a VM's file.
pub fn log_warning(log: &Logger, at: EventTime, what: &str) {
    slog::warn!(log, "{}", one_field(what); EVENT_TIME_KEY => at);
}

/// An ERRO line in a VM's file.
pub fn log_error(log: &Logger, at: EventTime, what: &str) {
    slog::error!(log, "{}", one_field(what); EVENT_TIME_KEY => at);
}

#[cfg(test)]
mod tests {
    use super::*;
    use lc_core::model::Event;

    fn lines_of(dir: &Path, vm: VmId) -> Vec<String> {
        std::fs::read_to_string(dir.join(format!("vm-{vm}.log")))
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    }

    #[test]
    fn lines_follow_the_contract_and_route_by_vm() {
        for delivery in [Delivery::WriterThread, Delivery::InPlace] {
            lines_follow_the_contract_and_route_by_vm_with(delivery);
        }
    }

    fn lines_follow_the_contract_and_route_by_vm_with(delivery: Delivery) {
        let dir = tempfile::tempdir().unwrap();
        let (root, guard) = run_logger(
            RunDrain::create(dir.path(), 2, FLUSH_INTERVAL).unwrap(),
            delivery,
        );
        let one = vm_logger(&root, 1);
        let two = vm_logger(&root, 2);
        // 2026-11-25T17:09:39.802378Z
        let at = 1_795_626_579_802_378;
        let send = Event::Send {
            to: vec![2, 3],
            seq: 4,
            lc: 17,
            vc: Vec::new(),
        };
        // VM 1 of 3 after a receive of [0, 4, 2] and a send.
        let mut vc = VectorClock::new(1, 3);
        vc.receive(&[0, 4, 2]);
        vc.tick();
        log_event(&one, at, &send, 0, Some(&vc));
        log_event(&two, at + 1, &Event::Internal { lc: 1 }, 2, None);
        let receive = Event::Receive {
            from: 1,
            seq: 4,
            msg_lc: 17,
            lc: 18,
            jump: 17,
        };
        log_event(&two, at + 2, &receive, 0, Some(&vc));
        drop(guard);

        assert_eq!(
            lines_of(dir.path(), 1),
            [
                "2026-11-25T17:09:39.802378Z INFO send, to: 2 3, seq: 4, queue: 0, lc: 17, \
                 vc: 2 4 2, vm: 1"
            ]
        );
        assert_eq!(
            lines_of(dir.path(), 2),
            [
                "2026-11-25T17:09:39.802379Z INFO internal, queue: 2, lc: 1, vm: 2",
                "2026-11-25T17:09:39.802380Z INFO receive, from: 1, seq: 4, msg_lc: 17, \
                 queue: 0, lc: 18, vc: 2 4 2, vm: 2"
            ]
        );
    }

    /// An event line as slog-term writes it from the contract's keys, as
    /// every line was written before event lines were spelled out by hand:
    /// the reference [`push_event_line`] must match byte for byte.
    mod through_slog_term {
        use super::*;

        struct List<'a, T>(&'a [T]);

        impl<T: itoa::Integer + Copy> slog::Value for List<'_, T> {
            fn serialize(
                &self,
                _: &Record,
                key: Key,
                serializer: &mut dyn slog::Serializer,
            ) -> slog::Result {
                let mut text = String::new();
                let mut digits = itoa::Buffer::new();
                for (i, &item) in self.0.iter().enumerate() {
                    if i > 0 {
                        text.push(' ');
                    }
                    text.push_str(digits.format(item));
                }
                serializer.emit_str(key, &text)
            }
        }

        struct Vc<'a>(Option<&'a VectorClock>);

        impl KV for Vc<'_> {
            fn serialize(
                &self,
                record: &Record,
                serializer: &mut dyn slog::Serializer,
            ) -> slog::Result {
                match self.0 {
                    Some(vc) => {
                        slog::Value::serialize(&List(vc.entries()), record, "vc", serializer)
                    }
                    None => Ok(()),
                }
            }
        }

        pub fn log_event(
            log: &Logger,
            at: EventTime,
            event: &Event,
            queue: u64,
            vc: Option<&VectorClock>,
        ) {
            let vc = Vc(vc);
            match event {
                Event::Send { to, seq, lc, .. } => slog::info!(log, "send";
                    EVENT_TIME_KEY => at, vc, "lc" => lc, "queue" => queue, "seq" => seq,
                    "to" => List(to)),
                Event::Receive {
                    from,
                    seq,
                    msg_lc,
                    lc,
                    ..
                } => slog::info!(log, "receive";
                    EVENT_TIME_KEY => at, vc, "lc" => lc, "queue" => queue, "msg_lc" => msg_lc,
                    "seq" => seq, "from" => from),
                Event::Internal { lc } => slog::info!(log, "internal";
                    EVENT_TIME_KEY => at, vc, "lc" => lc, "queue" => queue),
            }
        }
    }

    fn any_event() -> impl proptest::strategy::Strategy<Value = Event> {
        use proptest::prelude::*;
        prop_oneof![
            (
                prop::collection::vec(1..=64u32, 1..4),
                any::<u64>(),
                any::<u64>()
            )
                .prop_map(|(to, seq, lc)| Event::Send {
                    to,
                    seq,
                    lc,
                    vc: Vec::new()
                }),
            (1..=64u32, any::<u64>(), any::<u64>(), any::<u64>()).prop_map(
                |(from, seq, msg_lc, lc)| Event::Receive {
                    from,
                    seq,
                    msg_lc,
                    lc,
                    jump: 0
                }
            ),
            any::<u64>().prop_map(|lc| Event::Internal { lc }),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Every event line written by hand is the line slog-term writes
        /// from the same keys, in either delivery, times from the epoch to
        /// the year 9999.
        #[test]
        fn event_lines_spelled_out_match_slog_term(
            lines in proptest::collection::vec(
                (0..253_402_300_799_999_999u64, any_event(), proptest::prelude::any::<u64>(),
                 proptest::option::of(proptest::collection::vec(proptest::prelude::any::<u64>(), 1..17))),
                1..20),
            in_place in proptest::prelude::any::<bool>(),
            vm in 1..=3u32,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let delivery = if in_place { Delivery::InPlace } else { Delivery::WriterThread };
            let (root, guard) = run_logger(RunDrain::create(dir.path(), 3, FLUSH_INTERVAL).unwrap(), delivery);
            let log = vm_logger(&root, vm);
            for (at, event, queue, vc) in &lines {
                let vc = vc.as_ref().map(|entries| {
                    let mut clock = VectorClock::new(1, entries.len() as u32);
                    clock.receive(entries);
                    clock
                });
                log_event(&log, *at, event, *queue, vc.as_ref());
                through_slog_term::log_event(&log, *at, event, *queue, vc.as_ref());
            }
            drop(guard);
            let written = lines_of(dir.path(), vm);
            proptest::prop_assert_eq!(written.len(), 2 * lines.len());
            for pair in written.chunks(2) {
                proptest::prop_assert_eq!(&pair[0], &pair[1]);
            }
        }
    }

    #[test]
    fn warnings_never_break_the_key_separator() {
        let dir = tempfile::tempdir().unwrap();
        let (root, guard) = run_logger(
            RunDrain::create(dir.path(), 1, FLUSH_INTERVAL).unwrap(),
            Delivery::WriterThread,
        );
        log_warning(
            &vm_logger(&root, 1),
            0,
            "bad frame Data { from: 2, seq: 0 }\nand more",
        );
        drop(guard);
        let lines = lines_of(dir.path(), 1);
        assert_eq!(
            lines,
            ["1970-01-01T00:00:00.000000Z WARN bad frame Data { from: 2; seq: 0 } and more, vm: 1"]
        );
    }

    #[test]
    fn a_log_failure_keeps_the_first_error_and_every_file() {
        let full = io::Error::from(io::ErrorKind::StorageFull);
        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        let mut failure = None;
        LogFailure::record(&mut failure, "vm-2.log", &full);
        LogFailure::record(&mut failure, "vm-2.log", &full);
        LogFailure::record(&mut failure, "vm-1.log", &denied);
        let failure = failure.unwrap();
        assert_eq!(failure.first_file, "vm-2.log");
        assert_eq!(failure.first_error, full.to_string());
        assert_eq!(failure.files, ["vm-2.log", "vm-1.log"]);
        assert_eq!(
            failure.to_string(),
            format!("writing vm-2.log failed: {full}; vm-1.log lost lines too")
        );
    }

    #[test]
    fn a_log_failure_in_one_file_names_only_that_file() {
        let mut failure = None;
        LogFailure::record(&mut failure, "vm-3.log", &io::Error::other("no space left"));
        assert_eq!(
            failure.unwrap().to_string(),
            "writing vm-3.log failed: no space left"
        );
    }

    #[test]
    fn a_drain_that_writes_every_line_records_no_failure() {
        let dir = tempfile::tempdir().unwrap();
        let drain = RunDrain::create(dir.path(), 1, FLUSH_INTERVAL).unwrap();
        let failures = drain.failures();
        let (root, guard) = run_logger(drain, Delivery::WriterThread);
        log_event(&vm_logger(&root, 1), 1, &Event::Internal { lc: 1 }, 0, None);
        drop(guard);
        assert_eq!(failures.get(), None);
    }

    /// `/dev/full` fails every write with "No space left on device": a full
    /// disk for one file. Written at once (interval zero) the line fails
    /// while the run goes on; buffered (the default) it fails in the last
    /// flush, when the drain is dropped.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_drain_on_a_full_disk_records_the_failure_for_the_run() {
        for (interval, delivery) in [
            (Duration::ZERO, Delivery::WriterThread),
            (FLUSH_INTERVAL, Delivery::WriterThread),
            (Duration::ZERO, Delivery::InPlace),
            (FLUSH_INTERVAL, Delivery::InPlace),
        ] {
            let dir = tempfile::tempdir().unwrap();
            std::os::unix::fs::symlink("/dev/full", dir.path().join("vm-2.log")).unwrap();
            let drain = RunDrain::create(dir.path(), 2, interval).unwrap();
            let failures = drain.failures();
            let (root, guard) = run_logger(drain, delivery);
            for vm in [1, 2] {
                log_event(
                    &vm_logger(&root, vm),
                    1,
                    &Event::Internal { lc: 1 },
                    0,
                    None,
                );
            }
            drop(guard);
            let failure = failures.get().expect("the failed writes are recorded");
            assert_eq!(failure.first_file, "vm-2.log");
            assert_eq!(failure.files, ["vm-2.log"], "vm-1.log was written");
            assert!(
                failure.first_error.contains("No space left on device"),
                "{failure:?}"
            );
            assert_eq!(lines_of(dir.path(), 1).len(), 1);
        }
    }

    /// Waits, at most ten seconds, until VM 1's file holds `count` lines
    /// while the run goes on, and returns them.
    fn wait_for_lines(dir: &Path, count: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let lines = lines_of(dir, 1);
            if lines.len() >= count || Instant::now() > deadline {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn batched_event_lines_reach_the_file_before_the_run_ends() {
        // Interval zero: every line at once (`tail -f` sees it).
        let dir = tempfile::tempdir().unwrap();
        let (root, guard) = run_logger(
            RunDrain::create(dir.path(), 1, Duration::ZERO).unwrap(),
            Delivery::WriterThread,
        );
        let log = vm_logger(&root, 1);
        log_event(&log, 1, &Event::Internal { lc: 1 }, 0, None);
        assert_eq!(wait_for_lines(dir.path(), 1).len(), 1, "the line waited");
        log_event(&log, 2, &Event::Internal { lc: 2 }, 0, None);
        assert_eq!(wait_for_lines(dir.path(), 2).len(), 2, "the second waited");
        drop(guard);

        // An interval of an hour: the lines wait for the next other line,
        // which they precede, or for their bound in bytes.
        let dir = tempfile::tempdir().unwrap();
        let (root, guard) = run_logger(
            RunDrain::create(dir.path(), 1, Duration::from_secs(3600)).unwrap(),
            Delivery::WriterThread,
        );
        let log = vm_logger(&root, 1);
        log_event(&log, 1, &Event::Internal { lc: 1 }, 0, None);
        log_warning(&log, 2, "a warning");
        let lines = wait_for_lines(dir.path(), 1);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].ends_with("INFO internal, queue: 0, lc: 1, vm: 1"));
        let before_the_bound = (1..).take_while(|lc| lc * 50 < BATCH_BYTES as u64);
        let mut logged = 1;
        for lc in before_the_bound.chain(1..=100) {
            log_event(&log, 3, &Event::Internal { lc }, 0, None);
            logged += 1;
        }
        assert!(wait_for_lines(dir.path(), logged / 2).len() >= logged / 2);
        drop(guard);
        let lines = lines_of(dir.path(), 1);
        assert_eq!(lines.len(), logged + 1);
        assert!(lines[1].ends_with("WARN a warning, vm: 1"), "{lines:?}");
        assert!(lines[2].ends_with("INFO internal, queue: 0, lc: 1, vm: 1"));
    }

    #[test]
    fn in_place_lines_are_flushed_within_a_bounded_count_of_lines_once_due() {
        let dir = tempfile::tempdir().unwrap();
        let interval = Duration::from_millis(1);
        let (root, guard) = run_logger(
            RunDrain::create(dir.path(), 1, interval).unwrap(),
            Delivery::InPlace,
        );
        let log = vm_logger(&root, 1);
        log_event(&log, 1, &Event::Internal { lc: 1 }, 0, None);
        std::thread::sleep(interval * 10);
        // Due now, but the drain reads the clock only every
        // `CLOCK_READ_EVERY` lines: they stay in its buffer until the last.
        for lc in 2..CLOCK_READ_EVERY as u64 {
            log_event(&log, lc, &Event::Internal { lc }, 0, None);
        }
        assert_eq!(lines_of(dir.path(), 1).len(), 0, "flushed before the count");
        log_event(&log, 100, &Event::Internal { lc: 100 }, 0, None);
        assert_eq!(
            lines_of(dir.path(), 1).len(),
            CLOCK_READ_EVERY as usize,
            "the line that completes the count flushes every line"
        );
        drop(guard);
    }

    #[test]
    fn a_flood_of_lines_is_never_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (root, guard) = run_logger(
            RunDrain::create(dir.path(), 1, FLUSH_INTERVAL).unwrap(),
            Delivery::WriterThread,
        );
        let log = vm_logger(&root, 1);
        let mut vc = VectorClock::new(1, 16);
        for lc in 1..=200_000 {
            vc.tick();
            log_event(&log, lc, &Event::Internal { lc }, 0, Some(&vc));
        }
        drop(guard);
        let lines = lines_of(dir.path(), 1);
        assert_eq!(lines.len(), 200_000);
        assert!(lines[199_999].contains("lc: 200000, vc: 200000 0 0 0 "));
    }
}
