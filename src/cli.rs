//! The command line, as clap reads it: definitions only. [`crate::app`] turns these flags
//! into validated settings and runs the command.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::calibrate::Shard;
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
        /// Also check this responses file (`play --responses`) against the one drill given.
        #[arg(long, value_name = "FILE")]
        responses: Option<PathBuf>,
    },
    /// Run a drill with no team and summarise what happened.
    Simulate(SimulateArgs),
    /// Run a live drill for a team (the built-in monday-rush drill without FILE).
    Run(RunArgs),
    /// Re-run a session from its transcript and print its summary.
    Replay {
        /// The transcript (JSON Lines) a run or play wrote.
        transcript: PathBuf,
        /// Print the summary as one JSON object, with the debrief's score.
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
        /// Replace the -o file if it exists (it is never the transcript itself).
        #[arg(long)]
        force: bool,
    },
    // --- export (Prometheus, OpenMetrics, logs) ---
    /// Export a run for the team's own tools: its metrics as OpenMetrics, the drill's alerts
    /// as Prometheus rules (or a promtool test of them), or the request log as JSON Lines.
    Export(ExportArgs),
    // --- end export ---
    /// Fit the system part of a drill (traffic, steps, pools) from a team's telemetry: a
    /// running Prometheus, an OpenMetrics file, or saved query_range answers.
    Fit(FitArgs),
    // --- calibrate, list, new (the drill library) ---
    /// Run a drill over many seeds, with no team and with its reference response, and check
    /// that its alerts fire, its faults page and its reference response recovers.
    Calibrate(CalibrateArgs),
    /// List the built-in drills: title, what each teaches, difficulty, and with --calibrate
    /// whether it calibrates clean.
    List(ListArgs),
    /// Write a new, commented drill to start from (it passes `check` and `calibrate`).
    New(NewArgs),
    /// A team's record: list recorded sessions, show one, write its debrief, import
    /// transcripts, or write the trends report.
    History(HistoryArgs),
    /// Serve the war room: a team plays a drill together in their browsers, each in a role,
    /// with a facilitator and a projector view.
    Serve(ServeArgs),
    /// Try a postmortem's changes on the same incident: the base system, each change alone
    /// and all together on the same seeds, with no team and with a transcript's inputs.
    Whatif(WhatifArgs),
    /// The load test: the most traffic (a multiplier of the drill's curve) at which every SLO
    /// holds, found by bisection, and what limits it.
    Capacity(CapacityArgs),
    /// Write the postmortem of a played session: impact, detection, timeline, root cause,
    /// lessons, and action items whose effect is proven by what-if on the same incident.
    Postmortem(PostmortemArgs),
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Drill files offered besides the built-in library.
    pub drills: Vec<PathBuf>,
    /// Where to listen (HOST:PORT; port 0 picks a free one). A non-loopback address is
    /// reachable by anyone on the network who has a link.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// Where rooms and their transcripts are kept (default: firedrill's data directory).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// The most rooms the server holds.
    #[arg(long, default_value_t = 200)]
    pub max_rooms: usize,
    /// The history store a room's finished session goes into when its facilitator names the
    /// team (default: `FIREDRILL_DB`, else history.sqlite3 in firedrill's data directory).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Record no room's session, even one that names its team.
    #[arg(long)]
    pub no_record: bool,
    #[command(flatten)]
    pub notify: NotifyArgs,
}

/// Where drill alerts and status updates go besides the screen.
#[derive(Debug, Clone, clap::Args)]
pub struct NotifyArgs {
    /// Post each drill alert (labelled firedrill="drill") to this Alertmanager as it fires and
    /// resolves, e.g. http://127.0.0.1:9093.
    #[arg(long, value_name = "URL", value_parser = crate::front::notify::parse_alertmanager)]
    pub alertmanager: Option<crate::front::notify::Endpoint>,
    /// Post each status update and each page to this Slack-compatible incoming webhook.
    #[arg(long, value_name = "URL", value_parser = crate::front::notify::parse_webhook)]
    pub webhook: Option<crate::front::notify::Endpoint>,
}

