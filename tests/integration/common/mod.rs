//! Test support: run the real binary on free ports into a temporary log
//! directory, read its logs, and check them against the model's rules (the
//! crate's own, shared with `analyze`) and what each test expects.
#![allow(dead_code)] // each test binary uses its own subset

pub mod happened_before;
pub mod needs;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `analyze` on a run directory without plots, as the hand-made-log suites use it.
pub fn analyze_without_plots(run: &Path) -> lc_analysis::RunAnalysis {
    lc_analysis::analyze_run(run, &lc_analysis::AnalyzeOptions { plots: false }).unwrap()
}

/// (file name, line, rule) of every violation an analysis found.
pub fn found(a: &lc_analysis::RunAnalysis) -> Vec<(String, usize, lc_analysis::Rule)> {
    a.violations()
        .iter()
        .map(|v| {
            let name = v.file.file_name().unwrap().to_string_lossy().into_owned();
            (name, v.line, v.rule)
        })
        .collect()
}

/// The binary in `dir` with no stray `LOGICAL_CLOCKS_*` from the test's own environment.
pub fn binary_in(dir: &Path) -> Command {
    let mut command = binary();
    command.current_dir(dir);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("LOGICAL_CLOCKS_") {
            command.env_remove(name);
        }
    }
    command
}

/// `text` with its line `n` (1-based) replaced by `line`.
pub fn with_line(text: &str, n: usize, line: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    lines[n - 1] = line;
    lines.join("\n") + "\n"
}

/// Runs `experiment` on `plan` (TOML) with extra flags; the study goes under `<tmp>/studies`.
pub fn run_experiment(plan: &str, flags: &[&str]) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.toml");
    std::fs::write(&path, plan).unwrap();
    let output = binary()
        .arg("experiment")
        .arg(&path)
        .arg("--log-dir")
        .arg(dir.path().join("studies"))
        .args(flags)
        .output()
        .unwrap();
    (output, dir)
}

/// The built `logical-clocks` binary.
pub fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_logical-clocks"))
}

/// A finished run of the binary.
pub struct Run {
    pub output: Output,
    /// Holds the config file and, under `runs/`, the run directories.
    pub log_dir: tempfile::TempDir,
}

