//! A what-if written out: the base system and each change side by side, with deltas in words
//! ("no page in 200 of 200 runs; harm −100 %; +20 connection-hours") as text for the terminal,
//! Markdown for a wiki and a self-contained HTML page. Pure functions of a [`WhatIf`]: the
//! same result gives the same bytes.

use std::fmt::Write as _;

use serde::Serialize;

use super::markdown::esc;
use super::svg::{self, Bar};
use crate::score::counterfactual::group;
use crate::whatif::{Outcome, VariantResult, WhatIf};

/// The built-in HTML template.
pub const TEMPLATE: &str = include_str!("../../templates/whatif.html");

/// `158,638`; medians of counts are whole or halves.
pub(crate) fn count(x: f64) -> String {
    if x.fract() == 0.0 {
        group(x as i64)
    } else {
        format!("{}.5", group(x.trunc() as i64))
    }
}

/// `−100 %`, `+12 %`, `±0 %`.
fn percent_change(from: f64, to: f64) -> String {
    if from == 0.0 {
        return if to == 0.0 {
            "±0 %".to_owned()
        } else {
            "new".to_owned()
        };
    }
    let p = (to - from) / from * 100.0;
    let p = (p * 10.0).round() / 10.0;
    if p == 0.0 {
        "±0 %".to_owned()
    } else if p > 0.0 {
        format!("+{p} %")
    } else {
        format!("−{} %", -p)
    }
}

/// `+20`, `−3.5`.
fn signed(x: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, x.abs());
    if x > 0.0 {
        format!("+{text}")
    } else if x < 0.0 {
        format!("−{text}")
    } else {
        "±0".to_owned()
    }
}

/// What a changed system did against the base, in one sentence.
#[must_use]
pub fn against(change: &Outcome, base: &Outcome) -> String {
    let n = change.runs;
    let mut parts = Vec::new();
    let pages = if change.paged_runs == 0 && base.paged_runs > 0 {
        format!(
            "no page in {n} of {n} runs (the base paged in {})",
            base.paged_runs
        )
    } else if change.paged_runs == base.paged_runs {
        format!(
            "paged in {} of {n} runs, as the base did",
            change.paged_runs
        )
    } else {
        format!(
            "paged in {} of {n} runs (the base in {})",
            change.paged_runs, base.paged_runs
        )
    };
    parts.push(pages);
    parts.extend(effects(change, base));
    parts.join("; ")
}

/// What a changed system would have done on this incident, in one sentence for a
/// postmortem's action item: `would have prevented the page in 200 of 200 runs; harm −100 %
/// (158,638 → 0 users); +20.0 connection-hours`. `prevented` counts the runs (seeds) in
/// which the base paged and the changed system did not, seed by seed.
#[must_use]
pub fn would_have(change: &Outcome, base: &Outcome, prevented: usize) -> String {
    let n = change.runs;
    let pages = if prevented > 0 {
        let mut text = format!("would have prevented the page in {prevented} of {n} runs");
        if change.paged_runs > 0 {
            let _ = write!(text, " (it still paged in {})", change.paged_runs);
        }
        text
    } else if base.paged_runs == 0 && change.paged_runs == 0 {
        format!("no page in {n} of {n} runs, as in the base")
    } else if change.paged_runs > base.paged_runs {
        format!(
            "would have paged in {} of {n} runs (the base in {})",
            change.paged_runs, base.paged_runs
        )
    } else {
        format!(
            "would still have paged in {} of {n} runs",
            change.paged_runs
        )
    };
    std::iter::once(pages)
        .chain(effects(change, base))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The parts of a comparison after the pages: the first page's time, harm, minutes in breach
/// and cost, each only when it moved.
fn effects(change: &Outcome, base: &Outcome) -> Vec<String> {
    let mut parts = Vec::new();
    if let (Some(c), Some(b)) = (
        change.pages.first_page_seconds_p50,
        base.pages.first_page_seconds_p50,
    ) && (c - b).abs() >= 1.0
    {
        parts.push(format!(
            "first page {} (median)",
            if c < b {
                format!("{} sooner", crate::score::timings::duration_text(b - c))
            } else {
                format!("{} later", crate::score::timings::duration_text(c - b))
            }
        ));
    }
    parts.push(format!(
        "harm {} ({} → {} users)",
        percent_change(base.harm.total, change.harm.total),
        count(base.harm.total),
        count(change.harm.total)
    ));
    if (change.minutes_in_breach - base.minutes_in_breach).abs() >= 0.05 {
        parts.push(format!(
            "{} minutes in breach",
            signed(change.minutes_in_breach - base.minutes_in_breach, 1)
        ));
    }
    let hours = change.cost.connection_hours - base.cost.connection_hours;
    if hours.abs() >= 0.05 {
        parts.push(format!("{} connection-hours", signed(hours, 1)));
    }
    let dollars = change.cost.model_dollars - base.cost.model_dollars;
    if dollars.abs() >= 0.005 {
        parts.push(format!("{} $ model spend", signed(dollars, 2)));
    }
    parts
}

/// One row of the side-by-side table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub title: String,
    pub owner: String,
    pub kind: String,
    pub pages: String,
    pub harm: String,
    pub harm_spread: String,
    pub breach_minutes: String,
    pub latency_p99: String,
    pub model_dollars: String,
    pub connection_hours: String,
    /// Against the base, in words (empty for the base).
    pub against: String,
}

