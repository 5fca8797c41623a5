//! Each discovery call against a scripted transport: what goes on the wire, what comes back.

use std::error::Error as _;

use mp_discovery::{Discovery, EventType, EventsOptions, PropertyValuesOptions, TopEventsOptions};
use mp_http::{DEFAULT_QUERY_ORIGIN, ErrorKind};

use crate::support::{client, query};

/// Runs `call` against `script` and checks the query string of each request sent (without the always-present
/// `project_id` and `query_origin`).
#[track_caller]
fn check_requests<T>(
    script: &[(u16, &str)],
    call: impl AsyncFnOnce(Discovery) -> T,
    expected_queries: &[&[&str]],
) -> T {
    let (client, transport) = client(script);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = runtime.block_on(call(Discovery::new(client)));
    let urls = transport.urls();
    assert_eq!(
        urls.len(),
        expected_queries.len(),
        "requests sent: {urls:#?}"
    );
    let origin = format!("query_origin={DEFAULT_QUERY_ORIGIN}");
    for (url, expected) in urls.iter().zip(expected_queries) {
        let mut pairs = query(url);
        assert!(pairs.contains(&"project_id=12345".to_owned()), "{url}");
        assert!(pairs.contains(&origin), "{url}");
        pairs.retain(|pair| !pair.starts_with("project_id=") && !pair.starts_with("query_origin="));
        assert_eq!(pairs, *expected, "{url}");
    }
    result
}

