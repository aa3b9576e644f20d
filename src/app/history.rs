//! The `history` commands and the recording that `run` and `play` do with `--team`: flags
//! into settings ([`Recording`]), then calls into [`crate::history`]. The wall clock is read
//! here only, as the default for when a session was played.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::{AppError, Exit, check_outputs, to_json, write_output, write_stdout};
use crate::cli::{HistoryArgs, HistoryCommand, HistoryFilter, HistoryReportArgs, RecordArgs};
use crate::history::figures::{self, Figures};
use crate::history::store::SessionRow;
use crate::history::{self, Added, Filter, HistoryError, PlayedAt, Store};
use crate::sanitize::shown_line;
use crate::score::timings::duration_text;
use crate::{files, report};

/// What `run` or `play` records at the end, checked before the session starts.
pub struct Recording {
    store: Store,
    team: String,
    people: Vec<(String, String)>,
    played_at: PlayedAt,
}

/// Turns `--team`, `--people`, `--played-at`, `--no-record` and `--db` into a recording, and
/// opens the store (so a damaged or newer store is refused before the session starts).
pub fn recording(args: &RecordArgs) -> Result<Option<Recording>, AppError> {
    let Some(team) = args.team.as_ref().filter(|_| !args.no_record) else {
        return Ok(None);
    };
    history::check_name("--team", team).map_err(AppError::Io)?;
    let people = match &args.people {
        Some(text) => history::parse_people(text).map_err(AppError::Io)?,
        None => Vec::new(),
    };
    let played_at = played_at(args.played_at.as_deref(), None)?;
    let store = open(args.db.clone())?;
    Ok(Some(Recording {
        store,
        team: team.clone(),
        people,
        played_at,
    }))
}

impl Recording {
    /// Refuses `--people` naming a role the drill does not have, before the session starts.
    pub fn check_roles(&self, drill: &crate::drill::Drill) -> Result<(), AppError> {
        for (role, _) in &self.people {
            if !drill.roles.iter().any(|r| &r.id == role) {
                let known: Vec<&str> = drill.roles.iter().map(|r| r.id.as_str()).collect();
                return Err(AppError::Io(format!(
                    "--people: drill `{}` has no role `{}` (its roles: {})",
                    drill.name,
                    shown_line(role),
                    known.join(", ")
                )));
            }
        }
        Ok(())
    }
}

/// The `--people` of `run` or `play`, checked against `drill`'s roles before the session
/// starts: who held each role, for the session, its transcript and its debrief.
pub fn people(
    args: &RecordArgs,
    drill: &crate::drill::Drill,
) -> Result<Vec<(String, String)>, AppError> {
    let Some(text) = &args.people else {
        return Ok(Vec::new());
    };
    let people = history::parse_people(text).map_err(AppError::Io)?;
    for (role, _) in &people {
        if !drill.roles.iter().any(|r| &r.id == role) {
            let known: Vec<&str> = drill.roles.iter().map(|r| r.id.as_str()).collect();
            return Err(AppError::Io(format!(
                "--people: drill `{}` has no role `{}` (its roles: {})",
                drill.name,
                shown_line(role),
                known.join(", ")
            )));
        }
    }
    Ok(people)
}

/// Records a finished session's transcript text and says so on standard error.
pub fn record(recording: &mut Recording, transcript_text: &str) -> Result<(), AppError> {
    let r = history::record(
        &mut recording.store,
        transcript_text,
        &recording.team,
        &recording.people,
        &recording.played_at,
    )
    .map_err(|e| history_error(&e))?;
    let path = recording.store.path().display();
    match r.added {
        Added::New(id) => eprintln!(
            "recorded as session {id} of team {} in {path}",
            shown_line(&recording.team)
        ),
        Added::Already(id) => eprintln!("already recorded as session {id} in {path}"),
    }
    Ok(())
}

fn history_error(e: &HistoryError) -> AppError {
    match e {
        HistoryError::Transcript(t) => AppError::Findings(format!("not recorded: {t}")),
        _ => AppError::Io(format!("not recorded: {e}")),
    }
}

fn store_error(e: &history::StoreError) -> AppError {
    AppError::Io(e.to_string())
}

