//! The run's one collecting drain: every record to its VM's file.
//!
//! [`RunDrain`] routes each record by its `vm` key. A contract line arrives
//! already spelled by the contract's writer (its tag says which:
//! [`EVENT_LINE`], [`OTHER_LINE`] or a [`BATCH`] of event lines) and is
//! written as it is, with the `vm` key slog-term would have put last. Any
//! other record is formatted by slog-term's full format, at the time it
//! carries under [`EVENT_TIME_KEY`]: that path is the reference the
//! contract's spelling is tested against.
//!
//! slog-term flushes after every record. The files sit behind a buffer
//! whose flush is deferred (at most every `flush_interval`, 200 ms by
//! default, and at shutdown), so a busy run makes one write per buffer, not
//! one per line. An interval of zero writes every line at once. Every
//! failed write is recorded in [`LogFailures`].

use lc_contract::timestamp::{wall_clock_micros, EventTime};
use lc_core::model::VmId;
use slog::{Drain, Key, OwnedKVList, Record, RecordStatic, KV};
use std::cell::Cell;
use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::failures::LogFailures;

/// The record key that carries an event's time (microseconds since the Unix
/// epoch) from the event to the formatter; never printed.
pub const EVENT_TIME_KEY: &str = "event_time_us";

/// The tag of an event line whose message is already its whole line but
/// for the logger's own `vm` key, which the drain appends. These are a
/// run's bulk: [`Batching`](super::batching::Batching) gathers them.
pub(super) const EVENT_LINE: &str = "line";
/// The tag of any other contract line (`start`, `stop`, a fault mark, a
/// warning), spelled like an event line but written at once, as slog-term
/// wrote it: never batched, it makes the pending event lines go first.
pub(super) const OTHER_LINE: &str = "other line";
/// The tag of a record whose message is whole lines of one VM, `vm` key
/// and newlines included, gathered by batching: the drain writes it as it
/// is and flushes its file.
pub(super) const BATCH: &str = "lines";

/// Written in place (virtual time), event lines come a microsecond apart:
/// the drain reads the real clock to see whether a flush is due only every
/// this many of them, which cost it 5% of a virtual run's time when it read
/// it for each. A flush is then late by at most this many lines, and the
/// last lines are flushed when the run's `LogGuard` drops.
pub(super) const CLOCK_READ_EVERY: u32 = 64;

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
    /// Where VM `id`'s file is among the others: `slots[id.index()]`.
    slots: Vec<Option<usize>>,
    formats: Vec<VmFormat>,
    files: Vec<SharedFile>,
    /// Each file's name, to say which one failed.
    names: Vec<String>,
    last_flush: Mutex<Instant>,
    pub(super) flush_interval: Duration,
    /// Event lines written in place since the clock was last read for
    /// [`flush_when_due`](Self::flush_when_due) (see [`CLOCK_READ_EVERY`]).
    lines_unchecked: AtomicU32,
    failures: LogFailures,
}

impl RunDrain {
    /// Creates `vm-<id>.log` for ids `1..=vm_count` in `dir`; lines reach
    /// the disk at least every `flush_interval` (zero: after every line),
    /// event lines written in place at most [`CLOCK_READ_EVERY`] lines later.
    pub fn create(dir: &Path, vm_count: u32, flush_interval: Duration) -> io::Result<Self> {
        Self::create_for(dir, VmId::all(vm_count), flush_interval)
    }

