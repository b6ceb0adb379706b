//! Settings: where they come from, and the checks they pass before a run.
//!
//! Three layers, each overriding the one before: `Settings.toml` (or the file
//! given with `--config`), environment variables `LOGICAL_CLOCKS_<KEY>`, and
//! command-line flags. [`Settings`] is what a user writes, with wide types so
//! a bad value can be reported in the user's own terms; [`RunSpec`] is what a
//! run uses, built only by [`Settings::resolve`], so nothing downstream ever
//! sees a value that was not checked. The prefix is not `LC_`: the locale
//! variables (`LC_ALL`, `LC_CTYPE`) would collide with it.
//!
//! The `config` crate reads the settings file and the environment; its
//! conversions are loose (it rounds `3.5` to 4, reads `true` as 1 and `"yes"`
//! as true), so nothing is converted by it: every value, whatever its source,
//! reaches [`Settings`] through one gate, [`Layers::set`], which checks the
//! value's kind *before* anything converts it. The settings file and plan
//! files come to it as TOML values (by the kind TOML gave them), environment
//! variables and flags as text read as the exact kind its key takes. Each
//! value remembers where it came from ([`Origin`]), so an error names the file
//! and line, the variable or the flag.
//!
//! - `keys.rs`: the settings table: every key once, with its kind, range,
//!   default, help text, variable and flag; the kind checks. Adding a setting
//!   is an entry there, a field of [`Settings`] and of [`RunSpec`] (with its
//!   check in [`Settings::resolve`] and its line in
//!   [`RunSpec::effective_settings`]), and the code that uses it.
//! - `show.rs`: values as a user writes them, for every error.
//! - `layers.rs`: the sources, layered, each value with its origin.
//! - `faults.rs`: the `[[faults]]` entries: their shape, their checks against
//!   the run and each other, and how a run writes them back.

pub mod cluster;
pub mod credentials;
mod faults;
mod keys;
mod layers;
mod show;

pub(crate) use faults::FaultSetting;
pub use keys::{flag_help, key_named, names, settings_help, Flag, Key, KEYS};
pub use layers::line_of;
pub use layers::{Layers, Origin};

use keys::{key, rate_allowed};
use names::*;
pub use show::compact;
pub use show::show;
use show::show_delay;

use lc_core::faults::FaultPlan;
use lc_core::latency::{Delay, Latency};
use lc_core::model::{draw_rates, VmId};
use lc_core::schedule::draw_tick_leads;
pub(crate) use lc_core::schedule::TickPhase;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The environment-variable prefix: `LOGICAL_CLOCKS_VM_COUNT=5`.
pub(crate) const ENV_PREFIX: &str = "LOGICAL_CLOCKS";
/// The settings file read from the working directory when no `--config` is given.
pub(crate) const DEFAULT_FILE: &str = "Settings.toml";

pub const MAX_VMS: i64 = 128;
pub(crate) const MAX_RATE: i64 = 10_000;
pub(crate) const MAX_RUNTIME_SECS: f64 = 7.0 * 24.0 * 3600.0;
/// Longest a log line may wait in memory.
pub(crate) const MAX_LOG_FLUSH_MS: i64 = 60_000;

/// The run seed: fixed, or picked at start (and then recorded in the run's
/// `settings.toml`, so every run can be repeated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Seed {
    #[default]
    Random,
    Fixed(u64),
}

/// Everything a user can set, as written in `Settings.toml`. Read whole:
/// every source is layered over the table's defaults first ([`Layers`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub vm_count: i64,
    pub runtime: f64,
    pub base_port: i64,
    pub host: String,
    pub log_dir: PathBuf,
    pub seed: Seed,
    pub rate_min: i64,
    pub rate_max: i64,
    pub rates: Vec<i64>,
    pub internal_probability: f64,
    pub vector_clocks: bool,
    pub virtual_time: bool,
    pub latency: Delay,
    pub latency_links: Vec<LinkLatency>,
    pub log_flush_ms: i64,
    pub tick_phase: TickPhase,
    /// Faults injected on purpose, in order: fault `k` is entry `k`.
    pub faults: Vec<FaultSetting>,
}

