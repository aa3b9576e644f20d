//! What a calibration found: statistics over the seeds' records, the verdicts, and the text a
//! drill author reads. Everything here is a pure function of the drill's description
//! ([`Subject`]), the plan and the records in seed order, so a merged set of shards reports
//! exactly what one unsharded run does.
//!
//! Quantiles are nearest-rank (always one of the observed values) and shares are counted in
//! whole runs, so no result depends on the order of floating-point sums.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::{Harm, Plan, SeedRun, WrongRun};
use crate::drill::spec::Expect;
use crate::drill::{Drill, Duration};
use crate::score::counterfactual::group;
use crate::score::impact::severity_text;
use crate::session::transcript::sha256_hex;

/// The version of the JSON layout; merging refuses any other.
pub const FORMAT: u32 = 2;

/// An alert expected to fire should fire in at least this many percent of the runs with no
/// team.
pub const ALERT_FIRES_MIN: u64 = 95;
/// An alert expected to stay quiet may fire in at most this many percent of them.
pub const ALERT_QUIET_MAX: u64 = 5;
/// At most this many percent of the runs with no team may page before any fault.
pub const EARLY_PAGE_MAX: u64 = 5;
/// A fault expected to page (a cause, by default) should have a page attributed to it in at
/// least this many percent of the runs with no team.
pub const FAULT_PAGES_MIN: u64 = 95;
/// A fault expected not to page may have a page attributed to it in at most this many percent.
pub const FAULT_QUIET_MAX: u64 = 5;
/// The reference response should recover in at least this many percent of the runs.
pub const REFERENCE_RECOVERS_MIN: u64 = 90;
/// The reference response should harm fewer users than no team in at least this many percent
/// of the runs.
pub const REFERENCE_HELPS_MIN: u64 = 95;
/// A wrong response should score below the reference in at least this many percent of the runs.
pub const WRONG_SCORES_BELOW_MIN: u64 = 95;
/// A wrong response may recover in at most this many percent of the runs.
pub const WRONG_RECOVERS_MAX: u64 = 5;

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

/// In how many of the runs something happened.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Share {
    pub runs: u64,
    pub of: u64,
    pub fraction: f64,
}

impl Share {
    fn count(flags: impl Iterator<Item = bool>) -> Share {
        let (mut runs, mut of) = (0, 0);
        for f in flags {
            of += 1;
            runs += u64::from(f);
        }
        Share {
            runs,
            of,
            fraction: if of == 0 {
                0.0
            } else {
                runs as f64 / of as f64
            },
        }
    }

    /// At least `percent` percent of the runs.
    fn at_least(self, percent: u64) -> bool {
        self.of > 0 && self.runs * 100 >= percent * self.of
    }

    /// At most `percent` percent of the runs.
    fn at_most(self, percent: u64) -> bool {
        self.runs * 100 <= percent * self.of
    }

    /// `97.5%`, rounded down so that a share below a limit never prints as the limit.
    #[must_use]
    pub fn percent(self) -> String {
        if self.of == 0 {
            return "-".to_owned();
        }
        let tenths = self.runs * 1000 / self.of;
        if tenths.is_multiple_of(10) {
            format!("{}%", tenths / 10)
        } else {
            format!("{}.{}%", tenths / 10, tenths % 10)
        }
    }
}

/// p10, p50 and p90 of some seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
}

impl Spread {
    fn of(values: Vec<f64>) -> Option<Spread> {
        let sorted = sorted(values);
        (!sorted.is_empty()).then(|| Spread {
            p10: nearest_rank(&sorted, 10),
            p50: nearest_rank(&sorted, 50),
            p90: nearest_rank(&sorted, 90),
        })
    }
}

/// The median and p90 of one measure of harm.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct MedianP90 {
    pub median: f64,
    pub p90: f64,
}

impl MedianP90 {
    fn of(values: Vec<f64>) -> MedianP90 {
        let sorted = sorted(values);
        if sorted.is_empty() {
            return MedianP90 {
                median: 0.0,
                p90: 0.0,
            };
        }
        MedianP90 {
            median: nearest_rank(&sorted, 50),
            p90: nearest_rank(&sorted, 90),
        }
    }
}

