//! The segmentation variants (`/segmentation/numeric`, `/segmentation/sum`,
//! `/segmentation/average`) and the event breakdowns (`/events`, `/events/properties`).
//!
//! All of them fold the same generated events as `/segmentation` (through [`tally`] where
//! they can), so their totals agree with it and with export by construction.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value as Json, json};

use crate::catalog::EventKind;
use crate::civil;
use crate::dataset::{Dataset, EventView};
use crate::expr::{Expr, Value};
use crate::http_util::{ApiError, Params};
use crate::query::{
    Buckets, CountType, TallySpec, Unit, check_range, date_param, day_indices, parse_expression,
    segmentation_envelope, tally, top_segments,
};

/// The most numeric buckets `/segmentation/numeric` aims for.
const TARGET_NUMERIC_BUCKETS: f64 = 10.0;

/// Parses a required expression parameter (`on` of the numeric variants).
fn required_expression(params: &Params, name: &str) -> Result<Expr, ApiError> {
    Expr::parse(params.required(name)?)
        .map_err(|error| ApiError::bad_request(format!("invalid {name} expression: {error}")))
}

/// The date range of `/events` and `/events/properties`: `from_date`/`to_date`, or
/// `interval` units ending with the sandbox's "today" (the window's last day).
fn breakdown_range(dataset: &Dataset, params: &Params, unit: Unit) -> Result<(i64, i64), ApiError> {
    if params.get("from_date").is_none()
        && params.get("to_date").is_none()
        && let Some(interval) = params.integer("interval")?
    {
        if interval == 0 || interval > 10_000 {
            return Err(ApiError::bad_request(
                "interval must be between 1 and 10000",
            ));
        }
        let to = dataset.last_day();
        let mut from = unit.bucket_start(to);
        for _ in 1..interval {
            from = unit.bucket_start(from - 1);
        }
        return Ok((from, to));
    }
    let from = date_param(params, "from_date")?;
    let to = date_param(params, "to_date")?;
    check_range(from, to)?;
    Ok((from, to))
}

/// `GET /api/query/events`: counts of several events (`event` is a JSON array) per bucket,
/// in the segmentation envelope with one segment per requested event. An event the project
/// never saw is listed with zeros, as Mixpanel lists it.
pub(crate) fn event_counts(dataset: &Dataset, params: &Params) -> Result<Json, ApiError> {
    let names = params
        .string_array("event")?
        .ok_or_else(|| ApiError::bad_request("Missing required parameter: event"))?;
    let count_type = CountType::parse(params.get("type").unwrap_or("general"))?;
    let unit = Unit::parse(params.get("unit"))?;
    let (from, to) = breakdown_range(dataset, params, unit)?;
    let buckets = Buckets::new(from, to, unit)?;
    let kinds: Vec<EventKind> = names
        .iter()
        .filter_map(|name| EventKind::from_name(name))
        .collect();
    let mut segments = tally(
        dataset,
        &TallySpec {
            kinds: &kinds,
            from,
            to,
            buckets: &buckets,
            filter: None,
            on: None,
            uniques: count_type != CountType::General,
        },
    );
    // Mixpanel lists every requested event, even one it never saw, with zeros.
    for name in &names {
        segments
            .entry(name.clone())
            .or_insert_with(|| vec![(0, 0); buckets.len()]);
    }
    let ranked = top_segments(segments, usize::MAX);
    Ok(segmentation_envelope(&buckets, &ranked, count_type))
}

/// `GET /api/query/events/properties`: counts of one event per value of one property, the
/// `limit` (default 255) most common values, or only the JSON array `values` if given.
pub(crate) fn property_counts(dataset: &Dataset, params: &Params) -> Result<Json, ApiError> {
    let event = params.required("event")?;
    let name = params.required("name")?;
    let count_type = CountType::parse(params.get("type").unwrap_or("general"))?;
    let unit = Unit::parse(params.get("unit"))?;
    let (from, to) = breakdown_range(dataset, params, unit)?;
    let limit = params.integer("limit")?.unwrap_or(255);
    if limit > 10_000 {
        return Err(ApiError::bad_request("limit must be at most 10000"));
    }
    let only = params.string_array("values")?;
    let buckets = Buckets::new(from, to, unit)?;
    let on = Expr::Property(crate::expr::Scope::Properties, name.to_owned());
    let kinds: Vec<EventKind> = EventKind::from_name(event).into_iter().collect();
    let mut segments = tally(
        dataset,
        &TallySpec {
            kinds: &kinds,
            from,
            to,
            buckets: &buckets,
            filter: None,
            on: Some(&on),
            uniques: count_type != CountType::General,
        },
    );
    if let Some(only) = &only {
        segments.retain(|value, _| only.contains(value));
        for value in only {
            segments
                .entry(value.clone())
                .or_insert_with(|| vec![(0, 0); buckets.len()]);
        }
    }
    let ranked = top_segments(segments, limit as usize);
    Ok(segmentation_envelope(&buckets, &ranked, count_type))
}

