//! The OAuth side over loopback: registration, authorize, the token endpoint's grants and
//! errors, Bearer access on every API family, expiry, revocation and rotation.

use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::json;
use sha2::Digest as _;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::client::{Call, Reply, start};
use crate::http_util::{parse_form, percent_encode};
use crate::{Fault, Sandbox};

/// The verifier of RFC 7636's Appendix B, and a second one, to tell them apart.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const OTHER_VERIFIER: &str = "ZZZftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const REDIRECT: &str = "http://localhost:19284/callback";

/// The S256 challenge, computed here rather than by the code under test.
fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier))
}

async fn register(sandbox: &Sandbox, redirect_uri: &str) -> String {
    let reply = Call::post_json(
        "/oauth/mcp/register/",
        &json!({
            "redirect_uris": [redirect_uri],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
            "scope": "projects analysis events",
            "client_name": "mp tests",
        }),
    )
    .send(sandbox)
    .await;
    assert_eq!(
        reply.status,
        201,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let body = reply.json();
    assert_eq!(body["redirect_uris"], json!([redirect_uri]));
    assert_eq!(body["token_endpoint_auth_method"], "none");
    assert_eq!(
        body["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert!(
        body.get("client_secret").is_none(),
        "a public client has no secret"
    );
    body["client_id"].as_str().unwrap().to_owned()
}

fn authorize_target(client_id: &str, redirect_uri: &str, state: &str, challenge: &str) -> String {
    format!(
        "/oauth/authorize/?response_type=code&client_id={client_id}&redirect_uri={}&state={state}&code_challenge={challenge}&code_challenge_method=S256",
        percent_encode(redirect_uri)
    )
}

/// Splits a redirect `Location` into its base and decoded query pairs.
fn location_query(reply: &Reply) -> (String, Vec<(String, String)>) {
    assert_eq!(
        reply.status,
        302,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let location = reply.header("location").expect("a Location header");
    let (base, query) = location.split_once('?').expect("a query");
    (base.to_owned(), parse_form(query))
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// Authorizes and returns the code.
async fn authorize(sandbox: &Sandbox, client_id: &str, verifier: &str) -> String {
    let reply = Call::anonymous_get(authorize_target(
        client_id,
        REDIRECT,
        "s1",
        &challenge(verifier),
    ))
    .send(sandbox)
    .await;
    let (base, pairs) = location_query(&reply);
    assert_eq!(base, REDIRECT);
    assert_eq!(param(&pairs, "state"), Some("s1"));
    param(&pairs, "code").unwrap().to_owned()
}

async fn token(sandbox: &Sandbox, form: &str) -> Reply {
    Call::post_form("/oauth/token/", form)
        .auth(None)
        .send(sandbox)
        .await
}

fn exchange_form(code: &str, client_id: &str, verifier: &str) -> String {
    format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&client_id={client_id}&code_verifier={verifier}",
        percent_encode(REDIRECT)
    )
}

fn refresh_form(refresh_token: &str, client_id: &str) -> String {
    format!("grant_type=refresh_token&refresh_token={refresh_token}&client_id={client_id}")
}

/// Registers, authorizes and exchanges; returns the client id and the token answer.
async fn login(sandbox: &Sandbox) -> (String, serde_json::Value) {
    let client_id = register(sandbox, REDIRECT).await;
    let code = authorize(sandbox, &client_id, VERIFIER).await;
    let reply = token(sandbox, &exchange_form(&code, &client_id, VERIFIER)).await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    (client_id, reply.json())
}

async fn bearer_status(sandbox: &Sandbox, target: &str, access_token: &str) -> u16 {
    Call::get(target)
        .auth(Some(&format!("Bearer {access_token}")))
        .send(sandbox)
        .await
        .status
        .as_u16()
}

/// A loopback callback server, as `mp login` runs one: it answers every request with a short
/// page and hands each request's path and query to the test.
async fn callback_server() -> (u16, mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // The sender lives in the accept task; the test holds the receiver.
    let (sender, receiver) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let sender = sender.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: http::Request<hyper::body::Incoming>| {
                    let _ = sender.send(request.uri().to_string());
                    async {
                        Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                            Bytes::from_static(b"Authorization Successful"),
                        )))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (port, receiver)
}

/// A plain GET of an absolute `http://127.0.0.1:port/...` URL, as a browser follows a redirect.
async fn browser_get(url: &str) -> u16 {
    let uri: http::Uri = url.parse().unwrap();
    let authority = uri.authority().unwrap().to_string();
    let stream = tokio::net::TcpStream::connect(&authority).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let request = http::Request::get(uri.path_and_query().unwrap().as_str())
        .header("host", authority)
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let _ = response.into_body().collect().await;
    status
}

#[tokio::test]
async fn pkce_login_then_bearer_calls_then_refresh_then_revocation() {
    let sandbox = start(2_000, 3).await;
    let (port, mut callbacks) = callback_server().await;
    let redirect_uri = format!("http://127.0.0.1:{port}/callback");
    let client_id = register(&sandbox, &redirect_uri).await;

    // The browser opens the authorize URL; the sandbox approves at once and redirects to the
    // loopback callback, which the browser then follows.
    let reply = Call::anonymous_get(authorize_target(
        &client_id,
        &redirect_uri,
        "state-42",
        &challenge(VERIFIER),
    ))
    .send(&sandbox)
    .await;
    let location = reply.header("location").unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{redirect_uri}?code=")),
        "{location}"
    );
    assert_eq!(browser_get(&location).await, 200);
    let received = callbacks.recv().await.unwrap();
    let (path, query) = received.split_once('?').unwrap();
    assert_eq!(path, "/callback");
    let pairs = parse_form(query);
    assert_eq!(param(&pairs, "state"), Some("state-42"));
    let code = param(&pairs, "code").unwrap().to_owned();

    let form = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&client_id={client_id}&code_verifier={VERIFIER}",
        percent_encode(&redirect_uri)
    );
    let reply = token(&sandbox, &form).await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let tokens = reply.json();
    let keys: Vec<&str> = tokens
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "access_token",
            "expires_in",
            "scope",
            "token_type",
            "refresh_token"
        ],
        "the order of Mixpanel's recorded token answer"
    );
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    // The access token works on every API family, /me included, with the same /me shape.
    for target in [
        "/api/app/me",
        "/api/app/projects/1/workspaces/public",
        "/api/app/projects/2/bookmarks",
        "/api/app/projects/1/schemas",
        "/api/query/events/names?type=general&project_id=1",
        "/api/query/funnels/list?project_id=2",
        "/api/query/engage?project_id=1",
        "/api/2.0/export?project_id=1&from_date=2024-03-31&to_date=2024-03-31",
    ] {
        assert_eq!(
            bearer_status(&sandbox, target, &access).await,
            200,
            "{target}"
        );
    }
    let me = Call::get("/api/app/me")
        .auth(Some(&format!("Bearer {access}")))
        .send(&sandbox)
        .await
        .json();
    for project in ["1", "2"] {
        assert_eq!(me["results"]["projects"][project]["domain"], "mixpanel.com");
    }
    assert_eq!(me["results"]["user_email"], "sandbox@example.com");

    // A code is single-use.
    let reused = token(&sandbox, &form).await;
    assert_eq!(reused.status, 400);
    assert_eq!(&reused.body[..], br#"{"error":"invalid_grant"}"#);

    // Refresh rotates both tokens; the used refresh token is dead.
    let reply = token(&sandbox, &refresh_form(&refresh, &client_id)).await;
    assert_eq!(reply.status, 200);
    let rotated = reply.json();
    let new_access = rotated["access_token"].as_str().unwrap().to_owned();
    let new_refresh = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(new_access, access);
    assert_ne!(new_refresh, refresh);
    assert_eq!(
        bearer_status(&sandbox, "/api/app/me", &new_access).await,
        200
    );
    let replayed = token(&sandbox, &refresh_form(&refresh, &client_id)).await;
    assert_eq!(replayed.status, 400);
    assert_eq!(replayed.json(), json!({"error": "invalid_grant"}));

    // A revoked refresh token gives invalid_grant (the recorded 400 shape).
    assert!(sandbox.revoke_refresh_token(&new_refresh));
    assert!(!sandbox.revoke_refresh_token(&new_refresh));
    let revoked = token(&sandbox, &refresh_form(&new_refresh, &client_id)).await;
    assert_eq!(revoked.status, 400);
    assert_eq!(&revoked.body[..], br#"{"error":"invalid_grant"}"#);

    let counts = sandbox.oauth_counts();
    assert_eq!(counts.registrations, 1);
    assert_eq!(counts.authorizations, 1);
    assert_eq!(counts.code_exchanges, 1);
    assert_eq!(counts.refreshes, 1);
    assert_eq!(counts.token_requests, 5);
    assert_eq!(counts.invalid_grants, 3);

    // The request log counts token requests by grant, and holds no usable secret.
    let log = sandbox.request_log().entries();
    let refreshes = log
        .iter()
        .filter(|entry| entry.path == "/oauth/token/")
        .filter(|entry| entry.form_param("grant_type").as_deref() == Some("refresh_token"))
        .count();
    assert_eq!(refreshes, 3);
    let text = format!("{log:?}");
    for secret in [
        VERIFIER,
        &code,
        &access,
        &refresh,
        &new_access,
        &new_refresh,
    ] {
        assert!(!text.contains(secret), "the log leaks {secret}");
    }
    assert!(text.contains("code_verifier=REDACTED"));
}

#[tokio::test(start_paused = true)]
async fn access_tokens_expire_on_the_runtime_clock() {
    let mut options = crate::SandboxOptions::new();
    options.events = 500;
    options.days = 2;
    options.end = Some(super::client::END.to_owned());
    options.oauth_access_token_ttl = Duration::from_secs(60);
    let sandbox = Sandbox::start(options).await.unwrap();
    let (client_id, tokens) = login(&sandbox).await;
    assert_eq!(tokens["expires_in"], 60);
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(bearer_status(&sandbox, "/api/app/me", access).await, 200);
    tokio::time::advance(Duration::from_secs(59)).await;
    assert_eq!(bearer_status(&sandbox, "/api/app/me", access).await, 200);
    tokio::time::advance(Duration::from_secs(2)).await;
    let expired = Call::get("/api/query/events/names?type=general&project_id=1")
        .auth(Some(&format!("Bearer {access}")))
        .send(&sandbox)
        .await;
    assert_eq!(expired.status, 401);
    assert_eq!(expired.json()["error"], "Invalid credentials");

    // The refresh token outlives the access token; the runtime setter changes expires_in.
    sandbox.set_oauth_access_token_ttl(Duration::from_secs(5));
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let reply = token(&sandbox, &refresh_form(refresh, &client_id)).await;
    assert_eq!(reply.status, 200);
    let renewed = reply.json();
    assert_eq!(renewed["expires_in"], 5);
    let renewed_access = renewed["access_token"].as_str().unwrap();
    assert_eq!(
        bearer_status(&sandbox, "/api/app/me", renewed_access).await,
        200
    );

    // Expiring every token at once, without touching the clock.
    assert_eq!(sandbox.expire_oauth_access_tokens(), 1);
    assert_eq!(
        bearer_status(&sandbox, "/api/app/me", renewed_access).await,
        401
    );
    // Tokens registered by tests are not OAuth tokens and do not expire.
    sandbox.register_bearer_token("static-token");
    tokio::time::advance(Duration::from_secs(86_400)).await;
    assert_eq!(
        bearer_status(&sandbox, "/api/app/me", "static-token").await,
        200
    );
}

#[tokio::test]
async fn registration_rejects_what_a_public_pkce_client_would_not_send() {
    let sandbox = start(100, 1).await;
    for (body, error) in [
        (
            json!({"grant_types": ["authorization_code"]}),
            "invalid_redirect_uri",
        ),
        (json!({"redirect_uris": []}), "invalid_redirect_uri"),
        (
            json!({"redirect_uris": ["not a uri"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "client_secret_basic"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "grant_types": ["password"]}),
            "invalid_client_metadata",
        ),
        (json!(["not", "an", "object"]), "invalid_client_metadata"),
    ] {
        let reply = Call::post_json("/oauth/mcp/register", &body)
            .send(&sandbox)
            .await;
        assert_eq!(reply.status, 400, "{body}");
        assert_eq!(reply.json()["error"], error, "{body}");
    }
    assert_eq!(sandbox.oauth_counts().registrations, 0);
}

#[tokio::test]
async fn authorize_checks_the_client_the_redirect_and_pkce() {
    let sandbox = start(100, 1).await;
    let client_id = register(&sandbox, REDIRECT).await;
    let good = challenge(VERIFIER);

    // Errors that cannot be trusted to the redirect URI are a page, not a redirect.
    for target in [
        authorize_target("unknown-client", REDIRECT, "s", &good),
        authorize_target(&client_id, "http://evil.example/callback", "s", &good),
        authorize_target(&client_id, "http://localhost:19284/elsewhere", "s", &good),
    ] {
        let reply = Call::anonymous_get(&target).send(&sandbox).await;
        assert_eq!(reply.status, 400, "{target}");
        assert!(reply.header("location").is_none());
        assert!(String::from_utf8_lossy(&reply.body).contains("Authorization Error"));
    }

    // A loopback redirect may use another port (RFC 8252 §7.3).
    let other_port = "http://localhost:19287/callback";
    let reply = Call::anonymous_get(authorize_target(&client_id, other_port, "s", &good))
        .send(&sandbox)
        .await;
    let (base, pairs) = location_query(&reply);
    assert_eq!(base, other_port);
    assert!(param(&pairs, "code").is_some());

    // The other errors go back to the client, with the state.
    let base_query = format!(
        "/oauth/authorize?client_id={client_id}&redirect_uri={}&state=xyz",
        percent_encode(REDIRECT)
    );
    for (query, error) in [
        ("&response_type=code".to_owned(), "invalid_request"),
        (
            format!("&response_type=code&code_challenge={good}&code_challenge_method=plain"),
            "invalid_request",
        ),
        (
            format!("&response_type=code&code_challenge={good}"),
            "invalid_request",
        ),
        (
            "&response_type=code&code_challenge=short&code_challenge_method=S256".to_owned(),
            "invalid_request",
        ),
        (
            format!("&response_type=token&code_challenge={good}&code_challenge_method=S256"),
            "unsupported_response_type",
        ),
    ] {
        let reply = Call::anonymous_get(format!("{base_query}{query}"))
            .send(&sandbox)
            .await;
        let (base, pairs) = location_query(&reply);
        assert_eq!(base, REDIRECT);
        assert_eq!(param(&pairs, "error"), Some(error), "{query}");
        assert_eq!(param(&pairs, "state"), Some("xyz"));
        assert!(param(&pairs, "code").is_none());
    }

    // The user may refuse.
    sandbox.set_oauth_authorization_denied(true);
    let reply = Call::anonymous_get(authorize_target(&client_id, REDIRECT, "s", &good))
        .send(&sandbox)
        .await;
    let (_, pairs) = location_query(&reply);
    assert_eq!(param(&pairs, "error"), Some("access_denied"));
    sandbox.set_oauth_authorization_denied(false);
    assert_eq!(sandbox.oauth_counts().authorizations, 1);
}

#[tokio::test]
async fn token_endpoint_errors_follow_rfc_6749() {
    let sandbox = start(100, 1).await;
    let client_id = register(&sandbox, REDIRECT).await;
    let other_client = register(&sandbox, REDIRECT).await;
    assert_ne!(client_id, other_client);

    // A wrong verifier burns the code: the right one cannot use it afterwards.
    let code = authorize(&sandbox, &client_id, VERIFIER).await;
    let wrong = token(&sandbox, &exchange_form(&code, &client_id, OTHER_VERIFIER)).await;
    assert_eq!(wrong.status, 400);
    assert_eq!(&wrong.body[..], br#"{"error":"invalid_grant"}"#);
    let late = token(&sandbox, &exchange_form(&code, &client_id, VERIFIER)).await;
    assert_eq!(late.json()["error"], "invalid_grant");

    let code = authorize(&sandbox, &client_id, VERIFIER).await;
    for (form, status, error) in [
        (
            format!("code={code}&client_id={client_id}"),
            400,
            "invalid_request",
        ),
        (
            format!("grant_type=password&username=a&password=b&client_id={client_id}"),
            400,
            "unsupported_grant_type",
        ),
        (
            exchange_form(&code, "nobody", VERIFIER),
            401,
            "invalid_client",
        ),
        (
            format!(
                "grant_type=authorization_code&code={code}&client_id={client_id}&redirect_uri={}",
                percent_encode(REDIRECT)
            ),
            400,
            "invalid_request",
        ),
        // The code belongs to another client.
        (
            exchange_form(&code, &other_client, VERIFIER),
            400,
            "invalid_grant",
        ),
    ] {
        let reply = token(&sandbox, &form).await;
        assert_eq!(reply.status, status, "{form}");
        assert_eq!(reply.json()["error"], error, "{form}");
    }

    // The redirect URI must repeat the authorize request's.
    let code = authorize(&sandbox, &client_id, VERIFIER).await;
    let mismatch = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&client_id={client_id}&code_verifier={VERIFIER}",
        percent_encode("http://localhost:19285/callback")
    );
    assert_eq!(
        token(&sandbox, &mismatch).await.json()["error"],
        "invalid_grant"
    );

    // A refresh token belongs to its client; an unknown one is invalid_grant.
    let code = authorize(&sandbox, &client_id, VERIFIER).await;
    let tokens = token(&sandbox, &exchange_form(&code, &client_id, VERIFIER))
        .await
        .json();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let stolen = token(&sandbox, &refresh_form(refresh, &other_client)).await;
    assert_eq!(stolen.json()["error"], "invalid_grant");
    let unknown = token(&sandbox, &refresh_form("mpsbx_rt_unknown", &client_id)).await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.json(), json!({"error": "invalid_grant"}));
    assert_eq!(sandbox.revoke_all_refresh_tokens(), 1);
    let revoked = token(&sandbox, &refresh_form(refresh, &client_id)).await;
    assert_eq!(revoked.json()["error"], "invalid_grant");

    // Faults reach the token endpoint too, with the OAuth error shape.
    sandbox
        .faults()
        .push(Fault::rate_limit(1).with_path_prefix("/oauth/token"));
    let limited = token(&sandbox, &refresh_form(refresh, &client_id)).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("retry-after"), Some("1"));
    assert!(
        limited.json()["error"]
            .as_str()
            .unwrap()
            .contains("Rate limit")
    );
    // Wrong methods and paths keep the OAuth shape.
    let get_token = Call::anonymous_get("/oauth/token/").send(&sandbox).await;
    assert_eq!(get_token.status, 405);
    assert!(get_token.json()["error"].is_string());
}
