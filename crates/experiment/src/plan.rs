//! The plan of a study: named variations of the settings, each run for a number of trials.
//!
//! A plan is TOML. Its top level holds the study's `name`, the `seed` every trial seed derives
//! from, the default `trials` per variation, a default `runtime`, and an optional `base` table
//! of settings for every variation; each `[[variation]]` has a `name`, optional `trials` and
//! `description`, and any settings keys, spelled as in `Settings.toml`.
//!
//! Every trial's settings are built here, once, by layering tables (built-in defaults < plan
//! `runtime` < `base` < variation) through the settings' own gate ([`Layers::set`], which
//! checks each value's kind exactly as for `Settings.toml` and names its line) and checking them
//! with [`Settings::resolve`], so a bad plan fails before anything runs, in one line naming the
//! variation, the key and the line. The plan does not read `Settings.toml` or the environment: a
//! study is repeated from its plan alone. A key replaces the value beneath it whole: a
//! variation's `faults` list is its entire fault schedule, and `faults = []` clears the base's.
//!
//! Seeds: trial `k` of *every* variation gets the same seed, derived from the plan seed and
//! `k`. Variations are then compared on common random numbers (the same die rolls and, where
//! the rate range is the same, the same rates), which makes their differences sharper than
//! independent seeds would.

use lc_core::model::derive_seed;
use lc_settings::names::{BASE_PORT, LOG_DIR, RUNTIME, SEED};
use lc_settings::{
    key_named, line_of, one_line, show, Layers, Origin, RunSpec, Seed, Settings, KEYS, MAX_SEED,
};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use toml::Spanned;

/// Most trials a variation may ask for.
pub(crate) const MAX_TRIALS: i64 = 1000;
/// Trials per variation when the plan does not say.
pub(crate) const DEFAULT_TRIALS: i64 = 3;

/// Settings keys a plan may not set, and why: the study decides them.
const DECIDED_BY_STUDY: [(&str, &str); 3] = [
    (SEED, "trial seeds derive from the plan's top-level `seed`"),
    (
        BASE_PORT,
        "every trial listens on free ports (base_port 0) so trials can run side by side",
    ),
    (
        LOG_DIR,
        "trials write under the study directory (use --log-dir)",
    ),
];

/// A checked plan: every trial's settings resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) seed: u64,
    /// The `base` table as written, `key = value` each.
    pub(crate) base: Vec<String>,
    pub(crate) variations: Vec<Variation>,
}

/// One named set of settings and its trials.
#[derive(Debug, Clone, PartialEq)]
pub struct Variation {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    /// Its own overrides as written, `key = value` each.
    pub(crate) overrides: Vec<String>,
    pub(crate) trials: Vec<Trial>,
}

/// One run of a variation.
#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    pub(crate) variation: String,
    /// 1-based within its variation.
    pub(crate) number: u32,
    /// The settings to run, seed fixed and `base_port` 0; the study adds `log_dir`.
    pub(crate) settings: Settings,
    /// The same, checked: rates drawn, runtime known.
    pub(crate) spec: RunSpec,
}

impl Trial {
    /// The directory under the study's `trials/` that holds this trial's run directory:
    /// `<variation>-<number>`.
    pub(crate) fn dir_name(&self) -> String {
        format!("{}-{}", self.variation, self.number)
    }
}

impl Plan {
    /// All trials, variation by variation.
    pub(crate) fn trials(&self) -> impl Iterator<Item = &Trial> {
        self.variations.iter().flat_map(|v| &v.trials)
    }
}

/// Why a plan cannot be run, in one line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("{0}")]
    Syntax(String),
    #[error("`{key}` = {value}{} is not allowed: {allowed}", on_line(line))]
    Invalid {
        key: &'static str,
        value: String,
        /// The value's line in the plan.
        line: Option<usize>,
        allowed: String,
    },
    #[error("{0}")]
    Setting(String),
    #[error("`base`: {0}")]
    Base(String),
    #[error("variation `{variation}`: {detail}")]
    Variation { variation: String, detail: String },
}

