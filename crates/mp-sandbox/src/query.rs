//! The Query API endpoints: discovery (`/events/names`, `/events/top`,
//! `/events/properties/top`, `/events/properties/values`), `/segmentation`, and the
//! machinery every time-bucketed answer shares ([`Unit`], [`Buckets`], [`tally`]).
//!
//! Every handler is a plain function from parameters to JSON, run on a blocking thread by the
//! router, because a first query over a large window generates (and then caches) the days it
//! covers.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value as Json, json};

use crate::catalog::{EVENT_KINDS, EventKind};
use crate::civil;
use crate::dataset::{Dataset, EventView};
use crate::expr::Expr;
use crate::http_util::{ApiError, Params};

/// Discovery endpoints look at this many days, ending at the dataset's last day, as Mixpanel's
/// "most common events over the last 31 days" does.
const DISCOVERY_DAYS: i64 = 31;
/// The most buckets a segmentation answer may have.
const MAX_BUCKETS: usize = 20_000;

/// The `type` parameter of the event endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CountType {
    General,
    Unique,
    Average,
}

impl CountType {
    pub(crate) fn parse(text: &str) -> Result<CountType, ApiError> {
        match text {
            "general" => Ok(CountType::General),
            "unique" => Ok(CountType::Unique),
            "average" => Ok(CountType::Average),
            other => Err(ApiError::bad_request(format!(
                "type must be one of general, unique or average, got {other:?}"
            ))),
        }
    }
}

/// Parses a required `YYYY-MM-DD` parameter.
pub(crate) fn date_param(params: &Params, name: &str) -> Result<i64, ApiError> {
    let text = params.required(name)?;
    civil::parse_date(text).ok_or_else(|| {
        ApiError::bad_request(format!("{name} must be a date as YYYY-MM-DD, got {text:?}"))
    })
}

/// Parses an optional `YYYY-MM-DD` parameter.
pub(crate) fn optional_date_param(params: &Params, name: &str) -> Result<Option<i64>, ApiError> {
    params
        .get(name)
        .map(|_| date_param(params, name))
        .transpose()
}

/// Checks `from <= to`, as Mixpanel does for every ranged query.
pub(crate) fn check_range(from: i64, to: i64) -> Result<(), ApiError> {
    if from > to {
        return Err(ApiError::bad_request(format!(
            "from_date {} is after to_date {}",
            civil::format_date(from),
            civil::format_date(to)
        )));
    }
    Ok(())
}

/// Returns the window indices of the days `from..=to` that the dataset covers.
pub(crate) fn day_indices(
    dataset: &Dataset,
    from: i64,
    to: i64,
) -> impl Iterator<Item = usize> + '_ {
    (from.max(dataset.first_day())..=to.min(dataset.last_day()))
        .filter_map(|day| dataset.day_index(day))
}

/// The default discovery window: the last 31 days of the dataset.
fn discovery_days(dataset: &Dataset) -> impl Iterator<Item = usize> + '_ {
    day_indices(
        dataset,
        dataset.last_day() - DISCOVERY_DAYS + 1,
        dataset.last_day(),
    )
}

pub(crate) fn parse_expression(params: &Params, name: &str) -> Result<Option<Expr>, ApiError> {
    params
        .get(name)
        .map(|text| {
            Expr::parse(text).map_err(|error| {
                ApiError::bad_request(format!("invalid {name} expression: {error}"))
            })
        })
        .transpose()
}

