//! A VM's id: the lowest piece of the model, which every other piece names.
//!
//! Ids are 1-based, as the logs and the settings write them; per-VM tables
//! are 0-based vectors. [`VmId::index`] and [`VmId::from_index`] are the only
//! places that turn the one into the other, so no call site does `- 1` or
//! `+ 1` arithmetic of its own and none can do it twice or forget it.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;

/// A VM's 1-based id, as written in the logs and the settings.
///
/// It holds a [`NonZeroU32`] rather than a `u32`: 0 is not an id, so making
/// it unrepresentable means [`VmId::index`] cannot underflow and no table
/// lookup needs a check of its own; and `Option<VmId>` stays four bytes.
/// It is `Copy` and every method is `#[inline]`, so it costs nothing over
/// the bare number on the tick path and in the line writer.
///
/// Serde reads and writes it as the bare integer (refusing 0), and both
/// `Display` and `Debug` print the bare number, so logs, settings files and
/// `summary.json` look exactly as they did when the id was a `u32`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct VmId(NonZeroU32);

/// A number that is no VM id: 0 (ids start at 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("VM ids start at 1; 0 is not a VM id")]
pub struct ZeroVmId;

/// Why a text is no VM id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseVmIdError {
    #[error("not a whole number: {0}")]
    NotANumber(#[from] std::num::ParseIntError),
    #[error(transparent)]
    Zero(#[from] ZeroVmId),
}

impl VmId {
    /// The id numbered `id`, as the logs and settings write it; `None` for 0.
    #[inline]
    pub const fn new(id: u32) -> Option<VmId> {
        match NonZeroU32::new(id) {
            Some(id) => Some(VmId(id)),
            None => None,
        }
    }

    /// The id numbered `id` where the number is written in code, not read:
    /// in a `const` a 0 fails the build; elsewhere it panics, so never
    /// hand it a number from input (use [`VmId::new`] or `TryFrom`).
    #[inline]
    pub const fn literal(id: u32) -> VmId {
        match VmId::new(id) {
            Some(id) => id,
            None => panic!("VM ids start at 1"),
        }
    }

    /// The id numbered `n` in a run of `vm_count` VMs, from a number as
    /// settings read it; `None` unless `1 <= n <= vm_count`, so a setting's
    /// check and its conversion are one step.
    #[inline]
    pub fn in_run(n: i64, vm_count: u32) -> Option<VmId> {
        u32::try_from(n)
            .ok()
            .filter(|&n| n <= vm_count)
            .and_then(VmId::new)
    }

    /// The id's number, as the logs write it.
    #[inline]
    pub const fn get(self) -> u32 {
        self.0.get()
    }

    /// The position of this VM in a table with one entry per VM, in id order.
    #[inline]
    pub const fn index(self) -> usize {
        (self.0.get() - 1) as usize
    }

    /// The VM at position `index` of a per-VM table: the inverse of
    /// [`VmId::index`].
    ///
    /// # Panics
    /// When `index + 1` does not fit a `u32`. Tables hold at most a few
    /// hundred VMs (settings cap the count), so that is a bug, not input.
    #[inline]
    pub fn from_index(index: usize) -> VmId {
        u32::try_from(index)
            .ok()
            .and_then(|i| i.checked_add(1))
            .and_then(VmId::new)
            .expect("a per-VM table index fits a VM id")
    }

    /// The ids of a run of `vm_count` VMs, in id order: 1 to `vm_count`.
    #[inline]
    pub fn all(vm_count: u32) -> impl DoubleEndedIterator<Item = VmId> + ExactSizeIterator + Clone {
        // `1..=vm_count` has no ExactSizeIterator; `0..vm_count` does.
        (0..vm_count).map(|i| VmId(NonZeroU32::MIN.saturating_add(i)))
    }
}

impl fmt::Display for VmId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The bare number, like `Display`: ids appear in `{:?}` of messages and
/// frames, some of which reach warning lines in the logs.
impl fmt::Debug for VmId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0.get(), f)
    }
}

impl TryFrom<u32> for VmId {
    type Error = ZeroVmId;

    #[inline]
    fn try_from(id: u32) -> Result<VmId, ZeroVmId> {
        VmId::new(id).ok_or(ZeroVmId)
    }
}

impl From<VmId> for u32 {
    #[inline]
    fn from(id: VmId) -> u32 {
        id.get()
    }
}

