//! The `firedrill` binary: parse the command line, run it, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;
use firedrill::app;
use firedrill::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match app::run(cli) {
        Ok(exit) => exit.into(),
        Err(e) => {
            eprintln!("firedrill: {e}");
            e.exit().into()
        }
    }
}
