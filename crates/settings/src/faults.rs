//! The `faults` setting: how a user writes a fault schedule, the checks it passes, and how a
//! run writes it back.
//!
//! Each entry is one flat table, `kind` and that kind's keys, kept with wide types
//! ([`FaultSetting`]) so a mistake can be reported in the user's own words. Two checks, as for
//! every setting: the gate ([`check_shape`]) admits only what can be read at all (a list of
//! tables, known keys, each value of its TOML kind), and [`resolve`] holds the entries against
//! the run (its VM count and runtime) and against each other before any becomes a [`Fault`].
//! Every error names the entry by its number, which is the fault's number in the logs.

use super::show::{compact, show};
use super::{SettingsError, MAX_RUNTIME_SECS};
use lc_core::faults::{key, Fault, FaultPlan, PartitionMode, RestartClock};
use lc_core::model::VmId;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// One `[[faults]]` entry as written. Which keys it may have depends on `kind`; what is left
/// out is `None` (and is not written back).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSetting {
    pub(crate) kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) vm: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) groups: Option<Vec<Vec<i64>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) from_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) until_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) at_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) restart_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) clock: Option<String>,
}

/// What a key of an entry holds, before its range is checked.
#[derive(Debug, Clone, Copy, PartialEq)]
enum FieldKind {
    /// A string (`kind`, `mode`, `clock`).
    Word,
    /// A VM id: a TOML integer.
    VmId,
    /// A number of seconds: an integer or a float.
    Seconds,
    /// A list of lists of VM ids.
    Groups,
}

/// Every key an entry may have, in the order entries are written.
const FIELDS: [(&str, FieldKind); 9] = [
    (key::KIND, FieldKind::Word),
    (key::VM, FieldKind::VmId),
    (key::GROUPS, FieldKind::Groups),
    (key::FROM_S, FieldKind::Seconds),
    (key::UNTIL_S, FieldKind::Seconds),
    (key::AT_S, FieldKind::Seconds),
    (key::RESTART_S, FieldKind::Seconds),
    (key::MODE, FieldKind::Word),
    (key::CLOCK, FieldKind::Word),
];

/// A kind of fault as the settings write it: the keys it needs and the keys it may have.
struct KindKeys {
    name: &'static str,
    needs: &'static [&'static str],
    may: &'static [&'static str],
}

const KINDS: [KindKeys; 3] = [
    KindKeys {
        name: "partition",
        needs: &[key::GROUPS, key::FROM_S, key::UNTIL_S],
        may: &[key::MODE],
    },
    KindKeys {
        name: "pause",
        needs: &[key::VM, key::FROM_S, key::UNTIL_S],
        may: &[],
    },
    KindKeys {
        name: "crash",
        needs: &[key::VM, key::AT_S],
        may: &[key::RESTART_S, key::CLOCK],
    },
];

impl KindKeys {
    fn named(name: &str) -> Option<&'static KindKeys> {
        KINDS.iter().find(|k| k.name == name)
    }

    fn takes(&self, field: &str) -> bool {
        field == key::KIND || self.needs.contains(&field) || self.may.contains(&field)
    }

    /// `a crash takes vm and at_s, and may have restart_s and clock`.
    fn keys(&self) -> String {
        let mut text = format!("a {} takes {}", self.name, and_list(self.needs));
        if !self.may.is_empty() {
            text.push_str(&format!(", and may have {}", and_list(self.may)));
        }
        text
    }
}

/// `a, b and c`.
fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// What the `faults` setting accepts, in the words `--help` and the errors share.
pub(super) fn allowed() -> String {
    format!(
        "a list of faults, each one table: {{ kind = \"partition\", groups = [[<VM ids>], \
         [<VM ids>], ..], from_s, until_s, mode = \"hold\" (default) or \"drop\" }}, {{ kind = \
         \"pause\", vm, from_s, until_s }} or {{ kind = \"crash\", vm, at_s, restart_s \
         (optional), clock = \"keep\" (default) or \"reset\" (with restart_s) }}; {}; windows \
         are [start, end)",
        seconds_allowed()
    )
}

fn seconds_allowed() -> String {
    format!("times in seconds from the run's start, from 0 to {MAX_RUNTIME_SECS} (one week)")
}

fn kinds_allowed() -> String {
    let names: Vec<String> = KINDS.iter().map(|k| format!("{:?}", k.name)).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    and_list(&names).replacen(" and ", " or ", 1)
}

