//! The commands that turn a run into files for people and tools: `debrief` (HTML, JSON or
//! Markdown from a transcript) and `export` (OpenMetrics samples, Prometheus rules and tests,
//! JSON Lines logs, from a transcript or a drill).
//!
//! They render nothing themselves: the report and export modules do.

use std::path::Path;

use super::{
    AppError, Exit, check_outputs, load, read_and_replay, stdout_with, write_output, write_stdout,
};
use crate::session::transcript::{self, Transcript};
use crate::{files, report, score};

pub(super) fn debrief(
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

pub(super) fn export(args: &crate::cli::ExportArgs) -> Result<Exit, AppError> {
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
    stdout_with(|out| export::write(&run, &settings, out))
}
