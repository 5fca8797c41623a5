//! Bindings of the streaming and engage apis (issue 5): `mp_query::Export` and `mp_query::Engage`.
//!
//! | api | our call | result |
//! |---|---|---|
//! | `api_client.export_events` | `Export::events`, drained with `EventStream::next_raw` (`on_batch` through `EventStream::with_on_batch(1000, …)`) | every line parsed as JSON |
//! | `api_client.export_profiles_page` | `Engage::page` | the official `ProfilePageResult`: `{has_more, page, page_size, profiles, session_id, total}` |
//! | `api_client.export_profiles` | `Engage::profiles`, one page at a time (`on_batch` through `ProfileStream::with_on_batch`) | every profile |
//! | `api_client.engage_stats` | `Engage::stats` | the answer object |
//!
//! Deliberate differences, which fail the vectors that record the official behaviour rather than being hidden:
//!
//! - A raw export line that is not a JSON object is an error (`EventStream` treats it as a broken stream), where
//!   the official client logs and skips it (`test_malformed_json_skipped`): skipping can silently drop data.
//! - `Engage::profiles` also stops at a page shorter than the `page_size` Mixpanel announced (the documented end
//!   of paging), where the official client asks for one more, empty, page.
//! - Argument errors raised before sending (the official `ValueError`s) are encoded as `RefusedBeforeSending`,
//!   as in the query bindings.
//!
//! The official client's `cohort_id` (a string) becomes `filter_by_cohort = json.dumps({"id": cohort_id})`, which
//! `CohortFilter::Json` sends as is; a `filter_by_cohort` argument wins over it, as in the official
//! `export_profiles_page`.

use serde_json::{Map, Value};

use mp_http::Client;
use mp_query::{
    CohortFilter, DEFAULT_ENGAGE_PAGE_SIZE, Engage, EventQuery, Export, ProfileQuery,
    ProfileStreamOptions, SortOrder, StatsQuery,
};

use super::super::CallbackLog;
use super::super::errors::{DetailStyle, encode_http_error, error_value};
use super::Args;

/// The official client's `on_batch` interval for event exports.
const EVENT_BATCH_SIZE: u64 = 1000;

/// A decoded streaming or engage call.
#[derive(Debug, Clone)]
pub enum ExportCall {
    /// `api_client.export_events`.
    Events {
        /// What to export.
        query: EventQuery,
        /// The name of the `on_batch` callback, if one was passed.
        on_batch: Option<String>,
    },
    /// `api_client.export_profiles_page`.
    ProfilesPage {
        /// What to ask for.
        query: ProfileQuery,
        /// `page`.
        page: u32,
        /// `session_id`.
        session_id: Option<String>,
    },
    /// `api_client.export_profiles`.
    Profiles {
        /// What to ask for.
        query: ProfileQuery,
        /// The name of the `on_batch` callback, if one was passed.
        on_batch: Option<String>,
    },
    /// `api_client.engage_stats`.
    Stats(StatsQuery),
}

/// Returns true if and only if `api` is bound here.
pub(super) fn binds(api: &str) -> bool {
    matches!(
        api,
        "api_client.export_events"
            | "api_client.export_profiles_page"
            | "api_client.export_profiles"
            | "api_client.engage_stats"
    )
}

