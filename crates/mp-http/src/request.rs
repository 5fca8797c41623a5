//! [`Request`] (what a service asks for) and [`Response`] (what it gets back).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::lines::GzipDecoder;
use crate::{ApiFamily, Error, ErrorKind, JsonLines, ResponseBody};

/// One API call: method, family, path, parameters, body and decoration flags.
///
/// Parameters keep their JSON type (an error reports `"limit": 5000`, as the
/// official client does); on the wire strings go verbatim, numbers in
/// decimal, booleans as `true`/`false`, `null` as an empty value, arrays as
/// repeated keys and objects as compact JSON text. Order is preserved.
#[derive(Clone)]
pub struct Request {
    pub(crate) method: http::Method,
    pub(crate) family: ApiFamily,
    pub(crate) path: String,
    pub(crate) params: Vec<(String, Value)>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: RequestBody,
    pub(crate) retry_safe: Option<bool>,
    pub(crate) inject_project_id: Option<bool>,
    pub(crate) inject_query_origin: Option<bool>,
    pub(crate) inject_workspace_id: Option<bool>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) error_for_status: bool,
}

/// The body of a [`Request`].
#[derive(Debug, Clone)]
pub(crate) enum RequestBody {
    None,
    Json(Value),
    Form(Vec<(String, String)>),
    Raw {
        bytes: Bytes,
        content_type: Option<String>,
    },
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Header values may be credentials: show names only.
        let header_names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("family", &self.family)
            .field("path", &crate::redact_url(&self.path))
            .field(
                "params",
                &self.params.iter().map(|(key, _)| key).collect::<Vec<_>>(),
            )
            .field("headers", &header_names)
            .field("retry_safe", &self.retry_safe)
            .finish_non_exhaustive()
    }
}

impl Request {
    /// A GET request (retry-safe by default).
    pub fn get(family: ApiFamily, path: impl Into<String>) -> Request {
        Request::new(http::Method::GET, family, path)
    }

    /// A POST request (not retry-safe by default; read-only POST queries
    /// should call [`Request::retry_safe`]).
    pub fn post(family: ApiFamily, path: impl Into<String>) -> Request {
        Request::new(http::Method::POST, family, path)
    }

    /// A request with any method. `path` is relative to `family`'s base
    /// (a leading `/` is added when missing); an absolute `https://` URL (or
    /// `http://` to a loopback host) is used as is, with `family` still
    /// deciding decoration and timeouts.
    pub fn new(method: http::Method, family: ApiFamily, path: impl Into<String>) -> Request {
        Request {
            method,
            family,
            path: path.into(),
            params: Vec::new(),
            headers: Vec::new(),
            body: RequestBody::None,
            retry_safe: None,
            inject_project_id: None,
            inject_query_origin: None,
            inject_workspace_id: None,
            timeout: None,
            error_for_status: true,
        }
    }

    /// Adds a query parameter (see the type's docs for the wire encoding).
    pub fn param(mut self, key: impl Into<String>, value: impl Into<Value>) -> Request {
        self.params.push((key.into(), value.into()));
        self
    }

    /// Adds several query parameters, in order.
    pub fn params<K: Into<String>, V: Into<Value>>(
        mut self,
        params: impl IntoIterator<Item = (K, V)>,
    ) -> Request {
        self.params.extend(
            params
                .into_iter()
                .map(|(key, value)| (key.into(), value.into())),
        );
        self
    }

    /// Sends `body` as `application/json`.
    pub fn json_body(mut self, body: Value) -> Request {
        self.body = RequestBody::Json(body);
        self
    }

    /// Sends `pairs` as `application/x-www-form-urlencoded`, in order.
    pub fn form_body(mut self, pairs: Vec<(String, String)>) -> Request {
        self.body = RequestBody::Form(pairs);
        self
    }

    /// Sends raw bytes, with `content_type` when given.
    pub fn raw_body(mut self, bytes: impl Into<Bytes>, content_type: Option<&str>) -> Request {
        self.body = RequestBody::Raw {
            bytes: bytes.into(),
            content_type: content_type.map(str::to_owned),
        };
        self
    }

    /// Sets a header, overriding the client's default and custom headers of
    /// the same name. An `Authorization` header set here replaces the
    /// client's authenticator for this request.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Request {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Whether the request may be sent again after a 5xx, a reset or a
    /// timeout. Defaults: GET, HEAD, PUT, DELETE and OPTIONS true; POST and
    /// PATCH false.
    pub fn retry_safe(mut self, yes: bool) -> Request {
        self.retry_safe = Some(yes);
        self
    }

    /// Whether to add `project_id=<the client's project>` to the query.
    /// Default: true for Query, Engage and Export; false for App and OAuth.
    pub fn inject_project_id(mut self, yes: bool) -> Request {
        self.inject_project_id = Some(yes);
        self
    }

