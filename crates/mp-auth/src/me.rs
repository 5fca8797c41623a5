//! `/api/app/me`: who the credentials belong to, and which organizations, projects (with their
//! region) and workspaces they can see; and [`MeCache`], which keeps the answer per account in
//! memory for the life of the process and on disk for 24 hours.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use mp_http::{ApiFamily, Client, Clock, Region, Request};

use crate::fs;
use crate::store::parse_json;
use crate::{Error, StateDir};

/// How long a cached `/me` answer is used: 24 hours, like the official client.
pub const ME_CACHE_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// Per-workspace members lists the cache leaves out: they can be tens of megabytes and nothing
/// here reads them.
const BULKY_WORKSPACE_KEYS: [&str; 2] = ["member_list", "unified_member_list"];

/// The answer of `/api/app/me`, typed where we read it. Unknown fields are kept in
/// [`Me::raw`]; every map is in the server's order (the first organization names a new account).
#[derive(Debug, Clone, PartialEq)]
pub struct Me {
    /// The user's id.
    pub user_id: Option<u64>,
    /// The user's email.
    pub user_email: Option<String>,
    /// The user's name.
    pub user_name: Option<String>,
    /// Organizations, in the server's order.
    pub organizations: Vec<MeOrganization>,
    /// Projects, in the server's order.
    pub projects: Vec<MeProject>,
    /// Workspaces (data views), in the server's order.
    pub workspaces: Vec<MeWorkspace>,
    raw: Value,
}

/// An organization in `/me`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeOrganization {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: Option<String>,
    /// The user's role in it.
    pub role: Option<String>,
}

/// A project in `/me`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeProject {
    /// Its id (digits).
    pub id: String,
    /// Its name.
    pub name: Option<String>,
    /// The organization it belongs to.
    pub organization_id: Option<String>,
    /// Its time zone.
    pub timezone: Option<String>,
    /// The host it lives on (`mixpanel.com`, `eu.mixpanel.com`, …), which gives its region.
    pub domain: Option<String>,
    /// Whether it has data views.
    pub has_workspaces: Option<bool>,
}

impl MeProject {
    /// The project's region, from its domain; `None` when the domain is absent or unknown.
    pub fn region(&self) -> Option<Region> {
        self.domain.as_deref().and_then(region_from_domain)
    }
}

/// A workspace (data view) in `/me`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeWorkspace {
    /// Its id.
    pub id: u64,
    /// Its name.
    pub name: Option<String>,
    /// The project it belongs to.
    pub project_id: Option<String>,
    /// Whether it is the project's default view.
    pub is_default: Option<bool>,
    /// Whether it is the global "all project data" view.
    pub is_global: Option<bool>,
    /// Whether it is visible.
    pub is_visible: Option<bool>,
}

impl Me {
    /// Reads a `/me` answer (already unwrapped from `{"results": …}`). Lenient: a field that is
    /// missing or of an unexpected type is `None`, an entry without a usable id is skipped.
    pub fn from_json(mut raw: Value) -> Me {
        strip_bulky_fields(&mut raw);
        let object = raw.as_object().cloned().unwrap_or_default();
        let text = |value: Option<&Value>| -> Option<String> {
            match value? {
                Value::String(text) => Some(text.clone()),
                Value::Number(number) => Some(number.to_string()),
                _ => None,
            }
        };
        let entries = |key: &str| -> Vec<(String, Map<String, Value>)> {
            match object.get(key) {
                Some(Value::Object(map)) => map
                    .iter()
                    .filter_map(|(id, entry)| Some((id.clone(), entry.as_object()?.clone())))
                    .collect(),
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(|entry| {
                        let entry = entry.as_object()?;
                        Some((text(entry.get("id"))?, entry.clone()))
                    })
                    .collect(),
                _ => Vec::new(),
            }
        };
        let organizations = entries("organizations")
            .into_iter()
            .map(|(id, entry)| MeOrganization {
                id: text(entry.get("id")).unwrap_or(id),
                name: text(entry.get("name")),
                role: text(entry.get("role")),
            })
            .collect();
        let projects = entries("projects")
            .into_iter()
            .map(|(id, entry)| MeProject {
                id: text(entry.get("id")).unwrap_or(id),
                name: text(entry.get("name")),
                organization_id: text(entry.get("organization_id")),
                timezone: text(entry.get("timezone")),
                domain: text(entry.get("domain")),
                has_workspaces: entry.get("has_workspaces").and_then(Value::as_bool),
            })
            .collect();
        let workspaces = entries("workspaces")
            .into_iter()
            .filter_map(|(id, entry)| {
                let id = match entry.get("id") {
                    Some(Value::Number(number)) => number.as_u64(),
                    Some(Value::String(text)) => text.parse().ok(),
                    _ => id.parse().ok(),
                }?;
                Some(MeWorkspace {
                    id,
                    name: text(entry.get("name")),
                    project_id: text(entry.get("project_id")),
                    is_default: entry.get("is_default").and_then(Value::as_bool),
                    is_global: entry.get("is_global").and_then(Value::as_bool),
                    is_visible: entry.get("is_visible").and_then(Value::as_bool),
                })
            })
            .collect();
        Me {
            user_id: object.get("user_id").and_then(Value::as_u64),
            user_email: text(object.get("user_email")),
            user_name: text(object.get("user_name")),
            organizations,
            projects,
            workspaces,
            raw,
        }
    }

