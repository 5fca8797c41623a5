//! Calendar dates as Mixpanel's Query API spells them (`YYYY-MM-DD`, UTC), without a date-time dependency.
//!
//! The conversions are Howard Hinnant's `days_from_civil` / `civil_from_days` over the proleptic Gregorian
//! calendar, exact for every date a Mixpanel project can hold.

use std::time::{SystemTime, UNIX_EPOCH};

const SECONDS_PER_DAY: i64 = 86_400;

/// Days since 1970-01-01 of the UTC calendar day that contains `time`.
pub(crate) fn utc_day(time: SystemTime) -> i64 {
    let seconds = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        // Before the epoch: round towards the earlier day.
        Err(before) => {
            let before = before.duration();
            let whole = i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
            let partial = i64::from(before.subsec_nanos() > 0);
            -whole.saturating_add(partial)
        }
    };
    seconds.div_euclid(SECONDS_PER_DAY)
}

/// `YYYY-MM-DD` of the day `days` after 1970-01-01.
pub(crate) fn format_day(days: i64) -> String {
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}")
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

    #[test]
    fn days_format_as_utc_calendar_dates() {
        let at = |seconds: u64| UNIX_EPOCH + Duration::from_secs(seconds);
        assert_eq!(format_day(utc_day(at(0))), "1970-01-01");
        // 2026-01-15T12:00:00Z, the conformance corpus's frozen instant.
        let frozen = at(1_768_478_400);
        assert_eq!(format_day(utc_day(frozen)), "2026-01-15");
        assert_eq!(format_day(utc_day(frozen) - 90), "2025-10-17");
        assert_eq!(format_day(utc_day(at(951_782_400))), "2000-02-29");
        assert_eq!(format_day(utc_day(at(86_399))), "1970-01-01");
        assert_eq!(format_day(-1), "1969-12-31");
        assert_eq!(
            format_day(utc_day(UNIX_EPOCH - Duration::from_secs(1))),
            "1969-12-31"
        );
    }
}
