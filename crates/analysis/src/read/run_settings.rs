//! The run's own `settings.toml`, read leniently.
//!
//! Hand-made run directories may lack the file or any key, and later versions may add keys, so
//! every field is optional and unknown keys are ignored; what is missing is filled from the logs
//! (VM count from the files, rates from the `start` lines). A file that is not valid TOML is
//! reported as a note, not an error: the logs alone are enough to analyse a run. The file's
//! top-level keys are also located by line, so a finding about a setting can point at it.
//!
//! Its keys are the settings table's (`lc_settings::KEYS`, which also wrote the file): the
//! fields below are the ones the analysis reads, each named as the table names its key (a test
//! holds them to it), and a finding names its key through `lc_settings::names`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{AnalysisError, MAX_VMS};

/// The settings of one run, as far as they are known.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    pub vm_count: Option<u32>,
    pub(crate) runtime: Option<f64>,
    pub seed: Option<u64>,
    pub(crate) rate_min: Option<f64>,
    pub(crate) rate_max: Option<f64>,
    /// The actual rate of each VM, VM 1 first.
    pub rates: Option<Vec<f64>>,
    pub internal_probability: Option<f64>,
    pub(crate) host: Option<String>,
    pub(crate) base_port: Option<u32>,
    pub(crate) log_dir: Option<String>,
}

/// A run's `settings.toml` as read: the settings, and where each key is.
#[derive(Debug, Clone, Default)]
pub(crate) struct SettingsFile {
    pub(crate) settings: RunSettings,
    /// Why the file exists but could not be used, if so.
    pub(crate) note: Option<String>,
    /// The 1-based line of each top-level key.
    key_lines: Vec<(String, usize)>,
}

impl SettingsFile {
    /// Refuses a `vm_count` beyond what a run can have: the analysis sizes its per-VM tables
    /// from it, so a crafted count would exhaust memory before a line is read. `path` names the
    /// file in the error.
    pub(crate) fn bounded(&self, path: &Path) -> Result<(), AnalysisError> {
        match self.settings.vm_count {
            Some(value) if !(1..=MAX_VMS).contains(&value) => {
                Err(AnalysisError::VmCountOutOfRange {
                    path: path.to_path_buf(),
                    value,
                    max: MAX_VMS,
                })
            }
            _ => Ok(()),
        }
    }

    /// The line of top-level `key`; line 1 if it is not found.
    pub(crate) fn line_of(&self, key: &str) -> usize {
        self.key_lines
            .iter()
            .find(|(k, _)| k == key)
            .map_or(1, |&(_, line)| line)
    }
}

/// Reads `settings.toml` in `run_dir`. The settings are the default if it is absent or
/// unreadable, with a note when it exists but cannot be used.
pub(crate) fn read_settings(run_dir: &Path) -> SettingsFile {
    let path = run_dir.join("settings.toml");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return SettingsFile::default(),
        Err(e) => {
            return SettingsFile {
                note: Some(format!(
                    "settings.toml unreadable ({e}); using what the logs say"
                )),
                ..SettingsFile::default()
            }
        }
    };
    match parse_settings(&text) {
        Ok(settings) => SettingsFile {
            settings,
            note: None,
            key_lines: key_lines(&text),
        },
        Err(e) => SettingsFile {
            note: Some(format!("settings.toml ignored: {e}")),
            ..SettingsFile::default()
        },
    }
}

/// The whole of `settings.toml` in `run_dir` as a TOML table, every key kept, to compare two
/// runs' settings; empty if the file is absent or not TOML (the logs are then all there is).
pub(crate) fn settings_table(run_dir: &Path) -> toml::Table {
    std::fs::read_to_string(run_dir.join("settings.toml"))
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or_default()
}

/// The top-level keys of TOML `text` and their 1-based lines: each `key = ...` line before
/// the first table header. Enough for the flat files runs write; no full TOML parse.
fn key_lines(text: &str) -> Vec<(String, usize)> {
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim()))
        .take_while(|(_, line)| !line.starts_with('['))
        .filter_map(|(n, line)| {
            let (key, _) = line.split_once('=')?;
            let key = key.trim().trim_matches('"');
            (!key.is_empty() && !key.starts_with('#')).then(|| (key.to_string(), n))
        })
        .collect()
}

/// Parses settings text; the error is folded into one line.
pub(crate) fn parse_settings(text: &str) -> Result<RunSettings, String> {
    toml::from_str(text).map_err(|e| one_line(e.message()))
}

