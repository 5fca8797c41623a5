//! The `mp` binary, run as a user would run it, against an mp-sandbox on loopback.

#![allow(clippy::disallowed_methods, clippy::print_stdout, clippy::print_stderr)]

// Shared helpers: the sandbox fixture and the `mp` process runner.
mod support;
// A home shared by several `mp` runs, the test browser and the output transcript (auth tests).
mod home;

// Logins (browser PKCE, service account, token), tokens, refresh, accounts, bridges, secret scan.
mod auth;
// Every config write of the auth commands keeps the file's comments.
mod config_edits;
// Session resolution as the CLI wires it: every axis and source, env-over-flag notes.
mod session;

// `mp export events` and `mp export profiles`: the exported data against the dataset.
mod export;
// Runs a command in every format and checks that the formats agree.
mod formats;
// `mp inspect …`: every command in every format, the discovery cache, bad input.
mod inspect;
// Output formats, `--jq`, and stdout closed early.
mod output;
// `mp query …`: every command in every format against the dataset, bad input.
mod query;
// The process contract: usage errors, exit codes, `--version`, Ctrl-C.
mod process;
// `mp sandbox serve`.
mod sandbox_serve;
