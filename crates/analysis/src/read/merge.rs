//! The k-way time merge: every VM's log read line by line and merged into one time-ordered
//! stream.
//!
//! Only one parsed line per file is held (the head of each reader, in a binary heap keyed by
//! time, then file, then line), so memory does not grow with the run. Each file is still read in
//! its own order, which is the VM's program order, even if its timestamps are not monotone.
//! A line that does not parse is handed on right after the line before it in the same file, so
//! the consumer sees each VM's lines in file order. A last line without a newline was cut off
//! mid-write: if it does not parse it is reported as truncated. Each log is opened through
//! [`VmLog::open`], so a kept (gzip) log streams exactly like the plain one it was.
//!
//! The logs of a run merged from several hosts' directories (`analyze --merge`) are stamped by
//! clocks that disagree by a constant each: [`TimeMerge::open_shifted`] takes each log's
//! estimated offset and removes it from every line's time as the line is read, so the merge
//! and everything downstream of it see one time line (the reference host's clock).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io::{BufRead, Read};
use std::path::PathBuf;

use crate::error::AnalysisError;
use crate::read::parse::parse_line;
use crate::read::record::{Body, Record, Tick};
use lc_contract::vm_log::VmLog;

/// One item of the merged stream. `file` indexes the log list the merge was built from and
/// `line` is 1-based.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Merged {
    Record {
        file: usize,
        line: usize,
        record: Record,
    },
    Malformed {
        file: usize,
        line: usize,
        reason: String,
    },
    /// The file's last line has no newline but parsed; it is used, and noted.
    Unterminated { file: usize, line: usize },
}

/// The longest line the reader takes, newline included. The longest line the run writes (a
/// send's vector clock of 128 VMs) is a few KiB; a longer one is no log line, and reading it
/// whole would let one line take all memory.
pub(crate) const MAX_LINE: usize = 64 * 1024;

/// Reads one file line by line, reusing one buffer.
struct LineReader {
    path: PathBuf,
    reader: Box<dyn BufRead + Send>,
    buf: Vec<u8>,
    line: usize,
}

/// What the next line of a file was.
enum Next {
    Record(usize, Record),
    Malformed(usize, String),
    Eof,
}

impl LineReader {
    fn next(&mut self) -> Result<(Next, bool), AnalysisError> {
        self.buf.clear();
        let n = (&mut self.reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut self.buf)
            .map_err(|source| AnalysisError::Read {
                path: self.path.clone(),
                source,
            })?;
        if n == 0 {
            return Ok((Next::Eof, false));
        }
        self.line += 1;
        let terminated = self.buf.last() == Some(&b'\n');
        if n > MAX_LINE {
            return Err(AnalysisError::LineTooLong {
                path: self.path.clone(),
                line: self.line,
                max: MAX_LINE,
            });
        }
        let text = match std::str::from_utf8(&self.buf) {
            Ok(text) => text,
            Err(_) => return Ok((Next::Malformed(self.line, "not UTF-8".into()), false)),
        };
        let outcome = match parse_line(text) {
            Ok(record) => Next::Record(self.line, record),
            Err(e) if terminated => Next::Malformed(self.line, e.to_string()),
            Err(e) => Next::Malformed(self.line, format!("truncated last line ({e})")),
        };
        Ok((outcome, !terminated))
    }
}

/// The merged stream over a run's VM logs.
pub(crate) struct TimeMerge {
    readers: Vec<LineReader>,
    heads: Vec<Option<(usize, Record)>>,
    heap: BinaryHeap<Reverse<(i64, usize, usize)>>,
    side: VecDeque<Merged>,
    /// Subtracted from every time read from each file (microseconds).
    shifts: Vec<i64>,
}

impl TimeMerge {
    /// Opens every log and reads the first line of each.
    pub(crate) fn open(logs: &[VmLog]) -> Result<TimeMerge, AnalysisError> {
        TimeMerge::open_shifted(logs, &vec![0; logs.len()])
    }

    /// Opens every log as [`TimeMerge::open`] does, with `shifts[i]` microseconds subtracted
    /// from every time of `logs[i]` (its clock's offset from the reference clock).
    pub(crate) fn open_shifted(logs: &[VmLog], shifts: &[i64]) -> Result<TimeMerge, AnalysisError> {
        debug_assert_eq!(logs.len(), shifts.len());
        let readers = logs
            .iter()
            .map(|log| {
                let reader = log.open().map_err(|source| AnalysisError::Read {
                    path: log.path.clone(),
                    source,
                })?;
                Ok(LineReader {
                    path: log.path.clone(),
                    reader,
                    buf: Vec::with_capacity(256),
                    line: 0,
                })
            })
            .collect::<Result<Vec<_>, AnalysisError>>()?;
        let mut merge = TimeMerge {
            heads: vec![None; readers.len()],
            readers,
            heap: BinaryHeap::new(),
            side: VecDeque::new(),
            shifts: shifts.to_vec(),
        };
        for file in 0..merge.readers.len() {
            merge.refill(file)?;
        }
        Ok(merge)
    }

