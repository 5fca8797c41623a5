//! [`OAuthBrowserAuth`]: the `Authorization` header of a browser-login account, refreshed when
//! needed, exactly once across every process that shares the token store.
//!
//! Refresh follows a fixed order (uv's token refresh, double-checked):
//!
//! 1. **check**: the tokens in memory (or, failing that, on disk) are good for more than 30
//!    seconds → use them;
//! 2. **lock**: take this authenticator's in-process gate (so its tasks queue here instead of on
//!    blocking threads), then the account's file lock (so other processes queue);
//! 3. **re-read** the token file: whoever held the lock before us may have refreshed;
//! 4. **check again**: fresh now → use them, no request;
//! 5. **refresh** with the refresh token and the `client_id` stored next to it;
//! 6. **write** the new tokens atomically, then release the lock.
//!
//! So N processes (or tasks, or threads) that all find one expired token make exactly one
//! refresh request: the first refreshes, the others find fresh tokens at step 4. After a 401,
//! step 1 is skipped and step 4 only accepts a token *other* than the one the server refused.
//! The [`RefreshReason`] of every refresh is logged at debug level.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use mp_http::{Authenticator, BoxFuture, Secret};

use crate::registration::latest_client_id;
use crate::{Error, OAuthClient, StateDir, StoredTokens, TokenSet};

/// Why a refresh happened (logged at debug level).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshReason {
    /// The access token expires within the tolerance window, or has expired.
    Expiring {
        /// Time left before expiry; `None` when it has already passed.
        remaining: Option<Duration>,
    },
    /// Mixpanel answered 401 to the access token.
    Unauthorized,
    /// The caller asked for a refresh.
    Requested,
}

/// Authenticates a browser-login (`oauth_browser`) account with its stored tokens, refreshing
/// them under the account's lock when they expire or after a 401.
#[derive(Debug)]
pub struct OAuthBrowserAuth {
    account: String,
    state_dir: StateDir,
    oauth: OAuthClient,
    /// The tokens last read or written, so a request does not read the file when they are fresh.
    cached: Mutex<Option<StoredTokens>>,
    /// The access token of the last `Authorization` header handed out: after a 401 it is the one
    /// the server refused.
    last_sent: Mutex<Option<Secret<String>>>,
    /// Step 2's in-process gate: tasks of this authenticator wait here, on the runtime, rather
    /// than each blocking a thread on the file lock. Held across the refresh request.
    refresh_gate: tokio::sync::Mutex<()>,
}

impl OAuthBrowserAuth {
    /// The authenticator of `account`, whose tokens live in `state_dir`. `oauth` must point at the
    /// account's region (its clock decides expiry).
    pub fn new(
        account: &str,
        state_dir: StateDir,
        oauth: OAuthClient,
    ) -> Result<OAuthBrowserAuth, Error> {
        crate::validate_account_name(account)?;
        Ok(OAuthBrowserAuth {
            account: account.to_owned(),
            state_dir,
            oauth,
            cached: Mutex::new(None),
            last_sent: Mutex::new(None),
            refresh_gate: tokio::sync::Mutex::new(()),
        })
    }

    /// The account's name.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// A valid access token, refreshed first if needed (`mp account token`).
    pub async fn access_token(&self) -> Result<Secret<String>, Error> {
        Ok(self.fresh_tokens(None).await?.tokens.access_token)
    }

    /// Refreshes now, unless another process refreshed since this one last looked (`mp account
    /// login` after a manual revoke, tests).
    pub async fn refresh(&self) -> Result<StoredTokens, Error> {
        let current = self.state_dir.load_tokens(&self.account)?;
        let refused = current.map(|stored| stored.tokens.access_token);
        self.refresh_locked(RefreshReason::Requested, refused).await
    }

    fn now(&self) -> SystemTime {
        self.oauth.http().clock().now()
    }

    /// Steps 1–6 of the module doc. `refused` is the access token the server refused (after a
    /// 401); `None` for the expiry path.
    async fn fresh_tokens(&self, refused: Option<Secret<String>>) -> Result<StoredTokens, Error> {
        if refused.is_none() {
            // Step 1: check, memory first, then disk.
            let now = self.now();
            if let Some(cached) = self.cached_copy()
                && cached.tokens.is_fresh(now)
            {
                return Ok(cached);
            }
            let Some(stored) = self.state_dir.load_tokens(&self.account)? else {
                return Err(Error::NotLoggedIn {
                    account: self.account.clone(),
                });
            };
            self.remember(&stored);
            if stored.tokens.is_fresh(now) {
                return Ok(stored);
            }
            let remaining = stored.tokens.expires_at.duration_since(now).ok();
            return self
                .refresh_locked(RefreshReason::Expiring { remaining }, None)
                .await;
        }
        self.refresh_locked(RefreshReason::Unauthorized, refused)
            .await
    }

