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
//!
//! Source 4 reads the list leniently (an entry without a usable `id` is skipped), because a
//! malformed entry should not break every workspace-scoped call. [`list_workspaces`], which
//! returns the workspaces themselves, and [`WorkspaceResolver::resolve_workspace`], which
//! returns one, validate every entry instead: a [`PublicWorkspace`] has its required fields.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use mp_http::{ApiFamily, Client, Request, encode_path_segment};

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

/// A workspace as `/api/app/projects/{id}/workspaces/public` describes it: the official
/// client's `PublicWorkspace`, with its four required fields typed as required. Serializes with
/// every field, in the official field order (`null` for what the server did not send).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PublicWorkspace {
    /// Its id.
    pub id: u64,
    /// Its name.
    pub name: String,
    /// Its project.
    pub project_id: u64,
    /// Whether it is the project's default.
    pub is_default: bool,
    /// Its description.
    pub description: Option<String>,
    /// Whether it is the global view.
    pub is_global: Option<bool>,
    /// Whether access to it is restricted.
    pub is_restricted: Option<bool>,
    /// Whether it is visible.
    pub is_visible: Option<bool>,
    /// When it was created, as the server wrote it (ISO 8601).
    pub created_iso: Option<String>,
    /// Who created it.
    pub creator_name: Option<String>,
}

/// One reason an entry of the workspace list is not a [`PublicWorkspace`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldIssue {
    /// A required field is absent.
    Missing(&'static str),
    /// A field holds a value of the wrong JSON type (`null` in a required field included).
    WrongType {
        /// The field.
        field: &'static str,
        /// What it should hold: `integer`, `string` or `boolean`.
        expected: &'static str,
    },
}

impl FieldIssue {
    /// The field the issue is about.
    pub fn field(&self) -> &'static str {
        match self {
            FieldIssue::Missing(field) | FieldIssue::WrongType { field, .. } => field,
        }
    }
}

impl std::fmt::Display for FieldIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldIssue::Missing(field) => write!(f, "`{field}` is missing"),
            FieldIssue::WrongType { field, expected } => {
                write!(f, "`{field}` is not a {expected}")
            }
        }
    }
}

/// Why `/workspaces/public` did not give a list of [`PublicWorkspace`]s.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WorkspaceListProblem {
    /// The `results` (or the whole body) is not a list.
    NotAList {
        /// What it is instead (`string`, `object`, …).
        results_type: &'static str,
    },
    /// An entry is not a JSON object.
    EntryNotObject {
        /// Its position in the list.
        index: usize,
        /// The entry as served.
        entry: Value,
    },
    /// An entry lacks required fields or holds fields of the wrong type.
    InvalidEntry {
        /// Its position in the list.
        index: usize,
        /// The entry as served.
        entry: Map<String, Value>,
        /// Every issue, in field order.
        issues: Vec<FieldIssue>,
    },
}

impl std::fmt::Display for WorkspaceListProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WorkspaceListProblem::NotAList { results_type } => {
                write!(f, "the answer is a {results_type}, not a list")
            }
            WorkspaceListProblem::EntryNotObject { index, entry } => {
                write!(f, "entry {index} is a {}, not an object", json_type(entry))
            }
            WorkspaceListProblem::InvalidEntry { index, issues, .. } => {
                write!(f, "entry {index}: ")?;
                for (position, issue) in issues.iter().enumerate() {
                    if position > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{issue}")?;
                }
                Ok(())
            }
        }
    }
}

impl PublicWorkspace {
    /// Validates one entry the way the official client's model does: `id`, `name`, `project_id`
    /// and `is_default` are required; every field present must have its type (ids may also be
    /// digit strings); unknown fields are ignored.
    fn from_entry(index: usize, entry: &Value) -> Result<PublicWorkspace, WorkspaceListProblem> {
        let Some(object) = entry.as_object() else {
            return Err(WorkspaceListProblem::EntryNotObject {
                index,
                entry: entry.clone(),
            });
        };
        let mut issues = Vec::new();
        // Fields are read in declaration order, so the issues come out in that order too.
        let mut field = |name: &'static str, expected: &'static str, required: bool| {
            let value = object.get(name);
            let valid = match (value, expected) {
                (None, _) => {
                    if required {
                        issues.push(FieldIssue::Missing(name));
                    }
                    return None;
                }
                // `null` stands for "not set" in an optional field only.
                (Some(Value::Null), _) => !required,
                (Some(value), "integer") => integer(value).is_some(),
                (Some(value), "string") => value.is_string(),
                (Some(value), _) => value.is_boolean(),
            };
            if !valid {
                issues.push(FieldIssue::WrongType {
                    field: name,
                    expected,
                });
            }
            value.filter(|value| valid && !value.is_null())
        };
        let id = field("id", "integer", true).and_then(integer);
        let name = field("name", "string", true).and_then(Value::as_str);
        let project_id = field("project_id", "integer", true).and_then(integer);
        let is_default = field("is_default", "boolean", true).and_then(Value::as_bool);
        let description = field("description", "string", false).and_then(Value::as_str);
        let is_global = field("is_global", "boolean", false).and_then(Value::as_bool);
        let is_restricted = field("is_restricted", "boolean", false).and_then(Value::as_bool);
        let is_visible = field("is_visible", "boolean", false).and_then(Value::as_bool);
        let created_iso = field("created_iso", "string", false).and_then(Value::as_str);
        let creator_name = field("creator_name", "string", false).and_then(Value::as_str);
        match (id, name, project_id, is_default) {
            (Some(id), Some(name), Some(project_id), Some(is_default)) if issues.is_empty() => {
                Ok(PublicWorkspace {
                    id,
                    name: name.to_owned(),
                    project_id,
                    is_default,
                    description: description.map(str::to_owned),
                    is_global,
                    is_restricted,
                    is_visible,
                    created_iso: created_iso.map(str::to_owned),
                    creator_name: creator_name.map(str::to_owned),
                })
            }
            _ => Err(WorkspaceListProblem::InvalidEntry {
                index,
                entry: object.clone(),
                issues,
            }),
        }
    }