fn sorted(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    values
}

/// The nearest-rank `percent` percentile of `sorted` (not empty).
fn nearest_rank(sorted: &[f64], percent: usize) -> f64 {
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// An alert in the runs with no team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertStats {
    pub name: String,
    pub severity: String,
    /// `fires`, `quiet` or `either` (see [`AlertInfo`]).
    #[serde(default = "fires")]
    pub expect: String,
    /// Runs in which it fired at all.
    pub fired: Share,
    /// From the first fault's start (the drill's start without faults) to its first firing
    /// after it, over the runs in which it fired then.
    pub time_to_fire_seconds: Option<Spread>,
}

/// A fault in the runs with no team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultStats {
    pub name: String,
    /// A cause (`true`) or a distraction.
    pub cause: bool,
    /// `fires`, `quiet` or `either`: whether it should page.
    pub expect: String,
    pub started: Share,
    /// Runs in which a page alert attributed to it fired (it fired with the fault, and not
    /// with the fault left out).
    pub paged: Share,
    /// Each alert attributed to it in some run, with the runs in which it was.
    pub alerts: Vec<AttributedAlert>,
}

/// An alert attributed to a fault, and in how many runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributedAlert {
    pub name: String,
    pub attributed: Share,
}

/// Median and p90 of each measure of harm over the whole drill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HarmStats {
    pub failed: MedianP90,
    pub rejected: MedianP90,
    pub degraded: MedianP90,
    pub wrong_answers: MedianP90,
    /// Failed + rejected + degraded.
    pub harmed: MedianP90,
    /// The harm the score counts: failed + rejected + degraded + wrong answers.
    #[serde(default)]
    pub scored: MedianP90,
    pub page_breach_minutes: MedianP90,
}

impl HarmStats {
    fn of(harms: &[&Harm]) -> HarmStats {
        let col = |f: fn(&Harm) -> f64| MedianP90::of(harms.iter().map(|h| f(h)).collect());
        HarmStats {
            failed: col(|h| h.failed as f64),
            rejected: col(|h| h.rejected as f64),
            degraded: col(|h| h.degraded as f64),
            wrong_answers: col(|h| h.wrong_answers as f64),
            harmed: col(|h| h.harmed as f64),
            scored: col(|h| total_harm(h) as f64),
            page_breach_minutes: col(|h| h.page_breach_minutes),
        }
    }
}

/// Harm with no team, and with the reference response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Impact {
    pub no_team: HarmStats,
    pub reference: Option<HarmStats>,
}

/// How the reference response did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceStats {
    pub recovered: Share,
    /// From the first page to recovery, over the runs that recovered.
    pub recovery_after_first_page_seconds: Option<Spread>,
    /// Runs in which it harmed fewer users than no team.
    pub harms_fewer: Share,
    /// Its score (median / p90).
    pub score: Option<MedianP90>,
}

/// How one wrong response did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WrongStats {
    pub name: String,
    /// Runs in which it scored below the reference (all runs when the drill has none).
    pub scores_below_reference: Share,
    pub recovered: Share,
    /// Its score (median / p90).
    pub score: MedianP90,
    pub harm: HarmStats,
}

/// What a verdict checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// An alert expected to fire does so in at least 95% of the runs with no team.
    AlertFires,
    /// An alert expected to stay quiet fires in at most 5% of them.
    AlertQuiet,
    /// A page before any fault in at most 5% of the runs with no team.
    EarlyPage,
    /// A cause fault pages (a page alert is attributed to it) in at least 95% of the runs with
    /// no team, or as its `expect` says.
    CausePaged,
    /// A distraction pages as its `expect` says (by default it may or may not).
    DistractionPages,
    /// The reference response recovers in at least 90% of the runs.
    ReferenceRecovers,
    /// The reference response harms fewer users than no team in at least 95% of the runs.
    ReferenceHelps,
    /// A wrong response scores below the reference in at least 95% of the runs and recovers
    /// in at most 5%.
    WrongResponseFails,
}

