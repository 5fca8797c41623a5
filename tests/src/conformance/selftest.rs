//! Runs `canonical-selftest.json` (RUNNER-SPEC.md §9): the 57 normative cases every canonicalizer must pass.

use std::path::Path;

use anyhow::Context;
use serde_json::Value;

use super::canonical::{canonical, canonical_error, canonical_interactions, format_float};
use super::compare::header_problems;

/// Runs every case of the self-test file and returns one line per failing case (empty when all pass).
pub fn run_canonical_selftest(path: &Path) -> anyhow::Result<Vec<String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading `{}`", path.display()))?;
    let file: Value =
        serde_json::from_str(&text).with_context(|| format!("parsing `{}`", path.display()))?;
    let cases = file
        .get("cases")
        .and_then(Value::as_array)
        .context("the self-test file has no `cases` array")?;
    let mut failures = Vec::new();
    for case in cases {
        let id = case.get("id").and_then(Value::as_str).unwrap_or("?");
        if let Err(problem) = run_case(case) {
            failures.push(format!("{id}: {problem}"));
        }
    }
    Ok(failures)
}

fn run_case(case: &Value) -> Result<(), String> {
    let kind = case.get("kind").and_then(Value::as_str).unwrap_or_default();
    let input = || -> Result<Value, String> {
        let text = case
            .get("input_json")
            .and_then(Value::as_str)
            .ok_or("no `input_json`")?;
        serde_json::from_str(text).map_err(|error| format!("input does not parse: {error}"))
    };
    let expect_canonical = |actual: Result<String, super::canonical::CanonicalError>| {
        let expected = case
            .get("canonical")
            .and_then(Value::as_str)
            .ok_or("no `canonical`")?;
        match actual {
            Ok(actual) if actual == expected => Ok(()),
            Ok(actual) => Err(format!("expected {expected}, got {actual}")),
            Err(error) => Err(format!("expected {expected}, got error {error}")),
        }
    };
    match kind {
        "value" => expect_canonical(canonical(&input()?)),
        "error" => expect_canonical(canonical_error(&input()?)),
        "interactions" => expect_canonical(canonical_interactions(&input()?)),
        "headers" => {
            let expected = case
                .get("headers_contain")
                .and_then(Value::as_object)
                .ok_or("no `headers_contain`")?;
            let actual: Vec<(String, String)> = case
                .get("actual_headers")
                .and_then(Value::as_object)
                .ok_or("no `actual_headers`")?
                .iter()
                .map(|(name, value)| (name.clone(), value.as_str().unwrap_or_default().to_owned()))
                .collect();
            let matches = case
                .get("matches")
                .and_then(Value::as_bool)
                .ok_or("no `matches`")?;
            let problems = header_problems(expected, &actual);
            if problems.is_empty() == matches {
                Ok(())
            } else {
                Err(format!(
                    "expected matches={matches}, problems: {problems:?}"
                ))
            }
        }
        "reject" => {
            let rejected = match case.get("special").and_then(Value::as_str) {
                Some("nan") => format_float(f64::NAN).is_err(),
                Some("infinity") => format_float(f64::INFINITY).is_err(),
                Some("negative_infinity") => format_float(f64::NEG_INFINITY).is_err(),
                Some(other) => return Err(format!("unknown special `{other}`")),
                // A lone surrogate cannot even be decoded into a Rust string: serde_json refuses it, which is this
                // runner's rejection.
                None => {
                    input().is_err()
                        || input()
                            .and_then(|value| canonical(&value).map_err(|e| e.0))
                            .is_err()
                }
            };
            if rejected {
                Ok(())
            } else {
                Err("expected a rejection".to_owned())
            }
        }
        other => Err(format!("unknown case kind `{other}`")),
    }
}
