//! Results of the time-series queries: segmentation and its numeric, sum and average variants, event counts and
//! property counts.
//!
//! Four of them share Mixpanel's legacy envelope `{"data": {"series": [dates], "values": {key: {date: count}}},
//! "legend_size": n}`, where the keys are segments, numeric buckets, events or property values; their tables have one
//! row per date and one column per key. Sum and average answer `{"status", "computed_at"?, "results": {date: x}}`;
//! their tables have one row per date and one value column.

use serde::Serialize;
use serde_json::{Map, Number, Value};

use crate::json_util::{NumberSum, object_at};
use crate::{CountType, Table, Unit};

/// `data.values` of a legacy series answer: key (segment, bucket, event or value) → date → count.
fn series_values(raw: &Value) -> Map<String, Value> {
    raw.get("data")
        .map(|data| object_at(data, "values").clone())
        .unwrap_or_default()
}

/// Every date of a series answer, ascending: the dates of `data.series` and any date that has a count.
fn series_dates(raw: &Value, values: &Map<String, Value>) -> Vec<String> {
    let mut dates: Vec<String> = raw
        .pointer("/data/series")
        .and_then(Value::as_array)
        .map(|series| {
            series
                .iter()
                .filter_map(|date| date.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    for counts in values.values() {
        if let Some(counts) = counts.as_object() {
            dates.extend(counts.keys().cloned());
        }
    }
    dates.sort();
    dates.dedup();
    dates
}

/// One row per date, one column per key of `values` (in Mixpanel's order); a missing count is `null`.
fn series_table(raw: &Value, values: &Map<String, Value>) -> Table {
    let mut headers = vec!["date".to_owned()];
    headers.extend(values.keys().cloned());
    let mut table = Table::new(headers);
    for date in series_dates(raw, values) {
        let mut row = vec![Value::String(date.clone())];
        row.extend(
            values
                .values()
                .map(|counts| counts.get(&date).cloned().unwrap_or(Value::Null)),
        );
        table.push_row(row);
    }
    table
}

/// One row per date of `results`, with the value in a column named `column`.
fn results_table(results: &Map<String, Value>, column: &str) -> Table {
    let mut table = Table::new(vec!["date".to_owned(), column.to_owned()]);
    let mut dates: Vec<&String> = results.keys().collect();
    dates.sort();
    for date in dates {
        table.push_row(vec![Value::String(date.clone()), results[date].clone()]);
    }
    table
}

/// What [`crate::LiveQuery::segmentation`] returns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentationResult {
    /// The event queried.
    pub event: String,
    /// First day.
    pub from_date: String,
    /// Last day.
    pub to_date: String,
    /// Series granularity.
    pub unit: Unit,
    /// The `on` expression as given, if the query was segmented.
    pub segment_property: Option<String>,
    /// Every count added up, over all segments and dates (an integer unless a count is fractional).
    pub total: Number,
    /// Segment → date → count: `data.values` of the answer. An unsegmented query has one segment, named after the
    /// event.
    pub series: Map<String, Value>,
    #[serde(skip)]
    raw: Value,
}

impl SegmentationResult {
    /// Reads Mixpanel's answer to a segmentation query. Missing parts read as empty.
    pub fn from_raw(
        raw: Value,
        event: impl Into<String>,
        from_date: impl Into<String>,
        to_date: impl Into<String>,
        unit: Unit,
        segment_property: Option<String>,
    ) -> SegmentationResult {
        let series = series_values(&raw);
        let total = series
            .values()
            .filter_map(Value::as_object)
            .flat_map(|counts| counts.values())
            .fold(NumberSum::new(), NumberSum::add)
            .to_number();
        SegmentationResult {
            event: event.into(),
            from_date: from_date.into(),
            to_date: to_date.into(),
            unit,
            segment_property,
            total,
            series,
            raw,
        }
    }

    /// Mixpanel's answer, as it came.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// Every date of the series, ascending.
    pub fn dates(&self) -> Vec<String> {
        series_dates(&self.raw, &self.series)
    }

    /// One row per date (`date`), one column per segment.
    pub fn table(&self) -> Table {
        series_table(&self.raw, &self.series)
    }
}

/// What [`crate::LiveQuery::segmentation_numeric`] returns: counts per numeric bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NumericBucketResult {
    /// The event queried.
    pub event: String,
    /// First day.
    pub from_date: String,
    /// Last day.
    pub to_date: String,
    /// The bucketed property expression.
    pub property_expr: String,
    /// Series granularity.
    pub unit: Unit,
    /// Bucket label (`"0 - 100"`) → date → count.
    pub series: Map<String, Value>,
    #[serde(skip)]
    raw: Value,
}

impl NumericBucketResult {
    /// Reads Mixpanel's answer to a numeric segmentation query.
    pub fn from_raw(
        raw: Value,
        event: impl Into<String>,
        from_date: impl Into<String>,
        to_date: impl Into<String>,
        property_expr: impl Into<String>,
        unit: Unit,
    ) -> NumericBucketResult {
        NumericBucketResult {
            event: event.into(),
            from_date: from_date.into(),
            to_date: to_date.into(),
            property_expr: property_expr.into(),
            unit,
            series: series_values(&raw),
            raw,
        }
    }

    /// Mixpanel's answer, as it came.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// One row per date (`date`), one column per bucket.
    pub fn table(&self) -> Table {
        series_table(&self.raw, &self.series)
    }
}

/// What [`crate::LiveQuery::segmentation_sum`] returns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NumericSumResult {
    /// The event queried.
    pub event: String,
    /// First day.
    pub from_date: String,
    /// Last day.
    pub to_date: String,
    /// The summed property expression.
    pub property_expr: String,
    /// Series granularity.
    pub unit: Unit,
    /// Date → sum.
    pub results: Map<String, Value>,
    /// When Mixpanel computed the answer, if it said.
    pub computed_at: Option<String>,
    #[serde(skip)]
    raw: Value,
}

