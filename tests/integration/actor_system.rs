//! Integration tests that start an actix system inside the test: the
//! supervisor with its VMs and bridges (on real loopback TCP and on virtual
//! time), and each actor alone against stand-ins for its neighbours, so a
//! driver's share of the model (the mailbox as the queue, FIFO links, the
//! orderly stop) is checked where it happens, not only through the logs.

use crate::common::vid;
use actix::prelude::*;
use lc_analysis::{analyze_run, AnalyzeOptions};
use lc_core::accounting::Accounting;
use lc_core::latency::{Delay, Latency};
use lc_core::model::{Message, VmId, VmModel};
use lc_core::schedule::ticks_within;
use lc_core::vm_core::VmCore;
use lc_settings::{RunSpec, Seed, Settings};
use logical_clocks::actors::bridge::{Bridge, BridgeSetup, VmInbox};
use logical_clocks::actors::supervisor::{Finished, Supervisor};
use logical_clocks::actors::transport::{Network, PeerAddress};
use logical_clocks::actors::vm::{Vm, VmSetup};
use logical_clocks::actors::VmGauges;
use logical_clocks::logging::{self, EventClock, RunDrain};
use logical_clocks::messages::{
    CloseOutgoing, ConnId, Deliver, Frame, Inbound, InboundEvent, OutgoingClosed, PeerClosed,
    Transmit, VmStopped, PROTOCOL_VERSION,
};
use logical_clocks::run::bind_listeners;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// An actix system on a paused tokio clock: virtual time.
fn virtual_system() -> actix::SystemRunner {
    actix::System::with_tokio_rt(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap()
    })
}

fn spec(dir: &Path, rates: Vec<i64>, runtime: f64, virtual_time: bool) -> RunSpec {
    Settings {
        vm_count: rates.len() as i64,
        runtime,
        base_port: 0,
        log_dir: dir.to_path_buf(),
        seed: Seed::Fixed(17),
        rates,
        internal_probability: 0.4,
        virtual_time,
        ..Settings::default()
    }
    .resolve(|| 0)
    .unwrap()
}

/// Starts a supervisor in the current system, logging into `dir`, and
/// waits for its result.
async fn supervise(spec: RunSpec, network: Network, dir: &Path) -> Finished {
    let drain = RunDrain::create(dir, spec.vm_count, logging::FLUSH_INTERVAL).unwrap();
    lc_contract::run_dir::write_settings(dir, &spec).unwrap();
    let (done, result) = tokio::sync::oneshot::channel();
    let delivery = if spec.virtual_time {
        logging::Delivery::InPlace
    } else {
        logging::Delivery::WriterThread
    };
    Supervisor::new(
        spec,
        network,
        logging::run_logger(drain, delivery),
        false,
        Vec::new(),
        done,
    )
    .start();
    result.await.unwrap().unwrap()
}

/// Every VM ticked exactly `rate x runtime` times, every message is
/// accounted for, the analyzer finds every rule kept, and every event line's
/// `vc` obeys the vector-clock rules (or there is none, if the run keeps none).
fn assert_complete_run(finished: &Finished, spec: &RunSpec, dir: &Path) {
    assert!(finished.missing.is_empty(), "{:?}", finished.missing);
    assert_eq!(finished.reports.len(), spec.vm_count as usize);
    for (report, &rate) in finished.reports.iter().zip(&spec.rates) {
        let lead = spec.tick_leads[report.vm.index()];
        assert_eq!(
            report.counters.ticks,
            ticks_within(rate, spec.runtime, lead)
        );
        assert_eq!(report.dropped, 0);
    }
    let books = Accounting::of(&finished.reports);
    assert!(books.balanced(), "{books:?}");
    assert!(books.received > 0, "{books:?}");
    let analysis = analyze_run(dir, &AnalyzeOptions { plots: false }).unwrap();
    assert!(analysis.is_healthy(), "{}", analysis.report());
    let logs = crate::common::read_logs(dir);
    if spec.vector_clocks {
        let events = crate::common::check_vector_clocks(&logs);
        let ticks: u64 = finished.reports.iter().map(|r| r.counters.ticks).sum();
        assert_eq!(events, ticks, "every event has its `vc`");
    } else {
        crate::common::assert_no_vector_clocks(&logs);
    }
}

