//! Each fault knob: its syntax, and what a client sees.

use std::time::Duration;

use http_body_util::BodyExt as _;
use serde_json::json;

use super::client::{Call, get, start};
use crate::{Fault, FaultKind, Faults, StreamPoint};

const NAMES: &str = "/api/query/events/names?type=general&project_id=1";
const EXPORT: &str = "/api/2.0/export?project_id=1&from_date=2024-03-30&to_date=2024-03-31";

#[track_caller]
fn check_parse(spec: &str, expected: Fault) {
    let parsed: Fault = spec
        .parse()
        .unwrap_or_else(|error| panic!("{spec}: {error}"));
    assert_eq!(parsed, expected, "{spec}");
    // The display form parses back to the same fault.
    assert_eq!(
        parsed.to_string().parse::<Fault>().unwrap(),
        parsed,
        "{parsed}"
    );
}

#[test]
fn parses_the_cli_syntax() {
    check_parse("429:3", Fault::rate_limit(3));
    check_parse(
        "429:2,retry-after=7,path=/api/2.0",
        Fault::new(FaultKind::RateLimit {
            retry_after_seconds: 7,
        })
        .with_times(Some(2))
        .with_path_prefix("/api/2.0"),
    );
    check_parse("500:2", Fault::server_error(500, 2));
    check_parse("503", Fault::server_error(503, 1));
    check_parse(
        "reset-export:after-lines=1000",
        Fault::new(FaultKind::ResetExport {
            after: StreamPoint::Lines(1000),
            tcp_reset: false,
        }),
    );
    check_parse(
        "reset-export:after-bytes=10,rst,times=always",
        Fault::new(FaultKind::ResetExport {
            after: StreamPoint::Bytes(10),
            tcp_reset: true,
        })
        .with_times(None),
    );
    check_parse(
        "truncate-export",
        Fault::new(FaultKind::TruncateExport { after_lines: 100 }),
    );
    check_parse(
        "slow:200ms",
        Fault::new(FaultKind::Slow {
            delay: Duration::from_millis(200),
        }),
    );
    check_parse(
        "slow:1.5s,times=2",
        Fault::new(FaultKind::Slow {
            delay: Duration::from_millis(1500),
        })
        .with_times(Some(2)),
    );
    check_parse(
        "invalid-json:4",
        Fault::new(FaultKind::InvalidJson).with_times(Some(4)),
    );

    for bad in [
        "",
        "404",
        "429:x",
        "teapot",
        "slow",
        "slow:fast",
        "reset-export:5",
        "429:1,after-lines=3",
        "500:1,path=api",
        "truncate-export:after-bytes=3",
        "429:1,2",
    ] {
        assert!(bad.parse::<Fault>().is_err(), "{bad:?} should not parse");
    }
    assert_eq!(Faults::parse(&["429:1", "500:1"]).unwrap().list.len(), 2);
    assert!(Faults::parse(&["429:1", "nope"]).is_err());
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after_for_the_first_k_requests() {
    let mut options = crate::SandboxOptions::new();
    options.events = 100;
    options.end = Some(super::client::END.to_owned());
    options.faults = Faults::parse(&["429:3"]).unwrap();
    let sandbox = crate::Sandbox::start(options).await.unwrap();
    for _ in 0..3 {
        let reply = get(&sandbox, NAMES).await;
        assert_eq!(reply.status, 429);
        assert_eq!(reply.header("retry-after"), Some("1"));
        let body = reply.json();
        assert_eq!(body["request"], NAMES);
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .starts_with("Query rate limit exceeded for project_id: 1.")
        );
    }
    assert_eq!(get(&sandbox, NAMES).await.status, 200);
    assert!(sandbox.faults().active().is_empty());
    // The rate limiter sits in front of authentication, as a real one does.
    sandbox.faults().push(Fault::rate_limit(1));
    let anonymous = Call::get(NAMES).auth(None).send(&sandbox).await;
    assert_eq!(anonymous.status, 429);
}

#[tokio::test]
async fn server_errors_for_the_first_k_requests_and_path_scoping() {
    let sandbox = start(100, 2).await;
    sandbox.faults().set([
        Fault::server_error(503, 2).with_path_prefix("/api/2.0/export"),
        Fault::server_error(500, 1),
    ]);
    // The first fault does not match this path; the second does, once.
    let first = get(&sandbox, NAMES).await;
    assert_eq!(first.status, 500);
    assert_eq!(
        first.json(),
        json!({"request": NAMES, "error": "Internal server error"})
    );
    assert_eq!(get(&sandbox, NAMES).await.status, 200);
    assert_eq!(get(&sandbox, EXPORT).await.status, 503);
    assert_eq!(get(&sandbox, EXPORT).await.status, 503);
    assert_eq!(get(&sandbox, EXPORT).await.status, 200);
    // App API errors have the App API's shape.
    sandbox.faults().push(Fault::server_error(502, 1));
    let app = get(&sandbox, "/api/app/me").await;
    assert_eq!(app.status, 502);
    assert_eq!(
        app.json(),
        json!({"status": "error", "error": "Internal server error"})
    );
    sandbox.faults().push(Fault::server_error(500, 5));
    sandbox.faults().clear();
    assert_eq!(get(&sandbox, NAMES).await.status, 200);
}

/// Reads an export body until it ends or fails; returns the bytes and whether it failed.
async fn read_export(sandbox: &crate::Sandbox, call: &Call) -> (http::StatusCode, Vec<u8>, bool) {
    let response = call.open(sandbox).await.expect("head");
    let status = response.status();
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    loop {
        match body.frame().await {
            None => return (status, bytes, false),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    bytes.extend_from_slice(&data);
                }
            }
            Some(Err(_)) => return (status, bytes, true),
        }
    }
}

