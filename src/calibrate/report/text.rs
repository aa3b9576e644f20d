//! A calibration's report as text for a drill author: the plan, the alerts and faults with
//! no team, the harm with no team and with the reference, the reference's recovery, the wrong
//! responses, and the verdicts.
//!
//! It computes nothing: every figure comes from the [`Calibration`].

use std::fmt::Write as _;

use super::Calibration;
use super::stats::{HarmStats, MedianP90, Spread};
use crate::drill::Duration;
use crate::score::counterfactual::group;

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
                group(w.harm.harmed.median.round() as i64),
                group(w.harm.harmed.p90.round() as i64)
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

pub(super) fn render_text(c: &Calibration) -> String {
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
        "{:width$}{:8}{:>7}   time to fire after its fault starts (p10 / p50 / p90)",
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
    let rows: [HarmRow; 6] = [
        ("failed attempts", |h| h.failed, false),
        ("rejected attempts", |h| h.rejected, false),
        ("degraded answers", |h| h.degraded, false),
        ("wrong answers", |h| h.wrong_answers, false),
        ("users harmed (as scored)", |h| h.harmed, false),
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
