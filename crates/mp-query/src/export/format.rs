//! Output formats of the chunked exporter: JSONL (the bytes of each event, verbatim), one JSON array, or CSV.
//!
//! # CSV columns
//!
//! A CSV file needs its header before its first row, but an export's property names are only known once every
//! event has been seen. Two answers, chosen by [`CsvColumns`]:
//!
//! - [`CsvColumns::Fixed`]: the caller names the property columns; the header is written at once and rows stream
//!   out chunk by chunk, in bounded memory, resumable like JSONL. Properties not named are left out.
//! - [`CsvColumns::Discover`]: two passes over the downloaded chunks. Every chunk is downloaded first (kept in
//!   temporary files, so memory stays bounded but disk holds the whole export) while the property names are
//!   collected; then the header (the names sorted, so the same data gives the same file whatever the download
//!   order) and every row are written. Nothing is written before the last chunk arrives, so it cannot resume.
//!
//! Either way the first four columns are `event`, `time`, `distinct_id` and `insert_id` (from `$insert_id`). A
//! cell holds a string as is, a number or boolean as JSON writes it, an object or array as compact JSON, and
//! nothing for null or a missing property; cells are quoted as RFC 4180 says.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::Error;
use crate::export::event::malformed;
use crate::export::spill::{BLOCK_SIZE, SpilledReader};

/// The first four CSV columns.
pub const CSV_BASE_COLUMNS: [&str; 4] = ["event", "time", "distinct_id", "insert_id"];

/// Properties that have their own base column.
const LIFTED_PROPERTIES: [&str; 3] = ["time", "distinct_id", "$insert_id"];

/// How the exporter writes events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputFormat {
    /// One event per line, exactly the bytes Mixpanel sent for it.
    Jsonl,
    /// One JSON array of events (each event's bytes verbatim), one event per line.
    Json,
    /// CSV with the columns [`CsvColumns`] says.
    Csv(CsvColumns),
}

impl OutputFormat {
    /// `jsonl`, `json` or `csv`.
    pub fn name(&self) -> &'static str {
        match self {
            OutputFormat::Jsonl => "jsonl",
            OutputFormat::Json => "json",
            OutputFormat::Csv(_) => "csv",
        }
    }

    /// Returns true if and only if the format needs every chunk before writing anything.
    pub(crate) fn needs_every_chunk(&self) -> bool {
        matches!(self, OutputFormat::Csv(CsvColumns::Discover))
    }

    /// Returns true if and only if a download must collect property names.
    pub(crate) fn discovers_columns(&self) -> bool {
        self.needs_every_chunk()
    }
}

/// Which property columns a CSV export has (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsvColumns {
    /// Every property name seen in the export, sorted; needs every chunk before writing.
    Discover,
    /// These properties, in this order, after the base columns.
    Fixed(Vec<String>),
}

/// Collects the property names of events for [`CsvColumns::Discover`].
pub(crate) fn collect_property_names(
    line: &[u8],
    names: &mut BTreeSet<String>,
) -> Result<(), Error> {
    #[derive(Deserialize)]
    struct Keys {
        properties: std::collections::BTreeMap<String, serde::de::IgnoredAny>,
    }
    let keys: Keys =
        serde_json::from_slice(line).map_err(|error| malformed(line, error.to_string()))?;
    for key in keys.properties.into_keys() {
        if !LIFTED_PROPERTIES.contains(&key.as_str()) {
            names.insert(key);
        }
    }
    Ok(())
}

/// Writes chunks in one format, counting events and bytes (including those of a resumed run).
#[derive(Debug)]
pub(crate) struct FormatWriter {
    format: OutputFormat,
    property_columns: Vec<String>,
    n_events: u64,
    n_bytes: u64,
    buffer: Vec<u8>,
    /// The start of a line that crosses a block boundary.
    carry: Vec<u8>,
}

impl FormatWriter {
    /// A writer that has already written `n_events` events in `n_bytes` bytes (a resumed export), or nothing.
    pub(crate) fn new(format: OutputFormat, n_events: u64, n_bytes: u64) -> FormatWriter {
        let property_columns = match &format {
            OutputFormat::Csv(CsvColumns::Fixed(columns)) => columns.clone(),
            _ => Vec::new(),
        };
        FormatWriter {
            format,
            property_columns,
            n_events,
            n_bytes,
            buffer: Vec::with_capacity(BLOCK_SIZE),
            carry: Vec::new(),
        }
    }

    /// Sets the property columns found by [`CsvColumns::Discover`].
    pub(crate) fn set_property_columns(&mut self, names: BTreeSet<String>) {
        self.property_columns = names.into_iter().collect();
    }

    /// Events written (a resumed run's included).
    pub(crate) fn n_events(&self) -> u64 {
        self.n_events
    }

    /// Bytes written (a resumed run's included).
    pub(crate) fn n_bytes(&self) -> u64 {
        self.n_bytes
    }

