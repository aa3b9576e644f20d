//! The commands for a drill's author: `check`, `simulate` (with a progress bar over simulated
//! time and the wall time it took), `calibrate` (across seeds, or merging shards), `list` (the
//! built-in drills, optionally calibrated) and `new` (a drill to start from).
//!
//! They compute nothing themselves: loading and checking, the engine and calibration do; here
//! are the flags, the progress bars and the wall clock.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::{AppError, Exit, Source, history, load, to_json, usage, write_stdout};
use crate::calibrate::{self, Calibration, Plan, Shard};
use crate::cli::{CalibrateArgs, ListArgs, NewArgs, SimulateArgs};
use crate::drill::check::{CheckStatus, ReportStyle};
use crate::drill::{self, library};
use crate::files;
use crate::sim::{RunOptions, Sim, Summary};

pub(super) fn check(paths: &[PathBuf], responses: Option<&Path>) -> Result<Exit, AppError> {
    if responses.is_some() && paths.len() != 1 {
        return Err(AppError::Io(format!(
            "--responses checks a responses file against one drill, but {} were given; check them one at a time",
            paths.len()
        )));
    }
    let style = ReportStyle::detect(&std::io::stdout());
    let mut out = std::io::stdout().lock();
    let write_error = |e: std::io::Error| AppError::Io(format!("cannot write output: {e}"));
    let outcome = drill::check::check(paths, style, &mut out).map_err(write_error)?;
    let exit = match outcome.status() {
        CheckStatus::Valid => Exit::Ok,
        CheckStatus::Findings => Exit::Findings,
        CheckStatus::Unreadable => Exit::Usage,
    };
    let (Some(responses), Exit::Ok) = (responses, exit) else {
        if responses.is_some() && exit == Exit::Findings {
            writeln!(
                out,
                "the responses file is not checked: fix the drill first"
            )
            .map_err(write_error)?;
        }
        return Ok(exit);
    };
    let drill = drill::load_file(&paths[0]).map_err(|e| AppError::Io(e.to_string()))?;
    let input_check = |input: &str| {
        crate::session::command::check(input, &drill).map_err(|e| (e.message, e.hint))
    };
    let text = files::read_text_limited(responses, files::MAX_RESPONSES_BYTES, "responses file")
        .map_err(AppError::Io)?;
    let name = responses.display().to_string();
    match drill::load::load_responses_str(&name, &text, &drill, &input_check) {
        Ok(read) => match &read.problems {
            None => {
                writeln!(
                    out,
                    "ok  {} ({} lines for drill {})",
                    responses.display(),
                    read.lines.len(),
                    drill.name
                )
                .map_err(write_error)?;
                Ok(Exit::Ok)
            }
            Some(problems) => {
                drill::check::report(problems, style, &mut out).map_err(write_error)?;
                writeln!(
                    out,
                    "{}: {} bad line(s) of {}",
                    responses.display(),
                    read.bad,
                    read.bad + read.lines.len()
                )
                .map_err(write_error)?;
                Ok(Exit::Findings)
            }
        },
        Err(e) => {
            drill::check::report(&e, style, &mut out).map_err(write_error)?;
            Ok(if e.is_io() {
                Exit::Usage
            } else {
                Exit::Findings
            })
        }
    }
}

pub(super) fn simulate(args: &SimulateArgs) -> Result<Exit, AppError> {
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

/// `--jobs`: at least 1 and at most [`calibrate::MAX_JOBS`]; none means one thread per core
/// (rayon's 0).
pub(super) fn jobs(jobs: Option<usize>) -> Result<usize, AppError> {
    match jobs {
        Some(0) => Err(AppError::Io("--jobs must be at least 1".into())),
        Some(j) => calibrate::check_jobs(j).map_err(usage),
        None => Ok(0),
    }
}

/// A progress bar on stderr, drawn only when stderr is a terminal.
pub(super) fn progress_bar(len: usize, message: String) -> indicatif::ProgressBar {
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

pub(super) fn calibrate(args: &CalibrateArgs) -> Result<Exit, AppError> {
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

pub(super) fn list(args: &ListArgs) -> Result<Exit, AppError> {
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

pub(super) fn new_drill(args: &NewArgs) -> Result<Exit, AppError> {
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
