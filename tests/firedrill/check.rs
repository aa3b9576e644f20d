//! Loading and checking drill files through the library (`firedrill::drill::load` and
//! `firedrill::drill::check`): every bad input gives a problem at the right line and column
//! with a useful message, and every good drill loads unchanged.
//!
//! Tests are tables driven through one helper, [`expect_problems`]: each case is a drill text
//! (an edit of `drills/monday-rush.ron`, an inline text or a fixture under `tests/data/`) and
//! the problems it must produce, in file order, as `line:col` and a fragment of the message
//! or hint.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use firedrill::drill::check::{CheckOutcome, CheckStatus, ReportStyle, check, report};
use firedrill::drill::{LoadError, load_file, load_str};

const MONDAY_RUSH: &str = include_str!("../../drills/monday-rush.ron");

/// A problem the loader must report: `"line:col"` and a fragment of its message or hint.
type Expected = (&'static str, &'static str);

/// Loads `text` and compares its problems, in order, with `expected` (none: it must load).
fn expect_problems(name: &str, text: &str, expected: &[Expected]) -> Result<(), String> {
    let problems = match load_str(name, text) {
        Ok(_) if expected.is_empty() => return Ok(()),
        Ok(_) => return Err(format!("{name}: loaded, but expected {expected:?}")),
        Err(error) => error,
    };
    let found: Vec<(String, &str, &str)> = problems
        .problems()
        .iter()
        .map(|p| {
            (
                format!("{}:{}", p.line(), p.column()),
                p.message(),
                p.hint().unwrap_or(""),
            )
        })
        .collect();
    let matches = found.len() == expected.len()
        && found
            .iter()
            .zip(expected)
            .all(|((at, message, hint), (want_at, fragment))| {
                at == want_at && (message.contains(fragment) || hint.contains(fragment))
            });
    if matches {
        Ok(())
    } else {
        Err(format!(
            "{name}: expected {expected:?}, found:\n{}",
            problems.plain()
        ))
    }
}

