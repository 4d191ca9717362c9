//! Part planning for uploads into the source bucket, and the human-facing size, rate and duration
//! syntax used by the CLI and the UI.
//!
//! This module owns S3's multipart arithmetic (contract §3, "Uploads"): parts of 5 MiB to 5 GiB (the
//! last may be shorter), at most 10,000 of them, so the part size must be at least size / 10,000. It
//! decides between a single `PutObject` and a multipart upload, and which byte range each part covers.
//! Everything here is pure: no I/O, no AWS calls.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// 1 KiB, 1 MiB, ... as byte counts; the binary units S3's limits are stated in.
pub const KIB: u64 = 1024;
pub const MIB: u64 = 1024 * KIB;
pub const GIB: u64 = 1024 * MIB;
pub const TIB: u64 = 1024 * GIB;

/// Smallest part S3 accepts in a multipart upload (every part but the last).
pub const MIN_PART: u64 = 5 * MIB;
/// Largest part S3 accepts in a multipart upload.
pub const MAX_PART: u64 = 5 * GIB;
/// Most parts one multipart upload may have (part numbers 1..=10,000).
pub const MAX_PARTS: u32 = 10_000;
/// Largest object S3 stores: "48.8 TiB" in the S3 multipart limits table, which is exactly
/// 10,000 parts of 5 GiB = 50,000 GiB = 53,687,091,200,000 bytes. Defining it as the product keeps
/// the promise that every size up to this limit can be planned (see the property tests).
pub const MAX_OBJECT: u64 = MAX_PARTS as u64 * MAX_PART;
/// Files smaller than this go up as one `PutObject`: a multipart upload costs three extra requests and
/// leaves debris on failure (the source bucket has no lifecycle rule that aborts incomplete uploads),
/// which is not worth it for small files. Must stay ≤ 5 GiB, the single-PUT limit.
pub const SINGLE_PUT_THRESHOLD: u64 = 16 * MIB;
/// Part size when the user asks for none. Memory is about concurrency × part size (plus ~20 MiB), and
/// scripts/bench-upload found no throughput gain above 8 MiB; 8 × 8 MiB keeps a whole upload under
/// 100 MiB of memory whatever the file size (docs/BENCHMARKS.md).
pub const DEFAULT_PART_SIZE: u64 = 8 * MIB;
/// Parts in flight at once, across all uploads, when the user asks for none (see DEFAULT_PART_SIZE).
pub const DEFAULT_CONCURRENCY: usize = 8;

/// Longest validity of a SigV4 presigned URL (7 days).
pub const MAX_PRESIGN: Duration = Duration::from_secs(7 * 24 * 60 * 60);

// Compile-time guards, so that retuning the defaults cannot silently produce plans S3 rejects.
const _: () = assert!(DEFAULT_PART_SIZE >= MIN_PART && DEFAULT_PART_SIZE <= MAX_PART);
const _: () = assert!(SINGLE_PUT_THRESHOLD <= MAX_PART);
const _: () = assert!(DEFAULT_CONCURRENCY >= 1);

/// The accepted forms, repeated in every parse error so the user can fix the input without docs.
const SIZE_FORMS: &str = "use a whole number of bytes or a number with a unit, e.g. 1048576, 8 MiB, 16MiB, \
16MB, 16M, 1.5GiB (units, any case: B; KiB/MiB/GiB/TiB or K/M/G/T = powers of 1024; KB/MB/GB/TB = powers of 1000)";
const RATE_FORMS: &str = "use a size per second, e.g. 20MiB, 20MiB/s, 2.5 MB/s, 500K/s \
(units, any case: B; KiB/MiB/GiB/TiB or K/M/G/T = powers of 1024; KB/MB/GB/TB = powers of 1000)";
const DURATION_FORMS: &str =
    "use a whole number with an optional unit, e.g. 90s, 15m, 1h, 7d, or 3600 (seconds)";

