//! Calibration, the drill library and `firedrill new` (issue 5), through the binary: the same
//! JSON whatever `--jobs` is, shards that merge into the unsharded report, merges that refuse
//! mismatched shards, verdicts that fail (exit 1, named), `list`, and a `new` drill that
//! passes `check` and `calibrate`.
//!
//! Runs are few (monday-rush takes a fraction of a second per run in the test profile); the
//! merge cases use the small mini-rush drill.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

const MONDAY: &str = "drills/monday-rush.ron";
const MINI: &str = "tests/data/mini-rush.ron";
const NEVER_FIRES: &str = "tests/data/never-fires.ron";

fn firedrill(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("firedrill runs")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("an exit code")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn temp(name: &str) -> PathBuf {
    crate::temp_file("calibrate", name)
}

/// `calibrate --json ARGS`: the report, with `wall_seconds` taken out (and checked present).
fn calibrate_json(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["calibrate", "--json"];
    all.extend_from_slice(args);
    let out = firedrill(&all);
    let mut value: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("JSON from {all:?}: {e}\n{}", stderr(&out)));
    let wall = value
        .as_object_mut()
        .and_then(|o| o.remove("wall_seconds"))
        .expect("wall_seconds");
    assert!(wall.as_f64().is_some_and(|w| w >= 0.0));
    (code(&out), value)
}

/// The one wall-clock figure is `wall_seconds`: no other key mentions time on the wall.
fn assert_no_wall_clock(value: &Value) {
    let text = value.to_string();
    for word in ["wall", "elapsed", "duration_ms", "timestamp"] {
        assert!(!text.contains(word), "`{word}` in the report");
    }
}

#[test]
fn monday_rush_gives_the_same_report_whatever_the_jobs() {
    let (code1, one) = calibrate_json(&[MONDAY, "--runs", "8", "--jobs", "1"]);
    let (code2, two) = calibrate_json(&[MONDAY, "--runs", "8", "--jobs", "2"]);
    assert_eq!(one, two);
    assert_eq!(code1, code2);
    assert_no_wall_clock(&one);
    assert_eq!(one["seeds_run"], 8);
    let seeds: Vec<u64> = one["seed_runs"]
        .as_array()
        .expect("seed_runs")
        .iter()
        .map(|r| r["seed"].as_u64().expect("a seed"))
        .collect();
    assert_eq!(seeds, (1..=8).collect::<Vec<_>>());
    // The drill this project was founded on: the surge (its cause) pages, the reference
    // recovers.
    let verdict = |check: &str| {
        one["verdicts"]
            .as_array()
            .expect("verdicts")
            .iter()
            .find(|v| v["check"] == check)
            .cloned()
            .expect("the verdict")
    };
    assert_eq!(verdict("cause_paged")["pass"], true);
    assert_eq!(verdict("early_page")["pass"], true);
    assert_eq!(verdict("reference_recovers")["pass"], true);
}

