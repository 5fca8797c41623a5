//! Refresh: double-checked under the lock, one request for many concurrent callers.

use std::sync::Arc;
use std::time::Duration;

use mp_http::{Clock as _, Secret, VirtualClock};

use super::server::{Behaviour, FakeMixpanel};
use crate::{Error, OAuthBrowserAuth, OAuthClient, StateDir, StoredTokens, TokenSet};

/// Stores tokens for `account` that expire `expires_in` seconds after the clock's now.
pub(crate) async fn store(
    state_dir: &StateDir,
    account: &str,
    client_id: &str,
    access: &str,
    refresh: &str,
    clock: &VirtualClock,
    expires_in: u64,
) {
    let tokens = StoredTokens {
        tokens: TokenSet {
            access_token: Secret::new(access.to_owned()),
            refresh_token: Some(Secret::new(refresh.to_owned())),
            expires_at: clock.now() + Duration::from_secs(expires_in),
            token_type: "Bearer".to_owned(),
            scope: "projects".to_owned(),
        },
        client_id: Some(client_id.to_owned()),
    };
    state_dir.save_tokens(account, &tokens).await.unwrap();
}

struct Setup {
    fake: FakeMixpanel,
    clock: VirtualClock,
    oauth: OAuthClient,
    state_dir: StateDir,
    _directory: tempfile::TempDir,
}

/// An account `personal` whose tokens expired a minute ago.
async fn expired_account() -> Setup {
    let fake = FakeMixpanel::start(Behaviour::default()).await;
    let clock = super::epoch_clock();
    let oauth = OAuthClient::new(super::client_for(&fake.base_url(), &clock));
    let (directory, state_dir) = super::state_dir();
    let (client_id, access, refresh) = fake.issue_tokens();
    store(
        &state_dir, "personal", &client_id, &access, &refresh, &clock, 3600,
    )
    .await;
    clock.advance(Duration::from_secs(3660));
    Setup {
        fake,
        clock,
        oauth,
        state_dir,
        _directory: directory,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_tasks_sharing_one_authenticator_refresh_once() {
    let setup = expired_account().await;
    let auth = Arc::new(
        OAuthBrowserAuth::new("personal", setup.state_dir.clone(), setup.oauth.clone()).unwrap(),
    );
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let auth = Arc::clone(&auth);
            tokio::spawn(async move { auth.access_token().await.unwrap().expose().clone() })
        })
        .collect();
    let mut tokens = Vec::new();
    for task in tasks {
        tokens.push(task.await.unwrap());
    }
    assert_eq!(setup.fake.count("POST", "/oauth/token/"), 1);
    tokens.dedup();
    assert_eq!(tokens.len(), 1, "every caller got the one new token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_threads_with_their_own_authenticators_refresh_once() {
    // Each thread has its own runtime and its own authenticator, hence its own open lock file:
    // only the file lock stands between them, exactly as between separate `mp` processes.
    let setup = expired_account().await;
    let threads: Vec<_> = (0..12)
        .map(|_| {
            let state_dir = setup.state_dir.clone();
            let oauth = setup.oauth.clone();
            tokio::task::spawn_blocking(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                let auth = OAuthBrowserAuth::new("personal", state_dir, oauth).unwrap();
                runtime
                    .block_on(auth.access_token())
                    .unwrap()
                    .expose()
                    .clone()
            })
        })
        .collect();
    let mut tokens = Vec::new();
    for thread in threads {
        tokens.push(thread.await.unwrap());
    }
    assert_eq!(setup.fake.count("POST", "/oauth/token/"), 1);
    tokens.dedup();
    assert_eq!(tokens.len(), 1);
    let stored = setup.state_dir.load_tokens("personal").unwrap().unwrap();
    assert_eq!(stored.tokens.access_token.expose(), &tokens[0]);
}