/// Why a plan or a size/rate/duration could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "the file is empty (0 bytes), so there is no video to upload; check that it finished copying or exporting"
    )]
    EmptyFile,
    #[error(
        "the file is {} ({size} bytes), larger than the {} ({max} bytes) S3 allows for one object; split it or re-encode it smaller",
        human_bytes(*size),
        human_bytes(*max)
    )]
    TooLarge { size: u64, max: u64 },
    #[error(
        "part size {} ({requested} bytes) is outside the range S3 allows; choose a part size from 5 MiB to 5 GiB, e.g. 16MiB or 64MiB",
        human_bytes(*requested)
    )]
    PartSizeOutOfRange { requested: u64 },
    #[error("cannot read size {input:?}: {problem}; {SIZE_FORMS}")]
    InvalidSize { input: String, problem: String },
    #[error("cannot read rate {input:?}: {problem}; {RATE_FORMS}")]
    InvalidRate { input: String, problem: String },
    #[error("cannot read duration {input:?}: {problem}; {DURATION_FORMS}")]
    InvalidDuration { input: String, problem: String },
    #[error(
        "presigned URL validity {input:?} is out of range: it must be from 1 second to 7 days (the SigV4 limit), e.g. 15m, 1h or 7d"
    )]
    DurationOutOfRange { input: String },
}

/// How one file is cut for upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartPlan {
    /// Size of the whole file in bytes (never 0).
    pub size: u64,
    /// Size of every part but the last; equal to `size` for a single put.
    pub part_size: u64,
    /// Number of parts, 1..=10,000; 1 for a single put.
    pub part_count: u32,
    /// True for a multipart upload, false for one `PutObject`.
    pub multipart: bool,
    /// Set when the requested part size had to be raised to stay within 10,000 parts; a sentence to
    /// show the user, who asked for something else.
    pub adjusted: Option<String>,
}

/// Chooses single put or multipart, and the part size, for a file of `size` bytes.
///
/// `requested_part_size` is the user's choice (must be 5 MiB..=5 GiB). It is raised, with a note in
/// [`PartPlan::adjusted`], when it would need more than 10,000 parts. A file below
/// [`SINGLE_PUT_THRESHOLD`] goes as one put, unless the user asked for parts smaller than the file.
pub fn plan(size: u64, requested_part_size: Option<u64>) -> Result<PartPlan, PlanError> {
    if size == 0 {
        return Err(PlanError::EmptyFile);
    }
    if size > MAX_OBJECT {
        return Err(PlanError::TooLarge {
            size,
            max: MAX_OBJECT,
        });
    }
    // An out-of-range request is refused even for small files: the user asked for something S3 would
    // reject, and silently ignoring it here would hide the mistake until a large file comes along.
    if let Some(requested) = requested_part_size
        && !(MIN_PART..=MAX_PART).contains(&requested)
    {
        return Err(PlanError::PartSizeOutOfRange { requested });
    }

    let wants_parts = requested_part_size.is_some_and(|requested| requested < size);
    if size < SINGLE_PUT_THRESHOLD && !wants_parts {
        return Ok(PartPlan {
            size,
            part_size: size,
            part_count: 1,
            multipart: false,
            adjusted: None,
        });
    }

    // The smallest part size that fits in 10,000 parts, rounded up to a whole MiB so part sizes stay
    // readable in logs and the journal. 5 GiB is MiB-aligned, so this never exceeds MAX_PART for a
    // size ≤ MAX_OBJECT.
    let needed = size.div_ceil(u64::from(MAX_PARTS)).div_ceil(MIB) * MIB;
    let base = requested_part_size.unwrap_or(DEFAULT_PART_SIZE);
    let part_size = base.max(needed).clamp(MIN_PART, MAX_PART);
    let adjusted = match requested_part_size {
        Some(requested) if part_size > requested => Some(format!(
            "Part size raised from {} to {}: a {} file in {} parts would need {} parts, and S3 allows at most {}.",
            human_bytes(requested),
            human_bytes(part_size),
            human_bytes(size),
            human_bytes(requested),
            group_thousands(size.div_ceil(requested)),
            group_thousands(u64::from(MAX_PARTS)),
        )),
        // Raising the default is routine and nobody asked for it, so it is not worth a note.
        _ => None,
    };
    let part_count = u32::try_from(size.div_ceil(part_size))
        .ok()
        .filter(|count| *count <= MAX_PARTS)
        .ok_or(PlanError::TooLarge {
            size,
            max: MAX_OBJECT,
        })?;
    Ok(PartPlan {
        size,
        part_size,
        part_count,
        multipart: true,
        adjusted,
    })
}

