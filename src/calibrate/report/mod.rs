//! What a calibration found: statistics over the seeds' records, the verdicts, and the text a
//! drill author reads. Everything here is a pure function of the drill's description
//! ([`Subject`]), the plan and the records in seed order, so a merged set of shards reports
//! exactly what one unsharded run does.
//!
//! Quantiles are nearest-rank (always one of the observed values) and shares are counted in
//! whole runs, so no result depends on the order of floating-point sums.
//!
//! This file owns the report itself ([`Calibration`], built from the records) and what it
//! carries about the drill ([`Subject`]). The statistics and their types are in `stats`, the
//! checks and their limits in `verdicts`, the text for a person in `text`. Nothing here runs a
//! seed or reads a clock.

mod stats;
mod text;
mod verdicts;

use serde::{Deserialize, Serialize};

use super::{Plan, SeedRun};
use crate::drill::Drill;
use crate::drill::spec::Expect;
use crate::score::impact::severity_text;
use crate::session::transcript::sha256_hex;

pub use self::stats::{
    AlertStats, AttributedAlert, FaultStats, HarmStats, Impact, MedianP90, ReferenceStats, Share,
    Spread, WrongStats,
};
use self::stats::{total_harm, wrong_stats};
pub use self::verdicts::{
    ALERT_FIRES_MIN, ALERT_QUIET_MAX, Check, EARLY_PAGE_MAX, FAULT_PAGES_MIN, FAULT_QUIET_MAX,
    REFERENCE_HELPS_MIN, REFERENCE_RECOVERS_MIN, Verdict, WRONG_RECOVERS_MAX,
    WRONG_SCORES_BELOW_MIN,
};
use self::verdicts::{outcome_verdicts, verdicts};

/// The version of the JSON layout; merging refuses any other.
pub const FORMAT: u32 = 2;

/// One alert of the drill, as the report names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertInfo {
    pub name: String,
    /// `page` or `ticket`.
    pub severity: String,
    /// What the drill expects of it with no team: `fires`, `quiet` or `either`.
    #[serde(default = "fires")]
    pub expect: String,
}

/// The expectation of alerts in reports written before alerts had one.
fn fires() -> String {
    Expect::Fires.as_str().to_owned()
}

/// What a calibration needs to know about the drill, carried in the JSON so shards can be
/// checked against each other and merged without the drill at hand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subject {
    pub name: String,
    pub title: String,
    /// Of the drill's text: shards of different drills (or versions) do not merge.
    pub sha256: String,
    pub duration_seconds: f64,
    pub alerts: Vec<AlertInfo>,
    pub faults: Vec<String>,
    /// Per fault: a cause (`true`) or a distraction.
    pub fault_causes: Vec<bool>,
    /// Per fault: whether it should page with no team, `fires`, `quiet` or `either` (its
    /// `expect`, or `fires` for a cause and `either` for a distraction).
    pub fault_expect: Vec<String>,
    /// Whether the drill has a reference response.
    pub reference: bool,
    /// The names of its wrong responses.
    #[serde(default)]
    pub wrong_responses: Vec<String>,
}

impl Subject {
    #[must_use]
    pub fn of(drill: &Drill, text: &str) -> Subject {
        Subject {
            name: drill.name.clone(),
            title: drill.title.clone(),
            sha256: sha256_hex(text),
            duration_seconds: drill.duration.as_secs_f64(),
            alerts: drill
                .alerts
                .iter()
                .map(|a| AlertInfo {
                    name: a.name.clone(),
                    severity: severity_text(a.severity).to_owned(),
                    expect: a.expect.as_str().to_owned(),
                })
                .collect(),
            faults: drill.faults.iter().map(|f| f.name.clone()).collect(),
            fault_causes: drill.faults.iter().map(|f| f.cause).collect(),
            fault_expect: drill
                .faults
                .iter()
                .map(|f| f.expected().as_str().to_owned())
                .collect(),
            reference: !drill.reference.is_empty(),
            wrong_responses: drill
                .wrong_responses
                .iter()
                .map(|r| r.name.clone())
                .collect(),
        }
    }
}

/// A calibration's report; its JSON form is what `--json` prints and `--merge` reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// The version of this layout ([`FORMAT`]).
    pub calibration_format: u32,
    pub drill: Subject,
    pub plan: Plan,
    /// How many seeds this report covers (all of `plan.runs` unless it is a shard).
    pub seeds_run: u64,
    /// The one wall-clock figure; a merge reports the sum of its shards'.
    pub wall_seconds: f64,
    pub alerts: Vec<AlertStats>,
    pub faults: Vec<FaultStats>,
    /// Runs with no team in which no page alert was attributed to a cause fault, so that
    /// every page alert stood in for the causes.
    pub attribution_fallbacks: Share,
    /// Runs with no team that paged before any fault started.
    pub early_pages: Share,
    pub impact: Impact,
    pub reference: Option<ReferenceStats>,
    /// One per wrong response, in drill order.
    #[serde(default)]
    pub wrong_responses: Vec<WrongStats>,
    pub verdicts: Vec<Verdict>,
    /// Whether every verdict passes.
    pub pass: bool,
    /// Each seed's record, in seed order.
    pub seed_runs: Vec<SeedRun>,
}