    /// The time of the earliest line not yet handed out, if any.
    pub(crate) fn peek_time(&self) -> Option<i64> {
        self.heap.peek().map(|Reverse((t, _, _))| *t)
    }

    /// The next item in time order, or `None` at the end of every file.
    pub(crate) fn next_item(&mut self) -> Result<Option<Merged>, AnalysisError> {
        if let Some(item) = self.side.pop_front() {
            return Ok(Some(item));
        }
        let Some(Reverse((_, file, _))) = self.heap.pop() else {
            return Ok(None);
        };
        let Some((line, record)) = self.heads[file].take() else {
            return Ok(None);
        };
        self.refill(file)?;
        Ok(Some(Merged::Record { file, line, record }))
    }

    /// Reads `file` up to its next parsable line, queueing what could not be parsed.
    fn refill(&mut self, file: usize) -> Result<(), AnalysisError> {
        loop {
            let (next, unterminated) = self.readers[file].next()?;
            match next {
                Next::Eof => return Ok(()),
                Next::Malformed(line, reason) => {
                    self.side
                        .push_back(Merged::Malformed { file, line, reason })
                }
                Next::Record(line, mut record) => {
                    record.time_us -= self.shifts[file];
                    if unterminated {
                        self.side.push_back(Merged::Unterminated { file, line });
                    }
                    self.heap.push(Reverse((record.time_us, file, line)));
                    self.heads[file] = Some((line, record));
                    return Ok(());
                }
            }
        }
    }
}

/// One VM's ticks in file order (its program order), for reading two runs side by side
/// ([`crate::compare_runs`]). Other lines are skipped; a line that cannot be parsed is an error,
/// since the ticks after it could not be paired with confidence.
pub(crate) struct Ticks {
    path: PathBuf,
    merge: TimeMerge,
}

impl Ticks {
    pub(crate) fn open(log: &VmLog) -> Result<Ticks, AnalysisError> {
        Ok(Ticks {
            path: log.path.clone(),
            merge: TimeMerge::open(std::slice::from_ref(log))?,
        })
    }

