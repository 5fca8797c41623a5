//! Exit codes and error rendering: the one place that decides how `mp` fails.
//!
//! | code | name | when |
//! |---:|---|---|
//! | 0 | success | the command did what was asked, or stdout was closed early (`mp … \| head`) |
//! | 1 | failure | anything not listed below: server errors, network failures, invalid responses, configuration problems |
//! | 2 | authentication | credentials are missing, rejected (HTTP 401), expired or revoked (a refresh answered `invalid_grant`), or not allowed to see the project (HTTP 403) |
//! | 3 | usage | the command line is wrong (unknown flag, missing argument, bad flag value, invalid `--jq` filter), or an `MP_*` variable's value is malformed |
//! | 4 | not found | the requested resource does not exist (HTTP 404), or no saved account or target has the name given |
//! | 5 | rate limited | Mixpanel still answered 429 after the retries |
//! | 6 | bad request | Mixpanel rejected the query or request (HTTP 400 and other 4xx) |
//! | 130 | interrupted | Ctrl-C |
//!
//! Codes 2 (authentication), 3 (invalid arguments), 4, 5 and 130 mean what they mean for
//! Mixpanel's official CLI, so its users' scripts keep working. Unlike the official client,
//! where clap-style usage errors also exit 2, a usage error here never shares its code with
//! an authentication failure: every usage error is 3.
//!
//! Errors print to stderr as `error: …`, one `  caused by: …` line per error in the
//! `source()` chain, then a blank line and `hint: …` when there is advice to give.

use std::fmt;
use std::io::{self, Write};

/// How `mp` exits. The discriminants are the process exit codes in the table above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitStatus {
    /// The command succeeded.
    Success = 0,
    /// A failure with no more specific code.
    Failure = 1,
    /// Credentials were missing, rejected or not permitted.
    Authentication = 2,
    /// The command line was wrong.
    Usage = 3,
    /// The resource does not exist.
    NotFound = 4,
    /// Still rate limited after the retries.
    RateLimited = 5,
    /// Mixpanel rejected the query or request.
    BadRequest = 6,
    /// Ctrl-C.
    Interrupted = 130,
}

impl ExitStatus {
    /// The process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Every status with its name, in table order (for documentation and tests).
    pub const ALL: [(ExitStatus, &'static str); 8] = [
        (ExitStatus::Success, "success"),
        (ExitStatus::Failure, "failure"),
        (ExitStatus::Authentication, "authentication"),
        (ExitStatus::Usage, "usage"),
        (ExitStatus::NotFound, "not found"),
        (ExitStatus::RateLimited, "rate limited"),
        (ExitStatus::BadRequest, "bad request"),
        (ExitStatus::Interrupted, "interrupted"),
    ];
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> std::process::ExitCode {
        std::process::ExitCode::from(status.code())
    }
}

/// An error whose exit status (and possibly hint) `mp-cli` decided where it was raised.
///
/// Errors from library crates do not need wrapping: [`classify`] finds them in the
/// `source()` chain and maps their kinds.
#[derive(Debug)]
pub struct CliError {
    status: ExitStatus,
    message: String,
    hint: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl CliError {
    /// An error with the given exit status and message.
    pub fn new(status: ExitStatus, message: impl Into<String>) -> CliError {
        CliError {
            status,
            message: message.into(),
            hint: None,
            source: None,
        }
    }

    /// A usage error (exit 3).
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError::new(ExitStatus::Usage, message)
    }

    /// Adds advice printed after the error as `hint: …`.
    pub fn with_hint(mut self, hint: impl Into<String>) -> CliError {
        self.hint = Some(hint.into());
        self
    }

    /// Keeps `source` as the cause, printed as `caused by: …`.
    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> CliError {
        self.source = Some(source.into());
        self
    }