/// One check of the drill, passed or failed, with what to do about a failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub check: Check,
    /// The alert or fault it is about, if any.
    pub subject: Option<String>,
    pub observed: Share,
    pub pass: bool,
    /// `DbPoolSaturated fires in 80% of runs (needs at least 95%)`.
    pub message: String,
    /// What to change in the drill when it fails.
    pub hint: String,
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
        render_text(self)
    }
}

fn verdicts(
    alerts: &[AlertStats],
    faults: &[FaultStats],
    early_pages: Share,
    reference: Option<&ReferenceStats>,
) -> Vec<Verdict> {
    let mut out = Vec::new();
    for a in alerts {
        if a.expect == Expect::Quiet.as_str() {
            out.push(Verdict {
                check: Check::AlertQuiet,
                subject: Some(a.name.clone()),
                observed: a.fired,
                pass: a.fired.at_most(ALERT_QUIET_MAX),
                message: format!(
                    "alert {} fires in {} of runs with no team (expected quiet: at most {ALERT_QUIET_MAX}%)",
                    a.name,
                    a.fired.percent()
                ),
                hint: "raise its threshold or lengthen its `for` so the drill's fault does not \
                       trip it, or write `expect: Either` if it may fire"
                    .to_owned(),
            });
            continue;
        }
        if a.expect == Expect::Either.as_str() {
            continue;
        }
        out.push(Verdict {
            check: Check::AlertFires,
            subject: Some(a.name.clone()),
            observed: a.fired,
            pass: a.fired.at_least(ALERT_FIRES_MIN),
            message: format!(
                "alert {} fires in {} of runs with no team (needs at least {ALERT_FIRES_MIN}%)",
                a.name,
                a.fired.percent()
            ),
            hint: "lower its threshold or its `for`, or make the fault stronger or earlier, so \
                   the team reliably sees it"
                .to_owned(),
        });
    }
    out.push(Verdict {
        check: Check::EarlyPage,
        subject: None,
        observed: early_pages,
        pass: early_pages.at_most(EARLY_PAGE_MAX),
        message: format!(
            "a page fires before any fault in {} of runs with no team (allows at most {EARLY_PAGE_MAX}%)",
            early_pages.percent()
        ),
        hint: "the baseline already breaches a page alert: raise its threshold, lengthen its \
               `for`, or give the system more headroom before the fault"
            .to_owned(),
    });
    for f in faults {
        out.push(fault_verdict(f));
    }
    match reference {
        Some(r) => out.push(Verdict {
            check: Check::ReferenceRecovers,
            subject: None,
            observed: r.recovered,
            pass: r.recovered.at_least(REFERENCE_RECOVERS_MIN),
            message: format!(
                "the reference response recovers in {} of runs (needs at least {REFERENCE_RECOVERS_MIN}%)",
                r.recovered.percent()
            ),
            hint: "strengthen the reference response (act sooner or harder), or check its \
                   anchors: a line anchored on FirstPage never plays when nothing pages"
                .to_owned(),
        }),
        None => out.push(Verdict {
            check: Check::ReferenceRecovers,
            subject: None,
            observed: Share::count(std::iter::empty()),
            pass: false,
            message: "the drill has no reference response, so nothing shows it can be won"
                .to_owned(),
            hint: "add a `reference: [Say(...), ...]` list that mitigates the fault".to_owned(),
        }),
    }
    out
}