/// Runs every case and fails once, listing every case that did not match.
fn run(cases: impl IntoIterator<Item = (String, String, &'static [Expected])>) {
    let failures: Vec<String> = cases
        .into_iter()
        .filter_map(|(name, text, expected)| expect_problems(&name, &text, expected).err())
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Monday rush with each `(find, replace)` applied once; `find` must be in the text.
fn edited(edits: &[(&str, &str)]) -> String {
    edits
        .iter()
        .fold(MONDAY_RUSH.to_owned(), |text, (find, replace)| {
            assert!(text.contains(find), "`{find}` is not in monday-rush.ron");
            text.replacen(find, replace, 1)
        })
}

type Edits = &'static [(&'static str, &'static str)];

/// Edits of the shipped drill that must each be reported at the edited spot.
const EDITS: &[(&str, Edits, &[Expected])] = &[
    // The engine's newer knobs are range-checked like the rest.
    (
        "a database with no cores",
        &[(
            "acquire_timeout: \"2s\")",
            "acquire_timeout: \"2s\", cores: 0)",
        )],
        &[("28:66", "pool `db` has 0 database cores")],
    ),
    (
        "retries with no attempts and too much jitter",
        &[(
            "max_in_flight: 1000,",
            "max_in_flight: 1000, retries: Retries(max_attempts: 0, backoff: \"1s\", jitter: 2.0),",
        )],
        &[("33:61", "`max_attempts` is 0"), ("33:87", "`jitter` is 2")],
    ),
    (
        "a model that is wrong more than always",
        &[("p99: \"5s\")),", "p99: \"5s\"), wrong_answer_rate: 1.5),")],
        &[("41:99", "`wrong_answer_rate` is 1.5")],
    ),
    // Structure: what serde reads.
    (
        "unknown field, with a hint",
        &[("acquire_timeout: \"2s\"", "aquire_timeout: \"2s\"")],
        &[("28:36", "did you mean `acquire_timeout`?")],
    ),
    (
        "typos in two pools are both reported",
        &[(
            "Pool(name: \"db\", size: 20, acquire_timeout: \"2s\"),",
            "Pool(name: \"db\", sise: 20, acquire_timeout: \"2s\"),\n        Pool(name: \"cache\", size: 4, acquire_timout: \"2s\"),",
        )],
        &[
            ("28:26", "unknown field `sise` in `Pool`"),
            ("29:38", "did you mean `acquire_timeout`?"),
        ],
    ),
    (
        "a duration with a bad unit",
        &[("duration: \"2h\"", "duration: \"2 hours\"")],
        &[("15:15", "units: ns, us, ms, s, m, h, d")],
    ),
    (
        "a duration without quotes",
        &[("acquire_timeout: \"2s\"", "acquire_timeout: 2s")],
        &[("28:53", "durations are strings: write `\"2s\"`")],
    ),
    (
        "unknown variant, with a hint",
        &[("TrafficMultiplier(3.0)", "TraficMultiplier(3.0)")],
        &[("46:68", "did you mean `TrafficMultiplier`?")],
    ),
    (
        "a missing field is reported on its struct",
        &[("size: 20, ", "")],
        &[("28:9", "missing field `size` in `Pool`")],
    ),
    (
        "unknown top-level field",
        &[("seed: 7,", "sed: 7,")],
        &[("16:5", "did you mean `seed`?")],
    ),
    (
        "a missing top-level field",
        &[(
            "    title: \"Monday rush: the connection pool runs dry\",\n",
            "",
        )],
        &[("10:1", "missing field `title` in `Drill`")],
    ),
    (
        "a misspelt required field is not also reported missing",
        &[("title: \"Monday", "titel: \"Monday")],
        &[("12:5", "did you mean `title`?")],
    ),
    (
        "a top-level field given twice",
        &[("seed: 7,", "seed: 7,\n    seed: 8,")],
        &[("17:5", "field `seed` is given twice")],
    ),
    (
        "the root is not `Drill`",
        &[("Drill(", "Dril(")],
        &[("10:1", "did you mean `Drill`?")],
    ),
    (
        "a string where a number goes",
        &[("seed: 7", "seed: \"7\"")],
        &[("16:11", "expected a whole number")],
    ),
    (
        "a fraction where a whole number goes",
        &[("size: 20", "size: 2.5")],
        &[("28:32", "expected a whole number, found `2.5`")],
    ),
    (
        "a name without quotes",
        &[("pool: \"db\",", "pool: db,")],
        &[("37:23", "text goes in double quotes: `\"db\"`")],
    ),
    (
        "a missing comma is a syntax error",
        &[("name: \"monday-rush\",", "name: \"monday-rush\"")],
        &[("12:5", "expected `,` or `)`, found `title`")],
    ),
    // Semantics: what validate checks, placed on the value.
    (
        "a step on an unknown pool",
        &[("pool: \"db\",", "pool: \"dbb\",")],
        &[("37:23", "unknown pool `dbb`")],
    ),
    (
        "a metric on an unknown pool",
        &[("PoolTimeoutRate(\"db\")", "PoolTimeoutRate(\"cache\")")],
        &[("59:49", "defined pools are: `db`")],
    ),
    (
        "a pool of size zero",
        &[("size: 20", "size: 0")],
        &[("28:32", "a pool needs at least one connection")],
    ),
    (
        "two pools with one name",
        &[(
            "Pool(name: \"db\", size: 20, acquire_timeout: \"2s\"),",
            "Pool(name: \"db\", size: 20, acquire_timeout: \"2s\"),\n        Pool(name: \"db\", size: 5),",
        )],
        &[("29:20", "two pools named `db`")],
    ),
    (
        "a fault after the end",
        &[("at: \"40m\"", "at: \"3h\"")],
        &[("46:41", "so it never happens")],
    ),
    (
        "a zero duration, and so a fault after the end",
        &[("duration: \"2h\"", "duration: \"0s\"")],
        &[
            ("15:15", "the drill lasts no time"),
            ("46:41", "never happens"),
        ],
    ),
    (
        "a param in a fault",
        &[("TrafficMultiplier(3.0)", "TrafficMultiplier(Param(\"x\"))")],
        &[("46:86", "a fault needs a literal number")],
    ),
    (
        "a param the action does not take",
        &[(
            "AdmissionLimit(rps: Param(\"rps\"))",
            "AdmissionLimit(rps: Param(\"rsp\"))",
        )],
        &[("86:47", "did you mean `rps`?")],
    ),
    (
        "an effect on an unknown step, out of range",
        &[(
            "effect: TrafficMultiplier(3.0)",
            "effect: StepErrorRate(step: \"retreive\", rate: 2.0)",
        )],
        &[
            ("46:88", "did you mean `retrieve`?"),
            ("46:106", "the error rate is 2"),
        ],
    ),
    (
        "a task done by an unknown command",
        &[(
            "done_by: Command(\"declare\")",
            "done_by: Command(\"delcare\")",
        )],
        &[("106:35", "did you mean `declare`?")],
    ),
    (
        "an inject after an unknown fault",
        &[(
            "FaultStart(\"monday-surge\")",
            "FaultStart(\"monday-surge2\")",
        )],
        &[("74:37", "did you mean `monday-surge`?")],
    ),
    (
        "an inject after an unknown alert",
        &[(
            "After(FirstPage, \"20m\")",
            "After(AlertFires(\"AriaLatency\"), \"20m\")",
        )],
        &[("76:37", "unknown alert `AriaLatency`")],
    ),
    (
        "a reference line by an unknown role",
        &[(
            "role: \"ops\", input: \"ack\"",
            "role: \"opps\", input: \"ack\"",
        )],
        &[("133:47", "did you mean `ops`?")],
    ),
    (
        "a reference line with an unknown command",
        &[("input: \"ack\"", "input: \"acknowledge\"")],
        &[("133:61", "unknown command `acknowledge`")],
    ),
    (
        "a reference line with an unknown param",
        &[("throttle rps=150", "throttle rsp=150")],
        &[("139:61", "did you mean `rps=...`?")],
    ),
    (
        "an action named like a built-in command",
        &[("name: \"throttle\"", "name: \"ack\"")],
        &[
            ("82:19", "has the name of the built-in command `ack`"),
            ("139:61", "unknown command `throttle`"),
            // The reference lifts its throttle to 400 rps once the pool is resized.
            ("142:62", "unknown command `throttle`"),
            // So does the wrong response that throttles and never lifts it.
            ("168:65", "unknown command `throttle`"),
        ],
    ),
    (
        "a count of zero",
        &[("Count(Command(\"note\"), 3)", "Count(Command(\"note\"), 0)")],
        &[("126:50", "a count of 0")],
    ),
    (
        "a p99 below the median",
        &[("p99: \"5s\"", "p99: \"1s\"")],
        &[("41:73", "p99 (1s) below its median (1.4s)")],
    ),
    (
        "a stage of zero length",
        &[("Stage(over: \"15m\"", "Stage(over: \"0s\"")],
        &[("22:25", "stage 0 has zero length")],
    ),
    (
        "a negative rate",
        &[("start_rps: 20.0", "start_rps: -5.0")],
        &[("20:20", "cannot be negative")],
    ),
    (
        "telemetry out of range",
        &[(
            "seed: 7,",
            "seed: 7,\n    telemetry: Telemetry(bucket: \"10s\", window: \"5s\", log_sample: 2.0, eval_sample: -0.5),",
        )],
        &[
            ("17:49", "shorter than a bucket"),
            ("17:67", "`log_sample` is 2"),
            ("17:85", "`eval_sample` is -0.5"),
        ],
    ),
    (
        "a retry budget below zero, a shrinking backoff and a negative price",
        &[(
            "max_in_flight: 1000,",
            "max_in_flight: 1000, cost_per_1k_tokens: -0.01, retries: Retries(max_attempts: 3, backoff: \"1s\", multiplier: 0.5, budget: -1.0),",
        )],
        &[
            ("33:50", "price cannot be negative"),
            ("33:118", "waits would shrink"),
            ("33:131", "the retry `budget` is -1"),
        ],
    ),
    (
        "an alert below zero",
        &[(
            "when: Above(metric: LatencyP95, threshold: 5.0)",
            "when: Below(metric: LatencyP95, threshold: 0.0)",
        )],
        &[("52:56", "never fires")],
    ),
    (
        "a ratio threshold above 1",
        &[("threshold: 0.95", "threshold: 95.0")],
        &[("66:67", "write a fraction: 0.05 for 5%")],
    ),
    (
        "no room in flight",
        &[("max_in_flight: 1000", "max_in_flight: 0")],
        &[("33:24", "every request would be rejected")],
    ),
    (
        "an error rate above 1",
        &[(
            "name: \"generate\", time",
            "name: \"generate\", error_rate: 1.5, time",
        )],
        &[("41:48", "`error_rate` is 1.5")],
    ),
    (
        "a broken pool silences references to it, not other problems",
        &[
            ("size: 20, ", "size: 20, colour: \"red\", "),
            ("p99: \"5s\"", "p99: \"1s\""),
        ],
        &[
            ("28:36", "unknown field `colour`"),
            ("41:73", "below its median"),
        ],
    ),
];

#[test]
fn the_shipped_drills_load_unchanged() {
    for path in ["drills/monday-rush.ron", "drills/reference/mmc.ron"] {
        let drill = load_file(Path::new(path)).unwrap_or_else(|e| panic!("{}", e.plain()));
        let text = fs::read_to_string(path).unwrap();
        assert_eq!(drill, firedrill::drill::parse_str(&text).unwrap(), "{path}");
    }
}

#[test]
fn edits_of_the_shipped_drill_are_reported_where_they_are() {
    run(EDITS
        .iter()
        .map(|(name, edits, expected)| ((*name).to_owned(), edited(edits), *expected)));
}

/// A small valid drill, for cases that need less than Monday rush.
const MINIMAL: &str = r#"Drill(
    name: "small",
    title: "Small",
    duration: "1h",
    traffic: Traffic(start_rps: 10.0),
    service: Service(name: "api", steps: [
        Step(name: "work", time: Constant("50ms")),
    ]),
)"#;

/// Inline texts, from empty to nearly valid.
const TEXTS: &[(&str, &str, &[Expected])] = &[
    ("the minimal drill", MINIMAL, &[]),
    ("an empty file", "", &[("1:1", "the file is empty")]),
    (
        "only blank lines",
        "\n  \n\t\n",
        &[("1:1", "the file is empty")],
    ),
    (
        "only comments",
        "// nothing\n/* here */\n",
        &[("3:1", "the file holds no drill")],
    ),
    (
        "a list, not a drill",
        "[1, 2]",
        &[("1:1", "expected `Drill(...)`, found `[1, 2]`")],
    ),
    (
        "a NUL byte",
        "Drill(\0)",
        &[("1:7", "the file contains a NUL byte")],
    ),
    (
        "every missing field at once",
        "Drill()",
        &[
            ("1:1", "missing field `name`"),
            ("1:1", "missing field `title`"),
            ("1:1", "missing field `duration`"),
            ("1:1", "missing field `traffic`"),
            ("1:1", "missing field `service`"),
        ],
    ),
    (
        "an unclosed bracket",
        "Drill(\n    name: \"x\",\n    pools: [\n        Pool(name: \"db\", size: 1),\n)",
        &[("5:1", "expected `]` to close `[`, found `)`")],
    ),
    (
        "an unclosed string",
        "Drill(\n    name: \"x,\n    title: \"y\",\n)",
        &[("3:13", "is the closing `\"` of the string above missing?")],
    ),
    (
        "an unclosed string at the end",
        "Drill(\n    name: \"x,\n)",
        &[("2:11", "this string is never closed")],
    ),
    (
        "an unknown extension",
        "#![enable(implicit_sum)]\nDrill()",
        &[
            ("1:11", "did you mean `implicit_some`?"),
            ("2:1", "missing field `name`"),
            ("2:1", "missing field `title`"),
            ("2:1", "missing field `duration`"),
            ("2:1", "missing field `traffic`"),
            ("2:1", "missing field `service`"),
        ],
    ),
    (
        "a service without steps",
        r#"Drill(name: "x", title: "x", duration: "1h", traffic: Traffic(start_rps: 1.0),
  service: Service(name: "api", steps: []))"#,
        &[("2:40", "the service has no steps")],
    ),
    (
        "FirstPage and Recovered with no page alert",
        r#"Drill(name: "x", title: "x", duration: "1h", traffic: Traffic(start_rps: 1.0),
  service: Service(name: "api", steps: [Step(name: "s", time: Constant("1ms"))]),
  alerts: [Alert(name: "A", when: Above(metric: ErrorRatio, threshold: 0.1), severity: Ticket)],
  injects: [Inject(at: After(FirstPage, "1m"), from: "x", message: "y")],
  reference: [Say(at: After(Recovered, "1m"), role: "x", input: "ack")],
)"#,
        &[
            (
                "4:30",
                "`FirstPage` never happens: no alert has severity `Page`",
            ),
            ("5:29", "`Recovered` never happens"),
            ("5:53", "no roles are defined"),
        ],
    ),
    (
        "time distributions out of order",
        r#"Drill(name: "x", title: "x", duration: "1h", traffic: Traffic(start_rps: 1.0),
  service: Service(name: "api", steps: [
    Step(name: "a", time: Uniform(min: "2s", max: "1s")),
    Step(name: "b", time: Exponential(mean: "0s")),
    Step(name: "a", time: LogNormal(median: "0s", p99: "1s")),
  ]),
)"#,
        &[
            ("3:51", "max (1s) below min (2s)"),
            ("4:45", "a mean of 0s"),
            ("5:16", "two steps named `a`"),
            ("5:45", "a median of 0s"),
        ],
    ),
    (
        "checklists that can never be done",
        r#"Drill(name: "x", title: "x", duration: "1h", traffic: Traffic(start_rps: 1.0),
  service: Service(name: "api", steps: [Step(name: "s", time: Constant("1ms"))]),
  roles: [Role(id: "ic", title: "IC", checklist: [
    Task(id: "t", text: "x", done_by: AnyAction, due: At("5m")),
    Task(id: "t", text: "x", done_by: Diagnosis, due: At("5m"), points: -1),
  ])],
)"#,
        &[
            ("4:39", "the drill defines no actions"),
            ("5:14", "two tasks named `t`"),
            ("5:39", "the drill has no `root_cause`"),
            ("5:73", "worth -1 points"),
        ],
    ),
    (
        "an action's duplicate params and a whole-number size",
        r#"Drill(name: "x", title: "x", duration: "1h", traffic: Traffic(start_rps: 1.0),
  pools: [Pool(name: "db", size: 2)],
  service: Service(name: "api", steps: [Step(name: "s", pool: "db", time: Constant("1ms"))]),
  actions: [
    Action(name: "grow", params: ["n", "n"], effect: PoolSize(pool: "db", size: 2.5)),
    Action(name: "two words", effect: ConnectionLeak(pool: "db", fraction: -0.5)),
  ],
)"#,
        &[
            ("5:40", "two params named `n`"),
            ("5:81", "a whole number of at least 1"),
            ("6:18", "is not a single word"),
            ("6:76", "the leak fraction is -0.5"),
        ],
    ),
    (
        "unknown fields deep inside, each in its own element",
        r#"Drill(name: "x", title: "x", duration: "1h", traffic: Traffic(start_rps: 1.0),
  service: Service(name: "api", steps: [
    Step(name: "a", time: LogNormal(median: "1s", p90: "2s")),
    Step(name: "b", time: Constant("1s"), on_timeout: Degrade(wrong_answer: 0.5)),
  ]),
  roles: [Role(id: "ic", titel: "IC", checklist: [
    Task(id: "t", text: "x", done_by: Command("ack"), due: At("5m"), point: 1),
  ])],
)"#,
        &[
            ("3:51", "did you mean `p99`?"),
            ("4:63", "did you mean `wrong_answer_rate`?"),
            ("6:26", "did you mean `title`?"),
            ("7:70", "did you mean `points`?"),
        ],
    ),
    (
        "a variant without its value, and a unit variant with one",
        r#"Drill(name: "x", title: "x", duration: "1h", traffic: Traffic(start_rps: 1.0),
  service: Service(name: "api", steps: [
    Step(name: "a", time: Constant),
    Step(name: "b", time: Constant("1s"), on_timeout: Fail(1)),
  ]),
)"#,
        &[
            (
                "3:27",
                "`Constant` needs a value in parentheses: `Constant(...)`",
            ),
            ("4:55", "`Fail` takes no value"),
        ],
    ),
    (
        "scripted lines as the session reads them",
        r#"Drill(name: "x", title: "x", duration: "1h", traffic: Traffic(start_rps: 1.0),
  service: Service(name: "api", steps: [Step(name: "s", time: Constant("1ms"))]),
  actions: [
    Action(name: "shed", params: ["rps", "burst"], effect: AdmissionLimit(rps: Param("rps"))),
    Action(name: "logs", effect: MaxInFlight(limit: 10)),
  ],
  roles: [Role(id: "ops", title: "Ops")],
  reference: [
    Say(at: At("1m"), role: "ops", input: "Shed rps=10 burst=2"),
    Say(at: At("1m"), role: "ops", input: "dash"),
    Say(at: At("2m"), role: "ops", input: "shed rps=ten burst=2"),
    Say(at: At("3m"), role: "ops", input: "shed rps=1 rps=2"),
    Say(at: At("4m"), role: "ops", input: "shed rps=1"),
    Say(at: At("5m"), role: "ops", input: "shed 10"),
    Say(at: At("6m"), role: "ops", input: ""),
  ],
)"#,
        &[
            ("5:18", "has the name of the built-in command `logs`"),
            ("11:43", "`ten` is not a number"),
            ("12:43", "`rps` is given twice"),
            ("13:43", "action `shed` needs burst=N"),
            ("14:43", "params are key=value"),
            ("15:43", "the input is empty"),
        ],
    ),
    (
        "a wrong kind of value in a Param",
        r#"Drill(name: "x", title: "x", duration: "1h", traffic: Traffic(start_rps: 1.0),
  service: Service(name: "api", steps: [Step(name: "s", time: Constant("1ms"))]),
  faults: [Fault(name: "f", at: "1m", effect: TrafficMultiplier("3"))],
)"#,
        &[("3:65", "expected a number, or Param(\"name\")")],
    ),
];

