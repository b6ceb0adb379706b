//! Two states that differ only in the VMs' names are one state.
//!
//! In abstract time nothing tells the VMs apart: each may tick whenever,
//! its die shows every peer, all peers and internal, every link behaves
//! alike, and every property speaks of "some VM" or "every VM". So renaming
//! the VMs maps the steps of a state onto the steps of the renamed state
//! and keeps every property's verdict; exploring one state of each renaming
//! class (symmetry reduction) checks exactly what exploring all of them
//! does, up to 3! = 6 times fewer states with three VMs.
//!
//! stateright 0.31 offers symmetry only to its depth-first search, through
//! a representative state; a [`lc_core::vm_core::VmCore`] cannot be renamed
//! (its id and peers are its own). So the renaming is done on a *key*
//! instead: every number of the state that identity depends on, written out
//! under a renaming, and the least key over all renamings is what a state's
//! equality and hash use ([`crate::state::SystemState`]). stateright tells
//! states apart by that hash, so its breadth-first search (and with it the
//! shortest counterexamples) explores one state per class; a path it
//! rebuilds by replaying steps may come out renamed, which is another run
//! that breaks the same property in the same number of steps.

use crate::causality::Past;
use crate::link::InFlight;
use crate::state::{SystemState, VmState};
use std::hash::{Hash, Hasher};

/// Every renaming of `n` VMs: `rename[old index] = new index`.
fn renamings(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![Vec::new()];
    }
    let mut all = Vec::new();
    for shorter in renamings(n - 1) {
        // Put the last VM at every place among the others.
        for place in 0..n {
            let mut rename: Vec<usize> = shorter
                .iter()
                .map(|&k| if k >= place { k + 1 } else { k })
                .collect();
            rename.push(place);
            all.push(rename);
        }
    }
    all
}

/// The state's numbers under one renaming, in a fixed order.
struct Key<'r> {
    rename: &'r [usize],
    /// `rename` inverted: which old VM has each new index.
    by_new: Vec<usize>,
    out: Vec<u64>,
}

impl Key<'_> {
    fn number(&mut self, n: u64) {
        self.out.push(n);
    }

    fn vm(&mut self, old: usize) {
        self.out.push(self.rename[old] as u64);
    }

    /// Per-VM entries, each moved to its VM's new place.
    fn per_vm(&mut self, entries: &[u64]) {
        self.number(entries.len() as u64);
        for new in 0..self.by_new.len() {
            let old = self.by_new[new];
            self.number(entries.get(old).copied().unwrap_or(0));
        }
    }

    fn past(&mut self, past: &Past) {
        self.per_vm(&past.events);
        self.number(past.max_lc.map_or(0, |lc| lc + 1));
    }

    fn message(&mut self, m: &InFlight) {
        self.vm(m.message.from.index());
        self.number(m.message.seq);
        self.number(m.message.lc);
        self.per_vm(&m.message.vc);
        self.past(&m.past);
    }

    fn vm_state(&mut self, vm: &VmState) {
        self.number(vm.core.clock());
        self.per_vm(vm.core.vector_clock().map_or(&[], |vc| vc.entries()));
        self.number(vm.queue.len() as u64);
        for m in &vm.queue {
            self.message(m);
        }
        self.number(u64::from(vm.ticks_left));
        self.number(u64::from(vm.crashed));
        self.past(&vm.past);
        self.number(vm.last_lc.map_or(0, |lc| lc + 1));
        self.number(vm.sends);
        self.per_vm(&vm.last_taken);
    }
}

/// `state`'s key under `rename`.
fn key(state: &SystemState, rename: &[usize]) -> Vec<u64> {
    let n = state.vms.len();
    let mut by_new = vec![0; n];
    for (old, &new) in rename.iter().enumerate() {
        by_new[new] = old;
    }
    let mut key = Key {
        rename,
        by_new: by_new.clone(),
        out: Vec::with_capacity(128),
    };
    for &old in &by_new {
        key.vm_state(&state.vms[old]);
    }
    for &from in &by_new {
        for &to in &by_new {
            let link = &state.links[from * n + to];
            key.number(link.len() as u64);
            for m in link.iter_in_flight() {
                key.message(m);
            }
        }
    }
    key.out
}

/// The least key of `state` over every renaming of its VMs: equal for two
/// states exactly when one is the other renamed. The fields that name no
/// VM (the rules, what broke) are left to the caller.
pub fn canonical_key(state: &SystemState) -> Vec<u64> {
    renamings(state.vms.len())
        .iter()
        .map(|rename| key(state, rename))
        .min()
        .unwrap_or_default()
}

impl PartialEq for SystemState {
    fn eq(&self, other: &Self) -> bool {
        self.rules == other.rules
            && self.broken == other.broken
            && self.jumped == other.jumped
            && canonical_key(self) == canonical_key(other)
    }
}

impl Eq for SystemState {}

/// Hashes exactly what [`PartialEq`] compares: stateright's fingerprint of
/// a state, so states equal up to renaming are explored once.
impl Hash for SystemState {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.rules.hash(state);
        self.broken.hash(state);
        self.jumped.hash(state);
        canonical_key(self).hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{take_step, CheckModel, Step};
    use crate::size::Size;
    use lc_core::model::DieOutcome;
    use lc_core::vm_id::VmId;

    fn after(state: &SystemState, steps: &[Step]) -> SystemState {
        steps.iter().fold(state.clone(), |s, &step| {
            take_step(&s, step).expect("the step can be taken").0
        })
    }

    fn tick(vm: u32, die: DieOutcome) -> Step {
        Step::Tick {
            vm: VmId::literal(vm),
            die: Some(die),
        }
    }

    #[test]
    fn states_equal_up_to_renaming_are_one_state_and_others_are_not() {
        let initial = CheckModel::new(Size::new(3, 2).unwrap(), false).initial();
        // VM 1 sends to VM 2 (its first peer); VM 2 sends to VM 3 (its first
        // peer): the same state with the VMs renamed 1 -> 2 -> 3 -> 1.
        let one = after(&initial, &[tick(1, DieOutcome::SendOne(0))]);
        let two = after(&initial, &[tick(2, DieOutcome::SendOne(0))]);
        assert_eq!(one, two);
        assert_eq!(canonical_key(&one), canonical_key(&two));
        // To the other peer instead: still a renaming (1 and 2 swapped).
        let other = after(&initial, &[tick(2, DieOutcome::SendOne(1))]);
        assert_eq!(one, other);
        // An internal event is not a send, whoever makes it.
        let internal = after(&initial, &[tick(1, DieOutcome::Internal)]);
        assert_ne!(one, internal);
        // Nor is a send to both peers, nor a send that has arrived.
        assert_ne!(one, after(&initial, &[tick(1, DieOutcome::SendAll)]));
        let arrived = Step::Deliver {
            from: VmId::literal(1),
            to: VmId::literal(2),
        };
        assert_ne!(one, after(&one, &[arrived]));
    }

    #[test]
    fn every_renaming_once() {
        let mut all = renamings(3);
        assert_eq!(all.len(), 6);
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 6);
        assert!(all.iter().all(|r| {
            let mut sorted = r.clone();
            sorted.sort();
            sorted == [0, 1, 2]
        }));
    }
}
