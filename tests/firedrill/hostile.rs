//! Hostile inputs and output files, through the binary (issue 12): nothing accepted is lost,
//! no existing file is truncated, every reader is bounded, and what the team typed is shown
//! safely. Each test is named after what it guards.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const MONDAY: &str = "drills/monday-rush.ron";

/// Runs the binary with `stdin` bytes, failing the test if it takes longer than a minute.
fn firedrill(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut input = child.stdin.take().expect("piped");
    let bytes = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&bytes);
    });
    // Both outputs are drained as the binary runs, so a full pipe cannot stall it.
    let drain = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped")));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > Duration::from_mins(1) {
            let _ = child.kill();
            panic!("firedrill {args:?} did not finish within a minute");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = writer.join();
    Output {
        status,
        stdout: stdout.join().expect("stdout"),
        stderr: stderr.join().expect("stderr"),
    }
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstderr: {}",
        o.status,
        err(o)
    );
    out(o)
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    crate::scratch_dir("hostile", name)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// A short transcript of monday-rush: two notes, then input ends (no `end`).
fn two_notes(dir: &Path) -> PathBuf {
    let t = dir.join("notes.jsonl");
    ok(&firedrill(
        &["run", MONDAY, "--transcript", s(&t)],
        b"note \"one\"\nwait 1m\nnote \"two\"\n",
    ));
    t
}

fn command_lines(t: &Path) -> Vec<String> {
    std::fs::read_to_string(t)
        .unwrap()
        .lines()
        .skip(1)
        .map(str::to_owned)
        .collect()
}

// ---- item 1: never truncate an existing file ----

#[test]
fn transcript_flag_never_overwrites_an_existing_file() {
    let dir = scratch("transcript-exists");
    let t = two_notes(&dir);
    let before = std::fs::read(&t).unwrap();
    for args in [
        vec!["run", MONDAY, "--transcript", s(&t)],
        vec![
            "play",
            MONDAY,
            "--reference",
            "--quiet",
            "--transcript",
            s(&t),
        ],
    ] {
        let o = firedrill(&args, b"end\n");
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", err(&o));
        assert!(err(&o).contains("already exists"), "{}", err(&o));
        assert_eq!(std::fs::read(&t).unwrap(), before, "{args:?} changed it");
    }
}

#[test]
fn output_files_refuse_an_existing_file_unless_forced() {
    let dir = scratch("output-exists");
    let t = two_notes(&dir);
    let page = dir.join("page.md");
    std::fs::write(&page, "keep me").unwrap();
    let refused = firedrill(&["debrief", s(&t), "--format", "md", "-o", s(&page)], b"");
    assert_eq!(refused.status.code(), Some(2));
    assert!(err(&refused).contains("--force"), "{}", err(&refused));
    assert_eq!(std::fs::read_to_string(&page).unwrap(), "keep me");
    let export = firedrill(&["export", MONDAY, "--format", "logs", "-o", s(&page)], b"");
    assert_eq!(export.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&page).unwrap(), "keep me");
    let debrief = dir.join("debrief.html");
    std::fs::write(&debrief, "keep me").unwrap();
    let play = firedrill(
        &[
            "play",
            MONDAY,
            "--reference",
            "--quiet",
            "--debrief",
            s(&debrief),
        ],
        b"",
    );
    assert_eq!(play.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&debrief).unwrap(), "keep me");

    ok(&firedrill(
        &[
            "debrief",
            s(&t),
            "--format",
            "md",
            "-o",
            s(&page),
            "--force",
        ],
        b"",
    ));
    assert!(std::fs::read_to_string(&page).unwrap().starts_with('#'));
}

