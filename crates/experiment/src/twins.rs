//! `experiment --twins`: each real-time trial run again on virtual time, and the two compared.
//!
//! A trial's *twin* has the trial's seed and settings with `virtual_time = true`, so it has the
//! same rates, tick phases and die rolls; the two can differ only where real timing changed
//! which message reached a queue before which tick. Comparing them event for event
//! ([`lc_analysis::compare_runs`]) measures how often that happens and what it does to the
//! figures, which is what a reader needs to know before trusting a virtual-time study as a
//! stand-in for real runs.
//!
//! [`run_twin`] makes and compares one twin (called by the trial runner right after its trial);
//! the rest is pure: [`twins_csv`] and [`report_section`] turn the records into `twins.csv` and
//! the report's section. Differences are the twin's figure minus the real run's, for the trial's
//! slowest VM (the one its figures describe, see `figures.rs`).

use super::figures::Spread;
use super::plan::Trial;
use super::record::{TrialRecord, TrialStatus};
use super::tables::{cell, number};
use super::trial_run::{compress_logs, make_run, Runner};
use lc_analysis::{self, Headline, RunComparison};
use lc_core::vm_id::VmId;
use lc_settings::Overrides;
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

/// The twin's directory inside its trial's directory.
pub(crate) const TWIN_DIR: &str = "virtual";
/// The study file with one row per trial.
pub(crate) const TWINS_CSV: &str = "twins.csv";

/// What came of one trial's twin.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TwinRecord {
    pub(crate) variation: String,
    pub(crate) number: u32,
    pub(crate) seed: u64,
    pub(crate) status: TwinStatus,
    /// The trial's slowest VM, whose differences the row reports.
    pub(crate) slowest_vm: Option<VmId>,
    /// The real run and the twin, once made.
    pub(crate) run_dir: Option<PathBuf>,
    pub(crate) twin_dir: Option<PathBuf>,
    /// Present when both runs were made and compared.
    pub(crate) comparison: Option<RunComparison>,
}

/// How a twin ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TwinStatus {
    /// Both runs made and compared.
    Compared,
    /// No twin was made: why (a trial on virtual time already, a failed trial, an interrupt).
    NoTwin(String),
    /// The twin or the comparison failed: why.
    Failed(String),
}

impl fmt::Display for TwinStatus {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            TwinStatus::Compared => f.write_str("compared"),
            TwinStatus::NoTwin(why) => write!(f, "no twin: {why}"),
            TwinStatus::Failed(why) => write!(f, "failed: {why}"),
        }
    }
}

impl TwinRecord {
    fn new(trial: &Trial, status: TwinStatus) -> TwinRecord {
        TwinRecord {
            variation: trial.variation.clone(),
            number: trial.number,
            seed: trial.spec.seed,
            status,
            slowest_vm: None,
            run_dir: None,
            twin_dir: None,
            comparison: None,
        }
    }

    /// The record of a twin never made because the study was interrupted.
    pub(crate) fn not_run(trial: &Trial) -> TwinRecord {
        TwinRecord::new(
            trial,
            TwinStatus::NoTwin("not run (study interrupted)".into()),
        )
    }

    /// The slowest VM's comparison, if compared.
    fn slowest(&self) -> Option<&lc_analysis::VmComparison> {
        self.comparison.as_ref()?.vm(self.slowest_vm?)
    }

    /// One phrase for the progress line.
    pub(crate) fn verdict(&self) -> String {
        let Some(comparison) = &self.comparison else {
            return self.status.to_string();
        };
        match comparison.first_divergence() {
            None => format!("identical ({} events)", comparison.events()),
            Some((vm, first)) => format!(
                "{} of {} events differ, the first at {:.3} s (VM {vm})",
                comparison.differing(),
                comparison.events(),
                first.time_s()
            ),
        }
    }
}

