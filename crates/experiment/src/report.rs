//! `report.md`: the study in one page, with its tables, its plots and the command that
//! repeats it.
//!
//! Rendered from the records and the aggregated rows only (pure), so it always says what the
//! CSV files say. Trials that did not give usable figures are marked in bold in the trial table
//! and counted at the top, so a reader cannot miss them.

use super::fault_table;
use super::figures::Figure;
use super::plan::Plan;
use super::prediction;
use super::record::{TrialRecord, TrialStatus, VariationRow};
use super::tables::{number, spread_text};
use std::fmt::Write as _;
use std::path::Path;

/// What the report says about how the study was made.
#[derive(Debug, Clone)]
pub(crate) struct Context<'a> {
    pub(crate) plan: &'a Plan,
    /// The plan as it was given: a path, or the built-in default.
    pub(crate) plan_origin: &'a str,
    pub(crate) jobs: usize,
    /// `--virtual-time` was given.
    pub(crate) virtual_time: bool,
    /// The flags that repeat the study (`--jobs N`, `--virtual-time`).
    pub(crate) flags: &'a str,
    /// The study directory (trial run directories are shown relative to it).
    pub(crate) study_dir: &'a Path,
    /// Plot files in the study directory, with a caption each.
    pub(crate) plots: &'a [(String, String)],
    /// When the study started (RFC 3339) and how long it took.
    pub(crate) started: &'a str,
    pub(crate) wall_s: f64,
}

/// The figures shown in the report's summary table: the headline ones, the tail of the
/// waits, and how late ticks fired.
const SHOWN: [Figure; 8] = [
    Figure::HEADLINE[0],
    Figure::HEADLINE[1],
    Figure::HEADLINE[2],
    Figure::HEADLINE[3],
    Figure::HEADLINE[4],
    Figure::HEADLINE[5],
    Figure::WaitP95,
    Figure::LateMax,
];

/// Short column headers for the report's tables.
fn header(figure: Figure) -> &'static str {
    match figure {
        Figure::MaxJump => "max jump",
        Figure::MeanJump => "mean jump",
        Figure::DriftMean => "drift mean",
        Figure::DriftMax => "drift max",
        Figure::MaxQueue => "max queue",
        Figure::MeanQueue => "mean queue",
        Figure::WaitMean => "wait mean ms",
        Figure::WaitP95 => "wait p95 ms",
        Figure::LateMax => "late max ms",
    }
}

pub(crate) fn render(ctx: &Context, rows: &[VariationRow], records: &[TrialRecord]) -> String {
    let mut out = String::new();
    intro(&mut out, ctx, records);
    variations(&mut out, ctx.plan, rows);
    out.push_str(
        "\n## Figures by variation\n\nMean ± standard deviation across the variation's healthy \
         trials. Jumps, drift and queues are the *slowest VM*'s (lowest configured rate); waits \
         and tick lateness cover all VMs.\n\n",
    );
    out.push_str(&figures_table(rows));
    out.push_str(&prediction::report_section(ctx.plan, records));
    out.push_str(&fault_table::report_section(records));

    if !ctx.plots.is_empty() {
        out.push_str("\n## Plots\n\n");
        for (file, caption) in ctx.plots {
            let _ = writeln!(out, "![{caption}]({file})\n");
        }
    }

    trials(&mut out, ctx, records);
    meaning(&mut out);
    out
}

/// The study's title, when and how it ran, its trials' outcome, and how to repeat it.
fn intro(out: &mut String, ctx: &Context, records: &[TrialRecord]) {
    let plan = ctx.plan;
    let _ = writeln!(out, "# Study: {}\n", plan.name);
    if let Some(description) = &plan.description {
        let _ = writeln!(out, "{description}\n");
    }
    let time = if ctx.virtual_time || plan.trials().all(|t| t.spec.virtual_time) {
        "virtual time"
    } else if plan.trials().any(|t| t.spec.virtual_time) {
        "real and virtual time"
    } else {
        "real time"
    };
    let count = |f: fn(&TrialStatus) -> bool| records.iter().filter(|r| f(&r.status)).count();
    let _ = writeln!(
        out,
        "Started {}, took {:.0} s of wall time: {} variations, {} trials on {time}, \
         {} at a time, plan seed {}.\n",
        ctx.started,
        ctx.wall_s,
        plan.variations.len(),
        records.len(),
        ctx.jobs,
        plan.seed
    );
    let _ = writeln!(
        out,
        "**Trials: {} ok, {} unhealthy, {} failed, {} not run.**\n",
        count(TrialStatus::is_ok),
        count(|s| matches!(s, TrialStatus::Unhealthy(_))),
        count(|s| matches!(s, TrialStatus::Failed(_))),
        count(|s| *s == TrialStatus::NotRun)
    );
    let _ = writeln!(
        out,
        "Repeat it with the plan copied into this directory (trial k of every variation runs \
         with the same seed, derived from the plan seed):\n\n```sh\n\
         logical-clocks experiment plan.toml {}\n```\n\n\
         (the plan came from {}).\n",
        ctx.flags, ctx.plan_origin
    );
}

