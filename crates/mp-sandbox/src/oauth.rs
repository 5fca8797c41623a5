//! Mixpanel's OAuth side: dynamic client registration, an authorize endpoint that approves at
//! once, and the token endpoint with PKCE (S256) and refresh-token rotation.
//!
//! # The flow, as the sandbox plays it
//!
//! | step | request | answer |
//! | --- | --- | --- |
//! | register (RFC 7591) | `POST /oauth/mcp/register/` JSON `{redirect_uris, grant_types, response_types, token_endpoint_auth_method: "none", scope?, client_name?}` | 201 with the metadata and a new `client_id` (public clients only) |
//! | authorize | `GET /oauth/authorize/?response_type=code&client_id&redirect_uri&state&code_challenge&code_challenge_method=S256` | 302 to `redirect_uri?code=…&state=…` as if the user approved at once |
//! | exchange | `POST /oauth/token/` form `grant_type=authorization_code&code&redirect_uri&client_id&code_verifier` | 200 `{access_token, expires_in, scope, token_type: "Bearer", refresh_token}` |
//! | refresh | `POST /oauth/token/` form `grant_type=refresh_token&refresh_token&client_id` | 200, a new access token *and* a new refresh token; the old refresh token is revoked |
//!
//! Errors follow RFC 6749 §5.2 with the body `{"error": "<code>"}`, as Mixpanel's recorded
//! `{"error":"invalid_grant"}`: `invalid_request` (400, a parameter is missing),
//! `invalid_client` (401, unknown `client_id`), `invalid_grant` (400: unknown, used, expired
//! or revoked code or refresh token, wrong verifier, redirect URI or client),
//! `unsupported_grant_type` (400). Authorize errors that can be reported to the client are
//! redirects with `error`, `error_description` and `state`; a bad `client_id` or
//! `redirect_uri` is a 400 page instead, because redirecting to an unverified URI is what
//! RFC 6749 §4.1.2.1 forbids.
//!
//! Access tokens are Bearer tokens of the sandbox's account: they work on every API family
//! until they expire (`SandboxOptions::oauth_access_token_ttl`, changeable at runtime).
//! Refresh tokens rotate on every use, as Django OAuth Toolkit (Mixpanel's OAuth server)
//! rotates them, so two processes refreshing with the same token cannot both succeed — the
//! race a client's refresh lock exists to prevent. An old access token stays valid until its
//! own expiry.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde_json::{Value as Json, json};
use sha2::Digest as _;
use tokio::time::Instant;

use crate::account::BearerTokens;
use crate::http_util::{self, Body, Params, full_response, json_response};
use crate::rng::derive;

/// How long an authorization code may wait for its exchange.
const CODE_TTL: Duration = Duration::from_secs(600);

/// The scope granted to every token: the documented mandatory and optional scopes (an app
/// created by registration has an empty scope, which Mixpanel's server treats as all).
const GRANTED_SCOPE: &str = "projects analysis events insights segmentation retention data:read \
                             funnels flows data_definitions dashboard_reports bookmarks \
                             user_details business_context";

/// What the token and authorize endpoints have done so far, for tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OAuthCounts {
    /// Successful client registrations.
    pub registrations: u64,
    /// Authorization codes issued.
    pub authorizations: u64,
    /// Every request to the token endpoint, successful or not.
    pub token_requests: u64,
    /// Successful `authorization_code` exchanges.
    pub code_exchanges: u64,
    /// Successful `refresh_token` grants.
    pub refreshes: u64,
    /// Token requests answered `invalid_grant`.
    pub invalid_grants: u64,
}

/// A registered client. Public clients have no secret: they prove nothing at the token
/// endpoint but their `client_id`, which is why PKCE is mandatory for them.
#[derive(Debug)]
struct Client {
    /// The redirect URIs of the registration; authorize accepts only these (loopback ones
    /// with any port).
    redirect_uris: Vec<String>,
}

