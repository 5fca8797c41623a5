//! The authentication seam: mp-http asks, mp-auth answers.

use crate::{Error, Secret};

/// A boxed, `Send` future: what the object-safe traits of this crate return.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Produces the `Authorization` header of a request.
///
/// Implemented by `mp-auth` (Basic for service accounts, Bearer for OAuth
/// tokens). The client calls [`Authenticator::authorization`] before every
/// attempt, so an implementation that refreshes tokens in the background is
/// picked up without rebuilding the client.
pub trait Authenticator: Send + Sync + std::fmt::Debug {
    /// Returns the full `Authorization` header value (`Basic …` or `Bearer …`).
    fn authorization(&self) -> BoxFuture<'_, Result<Secret<String>, Error>>;

    /// Called at most once per request after a 401 response.
    ///
    /// Returns `Ok(true)` if and only if the credentials were refreshed and the
    /// request should be sent once more. The default never refreshes.
    fn refresh_after_unauthorized(&self) -> BoxFuture<'_, Result<bool, Error>> {
        Box::pin(async { Ok(false) })
    }
}
