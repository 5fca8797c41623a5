//! OAuth tokens: the in-memory [`TokenSet`], its on-disk form, and parsing of token endpoint
//! responses.

use std::path::Path;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};

use mp_http::Secret;

use crate::{Error, OAuthFailure, time};

/// How close to expiry a token counts as expired: a request that starts with 30 seconds left
/// must not arrive with none (the official client's buffer).
pub const EXPIRY_TOLERANCE: Duration = Duration::from_secs(30);

/// An OAuth token set. `Debug` shows `REDACTED` for both tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSet {
    /// The access token, sent as `Authorization: Bearer …`.
    pub access_token: Secret<String>,
    /// The refresh token, when the server issued one.
    pub refresh_token: Option<Secret<String>>,
    /// When the access token expires.
    pub expires_at: SystemTime,
    /// The token type, `Bearer` in practice.
    pub token_type: String,
    /// The granted scopes, space-separated (empty when the server did not say).
    pub scope: String,
}

impl TokenSet {
    /// Returns true if and only if the access token expires within `tolerance` of `now` (or
    /// already has).
    pub fn expires_within(&self, now: SystemTime, tolerance: Duration) -> bool {
        now + tolerance >= self.expires_at
    }

    /// Returns true if and only if the access token is good for at least [`EXPIRY_TOLERANCE`].
    pub fn is_fresh(&self, now: SystemTime) -> bool {
        !self.expires_within(now, EXPIRY_TOLERANCE)
    }

    /// The `Authorization` header value: `Bearer <access token>`.
    pub fn authorization(&self) -> Secret<String> {
        Secret::new(format!("Bearer {}", self.access_token.expose()))
    }

    /// Builds a token set from a token endpoint's JSON response (RFC 6749 §5.1), as Mixpanel's
    /// official client does: `access_token`, `expires_in` (an integer or a string of one) and
    /// `token_type` are required; `scope` defaults to empty; `refresh_token` is optional.
    /// `expires_at` is `now + expires_in`.
    pub(crate) fn from_token_response(
        body: &Value,
        now: SystemTime,
    ) -> Result<TokenSet, OAuthFailure> {
        let Value::Object(object) = body else {
            return Err(OAuthFailure::NotObject);
        };
        let missing = |problem: String| OAuthFailure::MissingFields {
            problem,
            redacted: redact_token_payload(object),
        };
        let text = |key: &str| -> Option<String> {
            match object.get(key)? {
                Value::String(text) => Some(text.clone()),
                Value::Number(number) => Some(number.to_string()),
                Value::Bool(flag) => Some(if *flag { "True" } else { "False" }.to_owned()),
                _ => None,
            }
        };
        let expires_in = match object.get("expires_in") {
            None => return Err(missing("`expires_in` is missing".to_owned())),
            Some(Value::Number(number)) => number.as_i64(),
            Some(Value::String(text)) => text.trim().parse::<i64>().ok(),
            Some(_) => None,
        }
        .ok_or_else(|| missing("`expires_in` is not an integer".to_owned()))?;
        let access_token =
            text("access_token").ok_or_else(|| missing("`access_token` is missing".to_owned()))?;
        let token_type =
            text("token_type").ok_or_else(|| missing("`token_type` is missing".to_owned()))?;
        let scope = text("scope").unwrap_or_default();
        let refresh_token = text("refresh_token").map(Secret::new);
        let expires_at = if expires_in >= 0 {
            now + Duration::from_secs(expires_in.unsigned_abs())
        } else {
            now.checked_sub(Duration::from_secs(expires_in.unsigned_abs()))
                .unwrap_or(now)
        };
        Ok(TokenSet {
            access_token: Secret::new(access_token),
            refresh_token,
            expires_at,
            token_type,
            scope,
        })
    }
}

