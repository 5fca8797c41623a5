//! Calendar days (`YYYY-MM-DD`, UTC) without a date-time dependency: the one place the workspace turns day numbers
//! into years, months and days and back.
//!
//! A [`Date`] is a day number (days since 1970-01-01) in the proleptic Gregorian calendar; the conversions are
//! Howard Hinnant's `days_from_civil` / `civil_from_days`. There is no time zone: "today" is the UTC day that
//! contains the [`Clock`]'s now, and what a service reads a date as (Mixpanel reads query dates in the project's
//! time zone) is for that service to say.

use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::{Clock, Error};

const SECONDS_PER_DAY: i64 = 86_400;

/// A calendar day, `YYYY-MM-DD` in text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Days since 1970-01-01.
    days: i64,
}

impl Date {
    /// The date of `year`-`month`-`day`, if it exists (years 1 to 9999, as the text form has four digits).
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Date> {
        if !(1..=9999).contains(&year) || !(1..=12).contains(&month) || day == 0 {
            return None;
        }
        if day > days_in_month(year, month) {
            return None;
        }
        Some(Date {
            days: days_from_civil(i64::from(year), month, day),
        })
    }

    /// Parses exactly `YYYY-MM-DD` (four, two and two ASCII digits); anything else, or a day that does not exist
    /// (`2024-02-30`), is `None`.
    pub fn parse(text: &str) -> Option<Date> {
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        let digits = |range: std::ops::Range<usize>| -> Option<u32> {
            let part = &text[range];
            if !part.bytes().all(|byte| byte.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()
        };
        let year = i32::try_from(digits(0..4)?).ok()?;
        Date::from_ymd(year, digits(5..7)?, digits(8..10)?)
    }

    /// The UTC calendar day that contains `time`.
    pub fn utc_day_of(time: SystemTime) -> Date {
        let seconds = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
            // Before the epoch: round towards the earlier day.
            Err(before) => {
                let before = before.duration();
                let whole = i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
                -whole.saturating_add(i64::from(before.subsec_nanos() > 0))
            }
        };
        Date {
            days: seconds.div_euclid(SECONDS_PER_DAY),
        }
    }

    /// Today in UTC on `clock` (the client's clock, so tests can freeze it).
    pub fn today(clock: &dyn Clock) -> Date {
        Date::utc_day_of(clock.now())
    }

    /// The date `n_days` later (earlier when negative).
    pub fn add_days(self, n_days: i64) -> Date {
        Date {
            days: self.days.saturating_add(n_days),
        }
    }

    /// How many days `self` is after `earlier` (negative when before).
    pub fn days_since(self, earlier: Date) -> i64 {
        self.days - earlier.days
    }

    /// The day `days` after 1970-01-01 (before it when negative).
    pub fn from_days_since_epoch(days: i64) -> Date {
        Date { days }
    }

    /// How many days this day is after 1970-01-01 (negative when before).
    pub fn days_since_epoch(self) -> i64 {
        self.days
    }

    /// `(year, month, day)`.
    pub fn ymd(self) -> (i64, u32, u32) {
        civil_from_days(self.days)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, month, day) = self.ymd();
        write!(f, "{year:04}-{month:02}-{day:02}")
    }
}

impl FromStr for Date {
    type Err = Error;

    /// Parses exactly `YYYY-MM-DD`, as [`Date::parse`] does.
    fn from_str(text: &str) -> Result<Date, Error> {
        Date::parse(text).ok_or_else(|| {
            Error::config(format!(
                "`date` is `{text}`, which is not a date written YYYY-MM-DD"
            ))
        })
    }
}

fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap_year(year) => 29,
        _ => 28,
    }
}

fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month = i64::from(month);
    let shifted_month = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[track_caller]
    fn check_parse(text: &str, expected: Option<&str>) {
        assert_eq!(
            Date::parse(text).map(|date| date.to_string()).as_deref(),
            expected
        );
    }

    #[test]
    fn only_real_days_in_the_exact_format_parse() {
        check_parse("2024-01-31", Some("2024-01-31"));
        check_parse("2024-02-29", Some("2024-02-29"));
        check_parse("2000-02-29", Some("2000-02-29"));
        check_parse("1900-02-29", None);
        check_parse("2023-02-29", None);
        check_parse("2024-04-31", None);
        check_parse("2024-13-01", None);
        check_parse("2024-00-10", None);
        check_parse("2024-01-00", None);
        check_parse("2024-1-01", None);
        check_parse("24-01-01", None);
        check_parse("2024/01/01", None);
        check_parse("2024-01-01T00:00:00", None);
        check_parse(" 2024-01-01", None);
        check_parse("+024-01-01", None);
        check_parse("", None);
        check_parse("yesterday", None);
    }

    #[test]
    fn day_numbers_round_trip_through_the_calendar() {
        for days in -800_000..800_000i64 {
            let date = Date { days };
            let (year, month, day) = date.ymd();
            if (1..=9999).contains(&year) {
                let again = Date::from_ymd(year as i32, month, day).unwrap();
                assert_eq!(again, date, "{date}");
            }
        }
        let at = |seconds: u64| UNIX_EPOCH + Duration::from_secs(seconds);
        assert_eq!(Date::utc_day_of(at(0)).to_string(), "1970-01-01");
        // 2026-01-15T12:00:00Z, the conformance corpus's frozen instant.
        assert_eq!(
            Date::utc_day_of(at(1_768_478_400)).to_string(),
            "2026-01-15"
        );
        assert_eq!(
            Date::utc_day_of(UNIX_EPOCH - Duration::from_secs(1)).to_string(),
            "1969-12-31"
        );
    }

    #[test]
    fn days_format_as_utc_calendar_dates() {
        let at = |seconds: u64| UNIX_EPOCH + Duration::from_secs(seconds);
        let frozen = Date::utc_day_of(at(1_768_478_400));
        assert_eq!(frozen.add_days(-90).to_string(), "2025-10-17");
        assert_eq!(Date::utc_day_of(at(951_782_400)).to_string(), "2000-02-29");
        assert_eq!(Date::utc_day_of(at(86_399)).to_string(), "1970-01-01");
        assert_eq!(Date::from_days_since_epoch(-1).to_string(), "1969-12-31");
        assert_eq!(frozen.days_since_epoch(), 20_468);
        assert!("2024-02-30".parse::<Date>().is_err());
        assert_eq!("2024-02-29".parse::<Date>().unwrap().ymd(), (2024, 2, 29));
    }
}
