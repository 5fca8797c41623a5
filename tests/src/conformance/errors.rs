//! Encoding our errors into the recorded `{class, code, details_contain}` shape (RUNNER-SPEC.md §8.1).
//!
//! The official client raises one exception class per failure family, and which detail keys it attaches depends on
//! the code path that raised. Our crates have one error type with a kind and accessors; this module is the binding
//! layer between the two:
//!
//! | `mp_http::ErrorKind` | class / code |
//! |---|---|
//! | `Authentication` (401) | `AuthenticationError` / `AUTH_FAILED` |
//! | `BadRequest`, `Permission`, `NotFound`, `Timeout` with a status (400, 403, 404, 408, other 4xx) | `QueryError` / `QUERY_FAILED` |
//! | `RateLimited` (429) | `RateLimitError` / `RATE_LIMITED` |
//! | `Server` (5xx) | `ServerError` / `SERVER_ERROR` |
//! | `InvalidResponse` | `MixpanelHeadlessError` / `INVALID_RESPONSE` |
//! | `Transport`, `Timeout` without a status, `TruncatedStream` | `MixpanelHeadlessError` / `HTTP_ERROR` |
//! | `InsecureUrl`, `Config` | `ConfigError` / `CONFIG_ERROR` (no recorded counterpart) |
//!
//! Details, by [`DetailStyle`]:
//!
//! - [`DetailStyle::Executor`], the official client's generic request executor (every Query API call): for an HTTP
//!   status, `request_method`, `request_url` (no query string), `request_params` (JSON-typed, as held before
//!   encoding), `request_body` when there was one, `response_body` (parsed JSON, else text; left out when empty) and
//!   `status_code`; a 429 carries `project_id` and `retry_after` (whole seconds, left out when the header was
//!   unusable) instead of the body. A transport failure carries `error` (the transport's message) with the request
//!   fields. `INVALID_RESPONSE` carries no details.
//! - [`DetailStyle::Paginate`], the official `paginate_all`: `request_method`, `request_url`, `response_body` as raw
//!   text, `status_code`, and `retry_after` on a 429; never `request_params` nor `project_id`. `INVALID_RESPONSE`
//!   carries `path` and `results_type` for a page whose `results` is not a list, `content_type` otherwise.

use serde_json::{Map, Value};

use mp_http::{ErrorKind, ResponseBodyDetail, TransportError, TransportErrorKind};

/// Which of the official client's code paths an error is reported like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetailStyle {
    /// The generic request executor (`_request`, the Query API).
    Executor,
    /// `paginate_all` (App API cursor pagination).
    Paginate,
}

/// Encodes an `mp-http` error as the official client would have raised it.
pub fn encode_http_error(error: &mp_http::Error, style: DetailStyle) -> Value {
    let status = error.status();
    let (class, code) = match (error.kind(), status) {
        (ErrorKind::Authentication, _) => ("AuthenticationError", "AUTH_FAILED"),
        (ErrorKind::RateLimited, _) => ("RateLimitError", "RATE_LIMITED"),
        (ErrorKind::Server, _) => ("ServerError", "SERVER_ERROR"),
        (ErrorKind::BadRequest | ErrorKind::Permission | ErrorKind::NotFound, _) => {
            ("QueryError", "QUERY_FAILED")
        }
        (ErrorKind::Timeout, Some(_)) => ("QueryError", "QUERY_FAILED"),
        (ErrorKind::InvalidResponse, _) => ("MixpanelHeadlessError", "INVALID_RESPONSE"),
        (ErrorKind::Transport | ErrorKind::Timeout | ErrorKind::TruncatedStream, _) => {
            ("MixpanelHeadlessError", "HTTP_ERROR")
        }
        (ErrorKind::InsecureUrl | ErrorKind::Config, _) => ("ConfigError", "CONFIG_ERROR"),
        // ErrorKind is non-exhaustive: a kind added later shows up as a mismatch, not a crash.
        (other, _) => return error_value("UnmappedError", Some(other.as_str()), Map::new()),
    };
    let details = match code {
        "INVALID_RESPONSE" => invalid_response_details(error, style),
        "HTTP_ERROR" => transport_details(error, style),
        "CONFIG_ERROR" => Map::new(),
        _ => status_details(error, style),
    };
    error_value(class, Some(code), details)
}

