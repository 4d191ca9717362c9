//! Sizes and rates as people write and read them: `16MiB`, `2.5 MB/s`, `1.5 GiB`, `12.3 MiB/s`. The CLI's
//! flags parse with these, and the CLI and the window show sizes and rates with them (durations are
//! `crate::time::human_duration`).

/// 1 KiB, 1 MiB, ... as byte counts; the binary units S3's limits are stated in.
pub const KIB: u64 = 1024;
pub const MIB: u64 = 1024 * KIB;
pub const GIB: u64 = 1024 * MIB;
pub const TIB: u64 = 1024 * GIB;

/// Why a size or rate could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    #[error("cannot read size {input:?}: {problem}; {SIZE_FORMS}")]
    InvalidSize { input: String, problem: String },
    #[error("cannot read rate {input:?}: {problem}; {RATE_FORMS}")]
    InvalidRate { input: String, problem: String },
}

/// The accepted forms, repeated in every parse error so the user can fix the input without docs.
const SIZE_FORMS: &str = "use a whole number of bytes or a number with a unit, e.g. 1048576, 8 MiB, 16MiB, \
16MB, 16M, 1.5GiB (units, any case: B; KiB/MiB/GiB/TiB or K/M/G/T = powers of 1024; KB/MB/GB/TB = powers of 1000)";
const RATE_FORMS: &str = "use a size per second, e.g. 20MiB, 20MiB/s, 2.5 MB/s, 500K/s \
(units, any case: B; KiB/MiB/GiB/TiB or K/M/G/T = powers of 1024; KB/MB/GB/TB = powers of 1000)";
/// Parses a byte size such as `16MiB`, `16MB`, `16M`, `8 MiB`, `1.5GiB` or `1048576`.
///
/// Units are case-insensitive. `K`/`M`/`G`/`T` alone mean the binary units (as in most tools'
/// part-size flags); `KB`/`MB`/... are decimal. Fractions round to the nearest byte, but a fraction of
/// a plain byte count is refused. `0` is accepted here; callers that need more say so.
pub fn parse_size(input: &str) -> Result<u64, UnitError> {
    parse_quantity(input).map_err(|problem| UnitError::InvalidSize {
        input: input.to_owned(),
        problem,
    })
}

/// Parses a transfer rate in bytes per second, such as `20MiB`, `20MiB/s` or `2.5 MB/s` (the units of
/// [`parse_size`], with an optional `/s`). Zero is refused: "no limit" is expressed by giving none.
pub fn parse_rate(input: &str) -> Result<u64, UnitError> {
    let invalid = |problem: String| UnitError::InvalidRate {
        input: input.to_owned(),
        problem,
    };
    let trimmed = input.trim();
    let without_per_second = strip_suffix_ignore_case(trimmed, "/s").unwrap_or(trimmed);
    let rate = parse_quantity(without_per_second).map_err(invalid)?;
    if rate == 0 {
        return Err(invalid(
            "a rate of 0 would never finish; leave the limit unset to upload at full speed"
                .to_owned(),
        ));
    }
    Ok(rate)
}

/// A byte count in binary units with at most one decimal: `512 B`, `16 MiB`, `1.5 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    // Precision loss above 2^53 bytes only affects digits that are not displayed.
    format_binary(bytes as f64, false)
}

/// A rate in binary units per second, always with one decimal so a live display does not jitter:
/// `12.3 MiB/s`, `512.0 B/s`. Negative or non-finite input shows as `0.0 B/s`.
pub fn human_rate(bytes_per_sec: f64) -> String {
    let value = if bytes_per_sec.is_finite() && bytes_per_sec > 0.0 {
        bytes_per_sec
    } else {
        0.0
    };
    format!("{}/s", format_binary(value, true))
}

const BINARY_UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

fn format_binary(value: f64, keep_decimal: bool) -> String {
    let mut scaled = value;
    let mut unit = "B";
    let mut units = BINARY_UNITS.iter().peekable();
    while let Some(current) = units.next() {
        unit = current;
        // Step up when the value would *display* as 1024 or more (1023.96 KiB shows as 1 MiB).
        let shown = (scaled * 10.0).round() / 10.0;
        if shown < 1024.0 || units.peek().is_none() {
            break;
        }
        scaled /= 1024.0;
    }
    if unit == "B" && !keep_decimal {
        // Bytes are whole; no decimal.
        return format!("{} B", scaled.round());
    }
    let text = format!("{scaled:.1}");
    let text = match text.strip_suffix(".0") {
        Some(whole) if !keep_decimal => whole.to_owned(),
        _ => text,
    };
    format!("{text} {unit}")
}

