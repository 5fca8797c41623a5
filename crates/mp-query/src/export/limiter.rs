//! A client-side rate limiter for Mixpanel's published limits: a pure decision ([`RateLimiter`]) and the thin
//! async loop that sleeps through the client's [`Clock`] ([`SharedLimiter`]).
//!
//! Mixpanel enforces its limits per project and answers 429 when they are exceeded; the raw export API allows
//! 3 requests per second, 60 per hour and 100 at once (`export.openapi.yaml`, "Download Data"), and the Query API,
//! which serves Engage, 60 per hour and 5 at once (`engage-query.mdx`). A client that waits before the server
//! refuses spends no attempt on a 429, never burns through its retries in a long export, and can tell the person
//! why it is pausing.
//!
//! The windows slide: "3 per second" means no more than 3 requests started in any interval of one second, and
//! "60 per hour" the same over 3600 seconds. Every request *started* counts, retries included, which is what the
//! server counts too.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use mp_http::Clock;
use tokio::sync::Notify;

/// How many requests may run at once and start per second and per hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Requests in flight at the same time.
    pub max_concurrent: u32,
    /// Requests started in any one-second window, or no limit.
    pub per_second: Option<u32>,
    /// Requests started in any one-hour window, or no limit.
    pub per_hour: Option<u32>,
}

impl RateLimits {
    /// The raw export API's limits: 100 concurrent, 3 per second, 60 per hour.
    pub const RAW_EXPORT: RateLimits = RateLimits {
        max_concurrent: 100,
        per_second: Some(3),
        per_hour: Some(60),
    };

    /// The Query API's limits, which Engage shares: 5 concurrent, 60 per hour.
    pub const QUERY_API: RateLimits = RateLimits {
        max_concurrent: 5,
        per_second: None,
        per_hour: Some(60),
    };

    /// No limit at all (for a local emulator, or when another layer limits).
    pub const UNLIMITED: RateLimits = RateLimits {
        max_concurrent: u32::MAX,
        per_second: None,
        per_hour: None,
    };
}

/// Why a request has to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WaitReason {
    /// `max_concurrent` requests are already running.
    Concurrency,
    /// `per_second` requests started within the last second.
    PerSecond,
    /// `per_hour` requests started within the last hour.
    PerHour,
}

impl WaitReason {
    /// A short description for people, e.g. "3 requests per second".
    pub fn describe(self, limits: &RateLimits) -> String {
        match self {
            WaitReason::Concurrency => format!("{} concurrent requests", limits.max_concurrent),
            WaitReason::PerSecond => {
                format!("{} requests per second", limits.per_second.unwrap_or(0))
            }
            WaitReason::PerHour => format!("{} requests per hour", limits.per_hour.unwrap_or(0)),
        }
    }
}

/// What the limiter says about starting a request now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    /// Start it.
    Proceed,
    /// Try again after `duration`.
    Wait {
        /// How long until a window has room.
        duration: Duration,
        /// Which limit is full (the one that makes the wait longest).
        reason: WaitReason,
    },
    /// Try again when a running request finishes.
    WaitForFinish,
}

const SECOND: Duration = Duration::from_secs(1);
const HOUR: Duration = Duration::from_secs(3600);

/// The pure state of a limiter: when recent requests started, and how many are running.
///
/// It does no I/O and never sleeps: [`RateLimiter::decide`] answers for a given `now`, and the caller records what
/// it did with [`RateLimiter::start`] and [`RateLimiter::finish`]. Tests drive it with any clock.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    limits: RateLimits,
    /// Start times within the longest window, oldest first.
    starts: VecDeque<SystemTime>,
    in_flight: u32,
}

impl RateLimiter {
    /// An idle limiter for `limits`. A limit of 0 is read as 1: a limiter that can never proceed would hang.
    pub fn new(limits: RateLimits) -> RateLimiter {
        RateLimiter {
            limits: RateLimits {
                max_concurrent: limits.max_concurrent.max(1),
                per_second: limits.per_second.map(|n| n.max(1)),
                per_hour: limits.per_hour.map(|n| n.max(1)),
            },
            starts: VecDeque::new(),
            in_flight: 0,
        }
    }

    /// The limits (after reading a 0 as 1).
    pub fn limits(&self) -> &RateLimits {
        &self.limits
    }

    /// Requests started and not yet finished.
    pub fn in_flight(&self) -> u32 {
        self.in_flight
    }

