//! The commands: each turns parsed flags into settings, calls the library, and reports.
//! Exit codes are named here ([`Exit`]); `main` only maps an error to one.
//!
//! This file holds what every command shares: [`run`], which picks the command, the exit codes
//! and [`AppError`], loading a drill, and writing output (to stdout, where a closed pipe is not
//! an error, or whole to a file). The commands are in `app/`: `live` (run, replay, play and the
//! war room), `author` (check, simulate, calibrate, list, new), `output` (debrief, export) and
//! `history`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::drill::check::ReportStyle;
use crate::drill::{self, Drill, library};
use crate::files;
use crate::session::Session;
use crate::session::transcript::Transcript;

mod author;
mod fit;
mod history;
mod live;
mod output;
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
        Command::Check { files, responses } => author::check(&files, responses.as_deref()),
        Command::Simulate(args) => author::simulate(&args),
        Command::Run(args) => live::live(&args),
        Command::Replay { transcript, json } => live::replay(&transcript, json),
        Command::Play(args) => live::play(&args),
        Command::Debrief {
            transcript,
            output,
            format,
            force,
        } => output::debrief(&transcript, output.as_deref(), format, force),
        Command::Calibrate(args) => author::calibrate(&args),
        Command::List(args) => author::list(&args),
        Command::New(args) => author::new_drill(&args),
        Command::Export(args) => output::export(&args),
        Command::Fit(args) => fit::fit(&args),
        Command::History(args) => history::run(&args),
        Command::Serve(args) => live::serve(&args),
        Command::Whatif(args) => prevent::whatif_cmd(&args),
        Command::Capacity(args) => prevent::capacity_cmd(&args),
        Command::Postmortem(args) => prevent::postmortem_cmd(&args),
    }
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

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("summaries serialise") + "\n"
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

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn write_stdout(text: &str) -> Result<Exit, AppError> {
    stdout_with(|out| out.write_all(text.as_bytes()))
}

/// Writes to stdout with `write`, then flushes; a closed pipe (`| head`) is not an error.
fn stdout_with(
    write: impl FnOnce(&mut std::io::StdoutLock<'static>) -> std::io::Result<()>,
) -> Result<Exit, AppError> {
    let mut out = std::io::stdout().lock();
    match write(&mut out).and_then(|()| out.flush()) {
        Ok(()) => Ok(Exit::Ok),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Exit::Ok),
        Err(e) => Err(AppError::Io(format!("cannot write output: {e}"))),
    }
}

fn usage(e: impl std::fmt::Display) -> AppError {
    AppError::Io(e.to_string())
}