fn row(v: &VariantResult, o: &Outcome, base: Option<&Outcome>) -> Row {
    Row {
        title: v.title.clone(),
        owner: v.owner.clone().unwrap_or_default(),
        kind: v.kind.map(|k| k.as_str().to_owned()).unwrap_or_default(),
        pages: format!("{}/{}", o.paged_runs, o.runs),
        harm: count(o.harm.total),
        harm_spread: format!("{}–{}", count(o.p10.harm.total), count(o.p90.harm.total)),
        breach_minutes: format!("{:.1}", o.minutes_in_breach),
        latency_p99: format!("{:.2} s", o.latency_p99_seconds),
        model_dollars: format!("{:.2}", o.cost.model_dollars),
        connection_hours: format!("{:.1}", o.cost.connection_hours),
        against: base.map(|b| against(o, b)).unwrap_or_default(),
    }
}

/// The rows for no team (`team` false) or with the team's inputs.
#[must_use]
pub fn rows(w: &WhatIf, team: bool) -> Vec<Row> {
    let pick = |v: &VariantResult| {
        if team {
            v.team.clone()
        } else {
            Some(v.no_team.clone())
        }
    };
    let Some(base) = pick(&w.base) else {
        return Vec::new();
    };
    let mut out = vec![row(&w.base, &base, None)];
    for v in w.changes.iter().chain(if w.changes.len() > 1 {
        Some(&w.all)
    } else {
        None
    }) {
        if let Some(o) = pick(v) {
            out.push(row(v, &o, Some(&base)));
        }
    }
    out
}

fn seeds_text(w: &WhatIf) -> String {
    let p = &w.plan;
    if p.runs == 1 {
        format!("seed {}", p.seed_start)
    } else {
        format!(
            "{} runs, seeds {}–{}",
            p.runs,
            p.seed_start,
            p.seed_start + u64::from(p.runs) - 1
        )
    }
}

/// For the terminal.
#[must_use]
pub fn text(w: &WhatIf) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "What if: {} ({}, {})",
        w.subject.drill,
        w.subject.source,
        seeds_text(w)
    );
    for (team, heading) in [(false, "With no team"), (true, "With the team's inputs")] {
        let rows = rows(w, team);
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(s, "\n{heading}:");
        let width = rows
            .iter()
            .map(|r| r.title.chars().count())
            .max()
            .unwrap_or(4)
            .max(6);
        let _ = writeln!(
            s,
            "  {:width$}  {:>9}  {:>11}  {:>9}  {:>9}  {:>10}  {:>10}",
            "system", "paged", "harm", "breach m", "p99", "model $", "conn-hours"
        );
        for r in &rows {
            let _ = writeln!(
                s,
                "  {:width$}  {:>9}  {:>11}  {:>9}  {:>9}  {:>10}  {:>10}",
                r.title,
                r.pages,
                r.harm,
                r.breach_minutes,
                r.latency_p99,
                r.model_dollars,
                r.connection_hours
            );
        }
        for r in rows.iter().skip(1) {
            let _ = writeln!(s, "  {}: {}.", r.title, r.against);
        }
    }
    for v in w.changes.iter().chain(std::iter::once(&w.all)) {
        if !v.skipped_inputs.is_empty() {
            let _ = writeln!(s, "\nInputs `{}` refused (skipped):", v.title);
            for k in &v.skipped_inputs {
                let _ = writeln!(
                    s,
                    "  {} {}: {} — {} ({} of {} runs)",
                    k.input.at, k.input.role, k.input.input, k.input.reason, k.runs, w.plan.runs
                );
            }
        }
    }
    crate::sanitize::shown(&s).into_owned()
}

