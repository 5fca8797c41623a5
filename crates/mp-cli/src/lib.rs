//! `mp-cli`: placeholder.
#![allow(clippy::disallowed_methods)]
/// Runs the CLI.
pub fn main(_args: impl IntoIterator<Item = std::ffi::OsString>) -> std::process::ExitCode {
    std::process::ExitCode::SUCCESS
}
