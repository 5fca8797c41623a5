//! `mp export events` and `mp export profiles`: raw data out of Mixpanel, to stdout or a
//! file, through mp-query's chunked event export and profile stream.
//!
//! # Formats
//!
//! An export writes a data file, not a result for people, so the global `-f/--format`
//! means the file format here: `jsonl` (the default, whatever stdout is: one event or
//! profile per line, exactly the bytes Mixpanel sent), `json` (one array, the same bytes
//! one per line) or, for events, `csv`. `table` and `plain` are usage errors, and so is
//! `--jq` (pipe the JSONL into `jq` instead: it streams, `--jq` would not).
//!
//! # Where the bytes go
//!
//! - stdout: through a duplicate of file descriptor 1, written on tokio's blocking pool.
//!   The process's `Output` keeps stdout locked for the commands that print results, and
//!   the duplicate needs no lock; being asynchronous, a reader that stops reading blocks
//!   the export without blocking Ctrl-C.
//! - `--output FILE`: through [`OutputFile`], so the events go to `FILE.partial` and the
//!   file gets its name only once the export is complete. An event export also keeps
//!   `FILE.checkpoint` after each chunk, so that a failed, interrupted or killed export
//!   can be continued with `--resume` without writing any event twice. A failure that
//!   completed no chunk, or an output that cannot resume (CSV without `--column`), leaves
//!   nothing behind.
//!
//! # Chunks, parallelism and rate limits
//!
//! Mixpanel allows 3 export requests per second and 60 per hour, so many small chunks
//! cost waiting: a year in one-day chunks is 365 requests, six hours of quota. Unless
//! `--chunk-days` says otherwise, the range is split evenly over `--parallel` downloads
//! (`ceil(days / parallel)` days each, at most [`MAX_DEFAULT_CHUNK_DAYS`]), so an export
//! sends about `parallel` requests, and a year about a dozen. `--parallel` defaults to
//! [`DEFAULT_EVENT_PARALLEL`], 3: the requests that may start in the same second. A chunk
//! is also the unit of `--resume` and of a retry, which is why the chunks are not larger
//! still. The waits the client-side limiter imposes are said on stderr.
//!
//! Chunks larger than their share of the memory budget ([`MEMORY_BUDGET`]) go to
//! anonymous temporary files: next to the output file with `--output` (same disk, which
//! the user chose), in the system's temporary directory (`TMPDIR`) otherwise.

mod progress;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use clap::{Args, Subcommand};
use mp_query::{
    ChunkedOptions, CohortFilter, CsvColumns, Date, DateRange, Engage, EventQuery, Export,
    ExportEvent, MAX_ENGAGE_PARALLEL, OutputFile, OutputFormat, ProfileQuery, ProfileStreamOptions,
    RateLimits, WaitReason,
};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use self::progress::{ProgressLine, Waits, human_bytes, human_count, human_duration};
use super::Context;
use crate::args::Format;
use crate::exit::{CliError, Interrupted, classify};

/// The most days a chunk covers when `--chunk-days` is not given (about a month: one
/// request per month of a long range, a month lost at most when a chunk fails for good).
pub const MAX_DEFAULT_CHUNK_DAYS: u32 = 30;

/// Event downloads at once without `--parallel`: the 3 requests per second Mixpanel lets
/// start, so that every download of a fresh export starts at once (a 4th would wait a
/// second for the rate limit, which on a short export is most of its time). A long
/// export with many chunks may gain from more.
pub const DEFAULT_EVENT_PARALLEL: u32 = 3;

/// Bytes of downloaded chunks kept in memory; the rest goes to temporary files.
pub const MEMORY_BUDGET: usize = mp_query::DEFAULT_MEMORY_BUDGET;

/// The write buffer in front of the output of a profile export.
const PROFILE_BUFFER: usize = 256 * 1024;

