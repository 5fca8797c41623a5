//! The `mp` binary, run as a user would run it, against an mp-sandbox on loopback.

#![allow(clippy::disallowed_methods, clippy::print_stdout, clippy::print_stderr)]

// Shared helpers: the sandbox fixture and the `mp` process runner.
mod support;

// `mp inspect events` with environment credentials and with `--sandbox`.
mod inspect;
// Output formats, `--jq`, and stdout closed early.
mod output;
// The process contract: usage errors, exit codes, `--version`, Ctrl-C.
mod process;
// `mp sandbox serve`.
mod sandbox_serve;
