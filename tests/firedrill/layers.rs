//! The layers ARCHITECTURE.md draws, kept by reading the code: every `crate::NAME` that a file
//! in `src/` names (in `use` lines, grouped `use crate::{..}` lines and inline paths; comments
//! aside) must be a layer its own layer may import. The game, the engine, telemetry and the
//! format never reach a front-end; the war room reaches the engine only through the session
//! and scoring; telemetry depends on nothing above the format.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Each top-level module of `src/` and the modules it may import (itself always).
const LAYERS: &[(&str, &[&str])] = &[
    // Utilities every layer may use: bounded file reads, shown text, data directories.
    ("files", &[]),
    ("sanitize", &[]),
    ("paths", &[]),
    // The format, at the bottom.
    ("drill", &["files"]),
    // Passive data: buckets, histograms, the request log, the truth boundary.
    ("telemetry", &["drill"]),
    // The engine writes telemetry.
    ("sim", &["drill", "telemetry"]),
    // The game: no I/O, no front-end.
    (
        "session",
        &["drill", "telemetry", "sim", "files", "sanitize"],
    ),
    // Scoring a finished session, and the one no-response run.
    (
        "score",
        &["drill", "telemetry", "sim", "session", "files", "sanitize"],
    ),
    // Products of a run: reports, exports, calibration, what-if, fitting, the history store.
    ("report", SERVICES),
    ("export", SERVICES),
    ("calibrate", SERVICES),
    ("whatif", SERVICES),
    ("fit", SERVICES),
    ("history", SERVICES),
    // The front-ends reach the engine only through the session and scoring: no `sim`.
    (
        "front",
        &[
            "drill",
            "telemetry",
            "session",
            "score",
            "report",
            "export",
            "calibrate",
            "whatif",
            "history",
            "files",
            "sanitize",
            "paths",
        ],
    ),
    // The command line: everything.
    ("cli", ALL),
    ("app", ALL),
];

const SERVICES: &[&str] = &[
    "drill",
    "telemetry",
    "sim",
    "session",
    "score",
    "report",
    "export",
    "calibrate",
    "whatif",
    "fit",
    "history",
    "files",
    "sanitize",
    "paths",
];

const ALL: &[&str] = &[
    "drill",
    "telemetry",
    "sim",
    "session",
    "score",
    "report",
    "export",
    "calibrate",
    "whatif",
    "fit",
    "history",
    "front",
    "cli",
    "app",
    "files",
    "sanitize",
    "paths",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`src/sim/core.rs` → `sim`).
fn layer_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_owned())
}

/// The leading identifier of `text` (`sim` of `sim::SimTime`).
fn ident(text: &str) -> String {
    text.trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// Every top-level module named by `crate::` in `text`, with its line number: `crate::a::b`,
/// and each top-level item of a `use crate::{a::b, c::{d, e}}` group, on one line or several.
/// Comment lines (`//`, `//!`, `///`) and trailing `// ...` comments are passed over.
fn named(text: &str) -> Vec<(usize, String)> {
    // The code without comments, each byte knowing its line.
    let mut code = String::new();
    let mut line_of = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if raw.trim_start().starts_with("//") {
            continue;
        }
        let kept = raw.split(" // ").next().unwrap_or(raw);
        code.push_str(kept);
        code.push('\n');
        line_of.extend(std::iter::repeat_n(i + 1, kept.len() + 1));
    }
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = code[from..].find("crate::") {
        let start = from + at;
        let after = start + "crate::".len();
        from = after;
        let line = line_of[start];
        if !code[after..].starts_with('{') {
            found.push((line, ident(&code[after..])));
            continue;
        }
        // A group: split its body at top-level commas.
        let mut depth = 0;
        let mut item_start = after + 1;
        for (j, c) in code[after..].char_indices() {
            let j = after + j;
            match c {
                '{' => depth += 1,
                '}' | ',' if depth == 1 => {
                    let name = ident(&code[item_start..j]);
                    if !name.is_empty() {
                        found.push((line_of[item_start.min(j)], name));
                    }
                    item_start = j + 1;
                    if c == '}' {
                        from = j;
                        break;
                    }
                }
                '}' => depth -= 1,
                _ => {}
            }
        }
    }
    found
}

#[test]
fn every_module_imports_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut broken = Vec::new();
    let mut unknown = BTreeSet::new();
    for file in &files {
        let Some(layer) = layer_of(&src, file) else {
            continue;
        };
        if matches!(layer.as_str(), "lib" | "main") {
            continue;
        }
        let Some((_, allowed)) = LAYERS.iter().find(|(name, _)| *name == layer) else {
            unknown.insert(layer);
            continue;
        };
        let text = std::fs::read_to_string(file).expect("a source file");
        for (line, name) in named(&text) {
            if name != layer && !allowed.contains(&name.as_str()) {
                broken.push(format!(
                    "{}:{line}: `{layer}` imports `crate::{name}`",
                    file.strip_prefix(&src).unwrap().display()
                ));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "modules with no place in the layers (add them to LAYERS and to ARCHITECTURE.md): {unknown:?}"
    );
    assert!(
        broken.is_empty(),
        "imports against the layers of ARCHITECTURE.md:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_import_reader_sees_every_form_of_use() {
    let text = "use crate::sim::SimTime;\n\
                // use crate::serve::x;\n\
                use crate::{drill::Drill, score::{self, impact}};\n\
                use crate::{\n    telemetry::series::Bucket,\n    session::{Session, play},\n};\n\
                let x = crate::front::http::serve(y);\n";
    let names: Vec<String> = named(text).into_iter().map(|(_, n)| n).collect();
    assert_eq!(
        names,
        ["sim", "drill", "score", "telemetry", "session", "front"]
    );
}
#[test]
fn no_file_in_src_is_too_long_to_hold_in_mind() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).ok()?.lines().count();
            (n > 1000).then(|| format!("{} ({n} lines)", f.strip_prefix(&src).unwrap().display()))
        })
        .collect();
    assert!(long.is_empty(), "split these along their seams: {long:?}");
}
