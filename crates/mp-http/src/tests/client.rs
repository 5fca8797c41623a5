//! Request decoration, error mapping and redaction, over a fake transport.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::tests::{FakeAnswer, FakeTransport, TEST_AUTHORIZATION, fake_client, virtual_clock};
use crate::{
    ApiFamily, Authenticator, BoxFuture, ClientBuilder, Endpoints, Error, ErrorKind, Region,
    Request, ResponseBodyDetail, RetryPolicy, Secret, Timeouts, TransportErrorKind,
};

/// The parameters of Mixpanel's `events/names` call as the official client
/// sends them.
fn events_names() -> Request {
    Request::get(ApiFamily::Query, "/events/names")
        .param("type", "general")
        .param("limit", 5000)
        .param("from_date", "2000-01-01")
        .param("to_date", "2026-01-15")
}

/// Sends `request` through a fake transport serving `answers`; returns the
/// result and the requests as sent.
async fn run(
    builder: impl FnOnce(ClientBuilder) -> ClientBuilder,
    request: Request,
    answers: Vec<FakeAnswer>,
) -> (Result<Value, Error>, Vec<crate::HttpRequest>) {
    let transport = FakeTransport::new(answers);
    let clock = virtual_clock();
    let client = builder(fake_client(Arc::clone(&transport), &clock))
        .build()
        .unwrap();
    let result = client.json::<Value>(request).await;
    assert_eq!(transport.n_unserved(), 0, "every scripted answer is used");
    (result, transport.requests())
}

fn header<'a>(request: &'a crate::HttpRequest, name: &str) -> Option<&'a str> {
    request
        .headers
        .get(name)
        .map(|value| value.to_str().unwrap())
}

