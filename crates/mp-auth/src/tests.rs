//! Tests of `mp-auth`, against real loopback servers (a fake Mixpanel in `tests/server.rs`) and
//! temporary state directories, on virtual clocks: nothing here sleeps on real time.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use mp_http::{Client, ClientBuilder, Endpoints, HyperTransport, Region, Transport, VirtualClock};

// Basic, Bearer and environment-token authenticators.
mod basic;
// Sessions: every axis, every source, overrides and errors.
mod session;
// PKCE (RFC 7636 Appendix B), state, constant-time comparison, pasted redirects.
mod pkce;
// The loopback callback server: success, state mismatch, stray requests, timeout.
mod callback;
// Token endpoint responses, classified as the official client does; registration caching.
mod oauth;
// The whole browser login against the fake Mixpanel, with a test acting as the browser.
mod login;
// The token store: permissions, symlinks, logout and remove.
mod store;
// Refresh: double-checked under the lock, exactly once for many concurrent callers.
mod refresh;
// Redaction of tokens in Debug output and error text.
mod redaction;
// /me: parsing, the disk and memory caches, the lazy default workspace.
mod me;
// Region probing, concurrent and sequential.
mod probe;
// The bridge file.
mod bridge;
// The fake Mixpanel the other modules talk to.
mod server;

/// The conformance corpus's frozen instant, 2026-01-15T12:00:00Z.
pub(crate) fn epoch_clock() -> VirtualClock {
    VirtualClock::new(UNIX_EPOCH + Duration::from_secs(1_768_478_400))
}

/// One transport for the whole test (real loopback HTTP).
pub(crate) fn transport() -> Arc<dyn Transport> {
    Arc::new(HyperTransport::new(Duration::from_secs(5)).unwrap())
}

/// A client for `base_url` (the fake server) with `clock` and no authenticator.
pub(crate) fn client_for(base_url: &str, clock: &VirtualClock) -> Client {
    ClientBuilder::new(Endpoints::with_overrides(Region::Us, Some(base_url), None).unwrap())
        .with_transport(transport())
        .with_clock(Arc::new(clock.clone()))
        .build()
        .unwrap()
}

/// A fresh temporary state directory.
pub(crate) fn state_dir() -> (tempfile::TempDir, crate::StateDir) {
    let directory = tempfile::tempdir().unwrap();
    let state_dir = crate::StateDir::new(directory.path().join("mp"));
    (directory, state_dir)
}
