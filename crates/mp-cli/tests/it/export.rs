//! `mp export events` and `mp export profiles` against a sandbox: the exported bytes are
//! the dataset's, with any parallelism, under injected faults, and after a SIGKILL.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mp_sandbox::{Fault, Faults, SandboxOptions};

use crate::support::{Mp, Run, TestSandbox};

/// The dataset's days (see `TestSandbox::start`).
const FROM: &str = "2024-01-25";
const TO: &str = "2024-01-31";

/// What the sandbox generated for `from..=to`: the truth every export is compared with.
fn expected(sandbox: &TestSandbox, from: &str, to: &str) -> String {
    let mut out = Vec::new();
    sandbox
        .sandbox
        .dataset()
        .write_jsonl(from, to, None, &mut out)
        .unwrap();
    String::from_utf8(out).unwrap()
}

/// Export requests the sandbox received, as `(from_date, to_date)`.
fn export_requests(sandbox: &TestSandbox) -> Vec<(String, String)> {
    sandbox
        .sandbox
        .request_log()
        .entries()
        .into_iter()
        .filter(|entry| entry.path == "/api/2.0/export")
        .map(|entry| {
            (
                entry.param("from_date").unwrap(),
                entry.param("to_date").unwrap(),
            )
        })
        .collect()
}