impl NotifyArgs {
    #[must_use]
    pub fn targets(&self) -> crate::front::notify::Targets {
        crate::front::notify::Targets {
            alertmanager: self.alertmanager.clone(),
            webhook: self.webhook.clone(),
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct CalibrateArgs {
    /// The drill file, or the name of a built-in drill.
    #[arg(required_unless_present = "merge")]
    pub file: Option<PathBuf>,
    /// How many seeds to run.
    #[arg(long, default_value_t = 100)]
    pub runs: u32,
    /// The first seed; the runs use seeds S, S+1, ...
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed_start: u64,
    /// Worker threads (default: one per core). The results do not depend on it.
    #[arg(long, short, value_name = "J")]
    pub jobs: Option<usize>,
    /// Print one JSON object (with every seed's results) instead of the readable report.
    #[arg(long)]
    pub json: bool,
    /// Run only shard K of N: the seeds whose index i (from 0) has i % N == K-1. Merge the
    /// shards' --json output with --merge.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Merge the --json reports of all the shards of one calibration instead of running.
    #[arg(
        long,
        value_name = "FILES",
        num_args = 1..,
        conflicts_with_all = ["file", "runs", "seed_start", "jobs", "shard"]
    )]
    pub merge: Vec<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Also calibrate each drill (this runs the simulations, so it takes a while).
    #[arg(long)]
    pub calibrate: bool,
    /// Seeds per drill with --calibrate.
    #[arg(long, default_value_t = 20, requires = "calibrate")]
    pub runs: u32,
    /// Worker threads with --calibrate (default: one per core).
    #[arg(long, short, value_name = "J", requires = "calibrate")]
    pub jobs: Option<usize>,
    /// The history store to read measured difficulty from (default: FIREDRILL_DB, else
    /// history.sqlite3 in firedrill's data directory); `list` never creates it.
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// The drill's name: lowercase letters, digits and dashes (`checkout-slowdown`).
    pub name: String,
    /// Where to write it (default: NAME.ron; `-` for standard output). An existing file is
    /// never overwritten.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}
// --- end calibrate, list, new ---

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
    /// Print the end-of-drill summary as JSON instead of text, with the debrief's score
    /// (`score`, and `scoring`: its parts and arithmetic).
    #[arg(long)]
    pub json: bool,
    /// At the end, write the HTML debrief here.
    #[arg(long)]
    pub debrief: Option<PathBuf>,
    /// Replace the --debrief file if it exists (a transcript is never replaced).
    #[arg(long)]
    pub force: bool,
    /// Serve the live metrics at http://ADDR/metrics in the Prometheus text format
    /// (ADDR: HOST:PORT, or a port for 127.0.0.1; port 0 picks a free one).
    #[arg(long, value_name = "ADDR", value_parser = crate::front::metrics_server::parse_listen)]
    pub metrics_listen: Option<std::net::SocketAddr>,
    #[command(flatten)]
    pub notify: NotifyArgs,
    #[command(flatten)]
    pub record: RecordArgs,
}

// --- export ---
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// A drill (run with no team) or a transcript (replayed); told apart by content.
    pub source: PathBuf,
    /// openmetrics, prometheus-rules, promtool-test or logs.
    #[arg(long, value_enum)]
    pub format: crate::export::Format,
    /// Wall-clock time of the drill's start, RFC 3339 (default: the drill's clock_start on
    /// 2026-01-05, UTC, so that exports are reproducible).
    #[arg(long, value_name = "RFC3339")]
    pub start: Option<String>,
    /// Seed for a drill source (default: the drill's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// The rule file a promtool-test export loads, relative to the test file.
    #[arg(long, value_name = "FILE", default_value = "rules.yml")]
    pub rule_file: PathBuf,
    /// Where to write it (default: standard output).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Replace the -o file if it exists (it is never the source itself).
    #[arg(long)]
    pub force: bool,
}
// --- end export ---

