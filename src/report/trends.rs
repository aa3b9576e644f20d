//! The trends report written out: one self-contained HTML page (tera over
//! `templates/history-report.html`, the debrief's own styles, our inline SVG charts), Markdown,
//! or JSON. Rendering decides nothing: every figure and verdict comes from the [`Trends`].

use serde::Serialize;

use super::svg::{self, Bar, DatedLine};
use crate::history::PlayedAt;
use crate::history::trends::{TeamTrends, Trends};
use crate::score::timings::duration_text;

/// The built-in template.
pub const TEMPLATE: &str = include_str!("../../templates/history-report.html");

/// One team's drawn charts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamCharts {
    pub scores: String,
    /// One per drill the team played: its timings against its objectives.
    pub timings: Vec<String>,
    pub roles: String,
}

const CLASSES: [&str; 4] = ["s1", "s2", "s3", "s4"];

fn day(played_at: &str) -> f64 {
    PlayedAt::parse(played_at).map_or(0.0, |p| p.day() as f64)
}

/// The charts of one team.
#[must_use]
pub fn team_charts(t: &TeamTrends) -> TeamCharts {
    let score_lines: Vec<DatedLine<'_>> = t
        .drills
        .iter()
        .enumerate()
        .map(|(i, d)| DatedLine {
            label: &d.drill,
            days: d.points.iter().map(|p| day(&p.played_at)).collect(),
            values: d.points.iter().map(|p| f64::from(p.score)).collect(),
            class: CLASSES[i % CLASSES.len()],
            faint: false,
        })
        .collect();
    let scores = svg::dated_chart(&format!("{}: score per drill", t.team), "", &score_lines);
    let minutes = |v: Option<f64>| v.map_or(f64::NAN, |s| s / 60.0);
    let timings = t
        .drills
        .iter()
        .map(|d| {
            let days: Vec<f64> = d.points.iter().map(|p| day(&p.played_at)).collect();
            let mut lines = vec![
                DatedLine {
                    label: "detect",
                    days: days.clone(),
                    values: d.points.iter().map(|p| minutes(p.detect_seconds)).collect(),
                    class: "s1",
                    faint: false,
                },
                DatedLine {
                    label: "acknowledge",
                    days: days.clone(),
                    values: d
                        .points
                        .iter()
                        .map(|p| minutes(p.acknowledge_seconds))
                        .collect(),
                    class: "s3",
                    faint: false,
                },
                DatedLine {
                    label: "mitigate",
                    days: days.clone(),
                    values: d
                        .points
                        .iter()
                        .map(|p| minutes(p.mitigate_seconds))
                        .collect(),
                    class: "s2",
                    faint: false,
                },
            ];
            let span = |first: f64, last: f64| vec![first - 0.5, last + 0.5];
            let (first, last) = (
                days.first().copied().unwrap_or(0.0),
                days.last().copied().unwrap_or(0.0),
            );
            if let Some(target) = d.points.iter().find_map(|p| p.detect_target_seconds) {
                lines.push(DatedLine {
                    label: "detect target",
                    days: span(first, last),
                    values: vec![target / 60.0; 2],
                    class: "s1",
                    faint: true,
                });
            }
            if let Some(target) = d.points.iter().find_map(|p| p.mitigate_target_seconds) {
                lines.push(DatedLine {
                    label: "mitigate target",
                    days: span(first, last),
                    values: vec![target / 60.0; 2],
                    class: "s2",
                    faint: true,
                });
            }
            svg::dated_chart(
                &format!("{}: {} timings against objectives", t.team, d.drill),
                "m",
                &lines,
            )
        })
        .collect();
    let bars: Vec<Bar<'_>> = t
        .roles
        .iter()
        .map(|r| Bar {
            label: &r.role,
            share: r.hit_rate,
            note: format!(
                "{} of {} on time, {} late, {} missed",
                r.on_time, r.tasks, r.late, r.missed
            ),
        })
        .collect();
    TeamCharts {
        scores,
        timings,
        roles: svg::bars(&format!("{}: tasks done on time, by role", t.team), &bars),
    }
}

/// The day of an RFC 3339 date-time (`2026-03-02`).
fn date_of(played_at: &str) -> &str {
    played_at.get(..10).unwrap_or(played_at)
}

/// The debrief page's styles, shared so both pages look alike.
pub(crate) fn styles() -> &'static str {
    let t = super::html::TEMPLATE;
    match (t.find("<style>"), t.find("</style>")) {
        (Some(a), Some(b)) if a < b => &t[a + "<style>".len()..b],
        _ => "",
    }
}

