//! DynamoDB typed AttributeValues → plain JSON, for both ways vodesk meets an item:
//! DynamoDB JSON text (`aws dynamodb get-item`/`scan` output, the local emulation's table) and
//! the SDK's `HashMap<String, AttributeValue>` (the engine's GetItem/Query/Scan).
//!
//! Both paths share the number rule and the depth bound and end in the same plain
//! `serde_json::Map`, which `record` then reads exactly like an SNS message body (§8 rule 1).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Number, Value};

use super::error::{DecodeError, quoted, type_name};

/// Every type descriptor DynamoDB JSON can carry.
pub const DESCRIPTOR_NAMES: [&str; 10] =
    ["S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"];

/// Deepest `M`/`L` nesting accepted. DynamoDB itself stops at 32 levels; the bound exists so
/// that an SDK value built in memory (which has no parser recursion limit) cannot overflow
/// the stack.
pub const MAX_DEPTH: usize = 64;

/// Whether `name` is one of [`DESCRIPTOR_NAMES`].
pub fn is_descriptor_name(name: &str) -> bool {
    DESCRIPTOR_NAMES.contains(&name)
}

/// Source detection for DynamoDB JSON (§8 non-normative note): the object's `Item` member is
/// an object, or every top-level value is a non-empty object whose keys are all descriptor
/// names. Only shape is checked here; [`unwrap_document`] then validates each descriptor, so
/// `{"guid": {"S": 5}}` is detected here and rejected there.
pub fn is_dynamodb_json(obj: &Map<String, Value>) -> bool {
    if obj.get("Item").is_some_and(Value::is_object) {
        return true;
    }
    // An empty object is left to the raw-message reader, which reports the missing status.
    !obj.is_empty()
        && obj.values().all(|v| match v {
            Value::Object(d) => !d.is_empty() && d.keys().all(|k| is_descriptor_name(k)),
            _ => false,
        })
}

/// The attribute map of a DynamoDB JSON document and the path prefix errors should use:
/// the `Item` member when there is one (get-item output), else the object itself (a bare item,
/// e.g. one element of scan's `Items`).
pub fn item_attributes(obj: &Map<String, Value>) -> (&Map<String, Value>, &'static str) {
    match obj.get("Item") {
        Some(Value::Object(item)) => (item, "Item"),
        _ => (obj, ""),
    }
}

/// Unwraps a DynamoDB JSON document (bare or `{"Item": {...}}`) into plain attributes.
pub fn unwrap_document(obj: &Map<String, Value>) -> Result<Map<String, Value>, DecodeError> {
    let (attributes, prefix) = item_attributes(obj);
    unwrap_attributes(attributes, prefix)
}

/// Unwraps an attribute map whose values are all descriptors. `prefix` starts every error path
/// (use `""` for none).
pub fn unwrap_attributes(
    attributes: &Map<String, Value>,
    prefix: &str,
) -> Result<Map<String, Value>, DecodeError> {
    let root = Path::Root(prefix);
    let mut out = Map::new();
    for (name, descriptor) in attributes {
        let value = unwrap_at(descriptor, &Path::Key(&root, name), 0)?;
        out.insert(name.clone(), value);
    }
    Ok(out)
}

/// Unwraps one descriptor (`{"S": "x"}`, `{"M": {...}}`, ...) recursively. `path` names it in
/// errors.
pub fn unwrap_attribute_value(descriptor: &Value, path: &str) -> Result<Value, DecodeError> {
    unwrap_at(descriptor, &Path::Root(path), 0)
}

/// Converts an SDK item (GetItem/Query/Scan) into the same plain attributes as
/// [`unwrap_document`] produces for the equivalent DynamoDB JSON.
pub fn from_sdk_item(
    item: &HashMap<String, AttributeValue>,
) -> Result<Map<String, Value>, DecodeError> {
    let root = Path::Root("");
    let mut out = Map::new();
    for (name, value) in item {
        out.insert(name.clone(), sdk_at(value, &Path::Key(&root, name), 0)?);
    }
    Ok(out)
}

