//! The recorded sample answers (`tests/fixtures/anchor`, plus the shapes of the conformance vectors) read into typed
//! results, and the tables they render as.

use mp_query::{
    ActivityFeedResult, CountType, EventCountsResult, FlowsResult, FrequencyResult, FunnelResult,
    JqlResult, NumericAverageResult, NumericBucketResult, NumericSumResult, PropertyCountsResult,
    ReportType, RetentionResult, SavedReportResult, SegmentationResult, Table, Unit,
};
use serde_json::{Value, json};

use crate::support::fixture;

/// Checks a table against its headers and rows.
#[track_caller]
fn check_table(table: Table, headers: &[&str], rows: Value) {
    assert_eq!(table.headers, headers);
    assert_eq!(Value::from(table.rows), rows);
}

#[test]
fn segmentation_has_a_row_per_date_and_a_column_per_segment() {
    let raw = json!({"data": {"series": ["2024-01-01", "2024-01-02", "2024-01-03"],
        "values": {"US": {"2024-01-01": 100, "2024-01-02": 120}, "CA": {"2024-01-01": 50, "2024-01-03": 60}}},
        "legend_size": 2});
    let result = SegmentationResult::from_raw(
        raw.clone(),
        "Sign Up",
        "2024-01-01",
        "2024-01-03",
        Unit::Day,
        None,
    );
    assert_eq!(result.total, 330.into());
    assert_eq!(result.raw(), &raw);
    check_table(
        result.table(),
        &["date", "US", "CA"],
        json!([
            ["2024-01-01", 100, 50],
            ["2024-01-02", 120, null],
            ["2024-01-03", null, 60]
        ]),
    );
    // The JSON form carries every typed field, not the raw answer.
    assert_eq!(
        serde_json::to_value(&result).unwrap(),
        json!({"event": "Sign Up", "from_date": "2024-01-01", "to_date": "2024-01-03", "unit": "day",
               "segment_property": null, "total": 330, "series": raw["data"]["values"]})
    );
    // Answers of another shape read as empty, and the raw answer stays available.
    let odd =
        SegmentationResult::from_raw(json!({"data": "success"}), "e", "a", "b", Unit::Day, None);
    assert_eq!(odd.total, 0.into());
    assert!(odd.table().is_empty());
    assert_eq!(odd.raw()["data"], "success");
}

#[test]
fn numeric_buckets_sum_and_average_fixtures() {
    let buckets = NumericBucketResult::from_raw(
        fixture("segmentation_numeric.json"),
        "Purchase",
        "2024-01-01",
        "2024-01-03",
        r#"properties["amount"]"#,
        Unit::Day,
    );
    check_table(
        buckets.table(),
        &["date", "0 - 100", "100 - 200", "200 - 300"],
        json!([
            ["2024-01-01", 50, 35, 15],
            ["2024-01-02", 65, 42, 20],
            ["2024-01-03", 72, 55, 28]
        ]),
    );
    let sum = NumericSumResult::from_raw(
        fixture("segmentation_sum.json"),
        "Purchase",
        "2024-01-01",
        "2024-01-03",
        "amount",
        Unit::Day,
    );
    assert_eq!(
        sum.computed_at.as_deref(),
        Some("2024-01-31T23:02:11.666218+00:00")
    );
    check_table(
        sum.table(),
        &["date", "sum"],
        json!([
            ["2024-01-01", 15432.5],
            ["2024-01-02", 18976.25],
            ["2024-01-03", 22150.0]
        ]),
    );
    let average = NumericAverageResult::from_raw(
        fixture("segmentation_average.json"),
        "Purchase",
        "2024-01-01",
        "2024-01-03",
        "amount",
        Unit::Day,
    );
    check_table(
        average.table(),
        &["date", "average"],
        json!([
            ["2024-01-01", 54.32],
            ["2024-01-02", 62.15],
            ["2024-01-03", 71.28]
        ]),
    );
}

