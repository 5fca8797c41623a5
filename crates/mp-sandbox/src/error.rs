//! The one error type of `mp-sandbox`.

use std::net::SocketAddr;

/// Everything that can go wrong when configuring or starting a sandbox.
///
/// Note that request-level problems (bad credentials, a malformed date) are not errors of the
/// sandbox: they are answered on the wire with Mixpanel's status codes and bodies.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The listening socket could not be bound (port in use, permission denied …).
    #[error("cannot listen on `{addr}`")]
    Bind {
        /// The address that was asked for.
        addr: SocketAddr,
        /// Why the operating system refused.
        #[source]
        source: std::io::Error,
    },
    /// A date given to the sandbox is not a valid `YYYY-MM-DD` date.
    #[error("invalid date `{0}`: expected a calendar date as `YYYY-MM-DD`")]
    InvalidDate(String),
    /// A fault specification (as given to `mp sandbox serve --fault`) could not be parsed.
    #[error("invalid fault `{spec}`: {reason}")]
    InvalidFault {
        /// The specification as written.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The dataset options are out of range.
    #[error("invalid sandbox option `{option}`: {reason}")]
    InvalidOption {
        /// The option's name (`days`, `events` …).
        option: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// An event name is not one of the dataset's events.
    #[error("unknown event `{0}`")]
    UnknownEvent(String),
    /// Writing generated data to a caller's writer failed.
    #[error("cannot write generated events")]
    Write(#[source] std::io::Error),
    /// The server task ended abnormally (it panicked or was cancelled).
    #[error("the sandbox server task failed")]
    ServerTask(#[source] tokio::task::JoinError),
}
