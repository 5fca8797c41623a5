//! [`LiveQuery`]: one method per live query of Mixpanel's Query API, with the parameters and defaults of Mixpanel's
//! official client (recorded in the segmentation, funnels, retention and bookmarks conformance vectors).
//!
//! Every method first checks what it can without Mixpanel (dates well formed, in order and not in the future, at
//! least one user for an activity feed) and returns an error without sending anything when that fails. Then it
//! sends one request through the client, which adds `project_id`, `query_origin` and a pinned `workspace_id`,
//! authenticates and retries, and reads the answer into a typed result that keeps the answer itself (`raw()`).

use serde_json::Value;

use mp_http::{ApiFamily, Client, Request};

use crate::dates::{DateRange, check_not_future, check_range, parse_parameter};
use crate::options::SAVED_FUNNEL_DEFAULT_DAYS;
use crate::python_json::{dumps, dumps_string_list};
use crate::{
    ActivityFeedOptions, ActivityFeedResult, Date, Error, EventCountsOptions, EventCountsResult,
    FlowsResult, FrequencyOptions, FrequencyResult, FunnelOptions, FunnelResult, JqlOptions,
    JqlResult, NumericAggregateOptions, NumericAverageResult, NumericBucketResult,
    NumericBucketsOptions, NumericSumResult, PropertyCountsOptions, PropertyCountsResult,
    ReportType, RetentionOptions, RetentionResult, SavedReportOptions, SavedReportResult,
    SegmentationOptions, SegmentationResult,
};

