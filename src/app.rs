//! The commands: each turns parsed flags into settings, calls the library, and reports.
//! Exit codes are named here ([`Exit`]); `main` only maps an error to one.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::PathBuf;

use crate::calibrate::{self, Calibration, Plan, Shard};
use crate::cli::{CalibrateArgs, Cli, Command, ListArgs, NewArgs, PlayArgs, RunArgs, SimulateArgs};
use crate::drill::check::{CheckStatus, ReportStyle};
use crate::drill::spec::Say;
use crate::drill::{self, Drill, library};
use crate::front::terminal::{self, LiveConfig};
use crate::session::play::Step;
use crate::session::summary::SessionSummary;
use crate::session::transcript::{self, ClockMode, Header, Line, Transcript};
use crate::session::{self, Session};
use crate::sim::{RunOptions, Sim, Summary};
use crate::{files, report, score};

mod history;
mod prevent;

/// Exit codes, documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything went well.
    Ok = 0,
    /// The drill or the run has findings (invalid drill, failed verdict).
    Findings = 1,
    /// Usage or I/O error.
    Usage = 2,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// An error that ends a command, with the exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The drill did not load; the problems were already printed.
    #[error("{0}")]
    Findings(String),
    #[error("{0}")]
    Io(String),
}

impl AppError {
    #[must_use]
    pub fn exit(&self) -> Exit {
        match self {
            AppError::Findings(_) => Exit::Findings,
            AppError::Io(_) => Exit::Usage,
        }
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<Exit, AppError> {
    match cli.command {
        Command::Check { files } => check(&files),
        Command::Simulate(args) => simulate(&args),
        Command::Run(args) => live(&args),
        Command::Replay { transcript, json } => replay(&transcript, json),
        Command::Play(args) => play(&args),
        Command::Debrief {
            transcript,
            output,
            format,
            force,
        } => debrief(&transcript, output.as_deref(), format, force),
        Command::Calibrate(args) => calibrate(&args),
        Command::List(args) => list(&args),
        Command::New(args) => new_drill(&args),
        Command::Export(args) => export(&args),
        Command::History(args) => history::run(&args),
        Command::Serve(args) => serve(&args),
        Command::Whatif(args) => prevent::whatif_cmd(&args),
        Command::Capacity(args) => prevent::capacity_cmd(&args),
        Command::Postmortem(args) => prevent::postmortem_cmd(&args),
    }
}

/// `firedrill serve`: checks the drills given and the data directory, then serves.
fn serve(args: &crate::cli::ServeArgs) -> Result<Exit, AppError> {
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
        limits: crate::front::serve::Limits {
            max_rooms: args.max_rooms,
            ..crate::front::serve::Limits::default()
        },
    };
    crate::front::serve::run(&config).map_err(AppError::Io)?;
    Ok(Exit::Ok)
}

fn check(files: &[PathBuf]) -> Result<Exit, AppError> {
    let style = ReportStyle::detect(&std::io::stdout());
    let mut out = std::io::stdout().lock();
    let outcome = drill::check::check(files, style, &mut out)
        .map_err(|e| AppError::Io(format!("cannot write output: {e}")))?;
    Ok(match outcome.status() {
        CheckStatus::Valid => Exit::Ok,
        CheckStatus::Findings => Exit::Findings,
        CheckStatus::Unreadable => Exit::Usage,
    })
}

/// A drill's text and its validated spec.
pub struct Source {
    pub text: String,
    pub drill: Drill,
}

/// Loads a drill from a file, or a built-in drill by name; prints every problem on failure.
pub fn load(path: &Path) -> Result<Source, AppError> {
    let name = path.to_string_lossy();
    let builtin = (!path.exists()).then(|| library::builtin(&name)).flatten();
    let result = match builtin {
        Some(text) => {
            drill::load_str(&format!("{name} (built in)"), text).map(|d| (text.to_owned(), d))
        }
        None => {
            drill::load_file(path).map(|d| (std::fs::read_to_string(path).unwrap_or_default(), d))
        }
    };
    match result {
        Ok((text, drill)) => Ok(Source { text, drill }),
        Err(e) => {
            let style = ReportStyle::detect(&std::io::stderr());
            let _ = drill::check::report(&e, style, &mut std::io::stderr());
            if e.is_io() {
                let known: Vec<&str> = library::BUILTIN.iter().map(|(n, _)| *n).collect();
                Err(AppError::Io(format!(
                    "no drill at {} (built-in drills: {})",
                    path.display(),
                    known.join(", ")
                )))
            } else {
                Err(AppError::Findings(format!(
                    "{} does not load; fix the problems above",
                    path.display()
                )))
            }
        }
    }
}

fn simulate(args: &SimulateArgs) -> Result<Exit, AppError> {
    if args.duration.is_some_and(drill::Duration::is_zero) {
        return Err(AppError::Io(
            "--duration 0s simulates nothing; give a positive duration, e.g. --duration 1h".into(),
        ));
    }
    let Source { drill, .. } = load(&args.file)?;
    let options = RunOptions {
        seed: args.seed,
        duration: args.duration,
        warmup: args.warmup.unwrap_or_default(),
        no_faults: args.no_faults,
        ..RunOptions::default()
    };
    if let Some(d) = args.duration
        && d > crate::drill::Duration::from_secs(crate::drill::validate::limits::MAX_DURATION_SECS)
    {
        return Err(AppError::Io(format!(
            "--duration {d} is longer than a drill may last (366 days); give a shorter one"
        )));
    }
    let started = Instant::now();
    let mut sim = Sim::new(&drill, &options);
    run_with_progress(&mut sim);
    let mut summary = Summary::of(&sim, &drill);
    let wall = started.elapsed().as_secs_f64();
    summary.wall_seconds = Some(wall);
    summary.events_per_second = Some(if wall > 0.0 {
        summary.events as f64 / wall
    } else {
        0.0
    });
    let text = if args.json {
        to_json(&summary)
    } else {
        summary.render_text()
    };
    write_stdout(&text)
}

/// Runs `sim` to its end with bounded telemetry (only the summary is printed), in slices of
/// simulated time, with a progress bar at a terminal. Slicing does not change the run.
fn run_with_progress(sim: &mut Sim) {
    const SLICES: u64 = 200;
    sim.bound_telemetry();
    let end = sim.end();
    let bar = progress_bar(SLICES as usize, format!("simulating {}", sim.drill_name()));
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} [{bar:30}] {percent}% of simulated time, {elapsed} (eta {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    for slice in 1..=SLICES {
        let until = u128::from(end.nanos()) * u128::from(slice) / u128::from(SLICES);
        sim.run_until(crate::sim::SimTime::from_nanos(until as u64));
        drop(sim.take_news());
        bar.inc(1);
    }
    sim.run_to_end();
    bar.finish_and_clear();
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("summaries serialise") + "\n"
}

fn live(args: &RunArgs) -> Result<Exit, AppError> {
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
        let clock = args.clock.unwrap_or(if interactive {
            ClockMode::Realtime
        } else {
            ClockMode::Turns
        });
        let seed = args.seed.unwrap_or(drill.seed);
        let header = Header::new(&text, &drill, seed, clock, args.speed);
        let writer = match &args.transcript {
            Some(path) => Some(
                transcript::Writer::create(path, &header)
                    .map_err(|e| transcript_create_error(path, &e))?,
            ),
            None => None,
        };
        fresh_header = Some(header);
        (
            Session::new(drill, Some(seed)),
            writer,
            clock,
            args.speed,
            args.transcript.clone(),
        )
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
    let config = LiveConfig {
        clock,
        speed,
        transcript: writer,
        transcript_path: path,
        interactive,
        metrics_listen: args.metrics_listen,
    };
    let problems = terminal::run(&mut session, config).map_err(|e| AppError::Io(e.to_string()))?;
    write_debrief(&session, args.debrief.as_deref())?;
    let exit = finish(&session, args.json)?;
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

/// Checks an output file (the flag `flag` named it) and transcripts to create.
fn check_outputs(
    output: Option<&Path>,
    flag: &'static str,
    transcripts: &[files::Output],
    inputs: &[&Path],
    force: bool,
) -> Result<(), AppError> {
    let outputs: Vec<files::Output> = output
        .map(|p| files::Output {
            path: p.to_owned(),
            flag,
        })
        .into_iter()
        .collect();
    files::check_outputs(&outputs, transcripts, inputs, force).map_err(AppError::Io)
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

/// Writes `text` to the -o file when one is given, else to standard output.
fn emit(output: Option<&Path>, text: &str) -> Result<Exit, AppError> {
    match output {
        Some(out) => {
            write_output(out, text)?;
            Ok(Exit::Ok)
        }
        None => write_stdout(text),
    }
}

/// Writes `text` to `path` whole (a temporary file renamed over it).
fn write_output(path: &Path, text: &str) -> Result<(), AppError> {
    files::write_atomic(path, |out| out.write_all(text.as_bytes()))
        .map_err(|e| AppError::Io(format!("cannot write {}: {e}", path.display())))
}

/// Writes the HTML debrief of `session` to `path`, if one was asked for.
fn write_debrief(session: &Session, path: Option<&Path>) -> Result<(), AppError> {
    let Some(path) = path else { return Ok(()) };
    let page = report::html(&score::debrief::debrief(session));
    files::write_atomic(path, |out| out.write_all(page.as_bytes()))
        .map_err(|e| AppError::Io(format!("cannot write the debrief {}: {e}", path.display())))?;
    eprintln!("debrief written to {}", path.display());
    Ok(())
}

fn debrief(
    path: &Path,
    output: Option<&Path>,
    format: report::Format,
    force: bool,
) -> Result<Exit, AppError> {
    check_outputs(output, "-o", &[], &[path], force)?;
    let session = read_and_replay(path)?;
    let text = format.render(&score::debrief::debrief(&session));
    match output {
        Some(out) => {
            write_output(out, &text)?;
            Ok(Exit::Ok)
        }
        None => write_stdout(&text),
    }
}

/// Reads and replays a transcript, noting a torn last line on standard error.
fn read_and_replay(path: &Path) -> Result<Session, AppError> {
    let transcript = Transcript::read(path).map_err(|e| AppError::Io(e.to_string()))?;
    if let Some(note) = transcript.torn_note(path, "it is left out") {
        eprintln!("{note}");
    }
    transcript
        .replay(path)
        .map_err(|e| AppError::Findings(e.to_string()))
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

fn finish(session: &Session, json: bool) -> Result<Exit, AppError> {
    let summary = SessionSummary::of(session);
    let text = if json {
        to_json(&summary)
    } else {
        crate::sanitize::shown(&summary.render_text(session)).into_owned()
    };
    write_stdout(&text)
}

fn replay(path: &Path, json: bool) -> Result<Exit, AppError> {
    let session = read_and_replay(path)?;
    finish(&session, json)
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

fn play(args: &PlayArgs) -> Result<Exit, AppError> {
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
    let says: Vec<Say> = match &args.responses {
        Some(path) => {
            let body = files::read_text_limited(path, files::MAX_RESPONSES_BYTES, "responses file")
                .map_err(AppError::Io)?;
            drill::ron_options()
                .from_str(&body)
                .map_err(|e| AppError::Findings(format!("{}:{e}\n  help: a responses file is a list: [Say(at: After(FirstPage, \"1m\"), role: \"ops\", input: \"ack\"), ...]", path.display())))?
        }
        None => match &args.wrong {
            Some(name) => wrong_response(&drill, name)?,
            None => drill.reference.clone(),
        },
    };
    if let Some(path) = &args.responses {
        check_say_roles(&drill, &says, path)?;
    }
    let seed = args.seed.unwrap_or(drill.seed);
    let header = Header::new(&text, &drill, seed, ClockMode::Turns, 1.0);
    let mut writer = match &args.transcript {
        Some(path) => Some(
            transcript::Writer::create(path, &header)
                .map_err(|e| transcript_create_error(path, &e))?,
        ),
        None => None,
    };
    let mut lines: Vec<Line> = Vec::new();
    let mut session = Session::new(drill, Some(seed));
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
            Step::Refused { role, input, error } => (
                None,
                format!(
                    "[{}] {role}> {input}\nerror: {error}",
                    session.clock_text(session.now())
                ),
            ),
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
            "note: `{}` ({}) never played: {} never happened",
            says[i].input,
            says[i].role,
            session::anchor::describe(&says[i].at)
        );
    }
    write_debrief(&session, args.debrief.as_deref())?;
    let exit = finish(&session, args.json)?;
    if let Some(recording) = recording.as_mut() {
        history::record(recording, &crate::history::transcript_text(&header, &lines))?;
    }
    Ok(exit)
}

/// Refuses a responses file with a line for a role the drill does not have.
fn check_say_roles(drill: &Drill, says: &[Say], path: &Path) -> Result<(), AppError> {
    let probe = Session::new(drill.clone(), None);
    match says
        .iter()
        .enumerate()
        .find(|(_, say)| !probe.knows_role(&say.role))
    {
        Some((i, say)) => Err(AppError::Findings(format!(
            "{}: response {} (`{}`): {}",
            path.display(),
            i + 1,
            crate::sanitize::shown_line(&say.input),
            probe.unknown_role(&say.role)
        ))),
        None => Ok(()),
    }
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn write_stdout(text: &str) -> Result<Exit, AppError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(Exit::Ok),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Exit::Ok),
        Err(e) => Err(AppError::Io(format!("cannot write output: {e}"))),
    }
}

// --- calibrate, list, new ---

fn usage(e: impl std::fmt::Display) -> AppError {
    AppError::Io(e.to_string())
}

/// `--jobs`: at least 1 and at most [`calibrate::MAX_JOBS`]; none means one thread per core
/// (rayon's 0).
fn jobs(jobs: Option<usize>) -> Result<usize, AppError> {
    match jobs {
        Some(0) => Err(AppError::Io("--jobs must be at least 1".into())),
        Some(j) => calibrate::check_jobs(j).map_err(usage),
        None => Ok(0),
    }
}

/// A progress bar on stderr, drawn only when stderr is a terminal.
fn progress_bar(len: usize, message: String) -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(len as u64), target);
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} seeds, {elapsed} (eta {eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message);
    bar
}