/// `mp export …`.
#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Export raw events (JSONL by default) from the Raw Export API.
    #[command(
        long_about = "Export raw events from the Raw Export API.\n\n\
            Writes one event per line (JSONL, the default whether or not stdout is a \
            terminal), exactly the bytes Mixpanel sent, to stdout or to --output FILE. The \
            global `-f` picks the file format: `-f json` writes one JSON array, `-f csv` a CSV \
            file (every property a column, or the --column ones). The range is split into chunks \
            downloaded in parallel within Mixpanel's rate limits and written in date order.",
        after_help = "Examples:\n  \
            mp export events --from 2024-01-01 --to 2024-01-31 > january.jsonl\n  \
            mp export events --last 7d -e Purchase -w 'properties[\"amount\"] > 100'\n  \
            mp export events --from 2024-01-01 --to 2024-12-31 -o 2024.jsonl --resume"
    )]
    Events(EventsArgs),

    /// Export user (or group) profiles (JSONL by default) from the Engage API.
    #[command(long_about = "Export user or group profiles from the Engage API.\n\n\
            Writes one profile per line (JSONL, the default whether or not stdout is a \
            terminal), exactly as Mixpanel sent it, to stdout or to --output FILE; `-f json` \
            writes one JSON array. A failed export leaves no file: profiles cannot resume. Pages are fetched concurrently \
            (at most 5 at once, the Query API's limit) and written in page order.")]
    Profiles(ProfilesArgs),
}

/// `mp export events` options.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// First day, YYYY-MM-DD (inclusive).
    #[arg(long, value_name = "DATE", value_parser = parse_day,
          required_unless_present = "last", requires = "to")]
    pub from: Option<String>,

    /// Last day, YYYY-MM-DD (inclusive); not in the future.
    #[arg(long, value_name = "DATE", value_parser = parse_day, requires = "from")]
    pub to: Option<String>,

    /// The last N days up to today (UTC), e.g. `7d`, instead of --from and --to.
    #[arg(long, value_name = "DAYS", value_parser = parse_last,
          conflicts_with_all = ["from", "to"])]
    pub last: Option<u32>,

    /// Only events named NAME (repeatable).
    #[arg(short = 'e', long = "event", value_name = "NAME")]
    pub events: Vec<String>,

    /// Only events matching this expression, e.g. 'properties["country"] == "US"'.
    #[arg(short = 'w', long = "where", value_name = "EXPR")]
    pub filter: Option<String>,

    /// At most N events, 1 to 100000 (the export is then a single request).
    #[arg(short = 'l', long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=i64::from(mp_query::MAX_EXPORT_LIMIT)))]
    pub limit: Option<u32>,

    /// Write to FILE, which appears only once the export is complete (FILE.partial until then).
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Downloads at once, 1 to 100 [default: 3, the requests Mixpanel lets start per second].
    #[arg(long, value_name = "N", default_value_t = DEFAULT_EVENT_PARALLEL, hide_default_value = true,
          value_parser = clap::value_parser!(u32).range(1..=mp_query::MAX_PARALLEL as i64))]
    pub parallel: u32,

    /// Days per request [default: the range split evenly over --parallel, at most 30].
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..=3660))]
    pub chunk_days: Option<u32>,

    /// Continue the interrupted export to --output after its last completed day.
    #[arg(long, requires = "output")]
    pub resume: bool,

    /// With `-f csv`: the property columns after event, time, distinct_id and insert_id
    /// (repeatable). Without it every property becomes a column, which needs the whole
    /// export on disk before the first row (and cannot --resume).
    #[arg(long = "column", value_name = "PROPERTY")]
    pub columns: Vec<String>,
}

/// `mp export profiles` options.
#[derive(Debug, Args)]
pub struct ProfilesArgs {
    /// Only profiles matching this expression, e.g. 'properties["plan"] == "premium"'.
    #[arg(short = 'w', long = "where", value_name = "EXPR")]
    pub filter: Option<String>,

    /// Only members of the saved cohort ID.
    #[arg(short = 'c', long, value_name = "ID")]
    pub cohort: Option<u64>,

    /// With --cohort: every profile, marked as member or not.
    #[arg(long, requires = "cohort")]
    pub include_all_users: bool,

    /// Only this property of each profile (repeatable).
    #[arg(short = 'p', long = "property", value_name = "NAME")]
    pub properties: Vec<String>,

