//! [`ChunkedExport`]: a long export split into day chunks, downloaded in parallel, written strictly in date
//! order, with bounded memory, client-side rate limiting, per-chunk retries and checkpoints.
//!
//! # How it runs
//!
//! ```text
//!             dispatch in date order                         join (any order)              write in date order
//! chunks ──► at most `parallel` downloads, each ──► ready: BTreeMap<index, chunk> ──► FormatWriter ──► out
//!            through the rate limiter, into a            (on disk beyond its                 └─► checkpoint
//!            SpillWriter (memory, then temp file)         memory share)
//! ```
//!
//! One coordinating future (the caller's) dispatches downloads as tasks on the tokio runtime, collects finished
//! chunks and writes them; download tasks never touch the output. A chunk is dispatched only while fewer than
//! `parallel` downloads run and it lies less than `2 × parallel` chunks ahead of the next chunk to write, so at
//! most that many chunks exist at once, each holding at most `memory_budget / (2 × parallel)` bytes in memory:
//! memory is bounded whatever the range. Dropping the future (Ctrl-C) aborts every download; spill files are
//! anonymous and vanish with them.
//!
//! # Failures
//!
//! Each download's request is sent without the client's own retries, so that every attempt goes through the rate
//! limiter. A failed attempt (429, 5xx, a refused or reset connection, a body cut short or ending with Mixpanel's
//! `terminated early` line) discards everything the attempt downloaded and, if the retry policy allows, starts
//! the chunk again from its first byte: nothing was written yet, so nothing is duplicated or lost. When a chunk
//! fails for good, no new chunk starts, the chunks before it are still written, and the export ends with
//! [`crate::Error::ExportIncomplete`], which names the failed chunk and the days completed; with a checkpoint,
//! a rerun continues from the first day not completed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use mp_http::{Client, ErrorKind, Outcome, RetryPolicy, RetryState, TransportErrorKind};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::task::JoinSet;

use crate::export::format::{FormatWriter, collect_property_names};
use crate::export::limiter::SharedLimiter;
use crate::export::query::EXPORT_PATH;
use crate::export::spill::{SpillWriter, Spilled};
use crate::export::stream::body_outcome;
use crate::{Checkpoint, Date, DateRange, Error, EventQuery, OutputFormat, RateLimits, WaitReason};

/// The most downloads that may run at once: Mixpanel's limit of concurrent export requests.
pub const MAX_PARALLEL: usize = 100;

/// The default memory budget for downloaded chunks: 16 MiB.
pub const DEFAULT_MEMORY_BUDGET: usize = 16 << 20;

/// The most memory a chunk may hold when every chunk is kept until the end ([`crate::CsvColumns::Discover`]).
const MAX_KEPT_CHUNK_MEMORY: usize = 1 << 20;

