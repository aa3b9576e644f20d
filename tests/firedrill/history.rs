//! The history store through the binary: scripted teams play library drills on given dates
//! and are recorded; `history --json` and `history report --format json` must agree with
//! figures computed independently from each session's own debrief (`firedrill debrief
//! --format json`). Also: a writer killed mid-recording, two writers at once, migrations from
//! the first schema, a newer or damaged store refused and left untouched.

use std::collections::BTreeMap;
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

/// The median, as the report defines it (the mean of the middle two for an even count).
fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        f64::midpoint(v[n / 2 - 1], v[n / 2])
    }
}

fn met_all(debrief: &Value) -> bool {
    debrief["objectives"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["met"] == true)
}

fn score(debrief: &Value) -> f64 {
    debrief["score"].as_f64().unwrap()
}

fn report_json(db: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["history", "report", "--format", "json", "--db", s(db)];
    args.extend(extra);
    serde_json::from_str(&ok(&firedrill(&args))).expect("report JSON")
}

#[test]
fn history_report_json_agrees_with_the_sessions_own_debriefs() {
    let r = recorded();
    let report = report_json(&r.db, &[]);
    assert_eq!(report["sessions"], PLANS.len());
    assert_eq!(report["as_of"], "2026-03-03", "the newest session's day");

    // Per team, per drill: each session's score in date order, the median, the share met.
    for team in ["blue", "red"] {
        let t = report["teams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["team"] == team)
            .unwrap();
        let mut drills: Vec<&str> = PLANS
            .iter()
            .filter(|p| p.team == team)
            .map(|p| p.drill)
            .collect();
        drills.sort_unstable();
        drills.dedup();
        let listed: Vec<&str> = t["drills"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["drill"].as_str().unwrap())
            .collect();
        assert_eq!(listed, drills);
        for d in t["drills"].as_array().unwrap() {
            let mut mine: Vec<usize> = (0..PLANS.len())
                .filter(|&i| PLANS[i].team == team && PLANS[i].drill == d["drill"])
                .collect();
            mine.sort_by_key(|&i| PLANS[i].date);
            let scores: Vec<f64> = mine.iter().map(|&i| score(&r.debriefs[i])).collect();
            let points: Vec<f64> = d["points"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["score"].as_f64().unwrap())
                .collect();
            assert_eq!(points, scores, "{team} {}", d["drill"]);
            assert_eq!(d["median_score"].as_f64().unwrap(), median(&scores));
            let met = mine.iter().filter(|&&i| met_all(&r.debriefs[i])).count();
            assert_eq!(
                d["share_met"].as_f64().unwrap(),
                met as f64 / mine.len() as f64
            );
            for (p, &i) in d["points"].as_array().unwrap().iter().zip(&mine) {
                assert_eq!(
                    p["detect_seconds"].as_f64(),
                    interval(&r.debriefs[i], "detect")
                );
                assert_eq!(
                    p["mitigate_seconds"].as_f64(),
                    interval(&r.debriefs[i], "mitigate")
                );
            }
        }
        // Each role's hit rate: tasks on time over tasks, over the team's debriefs.
        let mut expected: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for (i, p) in PLANS.iter().enumerate() {
            if p.team != team {
                continue;
            }
            for task in r.debriefs[i]["checklists"].as_array().unwrap() {
                let e = expected
                    .entry(task["role"].as_str().unwrap().to_owned())
                    .or_default();
                e.0 += 1;
                e.1 += usize::from(task["status"] == "on_time");
            }
        }
        let roles: BTreeMap<String, (usize, usize, f64)> = t["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["role"].as_str().unwrap().to_owned(),
                    (
                        r["tasks"].as_u64().unwrap() as usize,
                        r["on_time"].as_u64().unwrap() as usize,
                        r["hit_rate"].as_f64().unwrap(),
                    ),
                )
            })
            .collect();
        assert_eq!(roles.len(), expected.len());
        for (role, (tasks, on_time)) in &expected {
            let (t2, o2, rate) = roles[role];
            assert_eq!((t2, o2), (*tasks, *on_time), "{team} {role}");
            assert_eq!(rate, *on_time as f64 / *tasks as f64);
        }
    }

    // Measured difficulty: only monday-rush has five sessions.
    let rush: Vec<usize> = (0..PLANS.len())
        .filter(|&i| PLANS[i].drill == "monday-rush")
        .collect();
    assert!(rush.len() >= 5);
    for d in report["drills"].as_array().unwrap() {
        if d["drill"] == "monday-rush" {
            let m = &d["measured"];
            let scores: Vec<f64> = rush.iter().map(|&i| score(&r.debriefs[i])).collect();
            assert_eq!(m["median_score"].as_f64().unwrap(), median(&scores));
            let met = rush.iter().filter(|&&i| met_all(&r.debriefs[i])).count();
            assert_eq!(
                m["share_met"].as_f64().unwrap(),
                met as f64 / rush.len() as f64
            );
            assert_eq!(d["difficulty"], 1, "the author's header");
        } else {
            assert!(d["measured"].is_null(), "{}", d["drill"]);
        }
    }

    // Suggestions, by the report's rule applied to the debriefs: every team that played a
    // drill met every objective every time with a median of 80 or more (harder), or every
    // team met them in under half its sessions or had a median under 50 (training).
    let mut expected = Vec::new();
    let mut drills: Vec<&str> = PLANS.iter().map(|p| p.drill).collect();
    drills.sort_unstable();
    drills.dedup();
    for drill in drills {
        let mut per_team = Vec::new();
        for team in ["blue", "red"] {
            let mine: Vec<usize> = (0..PLANS.len())
                .filter(|&i| PLANS[i].team == team && PLANS[i].drill == drill)
                .collect();
            if mine.is_empty() {
                continue;
            }
            let scores: Vec<f64> = mine.iter().map(|&i| score(&r.debriefs[i])).collect();
            let share = mine.iter().filter(|&&i| met_all(&r.debriefs[i])).count() as f64
                / mine.len() as f64;
            per_team.push((median(&scores), share));
        }
        if per_team.iter().all(|(m, s)| *s >= 1.0 && *m >= 80.0) {
            expected.push((drill.to_owned(), "harder".to_owned()));
        } else if per_team.iter().all(|(m, s)| *s < 0.5 || *m < 50.0) {
            expected.push((drill.to_owned(), "training".to_owned()));
        }
    }
    let suggested: Vec<(String, String)> = report["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["drill"].as_str().unwrap().to_owned(),
                g["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(suggested, expected);
    // The scripted teams were chosen so that both verdicts occur.
    assert!(
        suggested.iter().any(|(_, k)| k == "harder"),
        "{suggested:?}"
    );
    assert!(
        suggested.iter().any(|(_, k)| k == "training"),
        "{suggested:?}"
    );
}

#[test]
fn history_report_lists_drills_never_played_or_not_for_ninety_days() {
    let r = recorded();
    let as_of = "2026-06-01";
    let report = report_json(&r.db, &["--as-of", as_of, "--team", "red"]);
    let teams = report["teams"].as_array().unwrap();
    assert_eq!(teams.len(), 1, "--team keeps one team");
    let due: BTreeMap<String, Value> = teams[0]["due"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["drill"].as_str().unwrap().to_owned(),
                d["days_since"].clone(),
            )
        })
        .collect();
    // Expected: days from each drill's last red session to the day of the report.
    let day = |date: &str| {
        let ms = firedrill::export::time::parse_rfc3339_ms(&format!("{date}T00:00:00Z")).unwrap();
        ms / 86_400_000
    };
    for (name, _) in firedrill::drill::library::BUILTIN {
        let last = PLANS
            .iter()
            .filter(|p| p.team == "red" && p.drill == *name)
            .map(|p| p.date)
            .max();
        match last {
            None => assert_eq!(due.get(*name), Some(&Value::Null), "{name} never played"),
            Some(date) => {
                let days = day(as_of) - day(date);
                if days >= 90 {
                    assert_eq!(due[*name], days, "{name}");
                } else {
                    assert!(!due.contains_key(*name), "{name} played {days} days before");
                }
            }
        }
    }
    // Something is due for a reason other than never having been played.
    assert!(due.values().any(|v| !v.is_null()), "{due:?}");
}

