//! `/api/query/retention` (birth retention) and `/api/query/retention/addiction`
//! (frequency), computed in one time-ordered pass over the dataset.
//!
//! # Birth retention
//!
//! A user is *born* at their first `born_event` (matching `born_where`) of the dataset. Users
//! born between `from_date` and `to_date` form the cohort of the date bucket (`unit`) of their
//! birth. Interval `i` of a user is `[born + i·L, born + (i+1)·L)` where `L` is `interval`
//! units (a day, a week, or 30 days for a month); `counts[i]` is the number of cohort users
//! who did `event` (any event if absent, matching `where`) in their interval `i`, the birth
//! event itself excluded. There are `interval_count + 1` intervals (the 0th is "less than one
//! interval after the birth", as the spec says), fewer for recent cohorts: intervals that
//! start after the end of the data are left out, as Mixpanel leaves out the future. With
//! `unbounded_retention=true`, `counts[i]` counts users who came back in interval `i` or any
//! later one.
//!
//! # Frequency
//!
//! For each `unit` bucket, `data[date][k]` is the number of users who did `event` (any event
//! if absent, matching `where`) in at least `k + 1` distinct `addiction_unit`s (hours or
//! days) of the bucket; the array has one entry per hour or day of the bucket.

use std::collections::HashSet;

use serde_json::{Map, Value as Json, json};

use crate::catalog::{EventKind, N_EVENT_KINDS};
use crate::civil::{self, SECONDS_PER_DAY};
use crate::dataset::{Dataset, EventView};
use crate::expr::Expr;
use crate::http_util::{ApiError, Params};
use crate::query::{Buckets, Unit, check_range, date_param, parse_expression};
use crate::saved::{self, Report};

/// The most intervals a retention answer has.
const MAX_INTERVAL_COUNT: u64 = 400;

/// A validated birth-retention query.
pub(crate) struct RetentionQuery {
    pub(crate) born: Option<EventKind>,
    /// `None` means "any event".
    pub(crate) event: Option<Option<EventKind>>,
    pub(crate) born_where: Option<Expr>,
    pub(crate) filter: Option<Expr>,
    pub(crate) from: i64,
    pub(crate) to: i64,
    pub(crate) unit: Unit,
    pub(crate) interval_seconds: i64,
    pub(crate) interval_count: u64,
    pub(crate) unbounded: bool,
}

/// Returns the length of one `unit` in seconds (a month is 30 days).
fn unit_seconds(unit: Unit) -> i64 {
    SECONDS_PER_DAY
        * match unit {
            Unit::Day => 1,
            Unit::Week => 7,
            Unit::Month => 30,
        }
}

/// `GET /api/query/retention`.
pub(crate) fn query(dataset: &Dataset, params: &Params) -> Result<Json, ApiError> {
    if let Some(bookmark_id) = params.integer("bookmark_id")? {
        return saved_report(dataset, bookmark_id);
    }
    match params.get("retention_type").unwrap_or("birth") {
        "birth" => {}
        "compounded" => {
            return Err(ApiError::bad_request(
                "retention_type compounded is not supported by the sandbox",
            ));
        }
        other => {
            return Err(ApiError::bad_request(format!(
                "retention_type must be birth or compounded, got {other:?}"
            )));
        }
    }
    if params.get("on").is_some() {
        return Err(ApiError::bad_request(
            "on (segmented retention) is not supported by the sandbox",
        ));
    }
    let born_name = params.required("born_event")?;
    let from = date_param(params, "from_date")?;
    let to = date_param(params, "to_date")?;
    check_range(from, to)?;
    let unit = Unit::parse(params.get("unit"))?;
    let interval = params.integer("interval")?.unwrap_or(1);
    if interval == 0 || (unit == Unit::Day && interval > 90) {
        return Err(ApiError::bad_request(
            "interval must be at least 1, and at most 90 days",
        ));
    }
    let interval_count = params.integer("interval_count")?.unwrap_or(1);
    if interval_count > MAX_INTERVAL_COUNT {
        return Err(ApiError::bad_request(format!(
            "interval_count must be at most {MAX_INTERVAL_COUNT}"
        )));
    }
    let query = RetentionQuery {
        born: EventKind::from_name(born_name),
        event: params.get("event").map(EventKind::from_name),
        born_where: parse_expression(params, "born_where")?,
        filter: parse_expression(params, "where")?,
        from,
        to,
        unit,
        interval_seconds: interval as i64 * unit_seconds(unit),
        interval_count,
        unbounded: params.boolean("unbounded_retention")?,
    };
    compute(dataset, &query)
}

