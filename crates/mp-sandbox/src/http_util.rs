//! Small HTTP helpers: the response body type, Mixpanel's error bodies, parameter decoding.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, combinators::BoxBody};

/// The body of every sandbox response: a full buffer, or a streamed export whose errors are
/// I/O errors (a deliberate reset).
pub(crate) type Body = BoxBody<Bytes, std::io::Error>;

/// Which error body shape an endpoint family uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorShape {
    /// The Query API (and export and engage): `{"request": "<path?query>", "error": "…"}`,
    /// the shape of the real 429 bodies quoted in airbyte issues 7126 and 9410.
    Query,
    /// The App API: `{"status": "error", "error": "…"}`, as its OpenAPI specs declare.
    App,
    /// The OAuth endpoints: `{"error": "…"}`, the shape of RFC 6749 §5.2 (the recorded
    /// `{"error":"invalid_grant"}` of Mixpanel's token endpoint).
    OAuth,
}

/// An answer that is not a success, in terms of status and message; rendered per family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// Renders the error with the family's body shape.
    pub(crate) fn into_response(self, shape: ErrorShape, request: &str) -> Response<Body> {
        let body = match shape {
            ErrorShape::Query => serde_json::json!({"request": request, "error": self.message}),
            ErrorShape::App => serde_json::json!({"status": "error", "error": self.message}),
            ErrorShape::OAuth => serde_json::json!({"error": self.message}),
        };
        json_response(self.status, &body)
    }
}

/// Builds a full response.
pub(crate) fn full_response(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut response = Response::new(full_body(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Builds a JSON response.
pub(crate) fn json_response(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    full_response(status, "application/json", value.to_string())
}

/// Wraps bytes as a [`Body`].
pub(crate) fn full_body(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// Decodes `application/x-www-form-urlencoded` text (also a query string) into pairs.
pub(crate) fn parse_form(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

/// Percent-encodes everything but RFC 3986's unreserved characters, for a query value.
pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes and `+` (a space in forms). Invalid escapes are kept as written,
/// and invalid UTF-8 is replaced, as lenient servers do.
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' if index + 2 < bytes.len() => {
                let hex = |byte: u8| (byte as char).to_digit(16);
                match (hex(bytes[index + 1]), hex(bytes[index + 2])) {
                    (Some(high), Some(low)) => {
                        out.push((high * 16 + low) as u8);
                        index += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Request parameters from the query string and, for POSTs, the form or JSON body, in that
/// order (the first occurrence of a name wins, as Mixpanel's servers read them).
#[derive(Debug, Default, Clone)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    pub(crate) fn from_query(query: Option<&str>) -> Params {
        Params {
            pairs: parse_form(query.unwrap_or("")),
        }
    }

    /// Adds the parameters of a request body: a form, or a JSON object (whose non-string
    /// values are taken as their JSON text, so `{"page": 1}` reads like `page=1`).
    pub(crate) fn add_body(
        &mut self,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<(), ApiError> {
        if body.is_empty() {
            return Ok(());
        }
        let is_json = content_type.is_some_and(|value| value.contains("json"));
        if is_json {
            let value: serde_json::Value = serde_json::from_slice(body)
                .map_err(|error| ApiError::bad_request(format!("invalid JSON body: {error}")))?;
            let serde_json::Value::Object(object) = value else {
                return Err(ApiError::bad_request("the JSON body must be an object"));
            };
            for (key, value) in object {
                let text = match value {
                    serde_json::Value::String(text) => text,
                    serde_json::Value::Null => continue,
                    other => other.to_string(),
                };
                self.pairs.push((key, text));
            }
        } else {
            self.pairs
                .extend(parse_form(&String::from_utf8_lossy(body)));
        }
        Ok(())
    }

    /// Returns the first value of a parameter; an empty value counts as absent.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, value)| key == name && !value.is_empty())
            .map(|(_, value)| value.as_str())
    }

    /// Returns a required parameter or Mixpanel-style 400.
    pub(crate) fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name)
            .ok_or_else(|| ApiError::bad_request(format!("Missing required parameter: {name}")))
    }

    /// Returns an optional non-negative integer parameter.
    pub(crate) fn integer(&self, name: &str) -> Result<Option<u64>, ApiError> {
        self.get(name)
            .map(|text| {
                text.parse::<u64>().map_err(|_| {
                    ApiError::bad_request(format!(
                        "{name} must be a non-negative integer, got {text:?}"
                    ))
                })
            })
            .transpose()
    }

    /// Returns an optional boolean parameter (`true`/`false`/`1`/`0`).
    pub(crate) fn boolean(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name) {
            None | Some("false" | "False" | "0") => Ok(false),
            Some("true" | "True" | "1") => Ok(true),
            Some(other) => Err(ApiError::bad_request(format!(
                "{name} must be true or false, got {other:?}"
            ))),
        }
    }

    /// Returns an optional parameter holding a JSON array of strings (`event`,
    /// `distinct_ids`, `output_properties`).
    pub(crate) fn string_array(&self, name: &str) -> Result<Option<Vec<String>>, ApiError> {
        let Some(text) = self.get(name) else {
            return Ok(None);
        };
        let invalid = || {
            ApiError::bad_request(format!(
                "{name} must be a JSON array of strings, got {text:?}"
            ))
        };
        let value: serde_json::Value = serde_json::from_str(text).map_err(|_| invalid())?;
        let serde_json::Value::Array(items) = value else {
            return Err(invalid());
        };
        items
            .into_iter()
            .map(|item| match item {
                serde_json::Value::String(text) => Ok(text),
                _ => Err(invalid()),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_forms() {
        assert_eq!(
            parse_form("event=%5B%22A%20b%22%5D&x=1+2&flag&bad=%zz%4"),
            vec![
                ("event".to_owned(), "[\"A b\"]".to_owned()),
                ("x".to_owned(), "1 2".to_owned()),
                ("flag".to_owned(), String::new()),
                ("bad".to_owned(), "%zz%4".to_owned()),
            ]
        );
    }
}