/// Tokens as stored for an account: the token set and the OAuth client it was issued to.
///
/// Keeping the `client_id` next to the tokens is what lets a new registration (another callback
/// port, another machine's login) leave every other account's refresh working: a refresh must
/// name the client the refresh token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTokens {
    /// The tokens.
    pub tokens: TokenSet,
    /// The OAuth client the tokens were issued to. `None` only for token files written by other
    /// tools (Mixpanel's official client keeps it elsewhere).
    pub client_id: Option<String>,
}

impl StoredTokens {
    /// The on-disk JSON: the official client's keys (`access_token`, `expires_at` as ISO-8601
    /// with offset, `token_type`, `scope`, `refresh_token` when present) plus `client_id`, which
    /// the official client ignores on read.
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        object.insert(
            "access_token".to_owned(),
            Value::from(self.tokens.access_token.expose().as_str()),
        );
        object.insert(
            "expires_at".to_owned(),
            Value::from(time::format_utc(self.tokens.expires_at)),
        );
        object.insert(
            "token_type".to_owned(),
            Value::from(self.tokens.token_type.as_str()),
        );
        object.insert("scope".to_owned(), Value::from(self.tokens.scope.as_str()));
        if let Some(refresh_token) = &self.tokens.refresh_token {
            object.insert(
                "refresh_token".to_owned(),
                Value::from(refresh_token.expose().as_str()),
            );
        }
        if let Some(client_id) = &self.client_id {
            object.insert("client_id".to_owned(), Value::from(client_id.as_str()));
        }
        Value::Object(object)
    }

    /// Parses the on-disk JSON (ours or the official client's); `path` and `what` only name the
    /// file in errors. Unknown keys are ignored. An `expires_at` without a time zone is refused.
    pub(crate) fn from_json(
        value: &Value,
        path: &Path,
        what: &'static str,
    ) -> Result<StoredTokens, Error> {
        let invalid = |problem: &str| Error::InvalidFile {
            path: path.to_path_buf(),
            what,
            problem: problem.to_owned(),
        };
        let Value::Object(object) = value else {
            return Err(invalid("it is not a JSON object"));
        };
        let string = |key: &str| object.get(key).and_then(Value::as_str);
        let access_token = string("access_token")
            .filter(|token| !token.is_empty())
            .ok_or_else(|| invalid("`access_token` is missing"))?;
        let expires_at = string("expires_at")
            .ok_or_else(|| invalid("`expires_at` is missing"))
            .and_then(|text| {
                time::parse(text)
                    .ok_or_else(|| invalid("`expires_at` is not an ISO-8601 time with a time zone"))
            })?;
        let refresh_token = match object.get("refresh_token") {
            None | Some(Value::Null) => None,
            Some(Value::String(token)) if !token.is_empty() => Some(Secret::new(token.clone())),
            Some(_) => return Err(invalid("`refresh_token` is not a string")),
        };
        Ok(StoredTokens {
            tokens: TokenSet {
                access_token: Secret::new(access_token.to_owned()),
                refresh_token,
                expires_at,
                token_type: string("token_type").unwrap_or("Bearer").to_owned(),
                scope: string("scope").unwrap_or_default().to_owned(),
            },
            client_id: string("client_id")
                .filter(|client_id| !client_id.is_empty())
                .map(str::to_owned),
        })
    }
}

/// Returns true if and only if a token endpoint response key may carry credential material
/// (`access_token`, `refresh_token`, `id_token`, anything with `secret`, …). `token_type` is the
/// one `token` key that is plain data.
pub(crate) fn is_token_bearing_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    (key.contains("token") && key != "token_type")
        || key.contains("secret")
        || key.contains("password")
        || key == "code"
}

/// The marker that replaces a redacted value.
pub(crate) const REDACTED: &str = "REDACTED";

/// `payload` with every token-bearing value replaced by [`REDACTED`]; key order is kept.
pub(crate) fn redact_token_payload(payload: &Map<String, Value>) -> Map<String, Value> {
    payload
        .iter()
        .map(|(key, value)| {
            let value = if is_token_bearing_key(key) {
                Value::from(REDACTED)
            } else {
                value.clone()
            };
            (key.clone(), value)
        })
        .collect()
}
