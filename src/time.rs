//! UTC timestamps without a date crate: epoch seconds for queue tags, ISO-8601 with milliseconds
//! (the solution's `startTime`/`endTime` format, and the monitor's event timestamps), and a tolerant
//! parser for the times items carry (ISO-8601 since v5.0, `YYYY-MM-DD HH:mm.S` in v4, contract §4).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::aws::upload::naming::civil_from_days;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
