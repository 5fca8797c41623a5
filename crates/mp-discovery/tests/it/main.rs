//! Integration tests of `mp-discovery` through its public API, over a scripted `mp_http::Transport`.

// A transport that answers from a script and records what was sent, and a frozen clock.
mod support;
// One test per Query API discovery call: parameters and defaults, the date-range fallback, results and errors.
mod discovery;
// The App API discovery calls: bookmarks and Lexicon schemas.
mod app;
// The in-memory and on-disk caches.
mod caching;
