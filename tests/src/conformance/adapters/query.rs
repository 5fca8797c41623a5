//! Bindings of the discovery and live-query apis (issue 4): `mp_discovery::Discovery` and `mp_query::LiveQuery`,
//! plus the client's escape hatch `api_client.request`.
//!
//! | api | our call | result |
//! |---|---|---|
//! | `api_client.get_top_events` | `Discovery::top_events` | `TopEvents::raw` |
//! | `api_client.list_funnels` | `Discovery::funnels` | the raw list (`[]` when not a list) |
//! | `api_client.list_cohorts` | `Discovery::cohorts` | the raw list (`[]` when not a list) |
//! | `api_client.list_bookmarks` | `Discovery::bookmarks` | the raw answer |
//! | `api_client.get_schemas` | `Discovery::lexicon_schemas` | `results` of the raw answer |
//! | `api_client.get_schema` | `Discovery::lexicon_schema` | `LexiconSchema::raw` |
//! | `api_client.segmentation`, `_numeric`, `_sum`, `_average` | `LiveQuery::segmentation*` | the raw answer |
//! | `api_client.funnel` | `LiveQuery::funnel` | the raw answer |
//! | `api_client.retention` | `LiveQuery::retention` (the client's `interval_count` default, 8) | the raw answer |
//! | `api_client.frequency` | `LiveQuery::frequency` | the raw answer |
//! | `api_client.event_counts`, `api_client.property_counts` | `LiveQuery::event_counts`, `property_counts` | the raw answer |
//! | `api_client.query_saved_report` | `LiveQuery::saved_report` | the raw answer |
//! | `api_client.query_saved_flows` | `LiveQuery::saved_flows` | the raw answer |
//! | `workspace.funnel` | `LiveQuery::funnel` | `FunnelResult` as the facade's `FunnelResult` |
//! | `workspace.retention` | `LiveQuery::retention` (the facade's `interval_count` default, 10) | `RetentionResult` as the facade's `RetentionResult` |
//! | `api_client.request` | `mp_http::Client::json` on an absolute URL, `query_origin` added, no `project_id` | the JSON answer |
//!
//! The `api_client.*` functions of the official client return Mixpanel's answer as is, so their bindings return
//! `raw()`; the facade (`workspace.*`) returns typed models, which are written out here with every Python field
//! (`_df_cache` is the facade's lazily built DataFrame, `null` until used).
//!
//! Every discovery binding uses `Discovery::uncached`: the official low-level client caches nothing (the caches live
//! in its facade), and a vector that calls twice records two requests.

use std::time::Duration;

use serde_json::{Map, Value, json};

use mp_discovery::{Discovery, TopEventsOptions};
use mp_http::{ApiFamily, Client, Request};
use mp_query::{
    CountType, EventCountsOptions, FrequencyOptions, FunnelOptions, FunnelResult, LiveQuery,
    NumericAggregateOptions, NumericBucketsOptions, PropertyCountsOptions, ReportType,
    RetentionOptions, RetentionResult, RetentionType, SavedReportOptions, SegmentationOptions,
    Unit,
};

use super::super::errors::{DetailStyle, encode_http_error, error_value};
use super::Args;

/// The official low-level client's `interval_count` default (its facade and CLI use 10).
const CLIENT_RETENTION_INTERVAL_COUNT: u32 = 8;

