//! `/api/2.0/export` over loopback: the bytes, gzip, parameters.

use std::io::Read as _;

use super::client::{Call, get, start};

const RANGE: &str = "from_date=2024-03-29&to_date=2024-03-31";

#[tokio::test]
async fn export_sends_the_dataset_bytes_and_gzip_decodes_to_the_same() {
    let sandbox = start(6_000, 5).await;
    let target = format!("/api/2.0/export?project_id=1&{RANGE}");
    let plain = get(&sandbox, &target).await;
    assert_eq!(plain.status, 200);
    assert_eq!(
        plain.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(plain.header("content-encoding"), None);
    let mut expected = Vec::new();
    sandbox
        .dataset()
        .write_jsonl("2024-03-29", "2024-03-31", None, &mut expected)
        .unwrap();
    assert_eq!(plain.body, expected);

    let compressed = Call::get(&target)
        .header("accept-encoding", "gzip, deflate")
        .send(&sandbox)
        .await;
    assert_eq!(compressed.header("content-encoding"), Some("gzip"));
    assert!(compressed.body.len() < plain.body.len() / 3);
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&compressed.body[..])
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, expected);
}

#[tokio::test]
async fn small_bodies_are_not_compressed() {
    // The spec: gzip only when the body is over 1400 bytes.
    let sandbox = start(6_000, 5).await;
    let reply = Call::get(format!("/api/2.0/export?project_id=1&{RANGE}&limit=2"))
        .header("accept-encoding", "gzip")
        .send(&sandbox)
        .await;
    assert_eq!(reply.header("content-encoding"), None);
    assert_eq!(reply.body.iter().filter(|&&b| b == b'\n').count(), 2);
    let empty = Call::get("/api/2.0/export?project_id=1&from_date=2020-01-01&to_date=2020-01-02")
        .header("accept-encoding", "gzip")
        .send(&sandbox)
        .await;
    assert_eq!(empty.status, 200);
    assert!(empty.body.is_empty());
}

#[tokio::test]
async fn export_parameters() {
    let sandbox = start(6_000, 5).await;
    let lines = |body: &[u8]| -> Vec<serde_json::Value> {
        body.split(|&b| b == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| serde_json::from_slice(line).unwrap())
            .collect()
    };
    // `event` is a JSON array, with or without spaces (Mixpanel's client sends `", "`).
    let events = get(
        &sandbox,
        &format!(
            "/api/2.0/export?project_id=1&{RANGE}&event=%5B%22Purchase%22%2C%20%22Logout%22%5D"
        ),
    )
    .await;
    let records = lines(&events.body);
    assert!(!records.is_empty());
    assert!(
        records
            .iter()
            .all(|r| r["event"] == "Purchase" || r["event"] == "Logout")
    );
    let purchases = sandbox.dataset().count("Purchase", "2024-03-30").unwrap();
    assert!(purchases > 0);

    let limited = get(
        &sandbox,
        &format!("/api/2.0/export?project_id=1&{RANGE}&limit=7"),
    )
    .await;
    assert_eq!(lines(&limited.body).len(), 7);

    let millis = get(
        &sandbox,
        &format!("/api/2.0/export?project_id=1&{RANGE}&limit=1&time_in_ms=true"),
    )
    .await;
    let seconds = get(
        &sandbox,
        &format!("/api/2.0/export?project_id=1&{RANGE}&limit=1"),
    )
    .await;
    let ms = lines(&millis.body)[0]["properties"]["time"]
        .as_i64()
        .unwrap();
    let s = lines(&seconds.body)[0]["properties"]["time"]
        .as_i64()
        .unwrap();
    assert_eq!(ms / 1000, s);

    let filtered = get(
        &sandbox,
        &format!("/api/2.0/export?project_id=1&{RANGE}&where=properties%5B%22platform%22%5D%20%3D%3D%20%22ios%22"),
    )
    .await;
    let records = lines(&filtered.body);
    assert!(!records.is_empty());
    assert!(records.iter().all(|r| r["properties"]["platform"] == "ios"));

    for (query, message) in [
        (
            "from_date=2024-03-29",
            "Missing required parameter: to_date",
        ),
        ("from_date=2024-03-31&to_date=2024-03-29", "is after"),
        (
            "from_date=2024-03-29&to_date=2024-03-31&limit=100001",
            "limit cannot be over 100000",
        ),
        (
            "from_date=2024-03-29&to_date=2024-03-31&event=Purchase",
            "JSON array",
        ),
        (
            "from_date=2024-03-29&to_date=2024-03-31&where=%29",
            "invalid where",
        ),
    ] {
        let reply = get(&sandbox, &format!("/api/2.0/export?project_id=1&{query}")).await;
        assert_eq!(reply.status, 400, "{query}");
        assert!(
            reply.json()["error"].as_str().unwrap().contains(message),
            "{query}"
        );
    }
}

#[tokio::test]
async fn a_client_that_leaves_early_stops_the_generator() {
    // Read one chunk of a large export and hang up; the sandbox keeps serving.
    let sandbox = start(200_000, 3).await;
    let response =
        Call::get("/api/2.0/export?project_id=1&from_date=2024-03-29&to_date=2024-03-31")
            .open(&sandbox)
            .await
            .unwrap();
    let mut body = response.into_body();
    let first = http_body_util::BodyExt::frame(&mut body)
        .await
        .unwrap()
        .unwrap();
    assert!(first.is_data());
    drop(body);
    let reply = get(
        &sandbox,
        "/api/query/events/names?type=general&project_id=1",
    )
    .await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn compression_modes_for_benchmarks_keep_the_bytes() {
    let mut expected = Vec::new();
    for (mode, encoding) in [
        (crate::ExportCompression::GzipStored, Some("gzip")),
        (crate::ExportCompression::Identity, None),
    ] {
        let mut options = crate::SandboxOptions::new();
        options.events = 6_000;
        options.days = 5;
        options.end = Some(super::client::END.to_owned());
        options.export_compression = mode;
        let sandbox = crate::Sandbox::start(options).await.unwrap();
        if expected.is_empty() {
            sandbox
                .dataset()
                .write_jsonl("2024-03-29", "2024-03-31", None, &mut expected)
                .unwrap();
        }
        let reply = Call::get(format!("/api/2.0/export?project_id=1&{RANGE}"))
            .header("accept-encoding", "gzip")
            .send(&sandbox)
            .await;
        assert_eq!(reply.header("content-encoding"), encoding, "{mode:?}");
        let body = match encoding {
            Some(_) => {
                // Stored blocks: a little larger than the text, and still gzip to decode.
                assert!(reply.body.len() > expected.len());
                let mut decoded = Vec::new();
                flate2::read::GzDecoder::new(&reply.body[..])
                    .read_to_end(&mut decoded)
                    .unwrap();
                decoded
            }
            None => reply.body.to_vec(),
        };
        assert_eq!(body, expected, "{mode:?}");
    }
}
