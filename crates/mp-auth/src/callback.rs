//! The loopback callback server of a browser login.
//!
//! After the user approves access, Mixpanel redirects the browser to our redirect URI,
//! `http://localhost:PORT/callback?code=…&state=…`. This server receives that request on
//! `127.0.0.1`, checks `state` in constant time, shows a short page, and hands the code to
//! [`CallbackServer::wait`]. What each request leads to:
//!
//! | request | page | outcome |
//! |---|---|---|
//! | `GET /callback?code=C&state=S`, `S` is ours | 200 success | `Ok(C)`, the login continues |
//! | `GET /callback?code=C&state=X`, `X` is not ours | 400 "state mismatch" | [`Error::StateMismatch`] |
//! | `GET /callback?error=E[&error_description=D]` | 400 with `E` (HTML-escaped) | [`Error::AuthorizationDenied`] |
//! | `GET /callback` without `code` or `state` | 400 | none: keep waiting |
//! | any other path (a browser's `/favicon.ico`, a prefetch) | 404 | none: keep waiting |
//! | anything after the outcome is decided | 400 "already finished" | none |
//! | nothing within the timeout | — | [`Error::LoginTimedOut`] |
//!
//! Mixpanel's official client serves exactly one request on any path, so a favicon request
//! used up the login (`anchor-auth.md` §11.11); here only a decisive request ends it. The
//! expected `state` is never echoed to the browser.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use mp_http::Secret;

use crate::{Error, constant_time_eq, urlenc};

/// The official client's callback ports, tried in order; the first free one is used.
pub const DEFAULT_CALLBACK_PORTS: [u16; 4] = [19284, 19285, 19286, 19287];

/// How long a login waits for the browser: five minutes, like the official client.
pub const DEFAULT_CALLBACK_TIMEOUT: Duration = Duration::from_secs(300);

/// The callback path of the redirect URI.
pub const CALLBACK_PATH: &str = "/callback";

/// A connection that stays open longer than this (an idle keep-alive from the browser) is
/// dropped, so no task outlives the login for long.
const CONNECTION_LIFETIME: Duration = Duration::from_secs(30);

/// What the login gets from the callback: the authorization code, or why there is none.
type CallbackOutcome = Result<Secret<String>, Error>;

/// A loopback HTTP server waiting for one OAuth redirect.
///
/// It listens from [`CallbackServer::bind`] until it is dropped; dropping it stops accepting
/// connections (a page being written still completes).
#[derive(Debug)]
pub struct CallbackServer {
    port: u16,
    redirect_uri: String,
    /// Receives the outcome decided by the first decisive request. The sender lives in
    /// [`CallbackShared::outcome_tx`] (taken by exactly one request handler, and sent by its
    /// connection once the page is written); this receiver is consumed by
    /// [`CallbackServer::wait`]. The server also holds the shared state, so the sender cannot be
    /// dropped unsent while we wait.
    outcome_rx: oneshot::Receiver<CallbackOutcome>,
    /// Tells the accept loop to stop. Sent (or dropped, which the loop treats the same way) when
    /// the server is dropped; the accept loop is the only receiver.
    shutdown_tx: Option<oneshot::Sender<()>>,
    /// Keeps the handlers' shared state alive for as long as the server exists.
    _shared: Arc<CallbackShared>,
}

/// What every request handler of one server shares.
struct CallbackShared {
    /// The `state` this login sent in its authorize URL.
    expected_state: Secret<String>,
    /// The sending half of [`CallbackServer::outcome_rx`]. The handler of the first decisive
    /// request takes it out (so there is exactly one send), and its connection sends the code or
    /// the error after writing the page; later handlers find `None` and only show a page.
    /// Dropping it unsent would close the channel, which [`CallbackServer::wait`] reports as a
    /// timeout; it cannot happen while the server holds this struct and the runtime runs.
    outcome_tx: Mutex<Option<oneshot::Sender<CallbackOutcome>>>,
}

impl std::fmt::Debug for CallbackShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackShared")
            .field("expected_state", &self.expected_state)
            .finish_non_exhaustive()
    }
}

impl CallbackServer {
    /// Binds `127.0.0.1` on the first of `ports` that is free (port `0` asks the system for any,
    /// which tests use) and starts serving. The redirect URI says `localhost`, which is what
    /// Mixpanel accepts for loopback redirects, as the official client does.
    ///
    /// Binding is the availability check, so there is no window in which another program can
    /// take the port between a probe and the real bind.
    pub async fn bind(
        ports: &[u16],
        expected_state: Secret<String>,
    ) -> Result<CallbackServer, Error> {
        let mut listener = None;
        for &port in ports {
            match TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await {
                Ok(bound) => {
                    listener = Some(bound);
                    break;
                }
                Err(error) => {
                    tracing::debug!(port, %error, "callback port unavailable");
                }
            }
        }
        let Some(listener) = listener else {
            return Err(Error::CallbackPortsBusy {
                ports: ports.to_vec(),
            });
        };
        let port = listener
            .local_addr()
            .map_err(|source| Error::io("bind", std::path::Path::new("127.0.0.1"), source))?
            .port();
        let (outcome_tx, outcome_rx) = oneshot::channel();
        let (shutdown_tx, shutdown_rx) = oneshot::channel();
        let shared = Arc::new(CallbackShared {
            expected_state,
            outcome_tx: Mutex::new(Some(outcome_tx)),
        });
        tokio::spawn(accept_loop(listener, Arc::clone(&shared), shutdown_rx));
        Ok(CallbackServer {
            port,
            redirect_uri: format!("http://localhost:{port}{CALLBACK_PATH}"),
            outcome_rx,
            shutdown_tx: Some(shutdown_tx),
            _shared: shared,
        })
    }

