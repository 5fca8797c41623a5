//! What discovery calls return: typed items, read leniently (a missing field reads as empty, as the official
//! client's `dict.get` does), inside a [`Listing`] that keeps Mixpanel's answer as it came.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

/// Typed items plus the answer they were read from.
///
/// `items` follow the official client's ordering for that list (see each discovery call); [`Listing::raw`] keeps
/// Mixpanel's own order and every field, including those the typed items leave out. Serializes as the list of
/// items.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing<T> {
    items: Vec<T>,
    raw: Value,
}

impl<T> Listing<T> {
    pub(crate) fn new(items: Vec<T>, raw: Value) -> Listing<T> {
        Listing { items, raw }
    }

    /// The typed items.
    pub fn items(&self) -> &[T] {
        &self.items
    }

    /// The typed items, owned.
    pub fn into_items(self) -> Vec<T> {
        self.items
    }

    /// Mixpanel's answer, as it came.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// How many items there are.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Returns true if and only if there are no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

impl<T: Serialize> Serialize for Listing<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.items.serialize(serializer)
    }
}

fn text(item: &Value, key: &str) -> String {
    match item.get(key) {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn optional_text(item: &Value, key: &str) -> Option<String> {
    match item.get(key) {
        Some(Value::String(text)) => Some(text.clone()),
        Some(Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    }
}

fn integer(item: &Value, key: &str) -> i64 {
    optional_integer(item, key).unwrap_or(0)
}

fn optional_integer(item: &Value, key: &str) -> Option<i64> {
    match item.get(key)? {
        Value::Number(number) => number
            .as_i64()
            .or_else(|| number.as_f64().map(|float| float as i64)),
        Value::String(text) => text.parse().ok(),
        _ => None,
    }
}

fn truthy(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(flag)) => *flag,
        Some(Value::Number(number)) => number.as_f64().is_some_and(|n| n != 0.0),
        Some(Value::String(text)) => !text.is_empty(),
        Some(Value::Array(items)) => !items.is_empty(),
        Some(Value::Object(map)) => !map.is_empty(),
        Some(Value::Null) | None => false,
    }
}

/// The items of a list answer; anything that is not a list reads as no items.
pub(crate) fn list_items(raw: &Value) -> &[Value] {
    raw.as_array().map_or(&[], Vec::as_slice)
}

/// Today's count of one event, from [`crate::Discovery::top_events`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopEvent {
    /// The event name.
    pub event: String,
    /// How many times it happened today (`amount`).
    pub count: i64,
    /// The change from yesterday, as a fraction (`percent_change`).
    pub percent_change: f64,
}

/// Today's top events, from [`crate::Discovery::top_events`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopEvents {
    /// What was counted (`type`: `general`, `unique` or `average`).
    #[serde(rename = "type")]
    pub event_type: String,
    /// The events, most frequent first (Mixpanel's order).
    pub events: Vec<TopEvent>,
    #[serde(skip)]
    raw: Value,
}

impl TopEvents {
    /// Reads `{"events": [{"amount", "event", "percent_change"}], "type"}`.
    pub fn from_raw(raw: Value) -> TopEvents {
        let events = raw
            .get("events")
            .map(list_items)
            .unwrap_or_default()
            .iter()
            .map(|item| TopEvent {
                event: text(item, "event"),
                count: integer(item, "amount"),
                percent_change: item
                    .get("percent_change")
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0),
            })
            .collect();
        TopEvents {
            event_type: text(&raw, "type"),
            events,
            raw,
        }
    }

    /// Mixpanel's answer, as it came.
    pub fn raw(&self) -> &Value {
        &self.raw
    }
}

/// A saved funnel, from [`crate::Discovery::funnels`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FunnelInfo {
    /// The id to query it by (`funnel_id`).
    pub funnel_id: i64,
    /// Its name.
    pub name: String,
}

impl FunnelInfo {
    pub(crate) fn from_item(item: &Value) -> FunnelInfo {
        FunnelInfo {
            funnel_id: integer(item, "funnel_id"),
            name: text(item, "name"),
        }
    }
}

/// A saved cohort, from [`crate::Discovery::cohorts`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SavedCohort {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// How many users are in it.
    pub count: i64,
    /// Its description.
    pub description: String,
    /// When it was created, as Mixpanel writes it (`2024-01-15 10:30:00`).
    pub created: String,
    /// Whether it is shown in Mixpanel's UI (Mixpanel sends 0 or 1).
    pub is_visible: bool,
}

impl SavedCohort {
    pub(crate) fn from_item(item: &Value) -> SavedCohort {
        SavedCohort {
            id: integer(item, "id"),
            name: text(item, "name"),
            count: integer(item, "count"),
            description: text(item, "description"),
            created: text(item, "created"),
            is_visible: truthy(item.get("is_visible")),
        }
    }
}

/// A saved report (bookmark), from [`crate::Discovery::bookmarks`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BookmarkInfo {
    /// Its id, for `mp query saved-report`.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its kind: `insights`, `funnels`, `retention`, `flows` or `launch-analysis`.
    #[serde(rename = "type")]
    pub bookmark_type: String,
    /// The project it belongs to.
    pub project_id: i64,
    /// When it was created (ISO 8601, as Mixpanel writes it).
    pub created: String,
    /// When it was last changed.
    pub modified: String,
    /// The workspace (data view) it belongs to, if any.
    pub workspace_id: Option<i64>,
    /// The dashboard it is on, if any.
    pub dashboard_id: Option<i64>,
    /// Its description, if any.
    pub description: Option<String>,
    /// Who created it, if Mixpanel said.
    pub creator_id: Option<i64>,
    /// Their name, if Mixpanel said.
    pub creator_name: Option<String>,
}

