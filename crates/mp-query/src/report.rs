//! Results of saved reports: any saved report by bookmark id ([`SavedReportResult`]) and saved Flows reports
//! ([`FlowsResult`]).

use serde::Serialize;
use serde_json::{Map, Value};

use crate::funnel::{aggregate_steps, steps_table};
use crate::json_util::{float_of, list_at, object_at, string_at};
use crate::retention::{cohorts_of, cohorts_table};
use crate::{ReportType, Table};

/// What [`crate::LiveQuery::saved_report`] returns.
///
/// The fields follow the official client, whatever the report type:
///
/// | type | `series` | `headers` | dates |
/// |---|---|---|---|
/// | insights | `series` of the answer (`{metric: {date: value}}`) | `headers` of the answer | `date_range` of the answer |
/// | funnels | `data` of the answer (the legacy funnel shape) | `["$funnel"]` | first and last date of `data` |
/// | retention | the whole answer (the legacy retention shape) | `["$retention"]` | empty |
/// | flows | `{steps, breakdowns, overallConversionRate}` | `["$flows"]` | empty |
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SavedReportResult {
    /// The report.
    pub bookmark_id: u64,
    /// The type it was queried as.
    pub report_type: ReportType,
    /// When Mixpanel computed the answer (`""` when it did not say).
    pub computed_at: String,
    /// First day of the report.
    pub from_date: String,
    /// Last day of the report.
    pub to_date: String,
    /// Column headers (insights), or a marker of the type (`$funnel`, `$retention`, `$flows`).
    pub headers: Vec<Value>,
    /// The report's data (see the type docs).
    pub series: Value,
    #[serde(skip)]
    raw: Value,
}

impl SavedReportResult {
    /// Reads Mixpanel's answer to a saved report query of `report_type`.
    pub fn from_raw(raw: Value, bookmark_id: u64, report_type: ReportType) -> SavedReportResult {
        let computed_at = string_at(&raw, "computed_at");
        let marker = |name: &str| vec![Value::from(name)];
        let (from_date, to_date, headers, series) = match report_type {
            ReportType::Insights => {
                let date_range = raw.get("date_range").cloned().unwrap_or(Value::Null);
                (
                    string_at(&date_range, "from_date"),
                    string_at(&date_range, "to_date"),
                    list_at(&raw, "headers").to_vec(),
                    raw.get("series")
                        .cloned()
                        .unwrap_or_else(|| Value::Object(Map::new())),
                )
            }
            ReportType::Funnels => {
                let data = object_at(&raw, "data");
                let mut dates: Vec<&String> = data.keys().collect();
                dates.sort();
                (
                    dates
                        .first()
                        .map_or_else(String::new, |date| (*date).clone()),
                    dates
                        .last()
                        .map_or_else(String::new, |date| (*date).clone()),
                    marker("$funnel"),
                    Value::Object(data.clone()),
                )
            }
            ReportType::Retention => (
                String::new(),
                String::new(),
                marker("$retention"),
                raw.clone(),
            ),
            ReportType::Flows => {
                let mut series = Map::new();
                for key in ["steps", "breakdowns"] {
                    series.insert(key.to_owned(), Value::Array(list_at(&raw, key).to_vec()));
                }
                series.insert(
                    "overallConversionRate".to_owned(),
                    raw.get("overallConversionRate")
                        .cloned()
                        .unwrap_or(Value::from(0.0)),
                );
                (
                    String::new(),
                    String::new(),
                    marker("$flows"),
                    Value::Object(series),
                )
            }
        };
        SavedReportResult {
            bookmark_id,
            report_type,
            computed_at,
            from_date,
            to_date,
            headers,
            series,
            raw,
        }
    }

