//! `mp session`: the session a command would use — account, project, workspace, region — and
//! where each value came from.
//!
//! Unlike the official CLI's `mp session`, which shows only the persisted `[active]` table, this
//! is the *resolved* session: the environment, the global flags (`-a`, `-p`, `-w`, `-t`), a
//! target, the bridge file and the config, each value labelled with its source and with the
//! lower-priority values it shadowed. Nothing is sent to Mixpanel: names come from the cached
//! `/me`, when there is one.

use clap::Args;
use serde_json::{Value, json};

use mp_auth::{Resolved, Shadowed};

use super::Context;
use crate::credentials::Credentials;

/// `mp session`.
#[derive(Debug, Args)]
pub struct SessionArgs {
    /// Show only the bridge file in use (path, account, pins, header names).
    #[arg(long)]
    pub bridge: bool,
}

/// Runs `mp session`.
pub async fn run(context: &mut Context, args: &SessionArgs) -> anyhow::Result<()> {
    let credentials = Credentials::load(&context.env, &context.messages)?;
    if args.bridge {
        return bridge(context, &credentials);
    }
    let session = credentials.resolve(&context.global, &context.messages)?;
    let account = &session.account.value;
    let me = credentials.me_cache(account).peek(&account.name);
    let project_name = session.project.as_ref().and_then(|project| {
        me.as_ref()?
            .project(&project.value)
            .and_then(|found| found.name.clone())
    });
    let workspace_name = session.workspace.as_ref().and_then(|workspace| {
        me.as_ref()?
            .workspaces
            .iter()
            .find(|found| found.id == workspace.value)
            .and_then(|found| found.name.clone())
    });
    let data = json!({
        "account": {
            "name": account.name,
            "type": account.account_type().as_str(),
            "region": account.region.as_str(),
            "source": session.account.source.as_str(),
            "detail": session.account.detail,
            "shadowed": shadowed(&session.account.shadowed),
        },
        "project": session.project.as_ref().map(|project| json!({
            "id": project.value,
            "name": project_name,
            "source": project.source.as_str(),
            "detail": project.detail,
            "shadowed": shadowed(&project.shadowed),
        })),
        "workspace": session.workspace.as_ref().map(|workspace| json!({
            "id": workspace.value,
            "name": workspace_name,
            "source": workspace.source.as_str(),
            "detail": workspace.detail,
            "shadowed": shadowed(&workspace.shadowed),
        })),
        "region": session.region().as_str(),
        "target": session.target.as_ref().map(|target| json!({
            "name": target.value.name,
            "source": target.source.as_str(),
        })),
        "bridge": credentials.bridge().map(|(path, _)| path.display().to_string()),
        "user": me.as_ref().and_then(|me| me.user_email.clone()),
    });
    let headers: Vec<String> = ["axis", "value", "source", "detail"]
        .map(str::to_owned)
        .to_vec();
    let mut rows = vec![row(
        "account",
        Value::from(format!(
            "{} ({}, {})",
            account.name,
            account.account_type(),
            account.region
        )),
        Some(&session.account),
    )];
    rows.push(match &session.project {
        Some(project) => row(
            "project",
            Value::from(match &project_name {
                Some(name) => format!("{} ({name})", project.value),
                None => project.value.clone(),
            }),
            Some(project),
        ),
        None => row::<String>("project", Value::from("(none)"), None),
    });
    rows.push(match &session.workspace {
        Some(workspace) => row("workspace", Value::from(workspace.value), Some(workspace)),
        None => vec![
            Value::from("workspace"),
            Value::from("(the project's default, resolved on first use)"),
            Value::Null,
            Value::Null,
        ],
    });
    rows.push(vec![
        Value::from("region"),
        Value::from(session.region().as_str()),
        Value::from("account"),
        Value::Null,
    ]);
    if let Some(email) = me.as_ref().and_then(|me| me.user_email.clone()) {
        rows.push(vec![
            Value::from("user"),
            Value::from(email),
            Value::from("cached /me"),
            Value::Null,
        ]);
    }
    context.output.emit_table(&data, &headers, &rows)
}

fn row<T>(axis: &str, value: Value, resolved: Option<&Resolved<T>>) -> Vec<Value> {
    vec![
        Value::from(axis),
        value,
        resolved.map_or(Value::Null, |resolved| {
            Value::from(resolved.source.as_str())
        }),
        resolved
            .and_then(|resolved| resolved.detail.clone())
            .map_or(Value::Null, Value::from),
    ]
}

fn shadowed(entries: &[Shadowed]) -> Value {
    Value::Array(
        entries
            .iter()
            .map(|entry| json!({"source": entry.source.as_str(), "value": entry.value}))
            .collect(),
    )
}

fn bridge(context: &mut Context, credentials: &Credentials) -> anyhow::Result<()> {
    let data = match credentials.bridge() {
        None => {
            context.messages.note("No bridge file found.");
            json!({"bridge": null})
        }
        Some((path, bridge)) => json!({"bridge": {
            "path": path.display().to_string(),
            "version": 2,
            "account": {
                "name": bridge.account.name,
                "type": bridge.account.account_type().as_str(),
                "region": bridge.account.region.as_str(),
            },
            "project": bridge.project,
            "workspace": bridge.workspace,
            // Header values can be credentials; only the names are shown.
            "headers": bridge.headers.keys().collect::<Vec<_>>(),
        }}),
    };
    context.output.emit(&data, "value")
}