/// Receives [`ExportEvent`]s; called from download tasks as well as from the writing future.
pub type ExportObserver = Arc<dyn Fn(&ExportEvent<'_>) + Send + Sync>;

/// How a chunked export runs.
#[derive(Clone)]
pub struct ChunkedOptions {
    /// The output format.
    pub format: OutputFormat,
    /// Downloads running at once, 1 to [`MAX_PARALLEL`].
    pub parallel: usize,
    /// Days per chunk (at least 1). A query with a `limit` is one chunk, since Mixpanel applies the limit per
    /// request.
    pub chunk_days: u32,
    /// Bytes of downloaded data kept in memory across all chunks; the rest goes to temporary files.
    pub memory_budget: usize,
    /// Where temporary files go; `None` for the system's temporary directory as the `tempfile` crate picks it.
    pub spill_dir: Option<PathBuf>,
    /// How often, and after how long, a failed chunk is downloaded again.
    pub retry: RetryPolicy,
    /// The client-side rate limits every request waits for.
    pub rate_limits: RateLimits,
    /// Continue the export this checkpoint describes: skip its completed days, and count its events and bytes.
    /// The output must already hold exactly `output_bytes` bytes (see [`crate::OutputFile::resume`]).
    pub resume: Option<Checkpoint>,
    /// Save a [`Checkpoint`] here after each chunk is written (not for [`crate::CsvColumns::Discover`], which
    /// writes nothing before the end).
    pub checkpoint_path: Option<PathBuf>,
    /// Told about waits, retries and written chunks.
    pub observer: Option<ExportObserver>,
}

impl std::fmt::Debug for ChunkedOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkedOptions")
            .field("format", &self.format)
            .field("parallel", &self.parallel)
            .field("chunk_days", &self.chunk_days)
            .field("memory_budget", &self.memory_budget)
            .field("spill_dir", &self.spill_dir)
            .field("retry", &self.retry)
            .field("rate_limits", &self.rate_limits)
            .field("resume", &self.resume)
            .field("checkpoint_path", &self.checkpoint_path)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

impl ChunkedOptions {
    /// Options for `format`: one download at a time, one day per chunk, [`DEFAULT_MEMORY_BUDGET`], 5 retries per
    /// chunk (backoff from 1 s to 60 s, `Retry-After` honoured up to 10 minutes), [`RateLimits::RAW_EXPORT`], no
    /// resume, no checkpoint, no observer.
    pub fn new(format: OutputFormat) -> ChunkedOptions {
        ChunkedOptions {
            format,
            parallel: 1,
            chunk_days: 1,
            memory_budget: DEFAULT_MEMORY_BUDGET,
            spill_dir: None,
            retry: RetryPolicy {
                max_retries: 5,
                max_delay: Duration::from_secs(60),
                // The hourly export quota can need a long wait; a chunk that waits is cheaper than a rerun.
                max_retry_after: Duration::from_secs(600),
                ..RetryPolicy::default()
            },
            rate_limits: RateLimits::RAW_EXPORT,
            resume: None,
            checkpoint_path: None,
            observer: None,
        }
    }
}

/// Something a chunked export wants to tell its caller (for a progress display or a log).
#[derive(Debug)]
#[non_exhaustive]
pub enum ExportEvent<'a> {
    /// A request waits for a client-side rate limit.
    RateLimited {
        /// Which limit.
        reason: WaitReason,
        /// The limits in force.
        limits: RateLimits,
        /// How long, when known (waits for a running request to finish have no known length).
        wait: Option<Duration>,
    },
    /// A chunk's download failed and will start again from its first byte.
    ChunkRetry {
        /// The chunk's days.
        chunk: DateRange,
        /// The attempt that failed (1 for the first).
        attempt: u32,
        /// The wait before the next attempt.
        delay: Duration,
        /// Why the attempt failed.
        error: &'a Error,
    },
    /// A chunk is completely in the output (and its checkpoint saved).
    ChunkWritten {
        /// The chunk's days.
        chunk: DateRange,
        /// Its events.
        events: u64,
        /// Where the export stands.
        progress: Progress,
    },
}

/// Where an export stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Days in the query's range.
    pub days_total: u64,
    /// Days whose events are all in the output (a resumed run's included).
    pub days_done: u64,
    /// Events in the output (a resumed run's included).
    pub events_written: u64,
    /// Bytes in the output (a resumed run's included).
    pub bytes_written: u64,
    /// Events downloaded by this run, discarded attempts included.
    pub events_downloaded: u64,
    /// Bytes (decompressed) downloaded by this run, discarded attempts included.
    pub bytes_downloaded: u64,
    /// Chunk downloads started again after a failure.
    pub retries: u64,
}

/// A live view of an export's [`Progress`], for a display that polls on its own timer.
#[derive(Debug, Clone, Default)]
pub struct ProgressHandle {
    counters: Arc<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    days_total: AtomicU64,
    days_done: AtomicU64,
    events_written: AtomicU64,
    bytes_written: AtomicU64,
    events_downloaded: AtomicU64,
    bytes_downloaded: AtomicU64,
    retries: AtomicU64,
}

impl ProgressHandle {
    /// The progress now.
    pub fn snapshot(&self) -> Progress {
        self.counters.snapshot()
    }
}

impl Counters {
    fn snapshot(&self) -> Progress {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        Progress {
            days_total: load(&self.days_total),
            days_done: load(&self.days_done),
            events_written: load(&self.events_written),
            bytes_written: load(&self.bytes_written),
            events_downloaded: load(&self.events_downloaded),
            bytes_downloaded: load(&self.bytes_downloaded),
            retries: load(&self.retries),
        }
    }
}

/// What a finished export did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    /// The final progress.
    pub progress: Progress,
    /// Chunks downloaded and written by this run.
    pub chunks: usize,
    /// The last day in the output (`None` for an empty range or a resume with nothing left).
    pub completed_through: Option<Date>,
}

