//! How late a periodic timer fires on this machine, by method.
//!
//! `timer-probe [RATE] [SECONDS]` (default 1000 ticks/s for 5 s per method).
//! Each method waits for tick k at start + k / RATE (a fixed schedule, as
//! the model's VMs do) and records how late it woke:
//! - `tokio`: `tokio::time::sleep_until` on a current-thread runtime, what
//!   the model's VMs use. tokio's timer wheel has 1 ms slots: a deadline is
//!   rounded up to the next slot, and the driver's park timeout (epoll) is
//!   rounded up to whole milliseconds again.
//! - `thread`: `std::thread::sleep` (clock_nanosleep on an hrtimer).
//! - `tokio+spin`: tokio sleep until 1 ms before the deadline, then
//!   `yield_now` until it passes (what a precise VM tick could cost).
//! - `ticker`: a separate thread sleeps with `std::thread::sleep` and sends
//!   each tick over a tokio channel to a task on a current-thread runtime:
//!   hrtimer precision plus one cross-thread wake-up (an eventfd write).
use std::time::{Duration, Instant};

fn offset(k: u64, rate: u64) -> Duration {
    Duration::from_nanos(k * 1_000_000_000 / rate)
}

fn report(name: &str, mut late: Vec<u64>, cpu: Duration, wall: Duration) {
    late.sort_unstable();
    let q = |p: f64| late[((p * late.len() as f64).ceil() as usize).clamp(1, late.len()) - 1];
    println!(
        "{name:>11}: ticks {:>6}  late p50 {:>5} us  p99 {:>5} us  p99.9 {:>6} us  max {:>6} us  over 2 ms {:>5.2}%  cpu {:>5.1}% of a core",
        late.len(),
        q(0.5),
        q(0.99),
        q(0.999),
        late[late.len() - 1],
        100.0 * late.iter().filter(|&&l| l > 2000).count() as f64 / late.len() as f64,
        100.0 * cpu.as_secs_f64() / wall.as_secs_f64()
    );
}

fn cpu_time() -> Duration {
    // utime + stime of this process, from /proc (clock ticks of 10 ms).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks: u64 = fields.get(11).and_then(|u| u.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|s| s.parse().ok()).unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

fn main() {
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let rate = args.first().copied().unwrap_or(1000).max(1);
    let secs = args.get(1).copied().unwrap_or(5).max(1);
    let ticks = rate * secs;
    println!("rate {rate} ticks/s, {secs} s per method");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");

    for method in ["tokio", "thread", "tokio+spin", "ticker"] {
        let cpu0 = cpu_time();
        let wall0 = Instant::now();
        let late: Vec<u64> = match method {
            "thread" => {
                let start = Instant::now();
                (1..=ticks)
                    .map(|k| {
                        let due = start + offset(k, rate);
                        let now = Instant::now();
                        if due > now {
                            std::thread::sleep(due - now);
                        }
                        Instant::now().saturating_duration_since(due).as_micros() as u64
                    })
                    .collect()
            }
            "ticker" => {
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
                let start = Instant::now();
                let ticker = std::thread::spawn(move || {
                    for k in 1..=ticks {
                        let due = start + offset(k, rate);
                        let now = Instant::now();
                        if due > now {
                            std::thread::sleep(due - now);
                        }
                        if tx.send(due).is_err() {
                            break;
                        }
                    }
                });
                let late = rt.block_on(async move {
                    let mut late = Vec::with_capacity(ticks as usize);
                    while let Some(due) = rx.recv().await {
                        late.push(Instant::now().saturating_duration_since(due).as_micros() as u64);
                    }
                    late
                });
                let _ = ticker.join();
                late
            }
            _ => {
                let spin = method == "tokio+spin";
                rt.block_on(async move {
                    let start = tokio::time::Instant::now();
                    let mut late = Vec::with_capacity(ticks as usize);
                    for k in 1..=ticks {
                        let due = start + offset(k, rate);
                        if spin {
                            tokio::time::sleep_until(due - Duration::from_millis(1)).await;
                            while tokio::time::Instant::now() < due {
                                tokio::task::yield_now().await;
                            }
                        } else {
                            tokio::time::sleep_until(due).await;
                        }
                        late.push(
                            tokio::time::Instant::now()
                                .saturating_duration_since(due)
                                .as_micros() as u64,
                        );
                    }
                    late
                })
            }
        };
        report(method, late, cpu_time() - cpu0, wall0.elapsed());
    }
}
