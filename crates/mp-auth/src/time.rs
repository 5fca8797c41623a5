//! ISO-8601 timestamps as Mixpanel's official client writes them in `tokens.json` and bridge
//! files (`2026-04-22T12:00:00.123456+00:00`), converted to and from [`SystemTime`].
//!
//! Only the shapes that occur are accepted: a date, `T` (or a space), a time with optional
//! fraction, and an offset (`Z` or `±HH:MM`). A timestamp without an offset is refused, as the
//! official client refuses a naive `expires_at`: comparing it with "now" would silently assume a
//! time zone.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mp_http::Date;

/// Formats `time` in UTC as `YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00`, microseconds only when
/// non-zero (Python's `datetime.isoformat()`). Times before 1970 are clamped to the epoch.
pub fn format_utc(time: SystemTime) -> String {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since_epoch.as_secs();
    let micros = since_epoch.subsec_micros();
    let days = (seconds / 86_400) as i64;
    let second_of_day = seconds % 86_400;
    let date = Date::from_days_since_epoch(days);
    let mut out = format!(
        "{date}T{:02}:{:02}:{:02}",
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
    // Four, two and two digits, so the conversions cannot fail; a day that does not exist is `None`.
    let date = Date::from_ymd(
        i32::try_from(year).ok()?,
        u32::try_from(month).ok()?,
        u32::try_from(day).ok()?,
    )?;
    if hour > 23 || minute > 59 || second > 60 {
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
    let local_seconds = date.days_since_epoch() * 86_400 + hour * 3600 + minute * 60 + second;
    let utc_seconds = local_seconds - offset_seconds;
    let utc_seconds = u64::try_from(utc_seconds).ok()?;
    Some(UNIX_EPOCH + Duration::new(utc_seconds, nanos))
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
