//! Two runs of the same settings compared event for event: where they part, and what it changed.
//!
//! A real-time run and its virtual-time twin (same seed, same settings) share every rate, tick
//! phase and die roll; they can differ only where real timing changes which message reaches a
//! queue before which tick. So the comparison ignores timestamps and holds each VM's ticks side
//! by side by their index (tick k of VM i in one run against tick k of VM i in the other): two
//! ticks are the same event when kind, `lc`, `queue` and what they did (`to`/`seq` of a send;
//! `from`/`seq`/`msg_lc` of a receive) all agree. A message taken a tick earlier or later
//! changes at least two ticks of its VM and may shift every later clock, so the count of
//! differing ticks says how far a divergence spread, and the headline figures ([`Headline`])
//! say what it did to the results.
//!
//! `start` and `stop` lines are not compared: `start` carries the settings, and in a healthy run
//! `stop`'s counts follow from the ticks. Pure: [`VmDiffer`] is fed pairs of ticks as the caller
//! reads them (the driver, [`crate::compare_runs`], streams the two logs of a VM in lockstep), so
//! memory does not grow with the run. The figures come from the analysis's own [`VmStats`] and
//! [`ProgramOrder`], so a compared figure is the very figure `analyze` reports.

use lc_core::vm_id::VmId;
use std::fmt::Write as _;
use std::path::PathBuf;

use crate::figures::stats::VmStats;
use crate::read::record::Tick;
use crate::rules::check::ProgramOrder;

/// A figure of one VM that the comparison reports for both runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Headline {
    MeanJump,
    MaxJump,
    MaxQueue,
    FinalLc,
    Received,
}

impl Headline {
    pub const ALL: [Headline; 5] = [
        Headline::MeanJump,
        Headline::MaxJump,
        Headline::MaxQueue,
        Headline::FinalLc,
        Headline::Received,
    ];

    /// Its name in tables and CSV columns.
    pub fn column(self) -> &'static str {
        match self {
            Headline::MeanJump => "mean_jump",
            Headline::MaxJump => "max_jump",
            Headline::MaxQueue => "max_queue",
            Headline::FinalLc => "final_lc",
            Headline::Received => "received",
        }
    }

    fn of(self, stats: &VmStats) -> f64 {
        match self {
            Headline::MeanJump => stats.jumps.mean(),
            Headline::MaxJump => stats.jumps.max().unwrap_or(0) as f64,
            Headline::MaxQueue => stats.queue_max as f64,
            Headline::FinalLc => stats.final_clock as f64,
            Headline::Received => stats.receives as f64,
        }
    }
}

/// Where a VM's two runs first part.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Divergence {
    /// The event's index among the VM's ticks, from 1 (its first tick is event 1).
    pub event: u64,
    /// When that tick happened in each run, seconds since the run's first line; `None` for the
    /// run that has no tick of that index.
    pub at_s: [Option<f64>; 2],
}

impl Divergence {
    /// Its time in the first run, or in the second where the first has no such tick.
    pub fn time_s(&self) -> f64 {
        self.at_s[0].or(self.at_s[1]).unwrap_or(0.0)
    }
}

/// One VM's ticks in two runs, compared pair by pair as they are read.
#[derive(Debug, Clone)]
pub(crate) struct VmDiffer {
    vm: VmId,
    sides: [Side; 2],
    paired: u64,
    differing: u64,
    first: Option<Divergence>,
}

#[derive(Debug, Clone)]
struct Side {
    order: ProgramOrder,
    stats: VmStats,
}

impl VmDiffer {
    pub(crate) fn new(vm: VmId) -> VmDiffer {
        let side = || Side {
            order: ProgramOrder::default(),
            stats: VmStats::new(vm),
        };
        VmDiffer {
            vm,
            sides: [side(), side()],
            paired: 0,
            differing: 0,
            first: None,
        }
    }

    /// Takes tick k of each run (`None` once a run has no more ticks), each with its time in
    /// microseconds since its run's first line.
    pub(crate) fn pair(&mut self, ticks: [Option<(i64, &Tick)>; 2]) {
        self.paired += 1;
        for (side, tick) in self.sides.iter_mut().zip(ticks) {
            if let Some((time_us, tick)) = tick {
                // The rules are `analyze`'s business; here only the jump is wanted.
                let jump = side.order.tick(tick, |_, _| {});
                side.stats.tick(time_us, tick, jump);
            }
        }
        let [a, b] = ticks.map(|t| t.map(|(_, tick)| tick));
        if a != b {
            self.differing += 1;
            self.first.get_or_insert(Divergence {
                event: self.paired,
                at_s: ticks.map(|t| t.map(|(us, _)| us as f64 / 1e6)),
            });
        }
    }

