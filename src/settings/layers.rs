//! Settings layered from their sources, each value remembering where it came from.
//!
//! Built-in defaults, then the settings file, then `LOGICAL_CLOCKS_*`
//! environment variables, then flags (a plan file layers its own tables the
//! same way). Every value passes one gate, [`Layers::set`], which checks the
//! key and the kind of its value; the file is parsed with its spans, so an
//! error names the line. Ranges are checked by [`Layers::resolve`], which
//! names the source of the value it refuses.

use super::keys::{check_kind, default_table, from_text, key_named, show, Key};
use super::{one_line, RunSpec, Settings, SettingsError, DEFAULT_FILE, ENV_PREFIX};
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
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
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

    /// Lays a settings file over these settings.
    pub fn read_file(&mut self, path: &Path) -> Result<(), SettingsError> {
        let read_error = |reason: String| SettingsError::Read {
            path: path.to_path_buf(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| read_error(e.to_string()))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            read_error(format!(
                "it is not UTF-8 text (byte {})",
                e.utf8_error().valid_up_to()
            ))
        })?;
        let table: BTreeMap<String, toml::Spanned<toml::Value>> =
            toml::from_str(&text).map_err(|e| SettingsError::Syntax {
                path: path.to_path_buf(),
                detail: one_line(&e.to_string()),
            })?;
        // In the order they are written, so the first bad line is the one named.
        let mut entries: Vec<_> = table.into_iter().collect();
        entries.sort_by_key(|(_, value)| value.span().start);
        for (key, value) in entries {
            let origin = Origin::File {
                path: path.to_path_buf(),
                line: line_of(&text, value.span().start),
            };
            self.set(&key, value.into_inner(), origin)?;
        }
        Ok(())
    }

    /// Lays the `LOGICAL_CLOCKS_*` variables among `vars` over these settings.
    pub fn read_environment(
        &mut self,
        vars: impl IntoIterator<Item = (OsString, OsString)>,
    ) -> Result<(), SettingsError> {
        let prefix = format!("{ENV_PREFIX}_");
        let mut ours: Vec<(String, OsString)> = vars
            .into_iter()
            .map(|(name, value)| (name.to_string_lossy().into_owned(), value))
            .filter(|(name, _)| name.starts_with(&prefix))
            .collect();
        ours.sort();
        for (name, value) in ours {
            let key = name[prefix.len()..].to_lowercase();
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
        let invalid = |allowed: String| SettingsError::Invalid {
            key: setting.name,
            value: show(&value),
            allowed,
            origin: Some(origin.clone()),
        };
        check_kind(setting, &value).map_err(invalid)?;
        let before = self.values.insert(key.to_string(), value.clone());
        // The kind checks above are meant to admit only what converts; should
        // one ever admit more, this is an error message, not a panic.
        if self.try_settings().is_err() {
            if let Some(before) = before {
                self.values.insert(key.to_string(), before);
            }
            return Err(invalid(setting.allowed()));
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
    pub fn origin(&self, key: &str) -> Option<&Origin> {
        self.origins.get(key)
    }

    /// Adds to an error about these settings where the offending value came from.
    pub fn locate(&self, error: SettingsError) -> SettingsError {
        match error {
            SettingsError::Invalid {
                key,
                value,
                allowed,
                origin: None,
            } => SettingsError::Invalid {
                key,
                value,
                allowed,
                origin: self.origin(key).cloned(),
            },
            other => other,
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
            .set_text("runtime", OsStr::new("7.5"), Origin::Flag("--runtime"))
            .unwrap();
        let settings = layers.settings();
        assert_eq!((settings.vm_count, settings.runtime), (5, 7.5));
        assert_eq!(settings.rates, vec![1, 2, 3, 4, 5]);
        assert!(settings.virtual_time);
        assert_eq!(
            layers.origin("vm_count"),
            Some(&Origin::Env("LOGICAL_CLOCKS_VM_COUNT".into()))
        );
        assert_eq!(layers.origin("runtime"), Some(&Origin::Flag("--runtime")));
        assert_eq!(layers.origin("host"), Some(&Origin::Default));
    }

    #[test]
    fn range_errors_name_the_source_of_the_value() {
        let mut layers = Layers::default();
        layers
            .set_text("vm_count", OsStr::new("1"), Origin::Flag("--vm-count"))
            .unwrap();
        let error = layers.resolve(|| 1).unwrap_err().to_string();
        assert!(
            error.starts_with("setting `vm_count` = 1 (from flag --vm-count) is not allowed"),
            "{error}"
        );
        let mut layers = Layers::default();
        layers
            .set_text("runtime", OsStr::new("-5"), Origin::Flag("--runtime"))
            .unwrap();
        let error = layers.resolve(|| 1).unwrap_err().to_string();
        assert!(error.contains("more than 0"), "{error}");
    }

    #[test]
    fn a_refused_value_leaves_the_layers_as_they_were() {
        let mut layers = Layers::default();
        let before = layers.clone();
        assert!(layers
            .set("vm_count", toml::Value::Float(3.5), Origin::Line(1))
            .is_err());
        assert_eq!(layers, before);
    }
}
