//! `settings.toml` held against the logs: the VM count and each VM's pinned rate. Pure.
//!
//! A run directory's `settings.toml` says what the run was asked to do (a real run writes its
//! effective settings there, every rate pinned); the logs say what it did. They must agree on
//! how many VMs there were (one `vm-K.log` for each K in 1..=`vm_count`) and, where `rates` pins
//! them, on each VM's rate as its `start` line gives it.
//!
//! A missing log is one finding that names the file. Without it, every message to or from that
//! VM would look lost or forged, so [`Matcher`](crate::rules::matching::Matcher) is told which VMs are
//! absent and only counts their messages; the finding says how many there were. A hand-made run
//! without `settings.toml`, or without these keys, is simply not held to them.

use lc_core::vm_id::VmId;
use std::collections::BTreeMap;

use crate::read::run_settings::RunSettings;
use crate::rules::matching::AbsentPeer;
use crate::rules::violation::Rule;
use lc_contract::vm_log::VmLog;
use lc_settings::names::{RATES, VM_COUNT};

/// A finding about `settings.toml` itself: the key it is about, the rule, the detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SettingsFinding {
    pub(crate) key: &'static str,
    pub(crate) rule: Rule,
    pub(crate) detail: String,
}

/// What `settings.toml` says the logs must show.
#[derive(Debug, Clone, Default)]
pub(crate) struct SettingsCheck {
    vm_count: Option<u32>,
    rates: Option<Vec<f64>>,
    /// VMs in 1..=vm_count without a log, in id order.
    missing: Vec<VmId>,
    /// The logs of VMs beyond vm_count, by file name, in id order.
    extra: Vec<String>,
}

impl SettingsCheck {
    /// Holds `settings` against a run whose logs are `logs`.
    pub(crate) fn new(settings: &RunSettings, logs: &[VmLog]) -> SettingsCheck {
        let (missing, extra) = match settings.vm_count {
            Some(n) => (
                VmId::all(n)
                    .filter(|&id| !logs.iter().any(|l| l.vm == id))
                    .collect(),
                logs.iter()
                    .filter(|l| l.vm.get() > n)
                    .map(VmLog::name)
                    .collect(),
            ),
            None => (Vec::new(), Vec::new()),
        };
        SettingsCheck {
            vm_count: settings.vm_count,
            // `rates = []` pins nothing: the rates were drawn.
            rates: settings.rates.clone().filter(|r| !r.is_empty()),
            missing,
            extra,
        }
    }

    /// How many entries the run's vector clocks have: one per VM, as `vm_count` counts them,
    /// else as the highest id among `vms`, the VMs with a log.
    pub(crate) fn clock_width(&self, vms: &[VmId]) -> usize {
        let highest = vms.iter().map(|vm| vm.index() + 1).max().unwrap_or(0);
        self.vm_count.map_or(highest, |n| n as usize)
    }

    /// The VMs `settings.toml` names that have no log.
    pub(crate) fn missing(&self) -> &[VmId] {
        &self.missing
    }

    /// Checks the `rate` of VM `vm`'s `start` line against the pinned rate, if both are known;
    /// returns what is wrong.
    pub(crate) fn start_rate(&self, vm: VmId, rate: Option<f64>) -> Option<String> {
        let logged = rate?;
        let pinned = *self.rates.as_ref()?.get(vm.index())?;
        ((logged - pinned).abs() > 1e-9).then(|| {
            format!(
                "start line says rate {logged} but settings.toml pins rate {pinned} for vm {vm}"
            )
        })
    }

    /// The findings about the run as a whole: missing and extra logs, and a `rates` list that
    /// does not have one rate per VM. `absent` counts the messages of each missing VM.
    pub(crate) fn findings(&self, absent: &BTreeMap<VmId, AbsentPeer>) -> Vec<SettingsFinding> {
        let Some(n) = self.vm_count else {
            return Vec::new();
        };
        let mut findings = Vec::new();
        for &vm in &self.missing {
            let traffic = absent.get(&vm).copied().unwrap_or_default();
            findings.push(SettingsFinding {
                key: VM_COUNT,
                rule: Rule::MissingVmLog,
                detail: format!(
                    "settings.toml says {n} VMs but vm-{vm}.log is missing; {}",
                    traffic.describe(vm)
                ),
            });
        }
        for file in &self.extra {
            findings.push(SettingsFinding {
                key: VM_COUNT,
                rule: Rule::ExtraVmLog,
                detail: format!("{file} is in the run directory but settings.toml says {n} VMs"),
            });
        }
        if let Some(rates) = self.rates.as_ref().filter(|r| r.len() != n as usize) {
            findings.push(SettingsFinding {
                key: RATES,
                rule: Rule::RateMismatch,
                detail: format!("settings.toml pins {} rates for {n} VMs", rates.len()),
            });
        }
        findings
    }
}

