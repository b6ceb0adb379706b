//! How every file `analyze` writes reaches the disk: never over one of the files it reads, never
//! through a symbolic link, and never half-written.
//!
//! An output path is a name the user gives (`--shiviz FILE`) or a fixed name in a run directory
//! that anyone may have planted (`summary.json` as a link to elsewhere). Writing in place would
//! follow a planted link and overwrite its target, would truncate an input named as the output
//! before reading it, and on a full disk would leave a truncated file that looks like a result.
//! So each output is written whole into a fresh private directory beside its final place (made
//! with `mkdir`, which refuses to follow or reuse anything already there) and only then renamed
//! over the final name: a rename replaces the directory entry, so a link planted there is
//! replaced, not followed, and a failure leaves the old file (or nothing) where it was.
//!
//! Before that, the entry the rename would replace is held against the analysis's [`Inputs`]
//! (by device and inode, so no spelling of the path, no symlinked directory and no hard link
//! slips by): replacing an input would destroy the evidence the output was made from, so it
//! is refused in one line. `experiment` writes its study files through the same function.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::AnalysisError;

/// The files an analysis reads (VM logs, `settings.toml`), by file identity and by entry, so
/// that no output replaces one of them.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    files: Vec<Input>,
}

/// One input: its path as given, the identities it has (its own directory entry and, if that
/// is a link, the file it leads to), and its entry spelled canonically, which also stands for
/// an input that is absent (a run without `settings.toml` must not get one from an output).
#[derive(Debug, Clone)]
struct Input {
    path: PathBuf,
    ids: Vec<Identity>,
    entry: Option<PathBuf>,
}

/// A file's identity on its file system: (device, inode).
type Identity = (u64, u64);

impl Inputs {
    /// The inputs at `paths`; a path that does not exist has no identity and guards nothing.
    pub fn of(paths: impl IntoIterator<Item = PathBuf>) -> Inputs {
        let files = paths
            .into_iter()
            .map(|path| {
                let mut ids: Vec<Identity> = [fs::symlink_metadata(&path), fs::metadata(&path)]
                    .into_iter()
                    .flatten()
                    .map(|m| identity(&m))
                    .collect();
                ids.dedup();
                Input {
                    entry: canonical_entry(&path),
                    path,
                    ids,
                }
            })
            .collect();
        Inputs { files }
    }

    /// No inputs: for a writer whose files are made from nothing on disk.
    pub fn none() -> Inputs {
        Inputs::default()
    }

    /// These inputs and `other`'s together.
    pub fn extend(&mut self, other: Inputs) {
        self.files.extend(other.files);
    }

    /// The input that writing `output` would replace: the one whose entry, or whose link's
    /// target, is the very entry at `output` (links there are not followed, as the rename
    /// replaces the entry itself).
    fn replaced_by(&self, output: &Path) -> Option<&Path> {
        let id = fs::symlink_metadata(output).ok().map(|m| identity(&m));
        let entry = canonical_entry(output);
        self.files
            .iter()
            .find(|input| {
                id.is_some_and(|id| input.ids.contains(&id))
                    || (entry.is_some() && input.entry == entry)
            })
            .map(|input| input.path.as_path())
    }
}

/// The directory `path` is an entry of (`.` for a bare name).
fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// `path`'s directory entry spelled canonically: its directory resolved (links, `.`, `..`),
/// its own name kept as it is (a link there is the entry, not what it leads to).
fn canonical_entry(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?;
    let dir = dir_of(path);
    Some(fs::canonicalize(dir).ok()?.join(name))
}

#[cfg(unix)]
fn identity(meta: &fs::Metadata) -> Identity {
    use std::os::unix::fs::MetadataExt as _;
    (meta.dev(), meta.ino())
}

/// An output being written: a fresh private directory beside the final path, holding the file
/// under the final name (so a writer that picks its format by extension, as the PNG encoder
/// does, picks the right one). Dropped without [`NewFile::commit`], it is removed, and the
/// final path is as it was.
#[derive(Debug)]
pub struct NewFile {
    path: PathBuf,
    scratch: PathBuf,
    temp: PathBuf,
}

