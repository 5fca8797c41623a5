//! The App API endpoints: `/api/app/me` and `/api/app/projects/{id}/workspaces/public`.
//!
//! App API answers are wrapped as `{"status": "ok", "results": …}`, which Mixpanel's client
//! unwraps.

use serde_json::{Map, Value as Json, json};

use crate::account::{
    self, ORGANIZATION_ID, ORGANIZATION_NAME, PROJECTS, Project, USER_EMAIL, USER_ID, USER_NAME,
    Workspace,
};

/// `GET /api/app/me`: who the credentials belong to and what they can see.
///
/// The shape follows what Mixpanel's client reads (anchor-auth.md §6): `user_id`,
/// `user_email`, `user_name`, and maps keyed by id of `organizations`, `projects` (with
/// `domain`, which tells the region) and `workspaces`.
pub(crate) fn me() -> Json {
    let mut projects = Map::new();
    let mut workspaces = Map::new();
    for project in &PROJECTS {
        projects.insert(
            project.id.to_string(),
            json!({
                "name": project.name,
                "organization_id": ORGANIZATION_ID,
                "timezone": "UTC",
                "has_workspaces": true,
                "domain": "mixpanel.com",
                "type": "PROJECT",
            }),
        );
        for workspace in project.workspaces {
            workspaces.insert(
                workspace.id.to_string(),
                workspace_json(project, workspace, false),
            );
        }
    }
    let mut organizations = Map::new();
    organizations.insert(
        ORGANIZATION_ID.to_string(),
        json!({
            "id": ORGANIZATION_ID,
            "name": ORGANIZATION_NAME,
            "role": "owner",
            "permissions": ["read", "write", "admin"],
        }),
    );
    wrap(json!({
        "user_id": USER_ID,
        "user_email": USER_EMAIL,
        "user_name": USER_NAME,
        "organizations": organizations,
        "projects": projects,
        "workspaces": workspaces,
    }))
}

/// `GET /api/app/projects/{id}/workspaces/public`, or `None` if the account cannot see the
/// project.
pub(crate) fn public_workspaces(project_id: u64) -> Option<Json> {
    let project = account::project(project_id)?;
    Some(wrap(Json::Array(
        project
            .workspaces
            .iter()
            .map(|workspace| workspace_json(project, workspace, true))
            .collect(),
    )))
}

fn workspace_json(project: &Project, workspace: &Workspace, public: bool) -> Json {
    let mut value = json!({
        "id": workspace.id,
        "name": workspace.name,
        "project_id": project.id,
        "is_default": workspace.is_default,
        "is_global": workspace.is_global,
        "is_restricted": workspace.is_restricted,
        "is_visible": true,
        "description": workspace.description,
        "creator_name": USER_NAME,
    });
    if public {
        value["created_iso"] = json!("2024-01-01T00:00:00Z");
    }
    value
}

fn wrap(results: Json) -> Json {
    json!({"status": "ok", "results": results})
}
