//! The postmortem written out: Markdown that pastes into a wiki ([`markdown`]) and one
//! self-contained HTML page ([`html`]: tera over `templates/postmortem.html`, autoescaped,
//! the debrief's styles, an inline SVG bar chart of each action item's harm against the base).
//! Every text a person typed (names, commands, change titles and owners) is escaped in both.
//!
//! Rendering decides nothing: every finding, number and sentence comes from the
//! [`Postmortem`] ([`crate::whatif::postmortem`]). The same postmortem gives the same bytes.

use std::fmt::Write as _;

use serde::Serialize;

use super::markdown::esc;
use super::svg::{self, Bar};
use super::whatif::count;
use crate::whatif::Outcome;
use crate::whatif::postmortem::{Postmortem, Proven};

/// The built-in HTML template.
pub const TEMPLATE: &str = include_str!("../../templates/postmortem.html");

/// One row of the action items' figures: a system's outcome over the runs.
#[derive(Debug, Clone, Serialize)]
pub struct FigureRow {
    pub title: String,
    pub paged: String,
    pub harm: String,
    pub harm_spread: String,
    pub wrong_answers: String,
    pub breach_minutes: String,
    pub latency_p99: String,
    pub model_dollars: String,
    pub connection_hours: String,
    pub team_paged: String,
    pub team_harm: String,
}

fn figure_row(title: &str, no_team: &Outcome, team: Option<&Outcome>) -> FigureRow {
    FigureRow {
        title: title.to_owned(),
        paged: format!("{}/{}", no_team.paged_runs, no_team.runs),
        harm: count(no_team.harm.total),
        harm_spread: format!(
            "{}–{}",
            count(no_team.p10.harm.total),
            count(no_team.p90.harm.total)
        ),
        wrong_answers: count(no_team.harm.wrong_answers),
        breach_minutes: format!("{:.1}", no_team.minutes_in_breach),
        latency_p99: format!("{:.2} s", no_team.latency_p99_seconds),
        model_dollars: format!("{:.2}", no_team.cost.model_dollars),
        connection_hours: format!("{:.1}", no_team.cost.connection_hours),
        team_paged: team.map_or_else(
            || "—".to_owned(),
            |o| format!("{}/{}", o.paged_runs, o.runs),
        ),
        team_harm: team.map_or_else(|| "—".to_owned(), |o| count(o.harm.total)),
    }
}

/// The figures table: the base, each action item, and all of them together when there are
/// several.
#[must_use]
pub fn figure_rows(p: &Postmortem) -> Vec<FigureRow> {
    let mut rows = vec![figure_row(
        "base (as it ran)",
        &p.proof.base_no_team,
        p.proof.base_team.as_ref(),
    )];
    for a in &p.action_items {
        rows.push(figure_row(
            &a.title,
            &a.proven.no_team,
            a.proven.team.as_ref(),
        ));
    }
    if let Some(all) = &p.together {
        rows.push(figure_row(
            "all action items",
            &all.no_team,
            all.team.as_ref(),
        ));
    }
    rows
}

/// The harm bars: each system's median harm, with no one responding (`team` false) or with
/// the team's inputs, as a share of the largest; `None` when the runs had no team.
#[must_use]
pub fn harm_chart(p: &Postmortem, team: bool) -> Option<String> {
    let pick = |no_team: &Outcome, with: Option<&Outcome>| {
        if team {
            with.map(|o| (o.harm.total, o.paged_runs, o.runs))
        } else {
            Some((no_team.harm.total, no_team.paged_runs, no_team.runs))
        }
    };
    let mut systems = vec![(
        "base".to_owned(),
        pick(&p.proof.base_no_team, p.proof.base_team.as_ref())?,
    )];
    for (k, a) in p.action_items.iter().enumerate() {
        let label = format!("{}. {}", k + 1, clip(&a.title, 18));
        systems.push((label, pick(&a.proven.no_team, a.proven.team.as_ref())?));
    }
    if let Some(all) = &p.together {
        systems.push((
            "all together".to_owned(),
            pick(&all.no_team, all.team.as_ref())?,
        ));
    }
    let most = systems.iter().map(|(_, (h, _, _))| *h).fold(0.0, f64::max);
    let bars: Vec<Bar<'_>> = systems
        .iter()
        .map(|(label, (harm, paged, runs))| Bar {
            label,
            share: if most > 0.0 { harm / most } else { 0.0 },
            note: format!("{} harmed (median) · paged {paged}/{runs}", count(*harm)),
        })
        .collect();
    let lens = if team {
        "with the team's same inputs"
    } else {
        "with no one responding"
    };
    Some(svg::bars(
        &format!("Harmed users {lens}, per action item ({})", p.proof.seeds),
        &bars,
    ))
}

