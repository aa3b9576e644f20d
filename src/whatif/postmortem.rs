//! The postmortem a team files after a drill, in the shape SRE teams use (the Google SRE
//! book's template, PagerDuty's guide): summary, people, impact, detection, timeline, root
//! cause and trigger, what went well and wrong, where we got lucky, action items and lessons.
//! [`build`] scores the played session exactly as `firedrill debrief` does
//! ([`crate::score::debrief::debrief`] of the replayed transcript) and proves each action item
//! (a [`Change`]) by a what-if on the same incident over a plan's seeds, with no one
//! responding and with the team's own inputs ([`super::run`]); [`Postmortem`] holds the
//! result as data.
//!
//! It owns the assembly and the words of the findings, not the scoring (the debrief), the
//! runs (the what-if) nor the pages ([`crate::report::postmortem`] renders Markdown and HTML).
//! It reads no clock and does no I/O: the date is the caller's (a transcript records none),
//! so the same inputs give the same postmortem.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::{Measures, Outcome, SkippedInput, Subject, VariantResult, Variants, WhatIf};
use crate::calibrate::{CalibrateError, Plan};
use crate::drill::Drill;
use crate::drill::change::Change;
use crate::drill::spec::Severity;
use crate::report::whatif::{count, would_have};
use crate::score::counterfactual::group;
use crate::score::debrief::{self, Debrief, TimelineEntry};
use crate::score::timings::{Moment, duration_text};
use crate::session::Session;
use crate::session::transcript::{Transcript, TranscriptError};

/// The date written when the caller gives none (a transcript records no date).
pub const NO_DATE: &str = "date not recorded";

/// Why a postmortem could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PostmortemError {
    /// The transcript does not replay (a damaged drill text, a refused line).
    #[error(transparent)]
    Transcript(#[from] TranscriptError),
    /// Action items that do not apply to the drill, each problem on its own line with the
    /// item's title.
    #[error("the action items do not apply to the drill:\n{}", .0.join("\n"))]
    Changes(Vec<String>),
    /// The what-if could not run (a bad `--jobs`, threads that cannot start).
    #[error(transparent)]
    Runs(#[from] CalibrateError),
}

/// A role and the people who held it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RolePeople {
    pub role: String,
    pub title: String,
    /// Who held it: the person `assign`ed to it, then everyone who typed in it (war room),
    /// each once, in order of appearance.
    pub people: Vec<String>,
    /// Commands typed in this role.
    pub commands: usize,
}

/// What users went through in the session, up to its end.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Impact {
    /// How long the session ran (`2h`).
    pub duration: String,
    /// Attempts that arrived (client retries included), and users (requests).
    pub arrived: u64,
    pub users: u64,
    /// Users harmed, each once ([`crate::score::impact::Outcome::harmed`]), and of them those
    /// whose request ended failed, ended rejected, or was answered degraded or wrong.
    pub harmed: u64,
    pub users_failed: u64,
    pub users_rejected: u64,
    pub users_poor: u64,
    /// Failed and rejected attempts, degraded and wrong answers.
    pub failed: u64,
    pub rejected: u64,
    pub degraded: u64,
    pub wrong_answers: u64,
    /// Minutes in which a page alert's condition was breached.
    pub minutes_in_breach: f64,
    pub model_dollars: f64,
    pub connection_hours: f64,
    /// The same seed and horizon with no one responding.
    pub no_response_harmed: u64,
    /// The same seed and horizon with the drill's reference response.
    pub reference_harmed: Option<u64>,
    /// The debrief's sentence: what the response avoided, and what the reference would have.
    pub against: String,
}

/// The first alert of any severity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FirstAlert {
    pub name: String,
    /// `page` or `ticket`.
    pub severity: String,
    pub at: Moment,
}

/// How the incident was found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detection {
    pub cause_start: Option<Moment>,
    pub first_impact: Option<Moment>,
    pub first_alert: Option<FirstAlert>,
    /// The first page of the cause, and the alert that sent it.
    pub first_page: Option<Moment>,
    pub first_page_alert: Option<String>,
    /// The earliest the cause's first page could have fired.
    pub best_page: Option<Moment>,
    pub acknowledged: Option<Moment>,
    /// All of it in a few sentences.
    pub text: String,
}