#[test]
fn a_large_file_full_of_mistakes_reports_the_first_hundred() {
    let (mut pools, mut steps) = (String::new(), String::new());
    for i in 0..60_000 {
        writeln!(pools, "    Pool(name: \"p{}\", size: 0),", i % 1000).unwrap();
        writeln!(
            steps,
            "    Step(name: \"s{i}\", pool: \"q{i}\", time: Constant(\"1ms\")),"
        )
        .unwrap();
    }
    let text = format!(
        "Drill(name: \"big\", title: \"Big\", duration: \"1h\", traffic: Traffic(start_rps: 1.0),\n  \
         pools: [\n{pools}  ],\n  service: Service(name: \"api\", steps: [\n{steps}  ]),\n)"
    );
    assert!(text.len() > 5_000_000);
    let error = load_str("big.ron", &text).unwrap_err();
    let LoadError::Invalid {
        problems, omitted, ..
    } = &error
    else {
        panic!("{error}");
    };
    // 60,000 sizes of 0, 59,000 duplicate names, 60,000 unknown pools.
    assert_eq!((problems.len(), problems.len() + omitted), (100, 179_000));
    let first = &problems[0];
    assert_eq!(
        (first.line(), first.column(), first.message()),
        (
            3,
            28,
            "pool `p0` has size 0; a pool needs at least one connection"
        )
    );
}