/// A saved retention report over its last 30 days.
fn saved_report(dataset: &Dataset, bookmark_id: u64) -> Result<Json, ApiError> {
    let report = saved::report(bookmark_id).ok_or_else(|| {
        ApiError::new(http::StatusCode::NOT_FOUND, "Bookmark not found".to_owned())
    })?;
    let Report::Retention {
        born,
        event,
        interval_count,
    } = report.report
    else {
        return Err(ApiError::bad_request(format!(
            "bookmark {bookmark_id} is a {} report, not a retention report",
            report.kind()
        )));
    };
    let to = dataset.last_day();
    let query = RetentionQuery {
        born: Some(born),
        event: Some(Some(event)),
        born_where: None,
        filter: None,
        from: to - saved::REPORT_DAYS + 1,
        to,
        unit: Unit::Day,
        interval_seconds: SECONDS_PER_DAY,
        interval_count: u64::from(interval_count),
        unbounded: false,
    };
    compute(dataset, &query)
}

/// Computes birth retention: `{date: {"counts": [...], "first": n}}` for every cohort bucket.
pub(crate) fn compute(dataset: &Dataset, query: &RetentionQuery) -> Result<Json, ApiError> {
    let buckets = Buckets::new(query.from, query.to, query.unit)?;
    let n_intervals = query.interval_count as usize + 1;
    let born_until = (query.to + 1) * SECONDS_PER_DAY;
    let scan_until = born_until + n_intervals as i64 * query.interval_seconds;
    // One pass in time order decides everything: a user's first born event comes before any
    // of their returns, so when an event arrives the user is either not born yet (it may be
    // the birth) or born (it may be a return). Per user: when born and in which cohort (None:
    // born before `from_date`, which excludes them; their later born events are no births).
    let mut births: Vec<Option<(i64, Option<usize>)>> = vec![None; dataset.user_count()];
    // Distinct (user, interval) pairs: a user counts once per interval however often they
    // return in it.
    let mut returns: HashSet<(u32, usize)> = HashSet::new();
    let return_kind = |kind: EventKind| match query.event {
        None => true,
        Some(Some(wanted)) => kind == wanted,
        // A return event the project never saw: nobody returns.
        Some(None) => false,
    };
    if let Some(born_kind) = query.born {
        dataset.for_each_event_in(i64::MIN, scan_until, |event| {
            let user = event.user as usize;
            let view = EventView { dataset, event };
            match births[user] {
                None => {
                    if event.kind == born_kind
                        && event.time < born_until
                        && query
                            .born_where
                            .as_ref()
                            .is_none_or(|filter| filter.matches(&view))
                    {
                        let day = event.time.div_euclid(SECONDS_PER_DAY);
                        let cohort = (day >= query.from).then(|| buckets.index_of_day(day));
                        births[user] = Some((event.time, cohort));
                    }
                }
                Some((_, None)) => {}
                Some((born_time, Some(_))) => {
                    if !return_kind(event.kind)
                        || query
                            .filter
                            .as_ref()
                            .is_some_and(|filter| !filter.matches(&view))
                    {
                        return;
                    }
                    let interval = ((event.time - born_time) / query.interval_seconds) as usize;
                    if interval < n_intervals {
                        returns.insert((event.user, interval));
                    }
                }
            }
        });
    }

    let mut first = vec![0u64; buckets.len()];
    let mut counts = vec![vec![0u64; n_intervals]; buckets.len()];
    let mut latest_return = vec![None::<usize>; dataset.user_count()];
    for &(user, interval) in &returns {
        let latest = &mut latest_return[user as usize];
        *latest = Some(latest.map_or(interval, |seen: usize| seen.max(interval)));
    }
    for (user, birth) in births.iter().enumerate() {
        let Some((_, Some(cohort))) = birth else {
            continue;
        };
        first[*cohort] += 1;
        if query.unbounded
            && let Some(latest) = latest_return[user]
        {
            for count in &mut counts[*cohort][..=latest] {
                *count += 1;
            }
        }
    }
    if !query.unbounded {
        for &(user, interval) in &returns {
            if let Some((_, Some(cohort))) = births[user as usize] {
                counts[cohort][interval] += 1;
            }
        }
    }

    // Intervals that start after the data ends are in the future: Mixpanel leaves them out.
    let data_end = dataset.now();
    let mut answer = Map::new();
    for (index, start_day) in buckets.starts().iter().enumerate() {
        let start = start_day * SECONDS_PER_DAY;
        let started = (0..n_intervals)
            .take_while(|&interval| start + interval as i64 * query.interval_seconds < data_end)
            .count()
            .max(1);
        answer.insert(
            civil::format_date(*start_day),
            json!({"counts": &counts[index][..started], "first": first[index]}),
        );
    }
    Ok(Json::Object(answer))
}