/// The root cause and trigger beside what the team concluded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cause {
    /// The drill's explanation (empty when the drill states none).
    pub explanation: String,
    /// The cause faults: `monday-surge, from 09:25:00`.
    pub triggers: Vec<String>,
    /// Faults that were not the cause: `db-backup (a distraction), from 09:10:00`.
    pub distractions: Vec<String>,
    /// The team's diagnosis, in a sentence.
    pub diagnosis: String,
}

/// What a change did over the plan's runs, against the base system.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Proven {
    /// With no one responding: `would have prevented the page in 200 of 200 runs; harm −100 %
    /// (158,638 → 0 users); +20.0 connection-hours`.
    pub effect: String,
    /// With the team's own inputs at their recorded times.
    pub with_team: Option<String>,
    /// The raw figures, as `whatif --json` gives them.
    pub no_team: Outcome,
    pub team: Option<Outcome>,
    /// The team's inputs the changed system refused (skipped in those runs).
    pub skipped_inputs: Vec<SkippedInput>,
}

/// One action item: a change file, proven on this incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionItem {
    pub title: String,
    pub owner: Option<String>,
    /// `prevent`, `mitigate` or `detect`.
    pub kind: String,
    #[serde(flatten)]
    pub proven: Proven,
}

/// The runs that prove the action items.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Proof {
    pub runs: usize,
    /// `200 runs, seeds 1–200`.
    pub seeds: String,
    /// The base system with no one responding and with the team's inputs.
    pub base_no_team: Outcome,
    pub base_team: Option<Outcome>,
}

/// The postmortem.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Postmortem {
    pub title: String,
    pub drill: String,
    pub drill_sha256: String,
    pub seed: u64,
    pub date: String,
    pub status: String,
    pub score: u32,
    pub people: Vec<RolePeople>,
    pub summary: String,
    pub impact: Impact,
    pub detection: Detection,
    /// The debrief's timeline: system events and the team's commands (looking left out).
    pub timeline: Vec<TimelineEntry>,
    /// Commands that only looked (dashboards, logs), left out of the timeline.
    pub looks_left_out: usize,
    pub root_cause: Cause,
    pub went_well: Vec<String>,
    pub went_wrong: Vec<String>,
    pub lucky: Vec<String>,
    pub action_items: Vec<ActionItem>,
    /// Every action item together, when there are several.
    pub together: Option<Proven>,
    pub proof: Proof,
    /// The drill's debrief questions.
    pub lessons: Vec<String>,
}

/// How many runs [`build`] makes (for a progress bar): each system (the base, each change,
/// all together when there are several) on each seed of `plan`.
#[must_use]
pub fn runs_needed(plan: &Plan, changes: &[Change]) -> u64 {
    let systems = if changes.len() == 1 {
        2
    } else {
        changes.len() + 2
    };
    systems as u64 * plan.seeds().len() as u64
}

/// Builds the postmortem of `transcript` (read from `path`, which names it in errors): the
/// session's debrief, and each of `changes` proven by a what-if on `plan`'s seeds on `jobs`
/// threads (0: one per core), calling `done` after each run of [`runs_needed`]. `date` is
/// written as given; without one the postmortem says [`NO_DATE`].
///
/// # Errors
/// A transcript that does not replay, a change that does not apply to its drill, or runs
/// that cannot start.
pub fn build(
    transcript: &Transcript,
    path: &Path,
    changes: &[Change],
    plan: &Plan,
    jobs: usize,
    date: Option<&str>,
    done: &(dyn Fn() + Sync),
) -> Result<Postmortem, PostmortemError> {
    let session = transcript.replay(path)?;
    let d = debrief::debrief(&session);
    let w = session_whatif(transcript, session.drill(), changes, plan, jobs, done)?;
    Ok(assemble(&session, &d, transcript, &w, date))
}

/// The what-if of a played session: `changes` on its drill (`drill`, the transcript's own),
/// with no team and with the team's inputs, on `plan`'s seeds on `jobs` threads, calling `done`
/// after each of [`runs_needed`] runs.
///
/// # Errors
/// A change that does not apply to the drill, or runs that cannot start.
pub fn session_whatif(
    transcript: &Transcript,
    drill: &Drill,
    changes: &[Change],
    plan: &Plan,
    jobs: usize,
    done: &(dyn Fn() + Sync),
) -> Result<WhatIf, PostmortemError> {
    let variants = Variants::new(drill, changes).map_err(|problems| {
        PostmortemError::Changes(
            problems
                .into_iter()
                .map(|p| match changes.get(p.change) {
                    Some(c) => format!("`{}`: {}", c.title, p.message),
                    None => p.message,
                })
                .collect(),
        )
    })?;
    let records = super::run(&variants, plan, Some(&transcript.lines), jobs, done)?;
    let subject = Subject {
        drill: transcript.header.drill_name.clone(),
        sha256: transcript.header.drill_sha256.clone(),
        source: "transcript".to_owned(),
    };
    Ok(WhatIf::new(subject, *plan, &variants, records))
}