/// `--played-at`, or `default_ms`, or the wall clock now.
fn played_at(text: Option<&str>, default_ms: Option<i64>) -> Result<PlayedAt, AppError> {
    match text {
        Some(t) => PlayedAt::parse(t).map_err(|e| AppError::Io(format!("--played-at: {e}"))),
        None => Ok(PlayedAt::from_unix_ms(default_ms.unwrap_or_else(now_ms))),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn db(flag: Option<PathBuf>) -> Result<PathBuf, AppError> {
    history::db_path(flag).map_err(AppError::Io)
}

/// Opens (creating it if need be) the store for writing.
fn open(flag: Option<PathBuf>) -> Result<Store, AppError> {
    Store::open(&db(flag)?).map_err(|e| store_error(&e))
}

/// Opens an existing store, bringing its figures up to this scoring version.
fn open_existing(flag: Option<PathBuf>) -> Result<Store, AppError> {
    let mut store = Store::open_existing(&db(flag)?).map_err(|e| store_error(&e))?;
    let done = history::rescore(&mut store).map_err(|e| store_error(&e))?;
    if done.recomputed > 0 {
        eprintln!(
            "recomputed the figures of {} session(s) with scoring version {}",
            done.recomputed,
            figures::SCORING_VERSION
        );
    }
    for (id, e) in &done.failed {
        eprintln!("note: session {id} keeps the figures of its older scoring version: {e}");
    }
    Ok(store)
}

fn filter(f: &HistoryFilter) -> Result<Filter, AppError> {
    let since = match &f.since {
        Some(t) => Some(
            PlayedAt::parse(t)
                .map_err(|e| AppError::Io(format!("--since: {e}")))?
                .as_str()
                .to_owned(),
        ),
        None => None,
    };
    Ok(Filter {
        team: f.team.clone(),
        drill: f.drill.clone(),
        since,
    })
}

/// `firedrill history ...`.
pub fn run(args: &HistoryArgs) -> Result<Exit, AppError> {
    // `--db` goes anywhere; the listing's own flags only without a subcommand.
    let listing_flags = args.list.team.is_some()
        || args.list.drill.is_some()
        || args.list.since.is_some()
        || args.json;
    if args.command.is_some() && listing_flags {
        return Err(AppError::Io(
            "--team, --drill, --since and --json before a `history` subcommand belong to the \
             listing; give the subcommand's own flags after its name (`history report --team T`)"
                .into(),
        ));
    }
    match &args.command {
        None => list(args),
        Some(HistoryCommand::Show { id, json }) => show(args.db.clone(), *id, *json),
        Some(HistoryCommand::Debrief {
            id,
            output,
            format,
            force,
        }) => debrief(args.db.clone(), *id, output.as_deref(), *format, *force),
        Some(HistoryCommand::Add {
            transcripts,
            team,
            people,
            played_at,
        }) => add(
            args.db.clone(),
            transcripts,
            team,
            people.as_deref(),
            played_at.as_deref(),
        ),
        Some(HistoryCommand::Report(r)) => report_cmd(args.db.clone(), r),
    }
}

fn list(args: &HistoryArgs) -> Result<Exit, AppError> {
    let filter = filter(&args.list)?;
    let store = open_existing(args.db.clone())?;
    let rows = store.sessions(&filter).map_err(|e| store_error(&e))?;
    if args.json {
        return write_stdout(&to_json(&rows));
    }
    let mut out = String::new();
    if rows.is_empty() {
        out.push_str("no sessions recorded match\n");
    }
    for r in &rows {
        out.push_str(&row_text(r));
    }
    write_stdout(&out)
}

fn seconds_text(actual: Option<f64>, target: Option<f64>) -> String {
    let a = actual.map_or_else(|| "—".to_owned(), duration_text);
    match target {
        Some(t) => format!("{a} (target {})", duration_text(t)),
        None => a,
    }
}

fn row_text(r: &SessionRow) -> String {
    let score = r.score.map_or_else(|| "—".to_owned(), |s| s.to_string());
    let objectives = match (r.objectives_met, r.objectives_total) {
        (Some(m), Some(t)) if t > 0 => format!(", objectives {m}/{t}"),
        _ => String::new(),
    };
    let missed = if r.missed.is_empty() {
        "nothing".to_owned()
    } else {
        r.missed.join(", ")
    };
    format!(
        "#{} {} {} played {}: score {score}{objectives}; detect {}, mitigate {}; missed: {}\n",
        r.id,
        shown_line(&r.team),
        r.drill,
        r.played_at,
        seconds_text(r.detect_seconds, r.detect_target_seconds),
        seconds_text(r.mitigate_seconds, r.mitigate_target_seconds),
        shown_line(&missed)
    )
}

#[derive(serde::Serialize)]
struct Shown {
    session: SessionRow,
    people: Vec<Person>,
    scoring_version: u32,
    figures: Figures,
}

#[derive(serde::Serialize)]
struct Person {
    role: String,
    person: String,
}

fn show(db: Option<PathBuf>, id: i64, json: bool) -> Result<Exit, AppError> {
    let store = open_existing(db)?;
    let missing = || {
        AppError::Io(format!(
            "no session {id} in {}; `firedrill history` lists them",
            store.path().display()
        ))
    };
    let stored = store
        .session(id)
        .map_err(|e| store_error(&e))?
        .ok_or_else(missing)?;
    let figures = store
        .figures(id)
        .map_err(|e| store_error(&e))?
        .ok_or_else(missing)?;
    let row = store
        .sessions(&Filter::default())
        .map_err(|e| store_error(&e))?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(missing)?;
    if json {
        let shown = Shown {
            session: row,
            people: stored
                .people
                .iter()
                .map(|(role, person)| Person {
                    role: role.clone(),
                    person: person.clone(),
                })
                .collect(),
            scoring_version: stored.scoring_version,
            figures,
        };
        return write_stdout(&to_json(&shown));
    }
    let mut out = row_text(&row);
    if !stored.people.is_empty() {
        let people: Vec<String> = stored
            .people
            .iter()
            .map(|(r, p)| format!("{r}={}", shown_line(p)))
            .collect();
        let _ = writeln!(out, "people: {}", people.join(", "));
    }
    let _ = writeln!(
        out,
        "score {} (checklists {}/{}{})",
        figures.score,
        figures.checklist_earned,
        figures.checklist_possible,
        if figures.worse_than_none {
            "; more harm than no response at all"
        } else {
            ""
        }
    );
    for o in &figures.objectives {
        let _ = writeln!(
            out,
            "objective {}: {} against {} — {}",
            o.name,
            o.actual_seconds
                .map_or_else(|| "—".to_owned(), duration_text),
            duration_text(o.target_seconds),
            if o.met { "met" } else { "missed" }
        );
    }
    let timings: Vec<String> = figures
        .timings
        .iter()
        .map(|t| {
            format!(
                "{} {}",
                t.name,
                t.seconds.map_or_else(|| "—".to_owned(), duration_text)
            )
        })
        .collect();
    let _ = writeln!(out, "timings: {}", timings.join(", "));
    for t in &figures.tasks {
        let _ = writeln!(
            out,
            "task {}/{}: {} ({}/{} points)",
            t.role,
            t.task,
            t.status.replace('_', " "),
            t.earned,
            t.points
        );
    }
    let h = &figures.harm;
    let _ = writeln!(
        out,
        "harm: {} users harmed, each once ({} attempts arrived; failed attempts {}, rejected attempts {}, degraded answers {}, wrong answers {}); {} with no response",
        h.harmed,
        h.arrived,
        h.failed,
        h.rejected,
        h.degraded,
        h.wrong_answers,
        h.no_response_harmed
    );
    write_stdout(&out)
}

fn debrief(
    db_flag: Option<PathBuf>,
    id: i64,
    output: Option<&Path>,
    format: report::Format,
    force: bool,
) -> Result<Exit, AppError> {
    let path = db(db_flag.clone())?;
    check_outputs(output, "-o", &[], &[path.as_path()], force)?;
    let store = open_existing(db_flag)?;
    let stored = store
        .session(id)
        .map_err(|e| store_error(&e))?
        .ok_or_else(|| {
            AppError::Io(format!(
                "no session {id} in {}; `firedrill history` lists them",
                store.path().display()
            ))
        })?;
    let (_, session) = figures::replay_text(&format!("history session {id}"), &stored.transcript)
        .map_err(|e| AppError::Findings(e.to_string()))?;
    let text = format.render(&crate::score::debrief::debrief(&session));
    match output {
        Some(out) => {
            write_output(out, &text)?;
            Ok(Exit::Ok)
        }
        None => write_stdout(&text),
    }
}

fn add(
    db: Option<PathBuf>,
    transcripts: &[PathBuf],
    team: &str,
    people: Option<&str>,
    when: Option<&str>,
) -> Result<Exit, AppError> {
    history::check_name("--team", team).map_err(AppError::Io)?;
    let people = match people {
        Some(text) => history::parse_people(text).map_err(AppError::Io)?,
        None => Vec::new(),
    };
    if let Some(t) = when {
        played_at(Some(t), None)?;
    }
    let mut store = open(db)?;
    let mut exit = Exit::Ok;
    for path in transcripts {
        let text = files::read_text_limited(path, files::MAX_TRANSCRIPT_BYTES, "transcript")
            .map_err(AppError::Io)?;
        let modified = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_millis() as i64);
        let at = played_at(when, modified)?;
        let label = path.display().to_string();
        match history::record_named(&label, &mut store, &text, team, &people, &at) {
            Ok(r) => match r.added {
                Added::New(id) => eprintln!(
                    "{}: added as session {id} ({}, score {})",
                    path.display(),
                    r.drill,
                    r.score.unwrap_or(0)
                ),
                Added::Already(id) => eprintln!(
                    "{}: already recorded as session {id} (the same transcript); nothing added",
                    path.display()
                ),
            },
            Err(e) => {
                match &e {
                    HistoryError::Transcript(_) => eprintln!("firedrill: {e}"),
                    _ => eprintln!("firedrill: {}: {e}", path.display()),
                }
                exit = match (&e, exit) {
                    (HistoryError::Transcript(_), Exit::Ok) => Exit::Findings,
                    (HistoryError::Transcript(_), x) => x,
                    _ => Exit::Usage,
                };
            }
        }
    }
    Ok(exit)
}

fn report_cmd(db_flag: Option<PathBuf>, args: &HistoryReportArgs) -> Result<Exit, AppError> {
    let as_of = match &args.as_of {
        Some(t) => Some(PlayedAt::parse(t).map_err(|e| AppError::Io(format!("--as-of: {e}")))?),
        None => None,
    };
    let path = db(db_flag.clone())?;
    check_outputs(
        args.output.as_deref(),
        "-o",
        &[],
        &[path.as_path()],
        args.force,
    )?;
    let store = open_existing(db_flag)?;
    let filter = Filter {
        team: args.team.clone(),
        ..Filter::default()
    };
    let rows = store.sessions(&filter).map_err(|e| store_error(&e))?;
    let tasks = store.tasks(&filter).map_err(|e| store_error(&e))?;
    let trends = history::trends::build(&rows, &tasks, &library(), as_of.as_ref());
    let text = match args.format {
        report::Format::Html => report::trends::html(&trends),
        report::Format::Json => report::trends::json(&trends),
        report::Format::Markdown => report::trends::markdown(&trends),
    };
    match &args.output {
        Some(out) => {
            write_output(out, &text)?;
            Ok(Exit::Ok)
        }
        None => write_stdout(&text),
    }
}

/// The built-in drills with their authors' difficulty.
fn library() -> Vec<(&'static str, Option<u8>)> {
    crate::drill::library::BUILTIN
        .iter()
        .map(|(name, text)| (*name, crate::drill::library::Meta::of(text).difficulty))
        .collect()
}

/// Measured difficulty for `list`, from the store if there is one (never creating it).
pub fn measured_difficulty(
    db_flag: Option<PathBuf>,
) -> std::collections::BTreeMap<String, history::trends::Measured> {
    let Ok(path) = db(db_flag) else {
        return std::collections::BTreeMap::new();
    };
    match Store::open_read_only(&path) {
        Ok(Some(store)) => match store.sessions(&Filter::default()) {
            Ok(rows) => history::trends::measured(&rows),
            Err(e) => {
                eprintln!("note: measured difficulty left out: {e}");
                std::collections::BTreeMap::new()
            }
        },
        Ok(None) => std::collections::BTreeMap::new(),
        Err(e) => {
            eprintln!("note: measured difficulty left out: {e}");
            std::collections::BTreeMap::new()
        }
    }
}