    pub(crate) fn finish(self) -> VmComparison {
        let figures = |side: &Side| Headline::ALL.map(|h| h.of(&side.stats));
        VmComparison {
            vm: self.vm,
            events: [self.sides[0].stats.ticks, self.sides[1].stats.ticks],
            differing: self.differing,
            first: self.first,
            figures: [figures(&self.sides[0]), figures(&self.sides[1])],
        }
    }
}

/// One VM's two runs, compared.
#[derive(Debug, Clone, PartialEq)]
pub struct VmComparison {
    pub vm: VmId,
    /// Its events (ticks) in each run.
    pub events: [u64; 2],
    /// Event indices where the runs disagree (an event only one run has counts as differing).
    pub differing: u64,
    pub first: Option<Divergence>,
    /// Each run's [`Headline`] figures, in [`Headline::ALL`] order.
    pub figures: [[f64; Headline::ALL.len()]; 2],
}

impl VmComparison {
    pub fn identical(&self) -> bool {
        self.differing == 0
    }

    /// The second run's figure minus the first's.
    pub fn delta(&self, headline: Headline) -> f64 {
        let i = headline as usize;
        self.figures[1][i] - self.figures[0][i]
    }
}

/// Two runs compared, VM by VM (every VM either run has, in id order).
#[derive(Debug, Clone, PartialEq)]
pub struct RunComparison {
    /// The two run directories, in the order compared.
    pub runs: [PathBuf; 2],
    pub vms: Vec<VmComparison>,
    /// The top-level keys of the runs' `settings.toml` whose values differ, in key order:
    /// runs of other settings are expected to differ, and the reader should know that first.
    pub settings: Vec<SettingDifference>,
}

/// A key of `settings.toml` with a different value (or none) in each run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingDifference {
    pub key: String,
    /// Its value in each run as TOML writes it; `None` where the run's file does not set it.
    pub values: [Option<String>; 2],
}

/// The keys whose values differ between two `settings.toml` tables, in key order.
pub(crate) fn setting_differences(a: &toml::Table, b: &toml::Table) -> Vec<SettingDifference> {
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|key| a.get(*key) != b.get(*key))
        .map(|key| SettingDifference {
            key: key.clone(),
            values: [a, b].map(|t| t.get(key).map(ToString::to_string)),
        })
        .collect()
}

impl RunComparison {
    /// True when every VM made the same events, tick for tick.
    pub fn identical(&self) -> bool {
        self.vms.iter().all(VmComparison::identical)
    }

    /// Events (ticks) of all VMs in the first run.
    pub fn events(&self) -> u64 {
        self.vms.iter().map(|v| v.events[0]).sum()
    }

    /// Events (ticks) of all VMs in each run.
    pub fn events_each(&self) -> [u64; 2] {
        [0, 1].map(|side| self.vms.iter().map(|v| v.events[side]).sum())
    }

    /// Event positions compared: for each VM, the longer of its two runs' events, as an event
    /// only one run has counts as differing. The most that [`Self::differing`] can be.
    pub fn compared(&self) -> u64 {
        self.vms.iter().map(|v| v.events[0].max(v.events[1])).sum()
    }

    /// Differing events over all VMs.
    pub fn differing(&self) -> u64 {
        self.vms.iter().map(|v| v.differing).sum()
    }

    /// The earliest divergence of any VM, by time (ties: the lowest VM id).
    pub fn first_divergence(&self) -> Option<(VmId, Divergence)> {
        self.vms
            .iter()
            .filter_map(|v| Some((v.vm, v.first?)))
            .min_by(|(_, a), (_, b)| a.time_s().total_cmp(&b.time_s()))
    }

    pub fn vm(&self, vm: VmId) -> Option<&VmComparison> {
        self.vms.iter().find(|v| v.vm == vm)
    }