/// For a wiki.
#[must_use]
pub fn markdown(w: &WhatIf) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# What if: {}\n\n{} · {}\n",
        esc(&w.subject.drill),
        esc(&w.subject.source),
        seeds_text(w)
    );
    for (team, heading) in [(false, "With no team"), (true, "With the team's inputs")] {
        let rows = rows(w, team);
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(s, "## {heading}\n");
        s.push_str(
            "| System | Kind | Owner | Paged | Harm (p10–p90) | Minutes in breach | p99 latency | Model $ | Connection-hours |\n|---|---|---|---:|---:|---:|---:|---:|---:|\n",
        );
        for r in &rows {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} ({}) | {} | {} | {} | {} |",
                esc(&r.title),
                r.kind,
                esc(&r.owner),
                r.pages,
                r.harm,
                r.harm_spread,
                r.breach_minutes,
                r.latency_p99,
                r.model_dollars,
                r.connection_hours
            );
        }
        s.push('\n');
        for r in rows.iter().skip(1) {
            let _ = writeln!(s, "- **{}**: {}.", esc(&r.title), esc(&r.against));
        }
        s.push('\n');
    }
    s
}

/// The harm bars: each system's median harm as a share of the largest.
fn harm_chart(rows: &[Row], outcomes: &[f64], title: &str) -> String {
    let most = outcomes.iter().copied().fold(0.0, f64::max);
    let bars: Vec<Bar<'_>> = rows
        .iter()
        .zip(outcomes)
        .map(|(r, h)| Bar {
            label: &r.title,
            share: if most > 0.0 { h / most } else { 0.0 },
            note: format!("{} harmed · paged {}", r.harm, r.pages),
        })
        .collect();
    svg::bars(title, &bars)
}

/// A self-contained page.
#[must_use]
pub fn html(w: &WhatIf) -> String {
    let mut tera = tera::Tera::new();
    tera.autoescape_on([".html"]);
    tera.set_escape_fn(|input, out| tera::escape_html(&crate::sanitize::shown(input), out));
    tera.add_raw_template("whatif.html", TEMPLATE)
        .expect("the built-in what-if template parses");
    let mut sections = Vec::new();
    for (team, heading) in [(false, "With no team"), (true, "With the team's inputs")] {
        let rows = rows(w, team);
        if rows.is_empty() {
            continue;
        }
        let harms: Vec<f64> = std::iter::once(&w.base)
            .chain(&w.changes)
            .chain(if w.changes.len() > 1 {
                Some(&w.all)
            } else {
                None
            })
            .filter_map(|v| {
                if team {
                    v.team.as_ref().map(|o| o.harm.total)
                } else {
                    Some(v.no_team.harm.total)
                }
            })
            .collect();
        let chart = harm_chart(&rows, &harms, &format!("Harmed users ({heading})"));
        sections.push(serde_json::json!({ "heading": heading, "rows": rows, "chart": chart }));
    }
    let mut context = tera::Context::new();
    context.insert("w", w);
    context.insert("seeds", &seeds_text(w));
    context.insert("sections", &sections);
    context.insert("styles", super::trends::styles());
    tera.render("whatif.html", &context)
        .expect("the built-in what-if template renders")
}

