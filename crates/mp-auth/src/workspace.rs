//! The lazy default workspace: a session without a workspace gets one on the first
//! workspace-scoped call.
//!
//! [`WorkspaceResolver::resolve_workspace_id`] asks, in order, and stops at the first answer:
//!
//! | # | source | request |
//! |---|---|---|
//! | 1 | the workspace pinned on the client | none |
//! | 2 | this resolver's memory (per project) | none |
//! | 3 | a warm [`MeCache`] of the account (peek only) | none |
//! | 4 | `GET /api/app/projects/{id}/workspaces/public` | one |
//! | 5 | `GET /api/app/projects/metadata/index` (service accounts that may not list workspaces) | one |
//! | — | nothing: [`Error::NoWorkspaces`] | |
//!
//! A 403 or 404 from source 4 or 5 means "this source cannot answer for these credentials" and
//! moves on; any other failure (401, 429, 5xx, network) is returned. The order and the
//! fallthrough are those of Mixpanel's official client, whose recorded vectors check them. The
//! pick among a project's workspaces is [`select_workspace`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use mp_http::{ApiFamily, Client, ErrorKind, Request, encode_path_segment};

use crate::{Error, MeCache};

/// What [`select_workspace`] looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkspaceView {
    /// The workspace id.
    pub id: u64,
    /// Whether it is the project's default.
    pub is_default: Option<bool>,
    /// Whether it is visible (`None`: not said, counts as visible).
    pub is_visible: Option<bool>,
}

/// Picks a project's default workspace: the one marked default, else the first not marked
/// hidden, else the first; `None` when there are none.
pub fn select_workspace(views: &[WorkspaceView]) -> Option<u64> {
    views
        .iter()
        .find(|view| view.is_default == Some(true))
        .or_else(|| views.iter().find(|view| view.is_visible != Some(false)))
        .or_else(|| views.first())
        .map(|view| view.id)
}

/// A workspace from `/api/app/projects/{id}/workspaces/public`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicWorkspace {
    /// Its id.
    pub id: u64,
    /// Its name.
    pub name: Option<String>,
    /// Its project.
    pub project_id: Option<u64>,
    /// Whether it is the project's default.
    pub is_default: Option<bool>,
    /// Whether it is the global view.
    pub is_global: Option<bool>,
    /// Whether it is visible.
    pub is_visible: Option<bool>,
}

impl PublicWorkspace {
    fn from_json(value: &Value) -> Option<PublicWorkspace> {
        let object = value.as_object()?;
        let integer = |key: &str| match object.get(key)? {
            Value::Number(number) => number.as_u64(),
            Value::String(text) => text.parse().ok(),
            _ => None,
        };
        Some(PublicWorkspace {
            id: integer("id")?,
            name: object
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_owned),
            project_id: integer("project_id"),
            is_default: object.get("is_default").and_then(Value::as_bool),
            is_global: object.get("is_global").and_then(Value::as_bool),
            is_visible: object.get("is_visible").and_then(Value::as_bool),
        })
    }

    fn view(&self) -> WorkspaceView {
        WorkspaceView {
            id: self.id,
            is_default: self.is_default,
            is_visible: self.is_visible,
        }
    }
}

/// `GET /api/app/projects/{project}/workspaces/public`: every workspace of the client's project.
pub async fn list_public_workspaces(client: &Client) -> Result<Vec<PublicWorkspace>, Error> {
    let project_id = client.project_id().ok_or(Error::NoProjectForWorkspace)?;
    let path = format!(
        "/projects/{}/workspaces/public",
        encode_path_segment(project_id)
    );
    let results = client
        .app_results(Request::get(ApiFamily::App, path))
        .await?;
    let Value::Array(items) = results else {
        return Err(Error::Http(
            mp_http::Error::new(
                ErrorKind::InvalidResponse,
                "the workspace list is not a list",
            )
            .with_detail("results_type", json_type(&results)),
        ));
    };
    Ok(items
        .iter()
        .filter_map(PublicWorkspace::from_json)
        .collect())
}

/// `GET /api/app/projects/metadata/index`: per project id, its metadata (including its
/// `workspaces`), for every project the credentials can see. A non-object answer is an empty map.
pub async fn projects_metadata_index(client: &Client) -> Result<Map<String, Value>, Error> {
    let results = client
        .app_results(Request::get(ApiFamily::App, "/projects/metadata/index"))
        .await?;
    Ok(match results {
        Value::Object(index) => index,
        other => {
            tracing::warn!(
                results_type = json_type(&other),
                "the projects metadata index is not an object; treating it as empty"
            );
            Map::new()
        }
    })
}

/// Resolves and remembers the default workspace of each project (see the module table).
#[derive(Debug, Default)]
pub struct WorkspaceResolver {
    me: Option<(Arc<MeCache>, String)>,
    /// Project id → resolved workspace. Kept for the life of the resolver, across clients.
    resolved: Mutex<HashMap<String, u64>>,
}

