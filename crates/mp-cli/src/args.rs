//! The command line, declared with clap's derive API.
//!
//! Only syntax lives here, except the flags of the `inspect` and `query` groups,
//! which live next to their code in `commands/`. What a flag means next to the
//! environment and the config file is decided in `credentials.rs`, and how output
//! looks in `output.rs`.

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

// Each command group's own flags live next to its code.
pub use crate::commands::account::AccountCommand;
pub use crate::commands::export::ExportCommand;
pub use crate::commands::inspect::InspectArgs;
pub use crate::commands::login::LoginArgs;
pub use crate::commands::project::ProjectCommand;
pub use crate::commands::query::QueryCommand;
pub use crate::commands::session::SessionArgs;
pub use crate::commands::target::TargetCommand;
pub use crate::commands::workspace::WorkspaceCommand;

/// `mp`: query Mixpanel from the command line.
#[derive(Debug, Parser)]
#[command(
    name = "mp",
    version,
    about = "Query Mixpanel from the command line",
    long_about = "Query Mixpanel from the command line.\n\n\
        Data goes to stdout; progress, hints and errors go to stderr. \
        Try it without credentials: `mp --sandbox inspect events`.",
    after_help = "Exit codes: 0 success, 1 failure, 2 authentication, 3 usage, 4 not found, \
        5 rate limited, 6 bad request, 130 interrupted."
)]
pub struct Cli {
    /// Options shared by every command.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by every command.
///
/// The four that choose what to talk to (`-a`, `-p`, `-w`, `-t`) go before the
/// subcommand, as in the official CLI: after it, `-p`, `-w` and `-t` are the
/// commands' own `--property`, `--where` and `--type`. The others are accepted
/// before or after any subcommand.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Use the saved account NAME (before the subcommand).
    #[arg(short = 'a', long, value_name = "NAME", value_parser = parse_name)]
    pub account: Option<String>,

    /// Use project ID (digits only; before the subcommand); `MP_PROJECT_ID` wins when both are set.
    #[arg(short = 'p', long, value_name = "ID", value_parser = parse_project_id)]
    pub project: Option<String>,

    /// Scope App API requests to workspace ID (before the subcommand); `MP_WORKSPACE_ID` wins when both are set.
    #[arg(short = 'w', long, value_name = "ID",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub workspace: Option<u64>,

    /// Use the saved target NAME, an account, project and workspace together (before the subcommand).
    #[arg(short = 't', long, value_name = "NAME", value_parser = parse_name,
          conflicts_with_all = ["account", "project", "workspace"])]
    pub target: Option<String>,

    /// Print nothing on stderr but errors.
    #[arg(short = 'q', long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Log to stderr: -v for info, -vv for debug, -vvv for trace.
    #[arg(short = 'v', long, global = true, action = ArgAction::Count)]
    pub verbose: u8,

    /// Output format [default: table when stdout is a terminal, json otherwise].
    #[arg(short = 'f', long, global = true, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,

    /// Filter the output with a jq program (only with json and jsonl).
    #[arg(long, global = true, value_name = "FILTER")]
    pub jq: Option<String>,

    /// Run against an in-process Mixpanel sandbox with its own credentials: no network, no config.
    #[arg(long, global = true)]
    pub sandbox: bool,
}

/// The output formats of every data command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Pretty-printed JSON (indent 2); lists are arrays.
    Json,
    /// One compact JSON value per line; a list prints one item per line.
    Jsonl,
    /// A text table for people.
    Table,
    /// Comma-separated values with a header row (RFC 4180 quoting).
    Csv,
    /// One item per line, without quoting.
    Plain,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Discover what a project contains: events, properties, saved funnels, cohorts, reports, Lexicon.
    Inspect(InspectArgs),

    /// Run live queries: segmentation, funnels, retention, JQL, counts, activity, saved reports.
    #[command(subcommand)]
    Query(QueryCommand),

    /// Export raw events and profiles: JSONL to stdout or a file, resumable, in parallel.
    #[command(subcommand)]
    Export(ExportCommand),

    /// Log in: browser (PKCE), or a service account or token from the environment; saves and activates the account.
    Login(LoginArgs),

    /// Manage saved accounts: list, add, update, use, show, remove, token, test, login, logout, bridge files.
    #[command(subcommand)]
    Account(AccountCommand),

    /// List the account's projects, or set its default project.
    #[command(subcommand)]
    Project(ProjectCommand),

    /// List a project's workspaces, or pin the active one.
    #[command(subcommand)]
    Workspace(WorkspaceCommand),

    /// Manage saved targets (account + project + workspace), applied with `-t NAME`.
    #[command(subcommand)]
    Target(TargetCommand),

    /// Show the resolved session (account, project, workspace, region) and where each value came from.
    Session(SessionArgs),

    /// Run the Mixpanel emulator.
    #[command(subcommand)]
    Sandbox(SandboxCommand),
}

