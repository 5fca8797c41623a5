//! `/me`, its caches, and the lazy default workspace.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use mp_http::{Region, VirtualClock};
use serde_json::{Value, json};

use super::server::{Behaviour, FakeMixpanel};
use crate::{
    Error, Me, MeCache, MeRefresh, OAuthBrowserAuth, OAuthClient, WorkspaceResolver,
    region_from_domain,
};

fn me_with_projects(n_projects: u64) -> Value {
    let mut projects = serde_json::Map::new();
    let mut workspaces = serde_json::Map::new();
    for project in 1..=n_projects {
        projects.insert(
            project.to_string(),
            json!({"name": format!("Project {project}"), "organization_id": 11, "domain": "eu.mixpanel.com"}),
        );
        workspaces.insert(
            (project * 100).to_string(),
            json!({"id": project * 100, "name": "Other", "project_id": project, "is_default": false, "member_list": ["x", "x"]}),
        );
        workspaces.insert(
            (project * 100 + 1).to_string(),
            json!({"id": project * 100 + 1, "name": "Main", "project_id": project, "is_default": true}),
        );
    }
    json!({
        "user_id": 7,
        "user_email": "ada@example.com",
        "user_name": "Ada",
        "organizations": {"11": {"id": 11, "name": "Acme Inc.", "role": "owner"}, "12": {"id": 12, "name": "Other"}},
        "projects": projects,
        "workspaces": workspaces,
    })
}

/// A fake Mixpanel with one logged-in browser account, and a client authenticated as it.
async fn logged_in(
    me: Value,
) -> (
    FakeMixpanel,
    VirtualClock,
    mp_http::Client,
    tempfile::TempDir,
    crate::StateDir,
) {
    let fake = FakeMixpanel::start(Behaviour {
        me,
        ..Behaviour::default()
    })
    .await;
    let clock = super::epoch_clock();
    let http = super::client_for(&fake.base_url(), &clock);
    let (directory, state_dir) = super::state_dir();
    let (client_id, access, refresh) = fake.issue_tokens();
    super::refresh::store(
        &state_dir,
        "personal",
        &client_id,
        &access,
        &refresh,
        &clock,
        30 * 86_400,
    )
    .await;
    let auth = OAuthBrowserAuth::new(
        "personal",
        state_dir.clone(),
        OAuthClient::new(http.clone()),
    )
    .unwrap();
    let app = http.with_authenticator(Arc::new(auth));
    (fake, clock, app, directory, state_dir)
}

#[test]
fn me_is_parsed_in_server_order() {
    let me = Me::from_json(me_with_projects(2));
    assert_eq!(me.user_email.as_deref(), Some("ada@example.com"));
    let organizations: Vec<_> = me
        .organizations
        .iter()
        .map(|org| org.name.clone().unwrap())
        .collect();
    assert_eq!(organizations, ["Acme Inc.", "Other"]);
    assert_eq!(me.project("2").unwrap().region(), Some(Region::Eu));
    assert_eq!(me.workspaces_of("1").len(), 2);
    assert_eq!(me.default_workspace("1"), Some(101));
    assert_eq!(me.default_workspace("3"), None);
    // The bulky member lists are dropped.
    assert!(!me.raw().to_string().contains("member_list"));
    assert_eq!(
        crate::derive_account_name(
            me.organizations
                .first()
                .map(|org| (org.id.as_str(), org.name.as_deref().unwrap_or_default())),
            &["acme-inc"],
        ),
        "acme-inc-2"
    );
}

#[test]
fn domains_give_regions() {
    for (domain, region) in [
        ("mixpanel.com", Some(Region::Us)),
        ("https://eu.mixpanel.com/", Some(Region::Eu)),
        ("data-in.mixpanel.com", Some(Region::In)),
        ("data.mixpanel.com:443", Some(Region::Us)),
        ("EU.MIXPANEL.COM", Some(Region::Eu)),
        ("", None),
        ("example.com", None),
    ] {
        assert_eq!(region_from_domain(domain), region, "{domain}");
    }
}

