//! UTC dates and timestamps without a date crate: the calendar (a day count since the epoch as a
//! date, for key templates and timestamps), epoch seconds for queue tags, ISO-8601 with milliseconds
//! (the solution's `startTime`/`endTime` format, and the monitor's event timestamps), and a tolerant
//! parser for the times items carry (ISO-8601 since v5.0, `YYYY-MM-DD HH:mm.S` in v4, contract §4).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Whole seconds since the Unix epoch (0 for times before it).
pub fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `2025-10-14T09:12:03.123Z`: the format the solution writes, so strings compare chronologically
/// against `startTime` (the GSI's sort key).
pub fn format_iso8601(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let seconds = since.as_secs();
    let days = i64::try_from(seconds / 86_400).unwrap_or(i64::MAX);
    let (year, month, day) = civil_from_days(days);
    let rest = seconds % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since.subsec_millis()
    )
}

/// Reads `YYYY-MM-DDTHH:MM:SS[.fff][Z]` and v4's `YYYY-MM-DD HH:mm.S` (minutes and tenths of a
/// minute, no seconds field). Times are UTC. `None` for anything else.
pub fn parse_iso8601(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    let date = text.get(..10)?;
    let mut parts = date.split('-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let separator = text.get(10..11)?;
    let clock = text.get(11..)?.trim_end_matches('Z');
    let (hours, minutes, millis) = match separator {
        "T" => {
            let mut fields = clock.split(':');
            let hours: u64 = fields.next()?.parse().ok()?;
            let minutes: u64 = fields.next()?.parse().ok()?;
            let seconds: f64 = fields.next().unwrap_or("0").parse().ok()?;
            (hours, minutes, (seconds * 1000.0).round() as u64)
        }
        // v4: `14:05.3` is 14 h 5.3 min.
        " " => {
            let (hours, minutes) = clock.split_once(':')?;
            let minutes: f64 = minutes.parse().ok()?;
            let whole = minutes.trunc();
            (
                hours.parse().ok()?,
                whole as u64,
                ((minutes - whole) * 60_000.0).round() as u64,
            )
        }
        _ => return None,
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let seconds = days.checked_mul(86_400)? + i64::try_from(hours * 3600 + minutes * 60).ok()?;
    let seconds = u64::try_from(seconds).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(seconds) + Duration::from_millis(millis))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`, the
/// inverse of [`civil_from_days`]).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// `1 h 05 min`, `4 min 12 s`, `37 s`: a span for people.
pub fn human_duration(span: Duration) -> String {
    let seconds = span.as_secs();
    if seconds >= 3600 {
        format!("{} h {:02} min", seconds / 3600, seconds % 3600 / 60)
    } else if seconds >= 60 {
        format!("{} min {:02} s", seconds / 60, seconds % 60)
    } else {
        format!("{seconds} s")
    }
}

/// Today's date in UTC as `(year, month, day)`, for [`KeyTemplate::render`].
pub fn today_utc() -> (i32, u32, u32) {
    utc_date(SystemTime::now())
}

/// The UTC calendar date of `time`, without a date crate.
pub fn utc_date(time: SystemTime) -> (i32, u32, u32) {
    const SECONDS_PER_DAY: u64 = 86_400;
    let days = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs() / SECONDS_PER_DAY).unwrap_or(i64::MAX),
        // Before 1970: a partial day still belongs to the previous date.
        Err(before) => {
            let seconds =
                before.duration().as_secs() + u64::from(before.duration().subsec_nanos() > 0);
            i64::try_from(seconds.div_ceil(SECONDS_PER_DAY)).map_or(i64::MIN, |d| -d)
        }
    };
    civil_from_days(days)
}

/// Proleptic Gregorian `(year, month, day)` of a day count since 1970-01-01: Howard Hinnant's
/// `civil_from_days` (<http://howardhinnant.github.io/date_algorithms.html>), exact for any day count
/// whose year fits in an i32 (saturated otherwise).
pub fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097); // [0, 146096]
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365; // [0, 399]
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100); // [0, 365]
    let shifted_month = (5 * day_of_year + 2) / 153; // [0, 11], March = 0
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1; // [1, 31]
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era
        .saturating_add(era.saturating_mul(400))
        .saturating_add(i64::from(month <= 2));
    let year = i32::try_from(year).unwrap_or(if year < 0 { i32::MIN } else { i32::MAX });
    // month ∈ [1, 12] and day ∈ [1, 31], so these conversions cannot fail.
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn iso_round_trip_keeps_milliseconds() {
        let time = UNIX_EPOCH + Duration::from_millis(1_760_433_132_004);
        let text = format_iso8601(time);
        assert_eq!(text, "2025-10-14T09:12:12.004Z");
        assert_eq!(parse_iso8601(&text), Some(time));
    }

    #[test]
    fn v4_minutes_with_tenths_parse() {
        let parsed = parse_iso8601("2019-11-20 14:05.3").unwrap();
        let expected = parse_iso8601("2019-11-20T14:05:18.000Z").unwrap();
        assert_eq!(parsed, expected);
    }

    #[test]
    fn garbage_is_none() {
        for text in ["", "yesterday", "2025-13-01T00:00:00Z", "2025-01-01X00:00"] {
            assert_eq!(parse_iso8601(text), None, "{text}");
        }
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(Duration::from_secs(37)), "37 s");
        assert_eq!(human_duration(Duration::from_secs(252)), "4 min 12 s");
        assert_eq!(human_duration(Duration::from_secs(3900)), "1 h 05 min");
    }

    // ---- dates ----

    #[test]
    fn civil_from_days_known_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(31), (1970, 2, 1));
        assert_eq!(civil_from_days(59), (1970, 3, 1));
        assert_eq!(civil_from_days(10_957), (2000, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(11_017), (2000, 3, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(20_089), (2025, 1, 1));
        assert_eq!(civil_from_days(-719_468), (0, 3, 1));
        // Saturates instead of overflowing.
        let _ = civil_from_days(i64::MAX);
        let _ = civil_from_days(i64::MIN);
    }

    #[test]
    fn utc_date_of_instants() {
        let at = |secs: u64| UNIX_EPOCH + Duration::from_secs(secs);
        assert_eq!(utc_date(UNIX_EPOCH), (1970, 1, 1));
        assert_eq!(utc_date(at(86_399)), (1970, 1, 1));
        assert_eq!(utc_date(at(86_400)), (1970, 1, 2));
        // 2025-10-14T09:12:12Z
        assert_eq!(utc_date(at(1_760_433_132)), (2025, 10, 14));
        assert_eq!(
            utc_date(UNIX_EPOCH - Duration::from_secs(1)),
            (1969, 12, 31)
        );
        assert_eq!(
            utc_date(UNIX_EPOCH - Duration::from_nanos(1)),
            (1969, 12, 31)
        );
        assert_eq!(
            utc_date(UNIX_EPOCH - Duration::from_secs(86_400)),
            (1969, 12, 31)
        );
        assert_eq!(
            utc_date(UNIX_EPOCH - Duration::from_secs(86_401)),
            (1969, 12, 30)
        );
        let (year, month, day) = today_utc();
        assert!(year >= 2025 && (1..=12).contains(&month) && (1..=31).contains(&day));
    }

    proptest! {
        #[test]
        fn civil_dates_are_consecutive(days in -1_000_000i64..1_000_000) {
            let (y1, m1, d1) = civil_from_days(days);
            let (y2, m2, d2) = civil_from_days(days + 1);
            prop_assert!((1..=12).contains(&m1) && (1..=31).contains(&d1));
            if d2 == 1 {
                // A new month starts: either next month of the same year, or January of the next.
                prop_assert!((y2 == y1 && m2 == m1 + 1) || (y2 == y1 + 1 && m1 == 12 && m2 == 1));
            } else {
                prop_assert_eq!((y2, m2, d2), (y1, m1, d1 + 1));
            }
        }
    }
}
