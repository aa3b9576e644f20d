//! How fast `firedrill history` lists a long record: 10 000 sessions (each with its full
//! transcript, the drill's text included, and the figures of a real session) inserted
//! straight through the store, then listed as the command does: open (schema and scoring
//! version checked), query every session with its timings and what it missed, and write the
//! JSON. The target is under 200 ms.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use firedrill::drill::parse_str;
use firedrill::history::figures::{Figures, HarmFigure, ObjectiveFigure, TaskFigure, TimingFigure};
use firedrill::history::store::NewSession;
use firedrill::history::{self, Filter, PlayedAt, Store};
use firedrill::session::transcript::{ClockMode, Header, Line, sha256_hex};

const SESSIONS: usize = 10_000;

/// A session's figures, varied by `i` (some tasks missed, some objectives not met).
fn figures(i: usize) -> Figures {
    let roles = ["ic", "ic", "ic", "ic", "ops", "ops", "comms", "scribe"];
    let tasks = [
        "declare",
        "assign",
        "mitigate",
        "resolve",
        "ack",
        "diagnose",
        "first-update",
        "timeline",
    ];
    Figures {
        score: (i % 101) as u32,
        exact: (i % 101) as f64,
        checklist_earned: i64::try_from(i % 66).unwrap(),
        checklist_possible: 65,
        worse_than_none: i.is_multiple_of(37),
        ended_seconds: 7200.0,
        objectives: vec![
            ObjectiveFigure {
                name: "detect".into(),
                target_seconds: 600.0,
                actual_seconds: Some(300.0 + (i % 600) as f64),
                met: i.is_multiple_of(2),
            },
            ObjectiveFigure {
                name: "mitigate".into(),
                target_seconds: 1800.0,
                actual_seconds: (!i.is_multiple_of(5)).then_some(1500.0),
                met: i.is_multiple_of(3),
            },
        ],
        tasks: roles
            .iter()
            .zip(tasks)
            .enumerate()
            .map(|(k, (role, task))| TaskFigure {
                role: (*role).into(),
                task: task.into(),
                status: ["on_time", "late", "missed"][(i + k) % 3].into(),
                points: 10,
                earned: 5,
                done_seconds: Some(600.0),
            })
            .collect(),
        timings: [
            "page",
            "detect",
            "acknowledge",
            "act",
            "diagnose",
            "mitigate",
            "resolve",
        ]
        .iter()
        .map(|name| TimingFigure {
            name: (*name).into(),
            seconds: Some(420.0),
            target_seconds: None,
        })
        .collect(),
        harm: HarmFigure {
            arrived: 1_000_000,
            failed: 10,
            rejected: 20_000,
            degraded: 20_000,
            wrong_answers: 15_000,
            harmed: 55_010,
            page_breach_minutes: 12.5,
            no_response_harmed: 270_000,
        },
    }
}

fn filled_store(dir: &std::path::Path) -> Store {
    let text = include_str!("../drills/monday-rush.ron");
    let drill = parse_str(text).expect("monday-rush loads");
    let path = dir.join("history.sqlite3");
    let _ = std::fs::remove_file(&path);
    let mut store = Store::open(&path).expect("the store opens");
    for i in 0..SESSIONS {
        let header = Header::new(text, &drill, i as u64, ClockMode::Turns, 1.0);
        let lines: Vec<Line> = ["ack", "declare sev2", "throttle rps=150", "end"]
            .iter()
            .enumerate()
            .map(|(k, input)| Line {
                at_ns: (k as u64 + 1) * 60_000_000_000,
                role: "ops".into(),
                input: (*input).into(),
                ..Line::default()
            })
            .collect();
        let transcript = history::transcript_text(&header, &lines);
        let played =
            PlayedAt::from_unix_ms(1_767_225_600_000 + i64::try_from(i).unwrap() * 3_600_000);
        let f = figures(i);
        store
            .add(&NewSession {
                transcript_sha256: &sha256_hex(&transcript),
                drill_name: ["monday-rush", "retry-storm", "token-blowup"][i % 3],
                drill_sha256: &header.drill_sha256,
                seed: i as u64,
                team: ["blue", "red", "green", "ops-east"][i % 4],
                played_at: played.as_str(),
                transcript: &transcript,
                people: &[("ops".into(), "Ana".into())],
                figures: &f,
            })
            .expect("a session is added");
    }
    store
}

fn list_ten_thousand(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("firedrill-bench-history-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = filled_store(&dir).path().to_owned();
    let mut group = c.benchmark_group("history");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("list 10 000 sessions as JSON", |b| {
        b.iter(|| {
            let mut store = Store::open_existing(&path).expect("the store opens");
            assert_eq!(
                history::rescore(&mut store)
                    .expect("nothing stale")
                    .recomputed,
                0
            );
            let rows = store
                .sessions(&Filter::default())
                .expect("the sessions list");
            assert_eq!(rows.len(), SESSIONS);
            black_box(serde_json::to_string_pretty(&rows).expect("rows serialise"))
        });
    });
    group.bench_function("list one team's 2 500 sessions", |b| {
        b.iter(|| {
            let store = Store::open_existing(&path).expect("the store opens");
            let filter = Filter {
                team: Some("red".into()),
                ..Filter::default()
            };
            black_box(store.sessions(&filter).expect("the sessions list"))
        });
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, list_ten_thousand);
criterion_main!(benches);