#[tokio::test]
async fn the_cache_lives_24_hours_on_disk_and_for_the_process_in_memory() {
    let (fake, clock, app, _directory, state_dir) = logged_in(me_with_projects(1)).await;
    let cache = MeCache::new(state_dir.clone(), Arc::new(clock.clone()));
    let first = cache
        .get(&app, "personal", MeRefresh::IfStale)
        .await
        .unwrap();
    cache
        .get(&app, "personal", MeRefresh::IfStale)
        .await
        .unwrap();
    assert_eq!(fake.count("GET", "/api/app/me"), 1);
    let path = state_dir.me_cache_path("personal").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let on_disk: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(on_disk["cached_at"], json!(1_768_478_400.0));

    // Another process: the disk cache answers while it is younger than 24 hours.
    clock.advance(Duration::from_secs(23 * 3600));
    let other_process = MeCache::new(state_dir.clone(), Arc::new(clock.clone()));
    let from_disk = other_process.peek("personal").unwrap();
    assert_eq!(*from_disk, *first);
    other_process
        .get(&app, "personal", MeRefresh::IfStale)
        .await
        .unwrap();
    assert_eq!(fake.count("GET", "/api/app/me"), 1);

    // Past 24 hours it is fetched again; `Force` always fetches.
    clock.advance(Duration::from_secs(3600));
    assert!(other_process.peek("personal").is_none());
    other_process
        .get(&app, "personal", MeRefresh::IfStale)
        .await
        .unwrap();
    assert_eq!(fake.count("GET", "/api/app/me"), 2);
    other_process
        .get(&app, "personal", MeRefresh::Force)
        .await
        .unwrap();
    assert_eq!(fake.count("GET", "/api/app/me"), 3);

    other_process.invalidate("personal").unwrap();
    assert!(!path.exists());

    // `mp login` fetched /me itself before naming the account: `put` caches it as fresh.
    let put = other_process.put("personal", (*first).clone()).unwrap();
    assert_eq!(*put, *first);
    assert!(path.exists());
    other_process
        .get(&app, "personal", MeRefresh::IfStale)
        .await
        .unwrap();
    assert_eq!(fake.count("GET", "/api/app/me"), 3);
}

#[tokio::test]
async fn switching_through_50_projects_makes_one_me_request() {
    let (fake, clock, app, _directory, state_dir) = logged_in(me_with_projects(50)).await;
    let cache = Arc::new(MeCache::new(state_dir, Arc::new(clock)));
    let resolver = WorkspaceResolver::with_me_cache(Arc::clone(&cache), "personal");
    let me = cache
        .get(&app, "personal", MeRefresh::IfStale)
        .await
        .unwrap();
    let mut resolved = HashMap::new();
    for project in &me.projects {
        let client = app.with_project_id(project.id.clone());
        let me = cache
            .get(&client, "personal", MeRefresh::IfStale)
            .await
            .unwrap();
        assert!(me.project(&project.id).is_some());
        resolved.insert(
            project.id.clone(),
            resolver.resolve_workspace_id(&client).await.unwrap(),
        );
    }
    assert_eq!(resolved.len(), 50);
    assert_eq!(resolved["17"], 1701);
    assert_eq!(fake.count("GET", "/api/app/me"), 1);
    assert_eq!(fake.requests().len(), 1, "no workspace request either");
}

#[tokio::test]
async fn the_default_workspace_resolves_lazily_and_is_remembered() {
    let (fake, _clock, app, _directory, _state_dir) = logged_in(me_with_projects(0)).await;
    fake.set_behaviour(|behaviour| {
        behaviour.workspaces.insert(
            "12345".to_owned(),
            json!([{"id": 10, "name": "Other", "project_id": 12345, "is_default": false},
                   {"id": 20, "name": "Main", "project_id": 12345, "is_default": true}]),
        );
    });
    let resolver = WorkspaceResolver::new();
    let client = app.with_project_id("12345");
    assert_eq!(resolver.resolve_workspace_id(&client).await.unwrap(), 20);
    assert_eq!(resolver.resolve_workspace_id(&client).await.unwrap(), 20);
    assert_eq!(
        resolver
            .require_scoped_path(&client, "feature-flags")
            .await
            .unwrap(),
        "/projects/12345/workspaces/20/feature-flags"
    );
    assert_eq!(
        fake.count("GET", "/api/app/projects/12345/workspaces/public"),
        1
    );
    // A pinned workspace wins without a request.
    let pinned = client.with_workspace_id(Some(7));
    assert_eq!(resolver.resolve_workspace_id(&pinned).await.unwrap(), 7);

    // A project the credentials cannot list (404 on both sources) has no workspace.
    let error = resolver
        .resolve_workspace_id(&app.with_project_id("999"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::NoWorkspaces { ref project_id } if project_id == "999"),
        "{error:?}"
    );
    assert_eq!(
        fake.count("GET", "/api/app/projects/999/workspaces/public"),
        1
    );
    assert_eq!(fake.count("GET", "/api/app/projects/metadata/index"), 1);
}