    /// Whether a request may start at `now`.
    pub fn decide(&self, now: SystemTime) -> RateDecision {
        if self.in_flight >= self.limits.max_concurrent {
            return RateDecision::WaitForFinish;
        }
        let mut longest: Option<(Duration, WaitReason)> = None;
        for (limit, window, reason) in [
            (self.limits.per_second, SECOND, WaitReason::PerSecond),
            (self.limits.per_hour, HOUR, WaitReason::PerHour),
        ] {
            let Some(limit) = limit else { continue };
            if let Some(wait) = self.wait_for_window(now, limit, window)
                && longest.is_none_or(|(current, _)| wait > current)
            {
                longest = Some((wait, reason));
            }
        }
        match longest {
            None => RateDecision::Proceed,
            Some((duration, reason)) => RateDecision::Wait { duration, reason },
        }
    }

    /// Records that a request started at `now`.
    pub fn start(&mut self, now: SystemTime) {
        self.in_flight += 1;
        self.starts.push_back(now);
        let horizon = if self.limits.per_hour.is_some() {
            HOUR
        } else {
            SECOND
        };
        while let Some(&oldest) = self.starts.front() {
            if elapsed(oldest, now) >= horizon {
                self.starts.pop_front();
            } else {
                break;
            }
        }
    }

    /// Records that a running request finished (successfully or not).
    pub fn finish(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// How long until fewer than `limit` starts lie within the `window` ending at `now`, or `None` if one may
    /// start already.
    fn wait_for_window(&self, now: SystemTime, limit: u32, window: Duration) -> Option<Duration> {
        let in_window: Vec<SystemTime> = self
            .starts
            .iter()
            .copied()
            .filter(|&start| elapsed(start, now) < window)
            .collect();
        let limit = limit as usize;
        if in_window.len() < limit {
            return None;
        }
        // The window has room again once all but `limit - 1` of its starts have left it: that is when the
        // start at position `len - limit` (oldest first) is `window` old.
        let leaving = in_window[in_window.len() - limit];
        Some(window.saturating_sub(elapsed(leaving, now)))
    }
}

/// Time from `earlier` to `now`; zero if the clock went backwards.
fn elapsed(earlier: SystemTime, now: SystemTime) -> Duration {
    now.duration_since(earlier).unwrap_or(Duration::ZERO)
}

/// A [`RateLimiter`] shared by concurrent tasks, sleeping through the client's clock.
#[derive(Debug)]
pub(crate) struct SharedLimiter {
    state: Mutex<RateLimiter>,
    /// Woken (all waiters) whenever a request finishes, for tasks waiting on `max_concurrent`.
    finished: Notify,
    clock: Arc<dyn Clock>,
}

impl SharedLimiter {
    pub(crate) fn new(limits: RateLimits, clock: Arc<dyn Clock>) -> Arc<SharedLimiter> {
        Arc::new(SharedLimiter {
            state: Mutex::new(RateLimiter::new(limits)),
            finished: Notify::new(),
            clock,
        })
    }

    pub(crate) fn limits(&self) -> RateLimits {
        *self.lock().limits()
    }

    /// Waits until a request may start, telling `on_wait` about every pause (with its length when known), and
    /// returns the permit that marks the request as running until it is dropped.
    pub(crate) async fn acquire(
        self: &Arc<SharedLimiter>,
        on_wait: &(dyn Fn(WaitReason, Option<Duration>) + Send + Sync),
    ) -> LimiterPermit {
        loop {
            // Register interest in `finished` before deciding, so a finish between the decision and the wait
            // cannot be missed.
            let notified = self.finished.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            let decision = {
                let mut state = self.lock();
                let now = self.clock.now();
                let decision = state.decide(now);
                if decision == RateDecision::Proceed {
                    state.start(now);
                }
                decision
            };
            match decision {
                RateDecision::Proceed => {
                    return LimiterPermit {
                        limiter: Arc::clone(self),
                    };
                }
                RateDecision::Wait { duration, reason } => {
                    on_wait(reason, Some(duration));
                    self.clock.sleep(duration).await;
                }
                RateDecision::WaitForFinish => {
                    on_wait(WaitReason::Concurrency, None);
                    notified.await;
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RateLimiter> {
        // The state is plain data; a panic elsewhere while holding the lock leaves it usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A running request; dropping it frees its concurrency slot.
#[derive(Debug)]
pub(crate) struct LimiterPermit {
    limiter: Arc<SharedLimiter>,
}

impl Drop for LimiterPermit {
    fn drop(&mut self) {
        self.limiter.lock().finish();
        self.limiter.finished.notify_waiters();
    }
}