/// One entry refused: `what` is the offending key and value as written (`` `vm` = 9 ``), or
/// what is missing.
fn refuse(
    entry: usize,
    kind: Option<&'static str>,
    what: impl Into<String>,
    allowed: impl Into<String>,
) -> SettingsError {
    SettingsError::InvalidFault {
        entry,
        kind,
        what: what.into(),
        allowed: allowed.into(),
        origin: None,
    }
}

/// The gate: `value` is a list of tables, each with a string `kind`, only keys an entry may
/// have, each of its TOML kind. Enough for it to read as [`FaultSetting`]s; ranges, and which
/// keys belong to which kind, are for [`resolve`]. `key` is the setting's
/// name, as the table gives it.
pub(super) fn check_shape(key: &'static str, value: &toml::Value) -> Result<(), SettingsError> {
    let entries = value.as_array().ok_or_else(|| SettingsError::Invalid {
        key,
        value: show(value),
        allowed: match value {
            toml::Value::Table(_) => {
                format!(
                    "{} (one table is not a list: a file writes [[faults]] over each entry)",
                    allowed()
                )
            }
            _ => allowed(),
        },
        origin: None,
    })?;
    for (index, entry) in entries.iter().enumerate() {
        let n = index + 1;
        let table = entry.as_table().ok_or_else(|| {
            refuse(
                n,
                None,
                show(entry),
                "a table such as { kind = \"pause\", vm = 2, from_s = 10, until_s = 20 }",
            )
        })?;
        let kind = table
            .get(key::KIND)
            .and_then(toml::Value::as_str)
            .and_then(KindKeys::named);
        let label = kind.map(|k| k.name);
        let keys_allowed = || match kind {
            Some(kind) => kind.keys(),
            None => format!("a fault's keys are {}", and_list(&FIELDS.map(|(f, _)| f))),
        };
        for (field, value) in table {
            let Some(&(field, of)) = FIELDS.iter().find(|(f, _)| f == field) else {
                return Err(refuse(
                    n,
                    label,
                    format!("`{field}` = {}", show(value)),
                    format!("no such key; {}", keys_allowed()),
                ));
            };
            let fits = match of {
                FieldKind::Word => value.is_str(),
                FieldKind::VmId => value.is_integer(),
                FieldKind::Seconds => value.is_integer() || value.is_float(),
                FieldKind::Groups => value.as_array().is_some_and(|groups| {
                    groups.iter().all(|g| {
                        g.as_array()
                            .is_some_and(|ids| ids.iter().all(toml::Value::is_integer))
                    })
                }),
            };
            if !fits {
                let expected = match (field, of) {
                    (key::KIND, _) => kinds_allowed(),
                    (key::MODE, _) => words(&PartitionMode::NAMES),
                    (_, FieldKind::Word) => words(&RestartClock::NAMES),
                    (_, FieldKind::VmId) => "a VM id (a whole number)".into(),
                    (_, FieldKind::Seconds) => "a number of seconds".into(),
                    (_, FieldKind::Groups) => {
                        "a list of groups, each a list of VM ids, e.g. [[1], [2, 3]]".into()
                    }
                };
                return Err(refuse(
                    n,
                    label,
                    format!("`{field}` = {}", show(value)),
                    expected,
                ));
            }
        }
        if !table.contains_key(key::KIND) {
            return Err(refuse(n, None, "no `kind`", kinds_allowed()));
        }
    }
    Ok(())
}

/// `"hold" or "drop"`.
fn words(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    quoted.join(" or ")
}

impl FaultSetting {
    /// Its keys that are given, each with its value as written.
    fn given(&self) -> Vec<(&'static str, String)> {
        let secs = |x: &Option<f64>| x.map(compact);
        [
            (key::VM, self.vm.map(|vm| vm.to_string())),
            (key::GROUPS, self.groups.as_ref().map(|g| show_groups(g))),
            (key::FROM_S, secs(&self.from_s)),
            (key::UNTIL_S, secs(&self.until_s)),
            (key::AT_S, secs(&self.at_s)),
            (key::RESTART_S, secs(&self.restart_s)),
            (key::MODE, self.mode.as_ref().map(|m| format!("{m:?}"))),
            (key::CLOCK, self.clock.as_ref().map(|c| format!("{c:?}"))),
        ]
        .into_iter()
        .filter_map(|(field, value)| value.map(|v| (field, v)))
        .collect()
    }
}

