//! `analyze --html` in a real browser. Headless Chromium (Debian's `chromium` package) opens
//! `report.html` with `#select=VM:INDEX`, which makes the page click that event through its own
//! click handler; the DOM it then dumps is held against the analyzer's causal history
//! (`causal_history` and `History::cone`): every event drawn with its clocks, every message an
//! arrow, and exactly the causal past and future highlighted. A screenshot is kept as an
//! artefact under the target directory.

use crate::common::vid;
use crate::common::{binary, read_logs, run_model};
use lc_analysis::{self, EventId, History, HtmlReport};
use lc_core::vm_id::VmId;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longest a single Chromium run may take before the test kills it and fails.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(180);

/// The Chromium binary: each test has checked it is there ([`crate::common::needs::chromium`]).
fn chromium() -> PathBuf {
    crate::common::needs::chromium("report.html in a browser").expect("checked at the test's start")
}

/// What Chromium should do with the page.
enum Take<'a> {
    /// Print the DOM after the page's script has run.
    Dom,
    Screenshot(&'a Path),
}

/// Opens `page` with `fragment` in headless Chromium and returns what it printed; a run that
/// outlives [`BROWSER_TIMEOUT`] is killed and fails the test.
fn headless(page: &Path, fragment: &str, take: Take, scratch: &Path) -> String {
    let page = page.canonicalize().unwrap();
    let url = format!("file://{}{fragment}", page.display());
    assert!(
        !url.contains([' ', '%', '?']),
        "a plain path for the URL: {url}"
    );
    let profile = tempfile::tempdir_in(scratch).unwrap();
    let stdout_path = profile.path().join("stdout");
    let stderr_path = profile.path().join("stderr");
    let mut command = Command::new(chromium());
    command
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
            "--window-size=1400,1000",
            "--virtual-time-budget=10000",
        ])
        .arg(format!(
            "--user-data-dir={}",
            profile.path().join("profile").display()
        ));
    match take {
        Take::Dom => command.arg("--dump-dom"),
        Take::Screenshot(png) => command.arg(format!("--screenshot={}", png.display())),
    };
    let mut child = command
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .expect("start chromium");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > BROWSER_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish with {url} within {BROWSER_TIMEOUT:?}: {}",
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "chromium failed on {url} ({status}): {}",
        std::fs::read_to_string(&stderr_path).unwrap_or_default()
    );
    std::fs::read_to_string(&stdout_path).unwrap()
}

/// One SVG element of the dumped DOM: its attributes and, for an event, its `<title>` text.
#[derive(Debug)]
struct Element {
    attrs: BTreeMap<String, String>,
    title: String,
}

impl Element {
    fn attr(&self, name: &str) -> &str {
        self.attrs.get(name).map_or("", String::as_str)
    }
    fn has_class(&self, class: &str) -> bool {
        self.attr("class").split(' ').any(|c| c == class)
    }
}

/// Every `<tag ...>` element of `dom` that has attribute `marker`.
fn elements(dom: &str, tag: &str, marker: &str) -> Vec<Element> {
    let open = format!("<{tag} ");
    let mut found = Vec::new();
    for (at, _) in dom.match_indices(&open) {
        let end = at + dom[at..].find('>').unwrap();
        let attrs = attributes(&dom[at + open.len()..end]);
        if !attrs.contains_key(marker) {
            continue;
        }
        let after = &dom[end + 1..];
        let title = after
            .strip_prefix("<title>")
            .map(|t| t[..t.find("</title>").unwrap()].to_string())
            .unwrap_or_default();
        found.push(Element { attrs, title });
    }
    found
}

/// `a="1" b="x y"` as a map (the serialized DOM always quotes with `"`).
fn attributes(text: &str) -> BTreeMap<String, String> {
    let mut attrs = BTreeMap::new();
    let mut rest = text.trim_end_matches('/').trim();
    while let Some(eq) = rest.find("=\"") {
        let name = rest[..eq].trim().to_string();
        let value_end = eq + 2 + rest[eq + 2..].find('"').unwrap();
        attrs.insert(name, rest[eq + 2..value_end].to_string());
        rest = rest[value_end + 1..].trim_start();
    }
    attrs
}

