//! Exports for the team's own tools: a run's metrics as OpenMetrics (to backfill into
//! Prometheus and look at in Grafana), the drill's alerts as a Prometheus rule file (and a
//! `promtool test rules` file that checks those rules against the run), and the request log
//! as JSON Lines.
//!
//! A run comes from a drill (played with no team, like `firedrill simulate`) or from a
//! transcript (replayed command by command). Either way the simulation is advanced bucket by
//! bucket and sampled at every bucket's end ([`sample::Sampler`]); results do not depend on
//! how a run is sliced, so the series end exactly where the run's summary does. Timestamps
//! start at `--start`, by default the drill's `clock_start` on a fixed date
//! ([`time::DEFAULT_DATE`]): no export reads the wall clock.
//!
//! Metric names come from [`crate::telemetry::prometheus::METRICS`]; this module only lays
//! them out in files.

pub mod logs;
pub mod openmetrics;
pub mod rules;
pub mod sample;
pub mod time;

use std::path::{Path, PathBuf};

use crate::drill::Duration;
use crate::drill::spec::Drill;
use crate::session::Session;
use crate::session::transcript::{Transcript, TranscriptError};
use crate::sim::world::{AlertRule, AlertState};
use crate::sim::{RunOptions, Sim, SimTime};
use crate::telemetry::log::LogLine;
use crate::telemetry::prometheus::Snapshot;
use sample::Sampler;

/// What `firedrill export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Every metric at every bucket's end, with timestamps, ending in `# EOF`.
    Openmetrics,
    /// The drill's alerts as a Prometheus rule file.
    PrometheusRules,
    /// A `promtool test rules` file: the run's series as input, and the drill's alerts
    /// expected to fire when they fired in the run.
    PromtoolTest,
    /// The request log as JSON Lines.
    Logs,
}

/// Everything an export needs from a finished run.
#[derive(Debug)]
pub struct Run {
    pub drill: Drill,
    /// Snapshots at time zero, at every bucket's end, and at the run's last instant.
    pub snapshots: Vec<Snapshot>,
    pub log: Vec<LogLine>,
    /// The drill's alerts with their histories, in drill order.
    pub alerts: Vec<(AlertRule, AlertState)>,
    /// The metric bucket: the rule evaluation interval.
    pub bucket: Duration,
    /// The look-back window the engine's alerts used (whole buckets).
    pub window: Duration,
}

/// Where a run comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    Drill,
    Transcript,
}

/// A transcript starts with a JSON header line; anything else is a drill (or a built-in
/// drill's name).
#[must_use]
pub fn detect(path: &Path) -> SourceKind {
    if path.extension().is_some_and(|e| e == "jsonl") {
        return SourceKind::Transcript;
    }
    // Only a regular file's first bytes are looked at: a header begins with its format
    // field, and a FIFO or an endless file must not be read here.
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return SourceKind::Drill;
    }
    let mut head = Vec::new();
    if std::fs::File::open(path)
        .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, 4096), &mut head))
        .is_err()
    {
        return SourceKind::Drill;
    }
    let head = String::from_utf8_lossy(&head);
    let first = head.trim_start_matches('\u{feff}').trim_start();
    let first = first.strip_prefix('{').map(str::trim_start);
    if first.is_some_and(|f| f.starts_with("\"firedrill_transcript\"")) {
        SourceKind::Transcript
    } else {
        SourceKind::Drill
    }
}

/// The bucket ends in `(from, to]`: multiples of `bucket`, and `to` itself if it is the end.
fn bucket_ends(from: SimTime, to: SimTime, bucket: Duration, end: SimTime) -> Vec<SimTime> {
    let step = bucket.as_nanos().max(1);
    let mut out = Vec::new();
    let mut t = (from.nanos() / step + 1) * step;
    while t <= to.nanos() && t < end.nanos() {
        out.push(SimTime::from_nanos(t));
        t += step;
    }
    if to >= end && from < end {
        out.push(end);
    }
    out
}

fn bucket_of(drill: &Drill) -> (Duration, Duration) {
    let bucket = if drill.telemetry.bucket.is_zero() {
        Duration::from_secs(10)
    } else {
        drill.telemetry.bucket
    };
    let buckets = drill
        .telemetry
        .window
        .as_nanos()
        .div_ceil(bucket.as_nanos())
        .max(1);
    (bucket, Duration::from_nanos(buckets * bucket.as_nanos()))
}