impl Run {
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
    /// The single run directory the run created.
    pub fn run_dir(&self) -> PathBuf {
        let dirs: Vec<PathBuf> = std::fs::read_dir(self.log_dir.path().join("runs"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(dirs.len(), 1, "expected one run directory, got {dirs:?}");
        dirs.into_iter().next().unwrap()
    }
}

/// Runs the model with `settings` (TOML) as its config file, on free ports,
/// with extra flags; returns when the process exits.
pub fn run_model(settings: &str, flags: &[&str]) -> Run {
    let log_dir = tempfile::tempdir().unwrap();
    let config = log_dir.path().join("test-settings.toml");
    std::fs::write(&config, settings).unwrap();
    let output = binary()
        .arg("--config")
        .arg(&config)
        .arg("--base-port")
        .arg("0")
        .arg("--log-dir")
        .arg(log_dir.path().join("runs"))
        .args(flags)
        .output()
        .unwrap();
    Run { output, log_dir }
}

/// One parsed log line.
#[derive(Debug, Clone)]
pub struct Line {
    pub number: usize,
    /// RFC 3339 with a fixed width, so it sorts as text.
    pub time: String,
    pub level: String,
    pub message: String,
    pub keys: HashMap<String, String>,
}

impl Line {
    /// The line's time in microseconds since the Unix epoch.
    pub fn micros(&self) -> i64 {
        lc_contract::timestamp::parse_micros(&self.time)
            .unwrap_or_else(|| panic!("line {}: bad time {:?}", self.number, self.time))
    }

    pub fn get(&self, key: &str) -> u64 {
        self.keys
            .get(key)
            .unwrap_or_else(|| panic!("line {} has no `{key}`: {self:?}", self.number))
            .parse()
            .unwrap_or_else(|_| panic!("line {}: `{key}` is not a number", self.number))
    }
}

/// Parses a contract line: `<time> <LEVEL> <message>, <k>: <v>, ...`.
pub fn parse_line(number: usize, text: &str) -> Line {
    let (time, rest) = text.split_once(' ').expect("a timestamp");
    let (level, rest) = rest.split_once(' ').expect("a level");
    let mut parts = rest.split(", ");
    let message = parts.next().unwrap().to_string();
    let keys = parts
        .map(|kv| {
            let (k, v) = kv
                .split_once(": ")
                .unwrap_or_else(|| panic!("bad pair {kv:?} in {text:?}"));
            (k.to_string(), v.to_string())
        })
        .collect();
    assert_eq!(
        time.len(),
        "2026-11-25T17:09:39.802378Z".len(),
        "timestamp {time:?}"
    );
    assert!(time.ends_with('Z'));
    Line {
        number,
        time: time.to_string(),
        level: level.to_string(),
        message,
        keys,
    }
}

/// Every VM's lines, by VM id.
pub fn read_logs(run_dir: &Path) -> BTreeMap<u64, Vec<Line>> {
    let mut vms = BTreeMap::new();
    for id in 1.. {
        let path = run_dir.join(format!("vm-{id}.log"));
        let Ok(text) = std::fs::read_to_string(&path) else {
            break;
        };
        let lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| parse_line(i + 1, l))
            .collect();
        vms.insert(id, lines);
    }
    vms
}

/// What the checks found, for tests to assert more on.
#[derive(Debug, Default)]
pub struct Checked {
    pub ticks: BTreeMap<u64, u64>,
    pub messages_sent: u64,
    pub received: u64,
    pub left_in_queues: u64,
    pub dropped: u64,
    pub max_queue: u64,
    /// Each VM's `stop` time, in microseconds since the Unix epoch.
    pub stop_times: Vec<i64>,
}

/// Checks a run against every rule of the model and against what the test
/// knows; panics with the offending lines on any violation.
///
/// The rules themselves (Lamport's clock rules, receives matched to sends,
/// a waiting message taken first, FIFO links, time order within a file,
/// `settings.toml` against the logs) are the crate's own, through
/// [`lc_analysis::check_run`], so `analyze` and these tests
/// judge runs alike. On top, this checks what only a test of a real run can
/// say: `rates` are the rates the test asked for, each VM ticked exactly
/// `rate × runtime` times (`runtime_secs`: the full run length; `None` for
/// an interrupted run), every `stop` line's counters match its lines, no
/// receive is stamped before its send (one clock stamps every line of a
/// run), every message is received, left in a queue or dropped, and the
/// vector clocks obey their rules ([`check_vector_clocks`]; none at all if
/// `settings.toml` says `vector_clocks = false`). WARN lines are allowed
/// (and skipped); ERRO lines and unknown events are not.
pub fn check_logs(
    run_dir: &Path,
    logs: &BTreeMap<u64, Vec<Line>>,
    rates: &[u64],
    runtime_secs: Option<f64>,
) -> Checked {
    let violations = lc_analysis::check_run(run_dir)
        .unwrap_or_else(|e| panic!("cannot check {}: {e}", run_dir.display()));
    assert!(
        violations.is_empty(),
        "{} violations of the model's rules in {}:\n{}",
        violations.len(),
        run_dir.display(),
        violations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    let mut checked = Checked::default();
    // (sender, seq) -> the send's time
    let mut sent_at: HashMap<(u64, u64), &str> = HashMap::new();
    for (&vm, lines) in logs {
        let first = &lines[0];
        assert_eq!(first.message, "start", "vm {vm} must start with `start`");
        assert_eq!(first.get("rate"), rates[vm as usize - 1]);
        assert!(first.keys.contains_key("addr"));
        let stop = lines.last().unwrap();
        assert_eq!(stop.message, "stop", "vm {vm} must end with `stop`");
        let lines: Vec<&Line> = lines.iter().filter(|l| l.level != "WARN").collect();
        let mut events = 0;
        let (mut internal, mut sent_msgs, mut recvd) = (0, 0, 0);
        for &line in &lines[1..lines.len() - 1] {
            assert_eq!(line.level, "INFO", "vm {vm} line {}: {line:?}", line.number);
            checked.max_queue = checked.max_queue.max(line.get("queue"));
            match line.message.as_str() {
                "internal" => internal += 1,
                "send" => {
                    let to: Vec<u64> = line.keys["to"]
                        .split(' ')
                        .map(|t| t.parse().unwrap())
                        .collect();
                    assert!(
                        !to.contains(&vm),
                        "vm {vm} line {}: sent to itself",
                        line.number
                    );
                    sent_msgs += to.len() as u64;
                    sent_at.insert((vm, line.get("seq")), &line.time);
                }
                "receive" => recvd += 1,
                other => panic!("vm {vm} line {}: unexpected event {other}", line.number),
            }
            events += 1;
        }
        if let Some(runtime) = runtime_secs {
            // The ticks due within the run: the first `phase_ms` after the start, then one
            // every period (whole nanoseconds, as the schedule computes them).
            let rate = u128::from(rates[vm as usize - 1]);
            let phase_ns: u128 =
                (lines[0].keys["phase_ms"].parse::<f64>().unwrap() * 1e6).round() as u128;
            let runtime_ns = (runtime * 1e9).round() as u128;
            let period_ns = 1_000_000_000 / rate;
            let lead_ns = period_ns.saturating_sub(phase_ns);
            let expected_ticks = ((runtime_ns + lead_ns) * rate / 1_000_000_000) as u64;
            assert_eq!(events, expected_ticks, "vm {vm}: one event per tick");
        }
        assert_eq!(stop.get("ticks"), events);
        assert_eq!(stop.get("internal"), internal);
        assert_eq!(stop.get("sent"), sent_msgs);
        assert_eq!(stop.get("received"), recvd);
        checked.ticks.insert(vm, events);
        checked.messages_sent += sent_msgs;
        checked.received += recvd;
        checked.left_in_queues += stop.get("queue");
        checked.dropped += stop.get("dropped");
        checked.stop_times.push(stop.micros());
    }
    for (&vm, lines) in logs {
        for line in lines.iter().filter(|l| l.message == "receive") {
            // check_run has matched every receive to its send.
            let send_time = sent_at[&(line.get("from"), line.get("seq"))];
            assert!(
                line.time.as_str() >= send_time,
                "vm {vm} line {}: received before sent",
                line.number
            );
        }
    }
    assert_eq!(
        checked.messages_sent,
        checked.received + checked.left_in_queues + checked.dropped,
        "every message is received, left in a queue, or counted as dropped"
    );
    if recorded_vector_clocks(run_dir) {
        check_vector_clocks(logs);
    } else {
        assert_no_vector_clocks(logs);
    }
    checked
}

/// Whether the run's `settings.toml` has it keep vector clocks (the default).
pub fn recorded_vector_clocks(run_dir: &Path) -> bool {
    let text = std::fs::read_to_string(run_dir.join("settings.toml")).unwrap();
    let value: toml::Table = toml::from_str(&text).unwrap();
    value
        .get("vector_clocks")
        .is_none_or(|v| v.as_bool().expect("vector_clocks is a boolean"))
}

/// A line's `vc`: one entry per VM, in id order.
pub fn vc_of(line: &Line) -> Vec<u64> {
    line.keys
        .get("vc")
        .unwrap_or_else(|| panic!("line {} has no `vc`: {line:?}", line.number))
        .split(' ')
        .map(|e| {
            e.parse()
                .unwrap_or_else(|_| panic!("line {}: bad `vc` entry {e:?}", line.number))
        })
        .collect()
}

/// Checks every event line's `vc` against the vector-clock rules, from the
/// lines alone (no code of the crate): one entry per VM; the own entry is
/// the VM's count of events so far; a send or internal event adds one to
/// its own entry and changes nothing else; a receive is the entry-wise max
/// of the VM's previous `vc` and the `vc` of the matching `send` line, plus
/// one in its own entry. Returns the number of events checked.
pub fn check_vector_clocks(logs: &BTreeMap<u64, Vec<Line>>) -> u64 {
    let n = logs.len();
    let is_event = |l: &&Line| {
        l.level == "INFO" && ["send", "receive", "internal"].contains(&l.message.as_str())
    };
    let mut send_vc: HashMap<(u64, u64), Vec<u64>> = HashMap::new();
    for (&vm, lines) in logs {
        for line in lines
            .iter()
            .filter(is_event)
            .filter(|l| l.message == "send")
        {
            send_vc.insert((vm, line.get("seq")), vc_of(line));
        }
    }
    let mut checked = 0;
    for (&vm, lines) in logs {
        let own = vm as usize - 1;
        let mut before = vec![0; n];
        for (count, line) in lines.iter().filter(is_event).enumerate() {
            let after = vc_of(line);
            let at = format!("vm-{vm}.log:{} ({})", line.number, line.message);
            assert_eq!(after.len(), n, "{at}: one entry per VM");
            let mut expected = before.clone();
            if line.message == "receive" {
                let sent = &send_vc[&(line.get("from"), line.get("seq"))];
                for (e, s) in expected.iter_mut().zip(sent) {
                    *e = (*e).max(*s);
                }
            }
            expected[own] += 1;
            assert_eq!(after, expected, "{at}: vc after {before:?}");
            assert_eq!(
                after[own],
                count as u64 + 1,
                "{at}: own entry is the event count"
            );
            before = after;
            checked += 1;
        }
    }
    checked
}

/// No line of a run that keeps no vector clocks has a `vc`.
pub fn assert_no_vector_clocks(logs: &BTreeMap<u64, Vec<Line>>) {
    for (vm, lines) in logs {
        for line in lines {
            assert!(
                !line.keys.contains_key("vc"),
                "vm-{vm}.log:{} has a `vc` in a run without vector clocks",
                line.number
            );
        }
    }
}

/// Waits until every VM of a live run has logged `start` and returns the
/// address each listens on. Lines reach the files within a fraction of a
/// second; gives up after 20 s.
pub fn wait_for_addrs(runs_dir: &Path, vm_count: usize) -> Vec<std::net::SocketAddr> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let run_dir = std::fs::read_dir(runs_dir)
            .ok()
            .and_then(|mut d| d.next())
            .and_then(Result::ok)
            .map(|e| e.path());
        if let Some(run_dir) = run_dir {
            let addrs: Vec<_> = (1..=vm_count)
                .filter_map(|id| {
                    let text =
                        std::fs::read_to_string(run_dir.join(format!("vm-{id}.log"))).ok()?;
                    let first = text.lines().next()?;
                    let line = parse_line(1, first);
                    line.keys.get("addr")?.parse().ok()
                })
                .collect();
            if addrs.len() == vm_count {
                return addrs;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the run never logged its starts"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Rates of a run as recorded in its settings.toml.
pub fn recorded_rates(run_dir: &Path) -> Vec<u64> {
    let text = std::fs::read_to_string(run_dir.join("settings.toml")).unwrap();
    let value: toml::Table = toml::from_str(&text).unwrap();
    value["rates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_integer().unwrap() as u64)
        .collect()
}

/// Runs 3 VMs at 20 ticks/s in-process (library call, real TCP) for
/// `runtime_secs`, dropping VM `vm`'s connections `after` the start, with
/// logs under `log_dir`.
pub fn run_with_lost_peer(
    log_dir: &Path,
    runtime_secs: f64,
    vm: u32,
    after: std::time::Duration,
    seed: u64,
) -> logical_clocks::run::RunOutcome {
    use lc_settings::Settings;
    use logical_clocks::actors::supervisor::ConnectionDrop;
    use logical_clocks::run::{self, RunOptions};
    let settings = Settings {
        vm_count: 3,
        runtime: runtime_secs,
        base_port: 0,
        log_dir: log_dir.to_path_buf(),
        rates: vec![20, 20, 20],
        internal_probability: 0.2,
        ..Settings::default()
    };
    let options = RunOptions {
        faults: vec![ConnectionDrop { vm: vid(vm), after }],
        ..RunOptions::default()
    };
    run::run(settings.resolve(|| seed).unwrap(), options).unwrap()
}

/// Starts the model as a child process with `settings` (TOML) as its config
/// file, on free ports, logging under `<dir>/runs`; stdout and stderr are
/// piped, so a test can close them, read them or signal the child.
pub fn spawn_model(settings: &str, dir: &Path) -> std::process::Child {
    let config = dir.join("test-settings.toml");
    std::fs::write(&config, settings).unwrap();
    binary()
        .arg("--config")
        .arg(&config)
        .args(["--base-port", "0", "--log-dir"])
        .arg(dir.join("runs"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// The run directories under `runs_dir`, in name (time) order.
pub fn run_dirs(runs_dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(runs_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// Sends `signal` (a `kill` name such as `HUP`) to a child process.
pub fn send_signal(child: &std::process::Child, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} failed");
}

/// A VM id written in a test.
pub fn vid(n: u32) -> lc_core::vm_id::VmId {
    lc_core::vm_id::VmId::literal(n)
}

/// A payload behind the 4-byte length prefix every connection's frames carry.
pub fn framed(payload: &[u8]) -> Vec<u8> {
    [&(payload.len() as u32).to_be_bytes()[..], payload].concat()
}

/// A hello frame's payload: this protocol version, run token, VM id.
pub fn hello_payload(token: u64, vm: u32) -> Vec<u8> {
    hello_payload_of_version(logical_clocks::messages::PROTOCOL_VERSION, token, vm)
}

/// A hello frame's payload as a peer speaking protocol `version` sends it.
pub fn hello_payload_of_version(version: u16, token: u64, vm: u32) -> Vec<u8> {
    logical_clocks::messages::Frame::Hello {
        version,
        token,
        vm: vid(vm),
    }
    .encode()
    .to_vec()
}

/// A data frame's payload: message 1 of VM `from`, clock 1, no vector clock.
pub fn data_payload(from: u32) -> Vec<u8> {
    use lc_core::model::Message;
    use logical_clocks::messages::Frame;
    let message = Message {
        from: vid(from),
        seq: 1,
        lc: 1,
        vc: Vec::new(),
    };
    Frame::Data {
        message,
        sent_at: 0,
    }
    .encode()
    .to_vec()
}

/// Sends `signal` (as `kill` names it) to a 4-VM run set for 60 s, a moment
/// after it starts, and checks the orderly stop that must follow: exit
/// `code`, `says` on stderr, the summary on stdout, every VM's `stop`, the
/// books balanced, and far fewer ticks than the full run.
pub fn signal_stops_the_run_in_order(signal: &str, code: i32, says: &str) {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let child = spawn_model(
        "vm_count = 4\nruntime = 60\nrates = [5, 10, 20, 40]\ninternal_probability = 0.4\n",
        dir.path(),
    );
    wait_for_addrs(&dir.path().join("runs"), 4);
    std::thread::sleep(Duration::from_millis(800));
    let signalled_at = Instant::now();
    send_signal(&child, signal);
    let output = child.wait_with_output().unwrap();
    assert!(signalled_at.elapsed() < Duration::from_secs(10));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(code), "{stderr}");
    assert!(stderr.contains(says), "{stderr}");
    assert!(
        stdout.contains("sent ="),
        "the summary is printed: {stdout}"
    );
    let runs = run_dirs(&dir.path().join("runs"));
    assert_eq!(runs.len(), 1);
    let logs = read_logs(&runs[0]);
    assert_eq!(logs.len(), 4);
    let checked = check_logs(&runs[0], &logs, &[5, 10, 20, 40], None);
    // Well short of the 60 s the run was set for.
    assert!(
        checked.ticks[&4] > 0 && checked.ticks[&4] < 40 * 30,
        "{checked:?}"
    );
}