#[test]
fn inline_texts() {
    run(TEXTS
        .iter()
        .map(|(name, text, expected)| ((*name).to_owned(), (*text).to_owned(), *expected)));
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    let cases = [
        ("100k brackets", "[".repeat(100_000)),
        ("100k parentheses", "(".repeat(100_000)),
        (
            "deep inside a drill",
            format!("Drill(name: {}", "[".repeat(100_000)),
        ),
    ];
    let expected: [&[Expected]; 3] = [
        &[("1:65", "nests deeper than 64 levels")],
        &[("1:65", "nests deeper than 64 levels")],
        &[("1:76", "nests deeper than 64 levels")],
    ];
    run(cases
        .into_iter()
        .zip(expected)
        .map(|((name, text), expected)| (name.to_owned(), text, expected)));
}

/// A fresh, empty directory for one test's files.
fn scratch(test: &str) -> PathBuf {
    crate::scratch_dir("check", test)
}

/// Loads a file and renders the outcome as plain text (`ok` for a valid drill).
fn load_plain(path: &Path) -> String {
    match load_file(path) {
        Ok(_) => "ok".to_owned(),
        Err(error) => error.plain().to_string(),
    }
}

#[test]
fn files_that_are_not_drills() {
    let dir = scratch("not-drills");
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
    fs::write(dir.join("garbage.ron"), &garbage).unwrap();
    fs::write(dir.join("latin1.ron"), b"// caf\xe9\nDrill()").unwrap();
    let huge = fs::File::create(dir.join("huge.ron")).unwrap();
    huge.set_len(50 * 1024 * 1024).unwrap();
    fs::write(dir.join("empty.ron"), "").unwrap();

    let cases: [(&str, &str, bool); 6] = [
        (
            "garbage.ron",
            ":1:2: error: the file is not UTF-8 text (byte 0x8a)",
            false,
        ),
        (
            "latin1.ron",
            ":1:7: error: the file is not UTF-8 text (byte 0xe9)",
            false,
        ),
        (
            "huge.ron",
            ":1:1: error: the file is 50 MB; a drill file may be at most 10 MB",
            false,
        ),
        ("empty.ron", ":1:1: error: the file is empty", false),
        (
            "missing.ron",
            ": error: cannot read: No such file or directory",
            true,
        ),
        ("", ": error: cannot read: it is a directory", true),
    ];
    for (file, expected, io) in cases {
        let path = dir.join(file);
        let plain = load_plain(&path);
        assert!(
            plain.starts_with(&format!("{}{expected}", path.display())),
            "{file}: {plain}"
        );
        assert_eq!(load_file(&path).unwrap_err().is_io(), io, "{file}");
    }
}

