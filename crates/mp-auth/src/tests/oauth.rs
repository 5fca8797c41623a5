//! Token endpoint answers and client registration.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use mp_http::{
    BoxFuture, ClientBuilder, Clock as _, Endpoints, HttpRequest, HttpResponse, Region,
    ResponseBody, Transport, TransportError,
};
use serde_json::json;

use super::server::{Behaviour, FakeMixpanel};
use crate::{
    Error, OAuthClient, OAuthFailure, Secret, TokenSet, cached_registrations, ensure_registered,
};

/// A transport that answers every request with one canned response and records the requests.
#[derive(Debug)]
pub(crate) struct Canned {
    status: u16,
    content_type: &'static str,
    body: &'static str,
    pub(crate) requests: Mutex<Vec<HttpRequest>>,
}

impl Canned {
    pub(crate) fn new(status: u16, content_type: &'static str, body: &'static str) -> Arc<Canned> {
        Arc::new(Canned {
            status,
            content_type,
            body,
            requests: Mutex::new(Vec::new()),
        })
    }
}

impl Transport for Canned {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        self.requests.lock().unwrap().push(request);
        let mut headers = http::HeaderMap::new();
        headers.insert("content-type", self.content_type.parse().unwrap());
        let response = HttpResponse {
            status: http::StatusCode::from_u16(self.status).unwrap(),
            headers,
            body: ResponseBody::from_bytes(Bytes::from_static(self.body.as_bytes())),
        };
        Box::pin(async move { Ok(response) })
    }
}

fn expired_tokens() -> TokenSet {
    TokenSet {
        access_token: Secret::new("old-access".to_owned()),
        refresh_token: Some(Secret::new("old-refresh".to_owned())),
        expires_at: super::epoch_clock().now() - Duration::from_secs(3600),
        token_type: "Bearer".to_owned(),
        scope: "projects".to_owned(),
    }
}

async fn refresh_against(canned: &Arc<Canned>) -> Result<TokenSet, Error> {
    let client = ClientBuilder::new(Endpoints::regional(Region::Eu))
        .with_transport(Arc::clone(canned) as Arc<dyn Transport>)
        .with_clock(Arc::new(super::epoch_clock()))
        .build()
        .unwrap();
    OAuthClient::new(client)
        .refresh(&expired_tokens(), "cid", Some("personal"))
        .await
}

#[track_caller]
fn check_failure(result: Result<TokenSet, Error>, expected: &str) {
    let error = result.unwrap_err();
    assert_eq!(error.to_string(), expected);
    for secret in ["SECRET", "old-refresh", "old-access"] {
        assert!(!format!("{error:?}").contains(secret), "{error:?}");
        assert!(!error.to_string().contains(secret), "{error}");
    }
}

