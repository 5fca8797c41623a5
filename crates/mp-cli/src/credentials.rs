//! Where a command's Mixpanel connection comes from: the environment, the config
//! file, or `--sandbox`.
//!
//! This is deliberately small. The auth issue replaces it with the full session
//! model (OAuth, region probing, the bridge file, `/me`); until then a connection is
//! a service account, resolved one axis at a time, first hit wins:
//!
//! | axis | 1 environment | 2 flag | 3 target (`-t`) | 4 config |
//! |---|---|---|---|---|
//! | account | `MP_USERNAME` + `MP_SECRET` + `MP_REGION` | `-a NAME` | the target's account | `[active] account` |
//! | project | `MP_PROJECT_ID` | `-p ID` | the target's project | the account's `default_project` |
//! | workspace | `MP_WORKSPACE_ID` | `-w ID` | the target's workspace | `[active] workspace` |
//!
//! The environment winning over a flag follows the official client; `mp` says so on
//! stderr when the two disagree (never silently). Custom headers come from
//! `MP_CUSTOM_HEADER_NAME`/`VALUE` and then `[settings] custom_header`, the config's
//! winning when both name the same header, as in the official client.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mp_http::{Client, ClientBuilder, Endpoints, HyperTransport, Region, Secret};

use crate::args::{GlobalArgs, parse_project_id};
use crate::env::{Env, EnvVars};
use crate::exit::{CliError, ExitStatus};
use crate::output::Messages;

/// How long to wait for a TCP (and TLS) connection before giving up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything needed to build an HTTP client for one command.
#[derive(Debug)]
pub struct Connection {
    /// Where requests go.
    pub endpoints: Endpoints,
    /// The service account's username.
    pub username: String,
    /// The service account's secret.
    pub secret: Secret<String>,
    /// The project every request is about.
    pub project_id: String,
    /// The workspace App API requests are scoped to, if any.
    pub workspace_id: Option<u64>,
    /// Headers added to every request, in order (a later one replaces an earlier one of the same name).
    pub custom_headers: Vec<(String, Secret<String>)>,
}

/// The service account chosen on the account axis.
struct ServiceAccount {
    username: String,
    secret: Secret<String>,
    region: Region,
    /// The config account's `default_project`, the last resort of the project axis.
    default_project: Option<String>,
}

impl Connection {
    /// Resolves a connection from the environment, the global flags and the config file.
    pub fn resolve(
        env: &Env,
        global: &GlobalArgs,
        messages: &Messages,
    ) -> Result<Connection, CliError> {
        let config = load_config(env, messages)?;
        let target = match &global.target {
            None => None,
            Some(name) => Some(
                config
                    .target(name)
                    .ok_or_else(|| not_found("target", name, &config_target_names(&config)))?,
            ),
        };

        let account = match env_account(env)? {
            Some(account) => {
                for (flag, name) in [("--account", &global.account), ("--target", &global.target)] {
                    if let Some(name) = name {
                        messages.warn(&format!(
                            "using the service account from `{}`/`{}`, which overrides `{flag} {name}`",
                            EnvVars::MP_USERNAME,
                            EnvVars::MP_SECRET
                        ));
                    }
                }
                account
            }
            None => {
                let name = global
                    .account
                    .as_deref()
                    .or(target.map(mp_config::Target::account))
                    .or(config.active_account());
                match name {
                    Some(name) => config_account(&config, name)?,
                    None => return Err(no_credentials(env)),
                }
            }
        };

        let project_id = resolve_project(
            env,
            global,
            target,
            account.default_project.as_deref(),
            messages,
        )?;
        let workspace_id =
            resolve_workspace(env, global, target, config.active_workspace(), messages)?;

        let api_base = env.get(EnvVars::MP_API_BASE_URL)?;
        let app_base = env.get(EnvVars::MP_APP_BASE_URL)?;
        let endpoints = Endpoints::with_overrides(account.region, api_base, app_base).map_err(|error| {
            CliError::usage("invalid base URL override")
                .with_hint(format!(
                    "`{}` and `{}` take a URL such as `https://eu.mixpanel.com` or `http://127.0.0.1:PORT`",
                    EnvVars::MP_API_BASE_URL,
                    EnvVars::MP_APP_BASE_URL
                ))
                .with_source(error)
        })?;

        let mut custom_headers = Vec::new();
        match (
            env.get(EnvVars::MP_CUSTOM_HEADER_NAME)?,
            env.get(EnvVars::MP_CUSTOM_HEADER_VALUE)?,
        ) {
            (Some(name), Some(value)) => {
                custom_headers.push((name.to_owned(), Secret::new(value.to_owned())))
            }
            (None, None) => {}
            (Some(_), None) | (None, Some(_)) => messages.warn(&format!(
                "no custom header sent: `{}` and `{}` must both be set",
                EnvVars::MP_CUSTOM_HEADER_NAME,
                EnvVars::MP_CUSTOM_HEADER_VALUE
            )),
        }
        if let Some(header) = config.custom_header() {
            custom_headers.push((
                header.name().to_owned(),
                Secret::new(header.value().to_owned()),
            ));
        }

        Ok(Connection {
            endpoints,
            username: account.username,
            secret: account.secret,
            project_id,
            workspace_id,
            custom_headers,
        })
    }

