//! Settings layered from their sources, each value remembering where it came from.
//!
//! Built-in defaults, then the settings file, then `LOGICAL_CLOCKS_*`
//! environment variables, then flags (a plan file layers its own tables the
//! same way). The file is read once, as spanned TOML: each value reaches the
//! one gate, [`Layers::set`], with the kind TOML gave it and its line, so an
//! error names it. The `config` crate reads the environment; its conversions
//! are loose, so it is given and returns text only, and each value is read as
//! the exact kind its key takes before the gate checks it. Ranges are checked
//! by [`Layers::resolve`], which names the source of the value it refuses.

use super::keys::{check_kind, default_table, from_text, key_named, Key};
use super::show::show;
use super::{one_line, RunSpec, Settings, SettingsError, DEFAULT_FILE, ENV_PREFIX};
use config::Source;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};

/// Where a setting's value came from, so an error can point at it.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// The built-in default.
    Default,
    /// A settings file, and the line of the value.
    File { path: PathBuf, line: usize },
    /// An environment variable, by name.
    Env(String),
    /// A command-line flag.
    Flag(&'static str),
    /// A line of a plan file (its name is given by the error around it).
    Line(usize),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("the default"),
            Origin::File { path, line } => write!(f, "in {}, line {line}", path.display()),
            Origin::Env(name) => write!(f, "from environment variable {name}"),
            Origin::Flag(flag) => write!(f, "from flag {flag}"),
            Origin::Line(line) => write!(f, "line {line}"),
        }
    }
}

/// The line (from 1) that byte `offset` of `text` is on.
pub fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Settings being layered from their sources: each key's current value and
/// where it came from. Every value passes [`Layers::set`], so the layers
/// always hold settings of the right kinds; ranges are checked by
/// [`Layers::resolve`].
#[derive(Debug, Clone, PartialEq)]
pub struct Layers {
    values: toml::Table,
    origins: BTreeMap<String, Origin>,
}

impl Default for Layers {
    fn default() -> Self {
        let values = default_table();
        let origins = values
            .keys()
            .map(|key| (key.clone(), Origin::Default))
            .collect();
        Self { values, origins }
    }
}

