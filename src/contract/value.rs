//! Tolerant scalar readers shared by the record and srcMediainfo readers: numbers that may
//! arrive as JSON numbers or numeric strings, and strings that older or hand-edited records
//! may hold as numbers. Out-of-range or non-finite values read as unknown (`None`), never panic.

use serde_json::Value;

use super::dynamodb::number_from_decimal;

/// A finite f64 from a JSON number or a decimal string (surrounding whitespace allowed).
pub(crate) fn as_f64(value: &Value) -> Option<f64> {
    let f = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => number_from_decimal(s.trim())?.as_f64()?,
        _ => return None,
    };
    f.is_finite().then_some(f)
}

/// A non-negative integer from a JSON number or decimal string. Integral floats (`1080.0`,
/// which Python's `parse_number` never writes but JavaScript may) are accepted; negative,
/// fractional and out-of-range values (`1e30`) are unknown.
pub(crate) fn as_u64(value: &Value) -> Option<u64> {
    if let Value::Number(n) = value
        && let Some(u) = n.as_u64()
    {
        return Some(u);
    }
    if let Value::String(s) = value
        && let Ok(u) = s.trim().parse::<u64>()
    {
        return Some(u);
    }
    let f = as_f64(value)?;
    // 2^64 is exactly representable; anything below it converts without saturation.
    const LIMIT: f64 = 18_446_744_073_709_551_616.0;
    if (0.0..LIMIT).contains(&f) && f.fract() == 0.0 {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Some(f as u64)
    } else {
        None
    }
}

/// A string field. Numbers and booleans are rendered as their JSON text, because a metadata
/// override or a MediaInfo quirk can turn `"1.778"` into `1.778` without changing its meaning.
pub(crate) fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn u64_rules() {
        assert_eq!(as_u64(&json!(1080)), Some(1080));
        assert_eq!(as_u64(&json!("1080")), Some(1080));
        assert_eq!(as_u64(&json!(1080.0)), Some(1080));
        assert_eq!(as_u64(&json!(" 720 ")), Some(720));
        assert_eq!(as_u64(&json!(1e30)), None);
        assert_eq!(as_u64(&json!(-1)), None);
        assert_eq!(as_u64(&json!(12.5)), None);
        assert_eq!(as_u64(&json!("abc")), None);
        assert_eq!(as_u64(&json!(true)), None);
    }

    #[test]
    fn f64_rules() {
        assert_eq!(as_f64(&json!(95.428)), Some(95.428));
        assert_eq!(as_f64(&json!("29.970")), Some(29.97));
        assert_eq!(as_f64(&json!("NaN")), None);
        assert_eq!(as_f64(&json!("1e999")), None);
        assert_eq!(as_f64(&json!(null)), None);
    }
}