    /// The port listened on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The redirect URI to register and send: `http://localhost:PORT/callback`.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Waits for the decisive request, at most `timeout` (on tokio's clock, so a test can pause
    /// time instead of waiting five real minutes). Returns the authorization code.
    pub async fn wait(&mut self, timeout: Duration) -> Result<Secret<String>, Error> {
        match tokio::time::timeout(timeout, &mut self.outcome_rx).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) | Err(_) => Err(Error::LoginTimedOut { waited: timeout }),
        }
    }
}

impl Drop for CallbackServer {
    fn drop(&mut self) {
        if let Some(shutdown_tx) = self.shutdown_tx.take() {
            // The accept loop may already be gone; nothing to do then.
            let _ = shutdown_tx.send(());
        }
    }
}

/// Accepts connections until told to stop, serving each on its own task.
async fn accept_loop(
    listener: TcpListener,
    shared: Arc<CallbackShared>,
    mut shutdown_rx: oneshot::Receiver<()>,
) {
    loop {
        let stream = tokio::select! {
            // Sent or dropped: either way the server is gone.
            _ = &mut shutdown_rx => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(error) => {
                    // Transient (too many open files, a reset before accept): keep serving.
                    tracing::debug!(%error, "callback server accept failed");
                    continue;
                }
            },
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let decided = Arc::new(Mutex::new(None));
            let service = {
                let decided = Arc::clone(&decided);
                service_fn(move |request| {
                    let response = handle(&request, &shared, &decided);
                    async move { Ok::<_, Infallible>(response) }
                })
            };
            let connection = http1::Builder::new()
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service);
            // An error here is a browser that went away; the outcome does not depend on it.
            let _ = tokio::time::timeout(CONNECTION_LIFETIME, connection).await;
            // Only now is the page written and the connection closed. Handing the outcome over
            // earlier lets the login finish and `mp` exit while the page is still unwritten, and
            // the browser shows a connection error instead of it.
            let decided = lock(&decided).take();
            if let Some(decided) = decided {
                // The receiver is gone only if the login already gave up.
                let _ = decided.outcome_tx.send(decided.outcome);
            }
        });
    }
}

/// The outcome a request decided, held by its connection until the page is written.
struct Decided {
    outcome_tx: oneshot::Sender<CallbackOutcome>,
    outcome: CallbackOutcome,
}

/// Locks `mutex`; a panic while holding it cannot leave a half-written `Option`.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Answers one request. When the request decides the login's outcome, the outcome goes to
/// `decided`, which the connection hands over once the page is written.
fn handle(
    request: &hyper::Request<hyper::body::Incoming>,
    shared: &CallbackShared,
    decided: &Mutex<Option<Decided>>,
) -> hyper::Response<Full<Bytes>> {
    if request.uri().path() != CALLBACK_PATH {
        tracing::debug!(
            path = request.uri().path(),
            "ignoring a stray request to the callback server"
        );
        return page(
            404,
            "Not found",
            "This address only receives the Mixpanel login.",
        );
    }
    if request.method() != http::Method::GET && request.method() != http::Method::HEAD {
        return page(
            405,
            "Method not allowed",
            "This address only receives the Mixpanel login.",
        );
    }
    let query = urlenc::decode_query(request.uri().query().unwrap_or_default());
    let get = |key: &str| {
        query
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.clone())
    };
    let (outcome, response) = if let Some(error) = get("error") {
        let description = get("error_description").filter(|text| !text.is_empty());
        let shown = match &description {
            Some(description) => format!("{error}: {description}"),
            None => error.clone(),
        };
        let response = page(
            400,
            "Authorization refused",
            &format!(
                "Mixpanel did not grant access ({}). Close this tab and try again.",
                escape_html(&shown)
            ),
        );
        (
            Err(Error::AuthorizationDenied { error, description }),
            response,
        )
    } else if let (Some(code), Some(state)) = (get("code"), get("state")) {
        if constant_time_eq(state.as_bytes(), shared.expected_state.expose().as_bytes()) {
            let response = page(
                200,
                "Logged in",
                "mp is now authorized. You can close this tab and return to the terminal.",
            );
            (Ok(Secret::new(code)), response)
        } else {
            let response = page(
                400,
                "Authorization failed",
                "State parameter mismatch: this response does not belong to the running login. Close this tab and try again.",
            );
            (Err(Error::StateMismatch), response)
        }
    } else {
        return page(
            400,
            "Authorization failed",
            "The redirect carries no `code` and `state`.",
        );
    };
    let outcome_tx = lock(&shared.outcome_tx).take();
    match outcome_tx {
        Some(outcome_tx) => {
            *lock(decided) = Some(Decided {
                outcome_tx,
                outcome,
            });
            response
        }
        None => page(
            400,
            "Login already finished",
            "This login has already finished. You can close this tab.",
        ),
    }
}

fn page(status: u16, title: &str, message_html: &str) -> hyper::Response<Full<Bytes>> {
    let body = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>mp: {title}</title></head>\
         <body style=\"font-family: sans-serif; margin: 3em\"><h1>{title}</h1><p>{message_html}</p></body></html>\n"
    );
    hyper::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(http::header::CACHE_CONTROL, "no-store")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new())))
}

/// Escapes text for HTML (the provider's error text is not ours to trust).
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            other => out.push(other),
        }
    }
    out
}
