//! Transcripts: a drill session's inputs and nothing else, as JSON Lines. The header holds
//! the format version, the drill's full text and its SHA-256, the seed and the clock; then
//! one line per accepted command with its simulated time and role. Everything else — the
//! system's behaviour, alerts, scores — is recomputed from these by replay.
//!
//! Each line is written and flushed as it is accepted, so a killed process loses nothing
//! that was typed; a torn last line (killed mid-write) is dropped on reading — with a note
//! from every command that reads one — and cut off before appending. A last line that is
//! complete but lacks its newline is kept. Reading is bounded (file size, command count).

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Session;
use crate::drill::{self, Drill};
use crate::sim::SimTime;

/// The transcript format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// The most commands a transcript may hold (a long drill has a few hundred).
pub const MAX_LINES: usize = 200_000;

/// How simulated time moved in the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ClockMode {
    /// Time moves only with `wait`.
    Turns,
    /// Time runs at a multiple of wall time.
    Realtime,
}

impl ClockMode {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ClockMode::Turns => "turns",
            ClockMode::Realtime => "realtime",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub firedrill_transcript: u32,
    pub drill_name: String,
    pub drill_sha256: String,
    pub seed: u64,
    pub clock: ClockMode,
    /// Realtime speed at the start (× wall time).
    pub speed: f64,
    /// The drill file's full text.
    pub drill: String,
    /// Who held each role from the start (`--people ops=Ana,ic=Bo`), as `[role, person]`
    /// pairs; `assign` commands in the lines change them as the session goes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub people: Vec<(String, String)>,
}

impl Header {
    #[must_use]
    pub fn new(drill_text: &str, drill: &Drill, seed: u64, clock: ClockMode, speed: f64) -> Self {
        Header {
            firedrill_transcript: FORMAT_VERSION,
            drill_name: drill.name.clone(),
            drill_sha256: sha256_hex(drill_text),
            seed,
            clock,
            speed,
            drill: drill_text.to_owned(),
            people: Vec::new(),
        }
    }
}

/// One accepted command (or, in a war room, an ad-hoc inject).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    /// Simulated time in nanoseconds from the start of the drill.
    pub at_ns: u64,
    pub role: String,
    pub input: String,
    /// Who typed it, in a war room (`firedrill serve`); absent for a session at one keyboard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// An ad-hoc inject a facilitator pushed, from this sender: `input` is the message and
    /// `role` the role it is addressed to, or [`EVERYONE`]. Replay moves time to it and
    /// changes nothing else (an inject is news for people, not an input of the simulation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inject_from: Option<String>,
}

/// The `role` of an inject line addressed to every role.
pub const EVERYONE: &str = "*";

impl Line {
    #[must_use]
    pub fn at(&self) -> SimTime {
        SimTime::from_nanos(self.at_ns)
    }
}

#[must_use]
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

/// Why a transcript could not be read or replayed.
#[derive(Debug, thiserror::Error)]
pub enum TranscriptError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}:{line}: {message}")]
    Malformed {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error(
        "{path}: the drill text does not match its recorded SHA-256 (the transcript was edited or damaged)"
    )]
    Checksum { path: PathBuf },
    #[error("{path}: the embedded drill does not load:\n{message}")]
    Drill { path: PathBuf, message: String },
    #[error("{path}:{line}: replay refused `{input}` at {at}: {message}")]
    Replay {
        path: PathBuf,
        line: usize,
        input: String,
        at: String,
        message: String,
    },
}

/// A transcript read from disk.
#[derive(Debug, Clone)]
pub struct Transcript {
    pub header: Header,
    pub lines: Vec<Line>,
    /// Byte length of the complete lines (a torn last line lies beyond it).
    pub complete_len: u64,
    pub torn_tail: bool,
}