/// The parameters the three numeric variants share.
struct NumericQuery {
    kind: Option<EventKind>,
    from: i64,
    to: i64,
    buckets: Buckets,
    on: Expr,
    filter: Option<Expr>,
}

impl NumericQuery {
    fn parse(params: &Params) -> Result<NumericQuery, ApiError> {
        let event = params.required("event")?;
        let from = date_param(params, "from_date")?;
        let to = date_param(params, "to_date")?;
        check_range(from, to)?;
        let unit = Unit::parse(params.get("unit"))?;
        let on = required_expression(params, "on")?;
        let filter = parse_expression(params, "where")?;
        Ok(NumericQuery {
            kind: EventKind::from_name(event),
            from,
            to,
            buckets: Buckets::new(from, to, unit)?,
            on,
            filter,
        })
    }

    /// Calls `visit(bucket, user, value of on)` for every matching event of the range.
    fn for_each(&self, dataset: &Dataset, mut visit: impl FnMut(usize, u32, Value)) {
        let Some(kind) = self.kind else {
            return;
        };
        let mut scratch = Vec::new();
        for day_index in day_indices(dataset, self.from, self.to) {
            let bucket = self
                .buckets
                .index_of_day(dataset.first_day() + day_index as i64);
            dataset.for_each_event_of_day(day_index, &mut scratch, |event| {
                if event.kind != kind {
                    return;
                }
                let view = EventView { dataset, event };
                if self
                    .filter
                    .as_ref()
                    .is_some_and(|filter| !filter.matches(&view))
                {
                    return;
                }
                visit(bucket, event.user, self.on.eval(&view));
            });
        }
    }

    /// Returns a map from every date of the series to a value.
    fn by_date(&self, values: impl Iterator<Item = Json>) -> Json {
        let mut results = Map::new();
        for (date, value) in self.buckets.series().into_iter().zip(values) {
            results.insert(date, value);
        }
        Json::Object(results)
    }
}

/// Rounds away the float noise of long sums (`0.1 + 0.2`), keeping six decimals.
fn round6(value: f64) -> f64 {
    (value * 1e6).round() / 1e6
}

/// `GET /api/query/segmentation/sum`: the sum of `on` over the matching events per bucket,
/// `{"status": "ok", "computed_at": …, "results": {date: sum}}`. As the reference says, a
/// value that is not numeric counts as 0.
pub(crate) fn sum(dataset: &Dataset, params: &Params) -> Result<Json, ApiError> {
    let query = NumericQuery::parse(params)?;
    let mut sums = vec![0.0f64; query.buckets.len()];
    query.for_each(dataset, |bucket, _, value| {
        if let Value::Num(number) = value {
            sums[bucket] += number;
        }
    });
    Ok(json!({
        "status": "ok",
        "computed_at": computed_at(dataset),
        "results": query.by_date(sums.into_iter().map(|sum| json!(round6(sum)))),
    }))
}

/// `GET /api/query/segmentation/average`: the mean of `on` over the matching events per
/// bucket (0 for a bucket without events), `{"results": {date: average}, "status": "ok"}`.
pub(crate) fn average(dataset: &Dataset, params: &Params) -> Result<Json, ApiError> {
    let query = NumericQuery::parse(params)?;
    let mut sums = vec![(0.0f64, 0u64); query.buckets.len()];
    query.for_each(dataset, |bucket, _, value| {
        if let Value::Num(number) = value {
            sums[bucket].0 += number;
        }
        sums[bucket].1 += 1;
    });
    let averages = sums.into_iter().map(|(sum, n)| {
        if n == 0 {
            json!(0)
        } else {
            json!(round6(sum / n as f64))
        }
    });
    Ok(json!({
        "results": query.by_date(averages),
        "status": "ok",
    }))
}

