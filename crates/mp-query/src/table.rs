//! [`Table`]: the rows-and-columns view of a query result, the way a person reads it.
//!
//! Every result type has a `table()` that builds one. The CLI renders it as a table, CSV or plain text; JSON output
//! uses the typed result itself (and `raw()` is Mixpanel's answer as it came).

use serde::Serialize;
use serde_json::{Map, Value};

/// Column names and rows of JSON cells. Every row has as many cells as there are headers; a cell with no value is
/// `null`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Table {
    /// Column names, in display order.
    pub headers: Vec<String>,
    /// The rows, each with one cell per header.
    pub rows: Vec<Vec<Value>>,
}

impl Table {
    /// A table with these columns and no rows.
    pub fn new(headers: Vec<String>) -> Table {
        Table {
            headers,
            rows: Vec::new(),
        }
    }

    /// Appends a row, padding it with `null` (or cutting it) to the number of headers.
    pub fn push_row(&mut self, mut row: Vec<Value>) {
        row.resize(self.headers.len(), Value::Null);
        self.rows.push(row);
    }

    /// Returns true if and only if the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The rows as objects keyed by header, for record-shaped output (JSON lines, CSV with a header row).
    pub fn records(&self) -> Vec<Map<String, Value>> {
        self.rows
            .iter()
            .map(|row| {
                self.headers
                    .iter()
                    .cloned()
                    .zip(row.iter().cloned())
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn rows_are_padded_to_the_headers_and_read_back_as_records() {
        let mut table = Table::new(vec!["date".to_owned(), "US".to_owned(), "CA".to_owned()]);
        table.push_row(vec![json!("2024-01-01"), json!(1)]);
        table.push_row(vec![json!("2024-01-02"), json!(2), json!(3), json!(4)]);
        assert_eq!(
            table.rows,
            vec![
                vec![json!("2024-01-01"), json!(1), Value::Null],
                vec![json!("2024-01-02"), json!(2), json!(3)],
            ]
        );
        assert_eq!(
            serde_json::to_value(table.records()).unwrap(),
            json!([
                {"date": "2024-01-01", "US": 1, "CA": null},
                {"date": "2024-01-02", "US": 2, "CA": 3}
            ])
        );
    }
}
