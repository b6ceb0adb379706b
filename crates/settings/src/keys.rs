//! The settings table: every key declared once, with its name, the kind of
//! value it takes, its range, its default, its help text, its environment
//! variable and its flag. `--help`, the settings help, the environment
//! names, the run's flags, the errors, the range checks and every reader of
//! a settings source (file, environment, flags, plan files, a run's own
//! `settings.toml`) read this table, so a key is described in one place.
//!
//! A value is checked for its *kind* here, before anything converts it: a
//! whole number where a whole number is expected, `true` or `false` where a
//! boolean is. Text from environment variables and flags is read as exactly
//! the kind its key takes ([`from_text`]), so `3.5` never becomes a VM count
//! and `yes` never becomes `true`. Ranges are checked later, by
//! [`Settings::resolve`](super::Settings::resolve), with the same words.
//!
//! The table is written through a macro only so that each entry also yields
//! its name as a constant ([`names`]): code and tests name a key through it,
//! never by a second spelling of the word.

use super::show::show;
use super::{
    SettingsError, DEFAULT_FILE, ENV_PREFIX, MAX_LOG_FLUSH_MS, MAX_RATE, MAX_RUNTIME_SECS,
    MAX_SEED, MAX_VMS,
};
use lc_core::latency::{DELAY_KINDS, MAX_DELAY_MS};
use lc_core::schedule::TickPhase;
use std::ops::RangeInclusive;

/// What a setting's value must be before its range is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A TOML integer; as text, digits with an optional sign (`3.5` is not one).
    WholeNumber,
    /// An integer or a float.
    Number,
    /// `true` or `false`; as text exactly those words (`yes` is neither).
    Boolean,
    Text,
    /// `"random"` or a whole number from 0 to [`MAX_SEED`].
    Seed,
    /// A list of whole numbers; as text, comma-separated.
    WholeNumbers,
    /// A delay table; as text, a TOML inline table.
    Delay,
    /// A list of per-link delay tables; as text, a TOML inline array.
    Links,
    /// A list of fault tables; as text, a TOML inline array.
    Faults,
    /// One of a few words, the same as text.
    Choice(&'static [&'static str]),
}

/// The command-line flag that also sets a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag {
    /// As typed: `--vm-count`.
    pub long: &'static str,
    /// The value's placeholder in `--help` (none for a switch).
    pub value_name: &'static str,
    /// Its place among the run's flags in `--help`, from 0 (`--help` lists
    /// them in this order, which is not the table's).
    pub position: usize,
}

impl Flag {
    /// The flag without its dashes, as clap names it: `vm-count`.
    pub fn name(&self) -> &'static str {
        self.long.trim_start_matches('-')
    }
}

/// One setting as a user meets it: its key, what it is for, and the kind of
/// value it takes. The `--help` text, the errors and the checks all read it.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    pub name: &'static str,
    /// The flag that also sets it, if any.
    pub flag: Option<Flag>,
    pub(crate) about: &'static str,
    kind: Kind,
    /// The built-in default, written as in an environment variable.
    default: &'static str,
    /// What it accepts, in the user's words.
    allowed: fn() -> String,
    /// The values it takes, for a plain number key.
    range: Range,
}

/// The values a plain number key takes, checked by
/// [`Settings::resolve`](super::Settings::resolve) with the key's own words.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Range {
    /// Any value of its kind, or a check of its own (ports, rates against `vm_count`).
    Any,
    /// Whole numbers from `.0` to `.1`.
    Whole(i64, i64),
    /// Finite numbers up to `high`, from `low` (or above it, when `low_open`).
    Number { low: f64, low_open: bool, high: f64 },
}

