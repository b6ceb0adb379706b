//! `analyze` and vector clocks: the rules a logged `vc` must keep, each broken on its own and
//! caught at its file and line; the counts of ordered and concurrent pairs, worked by hand on a
//! small run and checked against a brute-force search on random runs (with and without `vc`
//! keys, with receives stamped before their sends); and each event's causal past and future.
//!
//! The hand-made run is `analyze_handmade.rs`'s, with vector clocks:
//! VM 1: send seq 1 (lc 1, vc 1 0), internal (2, 2 0), internal (3, 3 0), send seq 2 (4, 4 0),
//! receive VM 2's seq 1 (5, 5 2), internal (6, 6 2).
//! VM 2: receive seq 1 (lc 2, vc 1 1), send seq 1 (3, 1 2), receive seq 2 (5, 4 3).
//! Of its 9 events' 36 pairs, 28 are ordered (15 within VM 1, 3 within VM 2, 10 across) and 8
//! concurrent: VM 2's first two events with VM 1's internal events and its second send (6), and
//! VM 2's last with VM 1's last two (2). Three of those share a Lamport clock (lc 2, 3 and 5),
//! so Lamport's order puts 5 concurrent pairs one before the other.

use crate::common::vid;
use std::fs;
use std::path::{Path, PathBuf};

use crate::common::happened_before::{add_vector_clocks, Order};
use crate::common::{analyze_without_plots as analyze, with_line};
use lc_analysis::{causal_history, check_run, EventId, Rule};
use proptest::prelude::*;

const VM1: &str = "\
2026-11-25T17:00:00.000000Z INFO start, addr: 127.0.0.1:7001, rate: 10, vm: 1
2026-11-25T17:00:00.100000Z INFO send, to: 2, seq: 1, queue: 0, lc: 1, vc: 1 0, vm: 1
2026-11-25T17:00:00.150000Z INFO internal, queue: 0, lc: 2, vc: 2 0, vm: 1
2026-11-25T17:00:00.200000Z INFO internal, queue: 0, lc: 3, vc: 3 0, vm: 1
2026-11-25T17:00:00.300000Z INFO send, to: 2, seq: 2, queue: 0, lc: 4, vc: 4 0, vm: 1
2026-11-25T17:00:00.400000Z INFO receive, from: 2, seq: 1, msg_lc: 3, queue: 0, lc: 5, vc: 5 2, vm: 1
2026-11-25T17:00:00.500000Z INFO internal, queue: 0, lc: 6, vc: 6 2, vm: 1
2026-11-25T17:00:00.600000Z INFO stop, queue: 0, internal: 3, received: 1, sent: 2, ticks: 6, vm: 1
";

const VM2: &str = "\
2026-11-25T17:00:00.000000Z INFO start, addr: 127.0.0.1:7002, rate: 4, vm: 2
2026-11-25T17:00:00.250000Z INFO receive, from: 1, seq: 1, msg_lc: 1, queue: 0, lc: 2, vc: 1 1, vm: 2
2026-11-25T17:00:00.350000Z INFO send, to: 1, seq: 1, queue: 0, lc: 3, vc: 1 2, vm: 2
2026-11-25T17:00:00.450000Z INFO receive, vm: 2, lc: 5, vc: 4 3, queue: 0, msg_lc: 4, seq: 2, from: 1
2026-11-25T17:00:00.600000Z INFO stop, dropped: 0, queue: 0, internal: 0, received: 2, sent: 1, ticks: 3, vm: 2
";

fn write_run(logs: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("20261125-170000");
    fs::create_dir(&run).unwrap();
    for (i, log) in logs.iter().enumerate() {
        fs::write(run.join(format!("vm-{}.log", i + 1)), log).unwrap();
    }
    fs::write(
        run.join("settings.toml"),
        format!("vm_count = {}\n", logs.len()),
    )
    .unwrap();
    (tmp, run)
}