    /// The connection to an in-process sandbox at `base_url`, with its fixed credentials.
    ///
    /// Note that neither the environment nor the config file is consulted: `--sandbox`
    /// must behave the same on every machine.
    pub fn sandbox(base_url: &str, global: &GlobalArgs) -> Result<Connection, CliError> {
        let endpoints =
            Endpoints::with_overrides(Region::Us, Some(base_url), None).map_err(|error| {
                CliError::new(ExitStatus::Failure, "cannot address the sandbox").with_source(error)
            })?;
        Ok(Connection {
            endpoints,
            username: mp_sandbox::SANDBOX_USERNAME.to_owned(),
            secret: Secret::new(mp_sandbox::SANDBOX_SECRET.to_owned()),
            project_id: global.project.clone().unwrap_or_else(|| "1".to_owned()),
            workspace_id: global.workspace,
            custom_headers: Vec::new(),
        })
    }

    /// Builds the HTTP client: one pooled transport for the whole process.
    pub fn client(&self) -> anyhow::Result<Client> {
        let transport = HyperTransport::new(CONNECT_TIMEOUT)?;
        let authenticator =
            mp_auth::ServiceAccountAuth::new(self.username.clone(), self.secret.clone());
        let mut builder = ClientBuilder::new(self.endpoints.clone())
            .with_transport(Arc::new(transport))
            .with_authenticator(Arc::new(authenticator))
            .with_project_id(self.project_id.clone())
            .with_workspace_id(self.workspace_id)
            .with_user_agent(user_agent());
        for (name, value) in &self.custom_headers {
            builder = builder.with_header(name.clone(), value.expose().clone());
        }
        Ok(builder.build()?)
    }
}

/// `mp/VERSION (entry=cli)`, in the shape of the official client's User-Agent.
fn user_agent() -> String {
    format!("mp/{} (entry=cli)", env!("CARGO_PKG_VERSION"))
}

/// The config file's path: `MP_CONFIG_PATH`, else `$HOME/.mp/config.toml`, else none.
pub fn config_path(env: &Env) -> Result<Option<PathBuf>, CliError> {
    if let Some(path) = env.get(EnvVars::MP_CONFIG_PATH)? {
        return Ok(Some(PathBuf::from(path)));
    }
    Ok(env
        .get(EnvVars::HOME)?
        .map(|home| PathBuf::from(home).join(".mp").join("config.toml")))
}

/// Reads the config file (a missing file is an empty config) and prints its warnings.
fn load_config(env: &Env, messages: &Messages) -> Result<mp_config::Config, CliError> {
    let Some(path) = config_path(env)? else {
        return Ok(mp_config::Config::default());
    };
    let loaded = mp_config::ConfigStore::new(&path).load().map_err(|error| {
        let hint = error.hint();
        let cli =
            CliError::new(ExitStatus::Failure, "cannot use the config file").with_source(error);
        match hint {
            Some(hint) => cli.with_hint(hint),
            None => cli,
        }
    })?;
    for warning in &loaded.warnings {
        messages.warn(&warning.to_string());
    }
    Ok(loaded.config)
}

