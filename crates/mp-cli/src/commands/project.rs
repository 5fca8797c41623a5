//! `mp project …`: the projects an account can see (from `/me`), and its default project.
//!
//! Unlike the official CLI, `list` honours the global `-a`/`-t` flags and the environment (it
//! lists for the session's account), and `use` warns when the ID is not among the projects the
//! account is known to see.

use clap::Subcommand;
use serde_json::{Value, json};

use mp_auth::{MeRefresh, Source};

use super::Context;
use crate::credentials::Credentials;
use crate::exit::{CliError, ExitStatus};

/// `mp project …`.
#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// List the projects the session's account can see.
    List {
        /// Ask Mixpanel again instead of using the answer cached for 24 hours.
        #[arg(long)]
        refresh: bool,
    },
    /// Set the session's account's default project (and clear the active workspace).
    Use {
        /// The project ID.
        #[arg(value_parser = crate::args::parse_project_id)]
        id: String,
    },
    /// Show the session's project and where it came from.
    Show,
}

/// Runs `mp project …`.
pub async fn run(context: &mut Context, command: &ProjectCommand) -> anyhow::Result<()> {
    let credentials = Credentials::load(&context.env, &context.messages)?;
    match command {
        ProjectCommand::List { refresh } => list(context, &credentials, *refresh).await,
        ProjectCommand::Use { id } => use_project(context, &credentials, id),
        ProjectCommand::Show => show(context, &credentials),
    }
}

/// `/me` of the session's account.
pub(crate) async fn session_me(
    context: &Context,
    credentials: &Credentials,
    refresh: bool,
) -> anyhow::Result<(mp_auth::Session, std::sync::Arc<mp_auth::Me>)> {
    let session = credentials.resolve(&context.global, &context.messages)?;
    let account = &session.account.value;
    credentials.import_bridge_tokens_for(account).await?;
    let client = credentials.client_for(account, &context.messages)?;
    let refresh = if refresh {
        MeRefresh::Force
    } else {
        MeRefresh::IfStale
    };
    let me = credentials
        .me_cache(account)
        .get(&client, &account.name, refresh)
        .await?;
    Ok((session, me))
}

async fn list(
    context: &mut Context,
    credentials: &Credentials,
    refresh: bool,
) -> anyhow::Result<()> {
    let (session, me) = session_me(context, credentials, refresh).await?;
    let active = session
        .project
        .as_ref()
        .map(|project| project.value.clone());
    let mut projects: Vec<&mp_auth::MeProject> = me.projects.iter().collect();
    projects.sort_by_key(|project| {
        (
            project.name.clone().unwrap_or_default().to_lowercase(),
            project.id.clone(),
        )
    });
    if projects.is_empty() {
        context
            .messages
            .note("No projects are accessible to this account.");
    }
    let data: Vec<Value> = projects
        .iter()
        .map(|project| {
            let organization = project
                .organization_id
                .as_deref()
                .and_then(|id| me.organization(id))
                .and_then(|org| org.name.clone());
            json!({
                "id": project.id,
                "name": project.name,
                "organization_id": project.organization_id,
                "organization": organization,
                "timezone": project.timezone,
                "region": project.region().map(|region| region.as_str()),
                "is_active": active.as_deref() == Some(project.id.as_str()),
            })
        })
        .collect();
    let headers: Vec<String> = ["active", "id", "name", "organization", "region"]
        .map(str::to_owned)
        .to_vec();
    let rows: Vec<Vec<Value>> = data
        .iter()
        .map(|item| {
            vec![
                Value::from(if item["is_active"] == Value::Bool(true) {
                    "*"
                } else {
                    ""
                }),
                item["id"].clone(),
                item["name"].clone(),
                item["organization"].clone(),
                item["region"].clone(),
            ]
        })
        .collect();
    context
        .output
        .emit_table(&Value::Array(data), &headers, &rows)
}

fn use_project(context: &mut Context, credentials: &Credentials, id: &str) -> anyhow::Result<()> {
    let session = credentials.resolve(&context.global, &context.messages);
    // The account: the session's when it is a saved one, else the active one.
    let name = match &session {
        Ok(session)
            if credentials
                .config()
                .account(&session.account.value.name)
                .is_some() =>
        {
            session.account.value.name.clone()
        }
        _ => credentials
            .config()
            .active_account()
            .map(str::to_owned)
            .ok_or_else(|| {
                CliError::new(
                    ExitStatus::NotFound,
                    "no saved account to set the project of",
                )
                .with_hint("log in with `mp login`, or name a saved account with `-a NAME`")
            })?,
    };
    let account = credentials.account(&name)?;
    if let Some(me) = credentials.me_cache(&account).peek(&name)
        && me.project(id).is_none()
    {
        context.messages.warn(&format!(
            "project {id} is not among the projects account `{name}` could see last time (`mp project list --refresh` asks again)"
        ));
    }
    let is_active = credentials.config().active_account() == Some(name.as_str());
    let cleared = credentials.config_store()?.edit(|document| {
        document.set_default_project(&name, id)?;
        // `[active] workspace` belongs to the active account's default project.
        if is_active {
            document.clear_active_workspace()
        } else {
            Ok(None)
        }
    })?;
    context.messages.note(&format!(
        "Set default_project for account '{name}' to '{id}'"
    ));
    if let Some(workspace) = cleared {
        context.messages.note(&format!(
            "Cleared the active workspace ({workspace}), which belonged to the previous project."
        ));
    }
    if let Ok(session) = &session
        && let Some(project) = &session.project
        && project.source < Source::Bridge
        && project.value != id
    {
        context.messages.warn(&format!(
            "this session still uses project {} from the {}",
            project.value,
            source_label(project.source, project.detail.as_deref())
        ));
    }
    Ok(())
}

/// "environment (`MP_PROJECT_ID`)", "flag", "target `prod`", …
pub(crate) fn source_label(source: Source, detail: Option<&str>) -> String {
    match (source, detail) {
        (Source::Env, Some(variables)) => format!("environment (`{variables}`)"),
        (Source::Env, None) => "environment".to_owned(),
        (Source::Flag, _) => "command line".to_owned(),
        (Source::Target, Some(name)) => format!("target `{name}`"),
        (Source::Target, None) => "target".to_owned(),
        (Source::Bridge, _) => "bridge file".to_owned(),
        (Source::Config, _) => "config file".to_owned(),
    }
}

fn show(context: &mut Context, credentials: &Credentials) -> anyhow::Result<()> {
    let session = credentials.resolve(&context.global, &context.messages)?;
    let Some(project) = &session.project else {
        context.messages.note(&format!(
            "No project for account `{}`.",
            session.account.value.name
        ));
        return context.output.emit(&Value::Null, "id");
    };
    let me = credentials
        .me_cache(&session.account.value)
        .peek(&session.account.value.name);
    let name = me
        .as_ref()
        .and_then(|me| me.project(&project.value))
        .and_then(|found| found.name.clone());
    let data = json!({
        "id": project.value,
        "name": name,
        "account": session.account.value.name,
        "source": project.source.as_str(),
        "detail": project.detail,
    });
    context.output.emit(&data, "value")
}