/// Every line's `, vc: ...` removed.
fn without_vc(text: &str) -> String {
    text.lines()
        .map(|line| {
            line.split(", ")
                .filter(|part| !part.starts_with("vc: "))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[test]
fn the_handmade_run_keeps_every_vc_rule_and_has_the_hand_worked_counts() {
    let (_tmp, run) = write_run(&[VM1, VM2]);
    let a = analyze(&run);
    assert!(a.is_healthy(), "{}", a.report());
    let c = a.summary().concurrency.as_ref().unwrap();
    assert_eq!(c.clocks, "logged");
    assert_eq!(
        (
            c.events,
            c.counts.pairs,
            c.counts.ordered,
            c.counts.concurrent
        ),
        (9, 36, 28, 8)
    );
    assert_eq!(
        (
            c.counts.concurrent_same_lc,
            c.counts.lamport_ordered_concurrent
        ),
        (3, 5)
    );
    assert_eq!(c.counts.concurrent_fraction, 8.0 / 36.0);
    assert_eq!(c.counts.lamport_ordered_concurrent_fraction, 5.0 / 36.0);
    let p = &c.vm_pairs[..];
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].vms, [vid(1), vid(2)]);
    assert_eq!(
        (
            p[0].counts.pairs,
            p[0].counts.ordered,
            p[0].counts.concurrent
        ),
        (18, 10, 8)
    );
    assert_eq!(
        (
            p[0].counts.concurrent_same_lc,
            p[0].counts.lamport_ordered_concurrent
        ),
        (3, 5)
    );

    let report = a.report();
    assert!(
        report.contains("9 events, 36 pairs: 28 ordered, 8 concurrent (22.22%)"),
        "{report}"
    );
    assert!(
        report.contains("Lamport clocks order 5 concurrent pairs"),
        "{report}"
    );

    // summary.json carries the same figures under `concurrency`.
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    let c = &json["concurrency"];
    assert_eq!(c["clocks"], "logged");
    assert_eq!(c["concurrent"], 8);
    assert_eq!(c["lamport_ordered_concurrent"], 5);
    assert_eq!(c["vm_pairs"][0]["vms"], serde_json::json!([1, 2]));
    assert_eq!(c["vm_pairs"][0]["concurrent_same_lc"], 3);
}

#[test]
fn without_vc_keys_the_clocks_are_derived_and_the_counts_the_same() {
    let (_tmp, run) = write_run(&[&without_vc(VM1), &without_vc(VM2)]);
    let a = analyze(&run);
    assert!(a.is_healthy(), "{}", a.report());
    let c = a.summary().concurrency.as_ref().unwrap();
    assert_eq!(c.clocks, "derived");
    assert_eq!(
        (
            c.counts.ordered,
            c.counts.concurrent,
            c.counts.lamport_ordered_concurrent
        ),
        (28, 8, 5)
    );
    assert!(a.report().contains("the logs carry no vc"));
}

/// Each corruption breaks one vector-clock rule at one line, and nothing else.
#[test]
fn each_broken_vc_rule_is_caught_at_its_line() {
    let vm2_last = |rest: &str| {
        format!("2026-11-25T17:00:00.450000Z INFO receive, from: 1, seq: 2, msg_lc: 4, queue: 0, lc: 5, {rest}vm: 2")
    };
    let cases: Vec<(usize, usize, String, Rule)> = vec![
        // The own entry skips one.
        (2, 4, vm2_last("vc: 4 4, "), Rule::VcOwnStep),
        // The receive kept its previous clock instead of taking the message's.
        (2, 4, vm2_last("vc: 1 3, "), Rule::VcReceiveRule),
        (2, 4, vm2_last("vc: 4 3 0, "), Rule::VcSize),
        (2, 4, vm2_last(""), Rule::VcMissing),
        // The message's clock as the receiver logged it differs from the send's (the receive
        // itself is right for either).
        (
            2,
            4,
            vm2_last("msg_vc: 4 1, vc: 4 3, "),
            Rule::VcMsgMismatch,
        ),
        // A send that changed another VM's entry.
        (
            1,
            5,
            "2026-11-25T17:00:00.300000Z INFO send, to: 2, seq: 2, queue: 0, lc: 4, vc: 4 1, vm: 1"
                .to_string(),
            Rule::VcTickRule,
        ),
        (
            1,
            7,
            "2026-11-25T17:00:00.500000Z INFO internal, queue: 0, lc: 6, vc: 7 2, vm: 1"
                .to_string(),
            Rule::VcOwnStep,
        ),
    ];
    for (vm, line, text, rule) in cases {
        let (vm1, vm2) = if vm == 1 {
            (with_line(VM1, line, &text), VM2.to_string())
        } else {
            (VM1.to_string(), with_line(VM2, line, &text))
        };
        let (_tmp, run) = write_run(&[&vm1, &vm2]);
        let found: Vec<(String, usize, Rule)> = check_run(&run)
            .unwrap()
            .iter()
            .map(|v| {
                let name = v.file.file_name().unwrap().to_string_lossy().into_owned();
                (name, v.line, v.rule)
            })
            .collect();
        assert_eq!(found, vec![(format!("vm-{vm}.log"), line, rule)], "{text}");
        let a = analyze(&run);
        assert!(!a.is_healthy());
        assert_eq!(a.summary().check.by_rule[rule.name()], 1);
    }
    // The right msg_vc passes.
    let vm2 = with_line(VM2, 4, &vm2_last("msg_vc: 4 0, vc: 4 3, "));
    let (_tmp, run) = write_run(&[VM1, &vm2]);
    assert_eq!(check_run(&run).unwrap(), vec![]);
}

#[test]
fn a_receive_stamped_before_its_send_still_gets_the_message_clock() {
    // VM 2's clock runs 0.2 s behind: its first receive is stamped before VM 1's send.
    let vm2 = VM2
        .replace("17:00:00.250000Z", "17:00:00.050000Z")
        .replace("17:00:00.350000Z", "17:00:00.150000Z");
    let (_tmp, run) = write_run(&[VM1, &vm2]);
    let a = analyze(&run);
    assert!(a.is_healthy(), "{}", a.report());
    assert_eq!(a.summary().waits.before_send, 1);
    let c = a.summary().concurrency.as_ref().unwrap();
    assert_eq!((c.counts.ordered, c.counts.concurrent), (28, 8));
}

#[test]
fn the_causal_past_and_future_of_an_event() {
    let (_tmp, run) = write_run(&[VM1, VM2]);
    let history = causal_history(&run).unwrap();
    let id = |vm, index| EventId { vm: vid(vm), index };
    // VM 2's send (its 2nd event, line 3): after VM 1's first send and its own receive;
    // before VM 1's receive and internal event and its own last receive.
    let send = history.event_at_line(vid(2), 3).unwrap();
    assert_eq!(send, id(2, 2));
    assert_eq!(history.clock(send).unwrap().to_string(), "1 2");
    let cone = history.cone(send).unwrap();
    assert_eq!(cone.past, vec![id(1, 1), id(2, 1)]);
    assert_eq!(cone.future, vec![id(1, 5), id(1, 6), id(2, 3)]);
    assert!(history.happened_before(id(1, 4), id(2, 3)));
    assert!(!history.happened_before(id(1, 2), id(2, 1)));
}

/// A random run: `vms` VMs, each step one VM's event (a receive of its oldest waiting message,
/// a send to some peers, or an internal event), each VM's stamps shifted by its own skew so
/// receives can be stamped before their sends. Returns the log texts.
fn random_run(vms: u32, steps: &[(u32, u8, u32)], skew_us: &[i64]) -> Vec<String> {
    struct Vm {
        lc: u64,
        seq: u64,
        inbox: std::collections::VecDeque<(u32, u64, u64)>,
        lines: Vec<String>,
        sent: u64,
        received: u64,
        internal: u64,
    }
    let t0 = 1_795_626_000_000_000i64; // 2026-11-25T17:00:00Z
    let stamp = |vm: u32, step: usize| {
        let us = t0 + 1_000_000 + step as i64 * 10_000 + skew_us[vm as usize - 1];
        lc_contract::timestamp::Rfc3339(us).to_string()
    };
    let mut state: Vec<Vm> = (1..=vms)
        .map(|vm| Vm {
            lc: 0,
            seq: 0,
            inbox: Default::default(),
            lines: vec![format!(
                "{} INFO start, addr: in-process, rate: 1, vm: {vm}",
                stamp(vm, 0)
            )],
            sent: 0,
            received: 0,
            internal: 0,
        })
        .collect();
    for (step, &(pick, action, mask)) in steps.iter().enumerate() {
        let vm = pick % vms + 1;
        let time = stamp(vm, step + 1);
        let me = &mut state[vm as usize - 1];
        let to: Vec<u32> = (1..=vms)
            .filter(|&r| r != vm && mask & (1 << (r - 1)) != 0)
            .collect();
        if action < 4 && !me.inbox.is_empty() {
            let (from, seq, msg_lc) = me.inbox.pop_front().unwrap();
            me.lc = me.lc.max(msg_lc) + 1;
            me.received += 1;
            let line = format!(
                "{time} INFO receive, from: {from}, seq: {seq}, msg_lc: {msg_lc}, queue: 0, lc: {}, vm: {vm}",
                me.lc
            );
            me.lines.push(line);
        } else if action < 7 && !to.is_empty() {
            me.lc += 1;
            me.seq += 1;
            me.sent += to.len() as u64;
            let ids: Vec<String> = to.iter().map(u32::to_string).collect();
            let line = format!(
                "{time} INFO send, to: {}, seq: {}, queue: 0, lc: {}, vm: {vm}",
                ids.join(" "),
                me.seq,
                me.lc
            );
            me.lines.push(line);
            let message = (vm, me.seq, me.lc);
            for r in to {
                state[r as usize - 1].inbox.push_back(message);
            }
        } else {
            me.lc += 1;
            me.internal += 1;
            let line = format!("{time} INFO internal, queue: 0, lc: {}, vm: {vm}", me.lc);
            me.lines.push(line);
        }
    }
    let end = steps.len() + 1;
    state
        .into_iter()
        .enumerate()
        .map(|(i, mut vm)| {
            let ticks = vm.lines.len() - 1;
            vm.lines.push(format!(
                "{} INFO stop, ticks: {ticks}, sent: {}, received: {}, internal: {}, queue: {}, dropped: 0, lc: {}, vm: {}",
                stamp(i as u32 + 1, end),
                vm.sent,
                vm.received,
                vm.internal,
                vm.inbox.len(),
                vm.lc,
                i + 1
            ));
            vm.lines.join("\n") + "\n"
        })
        .collect()
}

/// The analysis's counts, cones and clocks against the brute-force order of the same logs.
fn agrees_with_brute_force(run: &Path, vms: u32, clocks: &str) {
    let a = analyze(run);
    assert!(a.is_healthy(), "{}", a.report());
    let order = Order::of_run(run, vms);
    let c = a.summary().concurrency.clone().unwrap();
    assert_eq!(c.clocks, clocks);
    let (pairs, ordered, concurrent, same) = order.pair_counts(None);
    assert_eq!(
        (
            c.counts.pairs,
            c.counts.ordered,
            c.counts.concurrent,
            c.counts.concurrent_same_lc
        ),
        (pairs, ordered, concurrent, same)
    );
    assert_eq!(c.counts.lamport_ordered_concurrent, concurrent - same);
    assert_eq!(c.vm_pairs.len(), (vms * (vms - 1) / 2) as usize);
    for p in &c.vm_pairs {
        let (pairs, ordered, concurrent, same) =
            order.pair_counts(Some((p.vms[0].get(), p.vms[1].get())));
        assert_eq!(
            (
                p.counts.pairs,
                p.counts.ordered,
                p.counts.concurrent,
                p.counts.concurrent_same_lc
            ),
            (pairs, ordered, concurrent, same),
            "VMs {:?}",
            p.vms
        );
    }

    let history = causal_history(run).unwrap();
    assert_eq!(history.events().count(), order.ticks.len());
    for (id, line, clock) in history.events() {
        let e = order.position(id.vm.get(), id.index).unwrap();
        assert_eq!(order.ticks[e].line, line);
        let want: Vec<u64> = order.vector_clock(e).into_iter().map(u64::from).collect();
        assert_eq!(clock.entries(), want.as_slice());
        let cone = history.cone(id).unwrap();
        let ids = |pick: &dyn Fn(usize) -> bool| -> Vec<EventId> {
            let mut ids: Vec<EventId> = (0..order.ticks.len())
                .filter(|&f| pick(f))
                .map(|f| EventId {
                    vm: vid(order.ticks[f].vm),
                    index: order.ticks[f].index,
                })
                .collect();
            ids.sort();
            ids
        };
        assert_eq!(cone.past, ids(&|f| order.happened_before(f, e)));
        assert_eq!(cone.future, ids(&|f| order.happened_before(e, f)));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// On random runs, with or without `vc` keys and with skewed stamps, the counts per run and
    /// per VM pair, each event's clock and its causal past and future equal a brute-force
    /// search of happened-before.
    #[test]
    fn counts_and_cones_equal_a_brute_force_search(
        vms in 2u32..=4,
        steps in proptest::collection::vec((0u32..4, 0u8..10, 1u32..16), 1..45),
        skew in proptest::collection::vec(-40_000i64..40_000, 4),
    ) {
        let logs = random_run(vms, &steps, &skew);
        let texts: Vec<&str> = logs.iter().map(String::as_str).collect();
        let (_tmp, run) = write_run(&texts);
        agrees_with_brute_force(&run, vms, "derived");
        add_vector_clocks(&run, vms);
        agrees_with_brute_force(&run, vms, "logged");
    }
}