    /// Whether to add the client's `query_origin` to the query (replacing any
    /// value the caller put there). Default: true for Query and Engage.
    pub fn inject_query_origin(mut self, yes: bool) -> Request {
        self.inject_query_origin = Some(yes);
        self
    }

    /// Whether to add `workspace_id` when the client has a workspace pinned.
    /// Default: true for Query and Engage.
    pub fn inject_workspace_id(mut self, yes: bool) -> Request {
        self.inject_workspace_id = Some(yes);
        self
    }

    /// Overrides the family's timeout for this request (for Export, the idle
    /// timeout between chunks).
    pub fn timeout(mut self, timeout: Duration) -> Request {
        self.timeout = Some(timeout);
        self
    }

    /// Whether a non-2xx status becomes an [`Error`] (the default). With
    /// `false`, retries still happen, and then the final response is
    /// returned whatever its status (for example to read a redirect's
    /// `Location`).
    pub fn error_for_status(mut self, yes: bool) -> Request {
        self.error_for_status = yes;
        self
    }

    /// The method.
    pub fn method(&self) -> &http::Method {
        &self.method
    }

    /// The API family.
    pub fn family(&self) -> ApiFamily {
        self.family
    }

    /// The path (or absolute URL) as given.
    pub fn path(&self) -> &str {
        &self.path
    }

    pub(crate) fn is_retry_safe(&self) -> bool {
        self.retry_safe.unwrap_or(matches!(
            self.method,
            http::Method::GET
                | http::Method::HEAD
                | http::Method::PUT
                | http::Method::DELETE
                | http::Method::OPTIONS
        ))
    }

    pub(crate) fn injects_project_id(&self) -> bool {
        self.inject_project_id.unwrap_or(matches!(
            self.family,
            ApiFamily::Query | ApiFamily::Engage | ApiFamily::Export
        ))
    }

    pub(crate) fn injects_query_origin(&self) -> bool {
        self.inject_query_origin
            .unwrap_or(matches!(self.family, ApiFamily::Query | ApiFamily::Engage))
    }

    pub(crate) fn injects_workspace_id(&self) -> bool {
        self.inject_workspace_id
            .unwrap_or(matches!(self.family, ApiFamily::Query | ApiFamily::Engage))
    }
}

/// What an [`Error`] built after the response head needs to know about the
/// request, and how long the body may take.
#[derive(Debug)]
pub(crate) struct ResponseContext {
    pub(crate) method: String,
    pub(crate) url: String,
    pub(crate) params: Map<String, Value>,
    pub(crate) request_body: Option<Value>,
    pub(crate) project_id: Option<String>,
    pub(crate) family: ApiFamily,
    pub(crate) attempts: u32,
    pub(crate) elapsed: Duration,
    /// The whole body must arrive by then (Query, Engage, App, OAuth).
    pub(crate) deadline: Option<tokio::time::Instant>,
    /// The longest wait between two chunks (Export).
    pub(crate) idle_timeout: Option<Duration>,
}

impl ResponseContext {
    /// An error of `kind` carrying this request's context.
    pub(crate) fn error(&self, kind: ErrorKind) -> Error {
        Error::bare(kind)
            .with_request(
                &self.method,
                &self.url,
                Some(&self.params),
                self.request_body.as_ref(),
            )
            .with_project_id(self.project_id.as_deref())
            .with_attempts(self.attempts, self.elapsed)
    }

    /// Reads the next chunk of `body` within the deadline or idle timeout.
    pub(crate) async fn next_chunk(&self, body: &mut ResponseBody) -> Result<Option<Bytes>, Error> {
        let read = body.next_chunk();
        let result = if let Some(deadline) = self.deadline {
            tokio::time::timeout_at(deadline, read).await.map_err(|_| {
                self.error(ErrorKind::Timeout)
                    .with_message("the response body did not arrive in time")
            })?
        } else if let Some(idle) = self.idle_timeout {
            tokio::time::timeout(idle, read).await.map_err(|_| {
                self.error(ErrorKind::Timeout).with_message(format!(
                    "the response stream stalled for more than {}s",
                    idle.as_secs()
                ))
            })?
        } else {
            read.await
        };
        match result {
            None => Ok(None),
            Some(Ok(chunk)) => Ok(Some(chunk)),
            Some(Err(error)) => Err(self
                .error(ErrorKind::TruncatedStream)
                .with_message("the connection broke while reading the response")
                .with_source(error)),
        }
    }
}

/// A successful (2xx) response whose body has not been read yet.
#[derive(Debug)]
pub struct Response {
    status: http::StatusCode,
    headers: http::HeaderMap,
    body: ResponseBody,
    context: Arc<ResponseContext>,
}

impl Response {
    pub(crate) fn new(
        status: http::StatusCode,
        headers: http::HeaderMap,
        body: ResponseBody,
        context: Arc<ResponseContext>,
    ) -> Response {
        Response {
            status,
            headers,
            body,
            context,
        }
    }