/// The postmortem from the session, its debrief and the what-if of its action items.
fn assemble(
    session: &Session,
    d: &Debrief,
    transcript: &Transcript,
    w: &WhatIf,
    date: Option<&str>,
) -> Postmortem {
    let measures = Measures::of(session.drill(), session.sim(), session.now());
    let impact = impact(d, &measures);
    let detection = detection(session, d);
    let action_items: Vec<ActionItem> = w
        .changes
        .iter()
        .map(|v| ActionItem {
            title: v.title.clone(),
            owner: v.owner.clone(),
            kind: v.kind.map(|k| k.as_str().to_owned()).unwrap_or_default(),
            proven: proven(v, &w.base),
        })
        .collect();
    let runs = w.base.no_team.runs;
    let seeds = seeds_text(&w.base);
    let status = if action_items.is_empty() {
        "Draft — no action items yet".to_owned()
    } else {
        format!("Draft — action items proven in simulation ({seeds})")
    };
    let (looks, timeline): (Vec<&TimelineEntry>, Vec<&TimelineEntry>) =
        d.timeline.iter().partition(|e| e.kind == "look");
    let (went_well, mut went_wrong) = well_and_wrong(d);
    let mut lucky = lucky(d);
    luck_across_seeds(session, d, &measures, w, &mut lucky, &mut went_wrong);
    let title = if d.drill.title.is_empty() {
        &d.drill.name
    } else {
        &d.drill.title
    };
    Postmortem {
        title: format!("Postmortem: {title}"),
        drill: d.drill.name.clone(),
        drill_sha256: transcript.header.drill_sha256.clone(),
        seed: d.seed,
        date: date.map_or_else(|| NO_DATE.to_owned(), str::to_owned),
        status,
        score: d.score,
        people: people(d, transcript),
        summary: summary(d, &impact),
        impact,
        detection,
        timeline: timeline.into_iter().cloned().collect(),
        looks_left_out: looks.len(),
        root_cause: cause(d),
        went_well,
        went_wrong,
        lucky,
        together: (w.changes.len() > 1).then(|| proven(&w.all, &w.base)),
        action_items,
        proof: Proof {
            runs,
            seeds,
            base_no_team: w.base.no_team.clone(),
            base_team: w.base.team.clone(),
        },
        lessons: d.questions.clone(),
    }
}

/// `5 runs, seeds 1–5`, from the seeds the records hold.
fn seeds_text(base: &VariantResult) -> String {
    let seeds: Vec<u64> = base.records.iter().map(|r| r.seed).collect();
    match seeds.as_slice() {
        [] => "no runs".to_owned(),
        [one] => format!("1 run, seed {one}"),
        [first, .., last] => format!("{} runs, seeds {first}–{last}", seeds.len()),
    }
}

/// The runs in which the base paged and `v` did not, seed by seed.
fn prevented(v: &VariantResult, base: &VariantResult, team: bool) -> usize {
    let pick = |r: &super::SeedRecord| {
        if team {
            r.team.as_ref().map(|m| m.paged)
        } else {
            Some(r.no_team.paged)
        }
    };
    base.records
        .iter()
        .zip(&v.records)
        .filter(|(b, c)| b.seed == c.seed && pick(b) == Some(true) && pick(c) == Some(false))
        .count()
}

fn proven(v: &VariantResult, base: &VariantResult) -> Proven {
    Proven {
        effect: would_have(&v.no_team, &base.no_team, prevented(v, base, false)),
        with_team: match (&v.team, &base.team) {
            (Some(c), Some(b)) => Some(would_have(c, b, prevented(v, base, true))),
            _ => None,
        },
        no_team: v.no_team.clone(),
        team: v.team.clone(),
        skipped_inputs: v.skipped_inputs.clone(),
    }
}

