//! Every format over the shapes commands produce, and the `--jq` rules.

use std::io::{self, Write};

use serde_json::{Value, json};

use super::{Output, OutputSettings, render};
use crate::args::Format;
use crate::exit::ExitStatus;

#[track_caller]
fn check(format: Format, data: Value, expected: &str) {
    let mut out = Vec::new();
    render(&mut out, format, &data, "event").unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), expected);
}

#[test]
fn list_of_strings() {
    let events = json!(["Sign Up", "Login", "say \"hi\", bye"]);
    check(
        Format::Json,
        events.clone(),
        "[\n  \"Sign Up\",\n  \"Login\",\n  \"say \\\"hi\\\", bye\"\n]\n",
    );
    check(
        Format::Jsonl,
        events.clone(),
        "\"Sign Up\"\n\"Login\"\n\"say \\\"hi\\\", bye\"\n",
    );
    check(
        Format::Plain,
        events.clone(),
        "Sign Up\nLogin\nsay \"hi\", bye\n",
    );
    check(
        Format::Csv,
        events.clone(),
        "event\nSign Up\nLogin\n\"say \"\"hi\"\", bye\"\n",
    );
    check(
        Format::Table,
        events,
        "┌───────────────┐\n\
         │ EVENT         │\n\
         ├───────────────┤\n\
         │ Sign Up       │\n\
         │ Login         │\n\
         │ say \"hi\", bye │\n\
         └───────────────┘\n",
    );
}

#[test]
fn list_of_objects_uses_the_union_of_keys() {
    let rows = json!([{"event": "Login", "count": 3}, {"event": "Buy", "count": 1, "top_country": null, "ok": true}]);
    check(
        Format::Csv,
        rows.clone(),
        "event,count,top_country,ok\nLogin,3,,\nBuy,1,,true\n",
    );
    check(Format::Plain, rows.clone(), "Login\nBuy\n");
    check(
        Format::Jsonl,
        rows.clone(),
        "{\"event\":\"Login\",\"count\":3}\n{\"event\":\"Buy\",\"count\":1,\"top_country\":null,\"ok\":true}\n",
    );
    let mut out = Vec::new();
    render(&mut out, Format::Table, &rows, "unused").unwrap();
    let table = String::from_utf8(out).unwrap();
    assert!(
        table.lines().nth(1).unwrap().contains("TOP COUNTRY"),
        "{table}"
    );
}

#[test]
fn single_object() {
    let object = json!({"MP_USERNAME": "sandbox", "nested": {"a": [1, 2]}});
    check(
        Format::Plain,
        object.clone(),
        "MP_USERNAME=sandbox\nnested={\"a\":[1,2]}\n",
    );
    check(
        Format::Csv,
        object.clone(),
        "key,value\nMP_USERNAME,sandbox\nnested,\"{\"\"a\"\":[1,2]}\"\n",
    );
    check(
        Format::Jsonl,
        object,
        "{\"MP_USERNAME\":\"sandbox\",\"nested\":{\"a\":[1,2]}}\n",
    );
}

#[test]
fn empty_list_and_scalars() {
    check(Format::Json, json!([]), "[]\n");
    check(Format::Jsonl, json!([]), "");
    check(Format::Table, json!([]), "");
    check(Format::Csv, json!([]), "");
    check(Format::Plain, json!([]), "");
    check(Format::Plain, json!(42), "42\n");
    check(Format::Table, json!("x"), "x\n");
}

#[test]
fn format_defaults_follow_the_terminal_and_jq() {
    let resolve = |format, jq, terminal| {
        OutputSettings::resolve(format, jq, terminal).map(|settings| settings.format)
    };
    assert_eq!(resolve(None, None, true).unwrap(), Format::Table);
    assert_eq!(resolve(None, None, false).unwrap(), Format::Json);
    assert_eq!(resolve(None, Some("."), true).unwrap(), Format::Json);
    assert_eq!(
        resolve(Some(Format::Jsonl), Some("."), true).unwrap(),
        Format::Jsonl
    );
    for format in [Format::Table, Format::Csv, Format::Plain] {
        let error = resolve(Some(format), Some("."), false).unwrap_err();
        assert_eq!(error.status(), ExitStatus::Usage);
    }
    let error = resolve(None, Some(".["), false).unwrap_err();
    assert_eq!(error.status(), ExitStatus::Usage);
}