impl WorkspaceResolver {
    /// A resolver without a `/me` cache.
    pub fn new() -> WorkspaceResolver {
        WorkspaceResolver::default()
    }

    /// A resolver that first consults `me`'s cached answer for `account` (no request).
    pub fn with_me_cache(me: Arc<MeCache>, account: impl Into<String>) -> WorkspaceResolver {
        WorkspaceResolver {
            me: Some((me, account.into())),
            resolved: Mutex::new(HashMap::new()),
        }
    }

    /// The workspace of `client`'s project: the pinned one, else the remembered or discovered
    /// default.
    pub async fn resolve_workspace_id(&self, client: &Client) -> Result<u64, Error> {
        if let Some(pinned) = client.workspace_id() {
            return Ok(pinned);
        }
        let project_id = client
            .project_id()
            .ok_or(Error::NoProjectForWorkspace)?
            .to_owned();
        if let Some(known) = self.remembered(&project_id) {
            return Ok(known);
        }
        if let Some((me, account)) = &self.me
            && let Some(cached) = me.peek(account)
            && let Some(id) = cached.default_workspace(&project_id)
        {
            return Ok(self.remember(&project_id, id));
        }
        let public = match list_public_workspaces(client).await {
            Ok(workspaces) => workspaces,
            Err(error) if cannot_answer(&error) => Vec::new(),
            Err(error) => return Err(error),
        };
        let views: Vec<WorkspaceView> = public.iter().map(PublicWorkspace::view).collect();
        if let Some(id) = select_workspace(&views) {
            return Ok(self.remember(&project_id, id));
        }
        if let Some(id) = workspace_from_metadata_index(client, &project_id).await? {
            return Ok(self.remember(&project_id, id));
        }
        Err(Error::NoWorkspaces { project_id })
    }

    /// The default workspace of `client`'s project with its details, from
    /// `/workspaces/public` (remembered like [`WorkspaceResolver::resolve_workspace_id`]).
    pub async fn resolve_workspace(&self, client: &Client) -> Result<PublicWorkspace, Error> {
        let project_id = client
            .project_id()
            .ok_or(Error::NoProjectForWorkspace)?
            .to_owned();
        let public = list_public_workspaces(client).await?;
        let views: Vec<WorkspaceView> = public.iter().map(PublicWorkspace::view).collect();
        let chosen = select_workspace(&views)
            .and_then(|id| public.iter().find(|workspace| workspace.id == id))
            .cloned()
            .ok_or(Error::NoWorkspaces {
                project_id: project_id.clone(),
            })?;
        self.remember(&project_id, chosen.id);
        Ok(chosen)
    }

    /// `/projects/{project}/workspaces/{workspace}/{domain_path}` for an App API domain that only
    /// exists per workspace (feature flags, …), resolving the workspace if needed.
    pub async fn require_scoped_path(
        &self,
        client: &Client,
        domain_path: &str,
    ) -> Result<String, Error> {
        let workspace_id = self.resolve_workspace_id(client).await?;
        let project_id = client.project_id().ok_or(Error::NoProjectForWorkspace)?;
        Ok(format!(
            "/projects/{project_id}/workspaces/{workspace_id}/{}",
            domain_path.trim_start_matches('/')
        ))
    }

    fn remembered(&self, project_id: &str) -> Option<u64> {
        lock(&self.resolved).get(project_id).copied()
    }

    fn remember(&self, project_id: &str, workspace_id: u64) -> u64 {
        lock(&self.resolved).insert(project_id.to_owned(), workspace_id);
        workspace_id
    }
}

/// The default workspace of `project_id` from the projects metadata index, when it lists any.
async fn workspace_from_metadata_index(
    client: &Client,
    project_id: &str,
) -> Result<Option<u64>, Error> {
    let index = match projects_metadata_index(client).await {
        Ok(index) => index,
        Err(error) if cannot_answer(&error) => return Ok(None),
        Err(error) => return Err(error),
    };
    let Some(Value::Object(workspaces)) = index
        .get(project_id)
        .and_then(|entry| entry.get("workspaces"))
    else {
        return Ok(None);
    };
    let views: Vec<WorkspaceView> = workspaces
        .values()
        .filter_map(|entry| {
            let entry = entry.as_object()?;
            let id = match entry.get("id")? {
                Value::Number(number) => number.as_u64(),
                Value::String(text) => text.trim().parse().ok(),
                Value::Bool(flag) => Some(u64::from(*flag)),
                _ => None,
            }?;
            Some(WorkspaceView {
                id,
                is_default: entry.get("is_default").and_then(Value::as_bool),
                is_visible: entry.get("is_visible").and_then(Value::as_bool),
            })
        })
        .collect();
    Ok(select_workspace(&views))
}

/// Returns true if and only if `error` is a 403 or 404: the source cannot answer for these
/// credentials, so the next one is tried.
fn cannot_answer(error: &Error) -> bool {
    matches!(error, Error::Http(error) if matches!(error.status(), Some(403 | 404)))
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
