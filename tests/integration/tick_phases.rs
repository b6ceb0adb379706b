//! Tick phases: out of phase by default, as machines started at different
//! moments are; `tick_phase = "aligned"` is the special case where VMs at
//! equal rates tick at the very same instants.

use crate::common::{check_logs, read_logs, recorded_rates, run_model};
use lc_analysis::{analyze_run, AnalyzeOptions};

const EQUAL_RATES: &str = "vm_count = 3\nruntime = 600\nseed = 11\nrates = [3, 3, 3]\n";

/// Each VM's `phase_ms` and mean and largest clock jump.
fn phases_and_jumps(settings: &str) -> Vec<(f64, f64, i64)> {
    let run = run_model(settings, &["--virtual-time"]);
    assert!(run.output.status.success(), "{}", run.stderr());
    let dir = run.run_dir();
    let logs = read_logs(&dir);
    // One event per tick due within the run, whatever the phase.
    check_logs(&dir, &logs, &recorded_rates(&dir), Some(600.0));
    let analysis = analyze_run(&dir, &AnalyzeOptions { plots: false }).unwrap();
    assert!(analysis.is_healthy(), "{}", analysis.report());
    let summary = analysis.summary();
    logs.values()
        .zip(&summary.vms)
        .map(|(lines, vm)| {
            let phase_ms: f64 = lines[0].keys["phase_ms"].parse().unwrap();
            (phase_ms, vm.mean_jump, vm.max_jump)
        })
        .collect()
}

#[test]
fn out_of_phase_vms_at_equal_rates_see_messages_between_their_ticks() {
    let vms = phases_and_jumps(EQUAL_RATES);
    for &(phase_ms, mean_jump, max_jump) in &vms {
        assert!(phase_ms > 0.0 && phase_ms <= 1000.0 / 3.0, "{vms:?}");
        // A message that arrives between two ticks may carry a clock one
        // ahead of the receiver's: a jump of 2. Over 1,800 ticks that
        // happens dozens of times (measured: mean jumps of 1.1 and more).
        assert!(mean_jump > 1.03, "{vms:?}");
        assert!(max_jump >= 2, "{vms:?}");
    }
    let mut phases: Vec<f64> = vms.iter().map(|v| v.0).collect();
    phases.dedup();
    assert_eq!(phases.len(), 3, "each VM its own phase: {vms:?}");
}

#[test]
fn aligned_vms_at_equal_rates_never_jump_by_more_than_one() {
    let vms = phases_and_jumps(&format!("{EQUAL_RATES}tick_phase = \"aligned\"\n"));
    for &(phase_ms, mean_jump, max_jump) in &vms {
        // One period after the start, to the nanosecond.
        assert!((phase_ms - 1000.0 / 3.0).abs() < 1e-5, "{vms:?}");
        assert_eq!((mean_jump, max_jump), (1.0, 1), "{vms:?}");
    }
}

#[test]
fn a_wrong_tick_phase_is_one_clear_line() {
    let run = run_model(
        "vm_count = 3\nruntime = 1\ntick_phase = \"staggered\"\n",
        &["--virtual-time"],
    );
    assert_eq!(run.output.status.code(), Some(2), "{}", run.stderr());
    let stderr = run.stderr();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("tick_phase")
            && stderr.contains("\"random\"")
            && stderr.contains("\"aligned\""),
        "{stderr}"
    );
}
