//! [`OAuthClient`]: Mixpanel's OAuth endpoints — dynamic client registration, the authorize URL,
//! the code exchange and the refresh grant.
//!
//! | request | URL | body |
//! |---|---|---|
//! | registration (RFC 7591) | `POST {oauth base}mcp/register/` | JSON: `redirect_uris`, `grant_types`, `response_types`, `token_endpoint_auth_method: none`, `scope` |
//! | authorize (browser) | `GET {oauth base}authorize/?response_type=code&client_id&redirect_uri&state&code_challenge&code_challenge_method=S256` | — |
//! | code exchange | `POST {oauth base}token/` | form: `grant_type=authorization_code&code&redirect_uri&client_id&code_verifier` |
//! | refresh | `POST {oauth base}token/` | form: `grant_type=refresh_token&refresh_token&client_id` |
//!
//! The `{oauth base}` is the client's [`mp_http::ApiFamily::OAuth`] base
//! (`https://mixpanel.com/oauth/`, `https://eu.mixpanel.com/oauth/`, …, or `{API base}/oauth/`
//! under an override). Failures are classified as the official client does (a vector-tested
//! contract): any non-200 token response is an [`OAuthFailure::Status`], except `invalid_grant`
//! (400 or 401) on a refresh, which is [`Error::RefreshRevoked`] — the refresh token is dead and
//! only a new login helps.

use std::time::Duration;

use serde_json::{Value, json};

use mp_http::{ApiFamily, Client, Region, Request, Secret};

use crate::tokens::redact_token_payload;
use crate::{Error, OAuthFailure, OAuthOperation, Pkce, TokenSet, urlenc};

/// The scopes sent with a client registration. Advisory: Mixpanel creates the client with an
/// empty scope, which grants every scope (the official client's comment), and the authorize URL
/// carries no scope at all.
pub const REGISTRATION_SCOPE: &str = "projects analysis events insights segmentation retention data:read funnels flows data_definitions dashboard_reports bookmarks";

/// Mixpanel's OAuth endpoints for one region (or one base-URL override).
///
/// The [`Client`] must carry no authenticator: OAuth requests are authenticated by their bodies
/// (public client, PKCE), never by an `Authorization` header.
#[derive(Debug, Clone)]
pub struct OAuthClient {
    http: Client,
}

impl OAuthClient {
    /// OAuth endpoints through `http` (its endpoints give the OAuth base, its clock the time).
    pub fn new(http: Client) -> OAuthClient {
        OAuthClient { http }
    }

    /// The HTTP client.
    pub fn http(&self) -> &Client {
        &self.http
    }

    /// The region of the endpoints.
    pub fn region(&self) -> Region {
        self.http.endpoints().region()
    }

    /// The OAuth base URL, ending in `/`: `https://mixpanel.com/oauth/`.
    pub fn oauth_base(&self) -> String {
        format!(
            "{}/",
            self.http
                .endpoints()
                .base(ApiFamily::OAuth)
                .trim_end_matches('/')
        )
    }

    /// The browser's authorize URL. `scope` is deliberately absent (see [`REGISTRATION_SCOPE`]).
    pub fn authorize_url(
        &self,
        client_id: &str,
        redirect_uri: &str,
        pkce: &Pkce,
        state: &Secret<String>,
    ) -> String {
        let query = urlenc::encode_pairs([
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("state", state.expose().as_str()),
            ("code_challenge", pkce.challenge()),
            ("code_challenge_method", pkce.method()),
        ]);
        format!("{}authorize/?{query}", self.oauth_base())
    }

    /// Registers a public client for `redirect_uri` (RFC 7591) and returns its `client_id`.
    pub async fn register(&self, redirect_uri: &str) -> Result<String, Error> {
        let url = self.http.endpoints().url(ApiFamily::OAuth, "mcp/register/");
        let body = json!({
            "redirect_uris": [redirect_uri],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
            "scope": REGISTRATION_SCOPE,
        });
        let request = Request::post(ApiFamily::OAuth, "mcp/register/")
            .json_body(body)
            .error_for_status(false);
        let (status, content_type, bytes, retry_after) = self
            .send(request, OAuthOperation::Registration, &url, None)
            .await?;
        let fail = |failure: OAuthFailure| Error::OAuthEndpoint {
            operation: OAuthOperation::Registration,
            url: url.clone(),
            account: None,
            failure: Box::new(failure),
            source: None,
        };
        if !(200..300).contains(&status) {
            return Err(fail(OAuthFailure::Status {
                status,
                body: String::from_utf8_lossy(&bytes).into_owned(),
                retry_after,
            }));
        }
        let value: Value = serde_json::from_slice(&bytes).map_err(|_| {
            fail(OAuthFailure::NotJson {
                content_type: content_type.clone(),
                body_length: bytes.len(),
            })
        })?;
        let Value::Object(object) = &value else {
            return Err(fail(OAuthFailure::NotObject));
        };
        match object.get("client_id") {
            Some(Value::String(client_id)) if !client_id.is_empty() => Ok(client_id.clone()),
            Some(Value::Number(client_id)) => Ok(client_id.to_string()),
            _ => Err(fail(OAuthFailure::MissingFields {
                problem: "`client_id` is missing".to_owned(),
                redacted: redact_token_payload(object),
            })),
        }
    }

