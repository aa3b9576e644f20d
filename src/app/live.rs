//! The commands that play a drill: `run` (live at the terminal, or resumed from a transcript),
//! `replay`, `play` (a scripted team: the reference, a wrong response or a responses file) and
//! `serve` (the war room), with the checks of their flags and files before anything is
//! created, the briefing, and the summary at the end.
//!
//! They do not play by rules of their own: the session does, driven by the terminal, a script
//! or the war room.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use super::{
    AppError, Exit, Source, check_outputs, history, load, read_and_replay, to_json, write_stdout,
};
use crate::cli::{PlayArgs, RunArgs};
use crate::drill::spec::Say;
use crate::drill::{self, Drill, library};
use crate::front::terminal::{self, LiveConfig};
use crate::session::play::Step;
use crate::session::summary::SessionSummary;
use crate::session::transcript::{self, ClockMode, Header, Line, Transcript};
use crate::session::{self, Session};
use crate::{files, report, score};

/// `firedrill serve`: checks the drills given and the data directory, then serves.
pub(super) fn serve(args: &crate::cli::ServeArgs) -> Result<Exit, AppError> {
    let data = match &args.data {
        Some(dir) => dir.clone(),
        None => crate::paths::data_dir("--data").map_err(AppError::Io)?,
    };
    if args.max_rooms == 0 {
        return Err(AppError::Io("--max-rooms must be at least 1".into()));
    }
    let mut drills = Vec::new();
    for path in &args.drills {
        let Source { text, drill } = load(path)?;
        drills.push((drill.name.clone(), text));
    }
    // A store that is there is checked now, so a damaged or newer one is refused before
    // anyone plays; a missing one is created by the first room that names its team.
    let history = if args.no_record {
        None
    } else {
        match crate::history::db_path(args.db.clone()) {
            Ok(path) => {
                crate::history::Store::open_read_only(&path)
                    .map_err(|e| AppError::Io(e.to_string()))?;
                Some(path)
            }
            Err(e) => {
                eprintln!("firedrill serve: rooms will not be recorded: {e}");
                None
            }
        }
    };
    let config = crate::front::serve::ServeConfig {
        listen: args.listen,
        data,
        drills,
        history,
        notify: args.notify.targets(),
        limits: crate::front::serve::Limits {
            max_rooms: args.max_rooms,
            ..crate::front::serve::Limits::default()
        },
    };
    crate::front::serve::run(&config).map_err(AppError::Io)?;
    Ok(Exit::Ok)
}

