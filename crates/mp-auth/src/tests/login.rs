//! The browser login end to end: the fake Mixpanel is the authorization server, a test task is
//! the browser (it fetches the authorize URL and follows the redirect to the callback server).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mp_http::{ApiFamily, Authenticator as _, Request};
use serde_json::json;
use tokio::task::JoinHandle;

use super::callback::get;
use super::server::{Behaviour, FakeMixpanel};
use crate::{
    BrowserOpener, Error, LoginOptions, OAuthBrowserAuth, OAuthClient, start_browser_login,
};

/// A browser: on `open`, a task GETs the authorize URL and follows the redirect.
#[derive(Default)]
struct TestBrowser {
    /// The task's (status of the callback page, body).
    visit: Mutex<Option<JoinHandle<(u16, String)>>>,
}

impl BrowserOpener for TestBrowser {
    fn open(&self, url: &str) -> std::io::Result<()> {
        let url = url.to_owned();
        let visit = tokio::spawn(async move {
            let (status, _, headers) = get(&url).await;
            assert_eq!(status, 302);
            let location = headers["location"].to_str().unwrap().to_owned();
            let (status, body, _) = get(&location).await;
            (status, body)
        });
        *self.visit.lock().unwrap() = Some(visit);
        Ok(())
    }
}

fn options() -> LoginOptions {
    LoginOptions {
        callback_ports: vec![0],
        callback_timeout: Duration::from_secs(300),
    }
}

#[tokio::test]
async fn browser_login_then_refresh_after_expiry() {
    let fake = FakeMixpanel::start(Behaviour {
        me: json!({"user_id": 7, "user_email": "ada@example.com", "organizations": {"11": {"id": 11, "name": "Acme Inc."}}, "projects": {}, "workspaces": {}}),
        ..Behaviour::default()
    })
    .await;
    let clock = super::epoch_clock();
    let http = super::client_for(&fake.base_url(), &clock);
    let oauth = OAuthClient::new(http.clone());
    let (_directory, state_dir) = super::state_dir();

    let pending = start_browser_login(&oauth, &state_dir, &options())
        .await
        .unwrap();
    let port = pending
        .redirect_uri()
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches("/callback")
        .to_owned();
    let expected_prefix = format!(
        "{}/oauth/authorize/?response_type=code&client_id=client-1&redirect_uri=http%3A%2F%2Flocalhost%3A{port}%2Fcallback&state=",
        fake.base_url()
    );
    assert!(
        pending.authorize_url().starts_with(&expected_prefix),
        "{}",
        pending.authorize_url()
    );
    assert!(
        pending
            .authorize_url()
            .ends_with("&code_challenge_method=S256")
    );
    let browser = TestBrowser::default();
    pending.open_browser(&browser).unwrap();
    let result = pending.finish_from_callback().await.unwrap();
    let visit = browser.visit.lock().unwrap().take().unwrap();
    let (status, page) = visit.await.unwrap();
    assert_eq!(status, 200, "{page}");
    assert_eq!(result.client_id, "client-1");
    let issued = result.tokens.access_token.expose().clone();

    // The exchange sent the verifier, which the fake checked against the challenge.
    let exchange = fake
        .requests()
        .into_iter()
        .find(|request| request.path == "/oauth/token/")
        .unwrap();
    assert!(
        exchange
            .body
            .starts_with("grant_type=authorization_code&code=code-"),
        "{}",
        exchange.body
    );
    assert!(exchange.body.contains("&code_verifier="));

    // The caller stores the tokens once it has picked the account name.
    state_dir
        .save_tokens("personal", &result.into_stored())
        .await
        .unwrap();
    let auth = Arc::new(OAuthBrowserAuth::new("personal", state_dir.clone(), oauth).unwrap());
    let app = http.with_authenticator(Arc::clone(&auth) as Arc<dyn mp_http::Authenticator>);
    let me = crate::fetch_me(&app).await.unwrap();
    assert_eq!(me.user_email.as_deref(), Some("ada@example.com"));
    assert_eq!(auth.access_token().await.unwrap().expose(), &issued);
    assert_eq!(fake.count("POST", "/oauth/token/"), 1);

    // An hour later the token has expired: the next request refreshes first, once.
    clock.advance(Duration::from_secs(3600));
    crate::fetch_me(&app).await.unwrap();
    crate::fetch_me(&app).await.unwrap();
    assert_eq!(fake.count("POST", "/oauth/token/"), 2);
    let stored = state_dir.load_tokens("personal").unwrap().unwrap();
    assert_ne!(stored.tokens.access_token.expose(), &issued);
    assert_eq!(stored.client_id.as_deref(), Some("client-1"));

    // The refresh token is revoked: the next refresh fails as "log in again".
    fake.revoke_refresh_tokens();
    clock.advance(Duration::from_secs(3600));
    let error = app
        .send(Request::get(ApiFamily::App, "/me"))
        .await
        .unwrap_err();
    assert_eq!(*error.kind(), mp_http::ErrorKind::Authentication);
    let cause = std::error::Error::source(&error)
        .and_then(|cause| cause.downcast_ref::<Error>())
        .unwrap();
    assert!(matches!(cause, Error::RefreshRevoked { .. }), "{cause:?}");
    assert!(cause.hint().unwrap().contains("mp login --name personal"));
}

