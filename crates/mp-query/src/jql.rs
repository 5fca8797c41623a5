//! The result of a JQL script: whatever rows the script returned.

use serde::Serialize;
use serde_json::Value;

use crate::Table;
use crate::report::records_table;

/// What [`crate::LiveQuery::jql`] returns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JqlResult {
    /// The script's output, as Mixpanel returned it (normally a list).
    pub raw: Value,
    /// How many rows the output has (1 when it is not a list).
    pub row_count: usize,
}

impl JqlResult {
    /// Wraps the script's output.
    pub fn from_raw(raw: Value) -> JqlResult {
        let row_count = raw.as_array().map_or(1, Vec::len);
        JqlResult { raw, row_count }
    }

    /// The script's output, as it came.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// The output as rows, following the official client's reading of JQL output:
    ///
    /// - `groupBy` rows (`{"key": [k0, k1, …], "value": v}`) become columns `key_0`, `key_1`, … and `value` (or
    ///   `value_0`, … when the value is a list);
    /// - a list of objects (or a list holding one list of objects) becomes one row per object;
    /// - anything else becomes a single `value` column.
    pub fn table(&self) -> Table {
        let rows: &[Value] = match &self.raw {
            Value::Array(rows) => match rows.as_slice() {
                [Value::Array(inner)] if inner.iter().all(Value::is_object) => inner,
                rows => rows,
            },
            other => std::slice::from_ref(other),
        };
        let is_group_by = !rows.is_empty()
            && rows.iter().all(|row| {
                row.as_object().is_some_and(|object| {
                    object.len() == 2
                        && object.get("key").is_some_and(Value::is_array)
                        && object.contains_key("value")
                })
            });
        if is_group_by {
            return group_by_table(rows);
        }
        if !rows.is_empty() && rows.iter().all(Value::is_object) {
            return records_table(rows);
        }
        let mut table = Table::new(vec!["value".to_owned()]);
        for row in rows {
            table.push_row(vec![row.clone()]);
        }
        table
    }
}

fn group_by_table(rows: &[Value]) -> Table {
    let n_keys = rows
        .iter()
        .filter_map(|row| row.get("key").and_then(Value::as_array).map(Vec::len))
        .max()
        .unwrap_or(0);
    let n_values = rows
        .iter()
        .filter_map(|row| row.get("value").and_then(Value::as_array).map(Vec::len))
        .max();
    let mut headers: Vec<String> = (0..n_keys).map(|index| format!("key_{index}")).collect();
    match n_values {
        Some(n_values) => headers.extend((0..n_values).map(|index| format!("value_{index}"))),
        None => headers.push("value".to_owned()),
    }
    let mut table = Table::new(headers);
    for row in rows {
        let keys = row
            .get("key")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut cells: Vec<Value> = (0..n_keys)
            .map(|index| keys.get(index).cloned().unwrap_or(Value::Null))
            .collect();
        let value = row.get("value").cloned().unwrap_or(Value::Null);
        match (n_values, value) {
            (Some(n_values), Value::Array(values)) => cells.extend(
                (0..n_values).map(|index| values.get(index).cloned().unwrap_or(Value::Null)),
            ),
            (Some(n_values), value) => {
                cells.push(value);
                cells.extend(std::iter::repeat_n(Value::Null, n_values.saturating_sub(1)));
            }
            (None, value) => cells.push(value),
        }
        table.push_row(cells);
    }
    table
}
