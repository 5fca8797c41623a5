//! mp-auth's browser login and token refresh against mp-sandbox's OAuth server (which rotates
//! refresh tokens and ties each one to its client), with a test task as the browser.
//!
//! These are the library-level halves of issue 3's acceptance: the CLI's end-to-end tests run
//! the same flows through the `mp` binary.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use mp_auth::{
    BrowserOpener, LoginOptions, OAuthBrowserAuth, OAuthClient, StateDir, start_browser_login,
};
use mp_http::{ClientBuilder, Endpoints, Region};
use mp_sandbox::{Sandbox, SandboxOptions};

async fn sandbox() -> Sandbox {
    let mut options = SandboxOptions::new();
    options.events = 200;
    options.days = 2;
    options.end = Some("2024-01-31".to_owned());
    Sandbox::start(options).await.unwrap()
}

fn oauth_client(sandbox: &Sandbox) -> OAuthClient {
    let endpoints = Endpoints::with_overrides(Region::Us, Some(&sandbox.base_url()), None).unwrap();
    OAuthClient::new(ClientBuilder::new(endpoints).build().unwrap())
}

/// A browser: GETs the authorize URL (the sandbox approves at once) and follows the redirect
/// to the login's loopback callback, on a blocking thread.
struct TestBrowser;

impl BrowserOpener for TestBrowser {
    fn open(&self, url: &str) -> std::io::Result<()> {
        let url = url.to_owned();
        std::thread::spawn(move || {
            let (status, location) = get(&url);
            assert_eq!(status, 302);
            let (status, _) = get(&location.unwrap().replace("//localhost:", "//127.0.0.1:"));
            assert_eq!(status, 200);
        });
        Ok(())
    }
}

/// A minimal HTTP/1.1 GET: the status and the `Location` header.
fn get(url: &str) -> (u16, Option<String>) {
    let rest = url.strip_prefix("http://").unwrap();
    let (authority, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = TcpStream::connect(authority).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split_whitespace().nth(1).unwrap().parse().unwrap();
    let location = response
        .lines()
        .take_while(|line| !line.is_empty())
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("location")
                .then(|| value.trim().to_owned())
        });
    (status, location)
}

/// Logs `account` in through the browser and stores its tokens.
async fn login(oauth: &OAuthClient, state_dir: &StateDir, account: &str) -> String {
    let options = LoginOptions {
        callback_ports: vec![0],
        callback_timeout: Duration::from_secs(60),
    };
    let pending = start_browser_login(oauth, state_dir, &options)
        .await
        .unwrap();
    pending.open_browser(&TestBrowser).unwrap();
    let result = pending.finish_from_callback().await.unwrap();
    let client_id = result.client_id.clone();
    state_dir
        .save_tokens(account, &result.into_stored())
        .await
        .unwrap();
    client_id
}

/// See: anchor-auth.md §11.2 — the official client re-registers per region when the callback
/// port changes and strands every other account's refresh token on the old client.
#[tokio::test]
async fn a_second_login_on_another_port_leaves_the_first_account_refreshable() {
    let sandbox = sandbox().await;
    let oauth = oauth_client(&sandbox);
    let directory = tempfile::tempdir().unwrap();
    let state_dir = StateDir::new(directory.path());

    let first_client = login(&oauth, &state_dir, "first").await;
    let second_client = login(&oauth, &state_dir, "second").await;
    // Port 0 gives each login another redirect URI, hence another registration.
    assert_ne!(first_client, second_client);
    assert_eq!(sandbox.oauth_counts().registrations, 2);
    assert_eq!(mp_auth::cached_registrations(&state_dir).unwrap().len(), 2);

    for account in ["first", "second"] {
        let auth = OAuthBrowserAuth::new(account, state_dir.clone(), oauth.clone()).unwrap();
        let before = state_dir.load_tokens(account).unwrap().unwrap();
        let refreshed = auth.refresh().await.unwrap();
        assert_ne!(refreshed.tokens.access_token, before.tokens.access_token);
        assert_eq!(refreshed.client_id, before.client_id);
    }
    assert_eq!(sandbox.oauth_counts().refreshes, 2);
    assert_eq!(sandbox.oauth_counts().invalid_grants, 0);
}

#[tokio::test]
async fn many_authenticators_with_one_expired_token_refresh_once() {
    let sandbox = sandbox().await;
    let oauth = oauth_client(&sandbox);
    let directory = tempfile::tempdir().unwrap();
    let state_dir = StateDir::new(directory.path());
    login(&oauth, &state_dir, "web").await;

    // Expire the stored access token (as if an hour had passed).
    let mut stored = state_dir.load_tokens("web").unwrap().unwrap();
    stored.tokens.expires_at = std::time::SystemTime::UNIX_EPOCH;
    state_dir.save_tokens("web", &stored).await.unwrap();

    // Each authenticator stands for one process: its own memory, the shared token store.
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let auth =
                Arc::new(OAuthBrowserAuth::new("web", state_dir.clone(), oauth.clone()).unwrap());
            tokio::spawn(async move { auth.access_token().await.unwrap() })
        })
        .collect();
    let mut tokens = Vec::new();
    for task in tasks {
        tokens.push(task.await.unwrap());
    }
    assert_eq!(sandbox.oauth_counts().refreshes, 1);
    let fresh = state_dir
        .load_tokens("web")
        .unwrap()
        .unwrap()
        .tokens
        .access_token;
    assert!(tokens.iter().all(|token| *token == fresh));
    assert_ne!(fresh, stored.tokens.access_token);
}

#[tokio::test]
async fn a_revoked_refresh_token_asks_for_a_new_login() {
    let sandbox = sandbox().await;
    let oauth = oauth_client(&sandbox);
    let directory = tempfile::tempdir().unwrap();
    let state_dir = StateDir::new(directory.path());
    login(&oauth, &state_dir, "web").await;
    assert_eq!(sandbox.revoke_all_refresh_tokens(), 1);

    let auth = OAuthBrowserAuth::new("web", state_dir.clone(), oauth.clone()).unwrap();
    let error = auth.refresh().await.unwrap_err();
    assert!(
        matches!(error, mp_auth::Error::RefreshRevoked { .. }),
        "{error:?}"
    );
    assert!(error.is_authentication());
    assert!(
        error.hint().unwrap().contains("mp login"),
        "{:?}",
        error.hint()
    );
    // The tokens stay (a new login replaces them); nothing secret is in the error.
    let stored = state_dir.load_tokens("web").unwrap().unwrap();
    let text = format!("{error} {error:?}");
    assert!(!text.contains(stored.tokens.access_token.expose().as_str()));
    assert!(!text.contains(stored.tokens.refresh_token.unwrap().expose().as_str()));
}
