//! How many event pairs happened-before orders, how many are concurrent, and how many of those
//! Lamport clocks nevertheless put in an order: per run and per VM pair. Pure.
//!
//! Comparing every pair is quadratic (an hour of 16 VMs is about 200,000 events, 2·10¹⁰
//! pairs), so the counts come from the vector clocks instead, one event at a time:
//!
//! - An event's clock entry j counts VM j's events that happened before or at it, so the events
//!   strictly before `e` number Σⱼ vc_e[j] − 1, and the ordered pairs of the run are the sum of
//!   that over all events; every other pair of the n(n−1)/2 is concurrent.
//! - Between VMs i and j, the ordered pairs are Σ_{e on i} vc_e[j] + Σ_{f on j} vc_f[i] (each
//!   term counts the other VM's events before one event), out of nᵢ·nⱼ pairs.
//! - Lamport's rule gives a → b ⇒ lc_a < lc_b, so events with equal `lc` are always concurrent,
//!   and the concurrent pairs Lamport's order puts one before the other are the concurrent
//!   pairs minus those with equal `lc`. Equal clocks are counted per `lc` value in a map that
//!   is emptied behind the slowest VM's clock (no VM can log that value again, its clock only
//!   grows), so it holds about the spread of the VMs' clocks, not the run.
//!
//! Events come in causal order with their derived clocks (from
//! [`CausalOrder`](super::causal_order::CausalOrder)); in a run that breaks Lamport's rules the
//! equal-clock count is still made, but "Lamport-ordered" then means less.

use lc_core::vm_id::VmId;
use std::collections::BTreeMap;

use lc_core::vector_clock::VectorClock;
use serde::{Deserialize, Serialize};

/// How the run's tick events relate under happened-before, from their vector clocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Concurrency {
    /// `logged` when the logs carry `vc` keys (checked against the rules), `derived` when they
    /// do not. The counts always use clocks derived from the send/receive matching, which
    /// equal the logged ones when no vector-clock rule is broken.
    pub clocks: String,
    /// Tick events (send, receive, internal).
    pub events: u64,
    /// Over all unordered pairs of distinct events: events × (events − 1) / 2 of them.
    #[serde(flatten)]
    pub counts: PairCounts,
    /// The same between the events of each two VMs, lower id first.
    pub vm_pairs: Vec<VmPairConcurrency>,
}

/// [`Concurrency`] between the events of two VMs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VmPairConcurrency {
    /// The two VM ids, lower first.
    pub vms: [VmId; 2],
    /// Over the pairs of an event of the one and an event of the other.
    #[serde(flatten)]
    pub counts: PairCounts,
}

/// How a set of event pairs divides under happened-before (written flat into `summary.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairCounts {
    pub pairs: u64,
    /// Pairs where one event happened before the other.
    pub ordered: u64,
    /// Pairs where neither happened before the other.
    pub concurrent: u64,
    /// `concurrent` / `pairs`.
    pub concurrent_fraction: f64,
    /// Concurrent pairs with equal Lamport clocks (every such pair is concurrent).
    pub concurrent_same_lc: u64,
    /// Concurrent pairs whose Lamport clocks differ, so Lamport's order puts one first.
    pub lamport_ordered_concurrent: u64,
    /// `lamport_ordered_concurrent` / `pairs`.
    pub lamport_ordered_concurrent_fraction: f64,
}

/// The running counts of one run.
#[derive(Debug)]
pub(crate) struct ConcurrencyCount {
    width: usize,
    /// VM ids with a log.
    vms: Vec<VmId>,
    /// Events per VM, indexed by id - 1.
    events: Vec<u64>,
    /// `[i * width + j]`: Σ over VM i+1's events of their entry for VM j+1.
    seen: Vec<u64>,
    /// Σ over all events of the events strictly before them.
    ordered: u64,
    /// `[i * width + j]`, i < j: pairs of VM i+1 and VM j+1 events with equal `lc`.
    same_lc: Vec<u64>,
    /// The VMs (bit VM index) that logged each `lc` value not yet settled. A VM's clock
    /// strictly increases, so it logs each value once.
    open_lc: BTreeMap<u64, VmSet>,
    /// Each VM's latest `lc`, indexed by id - 1.
    last_lc: Vec<u64>,
    since_settle: u32,
}

impl ConcurrencyCount {
    /// How many events pass between two settlements of the equal-clock map.
    const SETTLE_EVERY: u32 = 64;

    /// Counts for a run of `width` VMs of which `vms` have a log.
    pub(crate) fn new(width: usize, vms: &[VmId]) -> ConcurrencyCount {
        let width = width.max(vms.iter().map(|vm| vm.index() + 1).max().unwrap_or(0));
        ConcurrencyCount {
            width,
            vms: vms.to_vec(),
            events: vec![0; width],
            seen: vec![0; width * width],
            ordered: 0,
            same_lc: vec![0; width * width],
            open_lc: BTreeMap::new(),
            last_lc: vec![0; width],
            since_settle: 0,
        }
    }

