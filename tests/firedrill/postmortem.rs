//! The postmortem (`whatif::postmortem` and `report::postmortem`): the binary plays
//! monday-rush's reference response into a transcript; the postmortem of that transcript
//! with two action items (a bigger pool, an earlier page) is built over a few seeds and
//! checked — its action items carry exactly the figures the what-if gives for the same
//! inputs, its Markdown has every section and every item's title and proven effect, the same
//! inputs give the same bytes (whatever `--jobs`), typed markup stays inert, and the HTML page
//! renders its action-item table and chart in a real headless Chromium.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use firedrill::calibrate::{Plan, Shard};
use firedrill::drill::change::Change;
use firedrill::report;
use firedrill::report::markdown::esc;
use firedrill::session::transcript::{Line, Transcript};
use firedrill::whatif::postmortem::{self, NO_DATE, Postmortem};
use firedrill::whatif::{self, Subject, Variants, WhatIf};

const POOL: &str = r#"Change(
    title: "Grow the db pool to 40",
    owner: "ops",
    kind: Prevent,
    pools: [Pool(name: "db", size: 40, acquire_timeout: "2s")],
)"#;

/// An earlier page, owned by someone whose name is markup.
const EARLY_PAGE: &str = r#"Change(
    title: "Page on requests waiting for a db connection",
    owner: "<img src=x onerror=alert(3)>",
    kind: Detect,
    alerts: [Alert(
        name: "DbConnectionWait",
        when: Above(metric: PoolWaiting("db"), threshold: 5.0),
        for: "1m",
        severity: Page,
        summary: "Requests are queueing for a db connection",
    )],
)"#;

const HOSTILE_PERSON: &str = "<script>alert(1)</script>";
const HOSTILE_NOTE: &str = "note \"<script>alert(2)</script> | *bold*\"";

fn changes() -> Vec<Change> {
    [POOL, EARLY_PAGE]
        .iter()
        .map(|text| {
            firedrill::drill::ron_options()
                .from_str::<Change>(text)
                .expect("the change parses")
        })
        .collect()
}

fn plan() -> Plan {
    Plan::new(3, 1, Shard::WHOLE).expect("a plan")
}

/// The reference response on monday-rush, played by the binary, its transcript read back;
/// the first line gets a person whose name is markup and a note with markup follows it.
fn transcript() -> &'static (PathBuf, Transcript) {
    static PLAYED: OnceLock<(PathBuf, Transcript)> = OnceLock::new();
    PLAYED.get_or_init(|| {
        let dir = crate::scratch_dir("postmortem", "reference");
        let path = dir.join("reference.jsonl");
        let out = Command::new(env!("CARGO_BIN_EXE_firedrill"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["play", "drills/monday-rush.ron", "--reference", "--quiet"])
            .arg("--transcript")
            .arg(&path)
            .arg("--no-record")
            .output()
            .expect("firedrill runs");
        assert!(
            out.status.success(),
            "play failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut t = Transcript::read(&path).expect("the transcript reads");
        assert!(!t.lines.is_empty(), "the reference typed nothing");
        t.lines[0].person = Some(HOSTILE_PERSON.to_owned());
        let note = Line {
            at_ns: t.lines[0].at_ns,
            role: "scribe".to_owned(),
            input: HOSTILE_NOTE.to_owned(),
            person: Some("Dana".to_owned()),
            inject_from: None,
        };
        t.lines.insert(1, note);
        (path, t)
    })
}

fn build(jobs: usize, date: Option<&str>) -> Postmortem {
    let (path, t) = transcript();
    postmortem::build(t, path, &changes(), &plan(), jobs, date, &|| {})
        .expect("the postmortem builds")
}

/// One postmortem, built once for the checks that only read it.
fn built() -> &'static Postmortem {
    static BUILT: OnceLock<Postmortem> = OnceLock::new();
    BUILT.get_or_init(|| build(2, Some("2026-03-02")))
}