/// An authorization code between authorize and its exchange.
#[derive(Debug)]
struct PendingCode {
    /// The client it was issued to; another client cannot redeem it.
    client_id: String,
    /// The `redirect_uri` the authorize request named, which the exchange must repeat
    /// (RFC 6749 §4.1.3), or `None` if it relied on the only registered one.
    redirect_uri: Option<String>,
    /// The S256 challenge the verifier must hash to.
    challenge: String,
    /// On tokio's clock, so that tests on a paused clock can let a code expire.
    expires_at: Instant,
}

/// What a live refresh token may be exchanged for.
#[derive(Debug)]
struct RefreshGrant {
    /// The client it was issued to: RFC 6749 §6 binds a refresh token to its client.
    client_id: String,
}

/// Everything the OAuth endpoints change, behind one lock: a token request reads and
/// updates codes, refresh tokens and counts together, and must do so atomically, or two
/// concurrent refreshes with one token could both succeed.
#[derive(Debug)]
struct Inner {
    /// Numbers every identifier minted, so that none repeats.
    minted: u64,
    /// By `client_id`.
    clients: HashMap<String, Client>,
    /// Codes not yet exchanged, by code.
    codes: HashMap<String, PendingCode>,
    /// Live refresh tokens; a used or revoked one is removed.
    refresh_tokens: HashMap<String, RefreshGrant>,
    /// The lifetime of the next access tokens (`expires_in`).
    access_token_ttl: Duration,
    /// Set by tests: authorize answers `access_denied`.
    deny_authorizations: bool,
    counts: OAuthCounts,
}

/// The OAuth server's state: registered clients, pending codes, live refresh tokens.
#[derive(Debug)]
pub(crate) struct OAuthServer {
    /// Mixed into every identifier, so that two sandboxes (different ports) never mint the
    /// same token and a token of one is refused by the other.
    salt: u64,
    inner: Mutex<Inner>,
}

/// An OAuth error of the token or registration endpoint.
struct OAuthError {
    status: StatusCode,
    code: &'static str,
    description: Option<String>,
}

impl OAuthError {
    fn new(status: StatusCode, code: &'static str) -> OAuthError {
        OAuthError {
            status,
            code,
            description: None,
        }
    }

    fn invalid_request(description: impl Into<String>) -> OAuthError {
        OAuthError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_request",
            description: Some(description.into()),
        }
    }

    fn invalid_grant() -> OAuthError {
        OAuthError::new(StatusCode::BAD_REQUEST, "invalid_grant")
    }

    fn into_response(self) -> Response<Body> {
        let body = match self.description {
            Some(description) => json!({"error": self.code, "error_description": description}),
            None => json!({"error": self.code}),
        };
        no_store(json_response(self.status, &body))
    }
}