    /// One event of VM `vm` with Lamport clock `lc` and vector clock `clock`.
    pub(crate) fn event(&mut self, vm: VmId, lc: u64, clock: &VectorClock) {
        let i = vm.index();
        self.events[i] += 1;
        let row = &mut self.seen[i * self.width..(i + 1) * self.width];
        for (seen, &entry) in row.iter_mut().zip(clock.entries()) {
            *seen += entry;
        }
        self.ordered += clock.sum().saturating_sub(1);

        self.open_lc.entry(lc).or_default().insert(i);
        self.last_lc[i] = lc;
        self.since_settle += 1;
        if self.since_settle >= Self::SETTLE_EVERY {
            self.since_settle = 0;
            let floor = self
                .vms
                .iter()
                .map(|&v| self.last_lc[v.index()])
                .min()
                .unwrap_or(0);
            // Every VM's next event has a larger clock than its last, so no event at or below
            // the slowest VM's clock is still to come.
            while let Some(entry) = self.open_lc.first_entry() {
                if *entry.key() > floor {
                    break;
                }
                let vms = entry.remove();
                self.settle(&vms);
            }
        }
    }

    /// Counts the pairs among `vms`, VMs that logged the same `lc`.
    fn settle(&mut self, vms: &VmSet) {
        let members: Vec<usize> = vms.iter().collect();
        for (k, &a) in members.iter().enumerate() {
            for &b in &members[k + 1..] {
                self.same_lc[a * self.width + b] += 1;
            }
        }
    }

    /// The figures; `clocks` says where the run's vector clocks came from.
    pub(crate) fn finish(mut self, clocks: &str) -> Concurrency {
        for vms in std::mem::take(&mut self.open_lc).into_values() {
            self.settle(&vms);
        }
        let w = self.width;
        let mut vm_pairs = Vec::new();
        for (k, &a) in self.vms.iter().enumerate() {
            for &b in &self.vms[k + 1..] {
                let (i, j) = (a.index(), b.index());
                let pairs = self.events[i] * self.events[j];
                let ordered = self.seen[i * w + j] + self.seen[j * w + i];
                let same = self.same_lc[i.min(j) * w + i.max(j)];
                vm_pairs.push(VmPairConcurrency {
                    vms: [a, b],
                    counts: PairCounts::of(pairs, ordered, same),
                });
            }
        }
        let n: u64 = self.events.iter().sum();
        let pairs = n * n.saturating_sub(1) / 2;
        let same: u64 = vm_pairs.iter().map(|p| p.counts.concurrent_same_lc).sum();
        Concurrency {
            clocks: clocks.to_string(),
            events: n,
            counts: PairCounts::of(pairs, self.ordered, same),
            vm_pairs,
        }
    }
}

/// A set of VM indexes, as bits: 128 of them inline (the VM limit), more on the heap. Kept
/// small (32 bytes), as `open_lc` holds one per clock value above the slowest VM's, which is
/// one per event while a VM stays silent.
#[derive(Debug, Default)]
struct VmSet {
    low: [u64; 2],
    high: Option<Box<[u64]>>,
}

impl VmSet {
    fn insert(&mut self, i: usize) {
        if i < 128 {
            self.low[i / 64] |= 1 << (i % 64);
        } else {
            let word = (i - 128) / 64;
            let high = self.high.get_or_insert_with(Box::default);
            if high.len() <= word {
                let mut wider = high.to_vec();
                wider.resize(word + 1, 0);
                *high = wider.into_boxed_slice();
            }
            high[word] |= 1 << ((i - 128) % 64);
        }
    }

    /// The members, in increasing order.
    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        let low =
            bits(u128::from(self.low[0]) | (u128::from(self.low[1]) << 64)).map(|b| b as usize);
        let high = self
            .high
            .iter()
            .flat_map(|high| high.iter())
            .enumerate()
            .flat_map(|(w, &word)| bits(u128::from(word)).map(move |b| 128 + w * 64 + b as usize));
        low.chain(high)
    }
}

/// The positions of the set bits of `word`, lowest first.
fn bits(mut word: u128) -> impl Iterator<Item = u32> {
    std::iter::from_fn(move || {
        (word != 0).then(|| {
            let bit = word.trailing_zeros();
            word &= word - 1;
            bit
        })
    })
}

