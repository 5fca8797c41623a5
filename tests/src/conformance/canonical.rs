//! The canonical form of RUNNER-SPEC.md §9: every comparison of the runner is a string comparison of two canonical
//! JSON texts.
//!
//! The rules in short: object members sorted by key (byte order of UTF-8 equals code point order), compact layout,
//! minimal string escapes, integers in plain decimal, floats in the Python/ECMAScript hybrid layout of rule 5 (an
//! integral float keeps its `.0`, so `18.0` and `18` stay different values), numeric strings in segment-filter
//! operands normalized (rule 7), and human-readable error fields stripped (rule 8). The normative cases live in
//! `vectors/canonical-selftest.json` and are checked by the unit tests below.

use serde_json::{Map, Value};

/// Why a value has no canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalError(pub String);

impl std::fmt::Display for CanonicalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CanonicalError {}

/// Returns the canonical JSON text of `value` (rules 1–7).
pub fn canonical(value: &Value) -> Result<String, CanonicalError> {
    let mut normalized = value.clone();
    normalize_segment_filter_operands(&mut normalized);
    let mut out = String::new();
    write_value(&normalized, &mut out)?;
    Ok(out)
}

/// Returns the canonical text of an error object: `message`, `suggestion` and `fix` are dropped at the top level and
/// from each element of `errors`, never from inside `details_contain` (rule 8 / §8.1).
pub fn canonical_error(value: &Value) -> Result<String, CanonicalError> {
    let mut stripped = value.clone();
    if let Value::Object(map) = &mut stripped {
        strip_human_fields(map);
        if let Some(Value::Array(errors)) = map.get_mut("errors") {
            for element in errors {
                if let Value::Object(element) = element {
                    strip_human_fields(element);
                }
            }
        }
    }
    canonical(&stripped)
}

/// Returns the canonical text of a list of interactions, with the members of each unordered group sorted by their
/// serving key among the positions the group occupies (rule 9).
pub fn canonical_interactions(value: &Value) -> Result<String, CanonicalError> {
    let Value::Array(interactions) = value else {
        return Err(CanonicalError("interactions must be an array".to_owned()));
    };
    let mut sorted = interactions.clone();
    let mut groups: Vec<&Value> = Vec::new();
    for interaction in interactions {
        if let Some(group) = interaction.get("unordered_group")
            && !groups.contains(&group)
        {
            groups.push(group);
        }
    }
    for group in groups {
        let positions: Vec<usize> = interactions
            .iter()
            .enumerate()
            .filter(|(_, interaction)| interaction.get("unordered_group") == Some(group))
            .map(|(index, _)| index)
            .collect();
        let mut members = Vec::with_capacity(positions.len());
        for &position in &positions {
            let interaction = &interactions[position];
            let request = interaction.get("request").unwrap_or(&Value::Null);
            let key = interaction_key(
                request.get("method").unwrap_or(&Value::Null),
                request.get("path").unwrap_or(&Value::Null),
                request.get("params"),
            )?;
            members.push((key, interaction.clone()));
        }
        // A stable sort keeps equal keys in record order, as Python's `sorted` does.
        members.sort_by(|a, b| a.0.cmp(&b.0));
        for (position, (_, member)) in positions.into_iter().zip(members) {
            sorted[position] = member;
        }
    }
    canonical(&Value::Array(sorted))
}

/// The key that identifies a request inside an unordered group (§4.1 step 4): the canonical form of
/// `[method, path, params-or-null]`, where empty params count as null.
pub fn interaction_key(
    method: &Value,
    path: &Value,
    params: Option<&Value>,
) -> Result<String, CanonicalError> {
    let params = match params {
        None => Value::Null,
        Some(Value::Object(map)) if map.is_empty() => Value::Null,
        Some(other) => other.clone(),
    };
    canonical(&Value::Array(vec![method.clone(), path.clone(), params]))
}

/// Formats a double by rule 5: shortest round-trip digits, plain with a `.0` for integral values when
/// `1e-4 <= |x| < 1e16` (or zero), ECMAScript `Number::toString` layout otherwise. NaN and infinities have no
/// canonical form.
pub fn format_float(x: f64) -> Result<String, CanonicalError> {
    if !x.is_finite() {
        return Err(CanonicalError(format!(
            "non-finite float {x} has no canonical form"
        )));
    }
    if x == 0.0 {
        return Ok(if x.is_sign_negative() { "-0.0" } else { "0.0" }.to_owned());
    }
    let sign = if x < 0.0 { "-" } else { "" };
    let (digits, n) = shortest_digits(x.abs());
    let k = digits.len() as i64;
    let magnitude = x.abs();
    let body = if (1e-4..1e16).contains(&magnitude) {
        // Python `repr` territory: always a plain decimal with at least one fractional digit.
        if n <= 0 {
            format!("0.{}{}", "0".repeat((-n) as usize), digits)
        } else if n >= k {
            format!("{}{}.0", digits, "0".repeat((n - k) as usize))
        } else {
            format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
        }
    } else if k <= n && n <= 21 {
        format!("{}{}", digits, "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{}", "0".repeat((-n) as usize), digits)
    } else {
        let exponent = n - 1;
        let exponent_sign = if exponent < 0 { "-" } else { "+" };
        let mantissa = if k == 1 {
            digits.clone()
        } else {
            format!("{}.{}", &digits[..1], &digits[1..])
        };
        format!("{mantissa}e{exponent_sign}{}", exponent.abs())
    };
    Ok(format!("{sign}{body}"))
}