/// A prepared chunked export (see the module docs); [`crate::Export::chunked`] makes one.
#[derive(Debug)]
pub struct ChunkedExport {
    client: Client,
    query: EventQuery,
    range: DateRange,
    options: ChunkedOptions,
    chunks: Vec<DateRange>,
    progress: ProgressHandle,
}

impl ChunkedExport {
    pub(crate) fn new(
        client: Client,
        query: EventQuery,
        range: DateRange,
        options: ChunkedOptions,
    ) -> Result<ChunkedExport, Error> {
        if !(1..=MAX_PARALLEL).contains(&options.parallel) {
            return Err(Error::InvalidArgument {
                argument: "parallel",
                reason: format!("{} is not between 1 and {MAX_PARALLEL}", options.parallel),
            });
        }
        if options.chunk_days == 0 {
            return Err(Error::InvalidArgument {
                argument: "chunk_days",
                reason: "a chunk must cover at least one day".to_owned(),
            });
        }
        let mut start = range.from();
        if let Some(checkpoint) = &options.resume {
            if options.format.needs_every_chunk() {
                return Err(Error::Checkpoint {
                    reason: "a CSV export that discovers its columns writes nothing before its last chunk, so \
                             it cannot resume; name the columns to make it resumable"
                        .to_owned(),
                });
            }
            checkpoint.check_matches(&query, &options.format)?;
            let completed = checkpoint.completed_through();
            if completed < range.from() || completed > range.to() {
                return Err(Error::Checkpoint {
                    reason: format!(
                        "its last completed day {completed} is outside {} to {}",
                        range.from(),
                        range.to()
                    ),
                });
            }
            start = completed.add_days(1);
        }
        let chunks = plan_chunks(start, range.to(), query.limit.is_some(), options.chunk_days);
        let progress = ProgressHandle::default();
        let counters = &progress.counters;
        counters
            .days_total
            .store(range.n_days() as u64, Ordering::Relaxed);
        counters
            .days_done
            .store(start.days_since(range.from()) as u64, Ordering::Relaxed);
        if let Some(checkpoint) = &options.resume {
            counters
                .events_written
                .store(checkpoint.events_written(), Ordering::Relaxed);
            counters
                .bytes_written
                .store(checkpoint.output_bytes(), Ordering::Relaxed);
        }
        Ok(ChunkedExport {
            client,
            query,
            range,
            options,
            chunks,
            progress,
        })
    }

    /// The chunks still to download, in date order.
    pub fn chunks(&self) -> &[DateRange] {
        &self.chunks
    }

    /// A live view of the progress (clone it before [`ChunkedExport::run`] consumes the export).
    pub fn progress(&self) -> ProgressHandle {
        self.progress.clone()
    }

