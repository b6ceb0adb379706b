//! A VM's log file as it lies on disk: `vm-<id>.log` as a run writes it, or `vm-<id>.log.gz` as a
//! study keeps it.
//!
//! A study's trials are evidence: the figures of its report must be recomputable from the logs
//! it keeps, and kept logs are large, so `experiment --compress-logs` gzips them. Everything that
//! knows about the two forms is here, so they can never drift apart: the file names (the run's
//! log drain creates the plain name, the analysis recognises both), the one function that opens
//! a log for reading line by line whatever its form, and the one that turns a plain log into
//! its kept form. The compressed form is the same bytes, so a log reads back identically, line
//! numbers included.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use lc_core::vm_id::VmId;

/// How a VM log is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Storage {
    /// `vm-<id>.log`, as the run wrote it.
    Plain,
    /// `vm-<id>.log.gz`, as a study keeps it.
    Gzip,
}

impl Storage {
    /// Both forms, the run's first.
    pub(crate) const ALL: [Storage; 2] = [Storage::Plain, Storage::Gzip];

    fn suffix(self) -> &'static str {
        match self {
            Storage::Plain => ".log",
            Storage::Gzip => ".log.gz",
        }
    }
}

/// The file name of VM `vm`'s log in the given form: `vm-3.log`, `vm-3.log.gz`.
pub fn file_name(vm: VmId, storage: Storage) -> String {
    format!("vm-{vm}{}", storage.suffix())
}

/// One VM's log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmLog {
    pub vm: VmId,
    pub path: PathBuf,
    pub storage: Storage,
}

/// Why a log could not be put in its kept form; the plain log is then left as it was.
#[derive(Debug, thiserror::Error)]
#[error("cannot compress {} into {}: {source}", path.display(), kept.display())]
pub struct CompressError {
    /// The plain log.
    pub(crate) path: PathBuf,
    /// The compressed file it was to become.
    pub(crate) kept: PathBuf,
    pub(crate) source: io::Error,
}

impl VmLog {
    /// The VM log at `path`, if its file name is one: `vm-<id>.log` or `vm-<id>.log.gz`, with a
    /// 1-based id of digits only and no leading zero (so `vm-01.log` cannot pose as a second
    /// VM 1).
    pub fn at(path: &Path) -> Option<VmLog> {
        let name = path.file_name()?.to_str()?;
        let rest = name.strip_prefix("vm-")?;
        Storage::ALL.into_iter().find_map(|storage| {
            let id = rest.strip_suffix(storage.suffix())?;
            if id.is_empty() || id.starts_with('0') || !id.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some(VmLog {
                vm: id.parse().ok()?,
                path: path.to_path_buf(),
                storage,
            })
        })
    }

    /// The file's name as it is on disk (`vm-2.log.gz`): what findings cite.
    pub fn name(&self) -> String {
        file_name(self.vm, self.storage)
    }

    /// Opens the log to be read line by line; a gzip log is decompressed as it is read, so
    /// the reader sees the very bytes the run wrote.
    pub fn open(&self) -> io::Result<Box<dyn BufRead + Send>> {
        const BUFFER: usize = 1 << 16;
        let file = File::open(&self.path)?;
        Ok(match self.storage {
            Storage::Plain => Box::new(BufReader::with_capacity(BUFFER, file)),
            // Multi-member: a log gzipped in pieces (or by another tool) still reads whole.
            Storage::Gzip => Box::new(BufReader::with_capacity(
                BUFFER,
                MultiGzDecoder::new(BufReader::with_capacity(BUFFER, file)),
            )),
        })
    }

    /// Puts a plain log in its kept form: writes `vm-<id>.log.gz` beside it and only then
    /// removes the plain file, so a failure at any point leaves the plain log whole (and no
    /// half-written `.gz`, which would be read as a second log of the same VM). A log already
    /// compressed is returned as it is.
    pub fn compress(&self) -> Result<VmLog, CompressError> {
        if self.storage == Storage::Gzip {
            return Ok(self.clone());
        }
        let kept_name = file_name(self.vm, Storage::Gzip);
        let kept = self.path.with_file_name(&kept_name);
        let fail = |source| CompressError {
            path: self.path.clone(),
            kept: kept.clone(),
            source,
        };
        if kept.exists() {
            // Both forms of one log would be ambiguous evidence; never overwrite either.
            return Err(fail(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "that file already exists",
            )));
        }
        // Not a VM log name until it is complete: the rename below is the commit.
        let partial = self.path.with_file_name(format!("{kept_name}.partial"));
        let written = write_gzip(&self.path, &partial).and_then(|()| fs::rename(&partial, &kept));
        if let Err(e) = written {
            let _ = fs::remove_file(&partial);
            return Err(fail(e));
        }
        fs::remove_file(&self.path).map_err(fail)?;
        Ok(VmLog {
            vm: self.vm,
            path: kept,
            storage: Storage::Gzip,
        })
    }
}