/// `GET /api/query/events/names`: event names ordered by volume, most common first.
///
/// `from_date`/`to_date` are not in the spec but Mixpanel's client sends them (2000-01-01 to
/// today by default) and the service honours them; without them the last 31 days count.
pub(crate) fn events_names(dataset: &Dataset, params: &Params) -> Result<Json, ApiError> {
    let count_type = CountType::parse(params.required("type")?)?;
    let limit = params.integer("limit")?.unwrap_or(255) as usize;
    let from = optional_date_param(params, "from_date")?;
    let to = optional_date_param(params, "to_date")?;
    let to = to.unwrap_or(dataset.last_day());
    let from = from.unwrap_or(to - DISCOVERY_DAYS + 1);
    check_range(from, to)?;
    let mut totals = [0u64; EVENT_KINDS.len()];
    for day_index in day_indices(dataset, from, to) {
        let stats = dataset.day_stats(day_index);
        for kind in EVENT_KINDS {
            totals[kind as usize] += match count_type {
                CountType::Unique => stats.uniques[kind as usize],
                CountType::General | CountType::Average => stats.counts[kind as usize],
            };
        }
    }
    let mut names: Vec<(u64, &str)> = EVENT_KINDS
        .iter()
        .filter(|kind| totals[**kind as usize] > 0)
        .map(|kind| (totals[*kind as usize], kind.name()))
        .collect();
    names.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    Ok(json!(
        names
            .iter()
            .take(limit)
            .map(|(_, name)| *name)
            .collect::<Vec<_>>()
    ))
}

/// `GET /api/query/events/top`: "today's" top events with the change from "yesterday".
///
/// The sandbox's today is the last day of its window (by default yesterday in UTC), so that
/// the answer is never empty.
pub(crate) fn events_top(dataset: &Dataset, params: &Params) -> Result<Json, ApiError> {
    let type_text = params.required("type")?;
    let count_type = CountType::parse(type_text)?;
    let limit = params.integer("limit")?.unwrap_or(100) as usize;
    let amounts = |day: i64| -> [u64; EVENT_KINDS.len()] {
        match dataset.day_index(day) {
            None => [0; EVENT_KINDS.len()],
            Some(index) => {
                let stats = dataset.day_stats(index);
                match count_type {
                    CountType::Unique => stats.uniques,
                    CountType::General | CountType::Average => stats.counts,
                }
            }
        }
    };
    let today = amounts(dataset.last_day());
    let yesterday = amounts(dataset.last_day() - 1);
    let mut events: Vec<(u64, f64, &str)> = EVENT_KINDS
        .iter()
        .filter(|kind| today[**kind as usize] > 0)
        .map(|kind| {
            let (now, before) = (today[*kind as usize], yesterday[*kind as usize]);
            let change = if before == 0 {
                0.0
            } else {
                (now as f64 - before as f64) / before as f64
            };
            (now, change, kind.name())
        })
        .collect();
    events.sort_by(|a, b| b.0.cmp(&a.0).then(a.2.cmp(b.2)));
    let events: Vec<Json> = events
        .iter()
        .take(limit)
        .map(|(amount, change, name)| json!({"amount": amount, "event": name, "percent_change": change}))
        .collect();
    Ok(json!({"events": events, "type": type_text}))
}

/// `GET /api/query/events/properties/top`: property names of an event with their counts.
pub(crate) fn properties_top(dataset: &Dataset, params: &Params) -> Result<Json, ApiError> {
    let event = params.required("event")?;
    let limit = params.integer("limit")?.unwrap_or(10) as usize;
    let mut result = Map::new();
    let Some(kind) = EventKind::from_name(event) else {
        return Ok(Json::Object(result));
    };
    let count: u64 = discovery_days(dataset)
        .map(|day_index| dataset.day_stats(day_index).counts[kind as usize])
        .sum();
    if count == 0 {
        return Ok(Json::Object(result));
    }
    // Every event of a kind carries the same properties, so the counts are all equal and
    // the order falls back to the names. `time` is Mixpanel's own, not a property to explore.
    let mut names: Vec<&str> = Dataset::property_names(kind)
        .into_iter()
        .filter(|name| *name != "time")
        .collect();
    names.sort_unstable();
    for name in names.into_iter().take(limit) {
        result.insert(name.to_owned(), json!({"count": count}));
    }
    Ok(Json::Object(result))
}

