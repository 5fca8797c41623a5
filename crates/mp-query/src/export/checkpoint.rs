//! [`Checkpoint`]: how far a chunked export got, so that a rerun continues after the last completed day without
//! writing any event twice.
//!
//! The exporter writes chunks strictly in date order and records a checkpoint after each chunk is completely in
//! the output: the last completed day, the events written and the exact length of the output at that moment. A
//! rerun truncates the output to that length (dropping whatever a killed run wrote of the next chunk) and starts
//! at the next day. The checkpoint also records the query and the format, and refuses to resume another export.
//!
//! The file is JSON, written to a temporary file in the same directory and renamed over the old one, so a crash
//! leaves either the old checkpoint or the new one, never half of one.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{CsvColumns, Date, Error, EventQuery, OutputFormat};

/// The checkpoint file format version.
const VERSION: u32 = 1;

/// How far a chunked export got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    query: EventQuery,
    format: OutputFormat,
    completed_through: Date,
    events_written: u64,
    output_bytes: u64,
}

#[derive(Serialize, Deserialize)]
struct WireCheckpoint {
    version: u32,
    from_date: String,
    to_date: String,
    #[serde(default)]
    event: Vec<String>,
    #[serde(rename = "where", default)]
    filter: Option<String>,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    time_in_ms: bool,
    format: String,
    #[serde(default)]
    csv_columns: Option<Vec<String>>,
    completed_through: String,
    events_written: u64,
    output_bytes: u64,
}

impl Checkpoint {
    pub(crate) fn new(
        query: EventQuery,
        format: OutputFormat,
        completed_through: Date,
        events_written: u64,
        output_bytes: u64,
    ) -> Checkpoint {
        Checkpoint {
            query,
            format,
            completed_through,
            events_written,
            output_bytes,
        }
    }

    /// The query of the export.
    pub fn query(&self) -> &EventQuery {
        &self.query
    }

    /// The output format of the export.
    pub fn format(&self) -> &OutputFormat {
        &self.format
    }

    /// The last day whose events are all in the output.
    pub fn completed_through(&self) -> Date {
        self.completed_through
    }

    /// Events in the output.
    pub fn events_written(&self) -> u64 {
        self.events_written
    }

    /// The length of the output, in bytes, when the checkpoint was taken.
    pub fn output_bytes(&self) -> u64 {
        self.output_bytes
    }

    /// Fails unless this checkpoint was taken by an export of `query` in `format`.
    pub(crate) fn check_matches(
        &self,
        query: &EventQuery,
        format: &OutputFormat,
    ) -> Result<(), Error> {
        if &self.query != query {
            return Err(Error::Checkpoint {
                reason: format!(
                    "it was written for another query (from {} to {}, events {:?}, where {:?}, limit {:?})",
                    self.query.from_date,
                    self.query.to_date,
                    self.query.events,
                    self.query.filter,
                    self.query.limit
                ),
            });
        }
        if &self.format != format {
            return Err(Error::Checkpoint {
                reason: format!(
                    "it was written for another output format ({}, not {})",
                    self.format.name(),
                    format.name()
                ),
            });
        }
        Ok(())
    }

    /// The checkpoint as JSON text.
    pub fn to_json(&self) -> String {
        let wire = WireCheckpoint {
            version: VERSION,
            from_date: self.query.from_date.clone(),
            to_date: self.query.to_date.clone(),
            event: self.query.events.clone(),
            filter: self.query.filter.clone(),
            limit: self.query.limit,
            time_in_ms: self.query.time_in_ms,
            format: self.format.name().to_owned(),
            csv_columns: match &self.format {
                OutputFormat::Csv(CsvColumns::Fixed(columns)) => Some(columns.clone()),
                _ => None,
            },
            completed_through: self.completed_through.to_string(),
            events_written: self.events_written,
            output_bytes: self.output_bytes,
        };
        // A struct of strings and integers always serializes.
        serde_json::to_string_pretty(&wire).unwrap_or_default()
    }

    /// Reads a checkpoint from its JSON text.
    pub fn from_json(text: &str) -> Result<Checkpoint, Error> {
        let wire: WireCheckpoint =
            serde_json::from_str(text).map_err(|error| Error::Checkpoint {
                reason: format!("it is not a checkpoint file: {error}"),
            })?;
        if wire.version != VERSION {
            return Err(Error::Checkpoint {
                reason: format!(
                    "it has version {}, this mp reads version {VERSION}",
                    wire.version
                ),
            });
        }
        let format = match (wire.format.as_str(), wire.csv_columns) {
            ("jsonl", None) => OutputFormat::Jsonl,
            ("json", None) => OutputFormat::Json,
            ("csv", Some(columns)) => OutputFormat::Csv(CsvColumns::Fixed(columns)),
            (other, _) => {
                return Err(Error::Checkpoint {
                    reason: format!("it names an output format that cannot resume: `{other}`"),
                });
            }
        };
        let completed_through =
            Date::parse(&wire.completed_through).ok_or_else(|| Error::Checkpoint {
                reason: format!(
                    "`completed_through` is not a date: `{}`",
                    wire.completed_through
                ),
            })?;
        Ok(Checkpoint {
            query: EventQuery {
                from_date: wire.from_date,
                to_date: wire.to_date,
                events: wire.event,
                filter: wire.filter,
                limit: wire.limit,
                time_in_ms: wire.time_in_ms,
            },
            format,
            completed_through,
            events_written: wire.events_written,
            output_bytes: wire.output_bytes,
        })
    }

    /// Reads the checkpoint at `path`; `None` when there is no such file.
    pub async fn load(path: &Path) -> Result<Option<Checkpoint>, Error> {
        match tokio::fs::read_to_string(path).await {
            Ok(text) => Checkpoint::from_json(&text).map(Some),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::io(
                format!("reading the checkpoint `{}`", path.display()),
                source,
            )),
        }
    }

    /// Writes the checkpoint to `path` atomically: a temporary file in the same directory, flushed to disk, then
    /// renamed over `path`.
    pub async fn save(&self, path: &Path) -> Result<(), Error> {
        let text = self.to_json();
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || write_atomic(&path, text.as_bytes()))
            .await
            .map_err(|error| Error::io("saving the checkpoint", std::io::Error::other(error)))?
    }
}

/// Writes `bytes` to `path` through a synced temporary sibling and a rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write as _;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let context = |action: &str| format!("{action} `{}`", path.display());
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .map_err(|source| Error::io(context("creating a temporary file next to"), source))?;
    file.write_all(bytes)
        .and_then(|()| file.as_file().sync_all())
        .map_err(|source| Error::io(context("writing"), source))?;
    file.persist(path)
        .map_err(|error| Error::io(context("renaming a temporary file to"), error.error))?;
    Ok(())
}