#[test]
fn outputs_naming_an_input_are_refused_even_with_force() {
    let dir = scratch("output-is-input");
    let t = two_notes(&dir);
    let drill = dir.join("drill.ron");
    std::fs::copy(MONDAY, &drill).unwrap();
    let t_before = std::fs::read(&t).unwrap();
    let drill_before = std::fs::read(&drill).unwrap();
    // The same file through another spelling of its path.
    let t_other = dir.join(".").join("notes.jsonl");
    for args in [
        vec!["debrief", s(&t), "-o", s(&t_other), "--force"],
        vec!["export", s(&t), "--format", "logs", "-o", s(&t), "--force"],
        vec![
            "export",
            s(&drill),
            "--format",
            "logs",
            "-o",
            s(&drill),
            "--force",
        ],
        vec![
            "play",
            s(&drill),
            "--reference",
            "--debrief",
            s(&drill),
            "--force",
        ],
        vec!["run", s(&drill), "--debrief", s(&drill), "--force"],
        vec!["run", "--resume", s(&t), "--debrief", s(&t), "--force"],
    ] {
        let o = firedrill(&args, b"end\n");
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", err(&o));
        assert!(err(&o).contains("names the input"), "{args:?}: {}", err(&o));
    }
    assert_eq!(std::fs::read(&t).unwrap(), t_before);
    assert_eq!(std::fs::read(&drill).unwrap(), drill_before);
    // --transcript and --debrief naming one file.
    let both = dir.join("both");
    let o = firedrill(
        &[
            "run",
            MONDAY,
            "--transcript",
            s(&both),
            "--debrief",
            s(&both),
        ],
        b"end\n",
    );
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(!both.exists());
}

#[test]
fn busy_metrics_port_is_found_before_the_transcript_is_created() {
    let dir = scratch("busy-port");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let t = dir.join("t.jsonl");
    let o = firedrill(
        &[
            "run",
            MONDAY,
            "--transcript",
            s(&t),
            "--metrics-listen",
            &port,
        ],
        b"end\n",
    );
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(err(&o).contains("cannot serve metrics"), "{}", err(&o));
    assert!(
        !t.exists(),
        "the transcript was created before the port was checked"
    );
}

// ---- item 5: outputs land whole ----

#[test]
fn output_files_are_replaced_whole_through_a_temporary_file() {
    let dir = scratch("atomic");
    let target = dir.join("out.txt");
    std::fs::write(&target, "old").unwrap();
    // A writer that fails halfway leaves the old file and no temporary file.
    let failed = firedrill::files::write_atomic(&target, |w| {
        w.write_all(b"half of the new")?;
        Err(std::io::Error::other("disk full"))
    });
    assert!(failed.is_err());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "old");
    firedrill::files::write_atomic(&target, |w| w.write_all(b"new")).unwrap();
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("out.txt")]);
}

// ---- item 2: piped input that is not UTF-8 ----

#[test]
fn piped_line_that_is_not_utf8_is_reported_and_the_rest_runs() {
    let dir = scratch("latin1");
    let t = dir.join("t.jsonl");
    let o = firedrill(
        &["run", MONDAY, "--transcript", s(&t)],
        b"note \"caf\xe9\"\nnote \"after\"\nend\n",
    );
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(
        err(&o).contains("standard input line 1 is not UTF-8"),
        "{}",
        err(&o)
    );
    let lines = command_lines(&t);
    assert!(lines[0].contains("\"note \\\"after\\\"\""), "{lines:?}");
    assert!(lines[1].contains("\"end\""), "{lines:?}");
}

// ---- item 9: bounded readers ----

#[test]
fn endless_piped_line_stops_the_input_with_a_message() {
    let dir = scratch("zeros");
    let t = dir.join("t.jsonl");
    let mut input = b"note \"kept\"\n".to_vec();
    input.extend(std::iter::repeat_n(0u8, 200_000));
    let o = firedrill(&["run", MONDAY, "--transcript", s(&t)], &input);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(
        err(&o).contains("line 2 is longer than 64 KB"),
        "{}",
        err(&o)
    );
    assert!(command_lines(&t)[0].contains("kept"));
}

#[test]
fn huge_inputs_are_refused_with_their_size() {
    let dir = scratch("huge");
    let big = dir.join("big.jsonl");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(65 * 1024 * 1024).unwrap();
    for args in [
        vec!["replay", s(&big)],
        vec!["debrief", s(&big)],
        vec!["export", s(&big), "--format", "logs"],
        vec!["run", "--resume", s(&big)],
    ] {
        let o = firedrill(&args, b"");
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", err(&o));
        assert!(err(&o).contains("at most 64 MB"), "{args:?}: {}", err(&o));
    }
    let responses = dir.join("responses.ron");
    std::fs::File::create(&responses)
        .unwrap()
        .set_len(11 * 1024 * 1024)
        .unwrap();
    let o = firedrill(&["play", MONDAY, "--responses", s(&responses)], b"");
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(err(&o).contains("at most 10 MB"), "{}", err(&o));
    let merge = firedrill(&["calibrate", "--merge", "/dev/zero"], b"");
    assert_eq!(merge.status.code(), Some(2), "{}", err(&merge));
    assert!(
        err(&merge).contains("not a regular file"),
        "{}",
        err(&merge)
    );
}