/// Declares the table and, from the same entries, the name constants.
macro_rules! settings_table {
    ($($konst:ident = $name:literal { $($field:ident: $value:expr,)* })*) => {
        /// Each setting's name, for the code that names one (`names::VM_COUNT`).
        pub mod names {
            $(pub const $konst: &str = $name;)*
        }

        /// Every setting, in the order of `Settings.toml`.
        pub const KEYS: &[Key] = &[$(Key { name: $name, $($field: $value,)* }),*];
    };
}

settings_table! {
    VM_COUNT = "vm_count" {
        flag: Some(Flag { long: "--vm-count", value_name: "N", position: 1 }),
        about: "Number of VMs",
        kind: Kind::WholeNumber,
        default: "3",
        allowed: || format!("a whole number of VMs from 2 to {MAX_VMS}"),
        range: Range::Whole(2, MAX_VMS),
    }
    RUNTIME = "runtime" {
        flag: Some(Flag { long: "--runtime", value_name: "SECONDS", position: 0 }),
        about: "Run length",
        kind: Kind::Number,
        default: "60.0",
        allowed: || format!(
            "a number of seconds, more than 0 and at most {MAX_RUNTIME_SECS} (one week)"
        ),
        range: Range::Number { low: 0.0, low_open: true, high: MAX_RUNTIME_SECS },
    }
    BASE_PORT = "base_port" {
        flag: Some(Flag { long: "--base-port", value_name: "PORT", position: 2 }),
        about: "First VM's port",
        kind: Kind::WholeNumber,
        default: "10000",
        allowed: || "0 (any free ports) or a whole number from 1 to 65535 (VM i listens on \
             base_port + i - 1)"
            .into(),
        range: Range::Any,
    }
    HOST = "host" {
        flag: None,
        about: "Address the VMs listen on",
        kind: Kind::Text,
        default: "127.0.0.1",
        allowed: || "an IP address such as 127.0.0.1 or ::1".into(),
        range: Range::Any,
    }
    LOG_DIR = "log_dir" {
        flag: Some(Flag { long: "--log-dir", value_name: "DIR", position: 5 }),
        about: "Directory that receives one sub-directory per run",
        kind: Kind::Text,
        default: "logs",
        allowed: || "a directory path".into(),
        range: Range::Any,
    }
    SEED = "seed" {
        flag: Some(Flag { long: "--seed", value_name: "N|random", position: 4 }),
        about: "Seed for every random choice, rates included",
        kind: Kind::Seed,
        default: "random",
        allowed: || format!("\"random\" or a whole number from 0 to {MAX_SEED}"),
        range: Range::Any,
    }
    RATE_MIN = "rate_min" {
        flag: None,
        about: "Lowest clock rate a VM may draw",
        kind: Kind::WholeNumber,
        default: "1",
        allowed: rate_allowed,
        range: Range::Whole(1, MAX_RATE),
    }
    RATE_MAX = "rate_max" {
        flag: None,
        about: "Highest clock rate a VM may draw",
        kind: Kind::WholeNumber,
        default: "6",
        allowed: rate_allowed,
        range: Range::Whole(1, MAX_RATE),
    }
    RATES = "rates" {
        flag: None,
        about: "Explicit per-VM clock rates",
        kind: Kind::WholeNumbers,
        default: "",
        allowed: || format!(
            "a list of exactly vm_count whole numbers of ticks per second from 1 to \
             {MAX_RATE}, or [] to draw them from rate_min..=rate_max"
        ),
        range: Range::Whole(1, MAX_RATE),
    }
    INTERNAL_PROBABILITY = "internal_probability" {
        flag: None,
        about: "Chance that an idle tick is internal",
        kind: Kind::Number,
        default: "0.7",
        allowed: || "a probability from 0.0 to 1.0 (0.7 is the assignment's die)".into(),
        range: Range::Number { low: 0.0, low_open: false, high: 1.0 },
    }
    VECTOR_CLOCKS = "vector_clocks" {
        flag: None,
        about: "Keep a vector clock in every VM: a `vc` key on every event line, one on every \
                message",
        kind: Kind::Boolean,
        default: "true",
        allowed: boolean_allowed,
        range: Range::Any,
    }
    VIRTUAL_TIME = "virtual_time" {
        flag: Some(Flag { long: "--virtual-time", value_name: "", position: 6 }),
        about: "Run on simulated time: an hour in well under a second, the same logs for the \
                same seed",
        kind: Kind::Boolean,
        default: "false",
        allowed: boolean_allowed,
        range: Range::Any,
    }
    LATENCY = "latency" {
        flag: None,
        about: "Message delay on every link",
        kind: Kind::Delay,
        default: "{ kind = \"none\" }",
        allowed: delay_allowed,
        range: Range::Any,
    }
    LATENCY_LINKS = "latency_links" {
        flag: None,
        about: "Per-link delay overrides",
        kind: Kind::Links,
        default: "[]",
        allowed: || "a list of { from = <VM id>, to = <VM id>, delay = <a delay as for \
             latency> }, at most one per link"
            .into(),
        range: Range::Any,
    }
    LOG_FLUSH_MS = "log_flush_ms" {
        flag: None,
        about: "Longest a log line waits in memory",
        kind: Kind::WholeNumber,
        default: "200",
        allowed: || format!(
            "a whole number of milliseconds from 0 (write every line at once) to \
             {MAX_LOG_FLUSH_MS}"
        ),
        range: Range::Whole(0, MAX_LOG_FLUSH_MS),
    }
    TICK_PHASE = "tick_phase" {
        flag: None,
        about: "Where each VM's first tick falls within its first period",
        kind: Kind::Choice(&TickPhase::NAMES),
        default: "random",
        allowed: || "\"random\" (each VM's first tick at its own offset within its first \
             period, drawn from the seed, as on machines started at different moments) or \
             \"aligned\" (every VM's first tick one period after the common start)"
            .into(),
        range: Range::Any,
    }
    FAULTS = "faults" {
        flag: None,
        about: "Faults injected on purpose: partitions, pauses and crashes, numbered from 1",
        kind: Kind::Faults,
        default: "[]",
        allowed: super::faults::allowed,
        range: Range::Any,
    }
}