// --- fit ---
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("source").args(["prometheus", "openmetrics", "query_json"])))]
pub struct FitArgs {
    /// A running Prometheus's address (http://HOST:PORT), read with /api/v1/query_range.
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
    /// An OpenMetrics file with timestamps (as `firedrill export --format openmetrics` writes).
    #[arg(long, value_name = "FILE")]
    pub openmetrics: Option<PathBuf>,
    /// A directory of saved query_range answers, one file per series (NAME.json).
    #[arg(long, value_name = "DIR")]
    pub query_json: Option<PathBuf>,
    /// The start of the range to fit, RFC 3339 (default: the source's first sample; for
    /// --prometheus, a day before --end).
    #[arg(long, value_name = "RFC3339")]
    pub start: Option<String>,
    /// The end of the range to fit, RFC 3339 (default: the source's last sample; for
    /// --prometheus, now).
    #[arg(long, value_name = "RFC3339")]
    pub end: Option<String>,
    /// The service to fit when the source holds several.
    #[arg(long)]
    pub service: Option<String>,
    /// A pool's acquire timeout, which telemetry cannot show: POOL=DURATION (repeatable;
    /// default 2s).
    #[arg(long, value_name = "POOL=DURATION")]
    pub acquire_timeout: Vec<String>,
    /// Where each series fit reads comes from in the team's telemetry: PromQL for
    /// --prometheus, a series selector for files (`fit --print-map` writes one to start from).
    #[arg(long, value_name = "MAP.ron")]
    pub map: Option<PathBuf>,
    /// Write a commented map to start from (every series fit reads, as firedrill names it),
    /// and stop.
    #[arg(long, conflicts_with_all = ["prometheus", "openmetrics", "query_json", "map", "json"])]
    pub print_map: bool,
    /// The team's Prometheus alerting rules: those in a form firedrill exports become the
    /// drill's alerts; the others are listed with the reason.
    #[arg(long, value_name = "RULES.yml")]
    pub rules: Option<PathBuf>,
    /// With --prometheus: also save each answer in DIR, for --query-json later.
    #[arg(long, value_name = "DIR", requires = "prometheus")]
    pub save_queries: Option<PathBuf>,
    /// Print the fitted values and the goodness report as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Where to write the drill (written whole or not at all; default: standard output).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Replace the -o file if it exists.
    #[arg(long)]
    pub force: bool,
}
// --- end fit ---

#[derive(Debug, clap::Args)]
#[allow(clippy::struct_excessive_bools)] // independent command-line switches
pub struct PlayArgs {
    /// The drill file, or the name of a built-in drill.
    pub file: PathBuf,
    /// Play the drill's own reference response.
    #[arg(
        long,
        conflicts_with_all = ["responses", "wrong"],
        required_unless_present_any = ["responses", "wrong"]
    )]
    pub reference: bool,
    /// Play these responses: a RON list of Say(at: ..., role: ..., input: ...) lines (see
    /// docs/drill-format.md, "Responses files"); a bad line stops the play before it starts.
    #[arg(long, conflicts_with = "wrong")]
    pub responses: Option<PathBuf>,
    /// Play the drill's wrong response of this name (`wrong_responses` in the drill).
    #[arg(long, value_name = "NAME")]
    pub wrong: Option<String>,
    /// Play a responses file's good lines and list its bad ones on standard error, instead of
    /// refusing to play it (and exit 0 though lines were refused as they played).
    #[arg(long, requires = "responses")]
    pub skip_bad_lines: bool,
    /// Seed for every random stream (default: the drill's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Write the session's transcript here.
    #[arg(long)]
    pub transcript: Option<PathBuf>,
    /// Print only the summary, not the session as it plays.
    #[arg(long)]
    pub quiet: bool,
    /// Print the summary as JSON, with the debrief's score (`score`, and `scoring`: its parts
    /// and arithmetic).
    #[arg(long)]
    pub json: bool,
    /// At the end, write the HTML debrief here.
    #[arg(long)]
    pub debrief: Option<PathBuf>,
    /// Replace the --debrief file if it exists (a transcript is never replaced).
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub record: RecordArgs,
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