#[tokio::test]
async fn the_second_check_sees_another_process_refresh() {
    let setup = expired_account().await;
    let auth =
        OAuthBrowserAuth::new("personal", setup.state_dir.clone(), setup.oauth.clone()).unwrap();
    // This authenticator saw the expired tokens (step 1)...
    let error = {
        setup.fake.revoke_refresh_tokens();
        auth.access_token().await.unwrap_err()
    };
    assert!(matches!(error, Error::RefreshRevoked { .. }), "{error:?}");
    // ...then another process logged in again and wrote fresh tokens.
    let (client_id, access, refresh) = setup.fake.issue_tokens();
    store(
        &setup.state_dir,
        "personal",
        &client_id,
        &access,
        &refresh,
        &setup.clock,
        3600,
    )
    .await;
    assert_eq!(auth.access_token().await.unwrap().expose(), &access);
    // Only the one (revoked) refresh attempt was made.
    assert_eq!(setup.fake.count("POST", "/oauth/token/"), 1);
}

#[tokio::test]
async fn tokens_near_expiry_are_refreshed_and_the_client_id_is_kept() {
    let fake = FakeMixpanel::start(Behaviour::default()).await;
    let clock = super::epoch_clock();
    let oauth = OAuthClient::new(super::client_for(&fake.base_url(), &clock));
    let (_directory, state_dir) = super::state_dir();
    let (client_id, access, refresh) = fake.issue_tokens();
    // 31 seconds left: fresh. 29 seconds left: within the tolerance, refreshed.
    store(
        &state_dir, "personal", &client_id, &access, &refresh, &clock, 31,
    )
    .await;
    let auth = OAuthBrowserAuth::new("personal", state_dir.clone(), oauth.clone()).unwrap();
    assert_eq!(auth.access_token().await.unwrap().expose(), &access);
    clock.advance(Duration::from_secs(2));
    let refreshed = auth.access_token().await.unwrap();
    assert_ne!(refreshed.expose(), &access);
    // A new registration for another port does not change which client refreshes this account.
    crate::ensure_registered(&oauth, &state_dir, "http://localhost:19287/callback")
        .await
        .unwrap();
    clock.advance(Duration::from_secs(3600));
    auth.access_token().await.unwrap();
    let refreshes: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|request| request.path == "/oauth/token/")
        .collect();
    assert_eq!(refreshes.len(), 2);
    for request in refreshes {
        assert!(
            request.body.ends_with(&format!("&client_id={client_id}")),
            "{}",
            request.body
        );
    }
}

#[tokio::test]
async fn missing_or_unrefreshable_tokens_say_what_to_do() {
    let fake = FakeMixpanel::start(Behaviour::default()).await;
    let clock = super::epoch_clock();
    let oauth = OAuthClient::new(super::client_for(&fake.base_url(), &clock));
    let (_directory, state_dir) = super::state_dir();
    let auth = OAuthBrowserAuth::new("nobody", state_dir.clone(), oauth.clone()).unwrap();
    let error = auth.access_token().await.unwrap_err();
    assert_eq!(error.to_string(), "account `nobody` is not logged in");
    assert!(error.is_authentication());

    let tokens = StoredTokens {
        tokens: TokenSet {
            access_token: Secret::new("a".to_owned()),
            refresh_token: None,
            expires_at: clock.now(),
            token_type: "Bearer".to_owned(),
            scope: String::new(),
        },
        client_id: None,
    };
    state_dir.save_tokens("norefresh", &tokens).await.unwrap();
    let auth = OAuthBrowserAuth::new("norefresh", state_dir.clone(), oauth.clone()).unwrap();
    let error = auth.access_token().await.unwrap_err();
    assert!(matches!(error, Error::NoRefreshToken { .. }), "{error:?}");

    // A token file without client_id (written by the official client) falls back to the most
    // recent registration for this OAuth base; with none, it says so.
    let (_, access, refresh) = fake.issue_tokens();
    let mut tokens = tokens.clone();
    tokens.tokens.access_token = Secret::new(access);
    tokens.tokens.refresh_token = Some(Secret::new(refresh));
    state_dir.save_tokens("legacy", &tokens).await.unwrap();
    let auth = OAuthBrowserAuth::new("legacy", state_dir.clone(), oauth.clone()).unwrap();
    let error = auth.access_token().await.unwrap_err();
    assert!(matches!(error, Error::NoClientId { .. }), "{error:?}");
    assert_eq!(fake.count("POST", "/oauth/token/"), 0);
}
