//! The text of `report.html`: one self-contained page. Pure.
//!
//! The page must open anywhere, offline, from a single file: its style, its script and its data
//! are inline, and the plots are PNG data URIs. The template, style and script live beside this
//! file (`page.html`, `page.css`, `page.js`) so each reads as what it is; here they are filled
//! in, the style after the event kinds' colours from [`style`] (the plots' own table). The data
//! goes in as JSON inside a `<script type="application/json">`, with `<`, `>` and `&` written
//! as `\u` escapes so no value (a run id, say) can close the element early.

use lc_core::vm_id::VmId;
use serde::Serialize;

use super::diagram::{Diagram, PageEvent, PageFault, PageMessage};
use crate::outputs::style;

const TEMPLATE: &str = include_str!("page.html");
const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

/// How many events the diagram draws at once: at first, and at most (zooming out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct WindowLimits {
    pub(crate) initial: usize,
    pub(crate) max: usize,
}

impl WindowLimits {
    /// Enough events to see a run's pattern, few enough to read the clocks (labels show up to
    /// 150); at most 2,000 circles and their arrows, which a browser redraws without a stall.
    pub(crate) const DEFAULT: WindowLimits = WindowLimits {
        initial: 500,
        max: 2_000,
    };
}

/// One VM's line on the diagram.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Lane {
    pub(crate) vm: VmId,
    pub(crate) label: String,
}

/// A plot to show: its file name and its PNG bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plot {
    pub(crate) name: String,
    pub(crate) png: Vec<u8>,
}

/// Everything the page shows.
#[derive(Debug, Clone)]
pub(crate) struct Page<'a> {
    pub(crate) run_id: &'a str,
    /// One line under the title: health, VMs, events, span.
    pub(crate) headline_html: String,
    /// The text report, as `analyze` prints it.
    pub(crate) report: &'a str,
    pub(crate) lanes: Vec<Lane>,
    pub(crate) diagram: &'a Diagram,
    pub(crate) window: WindowLimits,
    pub(crate) plots: Vec<Plot>,
    /// Remarks on what the page leaves out.
    pub(crate) notes: Vec<String>,
}

/// The JSON the script reads.
#[derive(Serialize)]
struct PageData<'a> {
    run: &'a str,
    lanes: &'a [Lane],
    events: &'a [PageEvent],
    messages: &'a [PageMessage],
    total_events: u64,
    window: WindowLimits,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    faults: &'a [PageFault],
}

/// The whole page.
pub(crate) fn render(page: &Page) -> String {
    let data = PageData {
        run: page.run_id,
        lanes: &page.lanes,
        events: &page.diagram.events,
        messages: &page.diagram.messages,
        total_events: page.diagram.total_events,
        window: page.window,
        faults: &page.diagram.faults,
    };
    let json = serde_json::to_string(&data).unwrap_or_else(|_| "{}".into());
    let title = escape(&format!("logical-clocks run {}", page.run_id));
    let notes: Vec<String> = page.notes.iter().map(|n| escape(n)).collect();
    let style = style::css_variables() + STYLE;
    fill(
        TEMPLATE,
        &[
            ("{{TITLE}}", &title),
            ("{{STYLE}}", &style),
            ("{{HEADLINE}}", &page.headline_html),
            ("{{NOTES}}", &notes.join("<br>")),
            ("{{REPORT}}", &escape(page.report)),
            ("{{PLOTS}}", &plots(&page.plots)),
            ("{{DATA}}", &script_safe(&json)),
            ("{{SCRIPT}}", SCRIPT),
        ],
    )
}

fn plots(plots: &[Plot]) -> String {
    use base64::Engine as _;
    if plots.is_empty() {
        return "<p>No plots: they were not drawn (<code>--no-plots</code>).</p>".into();
    }
    plots
        .iter()
        .map(|p| {
            let name = escape(&p.name);
            let data = base64::engine::general_purpose::STANDARD.encode(&p.png);
            format!(
                "<figure><img alt=\"{name}\" src=\"data:image/png;base64,{data}\">\
                 <figcaption>{name}</figcaption></figure>\n"
            )
        })
        .collect()
}

/// Replaces each marker of `values` wherever it stands in `template`, in one pass, so a value
/// that happens to contain a marker is left as it is.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out =
        String::with_capacity(template.len() + values.iter().map(|v| v.1.len()).sum::<usize>());
    let mut rest = template;
    loop {
        let next = values
            .iter()
            .filter_map(|(marker, value)| rest.find(marker).map(|at| (at, *marker, *value)))
            .min_by_key(|(at, _, _)| *at);
        let Some((at, marker, value)) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..at]);
        out.push_str(value);
        rest = &rest[at + marker.len()..];
    }
}

