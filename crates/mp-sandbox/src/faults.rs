//! Fault injection: the ways a real Mixpanel misbehaves, on demand.
//!
//! A [`Fault`] says what goes wrong ([`FaultKind`]), how many times (`times`, `None` = every
//! matching request until cleared) and optionally for which paths (`path_prefix`). Faults are
//! given at start ([`crate::SandboxOptions::faults`]), parsed from the `--fault` strings of
//! `mp sandbox serve`, or changed at runtime through [`FaultControl`].
//!
//! The `--fault` syntax is documented on [`Fault`].

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

use crate::Error;

/// Where `reset-export` and `truncate-export` cut the stream when no `after-lines` is given.
const DEFAULT_AFTER_LINES: u64 = 100;

/// What goes wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultKind {
    /// Answer 429 with `Retry-After` in seconds.
    RateLimit {
        /// The `Retry-After` value, in seconds.
        retry_after_seconds: u64,
    },
    /// Answer with a 5xx status.
    ServerError {
        /// The status code (500–599).
        status: u16,
    },
    /// Stop an export stream at a point and drop the connection without ending the body.
    ResetExport {
        /// Where the stream stops.
        after: StreamPoint,
        /// Close with a TCP reset (`ECONNRESET` at the client) instead of a plain close
        /// (an unexpected end of the chunked body). Note that a reset discards whatever the
        /// kernel had not yet delivered, so the client may receive less than `after`, as with
        /// a real reset; the plain close delivers exactly `after`.
        tcp_reset: bool,
    },
    /// End an export stream early, Mixpanel-style: after `after_lines` lines, the non-JSON line
    /// `export terminated early` (without a newline) ends an otherwise well-formed 200 body.
    TruncateExport {
        /// Complete lines sent before the marker.
        after_lines: u64,
    },
    /// Delay the response head.
    Slow {
        /// How long.
        delay: Duration,
    },
    /// Cut a successful JSON body in half.
    InvalidJson,
}

/// A point in an export stream, counted in uncompressed bytes or lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamPoint {
    /// After this many complete lines.
    Lines(u64),
    /// After this many bytes (which may end mid-line).
    Bytes(u64),
}

/// One fault to inject.
///
/// # Syntax
///
/// `KIND[:ARG][,key=value]…`, where every kind also takes `times=K|always` and
/// `path=/prefix`:
///
/// | spec | effect | default `times` |
/// | --- | --- | --- |
/// | `429:3`, `429:3,retry-after=5` | 429 with `Retry-After: 1` (or the given seconds) and Mixpanel's rate-limit body | 1 |
/// | `500:2`, `503`, `502:1` | that 5xx status with a JSON error body | 1 |
/// | `reset-export:after-lines=1000`, `reset-export:after-bytes=4096`, `…,rst` | the export stream stops after that many lines (default 100) or bytes (possibly mid-line), or at its end if shorter, and the connection is dropped without ending the chunked body (exactly that much arrives, then the client sees an incomplete body); with `rst`, the connection is reset (TCP RST, `ECONNRESET`) | 1 |
/// | `truncate-export`, `truncate-export:after-lines=10` | the export answers 200, sends that many lines (default 100; fewer if the export is shorter), then the line `export terminated early` and ends the body cleanly | 1 |
/// | `slow:200ms`, `slow:2s` | the response (its head) is delayed | always |
/// | `invalid-json`, `invalid-json:2` | a successful JSON answer is cut in half (still `200 application/json`) | 1 |
///
/// Precedence per request: `slow` delays it first; then a pending `429`, then a pending 5xx,
/// answers it before authentication (a real rate limiter sits in front of everything); the
/// export faults are consumed only by export requests that reach the streaming stage, and
/// `invalid-json` only by successful JSON answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// What goes wrong.
    pub kind: FaultKind,
    /// How many matching requests it affects; `None` means all of them until cleared.
    pub times: Option<u32>,
    /// Only requests whose path starts with this prefix match; `None` matches every path.
    pub path_prefix: Option<String>,
}

impl Fault {
    /// Creates a fault with the kind's default `times` and no path restriction.
    pub fn new(kind: FaultKind) -> Fault {
        let times = match kind {
            FaultKind::Slow { .. } => None,
            _ => Some(1),
        };
        Fault {
            kind,
            times,
            path_prefix: None,
        }
    }

    /// Returns the fault affecting `times` requests (`None` = all).
    pub fn with_times(mut self, times: Option<u32>) -> Fault {
        self.times = times;
        self
    }

    /// Returns the fault restricted to paths starting with `prefix`.
    pub fn with_path_prefix(mut self, prefix: impl Into<String>) -> Fault {
        self.path_prefix = Some(prefix.into());
        self
    }

    /// The first `requests` requests get 429 with `Retry-After: 1`.
    pub fn rate_limit(requests: u32) -> Fault {
        Fault::new(FaultKind::RateLimit {
            retry_after_seconds: 1,
        })
        .with_times(Some(requests))
    }

    /// The first `requests` requests get `status` (500–599).
    pub fn server_error(status: u16, requests: u32) -> Fault {
        Fault::new(FaultKind::ServerError { status }).with_times(Some(requests))
    }