/// ` (line 3)`, or nothing.
fn on_line(line: &Option<usize>) -> String {
    line.map(|l| format!(" (line {l})")).unwrap_or_default()
}

/// A table of a plan as written, each value with its place in the text.
type Entries = BTreeMap<String, Spanned<toml::Value>>;

/// The plan file as written; variations stay tables until their keys are checked.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    name: Option<String>,
    description: Option<String>,
    seed: Spanned<toml::Value>,
    trials: Option<Spanned<toml::Value>>,
    runtime: Option<Spanned<toml::Value>>,
    #[serde(default)]
    base: Entries,
    #[serde(default, rename = "variation")]
    variations: Vec<Entries>,
}

/// The seed of trial `number` (1-based) of every variation.
pub fn trial_seed(plan_seed: u64, number: u32) -> u64 {
    // Run seeds must fit a TOML integer (settings.toml repeats the run).
    derive_seed(plan_seed, u64::from(number)) & MAX_SEED
}

/// Parses and checks a plan; nothing runs.
pub fn parse(text: &str) -> Result<Plan, PlanError> {
    let file: PlanFile =
        toml::from_str(text).map_err(|e| PlanError::Syntax(one_line(&e.to_string())))?;
    let invalid = |key, value: &Spanned<toml::Value>, allowed| PlanError::Invalid {
        key,
        value: show(value.get_ref()),
        line: Some(line_of(text, value.span().start)),
        allowed,
    };
    let seed = match file.seed.get_ref() {
        toml::Value::Integer(seed) if *seed >= 0 => *seed as u64,
        _ => {
            return Err(invalid(
                "seed",
                &file.seed,
                format!("a whole number from 0 to {MAX_SEED}"),
            ))
        }
    };
    let default_trials = match &file.trials {
        None => DEFAULT_TRIALS as u32,
        Some(trials) => {
            trials_of(trials.get_ref()).map_err(|allowed| invalid("trials", trials, allowed))?
        }
    };
    if file.variations.is_empty() {
        return Err(PlanError::Invalid {
            key: "variation",
            value: "[]".into(),
            line: None,
            allowed: "at least one [[variation]] with a name".into(),
        });
    }

    let mut common = Layers::default();
    if let Some(runtime) = &file.runtime {
        set(&mut common, RUNTIME, runtime, text).map_err(PlanError::Setting)?;
    }
    for (key, value) in &file.base {
        set(&mut common, key, value, text).map_err(PlanError::Base)?;
    }

    let mut names = BTreeSet::new();
    let mut variations = Vec::new();
    for (index, table) in file.variations.iter().enumerate() {
        let variation = parse_variation(table, index, &common, default_trials, seed, text)?;
        if !names.insert(variation.name.clone()) {
            return Err(PlanError::Variation {
                variation: variation.name,
                detail: "the name is used by an earlier variation; names must be unique".into(),
            });
        }
        variations.push(variation);
    }
    Ok(Plan {
        name: file.name.unwrap_or_else(|| "study".into()),
        description: file.description,
        seed,
        base: written(file.base.iter()),
        variations,
    })
}

/// Keys that are not settings, in a variation table.
const VARIATION_KEYS: [&str; 3] = ["name", "trials", "description"];

