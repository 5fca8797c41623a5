//! Issue 5's acceptance at the library level: mp-query's chunked export and profile stream,
//! through mp-http and mp-auth, against mp-sandbox's dataset.
//!
//! The same scenarios run end to end through the `mp` binary in mp-cli's tests; here the
//! failures are placed exactly (a fault switched on from the export's own observer) and
//! the retries wait milliseconds, not seconds.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use mp_auth::{Secret, ServiceAccountAuth};
use mp_http::{Client, ClientBuilder, Endpoints, Region};
use mp_query::{
    ChunkedOptions, Engage, Error, EventQuery, Export, ExportEvent, OutputFile, OutputFormat,
    ProfileQuery, ProfileStreamOptions, RateLimits,
};
use mp_sandbox::{Fault, SANDBOX_SECRET, SANDBOX_USERNAME, Sandbox, SandboxOptions};

const FROM: &str = "2024-05-01";
const TO: &str = "2024-05-10";

async fn start(engage_page_size: u32) -> (Sandbox, Client) {
    let mut options = SandboxOptions::new();
    options.events = 3_000;
    options.days = 10;
    options.end = Some(TO.to_owned());
    options.engage_page_size = engage_page_size;
    let sandbox = Sandbox::start(options).await.unwrap();
    let endpoints = Endpoints::with_overrides(Region::Us, Some(&sandbox.base_url()), None).unwrap();
    let auth = ServiceAccountAuth::new(SANDBOX_USERNAME, Secret::new(SANDBOX_SECRET.to_owned()));
    let client = ClientBuilder::new(endpoints)
        .with_authenticator(Arc::new(auth))
        .with_project_id("1")
        .build()
        .unwrap();
    (sandbox, client)
}

fn expected(sandbox: &Sandbox) -> Vec<u8> {
    let mut out = Vec::new();
    sandbox
        .dataset()
        .write_jsonl(FROM, TO, None, &mut out)
        .unwrap();
    out
}

/// One-day chunks, `parallel` at once, fast retries, no client-side pacing (the sandbox
/// has no limits to respect).
fn options(parallel: usize) -> ChunkedOptions {
    let mut options = ChunkedOptions::new(OutputFormat::Jsonl);
    options.parallel = parallel;
    options.chunk_days = 1;
    options.rate_limits = RateLimits::UNLIMITED;
    options.retry.base_delay = Duration::from_millis(1);
    options.retry.max_delay = Duration::from_millis(5);
    options
}

#[track_caller]
fn check_same_events(got: &[u8], want: &[u8]) {
    let ids = |bytes: &[u8]| -> Vec<String> {
        bytes
            .split(|&byte| byte == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| {
                let event: serde_json::Value = serde_json::from_slice(line).unwrap();
                event["properties"]["$insert_id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    let (got_ids, want_ids) = (ids(got), ids(want));
    assert_eq!(
        got_ids.iter().collect::<HashSet<_>>().len(),
        got_ids.len(),
        "duplicated events"
    );
    assert_eq!(got_ids, want_ids, "events lost, added or reordered");
    assert!(got == want, "same events, different bytes");
}

#[tokio::test]
async fn every_fault_is_retried_without_losing_or_repeating_an_event() {
    let (sandbox, client) = start(1000).await;
    sandbox.faults().set([
        "429:3,retry-after=0".parse::<Fault>().unwrap(),
        "503:2".parse().unwrap(),
        "reset-export:after-lines=50".parse().unwrap(),
        "reset-export:after-bytes=9000,rst".parse().unwrap(),
        "truncate-export:after-lines=20".parse().unwrap(),
        "truncate-export:after-lines=0".parse().unwrap(),
    ]);
    let mut out = Vec::new();
    let summary = Export::new(client)
        .chunked(EventQuery::new(FROM, TO), options(8))
        .unwrap()
        .run(&mut out)
        .await
        .unwrap();
    check_same_events(&out, &expected(&sandbox));
    assert!(sandbox.faults().active().is_empty());
    assert!(summary.progress.retries >= 7, "{summary:?}");
    assert_eq!(summary.progress.days_done, 10);
}

#[tokio::test]
async fn a_failed_export_resumes_from_its_checkpoint() {
    let (sandbox, client) = start(1000).await;
    // Shared with the observer, which switches the failure on.
    let sandbox = Arc::new(sandbox);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");

    // After the third day is written, every request fails, and the chunk gives up at once.
    let mut first = options(1);
    first.retry.max_retries = 0;
    let (mut output, checkpoint) = OutputFile::resume(&path).await.unwrap();
    assert!(checkpoint.is_none());
    first.checkpoint_path = Some(output.checkpoint_path().to_owned());
    let observed = Arc::clone(&sandbox);
    first.observer = Some(Arc::new(move |event: &ExportEvent<'_>| {
        if let ExportEvent::ChunkWritten { progress, .. } = event
            && progress.days_done == 3
        {
            observed
                .faults()
                .push(Fault::server_error(500, 1).with_times(None));
        }
    }));
    let error = Export::new(client.clone())
        .chunked(EventQuery::new(FROM, TO), first)
        .unwrap()
        .run(&mut output)
        .await
        .unwrap_err();
    let Error::ExportIncomplete { completed, .. } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(
        completed.map(|range| range.to_date()).as_deref(),
        Some("2024-05-03")
    );
    drop(output);
    assert!(!path.exists());

    sandbox.faults().clear();
    let (mut output, checkpoint) = OutputFile::resume(&path).await.unwrap();
    let checkpoint = checkpoint.expect("the failed run left a checkpoint");
    assert_eq!(checkpoint.completed_through().to_string(), "2024-05-03");
    let mut second = options(4);
    second.resume = Some(checkpoint);
    second.checkpoint_path = Some(output.checkpoint_path().to_owned());
    sandbox.request_log().clear();
    Export::new(client)
        .chunked(EventQuery::new(FROM, TO), second)
        .unwrap()
        .run(&mut output)
        .await
        .unwrap();
    output.commit().await.unwrap();
    check_same_events(&std::fs::read(&path).unwrap(), &expected(&sandbox));
    // Only the seven days after the checkpoint were asked for again.
    let asked: Vec<String> = sandbox
        .request_log()
        .entries()
        .iter()
        .filter_map(|entry| entry.param("from_date"))
        .collect();
    assert_eq!(asked.len(), 7, "{asked:?}");
    assert!(
        asked.iter().all(|day| day.as_str() > "2024-05-03"),
        "{asked:?}"
    );
}

#[tokio::test]
async fn profiles_come_in_page_order_whatever_the_parallelism() {
    // 3,000 events give 120 users: 18 pages of 7.
    let (sandbox, client) = start(7).await;
    let mut lists = Vec::new();
    for parallel in [1, 5] {
        let mut options = ProfileStreamOptions::new();
        options.parallel = parallel;
        options.rate_limits = RateLimits::UNLIMITED;
        let mut stream = Engage::new(client.clone())
            .profiles(ProfileQuery::default(), options)
            .unwrap();
        let mut ids = Vec::new();
        while let Some(profile) = stream.next_profile().await.unwrap() {
            ids.push(profile.distinct_id);
        }
        lists.push(ids);
    }
    assert_eq!(lists[0].len(), sandbox.dataset().user_count());
    assert_eq!(
        lists[0].iter().collect::<HashSet<_>>().len(),
        lists[0].len()
    );
    assert_eq!(lists[0], lists[1]);
}
