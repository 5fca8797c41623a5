//! `mp target …`: saved (account, project, optional workspace) triples, applied per command
//! with `-t NAME` (or `MP_TARGET`) or made the persisted default with `mp target use`.

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::Context;
use super::login::parse_account_name;
use crate::credentials::Credentials;
use crate::exit::{CliError, ExitStatus};
use crate::interact;

/// `mp target …`.
#[derive(Debug, Subcommand)]
pub enum TargetCommand {
    /// Save a target.
    Add(TargetAddArgs),
    /// Make a target the persisted default: its account becomes active, its project the
    /// account's default, its workspace the active one.
    Use {
        /// The target.
        #[arg(value_parser = parse_account_name)]
        name: String,
    },
    /// List the saved targets.
    List,
    /// Show a target.
    Show {
        /// The target.
        #[arg(value_parser = parse_account_name)]
        name: String,
    },
    /// Remove a target.
    Remove {
        /// The target.
        #[arg(value_parser = parse_account_name)]
        name: String,
        /// Do not ask for confirmation (it is asked only on a terminal).
        #[arg(short = 'y', long)]
        yes: bool,
    },
}

/// `mp target add`.
#[derive(Debug, Args)]
pub struct TargetAddArgs {
    /// The target's name.
    #[arg(value_parser = parse_account_name)]
    pub name: String,
    /// Its account (a saved one).
    #[arg(short = 'a', long, value_name = "NAME", value_parser = parse_account_name)]
    pub account: String,
    /// Its project.
    #[arg(short = 'p', long, value_name = "ID", value_parser = crate::args::parse_project_id)]
    pub project: String,
    /// Its workspace.
    #[arg(short = 'w', long, value_name = "ID", value_parser = clap::value_parser!(u64).range(1..))]
    pub workspace: Option<u64>,
}

/// Runs `mp target …`.
pub async fn run(context: &mut Context, command: &TargetCommand) -> anyhow::Result<()> {
    let credentials = Credentials::load(&context.env, &context.messages)?;
    let messages = context.messages;
    match command {
        TargetCommand::Add(args) => {
            let target =
                mp_config::Target::new(&args.name, &args.account, &args.project, args.workspace)?;
            credentials
                .config_store()?
                .edit(|document| document.add_target(&target))?;
            messages.note(&format!("Added target: {}", args.name));
            Ok(())
        }
        TargetCommand::Use { name } => {
            credentials
                .config_store()?
                .edit(|document| document.apply_target(name))?;
            messages.note(&format!("Active target: {name}"));
            Ok(())
        }
        TargetCommand::List => {
            let data: Vec<Value> = credentials
                .config()
                .targets()
                .iter()
                .map(describe)
                .collect();
            if data.is_empty() {
                messages.note("No targets configured. Add one with `mp target add NAME --account A --project P`.");
            }
            let headers: Vec<String> = ["name", "account", "project", "workspace"]
                .map(str::to_owned)
                .to_vec();
            let rows: Vec<Vec<Value>> = data
                .iter()
                .map(|item| headers.iter().map(|key| item[key].clone()).collect())
                .collect();
            context
                .output
                .emit_table(&Value::Array(data), &headers, &rows)
        }
        TargetCommand::Show { name } => {
            let target = credentials
                .config()
                .target(name)
                .ok_or_else(|| not_found(&credentials, name))?;
            context.output.emit(&describe(target), "value")
        }
        TargetCommand::Remove { name, yes } => {
            if credentials.config().target(name).is_none() {
                return Err(not_found(&credentials, name).into());
            }
            if !yes
                && interact::interactive()
                && !interact::confirm(&format!("Remove target '{name}'?"))?
            {
                messages.note("Aborted.");
                return Ok(());
            }
            credentials
                .config_store()?
                .edit(|document| document.remove_target(name))?;
            messages.note(&format!("Removed target: {name}"));
            Ok(())
        }
    }
}

fn describe(target: &mp_config::Target) -> Value {
    json!({
        "name": target.name(),
        "account": target.account(),
        "project": target.project(),
        "workspace": target.workspace(),
    })
}

fn not_found(credentials: &Credentials, name: &str) -> CliError {
    let names: Vec<&str> = credentials
        .config()
        .targets()
        .iter()
        .map(mp_config::Target::name)
        .collect();
    let error = CliError::new(ExitStatus::NotFound, format!("target `{name}` not found"));
    if names.is_empty() {
        error.with_hint(
            "no targets are configured: add one with `mp target add NAME --account A --project P`",
        )
    } else {
        error.with_hint(format!("known targets: {}", names.join(", ")))
    }
}
