//! The result of an activity feed query: a few users' events, oldest first as Mixpanel sends them.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::dates::iso_utc;
use crate::json_util::list_at;
use crate::{Error, Table};

/// One event of an [`ActivityFeedResult`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserEvent {
    /// The event name.
    pub event: String,
    /// When it happened, in Unix seconds (`properties.time`).
    pub time: i64,
    /// Every property, `time` and `$distinct_id` included.
    pub properties: Map<String, Value>,
}

impl UserEvent {
    /// The user the event belongs to: `$distinct_id`, else `distinct_id`.
    pub fn distinct_id(&self) -> Option<&Value> {
        self.properties
            .get("$distinct_id")
            .or_else(|| self.properties.get("distinct_id"))
    }

    /// `time` as an ISO 8601 UTC timestamp (`2024-01-01T12:00:00+00:00`).
    pub fn time_iso(&self) -> String {
        iso_utc(self.time)
    }
}

/// What [`crate::LiveQuery::activity_feed`] returns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActivityFeedResult {
    /// The users asked for.
    pub distinct_ids: Vec<String>,
    /// First day, if one was given.
    pub from_date: Option<String>,
    /// Last day, if one was given.
    pub to_date: Option<String>,
    /// How many events came back.
    pub event_count: usize,
    /// The events (`results.events`).
    pub events: Vec<UserEvent>,
    #[serde(skip)]
    raw: Value,
}

impl ActivityFeedResult {
    /// Reads Mixpanel's answer `{"status", "results": {"events": [{"event", "properties": {"time", …}}]}}`. An event
    /// without a numeric `properties.time` is an [`Error::UnexpectedResponse`], as in the official client.
    pub fn from_raw(
        raw: Value,
        distinct_ids: Vec<String>,
        from_date: Option<String>,
        to_date: Option<String>,
    ) -> Result<ActivityFeedResult, Error> {
        let empty = Value::Null;
        let results = raw.get("results").unwrap_or(&empty);
        let mut events = Vec::new();
        for (index, item) in list_at(results, "events").iter().enumerate() {
            let properties = item
                .get("properties")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let time = match properties.get("time") {
                Some(Value::Number(time)) => time
                    .as_i64()
                    .or_else(|| time.as_f64().map(|seconds| seconds.floor() as i64)),
                _ => None,
            };
            let Some(time) = time else {
                return Err(Error::UnexpectedResponse {
                    endpoint: "/stream/query",
                    reason: format!("event {index} has no numeric `properties.time`"),
                });
            };
            let event = match item.get("event") {
                Some(Value::String(name)) => name.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            events.push(UserEvent {
                event,
                time,
                properties,
            });
        }
        Ok(ActivityFeedResult {
            distinct_ids,
            from_date,
            to_date,
            event_count: events.len(),
            events,
            raw,
        })
    }

    /// Mixpanel's answer, as it came.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// One row per event: `event`, `time` (ISO 8601, UTC), `distinct_id`, then one column per other property, in
    /// first-seen order.
    pub fn table(&self) -> Table {
        const OWN: [&str; 3] = ["time", "$distinct_id", "distinct_id"];
        let mut property_names: Vec<&String> = Vec::new();
        for event in &self.events {
            for name in event.properties.keys() {
                if !OWN.contains(&name.as_str()) && !property_names.contains(&name) {
                    property_names.push(name);
                }
            }
        }
        let mut headers = vec![
            "event".to_owned(),
            "time".to_owned(),
            "distinct_id".to_owned(),
        ];
        headers.extend(property_names.iter().map(|name| (*name).clone()));
        let mut table = Table::new(headers);
        for event in &self.events {
            let mut row = vec![
                Value::from(event.event.as_str()),
                Value::from(event.time_iso()),
                event.distinct_id().cloned().unwrap_or(Value::Null),
            ];
            row.extend(
                property_names
                    .iter()
                    .map(|name| event.properties.get(*name).cloned().unwrap_or(Value::Null)),
            );
            table.push_row(row);
        }
        table
    }
}
