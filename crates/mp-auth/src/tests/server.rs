//! A fake Mixpanel for the tests: OAuth (registration, authorize, token with PKCE and the refresh
//! grant) and the few App API endpoints `mp-auth` calls, on `127.0.0.1:0`, recording every
//! request. It is also the reference for what mp-sandbox's OAuth side must do.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::urlenc::decode_query;

/// One request the fake server received.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) body: String,
    pub(crate) authorization: Option<String>,
}

/// What the fake server does; tests change it between requests.
#[derive(Debug, Clone)]
pub(crate) struct Behaviour {
    /// `expires_in` of issued access tokens.
    pub(crate) expires_in: i64,
    /// Whether a refresh issues a new refresh token (and revokes the old one).
    pub(crate) rotate_refresh_tokens: bool,
    /// The `/me` answer (inside `results`).
    pub(crate) me: Value,
    /// Workspaces per project id (the `results` of `/workspaces/public`).
    pub(crate) workspaces: HashMap<String, Value>,
    /// The status `/api/app/me` answers with when authentication succeeds (a region probe
    /// server that "does not know" the credential answers 401 instead).
    pub(crate) me_status: u16,
    /// The Basic credential `/api/app/me` accepts, besides issued bearer tokens.
    pub(crate) basic: Option<String>,
}