/// A decoded discovery or live-query call.
#[derive(Debug, Clone)]
pub enum QueryCall {
    /// `api_client.get_top_events`.
    TopEvents(TopEventsOptions),
    /// `api_client.list_funnels`.
    ListFunnels,
    /// `api_client.list_cohorts`.
    ListCohorts,
    /// `api_client.list_bookmarks`.
    ListBookmarks(Option<String>),
    /// `api_client.get_schemas`.
    GetSchemas(Option<String>),
    /// `api_client.get_schema`.
    GetSchema {
        /// `entity_type`.
        entity_type: String,
        /// `name`.
        name: String,
    },
    /// `api_client.segmentation`.
    Segmentation(SegmentationOptions),
    /// `api_client.segmentation_numeric`.
    SegmentationNumeric(NumericBucketsOptions),
    /// `api_client.segmentation_sum`.
    SegmentationSum(NumericAggregateOptions),
    /// `api_client.segmentation_average`.
    SegmentationAverage(NumericAggregateOptions),
    /// `api_client.funnel` (`facade` false) or `workspace.funnel` (true).
    Funnel {
        /// What to send.
        options: FunnelOptions,
        /// Whether the facade's typed result is expected.
        facade: bool,
    },
    /// `api_client.retention` (`facade` false) or `workspace.retention` (true).
    Retention {
        /// What to send.
        options: RetentionOptions,
        /// Whether the facade's typed result is expected.
        facade: bool,
    },
    /// `api_client.frequency`.
    Frequency(FrequencyOptions),
    /// `api_client.event_counts`.
    EventCounts(EventCountsOptions),
    /// `api_client.property_counts`.
    PropertyCounts(PropertyCountsOptions),
    /// `api_client.query_saved_report`.
    SavedReport(SavedReportOptions),
    /// `api_client.query_saved_flows`.
    SavedFlows(u64),
    /// `api_client.request`.
    Request(RawRequest),
}

/// The arguments of `api_client.request`.
#[derive(Debug, Clone)]
pub struct RawRequest {
    method: http::Method,
    url: String,
    params: Vec<(String, Value)>,
    json_body: Option<Value>,
    headers: Vec<(String, String)>,
    timeout: Option<Duration>,
}

/// The apis this module binds.
const APIS: &[&str] = &[
    "api_client.get_top_events",
    "api_client.list_funnels",
    "api_client.list_cohorts",
    "api_client.list_bookmarks",
    "api_client.get_schemas",
    "api_client.get_schema",
    "api_client.segmentation",
    "api_client.segmentation_numeric",
    "api_client.segmentation_sum",
    "api_client.segmentation_average",
    "api_client.funnel",
    "workspace.funnel",
    "api_client.retention",
    "workspace.retention",
    "api_client.frequency",
    "api_client.event_counts",
    "api_client.property_counts",
    "api_client.query_saved_report",
    "api_client.query_saved_flows",
    "api_client.request",
];

/// Returns true if and only if `api` is bound here.
pub(super) fn binds(api: &str) -> bool {
    APIS.contains(&api)
}