#[test]
fn fifo_with_no_writer_is_refused_not_waited_on() {
    let dir = scratch("fifo");
    let fifo = dir.join("pipe");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        let _ = std::io::stderr()
            .write_all(b"fifo_with_no_writer_is_refused_not_waited_on: skipped: mkfifo failed\n");
        return;
    }
    for args in [
        vec!["replay", s(&fifo)],
        vec!["debrief", s(&fifo)],
        vec!["check", s(&fifo)],
        vec!["export", s(&fifo), "--format", "logs"],
        vec!["run", "--resume", s(&fifo)],
        vec!["play", MONDAY, "--responses", s(&fifo)],
        vec!["calibrate", "--merge", s(&fifo)],
    ] {
        let o = firedrill(&args, b"");
        assert_ne!(o.status.code(), Some(0), "{args:?}");
        let said = format!("{}{}", out(&o), err(&o));
        assert!(said.contains("not a regular file"), "{args:?}: {said}");
    }
}

// ---- item 3: the last line of a transcript ----

#[test]
fn complete_last_line_without_newline_is_kept_and_resumed_after() {
    let dir = scratch("no-newline");
    let t = two_notes(&dir);
    let text = std::fs::read_to_string(&t).unwrap();
    std::fs::write(&t, text.trim_end_matches('\n')).unwrap();
    let replay = firedrill(&["replay", s(&t), "--json"], b"");
    ok(&replay);
    assert!(!err(&replay).contains("cut off"), "{}", err(&replay));
    let o = firedrill(&["run", "--resume", s(&t)], b"note \"three\"\nend\n");
    assert!(out(&o).contains("3 commands replayed"), "{}", out(&o));
    let lines = command_lines(&t);
    assert_eq!(lines.len(), 5, "{lines:?}");
    assert!(
        lines[2].contains("two") && lines[3].contains("three"),
        "{lines:?}"
    );
}

#[test]
fn torn_last_line_is_reported_by_every_reader() {
    let dir = scratch("torn");
    let t = two_notes(&dir);
    let mut text = std::fs::read_to_string(&t).unwrap();
    text.push_str("{\"at_ns\":6000");
    std::fs::write(&t, &text).unwrap();
    for args in [
        vec!["replay", s(&t)],
        vec!["debrief", s(&t), "--format", "json"],
        vec!["export", s(&t), "--format", "logs"],
    ] {
        let o = firedrill(&args, b"");
        ok(&o);
        assert!(
            err(&o).contains("was cut off mid-write"),
            "{args:?}: {}",
            err(&o)
        );
    }
    let o = firedrill(&["run", "--resume", s(&t)], b"end\n");
    ok(&o);
    assert!(err(&o).contains("it is dropped"), "{}", err(&o));
    assert!(!std::fs::read_to_string(&t).unwrap().contains("6000\n"));
}

// ---- item 4: unknown roles ----

#[test]
fn unknown_role_in_a_transcript_is_refused_with_its_line() {
    let dir = scratch("role");
    let t = two_notes(&dir);
    let text = std::fs::read_to_string(&t).unwrap();
    for bad in ["hacker", ""] {
        let edited = dir.join(format!("role-{bad}.jsonl"));
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let mut line: serde_json::Value = serde_json::from_str(&lines[2]).unwrap();
        line["role"] = bad.into();
        lines[2] = line.to_string();
        std::fs::write(&edited, lines.join("\n") + "\n").unwrap();
        let o = firedrill(&["replay", s(&edited)], b"");
        assert_eq!(o.status.code(), Some(1), "{}", err(&o));
        assert!(
            err(&o).contains(":3: replay refused")
                && err(&o).contains(&format!("unknown role `{bad}`")),
            "{}",
            err(&o)
        );
    }
}

#[test]
fn unknown_role_in_play_responses_is_refused() {
    let dir = scratch("responses-role");
    let r = dir.join("r.ron");
    std::fs::write(
        &r,
        "[\n  Say(at: At(\"1m\"), role: \"ops\", input: \"note ok\"),\n  Say(at: At(\"2m\"), role: \"hacker\", input: \"ack\"),\n]\n",
    )
    .unwrap();
    let o = firedrill(&["play", MONDAY, "--responses", s(&r)], b"");
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(
        err(&o).contains("r.ron:3:") && err(&o).contains("unknown role `hacker`"),
        "{}",
        err(&o)
    );
}