    /// Runs the export, writing to `out` (flushed after each chunk). For JSON and CSV, a fresh export writes the
    /// opening `[` or the header first; a resumed one assumes they are already in `out`.
    pub async fn run<W>(self, out: &mut W) -> Result<ExportSummary, Error>
    where
        W: AsyncWrite + Unpin + Send + ?Sized,
    {
        let ChunkedExport {
            client,
            query,
            range,
            options,
            chunks,
            progress,
        } = self;
        let needs_every_chunk = options.format.needs_every_chunk();
        let (resumed_events, resumed_bytes, mut completed_through) = match &options.resume {
            Some(checkpoint) => (
                checkpoint.events_written(),
                checkpoint.output_bytes(),
                Some(checkpoint.completed_through()),
            ),
            None => (0, 0, None),
        };
        let mut writer = FormatWriter::new(options.format.clone(), resumed_events, resumed_bytes);
        if options.resume.is_none() && !needs_every_chunk {
            writer.begin(out).await?;
        }

        let context = Arc::new(ChunkContext {
            client: client.with_retry_policy(RetryPolicy {
                max_retries: 0,
                ..options.retry.clone()
            }),
            limiter: SharedLimiter::new(options.rate_limits, Arc::clone(client.clock())),
            query: query.clone(),
            retry: options.retry.clone(),
            spill_dir: options.spill_dir.clone(),
            discover: options.format.discovers_columns(),
            observer: options.observer.clone(),
            counters: Arc::clone(&progress.counters),
        });
        let n_chunks = chunks.len();
        let parallel = options.parallel;
        // How far ahead of the next chunk to write a download may start (see the module docs).
        let window = if needs_every_chunk {
            n_chunks.max(1)
        } else {
            2 * parallel
        };
        let memory_per_chunk = if needs_every_chunk {
            (options.memory_budget / n_chunks.max(1)).min(MAX_KEPT_CHUNK_MEMORY)
        } else {
            options.memory_budget / window
        };

        let mut emitter = Emitter {
            writer: &mut writer,
            query: &query,
            format: &options.format,
            checkpoint_path: options
                .checkpoint_path
                .as_deref()
                .filter(|_| !needs_every_chunk),
            observer: options.observer.as_ref(),
            counters: &progress.counters,
        };
        let mut tasks: JoinSet<Result<Downloaded, ChunkFailure>> = JoinSet::new();
        let mut ready: BTreeMap<usize, Downloaded> = BTreeMap::new();
        let mut failure: Option<ChunkFailure> = None;
        let mut next_dispatch = 0;
        let mut next_write = 0;
        let mut in_flight = 0;
        loop {
            // Write every chunk that is next in date order (unless the format needs every chunk first).
            let stop_at = failure.as_ref().map_or(n_chunks, |failure| failure.index);
            if needs_every_chunk {
                if failure.is_some() || ready.len() == n_chunks {
                    break;
                }
            } else {
                while next_write < stop_at
                    && let Some(done) = ready.remove(&next_write)
                {
                    emitter.write(done, out).await.map_err(|error| {
                        incomplete(
                            &range,
                            chunks[next_write],
                            0,
                            completed_through,
                            emitter.writer.n_events(),
                            error,
                        )
                    })?;
                    completed_through = Some(chunks[next_write].to());
                    next_write += 1;
                }
                if next_write >= stop_at {
                    break;
                }
            }
            // Start downloads: in date order, at most `parallel` at once, at most `window` chunks ahead.
            while failure.is_none()
                && next_dispatch < n_chunks
                && in_flight < parallel
                && next_dispatch < next_write + window
            {
                let context = Arc::clone(&context);
                let (index, chunk) = (next_dispatch, chunks[next_dispatch]);
                tasks.spawn(download_chunk(context, index, chunk, memory_per_chunk));
                next_dispatch += 1;
                in_flight += 1;
            }
            match tasks.join_next().await {
                Some(Ok(Ok(done))) => {
                    in_flight -= 1;
                    ready.insert(done.index, done);
                }
                Some(Ok(Err(failed))) => {
                    in_flight -= 1;
                    if failure
                        .as_ref()
                        .is_none_or(|first| failed.index < first.index)
                    {
                        failure = Some(failed);
                    }
                }
                Some(Err(join_error)) => match join_error.try_into_panic() {
                    Ok(panic) => std::panic::resume_unwind(panic),
                    Err(join_error) => {
                        return Err(Error::io(
                            "a download task was cancelled",
                            std::io::Error::other(join_error),
                        ));
                    }
                },
                // Nothing runs and nothing could start: only possible if the bookkeeping above is wrong, which
                // the check after the loop reports rather than returning a short export as a success.
                None => break,
            }
        }
        // Abort whatever still downloads (chunks after a failure).
        tasks.abort_all();
        if let Some(failure) = failure {
            return Err(incomplete(
                &range,
                failure.chunk,
                failure.attempts,
                completed_through,
                emitter.writer.n_events(),
                failure.error,
            ));
        }
        let all_downloaded = if needs_every_chunk {
            ready.len() == n_chunks
        } else {
            next_write == n_chunks
        };
        if !all_downloaded {
            return Err(Error::io(
                "the export stopped before its last chunk without an error",
                std::io::Error::other("chunk bookkeeping"),
            ));
        }
        if needs_every_chunk {
            let mut names = BTreeSet::new();
            for done in ready.values_mut() {
                names.append(&mut done.property_names);
            }
            emitter.writer.set_property_columns(names);
            emitter.writer.begin(out).await?;
            while let Some((index, done)) = ready.pop_first() {
                emitter.write(done, out).await.map_err(|error| {
                    incomplete(
                        &range,
                        chunks[index],
                        0,
                        completed_through,
                        emitter.writer.n_events(),
                        error,
                    )
                })?;
                completed_through = Some(chunks[index].to());
            }
        }
        writer.finish(out).await?;
        out.flush()
            .await
            .map_err(|source| Error::io("writing the export output", source))?;
        progress
            .counters
            .bytes_written
            .store(writer.n_bytes(), Ordering::Relaxed);
        Ok(ExportSummary {
            progress: progress.snapshot(),
            chunks: n_chunks,
            completed_through,
        })
    }
}