/// `GET /api/query/retention/addiction`.
pub(crate) fn addiction(dataset: &Dataset, params: &Params) -> Result<Json, ApiError> {
    let from = date_param(params, "from_date")?;
    let to = date_param(params, "to_date")?;
    check_range(from, to)?;
    if params.get("on").is_some() {
        return Err(ApiError::bad_request(
            "on (segmented frequency) is not supported by the sandbox",
        ));
    }
    let unit = Unit::parse(Some(params.required("unit")?))?;
    let hourly = match params.required("addiction_unit")? {
        "hour" => true,
        "day" => false,
        other => {
            return Err(ApiError::bad_request(format!(
                "addiction_unit must be hour or day, got {other:?}"
            )));
        }
    };
    let kind = params.get("event").map(EventKind::from_name);
    let filter = parse_expression(params, "where")?;
    let buckets = Buckets::new(from, to, unit)?;
    // The array of a bucket has one entry per hour or day it contains (a month of days has
    // 28 to 31), the most periods a user can be active in.
    let unit_length = |index: usize| -> usize {
        let start = buckets.starts()[index];
        let days = (unit.next_bucket(start) - start) as usize;
        if hourly { days * 24 } else { days }
    };

    // Distinct (bucket, user, hour-or-day) triples.
    let mut active: HashSet<(usize, u32, i64)> = HashSet::new();
    let mut wanted = [kind.is_none(); N_EVENT_KINDS];
    if let Some(Some(kind)) = kind {
        wanted[kind as usize] = true;
    }
    dataset.for_each_event_in(
        from * SECONDS_PER_DAY,
        (to + 1) * SECONDS_PER_DAY,
        |event| {
            if !wanted[event.kind as usize]
                || filter
                    .as_ref()
                    .is_some_and(|filter| !filter.matches(&EventView { dataset, event }))
            {
                return;
            }
            let day = event.time.div_euclid(SECONDS_PER_DAY);
            let period = if hourly {
                event.time.div_euclid(3600)
            } else {
                day
            };
            active.insert((buckets.index_of_day(day), event.user, period));
        },
    );
    // Per bucket and user, the number of distinct periods.
    let mut periods: std::collections::HashMap<(usize, u32), usize> =
        std::collections::HashMap::new();
    for &(bucket, user, _) in &active {
        *periods.entry((bucket, user)).or_insert(0) += 1;
    }
    let mut data = Map::new();
    let mut at_least: Vec<Vec<u64>> = (0..buckets.len())
        .map(|index| vec![0; unit_length(index)])
        .collect();
    for (&(bucket, _), &n) in &periods {
        for count in &mut at_least[bucket][..n] {
            *count += 1;
        }
    }
    for (date, counts) in buckets.series().into_iter().zip(at_least) {
        data.insert(date, json!(counts));
    }
    Ok(json!({"data": data}))
}
