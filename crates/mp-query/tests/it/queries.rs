//! Each query against a scripted transport: the exact request it sends and what it makes of the answer.
//!
//! The expected requests follow the conformance vectors recorded from Mixpanel's official client; the query string
//! ends with the `project_id` and `query_origin` the client adds.

use mp_http::ErrorKind;
use mp_query::{
    ActivityFeedOptions, CountType, Error, EventCountsOptions, FrequencyOptions, FunnelOptions,
    JqlOptions, LiveQuery, NumericAggregateOptions, NumericBucketsOptions, PropertyCountsOptions,
    ReportType, RetentionOptions, SavedReportOptions, SegmentationOptions, Unit,
    normalize_on_expression,
};
use serde_json::json;

use crate::support::{block_on, scripted};

/// Runs `call` against a transport answering `answer` with 200, and checks the one request it sent.
#[track_caller]
fn check<T>(answer: &str, call: impl AsyncFnOnce(LiveQuery) -> T, expected_request: &str) -> T {
    let (client, transport) = scripted(&[(200, answer)]);
    let result = block_on(call(LiveQuery::new(client)));
    assert_eq!(transport.sent(), [expected_request]);
    result
}

#[test]
fn segmentation_sends_the_official_defaults_and_reads_the_series() {
    let answer = r#"{"data": {"series": ["2024-01-01", "2024-01-02"],
        "values": {"US": {"2024-01-01": 100, "2024-01-02": 200}, "CA": {"2024-01-01": 50, "2024-01-02": 150}}},
        "legend_size": 2}"#;
    let mut options = SegmentationOptions::new("Sign Up", "2024-01-01", "2024-01-02");
    options.on = Some(normalize_on_expression("country"));
    let result = check(
        answer,
        async |query| query.segmentation(&options).await.unwrap(),
        "GET /api/query/segmentation?event=Sign+Up&from_date=2024-01-01&to_date=2024-01-02&unit=day&type=general\
         &on=properties%5B%22country%22%5D&project_id=12345&query_origin=mp-rs",
    );
    assert_eq!(result.total, 500.into());
    assert_eq!(
        result.segment_property.as_deref(),
        Some(r#"properties["country"]"#)
    );
    assert_eq!(result.raw()["legend_size"], 2);

    let mut options = SegmentationOptions::new("Purchase", "2024-01-01", "2024-01-31");
    options.unit = Unit::Week;
    options.count_type = CountType::Unique;
    options.filter = Some(r#"properties["amount"] > 100"#.to_owned());
    // An empty `on` is not sent, as in the official client.
    options.on = Some(String::new());
    check(
        r#"{"data": {}}"#,
        async |query| query.segmentation(&options).await.unwrap(),
        "GET /api/query/segmentation?event=Purchase&from_date=2024-01-01&to_date=2024-01-31&unit=week&type=unique\
         &where=properties%5B%22amount%22%5D+%3E+100&project_id=12345&query_origin=mp-rs",
    );
}

#[test]
fn numeric_sum_and_average_send_on_and_unit() {
    let options = NumericBucketsOptions::new(
        "Purchase",
        "2024-01-01",
        "2024-01-02",
        r#"properties["amount"]"#,
    );
    check(
        r#"{"data": {"series": [], "values": {}}}"#,
        async |query| query.segmentation_numeric(&options).await.unwrap(),
        "GET /api/query/segmentation/numeric?event=Purchase&from_date=2024-01-01&to_date=2024-01-02\
         &on=properties%5B%22amount%22%5D&unit=day&type=general&project_id=12345&query_origin=mp-rs",
    );
    let mut options = NumericAggregateOptions::new(
        "Purchase",
        "2024-01-01",
        "2024-01-01",
        r#"properties["amount"]"#,
    );
    options.unit = Unit::Hour;
    let sum = check(
        r#"{"status": "ok", "computed_at": "2024-01-31T23:02:11", "results": {"2024-01-01": 1.5}}"#,
        async |query| query.segmentation_sum(&options).await.unwrap(),
        "GET /api/query/segmentation/sum?event=Purchase&from_date=2024-01-01&to_date=2024-01-01\
         &on=properties%5B%22amount%22%5D&unit=hour&project_id=12345&query_origin=mp-rs",
    );
    assert_eq!(sum.computed_at.as_deref(), Some("2024-01-31T23:02:11"));
    let average = check(
        r#"{"status": "ok", "results": {}}"#,
        async |query| query.segmentation_average(&options).await.unwrap(),
        "GET /api/query/segmentation/average?event=Purchase&from_date=2024-01-01&to_date=2024-01-01\
         &on=properties%5B%22amount%22%5D&unit=hour&project_id=12345&query_origin=mp-rs",
    );
    assert!(average.results.is_empty());
}

#[test]
fn funnel_sums_steps_over_dates_and_computes_conversions() {
    let answer = json!({"meta": {"dates": ["2024-03-01", "2024-03-02"]}, "data": {
        "2024-03-01": {"analysis": {}, "steps": [
            {"count": 600, "event": "Open"}, {"count": 400, "event": "Browse"},
            {"count": 100, "event": "Cart"}, {"count": 30, "event": "Buy"}]},
        "2024-03-02": {"analysis": {}, "steps": [
            {"count": 200, "event": "Open"}, {"count": 200, "event": "Browse"},
            {"count": 100, "event": "Cart"}, {"count": 10, "event": "Buy"}]}}})
    .to_string();
    let options = FunnelOptions::new(202, "2024-03-01", "2024-03-02");
    let result = check(
        &answer,
        async |query| query.funnel(&options).await.unwrap(),
        "GET /api/query/funnels?funnel_id=202&from_date=2024-03-01&to_date=2024-03-02&project_id=12345&query_origin=mp-rs",
    );
    let steps: Vec<(&str, i64, f64)> = result
        .steps
        .iter()
        .map(|step| (step.event.as_str(), step.count, step.conversion_rate))
        .collect();
    assert_eq!(
        steps,
        [
            ("Open", 800, 1.0),
            ("Browse", 600, 0.75),
            ("Cart", 200, 200.0 / 600.0),
            ("Buy", 40, 0.2)
        ]
    );
    assert_eq!(result.conversion_rate, 0.05);
    assert_eq!(result.funnel_name, "");

    // Segmented answers use `$overall`; missing names become `Step N`; `goal` stands in for `event`.
    let answer = r#"{"data": {"2024-03-01": {"$overall": [{"count": 10, "goal": "Visit"}, {"count": 0}, {"count": 0, "event": "Z"}],
        "Chrome": [{"count": 7, "event": "Visit"}]}}}"#;
    let mut options = FunnelOptions::new(7, "2024-03-01", "2024-03-01");
    options.unit = Some(Unit::Week);
    options.on = Some(r#"properties["$browser"]"#.to_owned());
    options.length = Some(14);
    options.length_unit = Some(Unit::Day);
    let result = check(
        answer,
        async |query| query.funnel(&options).await.unwrap(),
        "GET /api/query/funnels?funnel_id=7&from_date=2024-03-01&to_date=2024-03-01&unit=week\
         &on=properties%5B%22%24browser%22%5D&length=14&length_unit=day&project_id=12345&query_origin=mp-rs",
    );
    let steps: Vec<(&str, i64, f64)> = result
        .steps
        .iter()
        .map(|step| (step.event.as_str(), step.count, step.conversion_rate))
        .collect();
    assert_eq!(
        steps,
        [("Visit", 10, 1.0), ("Step 2", 0, 0.0), ("Z", 0, 0.0)]
    );
    assert_eq!(result.conversion_rate, 0.0);
}