impl PairCounts {
    /// `pairs` with `ordered` ordered and `same` sharing an `lc` (every such pair concurrent):
    /// the concurrent ones are the rest, and Lamport's order puts all but `same` of them first.
    fn of(pairs: u64, ordered: u64, same: u64) -> PairCounts {
        let ordered = ordered.min(pairs);
        let concurrent = pairs - ordered;
        let lamport = concurrent.saturating_sub(same);
        PairCounts {
            pairs,
            ordered,
            concurrent,
            concurrent_fraction: fraction(concurrent, pairs),
            concurrent_same_lc: same,
            lamport_ordered_concurrent: lamport,
            lamport_ordered_concurrent_fraction: fraction(lamport, pairs),
        }
    }
}

fn fraction(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VM id written in a test.
    fn vid(n: u32) -> VmId {
        VmId::literal(n)
    }

    fn vc(s: &str) -> VectorClock {
        s.parse().unwrap()
    }

    /// VM 1: a (send, lc 1), c (receive of d, lc 3). VM 2: b (internal, lc 1), d (send to 1,
    /// lc 2), e (internal, lc 3). Pairs: a-c, b-d, b-e, d-e, b-c, d-c ordered (6 of 10); a-b
    /// (lc 1 = 1), c-e (lc 3 = 3), a-d (lc 1 < 2), a-e (lc 1 < 3) concurrent.
    #[test]
    fn a_worked_example() {
        let mut count = ConcurrencyCount::new(2, &[vid(1), vid(2)]);
        count.event(vid(1), 1, &vc("1 0"));
        count.event(vid(2), 1, &vc("0 1"));
        count.event(vid(2), 2, &vc("0 2"));
        count.event(vid(1), 3, &vc("2 2"));
        count.event(vid(2), 3, &vc("0 3"));
        let c = count.finish("derived");
        assert_eq!(
            (
                c.events,
                c.counts.pairs,
                c.counts.ordered,
                c.counts.concurrent
            ),
            (5, 10, 6, 4)
        );
        assert_eq!(
            (
                c.counts.concurrent_same_lc,
                c.counts.lamport_ordered_concurrent
            ),
            (2, 2)
        );
        assert_eq!(c.counts.concurrent_fraction, 0.4);
        assert_eq!(c.vm_pairs.len(), 1);
        let p = &c.vm_pairs[0];
        assert_eq!(p.vms, [vid(1), vid(2)]);
        assert_eq!(
            (p.counts.pairs, p.counts.ordered, p.counts.concurrent),
            (6, 2, 4)
        );
        assert_eq!(
            (
                p.counts.concurrent_same_lc,
                p.counts.lamport_ordered_concurrent
            ),
            (2, 2)
        );
    }

    #[test]
    fn equal_clocks_are_counted_across_settlements() {
        // Three VMs ticking alone: every cross pair is concurrent, and equal clocks meet at
        // every lc. Enough events to settle the map many times over.
        let mut count = ConcurrencyCount::new(3, &[vid(1), vid(2), vid(3)]);
        let n = 1000u32;
        for k in 1..=n {
            for vm in VmId::all(3) {
                let mut entries = vec![0; 3];
                entries[vm.index()] = k;
                count.event(vm, u64::from(k), &VectorClock::from_entries(entries));
            }
            assert!(count.open_lc.len() <= 2 * ConcurrencyCount::SETTLE_EVERY as usize);
        }
        let c = count.finish("derived");
        let n = u64::from(n);
        assert_eq!(c.counts.concurrent, 3 * n * n);
        assert_eq!(c.counts.concurrent_same_lc, 3 * n);
        assert_eq!(c.counts.lamport_ordered_concurrent, 3 * n * n - 3 * n);
        for p in &c.vm_pairs {
            assert_eq!(
                (p.counts.concurrent, p.counts.concurrent_same_lc),
                (n * n, n)
            );
        }
    }

    #[test]
    fn vm_sets_hold_any_index_in_order() {
        let mut set = VmSet::default();
        for i in [300, 0, 127, 128, 5, 191, 192] {
            set.insert(i);
        }
        let members: Vec<usize> = set.iter().collect();
        assert_eq!(members, vec![0, 5, 127, 128, 191, 192, 300]);
        assert_eq!(std::mem::size_of::<VmSet>(), 32);
    }

    #[test]
    fn a_vm_without_a_log_has_no_pairs() {
        let mut count = ConcurrencyCount::new(3, &[vid(1), vid(3)]);
        count.event(vid(1), 1, &vc("1 0 0"));
        count.event(vid(3), 1, &vc("0 0 1"));
        let c = count.finish("logged");
        assert_eq!(c.clocks, "logged");
        let vms: Vec<[u32; 2]> = c.vm_pairs.iter().map(|p| p.vms.map(VmId::get)).collect();
        assert_eq!(vms, vec![[1, 3]]);
        assert_eq!((c.counts.pairs, c.counts.concurrent), (1, 1));
        assert_eq!(fraction(0, 0), 0.0);
    }
}