#[test]
fn action_items_carry_exactly_what_the_whatif_gives() {
    let p = built();
    let (path, t) = transcript();
    let drill = t.drill(path).expect("the drill loads");
    let changes = changes();
    let variants = Variants::new(&drill, &changes).expect("the changes apply");
    let records =
        whatif::run(&variants, &plan(), Some(&t.lines), 1, &|| {}).expect("the what-if runs");
    let subject = Subject {
        drill: t.header.drill_name.clone(),
        sha256: t.header.drill_sha256.clone(),
        source: "transcript".to_owned(),
    };
    let w = WhatIf::new(subject, plan(), &variants, records);
    assert_eq!(p.action_items.len(), 2);
    assert_eq!(p.proof.base_no_team, w.base.no_team);
    assert_eq!(p.proof.base_team, w.base.team);
    assert_eq!(p.proof.runs, 3);
    for (item, v) in p.action_items.iter().zip(&w.changes) {
        assert_eq!(item.title, v.title);
        assert_eq!(item.owner, v.owner);
        assert_eq!(item.proven.no_team, v.no_team, "{}", item.title);
        assert_eq!(item.proven.team, v.team, "{}", item.title);
        assert!(
            item.proven.team.is_some(),
            "the team's inputs were replayed"
        );
        assert_eq!(
            item.proven.effect,
            report::whatif::would_have(&v.no_team, &w.base.no_team, {
                w.base
                    .records
                    .iter()
                    .zip(&v.records)
                    .filter(|(b, c)| b.no_team.paged && !c.no_team.paged)
                    .count()
            })
        );
    }
    let all = p
        .together
        .as_ref()
        .expect("two items are also tried together");
    assert_eq!(all.no_team, w.all.no_team);
    assert_eq!(all.team, w.all.team);
    // The bigger pool is what the reference ends up doing: with it from the start, no one
    // gets paged on any seed, and nobody is harmed.
    let pool = &p.action_items[0];
    assert_eq!(pool.kind, "prevent");
    assert!(
        pool.proven
            .effect
            .starts_with("would have prevented the page in 3 of 3 runs"),
        "{}",
        pool.proven.effect
    );
    assert!(
        pool.proven.effect.contains("harm −"),
        "{}",
        pool.proven.effect
    );
    // The earlier page pages sooner.
    let early = &p.action_items[1];
    assert_eq!(early.kind, "detect");
    assert!(
        early.proven.effect.contains("sooner"),
        "{}",
        early.proven.effect
    );
}

#[test]
fn the_markdown_has_every_section_and_every_action_item() {
    let p = built();
    let md = report::postmortem::markdown(p);
    // Kept as an artifact to read.
    let dir = crate::scratch_dir("postmortem", "markdown");
    std::fs::write(dir.join("postmortem.md"), &md).expect("the artifact is written");
    for heading in [
        "# Postmortem: Monday rush: the connection pool runs dry",
        "## Summary",
        "## People and roles",
        "## Impact",
        "## Detection",
        "## Root cause and trigger",
        "## Response timeline",
        "## What went well",
        "## What went wrong",
        "## Where we got lucky",
        "## Action items",
        "## Lessons",
    ] {
        assert!(md.contains(heading), "no `{heading}` in:\n{md}");
    }
    assert!(md.contains("| Date | 2026-03-02 |"), "{md}");
    assert!(md.contains("Draft — action items proven in simulation (3 runs, seeds 1–3)"));
    for item in &p.action_items {
        assert!(md.contains(&esc(&item.title)), "no title {}", item.title);
        assert!(
            md.contains(&format!(
                "With no one responding: {}.",
                esc(&item.proven.effect)
            )),
            "no effect for {}:\n{md}",
            item.title
        );
        let team = item.proven.with_team.as_ref().expect("a team sentence");
        assert!(
            md.contains(&esc(team)),
            "no team sentence for {}",
            item.title
        );
    }
    assert!(md.contains("All action items together"));
    // The root cause beside the team's diagnosis, the timeline, the lessons.
    assert!(md.contains("Monday surge pushed arrivals past what 20 connections can serve"));
    assert!(md.contains("The team named the root cause (db-pool-exhaustion)"));
    assert!(md.contains("monday-surge, from 09:25:00"), "{md}");
    assert!(md.contains("throttle rps=150"));
    for q in &p.lessons {
        assert!(md.contains(&esc(q)), "no lesson {q}");
    }
    assert_eq!(p.lessons.len(), 3);
    // The reference does its checklist on time, and is its own reference.
    assert!(!p.went_well.is_empty());
    assert!(
        p.went_well
            .iter()
            .any(|w| w.contains("Acknowledge the page — done on time")),
        "{:?}",
        p.went_well
    );
    assert!(!p.lucky.is_empty(), "the seeds give a luck finding");
    // No Rust debug text reaches the reader.
    for debug in ["Some(", "None", "Outcome {", "\\\"", "{:"] {
        assert!(!md.contains(debug), "debug text `{debug}` in:\n{md}");
    }
    // People: the name typed in the war room, the one assigned, escaped.
    assert!(md.contains("sam"));
    assert!(md.contains("Dana"));
}