#[test]
fn retention_sends_unit_or_interval_never_both() {
    let options = RetentionOptions::new("Signup", "Login", "2024-03-01", "2024-03-05");
    let result = check(
        r#"{"2024-03-02": {"counts": [25, 5], "first": 50}, "2024-03-01": {"counts": [50, 25, 10], "first": 100}}"#,
        async |query| query.retention(&options).await.unwrap(),
        "GET /api/query/retention?born_event=Signup&event=Login&from_date=2024-03-01&to_date=2024-03-05\
         &retention_type=birth&interval_count=10&unit=day&project_id=12345&query_origin=mp-rs",
    );
    let cohorts: Vec<(&str, i64, &[f64])> = result
        .cohorts
        .iter()
        .map(|cohort| {
            (
                cohort.date.as_str(),
                cohort.size,
                cohort.retention.as_slice(),
            )
        })
        .collect();
    assert_eq!(
        cohorts,
        [
            ("2024-03-01", 100, &[0.5, 0.25, 0.1][..]),
            ("2024-03-02", 50, &[0.5, 0.1][..])
        ]
    );

    let mut options = RetentionOptions::new("Signup", "Purchase", "2024-01-01", "2024-01-31");
    options.interval = 7;
    options.interval_count = 8;
    options.unit = Unit::Week;
    options.born_filter = Some(r#"properties["plan"] == "pro""#.to_owned());
    options.return_filter = Some(r#"properties["amount"] > 1"#.to_owned());
    check(
        "{}",
        async |query| query.retention(&options).await.unwrap(),
        "GET /api/query/retention?born_event=Signup&event=Purchase&from_date=2024-01-01&to_date=2024-01-31\
         &retention_type=birth&interval_count=8&interval=7\
         &born_where=properties%5B%22plan%22%5D+%3D%3D+%22pro%22&where=properties%5B%22amount%22%5D+%3E+1\
         &project_id=12345&query_origin=mp-rs",
    );
}

#[test]
fn jql_posts_script_and_params_as_a_form() {
    let mut options = JqlOptions::new("function main() { return Events(params); }");
    options.params = Some(json!({"from_date": "2024-01-01", "to_date": "2024-01-02"}));
    let result = check(
        r#"[{"key": ["Sign Up"], "value": 3}]"#,
        async |query| query.jql(&options).await.unwrap(),
        "POST /api/query/jql?project_id=12345&query_origin=mp-rs\n\
         application/x-www-form-urlencoded: script=function+main%28%29+%7B+return+Events%28params%29%3B+%7D\
         &params=%7B%22from_date%22%3A+%222024-01-01%22%2C+%22to_date%22%3A+%222024-01-02%22%7D",
    );
    assert_eq!(result.row_count, 1);
}

#[test]
fn event_and_property_counts_encode_lists_as_python_json() {
    let options = EventCountsOptions::new(
        vec!["Sign Up".to_owned(), "Purchase".to_owned()],
        "2024-01-01",
        "2024-01-31",
    );
    check(
        r#"{"data": {"series": [], "values": {}}, "legend_size": 0}"#,
        async |query| query.event_counts(&options).await.unwrap(),
        "GET /api/query/events?event=%5B%22Sign+Up%22%2C+%22Purchase%22%5D&type=general&unit=day\
         &from_date=2024-01-01&to_date=2024-01-31&project_id=12345&query_origin=mp-rs",
    );
    let mut options = PropertyCountsOptions::new("Purchase", "country", "2024-01-01", "2024-01-31");
    options.values = Some(vec!["US".to_owned(), "Côte d'Ivoire".to_owned()]);
    options.limit = Some(10);
    check(
        r#"{"data": {"series": [], "values": {}}, "legend_size": 0}"#,
        async |query| query.property_counts(&options).await.unwrap(),
        // values = ["US", "C\u00f4te d'Ivoire"]
        "GET /api/query/events/properties?event=Purchase&name=country&type=general&unit=day\
         &from_date=2024-01-01&to_date=2024-01-31&values=%5B%22US%22%2C+%22C%5Cu00f4te+d%27Ivoire%22%5D\
         &limit=10&project_id=12345&query_origin=mp-rs",
    );
}

#[test]
fn activity_feed_sends_ids_as_json_and_optional_dates() {
    let answer = r#"{"status": "ok", "results": {"events": [{"event": "Login", "properties": {"time": 1704240000, "$distinct_id": "u1"}}]}}"#;
    let result = check(
        answer,
        async |query| {
            query
                .activity_feed(&ActivityFeedOptions::new(vec![
                    "u1".to_owned(),
                    "u2".to_owned(),
                ]))
                .await
                .unwrap()
        },
        "GET /api/query/stream/query?distinct_ids=%5B%22u1%22%2C+%22u2%22%5D&project_id=12345&query_origin=mp-rs",
    );
    assert_eq!(result.event_count, 1);
    let mut options = ActivityFeedOptions::new(vec!["u1".to_owned()]);
    options.from_date = Some("2024-01-01".to_owned());
    options.to_date = Some("2024-01-31".to_owned());
    check(
        r#"{"status": "ok", "results": {"events": []}}"#,
        async |query| query.activity_feed(&options).await.unwrap(),
        "GET /api/query/stream/query?distinct_ids=%5B%22u1%22%5D&from_date=2024-01-01&to_date=2024-01-31\
         &project_id=12345&query_origin=mp-rs",
    );
    // An event without a time is not an event the result can hold.
    let (client, _) = scripted(&[(
        200,
        r#"{"results": {"events": [{"event": "x", "properties": {}}]}}"#,
    )]);
    let error = block_on(
        LiveQuery::new(client).activity_feed(&ActivityFeedOptions::new(vec!["u".to_owned()])),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "unexpected answer from `/stream/query`: event 0 has no numeric `properties.time`"
    );
}

#[test]
fn saved_reports_route_by_type_and_default_funnel_dates() {
    let report = |report_type: ReportType, from: Option<&str>, to: Option<&str>| {
        let mut options = SavedReportOptions::new(12345);
        options.report_type = report_type;
        options.from_date = from.map(str::to_owned);
        options.to_date = to.map(str::to_owned);
        options
    };
    let cases = [
        (
            report(ReportType::Insights, None, None),
            "/insights?bookmark_id=12345",
        ),
        (
            report(ReportType::Retention, None, None),
            "/retention?bookmark_id=12345",
        ),
        (
            report(ReportType::Flows, None, None),
            "/arb_funnels?bookmark_id=12345&query_type=flows_sankey",
        ),
        // Today is 2026-01-15 on the frozen clock.
        (
            report(ReportType::Funnels, None, None),
            "/funnels?funnel_id=12345&from_date=2025-12-16&to_date=2026-01-15",
        ),
        (
            report(ReportType::Funnels, Some("2023-06-15"), None),
            "/funnels?funnel_id=12345&from_date=2023-06-15&to_date=2023-07-15",
        ),
        (
            report(ReportType::Funnels, None, Some("2023-06-15")),
            "/funnels?funnel_id=12345&from_date=2023-05-16&to_date=2023-06-15",
        ),
        // A derived end is capped at today.
        (
            report(ReportType::Funnels, Some("2026-01-01"), None),
            "/funnels?funnel_id=12345&from_date=2026-01-01&to_date=2026-01-15",
        ),
    ];
    for (options, path) in cases {
        check(
            r#"{"computed_at": "2024-01-15T10:00:00", "data": {}, "meta": {}}"#,
            async |query| query.saved_report(&options).await.unwrap(),
            &format!("GET /api/query{path}&project_id=12345&query_origin=mp-rs"),
        );
    }
    let flows = check(
        r#"{"steps": [{"step": 1, "event": "Page View", "count": 1000}], "breakdowns": [], "overallConversionRate": 0.5,
            "computed_at": "2024-01-15T10:00:00", "metadata": {"version": "1.0"}}"#,
        async |query| query.saved_flows(99).await.unwrap(),
        "GET /api/query/arb_funnels?bookmark_id=99&query_type=flows_sankey&project_id=12345&query_origin=mp-rs",
    );
    assert_eq!(flows.overall_conversion_rate, 0.5);
    assert_eq!(flows.metadata, json!({"version": "1.0"}));
}

#[test]
fn frequency_sends_optional_filters_only_when_given() {
    let mut options = FrequencyOptions::new("2024-01-01", "2024-01-02");
    check(
        r#"{"data": {}}"#,
        async |query| query.frequency(&options).await.unwrap(),
        "GET /api/query/retention/addiction?from_date=2024-01-01&to_date=2024-01-02&unit=day&addiction_unit=hour\
         &project_id=12345&query_origin=mp-rs",
    );
    options.event = Some("App Open".to_owned());
    options.filter = Some(r#"properties["a"] == 1"#.to_owned());
    options.on = Some(r#"properties["b"]"#.to_owned());
    options.limit = Some(5);
    options.unit = Unit::Week;
    options.addiction_unit = Unit::Day;
    check(
        r#"{"data": {}}"#,
        async |query| query.frequency(&options).await.unwrap(),
        "GET /api/query/retention/addiction?from_date=2024-01-01&to_date=2024-01-02&unit=week&addiction_unit=day\
         &event=App+Open&where=properties%5B%22a%22%5D+%3D%3D+1&on=properties%5B%22b%22%5D&limit=5\
         &project_id=12345&query_origin=mp-rs",
    );
}

#[test]
fn wire_failures_keep_the_http_error() {
    let (client, _) = scripted(&[(400, r#"{"error": "Invalid funnel_id"}"#)]);
    let error =
        block_on(LiveQuery::new(client).funnel(&FunnelOptions::new(1, "2024-01-01", "2024-01-02")))
            .unwrap_err();
    assert!(matches!(
        error,
        Error::Request {
            endpoint: "/funnels",
            ..
        }
    ));
    assert!(!error.is_invalid_input());
    let http_error = error.http_error().unwrap();
    assert_eq!(*http_error.kind(), ErrorKind::BadRequest);
    assert_eq!(http_error.server_message(), Some("Invalid funnel_id"));
    // Parameters keep their JSON type, as the official client reports them.
    assert_eq!(http_error.params().unwrap()["funnel_id"], 1);
}
