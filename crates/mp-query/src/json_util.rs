//! Lenient readers over Mixpanel's JSON answers.
//!
//! The official client reads answers with `dict.get(key, default)`, so a missing key gives an empty value instead of
//! an error; the result types do the same, and always keep the answer itself (`raw()`) for whatever they leave out.

use serde_json::{Map, Number, Value};

/// An empty object, for `get(…).unwrap_or(&EMPTY)`-style reads.
pub(crate) fn empty_object() -> &'static Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(Map::new)
}

/// `value[key]` as an object, or an empty object.
pub(crate) fn object_at<'a>(value: &'a Value, key: &str) -> &'a Map<String, Value> {
    value
        .get(key)
        .and_then(Value::as_object)
        .unwrap_or_else(|| empty_object())
}

/// `value[key]` as a string, or `""`.
pub(crate) fn string_at(value: &Value, key: &str) -> String {
    match value.get(key) {
        Some(Value::String(text)) => text.clone(),
        _ => String::new(),
    }
}

/// `value[key]` as a list, or an empty list.
pub(crate) fn list_at<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A count: an integer as is, a float truncated towards zero (Mixpanel's counts are integers), anything else 0.
pub(crate) fn count_of(value: Option<&Value>) -> i64 {
    match value {
        Some(Value::Number(number)) => number
            .as_i64()
            .or_else(|| number.as_f64().map(|float| float as i64))
            .unwrap_or(0),
        _ => 0,
    }
}

/// A float from any JSON number, 0.0 otherwise.
pub(crate) fn float_of(value: Option<&Value>) -> f64 {
    value.and_then(Value::as_f64).unwrap_or(0.0)
}

/// The sum of JSON numbers as Python's `sum()` gives it: an integer while every term is an integer (and fits), a
/// float as soon as one term is a float. Non-numbers are skipped.
#[derive(Debug, Clone, Copy)]
pub(crate) enum NumberSum {
    Integer(i64),
    Float(f64),
}

impl NumberSum {
    pub(crate) fn new() -> NumberSum {
        NumberSum::Integer(0)
    }

    pub(crate) fn add(self, value: &Value) -> NumberSum {
        let Value::Number(number) = value else {
            return self;
        };
        match (self, number.as_i64()) {
            (NumberSum::Integer(total), Some(term)) => match total.checked_add(term) {
                Some(sum) => NumberSum::Integer(sum),
                None => NumberSum::Float(total as f64 + term as f64),
            },
            (NumberSum::Integer(total), None) => {
                NumberSum::Float(total as f64 + number.as_f64().unwrap_or(0.0))
            }
            (NumberSum::Float(total), _) => {
                NumberSum::Float(total + number.as_f64().unwrap_or(0.0))
            }
        }
    }

    pub(crate) fn to_number(self) -> Number {
        match self {
            NumberSum::Integer(total) => Number::from(total),
            NumberSum::Float(total) => Number::from_f64(total).unwrap_or_else(|| Number::from(0)),
        }
    }
}

/// A float as a JSON value (`null` for NaN and infinities, which JSON cannot hold).
pub(crate) fn float_value(float: f64) -> Value {
    Number::from_f64(float).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn sums_stay_integers_until_a_float_appears() {
        let sum = [json!(1), json!(2), json!("x")]
            .iter()
            .fold(NumberSum::new(), NumberSum::add);
        assert_eq!(Value::Number(sum.to_number()), json!(3));
        let sum = [json!(1), json!(2.5)]
            .iter()
            .fold(NumberSum::new(), NumberSum::add);
        assert_eq!(Value::Number(sum.to_number()), json!(3.5));
    }
}
