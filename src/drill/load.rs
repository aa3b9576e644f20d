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

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode, SourceSpan};
use serde::de::DeserializeOwned;

use super::cst::{self, Document, Field, Kind, Node, Span};
use super::duration::{Duration, DurationError};
use super::spec::{Drill, Role, Service, Traffic};
use super::suggest;
use super::validate::{self, FieldPath, Namespace, Segment, SemanticProblem};

/// The largest drill file read, in bytes. Real drills are a few kilobytes.
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;

/// Problems kept per file; the rest are counted.
const MAX_PROBLEMS: usize = 100;

/// The fields of `Drill(...)`, in the order of [`Drill`]. A unit test keeps it in step with serde.
const DRILL_FIELDS: &[&str] = &[
    "name",
    "title",
    "briefing",
    "clock_start",
    "duration",
    "seed",
    "telemetry",
    "traffic",
    "pools",
    "service",
    "faults",
    "alerts",
    "injects",
    "actions",
    "root_cause",
    "roles",
    "objectives",
    "reference",
    "wrong_responses",
    "debrief",
    "dashboard",
    "shed_tolerance",
];

/// The fields of `Drill(...)` without a default, and how to write each.
const REQUIRED_FIELDS: &[(&str, &str)] = &[
    ("name", "name: \"my-drill\""),
    ("title", "title: \"One line for the team\""),
    ("duration", "duration: \"2h\""),
    ("traffic", "traffic: Traffic(start_rps: 20.0)"),
    ("service", "service: Service(name: \"api\", steps: [...])"),
];

/// Fields whose values are durations, for hints when one is written without quotes.
const DURATION_FIELDS: &[&str] = &[
    "duration",
    "at",
    "ramp",
    "lasts",
    "over",
    "acquire_timeout",
    "delay",
    "for",
    "bucket",
    "window",
    "detect_within",
    "mitigate_within",
    "mean",
    "median",
    "p99",
    "min",
    "max",
    "time",
    "due",
];

/// One problem in a drill file: where it is, what is wrong, and how to fix it.
///
/// Renders with miette (source, labelled span, help) or as plain text with [`Problem::plain`]:
/// `file:line:col: error: message`, then `  help: hint`.
#[derive(Debug, Clone)]
pub struct Problem {
    source: NamedSource<Arc<str>>,
    span: Option<SourceSpan>,
    line: usize,
    column: usize,
    message: String,
    label: String,
    hint: Option<String>,
    related: Vec<Related>,
}

/// A second place a problem points at, such as the first definition of a duplicate.
#[derive(Debug, Clone)]
struct Related {
    span: SourceSpan,
    line: usize,
    column: usize,
    label: String,
}

impl Related {
    fn new(span: Span, label: impl Into<String>) -> Self {
        Related {
            span: SourceSpan::from(span.start..span.end),
            // Set by `invalid`, with the problem's.
            line: 1,
            column: 1,
            label: label.into(),
        }
    }
}

impl Problem {
    /// The file's name as given to the loader.
    pub fn file(&self) -> &str {
        self.source.name()
    }

    /// 1-based line of the problem (1 for problems with the whole file).
    pub fn line(&self) -> usize {
        self.line
    }

    /// 1-based column, in characters (1 for problems with the whole file).
    pub fn column(&self) -> usize {
        self.column
    }

    /// What is wrong, as a sentence without a final period.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// How to fix it, if there is something useful to say.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// The few words shown at the spot.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The byte range the problem points at, if it points at one.
    pub fn span(&self) -> Option<std::ops::Range<usize>> {
        self.span.map(|s| s.offset()..s.offset() + s.len())
    }

    /// The plain-text rendering, for logs, pipes and tests.
    pub fn plain(&self) -> PlainProblem<'_> {
        PlainProblem(self)
    }

    fn with_hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

impl Diagnostic for Problem {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.hint
            .as_ref()
            .map(|hint| Box::new(hint) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.span
            .is_some()
            .then_some(&self.source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.span?;
        let primary = LabeledSpan::new_primary_with_span(Some(self.label.clone()), span);
        let related = self
            .related
            .iter()
            .map(|r| LabeledSpan::new_with_span(Some(r.label.clone()), r.span));
        Some(Box::new(std::iter::once(primary).chain(related)))
    }
}

/// `file:line:col: error: message` and a `  help:` line; related places as `note:` lines.
pub struct PlainProblem<'a>(&'a Problem);

impl fmt::Display for PlainProblem<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.0;
        writeln!(
            f,
            "{}:{}:{}: error: {}",
            p.file(),
            p.line,
            p.column,
            p.message
        )?;
        for related in &p.related {
            writeln!(
                f,
                "{}:{}:{}: note: {}",
                p.file(),
                related.line,
                related.column,
                related.label
            )?;
        }
        if let Some(hint) = &p.hint {
            writeln!(f, "  help: {hint}")?;
        }
        Ok(())
    }
}

