//! `check` from the command line, as CI runs it: a small system holds every
//! property and exits 0; with a crash that resets the clocks it prints the
//! shortest broken run as log lines, writes it where `analyze` reads it,
//! and exits 1; a size that would never end is one line; `--explore` serves
//! the Explorer's page.

use crate::common::binary;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Stdio;

#[test]
fn a_small_system_holds_every_property_and_exits_0() {
    let logs = tempfile::tempdir().unwrap();
    let output = binary()
        .args(["check", "--vm-count", "2", "--ticks", "2", "--log-dir"])
        .arg(logs.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("states explored"), "{stdout}");
    assert_eq!(stdout.matches("holds:").count(), 5, "{stdout}");
    assert_eq!(stdout.matches("reached:").count(), 3, "{stdout}");
    assert!(!stdout.contains("BROKEN"), "{stdout}");
    assert_eq!(
        std::fs::read_dir(logs.path()).unwrap().count(),
        0,
        "nothing to write"
    );
}

#[test]
fn a_reset_clock_breaks_the_clock_condition_and_its_run_is_written_for_analyze() {
    let logs = tempfile::tempdir().unwrap();
    let output = binary()
        .args([
            "check",
            "--vm-count",
            "2",
            "--ticks",
            "2",
            "--crash-reset",
            "--log-dir",
        ])
        .arg(logs.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("BROKEN:    clock condition"), "{stdout}");
    assert!(
        stdout.contains("INFO fault_end, fault: 1, kind: crash"),
        "{stdout}"
    );
    let written: Vec<_> = stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("written to "))
        .collect();
    assert!(!written.is_empty(), "{stdout}");
    for dir in written {
        let analysis = binary()
            .args(["analyze", "--no-plots", dir])
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&analysis.stdout);
        assert!(
            matches!(analysis.status.code(), Some(0 | 1)),
            "analyze reads the run: {report}{}",
            String::from_utf8_lossy(&analysis.stderr)
        );
        assert!(report.contains("vm-1.log") || report.contains("VM 1") || !report.is_empty());
    }
}

#[test]
fn a_size_that_would_never_end_is_one_line_with_the_range() {
    for (vms, ticks, says) in [
        ("4", "2", "2 to 3 VMs"),
        ("-1", "2", "2 to 3 VMs"),
        (
            "3",
            "3",
            "1 to 2 ticks per VM with 3 VMs (1 to 5 with 2 VMs)",
        ),
        (
            "2",
            "6",
            "1 to 5 ticks per VM with 2 VMs (1 to 2 with 3 VMs)",
        ),
    ] {
        let output = binary()
            .args(["check", "--vm-count", vms, "--ticks", ticks])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
    }
}

#[test]
fn the_explorer_refuses_a_public_address_unless_asked() {
    let output = binary()
        .args(["check", "--explore", "0.0.0.0:0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not a loopback address"), "{stderr}");
}

/// Kills the Explorer this test started, whatever the test's end.
struct Explorer(std::process::Child);

impl Drop for Explorer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_explorer_binds_port_0_and_serves_its_page() {
    let child = binary()
        .args(["check", "--explore", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut explorer = Explorer(child);
    let mut first = String::new();
    BufReader::new(explorer.0.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first.trim().rsplit(' ').next().unwrap().to_string();
    let address = url
        .strip_prefix("http://")
        .and_then(|rest| rest.strip_suffix('/'))
        .unwrap_or_else(|| panic!("no URL in {first:?}"));
    assert!(!address.ends_with(":0"), "port 0 made concrete: {first}");
    // The Explorer starts serving right after the line: retry the connection for a while.
    let mut stream = None;
    for _ in 0..200 {
        match TcpStream::connect(address) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(50)),
        }
    }
    let mut stream = stream.expect("the Explorer listens");
    write!(stream, "GET / HTTP/1.0\r\nHost: {address}\r\n\r\n").unwrap();
    let mut page = String::new();
    stream.read_to_string(&mut page).unwrap();
    assert!(page.starts_with("HTTP/1."), "{page}");
    assert!(page.contains(" 200 "), "{page}");
    assert!(
        page.contains("Stateright"),
        "{}",
        &page[..page.len().min(500)]
    );
}

/// The shortest run of a receive that skips the max, written by the checker, is a run `analyze`
/// reads and finds the broken rule in.
#[test]
fn analyze_finds_the_rule_a_counterexample_breaks() {
    use lc_check::{check, CheckModel, Outcome, Rules, Size};
    let model = CheckModel {
        rules: Rules::SkipMaxOnReceive,
        ..CheckModel::new(Size::new(2, 3).unwrap(), false)
    };
    let report = check(model, &mut |_| {});
    let name = lc_check::properties::CLOCK_CONDITION;
    let Outcome::Broken(path) = &report.property(name).unwrap().outcome else {
        panic!("{name} held with the max skipped");
    };
    let logs = tempfile::tempdir().unwrap();
    let dir = lc_check::counterexample::write_run(logs.path(), "check-", path).unwrap();
    let analysis = crate::common::analyze_without_plots(&dir);
    assert!(
        !analysis.violations().is_empty(),
        "analyze sees the broken receive"
    );
}