/// A per-link latency override: messages from `from` to `to` take `delay`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkLatency {
    pub(crate) from: i64,
    pub(crate) to: i64,
    pub(crate) delay: Delay,
}

impl Default for Settings {
    /// The settings table's defaults.
    fn default() -> Self {
        Settings::deserialize(toml::Value::Table(keys::default_table()))
            .expect("the settings table's defaults are settings")
    }
}

/// A run's checked settings, with the seed and every VM's rate decided.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    pub vm_count: u32,
    pub runtime: Duration,
    pub host: IpAddr,
    /// 0 lets the OS pick a free port for every VM.
    pub base_port: u16,
    pub log_dir: PathBuf,
    pub seed: u64,
    /// Ticks per second of VM `i + 1`.
    pub rates: Vec<u32>,
    /// The range the rates were drawn from (kept for the record).
    pub rate_range: (u32, u32),
    pub internal_probability: f64,
    /// Every VM keeps a vector clock, logs it as `vc` and sends it with
    /// every message.
    pub vector_clocks: bool,
    /// Run on a paused tokio clock with frames moved in-process.
    pub virtual_time: bool,
    pub latency: Latency,
    /// Longest a log line may wait in memory; zero writes every line at once.
    pub log_flush: Duration,
    pub tick_phase: TickPhase,
    /// How far before its first period each VM's schedule begins (VM `i + 1`
    /// has `tick_leads[i]`): its first tick falls `period - lead` after the
    /// start. All zero when the phases are aligned.
    pub tick_leads: Vec<Duration>,
    /// Faults injected on purpose (`[[faults]]`), checked against the run.
    pub faults: FaultPlan,
    /// Set when this process is one node of a cluster, running one VM of
    /// the run ([`crate::cluster`]); `None` runs every VM here.
    pub node: Option<crate::cluster::NodeSpec>,
}

impl RunSpec {
    /// The VMs this process runs: every VM, or a node's own.
    pub fn local_vms(&self) -> Vec<VmId> {
        match &self.node {
            Some(node) => vec![node.id],
            None => VmId::all(self.vm_count).collect(),
        }
    }

    /// The port VM `id` listens on (0: any free port).
    pub fn port_of(&self, id: VmId) -> u16 {
        if self.base_port == 0 {
            0
        } else {
            self.base_port + id.index() as u16
        }
    }

    /// The settings that repeat this run exactly: seed and rates pinned.
    pub fn effective_settings(&self) -> Settings {
        Settings {
            vm_count: self.vm_count.into(),
            runtime: self.runtime.as_secs_f64(),
            base_port: self.base_port.into(),
            host: self.host.to_string(),
            log_dir: self.log_dir.clone(),
            seed: Seed::Fixed(self.seed),
            rate_min: self.rate_range.0.into(),
            rate_max: self.rate_range.1.into(),
            rates: self.rates.iter().map(|&r| r.into()).collect(),
            internal_probability: self.internal_probability,
            vector_clocks: self.vector_clocks,
            virtual_time: self.virtual_time,
            latency: self.latency.default,
            latency_links: self
                .latency
                .links
                .iter()
                .map(|(&(from, to), &delay)| LinkLatency {
                    from: from.get().into(),
                    to: to.get().into(),
                    delay,
                })
                .collect(),
            log_flush_ms: self.log_flush.as_millis() as i64,
            tick_phase: self.tick_phase,
            faults: self
                .faults
                .faults()
                .iter()
                .map(FaultSetting::from)
                .collect(),
        }
    }
}

