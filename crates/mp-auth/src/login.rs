//! The browser (PKCE) login, from the callback server to the token exchange.
//!
//! [`start_browser_login`] prepares everything that must exist before the user sees a URL; the
//! returned [`PendingLogin`] gives the caller the URL to print and to open, and
//! [`PendingLogin::finish`] waits for the browser (or a pasted redirect) and exchanges the code.
//! `mp-auth` prints nothing and opens nothing itself: the caller decides how to talk to the user.
//!
//! | step | what happens | failure |
//! |---|---|---|
//! | 1 | bind `127.0.0.1` on the first free callback port | [`Error::CallbackPortsBusy`] |
//! | 2 | find or register the OAuth client for this redirect URI ([`ensure_registered`]) | [`Error::OAuthEndpoint`] (registration) |
//! | 3 | make a PKCE verifier and a `state`; build the authorize URL | — |
//! | 4 | the caller prints the URL (always) and opens it ([`PendingLogin::open_browser`]) | a browser that cannot open is not an error: the URL was printed |
//! | 5a | the browser is redirected to the callback server | [`Error::StateMismatch`], [`Error::AuthorizationDenied`] |
//! | 5b | or the user pastes the redirect URL, its query, or the bare code (`--no-browser`) | [`Error::InvalidPaste`], [`Error::StateMismatch`], [`Error::AuthorizationDenied`] |
//! | 5c | or nothing arrives in time | [`Error::LoginTimedOut`] |
//! | 6 | exchange the code with the verifier | [`Error::OAuthEndpoint`] (token exchange) |
//!
//! Whichever of 5a and 5b comes first wins. Nothing is written to the token store here: the
//! caller first checks the tokens (`/me`), picks the account name, then calls
//! [`StateDir::save_tokens`], so a failed login leaves no half-made account behind.

use std::future::Future;
use std::time::Duration;

use mp_http::Secret;

use crate::{
    CallbackServer, DEFAULT_CALLBACK_PORTS, DEFAULT_CALLBACK_TIMEOUT, Error, OAuthClient, Pkce,
    StateDir, StoredTokens, TokenSet, constant_time_eq, ensure_registered, generate_state, urlenc,
};

/// How a browser login listens and how long it waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginOptions {
    /// Callback ports, tried in order (default [`DEFAULT_CALLBACK_PORTS`]; tests pass `[0]`).
    pub callback_ports: Vec<u16>,
    /// How long to wait for the browser or a paste (default five minutes).
    pub callback_timeout: Duration,
}

impl LoginOptions {
    /// The official client's ports and a five-minute wait.
    pub fn new() -> LoginOptions {
        LoginOptions {
            callback_ports: DEFAULT_CALLBACK_PORTS.to_vec(),
            callback_timeout: DEFAULT_CALLBACK_TIMEOUT,
        }
    }
}

impl Default for LoginOptions {
    fn default() -> LoginOptions {
        LoginOptions::new()
    }
}

/// Opens a URL in the user's browser. The CLI implements it (with `open`, `xdg-open`, …);
/// `mp-auth` only calls it.
pub trait BrowserOpener: Send + Sync {
    /// Opens `url`. An error means "could not open": the caller has printed the URL anyway.
    fn open(&self, url: &str) -> std::io::Result<()>;
}

/// What a successful login produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginResult {
    /// The tokens.
    pub tokens: TokenSet,
    /// The OAuth client they were issued to.
    pub client_id: String,
    /// The redirect URI of the login.
    pub redirect_uri: String,
}

impl LoginResult {
    /// The tokens as [`StateDir::save_tokens`] stores them (with their `client_id`).
    pub fn into_stored(self) -> StoredTokens {
        StoredTokens {
            tokens: self.tokens,
            client_id: Some(self.client_id),
        }
    }
}

/// A login waiting for the browser.
#[derive(Debug)]
pub struct PendingLogin {
    oauth: OAuthClient,
    server: CallbackServer,
    pkce: Pkce,
    state: Secret<String>,
    client_id: String,
    authorize_url: String,
    timeout: Duration,
}

