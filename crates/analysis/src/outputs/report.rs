//! The human-readable report of a run, and the comparison table of several runs.
//!
//! Pure string building from a [`RunAnalysis`]: `main` prints it, tests read it. Per-VM figures
//! come in two narrow tables rather than one wide one, so the report fits a terminal.

use lc_core::vm_id::VmId;
use std::fmt::Write;

use super::summary::{ClockOffset, Concurrency, FaultSummary, OffsetBasis, Summary};
use crate::RunAnalysis;

/// How many violations the report quotes before summing up the rest.
const VIOLATIONS_SHOWN: usize = 20;
/// Runs with at most this many VMs get the per-pair concurrency table (28 rows); larger ones
/// leave it to `summary.json`.
const PAIR_TABLE_VMS: usize = 8;

/// The report of one run.
pub(crate) fn render(run: &RunAnalysis) -> String {
    let s = run.summary();
    let mut out = String::new();
    header(&mut out, s);
    out.push('\n');
    out.push_str(&vm_clock_table(s));
    out.push('\n');
    out.push_str(&vm_queue_table(s));
    out.push('\n');
    run_figures(&mut out, run);
    if let Some(c) = &s.concurrency {
        concurrency(&mut out, c, s.vms.len());
    }
    notices(&mut out, run);
    if !s.faults.is_empty() {
        faults(&mut out, &s.faults);
    }
    rules(&mut out, run);
    if !s.check.incomplete.is_empty() {
        let vms: Vec<String> = s
            .check
            .incomplete
            .iter()
            .map(|vm| format!("vm {vm}"))
            .collect();
        let _ = writeln!(
            out,
            "Incomplete: the log of {} ends without a stop line (the run was killed or is still \
             running), so the run cannot be healthy",
            vms.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "Healthy: {}",
        if run.is_healthy() { "yes" } else { "NO" }
    );
    if !run.files.is_empty() {
        out.push_str("Wrote:\n");
        for f in &run.files {
            let _ = writeln!(out, "  {}", f.display());
        }
    }
    out
}

/// The run's name, size and settings, and a merged run's clock offsets.
fn header(out: &mut String, s: &Summary) {
    let _ = writeln!(out, "Run {} ({})", s.run_id, s.run_dir);
    let _ = writeln!(
        out,
        "  {} VMs, seed {}, runtime {}, {} lines, {} ticks over {:.3} s",
        s.vms.len(),
        opt(s.settings.seed),
        s.settings.runtime.map_or("?".into(), |r| format!("{r} s")),
        s.lines,
        s.ticks,
        s.span_s
    );
    if !s.clock_offsets.is_empty() {
        clock_offsets(out, &s.clock_offsets);
    }
}

/// The first per-VM table: rates, events and clock jumps.
fn vm_clock_table(s: &Summary) -> String {
    super::table::render(
        &[
            "VM",
            "rate cfg",
            "rate meas",
            "ticks",
            "send",
            "recv",
            "int",
            "final lc",
            "lc/s",
            "jump mean",
            "p95",
            "max",
        ],
        s.vms
            .iter()
            .map(|v| {
                vec![
                    v.vm.to_string(),
                    v.configured_rate.map_or("?".into(), |r| format!("{r:.2}")),
                    format!("{:.2}", v.measured_rate),
                    v.ticks.to_string(),
                    v.sent.to_string(),
                    v.received.to_string(),
                    v.internal.to_string(),
                    v.final_clock.to_string(),
                    format!("{:.2}", v.clock_rate),
                    format!("{:.2}", v.mean_jump),
                    v.p95_jump.to_string(),
                    v.max_jump.to_string(),
                ]
            })
            .collect(),
    )
}

/// The second per-VM table: queues, waits and drift.
fn vm_queue_table(s: &Summary) -> String {
    super::table::render(
        &[
            "VM",
            "queue mean",
            "max",
            "final",
            "left",
            "wait ms mean",
            "p95",
            "max",
            "drift mean",
            "max",
        ],
        s.vms
            .iter()
            .map(|v| {
                vec![
                    v.vm.to_string(),
                    format!("{:.2}", v.mean_queue),
                    v.max_queue.to_string(),
                    v.final_queue.to_string(),
                    opt(v.left_in_queue),
                    format!("{:.3}", v.wait_mean_ms),
                    format!("{:.3}", v.wait_p95_ms),
                    format!("{:.3}", v.wait_max_ms),
                    format!("{:.2}", v.drift_mean),
                    v.drift_max.to_string(),
                ]
            })
            .collect(),
    )
}

/// The run's message accounts, waits, tick lateness and lagging VM.
fn run_figures(out: &mut String, run: &RunAnalysis) {
    let s = run.summary();
    let m = &s.messages;
    let owed: u64 = s.faults.iter().map(|f| f.dropped).sum();
    let _ = writeln!(
        out,
        "Messages: sent {}, received {}, left in queues {}, dropped {}{}, unaccounted {}",
        m.sent,
        m.received,
        m.left_in_queues,
        m.dropped,
        if owed > 0 {
            format!(" ({owed} of them owed to faults)")
        } else {
            String::new()
        },
        m.unaccounted
    );
    if m.unaccounted != 0 {
        // Examples among the messages no stop line accounts for (left in a queue, dropped).
        for example in &run.unreceived {
            let _ = writeln!(out, "  sent, never received: {example}");
        }
    }
    let _ = writeln!(
        out,
        "Waits: mean {:.3} ms, p95 {:.3} ms, max {:.3} ms over {} messages",
        s.waits.mean_ms, s.waits.p95_ms, s.waits.max_ms, s.waits.count
    );
    if let Some(late) = run.late_max_us() {
        let _ = writeln!(
            out,
            "Ticks: the latest fired {:.3} ms behind its schedule (stop lines' late_max_us)",
            late as f64 / 1000.0
        );
    }
    match s
        .lagging_vm
        .and_then(|id| s.vms.iter().find(|v| v.vm == id))
    {
        Some(v) => {
            let _ = writeln!(
                out,
                "Lagging VM: {} (mean gap to the leader {:.2}, max {})",
                v.vm, v.drift_mean, v.drift_max
            );
        }
        None => out.push_str("Lagging VM: none\n"),
    }
}

/// The WARN/ERRO/CRIT counts with the lines quoted, and the analysis's notes.
fn notices(out: &mut String, run: &RunAnalysis) {
    let s = run.summary();
    let _ = writeln!(
        out,
        "WARN lines: {}, ERRO/CRIT lines: {}",
        s.warnings, s.errors
    );
    for notice in &run.notices {
        let _ = writeln!(out, "  {notice}");
    }
    for note in &s.notes {
        let _ = writeln!(out, "Note: {note}");
    }
}

/// The verdict on the model's rules, with the first violations quoted.
fn rules(out: &mut String, run: &RunAnalysis) {
    let s = run.summary();
    let total = s.check.violations;
    if total == 0 {
        out.push_str("Rules of the model: OK, no violation\n");
        return;
    }
    let by_rule: Vec<String> = s
        .check
        .by_rule
        .iter()
        .map(|(r, n)| format!("{r} {n}"))
        .collect();
    let _ = writeln!(
        out,
        "Rules of the model: BROKEN, {total} violations ({})",
        by_rule.join(", ")
    );
    for v in run.violations().iter().take(VIOLATIONS_SHOWN) {
        let _ = writeln!(out, "  {v}");
    }
    let shown = run.violations().len().min(VIOLATIONS_SHOWN) as u64;
    if total > shown {
        let _ = writeln!(out, "  ... and {} more", total - shown);
    }
}

/// How many findings owed to a fault the report quotes.
const EXPECTED_SHOWN: usize = 10;

/// What each fault did, and the findings owed to it.
fn faults(out: &mut String, faults: &[FaultSummary]) {
    let _ = writeln!(out, "Faults: {}", faults.len());
    for f in faults {
        let vms: Vec<String> = f.vms.iter().map(VmId::to_string).collect();
        let _ = writeln!(
            out,
            "  {} {} (VM {}): {}",
            f.fault,
            f.kind,
            vms.join(" "),
            f.parameters
        );
        for l in &f.lines {
            let end = match (&l.end, l.queue_at_end, l.lc_at_end) {
                (Some(at), Some(q), Some(lc)) => format!("end {at} (queue {q}, lc {lc})"),
                _ => "no end in the log".to_string(),
            };
            let start = match (&l.start, l.queue_at_start, l.lc_at_start) {
                (Some(at), Some(q), Some(lc)) => format!("start {at} (queue {q}, lc {lc})"),
                _ => "no start in the log".to_string(),
            };
            let _ = writeln!(out, "    VM {}: {start}, {end}", l.vm);
        }
        let mut figures = vec![format!("dropped {}", f.dropped)];
        if let Some(lost) = f.lost {
            figures.push(format!("lost while down {lost}"));
        }
        if let Some(skipped) = f.ticks_skipped {
            figures.push(format!("ticks skipped {skipped}"));
        }
        if let Some(p) = &f.partition {
            figures.push(format!(
                "messages sent across in the window {}, received after its end {}",
                p.sent_across, p.received_after_end
            ));
        }
        let _ = writeln!(out, "    {}", figures.join(", "));
        if let Some(p) = &f.partition {
            if let (Some(start), Some(max)) = (p.clock_gap_at_start, p.clock_gap_max) {
                let end = p.clock_gap_at_end.map_or("-".into(), |e| e.to_string());
                let back = match (p.clock_gap_at_end, p.gap_recovered_after_s) {
                    (None, _) => "the window did not end within the run".to_string(),
                    (Some(_), Some(s)) => format!("back to at most {start} {s:.3} s after the end"),
                    (Some(_), None) => format!("not back to at most {start} within the run"),
                };
                let _ = writeln!(
                    out,
                    "    clock gap between the groups: {start} at the start, {max} at most, {end} at the end; {back}"
                );
            }
        }
        if f.expected_findings > 0 {
            let _ = writeln!(
                out,
                "    expected findings owed to it (clock condition broken by the reset): {}",
                f.expected_findings
            );
            for e in f.expected.iter().take(EXPECTED_SHOWN) {
                let _ = writeln!(out, "      {}: {}", e.at, e.detail);
            }
            let shown = f.expected.len().min(EXPECTED_SHOWN) as u64;
            if f.expected_findings > shown {
                let _ = writeln!(out, "      ... and {} more", f.expected_findings - shown);
            }
        }
    }
}

/// The causality figures: the run's, then each VM pair's for a small run.
fn concurrency(out: &mut String, c: &Concurrency, vms: usize) {
    let source = if c.clocks == "logged" {
        "vector clocks from the send/receive matching, checked against the logs' vc"
    } else {
        "vector clocks derived from the send/receive matching: the logs carry no vc"
    };
    let _ = writeln!(out, "Causality ({source}):");
    let _ = writeln!(
        out,
        "  {} events, {} pairs: {} ordered, {} concurrent ({}); Lamport clocks order {} \
         concurrent pairs ({} of all pairs), {} share a clock value",
        c.events,
        c.counts.pairs,
        c.counts.ordered,
        c.counts.concurrent,
        percent(c.counts.concurrent_fraction),
        c.counts.lamport_ordered_concurrent,
        percent(c.counts.lamport_ordered_concurrent_fraction),
        c.counts.concurrent_same_lc
    );
    if c.vm_pairs.is_empty() || vms > PAIR_TABLE_VMS {
        return;
    }
    let table = super::table::render(
        &[
            "VMs",
            "pairs",
            "ordered",
            "concurrent",
            "conc %",
            "same lc",
            "Lamport-ordered",
            "L-ord %",
        ],
        c.vm_pairs
            .iter()
            .map(|p| {
                vec![
                    format!("{}-{}", p.vms[0], p.vms[1]),
                    p.counts.pairs.to_string(),
                    p.counts.ordered.to_string(),
                    p.counts.concurrent.to_string(),
                    format!("{:.2}", 100.0 * p.counts.concurrent_fraction),
                    p.counts.concurrent_same_lc.to_string(),
                    p.counts.lamport_ordered_concurrent.to_string(),
                    format!(
                        "{:.2}",
                        100.0 * p.counts.lamport_ordered_concurrent_fraction
                    ),
                ]
            })
            .collect(),
    );
    for line in table.lines() {
        let _ = writeln!(out, "  {line}");
    }
}

fn percent(fraction: f64) -> String {
    format!("{:.2}%", 100.0 * fraction)
}

/// One row per run, for comparing runs side by side.
pub(crate) fn comparison(runs: &[RunAnalysis]) -> String {
    super::table::render(
        &[
            "run",
            "VMs",
            "seed",
            "runtime s",
            "ticks",
            "jump p95",
            "jump max",
            "drift max",
            "lagging",
            "wait p95 ms",
            "concurrent %",
            "unaccounted",
            "violations",
            "healthy",
        ],
        runs.iter()
            .map(|run| {
                let s: &Summary = run.summary();
                vec![
                    s.run_id.clone(),
                    s.vms.len().to_string(),
                    opt(s.settings.seed),
                    s.settings.runtime.map_or("?".into(), |r| format!("{r}")),
                    s.ticks.to_string(),
                    s.vms
                        .iter()
                        .map(|v| v.p95_jump)
                        .max()
                        .unwrap_or(0)
                        .to_string(),
                    s.vms
                        .iter()
                        .map(|v| v.max_jump)
                        .max()
                        .unwrap_or(0)
                        .to_string(),
                    s.vms
                        .iter()
                        .map(|v| v.drift_max)
                        .max()
                        .unwrap_or(0)
                        .to_string(),
                    opt(s.lagging_vm),
                    format!("{:.3}", s.waits.p95_ms),
                    s.concurrency.as_ref().map_or("?".into(), |c| {
                        format!("{:.2}", 100.0 * c.counts.concurrent_fraction)
                    }),
                    s.messages.unaccounted.to_string(),
                    s.check.violations.to_string(),
                    if s.check.healthy { "yes" } else { "NO" }.to_string(),
                ]
            })
            .collect(),
    )
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "?".to_string(), |v| v.to_string())
}