/// `mp sandbox …`.
#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Serve the emulator on loopback until Ctrl-C; prints its URL and credentials on stdout.
    Serve(ServeArgs),
}

/// `mp sandbox serve` options.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,

    /// Seed of the synthetic dataset.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,

    /// Number of events in the dataset.
    #[arg(long, default_value_t = 10_000)]
    pub events: u64,

    /// Number of days the events span.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    pub days: u32,

    /// Last day of the dataset, YYYY-MM-DD [default: yesterday, UTC].
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub end: Option<String>,

    /// Inject a fault (repeatable); see the mp-sandbox docs for the SPEC syntax.
    #[arg(long = "fault", value_name = "SPEC")]
    pub faults: Vec<String>,

    /// How exports answer a client that accepts gzip. Only `gzip` is what Mixpanel does; the
    /// others are for benchmarks, where the sandbox's own compression would be measured.
    #[arg(long, value_enum, value_name = "MODE", default_value_t = ExportCompression::Gzip)]
    pub export_compression: ExportCompression,

    /// Lifetime of the OAuth access tokens the sandbox issues (`expires_in`), in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    pub oauth_token_ttl: u64,
}

/// `mp sandbox serve --export-compression`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportCompression {
    /// Real gzip, as Mixpanel sends.
    Gzip,
    /// Valid gzip around uncompressed blocks: clients still decode gzip, the sandbox does no deflate work.
    GzipStored,
    /// Never compressed, whatever the request accepts.
    Identity,
}

/// Account and target names: `^[A-Za-z0-9_-]{1,64}$`, as in the config file.
fn parse_name(value: &str) -> Result<String, String> {
    let valid = (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if valid {
        Ok(value.to_owned())
    } else {
        Err("names are 1 to 64 characters from A-Z, a-z, 0-9, `_` and `-`".to_owned())
    }
}

/// Project ids are kept as the digits the user typed; Mixpanel's ids are decimal.
pub(crate) fn parse_project_id(value: &str) -> Result<String, String> {
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(value.to_owned())
    } else {
        Err(format!(
            "invalid project id `{value}`: expected digits only"
        ))
    }
}

/// Checks the `YYYY-MM-DD` shape and that the day exists.
fn parse_date(value: &str) -> Result<String, String> {
    let bad = || format!("invalid date `{value}`: expected YYYY-MM-DD");
    let parts: Vec<&str> = value.split('-').collect();
    let [year, month, day] = parts.as_slice() else {
        return Err(bad());
    };
    if year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return Err(bad());
    }
    let (Ok(year), Ok(month), Ok(day)) = (
        year.parse::<u32>(),
        month.parse::<u32>(),
        day.parse::<u32>(),
    ) else {
        return Err(bad());
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if day == 0 || day > days_in_month {
        return Err(bad());
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn dates() {
        assert!(parse_date("2024-02-29").is_ok());
        assert!(parse_date("2023-02-29").is_err());
        assert!(parse_date("2024-13-01").is_err());
        assert!(parse_date("2024-1-01").is_err());
        assert!(parse_date("yesterday").is_err());
    }

    #[test]
    fn names_and_project_ids() {
        assert!(parse_name("prod_eu-1").is_ok());
        assert!(parse_name("").is_err());
        assert!(parse_name("a/b").is_err());
        assert!(parse_name(&"x".repeat(65)).is_err());
        assert!(parse_project_id("12345").is_ok());
        assert!(parse_project_id("12a").is_err());
        assert!(parse_project_id("").is_err());
    }
}
