//! The pure retry decision: which outcomes are retried, how long to wait.

use std::time::{Duration, SystemTime};

use crate::tests::start_time;
use crate::{
    Outcome, RETRIED_STATUS_CODES, RetryPolicy, RetryState, TransportErrorKind, parse_retry_after,
};

fn no_jitter() -> RetryPolicy {
    RetryPolicy {
        jitter: false,
        ..RetryPolicy::default()
    }
}

fn status(status: u16) -> Outcome<'static> {
    Outcome::Status {
        status,
        retry_after: None,
    }
}

/// Every status the default policy retries for a retry-safe request is in
/// the documented list, and every listed status is retried.
#[test]
fn retried_status_codes_snapshot() {
    assert_eq!(RETRIED_STATUS_CODES, &[408, 429, 500, 502, 503, 504]);
    let retried: Vec<u16> = (100..600)
        .filter(|code| {
            RetryState::new(no_jitter())
                .next(&status(*code), start_time())
                .is_some()
        })
        .collect();
    assert_eq!(retried, RETRIED_STATUS_CODES);
}

#[test]
fn only_429_and_connect_failures_are_retried_for_unsafe_requests() {
    let retried = |outcome: Outcome<'_>| {
        RetryState::new(no_jitter())
            .with_retry_safe(false)
            .next(&outcome, start_time())
            .is_some()
    };
    let retried_statuses: Vec<u16> = (100..600).filter(|code| retried(status(*code))).collect();
    assert_eq!(retried_statuses, [429]);
    assert!(retried(Outcome::Transport(TransportErrorKind::Connect)));
    assert!(!retried(Outcome::Transport(
        TransportErrorKind::ConnectionReset
    )));
    assert!(!retried(Outcome::Transport(TransportErrorKind::Timeout)));
}

#[test]
fn transport_errors_retried_except_tls() {
    for (kind, expected) in [
        (TransportErrorKind::Connect, true),
        (TransportErrorKind::ConnectionReset, true),
        (TransportErrorKind::Timeout, true),
        (TransportErrorKind::Tls, false),
        (TransportErrorKind::Other, false),
    ] {
        let decision = RetryState::new(no_jitter()).next(&Outcome::Transport(kind), start_time());
        assert_eq!(decision.is_some(), expected, "{kind:?}");
    }
}

#[test]
fn exactly_max_retries_then_gives_up() {
    for max_retries in [0, 1, 3, 7] {
        let mut state = RetryState::new(RetryPolicy {
            max_retries,
            ..no_jitter()
        });
        let mut n_retries = 0;
        while state.next(&status(503), start_time()).is_some() {
            n_retries += 1;
            assert!(n_retries <= max_retries, "more retries than allowed");
        }
        assert_eq!(n_retries, max_retries);
        assert_eq!(state.n_retries(), max_retries);
    }
}

#[test]
fn backoff_doubles_up_to_the_cap() {
    let mut state = RetryState::new(RetryPolicy {
        max_retries: 6,
        base_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(10),
        ..no_jitter()
    });
    let delays: Vec<u64> = std::iter::from_fn(|| state.next(&status(500), start_time()))
        .map(|delay| delay.as_secs())
        .collect();
    assert_eq!(delays, [1, 2, 4, 8, 10, 10]);
}

#[test]
fn full_jitter_stays_within_the_bound() {
    let mut state = RetryState::new(RetryPolicy {
        max_retries: 200,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(2),
        ..RetryPolicy::default()
    })
    .with_seed(7);
    let mut distinct = std::collections::BTreeSet::new();
    for n in 0..200u32 {
        let bound = Duration::from_millis(100)
            .saturating_mul(2u32.saturating_pow(n))
            .min(Duration::from_secs(2));
        let delay = state.next(&status(502), start_time()).unwrap();
        assert!(delay <= bound, "retry {n}: {delay:?} > {bound:?}");
        distinct.insert(delay);
    }
    // Jitter really varies the waits.
    assert!(distinct.len() > 150);
}