/// The impact table's rows: what users went through, by kind, with grouped counts.
#[must_use]
pub fn impact_rows(p: &Postmortem) -> Vec<(&'static str, String)> {
    let im = &p.impact;
    let num = |x: u64| count(x as f64);
    vec![
        ("Users harmed in all", num(im.harmed)),
        ("… request failed", num(im.users_failed)),
        ("… request rejected (throttled)", num(im.users_rejected)),
        ("… answered degraded or wrong", num(im.users_poor)),
        ("Failed attempts", num(im.failed)),
        ("Rejected attempts", num(im.rejected)),
        ("Degraded answers (without context)", num(im.degraded)),
        ("Wrong answers", num(im.wrong_answers)),
        (
            "Minutes in breach of a page alert",
            format!("{:.1}", im.minutes_in_breach),
        ),
        ("Model spend", format!("$ {:.2}", im.model_dollars)),
        ("Connection-hours", format!("{:.1}", im.connection_hours)),
    ]
}

/// `title` cut to `most` characters, marked with `…` when cut.
fn clip(title: &str, most: usize) -> String {
    match title.char_indices().nth(most) {
        Some((i, _)) => format!("{}…", &title[..i]),
        None => title.to_owned(),
    }
}

fn bullets(o: &mut String, items: &[String], none: &str) {
    if items.is_empty() {
        let _ = writeln!(o, "- {none}");
    }
    for i in items {
        let _ = writeln!(o, "- {}", esc(i));
    }
    o.push('\n');
}

fn proven_lines(o: &mut String, p: &Proven) {
    let _ = writeln!(o, "   - With no one responding: {}.", esc(&p.effect));
    if let Some(t) = &p.with_team {
        let _ = writeln!(o, "   - With the team's same inputs: {}.", esc(t));
    }
    for k in &p.skipped_inputs {
        let _ = writeln!(
            o,
            "   - The changed system refused “{}” ({}, {}) in {} runs: {}.",
            esc(&k.input.input),
            esc(&k.input.role),
            esc(&k.input.at),
            k.runs,
            esc(&k.input.reason)
        );
    }
}

