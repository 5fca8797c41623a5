//! `--jq FILTER`: the jq language over a command's output, through jaq.
//!
//! The program is compiled once when the command line is read, so that a typo is a
//! usage error before any request is sent, and run once on the command's result.
//! Values cross between serde_json and jaq as JSON text: it is exact for every JSON
//! value and keeps object key order on both sides.
//!
//! Note that the `env` builtin is left out on purpose: a filter should not be able
//! to print `MP_SECRET`. `halt` and `halt_error` stop the filter with a usage error
//! rather than exiting the process, so that the exit-code table holds.

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data};
use jaq_json::Val;

use crate::exit::CliError;

/// Builtins that a `--jq` filter may not call (see the module docs).
const EXCLUDED_BUILTINS: [&str; 1] = ["env"];

type Filter = jaq_core::Filter<data::JustLut<Val>>;

/// A `--jq` program that compiled.
#[derive(Debug, Clone)]
pub struct JqProgram {
    code: String,
}

impl JqProgram {
    /// Compiles `code`, or explains why it does not compile (a usage error).
    pub fn compile(code: &str) -> Result<JqProgram, CliError> {
        compile(code)?;
        Ok(JqProgram {
            code: code.to_owned(),
        })
    }

    /// Runs the program on `input` and collects every output value.
    pub fn run(&self, input: &serde_json::Value) -> Result<Vec<serde_json::Value>, CliError> {
        let filter = compile(&self.code)?;
        let text = serde_json::to_string(input).expect("a serde_json::Value always serializes");
        let input = jaq_json::read::parse_single(text.as_bytes()).map_err(|error| {
            CliError::usage(format!("cannot pass the output to `--jq`: {error}"))
        })?;
        let ctx = Ctx::<data::JustLut<Val>>::new(&filter.lut, Vars::new([]));
        let mut outputs = Vec::new();
        for output in filter.id.run((ctx, input)) {
            let value = match output {
                Ok(value) => value,
                Err(exception) => {
                    // jaq's own `unwrap_valr` would call `process::exit` on `halt`.
                    let message = match exception.get_err() {
                        Ok(error) => error.to_string(),
                        Err(exception) => match exception.get_halt() {
                            Ok(code) => format!("`halt` with exit code {code}"),
                            Err(_) => "the filter stopped without an error value".to_owned(),
                        },
                    };
                    return Err(CliError::usage(format!("`--jq` filter failed: {message}")));
                }
            };
            outputs.push(to_serde(&value));
        }
        Ok(outputs)
    }
}

/// Parses and compiles `code` with jaq's core and standard definitions.
fn compile(code: &str) -> Result<Filter, CliError> {
    let defs = jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs());
    let funs = jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs())
        .filter(|(name, _, _)| !EXCLUDED_BUILTINS.contains(name));
    let arena = Arena::default();
    let program = File { code, path: () };
    let modules = Loader::new(defs).load(&arena, program).map_err(|errors| {
        let reasons: Vec<String> = errors
            .into_iter()
            .flat_map(|(_, error)| load_error_reasons(code, error))
            .collect();
        invalid_filter(code, &reasons)
    })?;
    Compiler::default()
        .with_funs(funs)
        .compile(modules)
        .map_err(|errors| {
            let reasons: Vec<String> = errors
                .into_iter()
                .flat_map(|(_, undefined)| undefined)
                .map(|(name, kind)| format!("undefined {} `{name}`", kind.as_str()))
                .collect();
            invalid_filter(code, &reasons)
        })
}

/// Describes lex and parse errors with the position where they happened.
fn load_error_reasons(code: &str, error: jaq_core::load::Error<&str>) -> Vec<String> {
    use jaq_core::load::Error;
    // jaq reports the unparsed rest of the program; its length gives the position.
    let at = |rest: &str| code.len().saturating_sub(rest.len()) + 1;
    match error {
        Error::Io(errors) => errors
            .into_iter()
            .map(|(path, message)| format!("{path}: {message}"))
            .collect(),
        Error::Lex(errors) => errors
            .into_iter()
            .map(|(expect, rest)| format!("expected {} at character {}", expect.as_str(), at(rest)))
            .collect(),
        Error::Parse(errors) => errors
            .into_iter()
            .map(|(expect, rest)| format!("expected {} at character {}", expect.as_str(), at(rest)))
            .collect(),
    }
}