pub(super) fn live(args: &RunArgs) -> Result<Exit, AppError> {
    if !speed_in_bounds(args.speed) {
        return Err(AppError::Io(format!(
            "--speed must be between 0.01 and 1000, not {}",
            args.speed
        )));
    }
    let interactive = std::io::stdin().is_terminal();
    check_live_files(args)?;
    let mut recording = history::recording(&args.record)?;
    let mut fresh_header = None;
    let (mut session, writer, clock, speed, path) = if let Some(path) = &args.resume {
        let transcript = Transcript::read(path).map_err(|e| AppError::Io(e.to_string()))?;
        let speed = transcript.header.speed;
        if !speed_in_bounds(speed) {
            return Err(AppError::Findings(format!(
                "{}: the header's speed {speed} is not between 0.01 and 1000 (the transcript was edited or damaged)",
                path.display()
            )));
        }
        let session = transcript
            .replay(path)
            .map_err(|e| AppError::Findings(e.to_string()))?;
        let writer = transcript::Writer::append(path, transcript.complete_len)
            .map_err(|e| AppError::Io(format!("cannot append to {}: {e}", path.display())))?;
        if let Some(note) = transcript.torn_note(
            path,
            "it is dropped, and the session goes on from the commands before it",
        ) {
            eprintln!("{note}");
        }
        let clock = args.clock.unwrap_or(transcript.header.clock);
        (session, Some(writer), clock, speed, Some(path.clone()))
    } else {
        let default = PathBuf::from(library::BUILTIN[0].0);
        let Source { text, drill } = load(args.file.as_ref().unwrap_or(&default))?;
        if let Some(r) = &recording {
            r.check_roles(&drill)?;
        }
        let people = history::people(&args.record, &drill)?;
        let clock = args.clock.unwrap_or(if interactive {
            ClockMode::Realtime
        } else {
            ClockMode::Turns
        });
        let seed = args.seed.unwrap_or(drill.seed);
        let mut header = Header::new(&text, &drill, seed, clock, args.speed);
        header.people.clone_from(&people);
        let writer = match &args.transcript {
            Some(path) => Some(
                transcript::Writer::create(path, &header)
                    .map_err(|e| transcript_create_error(path, &e))?,
            ),
            None => None,
        };
        fresh_header = Some(header);
        let mut session = Session::new(drill, Some(seed));
        session.set_people(people);
        (session, writer, clock, args.speed, args.transcript.clone())
    };
    if session.ended().is_some() {
        return Err(AppError::Findings(
            "that session has already ended; `firedrill replay` shows its summary".into(),
        ));
    }
    let mut out = String::new();
    if args.resume.is_some() {
        let _ = writeln!(
            out,
            "resuming {} at {} ({} commands replayed)",
            session.drill().name,
            session.clock_text(session.now()),
            session.team().log.len()
        );
    } else {
        out.push_str(&crate::sanitize::shown(&briefing(&session, clock)));
    }
    write_stdout(&out)?;
    let targets = args.notify.targets();
    let (notify, delivery) = if targets.is_empty() {
        (None, None)
    } else {
        let (notifier, running) =
            crate::front::notify::Notifier::start(&targets).map_err(AppError::Io)?;
        let id = path.as_ref().and_then(|p| p.file_stem()).map_or_else(
            || format!("run-{}", std::process::id()),
            |s| s.to_string_lossy().into_owned(),
        );
        let link = args
            .metrics_listen
            .map(|addr| format!("http://{addr}/metrics"));
        let feed =
            crate::front::notify::Feed::new(&notifier, session.drill(), "session", &id, link);
        (Some(feed), Some(running))
    };
    let config = LiveConfig {
        clock,
        speed,
        transcript: writer,
        transcript_path: path,
        interactive,
        metrics_listen: args.metrics_listen,
        notify,
    };
    let problems = terminal::run(&mut session, config).map_err(|e| AppError::Io(e.to_string()));
    // The session is over (or stopped): its last alerts and updates go out before the exit.
    if let Some(delivery) = delivery {
        delivery.finish();
    }
    let problems = problems?;
    let exit = finish(&session, args.json, args.debrief.as_deref())?;
    if let Some(recording) = recording.as_mut() {
        record_live(recording, &session, fresh_header.as_ref(), args)?;
    }
    if problems.problems.is_empty() {
        return Ok(exit);
    }
    Err(AppError::Io(format!(
        "the input had {} problem(s), reported above; every command accepted is in the summary{}",
        problems.problems.len(),
        if args.transcript.is_some() || args.resume.is_some() {
            " and the transcript"
        } else {
            ""
        }
    )))
}

/// Records a finished live session: the transcript file it wrote, or (without one) the
/// header and the commands it accepted.
fn record_live(
    recording: &mut history::Recording,
    session: &Session,
    header: Option<&Header>,
    args: &RunArgs,
) -> Result<(), AppError> {
    if session.ended().is_none() {
        eprintln!("not recorded: the session did not end");
        return Ok(());
    }
    let text = match (args.transcript.as_ref().or(args.resume.as_ref()), header) {
        (Some(path), _) => {
            files::read_text_limited(path, files::MAX_TRANSCRIPT_BYTES, "transcript")
                .map_err(AppError::Io)?
        }
        (None, Some(header)) => {
            crate::history::transcript_text(header, &crate::history::session_lines(session))
        }
        (None, None) => return Ok(()),
    };
    history::record(recording, &text)
}

/// Whether a realtime speed is within the bounds the prompt and `--speed` state.
fn speed_in_bounds(speed: f64) -> bool {
    (MIN_SPEED..=MAX_SPEED).contains(&speed)
}

/// Realtime speed bounds (× wall time), as `--speed`, `speed` and a resumed header obey them.
const MIN_SPEED: f64 = 0.01;
const MAX_SPEED: f64 = 1000.0;