    /// Only the profile of this distinct id (repeatable).
    #[arg(long = "distinct-id", value_name = "ID")]
    pub distinct_ids: Vec<String>,

    /// Group profiles of this group type instead of user profiles.
    #[arg(long, value_name = "GROUP")]
    pub group_id: Option<String>,

    /// Profiles as they were at this Unix time (seconds).
    #[arg(long, value_name = "TIMESTAMP")]
    pub as_of: Option<i64>,

    /// Write to FILE, which appears only once the export is complete (FILE.partial until then).
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Pages fetched at once, 1 to 5 (the Query API's limit of concurrent requests).
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..=MAX_ENGAGE_PARALLEL as i64))]
    pub parallel: u32,
}

/// Runs an `export` subcommand.
///
/// It handles Ctrl-C itself rather than being dropped by the caller: an interrupted
/// export to a file keeps what `--resume` needs and says so, then exits 130.
pub async fn run(context: &mut Context, command: &ExportCommand) -> anyhow::Result<()> {
    if context.global.jq.is_some() {
        return Err(CliError::usage("`--jq` does not apply to `mp export`")
            .with_hint("pipe the JSONL output into `jq`, which streams: `mp export … | jq …`")
            .into());
    }
    match command {
        ExportCommand::Events(args) => events(context, args).await,
        ExportCommand::Profiles(args) => profiles(context, args).await,
    }
}

/// The file format of an event export, from the global `--format` and `--column`.
fn event_format(format: Option<Format>, columns: &[String]) -> Result<OutputFormat, CliError> {
    let format = match format {
        None | Some(Format::Jsonl) => OutputFormat::Jsonl,
        Some(Format::Json) => OutputFormat::Json,
        Some(Format::Csv) if columns.is_empty() => OutputFormat::Csv(CsvColumns::Discover),
        Some(Format::Csv) => OutputFormat::Csv(CsvColumns::Fixed(columns.to_vec())),
        Some(other @ (Format::Table | Format::Plain)) => return Err(not_a_data_format(other)),
    };
    if !columns.is_empty() && !matches!(format, OutputFormat::Csv(_)) {
        return Err(CliError::usage("`--column` needs `--format csv`"));
    }
    Ok(format)
}

fn not_a_data_format(format: Format) -> CliError {
    let name = match format {
        Format::Table => "table",
        Format::Plain => "plain",
        Format::Json => "json",
        Format::Jsonl => "jsonl",
        Format::Csv => "csv",
    };
    CliError::usage(format!(
        "`mp export` writes data files, not `--format {name}`"
    ))
    .with_hint("use jsonl (the default), json, or csv for events")
}

async fn events(context: &mut Context, args: &EventsArgs) -> anyhow::Result<()> {
    let format = event_format(context.global.format, &args.columns)?;
    if args.resume && format == OutputFormat::Csv(CsvColumns::Discover) {
        return Err(CliError::usage(
            "`--resume` needs an output written as it goes: jsonl, json, or csv with `--column`",
        )
        .into());
    }
    context
        .with_client(async |context, client| {
            let export = Export::new(client.clone());
            let query = event_query(args, Date::today(client.clock().as_ref()))?;
            // Check the query before any file is touched: `from` after `to`, a day in the
            // future, a bad limit (nothing is sent, exit 3).
            let days = DateRange::parse(&query.from_date, &query.to_date)?.n_days();
            let parallel = args.parallel as usize;
            let mut options = ChunkedOptions::new(format);
            options.parallel = parallel;
            options.chunk_days = args
                .chunk_days
                .unwrap_or_else(|| default_chunk_days(days, parallel));
            options.memory_budget = MEMORY_BUDGET;
            export.chunked(query.clone(), options.clone())?;

            let show_bar = shows_progress(&context.messages, args.output.as_deref());
            let line = ProgressLine::new(context.messages, show_bar);
            options.observer = Some(event_observer(line.clone()));
            match &args.output {
                None => {
                    let chunked = export.chunked(query, options)?;
                    let progress = chunked.progress();
                    line.start(move |elapsed| render_events(&progress.snapshot(), elapsed));
                    let mut out = stdout_async()?;
                    let summary = interruptible(chunked.run(&mut out)).await;
                    line.finish();
                    let summary = summary??;
                    line.summary(&format!(
                        "exported {} events ({} days) in {}",
                        human_count(summary.progress.events_written),
                        summary.progress.days_total,
                        human_duration(line.elapsed())
                    ));
                    Ok(())
                }
                Some(path) => {
                    options.spill_dir = Some(parent_dir(path));
                    events_to_file(&line, &export, query, options, path, args.resume).await
                }
            }
        })
        .await
}

