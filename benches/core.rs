//! Criterion benchmarks of the pure core's hot paths, so that a regression
//! in what every tick costs shows up: the tick decision, a message's
//! receive, a data frame's encoding and decoding, and the formatting of a
//! log line into its file's buffer.
//!
//! Run with `cargo bench --bench core` (a few seconds per benchmark);
//! criterion keeps its last results under `target/criterion` and reports
//! the change against them. The model's end-to-end figures are in
//! BENCHMARKS.md, measured by `benches/model.sh`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use lc_core::model::{Message, VmId, VmModel};
use lc_core::vm_core::{TickOutcome, VmCore};
use logical_clocks::logging::{self, RunDrain};
use logical_clocks::messages::Frame;
use std::hint::black_box;
use std::time::Duration;

/// A VM of a 16-VM run with vector clocks, at the default probability.
fn core() -> VmCore {
    VmCore::new(VmModel::new(VmId::literal(1), 16, 7, 0.7, true))
}

fn tick_decision(c: &mut Criterion) {
    let mut vm = core();
    c.bench_function(
        "tick: an idle VM decides its event (16 VMs, vector clocks)",
        |b| {
            b.iter(|| match vm.tick(0) {
                TickOutcome::Event(logged) => black_box(logged),
                TickOutcome::AwaitMessage => unreachable!("nothing is queued"),
            })
        },
    );
    let message = Message {
        from: VmId::literal(2),
        seq: 1,
        lc: 1_000,
        vc: vec![3; 16],
    };
    c.bench_function("tick: a VM receives a waiting message", |b| {
        b.iter_batched(
            || (core(), message.clone()),
            |(mut vm, message)| {
                vm.tick(1);
                black_box(vm.deliver(message, 1))
            },
            BatchSize::SmallInput,
        )
    });
}

fn frames(c: &mut Criterion) {
    let frame = Frame::Data {
        message: Message {
            from: VmId::literal(3),
            seq: 123_456,
            lc: 987_654,
            vc: (0..16).collect(),
        },
        sent_at: 1_795_000_000_000_000,
    };
    let encoded = frame.encode();
    c.bench_function("frame: encode a data frame (16-entry vector clock)", |b| {
        b.iter(|| black_box(black_box(&frame).encode()))
    });
    c.bench_function("frame: decode a data frame (16-entry vector clock)", |b| {
        b.iter(|| black_box(Frame::decode(black_box(&encoded))))
    });
}

fn log_lines(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    // Flushed once a minute: the benchmark measures formatting into the
    // file's buffer, as the log writer does between its flushes.
    let drain = RunDrain::create(dir.path(), 1, Duration::from_secs(60)).expect("the log file");
    // Written in place, as a virtual-time run writes: the benchmark sees
    // the line's making and writing, not a hand-off to another thread.
    let (root, _guard) = logging::run_logger(drain, logging::Delivery::InPlace);
    let log = logging::vm_logger(&root, VmId::literal(1));
    let mut vm = core();
    let mut at = 1_795_000_000_000_000u64;
    c.bench_function("log: format one event line with its vector clock", |b| {
        b.iter(|| {
            at += 1_000;
            if let TickOutcome::Event(logged) = vm.tick(0) {
                logging::log_event(&log, at, &logged.event, logged.queue, vm.vector_clock());
            }
        })
    });
}

criterion_group!(benches, tick_decision, frames, log_lines);
criterion_main!(benches);