impl PartPlan {
    /// Byte range `(offset, len)` of part `part_number` (1-based, as S3 numbers them). The last part is
    /// shorter when the size is not a multiple of the part size. `None` outside 1..=part_count.
    pub fn part_range(&self, part_number: u32) -> Option<(u64, u64)> {
        if part_number == 0 || part_number > self.part_count {
            return None;
        }
        let offset = u64::from(part_number - 1).checked_mul(self.part_size)?;
        let remaining = self.size.checked_sub(offset)?;
        Some((offset, remaining.min(self.part_size)))
    }

    /// The part numbers to upload, `1..=part_count`.
    pub fn part_numbers(&self) -> impl Iterator<Item = u32> + use<> {
        1..=self.part_count
    }
}

/// Parses a byte size such as `16MiB`, `16MB`, `16M`, `8 MiB`, `1.5GiB` or `1048576`.
///
/// Units are case-insensitive. `K`/`M`/`G`/`T` alone mean the binary units (as in most tools'
/// part-size flags); `KB`/`MB`/... are decimal. Fractions round to the nearest byte, but a fraction of
/// a plain byte count is refused. `0` is accepted here; callers that need more say so.
pub fn parse_size(input: &str) -> Result<u64, PlanError> {
    parse_quantity(input).map_err(|problem| PlanError::InvalidSize {
        input: input.to_owned(),
        problem,
    })
}

