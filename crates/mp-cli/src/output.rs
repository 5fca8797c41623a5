//! The output layer: every command's data goes through [`Output::emit`].
//!
//! stdout carries data only, in one of five formats; everything else (progress,
//! notes, hints, errors) goes to stderr through [`Messages`]. A write that fails
//! with `BrokenPipe` is passed up unchanged, and `exit.rs` turns it into a quiet
//! success, so `mp … | head -1` never prints an error.
//!
//! The formats, for a list of items (the common case) and for a single object:
//!
//! | format | list | object |
//! |---|---|---|
//! | `json` | a pretty-printed array (indent 2, always, so files and terminals look alike) | a pretty-printed object |
//! | `jsonl` | one compact item per line | one compact line |
//! | `table` | a header row and one row per item; objects give one column per key | `KEY`/`VALUE` rows |
//! | `csv` | the same cells as `table`, RFC 4180 quoting, `\n` line ends | `key,value` rows |
//! | `plain` | one item per line: strings unquoted; objects by `name`, `value`, `event` or `id` | `key=value` lines |
//!
//! In `table`, `csv` and `plain` cells, strings are unquoted, `null` is empty,
//! booleans are `true`/`false`, and nested arrays and objects are compact JSON.
//!
//! Query results and some listings have two faces ([`Output::emit_table`]): `json`
//! and `jsonl` print the full typed result, while `table`, `csv` and `plain` print
//! rows the way a person reads them (`plain`: tab-separated cells, no header).

use std::io::{self, IsTerminal, Write};

use serde_json::{Map, Value};

use crate::args::Format;
use crate::exit::CliError;
use crate::jq::JqProgram;

/// How a command's data is printed: the format and the optional `--jq` program.
#[derive(Debug, Clone)]
pub struct OutputSettings {
    /// The format in effect after applying the defaults.
    pub format: Format,
    /// The compiled `--jq` program, if any.
    pub jq: Option<JqProgram>,
}

impl OutputSettings {
    /// Resolves `--format` and `--jq`.
    ///
    /// Without `--format`, the format is `table` when stdout is a terminal and `json`
    /// otherwise, except that `--jq` alone implies `json`. `--jq` with `table`, `csv`
    /// or `plain` is a usage error, and so is a filter that does not compile.
    pub fn resolve(
        format: Option<Format>,
        jq: Option<&str>,
        stdout_is_terminal: bool,
    ) -> Result<OutputSettings, CliError> {
        let format = match (format, jq) {
            (Some(format), _) => format,
            (None, Some(_)) => Format::Json,
            (None, None) if stdout_is_terminal => Format::Table,
            (None, None) => Format::Json,
        };
        let jq = match jq {
            None => None,
            Some(code) => {
                if !matches!(format, Format::Json | Format::Jsonl) {
                    return Err(CliError::usage(format!(
                        "`--jq` works only with `--format json` or `--format jsonl`, not `{}`",
                        format_name(format)
                    ))
                    .with_hint("drop `--format`, or pick json or jsonl"));
                }
                Some(JqProgram::compile(code)?)
            }
        };
        Ok(OutputSettings { format, jq })
    }
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Json => "json",
        Format::Jsonl => "jsonl",
        Format::Table => "table",
        Format::Csv => "csv",
        Format::Plain => "plain",
    }
}

/// Writes command data to stdout (or, in tests, to any writer).
pub struct Output<W: Write> {
    settings: OutputSettings,
    out: W,
}

impl<W: Write> std::fmt::Debug for Output<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Output")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Output<io::BufWriter<io::StdoutLock<'static>>> {
    /// An output on the process's stdout.
    pub fn stdout(settings: OutputSettings) -> Self {
        Output::new(settings, io::BufWriter::new(io::stdout().lock()))
    }
}

impl<W: Write> Output<W> {
    /// An output on `out`.
    pub fn new(settings: OutputSettings, out: W) -> Self {
        Output { settings, out }
    }