/// `GET /api/query/segmentation/numeric`: events per numeric bucket of `on` per date, in the
/// segmentation envelope, keyed by labels such as `"0 - 50"` or `"2,000 - 2,100"`.
///
/// The bucket width is the smallest of 1, 2 or 5 times a power of ten that splits the range
/// of values into at most about ten buckets; bucket `k` holds values in
/// `[k·width, (k+1)·width)`. Events whose `on` value is not a number are left out.
pub(crate) fn numeric(dataset: &Dataset, params: &Params) -> Result<Json, ApiError> {
    let query = NumericQuery::parse(params)?;
    let count_type = CountType::parse(params.get("type").unwrap_or("general"))?;
    // Two passes: the bucket width depends on the range of all values, so the values are
    // collected first (matching events only), then counted.
    let mut values: Vec<(usize, u32, f64)> = Vec::new();
    query.for_each(dataset, |bucket, user, value| {
        if let Value::Num(number) = value
            && number.is_finite()
        {
            values.push((bucket, user, number));
        }
    });
    let Some(width) = bucket_width(values.iter().map(|value| value.2)) else {
        return Ok(segmentation_envelope(&query.buckets, &[], count_type));
    };
    let mut tally: HashMap<i64, Vec<(u64, u64)>> = HashMap::new();
    let mut seen: HashSet<(i64, usize, u32)> = HashSet::new();
    for (bucket, user, value) in values {
        let index = (value / width).floor() as i64;
        let counts = tally
            .entry(index)
            .or_insert_with(|| vec![(0, 0); query.buckets.len()]);
        counts[bucket].0 += 1;
        if seen.insert((index, bucket, user)) {
            counts[bucket].1 += 1;
        }
    }
    let mut ordered: Vec<(i64, Vec<(u64, u64)>)> = tally.into_iter().collect();
    ordered.sort_by_key(|(index, _)| *index);
    let segments: Vec<(String, Vec<(u64, u64)>)> = ordered
        .into_iter()
        .map(|(index, counts)| {
            let low = index as f64 * width;
            let label = format!("{} - {}", grouped_number(low), grouped_number(low + width));
            (label, counts)
        })
        .collect();
    Ok(segmentation_envelope(&query.buckets, &segments, count_type))
}

/// Chooses the numeric bucket width for a set of values, or `None` when there are none.
fn bucket_width(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
    for value in values {
        min = min.min(value);
        max = max.max(value);
    }
    if min > max {
        return None;
    }
    let range = max - min;
    if range == 0.0 {
        return Some(1.0);
    }
    let raw = range / TARGET_NUMERIC_BUCKETS;
    // Start one decade below the raw width so that 1, 2, 5 × 10^k cover it in order.
    let mut magnitude = 10f64.powf(raw.log10().floor());
    loop {
        for factor in [1.0, 2.0, 5.0] {
            let width = factor * magnitude;
            if width >= raw {
                return Some(width);
            }
        }
        magnitude *= 10.0;
    }
}

/// Formats a bucket bound with thousands separators (`2,000`), and decimals only when the
/// bound has some (`0.5`).
fn grouped_number(value: f64) -> String {
    let value = (value * 1e9).round() / 1e9;
    if value.fract() != 0.0 {
        return format!("{value}");
    }
    let digits = format!("{}", value.abs() as i64);
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if value < 0.0 {
        grouped.insert(0, '-');
    }
    grouped
}

/// The `computed_at` of answers that carry one: the sandbox's "now" (midnight after the
/// window), in Mixpanel's form with microseconds and an offset, so answers stay
/// deterministic.
pub(crate) fn computed_at(dataset: &Dataset) -> String {
    format!("{}.000000+00:00", civil::format_datetime(dataset.now()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_widths_are_round_numbers() {
        assert_eq!(bucket_width([4.99, 248.99].into_iter()), Some(50.0));
        assert_eq!(bucket_width([2000.0, 2480.0].into_iter()), Some(50.0));
        assert_eq!(bucket_width([0.0, 1000.0].into_iter()), Some(100.0));
        let small = bucket_width([0.1, 0.3].into_iter()).unwrap();
        assert!((small - 0.02).abs() < 1e-12, "{small}");
        assert_eq!(bucket_width([7.0].into_iter()), Some(1.0));
        assert_eq!(bucket_width(std::iter::empty()), None);
    }

    #[test]
    fn bucket_labels_group_thousands() {
        assert_eq!(grouped_number(2000.0), "2,000");
        assert_eq!(grouped_number(1_234_567.0), "1,234,567");
        assert_eq!(grouped_number(0.0), "0");
        assert_eq!(grouped_number(-1500.0), "-1,500");
        assert_eq!(grouped_number(0.5), "0.5");
        assert_eq!(grouped_number(0.1 + 0.2), "0.3");
    }
}
