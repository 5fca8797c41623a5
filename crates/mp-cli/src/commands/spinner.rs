//! A spinner on stderr while a request runs longer than a moment.
//!
//! It is drawn only on a terminal and never with `--quiet`: a script that reads
//! stderr sees no `\r` frames. Nothing is drawn for the first [`DELAY`], so a fast
//! answer shows no flicker. The frames are written by a small tokio task; the
//! spinner is cleared (its line overwritten with spaces, so no escape sequence is
//! needed) when it is stopped or dropped, which happens before any data reaches
//! stdout and also when Ctrl-C drops the command's future.
//!
//! Drawing and clearing share one lock with a `stopped` flag, so a frame can never
//! land after the line was cleared, even when the task runs on another thread.

use std::io::{self, IsTerminal, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::output::Messages;

/// How long a request runs before the spinner appears.
const DELAY: Duration = Duration::from_millis(300);

/// How long each frame stays.
const FRAME_INTERVAL: Duration = Duration::from_millis(100);

const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// A running spinner; stopping or dropping it clears its line.
#[derive(Debug)]
pub struct Spinner {
    inner: Option<Running>,
}

#[derive(Debug)]
struct Running {
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

struct State {
    /// Set once by [`Spinner::stop`]; the task draws nothing after it.
    stopped: bool,
    /// The width of what is on the line now (0 when nothing was drawn yet).
    drawn: usize,
    out: Box<dyn Write + Send>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("stopped", &self.stopped)
            .field("drawn", &self.drawn)
            .finish_non_exhaustive()
    }
}

impl Spinner {
    /// Starts a spinner labelled `label` on stderr, if stderr is a terminal and
    /// `--quiet` is off; otherwise returns a spinner that does nothing.
    pub fn start(messages: &Messages, label: &str) -> Spinner {
        if messages.quiet || !io::stderr().is_terminal() {
            return Spinner { inner: None };
        }
        Spinner::on(Box::new(io::stderr()), label, DELAY, FRAME_INTERVAL)
    }

    /// A spinner drawing on `out` after `delay`, one frame every `interval`.
    ///
    /// Note that it needs a tokio runtime; without one it does nothing.
    fn on(out: Box<dyn Write + Send>, label: &str, delay: Duration, interval: Duration) -> Spinner {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Spinner { inner: None };
        };
        let state = Arc::new(Mutex::new(State {
            stopped: false,
            drawn: 0,
            out,
        }));
        let label = label.to_owned();
        let task = runtime.spawn({
            let state = Arc::clone(&state);
            async move {
                tokio::time::sleep(delay).await;
                for frame in FRAMES.iter().cycle() {
                    {
                        let mut state = lock(&state);
                        if state.stopped {
                            return;
                        }
                        let line = format!("{frame} {label}");
                        let width = line.chars().count();
                        // A failed write (stderr closed) only loses the decoration.
                        let _ = write!(state.out, "\r{line}").and_then(|()| state.out.flush());
                        state.drawn = width;
                    }
                    tokio::time::sleep(interval).await;
                }
            }
        });
        Spinner {
            inner: Some(Running { state, task }),
        }
    }

    /// Stops the spinner and clears its line, if it drew anything. Idempotent.
    pub fn stop(&mut self) {
        let Some(running) = self.inner.take() else {
            return;
        };
        {
            let mut state = lock(&running.state);
            state.stopped = true;
            if state.drawn > 0 {
                let blank = " ".repeat(state.drawn);
                let _ = write!(state.out, "\r{blank}\r").and_then(|()| state.out.flush());
                state.drawn = 0;
            }
        }
        running.task.abort();
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.stop();
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    // Every critical section leaves the state consistent, so a poisoned lock is usable.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    #[tokio::test]
    async fn a_fast_answer_draws_nothing() {
        let out = Shared::default();
        let mut spinner = Spinner::on(
            Box::new(out.clone()),
            "querying",
            Duration::from_secs(3600),
            FRAME_INTERVAL,
        );
        spinner.stop();
        assert_eq!(out.text(), "");
    }

    #[tokio::test]
    async fn frames_are_cleared_when_the_spinner_stops() {
        let out = Shared::default();
        let mut spinner = Spinner::on(
            Box::new(out.clone()),
            "querying",
            Duration::ZERO,
            Duration::from_secs(3600),
        );
        // The first frame is drawn as soon as the task runs.
        while out.text().is_empty() {
            tokio::task::yield_now().await;
        }
        spinner.stop();
        let text = out.text();
        assert_eq!(
            text,
            format!("\r{} querying\r{}\r", FRAMES[0], " ".repeat(10))
        );
        // Nothing is drawn after the line was cleared.
        tokio::task::yield_now().await;
        assert_eq!(out.text(), text);
        drop(spinner);
        assert_eq!(out.text(), text);
    }

    #[test]
    fn without_a_runtime_the_spinner_does_nothing() {
        let out = Shared::default();
        let spinner = Spinner::on(
            Box::new(out.clone()),
            "querying",
            Duration::ZERO,
            FRAME_INTERVAL,
        );
        assert!(spinner.inner.is_none());
    }
}
