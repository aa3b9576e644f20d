//! Reading a responses file (`play --responses`, `check DRILL --responses`) against the drill it
//! plays: a RON list of `Say(at: ..., role: ..., input: ...)` lines, every bad line reported at
//! once at its line and column — syntax, unknown fields, a time that does not parse or comes
//! after the drill's end, an unknown role, an unknown command, an action's param out of
//! bounds, and whatever else the caller's command parser refuses.
//!
//! A bad line does not hide the good ones: the lines that read and check cleanly are returned
//! beside the problems, so a caller may skip the bad lines (`--skip-bad-lines`). How the lines
//! play is the session's; this module only reads.

use std::path::Path;

use super::place::head;
use super::{LoadError, Loader, invalid, parse_source, read_file};
use crate::drill::cst::{self, Kind};
use crate::drill::spec::{Drill, Say};
use crate::drill::validate::{self, FieldPath, Segment};

const EMPTY_HINT: &str = "a responses file is a list of lines: [Say(at: After(FirstPage, \"1m\"), \
                          role: \"ops\", input: \"ack\"), ...]; see docs/drill-format.md, \
                          \"Responses files\"";

/// Why a typed line would be refused, from the session's own parser: what, and how to fix it.
pub type InputCheck<'a> = &'a dyn Fn(&str) -> Result<(), (String, Option<String>)>;

/// One line of a responses file that read and checked cleanly.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptedLine {
    pub say: Say,
    /// 1-based line of the file where the `Say(...)` begins.
    pub line: usize,
}

/// A responses file read against its drill: the good lines, and the bad ones' problems.
#[derive(Debug)]
pub struct Responses {
    /// The good lines, in file order.
    pub lines: Vec<ScriptedLine>,
    /// Every bad line's problems ([`LoadError::Invalid`]), if there are any.
    pub problems: Option<LoadError>,
    /// How many elements of the list were bad (each may have several problems).
    pub bad: usize,
}

/// Reads a responses file and checks it against `drill`; `input_check` is the session's
/// parser, run on each line's input that the drill's own checks pass.
///
/// # Errors
/// [`LoadError::Io`] if the file cannot be read; [`LoadError::Invalid`] when nothing of it
/// can be read line by line (not UTF-8, empty, a syntax error, not a list).
pub fn load_responses_file(
    path: &Path,
    drill: &Drill,
    input_check: InputCheck<'_>,
) -> Result<Responses, LoadError> {
    let (name, text) = read_file(path, "a responses")?;
    load_responses_str(&name, &text, drill, input_check)
}

/// [`load_responses_file`] from text; `name` names it in diagnostics.
///
/// # Errors
/// As [`load_responses_file`].
pub fn load_responses_str(
    name: &str,
    text: &str,
    drill: &Drill,
    input_check: InputCheck<'_>,
) -> Result<Responses, LoadError> {
    let (source, text, document) = parse_source(name, text, EMPTY_HINT)?;
    let mut loader = Loader::new(&source, &text);
    loader.extensions(&document);
    let root = &document.root;
    let Kind::List(items) = &root.kind else {
        let found = loader.snippet(root);
        loader.report_at(
            head(&text, root),
            format!("expected a list of `Say(...)` lines, found `{found}`"),
            "not a list",
            EMPTY_HINT,
        );
        return Err(invalid(name, loader.problems));
    };
    let list = FieldPath::default();
    let mut read: Vec<(usize, Say)> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = FieldPath::from(vec![Segment::Index(i)]);
        if let Some(say) = loader.read::<Say>(item, None, &path) {
            loader.read_ok.insert(path);
            read.push((i, say));
        }
    }
    loader
        .file_indices
        .insert(list, read.iter().map(|(i, _)| *i).collect());
    let says: Vec<Say> = read.iter().map(|(_, s)| s.clone()).collect();
    let mut bad: Vec<bool> = (0..items.len())
        .map(|i| !read.iter().any(|(j, _)| *j == i))
        .collect();
    for problem in validate::scripted_lines(drill, &says) {
        if let Some(Segment::Index(j)) = problem.path.segments().first() {
            bad[read[*j].0] = true;
        }
        loader.semantic(root, &problem);
    }
    for (i, say) in &read {
        if bad[*i] {
            continue;
        }
        if let Err((message, hint)) = input_check(&say.input) {
            bad[*i] = true;
            let node = items[*i].field("input").map_or(&items[*i], |f| &f.value);
            let problem = loader
                .at(node.span, message, "refused")
                .with_hint(Some(hint.unwrap_or_else(|| {
                "write the line as the role would type it at the prompt; `help` lists the commands"
                    .to_owned()
            })));
            loader.report(problem);
        }
    }
    let starts: Vec<usize> = read.iter().map(|(i, _)| items[*i].span.start).collect();
    let lines = cst::line_cols(&text, &starts)
        .into_iter()
        .zip(read)
        .filter(|(_, (i, _))| !bad[*i])
        .map(|((line, _), (_, say))| ScriptedLine { say, line })
        .collect();
    let count = bad.iter().filter(|b| **b).count();
    Ok(Responses {
        lines,
        problems: (!loader.problems.is_empty()).then(|| invalid(name, loader.problems)),
        bad: count,
    })
}
