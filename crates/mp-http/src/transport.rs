//! The I/O seam: one request in, one response (with a streamed body) out.
//!
//! Everything above this seam (decoration, authentication, retries, error
//! mapping, JSONL framing) is the same in production, in unit tests and in the
//! conformance runner; only the [`Transport`] changes.

use std::pin::Pin;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use crate::BoxFuture;
use crate::error::BoxError;

/// Sends one HTTP request. Production uses [`crate::HyperTransport`]; the
/// conformance runner and tests plug in fakes.
///
/// A transport must not follow redirects, retry, or decompress: the client
/// above it does what is needed, and a recorded exchange must see exactly what
/// the library sent.
pub trait Transport: Send + Sync + std::fmt::Debug + 'static {
    /// Sends `request` and returns the response head with a streamed body.
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>>;
}

/// A fully decorated request, as it goes on the wire.
///
/// `Debug` shows the [`HttpRequest::redacted`] form.
#[derive(Clone)]
pub struct HttpRequest {
    /// The method.
    pub method: http::Method,
    /// The full URL, query string included.
    pub url: String,
    /// Every header, `Authorization` included.
    pub headers: http::HeaderMap,
    /// The body (empty for none).
    pub body: Bytes,
}

impl HttpRequest {
    /// A copy safe to print: `Authorization`, `Cookie` and `Proxy-Authorization`
    /// values, and those of headers whose names look like credentials, are
    /// replaced by `REDACTED`, and the URL is redacted.
    pub fn redacted(&self) -> HttpRequest {
        let mut headers = self.headers.clone();
        for (name, value) in headers.iter_mut() {
            let is_credential = name == http::header::AUTHORIZATION
                || name == http::header::COOKIE
                || name == http::header::PROXY_AUTHORIZATION
                || crate::encoding::is_secret_name(name.as_str());
            if is_credential {
                *value = http::HeaderValue::from_static("REDACTED");
            }
        }
        HttpRequest {
            method: self.method.clone(),
            url: crate::redact_url(&self.url),
            headers,
            body: self.body.clone(),
        }
    }
}

impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = self.redacted();
        f.debug_struct("HttpRequest")
            .field("method", &shown.method)
            .field("url", &shown.url)
            .field("headers", &shown.headers)
            .field("body_len", &shown.body.len())
            .finish()
    }
}

/// A response head and its streamed body.
#[derive(Debug)]
pub struct HttpResponse {
    /// The status.
    pub status: http::StatusCode,
    /// The headers.
    pub headers: http::HeaderMap,
    /// The body, not yet read.
    pub body: ResponseBody,
}

type ChunkStream = Pin<Box<dyn Stream<Item = Result<Bytes, TransportError>> + Send + 'static>>;

/// A response body: a stream of byte chunks that may fail part-way.
pub struct ResponseBody {
    inner: BodyInner,
}

enum BodyInner {
    Full(Option<Bytes>),
    Stream(ChunkStream),
}

impl std::fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.inner {
            BodyInner::Full(bytes) => f
                .debug_struct("ResponseBody")
                .field("len", &bytes.as_ref().map_or(0, Bytes::len))
                .finish(),
            BodyInner::Stream(_) => f
                .debug_struct("ResponseBody")
                .field("stream", &true)
                .finish(),
        }
    }
}

impl ResponseBody {
    /// A body already in memory.
    pub fn from_bytes(bytes: impl Into<Bytes>) -> ResponseBody {
        let bytes = bytes.into();
        ResponseBody {
            inner: BodyInner::Full((!bytes.is_empty()).then_some(bytes)),
        }
    }

    /// An empty body.
    pub fn empty() -> ResponseBody {
        ResponseBody {
            inner: BodyInner::Full(None),
        }
    }

    /// A body read chunk by chunk from `stream`. Chunk boundaries are kept,
    /// so tests can split a body anywhere; an `Err` item means the body broke
    /// off there.
    pub fn from_stream(
        stream: impl Stream<Item = Result<Bytes, TransportError>> + Send + 'static,
    ) -> ResponseBody {
        ResponseBody {
            inner: BodyInner::Stream(Box::pin(stream)),
        }
    }

    /// The next chunk, `None` at the end of the body. Empty chunks are skipped.
    pub async fn next_chunk(&mut self) -> Option<Result<Bytes, TransportError>> {
        match &mut self.inner {
            BodyInner::Full(bytes) => bytes.take().map(Ok),
            BodyInner::Stream(stream) => loop {
                match stream.next().await {
                    Some(Ok(chunk)) if chunk.is_empty() => continue,
                    other => return other,
                }
            },
        }
    }

    /// Reads the whole body into memory.
    pub async fn collect(mut self) -> Result<Bytes, TransportError> {
        let first = match self.next_chunk().await {
            None => return Ok(Bytes::new()),
            Some(chunk) => chunk?,
        };
        let Some(second) = self.next_chunk().await else {
            // One chunk: no copy.
            return Ok(first);
        };
        let mut buffer = bytes::BytesMut::from(&first[..]);
        buffer.extend_from_slice(&second?);
        while let Some(chunk) = self.next_chunk().await {
            buffer.extend_from_slice(&chunk?);
        }
        Ok(buffer.freeze())
    }
}

/// What kind of transport failure happened; decides whether it is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The connection could not be made (refused, DNS, unreachable). Nothing
    /// was sent.
    Connect,
    /// Connecting or waiting for the server took too long.
    Timeout,
    /// The connection was reset or closed before the response was complete.
    ConnectionReset,
    /// The TLS handshake failed (for example an untrusted certificate).
    Tls,
    /// Anything else.
    Other,
}

impl TransportErrorKind {
    /// A short lower-case description.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportErrorKind::Connect => "connection failed",
            TransportErrorKind::Timeout => "timed out",
            TransportErrorKind::ConnectionReset => "connection reset",
            TransportErrorKind::Tls => "TLS handshake failed",
            TransportErrorKind::Other => "transport error",
        }
    }
}

/// A failure below HTTP: connecting, TLS, or reading the response.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", kind.as_str())]
pub struct TransportError {
    kind: TransportErrorKind,
    message: String,
    #[source]
    source: Option<BoxError>,
}

impl TransportError {
    /// A transport error of `kind`. Note that `message` is shown to people.
    pub fn new(kind: TransportErrorKind, message: impl Into<String>) -> TransportError {
        TransportError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// Sets the underlying cause.
    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> TransportError {
        self.source = Some(source.into());
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }

    /// The message given at construction.
    pub fn message(&self) -> &str {
        &self.message
    }
}