/// Decodes the arguments of `api` (one of [`binds`]).
pub(super) fn bind(api: &str, args: &mut Args<'_>) -> Result<ExportCall, String> {
    Ok(match api {
        "api_client.export_events" => {
            let mut query = EventQuery::new(
                args.required_string("from_date")?,
                args.required_string("to_date")?,
            );
            query.events = args.string_list("events")?.unwrap_or_default();
            query.filter = args.string("where")?;
            query.limit = args.u32("limit")?;
            ExportCall::Events {
                query,
                on_batch: callback(args, "on_batch")?,
            }
        }
        "api_client.export_profiles_page" => {
            let page = args
                .u32("page")?
                .ok_or_else(|| format!("`{api}` needs argument `page`"))?;
            let session_id = args.string("session_id")?;
            let mut query = profile_query(args)?;
            query.sort_key = args.string("sort_key")?;
            query.sort_order = match args.string("sort_order")?.as_deref() {
                None => None,
                Some("ascending") => Some(SortOrder::Ascending),
                Some("descending") => Some(SortOrder::Descending),
                Some(other) => return Err(format!("`sort_order` `{other}` is not bound")),
            };
            query.search = args.string("search")?;
            query.limit = args.u32("limit")?;
            ExportCall::ProfilesPage {
                query,
                page,
                session_id,
            }
        }
        "api_client.export_profiles" => ExportCall::Profiles {
            query: profile_query(args)?,
            on_batch: callback(args, "on_batch")?,
        },
        "api_client.engage_stats" => {
            let mut query = StatsQuery::new();
            query.filter = args.string("where")?;
            if let Some(action) = args.string("action")? {
                query.action = action;
            }
            query.cohort = args
                .string("filter_by_cohort")?
                .filter(|text| !text.is_empty())
                .map(CohortFilter::Json);
            query.segment_by_cohorts = args.object("segment_by_cohorts")?.map(Map::from_iter);
            query.data_group_id = args.string("group_id")?;
            query.as_of_timestamp = integer(args, "as_of_timestamp")?;
            query.include_all_users = boolean(args, "include_all_users")?;
            ExportCall::Stats(query)
        }
        other => return Err(format!("no binding for `{other}`")),
    })
}

/// The profile filters shared by `export_profiles` and `export_profiles_page`.
fn profile_query(args: &mut Args<'_>) -> Result<ProfileQuery, String> {
    let cohort_id = args.take("cohort_id").filter(|value| !value.is_null());
    let filter_by_cohort = args
        .string("filter_by_cohort")?
        .filter(|text| !text.is_empty());
    let cohort = match (filter_by_cohort, cohort_id) {
        (Some(text), _) => Some(CohortFilter::Json(text)),
        (None, Some(Value::String(id))) if id.is_empty() => None,
        // `json.dumps({"id": cohort_id})`, with Python's separators.
        (None, Some(id @ (Value::String(_) | Value::Number(_)))) => Some(CohortFilter::Json(
            format!("{{\"id\": {}}}", python_dumps_scalar(&id)),
        )),
        (None, Some(other)) => return Err(format!("`cohort_id` {other} is not bound")),
        (None, None) => None,
    };
    let behaviors = match args.take("behaviors") {
        None | Some(Value::Null) => None,
        Some(value) if contains_tag(&value) => {
            return Err("`behaviors` holds a tagged value".to_owned());
        }
        Some(value) => Some(value),
    };
    Ok(ProfileQuery {
        filter: args.string("where")?,
        cohort,
        include_all_users: boolean(args, "include_all_users")?,
        output_properties: args.string_list("output_properties")?.unwrap_or_default(),
        distinct_id: args.string("distinct_id")?,
        distinct_ids: args.string_list("distinct_ids")?,
        data_group_id: args.string("group_id")?,
        behaviors,
        as_of_timestamp: integer(args, "as_of_timestamp")?,
        ..ProfileQuery::default()
    })
}

/// The name of a `{"$type": "callback", "name": …}` argument.
fn callback(args: &mut Args<'_>, key: &str) -> Result<Option<String>, String> {
    match args.take(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(tag))
            if tag.get("$type").and_then(Value::as_str) == Some("callback") =>
        {
            match tag.get("name").and_then(Value::as_str) {
                Some(name) => Ok(Some(name.to_owned())),
                None => Err(format!("callback argument `{key}` has no name")),
            }
        }
        Some(other) => Err(args.wrong(key, "a callback", &other)),
    }
}

fn integer(args: &mut Args<'_>, key: &str) -> Result<Option<i64>, String> {
    match args.take(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) if number.as_i64().is_some() => Ok(number.as_i64()),
        Some(other) => Err(args.wrong(key, "an integer", &other)),
    }
}

fn boolean(args: &mut Args<'_>, key: &str) -> Result<bool, String> {
    match args.take(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(flag)) => Ok(flag),
        Some(other) => Err(args.wrong(key, "a boolean", &other)),
    }
}

fn contains_tag(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.contains_key("$type") || map.values().any(contains_tag),
        Value::Array(items) => items.iter().any(contains_tag),
        _ => false,
    }
}

/// `json.dumps` of a string or number.
fn python_dumps_scalar(value: &Value) -> String {
    match value {
        Value::String(text) => {
            let mut out = String::from("\"");
            for character in text.chars() {
                match character {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    ' '..='~' => out.push(character),
                    other => {
                        let mut units = [0u16; 2];
                        for unit in other.encode_utf16(&mut units) {
                            out.push_str(&format!("\\u{unit:04x}"));
                        }
                    }
                }
            }
            out.push('"');
            out
        }
        other => other.to_string(),
    }
}