/// Checks `run`'s flags and files before anything is created: no flag that `--resume`
/// would ignore, no output over an input or an existing file, a `--metrics-listen` port
/// that binds.
fn check_live_files(args: &RunArgs) -> Result<(), AppError> {
    if let Some(resume) = &args.resume {
        if args.record.people.is_some() {
            return Err(AppError::Io(
                "--people cannot change a resumed session: the transcript carries who held each role (drop --people; `assign ROLE NAME` at the prompt changes one)".into(),
            ));
        }
        if args.seed.is_some() {
            return Err(AppError::Io(
                "--seed cannot change a resumed session: the transcript carries its seed (drop --seed)".into(),
            ));
        }
        if let Some(file) = &args.file {
            return Err(AppError::Io(format!(
                "--resume {} carries its own drill; drop the drill argument {}",
                resume.display(),
                file.display()
            )));
        }
    }
    let mut inputs: Vec<&Path> = Vec::new();
    inputs.extend(args.file.as_deref().filter(|p| p.exists()));
    inputs.extend(args.resume.as_deref());
    let transcript = transcript_outputs(args.transcript.as_ref());
    check_outputs(
        args.debrief.as_deref(),
        "--debrief",
        &transcript,
        &inputs,
        args.force,
    )?;
    if let Some(addr) = args.metrics_listen {
        // Bind once now, so that a busy port is found before the transcript exists.
        std::net::TcpListener::bind(addr)
            .map_err(|e| AppError::Io(format!("cannot serve metrics on {addr}: {e}")))?;
    }
    Ok(())
}

fn transcript_create_error(path: &Path, e: &std::io::Error) -> AppError {
    if e.kind() == std::io::ErrorKind::AlreadyExists {
        AppError::Io(format!(
            "--transcript {} already exists; firedrill never overwrites a transcript (continue it with --resume, or choose another file)",
            path.display()
        ))
    } else {
        AppError::Io(format!("cannot write {}: {e}", path.display()))
    }
}

/// Writes the HTML debrief of `session` to `path`, if one was asked for.
fn write_debrief(debrief: &score::debrief::Debrief, path: &Path) -> Result<(), AppError> {
    let page = report::html(debrief);
    files::write_atomic(path, |out| out.write_all(page.as_bytes()))
        .map_err(|e| AppError::Io(format!("cannot write the debrief {}: {e}", path.display())))?;
    eprintln!("debrief written to {}", path.display());
    Ok(())
}

/// The end-of-session summary with the score as the debrief has it (`--json`).
#[derive(serde::Serialize)]
struct Scored<'a> {
    #[serde(flatten)]
    summary: &'a SessionSummary,
    /// The debrief's score, rounded.
    score: u32,
    /// Its parts and arithmetic, as in the debrief's JSON.
    scoring: &'a score::debrief::Scoring,
}

fn briefing(session: &Session, clock: ClockMode) -> String {
    let d = session.drill();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}\n{}\n",
        d.title,
        "=".repeat(d.title.chars().count())
    );
    if !d.briefing.is_empty() {
        let _ = writeln!(out, "{}\n", d.briefing);
    }
    let roles: Vec<String> = d
        .roles
        .iter()
        .map(|r| format!("{} ({})", r.title, r.id))
        .collect();
    if !roles.is_empty() {
        let _ = writeln!(out, "Roles: {}.", roles.join(", "));
    }
    let how = match clock {
        ClockMode::Turns => "Time moves only when you `wait`.",
        ClockMode::Realtime => "The clock is running.",
    };
    let _ = writeln!(
        out,
        "It is {}. The drill lasts {}. {how} Type `help` for commands; prefix a command with a role (`ops: ack`) to act as that role.",
        session.clock_text(session.now()),
        d.duration
    );
    out
}

/// Writes the debrief page to `debrief` if asked, then prints the summary: as text, or as
/// JSON with the debrief's score.
fn finish(session: &Session, json: bool, debrief: Option<&Path>) -> Result<Exit, AppError> {
    let scored = (json || debrief.is_some()).then(|| score::debrief::debrief(session));
    if let (Some(d), Some(path)) = (&scored, debrief) {
        write_debrief(d, path)?;
    }
    let summary = SessionSummary::of(session);
    let text = match &scored {
        Some(d) if json => to_json(&Scored {
            summary: &summary,
            score: d.score,
            scoring: &d.scoring,
        }),
        _ => crate::sanitize::shown(&summary.render_text(session)).into_owned(),
    };
    write_stdout(&text)
}