/// Why a drill did not load: the file could not be read, or it has problems (all of them).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file is missing, a directory, or unreadable: not a finding about a drill.
    #[error("cannot read {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    /// The text is not a valid drill; `problems` is in file order, `omitted` counts the rest.
    #[error("{file}: {}", count_problems(problems.len() + omitted))]
    Invalid {
        file: String,
        problems: Vec<Problem>,
        omitted: usize,
    },
}

fn count_problems(n: usize) -> String {
    if n == 1 {
        "1 problem".to_owned()
    } else {
        format!("{n} problems")
    }
}

impl LoadError {
    /// Every problem found, in file order (none for an I/O error).
    pub fn problems(&self) -> &[Problem] {
        match self {
            LoadError::Io { .. } => &[],
            LoadError::Invalid { problems, .. } => problems,
        }
    }

    /// Whether the file could not be read at all (as opposed to holding an invalid drill).
    pub fn is_io(&self) -> bool {
        matches!(self, LoadError::Io { .. })
    }

    /// The plain-text rendering: every problem as `file:line:col: error: message`.
    pub fn plain(&self) -> PlainLoadError<'_> {
        PlainLoadError(self)
    }
}

impl Diagnostic for LoadError {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        match self {
            LoadError::Io { source, .. } => {
                io_hint(source).map(|h| Box::new(h) as Box<dyn fmt::Display>)
            }
            LoadError::Invalid { omitted: 0, .. } => None,
            LoadError::Invalid { omitted, .. } => Some(Box::new(format!(
                "{} more not shown; fix these first",
                count_problems(*omitted)
            ))),
        }
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        match self {
            LoadError::Io { .. } => None,
            LoadError::Invalid { problems, .. } => {
                Some(Box::new(problems.iter().map(|p| p as &dyn Diagnostic)))
            }
        }
    }
}

fn io_hint(error: &io::Error) -> Option<&'static str> {
    match error.kind() {
        io::ErrorKind::NotFound => Some("check the path"),
        io::ErrorKind::IsADirectory => Some("pass drill files, e.g. `drills/*.ron`"),
        io::ErrorKind::PermissionDenied => Some("check the file's permissions"),
        _ => None,
    }
}

/// See [`LoadError::plain`].
pub struct PlainLoadError<'a>(&'a LoadError);

impl fmt::Display for PlainLoadError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            LoadError::Io { path, source } => {
                writeln!(f, "{}: error: cannot read: {source}", path.display())?;
                if let Some(hint) = io_hint(source) {
                    writeln!(f, "  help: {hint}")?;
                }
            }
            LoadError::Invalid {
                file,
                problems,
                omitted,
            } => {
                for problem in problems {
                    write!(f, "{}", problem.plain())?;
                }
                if *omitted > 0 {
                    writeln!(
                        f,
                        "{file}: error: {} more not shown",
                        count_problems(*omitted)
                    )?;
                }
            }
        }
        Ok(())
    }
}

