//! Under resource pressure: strangers by the thousand on the VMs' ports, and
//! too few file descriptors for a run or for a study's parallel trials. The
//! run must stay exact, close idle strangers at their deadline, keep its log
//! within a bound whatever comes in, and refuse what cannot fit before
//! anything starts.

use crate::common::vid;
use crate::common::{check_logs, data_payload, framed, hello_payload, read_logs, wait_for_addrs};
use actix::prelude::*;
use lc_core::latency::Latency;
use logical_clocks::actors::bridge::{Bridge, BridgeSetup, VmInbox};
use logical_clocks::actors::transport::Listening;
use logical_clocks::actors::VmGauges;
use logical_clocks::admission::{
    FIRST_ACCEPT_PAUSE, HANDSHAKE_DEADLINE, MAX_ACCEPT_PAUSE, STRANGER_CAP,
};
use logical_clocks::logging::{self, EventClock, RunDrain};
use logical_clocks::messages::{BridgeReady, Deliver, OutgoingClosed, PeerClosed, PeerReopened};
use logical_clocks::warn_limiter::{max_lines, BURST, INTERVAL};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const RATES: [u64; 3] = [10, 20, 30];
const RUNTIME: f64 = 8.0;
/// How late a deadline's close may reach the stranger on a busy machine.
const MARGIN: Duration = Duration::from_secs(3);

/// Connections that each earn exactly one refusal: every one is a whole
/// first frame (or a length prefix over the limit) that the handshake turns
/// down, so none can end unnoticed.
fn garbage() -> Vec<Vec<u8>> {
    vec![
        framed(&hello_payload(42, 1)),
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        vec![0xff, 0xff, 0xff, 0xf0, 1, 2, 3],
        framed(&data_payload(1)),
        framed(&[0xee, 1, 2, 3]),
    ]
}

/// Opens a connection that never says a word and watches, on a thread of
/// its own, for the run to close it: how long after the connect the end of
/// the stream (or a reset) came, or `None` if it never did.
fn idle_stranger(addr: SocketAddr) -> JoinHandle<Option<Duration>> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    let connected = Instant::now();
    std::thread::spawn(move || {
        stream
            .set_read_timeout(Some(HANDSHAKE_DEADLINE + MARGIN))
            .unwrap();
        let mut buf = [0u8; 16];
        match stream.read(&mut buf) {
            Ok(0) => Some(connected.elapsed()),
            Ok(n) => panic!("a stranger was sent {n} bytes"),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => Some(connected.elapsed()),
            Err(_) => None,
        }
    })
}