/// Decodes the arguments of `api` (one of [`APIS`]); the caller checks that every argument was consumed.
pub(super) fn bind(api: &str, args: &mut Args<'_>) -> Result<QueryCall, String> {
    let call = match api {
        "api_client.get_top_events" => QueryCall::TopEvents(TopEventsOptions {
            event_type: args.event_type("type")?,
            limit: args.u32("limit")?,
        }),
        "api_client.list_funnels" => QueryCall::ListFunnels,
        "api_client.list_cohorts" => QueryCall::ListCohorts,
        "api_client.list_bookmarks" => QueryCall::ListBookmarks(args.string("bookmark_type")?),
        "api_client.get_schemas" => QueryCall::GetSchemas(args.string("entity_type")?),
        "api_client.get_schema" => QueryCall::GetSchema {
            entity_type: args.required_string("entity_type")?,
            name: args.required_string("name")?,
        },
        "api_client.segmentation" => {
            let mut options = SegmentationOptions::new(
                args.required_string("event")?,
                args.required_string("from_date")?,
                args.required_string("to_date")?,
            );
            options.on = args.string("on")?;
            options.unit = parsed(args, "unit")?.unwrap_or(Unit::Day);
            options.count_type = parsed(args, "type")?.unwrap_or(CountType::General);
            options.filter = args.string("where")?;
            QueryCall::Segmentation(options)
        }
        "api_client.segmentation_numeric" => {
            let mut options = NumericBucketsOptions::new(
                args.required_string("event")?,
                args.required_string("from_date")?,
                args.required_string("to_date")?,
                args.required_string("on")?,
            );
            options.unit = parsed(args, "unit")?.unwrap_or(Unit::Day);
            options.count_type = parsed(args, "type")?.unwrap_or(CountType::General);
            options.filter = args.string("where")?;
            QueryCall::SegmentationNumeric(options)
        }
        "api_client.segmentation_sum" | "api_client.segmentation_average" => {
            let mut options = NumericAggregateOptions::new(
                args.required_string("event")?,
                args.required_string("from_date")?,
                args.required_string("to_date")?,
                args.required_string("on")?,
            );
            options.unit = parsed(args, "unit")?.unwrap_or(Unit::Day);
            options.filter = args.string("where")?;
            if api == "api_client.segmentation_sum" {
                QueryCall::SegmentationSum(options)
            } else {
                QueryCall::SegmentationAverage(options)
            }
        }
        "api_client.funnel" | "workspace.funnel" => {
            let mut options = FunnelOptions::new(
                required_id(args, "funnel_id")?,
                args.required_string("from_date")?,
                args.required_string("to_date")?,
            );
            options.unit = parsed(args, "unit")?;
            options.on = args.string("on")?;
            let facade = api == "workspace.funnel";
            if !facade {
                options.filter = args.string("where")?;
                options.length = args.u32("length")?;
                options.length_unit = parsed(args, "length_unit")?;
            }
            QueryCall::Funnel { options, facade }
        }
        "api_client.retention" | "workspace.retention" => {
            let facade = api == "workspace.retention";
            let return_key = if facade { "return_event" } else { "event" };
            let mut options = RetentionOptions::new(
                args.required_string("born_event")?,
                args.required_string(return_key)?,
                args.required_string("from_date")?,
                args.required_string("to_date")?,
            );
            if !facade {
                options.retention_type =
                    parsed(args, "retention_type")?.unwrap_or(RetentionType::Birth);
                options.interval_count = CLIENT_RETENTION_INTERVAL_COUNT;
            }
            options.born_filter = args.string("born_where")?;
            options.return_filter = args.string(if facade { "return_where" } else { "where" })?;
            options.interval = args.u32("interval")?.unwrap_or(1);
            if let Some(interval_count) = args.u32("interval_count")? {
                options.interval_count = interval_count;
            }
            options.unit = parsed(args, "unit")?.unwrap_or(Unit::Day);
            QueryCall::Retention { options, facade }
        }
        "api_client.frequency" => {
            let mut options = FrequencyOptions::new(
                args.required_string("from_date")?,
                args.required_string("to_date")?,
            );
            options.unit = required_parsed(args, "unit")?;
            options.addiction_unit = required_parsed(args, "addiction_unit")?;
            options.event = args.string("event")?;
            options.filter = args.string("where")?;
            options.on = args.string("on")?;
            options.limit = args.u32("limit")?;
            QueryCall::Frequency(options)
        }
        "api_client.event_counts" => {
            let events = args
                .string_list("events")?
                .ok_or("`api_client.event_counts` needs argument `events`")?;
            let mut options = EventCountsOptions::new(
                events,
                args.required_string("from_date")?,
                args.required_string("to_date")?,
            );
            options.count_type = parsed(args, "type")?.unwrap_or(CountType::General);
            options.unit = parsed(args, "unit")?.unwrap_or(Unit::Day);
            QueryCall::EventCounts(options)
        }
        "api_client.property_counts" => {
            let mut options = PropertyCountsOptions::new(
                args.required_string("event")?,
                args.required_string("property_name")?,
                args.required_string("from_date")?,
                args.required_string("to_date")?,
            );
            options.count_type = parsed(args, "type")?.unwrap_or(CountType::General);
            options.unit = parsed(args, "unit")?.unwrap_or(Unit::Day);
            options.values = args.string_list("values")?;
            options.limit = args.u32("limit")?;
            QueryCall::PropertyCounts(options)
        }
        "api_client.query_saved_report" => {
            let mut options = SavedReportOptions::new(required_id(args, "bookmark_id")?);
            options.report_type = parsed(args, "bookmark_type")?.unwrap_or(ReportType::Insights);
            options.from_date = args.string("from_date")?;
            options.to_date = args.string("to_date")?;
            QueryCall::SavedReport(options)
        }
        "api_client.query_saved_flows" => QueryCall::SavedFlows(required_id(args, "bookmark_id")?),
        "api_client.request" => QueryCall::Request(raw_request(args)?),
        other => return Err(format!("no binding for `{other}`")),
    };
    Ok(call)
}