fn people(d: &Debrief, transcript: &Transcript) -> Vec<RolePeople> {
    d.roles
        .iter()
        .map(|r| {
            let mut people: Vec<String> = r.person.iter().cloned().collect();
            for line in transcript.lines.iter().filter(|l| l.role == r.id) {
                if let Some(p) = &line.person
                    && !people.contains(p)
                {
                    people.push(p.clone());
                }
            }
            RolePeople {
                role: r.id.clone(),
                title: r.title.clone(),
                people,
                commands: r.commands,
            }
        })
        .collect()
}

fn impact(d: &Debrief, m: &Measures) -> Impact {
    let o = &d.impact;
    Impact {
        duration: duration_text(o.horizon_seconds),
        arrived: o.arrived,
        users: o.users,
        harmed: o.harmed,
        users_failed: o.users_failed,
        users_rejected: o.users_rejected,
        users_poor: o.users_poor,
        failed: o.failed,
        rejected: o.rejected,
        degraded: o.degraded,
        wrong_answers: o.wrong_answers,
        minutes_in_breach: o.page_breach_minutes,
        model_dollars: m.model_dollars,
        connection_hours: m.connection_hours,
        no_response_harmed: d.counterfactual.no_response.harmed,
        reference_harmed: d.counterfactual.reference.as_ref().map(|r| r.harmed),
        against: d.counterfactual.summary.clone(),
    }
}

fn detection(session: &Session, d: &Debrief) -> Detection {
    let t = &d.timings;
    let clock = session.drill().clock_start;
    let states = session.sim().alert_states();
    let first_alert = states
        .iter()
        .filter_map(|(rule, s)| s.fired_at.first().map(|at| (*at, rule)))
        .filter(|(at, _)| *at <= session.now())
        .min_by_key(|(at, rule)| (*at, rule.index))
        .map(|(at, rule)| FirstAlert {
            name: rule.name.clone(),
            severity: crate::score::impact::severity_text(rule.severity).to_owned(),
            at: Moment::new(clock, at),
        });
    let first_page_alert = session.sim().truth().first_cause_page.and_then(|at| {
        states
            .iter()
            .find(|(rule, s)| rule.severity == Severity::Page && s.fired_at.contains(&at))
            .map(|(rule, _)| rule.name.clone())
    });
    let since = |m: &Moment| {
        t.fault_start
            .as_ref()
            .map(|f| duration_text(m.seconds - f.seconds))
    };
    let mut text = Vec::new();
    match &t.fault_start {
        Some(f) => text.push(format!("The cause began at {}.", f.clock)),
        None => text.push("No cause fault began in this session.".to_owned()),
    }
    if let Some(i) = &t.first_impact {
        text.push(format!("Users were first hurt at {}.", i.clock));
    }
    if let Some(a) = &first_alert {
        text.push(format!(
            "The first alert was {} ({}) at {}.",
            a.name, a.severity, a.at.clock
        ));
    }
    match (&t.first_page, &t.best_page) {
        (Some(page), best) => {
            let mut line = format!(
                "The first page{} fired at {}",
                first_page_alert
                    .as_ref()
                    .map(|n| format!(", {n},"))
                    .unwrap_or_default(),
                page.clock
            );
            if let Some(after) = since(page) {
                let _ = write!(line, ", {after} after the cause began");
            }
            match best {
                Some(b) if page.seconds - b.seconds >= 1.0 => {
                    let _ = write!(
                        line,
                        "; the alerting could have paged at {}, {} sooner",
                        b.clock,
                        duration_text(page.seconds - b.seconds)
                    );
                }
                Some(_) => line.push_str(", as soon as the alerting allowed"),
                None => {}
            }
            line.push('.');
            text.push(line);
        }
        (None, _) => text.push("No page of the cause fired.".to_owned()),
    }
    match (&t.acknowledged, &t.first_page) {
        (Some(a), Some(p)) => text.push(format!(
            "The page was acknowledged at {}, {} after it fired.",
            a.clock,
            duration_text(a.seconds - p.seconds)
        )),
        (Some(a), None) => text.push(format!("It was acknowledged at {}.", a.clock)),
        (None, _) => text.push("Nobody acknowledged a page.".to_owned()),
    }
    if let Some(o) = d.objectives.iter().find(|o| o.name == "detect") {
        text.push(format!(
            "Detect objective ({}, within {}): {} — {}.",
            o.measures,
            o.target_text,
            if o.met { "met" } else { "missed" },
            o.verdict
        ));
    }
    Detection {
        cause_start: t.fault_start.clone(),
        first_impact: t.first_impact.clone(),
        first_alert,
        first_page: t.first_page.clone(),
        first_page_alert,
        best_page: t.best_page.clone(),
        acknowledged: t.acknowledged.clone(),
        text: text.join(" "),
    }
}