#[test]
fn list_shows_measured_difficulty_from_the_store_and_never_creates_one() {
    let r = recorded();
    let out = ok(&firedrill(&["list", "--db", s(&r.db)]));
    let rush = &out[out.find("monday-rush").unwrap()..];
    let rush = &rush[..rush.find("\n\n").unwrap()];
    assert!(rush.contains("difficulty: 1/5"), "{rush}");
    assert!(rush.contains("measured over 5 recorded sessions"), "{rush}");
    let token = &out[out.find("\ntoken-blowup").unwrap()..];
    let token = &token[..token.find("\n\n").unwrap()];
    assert!(
        !token.contains("measured"),
        "two sessions are not enough: {token}"
    );

    let none = dir("list-no-store").join("absent.sqlite3");
    let plain = ok(&firedrill(&["list", "--db", s(&none)]));
    assert!(!plain.contains("measured"));
    assert!(!none.exists(), "list created a store");
}

#[test]
fn the_history_report_renders_in_a_real_browser_with_its_charts_and_escaped_names() {
    let r = recorded();
    let out = dir("report-page");
    // A team with markup in its name, in a store of its own.
    let db = out.join("h.sqlite3");
    std::fs::copy(&r.db, &db).unwrap();
    let transcript = one_transcript(&out, "41");
    ok(&firedrill(&[
        "history",
        "add",
        s(&transcript),
        "--team",
        "<img src=x onerror=alert(1)>",
        "--played-at",
        "2026-03-04",
        "--db",
        s(&db),
    ]));
    let page = out.join("trends.html");
    ok(&firedrill(&[
        "history",
        "report",
        "-o",
        s(&page),
        "--db",
        s(&db),
    ]));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains("<img"),
        "a team name reached the page unescaped"
    );
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    for outside in [
        "http://", "https://", "src=\"", "href=\"", "@import", "url(",
    ] {
        assert!(
            !html.contains(outside),
            "the page refers outside: {outside}"
        );
    }
    // One score chart, one timings chart per team and drill, one roles chart per team.
    let charts = html.matches("<svg class=\"chart\"").count();
    // blue and red played three drills each; the third team one.
    assert_eq!(charts, (1 + 3 + 1) * 2 + (1 + 1 + 1));

    let Some(chromium) = crate::tools::chromium(
        "the_history_report_renders_in_a_real_browser_with_its_charts_and_escaped_names",
    ) else {
        return;
    };
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("history-report-screenshot.png");
    let profile = out.join("chromium-profile");
    let (pixels, channels) = crate::browser::screenshot(chromium, &page, &shot, &profile, 2400);
    let pixels = &pixels[..];
    // Chart lines, points and bars are the page's strongly coloured pixels.
    let coloured = crate::browser::coloured_pixels(pixels, channels);
    let total = pixels.len() / channels;
    assert!(
        coloured > total / 200,
        "only {coloured} of {total} pixels are coloured: the charts did not render"
    );
}