/// Tells the scratch directories of one process apart.
static SCRATCH: AtomicU64 = AtomicU64::new(0);

impl NewFile {
    /// Starts writing `path`: refuses it if it would replace one of `inputs`, then makes the
    /// scratch directory beside it.
    pub fn begin(path: &Path, inputs: &Inputs) -> Result<NewFile, AnalysisError> {
        if let Some(input) = inputs.replaced_by(path) {
            return Err(AnalysisError::ReplacesInput {
                output: path.to_path_buf(),
                input: input.to_path_buf(),
            });
        }
        let write_error = |source| AnalysisError::Write {
            path: path.to_path_buf(),
            source,
        };
        let name = path
            .file_name()
            .ok_or_else(|| write_error(io::Error::other("it names a directory, not a file")))?;
        let dir = dir_of(path);
        let n = SCRATCH.fetch_add(1, Ordering::Relaxed);
        let mut scratch_name = std::ffi::OsString::from(".");
        scratch_name.push(name);
        scratch_name.push(format!(".partial-{}-{n}", std::process::id()));
        let scratch = dir.join(scratch_name);
        fs::create_dir(&scratch).map_err(write_error)?;
        Ok(NewFile {
            temp: scratch.join(name),
            path: path.to_path_buf(),
            scratch,
        })
    }

    /// Where the content goes until it is complete.
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates the file to write, buffered; it did not exist before.
    pub fn create(&self) -> Result<BufWriter<File>, AnalysisError> {
        File::create_new(&self.temp)
            .map(|file| BufWriter::with_capacity(1 << 16, file))
            .map_err(|source| self.write_error(source))
    }

    /// The failure to write this output, named by its final path.
    pub fn write_error(&self, source: io::Error) -> AnalysisError {
        AnalysisError::Write {
            path: self.path.clone(),
            source,
        }
    }

    /// Puts the complete file in its final place, replacing what was there (a planted link
    /// included, not its target).
    pub fn commit(self) -> Result<(), AnalysisError> {
        fs::rename(&self.temp, &self.path).map_err(|source| self.write_error(source))
        // Drop removes the now empty scratch directory.
    }
}

impl Drop for NewFile {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.scratch);
    }
}

/// Writes `bytes` to `path` as [`NewFile`] does: whole or not at all.
pub fn write_bytes(path: &Path, inputs: &Inputs, bytes: &[u8]) -> Result<(), AnalysisError> {
    write_with(path, inputs, |out| {
        out.write_all(bytes)?;
        Ok(())
    })
}

/// Writes `path` through `fill`, which streams the content into a buffered new file: whole or
/// not at all, and never over one of `inputs`.
pub fn write_with<T>(
    path: &Path,
    inputs: &Inputs,
    fill: impl FnOnce(&mut BufWriter<File>) -> io::Result<T>,
) -> Result<T, AnalysisError> {
    let new = NewFile::begin(path, inputs)?;
    let mut out = new.create()?;
    let value = fill(&mut out).map_err(|e| new.write_error(e))?;
    finish(out).map_err(|e| new.write_error(e))?;
    new.commit()?;
    Ok(value)
}

