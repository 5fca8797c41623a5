//! The retry decision: a pure function of the policy, what happened, and now.
//!
//! [`RetryState::next`] does no I/O and never sleeps; the client's loop asks
//! it after every failed attempt and sleeps through the [`crate::Clock`] for
//! the duration it returns (the shape of cargo's `RetryResult::Retry(ms)` and
//! uv's `RetryState::should_retry`). Tests drive it with an injected `now`.
//!
//! What is retried, and why:
//!
//! | outcome | retried when | wait |
//! |---|---|---|
//! | 429 | always (the server refused before doing anything) | `Retry-After`, capped, else backoff |
//! | 503 | request is retry-safe and `retry_server_errors` | `Retry-After`, capped, else backoff |
//! | 500, 502, 504, 408 | request is retry-safe and `retry_server_errors` | backoff |
//! | connect failure | `retry_transport_errors` (nothing was sent) | backoff |
//! | connection reset, timeout | request is retry-safe and `retry_transport_errors` | backoff |
//! | any other status, TLS errors | never | — |
//!
//! Backoff is exponential (`base_delay · 2^n`, capped at `max_delay`) with
//! full jitter: a uniform wait between zero and that bound, so clients that
//! failed together do not come back together.

use std::time::{Duration, SystemTime};

use rand::{Rng, SeedableRng, rngs::StdRng};

use crate::TransportErrorKind;

/// Every HTTP status code the client may retry (see the module table for
/// when). Kept as data so a test can snapshot it.
pub const RETRIED_STATUS_CODES: &[u16] = &[408, 429, 500, 502, 503, 504];

/// How the client retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt: 3 means up to 4 attempts.
    pub max_retries: u32,
    /// The first backoff bound; doubled on each retry.
    pub base_delay: Duration,
    /// The largest backoff bound.
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured; larger values are cut to this.
    pub max_retry_after: Duration,
    /// Whether backoff waits are drawn uniformly from `[0, bound]` (full
    /// jitter) rather than being exactly the bound.
    pub jitter: bool,
    /// Whether 5xx and 408 responses are retried (for retry-safe requests).
    pub retry_server_errors: bool,
    /// Whether connection failures, resets and timeouts are retried.
    pub retry_transport_errors: bool,
}

impl Default for RetryPolicy {
    /// 3 retries, backoff from 1 s to 30 s with full jitter, `Retry-After`
    /// honoured up to 60 s, server and transport errors retried.
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
            jitter: true,
            retry_server_errors: true,
            retry_transport_errors: true,
        }
    }
}

impl RetryPolicy {
    /// The behaviour of Mixpanel's official Python client: only 429 is
    /// retried, `max_retries` times, with backoff from 1 s to 60 s; 5xx and
    /// network errors fail at once. The conformance runner replays the
    /// recorded vectors with this policy.
    pub fn mixpanel_headless_compatible(max_retries: u32) -> RetryPolicy {
        RetryPolicy {
            max_retries,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(60),
            jitter: true,
            retry_server_errors: false,
            retry_transport_errors: false,
        }
    }

    /// A policy that never retries.
    pub fn never() -> RetryPolicy {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }
}

/// What an attempt ended with, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// The server answered with a non-2xx status.
    Status {
        /// The status code.
        status: u16,
        /// The raw `Retry-After` header value, if any.
        retry_after: Option<&'a str>,
    },
    /// The request failed below HTTP.
    Transport(TransportErrorKind),
}

/// The retry state of one request: how many retries were made so far.
#[derive(Debug, Clone)]
pub struct RetryState {
    policy: RetryPolicy,
    retry_safe: bool,
    n_retries: u32,
    rng: StdRng,
}

impl RetryState {
    /// A fresh state for a retry-safe request (see [`RetryState::with_retry_safe`]).
    pub fn new(policy: RetryPolicy) -> RetryState {
        RetryState {
            policy,
            retry_safe: true,
            n_retries: 0,
            rng: StdRng::from_os_rng(),
        }
    }

    /// Whether the request may be sent twice without harm (GET, and
    /// Mixpanel's read-only POST queries). Only 429 and connect failures are
    /// retried for a request that is not.
    pub fn with_retry_safe(mut self, retry_safe: bool) -> RetryState {
        self.retry_safe = retry_safe;
        self
    }

