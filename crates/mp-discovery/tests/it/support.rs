//! A scripted transport: answers each request with the next scripted response and records the request's URL.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use mp_http::{
    BoxFuture, Client, ClientBuilder, Endpoints, HttpRequest, HttpResponse, Region, ResponseBody,
    RetryPolicy, Transport, TransportError, TransportErrorKind, VirtualClock,
};

/// 2026-01-15T12:00:00Z.
pub const FROZEN_UNIX_SECONDS: u64 = 1_768_478_400;

#[derive(Debug, Default)]
pub struct ScriptedTransport {
    responses: Mutex<VecDeque<(u16, String)>>,
    urls: Mutex<Vec<String>>,
}

impl ScriptedTransport {
    /// The URLs sent so far, query strings included.
    pub fn urls(&self) -> Vec<String> {
        self.urls.lock().unwrap().clone()
    }
}

impl Transport for ScriptedTransport {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        self.urls.lock().unwrap().push(request.url.clone());
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

/// A client for project 12345 (us) over a transport answering `script`, with the clock frozen at
/// 2026-01-15T12:00:00Z and no retries.
pub fn client(script: &[(u16, &str)]) -> (Client, Arc<ScriptedTransport>) {
    let transport = Arc::new(ScriptedTransport {
        responses: Mutex::new(
            script
                .iter()
                .map(|(status, body)| (*status, (*body).to_owned()))
                .collect(),
        ),
        urls: Mutex::new(Vec::new()),
    });
    let clock = VirtualClock::new(UNIX_EPOCH + Duration::from_secs(FROZEN_UNIX_SECONDS));
    let client = ClientBuilder::new(Endpoints::regional(Region::Us))
        .with_transport(transport.clone())
        .with_clock(Arc::new(clock))
        .with_project_id("12345")
        .with_retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    (client, transport)
}

/// The query string of `url`, as `key=value` pairs in order (still encoded).
pub fn query(url: &str) -> Vec<String> {
    url.split_once('?')
        .map(|(_, query)| query.split('&').map(str::to_owned).collect())
        .unwrap_or_default()
}
