//! [`Presented`]: a result with its two faces, the full typed value for `json` and
//! `jsonl`, and a table for `table`, `csv` and `plain` (see `Output::emit_table`).

use serde::Serialize;
use serde_json::Value;

use mp_query::Table;

use super::Context;

/// What a command prints.
#[derive(Debug)]
pub struct Presented {
    /// The typed result as JSON.
    pub data: Value,
    /// The rows a person reads.
    pub table: Table,
}

impl Presented {
    /// Serializes `result` next to its `table`.
    pub fn new(result: &impl Serialize, table: Table) -> anyhow::Result<Presented> {
        Ok(Presented {
            data: serde_json::to_value(result)?,
            table,
        })
    }

    /// Prints it in the configured format.
    pub fn emit(&self, context: &mut Context) -> anyhow::Result<()> {
        context
            .output
            .emit_table(&self.data, &self.table.headers, &self.table.rows)
    }
}