fn parse_variation(
    table: &Entries,
    index: usize,
    common: &Layers,
    default_trials: u32,
    plan_seed: u64,
    text: &str,
) -> Result<Variation, PlanError> {
    let unnamed = || format!("#{}", index + 1);
    let at = |value: &Spanned<toml::Value>| format!("line {}", line_of(text, value.span().start));
    let name = match table.get("name") {
        Some(name) => match name.get_ref() {
            toml::Value::String(name) => name.clone(),
            other => {
                return Err(PlanError::Variation {
                    variation: unnamed(),
                    detail: format!(
                        "`name` = {} ({}) is not allowed: a string",
                        show(other),
                        at(name)
                    ),
                })
            }
        },
        None => {
            return Err(PlanError::Variation {
                variation: unnamed(),
                detail: "`name` is missing".into(),
            })
        }
    };
    let fail = |detail: String| PlanError::Variation {
        variation: name.clone(),
        detail,
    };
    if let Err(allowed) = check_name(&name) {
        return Err(fail(format!("`name` = {name:?} is not allowed: {allowed}")));
    }
    let description = match table.get("description") {
        None => None,
        Some(description) => match description.get_ref() {
            toml::Value::String(text) => Some(text.clone()),
            other => {
                return Err(fail(format!(
                    "`description` = {} ({}) is not allowed: a string",
                    show(other),
                    at(description)
                )))
            }
        },
    };
    let trials = match table.get("trials") {
        None => default_trials,
        Some(trials) => trials_of(trials.get_ref()).map_err(|allowed| {
            fail(format!(
                "`trials` = {} ({}) is not allowed: {allowed}",
                show(trials.get_ref()),
                at(trials)
            ))
        })?,
    };

    let own: Vec<(&String, &Spanned<toml::Value>)> = table
        .iter()
        .filter(|(key, _)| !VARIATION_KEYS.contains(&key.as_str()))
        .collect();
    let mut merged = common.clone();
    for (key, value) in &own {
        set(&mut merged, key, value, text).map_err(fail)?;
    }
    let settings = merged.settings();

    let trials = (1..=trials)
        .map(|number| {
            let settings = Settings {
                seed: Seed::Fixed(trial_seed(plan_seed, number)),
                base_port: 0,
                ..settings.clone()
            };
            let spec = settings
                .resolve(|| 0)
                .map_err(|e| fail(merged.locate(e).to_string()))?;
            Ok(Trial {
                variation: name.clone(),
                number,
                settings,
                spec,
            })
        })
        .collect::<Result<Vec<_>, PlanError>>()?;
    Ok(Variation {
        name,
        description,
        overrides: written(own.into_iter()),
        trials,
    })
}

/// Lays `key` of a plan over `layers`: a setting the study does not decide, through the same
/// gate as a settings file (its kind checked, its line named). Ranges are checked later, by
/// `Settings::resolve`.
fn set(
    layers: &mut Layers,
    key: &str,
    value: &Spanned<toml::Value>,
    text: &str,
) -> Result<(), String> {
    if let Some((_, why)) = DECIDED_BY_STUDY.iter().find(|(k, _)| *k == key) {
        return Err(format!("`{key}` cannot be set in a plan: {why}"));
    }
    if key_named(key).is_none() {
        return Err(format!(
            "unknown setting `{key}` (settings are {})",
            plan_keys().join(", ")
        ));
    }
    let origin = Origin::Line(line_of(text, value.span().start));
    layers
        .set(key, value.get_ref().clone(), origin)
        .map_err(|e| e.to_string())
}

/// The settings a plan may set, in alphabetical order.
fn plan_keys() -> Vec<&'static str> {
    let mut keys: Vec<&str> = KEYS
        .iter()
        .map(|k| k.name)
        .filter(|k| !DECIDED_BY_STUDY.iter().any(|(d, _)| d == k))
        .collect();
    keys.sort_unstable();
    keys
}

fn trials_of(value: &toml::Value) -> Result<u32, String> {
    match value {
        toml::Value::Integer(n) if (1..=MAX_TRIALS).contains(n) => Ok(*n as u32),
        _ => Err(format!("a whole number of trials from 1 to {MAX_TRIALS}")),
    }
}

/// Variation names become directory names and CSV cells.
fn check_name(name: &str) -> Result<(), &'static str> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err("1 to 64 letters, digits, `-`, `_` or `.`, not starting with `.`")
    }
}

