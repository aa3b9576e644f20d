//! The history store through the binary: scripted teams play library drills on given dates
//! and are recorded; `history --json` and `history report --format json` must agree with
//! figures computed independently from each session's own debrief (`firedrill debrief
//! --format json`). Also: a writer killed mid-recording, two writers at once, migrations from
//! the first schema, a newer or damaged store refused and left untouched.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

fn firedrill(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("FIREDRILL_DB")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).expect("UTF-8 output")
}

fn dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("history")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// A scripted team that acknowledges late and does nothing else.
const LATE_ACK: &str = r#"[Say(at: After(FirstPage, "12m"), role: "ops", input: "ack")]"#;

/// One scripted session: who played which drill how, with which seed, on which day.
struct Plan {
    team: &'static str,
    drill: &'static str,
    /// `reference`, `late-ack` or a wrong response's name.
    how: &'static str,
    seed: u64,
    date: &'static str,
}

const PLANS: &[Plan] = &[
    Plan {
        team: "blue",
        drill: "monday-rush",
        how: "reference",
        seed: 7,
        date: "2026-01-05",
    },
    Plan {
        team: "blue",
        drill: "monday-rush",
        how: "reference",
        seed: 8,
        date: "2026-02-02",
    },
    Plan {
        team: "blue",
        drill: "monday-rush",
        how: "reference",
        seed: 9,
        date: "2026-03-02",
    },
    Plan {
        team: "red",
        drill: "monday-rush",
        how: "late-ack",
        seed: 7,
        date: "2026-01-06",
    },
    Plan {
        team: "red",
        drill: "monday-rush",
        how: "shrink-the-pool",
        seed: 7,
        date: "2026-02-03",
    },
    Plan {
        team: "blue",
        drill: "connection-leak",
        how: "reference",
        seed: 3,
        date: "2026-01-07",
    },
    Plan {
        team: "red",
        drill: "connection-leak",
        how: "reference",
        seed: 4,
        date: "2026-02-04",
    },
    Plan {
        team: "blue",
        drill: "token-blowup",
        how: "late-ack",
        seed: 5,
        date: "2026-01-08",
    },
    Plan {
        team: "red",
        drill: "token-blowup",
        how: "late-ack",
        seed: 8,
        date: "2026-03-03",
    },
];

/// The recorded sessions: the store, and for each plan its transcript and its debrief as
/// `firedrill debrief --format json` computes it.
struct Recorded {
    db: PathBuf,
    transcripts: Vec<PathBuf>,
    debriefs: Vec<Value>,
}

fn play_and_record(dir: &Path, db: &Path, i: usize, plan: &Plan) -> (PathBuf, Value) {
    let transcript = dir.join(format!("session-{i}.jsonl"));
    let seed = plan.seed.to_string();
    let mut args = vec![
        "play",
        plan.drill,
        "--quiet",
        "--seed",
        &seed,
        "--transcript",
        s(&transcript),
        "--team",
        plan.team,
        "--played-at",
        plan.date,
        "--db",
        s(db),
        "--people",
        "ops=Ana,ic=Bo",
    ];
    let responses = dir.join(format!("responses-{i}.ron"));
    match plan.how {
        "reference" => args.push("--reference"),
        "late-ack" => {
            std::fs::write(&responses, LATE_ACK).unwrap();
            args.extend(["--responses", s(&responses)]);
        }
        wrong => args.extend(["--wrong", wrong]),
    }
    let out = firedrill(&args);
    ok(&out);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("recorded as session"), "{said}");
    let debrief = ok(&firedrill(&["debrief", s(&transcript), "--format", "json"]));
    (
        transcript,
        serde_json::from_str(&debrief).expect("debrief JSON"),
    )
}

/// Plays every plan once (two at a time, one per core), recording each in one store.
fn recorded() -> &'static Recorded {
    static RECORDED: OnceLock<Recorded> = OnceLock::new();
    RECORDED.get_or_init(|| {
        let dir = dir("teams");
        let db = dir.join("history.sqlite3");
        let mut results: Vec<Option<(PathBuf, Value)>> = vec![None; PLANS.len()];
        for chunk in (0..PLANS.len()).collect::<Vec<_>>().chunks(2) {
            std::thread::scope(|scope| {
                let handles: Vec<_> = chunk
                    .iter()
                    .map(|&i| {
                        let (dir, db) = (&dir, &db);
                        (
                            i,
                            scope.spawn(move || play_and_record(dir, db, i, &PLANS[i])),
                        )
                    })
                    .collect();
                for (i, h) in handles {
                    results[i] = Some(h.join().expect("a session plays"));
                }
            });
        }
        let (transcripts, debriefs) = results.into_iter().map(Option::unwrap).unzip();
        Recorded {
            db,
            transcripts,
            debriefs,
        }
    })
}