#[test]
fn a_mesh_on_loopback_tcp_runs_inside_the_test() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path(), vec![20, 50, 10, 35], 1.5, false);
    let finished = actix::System::new().block_on(async {
        let listeners = bind_listeners(&spec).unwrap();
        assert!(listeners.addrs.iter().all(|a| a.ip().is_loopback()));
        supervise(spec.clone(), Network::Tcp(listeners), dir.path()).await
    });
    assert_complete_run(&finished, &spec, dir.path());
    let first = std::fs::read_to_string(dir.path().join("vm-1.log")).unwrap();
    assert!(first.contains(", addr: 127.0.0.1:"), "{first}");
}

/// The same mesh on loopback TCP with vector clocks left out: every data
/// frame then carries an empty clock (the bridges refuse any other), and no
/// line has a `vc`.
#[test]
fn a_mesh_on_loopback_tcp_runs_without_vector_clocks() {
    let dir = tempfile::tempdir().unwrap();
    let spec = RunSpec {
        vector_clocks: false,
        ..spec(dir.path(), vec![40, 25, 30], 1.0, false)
    };
    let finished = actix::System::new().block_on(async {
        let listeners = bind_listeners(&spec).unwrap();
        supervise(spec.clone(), Network::Tcp(listeners), dir.path()).await
    });
    assert_complete_run(&finished, &spec, dir.path());
}

#[test]
fn a_mesh_on_virtual_time_runs_inside_the_test() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path(), vec![1, 6, 3, 6, 2], 600.0, true);
    let finished = virtual_system()
        .block_on(async { supervise(spec.clone(), Network::InProcess, dir.path()).await });
    assert_complete_run(&finished, &spec, dir.path());
    // Ten virtual minutes, measured on the virtual clock.
    assert!(finished.elapsed >= Duration::from_secs(600), "{finished:?}");
}

/// Stands in for a VM: records what its bridge hands it, in order.
#[derive(Default)]
struct VmStandIn {
    seen: Arc<Mutex<Vec<String>>>,
}

impl Actor for VmStandIn {
    type Context = Context<Self>;
}

impl Handler<Deliver> for VmStandIn {
    type Result = ();
    fn handle(&mut self, Deliver(m): Deliver, _: &mut Context<Self>) {
        self.seen
            .lock()
            .unwrap()
            .push(format!("deliver {} {}", m.from, m.seq));
    }
}

impl Handler<PeerClosed> for VmStandIn {
    type Result = ();
    fn handle(&mut self, PeerClosed(peer): PeerClosed, _: &mut Context<Self>) {
        self.seen.lock().unwrap().push(format!("closed {peer}"));
    }
}

impl Handler<logical_clocks::messages::PeerReopened> for VmStandIn {
    type Result = ();
    fn handle(&mut self, reopened: logical_clocks::messages::PeerReopened, _: &mut Context<Self>) {
        self.seen
            .lock()
            .unwrap()
            .push(format!("reopened {}", reopened.0));
    }
}

impl Handler<OutgoingClosed> for VmStandIn {
    type Result = ();
    fn handle(&mut self, closed: OutgoingClosed, _: &mut Context<Self>) {
        self.seen
            .lock()
            .unwrap()
            .push(format!("outgoing closed, {} dropped", closed.dropped.total));
    }
}

/// Stands in for a peer's bridge: records the frames it is sent.
#[derive(Default)]
struct PeerStandIn {
    frames: Arc<Mutex<Vec<Frame>>>,
}

impl Actor for PeerStandIn {
    type Context = Context<Self>;
}

impl Handler<Inbound> for PeerStandIn {
    type Result = ();
    fn handle(&mut self, inbound: Inbound, _: &mut Context<Self>) {
        if let InboundEvent::Frame(Ok(payload)) = inbound.event {
            self.frames
                .lock()
                .unwrap()
                .push(Frame::decode(&payload).unwrap());
        }
    }
}

fn hello(vm: VmId, token: u64) -> Inbound {
    frame(
        vm,
        Frame::Hello {
            version: PROTOCOL_VERSION,
            token,
            vm,
        },
    )
}

fn frame(from: VmId, frame: Frame) -> Inbound {
    Inbound {
        conn: ConnId::InProcess(from),
        event: InboundEvent::Frame(Ok(frame.encode()[..].into())),
    }
}

/// Message `seq` of VM `from` in a run of 3 VMs.
fn data(from: VmId, seq: u64) -> Inbound {
    let mut vc = vec![0; 3];
    vc[from.index()] = seq;
    frame(
        from,
        Frame::Data {
            message: Message {
                from,
                seq,
                lc: seq,
                vc,
            },
            sent_at: 0,
        },
    )
}