/// Runs `plan` on `drill` with a progress bar, and times it.
fn run_calibration(source: &Source, plan: &Plan, jobs: usize) -> Result<Calibration, AppError> {
    let bar = progress_bar(
        plan.seeds().len(),
        format!("calibrating {}", source.drill.name),
    );
    let started = Instant::now();
    let result = calibrate::calibrate(&source.drill, &source.text, plan, jobs, &|| bar.inc(1));
    bar.finish_and_clear();
    let mut report = result.map_err(usage)?;
    report.wall_seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

fn calibrate(args: &CalibrateArgs) -> Result<Exit, AppError> {
    let report = if args.merge.is_empty() {
        let jobs = jobs(args.jobs)?;
        let plan =
            Plan::new(args.runs, args.seed_start, args.shard.unwrap_or_default()).map_err(usage)?;
        let file = args
            .file
            .as_ref()
            .ok_or_else(|| usage("calibrate needs a drill FILE (or --merge FILES...)"))?;
        run_calibration(&load(file)?, &plan, jobs)?
    } else {
        let mut parts = Vec::new();
        for path in &args.merge {
            let text =
                files::read_text_limited(path, files::MAX_CALIBRATION_BYTES, "calibration report")
                    .map_err(usage)?;
            let label = path.display().to_string();
            let part = calibrate::merge::parse(&label, &text).map_err(usage)?;
            parts.push((label, part));
        }
        calibrate::merge::merge(parts).map_err(usage)?
    };
    let text = if args.json {
        to_json(&report)
    } else {
        report.render_text()
    };
    write_stdout(&text)?;
    Ok(if report.pass {
        Exit::Ok
    } else {
        Exit::Findings
    })
}

fn list(args: &ListArgs) -> Result<Exit, AppError> {
    let calibration = if args.calibrate {
        Some((
            Plan::new(args.runs, 1, Shard::WHOLE).map_err(usage)?,
            jobs(args.jobs)?,
        ))
    } else {
        None
    };
    let measured = history::measured_difficulty(args.db.clone());
    let mut out = String::new();
    let mut exit = Exit::Ok;
    for (name, text) in library::BUILTIN {
        let meta = library::Meta::of(text);
        let loaded = drill::load_str(&format!("{name} (built in)"), text);
        let title = loaded
            .as_ref()
            .map_or("(does not load: run `firedrill check`)", |d| {
                d.title.as_str()
            });
        let _ = writeln!(out, "{name}\n  {title}");
        let difficulty = meta
            .difficulty
            .map_or_else(|| "not given".to_owned(), |d| format!("{d}/5"));
        let teaches = meta.teaches.as_deref().unwrap_or("not given");
        let _ = writeln!(out, "  difficulty: {difficulty}\n  teaches: {teaches}");
        if let Some(m) = measured.get(*name) {
            let _ = writeln!(
                out,
                "  measured over {} recorded sessions: {:.0}% met the objectives, median score {}",
                m.sessions,
                m.share_met * 100.0,
                m.median_score
            );
        }
        let path = Path::new("drills").join(format!("{name}.ron"));
        if path.is_file() {
            let _ = writeln!(out, "  file: {}", path.display());
        }
        if let (Some((plan, jobs)), Ok(drill)) = (&calibration, &loaded) {
            let source = Source {
                text: (*text).to_owned(),
                drill: drill.clone(),
            };
            let report = run_calibration(&source, plan, *jobs)?;
            if report.pass {
                let _ = writeln!(out, "  calibration: clean over {} seeds", plan.runs);
            } else {
                exit = Exit::Findings;
                let failures: Vec<&str> = report.failures().map(|v| v.message.as_str()).collect();
                let _ = writeln!(
                    out,
                    "  calibration: FAILS over {} seeds: {}",
                    plan.runs,
                    failures.join("; ")
                );
            }
        }
        out.push('\n');
    }
    if calibration.is_none() {
        out.push_str(
            "Calibration not run: `firedrill list --calibrate` runs each drill on 20 seeds, with \
             no team and with its reference response (it takes a while); `firedrill calibrate \
             NAME` checks one drill in depth.\n",
        );
    }
    write_stdout(&out)?;
    Ok(exit)
}

fn new_drill(args: &NewArgs) -> Result<Exit, AppError> {
    let text = library::new_drill(&args.name).map_err(usage)?;
    let path = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.ron", args.name)));
    if path.as_os_str() == "-" {
        return write_stdout(&text);
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                usage(format!(
                    "{} already exists; firedrill new never overwrites a file (choose another with -o)",
                    path.display()
                ))
            } else {
                usage(format!("cannot write {}: {e}", path.display()))
            }
        })?;
    file.write_all(text.as_bytes())
        .map_err(|e| usage(format!("cannot write {}: {e}", path.display())))?;
    let p = path.display();
    eprintln!(
        "wrote {p}\nnext: `firedrill check {p}`, `firedrill play {p} --reference`, `firedrill calibrate {p}`"
    );
    Ok(Exit::Ok)
}
// --- end calibrate, list, new ---

