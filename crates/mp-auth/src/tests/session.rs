//! Session resolution, table-driven: every axis, every source, overrides and errors.

use mp_http::{Region, Secret};

use crate::{
    Account, BridgeView, ConfigView, EnvInputs, ParamInputs, Session, SessionInputs, TargetView,
    TokenSource, resolve_session,
};

fn config() -> ConfigView {
    ConfigView {
        accounts: vec![
            Account::service_account("team", Region::Us, "team.sa", Secret::new("s".to_owned()))
                .unwrap()
                .with_default_project("3018488")
                .unwrap(),
            Account::oauth_browser("personal", Region::Eu)
                .unwrap()
                .with_default_project("3713224")
                .unwrap(),
            Account::oauth_token("ci", Region::In, TokenSource::Env("MP_CI_TOKEN".to_owned()))
                .unwrap(),
        ],
        targets: vec![
            TargetView {
                name: "ecom".to_owned(),
                account: "team".to_owned(),
                project: "3018488".to_owned(),
                workspace: Some(3448414),
            },
            TargetView {
                name: "ai".to_owned(),
                account: "personal".to_owned(),
                project: "3713224".to_owned(),
                workspace: None,
            },
        ],
        active_account: Some("team".to_owned()),
        active_workspace: Some(3448415),
    }
}

fn bridge() -> BridgeView {
    BridgeView {
        account: Account::oauth_browser("cowork", Region::Us).unwrap(),
        project: Some("555".to_owned()),
        workspace: Some(777),
    }
}

/// One line per session: `target account project workspace | overrides`, each `value(source)`.
fn render(session: &Session) -> String {
    let target = session.target.as_ref().map_or("-".to_owned(), |target| {
        format!("{}({})", target.value.name, target.source)
    });
    let account = format!(
        "{}:{}({})",
        session.account.value.name, session.account.value.region, session.account.source
    );
    let project = session.project.as_ref().map_or("-".to_owned(), |project| {
        format!("{}({})", project.value, project.source)
    });
    let workspace = session
        .workspace
        .as_ref()
        .map_or("-".to_owned(), |workspace| {
            format!("{}({})", workspace.value, workspace.source)
        });
    let overrides: Vec<String> = session
        .env_overrides()
        .into_iter()
        .map(|found| {
            format!(
                "{} {}={} beats flag {}",
                found.axis, found.variables, found.value, found.flag_value
            )
        })
        .collect();
    let mut line =
        format!("target={target} account={account} project={project} workspace={workspace}");
    if !overrides.is_empty() {
        line.push_str(&format!(" | {}", overrides.join("; ")));
    }
    line
}

#[derive(Default)]
struct Case {
    env: EnvInputs,
    params: ParamInputs,
    no_config: bool,
    bridge: bool,
}

fn some(text: &str) -> Option<String> {
    Some(text.to_owned())
}

fn secret(text: &str) -> Option<Secret<String>> {
    Some(Secret::new(text.to_owned()))
}

#[track_caller]
fn check(case: Case, expected: &str) {
    let inputs = SessionInputs {
        env: case.env,
        params: case.params,
        config: if case.no_config {
            ConfigView::default()
        } else {
            config()
        },
        bridge: case.bridge.then(bridge),
    };
    let actual = match resolve_session(&inputs) {
        Ok(session) => render(&session),
        Err(error) => format!("error: {error}"),
    };
    assert_eq!(actual, expected);
}

#[test]
fn config_level() {
    // The active account, its default project, and [active] workspace.
    check(
        Case::default(),
        "target=- account=team:us(config) project=3018488(config) workspace=3448415(config)",
    );
    // [active] workspace belongs to the active session only.
    check(
        Case {
            params: ParamInputs {
                project: some("42"),
                ..Default::default()
            },
            ..Default::default()
        },
        "target=- account=team:us(config) project=42(flag) workspace=-",
    );
}

