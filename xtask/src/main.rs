//! `cargo xtask`: developer tooling for the mp workspace, in Rust rather than shell.
//!
//! - `cargo xtask ci` runs what `.ci/run` runs: rustfmt, clippy and the tests.
//! - `cargo xtask conformance [--vectors DIR] [--filter GLOB] [--report json|text]` runs
//!   the recorded wire vectors through the conformance runner of the `mp-tests` package.
//! - `cargo xtask demo` builds `mp` and takes a short tour of it against `--sandbox`.
//! - `cargo xtask bench [--quick]` measures `mp` against Mixpanel's official client and
//!   `curl` on a sandbox and writes `BENCHMARKS.md` (a measured run, not a test).
//!
//! The tidy checks (file headers, dependency rules, no placeholders, `.ci/run` in step
//! with `cargo xtask ci`) are `#[test]`s in `tidy.rs`, so a green `cargo test` means
//! they pass.

#![allow(clippy::disallowed_methods, clippy::print_stdout, clippy::print_stderr)]

mod bench;
mod ci;
mod demo;
#[cfg(test)]
mod tidy;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  ci            run rustfmt --check, clippy -D warnings and the tests, as .ci/run does
  conformance   run the conformance vectors: [--vectors DIR] [--filter GLOB] [--report json|text]
  demo          build mp and tour it against the built-in sandbox
  bench         measure mp against the official client and curl, write BENCHMARKS.md: [--quick]
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match command.as_str() {
        "ci" if rest.is_empty() => ci::run(),
        "demo" if rest.is_empty() => demo::run(),
        "bench" => bench::run(rest),
        "conformance" => return conformance(rest),
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!(
                "error: unexpected arguments `{}`\n\n{USAGE}",
                args.join(" ")
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Hands the arguments to the runner, which owns their parsing and the exit code.
///
/// Note that a relative `--vectors DIR` is relative to where `cargo xtask` was run
/// (cargo keeps that directory); the default corpus is found from anywhere.
fn conformance(args: &[String]) -> ExitCode {
    match mp_tests::conformance::main_from_args(args.to_vec()) {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// The workspace root: the parent of this crate's directory.
pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in a subdirectory of the workspace")
        .to_path_buf()
}
