//! The whole stack (client, retry loop, `HyperTransport`) against a real
//! scripted HTTP server on `127.0.0.1:0`, with a virtual clock: exact attempt
//! counts and exact virtual waits, and nothing really sleeps.

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::tests::{
    ScriptedServer, ServerAction, StaticAuth, TEST_AUTHORIZATION, start_time, virtual_clock,
};
use crate::{
    ApiFamily, Client, ClientBuilder, Endpoints, Error, ErrorKind, Region, Request, RetryPolicy,
    TransportError, TransportErrorKind, VirtualClock,
};

/// No jitter and a 1 s base, so virtual waits are exact: 1, 2, 4, …
fn exact_policy() -> RetryPolicy {
    RetryPolicy {
        jitter: false,
        ..RetryPolicy::default()
    }
}

fn client_for(base_url: &str, clock: &VirtualClock, policy: RetryPolicy) -> Client {
    ClientBuilder::new(Endpoints::with_overrides(Region::Us, Some(base_url), None).unwrap())
        .with_clock(Arc::new(clock.clone()))
        .with_authenticator(Arc::new(StaticAuth {
            header: TEST_AUTHORIZATION,
        }))
        .with_project_id("12345")
        .with_retry_policy(policy)
        .build()
        .unwrap()
}

/// Runs `request` against a server playing `script`; returns the result,
/// how many requests the server saw, and the virtual waits.
async fn run(
    script: Vec<ServerAction>,
    policy: RetryPolicy,
    request: Request,
) -> (Result<Value, Error>, usize, Vec<u64>) {
    let server = ScriptedServer::start(script).await;
    let clock = virtual_clock();
    let client = client_for(&server.base_url, &clock, policy);
    let result = client.json::<Value>(request).await;
    let sleeps = clock.sleeps().iter().map(Duration::as_secs).collect();
    (result, server.received().len(), sleeps)
}

fn events() -> Request {
    Request::get(ApiFamily::Query, "/events/names").param("type", "general")
}

fn ok() -> ServerAction {
    ServerAction::status(
        200,
        &[("content-type", "application/json")],
        r#"["event1"]"#,
    )
}

#[tokio::test]
async fn decorated_request_reaches_the_server() {
    let server = ScriptedServer::start(vec![ok()]).await;
    let client = client_for(&server.base_url, &virtual_clock(), exact_policy());
    let names: Vec<String> = client.json(events()).await.unwrap();
    assert_eq!(names, ["event1"]);
    let received = server.received();
    assert_eq!(received[0].method, "GET");
    assert_eq!(
        received[0].target,
        "/api/query/events/names?type=general&project_id=12345&query_origin=mp-rs"
    );
    assert_eq!(
        received[0].header("authorization"),
        Some(TEST_AUTHORIZATION)
    );
    assert_eq!(
        received[0].header("user-agent"),
        Some(concat!("mp/", env!("CARGO_PKG_VERSION")))
    );
}

#[tokio::test]
async fn retry_after_in_seconds_is_honoured() {
    let limited = || ServerAction::status(429, &[("retry-after", "2")], "");
    let (result, n_requests, sleeps) = run(
        vec![limited(), limited(), limited(), ok()],
        exact_policy(),
        events(),
    )
    .await;
    assert_eq!(result.unwrap(), json!(["event1"]));
    assert_eq!(n_requests, 4);
    assert_eq!(sleeps, [2, 2, 2]);
}

#[tokio::test]
async fn retry_after_as_http_date_is_honoured() {
    // The clock starts at 12:00:00; each date is 5 s, then 3 s, ahead of it.
    let (result, n_requests, sleeps) = run(
        vec![
            ServerAction::status(429, &[("retry-after", "Thu, 15 Jan 2026 12:00:05 GMT")], ""),
            ServerAction::status(429, &[("retry-after", "Thu, 15 Jan 2026 12:00:08 GMT")], ""),
            ok(),
        ],
        exact_policy(),
        events(),
    )
    .await;
    assert_eq!(result.unwrap(), json!(["event1"]));
    assert_eq!(n_requests, 3);
    assert_eq!(sleeps, [5, 3]);
}