#[track_caller]
fn check_jq(format: Format, filter: &str, data: Value, expected: &str) {
    let settings = OutputSettings::resolve(Some(format), Some(filter), false).unwrap();
    let mut output = Output::new(settings, Vec::new());
    output.emit(&data, "event").unwrap();
    assert_eq!(String::from_utf8(output.into_inner()).unwrap(), expected);
}

#[test]
fn jq_results() {
    let events = json!(["Login", "Logout", "Search"]);
    check_jq(Format::Json, ".[0]", events.clone(), "\"Login\"\n");
    check_jq(
        Format::Json,
        "map(select(startswith(\"Log\")))",
        events.clone(),
        "[\n  \"Login\",\n  \"Logout\"\n]\n",
    );
    check_jq(
        Format::Json,
        ".[] | select(startswith(\"Log\"))",
        events.clone(),
        "[\n  \"Login\",\n  \"Logout\"\n]\n",
    );
    check_jq(Format::Json, "empty", events.clone(), "[]\n");
    check_jq(
        Format::Jsonl,
        ".[] | select(startswith(\"Log\"))",
        events.clone(),
        "\"Login\"\n\"Logout\"\n",
    );
    check_jq(
        Format::Jsonl,
        ".",
        events,
        "[\"Login\",\"Logout\",\"Search\"]\n",
    );
}

/// A writer whose reader has gone away, like stdout piped into `head` after it exits.
struct ClosedPipe;

impl Write for ClosedPipe {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::from(io::ErrorKind::BrokenPipe))
    }
    fn flush(&mut self) -> io::Result<()> {
        Err(io::Error::from(io::ErrorKind::BrokenPipe))
    }
}

#[test]
fn broken_pipe_is_a_quiet_success() {
    for format in [
        Format::Json,
        Format::Jsonl,
        Format::Table,
        Format::Csv,
        Format::Plain,
    ] {
        let settings = OutputSettings::resolve(Some(format), None, false).unwrap();
        let mut output = Output::new(settings, ClosedPipe);
        let error = output.emit(&json!(["a", "b"]), "event").unwrap_err();
        let classified = crate::exit::classify(&error);
        assert_eq!(classified.status, ExitStatus::Success, "{format:?}");
        assert!(classified.quiet);
    }
}

#[test]
fn results_with_two_faces() {
    let data = json!({"event": "Login", "total": 3});
    let headers = ["date".to_owned(), "US, CA".to_owned()];
    let rows = [
        vec![json!("2024-01-01"), json!(1)],
        vec![json!("2024-01-02"), Value::Null],
    ];
    let check = |format, expected: &str| {
        let mut out = Vec::new();
        super::render_table(&mut out, format, &data, &headers, &rows).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), expected, "{format:?}");
    };
    check(
        Format::Json,
        "{\n  \"event\": \"Login\",\n  \"total\": 3\n}\n",
    );
    check(Format::Jsonl, "{\"event\":\"Login\",\"total\":3}\n");
    check(Format::Csv, "date,\"US, CA\"\n2024-01-01,1\n2024-01-02,\n");
    check(Format::Plain, "2024-01-01\t1\n2024-01-02\t\n");
    check(
        Format::Table,
        "┌────────────┬────────┐\n\
         │ DATE       │ US, CA │\n\
         ├────────────┼────────┤\n\
         │ 2024-01-01 │ 1      │\n\
         │ 2024-01-02 │        │\n\
         └────────────┴────────┘\n",
    );
    // No rows: the header still says what the columns are.
    let mut out = Vec::new();
    super::render_table(&mut out, Format::Csv, &data, &headers, &[]).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "date,\"US, CA\"\n");
}
