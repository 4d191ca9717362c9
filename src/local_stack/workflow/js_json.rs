//! JSON text exactly as Node's `JSON.stringify(value, null, 2)` writes it, for the bodies the
//! solution's Node Lambdas publish (SNS messages, the SQS message, the error handler's
//! `errorMessage` text).
//!
//! This module owns:
//! - [`Shape`]: the key order of an object and of what it holds. JavaScript objects keep insertion
//!   order, but serde_json here is built without `preserve_order` (turning it on would reorder every
//!   document vodesk prints), so a `serde_json::Value` object is always sorted by key. A shape says
//!   which keys come first and in which order; keys it does not name follow, sorted.
//! - [`stringify`] and [`stringify_entries`]: two-space indentation, `": "` after keys, `{}`/`[]` for
//!   empty containers, non-ASCII left as is, only `"`, `\` and control characters escaped (the short
//!   forms `\b \f \n \r \t`, otherwise lower-case `\u00XX`), as ECMA-262 `JSON.stringify` does.
//! - [`js_number`]: `Number.prototype.toString` for the numbers JSON can hold (`2.0` → `2`,
//!   `1e21` → `1e+21`, `1e-7` → `1e-7`, `0.000001` stays decimal); integers beyond 2^53 are rounded
//!   to the nearest double first, as `JSON.parse` would have.

use serde_json::{Map, Number, Value};

/// How the keys of a JSON value are ordered when it is written.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Shape {
    /// Every object sorted by key, all the way down (what a `Value` gives by itself).
    Sorted,
    /// An object: these keys first, in this order, each written with its own shape; any other keys
    /// after them, sorted. Elements of an array are each written with this shape.
    Keys(&'static [(&'static str, Shape)]),
    /// Every element of an array, or every value of an object whose keys are data (sorted), has
    /// this shape.
    Each(&'static Shape),
    /// An object whose shape depends on its own content (for example on a group's type).
    Pick(fn(&Map<String, Value>) -> Shape),
}

/// `JSON.stringify(value, null, 2)` with the keys in `shape`'s order.
pub(crate) fn stringify(value: &Value, shape: Shape) -> String {
    let mut out = String::new();
    write_value(&mut out, value, shape, 0);
    out
}

/// `JSON.stringify(object, null, 2)` of an object whose keys are in exactly this order.
pub(crate) fn stringify_entries(entries: &[(&str, &Value, Shape)]) -> String {
    let mut out = String::new();
    write_object(&mut out, entries, 0);
    out
}

fn write_value(out: &mut String, value: &Value, shape: Shape, depth: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number_text(n)),
        Value::String(s) => write_quoted(out, s),
        Value::Array(items) => {
            let element = match shape {
                Shape::Each(inner) => *inner,
                other => other,
            };
            write_array(out, items, element, depth);
        }
        Value::Object(map) => {
            let entries = ordered(map, shape);
            write_object(out, &entries, depth);
        }
    }
}

/// The object's entries in the shape's order.
fn ordered(map: &Map<String, Value>, shape: Shape) -> Vec<(&str, &Value, Shape)> {
    match shape {
        Shape::Sorted => map
            .iter()
            .map(|(k, v)| (k.as_str(), v, Shape::Sorted))
            .collect(),
        Shape::Each(inner) => map.iter().map(|(k, v)| (k.as_str(), v, *inner)).collect(),
        Shape::Pick(pick) => ordered(map, pick(map)),
        Shape::Keys(keys) => {
            let mut entries: Vec<(&str, &Value, Shape)> = keys
                .iter()
                .filter_map(|(key, inner)| {
                    map.get_key_value(*key)
                        .map(|(k, v)| (k.as_str(), v, *inner))
                })
                .collect();
            entries.extend(
                map.iter()
                    .filter(|(k, _)| !keys.iter().any(|(known, _)| known == k))
                    .map(|(k, v)| (k.as_str(), v, Shape::Sorted)),
            );
            entries
        }
    }
}

fn write_object(out: &mut String, entries: &[(&str, &Value, Shape)], depth: usize) {
    if entries.is_empty() {
        out.push_str("{}");
        return;
    }
    out.push('{');
    for (i, (key, value, shape)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        newline(out, depth + 1);
        write_quoted(out, key);
        out.push_str(": ");
        write_value(out, value, *shape, depth + 1);
    }
    newline(out, depth);
    out.push('}');
}

