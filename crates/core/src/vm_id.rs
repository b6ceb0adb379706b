//! A VM's id: the lowest piece of the model, which every other piece names.
//!
//! Ids are 1-based, as the logs and the settings write them; per-VM tables
//! are 0-based vectors, so [`index`] is the one place that turns the one
//! into the other.

/// A VM's 1-based id, as written in the logs.
pub type VmId = u32;

/// The position of VM `id` in a table with one entry per VM, in id order.
pub fn index(id: VmId) -> usize {
    id as usize - 1
}