// ---- item 14: control characters shown safely ----

#[test]
fn control_characters_typed_are_shown_as_escapes_but_kept_in_the_transcript() {
    let dir = scratch("control");
    let t = dir.join("t.jsonl");
    let o = firedrill(
        &["run", MONDAY, "--transcript", s(&t)],
        b"note \"\x1b]0;pwned\x07 \x1b[2J\xc2\x9b31m\"\nassign comms \x1b[31mred\nend\n",
    );
    let shown = ok(&o);
    assert!(!shown.contains('\x1b') && !shown.contains('\x07') && !shown.contains('\u{9b}'));
    assert!(shown.contains("\\x1b]0;pwned\\x07"), "{shown}");
    let transcript = std::fs::read_to_string(&t).unwrap();
    assert!(
        transcript.contains("\\u001b]0;pwned\\u0007"),
        "{transcript}"
    );
    for format in ["md", "html"] {
        let page = out(&firedrill(&["debrief", s(&t), "--format", format], b""));
        assert!(
            !page.contains('\x1b') && !page.contains('\x07') && !page.contains('\u{9b}'),
            "{format} shows a control character"
        );
        assert!(page.contains("x1b"), "{format}: the escape is not shown");
    }
}

// ---- item 15: the smaller ones ----

#[test]
fn speeds_outside_the_stated_bounds_are_refused_everywhere() {
    let o = firedrill(&["run", MONDAY, "--speed", "1e-9"], b"end\n");
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("between 0.01 and 1000"));
    let o = firedrill(
        &["run", MONDAY, "--clock", "realtime"],
        b"speed 0.001\nend\n",
    );
    assert!(out(&o).contains("`0.001` is not a speed"), "{}", out(&o));
    let dir = scratch("speed");
    let t = two_notes(&dir);
    let text = std::fs::read_to_string(&t).unwrap();
    for speed in ["0.0", "-1.0", "1e308"] {
        let edited = dir.join(format!("speed{speed}.jsonl"));
        std::fs::write(
            &edited,
            text.replacen("\"speed\":1.0", &format!("\"speed\":{speed}"), 1),
        )
        .unwrap();
        let o = firedrill(&["run", "--resume", s(&edited)], b"end\n");
        assert_eq!(o.status.code(), Some(1), "{speed}: {}", err(&o));
        assert!(err(&o).contains("speed"), "{}", err(&o));
    }
}

#[test]
fn resume_refuses_flags_it_would_ignore() {
    let dir = scratch("resume-flags");
    let t = two_notes(&dir);
    let before = std::fs::read(&t).unwrap();
    for args in [
        vec!["run", "--resume", s(&t), "--seed", "9"],
        vec!["run", "drills/other.ron", "--resume", s(&t)],
    ] {
        let o = firedrill(&args, b"end\n");
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", err(&o));
    }
    assert_eq!(std::fs::read(&t).unwrap(), before);
}

#[test]
fn small_bounds_are_enforced_with_clear_messages() {
    let dir = scratch("small");
    // start_rps: inf must be finite, not "negative".
    let inf = dir.join("inf.ron");
    let text = std::fs::read_to_string(MONDAY).unwrap();
    let (at, _) = text
        .match_indices("start_rps:")
        .next()
        .expect("a start_rps");
    let end = at + text[at..].find(',').unwrap();
    std::fs::write(
        &inf,
        format!("{}start_rps: inf{}", &text[..at], &text[end..]),
    )
    .unwrap();
    let o = firedrill(&["check", s(&inf)], b"");
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).contains("finite"), "{}", out(&o));
    // A UTF-8 byte-order mark is accepted.
    let bom = dir.join("bom.ron");
    std::fs::write(&bom, format!("\u{feff}{text}")).unwrap();
    ok(&firedrill(&["check", s(&bom)], b""));
    // Dates that do not exist, and exports past year 9999.
    let o = firedrill(
        &[
            "export",
            MONDAY,
            "--format",
            "logs",
            "--start",
            "2026-02-30T00:00:00Z",
        ],
        b"",
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("has 28 days"), "{}", err(&o));
    let o = firedrill(
        &[
            "export",
            MONDAY,
            "--format",
            "logs",
            "--start",
            "9999-12-31T23:00:00Z",
        ],
        b"",
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("9999-12-31"), "{}", err(&o));
    // simulate --duration 0s.
    let o = firedrill(&["simulate", MONDAY, "--duration", "0s"], b"");
    assert_eq!(o.status.code(), Some(2));
    // calibrate --merge with an absurd value.
    let report = dir.join("report.json");
    std::fs::write(
        &report,
        "{\"calibration_format\": 2, \"wall_seconds\": -1e308}",
    )
    .unwrap();
    let o = firedrill(&["calibrate", "--merge", s(&report)], b"");
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("wall_seconds"), "{}", err(&o));
    // wait past the end says where it stopped.
    let o = firedrill(&["run", MONDAY], b"wait 100000h\n");
    let text = out(&o);
    assert!(text.contains("not 100000h: the drill ended at"), "{text}");
}

