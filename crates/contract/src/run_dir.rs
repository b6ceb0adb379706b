//! The run directory: `<log-dir>/<run-id>/` with the effective settings.
//!
//! Run ids are UTC timestamps (`2026-11-27T01-02-03.123456Z`), so sorting
//! the names sorts the runs in time order; a run started in the same
//! microsecond as another gets a `-2`, `-3`... suffix instead of sharing its
//! directory.

use lc_settings::RunSpec;
use std::io;
use std::path::{Path, PathBuf};

/// The file, in every run directory, that repeats the run with `--config`.
pub(crate) const SETTINGS_FILE: &str = "settings.toml";

/// Creates a fresh run directory under `log_dir` and writes the run's
/// effective settings (seed and every VM's rate pinned) into it.
pub fn create(log_dir: &Path, spec: &RunSpec) -> io::Result<PathBuf> {
    let dir = fresh(log_dir, "")?;
    write_settings(&dir, spec)?;
    Ok(dir)
}

/// Writes the run's effective settings into `dir` as `settings.toml`.
pub fn write_settings(dir: &Path, spec: &RunSpec) -> io::Result<()> {
    let settings = toml::to_string(&spec.effective_settings()).map_err(io::Error::other)?;
    let text = format!(
        "# The effective settings of this run: repeat it with\n\
         #   logical-clocks --config {}\n{settings}",
        dir.join(SETTINGS_FILE).display()
    );
    std::fs::write(dir.join(SETTINGS_FILE), text)
}

/// Creates `<parent>/<prefix><UTC timestamp>` (with a `-2`, `-3`... suffix if that exists),
/// so directories with the same prefix sort in the order they were made.
pub fn fresh(parent: &Path, prefix: &str) -> io::Result<PathBuf> {
    std::fs::create_dir_all(parent)?;
    // The log's own time layout, with `-` for `:` (not allowed in every
    // file system): `2026-11-27T01-02-03.123456Z`.
    let now = crate::timestamp::wall_clock_micros() as i64;
    let stamp = crate::timestamp::Rfc3339(now).to_string().replace(':', "-");
    let mut dir = parent.join(format!("{prefix}{stamp}"));
    let mut attempt = 1;
    loop {
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => {
                attempt += 1;
                dir = parent.join(format!("{prefix}{stamp}-{attempt}"));
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lc_settings::Settings;

    #[test]
    fn run_dirs_are_unique_and_sort_in_time_order() {
        let logs = tempfile::tempdir().unwrap();
        let spec = Settings::default().resolve(|| 1).unwrap();
        let dirs: Vec<PathBuf> = (0..5)
            .map(|_| create(logs.path(), &spec).unwrap())
            .collect();
        let mut sorted = dirs.clone();
        sorted.sort();
        assert_eq!(sorted, dirs);
        let written = std::fs::read_to_string(dirs[0].join(SETTINGS_FILE)).unwrap();
        let read: Settings = toml::from_str(&written).unwrap();
        assert_eq!(read.resolve(|| 2).unwrap(), spec);
    }
}
