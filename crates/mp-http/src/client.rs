//! [`Client`]: decoration, authentication, the retry loop and error mapping.
//!
//! [`Client::send`] prepares a request once (URL, parameters, headers, body)
//! and then runs attempts. Each attempt asks the authenticator for a fresh
//! `Authorization` header and gets its own deadline. What happens after an
//! attempt:
//!
//! | attempt ended with | what `send` does |
//! |---|---|
//! | 2xx | returns the [`Response`]; its body is read later, under the same deadline (or, for Export, the idle timeout) |
//! | 401, first time, authenticator present, no caller `Authorization` | asks `refresh_after_unauthorized`; if it refreshed, sends again |
//! | a status or transport failure [`RetryState::next`] accepts | reads a little of the body so the connection can be reused, sleeps through the [`Clock`], sends again |
//! | anything else | builds the [`Error`]: kind from the status, request context, up to 1 MiB of body, `Retry-After`, attempts and elapsed time |
//!
//! Decoration follows Mixpanel's official client (`anchor-query.md` §0.1):
//! `project_id` on Query, Engage and Export; `query_origin` on Query and
//! Engage, replacing a caller's value; `workspace_id` on Query and Engage when
//! a workspace is pinned; never any of them on the App API, whose paths carry
//! the project. Header layers, later ones winning: `User-Agent`, the client's
//! custom headers, family defaults (`Accept-Encoding: gzip` on Export), the
//! body's `Content-Type`, the request's own headers, and last `Authorization`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::encoding::{encode_form, encode_form_component};
use crate::request::{RequestBody, ResponseContext};
use crate::{
    ApiFamily, Authenticator, Clock, Endpoints, Error, ErrorKind, HttpRequest, HyperTransport,
    Outcome, Paginator, Request, Response, ResponseBody, RetryPolicy, RetryState, SystemClock,
    Transport, TransportError, TransportErrorKind,
};

/// The `query_origin` value we send on Query and Engage requests. Mixpanel
/// uses it to attribute API traffic to a client.
pub const DEFAULT_QUERY_ORIGIN: &str = "mp-rs";

/// The default `User-Agent`: `mp/<version>`.
pub const DEFAULT_USER_AGENT: &str = concat!("mp/", env!("CARGO_PKG_VERSION"));

/// How long a request may take, per API family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// The TCP connect timeout.
    pub connect: Duration,
    /// The App API (and OAuth) deadline for a whole exchange. Mixpanel's App
    /// API gives up after about two minutes, so we wait a little longer to
    /// see its answer rather than our own timeout.
    pub app: Duration,
    /// The Query and Engage API deadline. Mixpanel lets a query run for up to
    /// about eight minutes.
    pub query: Duration,
    /// The longest wait for the first byte of an export and between two
    /// chunks of it: an export's total time is unbounded, a stalled one is not.
    pub export_idle: Duration,
}

impl Default for Timeouts {
    /// 10 s connect, 135 s App, 500 s Query, 600 s export idle (the official
    /// client's read timeout on export streams).
    fn default() -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(10),
            app: Duration::from_secs(135),
            query: Duration::from_secs(500),
            export_idle: Duration::from_secs(600),
        }
    }
}

impl Timeouts {
    /// The deadline (or, for Export, the idle timeout) of `family`.
    pub fn for_family(&self, family: ApiFamily) -> Duration {
        match family {
            ApiFamily::Query | ApiFamily::Engage => self.query,
            ApiFamily::App | ApiFamily::OAuth => self.app,
            ApiFamily::Export => self.export_idle,
        }
    }
}

/// Builds a [`Client`]: `ClientBuilder::new(endpoints).with_…(…).build()?`.
#[derive(Debug)]
pub struct ClientBuilder {
    endpoints: Endpoints,
    transport: Option<Arc<dyn Transport>>,
    clock: Option<Arc<dyn Clock>>,
    authenticator: Option<Arc<dyn Authenticator>>,
    project_id: Option<String>,
    workspace_id: Option<u64>,
    headers: Vec<(String, String)>,
    user_agent: String,
    query_origin: String,
    retry_policy: RetryPolicy,
    timeouts: Timeouts,
}

impl ClientBuilder {
    /// A builder for a client talking to `endpoints`.
    pub fn new(endpoints: Endpoints) -> ClientBuilder {
        ClientBuilder {
            endpoints,
            transport: None,
            clock: None,
            authenticator: None,
            project_id: None,
            workspace_id: None,
            headers: Vec::new(),
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            query_origin: DEFAULT_QUERY_ORIGIN.to_owned(),
            retry_policy: RetryPolicy::default(),
            timeouts: Timeouts::default(),
        }
    }

