//! Transports for the tests: [`ScriptedTransport`] answers from a script and records each request;
//! [`NoRequests`] fails the test if anything is sent.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use mp_http::{
    BoxFuture, Client, ClientBuilder, Endpoints, HttpRequest, HttpResponse, Region, ResponseBody,
    RetryPolicy, Transport, TransportError, TransportErrorKind, VirtualClock,
};

/// 2026-01-15T12:00:00Z, the conformance corpus's frozen instant.
pub const FROZEN_UNIX_SECONDS: u64 = 1_768_478_400;

/// A request as sent: `METHOD /path?query`, then the body on the next line when there is one.
pub type SentRequest = String;

#[derive(Debug, Default)]
pub struct ScriptedTransport {
    responses: Mutex<VecDeque<(u16, String)>>,
    sent: Mutex<Vec<SentRequest>>,
}

impl ScriptedTransport {
    pub fn sent(&self) -> Vec<SentRequest> {
        self.sent.lock().unwrap().clone()
    }
}

impl Transport for ScriptedTransport {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        let path = request
            .url
            .strip_prefix("https://mixpanel.com")
            .unwrap_or(&request.url);
        let mut sent = format!("{} {path}", request.method);
        if !request.body.is_empty() {
            let content_type = request
                .headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("");
            sent.push_str(&format!(
                "\n{content_type}: {}",
                String::from_utf8_lossy(&request.body)
            ));
        }
        self.sent.lock().unwrap().push(sent);
        let next = self.responses.lock().unwrap().pop_front();
        let result = match next {
            None => Err(TransportError::new(
                TransportErrorKind::Other,
                "unexpected request",
            )),
            Some((status, body)) => {
                let mut headers = http::HeaderMap::new();
                headers.insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("application/json"),
                );
                Ok(HttpResponse {
                    status: http::StatusCode::from_u16(status).unwrap(),
                    headers,
                    body: ResponseBody::from_bytes(bytes::Bytes::from(body)),
                })
            }
        };
        Box::pin(std::future::ready(result))
    }
}

/// Fails the test on any request: for input that must be refused before sending.
#[derive(Debug)]
pub struct NoRequests;

impl Transport for NoRequests {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        panic!(
            "nothing may be sent, but {} {} was",
            request.method, request.url
        );
    }
}

/// A client for project 12345 (us) over `transport`, with the clock frozen at 2026-01-15T12:00:00Z and no retries.
pub fn client_over(transport: Arc<dyn Transport>) -> Client {
    let clock = VirtualClock::new(UNIX_EPOCH + Duration::from_secs(FROZEN_UNIX_SECONDS));
    ClientBuilder::new(Endpoints::regional(Region::Us))
        .with_transport(transport)
        .with_clock(Arc::new(clock))
        .with_project_id("12345")
        .with_retry_policy(RetryPolicy::never())
        .build()
        .unwrap()
}

/// A client whose transport answers each request with the next `(status, body)` of `script`.
pub fn scripted(script: &[(u16, &str)]) -> (Client, Arc<ScriptedTransport>) {
    let transport = Arc::new(ScriptedTransport {
        responses: Mutex::new(
            script
                .iter()
                .map(|(status, body)| (*status, (*body).to_owned()))
                .collect(),
        ),
        sent: Mutex::new(Vec::new()),
    });
    (client_over(transport.clone()), transport)
}

pub fn block_on<T>(future: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// A recorded sample answer from `tests/fixtures/anchor`.
pub fn fixture(name: &str) -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/anchor")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}