#[tokio::test]
async fn rate_limit_gives_up_after_max_retries() {
    let limited =
        || ServerAction::status(429, &[("retry-after", "45")], r#"{"error":"rate limited"}"#);
    let (result, n_requests, sleeps) = run(
        vec![limited(), limited(), limited(), limited()],
        exact_policy(),
        events(),
    )
    .await;
    let error = result.unwrap_err();
    assert_eq!(*error.kind(), ErrorKind::RateLimited);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(45)));
    assert_eq!(error.attempts(), 4);
    assert_eq!(error.elapsed(), Duration::from_secs(135));
    assert_eq!(n_requests, 4);
    assert_eq!(sleeps, [45, 45, 45]);
}

#[tokio::test]
async fn service_unavailable_is_retried_then_reported() {
    let unavailable = || {
        ServerAction::status(
            503,
            &[("content-type", "text/plain")],
            "Service temporarily unavailable",
        )
    };
    let (result, n_requests, sleeps) = run(
        vec![unavailable(), unavailable(), unavailable(), unavailable()],
        exact_policy(),
        events(),
    )
    .await;
    let error = result.unwrap_err();
    assert_eq!(*error.kind(), ErrorKind::Server);
    assert_eq!(n_requests, 4);
    assert_eq!(sleeps, [1, 2, 4]);
    let message = error.to_string();
    assert!(
        message.ends_with(
            "returned 503 Service Unavailable: Service temporarily unavailable \
             (failed after 4 attempts in 7.0s)"
        ),
        "{message}"
    );
}

