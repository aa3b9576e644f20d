//! `firedrill check`: load every drill file given, print every problem of every file, and
//! say whether all of them are valid.
//!
//! This module owns the report's format (miette's graphical report for a terminal, or plain
//! `file:line:col: error: message` lines) and the outcome's three cases. It does not parse
//! arguments, pick exit codes or decide whether the output is a terminal: the CLI does, and
//! passes a [`ReportStyle`].

use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use miette::{GraphicalReportHandler, GraphicalTheme};

use super::load::{self, LoadError};

/// How problems are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportStyle {
    /// `file:line:col: error: message` and `  help: hint` lines: for pipes, logs and tests.
    Plain,
    /// miette's report with the source and a labelled span, coloured unless `NO_COLOR` is set.
    Graphical,
    /// The graphical report without colour (for snapshots).
    GraphicalNoColor,
}

impl ReportStyle {
    /// [`ReportStyle::Graphical`] if `stream` is a terminal, else [`ReportStyle::Plain`].
    pub fn detect(stream: &impl IsTerminal) -> Self {
        if stream.is_terminal() {
            ReportStyle::Graphical
        } else {
            ReportStyle::Plain
        }
    }
}

/// What `check` found, file by file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckOutcome {
    /// Files that hold a valid drill.
    pub valid: usize,
    /// Files that could be read but hold problems (findings).
    pub invalid: usize,
    /// Files that could not be read: missing, a directory, unreadable.
    pub unreadable: usize,
}

/// The outcome in one word, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckStatus {
    /// Every file holds a valid drill.
    Valid,
    /// Some drill has problems, and every file could be read.
    Findings,
    /// Some file could not be read (this wins over findings).
    Unreadable,
}

impl CheckOutcome {
    pub fn status(&self) -> CheckStatus {
        if self.unreadable > 0 {
            CheckStatus::Unreadable
        } else if self.invalid > 0 {
            CheckStatus::Findings
        } else {
            CheckStatus::Valid
        }
    }

    pub fn all_valid(&self) -> bool {
        self.status() == CheckStatus::Valid
    }
}

/// Loads every file and writes a report to `out`: every problem of every file, and
/// `ok  FILE (drill NAME)` for each valid one, followed by its warnings (which do not make it
/// invalid); with more than one file, a summary line.
///
/// # Errors
/// Only a failure to write to `out`; problems with the files are in the outcome.
pub fn check(
    paths: &[PathBuf],
    style: ReportStyle,
    out: &mut impl Write,
) -> io::Result<CheckOutcome> {
    let mut outcome = CheckOutcome::default();
    for path in paths {
        match load::load_file(path) {
            Ok(drill) => {
                outcome.valid += 1;
                writeln!(out, "ok  {} (drill {})", path.display(), drill.name)?;
                let text = std::fs::read_to_string(path).unwrap_or_default();
                for w in super::warnings::warnings(&drill, &text) {
                    writeln!(
                        out,
                        "{}: warning: {}: {}\n  help: {}",
                        path.display(),
                        w.path,
                        w.message,
                        w.hint
                    )?;
                }
            }
            Err(error) => {
                if error.is_io() {
                    outcome.unreadable += 1;
                } else {
                    outcome.invalid += 1;
                }
                report(&error, style, out)?;
            }
        }
    }
    if paths.len() > 1 {
        writeln!(
            out,
            "checked {} files: {} valid, {} with problems, {} unreadable",
            paths.len(),
            outcome.valid,
            outcome.invalid,
            outcome.unreadable
        )?;
    }
    Ok(outcome)
}

/// Writes one load error in the given style.
///
/// # Errors
/// A failure to write to `out`.
pub fn report(error: &LoadError, style: ReportStyle, out: &mut impl Write) -> io::Result<()> {
    let handler = match style {
        ReportStyle::Plain => return write!(out, "{}", error.plain()),
        ReportStyle::Graphical => GraphicalReportHandler::new(),
        ReportStyle::GraphicalNoColor => {
            GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        }
    };
    let mut text = String::new();
    if error.is_io() {
        handler
            .render_report(&mut text, error)
            .map_err(io::Error::other)?;
    } else {
        for problem in error.problems() {
            handler
                .render_report(&mut text, problem)
                .map_err(io::Error::other)?;
        }
        if let LoadError::Invalid { file, omitted, .. } = error
            && *omitted > 0
        {
            let _ = writeln!(text, "{file}: {omitted} more problems not shown");
        }
    }
    out.write_all(text.as_bytes())
}
