//! The progress line of an export on stderr, and the notes that interrupt it.
//!
//! The line (counts, bytes, rate, days or pages) is drawn only when stderr is a terminal
//! and `--quiet` is off, and not when the data itself goes to the terminal; the caller
//! decides ([`ProgressLine::new`]). It is redrawn by a small tokio task every
//! [`FRAME_INTERVAL`] from a `render` closure that reads the export's counters, so the
//! export itself never waits for the display. Nothing is drawn for the first [`DELAY`],
//! so a short export shows no flicker.
//!
//! Notes (rate-limit waits) and warnings (a chunk downloaded again) are printed whether
//! or not there is a line, unless `--quiet`: they clear the line first, and the next
//! frame draws it again below them. Drawing, notes and clearing share one lock, so a
//! frame never lands in the middle of a note or after the line was cleared. The line is
//! overwritten with spaces rather than erased with escape sequences, as the query
//! spinner does, so it works on any terminal.

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use mp_query::{RateLimits, WaitReason};

use crate::output::Messages;

/// How long an export runs before the line appears.
const DELAY: Duration = Duration::from_millis(300);

/// How long each frame stays.
const FRAME_INTERVAL: Duration = Duration::from_millis(100);

const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// How often a wait for the hourly quota is reported again while it lasts.
const HOURLY_WAIT_REPEAT: Duration = Duration::from_secs(60);