/// A TOML error message, which may span lines, folded into one.
pub(crate) fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use lc_settings::names::{RATES, SEED, VM_COUNT};

    #[test]
    fn every_key_read_back_is_a_key_of_the_settings_table() {
        let all = RunSettings {
            vm_count: Some(3),
            runtime: Some(1.0),
            seed: Some(1),
            rate_min: Some(1.0),
            rate_max: Some(6.0),
            rates: Some(vec![1.0]),
            internal_probability: Some(0.7),
            host: Some("::1".into()),
            base_port: Some(0),
            log_dir: Some("logs".into()),
        };
        let written = toml::Table::try_from(all).unwrap();
        assert_eq!(written.len(), 10);
        for key in written.keys() {
            assert!(lc_settings::key_named(key).is_some(), "{key}");
        }
    }

    #[test]
    fn a_vm_count_is_bounded_to_what_a_run_can_have() {
        let path = Path::new("run/settings.toml");
        let with = |vm_count| SettingsFile {
            settings: RunSettings {
                vm_count,
                ..RunSettings::default()
            },
            ..SettingsFile::default()
        };
        for fine in [None, Some(1), Some(MAX_VMS)] {
            assert!(with(fine).bounded(path).is_ok(), "{fine:?}");
        }
        for bad in [0, MAX_VMS + 1, u32::MAX] {
            let error = with(Some(bad)).bounded(path).unwrap_err().to_string();
            assert!(error.contains("run/settings.toml"), "{error}");
            assert!(error.contains(&bad.to_string()), "{error}");
        }
    }

    #[test]
    fn reads_known_keys_and_ignores_the_rest() {
        let s = parse_settings(
            "vm_count = 3\nruntime = 60.0\nseed = 42\nrates = [1, 4, 6]\nnew_key = \"x\"\n[extra]\na = 1\n",
        )
        .unwrap();
        assert_eq!(s.vm_count, Some(3));
        assert_eq!(s.runtime, Some(60.0));
        assert_eq!(s.seed, Some(42));
        assert_eq!(s.rates, Some(vec![1.0, 4.0, 6.0]));
        assert_eq!(s.host, None);
    }

    #[test]
    fn a_message_over_several_lines_is_folded_into_one() {
        assert_eq!(
            one_line("invalid type\n\n   expected u32  \n"),
            "invalid type expected u32"
        );
    }

    #[test]
    fn comments_and_empty_keys_are_no_keys() {
        let lines = key_lines("# seed = 1\n= 2\nvm_count = 3\n");
        assert_eq!(lines, vec![(VM_COUNT.to_string(), 3)]);
    }

    #[test]
    fn integer_runtime_is_accepted() {
        assert_eq!(parse_settings("runtime = 60").unwrap().runtime, Some(60.0));
    }

    #[test]
    fn bad_toml_is_one_line() {
        let e = parse_settings("vm_count = [\n").unwrap_err();
        assert!(!e.contains('\n'), "{e}");
        let e = parse_settings("vm_count = \"three\"").unwrap_err();
        assert!(!e.contains('\n'), "{e}");
    }

    #[test]
    fn top_level_keys_are_found_by_line() {
        let lines =
            key_lines("# comment\nvm_count = 3\n\n  rates = [1, 2]\n[latency]\nkind = \"none\"\n");
        assert_eq!(
            lines,
            vec![(VM_COUNT.to_string(), 2), (RATES.to_string(), 4)]
        );
        let file = SettingsFile {
            key_lines: lines,
            ..SettingsFile::default()
        };
        assert_eq!(file.line_of(RATES), 4);
        assert_eq!(file.line_of(SEED), 1);
    }

    #[test]
    fn settings_are_read_from_the_run_directory_or_noted() {
        let dir = tempfile::tempdir().unwrap();
        let absent = read_settings(dir.path());
        assert_eq!(
            (absent.settings, absent.note),
            (RunSettings::default(), None)
        );
        assert!(settings_table(dir.path()).is_empty());

        let path = dir.path().join("settings.toml");
        std::fs::write(&path, "seed = 7\nvm_count = 3\nlater = true\n").unwrap();
        let read = read_settings(dir.path());
        assert_eq!(read.line_of(VM_COUNT), 2);
        assert_eq!((read.settings.vm_count, read.note), (Some(3), None));
        assert_eq!(settings_table(dir.path()).len(), 3, "unknown keys are kept");

        std::fs::write(&path, "vm_count = [\n").unwrap();
        let bad = read_settings(dir.path());
        assert_eq!(bad.settings, RunSettings::default());
        let note = bad.note.unwrap();
        assert!(note.starts_with("settings.toml ignored: "), "{note}");

        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        let unreadable = read_settings(dir.path()).note.unwrap();
        assert!(
            unreadable.starts_with("settings.toml unreadable"),
            "{unreadable}"
        );
    }
}