#[tokio::test]
async fn refresh_posts_the_form_and_reads_the_answer() {
    let canned = Canned::new(
        200,
        "application/json",
        r#"{"access_token":"new-access","expires_in":3600,"token_type":"Bearer","scope":"projects analysis"}"#,
    );
    let tokens = refresh_against(&canned).await.unwrap();
    let request = canned.requests.lock().unwrap()[0].clone();
    assert_eq!(request.url, "https://eu.mixpanel.com/oauth/token/");
    assert_eq!(
        request.body,
        "grant_type=refresh_token&refresh_token=old-refresh&client_id=cid"
    );
    assert_eq!(
        request.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert!(request.headers.get("authorization").is_none());
    assert_eq!(tokens.access_token.expose(), "new-access");
    // Not rotated: the old refresh token stays.
    assert_eq!(tokens.refresh_token.unwrap().expose(), "old-refresh");
    assert_eq!(
        crate::time::format_utc(tokens.expires_at),
        "2026-01-15T13:00:00+00:00"
    );
}

#[tokio::test]
async fn token_endpoint_failures_are_classified() {
    let revoked = refresh_against(&Canned::new(
        400,
        "application/json",
        r#"{"error":"invalid_grant"}"#,
    ))
    .await;
    let error = revoked.unwrap_err();
    assert!(
        matches!(error, Error::RefreshRevoked { status: 400, .. }),
        "{error:?}"
    );
    assert!(error.is_authentication());
    assert_eq!(
        error.hint().unwrap(),
        "log in again with `mp login --name personal` (or `mp account login personal`)"
    );
    check_failure(
        refresh_against(&Canned::new(503, "text/plain", "Service Unavailable")).await,
        "token refresh failed: status 503: Service Unavailable",
    );
    check_failure(
        refresh_against(&Canned::new(
            200,
            "application/json",
            r#"{"access_token":"SECRET"}garbage"#,
        ))
        .await,
        "token refresh failed: the response is not JSON (32 bytes of `application/json`)",
    );
    check_failure(
        refresh_against(&Canned::new(200, "application/json", "[1, 2]")).await,
        "token refresh failed: the response is not a JSON object",
    );
    check_failure(
        refresh_against(&Canned::new(
            200,
            "application/json",
            r#"{"access_token":"SECRET_AT","refresh_token":"SECRET_RT","id_token":"SECRET_ID","token_type":"Bearer"}"#,
        ))
        .await,
        "token refresh failed: `expires_in` is missing (response fields: access_token=REDACTED, refresh_token=REDACTED, id_token=REDACTED, token_type=Bearer)",
    );
}

#[tokio::test]
async fn registrations_are_cached_per_redirect_uri_and_never_overwritten() {
    let fake = FakeMixpanel::start(Behaviour::default()).await;
    let clock = super::epoch_clock();
    let oauth = OAuthClient::new(super::client_for(&fake.base_url(), &clock));
    let (_directory, state_dir) = super::state_dir();
    let first = ensure_registered(&oauth, &state_dir, "http://localhost:19284/callback")
        .await
        .unwrap();
    let again = ensure_registered(&oauth, &state_dir, "http://localhost:19284/callback")
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(fake.count("POST", "/oauth/mcp/register/"), 1);
    let registration = &fake.requests()[0];
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&registration.body).unwrap(),
        json!({
            "redirect_uris": ["http://localhost:19284/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
            "scope": crate::REGISTRATION_SCOPE,
        })
    );
    // Another port: a new client, and the first one stays known.
    let second = ensure_registered(&oauth, &state_dir, "http://localhost:19285/callback")
        .await
        .unwrap();
    assert_ne!(second.client_id, first.client_id);
    assert_eq!(fake.count("POST", "/oauth/mcp/register/"), 2);
    let cached = cached_registrations(&state_dir).unwrap();
    assert_eq!(cached, vec![first.clone(), second]);
    assert_eq!(first.oauth_base, format!("{}/oauth/", fake.base_url()));
    // Back on the first port: the cached client again, no request.
    let third = ensure_registered(&oauth, &state_dir, "http://localhost:19284/callback")
        .await
        .unwrap();
    assert_eq!(third, first);
    assert_eq!(fake.count("POST", "/oauth/mcp/register/"), 2);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(state_dir.registrations_path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[tokio::test]
async fn a_failed_registration_says_so() {
    let canned = Canned::new(
        400,
        "application/json",
        r#"{"error":"invalid_redirect_uri"}"#,
    );
    let client = ClientBuilder::new(Endpoints::regional(Region::Us))
        .with_transport(Arc::clone(&canned) as Arc<dyn Transport>)
        .build()
        .unwrap();
    let error = OAuthClient::new(client)
        .register("http://localhost:1/callback")
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        r#"OAuth client registration failed: status 400: {"error":"invalid_redirect_uri"}"#
    );
    assert!(
        matches!(&error, Error::OAuthEndpoint { failure, .. } if matches!(**failure, OAuthFailure::Status { status: 400, .. }))
    );
    assert_eq!(
        canned.requests.lock().unwrap()[0].url,
        "https://mixpanel.com/oauth/mcp/register/"
    );
}

#[test]
fn the_authorize_url_has_exactly_the_official_parameters() {
    let client = ClientBuilder::new(Endpoints::regional(Region::In))
        .with_transport(Canned::new(200, "text/plain", "") as Arc<dyn Transport>)
        .build()
        .unwrap();
    let pkce = crate::Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap();
    let url = OAuthClient::new(client).authorize_url(
        "client 1",
        "http://localhost:19284/callback",
        &pkce,
        &Secret::new("st".to_owned()),
    );
    assert_eq!(
        url,
        "https://in.mixpanel.com/oauth/authorize/?response_type=code&client_id=client+1\
         &redirect_uri=http%3A%2F%2Flocalhost%3A19284%2Fcallback&state=st\
         &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
    );
}
