//! The run's own `settings.toml`, read leniently.
//!
//! Hand-made run directories may lack the file or any key, and later versions may add keys, so
//! every field is optional and unknown keys are ignored; what is missing is filled from the logs
//! (VM count from the files, rates from the `start` lines). A file that is not valid TOML is
//! reported as a note, not an error: the logs alone are enough to analyse a run.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The settings of one run, as far as they are known.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    pub vm_count: Option<u32>,
    pub runtime: Option<f64>,
    pub seed: Option<u64>,
    pub rate_min: Option<f64>,
    pub rate_max: Option<f64>,
    /// The actual rate of each VM, VM 1 first.
    pub rates: Option<Vec<f64>>,
    pub internal_probability: Option<f64>,
    pub host: Option<String>,
    pub base_port: Option<u32>,
    pub log_dir: Option<String>,
}

/// Reads `settings.toml` in `run_dir`. Returns the settings (default if absent or unreadable)
/// and a note when the file exists but cannot be used.
pub fn read_settings(run_dir: &Path) -> (RunSettings, Option<String>) {
    let path = run_dir.join("settings.toml");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return (RunSettings::default(), None)
        }
        Err(e) => {
            return (
                RunSettings::default(),
                Some(format!(
                    "settings.toml unreadable ({e}); using what the logs say"
                )),
            )
        }
    };
    match parse_settings(&text) {
        Ok(s) => (s, None),
        Err(e) => (
            RunSettings::default(),
            Some(format!("settings.toml ignored: {e}")),
        ),
    }
}

/// Parses settings text; the error is folded into one line.
pub fn parse_settings(text: &str) -> Result<RunSettings, String> {
    toml::from_str(text).map_err(|e| {
        e.message()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
