//! Query input that `mp` checks itself, before anything is sent: dates, relative
//! ranges and expressions, plus the small value types the query flags share.
//!
//! What is checked locally (every failure is a usage error, exit 3, and no request
//! is sent):
//!
//! | input | check |
//! |---|---|
//! | `--from`, `--to` | a real calendar day written `YYYY-MM-DD`; `--from` not after `--to`; `--to` not in the future (mp-query's check, against UTC) |
//! | `--last` | `Nd` (N days) or `Nw` (N weeks), N ≥ 1, instead of `--from`/`--to`; the range ends today (UTC) and includes it |
//! | `--where`, `--born-where`, `--return-where`, `--on` | not blank; every string literal (`"…"` or `'…'`, with `\` escapes) is closed; `(`/`)` and `[`/`]` balance and nest |
//!
//! Anything deeper (unknown functions, operators, property names) is Mixpanel's to
//! judge: its answer comes back as a bad request (exit 6) with its message.

use clap::{Args, ValueEnum};

use mp_query::{Date, DateRange};

use crate::exit::CliError;

/// `--from`/`--to`, or `--last`: a required date range.
#[derive(Debug, Clone, Args)]
pub struct DateRangeArgs {
    /// First day, YYYY-MM-DD (UTC).
    #[arg(long = "from", value_name = "DATE", value_parser = parse_date,
          required_unless_present = "last", requires = "to")]
    pub from: Option<Date>,

    /// Last day, YYYY-MM-DD (UTC), included.
    #[arg(long = "to", value_name = "DATE", value_parser = parse_date,
          required_unless_present = "last", requires = "from")]
    pub to: Option<Date>,

    /// Instead of --from/--to: the last N days (30d) or weeks (12w), ending today (UTC).
    #[arg(long, value_name = "N{d|w}", value_parser = parse_last, conflicts_with_all = ["from", "to"])]
    pub last: Option<u32>,
}

impl DateRangeArgs {
    /// Checks what needs no clock: `--from` is not after `--to`.
    pub fn check(&self) -> Result<(), CliError> {
        if let (Some(from), Some(to)) = (self.from, self.to) {
            check_order(from, to)?;
        }
        Ok(())
    }

    /// The range as `from_date` and `to_date`, `--last` counted back from `today`.
    pub fn resolve(&self, today: Date) -> Result<(String, String), CliError> {
        match (self.from, self.to, self.last) {
            (Some(from), Some(to), _) => Ok((from.to_string(), to.to_string())),
            (_, _, Some(n_days)) => {
                let range = last_days(n_days, today)?;
                Ok((range.from_date(), range.to_date()))
            }
            // clap requires one form or the other.
            _ => Err(CliError::usage("give `--from` and `--to`, or `--last`")),
        }
    }
}

/// `--from`/`--to`/`--last`, all optional (the activity feed).
#[derive(Debug, Clone, Args)]
pub struct OptionalDateRangeArgs {
    /// First day, YYYY-MM-DD (UTC).
    #[arg(long = "from", value_name = "DATE", value_parser = parse_date)]
    pub from: Option<Date>,

    /// Last day, YYYY-MM-DD (UTC), included.
    #[arg(long = "to", value_name = "DATE", value_parser = parse_date)]
    pub to: Option<Date>,

    /// Instead of --from/--to: the last N days (30d) or weeks (12w), ending today (UTC).
    #[arg(long, value_name = "N{d|w}", value_parser = parse_last, conflicts_with_all = ["from", "to"])]
    pub last: Option<u32>,
}

impl OptionalDateRangeArgs {
    /// Checks what needs no clock: `--from` is not after `--to`.
    pub fn check(&self) -> Result<(), CliError> {
        if let (Some(from), Some(to)) = (self.from, self.to) {
            check_order(from, to)?;
        }
        Ok(())
    }

    /// The dates given, if any, `--last` counted back from `today`.
    pub fn resolve(&self, today: Date) -> Result<(Option<String>, Option<String>), CliError> {
        if let Some(n_days) = self.last {
            let range = last_days(n_days, today)?;
            return Ok((Some(range.from_date()), Some(range.to_date())));
        }
        Ok((
            self.from.map(|date| date.to_string()),
            self.to.map(|date| date.to_string()),
        ))
    }
}