#[tokio::test]
async fn internal_server_error_is_retried() {
    let (result, n_requests, sleeps) = run(
        vec![ServerAction::status(500, &[], r#"{"error":"boom"}"#), ok()],
        exact_policy(),
        events(),
    )
    .await;
    assert_eq!(result.unwrap(), json!(["event1"]));
    assert_eq!(n_requests, 2);
    assert_eq!(sleeps, [1]);
}

#[tokio::test]
async fn the_official_clients_policy_does_not_retry_5xx() {
    let (result, n_requests, sleeps) = run(
        vec![ServerAction::status(503, &[], ""), ok()],
        RetryPolicy::mixpanel_headless_compatible(3),
        events(),
    )
    .await;
    assert_eq!(*result.unwrap_err().kind(), ErrorKind::Server);
    assert_eq!(n_requests, 1);
    assert!(sleeps.is_empty());
}

#[tokio::test]
async fn connection_resets_are_retried() {
    let (result, n_requests, sleeps) = run(
        vec![ServerAction::Reset, ServerAction::Reset, ok()],
        exact_policy(),
        events(),
    )
    .await;
    assert_eq!(result.unwrap(), json!(["event1"]));
    assert_eq!(n_requests, 3);
    assert_eq!(sleeps, [1, 2]);
}

#[tokio::test]
async fn resets_exhaust_into_a_transport_error_with_its_cause() {
    let (result, n_requests, _) = run(
        vec![
            ServerAction::Reset,
            ServerAction::Reset,
            ServerAction::Reset,
            ServerAction::Reset,
        ],
        exact_policy(),
        events(),
    )
    .await;
    let error = result.unwrap_err();
    assert_eq!(*error.kind(), ErrorKind::Transport);
    assert_eq!(n_requests, 4);
    let cause = std::error::Error::source(&error)
        .and_then(|source| source.downcast_ref::<TransportError>())
        .expect("the transport error is kept as the source");
    assert_eq!(cause.kind(), TransportErrorKind::ConnectionReset);
    assert!(
        error
            .to_string()
            .contains("(failed after 4 attempts in 7.0s)"),
        "{error}"
    );
}

#[tokio::test]
async fn non_idempotent_post_is_not_retried() {
    let post = || {
        Request::post(ApiFamily::App, "/projects/12345/dashboards").json_body(json!({"title": "x"}))
    };
    let (result, n_requests, _) = run(
        vec![ServerAction::status(500, &[], ""), ok()],
        exact_policy(),
        post(),
    )
    .await;
    assert_eq!(*result.unwrap_err().kind(), ErrorKind::Server);
    assert_eq!(n_requests, 1);
    let (result, n_requests, _) =
        run(vec![ServerAction::Reset, ok()], exact_policy(), post()).await;
    assert_eq!(*result.unwrap_err().kind(), ErrorKind::Transport);
    assert_eq!(n_requests, 1);
    // A 429 means the server did nothing, so even a POST is sent again.
    let (result, n_requests, _) = run(
        vec![ServerAction::status(429, &[("retry-after", "1")], ""), ok()],
        exact_policy(),
        post(),
    )
    .await;
    assert!(result.is_ok());
    assert_eq!(n_requests, 2);
}

#[tokio::test]
async fn client_errors_are_never_retried() {
    for (status, kind) in [
        (400, ErrorKind::BadRequest),
        (401, ErrorKind::Authentication),
        (403, ErrorKind::Permission),
        (404, ErrorKind::NotFound),
        (422, ErrorKind::BadRequest),
    ] {
        let (result, n_requests, sleeps) = run(
            vec![ServerAction::status(status, &[], r#"{"error":"no"}"#), ok()],
            exact_policy(),
            events(),
        )
        .await;
        let error = result.unwrap_err();
        assert_eq!(*error.kind(), kind);
        assert_eq!(error.status(), Some(status));
        assert_eq!(error.server_message(), Some("no"));
        assert_eq!(n_requests, 1);
        assert!(sleeps.is_empty());
    }
}

#[tokio::test]
async fn connection_refused_is_a_connect_error_and_retried() {
    // Bind and release a port, so nothing listens on it.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let clock = virtual_clock();
    let client = client_for(
        &format!("http://127.0.0.1:{port}"),
        &clock,
        RetryPolicy {
            max_retries: 2,
            ..exact_policy()
        },
    );
    let error = client.send(events()).await.unwrap_err();
    assert_eq!(*error.kind(), ErrorKind::Transport);
    assert_eq!(error.attempts(), 3);
    let cause = std::error::Error::source(&error)
        .and_then(|source| source.downcast_ref::<TransportError>())
        .unwrap();
    assert_eq!(cause.kind(), TransportErrorKind::Connect);
    assert_eq!(clock.total_slept(), Duration::from_secs(3));
    assert!(error.hint().unwrap().contains("network"));
}

/// Reads an export's lines until the end or an error.
async fn read_export(client: &Client) -> (Vec<String>, Option<Error>) {
    let response = client
        .send(Request::get(ApiFamily::Export, "/export").param("from_date", "2024-01-01"))
        .await
        .unwrap();
    let mut lines = response.lines();
    let mut out = Vec::new();
    loop {
        match lines.next_line().await {
            Ok(Some(line)) => out.push(String::from_utf8(line.to_vec()).unwrap()),
            Ok(None) => return (out, None),
            Err(error) => return (out, Some(error)),
        }
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn export_lines(n: usize) -> Vec<String> {
    (0..n)
        .map(|index| {
            format!(r#"{{"event":"E{index}","properties":{{"time":{index},"city":"Zürich"}}}}"#)
        })
        .collect()
}

#[tokio::test]
async fn gzip_export_streams_and_asks_for_gzip() {
    let lines = export_lines(2000);
    let body = gzip((lines.join("\n") + "\n").as_bytes());
    // Several HTTP chunks, cut at arbitrary byte positions.
    let chunks = body.chunks(997).map(<[u8]>::to_vec).collect();
    let server = ScriptedServer::start(vec![ServerAction::Chunked {
        status: 200,
        headers: vec![("content-encoding".to_owned(), "gzip".to_owned())],
        chunks,
        reset: false,
    }])
    .await;
    let client = client_for(&server.base_url, &virtual_clock(), exact_policy());
    let (read, error) = read_export(&client).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(read, lines);
    let received = server.received();
    assert_eq!(received[0].header("accept-encoding"), Some("gzip"));
    assert_eq!(
        received[0].target,
        "/api/2.0/export?from_date=2024-01-01&project_id=12345"
    );
}

#[tokio::test]
async fn a_connection_drop_mid_export_is_truncation() {
    let lines = export_lines(3);
    let server = ScriptedServer::start(vec![ServerAction::Chunked {
        status: 200,
        headers: vec![],
        chunks: vec![
            format!("{}\n{}\n", lines[0], lines[1]).into_bytes(),
            lines[2].as_bytes()[..10].to_vec(),
        ],
        reset: true,
    }])
    .await;
    let client = client_for(&server.base_url, &virtual_clock(), exact_policy());
    let (read, error) = read_export(&client).await;
    assert_eq!(read, lines[..2]);
    let error = error.unwrap();
    assert_eq!(*error.kind(), ErrorKind::TruncatedStream);
    assert_eq!(
        error.url(),
        Some(format!("{}/api/2.0/export", server.base_url).as_str())
    );
}

#[tokio::test]
async fn a_gzip_export_cut_short_is_truncation() {
    let lines = export_lines(500);
    let body = gzip((lines.join("\n") + "\n").as_bytes());
    let server = ScriptedServer::start(vec![ServerAction::Chunked {
        status: 200,
        headers: vec![("content-encoding".to_owned(), "gzip".to_owned())],
        chunks: vec![body[..body.len() / 2].to_vec()],
        reset: true,
    }])
    .await;
    let client = client_for(&server.base_url, &virtual_clock(), exact_policy());
    let (read, error) = read_export(&client).await;
    assert!(read.len() < lines.len());
    assert_eq!(read, lines[..read.len()]);
    assert_eq!(*error.unwrap().kind(), ErrorKind::TruncatedStream);
}

#[tokio::test]
async fn the_terminated_early_marker_in_a_200_is_truncation() {
    let lines = export_lines(2);
    let body = format!("{}\n{}\nterminated early\n", lines[0], lines[1]);
    let server = ScriptedServer::start(vec![ServerAction::status(200, &[], &body)]).await;
    let client = client_for(&server.base_url, &virtual_clock(), exact_policy());
    let (read, error) = read_export(&client).await;
    assert_eq!(read, lines);
    let error = error.unwrap();
    assert_eq!(*error.kind(), ErrorKind::TruncatedStream);
    assert!(error.hint().unwrap().contains("run it again"));
}

#[tokio::test]
async fn the_virtual_clock_starts_where_the_tests_say() {
    // Guards the HTTP-date test above: its dates are relative to this.
    assert_eq!(crate::Clock::now(&virtual_clock()), start_time());
}

#[tokio::test]
async fn json_body_reaches_the_server() {
    let server = ScriptedServer::start(vec![ok()]).await;
    let client = client_for(&server.base_url, &virtual_clock(), exact_policy());
    client
        .send(Request::post(ApiFamily::Query, "/insights").json_body(json!({"bookmark": {"a": 1}})))
        .await
        .unwrap();
    let received = server.received();
    assert_eq!(received[0].body, br#"{"bookmark":{"a":1}}"#);
    assert_eq!(received[0].header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn a_tls_failure_is_classified_and_never_retried() {
    // A plain-text answer to a TLS ClientHello: rustls rejects the record.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let n_connections = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let server = {
        let n_connections = Arc::clone(&n_connections);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                n_connections.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = tokio::io::AsyncWriteExt::write_all(
                    &mut stream,
                    b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n",
                )
                .await;
            }
        })
    };
    let clock = virtual_clock();
    let client = client_for(&format!("https://127.0.0.1:{port}"), &clock, exact_policy());
    let error = client.send(events()).await.unwrap_err();
    server.abort();
    assert_eq!(*error.kind(), ErrorKind::Transport);
    let cause = std::error::Error::source(&error)
        .and_then(|source| source.downcast_ref::<TransportError>())
        .unwrap();
    assert_eq!(cause.kind(), TransportErrorKind::Tls, "{error:?}");
    assert_eq!(error.attempts(), 1);
    assert_eq!(n_connections.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn io_errors_are_classified_through_the_source_chain() {
    use crate::hyper_transport::classify;
    use std::io;

    /// An error that only wraps another, as hyper's and hyper-util's do.
    #[derive(Debug)]
    struct Wrapper(Box<dyn std::error::Error + Send + Sync>);
    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("wrapped")
        }
    }
    impl std::error::Error for Wrapper {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&*self.0)
        }
    }
    let wrapped = |kind: io::ErrorKind| Wrapper(Box::new(io::Error::new(kind, "x")));
    let cases = [
        (
            io::ErrorKind::ConnectionReset,
            TransportErrorKind::ConnectionReset,
        ),
        (
            io::ErrorKind::BrokenPipe,
            TransportErrorKind::ConnectionReset,
        ),
        (
            io::ErrorKind::UnexpectedEof,
            TransportErrorKind::ConnectionReset,
        ),
        (io::ErrorKind::TimedOut, TransportErrorKind::Timeout),
        (
            io::ErrorKind::ConnectionRefused,
            TransportErrorKind::Connect,
        ),
        (io::ErrorKind::PermissionDenied, TransportErrorKind::Other),
    ];
    for (io_kind, expected) in cases {
        assert_eq!(classify(&wrapped(io_kind)), expected, "{io_kind:?}");
    }
    let tls = Wrapper(Box::new(io::Error::new(
        io::ErrorKind::InvalidData,
        rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
    )));
    assert_eq!(classify(&tls), TransportErrorKind::Tls);
}