fn show_groups(groups: &[Vec<i64>]) -> String {
    let groups: Vec<String> = groups.iter().map(|g| format!("{g:?}")).collect();
    format!("[{}]", groups.join(", "))
}

/// One entry's checks, with its number and kind at hand for the errors.
struct Entry<'a> {
    n: usize,
    kind: &'static str,
    setting: &'a FaultSetting,
    vm_count: u32,
}

impl Entry<'_> {
    fn refuse(&self, what: impl Into<String>, allowed: impl Into<String>) -> SettingsError {
        refuse(self.n, Some(self.kind), what, allowed)
    }

    /// A time key, checked: finite, from 0 to a week.
    fn seconds(&self, field: &str, value: Option<f64>) -> Result<Duration, SettingsError> {
        let value = value.expect("resolve checks required keys first");
        if !(value.is_finite() && (0.0..=MAX_RUNTIME_SECS).contains(&value)) {
            return Err(self.refuse(format!("`{field}` = {}", compact(value)), seconds_allowed()));
        }
        Ok(Duration::from_secs_f64(value))
    }

    fn vm_allowed(&self) -> String {
        format!("a VM id from 1 to {} (vm_count)", self.vm_count)
    }

    fn vm(&self) -> Result<VmId, SettingsError> {
        let vm = self.setting.vm.expect("resolve checks required keys first");
        VmId::in_run(vm, self.vm_count)
            .ok_or_else(|| self.refuse(format!("`vm` = {vm}"), self.vm_allowed()))
    }

    fn groups(&self) -> Result<Vec<Vec<VmId>>, SettingsError> {
        let groups = self
            .setting
            .groups
            .as_ref()
            .expect("resolve checks required keys first");
        let what = || format!("`groups` = {}", show_groups(groups));
        if groups.len() < 2 {
            return Err(self.refuse(
                what(),
                "at least 2 groups (links between groups are cut), e.g. [[1], [2, 3]]",
            ));
        }
        let mut seen = Vec::new();
        let mut cut = Vec::with_capacity(groups.len());
        for (index, group) in groups.iter().enumerate() {
            if group.is_empty() {
                return Err(self.refuse(
                    what(),
                    format!(
                        "group {} is empty; each group holds at least one VM",
                        index + 1
                    ),
                ));
            }
            let mut members = Vec::with_capacity(group.len());
            for &vm in group {
                let Some(id) = VmId::in_run(vm, self.vm_count) else {
                    return Err(self.refuse(
                        what(),
                        format!("VM ids from 1 to {} (vm_count), not {vm}", self.vm_count),
                    ));
                };
                if seen.contains(&id) {
                    return Err(self.refuse(
                        what(),
                        format!("VM {vm} is listed twice; each VM in at most one group"),
                    ));
                }
                seen.push(id);
                members.push(id);
            }
            cut.push(members);
        }
        Ok(cut)
    }

    /// A word key: one of `names`, or the default when left out.
    fn word<T: Default>(
        &self,
        field: &str,
        value: &Option<String>,
        names: &[&str],
        named: fn(&str) -> Option<T>,
    ) -> Result<T, SettingsError> {
        let Some(word) = value else {
            return Ok(T::default());
        };
        named(word).ok_or_else(|| self.refuse(format!("`{field}` = {word:?}"), words(names)))
    }

    /// The window's end after its start.
    fn ends_after(
        &self,
        (start_key, start): (&str, Duration),
        (end_key, end): (&str, Duration),
    ) -> Result<(), SettingsError> {
        if end <= start {
            return Err(self.refuse(
                format!("`{end_key}` = {}", compact(end.as_secs_f64())),
                format!(
                    "more than {start_key} ({}): windows are [start, end)",
                    compact(start.as_secs_f64())
                ),
            ));
        }
        Ok(())
    }

    /// The entry as a fault, every value checked but not yet against the other entries.
    fn fault(&self) -> Result<Fault, SettingsError> {
        let s = self.setting;
        Ok(match self.kind {
            "partition" => {
                let groups = self.groups()?;
                let from = self.seconds(key::FROM_S, s.from_s)?;
                let until = self.seconds(key::UNTIL_S, s.until_s)?;
                self.ends_after((key::FROM_S, from), (key::UNTIL_S, until))?;
                let mode = self.word(
                    key::MODE,
                    &s.mode,
                    &PartitionMode::NAMES,
                    PartitionMode::named,
                )?;
                Fault::Partition {
                    groups,
                    from,
                    until,
                    mode,
                }
            }
            "pause" => {
                let vm = self.vm()?;
                let from = self.seconds(key::FROM_S, s.from_s)?;
                let until = self.seconds(key::UNTIL_S, s.until_s)?;
                self.ends_after((key::FROM_S, from), (key::UNTIL_S, until))?;
                Fault::Pause { vm, from, until }
            }
            _ => {
                let vm = self.vm()?;
                let at = self.seconds(key::AT_S, s.at_s)?;
                let restart = match s.restart_s {
                    Some(restart) => {
                        let restart = self.seconds(key::RESTART_S, Some(restart))?;
                        self.ends_after((key::AT_S, at), (key::RESTART_S, restart))?;
                        Some(restart)
                    }
                    None => None,
                };
                if let (None, Some(clock)) = (restart, &s.clock) {
                    return Err(self.refuse(
                        format!("`clock` = {clock:?}"),
                        "only with restart_s: a crash without restart_s never comes back",
                    ));
                }
                let clock = self.word(
                    key::CLOCK,
                    &s.clock,
                    &RestartClock::NAMES,
                    RestartClock::named,
                )?;
                Fault::Crash {
                    vm,
                    at,
                    restart,
                    clock,
                }
            }
        })
    }
}