    /// Uses `transport` instead of building a [`HyperTransport`]. Share one
    /// transport between clients to share its connection pool.
    pub fn with_transport(mut self, transport: Arc<dyn Transport>) -> ClientBuilder {
        self.transport = Some(transport);
        self
    }

    /// Uses `clock` for retry sleeps and elapsed times (default [`SystemClock`]).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> ClientBuilder {
        self.clock = Some(clock);
        self
    }

    /// Authenticates every request through `authenticator`. Without one,
    /// requests carry no `Authorization` header.
    pub fn with_authenticator(mut self, authenticator: Arc<dyn Authenticator>) -> ClientBuilder {
        self.authenticator = Some(authenticator);
        self
    }

    /// The project injected as `project_id` into Query, Engage and Export requests.
    pub fn with_project_id(mut self, project_id: impl Into<String>) -> ClientBuilder {
        self.project_id = Some(project_id.into());
        self
    }

    /// The workspace injected as `workspace_id` into Query and Engage
    /// requests when set.
    pub fn with_workspace_id(mut self, workspace_id: Option<u64>) -> ClientBuilder {
        self.workspace_id = workspace_id;
        self
    }

    /// Adds a header to every request (from `[settings] custom_header` or
    /// `MP_CUSTOM_HEADER_NAME`/`VALUE`). It overrides our defaults,
    /// `User-Agent` included; a request's own headers override it.
    pub fn with_header(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> ClientBuilder {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The `User-Agent` (default [`DEFAULT_USER_AGENT`]).
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> ClientBuilder {
        self.user_agent = user_agent.into();
        self
    }

    /// The `query_origin` value (default [`DEFAULT_QUERY_ORIGIN`]).
    pub fn with_query_origin(mut self, query_origin: impl Into<String>) -> ClientBuilder {
        self.query_origin = query_origin.into();
        self
    }

    /// The retry policy (default [`RetryPolicy::default`]).
    pub fn with_retry_policy(mut self, retry_policy: RetryPolicy) -> ClientBuilder {
        self.retry_policy = retry_policy;
        self
    }

    /// The timeouts (default [`Timeouts::default`]). `connect` applies only
    /// when this builder creates the [`HyperTransport`].
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> ClientBuilder {
        self.timeouts = timeouts;
        self
    }

    /// Builds the client; fails on an invalid header or TLS setup.
    pub fn build(self) -> Result<Client, Error> {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::USER_AGENT,
            header_value("User-Agent", &self.user_agent)?,
        );
        for (name, value) in &self.headers {
            headers.insert(header_name(name)?, header_value(name, value)?);
        }
        let transport: Arc<dyn Transport> = match self.transport {
            Some(transport) => transport,
            None => Arc::new(HyperTransport::new(self.timeouts.connect)?),
        };
        Ok(Client {
            shared: Arc::new(Shared {
                endpoints: self.endpoints,
                transport,
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                headers,
                query_origin: self.query_origin,
                timeouts: self.timeouts,
            }),
            project_id: self.project_id.map(Arc::from),
            workspace_id: self.workspace_id,
            authenticator: self.authenticator,
            retry_policy: Arc::new(self.retry_policy),
        })
    }
}

/// The Mixpanel HTTP client: decorates, authenticates, retries and maps
/// errors. Cheap to clone (the transport and its pool are shared); the
/// `with_*` methods return a copy for another project, workspace or account.
#[derive(Debug, Clone)]
pub struct Client {
    shared: Arc<Shared>,
    project_id: Option<Arc<str>>,
    workspace_id: Option<u64>,
    authenticator: Option<Arc<dyn Authenticator>>,
    retry_policy: Arc<RetryPolicy>,
}

#[derive(Debug)]
struct Shared {
    endpoints: Endpoints,
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
    /// `User-Agent` and custom headers, custom ones already applied on top.
    headers: HeaderMap,
    query_origin: String,
    timeouts: Timeouts,
}

/// A request with every decoration applied, ready for attempts.
struct Prepared {
    method: http::Method,
    url: String,
    params: Map<String, Value>,
    headers: HeaderMap,
    has_own_authorization: bool,
    body: Bytes,
    request_body: Option<Value>,
    retry_safe: bool,
    family: ApiFamily,
    timeout: Duration,
    error_for_status: bool,
}

