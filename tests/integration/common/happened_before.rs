//! Happened-before the slow, obvious way, as the reference the analysis is checked against:
//! the tick events of a run's logs as a graph (program order plus one edge per matched
//! message), closed transitively by a search from every event. Quadratic in the events, so for
//! small runs only; it shares no code with the crate's vector clocks or counts.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::{read_logs, Line};

/// One tick event: its VM, its place among the VM's ticks (from 1) and its log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tick {
    pub vm: u32,
    pub index: u32,
    pub line: usize,
    pub lc: u64,
}

/// A run's tick events and their happened-before relation.
#[derive(Debug)]
pub struct Order {
    pub vm_count: u32,
    pub ticks: Vec<Tick>,
    /// `before[a][b]`: tick a happened before tick b.
    before: Vec<Vec<bool>>,
    index_of: HashMap<(u32, u32), usize>,
}

impl Order {
    /// Reads the run's logs; `vm_count` is the width of its clocks.
    pub fn of_run(run_dir: &Path, vm_count: u32) -> Order {
        let logs = read_logs(run_dir);
        Order::of_logs(&logs, vm_count)
    }

    pub fn of_logs(logs: &BTreeMap<u64, Vec<Line>>, vm_count: u32) -> Order {
        let mut ticks = Vec::new();
        let mut next: Vec<Vec<usize>> = Vec::new();
        let mut sends: HashMap<(u64, u64), usize> = HashMap::new();
        let mut receives: Vec<(usize, u64, u64)> = Vec::new();
        for (&vm, lines) in logs {
            let mut previous: Option<usize> = None;
            let events = lines.iter().filter(|l| {
                l.level == "INFO" && ["send", "receive", "internal"].contains(&l.message.as_str())
            });
            for (index, line) in (1..).zip(events) {
                let id = ticks.len();
                ticks.push(Tick {
                    vm: vm as u32,
                    index,
                    line: line.number,
                    lc: line.get("lc"),
                });
                next.push(Vec::new());
                if let Some(p) = previous {
                    next[p].push(id);
                }
                previous = Some(id);
                match line.message.as_str() {
                    "send" => {
                        sends.insert((vm, line.get("seq")), id);
                    }
                    "receive" => receives.push((id, line.get("from"), line.get("seq"))),
                    _ => {}
                }
            }
        }
        for (receive, from, seq) in receives {
            if let Some(&send) = sends.get(&(from, seq)) {
                next[send].push(receive);
            }
        }
        let n = ticks.len();
        let mut before = vec![vec![false; n]; n];
        for (start, row) in before.iter_mut().enumerate() {
            let mut stack = next[start].clone();
            while let Some(e) = stack.pop() {
                if !row[e] {
                    row[e] = true;
                    stack.extend(&next[e]);
                }
            }
        }
        let index_of = ticks
            .iter()
            .enumerate()
            .map(|(i, t)| ((t.vm, t.index), i))
            .collect();
        Order {
            vm_count,
            ticks,
            before,
            index_of,
        }
    }

    /// Tick `(vm, index)`'s position in [`Order::ticks`].
    pub fn position(&self, vm: u32, index: u32) -> Option<usize> {
        self.index_of.get(&(vm, index)).copied()
    }

    pub fn happened_before(&self, a: usize, b: usize) -> bool {
        self.before[a][b]
    }

    /// Tick `e`'s vector clock: for each VM, how many of its ticks are `e` or before `e`.
    pub fn vector_clock(&self, e: usize) -> Vec<u32> {
        let mut clock = vec![0; self.vm_count as usize];
        for (a, t) in self.ticks.iter().enumerate() {
            if a == e || self.before[a][e] {
                clock[t.vm as usize - 1] += 1;
            }
        }
        clock
    }

    /// (pairs, ordered, concurrent, concurrent with equal lc) over all ticks, or only between
    /// the ticks of VMs `between`.
    pub fn pair_counts(&self, between: Option<(u32, u32)>) -> (u64, u64, u64, u64) {
        let (mut pairs, mut ordered, mut same) = (0, 0, 0);
        for a in 0..self.ticks.len() {
            for b in a + 1..self.ticks.len() {
                let (ta, tb) = (&self.ticks[a], &self.ticks[b]);
                if let Some((x, y)) = between {
                    let vms = (ta.vm.min(tb.vm), ta.vm.max(tb.vm));
                    if vms != (x, y) {
                        continue;
                    }
                }
                pairs += 1;
                if self.before[a][b] || self.before[b][a] {
                    ordered += 1;
                } else if ta.lc == tb.lc {
                    same += 1;
                }
            }
        }
        (pairs, ordered, pairs - ordered, same)
    }
}

/// Rewrites every tick line of the run's logs with `vc: <its vector clock>` appended, as the
/// reference computes it.
pub fn add_vector_clocks(run_dir: &Path, vm_count: u32) {
    let order = Order::of_run(run_dir, vm_count);
    for vm in 1..=vm_count {
        let path = run_dir.join(format!("vm-{vm}.log"));
        let text = std::fs::read_to_string(&path).unwrap();
        let mut out = String::new();
        for (i, line) in text.lines().enumerate() {
            out.push_str(line);
            let tick = order
                .ticks
                .iter()
                .position(|t| t.vm == vm && t.line == i + 1);
            if let Some(t) = tick {
                let clock: Vec<String> = order.vector_clock(t).iter().map(u32::to_string).collect();
                out.push_str(&format!(", vc: {}", clock.join(" ")));
            }
            out.push('\n');
        }
        std::fs::write(&path, out).unwrap();
    }
}
