//! A span-keeping reader for RON: every value, field name and identifier of a drill file with
//! its byte range, so that a diagnostic can point at the exact spot.
//!
//! This reader owns RON's *shape*: brackets, commas, field names, strings (with escapes and
//! raw strings), numbers, identifiers, comments and the `#![enable(...)]` attribute. It
//! reports syntax errors with their position, recovers at the next `,` or closing bracket so
//! that several syntax errors are reported at once, and refuses nesting deeper than
//! [`MAX_DEPTH`] without recursing further. It does not decide what a value *means*: numbers
//! are kept as text and types are left to serde (via ron) in [`super::load`], which reads
//! each piece this reader delimits.
//!
//! This file owns the tree the reader builds ([`Document`], [`Node`], [`Kind`], [`Span`]), how
//! to find a node by offset, and conversions between byte offsets and lines and columns. The
//! reading itself, character by character, is in `parser`; neither knows what a drill is.

mod parser;

pub(crate) use parser::parse;

/// The deepest nesting of brackets a drill may have. Real drills need fewer than ten.
pub(crate) const MAX_DEPTH: usize = 64;

/// A byte range of the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    pub fn len(self) -> usize {
        self.end - self.start
    }

    pub fn contains(self, offset: usize) -> bool {
        self.start <= offset && offset < self.end
    }
}

/// An identifier and where it is: a field name, a struct or variant name.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ident {
    pub text: String,
    pub span: Span,
}

/// `name: value` inside a struct.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Field {
    pub name: Ident,
    pub value: Node,
}

/// One value and its span (from its first to its last character, comments around it excluded).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub span: Span,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    /// `Name(field: value, ...)` or `(field: value, ...)`.
    Struct {
        name: Option<Ident>,
        fields: Vec<Field>,
    },
    /// `Name(a, b)`, `(a, b)`, `()` or `Name()`.
    Tuple {
        name: Option<Ident>,
        items: Vec<Node>,
    },
    /// A bare identifier: a unit variant, `true`, `None`, `inf`.
    Ident(String),
    /// `[a, b]`.
    List(Vec<Node>),
    /// `{key: value, ...}`.
    Map(Vec<(Node, Node)>),
    /// A string, its escapes decoded (unknown escapes are kept as written; ron rejects them).
    Str(String),
    /// A number, kept as text: ron decides whether it fits the type.
    Number,
    /// A character literal `'a'`.
    Char,
    /// A byte string `b"..."` or byte literal `b'a'`.
    Bytes,
}

impl Node {
    /// The fields of a struct, or nothing.
    pub fn fields(&self) -> &[Field] {
        match &self.kind {
            Kind::Struct { fields, .. } => fields,
            _ => &[],
        }
    }

    /// The field named `name`, if this is a struct that has it.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields().iter().find(|field| field.name.text == name)
    }

    /// The name in front of a struct or tuple (`Pool` in `Pool(...)`).
    pub fn type_name(&self) -> Option<&Ident> {
        match &self.kind {
            Kind::Struct { name, .. } | Kind::Tuple { name, .. } => name.as_ref(),
            _ => None,
        }
    }

    /// The decoded text, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(text) => Some(text),
            _ => None,
        }
    }

    /// Every node directly inside this one, fields' values included.
    pub fn children(&self) -> Vec<&Node> {
        match &self.kind {
            Kind::Struct { fields, .. } => fields.iter().map(|field| &field.value).collect(),
            Kind::Tuple { items, .. } | Kind::List(items) => items.iter().collect(),
            Kind::Map(entries) => entries.iter().flat_map(|(k, v)| [k, v]).collect(),
            _ => Vec::new(),
        }
    }

    /// The innermost node, this one included, whose span contains `offset`.
    pub fn innermost(&self, offset: usize) -> Option<&Node> {
        if !self.span.contains(offset) {
            return None;
        }
        let mut node = self;
        while let Some(child) = node
            .children()
            .into_iter()
            .find(|c| c.span.contains(offset))
        {
            node = child;
        }
        Some(node)
    }

    /// The innermost field, in this node or below, whose name or value contains `offset`.
    pub fn field_at(&self, offset: usize) -> Option<&Field> {
        let mut found = None;
        let mut node = self;
        loop {
            if let Some(field) = node
                .fields()
                .iter()
                .find(|f| f.name.span.contains(offset) || f.value.span.contains(offset))
            {
                found = Some(field);
            }
            match node
                .children()
                .into_iter()
                .find(|c| c.span.contains(offset))
            {
                Some(child) => node = child,
                None => return found,
            }
        }
    }
}

