//! The request log: what the sandbox was asked, for tests to assert on.

use std::collections::VecDeque;
use std::sync::Mutex;

/// The log keeps at most this many requests (oldest dropped first), so that a long-running
/// `mp sandbox serve` does not grow without bound.
const MAX_ENTRIES: usize = 10_000;

/// Request bodies are kept up to this size (engage forms are small; nothing else has a body).
const MAX_BODY: usize = 64 * 1024;

/// One request as the sandbox received it, and the status it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// `GET`, `POST` …
    pub method: String,
    /// The path, percent-encoded as sent.
    pub path: String,
    /// The raw query string without `?`, if any.
    pub query: Option<String>,
    /// Header names (lowercase) and values; the credentials of `Authorization` are replaced by
    /// `REDACTED` (the scheme is kept).
    pub headers: Vec<(String, String)>,
    /// The request body as text (lossy UTF-8, at most 64 KiB), if it had one. The values of
    /// the form fields `code`, `code_verifier`, `refresh_token` and `client_secret` read
    /// `REDACTED`.
    pub body: Option<String>,
    /// The status code of the answer (for a streamed export, the status of its head).
    pub status: u16,
}

impl LoggedRequest {
    /// Returns the query parameters, decoded, in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        crate::http_util::parse_form(self.query.as_deref().unwrap_or(""))
    }

    /// Returns the first value of a query parameter, decoded.
    pub fn param(&self, name: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find_map(|(key, value)| (key == name).then_some(value))
    }

    /// Returns the first value of a field of a form body, decoded (`grant_type` of a token
    /// request, for instance). Note that secret fields read `REDACTED`.
    pub fn form_param(&self, name: &str) -> Option<String> {
        crate::http_util::parse_form(self.body.as_deref().unwrap_or(""))
            .into_iter()
            .find_map(|(key, value)| (key == name).then_some(value))
    }

    /// Returns the first value of a header (name in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// The log of one sandbox instance.
#[derive(Debug, Default)]
pub struct RequestLog {
    entries: Mutex<VecDeque<LoggedRequest>>,
}

impl RequestLog {
    /// Returns a copy of the logged requests, oldest first.
    pub fn entries(&self) -> Vec<LoggedRequest> {
        self.lock().iter().cloned().collect()
    }

    /// Returns the number of logged requests.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Returns true if and only if nothing has been logged.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Forgets every logged request.
    pub fn clear(&self) {
        self.lock().clear();
    }

    pub(crate) fn record(&self, mut entry: LoggedRequest) {
        if let Some(body) = &mut entry.body
            && body.len() > MAX_BODY
        {
            let mut end = MAX_BODY;
            while !body.is_char_boundary(end) {
                end -= 1;
            }
            body.truncate(end);
        }
        let mut entries = self.lock();
        if entries.len() == MAX_ENTRIES {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<LoggedRequest>> {
        // Appends and reads are single operations, so a poisoned lock holds a consistent log.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