/// The progress line of one export; clones share it.
#[derive(Debug, Clone)]
pub struct ProgressLine {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    messages: Messages,
    /// Returns true if and only if the line is drawn at all.
    bar: bool,
    started: Instant,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Set by [`ProgressLine::finish`]; nothing is drawn after it.
    stopped: bool,
    /// The width, in characters, of what is on the line now (0 when nothing is).
    drawn: usize,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl ProgressLine {
    /// A line for an export starting now; `bar` says whether it is drawn.
    pub fn new(messages: Messages, bar: bool) -> ProgressLine {
        ProgressLine {
            inner: Arc::new(Inner {
                messages,
                bar: bar && !messages.quiet,
                started: Instant::now(),
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// Time since the export started.
    pub fn elapsed(&self) -> Duration {
        self.inner.started.elapsed()
    }

    /// Starts drawing `render(elapsed)` (when the line is drawn at all and a tokio
    /// runtime runs).
    pub fn start(&self, render: impl Fn(Duration) -> String + Send + 'static) {
        if !self.inner.bar {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let inner = Arc::clone(&self.inner);
        let task = runtime.spawn(async move {
            tokio::time::sleep(DELAY).await;
            for frame in FRAMES.iter().cycle() {
                let text = format!("{frame} {}", render(inner.started.elapsed()));
                {
                    let mut state = lock(&inner.state);
                    if state.stopped {
                        return;
                    }
                    let width = text.chars().count();
                    // Spaces cover whatever a longer previous frame left.
                    let pad = " ".repeat(state.drawn.saturating_sub(width));
                    let mut err = io::stderr().lock();
                    // A failed write (stderr closed) only loses the decoration.
                    let _ = write!(err, "\r{text}{pad}").and_then(|()| err.flush());
                    state.drawn = width;
                }
                tokio::time::sleep(FRAME_INTERVAL).await;
            }
        });
        lock(&self.inner.state).task = Some(task);
    }

    /// Prints a note on its own line, unless `--quiet`.
    pub fn note(&self, message: &str) {
        let mut state = lock(&self.inner.state);
        clear(&mut state);
        self.inner.messages.note(message);
    }

    /// Prints `warning: …` on its own line, unless `--quiet`.
    pub fn warn(&self, message: &str) {
        let mut state = lock(&self.inner.state);
        clear(&mut state);
        self.inner.messages.warn(message);
    }

    /// Stops drawing and clears the line. Idempotent.
    pub fn finish(&self) {
        let mut state = lock(&self.inner.state);
        state.stopped = true;
        clear(&mut state);
        if let Some(task) = state.task.take() {
            task.abort();
        }
    }

    /// Prints the closing summary, only where the line was drawn: a terminal that
    /// watched the export sees how it ended, a script sees nothing.
    pub fn summary(&self, message: &str) {
        if self.inner.bar {
            self.note(message);
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        clear(state);
        if let Some(task) = state.task.take() {
            task.abort();
        }
    }
}

fn clear(state: &mut State) {
    if state.drawn > 0 {
        let mut err = io::stderr().lock();
        let _ = write!(err, "\r{}\r", " ".repeat(state.drawn)).and_then(|()| err.flush());
        state.drawn = 0;
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    // Every critical section leaves the state consistent, so a poisoned lock is usable.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Decides which rate-limit waits are worth a note.
///
/// A wait for the per-second or concurrency limit is short and, in a long export, comes
/// with nearly every request: it is said once. A wait for the hourly quota can last
/// minutes, so it is always said, with its length, and repeated while it lasts.
#[derive(Debug)]
pub struct Waits {
    api: &'static str,
    said: Mutex<HashMap<WaitReason, Instant>>,
}

impl Waits {
    /// Notes for the limits of `api` (for example "export").
    pub fn new(api: &'static str) -> Waits {
        Waits {
            api,
            said: Mutex::new(HashMap::new()),
        }
    }

    /// The note for a wait, or `None` when it need not be said.
    pub fn message(
        &self,
        reason: WaitReason,
        limits: &RateLimits,
        wait: Option<Duration>,
    ) -> Option<String> {
        let now = Instant::now();
        {
            let mut said = self.said.lock().unwrap_or_else(PoisonError::into_inner);
            let repeat = match reason {
                WaitReason::PerHour => Some(HOURLY_WAIT_REPEAT),
                WaitReason::PerSecond | WaitReason::Concurrency => None,
            };
            if let Some(last) = said.get(&reason) {
                match repeat {
                    Some(every) if now.duration_since(*last) >= every => {}
                    _ => return None,
                }
            }
            said.insert(reason, now);
        }
        let limit = reason.describe(limits);
        Some(match (reason, wait) {
            (WaitReason::PerHour, Some(wait)) => format!(
                "waiting {} for Mixpanel's {} quota of {limit}",
                human_duration(wait),
                self.api
            ),
            (_, Some(wait)) => format!(
                "pacing requests to Mixpanel's {} limit of {limit} (waiting {})",
                self.api,
                human_duration(wait)
            ),
            (_, None) => format!(
                "waiting for a request to finish: Mixpanel's {} allows {limit}",
                self.api
            ),
        })
    }
}

/// `1,234,567`.
pub fn human_count(count: u64) -> String {
    let digits = count.to_string();
    let mut text = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    text
}

/// `512 B`, `3.4 KiB`, `12.0 MiB`, `1.50 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    let value = bytes as f64;
    if value < KIB {
        format!("{bytes} B")
    } else if value < KIB * KIB {
        format!("{:.1} KiB", value / KIB)
    } else if value < KIB * KIB * KIB {
        format!("{:.1} MiB", value / (KIB * KIB))
    } else {
        format!("{:.2} GiB", value / (KIB * KIB * KIB))
    }
}

/// `0.3s`, `42.0s`, `12m30s`, `2h05m`.
pub fn human_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if seconds < 60 {
        format!("{:.1}s", duration.as_secs_f64())
    } else if seconds < 3600 {
        format!("{}m{:02}s", seconds / 60, seconds % 60)
    } else {
        format!("{}h{:02}m", seconds / 3600, seconds % 3600 / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_for_people() {
        assert_eq!(human_count(0), "0");
        assert_eq!(human_count(999), "999");
        assert_eq!(human_count(1000), "1,000");
        assert_eq!(human_count(1_234_567), "1,234,567");
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(3 * 1024 + 512), "3.5 KiB");
        assert_eq!(human_bytes(12 << 20), "12.0 MiB");
        assert_eq!(human_bytes(3 << 29), "1.50 GiB");
        assert_eq!(human_duration(Duration::from_millis(300)), "0.3s");
        assert_eq!(human_duration(Duration::from_secs(750)), "12m30s");
        assert_eq!(human_duration(Duration::from_secs(7500)), "2h05m");
    }

    #[test]
    fn short_waits_are_said_once_and_hourly_waits_every_time() {
        let waits = Waits::new("export");
        let limits = RateLimits::RAW_EXPORT;
        let second = Some(Duration::from_millis(400));
        let first = waits.message(WaitReason::PerSecond, &limits, second);
        assert_eq!(
            first.as_deref(),
            Some(
                "pacing requests to Mixpanel's export limit of 3 requests per second (waiting 0.4s)"
            )
        );
        assert_eq!(waits.message(WaitReason::PerSecond, &limits, second), None);
        let hour = Some(Duration::from_secs(750));
        assert_eq!(
            waits.message(WaitReason::PerHour, &limits, hour).as_deref(),
            Some("waiting 12m30s for Mixpanel's export quota of 60 requests per hour")
        );
        // Repeated only once a minute has passed.
        assert_eq!(waits.message(WaitReason::PerHour, &limits, hour), None);
        let query = Waits::new("Query API");
        assert_eq!(
            query
                .message(WaitReason::Concurrency, &RateLimits::QUERY_API, None)
                .as_deref(),
            Some(
                "waiting for a request to finish: Mixpanel's Query API allows 5 concurrent requests"
            )
        );
    }
}
