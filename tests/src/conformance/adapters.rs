//! The binding table (RUNNER-SPEC.md §3): from a vector's `call.api` name and `call.input` to our Rust call, and
//! from our result or error back to the recorded JSON shape.
//!
//! Binding happens in two steps so that "unsupported" is decided before a vector touches the transport: [`bind`]
//! decodes the input into a typed [`Call`] (an unknown api, an unknown or ill-typed argument, or a `$type` tag we
//! cannot decode makes the vector unsupported), then [`execute`] runs it.
//!
//! | api | our call |
//! |---|---|
//! | `wirestub.request`, `wirestub.request_sequence`, `wirestub.stream_chunks` | a stub straight over `mp_http::Transport` (see `wirestub.rs`) |
//! | `pagination.paginate_all` | `mp_http::Client::paginate(..).collect_all()` |
//! | `api_client.get_events` | `mp_discovery::Discovery::events` |
//! | `api_client.get_event_properties` | `mp_discovery::Discovery::event_properties` |
//! | `api_client.get_property_values` | `mp_discovery::Discovery::property_values` |
//! | discovery and live queries (`get_top_events`, `list_funnels`, `segmentation`, `funnel`, …) | `adapters/query.rs` |
//! | OAuth refresh, region probing, workspace resolution (`oauth_flow.refresh_tokens`, `region_probe.probe_region`, `resolve_workspace_id`, …) | `adapters/auth.rs` |
//! | `api_client.use` (setup) | `Client::with_project_id` / `with_workspace_id` on the context's client |
//! | `api_client.set_workspace_id` (setup) | `Client::with_workspace_id` |
//! | `api_client.close` (setup) | nothing: our transport has no connection to close, and the next call just works |

use serde_json::{Map, Value};

use mp_discovery::{
    DEFAULT_EVENTS_LIMIT, DEFAULT_PROPERTY_VALUES_LIMIT, Discovery, EventType, EventsOptions,
    PropertyValuesOptions,
};

use super::VectorContext;
use super::errors::{DetailStyle, encode_http_error};
use super::wirestub::{self, StubRequest};

mod auth;
mod export;
mod query;

/// `paginate_all`'s default `page_size`.
const DEFAULT_PAGE_SIZE: u32 = 100;

/// A decoded call, ready to run.
#[derive(Debug, Clone)]
pub enum Call {
    /// `api_client.get_events`.
    GetEvents(EventsOptions),
    /// `api_client.get_event_properties`.
    GetEventProperties(String),
    /// `api_client.get_property_values`.
    GetPropertyValues(PropertyValuesOptions),
    /// Discovery and live queries (`adapters/query.rs`).
    Query(query::QueryCall),
    /// Raw event export and Engage (`adapters/export.rs`).
    Export(export::ExportCall),
    /// OAuth refresh, region probing and workspace resolution (`adapters/auth.rs`).
    Auth(auth::AuthCall),
    /// `pagination.paginate_all`.
    PaginateAll {
        /// App API path.
        path: String,
        /// Extra parameters, in caller order.
        params: Vec<(String, Value)>,
        /// `page_size`.
        page_size: u32,
    },
    /// `api_client.use`: switch project (which clears the workspace pin) or pin a workspace; no argument clears the
    /// pin.
    Use {
        /// The new project, if given.
        project: Option<String>,
        /// The new workspace pin, if given.
        workspace: Option<u64>,
    },
    /// `api_client.set_workspace_id`.
    SetWorkspaceId(Option<u64>),
    /// `api_client.close`.
    Close,
    /// `wirestub.request`.
    StubRequest(StubRequest),
    /// `wirestub.request_sequence`.
    StubSequence(Vec<StubRequest>),
    /// `wirestub.stream_chunks`.
    StubStream(StubRequest),
}

impl Call {
    /// Returns true if and only if the call needs the client built from `call.session`.
    pub fn needs_client(&self) -> bool {
        if let Call::Auth(call) = self {
            return call.needs_client();
        }
        !matches!(
            self,
            Call::StubRequest(_) | Call::StubSequence(_) | Call::StubStream(_) | Call::Close
        )
    }
}

