//! Python's `str()` of a JSON value, which is how the official client turns event names and property values into
//! strings (`[str(v) for v in response]`): `True`, `None`, `1.5`, `1e-05`, `{'a': 1}`.
//!
//! Values are normally strings already and pass through unchanged; this matters only for the odd number, boolean or
//! object a project holds as a property value, which must print as the official client prints it.

use serde_json::{Number, Value};

/// `str(value)`.
pub(crate) fn python_str(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => python_repr(other),
    }
}

/// `repr(value)`.
fn python_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(number) => number_repr(number),
        Value::String(text) => string_repr(text),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(python_repr).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(key, item)| format!("{}: {}", string_repr(key), python_repr(item)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
    }
}

/// An integer in decimal; a float as Python's shortest round-trip `repr`: scientific notation (`1e-05`, `1e+16`)
/// when the decimal exponent is below -4 or at least 16, positional (`0.0001`, `100.0`) otherwise.
fn number_repr(number: &Number) -> String {
    if number.is_i64() || number.is_u64() {
        return number.to_string();
    }
    let Some(float) = number.as_f64() else {
        return number.to_string();
    };
    if float == 0.0 {
        return if float.is_sign_negative() {
            "-0.0"
        } else {
            "0.0"
        }
        .to_owned();
    }
    // `{:e}` gives the shortest round-trip digits as `d.ddde±x`.
    let scientific = format!("{:e}", float.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if float < 0.0 { "-" } else { "" };
    if !(-4..16).contains(&exponent) {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        return format!(
            "{sign}{first}{fraction}e{exponent_sign}{:02}",
            exponent.abs()
        );
    }
    let n_digits = digits.len() as i32;
    let text = if exponent < 0 {
        format!("0.{}{digits}", "0".repeat((-exponent - 1) as usize))
    } else if exponent + 1 >= n_digits {
        format!(
            "{digits}{}.0",
            "0".repeat((exponent + 1 - n_digits) as usize)
        )
    } else {
        let (whole, fraction) = digits.split_at((exponent + 1) as usize);
        format!("{whole}.{fraction}")
    };
    format!("{sign}{text}")
}

/// `repr(text)`: single quotes unless the text holds a single quote and no double quote.
fn string_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for character in text.chars() {
        match character {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            character if character == quote => {
                out.push('\\');
                out.push(character);
            }
            character if (character as u32) < 0x20 || character == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", character as u32));
            }
            character => out.push(character),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[track_caller]
    fn check(value: Value, expected: &str) {
        assert_eq!(python_str(&value), expected);
    }

    #[test]
    fn scalars_print_as_python_prints_them() {
        check(json!("US"), "US");
        check(json!(true), "True");
        check(json!(false), "False");
        check(json!(null), "None");
        check(json!(42), "42");
        check(json!(-7), "-7");
        check(json!(1.5), "1.5");
        check(json!(100.0), "100.0");
        check(json!(0.0001), "0.0001");
        check(json!(0.00001), "1e-05");
        check(json!(1e16), "1e+16");
        check(json!(1.2345678901234568e17), "1.2345678901234568e+17");
        check(json!(1e15), "1000000000000000.0");
        check(json!(-2.5e-7), "-2.5e-07");
        check(json!(0.1), "0.1");
    }

    #[test]
    fn containers_print_as_python_reprs() {
        check(json!([1, "a", true, null]), "[1, 'a', True, None]");
        check(
            json!({"k": "it's", "n": {"x": 1.0}}),
            r#"{'k': "it's", 'n': {'x': 1.0}}"#,
        );
        check(json!(["a\nb", "q'\""]), r#"['a\nb', 'q\'"']"#);
    }
}