/// A capacity search for the terminal.
#[must_use]
pub fn capacity_text(r: &crate::whatif::capacity::Report) -> String {
    let mut s = String::new();
    let slos: Vec<&str> = r.slos.iter().map(|x| x.text.as_str()).collect();
    let _ = writeln!(
        s,
        "Capacity: {} ({}; faults {}; each multiplier over {} runs, holding in {:.0} % of them)",
        r.drill,
        slos.join(" and "),
        if r.with_faults { "on" } else { "off" },
        r.runs,
        r.hold_share * 100.0
    );
    for c in std::iter::once(&r.base).chain(&r.changes) {
        let _ = writeln!(
            s,
            "\n{}: {}× the traffic curve, a peak of {:.1} requests/s\n  limited by: {}",
            c.title, c.max_multiplier, c.max_peak_rps, c.limited_by
        );
        if c.title != r.base.title && r.base.max_multiplier > 0.0 {
            let _ = writeln!(
                s,
                "  against the base: {}",
                percent_change(r.base.max_multiplier, c.max_multiplier)
            );
        }
    }
    s
}

/// The debrief's "what if" section in sentences: for each of the drill's what-if changes, what
/// it would have done with no one responding and with the team's own inputs, on the session's
/// seed. Empty when the drill has none.
#[must_use]
pub fn debrief_sentences(d: &crate::score::debrief::Debrief) -> Vec<String> {
    let one = |m: &crate::whatif::Measures| Outcome::of(&[m]);
    d.whatif
        .iter()
        .map(|row| {
            let mut text = format!("{} ({}", row.title, row.kind);
            if let Some(owner) = &row.owner {
                let _ = write!(text, ", {owner}");
            }
            let _ = write!(
                text,
                "): with no one responding, {}; with your responses, {}",
                against(&one(&row.no_team), &one(&row.base_no_team)),
                against(&one(&row.team), &one(&row.base_team))
            );
            if !row.skipped.is_empty() {
                let inputs: Vec<&str> = row.skipped.iter().map(|k| k.input.as_str()).collect();
                let _ = write!(text, " (the changed system refused: {})", inputs.join(", "));
            }
            text.push('.');
            text
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::whatif::Measures;

    fn run(degraded: u64, first_page_seconds: Option<f64>, connection_hours: f64) -> Measures {
        Measures {
            harmed: degraded,
            failed: 0,
            rejected: 0,
            degraded,
            wrong_answers: 0,
            paged: first_page_seconds.is_some(),
            first_page_seconds,
            minutes_in_breach: 0.0,
            latency_p99_seconds: 1.0,
            model_dollars: 0.0,
            connection_hours,
        }
    }

    fn outcome(runs: &[Measures]) -> Outcome {
        Outcome::of(&runs.iter().collect::<Vec<_>>())
    }

    #[test]
    fn a_change_that_prevents_every_page_says_so_with_its_cost() {
        let base = outcome(&[run(100, Some(600.0), 40.0), run(120, Some(660.0), 40.0)]);
        let pool = outcome(&[run(0, None, 80.0), run(0, None, 80.0)]);
        assert_eq!(
            would_have(&pool, &base, 2),
            "would have prevented the page in 2 of 2 runs; harm −100 % (110 → 0 users); \
             +40.0 connection-hours"
        );
        // The sentence `against` gives for the same figures keeps its own wording.
        assert!(against(&pool, &base).starts_with("no page in 2 of 2 runs (the base paged in 2)"));
    }

    #[test]
    fn an_earlier_page_says_how_much_sooner_and_a_partial_one_how_often_it_still_paged() {
        let base = outcome(&[run(100, Some(600.0), 40.0), run(100, Some(600.0), 40.0)]);
        let early = outcome(&[run(100, Some(480.0), 40.0), run(100, Some(480.0), 40.0)]);
        assert_eq!(
            would_have(&early, &base, 0),
            "would still have paged in 2 of 2 runs; first page 2m sooner (median); harm ±0 % \
             (100 → 100 users)"
        );
        let partial = outcome(&[run(0, None, 40.0), run(50, Some(700.0), 40.0)]);
        assert!(
            would_have(&partial, &base, 1)
                .starts_with("would have prevented the page in 1 of 2 runs (it still paged in 1)")
        );
        let quiet = outcome(&[run(0, None, 40.0)]);
        assert!(
            would_have(&quiet, &quiet, 0).starts_with("no page in 1 of 1 runs, as in the base")
        );
    }
}