fn interval(debrief: &Value, name: &str) -> Option<f64> {
    debrief["timings"]["intervals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .and_then(|i| i["seconds"].as_f64())
}

/// What `history` should say was missed, from a debrief.
fn missed(debrief: &Value) -> Vec<String> {
    let mut out: Vec<String> = debrief["objectives"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["met"] == false)
        .map(|o| format!("objective {}", o["name"].as_str().unwrap()))
        .collect();
    out.extend(
        debrief["checklists"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["status"] == "missed")
            .map(|t| {
                format!(
                    "task {}/{}",
                    t["role"].as_str().unwrap(),
                    t["id"].as_str().unwrap()
                )
            }),
    );
    out.sort();
    out
}

fn history_json(db: &Path, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["history", "--json", "--db", s(db)];
    args.extend(extra);
    serde_json::from_str::<Vec<Value>>(&ok(&firedrill(&args))).expect("history JSON")
}

#[test]
fn history_json_lists_each_recorded_session_with_its_debriefs_figures() {
    let r = recorded();
    let rows = history_json(&r.db, &[]);
    assert_eq!(rows.len(), PLANS.len());
    // Oldest first: by the date each was played.
    let mut order: Vec<usize> = (0..PLANS.len()).collect();
    order.sort_by_key(|&i| PLANS[i].date);
    for (row, &i) in rows.iter().zip(&order) {
        let (plan, d) = (&PLANS[i], &r.debriefs[i]);
        assert_eq!(row["team"], plan.team);
        assert_eq!(row["drill"], plan.drill);
        assert_eq!(row["played_at"], format!("{}T00:00:00Z", plan.date));
        assert_eq!(row["seed"], plan.seed.to_string());
        assert_eq!(row["score"], d["score"], "session {i}");
        let objectives = d["objectives"].as_array().unwrap();
        assert_eq!(row["objectives_total"], objectives.len());
        assert_eq!(
            row["objectives_met"],
            objectives.iter().filter(|o| o["met"] == true).count()
        );
        assert_eq!(row["detect_seconds"].as_f64(), interval(d, "detect"));
        assert_eq!(row["mitigate_seconds"].as_f64(), interval(d, "mitigate"));
        assert_eq!(
            row["acknowledge_seconds"].as_f64(),
            interval(d, "acknowledge")
        );
        let mut listed: Vec<String> = row["missed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap().to_owned())
            .collect();
        listed.sort();
        assert_eq!(listed, missed(d), "session {i}");
    }
    // The scripted teams differ: the late ack misses what the reference meets.
    let scores: Vec<u64> = rows.iter().map(|r| r["score"].as_u64().unwrap()).collect();
    assert!(scores.iter().max() > scores.iter().min(), "{scores:?}");

    // Filters.
    let red = history_json(&r.db, &["--team", "red"]);
    assert_eq!(red.len(), PLANS.iter().filter(|p| p.team == "red").count());
    assert!(red.iter().all(|r| r["team"] == "red"));
    let rush = history_json(&r.db, &["--drill", "monday-rush", "--since", "2026-02-01"]);
    let expected = PLANS
        .iter()
        .filter(|p| p.drill == "monday-rush" && p.date >= "2026-02-01")
        .count();
    assert_eq!(rush.len(), expected);
}

#[test]
fn history_show_gives_one_sessions_stored_figures_and_people() {
    let r = recorded();
    let rows = history_json(&r.db, &["--team", "red", "--drill", "token-blowup"]);
    let id = rows[0]["id"].as_i64().unwrap().to_string();
    let shown: Value = serde_json::from_str(&ok(&firedrill(&[
        "history",
        "show",
        &id,
        "--json",
        "--db",
        s(&r.db),
    ])))
    .unwrap();
    let i = PLANS
        .iter()
        .position(|p| p.team == "red" && p.drill == "token-blowup")
        .unwrap();
    let d = &r.debriefs[i];
    assert_eq!(shown["figures"]["score"], d["score"]);
    let tasks = shown["figures"]["tasks"].as_array().unwrap();
    let checklists = d["checklists"].as_array().unwrap();
    assert_eq!(tasks.len(), checklists.len());
    for (t, c) in tasks.iter().zip(checklists) {
        assert_eq!(
            (&t["role"], &t["task"], &t["status"]),
            (&c["role"], &c["id"], &c["status"])
        );
    }
    assert_eq!(
        shown["figures"]["harm"]["wrong_answers"],
        d["impact"]["wrong_answers"]
    );
    let people: Vec<(String, String)> = shown["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["role"].as_str().unwrap().into(),
                p["person"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(people.contains(&("ops".into(), "Ana".into())), "{people:?}");
    assert!(people.contains(&("ic".into(), "Bo".into())), "{people:?}");

    let text = ok(&firedrill(&["history", "show", &id, "--db", s(&r.db)]));
    assert!(
        text.contains("token-blowup") && text.contains("task ops/ack"),
        "{text}"
    );
    let none = firedrill(&["history", "show", "9999", "--db", s(&r.db)]);
    assert_eq!(none.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&none.stderr).contains("no session 9999"));
}

#[test]
fn history_debrief_writes_the_same_page_as_the_transcripts_debrief() {
    let r = recorded();
    let rows = history_json(&r.db, &["--team", "blue", "--drill", "connection-leak"]);
    let id = rows[0]["id"].as_i64().unwrap().to_string();
    let out = dir("history-debrief");
    let page = out.join("page.html");
    ok(&firedrill(&[
        "history",
        "debrief",
        &id,
        "-o",
        s(&page),
        "--db",
        s(&r.db),
    ]));
    let i = PLANS
        .iter()
        .position(|p| p.team == "blue" && p.drill == "connection-leak")
        .unwrap();
    let direct = ok(&firedrill(&["debrief", s(&r.transcripts[i])]));
    assert_eq!(std::fs::read_to_string(&page).unwrap(), direct);
    // Never over an existing file without --force.
    let again = firedrill(&["history", "debrief", &id, "-o", s(&page), "--db", s(&r.db)]);
    assert_eq!(again.status.code(), Some(2));
}

#[test]
fn adding_a_recorded_transcript_again_is_a_no_op() {
    let r = recorded();
    let before = history_json(&r.db, &[]);
    let out = firedrill(&[
        "history",
        "add",
        s(&r.transcripts[0]),
        "--team",
        "green",
        "--db",
        s(&r.db),
    ]);
    ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already recorded as session"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(history_json(&r.db, &[]), before);
}

/// Writes a finished session's transcript (the reference on the shortest drill).
fn one_transcript(dir: &Path, seed: &str) -> PathBuf {
    let transcript = dir.join(format!("t-{seed}.jsonl"));
    ok(&firedrill(&[
        "play",
        "token-blowup",
        "--reference",
        "--quiet",
        "--seed",
        seed,
        "--transcript",
        s(&transcript),
    ]));
    transcript
}

/// Starts `history add` with the test hook that pauses inside the transaction, and waits
/// until it says it paused.
fn paused_writer(db: &Path, transcript: &Path, pause_ms: &str) -> std::process::Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args([
            "history",
            "add",
            s(transcript),
            "--team",
            "blue",
            "--db",
            s(db),
        ])
        .env_remove("FIREDRILL_DB")
        .env("FIREDRILL_TEST_PAUSE_IN_RECORD_MS", pause_ms)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "the writer ended before pausing"
        );
        if line.contains("recording: paused") {
            break;
        }
    }
    // Keep draining its standard error so it never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    child
}

