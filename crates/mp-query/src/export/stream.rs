//! [`Export`], the export service, and [`EventStream`], one export request read line by line.
//!
//! # Retries and duplicates
//!
//! The client retries a request that fails before its body starts (429, 5xx, a refused connection). A stream
//! that breaks *after* it started is different: the official client sends the request again and yields the events
//! it already yielded a second time. [`EventStream`] sends it again only while nothing has been handed to the
//! caller; after the first event, a broken stream is an error. For long ranges, [`crate::ChunkedExport`] downloads
//! each chunk completely before handing it over, so it can retry any chunk from its start.
//!
//! # Lines that are not events
//!
//! Every line of an export must be a JSON object. A line that is not (the `terminated early` marker Mixpanel
//! writes when it gives up mid-stream, or anything else) is treated as a sign that the stream is broken: it is an
//! error, never skipped. The official client logs and skips lines that do not parse, which can silently drop data.

use bytes::Bytes;
use futures_util::Stream;
use mp_http::{Client, ErrorKind, JsonLines, Outcome, Request, RetryState, TransportErrorKind};

use crate::export::query::EXPORT_PATH;
use crate::{ChunkedExport, ChunkedOptions, Error, Event, EventQuery, EventRef, ProjectTimeZone};

/// The raw event export service: one streamed request ([`Export::events`]) or a chunked, resumable export
/// ([`Export::chunked`]).
///
/// A resumable export to a file, the way `mp export events --output FILE --resume` runs it:
///
/// ```no_run
/// # async fn example(client: mp_http::Client) -> Result<(), mp_query::Error> {
/// use mp_query::{ChunkedOptions, EventQuery, Export, OutputFile, OutputFormat};
///
/// // Continue after the last completed day if a previous run left a checkpoint.
/// let (mut output, checkpoint) = OutputFile::resume("events.jsonl").await?;
/// let mut options = ChunkedOptions::new(OutputFormat::Jsonl);
/// options.parallel = 4;
/// options.resume = checkpoint;
/// options.checkpoint_path = Some(output.checkpoint_path().to_owned());
/// let query = EventQuery::new("2024-01-01", "2024-01-31");
/// let summary = Export::new(client).chunked(query, options)?.run(&mut output).await?;
/// // Only now does `events.jsonl` exist.
/// output.commit().await?;
/// # let _ = summary;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Export {
    client: Client,
    time_zone: ProjectTimeZone,
}

impl Export {
    /// The service over `client` (region, project and credentials already chosen).
    pub fn new(client: Client) -> Export {
        Export {
            client,
            time_zone: ProjectTimeZone::Unknown,
        }
    }

    /// Checks `to_date` against today in the project's time zone (default [`ProjectTimeZone::Unknown`]).
    pub fn with_project_time_zone(mut self, time_zone: ProjectTimeZone) -> Export {
        self.time_zone = time_zone;
        self
    }

    /// The client requests go through.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The project time zone used for the date check.
    pub fn project_time_zone(&self) -> ProjectTimeZone {
        self.time_zone
    }

    /// Sends one export request for the whole range of `query` and returns its lines as they arrive.
    ///
    /// The query is checked first (dates, order, not in the future, limit); nothing is sent if it is wrong.
    pub async fn events(&self, query: &EventQuery) -> Result<EventStream, Error> {
        let range = query.check(self.time_zone, self.client.clock().as_ref())?;
        let request = query.request(range);
        let lines = send(&self.client, request.clone()).await?;
        Ok(EventStream {
            client: self.client.clone(),
            retry: RetryState::new(self.client.retry_policy().clone()),
            request,
            lines,
            current: Bytes::new(),
            n_events: 0,
            on_batch: None,
            finished: false,
        })
    }

    /// Prepares a chunked export of `query` (see [`ChunkedExport`]). The query and options are checked now;
    /// nothing is sent until [`ChunkedExport::run`].
    pub fn chunked(
        &self,
        query: EventQuery,
        options: ChunkedOptions,
    ) -> Result<ChunkedExport, Error> {
        let range = query.check(self.time_zone, self.client.clock().as_ref())?;
        ChunkedExport::new(self.client.clone(), query, range, options)
    }
}

async fn send(client: &Client, request: Request) -> Result<JsonLines, Error> {
    let response = client
        .send(request)
        .await
        .map_err(|error| Error::request(EXPORT_PATH, error))?;
    Ok(response.lines())
}

type BatchCallback = Box<dyn FnMut(u64) + Send>;