/// Splits `start..=end` into chunks of `chunk_days` days (one chunk when the query has a limit).
fn plan_chunks(start: Date, end: Date, has_limit: bool, chunk_days: u32) -> Vec<DateRange> {
    let mut chunks = Vec::new();
    let mut from = start;
    while from <= end {
        let to = if has_limit {
            end
        } else {
            from.add_days(i64::from(chunk_days) - 1).min(end)
        };
        // `from <= to` by construction.
        if let Ok(chunk) = DateRange::new(from, to) {
            chunks.push(chunk);
        }
        from = to.add_days(1);
    }
    chunks
}

fn incomplete(
    range: &DateRange,
    failed: DateRange,
    attempts: u32,
    completed_through: Option<Date>,
    events_written: u64,
    source: Error,
) -> Error {
    Error::ExportIncomplete {
        failed,
        attempts,
        completed: completed_through.and_then(|to| DateRange::new(range.from(), to).ok()),
        events_written,
        source: Box::new(source),
    }
}

/// Writes finished chunks in order and records each one.
struct Emitter<'a> {
    writer: &'a mut FormatWriter,
    query: &'a EventQuery,
    format: &'a OutputFormat,
    checkpoint_path: Option<&'a std::path::Path>,
    observer: Option<&'a ExportObserver>,
    counters: &'a Counters,
}

impl Emitter<'_> {
    async fn write<W>(&mut self, done: Downloaded, out: &mut W) -> Result<(), Error>
    where
        W: AsyncWrite + Unpin + Send + ?Sized,
    {
        let Downloaded {
            chunk,
            spilled,
            n_events,
            ..
        } = done;
        self.writer
            .write_chunk(spilled.into_reader(), n_events, out)
            .await?;
        // The checkpoint below must never count bytes that are still in a buffer of ours.
        out.flush()
            .await
            .map_err(|source| Error::io("writing the export output", source))?;
        let counters = self.counters;
        counters
            .days_done
            .fetch_add(chunk.n_days() as u64, Ordering::Relaxed);
        counters
            .events_written
            .store(self.writer.n_events(), Ordering::Relaxed);
        counters
            .bytes_written
            .store(self.writer.n_bytes(), Ordering::Relaxed);
        if let Some(path) = self.checkpoint_path {
            Checkpoint::new(
                self.query.clone(),
                self.format.clone(),
                chunk.to(),
                self.writer.n_events(),
                self.writer.n_bytes(),
            )
            .save(path)
            .await?;
        }
        if let Some(observer) = self.observer {
            observer(&ExportEvent::ChunkWritten {
                chunk,
                events: n_events,
                progress: counters.snapshot(),
            });
        }
        Ok(())
    }
}

/// What every download task shares.
struct ChunkContext {
    /// The caller's client with retries off: the download loop retries, through the limiter.
    client: Client,
    limiter: Arc<SharedLimiter>,
    query: EventQuery,
    retry: RetryPolicy,
    spill_dir: Option<PathBuf>,
    /// Whether to collect property names (CSV column discovery).
    discover: bool,
    observer: Option<ExportObserver>,
    counters: Arc<Counters>,
}

impl ChunkContext {
    fn notify(&self, event: &ExportEvent<'_>) {
        if let Some(observer) = &self.observer {
            observer(event);
        }
    }
}

/// A chunk downloaded completely.
struct Downloaded {
    index: usize,
    chunk: DateRange,
    spilled: Spilled,
    n_events: u64,
    property_names: BTreeSet<String>,
}

/// A chunk that failed for good.
struct ChunkFailure {
    index: usize,
    chunk: DateRange,
    attempts: u32,
    error: Error,
}

/// Why one attempt failed: on the wire (maybe retried) or locally (never retried).
enum AttemptError {
    Http(mp_http::Error),
    Local(Error),
}