/// Decodes `input` for `api`. `Err` says why the vector is unsupported.
pub fn bind(api: &str, input: &Map<String, Value>) -> Result<Call, String> {
    let mut args = Args::new(api, input);
    let call = match api {
        "api_client.get_events" => Call::GetEvents(EventsOptions {
            event_type: EventType::General,
            limit: args.u32("limit")?.unwrap_or(DEFAULT_EVENTS_LIMIT),
            from_date: args.string("from_date")?,
            to_date: args.string("to_date")?,
        }),
        "api_client.get_event_properties" => {
            Call::GetEventProperties(args.required_string("event")?)
        }
        "api_client.get_property_values" => Call::GetPropertyValues(PropertyValuesOptions {
            property: args.required_string("property_name")?,
            event: args.string("event")?,
            limit: args.u32("limit")?.unwrap_or(DEFAULT_PROPERTY_VALUES_LIMIT),
        }),
        "pagination.paginate_all" => Call::PaginateAll {
            path: args.required_string("path")?,
            params: args.object("params")?.unwrap_or_default(),
            page_size: args.u32("page_size")?.unwrap_or(DEFAULT_PAGE_SIZE),
        },
        "api_client.use" => {
            if args
                .take("account")
                .is_some_and(|account| !account.is_null())
            {
                return Err(
                    "`api_client.use(account=…)` is not bound (no account switching yet)"
                        .to_owned(),
                );
            }
            Call::Use {
                project: args.string("project")?,
                workspace: args.workspace_id("workspace")?,
            }
        }
        "api_client.set_workspace_id" => Call::SetWorkspaceId(args.workspace_id("workspace_id")?),
        "api_client.close" => Call::Close,
        "wirestub.request" => Call::StubRequest(args.stub_request()?),
        "wirestub.stream_chunks" => Call::StubStream(args.stub_request()?),
        "wirestub.request_sequence" => {
            let Some(Value::Array(requests)) = args.take("requests") else {
                return Err("`wirestub.request_sequence` needs a `requests` list".to_owned());
            };
            let mut decoded = Vec::with_capacity(requests.len());
            for request in requests {
                let Value::Object(request) = request else {
                    return Err("`requests` must hold objects".to_owned());
                };
                let mut request_args = Args::new(api, &request);
                decoded.push(request_args.stub_request()?);
                request_args.finish()?;
            }
            Call::StubSequence(decoded)
        }
        api if query::binds(api) => Call::Query(query::bind(api, &mut args)?),
        api if export::binds(api) => Call::Export(export::bind(api, &mut args)?),
        api if auth::binds(api) => Call::Auth(auth::bind(api, &mut args)?),
        _ => return Err(format!("no binding for `{api}`")),
    };
    args.finish()?;
    Ok(call)
}

/// Runs a bound call. `Ok` is the result in the recorded shape; `Err` the error in the recorded
/// `{class, code, details_contain}` shape.
pub async fn execute(call: Call, context: &mut VectorContext) -> Result<Value, Value> {
    let client = || {
        context.client.clone().ok_or_else(|| {
            super::errors::error_value("RunnerError", Some("NO_SESSION"), Map::new())
        })
    };
    let discovery_error =
        |error: mp_discovery::Error| encode_http_error(error.http_error(), DetailStyle::Executor);
    match call {
        Call::GetEvents(options) => {
            let names = Discovery::uncached(client()?)
                .events(&options)
                .await
                .map_err(discovery_error)?;
            Ok(strings(names))
        }
        Call::GetEventProperties(event) => {
            let names = Discovery::uncached(client()?)
                .event_properties(&event)
                .await
                .map_err(discovery_error)?;
            Ok(strings(names))
        }
        Call::GetPropertyValues(options) => {
            let values = Discovery::uncached(client()?)
                .property_values(&options)
                .await
                .map_err(discovery_error)?;
            Ok(strings(values))
        }
        Call::Query(call) => query::execute(call, client()?).await,
        Call::Export(call) => export::execute(call, client()?, &context.callbacks).await,
        Call::Auth(call) => auth::execute(call, context).await,
        Call::PaginateAll {
            path,
            params,
            page_size,
        } => {
            let items = client()?
                .paginate(&path, params, page_size)
                .collect_all()
                .await
                .map_err(|error| encode_http_error(&error, DetailStyle::Paginate))?;
            Ok(Value::Array(items))
        }
        Call::Use { project, workspace } => {
            let current = client()?;
            let switched = match project {
                Some(project) => current
                    .with_project_id(project)
                    .with_workspace_id(workspace),
                None => current.with_workspace_id(workspace),
            };
            context.client = Some(switched);
            Ok(Value::Null)
        }
        Call::SetWorkspaceId(workspace) => {
            context.client = Some(client()?.with_workspace_id(workspace));
            Ok(Value::Null)
        }
        Call::Close => Ok(Value::Null),
        Call::StubRequest(request) => wirestub::request(&context.transport, &request).await,
        Call::StubSequence(requests) => {
            let mut results = Vec::with_capacity(requests.len());
            for request in &requests {
                results.push(wirestub::request(&context.transport, request).await?);
            }
            Ok(Value::Array(results))
        }
        Call::StubStream(request) => wirestub::stream_chunks(&context.transport, &request).await,
    }
}