impl Layers {
    /// The built-in defaults, then the settings file, then the environment.
    /// `file`: an explicit file (must exist), or `None` for `Settings.toml`
    /// in the working directory (used when present).
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        let mut layers = Layers::default();
        match file {
            Some(path) if !path.is_file() => {
                return Err(SettingsError::Read {
                    path: path.to_path_buf(),
                    reason: "it does not exist or is not a file".into(),
                })
            }
            Some(path) => layers.read_file(path)?,
            None if Path::new(DEFAULT_FILE).exists() => {
                layers.read_file(Path::new(DEFAULT_FILE))?
            }
            None => {}
        }
        layers.read_environment(std::env::vars_os())?;
        Ok(layers)
    }

    /// Lays a settings file over these settings. The file is read once and
    /// parsed with spans: each value goes to the gate with the kind TOML gave
    /// it (a date-time stays one, for the gate to refuse), in the order the
    /// values are written, so the first bad line is the one named.
    pub(crate) fn read_file(&mut self, path: &Path) -> Result<(), SettingsError> {
        self.read_file_except(path, &[])
    }

    /// [`Self::read_file`], leaving out the top-level keys in `others`,
    /// which belong to another reader of the same file (a cluster file's
    /// peers and secret: see [`crate::cluster`]).
    pub(crate) fn read_file_except(
        &mut self,
        path: &Path,
        others: &[&str],
    ) -> Result<(), SettingsError> {
        let read_error = |reason: String| SettingsError::Read {
            path: path.to_path_buf(),
            reason,
        };
        // Bytes first: text that is not UTF-8 is named as such, not read as U+FFFD.
        let bytes = std::fs::read(path).map_err(|e| read_error(e.to_string()))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            read_error(format!(
                "it is not UTF-8 text (byte {})",
                e.utf8_error().valid_up_to()
            ))
        })?;
        // The file's own top-level keys, as written: a quoted key such as
        // `"vm.count"` stays one key.
        let written: BTreeMap<String, toml::Spanned<toml::Value>> =
            toml::from_str(&text).map_err(|e| SettingsError::Syntax {
                path: path.to_path_buf(),
                detail: one_line(&e.to_string()),
            })?;
        let mut entries: Vec<_> = written.into_iter().collect();
        entries.sort_by_key(|(_, value)| value.span().start);
        for (key, written) in entries {
            if others.contains(&key.as_str()) {
                continue;
            }
            let origin = Origin::File {
                path: path.to_path_buf(),
                line: line_of(&text, written.span().start),
            };
            self.set(&key, written.into_inner(), origin)?;
        }
        Ok(())
    }

    /// Lays the `LOGICAL_CLOCKS_*` variables among `vars` over these settings.
    /// `config` reads them, as text (no `try_parsing`), and each goes to the
    /// gate as the exact kind its key takes. `LOGICAL_CLOCKS_SECRET` is no
    /// setting: it is a cluster's secret, read by [`crate::cluster`] only.
    pub(crate) fn read_environment(
        &mut self,
        vars: impl IntoIterator<Item = (OsString, OsString)>,
    ) -> Result<(), SettingsError> {
        let prefix = format!("{ENV_PREFIX}_");
        // Ours by key, the name as written: `config` lowercases a name before
        // it matches the prefix and keys what it reads by the lowercased rest,
        // so it is given only names with the prefix in capitals (as before),
        // and one per key: of names that differ only in case after the prefix,
        // the last by name, which is the one that won before (the others are
        // not read).
        let mut ours: BTreeMap<String, (String, OsString)> = BTreeMap::new();
        let mut names: Vec<(String, OsString)> = vars
            .into_iter()
            .map(|(name, value)| (name.to_string_lossy().into_owned(), value))
            .filter(|(name, _)| name.starts_with(&prefix) && name != crate::cluster::SECRET_ENV)
            .collect();
        names.sort();
        for (name, value) in names {
            ours.insert(name[prefix.len()..].to_lowercase(), (name, value));
        }
        // `config` takes text only: a value that is not UTF-8 is refused here
        // (by `set_text`), in its turn by name.
        let mut source = config::Map::new();
        let mut values = Vec::new();
        for (key, (name, value)) in &ours {
            match value.to_str() {
                Some(text) => {
                    source.insert(name.clone(), text.to_string());
                }
                None => values.push((name.clone(), key.clone(), value.clone())),
            }
        }
        let read = config::Environment::with_prefix(ENV_PREFIX)
            .prefix_separator("_")
            .source(Some(source))
            .collect()
            .map_err(|e| SettingsError::Environment {
                reason: one_line(&e.to_string()),
            })?;
        for (key, value) in read {
            let name = match ours.get(&key) {
                Some((name, _)) => name.clone(),
                None => format!("{ENV_PREFIX}_{}", key.to_uppercase()),
            };
            let config::ValueKind::String(text) = value.kind else {
                return Err(SettingsError::Environment {
                    reason: format!("{name} was not read as text"),
                });
            };
            values.push((name, key, text.into()));
        }
        values.sort();
        for (name, key, value) in values {
            self.set_text(&key, &value, Origin::Env(name))?;
        }
        Ok(())
    }

    /// Sets `key` from text (an environment variable or a flag), which must
    /// read as exactly the kind the key takes.
    pub fn set_text(
        &mut self,
        key: &str,
        text: &OsStr,
        origin: Origin,
    ) -> Result<(), SettingsError> {
        let setting = self.known(key, &origin)?;
        let invalid = |value: String, allowed: String| SettingsError::Invalid {
            key: setting.name,
            value,
            allowed,
            origin: Some(origin.clone()),
        };
        let Some(text) = text.to_str() else {
            return Err(invalid(
                format!("{:?}", text.to_string_lossy()),
                format!("{} (this is not UTF-8 text)", setting.allowed()),
            ));
        };
        let allowed = || match setting.as_text() {
            Some(as_text) => format!("{}; {as_text}", setting.allowed()),
            None => setting.allowed(),
        };
        let value =
            from_text(setting, text).ok_or_else(|| invalid(format!("{text:?}"), allowed()))?;
        self.set(key, value, origin.clone()).map_err(|e| match e {
            SettingsError::Invalid { allowed, .. } => invalid(format!("{text:?}"), allowed),
            other => other,
        })
    }

    /// Sets `key` to `value`, checking that the key exists and the value is of
    /// its kind. The one gate every source passes.
    pub fn set(
        &mut self,
        key: &str,
        value: toml::Value,
        origin: Origin,
    ) -> Result<(), SettingsError> {
        let setting = self.known(key, &origin)?;
        check_kind(setting, &value).map_err(|e| e.coming_from(Some(&origin)))?;
        let before = self.values.insert(key.to_string(), value.clone());
        // The kind checks above are meant to admit only what converts; should
        // one ever admit more, this is an error message, not a panic.
        if self.try_settings().is_err() {
            if let Some(before) = before {
                self.values.insert(key.to_string(), before);
            }
            return Err(SettingsError::Invalid {
                key: setting.name,
                value: show(&value),
                allowed: setting.allowed(),
                origin: Some(origin),
            });
        }
        self.origins.insert(key.to_string(), origin);
        Ok(())
    }

    fn known(&self, key: &str, origin: &Origin) -> Result<&'static Key, SettingsError> {
        key_named(key).ok_or_else(|| SettingsError::Unknown {
            key: key.to_string(),
            origin: origin.clone(),
        })
    }

    fn try_settings(&self) -> Result<Settings, toml::de::Error> {
        Settings::deserialize(toml::Value::Table(self.values.clone()))
    }

    /// The settings as layered so far (of the right kinds; ranges unchecked).
    pub fn settings(&self) -> Settings {
        self.try_settings()
            .expect("every value passed Layers::set, which keeps the table convertible")
    }

    /// Where the value of `key` came from.
    pub(crate) fn origin(&self, key: &str) -> Option<&Origin> {
        self.origins.get(key)
    }

    /// Adds to an error about these settings where the offending value came from.
    pub fn locate(&self, error: SettingsError) -> SettingsError {
        match error.key() {
            Some(key) => error.coming_from(self.origin(key)),
            None => error,
        }
    }

    /// Checks the layered settings (see [`Settings::resolve`]), naming the
    /// source of a bad value.
    pub fn resolve(&self, pick_seed: impl FnOnce() -> u64) -> Result<RunSpec, SettingsError> {
        self.settings()
            .resolve(pick_seed)
            .map_err(|e| self.locate(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::*;

    fn env(vars: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        vars.iter()
            .map(|(name, value)| (name.into(), value.into()))
            .collect()
    }

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Settings.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn a_bad_value_in_a_file_is_named_with_its_line() {
        let (_dir, path) = file("# VMs\nruntime = 5\n\nvm_count = 3.5\n");
        let error = Layers::default().read_file(&path).unwrap_err().to_string();
        let expected = format!(
            "setting `vm_count` = 3.5 (in {}, line 4) is not allowed: a whole number of VMs \
             from 2 to 128",
            path.display()
        );
        assert_eq!(error, expected);
    }

    #[test]
    fn the_first_bad_line_of_a_file_is_the_one_named() {
        let (_dir, path) = file("vm_count = true\nlog_flush_ms = 1.5\n");
        let error = Layers::default().read_file(&path).unwrap_err().to_string();
        assert!(error.contains("`vm_count` = true"), "{error}");
    }

    #[test]
    fn an_unreadable_file_is_named() {
        let (dir, path) = file("");
        std::fs::write(&path, b"vm_count = 3\n\xff = 1\n").unwrap();
        let error = Layers::default().read_file(&path).unwrap_err().to_string();
        assert!(error.contains(&path.display().to_string()), "{error}");
        let missing = dir.path().join("missing.toml");
        let error = Layers::default()
            .read_file(&missing)
            .unwrap_err()
            .to_string();
        assert!(error.contains("missing.toml"), "{error}");
    }

    #[test]
    fn environment_text_must_be_the_exact_kind() {
        let error = |vars: &[(&str, &str)]| {
            Layers::default()
                .read_environment(env(vars))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            error(&[("LOGICAL_CLOCKS_VM_COUNT", "3.5")]),
            "setting `vm_count` = \"3.5\" (from environment variable LOGICAL_CLOCKS_VM_COUNT) \
             is not allowed: a whole number of VMs from 2 to 128"
        );
        assert!(error(&[("LOGICAL_CLOCKS_VIRTUAL_TIME", "yes")]).ends_with("true or false"));
        assert!(error(&[("LOGICAL_CLOCKS_RATES", "1,2.6,3")]).contains("comma-separated"));
        assert!(error(&[("LOGICAL_CLOCKS_VM_CONT", "3")]).contains("unknown setting `vm_cont`"));
    }

    #[test]
    fn vector_clocks_can_be_left_out_from_the_environment_and_nothing_else() {
        let mut layers = Layers::default();
        assert!(layers.settings().vector_clocks, "on by default");
        let vars = env(&[("LOGICAL_CLOCKS_VECTOR_CLOCKS", "false")]);
        layers.read_environment(vars).unwrap();
        assert!(!layers.settings().vector_clocks);
        assert_eq!(
            layers.origin(VECTOR_CLOCKS),
            Some(&Origin::Env("LOGICAL_CLOCKS_VECTOR_CLOCKS".into()))
        );
        let error = Layers::default()
            .read_environment(env(&[("LOGICAL_CLOCKS_VECTOR_CLOCKS", "no")]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "setting `vector_clocks` = \"no\" (from environment variable \
             LOGICAL_CLOCKS_VECTOR_CLOCKS) is not allowed: true or false"
        );
    }

    #[test]
    fn layers_override_in_order_and_remember_their_source() {
        let (_dir, path) = file("vm_count = 4\nruntime = 2\n");
        let mut layers = Layers::default();
        layers.read_file(&path).unwrap();
        let vars = env(&[
            ("LOGICAL_CLOCKS_VM_COUNT", "5"),
            ("LOGICAL_CLOCKS_RATES", "1,2,3,4,5"),
            ("LOGICAL_CLOCKS_VIRTUAL_TIME", "true"),
            ("LOGICAL_CLOCKSWORK", "ignored: not the prefix"),
            ("PATH", "/bin"),
        ]);
        layers.read_environment(vars).unwrap();
        layers
            .set_text(RUNTIME, OsStr::new("7.5"), Origin::Flag("--runtime"))
            .unwrap();
        let settings = layers.settings();
        assert_eq!((settings.vm_count, settings.runtime), (5, 7.5));
        assert_eq!(settings.rates, vec![1, 2, 3, 4, 5]);
        assert!(settings.virtual_time);
        assert_eq!(
            layers.origin(VM_COUNT),
            Some(&Origin::Env("LOGICAL_CLOCKS_VM_COUNT".into()))
        );
        assert_eq!(layers.origin(RUNTIME), Some(&Origin::Flag("--runtime")));
        assert_eq!(layers.origin(HOST), Some(&Origin::Default));
    }

    #[test]
    fn range_errors_name_the_source_of_the_value() {
        let mut layers = Layers::default();
        layers
            .set_text(VM_COUNT, OsStr::new("1"), Origin::Flag("--vm-count"))
            .unwrap();
        let error = layers.resolve(|| 1).unwrap_err().to_string();
        assert!(
            error.starts_with("setting `vm_count` = 1 (from flag --vm-count) is not allowed"),
            "{error}"
        );
        let mut layers = Layers::default();
        layers
            .set_text(RUNTIME, OsStr::new("-5"), Origin::Flag("--runtime"))
            .unwrap();
        let error = layers.resolve(|| 1).unwrap_err().to_string();
        assert!(error.contains("more than 0"), "{error}");
    }

    #[test]
    fn a_datetime_in_a_file_is_refused_as_one() {
        let (_dir, path) = file("host = \"h\"\nlog_dir = 1979-05-27T07:32:00Z\n");
        let error = Layers::default().read_file(&path).unwrap_err().to_string();
        assert!(
            error.starts_with("setting `log_dir` = 1979-05-27T07:32:00Z (in "),
            "{error}"
        );
        let (_dir, path) = file("latency = { kind = 1979-05-27 }\n");
        let error = Layers::default().read_file(&path).unwrap_err().to_string();
        assert!(error.contains("{ kind = 1979-05-27 }"), "{error}");
    }

    #[test]
    fn a_quoted_key_with_a_dot_stays_one_key() {
        let (_dir, path) = file("vm_count = 4\n\"vm.count\" = 3\n");
        let error = Layers::default().read_file(&path).unwrap_err().to_string();
        assert!(
            error.starts_with(&format!(
                "unknown setting `vm.count` (in {}, line 2)",
                path.display()
            )),
            "{error}"
        );
    }

    #[test]
    fn config_reads_environment_values_as_text() {
        let read = config::Environment::with_prefix(ENV_PREFIX)
            .prefix_separator("_")
            .source(Some(config::Map::from_iter([
                ("LOGICAL_CLOCKS_VM_COUNT".into(), "3.5".into()),
                ("LOGICAL_CLOCKS_VIRTUAL_TIME".into(), "1".into()),
            ])))
            .collect()
            .unwrap();
        assert_eq!(read[VM_COUNT].kind, config::ValueKind::String("3.5".into()));
        assert_eq!(
            read[VIRTUAL_TIME].kind,
            config::ValueKind::String("1".into())
        );
    }

    #[test]
    fn environment_names_are_matched_and_named_as_written() {
        let mut layers = Layers::default();
        let vars = env(&[
            ("logical_clocks_vm_count", "7"),
            ("LOGICAL_CLOCKS_vm_count", "5"),
        ]);
        layers.read_environment(vars).unwrap();
        assert_eq!(layers.settings().vm_count, 5);
        assert_eq!(
            layers.origin(VM_COUNT),
            Some(&Origin::Env("LOGICAL_CLOCKS_vm_count".into()))
        );
    }

    #[cfg(unix)]
    #[test]
    fn an_environment_value_that_is_not_utf8_is_refused_in_its_turn() {
        use std::os::unix::ffi::OsStringExt;
        let not_text = || OsString::from_vec(b"caf\xe9".to_vec());
        let error = |mut vars: Vec<(OsString, OsString)>| {
            vars.push(("LOGICAL_CLOCKS_HOST".into(), not_text()));
            Layers::default()
                .read_environment(vars)
                .unwrap_err()
                .to_string()
        };
        let alone = error(Vec::new());
        assert!(
            alone.starts_with(
                "setting `host` = \"caf\u{fffd}\" (from environment variable LOGICAL_CLOCKS_HOST)"
            ),
            "{alone}"
        );
        assert!(alone.ends_with("(this is not UTF-8 text)"), "{alone}");
        let before = error(env(&[("LOGICAL_CLOCKS_BASE_PORT", "x")]));
        assert!(before.starts_with("setting `base_port`"), "{before}");
        let after = error(env(&[("LOGICAL_CLOCKS_VM_COUNT", "x")]));
        assert!(after.starts_with("setting `host`"), "{after}");
    }

    #[test]
    fn a_refused_value_leaves_the_layers_as_they_were() {
        let mut layers = Layers::default();
        let before = layers.clone();
        assert!(layers
            .set(VM_COUNT, toml::Value::Float(3.5), Origin::Line(1))
            .is_err());
        assert_eq!(layers, before);
    }
}