async fn download_chunk(
    context: Arc<ChunkContext>,
    index: usize,
    chunk: DateRange,
    memory_limit: usize,
) -> Result<Downloaded, ChunkFailure> {
    let mut retry = RetryState::new(context.retry.clone());
    let mut attempts = 0;
    loop {
        attempts += 1;
        let attempt = {
            let on_wait = |reason: WaitReason, wait: Option<Duration>| {
                context.notify(&ExportEvent::RateLimited {
                    reason,
                    limits: context.limiter.limits(),
                    wait,
                });
            };
            // The permit marks the request as running until the download ends.
            let _permit = context.limiter.acquire(&on_wait).await;
            download_once(&context, chunk, memory_limit).await
        };
        let error = match attempt {
            Ok((spilled, n_events, property_names)) => {
                return Ok(Downloaded {
                    index,
                    chunk,
                    spilled,
                    n_events,
                    property_names,
                });
            }
            Err(error) => error,
        };
        let (delay, error) = match error {
            AttemptError::Http(error) => (
                retry_delay(&mut retry, &error, context.client.clock().now()),
                Error::request(EXPORT_PATH, error),
            ),
            AttemptError::Local(error) => (None, error),
        };
        let Some(delay) = delay else {
            return Err(ChunkFailure {
                index,
                chunk,
                attempts,
                error,
            });
        };
        context.counters.retries.fetch_add(1, Ordering::Relaxed);
        context.notify(&ExportEvent::ChunkRetry {
            chunk,
            attempt: attempts,
            delay,
            error: &error,
        });
        tracing::debug!(%error, from = %chunk.from(), to = %chunk.to(), attempt = attempts, "export chunk failed; downloading it again");
        context.client.clock().sleep(delay).await;
    }
}

/// One attempt: the whole chunk into a spill buffer (discarded with the attempt if it fails).
async fn download_once(
    context: &ChunkContext,
    chunk: DateRange,
    memory_limit: usize,
) -> Result<(Spilled, u64, BTreeSet<String>), AttemptError> {
    let response = context
        .client
        .send(context.query.request(chunk))
        .await
        .map_err(AttemptError::Http)?;
    let mut lines = response.lines();
    let mut spill = SpillWriter::new(memory_limit, context.spill_dir.clone());
    let mut property_names = BTreeSet::new();
    let mut n_events = 0;
    while let Some(line) = lines.next_line().await.map_err(AttemptError::Http)? {
        spill.write_line(&line).await.map_err(|source| {
            AttemptError::Local(Error::io(
                "writing a downloaded chunk to a temporary file",
                source,
            ))
        })?;
        if context.discover {
            collect_property_names(&line, &mut property_names).map_err(AttemptError::Local)?;
        }
        n_events += 1;
        context
            .counters
            .events_downloaded
            .fetch_add(1, Ordering::Relaxed);
        context
            .counters
            .bytes_downloaded
            .fetch_add(line.len() as u64 + 1, Ordering::Relaxed);
    }
    let spilled = spill.finish().await.map_err(|source| {
        AttemptError::Local(Error::io(
            "writing a downloaded chunk to a temporary file",
            source,
        ))
    })?;
    tracing::debug!(from = %chunk.from(), to = %chunk.to(), n_events, n_bytes = spilled.len(), on_disk = spilled.is_on_disk(), "export chunk downloaded");
    Ok((spilled, n_events, property_names))
}

/// The wait before downloading a chunk again after `error`, or `None` to give up: 429 and 5xx as the client
/// would retry them (with `Retry-After`), a broken or truncated body and a failed connection as a reset
/// connection; TLS failures and other statuses are final.
fn retry_delay(
    retry: &mut RetryState,
    error: &mp_http::Error,
    now: std::time::SystemTime,
) -> Option<Duration> {
    let retry_after = error.retry_after().map(|wait| wait.as_secs().to_string());
    let outcome = match (error.kind(), error.status()) {
        (ErrorKind::RateLimited, status) => Outcome::Status {
            status: status.unwrap_or(429),
            retry_after: retry_after.as_deref(),
        },
        (ErrorKind::Server | ErrorKind::Timeout, Some(status)) => Outcome::Status {
            status,
            retry_after: retry_after.as_deref(),
        },
        (ErrorKind::Transport, _) => {
            Outcome::Transport(transport_kind(error).unwrap_or(TransportErrorKind::ConnectionReset))
        }
        _ => body_outcome(error)?,
    };
    retry.next(&outcome, now)
}

/// The kind of the transport failure in `error`'s cause chain, if any.
fn transport_kind(error: &mp_http::Error) -> Option<TransportErrorKind> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(transport) = current.downcast_ref::<mp_http::TransportError>() {
            return Some(transport.kind());
        }
        cause = current.source();
    }
    None
}