    /// Steps 2–6: lock, re-read, check again, refresh, write.
    async fn refresh_locked(
        &self,
        reason: RefreshReason,
        refused: Option<Secret<String>>,
    ) -> Result<StoredTokens, Error> {
        // Step 2: the in-process gate, then the cross-process file lock.
        let _gate = self.refresh_gate.lock().await;
        let _file_lock = self.state_dir.lock_tokens(&self.account).await?;
        // Step 3: re-read.
        let Some(stored) = self.state_dir.load_tokens(&self.account)? else {
            return Err(Error::NotLoggedIn {
                account: self.account.clone(),
            });
        };
        // Step 4: check again.
        let now = self.now();
        let someone_else_refreshed = match (&refused, reason) {
            (Some(refused), _) => stored.tokens.access_token != *refused,
            (None, RefreshReason::Requested) => false,
            (None, _) => true,
        };
        if someone_else_refreshed && stored.tokens.is_fresh(now) {
            tracing::debug!(account = %self.account, "tokens were refreshed by another process");
            self.remember(&stored);
            return Ok(stored);
        }
        // Step 5: refresh.
        if stored.tokens.refresh_token.is_none() {
            return Err(Error::NoRefreshToken {
                account: self.account.clone(),
            });
        }
        let client_id =
            match &stored.client_id {
                Some(client_id) => client_id.clone(),
                None => latest_client_id(&self.state_dir, &self.oauth.oauth_base())?.ok_or_else(
                    || Error::NoClientId {
                        account: self.account.clone(),
                    },
                )?,
            };
        tracing::debug!(account = %self.account, ?reason, "refreshing the access token");
        let tokens: TokenSet = self
            .oauth
            .refresh(&stored.tokens, &client_id, Some(&self.account))
            .await?;
        let refreshed = StoredTokens {
            tokens,
            client_id: Some(client_id),
        };
        // Step 6: write atomically, still under the lock.
        self.state_dir
            .write_tokens_locked(&self.account, &refreshed)?;
        self.remember(&refreshed);
        Ok(refreshed)
    }

    fn cached_copy(&self) -> Option<StoredTokens> {
        lock(&self.cached).clone()
    }

    fn remember(&self, stored: &StoredTokens) {
        *lock(&self.cached) = Some(stored.clone());
    }
}

impl Authenticator for OAuthBrowserAuth {
    fn authorization(&self) -> BoxFuture<'_, Result<Secret<String>, mp_http::Error>> {
        Box::pin(async move {
            let stored = self
                .fresh_tokens(None)
                .await
                .map_err(|error| error.into_http_error(&self.account))?;
            *lock(&self.last_sent) = Some(stored.tokens.access_token.clone());
            Ok(stored.tokens.authorization())
        })
    }

    fn refresh_after_unauthorized(&self) -> BoxFuture<'_, Result<bool, mp_http::Error>> {
        Box::pin(async move {
            let refused = lock(&self.last_sent).clone();
            self.fresh_tokens(Some(refused.unwrap_or_default()))
                .await
                .map_err(|error| error.into_http_error(&self.account))?;
            Ok(true)
        })
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means a panic elsewhere; the value is plain data.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What an authenticator for a configured account needs beyond the account itself.
#[derive(Clone)]
pub struct AuthContext {
    /// The state directory (browser-login tokens).
    pub state_dir: StateDir,
    /// OAuth endpoints of the account's region (for refreshes).
    pub oauth: OAuthClient,
    /// Reads an environment variable for `token_env` accounts, at request time.
    pub env: crate::EnvLookup,
}

impl std::fmt::Debug for AuthContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthContext")
            .field("state_dir", &self.state_dir)
            .field("oauth", &self.oauth)
            .finish_non_exhaustive()
    }
}

impl crate::Account {
    /// The authenticator of this account: Basic for a service account, Bearer from the token
    /// store (refreshing) for a browser login, Bearer with the inline token or the named
    /// variable (read at every request) for a static token.
    pub fn authenticator(&self, context: &AuthContext) -> Result<Arc<dyn Authenticator>, Error> {
        Ok(match &self.kind {
            crate::AccountKind::ServiceAccount { username, secret } => Arc::new(
                crate::ServiceAccountAuth::new(username.clone(), secret.clone()),
            ),
            crate::AccountKind::OAuthBrowser => Arc::new(OAuthBrowserAuth::new(
                &self.name,
                context.state_dir.clone(),
                context.oauth.clone(),
            )?),
            crate::AccountKind::OAuthToken(crate::TokenSource::Inline(token)) => {
                Arc::new(crate::BearerTokenAuth::new(token.clone()))
            }
            crate::AccountKind::OAuthToken(crate::TokenSource::Env(variable)) => Arc::new(
                crate::EnvTokenAuth::new(&self.name, variable, Arc::clone(&context.env)),
            ),
        })
    }
}
