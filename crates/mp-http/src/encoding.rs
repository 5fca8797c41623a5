//! Percent-encoding of paths, query strings and form bodies, and URL redaction.
//!
//! Mixpanel's official client goes through Python's `urllib.parse`, so we
//! encode the way `quote(s, safe="")` and `quote_plus` do: the unreserved
//! characters `A-Z a-z 0-9 - . _ ~` stay, everything else becomes `%XX` with
//! upper-case hex (spaces become `+` in query strings and form bodies).

use std::fmt::Write as _;

/// Percent-encodes one path segment: every byte outside `A-Z a-z 0-9 - . _ ~`
/// becomes `%XX` (so `/` becomes `%2F` and `$browser` becomes `%24browser`).
pub fn encode_path_segment(segment: &str) -> String {
    encode(segment, false)
}

/// Encodes a key or value of a query string or form body (`+` for spaces).
pub(crate) fn encode_form_component(component: &str) -> String {
    encode(component, true)
}

/// Encodes `pairs` as `application/x-www-form-urlencoded` (`a=1&b=x+y`).
pub(crate) fn encode_form<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (key, value) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&encode_form_component(key));
        out.push('=');
        out.push_str(&encode_form_component(value));
    }
    out
}

fn encode(input: &str, space_as_plus: bool) -> String {
    let mut out = String::with_capacity(input.len());
    for &byte in input.as_bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            b' ' if space_as_plus => out.push('+'),
            _ => {
                // Writing to a String cannot fail.
                let _ = write!(out, "%{byte:02X}");
            }
        }
    }
    out
}

/// Decodes a `%XX`/`+` encoded query component (lossy on invalid UTF-8).
fn decode_form_component(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
                    Some(value) => {
                        out.push(value);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Returns true if and only if a query parameter or field with this name
/// may hold a credential, so its value must never be shown.
pub(crate) fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    // Names that are credentials only when they are the whole name.
    const EXACT: &[&str] = &["code", "sig", "key", "auth"];
    // Names that are credentials wherever they appear in a longer name.
    const MARKERS: &[&str] = &[
        "secret",
        "token",
        "password",
        "passwd",
        "api_key",
        "apikey",
        "authorization",
        "code_verifier",
        "signature",
        "credential",
    ];
    EXACT.contains(&name.as_str()) || MARKERS.iter().any(|marker| name.contains(marker))
}

/// Makes a URL safe to show: removes any `user:password@` userinfo and
/// replaces the value of every query parameter whose name looks like a
/// credential (`secret`, `token`, `password`, `api_key`, `code`, …) with
/// `REDACTED`.
///
/// ```
/// assert_eq!(
///     mp_http::redact_url("https://u:p@example.com/x?a=1&access_token=abc"),
///     "https://example.com/x?a=1&access_token=REDACTED",
/// );
/// ```
pub fn redact_url(url: &str) -> String {
    let (before_fragment, fragment) = match url.split_once('#') {
        Some((head, fragment)) => (head, Some(fragment)),
        None => (url, None),
    };
    let (base, query) = match before_fragment.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (before_fragment, None),
    };
    let mut out = strip_userinfo(base);
    if let Some(query) = query {
        out.push('?');
        for (index, pair) in query.split('&').enumerate() {
            if index > 0 {
                out.push('&');
            }
            match pair.split_once('=') {
                Some((key, _)) if is_secret_name(&decode_form_component(key)) => {
                    out.push_str(key);
                    out.push_str("=REDACTED");
                }
                _ => out.push_str(pair),
            }
        }
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// Removes `user:password@` from the authority of `url`, if any.
fn strip_userinfo(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let authority_start = scheme_end + 3;
    let rest = &url[authority_start..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => format!(
            "{}{}{}",
            &url[..authority_start],
            &authority[at + 1..],
            &rest[authority_end..]
        ),
        None => url.to_owned(),
    }
}

/// Returns `url` without its query string and fragment, userinfo removed.
pub(crate) fn url_without_query(url: &str) -> String {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    strip_userinfo(&url[..end])
}
