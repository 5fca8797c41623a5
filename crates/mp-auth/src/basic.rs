//! The two authenticators that need no network: Basic and a fixed Bearer token.

use base64::Engine as _;
use mp_http::{Authenticator, BoxFuture, Error, Secret};

/// Authenticates as a Mixpanel service account: `Authorization: Basic
/// base64(username:secret)`.
///
/// The header is computed once, at construction, as the official client
/// does; `Debug` shows the username but never the secret or the header.
#[derive(Clone)]
pub struct ServiceAccountAuth {
    username: String,
    header: Secret<String>,
}

impl ServiceAccountAuth {
    /// A service account with `username` and `secret`.
    pub fn new(username: impl Into<String>, secret: Secret<String>) -> ServiceAccountAuth {
        let username = username.into();
        let credentials = format!("{username}:{}", secret.expose());
        let encoded = base64::engine::general_purpose::STANDARD.encode(credentials.as_bytes());
        ServiceAccountAuth {
            username,
            header: Secret::new(format!("Basic {encoded}")),
        }
    }

    /// The service account's username (not a secret: it names the account).
    pub fn username(&self) -> &str {
        &self.username
    }
}

impl std::fmt::Debug for ServiceAccountAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountAuth")
            .field("username", &self.username)
            .field("secret", &self.header)
            .finish()
    }
}

impl Authenticator for ServiceAccountAuth {
    fn authorization(&self) -> BoxFuture<'_, Result<Secret<String>, Error>> {
        let header = self.header.clone();
        Box::pin(async move { Ok(header) })
    }
}

/// Authenticates with a fixed OAuth access token: `Authorization: Bearer
/// <token>`. It cannot refresh; a 401 is final.
#[derive(Clone)]
pub struct BearerTokenAuth {
    header: Secret<String>,
}

impl BearerTokenAuth {
    /// Authenticates with `token`.
    pub fn new(token: Secret<String>) -> BearerTokenAuth {
        BearerTokenAuth {
            header: Secret::new(format!("Bearer {}", token.expose())),
        }
    }
}

impl std::fmt::Debug for BearerTokenAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerTokenAuth")
            .field("token", &self.header)
            .finish()
    }
}

impl Authenticator for BearerTokenAuth {
    fn authorization(&self) -> BoxFuture<'_, Result<Secret<String>, Error>> {
        let header = self.header.clone();
        Box::pin(async move { Ok(header) })
    }
}
