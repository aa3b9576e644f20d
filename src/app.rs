//! The commands: each turns parsed flags into settings, calls the library, and reports.
//! Exit codes are named here ([`Exit`]); `main` only maps an error to one.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use crate::cli::{Cli, Command, SimulateArgs};
use crate::drill::Drill;
use crate::sim::{RunOptions, Sim, Summary};

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
    }
}

fn check(files: &[std::path::PathBuf]) -> Result<Exit, AppError> {
    let mut all_ok = true;
    for f in files {
        match load(f) {
            Ok(d) => println!("ok  {} (drill {})", f.display(), d.name),
            Err(e) => {
                all_ok = false;
                eprintln!("{e}");
            }
        }
    }
    Ok(if all_ok { Exit::Ok } else { Exit::Findings })
}

/// Loads and validates a drill file.
pub fn load(path: &Path) -> Result<Drill, AppError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| AppError::Io(format!("cannot read {}: {e}", path.display())))?;
    crate::drill::parse_str(&text)
        .map_err(|e| AppError::Findings(format!("{}:{e}", path.display())))
}

fn simulate(args: &SimulateArgs) -> Result<Exit, AppError> {
    let drill = load(&args.file)?;
    let options = RunOptions {
        seed: args.seed,
        duration: args.duration,
        warmup: args.warmup.unwrap_or_default(),
        no_faults: args.no_faults,
    };
    let started = Instant::now();
    let mut sim = Sim::new(&drill, &options);
    sim.run_to_end();
    let mut summary = Summary::of(&mut sim, &drill);
    summary.wall_seconds = started.elapsed().as_secs_f64();
    summary.events_per_second = if summary.wall_seconds > 0.0 {
        summary.events as f64 / summary.wall_seconds
    } else {
        0.0
    };
    let text = if args.json {
        serde_json::to_string_pretty(&summary).expect("a summary serialises") + "\n"
    } else {
        summary.render_text()
    };
    write_stdout(&text)
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