/// Checks every entry against the run (`vm_count` VMs for `runtime` seconds, both already
/// checked) and against the others, and makes the schedule: fault `k` is entry `k`. A fault
/// must start during the run; its end may fall after it. One VM's pause and crash windows may
/// not overlap (a crash without restart lasts to the end).
pub(super) fn resolve(
    entries: &[FaultSetting],
    vm_count: u32,
    runtime: f64,
) -> Result<FaultPlan, SettingsError> {
    let mut faults: Vec<Fault> = Vec::new();
    for (index, setting) in entries.iter().enumerate() {
        let n = index + 1;
        let Some(kind) = KindKeys::named(&setting.kind) else {
            return Err(refuse(
                n,
                None,
                format!("`kind` = {:?}", setting.kind),
                kinds_allowed(),
            ));
        };
        let given = setting.given();
        if let Some((field, value)) = given.iter().find(|(field, _)| !kind.takes(field)) {
            return Err(refuse(
                n,
                Some(kind.name),
                format!("`{field}` = {value}"),
                format!("not a key of a {}; {}", kind.name, kind.keys()),
            ));
        }
        if let Some(missing) = kind
            .needs
            .iter()
            .find(|need| !given.iter().any(|(field, _)| field == *need))
        {
            return Err(refuse(
                n,
                Some(kind.name),
                format!("no `{missing}`"),
                kind.keys(),
            ));
        }
        let entry = Entry {
            n,
            kind: kind.name,
            setting,
            vm_count,
        };
        let fault = entry.fault()?;
        let (start, _) = fault.window();
        let start_key = match fault {
            Fault::Crash { .. } => key::AT_S,
            Fault::Partition { .. } | Fault::Pause { .. } => key::FROM_S,
        };
        let shown_start = || format!("`{start_key}` = {}", compact(start.as_secs_f64()));
        if start.as_secs_f64() >= runtime {
            return Err(entry.refuse(
                shown_start(),
                format!(
                    "less than runtime ({}): a fault starts during the run",
                    compact(runtime)
                ),
            ));
        }
        // One conflict with an earlier entry is enough to refuse this one.
        let conflict = faults.iter().enumerate().find_map(|(other, earlier)| {
            let window = shown_window(earlier);
            if holds_the_same_vm(earlier, &fault) {
                Some(format!(
                    "VM {} is held by entry {} ({}) {window}; one VM's pause and crash windows \
                     may not overlap",
                    fault.vms()[0],
                    other + 1,
                    earlier.kind(),
                ))
            } else if crashes_overlap(earlier, &fault) {
                Some(format!(
                    "entry {} (crash) has VM {} down {window}; two VMs may not be down at once \
                     (a restarted VM reconnects to peers that are up)",
                    other + 1,
                    earlier.vms()[0],
                ))
            } else {
                None
            }
        });
        if let Some(why) = conflict {
            return Err(entry.refuse(shown_start(), why));
        }
        faults.push(fault);
    }
    Ok(FaultPlan::new(faults))
}