pub(super) fn replay(path: &Path, json: bool) -> Result<Exit, AppError> {
    let session = read_and_replay(path)?;
    finish(&session, json, None)
}

/// The lines of the drill's wrong response `name`, or a message naming the ones it has.
fn wrong_response(drill: &Drill, name: &str) -> Result<Vec<Say>, AppError> {
    if let Some(r) = drill.wrong_responses.iter().find(|r| r.name == name) {
        return Ok(r.says.clone());
    }
    let names: Vec<String> = drill
        .wrong_responses
        .iter()
        .map(|r| format!("`{}`", r.name))
        .collect();
    let help = if names.is_empty() {
        "it defines none: add `wrong_responses: [Response(name: \"...\", says: [Say(...), ...])]`"
            .to_owned()
    } else {
        format!("its wrong responses are {}", names.join(", "))
    };
    Err(AppError::Findings(format!(
        "drill `{}` has no wrong response `{name}`\n  help: {help}",
        drill.name
    )))
}

/// The `--transcript` file, if given, as an output to check before any work.
fn transcript_outputs(path: Option<&PathBuf>) -> Vec<files::Output> {
    path.map(|p| files::Output {
        path: p.clone(),
        flag: "--transcript",
    })
    .into_iter()
    .collect()
}

pub(super) fn play(args: &PlayArgs) -> Result<Exit, AppError> {
    let mut inputs: Vec<&Path> = Vec::new();
    inputs.extend(Some(args.file.as_path()).filter(|p| p.exists()));
    inputs.extend(args.responses.as_deref());
    let transcripts = transcript_outputs(args.transcript.as_ref());
    check_outputs(
        args.debrief.as_deref(),
        "--debrief",
        &transcripts,
        &inputs,
        args.force,
    )?;
    let mut recording = history::recording(&args.record)?;
    let Source { text, drill } = load(&args.file)?;
    if let Some(r) = &recording {
        r.check_roles(&drill)?;
    }
    let people = history::people(&args.record, &drill)?;
    // The file line of each scripted line, for a responses file.
    let (says, file_lines): (Vec<Say>, Vec<usize>) = match &args.responses {
        Some(path) => read_responses(path, &drill, args.skip_bad_lines)?
            .into_iter()
            .map(|l| (l.say, l.line))
            .unzip(),
        None => match &args.wrong {
            Some(name) => (wrong_response(&drill, name)?, Vec::new()),
            None => (drill.reference.clone(), Vec::new()),
        },
    };
    // Where a scripted line is, for messages: `FILE:LINE` or the drill's own script.
    let place = |i: usize| match (&args.responses, file_lines.get(i)) {
        (Some(path), Some(line)) => format!("{}:{line}", path.display()),
        _ => match &args.wrong {
            Some(name) => format!(
                "{}: wrong response `{name}`, line {}",
                args.file.display(),
                i + 1
            ),
            None => format!("{}: reference, line {}", args.file.display(), i + 1),
        },
    };
    let mut refused = 0usize;
    let seed = args.seed.unwrap_or(drill.seed);
    let mut header = Header::new(&text, &drill, seed, ClockMode::Turns, 1.0);
    header.people.clone_from(&people);
    let mut writer = match &args.transcript {
        Some(path) => Some(
            transcript::Writer::create(path, &header)
                .map_err(|e| transcript_create_error(path, &e))?,
        ),
        None => None,
    };
    let mut lines: Vec<Line> = Vec::new();
    let mut session = Session::new(drill, Some(seed));
    session.set_people(people);
    let mut failure = None;
    let quiet = args.quiet;
    let unplayed = session::play::play(&mut session, &says, &mut |session, step| {
        let (line, text) = match step {
            Step::Notices(n) => (None, terminal::render_notices(session, &n)),
            Step::Accepted(a) => (
                Some(Line {
                    at_ns: a.at.nanos(),
                    role: a.role.clone(),
                    input: a.input.clone(),
                    ..Line::default()
                }),
                format!(
                    "[{}] {}> {}\n{}",
                    session.clock_text(a.at),
                    a.role,
                    a.input,
                    a.output
                ),
            ),
            Step::Refused {
                index,
                role,
                input,
                error,
            } => {
                // A refused line is an error, whatever `--quiet` says.
                refused += 1;
                let clock = session.clock_text(session.now());
                eprint!(
                    "{}",
                    crate::sanitize::shown(&refused_line(
                        &place(index),
                        &clock,
                        &role,
                        &input,
                        &error
                    ))
                );
                (None, format!("[{clock}] {role}> {input}\nerror: {error}"))
            }
        };
        if let (Some(w), Some(line)) = (writer.as_mut(), line.as_ref())
            && let Err(e) = w.write(line)
        {
            failure.get_or_insert(e);
        }
        lines.extend(line);
        if !quiet && !text.is_empty() {
            println!("{}", crate::sanitize::shown(&text));
        }
    });
    let end = Line {
        at_ns: session.now().nanos(),
        role: session.current_role().to_owned(),
        input: "end".into(),
        ..Line::default()
    };
    if let Some(w) = writer.as_mut()
        && let Err(e) = w.write(&end)
    {
        failure.get_or_insert(e);
    }
    lines.push(end);
    if let Some(e) = failure {
        return Err(AppError::Io(format!("cannot write the transcript: {e}")));
    }
    for i in unplayed {
        eprintln!(
            "{}: note: `{}` ({}) never played: {} never happened",
            place(i),
            says[i].input,
            says[i].role,
            session::anchor::describe(&says[i].at)
        );
    }
    let exit = finish(&session, args.json, args.debrief.as_deref())?;
    if let Some(recording) = recording.as_mut() {
        history::record(recording, &crate::history::transcript_text(&header, &lines))?;
    }
    if refused > 0 && !args.skip_bad_lines {
        return Err(AppError::Findings(format!(
            "{refused} scripted line(s) were refused as they played, reported above; fix them, or pass --skip-bad-lines to play the rest and exit 0"
        )));
    }
    Ok(exit)
}

