//! The loopback callback server, driven by real HTTP requests on loopback.

use std::time::Duration;

use bytes::Bytes;
use mp_http::HttpRequest;

use crate::{CallbackServer, Error, Secret};

/// GETs `url` and returns (status, body).
pub(crate) async fn get(url: &str) -> (u16, String, http::HeaderMap) {
    let response = super::transport()
        .send(HttpRequest {
            method: http::Method::GET,
            url: url.to_owned(),
            headers: http::HeaderMap::new(),
            body: Bytes::new(),
        })
        .await
        .unwrap();
    let status = response.status.as_u16();
    let headers = response.headers.clone();
    let body = response.body.collect().await.unwrap();
    (status, String::from_utf8_lossy(&body).into_owned(), headers)
}

async fn server(state: &str) -> (CallbackServer, String) {
    let server = CallbackServer::bind(&[0], Secret::new(state.to_owned()))
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", server.port());
    assert_eq!(
        server.redirect_uri(),
        format!("http://localhost:{}/callback", server.port())
    );
    (server, base)
}

#[tokio::test]
async fn stray_requests_are_ignored_and_the_code_is_delivered() {
    let (mut server, base) = server("state-1").await;
    // A browser asks for its icon first, and a prefetch hits /callback without parameters.
    let (status, _, _) = get(&format!("{base}/favicon.ico")).await;
    assert_eq!(status, 404);
    let (status, _, _) = get(&format!("{base}/callback")).await;
    assert_eq!(status, 400);
    let (status, body, headers) =
        get(&format!("{base}/callback?code=the-code&state=state-1")).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert!(body.contains("You can close this tab"), "{body}");
    let code = server.wait(Duration::from_secs(300)).await.unwrap();
    assert_eq!(code.expose(), "the-code");
    // A reload after the login: a page, not a second outcome.
    let (status, body, _) = get(&format!("{base}/callback?code=again&state=state-1")).await;
    assert_eq!(status, 400);
    assert!(body.contains("already finished"), "{body}");
}

#[tokio::test]
async fn a_wrong_state_is_rejected() {
    let (mut server, base) = server("expected-state").await;
    let (status, body, _) = get(&format!("{base}/callback?code=c&state=forged")).await;
    assert_eq!(status, 400);
    assert!(body.contains("State parameter mismatch"), "{body}");
    // The expected state is never shown to the browser.
    assert!(!body.contains("expected-state"), "{body}");
    let error = server.wait(Duration::from_secs(300)).await.unwrap_err();
    assert!(matches!(error, Error::StateMismatch), "{error:?}");
}

#[tokio::test]
async fn a_provider_error_ends_the_login_and_is_escaped() {
    let (mut server, base) = server("s").await;
    let (status, body, _) = get(&format!(
        "{base}/callback?error=access_denied&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E"
    ))
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("&lt;script&gt;"), "{body}");
    assert!(!body.contains("<script>"), "{body}");
    let error = server.wait(Duration::from_secs(300)).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "Mixpanel refused the authorization: `access_denied` (<script>alert(1)</script>)"
    );
}

#[tokio::test(start_paused = true)]
async fn the_wait_times_out_after_five_minutes_of_virtual_time() {
    let (mut server, _base) = server("s").await;
    let started = tokio::time::Instant::now();
    let error = server
        .wait(crate::DEFAULT_CALLBACK_TIMEOUT)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::LoginTimedOut { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "no authorization arrived within 5 minutes"
    );
    assert!(error.hint().unwrap().contains("--no-browser"));
    assert_eq!(started.elapsed(), crate::DEFAULT_CALLBACK_TIMEOUT);
}

#[tokio::test]
async fn busy_ports_are_skipped_and_all_busy_is_an_error() {
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let busy = taken.local_addr().unwrap().port();
    let error = CallbackServer::bind(&[busy], Secret::new("s".to_owned()))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("all OAuth callback ports are busy ({busy})")
    );
    let server = CallbackServer::bind(&[busy, 0], Secret::new("s".to_owned()))
        .await
        .unwrap();
    assert_ne!(server.port(), busy);
}

#[tokio::test]
async fn dropping_the_server_stops_listening() {
    let (server, base) = server("s").await;
    drop(server);
    let url = format!("{base}/callback?code=c&state=s");
    // The accept loop needs a turn to see the shutdown; give it a bounded number of them.
    for _ in 0..100 {
        tokio::task::yield_now().await;
        let result = super::transport()
            .send(HttpRequest {
                method: http::Method::GET,
                url: url.clone(),
                headers: http::HeaderMap::new(),
                body: Bytes::new(),
            })
            .await;
        if result.is_err() {
            return;
        }
    }
    panic!("the listener is still accepting after the server was dropped");
}