fn integrity(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_writer_killed_mid_recording_leaves_the_session_wholly_absent() {
    let dir = dir("sigkill");
    let db = dir.join("h.sqlite3");
    let transcript = one_transcript(&dir, "11");
    let mut child = paused_writer(&db, &transcript, "60000");
    child.kill().expect("SIGKILL");
    child.wait().unwrap();

    assert_eq!(integrity(&db), "ok");
    assert!(
        history_json(&db, &[]).is_empty(),
        "a half-recorded session is visible"
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    for table in [
        "sessions",
        "people",
        "scores",
        "objectives",
        "tasks",
        "timings",
        "harm",
    ] {
        let n: i64 = conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0, "{table} kept rows of the killed writer");
    }
    drop(conn);

    // Recording it again now records it whole.
    ok(&firedrill(&[
        "history",
        "add",
        s(&transcript),
        "--team",
        "blue",
        "--db",
        s(&db),
    ]));
    let rows = history_json(&db, &[]);
    assert_eq!(rows.len(), 1);
    let id = rows[0]["id"].as_i64().unwrap().to_string();
    let shown: Value = serde_json::from_str(&ok(&firedrill(&[
        "history",
        "show",
        &id,
        "--json",
        "--db",
        s(&db),
    ])))
    .unwrap();
    assert!(!shown["figures"]["tasks"].as_array().unwrap().is_empty());
    assert!(!shown["figures"]["timings"].as_array().unwrap().is_empty());
}

#[test]
fn a_second_writer_waits_for_the_first_instead_of_failing() {
    let dir = dir("two-writers");
    let db = dir.join("h.sqlite3");
    let (a, b) = (one_transcript(&dir, "21"), one_transcript(&dir, "22"));
    // The first holds the write lock for two seconds; the second must wait, then succeed.
    let first = paused_writer(&db, &a, "2000");
    ok(&firedrill(&[
        "history",
        "add",
        s(&b),
        "--team",
        "red",
        "--db",
        s(&db),
    ]));
    let status = first.wait_with_output().unwrap().status;
    assert!(status.success());
    let rows = history_json(&db, &[]);
    let teams: Vec<&str> = rows.iter().map(|r| r["team"].as_str().unwrap()).collect();
    assert_eq!(rows.len(), 2, "{teams:?}");
    assert!(teams.contains(&"blue") && teams.contains(&"red"));
}

#[test]
fn a_store_of_the_first_schema_opens_with_the_latest() {
    let dir = dir("migrate");
    let db = dir.join("old.sqlite3");
    let transcript = one_transcript(&dir, "31");
    // The store as the first schema made it, with one session recorded by it.
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(include_str!("../../migrations/0001_initial.sql"))
            .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        let text = std::fs::read_to_string(&transcript).unwrap();
        conn.execute(
            "INSERT INTO sessions (transcript_sha256, drill_name, drill_sha256, seed, team, \
             played_at, scoring_version, transcript) VALUES ('x', 'token-blowup', 'y', '31', \
             'old-team', '2025-12-01T00:00:00Z', 0, ?1)",
            [text],
        )
        .unwrap();
    }
    // Opening migrates it, and recomputes the figures of scoring version 0 from the transcript.
    let rows = history_json(&db, &[]);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["team"], "old-team");
    let direct: Value = serde_json::from_str(&ok(&firedrill(&[
        "debrief",
        s(&transcript),
        "--format",
        "json",
    ])))
    .unwrap();
    assert_eq!(rows[0]["score"], direct["score"]);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 2);
    let overview: i64 = conn
        .query_row("SELECT count(*) FROM session_overview", [], |r| r.get(0))
        .unwrap();
    assert_eq!(overview, 1);
}