/// The largest error body we keep (error pages can be large HTML).
const MAX_ERROR_BODY: usize = 1 << 20;

/// The most we read from a response we are about to retry, so the connection
/// can go back to the pool; a longer body is dropped with its connection.
const MAX_DRAIN: usize = 64 << 10;

impl Client {
    /// The endpoints requests go to.
    pub fn endpoints(&self) -> &Endpoints {
        &self.shared.endpoints
    }

    /// The project injected as `project_id`, if any.
    pub fn project_id(&self) -> Option<&str> {
        self.project_id.as_deref()
    }

    /// The pinned workspace, if any.
    pub fn workspace_id(&self) -> Option<u64> {
        self.workspace_id
    }

    /// The clock the client sleeps through.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.shared.clock
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry_policy
    }

    /// A copy of this client for another project (same transport and pool).
    pub fn with_project_id(&self, project_id: impl Into<String>) -> Client {
        Client {
            project_id: Some(Arc::from(project_id.into())),
            ..self.clone()
        }
    }

    /// A copy of this client with another pinned workspace (or none).
    pub fn with_workspace_id(&self, workspace_id: Option<u64>) -> Client {
        Client {
            workspace_id,
            ..self.clone()
        }
    }

    /// A copy of this client authenticating through `authenticator`.
    pub fn with_authenticator(&self, authenticator: Arc<dyn Authenticator>) -> Client {
        Client {
            authenticator: Some(authenticator),
            ..self.clone()
        }
    }

    /// A copy of this client with another retry policy.
    pub fn with_retry_policy(&self, retry_policy: RetryPolicy) -> Client {
        Client {
            retry_policy: Arc::new(retry_policy),
            ..self.clone()
        }
    }

    /// Sends `request`: decorates it, authenticates each attempt, retries
    /// per the [`RetryPolicy`], and maps a final non-2xx status to an
    /// [`Error`] (unless [`Request::error_for_status`] says otherwise).
    ///
    /// After a 401, [`Authenticator::refresh_after_unauthorized`] is asked
    /// once; if it refreshed, the request is sent once more.
    pub async fn send(&self, request: Request) -> Result<Response, Error> {
        let prepared = self.prepare(request)?;
        let clock = &self.shared.clock;
        let start = clock.now();
        let elapsed = || clock.now().duration_since(start).unwrap_or_default();
        let context_error = |kind: ErrorKind, attempts: u32| {
            Error::bare(kind)
                .with_request(
                    prepared.method.as_str(),
                    &prepared.url,
                    Some(&prepared.params),
                    prepared.request_body.as_ref(),
                )
                .with_project_id(self.project_id())
                .with_attempts(attempts, elapsed())
        };
        let mut retry_state =
            RetryState::new((*self.retry_policy).clone()).with_retry_safe(prepared.retry_safe);
        let mut attempts = 0u32;
        let mut refreshed = false;
        loop {
            attempts += 1;
            let http_request = self.http_request(&prepared).await.map_err(|error| {
                // The authenticator failed: keep its error and add where.
                if error.method().is_none() {
                    error.with_request(
                        prepared.method.as_str(),
                        &prepared.url,
                        Some(&prepared.params),
                        prepared.request_body.as_ref(),
                    )
                } else {
                    error
                }
            })?;
            tracing::debug!(
                method = %prepared.method,
                url = %crate::redact_url(&prepared.url),
                attempt = attempts,
                "sending request"
            );
            // Each attempt gets the whole family deadline: a slow first
            // attempt must not leave the retry no time at all. The deadline
            // is a tokio timer, not the `Clock`: a virtual clock's sleep
            // returns at once and would time out every request.
            let deadline = tokio::time::Instant::now() + prepared.timeout;
            let sent = tokio::time::timeout_at(deadline, self.shared.transport.send(http_request));
            let response = match sent.await {
                Ok(Ok(response)) => response,
                Ok(Err(transport_error)) => {
                    let outcome = Outcome::Transport(transport_error.kind());
                    if let Some(delay) = retry_state.next(&outcome, clock.now()) {
                        tracing::debug!(
                            error = %transport_error,
                            delay_ms = delay.as_millis() as u64,
                            "retrying after a transport error"
                        );
                        clock.sleep(delay).await;
                        continue;
                    }
                    let kind = match transport_error.kind() {
                        TransportErrorKind::Timeout => ErrorKind::Timeout,
                        _ => ErrorKind::Transport,
                    };
                    return Err(context_error(kind, attempts).with_source(transport_error));
                }
                Err(_) => {
                    let outcome = Outcome::Transport(TransportErrorKind::Timeout);
                    if let Some(delay) = retry_state.next(&outcome, clock.now()) {
                        tracing::debug!(
                            delay_ms = delay.as_millis() as u64,
                            "retrying after a timeout"
                        );
                        clock.sleep(delay).await;
                        continue;
                    }
                    let cause = TransportError::new(
                        TransportErrorKind::Timeout,
                        format!("no response within {}s", prepared.timeout.as_secs()),
                    );
                    return Err(context_error(ErrorKind::Timeout, attempts).with_source(cause));
                }
            };
            let status = response.status;
            tracing::debug!(status = status.as_u16(), attempt = attempts, "response");
            let context = || {
                Arc::new(ResponseContext {
                    method: prepared.method.as_str().to_owned(),
                    url: prepared.url.clone(),
                    params: prepared.params.clone(),
                    request_body: prepared.request_body.clone(),
                    project_id: self.project_id.as_deref().map(str::to_owned),
                    family: prepared.family,
                    attempts,
                    elapsed: elapsed(),
                    deadline: (prepared.family != ApiFamily::Export).then_some(deadline),
                    idle_timeout: (prepared.family == ApiFamily::Export)
                        .then_some(prepared.timeout),
                })
            };
            if status.is_success() {
                return Ok(Response::new(
                    status,
                    response.headers,
                    response.body,
                    context(),
                ));
            }
            if status == http::StatusCode::UNAUTHORIZED
                && !refreshed
                && !prepared.has_own_authorization
                && let Some(authenticator) = &self.authenticator
            {
                refreshed = true;
                let refreshed_credentials = authenticator
                    .refresh_after_unauthorized()
                    .await
                    .map_err(|error| {
                        if error.method().is_some() {
                            return error;
                        }
                        error
                            .with_request(
                                prepared.method.as_str(),
                                &prepared.url,
                                Some(&prepared.params),
                                prepared.request_body.as_ref(),
                            )
                            .with_attempts(attempts, elapsed())
                    })?;
                if refreshed_credentials {
                    tracing::debug!("credentials refreshed after a 401; sending again");
                    drain(response.body, deadline).await;
                    continue;
                }
            }
            let retry_after_header = response
                .headers
                .get(http::header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned);
            let outcome = Outcome::Status {
                status: status.as_u16(),
                retry_after: retry_after_header.as_deref(),
            };
            if let Some(delay) = retry_state.next(&outcome, clock.now()) {
                tracing::debug!(
                    status = status.as_u16(),
                    delay_ms = delay.as_millis() as u64,
                    "retrying"
                );
                drain(response.body, deadline).await;
                clock.sleep(delay).await;
                continue;
            }
            if !prepared.error_for_status {
                return Ok(Response::new(
                    status,
                    response.headers,
                    response.body,
                    context(),
                ));
            }
            let content_type = response
                .headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned);
            let gzip = response
                .headers
                .get(http::header::CONTENT_ENCODING)
                .and_then(|value| value.to_str().ok())
                .is_some_and(|value| value.trim().eq_ignore_ascii_case("gzip"));
            let body = read_error_body(response.body, deadline, gzip).await;
            let retry_after = retry_after_header
                .as_deref()
                .and_then(|value| crate::parse_retry_after(value, clock.now()));
            return Err(
                context_error(ErrorKind::from_status(status.as_u16()), attempts)
                    .with_response(status.as_u16(), content_type.as_deref(), &body)
                    .with_retry_after(retry_after),
            );
        }
    }

    /// Sends `request` and parses the 2xx body as JSON into `T`.
    pub async fn json<T: DeserializeOwned>(&self, request: Request) -> Result<T, Error> {
        self.send(request).await?.json().await
    }

    /// Sends an App API request and unwraps its envelope: a 204 gives
    /// `{"status": "ok"}`, an object with `results` gives the `results`,
    /// anything else is returned as is. A 2xx body of the form
    /// `{"status": "error", "error": …}` is an [`ErrorKind::BadRequest`] error.
    pub async fn app_results(&self, request: Request) -> Result<Value, Error> {
        let response = self.send(request).await?;
        if response.status() == http::StatusCode::NO_CONTENT {
            return Ok(serde_json::json!({"status": "ok"}));
        }
        let (head, bytes) = response.bytes_keeping_head().await?;
        let mut value: Value =
            serde_json::from_slice(&bytes).map_err(|error| head.not_json(&bytes, error))?;
        if let Some(object) = value.as_object_mut() {
            if object.get("status").and_then(Value::as_str) == Some("error") {
                return Err(head.status_error(&bytes));
            }
            if let Some(results) = object.remove("results") {
                return Ok(results);
            }
        }
        Ok(value)
    }

    /// Iterates over an App API list with cursor pagination: GET `path` with
    /// `params`, `page_size` (100 when 0 is given) and, after the first page,
    /// `cursor=<pagination.next_cursor>`, until the cursor is null or absent.
    pub fn paginate(&self, path: &str, params: Vec<(String, Value)>, page_size: u32) -> Paginator {
        Paginator::new(self.clone(), path, params, page_size)
    }

    /// Applies every decoration that does not change between attempts.
    fn prepare(&self, request: Request) -> Result<Prepared, Error> {
        let shared = &self.shared;
        let (base_url, existing_query) =
            if request.path.starts_with("https://") || request.path.starts_with("http://") {
                crate::endpoints::check_url_is_safe(&request.path, "request URL")?;
                let url = request.path.clone();
                match url.split_once('?') {
                    Some((base, query)) => (base.to_owned(), Some(query.to_owned())),
                    None => (url, None),
                }
            } else {
                let (path, query) = match request.path.split_once('?') {
                    Some((path, query)) => (path, Some(query.to_owned())),
                    None => (request.path.as_str(), None),
                };
                (shared.endpoints.url(request.family, path), query)
            };

        let mut params = request.params.clone();
        if request.injects_project_id()
            && let Some(project_id) = self.project_id()
        {
            set_param(&mut params, "project_id", Value::from(project_id));
        }
        if request.injects_workspace_id()
            && let Some(workspace_id) = self.workspace_id
        {
            set_param(&mut params, "workspace_id", Value::from(workspace_id));
        }
        if request.injects_query_origin() {
            // The canonical value wins over a caller's, as in the official client.
            set_param(
                &mut params,
                "query_origin",
                Value::from(shared.query_origin.as_str()),
            );
        }

        let mut query = existing_query.unwrap_or_default();
        for (key, value) in &params {
            for wire_value in wire_values(value) {
                if !query.is_empty() {
                    query.push('&');
                }
                query.push_str(&encode_form_component(key));
                query.push('=');
                query.push_str(&encode_form_component(&wire_value));
            }
        }
        let url = if query.is_empty() {
            base_url
        } else {
            format!("{base_url}?{query}")
        };

        let mut params_json = Map::new();
        for (key, value) in params {
            params_json.insert(key, value);
        }

        let mut headers = shared.headers.clone();
        if request.family == ApiFamily::Export {
            // Exports compress about tenfold; JsonLines decodes incrementally.
            headers.insert(
                http::header::ACCEPT_ENCODING,
                HeaderValue::from_static("gzip"),
            );
        }
        let (body, request_body, content_type) = match &request.body {
            RequestBody::None => (Bytes::new(), None, None),
            RequestBody::Json(value) => (
                Bytes::from(serde_json::to_vec(value).map_err(|error| {
                    Error::config("the request body cannot be serialized").with_source(error)
                })?),
                Some(value.clone()),
                Some("application/json".to_owned()),
            ),
            RequestBody::Form(pairs) => (
                Bytes::from(encode_form(
                    pairs
                        .iter()
                        .map(|(key, value)| (key.as_str(), value.as_str())),
                )),
                Some(Value::Object(
                    pairs
                        .iter()
                        .map(|(key, value)| (key.clone(), Value::from(value.as_str())))
                        .collect(),
                )),
                Some("application/x-www-form-urlencoded".to_owned()),
            ),
            RequestBody::Raw {
                bytes,
                content_type,
            } => (bytes.clone(), None, content_type.clone()),
        };
        if let Some(content_type) = content_type {
            headers.insert(
                http::header::CONTENT_TYPE,
                header_value("Content-Type", &content_type)?,
            );
        }
        let mut has_own_authorization = false;
        for (name, value) in &request.headers {
            let name = header_name(name)?;
            has_own_authorization |= name == http::header::AUTHORIZATION;
            headers.insert(name.clone(), header_value(name.as_str(), value)?);
        }
        Ok(Prepared {
            retry_safe: request.is_retry_safe(),
            timeout: request
                .timeout
                .unwrap_or_else(|| shared.timeouts.for_family(request.family)),
            method: request.method,
            url,
            params: params_json,
            headers,
            has_own_authorization,
            body,
            request_body,
            family: request.family,
            error_for_status: request.error_for_status,
        })
    }

    /// The request of one attempt: the prepared request plus a fresh
    /// `Authorization` header.
    async fn http_request(&self, prepared: &Prepared) -> Result<HttpRequest, Error> {
        let mut headers = prepared.headers.clone();
        if !prepared.has_own_authorization
            && let Some(authenticator) = &self.authenticator
        {
            let authorization = authenticator.authorization().await?;
            let mut value = HeaderValue::from_str(authorization.expose()).map_err(|_| {
                // Never quote the value: it is a credential.
                Error::new(
                    ErrorKind::Authentication,
                    "the credentials contain characters that cannot go in an HTTP header",
                )
            })?;
            value.set_sensitive(true);
            headers.insert(http::header::AUTHORIZATION, value);
        }
        Ok(HttpRequest {
            method: prepared.method.clone(),
            url: prepared.url.clone(),
            headers,
            body: prepared.body.clone(),
        })
    }
}

