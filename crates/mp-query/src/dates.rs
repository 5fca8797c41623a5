//! Calendar dates as Mixpanel's Query API spells them (`YYYY-MM-DD`), and the checks every query runs on its dates
//! before anything is sent.
//!
//! [`Date`] itself is [`mp_http::Date`] (a UTC day number), re-exported here so the Query API's dates are named from
//! `mp-query`. There is no time zone: Mixpanel reads the dates in the project's time zone, which the client does not know. That is why "in the future" means later than *tomorrow* in
//! UTC: the easternmost time zone (UTC+14) is already a day ahead of UTC, so a project there may legitimately ask
//! for UTC's tomorrow, but never for the day after.

/// Re-exported from `mp-http` (which owns the calendar arithmetic) so that `mp_query::Date` keeps its name.
pub use mp_http::Date;

use crate::Error;

const SECONDS_PER_DAY: i64 = 86_400;

/// An inclusive range of days, `from` no later than `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateRange {
    from: Date,
    to: Date,
}

impl DateRange {
    /// `from` to `to`, both included. Fails when `from` is after `to`.
    pub fn new(from: Date, to: Date) -> Result<DateRange, Error> {
        if from > to {
            return Err(Error::DateRangeReversed {
                from_date: from.to_string(),
                to_date: to.to_string(),
            });
        }
        Ok(DateRange { from, to })
    }

    /// Parses `from_date` and `to_date` (`YYYY-MM-DD`) and checks their order.
    pub fn parse(from_date: &str, to_date: &str) -> Result<DateRange, Error> {
        DateRange::new(
            parse_parameter("from_date", from_date)?,
            parse_parameter("to_date", to_date)?,
        )
    }

    /// The last `n_days` days up to and including `today` (so `last(1, today)` is today alone), which is how a
    /// relative range such as `--last 30d` reads. Fails when `n_days` is 0.
    pub fn last(n_days: u32, today: Date) -> Result<DateRange, Error> {
        if n_days == 0 {
            return Err(Error::InvalidArgument {
                argument: "last",
                reason: "a range must cover at least one day".to_owned(),
            });
        }
        Ok(DateRange {
            from: today.add_days(1 - i64::from(n_days)),
            to: today,
        })
    }

    /// The first day.
    pub fn from(&self) -> Date {
        self.from
    }

    /// The last day.
    pub fn to(&self) -> Date {
        self.to
    }

    /// The first day as `from_date` is sent.
    pub fn from_date(&self) -> String {
        self.from.to_string()
    }

    /// The last day as `to_date` is sent.
    pub fn to_date(&self) -> String {
        self.to.to_string()
    }

    /// How many days the range covers.
    pub fn n_days(&self) -> i64 {
        self.to.days_since(self.from) + 1
    }
}

/// Parses a date parameter, naming it in the error.
pub(crate) fn parse_parameter(parameter: &'static str, value: &str) -> Result<Date, Error> {
    Date::parse(value).ok_or_else(|| Error::InvalidDate {
        parameter,
        value: value.to_owned(),
    })
}

/// The latest date a query may name: tomorrow in UTC (see the module docs).
fn latest_allowed(today: Date) -> Date {
    today.add_days(1)
}

/// Fails when `date` is later than the latest day that can be today somewhere.
pub(crate) fn check_not_future(
    parameter: &'static str,
    date: Date,
    today: Date,
) -> Result<(), Error> {
    if date > latest_allowed(today) {
        return Err(Error::FutureDate {
            parameter,
            value: date.to_string(),
            today: today.to_string(),
        });
    }
    Ok(())
}

/// The checks every dated query runs before sending: both dates well formed, in order, and not in the future.
pub(crate) fn check_range(from_date: &str, to_date: &str, today: Date) -> Result<DateRange, Error> {
    let range = DateRange::parse(from_date, to_date)?;
    check_not_future("to_date", range.to, today)?;
    Ok(range)
}

/// `time` (Unix seconds, UTC) as Python's `datetime.isoformat()` writes an aware UTC datetime:
/// `2024-01-01T12:00:00+00:00`.
pub(crate) fn iso_utc(unix_seconds: i64) -> String {
    let day = Date::from_days_since_epoch(unix_seconds.div_euclid(SECONDS_PER_DAY));
    let seconds = unix_seconds.rem_euclid(SECONDS_PER_DAY);
    format!(
        "{day}T{:02}:{:02}:{:02}+00:00",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_ranges_end_today_and_include_it() {
        let today = Date::parse("2026-01-15").unwrap();
        let range = DateRange::last(30, today).unwrap();
        assert_eq!(
            (range.from_date().as_str(), range.to_date().as_str()),
            ("2025-12-17", "2026-01-15")
        );
        assert_eq!(range.n_days(), 30);
        let range = DateRange::last(1, today).unwrap();
        assert_eq!(range.from(), today);
        assert!(DateRange::last(0, today).is_err());
    }

    #[test]
    fn ranges_are_checked_for_format_order_and_future() {
        let today = Date::parse("2026-01-15").unwrap();
        let check =
            |from: &str, to: &str| check_range(from, to, today).map_err(|error| error.to_string());
        assert!(check("2026-01-01", "2026-01-15").is_ok());
        // Tomorrow in UTC is today east of UTC+12.
        assert!(check("2026-01-01", "2026-01-16").is_ok());
        assert_eq!(
            check("2026-01-01", "2026-01-17").unwrap_err(),
            "`to_date` 2026-01-17 is in the future (today is 2026-01-15 UTC)"
        );
        assert_eq!(
            check("2026-01-10", "2026-01-01").unwrap_err(),
            "`from_date` 2026-01-10 is after `to_date` 2026-01-01"
        );
        assert_eq!(
            check("2026-1-1", "2026-01-01").unwrap_err(),
            "`from_date` is `2026-1-1`, which is not a date written YYYY-MM-DD"
        );
        assert_eq!(
            check("2026-01-01", "2026-02-30").unwrap_err(),
            "`to_date` is `2026-02-30`, which is not a date written YYYY-MM-DD"
        );
    }

    #[test]
    fn unix_seconds_format_like_python_isoformat() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00+00:00");
        assert_eq!(iso_utc(1_599_589_453), "2020-09-08T18:24:13+00:00");
        assert_eq!(iso_utc(-1), "1969-12-31T23:59:59+00:00");
    }
}