/// Marks a response as not cacheable, as RFC 6749 §5.1 requires of token responses.
fn no_store(mut response: Response<Body>) -> Response<Body> {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

impl OAuthServer {
    pub(crate) fn new(salt: u64, access_token_ttl: Duration) -> OAuthServer {
        OAuthServer {
            salt,
            inner: Mutex::new(Inner {
                minted: 0,
                clients: HashMap::new(),
                codes: HashMap::new(),
                refresh_tokens: HashMap::new(),
                access_token_ttl,
                deny_authorizations: false,
                counts: OAuthCounts::default(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Every handler updates the state in one critical section that cannot panic half-way
        // through an update, so a poisoned lock still guards consistent state.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Mints an identifier: a prefix and 32 hex digits, unique per sandbox.
    fn mint(&self, inner: &mut Inner, prefix: &str) -> String {
        inner.minted += 1;
        let high = derive(self.salt, inner.minted * 2);
        let low = derive(self.salt, inner.minted * 2 + 1);
        format!("{prefix}{high:016x}{low:016x}")
    }

    pub(crate) fn set_access_token_ttl(&self, ttl: Duration) {
        self.lock().access_token_ttl = ttl;
    }

    pub(crate) fn set_deny_authorizations(&self, deny: bool) {
        self.lock().deny_authorizations = deny;
    }

    pub(crate) fn revoke_refresh_token(&self, token: &str) -> bool {
        self.lock().refresh_tokens.remove(token).is_some()
    }

    pub(crate) fn revoke_all_refresh_tokens(&self) -> usize {
        let mut inner = self.lock();
        let n = inner.refresh_tokens.len();
        inner.refresh_tokens.clear();
        n
    }

    pub(crate) fn counts(&self) -> OAuthCounts {
        self.lock().counts
    }

    /// `POST /oauth/mcp/register/`.
    pub(crate) fn register(&self, body: &Bytes) -> Response<Body> {
        match self.try_register(body) {
            Ok(response) => response,
            Err(error) => error.into_response(),
        }
    }

    fn try_register(&self, body: &Bytes) -> Result<Response<Body>, OAuthError> {
        let invalid = |description: &str| OAuthError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_client_metadata",
            description: Some(description.to_owned()),
        };
        let metadata: Json = serde_json::from_slice(body)
            .map_err(|_| invalid("the registration request must be a JSON object"))?;
        let Json::Object(metadata) = metadata else {
            return Err(invalid("the registration request must be a JSON object"));
        };
        let redirect_uris: Vec<String> = metadata
            .get("redirect_uris")
            .and_then(Json::as_array)
            .map(|uris| {
                uris.iter()
                    .map(|uri| uri.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
            })
            .unwrap_or(None)
            .filter(|uris| !uris.is_empty())
            .ok_or(OAuthError {
                status: StatusCode::BAD_REQUEST,
                code: "invalid_redirect_uri",
                description: Some("redirect_uris must be a non-empty array of URIs".to_owned()),
            })?;
        for uri in &redirect_uris {
            let absolute = uri.starts_with("http://") || uri.starts_with("https://");
            if !absolute || uri.contains('#') {
                return Err(OAuthError {
                    status: StatusCode::BAD_REQUEST,
                    code: "invalid_redirect_uri",
                    description: Some(format!(
                        "{uri:?} is not an absolute http(s) URI without a fragment"
                    )),
                });
            }
        }
        // RFC 7591 defaults the method to `client_secret_basic`; the sandbox issues no secrets,
        // so an absent method means a public client, which is what Mixpanel's client asks.
        let method = metadata
            .get("token_endpoint_auth_method")
            .and_then(Json::as_str)
            .unwrap_or("none");
        if method != "none" {
            return Err(invalid(
                "the sandbox registers public clients only (token_endpoint_auth_method none)",
            ));
        }
        let strings = |name: &str, default: &[&str]| -> Result<Vec<String>, OAuthError> {
            match metadata.get(name) {
                None => Ok(default.iter().map(|s| (*s).to_owned()).collect()),
                Some(value) => value
                    .as_array()
                    .and_then(|items| {
                        items
                            .iter()
                            .map(|item| item.as_str().map(str::to_owned))
                            .collect::<Option<Vec<_>>>()
                    })
                    .ok_or_else(|| invalid(&format!("{name} must be an array of strings"))),
            }
        };
        let grant_types = strings("grant_types", &["authorization_code"])?;
        if grant_types
            .iter()
            .any(|grant| grant != "authorization_code" && grant != "refresh_token")
        {
            return Err(invalid(
                "grant_types may hold only authorization_code and refresh_token",
            ));
        }
        let response_types = strings("response_types", &["code"])?;
        if response_types.iter().any(|kind| kind != "code") {
            return Err(invalid("response_types may hold only code"));
        }

        let mut inner = self.lock();
        let client_id = self.mint(&mut inner, "");
        inner.clients.insert(
            client_id.clone(),
            Client {
                redirect_uris: redirect_uris.clone(),
            },
        );
        inner.counts.registrations += 1;
        drop(inner);
        let mut answer = json!({
            "client_id": client_id,
            "redirect_uris": redirect_uris,
            "grant_types": grant_types,
            "response_types": response_types,
            "token_endpoint_auth_method": "none",
        });
        for optional in ["scope", "client_name"] {
            if let Some(value) = metadata.get(optional).and_then(Json::as_str) {
                answer[optional] = json!(value);
            }
        }
        Ok(no_store(json_response(StatusCode::CREATED, &answer)))
    }

    /// `GET /oauth/authorize/`.
    pub(crate) fn authorize(&self, params: &Params) -> Response<Body> {
        let mut inner = self.lock();
        let page = |message: String| {
            full_response(
                StatusCode::BAD_REQUEST,
                "text/html; charset=utf-8",
                format!(
                    "<!doctype html><title>Authorization Error</title><h1>Authorization Error</h1><p>{}</p>",
                    html_escape(&message)
                ),
            )
        };
        let Some(client_id) = params.get("client_id") else {
            return page("Missing client_id parameter.".to_owned());
        };
        let Some(client) = inner.clients.get(client_id) else {
            return page(format!("Invalid client_id parameter value {client_id:?}."));
        };
        // RFC 6749 §3.1.2.3: without `redirect_uri`, the only registered one is used.
        let redirect_uri = match params.get("redirect_uri") {
            Some(uri) if redirect_allowed(&client.redirect_uris, uri) => uri.to_owned(),
            Some(uri) => {
                return page(format!("Mismatching redirect URI {uri:?}."));
            }
            None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
            None => return page("Missing redirect_uri parameter.".to_owned()),
        };
        let state = params.get("state");
        let fail = |error: &str, description: &str| {
            let mut query = vec![
                ("error", error.to_owned()),
                ("error_description", description.to_owned()),
            ];
            if let Some(state) = state {
                query.push(("state", state.to_owned()));
            }
            redirect(&redirect_uri, &query)
        };
        match params.get("response_type") {
            Some("code") => {}
            None => return fail("invalid_request", "Missing response_type parameter."),
            Some(_) => {
                return fail(
                    "unsupported_response_type",
                    "Only response_type=code is supported.",
                );
            }
        }
        // PKCE is required (a public client has nothing else), and only S256: `plain` would
        // send the verifier itself through the browser.
        let Some(challenge) = params.get("code_challenge") else {
            return fail("invalid_request", "Code challenge required.");
        };
        if params.get("code_challenge_method") != Some("S256") {
            return fail(
                "invalid_request",
                "Transform algorithm not supported: code_challenge_method must be S256.",
            );
        }
        if !is_pkce_string(challenge) {
            return fail("invalid_request", "Invalid code_challenge.");
        }
        if inner.deny_authorizations {
            return fail("access_denied", "The user denied the request.");
        }
        let code = self.mint(&mut inner, "mpsbx_code_");
        inner.codes.insert(
            code.clone(),
            PendingCode {
                client_id: client_id.to_owned(),
                redirect_uri: params.get("redirect_uri").map(str::to_owned),
                challenge: challenge.to_owned(),
                expires_at: Instant::now() + CODE_TTL,
            },
        );
        inner.counts.authorizations += 1;
        let mut query = vec![("code", code)];
        if let Some(state) = state {
            query.push(("state", state.to_owned()));
        }
        redirect(&redirect_uri, &query)
    }

    /// `POST /oauth/token/`. Access tokens it issues go into `bearer_tokens`.
    pub(crate) fn token(&self, params: &Params, bearer_tokens: &BearerTokens) -> Response<Body> {
        let mut inner = self.lock();
        inner.counts.token_requests += 1;
        let result = match params.get("grant_type") {
            None => Err(OAuthError::invalid_request("Missing grant_type parameter.")),
            Some("authorization_code") => Self::exchange_code(&mut inner, params),
            Some("refresh_token") => Self::refresh(&mut inner, params),
            Some(_) => Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
            )),
        };
        match result {
            Ok(client_id) => self.issue(&mut inner, client_id, bearer_tokens),
            Err(error) => {
                if error.code == "invalid_grant" {
                    inner.counts.invalid_grants += 1;
                }
                error.into_response()
            }
        }
    }

    /// Checks `client_id`: a public client authenticates by naming itself. An unknown one is
    /// `invalid_client` with 401 (RFC 6749 §5.2), before any code or token is looked at, so
    /// that a mistyped client id does not burn a code.
    fn client<'a>(inner: &'a Inner, params: &Params) -> Result<(&'a str, &'a Client), OAuthError> {
        let client_id = params
            .get("client_id")
            .ok_or_else(|| OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_client"))?;
        inner
            .clients
            .get_key_value(client_id)
            .map(|(id, client)| (id.as_str(), client))
            .ok_or_else(|| OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_client"))
    }

    /// Checks an `authorization_code` grant; returns the client to issue tokens to.
    fn exchange_code(inner: &mut Inner, params: &Params) -> Result<String, OAuthError> {
        let (client_id, client) = Self::client(inner, params)?;
        let client_id = client_id.to_owned();
        let default_redirect =
            (client.redirect_uris.len() == 1).then(|| client.redirect_uris[0].clone());
        let code = params
            .get("code")
            .ok_or_else(|| OAuthError::invalid_request("Missing code parameter."))?;
        let verifier = params
            .get("code_verifier")
            .ok_or_else(|| OAuthError::invalid_request("Code verifier required."))?;
        // A code is single-use: it leaves the map whatever the outcome of the checks.
        let pending = inner
            .codes
            .remove(code)
            .ok_or_else(OAuthError::invalid_grant)?;
        if pending.client_id != client_id || Instant::now() >= pending.expires_at {
            return Err(OAuthError::invalid_grant());
        }
        let redirect_ok = match (&pending.redirect_uri, params.get("redirect_uri")) {
            (Some(expected), Some(given)) => expected == given,
            (Some(_), None) => false,
            (None, given) => given.is_none() || given == default_redirect.as_deref(),
        };
        if !redirect_ok {
            return Err(OAuthError::invalid_grant());
        }
        if !is_pkce_string(verifier) || s256(verifier) != pending.challenge {
            return Err(OAuthError::invalid_grant());
        }
        inner.counts.code_exchanges += 1;
        Ok(client_id)
    }

    /// Checks a `refresh_token` grant and revokes the used token; returns the client.
    fn refresh(inner: &mut Inner, params: &Params) -> Result<String, OAuthError> {
        let (client_id, _) = Self::client(inner, params)?;
        let client_id = client_id.to_owned();
        let token = params
            .get("refresh_token")
            .ok_or_else(|| OAuthError::invalid_request("Missing refresh_token parameter."))?;
        match inner.refresh_tokens.get(token) {
            Some(grant) if grant.client_id == client_id => {}
            _ => return Err(OAuthError::invalid_grant()),
        }
        // Rotation: the used refresh token is revoked as the new one is issued, under the same
        // lock, so of two concurrent refreshes with one token exactly one succeeds.
        inner.refresh_tokens.remove(token);
        inner.counts.refreshes += 1;
        Ok(client_id)
    }

    /// Issues an access token and a refresh token, and answers with them.
    fn issue(
        &self,
        inner: &mut Inner,
        client_id: String,
        bearer_tokens: &BearerTokens,
    ) -> Response<Body> {
        let access_token = self.mint(inner, "mpsbx_at_");
        let refresh_token = self.mint(inner, "mpsbx_rt_");
        let ttl = inner.access_token_ttl;
        inner
            .refresh_tokens
            .insert(refresh_token.clone(), RefreshGrant { client_id });
        // A lifetime beyond a century is "forever"; capping it keeps the clock arithmetic
        // from overflowing on `Duration::MAX`.
        let lifetime = ttl.min(Duration::from_secs(100 * 365 * 86_400));
        bearer_tokens.insert_oauth(access_token.clone(), Instant::now() + lifetime);
        no_store(json_response(
            StatusCode::OK,
            &json!({
                "access_token": access_token,
                "expires_in": ttl.as_secs(),
                "scope": GRANTED_SCOPE,
                "token_type": "Bearer",
                "refresh_token": refresh_token,
            }),
        ))
    }
}

/// Returns true if and only if `uri` may be used as the redirect URI of a client registered
/// with `registered`: an exact match, or, for loopback redirects, a match except for the
/// port (RFC 8252 §7.3: native apps pick a free port at login time).
fn redirect_allowed(registered: &[String], uri: &str) -> bool {
    let without_port = |uri: &str| -> Option<(String, String)> {
        let rest = uri.strip_prefix("http://")?;
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let host = match authority.rsplit_once(':') {
            Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
            _ => authority,
        };
        matches!(host, "localhost" | "127.0.0.1" | "[::1]")
            .then(|| (host.to_owned(), path.to_owned()))
    };
    registered.iter().any(|candidate| {
        candidate == uri
            || without_port(candidate).is_some_and(|loopback| Some(loopback) == without_port(uri))
    })
}

/// A 302 to `uri` with `query` appended.
fn redirect(uri: &str, query: &[(&str, String)]) -> Response<Body> {
    let mut location = uri.to_owned();
    let mut separator = if uri.contains('?') { '&' } else { '?' };
    for (name, value) in query {
        location.push(separator);
        location.push_str(name);
        location.push('=');
        location.push_str(&http_util::percent_encode(value));
        separator = '&';
    }
    let mut response = full_response(StatusCode::FOUND, "text/html; charset=utf-8", Bytes::new());
    match HeaderValue::from_str(&location) {
        Ok(value) => {
            response.headers_mut().insert(header::LOCATION, value);
            no_store(response)
        }
        Err(_) => full_response(
            StatusCode::BAD_REQUEST,
            "text/html; charset=utf-8",
            "<!doctype html><title>Authorization Error</title><p>Invalid redirect URI.</p>",
        ),
    }
}

/// PKCE verifiers and S256 challenges: 43 to 128 characters of RFC 7636's unreserved set.
fn is_pkce_string(text: &str) -> bool {
    (43..=128).contains(&text.len())
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~'))
}

/// The S256 code challenge of a verifier: base64url without padding of its SHA-256.
pub(crate) fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()))
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_the_rfc_7636_example() {
        // RFC 7636, Appendix B.
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(is_pkce_string(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        ));
        assert!(!is_pkce_string("short"));
        assert!(!is_pkce_string(&"a".repeat(129)));
        assert!(!is_pkce_string(&format!("{}+", "a".repeat(43))));
    }

    #[test]
    fn loopback_redirects_may_change_port_only() {
        let registered = ["http://localhost:19284/callback".to_owned()];
        assert!(redirect_allowed(
            &registered,
            "http://localhost:19284/callback"
        ));
        assert!(redirect_allowed(
            &registered,
            "http://localhost:19287/callback"
        ));
        assert!(!redirect_allowed(
            &registered,
            "http://localhost:19287/other"
        ));
        assert!(!redirect_allowed(
            &registered,
            "http://127.0.0.1:19284/callback"
        ));
        assert!(!redirect_allowed(
            &registered,
            "http://evil.example:19284/callback"
        ));
        let https = ["https://app.example/cb".to_owned()];
        assert!(redirect_allowed(&https, "https://app.example/cb"));
        assert!(!redirect_allowed(&https, "https://app.example/cb2"));
    }
}
