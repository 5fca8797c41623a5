//! `mp workspace …`: the workspaces (data views) of a project, from `/me`, and the active one.
//!
//! A session without a workspace resolves it lazily, on the first workspace-scoped request, to
//! the project's default; `show` says which one that would be when `/me` is cached.

use clap::Subcommand;
use serde_json::{Value, json};

use super::Context;
use super::project::{session_me, source_label};
use crate::credentials::Credentials;
use crate::exit::{CliError, ExitStatus};

/// `mp workspace …`.
#[derive(Debug, Subcommand)]
pub enum WorkspaceCommand {
    /// List the workspaces of the session's project (or of `--project`).
    List {
        /// The project [default: the session's].
        #[arg(short = 'p', long, value_name = "ID", value_parser = crate::args::parse_project_id)]
        project: Option<String>,
        /// Ask Mixpanel again instead of using the answer cached for 24 hours.
        #[arg(long)]
        refresh: bool,
    },
    /// Pin the active workspace (`[active] workspace`).
    Use {
        /// The workspace ID.
        #[arg(value_parser = clap::value_parser!(u64).range(1..))]
        id: u64,
    },
    /// Show the session's workspace and where it came from.
    Show,
}

/// Runs `mp workspace …`.
pub async fn run(context: &mut Context, command: &WorkspaceCommand) -> anyhow::Result<()> {
    let credentials = Credentials::load(&context.env, &context.messages)?;
    match command {
        WorkspaceCommand::List { project, refresh } => {
            list(context, &credentials, project.as_deref(), *refresh).await
        }
        WorkspaceCommand::Use { id } => {
            let Some(account) = credentials.config().active_account() else {
                return Err(CliError::new(
                    ExitStatus::NotFound,
                    "no active account: the active workspace belongs to the active account's default project",
                )
                .with_hint("make an account active with `mp account use NAME`, or pass `-w ID` per command")
                .into());
            };
            credentials
                .config_store()?
                .edit(|document| document.set_active_workspace(*id))?;
            context
                .messages
                .note(&format!("Active workspace: {id} (for account '{account}')"));
            Ok(())
        }
        WorkspaceCommand::Show => show(context, &credentials),
    }
}

async fn list(
    context: &mut Context,
    credentials: &Credentials,
    project: Option<&str>,
    refresh: bool,
) -> anyhow::Result<()> {
    let (session, me) = session_me(context, credentials, refresh).await?;
    let project = match project {
        Some(project) => project.to_owned(),
        None => session.require_project()?.value.clone(),
    };
    let active = session.workspace.as_ref().map(|workspace| workspace.value);
    let mut workspaces = me.workspaces_of(&project);
    workspaces.sort_by_key(|workspace| {
        (
            workspace.name.clone().unwrap_or_default().to_lowercase(),
            workspace.id,
        )
    });
    if workspaces.is_empty() {
        context
            .messages
            .note(&format!("`/me` lists no workspaces for project {project}."));
    }
    let data: Vec<Value> = workspaces
        .iter()
        .map(|workspace| {
            json!({
                "id": workspace.id,
                "name": workspace.name,
                "project_id": project,
                "is_default": workspace.is_default.unwrap_or(false),
                "is_active": active == Some(workspace.id),
            })
        })
        .collect();
    let headers: Vec<String> = ["active", "id", "name", "default"]
        .map(str::to_owned)
        .to_vec();
    let star = |flag: &Value| Value::from(if *flag == Value::Bool(true) { "*" } else { "" });
    let rows: Vec<Vec<Value>> = data
        .iter()
        .map(|item| {
            vec![
                star(&item["is_active"]),
                item["id"].clone(),
                item["name"].clone(),
                star(&item["is_default"]),
            ]
        })
        .collect();
    context
        .output
        .emit_table(&Value::Array(data), &headers, &rows)
}

fn show(context: &mut Context, credentials: &Credentials) -> anyhow::Result<()> {
    let session = credentials.resolve(&context.global, &context.messages)?;
    let data = match &session.workspace {
        Some(workspace) => json!({
            "id": workspace.value,
            "source": workspace.source.as_str(),
            "detail": workspace.detail,
        }),
        None => {
            // The lazy default, when a cached `/me` already knows it (no request).
            let default = session.project.as_ref().and_then(|project| {
                credentials
                    .me_cache(&session.account.value)
                    .peek(&session.account.value.name)
                    .and_then(|me| me.default_workspace(&project.value))
            });
            context.messages.note(&match default {
                Some(id) => format!("No workspace is set; the project's default ({id}) is used on first use."),
                None => "No workspace is set; it will be resolved to the project's default on first use.".to_owned(),
            });
            json!({"id": default, "source": default.map(|_| "default"), "detail": null})
        }
    };
    if let Some(workspace) = &session.workspace {
        tracing::debug!(
            source = %source_label(workspace.source, workspace.detail.as_deref()),
            "workspace"
        );
    }
    context.output.emit(&data, "value")
}