/// Connects to the ports in turn for `length`, paced, each time sending
/// one piece of garbage and hanging up; returns how many connected.
fn garbage_flood(addrs: Vec<SocketAddr>, length: Duration, seed: usize) -> JoinHandle<u64> {
    std::thread::spawn(move || {
        let pieces = garbage();
        let began = Instant::now();
        let mut connected = 0;
        let mut i = seed;
        while began.elapsed() < length {
            i += 1;
            let addr = addrs[i % addrs.len()];
            if let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
                connected += 1;
                // A write may fail: a full listener closes at once.
                let _ = stream.write_all(&pieces[i % pieces.len()]);
            }
            // About 800 connections a second from each thread at most.
            if i.is_multiple_of(8) {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        connected
    })
}

/// A summary line's count and what it counts (`connections refused`,
/// `failed accepts`), after the log format's `... and <count> more <kind> in
/// the last <seconds> s: ...`; `None` for any other line.
fn summary(message: &str) -> Option<(u64, &str)> {
    let rest = message.strip_prefix("... and ")?;
    let (count, rest) = rest.split_once(" more ")?;
    let (kind, _) = rest.split_once(" in the last ")?;
    Some((count.parse().ok()?, kind))
}

/// How many stranger connections a WARN line stands for: 1 for a refusal
/// in full, the count for a summary of refusals, 0 for anything else.
fn refusals_in(message: &str) -> u64 {
    match summary(message) {
        Some((count, "connections refused")) => count,
        Some(_) => 0,
        None => {
            u64::from(message.starts_with("closed connection from ") && !message.contains("(VM "))
        }
    }
}

#[test]
fn a_stranger_flood_leaves_the_run_exact_closes_idle_strangers_and_bounds_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("test-settings.toml");
    std::fs::write(
        &config,
        format!(
            "vm_count = 3\nruntime = {RUNTIME}\nrates = {RATES:?}\ninternal_probability = 0.4\n"
        ),
    )
    .unwrap();
    let began = Instant::now();
    let child = crate::common::binary()
        .arg("--config")
        .arg(&config)
        .args(["--base-port", "0", "--log-dir"])
        .arg(dir.path().join("runs"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let addrs = wait_for_addrs(&dir.path().join("runs"), 3);

    // Twenty idle strangers on every port: within the cap, so each is held
    // until its deadline and then closed.
    let idle: Vec<_> = (0..20)
        .flat_map(|_| addrs.iter().map(|&a| idle_stranger(a)))
        .collect();
    // A crowd on VM 1's port: beyond the cap, most are closed at once.
    let crowd: Vec<_> = (0..150).map(|_| idle_stranger(addrs[0])).collect();
    // And garbage on every port for three seconds, from two threads.
    let flood: Vec<_> = (0..2)
        .map(|seed| garbage_flood(addrs.clone(), Duration::from_secs(3), seed))
        .collect();

    let idle: Vec<Option<Duration>> = idle.into_iter().map(|h| h.join().unwrap()).collect();
    let crowd: Vec<Option<Duration>> = crowd.into_iter().map(|h| h.join().unwrap()).collect();
    let garbage_connections: u64 = flood.into_iter().map(|h| h.join().unwrap()).sum();
    let output = child.wait_with_output().unwrap();
    let span = began.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");

    // Idle strangers are closed at their deadline: not before (they were
    // admitted), and not much after.
    for closed in &idle {
        let closed = closed.expect("an idle stranger was never closed");
        assert!(
            closed >= HANDSHAKE_DEADLINE - Duration::from_millis(100),
            "closed after {closed:?}, before the deadline"
        );
        assert!(
            closed <= HANDSHAKE_DEADLINE + MARGIN,
            "closed after {closed:?}"
        );
    }
    // The crowd: every one closed, and all but the cap's worth at once
    // (only the deadline closes an admitted idle stranger).
    let crowd: Vec<Duration> = crowd
        .into_iter()
        .map(|c| c.expect("a stranger beyond the cap was never closed"))
        .collect();
    let at_once = crowd.iter().filter(|&&c| c < HANDSHAKE_DEADLINE).count();
    assert!(
        at_once >= 20 + 150 - STRANGER_CAP,
        "only {at_once} of 150 closed before the deadline"
    );
    assert!(garbage_connections > 1000, "{garbage_connections}");

    // Every VM ticked exactly rate x runtime times and lost nothing.
    let run_dir = std::fs::read_dir(dir.path().join("runs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let logs = read_logs(&run_dir);
    check_logs(&run_dir, &logs, &RATES, Some(RUNTIME));

    // Each VM's WARN lines stay within the limiter's bound for the life of
    // the process, for its two kinds (refusals, failed accepts) ...
    let bound = 2 * max_lines(BURST, INTERVAL, span);
    let mut counted = 0;
    for (vm, lines) in &logs {
        let warnings: Vec<_> = lines.iter().filter(|l| l.level == "WARN").collect();
        assert!(
            warnings.len() as u64 <= bound,
            "vm {vm}: {} WARN lines over {span:?}, bound {bound}",
            warnings.len()
        );
        assert!(
            warnings
                .iter()
                .any(|l| matches!(summary(&l.message), Some((_, "connections refused")))),
            "vm {vm}: no summary line"
        );
        counted += warnings
            .iter()
            .map(|l| refusals_in(&l.message))
            .sum::<u64>();
        eprintln!(
            "vm {vm}: {} WARN lines (bound {bound}), the last: {:?}",
            warnings.len(),
            warnings.last().map(|l| &l.message)
        );
    }
    eprintln!(
        "{garbage_connections} garbage connections, {at_once} of the crowd closed at once, \
         {counted} refusals reported over {span:?}"
    );
    // ... and yet every stranger is there: in full or in a count.
    assert_eq!(
        counted,
        (idle.len() + crowd.len()) as u64 + garbage_connections,
        "every stranger's connection is reported once"
    );
}

/// Runs the binary under a hard and soft limit of `limit` open files.
fn under_file_limit(limit: u64, args: &[&str], log_dir: &Path) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_logical-clocks"))
        .args(args)
        .arg("--log-dir")
        .arg(log_dir)
        .current_dir(log_dir.parent().unwrap())
        .output()
        .unwrap()
}

/// The one line of stderr, checked to be the only one.
fn one_line(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    stderr.trim_end().to_string()
}

#[test]
fn a_run_beyond_the_open_file_limit_is_refused_with_the_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("runs");
    // 10 VMs: 90 mesh sockets + 10 listeners + 10 log files + 8 strangers
    // per listener at least + 64 reserved = 254; with the full 64 strangers
    // per listener, 814.
    let output = under_file_limit(
        200,
        &["--vm-count", "10", "--runtime", "1", "--base-port", "0"],
        &logs,
    );
    assert_eq!(
        one_line(&output),
        "error: 10 VMs need about 254 open files but the limit is 200; \
         raise it (ulimit -n 814) or run fewer VMs"
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(!logs.exists(), "no run directory for a refused run");
}

#[test]
fn a_virtual_run_beyond_the_open_file_limit_is_refused_before_its_run_directory() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("runs");
    // No socket on virtual time, but a log file per VM: 60 + 64 reserved.
    let output = under_file_limit(
        40,
        &["--vm-count", "60", "--runtime", "1", "--virtual-time"],
        &logs,
    );
    assert_eq!(
        one_line(&output),
        "error: 60 VMs on virtual time (a log file each) need about 124 open files but the \
         limit is 40; raise it (ulimit -n 124) or run fewer VMs"
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(!logs.exists(), "no run directory for a refused run");
}

#[test]
fn a_node_needs_open_files_for_its_one_vm_not_for_the_whole_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("runs");
    // Each node of 5: 4 connections + 1 listener + 1 log + 8 strangers at
    // least + 64 reserved = 78 fit under 100; all 5 VMs in one process
    // (134) would not.
    let output = under_file_limit(
        100,
        &[
            "cluster",
            "--vm-count",
            "5",
            "--runtime",
            "1",
            "--base-port",
            "0",
            "--no-plots",
        ],
        &logs,
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_cluster_beyond_the_open_file_limit_is_refused_before_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("runs");
    // `cluster` holds a handle and, while it picks ports, a listener per
    // node: 60 + 64 reserved; each node needs 29 + 1 + 1 + 8 + 64 = 103.
    let output = under_file_limit(
        60,
        &[
            "cluster",
            "--vm-count",
            "30",
            "--runtime",
            "1",
            "--base-port",
            "0",
        ],
        &logs,
    );
    assert_eq!(
        one_line(&output),
        "error: a cluster of 30 nodes needs about 124 open files in this process and 103 in \
         each node but the limit is 60; raise it (ulimit -n 159) or run fewer VMs"
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(!logs.exists(), "no cluster directory for a refused cluster");
}

#[test]
fn a_study_whose_parallel_trials_exceed_the_open_file_limit_is_refused_before_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        "seed = 1\ntrials = 1\nruntime = 1\nbase = { vm_count = 10 }\n\
         [[variation]]\nname = \"a\"\n[[variation]]\nname = \"b\"\n",
    )
    .unwrap();
    let plan = plan.to_str().unwrap();
    let studies = dir.path().join("studies");
    // Each trial alone needs 254 (see above): one fits under 400, two do not.
    let output = under_file_limit(400, &["experiment", plan, "--jobs", "2"], &studies);
    assert_eq!(
        one_line(&output),
        "error: --jobs 2 runs up to 2 trials at once (10 + 10 VMs), which need about 508 \
         open files but the limit is 400; run fewer trials at once (--jobs 1 fits) \
         or raise the limit (ulimit -n 1628)"
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(!studies.exists(), "no study directory for a refused study");

    // On virtual time the trials open no socket: the same study runs.
    let output = under_file_limit(
        400,
        &["experiment", plan, "--jobs", "2", "--virtual-time"],
        &studies,
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Stands in for the VM and the supervisor of a bridge alone: takes
/// whatever they would be sent, and does nothing with it.
struct Bystander;

impl Actor for Bystander {
    type Context = Context<Self>;
}

macro_rules! ignores {
    ($($message:ty),*) => {$(
        impl Handler<$message> for Bystander {
            type Result = ();
            fn handle(&mut self, _: $message, _: &mut Context<Self>) {}
        }
    )*};
}
ignores!(
    Deliver,
    PeerClosed,
    PeerReopened,
    OutgoingClosed,
    BridgeReady
);

/// The most accepts the loop may try within `span`: one at once, then one
/// after each pause, the pauses doubling from the first to the longest.
fn most_attempts_within(span: Duration) -> u64 {
    let (mut elapsed, mut pause, mut attempts) = (Duration::ZERO, FIRST_ACCEPT_PAUSE, 1);
    while elapsed + pause <= span {
        elapsed += pause;
        attempts += 1;
        pause = (pause * 2).min(MAX_ACCEPT_PAUSE);
    }
    attempts
}

/// A listener whose every accept fails at once (a bound socket that does
/// not listen: EINVAL, as a process out of file descriptors gets EMFILE at
/// once, again and again) makes the accept loop pause, doubling, instead of
/// spinning, and its WARN lines are limited like a stranger's.
#[test]
fn an_accept_loop_that_keeps_failing_backs_off_instead_of_spinning() {
    use std::os::fd::{FromRawFd, IntoRawFd};
    let dir = tempfile::tempdir().unwrap();
    let (root, guard) = logging::run_logger(
        RunDrain::create(dir.path(), 1, Duration::ZERO).unwrap(),
        logging::Delivery::WriterThread,
    );
    let watched = Duration::from_millis(2500);
    actix::System::new().block_on({
        let log = logging::vm_logger(&root, vid(1));
        async move {
            let bystander = Bystander.start();
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
            // SAFETY: the descriptor comes whole from `socket`, which gives
            // it up; nothing else owns or closes it.
            let not_listening = unsafe { std::net::TcpListener::from_raw_fd(socket.into_raw_fd()) };
            not_listening.set_nonblocking(true).unwrap();
            let _bridge = Bridge::new(BridgeSetup {
                vm_id: vid(1),
                listener: Some(Listening {
                    socket: not_listening,
                    stranger_cap: STRANGER_CAP,
                }),
                peers: Vec::new(),
                token: 1,
                vector_clocks: true,
                latency: Latency::default(),
                delay_seed: 0,
                faults: Default::default(),
                vm: VmInbox {
                    deliver: bystander.clone().recipient(),
                    peer_closed: bystander.clone().recipient(),
                    peer_reopened: bystander.clone().recipient(),
                    outgoing_closed: bystander.clone().recipient(),
                },
                gauges: Arc::new(VmGauges::default()),
                supervisor: bystander.recipient(),
                dial: Default::default(),
                cluster: None,
                log,
                clock: EventClock::wall(),
            })
            .start();
            actix::clock::sleep(watched).await;
        }
    });
    drop(root);
    drop(guard);
    let lines = &read_logs(dir.path())[&1];
    assert!(lines.iter().all(|l| l.level == "WARN"), "{lines:?}");
    assert!(
        lines[0]
            .message
            .starts_with("accepting a connection failed: ")
            && lines[0].message.ends_with("; pausing accepts for 10 ms"),
        "{:?}",
        lines[0]
    );
    let attempts: u64 = lines
        .iter()
        .map(|l| match summary(&l.message) {
            Some((count, "failed accepts")) => count,
            Some(other) => panic!("{other:?}"),
            None => 1,
        })
        .sum();
    let most = most_attempts_within(watched);
    assert!(
        (2..=most + 1).contains(&attempts),
        "{attempts} accepts in {watched:?}, at most {most} with the back-off: {lines:?}"
    );
}