/// A bridge between a stand-in VM and two stand-in peers, on virtual time
/// with random delays: it delivers in FIFO order per link, lets nothing in
/// before a hello, counts what it cannot send, and closes in order.
#[test]
fn a_bridge_alone_keeps_links_fifo_and_admits_only_peers_that_said_hello() {
    const TOKEN: u64 = 99;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let to_peer = Arc::new(Mutex::new(Vec::new()));
    let gauges = Arc::new(VmGauges::default());
    let log = slog::Logger::root(slog::Discard, slog::o!());
    virtual_system().block_on({
        let (seen, to_peer, gauges) = (seen.clone(), to_peer.clone(), gauges.clone());
        async move {
            let vm = VmStandIn { seen }.start();
            let peer2 = PeerStandIn { frames: to_peer }.start();
            let peer3 = PeerStandIn::default().start();
            let ready = ReadyStandIn.start();
            let bridge = Bridge::new(BridgeSetup {
                vm_id: vid(1),
                listener: None,
                peers: vec![
                    (vid(2), PeerAddress::InProcess(peer2.recipient())),
                    (vid(3), PeerAddress::InProcess(peer3.recipient())),
                ],
                token: TOKEN,
                vector_clocks: true,
                latency: Latency {
                    default: Delay::Uniform {
                        min_ms: 0.0,
                        max_ms: 400.0,
                    },
                    ..Latency::default()
                },
                delay_seed: 5,
                faults: Default::default(),
                vm: VmInbox {
                    deliver: vm.clone().recipient(),
                    peer_closed: vm.clone().recipient(),
                    peer_reopened: vm.clone().recipient(),
                    outgoing_closed: vm.recipient(),
                },
                gauges,
                supervisor: ready.recipient(),
                dial: Default::default(),
                cluster: None,
                log,
                clock: EventClock::starting_at(0),
            })
            .start();
            // VM 3 sends data before its hello: refused, and never delivered.
            bridge.do_send(data(vid(3), 1));
            bridge.do_send(hello(vid(2), TOKEN));
            for seq in 1..=50 {
                bridge.do_send(data(vid(2), seq));
            }
            bridge.do_send(frame(vid(2), Frame::Bye));
            bridge.do_send(Inbound {
                conn: ConnId::InProcess(vid(2)),
                event: InboundEvent::End,
            });
            // Outgoing links are the bridge's own: VM 3's refused
            // connection does not stop a send to it.
            bridge.do_send(Transmit {
                to: vec![vid(2), vid(3)],
                message: Message {
                    from: vid(1),
                    seq: 1,
                    lc: 1,
                    vc: vec![1, 0, 0],
                },
                sent_at: 0,
            });
            actix::clock::sleep(Duration::from_secs(5)).await;
            bridge.do_send(CloseOutgoing);
            actix::clock::sleep(Duration::from_secs(1)).await;
        }
    });
    let seen = seen.lock().unwrap().clone();
    let mut expected: Vec<String> = (1..=50).map(|seq| format!("deliver 2 {seq}")).collect();
    expected.push("closed 2".into());
    expected.push("outgoing closed, 0 dropped".into());
    assert_eq!(
        seen, expected,
        "FIFO, the close behind the last message, nothing from VM 3"
    );
    assert_eq!(gauges.queued.load(Ordering::Acquire), 50);
    let frames = to_peer.lock().unwrap().clone();
    assert!(matches!(
        frames[0],
        Frame::Hello {
            vm,
            token: TOKEN,
            ..
        } if vm == vid(1)
    ));
    assert!(
        matches!(&frames[1], Frame::Data { message, .. } if message.seq == 1 && message.vc == [1, 0, 0]),
        "the vector clock travels with the message: {:?}",
        frames[1]
    );
    assert_eq!(frames.last(), Some(&Frame::Bye));
}

/// Receives the bridges' readiness (and ignores it).
struct ReadyStandIn;

impl Actor for ReadyStandIn {
    type Context = Context<Self>;
}

impl Handler<logical_clocks::messages::BridgeReady> for ReadyStandIn {
    type Result = ();
    fn handle(&mut self, _: logical_clocks::messages::BridgeReady, _: &mut Context<Self>) {}
}

/// Stands in for a VM's bridge: counts what the VM sends and, asked to
/// close, answers like a bridge whose peers have all closed.
struct BridgeStandIn {
    vm: Option<Addr<Vm>>,
    transmits: Arc<Mutex<Vec<Transmit>>>,
}

impl Actor for BridgeStandIn {
    type Context = Context<Self>;
}