#[test]
fn two_problems_render_as_plain_lines_with_help() {
    let text = edited(&[
        ("acquire_timeout: \"2s\"", "aquire_timeout: \"2s\""),
        ("pool: \"db\",", "pool: \"dbb\","),
    ]);
    let error = load_str("drills/monday-rush.ron", &text).unwrap_err();
    assert_eq!(
        error.plain().to_string(),
        "drills/monday-rush.ron:28:36: error: unknown field `aquire_timeout` in `Pool`\n  \
         help: did you mean `acquire_timeout`?\n\
         drills/monday-rush.ron:37:23: error: unknown pool `dbb`\n  \
         help: did you mean `db`?\n"
    );
    assert_eq!(error.to_string(), "drills/monday-rush.ron: 2 problems");
}

#[test]
fn a_duplicate_points_back_at_the_first() {
    let text = edited(&[("seed: 7,", "seed: 7,\n    seed: 8,")]);
    let error = load_str("d.ron", &text).unwrap_err();
    assert_eq!(
        error.plain().to_string(),
        "d.ron:17:5: error: field `seed` is given twice in `Drill`\n\
         d.ron:16:5: note: first given here\n  \
         help: remove one of them\n"
    );
}

#[test]
fn the_graphical_report_shows_the_source_and_the_hint() {
    let text = edited(&[("acquire_timeout: \"2s\"", "aquire_timeout: \"2s\"")]);
    let error = load_str("monday.ron", &text).unwrap_err();
    let mut out = Vec::new();
    report(&error, ReportStyle::GraphicalNoColor, &mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    for fragment in [
        "unknown field `aquire_timeout` in `Pool`",
        "[monday.ron:28:36]",
        "Pool(name: \"db\", size: 20, aquire_timeout: \"2s\"),",
        "unknown field",
        "help: did you mean `acquire_timeout`?",
    ] {
        assert!(out.contains(fragment), "{fragment:?} not in\n{out}");
    }
}

#[test]
fn check_reports_every_file_and_the_outcome() {
    let dir = scratch("check");
    let bad = dir.join("bad.ron");
    fs::write(&bad, edited(&[("size: 20", "size: 0")])).unwrap();
    let broken = dir.join("broken.ron");
    fs::copy("tests/data/typos.ron", &broken).unwrap();
    let good = PathBuf::from("drills/reference/mmc.ron");
    let missing = dir.join("missing.ron");

    let cases: [(Vec<PathBuf>, CheckOutcome, CheckStatus); 4] = [
        (vec![good.clone()], outcome(1, 0, 0), CheckStatus::Valid),
        (
            vec![good.clone(), bad.clone()],
            outcome(1, 1, 0),
            CheckStatus::Findings,
        ),
        (
            vec![bad.clone(), broken.clone()],
            outcome(0, 2, 0),
            CheckStatus::Findings,
        ),
        (
            vec![missing.clone(), bad.clone()],
            outcome(0, 1, 1),
            CheckStatus::Unreadable,
        ),
    ];
    for (paths, expected, status) in cases {
        let mut out = Vec::new();
        let found = check(&paths, ReportStyle::Plain, &mut out).unwrap();
        assert_eq!((found, found.status()), (expected, status), "{paths:?}");
        assert_eq!(found.all_valid(), status == CheckStatus::Valid);
    }

    let mut out = Vec::new();
    check(
        &[good, bad.clone(), broken.clone(), missing.clone()],
        ReportStyle::Plain,
        &mut out,
    )
    .unwrap();
    let out = String::from_utf8(out).unwrap();
    let expected = format!(
        "ok  drills/reference/mmc.ron (drill mmc-reference)\n\
         {bad}:28:32: error: pool `db` has size 0; a pool needs at least one connection\n  \
         help: set `size` to the number of connections, e.g. `size: 20`\n\
         {broken}:5:5: error: unknown field `titel` in `Drill`\n  \
         help: did you mean `title`?\n\
         {broken}:9:19: error: unknown variant `Possion` in `Arrivals`\n  \
         help: did you mean `Poisson`?\n\
         {broken}:13:35: error: pool `cache` has size -4; a pool needs at least one connection\n  \
         help: set `size` to the number of connections, e.g. `size: 20`\n\
         {broken}:18:38: error: invalid duration \"5 mins\": unknown unit `mins`\n  \
         help: write a number with a unit, e.g. \"250ms\", \"1.5s\", \"90s\", \"5m\", \"1h30m\" (units: ns, us, ms, s, m, h, d)\n\
         {missing}: error: cannot read: No such file or directory (os error 2)\n  \
         help: check the path\n\
         checked 4 files: 1 valid, 2 with problems, 1 unreadable\n",
        bad = bad.display(),
        broken = broken.display(),
        missing = missing.display(),
    );
    assert_eq!(out, expected);
}

fn outcome(valid: usize, invalid: usize, unreadable: usize) -> CheckOutcome {
    CheckOutcome {
        valid,
        invalid,
        unreadable,
    }
}

/// The examples in docs/drill-format.md hold: the minimal drill loads, and the report shown
/// for `tests/data/typos.ron` is what `check` prints.
#[test]
fn the_format_docs_examples_hold() {
    let docs = fs::read_to_string("docs/drill-format.md").unwrap();
    let block = |after: &str| {
        let start = docs
            .find(after)
            .unwrap_or_else(|| panic!("`{after}` not in the docs"))
            + after.len();
        docs[start..start + docs[start..].find("```").unwrap()].to_owned()
    };
    // The first RON block is the minimal drill.
    let minimal = block("```ron\n");
    load_str("minimal", &minimal).unwrap_or_else(|e| panic!("{}", e.plain()));

    let shown = block("$ firedrill check tests/data/typos.ron\n");
    let mut out = Vec::new();
    check(
        &[PathBuf::from("tests/data/typos.ron")],
        ReportStyle::Plain,
        &mut out,
    )
    .unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), shown);
}

