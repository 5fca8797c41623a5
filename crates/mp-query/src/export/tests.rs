//! Tests of the export: a scripted `mp_http::Transport` plays Mixpanel's export endpoint over a small dataset,
//! with faults per day (statuses, connections dropped mid-body, the `terminated early` marker, delays), and a
//! virtual clock makes every retry and rate-limit wait instant.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use mp_http::{
    BoxFuture, ClientBuilder, Endpoints, HttpRequest, HttpResponse, Region, ResponseBody,
    RetryPolicy, Transport, TransportError, TransportErrorKind, VirtualClock,
};

use super::limiter::SharedLimiter;
use super::spill::SpillWriter;
use crate::{
    Checkpoint, ChunkedOptions, CsvColumns, Date, Error, Event, EventQuery, EventRef, Export,
    ExportEvent, OutputFile, OutputFormat, ProjectTimeZone, RateDecision, RateLimiter, RateLimits,
    WaitReason,
};

// ---------------------------------------------------------------------------------------------------------------
// The scripted export server.

/// What one response to a day's request does.
#[derive(Debug, Clone)]
enum Fault {
    /// Answer with this status and no body.
    Status(u16, Option<&'static str>),
    /// Send this many lines, then break the connection.
    DropAfter(usize),
    /// Send this many lines, then Mixpanel's truncation marker.
    TerminatedEarly(usize),
    /// Insert this line after the first event.
    StrayLine(&'static str),
    /// Delay the first byte of the body by this long (tokio time, paused in tests).
    Delay(Duration),
}

#[derive(Debug, Default)]
struct FakeExport {
    /// Lines per day.
    days: BTreeMap<String, Vec<String>>,
    /// Faults per `from_date`, one per request, in order; `None` entries mean "answer normally".
    faults: Mutex<HashMap<String, VecDeque<Option<Fault>>>>,
    /// Faults applied to every request of a `from_date`, after the scripted ones ran out.
    persistent: Mutex<HashMap<String, Fault>>,
    /// `from_date` of every request, in order.
    requests: Mutex<Vec<String>>,
    /// Full request URLs, in order.
    urls: Mutex<Vec<String>>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: AtomicUsize,
    /// When set, the virtual time of every request.
    clock: Option<VirtualClock>,
    request_times: Mutex<Vec<SystemTime>>,
}

impl FakeExport {
    /// `n_days` days from 2024-01-01; day `d` (from 0) has `sizes(d)` events.
    fn new(n_days: usize, sizes: impl Fn(usize) -> usize) -> Arc<FakeExport> {
        let mut days = BTreeMap::new();
        let start = Date::parse("2024-01-01").unwrap();
        for day in 0..n_days {
            let date = start.add_days(day as i64).to_string();
            let time = 1_704_067_200 + day as i64 * 86_400;
            let lines = (0..sizes(day))
                .map(|index| {
                    format!(
                        r#"{{"event":"E{}","properties":{{"time":{},"distinct_id":"u{}","$insert_id":"{date}-{index}","plan":"p{}","note":"a, \"b\""}}}}"#,
                        index % 3,
                        time + index as i64,
                        index % 7,
                        index % 2
                    )
                })
                .collect();
            days.insert(date, lines);
        }
        Arc::new(FakeExport {
            days,
            ..FakeExport::default()
        })
    }

    fn script(&self, from_date: &str, faults: Vec<Option<Fault>>) {
        self.faults
            .lock()
            .unwrap()
            .insert(from_date.to_owned(), faults.into());
    }

    fn always(&self, from_date: &str, fault: Fault) {
        self.persistent
            .lock()
            .unwrap()
            .insert(from_date.to_owned(), fault);
    }

    fn heal(&self) {
        self.persistent.lock().unwrap().clear();
        self.faults.lock().unwrap().clear();
    }

    /// Every line of the days `from..=to`, each with a newline.
    fn expected(&self, from: &str, to: &str) -> String {
        self.days
            .range(from.to_owned()..=to.to_owned())
            .flat_map(|(_, lines)| lines.iter().map(|line| format!("{line}\n")))
            .collect()
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    fn respond(&self, request: &HttpRequest) -> HttpResponse {
        let query = request.url.split_once('?').map_or("", |(_, query)| query);
        let params: HashMap<String, String> = query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(key, value)| (key.to_owned(), value.replace("%22", "\"")))
            .collect();
        let from = params.get("from_date").cloned().unwrap_or_default();
        let to = params.get("to_date").cloned().unwrap_or_default();
        self.requests.lock().unwrap().push(from.clone());
        if let Some(clock) = &self.clock {
            self.request_times
                .lock()
                .unwrap()
                .push(mp_http::Clock::now(clock));
        }
        self.urls.lock().unwrap().push(request.url.clone());
        let fault = {
            let mut faults = self.faults.lock().unwrap();
            match faults.get_mut(&from).and_then(VecDeque::pop_front) {
                Some(fault) => fault,
                None => self.persistent.lock().unwrap().get(&from).cloned(),
            }
        };
        let mut lines: Vec<String> = self
            .days
            .range(from.clone()..=to)
            .flat_map(|(_, lines)| lines.iter().cloned())
            .collect();
        let mut broken = false;
        let mut delay = Duration::ZERO;
        match fault {
            None => {}
            Some(Fault::Status(status, retry_after)) => {
                let mut headers = http::HeaderMap::new();
                if let Some(retry_after) = retry_after {
                    headers.insert("retry-after", retry_after.parse().unwrap());
                }
                return HttpResponse {
                    status: http::StatusCode::from_u16(status).unwrap(),
                    headers,
                    body: ResponseBody::from_bytes(r#"{"error": "scripted"}"#),
                };
            }
            Some(Fault::DropAfter(n)) => {
                lines.truncate(n);
                broken = true;
            }
            Some(Fault::TerminatedEarly(n)) => {
                lines.truncate(n);
                lines.push("export terminated early".to_owned());
            }
            Some(Fault::StrayLine(line)) => lines.insert(1.min(lines.len()), line.to_owned()),
            Some(Fault::Delay(duration)) => delay = duration,
        }
        let mut body = String::new();
        for line in &lines {
            body.push_str(line);
            body.push('\n');
        }
        // Small, odd-sized network chunks, so lines cross chunk boundaries everywhere.
        let mut chunks: Vec<Result<Bytes, TransportError>> = body
            .into_bytes()
            .chunks(777)
            .map(|chunk| Ok(Bytes::copy_from_slice(chunk)))
            .collect();
        if broken {
            chunks.push(Err(TransportError::new(
                TransportErrorKind::ConnectionReset,
                "scripted connection drop",
            )));
        }
        let in_flight = Arc::clone(&self.in_flight);
        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let guard = InFlight(in_flight);
        let stream = futures_util::stream::unfold(
            (chunks.into_iter(), delay, guard),
            |(mut chunks, delay, guard)| async move {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                let chunk = chunks.next()?;
                Some((chunk, (chunks, Duration::ZERO, guard)))
            },
        );
        HttpResponse {
            status: http::StatusCode::OK,
            headers: http::HeaderMap::new(),
            body: ResponseBody::from_stream(stream),
        }
    }
}

/// Counts a response body as in flight until it is dropped.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Transport for FakeExport {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        let response = self.respond(&request);
        Box::pin(async move { Ok(response) })
    }
}

/// 2024-02-01T12:00:00Z: after every day of the dataset.
fn clock() -> VirtualClock {
    VirtualClock::new(UNIX_EPOCH + Duration::from_secs(1_706_788_800))
}

fn export_over(fake: &Arc<FakeExport>, clock: &VirtualClock) -> Export {
    let client = ClientBuilder::new(Endpoints::regional(Region::Us))
        .with_transport(Arc::clone(fake) as Arc<dyn Transport>)
        .with_clock(Arc::new(clock.clone()))
        .with_project_id("1")
        .build()
        .unwrap();
    Export::new(client)
}

fn options(format: OutputFormat, parallel: usize) -> ChunkedOptions {
    let mut options = ChunkedOptions::new(format);
    options.parallel = parallel;
    options.retry = RetryPolicy {
        max_retries: 3,
        ..options.retry
    };
    options
}

/// Runs a chunked export to memory.
async fn run(
    export: &Export,
    query: EventQuery,
    options: ChunkedOptions,
) -> (Vec<u8>, Result<crate::ExportSummary, Error>) {
    let mut out = Vec::new();
    let result = match export.chunked(query, options) {
        Ok(chunked) => chunked.run(&mut out).await,
        Err(error) => Err(error),
    };
    (out, result)
}

fn insert_ids(output: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(output)
        .lines()
        .map(|line| {
            Event::parse(line.as_bytes())
                .unwrap()
                .insert_id
                .unwrap_or_default()
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------------------------
// Chunk plans and date checks.

#[test]
fn ranges_split_into_day_chunks() {
    let fake = FakeExport::new(0, |_| 0);
    let export = export_over(&fake, &clock());
    let check =
        |from: &str, to: &str, chunk_days: u32, limit: Option<u32>, expect: &[(&str, &str)]| {
            let mut query = EventQuery::new(from, to);
            query.limit = limit;
            let mut options = ChunkedOptions::new(OutputFormat::Jsonl);
            options.chunk_days = chunk_days;
            let chunked = export.chunked(query, options).unwrap();
            let chunks: Vec<(String, String)> = chunked
                .chunks()
                .iter()
                .map(|chunk| (chunk.from_date(), chunk.to_date()))
                .collect();
            let expect: Vec<(String, String)> = expect
                .iter()
                .map(|(from, to)| (from.to_string(), to.to_string()))
                .collect();
            assert_eq!(chunks, expect);
        };
    check(
        "2024-01-30",
        "2024-02-02",
        1,
        None,
        &[
            ("2024-01-30", "2024-01-30"),
            ("2024-01-31", "2024-01-31"),
            ("2024-02-01", "2024-02-01"),
            ("2024-02-02", "2024-02-02"),
        ],
    );
    check(
        "2024-01-01",
        "2024-01-05",
        2,
        None,
        &[
            ("2024-01-01", "2024-01-02"),
            ("2024-01-03", "2024-01-04"),
            ("2024-01-05", "2024-01-05"),
        ],
    );
    // Mixpanel applies `limit` per request: a limited query is one request.
    check(
        "2024-01-01",
        "2024-01-05",
        1,
        Some(10),
        &[("2024-01-01", "2024-01-05")],
    );
}

#[tokio::test]
async fn bad_queries_are_refused_before_anything_is_sent() {
    let fake = FakeExport::new(3, |_| 1);
    let clock = clock();
    let export = export_over(&fake, &clock);
    let refused = |query: EventQuery, export: &Export| match export
        .chunked(query, ChunkedOptions::new(OutputFormat::Jsonl))
    {
        Err(error) => error.to_string(),
        Ok(_) => panic!("expected the query to be refused"),
    };
    // Today is 2024-02-01 on the virtual clock.
    assert_eq!(
        refused(EventQuery::new("2024-01-01", "2024-02-03"), &export),
        "`to_date` 2024-02-03 is in the future (today is 2024-02-01 UTC)"
    );
    // With a known time zone, "today" is exact: 2024-02-02 is tomorrow in UTC.
    let utc = export.clone().with_project_time_zone(ProjectTimeZone::Utc);
    assert!(
        refused(EventQuery::new("2024-01-01", "2024-02-02"), &utc).contains("later than today")
    );
    // 12:00 UTC is already 2024-02-02 at UTC+13.
    let tonga = export
        .clone()
        .with_project_time_zone(ProjectTimeZone::OffsetMinutes(13 * 60));
    assert!(
        tonga
            .chunked(
                EventQuery::new("2024-01-01", "2024-02-02"),
                ChunkedOptions::new(OutputFormat::Jsonl)
            )
            .is_ok()
    );
    assert_eq!(
        refused(EventQuery::new("2024-01-05", "2024-01-01"), &export),
        "`from_date` 2024-01-05 is after `to_date` 2024-01-01"
    );
    let mut limited = EventQuery::new("2024-01-01", "2024-01-02");
    limited.limit = Some(100_001);
    assert_eq!(
        refused(limited, &export),
        "invalid argument `limit`: 100001 is not between 1 and 100000"
    );
    assert!(
        export
            .events(&EventQuery::new("2024-1-1", "2024-01-02"))
            .await
            .is_err()
    );
    assert!(fake.requests().is_empty());
}

// ---------------------------------------------------------------------------------------------------------------
// Order, parallelism and memory.

#[tokio::test(start_paused = true)]
async fn parallel_1_and_8_write_the_same_bytes_in_date_order() {
    let n_days = 12;
    let fake = FakeExport::new(n_days, |day| 40 + day * 13);
    // Later days answer sooner, so parallel downloads finish out of order.
    for day in 0..n_days {
        let date = Date::parse("2024-01-01")
            .unwrap()
            .add_days(day as i64)
            .to_string();
        fake.script(
            &date,
            vec![Some(Fault::Delay(Duration::from_millis(
                ((n_days - day) * 10) as u64,
            )))],
        );
    }
    let clock = clock();
    let export = export_over(&fake, &clock);
    let query = EventQuery::new("2024-01-01", "2024-01-12");
    let (sequential, result) = run(&export, query.clone(), options(OutputFormat::Jsonl, 1)).await;
    let summary = result.unwrap();
    assert_eq!(summary.chunks, 12);
    assert_eq!(summary.progress.days_done, 12);
    assert_eq!(fake.max_in_flight.load(Ordering::SeqCst), 1);

    let fake = FakeExport::new(n_days, |day| 40 + day * 13);
    for day in 0..n_days {
        let date = Date::parse("2024-01-01")
            .unwrap()
            .add_days(day as i64)
            .to_string();
        fake.script(
            &date,
            vec![Some(Fault::Delay(Duration::from_millis(
                ((n_days - day) * 10) as u64,
            )))],
        );
    }
    let export = export_over(&fake, &clock);
    let (parallel, result) = run(&export, query, options(OutputFormat::Jsonl, 8)).await;
    let summary = result.unwrap();
    assert!(fake.max_in_flight.load(Ordering::SeqCst) > 1);
    assert!(fake.max_in_flight.load(Ordering::SeqCst) <= 8);
    assert_eq!(
        summary.progress.events_written,
        fake.expected("2024-01-01", "2024-01-12").lines().count() as u64
    );
    assert_eq!(sequential, parallel);
    assert_eq!(
        String::from_utf8(parallel).unwrap(),
        fake.expected("2024-01-01", "2024-01-12")
    );
    // One request per day, each for exactly its day.
    let mut requested = fake.requests();
    requested.sort();
    assert_eq!(requested.len(), 12);
    requested.dedup();
    assert_eq!(requested.len(), 12);
    let url = fake.urls.lock().unwrap()[0].clone();
    assert!(
        url.starts_with("https://data.mixpanel.com/api/2.0/export?"),
        "{url}"
    );
    assert!(!url.contains("query_origin"), "{url}");
}

#[tokio::test(start_paused = true)]
async fn downloads_stay_within_a_window_of_the_next_chunk_to_write() {
    let n_days = 20;
    let fake = FakeExport::new(n_days, |_| 30);
    // The first day is slow: every later day is ready long before it.
    fake.script(
        "2024-01-01",
        vec![Some(Fault::Delay(Duration::from_secs(5)))],
    );
    let clock = clock();
    let export = export_over(&fake, &clock);
    let written_at: Arc<Mutex<Vec<(String, usize)>>> = Arc::default();
    let mut options = options(OutputFormat::Jsonl, 3);
    options.rate_limits = RateLimits::UNLIMITED;
    let log = Arc::clone(&written_at);
    let requests = Arc::clone(&fake);
    options.observer = Some(Arc::new(move |event: &ExportEvent<'_>| {
        if let ExportEvent::ChunkWritten { chunk, .. } = event {
            log.lock()
                .unwrap()
                .push((chunk.from_date(), requests.requests().len()));
        }
    }));
    let (output, result) = run(
        &export,
        EventQuery::new("2024-01-01", "2024-01-20"),
        options,
    )
    .await;
    result.unwrap();
    let output = String::from_utf8(output).unwrap();
    let expected = fake.expected("2024-01-01", "2024-01-20");
    let first_difference = output
        .lines()
        .zip(expected.lines())
        .position(|(a, b)| a != b);
    assert_eq!(
        (output.lines().count(), first_difference),
        (expected.lines().count(), None)
    );
    // While day 1 was slow, at most `2 × parallel` = 6 chunks were started: the rest waited instead of piling up
    // in memory or on disk.
    let written_at = written_at.lock().unwrap();
    assert_eq!(written_at[0], ("2024-01-01".to_owned(), 6));
    for (index, (_, n_requests)) in written_at.iter().enumerate() {
        assert!(*n_requests <= index + 6, "{written_at:?}");
    }
}

#[tokio::test]
async fn a_chunk_beyond_its_memory_share_goes_to_a_temporary_file() {
    let spill_dir = tempfile::tempdir().unwrap();
    let mut writer = SpillWriter::new(1000, Some(spill_dir.path().to_owned()));
    let line = vec![b'x'; 99];
    for _ in 0..9 {
        writer.write_line(&line).await.unwrap();
    }
    // 900 bytes: still in memory.
    let spilled_small = {
        let mut small = SpillWriter::new(1000, None);
        for _ in 0..9 {
            small.write_line(&line).await.unwrap();
        }
        small.finish().await.unwrap()
    };
    assert!(!spilled_small.is_on_disk());
    assert_eq!(spilled_small.memory_len(), 900);
    // 100 kB: on disk, nothing kept in memory.
    for _ in 0..1000 {
        writer.write_line(&line).await.unwrap();
    }
    let spilled = writer.finish().await.unwrap();
    assert!(spilled.is_on_disk());
    assert_eq!(spilled.memory_len(), 0);
    assert_eq!(spilled.len(), 1009 * 100);
    let mut reader = spilled.into_reader();
    let mut read_back = Vec::new();
    while let Some(block) = reader.next_block().await.unwrap() {
        read_back.extend_from_slice(block);
    }
    assert_eq!(read_back.len(), 1009 * 100);
    assert!(
        read_back
            .chunks(100)
            .all(|line| line[..99].iter().all(|&byte| byte == b'x') && line[99] == b'\n')
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Failures: retries from the start of a chunk, and giving up clearly.

#[tokio::test]
async fn a_truncated_chunk_is_downloaded_again_from_its_start() {
    let fake = FakeExport::new(8, |day| 25 + day);
    fake.script("2024-01-03", vec![Some(Fault::DropAfter(10))]);
    fake.script(
        "2024-01-05",
        vec![Some(Fault::TerminatedEarly(7)), Some(Fault::DropAfter(0))],
    );
    fake.script(
        "2024-01-06",
        vec![
            Some(Fault::Status(429, Some("7"))),
            Some(Fault::Status(503, None)),
        ],
    );
    fake.script(
        "2024-01-07",
        vec![Some(Fault::StrayLine("<html>gateway timeout</html>"))],
    );
    let clock = clock();
    let export = export_over(&fake, &clock);
    let retries: Arc<Mutex<Vec<(String, u32)>>> = Arc::default();
    let mut options = options(OutputFormat::Jsonl, 4);
    let log = Arc::clone(&retries);
    options.observer = Some(Arc::new(move |event: &ExportEvent<'_>| {
        if let ExportEvent::ChunkRetry { chunk, attempt, .. } = event {
            log.lock().unwrap().push((chunk.from_date(), *attempt));
        }
    }));
    let (output, result) = run(
        &export,
        EventQuery::new("2024-01-01", "2024-01-08"),
        options,
    )
    .await;
    let summary = result.unwrap();
    let expected = fake.expected("2024-01-01", "2024-01-08");
    assert_eq!(String::from_utf8(output.clone()).unwrap(), expected);
    // No duplicate, no loss: every insert id once, in order.
    let ids = insert_ids(&output);
    let expected_ids = insert_ids(expected.as_bytes());
    assert_eq!(ids, expected_ids);
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len());
    let mut retries = retries.lock().unwrap().clone();
    retries.sort();
    assert_eq!(
        retries,
        [
            ("2024-01-03".to_owned(), 1),
            ("2024-01-05".to_owned(), 1),
            ("2024-01-05".to_owned(), 2),
            ("2024-01-06".to_owned(), 1),
            ("2024-01-06".to_owned(), 2),
            ("2024-01-07".to_owned(), 1),
        ]
    );
    assert_eq!(summary.progress.retries, 6);
    // The 429's `Retry-After: 7` was honoured through the virtual clock.
    assert!(
        clock.sleeps().contains(&Duration::from_secs(7)),
        "{:?}",
        clock.sleeps()
    );
}

#[tokio::test]
async fn when_retries_run_out_the_error_names_the_days_completed() {
    let fake = FakeExport::new(8, |_| 20);
    fake.always("2024-01-04", Fault::DropAfter(3));
    let clock = clock();
    let export = export_over(&fake, &clock);
    let (output, result) = run(
        &export,
        EventQuery::new("2024-01-01", "2024-01-08"),
        options(OutputFormat::Jsonl, 4),
    )
    .await;
    let error = result.unwrap_err();
    assert_eq!(
        error.to_string(),
        "the export of 2024-01-04 failed after 4 attempts; days completed: 2024-01-01 to 2024-01-03 (60 events), \
         a resumed export continues from 2024-01-04"
    );
    let Error::ExportIncomplete {
        failed,
        attempts,
        completed,
        events_written,
        ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(
        (failed.from_date(), *attempts, *events_written),
        ("2024-01-04".to_owned(), 4, 60)
    );
    assert_eq!(completed.unwrap().to_date(), "2024-01-03");
    assert_eq!(
        error.http_error().unwrap().kind(),
        &mp_http::ErrorKind::TruncatedStream
    );
    // Exactly the completed days are in the output, and nothing of the failed one.
    assert_eq!(
        String::from_utf8(output).unwrap(),
        fake.expected("2024-01-01", "2024-01-03")
    );
    assert_eq!(
        fake.requests()
            .iter()
            .filter(|day| *day == "2024-01-04")
            .count(),
        4
    );

    // A status that cannot heal is not retried.
    let fake = FakeExport::new(3, |_| 5);
    fake.always("2024-01-01", Fault::Status(401, None));
    let export = export_over(&fake, &clock);
    let (output, result) = run(
        &export,
        EventQuery::new("2024-01-01", "2024-01-03"),
        options(OutputFormat::Jsonl, 1),
    )
    .await;
    let error = result.unwrap_err();
    assert_eq!(
        error.to_string(),
        "the export of 2024-01-01 failed after 1 attempt; no day was completed"
    );
    assert!(output.is_empty());
    assert_eq!(fake.requests(), ["2024-01-01"]);
}

#[tokio::test]
async fn a_rerun_resumes_after_the_last_completed_day() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let fake = FakeExport::new(10, |day| 10 + day);
    fake.always("2024-01-06", Fault::Status(500, None));
    let clock = clock();
    let export = export_over(&fake, &clock);
    let query = EventQuery::new("2024-01-01", "2024-01-10");

    // The first run fails on day 6 and leaves a partial file and a checkpoint, never the final file.
    let mut output = OutputFile::create(&path).await.unwrap();
    let mut first = options(OutputFormat::Jsonl, 3);
    first.checkpoint_path = Some(output.checkpoint_path().to_owned());
    let error = export
        .chunked(query.clone(), first)
        .unwrap()
        .run(&mut output)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::ExportIncomplete { .. }), "{error}");
    drop(output);
    assert!(!path.exists());
    let checkpoint = Checkpoint::load(&dir.path().join("events.jsonl.checkpoint"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(checkpoint.completed_through().to_string(), "2024-01-05");
    assert_eq!(checkpoint.events_written(), 10 + 11 + 12 + 13 + 14);
    // A killed run may have written part of the next chunk after the checkpoint: resuming drops it.
    let partial = dir.path().join("events.jsonl.partial");
    let mut bytes = std::fs::read(&partial).unwrap();
    assert_eq!(bytes.len() as u64, checkpoint.output_bytes());
    bytes.extend_from_slice(b"{\"event\":\"half of a chunk that was never fin");
    std::fs::write(&partial, bytes).unwrap();

    // The rerun asks only for the days left, and the file holds every event exactly once.
    fake.heal();
    let n_requests_before = fake.requests().len();
    let (mut output, checkpoint) = OutputFile::resume(&path).await.unwrap();
    let mut second = options(OutputFormat::Jsonl, 3);
    second.checkpoint_path = Some(output.checkpoint_path().to_owned());
    second.resume = checkpoint;
    let chunked = export.chunked(query.clone(), second).unwrap();
    assert_eq!(chunked.chunks().len(), 5);
    assert_eq!(chunked.progress().snapshot().days_done, 5);
    let summary = chunked.run(&mut output).await.unwrap();
    assert_eq!(summary.progress.days_done, 10);
    output.commit().await.unwrap();
    let mut rerun: Vec<String> = fake.requests()[n_requests_before..].to_vec();
    rerun.sort();
    assert_eq!(
        rerun,
        [
            "2024-01-06",
            "2024-01-07",
            "2024-01-08",
            "2024-01-09",
            "2024-01-10"
        ]
    );
    let written = std::fs::read(&path).unwrap();
    assert_eq!(
        String::from_utf8(written.clone()).unwrap(),
        fake.expected("2024-01-01", "2024-01-10")
    );
    assert_eq!(
        summary.progress.events_written,
        insert_ids(&written).len() as u64
    );
    assert!(!partial.exists());
    assert!(!dir.path().join("events.jsonl.checkpoint").exists());

    // A checkpoint of another query is refused.
    let other = Checkpoint::new(
        EventQuery::new("2024-01-01", "2024-01-09"),
        OutputFormat::Jsonl,
        Date::parse("2024-01-02").unwrap(),
        3,
        100,
    );
    let mut third = options(OutputFormat::Jsonl, 1);
    third.resume = Some(other);
    let error = export.chunked(query, third).unwrap_err();
    assert!(
        error.to_string().starts_with(
            "cannot resume the export from its checkpoint: it was written for another query"
        ),
        "{error}"
    );
}

#[test]
fn checkpoints_round_trip_through_json() {
    let mut query = EventQuery::new("2024-01-01", "2024-01-31");
    query.events = vec!["Sign Up".to_owned()];
    query.filter = Some("properties[\"plan\"] == \"pro\"".to_owned());
    let checkpoint = Checkpoint::new(
        query,
        OutputFormat::Csv(CsvColumns::Fixed(vec!["plan".to_owned()])),
        Date::parse("2024-01-09").unwrap(),
        1234,
        56789,
    );
    let again = Checkpoint::from_json(&checkpoint.to_json()).unwrap();
    assert_eq!(again, checkpoint);
    assert!(Checkpoint::from_json("{}").is_err());
}

// ---------------------------------------------------------------------------------------------------------------
// Output formats.

#[tokio::test]
async fn json_output_is_one_array_of_the_events() {
    let fake = FakeExport::new(3, |day| day * 2);
    let export = export_over(&fake, &clock());
    let (output, result) = run(
        &export,
        EventQuery::new("2024-01-01", "2024-01-03"),
        options(OutputFormat::Json, 2),
    )
    .await;
    result.unwrap();
    let parsed: serde_json::Value = serde_json::from_slice(&output).unwrap();
    let expected: Vec<serde_json::Value> = fake
        .expected("2024-01-01", "2024-01-03")
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(parsed, serde_json::Value::Array(expected));
    assert!(output.starts_with(b"[\n{\"event\""));

    let empty = FakeExport::new(2, |_| 0);
    let export = export_over(&empty, &clock());
    let (output, result) = run(
        &export,
        EventQuery::new("2024-01-01", "2024-01-02"),
        options(OutputFormat::Json, 1),
    )
    .await;
    result.unwrap();
    assert_eq!(output, b"[]\n");
}

#[tokio::test]
async fn csv_output_with_named_or_discovered_columns() {
    let fake = FakeExport::new(2, |_| 2);
    let export = export_over(&fake, &clock());
    let fixed = OutputFormat::Csv(CsvColumns::Fixed(vec![
        "note".to_owned(),
        "missing".to_owned(),
    ]));
    let (output, result) = run(
        &export,
        EventQuery::new("2024-01-01", "2024-01-02"),
        options(fixed, 2),
    )
    .await;
    result.unwrap();
    assert_eq!(
        String::from_utf8(output).unwrap(),
        "event,time,distinct_id,insert_id,note,missing\n\
         E0,1704067200,u0,2024-01-01-0,\"a, \"\"b\"\"\",\n\
         E1,1704067201,u1,2024-01-01-1,\"a, \"\"b\"\"\",\n\
         E0,1704153600,u0,2024-01-02-0,\"a, \"\"b\"\"\",\n\
         E1,1704153601,u1,2024-01-02-1,\"a, \"\"b\"\"\",\n"
    );
    let (output, result) = run(
        &export,
        EventQuery::new("2024-01-01", "2024-01-02"),
        options(OutputFormat::Csv(CsvColumns::Discover), 2),
    )
    .await;
    result.unwrap();
    let text = String::from_utf8(output).unwrap();
    assert_eq!(
        text.lines().next().unwrap(),
        "event,time,distinct_id,insert_id,note,plan"
    );
    assert_eq!(
        text.lines().nth(1).unwrap(),
        "E0,1704067200,u0,2024-01-01-0,\"a, \"\"b\"\"\",p0"
    );
    assert_eq!(text.lines().count(), 5);
}

// ---------------------------------------------------------------------------------------------------------------
// The single-request stream.

#[tokio::test]
async fn a_stream_gives_raw_borrowed_and_typed_events() {
    let fake = FakeExport::new(2, |_| 3);
    let export = export_over(&fake, &clock());
    let mut query = EventQuery::new("2024-01-01", "2024-01-02");
    query.events = vec!["E0".to_owned(), "Ünïcode".to_owned()];
    query.filter = Some("properties[\"plan\"] == \"p0\"".to_owned());
    let mut stream = export.events(&query).await.unwrap();
    let first = stream.next_raw().await.unwrap().unwrap();
    assert_eq!(&first[..], fake.days["2024-01-01"][0].as_bytes());
    let second = stream.next_ref().await.unwrap().unwrap();
    assert_eq!(
        (
            second.name.as_ref(),
            second.time,
            second.distinct_id.as_deref(),
            second.insert_id.as_deref()
        ),
        ("E1", 1_704_067_201, Some("u1"), Some("2024-01-01-1"))
    );
    let third = stream.next_event().await.unwrap().unwrap();
    assert_eq!(third.name, "E2");
    assert_eq!(
        third.properties.keys().collect::<Vec<_>>(),
        ["plan", "note"]
    );
    let mut rest = 0;
    while stream.next_raw().await.unwrap().is_some() {
        rest += 1;
    }
    assert_eq!((rest, stream.n_events()), (3, 6));
    let url = fake.urls.lock().unwrap()[0].clone();
    assert!(
        url.contains("from_date=2024-01-01&to_date=2024-01-02&event="),
        "{url}"
    );
    // `event` is `json.dumps` of the list: Python separators and ASCII escapes.
    assert!(
        url.contains("event=%5B%22E0%22%2C+%22%5Cu00dcn%5Cu00efcode%22%5D"),
        "{url}"
    );
}

#[tokio::test]
async fn a_stream_is_sent_again_only_before_its_first_event() {
    // Broken before the first line: sent again, and nothing is duplicated.
    let fake = FakeExport::new(1, |_| 4);
    fake.script("2024-01-01", vec![Some(Fault::DropAfter(0))]);
    let export = export_over(&fake, &clock());
    let stream = export
        .events(&EventQuery::new("2024-01-01", "2024-01-01"))
        .await
        .unwrap();
    let lines: Vec<Bytes> = futures_util::StreamExt::collect::<Vec<_>>(stream.into_raw_stream())
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(lines.len(), 4);
    assert_eq!(fake.requests().len(), 2);

    // Broken after the first line: an error, never a replay.
    let fake = FakeExport::new(1, |_| 4);
    fake.script("2024-01-01", vec![Some(Fault::DropAfter(2))]);
    let export = export_over(&fake, &clock());
    let mut stream = export
        .events(&EventQuery::new("2024-01-01", "2024-01-01"))
        .await
        .unwrap();
    assert!(stream.next_raw().await.unwrap().is_some());
    assert!(stream.next_raw().await.unwrap().is_some());
    let error = stream.next_raw().await.unwrap_err();
    assert_eq!(
        error.http_error().unwrap().kind(),
        &mp_http::ErrorKind::TruncatedStream
    );
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn a_line_that_is_not_an_event_is_an_error_never_skipped() {
    let fake = FakeExport::new(1, |_| 3);
    fake.script("2024-01-01", vec![Some(Fault::StrayLine("NOT JSON"))]);
    let export = export_over(&fake, &clock());
    let mut stream = export
        .events(&EventQuery::new("2024-01-01", "2024-01-01"))
        .await
        .unwrap()
        .with_on_batch(2, |_| {});
    assert!(stream.next_raw().await.unwrap().is_some());
    let error = stream.next_raw().await.unwrap_err();
    assert!(
        error.http_error().unwrap().to_string().contains("NOT JSON"),
        "{error}"
    );
}

#[tokio::test]
async fn on_batch_reports_every_batch_and_the_rest() {
    let fake = FakeExport::new(1, |_| 5);
    let export = export_over(&fake, &clock());
    let calls: Arc<Mutex<Vec<u64>>> = Arc::default();
    let log = Arc::clone(&calls);
    let mut stream = export
        .events(&EventQuery::new("2024-01-01", "2024-01-01"))
        .await
        .unwrap()
        .with_on_batch(2, move |count| log.lock().unwrap().push(count));
    while stream.next_raw().await.unwrap().is_some() {}
    assert!(stream.next_raw().await.unwrap().is_none());
    assert_eq!(*calls.lock().unwrap(), [2, 4, 5]);
}

// ---------------------------------------------------------------------------------------------------------------
// Events.

#[test]
fn events_lift_time_distinct_id_and_insert_id() {
    let line = br#"{"event":"Sign \"Up\"","properties":{"time":1700000000,"distinct_id":42,"$insert_id":"abc","x":[1,2]}}"#;
    let event = Event::parse(line).unwrap();
    assert_eq!(event.name, "Sign \"Up\"");
    assert_eq!(
        (
            event.time,
            event.distinct_id.as_deref(),
            event.insert_id.as_deref()
        ),
        (1_700_000_000, Some("42"), Some("abc"))
    );
    assert_eq!(
        serde_json::Value::Object(event.properties.clone()),
        serde_json::json!({"x": [1, 2]})
    );
    assert_eq!(
        Event::parse(event.to_json().to_string().as_bytes()).unwrap(),
        event
    );
    let borrowed = EventRef::parse(line).unwrap();
    assert!(
        matches!(borrowed.name, std::borrow::Cow::Owned(_)),
        "an escaped name cannot be borrowed"
    );
    assert!(matches!(
        borrowed.insert_id,
        Some(std::borrow::Cow::Borrowed("abc"))
    ));
    assert_eq!(borrowed.distinct_id.as_deref(), Some("42"));

    // Nothing invented: no `$insert_id` stays `None`.
    let event = Event::parse(br#"{"event":"A","properties":{"time":1}}"#).unwrap();
    assert_eq!((event.distinct_id, event.insert_id), (None, None));
    for bad in [
        &br#"{"event":"A","properties":{}}"#[..],
        br#"{"event":"A","properties":{"time":1.5}}"#,
        br#"{"properties":{"time":1}}"#,
        b"NOT JSON",
    ] {
        assert!(matches!(
            Event::parse(bad),
            Err(Error::MalformedEvent { .. })
        ));
        assert!(matches!(
            EventRef::parse(bad),
            Err(Error::MalformedEvent { .. })
        ));
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The rate limiter.

#[test]
fn the_limiter_keeps_to_three_per_second_and_sixty_per_hour() {
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    let at = |millis: u64| t0 + Duration::from_millis(millis);
    let mut limiter = RateLimiter::new(RateLimits::RAW_EXPORT);
    for _ in 0..3 {
        assert_eq!(limiter.decide(at(0)), RateDecision::Proceed);
        limiter.start(at(0));
        limiter.finish();
    }
    assert_eq!(
        limiter.decide(at(400)),
        RateDecision::Wait {
            duration: Duration::from_millis(600),
            reason: WaitReason::PerSecond
        }
    );
    assert_eq!(limiter.decide(at(1000)), RateDecision::Proceed);

    // The hourly window: 60 starts spread over the first minute, then the 61st waits for the first to age out.
    let mut limiter = RateLimiter::new(RateLimits::RAW_EXPORT);
    for index in 0..60 {
        let now = at(index * 1000);
        assert_eq!(limiter.decide(now), RateDecision::Proceed, "{index}");
        limiter.start(now);
        limiter.finish();
    }
    assert_eq!(
        limiter.decide(at(60_000)),
        RateDecision::Wait {
            duration: Duration::from_secs(3540),
            reason: WaitReason::PerHour
        }
    );
    assert_eq!(limiter.decide(at(3_600_000)), RateDecision::Proceed);

    // Concurrency: a slot frees when a request finishes.
    let mut limiter = RateLimiter::new(RateLimits {
        max_concurrent: 2,
        per_second: None,
        per_hour: None,
    });
    limiter.start(at(0));
    limiter.start(at(0));
    assert_eq!(limiter.decide(at(0)), RateDecision::WaitForFinish);
    limiter.finish();
    assert_eq!(limiter.decide(at(0)), RateDecision::Proceed);
    assert_eq!(limiter.in_flight(), 1);
    assert_eq!(
        WaitReason::PerHour.describe(&RateLimits::RAW_EXPORT),
        "60 requests per hour"
    );
}

#[tokio::test]
async fn the_shared_limiter_waits_through_the_clock_and_says_so() {
    let clock = clock();
    let limiter = SharedLimiter::new(RateLimits::RAW_EXPORT, Arc::new(clock.clone()));
    type WaitLog = Vec<(WaitReason, Option<Duration>)>;
    let waits: Arc<Mutex<WaitLog>> = Arc::default();
    let log = Arc::clone(&waits);
    let on_wait = move |reason, wait| log.lock().unwrap().push((reason, wait));
    for _ in 0..7 {
        drop(limiter.acquire(&on_wait).await);
    }
    assert_eq!(
        clock.sleeps(),
        [Duration::from_secs(1), Duration::from_secs(1)]
    );
    assert_eq!(
        *waits.lock().unwrap(),
        [
            (WaitReason::PerSecond, Some(Duration::from_secs(1))),
            (WaitReason::PerSecond, Some(Duration::from_secs(1)))
        ]
    );
}

#[tokio::test]
async fn a_chunked_export_keeps_to_the_limits_and_reports_its_waits() {
    let clock = clock();
    let mut fake = FakeExport::new(10, |_| 1);
    Arc::get_mut(&mut fake).unwrap().clock = Some(clock.clone());
    let export = export_over(&fake, &clock);
    let waits: Arc<Mutex<Vec<WaitReason>>> = Arc::default();
    let log = Arc::clone(&waits);
    let mut options = options(OutputFormat::Jsonl, 10);
    options.observer = Some(Arc::new(move |event: &ExportEvent<'_>| {
        if let ExportEvent::RateLimited { reason, .. } = event {
            log.lock().unwrap().push(*reason);
        }
    }));
    let (_, result) = run(
        &export,
        EventQuery::new("2024-01-01", "2024-01-10"),
        options,
    )
    .await;
    result.unwrap();
    // Ten requests at most 3 per second: no one-second window holds more than 3 starts.
    let times = fake.request_times.lock().unwrap().clone();
    assert_eq!(times.len(), 10);
    for &time in &times {
        let in_window = times
            .iter()
            .filter(|&&other| {
                other <= time && time.duration_since(other).unwrap() < Duration::from_secs(1)
            })
            .count();
        assert!(in_window <= 3, "{times:?}");
    }
    let waits = waits.lock().unwrap();
    assert!(!waits.is_empty());
    assert!(
        waits.iter().all(|reason| *reason == WaitReason::PerSecond),
        "{waits:?}"
    );
    assert!(clock.total_slept() >= Duration::from_secs(3));
}
