//! The command line, as clap reads it: definitions only. [`crate::app`] turns these flags
//! into validated settings and runs the command.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::drill::Duration;

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
