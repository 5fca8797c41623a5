//! The one error type of `mp-http`: a kind plus the request's context.
//!
//! Every failed request carries what a person needs to act on it (what
//! failed, why, what Mixpanel said, a hint) and what a conformance runner
//! needs to compare it with Mixpanel's official client (method, URL without
//! the query string, JSON-typed parameters, status, parsed-or-text body,
//! `Retry-After`). Credentials never get in: URLs lose their userinfo and
//! query string, and parameters whose names look like credentials are
//! replaced by `REDACTED` before they are stored.

use std::time::Duration;

use serde_json::{Map, Value};

/// A boxed error for the cause chain.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What failed. Marked `#[non_exhaustive]`: match with a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 401: the credentials were refused.
    Authentication,
    /// 403: the credentials are valid but may not do this.
    Permission,
    /// 400 and every other 4xx without a kind of its own: the request or query was rejected.
    BadRequest,
    /// 404.
    NotFound,
    /// 429, after every allowed retry.
    RateLimited,
    /// 5xx, after every allowed retry.
    Server,
    /// The request could not be sent or the response could not be read
    /// (connection refused or reset, TLS, DNS, …).
    Transport,
    /// A connect timeout, a request deadline, an export idle timeout, or a 408.
    Timeout,
    /// A 2xx response that is not what the API promises (not JSON, wrong shape).
    InvalidResponse,
    /// A streamed response ended early: the connection dropped, the gzip
    /// stream is incomplete, or Mixpanel wrote its "terminated early" marker.
    TruncatedStream,
    /// An `http://` URL to a host that is not loopback (credentials would
    /// travel in clear text).
    InsecureUrl,
    /// A configuration value this crate was given is invalid.
    Config,
}