    /// The exit status this error leads to.
    pub fn status(&self) -> ExitStatus {
        self.status
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

/// The marker error for Ctrl-C: it leads to exit 130.
#[derive(Debug)]
pub struct Interrupted;

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

/// What an error means for the process: its exit status and the advice to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    /// The exit status.
    pub status: ExitStatus,
    /// Advice for the user, printed after the error.
    pub hint: Option<String>,
    /// Returns true if and only if nothing should be printed (a closed stdout).
    pub quiet: bool,
}

/// Decides the exit status and hint of an error by walking its `source()` chain.
///
/// The outermost error that `mp` recognises wins, so a [`CliError`] that wraps an
/// HTTP error can override the status the HTTP error would have had.
pub fn classify(error: &anyhow::Error) -> Classified {
    for cause in error.chain() {
        if let Some(cli) = cause.downcast_ref::<CliError>() {
            return Classified {
                status: cli.status,
                hint: cli.hint.clone(),
                quiet: false,
            };
        }
        if cause.downcast_ref::<Interrupted>().is_some() {
            return Classified {
                status: ExitStatus::Interrupted,
                hint: None,
                quiet: false,
            };
        }
        if let Some(io) = cause.downcast_ref::<io::Error>()
            && io.kind() == io::ErrorKind::BrokenPipe
        {
            // ripgrep's rule: the reader went away (`mp … | head`), which is not a failure.
            return Classified {
                status: ExitStatus::Success,
                hint: None,
                quiet: true,
            };
        }
        if let Some(http) = cause.downcast_ref::<mp_http::Error>() {
            return classify_http(http);
        }
        if let Some(auth) = cause.downcast_ref::<mp_auth::Error>() {
            return classify_auth(auth);
        }
        // Input that mp-query refused before sending anything is a usage error; any other
        // mp-query error is classified by its cause (an HTTP error's kind, a closed stdout).
        if let Some(query) = cause.downcast_ref::<mp_query::Error>()
            && query.is_invalid_input()
        {
            return Classified {
                status: ExitStatus::Usage,
                hint: query_input_hint(query).map(str::to_owned),
                quiet: false,
            };
        }
        if let Some(config) = cause.downcast_ref::<mp_config::Error>() {
            let status = match config {
                mp_config::Error::AccountNotFound { .. }
                | mp_config::Error::TargetNotFound { .. } => ExitStatus::NotFound,
                _ => ExitStatus::Failure,
            };
            return Classified {
                status,
                hint: config.hint(),
                quiet: false,
            };
        }
    }
    Classified {
        status: ExitStatus::Failure,
        hint: None,
        quiet: false,
    }
}

/// Advice for input mp-query refused locally, where there is more to say than the message.
fn query_input_hint(error: &mp_query::Error) -> Option<&'static str> {
    match error {
        mp_query::Error::FutureDate { .. } => {
            Some("dates are days in UTC; Mixpanel has no data after today")
        }
        mp_query::Error::DateRangeReversed { .. } => {
            Some("the range includes both days; swap them, or use `--last 30d`")
        }
        _ => None,
    }
}

/// Maps an mp-http error kind to the exit table, with the advice that fits it.
///
/// mp-http's own hint is used except where the CLI knows better (which variables or
/// flags to check).
fn classify_http(error: &mp_http::Error) -> Classified {
    use mp_http::ErrorKind;
    let status = match error.kind() {
        ErrorKind::Authentication | ErrorKind::Permission => ExitStatus::Authentication,
        ErrorKind::NotFound => ExitStatus::NotFound,
        ErrorKind::RateLimited => ExitStatus::RateLimited,
        ErrorKind::BadRequest => ExitStatus::BadRequest,
        _ => ExitStatus::Failure,
    };
    // A failure to get credentials (a revoked refresh token, an unset token variable) arrives
    // wrapped in an HTTP error; mp-auth knows what to advise.
    if let Some(auth) = source_of::<mp_auth::Error>(error) {
        return Classified {
            status,
            hint: auth.hint(),
            quiet: false,
        };
    }
    let hint = match error.kind() {
        ErrorKind::Authentication => Some(
            "check the service account's username and secret (`MP_USERNAME`, `MP_SECRET`, or the \
             account in the config file) and its region"
                .to_owned(),
        ),
        ErrorKind::Permission => Some(
            "check that the service account is a member of the project (`MP_PROJECT_ID`, \
             `--project`) with a role that allows this request"
                .to_owned(),
        ),
        ErrorKind::Transport => Some(
            "check the network connection, the region, and `MP_API_BASE_URL` if it is set"
                .to_owned(),
        ),
        _ => error.hint(),
    };
    Classified {
        status,
        hint,
        quiet: false,
    }
}

/// Maps an mp-auth error to the exit table: missing or refused credentials are 2, a malformed
/// value is 3, an unknown account or target is 4, and HTTP failures keep their HTTP mapping.
fn classify_auth(error: &mp_auth::Error) -> Classified {
    use mp_auth::Error as E;
    let status = match error {
        E::Http(http) => return classify_http(http),
        E::Me { source, .. } => {
            let http = classify_http(source);
            return Classified {
                hint: error.hint().or(http.hint),
                ..http
            };
        }
        E::AccountNotFound { .. } | E::TargetNotFound { .. } => ExitStatus::NotFound,
        E::InvalidAccountName { .. }
        | E::InvalidProjectId { .. }
        | E::InvalidWorkspaceId { .. }
        | E::InvalidEnvironment { .. }
        | E::InvalidPaste { .. } => ExitStatus::Usage,
        E::NoAccount | E::NoProject { .. } | E::IncompleteEnvironment { .. } => {
            ExitStatus::Authentication
        }
        E::OAuthEndpoint { failure, .. }
            if matches!(**failure, mp_auth::OAuthFailure::Status { status: 429, .. }) =>
        {
            ExitStatus::RateLimited
        }
        other if other.is_authentication() => ExitStatus::Authentication,
        _ => ExitStatus::Failure,
    };
    let hint = match error {
        // The CLI knows one more way in: the built-in sandbox.
        E::NoAccount => Some(
            [
                "fix one of the following:",
                "  - run `mp login` (browser login, or a service account or token from the environment)",
                "  - set MP_USERNAME, MP_SECRET and MP_REGION (a service account), and MP_PROJECT_ID",
                "  - set MP_OAUTH_TOKEN and MP_REGION (a bearer token), and MP_PROJECT_ID",
                "  - run `mp account add NAME ...`, then `mp account use NAME`",
                "  - pass `--account NAME` or `--target NAME`",
                "  - try `mp --sandbox …` to use the built-in sandbox",
            ]
            .join("\n"),
        ),
        _ => error.hint(),
    };
    Classified {
        status,
        hint,
        quiet: false,
    }
}

/// The first error of type `T` in the `source()` chain below `error`.
fn source_of<'a, T: std::error::Error + 'static>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut cause = error.source();
    while let Some(current) = cause {
        if let Some(found) = current.downcast_ref::<T>() {
            return Some(found);
        }
        cause = current.source();
    }
    None
}