/// A fault's window as an error names it: `from 30 s to 40 s`, `from 20 s to the end`.
fn shown_window(fault: &Fault) -> String {
    let (start, end) = fault.window();
    let end = end.map_or("the end".into(), |e| {
        format!("{} s", compact(e.as_secs_f64()))
    });
    format!("from {} s to {end}", compact(start.as_secs_f64()))
}

/// Whether two crashes of different VMs have them down at the same moment.
fn crashes_overlap(a: &Fault, b: &Fault) -> bool {
    let (Fault::Crash { vm: vm_a, .. }, Fault::Crash { vm: vm_b, .. }) = (a, b) else {
        return false;
    };
    let ((start_a, end_a), (start_b, end_b)) = (a.window(), b.window());
    vm_a != vm_b && end_b.is_none_or(|end| start_a < end) && end_a.is_none_or(|end| start_b < end)
}

/// Whether two faults both stop the same VM's ticks (pause or crash) at some moment.
fn holds_the_same_vm(a: &Fault, b: &Fault) -> bool {
    let vm_held = |f: &Fault| match f {
        Fault::Pause { vm, .. } | Fault::Crash { vm, .. } => Some(*vm),
        Fault::Partition { .. } => None,
    };
    let (Some(vm_a), Some(vm_b)) = (vm_held(a), vm_held(b)) else {
        return false;
    };
    let ((start_a, end_a), (start_b, end_b)) = (a.window(), b.window());
    vm_a == vm_b && end_b.is_none_or(|end| start_a < end) && end_a.is_none_or(|end| start_b < end)
}

