//! Text written for people: no output a person reads — the prompt's session, summaries,
//! `check`, debriefs in every format, what-if pages, the facilitator's war-room stream (in
//! `serve.rs`) — carries Rust's debug text (`AdmissionLimit { rps: Param("rps") }`,
//! `Some(..)`), for any drill of the library.

use std::path::Path;

/// The first Debug-shaped run in `text`: a struct literal (`Name { field: `), a `Param("`, a
/// `Some(` or a `None` standing for a value.
pub fn debug_shaped(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    for (i, _) in text.match_indices(" { ") {
        // `Name { field:` with an upper-case name right before.
        let before = &text[..i];
        let name: String = before
            .chars()
            .rev()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        let after = &text[i + 3..];
        let field: String = after
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        if name.chars().last().is_some_and(|c| c.is_ascii_uppercase())
            && !field.is_empty()
            && after[field.len()..].starts_with(':')
        {
            let start = i.saturating_sub(30);
            let end = (i + 40).min(bytes.len());
            return Some(text[start..end].to_owned());
        }
    }
    for marker in ["Param(\"", "Some(", "Literal("] {
        if let Some(at) = text.find(marker) {
            let start = at.saturating_sub(30);
            let end = (at + 40).min(text.len());
            return Some(text.get(start..end).unwrap_or(marker).to_owned());
        }
    }
    None
}

/// The text a browser shows of an HTML page: styles, scripts and tags left out.
fn visible(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let skip_to = if tail.starts_with("<style") {
            tail.find("</style>").map(|e| e + "</style>".len())
        } else if tail.starts_with("<script") {
            tail.find("</script>").map(|e| e + "</script>".len())
        } else {
            tail.find('>').map(|e| e + 1)
        };
        match skip_to {
            Some(n) => rest = &tail[n..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

fn firedrill(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("firedrill runs");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    text
}

#[test]
fn the_debug_shape_finder_finds_debug_text_and_passes_prose() {
    assert!(
        debug_shaped("throttle does: AdmissionLimit { rps: Param(\"rps\") } (after 1m)").is_some()
    );
    assert!(debug_shaped("timeout: Some(2s)").is_some());
    assert!(debug_shaped("throttle rps=150: admits at most 150 requests/s (in 1m)").is_none());
    assert!(debug_shaped("the rule { $labels.pool } fires").is_none());
}

#[test]
fn no_output_a_person_reads_carries_debug_text() {
    let dir = crate::scratch_dir("words", "library");
    let mut drills: Vec<_> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("drills"))
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "ron"))
            .collect();
    drills.sort();
    assert!(drills.len() >= 12, "the library is there");
    let mut found = Vec::new();
    for drill in &drills {
        let d = drill.to_str().unwrap();
        let name = drill.file_stem().unwrap().to_string_lossy().into_owned();
        let transcript = dir.join(format!("{name}.jsonl"));
        let t = transcript.to_str().unwrap();
        let mut outputs = vec![
            ("check", firedrill(&["check", d])),
            ("simulate", firedrill(&["simulate", d])),
            (
                "play",
                firedrill(&["play", d, "--reference", "--no-record", "--transcript", t]),
            ),
        ];
        outputs.push(("replay", firedrill(&["replay", t])));
        outputs.push(("debrief md", firedrill(&["debrief", t, "--format", "md"])));
        outputs.push((
            "debrief json",
            firedrill(&["debrief", t, "--format", "json"]),
        ));
        outputs.push((
            "debrief html",
            visible(&firedrill(&["debrief", t, "--format", "html"])),
        ));
        for (what, text) in outputs {
            if let Some(run) = debug_shaped(&text) {
                found.push(format!("{name}: {what}: …{run}…"));
            }
        }
    }
    // What-if pages of a change, as people read them.
    for format in ["text", "md", "html"] {
        let text = firedrill(&[
            "whatif",
            "drills/monday-rush.ron",
            "drills/changes/monday-pool-40.ron",
            "--format",
            format,
        ]);
        let text = if format == "html" {
            visible(&text)
        } else {
            text
        };
        if let Some(run) = debug_shaped(&text) {
            found.push(format!("whatif {format}: …{run}…"));
        }
    }
    assert!(
        found.is_empty(),
        "debug text reaches people:\n{}",
        found.join("\n")
    );
}