/// The checker knows the commands the session knows: a scripted line may use any of them,
/// an action may take none of their names, and only team commands count for checklists.
#[test]
fn the_checker_knows_the_session_commands() {
    use firedrill::drill::validate::{BUILT_IN_COMMANDS, SESSION_COMMANDS};
    use firedrill::session::command::{BUILTINS, TEAM_COMMANDS};

    assert_eq!(TEAM_COMMANDS, BUILT_IN_COMMANDS);
    let mut session: Vec<&str> = BUILTINS.iter().map(|(name, _, _)| *name).collect();
    let mut known: Vec<&str> = BUILT_IN_COMMANDS
        .iter()
        .chain(SESSION_COMMANDS)
        .copied()
        .collect();
    // `dashboard` is an alias the session accepts for `dash`.
    known.retain(|name| *name != "dashboard");
    session.sort_unstable();
    known.sort_unstable();
    assert_eq!(session, known);
}

/// `LoadError` is a miette diagnostic whose related diagnostics are the problems.
#[test]
fn load_errors_are_diagnostics() {
    use miette::Diagnostic;

    let error: LoadError = load_str("x.ron", "Drill()").unwrap_err();
    let related: Vec<String> = error.related().unwrap().map(ToString::to_string).collect();
    assert_eq!(related.len(), 5);
    assert_eq!(related[0], "missing field `name` in `Drill`");
    let first = &error.problems()[0];
    assert_eq!(
        (first.file(), first.label(), first.span()),
        ("x.ron", "needs `name`", Some(0..5))
    );
}