#[test]
fn the_same_inputs_give_the_same_bytes_whatever_the_threads() {
    let one = build(1, Some("2026-03-02"));
    let two = built();
    assert_eq!(&one, two);
    assert_eq!(
        report::postmortem::markdown(&one),
        report::postmortem::markdown(two)
    );
    assert_eq!(
        report::postmortem::html(&one),
        report::postmortem::html(two)
    );
    // No date given: none is invented from the clock.
    let undated = build(2, None);
    assert_eq!(undated.date, NO_DATE);
    assert!(report::postmortem::markdown(&undated).contains("| Date | date not recorded |"));
}

#[test]
fn typed_markup_stays_inert() {
    let p = built();
    let html = report::postmortem::html(p);
    let md = report::postmortem::markdown(p);
    assert!(
        p.people
            .iter()
            .any(|r| r.people.iter().any(|n| n == HOSTILE_PERSON))
    );
    for (name, page) in [("html", &html), ("markdown", &md)] {
        for raw in ["<script", "<img"] {
            assert!(!page.contains(raw), "{name} carries raw `{raw}`");
        }
        assert!(
            page.contains("&lt;script&gt;alert(1)"),
            "{name}: the person's name is shown"
        );
        assert!(
            page.contains("&lt;script&gt;alert(2)"),
            "{name}: the note is shown"
        );
        assert!(page.contains("&lt;img src=x"), "{name}: the owner is shown");
    }
    // Self-contained: nothing is fetched.
    for external in ["<link", "src=\"http", "href=\"http", "@import"] {
        assert!(!html.contains(external), "the page refers to `{external}`");
    }
    assert!(html.contains("<svg class=\"chart\""));
    assert!(html.contains("<table class=\"actions\">"));
}