/// Runs the virtual-time twin of `trial` (which `record` says how it went) into
/// `trials/<variation>-<k>/virtual/`, analyses and judges it like a trial, and compares it with
/// the real run; then keeps its logs gzipped if the runner keeps the trials' so.
pub(crate) fn run_twin(trial: &Trial, record: &TrialRecord, runner: &Runner) -> TwinRecord {
    let mut twin = TwinRecord::new(trial, TwinStatus::Compared);
    let run_dir = match (&record.status, &record.run_dir) {
        _ if trial.spec.virtual_time => {
            return TwinRecord::new(
                trial,
                TwinStatus::NoTwin("the trial itself ran on virtual time".into()),
            )
        }
        (TrialStatus::Failed(_) | TrialStatus::NotRun, _) | (_, None) => {
            return TwinRecord::new(trial, TwinStatus::NoTwin("the trial did not run".into()))
        }
        (_, Some(run_dir)) => run_dir,
    };
    twin.run_dir = Some(run_dir.clone());
    twin.slowest_vm = record.figures.as_ref().map(|f| f.slowest_vm);
    let overrides = Overrides {
        log_dir: Some(runner.trials_dir.join(trial.dir_name()).join(TWIN_DIR)),
        virtual_time: true,
        ..Overrides::default()
    };
    let (outcome, analysis) = match make_run(runner.maker, trial, &overrides) {
        Ok(made) => made,
        Err(why) => {
            twin.status = TwinStatus::Failed(why);
            return twin;
        }
    };
    twin.twin_dir = Some(outcome.run_dir.clone());
    match analysis {
        Err(why) => twin.status = TwinStatus::Failed(why),
        Ok(analysis) => {
            // Judged by the very rules a trial is, on a scratch record.
            let mut judged = TrialRecord::not_run(trial);
            judged.judge(&analysis, outcome.healthy, &outcome.missing);
            twin.status = match judged.status {
                TrialStatus::Ok => match lc_analysis::compare_runs(run_dir, &outcome.run_dir) {
                    Ok(comparison) => {
                        twin.comparison = Some(comparison);
                        TwinStatus::Compared
                    }
                    Err(e) => TwinStatus::Failed(format!("comparison: {e}")),
                },
                other => TwinStatus::Failed(format!("the twin is {other}")),
            };
        }
    }
    if runner.compress_logs {
        if let Err(why) = compress_logs(&outcome.run_dir) {
            twin.status = TwinStatus::Failed(format!("its logs could not be kept: {why}"));
        }
    }
    twin
}