    /// The answer as the server sent it, minus the bulky member lists.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// The project with id `project_id`.
    pub fn project(&self, project_id: &str) -> Option<&MeProject> {
        self.projects
            .iter()
            .find(|project| project.id == project_id)
    }

    /// The organization with id `organization_id`.
    pub fn organization(&self, organization_id: &str) -> Option<&MeOrganization> {
        self.organizations
            .iter()
            .find(|organization| organization.id == organization_id)
    }

    /// The workspaces of `project_id`, in the server's order.
    pub fn workspaces_of(&self, project_id: &str) -> Vec<&MeWorkspace> {
        self.workspaces
            .iter()
            .filter(|workspace| workspace.project_id.as_deref() == Some(project_id))
            .collect()
    }

    /// The workspace a session without one uses for `project_id`: the default one, else the
    /// first visible one, else the first ([`crate::select_workspace`]).
    pub fn default_workspace(&self, project_id: &str) -> Option<u64> {
        let views: Vec<crate::WorkspaceView> = self
            .workspaces_of(project_id)
            .into_iter()
            .map(|workspace| crate::WorkspaceView {
                id: workspace.id,
                is_default: workspace.is_default,
                is_visible: workspace.is_visible,
            })
            .collect();
        crate::select_workspace(&views)
    }
}

/// The region of a project's `domain`: `mixpanel.com` → us, `eu.mixpanel.com` → eu,
/// `in.mixpanel.com` → in. A scheme, a path, a port and a `data-`/`data.` prefix are tolerated;
/// anything else is `None`.
pub fn region_from_domain(domain: &str) -> Option<Region> {
    let domain = domain.trim().to_ascii_lowercase();
    let domain = domain
        .split_once("://")
        .map_or(domain.as_str(), |(_, rest)| rest);
    let host = domain.split(['/', ':']).next().unwrap_or_default();
    let host = host
        .strip_prefix("data-")
        .or_else(|| host.strip_prefix("data."))
        .unwrap_or(host);
    match host {
        "mixpanel.com" | "www.mixpanel.com" | "us.mixpanel.com" => Some(Region::Us),
        "eu.mixpanel.com" => Some(Region::Eu),
        "in.mixpanel.com" => Some(Region::In),
        _ => None,
    }
}

/// `GET /api/app/me` through `client` (App API, `results` unwrapped), no caching.
pub async fn fetch_me(client: &Client) -> Result<Me, mp_http::Error> {
    let value = client
        .app_results(Request::get(ApiFamily::App, "/me"))
        .await?;
    Ok(Me::from_json(value))
}

fn strip_bulky_fields(raw: &mut Value) {
    let Some(Value::Object(workspaces)) = raw.get_mut("workspaces") else {
        return;
    };
    for workspace in workspaces.values_mut() {
        if let Value::Object(workspace) = workspace {
            for key in BULKY_WORKSPACE_KEYS {
                workspace.remove(key);
            }
        }
    }
}

/// Whether [`MeCache::get`] may answer from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeRefresh {
    /// Use the memory or disk cache while it is younger than the TTL.
    IfStale,
    /// Always ask the server (and update the cache): `--refresh`.
    Force,
}

/// `/me` per account: in memory for the life of the process, on disk for [`ME_CACHE_TTL`].
///
/// One cache serves every client of the process, so switching project or workspace keeps the
/// answer: iterating over 50 projects of one account costs one `/me` request. Concurrent
/// requests for the same account in one process also make one request.
#[derive(Debug)]
pub struct MeCache {
    state_dir: Option<StateDir>,
    clock: Arc<dyn Clock>,
    ttl: Duration,
    /// Answers fetched (or read from disk) in this process, with when they were fetched.
    memory: Mutex<HashMap<String, (Arc<Me>, SystemTime)>>,
    /// Serializes fetches, so concurrent misses for one account make one request.
    fetch_gate: tokio::sync::Mutex<()>,
}

impl MeCache {
    /// A cache that also persists to `<state dir>/accounts/NAME/me.json` (`0600`), with `clock`
    /// deciding age.
    pub fn new(state_dir: StateDir, clock: Arc<dyn Clock>) -> MeCache {
        MeCache {
            state_dir: Some(state_dir),
            clock,
            ttl: ME_CACHE_TTL,
            memory: Mutex::new(HashMap::new()),
            fetch_gate: tokio::sync::Mutex::new(()),
        }
    }