    fn matches_path(&self, path: &str) -> bool {
        self.path_prefix
            .as_deref()
            .is_none_or(|prefix| path.starts_with(prefix))
    }
}

impl FromStr for Fault {
    type Err = Error;

    /// Parses the `--fault` syntax described in the module documentation.
    fn from_str(spec: &str) -> Result<Fault, Error> {
        let invalid = |reason: &str| Error::InvalidFault {
            spec: spec.to_owned(),
            reason: reason.to_owned(),
        };
        let (name, arguments) = spec.split_once(':').unwrap_or((spec, ""));
        let mut positional: Option<&str> = None;
        let mut options: Vec<(&str, &str)> = Vec::new();
        for (index, part) in arguments.split(',').enumerate() {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            match part.split_once('=') {
                Some((key, value)) => options.push((key.trim(), value.trim())),
                // Flags are written as bare words and treated as `flag=true`.
                None if part == "rst" => options.push((part, "true")),
                None if index == 0 => positional = Some(part),
                None => return Err(invalid(&format!("expected `key=value`, got `{part}`"))),
            }
        }
        let count = |text: &str| {
            text.parse::<u32>()
                .map_err(|_| invalid(&format!("`{text}` is not a count")))
        };
        let mut fault = match name.trim() {
            "reset-export" | "truncate-export" if positional.is_some() => {
                return Err(invalid(
                    "expected `after-lines=N` (or `after-bytes=N` for resets)",
                ));
            }
            "reset-export" => Fault::new(FaultKind::ResetExport {
                after: StreamPoint::Lines(DEFAULT_AFTER_LINES),
                tcp_reset: false,
            }),
            "truncate-export" => Fault::new(FaultKind::TruncateExport {
                after_lines: DEFAULT_AFTER_LINES,
            }),
            "slow" => {
                let delay =
                    positional.ok_or_else(|| invalid("expected a delay such as `slow:200ms`"))?;
                let delay = parse_duration(delay)
                    .ok_or_else(|| invalid("expected a delay in `ms` or `s`"))?;
                Fault::new(FaultKind::Slow { delay })
            }
            "invalid-json" => Fault::new(FaultKind::InvalidJson),
            status => {
                let status: u16 = status.parse().map_err(|_| {
                    invalid(
                        "unknown fault kind; expected 429, 500-599, reset-export, \
                         truncate-export, slow or invalid-json",
                    )
                })?;
                match status {
                    429 => Fault::rate_limit(1),
                    500..=599 => Fault::server_error(status, 1),
                    _ => return Err(invalid("only 429 and 500-599 can be injected as statuses")),
                }
            }
        };
        if !matches!(fault.kind, FaultKind::Slow { .. })
            && let Some(text) = positional
        {
            fault.times = Some(count(text)?);
        }
        for (key, value) in options {
            let number = || {
                value
                    .parse::<u64>()
                    .map_err(|_| invalid(&format!("`{key}` expects a number, got `{value}`")))
            };
            match (key, &mut fault.kind) {
                ("times", _) if value == "always" => fault.times = None,
                ("times", _) => fault.times = Some(count(value)?),
                ("path", _) if value.starts_with('/') => fault.path_prefix = Some(value.to_owned()),
                ("path", _) => return Err(invalid("`path` must start with `/`")),
                (
                    "retry-after",
                    FaultKind::RateLimit {
                        retry_after_seconds,
                    },
                ) => {
                    *retry_after_seconds = number()?;
                }
                ("after-lines", FaultKind::ResetExport { after, .. }) => {
                    *after = StreamPoint::Lines(number()?);
                }
                ("after-bytes", FaultKind::ResetExport { after, .. }) => {
                    *after = StreamPoint::Bytes(number()?);
                }
                ("rst", FaultKind::ResetExport { tcp_reset, .. }) if value == "true" => {
                    *tcp_reset = true;
                }
                ("after-lines", FaultKind::TruncateExport { after_lines }) => {
                    *after_lines = number()?;
                }
                _ => return Err(invalid(&format!("`{key}` does not apply to this fault"))),
            }
        }
        Ok(fault)
    }
}

impl fmt::Display for Fault {
    /// Writes the fault in the `--fault` syntax; `parse(display(f)) == f`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            FaultKind::RateLimit {
                retry_after_seconds,
            } => write!(f, "429:retry-after={retry_after_seconds}")?,
            FaultKind::ServerError { status } => write!(f, "{status}:")?,
            FaultKind::ResetExport { after, tcp_reset } => {
                match after {
                    StreamPoint::Lines(lines) => write!(f, "reset-export:after-lines={lines}")?,
                    StreamPoint::Bytes(bytes) => write!(f, "reset-export:after-bytes={bytes}")?,
                }
                if *tcp_reset {
                    write!(f, ",rst")?;
                }
            }
            FaultKind::TruncateExport { after_lines } => {
                write!(f, "truncate-export:after-lines={after_lines}")?;
            }
            FaultKind::Slow { delay } => write!(f, "slow:{}ms", delay.as_millis())?,
            FaultKind::InvalidJson => write!(f, "invalid-json:")?,
        }
        match self.times {
            Some(times) => write!(f, ",times={times}")?,
            None => write!(f, ",times=always")?,
        }
        if let Some(prefix) = &self.path_prefix {
            write!(f, ",path={prefix}")?;
        }
        Ok(())
    }
}