    /// Prints `data` in the configured format and flushes.
    ///
    /// `column` names the single column of a list of scalars (for example `event`), in
    /// the header of `table` and `csv`.
    pub fn emit(&mut self, data: &Value, column: &str) -> anyhow::Result<()> {
        match &self.settings.jq {
            Some(program) => {
                let results = program.run(data)?;
                match self.settings.format {
                    Format::Jsonl => {
                        for result in &results {
                            write_compact_line(&mut self.out, result)?;
                        }
                    }
                    // jq's own convention for one JSON document: no result is an empty
                    // array, one result is itself, several are collected in an array.
                    _ => match results.len() {
                        1 => write_pretty(&mut self.out, &results[0])?,
                        _ => write_pretty(&mut self.out, &Value::Array(results))?,
                    },
                }
            }
            None => render(&mut self.out, self.settings.format, data, column)?,
        }
        self.out.flush()?;
        Ok(())
    }

    /// Prints a result that has two faces, and flushes: `json` and `jsonl` (and
    /// `--jq`) print `data`, the full typed result; `table` and `csv` print
    /// `headers` and `rows`, the way a person reads the result (the header even when
    /// there are no rows); `plain` prints one row per line, cells separated by tabs,
    /// without a header.
    pub fn emit_table(
        &mut self,
        data: &Value,
        headers: &[String],
        rows: &[Vec<Value>],
    ) -> anyhow::Result<()> {
        if self.settings.jq.is_some() {
            // `--jq` implies json or jsonl, whose face is `data`.
            return self.emit(data, "value");
        }
        render_table(&mut self.out, self.settings.format, data, headers, rows)?;
        self.out.flush()?;
        Ok(())
    }

    /// Returns the writer (for tests).
    #[cfg(test)]
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// Renders `data` in `format` to `out`.
pub fn render(out: &mut dyn Write, format: Format, data: &Value, column: &str) -> io::Result<()> {
    match format {
        Format::Json => write_pretty(out, data),
        Format::Jsonl => match data {
            Value::Array(items) => items
                .iter()
                .try_for_each(|item| write_compact_line(out, item)),
            other => write_compact_line(out, other),
        },
        Format::Table => {
            let Some(grid) = Grid::of(data, column) else {
                return writeln!(out, "{}", cell(data));
            };
            if grid.rows.is_empty() {
                return Ok(());
            }
            write_table(out, grid)
        }
        Format::Csv => {
            let Some(grid) = Grid::of(data, column) else {
                return writeln!(out, "{}", csv_field(&cell(data)));
            };
            if grid.rows.is_empty() {
                return Ok(());
            }
            write_csv(out, grid)
        }
        Format::Plain => match data {
            Value::Array(items) => items
                .iter()
                .try_for_each(|item| writeln!(out, "{}", plain_item(item))),
            Value::Object(map) => map
                .iter()
                .try_for_each(|(key, value)| writeln!(out, "{key}={}", cell(value))),
            other => writeln!(out, "{}", cell(other)),
        },
    }
}

/// Renders a result that has two faces: `json` and `jsonl` print `data`, and the
/// `headers` and `rows` are what `table`, `csv` and `plain` print (see
/// [`Output::emit_table`]).
pub fn render_table(
    out: &mut dyn Write,
    format: Format,
    data: &Value,
    headers: &[String],
    rows: &[Vec<Value>],
) -> io::Result<()> {
    let grid = Grid {
        header: headers.to_vec(),
        rows: rows
            .iter()
            .map(|row| row.iter().map(cell).collect())
            .collect(),
    };
    match format {
        Format::Json | Format::Jsonl => render(out, format, data, "value"),
        // A header without rows still says what the columns would have been.
        Format::Table if grid.header.is_empty() => Ok(()),
        Format::Table => write_table(out, grid),
        Format::Csv if grid.header.is_empty() => Ok(()),
        Format::Csv => write_csv(out, grid),
        Format::Plain => grid
            .rows
            .iter()
            .try_for_each(|row| writeln!(out, "{}", row.join("\t"))),
    }
}

fn write_table(out: &mut dyn Write, grid: Grid) -> io::Result<()> {
    let mut builder = tabled::builder::Builder::default();
    builder.push_record(
        grid.header
            .iter()
            .map(|name| name.to_uppercase().replace('_', " ")),
    );
    for row in grid.rows {
        builder.push_record(row);
    }
    let mut table = builder.build();
    table.with(tabled::settings::Style::sharp());
    writeln!(out, "{table}")
}

fn write_csv(out: &mut dyn Write, grid: Grid) -> io::Result<()> {
    for row in std::iter::once(grid.header).chain(grid.rows) {
        let line: Vec<String> = row.iter().map(|field| csv_field(field)).collect();
        writeln!(out, "{}", line.join(","))?;
    }
    Ok(())
}

fn write_pretty(out: &mut dyn Write, value: &Value) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(io::Error::from)?;
    writeln!(out)
}

