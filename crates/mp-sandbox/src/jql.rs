//! `POST /api/query/jql`: a deliberately tiny subset of JQL.
//!
//! Mixpanel lists JQL as "in maintenance mode"; the sandbox does not embed a JavaScript
//! engine. It recognises the shape of the reference page's example and its close relatives:
//!
//! ```js
//! function main() {
//!   return Events(params)            // or Events({from_date: "…", to_date: "…", event_selectors: […]})
//!     .groupBy(["name", "properties.country"], mixpanel.reducer.count());
//!     // or .reduce(mixpanel.reducer.count()), or mixpanel.reducer.sum("properties.amount")
//! }
//! ```
//!
//! `Events` needs `from_date` and `to_date` (a date, or a date-time whose date is used) and
//! takes `event_selectors` (`[{"event": "Purchase", "selector": "<expression>"}]`). Group
//! keys are `name`, `distinct_id` and `properties.<name>`. `groupBy` answers
//! `[{"key": [...], "value": n}]` sorted by key, `reduce` answers `[n]`. Any other script is
//! answered 400 with Mixpanel's error shape and a message saying what the sandbox supports.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value as Json, json};

use crate::activity::value_json;
use crate::catalog::EventKind;
use crate::civil::{self, SECONDS_PER_DAY};
use crate::dataset::{Dataset, EventView};
use crate::expr::{Expr, Lookup, Scope, Value};
use crate::http_util::{ApiError, Params};

/// What the sandbox answers for a script outside its subset.
const SUPPORTED: &str = "the sandbox runs only `function main() { return Events(params or {...}).groupBy([keys], mixpanel.reducer.count() or .sum(\"properties.x\")) }` or `.reduce(...)` with the same reducers";

/// `POST /api/query/jql` (form: `script`, optional `params` as a JSON object).
pub(crate) fn query(dataset: &Dataset, params: &Params) -> Result<Json, ApiError> {
    let script = params.required("script")?;
    let script_params = match params.get("params") {
        None => None,
        Some(text) => Some(serde_json::from_str::<Json>(text).map_err(|error| {
            ApiError::bad_request(format!("params is not valid JSON: {error}"))
        })?),
    };
    let program = parse(script).map_err(|error| {
        ApiError::bad_request(format!("unsupported JQL script ({error}); {SUPPORTED}"))
    })?;
    let events_arg = match program.events {
        Argument::Params => script_params
            .ok_or_else(|| ApiError::bad_request("the script uses `params`, but none were sent"))?,
        Argument::Literal(value) => value,
    };
    let selection = Selection::parse(&events_arg)?;
    run(dataset, &selection, &program.operation)
}

/// The events `Events(...)` selects.
struct Selection {
    from: i64,
    to: i64,
    /// `(event, selector)`; empty means every event.
    selectors: Vec<(Option<EventKind>, Option<Expr>)>,
}

impl Selection {
    fn parse(argument: &Json) -> Result<Selection, ApiError> {
        let object = argument
            .as_object()
            .ok_or_else(|| ApiError::bad_request("Events() expects an object"))?;
        let date = |name: &str| -> Result<i64, ApiError> {
            let text = object
                .get(name)
                .and_then(Json::as_str)
                .ok_or_else(|| ApiError::bad_request(format!("Events() requires {name}")))?;
            text.get(..10)
                .and_then(civil::parse_date)
                .ok_or_else(|| ApiError::bad_request(format!("{name} is not a date: {text:?}")))
        };
        let (from, to) = (date("from_date")?, date("to_date")?);
        if from > to {
            return Err(ApiError::bad_request("from_date is after to_date"));
        }
        let mut selectors = Vec::new();
        if let Some(list) = object.get("event_selectors") {
            let list = list
                .as_array()
                .ok_or_else(|| ApiError::bad_request("event_selectors must be an array"))?;
            for item in list {
                let event = item.get("event").and_then(Json::as_str);
                let selector = item
                    .get("selector")
                    .and_then(Json::as_str)
                    .map(|text| {
                        Expr::parse(text).map_err(|error| {
                            ApiError::bad_request(format!("invalid selector: {error}"))
                        })
                    })
                    .transpose()?;
                // A selector naming an unknown event selects nothing, which `Some(None)`
                // would not express; skip it instead.
                match event {
                    Some(name) => {
                        if let Some(kind) = EventKind::from_name(name) {
                            selectors.push((Some(kind), selector));
                        }
                    }
                    None => selectors.push((None, selector)),
                }
            }
            if selectors.is_empty() {
                // Every selector named an unknown event.
                selectors.push((None, Some(Expr::Literal(Value::Bool(false)))));
            }
        }
        Ok(Selection {
            from,
            to,
            selectors,
        })
    }
}