#[tokio::test]
async fn no_browser_login_accepts_the_pasted_redirect() {
    let fake = FakeMixpanel::start(Behaviour::default()).await;
    let clock = super::epoch_clock();
    let oauth = OAuthClient::new(super::client_for(&fake.base_url(), &clock));
    let (_directory, state_dir) = super::state_dir();
    let pending = start_browser_login(&oauth, &state_dir, &options())
        .await
        .unwrap();
    // The user opens the URL on another machine; the redirect to localhost fails there, so
    // they copy the address bar instead.
    let (status, _, headers) = get(pending.authorize_url()).await;
    assert_eq!(status, 302);
    let redirect = headers["location"].to_str().unwrap().to_owned();
    let pasted = async move { Some(format!("  {redirect}\n")) };
    let result = pending.finish(pasted).await.unwrap();
    assert!(result.tokens.access_token.expose().starts_with("access-"));
    let authorize = fake
        .requests()
        .into_iter()
        .find(|request| request.path == "/oauth/authorize/")
        .unwrap();
    assert!(
        authorize.query.ends_with("&code_challenge_method=S256"),
        "{}",
        authorize.query
    );
    assert!(!authorize.query.contains("scope="), "{}", authorize.query);
    assert!(result.tokens.refresh_token.is_some());
}

#[tokio::test]
async fn a_closed_stdin_leaves_the_callback_and_a_bad_paste_ends_the_login() {
    let fake = FakeMixpanel::start(Behaviour::default()).await;
    let clock = super::epoch_clock();
    let oauth = OAuthClient::new(super::client_for(&fake.base_url(), &clock));
    let (_directory, state_dir) = super::state_dir();

    let pending = start_browser_login(&oauth, &state_dir, &options())
        .await
        .unwrap();
    let browser = TestBrowser::default();
    pending.open_browser(&browser).unwrap();
    let result = pending.finish(async { None }).await.unwrap();
    assert_eq!(result.client_id, "client-1");

    let pending = start_browser_login(&oauth, &state_dir, &options())
        .await
        .unwrap();
    let error = pending
        .finish(async { Some("http://localhost:1/callback?code=x&state=forged".to_owned()) })
        .await
        .unwrap_err();
    assert!(matches!(error, Error::StateMismatch), "{error:?}");
}

#[tokio::test]
async fn a_401_refreshes_once_and_retries() {
    let fake = FakeMixpanel::start(Behaviour::default()).await;
    let clock = super::epoch_clock();
    let http = super::client_for(&fake.base_url(), &clock);
    let oauth = OAuthClient::new(http.clone());
    let (_directory, state_dir) = super::state_dir();
    let (client_id, access, refresh) = fake.issue_tokens();
    super::refresh::store(
        &state_dir, "personal", &client_id, &access, &refresh, &clock, 3600,
    )
    .await;
    let auth = Arc::new(OAuthBrowserAuth::new("personal", state_dir.clone(), oauth).unwrap());
    let app = http.with_authenticator(Arc::clone(&auth) as Arc<dyn mp_http::Authenticator>);
    crate::fetch_me(&app).await.unwrap();
    // The server forgets every access token although they have not expired.
    fake.revoke_access_tokens();
    crate::fetch_me(&app).await.unwrap();
    assert_eq!(fake.count("POST", "/oauth/token/"), 1);
    assert_eq!(fake.count("GET", "/api/app/me"), 3);
    // Asked directly after a 401 (the token was refused although it has not expired), the
    // authenticator refreshes rather than handing out the refused token again.
    fake.revoke_access_tokens();
    assert!(auth.refresh_after_unauthorized().await.unwrap());
    assert_eq!(fake.count("POST", "/oauth/token/"), 2);
    crate::fetch_me(&app).await.unwrap();
    assert_eq!(fake.count("GET", "/api/app/me"), 4);
}