    /// Seeds the jitter, for reproducible tests.
    pub fn with_seed(mut self, seed: u64) -> RetryState {
        self.rng = StdRng::seed_from_u64(seed);
        self
    }

    /// Retries decided so far.
    pub fn n_retries(&self) -> u32 {
        self.n_retries
    }

    /// Decides whether to retry after `outcome`, at time `now`: returns the
    /// wait before the next attempt, or `None` to give up.
    pub fn next(&mut self, outcome: &Outcome<'_>, now: SystemTime) -> Option<Duration> {
        if self.n_retries >= self.policy.max_retries {
            return None;
        }
        let policy = &self.policy;
        let server_retry = self.retry_safe && policy.retry_server_errors;
        let delay = match *outcome {
            Outcome::Status {
                status: 429,
                retry_after,
            } => self.retry_after_or_backoff(retry_after, now),
            Outcome::Status {
                status: 503,
                retry_after,
            } if server_retry => self.retry_after_or_backoff(retry_after, now),
            Outcome::Status {
                status: 408 | 500 | 502 | 504,
                ..
            } if server_retry => self.backoff(),
            Outcome::Status { .. } => return None,
            // Nothing reached the server, so even a non-idempotent request
            // may be sent again.
            Outcome::Transport(TransportErrorKind::Connect) if policy.retry_transport_errors => {
                self.backoff()
            }
            Outcome::Transport(
                TransportErrorKind::ConnectionReset | TransportErrorKind::Timeout,
            ) if self.retry_safe && policy.retry_transport_errors => self.backoff(),
            // TLS failures (an untrusted certificate) will not heal by waiting.
            Outcome::Transport(_) => return None,
        };
        self.n_retries += 1;
        Some(delay)
    }

    fn retry_after_or_backoff(&mut self, retry_after: Option<&str>, now: SystemTime) -> Duration {
        match retry_after.and_then(|value| parse_retry_after(value, now)) {
            Some(wait) => wait.min(self.policy.max_retry_after),
            // A missing or hostile value ("inf", "-5", "1e9", "1,000", "")
            // falls back to our own schedule rather than hammering the server
            // or sleeping forever.
            None => self.backoff(),
        }
    }

    fn backoff(&mut self) -> Duration {
        let factor = 2u32.saturating_pow(self.n_retries);
        let bound = self
            .policy
            .base_delay
            .saturating_mul(factor)
            .min(self.policy.max_delay);
        if self.policy.jitter && !bound.is_zero() {
            let nanos = u64::try_from(bound.as_nanos()).unwrap_or(u64::MAX);
            Duration::from_nanos(self.rng.random_range(0..=nanos))
        } else {
            bound
        }
    }
}

/// Parses a `Retry-After` value: delta-seconds (`"120"`) or an HTTP-date
/// (`"Wed, 21 Oct 2015 07:28:00 GMT"`, IMF-fixdate; a date in the past means
/// zero). Returns `None` for anything else, including negative, fractional,
/// exponent, grouped or non-finite numbers (`"-5"`, `"0.5"`, `"1e9"`,
/// `"1,000"`, `"inf"`, `"nan"`) and the empty string.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|byte| byte.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    let date = parse_http_date(value)?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the only form
/// RFC 9110 requires senders to use.
fn parse_http_date(value: &str) -> Option<SystemTime> {
    let (weekday, rest) = value.split_once(", ")?;
    const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    if !WEEKDAYS.contains(&weekday) {
        return None;
    }
    let mut parts = rest.split(' ');
    let day: u32 = parse_fixed_digits(parts.next()?, 2)?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: u32 = parse_fixed_digits(parts.next()?, 4)?;
    let mut clock = parts.next()?.split(':');
    let hour: u32 = parse_fixed_digits(clock.next()?, 2)?;
    let minute: u32 = parse_fixed_digits(clock.next()?, 2)?;
    let second: u32 = parse_fixed_digits(clock.next()?, 2)?;
    if clock.next().is_some() || parts.next()? != "GMT" || parts.next().is_some() {
        return None;
    }
    // 60 allows a leap second.
    if !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 || year < 1970 {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    let seconds = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    let seconds = u64::try_from(seconds).ok()?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

fn parse_fixed_digits(text: &str, len: usize) -> Option<u32> {
    if text.len() != len || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}