// --- history ---
/// Recording a finished session in the history store (`run` and `play`).
#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    /// Record the finished session in the history store under this team's name.
    #[arg(long, value_name = "NAME")]
    pub team: Option<String>,
    /// Who held each role, e.g. ops=Ana,ic=Bo: named in the debrief and the transcript, and
    /// recorded with --team (people the session `assign`ed are kept too).
    #[arg(long, value_name = "ROLE=NAME,...")]
    pub people: Option<String>,
    /// When the session was played: 2026-03-02 or 2026-03-02T09:30:00Z (default: now).
    #[arg(long, value_name = "DATE", requires = "team")]
    pub played_at: Option<String>,
    /// Do not record the session, even with --team.
    #[arg(long)]
    pub no_record: bool,
    /// The history store (default: FIREDRILL_DB, else history.sqlite3 in firedrill's data
    /// directory).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    #[command(subcommand)]
    pub command: Option<HistoryCommand>,
    #[command(flatten)]
    pub list: HistoryFilter,
    /// Print the sessions as one JSON array.
    #[arg(long)]
    pub json: bool,
    /// The history store (default: FIREDRILL_DB, else history.sqlite3 in firedrill's data
    /// directory).
    #[arg(long, value_name = "PATH", global = true)]
    pub db: Option<PathBuf>,
}

/// Which sessions to look at.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct HistoryFilter {
    /// Only this team's sessions.
    #[arg(long, value_name = "NAME")]
    pub team: Option<String>,
    /// Only sessions of this drill (its name).
    #[arg(long, value_name = "NAME")]
    pub drill: Option<String>,
    /// Only sessions played on or after this date (2026-03-02 or an RFC 3339 date-time).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// Print one recorded session's summary.
    Show {
        /// The session's id (from `firedrill history`).
        id: i64,
        /// Print it as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Write a recorded session's debrief (recomputed from its transcript).
    Debrief {
        /// The session's id (from `firedrill history`).
        id: i64,
        /// Where to write it (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// html (one self-contained page), json or md.
        #[arg(long, value_enum, default_value_t = Format::Html)]
        format: Format,
        /// Replace the -o file if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Import transcripts (adding one already recorded does nothing).
    Add {
        /// Transcripts (JSON Lines) that run or play wrote.
        #[arg(required = true)]
        transcripts: Vec<PathBuf>,
        /// The team that played them.
        #[arg(long, value_name = "NAME", required = true)]
        team: String,
        /// Who held each role, e.g. ops=Ana,ic=Bo.
        #[arg(long, value_name = "ROLE=NAME,...")]
        people: Option<String>,
        /// When they were played: 2026-03-02 or 2026-03-02T09:30:00Z (default: each file's
        /// modification time).
        #[arg(long, value_name = "DATE")]
        played_at: Option<String>,
    },
    /// Write the trends report: scores over time, timings against objectives, roles' hit
    /// rates, drills left unplayed, drills too easy or too hard.
    Report(HistoryReportArgs),
}

#[derive(Debug, clap::Args)]
pub struct HistoryReportArgs {
    /// Only this team's sessions (default: every team, each in its own section).
    #[arg(long, value_name = "NAME")]
    pub team: Option<String>,
    /// Where to write it (default: standard output).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// html (one self-contained page), json or md.
    #[arg(long, value_enum, default_value_t = Format::Html)]
    pub format: Format,
    /// The day the report is written for (default: the newest session's date): drills not
    /// played in the 90 days before it are listed.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// Replace the -o file if it exists.
    #[arg(long)]
    pub force: bool,
}
// --- end history ---

// --- prevention: whatif, capacity, postmortem ---
/// How a what-if is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum WhatifFormat {
    #[default]
    Text,
    #[value(name = "md", alias = "markdown")]
    Markdown,
    Html,
}

