//! JSON text exactly as CPython's `json.dumps` writes it, for the local stack's emulation of the
//! solution's Python Lambdas (contract §6, §10): `srcMediainfo` is stored as `json.dumps(x, indent=2)`.
//!
//! This module owns:
//! - [`PyValue`], a Python-shaped JSON value whose dicts keep **insertion order** (serde_json here is
//!   built without `preserve_order`, so a `serde_json::Value` object always comes out sorted by key);
//!   build a [`PyValue`] when the key order matters, as it does for §6.
//! - [`PyValue::from_json`] for a `serde_json::Value` (keys in the Value's own order, i.e. sorted) and
//!   [`PyValue::dumps`] for either `indent=2`-style or compact (`indent=None`) output.
//! - [`float_repr`] (Python `repr(float)`) and [`quote_ascii`] (the `ensure_ascii=True` string escaping).
//!
//! Python's defaults are reproduced: `ensure_ascii=True` (every character outside `' '..='~'` is escaped
//! as lower-case `\uXXXX`, astral characters as a surrogate pair, with the short forms `\" \\ \n \r \t \b
//! \f`), `allow_nan=True` (`NaN`, `Infinity`, `-Infinity`), separators `(',', ': ')` with an indent and
//! `(', ', ': ')` without, and `{}` / `[]` for empty containers whatever the indent.

/// A JSON value as the Python `json` module sees it, with ordered dicts.
#[derive(Debug, Clone, PartialEq)]
pub enum PyValue {
    None,
    Bool(bool),
    /// Python ints are unbounded; this holds every int a probe can produce. Written as digits.
    Int(i128),
    /// Written as `repr(float)`: `25.0`, `29.97`, `1e+16`, `NaN`, `Infinity`.
    Float(f64),
    Str(String),
    List(Vec<PyValue>),
    /// Keys in insertion order, unique (use [`PyValue::set`] to keep them unique).
    Dict(Vec<(String, PyValue)>),
}

impl PyValue {
    /// An empty dict.
    pub fn dict() -> Self {
        PyValue::Dict(Vec::new())
    }

    /// `d[key] = value` on a dict: replaces the value in place if the key exists (keeping its position,
    /// as Python does), else appends. Does nothing on a non-dict.
    pub fn set(&mut self, key: &str, value: PyValue) {
        if let PyValue::Dict(entries) = self {
            if let Some(entry) = entries.iter_mut().find(|(k, _)| k == key) {
                entry.1 = value;
            } else {
                entries.push((key.to_owned(), value));
            }
        }
    }

