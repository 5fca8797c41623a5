//! The one error type of `mp-auth`.
//!
//! Variants name what failed; [`Error::hint`] says what to do about it. No variant ever holds a
//! credential: token endpoint bodies are kept only when they are error bodies, malformed token
//! payloads keep their field names with every token-bearing value replaced by `REDACTED`, and
//! parse errors of token and bridge files report a line and column, never the offending text.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::{ProbeAttempt, Source};

/// What `mp-auth` could not do. Marked `#[non_exhaustive]`: match with a wildcard arm.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An account name that cannot be used (it also names a directory).
    #[error("`{name}` is not a valid account name: {reason}")]
    InvalidAccountName {
        /// The name as given.
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// An account that the config (or bridge) does not have.
    #[error("account `{name}` not found")]
    AccountNotFound {
        /// The name asked for.
        name: String,
        /// The accounts that exist, sorted.
        available: Vec<String>,
    },
    /// A target that the config does not have.
    #[error("target `{name}` not found")]
    TargetNotFound {
        /// The name asked for.
        name: String,
        /// The targets that exist, sorted.
        available: Vec<String>,
    },
    /// No source gave an account.
    #[error("no account configured")]
    NoAccount,
    /// No source gave a project for the resolved account.
    #[error("no project configured for account `{account}`")]
    NoProject {
        /// The resolved account.
        account: String,
    },
    /// A project id that is not all digits.
    #[error("invalid project id `{value}` (from {origin}): it must be digits only")]
    InvalidProjectId {
        /// The value as given.
        value: String,
        /// Where it came from.
        origin: Source,
    },
    /// A workspace id that is not a positive integer.
    #[error("invalid workspace id `{value}` (from {origin}): it must be a positive integer")]
    InvalidWorkspaceId {
        /// The value as given.
        value: String,
        /// Where it came from.
        origin: Source,
    },
    /// An environment variable with a value that cannot be used.
    #[error("`{variable}` is set to `{value}`, which is not valid: {reason}")]
    InvalidEnvironment {
        /// The variable's name.
        variable: &'static str,
        /// Its value (never a credential: only non-secret variables are reported this way).
        value: String,
        /// What is expected.
        reason: &'static str,
    },
    /// Environment variables that only make sense together, with some of them missing.
    #[error("`{missing}` is not set (it is needed with {present})")]
    IncompleteEnvironment {
        /// What is set, in backticks (`` `MP_USERNAME` and `MP_SECRET` ``).
        present: &'static str,
        /// What is missing.
        missing: &'static str,
    },
    /// An `oauth_token` account whose token variable is unset or empty.
    #[error("account `{account}` reads its token from `{variable}`, which is not set or empty")]
    TokenVariableUnset {
        /// The account.
        account: String,
        /// The environment variable it names.
        variable: String,
    },

    /// A file operation failed.
    #[error("could not {action} `{}`", path.display())]
    Io {
        /// What was being done ("read", "create directory", …).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The system error.
        #[source]
        source: std::io::Error,
    },
    /// A symbolic link where a credential file or directory should be.
    #[error("refusing to follow the symbolic link `{}`", path.display())]
    Symlink {
        /// The link.
        path: PathBuf,
    },
    /// Something other than a regular file where one should be.
    #[error("`{}` is not a regular file", path.display())]
    NotRegularFile {
        /// The path.
        path: PathBuf,
    },
    /// A file larger than any real token, cache or bridge file.
    #[error("`{}` is larger than {limit} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// A credential file that group or others may read.
    #[error("`{}` is accessible by other users (mode {mode:03o})", path.display())]
    InsecurePermissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A file that does not hold what it should.
    #[error("`{}` is not a valid {what}: {problem}", path.display())]
    InvalidFile {
        /// The file.
        path: PathBuf,
        /// What it should be ("token file", "bridge file", …).
        what: &'static str,
        /// What is wrong, without quoting the file's content.
        problem: String,
    },

    /// Every callback port is taken.
    #[error("all OAuth callback ports are busy ({})", join_ports(ports))]
    CallbackPortsBusy {
        /// The ports tried.
        ports: Vec<u16>,
    },
    /// The browser never came back to the callback server.
    #[error("no authorization arrived within {}", format_duration(*waited))]
    LoginTimedOut {
        /// How long we waited.
        waited: Duration,
    },
    /// The authorization response carries another login's `state` (a possible CSRF attempt).
    #[error("the authorization response does not belong to this login (state mismatch)")]
    StateMismatch,
    /// The user (or Mixpanel) refused the authorization.
    #[error("Mixpanel refused the authorization: `{error}`{}", description.as_deref().map(|text| format!(" ({text})")).unwrap_or_default())]
    AuthorizationDenied {
        /// The OAuth `error` code.
        error: String,
        /// The OAuth `error_description`, if any.
        description: Option<String>,
    },
    /// A pasted redirect that cannot be used.
    #[error("the pasted text is not usable: {reason}")]
    InvalidPaste {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A registration, code exchange or refresh request failed.
    #[error("{operation} failed: {failure}")]
    OAuthEndpoint {
        /// Which request.
        operation: OAuthOperation,
        /// The endpoint's URL.
        url: String,
        /// The account, when the caller named one.
        account: Option<String>,
        /// How it failed (boxed: it can hold a whole redacted payload).
        failure: Box<OAuthFailure>,
        /// The HTTP error, for transport failures.
        #[source]
        source: Option<mp_http::Error>,
    },
    /// The token endpoint answered `invalid_grant` to a refresh: the refresh token is dead.
    #[error("the refresh token{} was revoked or has expired", account.as_deref().map(|name| format!(" of account `{name}`")).unwrap_or_default())]
    RefreshRevoked {
        /// The account, when known.
        account: Option<String>,
        /// The HTTP status (400 or 401).
        status: u16,
        /// The error body as text.
        response_body: String,
    },
    /// An `oauth_browser` account without stored tokens.
    #[error("account `{account}` is not logged in")]
    NotLoggedIn {
        /// The account.
        account: String,
    },
    /// Expired tokens without a refresh token.
    #[error("the access token of account `{account}` has expired and there is no refresh token")]
    NoRefreshToken {
        /// The account.
        account: String,
    },
    /// Stored tokens whose OAuth client is unknown (a token file from another tool, or a bridge
    /// without `client_id`), so a refresh is impossible.
    #[error("no OAuth client is known for the tokens of account `{account}`")]
    NoClientId {
        /// The account.
        account: String,
    },

    /// An HTTP request failed (its error says which, and how).
    #[error(transparent)]
    Http(#[from] mp_http::Error),
    /// `/api/app/me` failed for an account.
    #[error("could not fetch `/me` for account `{account}`")]
    Me {
        /// The account.
        account: String,
        /// The request's error.
        #[source]
        source: mp_http::Error,
    },
    /// A project without any workspace we can find.
    #[error("no workspace found for project `{project_id}`")]
    NoWorkspaces {
        /// The project.
        project_id: String,
    },
    /// `/workspaces/public` answered with something that is not a list of valid workspaces.
    #[error("the workspace list of project `{project_id}` is not valid: {problem}")]
    InvalidWorkspaceList {
        /// The project.
        project_id: String,
        /// What is wrong with the answer (boxed: it can hold a whole entry).
        problem: Box<crate::WorkspaceListProblem>,
    },
    /// A workspace-scoped call on a client that has no project.
    #[error("no project is set, so no workspace can be resolved")]
    NoProjectForWorkspace,
    /// Region probing: some region answered, none accepted the credentials.
    #[error(
        "the credentials were not accepted in any region ({})",
        describe_attempts(attempts)
    )]
    RegionProbeFailed {
        /// Every attempt, in probe order.
        attempts: Vec<ProbeAttempt>,
    },
    /// Region probing: no region could be reached at all.
    #[error(
        "could not reach any Mixpanel region ({})",
        describe_attempts(attempts)
    )]
    RegionsUnreachable {
        /// Every attempt, in probe order.
        attempts: Vec<ProbeAttempt>,
    },
}