/// Starts a browser login: binds the callback server, registers (or reuses) the OAuth client,
/// and builds the authorize URL (steps 1–3 of the module table).
pub async fn start_browser_login(
    oauth: &OAuthClient,
    state_dir: &StateDir,
    options: &LoginOptions,
) -> Result<PendingLogin, Error> {
    let state = generate_state();
    let server = CallbackServer::bind(&options.callback_ports, state.clone()).await?;
    let registration = ensure_registered(oauth, state_dir, server.redirect_uri()).await?;
    let pkce = Pkce::generate();
    let authorize_url = oauth.authorize_url(
        &registration.client_id,
        server.redirect_uri(),
        &pkce,
        &state,
    );
    Ok(PendingLogin {
        oauth: oauth.clone(),
        server,
        pkce,
        state,
        client_id: registration.client_id,
        authorize_url,
        timeout: options.callback_timeout,
    })
}

impl PendingLogin {
    /// The URL the user must open. Always show it (on stderr): the browser may not open, or may
    /// open on another machine's screen.
    pub fn authorize_url(&self) -> &str {
        &self.authorize_url
    }

    /// The redirect URI (`http://localhost:PORT/callback`).
    pub fn redirect_uri(&self) -> &str {
        self.server.redirect_uri()
    }

    /// The OAuth client id used.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Asks `opener` to open the authorize URL.
    pub fn open_browser(&self, opener: &dyn BrowserOpener) -> std::io::Result<()> {
        opener.open(&self.authorize_url)
    }

    /// Waits for the browser's redirect only, then exchanges the code.
    pub async fn finish_from_callback(self) -> Result<LoginResult, Error> {
        self.finish(std::future::pending()).await
    }

    /// Waits for the browser's redirect or for `pasted` (a line the user pasted: the redirect
    /// URL, its query string, or the bare code), whichever comes first, then exchanges the code.
    ///
    /// `pasted` resolving to `None` (stdin closed) leaves only the callback. A paste that is not
    /// usable ends the login with its error rather than waiting silently. A bare code cannot be
    /// checked against `state`; accepting it is safe because the code is useless without this
    /// login's PKCE verifier (a code minted for another login fails the exchange).
    pub async fn finish(
        mut self,
        pasted: impl Future<Output = Option<String>> + Send,
    ) -> Result<LoginResult, Error> {
        let timeout = self.timeout;
        let code = {
            let callback = self.server.wait(timeout);
            tokio::pin!(callback);
            tokio::pin!(pasted);
            let mut paste_open = true;
            loop {
                tokio::select! {
                    outcome = &mut callback => break outcome?,
                    line = &mut pasted, if paste_open => match line {
                        Some(line) => break parse_pasted_redirect(&line, &self.state)?,
                        None => paste_open = false,
                    },
                }
            }
        };
        let redirect_uri = self.server.redirect_uri().to_owned();
        let tokens = self
            .oauth
            .exchange_code(&code, &self.pkce, &self.client_id, &redirect_uri)
            .await?;
        Ok(LoginResult {
            tokens,
            client_id: self.client_id,
            redirect_uri,
        })
    }
}

/// Parses what a user pasted after a `--no-browser` login: the whole redirect URL
/// (`http://localhost:19284/callback?code=…&state=…`), its query (`?code=…&state=…` or
/// `code=…&state=…`), or the bare code. Returns the code.
///
/// When a `state` is present it must equal `expected_state` (compared in constant time).
pub fn parse_pasted_redirect(
    text: &str,
    expected_state: &Secret<String>,
) -> Result<Secret<String>, Error> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::InvalidPaste {
            reason: "nothing was pasted",
        });
    }
    let looks_like_query = text.contains('?') || text.contains('=');
    if !looks_like_query {
        // A bare code: one token of URL-safe characters.
        let is_code = text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~'));
        if !is_code {
            return Err(Error::InvalidPaste {
                reason: "it is neither a redirect URL nor an authorization code",
            });
        }
        return Ok(Secret::new(text.to_owned()));
    }
    let query = text.split_once('?').map_or(text, |(_, query)| query);
    let query = query.split_once('#').map_or(query, |(query, _)| query);
    let pairs = urlenc::decode_query(query);
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.clone())
    };
    if let Some(error) = get("error") {
        return Err(Error::AuthorizationDenied {
            error,
            description: get("error_description").filter(|text| !text.is_empty()),
        });
    }
    let Some(code) = get("code").filter(|code| !code.is_empty()) else {
        return Err(Error::InvalidPaste {
            reason: "it has no `code` parameter",
        });
    };
    match get("state") {
        Some(state) if constant_time_eq(state.as_bytes(), expected_state.expose().as_bytes()) => {
            Ok(Secret::new(code))
        }
        Some(_) => Err(Error::StateMismatch),
        None => Err(Error::InvalidPaste {
            reason: "it has a `code` but no `state`; paste the whole URL, or only the code",
        }),
    }
}