/// `{"class": …, "code": …, "details_contain": …}`, leaving out `code` when there is none and `details_contain`
/// when it is empty, as the Python runner encodes errors.
pub fn error_value(class: &str, code: Option<&str>, details: Map<String, Value>) -> Value {
    let mut error = Map::new();
    error.insert("class".to_owned(), Value::from(class));
    if let Some(code) = code {
        error.insert("code".to_owned(), Value::from(code));
    }
    if !details.is_empty() {
        error.insert("details_contain".to_owned(), Value::Object(details));
    }
    Value::Object(error)
}

/// The class httpx gives a transport failure of this kind (for `wirestub`, where failures propagate unwrapped).
pub fn transport_class(kind: TransportErrorKind) -> &'static str {
    match kind {
        TransportErrorKind::Connect => "ConnectError",
        TransportErrorKind::Timeout => "TimeoutException",
        TransportErrorKind::ConnectionReset => "RemoteProtocolError",
        _ => "TransportError",
    }
}

fn request_details(error: &mp_http::Error, style: DetailStyle) -> Map<String, Value> {
    let mut details = Map::new();
    if let Some(method) = error.method() {
        details.insert("request_method".to_owned(), Value::from(method));
    }
    if let Some(url) = error.url() {
        details.insert("request_url".to_owned(), Value::from(url));
    }
    if style == DetailStyle::Executor {
        if let Some(params) = error.params() {
            details.insert("request_params".to_owned(), Value::Object(params.clone()));
        }
        if let Some(body) = error.request_body() {
            details.insert("request_body".to_owned(), body.clone());
        }
    }
    details
}

fn status_details(error: &mp_http::Error, style: DetailStyle) -> Map<String, Value> {
    let mut details = request_details(error, style);
    let rate_limited = *error.kind() == ErrorKind::RateLimited;
    match style {
        DetailStyle::Executor if rate_limited => {
            if let Some(project_id) = error.project_id() {
                details.insert("project_id".to_owned(), Value::from(project_id));
            }
        }
        DetailStyle::Executor => match error.response_body() {
            Some(ResponseBodyDetail::Json(json)) => {
                details.insert("response_body".to_owned(), json.clone());
            }
            Some(ResponseBodyDetail::Text(text)) => {
                details.insert("response_body".to_owned(), Value::from(text.as_str()));
            }
            None => {}
        },
        DetailStyle::Paginate => {
            if let Some(text) = error.response_text() {
                details.insert("response_body".to_owned(), Value::from(text));
            }
        }
    }
    if rate_limited && let Some(retry_after) = error.retry_after() {
        details.insert("retry_after".to_owned(), Value::from(retry_after.as_secs()));
    }
    if let Some(status) = error.status() {
        details.insert("status_code".to_owned(), Value::from(status));
    }
    details
}

fn transport_details(error: &mp_http::Error, style: DetailStyle) -> Map<String, Value> {
    let mut details = request_details(error, style);
    let message = transport_error_of(error)
        .map_or_else(|| error.to_string(), |cause| cause.message().to_owned());
    details.insert("error".to_owned(), Value::from(message));
    details
}

fn invalid_response_details(error: &mp_http::Error, style: DetailStyle) -> Map<String, Value> {
    let mut details = Map::new();
    if style == DetailStyle::Paginate {
        let ours = error.details();
        let keys: &[&str] = if ours.contains_key("results_type") {
            &["path", "results_type"]
        } else {
            &["content_type"]
        };
        for key in keys {
            if let Some(value) = ours.get(*key) {
                details.insert((*key).to_owned(), value.clone());
            }
        }
    }
    details
}

/// The transport failure somewhere in the cause chain of `error`, if any.
pub fn transport_error_of<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a TransportError> {
    let mut cause: Option<&'a (dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(transport) = current.downcast_ref::<TransportError>() {
            return Some(transport);
        }
        cause = current.source();
    }
    None
}