// --- export ---
fn export(args: &crate::cli::ExportArgs) -> Result<Exit, AppError> {
    use crate::export::{self, SourceKind};
    let start_ms = match &args.start {
        Some(text) => Some(export::time::parse_rfc3339_ms(text).map_err(AppError::Io)?),
        None => None,
    };
    check_outputs(
        args.output.as_deref(),
        "-o",
        &[],
        &[&args.source],
        args.force,
    )?;
    let run = match export::detect(&args.source) {
        SourceKind::Transcript => {
            if args.seed.is_some() {
                return Err(AppError::Io(
                    "--seed applies to a drill; a transcript carries its own seed".into(),
                ));
            }
            let read = Transcript::read(&args.source).and_then(|t| {
                if let Some(note) = t.torn_note(&args.source, "it is left out") {
                    eprintln!("{note}");
                }
                export::run_read_transcript(&t, &args.source)
            });
            read.map_err(|e| match e {
                transcript::TranscriptError::Io { .. } => AppError::Io(e.to_string()),
                _ => AppError::Findings(e.to_string()),
            })?
        }
        SourceKind::Drill => export::run_drill(load(&args.source)?.drill, args.seed),
    };
    let start = start_ms.unwrap_or_else(|| export::time::default_start_ms(&run.drill));
    let end = (run.drill.duration.as_nanos() / 1_000_000)
        .try_into()
        .ok()
        .and_then(|d: i64| start.checked_add(d));
    if end.is_none_or(|end| end >= export::time::END_OF_RFC3339_MS) {
        return Err(AppError::Io(format!(
            "the drill would run past 9999-12-31 from --start {}; choose an earlier start",
            args.start.as_deref().unwrap_or("(default)")
        )));
    }
    let settings = export::Settings {
        format: args.format,
        start_ms,
        rule_file: args.rule_file.clone(),
    };
    if let Some(out) = &args.output {
        files::write_atomic(out, |w| export::write(&run, &settings, w))
            .map_err(|e| AppError::Io(format!("cannot write {}: {e}", out.display())))?;
        return Ok(Exit::Ok);
    }
    let mut stdout = std::io::stdout().lock();
    match export::write(&run, &settings, &mut stdout).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(Exit::Ok),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Exit::Ok),
        Err(e) => Err(AppError::Io(format!("cannot write output: {e}"))),
    }
}
// --- end export ---
