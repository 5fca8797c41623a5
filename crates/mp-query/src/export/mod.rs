//! Raw event export (`GET /api/2.0/export` on `data.mixpanel.com`), as a stream or as a chunked, resumable
//! export.
//!
//! Two ways in, both from [`Export`]:
//!
//! - [`Export::events`] sends one request and reads its JSONL body as it arrives ([`EventStream`]): raw lines
//!   (`Bytes`, exactly as Mixpanel sent them), borrowed events ([`EventRef`]) or typed events ([`Event`]). It is
//!   what a library caller iterating over a short range wants, and what the official client's `export_events`
//!   does, minus its habit of replaying a broken stream from the start.
//! - [`Export::chunked`] splits the range into day chunks and writes them to any `AsyncWrite` in date order
//!   ([`ChunkedExport`]): parallel downloads, bounded memory, a client-side [`RateLimiter`], retries of a chunk
//!   from its start, checkpoints for resuming, and JSONL, JSON or CSV output ([`OutputFormat`]). [`OutputFile`]
//!   gives the output its final name only once it is complete.
//!
//! # Data is never dropped
//!
//! A line that is not a JSON object means the stream is broken (Mixpanel's `terminated early` marker, a cut
//! connection): it is an error, retried where nothing was handed out yet, and never skipped. JSONL output is the
//! lines' bytes verbatim and is not parsed; JSON output wraps the same bytes in an array; CSV output and the typed
//! forms parse every line, and a line that is not an event of the documented shape is
//! [`crate::Error::MalformedEvent`].

mod checkpoint;
mod chunked;
mod event;
mod format;
mod limiter;
mod output_file;
mod query;
mod spill;
mod stream;

#[cfg(test)]
mod tests;

pub use self::{
    checkpoint::Checkpoint,
    chunked::{
        ChunkedExport, ChunkedOptions, DEFAULT_MEMORY_BUDGET, ExportEvent, ExportObserver,
        ExportSummary, MAX_PARALLEL, Progress, ProgressHandle,
    },
    event::{Event, EventRef},
    format::{CSV_BASE_COLUMNS, CsvColumns, OutputFormat},
    limiter::{RateDecision, RateLimiter, RateLimits, WaitReason},
    output_file::OutputFile,
    query::{EventQuery, MAX_EXPORT_LIMIT, ProjectTimeZone},
    stream::{EventStream, Export},
};

pub(crate) use self::limiter::{LimiterPermit, SharedLimiter};