#[tokio::test]
async fn list_workspaces_returns_every_field_and_validates_each_entry() {
    let (fake, _clock, app, _directory, _state_dir) = logged_in(me_with_projects(0)).await;
    let set = |workspaces: Value| {
        fake.set_behaviour(|behaviour| {
            behaviour.workspaces.insert("12345".to_owned(), workspaces);
        });
    };
    set(json!([
        {"id": 1, "name": "Default", "project_id": 12345, "is_default": true, "description": null,
         "is_visible": true, "created_iso": "2024-01-02T03:04:05Z", "creator_name": "Ada", "extra": [1]},
        {"id": "2", "name": "Staging", "project_id": 12345, "is_default": false},
    ]));
    let workspaces = crate::list_workspaces(&app, "12345").await.unwrap();
    assert_eq!(
        serde_json::to_value(&workspaces).unwrap(),
        json!([
            {"id": 1, "name": "Default", "project_id": 12345, "is_default": true, "description": null,
             "is_global": null, "is_restricted": null, "is_visible": true,
             "created_iso": "2024-01-02T03:04:05Z", "creator_name": "Ada"},
            {"id": 2, "name": "Staging", "project_id": 12345, "is_default": false, "description": null,
             "is_global": null, "is_restricted": null, "is_visible": null,
             "created_iso": null, "creator_name": null},
        ])
    );
    // The list of the project asked for, whatever project the client carries.
    assert_eq!(
        fake.count("GET", "/api/app/projects/12345/workspaces/public"),
        1
    );

    // The first invalid entry fails the list, with every issue in field order.
    set(
        json!([{"id": 3, "name": "Fine", "project_id": 12345, "is_default": true},
               {"id": 1, "is_default": "yes", "is_global": null, "is_visible": 1}]),
    );
    let error = crate::list_workspaces(&app, "12345").await.unwrap_err();
    let Error::InvalidWorkspaceList {
        ref project_id,
        ref problem,
    } = error
    else {
        panic!("{error:?}");
    };
    let crate::WorkspaceListProblem::InvalidEntry {
        index,
        ref entry,
        ref issues,
    } = **problem
    else {
        panic!("{problem:?}");
    };
    assert_eq!((project_id.as_str(), index), ("12345", 1));
    assert_eq!(entry.get("is_default"), Some(&json!("yes")));
    assert_eq!(
        *issues,
        [
            crate::FieldIssue::Missing("name"),
            crate::FieldIssue::Missing("project_id"),
            crate::FieldIssue::WrongType {
                field: "is_default",
                expected: "boolean"
            },
            crate::FieldIssue::WrongType {
                field: "is_visible",
                expected: "boolean"
            },
        ]
    );
    assert_eq!(
        error.to_string(),
        "the workspace list of project `12345` is not valid: entry 1: `name` is missing, \
         `project_id` is missing, `is_default` is not a boolean, `is_visible` is not a boolean"
    );
    // `resolve_workspace` returns a whole workspace, so it validates too…
    let resolver = WorkspaceResolver::new();
    let client = app.with_project_id("12345");
    assert!(matches!(
        resolver.resolve_workspace(&client).await,
        Err(Error::InvalidWorkspaceList { .. })
    ));
    // …while the lazy id resolution skips what it cannot use and still finds the default.
    assert_eq!(resolver.resolve_workspace_id(&client).await.unwrap(), 3);

    // The problem of a list that is not a list of objects.
    let problem = |error: Error| match error {
        Error::InvalidWorkspaceList { problem, .. } => *problem,
        other => panic!("{other:?}"),
    };
    set(json!([7]));
    assert!(matches!(
        problem(crate::list_workspaces(&app, "12345").await.unwrap_err()),
        crate::WorkspaceListProblem::EntryNotObject { index: 0, .. }
    ));
    set(json!("unexpected_string"));
    assert_eq!(
        problem(crate::list_workspaces(&app, "12345").await.unwrap_err()),
        crate::WorkspaceListProblem::NotAList {
            results_type: "string"
        }
    );
    set(json!([]));
    assert_eq!(crate::list_workspaces(&app, "12345").await.unwrap(), []);
}