/// The service account of the environment, when `MP_USERNAME`, `MP_SECRET` and
/// `MP_REGION` are all set; an incomplete set falls through to the config, as in the
/// official client.
fn env_account(env: &Env) -> Result<Option<ServiceAccount>, CliError> {
    let (Some(username), Some(secret), Some(region)) = (
        env.get(EnvVars::MP_USERNAME)?,
        env.get(EnvVars::MP_SECRET)?,
        env.get(EnvVars::MP_REGION)?,
    ) else {
        return Ok(None);
    };
    let region: Region = region.parse().map_err(|error: mp_http::Error| {
        CliError::usage(format!("invalid `{}`", EnvVars::MP_REGION)).with_source(error)
    })?;
    Ok(Some(ServiceAccount {
        username: username.to_owned(),
        secret: Secret::new(secret.to_owned()),
        region,
        default_project: None,
    }))
}

/// The config account `name`, which must be a service account for now.
fn config_account(config: &mp_config::Config, name: &str) -> Result<ServiceAccount, CliError> {
    let names: Vec<&str> = config
        .accounts()
        .iter()
        .map(mp_config::Account::name)
        .collect();
    let account = config
        .account(name)
        .ok_or_else(|| not_found("account", name, &names))?;
    let (Some(username), Some(secret)) = (account.username(), account.expose_secret()) else {
        return Err(CliError::new(
            ExitStatus::Authentication,
            format!(
                "account `{name}` is of type `{}`, which this version of mp cannot use",
                account.account_type().as_str()
            ),
        )
        .with_hint(format!("use a service account, or {}", credentials_hint())));
    };
    let region = account
        .region()
        .as_str()
        .parse()
        .map_err(|error: mp_http::Error| {
            CliError::new(
                ExitStatus::Failure,
                format!("account `{name}` has an invalid region"),
            )
            .with_source(error)
        })?;
    Ok(ServiceAccount {
        username: username.to_owned(),
        secret: Secret::new(secret.to_owned()),
        region,
        default_project: account.default_project().map(str::to_owned),
    })
}

fn config_target_names(config: &mp_config::Config) -> Vec<&str> {
    config
        .targets()
        .iter()
        .map(mp_config::Target::name)
        .collect()
}

/// The project: `MP_PROJECT_ID`, `--project`, the target's, the account's default.
fn resolve_project(
    env: &Env,
    global: &GlobalArgs,
    target: Option<&mp_config::Target>,
    default_project: Option<&str>,
    messages: &Messages,
) -> Result<String, CliError> {
    let from_env = env
        .get(EnvVars::MP_PROJECT_ID)?
        .map(|value| {
            parse_project_id(value).map_err(|reason| {
                CliError::usage(format!("invalid `{}`: {reason}", EnvVars::MP_PROJECT_ID))
            })
        })
        .transpose()?;
    if let (Some(env_project), Some(flag_project)) = (&from_env, &global.project)
        && env_project != flag_project
    {
        messages.warn(&format!(
            "using project {env_project} from `{}`, which overrides `--project {flag_project}`",
            EnvVars::MP_PROJECT_ID
        ));
    }
    from_env
        .or_else(|| global.project.clone())
        .or_else(|| target.map(|target| target.project().to_owned()))
        .or_else(|| default_project.map(str::to_owned))
        .ok_or_else(|| {
            CliError::new(ExitStatus::Authentication, "no project selected").with_hint(format!(
                "set `{}` or pass `--project ID`",
                EnvVars::MP_PROJECT_ID
            ))
        })
}

/// The workspace: `MP_WORKSPACE_ID`, `--workspace`, the target's, `[active] workspace`; none is fine.
fn resolve_workspace(
    env: &Env,
    global: &GlobalArgs,
    target: Option<&mp_config::Target>,
    active_workspace: Option<u64>,
    messages: &Messages,
) -> Result<Option<u64>, CliError> {
    let from_env = env
        .get(EnvVars::MP_WORKSPACE_ID)?
        .map(|value| match value.parse::<u64>() {
            Ok(id) if id > 0 => Ok(id),
            _ => Err(CliError::usage(format!(
                "invalid `{}`: `{value}` is not a positive integer",
                EnvVars::MP_WORKSPACE_ID
            ))),
        })
        .transpose()?;
    if let (Some(env_workspace), Some(flag_workspace)) = (from_env, global.workspace)
        && env_workspace != flag_workspace
    {
        messages.warn(&format!(
            "using workspace {env_workspace} from `{}`, which overrides `--workspace {flag_workspace}`",
            EnvVars::MP_WORKSPACE_ID
        ));
    }
    Ok(from_env
        .or(global.workspace)
        .or(target.and_then(mp_config::Target::workspace))
        .or(active_workspace))
}