/// Which OAuth endpoint request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthOperation {
    /// Dynamic client registration (RFC 7591) at `{oauth base}mcp/register/`.
    Registration,
    /// The authorization-code exchange at `{oauth base}token/`.
    CodeExchange,
    /// The refresh grant at `{oauth base}token/`.
    Refresh,
}

impl std::fmt::Display for OAuthOperation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OAuthOperation::Registration => "OAuth client registration",
            OAuthOperation::CodeExchange => "token exchange",
            OAuthOperation::Refresh => "token refresh",
        })
    }
}

/// How an OAuth endpoint request failed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum OAuthFailure {
    /// The request could not be sent or its answer not read; the error's `source` has the cause.
    Transport,
    /// A non-success status. `body` is the error body as text (token endpoints do not put tokens
    /// in error bodies).
    Status {
        /// The HTTP status.
        status: u16,
        /// The body as text.
        body: String,
        /// The `Retry-After` wait of a 429, when usable.
        retry_after: Option<Duration>,
    },
    /// A success status whose body is not JSON. The body itself is not kept: it may be a token
    /// payload with trailing garbage.
    NotJson {
        /// The response's `Content-Type`.
        content_type: Option<String>,
        /// The body's length in bytes.
        body_length: usize,
    },
    /// A success status whose JSON body is not an object.
    NotObject,
    /// A JSON object without a required field (or with one of the wrong type).
    MissingFields {
        /// What is wrong, e.g. "`expires_in` is missing".
        problem: String,
        /// The payload with every token-bearing value replaced by `REDACTED`.
        redacted: Map<String, Value>,
    },
}