/// Reads and loads a drill file.
///
/// # Errors
/// [`LoadError::Io`] if the file is missing, a directory or unreadable;
/// [`LoadError::Invalid`] with every problem if it is too large, not UTF-8 text, or not a
/// valid drill.
pub fn load_file(path: &Path) -> Result<Drill, LoadError> {
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
        return Err(io_error(io::Error::other(
            "it is not a regular file (a pipe, a device or a socket); give the path of a drill file",
        )));
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
        Ok(text) => load_str(&name, &text),
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
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(name, text.len() as u64));
    }
    // A UTF-8 byte-order mark (some editors write one) is read as three spaces, so that
    // every byte offset, and so every line and column, stays where it was.
    let unmarked;
    let text = match text.strip_prefix('\u{feff}') {
        Some(rest) => {
            unmarked = format!("   {rest}");
            unmarked.as_str()
        }
        None => text,
    };
    let source = Source::new(name, text);
    if text.trim().is_empty() {
        let problem = source
            .problem(Some(Span::new(0, 0)), "the file is empty", "empty")
            .with_hint(Some(
                "a drill file holds one `Drill(name: ..., ...)`; see docs/drill-format.md"
                    .to_owned(),
            ));
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
    let document = match cst::parse(text) {
        Ok(document) => document,
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
            return Err(invalid(name, problems));
        }
    };
    let mut loader = Loader::new(&source, text);
    let drill = loader.drill(&document);
    match drill {
        Some(drill) if loader.problems.is_empty() => Ok(drill),
        _ => Err(invalid(name, loader.problems)),
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

    /// Reads the whole drill; `None` if the root is not a struct at all.
    fn drill(&mut self, document: &Document) -> Option<Drill> {
        self.extensions(document);
        let root = &document.root;
        let fields = self.root_fields(root)?;
        let given = self.top_level_fields(root, fields);
        let value = |name: &str| given.get(name).map(|field| &field.value);
        let drill = Drill {
            name: self.top(value("name"), "name").unwrap_or_default(),
            title: self.top(value("title"), "title").unwrap_or_default(),
            briefing: self
                .top_optional(value("briefing"), "briefing")
                .unwrap_or_default(),
            clock_start: self
                .top(value("clock_start"), "clock_start")
                .unwrap_or_default(),
            // A drill of unknown length: no fault or inject is then reported as too late.
            duration: self
                .top(value("duration"), "duration")
                .unwrap_or(Duration::from_nanos(u64::MAX)),
            seed: self.top_optional(value("seed"), "seed").unwrap_or_default(),
            telemetry: self
                .top_optional(value("telemetry"), "telemetry")
                .unwrap_or_default(),
            traffic: self.top(value("traffic"), "traffic").unwrap_or(Traffic {
                arrivals: super::spec::Arrivals::default(),
                start_rps: 0.0,
                stages: Vec::new(),
            }),
            pools: self.list(
                value("pools"),
                FieldPath::root("pools"),
                Some((Namespace::Pool, "name")),
            ),
            service: self.service(value("service")),
            faults: self.list(
                value("faults"),
                FieldPath::root("faults"),
                Some((Namespace::Fault, "name")),
            ),
            alerts: self.list(
                value("alerts"),
                FieldPath::root("alerts"),
                Some((Namespace::Alert, "name")),
            ),
            injects: self.list(value("injects"), FieldPath::root("injects"), None),
            actions: self.list(
                value("actions"),
                FieldPath::root("actions"),
                Some((Namespace::Action, "name")),
            ),
            root_cause: self
                .top(value("root_cause"), "root_cause")
                .unwrap_or_default(),
            roles: self.roles(value("roles")),
            objectives: self
                .top(value("objectives"), "objectives")
                .unwrap_or_default(),
            reference: self.list(value("reference"), FieldPath::root("reference"), None),
            wrong_responses: self.list(
                value("wrong_responses"),
                FieldPath::root("wrong_responses"),
                None,
            ),
            debrief: self.top(value("debrief"), "debrief").unwrap_or_default(),
            dashboard: self.list(value("dashboard"), FieldPath::root("dashboard"), None),
            shed_tolerance: self
                .top_optional(value("shed_tolerance"), "shed_tolerance")
                .unwrap_or(super::spec::DEFAULT_SHED_TOLERANCE),
        };

        let unread_names = self
            .unread
            .iter()
            .map(|(namespace, unread)| (*namespace, unread.names.clone()))
            .collect();
        for problem in validate::validate_with(&drill, &unread_names) {
            self.semantic(root, &problem);
        }
        Some(drill)
    }

    /// Switches on the extensions of `#![enable(...)]` for every piece ron reads.
    fn extensions(&mut self, document: &Document) {
        for extension in &document.extensions {
            if let Some(flag) = ron::extensions::Extensions::from_ident(&extension.text) {
                self.options = self.options.clone().with_default_extension(flag);
                continue;
            }
            let known = [
                "implicit_some",
                "unwrap_newtypes",
                "unwrap_variant_newtypes",
                "explicit_struct_names",
            ];
            self.report_at(
                extension.span,
                format!("unknown RON extension `{}`", extension.text),
                "unknown extension",
                suggest::expected_one_of(&extension.text, &known),
            );
        }
    }

    /// The fields of the root `Drill(...)`; `None` (reported) if the root is not a struct.
    fn root_fields<'d>(&mut self, root: &'d Node) -> Option<&'d [Field]> {
        let fields: &[Field] = match &root.kind {
            Kind::Struct { fields, .. } => fields,
            Kind::Tuple { items, .. } if items.is_empty() => &[],
            _ => {
                let found = self.snippet(root);
                self.report_at(
                    head(self.text, root),
                    format!("expected `Drill(...)`, found `{found}`"),
                    "not a drill",
                    "a drill file holds one `Drill(name: ..., title: ..., ...)`",
                );
                return None;
            }
        };
        if let Some(name) = root.type_name()
            && name.text != "Drill"
        {
            let hint = if suggest::closest(&name.text, ["Drill"]).is_some() {
                "did you mean `Drill`?"
            } else {
                "a drill file holds one `Drill(name: ..., title: ..., ...)`"
            };
            self.report_at(
                name.span,
                format!("expected `Drill(...)`, found `{}(...)`", name.text),
                "not `Drill`",
                hint,
            );
        }
        Some(fields)
    }

    /// The known top-level fields by name, first occurrence only; reports unknown, repeated
    /// and missing fields (a required field is not reported missing when an unknown field
    /// looks like a misspelling of it).
    fn top_level_fields<'d>(
        &mut self,
        root: &Node,
        fields: &'d [Field],
    ) -> HashMap<&'d str, &'d Field> {
        let mut given: HashMap<&str, &Field> = HashMap::new();
        let mut meant: Vec<&str> = Vec::new();
        for field in fields {
            let name = field.name.text.as_str();
            if !DRILL_FIELDS.contains(&name) {
                meant.extend(suggest::closest(name, DRILL_FIELDS.iter().copied()));
                self.report_at(
                    field.name.span,
                    format!("unknown field `{name}` in `Drill`"),
                    "unknown field",
                    suggest::expected_one_of(name, DRILL_FIELDS),
                );
            } else if let Some(first) = given.get(name) {
                let mut problem = self
                    .at(
                        field.name.span,
                        format!("field `{name}` is given twice in `Drill`"),
                        "given again",
                    )
                    .with_hint(Some("remove one of them".to_owned()));
                problem
                    .related
                    .push(Related::new(first.name.span, "first given here"));
                self.report(problem);
            } else {
                given.insert(name, field);
            }
        }
        for (name, example) in REQUIRED_FIELDS {
            if !given.contains_key(name) {
                self.fail(FieldPath::root(name));
                if !meant.contains(name) {
                    self.report_at(
                        head(self.text, root),
                        format!("missing field `{name}` in `Drill`"),
                        format!("needs `{name}`"),
                        format!("add `{example}`"),
                    );
                }
            }
        }
        given
    }

    /// A top-level field of the drill, if given and readable.
    fn top<T: DeserializeOwned>(&mut self, node: Option<&Node>, name: &'static str) -> Option<T> {
        self.read(node?, None, &FieldPath::root(name))
    }

    /// A top-level field with a default, written with or without RON's explicit `Some(..)`
    /// (as `spec::optional` reads nested ones); `None` is reported.
    fn top_optional<T: DeserializeOwned>(
        &mut self,
        node: Option<&Node>,
        name: &'static str,
    ) -> Option<T> {
        let node = node?;
        let path = FieldPath::root(name);
        let value = self.read::<Option<T>>(node, None, &path)?;
        if value.is_none() {
            self.report_at(
                node.span,
                format!("`None` is not a value for `{name}`"),
                "not a value",
                "leave the field out for its default, or give a value",
            );
            self.fail(path);
        }
        value
    }

    /// Deserializes `node` (or `text`, a copy of it with holes blanked out) with ron, reporting
    /// ron's error at its place in the file and remembering `path` as failed.
    fn read<T: DeserializeOwned>(
        &mut self,
        node: &Node,
        text: Option<&str>,
        path: &FieldPath,
    ) -> Option<T> {
        let original = &self.text[node.span.start..node.span.end];
        match self.options.from_str::<T>(text.unwrap_or(original)) {
            Ok(value) => Some(value),
            Err(error) => {
                let problem = self.ron_problem(&error, node);
                self.report(problem);
                self.fail(path.clone());
                None
            }
        }
    }

    /// A list-valued section, each element read on its own. `named` says which kind of thing
    /// the elements define and in which field, to track names that could not be read.
    fn list<T: DeserializeOwned>(
        &mut self,
        node: Option<&Node>,
        path: FieldPath,
        named: Option<(Namespace, &str)>,
    ) -> Vec<T> {
        let Some(node) = node else {
            return Vec::new();
        };
        let Kind::List(items) = &node.kind else {
            self.not_a_list(node, &path);
            if let Some((namespace, _)) = named {
                self.unread_unnamed(namespace);
            }
            return Vec::new();
        };
        let mut values = Vec::new();
        let mut indices = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let item_path = path.index(i);
            if matches!(named, Some((Namespace::Fault | Namespace::Action, _)))
                && let Some(problem) = self.effects_shape(item)
            {
                self.report(problem);
                self.fail(item_path);
                if let Some((namespace, field)) = named {
                    self.unread_name(namespace, item, field);
                }
                continue;
            }
            match self.read(item, None, &item_path) {
                Some(value) => {
                    values.push(value);
                    indices.push(i);
                    self.read_ok.insert(item_path);
                }
                None => {
                    if let Some((namespace, field)) = named {
                        self.unread_name(namespace, item, field);
                    }
                }
            }
        }
        self.file_indices.insert(path, indices);
        values
    }

    /// A fault's or action's `effect:` given a list, or `effects:` given one effect: ron
    /// would only say "expected identifier" or "expected a list".
    fn effects_shape(&self, item: &Node) -> Option<Problem> {
        if let Some(effect) = item.field("effect")
            && let Kind::List(effects) = &effect.value.kind
        {
            let inside = effects
                .iter()
                .map(|e| self.snippet(e))
                .collect::<Vec<_>>()
                .join(", ");
            return Some(
                self.at(
                    effect.name.span,
                    "`effect` takes one effect, but a list is given",
                    "one effect, not a list",
                )
                .with_hint(Some(format!(
                    "for several effects write `effects: [{inside}]` (with an s)"
                ))),
            );
        }
        if let Some(effects) = item.field("effects")
            && !matches!(effects.value.kind, Kind::List(_))
        {
            let one = self.snippet(&effects.value);
            return Some(
                self.at(
                    head(self.text, &effects.value),
                    format!("`effects` takes a list of effects, found `{one}`"),
                    "not a list",
                )
                .with_hint(Some(format!(
                    "write `effects: [{one}]`, or `effect: {one}` for a single effect"
                ))),
            );
        }
        None
    }

    fn not_a_list(&mut self, node: &Node, path: &FieldPath) {
        let found = self.snippet(node);
        self.report_at(
            head(self.text, node),
            format!("`{path}` must be a list `[...]`, found `{found}`"),
            "not a list",
            format!("write `{path}: [...]`, with one element per item"),
        );
        self.fail(path.clone());
    }

    fn unread_name(&mut self, namespace: Namespace, node: &Node, field: &str) {
        let entry = self.unread.entry(namespace).or_default();
        match node.field(field).and_then(|f| f.value.as_str()) {
            Some(name) => entry.names.push(name.to_owned()),
            None => entry.unnamed = true,
        }
    }

    /// The service: its own fields with `steps` blanked out, then each step on its own.
    fn service(&mut self, node: Option<&Node>) -> Service {
        let path = FieldPath::root("service");
        let placeholder = |steps| Service {
            name: String::new(),
            max_in_flight: None,
            retries: None,
            cost_per_1k_tokens: 0.0,
            steps,
        };
        let Some(node) = node else {
            self.unread_unnamed(Namespace::Step);
            return placeholder(Vec::new());
        };
        let (shell, steps, has_list) =
            self.with_list::<Service, _>(node, &path, "steps", Some((Namespace::Step, "name")));
        if let Some(mut service) = shell {
            if has_list {
                service.steps = steps;
            }
            return service;
        }
        if !has_list {
            self.unread_unnamed(Namespace::Step);
        }
        placeholder(steps)
    }

    /// The roles: each role's own fields with `checklist` blanked out, then each task.
    /// A role that cannot be read stays in place (as an empty role) so indices do not shift.
    fn roles(&mut self, node: Option<&Node>) -> Vec<Role> {
        let path = FieldPath::root("roles");
        let Some(node) = node else {
            return Vec::new();
        };
        let Kind::List(items) = &node.kind else {
            self.not_a_list(node, &path);
            self.unread_unnamed(Namespace::Role);
            return Vec::new();
        };
        let mut roles = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let role_path = path.index(i);
            let (shell, tasks, has_list) =
                self.with_list::<Role, _>(item, &role_path, "checklist", None);
            if let Some(mut role) = shell {
                if has_list {
                    role.checklist = tasks;
                }
                self.read_ok.insert(role_path);
                roles.push(role);
                continue;
            }
            self.unread_name(Namespace::Role, item, "id");
            let id = item
                .field("id")
                .and_then(|f| f.value.as_str())
                .unwrap_or_default();
            roles.push(Role {
                id: id.to_owned(),
                title: String::new(),
                checklist: tasks,
            });
        }
        roles
    }

    /// A struct with a list-valued `field`, read in two: its own fields with the list blanked
    /// out, then each element of the list on its own (`named` as for [`Self::list`]). Returns
    /// the struct if it could be read, the elements (none if `field` holds no list), and
    /// whether it holds one.
    fn with_list<T: DeserializeOwned, E: DeserializeOwned>(
        &mut self,
        node: &Node,
        path: &FieldPath,
        field: &'static str,
        named: Option<(Namespace, &str)>,
    ) -> (Option<T>, Vec<E>, bool) {
        let list = node
            .field(field)
            .map(|f| &f.value)
            .filter(|v| matches!(v.kind, Kind::List(_)));
        let shell_text = list.map(|list| self.blank(node, list));
        let shell = self.read(node, shell_text.as_deref(), path);
        let elements = match list {
            Some(list) => self.list(Some(list), path.field(field), named),
            None => Vec::new(),
        };
        (shell, elements, list.is_some())
    }

    /// The text of `node` with the inside of `list` replaced by spaces (newlines kept), so
    /// that ron reads `[ ]` there and every line and column stays where it was.
    fn blank(&self, node: &Node, list: &Node) -> String {
        let text = &self.text[node.span.start..node.span.end];
        let (from, to) = (
            list.span.start + 1 - node.span.start,
            list.span.end - 1 - node.span.start,
        );
        let inside: String = text[from..to]
            .chars()
            .map(|c| if c == '\n' { '\n' } else { ' ' })
            .collect();
        format!("{}{inside}{}", &text[..from], &text[to..])
    }

    /// The first line of a node's text, shortened, for "found `...`" messages.
    fn snippet(&self, node: &Node) -> String {
        snippet(&self.text[node.span.start..node.span.end])
    }

    /// Turns ron's error on `node` into a problem at the exact place in the file.
    fn ron_problem(&self, error: &ron::error::SpannedError, node: &Node) -> Problem {
        use ron::error::Error as E;

        let original = &self.text[node.span.start..node.span.end];
        // ron's errors often start at the whitespace before the offending value.
        let start = skip_trivia(
            self.text,
            node.span.start + cst::offset_of(original, error.span.start.line, error.span.start.col),
        )
        .min(node.span.end.saturating_sub(1));
        let end =
            node.span.start + cst::offset_of(original, error.span.end.line, error.span.end.col);
        let inner = node.innermost(start).unwrap_or(node);
        // A unit variant where a value in parentheses is needed: ron stops just after it.
        let bare = inner
            .children()
            .into_iter()
            .filter(|c| matches!(c.kind, Kind::Ident(_)))
            .find(|c| c.span.end <= start && skip_trivia(self.text, c.span.end) == start);
        // `Fail(1)`: a unit variant given a value; ron stops at the `(`.
        let unit_given_value = inner
            .type_name()
            .filter(|name| skip_trivia(self.text, name.span.end) == start);
        let found = self.snippet(inner);
        let strictly_inside_number = matches!(inner.kind, Kind::Number) && start > inner.span.start;
        let in_field = node.field_at(start);
        let duration_field =
            in_field.is_some_and(|f| DURATION_FIELDS.contains(&f.name.text.as_str()));
        let value_span = label_span(self.text, inner);
        let fallback = Span::new(start, end.max(start));
        let duration_in_quotes = || {
            (
                value_span,
                format!("expected a duration in quotes, found `{found}`"),
                "not a string".to_owned(),
                Some(if looks_like_duration(&found) {
                    format!("durations are strings: write `\"{found}\"`")
                } else {
                    DurationError::hint().to_owned()
                }),
            )
        };
        let whole_number = || {
            (
                value_span,
                format!("expected a whole number, found `{found}`"),
                "not a whole number".to_owned(),
                None,
            )
        };

        let (span, message, label, hint) = match &error.code {
            E::NoSuchStructField {
                expected,
                found,
                outer,
            } => {
                let span = in_field
                    .filter(|f| f.name.span.contains(start))
                    .map_or(fallback, |f| f.name.span);
                (
                    span,
                    format!("unknown field `{found}`{}", in_type(outer.as_deref())),
                    "unknown field".to_owned(),
                    Some(suggest::expected_one_of(found, expected)),
                )
            }
            E::NoSuchEnumVariant {
                expected,
                found,
                outer,
            } => {
                let span = inner.type_name().map_or(value_span, |name| name.span);
                (
                    span,
                    format!("unknown variant `{found}`{}", in_type(outer.as_deref())),
                    "unknown variant".to_owned(),
                    Some(suggest::expected_one_of(found, expected)),
                )
            }
            E::MissingStructField { field, outer } => {
                let owner = outer
                    .clone()
                    .or_else(|| inner.type_name().map(|n| n.text.clone()));
                (
                    head(self.text, inner),
                    format!("missing field `{field}`{}", in_type(owner.as_deref())),
                    format!("needs `{field}`"),
                    Some(format!("add `{field}: ...`")),
                )
            }
            E::DuplicateStructField { field, outer } => {
                let again = in_field.filter(|f| f.name.span.contains(start));
                let mut problem = self.at(
                    again.map_or(fallback, |f| f.name.span),
                    format!(
                        "field `{field}` is given twice{}",
                        in_type(outer.as_deref())
                    ),
                    "given again",
                );
                let owner = again.and_then(|again| {
                    let mut owner = node;
                    while let Some(child) = owner
                        .children()
                        .into_iter()
                        .find(|c| c.span.contains(again.name.span.start))
                    {
                        if child
                            .fields()
                            .iter()
                            .any(|f| f.name.span == again.name.span)
                        {
                            return Some(child);
                        }
                        owner = child;
                    }
                    node.fields()
                        .iter()
                        .any(|f| f.name.span == again.name.span)
                        .then_some(node)
                });
                if let Some(first) =
                    owner.and_then(|o| o.fields().iter().find(|f| f.name.text == *field))
                {
                    problem
                        .related
                        .push(Related::new(first.name.span, "first given here"));
                }
                return problem.with_hint(Some("remove one of them".to_owned()));
            }
            E::ExpectedDifferentStructName { expected, found } => (
                inner.type_name().map_or(value_span, |n| n.span),
                format!("expected `{expected}(...)`, found `{found}(...)`"),
                format!("expected `{expected}`"),
                Some(if found == "Some" {
                    format!("leave out `Some(...)` and write `{expected}(...)` directly")
                } else {
                    format!("write `{expected}(...)`")
                }),
            ),
            // A duration reads any value (to take RON's explicit `Some("1h")`), so a bare
            // `2s` or `90` comes here rather than as `ExpectedString`.
            E::InvalidValueForType { expected, .. } if expected.starts_with("a duration") => {
                duration_in_quotes()
            }
            E::InvalidValueForType { expected, found } => (
                value_span,
                format!("expected {expected}, found {found}"),
                "wrong kind of value".to_owned(),
                expected
                    .contains("duration")
                    .then(|| DurationError::hint().to_owned()),
            ),
            E::Message(message) => (
                value_span,
                message.clone(),
                "invalid value".to_owned(),
                message
                    .starts_with("invalid duration")
                    .then(|| DurationError::hint().to_owned()),
            ),
            E::ExpectedString if duration_field || looks_like_duration(&found) => {
                duration_in_quotes()
            }
            E::ExpectedString => (
                value_span,
                format!("expected a string, found `{found}`"),
                "not a string".to_owned(),
                matches!(inner.kind, Kind::Ident(_))
                    .then(|| format!("text goes in double quotes: `\"{found}\"`")),
            ),
            E::ExpectedInteger | E::InvalidIntegerDigit { .. } => whole_number(),
            E::ExpectedComma | E::ExpectedStructLikeEnd | E::ExpectedArrayEnd
                if strictly_inside_number =>
            {
                whole_number()
            }
            E::ExpectedFloat | E::FloatUnderscore => (
                value_span,
                format!("expected a number, found `{found}`"),
                "not a number".to_owned(),
                None,
            ),
            E::IntegerOutOfBounds => (
                value_span,
                format!("the number `{found}` is out of range here"),
                "out of range".to_owned(),
                None,
            ),
            E::ExpectedBoolean => (
                value_span,
                format!("expected `true` or `false`, found `{found}`"),
                "not a boolean".to_owned(),
                None,
            ),
            E::ExpectedArray => (
                value_span,
                format!("expected a list `[...]`, found `{found}`"),
                "not a list".to_owned(),
                None,
            ),
            E::ExpectedStructLike | E::ExpectedNamedStructLike(_) => {
                let (span, name) = match bare {
                    Some(ident) => (ident.span, self.snippet(ident)),
                    None => (value_span, found.clone()),
                };
                (
                    span,
                    format!("`{name}` needs a value in parentheses: `{name}(...)`"),
                    "needs `(...)`".to_owned(),
                    None,
                )
            }
            E::ExpectedComma | E::ExpectedStructLikeEnd if unit_given_value.is_some() => {
                let name = unit_given_value.map_or("", |n| n.text.as_str());
                (
                    value_span,
                    format!("`{name}` takes no value"),
                    "takes no value".to_owned(),
                    Some(format!("write just `{name}`")),
                )
            }
            other => (
                fallback,
                lowercase_first(&other.to_string()),
                "here".to_owned(),
                None,
            ),
        };
        self.at(span, message, label).with_hint(hint)
    }

    /// Places a semantic problem, unless it is about something that could not be read.
    fn semantic(&mut self, root: &Node, problem: &SemanticProblem) {
        // Some things of this kind could not be read: the one referred to may be among them.
        if let Some(reference) = &problem.reference
            && let Some(unread) = self.unread.get(&reference.namespace)
            && (unread.unnamed || reference.name.is_none())
        {
            return;
        }
        let path = self.file_path(&problem.path);
        let segments = path.segments();
        let mut prefixes = (1..=segments.len()).map(|n| FieldPath::from(segments[..n].to_vec()));
        // The innermost value around the problem that was read on its own, or failed to be.
        let innermost = prefixes.rfind(|p| self.failed.contains(p) || self.read_ok.contains(p));
        // About a value that could not be read (and so holds a placeholder), or about a list
        // that is missing elements that could not be read: stay quiet.
        let inside_unread = innermost.is_some_and(|p| self.failed.contains(&p));
        if inside_unread || self.leads_to_failed.contains(&path) {
            return;
        }
        let node = resolve(root, &path);
        let mut placed = self
            .at(
                label_span(self.text, node),
                problem.message.clone(),
                problem.label.clone(),
            )
            .with_hint(problem.hint.clone());
        if let Some((related, label)) = &problem.related {
            let node = resolve(root, &self.file_path(related));
            placed
                .related
                .push(Related::new(label_span(self.text, node), label.clone()));
        }
        self.report(placed);
    }

    /// The path in the file of a path in the drill as read (elements that could not be read
    /// are missing from the drill, so later indices shift).
    fn file_path(&self, path: &FieldPath) -> FieldPath {
        let mut segments: Vec<Segment> = Vec::new();
        for segment in path.segments() {
            let segment = match segment {
                Segment::Index(i) => {
                    let list = FieldPath::from(segments.clone());
                    let i = self
                        .file_indices
                        .get(&list)
                        .and_then(|m| m.get(*i))
                        .copied()
                        .unwrap_or(*i);
                    Segment::Index(i)
                }
                other => other.clone(),
            };
            segments.push(segment);
        }
        segments.into()
    }
}

