//! The one integration-test binary of `mp-tests`: cross-crate scenarios, one module per area.

#![allow(clippy::disallowed_methods, clippy::print_stdout, clippy::print_stderr)]

// The conformance corpus: the canonicalizer self-test and the ratchet over the vendored vectors.
mod conformance;
// Issue 4's acceptance: segmentation and funnel counts against the sandbox's exported events.
mod query_acceptance;
// Issue 3: mp-auth's browser login and locked refresh against mp-sandbox's OAuth server.
mod auth_sandbox;
// Issue 5's acceptance: chunked exports and profile streams against the sandbox's dataset.
mod export_acceptance;