/// Text as HTML text or attribute value.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON that cannot end its `<script>` element: `<`, `>` and `&` only occur inside JSON
/// strings, where `\u003c` and friends mean the same.
fn script_safe(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VM id written in a test.
    fn vid(n: u32) -> VmId {
        VmId::literal(n)
    }

    fn diagram() -> Diagram {
        Diagram {
            events: vec![
                PageEvent {
                    vm: vid(1),
                    index: 1,
                    t_us: 0,
                    kind: "send",
                    lc: 1,
                    vc: vec![1, 0],
                    peers: vec![vid(2)],
                    seq: Some(1),
                },
                PageEvent {
                    vm: vid(2),
                    index: 1,
                    t_us: 500,
                    kind: "receive",
                    lc: 2,
                    vc: vec![1, 1],
                    peers: vec![vid(1)],
                    seq: Some(1),
                },
            ],
            messages: vec![PageMessage(0, 1)],
            total_events: 2,
            without_clock: 0,
            faults: Vec::new(),
        }
    }

    fn page<'a>(
        run_id: &'a str,
        report: &'a str,
        diagram: &'a Diagram,
        plots: Vec<Plot>,
    ) -> String {
        render(&Page {
            run_id,
            headline_html: "healthy".into(),
            report,
            lanes: vec![
                Lane {
                    vm: vid(1),
                    label: "VM 1".into(),
                },
                Lane {
                    vm: vid(2),
                    label: "VM 2".into(),
                },
            ],
            diagram,
            window: WindowLimits::DEFAULT,
            plots,
            notes: vec!["a <note>".into()],
        })
    }

    /// The JSON between the data element's tags.
    fn embedded(html: &str) -> serde_json::Value {
        let open = "<script id=\"run-data\" type=\"application/json\">";
        let start = html.find(open).unwrap() + open.len();
        let end = start + html[start..].find("</script>").unwrap();
        serde_json::from_str(&html[start..end]).unwrap()
    }

    #[test]
    fn the_page_holds_its_data_script_style_and_plots_inline() {
        let d = diagram();
        let html = page(
            "run-1",
            "report",
            &d,
            vec![Plot {
                name: "clock.png".into(),
                png: b"\x89PNG".to_vec(),
            }],
        );
        let data = embedded(&html);
        assert_eq!(data["events"][1]["vc"], serde_json::json!([1, 1]));
        assert_eq!(data["events"][1]["k"], "receive");
        assert_eq!(data["messages"], serde_json::json!([[0, 1]]));
        assert_eq!(data["window"]["max"], 2000);
        assert_eq!(data["lanes"][1]["label"], "VM 2");
        assert!(
            html.contains("src=\"data:image/png;base64,iVBORw==\""),
            "{html}"
        );
        assert!(html.contains(SCRIPT) && html.contains(STYLE));
        assert!(html.contains("a &lt;note&gt;"));
        // Nothing is fetched: no external script, style sheet, image or frame.
        for fetch in [
            "src=\"http",
            "href=\"http",
            "<link",
            "<script src",
            "<iframe",
            "url(http",
        ] {
            assert!(!html.contains(fetch), "{fetch}");
        }
        assert!(!html.contains("{{"), "every marker filled");
    }

    #[test]
    fn no_value_can_break_out_of_its_element() {
        let d = diagram();
        let html = page("</script><b>x</b>", "</pre>{{DATA}}<i>", &d, Vec::new());
        assert_eq!(embedded(&html)["run"], "</script><b>x</b>");
        assert!(
            html.contains("<title>logical-clocks run &lt;/script&gt;&lt;b&gt;x&lt;/b&gt;</title>")
        );
        assert!(html.contains("<pre>&lt;/pre&gt;{{DATA}}&lt;i&gt;</pre>"));
        assert!(html.contains("--no-plots"));
    }

    #[test]
    fn fill_replaces_each_marker_once_and_leaves_values_alone() {
        assert_eq!(
            fill(
                "a {{X}} b {{Y}} c {{X}}",
                &[("{{X}}", "{{Y}}"), ("{{Y}}", "y")]
            ),
            "a {{Y}} b y c {{Y}}"
        );
        assert_eq!(fill("none", &[("{{X}}", "x")]), "none");
    }

    #[test]
    fn the_data_names_the_faults_only_when_the_run_has_some() {
        let mut with = diagram();
        with.faults = vec![PageFault {
            fault: 2,
            kind: "pause",
            vms: vec![vid(2)],
            from: 100,
            until: None,
        }];
        let html = page("r", "", &with, Vec::new());
        assert!(
            html.contains(r#""faults":[{"n":2,"k":"pause","vms":[2],"from":100,"until":null}]"#),
            "{html}"
        );
        let html = page("r", "", &diagram(), Vec::new());
        assert!(!html.contains(r#""faults""#));
    }

    #[test]
    fn event_kinds_take_their_colours_from_the_one_table_the_plots_use() {
        let html = page("r", "", &diagram(), Vec::new());
        for (kind, colour) in style::EVENT_KINDS {
            let name = kind.as_str();
            let hex = format!("#{:02x}{:02x}{:02x}", colour.0, colour.1, colour.2);
            assert!(
                html.contains(&format!("--ev-{name}: {hex};")),
                "{name}: {hex}"
            );
            // The style sheet names no colour of its own for the kind, only the variable.
            let rule = format!(".ev.{name} {{ fill: var(--ev-{name}); }}");
            assert!(STYLE.contains(&rule), "page.css lacks `{rule}`");
        }
    }
}