/// Query parameters in the order they are sent, JSON-typed as the official client holds them (an error reports
/// `"funnel_id": 12345`, not `"12345"`).
type Params = Vec<(&'static str, Value)>;

/// Adds `key` when `value` is present and non-empty: the official client tests these with Python truthiness, so an
/// empty expression is never sent.
fn push_text(params: &mut Params, key: &'static str, value: Option<&String>) {
    if let Some(value) = value.filter(|value| !value.is_empty()) {
        params.push((key, Value::from(value.as_str())));
    }
}

/// The live query service.
///
/// Cheap to clone (the client is shared). Nothing is cached: analytics change all the time, and the official client
/// caches none of these either.
#[derive(Debug, Clone)]
pub struct LiveQuery {
    client: Client,
}

impl LiveQuery {
    /// A live query service over `client`.
    pub fn new(client: Client) -> LiveQuery {
        LiveQuery { client }
    }

    /// The client requests go through.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Today in UTC on the client's clock: what "in the future" and the default date ranges are measured from.
    pub fn today(&self) -> Date {
        Date::today(self.client.clock().as_ref())
    }

    async fn get(&self, endpoint: &'static str, params: Params) -> Result<Value, Error> {
        let request = Request::get(ApiFamily::Query, endpoint).params(params);
        self.client
            .json(request)
            .await
            .map_err(|source| Error::request(endpoint, source))
    }

    /// Counts of an event per time unit, optionally segmented (`GET /segmentation`).
    ///
    /// Sends `event`, `from_date`, `to_date`, `unit`, `type`, then `on` and `where` when given.
    pub async fn segmentation(
        &self,
        options: &SegmentationOptions,
    ) -> Result<SegmentationResult, Error> {
        check_range(&options.from_date, &options.to_date, self.today())?;
        let mut params: Params = vec![
            ("event", Value::from(options.event.as_str())),
            ("from_date", Value::from(options.from_date.as_str())),
            ("to_date", Value::from(options.to_date.as_str())),
            ("unit", Value::from(options.unit.as_str())),
            ("type", Value::from(options.count_type.as_str())),
        ];
        push_text(&mut params, "on", options.on.as_ref());
        push_text(&mut params, "where", options.filter.as_ref());
        let raw = self.get("/segmentation", params).await?;
        Ok(SegmentationResult::from_raw(
            raw,
            options.event.as_str(),
            options.from_date.as_str(),
            options.to_date.as_str(),
            options.unit,
            options.on.clone().filter(|on| !on.is_empty()),
        ))
    }

    /// Counts of an event in ranges (buckets) of a numeric property (`GET /segmentation/numeric`).
    ///
    /// Sends `event`, `from_date`, `to_date`, `on`, `unit`, `type`, then `where` when given.
    pub async fn segmentation_numeric(
        &self,
        options: &NumericBucketsOptions,
    ) -> Result<NumericBucketResult, Error> {
        check_range(&options.from_date, &options.to_date, self.today())?;
        let mut params: Params = vec![
            ("event", Value::from(options.event.as_str())),
            ("from_date", Value::from(options.from_date.as_str())),
            ("to_date", Value::from(options.to_date.as_str())),
            ("on", Value::from(options.on.as_str())),
            ("unit", Value::from(options.unit.as_str())),
            ("type", Value::from(options.count_type.as_str())),
        ];
        push_text(&mut params, "where", options.filter.as_ref());
        let raw = self.get("/segmentation/numeric", params).await?;
        Ok(NumericBucketResult::from_raw(
            raw,
            options.event.as_str(),
            options.from_date.as_str(),
            options.to_date.as_str(),
            options.on.as_str(),
            options.unit,
        ))
    }

    fn aggregate_params(options: &NumericAggregateOptions) -> Params {
        let mut params: Params = vec![
            ("event", Value::from(options.event.as_str())),
            ("from_date", Value::from(options.from_date.as_str())),
            ("to_date", Value::from(options.to_date.as_str())),
            ("on", Value::from(options.on.as_str())),
            ("unit", Value::from(options.unit.as_str())),
        ];
        push_text(&mut params, "where", options.filter.as_ref());
        params
    }

    /// The sum of a numeric property per time unit (`GET /segmentation/sum`).
    ///
    /// Sends `event`, `from_date`, `to_date`, `on`, `unit`, then `where` when given.
    pub async fn segmentation_sum(
        &self,
        options: &NumericAggregateOptions,
    ) -> Result<NumericSumResult, Error> {
        check_range(&options.from_date, &options.to_date, self.today())?;
        let raw = self
            .get("/segmentation/sum", Self::aggregate_params(options))
            .await?;
        Ok(NumericSumResult::from_raw(
            raw,
            options.event.as_str(),
            options.from_date.as_str(),
            options.to_date.as_str(),
            options.on.as_str(),
            options.unit,
        ))
    }

    /// The average of a numeric property per time unit (`GET /segmentation/average`).
    ///
    /// Sends `event`, `from_date`, `to_date`, `on`, `unit`, then `where` when given.
    pub async fn segmentation_average(
        &self,
        options: &NumericAggregateOptions,
    ) -> Result<NumericAverageResult, Error> {
        check_range(&options.from_date, &options.to_date, self.today())?;
        let raw = self
            .get("/segmentation/average", Self::aggregate_params(options))
            .await?;
        Ok(NumericAverageResult::from_raw(
            raw,
            options.event.as_str(),
            options.from_date.as_str(),
            options.to_date.as_str(),
            options.on.as_str(),
            options.unit,
        ))
    }

    /// A saved funnel's steps, counts and conversions (`GET /funnels`).
    ///
    /// Sends `funnel_id`, `from_date`, `to_date`, then `unit`, `on`, `where`, `length` and `length_unit` when given.
    /// An unknown funnel id is Mixpanel's to reject (a 400, as [`Error::Request`]).
    pub async fn funnel(&self, options: &FunnelOptions) -> Result<FunnelResult, Error> {
        check_range(&options.from_date, &options.to_date, self.today())?;
        let mut params: Params = vec![
            ("funnel_id", Value::from(options.funnel_id)),
            ("from_date", Value::from(options.from_date.as_str())),
            ("to_date", Value::from(options.to_date.as_str())),
        ];
        if let Some(unit) = options.unit {
            params.push(("unit", Value::from(unit.as_str())));
        }
        push_text(&mut params, "on", options.on.as_ref());
        push_text(&mut params, "where", options.filter.as_ref());
        if let Some(length) = options.length {
            params.push(("length", Value::from(length)));
        }
        if let Some(length_unit) = options.length_unit {
            params.push(("length_unit", Value::from(length_unit.as_str())));
        }
        let raw = self.get("/funnels", params).await?;
        Ok(FunnelResult::from_raw(
            raw,
            options.funnel_id,
            options.from_date.as_str(),
            options.to_date.as_str(),
        ))
    }

    /// Retention cohorts (`GET /retention`).
    ///
    /// Sends `born_event`, `event`, `from_date`, `to_date`, `retention_type`, `interval_count`, then either
    /// `interval` (when it is not 1) or `unit` (when it is), then `born_where` and `where` when given.
    pub async fn retention(&self, options: &RetentionOptions) -> Result<RetentionResult, Error> {
        check_range(&options.from_date, &options.to_date, self.today())?;
        if options.interval == 0 {
            return Err(Error::InvalidArgument {
                argument: "interval",
                reason: "an interval is at least 1 day".to_owned(),
            });
        }
        let mut params: Params = vec![
            ("born_event", Value::from(options.born_event.as_str())),
            ("event", Value::from(options.return_event.as_str())),
            ("from_date", Value::from(options.from_date.as_str())),
            ("to_date", Value::from(options.to_date.as_str())),
            (
                "retention_type",
                Value::from(options.retention_type.as_str()),
            ),
            ("interval_count", Value::from(options.interval_count)),
        ];
        // Mixpanel rejects `unit` and `interval` together: a custom interval is sent alone.
        if options.interval != 1 {
            params.push(("interval", Value::from(options.interval)));
        } else {
            params.push(("unit", Value::from(options.unit.as_str())));
        }
        push_text(&mut params, "born_where", options.born_filter.as_ref());
        push_text(&mut params, "where", options.return_filter.as_ref());
        let raw = self.get("/retention", params).await?;
        Ok(RetentionResult::from_raw(
            raw,
            options.born_event.as_str(),
            options.return_event.as_str(),
            options.from_date.as_str(),
            options.to_date.as_str(),
            options.unit,
        ))
    }

    /// Runs a JQL script (`POST /jql`, the script and its parameters as a form).
    ///
    /// Note that Mixpanel lists JQL as being in maintenance mode: it still answers but gets no new features, and
    /// Mixpanel's official client no longer offers it. The body is `script=…` then `params=…` (JSON text) when
    /// given; `project_id` and `query_origin` go in the query string. The request is read-only, so it is retried
    /// like a GET.
    pub async fn jql(&self, options: &JqlOptions) -> Result<JqlResult, Error> {
        const ENDPOINT: &str = "/jql";
        if options.script.trim().is_empty() {
            return Err(Error::InvalidArgument {
                argument: "script",
                reason: "the JQL script is empty".to_owned(),
            });
        }
        let mut form = vec![("script".to_owned(), options.script.clone())];
        if let Some(params) = &options.params {
            form.push(("params".to_owned(), dumps(params)));
        }
        let request = Request::post(ApiFamily::Query, ENDPOINT)
            .form_body(form)
            .retry_safe(true);
        let raw = self
            .client
            .json(request)
            .await
            .map_err(|source| Error::request(ENDPOINT, source))?;
        Ok(JqlResult::from_raw(raw))
    }

    /// Counts of several events per time unit (`GET /events`).
    ///
    /// Sends `event` (the names as a JSON list, `[]` when empty), `type`, `unit`, `from_date`, `to_date`.
    pub async fn event_counts(
        &self,
        options: &EventCountsOptions,
    ) -> Result<EventCountsResult, Error> {
        // An empty list is sent as `[]`, as the official client does: Mixpanel answers it with an empty series.
        check_range(&options.from_date, &options.to_date, self.today())?;
        let params: Params = vec![
            ("event", Value::from(dumps_string_list(&options.events))),
            ("type", Value::from(options.count_type.as_str())),
            ("unit", Value::from(options.unit.as_str())),
            ("from_date", Value::from(options.from_date.as_str())),
            ("to_date", Value::from(options.to_date.as_str())),
        ];
        let raw = self.get("/events", params).await?;
        Ok(EventCountsResult::from_raw(
            raw,
            options.events.clone(),
            options.from_date.as_str(),
            options.to_date.as_str(),
            options.unit,
            options.count_type,
        ))
    }

    /// Counts of each value of a property on an event, per time unit (`GET /events/properties`).
    ///
    /// Sends `event`, `name`, `type`, `unit`, `from_date`, `to_date`, then `values` (a JSON list) and `limit` when
    /// given.
    pub async fn property_counts(
        &self,
        options: &PropertyCountsOptions,
    ) -> Result<PropertyCountsResult, Error> {
        check_range(&options.from_date, &options.to_date, self.today())?;
        let mut params: Params = vec![
            ("event", Value::from(options.event.as_str())),
            ("name", Value::from(options.property.as_str())),
            ("type", Value::from(options.count_type.as_str())),
            ("unit", Value::from(options.unit.as_str())),
            ("from_date", Value::from(options.from_date.as_str())),
            ("to_date", Value::from(options.to_date.as_str())),
        ];
        if let Some(values) = &options.values {
            params.push(("values", Value::from(dumps_string_list(values))));
        }
        if let Some(limit) = options.limit {
            params.push(("limit", Value::from(limit)));
        }
        let raw = self.get("/events/properties", params).await?;
        Ok(PropertyCountsResult::from_raw(
            raw,
            options.event.as_str(),
            options.property.as_str(),
            options.from_date.as_str(),
            options.to_date.as_str(),
            options.unit,
            options.count_type,
        ))
    }

    /// A few users' events (`GET /stream/query`).
    ///
    /// Sends `distinct_ids` (a JSON list), then `from_date` and `to_date` when given. Note that Mixpanel lists this
    /// endpoint as being in maintenance mode.
    pub async fn activity_feed(
        &self,
        options: &ActivityFeedOptions,
    ) -> Result<ActivityFeedResult, Error> {
        if options.distinct_ids.is_empty() {
            return Err(Error::InvalidArgument {
                argument: "distinct_ids",
                reason: "name at least one user".to_owned(),
            });
        }
        let today = self.today();
        let from = options
            .from_date
            .as_deref()
            .map(|date| parse_parameter("from_date", date))
            .transpose()?;
        let to = options
            .to_date
            .as_deref()
            .map(|date| parse_parameter("to_date", date))
            .transpose()?;
        if let (Some(from), Some(to)) = (from, to) {
            DateRange::new(from, to)?;
        }
        match (from, to) {
            (_, Some(to)) => check_not_future("to_date", to, today)?,
            (Some(from), None) => check_not_future("from_date", from, today)?,
            (None, None) => {}
        }
        let mut params: Params = vec![(
            "distinct_ids",
            Value::from(dumps_string_list(&options.distinct_ids)),
        )];
        push_text(&mut params, "from_date", options.from_date.as_ref());
        push_text(&mut params, "to_date", options.to_date.as_ref());
        let raw = self.get("/stream/query", params).await?;
        ActivityFeedResult::from_raw(
            raw,
            options.distinct_ids.clone(),
            options.from_date.clone(),
            options.to_date.clone(),
        )
    }

    /// A saved report by bookmark id, on the endpoint of its type (see [`ReportType`]).
    ///
    /// Funnels need dates: a missing `from_date` is 30 days before `to_date`, a missing `to_date` is 30 days after
    /// `from_date` but not after today, and with neither the range is the last 30 days up to today. Other types
    /// ignore the dates.
    pub async fn saved_report(
        &self,
        options: &SavedReportOptions,
    ) -> Result<SavedReportResult, Error> {
        let bookmark_id = Value::from(options.bookmark_id);
        let (endpoint, params): (&'static str, Params) = match options.report_type {
            ReportType::Insights => ("/insights", vec![("bookmark_id", bookmark_id)]),
            ReportType::Funnels => {
                let range = self.saved_funnel_range(options)?;
                (
                    "/funnels",
                    vec![
                        ("funnel_id", bookmark_id),
                        ("from_date", Value::from(range.from_date())),
                        ("to_date", Value::from(range.to_date())),
                    ],
                )
            }
            ReportType::Retention => ("/retention", vec![("bookmark_id", bookmark_id)]),
            ReportType::Flows => (
                "/arb_funnels",
                vec![
                    ("bookmark_id", bookmark_id),
                    ("query_type", Value::from("flows_sankey")),
                ],
            ),
        };
        let raw = self.get(endpoint, params).await?;
        Ok(SavedReportResult::from_raw(
            raw,
            options.bookmark_id,
            options.report_type,
        ))
    }

    /// The dates a saved funnel report is queried for (see [`LiveQuery::saved_report`]).
    fn saved_funnel_range(&self, options: &SavedReportOptions) -> Result<DateRange, Error> {
        let today = self.today();
        let from = options
            .from_date
            .as_deref()
            .map(|date| parse_parameter("from_date", date))
            .transpose()?;
        let to = options
            .to_date
            .as_deref()
            .map(|date| parse_parameter("to_date", date))
            .transpose()?;
        let (from, to) = match (from, to) {
            (Some(from), Some(to)) => (from, to),
            (None, Some(to)) => (to.add_days(-SAVED_FUNNEL_DEFAULT_DAYS), to),
            (Some(from), None) => (from, from.add_days(SAVED_FUNNEL_DEFAULT_DAYS).min(today)),
            (None, None) => (today.add_days(-SAVED_FUNNEL_DEFAULT_DAYS), today),
        };
        let range = DateRange::new(from, to)?;
        check_not_future("to_date", to, today)?;
        Ok(range)
    }

    /// A saved Flows report (`GET /arb_funnels`, `query_type=flows_sankey`).
    pub async fn saved_flows(&self, bookmark_id: u64) -> Result<FlowsResult, Error> {
        let params: Params = vec![
            ("bookmark_id", Value::from(bookmark_id)),
            ("query_type", Value::from("flows_sankey")),
        ];
        let raw = self.get("/arb_funnels", params).await?;
        Ok(FlowsResult::from_raw(raw, bookmark_id))
    }

    /// How many users were active in 1, 2, … sub-periods of each period (`GET /retention/addiction`).
    ///
    /// Sends `from_date`, `to_date`, `unit`, `addiction_unit`, then `event`, `where`, `on` and `limit` when given.
    pub async fn frequency(&self, options: &FrequencyOptions) -> Result<FrequencyResult, Error> {
        check_range(&options.from_date, &options.to_date, self.today())?;
        let mut params: Params = vec![
            ("from_date", Value::from(options.from_date.as_str())),
            ("to_date", Value::from(options.to_date.as_str())),
            ("unit", Value::from(options.unit.as_str())),
            (
                "addiction_unit",
                Value::from(options.addiction_unit.as_str()),
            ),
        ];
        push_text(&mut params, "event", options.event.as_ref());
        push_text(&mut params, "where", options.filter.as_ref());
        push_text(&mut params, "on", options.on.as_ref());
        if let Some(limit) = options.limit {
            params.push(("limit", Value::from(limit)));
        }
        let raw = self.get("/retention/addiction", params).await?;
        Ok(FrequencyResult::from_raw(
            raw,
            options.event.clone().filter(|event| !event.is_empty()),
            options.from_date.as_str(),
            options.to_date.as_str(),
            options.unit,
            options.addiction_unit,
        ))
    }
}