impl Calibration {
    /// The report over `runs` (in seed order).
    #[must_use]
    pub fn new(drill: Subject, plan: Plan, runs: Vec<SeedRun>, wall_seconds: f64) -> Calibration {
        let alerts: Vec<AlertStats> = drill
            .alerts
            .iter()
            .enumerate()
            .map(|(i, a)| AlertStats {
                name: a.name.clone(),
                severity: a.severity.clone(),
                expect: a.expect.clone(),
                fired: Share::count(
                    runs.iter()
                        .map(|r| r.no_team.alert_fired.get(i).copied().flatten().is_some()),
                ),
                time_to_fire_seconds: Spread::of(
                    runs.iter()
                        .filter_map(|r| r.no_team.alert_delay.get(i).copied().flatten())
                        .collect(),
                ),
            })
            .collect();
        let attributed = |r: &SeedRun, f: usize, a: usize| {
            r.no_team
                .attributed
                .get(f)
                .is_some_and(|alerts| alerts.contains(&a))
        };
        let faults: Vec<FaultStats> = drill
            .faults
            .iter()
            .enumerate()
            .map(|(i, name)| FaultStats {
                name: name.clone(),
                cause: drill.fault_causes.get(i).copied().unwrap_or(true),
                expect: drill.fault_expect.get(i).cloned().unwrap_or_else(fires),
                started: Share::count(
                    runs.iter()
                        .map(|r| r.no_team.fault_started.get(i).copied().flatten().is_some()),
                ),
                paged: Share::count(runs.iter().map(|r| {
                    drill
                        .alerts
                        .iter()
                        .enumerate()
                        .any(|(a, info)| info.severity == "page" && attributed(r, i, a))
                })),
                alerts: drill
                    .alerts
                    .iter()
                    .enumerate()
                    .map(|(a, info)| AttributedAlert {
                        name: info.name.clone(),
                        attributed: Share::count(runs.iter().map(|r| attributed(r, i, a))),
                    })
                    .filter(|x| x.attributed.runs > 0)
                    .collect(),
            })
            .collect();
        let attribution_fallbacks =
            Share::count(runs.iter().map(|r| r.no_team.attribution_fallback));
        let early_pages = Share::count(runs.iter().map(|r| r.no_team.early_page));
        let references: Vec<_> = runs.iter().filter_map(|r| r.reference.as_ref()).collect();
        let impact = Impact {
            no_team: HarmStats::of(&runs.iter().map(|r| &r.no_team.harm).collect::<Vec<_>>()),
            reference: drill
                .reference
                .then(|| HarmStats::of(&references.iter().map(|r| &r.harm).collect::<Vec<_>>())),
        };
        let reference = drill.reference.then(|| ReferenceStats {
            recovered: Share::count(references.iter().map(|r| r.recovered.is_some())),
            recovery_after_first_page_seconds: Spread::of(
                references
                    .iter()
                    .filter_map(|r| Some(r.recovered? - r.first_page?))
                    .collect(),
            ),
            harms_fewer: Share::count(runs.iter().filter_map(|r| {
                r.reference
                    .as_ref()
                    .map(|x| total_harm(&x.harm) < total_harm(&r.no_team.harm))
            })),
            score: (!references.is_empty())
                .then(|| MedianP90::of(references.iter().map(|r| f64::from(r.score)).collect())),
        });
        let wrong_responses = wrong_stats(&drill.wrong_responses, &runs);
        let mut verdicts = verdicts(&alerts, &faults, early_pages, reference.as_ref());
        verdicts.extend(outcome_verdicts(reference.as_ref(), &wrong_responses));
        Calibration {
            calibration_format: FORMAT,
            plan,
            seeds_run: runs.len() as u64,
            wall_seconds,
            pass: verdicts.iter().all(|v| v.pass),
            alerts,
            faults,
            attribution_fallbacks,
            early_pages,
            impact,
            reference,
            wrong_responses,
            verdicts,
            seed_runs: runs,
            drill,
        }
    }

    /// The verdicts that fail.
    pub fn failures(&self) -> impl Iterator<Item = &Verdict> {
        self.verdicts.iter().filter(|v| !v.pass)
    }

    /// The report for a person: statistics, then verdicts.
    #[must_use]
    pub fn render_text(&self) -> String {
        text::render_text(self)
    }
}