/// Converts a DynamoDB number string into a JSON number: an integer when the value is integral
/// and fits i64/u64 exactly, else an f64. `None` for anything that is not a finite decimal
/// (`"abc"`, `"NaN"`, `"inf"`, `"1e999"`, surrounding whitespace).
pub fn number_from_decimal(text: &str) -> Option<Number> {
    if !is_decimal(text) {
        return None;
    }
    if let Ok(i) = text.parse::<i64>() {
        return Some(Number::from(i));
    }
    if let Ok(u) = text.parse::<u64>() {
        return Some(Number::from(u));
    }
    let f = text.parse::<f64>().ok().filter(|f| f.is_finite())?;
    // "1080.0" and "1E+3" are integers to JavaScript (which wrote them); beyond 2^53 an f64
    // no longer holds every integer exactly, so those stay floats.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if f.fract() == 0.0 && f.abs() <= EXACT {
        #[allow(clippy::cast_possible_truncation)]
        return Some(Number::from(f as i64));
    }
    Number::from_f64(f)
}

/// `[+-]digits[.digits][(e|E)[+-]digits]`, with at least one mantissa digit.
fn is_decimal(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    let digits_from = |mut i: usize| {
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    if matches!(bytes.first(), Some(b'+' | b'-')) {
        i = 1;
    }
    let int_end = digits_from(i);
    let mut mantissa_digits = int_end - i;
    i = int_end;
    if bytes.get(i) == Some(&b'.') {
        let frac_end = digits_from(i + 1);
        mantissa_digits += frac_end - (i + 1);
        i = frac_end;
    }
    if mantissa_digits == 0 {
        return false;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_end = digits_from(i);
        if exp_end == i {
            return false;
        }
        i = exp_end;
    }
    i == bytes.len()
}

/// An attribute path kept as a chain of borrowed segments, rendered only when an error needs
/// it, so unwrapping a large `encodingJob` allocates no path strings.
enum Path<'a> {
    Root(&'a str),
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    fn render(&self) -> String {
        match self {
            Path::Root(prefix) => (*prefix).to_owned(),
            Path::Key(parent, key) => {
                let parent = parent.render();
                if parent.is_empty() {
                    (*key).to_owned()
                } else {
                    format!("{parent}.{key}")
                }
            }
            Path::Index(parent, index) => format!("{}[{index}]", parent.render()),
        }
    }

    fn error(&self, problem: impl AsRef<str>) -> DecodeError {
        let path = self.render();
        if path.is_empty() {
            DecodeError::invalid("item", problem)
        } else {
            DecodeError::invalid(path, problem)
        }
    }
}

fn unwrap_at(descriptor: &Value, path: &Path<'_>, depth: usize) -> Result<Value, DecodeError> {
    let Value::Object(fields) = descriptor else {
        return Err(path.error(format!(
            "expected a type descriptor such as {{\"S\": ...}}, found {}",
            type_name(descriptor)
        )));
    };
    let mut members = fields.iter();
    let (tag, inner) = match (members.next(), members.next()) {
        (Some(only), None) => only,
        _ => return Err(path.error(format!("descriptor has {} keys", fields.len()))),
    };
    let wrong = |expected: &str| {
        path.error(format!(
            "\"{tag}\" descriptor needs {expected}, found {}",
            type_name(inner)
        ))
    };
    match tag.as_str() {
        "S" | "B" => inner
            .as_str()
            .map(|s| Value::String(s.to_owned()))
            .ok_or_else(|| wrong("a string")),
        "N" => match inner {
            Value::String(text) => number(text, path).map(Value::Number),
            _ => Err(wrong("a decimal string")),
        },
        "BOOL" => inner
            .as_bool()
            .map(Value::Bool)
            .ok_or_else(|| wrong("a boolean")),
        "NULL" => match inner {
            Value::Bool(_) => Ok(Value::Null),
            _ => Err(wrong("a boolean")),
        },
        "M" => {
            let Value::Object(members) = inner else {
                return Err(wrong("an object"));
            };
            check_depth(path, depth)?;
            let mut out = Map::new();
            for (key, member) in members {
                out.insert(
                    key.clone(),
                    unwrap_at(member, &Path::Key(path, key), depth + 1)?,
                );
            }
            Ok(Value::Object(out))
        }
        "L" => {
            let Value::Array(items) = inner else {
                return Err(wrong("a list"));
            };
            check_depth(path, depth)?;
            items
                .iter()
                .enumerate()
                .map(|(i, item)| unwrap_at(item, &Path::Index(path, i), depth + 1))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
        "SS" | "BS" | "NS" => {
            let Value::Array(items) = inner else {
                return Err(wrong("a list of strings"));
            };
            items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::String(text) if tag == "NS" => {
                        number(text, &Path::Index(path, i)).map(Value::Number)
                    }
                    Value::String(text) => Ok(Value::String(text.clone())),
                    other => Err(Path::Index(path, i).error(format!(
                        "\"{tag}\" element must be a string, found {}",
                        type_name(other)
                    ))),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
        other => Err(path.error(format!("unknown descriptor {}", quoted(other)))),
    }
}

fn sdk_at(value: &AttributeValue, path: &Path<'_>, depth: usize) -> Result<Value, DecodeError> {
    Ok(match value {
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::N(text) => Value::Number(number(text, path)?),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::Null(_) => Value::Null,
        // DynamoDB JSON carries binaries as base64 text; the SDK has already decoded them.
        AttributeValue::B(blob) => Value::String(base64(blob.as_ref())),
        AttributeValue::Bs(blobs) => Value::Array(
            blobs
                .iter()
                .map(|b| Value::String(base64(b.as_ref())))
                .collect(),
        ),
        AttributeValue::Ss(items) => {
            Value::Array(items.iter().cloned().map(Value::String).collect())
        }
        AttributeValue::Ns(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, text)| number(text, &Path::Index(path, i)).map(Value::Number))
                .collect::<Result<_, _>>()?,
        ),
        AttributeValue::M(members) => {
            check_depth(path, depth)?;
            let mut out = Map::new();
            for (key, member) in members {
                out.insert(
                    key.clone(),
                    sdk_at(member, &Path::Key(path, key), depth + 1)?,
                );
            }
            Value::Object(out)
        }
        AttributeValue::L(items) => {
            check_depth(path, depth)?;
            Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| sdk_at(item, &Path::Index(path, i), depth + 1))
                    .collect::<Result<_, _>>()?,
            )
        }
        // `AttributeValue` is non-exhaustive: a newer service type this SDK cannot name.
        _ => return Err(path.error("unknown descriptor")),
    })
}

