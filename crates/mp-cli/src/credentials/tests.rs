//! Session wiring: environment, flags, targets and the config file into a [`Connection`].

use clap::Parser;

use super::*;
use crate::args::Cli;

fn global(args: &[&str]) -> GlobalArgs {
    let mut argv = vec!["mp"];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&["inspect", "events"]);
    Cli::try_parse_from(argv).unwrap().global
}

const QUIET: Messages = Messages {
    quiet: true,
    color: false,
};

async fn resolve(pairs: &[(&str, &str)], args: &[&str]) -> anyhow::Result<Connection> {
    let env = Env::from_pairs(pairs.iter().copied());
    Connection::resolve(&env, &global(args), &QUIET).await
}

#[track_caller]
fn check_error(result: anyhow::Result<Connection>, status: ExitStatus, fragment: &str) {
    let error = result.unwrap_err();
    let classified = crate::exit::classify(&error);
    assert_eq!(classified.status, status, "{error:?}");
    let rendered = format!("{error:?} {:?}", classified.hint);
    assert!(rendered.contains(fragment), "{rendered}");
}

const FULL: [(&str, &str); 4] = [
    ("MP_USERNAME", "alice"),
    ("MP_SECRET", "s3cr3t-value"),
    ("MP_PROJECT_ID", "1"),
    ("MP_REGION", "eu"),
];

#[tokio::test]
async fn complete_environment() {
    let connection = resolve(&FULL, &[]).await.unwrap();
    check_identity(&connection.identity(), "service_account\nalice\n");
    assert_eq!(connection.project_id, "1");
    assert_eq!(connection.endpoints.region(), Region::Eu);
    assert!(!format!("{connection:?}").contains("s3cr3t-value"));
}

#[tokio::test]
async fn environment_wins_over_flags() {
    let with_workspace: Vec<_> = FULL.into_iter().chain([("MP_WORKSPACE_ID", "7")]).collect();
    let connection = resolve(&with_workspace, &["-p", "2", "-w", "3"])
        .await
        .unwrap();
    assert_eq!(connection.project_id, "1");
    assert_eq!(connection.workspace_id, Some(7));
    let without_env_project: Vec<_> = FULL
        .into_iter()
        .filter(|(name, _)| *name != "MP_PROJECT_ID")
        .collect();
    let connection = resolve(&without_env_project, &["-p", "2"]).await.unwrap();
    assert_eq!(connection.project_id, "2");
}

#[tokio::test]
async fn missing_and_invalid_values() {
    check_error(
        resolve(&[], &[]).await,
        ExitStatus::Authentication,
        "no account",
    );
    check_error(
        resolve(&FULL[..2], &[]).await,
        ExitStatus::Authentication,
        "MP_REGION",
    );
    check_error(
        resolve(&FULL[..1], &[]).await,
        ExitStatus::Authentication,
        "MP_SECRET",
    );
    let no_project: Vec<_> = FULL
        .into_iter()
        .filter(|(name, _)| *name != "MP_PROJECT_ID")
        .collect();
    check_error(
        resolve(&no_project, &[]).await,
        ExitStatus::Authentication,
        "no project",
    );
    let replace = |key: &str, value: &'static str| -> Vec<(&'static str, &'static str)> {
        FULL.into_iter()
            .map(|(k, v)| if k == key { (k, value) } else { (k, v) })
            .collect()
    };
    check_error(
        resolve(&replace("MP_REGION", "mars"), &[]).await,
        ExitStatus::Usage,
        "MP_REGION",
    );
    check_error(
        resolve(&replace("MP_PROJECT_ID", "12a"), &[]).await,
        ExitStatus::Usage,
        "12a",
    );
    let insecure: Vec<_> = FULL
        .into_iter()
        .chain([("MP_API_BASE_URL", "http://example.com")])
        .collect();
    check_error(resolve(&insecure, &[]).await, ExitStatus::Usage, "base URL");
    check_error(
        resolve(&[], &["-a", "prod"]).await,
        ExitStatus::NotFound,
        "account `prod` not found",
    );
    check_error(
        resolve(&[], &["-t", "prod"]).await,
        ExitStatus::NotFound,
        "target `prod` not found",
    );
}

/// A config file, private as one holding secrets must be.
fn config_file(text: &str) -> (tempfile::TempDir, String) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let path = path.to_str().unwrap().to_owned();
    (dir, path)
}

const CONFIG: &str = r#"
[active]
account = "team"
workspace = 9

[accounts.team]
type = "service_account"
region = "in"
username = "team.user"
secret = "team-secret"
default_project = "42"

[accounts.browser]
type = "oauth_browser"
region = "us"

[accounts.ci]
type = "oauth_token"
region = "eu"
token_env = "MY_CI_TOKEN"
default_project = "5"

[targets.staging]
account = "team"
project = "43"
workspace = 5

[settings]
custom_header = { name = "X-Team", value = "blue" }
"#;

