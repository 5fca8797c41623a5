//! [`Discovery`]: one method per discovery endpoint of the Query API, with the parameters and defaults of Mixpanel's
//! official client (recorded in the `discovery` conformance vectors).

use serde_json::{Map, Value};

use mp_http::{ApiFamily, Client, ErrorKind, Request};

use crate::Error;
use crate::dates::{format_day, utc_day};
use crate::python_json::dumps_string_list;

/// The `from_date` sent by [`Discovery::events`] when the caller gives none: early enough to cover any project.
pub const DEFAULT_EVENTS_FROM_DATE: &str = "2000-01-01";

/// The `limit` of [`Discovery::events`] by default: the server's maximum.
pub const DEFAULT_EVENTS_LIMIT: u32 = 5000;

/// The `limit` of [`Discovery::property_values`] by default, as in the official client's low-level call.
pub const DEFAULT_PROPERTY_VALUES_LIMIT: u32 = 255;

/// Which events count: all of them, unique users, or the average per user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum EventType {
    /// Every event (`general`).
    #[default]
    General,
    /// Unique users (`unique`).
    Unique,
    /// Events per user (`average`).
    Average,
}

impl EventType {
    /// The wire spelling: `general`, `unique` or `average`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::General => "general",
            EventType::Unique => "unique",
            EventType::Average => "average",
        }
    }
}

impl std::str::FromStr for EventType {
    type Err = String;

    fn from_str(text: &str) -> Result<EventType, String> {
        match text.to_ascii_lowercase().as_str() {
            "general" => Ok(EventType::General),
            "unique" => Ok(EventType::Unique),
            "average" => Ok(EventType::Average),
            _ => Err(format!(
                "`{text}` is not an event type (general, unique or average)"
            )),
        }
    }
}

/// What [`Discovery::events`] asks for. The defaults are Mixpanel's: every event type, 5000 names, from 2000-01-01
/// to today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsOptions {
    /// `type` (default [`EventType::General`]).
    pub event_type: EventType,
    /// `limit` (default [`DEFAULT_EVENTS_LIMIT`]).
    pub limit: u32,
    /// `from_date`; `None` sends [`DEFAULT_EVENTS_FROM_DATE`] and allows the date-range fallback (see
    /// [`Discovery::events`]). `Some("")` is sent as an empty value.
    pub from_date: Option<String>,
    /// `to_date`; `None` sends today (UTC, on the client's clock).
    pub to_date: Option<String>,
}

impl Default for EventsOptions {
    fn default() -> EventsOptions {
        EventsOptions {
            event_type: EventType::General,
            limit: DEFAULT_EVENTS_LIMIT,
            from_date: None,
            to_date: None,
        }
    }
}

/// What [`Discovery::property_values`] asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyValuesOptions {
    /// The property whose values are listed (`name`).
    pub property: String,
    /// Only values seen on this event (`event`), if given.
    pub event: Option<String>,
    /// At most this many values (`limit`, default [`DEFAULT_PROPERTY_VALUES_LIMIT`]).
    pub limit: u32,
}

impl PropertyValuesOptions {
    /// The values of `property` over all events, up to the default limit.
    pub fn new(property: impl Into<String>) -> PropertyValuesOptions {
        PropertyValuesOptions {
            property: property.into(),
            event: None,
            limit: DEFAULT_PROPERTY_VALUES_LIMIT,
        }
    }
}

/// What [`Discovery::top_events`] asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopEventsOptions {
    /// `type` (default [`EventType::General`]).
    pub event_type: EventType,
    /// `limit`; `None` leaves the server's default.
    pub limit: Option<u32>,
}

/// What [`Discovery::property_counts`] asks for: how often each value of a property occurred on an event, per time
/// unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyCountsOptions {
    /// The event (`event`).
    pub event: String,
    /// The property (`name`).
    pub property: String,
    /// First day, `YYYY-MM-DD` (`from_date`).
    pub from_date: String,
    /// Last day, `YYYY-MM-DD` (`to_date`).
    pub to_date: String,
    /// `type` (default [`EventType::General`]).
    pub event_type: EventType,
    /// `unit`: `minute`, `hour`, `day` (default), `week` or `month`.
    pub unit: String,
    /// Only these values (`values`, sent as a JSON list), if given.
    pub values: Option<Vec<String>>,
    /// At most this many values (`limit`), if given.
    pub limit: Option<u32>,
}

impl PropertyCountsOptions {
    /// Counts of `property` on `event` from `from_date` to `to_date`, per day, every value.
    pub fn new(
        event: impl Into<String>,
        property: impl Into<String>,
        from_date: impl Into<String>,
        to_date: impl Into<String>,
    ) -> PropertyCountsOptions {
        PropertyCountsOptions {
            event: event.into(),
            property: property.into(),
            from_date: from_date.into(),
            to_date: to_date.into(),
            event_type: EventType::General,
            unit: "day".to_owned(),
            values: None,
            limit: None,
        }
    }
}

/// The discovery service: what a project contains.
///
/// Cheap to clone (the client is shared). Every method sends Query API requests through the client, which adds
/// `project_id`, `query_origin` and a pinned `workspace_id`, authenticates, and retries per its policy.
#[derive(Debug, Clone)]
pub struct Discovery {
    client: Client,
}

impl Discovery {
    /// A discovery service over `client`.
    pub fn new(client: Client) -> Discovery {
        Discovery { client }
    }

