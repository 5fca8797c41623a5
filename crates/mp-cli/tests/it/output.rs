//! Output formats, `--jq`, and stdout closed early, through the real binary.

use crate::support::{Mp, TestSandbox};

fn sandbox_events(format: &str) -> crate::support::Run {
    let sandbox = TestSandbox::start();
    let run = Mp::new(&["--format", format, "inspect", "events"])
        .env(&sandbox.env())
        .run();
    run.success();
    run
}

fn expected_names() -> Vec<String> {
    let sandbox = TestSandbox::start();
    let run = Mp::new(&["--format", "json", "inspect", "events"])
        .env(&sandbox.env())
        .run();
    serde_json::from_str(&run.stdout).unwrap()
}

#[test]
fn every_format() {
    let names = expected_names();
    assert!(!names.is_empty());

    let jsonl = sandbox_events("jsonl");
    let lines: Vec<String> = jsonl
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines, names);

    let plain = sandbox_events("plain");
    assert_eq!(plain.stdout.lines().collect::<Vec<_>>(), names);

    let csv = sandbox_events("csv");
    let mut rows = csv.stdout.lines();
    assert_eq!(rows.next(), Some("event"));
    // No sandbox event name needs CSV quoting.
    assert_eq!(rows.collect::<Vec<_>>(), names);

    let table = sandbox_events("table");
    assert!(table.stdout.contains("EVENT"), "{}", table.stdout);
    for name in &names {
        assert!(
            table.stdout.contains(name.as_str()),
            "{name} missing from\n{}",
            table.stdout
        );
    }
}

#[test]
fn json_is_the_default_when_stdout_is_not_a_terminal() {
    let sandbox = TestSandbox::start();
    let run = Mp::new(&["inspect", "events"]).env(&sandbox.env()).run();
    run.success();
    assert!(run.json().is_array());
}

#[test]
fn jq_filters_the_json() {
    let names = expected_names();
    let sandbox = TestSandbox::start();
    let run = Mp::new(&["--jq", "length", "inspect", "events"])
        .env(&sandbox.env())
        .run();
    run.success();
    assert_eq!(run.json(), serde_json::json!(names.len()));

    let run = Mp::new(&["--format", "jsonl", "--jq", ".[0:2][]", "inspect", "events"])
        .env(&sandbox.env())
        .run();
    run.success();
    let expected: String = names[..2]
        .iter()
        .map(|name| format!("\"{name}\"\n"))
        .collect();
    assert_eq!(run.stdout, expected);
}

#[test]
fn jq_misuse_is_a_usage_error_before_any_request() {
    let sandbox = TestSandbox::start();
    let run = Mp::new(&["--format", "csv", "--jq", ".", "inspect", "events"])
        .env(&sandbox.env())
        .run();
    run.code(3);
    assert!(
        run.stderr.contains("`--jq` works only with"),
        "{}",
        run.stderr
    );
    let run = Mp::new(&["--jq", ".[", "inspect", "events"])
        .env(&sandbox.env())
        .run();
    run.code(3);
    assert!(
        run.stderr.contains("invalid `--jq` filter"),
        "{}",
        run.stderr
    );
    assert!(
        sandbox.sandbox.request_log().is_empty(),
        "a request was sent for a command that could not run"
    );
}

/// `mp … | head -1`: the reader has gone before `mp` writes.
#[test]
fn closed_stdout_is_a_quiet_success() {
    for format in ["json", "jsonl", "table", "csv", "plain"] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let mut mp = Mp::new(&["--sandbox", "--format", format, "inspect", "events"]);
        mp.command().stdout(writer);
        let output = mp
            .command()
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{format}: {output:?}");
        assert_eq!(String::from_utf8_lossy(&output.stderr), "", "{format}");
    }
}