fn run_live(args: &[&str], script: &str) -> Output {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("FIREDRILL_DB")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    // A run refused before it reads its input closes the pipe: that is not an error here.
    let _ = child.stdin.take().unwrap().write_all(script.as_bytes());
    child.wait_with_output().unwrap()
}

fn stored_transcripts(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT transcript FROM sessions ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn run_records_the_finished_session_it_played_with_team_and_not_with_no_record() {
    let out = dir("run-records");
    let script = "wait until page\nops: ack\nic: declare sev2\nwait 10m\nend\n";
    // With a transcript file: the store keeps that file's text.
    let (db1, transcript) = (out.join("one.sqlite3"), out.join("live.jsonl"));
    let live = run_live(
        &[
            "run",
            "token-blowup",
            "--clock",
            "turns",
            "--transcript",
            s(&transcript),
            "--team",
            "night shift",
            "--played-at",
            "2026-04-01T22:15:00+02:00",
            "--db",
            s(&db1),
        ],
        script,
    );
    ok(&live);
    let file = std::fs::read_to_string(&transcript).unwrap();
    assert_eq!(stored_transcripts(&db1), vec![file.clone()]);
    let rows = history_json(&db1, &[]);
    assert_eq!(rows[0]["team"], "night shift");
    assert_eq!(rows[0]["played_at"], "2026-04-01T20:15:00Z", "kept in UTC");
    let direct: Value = serde_json::from_str(&ok(&firedrill(&[
        "debrief",
        s(&transcript),
        "--format",
        "json",
    ])))
    .unwrap();
    assert_eq!(rows[0]["score"], direct["score"]);

    // Without one: the store keeps the same transcript, rebuilt from the session.
    let db2 = out.join("two.sqlite3");
    ok(&run_live(
        &[
            "run",
            "token-blowup",
            "--clock",
            "turns",
            "--team",
            "night shift",
            "--db",
            s(&db2),
        ],
        script,
    ));
    assert_eq!(stored_transcripts(&db2), vec![file]);

    // --no-record: no store at all.
    let db3 = out.join("three.sqlite3");
    ok(&run_live(
        &[
            "run",
            "token-blowup",
            "--clock",
            "turns",
            "--team",
            "night shift",
            "--no-record",
            "--db",
            s(&db3),
        ],
        script,
    ));
    assert!(!db3.exists());

    // A bad --played-at or --people is refused before the session starts.
    let bad = run_live(
        &[
            "run",
            "token-blowup",
            "--team",
            "x",
            "--played-at",
            "yesterday",
            "--db",
            s(&db3),
        ],
        script,
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid date"));
    let bad = run_live(
        &[
            "run",
            "token-blowup",
            "--team",
            "x",
            "--people",
            "ops",
            "--db",
            s(&db3),
        ],
        script,
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("ROLE=NAME"));
    assert!(!db3.exists(), "a refused run created the store");
    let bad = run_live(
        &[
            "run",
            "token-blowup",
            "--team",
            "x",
            "--people",
            "pilot=Ana",
            "--db",
            s(&db3),
        ],
        script,
    );
    assert_eq!(bad.status.code(), Some(2));
    let said = String::from_utf8_lossy(&bad.stderr);
    assert!(
        said.contains("no role `pilot`") && said.contains("ops"),
        "{said}"
    );
    assert!(
        String::from_utf8_lossy(&bad.stdout).is_empty(),
        "the session started"
    );
}

#[test]
fn firedrill_db_names_the_store_and_the_report_comes_as_markdown_too() {
    let r = recorded();
    let through_env = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(["history", "--json"])
        .env("FIREDRILL_DB", &r.db)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let rows: Vec<Value> = serde_json::from_str(&ok(&through_env)).unwrap();
    assert_eq!(rows, history_json(&r.db, &[]));

    let md = ok(&firedrill(&[
        "history",
        "report",
        "--format",
        "md",
        "--db",
        s(&r.db),
    ]));
    let json = report_json(&r.db, &[]);
    for team in json["teams"].as_array().unwrap() {
        assert!(md.contains(&format!("## Team {}", team["team"].as_str().unwrap())));
    }
    for g in json["suggestions"].as_array().unwrap() {
        assert!(
            md.contains(&format!("- **{}**:", g["drill"].as_str().unwrap())),
            "{md}"
        );
    }
    // The same store gives the same report, byte for byte.
    let again = ok(&firedrill(&[
        "history",
        "report",
        "--format",
        "md",
        "--db",
        s(&r.db),
    ]));
    assert_eq!(md, again);
}

/// A copy of a recorded store with every page after the first (which holds the schema) made
/// junk; `wal` leaves it in WAL mode as firedrill keeps its stores, else in SQLite's default.
fn damaged_copy(out: &Path, wal: bool) -> (PathBuf, Vec<u8>) {
    let db = out.join(format!("copy-wal-{wal}.sqlite3"));
    {
        let conn = rusqlite::Connection::open(&recorded().db).unwrap();
        conn.execute("VACUUM INTO ?1", [s(&db)]).unwrap();
    }
    if wal {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }
    let mut bytes = std::fs::read(&db).unwrap();
    let page = usize::from(u16::from_be_bytes([bytes[16], bytes[17]]));
    assert!(bytes.len() > 2 * page);
    for (i, b) in bytes.iter_mut().enumerate().skip(page) {
        *b = (i * 31 % 253) as u8;
    }
    std::fs::write(&db, &bytes).unwrap();
    (db, bytes)
}

#[test]
fn a_store_with_damaged_pages_is_refused_with_a_message_and_left_untouched() {
    let out = dir("damaged-pages");
    let transcript = s(&recorded().transcripts[0]).to_owned();
    for wal in [true, false] {
        let (db, bytes) = damaged_copy(&out, wal);
        for args in [
            vec!["history", "--db", s(&db)],
            vec!["history", "report", "--format", "json", "--db", s(&db)],
            vec!["history", "add", &transcript, "--team", "x", "--db", s(&db)],
        ] {
            let o = firedrill(&args);
            assert_eq!(o.status.code(), Some(2), "{args:?}");
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(
                err.contains("damaged") || err.contains("malformed"),
                "{args:?}: {err}"
            );
            assert!(!err.contains("panicked"), "{err}");
        }
        assert!(
            std::fs::read(&db).unwrap() == bytes,
            "the damaged store (WAL: {wal}) was written"
        );
    }
}

#[test]
fn writers_creating_a_new_store_at_once_all_find_it_whole() {
    let out = dir("creators");
    // Not a transcript: each writer opens (creating and migrating) the store, then refuses
    // the file. Opening must never fail because another writer is creating the store.
    let junk = out.join("not-a-transcript.jsonl");
    std::fs::write(&junk, "{\"x\": 1}\n").unwrap();
    for round in 0..40 {
        let db = out.join(format!("new-{round}.sqlite3"));
        let writers: Vec<_> = (0..12)
            .map(|_| {
                Command::new(env!("CARGO_BIN_EXE_firedrill"))
                    .args(["history", "add", s(&junk), "--team", "t", "--db", s(&db)])
                    .env_remove("FIREDRILL_DB")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for w in writers {
            let o = w.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(1), "round {round}: {err}");
            assert!(
                err.contains("not a firedrill transcript header"),
                "round {round}: {err}"
            );
        }
        let conn = rusqlite::Connection::open(&db).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, 2);
    }
}