/// The setting called `name`, if there is one.
pub fn key_named(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// The setting called `name`, which the code itself names (through [`names`]).
pub(crate) fn key(name: &str) -> &'static Key {
    key_named(name).unwrap_or_else(|| panic!("`{name}` is not in the settings table"))
}

impl Key {
    /// What the setting accepts, in the user's words; the same sentence ends a
    /// wrong-kind error and an out-of-range error.
    pub(crate) fn allowed(&self) -> String {
        (self.allowed)()
    }

    /// The whole numbers a plain whole-number key takes.
    pub(crate) fn range(&self) -> Option<RangeInclusive<i64>> {
        match self.range {
            Range::Whole(low, high) => Some(low..=high),
            Range::Any | Range::Number { .. } => None,
        }
    }

    /// Whether a number is one this key takes: always, for a key without a number range.
    pub(crate) fn takes_number(&self, value: f64) -> bool {
        match self.range {
            Range::Number {
                low,
                low_open,
                high,
            } => value.is_finite() && (value > low || (!low_open && value == low)) && value <= high,
            Range::Any | Range::Whole(..) => true,
        }
    }

    /// Whether it is a switch: a flag that sets it needs no value.
    pub fn is_switch(&self) -> bool {
        self.kind == Kind::Boolean
    }

    /// Whether a value given as text may start with `-` (a negative number
    /// must reach the range check, not be taken for a flag).
    pub fn takes_numbers(&self) -> bool {
        matches!(self.kind, Kind::WholeNumber | Kind::Number | Kind::Seed)
    }

    /// The environment variable that sets it: `LOGICAL_CLOCKS_VM_COUNT`.
    pub(crate) fn env_var(&self) -> String {
        format!("{ENV_PREFIX}_{}", self.name.to_uppercase())
    }