/// The offset of the first character at or after `offset` that is not whitespace or a comment.
fn skip_trivia(text: &str, mut offset: usize) -> usize {
    loop {
        let rest = &text[offset..];
        let trimmed = rest.trim_start();
        offset += rest.len() - trimmed.len();
        if trimmed.starts_with("//") {
            offset += trimmed.find('\n').unwrap_or(trimmed.len());
        } else if trimmed.starts_with("/*") {
            // Block comments nest; the reader has already checked that they are closed.
            let bytes = trimmed.as_bytes();
            let (mut depth, mut i) = (0usize, 0usize);
            while i < bytes.len() {
                if bytes[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if bytes[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            offset += i;
        } else {
            return offset;
        }
    }
}

/// `` in `Pool` `` for messages, if the type is known.
fn in_type(outer: Option<&str>) -> String {
    outer.map_or_else(String::new, |outer| format!(" in `{outer}`"))
}

/// The node a path leads to, or the deepest one on the way if the rest is not written
/// (a field left to its default). `Some(x)` is looked through.
fn resolve<'n>(root: &'n Node, path: &FieldPath) -> &'n Node {
    let mut node = root;
    for segment in path.segments() {
        node = through_some(node);
        let next = match (segment, &node.kind) {
            (Segment::Field(name), _) => node.field(name).map(|f| &f.value),
            (Segment::Index(i), Kind::List(items))
            | (Segment::Item(i), Kind::Tuple { items, .. }) => items.get(*i),
            _ => None,
        };
        match next {
            Some(next) => node = next,
            None => break,
        }
    }
    through_some(node)
}

fn through_some(node: &Node) -> &Node {
    match &node.kind {
        Kind::Tuple {
            name: Some(name),
            items,
        } if name.text == "Some" && items.len() == 1 => &items[0],
        _ => node,
    }
}

/// Where to put a label on a node: all of it if it fits on a line, else its head.
fn label_span(text: &str, node: &Node) -> Span {
    if text[node.span.start..node.span.end].contains('\n') {
        head(text, node)
    } else {
        node.span
    }
}

/// A node's name (`Pool` in `Pool(...)`), else its first character.
fn head(text: &str, node: &Node) -> Span {
    if let Some(name) = node.type_name() {
        return name.span;
    }
    let len = text[node.span.start..]
        .chars()
        .next()
        .map_or(0, char::len_utf8);
    Span::new(node.span.start, node.span.start + len)
}

fn snippet(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > 40 || line.len() < text.len() {
        let short: String = line.chars().take(40).collect();
        format!("{}...", short.trim_end())
    } else {
        line.to_owned()
    }
}

/// `2h`, `90s`, `1.5s`: a number with a unit, written without quotes.
fn looks_like_duration(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_digit())
        && text.ends_with(char::is_alphabetic)
        && Duration::parse(text).is_ok()
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `DRILL_FIELDS` must list exactly the fields serde knows, in order.
    #[test]
    fn drill_fields_match_serde() {
        let error = crate::drill::ron_options()
            .from_str::<Drill>("Drill(no_such_field: 0)")
            .unwrap_err();
        match error.code {
            ron::error::Error::NoSuchStructField { expected, .. } => {
                assert_eq!(expected, DRILL_FIELDS);
            }
            other => panic!("unexpected error {other:?}"),
        }
        for (name, _) in REQUIRED_FIELDS {
            assert!(DRILL_FIELDS.contains(name), "{name}");
        }
    }

    #[test]
    fn blanks_lists_keeping_positions() {
        let text = "Service(name: \"a\", steps: [\n  Step(é),\n])";
        let source = Source::new("t", text);
        let loader = Loader::new(&source, text);
        let document = cst::parse(text).unwrap();
        let steps = &document.root.field("steps").unwrap().value;
        let blanked = loader.blank(&document.root, steps);
        assert_eq!(blanked, "Service(name: \"a\", steps: [\n          \n])");
        assert_eq!(
            blanked
                .lines()
                .map(|l| l.chars().count())
                .collect::<Vec<_>>(),
            [27, 10, 2]
        );
    }

    #[test]
    fn snippets_are_short() {
        assert_eq!(snippet("2.5"), "2.5");
        assert_eq!(snippet("Pool(\n  name: x)"), "Pool(...");
        assert_eq!(snippet(&"x".repeat(50)), format!("{}...", "x".repeat(40)));
    }
}
