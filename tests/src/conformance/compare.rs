//! Request capture and comparison (RUNNER-SPEC.md §5): how a request the port hands to the transport seam is turned
//! into the recorded shape, and how it is diffed against the recorded expectation.
//!
//! # `query_origin`
//!
//! Mixpanel's official client sends `query_origin=mixpanel-headless`; we send [`mp_http::DEFAULT_QUERY_ORIGIN`].
//! The issue's rule is "present exactly where the recorded request has it; its value is ours". So before the core
//! comparison, and only where the recorded request has `query_origin`, a captured value equal to ours is replaced by
//! the recorded one. Presence still has to match exactly (a missing or an extra `query_origin` fails), and a caller's
//! value that leaked through (not ours, not the recorded one) still fails. The same substitution is applied to
//! `details_contain.request_params` of errors (see `errors.rs`).

use serde_json::{Map, Value};

use super::canonical::canonical;

/// The keys of a recorded request that the core comparison looks at (§5.2).
const CORE_KEYS: [&str; 7] = [
    "method",
    "scheme_host",
    "path",
    "params",
    "json_body",
    "body_text",
    "body_base64",
];

/// A request as the port sent it, serialized the way the recorder serialized requests (§5.1).
#[derive(Debug, Clone)]
pub struct CapturedRequest {
    /// The core fields: `method`, `scheme_host`, `path`, and `params` / one body key when present.
    pub core: Map<String, Value>,
    /// Every request header, names lower-cased, in order.
    pub headers: Vec<(String, String)>,
}

impl CapturedRequest {
    /// Captures a request from its method, full URL (query string included), headers and body bytes.
    pub fn capture(
        method: &str,
        url: &str,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> CapturedRequest {
        let mut core = Map::new();
        core.insert(
            "method".to_owned(),
            Value::String(method.to_ascii_uppercase()),
        );
        let (scheme_host, path, query) = split_url(url);
        core.insert("scheme_host".to_owned(), Value::String(scheme_host));
        core.insert("path".to_owned(), Value::String(path));
        if let Some(query) = query.filter(|query| !query.is_empty()) {
            core.insert("params".to_owned(), Value::Object(decode_query(&query)));
        }
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        if !body.is_empty() {
            let content_type = headers
                .iter()
                .find(|(name, _)| name == "content-type")
                .map(|(_, value)| value.as_str())
                .unwrap_or_default();
            let json = if content_type.contains("json") {
                serde_json::from_slice::<Value>(body).ok()
            } else {
                None
            };
            let (key, value) = match (json, std::str::from_utf8(body)) {
                (Some(json), _) => ("json_body", json),
                (None, Ok(text)) => ("body_text", Value::String(text.to_owned())),
                (None, Err(_)) => {
                    use base64::Engine as _;
                    let encoded = base64::engine::general_purpose::STANDARD.encode(body);
                    ("body_base64", Value::String(encoded))
                }
            };
            core.insert(key.to_owned(), value);
        }
        CapturedRequest { core, headers }
    }

    /// The captured request as JSON (core fields plus `headers`), for failure messages.
    pub fn to_json(&self) -> Value {
        let mut json = self.core.clone();
        let headers: Map<String, Value> = self
            .headers
            .iter()
            .map(|(name, value)| (name.clone(), Value::String(value.clone())))
            .collect();
        json.insert("headers".to_owned(), Value::Object(headers));
        Value::Object(json)
    }
}

/// Splits `scheme://host[:port]/path?query#fragment` into `scheme://host[:port]` (the port only when explicit and
/// not the scheme's default), the raw path (at least `/`) and the raw query string.
fn split_url(url: &str) -> (String, String, Option<String>) {
    let without_fragment = url.split('#').next().unwrap_or_default();
    let (scheme, rest) = without_fragment
        .split_once("://")
        .unwrap_or(("", without_fragment));
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let after_authority = &rest[authority_end..];
    let (path, query) = match after_authority.split_once('?') {
        Some((path, query)) => (path, Some(query.to_owned())),
        None => (after_authority, None),
    };
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => Some("443"),
        "http" => Some("80"),
        _ => None,
    };
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if Some(port) == default_port && !host.ends_with(']') => host,
        _ => authority,
    };
    let path = if path.is_empty() { "/" } else { path };
    (
        format!("{scheme}://{}", host.to_ascii_lowercase()),
        path.to_owned(),
        query,
    )
}

/// Decodes a query string as `application/x-www-form-urlencoded` (Python's `parse_qsl` with blank values kept):
/// a key seen once maps to its string, a key seen several times to the array of its values in order.
pub fn decode_query(query: &str) -> Map<String, Value> {
    let mut params = Map::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode(key);
        let value = Value::String(percent_decode(value));
        match params.get_mut(&key) {
            None => {
                params.insert(key, value);
            }
            Some(Value::Array(values)) => values.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
        }
    }
    params
}