#[test]
fn flag_level() {
    check(
        Case {
            params: ParamInputs {
                account: some("personal"),
                ..Default::default()
            },
            ..Default::default()
        },
        "target=- account=personal:eu(flag) project=3713224(config) workspace=-",
    );
    check(
        Case {
            params: ParamInputs {
                workspace: some("5"),
                ..Default::default()
            },
            ..Default::default()
        },
        "target=- account=team:us(config) project=3018488(config) workspace=5(flag)",
    );
    check(
        Case {
            params: ParamInputs {
                account: some("ci"),
                project: some("1"),
                workspace: some("2"),
                target: None,
            },
            ..Default::default()
        },
        "target=- account=ci:in(flag) project=1(flag) workspace=2(flag)",
    );
}

#[test]
fn target_level() {
    check(
        Case {
            params: ParamInputs {
                target: some("ecom"),
                ..Default::default()
            },
            ..Default::default()
        },
        "target=ecom(flag) account=team:us(target) project=3018488(target) workspace=3448414(target)",
    );
    check(
        Case {
            params: ParamInputs {
                target: some("ai"),
                ..Default::default()
            },
            ..Default::default()
        },
        "target=ai(flag) account=personal:eu(target) project=3713224(target) workspace=-",
    );
    // A flag beats the target on its own axis only.
    check(
        Case {
            params: ParamInputs {
                target: some("ecom"),
                project: some("9"),
                ..Default::default()
            },
            ..Default::default()
        },
        "target=ecom(flag) account=team:us(target) project=9(flag) workspace=3448414(target)",
    );
    // A target combined with the environment.
    check(
        Case {
            env: EnvInputs {
                project_id: some("42"),
                ..Default::default()
            },
            params: ParamInputs {
                target: some("ecom"),
                ..Default::default()
            },
            ..Default::default()
        },
        "target=ecom(flag) account=team:us(target) project=42(env) workspace=3448414(target)",
    );
    check(
        Case {
            env: EnvInputs {
                target: some("ai"),
                ..Default::default()
            },
            params: ParamInputs {
                target: some("ecom"),
                ..Default::default()
            },
            ..Default::default()
        },
        "target=ai(env) account=personal:eu(target) project=3713224(target) workspace=- | target MP_TARGET=ai beats flag ecom",
    );
}

#[test]
fn bridge_level() {
    check(
        Case {
            no_config: true,
            bridge: true,
            ..Default::default()
        },
        "target=- account=cowork:us(bridge) project=555(bridge) workspace=777(bridge)",
    );
    // The bridge sits above the config.
    check(
        Case {
            bridge: true,
            ..Default::default()
        },
        "target=- account=cowork:us(bridge) project=555(bridge) workspace=777(bridge)",
    );
    // ...and below flags and targets.
    check(
        Case {
            bridge: true,
            params: ParamInputs {
                target: some("ai"),
                ..Default::default()
            },
            ..Default::default()
        },
        "target=ai(flag) account=personal:eu(target) project=3713224(target) workspace=777(bridge)",
    );
    // The bridge's account can be named explicitly.
    check(
        Case {
            no_config: true,
            bridge: true,
            params: ParamInputs {
                account: some("cowork"),
                ..Default::default()
            },
            ..Default::default()
        },
        "target=- account=cowork:us(flag) project=555(bridge) workspace=777(bridge)",
    );
}

#[test]
fn env_level_and_overrides() {
    let service_account = EnvInputs {
        username: some("sa.user"),
        secret: secret("sa-secret"),
        region: some("eu"),
        ..Default::default()
    };
    check(
        Case {
            env: service_account.clone(),
            ..Default::default()
        },
        "target=- account=env-service-account:eu(env) project=- workspace=-",
    );
    check(
        Case {
            env: EnvInputs {
                project_id: some("1"),
                workspace_id: some("3"),
                ..service_account.clone()
            },
            params: ParamInputs {
                account: some("personal"),
                project: some("2"),
                workspace: some("4"),
                target: None,
            },
            ..Default::default()
        },
        "target=- account=env-service-account:eu(env) project=1(env) workspace=3(env) \
         | account MP_USERNAME, MP_SECRET, MP_REGION=env-service-account beats flag personal; \
         project MP_PROJECT_ID=1 beats flag 2; workspace MP_WORKSPACE_ID=3 beats flag 4",
    );
    check(
        Case {
            env: EnvInputs {
                oauth_token: secret("tok"),
                region: some("IN"),
                ..Default::default()
            },
            ..Default::default()
        },
        "target=- account=env-oauth-token:in(env) project=- workspace=-",
    );
    // A service account beats a token when both are set.
    check(
        Case {
            env: EnvInputs {
                oauth_token: secret("tok"),
                ..service_account
            },
            ..Default::default()
        },
        "target=- account=env-service-account:eu(env) project=- workspace=-",
    );
    check(
        Case {
            env: EnvInputs {
                account: some("ci"),
                ..Default::default()
            },
            params: ParamInputs {
                account: some("personal"),
                ..Default::default()
            },
            ..Default::default()
        },
        "target=- account=ci:in(env) project=- workspace=- | account MP_ACCOUNT=ci beats flag personal",
    );
    // Empty values are unset.
    check(
        Case {
            env: EnvInputs {
                username: some(""),
                project_id: some(" "),
                ..Default::default()
            },
            ..Default::default()
        },
        "target=- account=team:us(config) project=3018488(config) workspace=3448415(config)",
    );
}