fn number(text: &str, path: &Path<'_>) -> Result<Number, DecodeError> {
    number_from_decimal(text).ok_or_else(|| {
        path.error(format!(
            "\"N\" value {} is not a decimal number",
            quoted(text)
        ))
    })
}

fn check_depth(path: &Path<'_>, depth: usize) -> Result<(), DecodeError> {
    if depth >= MAX_DEPTH {
        Err(path.error(format!("nested deeper than {MAX_DEPTH} levels")))
    } else {
        Ok(())
    }
}

/// Standard base64 with padding, as DynamoDB JSON prints `B`/`BS` values.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sextet = |n: u32, shift: u32| char::from(ALPHABET[((n >> shift) & 63) as usize]);
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let (b0, b1, b2) = match *chunk {
            [a] => (a, None, None),
            [a, b] => (a, Some(b), None),
            [a, b, c] => (a, Some(b), Some(c)),
            _ => continue,
        };
        let n =
            (u32::from(b0) << 16) | (u32::from(b1.unwrap_or(0)) << 8) | u32::from(b2.unwrap_or(0));
        out.push(sextet(n, 18));
        out.push(sextet(n, 12));
        out.push(if b1.is_some() { sextet(n, 6) } else { '=' });
        out.push(if b2.is_some() { sextet(n, 0) } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers() {
        assert_eq!(number_from_decimal("12"), Some(Number::from(12)));
        assert_eq!(number_from_decimal("-7"), Some(Number::from(-7)));
        assert_eq!(
            number_from_decimal("18446744073709551615"),
            Some(Number::from(u64::MAX))
        );
        assert_eq!(number_from_decimal("1080.0"), Some(Number::from(1080)));
        assert_eq!(number_from_decimal("1E+3"), Some(Number::from(1000)));
        assert_eq!(number_from_decimal("95.428"), Number::from_f64(95.428));
        assert_eq!(number_from_decimal(".5"), Number::from_f64(0.5));
        for bad in [
            "", "abc", "NaN", "inf", "-inf", "1e999", " 1", "1 ", "1e", "+", ".", "0x10", "1_000",
        ] {
            assert_eq!(number_from_decimal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn nested_error_path() {
        let doc = json!({"Item": {"encodingJob": {"M": {"Settings": {"S": "a", "N": "1"}}}}});
        let Value::Object(obj) = doc else {
            unreachable!()
        };
        let err = unwrap_document(&obj).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid input: Item.encodingJob.Settings: descriptor has 2 keys"
        );
    }

    #[test]
    fn depth_is_bounded_for_sdk_values() {
        let mut value = AttributeValue::S("leaf".into());
        for _ in 0..200 {
            value = AttributeValue::L(vec![value]);
        }
        let item = HashMap::from([("deep".to_owned(), value)]);
        let err = from_sdk_item(&item).unwrap_err();
        assert!(
            err.to_string().contains("nested deeper than 64 levels"),
            "{err}"
        );
    }
}