/// Flushes `out`, so a full disk is told here rather than lost when the file is dropped.
pub fn finish(mut out: BufWriter<File>) -> io::Result<()> {
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_planted_link_is_replaced_and_its_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere.txt");
        fs::write(&target, "precious").unwrap();
        let out = dir.path().join("summary.json");
        std::os::unix::fs::symlink(&target, &out).unwrap();
        write_bytes(&out, &Inputs::none(), b"{}").unwrap();
        assert_eq!(fs::read_to_string(&target).unwrap(), "precious");
        assert_eq!(fs::read_to_string(&out).unwrap(), "{}");
        assert!(!fs::symlink_metadata(&out).unwrap().is_symlink());
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no scratch left"
        );
    }

    #[test]
    fn an_input_is_refused_by_any_name() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("vm-1.log");
        fs::write(&log, "line\n").unwrap();
        let inputs = Inputs::of([log.clone()]);
        let through_dot = dir.path().join(".").join("vm-1.log");
        let hard = dir.path().join("hard.log");
        fs::hard_link(&log, &hard).unwrap();
        for output in [log.clone(), through_dot, hard] {
            let error = write_bytes(&output, &inputs, b"x").unwrap_err().to_string();
            assert!(error.contains("it is"), "{error}");
            assert!(error.contains(&log.display().to_string()), "{error}");
            assert!(!error.contains('\n'));
        }
        assert_eq!(fs::read_to_string(&log).unwrap(), "line\n");
    }

    #[test]
    fn an_absent_input_is_refused_too() {
        let dir = tempfile::tempdir().unwrap();
        let settings = dir.path().join("settings.toml");
        let inputs = Inputs::of([settings.clone()]);
        let spelled = dir.path().join("sub").join("..").join("settings.toml");
        fs::create_dir(dir.path().join("sub")).unwrap();
        assert!(write_bytes(&spelled, &inputs, b"x").is_err());
        assert!(!settings.exists());
    }

    #[test]
    fn an_input_reached_through_a_link_is_refused_at_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("kept.log");
        fs::write(&real, "line\n").unwrap();
        let link = dir.path().join("vm-1.log");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let inputs = Inputs::of([link]);
        assert!(write_bytes(&real, &inputs, b"x").is_err());
        assert_eq!(fs::read_to_string(&real).unwrap(), "line\n");
    }

    #[test]
    fn a_failed_fill_leaves_the_old_file_and_no_scratch() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("events.csv");
        fs::write(&out, "old").unwrap();
        let error = write_with(&out, &Inputs::none(), |w| {
            w.write_all(b"half")?;
            Err::<(), _>(io::Error::from(io::ErrorKind::StorageFull))
        })
        .unwrap_err()
        .to_string();
        assert!(
            error.starts_with(&format!("cannot write {}", out.display())),
            "{error}"
        );
        assert_eq!(fs::read_to_string(&out).unwrap(), "old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn an_output_beside_an_input_replaces_only_itself() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("vm-1.log");
        fs::write(&log, "line\n").unwrap();
        let out = dir.path().join("summary.json");
        fs::write(&out, "old").unwrap();
        write_bytes(&out, &Inputs::of([log.clone()]), b"{}").unwrap();
        assert_eq!(fs::read_to_string(&out).unwrap(), "{}");
        assert_eq!(fs::read_to_string(&log).unwrap(), "line\n");
    }

    #[test]
    fn extended_inputs_guard_both_sets() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("vm-1.log");
        let settings = dir.path().join("settings.toml");
        fs::write(&log, "line\n").unwrap();
        let mut inputs = Inputs::of([log.clone()]);
        inputs.extend(Inputs::of([settings.clone()]));
        for output in [&log, &settings] {
            let error = write_bytes(output, &inputs, b"x").unwrap_err().to_string();
            assert!(error.contains(&output.display().to_string()), "{error}");
        }
        assert!(!settings.exists());
    }

    #[test]
    fn an_absent_input_named_in_the_working_directory_is_refused() {
        // A bare name is an entry of `.`: an output of that name must still be seen as the
        // input it would replace, though neither exists yet.
        let name = PathBuf::from("safe-write-test-absent-input.toml");
        let inputs = Inputs::of([name.clone()]);
        let refused = write_bytes(&name, &inputs, b"x").is_err();
        let _ = fs::remove_file(&name);
        assert!(refused);
    }

    #[test]
    fn the_scratch_is_beside_the_final_path_and_keeps_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("lamport.png");
        let new = NewFile::begin(&out, &Inputs::none()).unwrap();
        assert_eq!(new.path(), out);
        let temp = new.temp_path();
        assert_eq!(temp.file_name(), out.file_name());
        let scratch = temp.parent().unwrap();
        assert_eq!(scratch.parent(), Some(dir.path()));
        assert!(scratch.is_dir());
    }

    #[test]
    fn a_full_disk_is_told_when_the_file_is_finished() {
        let full = File::options().write(true).open("/dev/full").unwrap();
        let mut out = BufWriter::new(full);
        out.write_all(b"a result that does not fit").unwrap();
        let error = finish(out).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::StorageFull);
    }
}
