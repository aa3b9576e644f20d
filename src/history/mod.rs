//! A team's record: every finished session kept in one SQLite file ([`store`]), with the
//! figures of its debrief ([`figures`]) and the trends page built over them ([`report`]).
//!
//! [`record`] is the one way in: the command line (`run`, `play`, `history add`) and the war
//! room call it with a transcript's text. The store keeps the transcript itself, so every
//! figure can be recomputed ([`rescore`]). This module reads no clock: when a session was
//! played is an input ([`PlayedAt`]).

pub mod figures;
pub mod store;
pub mod trends;

use std::path::PathBuf;

use crate::session::Session;
use crate::session::transcript::{Header, Line, TranscriptError, sha256_hex};
pub use store::{Added, Filter, Store, StoreError};

/// Where the store is: `--db`, else `FIREDRILL_DB`, else `history.sqlite3` in firedrill's
/// data directory.
///
/// # Errors
/// No flag, no variable and no data directory.
pub fn db_path(flag: Option<PathBuf>) -> Result<PathBuf, String> {
    if let Some(path) = flag {
        return Ok(path);
    }
    if let Some(path) = std::env::var_os("FIREDRILL_DB").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    Ok(crate::paths::data_dir("--db")?.join("history.sqlite3"))
}

/// When a session was played: an RFC 3339 instant kept in UTC to the second
/// (`2026-03-02T09:30:00Z`), so stored dates sort as text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PlayedAt(String);

impl PlayedAt {
    /// Reads `2026-03-02`, `2026-03-02T09:30:00Z` or `2026-03-02T10:30:00+01:00`.
    ///
    /// # Errors
    /// A message naming the expected forms.
    pub fn parse(text: &str) -> Result<PlayedAt, String> {
        let t = text.trim();
        let full = if t.len() == 10 {
            format!("{t}T00:00:00Z")
        } else {
            t.to_owned()
        };
        let ms = crate::export::time::parse_rfc3339_ms(&full).map_err(|_| {
            format!(
                "invalid date \"{text}\": give a date (2026-03-02) or an RFC 3339 date-time (2026-03-02T09:30:00Z)"
            )
        })?;
        Ok(Self::from_unix_ms(ms))
    }

    /// The instant `ms` milliseconds after the Unix epoch (to the second).
    #[must_use]
    pub fn from_unix_ms(ms: i64) -> PlayedAt {
        let text = crate::export::time::format_rfc3339_ms(ms.div_euclid(1000) * 1000);
        // `2026-03-02T09:30:00.000Z` → `2026-03-02T09:30:00Z`
        PlayedAt(format!("{}Z", &text[..19]))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whole days since the Unix epoch.
    #[must_use]
    pub fn day(&self) -> i64 {
        crate::export::time::parse_rfc3339_ms(&self.0)
            .unwrap_or(0)
            .div_euclid(86_400_000)
    }
}

impl std::fmt::Display for PlayedAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads `ops=Ana,ic=Bo` into `(role, person)` pairs.
///
/// # Errors
/// A pair without `=`, or an empty role or name.
pub fn parse_people(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((role, person)) = part.split_once('=') else {
            return Err(format!(
                "--people: `{part}` is not ROLE=NAME; give e.g. --people ops=Ana,ic=Bo"
            ));
        };
        let (role, person) = (role.trim(), person.trim());
        if role.is_empty() || person.is_empty() {
            return Err(format!(
                "--people: `{part}` needs a role and a name; give e.g. --people ops=Ana,ic=Bo"
            ));
        }
        check_name("--people", person)?;
        out.push((role.to_owned(), person.to_owned()));
    }
    Ok(out)
}

/// Checks a team or person name: 1 to 100 characters, no control characters.
///
/// # Errors
/// A message saying what is wrong.
pub fn check_name(flag: &str, name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err(format!("{flag} needs a name"));
    }
    if name.chars().count() > 100 {
        return Err(format!("{flag}: a name has at most 100 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(format!(
            "{flag}: `{}` has control characters",
            crate::sanitize::shown_line(name)
        ));
    }
    Ok(())
}

/// Why a session could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Transcript(#[from] TranscriptError),
    #[error("{0}")]
    Input(String),
}

/// What [`record`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub added: Added,
    pub drill: String,
    /// The score, if the session was scored now (not for one already there).
    pub score: Option<u32>,
}

/// Records a finished session from its transcript's text: replays it, scores it, and adds it
/// with its figures in one transaction. The same transcript twice is a no-op
/// ([`Added::Already`]) that replays nothing. `people` are `(role, person)` pairs; people the
/// transcript assigned (`assign ROLE NAME`) are kept too.
///
/// # Errors
/// A bad team name or role, a transcript that does not replay or has not ended, the store.
pub fn record(
    store: &mut Store,
    transcript_text: &str,
    team: &str,
    people: &[(String, String)],
    played_at: &PlayedAt,
) -> Result<Recorded, HistoryError> {
    record_named(
        "the transcript",
        store,
        transcript_text,
        team,
        people,
        played_at,
    )
}