impl Transcript {
    /// Reads a transcript; a torn last line is dropped (and reported in `torn_tail`). A last
    /// line that is complete JSON without its final newline is a complete line: it was
    /// accepted, and [`Writer::append`] adds the newline before writing after it.
    ///
    /// The file must be a regular file of at most [`crate::files::MAX_TRANSCRIPT_BYTES`]
    /// bytes holding at most [`MAX_LINES`] commands.
    ///
    /// # Errors
    /// I/O, a file too large, a malformed header or line, a version this build does not read.
    pub fn read(path: &Path) -> Result<Transcript, TranscriptError> {
        let bytes =
            crate::files::read_limited(path, crate::files::MAX_TRANSCRIPT_BYTES, "transcript")
                .map_err(|message| TranscriptError::Io {
                    path: path.to_owned(),
                    source: io::Error::other(message),
                })?;
        Self::parse(path, &bytes)
    }

    /// Reads a transcript from its bytes; `path` names it in errors.
    ///
    /// # Errors
    /// As [`Transcript::read`].
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Transcript, TranscriptError> {
        let malformed = |line: usize, message: String| TranscriptError::Malformed {
            path: path.to_owned(),
            line,
            message,
        };
        let mut header = None;
        let mut lines = Vec::new();
        let mut complete_len = 0u64;
        let mut torn_tail = false;
        let mut number = 0;
        let mut rest = bytes;
        while !rest.is_empty() {
            number += 1;
            let (raw, newline) = match rest.iter().position(|b| *b == b'\n') {
                Some(i) => (&rest[..=i], true),
                None => (rest, false),
            };
            rest = &rest[raw.len()..];
            let text = std::str::from_utf8(raw).map(str::trim);
            if !newline {
                // The last line has no newline: complete if it is a whole header or command.
                let whole = text.is_ok_and(|t| {
                    if t.is_empty() {
                        return true;
                    }
                    if header.is_none() {
                        serde_json::from_str::<Header>(t).is_ok()
                    } else {
                        serde_json::from_str::<Line>(t).is_ok()
                    }
                });
                if !whole {
                    torn_tail = true;
                    break;
                }
            }
            complete_len += raw.len() as u64;
            let mut text = text.map_err(|_| malformed(number, "not UTF-8".into()))?;
            if number == 1 {
                text = text.trim_start_matches('\u{feff}');
            }
            if text.is_empty() {
                continue;
            }
            if header.is_none() {
                let h: Header = serde_json::from_str(text).map_err(|e| {
                    malformed(number, format!("not a firedrill transcript header: {e}"))
                })?;
                if h.firedrill_transcript != FORMAT_VERSION {
                    return Err(malformed(
                        number,
                        format!(
                            "transcript format {} (this firedrill reads format {FORMAT_VERSION})",
                            h.firedrill_transcript
                        ),
                    ));
                }
                header = Some(h);
            } else {
                if lines.len() >= MAX_LINES {
                    return Err(malformed(
                        number,
                        format!(
                            "more than {MAX_LINES} commands; a drill session has at most that many (is this the right file?)"
                        ),
                    ));
                }
                lines.push(
                    serde_json::from_str(text)
                        .map_err(|e| malformed(number, format!("not a transcript line: {e}")))?,
                );
            }
        }
        let header = header.ok_or_else(|| malformed(1, "empty transcript: no header".into()))?;
        Ok(Transcript {
            header,
            lines,
            complete_len,
            torn_tail,
        })
    }

    /// The note to print when the last line was cut off mid-write, if it was.
    #[must_use]
    pub fn torn_note(&self, path: &Path, what_happens: &str) -> Option<String> {
        self.torn_tail.then(|| {
            format!(
                "note: the last line of {} was cut off mid-write (not a complete command); {what_happens}",
                path.display()
            )
        })
    }

    /// Loads the embedded drill, checking its checksum.
    ///
    /// # Errors
    /// A checksum mismatch or a drill that does not load.
    pub fn drill(&self, path: &Path) -> Result<Drill, TranscriptError> {
        if sha256_hex(&self.header.drill) != self.header.drill_sha256 {
            return Err(TranscriptError::Checksum {
                path: path.to_owned(),
            });
        }
        let name = format!("{} (in {})", self.header.drill_name, path.display());
        drill::load_str(&name, &self.header.drill).map_err(|e| TranscriptError::Drill {
            path: path.to_owned(),
            message: e.plain().to_string(),
        })
    }

