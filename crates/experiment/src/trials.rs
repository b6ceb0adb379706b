//! Runs a study's trials, several at a time if asked, and records what came of each.
//!
//! Each trial is one call of the study's [`RunMaker`] on a worker thread, followed by
//! [`lc_analysis::analyze_run`] on its run directory. Threads rather than child processes: the
//! binary's maker builds its own actix `System` and runtime on the thread that calls it, so trials
//! share nothing but the process (no ports: each listens on free ones, `base_port` 0; no logs:
//! each writes its own run directory), and a trial's figures come back as values instead of
//! through a pipe. A worker takes the next trial from a shared counter, so `--jobs N` keeps N
//! trials running until the queue is empty.
//!
//! Running real-time trials side by side stays valid because nothing in a run depends on the
//! others or on CPU speed: ticks are scheduled from the run's fixed start (tick k at
//! start + phase + (k - 1) / rate), so a busy core makes a tick late by microseconds, not fewer ticks, and
//! each VM records how late its ticks fired (the study reports the latest one).
//!
//! With `compress_logs`, a trial's VM logs are then gzipped in place (`vm-<id>.log.gz`, see
//! [`lc_contract::vm_log`]), after its analysis, so what the analysis wrote is the same either way.
//!
//! A trial that fails (an error, a panic, broken books, log files that lost lines, logs that
//! could not be compressed) becomes a record saying so and the study carries on. Ctrl-C (or
//! SIGTERM, SIGHUP) stops the running trials in order (each run handles it) and the trials not
//! yet started are recorded as not run.
//!
//! With twins asked for, the worker that ran a trial then runs its virtual-time twin
//! ([`super::twins::run_twin`]) through the same [`make_run`], so trial and twin are made alike.

use super::plan::Trial;
use super::progress;
use super::record::{TrialRecord, TrialStatus};
use super::trial_prediction::{self, TrialPrediction};
use super::trial_run::{compress_logs, make_run, Runner};
use super::twins::{self, TwinRecord};
use lc_analysis::Summary;
use lc_settings::Overrides;
use std::fs::File;
use std::io::{BufReader, Write as _};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

enum Event {
    Started(usize),
    Done(usize, Box<TrialRecord>),
    Twin(usize, Box<TwinRecord>),
}

/// How often a progress line is printed while nothing else happens.
const PROGRESS_EVERY: Duration = Duration::from_secs(15);

/// Runs every trial and returns their records in the given order, with their twins' when the
/// runner asks for twins (else none); progress goes to stderr.
pub(crate) fn run_all(
    trials: &[&Trial],
    runner: &Runner<'_>,
) -> (Vec<TrialRecord>, Vec<TwinRecord>) {
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (events, inbox) = mpsc::channel();
    let mut records: Vec<Option<TrialRecord>> = vec![None; trials.len()];
    let mut twins: Vec<Option<TwinRecord>> = vec![None; trials.len()];
    std::thread::scope(|scope| {
        for _ in 0..runner.jobs.clamp(1, trials.len().max(1)) {
            let (events, next, stop) = (events.clone(), &next, &stop);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(trial) = trials.get(i) else { break };
                let stopped = || stop.load(Ordering::SeqCst) || runner.maker.stop_requested();
                if stopped() {
                    let _ = events.send(Event::Done(i, Box::new(TrialRecord::not_run(trial))));
                    continue;
                }
                let _ = events.send(Event::Started(i));
                let (record, interrupted) = run_one(trial, runner);
                if interrupted {
                    stop.store(true, Ordering::SeqCst);
                }
                let twin =
                    (runner.twins && !stopped()).then(|| twins::run_twin(trial, &record, runner));
                let _ = events.send(Event::Done(i, Box::new(record)));
                if let Some(twin) = twin {
                    let _ = events.send(Event::Twin(i, Box::new(twin)));
                }
            });
        }
        drop(events);
        let mut board = Board::new(trials, runner);
        loop {
            match inbox.recv_timeout(PROGRESS_EVERY) {
                Ok(Event::Started(i)) => board.started(i),
                Ok(Event::Done(i, record)) => {
                    board.done(i, &record);
                    records[i] = Some(*record);
                }
                Ok(Event::Twin(i, twin)) => {
                    board.twin(i, &twin);
                    twins[i] = Some(*twin);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => board.status(),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
    });
    let twins = match runner.twins {
        false => Vec::new(),
        true => twins
            .into_iter()
            .zip(trials)
            .map(|(twin, trial)| twin.unwrap_or_else(|| TwinRecord::not_run(trial)))
            .collect(),
    };
    let records = records
        .into_iter()
        .zip(trials)
        .map(|(record, trial)| record.unwrap_or_else(|| TrialRecord::not_run(trial)))
        .collect();
    (records, twins)
}

/// Runs and analyses one trial; the flag says the run was interrupted by a signal.
fn run_one(trial: &Trial, runner: &Runner<'_>) -> (TrialRecord, bool) {
    let began = Instant::now();
    let mut record = TrialRecord {
        status: TrialStatus::Ok,
        ..TrialRecord::not_run(trial)
    };
    let overrides = Overrides {
        log_dir: Some(runner.trials_dir.join(trial.dir_name())),
        virtual_time: runner.virtual_time,
        ..Overrides::default()
    };
    let mut interrupted = false;
    record.status = match make_run(runner.maker, trial, &overrides) {
        Err(why) => TrialStatus::Failed(why),
        Ok((outcome, analysis)) => {
            record.run_dir = Some(outcome.run_dir.clone());
            interrupted = outcome.interrupted.is_some();
            match analysis {
                Err(why) => TrialStatus::Failed(why),
                Ok(analysis) => {
                    record.judge(&analysis, outcome.healthy, &outcome.missing);
                    record.prediction = predict(trial, &outcome.run_dir, analysis.summary());
                    match outcome.interrupted {
                        Some(signal) => TrialStatus::Failed(format!("interrupted by {signal}")),
                        None => record.status.clone(),
                    }
                }
            }
        }
    };
    record.wall = began.elapsed();
    if let (true, Some(run_dir)) = (runner.compress_logs, &record.run_dir) {
        if let Err(why) = compress_logs(run_dir) {
            let kept = format!("its logs could not be kept: {why}");
            record.status = TrialStatus::Failed(match &record.status {
                TrialStatus::Ok | TrialStatus::NotRun => kept,
                // Keep what else went wrong: it is likely the cause.
                other => format!("{other}; {kept}"),
            });
        }
    }
    (record, interrupted)
}

/// The queueing model's prediction for the trial, held against its summary and the queue
/// growth over the second half of the run (from the `events.csv` the analysis just wrote).
/// `None` if that file cannot be read: the table then counts one trial fewer.
fn predict(trial: &Trial, run_dir: &Path, summary: &Summary) -> Option<TrialPrediction> {
    let events = File::open(run_dir.join("events.csv")).ok()?;
    let growth =
        trial_prediction::queue_growth(BufReader::new(events), summary.span_s / 2.0).ok()?;
    TrialPrediction::of(
        &trial.spec.rates,
        trial.spec.internal_probability,
        summary,
        &growth,
    )
}

/// The progress board: which trials run, which are done, and the time left. Its lines go to
/// stderr without `eprintln!`, which would panic the study if stderr were a closed pipe
/// (`experiment 2>&1 | head`); the trials and their records matter more than the progress.
struct Board<'a> {
    trials: &'a [&'a Trial],
    jobs: usize,
    virtual_time: bool,
    running: Vec<(usize, Instant)>,
    finished: Vec<(f64, Duration)>,
    done: usize,
    started: Vec<bool>,
}