impl From<VmId> for u64 {
    #[inline]
    fn from(id: VmId) -> u64 {
        u64::from(id.get())
    }
}

impl FromStr for VmId {
    type Err = ParseVmIdError;

    fn from_str(text: &str) -> Result<VmId, ParseVmIdError> {
        Ok(VmId::try_from(text.parse::<u32>()?)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u32) -> VmId {
        let made = VmId::new(n).unwrap();
        assert_eq!(VmId::literal(n), made);
        made
    }

    #[test]
    fn zero_is_refused_and_every_other_number_kept() {
        assert_eq!(VmId::new(0), None);
        assert_eq!(VmId::try_from(0), Err(ZeroVmId));
        assert_eq!(id(1).get(), 1);
        assert_eq!(id(u32::MAX).get(), u32::MAX);
    }

    #[test]
    fn in_run_takes_exactly_the_ids_of_the_run() {
        assert_eq!(VmId::in_run(1, 3), Some(id(1)));
        assert_eq!(VmId::in_run(3, 3), Some(id(3)));
        for outside in [0, 4, -1, i64::from(u32::MAX) + 2] {
            assert_eq!(VmId::in_run(outside, 3), None, "{outside}");
        }
    }

    #[test]
    #[should_panic(expected = "start at 1")]
    fn a_literal_zero_is_a_bug() {
        VmId::literal(0);
    }

    #[test]
    fn the_first_vm_sits_at_index_zero() {
        assert_eq!(id(1).index(), 0);
        assert_eq!(id(3).index(), 2);
        assert_eq!(VmId::from_index(0), id(1));
        assert_eq!(VmId::from_index(2), id(3));
    }

    #[test]
    fn index_and_from_index_are_inverses() {
        for n in [1, 2, 3, 64, 128, 1000, u32::MAX] {
            assert_eq!(VmId::from_index(id(n).index()), id(n));
        }
        for i in [0, 1, 2, 127, 4096] {
            assert_eq!(VmId::from_index(i).index(), i);
        }
    }

    #[test]
    #[should_panic(expected = "fits a VM id")]
    fn an_index_past_the_last_id_is_a_bug() {
        VmId::from_index(u32::MAX as usize);
    }

    #[test]
    fn all_counts_from_one_to_the_vm_count() {
        let ids: Vec<u32> = VmId::all(4).map(VmId::get).collect();
        assert_eq!(ids, vec![1, 2, 3, 4]);
        assert_eq!(VmId::all(4).len(), 4);
        assert_eq!(VmId::all(0).count(), 0);
        // The n-th id of a run sits at index n of its tables.
        assert!(VmId::all(5).enumerate().all(|(i, vm)| vm.index() == i));
    }

    #[test]
    fn ids_order_and_hash_by_their_number() {
        use std::collections::HashSet;
        assert!(id(2) < id(10));
        let mut ids = vec![id(10), id(2), id(7)];
        ids.sort();
        assert_eq!(ids, vec![id(2), id(7), id(10)]);
        let set: HashSet<VmId> = [id(3), id(3), id(4)].into_iter().collect();
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn it_prints_and_parses_as_the_bare_number() {
        assert_eq!(id(12).to_string(), "12");
        assert_eq!(format!("{:?}", id(12)), "12");
        assert_eq!(format!("{:?}", vec![id(2), id(3)]), "[2, 3]");
        assert_eq!("12".parse::<VmId>(), Ok(id(12)));
        assert_eq!("0".parse::<VmId>(), Err(ParseVmIdError::Zero(ZeroVmId)));
        assert!(matches!(
            "x".parse::<VmId>(),
            Err(ParseVmIdError::NotANumber(_))
        ));
        assert_eq!(u32::from(id(5)), 5);
        assert_eq!(u64::from(id(5)), 5);
    }

    #[test]
    fn serde_reads_and_writes_the_bare_integer() {
        #[derive(Serialize, Deserialize, Debug, PartialEq)]
        struct Row {
            vm: VmId,
            to: Vec<VmId>,
        }
        let row = Row {
            vm: id(2),
            to: vec![id(1), id(3)],
        };
        let text = toml::to_string(&row).unwrap();
        assert_eq!(text, "vm = 2\nto = [1, 3]\n");
        assert_eq!(toml::from_str::<Row>(&text).unwrap(), row);
        let zero = toml::from_str::<Row>("vm = 0\nto = []\n").unwrap_err();
        assert!(zero.to_string().contains("0 is not a VM id"), "{zero}");
    }
}