#[test]
fn nothing_falls_through_silently() {
    check(
        Case {
            no_config: true,
            ..Default::default()
        },
        "error: no account configured",
    );
    check(
        Case {
            env: EnvInputs {
                username: some("u"),
                ..Default::default()
            },
            ..Default::default()
        },
        "error: `MP_SECRET` is not set (it is needed with `MP_USERNAME`)",
    );
    check(
        Case {
            env: EnvInputs {
                username: some("u"),
                secret: secret("s"),
                ..Default::default()
            },
            ..Default::default()
        },
        "error: `MP_REGION` is not set (it is needed with `MP_USERNAME` and `MP_SECRET`)",
    );
    check(
        Case {
            env: EnvInputs {
                oauth_token: secret("t"),
                region: some("mars"),
                ..Default::default()
            },
            ..Default::default()
        },
        "error: `MP_REGION` is set to `mars`, which is not valid: expected `us`, `eu` or `in`",
    );
    check(
        Case {
            params: ParamInputs {
                project: some("abc"),
                ..Default::default()
            },
            ..Default::default()
        },
        "error: invalid project id `abc` (from flag): it must be digits only",
    );
    check(
        Case {
            env: EnvInputs {
                project_id: some("12x"),
                ..Default::default()
            },
            ..Default::default()
        },
        "error: invalid project id `12x` (from env): it must be digits only",
    );
    check(
        Case {
            params: ParamInputs {
                workspace: some("0"),
                ..Default::default()
            },
            ..Default::default()
        },
        "error: invalid workspace id `0` (from flag): it must be a positive integer",
    );
    check(
        Case {
            params: ParamInputs {
                target: some("nope"),
                ..Default::default()
            },
            ..Default::default()
        },
        "error: target `nope` not found",
    );
    check(
        Case {
            params: ParamInputs {
                account: some("nope"),
                ..Default::default()
            },
            ..Default::default()
        },
        "error: account `nope` not found",
    );
}

#[test]
fn errors_carry_hints_and_lists() {
    let mut config = config();
    config.active_account = Some("gone".to_owned());
    let inputs = SessionInputs {
        config,
        ..Default::default()
    };
    let error = resolve_session(&inputs).unwrap_err();
    assert_eq!(error.to_string(), "account `gone` not found");
    assert_eq!(error.hint().unwrap(), "known accounts: ci, personal, team");
    let inputs = SessionInputs::default();
    let hint = resolve_session(&inputs).unwrap_err().hint().unwrap();
    assert!(hint.contains("mp login"), "{hint}");
    // No project is not a resolution error: listing projects needs only an account.
    let inputs = SessionInputs {
        params: ParamInputs {
            account: some("ci"),
            ..Default::default()
        },
        config: config_with_active(None),
        ..Default::default()
    };
    let session = resolve_session(&inputs).unwrap();
    let error = session.require_project().unwrap_err();
    assert_eq!(error.to_string(), "no project configured for account `ci`");
    assert!(
        error
            .hint()
            .unwrap()
            .contains("mp account update ci --project ID")
    );
}

fn config_with_active(active: Option<&str>) -> ConfigView {
    ConfigView {
        active_account: active.map(str::to_owned),
        ..config()
    }
}
