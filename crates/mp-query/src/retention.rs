//! Results of the retention family: birth retention cohorts and frequency (addiction).

use serde::Serialize;
use serde_json::{Map, Value};

use crate::json_util::{count_of, float_value};
use crate::{Table, Unit};

/// One cohort of a [`RetentionResult`]: the users born on `date`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetentionCohort {
    /// The cohort's day (the key in Mixpanel's answer).
    pub date: String,
    /// Users in the cohort (`first`).
    pub size: i64,
    /// Users who came back in each interval (`counts`), interval 0 first.
    pub counts: Vec<i64>,
    /// `counts[i] / size` for each interval; all 0.0 for an empty cohort.
    pub retention: Vec<f64>,
}

/// What [`crate::LiveQuery::retention`] returns.
///
/// Mixpanel answers `{date: {"first": n, "counts": [c0, c1, …]}, …}`; the cohorts are sorted by date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetentionResult {
    /// The event that puts a user in a cohort.
    pub born_event: String,
    /// The event that counts as coming back.
    pub return_event: String,
    /// First day.
    pub from_date: String,
    /// Last day.
    pub to_date: String,
    /// The interval unit.
    pub unit: Unit,
    /// The cohorts, by date.
    pub cohorts: Vec<RetentionCohort>,
    #[serde(skip)]
    raw: Value,
}

/// Reads `{date: {"first", "counts"}}` into cohorts sorted by date. Entries that are not objects are skipped.
pub(crate) fn cohorts_of(answer: &Map<String, Value>) -> Vec<RetentionCohort> {
    let mut dates: Vec<&String> = answer.keys().collect();
    dates.sort();
    dates
        .into_iter()
        .filter(|date| answer[*date].is_object())
        .map(|date| {
            let cohort = &answer[date];
            let size = count_of(cohort.get("first"));
            let counts: Vec<i64> = cohort
                .get("counts")
                .and_then(Value::as_array)
                .map(|counts| counts.iter().map(|count| count_of(Some(count))).collect())
                .unwrap_or_default();
            let retention = counts
                .iter()
                .map(|count| {
                    if size > 0 {
                        *count as f64 / size as f64
                    } else {
                        0.0
                    }
                })
                .collect();
            RetentionCohort {
                date: date.clone(),
                size,
                counts,
                retention,
            }
        })
        .collect()
}

pub(crate) fn cohorts_table(cohorts: &[RetentionCohort]) -> Table {
    let n_periods = cohorts
        .iter()
        .map(|cohort| cohort.retention.len())
        .max()
        .unwrap_or(0);
    let mut headers = vec!["cohort_date".to_owned(), "cohort_size".to_owned()];
    headers.extend((0..n_periods).map(|period| format!("period_{period}")));
    let mut table = Table::new(headers);
    for cohort in cohorts {
        let mut row = vec![Value::from(cohort.date.as_str()), Value::from(cohort.size)];
        row.extend(cohort.retention.iter().map(|rate| float_value(*rate)));
        table.push_row(row);
    }
    table
}

impl RetentionResult {
    /// Reads Mixpanel's answer to a retention query.
    pub fn from_raw(
        raw: Value,
        born_event: impl Into<String>,
        return_event: impl Into<String>,
        from_date: impl Into<String>,
        to_date: impl Into<String>,
        unit: Unit,
    ) -> RetentionResult {
        let cohorts = raw.as_object().map(cohorts_of).unwrap_or_default();
        RetentionResult {
            born_event: born_event.into(),
            return_event: return_event.into(),
            from_date: from_date.into(),
            to_date: to_date.into(),
            unit,
            cohorts,
            raw,
        }
    }

    /// Mixpanel's answer, as it came.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// One row per cohort: `cohort_date`, `cohort_size`, then `period_0` … `period_N`, the share of the cohort that
    /// came back in each interval (empty past the end of a younger cohort).
    pub fn table(&self) -> Table {
        cohorts_table(&self.cohorts)
    }
}

/// What [`crate::LiveQuery::frequency`] returns.
///
/// Mixpanel answers `{"data": {date: [n1, n2, …]}}`, where `n_i` is the number of users active in at least `i`
/// sub-periods (`addiction_unit`) of that period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrequencyResult {
    /// The event, or `None` for every event.
    pub event: Option<String>,
    /// First day.
    pub from_date: String,
    /// Last day.
    pub to_date: String,
    /// The period.
    pub unit: Unit,
    /// The sub-period counted.
    pub addiction_unit: Unit,
    /// Date → counts by number of sub-periods.
    pub data: Map<String, Value>,
    #[serde(skip)]
    raw: Value,
}

impl FrequencyResult {
    /// Reads Mixpanel's answer to a frequency query.
    pub fn from_raw(
        raw: Value,
        event: Option<String>,
        from_date: impl Into<String>,
        to_date: impl Into<String>,
        unit: Unit,
        addiction_unit: Unit,
    ) -> FrequencyResult {
        FrequencyResult {
            event,
            from_date: from_date.into(),
            to_date: to_date.into(),
            unit,
            addiction_unit,
            data: crate::json_util::object_at(&raw, "data").clone(),
            raw,
        }
    }

    /// Mixpanel's answer, as it came.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// One row per date: `date`, then `period_1` … `period_N`.
    pub fn table(&self) -> Table {
        let empty = Vec::new();
        let counts_of =
            |value: &Value| -> Vec<Value> { value.as_array().unwrap_or(&empty).clone() };
        let n_periods = self
            .data
            .values()
            .map(|counts| counts_of(counts).len())
            .max()
            .unwrap_or(0);
        let mut headers = vec!["date".to_owned()];
        headers.extend((1..=n_periods).map(|period| format!("period_{period}")));
        let mut table = Table::new(headers);
        let mut dates: Vec<&String> = self.data.keys().collect();
        dates.sort();
        for date in dates {
            let mut row = vec![Value::from(date.as_str())];
            row.extend(counts_of(&self.data[date]));
            table.push_row(row);
        }
        table
    }
}
