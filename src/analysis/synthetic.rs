//! A synthetic, valid run of any size: the benchmark's input and the tests' large fixture.
//!
//! It simulates the model in virtual time (each VM ticks at its own rate, takes one message per
//! tick if one has arrived, else sends or does an internal event, with Lamport's rules) and
//! writes the logs and `settings.toml` exactly as the log contract says. No sockets and no
//! real time, so a million events are written in about a second, and the run is reproducible
//! from its seed.

use std::collections::VecDeque;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::timestamp::Rfc3339;

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

struct Message {
    arrive_us: i64,
    from: u32,
    seq: u64,
    msg_lc: u64,
}

struct Vm {
    out: BufWriter<File>,
    rate: u32,
    ticks: u64,
    lc: u64,
    seq: u64,
    queue: VecDeque<Message>,
    /// How many messages at the front of `queue` have arrived.
    arrived: usize,
    sent: u64,
    received: u64,
    internal: u64,
}

/// 2026-11-25T17:00:00Z, the synthetic runs' start.
const T0_US: i64 = 1_795_626_000_000_000;

/// Writes `vm-<id>.log` for every VM and `settings.toml` into `dir` (created if needed).
pub fn write_run(dir: &Path, spec: &SyntheticRun) -> io::Result<Written> {
    fs::create_dir_all(dir)?;
    let n = spec.rates.len() as u32;
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let mut vms = spec
        .rates
        .iter()
        .enumerate()
        .map(|(i, &rate)| {
            let file = File::create(dir.join(format!("vm-{}.log", i + 1)))?;
            Ok(Vm {
                out: BufWriter::with_capacity(1 << 18, file),
                rate: rate.max(1),
                ticks: 0,
                lc: 0,
                seq: 0,
                queue: VecDeque::new(),
                arrived: 0,
                sent: 0,
                received: 0,
                internal: 0,
            })
        })
        .collect::<io::Result<Vec<_>>>()?;
    for (i, vm) in vms.iter_mut().enumerate() {
        let id = i + 1;
        writeln!(
            vm.out,
            "{} INFO start, addr: 127.0.0.1:{}, rate: {}, vm: {id}",
            Rfc3339(T0_US),
            7000 + id,
            vm.rate
        )?;
    }

    let mut written = Written::default();
    let mut now = T0_US;
    let mut recipients = Vec::new();
    while written.ticks < spec.events && n > 0 {
        // The VM whose next tick comes first.
        let (i, t) = vms
            .iter()
            .enumerate()
            .map(|(i, vm)| {
                (
                    i,
                    T0_US + ((vm.ticks + 1) * 1_000_000 / u64::from(vm.rate)) as i64,
                )
            })
            .min_by_key(|&(i, t)| (t, i))
            .unwrap_or((0, now));
        now = t;
        let id = i as u32 + 1;
        let vm = &mut vms[i];
        vm.ticks += 1;
        while vm.arrived < vm.queue.len() && vm.queue[vm.arrived].arrive_us <= t {
            vm.arrived += 1;
        }
        let taken = if vm.arrived > 0 {
            vm.queue.pop_front()
        } else {
            None
        };
        if let Some(m) = taken {
            vm.arrived -= 1;
            vm.lc = vm.lc.max(m.msg_lc) + 1;
            vm.received += 1;
            writeln!(
                vm.out,
                "{} INFO receive, from: {}, seq: {}, msg_lc: {}, queue: {}, lc: {}, vm: {id}",
                Rfc3339(t),
                m.from,
                m.seq,
                m.msg_lc,
                vm.arrived,
                vm.lc
            )?;
        } else {
            recipients.clear();
            if n > 1 {
                let next = id % n + 1;
                match rng.random_range(0..10) {
                    0 => recipients.push(next),
                    1 => {
                        let other = (id - 1 + rng.random_range(1..n)) % n + 1;
                        recipients.push(other);
                    }
                    2 => recipients.extend((1..=n).filter(|&r| r != id)),
                    _ => {}
                }
            }
            vm.lc += 1;
            if recipients.is_empty() {
                vm.internal += 1;
                writeln!(
                    vm.out,
                    "{} INFO internal, queue: {}, lc: {}, vm: {id}",
                    Rfc3339(t),
                    vm.arrived,
                    vm.lc
                )?;
            } else {
                vm.seq += 1;
                vm.sent += 1;
                let (seq, lc) = (vm.seq, vm.lc);
                let to: Vec<String> = recipients.iter().map(u32::to_string).collect();
                writeln!(
                    vm.out,
                    "{} INFO send, to: {}, seq: {seq}, queue: {}, lc: {lc}, vm: {id}",
                    Rfc3339(t),
                    to.join(" "),
                    vm.arrived
                )?;
                for &r in &recipients {
                    vms[r as usize - 1].queue.push_back(Message {
                        arrive_us: t + spec.latency_us,
                        from: id,
                        seq,
                        msg_lc: lc,
                    });
                }
                written.messages += recipients.len() as u64;
            }
        }
        written.ticks += 1;
    }

    // Every message in flight lands before the stop; what was never taken is the stop's queue.
    let stop = now + spec.latency_us + 1000;
    for (i, vm) in vms.iter_mut().enumerate() {
        writeln!(
            vm.out,
            "{} INFO stop, queue: {}, internal: {}, received: {}, sent: {}, ticks: {}, vm: {}",
            Rfc3339(stop),
            vm.queue.len(),
            vm.internal,
            vm.received,
            vm.sent,
            vm.ticks,
            i + 1
        )?;
        vm.out.flush()?;
        written.received += vm.received;
        written.left_in_queues += vm.queue.len() as u64;
    }
    written.lines = written.ticks + 2 * u64::from(n);

    let rates: Vec<String> = spec.rates.iter().map(u32::to_string).collect();
    fs::write(
        dir.join("settings.toml"),
        format!(
            "vm_count = {n}\nruntime = {:.3}\nbase_port = 7001\nhost = \"127.0.0.1\"\nseed = {}\nrate_min = {}\nrate_max = {}\nrates = [{}]\ninternal_probability = 0.7\n",
            (stop - T0_US) as f64 / 1e6,
            spec.seed,
            spec.rates.iter().min().unwrap_or(&0),
            spec.rates.iter().max().unwrap_or(&0),
            rates.join(", ")
        ),
    )?;
    Ok(written)
}
