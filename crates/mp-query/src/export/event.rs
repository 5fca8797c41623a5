//! One exported event, in a borrowed form ([`EventRef`], for speed) and an owned, typed form ([`Event`]).
//!
//! A raw export line is `{"event": "<name>", "properties": {"time": <unix>, "distinct_id": …, "$insert_id": …, …}}`.
//! Both forms lift `time`, `distinct_id` and `$insert_id` out of `properties`, as the official client's
//! `transform_event` does, but neither invents anything: an event without `$insert_id` has `insert_id: None`
//! (the official client makes up a random UUID), and a `distinct_id` written as a number keeps its digits as text.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use serde_json::{Map, Value};

use crate::Error;

/// An exported event, borrowing from its line: parsing it allocates only for strings with escapes, and skips the
/// other properties without building them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRef<'a> {
    /// The event name (`event`).
    pub name: Cow<'a, str>,
    /// `properties.time`: Unix seconds, or milliseconds when the export asked for `time_in_ms`.
    pub time: i64,
    /// `properties.distinct_id`, if present and not null.
    pub distinct_id: Option<Cow<'a, str>>,
    /// `properties.$insert_id`, if present and not null.
    pub insert_id: Option<Cow<'a, str>>,
    /// The whole line, exactly as Mixpanel sent it.
    pub line: &'a [u8],
}

impl<'a> EventRef<'a> {
    /// Parses one export line.
    pub fn parse(line: &'a [u8]) -> Result<EventRef<'a>, Error> {
        let wire: WireEventRef<'a> =
            serde_json::from_slice(line).map_err(|error| malformed(line, error.to_string()))?;
        let time = wire
            .properties
            .time
            .ok_or_else(|| malformed(line, "`properties.time` is missing".to_owned()))?;
        Ok(EventRef {
            name: wire.event,
            time: time.0,
            distinct_id: wire.properties.distinct_id.map(|id| id.0),
            insert_id: wire.properties.insert_id.map(|id| id.0),
            line,
        })
    }

    /// The owned, typed form (parses the properties).
    pub fn to_event(&self) -> Result<Event, Error> {
        Event::parse(self.line)
    }
}

/// An exported event with its properties parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The event name (`event`).
    pub name: String,
    /// `properties.time`: Unix seconds, or milliseconds when the export asked for `time_in_ms`.
    pub time: i64,
    /// `properties.distinct_id`, if present and not null.
    pub distinct_id: Option<String>,
    /// `properties.$insert_id`, if present and not null.
    pub insert_id: Option<String>,
    /// Every other property, in the order Mixpanel sent them.
    pub properties: Map<String, Value>,
}

impl Event {
    /// Parses one export line.
    pub fn parse(line: &[u8]) -> Result<Event, Error> {
        let wire: WireEvent =
            serde_json::from_slice(line).map_err(|error| malformed(line, error.to_string()))?;
        let mut properties = wire.properties;
        let time = match properties.shift_remove("time") {
            Some(Value::Number(number)) => number.as_i64().ok_or_else(|| {
                malformed(
                    line,
                    format!("`properties.time` is {number}, not an integer"),
                )
            })?,
            Some(other) => {
                return Err(malformed(
                    line,
                    format!("`properties.time` is {other}, not an integer"),
                ));
            }
            None => return Err(malformed(line, "`properties.time` is missing".to_owned())),
        };
        let distinct_id = lift_id(&mut properties, "distinct_id", line)?;
        let insert_id = lift_id(&mut properties, "$insert_id", line)?;
        Ok(Event {
            name: wire.event,
            time,
            distinct_id,
            insert_id,
            properties,
        })
    }

    /// The event as an export line would hold it: `time`, `distinct_id` and `$insert_id` first in `properties`.
    pub fn to_json(&self) -> Value {
        let mut properties = Map::new();
        properties.insert("time".to_owned(), Value::from(self.time));
        if let Some(distinct_id) = &self.distinct_id {
            properties.insert("distinct_id".to_owned(), Value::from(distinct_id.as_str()));
        }
        if let Some(insert_id) = &self.insert_id {
            properties.insert("$insert_id".to_owned(), Value::from(insert_id.as_str()));
        }
        for (key, value) in &self.properties {
            properties.insert(key.clone(), value.clone());
        }
        serde_json::json!({"event": self.name, "properties": properties})
    }
}

/// Removes `key` from `properties`: a string as is, a number as its digits, null or absent as `None`.
fn lift_id(
    properties: &mut Map<String, Value>,
    key: &str,
    line: &[u8],
) -> Result<Option<String>, Error> {
    match properties.shift_remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(Value::Number(number)) => Ok(Some(number.to_string())),
        Some(other) => Err(malformed(
            line,
            format!("`properties.{key}` is {other}, not a string"),
        )),
    }
}

pub(crate) fn malformed(line: &[u8], reason: String) -> Error {
    Error::MalformedEvent {
        line: preview(line),
        reason,
    }
}

/// The first 100 characters of a line, for messages.
pub(crate) fn preview(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    match text.char_indices().nth(100) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.into_owned(),
    }
}

#[derive(Deserialize)]
struct WireEvent {
    event: String,
    properties: Map<String, Value>,
}

#[derive(Deserialize)]
struct WireEventRef<'a> {
    #[serde(borrow)]
    event: Cow<'a, str>,
    #[serde(borrow)]
    properties: WirePropertiesRef<'a>,
}

/// The three lifted properties; every other key is skipped unparsed.
#[derive(Deserialize)]
struct WirePropertiesRef<'a> {
    #[serde(default)]
    time: Option<IntegerTime>,
    #[serde(default, borrow)]
    distinct_id: Option<IdRef<'a>>,
    #[serde(default, borrow, rename = "$insert_id")]
    insert_id: Option<IdRef<'a>>,
}

/// An integer `time`.
struct IntegerTime(i64);

impl<'de> Deserialize<'de> for IntegerTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<IntegerTime, D::Error> {
        struct TimeVisitor;
        impl Visitor<'_> for TimeVisitor {
            type Value = IntegerTime;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer `time`")
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<IntegerTime, E> {
                Ok(IntegerTime(value))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<IntegerTime, E> {
                i64::try_from(value)
                    .map(IntegerTime)
                    .map_err(|_| E::custom("`time` is out of range"))
            }
        }
        deserializer.deserialize_any(TimeVisitor)
    }
}

/// A string id borrowed from the line when it has no escapes; a number id as its digits.
struct IdRef<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for IdRef<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<IdRef<'a>, D::Error> {
        struct IdVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for IdVisitor<'a> {
            type Value = IdRef<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<IdRef<'a>, E> {
                Ok(IdRef(Cow::Borrowed(value)))
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<IdRef<'a>, E> {
                Ok(IdRef(Cow::Owned(value.to_owned())))
            }
            fn visit_string<E: de::Error>(self, value: String) -> Result<IdRef<'a>, E> {
                Ok(IdRef(Cow::Owned(value)))
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<IdRef<'a>, E> {
                Ok(IdRef(Cow::Owned(value.to_string())))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<IdRef<'a>, E> {
                Ok(IdRef(Cow::Owned(value.to_string())))
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<IdRef<'a>, E> {
                // The same digits serde_json's own number formatting gives.
                Ok(IdRef(Cow::Owned(Value::from(value).to_string())))
            }
        }
        deserializer.deserialize_any(IdVisitor(std::marker::PhantomData))
    }
}
