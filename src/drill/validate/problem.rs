//! Where a value is in a drill ([`FieldPath`], [`Segment`]) and what is wrong with it
//! ([`SemanticProblem`], with the [`Reference`] to an undefined [`Namespace`] it may be).
//!
//! These are the types the loader reads back to place a problem in the file. This module holds
//! no rule of its own and knows nothing of spans or rendering.

use std::fmt;

/// One step of a [`FieldPath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// A named field: `.size`.
    Field(&'static str),
    /// An element of a list: `[2]`.
    Index(usize),
    /// A position in a tuple or tuple variant: `.0` in `PoolUtilization("db")`.
    Item(usize),
}

/// Where a value is in a drill, as written: `service.steps[1].pool`, `alerts[0].when.metric.0`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FieldPath(Vec<Segment>);

impl FieldPath {
    /// The path of a top-level field of `Drill(...)`.
    #[must_use]
    pub fn root(field: &'static str) -> Self {
        FieldPath(vec![Segment::Field(field)])
    }

    #[must_use]
    pub fn field(&self, name: &'static str) -> Self {
        self.with(Segment::Field(name))
    }

    #[must_use]
    pub fn index(&self, index: usize) -> Self {
        self.with(Segment::Index(index))
    }

    #[must_use]
    pub fn item(&self, position: usize) -> Self {
        self.with(Segment::Item(position))
    }

    fn with(&self, segment: Segment) -> Self {
        let mut segments = self.0.clone();
        segments.push(segment);
        FieldPath(segments)
    }

    #[must_use]
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// Whether `prefix` is this path or leads to it.
    #[must_use]
    pub fn starts_with(&self, prefix: &FieldPath) -> bool {
        self.0.starts_with(&prefix.0)
    }
}

impl From<Vec<Segment>> for FieldPath {
    fn from(segments: Vec<Segment>) -> Self {
        FieldPath(segments)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Field(name) if i == 0 => f.write_str(name)?,
                Segment::Field(name) => write!(f, ".{name}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
                Segment::Item(position) => write!(f, ".{position}")?,
            }
        }
        Ok(())
    }
}

/// The kinds of things a drill defines by name and refers to elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Namespace {
    Pool,
    Step,
    Fault,
    Alert,
    /// Drill actions, and so the commands the team can type besides the built-in ones.
    Action,
    Role,
}

/// A reference to something that is not defined (`name`), or to a kind of thing of which
/// none suitable exists (no `name`: `FirstPage` with no page alert).
///
/// The loader uses it to stay quiet about references to definitions it could not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub namespace: Namespace,
    pub name: Option<String>,
}

/// One semantic problem: what is wrong, where, and how to fix it.
#[derive(Debug, Clone, PartialEq)]
pub struct SemanticProblem {
    /// The offending value.
    pub path: FieldPath,
    /// A sentence saying what is wrong, naming the thing.
    pub message: String,
    /// A few words to put at the spot (`unknown pool`).
    pub label: String,
    /// How to fix it.
    pub hint: Option<String>,
    /// Another place that explains the problem (the first definition of a duplicate name).
    pub related: Option<(FieldPath, String)>,
    /// Set when the problem is a name that refers to nothing defined.
    pub reference: Option<Reference>,
}

impl SemanticProblem {
    pub(super) fn new(
        path: FieldPath,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        SemanticProblem {
            path,
            message: message.into(),
            label: label.into(),
            hint: None,
            related: None,
            reference: None,
        }
    }

    pub(super) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for SemanticProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_display_as_written() {
        let path = FieldPath::root("service")
            .field("steps")
            .index(1)
            .field("time")
            .field("p99");
        assert_eq!(path.to_string(), "service.steps[1].time.p99");
        let path = FieldPath::root("alerts")
            .index(0)
            .field("when")
            .field("metric")
            .item(0);
        assert_eq!(path.to_string(), "alerts[0].when.metric.0");
        assert!(path.starts_with(&FieldPath::root("alerts").index(0)));
        assert!(!path.starts_with(&FieldPath::root("alerts").index(1)));
    }
}
