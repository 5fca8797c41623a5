//! The replay transport (RUNNER-SPEC.md §4) and the determinism environment (§10).
//!
//! [`ReplayTransport`] implements `mp_http::Transport`, the seam below which nothing of ours runs, so what it
//! captures is exactly what the port sends. It serves the recorded responses positionally, never looking at the
//! request (mismatches are found by the diff afterwards), except inside an unordered group, where the member whose
//! key matches the request is served. A request with nothing left to serve is an *extra request*: it is recorded and
//! fails with a `TransportErrorKind::Other` error, which no retry policy of `mp-http` retries, so retry loops stop at
//! once.

use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::Value;

use mp_http::{
    BoxFuture, HttpRequest, HttpResponse, ResponseBody, Transport, TransportError,
    TransportErrorKind, VirtualClock,
};

use super::canonical::interaction_key;
use super::compare::CapturedRequest;

/// The recording's frozen instant, 2026-01-15T12:00:00Z (`record_epoch` of `manifest.json`), in Unix seconds.
pub const RECORD_EPOCH_UNIX_SECONDS: u64 = 1_768_478_400;

/// A clock frozen at the recording's epoch whose sleeps return at once and move it forward (§10). One per vector.
pub fn frozen_clock() -> VirtualClock {
    VirtualClock::new(UNIX_EPOCH + Duration::from_secs(RECORD_EPOCH_UNIX_SECONDS))
}

/// The message of the error an extra request fails with.
pub const EXTRA_REQUEST_MESSAGE: &str =
    "conformance replay: extra request, no recorded interaction left to serve";

/// Serves one vector's recorded interactions and captures every request.
#[derive(Debug)]
pub struct ReplayTransport {
    interactions: Vec<Value>,
    state: Mutex<ReplayState>,
}

#[derive(Debug, Default)]
struct ReplayState {
    consumed: Vec<bool>,
    served: Vec<(usize, CapturedRequest)>,
    extra: Vec<CapturedRequest>,
}

/// What the transport saw, once the calls are over.
#[derive(Debug, Clone)]
pub struct ReplayLog {
    /// (recorded index, captured request) in serve order.
    pub served: Vec<(usize, CapturedRequest)>,
    /// Requests that came when nothing was left to serve.
    pub extra: Vec<CapturedRequest>,
    /// Recorded indexes never served.
    pub never_served: Vec<usize>,
}

impl ReplayTransport {
    /// A transport serving `interactions` (the vector's `expect.interactions`).
    pub fn new(interactions: Vec<Value>) -> Arc<ReplayTransport> {
        let consumed = vec![false; interactions.len()];
        Arc::new(ReplayTransport {
            interactions,
            state: Mutex::new(ReplayState {
                consumed,
                ..ReplayState::default()
            }),
        })
    }