/// Renders the HTML page.
///
/// # Errors
/// The template does not parse or fails to render.
pub fn html_with_template(trends: &Trends, template: &str) -> Result<String, tera::Error> {
    let mut tera = tera::Tera::new();
    tera.autoescape_on([".html"]);
    tera.set_escape_fn(|input, out| tera::escape_html(&crate::sanitize::shown(input), out));
    tera.register_filter("duration", |x: f64, _: tera::Kwargs, _: &tera::State| {
        duration_text(x)
    });
    tera.register_filter("date", |x: String, _: tera::Kwargs, _: &tera::State| {
        date_of(&x).to_owned()
    });
    tera.register_filter("percent", |x: f64, _: tera::Kwargs, _: &tera::State| {
        format!("{:.0}%", x * 100.0)
    });
    tera.add_raw_template("history-report.html", template)?;
    let mut context = tera::Context::new();
    context.insert("t", trends);
    context.insert(
        "charts",
        &trends.teams.iter().map(team_charts).collect::<Vec<_>>(),
    );
    context.insert("styles", styles());
    tera.render("history-report.html", &context)
}

/// The HTML page from the built-in template.
#[must_use]
pub fn html(trends: &Trends) -> String {
    html_with_template(trends, TEMPLATE).expect("the built-in trends template renders")
}

/// JSON, for tools.
#[must_use]
pub fn json(trends: &Trends) -> String {
    serde_json::to_string_pretty(trends).expect("trends serialise") + "\n"
}

/// Markdown, for wikis.
#[must_use]
pub fn markdown(t: &Trends) -> String {
    use std::fmt::Write as _;
    let esc = super::markdown::esc;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Drill history\n\n{} sessions, as of {}.\n",
        t.sessions, t.as_of
    );
    for team in &t.teams {
        let _ = writeln!(
            s,
            "## Team {}\n\n{} sessions.\n\n| Drill | Played | Score | Objectives | Detect | Acknowledge | Mitigate |\n|---|---|---:|---|---|---|---|",
            esc(&team.team),
            team.sessions
        );
        for d in &team.drills {
            for p in &d.points {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} / {} | {} | {} / {} |",
                    esc(&d.drill),
                    date_of(&p.played_at),
                    p.score,
                    if p.met_objectives { "met" } else { "missed" },
                    p.detect_seconds.map_or_else(|| "—".into(), duration_text),
                    p.detect_target_seconds
                        .map_or_else(|| "—".into(), duration_text),
                    p.acknowledge_seconds
                        .map_or_else(|| "—".into(), duration_text),
                    p.mitigate_seconds.map_or_else(|| "—".into(), duration_text),
                    p.mitigate_target_seconds
                        .map_or_else(|| "—".into(), duration_text),
                );
            }
        }
        let _ = writeln!(
            s,
            "\n| Role | Tasks | On time | Late | Missed | Hit rate |\n|---|---:|---:|---:|---:|---:|"
        );
        for r in &team.roles {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {:.0}% |",
                esc(&r.role),
                r.tasks,
                r.on_time,
                r.late,
                r.missed,
                r.hit_rate * 100.0
            );
        }
        let due: Vec<String> = team
            .due
            .iter()
            .map(|d| match (&d.last_played, d.days_since) {
                (Some(_), Some(n)) => format!("{} ({n} days)", esc(&d.drill)),
                _ => format!("{} (never)", esc(&d.drill)),
            })
            .collect();
        let _ = writeln!(
            s,
            "\nDue (never played, or not for {} days): {}\n",
            t.stale_days,
            if due.is_empty() {
                "none".to_owned()
            } else {
                due.join(", ")
            }
        );
    }
    let _ = writeln!(
        s,
        "## Drills\n\n| Drill | Author's difficulty | Sessions | Teams | Last played | Met objectives | Median score |\n|---|---|---:|---:|---|---:|---:|"
    );
    for d in &t.drills {
        let (share, median) = d.measured.as_ref().map_or_else(
            || ("—".to_owned(), "—".to_owned()),
            |m| {
                (
                    format!("{:.0}%", m.share_met * 100.0),
                    format!("{:.1}", m.median_score),
                )
            },
        );
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {share} | {median} |",
            esc(&d.drill),
            d.difficulty
                .map_or_else(|| "—".to_owned(), |n| format!("{n}/5")),
            d.sessions,
            d.teams,
            d.last_played.as_deref().map_or("never", date_of),
        );
    }
    if !t.suggestions.is_empty() {
        s.push_str("\n## Suggestions\n\n");
        for g in &t.suggestions {
            let _ = writeln!(s, "- **{}**: {}", esc(&g.drill), esc(&g.text));
        }
    }
    let _ = writeln!(s, "\n{}", t.rules);
    s
}
