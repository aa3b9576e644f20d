//! The prevention commands: `whatif` (a postmortem's changes on the same incident) and
//! `capacity` (the load test). Flags into settings, the library calls, output; the
//! comparisons themselves are [`crate::whatif`], their pages [`crate::report::whatif`].

use std::path::{Path, PathBuf};

use super::author::{jobs, progress_bar};
use super::{AppError, Exit, Source, check_outputs, load, usage};
use crate::calibrate::{Plan, Shard};
use crate::cli::{CapacityArgs, PostmortemArgs, PostmortemFormat, WhatifArgs, WhatifFormat};
use crate::drill::Drill;
use crate::drill::change::Change;
use crate::files;
use crate::session::transcript::{Line, Transcript};
use crate::whatif::capacity::{self, Slo};
use crate::whatif::{self, Subject, Variants, WhatIf, postmortem};

/// What a what-if compares: a drill alone, or a played session's drill and inputs.
pub(super) struct Incident {
    pub drill: Drill,
    pub text: String,
    pub seed: u64,
    /// The team's inputs (a transcript's lines), or none for a drill.
    pub inputs: Option<Vec<Line>>,
}

/// Whether `path` holds a transcript (JSON Lines whose first line is a header object) rather
/// than a drill.
fn is_transcript(path: &Path) -> bool {
    if path.extension().is_some_and(|e| e == "jsonl") {
        return true;
    }
    std::fs::read(path).is_ok_and(|bytes| {
        bytes
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'{')
    })
}

/// Reads the incident: a transcript (its drill, seed and inputs) or a drill.
pub(super) fn incident(path: &Path) -> Result<Incident, AppError> {
    if is_transcript(path) {
        let transcript = Transcript::read(path).map_err(|e| AppError::Io(e.to_string()))?;
        if let Some(note) = transcript.torn_note(path, "it is left out") {
            eprintln!("{note}");
        }
        let drill = transcript
            .drill(path)
            .map_err(|e| AppError::Findings(e.to_string()))?;
        Ok(Incident {
            drill,
            text: transcript.header.drill.clone(),
            seed: transcript.header.seed,
            inputs: Some(transcript.lines),
        })
    } else {
        let Source { text, drill } = load(path)?;
        Ok(Incident {
            seed: drill.seed,
            drill,
            text,
            inputs: None,
        })
    }
}

/// Reads the change files against `base`; every problem of every file is printed before
/// giving up.
pub(super) fn changes(paths: &[PathBuf], base: &Drill) -> Result<Vec<Change>, AppError> {
    let mut changes = Vec::new();
    let mut failed = 0;
    let style = crate::drill::check::ReportStyle::detect(&std::io::stderr());
    for path in paths {
        match crate::drill::load::load_change_file(path, base) {
            Ok(change) => changes.push(change),
            Err(error) if error.is_io() => {
                return Err(AppError::Io(error.plain().to_string()));
            }
            Err(error) => {
                failed += 1;
                let mut out = Vec::new();
                let _ = crate::drill::check::report(&error, style, &mut out);
                eprint!("{}", String::from_utf8_lossy(&out));
            }
        }
    }
    if failed > 0 {
        return Err(AppError::Findings(format!(
            "{failed} change file(s) have problems (listed above); fix them and run again"
        )));
    }
    Ok(changes)
}

/// The changes applied and checked, every problem printed with the file it comes from.
pub(super) fn variants(
    drill: &Drill,
    paths: &[PathBuf],
    changes: &[Change],
) -> Result<Variants, AppError> {
    Variants::new(drill, changes).map_err(|problems| {
        for p in &problems {
            let file = paths.get(p.change).map_or_else(
                || "the changes together".to_owned(),
                |f| f.display().to_string(),
            );
            eprintln!("{file}: error: {}", p.message);
        }
        AppError::Findings(format!(
            "{} problem(s) with the changed drill (listed above)",
            problems.len()
        ))
    })
}