/// `FILE:LINE: error: ...` for a scripted line the session refused as it played.
fn refused_line(
    place: &str,
    clock: &str,
    role: &str,
    input: &str,
    error: &crate::session::command::CommandError,
) -> String {
    let hint = error.hint.as_deref().unwrap_or(
        "the session refused the line as it stood then; change the line or its time (`at`)",
    );
    format!(
        "{place}: error: `{input}` ({role}, at {clock}) was refused: {}\n  help: {hint}\n",
        error.message
    )
}

/// Reads a responses file against `drill`, every bad line reported on standard error at its
/// line; refuses to play a file with bad lines unless `skip` (then they are left out).
fn read_responses(
    path: &Path,
    drill: &Drill,
    skip: bool,
) -> Result<Vec<drill::load::ScriptedLine>, AppError> {
    let style = drill::check::ReportStyle::detect(&std::io::stderr());
    let check =
        |input: &str| session::command::check(input, drill).map_err(|e| (e.message, e.hint));
    let text = files::read_text_limited(path, files::MAX_RESPONSES_BYTES, "responses file")
        .map_err(AppError::Io)?;
    let name = path.display().to_string();
    let responses = match drill::load::load_responses_str(&name, &text, drill, &check) {
        Ok(responses) => responses,
        Err(e) => {
            let _ = drill::check::report(&e, style, &mut std::io::stderr());
            return Err(if e.is_io() {
                AppError::Io(format!("cannot read the responses file {}", path.display()))
            } else {
                AppError::Findings(format!(
                    "{} is not a responses file that can be played; fix the problems above",
                    path.display()
                ))
            });
        }
    };
    if let Some(problems) = &responses.problems {
        let _ = drill::check::report(problems, style, &mut std::io::stderr());
        let n = responses.bad;
        if !skip {
            return Err(AppError::Findings(format!(
                "{}: {n} bad line(s), reported above; nothing was played. Fix them, or pass --skip-bad-lines to play the others",
                path.display()
            )));
        }
        eprintln!(
            "{}: skipping {n} bad line(s), reported above; playing the other {}",
            path.display(),
            responses.lines.len()
        );
    }
    Ok(responses.lines)
}