fn not_found(what: &str, name: &str, available: &[&str]) -> CliError {
    let error = CliError::new(
        ExitStatus::NotFound,
        format!("{what} `{name}` not found in the config file"),
    );
    if available.is_empty() {
        error.with_hint(format!("no {what}s are configured; {}", credentials_hint()))
    } else {
        error.with_hint(format!("configured {what}s: {}", quoted_list(available)))
    }
}

/// No account anywhere: say which environment variables are missing, if some are set.
fn no_credentials(env: &Env) -> CliError {
    let names = [EnvVars::MP_USERNAME, EnvVars::MP_SECRET, EnvVars::MP_REGION];
    let missing: Vec<&str> = names.into_iter().filter(|name| !env.is_set(name)).collect();
    let message = if missing.len() == names.len() {
        "no credentials".to_owned()
    } else {
        format!("incomplete credentials: {} not set", quoted_list(&missing))
    };
    CliError::new(ExitStatus::Authentication, message).with_hint(credentials_hint())
}

fn credentials_hint() -> String {
    format!(
        "set {} (a service account), or try `mp --sandbox …` to use the built-in sandbox",
        quoted_list(&[
            EnvVars::MP_USERNAME,
            EnvVars::MP_SECRET,
            EnvVars::MP_PROJECT_ID,
            EnvVars::MP_REGION
        ])
    )
}