/// The section of a merged run: each node directory's clock offset, its bounds and what they
/// rest on.
fn clock_offsets(out: &mut String, offsets: &[ClockOffset]) {
    out.push_str(
        "Host clock offsets (estimated from the messages between directories, relative to the \
         first; removed from every time below):\n",
    );
    let bound = |b: Option<f64>| b.map_or("?".to_string(), |s| format!("{s:+.6}"));
    for o in offsets {
        let vms: Vec<String> = o.vms.iter().map(VmId::to_string).collect();
        let messages = format!("{} messages out and {} in", o.messages_out, o.messages_in);
        let bounds = format!("{}..{} s", bound(o.lower_s), bound(o.upper_s));
        let said = match o.basis {
            OffsetBasis::Reference => format!("reference ({messages})"),
            OffsetBasis::Interval => {
                format!("{:+.6} s (bounds {bounds} from {messages})", o.offset_s)
            }
            OffsetBasis::LowerBoundOnly | OffsetBasis::UpperBoundOnly => format!(
                "{:+.6} s ({} bound only, {bounds} from {messages}: the estimate is the bound)",
                o.offset_s,
                if o.basis == OffsetBasis::LowerBoundOnly {
                    "lower"
                } else {
                    "upper"
                }
            ),
            OffsetBasis::Unbounded => {
                format!(
                    "unknown, taken as 0 (no message ties it to the first directory; {messages})"
                )
            }
            OffsetBasis::Contradictory => format!(
                "{:+.6} s (CONTRADICTORY bounds {bounds} from {messages}: the clocks drifted or \
                 a log is wrongly stamped; some receives may appear before their sends)",
                o.offset_s
            ),
        };
        let _ = writeln!(out, "  {} (vm {}): {said}", o.dir, vms.join(" "));
    }
}