#[tokio::test]
async fn query_requests_carry_project_origin_and_auth() {
    let (result, requests) = run(
        |builder| builder,
        events_names(),
        vec![FakeAnswer::json(200, json!(["event1"]))],
    )
    .await;
    assert_eq!(result.unwrap(), json!(["event1"]));
    let request = &requests[0];
    assert_eq!(request.method, http::Method::GET);
    assert_eq!(
        request.url,
        "https://mixpanel.com/api/query/events/names?type=general&limit=5000&from_date=2000-01-01\
         &to_date=2026-01-15&project_id=12345&query_origin=mp-rs"
    );
    assert_eq!(header(request, "authorization"), Some(TEST_AUTHORIZATION));
    assert_eq!(
        header(request, "user-agent"),
        Some(concat!("mp/", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(header(request, "accept-encoding"), None);
    assert!(request.body.is_empty());
}

#[tokio::test]
async fn workspace_is_injected_only_when_pinned_and_only_for_query_and_engage() {
    let answers = || vec![FakeAnswer::json(200, json!({}))];
    let (_, requests) = run(
        |builder| builder.with_workspace_id(Some(777)),
        Request::get(ApiFamily::Engage, ""),
        answers(),
    )
    .await;
    assert_eq!(
        requests[0].url,
        "https://mixpanel.com/api/query/engage/?project_id=12345&workspace_id=777&query_origin=mp-rs"
    );
    let (_, requests) = run(
        |builder| builder.with_workspace_id(Some(777)),
        Request::get(ApiFamily::App, "/projects/12345/dashboards"),
        answers(),
    )
    .await;
    assert_eq!(
        requests[0].url,
        "https://mixpanel.com/api/app/projects/12345/dashboards"
    );
}

#[tokio::test]
async fn export_requests_gzip_and_no_query_origin() {
    let (_, requests) = run(
        |builder| builder,
        Request::get(ApiFamily::Export, "/export")
            .param("from_date", "2024-01-01")
            .param("to_date", "2024-01-31"),
        vec![FakeAnswer::json(200, json!({}))],
    )
    .await;
    assert_eq!(
        requests[0].url,
        "https://data.mixpanel.com/api/2.0/export?from_date=2024-01-01&to_date=2024-01-31&project_id=12345"
    );
    assert_eq!(header(&requests[0], "accept-encoding"), Some("gzip"));
}

#[tokio::test]
async fn caller_query_origin_and_project_id_are_replaced_in_place() {
    let (_, requests) = run(
        |builder| builder.with_query_origin("mixpanel-headless"),
        Request::get(ApiFamily::Query, "/x")
            .param("query_origin", "spoofed-by-caller")
            .param("project_id", "1")
            .param("query_origin", "again"),
        vec![FakeAnswer::json(200, json!({}))],
    )
    .await;
    assert_eq!(
        requests[0].url,
        "https://mixpanel.com/api/query/x?query_origin=mixpanel-headless&project_id=12345"
    );
}

#[tokio::test]
async fn params_keep_their_type_and_encode_like_the_official_client() {
    let (_, requests) = run(
        |builder| builder,
        Request::get(ApiFamily::App, "/x")
            .param("limit", 10)
            .param("ratio", 1.5)
            .param("flag", true)
            .param("none", Value::Null)
            .param("name[]", json!(["a b", "c&d"]))
            .param("event", r#"["Sign Up", "Purchase"]"#)
            .param("where", json!({"k": 1}))
            .param("unicode", "é/€"),
        vec![FakeAnswer::json(200, json!({}))],
    )
    .await;
    assert_eq!(
        requests[0].url,
        "https://mixpanel.com/api/app/x?limit=10&ratio=1.5&flag=true&none=\
         &name%5B%5D=a+b&name%5B%5D=c%26d\
         &event=%5B%22Sign+Up%22%2C+%22Purchase%22%5D&where=%7B%22k%22%3A1%7D\
         &unicode=%C3%A9%2F%E2%82%AC"
    );
}

#[tokio::test]
async fn custom_headers_override_defaults_and_requests_override_custom() {
    let (_, requests) = run(
        |builder| {
            builder
                .with_header("User-Agent", "custom-tester/1.0")
                .with_header("X-Tenant", "t1")
        },
        Request::get(ApiFamily::Query, "/x").header("x-tenant", "t2"),
        vec![FakeAnswer::json(200, json!({}))],
    )
    .await;
    assert_eq!(
        header(&requests[0], "user-agent"),
        Some("custom-tester/1.0")
    );
    assert_eq!(header(&requests[0], "x-tenant"), Some("t2"));
    assert_eq!(requests[0].headers.get_all("x-tenant").iter().count(), 1);
}

#[tokio::test]
async fn own_authorization_header_replaces_the_authenticator() {
    let (_, requests) = run(
        |builder| builder,
        Request::get(ApiFamily::App, "/me").header("Authorization", "Bearer probe"),
        vec![FakeAnswer::json(200, json!({}))],
    )
    .await;
    assert_eq!(header(&requests[0], "authorization"), Some("Bearer probe"));
}

#[tokio::test]
async fn bodies_set_their_content_type() {
    let (_, requests) = run(
        |builder| builder,
        Request::post(ApiFamily::Query, "/insights").json_body(json!({"a": [1, 2.0]})),
        vec![FakeAnswer::json(200, json!({}))],
    )
    .await;
    assert_eq!(
        header(&requests[0], "content-type"),
        Some("application/json")
    );
    assert_eq!(&requests[0].body[..], br#"{"a":[1,2.0]}"#);
    let (_, requests) = run(
        |builder| builder,
        Request::post(ApiFamily::App, "/custom_events/").form_body(vec![
            ("name".to_owned(), "My Event / Test".to_owned()),
            ("q".to_owned(), r#"{"a": 1}"#.to_owned()),
        ]),
        vec![FakeAnswer::json(200, json!({}))],
    )
    .await;
    assert_eq!(
        header(&requests[0], "content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        &requests[0].body[..],
        b"name=My+Event+%2F+Test&q=%7B%22a%22%3A+1%7D"
    );
}

#[tokio::test]
async fn absolute_urls_are_used_as_is_but_http_must_be_loopback() {
    let (_, requests) = run(
        |builder| builder,
        Request::get(
            ApiFamily::Query,
            "https://mixpanel.com/api/query/segmentation",
        )
        .inject_project_id(false),
        vec![FakeAnswer::json(200, json!({}))],
    )
    .await;
    assert_eq!(
        requests[0].url,
        "https://mixpanel.com/api/query/segmentation?query_origin=mp-rs"
    );
    let (result, requests) = run(
        |builder| builder,
        Request::get(ApiFamily::App, "http://example.com/api/app/me"),
        vec![],
    )
    .await;
    assert_eq!(*result.unwrap_err().kind(), ErrorKind::InsecureUrl);
    assert!(requests.is_empty());
}

/// The error's machine-readable details, as a conformance binding reads them.
fn details(error: &Error) -> Value {
    json!({
        "kind": error.kind().as_str(),
        "method": error.method(),
        "url": error.url(),
        "params": error.params(),
        "status": error.status(),
        "server_message": error.server_message(),
        "response_body": match error.response_body() {
            None => Value::Null,
            Some(ResponseBodyDetail::Json(json)) => json!({"json": json}),
            Some(ResponseBodyDetail::Text(text)) => json!({"text": text}),
        },
        "retry_after": error.retry_after().map(|wait| wait.as_secs()),
        "attempts": error.attempts(),
    })
}

#[track_caller]
fn assert_details(error: &Error, expected: Value) {
    let mut actual = details(error);
    // Common to every case below.
    for key in ["method", "url", "params"] {
        actual.as_object_mut().unwrap().remove(key);
    }
    assert_eq!(actual, expected, "{error}");
}

async fn error_for(answers: Vec<FakeAnswer>, max_retries: u32) -> Error {
    let (result, requests) = run(
        |builder| builder.with_retry_policy(RetryPolicy::mixpanel_headless_compatible(max_retries)),
        events_names(),
        answers,
    )
    .await;
    assert_eq!(requests.len(), max_retries as usize + 1);
    result.unwrap_err()
}

#[tokio::test]
async fn error_carries_request_context_with_typed_params() {
    let error = error_for(
        vec![FakeAnswer::json(
            401,
            json!({"error": "Invalid credentials"}),
        )],
        0,
    )
    .await;
    assert_eq!(error.method(), Some("GET"));
    assert_eq!(
        error.url(),
        Some("https://mixpanel.com/api/query/events/names")
    );
    assert_eq!(
        Value::Object(error.params().unwrap().clone()),
        json!({"type": "general", "limit": 5000, "from_date": "2000-01-01",
               "to_date": "2026-01-15", "project_id": "12345", "query_origin": "mp-rs"})
    );
    assert_eq!(error.project_id(), Some("12345"));
    assert_details(
        &error,
        json!({"kind": "authentication", "status": 401, "server_message": "Invalid credentials",
               "response_body": {"json": {"error": "Invalid credentials"}},
               "retry_after": null, "attempts": 1}),
    );
    assert_eq!(
        error.to_string(),
        "authentication failed: `GET https://mixpanel.com/api/query/events/names` returned \
         401 Unauthorized: Invalid credentials"
    );
    assert!(error.hint().unwrap().contains("mp account login"));
}

#[tokio::test]
async fn every_mixpanel_error_shape_gives_its_message() {
    let cases = [
        (
            FakeAnswer::json(400, json!({"error": "Invalid query"})),
            json!({"kind": "bad_request", "status": 400, "server_message": "Invalid query",
                   "response_body": {"json": {"error": "Invalid query"}}}),
        ),
        (
            FakeAnswer::json(
                400,
                json!({"request": "/api/query/x", "error": "bad segment"}),
            ),
            json!({"kind": "bad_request", "status": 400, "server_message": "bad segment",
                   "response_body": {"json": {"request": "/api/query/x", "error": "bad segment"}}}),
        ),
        (
            FakeAnswer::json(
                403,
                json!({"status": "error", "error": "Permission denied"}),
            ),
            json!({"kind": "permission", "status": 403, "server_message": "Permission denied",
                   "response_body": {"json": {"status": "error", "error": "Permission denied"}}}),
        ),
        (
            FakeAnswer::json(400, json!({"error": {"code": "BAD_SEGMENT"}})),
            json!({"kind": "bad_request", "status": 400,
                   "server_message": r#"{"code":"BAD_SEGMENT"}"#,
                   "response_body": {"json": {"error": {"code": "BAD_SEGMENT"}}}}),
        ),
        (
            FakeAnswer::json(404, json!({"error": ""})),
            json!({"kind": "not_found", "status": 404, "server_message": null,
                   "response_body": {"json": {"error": ""}}}),
        ),
        (
            FakeAnswer::text(
                400,
                "text/plain; charset=utf-8",
                "Bad request: missing required field",
            ),
            json!({"kind": "bad_request", "status": 400,
                   "server_message": "Bad request: missing required field",
                   "response_body": {"text": "Bad request: missing required field"}}),
        ),
        (
            FakeAnswer::text(400, "text/plain; charset=utf-8", "   "),
            json!({"kind": "bad_request", "status": 400, "server_message": null,
                   "response_body": {"text": "   "}}),
        ),
        (
            FakeAnswer::json(412, json!({"error": "Precondition failed"})),
            json!({"kind": "bad_request", "status": 412, "server_message": "Precondition failed",
                   "response_body": {"json": {"error": "Precondition failed"}}}),
        ),
        (
            FakeAnswer::text(502, "text/plain; charset=utf-8", ""),
            json!({"kind": "server", "status": 502, "server_message": null,
                   "response_body": null}),
        ),
        (
            FakeAnswer::text(503, "text/html", "<html><body>Down</body></html>"),
            json!({"kind": "server", "status": 503, "server_message": null,
                   "response_body": {"text": "<html><body>Down</body></html>"}}),
        ),
    ];
    for (answer, mut expected) in cases {
        let error = error_for(vec![answer], 0).await;
        let object = expected.as_object_mut().unwrap();
        object.insert("retry_after".to_owned(), Value::Null);
        object.insert("attempts".to_owned(), json!(1));
        assert_details(&error, expected);
    }
}

#[tokio::test]
async fn rate_limit_error_reports_retry_after_verbatim() {
    let answer = |value: &str| {
        FakeAnswer::text(429, "application/json", "").with_header("retry-after", value)
    };
    // One retry after "0", then give up: the official client's vector.
    let error = error_for(vec![answer("0"), answer("0")], 1).await;
    assert_details(
        &error,
        json!({"kind": "rate_limited", "status": 429, "server_message": null,
               "response_body": null, "retry_after": 0, "attempts": 2}),
    );
    // Not capped when reported.
    let error = error_for(vec![answer("3600")], 0).await;
    assert_eq!(error.retry_after(), Some(Duration::from_secs(3600)));
    assert!(error.hint().unwrap().contains("wait 60m 0s"));
    // Unusable values are left out.
    let error = error_for(vec![answer("-5")], 0).await;
    assert_eq!(error.retry_after(), None);
}

#[tokio::test]
async fn final_error_says_attempts_and_virtual_time() {
    let transport = FakeTransport::new(vec![
        FakeAnswer::Error(TransportErrorKind::ConnectionReset),
        FakeAnswer::Error(TransportErrorKind::ConnectionReset),
        FakeAnswer::Error(TransportErrorKind::ConnectionReset),
    ]);
    let clock = virtual_clock();
    let client = fake_client(Arc::clone(&transport), &clock)
        .with_retry_policy(RetryPolicy {
            max_retries: 2,
            jitter: false,
            base_delay: Duration::from_millis(1500),
            ..RetryPolicy::default()
        })
        .build()
        .unwrap();
    let error = client.send(events_names()).await.unwrap_err();
    assert_eq!(*error.kind(), ErrorKind::Transport);
    assert_eq!(error.attempts(), 3);
    assert_eq!(error.elapsed(), Duration::from_millis(4500));
    assert_eq!(
        error.to_string(),
        "could not talk to Mixpanel: `GET https://mixpanel.com/api/query/events/names` \
         (failed after 3 attempts in 4.5s)"
    );
    // The cause chain is kept.
    let source = std::error::Error::source(&error).unwrap();
    assert_eq!(source.to_string(), "connection reset: scripted failure");
}

/// An authenticator that hands out a new token after a 401, once.
#[derive(Debug, Default)]
struct RefreshingAuth {
    generation: AtomicU32,
    refreshes: AtomicU32,
    refresh_succeeds: bool,
}

impl Authenticator for RefreshingAuth {
    fn authorization(&self) -> BoxFuture<'_, Result<Secret<String>, Error>> {
        let generation = self.generation.load(Ordering::SeqCst);
        Box::pin(async move { Ok(Secret::new(format!("Bearer token-{generation}"))) })
    }

    fn refresh_after_unauthorized(&self) -> BoxFuture<'_, Result<bool, Error>> {
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        if self.refresh_succeeds {
            self.generation.fetch_add(1, Ordering::SeqCst);
        }
        let refreshed = self.refresh_succeeds;
        Box::pin(async move { Ok(refreshed) })
    }
}

#[tokio::test]
async fn a_401_refreshes_once_and_retries_once() {
    let unauthorized = || FakeAnswer::json(401, json!({"error": "expired"}));
    for (refresh_succeeds, answers, expected_requests) in [
        (
            true,
            vec![unauthorized(), FakeAnswer::json(200, json!([1]))],
            2,
        ),
        // A second 401 after a refresh is final.
        (true, vec![unauthorized(), unauthorized()], 2),
        (false, vec![unauthorized()], 1),
    ] {
        let auth = Arc::new(RefreshingAuth {
            refresh_succeeds,
            ..RefreshingAuth::default()
        });
        let transport = FakeTransport::new(answers);
        let client = fake_client(Arc::clone(&transport), &virtual_clock())
            .with_authenticator(auth.clone())
            .build()
            .unwrap();
        let result = client.json::<Value>(events_names()).await;
        let requests = transport.requests();
        assert_eq!(requests.len(), expected_requests);
        assert_eq!(auth.refreshes.load(Ordering::SeqCst), 1);
        assert_eq!(
            header(&requests[0], "authorization"),
            Some("Bearer token-0")
        );
        if expected_requests == 2 {
            assert_eq!(
                header(&requests[1], "authorization"),
                Some("Bearer token-1")
            );
        }
        if let Err(error) = result {
            assert_eq!(*error.kind(), ErrorKind::Authentication);
        }
    }
}

#[tokio::test]
async fn non_idempotent_post_is_not_retried_but_read_only_post_is() {
    let answers = || {
        vec![
            FakeAnswer::json(500, json!({"error": "boom"})),
            FakeAnswer::json(200, json!({"ok": true})),
        ]
    };
    let transport = FakeTransport::new(answers());
    let client = fake_client(Arc::clone(&transport), &virtual_clock())
        .build()
        .unwrap();
    let error = client
        .send(Request::post(ApiFamily::App, "/projects/1/dashboards").json_body(json!({})))
        .await
        .unwrap_err();
    assert_eq!(*error.kind(), ErrorKind::Server);
    assert_eq!(transport.requests().len(), 1);

    let transport = FakeTransport::new(answers());
    let client = fake_client(Arc::clone(&transport), &virtual_clock())
        .build()
        .unwrap();
    let value: Value = client
        .json(
            Request::post(ApiFamily::Query, "/insights")
                .json_body(json!({}))
                .retry_safe(true),
        )
        .await
        .unwrap();
    assert_eq!(value, json!({"ok": true}));
    assert_eq!(transport.requests().len(), 2);
}

#[tokio::test]
async fn app_results_unwraps_the_envelope() {
    let cases = [
        (
            FakeAnswer::text(204, "application/json", ""),
            json!({"status": "ok"}),
        ),
        (
            FakeAnswer::json(200, json!({"status": "ok", "results": [{"id": 1}]})),
            json!([{"id": 1}]),
        ),
        (FakeAnswer::json(200, json!({"id": 7})), json!({"id": 7})),
    ];
    for (answer, expected) in cases {
        let transport = FakeTransport::new(vec![answer]);
        let client = fake_client(transport, &virtual_clock()).build().unwrap();
        let value = client
            .app_results(Request::get(ApiFamily::App, "/projects/1/x"))
            .await
            .unwrap();
        assert_eq!(value, expected);
    }
    let transport = FakeTransport::new(vec![FakeAnswer::json(
        200,
        json!({"status": "error", "error": "no such dashboard"}),
    )]);
    let client = fake_client(transport, &virtual_clock()).build().unwrap();
    let error = client
        .app_results(Request::get(ApiFamily::App, "/projects/1/x"))
        .await
        .unwrap_err();
    assert_eq!(*error.kind(), ErrorKind::BadRequest);
    assert_eq!(error.server_message(), Some("no such dashboard"));
}

#[tokio::test]
async fn non_json_success_is_an_invalid_response() {
    let transport = FakeTransport::new(vec![FakeAnswer::text(
        200,
        "text/html",
        "<html><body>Error</body></html>",
    )]);
    let client = fake_client(transport, &virtual_clock()).build().unwrap();
    let error = client.json::<Value>(events_names()).await.unwrap_err();
    assert_eq!(*error.kind(), ErrorKind::InvalidResponse);
    assert_eq!(error.content_type(), Some("text/html"));
    assert_eq!(error.details()["content_type"], json!("text/html"));
}

#[tokio::test(start_paused = true)]
async fn timeouts_follow_the_family_without_real_waiting() {
    for (family, expected) in [
        (ApiFamily::App, Duration::from_secs(135)),
        (ApiFamily::Query, Duration::from_secs(500)),
    ] {
        let transport = FakeTransport::new(vec![FakeAnswer::Hang]);
        let client = fake_client(transport, &virtual_clock())
            .with_retry_policy(RetryPolicy::never())
            .build()
            .unwrap();
        let started = tokio::time::Instant::now();
        let error = client.send(Request::get(family, "/x")).await.unwrap_err();
        assert_eq!(*error.kind(), ErrorKind::Timeout);
        assert_eq!(started.elapsed(), expected);
    }
    // A per-request timeout wins.
    let transport = FakeTransport::new(vec![FakeAnswer::Hang]);
    let client = fake_client(transport, &virtual_clock())
        .with_retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let error = client
        .send(Request::get(ApiFamily::Query, "/x").timeout(Duration::from_secs(7)))
        .await
        .unwrap_err();
    assert_eq!(*error.kind(), ErrorKind::Timeout);
    assert_eq!(started.elapsed(), Duration::from_secs(7));
}

#[tokio::test(start_paused = true)]
async fn export_is_bounded_by_idle_time_not_total_time() {
    // Chunks keep coming every 50 s for 10 minutes: no timeout with a 60 s
    // idle limit, although the whole export takes far longer than that.
    let chunks = futures_util::stream::unfold(0u32, |n| async move {
        if n == 12 {
            return None;
        }
        tokio::time::sleep(Duration::from_secs(50)).await;
        Some((Ok(bytes::Bytes::from(format!("{{\"n\":{n}}}\n"))), n + 1))
    });
    let stalled = futures_util::stream::unfold((), |()| async {
        tokio::time::sleep(Duration::from_secs(61)).await;
        Some((Ok(bytes::Bytes::from_static(b"{}\n")), ()))
    });
    let body = crate::ResponseBody::from_stream(futures_util::StreamExt::chain(chunks, stalled));
    let transport = Arc::new(StreamingTransport(std::sync::Mutex::new(Some(body))));
    let client = ClientBuilder::new(Endpoints::regional(Region::Us))
        .with_transport(transport)
        .with_timeouts(Timeouts {
            export_idle: Duration::from_secs(60),
            ..Timeouts::default()
        })
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let mut lines = client
        .send(Request::get(ApiFamily::Export, "/export"))
        .await
        .unwrap()
        .lines();
    let mut n_lines = 0;
    let error = loop {
        match lines.next_line().await {
            Ok(Some(_)) => n_lines += 1,
            Ok(None) => panic!("the stalled stream must time out"),
            Err(error) => break error,
        }
    };
    assert_eq!(n_lines, 12);
    assert_eq!(*error.kind(), ErrorKind::Timeout);
    assert_eq!(started.elapsed(), Duration::from_secs(12 * 50 + 60));
}

/// Serves one streamed 200 response.
#[derive(Debug)]
struct StreamingTransport(std::sync::Mutex<Option<crate::ResponseBody>>);

impl crate::Transport for StreamingTransport {
    fn send(
        &self,
        _request: crate::HttpRequest,
    ) -> BoxFuture<'_, Result<crate::HttpResponse, crate::TransportError>> {
        let body = self.0.lock().unwrap().take().unwrap();
        Box::pin(async move {
            Ok(crate::HttpResponse {
                status: http::StatusCode::OK,
                headers: http::HeaderMap::new(),
                body,
            })
        })
    }
}

#[test]
fn secret_debug_is_redacted() {
    let secret = Secret::new("hunter2".to_owned());
    assert_eq!(format!("{secret:?}"), "REDACTED");
    assert_eq!(format!("{:?}", Some(&secret)), "Some(REDACTED)");
    assert_eq!(secret.expose(), "hunter2");
    // serde sees the value, for token files.
    assert_eq!(serde_json::to_string(&secret).unwrap(), r#""hunter2""#);
}

#[tokio::test]
async fn errors_never_contain_credentials() {
    const SECRET: &str = "s3cr3t-value";
    let transport = FakeTransport::new(vec![
        FakeAnswer::json(401, json!({"error": "Invalid credentials"})),
        FakeAnswer::Error(TransportErrorKind::Tls),
    ]);
    let client = ClientBuilder::new(Endpoints::regional(Region::Us))
        .with_transport(transport.clone())
        .with_clock(Arc::new(virtual_clock()))
        .with_authenticator(Arc::new(crate::tests::StaticAuth {
            header: "Basic czNjcjN0LXZhbHVl",
        }))
        .with_header("X-Api-Secret", SECRET)
        .build()
        .unwrap();
    let errors = [
        client
            .send(
                Request::get(
                    ApiFamily::OAuth,
                    format!("https://user:{SECRET}@mixpanel.com/oauth/x"),
                )
                .param("access_token", SECRET)
                .param("client_secret", SECRET),
            )
            .await
            .unwrap_err(),
        client
            .send(Request::post(ApiFamily::OAuth, "/token/").form_body(vec![
                ("refresh_token".to_owned(), SECRET.to_owned()),
                ("code_verifier".to_owned(), SECRET.to_owned()),
            ]))
            .await
            .unwrap_err(),
    ];
    for error in &errors {
        let mut texts = vec![
            error.to_string(),
            format!("{error:?}"),
            format!("{error:#?}"),
        ];
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            texts.push(cause.to_string());
            source = cause.source();
        }
        for text in texts {
            assert!(!text.contains(SECRET), "{text}");
            assert!(!text.contains("czNjcjN0LXZhbHVl"), "{text}");
        }
    }
    assert_eq!(
        errors[0].params().unwrap()["access_token"],
        json!("REDACTED")
    );
    assert_eq!(
        errors[1].request_body().unwrap()["refresh_token"],
        json!("REDACTED")
    );
    // The secret did go on the wire, where it belongs.
    let requests = transport.requests();
    assert!(requests[0].url.contains(SECRET));
    for shown in [
        format!("{:?}", requests[0]),
        format!("{:?}", requests[1]),
        format!("{:?}", requests[0].redacted()),
    ] {
        assert!(
            !shown.contains(SECRET) && !shown.contains("czNjcjN0LXZhbHVl"),
            "{shown}"
        );
    }
}

#[test]
fn redact_url_removes_userinfo_and_secret_params() {
    let cases = [
        (
            "https://mixpanel.com/api/query?a=1",
            "https://mixpanel.com/api/query?a=1",
        ),
        (
            "https://u:p@mixpanel.com/x?token=abc&b=2&client_secret=z#frag",
            "https://mixpanel.com/x?token=REDACTED&b=2&client_secret=REDACTED#frag",
        ),
        (
            "https://x.com/?code=abc&state=s",
            "https://x.com/?code=REDACTED&state=s",
        ),
        ("https://x.com/?signup=1", "https://x.com/?signup=1"),
        (
            "http://[::1]:80/?api%5Fkey=k",
            "http://[::1]:80/?api%5Fkey=REDACTED",
        ),
    ];
    for (url, expected) in cases {
        assert_eq!(crate::redact_url(url), expected);
    }
}

/// Services spawn these futures on a multi-threaded runtime.
#[test]
fn futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let client = fake_client(FakeTransport::new(vec![]), &virtual_clock())
        .build()
        .unwrap();
    assert_send(&client.send(events_names()));
    assert_send(&client.json::<Value>(events_names()));
    assert_send(&client.app_results(events_names()));
    let mut paginator = client.paginate("/x", vec![], 0);
    assert_send(&paginator.next_page());
    let mut lines = crate::JsonLines::new(crate::ResponseBody::empty());
    assert_send(&lines.next_line());
}
