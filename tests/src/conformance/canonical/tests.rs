//! Unit tests of the canonicalizer: the normative self-test file, then the float layout and operand rules one by one.

use super::*;

#[track_caller]
fn check_float(x: f64, expected: &str) {
    assert_eq!(format_float(x).unwrap(), expected, "formatting {x:e}");
}

#[track_caller]
fn check_operand(operand: &str, expected: &str) {
    let mut text = operand.to_owned();
    normalize_operand_string(&mut text);
    assert_eq!(text, expected, "normalizing operand {operand:?}");
}

#[test]
fn canonical_selftest_file_passes() {
    let failures = crate::conformance::selftest::run_canonical_selftest(
        &crate::conformance::default_vectors_dir().join("canonical-selftest.json"),
    )
    .unwrap();
    assert!(
        failures.is_empty(),
        "self-test failures:\n{}",
        failures.join("\n")
    );
}

#[test]
fn floats_use_the_python_plain_layout_between_1e_minus_4_and_1e16() {
    check_float(18.0, "18.0");
    check_float(1.5, "1.5");
    check_float(0.0001, "0.0001");
    check_float(1e15, "1000000000000000.0");
    check_float(9_999_999_999_999_998.0, "9999999999999998.0");
    check_float(123.456, "123.456");
    check_float(-2.5, "-2.5");
    check_float(0.1 + 0.2, "0.30000000000000004");
    check_float(0.0, "0.0");
    check_float(-0.0, "-0.0");
}

#[test]
fn floats_use_the_ecmascript_layout_outside_the_python_window() {
    check_float(1e16, "10000000000000000");
    check_float(1.5e16, "15000000000000000");
    check_float(1e20, "100000000000000000000");
    check_float(1e21, "1e+21");
    check_float(1.2345678e22, "1.2345678e+22");
    check_float(1e-5, "0.00001");
    check_float(9.9e-5, "0.000099");
    check_float(1e-6, "0.000001");
    check_float(1e-7, "1e-7");
    check_float(2.5e-7, "2.5e-7");
    check_float(5e-324, "5e-324");
    check_float(f64::MAX, "1.7976931348623157e+308");
    check_float(-1e21, "-1e+21");
}

#[test]
fn non_finite_floats_are_rejected() {
    for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert!(format_float(x).is_err(), "{x} must be rejected");
    }
}

#[test]
fn operand_strings_follow_the_python_float_grammar() {
    check_operand("18.0", "18");
    check_operand("18.50", "18.5");
    check_operand("1e2", "100");
    check_operand("1e21", "1e+21");
    check_operand("-0.0", "-0");
    check_operand("1_0", "10");
    check_operand(" 18 ", "18");
    check_operand(".5", "0.5");
    check_operand("5.", "5");
    check_operand("+3", "3");
    check_operand("abc", "abc");
    check_operand("nan", "nan");
    check_operand("-Infinity", "-Infinity");
    check_operand("1__0", "1__0");
    check_operand("_1", "_1");
    check_operand("1e", "1e");
    check_operand("", "");
    check_operand("0x10", "0x10");
}

#[test]
fn object_keys_sort_by_code_point_and_strings_escape_minimally() {
    let value = serde_json::json!({"b": 1, "a": "\u{1}\u{7f}é", "Z": [true, null]});
    assert_eq!(
        canonical(&value).unwrap(),
        "{\"Z\":[true,null],\"a\":\"\\u0001\u{7f}é\",\"b\":1}"
    );
}

#[test]
fn error_stripping_is_not_recursive_into_details() {
    let value = serde_json::json!({
        "class": "QueryError", "message": "dropped",
        "details_contain": {"response_body": {"message": "kept"}}
    });
    assert_eq!(
        canonical_error(&value).unwrap(),
        "{\"class\":\"QueryError\",\"details_contain\":{\"response_body\":{\"message\":\"kept\"}}}"
    );
}