fn cause(d: &Debrief) -> Cause {
    let started = |f: &debrief::FaultRow| {
        f.started.as_ref().map_or_else(
            || "never started".to_owned(),
            |m| format!("from {}", m.clock),
        )
    };
    let triggers = d
        .faults
        .iter()
        .filter(|f| f.cause)
        .map(|f| format!("{}, {}", f.name, started(f)))
        .collect();
    let distractions = d
        .faults
        .iter()
        .filter(|f| !f.cause)
        .map(|f| format!("{} (not the cause), {}", f.name, started(f)))
        .collect();
    let diagnosis = match &d.root_cause {
        None => "The drill states no root cause to name.".to_owned(),
        Some(rc) => {
            let wrong: Vec<String> = rc
                .wrong_guesses
                .iter()
                .map(|g| format!("“{}” ({} at {})", g.cause, g.role, g.at.clock))
                .collect();
            let before = if wrong.is_empty() {
                String::new()
            } else {
                format!(", after wrong guesses: {}", wrong.join(", "))
            };
            match (&rc.diagnosed, &rc.diagnosed_by) {
                (Some(at), by) => format!(
                    "The team named the root cause ({}) at {}{}{before}.",
                    rc.id,
                    at.clock,
                    by.as_ref().map(|b| format!(" ({b})")).unwrap_or_default()
                ),
                (None, _) if wrong.is_empty() => {
                    format!("The team never named the root cause ({}).", rc.id)
                }
                (None, _) => format!(
                    "The team never named the root cause ({}); it guessed {}.",
                    rc.id,
                    wrong.join(", ")
                ),
            }
        }
    };
    Cause {
        explanation: d
            .root_cause
            .as_ref()
            .map(|rc| rc.explanation.clone())
            .unwrap_or_default(),
        triggers,
        distractions,
        diagnosis,
    }
}

/// What went well and what went wrong, from the checklists, objectives, diagnosis and harm.
fn well_and_wrong(d: &Debrief) -> (Vec<String>, Vec<String>) {
    let mut well = Vec::new();
    let mut wrong = Vec::new();
    let clock = |m: Option<&Moment>| m.map_or_else(|| "—".to_owned(), |m| m.clock.clone());
    for t in &d.checklists {
        let who = t.by.as_deref().unwrap_or(&t.role);
        match t.status.as_str() {
            "on_time" => well.push(format!(
                "{}: {} — done on time at {} by {who} (due {}).",
                t.role_title,
                t.text,
                clock(t.done.as_ref()),
                clock(t.due.as_ref())
            )),
            "late" => wrong.push(format!(
                "{}: {} — done {} late at {} by {who} (due {}).",
                t.role_title,
                t.text,
                t.late_text.as_deref().unwrap_or("—"),
                clock(t.done.as_ref()),
                t.due_text
            )),
            "premature" => wrong.push(format!(
                "{}: {} — done at {}, before the system had recovered (due {}).",
                t.role_title,
                t.text,
                clock(t.done.as_ref()),
                t.due_text
            )),
            _ => wrong.push(format!(
                "{}: {} — missed (due {}).",
                t.role_title, t.text, t.due_text
            )),
        }
    }
    for o in &d.objectives {
        let line = format!(
            "The {} objective ({}, within {}): {} ({}).",
            o.name, o.measures, o.target_text, o.actual_text, o.verdict
        );
        if o.met { &mut well } else { &mut wrong }.push(line);
    }
    if let Some(rc) = &d.root_cause {
        for g in &rc.wrong_guesses {
            wrong.push(format!(
                "{} diagnosed “{}” at {}: not the root cause.",
                g.role, g.cause, g.at.clock
            ));
        }
        if rc.diagnosed.is_some() && rc.wrong_guesses.is_empty() {
            well.push("The root cause was named at the first attempt.".to_owned());
        }
    }
    let i = &d.impact;
    let avoided = &d.counterfactual.avoided;
    if avoided.harmed > 0 {
        well.push(format!(
            "The response spared {} users against no response at all ({} harmed instead of {}).",
            group(avoided.harmed),
            group(i64::try_from(i.harmed).unwrap_or(i64::MAX)),
            group(i64::try_from(d.counterfactual.no_response.harmed).unwrap_or(i64::MAX))
        ));
    } else if avoided.harmed < 0 {
        wrong.push(format!(
            "The response harmed {} more users than no response at all would have.",
            group(-avoided.harmed)
        ));
    }
    if let Some(r) = &d.counterfactual.reference {
        let ours = i64::try_from(i.harmed).unwrap_or(i64::MAX);
        let theirs = i64::try_from(r.harmed).unwrap_or(i64::MAX);
        if ours > theirs {
            wrong.push(format!(
                "The response left {} more users harmed than the drill's reference response would have ({} against {}).",
                group(ours - theirs),
                group(ours),
                group(theirs)
            ));
        } else {
            well.push(format!(
                "The response harmed no more users than the drill's reference response would have ({} against {}).",
                group(ours),
                group(theirs)
            ));
        }
    }
    (well, wrong)
}