/// Writes `error: …`, the `caused by:` lines and the hint to `out`.
///
/// Consecutive identical messages are printed once: a wrapper that only forwards its
/// source's message (thiserror's `transparent`) would otherwise repeat it.
pub fn render(
    out: &mut dyn Write,
    error: &anyhow::Error,
    hint: Option<&str>,
    color: bool,
) -> io::Result<()> {
    let (red, yellow, bold, reset) = if color {
        ("\x1b[31m", "\x1b[33m", "\x1b[1m", "\x1b[0m")
    } else {
        ("", "", "", "")
    };
    let mut previous: Option<String> = None;
    for (index, cause) in error.chain().enumerate() {
        let message = cause.to_string();
        if previous.as_deref() == Some(message.as_str()) {
            continue;
        }
        if index == 0 {
            writeln!(out, "{bold}{red}error{reset}{bold}:{reset} {message}")?;
        } else {
            writeln!(out, "  caused by: {message}")?;
        }
        previous = Some(message);
    }
    if let Some(hint) = hint {
        writeln!(out)?;
        writeln!(out, "{bold}{yellow}hint{reset}{bold}:{reset} {hint}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_http(kind: mp_http::ErrorKind, status: ExitStatus) {
        let error = anyhow::Error::new(mp_http::Error::new(kind, "failed"));
        assert_eq!(classify(&error).status, status, "{kind:?}");
    }

    #[test]
    fn http_error_kinds_map_to_the_table() {
        use mp_http::ErrorKind;
        check_http(ErrorKind::Authentication, ExitStatus::Authentication);
        check_http(ErrorKind::Permission, ExitStatus::Authentication);
        check_http(ErrorKind::NotFound, ExitStatus::NotFound);
        check_http(ErrorKind::RateLimited, ExitStatus::RateLimited);
        check_http(ErrorKind::BadRequest, ExitStatus::BadRequest);
        for kind in [
            ErrorKind::Server,
            ErrorKind::Transport,
            ErrorKind::Timeout,
            ErrorKind::InvalidResponse,
            ErrorKind::TruncatedStream,
            ErrorKind::InsecureUrl,
            ErrorKind::Config,
        ] {
            check_http(kind, ExitStatus::Failure);
        }
    }

    #[test]
    fn the_outermost_known_error_decides() {
        let http = mp_http::Error::new(mp_http::ErrorKind::NotFound, "gone");
        let wrapped = anyhow::Error::new(CliError::usage("bad").with_source(http));
        assert_eq!(classify(&wrapped).status, ExitStatus::Usage);
        let context = anyhow::Error::new(mp_http::Error::new(mp_http::ErrorKind::NotFound, "gone"))
            .context("while listing");
        assert_eq!(classify(&context).status, ExitStatus::NotFound);
        assert_eq!(
            classify(&anyhow::anyhow!("something")).status,
            ExitStatus::Failure
        );
        assert_eq!(
            classify(&anyhow::Error::new(Interrupted)).status,
            ExitStatus::Interrupted
        );
    }

    #[test]
    fn codes_are_distinct_and_usage_is_not_authentication() {
        let mut codes: Vec<u8> = ExitStatus::ALL
            .iter()
            .map(|(status, _)| status.code())
            .collect();
        codes.dedup();
        assert_eq!(codes, [0, 1, 2, 3, 4, 5, 6, 130]);
        assert_ne!(ExitStatus::Usage.code(), ExitStatus::Authentication.code());
    }

    #[test]
    fn rendering() {
        let error = anyhow::Error::new(
            CliError::usage("outer").with_source(std::io::Error::other("middle")),
        )
        .context("top");
        let mut out = Vec::new();
        render(&mut out, &error, Some("try again"), false).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "error: top\n  caused by: outer\n  caused by: middle\n\nhint: try again\n"
        );
        // A wrapper that repeats its source's message is printed once.
        let error =
            anyhow::Error::new(CliError::usage("same").with_source(CliError::usage("same")));
        let mut out = Vec::new();
        render(&mut out, &error, None, false).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "error: same\n");
    }
}