/// Whether a fault pages as its `expect` says: a page attributed to it (fired with it, and
/// not with it left out) in at least 95% of the runs with no team, in at most 5%, or either.
fn fault_verdict(f: &FaultStats) -> Verdict {
    let (check, what) = if f.cause {
        (
            Check::CausePaged,
            format!("the cause `{}` is paged", f.name),
        )
    } else {
        (
            Check::DistractionPages,
            format!("the distraction `{}` pages", f.name),
        )
    };
    let (pass, needs, hint) = match f.expect.as_str() {
        "quiet" => (
            f.paged.at_most(FAULT_QUIET_MAX),
            format!("expected quiet: at most {FAULT_QUIET_MAX}%"),
            "a page alert fires because of it: make it milder, raise that alert's threshold, \
             or write `expect: Either` on the fault if it may page"
                .to_owned(),
        ),
        "either" => (true, "it may or may not".to_owned(), String::new()),
        _ if !f.started.at_least(100) => (
            f.paged.at_least(FAULT_PAGES_MIN),
            format!("needs at least {FAULT_PAGES_MIN}%"),
            "it does not always start before the drill ends: start it earlier or make the \
             drill longer"
                .to_owned(),
        ),
        _ => (
            f.paged.at_least(FAULT_PAGES_MIN),
            format!("needs at least {FAULT_PAGES_MIN}%"),
            "no page alert fires because of it (one that fires with it and not without it): \
             add a page alert on a metric it moves, make it stronger, or mark it \
             `cause: false` if it is a distraction"
                .to_owned(),
        ),
    };
    Verdict {
        check,
        subject: Some(f.name.clone()),
        observed: f.paged,
        pass,
        message: format!(
            "{what} in {} of runs with no team ({needs})",
            f.paged.percent()
        ),
        hint,
    }
}

/// The harm the score counts ([`crate::score::outcome::harm`]).
fn total_harm(h: &Harm) -> u64 {
    crate::score::outcome::harm(h.harmed, h.wrong_answers)
}

/// Each wrong response's statistics over `runs`.
fn wrong_stats(names: &[String], runs: &[SeedRun]) -> Vec<WrongStats> {
    names
        .iter()
        .map(|name| {
            let mine: Vec<(&WrongRun, Option<u32>)> = runs
                .iter()
                .filter_map(|r| {
                    let w = r.wrong.iter().find(|w| &w.name == name)?;
                    Some((w, r.reference.as_ref().map(|x| x.score)))
                })
                .collect();
            WrongStats {
                name: name.clone(),
                scores_below_reference: Share::count(
                    mine.iter()
                        .map(|(w, reference)| reference.is_none_or(|r| w.score < r)),
                ),
                recovered: Share::count(mine.iter().map(|(w, _)| w.recovered.is_some())),
                score: MedianP90::of(mine.iter().map(|(w, _)| f64::from(w.score)).collect()),
                harm: HarmStats::of(&mine.iter().map(|(w, _)| &w.harm).collect::<Vec<_>>()),
            }
        })
        .collect()
}

/// The verdicts on outcomes: the reference helps users, each wrong response fails.
fn outcome_verdicts(reference: Option<&ReferenceStats>, wrong: &[WrongStats]) -> Vec<Verdict> {
    let mut out = Vec::new();
    if let Some(r) = reference {
        out.push(Verdict {
            check: Check::ReferenceHelps,
            subject: None,
            observed: r.harms_fewer,
            pass: r.harms_fewer.at_least(REFERENCE_HELPS_MIN),
            message: format!(
                "the reference harms fewer users than no response in {} of runs (failed, rejected and degraded requests plus wrong answers; needs at least {REFERENCE_HELPS_MIN}%)",
                r.harms_fewer.percent()
            ),
            hint: "the reference turns away or fails more requests than the fault would have: \
                   lift its throttles once the cause is fixed, act on the cause sooner, or undo \
                   a fallback when it is no longer needed"
                .to_owned(),
        });
    }
    for w in wrong {
        let below = w.scores_below_reference.at_least(WRONG_SCORES_BELOW_MIN);
        let broken = w.recovered.at_most(WRONG_RECOVERS_MAX);
        out.push(Verdict {
            check: Check::WrongResponseFails,
            subject: Some(w.name.clone()),
            observed: w.scores_below_reference,
            pass: below && broken,
            message: format!(
                "wrong response {} scores below the reference in {} of runs (needs at least {WRONG_SCORES_BELOW_MIN}%) and recovers in {} (allows at most {WRONG_RECOVERS_MAX}%)",
                w.name,
                w.scores_below_reference.percent(),
                w.recovered.percent()
            ),
            hint: if below {
                "it recovers the system: if that is right, it is not a wrong response; otherwise \
                 make the drill's fault outlast what it does"
                    .to_owned()
            } else {
                "it scores like the reference: the score does not tell it apart. Check that it \
                 really is wrong (it harms users, or misses what the reference does), or make \
                 the reference better"
                    .to_owned()
            },
        });
    }
    out
}