impl ErrorKind {
    /// A short lower-case name: `authentication`, `rate_limited`, …
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Authentication => "authentication",
            ErrorKind::Permission => "permission",
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::NotFound => "not_found",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Server => "server",
            ErrorKind::Transport => "transport",
            ErrorKind::Timeout => "timeout",
            ErrorKind::InvalidResponse => "invalid_response",
            ErrorKind::TruncatedStream => "truncated_stream",
            ErrorKind::InsecureUrl => "insecure_url",
            ErrorKind::Config => "config",
        }
    }

    /// The kind of a non-2xx HTTP status.
    pub fn from_status(status: u16) -> ErrorKind {
        match status {
            400 => ErrorKind::BadRequest,
            401 => ErrorKind::Authentication,
            403 => ErrorKind::Permission,
            404 => ErrorKind::NotFound,
            408 => ErrorKind::Timeout,
            429 => ErrorKind::RateLimited,
            402 | 405..=499 => ErrorKind::BadRequest,
            500..=599 => ErrorKind::Server,
            _ => ErrorKind::InvalidResponse,
        }
    }

    /// What failed, for the first words of a message.
    fn headline(self) -> &'static str {
        match self {
            ErrorKind::Authentication => "authentication failed",
            ErrorKind::Permission => "permission denied",
            ErrorKind::BadRequest => "Mixpanel rejected the request",
            ErrorKind::NotFound => "not found",
            ErrorKind::RateLimited => "rate limited by Mixpanel",
            ErrorKind::Server => "Mixpanel server error",
            ErrorKind::Transport => "could not talk to Mixpanel",
            ErrorKind::Timeout => "request timed out",
            ErrorKind::InvalidResponse => "invalid response from Mixpanel",
            ErrorKind::TruncatedStream => "the response stream ended early",
            ErrorKind::InsecureUrl => "insecure URL",
            ErrorKind::Config => "invalid configuration",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of an error response as the official client reports it: parsed
/// JSON when the body parses as JSON, the text otherwise.
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseBodyDetail {
    /// The body parsed as JSON.
    Json(Value),
    /// The body as text (lossy UTF-8), when it is not JSON.
    Text(String),
}

/// An error from `mp-http`: [`Error::kind`] says what failed, the accessors
/// give the request's context. `Display` is for people; the cause chain is
/// kept in `source()`.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.render())]
pub struct Error {
    inner: Box<ErrorInner>,
    #[source]
    source: Option<BoxError>,
}

#[derive(Debug, Clone)]
struct ErrorInner {
    kind: ErrorKind,
    message: Option<String>,
    method: Option<String>,
    url: Option<String>,
    params: Option<Map<String, Value>>,
    request_body: Option<Value>,
    status: Option<u16>,
    server_message: Option<String>,
    response_text: Option<String>,
    response_body: Option<ResponseBodyDetail>,
    content_type: Option<String>,
    retry_after: Option<Duration>,
    project_id: Option<String>,
    attempts: u32,
    elapsed: Duration,
    details: Map<String, Value>,
}

impl ErrorInner {
    fn new(kind: ErrorKind) -> ErrorInner {
        ErrorInner {
            kind,
            message: None,
            method: None,
            url: None,
            params: None,
            request_body: None,
            status: None,
            server_message: None,
            response_text: None,
            response_body: None,
            content_type: None,
            retry_after: None,
            project_id: None,
            attempts: 0,
            elapsed: Duration::ZERO,
            details: Map::new(),
        }
    }
}

impl Error {
    /// An error of `kind` with a human message and no request context.
    ///
    /// Note that `message` is shown to people as is: never put a credential
    /// in it.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            inner: Box::new(ErrorInner {
                message: Some(message.into()),
                ..ErrorInner::new(kind)
            }),
            source: None,
        }
    }

    /// An [`ErrorKind::Config`] error.
    pub fn config(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Config, message)
    }

    /// An error of `kind` without a message of its own; the message is made
    /// from the context (method, URL, status, server message).
    pub(crate) fn bare(kind: ErrorKind) -> Error {
        Error {
            inner: Box::new(ErrorInner::new(kind)),
            source: None,
        }
    }

    /// Sets the cause of this error (shown as "caused by" lines).
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Error {
        self.source = Some(Box::new(source));
        self
    }

    /// Adds a structured detail (for example `results_type` on an invalid
    /// App API page). A value under a credential-looking key is redacted.
    pub fn with_detail(mut self, key: impl Into<String>, value: impl Into<Value>) -> Error {
        let key = key.into();
        let value = redact_value(&key, value.into());
        self.inner.details.insert(key, value);
        self
    }

    pub(crate) fn with_kind(mut self, kind: ErrorKind) -> Error {
        self.inner.kind = kind;
        self
    }

    /// Replaces the human message.
    pub fn with_message(mut self, message: impl Into<String>) -> Error {
        self.inner.message = Some(message.into());
        self
    }

    pub(crate) fn with_request(
        mut self,
        method: &str,
        url: &str,
        params: Option<&Map<String, Value>>,
        request_body: Option<&Value>,
    ) -> Error {
        self.inner.method = Some(method.to_owned());
        self.inner.url = Some(crate::encoding::url_without_query(url));
        self.inner.params = params.map(redact_map);
        self.inner.request_body = request_body.map(|body| match body {
            Value::Object(object) => Value::Object(redact_map(object)),
            other => other.clone(),
        });
        self
    }

    pub(crate) fn with_project_id(mut self, project_id: Option<&str>) -> Error {
        self.inner.project_id = project_id.map(str::to_owned);
        self
    }

    /// Records the HTTP status and the error body (parsed when it is JSON),
    /// and extracts the server's message from it.
    pub(crate) fn with_response(
        mut self,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Error {
        self.inner.status = Some(status);
        self.inner.content_type = content_type.map(str::to_owned);
        if !body.is_empty() {
            let text = String::from_utf8_lossy(body).into_owned();
            let detail = match serde_json::from_slice::<Value>(body) {
                Ok(json) => ResponseBodyDetail::Json(json),
                Err(_) => ResponseBodyDetail::Text(text.clone()),
            };
            self.inner.server_message = server_message_of(&detail);
            self.inner.response_body = Some(detail);
            self.inner.response_text = Some(text);
        }
        self
    }

    pub(crate) fn with_retry_after(mut self, retry_after: Option<Duration>) -> Error {
        self.inner.retry_after = retry_after;
        self
    }

    pub(crate) fn with_attempts(mut self, attempts: u32, elapsed: Duration) -> Error {
        self.inner.attempts = attempts;
        self.inner.elapsed = elapsed;
        self
    }

    /// What failed.
    pub fn kind(&self) -> &ErrorKind {
        &self.inner.kind
    }

    /// The HTTP status of the failed response, if there was one.
    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }

    /// The request method (`GET`, `POST`, …).
    pub fn method(&self) -> Option<&str> {
        self.inner.method.as_deref()
    }

    /// The request URL without its query string or any userinfo.
    pub fn url(&self) -> Option<&str> {
        self.inner.url.as_deref()
    }

    /// The query parameters as sent, keeping their JSON types (`"limit": 5000`),
    /// including the injected `project_id`, `query_origin` and `workspace_id`.
    /// A parameter sent several times maps to the array of its values.
    pub fn params(&self) -> Option<&Map<String, Value>> {
        self.inner.params.as_ref()
    }

    /// The JSON or form body of the request, if it had one (a form body is an
    /// object of its pairs).
    pub fn request_body(&self) -> Option<&Value> {
        self.inner.request_body.as_ref()
    }

    /// The server's own message, extracted from `{"error": …}`,
    /// `{"request": …, "error": …}`, `{"status": "error", "error": …}` or a
    /// plain-text body. `None` when the body is empty or says nothing.
    pub fn server_message(&self) -> Option<&str> {
        self.inner.server_message.as_deref()
    }

    /// The error response's body: parsed JSON when it parses, text otherwise.
    /// `None` when the body was empty.
    pub fn response_body(&self) -> Option<&ResponseBodyDetail> {
        self.inner.response_body.as_ref()
    }

    /// The error response's body as raw text (lossy UTF-8), `None` when empty.
    pub fn response_text(&self) -> Option<&str> {
        self.inner.response_text.as_deref()
    }

    /// The response's `Content-Type`, when known.
    pub fn content_type(&self) -> Option<&str> {
        self.inner.content_type.as_deref()
    }

    /// The wait the server asked for in its last `Retry-After`, as it said it
    /// (not capped), when the header was usable.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// The project the request was made for, when the client had one.
    pub fn project_id(&self) -> Option<&str> {
        self.inner.project_id.as_deref()
    }

    /// How many attempts were made (0 when nothing was sent).
    pub fn attempts(&self) -> u32 {
        self.inner.attempts
    }

    /// Time from the first attempt to the failure, on the client's clock.
    pub fn elapsed(&self) -> Duration {
        self.inner.elapsed
    }

    /// Extra structured details (for example `results_type` and `path` for an
    /// App API page whose `results` is not a list).
    pub fn details(&self) -> &Map<String, Value> {
        &self.inner.details
    }

    /// A short suggestion for a person, when there is a useful one.
    pub fn hint(&self) -> Option<String> {
        let hint = match self.kind() {
            ErrorKind::Authentication => {
                "check the credentials, or log in again with `mp account login`".to_owned()
            }
            ErrorKind::Permission => {
                "check that this account may access the project (and workspace) you asked for"
                    .to_owned()
            }
            ErrorKind::NotFound => {
                "check the project id, the region and the name or id you asked for".to_owned()
            }
            ErrorKind::RateLimited => match self.retry_after() {
                Some(wait) => format!(
                    "Mixpanel limits how often you may query; wait {} and try again",
                    format_wait(wait)
                ),
                None => "Mixpanel limits how often you may query; wait a minute and try again"
                    .to_owned(),
            },
            ErrorKind::Server => "Mixpanel had a problem; try again later".to_owned(),
            ErrorKind::Transport => {
                "check the network connection, the region and any base-URL override".to_owned()
            }
            ErrorKind::Timeout => {
                "the request took too long; try a smaller date range, or raise the timeout"
                    .to_owned()
            }
            ErrorKind::TruncatedStream => {
                "run it again, perhaps over a smaller date range".to_owned()
            }
            ErrorKind::InsecureUrl => {
                "use `https://`, or `http://127.0.0.1:PORT` for a local sandbox".to_owned()
            }
            ErrorKind::BadRequest | ErrorKind::InvalidResponse | ErrorKind::Config => {
                return None;
            }
        };
        Some(hint)
    }

    /// The human message: what failed, on which request, and why.
    fn render(&self) -> String {
        let inner = &self.inner;
        let kind = *self.kind();
        let mut out = String::new();
        match &inner.message {
            Some(message) => out.push_str(message),
            None => out.push_str(kind.headline()),
        }
        if let (Some(method), Some(url)) = (&inner.method, &inner.url) {
            out.push_str(&format!(": `{method} {url}`"));
            if let Some(status) = inner.status {
                out.push_str(&format!(" returned {}", status_text(status)));
            }
        } else if let Some(status) = inner.status {
            out.push_str(&format!(": status {}", status_text(status)));
        }
        if let Some(server_message) = &inner.server_message {
            out.push_str(&format!(": {server_message}"));
        }
        if inner.attempts > 1 {
            out.push_str(&format!(
                " (failed after {} attempts in {:.1}s)",
                inner.attempts,
                inner.elapsed.as_secs_f64()
            ));
        }
        out
    }
}