#[test]
fn head_metrics_answers_like_get_without_a_body() {
    use std::io::{BufRead, BufReader, Read};
    let mut child = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args([
            "run",
            MONDAY,
            "--clock",
            "realtime",
            "--metrics-listen",
            "127.0.0.1:0",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let stdin = child.stdin.take().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let addr = loop {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "no address");
        if let Some(url) = line.split("http://").nth(1) {
            break url.trim().trim_end_matches("/metrics").to_owned();
        }
    };
    let ask = |method: &str| {
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(stream, "{method} /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    };
    let get = ask("GET");
    let head = ask("HEAD");
    drop(stdin);
    let _ = child.wait();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let (head_headers, head_body) = head.split_once("\r\n\r\n").unwrap();
    assert_eq!(head_body, "");
    let (get_headers, _) = get.split_once("\r\n\r\n").unwrap();
    let length = |h: &str| {
        h.lines()
            .find(|l| l.starts_with("Content-Length"))
            .map(str::to_owned)
    };
    assert!(length(head_headers).is_some());
    assert_eq!(
        head_headers.lines().next(),
        get_headers.lines().next(),
        "same status"
    );
}

// ---- item 10: bounded debriefs, streamed exports ----

#[test]
fn debrief_of_a_long_session_lists_a_bounded_timeline() {
    let dir = scratch("long");
    let t = dir.join("t.jsonl");
    let mut script = String::new();
    for i in 0..2500 {
        let _ = writeln!(script, "note \"entry {i} {}\"", "x".repeat(i % 7 * 100));
    }
    script.push_str("end\n");
    ok(&firedrill(
        &["run", MONDAY, "--transcript", s(&t)],
        script.as_bytes(),
    ));
    let page = ok(&firedrill(&["debrief", s(&t), "--format", "md"], b""));
    assert!(
        page.contains("more entries not listed"),
        "the timeline is not capped"
    );
    let html = ok(&firedrill(&["debrief", s(&t)], b""));
    assert!(html.contains("more entries not listed"));
    // Every note is in the transcript; the page lists at most 2000 timeline entries.
    assert_eq!(command_lines(&t).len(), 2501);
    assert!(html.len() < 4 * 1024 * 1024, "{} bytes", html.len());
}

#[test]
fn openmetrics_export_streams_to_its_writer() {
    struct Counting {
        bytes: usize,
        largest: usize,
    }
    impl Write for Counting {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.bytes += buf.len();
            self.largest = self.largest.max(buf.len());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let drill = firedrill::drill::load_file(Path::new(MONDAY)).unwrap();
    let run = firedrill::export::run_drill(drill, None);
    let settings = firedrill::export::Settings {
        format: firedrill::export::Format::Openmetrics,
        start_ms: None,
        rule_file: "rules.yml".into(),
    };
    let mut sink = Counting {
        bytes: 0,
        largest: 0,
    };
    firedrill::export::write(&run, &settings, &mut sink).unwrap();
    let whole = firedrill::export::render(&run, &settings);
    assert_eq!(sink.bytes, whole.len());
    assert!(sink.bytes > 1024 * 1024, "{} bytes", sink.bytes);
    // Never the whole exposition in one piece: it is written as it is rendered.
    assert!(
        sink.largest <= 64 * 1024,
        "a write of {} bytes",
        sink.largest
    );
}