/// The `data-events` of the selection panel's `id` entry: `1:1-3 2:5` as a set of `vm:index`.
fn listed(dom: &str, id: &str) -> BTreeSet<String> {
    let dd = elements(dom, "dd", "data-events")
        .into_iter()
        .find(|e| e.attr("id") == id)
        .unwrap_or_else(|| panic!("no #{id} in the selection panel"));
    let mut set = BTreeSet::new();
    for part in dd.attr("data-events").split_whitespace() {
        let (vm, range) = part.split_once(':').unwrap();
        let (lo, hi) = range.split_once('-').unwrap_or((range, range));
        for i in lo.parse::<u32>().unwrap()..=hi.parse::<u32>().unwrap() {
            set.insert(format!("{vm}:{i}"));
        }
    }
    set
}

/// Fails with what is missing and what is extra, rather than both sets in full.
#[track_caller]
fn assert_same(got: &BTreeSet<String>, want: &BTreeSet<String>, what: &str) {
    let missing: Vec<&String> = want.difference(got).take(20).collect();
    let extra: Vec<&String> = got.difference(want).take(20).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: {} events, expected {}; missing (first 20) {missing:?}, extra (first 20) {extra:?}",
        got.len(),
        want.len()
    );
}

fn names(ids: &[EventId]) -> BTreeSet<String> {
    ids.iter()
        .map(|e| format!("{}:{}", e.vm, e.index))
        .collect()
}

/// The drawn events whose class list has `class`.
fn drawn_with(events: &[Element], class: &str) -> BTreeSet<String> {
    events
        .iter()
        .filter(|e| e.has_class(class))
        .map(|e| e.attr("data-event").to_string())
        .collect()
}

/// A model run on virtual time, analysed with `--html`; returns the run directory, the
/// temporary directory holding it, and what `analyze` printed.
fn analysed_run(settings: &str, extra: &[&str]) -> (PathBuf, tempfile::TempDir, String) {
    let run = run_model(settings, &["--virtual-time"]);
    assert!(run.output.status.success(), "{}", run.stderr());
    let dir = run.run_dir();
    let output = binary()
        .args(["analyze", "--html"])
        .args(extra)
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}");
    (dir, run.log_dir, stdout)
}

fn total_events(history: &History, vms: u32) -> usize {
    VmId::all(vms).map(|vm| history.len_of(vm)).sum()
}