    /// The `scheme_host` of the lowest-index recorded interaction not yet served: the base URL of the clients the
    /// region-probe factory hands out, and the host the OAuth flow's region is derived from (§3.7).
    pub fn next_scheme_host(&self) -> Option<String> {
        let state = self.lock();
        let next = (0..self.interactions.len()).find(|&index| !state.consumed[index])?;
        self.interactions[next]
            .pointer("/request/scheme_host")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// What was served and captured so far.
    pub fn log(&self) -> ReplayLog {
        let state = self.lock();
        ReplayLog {
            served: state.served.clone(),
            extra: state.extra.clone(),
            never_served: (0..self.interactions.len())
                .filter(|&index| !state.consumed[index])
                .collect(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ReplayState> {
        // A panic while the lock was held fails that vector anyway; the state is still plain data.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Picks the interaction that answers `captured` (§4.1 steps 2–5) and marks it consumed.
    fn choose(&self, captured: CapturedRequest) -> Option<usize> {
        let mut state = self.lock();
        let Some(head) = (0..self.interactions.len()).find(|&index| !state.consumed[index]) else {
            state.extra.push(captured);
            return None;
        };
        let chosen = match self.interactions[head].get("unordered_group") {
            None => head,
            Some(group) => {
                let members: Vec<usize> = (head..self.interactions.len())
                    .filter(|&index| {
                        !state.consumed[index]
                            && self.interactions[index].get("unordered_group") == Some(group)
                    })
                    .collect();
                let key = interaction_key(
                    captured.core.get("method").unwrap_or(&Value::Null),
                    captured.core.get("path").unwrap_or(&Value::Null),
                    captured.core.get("params"),
                )
                .ok();
                members
                    .iter()
                    .copied()
                    .find(|&index| {
                        let request = self.interactions[index]
                            .get("request")
                            .unwrap_or(&Value::Null);
                        let recorded_key = interaction_key(
                            request.get("method").unwrap_or(&Value::Null),
                            request.get("path").unwrap_or(&Value::Null),
                            request.get("params"),
                        )
                        .ok();
                        key.is_some() && recorded_key == key
                    })
                    .unwrap_or(head)
            }
        };
        state.consumed[chosen] = true;
        state.served.push((chosen, captured));
        Some(chosen)
    }
}

impl Transport for ReplayTransport {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        let captured = CapturedRequest::capture(
            request.method.as_str(),
            &request.url,
            &request.headers,
            &request.body,
        );
        let result = match self.choose(captured) {
            None => Err(TransportError::new(
                TransportErrorKind::Other,
                EXTRA_REQUEST_MESSAGE,
            )),
            Some(index) => build_response(
                self.interactions[index]
                    .get("response")
                    .unwrap_or(&Value::Null),
            ),
        };
        Box::pin(std::future::ready(result))
    }
}

/// The transport error kind a recorded httpx exception class maps to, or None when this runner cannot raise it
/// (the vector is then unsupported).
pub fn transport_error_kind(class: &str) -> Option<TransportErrorKind> {
    match class {
        "ConnectError" => Some(TransportErrorKind::Connect),
        "TimeoutException" | "ConnectTimeout" | "ReadTimeout" | "WriteTimeout" | "PoolTimeout" => {
            Some(TransportErrorKind::Timeout)
        }
        _ => None,
    }
}

/// Builds the response of §4.2: `body` as compact JSON in file order, `body_text` as UTF-8, `body_base64` decoded,
/// `body_stream` as a stream with exactly the recorded chunk boundaries, or the recorded transport failure.
fn build_response(response: &Value) -> Result<HttpResponse, TransportError> {
    let other = |message: String| TransportError::new(TransportErrorKind::Other, message);
    if let Some(class) = response.get("transport_error").and_then(Value::as_str) {
        let message = response
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let kind = transport_error_kind(class)
            .ok_or_else(|| other(format!("unsupported transport error `{class}`")))?;
        return Err(TransportError::new(kind, message));
    }
    let status = response
        .get("status")
        .and_then(Value::as_u64)
        .and_then(|status| u16::try_from(status).ok())
        .and_then(|status| http::StatusCode::from_u16(status).ok())
        .ok_or_else(|| other(format!("recorded response has no valid status: {response}")))?;
    let mut headers = http::HeaderMap::new();
    if let Some(Value::Object(recorded)) = response.get("headers") {
        for (name, value) in recorded {
            let name = http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| other(format!("recorded header name `{name}` is not valid")))?;
            let value = http::HeaderValue::from_str(value.as_str().unwrap_or_default())
                .map_err(|_| other(format!("recorded value of header `{name}` is not valid")))?;
            headers.append(name, value);
        }
    }
    let body = if let Some(json) = response.get("body") {
        let bytes =
            serde_json::to_vec(json).map_err(|error| other(format!("recorded body: {error}")))?;
        ResponseBody::from_bytes(bytes)
    } else if let Some(text) = response.get("body_text").and_then(Value::as_str) {
        ResponseBody::from_bytes(Bytes::copy_from_slice(text.as_bytes()))
    } else if let Some(encoded) = response.get("body_base64").and_then(Value::as_str) {
        ResponseBody::from_bytes(decode_base64(encoded).map_err(other)?)
    } else if let Some(Value::Array(chunks)) = response.get("body_stream") {
        let mut decoded = Vec::with_capacity(chunks.len());
        for chunk in chunks {
            let data = chunk
                .get("data")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let bytes = match chunk.get("encoding").and_then(Value::as_str) {
                Some("base64") => decode_base64(data).map_err(other)?,
                _ => data.as_bytes().to_vec(),
            };
            decoded.push(Ok(Bytes::from(bytes)));
        }
        ResponseBody::from_stream(ChunkStream::new(decoded))
    } else {
        ResponseBody::empty()
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn decode_base64(encoded: &str) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|error| format!("recorded base64 does not decode: {error}"))
}

/// A body stream that yields to the scheduler before each chunk, so the reader really sees separate chunks arriving
/// over time rather than one ready iterator.
struct ChunkStream {
    chunks: std::collections::VecDeque<Result<Bytes, TransportError>>,
    yielded: bool,
}

impl ChunkStream {
    fn new(chunks: Vec<Result<Bytes, TransportError>>) -> ChunkStream {
        ChunkStream {
            chunks: chunks.into(),
            yielded: false,
        }
    }
}

impl futures_util::Stream for ChunkStream {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        if !self.yielded && !self.chunks.is_empty() {
            self.yielded = true;
            context.waker().wake_by_ref();
            return std::task::Poll::Pending;
        }
        self.yielded = false;
        std::task::Poll::Ready(self.chunks.pop_front())
    }
}
