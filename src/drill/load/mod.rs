//! Loading a drill from text or a file, reporting every problem at once with its position.
//!
//! serde stops at the first error, so the loader does not hand ron the whole file. It first
//! reads the file's shape with the span-keeping reader in [`super::cst`] (syntax errors end
//! here), then has ron deserialize each top-level field of `Drill(...)` and each element of
//! the list-valued sections on its own, mapping ron's positions back into the file, so that
//! a typo in one pool does not hide a typo in another. Last, it runs [`super::validate`] on
//! what it could read and puts each semantic problem on the value its path names.
//!
//! This module owns file handling (size cap, UTF-8, directories) and [`Problem`], the one
//! diagnostic type, with its miette and plain-text renderings. It does not decide what is
//! semantically valid (that is [`super::validate`]) nor print reports for many files
//! (that is [`super::check`]).
//!
//! The submodules: `reader` reads the document into a drill, `place` words ron's errors and
//! places semantic problems, `problem` holds [`Problem`] and [`LoadError`] and renders them.
//! This file owns file handling and the order of the steps, and the `Loader`'s state.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;

use miette::{NamedSource, SourceSpan};

use super::cst::{self, Span};
use super::spec::Drill;
use super::validate::{FieldPath, Namespace};

mod change;
mod place;
mod problem;
mod reader;
mod responses;

pub use change::{load_change_file, load_change_str};
pub use responses::{InputCheck, Responses, ScriptedLine, load_responses_file, load_responses_str};

use problem::Related;
pub use problem::{LoadError, PlainLoadError, PlainProblem, Problem};

/// The largest drill file read, in bytes. Real drills are a few kilobytes.
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;

/// Problems kept per file; the rest are counted.
const MAX_PROBLEMS: usize = 100;

/// Reads and loads a drill file.
///
/// # Errors
/// [`LoadError::Io`] if the file is missing, a directory or unreadable;
/// [`LoadError::Invalid`] with every problem if it is too large, not UTF-8 text, or not a
/// valid drill.
pub fn load_file(path: &Path) -> Result<Drill, LoadError> {
    let (name, text) = read_file(path, "a drill")?;
    load_str(&name, &text)
}

/// Reads a RON file of the drill format (`what` names it in messages): its name for
/// diagnostics and its text.
fn read_file(path: &Path, what: &str) -> Result<(String, String), LoadError> {
    let name = path.display().to_string();
    let io_error = |source: io::Error| LoadError::Io {
        path: path.to_owned(),
        source,
    };
    let metadata = fs::metadata(path).map_err(io_error)?;
    if metadata.is_dir() {
        return Err(io_error(io::Error::new(
            io::ErrorKind::IsADirectory,
            "it is a directory",
        )));
    }
    if !metadata.is_file() {
        // A FIFO with no writer would block the open for ever; a device may never end.
        return Err(io_error(io::Error::other(format!(
            "it is not a regular file (a pipe, a device or a socket); give the path of {what} file"
        ))));
    }
    if metadata.len() > MAX_FILE_BYTES {
        return Err(too_large(&name, metadata.len()));
    }
    let mut bytes = Vec::new();
    fs::File::open(path)
        .and_then(|file| file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(io_error)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(&name, bytes.len() as u64));
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok((name, text)),
        Err(error) => {
            let at = error.utf8_error().valid_up_to();
            let byte = error.as_bytes()[at];
            let source = Source::new(&name, &String::from_utf8_lossy(error.as_bytes()));
            let problem = source
                .problem(
                    Some(Span::new(at, at + 1)),
                    format!("the file is not UTF-8 text (byte 0x{byte:02x})"),
                    "not UTF-8",
                )
                .with_hint(Some(
                    "a drill is a UTF-8 text file; is this the right file?".to_owned(),
                ));
            Err(invalid(&name, vec![problem]))
        }
    }
}