    /// The comparison as text: a verdict, then one row per VM.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "Comparing, tick by tick, timestamps ignored:");
        let _ = writeln!(out, "  a = {}", self.runs[0].display());
        let _ = writeln!(out, "  b = {}", self.runs[1].display());
        for d in &self.settings {
            let [a, b] = d
                .values
                .clone()
                .map(|v| v.unwrap_or_else(|| "(not set)".into()));
            let _ = writeln!(out, "Settings differ: {} = {a} in a, {b} in b", d.key);
        }
        match self.first_divergence() {
            None => {
                let _ = writeln!(
                    out,
                    "Identical: every VM made the same {} events in both runs.",
                    self.events()
                );
            }
            Some((vm, first)) => {
                let _ = writeln!(
                    out,
                    "Different: {} of {} events differ; the first at {:.3} s (VM {vm}, event {}).",
                    self.differing(),
                    self.compared(),
                    first.time_s(),
                    first.event
                );
                let [a, b] = self.events_each();
                if a != b {
                    let _ = writeln!(out, "  (a has {a} events, b has {b})");
                }
            }
        }
        out.push('\n');
        let pair = |v: &VmComparison, h: Headline| {
            let [a, b] = v.figures.map(|f| f[h as usize]);
            if a == b {
                trim(a)
            } else {
                format!("{} -> {}", trim(a), trim(b))
            }
        };
        let rows = self
            .vms
            .iter()
            .map(|v| {
                let mut row = vec![
                    v.vm.to_string(),
                    format!("{} / {}", v.events[0], v.events[1]),
                    v.differing.to_string(),
                    v.first.map_or("-".into(), |d| {
                        format!("event {} at {:.3} s", d.event, d.time_s())
                    }),
                ];
                row.extend(Headline::ALL.map(|h| pair(v, h)));
                row
            })
            .collect();
        let mut headers = vec!["VM", "events a / b", "differ", "first divergence"];
        headers.extend(Headline::ALL.map(|h| h.column()));
        out.push_str(&crate::outputs::table::render(&headers, rows));
        out
    }
}