#[test]
fn the_postmortem_renders_in_a_real_browser() {
    let Some(chromium) = crate::tools::chromium("the_postmortem_renders_in_a_real_browser") else {
        return;
    };
    let p = built();
    let dir = crate::scratch_dir("postmortem", "browser");
    let page = dir.join("postmortem.html");
    std::fs::write(&page, report::postmortem::html(p)).expect("the page is written");
    let dom = dump_dom(chromium, &page, &dir.join("profile"));
    // The action-item table, with a row per item and the items together.
    let table = section(&dom, "<table class=\"actions\">", "</table>");
    assert_eq!(table.matches("<tr>").count(), 1 + 2 + 1, "{table}");
    for item in &p.action_items {
        assert!(
            table.contains(&html_text(&item.title)),
            "no {} in {table}",
            item.title
        );
    }
    // The chart: one bar per system, the base's the longest, a bar of zero for the pool.
    let chart = section(&dom, "<svg class=\"chart\"", "</svg>");
    let widths: Vec<f64> = chart
        .split("<rect class=\"bar ")
        .skip(1)
        .map(|r| {
            let w = r.split("width=\"").nth(1).expect("a width");
            w[..w.find('"').expect("quoted")].parse().expect("a number")
        })
        .collect();
    assert_eq!(widths.len(), 4, "{chart}");
    assert!(widths[0] > 100.0, "the base's bar is drawn: {widths:?}");
    assert!(widths[1] < widths[0], "the pool harms less: {widths:?}");
    // And the browser ran no script of the team's.
    assert!(!dom.contains("<script"), "a script element reached the DOM");
    assert_eq!(
        dom.matches("<svg class=\"chart\"").count(),
        2,
        "a chart with no one responding and one with the team's inputs"
    );
    // The screenshot is kept as an artifact: the bars are drawn, solid runs of their colours
    // (the base's, the earlier page's, and the pool's with the team's throttle).
    let shot = dir.join("postmortem.png");
    let (pixels, channels) =
        crate::browser::screenshot(chromium, &page, &shot, &dir.join("profile-shot"), 6000);
    for (name, colour) in [
        ("s1", [43, 89, 195]),
        ("s2", [217, 72, 15]),
        ("s3", [123, 63, 184]),
    ] {
        let rows = bar_rows(&pixels, channels, 1280, colour);
        assert!(rows >= 10, "no {name} bar in the screenshot ({rows} rows)");
    }
}

/// Rows of the screenshot holding a run of at least 100 pixels of `colour` (a bar; text
/// never makes such runs).
fn bar_rows(pixels: &[u8], channels: usize, width: usize, colour: [u8; 3]) -> usize {
    pixels
        .chunks(width * channels)
        .filter(|row| {
            let mut run = 0;
            row.chunks(channels).any(|p| {
                let near = p[..3].iter().zip(colour).all(|(a, b)| a.abs_diff(b) <= 6);
                run = if near { run + 1 } else { 0 };
                run >= 100
            })
        })
        .count()
}

/// `text` as the DOM serialises it.
fn html_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The first part of `dom` from `start` to the next `end`, inclusive.
fn section<'a>(dom: &'a str, start: &str, end: &str) -> &'a str {
    let a = dom
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in the DOM"));
    let b = dom[a..].find(end).expect("the element closes") + a + end.len();
    &dom[a..b]
}

/// The DOM headless `chromium` built from `page`.
fn dump_dom(chromium: &str, page: &Path, profile: &Path) -> String {
    let out = Command::new("timeout")
        .arg("120")
        .arg(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("the browser runs");
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        dom.contains("</html>"),
        "no DOM; chromium said: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dom
}

#[test]
fn a_postmortem_without_action_items_says_none_yet() {
    let (path, t) = transcript();
    let p = postmortem::build(t, path, &[], &plan(), 2, None, &|| {}).expect("it builds");
    assert!(p.action_items.is_empty() && p.together.is_none());
    assert_eq!(p.status, "Draft — no action items yet");
    let md = report::postmortem::markdown(&p);
    assert!(md.contains("## Action items\n\nNone yet."), "{md}");
    let html = report::postmortem::html(&p);
    assert!(html.contains("<p>None yet.</p>"));
    // A change that names a step the service lacks is refused with its title.
    let mut bad = changes();
    bad[1].steps = vec![firedrill::drill::spec::Step {
        name: "no-such-step".to_owned(),
        ..t.drill(path).expect("loads").service.steps[0].clone()
    }];
    let err = postmortem::build(t, path, &bad, &plan(), 2, None, &|| {}).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("`Page on requests waiting for a db connection`: steps[0]")
            && text.contains("no-such-step"),
        "{text}"
    );
}