fn too_large(name: &str, bytes: u64) -> LoadError {
    let source = Source::new(name, "");
    let problem = source
        .problem(
            None,
            format!(
                "the file is {}; a drill file may be at most {} MB",
                crate::files::human_size(bytes),
                MAX_FILE_BYTES / (1024 * 1024)
            ),
            "too large",
        )
        .with_hint(Some(
            "a drill is a few kilobytes of RON; is this the right file?".to_owned(),
        ));
    invalid(name, vec![problem])
}

/// The error for `problems`: the first [`MAX_PROBLEMS`] in file order, each given its line
/// and column (computed here, in one pass, so that many problems in a large file stay cheap).
fn invalid(name: &str, mut problems: Vec<Problem>) -> LoadError {
    problems.sort_by_key(|p| p.span.map_or(0, |s| s.offset()));
    let omitted = problems.len().saturating_sub(MAX_PROBLEMS);
    problems.truncate(MAX_PROBLEMS);
    if let Some(first) = problems.first() {
        let text = Arc::clone(first.source.inner());
        let offsets: Vec<usize> = problems
            .iter()
            .flat_map(|p| {
                let related = p.related.iter().map(|r| r.span.offset());
                p.span.map(|s| s.offset()).into_iter().chain(related)
            })
            .collect();
        let mut positions = cst::line_cols(&text, &offsets).into_iter();
        for problem in &mut problems {
            if problem.span.is_some() {
                (problem.line, problem.column) = positions.next().unwrap_or((1, 1));
            }
            for related in &mut problem.related {
                (related.line, related.column) = positions.next().unwrap_or((1, 1));
            }
        }
    }
    LoadError::Invalid {
        file: name.to_owned(),
        problems,
        omitted,
    }
}

/// Loads a drill from text; `name` names it in diagnostics (usually the file's path).
///
/// # Errors
/// [`LoadError::Invalid`] with every problem found: syntax errors, or else every field that
/// does not deserialize and every semantic problem of the rest.
pub fn load_str(name: &str, text: &str) -> Result<Drill, LoadError> {
    let (source, text, document) = parse_source(
        name,
        text,
        "a drill file holds one `Drill(name: ..., ...)`; see docs/drill-format.md",
    )?;
    let mut loader = Loader::new(&source, &text);
    let drill = loader.drill(&document);
    match drill {
        Some(drill) if loader.problems.is_empty() => Ok(drill),
        _ => Err(invalid(name, loader.problems)),
    }
}

/// The checks every file of the format gets before it is read (size, emptiness, NUL bytes,
/// a byte-order mark read as spaces) and its syntax tree; `empty_hint` says what the file
/// should hold.
fn parse_source(
    name: &str,
    text: &str,
    empty_hint: &str,
) -> Result<(Source, String, cst::Document), LoadError> {
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(name, text.len() as u64));
    }
    // A UTF-8 byte-order mark (some editors write one) is read as three spaces, so that
    // every byte offset, and so every line and column, stays where it was.
    let text = match text.strip_prefix('\u{feff}') {
        Some(rest) => format!("   {rest}"),
        None => text.to_owned(),
    };
    let source = Source::new(name, &text);
    if text.trim().is_empty() {
        let problem = source
            .problem(Some(Span::new(0, 0)), "the file is empty", "empty")
            .with_hint(Some(empty_hint.to_owned()));
        return Err(invalid(name, vec![problem]));
    }
    if let Some(at) = text.find('\0') {
        let problem = source
            .problem(
                Some(Span::new(at, at + 1)),
                "the file contains a NUL byte: it is not text",
                "NUL byte",
            )
            .with_hint(Some(
                "a drill is a UTF-8 text file; is this the right file?".to_owned(),
            ));
        return Err(invalid(name, vec![problem]));
    }
    match cst::parse(&text) {
        Ok(document) => Ok((source, text, document)),
        Err(errors) => {
            let problems = errors
                .into_iter()
                .map(|e| {
                    let mut problem = source
                        .problem(Some(e.span), e.message, e.label)
                        .with_hint(e.hint);
                    if let Some((span, label)) = e.related {
                        problem.related.push(Related::new(span, label));
                    }
                    problem
                })
                .collect();
            Err(invalid(name, problems))
        }
    }
}