    /// Its built-in default as a value.
    pub(crate) fn default_value(&self) -> toml::Value {
        from_text(self, self.default)
            .unwrap_or_else(|| panic!("the default of `{}` is not of its kind", self.name))
    }

    /// Its built-in default, as written in `Settings.toml`.
    pub(crate) fn default_text(&self) -> String {
        show(&self.default_value())
    }

    /// How its value is written in an environment variable or a flag, where
    /// that differs from the settings file.
    pub(super) fn as_text(&self) -> Option<&'static str> {
        match self.kind {
            Kind::WholeNumbers => Some("comma-separated, e.g. 1,3,6"),
            Kind::Delay => Some("a TOML inline table, e.g. { kind = \"constant\", ms = 50 }"),
            Kind::Links | Kind::Faults => Some("a TOML inline array of inline tables"),
            _ => None,
        }
    }
}

pub(super) fn rate_allowed() -> String {
    format!("a whole number of ticks per second from 1 to {MAX_RATE}")
}

fn boolean_allowed() -> String {
    "true or false".into()
}

fn delay_allowed() -> String {
    let kinds: Vec<String> = DELAY_KINDS
        .iter()
        .map(|(kind, fields)| {
            let fields: String = fields.iter().map(|f| format!(", {f} = <ms>")).collect();
            format!("{{ kind = \"{kind}\"{fields} }}")
        })
        .collect();
    format!(
        "one of {}, in milliseconds from 0 to {MAX_DELAY_MS}",
        kinds.join(", ")
    )
}

/// The `--help` line of the flag that sets `key`: what it is, what it accepts,
/// its default and its other sources.
pub fn flag_help(key: &Key) -> String {
    if key.is_switch() {
        // A switch: the flag turns it on, the file and the variable say true or false.
        return format!(
            "{} [off by default; `{} = true` in the settings file, or {}=true]",
            key.about,
            key.name,
            key.env_var()
        );
    }
    format!(
        "{}: {} [default {}; setting `{}` in the settings file, or {}]",
        key.about,
        key.allowed(),
        key.default_text(),
        key.name,
        key.env_var()
    )
}

/// The end of `--help`: every setting with its variable, default and what it accepts.
pub fn settings_help() -> String {
    let mut text = format!(
        "Settings: built-in defaults, then the settings file ({DEFAULT_FILE} in the working \
         directory, or --config), then environment variables {ENV_PREFIX}_<KEY>, then flags, \
         each overriding the one before. Every value is checked for its kind and range before \
         anything runs.\n"
    );
    for key in KEYS {
        let flag = key
            .flag
            .map(|f| format!(", {}", f.long))
            .unwrap_or_default();
        text.push_str(&format!(
            "\n  {} ({}{flag}), default {}\n      {}: {}\n",
            key.name,
            key.env_var(),
            key.default_text(),
            key.about,
            key.allowed()
        ));
        if let Some(as_text) = key.as_text() {
            text.push_str(&format!("      in a variable or flag: {as_text}\n"));
        }
    }
    text
}

/// Checks that `value` is of the kind `key` takes, before anything converts it.
pub(super) fn check_kind(key: &Key, value: &toml::Value) -> Result<(), SettingsError> {
    if key.kind == Kind::Faults {
        return super::faults::check_shape(key.name, value);
    }
    kind_fits(key, value).map_err(|allowed| SettingsError::Invalid {
        key: key.name,
        value: show(value),
        allowed,
        origin: None,
    })
}