/// Overrides of single settings, for library callers (the study sets each
/// trial's `log_dir` and `virtual_time`). The command line goes through
/// [`Layers::set_text`] instead, so a flag is checked like any other source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    pub runtime: Option<f64>,
    pub vm_count: Option<i64>,
    pub base_port: Option<i64>,
    pub seed: Option<u64>,
    pub log_dir: Option<PathBuf>,
    /// `--virtual-time` turns the mode on; absent leaves the setting alone.
    pub virtual_time: bool,
}

/// ` (in Settings.toml, line 3)`, or nothing when the origin is not known.
fn at(origin: &Option<Origin>) -> String {
    origin
        .as_ref()
        .map(|origin| format!(" ({origin})"))
        .unwrap_or_default()
}

/// A setting that cannot be used, in one line the user can act on.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SettingsError {
    #[error("cannot read config file {}: {reason}", path.display())]
    Read { path: PathBuf, reason: String },
    #[error("config file {}: {detail}", path.display())]
    Syntax { path: PathBuf, detail: String },
    #[error("cannot read the environment: {reason}")]
    Environment { reason: String },
    #[error(
        "unknown setting `{key}` ({origin}); the settings are {}",
        known_keys()
    )]
    Unknown { key: String, origin: Origin },
    #[error("setting `{key}` = {value}{} is not allowed: {allowed}", at(origin))]
    Invalid {
        key: &'static str,
        value: String,
        allowed: String,
        /// Where the value came from, when known.
        origin: Option<Origin>,
    },
    #[error(
        "setting `faults` entry {entry}{}: {what}{} is not allowed: {allowed}",
        kind.map(|k| format!(" ({k})")).unwrap_or_default(),
        at(origin)
    )]
    InvalidFault {
        /// The entry's number from 1, which is the fault's number in the logs.
        entry: usize,
        /// Its kind, when it is one.
        kind: Option<&'static str>,
        /// The offending key and its value as written (`` `vm` = 9 ``), or what is missing.
        what: String,
        allowed: String,
        /// Where the `faults` setting came from, when known.
        origin: Option<Origin>,
    },
}

impl SettingsError {
    /// The setting a bad value is of.
    pub fn key(&self) -> Option<&'static str> {
        match self {
            SettingsError::Invalid { key, .. } => Some(key),
            SettingsError::InvalidFault { .. } => Some(FAULTS),
            _ => None,
        }
    }

    /// This error, saying that its value came from `from` unless it already says where.
    pub(crate) fn coming_from(mut self, from: Option<&Origin>) -> Self {
        if let SettingsError::Invalid { origin, .. } | SettingsError::InvalidFault { origin, .. } =
            &mut self
        {
            if origin.is_none() {
                *origin = from.cloned();
            }
        }
        self
    }
}

fn known_keys() -> String {
    KEYS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
}

fn invalid(key: &'static str, value: impl ToString, allowed: impl Into<String>) -> SettingsError {
    SettingsError::Invalid {
        key,
        value: value.to_string(),
        allowed: allowed.into(),
        origin: None,
    }
}

/// Folds a multi-line message (TOML syntax errors span several) into one line.
pub fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.chars().all(|c| c == '|' || c == '^' || c == ' '))
        .collect::<Vec<_>>()
        .join(" ")
}

