//! The production [`Transport`]: hyper 1 over rustls, pooled.

use std::error::Error as StdError;
use std::io;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as LegacyClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::{
    BoxFuture, Error, HttpRequest, HttpResponse, ResponseBody, Transport, TransportError,
    TransportErrorKind,
};

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// hyper 1 client over rustls (ring provider, Mozilla's webpki roots,
/// TLS 1.2 and 1.3), HTTP/1.1 and HTTP/2 negotiated by ALPN, with a
/// connection pool.
///
/// Build one per process and share it (`Client` clones share it): the pool
/// is what makes the second request to a host skip the TLS handshake.
/// `http://` URLs are accepted here; the loopback-only rule for clear text is
/// enforced above the seam, by [`crate::Endpoints`] and the client.
#[derive(Clone)]
pub struct HyperTransport {
    client: LegacyClient<Connector, Full<Bytes>>,
}

impl std::fmt::Debug for HyperTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HyperTransport").finish_non_exhaustive()
    }
}

/// How long an idle pooled connection is kept. Mixpanel's load balancers close
/// idle connections after about a minute; reusing one they already closed
/// costs a failed request, so we let go a little earlier.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(50);

impl HyperTransport {
    /// Builds the client. `connect_timeout` bounds the TCP connect (the TLS
    /// handshake is bounded by the request deadline).
    pub fn new(connect_timeout: Duration) -> Result<HyperTransport, Error> {
        let mut http = HttpConnector::new();
        // The HTTPS connector wraps this one; it must accept https URLs.
        http.enforce_http(false);
        http.set_connect_timeout(Some(connect_timeout));
        http.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .map_err(|error| {
                Error::config("could not configure TLS (rustls with the ring provider)")
                    .with_source(error)
            })?
            .https_or_http()
            .enable_all_versions()
            .wrap_connector(http);
        let client = LegacyClient::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build(https);
        Ok(HyperTransport { client })
    }
}

impl Transport for HyperTransport {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        Box::pin(async move {
            let HttpRequest {
                method,
                url,
                headers,
                body,
            } = request;
            let mut builder = http::Request::builder().method(method).uri(url.as_str());
            if let Some(request_headers) = builder.headers_mut() {
                *request_headers = headers;
            }
            let request = builder.body(Full::new(body)).map_err(|error| {
                TransportError::new(TransportErrorKind::Other, "could not build the request")
                    .with_source(error)
            })?;
            let response = self
                .client
                .request(request)
                .await
                .map_err(|error| map_error("request failed", error))?;
            let (parts, incoming) = response.into_parts();
            Ok(HttpResponse {
                status: parts.status,
                headers: parts.headers,
                body: ResponseBody::from_stream(body_stream(incoming)),
            })
        })
    }
}

/// Turns hyper's body into a stream of data chunks that ends after the first
/// error (trailers are ignored).
fn body_stream(
    incoming: hyper::body::Incoming,
) -> impl futures_util::Stream<Item = Result<Bytes, TransportError>> + Send + 'static {
    futures_util::stream::unfold(Some(incoming), |state| async move {
        let mut incoming = state?;
        loop {
            match incoming.frame().await {
                None => return None,
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        return Some((Ok(data), Some(incoming)));
                    }
                }
                Some(Err(error)) => {
                    return Some((Err(map_error("reading the response failed", error)), None));
                }
            }
        }
    })
}

/// Maps a hyper or io error to a [`TransportError`], classifying it by walking
/// the `source()` chain (as uv's `retryable_on_request_failure` does), and
/// keeps the original as the source.
pub(crate) fn map_error(
    context: &str,
    error: impl StdError + Send + Sync + 'static,
) -> TransportError {
    let kind = classify(&error);
    TransportError::new(kind, context).with_source(error)
}

/// Classifies an error by what its whole cause chain says, most telling
/// first: a TLS failure, then a timeout, then a failure to connect (nothing
/// was sent, even if the cause below is a reset during the handshake), then
/// a reset or early close of an established connection.
pub(crate) fn classify(error: &(dyn StdError + 'static)) -> TransportErrorKind {
    let mut saw_tls = false;
    let mut saw_timeout = false;
    let mut saw_connect = false;
    let mut saw_reset = false;
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(error) = current {
        saw_tls |= error.downcast_ref::<rustls::Error>().is_some();
        if let Some(io_error) = error.downcast_ref::<io::Error>() {
            match io_error.kind() {
                // A reset or an early EOF means the server (or a proxy) went
                // away mid-exchange: the classic "connection reset by peer"
                // of a load balancer recycling keep-alive connections.
                io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof => saw_reset = true,
                io::ErrorKind::TimedOut => saw_timeout = true,
                io::ErrorKind::ConnectionRefused
                | io::ErrorKind::AddrNotAvailable
                | io::ErrorKind::NetworkUnreachable
                | io::ErrorKind::HostUnreachable => saw_connect = true,
                _ => {}
            }
            // `io::Error::source()` skips the wrapped error itself (it returns
            // the wrapped error's source), so descend into it explicitly:
            // rustls errors arrive wrapped in one or two `io::Error`s.
            if let Some(inner) = io_error.get_ref() {
                current = Some(inner);
                continue;
            }
        }
        if let Some(hyper_error) = error.downcast_ref::<hyper::Error>() {
            saw_timeout |= hyper_error.is_timeout();
            saw_reset |= hyper_error.is_incomplete_message()
                || hyper_error.is_canceled()
                || hyper_error.is_closed()
                || hyper_error.is_body_write_aborted();
        }
        if let Some(client_error) = error.downcast_ref::<hyper_util::client::legacy::Error>() {
            saw_connect |= client_error.is_connect();
        }
        current = error.source();
    }
    if saw_tls {
        TransportErrorKind::Tls
    } else if saw_timeout {
        TransportErrorKind::Timeout
    } else if saw_connect {
        TransportErrorKind::Connect
    } else if saw_reset {
        TransportErrorKind::ConnectionReset
    } else {
        TransportErrorKind::Other
    }
}