/// Where the screenshot and its page are kept after the test.
fn artefact_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("analyze_html");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_clicked_event_highlights_exactly_its_causal_past_and_future() {
    if crate::common::needs::chromium(
        "a_clicked_event_highlights_exactly_its_causal_past_and_future",
    )
    .is_none()
    {
        return;
    }
    let (dir, scratch, stdout) = analysed_run(
        "vm_count = 3\nruntime = 20\nrates = [4, 4, 3]\nseed = 3\n",
        &[],
    );
    let page = dir.join("report.html");
    let history = lc_analysis::causal_history(&dir).unwrap();
    let total = total_events(&history, 3);
    assert!(
        stdout.contains(&format!("HTML report: {} ({total} events", page.display())),
        "{stdout}"
    );
    assert!(
        total < HtmlReport::FIRST_DRAWN,
        "the whole run fits the first window"
    );

    // The middle event of VM 2, which has both a past and a future on every VM.
    let chosen = EventId {
        vm: vid(2),
        index: history.len_of(vid(2)) as u32 / 2,
    };
    let cone = history.cone(chosen).unwrap();
    let dom = headless(
        &page,
        &format!("#select={}:{}", chosen.vm, chosen.index),
        Take::Dom,
        scratch.path(),
    );

    // Every event is drawn once, its title giving the Lamport clock of its log line and the
    // vector clock of the analyzer's history.
    let events = elements(&dom, "circle", "data-event");
    assert_eq!(events.len(), total);
    let logs = read_logs(&dir);
    let mut seen = BTreeSet::new();
    for (id, line, clock) in history.events() {
        let name = format!("{}:{}", id.vm, id.index);
        let dot = events
            .iter()
            .find(|e| e.attr("data-event") == name)
            .unwrap_or_else(|| panic!("event {name} is not drawn"));
        let lc = logs[&u64::from(id.vm)][line - 1].get("lc");
        assert!(
            dot.title.contains(&format!("Lamport clock {lc}\n")),
            "{name}: {}",
            dot.title
        );
        assert!(
            dot.title.contains(&format!("vector clock [{clock}]")),
            "{name}: {}",
            dot.title
        );
        seen.insert(name);
    }
    assert_eq!(seen.len(), total);

    // Every matched message is an arrow.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let arrows = elements(&dom, "line", "data-send");
    assert_eq!(
        arrows.len() as u64,
        summary["waits"]["count"].as_u64().unwrap()
    );
    assert!(!arrows.is_empty());

    // The click highlighted exactly the analyzer's cone; everything else is faded.
    assert!(!cone.past.is_empty() && !cone.future.is_empty());
    let name = format!("{}:{}", chosen.vm, chosen.index);
    assert_eq!(
        drawn_with(&events, "selected"),
        BTreeSet::from([name.clone()])
    );
    assert_same(
        &drawn_with(&events, "past"),
        &names(&cone.past),
        "highlighted past",
    );
    assert_same(
        &drawn_with(&events, "future"),
        &names(&cone.future),
        "highlighted future",
    );
    let concurrent = drawn_with(&events, "concurrent");
    assert_eq!(
        concurrent.len(),
        total - 1 - cone.past.len() - cone.future.len()
    );
    assert!(concurrent
        .iter()
        .all(|c| !history.happened_before(parse_id(c), chosen)
            && !history.happened_before(chosen, parse_id(c))));
    // The selection panel lists the same sets, and an arrow is highlighted only inside a cone.
    assert_same(
        &listed(&dom, "cone-past"),
        &names(&cone.past),
        "listed past",
    );
    assert_same(
        &listed(&dom, "cone-future"),
        &names(&cone.future),
        "listed future",
    );
    for arrow in &arrows {
        let (send, receive) = (
            parse_id(arrow.attr("data-send")),
            parse_id(arrow.attr("data-receive")),
        );
        let in_past = |e: EventId| e == chosen || history.happened_before(e, chosen);
        let in_future = |e: EventId| e == chosen || history.happened_before(chosen, e);
        assert_eq!(arrow.has_class("past"), in_past(send) && in_past(receive));
        assert_eq!(
            arrow.has_class("future"),
            in_future(send) && in_future(receive)
        );
    }

    // The screenshot, kept with its page for a person to look at.
    let keep = artefact_dir();
    let png = keep.join("report.png");
    let _ = std::fs::remove_file(&png);
    headless(
        &page,
        &format!("#select={name}"),
        Take::Screenshot(&png),
        scratch.path(),
    );
    let bytes = std::fs::read(&png).expect("chromium wrote the screenshot");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 10_000);
    std::fs::copy(&page, keep.join("report.html")).unwrap();
    println!("screenshot of report.html#select={name}: {}", png.display());
}

fn parse_id(name: &str) -> EventId {
    let (vm, index) = name.split_once(':').unwrap();
    EventId {
        vm: vm.parse().unwrap(),
        index: index.parse().unwrap(),
    }
}

#[test]
fn a_long_run_is_drawn_a_window_at_a_time() {
    if crate::common::needs::chromium("a_long_run_is_drawn_a_window_at_a_time").is_none() {
        return;
    }
    let (dir, scratch, stdout) = analysed_run(
        "vm_count = 3\nruntime = 150\nrates = [6, 6, 6]\nseed = 5\n",
        &["--no-plots"],
    );
    let page = dir.join("report.html");
    let history = lc_analysis::causal_history(&dir).unwrap();
    let total = total_events(&history, 3);
    assert!(total > HtmlReport::MAX_DRAWN, "{total} events");
    assert!(stdout.contains(&format!("({total} events")), "{stdout}");

    // Opened plainly, it draws its first window.
    let dom = headless(&page, "", Take::Dom, scratch.path());
    let events = elements(&dom, "circle", "data-event");
    assert_eq!(events.len(), HtmlReport::FIRST_DRAWN);
    assert!(events.iter().any(|e| e.attr("data-event") == "1:1"));
    assert!(
        dom.contains("--no-plots"),
        "the page says why it has no plots"
    );

    // Asked for more than the limit, it draws the limit, around the event it is opened on.
    let chosen = EventId {
        vm: vid(1),
        index: history.len_of(vid(1)) as u32 - 10,
    };
    let name = format!("{}:{}", chosen.vm, chosen.index);
    let dom = headless(
        &page,
        &format!("#select={name}&window=5000"),
        Take::Dom,
        scratch.path(),
    );
    let events = elements(&dom, "circle", "data-event");
    assert_eq!(events.len(), HtmlReport::MAX_DRAWN);
    assert_eq!(drawn_with(&events, "selected"), BTreeSet::from([name]));
    assert!(
        !events.iter().any(|e| e.attr("data-event") == "1:1"),
        "the window moved"
    );
    let drawn: BTreeSet<String> = events
        .iter()
        .map(|e| e.attr("data-event").to_string())
        .collect();
    let cone = history.cone(chosen).unwrap();
    let past = names(&cone.past);
    assert_same(
        &drawn_with(&events, "past"),
        &(&past & &drawn),
        "highlighted past",
    );
    assert_same(
        &drawn_with(&events, "future"),
        &(&names(&cone.future) & &drawn),
        "highlighted future",
    );
    // The panel gives the whole past, drawn or not.
    assert!(past.len() > HtmlReport::MAX_DRAWN);
    assert_same(&listed(&dom, "cone-past"), &past, "listed past");
}