/// The wrong responses' table: how each scored, how often it scored below the reference and
/// recovered, and the users it harmed.
fn render_wrong(out: &mut String, c: &Calibration, width: usize) {
    if c.wrong_responses.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "{:width$}{:>16}{:>18}{:>11}{:>26}",
        "Wrong responses",
        "score (med/p90)",
        "below reference",
        "recovers",
        "harm as scored (med/p90)"
    );
    for w in &c.wrong_responses {
        let _ = writeln!(
            out,
            "  {:w$}{:>16}{:>18}{:>11}{:>26}",
            w.name,
            format!("{} / {}", w.score.median, w.score.p90),
            w.scores_below_reference.percent(),
            w.recovered.percent(),
            format!(
                "{} / {}",
                group(w.harm.scored.median.round() as i64),
                group(w.harm.scored.p90.round() as i64)
            ),
            w = width - 2
        );
    }
    out.push('\n');
}

/// Whole seconds as `6m10s`.
fn span(seconds: f64) -> String {
    Duration::from_secs(seconds.max(0.0).round() as u64).to_string()
}

fn spread_text(s: Option<&Spread>) -> String {
    s.map_or_else(
        || "-".to_owned(),
        |s| format!("{} / {} / {}", span(s.p10), span(s.p50), span(s.p90)),
    )
}