/// `401 Unauthorized`, `599` (a status without a canonical reason).
fn status_text(status: u16) -> String {
    match http::StatusCode::from_u16(status)
        .ok()
        .and_then(|code| code.canonical_reason())
    {
        Some(reason) => format!("{status} {reason}"),
        None => status.to_string(),
    }
}

/// `45s`, `2m 5s`.
fn format_wait(wait: Duration) -> String {
    let seconds = wait.as_secs();
    if seconds >= 60 {
        format!("{}m {}s", seconds / 60, seconds % 60)
    } else {
        format!("{seconds}s")
    }
}

/// Longest server message we show; bodies can be whole HTML pages.
const MAX_SERVER_MESSAGE: usize = 500;

/// Extracts the server's message from every error shape Mixpanel uses.
fn server_message_of(body: &ResponseBodyDetail) -> Option<String> {
    let message = match body {
        ResponseBodyDetail::Json(Value::Object(object)) => {
            // `{"error": "…"}`, `{"request": …, "error": "…"}` and the App
            // API's `{"status": "error", "error": "…"}` all carry it in
            // `error`; OAuth uses `error_description`, some App API errors
            // `message` or `detail`.
            ["error_description", "error", "message", "detail"]
                .iter()
                .filter_map(|key| object.get(*key))
                .find_map(message_of_value)?
        }
        ResponseBodyDetail::Json(Value::String(text)) => text.trim().to_owned(),
        ResponseBodyDetail::Json(_) => return None,
        ResponseBodyDetail::Text(text) => {
            let text = text.trim();
            // An HTML error page says nothing a person can use.
            if text.starts_with('<') {
                return None;
            }
            text.to_owned()
        }
    };
    if message.is_empty() {
        return None;
    }
    Some(truncate(&message, MAX_SERVER_MESSAGE))
}

fn message_of_value(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_owned()),
        Value::String(_) | Value::Null => None,
        Value::Object(object) => match object.get("message") {
            Some(Value::String(text)) if !text.trim().is_empty() => Some(text.trim().to_owned()),
            _ => Some(value.to_string()),
        },
        other => Some(other.to_string()),
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Replaces the value of every credential-looking key with `REDACTED`.
fn redact_map(params: &Map<String, Value>) -> Map<String, Value> {
    params
        .iter()
        .map(|(key, value)| (key.clone(), redact_value(key, value.clone())))
        .collect()
}

fn redact_value(key: &str, value: Value) -> Value {
    if crate::encoding::is_secret_name(key) {
        Value::String("REDACTED".to_owned())
    } else {
        value
    }
}
