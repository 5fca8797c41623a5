//! The authenticators that need no network: Basic, a fixed Bearer token, and a Bearer token read
//! from a named environment variable at every request.

use std::sync::Arc;

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

/// Looks up an environment variable. `mp-auth` reads no environment itself: the CLI passes a
/// lookup (`|name| std::env::var(name).ok()`), tests pass a map.
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Authenticates with a bearer token read from a named environment variable at every request
/// (an `oauth_token` account with `token_env`), so a rotated token is picked up without
/// restarting anything.
#[derive(Clone)]
pub struct EnvTokenAuth {
    account: String,
    variable: String,
    lookup: EnvLookup,
}

impl EnvTokenAuth {
    /// Reads the token of `account` from `variable` through `lookup`.
    pub fn new(account: &str, variable: &str, lookup: EnvLookup) -> EnvTokenAuth {
        EnvTokenAuth {
            account: account.to_owned(),
            variable: variable.to_owned(),
            lookup,
        }
    }
}

impl std::fmt::Debug for EnvTokenAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvTokenAuth")
            .field("account", &self.account)
            .field("variable", &self.variable)
            .finish_non_exhaustive()
    }
}

impl Authenticator for EnvTokenAuth {
    fn authorization(&self) -> BoxFuture<'_, Result<Secret<String>, Error>> {
        let token = (self.lookup)(&self.variable).filter(|token| !token.trim().is_empty());
        Box::pin(async move {
            match token {
                Some(token) => Ok(Secret::new(format!("Bearer {}", token.trim()))),
                None => Err(crate::Error::TokenVariableUnset {
                    account: self.account.clone(),
                    variable: self.variable.clone(),
                }
                .into_http_error(&self.account)),
            }
        })
    }
}