/// `12800` → `12,800`, for counts in messages.
pub(crate) fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn strip_suffix_ignore_case<'a>(text: &'a str, suffix: &str) -> Option<&'a str> {
    let split = text.len().checked_sub(suffix.len())?;
    let (head, tail) = (text.get(..split)?, text.get(split..)?);
    tail.eq_ignore_ascii_case(suffix).then_some(head)
}

/// Most fraction digits accepted; beyond this the input is not a size a human meant.
const MAX_FRACTION_DIGITS: usize = 18;

/// Shared by size and rate parsing: a decimal number and an optional unit. Integer arithmetic
/// throughout (u128), so `1.5GiB` is exact and overflow is detected rather than wrapped.
/// Returns the problem as text; the caller wraps it with the input and the accepted forms.
fn parse_quantity(input: &str) -> Result<u64, String> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err("it is empty".to_owned());
    }
    if trimmed.starts_with('-') {
        return Err("it is negative".to_owned());
    }
    let number_end = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(number_end);
    let (whole, fraction) = match number.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (number, None),
    };
    if whole.is_empty() {
        return Err("it does not start with a digit".to_owned());
    }
    if let Some(fraction) = fraction {
        if fraction.is_empty() || fraction.contains('.') {
            return Err("the number is malformed".to_owned());
        }
        if fraction.len() > MAX_FRACTION_DIGITS {
            return Err(format!("more than {MAX_FRACTION_DIGITS} decimal places"));
        }
    }
    let multiplier: u64 = match unit.trim_start().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => KIB,
        "kb" => 1_000,
        "m" | "mib" => MIB,
        "mb" => 1_000_000,
        "g" | "gib" => GIB,
        "gb" => 1_000_000_000,
        "t" | "tib" => TIB,
        "tb" => 1_000_000_000_000,
        other => return Err(format!("unknown unit {other:?}")),
    };
    let too_large = || format!("it is larger than {} bytes", u64::MAX);
    // u64::MAX has 20 digits, so anything longer overflows; checking first keeps u128 math in range.
    if whole.trim_start_matches('0').len() > 20 {
        return Err(too_large());
    }
    let whole_value: u128 = whole.parse().map_err(|_| too_large())?;
    let mut bytes = whole_value
        .checked_mul(u128::from(multiplier))
        .ok_or_else(too_large)?;
    if let Some(fraction) = fraction {
        let numerator: u128 = fraction.parse().map_err(|_| too_large())?;
        if numerator != 0 && multiplier == 1 {
            return Err("a byte count must be a whole number".to_owned());
        }
        let exponent = u32::try_from(fraction.len()).map_err(|_| too_large())?;
        let denominator = 10u128.pow(exponent);
        // Round half up to the nearest byte: (2·n·m + d) / 2d. At most 10^18 · 2^40 · 2 < 2^128.
        let fraction_bytes =
            (2 * numerator * u128::from(multiplier) + denominator) / (2 * denominator);
        bytes = bytes.checked_add(fraction_bytes).ok_or_else(too_large)?;
    }
    u64::try_from(bytes).map_err(|_| too_large())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parse_size_round_trips_integers(n in 0u64..=u64::MAX) {
            prop_assert_eq!(parse_size(&n.to_string()), Ok(n));
            prop_assert_eq!(parse_size(&format!("{n} B")), Ok(n));
        }

        #[test]
        fn parse_size_never_panics(s in "\\PC{0,24}") {
            // Only a panic fails this test: Ok and Err are both valid answers to arbitrary text.
            let _answers = (parse_size(&s), parse_rate(&s));
        }
    }

    #[test]
    fn parse_size_accepts_the_documented_forms() {
        let cases = [
            ("16MiB", 16 * MIB),
            ("16MB", 16_000_000),
            ("16M", 16 * MIB),
            ("5GiB", 5 * GIB),
            ("1048576", 1_048_576),
            ("8 MiB", 8 * MIB),
            ("  8 MiB  ", 8 * MIB),
            ("1.5GiB", 3 * GIB / 2),
            ("0.5 KiB", 512),
            ("16mib", 16 * MIB),
            ("16MIB", 16 * MIB),
            ("16m", 16 * MIB),
            ("2k", 2048),
            ("2KiB", 2048),
            ("2KB", 2000),
            ("2kb", 2000),
            ("3g", 3 * GIB),
            ("3GB", 3_000_000_000),
            ("1t", TIB),
            ("1TiB", TIB),
            ("1TB", 1_000_000_000_000),
            ("12b", 12),
            ("12 B", 12),
            ("1.0", 1),
            ("0", 0),
            ("007MiB", 7 * MIB),
            ("1.1MB", 1_100_000),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_size(input), Ok(expected), "{input}");
        }
    }

    #[test]
    fn parse_size_rounds_fractions_to_the_nearest_byte() {
        // 1.3 MiB = 1363148.8 bytes.
        assert_eq!(parse_size("1.3MiB"), Ok(1_363_149));
        // 0.0001 KiB = 0.1024 bytes.
        assert_eq!(parse_size("0.0001KiB"), Ok(0));
        // 0.0005 KiB = 0.512 bytes.
        assert_eq!(parse_size("0.0005KiB"), Ok(1));
    }

    #[test]
    fn parse_size_refuses_garbage_negative_and_overflow() {
        let bad = [
            "",
            "   ",
            "abc",
            "MiB",
            "-5MiB",
            "-1",
            "+5",
            ".5GiB",
            "5.GiB",
            "1.2.3",
            "5 XB",
            "5 MiBs",
            "5 mebibytes",
            "16MiB/s",
            "1.5",
            "1.5 B",
            "18446744073709551616",
            "18446744073709551615 KiB",
            "99999999999999999999999999999",
            "16777216 TiB",
            "1.0000000000000000001 MiB",
            "5 5",
        ];
        for input in bad {
            let err = parse_size(input).unwrap_err();
            assert!(matches!(err, UnitError::InvalidSize { .. }), "{input}");
            let text = err.to_string();
            assert!(text.contains("16MiB") && text.contains("1.5GiB"), "{text}");
        }
        assert_eq!(parse_size("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_size("16777215 TiB"), Ok(16_777_215 * TIB));
    }

    #[test]
    fn parse_size_errors_say_what_is_wrong() {
        let text = |s: &str| parse_size(s).unwrap_err().to_string();
        assert!(text("-5MiB").contains("negative"));
        assert!(text("5 XB").contains("unknown unit \"xb\""));
        assert!(text("99999999999999999999999").contains("larger than"));
        assert!(text("1.5").contains("whole number"));
        assert!(text("").contains("empty"));
    }

    // ---- parse_rate ----

    #[test]
    fn parse_rate_accepts_sizes_with_optional_per_second() {
        assert_eq!(parse_rate("20MiB"), Ok(20 * MIB));
        assert_eq!(parse_rate("20MiB/s"), Ok(20 * MIB));
        assert_eq!(parse_rate("20 MiB/S"), Ok(20 * MIB));
        assert_eq!(parse_rate("2.5 MB/s"), Ok(2_500_000));
        assert_eq!(parse_rate("1000"), Ok(1000));
        assert_eq!(parse_rate("1000/s"), Ok(1000));
    }

    #[test]
    fn parse_rate_refuses_zero_and_garbage() {
        for input in ["0", "0MiB/s", "0.0M"] {
            let err = parse_rate(input).unwrap_err();
            assert!(matches!(err, UnitError::InvalidRate { .. }), "{input}");
            assert!(err.to_string().contains("unset"), "{err}");
        }
        for input in ["fast", "/s", "-1MiB/s", "20MiB/h", "20MiB/s/s", ""] {
            let err = parse_rate(input).unwrap_err();
            assert!(matches!(err, UnitError::InvalidRate { .. }), "{input}");
            assert!(err.to_string().contains("20MiB/s"), "{err}");
        }
    }

    // ---- parse_duration ----

    #[test]
    fn human_bytes_uses_binary_units() {
        let cases = [
            (0, "0 B"),
            (1, "1 B"),
            (512, "512 B"),
            (1023, "1023 B"),
            (1024, "1 KiB"),
            (1536, "1.5 KiB"),
            (16 * MIB, "16 MiB"),
            (3 * GIB / 2, "1.5 GiB"),
            (MIB - 1, "1 MiB"),
            (5 * TIB, "5 TiB"),
            (u64::MAX, "16 EiB"),
        ];
        for (bytes, expected) in cases {
            assert_eq!(human_bytes(bytes), expected, "{bytes}");
        }
    }

    #[test]
    fn human_rate_keeps_one_decimal() {
        assert_eq!(human_rate(12.3 * MIB as f64), "12.3 MiB/s");
        assert_eq!(human_rate(16.0 * MIB as f64), "16.0 MiB/s");
        assert_eq!(human_rate(512.0), "512.0 B/s");
        assert_eq!(human_rate(0.0), "0.0 B/s");
        assert_eq!(human_rate(-3.0), "0.0 B/s");
        assert_eq!(human_rate(f64::NAN), "0.0 B/s");
        assert_eq!(human_rate(f64::INFINITY), "0.0 B/s");
    }

    #[test]
    fn thousands_grouping() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1000), "1,000");
        assert_eq!(group_thousands(20_480), "20,480");
        assert_eq!(group_thousands(1_234_567), "1,234,567");
    }
}