/// The parsed file: extensions switched on by `#![enable(...)]`, and the one value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Document {
    pub extensions: Vec<Ident>,
    pub root: Node,
}

/// A syntax error: where, what, and how to fix it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SyntaxError {
    pub span: Span,
    pub message: String,
    pub label: String,
    pub hint: Option<String>,
    /// A second place worth showing (the bracket that is never closed).
    pub related: Option<(Span, String)>,
}

/// The 1-based line and column (in characters, as ron counts) of each byte offset, in one
/// pass over the text; the offsets may come in any order.
pub(crate) fn line_cols(text: &str, offsets: &[usize]) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = (0..offsets.len()).collect();
    order.sort_by_key(|&i| offsets[i]);
    let mut positions = vec![(1, 1); offsets.len()];
    let (mut at, mut line, mut col) = (0, 1, 1);
    for i in order {
        let target = floor_char_boundary(text, offsets[i].min(text.len()));
        for c in text[at..target].chars() {
            if c == '\n' {
                line += 1;
                col = 1;
            } else {
                col += 1;
            }
        }
        at = target;
        positions[i] = (line, col);
    }
    positions
}

/// The byte offset of a 1-based line and character column in `text` (clamped to the text).
pub(crate) fn offset_of(text: &str, line: usize, col: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match text[start..].find('\n') {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    let rest = &text[start..];
    let line_end = rest.find('\n').unwrap_or(rest.len());
    start
        + rest[..line_end]
            .char_indices()
            .nth(col.saturating_sub(1))
            .map_or(line_end, |(i, _)| i)
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_col(text: &str, offset: usize) -> (usize, usize) {
        line_cols(text, &[offset])[0]
    }

    /// A compact rendering of a tree: `Name(field: value)`, `[..]`, spans as `@start..end`.
    fn show(node: &Node, text: &str) -> String {
        let span = format!("@{}..{}", node.span.start, node.span.end);
        let name = |n: &Option<Ident>| n.as_ref().map_or(String::new(), |n| n.text.clone());
        match &node.kind {
            Kind::Struct { name: n, fields } => {
                let inner: Vec<String> = fields
                    .iter()
                    .map(|f| format!("{}: {}", f.name.text, show(&f.value, text)))
                    .collect();
                format!("{}({}){span}", name(n), inner.join(", "))
            }
            Kind::Tuple { name: n, items } => {
                let inner: Vec<String> = items.iter().map(|i| show(i, text)).collect();
                format!("{}<{}>{span}", name(n), inner.join(", "))
            }
            Kind::List(items) => {
                let inner: Vec<String> = items.iter().map(|i| show(i, text)).collect();
                format!("[{}]{span}", inner.join(", "))
            }
            Kind::Map(entries) => {
                let inner: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("{}: {}", show(k, text), show(v, text)))
                    .collect();
                format!("{{{}}}{span}", inner.join(", "))
            }
            Kind::Str(s) => format!("{s:?}{span}"),
            Kind::Ident(s) => format!("{s}{span}"),
            Kind::Number | Kind::Char | Kind::Bytes => {
                format!("{}{span}", &text[node.span.start..node.span.end])
            }
        }
    }

    fn tree(text: &str) -> String {
        match parse(text) {
            Ok(doc) => show(&doc.root, text),
            Err(errors) => panic!("{text:?}: {errors:?}"),
        }
    }

    fn errors(text: &str) -> Vec<String> {
        match parse(text) {
            Ok(doc) => panic!("{text:?} parsed: {doc:?}"),
            Err(errors) => errors
                .iter()
                .map(|e| {
                    let (line, col) = line_col(text, e.span.start);
                    format!("{line}:{col} {}", e.message)
                })
                .collect(),
        }
    }

    #[test]
    fn reads_every_form_with_spans() {
        let cases = [
            (
                "Pool(name: \"db\", size: 20)",
                "Pool(name: \"db\"@11..15, size: 20@23..25)@0..26",
            ),
            ("(a: 1,)", "(a: 1@4..5)@0..7"),
            ("Pool (a: 1)", "Pool(a: 1@9..10)@0..11"),
            ("Some(\"x\")", "Some<\"x\"@5..8>@0..9"),
            (
                "After(FirstPage, \"5m\")",
                "After<FirstPage@6..15, \"5m\"@17..21>@0..22",
            ),
            ("()", "<>@0..2"),
            (
                "[1, -2.5e-3, 0x1F, +inf]",
                "[1@1..2, -2.5e-3@4..11, 0x1F@13..17, +inf@19..23]@0..24",
            ),
            (
                "{\"a\": [], b: {}}",
                "{\"a\"@1..4: []@6..8, b@10..11: {}@13..15}@0..16",
            ),
            (r#""a\"b\\c\n\u{e9}""#, "\"a\\\"b\\\\c\\né\"@0..17"),
            ("r#\"raw \"quoted\"\"#", "\"raw \\\"quoted\\\"\"@0..17"),
            ("r#type", "type@0..6"),
            (
                "[b\"x\", 'c', b'd']",
                "[b\"x\"@1..5, 'c'@7..10, b'd'@12..16]@0..17",
            ),
            ("// a\n/* b /* nested */ */ true // c", "true@26..30"),
        ];
        for (text, expected) in cases {
            assert_eq!(tree(text), expected, "{text}");
        }
    }

    #[test]
    fn reads_attributes() {
        let doc =
            parse("#![enable(implicit_some, unwrap_newtypes)]\n#![type = \"x\"]\nDrill()").unwrap();
        let names: Vec<&str> = doc.extensions.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(names, ["implicit_some", "unwrap_newtypes"]);
        assert_eq!(doc.root.type_name().unwrap().text, "Drill");
    }

    #[test]
    fn reports_syntax_errors_with_positions() {
        let cases: [(&str, &[&str]); 11] = [
            ("", &["1:1 the file holds no drill"]),
            (
                "Pool(name: \"db\" size: 2)",
                &["1:17 expected `,` or `)`, found `size`"],
            ),
            (
                "[Pool(a: 1 b: 2), Pool(c: 3 d: 4)]",
                &[
                    "1:12 expected `,` or `)`, found `b`",
                    "1:29 expected `,` or `)`, found `d`",
                ],
            ),
            ("Pool(name: \"db)", &["1:12 this string is never closed"]),
            (
                "Pool(a: [1, 2)",
                &["1:14 expected `]` to close `[`, found `)`"],
            ),
            (
                "Pool(a: 1",
                &["1:10 expected `)` to close `Pool(`, found the end of the file"],
            ),
            ("Pool(a: 1) x", &["1:12 unexpected `x` after the drill"]),
            ("/* open", &["1:1 this comment is never closed"]),
            ("Pool(a 1)", &["1:8 expected `,` or `)`, found `1`"]),
            ("Pool(a: 1, 2)", &["1:12 expected a field name, found `2`"]),
            ("Pool(a: , b: 2)", &["1:9 expected a value, found `,`"]),
        ];
        for (text, expected) in cases {
            assert_eq!(errors(text), expected, "{text}");
        }
    }

    #[test]
    fn refuses_deep_nesting_without_recursing() {
        let text = "[".repeat(100_000);
        assert_eq!(
            errors(&text),
            ["1:65 the drill nests deeper than 64 levels"]
        );
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn finds_nodes_by_offset() {
        let text = "Drill(pools: [Pool(name: \"db\", size: 2)])";
        let doc = parse(text).unwrap();
        let at = text.find("2)").unwrap();
        assert_eq!(doc.root.innermost(at).unwrap().span, Span::new(at, at + 1));
        assert_eq!(doc.root.field_at(at).unwrap().name.text, "size");
    }

    #[test]
    fn converts_positions() {
        let text = "ab\ncé\nx";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 3), (2, 1));
        assert_eq!(line_col(text, 6), (2, 3));
        assert_eq!(line_col(text, 7), (3, 1));
        assert_eq!(offset_of(text, 2, 3), 6);
        assert_eq!(offset_of(text, 3, 1), 7);
        assert_eq!(offset_of(text, 9, 1), text.len());
        assert_eq!(
            line_cols(text, &[7, 0, 6, 3]),
            [(3, 1), (1, 1), (2, 3), (2, 1)]
        );
    }
}