impl AbsentPeer {
    /// What became of the messages of absent VM `vm`, as a phrase.
    fn describe(&self, vm: VmId) -> String {
        if self.sent_to == 0 && self.received_from == 0 {
            return format!("no message to or from vm {vm} was logged");
        }
        format!(
            "{} to vm {vm} and {} from it could not be matched",
            count(self.sent_to, "message"),
            count(self.received_from, "receive")
        )
    }
}

fn count(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// A VM id written in a test.
    fn vid(n: u32) -> VmId {
        VmId::literal(n)
    }

    fn settings(vm_count: Option<u32>, rates: Option<Vec<f64>>) -> RunSettings {
        RunSettings {
            vm_count,
            rates,
            ..RunSettings::default()
        }
    }

    /// Plain logs of the VMs `vms`.
    fn logs(vms: &[u32]) -> Vec<VmLog> {
        vms.iter()
            .map(|&vm| VmLog::at(Path::new(&format!("run/vm-{vm}.log"))).unwrap())
            .collect()
    }

    fn rules(check: &SettingsCheck) -> Vec<(Rule, String)> {
        check
            .findings(&BTreeMap::new())
            .into_iter()
            .map(|f| (f.rule, f.detail))
            .collect()
    }

    #[test]
    fn agreeing_settings_give_no_finding() {
        let check = SettingsCheck::new(
            &settings(Some(3), Some(vec![1.0, 4.0, 6.0])),
            &logs(&[1, 2, 3]),
        );
        assert!(check.missing().is_empty());
        assert!(rules(&check).is_empty());
        assert_eq!(check.start_rate(vid(2), Some(4.0)), None);
        // A start line without a rate, or a VM past the list, cannot disagree.
        assert_eq!(check.start_rate(vid(2), None), None);
        assert_eq!(check.start_rate(vid(7), Some(9.0)), None);
    }

    #[test]
    fn without_settings_nothing_is_expected() {
        let check = SettingsCheck::new(&RunSettings::default(), &logs(&[1, 5]));
        assert!(check.missing().is_empty());
        assert!(rules(&check).is_empty());
        assert_eq!(check.start_rate(vid(1), Some(3.0)), None);
        // An empty `rates` list pins no rate.
        let drawn = SettingsCheck::new(&settings(Some(2), Some(Vec::new())), &logs(&[1, 2]));
        assert!(rules(&drawn).is_empty());
        assert_eq!(drawn.start_rate(vid(1), Some(3.0)), None);
    }

    #[test]
    fn a_missing_log_is_one_finding_with_its_traffic() {
        let check = SettingsCheck::new(&settings(Some(3), None), &logs(&[1, 3]));
        assert_eq!(check.missing(), &[vid(2)]);
        let absent = BTreeMap::from([(
            vid(2),
            AbsentPeer {
                sent_to: 14,
                received_from: 1,
            },
        )]);
        let findings = check.findings(&absent);
        assert_eq!(
            findings,
            vec![SettingsFinding {
                key: VM_COUNT,
                rule: Rule::MissingVmLog,
                detail: "settings.toml says 3 VMs but vm-2.log is missing; 14 messages to vm 2 \
                         and 1 receive from it could not be matched"
                    .into()
            }]
        );
        assert_eq!(
            rules(&check)[0].1,
            "settings.toml says 3 VMs but vm-2.log is missing; no message to or from vm 2 was logged"
        );
    }

    #[test]
    fn an_extra_log_is_named_as_it_is_on_disk() {
        let mut run = logs(&[1, 2, 4]);
        run.push(VmLog::at(Path::new("run/vm-5.log.gz")).unwrap());
        let check = SettingsCheck::new(&settings(Some(2), None), &run);
        assert_eq!(
            rules(&check),
            vec![
                (
                    Rule::ExtraVmLog,
                    "vm-4.log is in the run directory but settings.toml says 2 VMs".into()
                ),
                (
                    Rule::ExtraVmLog,
                    "vm-5.log.gz is in the run directory but settings.toml says 2 VMs".into()
                )
            ]
        );
    }

    #[test]
    fn rates_must_match_the_start_lines_and_the_vm_count() {
        let check = SettingsCheck::new(
            &settings(Some(3), Some(vec![1.0, 4.0, 6.0])),
            &logs(&[1, 2, 3]),
        );
        assert_eq!(
            check.start_rate(vid(3), Some(5.0)).as_deref(),
            Some("start line says rate 5 but settings.toml pins rate 6 for vm 3")
        );
        let short = SettingsCheck::new(&settings(Some(3), Some(vec![1.0, 4.0])), &logs(&[1, 2, 3]));
        assert_eq!(
            rules(&short),
            vec![(
                Rule::RateMismatch,
                "settings.toml pins 2 rates for 3 VMs".into()
            )]
        );
    }
}