impl BookmarkInfo {
    pub(crate) fn from_item(item: &Value) -> BookmarkInfo {
        BookmarkInfo {
            id: integer(item, "id"),
            name: text(item, "name"),
            bookmark_type: text(item, "type"),
            project_id: integer(item, "project_id"),
            created: text(item, "created"),
            modified: text(item, "modified"),
            workspace_id: optional_integer(item, "workspace_id"),
            dashboard_id: optional_integer(item, "dashboard_id"),
            description: optional_text(item, "description"),
            creator_id: optional_integer(item, "creator_id"),
            creator_name: optional_text(item, "creator_name"),
        }
    }
}

/// The bookmarks of a `/bookmarks` answer: `{"results": […]}`, or `{"results": {"results": […]}}`.
pub(crate) fn bookmark_items(raw: &Value) -> &[Value] {
    match raw.get("results") {
        Some(Value::Array(items)) => items,
        Some(Value::Object(inner)) => inner
            .get("results")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice),
        _ => list_items(raw),
    }
}

/// Mixpanel's own metadata about a Lexicon entry or property (`metadata["com.mixpanel"]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LexiconMetadata {
    /// Where the definition came from (`$source`).
    pub source: Option<String>,
    /// The name shown in Mixpanel's UI (`displayName`).
    pub display_name: Option<String>,
    /// Its tags.
    pub tags: Vec<String>,
    /// Whether it is hidden in the UI.
    pub hidden: bool,
    /// Whether its data is dropped at ingestion.
    pub dropped: bool,
    /// The people to ask about it.
    pub contacts: Vec<String>,
    /// The teams to ask about it (`teamContacts`).
    pub team_contacts: Vec<String>,
}

impl LexiconMetadata {
    /// `None` when there is no non-empty `com.mixpanel` entry, as in the official client.
    fn from_metadata(metadata: Option<&Value>) -> Option<LexiconMetadata> {
        let mixpanel = metadata?.get("com.mixpanel")?.as_object()?;
        if mixpanel.is_empty() {
            return None;
        }
        let value = Value::Object(mixpanel.clone());
        let strings = |key: &str| -> Vec<String> {
            value
                .get(key)
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .map(|item| {
                            item.as_str()
                                .map_or_else(|| item.to_string(), str::to_owned)
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        Some(LexiconMetadata {
            source: optional_text(&value, "$source"),
            display_name: optional_text(&value, "displayName"),
            tags: strings("tags"),
            hidden: truthy(value.get("hidden")),
            dropped: truthy(value.get("dropped")),
            contacts: strings("contacts"),
            team_contacts: strings("teamContacts"),
        })
    }
}

/// One property of a Lexicon schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LexiconProperty {
    /// Its JSON Schema type (`string` when not given).
    #[serde(rename = "type")]
    pub property_type: String,
    /// Its description, if any.
    pub description: Option<String>,
    /// Mixpanel's metadata about it, if any.
    pub metadata: Option<LexiconMetadata>,
}

/// The definition of a Lexicon entry (`schemaJson`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LexiconDefinition {
    /// Its description, if any.
    pub description: Option<String>,
    /// Its properties, by name.
    pub properties: BTreeMap<String, LexiconProperty>,
    /// Mixpanel's metadata about it, if any.
    pub metadata: Option<LexiconMetadata>,
}

impl LexiconDefinition {
    fn from_schema_json(schema_json: &Value) -> LexiconDefinition {
        let empty = Map::new();
        let properties = schema_json
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty)
            .iter()
            .map(|(name, property)| {
                let property_type = match property.get("type") {
                    Some(Value::String(text)) => text.clone(),
                    Some(Value::Null) | None => "string".to_owned(),
                    Some(other) => other.to_string(),
                };
                (
                    name.clone(),
                    LexiconProperty {
                        property_type,
                        description: optional_text(property, "description"),
                        metadata: LexiconMetadata::from_metadata(property.get("metadata")),
                    },
                )
            })
            .collect();
        LexiconDefinition {
            description: optional_text(schema_json, "description"),
            properties,
            metadata: LexiconMetadata::from_metadata(schema_json.get("metadata")),
        }
    }
}

/// A Lexicon schema (the documented shape of an event or profile), from [`crate::Discovery::lexicon_schemas`] and
/// [`crate::Discovery::lexicon_schema`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LexiconSchema {
    /// `event`, `profile`, `custom_event`, … (`entityType`).
    pub entity_type: String,
    /// The event's (or profile type's) name.
    pub name: String,
    /// The definition (`schemaJson`).
    pub schema_json: LexiconDefinition,
    #[serde(skip)]
    raw: Value,
}

impl LexiconSchema {
    /// Reads `{"entityType", "name", "schemaJson"}`.
    pub fn from_raw(raw: Value) -> LexiconSchema {
        LexiconSchema {
            entity_type: text(&raw, "entityType"),
            name: text(&raw, "name"),
            schema_json: LexiconDefinition::from_schema_json(
                raw.get("schemaJson").unwrap_or(&Value::Null),
            ),
            raw,
        }
    }

    /// The schema as Mixpanel wrote it: `{"entityType", "name", "schemaJson"}` with every field.
    pub fn raw(&self) -> &Value {
        &self.raw
    }
}

/// The schemas of a `/schemas` answer (`{"results": […]}`).
pub(crate) fn schema_items(raw: &Value) -> &[Value] {
    match raw.get("results") {
        Some(Value::Array(items)) => items,
        _ => &[],
    }
}