impl<'a> Board<'a> {
    fn new(trials: &'a [&'a Trial], runner: &Runner) -> Self {
        Board {
            trials,
            jobs: runner.jobs.max(1),
            virtual_time: runner.virtual_time || trials.iter().any(|t| t.spec.virtual_time),
            running: Vec::new(),
            finished: Vec::new(),
            done: 0,
            started: vec![false; trials.len()],
        }
    }

    fn runtime(&self, i: usize) -> f64 {
        self.trials[i].spec.runtime.as_secs_f64()
    }

    fn started(&mut self, i: usize) {
        self.running.push((i, Instant::now()));
        self.started[i] = true;
        let t = self.trials[i];
        let _ = writeln!(
            std::io::stderr(),
            "[{}/{}] start {} #{} (seed {}, rates {:?}, {}s){}",
            i + 1,
            self.trials.len(),
            t.variation,
            t.number,
            t.spec.seed,
            t.spec.rates,
            self.runtime(i),
            self.left()
        );
    }

    fn done(&mut self, i: usize, record: &TrialRecord) {
        self.running.retain(|&(r, _)| r != i);
        self.started[i] = true;
        self.done += 1;
        if record.status != TrialStatus::NotRun {
            self.finished.push((self.runtime(i), record.wall));
        }
        let figures = record
            .figures
            .as_ref()
            .map(|f| {
                format!(
                    ", slowest VM {} at {}/s: max jump {}, max queue {}",
                    f.slowest_vm,
                    f.slowest_rate,
                    f.get(super::figures::Figure::MaxJump),
                    f.get(super::figures::Figure::MaxQueue)
                )
            })
            .unwrap_or_default();
        let _ = writeln!(
            std::io::stderr(),
            "[{}/{}] {} {} #{} in {:.1}s{figures}{}",
            i + 1,
            self.trials.len(),
            record.status,
            record.variation,
            record.number,
            record.wall.as_secs_f64(),
            self.left()
        );
    }

    /// One line when a trial's twin has been compared.
    fn twin(&self, i: usize, twin: &TwinRecord) {
        let _ = writeln!(
            std::io::stderr(),
            "[{}/{}] twin of {} #{}: {}",
            i + 1,
            self.trials.len(),
            twin.variation,
            twin.number,
            twin.verdict()
        );
    }

    fn status(&self) {
        let _ = writeln!(
            std::io::stderr(),
            "{}/{} trials done, {} running{}",
            self.done,
            self.trials.len(),
            self.running.len(),
            self.left()
        );
    }

    /// `; about 8m10s left`, or nothing before the pace is known on virtual time.
    fn left(&self) -> String {
        let pace = match progress::pace(&self.finished) {
            Some(pace) => pace,
            None if self.virtual_time => return String::new(),
            None => 1.0,
        };
        let running_left: Vec<f64> = self
            .running
            .iter()
            .map(|&(i, since)| self.runtime(i) * pace - since.elapsed().as_secs_f64())
            .collect();
        let queued: Vec<f64> = (0..self.trials.len())
            .filter(|&i| !self.started[i])
            .map(|i| self.runtime(i))
            .collect();
        let left = progress::time_left(&running_left, &queued, self.jobs, pace);
        format!("; about {} left", progress::human(left))
    }
}
