//! JSON text as Python's `json.dumps` writes it with default arguments, for parameters whose value is JSON inside a
//! string (`event=["Sign Up", "Purchase"]`, `distinct_ids=["a", "b"]`).
//!
//! Mixpanel's official client builds such parameters with `json.dumps`, whose defaults differ from serde_json's
//! compact output: `", "` and `": "` separators, and `ensure_ascii=True`, so every non-ASCII character is written as
//! a `\uXXXX` escape (astral characters as a surrogate pair). The conformance vectors compare these strings byte for
//! byte.

use std::fmt::Write as _;

use serde_json::Value;

/// `json.dumps(list_of_strings)`.
pub(crate) fn dumps_string_list(items: &[String]) -> String {
    let mut out = String::from("[");
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            out.push_str(", ");
        }
        write_string(item, &mut out);
    }
    out.push(']');
    out
}

/// `json.dumps(value)` for any JSON value. Numbers are written as serde_json holds them.
pub(crate) fn dumps(value: &Value) -> String {
    let mut out = String::new();
    write_value(value, &mut out);
    out
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => {
            // Writing to a String cannot fail.
            let _ = write!(out, "{number}");
        }
        Value::String(text) => write_string(text, out),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (index, (key, item)) in map.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                write_string(key, out);
                out.push_str(": ");
                write_value(item, out);
            }
            out.push('}');
        }
    }
}

fn write_string(text: &str, out: &mut String) {
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            ' '..='~' => out.push(character),
            other => {
                let mut units = [0u16; 2];
                for unit in other.encode_utf16(&mut units) {
                    // Writing to a String cannot fail.
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_use_python_separators_and_ascii_escapes() {
        let items = ["US".to_owned(), "CA".to_owned()];
        assert_eq!(dumps_string_list(&items), r#"["US", "CA"]"#);
        let items = ["é\"\\\n😀\u{1}".to_owned()];
        assert_eq!(
            dumps_string_list(&items),
            r#"["\u00e9\"\\\n\ud83d\ude00\u0001"]"#
        );
        assert_eq!(dumps_string_list(&[]), "[]");
    }

    #[test]
    fn values_use_python_separators() {
        let value =
            serde_json::json!({"from_date": "2024-01-01", "n": [1, 2.5, true, null], "é": {}});
        assert_eq!(
            dumps(&value),
            r#"{"from_date": "2024-01-01", "n": [1, 2.5, true, null], "\u00e9": {}}"#
        );
    }
}