#[tokio::test]
async fn accounts_and_targets_from_the_config_file() {
    let (_dir, path) = config_file(CONFIG);
    let env = [("MP_CONFIG_PATH", path.as_str())];

    let active = resolve(&env, &[]).await.unwrap();
    check_identity(&active.identity(), "service_account\nteam.user\n");
    assert_eq!(active.endpoints.region(), Region::In);
    assert_eq!(
        (active.project_id.as_str(), active.workspace_id),
        ("42", Some(9))
    );
    assert_eq!(active.custom_headers.len(), 1);
    assert_eq!(active.custom_headers[0].0, "X-Team");

    let targeted = resolve(&env, &["-t", "staging"]).await.unwrap();
    assert_eq!(
        (targeted.project_id.as_str(), targeted.workspace_id),
        ("43", Some(5))
    );

    // `[active] workspace` belongs to the active account's default project only.
    let flagged = resolve(&env, &["-a", "team", "-p", "7"]).await.unwrap();
    assert_eq!(
        (flagged.project_id.as_str(), flagged.workspace_id),
        ("7", None)
    );

    let token = resolve(&env, &["-a", "ci"]).await.unwrap();
    // Its `token_env` variable is unset here, so there is no token to fingerprint.
    assert_eq!(token.identity(), "oauth_token\nci\n");
    assert_eq!(token.endpoints.region(), Region::Eu);

    check_error(
        resolve(&env, &["-a", "browser"]).await,
        ExitStatus::Authentication,
        "no project",
    );
    check_error(
        resolve(&env, &["-a", "nobody"]).await,
        ExitStatus::NotFound,
        "browser, ci, team",
    );
}

#[tokio::test]
async fn the_environment_account_wins_over_the_config() {
    let (_dir, path) = config_file(CONFIG);
    let env: Vec<_> = FULL
        .into_iter()
        .chain([("MP_CONFIG_PATH", path.as_str())])
        .collect();
    let connection = resolve(&env, &["-a", "team"]).await.unwrap();
    check_identity(&connection.identity(), "service_account\nalice\n");
    assert_eq!(connection.project_id, "1");
    // The config's custom header still applies to an environment account.
    assert_eq!(connection.custom_headers.len(), 1);
}

#[tokio::test]
async fn an_unreadable_config_is_an_error_with_a_hint() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, path) = config_file(CONFIG);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let result = resolve(&[("MP_CONFIG_PATH", path.as_str())], &[]).await;
    let error = result.unwrap_err();
    let classified = crate::exit::classify(&error);
    assert_eq!(classified.status, ExitStatus::Failure);
    assert!(
        format!("{error:?} {:?}", classified.hint).contains("chmod 600"),
        "{error:?}"
    );
    assert!(!format!("{error:?}").contains("team-secret"));
}

#[tokio::test]
async fn empty_base_urls_are_unset() {
    let env: Vec<_> = FULL
        .into_iter()
        .chain([("MP_API_BASE_URL", ""), ("MP_APP_BASE_URL", "//")])
        .collect();
    let connection = resolve(&env, &[]).await.unwrap();
    assert!(
        connection
            .endpoints
            .base(mp_http::ApiFamily::Query)
            .starts_with("https://eu.mixpanel.com")
    );
    let app = connection.endpoints.base(mp_http::ApiFamily::App);
    assert!(app.starts_with("https://eu.mixpanel.com"), "{app}");
}

#[test]
fn token_env_variables_are_read_through_the_snapshot() {
    let env = Env::from_pairs([("MY_CI_TOKEN", "abc"), ("MP_OAUTH_TOKEN", "def")]);
    assert_eq!(env.named("MY_CI_TOKEN").as_deref(), Some("abc"));
    assert_eq!(env.named("MP_OAUTH_TOKEN").as_deref(), Some("def"));
    assert_eq!(env.named("OTHER"), None);
}

/// An identity starts with the kind and name, then a 32-digit fingerprint of the credential.
#[track_caller]
fn check_identity(identity: &str, prefix: &str) {
    let fingerprint = identity
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{identity:?} does not start with {prefix:?}"));
    assert_eq!(fingerprint.len(), 32, "{identity:?}");
    assert!(
        fingerprint.chars().all(|c| c.is_ascii_hexdigit()),
        "{identity:?}"
    );
}

// A wrong secret must fail authentication rather than read what the right one cached.
#[tokio::test]
async fn another_secret_is_another_identity() {
    let right = resolve(&FULL, &[]).await.unwrap();
    let mut env = FULL.to_vec();
    env.retain(|(name, _)| *name != "MP_SECRET");
    env.push(("MP_SECRET", "wrong-secret"));
    let wrong = resolve(&env, &[]).await.unwrap();
    assert_ne!(right.identity(), wrong.identity());
    assert!(!right.identity().contains("s3cr3t-value"));
    assert!(!wrong.identity().contains("wrong-secret"));
}
