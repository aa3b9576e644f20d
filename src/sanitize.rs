//! Text the team typed, made safe to show: control characters (ESC, OSC, BEL and the other
//! C0 and C1 controls, DEL, and the bidirectional overrides that reorder what is read) are
//! shown as visible escapes such as `\x1b`, at the terminal and in every debrief format. Tab
//! and newline stay where a format can show them. Transcripts keep what was typed; only the
//! showing changes.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must not reach a terminal or a page as itself (tab and newline may).
#[must_use]
pub fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every unsafe character written as a visible escape (`\x1b`, `\u{202e}`).
#[must_use]
pub fn shown(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !is_unsafe(c) {
            out.push(c);
        } else if (c as u32) < 0x100 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

/// As [`shown`], on one line: newlines and tabs are escaped too.
#[must_use]
pub fn shown_line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| is_unsafe(c) || c == '\n' || c == '\t') {
        return Cow::Borrowed(text);
    }
    Cow::Owned(shown(text).replace('\n', "\\n").replace('\t', "\\t"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_as_escapes() {
        assert_eq!(shown("plain text, café"), "plain text, café");
        assert_eq!(shown("a\x1b[2Jb\x07"), "a\\x1b[2Jb\\x07");
        assert_eq!(shown("\x1b]0;title\x07"), "\\x1b]0;title\\x07");
        assert_eq!(shown("c1\u{9b}31m del\x7f"), "c1\\x9b31m del\\x7f");
        assert_eq!(shown("rtl\u{202e}txt"), "rtl\\u{202e}txt");
        assert_eq!(shown("two\nlines\tok"), "two\nlines\tok");
        assert_eq!(shown_line("two\nlines"), "two\\nlines");
    }
}