#[test]
fn retry_after_is_honoured_and_capped() {
    let policy = RetryPolicy {
        max_retry_after: Duration::from_secs(60),
        ..no_jitter()
    };
    let wait = |value: &str, code: u16| {
        RetryState::new(policy.clone()).next(
            &Outcome::Status {
                status: code,
                retry_after: Some(value),
            },
            start_time(),
        )
    };
    assert_eq!(wait("0", 429), Some(Duration::ZERO));
    assert_eq!(wait("30", 429), Some(Duration::from_secs(30)));
    assert_eq!(wait("30", 503), Some(Duration::from_secs(30)));
    assert_eq!(wait("86400", 429), Some(Duration::from_secs(60)));
    assert_eq!(
        wait("Thu, 15 Jan 2026 12:00:42 GMT", 429),
        Some(Duration::from_secs(42))
    );
    // A hostile value falls back to the backoff schedule (1 s first).
    for hostile in [
        "inf", "-5", "abc", "nan", "NaN", "1,000", "1e9", "", "-0.5", "0.5", "-inf",
    ] {
        assert_eq!(
            wait(hostile, 429),
            Some(Duration::from_secs(1)),
            "{hostile:?}"
        );
    }
    // Retry-After on a 500 does not matter: plain backoff.
    assert_eq!(wait("30", 500), Some(Duration::from_secs(1)));
}

#[test]
fn parse_retry_after_forms() {
    let now = start_time();
    let cases: &[(&str, Option<u64>)] = &[
        ("0", Some(0)),
        ("45", Some(45)),
        (" 120 ", Some(120)),
        ("3600", Some(3600)),
        ("Thu, 15 Jan 2026 12:01:00 GMT", Some(60)),
        // In the past: retry now.
        ("Thu, 15 Jan 2026 11:00:00 GMT", Some(0)),
        ("Sun, 06 Nov 1994 08:49:37 GMT", Some(0)),
        ("Thu, 15 Jan 2026 12:01:00 UTC", None),
        ("Thursday, 15-Jan-26 12:01:00 GMT", None),
        ("Thu, 32 Jan 2026 12:01:00 GMT", None),
        ("inf", None),
        ("-5", None),
        ("abc", None),
        ("nan", None),
        ("1,000", None),
        ("1e9", None),
        ("", None),
        ("99999999999999999999999", None),
    ];
    for (value, expected) in cases {
        assert_eq!(
            parse_retry_after(value, now),
            expected.map(Duration::from_secs),
            "{value:?}"
        );
    }
    // Leap years and month lengths come out right.
    let in_2024 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_709_208_000); // 2024-02-29T12:00:00Z
    assert_eq!(
        parse_retry_after("Thu, 29 Feb 2024 12:00:10 GMT", in_2024),
        Some(Duration::from_secs(10))
    );
}

#[test]
fn mixpanel_headless_compatible_retries_only_429() {
    let policy = RetryPolicy::mixpanel_headless_compatible(3);
    let retried_statuses: Vec<u16> = (100..600)
        .filter(|code| {
            RetryState::new(policy.clone())
                .next(&status(*code), start_time())
                .is_some()
        })
        .collect();
    assert_eq!(retried_statuses, [429]);
    for kind in [
        TransportErrorKind::Connect,
        TransportErrorKind::ConnectionReset,
        TransportErrorKind::Timeout,
    ] {
        assert!(
            RetryState::new(policy.clone())
                .next(&Outcome::Transport(kind), start_time())
                .is_none()
        );
    }
}

#[test]
fn server_and_transport_retries_can_be_switched_off() {
    let policy = RetryPolicy {
        retry_server_errors: false,
        retry_transport_errors: false,
        ..no_jitter()
    };
    for code in [408, 500, 502, 503, 504] {
        assert!(
            RetryState::new(policy.clone())
                .next(&status(code), start_time())
                .is_none()
        );
    }
    assert!(
        RetryState::new(policy.clone())
            .next(&status(429), start_time())
            .is_some()
    );
    assert!(
        RetryState::new(policy)
            .next(
                &Outcome::Transport(TransportErrorKind::Connect),
                start_time()
            )
            .is_none()
    );
}
