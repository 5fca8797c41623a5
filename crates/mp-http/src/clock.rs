//! The time seam: what the retry loop reads the time from and sleeps through.
//!
//! Note that request timeouts do not go through [`Clock`]: a virtual clock's
//! sleep returns at once, which would make every timeout fire immediately.
//! Timeouts use tokio timers, which tests can pause.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::BoxFuture;

/// Reads the wall clock and sleeps.
///
/// Production uses [`SystemClock`]; tests and the conformance runner install
/// a [`VirtualClock`] whose sleeps return at once and advance `now()`.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current wall-clock time (used for `Retry-After` HTTP-dates and
    /// for the elapsed time reported in errors).
    fn now(&self) -> SystemTime;

    /// Returns a future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
}

/// The real clock: `SystemTime::now()` and `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A clock for tests: `sleep` returns at once and moves `now()` forward by
/// the requested duration, and every sleep is recorded.
///
/// Clones share the same time and log.
#[derive(Debug, Clone)]
pub struct VirtualClock {
    state: Arc<Mutex<VirtualClockState>>,
}

#[derive(Debug)]
struct VirtualClockState {
    now: SystemTime,
    sleeps: Vec<Duration>,
}

impl VirtualClock {
    /// A virtual clock frozen at `start`.
    pub fn new(start: SystemTime) -> VirtualClock {
        VirtualClock {
            state: Arc::new(Mutex::new(VirtualClockState {
                now: start,
                sleeps: Vec::new(),
            })),
        }
    }

    /// Moves the clock forward without recording a sleep.
    pub fn advance(&self, duration: Duration) {
        self.lock().now += duration;
    }

    /// Every duration slept so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.lock().sleeps.clone()
    }

    /// The sum of every duration slept so far.
    pub fn total_slept(&self) -> Duration {
        self.lock().sleeps.iter().sum()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VirtualClockState> {
        // A poisoned lock only means a test panicked elsewhere; the state is
        // still a plain value.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> SystemTime {
        self.lock().now
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        let mut state = self.lock();
        state.now += duration;
        state.sleeps.push(duration);
        Box::pin(std::future::ready(()))
    }
}