    /// Replays every line into a new session, checking each is accepted at its recorded time.
    ///
    /// # Errors
    /// A line the session refuses, or one recorded before the time the session has reached.
    pub fn replay(&self, path: &Path) -> Result<Session, TranscriptError> {
        self.replay_with(path, &mut |session, t| {
            session.advance_to(t);
        })
    }

    /// As [`Transcript::replay`], moving time to each line's moment with `advance` (which must
    /// leave the session at that time), so a caller can look at the run on the way.
    ///
    /// # Errors
    /// As [`Transcript::replay`].
    pub fn replay_with(
        &self,
        path: &Path,
        advance: &mut dyn FnMut(&mut Session, SimTime),
    ) -> Result<Session, TranscriptError> {
        let drill = self.drill(path)?;
        let mut session = Session::new(drill, Some(self.header.seed));
        for (role, _) in &self.header.people {
            if !session.knows_role(role) {
                return Err(TranscriptError::Replay {
                    path: path.to_owned(),
                    line: 1,
                    input: String::new(),
                    at: session.clock_text(session.now()),
                    message: format!("the header's people: {}", session.unknown_role(role)),
                });
            }
        }
        session.set_people(self.header.people.clone());
        for (i, line) in self.lines.iter().enumerate() {
            let refuse = |session: &Session, message: String| TranscriptError::Replay {
                path: path.to_owned(),
                line: i + 2,
                input: line.input.clone(),
                at: session.clock_text(line.at()),
                message,
            };
            if line.at() < session.now() {
                return Err(refuse(
                    &session,
                    format!(
                        "it is recorded before {}, which the session already reached",
                        session.clock_text(session.now())
                    ),
                ));
            }
            let everyone = line.inject_from.is_some() && line.role == EVERYONE;
            if !everyone && !session.knows_role(&line.role) {
                return Err(refuse(&session, session.unknown_role(&line.role)));
            }
            advance(&mut session, line.at());
            if let Some(from) = &line.inject_from {
                let to = (!everyone).then_some(line.role.as_str());
                session.note_inject(to, from, &line.input);
                continue;
            }
            session
                .execute_as(&line.role, &line.input)
                .map_err(|e| refuse(&session, e.to_string()))?;
        }
        Ok(session)
    }
}

/// Appends lines to a transcript file, flushing each one.
pub struct Writer {
    file: File,
}

impl Writer {
    /// Creates `path`, which must not exist (a transcript is never overwritten), and writes
    /// the header.
    ///
    /// # Errors
    /// I/O; `AlreadyExists` if `path` exists.
    pub fn create(path: &Path, header: &Header) -> io::Result<Writer> {
        let mut w = Writer {
            file: OpenOptions::new().write(true).create_new(true).open(path)?,
        };
        w.write_json(&serde_json::to_string(header).map_err(io::Error::other)?)?;
        Ok(w)
    }

    /// Opens `path` to append after its `complete_len` bytes (cutting off a torn line).
    ///
    /// # Errors
    /// I/O.
    pub fn append(path: &Path, complete_len: u64) -> io::Result<Writer> {
        let mut file = OpenOptions::new().read(true).write(true).open(path)?;
        file.set_len(complete_len)?;
        // A complete last line written without its newline gets one before anything follows.
        if complete_len > 0 {
            let mut last = [0u8; 1];
            file.seek(SeekFrom::Start(complete_len - 1))?;
            file.read_exact(&mut last)?;
            file.seek(SeekFrom::End(0))?;
            if last[0] != b'\n' {
                file.write_all(b"\n")?;
                file.flush()?;
            }
        }
        file.seek(SeekFrom::End(0))?;
        Ok(Writer { file })
    }

    /// Writes one accepted command and flushes it to the operating system.
    ///
    /// # Errors
    /// I/O.
    pub fn write(&mut self, line: &Line) -> io::Result<()> {
        self.write_json(&serde_json::to_string(line).map_err(io::Error::other)?)
    }

    fn write_json(&mut self, json: &str) -> io::Result<()> {
        // One write call per line, so a kill cannot interleave half lines.
        let mut buf = String::with_capacity(json.len() + 1);
        buf.push_str(json);
        buf.push('\n');
        self.file.write_all(buf.as_bytes())?;
        self.file.flush()
    }
}