impl From<&Fault> for FaultSetting {
    /// The entry that makes this fault, every default written out (a crash without restart
    /// has no `clock`: it would be refused).
    fn from(fault: &Fault) -> Self {
        let secs = |d: &Duration| Some(d.as_secs_f64());
        let kind = fault.kind().to_string();
        match fault {
            Fault::Partition {
                groups,
                from,
                until,
                mode,
            } => FaultSetting {
                kind,
                groups: Some(
                    groups
                        .iter()
                        .map(|g| g.iter().map(|&vm| i64::from(vm.get())).collect())
                        .collect(),
                ),
                from_s: secs(from),
                until_s: secs(until),
                mode: Some(mode.name().into()),
                ..FaultSetting::default()
            },
            Fault::Pause { vm, from, until } => FaultSetting {
                kind,
                vm: Some(i64::from(vm.get())),
                from_s: secs(from),
                until_s: secs(until),
                ..FaultSetting::default()
            },
            Fault::Crash {
                vm,
                at,
                restart,
                clock,
            } => FaultSetting {
                kind,
                vm: Some(i64::from(vm.get())),
                at_s: secs(at),
                restart_s: restart.as_ref().and_then(secs),
                clock: restart.map(|_| clock.name().into()),
                ..FaultSetting::default()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Layers, Origin, RunSpec, Settings};
    use super::*;
    use crate::names::FAULTS;

    /// A VM id written in a test.
    fn id(n: u32) -> VmId {
        VmId::literal(n)
    }

    /// `entries` (TOML inline tables, comma-separated) as the `faults` of 3 VMs run for 60 s,
    /// through the gate and the checks, as a plan line 7 would give them.
    fn resolved(entries: &str) -> Result<RunSpec, String> {
        let value: toml::Table = toml::from_str(&format!("{FAULTS} = [{entries}]")).unwrap();
        let mut layers = Layers::default();
        layers
            .set(FAULTS, value[FAULTS].clone(), Origin::Line(7))
            .map_err(|e| e.to_string())?;
        layers.resolve(|| 1).map_err(|e| e.to_string())
    }

    fn refused(entries: &str) -> String {
        match resolved(entries) {
            Ok(spec) => panic!("{entries} was accepted: {:?}", spec.faults),
            Err(error) => error,
        }
    }

    const PARTITION: &str =
        r#"{ kind = "partition", groups = [[1], [2, 3]], from_s = 10, until_s = 25 }"#;
    const PAUSE: &str = r#"{ kind = "pause", vm = 2, from_s = 30, until_s = 40 }"#;
    const CRASH: &str =
        r#"{ kind = "crash", vm = 3, at_s = 45, restart_s = 50.5, clock = "reset" }"#;

    fn s(secs: f64) -> Duration {
        Duration::from_secs_f64(secs)
    }

    #[test]
    fn the_issue_s_example_resolves_in_settings_order_with_defaults() {
        let spec = resolved(&[PARTITION, PAUSE, CRASH].join(", ")).unwrap();
        assert_eq!(
            spec.faults,
            FaultPlan::new(vec![
                Fault::Partition {
                    groups: vec![vec![id(1)], vec![id(2), id(3)]],
                    from: s(10.0),
                    until: s(25.0),
                    mode: PartitionMode::Hold,
                },
                Fault::Pause {
                    vm: id(2),
                    from: s(30.0),
                    until: s(40.0),
                },
                Fault::Crash {
                    vm: id(3),
                    at: s(45.0),
                    restart: Some(s(50.5)),
                    clock: RestartClock::Reset,
                },
            ])
        );
        let crash = resolved(r#"{ kind = "crash", vm = 1, at_s = 5 }"#).unwrap();
        assert_eq!(
            crash.faults.faults(),
            [Fault::Crash {
                vm: id(1),
                at: s(5.0),
                restart: None,
                clock: RestartClock::Keep,
            }]
        );
        assert!(resolved("").unwrap().faults.is_empty());
    }

    /// Each mistake, and what its one line must say (besides the entry and its origin).
    #[test]
    fn each_mistake_is_one_line_naming_the_entry_the_key_and_what_is_allowed() {
        let second = |entry: &str| format!("{PAUSE}, {entry}");
        let cases: Vec<(String, &str, &[&str])> = vec![
            (
                second(r#"{ kind = "reboot", vm = 1 }"#),
                "entry 2: `kind` = \"reboot\"",
                &["\"partition\", \"pause\" or \"crash\""],
            ),
            (
                second(r#"{ vm = 1, at_s = 3 }"#),
                "entry 2: no `kind`",
                &["\"partition\", \"pause\" or \"crash\""],
            ),
            (
                second(r#"{ kind = "crash", vm = 1, at_s = 3, vmm = 2 }"#),
                "entry 2 (crash): `vmm` = 2",
                &["no such key; a crash takes vm and at_s, and may have restart_s and clock"],
            ),
            (
                second(
                    r#"{ kind = "partition", groups = [[1], [2]], from_s = 1, until_s = 2, vm = 1 }"#,
                ),
                "entry 2 (partition): `vm` = 1",
                &["not a key of a partition; a partition takes groups, from_s and until_s"],
            ),
            (
                second(r#"{ kind = "crash", groups = [[1], [2]], vm = 1, at_s = 3 }"#),
                "entry 2 (crash): `groups` = [[1], [2]]",
                &["not a key of a crash"],
            ),
            (
                r#"{ kind = "pause", vm = 1, at_s = 3, from_s = 1, until_s = 2 }"#.into(),
                "entry 1 (pause): `at_s` = 3",
                &["a pause takes vm, from_s and until_s"],
            ),
            (
                second(r#"{ kind = "pause", vm = 1, from_s = 1 }"#),
                "entry 2 (pause): no `until_s`",
                &["a pause takes vm, from_s and until_s"],
            ),
            (
                second(r#"{ kind = "crash", at_s = 1 }"#),
                "entry 2 (crash): no `vm`",
                &["a crash takes vm and at_s"],
            ),
            (
                second(r#"{ kind = "pause", vm = 4, from_s = 1, until_s = 2 }"#),
                "entry 2 (pause): `vm` = 4",
                &["a VM id from 1 to 3 (vm_count)"],
            ),
            (
                second(r#"{ kind = "crash", vm = 0, at_s = 1 }"#),
                "entry 2 (crash): `vm` = 0",
                &["a VM id from 1 to 3 (vm_count)"],
            ),
            (
                second(r#"{ kind = "pause", vm = "two", from_s = 1, until_s = 2 }"#),
                "entry 2 (pause): `vm` = \"two\"",
                &["a VM id (a whole number)"],
            ),
            (
                second(r#"{ kind = "partition", groups = [[1, 2, 3]], from_s = 1, until_s = 2 }"#),
                "entry 2 (partition): `groups` = [[1, 2, 3]]",
                &["at least 2 groups"],
            ),
            (
                second(r#"{ kind = "partition", groups = [[1], []], from_s = 1, until_s = 2 }"#),
                "entry 2 (partition): `groups` = [[1], []]",
                &["group 2 is empty"],
            ),
            (
                second(
                    r#"{ kind = "partition", groups = [[1, 2], [2, 3]], from_s = 1, until_s = 2 }"#,
                ),
                "entry 2 (partition): `groups` = [[1, 2], [2, 3]]",
                &["VM 2 is listed twice; each VM in at most one group"],
            ),
            (
                second(r#"{ kind = "partition", groups = [[1], [9]], from_s = 1, until_s = 2 }"#),
                "entry 2 (partition): `groups` = [[1], [9]]",
                &["VM ids from 1 to 3 (vm_count), not 9"],
            ),
            (
                second(r#"{ kind = "partition", groups = [1, 2], from_s = 1, until_s = 2 }"#),
                "entry 2 (partition): `groups` = [1, 2]",
                &["a list of groups, each a list of VM ids"],
            ),
            (
                second(r#"{ kind = "pause", vm = 1, from_s = -1, until_s = 2 }"#),
                "entry 2 (pause): `from_s` = -1",
                &["from 0 to 604800 (one week)"],
            ),
            (
                second(r#"{ kind = "pause", vm = 1, from_s = 1, until_s = inf }"#),
                "entry 2 (pause): `until_s` = inf",
                &["from 0 to 604800"],
            ),
            (
                second(r#"{ kind = "crash", vm = 1, at_s = nan }"#),
                "entry 2 (crash): `at_s` = NaN",
                &["from 0 to 604800"],
            ),
            (
                second(r#"{ kind = "pause", vm = 1, from_s = 5, until_s = 5 }"#),
                "entry 2 (pause): `until_s` = 5",
                &["more than from_s (5): windows are [start, end)"],
            ),
            (
                second(r#"{ kind = "partition", groups = [[1], [2]], from_s = 5, until_s = 4 }"#),
                "entry 2 (partition): `until_s` = 4",
                &["more than from_s (5)"],
            ),
            (
                second(r#"{ kind = "crash", vm = 1, at_s = 5, restart_s = 2 }"#),
                "entry 2 (crash): `restart_s` = 2",
                &["more than at_s (5)"],
            ),
            (
                second(r#"{ kind = "pause", vm = 1, from_s = 60, until_s = 70 }"#),
                "entry 2 (pause): `from_s` = 60",
                &["less than runtime (60): a fault starts during the run"],
            ),
            (
                second(r#"{ kind = "crash", vm = 1, at_s = 61 }"#),
                "entry 2 (crash): `at_s` = 61",
                &["less than runtime (60)"],
            ),
            (
                second(r#"{ kind = "crash", vm = 1, at_s = 5, clock = "reset" }"#),
                "entry 2 (crash): `clock` = \"reset\"",
                &["only with restart_s"],
            ),
            (
                second(r#"{ kind = "crash", vm = 1, at_s = 5, restart_s = 6, clock = "zero" }"#),
                "entry 2 (crash): `clock` = \"zero\"",
                &["\"keep\" or \"reset\""],
            ),
            (
                second(
                    r#"{ kind = "partition", groups = [[1], [2]], from_s = 1, until_s = 2, mode = "lose" }"#,
                ),
                "entry 2 (partition): `mode` = \"lose\"",
                &["\"hold\" or \"drop\""],
            ),
            (
                second(r#"{ kind = "crash", vm = 2, at_s = 39.5, restart_s = 45 }"#),
                "entry 2 (crash): `at_s` = 39.5",
                &[
                    "VM 2 is held by entry 1 (pause) from 30 s to 40 s",
                    "may not overlap",
                ],
            ),
            (
                format!(r#"{{ kind = "crash", vm = 2, at_s = 20 }}, {PAUSE}"#),
                "entry 2 (pause): `from_s` = 30",
                &["VM 2 is held by entry 1 (crash) from 20 s to the end"],
            ),
            (
                r#"{ kind = "crash", vm = 1, at_s = 5, restart_s = 10 }, { kind = "crash", vm = 3, at_s = 9.5, restart_s = 12 }"#
                    .to_string(),
                "entry 2 (crash): `at_s` = 9.5",
                &[
                    "entry 1 (crash) has VM 1 down from 5 s to 10 s",
                    "two VMs may not be down at once",
                ],
            ),
            (
                second(r#"{ kind = "pause", vm = 2, from_s = 10, until_s = 30.5 }"#),
                "entry 2 (pause): `from_s` = 10",
                &["VM 2 is held by entry 1 (pause)"],
            ),
            (
                second("3"),
                "entry 2: 3",
                &["a table such as { kind = \"pause\""],
            ),
        ];
        for (entries, names, says) in cases {
            let error = refused(&entries);
            assert!(!error.contains('\n'), "{error}");
            let expected = format!("setting `faults` {names} (line 7) is not allowed: ");
            assert!(
                error.starts_with(&expected),
                "{entries}\n{error}\n{expected}"
            );
            for said in says {
                assert!(error.contains(said), "{entries}\n{error}\nlacks {said}");
            }
        }
        let not_a_list = refused_value(toml::Value::Integer(3));
        assert!(
            not_a_list
                .starts_with("setting `faults` = 3 (line 7) is not allowed: a list of faults"),
            "{not_a_list}"
        );
    }

    fn refused_value(value: toml::Value) -> String {
        Layers::default()
            .set(FAULTS, value, Origin::Line(7))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn the_environment_gives_faults_as_an_inline_array() {
        let read = |text: &str| {
            let mut layers = Layers::default();
            let vars = [("LOGICAL_CLOCKS_FAULTS".into(), text.into())];
            layers.read_environment(vars)?;
            layers.resolve(|| 1)
        };
        let spec = read(&format!("[{PAUSE}, {CRASH}]")).unwrap();
        assert_eq!(spec.faults.faults().len(), 2);
        assert_eq!(spec.faults.get(2).unwrap().vms(), vec![id(3)]);
        assert!(read("[]").unwrap().faults.is_empty());
        let from = "(from environment variable LOGICAL_CLOCKS_FAULTS)";
        let error = read(r#"[{ kind = "pause", vm = 2, from_s = 3, until_s = 1 }]"#)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(&format!(
                "setting `faults` entry 1 (pause): `until_s` = 1 {from} is not allowed"
            )),
            "{error}"
        );
        let error = read(r#"{ kind = "pause" }"#).unwrap_err().to_string();
        assert!(error.contains(from), "{error}");
        assert!(
            error.ends_with("one table is not a list: a file writes [[faults]] over each entry)"),
            "{error}"
        );
    }

    #[test]
    fn windows_that_touch_and_ends_beyond_the_run_are_fine() {
        let spec = resolved(&format!(
            r#"{PAUSE}, {{ kind = "crash", vm = 2, at_s = 40, restart_s = 50 }},
               {{ kind = "pause", vm = 2, from_s = 50, until_s = 604800 }},
               {PARTITION}, {{ kind = "partition", groups = [[3], [1, 2]], from_s = 12, until_s = 90, mode = "drop" }}"#
        ))
        .unwrap();
        assert_eq!(spec.faults.faults().len(), 5);
        assert_eq!(
            spec.faults.get(5).unwrap().window(),
            (s(12.0), Some(s(90.0)))
        );
    }

    #[test]
    fn a_schedule_written_back_reads_back_the_same() {
        let spec = resolved(
            &[
                PARTITION,
                PAUSE,
                CRASH,
                r#"{ kind = "crash", vm = 1, at_s = 55.25 }"#,
            ]
            .join(", "),
        )
        .unwrap();
        let written = toml::to_string(&spec.effective_settings()).unwrap();
        assert!(written.contains("[[faults]]\nkind = \"partition\"\ngroups = [[1], [2, 3]]\nfrom_s = 10.0\nuntil_s = 25.0\nmode = \"hold\"\n"), "{written}");
        assert!(
            written.ends_with("[[faults]]\nkind = \"crash\"\nvm = 1\nat_s = 55.25\n"),
            "{written}"
        );
        let read: Settings = toml::from_str(&written).unwrap();
        assert_eq!(read.faults.len(), 4);
        assert_eq!(read.resolve(|| 0).unwrap(), spec);
        // And through the gate, as a run directory's settings.toml is read as a config file.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.toml");
        std::fs::write(&path, &written).unwrap();
        let mut layers = Layers::default();
        layers.read_file(&path).unwrap();
        assert_eq!(layers.resolve(|| 0).unwrap(), spec);
    }
}