impl Response {
    /// An error for a 2xx body that reports a failure (`{"status": "error"}`).
    pub(crate) fn status_error(&self, body: &[u8]) -> Error {
        self.invalid(body)
            .with_kind(ErrorKind::BadRequest)
            .with_message("Mixpanel reported an error")
    }
}

/// Replaces the first `key` in place (dropping any later duplicates), or
/// appends it.
fn set_param(params: &mut Vec<(String, Value)>, key: &str, value: Value) {
    match params.iter().position(|(existing, _)| existing == key) {
        Some(index) => {
            params[index].1 = value;
            let mut seen = 0;
            params.retain(|(existing, _)| {
                if existing != key {
                    return true;
                }
                seen += 1;
                seen == 1
            });
        }
        None => params.push((key.to_owned(), value)),
    }
}

/// The wire form of a parameter value: strings verbatim, numbers in decimal,
/// booleans `true`/`false`, `null` empty, arrays as repeated keys (nested
/// containers as compact JSON), objects as compact JSON.
fn wire_values(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().map(wire_scalar).collect(),
        other => vec![wire_scalar(other)],
    }
}

fn wire_scalar(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        Value::Null => String::new(),
        container => container.to_string(),
    }
}

fn header_name(name: &str) -> Result<HeaderName, Error> {
    HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| Error::config(format!("`{name}` is not a valid HTTP header name")))
}