/// The variations' settings and how many of their trials were healthy.
fn variations(out: &mut String, plan: &Plan, rows: &[VariationRow]) {
    out.push_str("## Variations\n\n| variation | settings | trials (ok) | description |\n|---|---|---|---|\n");
    if !plan.base.is_empty() {
        let _ = writeln!(
            out,
            "| *all* | `{}` | | the plan's `base`, under every variation |",
            plan.base.join("`, `")
        );
    }
    for row in rows {
        let settings = if row.overrides.is_empty() {
            "defaults".to_string()
        } else {
            format!("`{}`", row.overrides.join("`, `"))
        };
        let _ = writeln!(
            out,
            "| {} | {settings} | {} ({}) | {} |",
            row.name,
            row.trials,
            row.ok,
            row.description.as_deref().unwrap_or("")
        );
    }
}

/// One row per trial: its seed, rates, headline figures, status and run directory.
fn trials(out: &mut String, ctx: &Context, records: &[TrialRecord]) {
    out.push_str("## Trials\n\n| variation | # | seed | rates | slowest VM (rate) |");
    for figure in Figure::HEADLINE {
        let _ = write!(out, " {} |", header(figure));
    }
    out.push_str(" status | run |\n|---|---:|---:|---|---|");
    out.push_str(&"---:|".repeat(Figure::HEADLINE.len()));
    out.push_str("---|---|\n");
    for r in records {
        let rates: Vec<String> = r.rates.iter().map(u32::to_string).collect();
        let status = match r.status {
            TrialStatus::Ok => "ok".to_string(),
            ref other => format!("**{other}**"),
        };
        let run = r
            .run_dir
            .as_ref()
            .map(|d| {
                d.strip_prefix(ctx.study_dir)
                    .unwrap_or(d)
                    .display()
                    .to_string()
            })
            .map(|d| format!("`{d}`"))
            .unwrap_or_default();
        let _ = write!(
            out,
            "| {} | {} | {} | {} |",
            r.variation,
            r.number,
            r.seed,
            rates.join(" ")
        );
        match &r.figures {
            Some(f) => {
                let _ = write!(out, " {} ({}/s) |", f.slowest_vm, number(f.slowest_rate));
                for figure in Figure::HEADLINE {
                    let _ = write!(out, " {} |", number(f.get(figure)));
                }
            }
            None => out.push_str(&" |".repeat(1 + Figure::HEADLINE.len())),
        }
        let _ = writeln!(out, " {status} | {run} |");
    }
}

/// What each figure means, and where the rest of the study's figures are.
fn meaning(out: &mut String) {
    out.push_str("\n## What the figures mean\n\n");
    for figure in Figure::ALL {
        let _ = writeln!(out, "- `{}`: {}.", figure.column(), figure.label());
    }
    out.push_str(
        "\nEvery trial's run directory holds its logs, `summary.json` (all figures of every VM) \
         and its own plots; `study.csv` has one row per trial and `variations.csv` one row per \
         variation with every figure's mean (`_mean`) and standard deviation (`_sd`).\n",
    );
}

/// The variations' figures as a Markdown table (also printed at the end of a study).
pub fn figures_table(rows: &[VariationRow]) -> String {
    let mut out = String::from("| variation |");
    for figure in SHOWN {
        let _ = write!(out, " {} |", header(figure));
    }
    out.push_str("\n|---|");
    out.push_str(&"---:|".repeat(SHOWN.len()));
    out.push('\n');
    for row in rows {
        let _ = write!(out, "| {} |", row.name);
        for figure in SHOWN {
            let spread = row
                .spreads
                .iter()
                .find(|(f, _)| *f == figure)
                .and_then(|(_, s)| *s);
            let _ = write!(out, " {} |", spread_text(spread));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan;
    use crate::record::tests::{record, PLAN};
    use crate::record::variation_rows;

    #[test]
    fn the_report_holds_the_tables_plots_and_command_and_marks_failures() {
        let plan = plan::parse(PLAN).unwrap();
        let records = [
            record("a", 1, TrialStatus::Ok, 2.0),
            record("a", 2, TrialStatus::Ok, 4.0),
            record("b", 1, TrialStatus::Failed("cannot listen".into()), 0.0),
            record("b", 2, TrialStatus::NotRun, 0.0),
        ];
        let plots = [("figures.png".to_string(), "Figures".to_string())];
        let ctx = Context {
            plan: &plan,
            plan_origin: "plan.toml",
            jobs: 2,
            virtual_time: true,
            flags: "--jobs 2 --virtual-time",
            study_dir: Path::new("study"),
            plots: &plots,
            started: "2026-01-01T00:00:00Z",
            wall_s: 3.0,
        };
        let report = render(&ctx, &variation_rows(&plan, &records), &records);
        assert!(report.contains("logical-clocks experiment plan.toml --jobs 2 --virtual-time"));
        assert!(report.contains("**Trials: 2 ok, 0 unhealthy, 1 failed, 1 not run.**"));
        assert!(report.contains("![Figures](figures.png)"));
        assert!(report.contains("## Prediction against measurement"));
        assert!(!report.contains("## Faults"), "no trial had a fault");
        assert!(report.contains("| a | 3 ± 1.41 |"), "{report}");
        assert!(report.contains("| b | – |"), "{report}");
        assert!(report.contains("**failed: cannot listen**"));
        assert!(report.contains("`trials/a-1/run`"), "{report}");
    }
}