/// Returns the shortest round-trip decimal digits `d1..dk` of a positive finite double and the exponent `n` with
/// x = 0.d1..dk × 10^n. Rust's `{:e}` formatting already produces the shortest round-trip mantissa.
fn shortest_digits(x: f64) -> (String, i64) {
    let formatted = format!("{x:e}");
    let (mantissa, exponent) = formatted
        .split_once('e')
        .unwrap_or((formatted.as_str(), "0"));
    let exponent: i64 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    (digits.to_owned(), exponent + 1)
}

/// Parses a string with Python's `float()` grammar (surrounding whitespace, single underscores between digits,
/// `inf`/`nan` spellings). Returns None when Python would raise.
pub fn parse_python_float(text: &str) -> Option<f64> {
    let trimmed = text.trim();
    let lower = trimmed.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    if lower.len() - unsigned.len() <= 1 && matches!(unsigned, "inf" | "infinity" | "nan") {
        let negative = lower.starts_with('-');
        return Some(match unsigned {
            "nan" => f64::NAN,
            _ if negative => f64::NEG_INFINITY,
            _ => f64::INFINITY,
        });
    }
    // Underscores are legal only between two digits.
    let bytes = trimmed.as_bytes();
    let mut cleaned = String::with_capacity(trimmed.len());
    for (index, &byte) in bytes.iter().enumerate() {
        if byte == b'_' {
            let before = index > 0 && bytes[index - 1].is_ascii_digit();
            let after = bytes.get(index + 1).is_some_and(u8::is_ascii_digit);
            if !(before && after) {
                return None;
            }
        } else {
            cleaned.push(byte as char);
        }
    }
    if !is_decimal_literal(&cleaned) {
        return None;
    }
    cleaned.parse::<f64>().ok()
}

/// Returns true if and only if `text` is `[+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?`.
fn is_decimal_literal(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut index = 0;
    if matches!(bytes.first(), Some(b'+' | b'-')) {
        index += 1;
    }
    let integer_start = index;
    while bytes.get(index).is_some_and(u8::is_ascii_digit) {
        index += 1;
    }
    let n_integer_digits = index - integer_start;
    let mut n_fraction_digits = 0;
    if bytes.get(index) == Some(&b'.') {
        index += 1;
        let fraction_start = index;
        while bytes.get(index).is_some_and(u8::is_ascii_digit) {
            index += 1;
        }
        n_fraction_digits = index - fraction_start;
    }
    if n_integer_digits + n_fraction_digits == 0 {
        return false;
    }
    if matches!(bytes.get(index), Some(b'e' | b'E')) {
        index += 1;
        if matches!(bytes.get(index), Some(b'+' | b'-')) {
            index += 1;
        }
        let exponent_start = index;
        while bytes.get(index).is_some_and(u8::is_ascii_digit) {
            index += 1;
        }
        if index == exponent_start {
            return false;
        }
    }
    index == bytes.len()
}

/// Rule 7: in any object with `"selected_property_type": "number"` and a `filter` object holding an `operand`, a
/// numeric string operand (or each numeric string element of an array operand) becomes its normalized number text.
fn normalize_segment_filter_operands(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let is_number_filter =
                map.get("selected_property_type") == Some(&Value::String("number".to_owned()));
            if is_number_filter
                && let Some(Value::Object(filter)) = map.get_mut("filter")
                && let Some(operand) = filter.get_mut("operand")
            {
                match operand {
                    Value::String(text) => normalize_operand_string(text),
                    Value::Array(elements) => {
                        for element in elements {
                            if let Value::String(text) = element {
                                normalize_operand_string(text);
                            }
                        }
                    }
                    _ => {}
                }
            }
            for (_, child) in map.iter_mut() {
                normalize_segment_filter_operands(child);
            }
        }
        Value::Array(elements) => {
            for element in elements {
                normalize_segment_filter_operands(element);
            }
        }
        _ => {}
    }
}

fn normalize_operand_string(text: &mut String) {
    let Some(number) = parse_python_float(text) else {
        return;
    };
    let Ok(rendered) = format_float(number) else {
        // NaN and infinities stay verbatim: they have no canonical rendering.
        return;
    };
    *text = rendered
        .strip_suffix(".0")
        .map(str::to_owned)
        .unwrap_or(rendered);
}

fn strip_human_fields(map: &mut Map<String, Value>) {
    for key in ["message", "suggestion", "fix"] {
        map.shift_remove(key);
    }
}

fn write_value(value: &Value, out: &mut String) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => {
            if let Some(integer) = number.as_i64() {
                out.push_str(&integer.to_string());
            } else if let Some(integer) = number.as_u64() {
                out.push_str(&integer.to_string());
            } else if let Some(float) = number.as_f64() {
                out.push_str(&format_float(float)?);
            } else {
                return Err(CanonicalError(format!("unrepresentable number {number}")));
            }
        }
        Value::String(text) => write_string(text, out),
        Value::Array(elements) => {
            out.push('[');
            for (index, element) in elements.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_value(element, out)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            // Byte order of UTF-8 is code point order, which is what Python's `sort_keys` uses.
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (index, (key, member)) in entries.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write_value(member, out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn write_string(text: &str, out: &mut String) {
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            control if (control as u32) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", control as u32));
            }
            other => out.push(other),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests;