#[derive(Debug, clap::Args)]
pub struct WhatifArgs {
    /// A drill file (or a built-in drill's name), or a transcript (JSON Lines) whose team's
    /// inputs are replayed on each changed system.
    #[arg(required_unless_present = "merge")]
    pub source: Option<PathBuf>,
    /// Change files (RON): `Change(title: .., pools: [..], ...)`, each an action item.
    pub changes: Vec<PathBuf>,
    /// How many seeds (default: one, the transcript's or the drill's own seed, exactly).
    #[arg(long)]
    pub runs: Option<u32>,
    /// The first seed (default: the transcript's or the drill's seed); runs use S, S+1, ...
    #[arg(long, value_name = "S")]
    pub seed_start: Option<u64>,
    /// Worker threads (default: one per core). The results do not depend on it.
    #[arg(long, short, value_name = "J")]
    pub jobs: Option<usize>,
    /// Print one JSON object (with every seed's records, for --merge).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// text (default), md or html (one self-contained page).
    #[arg(long, value_enum)]
    pub format: Option<WhatifFormat>,
    /// Where to write it (default: standard output).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Replace the -o file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Run only shard K of N of the seeds; merge the shards' --json with --merge.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Merge the --json results of every shard of one what-if instead of running.
    #[arg(
        long,
        value_name = "FILES",
        num_args = 1..,
        conflicts_with_all = ["source", "changes", "runs", "seed_start", "jobs", "shard"]
    )]
    pub merge: Vec<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct CapacityArgs {
    /// The drill file, or the name of a built-in drill.
    pub drill: PathBuf,
    /// Change files (RON): the capacity of each changed system is found too.
    pub changes: Vec<PathBuf>,
    /// An objective, `METRIC OP VALUE` with a metric as `metric NAME` names it:
    /// 'latency_p99 < 5s', 'error_ratio < 0.01', 'pool_utilization:db <= 80%'. Repeatable.
    #[arg(long, required = true, value_name = "SLO")]
    pub slo: Vec<String>,
    /// Seeds per multiplier tried; an SLO holds when no window breaches it in 95 % of them.
    #[arg(long, default_value_t = 20)]
    pub runs: u32,
    /// The first seed (default: the drill's); runs use S, S+1, ...
    #[arg(long, value_name = "S")]
    pub seed_start: Option<u64>,
    /// Keep the drill's faults (the surge rides on the incident: simultaneous peaks).
    #[arg(long)]
    pub with_faults: bool,
    /// Worker threads (default: one per core). The results do not depend on it.
    #[arg(long, short, value_name = "J")]
    pub jobs: Option<usize>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct PostmortemArgs {
    /// The transcript (JSON Lines) of the session a run, play or the war room wrote.
    pub transcript: PathBuf,
    /// Change files (RON): the action items, each proven by what-if on this incident.
    pub changes: Vec<PathBuf>,
    /// Seeds each action item is tried on (from the transcript's seed).
    #[arg(long, default_value_t = 20)]
    pub runs: u32,
    /// Worker threads (default: one per core). The result does not depend on it.
    #[arg(long, short, value_name = "J")]
    pub jobs: Option<usize>,
    /// md (default, for a wiki) or html (one self-contained page).
    #[arg(long, value_enum, default_value_t = PostmortemFormat::Markdown)]
    pub format: PostmortemFormat,
    /// The date the incident happened, as the document shows it (default: from the
    /// transcript, or "date not recorded"; never today's date, so the same inputs give the
    /// same bytes).
    #[arg(long, value_name = "DATE")]
    pub date: Option<String>,
    /// Where to write it (default: standard output).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Replace the -o file if it exists.
    #[arg(long)]
    pub force: bool,
}

/// How a postmortem is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PostmortemFormat {
    #[default]
    #[value(name = "md", alias = "markdown")]
    Markdown,
    Html,
}
// --- end prevention ---