/// Parses a transfer rate in bytes per second, such as `20MiB`, `20MiB/s` or `2.5 MB/s` (the units of
/// [`parse_size`], with an optional `/s`). Zero is refused: "no limit" is expressed by giving none.
pub fn parse_rate(input: &str) -> Result<u64, PlanError> {
    let invalid = |problem: String| PlanError::InvalidRate {
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

/// Parses a presigned-URL validity: `90s`, `15m`, `1h`, `7d`, or a bare number of seconds. It must be
/// from 1 second to 7 days, the longest SigV4 allows.
pub fn parse_duration(input: &str) -> Result<Duration, PlanError> {
    let invalid = |problem: &str| PlanError::InvalidDuration {
        input: input.to_owned(),
        problem: problem.to_owned(),
    };
    let trimmed = input.trim();
    if trimmed.starts_with('-') {
        return Err(invalid("a duration cannot be negative"));
    }
    let digits_end = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(digits_end);
    if digits.is_empty() {
        return Err(invalid("it does not start with a whole number"));
    }
    let multiplier: u64 = match unit.trim_start().to_ascii_lowercase().as_str() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 60 * 60,
        "d" => 24 * 60 * 60,
        _ => return Err(invalid("the unit must be s, m, h or d")),
    };
    // A number too large for u64 is certainly more than 7 days, so report the range, not an overflow.
    let out_of_range = || PlanError::DurationOutOfRange {
        input: input.to_owned(),
    };
    let seconds = digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(out_of_range)?;
    let duration = Duration::from_secs(seconds);
    if seconds == 0 || duration > MAX_PRESIGN {
        return Err(out_of_range());
    }
    Ok(duration)
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
fn group_thousands(n: u64) -> String {
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

impl fmt::Display for PartPlan {
    /// `multipart, 640 parts of 16 MiB (10 GiB)` or `single put (12 MiB)`, for logs and the UI.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.multipart {
            write!(
                f,
                "multipart, {} part{} of {} ({})",
                group_thousands(u64::from(self.part_count)),
                if self.part_count == 1 { "" } else { "s" },
                human_bytes(self.part_size),
                human_bytes(self.size)
            )
        } else {
            write!(f, "single put ({})", human_bytes(self.size))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // ---- constants ----

    #[test]
    fn limits_match_s3() {
        assert_eq!(MIN_PART, 5 * 1024 * 1024);
        assert_eq!(MAX_PART, 5 * 1024 * 1024 * 1024);
        assert_eq!(MAX_PARTS, 10_000);
        assert_eq!(MAX_OBJECT, 53_687_091_200_000);
        assert_eq!(human_bytes(MAX_OBJECT), "48.8 TiB");
        assert_eq!(SINGLE_PUT_THRESHOLD, 16 * MIB);
        assert_eq!(DEFAULT_PART_SIZE, 8 * MIB);
        assert_eq!(DEFAULT_CONCURRENCY, 8);
    }

    // ---- plan ----

    #[test]
    fn empty_file_is_refused() {
        let err = plan(0, None).unwrap_err();
        assert_eq!(err, PlanError::EmptyFile);
        assert!(err.to_string().contains("empty"));
    }

    #[test]
    fn too_large_names_both_sizes_in_human_units() {
        let err = plan(MAX_OBJECT + 1, None).unwrap_err();
        assert!(matches!(err, PlanError::TooLarge { .. }));
        let text = err.to_string();
        assert!(text.contains("48.8 TiB"), "{text}");
        assert!(text.contains(&(MAX_OBJECT + 1).to_string()), "{text}");
        assert!(text.contains(&MAX_OBJECT.to_string()), "{text}");
        assert!(plan(u64::MAX, None).is_err());
    }

    #[test]
    fn max_object_is_plannable_with_5_gib_parts() {
        let p = plan(MAX_OBJECT, None).unwrap();
        assert!(p.multipart);
        assert_eq!(p.part_size, MAX_PART);
        assert_eq!(p.part_count, MAX_PARTS);
        assert_eq!(p.adjusted, None);
    }

    #[test]
    fn small_file_is_a_single_put() {
        for size in [1, 1000, MIN_PART, SINGLE_PUT_THRESHOLD - 1] {
            let p = plan(size, None).unwrap();
            assert_eq!(
                p,
                PartPlan {
                    size,
                    part_size: size,
                    part_count: 1,
                    multipart: false,
                    adjusted: None
                }
            );
            assert_eq!(p.part_range(1), Some((0, size)));
            assert_eq!(p.part_range(2), None);
        }
    }

    #[test]
    fn threshold_size_goes_multipart_with_default_parts() {
        let p = plan(SINGLE_PUT_THRESHOLD, None).unwrap();
        assert!(p.multipart);
        assert_eq!(p.part_size, DEFAULT_PART_SIZE);
        assert_eq!(p.part_count, 2);

        let p = plan(100 * MIB + 1, None).unwrap();
        assert!(p.multipart);
        assert_eq!(p.part_size, DEFAULT_PART_SIZE);
        assert_eq!(p.part_count, 13); // 12 × 8 MiB = 96 MiB, then 4 MiB + 1 byte
        assert_eq!(p.part_range(13), Some((96 * MIB, 4 * MIB + 1)));
    }

    #[test]
    fn small_file_with_smaller_requested_parts_goes_multipart() {
        let p = plan(10 * MIB, Some(MIN_PART)).unwrap();
        assert!(p.multipart);
        assert_eq!(p.part_size, MIN_PART);
        assert_eq!(p.part_count, 2);
        // Requested parts as large as the file: nothing to split.
        let p = plan(10 * MIB, Some(10 * MIB)).unwrap();
        assert!(!p.multipart);
        let p = plan(10 * MIB, Some(64 * MIB)).unwrap();
        assert!(!p.multipart);
    }

    #[test]
    fn requested_part_size_is_used_when_it_fits() {
        let p = plan(GIB, Some(64 * MIB)).unwrap();
        assert_eq!(p.part_size, 64 * MIB);
        assert_eq!(p.part_count, 16);
        assert_eq!(p.adjusted, None);
        // Not MiB-aligned, but in range: honoured as given.
        let p = plan(GIB, Some(6_000_000)).unwrap();
        assert_eq!(p.part_size, 6_000_000);
        assert_eq!(p.part_count, 179);
    }

    #[test]
    fn requested_part_size_out_of_range_is_refused_with_the_range() {
        for bad in [0, 1, MIN_PART - 1, MAX_PART + 1] {
            let err = plan(GIB, Some(bad)).unwrap_err();
            assert_eq!(err, PlanError::PartSizeOutOfRange { requested: bad });
            let text = err.to_string();
            assert!(text.contains("5 MiB") && text.contains("5 GiB"), "{text}");
        }
        // Even for a file small enough for a single put.
        assert!(plan(1, Some(MIN_PART - 1)).is_err());
        // The bounds themselves are fine.
        assert!(plan(GIB, Some(MIN_PART)).is_ok());
        assert!(plan(GIB, Some(MAX_PART)).is_ok());
    }

    #[test]
    fn requested_part_size_is_raised_to_fit_10000_parts() {
        // 100 GiB in 5 MiB parts would be 20,480 parts: needs ceil(100 GiB / 10,000) → 11 MiB.
        let p = plan(100 * GIB, Some(MIN_PART)).unwrap();
        assert_eq!(p.part_size, 11 * MIB);
        assert!(p.part_count <= MAX_PARTS);
        let note = p.adjusted.as_deref().unwrap();
        assert!(note.contains("5 MiB"), "{note}");
        assert!(note.contains("11 MiB"), "{note}");
        assert!(note.contains("20,480"), "{note}");
        assert!(note.contains("10,000"), "{note}");
    }

    #[test]
    fn default_part_size_is_raised_silently() {
        // 1 TiB / 10,000 = 104.9 MiB → 105 MiB parts.
        let p = plan(TIB, None).unwrap();
        assert_eq!(p.part_size, 105 * MIB);
        assert_eq!(p.part_count, 9987);
        assert_eq!(p.adjusted, None);
    }

    #[test]
    fn exactly_10000_parts_is_not_adjusted() {
        let p = plan(10_000 * 16 * MIB, Some(16 * MIB)).unwrap();
        assert_eq!(p.part_count, 10_000);
        assert_eq!(p.adjusted, None);
        let p = plan(10_000 * 16 * MIB + 1, Some(16 * MIB)).unwrap();
        assert_eq!(p.part_size, 17 * MIB);
        assert!(p.adjusted.is_some());
    }

    #[test]
    fn part_range_and_numbers() {
        let p = plan(40 * MIB + 3, Some(16 * MIB)).unwrap();
        assert_eq!(p.part_count, 3);
        assert_eq!(p.part_numbers().collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(p.part_range(0), None);
        assert_eq!(p.part_range(1), Some((0, 16 * MIB)));
        assert_eq!(p.part_range(2), Some((16 * MIB, 16 * MIB)));
        assert_eq!(p.part_range(3), Some((32 * MIB, 8 * MIB + 3)));
        assert_eq!(p.part_range(4), None);
        assert_eq!(p.part_range(u32::MAX), None);
    }

    #[test]
    fn part_range_of_exact_multiple_has_full_last_part() {
        let p = plan(48 * MIB, Some(16 * MIB)).unwrap();
        assert_eq!(p.part_count, 3);
        assert_eq!(p.part_range(3), Some((32 * MIB, 16 * MIB)));
    }

    #[test]
    fn display_of_a_plan() {
        assert_eq!(
            plan(12 * MIB, None).unwrap().to_string(),
            "single put (12 MiB)"
        );
        assert_eq!(
            plan(10 * GIB, None).unwrap().to_string(),
            "multipart, 1,280 parts of 8 MiB (10 GiB)"
        );
    }

    proptest! {
        #[test]
        fn any_plannable_size_respects_s3_limits(
            size in prop_oneof![1u64..=MAX_OBJECT, 1u64..=64 * MIB, (MAX_OBJECT - GIB)..=MAX_OBJECT],
            requested in proptest::option::of(MIN_PART..=MAX_PART),
        ) {
            let p = plan(size, requested).unwrap();
            prop_assert_eq!(p.size, size);
            prop_assert!(p.part_count >= 1);
            prop_assert!(p.part_count <= MAX_PARTS);
            if p.multipart {
                prop_assert!(p.part_size >= MIN_PART && p.part_size <= MAX_PART);
                if let Some(requested) = requested {
                    prop_assert!(p.part_size >= requested);
                    prop_assert_eq!(p.adjusted.is_some(), p.part_size > requested);
                }
            } else {
                prop_assert_eq!(p.part_count, 1);
                prop_assert_eq!(p.part_size, size);
                prop_assert!(size <= MAX_PART);
            }
            // The parts tile the file exactly: contiguous, in order, nothing left over, every part but
            // the last a full part. Checking the seams (first, last, and a sample in between) covers it
            // since all middle parts are computed by the same formula.
            prop_assert_eq!(p.part_range(0), None);
            prop_assert_eq!(p.part_range(p.part_count + 1), None);
            let (first_offset, _) = p.part_range(1).unwrap();
            prop_assert_eq!(first_offset, 0);
            let (last_offset, last_len) = p.part_range(p.part_count).unwrap();
            prop_assert_eq!(last_offset + last_len, size);
            prop_assert!(last_len >= 1 && last_len <= p.part_size);
            for n in [1, 2, p.part_count / 2, p.part_count.saturating_sub(1)] {
                if n >= 1 && n < p.part_count {
                    let (offset, len) = p.part_range(n).unwrap();
                    let (next_offset, _) = p.part_range(n + 1).unwrap();
                    prop_assert_eq!(len, p.part_size);
                    prop_assert_eq!(offset + len, next_offset);
                }
            }
        }

        #[test]
        fn small_plans_tile_exactly_part_by_part(size in 1u64..=200 * MIB, requested in MIN_PART..=32 * MIB) {
            let p = plan(size, Some(requested)).unwrap();
            let mut expected_offset = 0;
            let numbers: Vec<u32> = p.part_numbers().collect();
            prop_assert_eq!(numbers.len(), p.part_count as usize);
            for n in numbers {
                let (offset, len) = p.part_range(n).unwrap();
                prop_assert_eq!(offset, expected_offset);
                prop_assert!(len > 0);
                if n < p.part_count {
                    prop_assert!(len >= MIN_PART || !p.multipart);
                }
                expected_offset += len;
            }
            prop_assert_eq!(expected_offset, size);
        }

        #[test]
        fn parse_size_round_trips_integers(n in 0u64..=u64::MAX) {
            prop_assert_eq!(parse_size(&n.to_string()), Ok(n));
            prop_assert_eq!(parse_size(&format!("{n} B")), Ok(n));
        }

        #[test]
        fn parse_size_never_panics(s in "\\PC{0,24}") {
            // Only a panic fails this test: Ok and Err are both valid answers to arbitrary text.
            let _answers = (parse_size(&s), parse_rate(&s), parse_duration(&s));
        }
    }

    // ---- parse_size ----

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
            assert!(matches!(err, PlanError::InvalidSize { .. }), "{input}");
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
            assert!(matches!(err, PlanError::InvalidRate { .. }), "{input}");
            assert!(err.to_string().contains("unset"), "{err}");
        }
        for input in ["fast", "/s", "-1MiB/s", "20MiB/h", "20MiB/s/s", ""] {
            let err = parse_rate(input).unwrap_err();
            assert!(matches!(err, PlanError::InvalidRate { .. }), "{input}");
            assert!(err.to_string().contains("20MiB/s"), "{err}");
        }
    }

    // ---- parse_duration ----

    #[test]
    fn parse_duration_accepts_units_and_bare_seconds() {
        let cases = [
            ("90s", 90),
            ("15m", 900),
            ("1h", 3600),
            ("7d", 604_800),
            ("3600", 3600),
            ("1", 1),
            ("2 H", 7200),
            (" 10S ", 10),
            ("604800", 604_800),
            ("168h", 604_800),
        ];
        for (input, secs) in cases {
            assert_eq!(
                parse_duration(input),
                Ok(Duration::from_secs(secs)),
                "{input}"
            );
        }
    }

    #[test]
    fn parse_duration_enforces_the_sigv4_range() {
        for input in [
            "0",
            "0s",
            "8d",
            "604801",
            "169h",
            "99999999999999999999999d",
        ] {
            let err = parse_duration(input).unwrap_err();
            assert!(
                matches!(err, PlanError::DurationOutOfRange { .. }),
                "{input}"
            );
            let text = err.to_string();
            assert!(
                text.contains("7 days") && text.contains("1 second"),
                "{text}"
            );
        }
    }

    #[test]
    fn parse_duration_refuses_garbage() {
        for input in ["", "h", "1.5h", "-5m", "5w", "5 min", "1h30m", "soon"] {
            let err = parse_duration(input).unwrap_err();
            assert!(matches!(err, PlanError::InvalidDuration { .. }), "{input}");
            assert!(err.to_string().contains("90s, 15m, 1h, 7d"), "{err}");
        }
    }

    // ---- human_bytes / human_rate ----

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