/// `GET /api/query/events/properties/values`: the most common values of a property.
///
/// `event` is required by the spec but Mixpanel's client may omit it; without it the values
/// over every event are counted.
pub(crate) fn property_values(dataset: &Dataset, params: &Params) -> Result<Json, ApiError> {
    let name = params.required("name")?;
    let limit = params.integer("limit")?.unwrap_or(255) as usize;
    let kinds: Vec<EventKind> = match params.get("event") {
        Some(event) => EventKind::from_name(event).into_iter().collect(),
        None => EVENT_KINDS.to_vec(),
    };
    let mut totals: HashMap<String, u64> = HashMap::new();
    if !dataset.add_value_counts(discovery_days(dataset), &kinds, name, &mut totals) {
        // Not a cached property (`distinct_id`, `$insert_id` …): scan the days.
        let wanted: HashSet<EventKind> = kinds.iter().copied().collect();
        let mut scratch = Vec::new();
        for day_index in discovery_days(dataset) {
            dataset.for_each_event_of_day(day_index, &mut scratch, |event| {
                if !wanted.contains(&event.kind) {
                    return;
                }
                if let Some(value) = dataset.event_property(event, name).segment_key() {
                    *totals.entry(value).or_insert(0) += 1;
                }
            });
        }
    }
    let mut values: Vec<(String, u64)> = totals.into_iter().collect();
    values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(json!(
        values
            .into_iter()
            .take(limit)
            .map(|(value, _)| value)
            .collect::<Vec<_>>()
    ))
}

/// The time buckets of a segmentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    Day,
    Week,
    Month,
}

impl Unit {
    /// Parses a `unit` parameter (default `day`). Minutes and hours are Mixpanel units the
    /// sandbox does not bucket by.
    pub(crate) fn parse(text: Option<&str>) -> Result<Unit, ApiError> {
        match text.unwrap_or("day") {
            "day" => Ok(Unit::Day),
            "week" => Ok(Unit::Week),
            "month" => Ok(Unit::Month),
            "minute" | "hour" => Err(ApiError::bad_request(format!(
                "unit {} is not supported by the sandbox (use day, week or month)",
                text.unwrap_or_default()
            ))),
            other => Err(ApiError::bad_request(format!(
                "unit must be one of minute, hour, day, week or month, got {other:?}"
            ))),
        }
    }

    /// Returns the first day of the bucket holding `day`: the day itself, the Monday of its
    /// week, or the first of its month.
    pub(crate) fn bucket_start(self, day: i64) -> i64 {
        match self {
            Unit::Day => day,
            Unit::Week => day - civil::weekday_monday0(day),
            Unit::Month => civil::first_of_month(day),
        }
    }

    /// Returns the first day of the bucket after the one starting on `start`.
    pub(crate) fn next_bucket(self, start: i64) -> i64 {
        match self {
            Unit::Day => start + 1,
            Unit::Week => start + 7,
            Unit::Month => {
                let (year, month, _) = civil::civil_from_days(start);
                let (year, month) = if month == 12 {
                    (year + 1, 1)
                } else {
                    (year, month + 1)
                };
                civil::days_from_civil(year, month, 1)
            }
        }
    }
}

/// The date buckets of a ranged query: every bucket from the one holding `from_date` to the
/// one holding `to_date`, labelled by their first day, as Mixpanel's `series` lists them.
#[derive(Debug, Clone)]
pub(crate) struct Buckets {
    /// The first day of each bucket, ascending; the first is never after `from_date`.
    starts: Vec<i64>,
    /// True if and only if every bucket is one day (the per-day aggregates then answer).
    daily: bool,
}

impl Buckets {
    /// Buckets of a calendar unit.
    pub(crate) fn new(from: i64, to: i64, unit: Unit) -> Result<Buckets, ApiError> {
        let mut starts = Vec::new();
        let mut day = unit.bucket_start(from);
        while day <= to {
            starts.push(day);
            if starts.len() > MAX_BUCKETS {
                return Err(ApiError::bad_request("the date range has too many buckets"));
            }
            day = unit.next_bucket(day);
        }
        Ok(Buckets {
            starts,
            daily: unit == Unit::Day,
        })
    }

