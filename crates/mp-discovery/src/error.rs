//! The one error type of `mp-discovery`.

/// A discovery call failed. The `mp-http` error (kind, request, status, Mixpanel's message) is the source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request to `endpoint` failed, or its answer was not what the endpoint promises.
    #[error("discovery request `{endpoint}` failed")]
    Request {
        /// The Query API path, e.g. `/events/names`.
        endpoint: &'static str,
        /// What went wrong on the wire.
        #[source]
        source: mp_http::Error,
    },
}

impl Error {
    pub(crate) fn request(endpoint: &'static str, source: mp_http::Error) -> Error {
        Error::Request { endpoint, source }
    }

    /// The underlying `mp-http` error, for callers that map its kind (to an exit code, or to the official client's
    /// error classes).
    pub fn http_error(&self) -> &mp_http::Error {
        match self {
            Error::Request { source, .. } => source,
        }
    }
}