    fn view(&self) -> WorkspaceView {
        WorkspaceView {
            id: self.id,
            is_default: Some(self.is_default),
            is_visible: self.is_visible,
        }
    }
}

/// A non-negative integer, or a string of digits (some endpoints send ids as strings).
fn integer(value: &Value) -> Option<u64> {
    match value {
        Value::Number(number) => number.as_u64(),
        Value::String(text) => text.parse().ok(),
        _ => None,
    }
}

/// `GET /api/app/projects/{project_id}/workspaces/public`: every workspace of a project, in the
/// server's order, validated like the official client's `list_workspaces` (the first entry that
/// is not a valid [`PublicWorkspace`] fails the whole list with
/// [`Error::InvalidWorkspaceList`]). The answer may be a bare list or `{"results": [...]}`.
///
/// ```no_run
/// # async fn run(client: &mp_http::Client) -> Result<(), mp_auth::Error> {
/// let workspaces = mp_auth::list_workspaces(client, "3018488").await?;
/// let default = workspaces.iter().find(|workspace| workspace.is_default);
/// # let _ = default;
/// # Ok(()) }
/// ```
pub async fn list_workspaces(
    client: &Client,
    project_id: &str,
) -> Result<Vec<PublicWorkspace>, Error> {
    workspace_entries(client, project_id)
        .await?
        .iter()
        .enumerate()
        .map(|(index, entry)| PublicWorkspace::from_entry(index, entry))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|problem| Error::InvalidWorkspaceList {
            project_id: project_id.to_owned(),
            problem: Box::new(problem),
        })
}

/// The raw entries of `/workspaces/public`.
async fn workspace_entries(client: &Client, project_id: &str) -> Result<Vec<Value>, Error> {
    let path = format!(
        "/projects/{}/workspaces/public",
        encode_path_segment(project_id)
    );
    match client
        .app_results(Request::get(ApiFamily::App, path))
        .await?
    {
        Value::Array(entries) => Ok(entries),
        other => Err(Error::InvalidWorkspaceList {
            project_id: project_id.to_owned(),
            problem: Box::new(WorkspaceListProblem::NotAList {
                results_type: json_type(&other),
            }),
        }),
    }
}

/// What the lazy resolution needs of an entry, read leniently: an entry without a usable `id` is
/// skipped rather than failing every workspace-scoped call of the project.
fn lenient_view(entry: &Value) -> Option<WorkspaceView> {
    let object = entry.as_object()?;
    Some(WorkspaceView {
        id: integer(object.get("id")?)?,
        is_default: object.get("is_default").and_then(Value::as_bool),
        is_visible: object.get("is_visible").and_then(Value::as_bool),
    })
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
        let entries = match workspace_entries(client, &project_id).await {
            Ok(entries) => entries,
            Err(error) if cannot_answer(&error) => Vec::new(),
            Err(error) => return Err(error),
        };
        let views: Vec<WorkspaceView> = entries.iter().filter_map(lenient_view).collect();
        if let Some(id) = select_workspace(&views) {
            return Ok(self.remember(&project_id, id));
        }
        if let Some(id) = workspace_from_metadata_index(client, &project_id).await? {
            return Ok(self.remember(&project_id, id));
        }
        Err(Error::NoWorkspaces { project_id })
    }

    /// The default workspace of `client`'s project with its details, from [`list_workspaces`]
    /// (so an invalid entry is an error here), remembered like
    /// [`WorkspaceResolver::resolve_workspace_id`].
    pub async fn resolve_workspace(&self, client: &Client) -> Result<PublicWorkspace, Error> {
        let project_id = client
            .project_id()
            .ok_or(Error::NoProjectForWorkspace)?
            .to_owned();
        let public = list_workspaces(client, &project_id).await?;
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