/// Parses `200ms`, `2s` or `1.5s`.
fn parse_duration(text: &str) -> Option<Duration> {
    if let Some(millis) = text.strip_suffix("ms") {
        return millis.trim().parse::<u64>().ok().map(Duration::from_millis);
    }
    let seconds = text.strip_suffix('s')?.trim().parse::<f64>().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

/// The faults of a sandbox as given at start: a list, usually built from `--fault` flags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// The faults, in the order they are considered.
    pub list: Vec<Fault>,
}

impl Faults {
    /// No faults.
    pub fn none() -> Faults {
        Faults::default()
    }

    /// Parses several `--fault` specifications.
    pub fn parse<S: AsRef<str>>(specs: &[S]) -> Result<Faults, Error> {
        let list = specs
            .iter()
            .map(|spec| spec.as_ref().parse())
            .collect::<Result<_, _>>()?;
        Ok(Faults { list })
    }
}

/// The faults of a running sandbox, changeable from tests while requests are served.
///
/// Every request takes the lock briefly to consume what applies to it, so a test that sets
/// `429:3` sees exactly the next three requests refused, whatever the concurrency.
#[derive(Debug, Default)]
pub struct FaultControl {
    active: Mutex<Vec<Fault>>,
}

/// What the front of the request pipeline must do, decided under the lock in one go.
#[derive(Debug, Default)]
pub(crate) struct FrontDecision {
    pub(crate) delay: Option<Duration>,
    pub(crate) respond: Option<FaultKind>,
}

/// What an export stream must do.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct ExportFaults {
    pub(crate) reset_after: Option<StreamPoint>,
    /// With `reset_after`: close with a TCP reset.
    pub(crate) tcp_reset: bool,
    pub(crate) truncate_after: Option<u64>,
}

impl FaultControl {
    pub(crate) fn new(faults: Faults) -> FaultControl {
        FaultControl {
            active: Mutex::new(faults.list),
        }
    }

    /// Replaces every active fault.
    pub fn set(&self, faults: impl IntoIterator<Item = Fault>) {
        *self.lock() = faults.into_iter().collect();
    }

    /// Adds a fault after the active ones.
    pub fn push(&self, fault: Fault) {
        self.lock().push(fault);
    }

    /// Removes every fault.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Returns the active faults with their remaining counts.
    pub fn active(&self) -> Vec<Fault> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Fault>> {
        // A panic while holding this lock cannot leave the list half-updated (every update is
        // a single assignment), so a poisoned lock is still usable.
        self.active
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Consumes one use of the first matching fault selected by `select`, and returns its
    /// kind. Exhausted faults are removed.
    fn take_first(&self, path: &str, select: impl Fn(&FaultKind) -> bool) -> Option<FaultKind> {
        let mut active = self.lock();
        let index = active.iter().position(|fault| {
            select(&fault.kind) && fault.matches_path(path) && fault.times != Some(0)
        })?;
        let kind = active[index].kind.clone();
        if let Some(times) = &mut active[index].times {
            *times -= 1;
            if *times == 0 {
                active.remove(index);
            }
        }
        Some(kind)
    }

    /// Decides the delay and the early answer (429, 5xx) of a request.
    pub(crate) fn front(&self, path: &str) -> FrontDecision {
        let delay = match self.take_first(path, |kind| matches!(kind, FaultKind::Slow { .. })) {
            Some(FaultKind::Slow { delay }) => Some(delay),
            _ => None,
        };
        let respond = self
            .take_first(path, |kind| matches!(kind, FaultKind::RateLimit { .. }))
            .or_else(|| {
                self.take_first(path, |kind| matches!(kind, FaultKind::ServerError { .. }))
            });
        FrontDecision { delay, respond }
    }

    /// Takes the faults of an export stream that is about to start.
    pub(crate) fn export(&self, path: &str) -> ExportFaults {
        let (reset_after, tcp_reset) =
            match self.take_first(path, |kind| matches!(kind, FaultKind::ResetExport { .. })) {
                Some(FaultKind::ResetExport { after, tcp_reset }) => (Some(after), tcp_reset),
                _ => (None, false),
            };
        let truncate_after = match self.take_first(path, |kind| {
            matches!(kind, FaultKind::TruncateExport { .. })
        }) {
            Some(FaultKind::TruncateExport { after_lines }) => Some(after_lines),
            _ => None,
        };
        ExportFaults {
            reset_after,
            tcp_reset,
            truncate_after,
        }
    }

    /// Returns true if and only if this successful JSON answer must be corrupted.
    pub(crate) fn take_invalid_json(&self, path: &str) -> bool {
        self.take_first(path, |kind| *kind == FaultKind::InvalidJson)
            .is_some()
    }
}
