//! Text from the table, the topic, an object key or an error, made safe to print on a terminal.
//! Anyone who can write an item or publish to the topic chooses these strings; printed raw, an escape
//! sequence in them could retitle the window, clear the screen, rewrite earlier lines or hide text, and
//! a bidirectional override could make a name read as another. [`for_terminal`] replaces every such
//! character with a visible Rust-style escape (`\u{1b}`), so the value still reads, and nothing else.
//! JSON output needs none of this: serde escapes control characters itself.

use std::borrow::Cow;

/// `text` with every C0 and C1 control character (ESC and the 8-bit CSI `U+009B` among them), DEL,
/// and every bidirectional embedding, override or isolate (`U+202A`–`U+202E`, `U+2066`–`U+2069`)
/// written as `\u{..}`. A tab stays a tab; line breaks are escaped too, so one value stays one line.
/// Borrows when there is nothing to replace.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_unsafe(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `text` on one line: every run of whitespace, line breaks included, becomes one space (for error
/// chains and messages that must fit one line of a terminal or a log).
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\t') || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        for text in ["", "uploads/Año Nuevo 2025.mp4", "a\tb", "日本語 ✔ 🎬"] {
            assert!(matches!(for_terminal(text), Cow::Borrowed(t) if t == text));
        }
    }

    #[test]
    fn escape_sequences_become_visible() {
        assert_eq!(
            for_terminal("a\x1b]0;pwned\x07b\x1b[2J"),
            "a\\u{1b}]0;pwned\\u{7}b\\u{1b}[2J"
        );
        assert_eq!(for_terminal("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(
            for_terminal("x\ry\nz\0\u{7f}"),
            "x\\u{d}y\\u{a}z\\u{0}\\u{7f}"
        );
    }

    #[test]
    fn bidi_controls_become_visible() {
        assert_eq!(for_terminal("evil\u{202e}4pm.exe"), "evil\\u{202e}4pm.exe");
        for c in [
            '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{2066}', '\u{2067}', '\u{2068}',
            '\u{2069}',
        ] {
            let out = for_terminal(&c.to_string()).into_owned();
            assert_eq!(out, format!("\\u{{{:x}}}", u32::from(c)));
        }
        // Marks that only hint direction, and ordinary non-ASCII, stay.
        assert_eq!(for_terminal("\u{200e}é"), "\u{200e}é");
    }

    #[test]
    fn no_escape_or_c1_byte_survives_any_input() {
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        let out = for_terminal(&all);
        assert!(!out.contains('\x1b'));
        assert!(!out.chars().any(|c| c.is_control() && c != '\t'));
        assert!(
            !out.chars()
                .any(|c| matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
        );
    }
}