    /// A cache that keeps answers only in memory (accounts synthesized from the environment,
    /// which have no directory).
    pub fn in_memory(clock: Arc<dyn Clock>) -> MeCache {
        MeCache {
            state_dir: None,
            ..MeCache::new(StateDir::new(""), clock)
        }
    }

    /// Another time-to-live (default [`ME_CACHE_TTL`]).
    pub fn with_ttl(mut self, ttl: Duration) -> MeCache {
        self.ttl = ttl;
        self
    }

    /// `/me` of `account` through `client` (which must authenticate as that account), from the
    /// cache when allowed and young enough.
    pub async fn get(
        &self,
        client: &Client,
        account: &str,
        refresh: MeRefresh,
    ) -> Result<Arc<Me>, Error> {
        if refresh == MeRefresh::IfStale
            && let Some(me) = self.peek(account)
        {
            return Ok(me);
        }
        let _gate = self.fetch_gate.lock().await;
        if refresh == MeRefresh::IfStale
            && let Some(me) = self.peek(account)
        {
            return Ok(me);
        }
        let me = fetch_me(client).await.map_err(|source| Error::Me {
            account: account.to_owned(),
            source,
        })?;
        let fetched_at = self.clock.now();
        self.store(account, &me, fetched_at)?;
        let me = Arc::new(me);
        lock(&self.memory).insert(account.to_owned(), (Arc::clone(&me), fetched_at));
        Ok(me)
    }

    /// Caches an answer fetched elsewhere (`mp login` fetches `/me` with the new tokens before
    /// the account has a name) as if [`MeCache::get`] had fetched it now.
    pub fn put(&self, account: &str, me: Me) -> Result<Arc<Me>, Error> {
        let fetched_at = self.clock.now();
        self.store(account, &me, fetched_at)?;
        let me = Arc::new(me);
        lock(&self.memory).insert(account.to_owned(), (Arc::clone(&me), fetched_at));
        Ok(me)
    }

    /// The cached answer of `account` if it is younger than the TTL, without any request: memory
    /// first, then disk. A disk cache that cannot be read (a link, loose permissions, bad JSON)
    /// counts as a miss.
    pub fn peek(&self, account: &str) -> Option<Arc<Me>> {
        let now = self.clock.now();
        let young = |fetched_at: SystemTime| {
            now.duration_since(fetched_at)
                .is_ok_and(|age| age < self.ttl)
        };
        if let Some((me, fetched_at)) = lock(&self.memory).get(account)
            && young(*fetched_at)
        {
            return Some(Arc::clone(me));
        }
        let (me, fetched_at) = self.load(account)?;
        if !young(fetched_at) {
            return None;
        }
        let me = Arc::new(me);
        lock(&self.memory).insert(account.to_owned(), (Arc::clone(&me), fetched_at));
        Some(me)
    }

    /// Forgets `account`'s answer, in memory and on disk.
    pub fn invalidate(&self, account: &str) -> Result<(), Error> {
        lock(&self.memory).remove(account);
        if let Some(path) = self.path(account) {
            fs::remove_file_if_exists(&path)?;
        }
        Ok(())
    }

    fn path(&self, account: &str) -> Option<std::path::PathBuf> {
        self.state_dir.as_ref()?.me_cache_path(account).ok()
    }

    fn load(&self, account: &str) -> Option<(Me, SystemTime)> {
        let path = self.path(account)?;
        let bytes = match fs::read_private_file(&path) {
            Ok(bytes) => bytes?,
            Err(error) => {
                tracing::warn!(file = "me.json", %error, "ignoring the /me cache");
                return None;
            }
        };
        let mut value = parse_json(&bytes, &path, "/me cache").ok()?;
        let cached_at = value.as_object_mut()?.remove("cached_at")?.as_f64()?;
        if !cached_at.is_finite() || cached_at < 0.0 {
            return None;
        }
        let fetched_at = UNIX_EPOCH + Duration::from_secs_f64(cached_at);
        Some((Me::from_json(value), fetched_at))
    }

    fn store(&self, account: &str, me: &Me, fetched_at: SystemTime) -> Result<(), Error> {
        let (Some(state_dir), Some(path)) = (&self.state_dir, self.path(account)) else {
            return Ok(());
        };
        state_dir.ensure_account_dir(account)?;
        let mut value = me.raw().clone();
        if let Value::Object(object) = &mut value {
            let cached_at = fetched_at
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs_f64();
            object.insert("cached_at".to_owned(), Value::from(cached_at));
        }
        let bytes = serde_json::to_vec(&value).unwrap_or_default();
        write_cache(&path, &bytes)
    }
}

fn write_cache(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    fs::write_atomic(path, bytes)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