#[test]
fn a_store_from_a_newer_firedrill_is_refused_and_left_untouched() {
    let dir = dir("newer");
    let db = dir.join("new.sqlite3");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "CREATE TABLE sessions (id INTEGER PRIMARY KEY); PRAGMA user_version = 99;",
        )
        .unwrap();
    }
    let before = std::fs::read(&db).unwrap();
    for args in [
        vec!["history", "--db", s(&db)],
        vec![
            "history",
            "add",
            "drills/monday-rush.ron",
            "--team",
            "x",
            "--db",
            s(&db),
        ],
    ] {
        let out = firedrill(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("newer firedrill") && err.contains("schema version 99"),
            "{err}"
        );
    }
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

#[test]
fn a_damaged_store_is_refused_and_left_untouched() {
    let dir = dir("damaged");
    let db = dir.join("damaged.sqlite3");
    let junk: Vec<u8> = (0..8192u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&db, &junk).unwrap();
    let out = firedrill(&["history", "--db", s(&db)]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not a firedrill history store"), "{err}");
    assert_eq!(std::fs::read(&db).unwrap(), junk);
    assert!(!dir.join("damaged.sqlite3-wal").exists());

    let missing = firedrill(&["history", "--db", s(&dir.join("none.sqlite3"))]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no history store"));
    assert!(!dir.join("none.sqlite3").exists());
}