/// A JQL property path such as `name` or `properties.country`.
#[derive(Debug, Clone)]
enum Key {
    Name,
    DistinctId,
    Property(String),
}

impl Key {
    fn parse(text: &str) -> Result<Key, ApiError> {
        match text {
            "name" => Ok(Key::Name),
            "distinct_id" => Ok(Key::DistinctId),
            _ => match text.strip_prefix("properties.") {
                Some(property) if !property.is_empty() => Ok(Key::Property(property.to_owned())),
                _ => Err(ApiError::bad_request(format!(
                    "unsupported JQL key {text:?} (use name, distinct_id or properties.<name>); {SUPPORTED}"
                ))),
            },
        }
    }

    fn value(&self, view: &EventView<'_>) -> Value {
        match self {
            Key::Name => Value::Str(view.event.kind.name().to_owned()),
            Key::DistinctId => {
                Value::Str(view.dataset.user(view.event.user).distinct_id.to_string())
            }
            Key::Property(name) => view.lookup(Scope::Properties, name),
        }
    }
}

/// A reducer.
#[derive(Debug, Clone)]
enum Reducer {
    Count,
    Sum(Key),
}

/// What follows `Events(...)`.
#[derive(Debug)]
enum Operation {
    GroupBy(Vec<Key>, Reducer),
    Reduce(Reducer),
}

/// The argument of `Events(...)`.
#[derive(Debug)]
enum Argument {
    Params,
    Literal(Json),
}

#[derive(Debug)]
struct Program {
    events: Argument,
    operation: Operation,
}

fn run(dataset: &Dataset, selection: &Selection, operation: &Operation) -> Result<Json, ApiError> {
    let (keys, reducer) = match operation {
        Operation::GroupBy(keys, reducer) => (keys.as_slice(), reducer),
        Operation::Reduce(reducer) => (&[][..], reducer),
    };
    // Group key (as JSON text, which orders like Mixpanel's sorted keys for strings) to
    // (key values, accumulator). Sums accumulate in f64 and are rounded to six decimals at
    // the end, so that `0.1 + 0.2` does not leak float noise into the answer.
    let mut groups: BTreeMap<String, (Vec<Json>, f64)> = BTreeMap::new();
    dataset.for_each_event_in(
        selection.from * SECONDS_PER_DAY,
        (selection.to + 1) * SECONDS_PER_DAY,
        |event| {
            let view = EventView { dataset, event };
            let selected = selection.selectors.is_empty()
                || selection.selectors.iter().any(|(kind, selector)| {
                    kind.is_none_or(|kind| kind == event.kind)
                        && selector.as_ref().is_none_or(|expr| expr.matches(&view))
                });
            if !selected {
                return;
            }
            let values: Vec<Json> = keys
                .iter()
                .map(|key| value_json(key.value(&view)))
                .collect();
            let text = Json::Array(values.clone()).to_string();
            let entry = groups.entry(text).or_insert((values, 0.0));
            entry.1 += match reducer {
                Reducer::Count => 1.0,
                Reducer::Sum(key) => match key.value(&view) {
                    Value::Num(number) => number,
                    _ => 0.0,
                },
            };
        },
    );
    let number = |value: f64| value_json(Value::Num((value * 1e6).round() / 1e6));
    Ok(match operation {
        Operation::Reduce(_) => {
            let total: f64 = groups.values().map(|(_, value)| value).sum();
            json!([number(total)])
        }
        Operation::GroupBy(..) => Json::Array(
            groups
                .into_values()
                .map(|(key, value)| {
                    let mut row = Map::new();
                    row.insert("key".to_owned(), Json::Array(key));
                    row.insert("value".to_owned(), number(value));
                    Json::Object(row)
                })
                .collect(),
        ),
    })
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Num(f64),
    Punct(char),
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Word(word) => write!(f, "`{word}`"),
            Token::Str(text) => write!(f, "string {text:?}"),
            Token::Num(number) => write!(f, "`{number}`"),
            Token::Punct(symbol) => write!(f, "`{symbol}`"),
        }
    }
}

