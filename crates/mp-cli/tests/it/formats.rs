//! Runs one data command in every format and checks that the formats agree with
//! each other: `jsonl` is the JSON, `plain` rows are the `csv` rows, and the `table`
//! shows every header and cell of the `csv`.

use serde_json::Value;

use crate::support::{Mp, TestSandbox};

/// One command's output in every format.
#[derive(Debug)]
pub struct Formats {
    /// `--format json`, parsed.
    pub json: Value,
    /// `--format csv`, parsed: the header row, then the data rows.
    pub csv: Vec<Vec<String>>,
}

impl Formats {
    /// The CSV header.
    pub fn header(&self) -> Vec<&str> {
        self.csv[0].iter().map(String::as_str).collect()
    }

    /// The CSV data rows.
    pub fn rows(&self) -> &[Vec<String>] {
        &self.csv[1..]
    }

    /// The cell of `row` in the column named `column`.
    #[track_caller]
    pub fn cell(&self, row: usize, column: &str) -> &str {
        let index = self
            .header()
            .iter()
            .position(|name| *name == column)
            .unwrap_or_else(|| panic!("no column {column:?} in {:?}", self.header()));
        &self.rows()[row][index]
    }
}

/// Runs `mp --format F ARGS…` against `sandbox` for every format F, checks that the
/// formats agree, and returns them.
#[track_caller]
pub fn check_formats(sandbox: &TestSandbox, args: &[&str]) -> Formats {
    let run = |format: &str| {
        let mut full = vec!["--format", format];
        full.extend_from_slice(args);
        let run = Mp::new(&full).env(&sandbox.env()).run();
        run.success();
        assert_eq!(run.stderr, "", "{args:?} --format {format} wrote to stderr");
        run.stdout
    };
    let json: Value = serde_json::from_str(&run("json")).unwrap();

    let jsonl = run("jsonl");
    let lines: Vec<Value> = jsonl
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    match &json {
        Value::Array(items) => assert_eq!(&lines, items, "{args:?}: jsonl is not the JSON"),
        other => assert_eq!(
            lines,
            std::slice::from_ref(other),
            "{args:?}: jsonl is not the JSON"
        ),
    }

    let csv = parse_csv(&run("csv"));
    assert!(!csv.is_empty(), "{args:?}: CSV without a header");
    let width = csv[0].len();
    for row in &csv {
        assert_eq!(row.len(), width, "{args:?}: ragged CSV row {row:?}");
    }

    let plain = run("plain");
    let expected: Vec<String> = csv[1..].iter().map(|row| row.join("\t")).collect();
    assert_eq!(
        plain.lines().collect::<Vec<_>>(),
        expected,
        "{args:?}: plain rows are not the CSV rows"
    );

    let table = run("table");
    for name in &csv[0] {
        let title = name.to_uppercase().replace('_', " ");
        assert!(
            table.contains(&title),
            "{args:?}: {title} missing from\n{table}"
        );
    }
    for cell in csv[1..].iter().flatten() {
        assert!(
            table.contains(cell.as_str()),
            "{args:?}: {cell} missing from\n{table}"
        );
    }
    Formats { json, csv }
}

/// Parses RFC 4180 CSV (quoted fields with `""` escapes, no line breaks inside).
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|line| {
            let mut fields = Vec::new();
            let mut field = String::new();
            let mut quoted = false;
            let mut chars = line.chars().peekable();
            while let Some(character) = chars.next() {
                match (character, quoted) {
                    ('"', true) if chars.peek() == Some(&'"') => {
                        field.push('"');
                        chars.next();
                    }
                    ('"', true) => quoted = false,
                    ('"', false) if field.is_empty() => quoted = true,
                    (',', false) => fields.push(std::mem::take(&mut field)),
                    (other, _) => field.push(other),
                }
            }
            fields.push(field);
            fields
        })
        .collect()
}

#[test]
fn csv_parsing() {
    assert_eq!(
        parse_csv("a,b\n\"x,y\",\"say \"\"hi\"\"\"\n,\n"),
        [vec!["a", "b"], vec!["x,y", "say \"hi\""], vec!["", ""]]
    );
}