/// Runs an event export into `path` (see the module docs for what stays after a failure).
async fn events_to_file(
    line: &ProgressLine,
    export: &Export,
    query: EventQuery,
    mut options: ChunkedOptions,
    path: &Path,
    resume: bool,
) -> anyhow::Result<()> {
    let resumable = options.format != OutputFormat::Csv(CsvColumns::Discover);
    let (mut file, checkpoint) = if resume {
        OutputFile::resume(path).await?
    } else {
        // `OutputFile` keeps its checkpoint in `FILE.checkpoint` and removes it when
        // starting over; say so, since `--resume` would have continued from it.
        let mut stale = path.as_os_str().to_owned();
        stale.push(".checkpoint");
        if Path::new(&stale).exists() {
            line.note(&format!(
                "starting `{}` over; add `--resume` to continue an interrupted export instead",
                path.display()
            ));
        }
        (OutputFile::create(path).await?, None)
    };
    if let Some(checkpoint) = &checkpoint {
        line.note(&format!(
            "resuming the export to `{}` after {} ({} events already written)",
            path.display(),
            checkpoint.completed_through(),
            human_count(checkpoint.events_written())
        ));
    }
    options.resume = checkpoint;
    if resumable {
        options.checkpoint_path = Some(file.checkpoint_path().to_owned());
    }
    // A checkpoint of another query is a usage error; the files stay as they are.
    let chunked = export.chunked(query, options)?;
    let progress = chunked.progress();
    line.start(move |elapsed| render_events(&progress.snapshot(), elapsed));
    let result = interruptible(chunked.run(&mut file)).await;
    line.finish();
    match result {
        Ok(Ok(summary)) => {
            let path = file.commit().await?;
            line.summary(&format!(
                "exported {} events ({} days) to `{}` in {}",
                human_count(summary.progress.events_written),
                summary.progress.days_total,
                path.display(),
                human_duration(line.elapsed())
            ));
            Ok(())
        }
        Ok(Err(error)) => {
            let keep = resumable && file.checkpoint_path().exists();
            let partial = file.partial_path().to_owned();
            let checkpoint = file.checkpoint_path().to_owned();
            if !keep {
                file.discard().await?;
            }
            let error = anyhow::Error::new(error);
            let status = classify(&error).status;
            let message = format!("the export to `{}` stopped", path.display());
            let mut cli = CliError::new(status, message).with_source(error);
            if keep {
                cli = cli.with_hint(format!(
                    "run the same command with `--resume` to continue; `{}` and `{}` hold the \
                     completed days (delete them to start over)",
                    partial.display(),
                    checkpoint.display()
                ));
            }
            Err(cli.into())
        }
        Err(interrupted) => {
            if resumable && file.checkpoint_path().exists() {
                line.note(&format!(
                    "interrupted; run the same command with `--resume` to continue the export to `{}`",
                    path.display()
                ));
                drop(file);
            } else {
                // Nothing completed: nothing worth keeping.
                let _ = file.discard().await;
            }
            Err(interrupted.into())
        }
    }
}

/// The query the flags describe; `today` (UTC) anchors `--last`.
fn event_query(args: &EventsArgs, today: Date) -> Result<EventQuery, CliError> {
    let (from_date, to_date) = match (args.last, &args.from, &args.to) {
        (Some(days), _, _) => {
            let range =
                DateRange::last(days, today).map_err(|error| CliError::usage(error.to_string()))?;
            (range.from_date(), range.to_date())
        }
        (None, Some(from), Some(to)) => (from.clone(), to.clone()),
        // clap requires either `--last` or both dates.
        _ => return Err(CliError::usage("give `--from` and `--to`, or `--last`")),
    };
    let mut query = EventQuery::new(from_date, to_date);
    query.events = args.events.clone();
    query.filter = args.filter.clone();
    query.limit = args.limit;
    Ok(query)
}