/// Checks that `text` holds exactly the events of `expected`, line for line, and, for the
/// record, that no `$insert_id` is missing or repeated.
#[track_caller]
fn check_same_events(text: &str, expected: &str) {
    let insert_ids = |text: &str| -> Vec<String> {
        text.lines()
            .map(|line| {
                let event: serde_json::Value = serde_json::from_str(line).unwrap();
                event["properties"]["$insert_id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    let got = insert_ids(text);
    let want = insert_ids(expected);
    let unique: HashSet<&String> = got.iter().collect();
    assert_eq!(unique.len(), got.len(), "duplicated events");
    let missing = want.iter().filter(|id| !unique.contains(id)).count();
    assert_eq!(
        (got.len(), missing),
        (want.len(), 0),
        "events lost or added"
    );
    assert!(text == expected, "same events, different bytes or order");
}

fn export_events(sandbox: &TestSandbox, extra: &[&str]) -> Run {
    let mut args = vec!["export", "events", "--from", FROM, "--to", TO];
    args.extend_from_slice(extra);
    Mp::new(&args).env(&sandbox.env()).run()
}

#[test]
fn events_equal_the_dataset_line_for_line_whatever_the_parallelism() {
    let sandbox = TestSandbox::start();
    let expected = expected(&sandbox, FROM, TO);
    assert_eq!(expected.lines().count(), 2_000);
    for (parallel, requests) in [("1", 1), ("8", 7)] {
        sandbox.sandbox.request_log().clear();
        let run = export_events(&sandbox, &["--parallel", parallel]);
        run.success();
        check_same_events(&run.stdout, &expected);
        // One request for the whole week, or one per day with 8 downloads.
        assert_eq!(
            export_requests(&sandbox).len(),
            requests,
            "--parallel {parallel}"
        );
    }
    // A part of the range, one event name, and `--last` relative to today (which the
    // dataset, pinned to January 2024, does not reach: no events, no error).
    let run = export_events(&sandbox, &["-e", "Purchase", "--chunk-days", "2"]);
    run.success();
    let mut purchases = Vec::new();
    sandbox
        .sandbox
        .dataset()
        .write_jsonl(FROM, TO, Some(&["Purchase"]), &mut purchases)
        .unwrap();
    assert_eq!(run.stdout, String::from_utf8(purchases).unwrap());
    let run = Mp::new(&["export", "events", "--last", "2d"])
        .env(&sandbox.env())
        .run();
    run.success();
    assert_eq!(run.stdout, "");
}

#[test]
fn drops_and_429s_neither_lose_nor_duplicate_events() {
    let mut options = SandboxOptions::new();
    options.events = 2_000;
    options.days = 7;
    options.end = Some(TO.to_owned());
    options.faults = Faults::parse(&[
        "429:2,retry-after=0",
        "reset-export:after-lines=40",
        "truncate-export:after-lines=25",
        "reset-export:after-bytes=5000,rst",
    ])
    .unwrap();
    let sandbox = TestSandbox::with_options(options);
    let expected = expected(&sandbox, FROM, TO);
    let run = export_events(&sandbox, &["--parallel", "8"]);
    run.success();
    check_same_events(&run.stdout, &expected);
    // Every fault was used, each failed attempt was said, and only the failed chunks were
    // downloaded again. (A stream can take a drop and a truncation at once, so there are
    // at least 3 failed attempts for the 4 stream faults and the 2 429s.)
    assert!(sandbox.sandbox.faults().active().is_empty());
    let retries = run.stderr.matches("starting it again").count();
    assert!(retries >= 3, "{}", run.stderr);
    assert_eq!(
        export_requests(&sandbox).len(),
        7 + retries,
        "{}",
        run.stderr
    );

    // The same with one download for the whole range: a drop restarts the range, and the
    // events before the drop are not written twice.
    sandbox.sandbox.faults().set([
        "reset-export:after-lines=700".parse::<Fault>().unwrap(),
        "429:1,retry-after=0".parse::<Fault>().unwrap(),
    ]);
    let run = export_events(&sandbox, &["--parallel", "1"]);
    run.success();
    check_same_events(&run.stdout, &expected);
}

/// Faults that answer the first day's export at once and hold every later day's until the
/// sandbox is dropped, so an export with `--parallel 1 --chunk-days 1` is certain to be running,
/// past its first checkpoint, when the test stops it. (A delay on every day left a window of a
/// second or two, which a loaded machine can miss.)
const HOLD_AFTER_THE_FIRST_DAY: [&str; 2] = [
    "slow:0ms,times=1,path=/api/2.0/export",
    "slow:3600s,path=/api/2.0/export",
];

/// Polls until `path` exists.
#[track_caller]
fn wait_for(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn side_file(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[test]
fn a_killed_export_resumes_with_exactly_the_right_events() {
    let mut options = SandboxOptions::new();
    options.events = 2_000;
    options.days = 7;
    options.end = Some(TO.to_owned());
    options.faults = Faults::parse(&HOLD_AFTER_THE_FIRST_DAY).unwrap();
    let sandbox = TestSandbox::with_options(options);
    let expected = expected(&sandbox, FROM, TO);
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("events.jsonl");
    let output_arg = output.to_str().unwrap();
    let args = [
        "export",
        "events",
        "--from",
        FROM,
        "--to",
        TO,
        "--parallel",
        "1",
        "--chunk-days",
        "1",
        "--output",
        output_arg,
        "--resume",
    ];

    let mut mp = Mp::new(&args).env(&sandbox.env());
    let mut child = mp
        .command()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The first day is complete once its checkpoint exists; the other six are held.
    let checkpoint = side_file(&output, ".checkpoint");
    let partial = side_file(&output, ".partial");
    wait_for(&checkpoint);
    child.kill().unwrap(); // SIGKILL: no clean-up of any kind.
    child.wait().unwrap();
    assert!(
        !output.exists(),
        "a killed export left a finished-looking file"
    );
    assert!(partial.exists());
    // A killed run may have written part of the next day after its checkpoint; make sure
    // there is such a tail, which the resumed run must drop.
    {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&partial)
            .unwrap();
        file.write_all(b"{\"event\":\"half a line").unwrap();
    }
    let completed = export_requests(&sandbox).len();
    assert!((1..7).contains(&completed), "{completed} requests");

    sandbox.sandbox.faults().clear();
    sandbox.sandbox.request_log().clear();
    let run = Mp::new(&args).env(&sandbox.env()).run();
    run.success();
    assert!(run.stderr.contains("resuming the export"), "{}", run.stderr);
    check_same_events(&std::fs::read_to_string(&output).unwrap(), &expected);
    assert!(!partial.exists() && !checkpoint.exists());
    // The rerun asked only for the days the checkpoint did not cover.
    let rerun = export_requests(&sandbox);
    assert!(rerun.len() < 7, "{rerun:?}");
    assert_eq!(rerun.last().map(|(_, to)| to.as_str()), Some(TO));
    assert!(
        rerun.iter().all(|(from, _)| from.as_str() > FROM),
        "{rerun:?}"
    );
}

#[test]
fn ctrl_c_keeps_what_resume_needs() {
    let mut options = SandboxOptions::new();
    options.events = 2_000;
    options.days = 7;
    options.end = Some(TO.to_owned());
    options.faults = Faults::parse(&HOLD_AFTER_THE_FIRST_DAY).unwrap();
    let sandbox = TestSandbox::with_options(options);
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("events.jsonl");
    let args = [
        "export",
        "events",
        "--from",
        FROM,
        "--to",
        TO,
        "--parallel",
        "1",
        "--chunk-days",
        "1",
        "-o",
        output.to_str().unwrap(),
    ];
    let mut mp = Mp::new(&args).env(&sandbox.env());
    let child = mp
        .command()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&side_file(&output, ".checkpoint"));
    crate::process::interrupt(child.id());
    let run = Run::from(child.wait_with_output().unwrap());
    run.code(130);
    assert!(
        run.stderr.contains("run the same command with `--resume`"),
        "{}",
        run.stderr
    );
    assert!(!output.exists());
    assert!(side_file(&output, ".partial").exists());

    // Without `--resume`, a rerun starts over, and says so.
    sandbox.sandbox.faults().clear();
    let run = Mp::new(&args).env(&sandbox.env()).run();
    run.success();
    assert!(run.stderr.contains("starting"), "{}", run.stderr);
    check_same_events(
        &std::fs::read_to_string(&output).unwrap(),
        &expected(&sandbox, FROM, TO),
    );
}

#[test]
fn a_reader_that_stops_early_is_not_an_error() {
    use std::io::BufRead;
    let sandbox = TestSandbox::start();
    let mut mp = Mp::new(&["export", "events", "--from", FROM, "--to", TO]).env(&sandbox.env());
    let mut child = mp
        .command()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("{\"event\""), "{first}");
    // The reader is gone (`mp export events … | head -1`).
    let run = Run::from(child.wait_with_output().unwrap());
    run.success();
    assert_eq!(run.stderr, "");
}

#[test]
fn a_failed_export_leaves_no_finished_looking_file() {
    let sandbox = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("events.jsonl");
    // An earlier export's file is neither replaced nor removed by a failed one.
    std::fs::write(&output, "earlier\n").unwrap();
    let mut env = sandbox.env();
    env.retain(|(name, _)| *name != "MP_SECRET");
    env.push(("MP_SECRET", "wrong".to_owned()));
    let run = Mp::new(&[
        "export",
        "events",
        "--from",
        FROM,
        "--to",
        TO,
        "--output",
        output.to_str().unwrap(),
    ])
    .env(&env)
    .run();
    run.code(2);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("the export to") && run.stderr.contains("stopped"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "earlier\n");
    // Nothing was completed, so nothing is kept for `--resume`.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["events.jsonl"]);
}

#[test]
fn files_in_every_format() {
    let sandbox = TestSandbox::start();
    let expected = expected(&sandbox, FROM, TO);
    let dir = tempfile::tempdir().unwrap();
    let output = |name: &str| dir.path().join(name);

    let jsonl = output("events.jsonl");
    export_events(&sandbox, &["-o", jsonl.to_str().unwrap()]).success();
    check_same_events(&std::fs::read_to_string(&jsonl).unwrap(), &expected);

    let json = output("events.json");
    let run = Mp::new(&[
        "--format",
        "json",
        "export",
        "events",
        "--from",
        FROM,
        "--to",
        TO,
        "-o",
        json.to_str().unwrap(),
    ])
    .env(&sandbox.env())
    .run();
    run.success();
    let array: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let lines: Vec<serde_json::Value> = expected
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(array, lines);

    // CSV with named columns, after the spelled-out global flag.
    let run = export_events(&sandbox, &["-f", "csv", "--column", "country"]);
    run.success();
    let mut rows = run.stdout.lines();
    assert_eq!(
        rows.next(),
        Some("event,time,distinct_id,insert_id,country")
    );
    assert_eq!(rows.count(), 2_000);
    // Every property a column: found by a first pass, sorted.
    let run = export_events(&sandbox, &["-f", "csv"]);
    run.success();
    let header = run.stdout.lines().next().unwrap();
    assert!(
        header.starts_with("event,time,distinct_id,insert_id,") && header.contains(",country,"),
        "{header}"
    );
}

#[test]
fn a_checkpoint_of_another_query_is_refused_and_kept() {
    let sandbox = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("events.jsonl");
    let checkpoint = side_file(&output, ".checkpoint");
    let partial = side_file(&output, ".partial");
    let text = r#"{"version": 1, "from_date": "2024-01-01", "to_date": "2024-01-31",
        "format": "jsonl", "completed_through": "2024-01-02", "events_written": 1, "output_bytes": 3}"#;
    std::fs::write(&checkpoint, text).unwrap();
    std::fs::write(&partial, "{}\n").unwrap();
    let run = export_events(&sandbox, &["-o", output.to_str().unwrap(), "--resume"]);
    run.code(3);
    assert!(run.stderr.contains("another query"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&checkpoint).unwrap(), text);
    assert_eq!(std::fs::read_to_string(&partial).unwrap(), "{}\n");
    assert!(!output.exists());
    assert!(export_requests(&sandbox).is_empty());
}

#[test]
fn wrong_input_is_a_usage_error_and_sends_nothing() {
    let sandbox = TestSandbox::start();
    for args in [
        // Mixpanel refuses a future `to_date`; so do we, before sending.
        &[
            "export",
            "events",
            "--from",
            "2024-01-01",
            "--to",
            "2999-01-01",
        ][..],
        &[
            "export",
            "events",
            "--from",
            "2024-01-31",
            "--to",
            "2024-01-01",
        ],
        &["export", "events", "--from", "2024-01-01"],
        &["export", "events", "--last", "7d", "--from", "2024-01-01"],
        &["export", "events", "--last", "7d", "--resume"],
        &["export", "events", "--last", "7d", "--limit", "100001"],
        &["export", "events", "--last", "7d", "--parallel", "0"],
        &["export", "events", "--last", "7d", "--column", "country"],
        &["-f", "table", "export", "events", "--last", "7d"],
        &["--jq", ".", "export", "events", "--last", "7d"],
        &[
            "-f", "csv", "export", "events", "--last", "7d", "-o", "x", "--resume",
        ],
        &["export", "profiles", "--parallel", "6"],
        &["export", "profiles", "--include-all-users"],
        &["-f", "csv", "export", "profiles"],
    ] {
        let run = Mp::new(args).env(&sandbox.env()).run();
        assert_eq!(run.code, Some(3), "{args:?}: {run:#?}");
        assert_eq!(run.stdout, "", "{args:?}");
        assert!(run.stderr.contains("error"), "{args:?}: {}", run.stderr);
    }
    assert!(sandbox.sandbox.request_log().is_empty());
}

/// Every profile of the dataset, from one page of a sandbox with the same seed.
fn all_profiles(base_url: &str) -> Vec<String> {
    use std::sync::Arc;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let endpoints =
            mp_http::Endpoints::with_overrides(mp_http::Region::Us, Some(base_url), None).unwrap();
        let client = mp_http::ClientBuilder::new(endpoints)
            .with_transport(Arc::new(
                mp_http::HyperTransport::new(Duration::from_secs(5)).unwrap(),
            ))
            .with_authenticator(Arc::new(mp_auth::ServiceAccountAuth::new(
                "sandbox",
                mp_http::Secret::new("sandbox".to_owned()),
            )))
            .with_project_id("1")
            .build()
            .unwrap();
        let page: serde_json::Value = client
            .json(
                mp_http::Request::post(mp_http::ApiFamily::Engage, "/")
                    .json_body(serde_json::json!({"project_id": "1", "page": 0})),
            )
            .await
            .unwrap();
        page["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|profile| serde_json::to_string(profile).unwrap())
            .collect()
    })
}

#[test]
fn profiles_equal_the_sandbox_profiles() {
    // Pages of 7 profiles, so that 80 profiles take 12 pages.
    let mut options = SandboxOptions::new();
    options.events = 2_000;
    options.days = 7;
    options.end = Some(TO.to_owned());
    options.engage_page_size = 7;
    let sandbox = TestSandbox::with_options(options.clone());
    options.engage_page_size = 1_000;
    let one_page = TestSandbox::with_options(options);
    let expected = all_profiles(&one_page.base_url());
    assert_eq!(expected.len(), sandbox.sandbox.dataset().user_count());
    assert!(
        expected.len() > 7 * 5,
        "too few profiles to page in parallel"
    );

    for parallel in ["1", "5"] {
        let run = Mp::new(&["export", "profiles", "--parallel", parallel])
            .env(&sandbox.env())
            .run();
        run.success();
        let lines: Vec<&str> = run.stdout.lines().collect();
        assert_eq!(lines, expected, "--parallel {parallel}");
    }

    // A file, selected properties, a filter.
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("profiles.json");
    let run = Mp::new(&[
        "-f",
        "json",
        "export",
        "profiles",
        "-p",
        "plan",
        "-w",
        r#"properties["plan"] == "pro""#,
        "-o",
        output.to_str().unwrap(),
    ])
    .env(&sandbox.env())
    .run();
    run.success();
    let profiles: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&output).unwrap()).unwrap();
    assert!(!profiles.is_empty());
    for profile in &profiles {
        assert_eq!(
            profile["$properties"],
            serde_json::json!({"plan": "pro"}),
            "{profile}"
        );
    }
}
