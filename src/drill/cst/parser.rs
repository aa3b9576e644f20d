//! The reader proper: a cursor over the text that reads RON's tokens (strings, raw strings,
//! numbers, identifiers, comments, attributes) and brackets into a [`Document`], reporting
//! syntax errors with their spans and recovering at the next `,` or closing bracket.
//!
//! It owns the syntax errors' messages and the recovery rules. It does not own the tree types
//! nor position conversions (those are in [`super`]), and keeps numbers as text.

use super::{Document, Field, Ident, Kind, MAX_DEPTH, Node, Span, SyntaxError};

/// Syntax errors reported before giving up on a file.
const MAX_ERRORS: usize = 20;

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