/// The postmortem as Markdown.
#[must_use]
pub fn markdown(p: &Postmortem) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# {}\n", esc(&p.title));
    let _ = writeln!(o, "| | |\n|---|---|");
    let _ = writeln!(o, "| Date | {} |", esc(&p.date));
    let _ = writeln!(o, "| Status | {} |", esc(&p.status));
    let _ = writeln!(
        o,
        "| Drill | {} · seed {} · score {} / 100 |",
        esc(&p.drill),
        p.seed,
        p.score
    );
    let names: Vec<String> = p
        .people
        .iter()
        .flat_map(|r| r.people.iter().map(|n| esc(n)))
        .collect();
    let _ = writeln!(
        o,
        "| People | {} |\n",
        if names.is_empty() {
            "no names recorded".to_owned()
        } else {
            names.join(", ")
        }
    );

    let _ = writeln!(o, "## Summary\n\n{}\n", esc(&p.summary));

    let _ = writeln!(
        o,
        "## People and roles\n\n| Role | Title | Held by | Commands |\n|---|---|---|---:|"
    );
    for r in &p.people {
        let held = if r.people.is_empty() {
            "—".to_owned()
        } else {
            r.people
                .iter()
                .map(|n| esc(n))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            o,
            "| {} | {} | {held} | {} |",
            esc(&r.role),
            esc(&r.title),
            r.commands
        );
    }
    o.push('\n');

    let im = &p.impact;
    let _ = writeln!(
        o,
        "## Impact\n\nOver {}: {} users' requests arrived ({} attempts with client retries).\n\n| Users harmed | |\n|---|---:|",
        esc(&im.duration),
        count(im.users as f64),
        count(im.arrived as f64)
    );
    for (label, value) in impact_rows(p) {
        let _ = writeln!(o, "| {label} | {value} |");
    }
    let _ = writeln!(
        o,
        "\nNo response would have harmed {} users{}. {}\n",
        count(im.no_response_harmed as f64),
        im.reference_harmed
            .map(|r| format!("; the reference response {}", count(r as f64)))
            .unwrap_or_default(),
        esc(&im.against)
    );

    let _ = writeln!(o, "## Detection\n\n{}\n", esc(&p.detection.text));

    let c = &p.root_cause;
    let _ = writeln!(o, "## Root cause and trigger\n");
    if !c.explanation.is_empty() {
        let _ = writeln!(o, "**Root cause.** {}\n", esc(&c.explanation));
    }
    if !c.triggers.is_empty() {
        let list: Vec<String> = c.triggers.iter().map(|t| esc(t)).collect();
        let _ = writeln!(o, "**Trigger.** {}\n", list.join("; "));
    }
    if !c.distractions.is_empty() {
        let list: Vec<String> = c.distractions.iter().map(|t| esc(t)).collect();
        let _ = writeln!(o, "**Also happening.** {}\n", list.join("; "));
    }
    let _ = writeln!(o, "**The team's diagnosis.** {}\n", esc(&c.diagnosis));

    let _ = writeln!(
        o,
        "## Response timeline\n\n| Time | Who | What |\n|---|---|---|"
    );
    for e in &p.timeline {
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            esc(&e.at.clock),
            esc(&e.who),
            esc(&e.text)
        );
    }
    if p.looks_left_out > 0 {
        let _ = writeln!(
            o,
            "\n{} commands that only looked (dashboards, logs, metrics) are left out; the transcript holds them.",
            p.looks_left_out
        );
    }
    o.push('\n');

    let _ = writeln!(o, "## What went well\n");
    bullets(
        &mut o,
        &p.went_well,
        "Nothing on the checklists was done on time.",
    );
    let _ = writeln!(o, "## What went wrong\n");
    bullets(
        &mut o,
        &p.went_wrong,
        "Nothing: every task on time, every objective met.",
    );
    let _ = writeln!(o, "## Where we got lucky\n");
    bullets(&mut o, &p.lucky, "Nothing the simulation could find.");

    let _ = writeln!(o, "## Action items\n");
    if p.action_items.is_empty() {
        let _ = writeln!(o, "None yet.\n");
    } else {
        let _ = writeln!(
            o,
            "Each item was tried on this incident in simulation ({}), on the same seeds as the base system.\n",
            esc(&p.proof.seeds)
        );
        let _ = writeln!(o, "| # | Action item | Owner | Kind |\n|---:|---|---|---|");
        for (k, a) in p.action_items.iter().enumerate() {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} |",
                k + 1,
                esc(&a.title),
                a.owner.as_deref().map_or_else(|| "—".to_owned(), esc),
                esc(&a.kind)
            );
        }
        o.push('\n');
        for (k, a) in p.action_items.iter().enumerate() {
            let _ = writeln!(o, "{}. **{}**", k + 1, esc(&a.title));
            proven_lines(&mut o, &a.proven);
        }
        if let Some(all) = &p.together {
            let _ = writeln!(
                o,
                "{}. **All action items together**",
                p.action_items.len() + 1
            );
            proven_lines(&mut o, all);
        }
        let _ = writeln!(
            o,
            "\nFigures (medians over the runs; with no one responding unless marked):\n\n| System | Paged | Harm (p10–p90) | Wrong answers | Minutes in breach | p99 latency | Model $ | Connection-hours | Paged, team | Harm, team |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for r in figure_rows(p) {
            let _ = writeln!(
                o,
                "| {} | {} | {} ({}) | {} | {} | {} | {} | {} | {} | {} |",
                esc(&r.title),
                r.paged,
                r.harm,
                r.harm_spread,
                r.wrong_answers,
                r.breach_minutes,
                r.latency_p99,
                r.model_dollars,
                r.connection_hours,
                r.team_paged,
                r.team_harm
            );
        }
        o.push('\n');
    }

    let _ = writeln!(o, "## Lessons\n");
    bullets(&mut o, &p.lessons, "The drill asks no debrief questions.");
    o
}

/// The postmortem as one self-contained HTML page.
#[must_use]
pub fn html(p: &Postmortem) -> String {
    let mut tera = tera::Tera::new();
    tera.autoescape_on([".html"]);
    tera.set_escape_fn(|input, out| tera::escape_html(&crate::sanitize::shown(input), out));
    tera.add_raw_template("postmortem.html", TEMPLATE)
        .expect("the built-in postmortem template parses");
    let mut context = tera::Context::new();
    context.insert("p", p);
    context.insert("figures", &figure_rows(p));
    let charts: Vec<String> = [false, true]
        .into_iter()
        .filter_map(|team| harm_chart(p, team))
        .collect();
    context.insert("charts", &charts);
    context.insert("impact_rows", &impact_rows(p));
    context.insert("arrived", &count(p.impact.arrived as f64));
    context.insert("users", &count(p.impact.users as f64));
    context.insert("styles", super::trends::styles());
    tera.render("postmortem.html", &context)
        .expect("the built-in postmortem template renders")
}