/// A row of the harm table: its label, its measure, and whether it counts minutes.
type HarmRow = (&'static str, fn(&HarmStats) -> MedianP90, bool);

fn render_text(c: &Calibration) -> String {
    let mut out = String::new();
    let d = &c.drill;
    let _ = write!(
        out,
        "Calibration of {} ({}): {} seeds from {}",
        d.name, d.title, c.plan.runs, c.plan.seed_start
    );
    if !c.plan.shard.is_whole() {
        let _ = write!(
            out,
            ", shard {} ({} of the seeds)",
            c.plan.shard, c.seeds_run
        );
    }
    let _ = writeln!(out, "; took {:.1} s.", c.wall_seconds);
    if d.wrong_responses.is_empty() {
        let _ = writeln!(
            out,
            "Each seed runs the drill twice: with no team, and with the reference response.\n"
        );
    } else {
        let _ = writeln!(
            out,
            "Each seed runs the drill with no team, with the reference response, and with each wrong response.\n"
        );
    }

    let width = d
        .alerts
        .iter()
        .map(|a| a.name.chars().count())
        .chain(d.faults.iter().map(|f| f.chars().count()))
        .chain(d.wrong_responses.iter().map(|w| w.chars().count()))
        .chain([22])
        .max()
        .unwrap_or(22)
        + 2;
    let _ = writeln!(
        out,
        "{:width$}{:8}{:>7}   time to fire after the fault starts (p10 / p50 / p90)",
        "Alerts, no team", "", "fired"
    );
    for a in &c.alerts {
        let expect = match a.expect.as_str() {
            "quiet" => "   (expected quiet)",
            "either" => "   (may or may not fire)",
            _ => "",
        };
        let _ = writeln!(
            out,
            "  {:w$}{:8}{:>7}   {}{expect}",
            a.name,
            a.severity,
            a.fired.percent(),
            spread_text(a.time_to_fire_seconds.as_ref()),
            w = width - 2
        );
    }
    if c.alerts.is_empty() {
        let _ = writeln!(out, "  (the drill has no alerts)");
    }
    let _ = writeln!(
        out,
        "\n{:width$}{:13}{:>7}   alerts attributed to it (share of runs)",
        "Faults, no team", "", "paged"
    );
    for f in &c.faults {
        let started = if f.started.at_least(100) {
            String::new()
        } else {
            format!("   (started in {} of runs)", f.started.percent())
        };
        let alerts = if f.alerts.is_empty() {
            "none".to_owned()
        } else {
            f.alerts
                .iter()
                .map(|a| format!("{} {}", a.name, a.attributed.percent()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            out,
            "  {:w$}{:13}{:>7}   {alerts}{started}",
            f.name,
            if f.cause { "cause" } else { "distraction" },
            f.paged.percent(),
            w = width - 2
        );
    }
    if !c.faults.is_empty() && c.attribution_fallbacks.runs > 0 {
        let _ = writeln!(
            out,
            "  In {} of runs no page alert was attributed to a cause alone, so every page alert \
             stood in for the causes (recovery waited for all of them).",
            c.attribution_fallbacks.percent()
        );
    }
    if c.faults.is_empty() {
        let _ = writeln!(out, "  (the drill has no faults)");
    }
    let _ = writeln!(
        out,
        "\nPages before any fault: {} of runs.\n",
        c.early_pages.percent()
    );

    let _ = writeln!(
        out,
        "{:width$}{:>26}{:>26}",
        format!("Harm over {}", span(d.duration_seconds)),
        "no team (median / p90)",
        "reference (median / p90)"
    );
    let rows: [HarmRow; 7] = [
        ("failed", |h| h.failed, false),
        ("rejected", |h| h.rejected, false),
        ("degraded", |h| h.degraded, false),
        ("wrong answers", |h| h.wrong_answers, false),
        ("failed + rejected + degraded", |h| h.harmed, false),
        ("harm as scored (+ wrong)", |h| h.scored, false),
        ("page-breach minutes", |h| h.page_breach_minutes, true),
    ];
    let cell = |m: MedianP90, minutes: bool| {
        if minutes {
            format!("{:.1} / {:.1}", m.median, m.p90)
        } else {
            format!(
                "{} / {}",
                group(m.median.round() as i64),
                group(m.p90.round() as i64)
            )
        }
    };
    for (label, get, minutes) in rows {
        let reference = c
            .impact
            .reference
            .as_ref()
            .map_or_else(|| "-".to_owned(), |r| cell(get(r), minutes));
        let _ = writeln!(
            out,
            "  {:w$}{:>26}{:>26}",
            label,
            cell(get(&c.impact.no_team), minutes),
            reference,
            w = width - 2
        );
    }
    out.push('\n');
    match &c.reference {
        Some(r) => {
            let _ = write!(
                out,
                "The reference response recovers in {} of runs",
                r.recovered.percent()
            );
            if let Some(s) = &r.recovery_after_first_page_seconds {
                let _ = write!(
                    out,
                    ", {} after the first page (median; p10 {}, p90 {})",
                    span(s.p50),
                    span(s.p10),
                    span(s.p90)
                );
            }
            out.push_str(".\n");
            if let Some(score) = &r.score {
                let _ = writeln!(
                    out,
                    "It scores {} (median; p90 {}) and harms fewer users than no team in {} of runs.",
                    score.median,
                    score.p90,
                    r.harms_fewer.percent()
                );
            }
            out.push('\n');
        }
        None => out.push_str("The drill has no reference response.\n\n"),
    }
    render_wrong(&mut out, c, width);

    out.push_str("Verdicts\n");
    for v in &c.verdicts {
        let _ = writeln!(
            out,
            "  {}  {}",
            if v.pass { "ok  " } else { "FAIL" },
            v.message
        );
        if !v.pass {
            let _ = writeln!(out, "        hint: {}", v.hint);
        }
    }
    let failed = c.failures().count();
    if failed == 0 {
        let _ = writeln!(out, "\nAll {} verdicts pass.", c.verdicts.len());
    } else {
        let _ = writeln!(out, "\n{failed} of {} verdicts fail.", c.verdicts.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_picks_observed_values() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(nearest_rank(&v, 10), 1.0);
        assert_eq!(nearest_rank(&v, 50), 5.0);
        assert_eq!(nearest_rank(&v, 90), 9.0);
        assert_eq!(nearest_rank(&[3.0], 10), 3.0);
    }

    #[test]
    fn shares_round_down_and_compare_exactly() {
        let s = Share::count((0..20).map(|i| i != 0));
        assert_eq!(s.percent(), "95%");
        assert!(s.at_least(95));
        let s = Share::count((0..1000).map(|i| i >= 51));
        assert_eq!(s.percent(), "94.9%");
        assert!(!s.at_least(95));
        assert!(Share::count((0..20).map(|i| i == 0)).at_most(5));
    }
}
