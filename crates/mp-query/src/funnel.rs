//! The result of a saved funnel: its steps, how many users reached each, and the conversion at each step.
//!
//! Mixpanel answers `{"meta": {"dates": […]}, "data": {date: {"steps": [{"event" | "goal", "count", …}],
//! "analysis": {…}}}}`, one funnel per date; with `on`, each date holds `"$overall": [steps]` plus one list per
//! segment. The official client sums each step's count over the dates (using `$overall` when segmented, dropping
//! the segments) and recomputes the conversions from those sums; so does [`FunnelResult`].

use serde::Serialize;
use serde_json::{Map, Value};

use crate::Table;
use crate::json_util::{count_of, float_value, object_at};

/// One step of a [`FunnelResult`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelStep {
    /// The step's event (or goal) name; `Step N` when Mixpanel gave neither.
    pub event: String,
    /// Users who reached the step, summed over the dates.
    pub count: i64,
    /// `count` divided by the previous step's count; 1.0 for the first step, 0.0 after a step nobody reached.
    pub conversion_rate: f64,
}

/// What [`crate::LiveQuery::funnel`] returns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelResult {
    /// The saved funnel.
    pub funnel_id: u64,
    /// The funnel's name: always empty, because the answer does not carry it (list funnels for names).
    pub funnel_name: String,
    /// First day.
    pub from_date: String,
    /// Last day.
    pub to_date: String,
    /// The last step's count divided by the first's (0.0 when nobody entered, or with no steps).
    pub conversion_rate: f64,
    /// The steps, in order.
    pub steps: Vec<FunnelStep>,
    #[serde(skip)]
    raw: Value,
}

/// The steps of one date of a funnel answer: `steps`, else `$overall`, else none.
fn steps_of_date(date_data: &Value) -> &[Value] {
    let steps = match date_data.get("steps") {
        Some(steps) => Some(steps),
        None => date_data.get("$overall"),
    };
    steps.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn step_name(step: &Value, index: usize) -> String {
    let name = match step.get("event") {
        Some(event) => Some(event),
        None => step.get("goal"),
    };
    match name {
        Some(Value::String(name)) => name.clone(),
        Some(Value::Null) | None => format!("Step {}", index + 1),
        Some(other) => other.to_string(),
    }
}

/// `numerator / denominator`, 0.0 when the denominator is not positive.
fn ratio(numerator: i64, denominator: i64) -> f64 {
    if denominator > 0 {
        numerator as f64 / denominator as f64
    } else {
        0.0
    }
}

impl FunnelResult {
    /// Reads Mixpanel's answer to a funnel query (see the module docs).
    pub fn from_raw(
        raw: Value,
        funnel_id: u64,
        from_date: impl Into<String>,
        to_date: impl Into<String>,
    ) -> FunnelResult {
        let steps = aggregate_steps(object_at(&raw, "data"));
        let conversion_rate = match (steps.first(), steps.last()) {
            (Some(first), Some(last)) => ratio(last.count, first.count),
            _ => 0.0,
        };
        FunnelResult {
            funnel_id,
            funnel_name: String::new(),
            from_date: from_date.into(),
            to_date: to_date.into(),
            conversion_rate,
            steps,
            raw,
        }
    }

    /// Mixpanel's answer, as it came.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// One row per step: `step` (from 1), `event`, `count`, `conversion_rate` (from the previous step) and
    /// `overall_conversion_rate` (from the first step).
    pub fn table(&self) -> Table {
        steps_table(&self.steps)
    }
}

/// Sums each step's count over the dates of `data`, keeping the name of the last date that has the step, and
/// computes the step conversions.
pub(crate) fn aggregate_steps(data: &Map<String, Value>) -> Vec<FunnelStep> {
    let mut totals: Vec<(String, i64)> = Vec::new();
    for date_data in data.values() {
        for (index, step) in steps_of_date(date_data).iter().enumerate() {
            let name = step_name(step, index);
            let count = count_of(step.get("count"));
            match totals.get_mut(index) {
                Some(total) => *total = (name, total.1 + count),
                None => totals.push((name, count)),
            }
        }
    }
    let mut previous = 0;
    totals
        .into_iter()
        .enumerate()
        .map(|(index, (event, count))| {
            let conversion_rate = if index == 0 {
                1.0
            } else {
                ratio(count, previous)
            };
            previous = count;
            FunnelStep {
                event,
                count,
                conversion_rate,
            }
        })
        .collect()
}

pub(crate) fn steps_table(steps: &[FunnelStep]) -> Table {
    let mut table = Table::new(
        [
            "step",
            "event",
            "count",
            "conversion_rate",
            "overall_conversion_rate",
        ]
        .map(str::to_owned)
        .to_vec(),
    );
    let first = steps.first().map_or(0, |step| step.count);
    for (index, step) in steps.iter().enumerate() {
        table.push_row(vec![
            Value::from(index + 1),
            Value::from(step.event.as_str()),
            Value::from(step.count),
            float_value(step.conversion_rate),
            float_value(ratio(step.count, first)),
        ]);
    }
    table
}