#[test]
fn events_sends_mixpanel_defaults_with_today_from_the_clock() {
    let names = check_requests(
        &[(200, r#"["b","a"]"#)],
        async |discovery| discovery.events(&EventsOptions::default()).await.unwrap(),
        &[&[
            "type=general",
            "limit=5000",
            "from_date=2000-01-01",
            "to_date=2026-01-15",
        ]],
    );
    // Mixpanel's order, not sorted.
    assert_eq!(names, ["b", "a"]);
}

#[test]
fn events_sends_the_callers_values_even_when_empty() {
    let options = EventsOptions {
        event_type: EventType::Unique,
        limit: 42,
        from_date: Some(String::new()),
        to_date: Some("2024-12-31".to_owned()),
    };
    check_requests(
        &[(200, "[]")],
        async |discovery| discovery.events(&options).await.unwrap(),
        &[&[
            "type=unique",
            "limit=42",
            "from_date=",
            "to_date=2024-12-31",
        ]],
    );
}

#[test]
fn events_falls_back_to_the_allowed_history_after_a_date_range_403() {
    let names = check_requests(
        &[
            (
                403,
                r#"{"error":"Date range exceeds 90 days into the past"}"#,
            ),
            (200, r#"["e1"]"#),
        ],
        async |discovery| discovery.events(&EventsOptions::default()).await.unwrap(),
        &[
            &[
                "type=general",
                "limit=5000",
                "from_date=2000-01-01",
                "to_date=2026-01-15",
            ],
            &[
                "type=general",
                "limit=5000",
                "from_date=2025-10-17",
                "to_date=2026-01-15",
            ],
        ],
    );
    assert_eq!(names, ["e1"]);
}

#[test]
fn events_does_not_fall_back_after_the_callers_own_from_date() {
    let options = EventsOptions {
        from_date: Some("1999-01-01".to_owned()),
        ..EventsOptions::default()
    };
    let error = check_requests(
        &[(
            403,
            r#"{"error":"Date range exceeds 30 days into the past"}"#,
        )],
        async |discovery| discovery.events(&options).await.unwrap_err(),
        &[&[
            "type=general",
            "limit=5000",
            "from_date=1999-01-01",
            "to_date=2026-01-15",
        ]],
    );
    assert_eq!(*error.http_error().kind(), ErrorKind::Permission);
}

#[test]
fn events_does_not_fall_back_on_other_errors() {
    for (status, body) in [
        (
            400,
            r#"{"error":"Query exceeds 90 days lookback in custom filter"}"#,
        ),
        (403, r#"{"error":"Permission denied"}"#),
    ] {
        let error = check_requests(
            &[(status, body)],
            async |discovery| {
                discovery
                    .events(&EventsOptions::default())
                    .await
                    .unwrap_err()
            },
            &[&[
                "type=general",
                "limit=5000",
                "from_date=2000-01-01",
                "to_date=2026-01-15",
            ]],
        );
        assert_eq!(error.http_error().status(), Some(status));
    }
}

#[test]
fn errors_keep_the_http_error_as_their_source() {
    let error = check_requests(
        &[(401, r#"{"error":"Invalid credentials"}"#)],
        async |discovery| {
            discovery
                .events(&EventsOptions::default())
                .await
                .unwrap_err()
        },
        &[&[
            "type=general",
            "limit=5000",
            "from_date=2000-01-01",
            "to_date=2026-01-15",
        ]],
    );
    assert_eq!(
        error.to_string(),
        "discovery request `/events/names` failed"
    );
    let source = error
        .source()
        .unwrap()
        .downcast_ref::<mp_http::Error>()
        .unwrap();
    assert_eq!(*source.kind(), ErrorKind::Authentication);
    assert_eq!(source.server_message(), Some("Invalid credentials"));
    assert_eq!(source.params().unwrap()["limit"], 5000);
}

#[test]
fn event_properties_are_the_keys_in_mixpanels_order() {
    let names = check_requests(
        &[(200, r#"{"zeta": 1, "alpha": 2.5}"#)],
        async |discovery| discovery.event_properties("Sign Up").await.unwrap(),
        &[&["event=Sign+Up"]],
    );
    assert_eq!(names, ["zeta", "alpha"]);
}

#[test]
fn property_values_default_limit_and_optional_event() {
    let values = check_requests(
        &[(200, r#"["US", 3, true, null, 1.5]"#)],
        async |discovery| {
            discovery
                .property_values(&PropertyValuesOptions::new("country"))
                .await
                .unwrap()
        },
        &[&["name=country", "limit=255"]],
    );
    // As Python's `str()` prints them, like the official client.
    assert_eq!(values, ["US", "3", "True", "None", "1.5"]);
    let options = PropertyValuesOptions {
        event: Some("Purchase".to_owned()),
        limit: 10,
        ..PropertyValuesOptions::new("$browser")
    };
    check_requests(
        &[(200, "[]")],
        async |discovery| discovery.property_values(&options).await.unwrap(),
        &[&["name=%24browser", "limit=10", "event=Purchase"]],
    );
}

#[test]
fn top_events_sends_the_limit_only_when_given() {
    let top = check_requests(
        &[(
            200,
            r#"{"events": [{"amount": 75, "event": "pages", "percent_change": -0.2}], "type": "general"}"#,
        )],
        async |discovery| {
            discovery
                .top_events(&TopEventsOptions::default())
                .await
                .unwrap()
        },
        &[&["type=general"]],
    );
    assert_eq!(top.event_type, "general");
    assert_eq!(top.events.len(), 1);
    assert_eq!(
        (
            top.events[0].event.as_str(),
            top.events[0].count,
            top.events[0].percent_change
        ),
        ("pages", 75, -0.2)
    );
    let options = TopEventsOptions {
        event_type: EventType::Average,
        limit: Some(3),
    };
    check_requests(
        &[(200, r#"{"events": [], "type": "average"}"#)],
        async |discovery| discovery.top_events(&options).await.unwrap(),
        &[&["type=average", "limit=3"]],
    );
}

#[test]
fn funnels_and_cohorts_are_sorted_by_name_and_keep_the_answer() {
    let funnels = check_requests(
        &[(
            200,
            r#"[{"funnel_id": 2, "name": "Zebra"}, {"funnel_id": 1, "name": "Alpha"}]"#,
        )],
        async |discovery| discovery.funnels().await.unwrap(),
        &[&[]],
    );
    let names: Vec<(i64, &str)> = funnels
        .items()
        .iter()
        .map(|funnel| (funnel.funnel_id, funnel.name.as_str()))
        .collect();
    assert_eq!(names, [(1, "Alpha"), (2, "Zebra")]);
    assert_eq!(funnels.raw()[0]["name"], "Zebra");

    let cohorts = check_requests(
        &[(
            200,
            r#"[{"id": 2, "name": "Hidden", "count": 5, "description": "", "created": "2024-01-01 00:00:00", "is_visible": 0},
                {"id": 1, "name": "All", "count": 9, "description": "d", "created": "2024-01-02 00:00:00", "is_visible": 1}]"#,
        )],
        async |discovery| discovery.cohorts().await.unwrap(),
        &[&[]],
    );
    let cohorts: Vec<(&str, bool, i64)> = cohorts
        .items()
        .iter()
        .map(|cohort| (cohort.name.as_str(), cohort.is_visible, cohort.count))
        .collect();
    assert_eq!(cohorts, [("All", true, 9), ("Hidden", false, 5)]);
}

#[test]
fn unexpected_shapes_read_as_empty_like_the_official_client() {
    let names = check_requests(
        &[(200, r#"{"not": "a list"}"#)],
        async |discovery| discovery.events(&EventsOptions::default()).await.unwrap(),
        &[&[
            "type=general",
            "limit=5000",
            "from_date=2000-01-01",
            "to_date=2026-01-15",
        ]],
    );
    assert!(names.is_empty());
    let funnels = check_requests(
        &[(200, r#"{"error": null}"#)],
        async |discovery| discovery.funnels().await.unwrap(),
        &[&[]],
    );
    assert!(funnels.is_empty());
}
