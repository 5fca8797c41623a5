//! `mp-auth` turns Mixpanel credentials into the `Authorization` header that
//! `mp-http` sends.
//!
//! It implements [`mp_http::Authenticator`]; `mp-http` never sees a password
//! or token except through that trait, and every credential here is held in a
//! [`Secret`], whose `Debug` prints `REDACTED`. This crate does no network I/O
//! of its own yet and never reads the environment or prints: callers (mp-cli)
//! resolve credentials and pass them in. The OAuth browser login (PKCE,
//! client registration, loopback callback), the token store with locked
//! refresh, and session resolution from the config file come with the auth
//! issue and will live here.
//!
//! Main types, in reading order:
//!
//! - [`ServiceAccountAuth`]: HTTP Basic with a service account's username
//!   and secret, the non-interactive way to use Mixpanel's APIs.
//! - [`BearerTokenAuth`]: a fixed OAuth access token sent as `Bearer`.
//! - [`Secret`]: re-exported from `mp-http`.
//!
//! ```
//! use std::sync::Arc;
//! use mp_auth::{Secret, ServiceAccountAuth};
//!
//! let auth = ServiceAccountAuth::new("sa.user", Secret::new("s3cret".to_owned()));
//! assert!(!format!("{auth:?}").contains("s3cret"));
//! let _builder = mp_http::ClientBuilder::new(mp_http::Endpoints::regional(mp_http::Region::Us))
//!     .with_authenticator(Arc::new(auth));
//! ```

#![deny(missing_docs)]

mod basic;

#[cfg(test)]
mod tests;

pub use crate::basic::{BearerTokenAuth, ServiceAccountAuth};
pub use mp_http::Secret;
