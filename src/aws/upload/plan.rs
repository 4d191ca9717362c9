//! Part planning for uploads into the source bucket, and the presigned URL's validity syntax. Sizes
//! and rates, as people write and read them, are `crate::units`.
//!
//! This module owns S3's multipart arithmetic (contract §3, "Uploads"): parts of 5 MiB to 5 GiB (the
//! last may be shorter), at most 10,000 of them, so the part size must be at least size / 10,000. It
//! decides between a single `PutObject` and a multipart upload, and which byte range each part covers.
//! Everything here is pure: no I/O, no AWS calls.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::units::{GIB, MIB, group_thousands, human_bytes};

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

/// The accepted forms, repeated in the parse error so the user can fix the input without docs.
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
    use crate::units::TIB;
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


    }

    // ---- parse_size ----

    proptest! {
        #[test]
        fn parse_duration_never_panics(s in "\\PC{0,24}") {
            // Only a panic fails this test: Ok and Err are both valid answers to arbitrary text.
            let _answer = parse_duration(&s);
        }
    }

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
}