#[test]
fn event_and_property_counts_have_a_column_per_event_or_value() {
    let raw = json!({"data": {"series": ["2010-05-29", "2010-05-30"],
        "values": {"account-page": {"2010-05-30": 1}, "splash features": {"2010-05-29": 6, "2010-05-30": 4}}},
        "legend_size": 2});
    let events = EventCountsResult::from_raw(
        raw.clone(),
        vec!["account-page".to_owned(), "splash features".to_owned()],
        "2010-05-29",
        "2010-05-30",
        Unit::Day,
        CountType::General,
    );
    check_table(
        events.table(),
        &["date", "account-page", "splash features"],
        json!([["2010-05-29", null, 6], ["2010-05-30", 1, 4]]),
    );
    let values = PropertyCountsResult::from_raw(
        raw,
        "e",
        "p",
        "2010-05-29",
        "2010-05-30",
        Unit::Day,
        CountType::Unique,
    );
    assert_eq!(
        values.table().headers,
        ["date", "account-page", "splash features"]
    );
    assert_eq!(serde_json::to_value(&values).unwrap()["type"], "unique");
}

#[test]
fn funnel_has_a_row_per_step() {
    let raw = json!({"meta": {"dates": ["2024-03-01"]}, "data": {"2024-03-01": {"analysis": {}, "steps": [
        {"count": 1000, "event": "Visit"}, {"count": 500, "event": "Signup"}, {"count": 250, "event": "Purchase"}]}}});
    let result = FunnelResult::from_raw(raw, 101, "2024-03-01", "2024-03-01");
    assert_eq!(result.conversion_rate, 0.25);
    check_table(
        result.table(),
        &[
            "step",
            "event",
            "count",
            "conversion_rate",
            "overall_conversion_rate",
        ],
        json!([
            [1, "Visit", 1000, 1.0, 1.0],
            [2, "Signup", 500, 0.5, 0.5],
            [3, "Purchase", 250, 0.5, 0.25]
        ]),
    );
    let empty = FunnelResult::from_raw(json!({"data": []}), 1, "a", "b");
    assert!(empty.steps.is_empty());
    assert_eq!(empty.conversion_rate, 0.0);
}

#[test]
fn retention_has_a_row_per_cohort_and_a_column_per_interval() {
    let raw = json!({"2024-03-02": {"counts": [0], "first": 0}, "2024-03-01": {"counts": [40, 20], "first": 80}});
    let result = RetentionResult::from_raw(
        raw,
        "Signup",
        "Login",
        "2024-03-01",
        "2024-03-05",
        Unit::Day,
    );
    check_table(
        result.table(),
        &["cohort_date", "cohort_size", "period_0", "period_1"],
        json!([["2024-03-01", 80, 0.5, 0.25], ["2024-03-02", 0, 0.0, null]]),
    );
    assert_eq!(result.cohorts[0].counts, [40, 20]);
}

#[test]
fn frequency_fixture_has_a_row_per_date() {
    let result = FrequencyResult::from_raw(
        fixture("frequency.json"),
        None,
        "2024-01-01",
        "2024-01-03",
        Unit::Day,
        Unit::Hour,
    );
    let table = result.table();
    assert_eq!(table.headers.len(), 11);
    assert_eq!(
        (table.headers[1].as_str(), table.headers[10].as_str()),
        ("period_1", "period_10")
    );
    assert_eq!(
        Value::from(table.rows[0].clone()),
        json!(["2024-01-01", 305, 107, 60, 41, 32, 20, 12, 7, 4, 3])
    );
    assert_eq!(table.rows.len(), 3);
}

#[test]
fn activity_feed_fixture_has_a_row_per_event() {
    let result = ActivityFeedResult::from_raw(
        fixture("activity_feed.json"),
        vec!["user_123".to_owned(), "user_456".to_owned()],
        None,
        None,
    )
    .unwrap();
    assert_eq!(result.event_count, 4);
    let table = result.table();
    assert_eq!(
        table.headers,
        [
            "event",
            "time",
            "distinct_id",
            "plan",
            "$city",
            "amount",
            "product",
            "method",
            "page"
        ]
    );
    assert_eq!(
        Value::from(table.rows[1].clone()),
        json!([
            "Purchase",
            "2024-01-02T00:00:00+00:00",
            "user_123",
            null,
            null,
            99.99,
            "Widget",
            null,
            null
        ])
    );
}