impl Settings {
    /// Reads the settings file and the environment over the defaults
    /// (see [`Layers::load`]).
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        Layers::load(file).map(|layers| layers.settings())
    }

    /// These settings with the overrides applied on top.
    pub fn with_overrides(&self, overrides: &Overrides) -> Settings {
        let mut settings = self.clone();
        if let Some(runtime) = overrides.runtime {
            settings.runtime = runtime;
        }
        if let Some(vm_count) = overrides.vm_count {
            settings.vm_count = vm_count;
        }
        if let Some(base_port) = overrides.base_port {
            settings.base_port = base_port;
        }
        if let Some(seed) = overrides.seed {
            settings.seed = Seed::Fixed(seed);
        }
        if let Some(log_dir) = &overrides.log_dir {
            settings.log_dir = log_dir.clone();
        }
        settings.virtual_time |= overrides.virtual_time;
        settings
    }

    /// Checks every value and decides the seed and rates.
    /// `pick_seed` supplies a seed when the settings leave it random.
    pub fn resolve(&self, pick_seed: impl FnOnce() -> u64) -> Result<RunSpec, SettingsError> {
        let vm_count = self.check_vm_count()?;
        in_span(RUNTIME, self.runtime)?;
        self.check_base_port(vm_count)?;
        let host: IpAddr = self
            .host
            .parse()
            .map_err(|_| invalid(HOST, format!("{:?}", self.host), allowed(HOST)))?;
        if self.log_dir.as_os_str().is_empty() {
            return Err(invalid(LOG_DIR, "\"\"", allowed(LOG_DIR)));
        }
        self.check_rates(vm_count)?;
        in_span(INTERNAL_PROBABILITY, self.internal_probability)?;
        let latency = self.latency(vm_count)?;
        in_range(LOG_FLUSH_MS, self.log_flush_ms)?;
        let faults = faults::resolve(&self.faults, vm_count, self.runtime)?;
        let seed = match self.seed {
            Seed::Fixed(seed) if seed > MAX_SEED => return Err(invalid(SEED, seed, allowed(SEED))),
            Seed::Fixed(seed) => seed,
            Seed::Random => pick_seed(),
        };
        let rates = if self.rates.is_empty() {
            draw_rates(
                seed,
                vm_count as usize,
                self.rate_min as u32,
                self.rate_max as u32,
            )
        } else {
            self.rates.iter().map(|&r| r as u32).collect()
        };
        let tick_leads = draw_tick_leads(seed, &rates, self.tick_phase);
        Ok(RunSpec {
            vm_count,
            runtime: Duration::from_secs_f64(self.runtime),
            host,
            base_port: self.base_port as u16,
            log_dir: self.log_dir.clone(),
            seed,
            rates,
            rate_range: (self.rate_min as u32, self.rate_max as u32),
            internal_probability: self.internal_probability,
            vector_clocks: self.vector_clocks,
            virtual_time: self.virtual_time,
            latency,
            log_flush: Duration::from_millis(self.log_flush_ms as u64),
            tick_phase: self.tick_phase,
            tick_leads,
            faults,
            node: None,
        })
    }

    fn check_vm_count(&self) -> Result<u32, SettingsError> {
        in_range(VM_COUNT, self.vm_count)?;
        Ok(self.vm_count as u32)
    }

    /// 0, or a first port that leaves room for every VM's.
    fn check_base_port(&self, vm_count: u32) -> Result<(), SettingsError> {
        let last_port = self.base_port + i64::from(vm_count) - 1;
        let ports_fit =
            (1..=i64::from(u16::MAX)).contains(&self.base_port) && last_port <= i64::from(u16::MAX);
        if self.base_port != 0 && !ports_fit {
            return Err(invalid(
                BASE_PORT,
                self.base_port,
                format!(
                    "0 (any free ports) or a port from 1 to {} so that all {vm_count} VMs' ports \
                     (base_port .. base_port + vm_count - 1) fit under 65536",
                    i64::from(u16::MAX) - i64::from(vm_count) + 1
                ),
            ));
        }
        Ok(())
    }

    /// The rate range, and the explicit rates if any: one per VM, each in range.
    fn check_rates(&self, vm_count: u32) -> Result<(), SettingsError> {
        in_range(RATE_MIN, self.rate_min)?;
        in_range(RATE_MAX, self.rate_max)?;
        if self.rate_min > self.rate_max {
            return Err(invalid(
                RATE_MIN,
                self.rate_min,
                format!("at most rate_max ({})", self.rate_max),
            ));
        }
        if !self.rates.is_empty() && self.rates.len() != vm_count as usize {
            return Err(invalid(
                RATES,
                format!("{:?}", self.rates),
                format!(
                    "empty (draw from rate_min..=rate_max) or exactly vm_count ({vm_count}) rates"
                ),
            ));
        }
        let each = key(RATES).range().unwrap_or(1..=MAX_RATE);
        if self.rates.iter().any(|r| !each.contains(r)) {
            return Err(invalid(
                RATES,
                format!("{:?}", self.rates),
                format!("each rate {}", rate_allowed()),
            ));
        }
        Ok(())
    }

    /// The delay on every link, and the per-link overrides, each between two
    /// VMs of the run and given once.
    fn latency(&self, vm_count: u32) -> Result<Latency, SettingsError> {
        self.latency
            .validate()
            .map_err(|why| invalid(LATENCY, show_delay(&self.latency), why))?;
        let mut latency = Latency {
            default: self.latency,
            ..Latency::default()
        };
        // Entry number (from 1) of each link's override, to name both of a pair.
        let mut entries = BTreeMap::new();
        for (index, link) in self.latency_links.iter().enumerate() {
            let written = format!("from = {}, to = {}", link.from, link.to);
            let entry = index + 1;
            let ends = VmId::in_run(link.from, vm_count).zip(VmId::in_run(link.to, vm_count));
            let Some((from, to)) = ends.filter(|(from, to)| from != to) else {
                return Err(invalid(
                    LATENCY_LINKS,
                    format!("[.., {{ {written}, .. }}]"),
                    format!(
                        "entry {entry}: links between two different VM ids from 1 to {vm_count}"
                    ),
                ));
            };
            link.delay.validate().map_err(|why| {
                let delay = show_delay(&link.delay);
                invalid(
                    LATENCY_LINKS,
                    format!("[.., {{ {written}, delay = {delay} }}]"),
                    format!("entry {entry}: {why}"),
                )
            })?;
            if let Some(first) = entries.insert((link.from, link.to), entry) {
                return Err(invalid(
                    LATENCY_LINKS,
                    format!("entries {first} and {entry}, both {written}"),
                    "at most one entry per link from one VM to another",
                ));
            }
            latency.links.insert((from, to), link.delay);
        }
        Ok(latency)
    }
}

