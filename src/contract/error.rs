//! The one error type for reading solution documents (`DecodeError`), plus the small text
//! helpers that keep every message on one line and name the offending field path.
//!
//! The CLI prints these on stderr as its single diagnostic line (§8 rule 5), and the live
//! monitor logs them per message, so a message must never contain a raw newline or an
//! unbounded copy of the input.

use serde_json::Value;

/// Why a document is INVALID under §8. `Display` is always a single line starting with
/// `invalid input:`; construct the `Invalid` variant through [`DecodeError::invalid`] so
/// paths and problems are sanitised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input was empty or only whitespace.
    #[error("invalid input: empty input")]
    Empty,
    /// The input (or an embedded JSON text such as an envelope's `Message`) is not JSON.
    /// Carries serde_json's own one-line description (with line and column).
    #[error("invalid input: not JSON: {0}")]
    NotJson(String),
    /// The top-level JSON value is not an object; carries the kind found (`a list`, ...).
    #[error("invalid input: expected a JSON object, found {0}")]
    NotAnObject(&'static str),
    /// A field, descriptor or envelope member is missing or malformed.
    #[error("invalid input: {path}: {problem}")]
    Invalid {
        /// Dotted field path, with `[i]` for list elements (e.g. `Item.mp4Urls[0]`).
        path: String,
        /// What is wrong there.
        problem: String,
    },
}

impl DecodeError {
    /// Builds an `Invalid` error, escaping control characters so the message stays one line.
    pub fn invalid(path: impl AsRef<str>, problem: impl AsRef<str>) -> Self {
        DecodeError::Invalid {
            path: one_line(path.as_ref(), MAX_PATH_CHARS),
            problem: one_line(problem.as_ref(), MAX_PROBLEM_CHARS),
        }
    }

    /// Wraps a serde_json parse error; its `Display` is already one line, but is sanitised anyway.
    pub(crate) fn not_json(err: &serde_json::Error) -> Self {
        DecodeError::NotJson(one_line(&err.to_string(), MAX_PROBLEM_CHARS))
    }

    /// The field path the error points at, when there is one.
    pub fn path(&self) -> Option<&str> {
        match self {
            DecodeError::Invalid { path, .. } => Some(path),
            _ => None,
        }
    }
}

// Paths come from attribute names in the input, so they are bounded like any other echo of it.
const MAX_PATH_CHARS: usize = 200;
const MAX_PROBLEM_CHARS: usize = 300;
const MAX_QUOTED_CHARS: usize = 60;

/// Describes a JSON value's type the way the messages phrase it ("found a number").
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Quotes an input-controlled string for an error message: escaped and shortened.
pub(crate) fn quoted(s: &str) -> String {
    format!("\"{}\"", one_line(s, MAX_QUOTED_CHARS))
}

/// Joins a parent path and a member name (`Item` + `guid` → `Item.guid`).
pub(crate) fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Escapes control characters and truncates to `max` characters (marking the cut with `…`).
fn one_line(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max + 8));
    for (count, c) in s.chars().enumerate() {
        if count >= max {
            out.push('…');
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            // Unicode line/paragraph separators would break a line in most terminals too.
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_is_one_line_and_bounded() {
        let e = DecodeError::invalid("a\nb", "x".repeat(1000) + "\n");
        let text = e.to_string();
        assert!(!text.contains('\n'));
        assert!(text.starts_with("invalid input: a\\nb: xxx"));
        assert!(text.chars().count() < 400);
    }

    #[test]
    fn quoted_escapes() {
        assert_eq!(quoted("In\tgest"), "\"In\\tgest\"");
    }
}
