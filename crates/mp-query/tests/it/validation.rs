//! Input that can be refused locally is refused before anything is sent: the transport here fails the test if it is
//! called at all.

use std::sync::Arc;

use mp_query::{
    ActivityFeedOptions, Date, DateRange, Error, EventCountsOptions, FrequencyOptions,
    FunnelOptions, JqlOptions, LiveQuery, NumericAggregateOptions, NumericBucketsOptions,
    PropertyCountsOptions, ReportType, RetentionOptions, SavedReportOptions, SegmentationOptions,
};

use crate::support::{NoRequests, block_on, client_over};

fn query() -> LiveQuery {
    LiveQuery::new(client_over(Arc::new(NoRequests)))
}

/// Runs `call` on a service whose transport must not be used, and returns the error's message.
#[track_caller]
fn check_refused<T: std::fmt::Debug>(
    call: impl AsyncFnOnce(LiveQuery) -> Result<T, Error>,
    expected: &str,
) {
    let error = block_on(call(query())).unwrap_err();
    assert!(error.is_invalid_input(), "{error:?}");
    assert!(error.http_error().is_none());
    assert_eq!(error.to_string(), expected);
}

#[test]
fn malformed_reversed_and_future_dates_are_refused_by_every_dated_query() {
    // Today is 2026-01-15 (UTC) on the frozen clock; tomorrow is still today east of UTC+12.
    let cases = [
        (
            "2024-13-01",
            "2024-12-31",
            "`from_date` is `2024-13-01`, which is not a date written YYYY-MM-DD",
        ),
        (
            "2024-01-01",
            "31/01/2024",
            "`to_date` is `31/01/2024`, which is not a date written YYYY-MM-DD",
        ),
        (
            "2024-02-01",
            "2024-01-01",
            "`from_date` 2024-02-01 is after `to_date` 2024-01-01",
        ),
        (
            "2026-01-01",
            "2026-01-17",
            "`to_date` 2026-01-17 is in the future (today is 2026-01-15 UTC)",
        ),
    ];
    for (from, to, expected) in cases {
        check_refused(
            async |query| {
                query
                    .segmentation(&SegmentationOptions::new("e", from, to))
                    .await
            },
            expected,
        );
        check_refused(
            async |query| {
                query
                    .segmentation_numeric(&NumericBucketsOptions::new("e", from, to, "p"))
                    .await
            },
            expected,
        );
        check_refused(
            async |query| {
                query
                    .segmentation_sum(&NumericAggregateOptions::new("e", from, to, "p"))
                    .await
            },
            expected,
        );
        check_refused(
            async |query| {
                query
                    .segmentation_average(&NumericAggregateOptions::new("e", from, to, "p"))
                    .await
            },
            expected,
        );
        check_refused(
            async |query| query.funnel(&FunnelOptions::new(1, from, to)).await,
            expected,
        );
        check_refused(
            async |query| {
                query
                    .retention(&RetentionOptions::new("a", "b", from, to))
                    .await
            },
            expected,
        );
        check_refused(
            async |query| {
                query
                    .event_counts(&EventCountsOptions::new(vec!["e".to_owned()], from, to))
                    .await
            },
            expected,
        );
        check_refused(
            async |query| {
                query
                    .property_counts(&PropertyCountsOptions::new("e", "p", from, to))
                    .await
            },
            expected,
        );
        check_refused(
            async |query| query.frequency(&FrequencyOptions::new(from, to)).await,
            expected,
        );
        let mut feed = ActivityFeedOptions::new(vec!["u".to_owned()]);
        feed.from_date = Some(from.to_owned());
        feed.to_date = Some(to.to_owned());
        check_refused(async |query| query.activity_feed(&feed).await, expected);
        let mut report = SavedReportOptions::new(1);
        report.report_type = ReportType::Funnels;
        report.from_date = Some(from.to_owned());
        report.to_date = Some(to.to_owned());
        check_refused(async |query| query.saved_report(&report).await, expected);
    }
}

#[test]
fn empty_user_lists_scripts_and_intervals_are_refused() {
    check_refused(
        async |query| {
            query
                .activity_feed(&ActivityFeedOptions::new(Vec::new()))
                .await
        },
        "invalid argument `distinct_ids`: name at least one user",
    );
    check_refused(
        async |query| query.jql(&JqlOptions::new("  \n")).await,
        "invalid argument `script`: the JQL script is empty",
    );
    let mut retention = RetentionOptions::new("a", "b", "2024-01-01", "2024-01-02");
    retention.interval = 0;
    check_refused(
        async |query| query.retention(&retention).await,
        "invalid argument `interval`: an interval is at least 1 day",
    );
}

#[test]
fn relative_ranges_come_from_the_clients_clock() {
    let query = query();
    assert_eq!(query.today(), Date::parse("2026-01-15").unwrap());
    let range = DateRange::last(30, query.today()).unwrap();
    assert_eq!(
        (range.from_date(), range.to_date()),
        ("2025-12-17".to_owned(), "2026-01-15".to_owned())
    );
    assert_eq!(
        DateRange::last(0, query.today()).unwrap_err().to_string(),
        "invalid argument `last`: a range must cover at least one day"
    );
}