    /// The status.
    pub fn status(&self) -> http::StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &http::HeaderMap {
        &self.headers
    }

    /// The request URL without its query string.
    pub fn url(&self) -> String {
        crate::encoding::url_without_query(&self.context.url)
    }

    /// Attempts it took to get this response.
    pub fn attempts(&self) -> u32 {
        self.context.attempts
    }

    /// The response's `Content-Type`, if any.
    pub fn content_type(&self) -> Option<&str> {
        self.headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
    }

    pub(crate) fn is_gzip(&self) -> bool {
        self.headers
            .get(http::header::CONTENT_ENCODING)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| {
                let value = value.trim();
                value.eq_ignore_ascii_case("gzip") || value.eq_ignore_ascii_case("x-gzip")
            })
    }

    /// An [`ErrorKind::InvalidResponse`] error for this response.
    pub(crate) fn invalid(&self, body: &[u8]) -> Error {
        self.context
            .error(ErrorKind::InvalidResponse)
            .with_response(self.status.as_u16(), self.content_type(), body)
    }

    /// An [`ErrorKind::InvalidResponse`] error for a body that is not JSON,
    /// with the detail `content_type` (as the official client reports it).
    pub(crate) fn not_json(&self, body: &[u8], error: serde_json::Error) -> Error {
        self.invalid(body)
            .with_message("the response is not valid JSON")
            .with_detail(
                "content_type",
                self.content_type().map_or(Value::Null, Value::from),
            )
            .with_source(error)
    }

    /// Reads the whole body (gzip-decoded when the response says so).
    pub async fn bytes(mut self) -> Result<Bytes, Error> {
        let mut decoder = self.is_gzip().then(GzipDecoder::new);
        let mut first: Option<Bytes> = None;
        let mut buffer = bytes::BytesMut::new();
        while let Some(chunk) = self.context.next_chunk(&mut self.body).await? {
            let chunk = match &mut decoder {
                Some(decoder) => decoder.decode(&chunk).map_err(|error| {
                    self.context
                        .error(ErrorKind::InvalidResponse)
                        .with_source(error)
                })?,
                None => chunk,
            };
            // Keep a single chunk without copying it.
            match first.take() {
                None if buffer.is_empty() => first = Some(chunk),
                None => buffer.extend_from_slice(&chunk),
                Some(previous) => {
                    buffer.extend_from_slice(&previous);
                    buffer.extend_from_slice(&chunk);
                }
            }
        }
        if let Some(decoder) = &mut decoder {
            let rest = decoder.finish().map_err(|error| {
                self.context
                    .error(ErrorKind::TruncatedStream)
                    .with_message("the gzip-encoded response ended early")
                    .with_source(error)
            })?;
            if !rest.is_empty() {
                if let Some(previous) = first.take() {
                    buffer.extend_from_slice(&previous);
                }
                buffer.extend_from_slice(&rest);
            }
        }
        Ok(match first {
            Some(only) => only,
            None => buffer.freeze(),
        })
    }

    /// Reads the body as UTF-8 text (invalid sequences replaced).
    pub async fn text(self) -> Result<String, Error> {
        let bytes = self.bytes_keeping_head().await?.1;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Reads the body and parses it as JSON into `T`.
    ///
    /// A body that is not JSON, or JSON of another shape, is an
    /// [`ErrorKind::InvalidResponse`] error.
    pub async fn json<T: DeserializeOwned>(self) -> Result<T, Error> {
        let (head, bytes) = self.bytes_keeping_head().await?;
        serde_json::from_slice(&bytes).map_err(|error| {
            if error.is_data() {
                head.invalid(&bytes)
                    .with_message("the response is JSON of an unexpected shape")
                    .with_source(error)
            } else {
                head.not_json(&bytes, error)
            }
        })
    }

    /// Reads the body, keeping an empty-bodied copy of the head for errors.
    pub(crate) async fn bytes_keeping_head(self) -> Result<(Response, Bytes), Error> {
        let head = Response {
            status: self.status,
            headers: self.headers.clone(),
            body: ResponseBody::empty(),
            context: Arc::clone(&self.context),
        };
        let bytes = self.bytes().await?;
        Ok((head, bytes))
    }

    /// A JSONL reader over the body that never holds the whole body: gzip is
    /// decoded incrementally when the response says `Content-Encoding: gzip`,
    /// and, for the Export family, every line must be a JSON object (see
    /// [`JsonLines`] for what counts as a truncated stream).
    pub fn lines(self) -> JsonLines {
        let gzip = self.is_gzip();
        let objects_only = self.context.family == ApiFamily::Export;
        JsonLines::from_response_parts(self.body, gzip, self.context)
            .with_objects_only(objects_only)
    }

    /// The raw body, undecoded, without timeouts.
    pub fn into_body(self) -> ResponseBody {
        self.body
    }
}