    /// Creates `vm-<id>.log` in `dir` for the VMs of this process only (a
    /// node of a cluster has one).
    pub(crate) fn create_for(
        dir: &Path,
        vms: impl IntoIterator<Item = VmId>,
        flush_interval: Duration,
    ) -> io::Result<Self> {
        let mut slots = Vec::new();
        let mut formats = Vec::new();
        let mut files = Vec::new();
        let mut names = Vec::new();
        for id in vms {
            let slot = id.index();
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
    pub(crate) fn failures(&self) -> LogFailures {
        self.failures.clone()
    }

    /// Flushes every file, each one even when another fails, so a file
    /// that can still be written loses nothing.
    pub(super) fn flush_all(&self) {
        for (index, file) in self.files.iter().enumerate() {
            if let Err(e) = file.flush_now() {
                self.failures.record(&self.names[index], &e);
            }
        }
    }

    /// Flushes every file if the last flush is `flush_interval` old.
    fn flush_when_due(&self) {
        let mut last_flush = self.last_flush.lock().unwrap_or_else(|e| e.into_inner());
        if last_flush.elapsed() >= self.flush_interval {
            *last_flush = Instant::now();
            self.flush_all();
        }
    }

    /// Writes a line spelled by the contract, then flushes when due: an
    /// event line reads the clock only every [`CLOCK_READ_EVERY`] of them.
    fn write_spelled(&self, index: usize, record: &Record, vm: Option<VmId>) {
        let file = &self.files[index];
        if record.tag() == OTHER_LINE {
            // Rare lines, and the only ones whose message may be empty.
            let line = record.msg().to_string();
            if let Err(e) = write_line(file, line.as_bytes(), vm) {
                self.failures.record(&self.names[index], &e);
            }
            self.flush_when_due();
            return;
        }
        if let Err(e) = write_event_line(file, record.msg(), vm) {
            self.failures.record(&self.names[index], &e);
        }
        let unchecked = self.lines_unchecked.fetch_add(1, Ordering::Relaxed) + 1;
        if unchecked >= CLOCK_READ_EVERY || self.flush_interval.is_zero() {
            self.lines_unchecked.store(0, Ordering::Relaxed);
            self.flush_when_due();
        }
    }

    /// Formats a record the contract did not spell with slog-term, at the
    /// time it carries.
    fn write_formatted(
        &self,
        index: usize,
        record: &Record,
        values: &OwnedKVList,
        time: EventTime,
    ) {
        FORMATTING_TIME.with(|t| t.set(time));
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
    }
}

impl Drop for RunDrain {
    fn drop(&mut self) {
        self.flush_all();
    }
}

/// Finds the `vm` and event-time keys of a record.
#[derive(Default)]
pub(super) struct RoutingKeys {
    /// The `vm` key, read back as the id slog carried as a bare number.
    pub(super) vm: Option<VmId>,
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
        if key == lc_contract::line::Key::Vm.name() {
            self.vm = u32::try_from(val).ok().and_then(VmId::new);
        } else if key == EVENT_TIME_KEY {
            self.time = Some(val);
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
        let Some(index) = keys.vm.and_then(|vm| *self.slots.get(vm.index())?) else {
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
        match record.tag() {
            BATCH => {
                let file = &self.files[index];
                let written = file.lock().write_fmt(*record.msg());
                if let Err(e) = written.and_then(|()| file.flush_now()) {
                    self.failures.record(&self.names[index], &e);
                }
            }
            EVENT_LINE | OTHER_LINE => self.write_spelled(index, record, keys.vm),
            _ => {
                let time = keys.time.unwrap_or_else(wall_clock_micros);
                self.write_formatted(index, record, values, time);
            }
        }
        Ok(())
    }
}

/// Writes an event line and the `vm` key slog-term would have put last.
fn write_event_line(
    file: &SharedFile,
    line: &fmt::Arguments<'_>,
    vm: Option<VmId>,
) -> io::Result<()> {
    let mut file = file.lock();
    file.write_fmt(*line)?;
    if let Some(vm) = vm {
        lc_contract::line::write_vm(&mut *file, None, vm)?;
    }
    file.write_all(b"\n")
}

/// Writes any other line spelled by the contract and its `vm` key.
fn write_line(file: &SharedFile, line: &[u8], vm: Option<VmId>) -> io::Result<()> {
    let mut file = file.lock();
    file.write_all(line)?;
    if let Some(vm) = vm {
        lc_contract::line::write_vm(&mut *file, Some(line), vm)?;
    }
    file.write_all(b"\n")
}
