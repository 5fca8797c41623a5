//! The one integration-test binary of `mp-tests`: cross-crate scenarios, one module per area.

#![allow(clippy::disallowed_methods, clippy::print_stdout, clippy::print_stderr)]

// The conformance corpus: the canonicalizer self-test and the ratchet over the vendored vectors.
mod conformance;