/// `ceil(days / parallel)`, at most [`MAX_DEFAULT_CHUNK_DAYS`]: about one request per
/// download slot (see the module docs).
fn default_chunk_days(days: i64, parallel: usize) -> u32 {
    let days = u64::try_from(days.max(1)).unwrap_or(1);
    let per_slot = days.div_ceil(parallel.max(1) as u64);
    u32::try_from(per_slot)
        .unwrap_or(u32::MAX)
        .clamp(1, MAX_DEFAULT_CHUNK_DAYS)
}

/// Reports waits and retries of an event export on stderr.
fn event_observer(line: ProgressLine) -> mp_query::ExportObserver {
    let waits = Waits::new("export");
    Arc::new(move |event: &ExportEvent<'_>| match event {
        ExportEvent::RateLimited {
            reason,
            limits,
            wait,
        } => {
            if let Some(message) = waits.message(*reason, limits, *wait) {
                line.note(&message);
            }
        }
        ExportEvent::ChunkRetry {
            chunk,
            attempt,
            delay,
            error,
        } => {
            let days = if chunk.from() == chunk.to() {
                chunk.from_date()
            } else {
                format!("{} to {}", chunk.from(), chunk.to())
            };
            line.warn(&format!(
                "the download of {days} failed (attempt {attempt}: {}); starting it again in {}",
                error_chain(*error),
                human_duration(*delay)
            ));
        }
        _ => {}
    })
}

fn render_events(progress: &mp_query::Progress, elapsed: Duration) -> String {
    let rate = per_second(progress.events_downloaded, elapsed);
    format!(
        "{} events · {} · {} events/s · days {}/{}",
        human_count(progress.events_written.max(progress.events_downloaded)),
        human_bytes(progress.bytes_downloaded),
        human_count(rate),
        progress.days_done,
        progress.days_total
    )
}

fn per_second(count: u64, elapsed: Duration) -> u64 {
    let seconds = elapsed.as_secs_f64();
    if seconds < 0.05 {
        0
    } else {
        (count as f64 / seconds) as u64
    }
}

/// Counters of a profile export, shared with the progress line.
#[derive(Debug, Default)]
struct ProfileCounters {
    profiles: AtomicU64,
    bytes: AtomicU64,
    pages_done: AtomicU64,
    pages_total: AtomicU64,
}

async fn profiles(context: &mut Context, args: &ProfilesArgs) -> anyhow::Result<()> {
    let json = match context.global.format {
        None | Some(Format::Jsonl) => false,
        Some(Format::Json) => true,
        Some(other) => {
            return Err(not_a_data_format(other)
                .with_hint("profiles export as jsonl (the default) or json")
                .into());
        }
    };
    let query = ProfileQuery {
        filter: args.filter.clone(),
        cohort: args.cohort.map(CohortFilter::Id),
        include_all_users: args.include_all_users,
        output_properties: args.properties.clone(),
        distinct_ids: (!args.distinct_ids.is_empty()).then(|| args.distinct_ids.clone()),
        data_group_id: args.group_id.clone(),
        as_of_timestamp: args.as_of,
        ..ProfileQuery::default()
    };
    context
        .with_client(async |context, client| {
            let show_bar = shows_progress(&context.messages, args.output.as_deref());
            let line = ProgressLine::new(context.messages, show_bar);
            let waits = Arc::new(Waits::new("Query API"));
            let mut options = ProfileStreamOptions::new();
            options.parallel = args.parallel as usize;
            options.rate_limits = RateLimits::QUERY_API;
            options.on_rate_limit = Some({
                let line = line.clone();
                Arc::new(move |reason: WaitReason, wait: Option<Duration>| {
                    if let Some(message) = waits.message(reason, &RateLimits::QUERY_API, wait) {
                        line.note(&message);
                    }
                })
            });
            let stream = Engage::new(client).profiles(query, options)?;
            let counters = Arc::new(ProfileCounters::default());
            line.start({
                let counters = Arc::clone(&counters);
                move |elapsed| render_profiles(&counters, elapsed)
            });
            let result = match &args.output {
                None => {
                    let mut out = stdout_async()?;
                    interruptible(write_profiles(stream, json, &counters, &mut out)).await
                }
                Some(path) => {
                    let mut file = OutputFile::create(path).await?;
                    match interruptible(write_profiles(stream, json, &counters, &mut file)).await {
                        Ok(Ok(())) => {
                            file.commit().await?;
                            Ok(Ok(()))
                        }
                        other => {
                            // Profiles cannot resume (Mixpanel's session expires), so a
                            // failed export leaves nothing.
                            let _ = file.discard().await;
                            other
                        }
                    }
                }
            };
            line.finish();
            result??;
            line.summary(&format!(
                "exported {} profiles{} in {}",
                human_count(counters.profiles.load(Ordering::Relaxed)),
                args.output
                    .as_ref()
                    .map(|path| format!(" to `{}`", path.display()))
                    .unwrap_or_default(),
                human_duration(line.elapsed())
            ));
            Ok(())
        })
        .await
}