#[test]
fn four_shards_merge_into_the_unsharded_report() {
    let (whole_code, whole) = calibrate_json(&[MINI, "--runs", "8", "--seed-start", "5"]);
    assert_eq!(whole_code, 0, "mini-rush calibrates clean");
    let mut files = Vec::new();
    for k in 1..=4 {
        let shard = format!("{k}/4");
        let out = firedrill(&[
            "calibrate",
            MINI,
            "--runs",
            "8",
            "--seed-start",
            "5",
            "--shard",
            &shard,
            "--json",
            "--jobs",
            "1",
        ]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let part: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(part["seeds_run"], 2);
        let path = temp(&format!("mini-shard-{k}.json"));
        std::fs::write(&path, &out.stdout).expect("write the shard");
        files.push(path);
    }
    // In any order.
    files.reverse();
    let paths: Vec<&str> = files.iter().map(|p| p.to_str().expect("utf-8")).collect();
    let mut args = vec!["--merge"];
    args.extend(&paths);
    let (merged_code, merged) = calibrate_json(&args);
    assert_eq!(merged, whole);
    assert_eq!(merged_code, whole_code);

    // The text report of a merge is the unsharded one's, but for the time taken.
    let mut text_args = vec!["calibrate", "--merge"];
    text_args.extend(&paths);
    let text = stdout(&firedrill(&text_args));
    let mut whole_report = whole.clone();
    whole_report["wall_seconds"] = 0.0.into();
    let unsharded = serde_json::from_value::<firedrill::calibrate::Calibration>(whole_report)
        .expect("the report reads back")
        .render_text();
    // The first line says how long it took.
    let without_time = |t: &str| t.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(without_time(&text), without_time(&unsharded));

    merge_refuses_mismatched_shards(&files);
}

/// Each case edits the shards' JSON and names what `--merge` must say.
fn merge_refuses_mismatched_shards(files: &[PathBuf]) {
    let shards: Vec<Value> = files
        .iter()
        .map(|f| serde_json::from_str(&std::fs::read_to_string(f).expect("read")).expect("JSON"))
        .collect();
    let cases: Vec<(&str, Vec<Value>, &str)> = vec![
        ("missing", shards[..3].to_vec(), "missing shard"),
        (
            "twice",
            vec![
                shards[0].clone(),
                shards[0].clone(),
                shards[1].clone(),
                shards[2].clone(),
            ],
            "is given twice",
        ),
        (
            "seed-start",
            edit(&shards, 1, |v| v["plan"]["seed_start"] = 6.into()),
            "must share --runs, --seed-start and N",
        ),
        (
            "drill",
            edit(&shards, 2, |v| {
                v["drill"]["sha256"] = "0123456789abcdef".into();
            }),
            "must come from the same drill file",
        ),
        (
            "format",
            edit(&shards, 0, |v| v["calibration_format"] = 99.into()),
            "calibration format 99",
        ),
        (
            "seeds",
            edit(&shards, 3, |v| v["seed_runs"][0]["seed"] = 1000.into()),
            "are not exactly seeds 5..=12",
        ),
    ];
    for (name, parts, message) in cases {
        let paths: Vec<String> = parts
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let p = temp(&format!("bad-{name}-{i}.json"));
                std::fs::write(&p, v.to_string()).expect("write");
                p.to_string_lossy().into_owned()
            })
            .collect();
        let mut args = vec!["calibrate", "--merge"];
        args.extend(paths.iter().map(String::as_str));
        let out = firedrill(&args);
        assert_eq!(code(&out), 2, "{name}");
        assert!(stderr(&out).contains(message), "{name}: {}", stderr(&out));
    }
}

fn edit(shards: &[Value], i: usize, f: impl Fn(&mut Value)) -> Vec<Value> {
    let mut out = shards.to_vec();
    f(&mut out[i]);
    out
}

#[test]
fn an_alert_that_never_fires_fails_its_verdict() {
    let out = firedrill(&["calibrate", NEVER_FIRES, "--runs", "4"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("FAIL  alert NeverFires fires in 0% of runs with no team"),
        "{text}"
    );
    assert!(text.contains("1 of 8 verdicts fail."), "{text}");
    let (json_code, json) = calibrate_json(&[NEVER_FIRES, "--runs", "4"]);
    assert_eq!(json_code, 1);
    assert_eq!(json["pass"], false);
    let failed: Vec<&Value> = json["verdicts"]
        .as_array()
        .expect("verdicts")
        .iter()
        .filter(|v| v["pass"] == false)
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["check"], "alert_fires");
    assert_eq!(failed[0]["subject"], "NeverFires");
}