#[test]
fn saved_report_fixture_reads_insights_and_other_types() {
    let insights = SavedReportResult::from_raw(fixture("insights.json"), 7, ReportType::Insights);
    assert_eq!(insights.from_date, "2024-01-01T00:00:00-08:00");
    assert_eq!(insights.headers, [json!("$event")]);
    let table = insights.table();
    assert_eq!(table.headers, ["date", "event", "count"]);
    assert_eq!(table.rows.len(), 6);
    assert_eq!(
        Value::from(table.rows[3].clone()),
        json!(["2024-01-01T00:00:00-08:00", "Purchase", 50])
    );

    let funnels = SavedReportResult::from_raw(
        json!({"computed_at": "c", "data": {"2024-01-02": {"steps": [{"event": "A", "count": 4}, {"event": "B", "count": 1}]},
                                            "2024-01-01": {"steps": [{"event": "A", "count": 4}, {"event": "B", "count": 3}]}}}),
        7,
        ReportType::Funnels,
    );
    assert_eq!(
        (funnels.from_date.as_str(), funnels.to_date.as_str()),
        ("2024-01-01", "2024-01-02")
    );
    assert_eq!(funnels.headers, [json!("$funnel")]);
    check_table(
        funnels.table(),
        &[
            "step",
            "event",
            "count",
            "conversion_rate",
            "overall_conversion_rate",
        ],
        json!([[1, "A", 8, 1.0, 1.0], [2, "B", 4, 0.5, 0.5]]),
    );

    let retention = SavedReportResult::from_raw(
        json!({"2024-01-01": {"first": 10, "counts": [5], "rates": [0.5]}}),
        7,
        ReportType::Retention,
    );
    assert_eq!(retention.headers, [json!("$retention")]);
    check_table(
        retention.table(),
        &["cohort_date", "cohort_size", "period_0"],
        json!([["2024-01-01", 10, 0.5]]),
    );

    let flows = SavedReportResult::from_raw(
        json!({"computed_at": "c", "steps": [{"step": 1, "event": "A"}], "breakdowns": [], "overallConversionRate": 0.0}),
        7,
        ReportType::Flows,
    );
    assert_eq!(
        flows.series,
        json!({"steps": [{"step": 1, "event": "A"}], "breakdowns": [], "overallConversionRate": 0.0})
    );
    check_table(flows.table(), &["step", "event"], json!([[1, "A"]]));
}

#[test]
fn flows_have_a_row_per_step() {
    let result = FlowsResult::from_raw(
        json!({"steps": [{"step": 1, "event": "Page View", "count": 1000}, {"step": 2, "event": "Add to Cart", "count": 500}],
               "breakdowns": [{"path": "Page View -> Add to Cart", "count": 500}], "overallConversionRate": 0.5,
               "computed_at": "2024-01-15T10:00:00"}),
        12345,
    );
    check_table(
        result.table(),
        &["step", "event", "count"],
        json!([[1, "Page View", 1000], [2, "Add to Cart", 500]]),
    );
}

#[test]
fn jql_rows_follow_the_official_reading() {
    let group_by = JqlResult::from_raw(
        json!([{"key": ["US", "iOS"], "value": 3}, {"key": ["CA", "Web"], "value": 1}]),
    );
    check_table(
        group_by.table(),
        &["key_0", "key_1", "value"],
        json!([["US", "iOS", 3], ["CA", "Web", 1]]),
    );
    let multi = JqlResult::from_raw(json!([{"key": ["US"], "value": [1, 2]}]));
    check_table(
        multi.table(),
        &["key_0", "value_0", "value_1"],
        json!([["US", 1, 2]]),
    );
    let records = JqlResult::from_raw(json!([[{"a": 1}, {"a": 2, "b": 3}]]));
    check_table(records.table(), &["a", "b"], json!([[1, null], [2, 3]]));
    let scalars = JqlResult::from_raw(json!([1, "x"]));
    check_table(scalars.table(), &["value"], json!([[1], ["x"]]));
    assert_eq!(scalars.row_count, 2);
}