fn write_array(out: &mut String, items: &[Value], shape: Shape, depth: usize) {
    if items.is_empty() {
        out.push_str("[]");
        return;
    }
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        newline(out, depth + 1);
        write_value(out, item, shape, depth + 1);
    }
    newline(out, depth);
    out.push(']');
}

fn newline(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str("  ");
    }
}

/// ECMA-262 QuoteJSONString (strings here are valid UTF-8, so no lone surrogates to escape).
fn write_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The largest integer every double holds exactly (2^53).
const EXACT_INTEGER: u64 = 1 << 53;

fn number_text(n: &Number) -> String {
    if let Some(u) = n.as_u64().filter(|u| *u <= EXACT_INTEGER) {
        return u.to_string();
    }
    if let Some(i) = n.as_i64().filter(|i| i.unsigned_abs() <= EXACT_INTEGER) {
        return i.to_string();
    }
    // Beyond 2^53 (or fractional): the double JSON.parse would have made of it.
    js_number(n.as_f64().unwrap_or(f64::NAN))
}

/// `Number.prototype.toString()` (ECMA-262 Number::toString, radix 10); `null` where
/// `JSON.stringify` writes it for NaN and the infinities.
pub(crate) fn js_number(x: f64) -> String {
    if !x.is_finite() {
        return "null".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    // Rust's `{:e}` gives the shortest digits that round-trip, as ECMA-262 asks: `d.ddde±x`.
    let sci = format!("{:e}", x.abs());
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let k = digits.len() as i64;
    // x = 0.digits × 10^n
    let n = exponent.parse::<i64>().unwrap_or(0) + 1;
    let sign = if x < 0.0 { "-" } else { "" };
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(n as usize);
        format!("{int}.{frac}")
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let e = n - 1;
        let e_sign = if e < 0 { '-' } else { '+' };
        let (first, rest) = digits.split_at(1);
        if rest.is_empty() {
            format!("{first}e{e_sign}{}", e.abs())
        } else {
            format!("{first}.{rest}e{e_sign}{}", e.abs())
        }
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_read_as_javascript_writes_them() {
        for (x, text) in [
            (0.0, "0"),
            (-0.0, "0"),
            (2.0, "2"),
            (-3.25, "-3.25"),
            (123.456, "123.456"),
            (0.1, "0.1"),
            (0.000001, "0.000001"),
            (1e-7, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.25e21, "1.25e+21"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (f64::NAN, "null"),
        ] {
            assert_eq!(js_number(x), text, "{x}");
        }
        let big: Value = serde_json::from_str("[9007199254740993, -42, 7, 25.0]").unwrap();
        assert_eq!(
            stringify(&big, Shape::Sorted),
            "[\n  9007199254740992,\n  -42,\n  7,\n  25\n]"
        );
    }

    #[test]
    fn strings_escape_only_what_json_stringify_escapes() {
        let value = json!("\u{1}\u{7f}\u{2028}é/\"\\\n\t\u{8}\u{c}\r\u{1f}");
        assert_eq!(
            stringify(&value, Shape::Sorted),
            "\"\\u0001\u{7f}\u{2028}é/\\\"\\\\\\n\\t\\b\\f\\r\\u001f\""
        );
    }

    #[test]
    fn shapes_order_keys_and_unnamed_keys_follow_sorted() {
        const INNER: Shape = Shape::Keys(&[("z", Shape::Sorted), ("a", Shape::Sorted)]);
        const OUTER: Shape = Shape::Keys(&[("list", Shape::Each(&INNER)), ("b", Shape::Sorted)]);
        let value =
            json!({"b": {}, "list": [{"a": 1, "z": 2, "m": []}], "c": {"y": 1, "x": 2}, "a": 0});
        assert_eq!(
            stringify(&value, OUTER),
            "{\n  \"list\": [\n    {\n      \"z\": 2,\n      \"a\": 1,\n      \"m\": []\n    }\n  ],\n  \
             \"b\": {},\n  \"a\": 0,\n  \"c\": {\n    \"x\": 2,\n    \"y\": 1\n  }\n}"
        );
        let one = json!(1);
        assert_eq!(
            stringify_entries(&[("b", &one, Shape::Sorted), ("a", &one, Shape::Sorted)]),
            "{\n  \"b\": 1,\n  \"a\": 1\n}"
        );
        assert_eq!(stringify_entries(&[]), "{}");
    }
}
