//! Putting each problem at its place in the file: ron's errors on a piece the loader handed it
//! (mapped back from the piece's positions, and reworded: unknown fields and variants with a
//! "did you mean", durations without quotes, values of the wrong kind), and semantic problems
//! from [`crate::drill::validate`] by their paths, skipping those about what could not be read.
//!
//! It does not decide what is wrong (ron and validate do) nor read the document ([`super`]'s
//! `reader`).

use super::Loader;
use super::problem::{Problem, Related};
use crate::drill::cst::{self, Kind, Node, Span};
use crate::drill::duration::{Duration, DurationError};
use crate::drill::suggest;
use crate::drill::validate::{FieldPath, Segment, SemanticProblem};

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
    "every",
    "ready_after",
    "down_window",
];

impl Loader<'_> {
    /// Turns ron's error on `node` into a problem at the exact place in the file.
    pub(super) fn ron_problem(&self, error: &ron::error::SpannedError, node: &Node) -> Problem {
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
            // A time anchor written as a bare duration: `at: "10m"` for `at: At("10m")`.
            E::ExpectedIdentifier
                if in_field.is_some_and(|f| matches!(f.name.text.as_str(), "at" | "due"))
                    && matches!(inner.kind, Kind::Str(_)) =>
            {
                (
                    value_span,
                    format!("expected a time anchor, found `{found}`"),
                    "not an anchor".to_owned(),
                    Some(format!(
                        "write `At({found})` for a time from the drill's start, or `After(EVENT, {found})`, e.g. `After(FirstPage, {found})`"
                    )),
                )
            }
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
    pub(super) fn semantic(&mut self, root: &Node, problem: &SemanticProblem) {
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
    pub(super) fn file_path(&self, path: &FieldPath) -> FieldPath {
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
pub(super) fn head(text: &str, node: &Node) -> Span {
    if let Some(name) = node.type_name() {
        return name.span;
    }
    let len = text[node.span.start..]
        .chars()
        .next()
        .map_or(0, char::len_utf8);
    Span::new(node.span.start, node.span.start + len)
}

pub(super) fn snippet(text: &str) -> String {
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

    #[test]
    fn snippets_are_short() {
        assert_eq!(snippet("2.5"), "2.5");
        assert_eq!(snippet("Pool(\n  name: x)"), "Pool(...");
        assert_eq!(snippet(&"x".repeat(50)), format!("{}...", "x".repeat(40)));
    }
}