    /// `d.get(key)` on a dict; `None` for a missing key or a non-dict.
    pub fn get(&self, key: &str) -> Option<&PyValue> {
        match self {
            PyValue::Dict(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value `json.loads` would produce for this JSON value (object keys in the Value's order).
    pub fn from_json(value: &serde_json::Value) -> Self {
        match value {
            serde_json::Value::Null => PyValue::None,
            serde_json::Value::Bool(b) => PyValue::Bool(*b),
            serde_json::Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    PyValue::Int(i128::from(i))
                } else if let Some(u) = n.as_u64() {
                    PyValue::Int(i128::from(u))
                } else {
                    PyValue::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            serde_json::Value::String(s) => PyValue::Str(s.clone()),
            serde_json::Value::Array(items) => {
                PyValue::List(items.iter().map(PyValue::from_json).collect())
            }
            serde_json::Value::Object(map) => PyValue::Dict(
                map.iter()
                    .map(|(k, v)| (k.clone(), PyValue::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// The equivalent `serde_json::Value` (dict order is lost unless serde_json keeps it). Non-finite
    /// floats, which JSON cannot hold, become `null`; ints beyond 64 bits become floats.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            PyValue::None => serde_json::Value::Null,
            PyValue::Bool(b) => serde_json::Value::Bool(*b),
            PyValue::Int(i) => {
                if let Ok(v) = i64::try_from(*i) {
                    serde_json::Value::from(v)
                } else if let Ok(v) = u64::try_from(*i) {
                    serde_json::Value::from(v)
                } else {
                    float_to_json(*i as f64)
                }
            }
            PyValue::Float(f) => float_to_json(*f),
            PyValue::Str(s) => serde_json::Value::String(s.clone()),
            PyValue::List(items) => {
                serde_json::Value::Array(items.iter().map(PyValue::to_json).collect())
            }
            PyValue::Dict(entries) => serde_json::Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// `json.dumps(self, indent=indent)`: `Some(2)` is `indent=2`, `None` the compact default.
    pub fn dumps(&self, indent: Option<usize>) -> String {
        let mut out = String::new();
        write_value(&mut out, self, indent, 0);
        out
    }
}

fn float_to_json(f: f64) -> serde_json::Value {
    serde_json::Number::from_f64(f)
        .map(serde_json::Value::Number)
        .unwrap_or(serde_json::Value::Null)
}

fn write_value(out: &mut String, value: &PyValue, indent: Option<usize>, level: usize) {
    match value {
        PyValue::None => out.push_str("null"),
        PyValue::Bool(true) => out.push_str("true"),
        PyValue::Bool(false) => out.push_str("false"),
        PyValue::Int(i) => out.push_str(&i.to_string()),
        PyValue::Float(f) => out.push_str(&float_json(*f)),
        PyValue::Str(s) => out.push_str(&quote_ascii(s)),
        PyValue::List(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                separator(out, n, indent, level + 1);
                write_value(out, item, indent, level + 1);
            }
            closing(out, indent, level);
            out.push(']');
        }
        PyValue::Dict(entries) => {
            if entries.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (n, (key, item)) in entries.iter().enumerate() {
                separator(out, n, indent, level + 1);
                out.push_str(&quote_ascii(key));
                out.push_str(": ");
                write_value(out, item, indent, level + 1);
            }
            closing(out, indent, level);
            out.push('}');
        }
    }
}

/// Before item `n` of a container: the item separator (`,` with an indent, `, ` without) and the
/// newline plus indentation.
fn separator(out: &mut String, n: usize, indent: Option<usize>, level: usize) {
    match indent {
        Some(width) => {
            if n > 0 {
                out.push(',');
            }
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', width * level));
        }
        None => {
            if n > 0 {
                out.push_str(", ");
            }
        }
    }
}

fn closing(out: &mut String, indent: Option<usize>, level: usize) {
    if let Some(width) = indent {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', width * level));
    }
}

/// A float as `json.dumps` writes it (`allow_nan=True`): `float.__repr__`, except `NaN`, `Infinity`
/// and `-Infinity`.
fn float_json(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
    } else {
        float_repr(f)
    }
}

/// Python's `repr(float)`: the shortest digits that round-trip, in positional form when the decimal
/// exponent is in `-4..16` (always with a fraction, `25.0`), else in scientific form with a signed
/// exponent of at least two digits (`1e+16`, `1.5e-07`). `nan` / `inf` / `-inf` as Python prints them.
pub(crate) fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    // Rust's `{:e}` gives the shortest round-trip digits too: "-1.2345e-7", "0e0".
    let sci = format!("{:e}", f.abs());
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if f.is_sign_negative() { "-" } else { "" };
    // Position of the decimal point relative to the digits, as CPython's `decpt`.
    let decpt = exponent + 1;
    let body = if f == 0.0 {
        "0.0".to_owned()
    } else if decpt <= -4 || decpt > 16 {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        format!("{first}{fraction}e{exp_sign}{:02}", exponent.unsigned_abs())
    } else if decpt <= 0 {
        format!("0.{}{digits}", "0".repeat(decpt.unsigned_abs() as usize))
    } else {
        let decpt = decpt as usize;
        if decpt >= digits.len() {
            format!("{digits}{}.0", "0".repeat(decpt - digits.len()))
        } else {
            format!("{}.{}", &digits[..decpt], &digits[decpt..])
        }
    };
    format!("{sign}{body}")
}

/// A string as `json.dumps` quotes it with `ensure_ascii=True`, quotes included.
pub(crate) fn quote_ascii(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    /// `json.dumps(value, indent=2)` for a `serde_json::Value`. Object keys come out in the Value's order
    /// (sorted, since serde_json is built without `preserve_order`); build a [`PyValue`] to choose the order.
    /// A serde_json float is always written as a Python float (`25.0`), an integer as an int.
    fn dumps_indent2(value: &serde_json::Value) -> String {
        PyValue::from_json(value).dumps(Some(2))
    }

    use super::*;
    use serde_json::json;

    // Expected strings below were produced with CPython 3.11 `json.dumps` / `repr`.

    #[test]
    fn float_repr_matches_python() {
        let cases: &[(f64, &str)] = &[
            (1e16, "1e+16"),
            (1234567890123456.0, "1234567890123456.0"),
            (1e15, "1000000000000000.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (25.0, "25.0"),
            (29.97, "29.97"),
            (100.0, "100.0"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (1e22, "1e+22"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (2.5e300, "2.5e+300"),
            (5e-324, "5e-324"),
            (0.1 + 0.2, "0.30000000000000004"),
            (-95.428, "-95.428"),
            (f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for (value, expected) in cases {
            assert_eq!(float_repr(*value), *expected, "{value:e}");
        }
    }

    #[test]
    fn non_finite_floats_as_json_dumps_writes_them() {
        let v = PyValue::List(vec![
            PyValue::Float(f64::NAN),
            PyValue::Float(f64::INFINITY),
            PyValue::Float(f64::NEG_INFINITY),
        ]);
        assert_eq!(v.dumps(None), "[NaN, Infinity, -Infinity]");
    }

    #[test]
    fn strings_escaped_like_ensure_ascii() {
        // python3 -c 'import json; print(json.dumps("\u00e9\x7f\x00\x1f\"\\\n\t\b\f\r\U0001F600 \u2028~ "))'
        assert_eq!(
            quote_ascii("é\u{7f}\u{0}\u{1f}\"\\\n\t\u{8}\u{c}\r😀 \u{2028}~ "),
            r#""\u00e9\u007f\u0000\u001f\"\\\n\t\b\f\r\ud83d\ude00 \u2028~ ""#
        );
        assert_eq!(
            quote_ascii("uploads/Café Año.mp4"),
            r#""uploads/Caf\u00e9 A\u00f1o.mp4""#
        );
    }

    #[test]
    fn indent2_matches_python_byte_for_byte() {
        // json.dumps({'a': [], 'b': {}, 'c': [1, {'d': None, 'e': True}], 'é…😀': 'Café Año 😀 \u2028'}, indent=2)
        let value = json!({
            "a": [],
            "b": {},
            "c": [1, {"d": null, "e": true}],
            "\u{e9}\u{7f}\u{0}\u{1f}\"\\\n\t\u{8}\u{c}\r😀": "Café Año 😀 \u{2028}",
        });
        let expected = r#"{
  "a": [],
  "b": {},
  "c": [
    1,
    {
      "d": null,
      "e": true
    }
  ],
  "\u00e9\u007f\u0000\u001f\"\\\n\t\b\f\r\ud83d\ude00": "Caf\u00e9 A\u00f1o \ud83d\ude00 \u2028"
}"#;
        assert_eq!(dumps_indent2(&value), expected);
    }

    #[test]
    fn scalars_and_empty_containers() {
        assert_eq!(dumps_indent2(&json!({})), "{}");
        assert_eq!(dumps_indent2(&json!([])), "[]");
        assert_eq!(dumps_indent2(&json!(null)), "null");
        assert_eq!(dumps_indent2(&json!(25.0)), "25.0");
        assert_eq!(dumps_indent2(&json!(1080)), "1080");
        assert_eq!(dumps_indent2(&json!(u64::MAX)), "18446744073709551615");
        assert_eq!(dumps_indent2(&json!(-7)), "-7");
        assert_eq!(dumps_indent2(&json!(false)), "false");
        assert_eq!(dumps_indent2(&json!([[]])), "[\n  []\n]");
    }

    #[test]
    fn dict_keeps_insertion_order_and_compact_form() {
        // json.dumps({'filename': 'x', 'container': {'format': 'MPEG-4', 'duration': 2.0}, 'audio': [{}]})
        let mut container = PyValue::dict();
        container.set("format", PyValue::Str("MPEG-4".into()));
        container.set("duration", PyValue::Float(2.0));
        let mut top = PyValue::dict();
        top.set("filename", PyValue::Str("x".into()));
        top.set("container", PyValue::None);
        top.set("audio", PyValue::List(vec![PyValue::dict()]));
        top.set("container", container); // replaced in place, as a Python dict does
        assert_eq!(
            top.dumps(None),
            r#"{"filename": "x", "container": {"format": "MPEG-4", "duration": 2.0}, "audio": [{}]}"#
        );
        assert_eq!(
            top.dumps(Some(2)),
            "{\n  \"filename\": \"x\",\n  \"container\": {\n    \"format\": \"MPEG-4\",\n    \"duration\": 2.0\n  },\n  \"audio\": [\n    {}\n  ]\n}"
        );
        assert_eq!(top.get("filename"), Some(&PyValue::Str("x".into())));
    }

    #[test]
    fn to_json_round_trips() {
        let value = json!({"a": 1, "b": [2.5, "é", null, true], "c": {"d": -3}});
        let py = PyValue::from_json(&value);
        assert_eq!(py.to_json(), value);
        let text = py.dumps(Some(2));
        assert!(text.is_ascii());
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).ok(),
            Some(value)
        );
        assert_eq!(PyValue::Float(f64::NAN).to_json(), serde_json::Value::Null);
    }
}