    /// Mixpanel's answer, as it came.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// A table in the report's own terms: insights, one row per metric and date (`date`, `event`, `count`; a
    /// segmented value is kept as JSON); funnels, the steps as [`crate::FunnelResult::table`] has them; retention,
    /// the cohorts as [`crate::RetentionResult::table`] has them; flows, the steps as [`FlowsResult::table`] has them.
    pub fn table(&self) -> Table {
        match self.report_type {
            ReportType::Insights => insights_table(&self.series),
            ReportType::Funnels => steps_table(&aggregate_steps(
                self.series.as_object().unwrap_or(&Map::new()),
            )),
            ReportType::Retention => {
                cohorts_table(&cohorts_of(self.raw.as_object().unwrap_or(&Map::new())))
            }
            ReportType::Flows => records_table(list_at(&self.series, "steps")),
        }
    }
}

/// `{metric: {date: value}}` → rows of `date`, `event`, `count`, by metric then date.
fn insights_table(series: &Value) -> Table {
    let mut table = Table::new(["date", "event", "count"].map(str::to_owned).to_vec());
    let Some(metrics) = series.as_object() else {
        return table;
    };
    for (metric, by_date) in metrics {
        match by_date.as_object() {
            Some(by_date) => {
                let mut dates: Vec<&String> = by_date.keys().collect();
                dates.sort();
                for date in dates {
                    table.push_row(vec![
                        Value::from(date.as_str()),
                        Value::from(metric.as_str()),
                        by_date[date].clone(),
                    ]);
                }
            }
            None => table.push_row(vec![
                Value::Null,
                Value::from(metric.as_str()),
                by_date.clone(),
            ]),
        }
    }
    table
}

/// A list of objects as rows; the columns are every key seen, in first-seen order. Items that are not objects land
/// in a `value` column.
pub(crate) fn records_table(items: &[Value]) -> Table {
    let mut headers: Vec<String> = Vec::new();
    for item in items {
        match item.as_object() {
            Some(object) => {
                for key in object.keys() {
                    if !headers.contains(key) {
                        headers.push(key.clone());
                    }
                }
            }
            None if !headers.iter().any(|header| header == "value") => {
                headers.push("value".to_owned())
            }
            None => {}
        }
    }
    let mut table = Table::new(headers);
    for item in items {
        let row = table
            .headers
            .iter()
            .map(|header| match item.as_object() {
                Some(object) => object.get(header).cloned().unwrap_or(Value::Null),
                None if header == "value" => item.clone(),
                None => Value::Null,
            })
            .collect();
        table.push_row(row);
    }
    table
}

/// What [`crate::LiveQuery::saved_flows`] returns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowsResult {
    /// The report.
    pub bookmark_id: u64,
    /// When Mixpanel computed the answer (`""` when it did not say).
    pub computed_at: String,
    /// The flow's steps, as Mixpanel describes them.
    pub steps: Vec<Value>,
    /// The breakdowns (paths and their counts).
    pub breakdowns: Vec<Value>,
    /// The conversion from the first to the last step (`overallConversionRate`).
    pub overall_conversion_rate: f64,
    /// Mixpanel's metadata about the report, if any.
    pub metadata: Value,
    #[serde(skip)]
    raw: Value,
}

impl FlowsResult {
    /// Reads Mixpanel's answer to a saved Flows query.
    pub fn from_raw(raw: Value, bookmark_id: u64) -> FlowsResult {
        FlowsResult {
            bookmark_id,
            computed_at: string_at(&raw, "computed_at"),
            steps: list_at(&raw, "steps").to_vec(),
            breakdowns: list_at(&raw, "breakdowns").to_vec(),
            overall_conversion_rate: float_of(raw.get("overallConversionRate")),
            metadata: raw
                .get("metadata")
                .cloned()
                .unwrap_or_else(|| Value::Object(Map::new())),
            raw,
        }
    }

    /// Mixpanel's answer, as it came.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// One row per step; the columns are the steps' keys, in first-seen order.
    pub fn table(&self) -> Table {
        records_table(&self.steps)
    }
}