/// An optional argument parsed from its wire spelling (`"day"`, `"unique"`, …).
fn parsed<T: std::str::FromStr<Err = String>>(
    args: &mut Args<'_>,
    key: &str,
) -> Result<Option<T>, String> {
    args.string(key)?.map(|text| text.parse()).transpose()
}

fn required_parsed<T: std::str::FromStr<Err = String>>(
    args: &mut Args<'_>,
    key: &str,
) -> Result<T, String> {
    parsed(args, key)?.ok_or_else(|| format!("`{}` needs argument `{key}`", args.api))
}

/// A non-negative integer id.
fn required_id(args: &mut Args<'_>, key: &str) -> Result<u64, String> {
    match args.take(key) {
        Some(Value::Number(number)) if number.as_u64().is_some() => {
            Ok(number.as_u64().unwrap_or_default())
        }
        Some(other) => Err(args.wrong(key, "a non-negative integer", &other)),
        None => Err(format!("`{}` needs argument `{key}`", args.api)),
    }
}

fn raw_request(args: &mut Args<'_>) -> Result<RawRequest, String> {
    let method = args.required_string("method")?;
    let method = http::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("`{method}` is not an HTTP method"))?;
    let url = args.required_string("url")?;
    let params = args.object("params")?.unwrap_or_default();
    let json_body = match args.take("json_body") {
        None | Some(Value::Null) => None,
        Some(body) if super::contains_tag(&body) => {
            return Err(args.wrong("json_body", "plain JSON", &body));
        }
        Some(body) => Some(body),
    };
    let headers = args
        .object("headers")?
        .unwrap_or_default()
        .into_iter()
        .map(|(name, value)| match value {
            Value::String(text) => Ok((name, text)),
            other => Err(args.wrong("headers", "string values", &other)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let timeout = match args.take("timeout") {
        None | Some(Value::Null) => None,
        Some(Value::Number(seconds)) if seconds.as_f64().is_some_and(|s| s > 0.0) => {
            seconds.as_f64().map(Duration::from_secs_f64)
        }
        Some(other) => return Err(args.wrong("timeout", "a positive number", &other)),
    };
    Ok(RawRequest {
        method,
        url,
        params,
        json_body,
        headers,
        timeout,
    })
}

/// The recorded shape of a discovery failure.
fn discovery_error(error: mp_discovery::Error) -> Value {
    encode_http_error(error.http_error(), DetailStyle::Executor)
}

/// The recorded shape of a live-query failure. Input refused before sending has no counterpart in the official
/// client (it sends whatever it is given), so it shows up as a mismatch.
fn query_error(error: mp_query::Error) -> Value {
    match error.http_error() {
        Some(http_error) => encode_http_error(http_error, DetailStyle::Executor),
        None => error_value(
            "RefusedBeforeSending",
            None,
            Map::from_iter([("message".to_owned(), Value::from(error.to_string()))]),
        ),
    }
}

/// A list answer as the official client returns it: the list, or `[]` for anything else.
fn list_or_empty(raw: &Value) -> Value {
    if raw.is_array() {
        raw.clone()
    } else {
        Value::Array(Vec::new())
    }
}

/// Runs a bound call against `client`.
pub(super) async fn execute(call: QueryCall, client: Client) -> Result<Value, Value> {
    let discovery = || Discovery::uncached(client.clone());
    let live = || LiveQuery::new(client.clone());
    match call {
        QueryCall::TopEvents(options) => discovery()
            .top_events(&options)
            .await
            .map(|top| top.raw().clone())
            .map_err(discovery_error),
        QueryCall::ListFunnels => discovery()
            .funnels()
            .await
            .map(|funnels| list_or_empty(funnels.raw()))
            .map_err(discovery_error),
        QueryCall::ListCohorts => discovery()
            .cohorts()
            .await
            .map(|cohorts| list_or_empty(cohorts.raw()))
            .map_err(discovery_error),
        QueryCall::ListBookmarks(bookmark_type) => discovery()
            .bookmarks(bookmark_type.as_deref())
            .await
            .map(|bookmarks| bookmarks.raw().clone())
            .map_err(discovery_error),
        QueryCall::GetSchemas(entity_type) => discovery()
            .lexicon_schemas(entity_type.as_deref())
            .await
            .map(|schemas| {
                schemas
                    .raw()
                    .get("results")
                    .cloned()
                    .unwrap_or_else(|| Value::Array(Vec::new()))
            })
            .map_err(discovery_error),
        QueryCall::GetSchema { entity_type, name } => discovery()
            .lexicon_schema(&entity_type, &name)
            .await
            .map(|schema| schema.raw().clone())
            .map_err(discovery_error),
        QueryCall::Segmentation(options) => live()
            .segmentation(&options)
            .await
            .map(|result| result.raw().clone())
            .map_err(query_error),
        QueryCall::SegmentationNumeric(options) => live()
            .segmentation_numeric(&options)
            .await
            .map(|result| result.raw().clone())
            .map_err(query_error),
        QueryCall::SegmentationSum(options) => live()
            .segmentation_sum(&options)
            .await
            .map(|result| result.raw().clone())
            .map_err(query_error),
        QueryCall::SegmentationAverage(options) => live()
            .segmentation_average(&options)
            .await
            .map(|result| result.raw().clone())
            .map_err(query_error),
        QueryCall::Funnel { options, facade } => {
            let result = live().funnel(&options).await.map_err(query_error)?;
            Ok(if facade {
                facade_funnel(&result)
            } else {
                result.raw().clone()
            })
        }
        QueryCall::Retention { options, facade } => {
            let result = live().retention(&options).await.map_err(query_error)?;
            Ok(if facade {
                facade_retention(&result)
            } else {
                result.raw().clone()
            })
        }
        QueryCall::Frequency(options) => live()
            .frequency(&options)
            .await
            .map(|result| result.raw().clone())
            .map_err(query_error),
        QueryCall::EventCounts(options) => live()
            .event_counts(&options)
            .await
            .map(|result| result.raw().clone())
            .map_err(query_error),
        QueryCall::PropertyCounts(options) => live()
            .property_counts(&options)
            .await
            .map(|result| result.raw().clone())
            .map_err(query_error),
        QueryCall::SavedReport(options) => live()
            .saved_report(&options)
            .await
            .map(|result| result.raw().clone())
            .map_err(query_error),
        QueryCall::SavedFlows(bookmark_id) => live()
            .saved_flows(bookmark_id)
            .await
            .map(|result| result.raw().clone())
            .map_err(query_error),
        QueryCall::Request(raw) => {
            let mut request = Request::new(raw.method, ApiFamily::Query, raw.url)
                .inject_project_id(false)
                .inject_workspace_id(false)
                .inject_query_origin(true)
                .params(raw.params);
            if let Some(body) = raw.json_body {
                request = request.json_body(body);
            }
            for (name, value) in raw.headers {
                request = request.header(name, value);
            }
            if let Some(timeout) = raw.timeout {
                request = request.timeout(timeout);
            }
            client
                .json::<Value>(request)
                .await
                .map_err(|error| encode_http_error(&error, DetailStyle::Executor))
        }
    }
}

/// The facade's `FunnelResult`, every field.
fn facade_funnel(result: &FunnelResult) -> Value {
    json!({
        "_df_cache": null,
        "conversion_rate": result.conversion_rate,
        "from_date": result.from_date,
        "funnel_id": result.funnel_id,
        "funnel_name": result.funnel_name,
        "steps": result.steps.iter().map(|step| json!({
            "conversion_rate": step.conversion_rate,
            "count": step.count,
            "event": step.event,
        })).collect::<Vec<_>>(),
        "to_date": result.to_date,
    })
}

/// The facade's `RetentionResult`, every field.
fn facade_retention(result: &RetentionResult) -> Value {
    json!({
        "_df_cache": null,
        "born_event": result.born_event,
        "cohorts": result.cohorts.iter().map(|cohort| json!({
            "date": cohort.date,
            "retention": cohort.retention,
            "size": cohort.size,
        })).collect::<Vec<_>>(),
        "from_date": result.from_date,
        "return_event": result.return_event,
        "to_date": result.to_date,
        "unit": result.unit.as_str(),
    })
}