/// What random edits insert: RON punctuation, odd numbers and durations, control characters.
const PIECES: &[&str] = &[
    "(", ")", "[", "]", "{", "}", ",", ":", "\"", "#", "//", "-1", "0", "1e400", "NaN", "\"0s\"",
    "\"5x\"", "Some(", "None", "true", "é", "\u{0}", "\n", " ",
];

/// One random edit of `text`: delete, duplicate or move a span, put a RON-significant
/// character or a number somewhere, or cut the file short. Always on char boundaries.
fn mutate(text: &str, rng: &mut rand::rngs::ChaCha8Rng) -> String {
    use rand::RngExt;
    let bounds: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect();
    let at = |rng: &mut rand::rngs::ChaCha8Rng| bounds[rng.random_range(0..bounds.len())];
    let (a, b) = {
        let (x, y) = (at(rng), at(rng));
        (x.min(y), x.max(y).min(x.min(y) + 40))
    };
    let b = bounds
        .iter()
        .copied()
        .find(|&i| i >= b)
        .unwrap_or(text.len());
    match rng.random_range(0..6) {
        0 => format!("{}{}", &text[..a], &text[b..]),
        1 => format!("{}{}{}", &text[..b], &text[a..b], &text[b..]),
        2 => {
            let piece = PIECES[rng.random_range(0..PIECES.len())];
            format!("{}{piece}{}", &text[..a], &text[a..])
        }
        3 => {
            let piece = PIECES[rng.random_range(0..PIECES.len())];
            format!("{}{piece}{}", &text[..a], &text[b..])
        }
        4 => text[..a].to_owned(),
        _ => {
            let to = at(rng);
            let moved = &text[a..b];
            let rest = format!("{}{}", &text[..a], &text[b..]);
            let to = rest
                .char_indices()
                .map(|(i, _)| i)
                .find(|&i| i >= to.min(rest.len()))
                .unwrap_or(rest.len());
            format!("{}{moved}{}", &rest[..to], &rest[to..])
        }
    }
}