fn check_order(from: Date, to: Date) -> Result<(), CliError> {
    if from > to {
        return Err(
            CliError::usage(format!("`--from` {from} is after `--to` {to}"))
                .with_hint("the range includes both days; swap them, or use `--last 30d`"),
        );
    }
    Ok(())
}

fn last_days(n_days: u32, today: Date) -> Result<DateRange, CliError> {
    DateRange::last(n_days, today)
        .map_err(|error| CliError::usage("invalid `--last`").with_source(error))
}

/// Parses `YYYY-MM-DD`, a day that exists.
pub fn parse_date(text: &str) -> Result<Date, String> {
    Date::parse(text).ok_or_else(|| {
        format!("`{text}` is not a date written YYYY-MM-DD (a real day, such as 2024-01-31)")
    })
}

/// Parses `--last`: `Nd` or `Nw`, into a number of days.
pub fn parse_last(text: &str) -> Result<u32, String> {
    let bad =
        || format!("`{text}` is not a relative range: write N days as `30d` or N weeks as `12w`");
    let (digits, days_per_unit) = if let Some(digits) = text.strip_suffix('d') {
        (digits, 1)
    } else if let Some(digits) = text.strip_suffix('w') {
        (digits, 7)
    } else {
        return Err(bad());
    };
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u32 = digits.parse().map_err(|_| bad())?;
    if n == 0 {
        return Err(format!(
            "`{text}` is empty: a range covers at least one day"
        ));
    }
    n.checked_mul(days_per_unit).ok_or_else(bad)
}

/// Checks an expression flag (`--where` and friends) for what can be judged without
/// Mixpanel: see the module docs.
pub fn check_expression(flag: &str, expression: &str) -> Result<(), CliError> {
    let fail = |problem: String| {
        CliError::usage(format!("invalid `{flag}` expression: {problem}")).with_hint(
            "expressions look like `properties[\"country\"] == \"US\"`: \
             quotes must close and brackets must balance",
        )
    };
    if expression.trim().is_empty() {
        return Err(fail("it is empty".to_owned()));
    }
    // (the bracket, its column) for every bracket still open.
    let mut open: Vec<(char, usize)> = Vec::new();
    // The quote character and column of the string literal we are in, if any.
    let mut string: Option<(char, usize)> = None;
    let mut escaped = false;
    for (index, character) in expression.chars().enumerate() {
        let column = index + 1;
        if let Some((quote, _)) = string {
            if escaped {
                escaped = false;
            } else if character == '\\' {
                escaped = true;
            } else if character == quote {
                string = None;
            }
            continue;
        }
        match character {
            '"' | '\'' => string = Some((character, column)),
            '(' | '[' => open.push((character, column)),
            ')' | ']' => {
                let expected = if character == ')' { '(' } else { '[' };
                match open.pop() {
                    Some((bracket, _)) if bracket == expected => {}
                    Some((bracket, opened)) => {
                        return Err(fail(format!(
                            "`{character}` at column {column} does not match `{bracket}` at column {opened}"
                        )));
                    }
                    None => {
                        return Err(fail(format!(
                            "`{character}` at column {column} closes nothing"
                        )));
                    }
                }
            }
            _ => {}
        }
    }
    if let Some((quote, opened)) = string {
        return Err(fail(format!(
            "the string opened by {quote} at column {opened} is never closed"
        )));
    }
    if let Some((bracket, opened)) = open.pop() {
        return Err(fail(format!(
            "`{bracket}` at column {opened} is never closed"
        )));
    }
    Ok(())
}

/// Checks an optional expression flag.
pub fn check_optional_expression(flag: &str, expression: Option<&str>) -> Result<(), CliError> {
    match expression {
        Some(expression) => check_expression(flag, expression),
        None => Ok(()),
    }
}

/// `--unit` of the series queries: `day`, `week` or `month`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeriesUnit {
    /// Per day.
    Day,
    /// Per week.
    Week,
    /// Per month.
    Month,
}

impl From<SeriesUnit> for mp_query::Unit {
    fn from(unit: SeriesUnit) -> mp_query::Unit {
        match unit {
            SeriesUnit::Day => mp_query::Unit::Day,
            SeriesUnit::Week => mp_query::Unit::Week,
            SeriesUnit::Month => mp_query::Unit::Month,
        }
    }
}

/// `--unit` of the numeric queries and `--addiction-unit`: `hour` or `day`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FineUnit {
    /// Per hour.
    Hour,
    /// Per day.
    Day,
}