pub(super) fn whatif_cmd(args: &WhatifArgs) -> Result<Exit, AppError> {
    let result = if args.merge.is_empty() {
        let source = args.source.as_ref().ok_or_else(|| {
            usage("whatif needs a SOURCE (a drill or a transcript) and CHANGE files")
        })?;
        check_outputs(args.output.as_deref(), "-o", &[], &[source], args.force)?;
        let incident = incident(source)?;
        let changes = changes(&args.changes, &incident.drill)?;
        if changes.is_empty() {
            return Err(usage(
                "whatif needs at least one CHANGE file after the SOURCE (see docs/drill-format.md, \"Change files\")",
            ));
        }
        let variants = variants(&incident.drill, &args.changes, &changes)?;
        let plan = Plan::new(
            args.runs.unwrap_or(1),
            args.seed_start.unwrap_or(incident.seed),
            args.shard.unwrap_or(Shard::WHOLE),
        )
        .map_err(usage)?;
        let jobs = jobs(args.jobs)?;
        let count = plan.seeds().len() * (changes.len() + if changes.len() > 1 { 2 } else { 1 });
        let bar = progress_bar(count, format!("what if: {}", incident.drill.name));
        let records = whatif::run(&variants, &plan, incident.inputs.as_deref(), jobs, &|| {
            bar.inc(1);
        });
        bar.finish_and_clear();
        let records = records.map_err(usage)?;
        let subject = Subject {
            drill: incident.drill.name.clone(),
            sha256: crate::session::transcript::sha256_hex(&incident.text),
            source: if incident.inputs.is_some() {
                "transcript".into()
            } else {
                "drill".into()
            },
        };
        WhatIf::new(subject, plan, &variants, records)
    } else {
        let mut parts = Vec::new();
        for path in &args.merge {
            let text =
                files::read_text_limited(path, files::MAX_CALIBRATION_BYTES, "what-if result")
                    .map_err(usage)?;
            let label = path.display().to_string();
            let part: WhatIf = serde_json::from_str(&text).map_err(|e| {
                usage(format!(
                    "{label} is not a what-if result ({e}); merge the files `whatif --json` wrote"
                ))
            })?;
            parts.push((label, part));
        }
        whatif::merge(&parts).map_err(usage)?
    };
    let text = if args.json {
        result.json()
    } else {
        match args.format.unwrap_or_default() {
            WhatifFormat::Text => crate::report::whatif::text(&result),
            WhatifFormat::Markdown => crate::report::whatif::markdown(&result),
            WhatifFormat::Html => crate::report::whatif::html(&result),
        }
    };
    super::emit(args.output.as_deref(), &text)
}

pub(super) fn capacity_cmd(args: &CapacityArgs) -> Result<Exit, AppError> {
    let Source { drill, .. } = load(&args.drill)?;
    let changes = changes(&args.changes, &drill)?;
    let variants = if changes.is_empty() {
        None
    } else {
        Some(variants(&drill, &args.changes, &changes)?)
    };
    let slos: Vec<Slo> = args
        .slo
        .iter()
        .map(|s| Slo::parse(s, &drill))
        .collect::<Result<_, _>>()
        .map_err(usage)?;
    let plan = Plan::new(
        args.runs,
        args.seed_start.unwrap_or(drill.seed),
        Shard::WHOLE,
    )
    .map_err(usage)?;
    let seeds = plan.seeds();
    let mut systems: Vec<(String, &Drill)> = vec![("base".to_owned(), &drill)];
    if let Some(v) = &variants {
        for c in &v.changes {
            systems.push((c.title.clone(), &c.drill));
        }
        if v.changes.len() > 1 {
            systems.push((v.all.title.clone(), &v.all.drill));
        }
    }
    let jobs = jobs(args.jobs)?;
    let bar = progress_bar(0, format!("capacity: {}", drill.name));
    let found = capacity::run(&systems, &slos, &seeds, args.with_faults, jobs, &|| {
        bar.inc(1);
    });
    bar.finish_and_clear();
    let mut found = found.map_err(usage)?.into_iter();
    let base = found.next().expect("the base is searched");
    let report = capacity::Report {
        drill: drill.name.clone(),
        slos,
        with_faults: args.with_faults,
        runs: seeds.len(),
        hold_share: capacity::HOLD_SHARE,
        base,
        changes: found.collect(),
    };
    let text = if args.json {
        super::to_json(&report)
    } else {
        crate::report::whatif::capacity_text(&report)
    };
    super::write_stdout(&text)
}

pub(super) fn postmortem_cmd(args: &PostmortemArgs) -> Result<Exit, AppError> {
    check_outputs(
        args.output.as_deref(),
        "-o",
        &[],
        &[&args.transcript],
        args.force,
    )?;
    let transcript = Transcript::read(&args.transcript).map_err(|e| AppError::Io(e.to_string()))?;
    if let Some(note) = transcript.torn_note(&args.transcript, "it is left out") {
        eprintln!("{note}");
    }
    let drill = transcript
        .drill(&args.transcript)
        .map_err(|e| AppError::Findings(e.to_string()))?;
    let changes = changes(&args.changes, &drill)?;
    let plan = Plan::new(args.runs, transcript.header.seed, Shard::WHOLE).map_err(usage)?;
    let jobs = jobs(args.jobs)?;
    let total = postmortem::runs_needed(&plan, &changes);
    let bar = progress_bar(
        usize::try_from(total).unwrap_or(usize::MAX),
        format!("postmortem: {}", drill.name),
    );
    let built = postmortem::build(
        &transcript,
        &args.transcript,
        &changes,
        &plan,
        jobs,
        args.date.as_deref(),
        &|| bar.inc(1),
    );
    bar.finish_and_clear();
    let pm = built.map_err(|e| match e {
        postmortem::PostmortemError::Runs(e) => usage(e),
        other => AppError::Findings(other.to_string()),
    })?;
    let text = match args.format {
        PostmortemFormat::Markdown => crate::report::postmortem::markdown(&pm),
        PostmortemFormat::Html => crate::report::postmortem::html(&pm),
    };
    super::emit(args.output.as_deref(), &text)
}
