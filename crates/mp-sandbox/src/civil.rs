//! Civil (proleptic Gregorian) dates in UTC, as day numbers since 1970-01-01.
//!
//! Mixpanel speaks in `YYYY-MM-DD` dates and unix seconds. The sandbox needs both directions
//! (a date parameter to a day number, a day number to the `series` keys of a segmentation
//! answer) and nothing else, so instead of a calendar crate it carries Howard Hinnant's
//! `days_from_civil` / `civil_from_days` algorithms, which are exact for every date in the
//! range of `i64` days that we care about.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds in one UTC day (Mixpanel's UTC projects have no leap seconds or DST).
pub(crate) const SECONDS_PER_DAY: i64 = 86_400;

/// Returns the number of days from 1970-01-01 to the given civil date.
///
/// Note that `month` is 1-based and `day` is not checked against the month's length; callers
/// that accept user input go through [`parse_date`], which does check it.
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    // Shift the year so that it starts in March: the leap day is then the last day of the
    // shifted year, which makes the day-of-year formula branch-free.
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let shifted_month = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Returns the civil date `(year, month, day)` of a day number.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Returns true if and only if `year` is a Gregorian leap year.
fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Returns the number of days in a month of a year.
fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap_year(year) => 29,
        _ => 28,
    }
}

/// Parses a strict `YYYY-MM-DD` date (the only form Mixpanel accepts) into a day number.
///
/// Returns `None` for anything else, including `2024-02-30` and `2024-1-5`.
pub(crate) fn parse_date(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let mut value = 0u32;
        for &byte in &bytes[range] {
            if !byte.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u32::from(byte - b'0');
        }
        Some(value)
    };
    let year = i64::from(digits(0..4)?);
    let month = digits(5..7)?;
    let day = digits(8..10)?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// Formats a day number as `YYYY-MM-DD`.
pub(crate) fn format_date(days: i64) -> String {
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Formats unix seconds as Mixpanel's profile timestamp form, `YYYY-MM-DDTHH:MM:SS` (UTC,
/// no offset), as in `$created` and `$last_seen`.
pub(crate) fn format_datetime(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(SECONDS_PER_DAY);
    let seconds_of_day = unix_seconds.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        seconds_of_day / 3600,
        seconds_of_day % 3600 / 60,
        seconds_of_day % 60
    )
}

/// Returns the day number of today in UTC according to the system clock.
///
/// Note that this is the only place where the sandbox looks at the wall clock: it decides the
/// default dataset window ("the D days ending yesterday"). Tests pin `end` instead.
pub(crate) fn today_utc() -> i64 {
    let seconds = match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(elapsed) => elapsed.as_secs() as i64,
        // A clock before 1970 is broken; any fixed day is as good as another.
        Err(_) => 0,
    };
    seconds.div_euclid(SECONDS_PER_DAY)
}

/// Returns the weekday of a day number, 0 = Monday … 6 = Sunday (1970-01-01 was a Thursday).
pub(crate) fn weekday_monday0(days: i64) -> i64 {
    (days + 3).rem_euclid(7)
}

/// Returns the day number of the first day of the month containing `days`.
pub(crate) fn first_of_month(days: i64) -> i64 {
    let (year, month, _) = civil_from_days(days);
    days_from_civil(year, month, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_day_of_four_centuries() {
        // 146 097 days is one full Gregorian cycle; start before the epoch to cover negatives.
        for days in -200_000..200_000 {
            let (year, month, day) = civil_from_days(days);
            assert_eq!(days_from_civil(year, month, day), days);
        }
    }

    #[test]
    fn parses_and_formats_known_dates() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2000-03-01"), Some(11_017));
        assert_eq!(format_date(19_723), "2024-01-01");
        assert_eq!(parse_date("2024-02-29"), Some(19_782));
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2024-1-05"), None);
        assert_eq!(parse_date("2024-13-01"), None);
        assert_eq!(parse_date("2024-01-01T00"), None);
        assert_eq!(format_datetime(1_704_067_199), "2023-12-31T23:59:59");
        assert_eq!(weekday_monday0(parse_date("2024-01-01").unwrap()), 0);
        assert_eq!(
            format_date(first_of_month(parse_date("2024-02-29").unwrap())),
            "2024-02-01"
        );
    }
}