/// The lines of one export request, in order, as raw bytes ([`EventStream::next_raw`]), borrowed events
/// ([`EventStream::next_ref`]) or typed events ([`EventStream::next_event`]).
///
/// Memory stays at about one network chunk whatever the size of the export.
pub struct EventStream {
    client: Client,
    request: Request,
    retry: RetryState,
    lines: JsonLines,
    /// The line [`EventStream::next_ref`] lent out last.
    current: Bytes,
    n_events: u64,
    on_batch: Option<(u64, BatchCallback)>,
    finished: bool,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("n_events", &self.n_events)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl EventStream {
    /// Calls `callback` with the running count of events every `batch_size` events, and once at the end when
    /// the count is not a multiple of `batch_size` (the official client's `on_batch`, with 1000).
    pub fn with_on_batch(
        mut self,
        batch_size: u64,
        callback: impl FnMut(u64) + Send + 'static,
    ) -> EventStream {
        self.on_batch = Some((batch_size.max(1), Box::new(callback)));
        self
    }

    /// Events read so far.
    pub fn n_events(&self) -> u64 {
        self.n_events
    }

    /// The next event, exactly the bytes of its line as Mixpanel sent it (without the line end); `None` at the
    /// end.
    pub async fn next_raw(&mut self) -> Result<Option<Bytes>, Error> {
        loop {
            match self.lines.next_line().await {
                Ok(Some(line)) => {
                    self.n_events += 1;
                    if let Some((batch_size, callback)) = &mut self.on_batch
                        && self.n_events.is_multiple_of(*batch_size)
                    {
                        callback(self.n_events);
                    }
                    return Ok(Some(line));
                }
                Ok(None) => {
                    if !self.finished {
                        self.finished = true;
                        if let Some((batch_size, callback)) = &mut self.on_batch
                            && !self.n_events.is_multiple_of(*batch_size)
                        {
                            callback(self.n_events);
                        }
                    }
                    return Ok(None);
                }
                Err(error) => {
                    // Nothing was handed out yet, so sending again cannot duplicate anything.
                    if self.n_events == 0
                        && let Some(outcome) = body_outcome(&error)
                        && let Some(delay) = self.retry.next(&outcome, self.client.clock().now())
                    {
                        tracing::debug!(%error, delay_ms = delay.as_millis() as u64, "export stream broke before its first event; sending again");
                        self.client.clock().sleep(delay).await;
                        self.lines = send(&self.client, self.request.clone()).await?;
                        continue;
                    }
                    return Err(Error::request(EXPORT_PATH, error));
                }
            }
        }
    }

    /// The next event, borrowed from its line (valid until the next call); `None` at the end.
    pub async fn next_ref(&mut self) -> Result<Option<EventRef<'_>>, Error> {
        match self.next_raw().await? {
            None => Ok(None),
            Some(line) => {
                self.current = line;
                EventRef::parse(&self.current).map(Some)
            }
        }
    }

    /// The next event with its properties parsed; `None` at the end.
    pub async fn next_event(&mut self) -> Result<Option<Event>, Error> {
        match self.next_raw().await? {
            None => Ok(None),
            Some(line) => Event::parse(&line).map(Some),
        }
    }

    /// The raw lines as a [`Stream`]; it ends after the first error.
    pub fn into_raw_stream(self) -> impl Stream<Item = Result<Bytes, Error>> + Send {
        futures_util::stream::unfold(Some(self), |state| async move {
            let mut stream = state?;
            match stream.next_raw().await {
                Ok(Some(line)) => Some((Ok(line), Some(stream))),
                Ok(None) => None,
                Err(error) => Some((Err(error), None)),
            }
        })
    }

    /// The typed events as a [`Stream`]; it ends after the first error.
    pub fn into_event_stream(self) -> impl Stream<Item = Result<Event, Error>> + Send {
        futures_util::stream::unfold(Some(self), |state| async move {
            let mut stream = state?;
            match stream.next_event().await {
                Ok(Some(event)) => Some((Ok(event), Some(stream))),
                Ok(None) => None,
                Err(error) => Some((Err(error), None)),
            }
        })
    }
}

/// How the retry decision should see a failure while reading a body: a broken or truncated stream is a reset
/// connection; anything else is not retried here.
pub(crate) fn body_outcome(error: &mp_http::Error) -> Option<Outcome<'static>> {
    match error.kind() {
        ErrorKind::TruncatedStream | ErrorKind::InvalidResponse | ErrorKind::Transport => {
            Some(Outcome::Transport(TransportErrorKind::ConnectionReset))
        }
        ErrorKind::Timeout => Some(Outcome::Transport(TransportErrorKind::Timeout)),
        _ => None,
    }
}
