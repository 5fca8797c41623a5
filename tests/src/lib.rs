//! `mp-tests`: cross-crate scenarios for the `mp` workspace, and the conformance runner.
//!
//! This package is test support, not a library for users: it may read the environment and print (the runner's
//! command-line entry point prints its report), and it is never published.
//!
//! Main items, in reading order:
//!
//! - [`conformance::run`] and [`conformance::main_from_args`]: replay the wire vectors recorded from Mixpanel's
//!   official Python client (vendored in `tests/conformance/`) against our crates, and report per capability.
//!   `cargo xtask conformance` and the `conformance` integration test both call them.
//! - [`conformance::Report`]: what a run found, as JSON or text.

#![allow(clippy::disallowed_methods, clippy::print_stdout, clippy::print_stderr)]

pub mod conformance;