#[test]
fn calibrate_rejects_bad_arguments() {
    let cases: &[(&[&str], &str)] = &[
        (&[MINI, "--runs", "0"], "--runs must be at least 1"),
        (&[MINI, "--shard", "5/4"], "is not a shard"),
        (&[MINI, "--shard", "0/4"], "is not a shard"),
        (&[MINI, "--shard", "two"], "is not a shard"),
        (&[MINI, "--runs", "2", "--shard", "3/4"], "has no seeds"),
        (&[MINI, "--jobs", "0"], "--jobs must be at least 1"),
        (
            &[MINI, "--seed-start", "18446744073709551615", "--runs", "2"],
            "past the largest seed",
        ),
        (&[], "FILE"),
        (&["--merge", "a.json", "--runs", "3"], "cannot be used with"),
    ];
    for (args, message) in cases {
        let mut all = vec!["calibrate"];
        all.extend_from_slice(args);
        let out = firedrill(&all);
        assert_eq!(code(&out), 2, "{args:?}");
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn a_new_drill_passes_check_and_calibrate() {
    let path = temp("checkout-slowdown.ron");
    let _ = std::fs::remove_file(&path);
    let p = path.to_str().expect("utf-8");
    let out = firedrill(&["new", "checkout-slowdown", "-o", p]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = std::fs::read_to_string(&path).expect("written");
    assert!(text.contains("name: \"checkout-slowdown\""));
    assert!(text.contains("title: \"Checkout slowdown\""));
    let meta = firedrill::drill::library::Meta::of(&text);
    assert!(
        meta.teaches.is_some() && meta.difficulty.is_some(),
        "{meta:?}"
    );

    let check = firedrill(&["check", p]);
    assert_eq!(code(&check), 0, "{}{}", stdout(&check), stderr(&check));
    let calibrate = firedrill(&["calibrate", p, "--runs", "10"]);
    assert_eq!(code(&calibrate), 0, "{}", stdout(&calibrate));

    // Never over an existing file; never a name that is not a slug.
    let again = firedrill(&["new", "checkout-slowdown", "-o", p]);
    assert_eq!(code(&again), 2);
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    assert_eq!(std::fs::read_to_string(&path).expect("still there"), text);
    for bad in ["Checkout", "checkout_slowdown", "x-", "a--b"] {
        let out = firedrill(&["new", bad, "-o", "-"]);
        assert_eq!(code(&out), 2, "{bad}");
        assert!(stderr(&out).contains("is not a drill name"), "{bad}");
    }
    assert_eq!(stdout(&firedrill(&["new", "x", "-o", "-"])), text_of("x"));
}

fn text_of(name: &str) -> String {
    firedrill::drill::library::new_drill(name).expect("a slug")
}

#[test]
fn list_shows_the_built_in_drills() {
    let out = firedrill(&["list"]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    for (name, drill) in firedrill::drill::library::BUILTIN {
        assert!(text.contains(&format!("{name}\n")), "{name} in\n{text}");
        let title = firedrill::drill::load_str(name, drill)
            .expect("a built-in drill loads")
            .title;
        assert!(text.contains(&title), "{title}");
        if Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("drills/{name}.ron"))
            .is_file()
        {
            assert!(text.contains(&format!("file: drills/{name}.ron")), "{text}");
        }
    }
    assert!(text.contains("Calibration not run"), "{text}");
}

#[test]
fn alerts_expected_quiet_or_either_get_the_verdict_they_ask_for() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(NEVER_FIRES))
        .expect("the fixture");
    let with = |alert: &str, expect: &str| {
        let summary = format!("Alert(name: \"{alert}\",");
        assert!(text.contains(&summary), "{alert} in the fixture");
        text.replace(
            &summary,
            &format!("Alert(name: \"{alert}\", expect: {expect},"),
        )
    };
    let write = |name: &str, drill: &str| {
        let path = temp(name);
        std::fs::write(&path, drill).expect("write the drill");
        path
    };

    // The alert that never fires, said to stay quiet: its verdict passes, and so does the run.
    let quiet = write("quiet.ron", &with("NeverFires", "Quiet"));
    let out = firedrill(&["calibrate", quiet.to_str().unwrap(), "--runs", "4"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let text_out = stdout(&out);
    assert!(
        text_out
            .contains("ok    alert NeverFires fires in 0% of runs with no team (expected quiet"),
        "{text_out}"
    );
    assert!(text_out.contains("(expected quiet)"), "{text_out}");

    // Said to fire or not: it gets no verdict at all.
    let either = write("either.ron", &with("NeverFires", "Either"));
    let (code_either, json) = calibrate_json(&[either.to_str().unwrap(), "--runs", "4"]);
    assert_eq!(code_either, 0);
    let verdicts = json["verdicts"].as_array().expect("verdicts");
    assert_eq!(verdicts.len(), 7, "{verdicts:?}");
    assert!(verdicts.iter().all(|v| v["subject"] != "NeverFires"));
    assert_eq!(json["alerts"][3]["expect"], "either");

    // A page that does fire, said to stay quiet: that verdict fails, by name.
    let loud = write("loud.ron", &with("LatencyHigh", "Quiet"));
    let (code_loud, json) = calibrate_json(&[loud.to_str().unwrap(), "--runs", "4"]);
    assert_eq!(code_loud, 1);
    let failed: Vec<&Value> = json["verdicts"]
        .as_array()
        .expect("verdicts")
        .iter()
        .filter(|v| v["pass"] == false)
        .collect();
    let named: Vec<(&str, &str)> = failed
        .iter()
        .map(|v| {
            (
                v["check"].as_str().unwrap(),
                v["subject"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(named.contains(&("alert_quiet", "LatencyHigh")), "{named:?}");
}

/// mini-rush with `replace` applied to its text, written to a temporary file.
fn mini_edited(name: &str, find: &str, replace: &str) -> PathBuf {
    let text = std::fs::read_to_string(MINI).expect("mini-rush");
    assert!(text.contains(find), "`{find}` is not in mini-rush");
    let path = temp(name);
    std::fs::write(&path, text.replacen(find, replace, 1)).expect("write");
    path
}

fn verdict<'a>(json: &'a Value, check: &str, subject: Option<&str>) -> &'a Value {
    json["verdicts"]
        .as_array()
        .expect("verdicts")
        .iter()
        .find(|v| v["check"] == check && subject.is_none_or(|s| v["subject"] == s))
        .unwrap_or_else(|| panic!("no verdict {check} {subject:?}: {json:#}"))
}

#[test]
fn monday_rush_wrong_response_fails_and_its_reference_harms_fewer_than_none() {
    let (code, json) = calibrate_json(&[MONDAY, "--runs", "2"]);
    assert_eq!(code, 0, "{json:#}");
    let helps = verdict(&json, "reference_helps", None);
    assert_eq!(helps["pass"], true, "{helps:#}");
    let wrong = verdict(&json, "wrong_response_fails", Some("shrink-the-pool"));
    assert_eq!(wrong["pass"], true, "{wrong:#}");
    let stats = &json["wrong_responses"][0];
    assert_eq!(stats["name"], "shrink-the-pool");
    assert_eq!(stats["scores_below_reference"]["runs"], 2);
    assert_eq!(stats["recovered"]["runs"], 0);
    for run in json["seed_runs"].as_array().unwrap() {
        assert_eq!(run["reference"]["score"], 100, "{run:#}");
        let w = &run["wrong"][0];
        assert!(
            w["harm"]["harmed"].as_u64() > run["no_team"]["harm"]["harmed"].as_u64(),
            "shrinking the pool harms more users than doing nothing: {run:#}"
        );
    }
    let text = stdout(&firedrill(&["calibrate", MONDAY, "--runs", "2"]));
    assert!(text.contains("Wrong responses"), "{text}");
    assert!(
        text.contains(
            "ok    wrong response shrink-the-pool scores below the reference in 100% of runs"
        ),
        "{text}"
    );
}

#[test]
fn a_wrong_response_that_is_really_the_reference_fails_its_verdict() {
    let path = mini_edited(
        "mini-wrong-is-right.ron",
        "    debrief: [",
        "    wrong_responses: [Response(name: \"same-as-reference\", says: [
        Say(at: After(FirstPage, \"1m\"), role: \"ops\", input: \"ack\"),
        Say(at: After(FirstPage, \"1m\"), role: \"ic\", input: \"declare sev2\"),
        Say(at: After(FirstPage, \"2m\"), role: \"ic\", input: \"assign comms sam\"),
        Say(at: After(FirstPage, \"2m\"), role: \"comms\", input: \"update \\\"Slow answers; investigating\\\"\"),
        Say(at: After(FirstPage, \"3m\"), role: \"ops\", input: \"diagnose db-pool-exhaustion\"),
        Say(at: After(FirstPage, \"3m\"), role: \"ops\", input: \"scale-pool size=12\"),
        Say(at: After(Recovered, \"1m\"), role: \"ic\", input: \"resolve\"),
    ])],
    debrief: [",
    );
    let p = path.to_str().unwrap();
    let (code, json) = calibrate_json(&[p, "--runs", "2"]);
    assert_eq!(code, 1, "{json:#}");
    let v = verdict(&json, "wrong_response_fails", Some("same-as-reference"));
    assert_eq!(v["pass"], false);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("scores below the reference in 0% of runs"),
        "{v:#}"
    );
    assert!(
        v["hint"]
            .as_str()
            .unwrap()
            .contains("scores like the reference")
    );
}

#[test]
fn a_reference_that_throttles_to_a_trickle_fails_the_harms_fewer_verdict() {
    let path = mini_edited(
        "mini-trickle-reference.ron",
        "input: \"scale-pool size=12\"),",
        "input: \"throttle rps=1\"),",
    );
    let p = path.to_str().unwrap();
    let (code, json) = calibrate_json(&[p, "--runs", "2"]);
    assert_eq!(code, 1, "{json:#}");
    let v = verdict(&json, "reference_helps", None);
    assert_eq!(v["pass"], false, "{v:#}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("the reference harms fewer users than no response in 0% of runs"),
        "{v:#}"
    );
}

#[test]
fn play_wrong_plays_a_named_wrong_response_and_names_the_others() {
    let out = firedrill(&["play", MONDAY, "--wrong", "shrink-the-pool", "--quiet"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let out = firedrill(&["play", MONDAY, "--wrong", "shrink-pool"]);
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(
        err.contains("drill `monday-rush` has no wrong response `shrink-pool`")
            && err.contains("its wrong responses are `shrink-the-pool`"),
        "{err}"
    );
    let out = firedrill(&["play", MONDAY, "--wrong", "shrink-the-pool", "--reference"]);
    assert_eq!(code(&out), 2, "--wrong and --reference conflict");
}

#[test]
fn alert_timings_count_from_the_fault_each_alert_belongs_to() {
    // red-herring: a distraction (slow-model) at 3m, the cause (surge) at 8m.
    let (_, report) = calibrate_json(&["tests/data/red-herring.ron", "--runs", "2"]);
    for run in report["seed_runs"].as_array().expect("seed runs") {
        let no_team = &run["no_team"];
        let started: Vec<f64> = no_team["fault_started"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_f64().expect("both faults start"))
            .collect();
        let attributed = no_team["attributed"].as_array().unwrap();
        for (i, fired) in no_team["alert_fired"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
        {
            let Some(fired) = fired.as_f64() else {
                continue;
            };
            let owner = attributed
                .iter()
                .position(|alerts| alerts.as_array().unwrap().contains(&json!(i)))
                .unwrap_or_else(|| panic!("alert {i} is attributed in red-herring"));
            assert_eq!(
                no_team["alert_delay"][i].as_f64(),
                Some(fired - started[owner]),
                "alert {i} counts from fault {owner}: {no_team}"
            );
        }
        assert!(
            started[0] < started[1],
            "the distraction starts before the cause"
        );
    }
}

/// Every library drill calibrates clean on a few seeds: its alerts fire, its distractions
/// stay as quiet as they say, its reference recovers and beats its wrong responses. (A change
/// to the engine, the attribution or the score that breaks a shipped drill fails here, not in
/// a team's game day.) `calibrate DRILL --runs 100` is the full check; three seeds catch a
/// verdict that fails on every seed, as the attribution of an alert a distraction only
/// brought forward did.
#[test]
fn every_library_drill_calibrates_clean_on_a_few_seeds() {
    let mut drills: Vec<PathBuf> = std::fs::read_dir("drills")
        .expect("drills/")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .collect();
    drills.sort();
    assert!(drills.len() >= 15, "{drills:?}");
    let mut failed = Vec::new();
    for drill in &drills {
        let path = drill.to_str().expect("a UTF-8 path");
        let (code, report) = calibrate_json(&[path, "--runs", "3", "--jobs", "2"]);
        let failing: Vec<String> = report["verdicts"]
            .as_array()
            .expect("verdicts")
            .iter()
            .filter(|v| v["pass"] == false)
            .map(|v| v["message"].as_str().unwrap_or("?").to_owned())
            .collect();
        assert_eq!(code == 0, failing.is_empty(), "{path}: exit {code}");
        if !failing.is_empty() {
            failed.push(format!("{path}: {}", failing.join("; ")));
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
}
