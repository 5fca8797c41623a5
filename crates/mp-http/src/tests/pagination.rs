//! App API cursor pagination, case by case as the `pagination` vectors
//! describe it.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::tests::{FakeAnswer, FakeTransport, fake_client, virtual_clock};
use crate::{Error, ErrorKind, RetryPolicy};

fn page(results: Value, next_cursor: Value) -> FakeAnswer {
    FakeAnswer::json(
        200,
        json!({"status": "ok", "results": results,
               "pagination": {"page_size": 100, "next_cursor": next_cursor}}),
    )
}

/// Paginates `/projects/12345/items` with `params` over `answers` and the
/// official client's retry policy; returns the items (or error) and the
/// query string of every request sent.
async fn check(
    params: Vec<(String, Value)>,
    page_size: u32,
    answers: Vec<FakeAnswer>,
) -> (Result<Vec<Value>, Error>, Vec<String>) {
    let n_answers = answers.len();
    let transport = FakeTransport::new(answers);
    let client = fake_client(Arc::clone(&transport), &virtual_clock())
        .with_query_origin("mixpanel-headless")
        .with_retry_policy(RetryPolicy::mixpanel_headless_compatible(3))
        .build()
        .unwrap();
    let result = client
        .paginate("/projects/12345/items", params, page_size)
        .collect_all()
        .await;
    let requests = transport.requests();
    assert_eq!(requests.len(), n_answers, "exactly the scripted requests");
    let queries = requests
        .iter()
        .map(|request| {
            let (path, query) = request.url.split_once('?').unwrap();
            assert_eq!(path, "https://mixpanel.com/api/app/projects/12345/items");
            // No project_id: the App API path carries it.
            query.to_owned()
        })
        .collect();
    (result, queries)
}

#[tokio::test]
async fn follows_next_cursor_until_null() {
    let (result, queries) = check(
        vec![],
        0,
        vec![
            page(json!([{"id": 1}]), json!("c2")),
            page(json!([{"id": 2}]), json!("c3")),
            page(json!([{"id": 3}]), Value::Null),
        ],
    )
    .await;
    assert_eq!(
        result.unwrap(),
        [json!({"id": 1}), json!({"id": 2}), json!({"id": 3})]
    );
    assert_eq!(
        queries,
        [
            "page_size=100&query_origin=mixpanel-headless",
            "page_size=100&cursor=c2&query_origin=mixpanel-headless",
            "page_size=100&cursor=c3&query_origin=mixpanel-headless",
        ]
    );
}

#[tokio::test]
async fn caller_params_page_size_and_query_origin() {
    let (result, queries) = check(
        vec![
            ("include_archived".to_owned(), json!("true")),
            ("query_origin".to_owned(), json!("spoofed-by-caller")),
        ],
        25,
        vec![page(json!([]), Value::Null)],
    )
    .await;
    assert_eq!(result.unwrap(), Vec::<Value>::new());
    assert_eq!(
        queries,
        ["include_archived=true&query_origin=mixpanel-headless&page_size=25"]
    );
}

#[tokio::test]
async fn missing_or_null_results_and_pagination() {
    let cases = [
        // No pagination object: one page.
        (
            vec![FakeAnswer::json(
                200,
                json!({"status": "ok", "results": [{"id": 1}, {"id": 2}]}),
            )],
            json!([{"id": 1}, {"id": 2}]),
        ),
        // No results key: an empty page.
        (
            vec![FakeAnswer::json(200, json!({"status": "ok"}))],
            json!([]),
        ),
        // Null results: an empty page, and its cursor is still followed.
        (
            vec![
                page(Value::Null, json!("c2")),
                page(json!([{"id": 1}]), Value::Null),
            ],
            json!([{"id": 1}]),
        ),
        // An empty cursor ends the list.
        (
            vec![page(json!([{"id": 1}]), json!(""))],
            json!([{"id": 1}]),
        ),
    ];
    for (answers, expected) in cases {
        let (result, _) = check(vec![], 0, answers).await;
        assert_eq!(Value::Array(result.unwrap()), expected);
    }
}

#[tokio::test]
async fn results_of_the_wrong_type_are_invalid() {
    for (results, type_name) in [
        (json!(true), "bool"),
        (json!({"id": 1}), "dict"),
        (json!(42), "int"),
        (json!(4.5), "float"),
        (json!("abc"), "str"),
    ] {
        let (result, _) = check(vec![], 0, vec![page(results, Value::Null)]).await;
        let error = result.unwrap_err();
        assert_eq!(*error.kind(), ErrorKind::InvalidResponse);
        assert_eq!(
            Value::Object(error.details().clone()),
            json!({"path": "/projects/12345/items", "results_type": type_name})
        );
    }
}