/// The file's name and text, shared by all its problems.
struct Source {
    text: Arc<str>,
    named: NamedSource<Arc<str>>,
}

impl Source {
    fn new(name: &str, text: &str) -> Self {
        // Control characters (binary garbage) would garble a terminal: show them as `?`,
        // keeping every byte offset.
        let shown: Arc<str> = if text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            text.chars()
                .map(|c| {
                    if c.is_control() && !matches!(c, '\n' | '\r' | '\t') {
                        "?".repeat(c.len_utf8())
                    } else {
                        c.to_string()
                    }
                })
                .collect::<String>()
                .into()
        } else {
            text.into()
        };
        Source {
            named: NamedSource::new(name, Arc::clone(&shown)),
            text: shown,
        }
    }

    fn problem(
        &self,
        span: Option<Span>,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Problem {
        Problem {
            source: self.named.clone(),
            span: span.map(|s| SourceSpan::from(s.start..s.end.min(self.text.len()))),
            // Set by `invalid`, once the problems are sorted and cut to the first few.
            line: 1,
            column: 1,
            message: message.into(),
            label: label.into(),
            hint: None,
            related: Vec::new(),
        }
    }
}

/// What could not be read of one kind of named thing, to stay quiet about references to it.
#[derive(Debug, Default)]
struct Unread {
    names: Vec<String>,
    /// An element without a readable name, or a whole section, could not be read.
    unnamed: bool,
}

/// Reads a parsed document piece by piece into a [`Drill`], collecting problems.
struct Loader<'s> {
    source: &'s Source,
    text: &'s str,
    options: ron::Options,
    problems: Vec<Problem>,
    /// Paths (in the file) of values that did not deserialize or are missing.
    failed: HashSet<FieldPath>,
    /// Every path that leads to a failed one (`pools` for `pools[2]`).
    leads_to_failed: HashSet<FieldPath>,
    /// Paths (in the file) of list elements that did deserialize.
    read_ok: HashSet<FieldPath>,
    unread: HashMap<Namespace, Unread>,
    /// For each list (by path in the file): the file index of each element that was read.
    file_indices: HashMap<FieldPath, Vec<usize>>,
}

impl<'s> Loader<'s> {
    fn new(source: &'s Source, text: &'s str) -> Self {
        Loader {
            source,
            text,
            options: super::ron_options(),
            problems: Vec::new(),
            failed: HashSet::new(),
            leads_to_failed: HashSet::new(),
            read_ok: HashSet::new(),
            unread: HashMap::new(),
            file_indices: HashMap::new(),
        }
    }

    /// Remembers that the value at `path` could not be read.
    fn fail(&mut self, path: FieldPath) {
        let segments = path.segments();
        for n in 1..segments.len() {
            self.leads_to_failed
                .insert(FieldPath::from(segments[..n].to_vec()));
        }
        self.failed.insert(path);
    }

    fn report(&mut self, problem: Problem) {
        self.problems.push(problem);
    }

    /// Reports a problem at `span` with how to fix it.
    fn report_at(
        &mut self,
        span: Span,
        message: impl Into<String>,
        label: impl Into<String>,
        hint: impl Into<String>,
    ) {
        let problem = self.at(span, message, label).with_hint(Some(hint.into()));
        self.report(problem);
    }

    /// Remembers that something of `namespace` could not be read, name and all.
    fn unread_unnamed(&mut self, namespace: Namespace) {
        self.unread.entry(namespace).or_default().unnamed = true;
    }

    fn at(&self, span: Span, message: impl Into<String>, label: impl Into<String>) -> Problem {
        self.source.problem(Some(span), message, label)
    }
}
