//! Files firedrill reads and writes, so that nothing is lost and nothing grows without bound:
//! every input is read with a size limit and must be a regular file (a FIFO with no writer
//! would block for ever; `/dev/zero` never ends), and every output file lands whole — written
//! to a temporary file in the same directory and renamed over its name — and never replaces
//! an existing file unless asked to (`--force`), and never the command's own input.
//!
//! Streams that must be appended line by line (transcripts) are not written here: they are
//! created with `create_new` by [`crate::session::transcript::Writer`].

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// The largest transcript firedrill reads (its drill text is at most 10 MB).
pub const MAX_TRANSCRIPT_BYTES: u64 = 64 * 1024 * 1024;
/// The largest `play --responses` file.
pub const MAX_RESPONSES_BYTES: u64 = 10 * 1024 * 1024;
/// The largest `calibrate --json` report `--merge` reads.
pub const MAX_CALIBRATION_BYTES: u64 = 256 * 1024 * 1024;

/// `10.5 MB`, `512 KB`, `12 bytes`: a size as a person reads it (1 MB = 1024 × 1024 bytes),
/// never rounded down to the limit it exceeds.
#[must_use]
pub fn human_size(bytes: u64) -> String {
    const KB: f64 = 1024.0;
    let b = bytes as f64;
    if b >= KB * KB {
        let mb = b / (KB * KB);
        // One decimal, rounded up, so that 10 MB + 1 byte is not "10.0 MB".
        let tenths = (mb * 10.0).ceil() / 10.0;
        if tenths.fract() == 0.0 {
            format!("{tenths:.0} MB")
        } else {
            format!("{tenths:.1} MB")
        }
    } else if b >= KB {
        format!("{:.0} KB", (b / KB).ceil())
    } else {
        format!("{bytes} bytes")
    }
}

/// Reads `path`, which must be a regular file of at most `limit` bytes; `what` names it in
/// the message ("transcript", "responses file").
///
/// # Errors
/// A message saying what is wrong and how to fix it.
pub fn read_limited(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>, String> {
    let p = path.display();
    let metadata = fs::metadata(path).map_err(|e| format!("cannot read the {what} {p}: {e}"))?;
    if !metadata.is_file() {
        let kind = if metadata.is_dir() {
            "a directory"
        } else {
            "not a regular file (a pipe, a device or a socket)"
        };
        return Err(format!(
            "cannot read the {what} {p}: it is {kind}; give the path of a file"
        ));
    }
    let too_big = |size: u64| {
        format!(
            "the {what} {p} is {} or more; firedrill reads at most {} from it (is this the right file?)",
            human_size(size),
            human_size(limit)
        )
    };
    if metadata.len() > limit {
        return Err(too_big(metadata.len()));
    }
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|f| f.take(limit + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read the {what} {p}: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

/// As [`read_limited`], as UTF-8 text (a UTF-8 byte-order mark is dropped).
///
/// # Errors
/// As [`read_limited`], and text that is not UTF-8.
pub fn read_text_limited(path: &Path, limit: u64, what: &str) -> Result<String, String> {
    let bytes = read_limited(path, limit, what)?;
    let mut text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].split(|b| *b == b'\n').count();
        format!(
            "the {what} {}:{line} is not UTF-8 text (byte 0x{:02x}); save it as UTF-8",
            path.display(),
            e.as_bytes()[at]
        )
    })?;
    if text.starts_with('\u{feff}') {
        text.drain(..'\u{feff}'.len_utf8());
    }
    Ok(text)
}

/// Whether `a` and `b` name the same file (or would, once created): compares canonical
/// paths, canonicalising the parent directory of a path that does not exist yet.
#[must_use]
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (canonical(a), canonical(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

fn canonical(path: &Path) -> Option<PathBuf> {
    if let Ok(p) = fs::canonicalize(path) {
        return Some(p);
    }
    let name = path.file_name()?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(fs::canonicalize(parent).ok()?.join(name))
}

/// An output file a command will write, checked before any work starts.
#[derive(Debug, Clone)]
pub struct Output {
    pub path: PathBuf,
    /// The flag that named it, for messages (`--debrief`, `-o`).
    pub flag: &'static str,
}

/// Checks that the `outputs` may be written: none names one of the `inputs` or another
/// output, and none exists unless `force` (transcripts, in `never_replace`, never replace a file).
///
/// # Errors
/// A message naming the file and the way out.
pub fn check_outputs(
    outputs: &[Output],
    never_replace: &[Output],
    inputs: &[&Path],
    force: bool,
) -> Result<(), String> {
    let all: Vec<&Output> = never_replace.iter().chain(outputs).collect();
    for (i, out) in all.iter().enumerate() {
        let p = out.path.display();
        if let Some(input) = inputs.iter().find(|input| same_file(&out.path, input)) {
            return Err(format!(
                "{} {p} names the input {} itself; writing it would destroy it (choose another file)",
                out.flag,
                input.display()
            ));
        }
        if let Some(other) = all[..i].iter().find(|o| same_file(&o.path, &out.path)) {
            return Err(format!(
                "{} and {} both name {p}; choose two different files",
                other.flag, out.flag
            ));
        }
        let exists = fs::symlink_metadata(&out.path).is_ok();
        if exists && i < never_replace.len() {
            return Err(format!(
                "{} {p} already exists; firedrill never overwrites a transcript (continue it with --resume, or choose another file)",
                out.flag
            ));
        }
        if exists && !force {
            return Err(format!(
                "{} {p} already exists; choose another file, or add --force to replace it",
                out.flag
            ));
        }
        if exists && !fs::metadata(&out.path).is_ok_and(|m| m.is_file()) {
            return Err(format!(
                "{} {p} exists and is not a regular file; choose another file",
                out.flag
            ));
        }
    }
    Ok(())
}

/// Writes `path` whole or not at all: `write` fills a temporary file in the same directory,
/// which is synced and renamed over `path`. On any error the temporary file is removed and
/// `path` is as it was.
///
/// # Errors
/// I/O, from `write`, the file system or the rename.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
    let (temp, file) = create_temp(dir, &name.to_string_lossy())?;
    let result = (|| {
        let mut out = io::BufWriter::new(file);
        write(&mut out)?;
        let file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// A new, hidden temporary file next to the output.
fn create_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    let pid = std::process::id();
    let mut attempt = 0u32;
    loop {
        let temp = dir.join(format!(".{name}.{pid}.{attempt}.tmp"));
        match OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(f) => return Ok((temp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_over_a_limit_are_not_rounded_down_to_it() {
        assert_eq!(human_size(10 * 1024 * 1024), "10 MB");
        assert_eq!(human_size(10 * 1024 * 1024 + 1), "10.1 MB");
        assert_eq!(human_size(10 * 1024 * 1024 + 512 * 1024), "10.5 MB");
        assert_eq!(human_size(2048), "2 KB");
        assert_eq!(human_size(12), "12 bytes");
    }
}