#[tokio::test]
async fn non_json_page_is_invalid_with_its_content_type() {
    let (result, _) = check(
        vec![],
        0,
        vec![FakeAnswer::text(
            200,
            "text/html",
            "<html><body>Error</body></html>",
        )],
    )
    .await;
    let error = result.unwrap_err();
    assert_eq!(*error.kind(), ErrorKind::InvalidResponse);
    assert_eq!(error.details()["content_type"], json!("text/html"));
}

#[tokio::test]
async fn same_cursor_twice_is_an_error_not_a_loop() {
    let (result, queries) = check(
        vec![],
        0,
        vec![
            page(json!([{"id": 1}]), json!("c2")),
            page(json!([{"id": 2}]), json!("c2")),
        ],
    )
    .await;
    let error = result.unwrap_err();
    assert_eq!(*error.kind(), ErrorKind::InvalidResponse);
    assert!(
        error.to_string().contains("same cursor `c2` twice"),
        "{error}"
    );
    assert_eq!(queries.len(), 2);
}

#[tokio::test]
async fn status_error_in_a_page_is_an_error() {
    let (result, _) = check(
        vec![],
        0,
        vec![FakeAnswer::json(
            200,
            json!({"status": "error", "error": "bad cursor"}),
        )],
    )
    .await;
    let error = result.unwrap_err();
    assert_eq!(*error.kind(), ErrorKind::BadRequest);
    assert_eq!(error.server_message(), Some("bad cursor"));
}

fn rate_limited(retry_after: &str) -> FakeAnswer {
    FakeAnswer::json(429, json!({"error": "rate_limited"})).with_header("retry-after", retry_after)
}

#[tokio::test]
async fn rate_limits_are_retried_and_hostile_retry_after_falls_back() {
    for hostile in [
        "", "abc", "inf", "nan", "NaN", "-0.5", "-inf", "-1", "1,000", "1e9", "999999", "86400",
        "30",
    ] {
        let (result, queries) = check(
            vec![],
            0,
            vec![rate_limited(hostile), page(json!([{"id": 1}]), Value::Null)],
        )
        .await;
        assert_eq!(result.unwrap(), [json!({"id": 1})], "{hostile:?}");
        assert_eq!(queries.len(), 2);
    }
}

#[tokio::test]
async fn exhausted_rate_limit_mid_pagination_reports_the_raw_body() {
    for (retry_after, reported) in [
        ("30", Some(30)),
        ("45", Some(45)),
        ("inf", None),
        ("-5", None),
    ] {
        let (result, queries) = check(
            vec![],
            0,
            vec![
                page(json!([{"id": 1}]), json!("c2")),
                rate_limited(retry_after),
                rate_limited(retry_after),
                rate_limited(retry_after),
                rate_limited(retry_after),
            ],
        )
        .await;
        let error = result.unwrap_err();
        assert_eq!(*error.kind(), ErrorKind::RateLimited);
        assert_eq!(error.status(), Some(429));
        assert_eq!(error.attempts(), 4);
        assert_eq!(error.response_text(), Some(r#"{"error":"rate_limited"}"#));
        assert_eq!(
            error.url(),
            Some("https://mixpanel.com/api/app/projects/12345/items")
        );
        assert_eq!(error.retry_after().map(|wait| wait.as_secs()), reported);
        assert!(
            queries[1..]
                .iter()
                .all(|query| query.contains("&cursor=c2&"))
        );
    }
}

#[tokio::test]
async fn other_errors_mid_pagination_end_it() {
    for (status, kind) in [(401, ErrorKind::Authentication), (500, ErrorKind::Server)] {
        let (result, queries) = check(
            vec![],
            0,
            vec![
                page(json!([{"id": 1}]), json!("c2")),
                FakeAnswer::json(status, json!({"error": "nope"})),
            ],
        )
        .await;
        let error = result.unwrap_err();
        assert_eq!(*error.kind(), kind);
        assert_eq!(error.response_text(), Some(r#"{"error":"nope"}"#));
        assert_eq!(queries.len(), 2);
    }
}

#[tokio::test]
async fn next_item_walks_pages_lazily() {
    let transport = FakeTransport::new(vec![
        page(json!([{"id": 1}, {"id": 2}]), json!("c2")),
        page(json!([{"id": 3}]), Value::Null),
    ]);
    let client = fake_client(Arc::clone(&transport), &virtual_clock())
        .build()
        .unwrap();
    let mut paginator = client.paginate("/projects/12345/items", vec![], 2);
    assert_eq!(paginator.next_item().await.unwrap(), Some(json!({"id": 1})));
    assert_eq!(transport.requests().len(), 1);
    assert_eq!(paginator.next_item().await.unwrap(), Some(json!({"id": 2})));
    assert_eq!(paginator.next_item().await.unwrap(), Some(json!({"id": 3})));
    assert_eq!(paginator.next_item().await.unwrap(), None);
    assert_eq!(paginator.n_pages(), 2);
    assert_eq!(transport.requests().len(), 2);
}
