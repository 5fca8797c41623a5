//! `mp-http` is the HTTP core every `mp` service talks to Mixpanel through.
//!
//! It owns the one pooled HTTPS client of the process, Mixpanel's regional
//! routing and base-URL overrides, the authentication seam ([`Authenticator`]),
//! request decoration (`project_id`, `query_origin`, `workspace_id`, custom
//! headers, `User-Agent`), retries with `Retry-After`, per-family timeouts,
//! the single [`Error`] type with everything a person or a conformance runner
//! needs to know about a failed request, and a streaming JSONL reader for
//! exports.
//!
//! What it is not: `mp-http` knows no Mixpanel endpoint beyond the App API's
//! `results` envelope and cursor pagination, never reads the environment or
//! a config file, never prints, and never stores credentials: it asks an
//! [`Authenticator`] for an `Authorization` header on every attempt and forgets
//! it afterwards. Credentials never appear in an [`Error`], a `Debug` output or
//! a `tracing` event.
//!
//! Main types, in reading order:
//!
//! - [`Endpoints`], [`Region`] and [`ApiFamily`]: where a request goes.
//! - [`ClientBuilder`] and [`Client`]: the decorated, retrying client shared by
//!   every service; [`Request`] and [`Response`] are what goes in and out.
//! - [`Error`] and [`ErrorKind`]: one error type for every failure.
//! - [`RetryPolicy`] and [`RetryState`]: the pure retry decision; [`Clock`] is
//!   the time seam the retry loop sleeps through.
//! - [`JsonLines`]: a JSONL reader over a streamed, possibly gzip-encoded body.
//! - [`Paginator`]: the App API's cursor pagination.
//! - [`Transport`], [`HttpRequest`], [`HttpResponse`], [`ResponseBody`] and
//!   [`HyperTransport`]: the I/O seam and its production implementation.
//! - [`Secret`]: a value whose `Debug` prints `REDACTED`.
//! - [`Date`]: a UTC calendar day, `YYYY-MM-DD` in text, the workspace's one civil-date arithmetic.
//!
//! ```no_run
//! # async fn example() -> Result<(), mp_http::Error> {
//! use mp_http::{ApiFamily, ClientBuilder, Endpoints, Region, Request};
//!
//! let client = ClientBuilder::new(Endpoints::regional(Region::Us))
//!     .with_project_id("12345")
//!     .build()?;
//! let names: Vec<String> = client
//!     .json(Request::get(ApiFamily::Query, "/events/names").param("type", "general"))
//!     .await?;
//! # let _ = names;
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

mod auth;
mod client;
mod clock;
mod date;
mod encoding;
mod endpoints;
mod error;
mod hyper_transport;
mod lines;
mod paginate;
mod request;
mod retry;
mod secret;
mod transport;

#[cfg(test)]
mod tests;

pub use crate::{
    auth::{Authenticator, BoxFuture},
    client::{Client, ClientBuilder, DEFAULT_QUERY_ORIGIN, DEFAULT_USER_AGENT, Timeouts},
    clock::{Clock, SystemClock, VirtualClock},
    date::Date,
    encoding::{encode_path_segment, redact_url},
    endpoints::{ApiFamily, Endpoints, Region},
    error::{Error, ErrorKind, ResponseBodyDetail},
    hyper_transport::HyperTransport,
    lines::JsonLines,
    paginate::{MAX_PAGES, Paginator},
    request::{Request, Response},
    retry::{Outcome, RETRIED_STATUS_CODES, RetryPolicy, RetryState, parse_retry_after},
    secret::Secret,
    transport::{
        HttpRequest, HttpResponse, ResponseBody, Transport, TransportError, TransportErrorKind,
    },
};
