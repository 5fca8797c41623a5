//! The `wirestub` test client (RUNNER-SPEC.md §3.8, capability `compat`): a trivial client with base URL
//! `https://wirestub.invalid` that sends exactly the requests its arguments describe, straight through the
//! `mp_http::Transport` seam. Its eight vectors test the runner itself (header subset and pattern matching,
//! `params_absent`, text bodies, transport errors, sequences with a JSON body, unordered groups, chunked streaming).

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Map, Value};

use mp_http::{HttpRequest, Transport};

use super::errors::{error_value, transport_class};
use super::replay::ReplayTransport;

/// The stub's base URL.
pub const WIRESTUB_BASE_URL: &str = "https://wirestub.invalid";

/// One stub request.
#[derive(Debug, Clone)]
pub struct StubRequest {
    /// The method, as given.
    pub method: String,
    /// The path below the base URL.
    pub path: String,
    /// Query parameters, in order (a list value repeats the key).
    pub params: Vec<(String, Value)>,
    /// Headers, sent verbatim.
    pub headers: Vec<(String, String)>,
    /// A JSON body, sent compact with `Content-Type: application/json`.
    pub json_body: Option<Value>,
}

/// Sends `request` and returns `{"status": …, "body": …}`: the body parsed as JSON when the response's content type
/// contains `json`, its text otherwise. A transport failure propagates unwrapped as `{"class": "<httpx class>"}`.
pub async fn request(
    transport: &Arc<ReplayTransport>,
    request: &StubRequest,
) -> Result<Value, Value> {
    let response = transport
        .send(http_request(request)?)
        .await
        .map_err(|error| error_value(transport_class(error.kind()), None, Map::new()))?;
    let is_json = response
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.contains("json"));
    let bytes = response
        .body
        .collect()
        .await
        .map_err(|error| error_value(transport_class(error.kind()), None, Map::new()))?;
    let body = match is_json.then(|| serde_json::from_slice::<Value>(&bytes)) {
        Some(Ok(json)) => json,
        _ => Value::String(String::from_utf8_lossy(&bytes).into_owned()),
    };
    let mut result = Map::new();
    result.insert("status".to_owned(), Value::from(response.status.as_u16()));
    result.insert("body".to_owned(), body);
    Ok(Value::Object(result))
}

/// Sends `request` and returns the raw body chunks, each decoded as UTF-8, exactly as the transport delivered them.
pub async fn stream_chunks(
    transport: &Arc<ReplayTransport>,
    request: &StubRequest,
) -> Result<Value, Value> {
    let response = transport
        .send(http_request(request)?)
        .await
        .map_err(|error| error_value(transport_class(error.kind()), None, Map::new()))?;
    let mut body = response.body;
    let mut chunks = Vec::new();
    while let Some(chunk) = body.next_chunk().await {
        let chunk =
            chunk.map_err(|error| error_value(transport_class(error.kind()), None, Map::new()))?;
        chunks.push(Value::String(String::from_utf8_lossy(&chunk).into_owned()));
    }
    Ok(Value::Array(chunks))
}

fn http_request(request: &StubRequest) -> Result<HttpRequest, Value> {
    let runner_error = |what: String| {
        let mut details = Map::new();
        details.insert("error".to_owned(), Value::String(what));
        error_value("RunnerError", Some("BAD_STUB_REQUEST"), details)
    };
    let method = http::Method::from_bytes(request.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| runner_error(format!("bad method `{}`", request.method)))?;
    let mut url = format!("{WIRESTUB_BASE_URL}{}", request.path);
    let mut separator = '?';
    for (key, value) in &request.params {
        let values = match value {
            Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        };
        for value in values {
            let text = match value {
                Value::String(text) => text,
                other => other.to_string(),
            };
            url.push(separator);
            url.push_str(&encode_component(key));
            url.push('=');
            url.push_str(&encode_component(&text));
            separator = '&';
        }
    }
    let mut headers = http::HeaderMap::new();
    let mut body = Bytes::new();
    if let Some(json) = &request.json_body {
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        body =
            Bytes::from(serde_json::to_vec(json).map_err(|error| runner_error(error.to_string()))?);
    }
    for (name, value) in &request.headers {
        let name = http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| runner_error(format!("bad header name `{name}`")))?;
        let value = http::HeaderValue::from_str(value)
            .map_err(|_| runner_error(format!("bad value of `{name}`")))?;
        headers.insert(name, value);
    }
    Ok(HttpRequest {
        method,
        url,
        headers,
        body,
    })
}

/// Form-encodes a query component: unreserved characters stay, space becomes `+`, everything else `%XX`.
fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for &byte in text.as_bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}