fn finish(drill: Drill, sim: &Sim, snapshots: Vec<Snapshot>) -> Run {
    let (bucket, window) = bucket_of(&drill);
    Run {
        snapshots,
        log: sim.telemetry().log().to_vec(),
        alerts: sim.alert_states().to_vec(),
        bucket,
        window,
        drill,
    }
}

/// Plays `drill` with no team to its end, sampling every bucket.
#[must_use]
pub fn run_drill(drill: Drill, seed: Option<u64>) -> Run {
    let mut sim = Sim::new(
        &drill,
        &RunOptions {
            seed,
            ..RunOptions::default()
        },
    );
    let mut sampler = Sampler::new(&drill);
    let mut snapshots = vec![sampler.sample(&sim)];
    let (bucket, _) = bucket_of(&drill);
    let end = sim.end();
    for t in bucket_ends(SimTime::ZERO, end, bucket, end) {
        sim.run_until(t);
        snapshots.push(sampler.sample(&sim));
    }
    finish(drill, &sim, snapshots)
}

/// Replays the transcript at `path` command by command, sampling every bucket on the way.
///
/// # Errors
/// The transcript cannot be read, or a line is refused on replay.
pub fn run_transcript(path: &Path) -> Result<Run, TranscriptError> {
    run_read_transcript(&Transcript::read(path)?, path)
}

/// As [`run_transcript`], for a transcript already read from `path`.
///
/// # Errors
/// A line is refused on replay.
pub fn run_read_transcript(transcript: &Transcript, path: &Path) -> Result<Run, TranscriptError> {
    let drill = transcript.drill(path)?;
    let mut sampler = Sampler::new(&drill);
    let (bucket, _) = bucket_of(&drill);
    let mut snapshots = Vec::new();
    let mut step_to = |session: &mut Session, to: SimTime| {
        if snapshots.is_empty() {
            snapshots.push(sampler.sample(session.sim()));
        }
        let end = session.sim().end();
        for t in bucket_ends(session.now(), to, bucket, end) {
            session.advance_to(t);
            snapshots.push(sampler.sample(session.sim()));
        }
        session.advance_to(to);
    };
    let session = transcript.replay_with(path, &mut step_to)?;
    if snapshots.is_empty() {
        snapshots.push(sampler.sample(session.sim()));
    }
    let now = session.now().as_secs_f64();
    if snapshots.last().is_none_or(|s| s.at < now) {
        snapshots.push(sampler.sample(session.sim()));
    }
    Ok(finish(drill, session.sim(), snapshots))
}

/// Settings for one export, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    pub format: Format,
    /// Milliseconds since the Unix epoch at simulated time zero; `None` for the default.
    pub start_ms: Option<i64>,
    /// The rule file a `promtool-test` export refers to.
    pub rule_file: PathBuf,
}

/// Writes `run` in the chosen format to `out`; OpenMetrics is streamed series by series,
/// never built whole in memory.
///
/// # Errors
/// I/O from `out`.
pub fn write(run: &Run, settings: &Settings, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    if settings.format == Format::Openmetrics {
        let start_ms = settings
            .start_ms
            .unwrap_or_else(|| time::default_start_ms(&run.drill));
        return openmetrics::write(&run.snapshots, start_ms, out);
    }
    out.write_all(render(run, settings).as_bytes())
}

/// Renders `run` in the chosen format.
#[must_use]
pub fn render(run: &Run, settings: &Settings) -> String {
    let start_ms = settings
        .start_ms
        .unwrap_or_else(|| time::default_start_ms(&run.drill));
    match settings.format {
        Format::Openmetrics => openmetrics::render(&run.snapshots, start_ms),
        Format::PrometheusRules => rules::render_rules(run),
        Format::PromtoolTest => rules::render_test(run, &settings.rule_file),
        Format::Logs => logs::render(run, start_ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_ends_cover_the_run_once() {
        let s = |x: u64| SimTime::from_nanos(x * 1_000_000_000);
        let b = Duration::from_secs(10);
        assert_eq!(bucket_ends(s(0), s(25), b, s(100)), vec![s(10), s(20)]);
        assert_eq!(bucket_ends(s(20), s(35), b, s(100)), vec![s(30)]);
        assert_eq!(bucket_ends(s(90), s(200), b, s(95)), vec![s(95)]);
        assert_eq!(bucket_ends(s(95), s(200), b, s(95)), Vec::<SimTime>::new());
    }
}