fn strings(items: Vec<String>) -> Value {
    Value::Array(items.into_iter().map(Value::String).collect())
}

/// Strict argument decoding: every key of the input must be consumed, with the expected JSON type.
struct Args<'a> {
    api: &'a str,
    input: Map<String, Value>,
}

impl<'a> Args<'a> {
    fn new(api: &'a str, input: &Map<String, Value>) -> Args<'a> {
        Args {
            api,
            input: input.clone(),
        }
    }

    fn take(&mut self, key: &str) -> Option<Value> {
        self.input.shift_remove(key)
    }

    fn wrong(&self, key: &str, expected: &str, value: &Value) -> String {
        format!(
            "`{}` argument `{key}`: expected {expected}, got {value}",
            self.api
        )
    }

    /// A string, `None` when absent or null.
    fn string(&mut self, key: &str) -> Result<Option<String>, String> {
        match self.take(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(other) => Err(self.wrong(key, "a string", &other)),
        }
    }

    fn required_string(&mut self, key: &str) -> Result<String, String> {
        self.string(key)?
            .ok_or_else(|| format!("`{}` needs argument `{key}`", self.api))
    }

    fn u32(&mut self, key: &str) -> Result<Option<u32>, String> {
        match self.take(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(number))
                if number.as_u64().is_some_and(|n| n <= u64::from(u32::MAX)) =>
            {
                Ok(number.as_u64().map(|n| n as u32))
            }
            Some(other) => Err(self.wrong(key, "a non-negative integer", &other)),
        }
    }

    fn event_type(&mut self, key: &str) -> Result<EventType, String> {
        match self.string(key)? {
            None => Ok(EventType::General),
            Some(text) => text.parse(),
        }
    }

    fn string_list(&mut self, key: &str) -> Result<Option<Vec<String>>, String> {
        match self.take(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|item| match item {
                    Value::String(text) => Ok(text),
                    other => Err(self.wrong(key, "a list of strings", &other)),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(self.wrong(key, "a list of strings", &other)),
        }
    }

    /// A plain JSON object (no `$type` tag), as ordered pairs.
    fn object(&mut self, key: &str) -> Result<Option<Vec<(String, Value)>>, String> {
        match self.take(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map))
                if !map.contains_key("$type") && !contains_tag(&Value::Object(map.clone())) =>
            {
                Ok(Some(map.into_iter().collect()))
            }
            Some(other) => Err(self.wrong(key, "a plain object", &other)),
        }
    }

    /// A workspace id: an integer or a decimal string (the Python runner converts it to an integer).
    fn workspace_id(&mut self, key: &str) -> Result<Option<u64>, String> {
        match self.take(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(number)) if number.as_u64().is_some() => Ok(number.as_u64()),
            Some(Value::String(text)) if text.parse::<u64>().is_ok() => Ok(text.parse().ok()),
            Some(other) => Err(self.wrong(key, "a workspace id", &other)),
        }
    }

    /// The arguments of a `wirestub` request: `method`, `path`, and optional `params`, `headers`, `json_body`.
    fn stub_request(&mut self) -> Result<StubRequest, String> {
        let method = self.required_string("method")?;
        let path = self.required_string("path")?;
        let params = self.object("params")?.unwrap_or_default();
        let headers = self
            .object("headers")?
            .unwrap_or_default()
            .into_iter()
            .map(|(name, value)| match value {
                Value::String(text) => Ok((name, text)),
                other => Err(self.wrong("headers", "string values", &other)),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let json_body = match self.take("json_body") {
            None => None,
            Some(body) if contains_tag(&body) => {
                return Err(self.wrong("json_body", "plain JSON", &body));
            }
            Some(body) => Some(body),
        };
        Ok(StubRequest {
            method,
            path,
            params,
            headers,
            json_body,
        })
    }

    /// Fails when an argument was not consumed: we would silently ignore what the caller asked for.
    fn finish(self) -> Result<(), String> {
        match self.input.keys().next() {
            None => Ok(()),
            Some(key) => Err(format!("`{}` argument `{key}` is not bound", self.api)),
        }
    }
}

/// Returns true if and only if `value` holds a `$type`-tagged object anywhere.
fn contains_tag(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.contains_key("$type") || map.values().any(contains_tag),
        Value::Array(items) => items.iter().any(contains_tag),
        _ => false,
    }
}