/// Checks that `value` is of the kind `key` takes; the error is what is allowed.
fn kind_fits(key: &Key, value: &toml::Value) -> Result<(), String> {
    use toml::Value as V;
    let ok = match (key.kind, value) {
        (Kind::WholeNumber, V::Integer(_)) => true,
        (Kind::Number, V::Integer(_) | V::Float(_)) => true,
        (Kind::Boolean, V::Boolean(_)) => true,
        (Kind::Text, V::String(_)) => true,
        (Kind::Choice(words), V::String(s)) => words.contains(&s.as_str()),
        (Kind::Seed, V::Integer(n)) => (0..=MAX_SEED as i64).contains(n),
        // A number in quotes is text, as it is for every other whole-number key.
        (Kind::Seed, V::String(s)) => s == "random",
        (Kind::WholeNumbers, V::Array(items)) => items.iter().all(toml::Value::is_integer),
        (Kind::Delay, value) => {
            return check_delay(value).map_err(|why| why.unwrap_or(key.allowed()))
        }
        (Kind::Links, value) => {
            return check_links(value).map_err(|why| format!("{why}; {}", key.allowed()))
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(key.allowed())
    }
}

/// The key naming a delay's kind, as `lc_core::latency::Delay`'s serde tag spells it.
const DELAY_KIND_KEY: &str = "kind";

/// A per-link override's fields: the two VM ids, then the delay table.
const LINK_FIELDS: [&str; 3] = ["from", "to", "delay"];

/// A delay table: a known `kind` and exactly its fields, each a number.
/// `Err(None)`: not even a table with a known kind (the general text says it).
fn check_delay(value: &toml::Value) -> Result<(), Option<String>> {
    let table = value.as_table().ok_or(None)?;
    let kind = table
        .get(DELAY_KIND_KEY)
        .and_then(toml::Value::as_str)
        .ok_or(None)?;
    let (kind, fields) = DELAY_KINDS.iter().find(|(k, _)| *k == kind).ok_or(None)?;
    let needs = || {
        if fields.is_empty() {
            format!("kind = \"{kind}\" takes no other fields")
        } else {
            format!(
                "kind = \"{kind}\" needs {}, in milliseconds from 0 to {MAX_DELAY_MS}",
                fields.join(" and ")
            )
        }
    };
    let fits = table.iter().all(|(name, value)| {
        name == DELAY_KIND_KEY
            || (fields.contains(&name.as_str()) && (value.is_integer() || value.is_float()))
    });
    if fits && fields.iter().all(|f| table.contains_key(*f)) {
        Ok(())
    } else {
        Err(Some(needs()))
    }
}

/// A list of `{ from, to, delay }` tables; the error names the entry.
fn check_links(value: &toml::Value) -> Result<(), String> {
    let entries = value.as_array().ok_or("not a list")?;
    for (index, entry) in entries.iter().enumerate() {
        let n = index + 1;
        let table = entry
            .as_table()
            .ok_or(format!("entry {n} is not a table"))?;
        let [from, to, delay_field] = LINK_FIELDS;
        for field in [from, to] {
            if !table.get(field).is_some_and(toml::Value::is_integer) {
                return Err(format!("entry {n} needs `{field}`, a VM id"));
            }
        }
        let delay = table
            .get(delay_field)
            .ok_or(format!("entry {n} needs `{delay_field}`"))?;
        check_delay(delay).map_err(|why| match why {
            Some(why) => format!("entry {n}: {why}"),
            None => format!("entry {n} has no valid delay"),
        })?;
        if let Some(extra) = table.keys().find(|k| !LINK_FIELDS.contains(&k.as_str())) {
            return Err(format!("entry {n} has an unknown field `{extra}`"));
        }
    }
    Ok(())
}

/// Text from an environment variable or a flag, read as the exact kind `key`
/// takes: `None` when it is not one (`3.5` is not a whole number, `yes` is not
/// a boolean).
pub(super) fn from_text(key: &Key, text: &str) -> Option<toml::Value> {
    use toml::Value as V;
    let trimmed = text.trim();
    let whole = |t: &str| t.trim().parse::<i64>().ok().map(V::Integer);
    match key.kind {
        Kind::WholeNumber => whole(trimmed),
        Kind::Number => whole(trimmed).or_else(|| trimmed.parse::<f64>().ok().map(V::Float)),
        Kind::Boolean => match trimmed {
            "true" => Some(V::Boolean(true)),
            "false" => Some(V::Boolean(false)),
            _ => None,
        },
        Kind::Text => Some(V::String(text.to_string())),
        Kind::Choice(_) => Some(V::String(trimmed.to_string())),
        Kind::Seed if trimmed == "random" => Some(V::String("random".into())),
        Kind::Seed => whole(trimmed),
        Kind::WholeNumbers if trimmed.is_empty() => Some(V::Array(Vec::new())),
        Kind::WholeNumbers => trimmed
            .split(',')
            .map(whole)
            .collect::<Option<_>>()
            .map(V::Array),
        Kind::Delay | Kind::Links | Kind::Faults => {
            toml::from_str::<toml::Table>(&format!("value = {trimmed}"))
                .ok()?
                .remove("value")
        }
    }
}

/// The built-in defaults as a TOML table, one entry per key: the table's own.
pub(super) fn default_table() -> toml::Table {
    KEYS.iter()
        .map(|key| (key.name.to_string(), key.default_value()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use toml::Value as V;

    use super::names::*;
    use crate::Settings;
    use lc_core::latency::Delay;

    #[test]
    fn text_reads_as_exactly_the_kind_of_its_key() {
        let read = |name: &str, text: &str| from_text(key(name), text);
        assert_eq!(read(VM_COUNT, "4"), Some(V::Integer(4)));
        assert_eq!(read(VM_COUNT, " 4 "), Some(V::Integer(4)));
        assert_eq!(read(VM_COUNT, "3.5"), None);
        assert_eq!(read(VM_COUNT, "true"), None);
        assert_eq!(read(VM_COUNT, "4e0"), None);
        assert_eq!(read(RUNTIME, "10"), Some(V::Integer(10)));
        assert_eq!(read(RUNTIME, "2.5"), Some(V::Float(2.5)));
        assert_eq!(read(RUNTIME, "-5"), Some(V::Integer(-5)));
        assert_eq!(read(RUNTIME, "soon"), None);
        assert_eq!(read(VIRTUAL_TIME, "true"), Some(V::Boolean(true)));
        assert_eq!(read(VIRTUAL_TIME, "false"), Some(V::Boolean(false)));
        for not_a_boolean in ["yes", "on", "1", "TRUE", ""] {
            assert_eq!(read(VIRTUAL_TIME, not_a_boolean), None, "{not_a_boolean}");
        }
        assert_eq!(read(SEED, "random"), Some(V::String("random".into())));
        assert_eq!(read(SEED, "42"), Some(V::Integer(42)));
        assert_eq!(read(SEED, "soon"), None);
        let rates = |r: &[i64]| Some(V::Array(r.iter().map(|&r| V::Integer(r)).collect()));
        assert_eq!(read(RATES, "1,3,6"), rates(&[1, 3, 6]));
        assert_eq!(read(RATES, "1, 3"), rates(&[1, 3]));
        assert_eq!(read(RATES, ""), rates(&[]));
        assert_eq!(read(RATES, "1,2.6,3"), None);
        assert_eq!(read(HOST, " ::1"), Some(V::String(" ::1".into())));
        let latency = read(LATENCY, "{ kind = \"constant\", ms = 5 }").unwrap();
        assert_eq!(latency["ms"], V::Integer(5));
        assert_eq!(read(LATENCY, "constant"), None);
    }

    #[test]
    fn vector_clocks_take_true_or_false_and_are_on_by_default() {
        let vc = key(VECTOR_CLOCKS);
        assert_eq!(from_text(vc, "false"), Some(V::Boolean(false)));
        for not_a_boolean in ["no", "off", "0", "False"] {
            assert_eq!(from_text(vc, not_a_boolean), None, "{not_a_boolean}");
        }
        assert!(check_kind(vc, &V::Integer(0)).is_err());
        assert_eq!(vc.default_text(), "true");
        assert_eq!(vc.env_var(), "LOGICAL_CLOCKS_VECTOR_CLOCKS");
    }

    #[test]
    fn values_of_the_wrong_kind_are_refused_before_conversion() {
        let refused = |name: &str, value: V| check_kind(key(name), &value).is_err();
        assert!(refused(VM_COUNT, V::Float(3.5)));
        assert!(refused(VM_COUNT, V::Float(3.0)));
        assert!(refused(VM_COUNT, V::Boolean(true)));
        assert!(refused(VM_COUNT, V::String("3".into())));
        assert!(refused(VIRTUAL_TIME, V::String("yes".into())));
        assert!(refused(VIRTUAL_TIME, V::Integer(1)));
        assert!(refused(RATES, V::Array(vec![V::Integer(1), V::Float(2.6)])));
        assert!(refused(RUNTIME, V::Boolean(true)));
        assert!(refused(SEED, V::Integer(-4)));
        assert!(refused(HOST, V::Integer(127)));
        assert!(!refused(RUNTIME, V::Integer(10)));
        assert!(!refused(INTERNAL_PROBABILITY, V::Integer(1)));
        assert!(!refused(SEED, V::String("random".into())));
    }

    #[test]
    fn the_key_table_matches_the_settings() {
        let defaults = default_table();
        let names: Vec<&str> = KEYS.iter().map(|k| k.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        let written = toml::Table::try_from(Settings::default()).unwrap();
        let fields: Vec<&str> = written.keys().map(String::as_str).collect();
        assert_eq!(sorted, fields, "KEYS must list every field of Settings");
        assert_eq!(
            defaults, written,
            "Settings::default() is the table's defaults"
        );
        for key in KEYS {
            assert_eq!(check_kind(key, &defaults[key.name]), Ok(()), "{}", key.name);
            assert!(!key.allowed().is_empty());
        }
    }

    #[test]
    fn every_kind_of_delay_as_the_errors_describe_it_is_a_delay() {
        for (kind, fields) in DELAY_KINDS {
            let mut table = toml::Table::new();
            table.insert("kind".into(), V::String(kind.into()));
            for field in fields {
                table.insert(field.to_string(), V::Integer(5));
            }
            let value = V::Table(table.clone());
            assert_eq!(check_delay(&value), Ok(()), "{kind}");
            let delay = Delay::deserialize(value).unwrap();
            assert_eq!(delay.validate(), Ok(()), "{kind}");
            if let Some(field) = fields.first() {
                table.remove(*field);
                let why = check_delay(&V::Table(table)).unwrap_err().unwrap();
                assert!(why.contains(field), "{why}");
            }
        }
    }

    #[test]
    fn flags_have_distinct_places_and_match_their_keys() {
        let mut places: Vec<usize> = KEYS
            .iter()
            .filter_map(|k| k.flag)
            .map(|f| f.position)
            .collect();
        places.sort_unstable();
        places.dedup();
        assert_eq!(
            places.len(),
            KEYS.iter().filter(|k| k.flag.is_some()).count()
        );
        for key in KEYS {
            if let Some(flag) = key.flag {
                assert_eq!(flag.name().replace('-', "_"), key.name);
                assert_eq!(flag.value_name.is_empty(), key.is_switch(), "{}", key.name);
            }
        }
    }

    #[test]
    fn help_gives_ranges_and_variables() {
        let help = flag_help(key(VM_COUNT));
        assert!(help.contains(&format!("from 2 to {MAX_VMS}")), "{help}");
        assert!(help.contains("LOGICAL_CLOCKS_VM_COUNT"), "{help}");
        assert!(help.contains("default 3"), "{help}");
        let all = settings_help();
        for key in KEYS {
            assert!(all.contains(&key.env_var()), "{}", key.name);
            assert!(all.contains(&key.allowed()), "{}", key.name);
        }
    }
}