/// Splits a script into words, strings, numbers and punctuation, skipping `//` comments.
/// The subset needs no operators, so any other character is an error that names it.
fn tokenize(script: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = script.chars().collect();
    let mut index = 0;
    while index < chars.len() {
        let ch = chars[index];
        if ch.is_whitespace() {
            index += 1;
        } else if ch == '/' && chars.get(index + 1) == Some(&'/') {
            while index < chars.len() && chars[index] != '\n' {
                index += 1;
            }
        } else if ch == '"' || ch == '\'' {
            let mut text = String::new();
            index += 1;
            loop {
                match chars.get(index) {
                    None => return Err("unterminated string".to_owned()),
                    Some(&c) if c == ch => break,
                    Some('\\') => {
                        index += 1;
                        match chars.get(index) {
                            Some('n') => text.push('\n'),
                            Some(&c) => text.push(c),
                            None => return Err("unterminated string".to_owned()),
                        }
                    }
                    Some(&c) => text.push(c),
                }
                index += 1;
            }
            index += 1;
            tokens.push(Token::Str(text));
        } else if ch.is_ascii_digit()
            || (ch == '-' && chars.get(index + 1).is_some_and(char::is_ascii_digit))
        {
            let start = index;
            index += 1;
            while index < chars.len() && (chars[index].is_ascii_digit() || chars[index] == '.') {
                index += 1;
            }
            let text: String = chars[start..index].iter().collect();
            tokens.push(Token::Num(
                text.parse().map_err(|_| format!("invalid number {text}"))?,
            ));
        } else if ch.is_alphabetic() || ch == '_' || ch == '$' {
            let start = index;
            while index < chars.len()
                && (chars[index].is_alphanumeric() || chars[index] == '_' || chars[index] == '$')
            {
                index += 1;
            }
            tokens.push(Token::Word(chars[start..index].iter().collect()));
        } else if "(){}[],.:;".contains(ch) {
            tokens.push(Token::Punct(ch));
            index += 1;
        } else {
            return Err(format!("unexpected character `{ch}`"));
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    position: usize,
}

impl Parser {
    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.position).cloned();
        self.position += 1;
        token
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position)
    }

    fn expect_punct(&mut self, symbol: char) -> Result<(), String> {
        match self.next() {
            Some(Token::Punct(found)) if found == symbol => Ok(()),
            Some(other) => Err(format!("expected `{symbol}`, found {other}")),
            None => Err(format!("expected `{symbol}` at the end")),
        }
    }

    fn expect_word(&mut self, word: &str) -> Result<(), String> {
        match self.next() {
            Some(Token::Word(found)) if found == word => Ok(()),
            Some(other) => Err(format!("expected `{word}`, found {other}")),
            None => Err(format!("expected `{word}` at the end")),
        }
    }

    fn eat_punct(&mut self, symbol: char) -> bool {
        if self.peek() == Some(&Token::Punct(symbol)) {
            self.position += 1;
            true
        } else {
            false
        }
    }

    /// A JSON-like literal, with unquoted object keys as JavaScript allows.
    fn literal(&mut self) -> Result<Json, String> {
        match self.next() {
            Some(Token::Str(text)) => Ok(Json::String(text)),
            Some(Token::Num(number)) => Ok(value_json(Value::Num(number))),
            Some(Token::Word(word)) => match word.as_str() {
                "true" => Ok(Json::Bool(true)),
                "false" => Ok(Json::Bool(false)),
                "null" => Ok(Json::Null),
                other => Err(format!("unsupported value `{other}`")),
            },
            Some(Token::Punct('[')) => {
                let mut items = Vec::new();
                if !self.eat_punct(']') {
                    loop {
                        items.push(self.literal()?);
                        if self.eat_punct(']') {
                            break;
                        }
                        self.expect_punct(',')?;
                        if self.eat_punct(']') {
                            break;
                        }
                    }
                }
                Ok(Json::Array(items))
            }
            Some(Token::Punct('{')) => {
                let mut object = Map::new();
                if !self.eat_punct('}') {
                    loop {
                        let key = match self.next() {
                            Some(Token::Word(key) | Token::Str(key)) => key,
                            other => {
                                return Err(format!("expected an object key, found {other:?}"));
                            }
                        };
                        self.expect_punct(':')?;
                        object.insert(key, self.literal()?);
                        if self.eat_punct('}') {
                            break;
                        }
                        self.expect_punct(',')?;
                        if self.eat_punct('}') {
                            break;
                        }
                    }
                }
                Ok(Json::Object(object))
            }
            Some(other) => Err(format!("unexpected {other}")),
            None => Err("unexpected end of script".to_owned()),
        }
    }

    /// `mixpanel.reducer.count()` or `mixpanel.reducer.sum("properties.x")`.
    fn reducer(&mut self) -> Result<Reducer, String> {
        self.expect_word("mixpanel")?;
        self.expect_punct('.')?;
        self.expect_word("reducer")?;
        self.expect_punct('.')?;
        let reducer = match self.next() {
            Some(Token::Word(name)) if name == "count" => {
                self.expect_punct('(')?;
                Reducer::Count
            }
            Some(Token::Word(name)) if name == "sum" => {
                self.expect_punct('(')?;
                let Some(Token::Str(path)) = self.next() else {
                    return Err("sum() expects a property path string".to_owned());
                };
                Reducer::Sum(Key::parse(&path).map_err(|error| error.message)?)
            }
            other => return Err(format!("unsupported reducer {other:?}")),
        };
        self.expect_punct(')')?;
        Ok(reducer)
    }
}

