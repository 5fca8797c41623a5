//! `mp-cli` is the `mp` command: it reads the command line and the environment,
//! composes the library crates, prints, and decides the exit code.
//!
//! It is the only crate of the workspace that reads environment variables (each
//! name is spelled once, in [`EnvVars`]), writes to stdout or stderr, or chooses a
//! process exit code ([`ExitStatus`], documented in `exit.rs`). It holds no Mixpanel
//! protocol knowledge of its own: requests, retries and errors belong to `mp-http`,
//! endpoints to `mp-discovery` and friends, and the emulator to `mp-sandbox`.
//!
//! Reading order: [`main`] parses the command line (`args.rs`), snapshots the
//! environment ([`Env`]), resolves credentials (`credentials.rs`) and runs a
//! command (`commands/`); data flows through the output layer (`output.rs`, with
//! `--jq` in `jq.rs`) and failures through `exit.rs`.

#![allow(clippy::disallowed_methods, clippy::print_stdout, clippy::print_stderr)]

mod args;
mod commands;
mod credentials;
mod env;
mod exit;
mod interact;
mod jq;
mod output;

pub use crate::{
    env::{Env, EnvVars},
    exit::ExitStatus,
};

use std::ffi::OsString;
use std::io::{IsTerminal, Write};

use clap::{CommandFactory, FromArgMatches};

use crate::args::{Cli, Command, SandboxCommand};
use crate::commands::Context;
use crate::exit::{Interrupted, classify, render};
use crate::output::{Messages, Output, OutputSettings};

/// Runs `mp` with `args` (the first being the program name) and the process environment.
pub fn main(args: impl IntoIterator<Item = OsString>) -> std::process::ExitCode {
    run(args, Env::from_process()).into()
}

/// Runs `mp` with `args` and an explicit environment snapshot.
pub fn run(args: impl IntoIterator<Item = OsString>, env: Env) -> ExitStatus {
    let no_color = env.is_set(EnvVars::NO_COLOR);
    let cli = match parse(args, no_color) {
        Ok(cli) => cli,
        Err(error) => {
            // `--help` and `--version` arrive here too, as "errors" printed to stdout.
            let _ = error.print();
            return if error.use_stderr() {
                ExitStatus::Usage
            } else {
                ExitStatus::Success
            };
        }
    };
    let messages = Messages::new(cli.global.quiet, no_color);
    init_tracing(cli.global.verbose, messages.color);

    match execute(cli, env, messages) {
        Ok(()) => ExitStatus::Success,
        Err(error) => {
            let classified = classify(&error);
            if classified.status == ExitStatus::Interrupted {
                let _ = writeln!(std::io::stderr(), "interrupted");
            } else if !classified.quiet {
                let _ = render(
                    &mut std::io::stderr().lock(),
                    &error,
                    classified.hint.as_deref(),
                    messages.color,
                );
            }
            classified.status
        }
    }
}

/// Parses the command line, with colour in help and errors only where allowed.
fn parse(args: impl IntoIterator<Item = OsString>, no_color: bool) -> Result<Cli, clap::Error> {
    let color = if no_color {
        clap::ColorChoice::Never
    } else {
        clap::ColorChoice::Auto
    };
    let mut command = Cli::command().color(color);
    let matches = command.try_get_matches_from_mut(args)?;
    Cli::from_arg_matches(&matches).map_err(|error| error.format(&mut command))
}

/// Logs go to stderr: warnings by default, then info, debug and trace with each `-v`.
fn init_tracing(verbose: u8, color: bool) {
    // The HTTP stack is chatty at debug level; only -vvv shows it.
    let directives = match verbose {
        0 => "warn",
        1 => "info,hyper=warn,hyper_util=warn,h2=warn,rustls=warn",
        2 => "debug,hyper=info,hyper_util=info,h2=info,rustls=info",
        _ => "trace",
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(directives))
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .with_target(verbose >= 2)
        .try_init();
}

/// Resolves the output settings, starts the runtime and runs the command.
fn execute(cli: Cli, env: Env, messages: Messages) -> anyhow::Result<()> {
    // Usage errors in `--format`/`--jq` are reported before anything is started.
    let settings = OutputSettings::resolve(
        cli.global.format,
        cli.global.jq.as_deref(),
        std::io::stdout().is_terminal(),
    )?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut context = Context {
        global: cli.global,
        env,
        messages,
        output: Output::stdout(settings),
    };
    let result = runtime.block_on(async {
        match &cli.command {
            // Ctrl-C is how a server is meant to stop, so `serve` handles it itself.
            Command::Sandbox(SandboxCommand::Serve(serve)) => {
                commands::sandbox::serve(&mut context, serve).await
            }
            Command::Inspect(inspect) => {
                interruptible(commands::inspect::run(&mut context, inspect)).await
            }
            Command::Query(query) => interruptible(commands::query::run(&mut context, query)).await,
            // An export handles Ctrl-C itself, to leave a resumable output behind.
            Command::Export(export) => commands::export::run(&mut context, export).await,
            Command::Login(login) => interruptible(commands::login::run(&mut context, login)).await,
            Command::Account(account) => {
                interruptible(commands::account::run(&mut context, account)).await
            }
            Command::Project(project) => {
                interruptible(commands::project::run(&mut context, project)).await
            }
            Command::Workspace(workspace) => {
                interruptible(commands::workspace::run(&mut context, workspace)).await
            }
            Command::Target(target) => {
                interruptible(commands::target::run(&mut context, target)).await
            }
            Command::Session(session) => {
                interruptible(commands::session::run(&mut context, session)).await
            }
        }
    });
    // Do not wait for tasks that are still running (an interrupted request, say).
    runtime.shutdown_background();
    result
}

/// Runs `command` until it finishes or Ctrl-C is pressed, whichever comes first.
async fn interruptible(command: impl Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    // `biased` polls the signal first, so its handler is installed before the command
    // sends anything; otherwise an early Ctrl-C would kill the process with the
    // default action instead of exiting 130.
    tokio::select! {
        biased;
        signal = tokio::signal::ctrl_c() => {
            signal?;
            Err(Interrupted.into())
        }
        result = command => result,
    }
}
