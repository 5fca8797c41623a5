//! The acceptance check "export of 1,000,000 events streams with the sandbox's resident
//! memory under 100 MB".
//!
//! It streams a million events through an in-process client that reads and discards, and
//! watches the resident set of the process while it runs. It is an integration test, not a
//! unit test in `src/tests`, for one reason: it needs a process of its own, because the other
//! tests running in parallel threads would inflate the resident set it measures.

use std::time::Instant;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper_util::rt::TokioIo;
use mp_sandbox::{SANDBOX_SECRET, SANDBOX_USERNAME, Sandbox, SandboxOptions};

/// Reads a field such as `VmRSS` from `/proc/self/status`, in KiB. `None` where there is no
/// procfs (not Linux), in which case the test still checks the stream but not the memory.
fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|number| number.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
// The figures are the point of this test; they show with `--nocapture`.
#[allow(clippy::print_stderr)]
async fn exporting_a_million_events_keeps_memory_flat() {
    const EVENTS: u64 = 1_000_000;
    const LIMIT_KIB: u64 = 100 * 1024;
    let before = proc_status_kib("VmRSS");
    let mut options = SandboxOptions::new();
    options.events = EVENTS;
    options.days = 30;
    options.end = Some("2024-03-31".to_owned());
    let sandbox = Sandbox::start(options).await.expect("sandbox starts");

    let started = Instant::now();
    let stream = tokio::net::TcpStream::connect(sandbox.local_addr())
        .await
        .unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let credentials = base64::engine::general_purpose::STANDARD
        .encode(format!("{SANDBOX_USERNAME}:{SANDBOX_SECRET}"));
    let request =
        http::Request::get("/api/2.0/export?project_id=1&from_date=2024-03-02&to_date=2024-03-31")
            .header("host", sandbox.local_addr().to_string())
            .header("authorization", format!("Basic {credentials}"))
            .body(Empty::<Bytes>::new())
            .unwrap();
    let response = sender.send_request(request).await.expect("export head");
    assert_eq!(response.status(), 200);

    let mut body = response.into_body();
    let (mut lines, mut bytes, mut frames) = (0u64, 0u64, 0u64);
    let mut peak_rss = before.unwrap_or(0);
    let mut rss_at_100k = None;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.expect("the stream completes").into_data() else {
            continue;
        };
        lines += data.iter().filter(|&&byte| byte == b'\n').count() as u64;
        bytes += data.len() as u64;
        frames += 1;
        if frames % 16 == 0
            && let Some(rss) = proc_status_kib("VmRSS")
        {
            peak_rss = peak_rss.max(rss);
            if lines >= 100_000 && rss_at_100k.is_none() {
                rss_at_100k = Some(rss);
            }
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(lines, EVENTS);
    let high_water = proc_status_kib("VmHWM");
    eprintln!(
        "streamed {lines} events ({} MiB) in {elapsed:.2?} ({:.0} events/s); VmRSS before \
         {before:?} KiB, at 100k lines {rss_at_100k:?} KiB, peak {peak_rss} KiB; VmHWM \
         {high_water:?} KiB",
        bytes >> 20,
        lines as f64 / elapsed.as_secs_f64(),
    );
    if let (Some(high_water), Some(at_100k)) = (high_water, rss_at_100k) {
        // The whole process, client included, never held 100 MB. (The kernel updates VmHWM
        // lazily, so a sample of VmRSS can be higher.)
        let peak = high_water.max(peak_rss);
        assert!(peak < LIMIT_KIB, "peak resident memory {peak} KiB");
        // Flat: the last 900k events add no more than noise to what the first 100k needed
        // (a materialised export would add hundreds of MiB).
        assert!(
            peak_rss < at_100k + 16 * 1024,
            "grew from {at_100k} KiB to {peak_rss} KiB"
        );
    }
}