/// Python's `str()` of a JSON value, as the official client quotes an unexpected answer in its errors.
fn python_str(value: &Value) -> String {
    match value {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(number) => number.to_string(),
        Value::String(text) => {
            // `repr` picks single quotes unless the text holds one and no double quote.
            let quote = if text.contains('\'') && !text.contains('"') {
                '"'
            } else {
                '\''
            };
            let mut out = String::from(quote);
            for character in text.chars() {
                match character {
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if c == quote => {
                        out.push('\\');
                        out.push(c);
                    }
                    c => out.push(c),
                }
            }
            out.push(quote);
            out
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(python_str).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(key, item)| format!(
                    "{}: {}",
                    python_str(&Value::from(key.as_str())),
                    python_str(item)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn encode_error(error: mp_query::Error) -> Value {
    if let mp_query::Error::UnexpectedJson { body, .. } = &error {
        // The official client raises a `QueryError` quoting the answer with `str()`, with status 200.
        return error_value(
            "QueryError",
            Some("QUERY_FAILED"),
            Map::from_iter([
                ("response_body".to_owned(), Value::from(python_str(body))),
                ("status_code".to_owned(), Value::from(200)),
            ]),
        );
    }
    match error.http_error() {
        Some(http_error) => encode_http_error(http_error, DetailStyle::Executor),
        None => error_value(
            "RefusedBeforeSending",
            None,
            Map::from_iter([("message".to_owned(), Value::from(error.to_string()))]),
        ),
    }
}

/// Runs a bound call against `client`, recording callback invocations in `callbacks`.
pub(super) async fn execute(
    call: ExportCall,
    client: Client,
    callbacks: &CallbackLog,
) -> Result<Value, Value> {
    match call {
        ExportCall::Events { query, on_batch } => {
            let mut stream = Export::new(client)
                .events(&query)
                .await
                .map_err(encode_error)?;
            if let Some(name) = on_batch {
                let mut record = callbacks.stub(&name);
                stream = stream.with_on_batch(EVENT_BATCH_SIZE, move |count| {
                    record(vec![Value::from(count)])
                });
            }
            let mut events = Vec::new();
            while let Some(line) = stream.next_raw().await.map_err(encode_error)? {
                let event: Value = serde_json::from_slice(&line).map_err(|error| {
                    error_value(
                        "RunnerError",
                        Some("NOT_JSON"),
                        Map::from_iter([("message".to_owned(), Value::from(error.to_string()))]),
                    )
                })?;
                events.push(event);
            }
            Ok(Value::Array(events))
        }
        ExportCall::ProfilesPage {
            query,
            page,
            session_id,
        } => {
            let result = Engage::new(client)
                .page(&query, page, session_id.as_deref())
                .await
                .map_err(encode_error)?;
            let profiles = result.profile_values().map_err(encode_error)?;
            Ok(serde_json::json!({
                "has_more": result.has_more(),
                "page": result.page,
                "page_size": result.page_size.unwrap_or(DEFAULT_ENGAGE_PAGE_SIZE),
                "profiles": profiles,
                "session_id": result.session_id,
                "total": result.total.unwrap_or(0),
            }))
        }
        ExportCall::Profiles { query, on_batch } => {
            let mut stream = Engage::new(client)
                .profiles(query, ProfileStreamOptions::new())
                .map_err(encode_error)?;
            if let Some(name) = on_batch {
                let mut record = callbacks.stub(&name);
                stream = stream.with_on_batch(move |count| record(vec![Value::from(count)]));
            }
            let mut profiles = Vec::new();
            while let Some(profile) = stream.next_raw().await.map_err(encode_error)? {
                let profile: Value = serde_json::from_str(profile.get()).map_err(|error| {
                    error_value(
                        "RunnerError",
                        Some("NOT_JSON"),
                        Map::from_iter([("message".to_owned(), Value::from(error.to_string()))]),
                    )
                })?;
                profiles.push(profile);
            }
            Ok(Value::Array(profiles))
        }
        ExportCall::Stats(query) => Engage::new(client)
            .stats(&query)
            .await
            .map(Value::Object)
            .map_err(encode_error),
    }
}
