//! [`Problem`], the one diagnostic type of a drill file, and [`LoadError`], why a drill did not
//! load: what they hold and how they render, with miette (source, labelled spans, help) or as
//! plain `file:line:col: error: message` text.
//!
//! It does not find problems nor compute their lines and columns: the loader ([`super`]) does.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode, SourceSpan};

use crate::drill::cst::Span;

/// One problem in a drill file: where it is, what is wrong, and how to fix it.
///
/// Renders with miette (source, labelled span, help) or as plain text with [`Problem::plain`]:
/// `file:line:col: error: message`, then `  help: hint`.
#[derive(Debug, Clone)]
pub struct Problem {
    pub(super) source: NamedSource<Arc<str>>,
    pub(super) span: Option<SourceSpan>,
    pub(super) line: usize,
    pub(super) column: usize,
    pub(super) message: String,
    pub(super) label: String,
    pub(super) hint: Option<String>,
    pub(super) related: Vec<Related>,
}

/// A second place a problem points at, such as the first definition of a duplicate.
#[derive(Debug, Clone)]
pub(super) struct Related {
    pub(super) span: SourceSpan,
    pub(super) line: usize,
    pub(super) column: usize,
    pub(super) label: String,
}

impl Related {
    pub(super) fn new(span: Span, label: impl Into<String>) -> Self {
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

    pub(super) fn with_hint(mut self, hint: Option<String>) -> Self {
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