impl std::fmt::Display for OAuthFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OAuthFailure::Transport => f.write_str("the request could not be completed"),
            OAuthFailure::Status { status, body, .. } => {
                write!(f, "status {status}")?;
                let body = body.trim();
                if !body.is_empty() && !body.starts_with('<') {
                    write!(f, ": {}", truncate(body, 300))?;
                }
                Ok(())
            }
            OAuthFailure::NotJson {
                content_type,
                body_length,
            } => write!(
                f,
                "the response is not JSON ({body_length} bytes of `{}`)",
                content_type.as_deref().unwrap_or("unknown content type")
            ),
            OAuthFailure::NotObject => f.write_str("the response is not a JSON object"),
            OAuthFailure::MissingFields { problem, redacted } => {
                write!(f, "{problem} (response fields: ")?;
                let mut first = true;
                for (key, value) in redacted {
                    if !first {
                        f.write_str(", ")?;
                    }
                    first = false;
                    match value {
                        Value::String(text) => write!(f, "{key}={text}")?,
                        other => write!(f, "{key}={other}")?,
                    }
                }
                f.write_str(")")
            }
        }
    }
}

impl Error {
    pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> Error {
        Error::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    /// A short suggestion for a person, when there is a useful one.
    pub fn hint(&self) -> Option<String> {
        let hint = match self {
            Error::InvalidAccountName { .. } => {
                "use 1 to 64 letters, digits, `_` or `-`".to_owned()
            }
            Error::AccountNotFound { available, .. } if available.is_empty() => {
                "no account is configured yet: run `mp login`".to_owned()
            }
            Error::AccountNotFound { available, .. } => {
                format!("known accounts: {}", available.join(", "))
            }
            Error::TargetNotFound { available, .. } if available.is_empty() => {
                "no target is configured: add one with `mp target add NAME --account A --project P`"
                    .to_owned()
            }
            Error::TargetNotFound { available, .. } => {
                format!("known targets: {}", available.join(", "))
            }
            Error::NoAccount => [
                "fix one of the following:",
                "  - run `mp login` (browser login, or service account / token from the environment)",
                "  - set MP_USERNAME, MP_SECRET and MP_REGION (a service account)",
                "  - set MP_OAUTH_TOKEN and MP_REGION (a bearer token)",
                "  - run `mp account add NAME ...` then `mp account use NAME`",
                "  - pass `--account NAME` or `--target NAME`",
            ]
            .join("\n"),
            Error::NoProject { account } => format!(
                "set MP_PROJECT_ID, pass `--project ID`, use `--target NAME`, or run `mp account update {account} --project ID`"
            ),
            Error::InvalidProjectId { .. } => "project ids are numbers, e.g. `3018488`".to_owned(),
            Error::InvalidWorkspaceId { .. } => {
                "workspace ids are positive numbers; `mp workspace list` shows them".to_owned()
            }
            Error::InvalidEnvironment { variable, .. } => {
                format!("fix or unset `{variable}`")
            }
            Error::IncompleteEnvironment { missing, present } => {
                format!("set `{missing}` too, or unset {present}")
            }
            Error::TokenVariableUnset { variable, .. } => {
                format!("export `{variable}` with the bearer token")
            }
            Error::InsecurePermissions { path, .. } => {
                format!("run `chmod 600 {}`", path.display())
            }
            Error::Symlink { .. } => {
                "replace the link with the file itself; credential files are never read through links"
                    .to_owned()
            }
            Error::CallbackPortsBusy { .. } => {
                "close other `mp login` sessions, or use `--no-browser` and paste the redirect URL"
                    .to_owned()
            }
            Error::LoginTimedOut { .. } => {
                "run the login again; with `--no-browser` you can paste the redirect URL instead"
                    .to_owned()
            }
            Error::StateMismatch => {
                "start a new login and use only the URL it prints".to_owned()
            }
            Error::AuthorizationDenied { .. } => {
                "run the login again and approve access in the browser".to_owned()
            }
            Error::InvalidPaste { .. } => {
                "paste the whole address the browser was sent to (`http://localhost:…/callback?code=…&state=…`)"
                    .to_owned()
            }
            Error::OAuthEndpoint { failure, .. }
                if matches!(**failure, OAuthFailure::Status { status: 429, .. }) =>
            {
                "Mixpanel is rate limiting OAuth requests; wait a minute and try again".to_owned()
            }
            Error::OAuthEndpoint { failure, .. } if **failure == OAuthFailure::Transport => {
                "check the network connection and try again".to_owned()
            }
            Error::OAuthEndpoint { account, .. } => relogin(account.as_deref()),
            Error::RefreshRevoked { account, .. } => relogin(account.as_deref()),
            Error::NotLoggedIn { account } | Error::NoRefreshToken { account } | Error::NoClientId { account } => {
                relogin(Some(account))
            }
            Error::Http(error) => return error.hint(),
            Error::Me { account, source } => match source.status() {
                Some(401) => format!(
                    "the credentials of account `{account}` are not valid; run `mp account test {account}`"
                ),
                Some(403) => format!(
                    "account `{account}` may not read `/me` (a service account needs the `user_details` scope); pass `--project ID` to skip the lookup"
                ),
                _ => return source.hint(),
            },
            Error::NoWorkspaces { .. } => {
                "pass a workspace explicitly with `--workspace ID` or MP_WORKSPACE_ID".to_owned()
            }
            Error::NoProjectForWorkspace => "pass `--project ID`".to_owned(),
            Error::RegionProbeFailed { .. } => {
                "check the username and secret (or token); pass `--region` to skip probing".to_owned()
            }
            Error::RegionsUnreachable { .. } => {
                "check the network connection, proxies and any base-URL override".to_owned()
            }
            _ => return None,
        };
        Some(hint)
    }

    /// Returns true if and only if this error means the credentials are missing, invalid,
    /// expired or revoked (the CLI's "authentication needed" exit code), as opposed to a network
    /// problem or a mistake in the input.
    pub fn is_authentication(&self) -> bool {
        match self {
            Error::RefreshRevoked { .. }
            | Error::NotLoggedIn { .. }
            | Error::NoRefreshToken { .. }
            | Error::NoClientId { .. }
            | Error::TokenVariableUnset { .. }
            | Error::StateMismatch
            | Error::AuthorizationDenied { .. }
            | Error::LoginTimedOut { .. }
            | Error::RegionProbeFailed { .. } => true,
            Error::OAuthEndpoint { failure, .. } => match &**failure {
                OAuthFailure::Transport => false,
                OAuthFailure::Status { status, .. } => *status < 500 && *status != 429,
                _ => true,
            },
            Error::Http(error) | Error::Me { source: error, .. } => {
                *error.kind() == mp_http::ErrorKind::Authentication
            }
            _ => false,
        }
    }

    /// Wraps this error for [`mp_http::Authenticator`], whose methods return `mp_http::Error`.
    ///
    /// An HTTP error passes through unchanged. Anything else becomes an `mp_http::Error` whose
    /// kind says how to treat it (authentication, transport, server) and whose `source()` is this
    /// error, so a caller can walk the chain, downcast to [`Error`] and show its [`Error::hint`].
    pub fn into_http_error(self, account: &str) -> mp_http::Error {
        use mp_http::ErrorKind;
        if let Error::Http(error) = self {
            return error;
        }
        let kind = match &self {
            Error::OAuthEndpoint {
                failure, source, ..
            } if **failure == OAuthFailure::Transport => source
                .as_ref()
                .map_or(ErrorKind::Transport, |source| *source.kind()),
            Error::OAuthEndpoint { failure, .. } => match **failure {
                OAuthFailure::Status { status, .. } if status >= 500 => ErrorKind::Server,
                OAuthFailure::Status { status: 429, .. } => ErrorKind::RateLimited,
                _ => ErrorKind::Authentication,
            },
            error if error.is_authentication() => ErrorKind::Authentication,
            _ => ErrorKind::Config,
        };
        mp_http::Error::new(
            kind,
            format!("could not get an access token for account `{account}`"),
        )
        .with_source(self)
    }
}

fn relogin(account: Option<&str>) -> String {
    match account {
        Some(account) => format!(
            "log in again with `mp login --name {account}` (or `mp account login {account}`)"
        ),
        None => "log in again with `mp login`".to_owned(),
    }
}

fn join_ports(ports: &[u16]) -> String {
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn format_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if seconds >= 60 && seconds.is_multiple_of(60) {
        format!("{} minutes", seconds / 60)
    } else if seconds >= 1 {
        format!("{seconds}s")
    } else {
        format!("{}ms", duration.as_millis())
    }
}

fn describe_attempts(attempts: &[ProbeAttempt]) -> String {
    attempts
        .iter()
        .map(ProbeAttempt::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}