/// Writes every profile of `stream` to `out`, one per line (in a JSON array with `json`).
async fn write_profiles<W: AsyncWrite + Unpin>(
    mut stream: mp_query::ProfileStream,
    json: bool,
    counters: &ProfileCounters,
    out: &mut W,
) -> anyhow::Result<()> {
    let mut out = tokio::io::BufWriter::with_capacity(PROFILE_BUFFER, out);
    let mut n_profiles: u64 = 0;
    if json {
        out.write_all(b"[").await?;
    }
    let mut compact = Vec::new();
    while let Some(page) = stream.next_page().await? {
        if let (Some(total), Some(page_size)) = (page.total, page.page_size)
            && page_size > 0
        {
            counters
                .pages_total
                .store(total.div_ceil(u64::from(page_size)), Ordering::Relaxed);
        }
        for profile in &page.profiles {
            let mut text = profile.get().as_bytes();
            // One profile per line: a profile sent pretty-printed is re-written compactly
            // (its values unchanged); Mixpanel sends compact JSON, which passes as is.
            if text.contains(&b'\n') {
                compact.clear();
                let value: serde_json::Value = serde_json::from_slice(text)?;
                serde_json::to_writer(&mut compact, &value)?;
                text = &compact;
            }
            if json {
                out.write_all(if n_profiles == 0 { b"\n" } else { b",\n" })
                    .await?;
                out.write_all(text).await?;
            } else {
                out.write_all(text).await?;
                out.write_all(b"\n").await?;
            }
            n_profiles += 1;
            counters
                .bytes
                .fetch_add(text.len() as u64 + 1, Ordering::Relaxed);
        }
        counters.profiles.store(n_profiles, Ordering::Relaxed);
        counters.pages_done.fetch_add(1, Ordering::Relaxed);
    }
    if json {
        out.write_all(if n_profiles == 0 { b"]\n" } else { b"\n]\n" })
            .await?;
    }
    out.flush().await?;
    Ok(())
}

fn render_profiles(counters: &ProfileCounters, elapsed: Duration) -> String {
    let profiles = counters.profiles.load(Ordering::Relaxed);
    let total = counters.pages_total.load(Ordering::Relaxed);
    format!(
        "{} profiles · {} · {} profiles/s · pages {}/{}",
        human_count(profiles),
        human_bytes(counters.bytes.load(Ordering::Relaxed)),
        human_count(per_second(profiles, elapsed)),
        counters.pages_done.load(Ordering::Relaxed),
        if total == 0 {
            "?".to_owned()
        } else {
            total.to_string()
        }
    )
}

/// An error's own message followed by its causes, for one line on stderr.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(current) = cause {
        let message = current.to_string();
        if !text.ends_with(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        cause = current.source();
    }
    text
}

