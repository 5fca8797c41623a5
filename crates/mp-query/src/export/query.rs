//! [`EventQuery`]: what a raw event export asks for, and the checks it passes before anything is sent.

use std::time::Duration;

use mp_http::{ApiFamily, Request};

use crate::python_json::dumps_string_list;
use crate::{Date, DateRange, Error};

/// The largest `limit` the export API accepts.
pub const MAX_EXPORT_LIMIT: u32 = 100_000;

/// The path of the raw export endpoint, relative to the export base (`https://data.mixpanel.com/api/2.0`).
pub(crate) const EXPORT_PATH: &str = "/export";

/// The parameters of `GET /api/2.0/export`.
///
/// Dates are inclusive and read by Mixpanel in the project's time zone for projects created before
/// 2023-01-11, in UTC for newer ones (`export.openapi.yaml`); see [`ProjectTimeZone`] for how the
/// "not in the future" check follows that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventQuery {
    /// The first day, `YYYY-MM-DD`.
    pub from_date: String,
    /// The last day, `YYYY-MM-DD`.
    pub to_date: String,
    /// Only these event names (sent as `event`, a JSON array); empty for every event.
    pub events: Vec<String>,
    /// A segmentation expression (sent as `where`); `None` or empty for no filter.
    pub filter: Option<String>,
    /// At most this many events (1 to [`MAX_EXPORT_LIMIT`]). Note that Mixpanel applies it per request, so the
    /// chunked exporter sends a query with a limit as one request.
    pub limit: Option<u32>,
    /// Whether `time` is in milliseconds rather than seconds (sent as `time_in_ms=true` only when set).
    pub time_in_ms: bool,
}

impl EventQuery {
    /// Every event from `from_date` to `to_date`, both included.
    pub fn new(from_date: impl Into<String>, to_date: impl Into<String>) -> EventQuery {
        EventQuery {
            from_date: from_date.into(),
            to_date: to_date.into(),
            events: Vec::new(),
            filter: None,
            limit: None,
            time_in_ms: false,
        }
    }

    /// Checks the dates and the limit against `today` (see [`ProjectTimeZone`]); returns the range.
    pub(crate) fn check(
        &self,
        time_zone: ProjectTimeZone,
        clock: &dyn mp_http::Clock,
    ) -> Result<DateRange, Error> {
        let range = DateRange::parse(&self.from_date, &self.to_date)?;
        time_zone.check_to_date(range.to(), clock)?;
        if let Some(limit) = self.limit
            && !(1..=MAX_EXPORT_LIMIT).contains(&limit)
        {
            return Err(Error::InvalidArgument {
                argument: "limit",
                reason: format!("{limit} is not between 1 and {MAX_EXPORT_LIMIT}"),
            });
        }
        Ok(range)
    }

    /// The request for the days of `range` (a part of the query's range, for chunked exports).
    ///
    /// Parameters as the official client sends them: `from_date`, `to_date`, `event` as `json.dumps` of the
    /// list, `where`, `limit`; `project_id` is added by the client. `Accept-Encoding: gzip` is the Export
    /// family's default, and no `query_origin` is sent.
    pub(crate) fn request(&self, range: DateRange) -> Request {
        let mut request = Request::get(ApiFamily::Export, EXPORT_PATH)
            .param("from_date", range.from_date())
            .param("to_date", range.to_date());
        if !self.events.is_empty() {
            request = request.param("event", dumps_string_list(&self.events));
        }
        if let Some(filter) = self.filter.as_deref().filter(|filter| !filter.is_empty()) {
            request = request.param("where", filter);
        }
        if let Some(limit) = self.limit {
            request = request.param("limit", limit);
        }
        if self.time_in_ms {
            request = request.param("time_in_ms", true);
        }
        request
    }
}

/// How "today" is found for the check that `to_date` is not in the future, which Mixpanel refuses with
/// `400 to_date cannot be later than today` in the project's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProjectTimeZone {
    /// The project's time zone is not known: `to_date` may be at most tomorrow in UTC, which is today somewhere
    /// (the rule every query of this crate uses), and Mixpanel has the last word.
    #[default]
    Unknown,
    /// UTC, as for every project created since 2023-01-11.
    Utc,
    /// A fixed offset from UTC in minutes (east positive), for older projects. Note that an offset does not follow
    /// daylight saving time; give the offset in force now.
    OffsetMinutes(i32),
}

impl ProjectTimeZone {
    /// Today in this time zone on `clock`, or `None` for [`ProjectTimeZone::Unknown`].
    pub fn today(self, clock: &dyn mp_http::Clock) -> Option<Date> {
        let now = clock.now();
        match self {
            ProjectTimeZone::Unknown => None,
            ProjectTimeZone::Utc => Some(Date::utc_day_of(now)),
            ProjectTimeZone::OffsetMinutes(minutes) => {
                let shift = Duration::from_secs(u64::from(minutes.unsigned_abs()) * 60);
                let shifted = if minutes >= 0 {
                    now.checked_add(shift)
                } else {
                    now.checked_sub(shift)
                };
                Some(Date::utc_day_of(shifted.unwrap_or(now)))
            }
        }
    }

    fn check_to_date(self, to_date: Date, clock: &dyn mp_http::Clock) -> Result<(), Error> {
        match self.today(clock) {
            None => crate::dates::check_not_future("to_date", to_date, Date::today(clock)),
            Some(today) if to_date > today => Err(Error::InvalidArgument {
                argument: "to_date",
                reason: format!(
                    "{to_date} is later than today in the project's time zone ({today}, {}); Mixpanel \
                     refuses such exports",
                    self.describe()
                ),
            }),
            Some(_) => Ok(()),
        }
    }

    fn describe(self) -> String {
        match self {
            ProjectTimeZone::Unknown => "unknown".to_owned(),
            ProjectTimeZone::Utc => "UTC".to_owned(),
            ProjectTimeZone::OffsetMinutes(minutes) => {
                let sign = if minutes < 0 { '-' } else { '+' };
                let minutes = minutes.unsigned_abs();
                format!("UTC{sign}{:02}:{:02}", minutes / 60, minutes % 60)
            }
        }
    }
}
