//! Where firedrill keeps what outlives one command: the war room's rooms and the history
//! store. One place decides, so `serve --data` and `history --db` agree by default.

use std::path::PathBuf;

/// The platform's data directory for firedrill (`$XDG_DATA_HOME/firedrill` on Linux,
/// `~/Library/Application Support/firedrill` on macOS, `%APPDATA%\firedrill` on Windows).
///
/// # Errors
/// The platform names no data directory (no home directory is set); the message says which
/// flag to give instead.
pub fn data_dir(flag: &str) -> Result<PathBuf, String> {
    dirs::data_dir()
        .map(|dir| dir.join("firedrill"))
        .ok_or_else(|| format!("this machine names no data directory for firedrill (is $HOME set?); give one with {flag}"))
}
