//! The Python semantics the mediainfo Lambda's behaviour depends on, for both mappings: `repr` and
//! `str` of loaded JSON values, `obj[key]`, `int(s)` / `float(s)` in the Lambda's `parse_number`,
//! its `compact`, and `json.loads` with CPython's error messages. `Err(String)` is Python's `str(err)`
//! for the exception the Lambda would raise. (`json.dumps` output is `python_json`'s.)

use serde_json::Value;

use crate::local_stack::python_json::{PyValue, float_repr};

pub(super) type PyResult<T> = Result<T, String>;

pub(super) fn py_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// `repr(s)` for a Python str.
pub(super) fn py_repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control()
                || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{feff}') =>
            {
                let code = u32::from(c);
                if code < 0x100 {
                    out.push_str(&format!("\\x{code:02x}"));
                } else if code < 0x10000 {
                    out.push_str(&format!("\\u{code:04x}"));
                } else {
                    out.push_str(&format!("\\U{code:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// `repr(x)` of a JSON-loaded value (used only inside `str.format` of a list or dict).
fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (None, Some(u), _) => u.to_string(),
            (None, None, Some(f)) => float_repr(f),
            _ => n.to_string(),
        },
        Value::String(s) => py_repr_str(s),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(py_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", py_repr_str(k), py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// `str(x)`, as `'{0}'.format(x)` writes it.
pub(super) fn py_str(v: Option<&Value>) -> String {
    match v {
        None => "None".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => py_repr(other),
    }
}

/// `obj[key]` with a str key.
pub(super) fn py_getitem<'a>(obj: &'a Value, key: &str) -> PyResult<&'a Value> {
    match obj {
        Value::Object(map) => map.get(key).ok_or_else(|| py_repr_str(key)),
        Value::Array(_) => Err("list indices must be integers or slices, not str".to_owned()),
        Value::String(_) => Err("string indices must be integers, not 'str'".to_owned()),
        other => Err(format!(
            "'{}' object is not subscriptable",
            py_type_name(other)
        )),
    }
}

/// Python `int(s)` for a str: surrounding whitespace, a sign, ASCII digits with single underscores
/// between them. Ints beyond 128 bits are not representable here and fall through to `float`.
fn py_int(s: &str) -> Option<i128> {
    let t = s.trim();
    let (negative, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if !valid_underscores(body)
        || body.is_empty()
        || !body.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return None;
    }
    let digits: String = body.chars().filter(|c| *c != '_').collect();
    let magnitude: i128 = digits.parse().ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

/// Each `_` must sit between two ASCII digits.
fn valid_underscores(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.iter().enumerate().all(|(i, b)| {
        *b != b'_'
            || (i > 0
                && bytes[i - 1].is_ascii_digit()
                && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
    })
}

/// Python `float(s)` for a str.
fn py_float(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() || !valid_underscores(t) {
        return None;
    }
    let cleaned: String = t.chars().filter(|c| *c != '_').collect();
    cleaned.parse::<f64>().ok()
}

/// The Lambda's `parse_number`: `None` stays `None`; else `int(x)`, and on `ValueError` `float(x)`.
pub(super) fn parse_number(v: Option<&Value>) -> PyResult<PyValue> {
    match v {
        None | Some(Value::Null) => Ok(PyValue::None),
        Some(Value::String(s)) => py_int(s)
            .map(PyValue::Int)
            .or_else(|| py_float(s).map(PyValue::Float))
            .ok_or_else(|| format!("could not convert string to float: {}", py_repr_str(s))),
        Some(Value::Bool(b)) => Ok(PyValue::Int(i128::from(*b))),
        Some(Value::Number(n)) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Ok(PyValue::Int(i128::from(i))),
            (None, Some(u), _) => Ok(PyValue::Int(i128::from(u))),
            // int(2.5) == 2: a JSON float is truncated, not a ValueError.
            (None, None, Some(f)) => Ok(PyValue::Int(f.trunc() as i128)),
            _ => Ok(PyValue::None),
        },
        Some(other) => Err(format!(
            "int() argument must be a string, a bytes-like object or a real number, not '{}'",
            py_type_name(other)
        )),
    }
}

/// The Lambda's `compact`: drops `None` values.
pub(super) fn compact(attributes: PyValue) -> PyValue {
    match attributes {
        PyValue::Dict(entries) => PyValue::Dict(
            entries
                .into_iter()
                .filter(|(_, v)| *v != PyValue::None)
                .collect(),
        ),
        other => other,
    }
}

/// `json.loads(output)`, with Python's messages (exact for empty output and for output that does not
/// start like JSON; positions of other syntax errors come from serde_json and may differ slightly).
pub(super) fn json_loads(output: &[u8]) -> PyResult<Value> {
    let text = std::str::from_utf8(output).map_err(|e| {
        let at = e.valid_up_to();
        let byte = output.get(at).copied().unwrap_or(0);
        format!("'utf-8' codec can't decode byte 0x{byte:02x} in position {at}: invalid start byte")
    })?;
    serde_json::from_str(text).map_err(|e| {
        // Python skips JSON whitespace before the value; an error right there is "Expecting value".
        let start = text
            .char_indices()
            .find(|(_, c)| !matches!(c, ' ' | '\t' | '\n' | '\r'))
            .map(|(i, _)| i)
            .unwrap_or(text.len());
        let first = text[start..].chars().next();
        let starts_value = matches!(
            first,
            Some('{' | '[' | '"' | '-' | '0'..='9' | 't' | 'f' | 'n' | 'N' | 'I')
        );
        let (kind, at) = if !starts_value {
            ("Expecting value", start)
        } else if e.to_string().starts_with("trailing characters") {
            (
                "Extra data",
                byte_offset(text, e.line(), e.column().saturating_sub(1)),
            )
        } else {
            (
                "Expecting value",
                byte_offset(text, e.line(), e.column().saturating_sub(1)),
            )
        };
        python_position(kind, text, at)
    })
}

/// Byte offset of 1-based `line` and 0-based `column` (serde_json counts columns in bytes).
fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (n, l) in text.split_inclusive('\n').enumerate() {
        if n + 1 == line {
            return (offset + column).min(text.len());
        }
        offset += l.len();
    }
    text.len()
}

/// `"{kind}: line {l} column {c} (char {n})"` as Python's JSONDecodeError, in characters.
fn python_position(kind: &str, text: &str, byte_at: usize) -> String {
    let mut at = byte_at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let pos = before.chars().count();
    let line = before.matches('\n').count() + 1;
    let column = match before.rfind('\n') {
        Some(nl) => before[nl + 1..].chars().count() + 1,
        None => pos + 1,
    };
    format!("{kind}: line {line} column {column} (char {pos})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_number_parsing() {
        let p = |s: &str| parse_number(Some(&Value::String(s.into())));
        assert_eq!(p("1080"), Ok(PyValue::Int(1080)));
        assert_eq!(p(" -7 "), Ok(PyValue::Int(-7)));
        assert_eq!(p("1_000"), Ok(PyValue::Int(1000)));
        assert_eq!(p("007"), Ok(PyValue::Int(7)));
        assert_eq!(p("25.000"), Ok(PyValue::Float(25.0)));
        assert_eq!(p("1e3"), Ok(PyValue::Float(1000.0)));
        assert_eq!(p("inf"), Ok(PyValue::Float(f64::INFINITY)));
        assert!(p("1__0").is_err());
        assert!(p("_1").is_err());
        assert_eq!(
            p(""),
            Err("could not convert string to float: ''".to_owned())
        );
        assert_eq!(
            p("it's"),
            Err(r#"could not convert string to float: "it's""#.to_owned())
        );
        assert_eq!(parse_number(Some(&json!(2.7))), Ok(PyValue::Int(2)));
        assert_eq!(parse_number(None), Ok(PyValue::None));
    }
}
