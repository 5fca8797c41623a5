//! The one error type of `mp-query`.
//!
//! Each variant names what failed. Input the client can reject on its own (a malformed date, a range that ends
//! before it starts or in the future, an activity feed for nobody) is reported before anything is sent; everything
//! that went wrong on the wire keeps the `mp-http` error, with the request, status and Mixpanel's message, as its
//! source.

/// A query failed, or was refused before it was sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A date parameter is not a calendar date written `YYYY-MM-DD`. Nothing was sent.
    #[error("`{parameter}` is `{value}`, which is not a date written YYYY-MM-DD")]
    InvalidDate {
        /// The parameter, e.g. `from_date`.
        parameter: &'static str,
        /// What the caller gave.
        value: String,
    },

    /// `from_date` is after `to_date`. Nothing was sent.
    #[error("`from_date` {from_date} is after `to_date` {to_date}")]
    DateRangeReversed {
        /// The first day asked for.
        from_date: String,
        /// The last day asked for.
        to_date: String,
    },

    /// A date lies in the future: later than tomorrow in UTC, which is today somewhere on Earth. Nothing was sent.
    #[error("`{parameter}` {value} is in the future (today is {today} UTC)")]
    FutureDate {
        /// The parameter, e.g. `to_date`.
        parameter: &'static str,
        /// What the caller gave.
        value: String,
        /// Today in UTC, on the client's clock.
        today: String,
    },

    /// An argument cannot be sent as given (no user for an activity feed, an empty JQL script, a zero-day range,
    /// …). Nothing was sent.
    #[error("invalid argument `{argument}`: {reason}")]
    InvalidArgument {
        /// The argument's name.
        argument: &'static str,
        /// Why it was refused.
        reason: String,
    },

    /// The request to `endpoint` failed: transport, authentication, rate limit, a non-2xx status, or a body that is
    /// not JSON.
    #[error("query `{endpoint}` failed")]
    Request {
        /// The API path, e.g. `/segmentation`.
        endpoint: &'static str,
        /// What went wrong on the wire.
        #[source]
        source: mp_http::Error,
    },

    /// Mixpanel answered 2xx with JSON that lacks what the result needs (for example an activity-feed event without
    /// a `time`).
    #[error("unexpected answer from `{endpoint}`: {reason}")]
    UnexpectedResponse {
        /// The API path.
        endpoint: &'static str,
        /// What is missing or malformed.
        reason: String,
    },

    /// Mixpanel answered 2xx with JSON of the wrong type (for example a list where `/engage/stats` promises an
    /// object). The answer is kept.
    #[error("unexpected answer from `{endpoint}`: expected {expected}, got {body}")]
    UnexpectedJson {
        /// The API path.
        endpoint: &'static str,
        /// What the endpoint promises, e.g. "a JSON object".
        expected: &'static str,
        /// What came.
        body: serde_json::Value,
    },

    /// A line of a raw export is not an event of the documented shape (`{"event": …, "properties": {"time": …}}`)
    /// where the typed forms or CSV output need one. The line is never skipped.
    #[error("an exported line is not an event ({reason}): `{line}`")]
    MalformedEvent {
        /// The start of the line.
        line: String,
        /// What is wrong with it.
        reason: String,
    },

    /// Reading or writing a local file (export output, temporary chunk file, checkpoint) failed.
    #[error("{action}")]
    Io {
        /// What was being done, naming the file.
        action: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A checkpoint cannot be used to resume an export. Nothing was sent.
    #[error("cannot resume the export from its checkpoint: {reason}")]
    Checkpoint {
        /// Why.
        reason: String,
    },

    /// A chunked export stopped: a chunk failed for good (its retries ran out, or the failure cannot heal), or it
    /// could not be written. Every day before it is in the output (and in the checkpoint, when there is one).
    #[error("{}", describe_incomplete(failed, *attempts, completed.as_ref(), *events_written))]
    ExportIncomplete {
        /// The days of the chunk that failed.
        failed: crate::DateRange,
        /// Download attempts of that chunk; 0 when it was downloaded but could not be written.
        attempts: u32,
        /// The days completely in the output, from the first day of the export; `None` if none.
        completed: Option<crate::DateRange>,
        /// Events in the output.
        events_written: u64,
        /// Why the chunk failed.
        #[source]
        source: Box<Error>,
    },
}

fn describe_incomplete(
    failed: &crate::DateRange,
    attempts: u32,
    completed: Option<&crate::DateRange>,
    events_written: u64,
) -> String {
    let days = |range: &crate::DateRange| {
        if range.from() == range.to() {
            range.from_date()
        } else {
            format!("{} to {}", range.from(), range.to())
        }
    };
    let what = if attempts == 0 {
        format!("the export of {} could not be written", days(failed))
    } else {
        format!(
            "the export of {} failed after {attempts} attempt{}",
            days(failed),
            if attempts == 1 { "" } else { "s" }
        )
    };
    match completed {
        None => format!("{what}; no day was completed"),
        Some(completed) => format!(
            "{what}; days completed: {} ({events_written} events), a resumed export continues from {}",
            days(completed),
            completed.to().add_days(1)
        ),
    }
}

impl Error {
    pub(crate) fn request(endpoint: &'static str, source: mp_http::Error) -> Error {
        Error::Request { endpoint, source }
    }

    pub(crate) fn io(action: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            action: action.into(),
            source,
        }
    }

    /// The underlying `mp-http` error when the failure happened on the wire, for callers that map its kind (to an
    /// exit code, or to the official client's error classes).
    pub fn http_error(&self) -> Option<&mp_http::Error> {
        match self {
            Error::Request { source, .. } => Some(source),
            Error::ExportIncomplete { source, .. } => source.http_error(),
            _ => None,
        }
    }

    /// Returns true if and only if the error was raised before any request was sent, because the input itself is
    /// wrong (a usage error rather than a failure).
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            Error::InvalidDate { .. }
                | Error::DateRangeReversed { .. }
                | Error::FutureDate { .. }
                | Error::InvalidArgument { .. }
                | Error::Checkpoint { .. }
        )
    }
}