impl Default for Behaviour {
    fn default() -> Behaviour {
        Behaviour {
            expires_in: 3600,
            rotate_refresh_tokens: true,
            me: json!({"user_id": 7, "user_email": "ada@example.com", "organizations": {}, "projects": {}, "workspaces": {}}),
            workspaces: HashMap::new(),
            me_status: 200,
            basic: None,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    requests: Vec<Recorded>,
    behaviour: Behaviour,
    counter: u64,
    /// client_id → registered redirect URIs.
    clients: HashMap<String, Vec<String>>,
    /// code → (client_id, redirect_uri, code_challenge).
    codes: HashMap<String, (String, String, String)>,
    /// Live access tokens.
    access_tokens: Vec<String>,
    /// Live refresh token → client_id.
    refresh_tokens: HashMap<String, String>,
}

/// The fake server; shuts down when dropped.
#[derive(Debug)]
pub(crate) struct FakeMixpanel {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    /// Stops the accept loop when sent or dropped (with the server).
    _shutdown: oneshot::Sender<()>,
}

impl FakeMixpanel {
    pub(crate) async fn start(behaviour: Behaviour) -> FakeMixpanel {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            behaviour,
            ..State::default()
        }));
        let (shutdown_tx, mut shutdown_rx) = oneshot::channel::<()>();
        let served = Arc::clone(&state);
        tokio::spawn(async move {
            loop {
                let stream = tokio::select! {
                    _ = &mut shutdown_rx => return,
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => stream,
                        Err(_) => continue,
                    },
                };
                let state = Arc::clone(&served);
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let state = Arc::clone(&state);
                        async move { Ok::<_, Infallible>(handle(request, &state).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FakeMixpanel {
            addr,
            state,
            _shutdown: shutdown_tx,
        }
    }

    pub(crate) fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.addr.port())
    }

    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    pub(crate) fn count(&self, method: &str, path: &str) -> usize {
        self.requests()
            .iter()
            .filter(|request| request.method == method && request.path == path)
            .count()
    }

    pub(crate) fn set_behaviour(&self, change: impl FnOnce(&mut Behaviour)) {
        change(&mut self.state.lock().unwrap().behaviour);
    }

    /// Registers a client, issues tokens to it, and returns (client_id, access, refresh).
    pub(crate) fn issue_tokens(&self) -> (String, String, String) {
        let mut state = self.state.lock().unwrap();
        state.counter += 1;
        let client_id = format!("client-{}", state.counter);
        state.clients.insert(client_id.clone(), Vec::new());
        let (access, refresh) = mint(&mut state, &client_id);
        (client_id, access, refresh)
    }

    /// Revokes every refresh token (an admin revoked the app, or the user logged out elsewhere).
    pub(crate) fn revoke_refresh_tokens(&self) {
        self.state.lock().unwrap().refresh_tokens.clear();
    }

    /// Invalidates every access token (the server rotated its keys).
    pub(crate) fn revoke_access_tokens(&self) {
        self.state.lock().unwrap().access_tokens.clear();
    }
}

fn mint(state: &mut State, client_id: &str) -> (String, String) {
    state.counter += 1;
    let access = format!("access-{}", state.counter);
    let refresh = format!("refresh-{}", state.counter);
    state.access_tokens.push(access.clone());
    state
        .refresh_tokens
        .insert(refresh.clone(), client_id.to_owned());
    (access, refresh)
}

type Response = hyper::Response<Full<Bytes>>;

fn respond(status: u16, body: &Value) -> Response {
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

fn oauth_error(error: &str, description: &str) -> Response {
    respond(
        400,
        &json!({"error": error, "error_description": description}),
    )
}

async fn handle(request: hyper::Request<hyper::body::Incoming>, state: &Mutex<State>) -> Response {
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let authorization = request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let body = request.into_body().collect().await.unwrap().to_bytes();
    let body = String::from_utf8_lossy(&body).into_owned();
    let mut state = state.lock().unwrap();
    state.requests.push(Recorded {
        method: method.clone(),
        path: path.clone(),
        query: query.clone(),
        body: body.clone(),
        authorization: authorization.clone(),
    });
    let form = |text: &str| -> HashMap<String, String> { decode_query(text).into_iter().collect() };
    match (method.as_str(), path.as_str()) {
        ("POST", "/oauth/mcp/register/") => {
            let Ok(registration) = serde_json::from_str::<Value>(&body) else {
                return respond(400, &json!({"error": "invalid_client_metadata"}));
            };
            if registration["token_endpoint_auth_method"] != "none" {
                return respond(400, &json!({"error": "invalid_client_metadata"}));
            }
            let redirect_uris: Vec<String> = registration["redirect_uris"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|uri| uri.as_str().map(str::to_owned))
                .collect();
            state.counter += 1;
            let client_id = format!("client-{}", state.counter);
            state
                .clients
                .insert(client_id.clone(), redirect_uris.clone());
            respond(
                201,
                &json!({"client_id": client_id, "redirect_uris": redirect_uris, "token_endpoint_auth_method": "none"}),
            )
        }
        ("GET", "/oauth/authorize/") => {
            let params = form(&query);
            let get = |key: &str| params.get(key).cloned().unwrap_or_default();
            let client_id = get("client_id");
            let redirect_uri = get("redirect_uri");
            let registered = state
                .clients
                .get(&client_id)
                .is_some_and(|uris| uris.contains(&redirect_uri));
            if !registered
                || get("response_type") != "code"
                || get("code_challenge_method") != "S256"
            {
                return oauth_error("invalid_request", "unknown client or redirect URI");
            }
            state.counter += 1;
            let code = format!("code-{}", state.counter);
            state.codes.insert(
                code.clone(),
                (client_id, redirect_uri.clone(), get("code_challenge")),
            );
            let location = format!(
                "{redirect_uri}?code={code}&state={}",
                crate::urlenc::encode_component(&get("state"))
            );
            hyper::Response::builder()
                .status(302)
                .header("location", location)
                .body(Full::new(Bytes::new()))
                .unwrap()
        }
        ("POST", "/oauth/token/") => {
            let params = form(&body);
            let get = |key: &str| params.get(key).cloned().unwrap_or_default();
            let client_id = get("client_id");
            let (access, refresh) = match get("grant_type").as_str() {
                "authorization_code" => {
                    let Some((issued_to, redirect_uri, challenge)) =
                        state.codes.remove(&get("code"))
                    else {
                        return oauth_error("invalid_grant", "unknown code");
                    };
                    let verifier_challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .encode(Sha256::digest(get("code_verifier").as_bytes()));
                    if issued_to != client_id
                        || redirect_uri != get("redirect_uri")
                        || verifier_challenge != challenge
                    {
                        return oauth_error("invalid_grant", "PKCE verification failed");
                    }
                    mint(&mut state, &client_id)
                }
                "refresh_token" => {
                    let refresh = get("refresh_token");
                    if state.refresh_tokens.get(&refresh) != Some(&client_id) {
                        return oauth_error("invalid_grant", "refresh token revoked");
                    }
                    let rotate = state.behaviour.rotate_refresh_tokens;
                    if rotate {
                        state.refresh_tokens.remove(&refresh);
                    }
                    let (access, new_refresh) = mint(&mut state, &client_id);
                    if !rotate {
                        state.refresh_tokens.remove(&new_refresh);
                    }
                    (access, if rotate { new_refresh } else { String::new() })
                }
                _ => return oauth_error("unsupported_grant_type", "unknown grant"),
            };
            let mut answer = json!({
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": state.behaviour.expires_in,
                "scope": "projects analysis",
            });
            if !refresh.is_empty() {
                answer["refresh_token"] = Value::from(refresh);
            }
            respond(200, &answer)
        }
        ("GET", path) if path.starts_with("/api/app/") => {
            let bearer_ok = authorization
                .as_deref()
                .and_then(|header| header.strip_prefix("Bearer "))
                .is_some_and(|token| state.access_tokens.iter().any(|live| live == token));
            let basic_ok = state.behaviour.basic.is_some()
                && authorization.as_deref() == state.behaviour.basic.as_deref();
            if !bearer_ok && !basic_ok {
                return respond(401, &json!({"error": "Invalid credentials"}));
            }
            if path == "/api/app/me" {
                let status = state.behaviour.me_status;
                return respond(
                    status,
                    &json!({"status": "ok", "results": state.behaviour.me}),
                );
            }
            let project = path
                .strip_prefix("/api/app/projects/")
                .and_then(|rest| rest.strip_suffix("/workspaces/public"));
            match project.and_then(|project| state.behaviour.workspaces.get(project)) {
                Some(workspaces) => respond(200, &json!({"status": "ok", "results": workspaces})),
                None => respond(404, &json!({"status": "error", "error": "not found"})),
            }
        }
        _ => respond(404, &json!({"error": "not found"})),
    }
}