fn write_compact_line(out: &mut dyn Write, value: &Value) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value).map_err(io::Error::from)?;
    writeln!(out)
}

/// The cells of `table` and `csv`: a header and rows of text.
struct Grid {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Grid {
    /// Lays out lists and objects; returns `None` for a scalar.
    fn of(data: &Value, column: &str) -> Option<Grid> {
        match data {
            Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_object) => {
                // Columns are the union of keys in first-seen order, so an item with an
                // extra key (a sparse property, say) is not silently cut.
                let mut header: Vec<String> = Vec::new();
                for item in items.iter().filter_map(Value::as_object) {
                    for key in item.keys() {
                        if !header.contains(key) {
                            header.push(key.clone());
                        }
                    }
                }
                let rows = items
                    .iter()
                    .filter_map(Value::as_object)
                    .map(|item| {
                        header
                            .iter()
                            .map(|key| item.get(key).map(cell).unwrap_or_default())
                            .collect()
                    })
                    .collect();
                Some(Grid { header, rows })
            }
            Value::Array(items) => Some(Grid {
                header: vec![column.to_owned()],
                rows: items.iter().map(|item| vec![cell(item)]).collect(),
            }),
            Value::Object(map) => Some(Grid {
                header: vec!["key".to_owned(), "value".to_owned()],
                rows: map
                    .iter()
                    .map(|(key, value)| vec![key.clone(), cell(value)])
                    .collect(),
            }),
            _ => None,
        }
    }
}

/// The text of one value in `table`, `csv` and `plain`.
fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => number.to_string(),
        nested => nested.to_string(),
    }
}

/// One line of `plain` for a list item: objects show their most telling field.
fn plain_item(item: &Value) -> String {
    match item {
        Value::Object(map) => plain_object_item(map),
        other => cell(other),
    }
}

fn plain_object_item(map: &Map<String, Value>) -> String {
    ["name", "value", "event", "id"]
        .iter()
        .find_map(|key| map.get(*key))
        .or_else(|| map.values().next())
        .map(cell)
        .unwrap_or_default()
}

/// Quotes a CSV field when it holds a comma, a quote or a line break (RFC 4180).
fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

/// Messages for people on stderr: notes, warnings and errors.
///
/// Writes to stderr ignore failures: there is nowhere left to report them.
#[derive(Debug, Clone, Copy)]
pub struct Messages {
    /// `--quiet`: notes are suppressed (errors never are).
    pub quiet: bool,
    /// Colour escapes are allowed (stderr is a terminal and `NO_COLOR` is unset).
    pub color: bool,
}

impl Messages {
    /// Decides colour from the terminal and `NO_COLOR`.
    pub fn new(quiet: bool, no_color: bool) -> Messages {
        Messages {
            quiet,
            color: !no_color && io::stderr().is_terminal(),
        }
    }

    /// Prints an informational line, unless `--quiet`.
    pub fn note(&self, message: &str) {
        if !self.quiet {
            let _ = writeln!(io::stderr().lock(), "{message}");
        }
    }

    /// Prints `warning: …`, unless `--quiet`.
    pub fn warn(&self, message: &str) {
        if !self.quiet {
            let (yellow, reset) = if self.color {
                ("\x1b[33m", "\x1b[0m")
            } else {
                ("", "")
            };
            let _ = writeln!(io::stderr().lock(), "{yellow}warning{reset}: {message}");
        }
    }
}

#[cfg(test)]
mod tests;
