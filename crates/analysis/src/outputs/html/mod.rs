//! `analyze --html`: `report.html`, an interactive page of one run.
//!
//! The page shows the run's space-time diagram as SVG (one line per VM, events at their times,
//! an arrow per message), each event's Lamport and vector clock on hover, and on a click the
//! event's causal past and future; below it the text report and the plots. It is one file with
//! nothing to fetch, so it can be mailed, archived or opened offline.
//!
//! The parts: `diagram.rs` gathers the events and messages with their vector clocks (pure, fed
//! by the time merge); `page.rs` fills the template (`page.html`, `page.css`, `page.js`) (pure);
//! this file reads the logs and the plots and writes the page. The causal cones are computed by
//! the page's script from the embedded clocks, so the page works without the analyzer; the
//! browser test holds its answer to the analyzer's [`History::cone`](crate::History::cone).

mod diagram;
mod page;

use std::path::{Path, PathBuf};

use lc_core::vm_id::VmId;

use crate::read::merge::{Merged, TimeMerge};
use crate::{causal_history, AnalysisError, RunAnalysis, RunInput};
use diagram::{Diagram, DiagramBuilder};
use page::{Lane, Page, Plot, WindowLimits};

/// The page's file name, in the run directory.
pub(crate) const FILE: &str = "report.html";

/// What [`write_html_report`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlReport {
    pub path: PathBuf,
    /// Events the page holds (the first of the run, up to [`Diagram::MAX_EVENTS`](super::html::diagram::Diagram::MAX_EVENTS)).
    pub events: usize,
    /// Tick events in the run.
    pub total_events: u64,
    /// Messages drawn as arrows.
    pub messages: usize,
}

impl HtmlReport {
    /// Events the diagram draws at once, at most.
    pub const MAX_DRAWN: usize = WindowLimits::DEFAULT.max;
    /// Events the diagram draws when the page opens.
    pub const FIRST_DRAWN: usize = WindowLimits::DEFAULT.initial;
}

/// Writes `report.html` into `run_dir`, the run `analysis` describes: its diagram, its text
/// report and the plots `analysis` drew (read back from their files).
pub fn write_html_report(
    run_dir: &Path,
    analysis: &RunAnalysis,
) -> Result<HtmlReport, AnalysisError> {
    let diagram = read_diagram(run_dir)?;
    let summary = analysis.summary();
    let mut plots = Vec::new();
    for path in analysis.files() {
        if path.extension().is_some_and(|e| e == "png") {
            let png = std::fs::read(path).map_err(|source| AnalysisError::Read {
                path: path.clone(),
                source,
            })?;
            plots.push(Plot {
                name: crate::file_name(path),
                png,
            });
        }
    }
    let rates: Vec<(VmId, Option<f64>)> = summary
        .vms
        .iter()
        .map(|v| (v.vm, v.configured_rate))
        .collect();
    let lanes = lanes(&rates, &diagram);
    let mut notes = Vec::new();
    if (diagram.events.len() as u64) < diagram.total_events {
        notes.push(format!(
            "This page holds the first {} of the run's {} events (each VM's first events, up \
             to the same point of the run); the summary and plots cover the whole run.",
            diagram.events.len(),
            diagram.total_events
        ));
    }
    if diagram.without_clock > 0 {
        notes.push(format!(
            "{} events had no vector clock (did a log change while it was read?) and are left out.",
            diagram.without_clock
        ));
    }
    let health = if analysis.is_healthy() {
        "<span class=\"healthy\">healthy</span>".to_string()
    } else {
        let incomplete = match summary.check.incomplete.len() {
            0 => String::new(),
            n => format!(", {n} logs without a stop line"),
        };
        format!(
            "<span class=\"unhealthy\">unhealthy: {} violations, {} messages unaccounted{incomplete}</span>",
            summary.check.violations, summary.messages.unaccounted
        )
    };
    let headline_html = format!(
        "{health} &middot; {} VMs &middot; {} events &middot; {} messages &middot; {:.3} s",
        summary.vms.len(),
        summary.ticks,
        summary.messages.sent,
        summary.span_s
    );
    let html = page::render(&Page {
        run_id: &summary.run_id,
        headline_html,
        report: &analysis.report(),
        lanes,
        diagram: &diagram,
        window: WindowLimits::DEFAULT,
        plots,
        notes,
    });
    let path = run_dir.join(FILE);
    crate::safe_write::write_bytes(&path, &analysis.inputs, html.as_bytes())?;
    Ok(HtmlReport {
        path,
        events: diagram.events.len(),
        total_events: diagram.total_events,
        messages: diagram.messages.len(),
    })
}

/// One lane per VM of the summary (with its configured rate, if known), and one for any VM
/// that has events but no summary row, so every event has a line to sit on.
fn lanes(rates: &[(VmId, Option<f64>)], diagram: &Diagram) -> Vec<Lane> {
    let mut vms: Vec<(VmId, Option<f64>)> = rates.to_vec();
    for event in &diagram.events {
        if !vms.iter().any(|(vm, _)| *vm == event.vm) {
            vms.push((event.vm, None));
        }
    }
    vms.sort_by_key(|(vm, _)| *vm);
    vms.into_iter()
        .map(|(vm, rate)| Lane {
            vm,
            label: match rate {
                Some(rate) => format!("VM {vm} ({rate}/s)"),
                None => format!("VM {vm}"),
            },
        })
        .collect()
}

/// The run's events with the vector clocks of its [`causal_history`](crate::causal_history).
fn read_diagram(run_dir: &Path) -> Result<Diagram, AnalysisError> {
    let history = causal_history(run_dir)?;
    let run = RunInput::open(run_dir)?;
    let vm_of_file = run.logs.iter().map(|l| l.vm).collect();
    let mut builder = DiagramBuilder::new(
        &history,
        vm_of_file,
        run.check.missing(),
        Diagram::MAX_EVENTS,
    );
    let mut merge = TimeMerge::open(&run.logs)?;
    while let Some(item) = merge.next_item()? {
        if let Merged::Record { file, line, record } = item {
            builder.record(file, line, &record);
        }
    }
    Ok(builder.finish())
}

#[cfg(test)]
mod tests {
    use super::diagram::PageEvent;
    use super::*;

    #[test]
    fn every_vm_with_events_gets_a_lane() {
        let event = |vm| PageEvent {
            vm: VmId::literal(vm),
            index: 1,
            t_us: 0,
            kind: "internal",
            lc: 1,
            vc: vec![0; 3],
            peers: Vec::new(),
            seq: None,
        };
        let diagram = Diagram {
            events: vec![event(3), event(1)],
            ..Diagram::default()
        };
        let labels: Vec<(u32, String)> = lanes(
            &[(VmId::literal(2), Some(4.0)), (VmId::literal(1), None)],
            &diagram,
        )
        .into_iter()
        .map(|l| (l.vm.get(), l.label))
        .collect();
        assert_eq!(
            labels,
            vec![
                (1, "VM 1".to_string()),
                (2, "VM 2 (4/s)".to_string()),
                (3, "VM 3".to_string())
            ]
        );
    }
}