    /// Writes what comes before the first event: `[` for JSON, the header for CSV.
    pub(crate) async fn begin<W: AsyncWrite + Unpin + ?Sized>(
        &mut self,
        out: &mut W,
    ) -> Result<(), Error> {
        match &self.format {
            OutputFormat::Jsonl => {}
            OutputFormat::Json => self.buffer.push(b'['),
            OutputFormat::Csv(_) => {
                let mut first = true;
                let columns = CSV_BASE_COLUMNS
                    .iter()
                    .copied()
                    .chain(self.property_columns.iter().map(String::as_str));
                for column in columns {
                    if !first {
                        self.buffer.push(b',');
                    }
                    first = false;
                    write_csv_field(&mut self.buffer, column);
                }
                self.buffer.push(b'\n');
            }
        }
        self.flush(out).await
    }

    /// Writes one chunk of `n_events` events read from `reader`.
    pub(crate) async fn write_chunk<W: AsyncWrite + Unpin + ?Sized>(
        &mut self,
        mut reader: SpilledReader,
        n_events: u64,
        out: &mut W,
    ) -> Result<(), Error> {
        if self.format == OutputFormat::Jsonl {
            // Verbatim: the chunk already holds one event per line.
            while let Some(block) = reader.next_block().await? {
                write_out(out, block).await?;
                self.n_bytes += block.len() as u64;
            }
            self.n_events += n_events;
            return Ok(());
        }
        while let Some(block) = reader.next_block().await? {
            let mut rest = block;
            while let Some(position) = memchr_newline(rest) {
                let (line, after) = rest.split_at(position);
                rest = &after[1..];
                if self.carry.is_empty() {
                    self.write_event(line)?;
                } else {
                    let mut carried = std::mem::take(&mut self.carry);
                    carried.extend_from_slice(line);
                    self.write_event(&carried)?;
                }
                if self.buffer.len() >= BLOCK_SIZE {
                    self.flush(out).await?;
                }
            }
            self.carry.extend_from_slice(rest);
        }
        if !self.carry.is_empty() {
            // Chunks are written line by line with a newline each, so this is a last line without one.
            let carried = std::mem::take(&mut self.carry);
            self.write_event(&carried)?;
        }
        self.flush(out).await
    }

    /// Writes what comes after the last event: `]` for JSON.
    pub(crate) async fn finish<W: AsyncWrite + Unpin + ?Sized>(
        &mut self,
        out: &mut W,
    ) -> Result<(), Error> {
        if self.format == OutputFormat::Json {
            if self.n_events == 0 {
                self.buffer.extend_from_slice(b"]\n");
            } else {
                self.buffer.extend_from_slice(b"\n]\n");
            }
        }
        self.flush(out).await
    }

    /// Formats one event line into the buffer.
    fn write_event(&mut self, line: &[u8]) -> Result<(), Error> {
        if line.is_empty() {
            return Ok(());
        }
        match &self.format {
            OutputFormat::Jsonl => {
                self.buffer.extend_from_slice(line);
                self.buffer.push(b'\n');
            }
            OutputFormat::Json => {
                self.buffer
                    .extend_from_slice(if self.n_events == 0 { b"\n" } else { b",\n" });
                self.buffer.extend_from_slice(line);
            }
            OutputFormat::Csv(_) => self.write_csv_row(line)?,
        }
        self.n_events += 1;
        Ok(())
    }

    fn write_csv_row(&mut self, line: &[u8]) -> Result<(), Error> {
        #[derive(Deserialize)]
        struct Row {
            event: Value,
            properties: Map<String, Value>,
        }
        let row: Row =
            serde_json::from_slice(line).map_err(|error| malformed(line, error.to_string()))?;
        write_csv_value(&mut self.buffer, Some(&row.event));
        for key in LIFTED_PROPERTIES {
            self.buffer.push(b',');
            write_csv_value(&mut self.buffer, row.properties.get(key));
        }
        for column in &self.property_columns {
            self.buffer.push(b',');
            write_csv_value(&mut self.buffer, row.properties.get(column));
        }
        self.buffer.push(b'\n');
        Ok(())
    }

    async fn flush<W: AsyncWrite + Unpin + ?Sized>(&mut self, out: &mut W) -> Result<(), Error> {
        if !self.buffer.is_empty() {
            write_out(out, &self.buffer).await?;
            self.n_bytes += self.buffer.len() as u64;
            self.buffer.clear();
        }
        Ok(())
    }
}

async fn write_out<W: AsyncWrite + Unpin + ?Sized>(out: &mut W, bytes: &[u8]) -> Result<(), Error> {
    out.write_all(bytes)
        .await
        .map_err(|source| Error::io("writing the export output", source))
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&byte| byte == b'\n')
}

fn write_csv_value(out: &mut Vec<u8>, value: Option<&Value>) {
    match value {
        None | Some(Value::Null) => {}
        Some(Value::String(text)) => write_csv_field(out, text),
        Some(other) => write_csv_field(out, &other.to_string()),
    }
}

/// One CSV field, quoted when it holds a separator, a quote or a line break (RFC 4180).
fn write_csv_field(out: &mut Vec<u8>, text: &str) {
    if text.contains([',', '"', '\n', '\r']) {
        out.push(b'"');
        for byte in text.bytes() {
            if byte == b'"' {
                out.push(b'"');
            }
            out.push(byte);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(text.as_bytes());
    }
}