    /// The next tick and its time (microseconds since the Unix epoch), or `None` at the end.
    pub(crate) fn next_tick(&mut self) -> Result<Option<(i64, Tick)>, AnalysisError> {
        while let Some(item) = self.merge.next_item()? {
            match item {
                Merged::Record {
                    record:
                        Record {
                            time_us,
                            body: Body::Tick(tick),
                            ..
                        },
                    ..
                } => return Ok(Some((time_us, tick))),
                Merged::Malformed { line, reason, .. } => {
                    return Err(AnalysisError::Unreadable {
                        path: self.path.clone(),
                        line,
                        reason,
                    })
                }
                Merged::Record { .. } | Merged::Unterminated { .. } => {}
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-25T17:00:00Z in microseconds since the Unix epoch.
    const T0: i64 = 1_795_626_000_000_000;

    fn tick_line(vm: u32, tenths: i64, lc: u64) -> String {
        format!("2026-11-25T17:00:00.{tenths}00000Z INFO internal, queue: 0, lc: {lc}, vm: {vm}\n")
    }

    /// A run directory holding `vm-1.log`, `vm-2.log`, ... with `contents`, and their logs.
    fn run_of(contents: &[&[u8]]) -> (tempfile::TempDir, Vec<VmLog>) {
        let dir = tempfile::tempdir().unwrap();
        let logs = contents
            .iter()
            .enumerate()
            .map(|(i, content)| {
                let path = dir.path().join(format!("vm-{}.log", i + 1));
                std::fs::write(&path, content).unwrap();
                VmLog::at(&path).unwrap()
            })
            .collect();
        (dir, logs)
    }

    /// A run directory holding `vm-1.log` with `content`, and the merge over it.
    fn merge_of(content: &[u8]) -> (tempfile::TempDir, Result<TimeMerge, AnalysisError>) {
        let (dir, logs) = run_of(&[content]);
        let merge = TimeMerge::open(&logs);
        (dir, merge)
    }

    /// Every item of `merge` as (file, line, what): `r` record, `m` malformed, `u` unterminated.
    fn items(merge: &mut TimeMerge) -> Vec<(usize, usize, char)> {
        std::iter::from_fn(|| merge.next_item().unwrap())
            .map(|item| match item {
                Merged::Record { file, line, .. } => (file, line, 'r'),
                Merged::Malformed { file, line, .. } => (file, line, 'm'),
                Merged::Unterminated { file, line } => (file, line, 'u'),
            })
            .collect()
    }

    #[test]
    fn logs_merge_in_time_order_each_in_its_own_line_order() {
        let vm1 = tick_line(1, 1, 1) + "garbage\n" + &tick_line(1, 3, 2);
        let vm2 = tick_line(2, 2, 1);
        let (_dir, logs) = run_of(&[vm1.as_bytes(), vm2.as_bytes()]);
        let mut merge = TimeMerge::open(&logs).unwrap();
        assert_eq!(merge.peek_time(), Some(T0 + 100_000));
        // The malformed line follows the line before it in its file.
        assert_eq!(
            items(&mut merge),
            [(0, 1, 'r'), (0, 2, 'm'), (1, 1, 'r'), (0, 3, 'r')]
        );
        assert_eq!(merge.peek_time(), None);
    }

    #[test]
    fn a_shift_is_taken_off_every_time_of_its_log() {
        let (_dir, logs) = run_of(&[tick_line(1, 1, 1).as_bytes(), tick_line(2, 2, 1).as_bytes()]);
        let merge = TimeMerge::open_shifted(&logs, &[0, 150_000]).unwrap();
        assert_eq!(merge.peek_time(), Some(T0 + 50_000));
    }

    #[test]
    fn a_last_line_without_its_newline_is_used_if_it_parses() {
        let whole = tick_line(1, 1, 1);
        let (_dir, merge) = merge_of(whole.trim_end().as_bytes());
        let mut items = items(&mut merge.unwrap());
        items.sort_unstable();
        assert_eq!(items, [(0, 1, 'r'), (0, 1, 'u')]);
        let (_dir, merge) = merge_of(&whole.as_bytes()[..15]);
        let Some(Merged::Malformed { reason, .. }) = merge.unwrap().next_item().unwrap() else {
            panic!("a cut line parsed");
        };
        assert!(reason.starts_with("truncated last line"), "{reason}");
        let (_dir, merge) = merge_of(b"garbage\n");
        let Some(Merged::Malformed { reason, .. }) = merge.unwrap().next_item().unwrap() else {
            panic!("garbage parsed");
        };
        assert!(!reason.contains("truncated"), "{reason}");
    }

    #[test]
    fn ticks_come_in_file_order_and_a_bad_line_stops_them() {
        let start =
            "2026-11-25T17:00:00.000000Z INFO start, addr: 127.0.0.1:7001, rate: 10, vm: 1\n";
        let log = start.to_string() + &tick_line(1, 2, 1) + &tick_line(1, 1, 2) + "garbage\n";
        let (_dir, logs) = run_of(&[log.as_bytes()]);
        let mut ticks = Ticks::open(&logs[0]).unwrap();
        let (t, tick) = ticks.next_tick().unwrap().unwrap();
        assert_eq!((t, tick.lc), (T0 + 200_000, 1));
        let (t, tick) = ticks.next_tick().unwrap().unwrap();
        assert_eq!((t, tick.lc), (T0 + 100_000, 2));
        let error = ticks.next_tick().unwrap_err().to_string();
        assert!(error.contains("vm-1.log:4:"), "{error}");
    }

    #[test]
    fn a_line_of_the_longest_length_is_read() {
        let mut line = vec![b'x'; MAX_LINE - 1];
        line.push(b'\n');
        let (_dir, merge) = merge_of(&line);
        let item = merge.unwrap().next_item().unwrap();
        assert!(
            matches!(item, Some(Merged::Malformed { line: 1, .. })),
            "{item:?}"
        );
    }

    #[test]
    fn a_longer_line_is_refused_by_its_number() {
        let mut content = b"not a log line\n".to_vec();
        content.extend(vec![b'x'; MAX_LINE]);
        content.push(b'\n');
        // Opening reads each file up to its first parsable line, so it meets the long line.
        let (_dir, merge) = merge_of(&content);
        let Err(AnalysisError::LineTooLong { line, max, .. }) = merge else {
            panic!("the long line was taken");
        };
        assert_eq!((line, max), (2, 64 * 1024));
    }
}
