//! `/api/query/stream/query`: the activity feed (event history) of some users.

use std::collections::HashSet;

use serde_json::{Map, Value as Json, json};

use crate::civil::SECONDS_PER_DAY;
use crate::dataset::{Dataset, Event};
use crate::expr::Value;
use crate::http_util::{ApiError, Params};
use crate::query::{check_range, optional_date_param};

/// At most this many distinct ids per request (the feed is for looking at a few users).
const MAX_DISTINCT_IDS: usize = 1000;

/// `GET /api/query/stream/query`: `{"status": "ok", "results": {"events": [...]}}`, the events
/// of the users in `distinct_ids` (a JSON array) between `from_date` and `to_date`, oldest
/// first. Each event's `properties` hold `time`, `$distinct_id`, then the properties export
/// shows (without export's `mp_processing_time_ms`). The spec marks the dates required;
/// Mixpanel's client omits them when the caller does, so without them the whole window is
/// searched.
pub(crate) fn query(dataset: &Dataset, params: &Params) -> Result<Json, ApiError> {
    let ids = params
        .string_array("distinct_ids")?
        .ok_or_else(|| ApiError::bad_request("Missing required parameter: distinct_ids"))?;
    if ids.len() > MAX_DISTINCT_IDS {
        return Err(ApiError::bad_request(format!(
            "distinct_ids may hold at most {MAX_DISTINCT_IDS} ids"
        )));
    }
    let from = optional_date_param(params, "from_date")?.unwrap_or(dataset.first_day());
    let to = optional_date_param(params, "to_date")?.unwrap_or(dataset.last_day());
    check_range(from, to)?;
    let requested: HashSet<&str> = ids.iter().map(String::as_str).collect();
    // Sorted, because users are visited in index order.
    let wanted: Vec<u32> = dataset
        .users()
        .iter()
        .enumerate()
        .filter(|(_, user)| requested.contains(&*user.distinct_id))
        .map(|(index, _)| index as u32)
        .collect();
    // The feed scans the range even for one user: events are generated per hour, not indexed
    // by user.
    let mut events = Vec::new();
    if !wanted.is_empty() {
        dataset.for_each_event_in(
            from * SECONDS_PER_DAY,
            (to + 1) * SECONDS_PER_DAY,
            |event| {
                if wanted.binary_search(&event.user).is_ok() {
                    events.push(event_json(dataset, event));
                }
            },
        );
    }
    Ok(json!({"status": "ok", "results": {"events": events}}))
}

/// One event of the feed.
fn event_json(dataset: &Dataset, event: &Event) -> Json {
    let mut properties = Map::new();
    properties.insert("time".to_owned(), json!(event.time));
    properties.insert(
        "$distinct_id".to_owned(),
        json!(&*dataset.user(event.user).distinct_id),
    );
    for name in Dataset::property_names(event.kind) {
        if matches!(name, "time" | "distinct_id" | "mp_processing_time_ms") {
            continue;
        }
        properties.insert(
            name.to_owned(),
            value_json(dataset.event_property(event, name)),
        );
    }
    json!({"event": event.kind.name(), "properties": properties})
}

/// Converts an expression value to JSON (integral numbers without a fraction).
pub(crate) fn value_json(value: Value) -> Json {
    match value {
        Value::Undefined => Json::Null,
        Value::Bool(value) => json!(value),
        Value::Num(value) if value.fract() == 0.0 && value.abs() < 1e15 => json!(value as i64),
        Value::Num(value) => json!(value),
        Value::Str(value) => json!(value),
        Value::List(items) => Json::Array(items.into_iter().map(value_json).collect()),
    }
}