impl Handler<Transmit> for BridgeStandIn {
    type Result = ();
    fn handle(&mut self, t: Transmit, _: &mut Context<Self>) {
        self.transmits.lock().unwrap().push(t);
    }
}

impl Handler<logical_clocks::messages::Crash> for BridgeStandIn {
    type Result = ();
    fn handle(&mut self, _: logical_clocks::messages::Crash, _: &mut Context<Self>) {}
}

impl Handler<logical_clocks::messages::Reconnect> for BridgeStandIn {
    type Result = ();
    fn handle(&mut self, _: logical_clocks::messages::Reconnect, _: &mut Context<Self>) {}
}

impl Handler<CloseOutgoing> for BridgeStandIn {
    type Result = ();
    fn handle(&mut self, _: CloseOutgoing, _: &mut Context<Self>) {
        if let Some(vm) = &self.vm {
            vm.do_send(PeerClosed(vid(2)));
            vm.do_send(OutgoingClosed {
                dropped: Default::default(),
            });
        }
    }
}

/// Collects the VM's report.
struct SupervisorStandIn(Arc<Mutex<Option<lc_core::accounting::VmReport>>>);

impl Actor for SupervisorStandIn {
    type Context = Context<Self>;
}

impl Handler<VmStopped> for SupervisorStandIn {
    type Result = ();
    fn handle(&mut self, VmStopped(report): VmStopped, _: &mut Context<Self>) {
        *self.0.lock().unwrap() = Some(report);
        System::current().stop();
    }
}

/// A VM alone with messages already in its mailbox: its mailbox is its
/// queue, so its first ticks take them, oldest first, even though its die
/// (internal probability 0) would send on every tick; then it sends on
/// every tick until the stop, and stops once its bridge has closed.
#[test]
fn a_vm_alone_takes_its_waiting_messages_first_one_per_tick() {
    let transmits = Arc::new(Mutex::new(Vec::new()));
    let report = Arc::new(Mutex::new(None));
    let runner = virtual_system();
    runner.block_on({
        let (transmits, report) = (transmits.clone(), report.clone());
        async move {
            let gauges = Arc::new(VmGauges::default());
            let vm_ctx = Context::<Vm>::new();
            let vm = vm_ctx.address();
            let bridge = BridgeStandIn {
                vm: Some(vm.clone()),
                transmits,
            }
            .start();
            for seq in 1..=3 {
                gauges.queued.fetch_add(1, Ordering::AcqRel);
                vm.do_send(Deliver(Message {
                    from: vid(2),
                    seq,
                    lc: 10 * seq,
                    vc: vec![0, 5 * seq],
                }));
            }
            let start = actix::clock::Instant::now();
            // The sender may go: a VM whose supervisor is gone keeps to its schedule.
            let (_, stop_at) = tokio::sync::watch::channel(start + Duration::from_secs(2));
            vm_ctx.run(Vm::new(VmSetup {
                core: VmCore::new(VmModel::new(vid(1), 2, 3, 0.0, true)),
                rate: 5,
                addr: "stand-in".into(),
                start,
                // Out of phase: the first tick 50 ms after the start, still 10 in 2 s.
                lead: Duration::from_millis(150),
                stop_at,
                transmit: bridge.clone().recipient(),
                close_outgoing: bridge.clone().recipient(),
                crash: bridge.clone().recipient(),
                reconnect: bridge.recipient(),
                faults: Default::default(),
                supervisor: SupervisorStandIn(report).start().recipient(),
                gauges,
                log: slog::Logger::root(slog::Discard, slog::o!()),
                clock: EventClock::starting_at(0),
                precise_timer: false,
            }));
        }
    });
    runner.run().unwrap();
    let report = report
        .lock()
        .unwrap()
        .clone()
        .expect("the VM reported its stop");
    assert_eq!(report.counters.ticks, 10, "5 ticks/s for 2 s");
    assert_eq!(report.counters.received, 3);
    assert_eq!(report.queue_left, 0);
    // Received 10, 20, 30 in order: the clock jumped to 31, then 7 sends.
    assert_eq!(report.final_clock, 38);
    let transmits = transmits.lock().unwrap();
    assert_eq!(transmits.len(), 7);
    assert_eq!(
        transmits[0].message.lc, 32,
        "the first send follows the receives"
    );
    // Its vector clock: three receives (the last from VM 2's 15th event),
    // then the send itself; each later send adds one to VM 1's entry.
    for (k, transmit) in transmits.iter().enumerate() {
        assert_eq!(transmit.message.vc, vec![4 + k as u64, 15], "send {k}");
    }
    assert_eq!(report.counters.sent, 7);
}