#[tokio::test]
async fn reset_export_drops_the_connection_after_exactly_n_lines() {
    let sandbox = start(50_000, 2).await;
    // Far more than the socket buffers hold: the client still gets exactly that many lines.
    sandbox
        .faults()
        .push("reset-export:after-lines=20000".parse().unwrap());
    let (status, bytes, failed) = read_export(&sandbox, &Call::get(EXPORT)).await;
    assert_eq!(status, 200);
    assert!(failed, "the client must see an error, not a clean end");
    assert!(bytes.ends_with(b"\n"));
    let mut full = Vec::new();
    sandbox
        .dataset()
        .write_jsonl("2024-03-30", "2024-03-31", None, &mut full)
        .unwrap();
    let lines = bytes.iter().filter(|&&b| b == b'\n').count();
    assert_eq!(lines, 20_000);
    assert!(
        full.starts_with(&bytes),
        "the lines sent are the export's first lines"
    );

    // Once only by default: the retry succeeds.
    let (status, bytes, failed) = read_export(&sandbox, &Call::get(EXPORT)).await;
    assert_eq!((status, failed), (http::StatusCode::OK, false));
    assert_eq!(bytes, full);

    // After a byte count, possibly mid-line; with gzip, everything sent decodes.
    sandbox
        .faults()
        .push("reset-export:after-bytes=1000".parse().unwrap());
    let gzip = Call::get(EXPORT).header("accept-encoding", "gzip");
    let (_, compressed, failed) = read_export(&sandbox, &gzip).await;
    assert!(failed);
    let mut decoded = Vec::new();
    let mut decoder = flate2::read::GzDecoder::new(compressed.as_slice());
    // The gzip stream has no trailer, so the decoder ends with an error after the data.
    let _ = std::io::Read::read_to_end(&mut decoder, &mut decoded);
    assert_eq!(decoded, full[..1000]);
}

#[tokio::test]
async fn reset_export_with_rst_resets_the_tcp_connection() {
    let sandbox = start(5_000, 2).await;
    sandbox
        .faults()
        .push("reset-export:after-lines=50,rst".parse().unwrap());
    let response = Call::get(EXPORT).open(&sandbox).await.unwrap();
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    let error = loop {
        match body.frame().await {
            None => panic!("the body must not end cleanly"),
            Some(Ok(frame)) => bytes.extend_from_slice(&frame.into_data().unwrap_or_default()),
            Some(Err(error)) => break error,
        }
    };
    let io_error = std::error::Error::source(&error)
        .and_then(|source| source.downcast_ref::<std::io::Error>())
        .map(std::io::Error::kind);
    assert_eq!(
        io_error,
        Some(std::io::ErrorKind::ConnectionReset),
        "{error:?}"
    );
    // A reset may lose the tail of what was in flight, never add to it.
    let lines = bytes.iter().filter(|&&b| b == b'\n').count();
    assert!(lines <= 50, "{lines} lines");
}

#[tokio::test]
async fn truncate_export_ends_a_200_with_the_terminated_early_line() {
    let sandbox = start(5_000, 2).await;
    sandbox
        .faults()
        .push("truncate-export:after-lines=20".parse().unwrap());
    let (status, bytes, failed) = read_export(&sandbox, &Call::get(EXPORT)).await;
    assert_eq!(status, 200);
    assert!(!failed, "the body ends cleanly");
    let text = String::from_utf8(bytes).unwrap();
    let lines: Vec<&str> = text.split('\n').collect();
    assert_eq!(lines.len(), 21);
    assert_eq!(lines[20], "export terminated early");
    for line in &lines[..20] {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
    // A short export is truncated at its end, so the fault always shows.
    sandbox
        .faults()
        .push("truncate-export:after-lines=100000".parse().unwrap());
    let reply = get(&sandbox, EXPORT).await;
    assert!(reply.body.ends_with(b"}}\nexport terminated early"));
}

#[tokio::test(start_paused = true)]
async fn slow_delays_responses_on_the_runtime_clock() {
    // The paused clock advances by itself while everything waits, so this test takes no
    // real time, yet the delay is observable on tokio's clock.
    let sandbox = start(100, 2).await;
    sandbox.faults().push("slow:30s,times=1".parse().unwrap());
    let before = tokio::time::Instant::now();
    assert_eq!(get(&sandbox, NAMES).await.status, 200);
    assert!(before.elapsed() >= Duration::from_secs(30));
    let before = tokio::time::Instant::now();
    assert_eq!(get(&sandbox, NAMES).await.status, 200);
    assert!(before.elapsed() < Duration::from_secs(30));
}

#[tokio::test]
async fn invalid_json_corrupts_one_successful_answer() {
    let sandbox = start(1_000, 2).await;
    sandbox.faults().push("invalid-json".parse().unwrap());
    // Error answers do not consume it.
    assert_eq!(
        get(&sandbox, "/api/query/events/names?project_id=1")
            .await
            .status,
        400
    );
    let corrupted = get(&sandbox, NAMES).await;
    assert_eq!(corrupted.status, 200);
    assert_eq!(corrupted.header("content-type"), Some("application/json"));
    assert!(serde_json::from_slice::<serde_json::Value>(&corrupted.body).is_err());
    assert!(get(&sandbox, NAMES).await.json().is_array());
}