    /// The client requests go through.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The project's event names (`GET /events/names`), in the order Mixpanel returns them.
    ///
    /// Note that projects on plans with a limited history answer a `from_date` that is too old with a 403 saying
    /// "… exceeds N days …". When the caller gave no `from_date` (so the 2000-01-01 default caused it), the request
    /// is sent once more with `from_date` = today − N days, as the official client does. Any other error, or the
    /// same 403 after a caller's own `from_date`, is returned as is.
    pub async fn events(&self, options: &EventsOptions) -> Result<Vec<String>, Error> {
        let today = utc_day(self.client.clock().now());
        let to_date = options.to_date.clone().unwrap_or_else(|| format_day(today));
        let from_date = options
            .from_date
            .clone()
            .unwrap_or_else(|| DEFAULT_EVENTS_FROM_DATE.to_owned());
        let first = self.event_names(options, &from_date, &to_date).await;
        let error = match first {
            Ok(names) => return Ok(names),
            Err(error) if options.from_date.is_some() => return Err(error),
            Err(error) => error,
        };
        let Some(n_days) = date_range_limit_days(error.http_error()) else {
            return Err(error);
        };
        let from_date = format_day(today.saturating_sub(n_days));
        tracing::debug!(n_days, %from_date, "history is limited; asking for event names again");
        self.event_names(options, &from_date, &to_date).await
    }

    async fn event_names(
        &self,
        options: &EventsOptions,
        from_date: &str,
        to_date: &str,
    ) -> Result<Vec<String>, Error> {
        const ENDPOINT: &str = "/events/names";
        let request = Request::get(ApiFamily::Query, ENDPOINT)
            .param("type", options.event_type.as_str())
            .param("limit", options.limit)
            .param("from_date", from_date)
            .param("to_date", to_date);
        self.client
            .json(request)
            .await
            .map_err(|source| Error::request(ENDPOINT, source))
    }

    /// The names of the properties seen on `event` (`GET /events/properties/top`), in the order Mixpanel returns
    /// them.
    pub async fn event_properties(&self, event: &str) -> Result<Vec<String>, Error> {
        const ENDPOINT: &str = "/events/properties/top";
        let request = Request::get(ApiFamily::Query, ENDPOINT).param("event", event);
        let properties: Map<String, Value> = self
            .client
            .json(request)
            .await
            .map_err(|source| Error::request(ENDPOINT, source))?;
        Ok(properties.into_iter().map(|(name, _)| name).collect())
    }

    /// Values of a property (`GET /events/properties/values`), in the order Mixpanel returns them. Values that are
    /// not strings are returned as their JSON text.
    pub async fn property_values(
        &self,
        options: &PropertyValuesOptions,
    ) -> Result<Vec<String>, Error> {
        const ENDPOINT: &str = "/events/properties/values";
        let mut request = Request::get(ApiFamily::Query, ENDPOINT)
            .param("name", options.property.as_str())
            .param("limit", options.limit);
        if let Some(event) = &options.event {
            request = request.param("event", event.as_str());
        }
        let values: Vec<Value> = self
            .client
            .json(request)
            .await
            .map_err(|source| Error::request(ENDPOINT, source))?;
        Ok(values
            .into_iter()
            .map(|value| match value {
                Value::String(text) => text,
                other => other.to_string(),
            })
            .collect())
    }

    /// Today's most frequent events (`GET /events/top`): Mixpanel's answer as is,
    /// `{"events": [{"amount", "event", "percent_change"}, …], "type": …}`.
    pub async fn top_events(&self, options: &TopEventsOptions) -> Result<Value, Error> {
        const ENDPOINT: &str = "/events/top";
        let mut request =
            Request::get(ApiFamily::Query, ENDPOINT).param("type", options.event_type.as_str());
        if let Some(limit) = options.limit {
            request = request.param("limit", limit);
        }
        self.client
            .json(request)
            .await
            .map_err(|source| Error::request(ENDPOINT, source))
    }

    /// How often each value of a property occurred on an event (`GET /events/properties`): Mixpanel's answer as is,
    /// `{"data": {"series": […], "values": {value: {date: count}}}, "legend_size": n}`.
    pub async fn property_counts(&self, options: &PropertyCountsOptions) -> Result<Value, Error> {
        const ENDPOINT: &str = "/events/properties";
        let mut request = Request::get(ApiFamily::Query, ENDPOINT)
            .param("event", options.event.as_str())
            .param("name", options.property.as_str())
            .param("from_date", options.from_date.as_str())
            .param("to_date", options.to_date.as_str())
            .param("type", options.event_type.as_str())
            .param("unit", options.unit.as_str());
        if let Some(values) = &options.values {
            request = request.param("values", dumps_string_list(values));
        }
        if let Some(limit) = options.limit {
            request = request.param("limit", limit);
        }
        self.client
            .json(request)
            .await
            .map_err(|source| Error::request(ENDPOINT, source))
    }
}

/// The N of a 403 whose message says the date range "exceeds N days", if that is what `error` is.
fn date_range_limit_days(error: &mp_http::Error) -> Option<i64> {
    if *error.kind() != ErrorKind::Permission || error.status() != Some(403) {
        return None;
    }
    let message = error.server_message()?;
    let (_, after) = message.split_once("exceeds ")?;
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() || !after[digits.len()..].starts_with(" days") {
        return None;
    }
    digits.parse().ok()
}