    /// Buckets of `days` days each, the first starting on `from` (the `interval` parameter).
    pub(crate) fn every(from: i64, to: i64, days: u64) -> Result<Buckets, ApiError> {
        if days == 0 || days > 3660 {
            return Err(ApiError::bad_request("interval must be between 1 and 3660"));
        }
        let starts: Vec<i64> = (from..=to).step_by(days as usize).collect();
        if starts.len() > MAX_BUCKETS {
            return Err(ApiError::bad_request("the date range has too many buckets"));
        }
        Ok(Buckets {
            starts,
            daily: days == 1,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.starts.len()
    }

    /// Returns the index of the bucket holding a day (days before the first bucket go to the
    /// first, which never happens for days of the queried range).
    pub(crate) fn index_of_day(&self, day: i64) -> usize {
        self.starts
            .partition_point(|&start| start <= day)
            .saturating_sub(1)
    }

    /// Returns the bucket labels (`YYYY-MM-DD` of their first day).
    pub(crate) fn series(&self) -> Vec<String> {
        self.starts
            .iter()
            .map(|&day| civil::format_date(day))
            .collect()
    }

    /// Returns the first day of each bucket.
    pub(crate) fn starts(&self) -> &[i64] {
        &self.starts
    }
}

/// What [`tally`] counts: events of some kinds in a date range, filtered by `filter`, each
/// counted under a segment (its event name, or the value of `on`).
pub(crate) struct TallySpec<'a> {
    pub(crate) kinds: &'a [EventKind],
    pub(crate) from: i64,
    pub(crate) to: i64,
    pub(crate) buckets: &'a Buckets,
    pub(crate) filter: Option<&'a Expr>,
    pub(crate) on: Option<&'a Expr>,
    /// Whether unique users are needed (they cost a set of `(segment, bucket, user)`).
    pub(crate) uniques: bool,
}

/// Per segment, `(events, unique users)` per bucket.
pub(crate) type Tally = HashMap<String, Vec<(u64, u64)>>;

/// Counts events per segment and bucket. Events whose `on` value is undefined are left out.
///
/// Without `on` and `filter`, with day buckets or without uniques, the cached per-day
/// aggregates answer without generating a single event; otherwise the days are scanned.
pub(crate) fn tally(dataset: &Dataset, spec: &TallySpec<'_>) -> Tally {
    let mut segments: Tally = HashMap::new();
    let n_buckets = spec.buckets.len();
    let fast = spec.on.is_none() && spec.filter.is_none() && (spec.buckets.daily || !spec.uniques);
    if fast {
        for &kind in spec.kinds {
            let counts = segments
                .entry(kind.name().to_owned())
                .or_insert_with(|| vec![(0, 0); n_buckets]);
            for day_index in day_indices(dataset, spec.from, spec.to) {
                let stats = dataset.day_stats(day_index);
                let bucket = spec
                    .buckets
                    .index_of_day(dataset.first_day() + day_index as i64);
                counts[bucket].0 += stats.counts[kind as usize];
                counts[bucket].1 += stats.uniques[kind as usize];
            }
        }
        return segments;
    }
    let mut wanted = [false; EVENT_KINDS.len()];
    for &kind in spec.kinds {
        wanted[kind as usize] = true;
    }
    // Distinct (segment, bucket, user) triples, for uniques over any bucket size.
    let mut seen: HashSet<(String, usize, u32)> = HashSet::new();
    let mut scratch = Vec::new();
    for day_index in day_indices(dataset, spec.from, spec.to) {
        let bucket = spec
            .buckets
            .index_of_day(dataset.first_day() + day_index as i64);
        dataset.for_each_event_of_day(day_index, &mut scratch, |event| {
            if !wanted[event.kind as usize] {
                return;
            }
            let view = EventView { dataset, event };
            if spec.filter.is_some_and(|filter| !filter.matches(&view)) {
                return;
            }
            let segment = match spec.on {
                None => event.kind.name().to_owned(),
                Some(on) => match on.eval(&view).segment_key() {
                    Some(segment) => segment,
                    None => return,
                },
            };
            let counts = segments
                .entry(segment.clone())
                .or_insert_with(|| vec![(0, 0); n_buckets]);
            counts[bucket].0 += 1;
            if spec.uniques && seen.insert((segment, bucket, event.user)) {
                counts[bucket].1 += 1;
            }
        });
    }
    segments
}

/// Ranks segments by their total count (largest first, ties by name) and keeps `limit`.
pub(crate) fn top_segments(tally: Tally, limit: usize) -> Vec<(String, Vec<(u64, u64)>)> {
    let mut ranked: Vec<(String, Vec<(u64, u64)>)> = tally.into_iter().collect();
    let total = |counts: &Vec<(u64, u64)>| counts.iter().map(|count| count.0).sum::<u64>();
    ranked.sort_by(|a, b| total(&b.1).cmp(&total(&a.1)).then_with(|| a.0.cmp(&b.0)));
    ranked.truncate(limit);
    ranked
}

/// Renders ranked segments as Mixpanel's segmentation envelope:
/// `{"data": {"series": [dates], "values": {segment: {date: n}}}, "legend_size": n}`.
pub(crate) fn segmentation_envelope(
    buckets: &Buckets,
    segments: &[(String, Vec<(u64, u64)>)],
    count_type: CountType,
) -> Json {
    let series = buckets.series();
    let mut values = Map::new();
    for (segment, counts) in segments {
        let mut by_date = Map::new();
        for (date, &(general, unique)) in series.iter().zip(counts) {
            let value = match count_type {
                CountType::General => json!(general),
                CountType::Unique => json!(unique),
                CountType::Average if unique == 0 => json!(0),
                CountType::Average => json!(general as f64 / unique as f64),
            };
            by_date.insert(date.clone(), value);
        }
        values.insert(segment.clone(), Json::Object(by_date));
    }
    json!({
        "data": {"series": series, "values": values},
        "legend_size": segments.len(),
    })
}

/// `GET /api/query/segmentation`.
///
/// The answer is `{"data": {"series": [dates], "values": {segment: {date: n}}},
/// "legend_size": n}`: without `on` the only segment is the event name; with `on`, each value
/// of the expression is a segment (events where it is undefined are left out) and the
/// `limit` (default 60) largest segments are kept. Every segment lists every date of the
/// series, zero included.
pub(crate) fn segmentation(dataset: &Dataset, params: &Params) -> Result<Json, ApiError> {
    let event = params.required("event")?;
    let from = date_param(params, "from_date")?;
    let to = date_param(params, "to_date")?;
    check_range(from, to)?;
    let unit = Unit::parse(params.get("unit"))?;
    let count_type = CountType::parse(params.get("type").unwrap_or("general"))?;
    let limit = params.integer("limit")?.unwrap_or(60);
    if limit > 10_000 {
        return Err(ApiError::bad_request("limit must be at most 10000"));
    }
    let on = parse_expression(params, "on")?;
    let filter = parse_expression(params, "where")?;
    let buckets = Buckets::new(from, to, unit)?;
    let kinds: Vec<EventKind> = EventKind::from_name(event).into_iter().collect();
    let mut segments = tally(
        dataset,
        &TallySpec {
            kinds: &kinds,
            from,
            to,
            buckets: &buckets,
            filter: filter.as_ref(),
            on: on.as_ref(),
            uniques: count_type != CountType::General,
        },
    );
    if on.is_none() {
        // Without `on` the event is always its own segment, even with no data.
        segments
            .entry(event.to_owned())
            .or_insert_with(|| vec![(0, 0); buckets.len()]);
    }
    let ranked = top_segments(segments, limit as usize);
    Ok(segmentation_envelope(&buckets, &ranked, count_type))
}
