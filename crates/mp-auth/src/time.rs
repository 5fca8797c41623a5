//! ISO-8601 timestamps as Mixpanel's official client writes them in `tokens.json` and bridge
//! files (`2026-04-22T12:00:00.123456+00:00`), converted to and from [`SystemTime`].
//!
//! Only the shapes that occur are accepted: a date, `T` (or a space), a time with optional
//! fraction, and an offset (`Z` or `±HH:MM`). A timestamp without an offset is refused, as the
//! official client refuses a naive `expires_at`: comparing it with "now" would silently assume a
//! time zone.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Formats `time` in UTC as `YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00`, microseconds only when
/// non-zero (Python's `datetime.isoformat()`). Times before 1970 are clamped to the epoch.
pub fn format_utc(time: SystemTime) -> String {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since_epoch.as_secs();
    let micros = since_epoch.subsec_micros();
    let days = (seconds / 86_400) as i64;
    let second_of_day = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    let mut out = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    );
    if micros != 0 {
        out.push_str(&format!(".{micros:06}"));
    }
    out.push_str("+00:00");
    out
}

/// Parses an ISO-8601 timestamp with an offset; `None` when it is not one.
pub fn parse(text: &str) -> Option<SystemTime> {
    let bytes = text.trim().as_bytes();
    if bytes.len() < 20 {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = bytes.get(range)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(digits).ok()?.parse().ok()
    };
    if bytes[4] != b'-' || bytes[7] != b'-' || !matches!(bytes[10], b'T' | b't' | b' ') {
        return None;
    }
    if bytes[13] != b':' || bytes[16] != b':' {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut index = 19;
    let mut nanos: u32 = 0;
    if bytes.get(index) == Some(&b'.') {
        index += 1;
        let start = index;
        while bytes.get(index).is_some_and(u8::is_ascii_digit) {
            index += 1;
        }
        let fraction = &bytes[start..index];
        if fraction.is_empty() {
            return None;
        }
        // Keep nanosecond precision; further digits cannot change a SystemTime.
        for position in 0..9 {
            nanos = nanos * 10 + u32::from(fraction.get(position).map_or(0, |digit| digit - b'0'));
        }
    }
    let offset_seconds: i64 = match &bytes[index..] {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digits = [*h1, *h2, *m1, *m2];
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let hours = i64::from((h1 - b'0') * 10 + (h2 - b'0'));
            let minutes = i64::from((m1 - b'0') * 10 + (m2 - b'0'));
            let offset = hours * 3600 + minutes * 60;
            if *sign == b'-' { -offset } else { offset }
        }
        _ => return None,
    };
    let local_seconds =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    let utc_seconds = local_seconds - offset_seconds;
    let utc_seconds = u64::try_from(utc_seconds).ok()?;
    Some(UNIX_EPOCH + Duration::new(utc_seconds, nanos))
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day number since 1970-01-01 (the inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_python_isoformat() {
        let record_epoch = UNIX_EPOCH + Duration::from_secs(1_768_478_400);
        assert_eq!(format_utc(record_epoch), "2026-01-15T12:00:00+00:00");
        assert_eq!(
            format_utc(record_epoch + Duration::from_micros(3_600_000_123)),
            "2026-01-15T13:00:00.000123+00:00"
        );
        assert_eq!(format_utc(UNIX_EPOCH), "1970-01-01T00:00:00+00:00");
        assert_eq!(
            format_utc(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00+00:00"
        );
    }

    #[test]
    fn parses_offsets_and_fractions() {
        let expected = UNIX_EPOCH + Duration::from_secs(1_776_859_200);
        for text in [
            "2026-04-22T12:00:00+00:00",
            "2026-04-22T12:00:00Z",
            "2026-04-22 14:00:00+02:00",
            "2026-04-22T07:30:00-04:30",
        ] {
            assert_eq!(parse(text), Some(expected), "{text}");
        }
        assert_eq!(
            parse("2026-04-22T12:00:00.123456+00:00"),
            Some(expected + Duration::from_micros(123_456))
        );
        for text in [
            "2026-04-22T12:00:00",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-04-22T12:00:00.+00:00",
            "yesterday",
            "",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
        let now = UNIX_EPOCH + Duration::new(1_768_478_400, 5_000);
        assert_eq!(parse(&format_utc(now)), Some(now));
    }
}
