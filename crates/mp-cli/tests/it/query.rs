//! `mp query …` against a sandbox: every command in every format, checked against
//! the sandbox's own dataset, and input that is refused before anything is sent.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::formats::{Formats, check_formats};
use crate::support::{Mp, TestSandbox};

/// The last week of `TestSandbox::start`'s dataset.
const FROM: &str = "2024-01-25";
const TO: &str = "2024-01-31";

fn dates() -> Vec<String> {
    (25..=31).map(|day| format!("2024-01-{day}")).collect()
}

/// `mp query ARGS… --from FROM --to TO` in every format.
#[track_caller]
fn query(sandbox: &TestSandbox, args: &[&str]) -> Formats {
    let mut full = vec!["query"];
    full.extend_from_slice(args);
    full.extend_from_slice(&["--from", FROM, "--to", TO]);
    check_formats(sandbox, &full)
}

/// The exported events of the week, as the sandbox's export would stream them.
fn exported(sandbox: &TestSandbox) -> Vec<Value> {
    let mut jsonl = Vec::new();
    sandbox
        .sandbox
        .dataset()
        .write_jsonl(FROM, TO, None, &mut jsonl)
        .unwrap();
    String::from_utf8(jsonl)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// The UTC day of an exported event.
fn day_of(event: &Value) -> String {
    let time = event["properties"]["time"].as_u64().unwrap();
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(time);
    mp_query::Date::utc_day_of(at).to_string()
}

fn count(sandbox: &TestSandbox, event: &str, date: &str) -> u64 {
    sandbox.sandbox.dataset().count(event, date).unwrap()
}

fn number(cell: &str) -> f64 {
    cell.parse()
        .unwrap_or_else(|_| panic!("{cell:?} is not a number"))
}

#[test]
fn segmentation_by_day_counts_the_dataset() {
    let sandbox = TestSandbox::start();
    let formats = query(&sandbox, &["segmentation", "-e", "Purchase"]);
    assert_eq!(formats.header(), ["date", "Purchase"]);
    let mut total = 0;
    for (row, date) in dates().iter().enumerate() {
        assert_eq!(formats.cell(row, "date"), date);
        let expected = count(&sandbox, "Purchase", date);
        assert_eq!(
            number(formats.cell(row, "Purchase")),
            expected as f64,
            "{date}"
        );
        assert_eq!(formats.json["series"]["Purchase"][date], expected, "{date}");
        total += expected;
    }
    assert_eq!(formats.rows().len(), 7);
    assert_eq!(formats.json["total"], total);
    assert_eq!(formats.json["event"], "Purchase");
    assert_eq!(formats.json["unit"], "day");
}

#[test]
fn segmentation_by_property_has_a_column_per_segment() {
    let sandbox = TestSandbox::start();
    let formats = query(
        &sandbox,
        &["segmentation", "-e", "Purchase", "-o", "country"],
    );
    assert_eq!(formats.header()[0], "date");
    assert!(formats.header().len() > 2, "{:?}", formats.header());
    assert_eq!(formats.json["segment_property"], r#"properties["country"]"#);
    // Every purchase has a country, so the segments add up to the day's count.
    for (row, date) in dates().iter().enumerate() {
        let sum: f64 = formats.rows()[row][1..]
            .iter()
            .map(|cell| number(cell))
            .sum();
        assert_eq!(sum, count(&sandbox, "Purchase", date) as f64, "{date}");
    }
    let requests = sandbox.sandbox.request_log().entries();
    assert_eq!(
        requests[0].param("on").as_deref(),
        Some(r#"properties["country"]"#)
    );
}

#[test]
fn numeric_buckets_add_up_to_the_event_count() {
    let sandbox = TestSandbox::start();
    let formats = query(
        &sandbox,
        &["segmentation-numeric", "-e", "Purchase", "-o", "amount"],
    );
    assert_eq!(formats.header()[0], "date");
    assert!(
        formats.header()[1].contains(" - "),
        "{:?}",
        formats.header()
    );
    for (row, date) in dates().iter().enumerate() {
        let sum: f64 = formats.rows()[row][1..]
            .iter()
            .filter(|cell| !cell.is_empty())
            .map(|cell| number(cell))
            .sum();
        assert_eq!(sum, count(&sandbox, "Purchase", date) as f64, "{date}");
    }
}

#[test]
fn sum_and_average_follow_the_exported_amounts() {
    let sandbox = TestSandbox::start();
    let mut sums: BTreeMap<String, (f64, u32)> = BTreeMap::new();
    for event in exported(&sandbox) {
        if event["event"] == "Purchase" {
            let entry = sums.entry(day_of(&event)).or_default();
            entry.0 += event["properties"]["amount"].as_f64().unwrap();
            entry.1 += 1;
        }
    }
    let sum = query(
        &sandbox,
        &["segmentation-sum", "-e", "Purchase", "-o", "amount"],
    );
    let average = query(
        &sandbox,
        &["segmentation-average", "-e", "Purchase", "-o", "amount"],
    );
    assert_eq!(sum.header(), ["date", "sum"]);
    assert_eq!(average.header(), ["date", "average"]);
    for (row, date) in dates().iter().enumerate() {
        let (expected_sum, n) = sums[date];
        assert!(
            (number(sum.cell(row, "sum")) - expected_sum).abs() < 0.01,
            "{date}"
        );
        let expected_average = expected_sum / f64::from(n);
        assert!(
            (number(average.cell(row, "average")) - expected_average).abs() < 0.001,
            "{date}"
        );
    }
}

#[test]
fn funnel_has_a_row_per_step() {
    let sandbox = TestSandbox::start();
    let formats = query(&sandbox, &["funnel", "1001"]);
    assert_eq!(
        formats.header(),
        [
            "step",
            "event",
            "count",
            "conversion_rate",
            "overall_conversion_rate"
        ]
    );
    let events: Vec<&str> = (0..3).map(|row| formats.cell(row, "event")).collect();
    assert_eq!(events, ["Sign Up", "View Item", "Purchase"]);
    let counts: Vec<f64> = (0..3)
        .map(|row| number(formats.cell(row, "count")))
        .collect();
    assert!(
        counts[0] > 0.0 && counts[0] >= counts[1] && counts[1] >= counts[2],
        "{counts:?}"
    );
    assert_eq!(number(formats.cell(0, "conversion_rate")), 1.0);
    let overall = number(formats.cell(2, "overall_conversion_rate"));
    assert!((overall - counts[2] / counts[0]).abs() < 1e-9);
    assert_eq!(formats.json["funnel_id"], 1001);
    assert_eq!(formats.json["steps"][2]["count"], counts[2] as u64);

    // The saved report of the same funnel, with the same dates, is the same table.
    let report = query(&sandbox, &["saved-report", "1001", "--type", "funnels"]);
    assert_eq!(report.csv, formats.csv);
}

#[test]
fn retention_has_a_row_per_cohort_and_a_column_per_interval() {
    let sandbox = TestSandbox::start();
    let formats = query(
        &sandbox,
        &["retention", "-b", "Sign Up", "-r", "Login", "-n", "3"],
    );
    assert_eq!(
        formats.header(),
        [
            "cohort_date",
            "cohort_size",
            "period_0",
            "period_1",
            "period_2",
            "period_3"
        ]
    );
    // Each user signs up once, so a cohort is the day's sign-ups.
    let mut signups: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for event in exported(&sandbox) {
        if event["event"] == "Sign Up" {
            let user = event["properties"]["distinct_id"]
                .as_str()
                .unwrap()
                .to_owned();
            signups.entry(day_of(&event)).or_default().insert(user);
        }
    }
    for (row, date) in dates().iter().enumerate() {
        assert_eq!(formats.cell(row, "cohort_date"), date);
        let size = signups.get(date).map_or(0, BTreeSet::len);
        assert_eq!(
            number(formats.cell(row, "cohort_size")),
            size as f64,
            "{date}"
        );
    }
    assert_eq!(formats.json["cohorts"].as_array().unwrap().len(), 7);
}

#[test]
fn event_counts_have_a_column_per_event() {
    let sandbox = TestSandbox::start();
    let formats = query(&sandbox, &["event-counts", "-e", "Purchase,Login"]);
    assert_eq!(formats.header()[0], "date");
    let mut events: Vec<&str> = formats.header()[1..].to_vec();
    events.sort();
    assert_eq!(events, ["Login", "Purchase"]);
    for (row, date) in dates().iter().enumerate() {
        for event in ["Purchase", "Login"] {
            let expected = count(&sandbox, event, date) as f64;
            assert_eq!(number(formats.cell(row, event)), expected, "{event} {date}");
        }
    }
}

#[test]
fn property_counts_follow_the_exported_values() {
    let sandbox = TestSandbox::start();
    let formats = query(
        &sandbox,
        &[
            "property-counts",
            "-e",
            "Purchase",
            "-p",
            "country",
            "-l",
            "3",
        ],
    );
    assert_eq!(formats.header().len(), 4, "{:?}", formats.header());
    let mut by_value: BTreeMap<(String, String), u64> = BTreeMap::new();
    for event in exported(&sandbox) {
        if event["event"] == "Purchase" {
            let country = event["properties"]["country"].as_str().unwrap().to_owned();
            *by_value.entry((day_of(&event), country)).or_default() += 1;
        }
    }
    for (row, date) in dates().iter().enumerate() {
        for country in &formats.header()[1..] {
            let expected = by_value
                .get(&(date.clone(), (*country).to_owned()))
                .copied()
                .unwrap_or(0);
            assert_eq!(
                number(formats.cell(row, country)),
                expected as f64,
                "{country} {date}"
            );
        }
    }
}

#[test]
fn activity_feed_lists_the_users_events() {
    let sandbox = TestSandbox::start();
    let events = exported(&sandbox);
    let user = events[0]["properties"]["distinct_id"].as_str().unwrap();
    let expected = events
        .iter()
        .filter(|event| event["properties"]["distinct_id"] == user)
        .count();
    let formats = query(&sandbox, &["activity-feed", "-U", user]);
    assert_eq!(formats.header()[0], "event");
    assert_eq!(formats.rows().len(), expected);
    assert_eq!(formats.json["event_count"], expected);
    assert_eq!(formats.json["distinct_ids"], serde_json::json!([user]));
}

#[test]
fn jql_groups_count_the_events() {
    let sandbox = TestSandbox::start();
    let script =
        "function main() { return Events(params).groupBy([\"name\"], mixpanel.reducer.count()); }";
    let formats = check_formats(
        &sandbox,
        &[
            "query",
            "jql",
            "--script",
            script,
            "-P",
            &format!("from_date={FROM}"),
            "-P",
            &format!("to_date={TO}"),
        ],
    );
    assert_eq!(formats.header(), ["key_0", "value"]);
    assert!(!formats.rows().is_empty());
    for row in formats.rows() {
        let expected: u64 = dates()
            .iter()
            .map(|date| count(&sandbox, &row[0], date))
            .sum();
        assert_eq!(number(&row[1]), expected as f64, "{}", row[0]);
    }
    let requests = sandbox.sandbox.request_log().entries();
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].form_param("script").as_deref(), Some(script));

    // The same script from a file.
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("count.js");
    std::fs::write(&path, script).unwrap();
    let run = Mp::new(&[
        "--format",
        "csv",
        "query",
        "jql",
        path.to_str().unwrap(),
        "-P",
        &format!("from_date={FROM}"),
        "-P",
        &format!("to_date={TO}"),
    ])
    .env(&sandbox.env())
    .run();
    run.success();
    assert_eq!(crate::formats::parse_csv(&run.stdout), formats.csv);
}

#[test]
fn jql_help_says_maintenance_mode() {
    let run = Mp::new(&["query", "jql", "--help"]).run();
    run.success();
    assert!(run.stdout.contains("maintenance"), "{}", run.stdout);
}

#[test]
fn saved_insights_report_counts_the_dataset() {
    let sandbox = TestSandbox::start();
    let formats = check_formats(&sandbox, &["query", "saved-report", "2001"]);
    assert_eq!(formats.header(), ["date", "event", "count"]);
    let mut seen = 0;
    for row in formats.rows() {
        let date = &row[0][..10];
        if (FROM..=TO).contains(&date) {
            assert_eq!(row[1], "Purchase");
            assert_eq!(
                number(&row[2]),
                count(&sandbox, "Purchase", date) as f64,
                "{date}"
            );
            seen += 1;
        }
    }
    assert_eq!(seen, 7);
    assert_eq!(formats.json["bookmark_id"], 2001);
    assert_eq!(formats.json["report_type"], "insights");
}

#[test]
fn flows_have_a_row_per_node() {
    let sandbox = TestSandbox::start();
    let formats = check_formats(&sandbox, &["query", "flows", "4001"]);
    assert_eq!(
        formats.header(),
        ["step", "event", "type", "count", "anchor_type"]
    );
    assert_eq!(formats.cell(0, "step"), "1");
    assert_eq!(formats.cell(0, "type"), "ANCHOR");
    assert!(number(formats.cell(0, "count")) > 0.0);
    assert_eq!(formats.json["bookmark_id"], 4001);
    let report = check_formats(&sandbox, &["query", "saved-report", "4001", "-t", "flows"]);
    assert_eq!(report.csv, formats.csv);
}

#[test]
fn frequency_counts_active_users() {
    let sandbox = TestSandbox::start();
    let formats = query(&sandbox, &["frequency", "-e", "Login"]);
    assert_eq!(&formats.header()[..2], ["date", "period_1"]);
    // Users active in at least one hour of the day: the day's unique users.
    let mut users: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for event in exported(&sandbox) {
        if event["event"] == "Login" {
            let user = event["properties"]["distinct_id"]
                .as_str()
                .unwrap()
                .to_owned();
            users.entry(day_of(&event)).or_default().insert(user);
        }
    }
    for (row, date) in dates().iter().enumerate() {
        let expected = users.get(date).map_or(0, BTreeSet::len);
        assert_eq!(
            number(formats.cell(row, "period_1")),
            expected as f64,
            "{date}"
        );
    }
}

#[test]
fn an_unknown_event_counts_zero() {
    let sandbox = TestSandbox::start();
    let formats = query(&sandbox, &["segmentation", "-e", "No Such Event"]);
    assert_eq!(formats.json["total"], 0);
}

#[track_caller]
fn check_refused(args: &[&str], code: i32, fragment: &str) {
    let sandbox = TestSandbox::start();
    let run = Mp::new(args).env(&sandbox.env()).run();
    run.code(code);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
    assert!(
        run.stderr.contains(fragment),
        "{args:?}: missing {fragment:?} in {}",
        run.stderr
    );
    let requests = sandbox.sandbox.request_log().entries();
    assert!(requests.is_empty(), "{args:?} sent {requests:?}");
}

#[test]
fn bad_input_is_refused_before_anything_is_sent() {
    let segmentation = |extra: &[&'static str]| {
        let mut args = vec!["query", "segmentation", "-e", "Purchase"];
        args.extend_from_slice(extra);
        args
    };
    for (args, fragment) in [
        (
            segmentation(&["--from", "2024-02-30", "--to", TO]),
            "not a date",
        ),
        (
            segmentation(&["--from", "24-01-01", "--to", TO]),
            "YYYY-MM-DD",
        ),
        (
            segmentation(&["--from", TO, "--to", FROM]),
            "is after `--to`",
        ),
        (
            segmentation(&["--from", FROM, "--to", "2999-01-01"]),
            "in the future",
        ),
        (segmentation(&["--from", FROM]), "--to"),
        (segmentation(&[]), "--from"),
        (
            segmentation(&["--last", "30d", "--from", FROM, "--to", TO]),
            "cannot be used with",
        ),
        (segmentation(&["--last", "30"]), "`30d`"),
        (segmentation(&["--last", "0d"]), "at least one day"),
        (
            segmentation(&["--last", "7d", "-u", "hour"]),
            "possible values",
        ),
        (
            segmentation(&["--last", "7d", "-w", r#"properties["country"] == "US"#]),
            "never closed",
        ),
        (
            segmentation(&["--last", "7d", "-w", r#"(properties["country"] == "US""#]),
            "`(` at column 1 is never closed",
        ),
        (segmentation(&["--last", "7d", "-w", " "]), "empty"),
        (
            segmentation(&["--last", "7d", "-o", r#"properties["country""#]),
            "invalid `--on` expression",
        ),
        (
            vec!["query", "funnel", "abc", "--last", "7d"],
            "invalid value 'abc'",
        ),
        (
            vec![
                "query",
                "retention",
                "-b",
                "Sign Up",
                "-r",
                "Login",
                "--last",
                "7d",
                "-i",
                "0",
            ],
            "--interval",
        ),
        (
            vec![
                "query",
                "retention",
                "-b",
                "Sign Up",
                "-r",
                "Login",
                "--last",
                "7d",
                "--born-where",
                "properties[\"a\"",
            ],
            "invalid `--born-where` expression",
        ),
        (
            vec!["query", "jql", "--script", "  "],
            "the JQL script is empty",
        ),
        (vec!["query", "jql"], "required"),
        (
            vec!["query", "jql", "/no/such/script.js"],
            "cannot read the JQL script",
        ),
        (
            vec!["query", "jql", "-c", "x", "-P", "novalue"],
            "KEY=VALUE",
        ),
        (vec!["query", "activity-feed", "-U", ","], "names no user"),
        (
            vec![
                "query",
                "activity-feed",
                "-U",
                "a",
                "--from",
                TO,
                "--to",
                FROM,
            ],
            "is after",
        ),
        (
            vec!["query", "event-counts", "-e", ",", "--last", "7d"],
            "names no event",
        ),
        (
            vec!["query", "saved-report", "2001", "--from", FROM],
            "only to `--type funnels`",
        ),
        (
            vec![
                "query",
                "frequency",
                "--last",
                "7d",
                "--addiction-unit",
                "week",
            ],
            "possible values",
        ),
    ] {
        check_refused(&args, 3, fragment);
    }
}

#[test]
fn an_unknown_funnel_is_not_found() {
    let sandbox = TestSandbox::start();
    let run = Mp::new(&["query", "funnel", "999", "--from", FROM, "--to", TO])
        .env(&sandbox.env())
        .run();
    run.code(4);
    assert!(
        run.stderr
            .starts_with("error: no saved funnel with id 999 in this project\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("hint: list the project's saved funnels with `mp inspect funnels`")
    );
    assert_eq!(sandbox.sandbox.request_log().len(), 1);

    let run = Mp::new(&["query", "saved-report", "999"])
        .env(&sandbox.env())
        .run();
    run.code(4);
    assert!(
        run.stderr.contains("no saved report with bookmark id 999"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_expression_mixpanel_rejects_is_a_bad_request() {
    let sandbox = TestSandbox::start();
    let run = Mp::new(&[
        "query",
        "segmentation",
        "-e",
        "Purchase",
        "--from",
        FROM,
        "--to",
        TO,
        "-w",
        r#"properties["country"] === "US""#,
    ])
    .env(&sandbox.env())
    .run();
    run.code(6);
    assert!(run.stderr.contains("400"), "{}", run.stderr);
    assert_eq!(sandbox.sandbox.request_log().len(), 1);
}

#[test]
fn last_is_a_range_that_ends_today() {
    // A dataset that ends yesterday, like Mixpanel's data.
    let mut options = mp_sandbox::SandboxOptions::new();
    options.events = 2_000;
    options.days = 7;
    let sandbox = TestSandbox::with_options(options);
    let today = || mp_query::Date::utc_day_of(std::time::SystemTime::now());
    for (last, n_days) in [("7d", 7), ("2w", 14)] {
        let before = today();
        let run = Mp::new(&["query", "segmentation", "-e", "Login", "--last", last])
            .env(&sandbox.env())
            .run();
        let after = today();
        run.success();
        let json = run.json();
        let to = mp_query::Date::parse(json["to_date"].as_str().unwrap()).unwrap();
        let from = mp_query::Date::parse(json["from_date"].as_str().unwrap()).unwrap();
        assert!(to == before || to == after, "{json}");
        assert_eq!(to.days_since(from), n_days - 1, "{json}");
        let requests = sandbox.sandbox.request_log().entries();
        let request = requests.last().unwrap();
        assert_eq!(request.param("from_date"), Some(from.to_string()));
        assert_eq!(request.param("to_date"), Some(to.to_string()));
    }
    // The dataset's last days are in the range, so `--last` finds its events.
    let run = Mp::new(&["query", "event-counts", "-e", "Login", "--last", "7d"])
        .env(&sandbox.env())
        .run();
    run.success();
    assert_ne!(run.json()["series"]["Login"], serde_json::json!({}));
}

#[test]
fn a_slow_query_draws_no_spinner_when_stderr_is_not_a_terminal() {
    let mut options = mp_sandbox::SandboxOptions::new();
    options.events = 2_000;
    options.days = 7;
    options.end = Some(TO.to_owned());
    options.faults = mp_sandbox::Faults::parse(&["slow:600ms"]).unwrap();
    let sandbox = TestSandbox::with_options(options);
    let run = Mp::new(&[
        "query",
        "segmentation",
        "-e",
        "Login",
        "--from",
        FROM,
        "--to",
        TO,
    ])
    .env(&sandbox.env())
    .run();
    run.success();
    assert_eq!(run.stderr, "");
}
