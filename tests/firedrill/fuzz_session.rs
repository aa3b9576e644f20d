//! Seeded fuzzing of what a team and a disk can hand a session (issue 12): random and
//! mutated command lines go to the command parser and a live session; random damage
//! (truncation, flipped bytes, duplicated and removed lines) goes to the transcript reader
//! and replay. Nothing may panic; every answer is a valid result or a clear error; and in a
//! damaged transcript every command before the damage is kept.
//!
//! `FIREDRILL_FUZZ_CASES=N` runs N cases of each kind instead of the few hundred that keep
//! `cargo test` quick.

use std::path::Path;

use firedrill::drill::load_file;
use firedrill::session::command;
use firedrill::session::transcript::{ClockMode, Header, Line, Transcript, TranscriptError};
use firedrill::session::{Session, play};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

const MONDAY: &str = "drills/monday-rush.ron";

fn cases(default: usize) -> usize {
    std::env::var("FIREDRILL_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn monday_text() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(MONDAY)).unwrap()
}

/// Words a team types, good and bad, for building lines.
const WORDS: &[&str] = &[
    "wait",
    "until",
    "page",
    "ack",
    "declare",
    "sev1",
    "sev2",
    "sev9",
    "assign",
    "comms",
    "note",
    "update",
    "diagnose",
    "db-pool-exhaustion",
    "resolve",
    "end",
    "throttle",
    "rps=150",
    "rps=nan",
    "rps=-1",
    "rps=1e308",
    "scale-pool",
    "size=0",
    "size=40",
    "size=2.5",
    "size=4294967296",
    "logs",
    "metric",
    "dash",
    "alerts",
    "help",
    "roles",
    "checklist",
    "pause",
    "resume",
    "speed",
    "0.001",
    "10",
    "1e-9",
    "5m",
    "-5m",
    "100000h",
    "0s",
    "1ns",
    "ops:",
    "ic:",
    "hacker:",
    ":",
    "\"",
    "\"quoted text\"",
    "\"unterminated",
    "=",
    "==",
    "\u{1b}[2J",
    "\u{7}",
    "café",
    "\u{feff}",
    "\u{202e}",
    "\t",
    "  ",
];

fn random_line(rng: &mut ChaCha8Rng) -> String {
    let n = rng.random_range(0..6);
    let mut words: Vec<String> = (0..n)
        .map(|_| WORDS[rng.random_range(0..WORDS.len())].to_owned())
        .collect();
    if rng.random_range(0..4) == 0 {
        // Raw random characters, including controls and non-ASCII.
        let len = rng.random_range(0..40);
        words.push(
            (0..len)
                .map(|_| char::from_u32(rng.random_range(0..0x3000)).unwrap_or('?'))
                .collect(),
        );
    }
    words.join(" ")
}

#[test]
fn random_command_lines_never_panic_and_refusals_say_why() {
    let drill = load_file(Path::new(MONDAY)).expect("monday-rush loads");
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let total = cases(3000);
    let mut session = Session::new(drill.clone(), None);
    for i in 0..total {
        let line = random_line(&mut rng);
        if let Err(e) = command::parse(&line, &drill) {
            assert!(!e.message.trim().is_empty(), "an empty error for {line:?}");
        }
        match session.execute(&line) {
            Ok(Some(accepted)) => assert!(accepted.at <= session.now(), "{line:?}"),
            Ok(None) => {}
            Err(e) => assert!(!e.message.trim().is_empty(), "an empty error for {line:?}"),
        }
        // A fresh session now and then, so that lines also meet a drill that has not ended.
        if session.ended().is_some() || i % 50 == 49 {
            session = Session::new(drill.clone(), None);
        }
    }
}

/// The reference response's transcript, as bytes and as its lines.
fn reference_transcript() -> (Vec<u8>, Vec<Line>) {
    let text = monday_text();
    let drill = firedrill::drill::load_str("monday-rush", &text).unwrap();
    let header = Header::new(&text, &drill, drill.seed, ClockMode::Turns, 1.0);
    let says = drill.reference.clone();
    let mut session = Session::new(drill, None);
    let mut lines = Vec::new();
    play::play(&mut session, &says, &mut |_, step| {
        if let play::Step::Accepted(a) = step {
            lines.push(Line {
                at_ns: a.at.nanos(),
                role: a.role,
                input: a.input,
                ..Line::default()
            });
        }
    });
    assert!(lines.len() >= 5, "the reference response has commands");
    let mut bytes = serde_json::to_vec(&header).unwrap();
    bytes.push(b'\n');
    for l in &lines {
        bytes.extend(serde_json::to_vec(l).unwrap());
        bytes.push(b'\n');
    }
    (bytes, lines)
}

/// Where each line of `bytes` starts (offset of its first byte).
fn line_starts(bytes: &[u8]) -> Vec<usize> {
    std::iter::once(0)
        .chain(
            bytes
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .filter(|i| *i < bytes.len())
        .collect()
}

/// Reads damaged `bytes`: a valid transcript or a clear error, never a panic.
fn read(bytes: &[u8]) -> Result<Transcript, TranscriptError> {
    let result = Transcript::parse(Path::new("fuzz.jsonl"), bytes);
    if let Err(e) = &result {
        assert!(e.to_string().starts_with("fuzz.jsonl"), "{e}");
    }
    result
}

#[test]
fn damaged_transcripts_keep_every_command_before_the_damage() {
    let (whole, lines) = reference_transcript();
    let starts = line_starts(&whole);
    // The line (0 = header) that holds byte `at`.
    let line_of = |at: usize| starts.iter().rposition(|s| *s <= at).unwrap_or(0);
    let mut rng = ChaCha8Rng::seed_from_u64(1212);
    let total = cases(300);
    for case in 0..total {
        let kind = case % 4;
        let mut bytes = whole.clone();
        // The first command line the damage touches (lines before it must be kept).
        let damaged = match kind {
            0 => {
                // Truncated anywhere after the header: a kill mid-write.
                let cut = rng.random_range(starts[1]..=whole.len());
                bytes.truncate(cut);
                let t = read(&bytes).expect("a truncated transcript still reads");
                // Lines whose JSON is complete before the cut are kept, with or without
                // their newline; a line cut inside its JSON is torn.
                let kept = lines
                    .iter()
                    .enumerate()
                    .take_while(|(i, _)| {
                        let next = starts.get(i + 2).copied().unwrap_or(whole.len());
                        cut >= next - 1
                    })
                    .count();
                assert_eq!(t.lines, lines[..kept], "cut at byte {cut}");
                let torn = starts.get(kept + 1).is_some_and(|s| cut > *s);
                assert_eq!(t.torn_tail, torn, "cut at byte {cut}");
                continue;
            }
            1 => {
                // One byte flipped in a command line.
                let at = rng.random_range(starts[1]..whole.len());
                bytes[at] ^= 1 << rng.random_range(0..8);
                line_of(at) - 1
            }
            2 => {
                // A command line given twice.
                let i = rng.random_range(1..starts.len());
                let end = starts.get(i + 1).copied().unwrap_or(whole.len());
                let copy = whole[starts[i]..end].to_vec();
                bytes.splice(end..end, copy);
                i
            }
            _ => {
                // A command line removed.
                let i = rng.random_range(1..starts.len());
                let end = starts.get(i + 1).copied().unwrap_or(whole.len());
                bytes.drain(starts[i]..end);
                i - 1
            }
        };
        match read(&bytes) {
            Ok(t) => {
                assert!(t.lines.len() >= damaged, "case {case}");
                assert_eq!(
                    t.lines[..damaged],
                    lines[..damaged],
                    "case {case} (kind {kind})"
                );
                // Replay answers with a session or a clear refusal (every few cases: replay
                // runs the whole drill).
                if case % 25 < 2
                    && let Err(e) = t.replay(Path::new("fuzz.jsonl"))
                {
                    assert!(e.to_string().starts_with("fuzz.jsonl"), "{e}");
                }
            }
            Err(TranscriptError::Malformed { line, .. }) => {
                assert!(
                    line >= damaged + 2,
                    "case {case}: refused line {line}, before the damage"
                );
            }
            Err(e) => panic!("case {case}: unexpected error {e}"),
        }
    }
}