/// Parses the one program shape the sandbox runs; the error says where it stopped matching,
/// which is what the 400 reports.
fn parse(script: &str) -> Result<Program, String> {
    let mut parser = Parser {
        tokens: tokenize(script)?,
        position: 0,
    };
    parser.expect_word("function")?;
    parser.expect_word("main")?;
    parser.expect_punct('(')?;
    parser.expect_punct(')')?;
    parser.expect_punct('{')?;
    parser.expect_word("return")?;
    parser.expect_word("Events")?;
    parser.expect_punct('(')?;
    let events = if parser.peek() == Some(&Token::Word("params".to_owned())) {
        parser.position += 1;
        Argument::Params
    } else {
        Argument::Literal(parser.literal()?)
    };
    parser.expect_punct(')')?;
    parser.expect_punct('.')?;
    let operation = match parser.next() {
        Some(Token::Word(name)) if name == "groupBy" => {
            parser.expect_punct('(')?;
            let keys = match parser.literal()? {
                Json::Array(keys) => keys
                    .iter()
                    .map(|key| {
                        key.as_str()
                            .ok_or_else(|| "groupBy keys must be strings".to_owned())
                            .and_then(|text| Key::parse(text).map_err(|error| error.message))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                _ => return Err("groupBy expects an array of keys".to_owned()),
            };
            parser.expect_punct(',')?;
            let reducer = parser.reducer()?;
            parser.expect_punct(')')?;
            Operation::GroupBy(keys, reducer)
        }
        Some(Token::Word(name)) if name == "reduce" => {
            parser.expect_punct('(')?;
            let reducer = parser.reducer()?;
            parser.expect_punct(')')?;
            Operation::Reduce(reducer)
        }
        other => return Err(format!("unsupported transformation {other:?}")),
    };
    parser.eat_punct(';');
    parser.expect_punct('}')?;
    parser.eat_punct(';');
    match parser.peek() {
        None => Ok(Program { events, operation }),
        Some(token) => Err(format!("unexpected {token} after main()")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_reference_example_and_rejects_the_rest() {
        let example = "function main(){\n  return Events(params)\n    .groupBy(\n      [\"name\"],\n      mixpanel.reducer.count()\n    )\n}\n";
        let program = parse(example).unwrap();
        assert!(matches!(program.events, Argument::Params));
        assert!(
            matches!(program.operation, Operation::GroupBy(ref keys, Reducer::Count) if keys.len() == 1)
        );
        let literal = parse(
            "function main() { return Events({from_date: '2024-01-01', to_date: \"2024-01-02\", event_selectors: [{event: 'Purchase'},]}).reduce(mixpanel.reducer.sum('properties.amount')); } // done",
        )
        .unwrap();
        assert!(matches!(literal.events, Argument::Literal(_)));
        for unsupported in [
            "function main() { return People(); }",
            "function main() { return Events(params).filter(function(e) { return true; }); }",
            "function main() { return Events(params); }",
            "function main() { return Events(params).groupBy([\"time\"], mixpanel.reducer.count()); }",
            "function main() { return Events(params).groupBy([\"name\"], mixpanel.reducer.avg()); }",
            "var x = 1;",
        ] {
            assert!(parse(unsupported).is_err(), "{unsupported}");
        }
    }
}
