//! A valid run of any size, written as logs: the benchmark's input and the tests' large fixture.
//!
//! The run comes from [`lc_core::simulation`] (the model's own cores on a simulated clock, no
//! sockets and no runtime), and its lines and `settings.toml` are written by the code that
//! writes every real run ([`crate::logging`], [`lc_contract::run_dir::write_settings`]). So there is
//! no second copy of the die, the clock rules or the line format here: only the choice of
//! what to simulate and the arithmetic of what was written. Its VMs keep vector clocks, as a
//! run does by default, so its lines carry `vc`.

use std::io;
use std::path::Path;
use std::time::Duration;

use crate::logging::{self, EventTime, RunDrain};
use lc_core::latency::{Delay, Latency};
use lc_core::lateness::Lateness;
use lc_core::model::{Event, VmId};
use lc_core::schedule::{draw_tick_leads, first_tick_after, TickPhase};
use lc_core::simulation::{Observer, SimSpec, Simulation, Until};
use lc_core::vector_clock::VectorClock;
use lc_core::vm_core::{Logged, StopSummary};
use lc_settings::RunSpec;

/// What run to write.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticRun {
    /// Ticks per second of each VM; one VM per entry.
    pub rates: Vec<u32>,
    /// Tick events to write in total, over all VMs.
    pub events: u64,
    pub seed: u64,
    /// Network delay of every message.
    pub latency_us: i64,
}

impl Default for SyntheticRun {
    fn default() -> Self {
        SyntheticRun {
            rates: vec![1000, 700, 400],
            events: 10_000,
            seed: 1,
            latency_us: 300,
        }
    }
}

/// What was written: the figures a correct analysis must find.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// Tick events.
    pub ticks: u64,
    /// Lines in all logs (ticks plus one start and one stop line per VM).
    pub lines: u64,
    /// Messages sent (one per recipient).
    pub messages: u64,
    pub received: u64,
    /// Messages left in queues at stop.
    pub left_in_queues: u64,
}

/// 2026-11-25T17:00:00Z, the synthetic runs' start.
const T0_US: EventTime = 1_795_626_000_000_000;

/// Passes every event of the simulation to its VM's logger.
struct LogWriter {
    loggers: Vec<slog::Logger>,
    written: Written,
}

fn event_time(at: Duration) -> EventTime {
    T0_US + at.as_micros() as EventTime
}

impl Observer for LogWriter {
    fn event(&mut self, vm: VmId, at: Duration, logged: &Logged, vc: Option<&VectorClock>) {
        logging::log_event(
            &self.loggers[vm.index()],
            event_time(at),
            &logged.event,
            logged.queue,
            vc,
        );
        self.written.ticks += 1;
        if let Event::Send { to, .. } = &logged.event {
            self.written.messages += to.len() as u64;
        }
    }

    fn stop(&mut self, vm: VmId, at: Duration, summary: &StopSummary) {
        let none = Lateness::default();
        logging::log_stop(
            &self.loggers[vm.index()],
            event_time(at),
            &logging::StopLine {
                dropped_by_fault: &Default::default(),
                counters: &summary.counters,
                queue: summary.queue_left,
                dropped: summary.dropped,
                lc: summary.final_clock,
                lateness: &none,
                transit: &none,
            },
        );
        self.written.received += summary.counters.received;
        self.written.left_in_queues += summary.queue_left;
    }
}

/// Writes `vm-<id>.log` for every VM and `settings.toml` into `dir` (created if needed).
pub fn write_run(dir: &Path, spec: &SyntheticRun) -> io::Result<Written> {
    std::fs::create_dir_all(dir)?;
    let vm_count = spec.rates.len() as u32;
    let latency = Latency {
        default: Delay::Constant {
            ms: spec.latency_us.max(0) as f64 / 1000.0,
        },
        ..Latency::default()
    };
    let (root, guard) = logging::run_logger(
        RunDrain::create(dir, vm_count, logging::FLUSH_INTERVAL)?,
        logging::Delivery::InPlace,
    );
    let loggers: Vec<slog::Logger> = VmId::all(vm_count)
        .map(|id| logging::vm_logger(&root, id))
        .collect();
    let rates: Vec<u32> = spec.rates.iter().map(|&rate| rate.max(1)).collect();
    let tick_leads = draw_tick_leads(spec.seed, &rates, TickPhase::Random);
    for ((log, &rate), &lead) in loggers.iter().zip(&rates).zip(&tick_leads) {
        logging::log_start(log, T0_US, rate, "simulated", first_tick_after(rate, lead));
    }
    let sim_spec = SimSpec {
        rates: spec.rates.clone(),
        seed: spec.seed,
        internal_probability: 0.7,
        latency: latency.clone(),
        tick_phase: TickPhase::Random,
        vector_clocks: true,
    };
    let mut writer = LogWriter {
        loggers,
        written: Written::default(),
    };
    let end = Simulation::new(&sim_spec).run(Until::Events(spec.events), &mut writer);
    let mut written = writer.written;
    written.lines = written.ticks + 2 * u64::from(vm_count);
    drop((writer.loggers, root));
    // Dropping the guard flushes every line.
    drop(guard);

    let run_spec = RunSpec {
        vm_count,
        runtime: end.max(Duration::from_micros(1)),
        host: [127, 0, 0, 1].into(),
        base_port: 0,
        log_dir: dir.to_path_buf(),
        seed: spec.seed,
        rates: spec.rates.clone(),
        rate_range: (
            spec.rates.iter().copied().min().unwrap_or(1),
            spec.rates.iter().copied().max().unwrap_or(1),
        ),
        internal_probability: sim_spec.internal_probability,
        vector_clocks: sim_spec.vector_clocks,
        virtual_time: true,
        latency,
        log_flush: logging::FLUSH_INTERVAL,
        tick_phase: TickPhase::Random,
        tick_leads,
        faults: Default::default(),
        node: None,
    };
    lc_contract::run_dir::write_settings(dir, &run_spec)?;
    Ok(written)
}