impl From<FineUnit> for mp_query::Unit {
    fn from(unit: FineUnit) -> mp_query::Unit {
        match unit {
            FineUnit::Hour => mp_query::Unit::Hour,
            FineUnit::Day => mp_query::Unit::Day,
        }
    }
}

/// `--type`: what is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CountTypeArg {
    /// Every event.
    General,
    /// Unique users.
    Unique,
    /// Events per user.
    Average,
}

impl From<CountTypeArg> for mp_query::CountType {
    fn from(count_type: CountTypeArg) -> mp_query::CountType {
        match count_type {
            CountTypeArg::General => mp_query::CountType::General,
            CountTypeArg::Unique => mp_query::CountType::Unique,
            CountTypeArg::Average => mp_query::CountType::Average,
        }
    }
}

impl From<CountTypeArg> for mp_discovery::EventType {
    fn from(count_type: CountTypeArg) -> mp_discovery::EventType {
        match count_type {
            CountTypeArg::General => mp_discovery::EventType::General,
            CountTypeArg::Unique => mp_discovery::EventType::Unique,
            CountTypeArg::Average => mp_discovery::EventType::Average,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_where(expression: &str, expected: Result<(), &str>) {
        let result = check_expression("--where", expression).map_err(|error| error.to_string());
        match expected {
            Ok(()) => assert_eq!(result, Ok(()), "{expression}"),
            Err(fragment) => {
                let message = result.expect_err(expression);
                assert!(message.contains(fragment), "{message:?} lacks {fragment:?}");
            }
        }
    }

    #[test]
    fn expressions() {
        check_where(r#"properties["country"] == "US""#, Ok(()));
        check_where(
            r#"(properties["a"] > 1 or properties['b'] in ["x", "y)"]) and defined(user["$email"])"#,
            Ok(()),
        );
        check_where(r#"properties["say \"hi\""] == 1"#, Ok(()));
        check_where("", Err("it is empty"));
        check_where("   ", Err("it is empty"));
        check_where(r#"properties["country] == 1"#, Err("never closed"));
        check_where(
            r#"properties["country"] == 'US"#,
            Err("string opened by ' at column 26"),
        );
        check_where(
            r#"(properties["a"] == 1"#,
            Err("`(` at column 1 is never closed"),
        );
        check_where(
            r#"properties["a"]) == 1"#,
            Err("`)` at column 16 closes nothing"),
        );
        check_where(
            r#"(properties["a") == 1]"#,
            Err("`)` at column 16 does not match `[`"),
        );
    }

    #[test]
    fn relative_ranges() {
        assert_eq!(parse_last("30d"), Ok(30));
        assert_eq!(parse_last("1d"), Ok(1));
        assert_eq!(parse_last("12w"), Ok(84));
        for bad in [
            "",
            "d",
            "30",
            "30m",
            "-3d",
            "+3d",
            "3.5d",
            "3 d",
            "99999999999d",
        ] {
            assert!(parse_last(bad).is_err(), "{bad}");
        }
        assert!(parse_last("0d").unwrap_err().contains("at least one day"));
        assert!(parse_last("700000000w").is_err());

        let today = Date::parse("2024-01-31").unwrap();
        let range = |last| DateRangeArgs {
            from: None,
            to: None,
            last: Some(last),
        };
        assert_eq!(
            range(7).resolve(today).unwrap(),
            ("2024-01-25".to_owned(), "2024-01-31".to_owned())
        );
        assert_eq!(
            range(1).resolve(today).unwrap(),
            ("2024-01-31".to_owned(), "2024-01-31".to_owned())
        );
    }

    #[test]
    fn absolute_ranges() {
        let date = |text| Some(Date::parse(text).unwrap());
        let range = DateRangeArgs {
            from: date("2024-01-10"),
            to: date("2024-01-01"),
            last: None,
        };
        let error = range.check().unwrap_err();
        assert_eq!(
            error.to_string(),
            "`--from` 2024-01-10 is after `--to` 2024-01-01"
        );
        let range = DateRangeArgs {
            from: date("2024-01-01"),
            to: date("2024-01-01"),
            last: None,
        };
        assert!(range.check().is_ok());
        assert!(parse_date("2024-02-30").is_err());
        assert!(parse_date("2024-2-3").is_err());
    }
}