#[test]
fn a_fault_window_is_a_band_over_the_lanes_it_touches() {
    if crate::common::needs::chromium("a_fault_window_is_a_band_over_the_lanes_it_touches")
        .is_none()
    {
        return;
    }
    // VM 2 paused over [0.2, 0.4) (fault 1); VM 1 untouched.
    let vm1 = "\
2000-01-01T00:00:00.000000Z INFO start, addr: x, phase_ms: 100.000000, rate: 10, vm: 1
2000-01-01T00:00:00.100000Z INFO internal, queue: 0, lc: 1, vm: 1
2000-01-01T00:00:00.500000Z INFO internal, queue: 0, lc: 2, vm: 1
2000-01-01T00:00:00.600000Z INFO stop, dropped: 0, queue: 0, lc: 2, vm: 1
";
    let vm2 = "\
2000-01-01T00:00:00.000000Z INFO start, addr: x, phase_ms: 100.000000, rate: 10, vm: 2
2000-01-01T00:00:00.100000Z INFO internal, queue: 0, lc: 1, vm: 2
2000-01-01T00:00:00.200000Z INFO fault_start, fault: 1, kind: pause, from_s: 0.2, until_s: 0.4, queue: 0, lc: 1, vm: 2
2000-01-01T00:00:00.400000Z INFO fault_end, fault: 1, kind: pause, from_s: 0.2, until_s: 0.4, queue: 0, lc: 1, vm: 2
2000-01-01T00:00:00.400000Z INFO internal, queue: 0, lc: 2, vm: 2
2000-01-01T00:00:00.600000Z INFO stop, dropped: 0, queue: 0, lc: 2, vm: 2
";
    let scratch = tempfile::tempdir().unwrap();
    let run = scratch.path().join("run");
    std::fs::create_dir(&run).unwrap();
    std::fs::write(run.join("vm-1.log"), vm1).unwrap();
    std::fs::write(run.join("vm-2.log"), vm2).unwrap();
    let output = binary()
        .args(["analyze", "--html", "--no-plots"])
        .arg(&run)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let dom = headless(&run.join("report.html"), "", Take::Dom, scratch.path());
    let bands = elements(&dom, "rect", "data-fault");
    assert_eq!(bands.len(), 1, "one band, on VM 2's lane only");
    assert_eq!(bands[0].title, "fault 1: pause (VM 2)");
    // The band spans the window: from the 0.2 s stamp to the 0.4 s one, between the dots of
    // VM 2's events at 0.1 s and 0.4 s.
    let dot_x = |name: &str| -> f64 {
        let dots = elements(&dom, "circle", "data-event");
        let dot = dots.iter().find(|e| e.attr("data-event") == name).unwrap();
        dot.attr("cx").parse().unwrap()
    };
    let (x, width): (f64, f64) = (
        bands[0].attr("x").parse().unwrap(),
        bands[0].attr("width").parse().unwrap(),
    );
    assert!(dot_x("2:1") < x, "{x}");
    assert!((x + width - dot_x("2:2")).abs() < 0.01, "{x} {width}");
    assert!(dom.contains(">fault 1: pause</text>"));
}
