//! How big a system `check` takes: the VM count and each VM's ticks.
//!
//! The number of states grows exponentially in both (every interleaving of
//! every die outcome and every delivery), so past a few ticks a check would
//! run for hours and fill memory before saying anything. The limits are
//! the largest sizes that end in seconds within a few hundred MB in a
//! release build on the shared 2-core machine (measured in `docs/check.md`:
//! 2 VMs of 5 ticks, 95 thousand states in about 1 s and 70 MB; 3 VMs of 2
//! ticks, 272 thousand in about 15 s and 250 MB; one tick more is 2 VMs of
//! 6 at 500 MB, and 3 VMs of 3 had not ended after 6 minutes and 23 GB); a
//! size past them is refused with one line that gives the allowed range,
//! before any state is built.

use thiserror::Error;

/// The fewest VMs a check takes: one VM has no one to talk to.
pub const MIN_VMS: u32 = 2;
/// The most VMs a check takes.
pub const MAX_VMS: u32 = 3;

impl std::fmt::Display for Size {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} VMs of {} ticks each", self.vm_count, self.ticks)
    }
}

/// The most ticks per VM, for `vm_count` VMs (index `vm_count - MIN_VMS`).
const MAX_TICKS: [u32; 2] = [5, 2];
/// The same with `--crash-reset`: a reset clock parts from the causal past
/// it used to follow, so far fewer schedules meet (2 VMs of 4 ticks: 522
/// thousand states, 9 s, 370 MB; 2 of 5 and 3 of 2 passed 3 GB).
const MAX_TICKS_CRASH_RESET: [u32; 2] = [4, 1];

/// A system small enough to check: `vm_count` VMs, each taking `ticks` ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Size {
    vm_count: u32,
    ticks: u32,
}

/// A size `check` refuses, with what it allows instead.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SizeError {
    #[error("--vm-count {0} cannot be checked: every schedule is checked for {MIN_VMS} to {MAX_VMS} VMs")]
    VmCount(i64),
    #[error(
        "--ticks {ticks} cannot be checked with {vm_count} VMs{mode}: every schedule is checked for 1 to {max} ticks per VM with {vm_count} VMs ({others})"
    )]
    Ticks {
        vm_count: u32,
        ticks: i64,
        /// Empty, or " and --crash-reset" when those limits applied.
        mode: &'static str,
        max: u32,
        /// The limit for the other VM counts, so one line says it all.
        others: String,
    },
}

impl Size {
    /// `vm_count` VMs of `ticks` ticks each, if a check of that size ends.
    /// Signed, so a negative count from the command line is refused here
    /// with the range like any other.
    pub fn new(vm_count: i64, ticks: i64) -> Result<Size, SizeError> {
        Size::within(vm_count, ticks, &MAX_TICKS, "")
    }

    /// [`Size::new`] for a check with `--crash-reset`, whose limits are lower.
    pub fn with_crash_reset(vm_count: i64, ticks: i64) -> Result<Size, SizeError> {
        Size::within(
            vm_count,
            ticks,
            &MAX_TICKS_CRASH_RESET,
            " and --crash-reset",
        )
    }

    fn within(
        vm_count: i64,
        ticks: i64,
        limits: &[u32; 2],
        mode: &'static str,
    ) -> Result<Size, SizeError> {
        let refused = SizeError::VmCount(vm_count);
        let vm_count = u32::try_from(vm_count).map_err(|_| refused.clone())?;
        let max = max_ticks(limits, vm_count).ok_or(refused)?;
        let taken = u32::try_from(ticks).ok().filter(|t| (1..=max).contains(t));
        let Some(ticks) = taken else {
            let others = (MIN_VMS..=MAX_VMS)
                .filter(|&n| n != vm_count)
                .filter_map(|n| max_ticks(limits, n).map(|m| format!("1 to {m} with {n} VMs")))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(SizeError::Ticks {
                vm_count,
                ticks,
                mode,
                max,
                others,
            });
        };
        Ok(Size { vm_count, ticks })
    }

    pub fn vm_count(self) -> u32 {
        self.vm_count
    }

    pub fn ticks(self) -> u32 {
        self.ticks
    }
}

/// The most ticks per VM a check takes for `vm_count` VMs, if it takes them.
fn max_ticks(limits: &[u32; 2], vm_count: u32) -> Option<u32> {
    let index = vm_count.checked_sub(MIN_VMS)?;
    limits.get(index as usize).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_and_the_largest_sizes_are_taken() {
        assert!(Size::new(2, 3).is_ok());
        assert!(Size::new(3, 1).is_ok());
        let size = Size::new(2, 4).unwrap();
        assert_eq!((size.vm_count(), size.ticks()), (2, 4));
        assert!(Size::new(2, 5).is_ok());
        assert!(Size::new(3, 2).is_ok());
        assert!(Size::new(3, i64::from(MAX_TICKS[1])).is_ok());
    }

    #[test]
    fn too_many_vms_or_none_to_talk_to_are_refused_with_the_range() {
        for n in [-1, 0, 1, 4, 100, i64::MAX] {
            let error = Size::new(n, 2).unwrap_err();
            assert_eq!(error, SizeError::VmCount(n));
            assert!(error.to_string().contains("2 to 3 VMs"), "{error}");
        }
    }

    #[test]
    fn too_many_ticks_or_none_are_refused_with_the_range_for_every_vm_count() {
        let error = Size::new(3, i64::from(MAX_TICKS[1]) + 1)
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            format!(
                "--ticks {} cannot be checked with 3 VMs: every schedule is checked for 1 to {} \
                 ticks per VM with 3 VMs (1 to {} with 2 VMs)",
                MAX_TICKS[1] + 1,
                MAX_TICKS[1],
                MAX_TICKS[0]
            )
        );
        assert!(Size::new(2, 0).is_err());
        assert!(Size::new(2, -3).is_err());
        assert!(Size::new(2, i64::from(MAX_TICKS[0]) + 1).is_err());
    }

    #[test]
    fn a_crash_reset_has_lower_limits_and_says_so() {
        assert!(Size::with_crash_reset(2, 4).is_ok());
        assert!(Size::with_crash_reset(3, 1).is_ok());
        assert!(Size::new(3, 2).is_ok());
        assert_eq!(
            Size::with_crash_reset(3, 2).unwrap_err().to_string(),
            "--ticks 2 cannot be checked with 3 VMs and --crash-reset: every schedule is \
             checked for 1 to 1 ticks per VM with 3 VMs (1 to 4 with 2 VMs)"
        );
        assert_eq!(
            Size::with_crash_reset(5, 1).unwrap_err(),
            SizeError::VmCount(5)
        );
    }
}