/// What the setting `name` accepts, from the table.
fn allowed(name: &str) -> String {
    key(name).allowed()
}

/// Checks a whole-number setting against its range in the table.
fn in_range(name: &'static str, value: i64) -> Result<(), SettingsError> {
    match key(name).range() {
        Some(range) if !range.contains(&value) => Err(invalid(name, value, allowed(name))),
        _ => Ok(()),
    }
}

/// Checks a number setting against its range in the table.
fn in_span(name: &'static str, value: f64) -> Result<(), SettingsError> {
    if key(name).takes_number(value) {
        Ok(())
    } else {
        Err(invalid(name, compact(value), allowed(name)))
    }
}

/// The largest seed: TOML integers are signed 64-bit, and a run's seed must
/// round-trip through its `settings.toml`.
pub const MAX_SEED: u64 = i64::MAX as u64;

impl Serialize for Seed {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Seed::Random => serializer.serialize_str("random"),
            Seed::Fixed(seed) => serializer.serialize_u64(*seed),
        }
    }
}

impl<'de> Deserialize<'de> for Seed {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SeedVisitor;
        const EXPECTED: &str = "\"random\" or a whole number from 0 to 9223372036854775807";

        impl serde::de::Visitor<'_> for SeedVisitor {
            type Value = Seed;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Seed, E> {
                if v <= MAX_SEED {
                    Ok(Seed::Fixed(v))
                } else {
                    Err(E::custom(format!("seed {v} is too large: {EXPECTED}")))
                }
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Seed, E> {
                u64::try_from(v)
                    .map(Seed::Fixed)
                    .map_err(|_| E::custom(format!("seed {v} is negative: {EXPECTED}")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Seed, E> {
                match v.trim() {
                    "random" => Ok(Seed::Random),
                    number => match number.parse::<u64>() {
                        Ok(n) => self.visit_u64(n),
                        Err(_) => Err(E::custom(format!("seed {v:?} is not {EXPECTED}"))),
                    },
                }
            }
        }
        deserializer.deserialize_any(SeedVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(settings: &Settings) -> Result<RunSpec, SettingsError> {
        settings.resolve(|| 99)
    }

    fn key_of(result: Result<RunSpec, SettingsError>) -> &'static str {
        match result {
            Err(SettingsError::Invalid { key, .. }) => key,
            other => panic!("expected an invalid setting, got {other:?}"),
        }
    }

    #[test]
    fn defaults_are_the_assignment() {
        let spec = resolve(&Settings::default()).unwrap();
        assert_eq!(spec.vm_count, 3);
        assert_eq!(spec.runtime, Duration::from_secs(60));
        assert_eq!(spec.seed, 99);
        assert!(spec.rates.iter().all(|r| (1..=6).contains(r)));
        assert_eq!(spec.internal_probability, 0.7);
    }

    #[test]
    fn each_bad_value_names_its_key() {
        type Breakage = fn(&mut Settings);
        let cases: Vec<(&str, Breakage)> = vec![
            (VM_COUNT, |s| s.vm_count = 1),
            (VM_COUNT, |s| s.vm_count = MAX_VMS + 1),
            (RUNTIME, |s| s.runtime = 0.0),
            (RUNTIME, |s| s.runtime = f64::NAN),
            (BASE_PORT, |s| s.base_port = 70_000),
            (BASE_PORT, |s| s.base_port = 65_534),
            (BASE_PORT, |s| s.base_port = -1),
            (HOST, |s| s.host = "localhost:80".into()),
            (RATE_MIN, |s| s.rate_min = 0),
            (RATE_MAX, |s| s.rate_max = MAX_RATE + 1),
            (RATE_MIN, |s| s.rate_min = 5),
            (RATES, |s| s.rates = vec![1, 2]),
            (RATES, |s| s.rates = vec![1, 0, 2]),
            (INTERNAL_PROBABILITY, |s| s.internal_probability = 1.5),
            (LOG_DIR, |s| s.log_dir = "".into()),
            (LATENCY, |s| s.latency = Delay::Constant { ms: -3.0 }),
            (LOG_FLUSH_MS, |s| s.log_flush_ms = -1),
            (LATENCY_LINKS, |s| {
                s.latency_links = vec![LinkLatency {
                    from: 1,
                    to: 9,
                    delay: Delay::None,
                }]
            }),
        ];
        for (key, break_it) in cases {
            let mut settings = Settings {
                rate_max: 3,
                ..Settings::default()
            };
            break_it(&mut settings);
            assert_eq!(key_of(resolve(&settings)), key, "{settings:?}");
        }
    }

    #[test]
    fn explicit_rates_and_seed_are_kept() {
        let settings = Settings {
            rates: vec![6, 1, 3],
            seed: Seed::Fixed(5),
            ..Settings::default()
        };
        let spec = resolve(&settings).unwrap();
        assert_eq!((spec.seed, spec.rates.clone()), (5, vec![6, 1, 3]));
    }

    #[test]
    fn effective_settings_repeat_the_run() {
        let spec = resolve(&Settings::default()).unwrap();
        let written = toml::to_string(&spec.effective_settings()).unwrap();
        let read: Settings = toml::from_str(&written).unwrap();
        assert_eq!(resolve(&read).unwrap(), spec);
    }

    #[test]
    fn vector_clocks_are_kept_by_default_and_recorded_either_way() {
        for kept in [true, false] {
            let settings = Settings {
                vector_clocks: kept,
                ..Settings::default()
            };
            let spec = resolve(&settings).unwrap();
            assert_eq!(spec.vector_clocks, kept);
            let written = toml::to_string(&spec.effective_settings()).unwrap();
            assert!(
                written.contains(&format!("\nvector_clocks = {kept}\n")),
                "{written}"
            );
        }
        assert!(resolve(&Settings::default()).unwrap().vector_clocks);
    }

    #[test]
    fn seed_accepts_random_numbers_and_numeric_strings_only() {
        let parse = |text: &str| {
            let table: toml::Table = toml::from_str(&format!("{SEED} = {text}")).unwrap();
            Seed::deserialize(table[SEED].clone())
        };
        assert_eq!(parse("\"random\"").unwrap(), Seed::Random);
        assert_eq!(parse("42").unwrap(), Seed::Fixed(42));
        assert_eq!(parse("\"42\"").unwrap(), Seed::Fixed(42));
        assert!(parse("-3").is_err());
        assert!(parse("\"soon\"").is_err());
    }

    #[test]
    fn numbers_in_errors_are_written_compactly() {
        let settings = Settings {
            runtime: 1e300,
            ..Settings::default()
        };
        let error = resolve(&settings).unwrap_err().to_string();
        assert!(
            error.contains("`runtime` = 1e300 is not allowed"),
            "{error}"
        );
        assert!(error.len() < 200, "{error}");
        assert_eq!(compact(-5.0), "-5");
        assert_eq!(compact(0.25), "0.25");
        assert_eq!(compact(1e-9), "1e-9");
    }

    #[test]
    fn delay_errors_are_in_the_settings_words() {
        let settings = Settings {
            latency: Delay::Constant { ms: -5.0 },
            ..Settings::default()
        };
        let error = resolve(&settings).unwrap_err().to_string();
        assert_eq!(
            error,
            "setting `latency` = { kind = \"constant\", ms = -5 } is not allowed: \
             kind = \"constant\" needs ms from 0 to 3600000 (milliseconds)"
        );
    }

    #[test]
    fn a_link_given_twice_is_refused_naming_both_entries() {
        let link = |from, to, ms| LinkLatency {
            from,
            to,
            delay: Delay::Constant { ms },
        };
        let settings = Settings {
            latency_links: vec![link(1, 2, 5.0), link(2, 1, 5.0), link(1, 2, 9.0)],
            ..Settings::default()
        };
        let error = resolve(&settings).unwrap_err().to_string();
        assert!(
            error.starts_with("setting `latency_links` = entries 1 and 3, both from = 1, to = 2"),
            "{error}"
        );
        let one_way_each = Settings {
            latency_links: vec![link(1, 2, 5.0), link(2, 1, 5.0)],
            ..Settings::default()
        };
        assert!(resolve(&one_way_each).is_ok());
    }

    #[test]
    fn the_shipped_settings_file_holds_the_defaults_and_a_working_faults_example() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(DEFAULT_FILE);
        let mut layers = Layers::default();
        layers.read_file(&path).unwrap();
        assert_eq!(
            layers.settings(),
            Settings {
                seed: Seed::Random,
                ..Settings::default()
            }
        );
        // The commented example above `faults = []`, uncommented, is the schedule.
        let text = std::fs::read_to_string(&path).unwrap();
        let example: String = text
            .lines()
            .skip_while(|line| !line.ends_with("Replace [] with a list such as"))
            .skip(1)
            .take_while(|line| line.starts_with('#'))
            .map(|line| format!("{}\n", &line[1..]))
            .collect();
        let example: toml::Table = toml::from_str(&format!("{FAULTS} = {example}")).unwrap();
        let mut layers = Layers::default();
        let origin = Origin::Line(1);
        layers.set(FAULTS, example[FAULTS].clone(), origin).unwrap();
        let spec = layers.resolve(|| 1).unwrap();
        let kinds: Vec<&str> = spec.faults.faults().iter().map(|f| f.kind()).collect();
        assert_eq!(kinds, ["partition", "pause", "crash"]);
    }

    #[test]
    fn multi_line_errors_fold_into_one_line() {
        let folded = one_line("TOML parse error at line 1, column 5\n  |\n1 | a = \n  |     ^\nstring values must be quoted\n");
        assert!(!folded.contains('\n'));
        assert!(folded.contains("line 1") && folded.contains("must be quoted"));
    }
}