/// A figure with at most three decimals and no trailing zeros.
fn trim(value: f64) -> String {
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::record::Action;

    /// A VM id written in a test.
    fn vid(n: u32) -> VmId {
        VmId::literal(n)
    }

    fn send(lc: u64, to: &[u32], seq: u64) -> Tick {
        Tick {
            lc,
            queue: 0,
            action: Action::Send {
                to: to.iter().copied().map(vid).collect(),
                seq,
            },
            vc: None,
        }
    }

    fn internal(lc: u64) -> Tick {
        Tick {
            lc,
            queue: 0,
            action: Action::Internal,
            vc: None,
        }
    }

    fn receive(lc: u64, queue: u64, from: u32, seq: u64, msg_lc: u64) -> Tick {
        Tick {
            lc,
            queue,
            action: Action::Receive {
                from: vid(from),
                seq,
                msg_lc,
                msg_vc: None,
            },
            vc: None,
        }
    }

    /// Feeds two tick lists, tick k at k seconds in run a and k + 0.5 s in run b.
    fn compare(vm: u32, a: &[Tick], b: &[Tick]) -> VmComparison {
        fn at(ticks: &[Tick], k: usize, offset: i64) -> Option<(i64, &Tick)> {
            ticks
                .get(k)
                .map(|t| ((k as i64 + 1) * 1_000_000 + offset, t))
        }
        let mut differ = VmDiffer::new(vid(vm));
        for k in 0..a.len().max(b.len()) {
            differ.pair([at(a, k, 0), at(b, k, 500_000)]);
        }
        differ.finish()
    }

    fn run(vms: Vec<VmComparison>) -> RunComparison {
        RunComparison {
            runs: [PathBuf::from("a"), PathBuf::from("b")],
            vms,
            settings: Vec::new(),
        }
    }

    #[test]
    fn the_same_events_at_other_times_are_identical() {
        let ticks = [internal(1), send(2, &[2], 1), receive(9, 0, 2, 1, 8)];
        let vm = compare(1, &ticks, &ticks);
        assert!(vm.identical());
        assert_eq!(vm.events, [3, 3]);
        assert_eq!(vm.first, None);
        assert_eq!(vm.figures[0], vm.figures[1]);
        // Jumps 1, 1, 7: mean 3, max 7; final clock 9; one receive.
        assert_eq!(vm.figures[0], [3.0, 7.0, 0.0, 9.0, 1.0]);
        let both = run(vec![vm]);
        assert!(both.identical());
        assert_eq!(both.first_divergence(), None);
        assert!(both
            .render()
            .contains("Identical: every VM made the same 3 events"));
    }

    #[test]
    fn a_receive_taken_one_tick_later_is_found_and_its_spread_counted() {
        // Run a: the message is waiting at tick 2. Run b: it arrives just after tick 2, so
        // tick 2 rolls the die instead and the receive moves to tick 3.
        let a = [
            internal(1),
            receive(6, 0, 2, 1, 5),
            internal(7),
            internal(8),
        ];
        let b = [
            internal(1),
            internal(2),
            receive(6, 0, 2, 1, 5),
            internal(7),
        ];
        let vm = compare(3, &a, &b);
        assert!(!vm.identical());
        assert_eq!(vm.differing, 3, "ticks 2, 3 and 4 differ; tick 1 does not");
        let first = vm.first.unwrap();
        assert_eq!(first.event, 2);
        assert_eq!(first.at_s, [Some(2.0), Some(2.5)]);
        assert_eq!(first.time_s(), 2.0);
        // Jumps a: 1, 5, 1, 1 (mean 2, max 5, final 8); b: 1, 1, 4, 1 (mean 1.75, max 4, final 7).
        assert_eq!(vm.delta(Headline::MeanJump), -0.25);
        assert_eq!(vm.delta(Headline::MaxJump), -1.0);
        assert_eq!(vm.delta(Headline::FinalLc), -1.0);
        assert_eq!(vm.delta(Headline::Received), 0.0);
    }

    #[test]
    fn a_different_queue_or_message_field_alone_is_a_difference() {
        let a = [receive(4, 1, 2, 1, 3), send(5, &[2], 1)];
        let queue = [receive(4, 2, 2, 1, 3), send(5, &[2], 1)];
        let vm = compare(1, &a, &queue);
        assert_eq!((vm.differing, vm.first.unwrap().event), (1, 1));
        assert_eq!(vm.delta(Headline::MaxQueue), 1.0);
        let seq = [receive(4, 1, 2, 2, 3), send(5, &[2], 1)];
        assert_eq!(compare(1, &a, &seq).differing, 1);
        let to = [receive(4, 1, 2, 1, 3), send(5, &[3], 1)];
        let vm = compare(1, &a, &to);
        assert_eq!((vm.differing, vm.first.unwrap().event), (1, 2));
    }

    #[test]
    fn runs_of_different_lengths_differ_by_the_extra_ticks() {
        let long = [internal(1), internal(2), internal(3), internal(4)];
        let vm = compare(2, &long[..2], &long);
        assert_eq!(vm.events, [2, 4]);
        assert_eq!(vm.differing, 2);
        let first = vm.first.unwrap();
        assert_eq!(first.event, 3);
        assert_eq!(first.at_s, [None, Some(3.5)]);
        assert_eq!(first.time_s(), 3.5, "taken from the run that has the tick");
        assert_eq!(vm.delta(Headline::FinalLc), 2.0);
        // A VM only one run has: every tick differs.
        let vm = compare(4, &[], &long);
        assert_eq!((vm.events, vm.differing), ([0, 4], 4));
    }

    #[test]
    fn differing_settings_are_named_before_the_verdict() {
        let a: toml::Table = toml::from_str("seed = 42\nvm_count = 3\nruntime = 5").unwrap();
        let b: toml::Table = toml::from_str("seed = 7\nvm_count = 3\nrates = [1, 2]").unwrap();
        let mut both = run(vec![compare(1, &[internal(1)], &[internal(2)])]);
        both.settings = setting_differences(&a, &b);
        let keys: Vec<&str> = both.settings.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(keys, ["rates", "runtime", "seed"]);
        let text = both.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[3],
            "Settings differ: rates = (not set) in a, [1, 2] in b"
        );
        assert_eq!(lines[5], "Settings differ: seed = 42 in a, 7 in b");
        assert!(
            lines[6].starts_with("Different: 1 of 1 events differ"),
            "{text}"
        );
    }

    #[test]
    fn the_run_verdict_names_the_earliest_divergence() {
        let same = [internal(1), internal(2), internal(3)];
        let late = [internal(1), internal(2), send(3, &[1], 1)];
        let early = [internal(1), send(2, &[1], 1), internal(3)];
        let both = run(vec![
            compare(1, &same, &same),
            compare(2, &same, &late),
            compare(3, &same, &early),
        ]);
        assert!(!both.identical());
        assert_eq!(both.events(), 9);
        assert_eq!(both.differing(), 2);
        let (vm, first) = both.first_divergence().unwrap();
        assert_eq!((vm, first.event), (vid(3), 2));
        assert_eq!(both.vm(vid(2)).unwrap().differing, 1);
        let text = both.render();
        assert!(
            text.contains("Different: 2 of 9 events differ; the first at 2.000 s (VM 3, event 2)."),
            "{text}"
        );
        assert!(text.contains("event 3 at 3.000 s"), "{text}");
    }
}