/// `twins.csv`: one row per trial, in plan order. `d_<figure>` is the twin's figure minus the
/// real run's, for the trial's slowest VM.
pub(crate) fn twins_csv(twins: &[TwinRecord]) -> String {
    let mut out = String::from(
        "variation,trial,seed,status,identical,events,events_differing,vms_differing,\
         first_divergence_s,first_divergence_vm,first_divergence_event,slowest_vm",
    );
    for headline in Headline::ALL {
        let _ = write!(out, ",d_{}", headline.column());
    }
    out.push_str(",run_dir,twin_dir\n");
    for twin in twins {
        let mut cells = vec![
            cell(&twin.variation),
            twin.number.to_string(),
            twin.seed.to_string(),
            cell(&twin.status.to_string()),
        ];
        match &twin.comparison {
            Some(c) => {
                let first = c.first_divergence();
                cells.extend([
                    if c.identical() { "yes" } else { "no" }.to_string(),
                    c.events().to_string(),
                    c.differing().to_string(),
                    c.vms.iter().filter(|v| !v.identical()).count().to_string(),
                    first.map_or(String::new(), |(_, d)| number(d.time_s())),
                    first.map_or(String::new(), |(vm, _)| vm.to_string()),
                    first.map_or(String::new(), |(_, d)| d.event.to_string()),
                ]);
            }
            None => cells.extend(std::iter::repeat_n(String::new(), 7)),
        }
        cells.push(twin.slowest_vm.map_or(String::new(), |vm| vm.to_string()));
        let slowest = twin.slowest();
        cells
            .extend(Headline::ALL.map(|h| slowest.map_or(String::new(), |vm| number(vm.delta(h)))));
        for dir in [&twin.run_dir, &twin.twin_dir] {
            cells.push(cell(
                &dir.as_ref()
                    .map(|d| d.display().to_string())
                    .unwrap_or_default(),
            ));
        }
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// The figures the report shows for each differing trial, by the slowest VM.
const SHOWN: [Headline; 4] = [
    Headline::MeanJump,
    Headline::MaxJump,
    Headline::MaxQueue,
    Headline::FinalLc,
];

/// The report's section on twins: how many trials matched their twin, and by how much the
/// others moved. Paths are shown relative to `study_dir`.
pub(crate) fn report_section(twins: &[TwinRecord], study_dir: &Path) -> String {
    let mut out = String::from("\n## Real runs and their virtual-time twins\n\n");
    out.push_str(
        "Each real-time trial was run again on virtual time with the same seed and settings (its \
         twin, in `trials/<variation>-<k>/virtual/`), and the two were compared event by event, \
         timestamps ignored: same kind, clock, queue and message, tick by tick. `twins.csv` has \
         one row per trial; a difference is the twin's figure minus the real run's, for the \
         trial's slowest VM. `logical-clocks analyze --compare REAL TWIN` shows one pair VM by VM.\n\n",
    );
    let compared: Vec<(&TwinRecord, &RunComparison)> = twins
        .iter()
        .filter_map(|t| Some((t, t.comparison.as_ref()?)))
        .collect();
    let identical = compared.iter().filter(|(_, c)| c.identical()).count();
    let _ = writeln!(
        out,
        "**{identical} of {} compared trials identical to their twin.**",
        compared.len()
    );
    let uncompared: Vec<&TwinRecord> = twins.iter().filter(|t| t.comparison.is_none()).collect();
    if !uncompared.is_empty() {
        let _ = writeln!(out, "\nNot compared ({}):\n", uncompared.len());
        for t in uncompared {
            let _ = writeln!(out, "- {} #{}: {}", t.variation, t.number, t.status);
        }
    }
    let differing: Vec<&(&TwinRecord, &RunComparison)> =
        compared.iter().filter(|(_, c)| !c.identical()).collect();
    if differing.is_empty() {
        return out;
    }

    differing_figures(&mut out, &differing);
    differing_table(&mut out, &differing, study_dir);
    out
}

/// The values' mean and range as the section words them; `-` for none.
fn spread(values: Vec<f64>) -> String {
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    match Spread::of(&values) {
        Some(s) => format!(
            "mean {}, from {} to {}",
            number(s.mean),
            number(min),
            number(max)
        ),
        None => "-".into(),
    }
}

/// How far the differing twins moved from their trials: events, first divergence, figures.
fn differing_figures(out: &mut String, differing: &[&(&TwinRecord, &RunComparison)]) {
    let _ = writeln!(out, "\nIn the {} that differ:\n", differing.len());
    let _ = writeln!(
        out,
        "- events differing: {} (share of the run's events: {})",
        spread(
            differing
                .iter()
                .map(|(_, c)| c.differing() as f64)
                .collect()
        ),
        spread(
            differing
                .iter()
                .map(|(_, c)| c.differing() as f64 / c.events().max(1) as f64)
                .collect()
        )
    );
    let _ = writeln!(
        out,
        "- first divergence (s into the run): {}",
        spread(
            differing
                .iter()
                .filter_map(|(_, c)| Some(c.first_divergence()?.1.time_s()))
                .collect()
        )
    );
    for headline in SHOWN {
        let deltas: Vec<f64> = differing
            .iter()
            .filter_map(|(t, _)| Some(t.slowest()?.delta(headline)))
            .collect();
        let _ = writeln!(
            out,
            "- slowest VM's {} moved by: {}",
            headline.column(),
            spread(deltas)
        );
    }
}

/// One row per differing trial: where it first diverged and how its slowest VM moved.
fn differing_table(
    out: &mut String,
    differing: &[&(&TwinRecord, &RunComparison)],
    study_dir: &Path,
) {
    out.push_str(
        "\n| trial | events differing | first divergence | Δ mean jump | Δ max jump | Δ max queue | Δ final lc | twin |\n\
         |---|---:|---|---:|---:|---:|---:|---|\n",
    );
    for (t, c) in differing {
        let first = c.first_divergence().map_or("-".into(), |(vm, d)| {
            format!("{:.3} s, VM {vm}", d.time_s())
        });
        let deltas: Vec<String> = SHOWN
            .iter()
            .map(|&h| t.slowest().map_or("-".into(), |vm| number(vm.delta(h))))
            .collect();
        let dir = t.twin_dir.as_deref().map_or(String::new(), |d| {
            let shown = d.strip_prefix(study_dir).unwrap_or(d);
            format!("[{0}]({0})", shown.display())
        });
        let _ = writeln!(
            out,
            "| {} #{} | {} of {} | {first} | {} | {dir} |",
            t.variation,
            t.number,
            c.differing(),
            c.events(),
            deltas.join(" | ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lc_analysis::{Divergence, VmComparison};

    /// A comparison of two VMs; VM 2 differs in `differing` events from 2.5 s, with the
    /// twin's figures `shift` above the real run's.
    fn comparison(differing: u64, shift: f64) -> RunComparison {
        let vm = |vm: u32, differing: u64, shift: f64| VmComparison {
            vm: VmId::literal(vm),
            events: [100, 100],
            differing,
            first: (differing > 0).then_some(Divergence {
                event: 8,
                at_s: [Some(2.5), Some(2.501)],
            }),
            figures: [
                [2.0, 5.0, 1.0, 300.0, 20.0],
                [2.0 + shift, 5.0, 1.0 + shift, 300.0, 20.0],
            ],
        };
        RunComparison {
            runs: [PathBuf::from("real"), PathBuf::from("twin")],
            vms: vec![vm(1, 0, 0.0), vm(2, differing, shift)],
            settings: Vec::new(),
        }
    }

    fn twin(variation: &str, number: u32, comparison: Option<RunComparison>) -> TwinRecord {
        let compared = comparison.is_some();
        TwinRecord {
            variation: variation.into(),
            number,
            seed: 7,
            status: if compared {
                TwinStatus::Compared
            } else {
                TwinStatus::NoTwin("the trial itself ran on virtual time".into())
            },
            slowest_vm: compared.then_some(VmId::literal(2)),
            run_dir: compared.then(|| PathBuf::from("/s/trials/a-1/run")),
            twin_dir: compared.then(|| PathBuf::from("/s/trials/a-1/virtual/run")),
            comparison,
        }
    }

    #[test]
    fn one_row_per_trial_with_the_slowest_vms_differences() {
        let twins = [
            twin("a", 1, Some(comparison(0, 0.0))),
            twin("a", 2, Some(comparison(40, 0.5))),
            twin("v", 1, None),
        ];
        let csv = twins_csv(&twins);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 4, "{csv}");
        let header: Vec<&str> = lines[0].split(',').collect();
        assert!(lines[0].starts_with("variation,trial,seed,status,identical,events,"));
        for line in &lines[1..] {
            assert_eq!(line.split(',').count(), header.len(), "{line}");
        }
        let col = |line: &str, name: &str| {
            let i = header.iter().position(|h| *h == name).unwrap();
            line.split(',').nth(i).unwrap().to_string()
        };
        assert_eq!(col(lines[1], "identical"), "yes");
        assert_eq!(col(lines[1], "events_differing"), "0");
        assert_eq!(col(lines[1], "first_divergence_s"), "");
        assert_eq!(col(lines[1], "d_mean_jump"), "0");
        assert_eq!(col(lines[2], "identical"), "no");
        assert_eq!(col(lines[2], "events"), "200");
        assert_eq!(col(lines[2], "events_differing"), "40");
        assert_eq!(col(lines[2], "vms_differing"), "1");
        assert_eq!(col(lines[2], "first_divergence_s"), "2.5");
        assert_eq!(col(lines[2], "first_divergence_vm"), "2");
        assert_eq!(col(lines[2], "first_divergence_event"), "8");
        assert_eq!(col(lines[2], "d_mean_jump"), "0.5");
        assert_eq!(col(lines[2], "d_max_queue"), "0.5");
        assert_eq!(col(lines[2], "d_final_lc"), "0");
        assert_eq!(col(lines[2], "twin_dir"), "/s/trials/a-1/virtual/run");
        assert_eq!(
            col(lines[3], "status"),
            "no twin: the trial itself ran on virtual time"
        );
        assert_eq!(col(lines[3], "identical"), "");
    }

    #[test]
    fn the_report_counts_identical_twins_and_sums_up_the_others() {
        let twins = [
            twin("a", 1, Some(comparison(0, 0.0))),
            twin("a", 2, Some(comparison(40, 0.5))),
            twin("a", 3, Some(comparison(20, 1.5))),
            twin("v", 1, None),
        ];
        let text = report_section(&twins, Path::new("/s"));
        assert!(
            text.contains("**1 of 3 compared trials identical to their twin.**"),
            "{text}"
        );
        assert!(text.contains("- v #1: no twin: the trial itself ran on virtual time"));
        assert!(text.contains("In the 2 that differ:"), "{text}");
        assert!(
            text.contains("- events differing: mean 30, from 20 to 40"),
            "{text}"
        );
        assert!(text.contains("- slowest VM's mean_jump moved by: mean 1, from 0.5 to 1.5"));
        assert!(
            text.contains("| a #2 | 40 of 200 | 2.500 s, VM 2 | 0.5 | 0 | 0.5 | 0 | [trials/a-1/virtual/run](trials/a-1/virtual/run) |"),
            "{text}"
        );
        assert!(
            !text.contains("| a #1 |"),
            "identical trials are not listed"
        );

        let all_same = report_section(&twins[..1], Path::new("/s"));
        assert!(all_same.contains("**1 of 1 compared trials identical"));
        assert!(!all_same.contains("that differ"));
    }
}