fn written<'a>(
    entries: impl Iterator<Item = (&'a String, &'a Spanned<toml::Value>)>,
) -> Vec<String> {
    entries
        .map(|(key, value)| format!("{key} = {}", show(value.get_ref())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lc_core::vm_id::VmId;
    use lc_settings::names;

    const TWO: &str = r#"
        name = "two"
        seed = 7
        trials = 2
        runtime = 2
        base = { vm_count = 3 }
        [[variation]]
        name = "baseline"
        [[variation]]
        name = "narrow"
        trials = 3
        rate_min = 3
        rate_max = 4
    "#;

    fn error_of(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn layers_defaults_base_and_variation() {
        let plan = parse(TWO).unwrap();
        assert_eq!(plan.variations.len(), 2);
        let [baseline, narrow] = &plan.variations[..] else {
            unreachable!()
        };
        assert_eq!(baseline.trials.len(), 2);
        assert_eq!(narrow.trials.len(), 3);
        assert_eq!(narrow.overrides, vec!["rate_max = 4", "rate_min = 3"]);
        for trial in plan.trials() {
            assert_eq!(trial.spec.runtime.as_secs_f64(), 2.0);
            assert_eq!(trial.spec.base_port, 0);
            assert_eq!(trial.spec.internal_probability, 0.7);
        }
        assert!(narrow.trials[0]
            .spec
            .rates
            .iter()
            .all(|r| (3..=4).contains(r)));
    }

    #[test]
    fn a_variation_may_leave_vector_clocks_out() {
        let plan =
            parse(&TWO.replace("rate_max = 4", "rate_max = 4\nvector_clocks = false")).unwrap();
        let [baseline, narrow] = &plan.variations[..] else {
            unreachable!()
        };
        assert!(baseline.trials.iter().all(|t| t.spec.vector_clocks));
        assert!(narrow.trials.iter().all(|t| !t.spec.vector_clocks));
        assert!(narrow
            .overrides
            .contains(&"vector_clocks = false".to_string()));
        let error = error_of(&TWO.replace("rate_max = 4", "vector_clocks = \"no\""));
        assert!(error.contains("`vector_clocks` = \"no\""), "{error}");
    }

    #[test]
    fn trial_k_of_every_variation_shares_its_seed() {
        let plan = parse(TWO).unwrap();
        let seeds = |v: &Variation| v.trials.iter().map(|t| t.spec.seed).collect::<Vec<_>>();
        let (a, b) = (seeds(&plan.variations[0]), seeds(&plan.variations[1]));
        assert_eq!(a[..], b[..2]);
        assert_ne!(a[0], a[1]);
        assert_eq!(
            parse(TWO).unwrap(),
            plan,
            "the same plan gives the same trials"
        );
        let other = parse(&TWO.replace("seed = 7", "seed = 8")).unwrap();
        assert_ne!(other.variations[0].trials[0].spec.seed, a[0]);
    }

    #[test]
    fn a_bad_setting_names_the_variation_and_the_key() {
        let error = error_of(&TWO.replace("rate_max = 4", "rate_max = 4\nvm_count = 1"));
        assert!(
            error.starts_with("variation `narrow`: setting `vm_count` = 1"),
            "{error}"
        );
        let error = error_of(&TWO.replace("rate_min = 3", "rate_mn = 3"));
        assert!(
            error.starts_with("variation `narrow`: unknown setting `rate_mn`"),
            "{error}"
        );
        let error = error_of(&TWO.replace("trials = 3", "trials = 0"));
        assert!(
            error.starts_with("variation `narrow`: `trials` = 0"),
            "{error}"
        );
        let error = error_of(&TWO.replace("rate_min = 3", "rate_min = \"three\""));
        assert!(
            error.contains("`narrow`: setting `rate_min` = \"three\""),
            "{error}"
        );
        let error = error_of(&TWO.replace("rate_min = 3", "rate_min = 5"));
        assert!(
            error.contains("`narrow`: setting `rate_min` = 5 (line 12) is not allowed"),
            "{error}"
        );
        let error = error_of(&TWO.replace("rate_min = 3", "seed = 3"));
        assert!(error.contains("`narrow`: `seed` cannot be set"), "{error}");
        for error in [
            error_of(&TWO.replace("vm_count = 3", "vm_cont = 3")),
            error_of(&TWO.replace("name = \"narrow\"", "name = \"baseline\"")),
            error_of(&TWO.replace("name = \"narrow\"", "name = \"a b\"")),
            error_of(&TWO.replace("name = \"narrow\"", "")),
            error_of(&TWO.replace("seed = 7", "sed = 7")),
            error_of(&TWO.replace("trials = 2", "trials = -1")),
            error_of("seed = 1"),
            error_of("seed = [1"),
        ] {
            assert!(!error.contains('\n'), "{error}");
        }
    }

    #[test]
    fn plan_values_are_checked_like_the_settings_file_and_named_by_line() {
        let error = error_of(&TWO.replace("rate_min = 3", "vm_count = 3.5"));
        assert_eq!(
            error,
            "variation `narrow`: setting `vm_count` = 3.5 (line 12) is not allowed: \
             a whole number of VMs from 2 to 128"
        );
        let error = error_of(&TWO.replace("rate_min = 3", "virtual_time = \"yes\""));
        assert!(
            error.ends_with("`virtual_time` = \"yes\" (line 12) is not allowed: true or false"),
            "{error}"
        );
        let error = error_of(&TWO.replace("rate_min = 3", "rates = [1.4, 2.6, 3]"));
        assert!(
            error.contains("`rates` = [1.4, 2.6, 3] (line 12)"),
            "{error}"
        );
        let error = error_of(&TWO.replace("rate_max = 4", "rate_max = 2"));
        assert!(
            error.contains("`rate_min` = 3 (line 12) is not allowed: at most rate_max (2)"),
            "{error}"
        );
        let error = error_of(&TWO.replace("seed = 7", "seed = 7.5"));
        assert_eq!(
            error,
            "`seed` = 7.5 (line 3) is not allowed: a whole number from 0 to 9223372036854775807"
        );
        let error = error_of(&TWO.replace("trials = 2", "trials = 2.5"));
        assert!(
            error.starts_with("`trials` = 2.5 (line 4) is not allowed"),
            "{error}"
        );
        let error = error_of(&TWO.replace("runtime = 2", "runtime = true"));
        assert!(error.contains("`runtime` = true (line 5)"), "{error}");
        let error = error_of(&TWO.replace("vm_count = 3", "vm_count = 3.0"));
        assert!(
            error.starts_with("`base`: setting `vm_count` = 3"),
            "{error}"
        );
    }

    #[test]
    fn every_plan_setting_is_known() {
        for key in [
            names::RATES,
            names::RATE_MIN,
            names::RATE_MAX,
            names::INTERNAL_PROBABILITY,
            names::VM_COUNT,
        ] {
            assert!(plan_keys().contains(&key), "{key}");
        }
        for key in [
            names::RUNTIME,
            names::LATENCY,
            names::LATENCY_LINKS,
            names::VIRTUAL_TIME,
            names::FAULTS,
        ] {
            assert!(plan_keys().contains(&key), "{key}");
        }
    }

    /// A study of faults: a base schedule, a variation that adds to it, one that clears it.
    const FAULT_STUDY: &str = r#"
        name = "fault-study"
        seed = 3
        trials = 2
        runtime = 30
        [base]
        faults = [{ kind = "pause", vm = 2, from_s = 5, until_s = 10 }]
        [[variation]]
        name = "paused"
        [[variation]]
        name = "clear"
        faults = []
        [[variation]]
        name = "partitioned"
        faults = [
            { kind = "partition", groups = [[1], [2, 3]], from_s = 2, until_s = 8, mode = "drop" },
            { kind = "crash", vm = 3, at_s = 20, restart_s = 25, clock = "reset" },
        ]
        [[variation]]
        name = "crashed"
        [[variation.faults]]
        kind = "crash"
        vm = 1
        at_s = 12.5
    "#;

    #[test]
    fn a_variation_sets_or_clears_the_faults_like_any_setting() {
        use lc_core::faults::{Fault, PartitionMode, RestartClock};
        use std::time::Duration;
        let plan = parse(FAULT_STUDY).unwrap();
        let faults_of = |name: &str| {
            let variation = plan.variations.iter().find(|v| v.name == name).unwrap();
            assert_eq!(variation.trials.len(), 2);
            let faults = variation.trials[0].spec.faults.faults().to_vec();
            for trial in &variation.trials {
                assert_eq!(trial.spec.faults.faults(), faults, "every trial the same");
                assert_eq!(trial.settings.faults.len(), faults.len());
            }
            faults
        };
        let s = Duration::from_secs_f64;
        assert_eq!(
            faults_of("paused"),
            [Fault::Pause {
                vm: VmId::literal(2),
                from: s(5.0),
                until: s(10.0)
            }]
        );
        assert_eq!(faults_of("clear"), []);
        assert_eq!(
            faults_of("partitioned"),
            [
                Fault::Partition {
                    groups: vec![
                        vec![VmId::literal(1)],
                        vec![VmId::literal(2), VmId::literal(3)],
                    ],
                    from: s(2.0),
                    until: s(8.0),
                    mode: PartitionMode::Drop,
                },
                Fault::Crash {
                    vm: VmId::literal(3),
                    at: s(20.0),
                    restart: Some(s(25.0)),
                    clock: RestartClock::Reset,
                },
            ]
        );
        assert_eq!(
            faults_of("crashed"),
            [Fault::Crash {
                vm: VmId::literal(1),
                at: s(12.5),
                restart: None,
                clock: RestartClock::Keep,
            }]
        );
        let clear = &plan.variations[1];
        assert_eq!(clear.overrides, vec!["faults = []"]);
    }

    #[test]
    fn a_bad_fault_in_a_plan_names_the_variation_the_entry_the_key_and_the_line() {
        let error = error_of(&FAULT_STUDY.replace("vm = 3, at_s = 20", "vm = 4, at_s = 20"));
        assert_eq!(
            error,
            "variation `partitioned`: setting `faults` entry 2 (crash): `vm` = 4 (line 15) is \
             not allowed: a VM id from 1 to 3 (vm_count)"
        );
        let error = error_of(&FAULT_STUDY.replace("at_s = 12.5", "at_s = 30"));
        assert!(
            error.starts_with(
                "variation `crashed`: setting `faults` entry 1 (crash): `at_s` = 30 (line 21) is \
                 not allowed: less than runtime (30)"
            ),
            "{error}"
        );
        let error = error_of(&FAULT_STUDY.replace("mode = \"drop\"", "mode = \"lose\""));
        assert!(
            error.starts_with(
                "variation `partitioned`: setting `faults` entry 1 (partition): `mode` = \"lose\" \
                 (line 15) is not allowed: \"hold\" or \"drop\""
            ),
            "{error}"
        );
        // A base schedule the variations keep is checked in every one of them.
        let error =
            error_of(&FAULT_STUDY.replace("from_s = 5, until_s = 10", "from_s = 30, until_s = 40"));
        assert!(
            error.starts_with(
                "variation `paused`: setting `faults` entry 1 (pause): `from_s` = 30 (line 7)"
            ),
            "{error}"
        );
        let error = error_of(&FAULT_STUDY.replace("until_s = 10 }", "until_s = 10, at_s = 1 }"));
        assert!(
            error.starts_with(
                "variation `paused`: setting `faults` entry 1 (pause): `at_s` = 1 (line 7) is \
                 not allowed: not a key of a pause"
            ),
            "{error}"
        );
        // A value of the wrong kind is refused where it is written.
        let error = error_of(&FAULT_STUDY.replace("vm = 2, from_s = 5", "vm = \"2\", from_s = 5"));
        assert!(
            error.starts_with("`base`: setting `faults` entry 1 (pause): `vm` = \"2\" (line 7)"),
            "{error}"
        );
        assert!(!error.contains('\n'), "{error}");
    }

    #[test]
    fn the_shipped_plans_are_valid() {
        for text in [
            include_str!("../../../experiments/assignment.toml"),
            include_str!("../../../experiments/virtual-long.toml"),
        ] {
            let plan = parse(text).unwrap();
            assert!(plan.variations.len() >= 5);
        }
    }
}
