//! `check` on the sound rules, with a crash, and on each rule broken on
//! purpose: the right property breaks, with a shortest run that reads as a
//! log `analyze` takes.

use lc_check::properties::{
    CLOCK_CONDITION, CONCURRENT_RANKED, CONSERVED, FIFO, JUMP, QUEUE_OF_TWO, TICK_TAKES,
    VECTOR_CLOCKS,
};
use lc_check::{check, CheckModel, CheckReport, Outcome, Rules, Size};

fn run(vm_count: i64, ticks: i64, crash_reset: bool, rules: Rules) -> CheckReport {
    let model = CheckModel {
        rules,
        ..CheckModel::new(Size::new(vm_count, ticks).unwrap(), crash_reset)
    };
    check(model, &mut |_| {})
}

fn outcome<'r>(report: &'r CheckReport, name: &str) -> &'r Outcome {
    &report.property(name).unwrap().outcome
}

/// The names of the properties that broke.
fn broken(report: &CheckReport) -> Vec<&'static str> {
    report
        .properties
        .iter()
        .filter(|p| matches!(p.outcome, Outcome::Broken(_)))
        .map(|p| p.name)
        .collect()
}

fn path_of(
    report: &CheckReport,
    name: &str,
) -> Vec<(lc_check::state::SystemState, Option<lc_check::Step>)> {
    match outcome(report, name) {
        Outcome::Broken(path) => path.clone(),
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn the_sound_rules_hold_everything_and_reach_everything_on_two_vms() {
    let report = run(2, 3, false, Rules::Sound);
    assert!(report.passed(), "{:#?}", broken(&report));
    for name in [CONCURRENT_RANKED, QUEUE_OF_TWO, JUMP] {
        assert!(
            matches!(outcome(&report, name), Outcome::Reached(_)),
            "{name}"
        );
    }
    assert!(report.figures.unique > 1_000, "{}", report.figures);
    assert!(report.figures.states >= report.figures.unique);
}

#[test]
fn the_sound_rules_hold_everything_on_three_vms() {
    let report = run(3, 1, false, Rules::Sound);
    assert!(report.passed(), "{:#?}", broken(&report));
}

/// Three VMs of two ticks: the size the issue asks for, which ends only
/// because a state keeps pasts instead of histories and VMs equal up to
/// renaming are one state.
#[test]
fn the_sound_rules_hold_everything_and_reach_everything_on_three_vms_of_two_ticks() {
    let report = run(3, 2, false, Rules::Sound);
    assert!(report.passed(), "{:#?}", broken(&report));
    for name in [CONCURRENT_RANKED, QUEUE_OF_TWO, JUMP] {
        assert!(
            matches!(outcome(&report, name), Outcome::Reached(_)),
            "{name}"
        );
    }
    // Every VM ticks twice; a step is a tick or a delivery of one of at most
    // 12 messages (each tick sends to both peers at most).
    assert!(report.figures.depth >= 6 && report.figures.depth <= 6 + 12 + 1);
    assert!(report.figures.unique > 100_000, "{}", report.figures);
}

#[test]
fn a_reset_after_a_crash_breaks_the_clock_condition_in_three_steps() {
    let report = run(2, 3, true, Rules::Sound);
    assert!(!report.passed());
    let path = path_of(&report, CLOCK_CONDITION);
    // An event, the crash, an event with the reset clock: the shortest there is.
    let steps: Vec<_> = path.iter().filter_map(|(_, step)| *step).collect();
    assert_eq!(steps.len(), 3, "{steps:?}");
    assert!(matches!(
        outcome(&report, VECTOR_CLOCKS),
        Outcome::Broken(_)
    ));
    // The crash loses messages, but the books still balance, and order is kept.
    for name in [CONSERVED, FIFO, TICK_TAKES] {
        assert_eq!(outcome(&report, name), &Outcome::Held, "{name}");
    }
}

#[test]
fn skipping_the_max_on_receive_breaks_only_the_clock_condition() {
    let report = run(2, 3, false, Rules::SkipMaxOnReceive);
    assert_eq!(broken(&report), [CLOCK_CONDITION]);
}

#[test]
fn taking_the_newest_message_breaks_fifo() {
    let report = run(2, 3, false, Rules::TakeNewest);
    assert_eq!(broken(&report), [FIFO]);
}

#[test]
fn delivering_out_of_order_breaks_fifo() {
    let report = run(2, 3, false, Rules::DeliverOutOfOrder);
    assert_eq!(broken(&report), [FIFO]);
}

#[test]
fn skipping_the_vector_merge_breaks_only_the_vector_clock_property() {
    let report = run(2, 3, false, Rules::SkipVectorMerge);
    assert_eq!(broken(&report), [VECTOR_CLOCKS]);
}

#[test]
fn a_link_that_loses_what_it_delivers_breaks_only_conservation() {
    let report = run(2, 3, false, Rules::LoseOnDelivery);
    assert_eq!(broken(&report), [CONSERVED]);
}

#[test]
fn rolling_the_die_with_a_message_waiting_breaks_the_tick_rule() {
    let report = run(2, 3, false, Rules::DieFirst);
    assert!(
        broken(&report).contains(&TICK_TAKES),
        "{:?}",
        broken(&report)
    );
}

#[test]
fn a_counterexample_is_log_lines_in_the_contract_written_as_a_run() {
    let report = run(2, 3, false, Rules::SkipMaxOnReceive);
    let path = path_of(&report, CLOCK_CONDITION);
    let lines = lc_check::counterexample::lines(&path);
    for line in &lines {
        lc_contract::line::parse_line(&line.text)
            .unwrap_or_else(|e| panic!("{}: {e:?}", line.text));
    }
    assert!(
        lines.iter().any(|l| l.text.contains(" INFO receive, ")),
        "{lines:#?}"
    );
    let logs = tempfile::tempdir().unwrap();
    let dir = lc_check::counterexample::write_run(logs.path(), "check-", &path).unwrap();
    for vm in [1, 2] {
        let text = std::fs::read_to_string(dir.join(format!("vm-{vm}.log"))).unwrap();
        assert_eq!(
            text.lines().count(),
            lines.iter().filter(|l| l.vm.get() == vm).count()
        );
        assert!(
            text.lines().next().unwrap().contains(" INFO start, "),
            "{text}"
        );
        assert!(
            text.lines().last().unwrap().contains(" INFO stop, "),
            "{text}"
        );
    }
}