/// Percent-decoding with `+` as space; invalid UTF-8 becomes U+FFFD, as Python's `unquote` does.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' if index + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).ok();
                if let Some(byte) = hex.and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
                    out.push(byte);
                    index += 3;
                    continue;
                }
                out.push(b'%');
            }
            other => out.push(other),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Replaces our `query_origin` value by the recorded one where the recorded params have `query_origin` (see the
/// module docs). `actual` is modified in place.
pub fn substitute_query_origin(recorded_params: Option<&Value>, actual_params: Option<&mut Value>) {
    let Some(recorded) = recorded_params.and_then(|params| params.get("query_origin")) else {
        return;
    };
    let Some(Value::Object(actual)) = actual_params else {
        return;
    };
    if let Some(value) = actual.get_mut("query_origin")
        && value.as_str() == Some(mp_http::DEFAULT_QUERY_ORIGIN)
    {
        *value = recorded.clone();
    }
}

/// Diffs one served pair (§5.4 step 1): the core comparison, then `headers_contain`, `headers_absent` and
/// `params_absent`. Returns one reason per problem, each naming the recorded index.
pub fn request_problems(index: usize, recorded: &Value, captured: &CapturedRequest) -> Vec<String> {
    let mut problems = Vec::new();
    let mut expected = Map::new();
    let mut actual = Map::new();
    for key in CORE_KEYS {
        if let Some(value) = recorded.get(key) {
            expected.insert(key.to_owned(), value.clone());
        }
        if let Some(value) = captured.core.get(key) {
            actual.insert(key.to_owned(), value.clone());
        }
    }
    substitute_query_origin(expected.get("params"), actual.get_mut("params"));
    let expected_text = canonical(&Value::Object(expected.clone()));
    let actual_text = canonical(&Value::Object(actual.clone()));
    match (expected_text, actual_text) {
        (Ok(expected_text), Ok(actual_text)) if expected_text == actual_text => {}
        (Ok(_), Ok(_)) => {
            for key in CORE_KEYS {
                let expected_field = expected.get(key).map(canonical);
                let actual_field = actual.get(key).map(canonical);
                if expected_field != actual_field {
                    problems.push(format!(
                        "interaction {index}: `{key}` differs: expected {}, sent {}",
                        describe(expected_field),
                        describe(actual_field)
                    ));
                }
            }
        }
        (Err(error), _) | (_, Err(error)) => {
            problems.push(format!(
                "interaction {index}: cannot canonicalize request: {error}"
            ));
        }
    }
    if let Some(Value::Object(headers_contain)) = recorded.get("headers_contain") {
        for problem in header_problems(headers_contain, &captured.headers) {
            problems.push(format!("interaction {index}: {problem}"));
        }
    }
    if let Some(Value::Array(absent)) = recorded.get("headers_absent") {
        for name in absent.iter().filter_map(Value::as_str) {
            let name = name.to_ascii_lowercase();
            if captured.headers.iter().any(|(actual, _)| *actual == name) {
                problems.push(format!(
                    "interaction {index}: header `{name}` must be absent"
                ));
            }
        }
    }
    if let Some(Value::Array(absent)) = recorded.get("params_absent") {
        let params = captured.core.get("params").and_then(Value::as_object);
        for name in absent.iter().filter_map(Value::as_str) {
            if params.is_some_and(|params| params.contains_key(name)) {
                problems.push(format!(
                    "interaction {index}: parameter `{name}` must be absent"
                ));
            }
        }
    }
    problems
}

fn describe(field: Option<Result<String, super::canonical::CanonicalError>>) -> String {
    match field {
        None => "nothing".to_owned(),
        Some(Ok(text)) => text,
        Some(Err(error)) => format!("<{error}>"),
    }
}

/// Checks `headers_contain` (§5.3) against the actual headers: names case-insensitive, string values exact,
/// `{"pattern": …}` values found by a regex search, a missing listed header a failure. Returns the problems.
pub fn header_problems(expected: &Map<String, Value>, actual: &[(String, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, expectation) in expected {
        let name = name.to_ascii_lowercase();
        let values: Vec<&str> = actual
            .iter()
            .filter(|(actual_name, _)| actual_name.to_ascii_lowercase() == name)
            .map(|(_, value)| value.as_str())
            .collect();
        if values.is_empty() {
            problems.push(format!("header `{name}` missing"));
            continue;
        }
        // Several values of one header are seen joined, as an HTTP library presents them.
        let value = values.join(", ");
        match expectation {
            Value::String(expected_value) => {
                if *expected_value != value {
                    problems.push(format!(
                        "header `{name}`: expected {expected_value:?}, sent {value:?}"
                    ));
                }
            }
            Value::Object(pattern) => {
                let Some(pattern) = pattern.get("pattern").and_then(Value::as_str) else {
                    problems.push(format!(
                        "header `{name}`: unreadable expectation {expectation}"
                    ));
                    continue;
                };
                match regex::Regex::new(pattern) {
                    Ok(regex) if regex.is_match(&value) => {}
                    Ok(_) => {
                        // The value may be a credential: say that it differs, not what it is.
                        problems.push(format!(
                            "header `{name}` does not match pattern {pattern:?}"
                        ));
                    }
                    Err(error) => {
                        problems.push(format!("header `{name}`: bad pattern {pattern:?}: {error}"))
                    }
                }
            }
            other => problems.push(format!("header `{name}`: unreadable expectation {other}")),
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_re_escape_patterns_compile_in_rust_regex() {
        let expected = serde_json::json!({"authorization": {"pattern": "^Basic\\ dGVzdF91c2VyOnRlc3Rfc2VjcmV0$"}});
        let actual = vec![(
            "authorization".to_owned(),
            "Basic dGVzdF91c2VyOnRlc3Rfc2VjcmV0".to_owned(),
        )];
        assert!(header_problems(expected.as_object().unwrap(), &actual).is_empty());
        let expected =
            serde_json::json!({"authorization": {"pattern": "^Bearer\\ test\\-oauth\\-token$"}});
        let actual = vec![(
            "authorization".to_owned(),
            "Bearer test-oauth-token".to_owned(),
        )];
        assert!(header_problems(expected.as_object().unwrap(), &actual).is_empty());
        let actual = vec![(
            "authorization".to_owned(),
            "Bearer test-oauth-tokenX".to_owned(),
        )];
        assert_eq!(
            header_problems(expected.as_object().unwrap(), &actual).len(),
            1
        );
    }

    #[test]
    fn urls_split_into_scheme_host_raw_path_and_form_decoded_params() {
        let captured = CapturedRequest::capture(
            "get",
            "https://mixpanel.com:443/api/query/events/My%20Event%20%2F%20Test?a=1&b=x+y&a=2&c=&d&e=%E2%82%AC",
            &http::HeaderMap::new(),
            b"",
        );
        assert_eq!(
            Value::Object(captured.core),
            serde_json::json!({
                "method": "GET",
                "scheme_host": "https://mixpanel.com",
                "path": "/api/query/events/My%20Event%20%2F%20Test",
                "params": {"a": ["1", "2"], "b": "x y", "c": "", "d": "", "e": "€"}
            })
        );
        let captured =
            CapturedRequest::capture("GET", "http://127.0.0.1:8080", &http::HeaderMap::new(), b"");
        assert_eq!(captured.core["scheme_host"], "http://127.0.0.1:8080");
        assert_eq!(captured.core["path"], "/");
        assert!(!captured.core.contains_key("params"));
    }

    #[test]
    fn bodies_are_classified_by_content_type() {
        let mut headers = http::HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        let captured =
            CapturedRequest::capture("POST", "https://x.invalid/a", &headers, br#"{"x":1.0}"#);
        assert_eq!(captured.core["json_body"], serde_json::json!({"x": 1.0}));
        let captured = CapturedRequest::capture(
            "POST",
            "https://x.invalid/a",
            &http::HeaderMap::new(),
            br#"{"x":1}"#,
        );
        assert_eq!(captured.core["body_text"], r#"{"x":1}"#);
        let captured = CapturedRequest::capture(
            "POST",
            "https://x.invalid/a",
            &http::HeaderMap::new(),
            &[0xff, 0x00],
        );
        assert_eq!(captured.core["body_base64"], "/wA=");
    }

    #[test]
    fn query_origin_value_is_ours_but_presence_must_match() {
        let recorded = serde_json::json!({
            "method": "GET", "scheme_host": "https://mixpanel.com", "path": "/api/query/x",
            "params": {"query_origin": "mixpanel-headless"}
        });
        let ours = format!(
            "https://mixpanel.com/api/query/x?query_origin={}",
            mp_http::DEFAULT_QUERY_ORIGIN
        );
        let captured = CapturedRequest::capture("GET", &ours, &http::HeaderMap::new(), b"");
        assert!(request_problems(0, &recorded, &captured).is_empty());
        let captured = CapturedRequest::capture(
            "GET",
            "https://mixpanel.com/api/query/x?query_origin=spoofed",
            &http::HeaderMap::new(),
            b"",
        );
        assert_eq!(request_problems(0, &recorded, &captured).len(), 1);
        let captured = CapturedRequest::capture(
            "GET",
            "https://mixpanel.com/api/query/x",
            &http::HeaderMap::new(),
            b"",
        );
        assert_eq!(request_problems(0, &recorded, &captured).len(), 1);
        let recorded = serde_json::json!({"method": "GET", "scheme_host": "https://mixpanel.com", "path": "/api/query/x"});
        let captured = CapturedRequest::capture("GET", &ours, &http::HeaderMap::new(), b"");
        assert_eq!(request_problems(0, &recorded, &captured).len(), 1);
    }
}
