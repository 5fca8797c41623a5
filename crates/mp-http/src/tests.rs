//! Tests of `mp-http`, against fakes and real loopback servers.
//!
//! The support code here is shared by the test modules: a scripted
//! in-memory [`FakeTransport`], a scripted HTTP/1.1 server on `127.0.0.1:0`
//! ([`ScriptedServer`]) that can answer, stall, reset or cut a body short,
//! and a [`VirtualClock`] starting at a fixed instant, so nothing sleeps.

mod client;
mod endpoints;
mod lines;
mod loopback;
mod pagination;
mod retry;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::{
    Authenticator, BoxFuture, ClientBuilder, Endpoints, Error, HttpRequest, HttpResponse,
    ResponseBody, Secret, Transport, TransportError, TransportErrorKind, VirtualClock,
};

/// 2026-01-15T12:00:00Z: the frozen start of every virtual clock.
pub(crate) fn start_time() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_768_478_400)
}

pub(crate) fn virtual_clock() -> VirtualClock {
    VirtualClock::new(start_time())
}

/// Basic auth for `test_user:test_secret`, without depending on mp-auth.
#[derive(Debug)]
pub(crate) struct StaticAuth {
    pub(crate) header: &'static str,
}

impl Authenticator for StaticAuth {
    fn authorization(&self) -> BoxFuture<'_, Result<Secret<String>, Error>> {
        let header = Secret::new(self.header.to_owned());
        Box::pin(async move { Ok(header) })
    }
}

pub(crate) const TEST_AUTHORIZATION: &str = "Basic dGVzdF91c2VyOnRlc3Rfc2VjcmV0";

/// One canned answer of the [`FakeTransport`].
pub(crate) enum FakeAnswer {
    Response {
        status: u16,
        headers: Vec<(&'static str, String)>,
        chunks: Vec<Result<Bytes, TransportErrorKind>>,
    },
    Error(TransportErrorKind),
    /// Never answers (for timeout tests under paused tokio time).
    Hang,
}

impl FakeAnswer {
    pub(crate) fn json(status: u16, body: serde_json::Value) -> FakeAnswer {
        FakeAnswer::Response {
            status,
            headers: vec![("content-type", "application/json".to_owned())],
            chunks: vec![Ok(Bytes::from(body.to_string()))],
        }
    }

    pub(crate) fn text(status: u16, content_type: &str, body: &str) -> FakeAnswer {
        FakeAnswer::Response {
            status,
            headers: vec![("content-type", content_type.to_owned())],
            chunks: if body.is_empty() {
                Vec::new()
            } else {
                vec![Ok(Bytes::from(body.to_owned()))]
            },
        }
    }

    pub(crate) fn with_header(mut self, name: &'static str, value: &str) -> FakeAnswer {
        if let FakeAnswer::Response { headers, .. } = &mut self {
            headers.push((name, value.to_owned()));
        }
        self
    }
}

/// A transport that serves canned answers in order and records requests.
#[derive(Debug, Default)]
pub(crate) struct FakeTransport {
    answers: Mutex<VecDeque<FakeAnswerBox>>,
    requests: Mutex<Vec<HttpRequest>>,
}

/// `FakeAnswer` is not `Debug`; this wrapper is, so `FakeTransport` can be.
pub(crate) struct FakeAnswerBox(FakeAnswer);

impl std::fmt::Debug for FakeAnswerBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FakeAnswer")
    }
}

impl FakeTransport {
    pub(crate) fn new(answers: Vec<FakeAnswer>) -> Arc<FakeTransport> {
        Arc::new(FakeTransport {
            answers: Mutex::new(answers.into_iter().map(FakeAnswerBox).collect()),
            requests: Mutex::new(Vec::new()),
        })
    }

    pub(crate) fn requests(&self) -> Vec<HttpRequest> {
        self.requests.lock().unwrap().clone()
    }

    pub(crate) fn n_unserved(&self) -> usize {
        self.answers.lock().unwrap().len()
    }
}

impl Transport for FakeTransport {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        self.requests.lock().unwrap().push(request);
        let answer = self.answers.lock().unwrap().pop_front();
        Box::pin(async move {
            let Some(FakeAnswerBox(answer)) = answer else {
                return Err(TransportError::new(
                    TransportErrorKind::Other,
                    "the fake transport has no answer left",
                ));
            };
            match answer {
                FakeAnswer::Error(kind) => Err(TransportError::new(kind, "scripted failure")),
                FakeAnswer::Hang => std::future::pending().await,
                FakeAnswer::Response {
                    status,
                    headers,
                    chunks,
                } => {
                    let mut header_map = http::HeaderMap::new();
                    for (name, value) in headers {
                        header_map.append(name, value.parse().unwrap());
                    }
                    let chunks = chunks.into_iter().map(|chunk| {
                        chunk.map_err(|kind| TransportError::new(kind, "scripted body failure"))
                    });
                    Ok(HttpResponse {
                        status: http::StatusCode::from_u16(status).unwrap(),
                        headers: header_map,
                        body: ResponseBody::from_stream(futures_util::stream::iter(chunks)),
                    })
                }
            }
        })
    }
}