fn invalid_filter(code: &str, reasons: &[String]) -> CliError {
    CliError::usage(format!("invalid `--jq` filter `{code}`: {}", reasons.join("; ")))
        .with_hint("`--jq` takes a jq program, for example `--jq '.[0:5]'` or `--jq 'map(select(startswith(\"S\")))'`")
}

/// Converts a jaq value back to serde_json.
///
/// jaq values are a superset of JSON; the extras map the way jq prints them: NaN
/// and infinities become `null` (jq prints infinities as the largest doubles, which
/// serde_json cannot hold either), byte strings become text, and non-string object
/// keys become their JSON text.
fn to_serde(value: &Val) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Val::Null => Value::Null,
        Val::Bool(flag) => Value::Bool(*flag),
        Val::Num(number) => {
            serde_json::from_str::<Value>(&number.to_string()).unwrap_or(Value::Null)
        }
        Val::TStr(bytes) | Val::BStr(bytes) => {
            Value::String(String::from_utf8_lossy(bytes).into_owned())
        }
        Val::Arr(items) => Value::Array(items.iter().map(to_serde).collect()),
        Val::Obj(map) => {
            let mut object = serde_json::Map::with_capacity(map.len());
            for (key, item) in map.iter() {
                let key = match key {
                    Val::TStr(bytes) | Val::BStr(bytes) => {
                        String::from_utf8_lossy(bytes).into_owned()
                    }
                    other => other.to_string(),
                };
                object.insert(key, to_serde(item));
            }
            Value::Object(object)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::JqProgram;

    #[track_caller]
    fn check(code: &str, input: serde_json::Value, expected: &[serde_json::Value]) {
        let program = JqProgram::compile(code).unwrap();
        assert_eq!(program.run(&input).unwrap(), expected);
    }

    #[track_caller]
    fn check_rejected(code: &str, expected_fragment: &str) {
        let error = JqProgram::compile(code).unwrap_err();
        assert!(error.to_string().contains(expected_fragment), "{error}");
    }

    #[test]
    fn filters() {
        check(".", json!(["a", "b"]), &[json!(["a", "b"])]);
        check(".[]", json!(["a", "b"]), &[json!("a"), json!("b")]);
        check(
            "map(select(startswith(\"S\")))",
            json!(["Search", "Login", "Sign Up"]),
            &[json!(["Search", "Sign Up"])],
        );
        check("length", json!(["a", "b"]), &[json!(2)]);
        check("{b: 1, a: 2}", json!(null), &[json!({"b": 1, "a": 2})]);
        check("empty", json!([1]), &[]);
        check(".[0] | ascii_downcase", json!(["Hé"]), &[json!("hé")]);
        check(
            "[nan, 1.5, 100000000000000000000]",
            json!(null),
            &[json!([null, 1.5, 1e20])],
        );
    }

    #[test]
    fn rejected_filters() {
        check_rejected(".[", "invalid `--jq` filter");
        check_rejected("nosuchfunction", "undefined filter `nosuchfunction`");
        check_rejected("env", "undefined filter `env`");
        check_rejected("$ENV", "undefined variable");
    }

    #[test]
    fn runtime_errors_are_usage_errors() {
        let program = JqProgram::compile(".foo").unwrap();
        let error = program.run(&json!(["a"])).unwrap_err();
        assert!(
            error.to_string().contains("`--jq` filter failed"),
            "{error}"
        );
        let program = JqProgram::compile("halt").unwrap();
        let error = program.run(&json!(1)).unwrap_err();
        assert!(
            error.to_string().contains("`halt` with exit code 0"),
            "{error}"
        );
    }
}
