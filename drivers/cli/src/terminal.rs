//! Escaping of text that a server or a transcript controls, before it reaches a terminal.
//!
//! A setting value, a server's error message or a URL may contain ESC sequences, carriage
//! returns or newlines. Printed raw, they recolour or retitle the terminal, or forge lines of
//! the report. The human report passes every such text through [`escape_controls`]. The JSON
//! document needs no escaping, because JSON strings escape control characters themselves.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Returns `text` with every character that can change how a terminal shows the report
/// written as an escape: `\t`, `\n` and `\r` by name, other ASCII controls as `\x1b`, and the
/// rest as `\u{9b}`. Letters of every script, such as "Ångström", stay as they are.
///
/// The escaped characters are the Unicode control characters (C0, DEL and C1), the line and
/// paragraph separators U+2028 and U+2029, and the bidirectional embeddings, overrides and
/// isolates (U+202A to U+202E, U+2066 to U+2069). The last group can make text display in an
/// order other than the one it has. A backslash stays as it is, because user names such as
/// `DOMAIN\alice` are common, so the report cannot tell a literal `\x1b` from an escaped ESC.
/// The `--json` document keeps the exact text.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\t' => escaped.push_str("\\t"),
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            c if c.is_ascii() && needs_escape(c) => {
                let _ = write!(escaped, "\\x{:02x}", u32::from(c));
            }
            c if needs_escape(c) => {
                let _ = write!(escaped, "\\u{{{:x}}}", u32::from(c));
            }
            c => escaped.push(c),
        }
    }
    Cow::Owned(escaped)
}

/// Returns `text` with each line escaped by [`escape_controls`] and the line breaks kept, for
/// a multi-line log.
pub fn escape_lines(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        match line.strip_suffix('\n') {
            Some(content) => {
                escaped.push_str(&escape_controls(content));
                escaped.push('\n');
            }
            None => escaped.push_str(&escape_controls(line)),
        }
    }
    escaped
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_sequences() {
        let cases = [
            ("\x1b[31mred", "\\x1b[31mred"),
            ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),
            ("line\r\nforged", "line\\r\\nforged"),
            ("a\tb", "a\\tb"),
            ("nul\0del\x7f", "nul\\x00del\\x7f"),
            ("csi\u{9b}2J", "csi\\u{9b}2J"),
            ("next\u{85}line", "next\\u{85}line"),
            ("rlo\u{202e}txt.exe", "rlo\\u{202e}txt.exe"),
            ("isolate\u{2066}x\u{2069}", "isolate\\u{2066}x\\u{2069}"),
            ("para\u{2029}graph", "para\\u{2029}graph"),
        ];
        for (raw, expected) in cases {
            assert_eq!(escape_controls(raw), expected, "{raw:?}");
        }
    }

    #[test]
    fn keeps_printable_text_unchanged() {
        for text in [
            "Alice Ångström-Ñúñez & Co",
            "Ελληνικά, 日本語, עברית",
            "DOMAIN\\alice",
            "https://mail.example.com/EWS/Exchange.asmx",
            "",
        ] {
            assert!(
                matches!(escape_controls(text), Cow::Borrowed(_)),
                "{text:?} was copied"
            );
            assert_eq!(escape_controls(text), text);
        }
    }

    #[test]
    fn escape_lines_keeps_line_breaks() {
        assert_eq!(
            escape_lines("one\x1b[2J\ntwo\rthree\n"),
            "one\\x1b[2J\ntwo\\rthree\n"
        );
        assert_eq!(
            escape_lines("no final newline\x07"),
            "no final newline\\x07"
        );
    }
}
