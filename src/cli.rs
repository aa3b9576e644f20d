//! The command line, as clap reads it: definitions only. [`crate::app`] turns these flags
//! into validated settings and runs the command.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::drill::Duration;
use crate::report::Format;
use crate::session::transcript::ClockMode;

#[derive(Debug, Parser)]
#[command(
    name = "firedrill",
    version,
    about = "Game days for teams that run AI agents in production",
    long_about = "firedrill simulates an AI agent service, its connection pools, model calls and \
                  traffic; a drill script injects a failure and a team practises the incident."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check drill files and report every problem at once.
    Check {
        /// Drill files (RON).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run a drill with no team and summarise what happened.
    Simulate(SimulateArgs),
    /// Run a live drill for a team (the built-in monday-rush drill without FILE).
    Run(RunArgs),
    /// Re-run a session from its transcript and print its summary.
    Replay {
        /// The transcript (JSON Lines) a run or play wrote.
        transcript: PathBuf,
        /// Print the summary as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Run a scripted team through a drill: the drill's reference response, or your own.
    Play(PlayArgs),
    /// Score a session and write its debrief (HTML, JSON or Markdown) from its transcript.
    Debrief {
        /// The transcript (JSON Lines) a run or play wrote.
        transcript: PathBuf,
        /// Where to write it (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// html (one self-contained page), json or md.
        #[arg(long, value_enum, default_value_t = Format::Html)]
        format: Format,
    },
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The drill file, or the name of a built-in drill (default: monday-rush).
    pub file: Option<PathBuf>,
    /// Seed for every random stream (default: the drill's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// turns: time moves only with `wait` (default when input is not a terminal);
    /// realtime: simulated time runs at --speed × wall time (default at a terminal).
    #[arg(long, value_enum)]
    pub clock: Option<ClockMode>,
    /// Realtime speed, × wall time.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Write every accepted command to this transcript (JSON Lines), flushed line by line.
    #[arg(long, conflicts_with = "resume")]
    pub transcript: Option<PathBuf>,
    /// Continue the session in this transcript (it carries the drill), appending to it.
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Print the end-of-drill summary as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// At the end, write the HTML debrief here.
    #[arg(long)]
    pub debrief: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct PlayArgs {
    /// The drill file, or the name of a built-in drill.
    pub file: PathBuf,
    /// Play the drill's own reference response.
    #[arg(
        long,
        conflicts_with = "responses",
        required_unless_present = "responses"
    )]
    pub reference: bool,
    /// Play these responses: a RON list of Say(at: ..., role: ..., input: ...) lines.
    #[arg(long)]
    pub responses: Option<PathBuf>,
    /// Seed for every random stream (default: the drill's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Write the session's transcript here.
    #[arg(long)]
    pub transcript: Option<PathBuf>,
    /// Print only the summary, not the session as it plays.
    #[arg(long)]
    pub quiet: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// At the end, write the HTML debrief here.
    #[arg(long)]
    pub debrief: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// The drill file.
    pub file: PathBuf,
    /// Seed for every random stream (default: the drill's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Simulated time to run, e.g. 3h or 11112s (default: the drill's duration).
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Leave requests that arrive before this out of every statistic, e.g. 10m.
    #[arg(long, value_parser = parse_duration)]
    pub warmup: Option<Duration>,
    /// Run without the drill's faults (a baseline).
    #[arg(long)]
    pub no_faults: bool,
    /// Print one JSON object instead of the readable summary.
    #[arg(long)]
    pub json: bool,
}

/// clap value parser for durations with units.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    Duration::parse(text)
        .map_err(|e| format!("{e}; {}", crate::drill::duration::DurationError::hint()))
}