/// Gzips `from` into a new file `to`, on disk (synced) before it returns.
fn write_gzip(from: &Path, to: &Path) -> io::Result<()> {
    let mut input = File::open(from)?;
    let output = BufWriter::with_capacity(1 << 16, File::create(to)?);
    // Level 9: kept logs are written once and stored for good; on these repetitive lines it is
    // still fast next to the run that made them.
    let mut encoder = GzEncoder::new(output, flate2::Compression::best());
    io::copy(&mut input, &mut encoder)?;
    let file = encoder.finish()?.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn recognises_both_forms_of_a_vm_log_name() {
        let log = |name: &str| VmLog::at(Path::new(name)).map(|l| (l.vm, l.storage));
        assert_eq!(log("vm-1.log"), Some((VmId::literal(1), Storage::Plain)));
        assert_eq!(
            log("run/vm-12.log"),
            Some((VmId::literal(12), Storage::Plain))
        );
        assert_eq!(log("vm-3.log.gz"), Some((VmId::literal(3), Storage::Gzip)));
        for name in [
            "vm-0.log",
            "vm-.log",
            "vm-1.txt",
            "vm-+1.log",
            "x-1.log",
            "vm-1.log.bak",
            "vm-01.log.gz",
            "vm-1.gz",
            "vm-1.log.gz.partial",
        ] {
            assert_eq!(log(name), None, "{name}");
        }
        assert_eq!(file_name(VmId::literal(7), Storage::Gzip), "vm-7.log.gz");
        assert_eq!(
            VmLog::at(Path::new("/r/vm-2.log.gz")).unwrap().name(),
            "vm-2.log.gz"
        );
    }

    fn read_all(log: &VmLog) -> Vec<u8> {
        let mut bytes = Vec::new();
        log.open().unwrap().read_to_end(&mut bytes).unwrap();
        bytes
    }

    #[test]
    fn a_compressed_log_reads_back_byte_for_byte_and_replaces_the_plain_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vm-4.log");
        let text: String = (1..=5000)
            .map(|i| {
                format!(
                    "2000-01-01T00:00:{:02}.000000Z INFO internal, lc: {i}, vm: 4\n",
                    i % 60
                )
            })
            .collect();
        fs::write(&path, &text).unwrap();
        let plain = VmLog::at(&path).unwrap();
        assert_eq!(read_all(&plain), text.as_bytes());

        let kept = plain.compress().unwrap();
        assert_eq!(kept.path, dir.path().join("vm-4.log.gz"));
        assert_eq!(kept.storage, Storage::Gzip);
        assert!(!path.exists(), "the plain log is removed");
        let names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["vm-4.log.gz"], "no partial file is left behind");
        assert!(fs::metadata(&kept.path).unwrap().len() < text.len() as u64 / 5);
        assert_eq!(read_all(&kept), text.as_bytes());
        assert_eq!(
            kept.compress().unwrap(),
            kept,
            "compressing twice changes nothing"
        );
    }

    #[test]
    fn a_log_that_cannot_be_compressed_is_left_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vm-1.log");
        fs::write(&path, "a line\n").unwrap();
        // Something is already where the compressed file should go.
        fs::create_dir(dir.path().join("vm-1.log.gz")).unwrap();
        let error = VmLog::at(&path).unwrap().compress().unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "cannot compress {} into {}: that file already exists",
                path.display(),
                dir.path().join("vm-1.log.gz").display()
            )
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "a line\n");
        assert!(!dir.path().join("vm-1.log.gz.partial").exists());
    }

    #[test]
    fn a_gzip_log_made_in_pieces_reads_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vm-2.log.gz");
        let mut bytes = Vec::new();
        for part in ["first line\n", "second line\n"] {
            let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(part.as_bytes()).unwrap();
            bytes.extend(encoder.finish().unwrap());
        }
        fs::write(&path, bytes).unwrap();
        assert_eq!(
            read_all(&VmLog::at(&path).unwrap()),
            b"first line\nsecond line\n"
        );
    }
}
