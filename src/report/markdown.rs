//! The Markdown debrief: the same facts as the HTML page, as tables and lists a wiki shows.
//! Every text from the drill or the team goes through [`esc`], so `<script>` stays text and a
//! `|` cannot break a table.

use std::fmt::Write as _;

use crate::score::counterfactual::{Avoided, group};
use crate::score::debrief::Debrief;
use crate::score::impact::Outcome;
use crate::score::timings::Moment;

/// Escapes text for inline Markdown (and table cells): HTML specials become entities,
/// Markdown punctuation is backslash-escaped, newlines become spaces, control characters
/// are shown as escapes ([`crate::sanitize::shown`]).
#[must_use]
pub fn esc(text: &str) -> String {
    let text = crate::sanitize::shown(text);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' | '`' | '*' | '_' | '[' | ']' | '\\' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn clock(m: Option<&Moment>) -> String {
    m.map_or_else(|| "—".to_owned(), |m| m.clock.clone())
}

fn count(n: u64) -> String {
    group(i64::try_from(n).unwrap_or(i64::MAX))
}

/// One row of the impact table: label, ours, no response, avoided, reference (and its avoided).
type ImpactRow<'a> = (&'a str, u64, u64, Option<i64>, Option<(u64, Option<i64>)>);

/// Renders the debrief as Markdown.
#[must_use]
pub fn render(d: &Debrief) -> String {
    let mut o = String::new();
    let title = if d.drill.title.is_empty() {
        &d.drill.name
    } else {
        &d.drill.title
    };
    let _ = writeln!(o, "# Debrief: {}\n", esc(title));
    let start = d
        .drill
        .clock_start
        .as_ref()
        .map(|c| format!(" · clock starts {}", esc(c)))
        .unwrap_or_default();
    let _ = writeln!(
        o,
        "Drill `{}` · seed {}{start} · ended {} ({})\n",
        d.drill.name.replace('`', "'"),
        d.seed,
        d.drill.ended.clock,
        d.drill.ended_by
    );
    if !d.drill.briefing.is_empty() {
        let _ = writeln!(o, "> {}\n", esc(&d.drill.briefing));
    }
    let _ = writeln!(o, "**Score: {} / 100**\n", d.score);
    let _ = writeln!(o, "Arithmetic: {}\n", esc(&d.scoring.arithmetic));
    let _ = writeln!(o, "{}\n", esc(&d.scoring.formula));

    let _ = writeln!(
        o,
        "## Team\n\n| Role | Title | Held by | Commands | Checklist points |\n|---|---|---|---:|---:|"
    );
    for r in &d.roles {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} / {} |",
            esc(&r.id),
            esc(&r.title),
            r.person
                .as_deref()
                .map_or_else(|| "unassigned".to_owned(), esc),
            r.commands,
            r.earned,
            r.possible
        );
    }

    let _ = writeln!(o, "\n## Objectives\n");
    if d.objectives.is_empty() {
        let _ = writeln!(o, "The drill sets no objectives.");
    } else {
        let _ = writeln!(
            o,
            "| Objective | Measures | Target | Actual | Best possible | Result | Points |\n|---|---|---:|---:|---:|---|---:|"
        );
        for ob in &d.objectives {
            let best = ob
                .best_seconds
                .map(crate::score::timings::duration_text)
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {best} | {} ({}) | {:.1} / {:.1} |",
                ob.name,
                ob.measures,
                ob.target_text,
                ob.actual_text,
                if ob.met { "met" } else { "not met" },
                ob.verdict,
                ob.earned,
                ob.weight
            );
        }
    }

    let scoring = &d.scoring;
    let _ = writeln!(
        o,
        "\n**Outcome:** {}. {:.1} / {:.1} points.",
        esc(&scoring.outcome.summary),
        scoring.outcome_points,
        scoring.outcome_weight
    );

    let t = &d.timings;
    let _ = writeln!(o, "\n## Timings\n\n| Moment | Clock |\n|---|---|");
    let sev = t.severity.map(|s| format!(" (sev{s})")).unwrap_or_default();
    let wrong = match t.wrong_diagnoses.len() {
        0 => String::new(),
        1 => " (after 1 wrong guess)".to_owned(),
        n => format!(" (after {n} wrong guesses)"),
    };
    let mitigation = t
        .first_mitigation_input
        .as_deref()
        .map(|i| {
            let avoided = t.first_mitigation_avoided.map_or_else(String::new, |n| {
                format!("; without it {} more users harmed", count(n))
            });
            format!(" ({}{avoided})", esc(i))
        })
        .unwrap_or_default();
    for (label, m) in [
        ("Fault begins".to_owned(), t.fault_start.as_ref()),
        ("First user impact".to_owned(), t.first_impact.as_ref()),
        (
            "First page alert pending".to_owned(),
            t.first_page_pending.as_ref(),
        ),
        (
            "Earliest the first page could fire".to_owned(),
            t.best_page.as_ref(),
        ),
        ("First page".to_owned(), t.first_page.as_ref()),
        ("Acknowledged".to_owned(), t.acknowledged.as_ref()),
        (format!("Declared{sev}"), t.declared.as_ref()),
        (format!("Diagnosed{wrong}"), t.diagnosed.as_ref()),
        (
            format!("First mitigation ordered{mitigation}"),
            t.first_mitigation.as_ref(),
        ),
        ("Mitigated (recovered)".to_owned(), t.mitigated.as_ref()),
        ("Resolved".to_owned(), t.resolved.as_ref()),
    ] {
        let _ = writeln!(o, "| {label} | {} |", clock(m));
    }
    let _ = writeln!(
        o,
        "\n| Time to | Measured | Took | Objective | Best possible |\n|---|---|---:|---:|---:|"
    );
    for i in &t.intervals {
        let objective = d
            .objectives
            .iter()
            .find(|ob| ob.name == i.name)
            .map(|ob| format!("{} {}", ob.target_text, if ob.met { "✓" } else { "✗" }))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "| {} | {} → {} | {} | {objective} | {} |",
            i.name,
            i.from,
            i.to,
            i.text,
            i.best_text.as_deref().unwrap_or("")
        );
    }
    let _ = writeln!(o, "\nFirst user impact is {}.", t.impact_rule);

    let _ = writeln!(
        o,
        "\n## Checklists\n\n| Role | Task | Due | Status | Done | Points |\n|---|---|---|---|---|---:|"
    );
    for task in &d.checklists {
        let due = format!(
            "{} ({})",
            task.due
                .as_ref()
                .map_or_else(|| "never due".to_owned(), |m| m.clock.clone()),
            esc(&task.due_text)
        );
        let mut status = match task.status.as_str() {
            "on_time" => "on time".to_owned(),
            "late" => format!("late by {}", task.late_text.as_deref().unwrap_or("")),
            "premature" => "premature: done before the system recovered".to_owned(),
            _ => "missed".to_owned(),
        };
        if let Some(cost) = &task.guess_cost {
            let _ = write!(status, "; {cost}");
        }
        let done = match (&task.done, &task.by) {
            (Some(m), Some(by)) => format!(
                "{} by {}",
                m.clock,
                esc(&crate::session::checklist::done_by(by, &task.role))
            ),
            _ => "—".to_owned(),
        };
        let _ = writeln!(
            o,
            "| {} | {} | {due} | {status} | {done} | {} / {} |",
            esc(&task.role),
            esc(&task.text),
            task.earned,
            task.points
        );
    }

    let (im, cf) = (&d.impact, &d.counterfactual);
    let nr = &cf.no_response;
    let _ = writeln!(o, "\n## Impact\n\n{}\n", esc(&cf.summary));
    let reference = cf.reference.as_ref().zip(cf.reference_avoided.as_ref());
    let _ = write!(
        o,
        "| Up to {} | Your response | No response | Avoided |",
        d.drill.ended.clock
    );
    if reference.is_some() {
        let _ = write!(o, " Reference response | Reference avoided |");
    }
    let _ = writeln!(
        o,
        "\n|---|---:|---:|---:|{}",
        if reference.is_some() {
            "---:|---:|"
        } else {
            ""
        }
    );
    let row = |label, get: fn(&Outcome) -> u64, avoided: Option<fn(&Avoided) -> i64>| {
        (
            label,
            get(im),
            get(nr),
            avoided.map(|a| a(&cf.avoided)),
            reference.map(|(r, a)| (get(r), avoided.map(|f| f(a)))),
        )
    };
    let rows: [ImpactRow<'_>; 10] = [
        row("Users (requests)", |o| o.users, None),
        row("Users harmed", |o| o.harmed, Some(|a| a.harmed)),
        row(
            "… request failed",
            |o| o.users_failed,
            Some(|a| a.users_failed),
        ),
        row(
            "… request rejected",
            |o| o.users_rejected,
            Some(|a| a.users_rejected),
        ),
        row(
            "… answered degraded or wrong",
            |o| o.users_poor,
            Some(|a| a.users_poor),
        ),
        row(
            "Attempts arrived (with client retries)",
            |o| o.arrived,
            None,
        ),
        row("Failed attempts", |o| o.failed, Some(|a| a.failed)),
        row("Rejected attempts", |o| o.rejected, Some(|a| a.rejected)),
        row("Degraded answers", |o| o.degraded, Some(|a| a.degraded)),
        row(
            "Wrong answers",
            |o| o.wrong_answers,
            Some(|a| a.wrong_answers),
        ),
    ];
    for (label, ours, none, avoided, refs) in rows {
        let avoided = avoided.map(group).unwrap_or_default();
        let _ = write!(
            o,
            "| {label} | {} | {} | {avoided} |",
            count(ours),
            count(none)
        );
        if let Some((r, a)) = refs {
            let a = a.map(group).unwrap_or_default();
            let _ = write!(o, " {} | {a} |", count(r));
        }
        o.push('\n');
    }
    let _ = write!(
        o,
        "| Minutes with a page condition breached | {:.1} | {:.1} | {:.1} |",
        im.page_breach_minutes, nr.page_breach_minutes, cf.avoided.page_breach_minutes
    );
    if let Some((r, a)) = reference {
        let _ = write!(
            o,
            " {:.1} | {:.1} |",
            r.page_breach_minutes, a.page_breach_minutes
        );
    }
    let _ = write!(
        o,
        "\n| Recovered | {} | {} | |",
        clock(im.recovered.as_ref()),
        clock(nr.recovered.as_ref())
    );
    if let Some((r, _)) = reference {
        let _ = write!(o, " {} | |", clock(r.recovered.as_ref()));
    }
    let _ = writeln!(
        o,
        "\n\n| Alert | Severity | Condition | Minutes in breach | With no response |\n|---|---|---|---:|---:|"
    );
    for (b, n) in im.breach.iter().zip(&nr.breach) {
        let _ = writeln!(
            o,
            "| {} | {} | `{}` | {:.1} | {:.1} |",
            esc(&b.alert),
            b.severity,
            b.condition.replace('`', "'"),
            b.minutes,
            n.minutes
        );
    }
    if !d.charts.panels.is_empty() {
        let _ = writeln!(
            o,
            "\n## Dashboard panels\n\nThe drill's own dashboard over the run (charted in the HTML debrief).\n\n| Panel | Metric | Peak | At | At the end |\n|---|---|---:|---|---:|"
        );
        for p in &d.charts.panels {
            let peak = p
                .t
                .iter()
                .zip(&p.values)
                .fold(None, |best: Option<(f64, f64)>, (t, v)| match best {
                    Some((_, b)) if b >= *v => best,
                    _ => Some((*t, *v)),
                });
            let (at, peak) = peak.map_or_else(
                || ("—".to_owned(), "—".to_owned()),
                |(t, v)| {
                    (
                        super::svg::clock_label(d.charts.clock_start_seconds, t),
                        format!("{v:.2}{}", p.unit),
                    )
                },
            );
            let last = p
                .values
                .last()
                .map_or_else(|| "—".to_owned(), |v| format!("{v:.2}{}", p.unit));
            let _ = writeln!(
                o,
                "| {} | `{}` | {peak} | {at} | {last} |",
                esc(&p.title),
                p.metric.replace('`', "'")
            );
        }
    }

    let _ = writeln!(
        o,
        "\n## Timeline\n\n| Clock | What | Who | Detail |\n|---|---|---|---|"
    );
    for e in &d.timeline {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} |",
            e.at.clock,
            e.kind,
            esc(&e.who),
            esc(&e.text)
        );
    }

    if let Some(rc) = &d.root_cause {
        let _ = writeln!(
            o,
            "\n## Root cause\n\n**{}** — {}",
            esc(&rc.id),
            match (&rc.diagnosed, &rc.diagnosed_by) {
                (Some(m), Some(by)) => format!("diagnosed at {} by {}", m.clock, esc(by)),
                _ => "never diagnosed".to_owned(),
            }
        );
        let _ = writeln!(o, "\n{}", esc(&rc.explanation));
        if !rc.wrong_guesses.is_empty() {
            let _ = writeln!(o, "\nWrong guesses:\n");
            for g in &rc.wrong_guesses {
                let _ = writeln!(o, "- {} {}: {}", g.at.clock, esc(&g.role), esc(&g.cause));
            }
        }
    }

    if !d.faults.is_empty() {
        let _ = writeln!(o, "\n## Faults\n");
        for f in &d.faults {
            let kind = if f.cause { "cause" } else { "distraction" };
            let began = f.started.as_ref().map_or_else(
                || "never began".to_owned(),
                |m| format!("began {}", m.clock),
            );
            let caused = if f.alerts.is_empty() {
                "caused no alert".to_owned()
            } else {
                format!(
                    "caused {}",
                    f.alerts
                        .iter()
                        .map(|a| esc(a))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            let _ = writeln!(o, "- **{}** ({kind}), {began}; {caused}", esc(&f.name));
        }
        if d.attribution_fallback {
            let _ = writeln!(
                o,
                "\nNo page was attributed to a cause alone, so every page alert counted for the timings and recovery."
            );
        }
    }

    let whatif = super::whatif::debrief_sentences(d);
    if !whatif.is_empty() {
        let _ = writeln!(
            o,
            "\n## What if\n\nThe drill's own what-if changes, tried on this incident (the same seed, to the drill's end):\n"
        );
        for sentence in &whatif {
            let _ = writeln!(o, "- {}", esc(sentence));
        }
    }

    if !d.questions.is_empty() {
        let _ = writeln!(o, "\n## Questions for the debrief\n");
        for (i, q) in d.questions.iter().enumerate() {
            let _ = writeln!(o, "{}. {}", i + 1, esc(q));
        }
    }
    o
}
