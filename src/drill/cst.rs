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

/// The deepest nesting of brackets a drill may have. Real drills need fewer than ten.
pub(crate) const MAX_DEPTH: usize = 64;

/// Syntax errors reported before giving up on a file.
const MAX_ERRORS: usize = 20;

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

/// Reads `text` as one RON document.
///
/// # Errors
/// Every syntax error found, in order, up to a limit.
pub(crate) fn parse(text: &str) -> Result<Document, Vec<SyntaxError>> {
    let mut parser = Parser {
        src: text,
        pos: 0,
        depth: 0,
        errors: Vec::new(),
        multiline_string: None,
    };
    match parser.document() {
        Ok(doc) if parser.errors.is_empty() => Ok(doc),
        _ => Err(parser.errors),
    }
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

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn closer_of(opener: char) -> char {
    match opener {
        '(' => ')',
        '[' => ']',
        _ => '}',
    }
}

/// Why parsing stopped: `fatal` errors end the file (an unclosed string, the end of the
/// text, nesting too deep); others let the enclosing list or struct skip to the next item.
#[derive(Debug, Clone, Copy)]
struct Stop {
    fatal: bool,
}

type Parsed<T> = Result<T, Stop>;

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
    errors: Vec<SyntaxError>,
    /// The last string read that runs over a line break: a likely sign of a missing `"`.
    multiline_string: Option<Span>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek_at(&self, skip: usize) -> Option<char> {
        self.src[self.pos..].chars().nth(skip)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn error(
        &mut self,
        span: Span,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> &mut SyntaxError {
        self.errors.push(SyntaxError {
            span,
            message: message.into(),
            label: label.into(),
            hint: None,
            related: None,
        });
        self.errors.last_mut().expect("just pushed")
    }

    /// An error at the token at the cursor.
    fn error_at_token(
        &mut self,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> &mut SyntaxError {
        let span = self.token_span();
        self.error(span, message, label)
    }

    /// An error at the token at the cursor: `{expected}, found {the token}`.
    fn expected(&mut self, expected: &str, label: impl Into<String>) -> &mut SyntaxError {
        let found = self.describe_token();
        self.error_at_token(format!("{expected}, found {found}"), label)
    }

    fn stop(&self, fatal: bool) -> Stop {
        Stop {
            fatal: fatal || self.errors.len() >= MAX_ERRORS,
        }
    }

    /// The span of the token at the cursor, for "found X" errors (at least one character).
    fn token_span(&self) -> Span {
        let rest = &self.src[self.pos..];
        let len = match rest.chars().next() {
            None => 0,
            Some(c) if is_ident_char(c) => {
                rest.find(|c: char| !is_ident_char(c)).unwrap_or(rest.len())
            }
            Some(c) => c.len_utf8(),
        };
        Span::new(self.pos, self.pos + len)
    }

    fn describe_token(&self) -> String {
        let span = self.token_span();
        if span.len() == 0 {
            "the end of the file".to_owned()
        } else {
            format!("`{}`", &self.src[span.start..span.end])
        }
    }

    /// Skips whitespace and comments (`//` to the end of the line, nested `/* */`).
    fn skip_trivia(&mut self) -> Parsed<()> {
        loop {
            let rest = &self.src[self.pos..];
            let trimmed = rest.trim_start();
            self.pos += rest.len() - trimmed.len();
            if trimmed.starts_with("//") {
                self.pos += trimmed.find('\n').unwrap_or(trimmed.len());
            } else if trimmed.starts_with("/*") {
                let start = self.pos;
                self.pos += 2;
                let mut level = 1;
                while level > 0 {
                    let rest = &self.src[self.pos..];
                    if rest.starts_with("/*") {
                        level += 1;
                        self.pos += 2;
                    } else if rest.starts_with("*/") {
                        level -= 1;
                        self.pos += 2;
                    } else if self.bump().is_none() {
                        self.error(Span::new(start, start + 2), "this comment is never closed", "comment starts here")
                            .hint = Some("close it with `*/` (block comments nest: each `/*` needs its own `*/`)".to_owned());
                        return Err(self.stop(true));
                    }
                }
            } else {
                return Ok(());
            }
        }
    }

    fn document(&mut self) -> Parsed<Document> {
        self.skip_trivia()?;
        let mut extensions = Vec::new();
        while self.src[self.pos..].starts_with("#!") {
            self.attribute(&mut extensions)?;
            self.skip_trivia()?;
        }
        if self.peek().is_none() {
            self.error(
                Span::new(self.pos, self.pos),
                "the file holds no drill",
                "expected `Drill(...)` here",
            )
            .hint = Some(
                "a drill file holds one `Drill(name: ..., ...)`; see docs/drill-format.md"
                    .to_owned(),
            );
            return Err(self.stop(true));
        }
        let root = self.value()?;
        self.skip_trivia()?;
        if self.pos < self.src.len() {
            let found = self.describe_token();
            self.error_at_token(
                format!("unexpected {found} after the drill"),
                "unexpected text",
            )
            .hint = Some(
                "a drill file holds exactly one `Drill(...)`; is a bracket closed too early?"
                    .to_owned(),
            );
        }
        Ok(Document { extensions, root })
    }

    /// `#![enable(a, b)]`; other attributes (`#![type = ".."]`) are read and ignored, as ron does.
    fn attribute(&mut self, extensions: &mut Vec<Ident>) -> Parsed<()> {
        let start = self.pos;
        self.pos += 2;
        self.skip_trivia()?;
        if !self.eat('[') {
            self.error_at_token("expected `[` after `#!`", "expected `[`")
                .hint = Some("write attributes as `#![enable(implicit_some)]`".to_owned());
            return Err(self.stop(true));
        }
        self.skip_trivia()?;
        let name = self.ident();
        self.skip_trivia()?;
        if name.as_ref().is_some_and(|n| n.text == "enable") && self.eat('(') {
            loop {
                self.skip_trivia()?;
                if self.eat(')') {
                    break;
                }
                let Some(ext) = self.ident() else {
                    self.error_at_token(
                        "expected an extension name in `#![enable(...)]`",
                        "expected a name",
                    );
                    return Err(self.stop(true));
                };
                extensions.push(ext);
                self.skip_trivia()?;
                if !self.eat(',') && self.peek() != Some(')') {
                    self.error_at_token(
                        "expected `,` or `)` in `#![enable(...)]`",
                        "expected `,` or `)`",
                    );
                    return Err(self.stop(true));
                }
            }
            self.skip_trivia()?;
            if !self.eat(']') {
                self.error_at_token("expected `]` to close the attribute", "expected `]`");
                return Err(self.stop(true));
            }
            return Ok(());
        }
        // Another attribute: skip to its closing bracket.
        self.skip_to_delimiter(true)?;
        if !self.eat(']') {
            self.error(
                Span::new(start, start + 2),
                "this attribute is never closed",
                "attribute starts here",
            );
            return Err(self.stop(true));
        }
        Ok(())
    }

    /// An identifier at the cursor (`name`, `r#name`), or nothing (cursor unchanged).
    fn ident(&mut self) -> Option<Ident> {
        let start = self.pos;
        let rest = &self.src[self.pos..];
        if let Some(raw) = rest.strip_prefix("r#") {
            let len = raw
                .find(|c: char| !(is_ident_char(c) || matches!(c, '-' | '.' | '+')))
                .unwrap_or(raw.len());
            if len == 0 {
                return None;
            }
            self.pos += 2 + len;
            return Some(Ident {
                text: raw[..len].to_owned(),
                span: Span::new(start, self.pos),
            });
        }
        if !rest.starts_with(is_ident_start) {
            return None;
        }
        let len = rest.find(|c: char| !is_ident_char(c)).unwrap_or(rest.len());
        self.pos += len;
        Some(Ident {
            text: rest[..len].to_owned(),
            span: Span::new(start, self.pos),
        })
    }

    fn value(&mut self) -> Parsed<Node> {
        let start = self.pos;
        let rest = &self.src[self.pos..];
        let Some(c) = rest.chars().next() else {
            self.error(
                Span::new(start, start),
                "the file ends where a value was expected",
                "expected a value",
            )
            .hint = Some("is a bracket or string left open above?".to_owned());
            return Err(self.stop(true));
        };
        let kind = match c {
            '(' => return self.parenthesized(None, start),
            '[' => return self.list(),
            '{' => return self.map(),
            '"' => Kind::Str(self.string()?),
            '\'' => {
                self.char_literal()?;
                Kind::Char
            }
            'r' if rest.starts_with("r\"")
                || rest.starts_with("r##")
                || rest.starts_with("r#\"") =>
            {
                self.pos += 1;
                Kind::Str(self.raw_string(start)?)
            }
            'b' if rest.starts_with("b\"") => {
                self.pos += 1;
                self.string()?;
                Kind::Bytes
            }
            'b' if rest.starts_with("br\"") || rest.starts_with("br#") => {
                self.pos += 2;
                self.raw_string(start)?;
                Kind::Bytes
            }
            'b' if rest.starts_with("b'") => {
                self.pos += 1;
                self.char_literal()?;
                Kind::Bytes
            }
            c if c.is_ascii_digit() || matches!(c, '+' | '-' | '.') => {
                self.number();
                Kind::Number
            }
            c if is_ident_start(c) => {
                let ident = self.ident().expect("starts with an identifier character");
                let after_name = self.pos;
                self.skip_trivia()?;
                if self.peek() == Some('(') {
                    let open = self.pos;
                    return self.parenthesized(Some(ident), open);
                }
                self.pos = after_name;
                Kind::Ident(ident.text)
            }
            _ => {
                let error = self.expected("expected a value", "expected a value");
                if matches!(c, ')' | ']' | '}' | ',') {
                    error.hint = Some("is a value missing before it?".to_owned());
                }
                return Err(self.stop(false));
            }
        };
        Ok(Node {
            span: Span::new(start, self.pos),
            kind,
        })
    }

    /// A number, kept as text: a sign, then digits, letters, `_` and `.`, and a signed exponent.
    fn number(&mut self) {
        let start = self.pos;
        if matches!(self.peek(), Some('+' | '-')) {
            self.pos += 1;
        }
        while let Some(c) = self.peek() {
            let exponent_sign = matches!(c, '+' | '-')
                && matches!(self.src[start..self.pos].chars().last(), Some('e' | 'E'))
                && !self.src[start..self.pos].contains(['x', 'X', 'b', 'B', 'o', 'O']);
            if c.is_alphanumeric() || c == '_' || c == '.' || exponent_sign {
                self.pos += c.len_utf8();
            } else {
                break;
            }
        }
    }

    /// `"..."` with escapes; returns the decoded text (unknown escapes kept as written).
    fn string(&mut self) -> Parsed<String> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.bump() {
                None => {
                    self.error(
                        Span::new(start, start + 1),
                        "this string is never closed",
                        "string starts here",
                    )
                    .hint = Some(
                        "add the closing `\"`; write `\\\"` for a quote inside a string".to_owned(),
                    );
                    return Err(self.stop(true));
                }
                Some('"') => {
                    if self.src[start..self.pos].contains('\n') {
                        self.multiline_string = Some(Span::new(start, self.pos));
                    }
                    return Ok(out);
                }
                Some('\\') => match self.bump() {
                    Some('n') => out.push('\n'),
                    Some('r') => out.push('\r'),
                    Some('t') => out.push('\t'),
                    Some('0') => out.push('\0'),
                    Some('u') if self.peek() == Some('{') => {
                        let src = self.src;
                        let digits = src[self.pos + 1..]
                            .find('}')
                            .map(|len| &src[self.pos + 1..self.pos + 1 + len]);
                        let decoded = digits
                            .and_then(|d| u32::from_str_radix(d, 16).ok())
                            .and_then(char::from_u32);
                        match (decoded, digits) {
                            (Some(c), Some(d)) => {
                                out.push(c);
                                self.pos += d.len() + 2;
                            }
                            _ => out.push_str("\\u"),
                        }
                    }
                    Some(c @ ('"' | '\\' | '\'')) => out.push(c),
                    Some(c) => {
                        out.push('\\');
                        out.push(c);
                    }
                    None => {}
                },
                Some(c) => out.push(c),
            }
        }
    }

    /// `r"..."`, `r#"..."#`, with the cursor after the `r`.
    fn raw_string(&mut self, start: usize) -> Parsed<String> {
        let hashes = self.src[self.pos..]
            .chars()
            .take_while(|c| *c == '#')
            .count();
        self.pos += hashes;
        if !self.eat('"') {
            self.error_at_token("expected `\"` to open a raw string", "expected `\"`");
            return Err(self.stop(false));
        }
        let terminator = format!("\"{}", "#".repeat(hashes));
        let Some(len) = self.src[self.pos..].find(&terminator) else {
            self.error(
                Span::new(start, self.pos),
                "this raw string is never closed",
                "raw string starts here",
            )
            .hint = Some(format!("close it with `{terminator}`"));
            return Err(self.stop(true));
        };
        let text = self.src[self.pos..self.pos + len].to_owned();
        self.pos += len + terminator.len();
        Ok(text)
    }

    /// `'a'`, `'\n'`, `'\u{e9}'`.
    fn char_literal(&mut self) -> Parsed<()> {
        let start = self.pos;
        self.pos += 1;
        if self.eat('\\') {
            self.bump();
        }
        while let Some(c) = self.peek() {
            if c == '\'' || c == '\n' {
                break;
            }
            self.pos += c.len_utf8();
        }
        if self.eat('\'') {
            Ok(())
        } else {
            self.error(
                Span::new(start, start + 1),
                "this character literal is never closed",
                "opens here",
            )
            .hint = Some("text goes in double quotes: \"like this\"".to_owned());
            Err(self.stop(false))
        }
    }

    fn enter(&mut self, open: usize) -> Parsed<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.error(
                Span::new(open, open + 1),
                format!("the drill nests deeper than {MAX_DEPTH} levels"),
                "too deep",
            )
            .hint = Some(
                "a drill needs only a few levels of brackets; is this the right file?".to_owned(),
            );
            return Err(self.stop(true));
        }
        Ok(())
    }

    /// `(...)` after an optional name: a struct if it starts with `ident:`, else a tuple.
    fn parenthesized(&mut self, name: Option<Ident>, open: usize) -> Parsed<Node> {
        let start = name.as_ref().map_or(open, |n| n.span.start);
        self.bracketed(open, start, |p| p.parenthesized_kind(name, open))
    }

    /// What is inside `(...)`, with the cursor after the `(` at `open`.
    fn parenthesized_kind(&mut self, name: Option<Ident>, open: usize) -> Parsed<Kind> {
        self.skip_trivia()?;
        let is_struct = {
            let save = self.pos;
            let looks = self.ident().is_some() && {
                self.skip_trivia()?;
                self.peek() == Some(':')
            };
            self.pos = save;
            looks
        };
        let opened = name
            .as_ref()
            .map_or_else(|| "(".to_owned(), |n| format!("{}(", n.text));
        if is_struct {
            let mut fields = Vec::new();
            self.sequence(open, &opened, |p| {
                let Some(field_name) = p.ident() else {
                    p.expected("expected a field name", "expected `name: value`")
                        .hint = Some("every item of a struct is `field: value`".to_owned());
                    return Err(p.stop(false));
                };
                p.skip_trivia()?;
                if !p.eat(':') {
                    p.expected(
                        &format!("expected `:` after the field name `{}`", field_name.text),
                        "expected `:`",
                    );
                    return Err(p.stop(false));
                }
                p.skip_trivia()?;
                let value = p.value()?;
                fields.push(Field {
                    name: field_name,
                    value,
                });
                Ok(())
            })?;
            Ok(Kind::Struct { name, fields })
        } else {
            let items = self.values(open, &opened)?;
            Ok(Kind::Tuple { name, items })
        }
    }

    fn list(&mut self) -> Parsed<Node> {
        let open = self.pos;
        self.bracketed(open, open, |p| Ok(Kind::List(p.values(open, "[")?)))
    }

    fn map(&mut self) -> Parsed<Node> {
        let open = self.pos;
        self.bracketed(open, open, |p| p.map_entries(open))
    }

    /// A bracketed value opened at `open` (its node starting at `start`, before any name):
    /// one level deeper while `contents` reads what is inside, from after the bracket.
    fn bracketed(
        &mut self,
        open: usize,
        start: usize,
        contents: impl FnOnce(&mut Self) -> Parsed<Kind>,
    ) -> Parsed<Node> {
        self.enter(open)?;
        self.pos = open + 1;
        let kind = contents(self)?;
        self.depth -= 1;
        Ok(Node {
            span: Span::new(start, self.pos),
            kind,
        })
    }

    /// The values of a list or tuple opened at `open`.
    fn values(&mut self, open: usize, opened: &str) -> Parsed<Vec<Node>> {
        let mut items = Vec::new();
        self.sequence(open, opened, |p| {
            items.push(p.value()?);
            Ok(())
        })?;
        Ok(items)
    }

    /// The `key: value` entries of a map opened at `open`.
    fn map_entries(&mut self, open: usize) -> Parsed<Kind> {
        let mut entries = Vec::new();
        self.sequence(open, "{", |p| {
            let key = p.value()?;
            p.skip_trivia()?;
            if !p.eat(':') {
                p.expected("expected `:` after a map key", "expected `:`");
                return Err(p.stop(false));
            }
            p.skip_trivia()?;
            let value = p.value()?;
            entries.push((key, value));
            Ok(())
        })?;
        Ok(Kind::Map(entries))
    }

    /// Items separated by commas up to the bracket matching the one at `open`, recovering
    /// from an item's error at the next `,` or closing bracket.
    fn sequence(
        &mut self,
        open: usize,
        opened: &str,
        mut item: impl FnMut(&mut Self) -> Parsed<()>,
    ) -> Parsed<()> {
        let opener = self.src[open..].chars().next().unwrap_or('(');
        let closer = closer_of(opener);
        loop {
            self.skip_trivia()?;
            if self.eat(closer) {
                return Ok(());
            }
            if self.unclosed(open, opened, closer)? {
                return Ok(());
            }
            let item_start = self.pos;
            if let Err(stop) = item(self) {
                if stop.fatal {
                    return Err(stop);
                }
                self.skip_to_delimiter(false)?;
            }
            self.skip_trivia()?;
            if self.eat(',') {
                continue;
            }
            if self.eat(closer) {
                return Ok(());
            }
            if self.unclosed(open, opened, closer)? {
                return Ok(());
            }
            let open_string = self.multiline_string.filter(|s| s.start >= item_start);
            let error = self.expected(
                &format!("expected `,` or `{closer}`"),
                format!("expected `,` or `{closer}`"),
            );
            if let Some(string) = open_string {
                // The quotes of the rest of the file are out of step: more errors would be noise.
                error.hint = Some("is the closing `\"` of the string above missing?".to_owned());
                error.related = Some((
                    Span::new(string.start, string.start + 1),
                    "this string runs over a line break".to_owned(),
                ));
                return Err(self.stop(true));
            }
            error.hint = Some("is a comma missing at the end of the previous line?".to_owned());
            if self.errors.len() >= MAX_ERRORS {
                return Err(self.stop(true));
            }
            self.skip_to_delimiter(false)?;
            self.eat(',');
        }
    }

    /// At the end of the text or a closing bracket of the wrong kind: reports the bracket
    /// opened at `open` as unclosed. The wrong bracket is left for the enclosing sequence.
    fn unclosed(&mut self, open: usize, opened: &str, closer: char) -> Parsed<bool> {
        let found = match self.peek() {
            None => None,
            Some(c @ (')' | ']' | '}')) => Some(c),
            Some(_) => return Ok(false),
        };
        let what = found.map_or_else(|| "the end of the file".to_owned(), |c| format!("`{c}`"));
        let error = self.error_at_token(
            format!("expected `{closer}` to close `{opened}`, found {what}"),
            format!("expected `{closer}`"),
        );
        error.related = Some((Span::new(open, open + 1), format!("`{opened}` opens here")));
        error.hint = Some(format!("add the missing `{closer}`"));
        if found.is_none() {
            return Err(self.stop(true));
        }
        Ok(true)
    }

    /// Skips to the next `,` or closing bracket that is not nested in what is skipped (or,
    /// in an attribute, to the next `]`), leaving the cursor on it.
    fn skip_to_delimiter(&mut self, attribute: bool) -> Parsed<()> {
        let mut depth = 0usize;
        loop {
            self.skip_trivia()?;
            let Some(c) = self.peek() else {
                return Ok(());
            };
            match c {
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' if depth == 0 => return Ok(()),
                ')' | ']' | '}' => depth -= 1,
                ',' if depth == 0 && !attribute => return Ok(()),
                '"' => {
                    self.string()?;
                    continue;
                }
                'r' if self.peek_at(1) == Some('"') => {
                    let start = self.pos;
                    self.pos += 1;
                    self.raw_string(start)?;
                    continue;
                }
                _ => {}
            }
            self.bump();
        }
    }
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