    /// Exchanges an authorization code for tokens (with the PKCE verifier).
    pub async fn exchange_code(
        &self,
        code: &Secret<String>,
        pkce: &Pkce,
        client_id: &str,
        redirect_uri: &str,
    ) -> Result<TokenSet, Error> {
        let form = vec![
            ("grant_type".to_owned(), "authorization_code".to_owned()),
            ("code".to_owned(), code.expose().clone()),
            ("redirect_uri".to_owned(), redirect_uri.to_owned()),
            ("client_id".to_owned(), client_id.to_owned()),
            ("code_verifier".to_owned(), pkce.verifier().expose().clone()),
        ];
        self.token_request(form, OAuthOperation::CodeExchange, None, None)
            .await
    }

    /// Refreshes `tokens` with their refresh token, for the OAuth client `client_id`.
    ///
    /// The new set keeps the old refresh token when the server does not rotate it. `account`
    /// only names the account in errors. `invalid_grant` gives [`Error::RefreshRevoked`].
    pub async fn refresh(
        &self,
        tokens: &TokenSet,
        client_id: &str,
        account: Option<&str>,
    ) -> Result<TokenSet, Error> {
        let Some(refresh_token) = &tokens.refresh_token else {
            return Err(Error::NoRefreshToken {
                account: account.unwrap_or("(unnamed)").to_owned(),
            });
        };
        let form = vec![
            ("grant_type".to_owned(), "refresh_token".to_owned()),
            ("refresh_token".to_owned(), refresh_token.expose().clone()),
            ("client_id".to_owned(), client_id.to_owned()),
        ];
        self.token_request(form, OAuthOperation::Refresh, account, Some(refresh_token))
            .await
    }

    async fn token_request(
        &self,
        form: Vec<(String, String)>,
        operation: OAuthOperation,
        account: Option<&str>,
        previous_refresh_token: Option<&Secret<String>>,
    ) -> Result<TokenSet, Error> {
        let url = self.http.endpoints().url(ApiFamily::OAuth, "token/");
        let request = Request::post(ApiFamily::OAuth, "token/")
            .form_body(form)
            .error_for_status(false);
        let (status, content_type, bytes, retry_after) =
            self.send(request, operation, &url, account).await?;
        let fail = |failure: OAuthFailure| Error::OAuthEndpoint {
            operation,
            url: url.clone(),
            account: account.map(str::to_owned),
            failure: Box::new(failure),
            source: None,
        };
        if status != 200 {
            let body = String::from_utf8_lossy(&bytes).into_owned();
            // A dead refresh token has a precise remedy (log in again); everything else may be
            // transient. RFC 6749 §5.2 says 400; some servers use 401.
            let invalid_grant = matches!(status, 400 | 401)
                && serde_json::from_slice::<Value>(&bytes).is_ok_and(|value| {
                    value.get("error").and_then(Value::as_str) == Some("invalid_grant")
                });
            if invalid_grant && operation == OAuthOperation::Refresh {
                return Err(Error::RefreshRevoked {
                    account: account.map(str::to_owned),
                    status,
                    response_body: body,
                });
            }
            return Err(fail(OAuthFailure::Status {
                status,
                body,
                retry_after,
            }));
        }
        let value: Value = serde_json::from_slice(&bytes).map_err(|_| {
            fail(OAuthFailure::NotJson {
                content_type,
                body_length: bytes.len(),
            })
        })?;
        let now = self.http.clock().now();
        let mut tokens = TokenSet::from_token_response(&value, now).map_err(fail)?;
        if tokens.refresh_token.is_none() {
            // RFC 6749 §6: without a new refresh token the old one stays valid.
            tokens.refresh_token = previous_refresh_token.cloned();
        }
        Ok(tokens)
    }

    /// Sends an OAuth request and reads the whole answer: `(status, content type, body,
    /// Retry-After)`. A transport failure becomes [`OAuthFailure::Transport`] with the HTTP error
    /// as its source.
    async fn send(
        &self,
        request: Request,
        operation: OAuthOperation,
        url: &str,
        account: Option<&str>,
    ) -> Result<(u16, Option<String>, bytes::Bytes, Option<Duration>), Error> {
        let transport_failure = |source: mp_http::Error| Error::OAuthEndpoint {
            operation,
            url: url.to_owned(),
            account: account.map(str::to_owned),
            failure: Box::new(OAuthFailure::Transport),
            source: Some(source),
        };
        let response = self.http.send(request).await.map_err(transport_failure)?;
        let status = response.status().as_u16();
        let content_type = response.content_type().map(str::to_owned);
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| mp_http::parse_retry_after(value, self.http.clock().now()));
        let bytes = response.bytes().await.map_err(transport_failure)?;
        tracing::debug!(%operation, status, "OAuth endpoint answered");
        Ok((status, content_type, bytes, retry_after))
    }
}