/// A client over `transport` with a virtual clock, Basic test credentials
/// and project 12345.
pub(crate) fn fake_client(transport: Arc<FakeTransport>, clock: &VirtualClock) -> ClientBuilder {
    ClientBuilder::new(Endpoints::regional(crate::Region::Us))
        .with_transport(transport)
        .with_clock(Arc::new(clock.clone()))
        .with_authenticator(Arc::new(StaticAuth {
            header: TEST_AUTHORIZATION,
        }))
        .with_project_id("12345")
}

/// What the [`ScriptedServer`] does with one request.
#[derive(Debug, Clone)]
pub(crate) enum ServerAction {
    /// Answers with a `Content-Length` body and keeps the connection.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Answers with a chunked body: each element is written and flushed as
    /// one HTTP chunk; then the body ends properly, or (with `reset`) the
    /// connection is reset instead of sending the last chunk.
    Chunked {
        status: u16,
        headers: Vec<(String, String)>,
        chunks: Vec<Vec<u8>>,
        reset: bool,
    },
    /// Resets the connection (RST) without answering.
    Reset,
}

impl ServerAction {
    pub(crate) fn status(status: u16, headers: &[(&str, &str)], body: &str) -> ServerAction {
        ServerAction::Respond {
            status,
            headers: headers
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }
}

/// A request as the [`ScriptedServer`] received it.
#[derive(Debug, Clone)]
pub(crate) struct ReceivedRequest {
    pub(crate) method: String,
    pub(crate) target: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl ReceivedRequest {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// An HTTP/1.1 server on `127.0.0.1:0` that answers requests from a script,
/// one action per request, and records what it received. When the script is
/// exhausted it answers 599 so a test sees the extra request.
#[derive(Debug)]
pub(crate) struct ScriptedServer {
    pub(crate) base_url: String,
    received: Arc<Mutex<Vec<ReceivedRequest>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ScriptedServer {
    pub(crate) async fn start(script: Vec<ServerAction>) -> ScriptedServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let received = Arc::new(Mutex::new(Vec::new()));
        let task = {
            let received = Arc::clone(&received);
            tokio::spawn(async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        return;
                    };
                    let script = Arc::clone(&script);
                    let received = Arc::clone(&received);
                    tokio::spawn(serve_connection(stream, script, received));
                }
            })
        };
        ScriptedServer {
            base_url,
            received,
            task,
        }
    }

    pub(crate) fn received(&self) -> Vec<ReceivedRequest> {
        self.received.lock().unwrap().clone()
    }
}

async fn serve_connection(
    stream: TcpStream,
    script: Arc<Mutex<VecDeque<ServerAction>>>,
    received: Arc<Mutex<Vec<ReceivedRequest>>>,
) {
    let mut reader = BufReader::new(stream);
    loop {
        let Some(request) = read_request(&mut reader).await else {
            return;
        };
        received.lock().unwrap().push(request);
        let action = script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| ServerAction::status(599, &[], "script exhausted"));
        let stream = reader.get_mut();
        match action {
            ServerAction::Respond {
                status,
                headers,
                body,
            } => {
                let mut head = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", body.len());
                for (name, value) in headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                let mut bytes = head.into_bytes();
                bytes.extend_from_slice(&body);
                if stream.write_all(&bytes).await.is_err() {
                    return;
                }
            }
            ServerAction::Chunked {
                status,
                headers,
                chunks,
                reset,
            } => {
                let mut head = format!("HTTP/1.1 {status} X\r\ntransfer-encoding: chunked\r\n");
                for (name, value) in headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                for chunk in chunks {
                    let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
                    framed.extend_from_slice(&chunk);
                    framed.extend_from_slice(b"\r\n");
                    if stream.write_all(&framed).await.is_err() || stream.flush().await.is_err() {
                        return;
                    }
                }
                if reset {
                    reset_connection(reader.into_inner());
                    return;
                }
                if stream.write_all(b"0\r\n\r\n").await.is_err() {
                    return;
                }
            }
            ServerAction::Reset => {
                reset_connection(reader.into_inner());
                return;
            }
        }
    }
}

/// Closes with RST (`SO_LINGER` 0), as a load balancer dropping a
/// connection does, instead of an orderly FIN.
fn reset_connection(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// Reads one request (head and `Content-Length` body); `None` at EOF.
async fn read_request(reader: &mut BufReader<TcpStream>) -> Option<ReceivedRequest> {
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).await.ok()? == 0 {
        return None;
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let length: usize = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.ok()?;
    Some(ReceivedRequest {
        method,
        target,
        headers,
        body,
    })
}
