//! `mp-query` runs Mixpanel's live queries (segmentation, funnels, retention, JQL, event and property counts,
//! activity feed, saved reports, flows and frequency) and returns typed results that keep Mixpanel's answer and
//! render as tables.
//!
//! What it is not: it depends on `mp-http` only. It never builds credentials, reads the environment or a config
//! file, prints, or caches: the caller hands it a ready [`mp_http::Client`] (region, project, workspace and
//! authenticator already chosen), and every live query is one request. Input it can reject by itself (a malformed
//! date, a range that ends before it starts or in the future, an activity feed for nobody) is rejected before
//! anything is sent, with "today" read from the client's [`mp_http::Clock`] in UTC. Relative ranges (`--last 30d`)
//! are the caller's to resolve, with [`DateRange::last`].
//!
//! Main types, in reading order:
//!
//! - [`LiveQuery`]: the service, one method per query.
//! - The options, one per query ([`SegmentationOptions`], [`FunnelOptions`], [`RetentionOptions`], …), with the
//!   defaults of Mixpanel's official client, and the enums they share ([`Unit`], [`CountType`],
//!   [`RetentionType`], [`ReportType`]).
//! - The results ([`SegmentationResult`], [`FunnelResult`], [`RetentionResult`], …): typed fields, `raw()` for the
//!   answer as it came, and `table()`, a [`Table`] the way a person reads it.
//! - [`Date`] and [`DateRange`]: calendar dates as the Query API spells them.
//! - [`Export`]: raw event export, as an [`EventStream`] of one request (raw lines, [`EventRef`], [`Event`]) or a
//!   [`ChunkedExport`] of day chunks written in order to any `AsyncWrite` ([`ChunkedOptions`], [`OutputFormat`],
//!   [`Checkpoint`], [`OutputFile`], [`RateLimiter`]). Unlike a live query it sends one request per chunk, and it
//!   writes only the files it is handed a place for (temporary chunk files, a checkpoint, the output).
//! - [`Engage`]: profiles page by page ([`ProfilePage`]) or as a [`ProfileStream`] ([`ProfileQuery`]), one request
//!   per page, and aggregate statistics ([`StatsQuery`]).
//! - [`Error`]: every failure; wire failures keep the `mp-http` error as their source.
//!
//! ```no_run
//! # async fn example(client: mp_http::Client) -> Result<(), mp_query::Error> {
//! use mp_query::{DateRange, LiveQuery, SegmentationOptions, normalize_on_expression};
//!
//! let query = LiveQuery::new(client);
//! let range = DateRange::last(30, query.today())?;
//! let mut options = SegmentationOptions::new("Sign Up", range.from_date(), range.to_date());
//! options.on = Some(normalize_on_expression("country"));
//! let result = query.segmentation(&options).await?;
//! for row in result.table().rows {
//!     let _ = row;
//! }
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

mod activity;
mod dates;
mod engage;
mod error;
mod export;
mod funnel;
mod jql;
mod json_util;
mod live_query;
mod options;
mod python_json;
mod report;
mod retention;
mod series;
mod table;

pub use crate::{
    activity::{ActivityFeedResult, UserEvent},
    dates::{Date, DateRange},
    engage::{
        CohortFilter, DEFAULT_ENGAGE_PAGE_SIZE, Engage, MAX_ENGAGE_PARALLEL, Profile, ProfilePage,
        ProfileQuery, ProfileStream, ProfileStreamOptions, RateLimitCallback, SortOrder,
        StatsQuery,
    },
    error::Error,
    export::{
        CSV_BASE_COLUMNS, Checkpoint, ChunkedExport, ChunkedOptions, CsvColumns,
        DEFAULT_MEMORY_BUDGET, Event, EventQuery, EventRef, EventStream, Export, ExportEvent,
        ExportObserver, ExportSummary, MAX_EXPORT_LIMIT, MAX_PARALLEL, OutputFile, OutputFormat,
        Progress, ProgressHandle, ProjectTimeZone, RateDecision, RateLimiter, RateLimits,
        WaitReason,
    },
    funnel::{FunnelResult, FunnelStep},
    jql::JqlResult,
    live_query::LiveQuery,
    options::{
        ActivityFeedOptions, CountType, DEFAULT_RETENTION_INTERVAL_COUNT, EventCountsOptions,
        FrequencyOptions, FunnelOptions, JqlOptions, NumericAggregateOptions,
        NumericBucketsOptions, PropertyCountsOptions, ReportType, RetentionOptions, RetentionType,
        SAVED_FUNNEL_DEFAULT_DAYS, SavedReportOptions, SegmentationOptions, Unit,
        normalize_on_expression,
    },
    report::{FlowsResult, SavedReportResult},
    retention::{FrequencyResult, RetentionCohort, RetentionResult},
    series::{
        EventCountsResult, NumericAverageResult, NumericBucketResult, NumericSumResult,
        PropertyCountsResult, SegmentationResult,
    },
    table::Table,
};

/// The README's library examples, compiled by `cargo test --doc -p mp-query` so that they keep up with the API.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