impl NumericSumResult {
    /// Reads Mixpanel's answer to a sum query.
    pub fn from_raw(
        raw: Value,
        event: impl Into<String>,
        from_date: impl Into<String>,
        to_date: impl Into<String>,
        property_expr: impl Into<String>,
        unit: Unit,
    ) -> NumericSumResult {
        NumericSumResult {
            event: event.into(),
            from_date: from_date.into(),
            to_date: to_date.into(),
            property_expr: property_expr.into(),
            unit,
            results: object_at(&raw, "results").clone(),
            computed_at: raw
                .get("computed_at")
                .and_then(Value::as_str)
                .map(str::to_owned),
            raw,
        }
    }

    /// Mixpanel's answer, as it came.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// One row per date: `date`, `sum`.
    pub fn table(&self) -> Table {
        results_table(&self.results, "sum")
    }
}

/// What [`crate::LiveQuery::segmentation_average`] returns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NumericAverageResult {
    /// The event queried.
    pub event: String,
    /// First day.
    pub from_date: String,
    /// Last day.
    pub to_date: String,
    /// The averaged property expression.
    pub property_expr: String,
    /// Series granularity.
    pub unit: Unit,
    /// Date → average.
    pub results: Map<String, Value>,
    #[serde(skip)]
    raw: Value,
}

impl NumericAverageResult {
    /// Reads Mixpanel's answer to an average query.
    pub fn from_raw(
        raw: Value,
        event: impl Into<String>,
        from_date: impl Into<String>,
        to_date: impl Into<String>,
        property_expr: impl Into<String>,
        unit: Unit,
    ) -> NumericAverageResult {
        NumericAverageResult {
            event: event.into(),
            from_date: from_date.into(),
            to_date: to_date.into(),
            property_expr: property_expr.into(),
            unit,
            results: object_at(&raw, "results").clone(),
            raw,
        }
    }

    /// Mixpanel's answer, as it came.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// One row per date: `date`, `average`.
    pub fn table(&self) -> Table {
        results_table(&self.results, "average")
    }
}

/// What [`crate::LiveQuery::event_counts`] returns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventCountsResult {
    /// The events queried.
    pub events: Vec<String>,
    /// First day.
    pub from_date: String,
    /// Last day.
    pub to_date: String,
    /// Series granularity.
    pub unit: Unit,
    /// What was counted.
    #[serde(rename = "type")]
    pub count_type: CountType,
    /// Event → date → count.
    pub series: Map<String, Value>,
    #[serde(skip)]
    raw: Value,
}

impl EventCountsResult {
    /// Reads Mixpanel's answer to an event-counts query.
    pub fn from_raw(
        raw: Value,
        events: Vec<String>,
        from_date: impl Into<String>,
        to_date: impl Into<String>,
        unit: Unit,
        count_type: CountType,
    ) -> EventCountsResult {
        EventCountsResult {
            events,
            from_date: from_date.into(),
            to_date: to_date.into(),
            unit,
            count_type,
            series: series_values(&raw),
            raw,
        }
    }

    /// Mixpanel's answer, as it came.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// One row per date (`date`), one column per event.
    pub fn table(&self) -> Table {
        series_table(&self.raw, &self.series)
    }
}

/// What [`crate::LiveQuery::property_counts`] returns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PropertyCountsResult {
    /// The event queried.
    pub event: String,
    /// The property counted.
    pub property_name: String,
    /// First day.
    pub from_date: String,
    /// Last day.
    pub to_date: String,
    /// Series granularity.
    pub unit: Unit,
    /// What was counted.
    #[serde(rename = "type")]
    pub count_type: CountType,
    /// Property value → date → count.
    pub series: Map<String, Value>,
    #[serde(skip)]
    raw: Value,
}

impl PropertyCountsResult {
    /// Reads Mixpanel's answer to a property-counts query.
    pub fn from_raw(
        raw: Value,
        event: impl Into<String>,
        property_name: impl Into<String>,
        from_date: impl Into<String>,
        to_date: impl Into<String>,
        unit: Unit,
        count_type: CountType,
    ) -> PropertyCountsResult {
        PropertyCountsResult {
            event: event.into(),
            property_name: property_name.into(),
            from_date: from_date.into(),
            to_date: to_date.into(),
            unit,
            count_type,
            series: series_values(&raw),
            raw,
        }
    }

    /// Mixpanel's answer, as it came.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// One row per date (`date`), one column per property value.
    pub fn table(&self) -> Table {
        series_table(&self.raw, &self.series)
    }
}