/// Runs `future` unless Ctrl-C comes first.
///
/// `biased` polls the signal first, so its handler is installed before anything is sent
/// (otherwise an early Ctrl-C would kill the process with the default action).
async fn interruptible<T>(future: impl Future<Output = T>) -> Result<T, Interrupted> {
    tokio::select! {
        biased;
        _ = tokio::signal::ctrl_c() => Err(Interrupted),
        result = future => Ok(result),
    }
}

/// The directory of `path`, for temporary files on the same disk.
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// Returns true if and only if the progress line is drawn: stderr is a terminal, `--quiet`
/// is off, and the data does not go to that same terminal.
fn shows_progress(messages: &crate::output::Messages, output: Option<&Path>) -> bool {
    use std::io::IsTerminal;
    !messages.quiet
        && std::io::stderr().is_terminal()
        && (output.is_some() || !std::io::stdout().is_terminal())
}

/// stdout as an asynchronous file: a duplicate of its descriptor, which needs none of
/// `std::io::Stdout`'s lock (held by the process's `Output`) and is written on tokio's
/// blocking pool.
fn stdout_async() -> std::io::Result<tokio::fs::File> {
    #[cfg(unix)]
    let file = {
        use std::os::fd::AsFd;
        std::fs::File::from(std::io::stdout().as_fd().try_clone_to_owned()?)
    };
    #[cfg(windows)]
    let file = {
        use std::os::windows::io::AsHandle;
        std::fs::File::from(std::io::stdout().as_handle().try_clone_to_owned()?)
    };
    Ok(tokio::fs::File::from_std(file))
}

/// `7`, `7d`: a number of days, at least 1.
fn parse_last(value: &str) -> Result<u32, String> {
    let digits = value.strip_suffix('d').unwrap_or(value);
    match digits.parse::<u32>() {
        Ok(days) if days >= 1 => Ok(days),
        _ => Err(format!(
            "invalid range `{value}`: expected a number of days such as `7d`"
        )),
    }
}

/// `YYYY-MM-DD`, a day that exists.
fn parse_day(value: &str) -> Result<String, String> {
    Date::parse(value)
        .map(|_| value.to_owned())
        .ok_or_else(|| format!("invalid date `{value}`: expected YYYY-MM-DD"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::ExitStatus;

    #[test]
    fn chunks_follow_the_parallelism_and_stay_under_a_month() {
        assert_eq!(default_chunk_days(30, 4), 8);
        assert_eq!(default_chunk_days(7, 8), 1);
        assert_eq!(default_chunk_days(7, 1), 7);
        assert_eq!(default_chunk_days(1, 4), 1);
        assert_eq!(default_chunk_days(365, 4), MAX_DEFAULT_CHUNK_DAYS);
        assert_eq!(default_chunk_days(0, 0), 1);
    }

    #[test]
    fn relative_ranges_and_days() {
        assert_eq!(parse_last("7d"), Ok(7));
        assert_eq!(parse_last("30"), Ok(30));
        assert!(parse_last("0d").is_err());
        assert!(parse_last("1w").is_err());
        assert!(parse_day("2024-02-29").is_ok());
        assert!(parse_day("2023-02-29").is_err());
    }

    #[test]
    fn the_global_format_is_the_file_format() {
        assert_eq!(event_format(None, &[]).unwrap(), OutputFormat::Jsonl);
        assert_eq!(
            event_format(Some(Format::Json), &[]).unwrap(),
            OutputFormat::Json
        );
        assert_eq!(
            event_format(Some(Format::Csv), &[]).unwrap(),
            OutputFormat::Csv(CsvColumns::Discover)
        );
        assert_eq!(
            event_format(Some(Format::Csv), &["plan".to_owned()]).unwrap(),
            OutputFormat::Csv(CsvColumns::Fixed(vec!["plan".to_owned()]))
        );
        for (format, columns) in [
            (Some(Format::Table), vec![]),
            (Some(Format::Plain), vec![]),
            (None, vec!["plan".to_owned()]),
        ] {
            let error = event_format(format, &columns).unwrap_err();
            assert_eq!(error.status(), ExitStatus::Usage);
        }
    }
}