/// Where luck, not the response, helped: from the debrief.
fn lucky(d: &Debrief) -> Vec<String> {
    d.objectives
        .iter()
        .filter(|o| o.name == "mitigate" && o.verdict.contains("without a mitigation"))
        .map(|o| {
            format!(
                "The system recovered {} after the cause began with no help from the team: {}.",
                o.actual_text, o.verdict
            )
        })
        .collect()
}

/// This session's harm against the same inputs on the plan's other seeds: luck when below the
/// median, bad luck (a finding of its own) above the 90th percentile. Compared only when the
/// session ran to the drill's end, as the what-if runs do.
fn luck_across_seeds(
    session: &Session,
    d: &Debrief,
    measures: &Measures,
    w: &WhatIf,
    lucky: &mut Vec<String>,
    wrong: &mut Vec<String>,
) {
    let Some(team) = &w.base.team else {
        return;
    };
    if session.now() < session.sim().end() || team.runs < 2 {
        return;
    }
    let seeds = seeds_text(&w.base);
    let no_team = &w.base.no_team;
    let alone = d.counterfactual.no_response.harmed as f64;
    if alone < no_team.p10.harm.total {
        lucky.push(format!(
            "The incident itself was milder than most: with no one responding it harmed {} users on this seed, against a median of {} over {seeds} (p10 {}).",
            count(alone),
            count(no_team.harm.total),
            count(no_team.p10.harm.total)
        ));
    }
    let harm = measures.harm() as f64;
    let spread = format!(
        "over {seeds}, the same inputs harmed a median of {} users (p10–p90 {}–{})",
        count(team.harm.total),
        count(team.p10.harm.total),
        count(team.p90.harm.total)
    );
    let here = count(harm);
    if harm < team.harm.total {
        lucky.push(format!(
            "This session's traffic was kinder than most: {spread}; this session harmed {here}."
        ));
    } else if harm > team.p90.harm.total {
        wrong.push(format!(
            "This session's traffic was harder than most: {spread}; this session harmed {here}."
        ));
    } else {
        lucky.push(format!(
            "No luck found: {spread}, and this session's {here} is within that range."
        ));
    }
}

fn summary(d: &Debrief, impact: &Impact) -> String {
    let g = |n: u64| group(i64::try_from(n).unwrap_or(i64::MAX));
    let t = &d.timings;
    let title = if d.drill.title.is_empty() {
        &d.drill.name
    } else {
        &d.drill.title
    };
    let mut s = vec![format!(
        "Drill “{title}” (seed {}), played for {}; score {} / 100.",
        d.seed, impact.duration, d.score
    )];
    if let Some(f) = &t.fault_start {
        let mut line = format!("The cause began at {}", f.clock);
        if let Some(p) = &t.first_page {
            let _ = write!(line, "; the first page fired at {}", p.clock);
        }
        if let Some(m) = &t.mitigated {
            let _ = write!(line, "; the system recovered at {}", m.clock);
        }
        line.push('.');
        s.push(line);
    }
    s.push(format!(
        "{} of {} users went without a proper answer ({} requests failed, {} were rejected, {} were answered degraded or wrong; {} failed and {} rejected attempts, {} degraded and {} wrong answers), with {:.1} minutes in breach of a page alert.",
        g(impact.harmed),
        g(impact.users),
        g(impact.users_failed),
        g(impact.users_rejected),
        g(impact.users_poor),
        g(impact.failed),
        g(impact.rejected),
        g(impact.degraded),
        g(impact.wrong_answers),
        impact.minutes_in_breach
    ));
    s.push(impact.against.clone());
    s.join(" ")
}