/// As [`record`], naming the transcript `label` (its file) in errors.
///
/// # Errors
/// As [`record`].
pub fn record_named(
    label: &str,
    store: &mut Store,
    transcript_text: &str,
    team: &str,
    people: &[(String, String)],
    played_at: &PlayedAt,
) -> Result<Recorded, HistoryError> {
    check_name("--team", team).map_err(HistoryError::Input)?;
    let hash = sha256_hex(transcript_text);
    let parsed = crate::session::transcript::Transcript::parse(
        std::path::Path::new(label),
        transcript_text.as_bytes(),
    )?;
    if let Some(id) = store.find(&hash)? {
        return Ok(Recorded {
            added: Added::Already(id),
            drill: parsed.header.drill_name,
            score: None,
        });
    }
    let (transcript, session) = figures::replay_text(label, transcript_text)?;
    if session.ended().is_none() {
        return Err(HistoryError::Input(
            "the session has not ended (no `end`, and the drill has not run its course); only finished sessions are recorded".into(),
        ));
    }
    for (role, _) in people {
        if !session.knows_role(role) {
            return Err(HistoryError::Input(format!(
                "--people: {}",
                session.unknown_role(role)
            )));
        }
    }
    let (debrief, figures) = figures::of_session(&session);
    let mut all: Vec<(String, String)> = people.to_vec();
    for r in &debrief.roles {
        if let Some(p) = &r.person {
            all.push((r.id.clone(), p.clone()));
        }
    }
    all.sort();
    all.dedup();
    let h = &transcript.header;
    let added = store.add(&store::NewSession {
        transcript_sha256: &hash,
        drill_name: &h.drill_name,
        drill_sha256: &h.drill_sha256,
        seed: h.seed,
        team,
        played_at: played_at.as_str(),
        transcript: transcript_text,
        people: &all,
        figures: &figures,
    })?;
    Ok(Recorded {
        added,
        drill: h.drill_name.clone(),
        score: matches!(added, Added::New(_)).then_some(figures.score),
    })
}

/// What [`rescore`] did.
#[derive(Debug, Default)]
pub struct Rescored {
    /// Sessions whose figures were recomputed.
    pub recomputed: usize,
    /// Sessions whose stored transcript no longer replays: their figures are left as they
    /// were, with the reason.
    pub failed: Vec<(i64, TranscriptError)>,
}

/// Recomputes the figures of every session scored by another scoring version.
///
/// # Errors
/// The store.
pub fn rescore(store: &mut Store) -> Result<Rescored, StoreError> {
    let mut done = Rescored::default();
    for id in store.stale()? {
        let Some(s) = store.session(id)? else {
            continue;
        };
        match figures::replay_text(&format!("history session {id}"), &s.transcript) {
            Ok((_, session)) => {
                let (_, f) = figures::of_session(&session);
                store.replace_figures(id, &f)?;
                done.recomputed += 1;
            }
            Err(e) => done.failed.push((id, e)),
        }
    }
    Ok(done)
}

/// A transcript's text, as [`crate::session::transcript::Writer`] writes it: the header, then
/// one JSON line per command.
#[must_use]
pub fn transcript_text(header: &Header, lines: &[Line]) -> String {
    let mut out = serde_json::to_string(header).expect("a header serialises");
    out.push('\n');
    for line in lines {
        out.push_str(&serde_json::to_string(line).expect("a line serialises"));
        out.push('\n');
    }
    out
}

/// The lines of a finished live session, as its transcript holds them: every accepted
/// command, and the `end` written when the drill ran its course.
#[must_use]
pub fn session_lines(session: &Session) -> Vec<Line> {
    let mut lines: Vec<Line> = session
        .team()
        .log
        .iter()
        .map(|e| Line {
            at_ns: e.at.nanos(),
            role: e.role.clone(),
            input: e.input.clone(),
            ..Line::default()
        })
        .collect();
    if let Some(at) = session.ended()
        && session.team().first("end").is_none()
        && at >= session.sim().end()
    {
        lines.push(Line {
            at_ns: at.nanos(),
            role: session.current_role().to_owned(),
            input: "end".to_owned(),
            ..Line::default()
        });
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn played_at_reads_dates_and_date_times_into_utc_seconds() {
        assert_eq!(
            PlayedAt::parse("2026-03-02").unwrap().as_str(),
            "2026-03-02T00:00:00Z"
        );
        assert_eq!(
            PlayedAt::parse("2026-03-02T10:30:15.750+01:00")
                .unwrap()
                .as_str(),
            "2026-03-02T09:30:15Z"
        );
        assert_eq!(
            PlayedAt::parse("2026-03-02T00:00:00Z").unwrap().day(),
            crate::export::time::days_from_civil(2026, 3, 2)
        );
        for bad in ["yesterday", "2026-02-30", "2026-3-2", ""] {
            assert!(PlayedAt::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn people_are_role_name_pairs() {
        assert_eq!(
            parse_people("ops=Ana, ic = Bo").unwrap(),
            vec![("ops".into(), "Ana".into()), ("ic".into(), "Bo".into())]
        );
        assert!(parse_people("ops").unwrap_err().contains("ROLE=NAME"));
        assert!(parse_people("=Ana").is_err());
        assert!(parse_people("ops=An\u{1b}a").is_err());
    }
}