#[test]
fn random_edits_of_every_drill_are_reported_inside_the_text() {
    use rand::SeedableRng;
    // Each built-in drill, edited at random one to three times, 400 times over: the loader
    // never panics, and every problem it reports points inside the text it was given, at a
    // line and column that exist there, with a message; a text that still loads still runs.
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(11);
    let (mut refused, mut loaded) = (0, 0);
    for (name, original) in firedrill::drill::library::BUILTIN {
        for round in 0..400 {
            let mut text = (*original).to_owned();
            for _ in 0..=(round % 3) {
                text = mutate(&text, &mut rng);
            }
            match load_str(name, &text) {
                Ok(drill) => {
                    loaded += 1;
                    let fast = drill.traffic.start_rps <= 5_000.0
                        && drill.traffic.stages.iter().all(|s| s.to_rps <= 5_000.0);
                    if fast {
                        let mut sim = firedrill::sim::Sim::new(
                            &drill,
                            &firedrill::sim::RunOptions::default(),
                        );
                        sim.run_until(firedrill::sim::SimTime::from_nanos(20_000_000_000));
                    }
                }
                Err(error) => {
                    refused += 1;
                    assert!(
                        !error.problems().is_empty(),
                        "{name}: an error without problems"
                    );
                    let lines: Vec<&str> = text.split('\n').collect();
                    for p in error.problems() {
                        let context =
                            || format!("{name} round {round}: {}\n---\n{text}", p.plain());
                        assert!(!p.message().is_empty(), "{}", context());
                        assert!((1..=lines.len()).contains(&p.line()), "{}", context());
                        let width = lines[p.line() - 1].chars().count();
                        assert!((1..=width + 1).contains(&p.column()), "{}", context());
                        if let Some(span) = p.span() {
                            assert!(
                                span.end <= text.len() && text.is_char_boundary(span.start),
                                "{}",
                                context()
                            );
                        }
                    }
                    let mut out = Vec::new();
                    report(&error, ReportStyle::GraphicalNoColor, &mut out).unwrap();
                }
            }
        }
    }
    // Most random edits break a drill; some (inside a comment or a string) do not.
    assert!(
        refused > 1600 && loaded > 50,
        "refused {refused}, loaded {loaded}"
    );
}

#[test]
fn a_root_cause_phrase_without_words_and_a_guess_share_above_one_are_refused() {
    let text = edited(&[(
        "accept: [\"db-pool-exhaustion\", \"pool-exhaustion\", \"connection-pool\"],",
        "accept: [\"db-pool-exhaustion\", \"--\", \"connection-pool\"], kept_per_wrong_guess: 1.5,",
    )]);
    let error = load_str("d.ron", &text).unwrap_err();
    let plain = error.plain().to_string();
    for fragment in [
        "`--` has no word to match a diagnosis against",
        "every word of the id or of one accepted phrase",
        "`kept_per_wrong_guess` is 1.5, but it is a share of the diagnose task's points",
        "0.5 halves the points with each wrong guess",
    ] {
        assert!(plain.contains(fragment), "{fragment:?} not in\n{plain}");
    }
    assert_eq!(error.problems().len(), 2, "{plain}");
    let line = text
        .lines()
        .position(|l| l.contains("kept_per_wrong_guess"))
        .unwrap()
        + 1;
    assert!(plain.starts_with(&format!("d.ron:{line}:")), "{plain}");
}

#[test]
fn wrong_responses_are_checked_like_the_reference() {
    let text = edited(&[(
        "    wrong_responses: [\n",
        "    wrong_responses: [
        Response(name: \"twice\", says: [Say(at: After(FirstPage, \"1m\"), role: \"opz\", input: \"ack\")]),
        Response(name: \"twice\", says: [Say(at: After(FirstPage, \"1m\"), role: \"ops\", input: \"throttle rsp=10\")]),
        Response(name: \"silent\", says: []),
",
    )]);
    let error = load_str("d.ron", &text).unwrap_err();
    let plain = error.plain().to_string();
    for fragment in [
        "unknown role `opz`",
        "`rsp` is not a param of action `throttle`",
        "wrong response `silent` says nothing",
        "`twice`",
    ] {
        assert!(plain.contains(fragment), "{fragment:?} not in\n{plain}");
    }
    assert_eq!(error.problems().len(), 4, "{plain}");
}