fn header_value(name: &str, value: &str) -> Result<HeaderValue, Error> {
    // Do not quote the value: a custom header may carry a credential.
    let mut value = HeaderValue::from_str(value)
        .map_err(|_| Error::config(format!("the value of header `{name}` is not valid in HTTP")))?;
    if name.eq_ignore_ascii_case("authorization") || crate::encoding::is_secret_name(name) {
        // hyper keeps sensitive values out of HPACK tables and Debug output.
        value.set_sensitive(true);
    }
    Ok(value)
}

/// Reads and drops a small body so the connection can be reused.
async fn drain(mut body: ResponseBody, deadline: tokio::time::Instant) {
    let mut n_read = 0;
    while n_read <= MAX_DRAIN {
        match tokio::time::timeout_at(deadline, body.next_chunk()).await {
            Ok(Some(Ok(chunk))) => n_read += chunk.len(),
            _ => return,
        }
    }
}

/// Reads an error body (up to [`MAX_ERROR_BODY`]); a failure part-way keeps
/// what arrived, since the status alone already says what went wrong.
async fn read_error_body(
    mut body: ResponseBody,
    deadline: tokio::time::Instant,
    gzip: bool,
) -> Bytes {
    let mut buffer = Vec::new();
    while buffer.len() < MAX_ERROR_BODY {
        match tokio::time::timeout_at(deadline, body.next_chunk()).await {
            Ok(Some(Ok(chunk))) => buffer.extend_from_slice(&chunk),
            _ => break,
        }
    }
    if gzip {
        let mut decoder = crate::lines::GzipDecoder::new();
        let mut decoded = match decoder.decode(&buffer) {
            Ok(decoded) => decoded.to_vec(),
            Err(_) => return Bytes::from(buffer),
        };
        if let Ok(rest) = decoder.finish() {
            decoded.extend_from_slice(&rest);
        }
        return Bytes::from(decoded);
    }
    buffer.truncate(MAX_ERROR_BODY);
    Bytes::from(buffer)
}