fn quoted_list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
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

    #[track_caller]
    fn check_error(pairs: &[(&str, &str)], args: &[&str], status: ExitStatus, fragment: &str) {
        let env = Env::from_pairs(pairs.iter().copied());
        let error = Connection::resolve(&env, &global(args), &QUIET).unwrap_err();
        assert_eq!(error.status(), status, "{error}");
        let rendered = format!("{error} {:?}", error);
        assert!(rendered.contains(fragment), "{rendered}");
    }

    const FULL: [(&str, &str); 4] = [
        ("MP_USERNAME", "alice"),
        ("MP_SECRET", "s3cr3t-value"),
        ("MP_PROJECT_ID", "1"),
        ("MP_REGION", "eu"),
    ];

    #[test]
    fn complete_environment() {
        let env = Env::from_pairs(FULL);
        let connection = Connection::resolve(&env, &global(&[]), &QUIET).unwrap();
        assert_eq!(connection.username, "alice");
        assert_eq!(connection.project_id, "1");
        assert_eq!(connection.endpoints.region(), Region::Eu);
        assert!(!format!("{connection:?}").contains("s3cr3t-value"));
    }

    #[test]
    fn environment_wins_over_flags() {
        let env = Env::from_pairs(FULL.into_iter().chain([("MP_WORKSPACE_ID", "7")]));
        let connection =
            Connection::resolve(&env, &global(&["-p", "2", "-w", "3"]), &QUIET).unwrap();
        assert_eq!(connection.project_id, "1");
        assert_eq!(connection.workspace_id, Some(7));
        let without_env_project = Env::from_pairs(
            FULL.into_iter()
                .filter(|(name, _)| *name != "MP_PROJECT_ID"),
        );
        let connection =
            Connection::resolve(&without_env_project, &global(&["-p", "2"]), &QUIET).unwrap();
        assert_eq!(connection.project_id, "2");
    }

    #[test]
    fn missing_and_invalid_values() {
        check_error(&[], &[], ExitStatus::Authentication, "no credentials");
        check_error(
            &FULL[..2],
            &[],
            ExitStatus::Authentication,
            "`MP_REGION` not set",
        );
        check_error(
            &FULL[..3],
            &[],
            ExitStatus::Authentication,
            "`MP_REGION` not set",
        );
        let no_project: Vec<_> = FULL
            .into_iter()
            .filter(|(name, _)| *name != "MP_PROJECT_ID")
            .collect();
        check_error(&no_project, &[], ExitStatus::Authentication, "no project");
        let bad_region: Vec<_> = FULL
            .into_iter()
            .map(|(k, v)| {
                if k == "MP_REGION" {
                    (k, "mars")
                } else {
                    (k, v)
                }
            })
            .collect();
        check_error(&bad_region, &[], ExitStatus::Usage, "MP_REGION");
        let bad_project: Vec<_> = FULL
            .into_iter()
            .map(|(k, v)| {
                if k == "MP_PROJECT_ID" {
                    (k, "12a")
                } else {
                    (k, v)
                }
            })
            .collect();
        check_error(&bad_project, &[], ExitStatus::Usage, "MP_PROJECT_ID");
        let insecure: Vec<_> = FULL
            .into_iter()
            .chain([("MP_API_BASE_URL", "http://example.com")])
            .collect();
        check_error(&insecure, &[], ExitStatus::Usage, "base URL");
        check_error(
            &[],
            &["-a", "prod"],
            ExitStatus::NotFound,
            "account `prod` not found",
        );
        check_error(
            &[],
            &["-t", "prod"],
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

[targets.staging]
account = "team"
project = "43"
workspace = 5

[settings]
custom_header = { name = "X-Team", value = "blue" }
"#;

    #[test]
    fn accounts_and_targets_from_the_config_file() {
        let (_dir, path) = config_file(CONFIG);
        let env = Env::from_pairs([("MP_CONFIG_PATH", path.as_str())]);
        let resolve = |args: &[&str]| Connection::resolve(&env, &global(args), &QUIET);

        let active = resolve(&[]).unwrap();
        assert_eq!(active.username, "team.user");
        assert_eq!(active.endpoints.region(), Region::In);
        assert_eq!(
            (active.project_id.as_str(), active.workspace_id),
            ("42", Some(9))
        );
        assert_eq!(active.custom_headers.len(), 1);
        assert_eq!(active.custom_headers[0].0, "X-Team");

        let targeted = resolve(&["-t", "staging"]).unwrap();
        assert_eq!(
            (targeted.project_id.as_str(), targeted.workspace_id),
            ("43", Some(5))
        );

        let flagged = resolve(&["-a", "team", "-p", "7", "-w", "8"]).unwrap();
        assert_eq!(
            (flagged.project_id.as_str(), flagged.workspace_id),
            ("7", Some(8))
        );

        let error = resolve(&["-a", "browser"]).unwrap_err();
        assert_eq!(error.status(), ExitStatus::Authentication);
        let error = resolve(&["-a", "nobody"]).unwrap_err();
        assert_eq!(error.status(), ExitStatus::NotFound);
        assert!(
            format!("{error:?}").contains("`team` and `browser`"),
            "{error:?}"
        );
    }

    #[test]
    fn the_environment_account_wins_over_the_config() {
        let (_dir, path) = config_file(CONFIG);
        let env = Env::from_pairs(FULL.into_iter().chain([("MP_CONFIG_PATH", path.as_str())]));
        let connection = Connection::resolve(&env, &global(&["-a", "team"]), &QUIET).unwrap();
        assert_eq!(connection.username, "alice");
        assert_eq!(connection.project_id, "1");
        // The config's custom header still applies to an environment account.
        assert_eq!(connection.custom_headers.len(), 1);
    }

    #[test]
    fn an_unreadable_config_is_an_error_with_a_hint() {
        use std::os::unix::fs::PermissionsExt;
        let (_dir, path) = config_file(CONFIG);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let env = Env::from_pairs([("MP_CONFIG_PATH", path.as_str())]);
        let error = Connection::resolve(&env, &global(&[]), &QUIET).unwrap_err();
        assert_eq!(error.status(), ExitStatus::Failure);
        assert!(format!("{error:?}").contains("chmod 600"), "{error:?}");
        assert!(!format!("{error:?}").contains("team-secret"));
    }

    #[test]
    fn empty_base_urls_are_unset() {
        let env = Env::from_pairs(
            FULL.into_iter()
                .chain([("MP_API_BASE_URL", ""), ("MP_APP_BASE_URL", "//")]),
        );
        let connection = Connection::resolve(&env, &global(&[]), &QUIET).unwrap();
        assert!(
            connection
                .endpoints
                .base(mp_http::ApiFamily::Query)
                .starts_with("https://eu.mixpanel.com")
        );
        let app = connection.endpoints.base(mp_http::ApiFamily::App);
        assert!(app.starts_with("https://eu.mixpanel.com"), "{app}");
    }
}
